/*
 * auth: credentials for targets. Static tokens ("bearer", and "ssws" for
 * Okta API tokens), and three token-endpoint flows: the OAuth 2.0 JWT bearer
 * flow ("jwt_bearer", Salesforce), OAuth 2.0 client credentials with a
 * client secret or a private-key JWT client assertion ("client_credentials",
 * Microsoft Graph and Okta OAuth), and a Google service account with
 * domain-wide delegation ("google_service_account"). Every assertion is
 * RS256, signed with OpenSSL EVP; tokens are fetched asynchronously, cached,
 * renewed before expiry and invalidated on 401. Nothing here ever logs a
 * secret.
 */
#ifndef DEPROV_AUTH_H
#define DEPROV_AUTH_H

#include <stddef.h>

#include "deprov/config.h"

struct http;
struct auth;

/*
 * Called with the Authorization header value ("Bearer abc", "SSWS abc"), the
 * instance URL the token is for (Salesforce's instance_url with jwt_bearer
 * only, else NULL), or error when no
 * token could be had (header NULL). header NULL and error NULL together mean
 * "send no Authorization header" (auth type "none"). Called synchronously
 * from auth_get when a valid token is cached (always for "none" and
 * "bearer"), and also when a token fetch could not even be started (error
 * set); otherwise later from the loop, when the fetch finishes. The strings
 * are valid only during the call, and only until the callback itself calls
 * auth_invalidate or auth_free (copy them to keep them). The error text
 * never holds a token, assertion or key. A failed fetch is not cached: the
 * next auth_get tries again (backing off is the caller's job).
 */
typedef void (*auth_cb)(const char *header, const char *instance_url,
    const char *error, void *arg);

/*
 * type "none", "bearer", "ssws", "jwt_bearer", "client_credentials" or
 * "google_service_account" (NULL = "none"). The token-endpoint types need
 * the http client; their private key (and certificate, whose thumbprint is
 * computed here and must match the key) is parsed and checked here.
 */
struct auth	*auth_new(struct http *, const struct config_auth *, char *err,
		    size_t errlen);
/*
 * Pending callbacks are dropped, not called. Safe while a token fetch is in
 * flight (it is cancelled) and from inside an auth_cb. Free every auth
 * before the http client it was created with.
 */
void		 auth_free(struct auth *);
/* Callers asking while a fetch is in flight all wait on that one fetch. */
void		 auth_get(struct auth *, auth_cb cb, void *arg);
/*
 * Forget a cached token that the target rejected (no-op if it has changed),
 * so that several concurrent 401s cause one new fetch.
 */
void		 auth_invalidate(struct auth *, const char *header);
/* Drop a pending callback (its caller is going away). */
void		 auth_cancel(struct auth *, auth_cb cb, void *arg);

/*
 * Sign a JWT with RS256: base64url(header).base64url(claims).base64url(sig).
 * header_json NULL = {"alg":"RS256","typ":"JWT"}. The key is an unencrypted
 * PEM (PKCS#8 or traditional RSA) of at least 2048 bits. Returns malloc'd or
 * NULL.
 */
char		*auth_jwt_rs256(const char *header_json, const char *claims_json,
		    const char *private_key_pem, char *err, size_t errlen);
char		*auth_b64url_encode(const void *data, size_t len);
/*
 * Accepts input with or without '=' padding; rejects other characters,
 * misplaced padding and non-canonical trailing bits. Returns malloc'd bytes
 * (NUL-terminated for convenience) or NULL.
 */
unsigned char	*auth_b64url_decode(const char *s, size_t *outlen);

/*
 * A target's "auth" object (src/auth-config.c): the row of the target's
 * settings that reads it (one table per type) and frees it.
 */
int		 auth_config_read(struct config_reader *, const char *where,
		    json_object *obj, const struct config_setting *, void *conf);
void		 auth_config_clear(const struct config_setting *, void *conf);
/* 1 when a and b authenticate alike (every field, secrets included). */
int		 auth_config_same(const struct config_auth *,
		    const struct config_auth *);
/* The diff hook of the "auth" row: where.auth when the two differ. */
void		 auth_config_diff(struct config_differ *, const char *where,
		    const struct config_setting *, const void *a, const void *b,
		    int live);

#endif
