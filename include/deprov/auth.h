/*
 * auth: credentials for targets. Static bearer tokens, and the OAuth 2.0 JWT
 * bearer flow (RS256 assertion signed with OpenSSL EVP, token fetched
 * asynchronously, cached, renewed before expiry, invalidated on 401).
 * Nothing here ever logs a secret.
 */
#ifndef DEPROV_AUTH_H
#define DEPROV_AUTH_H

#include <stddef.h>

#include "deprov/config.h"

struct http;
struct auth;

/*
 * Called with the Authorization header value ("Bearer abc"), the instance
 * URL the token is for (Salesforce's instance_url, or NULL), or error when no
 * token could be had (header NULL). Called synchronously from auth_get when
 * a valid token is cached, otherwise later from the loop.
 */
typedef void (*auth_cb)(const char *header, const char *instance_url,
    const char *error, void *arg);

struct auth	*auth_new(struct http *, const struct config_auth *, char *err,
		    size_t errlen);
/* Pending callbacks are dropped, not called. */
void		 auth_free(struct auth *);
void		 auth_get(struct auth *, auth_cb cb, void *arg);
/* Forget a cached token that the target rejected (no-op if it has changed). */
void		 auth_invalidate(struct auth *, const char *header);
/* Drop a pending callback (its caller is going away). */
void		 auth_cancel(struct auth *, auth_cb cb, void *arg);

/*
 * Sign a JWT with RS256: base64url(header).base64url(claims).base64url(sig).
 * header_json NULL = {"alg":"RS256","typ":"JWT"}. Returns malloc'd or NULL.
 */
char		*auth_jwt_rs256(const char *header_json, const char *claims_json,
		    const char *private_key_pem, char *err, size_t errlen);
char		*auth_b64url_encode(const void *data, size_t len);
/* Returns malloc'd bytes (NUL-terminated for convenience) or NULL. */
unsigned char	*auth_b64url_decode(const char *s, size_t *outlen);

#endif
