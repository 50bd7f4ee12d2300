/*
 * auth: credentials for targets. "none" gives no Authorization header,
 * "bearer" a static token and "ssws" a static Okta API token ("SSWS <t>").
 * Three types fetch an access token from a token endpoint:
 *  - "jwt_bearer": the OAuth 2.0 JWT bearer flow (RFC 7523, as Salesforce
 *    does it);
 *  - "client_credentials": OAuth 2.0 client credentials (Microsoft Graph,
 *    Okta service apps) with a client secret, or with a private_key_jwt
 *    client assertion (RFC 7523 section 2.2; kid and x5t/x5t#S256 headers);
 *  - "google_service_account": a service account's JWT grant with domain-
 *    wide delegation (sub = the admin impersonated, scope = the scopes).
 * Every assertion is RS256, signed with OpenSSL EVP here. The token request
 * goes through the asynchronous HTTP client; the access token is cached
 * until it is due for renewal (expires_in less a margin) or a target rejects
 * it, and every caller asking while a fetch is in flight waits on that same
 * fetch. Tokens, secrets, assertions and keys are never logged and never
 * put into error texts.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "deprov/auth.h"
#include "deprov/clock.h"
#include "deprov/http.h"
#include "deprov/log.h"
#include "deprov/randid.h"

/*
 * Salesforce's token response has no expires_in: the session lasts as long
 * as the org's session timeout (15 min to 24 h, 2 h by default) and is
 * extended by use. We assume 30 minutes and fetch a new token when the cached
 * one is older than that; a 401 in between invalidates it anyway.
 */
#define AUTH_ASSUMED_LIFETIME_S		(30 * 60)
/* When the endpoint does send expires_in, renew this long before it. */
#define AUTH_EXPIRY_MARGIN_S		60
/* exp of the assertion: Salesforce accepts at most 3 minutes ahead. */
#define AUTH_JWT_MAX_TTL_S		180
/* Client assertions (Graph, Okta): short-lived, at most 5 minutes. */
#define AUTH_ASSERTION_MAX_TTL_S	300
/* Google accepts service account assertions for at most one hour. */
#define AUTH_GOOGLE_TTL_S		3600
#define AUTH_MIN_RSA_BITS		2048
#define AUTH_FETCH_TIMEOUT_MS		30000L
#define AUTH_FETCH_CONNECT_TIMEOUT_MS	10000L
#define AUTH_DEFAULT_AUDIENCE		"https://login.salesforce.com"
#define AUTH_JWT_HEADER			"{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
#define AUTH_ASSERTION_TYPE \
	"urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"

enum auth_type {
	AUTH_NONE,
	AUTH_BEARER,		/* static header: "Bearer <t>" or "SSWS <t>" */
	AUTH_JWT_BEARER,
	AUTH_CLIENT_CREDENTIALS,
	AUTH_GOOGLE_SA
};

/* One caller waiting for a token. */
struct auth_waiter {
	auth_cb			 cb;
	void			*arg;
	struct auth_waiter	*next;
};

struct auth {
	enum auth_type		 type;
	struct http		*http;

	/* Token endpoint settings. */
	EVP_PKEY		*key;		/* signs assertions; NULL with a secret */
	char			*jwt_header;	/* header JSON of our assertions */
	char			*client_id;	/* jwt_bearer, client_credentials */
	char			*username;	/* jwt_bearer: sub */
	char			*audience;	/* jwt_bearer: aud */
	char			*token_url;
	long			 jwt_ttl_s;
	char			*client_secret;	/* client_credentials, secret form */
	char			*scope;		/* client_credentials, google */
	char			*client_email;	/* google: iss */
	char			*subject;	/* google: sub */

	/* The cached header ("Bearer ..."); for "bearer" it never expires. */
	char			*header;
	char			*instance_url;
	double			 expires;	/* monotonic seconds */

	struct http_request	*fetch;		/* token request in flight, or NULL */
	struct auth_waiter	*waiters;	/* waiting on fetch, in order */
	struct auth_waiter	*dispatch;	/* being called back right now */
	int			 dispatching;
	int			 dead;		/* auth_free called while dispatching */
};

static const char auth_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void	 auth_errf(char *err, size_t errlen, const char *fmt, ...)
		     __attribute__((format(printf, 3, 4)));
static void	 auth_ssl_reason(char *buf, size_t len);
static int	 auth_no_passphrase(char *buf, int size, int rwflag, void *u);
static EVP_PKEY	*auth_load_key(const char *pem, char *err, size_t errlen);
static char	*auth_jwt_sign(EVP_PKEY *key, const char *header_json,
		     const char *claims_json, char *err, size_t errlen);
static char	*auth_claims(const struct auth *a);
static char	*auth_header_json(const char *kid, const char *x5t_name,
		     const char *x5t);
static int	 auth_thumbprint(const char *cert_pem, EVP_PKEY *key,
		     int sha256, char **out, char *err, size_t errlen);
static char	*auth_static_header(const char *prefix, const char *token,
		     const char *what, char *err, size_t errlen);
static int	 auth_new_fetching(struct auth *a, const struct config_auth *cfg,
		     const char *type, char *err, size_t errlen);
static int	 auth_form_add(char **body, size_t *len, const char *name,
		     const char *value, int encode);
static char	*auth_grant_body(const struct auth *a, size_t *lenp,
		     char *err, size_t errlen);
static int	 auth_fetches(const struct auth *a);
static void	 auth_secret_free(char *s);
static double	 auth_now(void);
static void	 auth_drop_token(struct auth *a);
static void	 auth_waiters_free(struct auth_waiter *w);
static int	 auth_token_ok(const char *s);
static int	 auth_fetch_start(struct auth *a, char *err, size_t errlen);
static void	 auth_fetch_done(const struct http_response *resp, void *arg);
static int	 auth_parse_token(struct auth *a, const struct http_response *resp,
		     char *err, size_t errlen);
static void	 auth_endpoint_error(const struct auth *a,
		     const struct http_response *resp, char *err, size_t errlen);
static void	 auth_dispatch(struct auth *a, const char *header,
		     const char *instance_url, const char *error);
static void	 auth_fetch_cancel(struct auth *a);
static void	 auth_destroy(struct auth *a);

/* snprintf into err when there is room for it. */
static void
auth_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The reason of OpenSSL's latest error (never key material); clears the queue. */
static void
auth_ssl_reason(char *buf, size_t len)
{
	unsigned long	 e = ERR_peek_last_error();
	const char	*r = e != 0 ? ERR_reason_error_string(e) : NULL;

	snprintf(buf, len, "%s", r != NULL ? r : "unknown error");
	ERR_clear_error();
}

/* Encrypted keys are refused instead of prompting on the terminal. */
static int
auth_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

char *
auth_b64url_encode(const void *data, size_t len)
{
	const unsigned char	*p = data;
	char			*out, *o;
	size_t			 i;
	uint32_t		 v;

	if (data == NULL && len != 0)
		return NULL;
	if (len > (SIZE_MAX - 4) / 4 * 3)
		return NULL;
	out = malloc(len / 3 * 4 + 4);
	if (out == NULL)
		return NULL;
	o = out;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = auth_b64_alphabet[(v >> 18) & 63];
		*o++ = auth_b64_alphabet[(v >> 12) & 63];
		*o++ = auth_b64_alphabet[(v >> 6) & 63];
		*o++ = auth_b64_alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)p[i] << 16;
		*o++ = auth_b64_alphabet[(v >> 18) & 63];
		*o++ = auth_b64_alphabet[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = auth_b64_alphabet[(v >> 18) & 63];
		*o++ = auth_b64_alphabet[(v >> 12) & 63];
		*o++ = auth_b64_alphabet[(v >> 6) & 63];
	}
	*o = '\0';
	return out;
}

/*
 * Decode base64url, with or without '=' padding (if padded, the length must
 * be a multiple of 4). Characters outside the alphabet, misplaced padding
 * and non-zero leftover bits (non-canonical input) are rejected.
 */
unsigned char *
auth_b64url_decode(const char *s, size_t *outlen)
{
	unsigned char	*out = NULL;
	size_t		 len, pad = 0, n, i, o = 0;
	uint32_t	 v = 0;
	int		 d, bits = 0;
	const char	*q;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	if ((q = strchr(s, '=')) != NULL) {
		/* Padding: one or two '=' at the end of a multiple of 4. */
		pad = len - (size_t)(q - s);
		if (len % 4 != 0 || pad > 2 || strspn(q, "=") != pad)
			return NULL;
	}
	n = len - pad;
	if (n % 4 == 1)
		return NULL;
	if (pad != 0 && (n % 4 == 0 || 4 - n % 4 != pad))
		return NULL;
	out = malloc(n / 4 * 3 + 3);
	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] >= 'A' && s[i] <= 'Z')
			d = s[i] - 'A';
		else if (s[i] >= 'a' && s[i] <= 'z')
			d = s[i] - 'a' + 26;
		else if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0' + 52;
		else if (s[i] == '-')
			d = 62;
		else if (s[i] == '_')
			d = 63;
		else
			goto fail;
		v = (v << 6 | (uint32_t)d) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits);
		}
	}
	if ((v & ((1u << bits) - 1)) != 0)
		goto fail;
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return out;

fail:
	free(out);
	return NULL;
}

/* Parse a PEM private key and check it is RSA of at least 2048 bits. */
static EVP_PKEY *
auth_load_key(const char *pem, char *err, size_t errlen)
{
	BIO		*bio = NULL;
	EVP_PKEY	*key = NULL;
	char		 reason[128];
	int		 bits;

	if (pem == NULL || *pem == '\0') {
		auth_errf(err, errlen, "no private key");
		goto fail;
	}
	ERR_clear_error();
	bio = BIO_new_mem_buf(pem, -1);	/* reads pem in place, no copy */
	if (bio == NULL) {
		auth_errf(err, errlen, "out of memory");
		goto fail;
	}
	key = PEM_read_bio_PrivateKey(bio, NULL, auth_no_passphrase, NULL);
	if (key == NULL) {
		auth_ssl_reason(reason, sizeof reason);
		auth_errf(err, errlen, "private key unreadable (PEM, unencrypted "
		    "PKCS#8 or RSA expected): %s", reason);
		goto fail;
	}
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		auth_errf(err, errlen, "private key is %s, RS256 needs RSA",
		    EVP_PKEY_get0_type_name(key) != NULL ?
		    EVP_PKEY_get0_type_name(key) : "not RSA");
		goto fail;
	}
	bits = EVP_PKEY_get_bits(key);
	if (bits < AUTH_MIN_RSA_BITS) {
		auth_errf(err, errlen, "RSA key has %d bits, at least %d needed",
		    bits, AUTH_MIN_RSA_BITS);
		goto fail;
	}
	BIO_free(bio);
	return key;

fail:
	EVP_PKEY_free(key);	/* frees private components with BN_clear_free */
	BIO_free(bio);
	ERR_clear_error();
	return NULL;
}

/* Sign header.claims with key; returns the compact JWT. */
static char *
auth_jwt_sign(EVP_PKEY *key, const char *header_json, const char *claims_json,
    char *err, size_t errlen)
{
	EVP_MD_CTX	*ctx = NULL;
	char		*h = NULL, *c = NULL, *s = NULL, *input = NULL, *jwt = NULL;
	unsigned char	*sig = NULL;
	size_t		 siglen = 0, inlen;
	char		 reason[128];

	if (header_json == NULL)
		header_json = AUTH_JWT_HEADER;
	if (claims_json == NULL) {
		auth_errf(err, errlen, "no JWT claims");
		goto fail;
	}
	h = auth_b64url_encode(header_json, strlen(header_json));
	c = auth_b64url_encode(claims_json, strlen(claims_json));
	if (h == NULL || c == NULL) {
		auth_errf(err, errlen, "out of memory");
		goto fail;
	}
	inlen = strlen(h) + 1 + strlen(c);
	input = malloc(inlen + 1);
	if (input == NULL) {
		auth_errf(err, errlen, "out of memory");
		goto fail;
	}
	snprintf(input, inlen + 1, "%s.%s", h, c);

	ERR_clear_error();
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (unsigned char *)input,
	    inlen) != 1)
		goto ssl_fail;
	sig = malloc(siglen);
	if (sig == NULL) {
		auth_errf(err, errlen, "out of memory");
		goto fail;
	}
	if (EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)input,
	    inlen) != 1)
		goto ssl_fail;
	s = auth_b64url_encode(sig, siglen);
	if (s == NULL) {
		auth_errf(err, errlen, "out of memory");
		goto fail;
	}
	jwt = malloc(inlen + 1 + strlen(s) + 1);
	if (jwt == NULL) {
		auth_errf(err, errlen, "out of memory");
		goto fail;
	}
	snprintf(jwt, inlen + 1 + strlen(s) + 1, "%s.%s", input, s);
	goto done;

ssl_fail:
	auth_ssl_reason(reason, sizeof reason);
	auth_errf(err, errlen, "RS256 signing failed: %s", reason);
fail:
	jwt = NULL;
done:
	EVP_MD_CTX_free(ctx);
	free(h);
	free(c);
	free(s);
	free(sig);
	free(input);
	return jwt;
}

char *
auth_jwt_rs256(const char *header_json, const char *claims_json,
    const char *private_key_pem, char *err, size_t errlen)
{
	EVP_PKEY	*key;
	char		*jwt;

	key = auth_load_key(private_key_pem, err, errlen);
	if (key == NULL)
		return NULL;
	jwt = auth_jwt_sign(key, header_json, claims_json, err, errlen);
	EVP_PKEY_free(key);
	return jwt;
}

/* Cleanse and free a string that held a secret. */
static void
auth_secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

static double
auth_now(void)
{
	return (double)clock_mono_ms() / 1000.0;
}

/* 1 if s is usable in a header: non-empty printable ASCII without spaces. */
static int
auth_token_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	}
	return 1;
}

static void
auth_waiters_free(struct auth_waiter *w)
{
	struct auth_waiter *next;

	for (; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
}

static void
auth_drop_token(struct auth *a)
{
	auth_secret_free(a->header);
	a->header = NULL;
	free(a->instance_url);
	a->instance_url = NULL;
	a->expires = 0;
}

/* 1 for the types that fetch tokens from an endpoint. */
static int
auth_fetches(const struct auth *a)
{
	return a->type == AUTH_JWT_BEARER || a->type == AUTH_CLIENT_CREDENTIALS ||
	    a->type == AUTH_GOOGLE_SA;
}

/*
 * "<prefix> <token>" for a static token. The newline a token file usually
 * ends with is tolerated; spaces and control characters inside are not.
 */
static char *
auth_static_header(const char *prefix, const char *token, const char *what,
    char *err, size_t errlen)
{
	const char	*b, *e;
	char		*tok = NULL, *header = NULL;
	size_t		 n, hlen;

	if (token == NULL) {
		auth_errf(err, errlen, "%s auth without a token", what);
		return NULL;
	}
	b = token;
	while (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n')
		b++;
	e = b + strlen(b);
	while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		e--;
	n = (size_t)(e - b);
	tok = malloc(n + 1);
	if (tok == NULL) {
		auth_errf(err, errlen, "out of memory");
		goto done;
	}
	memcpy(tok, b, n);
	tok[n] = '\0';
	if (!auth_token_ok(tok)) {
		auth_errf(err, errlen, "%s token is empty or contains spaces or "
		    "control characters", what);
		goto done;
	}
	hlen = strlen(prefix) + 1 + n + 1;
	header = malloc(hlen);
	if (header == NULL) {
		auth_errf(err, errlen, "out of memory");
		goto done;
	}
	snprintf(header, hlen, "%s %s", prefix, tok);
done:
	auth_secret_free(tok);
	return header;
}

/* {"alg":"RS256","typ":"JWT"} with "kid" and a thumbprint when given. */
static char *
auth_header_json(const char *kid, const char *x5t_name, const char *x5t)
{
	json_object	*o;
	const char	*t;
	char		*s = NULL;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (json_object_object_add(o, "alg",
	    json_object_new_string("RS256")) != 0 ||
	    json_object_object_add(o, "typ", json_object_new_string("JWT")) != 0)
		goto done;
	if (kid != NULL && *kid != '\0' && json_object_object_add(o, "kid",
	    json_object_new_string(kid)) != 0)
		goto done;
	if (x5t != NULL && *x5t != '\0' && json_object_object_add(o, x5t_name,
	    json_object_new_string(x5t)) != 0)
		goto done;
	t = json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (t != NULL)
		s = strdup(t);
done:
	json_object_put(o);
	return s;
}

/*
 * The base64url SHA-1 (x5t) or SHA-256 (x5t#S256) thumbprint of a PEM
 * certificate's DER encoding; the certificate must belong to key.
 */
static int
auth_thumbprint(const char *cert_pem, EVP_PKEY *key, int sha256, char **out,
    char *err, size_t errlen)
{
	BIO		*bio = NULL;
	X509		*x = NULL;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	char		 reason[128];
	int		 rc = -1;

	*out = NULL;
	ERR_clear_error();
	if ((bio = BIO_new_mem_buf(cert_pem, -1)) == NULL) {
		auth_errf(err, errlen, "out of memory");
		goto done;
	}
	if ((x = PEM_read_bio_X509(bio, NULL, auth_no_passphrase, NULL)) ==
	    NULL) {
		auth_ssl_reason(reason, sizeof reason);
		auth_errf(err, errlen, "certificate unreadable (PEM X.509 "
		    "expected): %s", reason);
		goto done;
	}
	if (key != NULL && X509_check_private_key(x, key) != 1) {
		ERR_clear_error();
		auth_errf(err, errlen, "the certificate does not belong to the "
		    "private key");
		goto done;
	}
	if (X509_digest(x, sha256 ? EVP_sha256() : EVP_sha1(), md, &mdlen) !=
	    1) {
		auth_ssl_reason(reason, sizeof reason);
		auth_errf(err, errlen, "certificate thumbprint: %s", reason);
		goto done;
	}
	if ((*out = auth_b64url_encode(md, mdlen)) == NULL) {
		auth_errf(err, errlen, "out of memory");
		goto done;
	}
	rc = 0;
done:
	X509_free(x);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

/* Settings of the types that fetch a token (the key is checked here). */
static int
auth_new_fetching(struct auth *a, const struct config_auth *cfg,
    const char *type, char *err, size_t errlen)
{
	const char	*x5t_name = "x5t";
	char		*x5t = NULL;
	int		 rc = -1;

	if (a->http == NULL) {
		auth_errf(err, errlen, "%s auth needs an HTTP client", type);
		goto done;
	}
	switch (a->type) {
	case AUTH_JWT_BEARER:
		if (cfg->client_id == NULL || *cfg->client_id == '\0' ||
		    cfg->username == NULL || *cfg->username == '\0' ||
		    cfg->token_url == NULL || *cfg->token_url == '\0') {
			auth_errf(err, errlen, "jwt_bearer auth needs client_id, "
			    "username and token_url");
			goto done;
		}
		a->jwt_ttl_s = cfg->token_ttl_s;
		if (a->jwt_ttl_s <= 0 || a->jwt_ttl_s > AUTH_JWT_MAX_TTL_S)
			a->jwt_ttl_s = AUTH_JWT_MAX_TTL_S;
		break;
	case AUTH_CLIENT_CREDENTIALS:
		if (cfg->client_id == NULL || *cfg->client_id == '\0' ||
		    cfg->token_url == NULL || *cfg->token_url == '\0') {
			auth_errf(err, errlen, "client_credentials auth needs "
			    "client_id and token_url");
			goto done;
		}
		if ((cfg->client_secret != NULL) ==
		    (cfg->private_key_pem != NULL)) {
			auth_errf(err, errlen, "client_credentials auth needs "
			    "either a client secret or a private key");
			goto done;
		}
		if (cfg->client_secret != NULL) {
			if (*cfg->client_secret == '\0') {
				auth_errf(err, errlen, "client secret is empty");
				goto done;
			}
			if ((a->client_secret = strdup(cfg->client_secret)) ==
			    NULL)
				goto oom;
			log_secret_add(a->client_secret);
		}
		a->jwt_ttl_s = cfg->token_ttl_s;
		if (a->jwt_ttl_s <= 0 || a->jwt_ttl_s > AUTH_ASSERTION_MAX_TTL_S)
			a->jwt_ttl_s = AUTH_ASSERTION_MAX_TTL_S;
		break;
	case AUTH_GOOGLE_SA:
		if (cfg->client_email == NULL || *cfg->client_email == '\0' ||
		    cfg->subject == NULL || *cfg->subject == '\0' ||
		    cfg->scope == NULL || *cfg->scope == '\0' ||
		    cfg->token_url == NULL || *cfg->token_url == '\0') {
			auth_errf(err, errlen, "google_service_account auth needs "
			    "client_email, subject, scopes and token_uri");
			goto done;
		}
		if ((a->client_email = strdup(cfg->client_email)) == NULL ||
		    (a->subject = strdup(cfg->subject)) == NULL)
			goto oom;
		a->jwt_ttl_s = AUTH_GOOGLE_TTL_S;
		break;
	default:
		auth_errf(err, errlen, "internal error: %s", type);
		goto done;
	}
	if (a->client_secret == NULL) {
		a->key = auth_load_key(cfg->private_key_pem, err, errlen);
		if (a->key == NULL)
			goto done;
	}
	if (a->type == AUTH_CLIENT_CREDENTIALS && a->key != NULL) {
		if (cfg->certificate_pem != NULL) {
			if (auth_thumbprint(cfg->certificate_pem, a->key,
			    cfg->x5t_s256, &x5t, err, errlen) != 0)
				goto done;
			if (cfg->x5t_s256)
				x5t_name = "x5t#S256";
		} else if (cfg->x5t != NULL && (x5t = strdup(cfg->x5t)) == NULL)
			goto oom;
	}
	if (a->key != NULL && (a->jwt_header = auth_header_json(
	    a->type == AUTH_JWT_BEARER ? NULL : cfg->key_id, x5t_name,
	    x5t)) == NULL)
		goto oom;
	if ((cfg->client_id != NULL &&
	    (a->client_id = strdup(cfg->client_id)) == NULL) ||
	    (cfg->username != NULL &&
	    (a->username = strdup(cfg->username)) == NULL) ||
	    (cfg->scope != NULL && (a->scope = strdup(cfg->scope)) == NULL) ||
	    (a->token_url = strdup(cfg->token_url)) == NULL)
		goto oom;
	if (a->type == AUTH_JWT_BEARER && (a->audience = strdup(
	    cfg->audience != NULL && *cfg->audience != '\0' ? cfg->audience :
	    AUTH_DEFAULT_AUDIENCE)) == NULL)
		goto oom;
	rc = 0;
	goto done;
oom:
	auth_errf(err, errlen, "out of memory");
done:
	free(x5t);
	return rc;
}

struct auth *
auth_new(struct http *http, const struct config_auth *cfg, char *err,
    size_t errlen)
{
	struct auth	*a = NULL;
	const char	*type;

	if (cfg == NULL) {
		auth_errf(err, errlen, "no auth configuration");
		goto fail;
	}
	a = calloc(1, sizeof *a);
	if (a == NULL) {
		auth_errf(err, errlen, "out of memory");
		goto fail;
	}
	a->http = http;
	type = cfg->type != NULL ? cfg->type : "none";

	if (strcmp(type, "none") == 0) {
		a->type = AUTH_NONE;
		return a;
	}
	if (strcmp(type, "bearer") == 0 || strcmp(type, "ssws") == 0) {
		a->type = AUTH_BEARER;
		a->header = auth_static_header(strcmp(type, "ssws") == 0 ?
		    "SSWS" : "Bearer", cfg->token, type, err, errlen);
		if (a->header == NULL)
			goto fail;
		/* Masked wherever a target echoes it (see log_secret_add). */
		log_secret_add(strchr(a->header, ' ') + 1);
		return a;
	}
	if (strcmp(type, "jwt_bearer") == 0)
		a->type = AUTH_JWT_BEARER;
	else if (strcmp(type, "client_credentials") == 0)
		a->type = AUTH_CLIENT_CREDENTIALS;
	else if (strcmp(type, "google_service_account") == 0)
		a->type = AUTH_GOOGLE_SA;
	else {
		auth_errf(err, errlen, "unknown auth type \"%s\"", type);
		goto fail;
	}
	if (auth_new_fetching(a, cfg, type, err, errlen) != 0)
		goto fail;
	return a;

fail:
	auth_destroy(a);
	return NULL;
}

/* Stop a token request in flight; its callback will not be called. */
static void
auth_fetch_cancel(struct auth *a)
{
	if (a->fetch == NULL)
		return;
	http_request_cancel(a->http, a->fetch);
	a->fetch = NULL;
}

/* Free everything now (no dispatch may be running). */
static void
auth_destroy(struct auth *a)
{
	if (a == NULL)
		return;
	auth_fetch_cancel(a);
	auth_waiters_free(a->waiters);
	auth_waiters_free(a->dispatch);
	/* What auth_new registered; fetched tokens expire on their own. */
	if (a->type == AUTH_BEARER && a->header != NULL)
		log_secret_remove(strchr(a->header, ' ') + 1);
	if (a->client_secret != NULL)
		log_secret_remove(a->client_secret);
	auth_drop_token(a);
	EVP_PKEY_free(a->key);
	free(a->jwt_header);
	free(a->client_id);
	free(a->username);
	free(a->audience);
	free(a->token_url);
	auth_secret_free(a->client_secret);
	free(a->scope);
	free(a->client_email);
	free(a->subject);
	free(a);
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	if (a->dispatching) {
		/* Called from a callback: auth_dispatch frees it on return. */
		a->dead = 1;
		auth_fetch_cancel(a);
		auth_waiters_free(a->waiters);
		a->waiters = NULL;
		auth_waiters_free(a->dispatch);
		a->dispatch = NULL;
		return;
	}
	auth_destroy(a);
}

/*
 * The claims of a new assertion, as JSON text:
 *  jwt_bearer          iss=client_id sub=username aud=audience exp
 *  client_credentials  iss=sub=client_id aud=token_url jti iat nbf exp
 *  google              iss=client_email sub=subject scope aud=token_url
 *                      iat exp=iat+3600
 */
static char *
auth_claims(const struct auth *a)
{
	json_object	*o;
	char		 jti[33], *s = NULL;
	const char	*t;
	int64_t		 now = (int64_t)time(NULL);
	int		 bad = 0;

	o = json_object_new_object();
	if (o == NULL)
		return NULL;
	switch (a->type) {
	case AUTH_JWT_BEARER:
		bad |= json_object_object_add(o, "iss",
		    json_object_new_string(a->client_id));
		bad |= json_object_object_add(o, "sub",
		    json_object_new_string(a->username));
		bad |= json_object_object_add(o, "aud",
		    json_object_new_string(a->audience));
		break;
	case AUTH_CLIENT_CREDENTIALS:
		if (randid_hex(jti, sizeof jti, 16) != 0)
			goto done;
		bad |= json_object_object_add(o, "iss",
		    json_object_new_string(a->client_id));
		bad |= json_object_object_add(o, "sub",
		    json_object_new_string(a->client_id));
		bad |= json_object_object_add(o, "aud",
		    json_object_new_string(a->token_url));
		bad |= json_object_object_add(o, "jti",
		    json_object_new_string(jti));
		bad |= json_object_object_add(o, "iat",
		    json_object_new_int64(now));
		bad |= json_object_object_add(o, "nbf",
		    json_object_new_int64(now));
		break;
	case AUTH_GOOGLE_SA:
		bad |= json_object_object_add(o, "iss",
		    json_object_new_string(a->client_email));
		bad |= json_object_object_add(o, "sub",
		    json_object_new_string(a->subject));
		bad |= json_object_object_add(o, "scope",
		    json_object_new_string(a->scope));
		bad |= json_object_object_add(o, "aud",
		    json_object_new_string(a->token_url));
		bad |= json_object_object_add(o, "iat",
		    json_object_new_int64(now));
		break;
	default:
		goto done;
	}
	bad |= json_object_object_add(o, "exp",
	    json_object_new_int64(now + a->jwt_ttl_s));
	if (bad)
		goto done;
	t = json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (t != NULL)
		s = strdup(t);
done:
	json_object_put(o);
	return s;
}

/* Append "name=<value>" (URL-encoded when asked) to *body; -1 = no memory. */
static int
auth_form_add(char **body, size_t *len, const char *name, const char *value,
    int encode)
{
	char	*enc = NULL, *nb;
	size_t	 add;

	if (encode && (enc = http_urlencode(value)) == NULL)
		return -1;
	add = (*len > 0 ? 1 : 0) + strlen(name) + 1 +
	    strlen(enc != NULL ? enc : value);
	if ((nb = malloc(*len + add + 1)) == NULL) {
		auth_secret_free(enc);
		return -1;
	}
	snprintf(nb, *len + add + 1, "%s%s%s=%s", *body != NULL ? *body : "",
	    *len > 0 ? "&" : "", name, enc != NULL ? enc : value);
	auth_secret_free(*body);
	auth_secret_free(enc);
	*body = nb;
	*len += add;
	return 0;
}

/*
 * The form body of a token request (may hold a secret or an assertion:
 * free it with auth_secret_free).
 */
static char *
auth_grant_body(const struct auth *a, size_t *lenp, char *err, size_t errlen)
{
	char	*claims = NULL, *jwt = NULL, *body = NULL;
	size_t	 len = 0;
	int	 bad = 0;

	if (a->key != NULL) {
		if ((claims = auth_claims(a)) == NULL) {
			auth_errf(err, errlen, "out of memory");
			goto fail;
		}
		jwt = auth_jwt_sign(a->key, a->jwt_header, claims, err, errlen);
		if (jwt == NULL)
			goto fail;
	}
	/* A JWT is all base64url and dots: no form encoding needed. */
	if (a->type != AUTH_CLIENT_CREDENTIALS) {
		bad |= auth_form_add(&body, &len, "grant_type",
		    "urn:ietf:params:oauth:grant-type:jwt-bearer", 1);
		bad |= auth_form_add(&body, &len, "assertion", jwt, 0);
	} else {
		bad |= auth_form_add(&body, &len, "grant_type",
		    "client_credentials", 0);
		bad |= auth_form_add(&body, &len, "client_id", a->client_id, 1);
		if (a->scope != NULL)
			bad |= auth_form_add(&body, &len, "scope", a->scope, 1);
		if (a->client_secret != NULL)
			bad |= auth_form_add(&body, &len, "client_secret",
			    a->client_secret, 1);
		else {
			bad |= auth_form_add(&body, &len,
			    "client_assertion_type", AUTH_ASSERTION_TYPE, 0);
			bad |= auth_form_add(&body, &len, "client_assertion",
			    jwt, 0);
		}
	}
	if (bad) {
		auth_errf(err, errlen, "out of memory");
		goto fail;
	}
	auth_secret_free(jwt);
	free(claims);
	*lenp = len;
	return body;
fail:
	auth_secret_free(body);
	auth_secret_free(jwt);
	free(claims);
	return NULL;
}

/* Sign a fresh assertion and post it to the token endpoint. */
static int
auth_fetch_start(struct auth *a, char *err, size_t errlen)
{
	struct http_request	*req = NULL;
	char			*body = NULL;
	size_t			 len = 0;
	int			 rc = -1;

	if ((body = auth_grant_body(a, &len, err, errlen)) == NULL)
		goto done;
	req = http_request_new("POST", a->token_url);
	if (req == NULL) {
		auth_errf(err, errlen, "out of memory");
		goto done;
	}
	if (http_request_header(req, "Content-Type",
	    "application/x-www-form-urlencoded") != 0 ||
	    http_request_header(req, "Accept", "application/json") != 0 ||
	    http_request_body(req, body, len) != 0) {
		auth_errf(err, errlen, "out of memory");
		goto done;
	}
	http_request_timeout(req, AUTH_FETCH_TIMEOUT_MS,
	    AUTH_FETCH_CONNECT_TIMEOUT_MS);
	log_debug("auth", "requesting a token from %s", a->token_url);
	/*
	 * Ownership of req passes to the client, even when it refuses it; we
	 * keep the pointer only to cancel it, until auth_fetch_done. It is
	 * set before the start and not touched after it, in case the client
	 * ever calls back before returning.
	 */
	a->fetch = req;
	if (http_request_start(a->http, req, auth_fetch_done, a) != 0) {
		req = NULL;
		a->fetch = NULL;
		auth_errf(err, errlen, "token endpoint: request not started");
		goto done;
	}
	req = NULL;
	rc = 0;

done:
	if (req != NULL)
		http_request_free(req);
	auth_secret_free(body);
	return rc;
}

/*
 * Describe a failed token response: "token endpoint: HTTP 400 invalid_grant:
 * <description>". Only the OAuth error fields are used, never the raw body,
 * and they are dropped if they echo the assertion.
 */
static void
auth_endpoint_error(const struct auth *a, const struct http_response *resp,
    char *err, size_t errlen)
{
	json_tokener	*tok = NULL;
	json_object	*o = NULL, *v;
	const char	*code = NULL, *desc = NULL;
	char		 c[128] = "", d[256] = "";
	size_t		 i;

	if (resp->body != NULL && resp->body_len > 0 &&
	    (tok = json_tokener_new()) != NULL) {
		o = json_tokener_parse_ex(tok, resp->body, (int)(resp->body_len >
		    INT32_MAX ? INT32_MAX : resp->body_len));
		json_tokener_free(tok);
	}
	if (o != NULL && json_object_is_type(o, json_type_object)) {
		if (json_object_object_get_ex(o, "error", &v) &&
		    json_object_is_type(v, json_type_string))
			code = json_object_get_string(v);
		if (json_object_object_get_ex(o, "error_description", &v) &&
		    json_object_is_type(v, json_type_string))
			desc = json_object_get_string(v);
	}
	if (code != NULL)
		snprintf(c, sizeof c, "%s", code);
	if (desc != NULL)
		snprintf(d, sizeof d, "%s", desc);
	/* Control characters do not belong in a one-line error. */
	for (i = 0; c[i] != '\0'; i++)
		if ((unsigned char)c[i] < 0x20)
			c[i] = ' ';
	for (i = 0; d[i] != '\0'; i++)
		if ((unsigned char)d[i] < 0x20)
			d[i] = ' ';
	/*
	 * "eyJ" starts every base64url JSON object, so every JWT; and a
	 * client secret must not come back through an echo either.
	 */
	if (strstr(c, "eyJ") != NULL || strstr(d, "eyJ") != NULL ||
	    (a->client_secret != NULL && (strstr(c, a->client_secret) != NULL ||
	    strstr(d, a->client_secret) != NULL))) {
		snprintf(c, sizeof c, "(redacted)");
		d[0] = '\0';
	}
	if (c[0] != '\0' && d[0] != '\0')
		auth_errf(err, errlen, "token endpoint: HTTP %ld %s: %s",
		    resp->status, c, d);
	else if (c[0] != '\0')
		auth_errf(err, errlen, "token endpoint: HTTP %ld %s",
		    resp->status, c);
	else
		auth_errf(err, errlen, "token endpoint: HTTP %ld", resp->status);
	json_object_put(o);
	if (err != NULL)
		log_redact(err);
}

/* Take the token out of a 200 response and cache it. */
static int
auth_parse_token(struct auth *a, const struct http_response *resp, char *err,
    size_t errlen)
{
	json_tokener	*tok = NULL;
	json_object	*o = NULL, *v;
	const char	*access = NULL, *inst = NULL;
	char		*header = NULL, *url = NULL;
	double		 lifetime = AUTH_ASSUMED_LIFETIME_S;
	int64_t		 expires_in = 0;
	size_t		 n;
	int		 rc = -1, expires_in_known = 0;

	if (resp->body_truncated) {
		auth_errf(err, errlen, "token endpoint: response too large");
		goto done;
	}
	if (resp->body != NULL && resp->body_len > 0 &&
	    (tok = json_tokener_new()) != NULL) {
		o = json_tokener_parse_ex(tok, resp->body, (int)(resp->body_len >
		    INT32_MAX ? INT32_MAX : resp->body_len));
		json_tokener_free(tok);
	}
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		auth_errf(err, errlen, "token endpoint: HTTP %ld with a "
		    "non-JSON response", resp->status);
		goto done;
	}
	if (json_object_object_get_ex(o, "access_token", &v) &&
	    json_object_is_type(v, json_type_string))
		access = json_object_get_string(v);
	if (!auth_token_ok(access)) {
		auth_errf(err, errlen, "token endpoint: response without a "
		    "usable access_token");
		goto done;
	}
	if (json_object_object_get_ex(o, "token_type", &v) &&
	    json_object_is_type(v, json_type_string)) {
		if (strcasecmp(json_object_get_string(v), "Bearer") != 0) {
			auth_errf(err, errlen, "token endpoint: unsupported "
			    "token_type");
			goto done;
		}
	}
	/* Only Salesforce moves our calls to another host, by design. */
	if (a->type == AUTH_JWT_BEARER &&
	    json_object_object_get_ex(o, "instance_url", &v) &&
	    json_object_is_type(v, json_type_string)) {
		inst = json_object_get_string(v);
		if (!auth_token_ok(inst) || (strncmp(inst, "https://", 8) != 0 &&
		    strncmp(inst, "http://", 7) != 0)) {
			auth_errf(err, errlen, "token endpoint: bad instance_url");
			goto done;
		}
	}
	if (json_object_object_get_ex(o, "expires_in", &v) &&
	    (json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_string))) {
		expires_in = json_object_get_int64(v);
		expires_in_known = expires_in > 0 && expires_in < 366 * 86400;
		if (expires_in > 2 * AUTH_EXPIRY_MARGIN_S)
			lifetime = (double)(expires_in - AUTH_EXPIRY_MARGIN_S);
		else if (expires_in > 0)
			lifetime = (double)expires_in / 2;
	}
	if (json_object_object_get_ex(o, "issued_at", &v) && v != NULL)
		log_debug("auth", "token from %s issued_at %s", a->token_url,
		    json_object_get_string(v));

	/*
	 * Registered before it is first sent, and kept an hour past its
	 * expiry: a target may echo it in an error after it was renewed.
	 */
	log_secret_add_for(access, (long)(expires_in_known ? expires_in :
	    AUTH_ASSUMED_LIFETIME_S) + 3600);
	n = strlen(access) + sizeof "Bearer ";
	header = malloc(n);
	if (header == NULL || (inst != NULL && (url = strdup(inst)) == NULL)) {
		auth_errf(err, errlen, "out of memory");
		goto done;
	}
	snprintf(header, n, "Bearer %s", access);
	if (url != NULL) {
		n = strlen(url);
		while (n > 0 && url[n - 1] == '/')
			url[--n] = '\0';
	}
	auth_drop_token(a);
	a->header = header;
	header = NULL;
	a->instance_url = url;
	url = NULL;
	a->expires = auth_now() + lifetime;
	rc = 0;

done:
	auth_secret_free(header);
	free(url);
	if (o != NULL) {
		/* json-c keeps its own copy of the token: wipe it too. */
		if (access != NULL)
			OPENSSL_cleanse((char *)access, strlen(access));
		json_object_put(o);
	}
	return rc;
}

/* The token endpoint answered (or the transport failed). */
static void
auth_fetch_done(const struct http_response *resp, void *arg)
{
	struct auth		*a = arg;
	char			 err[512] = "";
	char			*header = NULL, *url = NULL;
	int			 ok = 0;

	a->fetch = NULL;	/* the client frees the request after this */

	if (resp->status == 0 || resp->curl_code != 0) {
		auth_errf(err, sizeof err, "token endpoint: %s%s",
		    resp->timed_out ? "timed out: " : "",
		    resp->error[0] != '\0' ? resp->error : "transport error");
		log_redact(err);
	} else if (resp->status != 200)
		auth_endpoint_error(a, resp, err, sizeof err);
	else if (auth_parse_token(a, resp, err, sizeof err) == 0)
		ok = 1;

	if (ok) {
		/* Copies: a callback may invalidate or free the cache. */
		header = strdup(a->header);
		if (a->instance_url != NULL)
			url = strdup(a->instance_url);
		if (header == NULL ||
		    (a->instance_url != NULL && url == NULL)) {
			ok = 0;
			auth_errf(err, sizeof err, "out of memory");
		}
	}
	if (ok) {
		log_info("auth", "token obtained from %s%s%s", a->token_url,
		    url != NULL ? " for " : "", url != NULL ? url : "");
		auth_dispatch(a, header, url, NULL);
	} else {
		log_warn("auth", "%s", err);
		auth_dispatch(a, NULL, NULL, err);
	}
	auth_secret_free(header);
	free(url);
}

/*
 * Call back every waiter. Callbacks may call auth_get (which may start a new
 * fetch with a new waiter list), auth_cancel (of waiters still in the
 * dispatch list), auth_invalidate or auth_free (completed on return).
 */
static void
auth_dispatch(struct auth *a, const char *header, const char *instance_url,
    const char *error)
{
	struct auth_waiter	*w;
	auth_cb			 cb;
	void			*cbarg;

	a->dispatch = a->waiters;
	a->waiters = NULL;
	a->dispatching++;
	while ((w = a->dispatch) != NULL) {
		a->dispatch = w->next;
		cb = w->cb;
		cbarg = w->arg;
		free(w);
		cb(header, instance_url, error, cbarg);
		if (a->dead)
			break;
	}
	a->dispatching--;
	if (a->dead && a->dispatching == 0)
		auth_destroy(a);
}

void
auth_get(struct auth *a, auth_cb cb, void *arg)
{
	struct auth_waiter	*w, **p;
	char			 err[512];

	if (a == NULL || cb == NULL)
		return;
	switch (a->type) {
	case AUTH_NONE:
		cb(NULL, NULL, NULL, arg);
		return;
	case AUTH_BEARER:
		cb(a->header, NULL, NULL, arg);
		return;
	case AUTH_JWT_BEARER:
	case AUTH_CLIENT_CREDENTIALS:
	case AUTH_GOOGLE_SA:
		break;
	}

	if (a->header != NULL) {
		if (auth_now() < a->expires) {
			cb(a->header, a->instance_url, NULL, arg);
			return;
		}
		log_debug("auth", "token from %s is due for renewal",
		    a->token_url);
		auth_drop_token(a);
	}

	w = calloc(1, sizeof *w);
	if (w == NULL) {
		cb(NULL, NULL, "out of memory", arg);
		return;
	}
	w->cb = cb;
	w->arg = arg;
	for (p = &a->waiters; *p != NULL; p = &(*p)->next)
		;
	*p = w;
	if (a->fetch != NULL)
		return;		/* wait for the fetch in flight */

	if (auth_fetch_start(a, err, sizeof err) != 0) {
		/*
		 * Nothing was in flight, so this caller is the only waiter.
		 * Not cached: the next auth_get tries again.
		 */
		log_warn("auth", "%s", err);
		a->waiters = NULL;
		free(w);
		cb(NULL, NULL, err, arg);
	}
}

void
auth_invalidate(struct auth *a, const char *header)
{
	if (a == NULL || header == NULL || !auth_fetches(a) ||
	    a->header == NULL)
		return;
	if (strcmp(a->header, header) != 0)
		return;		/* already replaced */
	log_info("auth", "token from %s rejected by the target, dropping it",
	    a->token_url);
	auth_drop_token(a);
}

void
auth_cancel(struct auth *a, auth_cb cb, void *arg)
{
	struct auth_waiter	**lists[2], **p, *w;
	size_t			  i;

	if (a == NULL)
		return;
	lists[0] = &a->waiters;
	lists[1] = &a->dispatch;
	for (i = 0; i < 2; i++) {
		p = lists[i];
		while ((w = *p) != NULL) {
			if (w->cb == cb && w->arg == arg) {
				*p = w->next;
				free(w);
			} else
				p = &w->next;
		}
	}
}

/* 1 when equal (either may be NULL). */
static int
auth_str_same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* The strings of a struct config_auth, for auth_config_same. */
static const size_t auth_config_strs[] = {
	offsetof(struct config_auth, type),
	offsetof(struct config_auth, token),
	offsetof(struct config_auth, client_id),
	offsetof(struct config_auth, username),
	offsetof(struct config_auth, audience),
	offsetof(struct config_auth, token_url),
	offsetof(struct config_auth, private_key_pem),
	offsetof(struct config_auth, client_secret),
	offsetof(struct config_auth, scope),
	offsetof(struct config_auth, key_id),
	offsetof(struct config_auth, x5t),
	offsetof(struct config_auth, certificate_pem),
	offsetof(struct config_auth, client_email),
	offsetof(struct config_auth, subject),
};

int
auth_config_same(const struct config_auth *a, const struct config_auth *b)
{
	size_t i;

	for (i = 0; i < sizeof auth_config_strs / sizeof auth_config_strs[0];
	    i++)
		if (!auth_str_same(*(char *const *)(const void *)
		    ((const char *)a + auth_config_strs[i]),
		    *(char *const *)(const void *)
		    ((const char *)b + auth_config_strs[i])))
			return 0;
	return a->token_ttl_s == b->token_ttl_s && a->x5t_s256 == b->x5t_s256;
}
