/*
 * test_auth: unit tests for auth. base64url against RFC 4648 vectors and
 * random round trips; RS256 JWTs verified with OpenSSL against a key
 * generated here (and refused for weak, non-RSA, encrypted or garbage keys);
 * the JWT bearer token flow against an in-process evhttp token endpoint in
 * the same event_base that checks the grant and verifies every assertion;
 * likewise the client credentials flow (secret, and client assertion with
 * kid and x5t / x5t#S256 from a certificate), the Google service account
 * flow and the static SSWS header.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "deprov/auth.h"
#include "deprov/config.h"
#include "deprov/http.h"
#include "deprov/log.h"

#define TEST_CLIENT_ID	"3MVG9-test-consumer-key"
#define TEST_USERNAME	"deprov@acme.example"
#define TEST_GRANT	"urn:ietf:params:oauth:grant-type:jwt-bearer"

/* Keys made once for the whole run (RSA key generation is slow). */
static EVP_PKEY	*test_rsa2048;
static char	*test_pem_pkcs8;
static char	*test_pem_rsa;

enum server_mode {
	SERVER_OK,		/* 200 with tok-N */
	SERVER_EXPIRES,		/* 200 with tok-N and expires_in 2 */
	SERVER_INVALID_GRANT,	/* 400 invalid_grant */
	SERVER_ECHO,		/* 400 whose description echoes the assertion */
	SERVER_NOT_JSON,	/* 200 with an HTML body */
	SERVER_NO_TOKEN,	/* 200 JSON without access_token */
	SERVER_HOLD		/* keep the request, answer later */
};

struct server {
	struct event_base	*base;
	struct evhttp		*evh;
	int			 port;
	EVP_PKEY		*pub;
	const char		*expect_aud;
	enum server_mode	 mode;
	int			 fetches;	/* token requests seen */
	int			 bad;		/* requests that failed our checks */
	char			 why[256];	/* first check that failed */
	char			 assertion[2048];	/* the last one seen */
	struct evhttp_request	*held;
};

struct flow {
	struct event_base	*base;
	struct event		*tick;
	struct http		*http;
	struct server		 srv;
	struct auth		*auth;
	FILE			*logf;
};

/* What one auth_get callback received. */
struct result {
	int		 called;
	int		 seq;
	int		 had_header;
	int		 had_error;
	char		 header[256];
	char		 url[256];
	char		 error[512];
	struct flow	*flow;
	int		 free_auth;	/* call auth_free from the callback */
	int		 get_again;	/* call auth_get again from the callback */
	struct result	*again;
};

static int test_seq;

/* --- helpers ------------------------------------------------------------ */

static char *
key_to_pem(EVP_PKEY *key, int traditional)
{
	BIO	*bio = BIO_new(BIO_s_mem());
	char	*data, *pem;
	long	 n;
	int	 ok;

	assert_non_null(bio);
	if (traditional)
		ok = PEM_write_bio_PrivateKey_traditional(bio, key, NULL, NULL,
		    0, NULL, NULL);
	else
		ok = PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL,
		    NULL);
	assert_int_equal(ok, 1);
	n = BIO_get_mem_data(bio, &data);
	pem = calloc(1, (size_t)n + 1);
	assert_non_null(pem);
	memcpy(pem, data, (size_t)n);
	BIO_free(bio);
	return pem;
}

/* Decode a base64url part of a JWT as JSON. */
static json_object *
jwt_part_json(const char *b64, size_t len)
{
	char		*part;
	unsigned char	*raw;
	size_t		 rawlen;
	json_object	*o;

	part = strndup(b64, len);
	if (part == NULL)
		return NULL;
	raw = auth_b64url_decode(part, &rawlen);
	free(part);
	if (raw == NULL)
		return NULL;
	o = json_tokener_parse((char *)raw);
	free(raw);
	return o;
}

/*
 * Split a JWT, verify its RS256 signature with pub and return header and
 * claims. 0 when the signature verifies; -1 otherwise (why says why).
 */
static int
jwt_verify(const char *jwt, EVP_PKEY *pub, json_object **hdr,
    json_object **claims, char *why, size_t whylen)
{
	const char	*d1, *d2;
	unsigned char	*sig = NULL;
	size_t		 siglen;
	EVP_MD_CTX	*ctx = NULL;
	int		 rc = -1;

	*hdr = *claims = NULL;
	d1 = strchr(jwt, '.');
	d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
	if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL) {
		snprintf(why, whylen, "not three parts");
		goto done;
	}
	*hdr = jwt_part_json(jwt, (size_t)(d1 - jwt));
	*claims = jwt_part_json(d1 + 1, (size_t)(d2 - d1 - 1));
	if (*hdr == NULL || *claims == NULL) {
		snprintf(why, whylen, "header or claims not base64url JSON");
		goto done;
	}
	sig = auth_b64url_decode(d2 + 1, &siglen);
	if (sig == NULL) {
		snprintf(why, whylen, "signature not base64url");
		goto done;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub) != 1) {
		snprintf(why, whylen, "verify init");
		goto done;
	}
	if (EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)jwt,
	    (size_t)(d2 - jwt)) != 1) {
		snprintf(why, whylen, "signature does not verify");
		goto done;
	}
	rc = 0;
done:
	EVP_MD_CTX_free(ctx);
	free(sig);
	return rc;
}

static const char *
json_str(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
group_setup(void **state)
{
	test_rsa2048 = EVP_RSA_gen(2048);
	if (test_rsa2048 == NULL)
		return -1;
	test_pem_pkcs8 = key_to_pem(test_rsa2048, 0);
	test_pem_rsa = key_to_pem(test_rsa2048, 1);
	log_set_level(LOG_LEVEL_DEBUG);
	return 0;
}

static int
group_teardown(void **state)
{
	EVP_PKEY_free(test_rsa2048);
	free(test_pem_pkcs8);
	free(test_pem_rsa);
	return 0;
}

/* --- base64url ------------------------------------------------------------ */

static void
test_b64url_vectors(void **state)
{
	/* RFC 4648 section 10, padding removed (RFC 7515 appendix C). */
	static const struct {
		const char	*in;
		const char	*out;
	} v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" },
	};
	static const unsigned char url1[] = { 0xfb, 0xff };
	static const unsigned char url2[] = { 0xfb, 0xff, 0xbf };
	static const unsigned char url3[] = { 0x03, 0xe0, 0x00, 0xff };
	char		*e;
	unsigned char	*d;
	size_t		 i, n;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		e = auth_b64url_encode(v[i].in, strlen(v[i].in));
		assert_non_null(e);
		assert_string_equal(e, v[i].out);
		free(e);
		d = auth_b64url_decode(v[i].out, &n);
		assert_non_null(d);
		assert_int_equal(n, strlen(v[i].in));
		assert_memory_equal(d, v[i].in, n);
		assert_int_equal(d[n], '\0');
		free(d);
	}

	/* The URL-safe alphabet: '-' and '_' instead of '+' and '/'. */
	e = auth_b64url_encode(url1, sizeof url1);
	assert_string_equal(e, "-_8");
	free(e);
	e = auth_b64url_encode(url2, sizeof url2);
	assert_string_equal(e, "-_-_");
	free(e);
	e = auth_b64url_encode(url3, sizeof url3);
	assert_string_equal(e, "A-AA_w");
	free(e);
	d = auth_b64url_decode("-_-_", &n);
	assert_non_null(d);
	assert_int_equal(n, 3);
	assert_memory_equal(d, url2, 3);
	free(d);

	/* Padding is accepted when it is right. */
	d = auth_b64url_decode("Zg==", &n);
	assert_non_null(d);
	assert_int_equal(n, 1);
	assert_memory_equal(d, "f", 1);
	free(d);
	d = auth_b64url_decode("Zm8=", &n);
	assert_non_null(d);
	assert_int_equal(n, 2);
	assert_memory_equal(d, "fo", 2);
	free(d);
	d = auth_b64url_decode("Zm9vYmE=", &n);
	assert_non_null(d);
	assert_int_equal(n, 5);
	free(d);
	d = auth_b64url_decode("-_8=", &n);
	assert_non_null(d);
	assert_int_equal(n, 2);
	assert_memory_equal(d, url1, 2);
	free(d);
	d = auth_b64url_decode("", &n);
	assert_non_null(d);
	assert_int_equal(n, 0);
	free(d);
}

static void
test_b64url_reject(void **state)
{
	static const char *bad[] = {
		"Z",		/* one char cannot be a byte */
		"Zm9vY",	/* 4n+1 */
		"Zg=",		/* padded but not to a multiple of 4 */
		"Zg===",	/* too much padding */
		"Zm9v=",	/* padding where none is due */
		"Zm8==",	/* wrong amount of padding */
		"Zg==Zg==",	/* data after padding */
		"=",
		"====",
		"Zm9v+w",	/* standard alphabet */
		"Zm9v/w",
		"Zm 9v",	/* whitespace */
		"Zm9v\n",
		"Zm9v.",
		"Zm9v\xc3\xa9",
		"Zh",		/* non-canonical: leftover bits set */
		"Zm9",
	};
	size_t		 i, n = 42;
	unsigned char	*d;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		d = auth_b64url_decode(bad[i], &n);
		if (d != NULL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_null(auth_b64url_decode(NULL, &n));
}

static void
test_b64url_roundtrip(void **state)
{
	unsigned char	 buf[300], *d;
	char		*e;
	size_t		 len, n, i;
	int		 round;

	for (round = 0; round < 4; round++) {
		for (len = 0; len <= sizeof buf; len++) {
			assert_int_equal(RAND_bytes(buf, (int)len > 0 ?
			    (int)len : 1), 1);
			e = auth_b64url_encode(buf, len);
			assert_non_null(e);
			assert_int_equal(strlen(e), len / 3 * 4 +
			    (len % 3 == 0 ? 0 : len % 3 + 1));
			for (i = 0; e[i] != '\0'; i++) {
				if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789-_",
				    e[i]) == NULL)
					fail_msg("bad char '%c'", e[i]);
			}
			d = auth_b64url_decode(e, &n);
			assert_non_null(d);
			assert_int_equal(n, len);
			assert_memory_equal(d, buf, len);
			free(d);
			free(e);
		}
	}
}

/* --- JWT ------------------------------------------------------------------ */

static void
test_jwt_sign_verify(void **state)
{
	const char	*claims = "{\"iss\":\"" TEST_CLIENT_ID "\",\"sub\":\""
			    TEST_USERNAME "\",\"aud\":\"https://login."
			    "salesforce.com\",\"exp\":1900000000}";
	const char	*pems[2] = { test_pem_pkcs8, test_pem_rsa };
	json_object	*h, *c, *v;
	char		 err[256] = "", why[128] = "", *jwt;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		jwt = auth_jwt_rs256(NULL, claims, pems[i], err, sizeof err);
		if (jwt == NULL)
			fail_msg("sign failed: %s", err);
		if (jwt_verify(jwt, test_rsa2048, &h, &c, why, sizeof why) != 0)
			fail_msg("verify: %s", why);
		assert_string_equal(json_str(h, "alg"), "RS256");
		assert_string_equal(json_str(h, "typ"), "JWT");
		assert_string_equal(json_str(c, "iss"), TEST_CLIENT_ID);
		assert_string_equal(json_str(c, "sub"), TEST_USERNAME);
		assert_string_equal(json_str(c, "aud"),
		    "https://login.salesforce.com");
		assert_true(json_object_object_get_ex(c, "exp", &v));
		assert_int_equal(json_object_get_int64(v), 1900000000);
		/* RS256 with a 2048-bit key: a 256-byte signature. */
		assert_int_equal(strlen(strrchr(jwt, '.') + 1), 342);
		json_object_put(h);
		json_object_put(c);
		free(jwt);
	}

	/* A given header is used as is. */
	jwt = auth_jwt_rs256("{\"alg\":\"RS256\"}", "{}", test_pem_pkcs8, err,
	    sizeof err);
	assert_non_null(jwt);
	assert_int_equal(strncmp(jwt, "eyJhbGciOiJSUzI1NiJ9.e30.", 25), 0);
	assert_int_equal(jwt_verify(jwt, test_rsa2048, &h, &c, why,
	    sizeof why), 0);
	assert_null(json_str(h, "typ"));
	json_object_put(h);
	json_object_put(c);
	free(jwt);
}

static void
test_jwt_tampered(void **state)
{
	json_object	*h, *c;
	char		 err[256], why[128], *jwt, *forged, *other, *d1, *d2;
	size_t		 n;

	jwt = auth_jwt_rs256(NULL, "{\"sub\":\"alice\"}", test_pem_pkcs8, err,
	    sizeof err);
	assert_non_null(jwt);
	d1 = strchr(jwt, '.');
	d2 = strchr(d1 + 1, '.');

	/* Same header and signature, different claims. */
	other = auth_b64url_encode("{\"sub\":\"admin\"}", 15);
	n = strlen(jwt) + strlen(other) + 1;
	forged = malloc(n);
	assert_non_null(forged);
	snprintf(forged, n, "%.*s.%s%s", (int)(d1 - jwt), jwt, other, d2);
	assert_int_equal(jwt_verify(forged, test_rsa2048, &h, &c, why,
	    sizeof why), -1);
	assert_string_equal(why, "signature does not verify");
	assert_string_equal(json_str(c, "sub"), "admin");
	json_object_put(h);
	json_object_put(c);

	/* One flipped signature character. */
	strcpy(forged, jwt);
	n = strlen(forged) - 10;
	forged[n] = forged[n] == 'A' ? 'B' : 'A';
	assert_int_equal(jwt_verify(forged, test_rsa2048, &h, &c, why,
	    sizeof why), -1);
	json_object_put(h);
	json_object_put(c);

	/* The original still verifies. */
	assert_int_equal(jwt_verify(jwt, test_rsa2048, &h, &c, why,
	    sizeof why), 0);
	json_object_put(h);
	json_object_put(c);
	free(other);
	free(forged);
	free(jwt);
}

/* The error must name the problem and hold nothing of the key. */
static void
assert_refused(const char *pem, const char *expect)
{
	char	 err[256] = "", *jwt;

	jwt = auth_jwt_rs256(NULL, "{}", pem, err, sizeof err);
	assert_null(jwt);
	if (strstr(err, expect) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, expect);
	assert_null(strstr(err, "-----"));
	assert_null(strstr(err, "MII"));
}

static void
test_jwt_bad_keys(void **state)
{
	EVP_PKEY	*k1024, *ec, *pss;
	EVP_PKEY_CTX	*ctx;
	BIO		*bio;
	char		*pem, *data, *enc;
	long		 n;

	k1024 = EVP_RSA_gen(1024);
	assert_non_null(k1024);
	pem = key_to_pem(k1024, 0);
	assert_refused(pem, "1024 bits");
	free(pem);
	pem = key_to_pem(k1024, 1);
	assert_refused(pem, "1024 bits");
	free(pem);
	EVP_PKEY_free(k1024);

	ec = EVP_EC_gen("P-256");
	assert_non_null(ec);
	pem = key_to_pem(ec, 0);
	assert_refused(pem, "RS256 needs RSA");
	free(pem);
	EVP_PKEY_free(ec);

	/* Big enough, but RSA-PSS is not what RS256 signs with. */
	pss = NULL;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048), 1);
	assert_int_equal(EVP_PKEY_generate(ctx, &pss), 1);
	EVP_PKEY_CTX_free(ctx);
	assert_int_equal(EVP_PKEY_get_bits(pss), 2048);
	pem = key_to_pem(pss, 0);
	assert_refused(pem, "RS256 needs RSA");
	free(pem);
	EVP_PKEY_free(pss);

	assert_refused("not a key at all", "unreadable");
	assert_refused("-----BEGIN PRIVATE KEY-----\nAAAA\n"
	    "-----END PRIVATE KEY-----\n", "unreadable");
	assert_refused("", "no private key");
	assert_refused(NULL, "no private key");

	/* An encrypted key is refused, not prompted for. */
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(bio, test_rsa2048,
	    EVP_aes_256_cbc(), (unsigned char *)"secret", 6, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	enc = strndup(data, (size_t)n);
	BIO_free(bio);
	assert_non_null(strstr(enc, "ENCRYPTED"));
	assert_refused(enc, "unreadable");
	free(enc);
}

/* --- struct auth without the network ------------------------------------- */

static void
result_cb(const char *header, const char *instance_url, const char *error,
    void *arg)
{
	struct result *r = arg;

	r->called++;
	r->seq = ++test_seq;
	r->had_header = header != NULL;
	r->had_error = error != NULL;
	snprintf(r->header, sizeof r->header, "%s", header ? header : "");
	snprintf(r->url, sizeof r->url, "%s", instance_url ? instance_url : "");
	snprintf(r->error, sizeof r->error, "%s", error ? error : "");
	if (r->free_auth) {
		auth_free(r->flow->auth);
		r->flow->auth = NULL;
	}
	if (r->get_again)
		auth_get(r->flow->auth, result_cb, r->again);
}

static void
test_auth_static(void **state)
{
	struct config_auth	 cfg;
	struct auth		*a;
	struct result		 r;
	char			 err[256];

	memset(&cfg, 0, sizeof cfg);
	cfg.type = "none";
	a = auth_new(NULL, &cfg, err, sizeof err);
	assert_non_null(a);
	memset(&r, 0, sizeof r);
	auth_get(a, result_cb, &r);
	assert_int_equal(r.called, 1);
	assert_false(r.had_header);
	assert_false(r.had_error);
	auth_invalidate(a, "Bearer x");
	auth_free(a);

	cfg.type = NULL;	/* defaults to none */
	a = auth_new(NULL, &cfg, err, sizeof err);
	assert_non_null(a);
	auth_free(a);

	cfg.type = "bearer";
	cfg.token = "  abc.DEF!123\n";
	a = auth_new(NULL, &cfg, err, sizeof err);
	assert_non_null(a);
	memset(&r, 0, sizeof r);
	auth_get(a, result_cb, &r);
	assert_int_equal(r.called, 1);
	assert_string_equal(r.header, "Bearer abc.DEF!123");
	assert_false(r.had_error);
	/* A static token cannot be renewed: invalidating changes nothing. */
	auth_invalidate(a, "Bearer abc.DEF!123");
	memset(&r, 0, sizeof r);
	auth_get(a, result_cb, &r);
	assert_string_equal(r.header, "Bearer abc.DEF!123");
	auth_free(a);

	cfg.token = "abc\r\nX-Injected: 1";
	assert_null(auth_new(NULL, &cfg, err, sizeof err));
	assert_null(strstr(err, "abc"));
	cfg.token = "";
	assert_null(auth_new(NULL, &cfg, err, sizeof err));
	cfg.token = NULL;
	assert_null(auth_new(NULL, &cfg, err, sizeof err));

	cfg.type = "kerberos";
	assert_null(auth_new(NULL, &cfg, err, sizeof err));
	assert_non_null(strstr(err, "kerberos"));
	assert_null(auth_new(NULL, NULL, err, sizeof err));
}

static void
test_auth_jwt_config(void **state)
{
	struct config_auth	 cfg;
	struct http		*fake = (struct http *)&cfg;	/* never used */
	EVP_PKEY		*k1024;
	char			 err[256], *pem;

	memset(&cfg, 0, sizeof cfg);
	cfg.type = "jwt_bearer";
	cfg.client_id = TEST_CLIENT_ID;
	cfg.username = TEST_USERNAME;
	cfg.token_url = "https://login.salesforce.com/services/oauth2/token";
	cfg.private_key_pem = test_pem_pkcs8;

	assert_null(auth_new(NULL, &cfg, err, sizeof err));
	assert_non_null(strstr(err, "HTTP client"));

	cfg.username = NULL;
	assert_null(auth_new(fake, &cfg, err, sizeof err));
	assert_non_null(strstr(err, "username"));
	cfg.username = TEST_USERNAME;

	cfg.private_key_pem = "garbage";
	assert_null(auth_new(fake, &cfg, err, sizeof err));
	assert_non_null(strstr(err, "unreadable"));

	k1024 = EVP_RSA_gen(1024);
	pem = key_to_pem(k1024, 1);
	cfg.private_key_pem = pem;
	assert_null(auth_new(fake, &cfg, err, sizeof err));
	assert_non_null(strstr(err, "1024"));
	assert_null(strstr(err, "MII"));
	free(pem);
	EVP_PKEY_free(k1024);
}

/* --- token flow against an in-process endpoint ----------------------------- */

static void
server_reply(struct evhttp_request *req, int code, const char *body)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, body, strlen(body));
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json;charset=UTF-8");
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Bad Request", b);
	evbuffer_free(b);
}

/* Answer a token request according to the server's mode. */
static void
server_answer(struct server *s, struct evhttp_request *req)
{
	char	 body[1024];

	switch (s->mode) {
	case SERVER_OK:
	case SERVER_EXPIRES:
	case SERVER_HOLD:
		snprintf(body, sizeof body, "{\"access_token\":\"00Dxx!tok-%d\","
		    "\"instance_url\":\"http://127.0.0.1:%d/\","
		    "\"id\":\"https://login.salesforce.com/id/00Dxx/005xx\","
		    "\"token_type\":\"Bearer\",\"scope\":\"api\","
		    "\"issued_at\":\"1700000000000\"%s}", s->fetches, s->port,
		    s->mode == SERVER_EXPIRES ? ",\"expires_in\":2" : "");
		server_reply(req, 200, body);
		break;
	case SERVER_INVALID_GRANT:
		server_reply(req, 400, "{\"error\":\"invalid_grant\","
		    "\"error_description\":\"user hasn't approved this "
		    "consumer\"}");
		break;
	case SERVER_ECHO:
		snprintf(body, sizeof body, "{\"error\":\"invalid_grant\","
		    "\"error_description\":\"bad assertion %.900s\"}",
		    s->assertion);
		server_reply(req, 400, body);
		break;
	case SERVER_NOT_JSON:
		server_reply(req, 200, "<html>maintenance</html>");
		break;
	case SERVER_NO_TOKEN:
		server_reply(req, 200, "{\"instance_url\":\"http://x\"}");
		break;
	}
}

/* Check one token request like Salesforce would, remembering what failed. */
static int
server_check(struct server *s, struct evhttp_request *req)
{
	struct evkeyvalq	 form;
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	const char		*ct, *grant, *assertion;
	json_object		*h = NULL, *c = NULL, *v;
	char			*body;
	size_t			 len = evbuffer_get_length(in);
	int64_t			 exp, now = (int64_t)time(NULL);
	int			 rc = -1;

	TAILQ_INIT(&form);
	body = calloc(1, len + 1);
	evbuffer_remove(in, body, len);
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		snprintf(s->why, sizeof s->why, "not a POST");
		goto done;
	}
	ct = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	if (ct == NULL || strcmp(ct, "application/x-www-form-urlencoded") != 0) {
		snprintf(s->why, sizeof s->why, "content type %s", ct);
		goto done;
	}
	if (strncmp(body, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type"
	    "%3Ajwt-bearer&assertion=", 75) != 0) {
		snprintf(s->why, sizeof s->why, "body does not start right");
		goto done;
	}
	if (evhttp_parse_query_str(body, &form) != 0) {
		snprintf(s->why, sizeof s->why, "form unparsable");
		goto done;
	}
	grant = evhttp_find_header(&form, "grant_type");
	assertion = evhttp_find_header(&form, "assertion");
	if (grant == NULL || strcmp(grant, TEST_GRANT) != 0 ||
	    assertion == NULL) {
		snprintf(s->why, sizeof s->why, "grant_type or assertion");
		goto done;
	}
	snprintf(s->assertion, sizeof s->assertion, "%s", assertion);
	if (jwt_verify(assertion, s->pub, &h, &c, s->why, sizeof s->why) != 0)
		goto done;
	if (json_str(h, "alg") == NULL || strcmp(json_str(h, "alg"),
	    "RS256") != 0 ||
	    json_str(c, "iss") == NULL || strcmp(json_str(c, "iss"),
	    TEST_CLIENT_ID) != 0 ||
	    json_str(c, "sub") == NULL || strcmp(json_str(c, "sub"),
	    TEST_USERNAME) != 0 ||
	    json_str(c, "aud") == NULL || strcmp(json_str(c, "aud"),
	    s->expect_aud) != 0) {
		snprintf(s->why, sizeof s->why, "claims");
		goto done;
	}
	if (!json_object_object_get_ex(c, "exp", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		snprintf(s->why, sizeof s->why, "no exp");
		goto done;
	}
	exp = json_object_get_int64(v);
	if (exp <= now || exp > now + 181) {
		snprintf(s->why, sizeof s->why, "exp %lld, now %lld",
		    (long long)exp, (long long)now);
		goto done;
	}
	rc = 0;
done:
	evhttp_clear_headers(&form);
	json_object_put(h);
	json_object_put(c);
	free(body);
	return rc;
}

static void
server_token_cb(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;

	s->fetches++;
	if (server_check(s, req) != 0) {
		s->bad++;
		server_reply(req, 400, "{\"error\":\"invalid_request\"}");
		return;
	}
	if (s->mode == SERVER_HOLD) {
		s->held = req;
		return;
	}
	server_answer(s, req);
}

static void
flow_tick(evutil_socket_t fd, short what, void *arg)
{
}

/* Run the loop until *counter reaches want (or 10 s pass). */
static void
flow_run_until(struct flow *f, const int *counter, int want)
{
	time_t deadline = time(NULL) + 10;

	while (*counter < want && time(NULL) < deadline)
		event_base_loop(f->base, EVLOOP_ONCE);
	if (*counter < want)
		fail_msg("timed out waiting (%d of %d)", *counter, want);
}

/* Run the loop until the HTTP client has nothing in flight. */
static void
flow_run_idle(struct flow *f)
{
	time_t deadline = time(NULL) + 10;

	while (http_inflight(f->http) > 0 && time(NULL) < deadline)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_int_equal(http_inflight(f->http), 0);
}

static struct auth *
flow_auth(struct flow *f, const char *audience, int port)
{
	struct config_auth	 cfg;
	struct auth		*a;
	char			 url[128], err[256] = "";

	snprintf(url, sizeof url, "http://127.0.0.1:%d/services/oauth2/token",
	    port);
	memset(&cfg, 0, sizeof cfg);
	cfg.type = "jwt_bearer";
	cfg.client_id = TEST_CLIENT_ID;
	cfg.username = TEST_USERNAME;
	cfg.audience = (char *)audience;
	cfg.token_url = url;
	cfg.private_key_pem = test_pem_rsa;
	cfg.token_ttl_s = 120;
	a = auth_new(f->http, &cfg, err, sizeof err);
	if (a == NULL)
		fail_msg("auth_new: %s", err);
	return a;
}

static int
flow_setup(void **state)
{
	struct flow			*f;
	struct evhttp_bound_socket	*bs;
	struct sockaddr_in		 sin;
	socklen_t			 slen = sizeof sin;
	struct timeval			 tv = { 0, 50000 };

	f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	f->logf = tmpfile();
	log_set_stream(f->logf);
	f->base = event_base_new();
	f->http = http_new(f->base);
	f->srv.base = f->base;
	f->srv.pub = test_rsa2048;
	f->srv.expect_aud = "https://login.salesforce.com";
	f->srv.evh = evhttp_new(f->base);
	if (f->base == NULL || f->http == NULL || f->srv.evh == NULL)
		return -1;
	evhttp_set_cb(f->srv.evh, "/services/oauth2/token", server_token_cb,
	    &f->srv);
	bs = evhttp_bind_socket_with_handle(f->srv.evh, "127.0.0.1", 0);
	if (bs == NULL)
		return -1;
	if (getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&sin, &slen) != 0)
		return -1;
	f->srv.port = ntohs(sin.sin_port);
	/* Wake the loop now and then so the deadlines are checked. */
	f->tick = event_new(f->base, -1, EV_PERSIST, flow_tick, NULL);
	event_add(f->tick, &tv);
	f->auth = flow_auth(f, NULL, f->srv.port);
	*state = f;
	return 0;
}

/* Nothing secret may reach the log, whatever log.c would redact. */
static void
flow_check_log(struct flow *f)
{
	char	*buf;
	long	 n;

	fflush(f->logf);
	n = ftell(f->logf);
	buf = calloc(1, (size_t)n + 1);
	rewind(f->logf);
	assert_int_equal(fread(buf, 1, (size_t)n, f->logf), (size_t)n);
	assert_null(strstr(buf, "tok-"));
	assert_null(strstr(buf, "eyJ"));
	assert_null(strstr(buf, "PRIVATE"));
	if (f->srv.assertion[0] != '\0')
		assert_null(strstr(buf, strrchr(f->srv.assertion, '.')));
	free(buf);
}

static int
flow_teardown(void **state)
{
	struct flow *f = *state;

	if (f == NULL)
		return 0;
	auth_free(f->auth);
	if (f->srv.held != NULL) {
		f->srv.mode = SERVER_OK;
		server_answer(&f->srv, f->srv.held);
		f->srv.held = NULL;
	}
	if (f->http != NULL)
		flow_run_idle(f);
	flow_check_log(f);
	http_free(f->http);
	evhttp_free(f->srv.evh);
	event_free(f->tick);
	event_base_free(f->base);
	log_set_stream(NULL);
	fclose(f->logf);
	free(f);
	return 0;
}

static void
test_flow_fetch_and_cache(void **state)
{
	struct flow	*f = *state;
	struct result	 r1, r2;
	char		 url[64];

	memset(&r1, 0, sizeof r1);
	memset(&r2, 0, sizeof r2);
	auth_get(f->auth, result_cb, &r1);
	assert_int_equal(r1.called, 0);	/* nothing cached: asynchronous */
	flow_run_until(f, &r1.called, 1);
	assert_int_equal(f->srv.bad, 0);
	assert_int_equal(f->srv.fetches, 1);
	assert_false(r1.had_error);
	assert_string_equal(r1.header, "Bearer 00Dxx!tok-1");
	snprintf(url, sizeof url, "http://127.0.0.1:%d", f->srv.port);
	assert_string_equal(r1.url, url);	/* trailing slash dropped */

	/* Cached: the callback comes before auth_get returns. */
	auth_get(f->auth, result_cb, &r2);
	assert_int_equal(r2.called, 1);
	assert_string_equal(r2.header, "Bearer 00Dxx!tok-1");
	assert_string_equal(r2.url, url);
	assert_int_equal(f->srv.fetches, 1);
	assert_int_equal(r1.called, 1);
}

static void
test_flow_concurrent_share(void **state)
{
	struct flow	*f = *state;
	struct result	 r[3];
	int		 i, done = 0;

	memset(r, 0, sizeof r);
	for (i = 0; i < 3; i++)
		auth_get(f->auth, result_cb, &r[i]);
	for (i = 0; i < 3; i++)
		assert_int_equal(r[i].called, 0);
	flow_run_until(f, &r[2].called, 1);
	for (i = 0; i < 3; i++) {
		assert_int_equal(r[i].called, 1);
		assert_string_equal(r[i].header, "Bearer 00Dxx!tok-1");
		done += r[i].called;
	}
	/* In the order they asked. */
	assert_true(r[0].seq < r[1].seq && r[1].seq < r[2].seq);
	assert_int_equal(done, 3);
	assert_int_equal(f->srv.fetches, 1);
	assert_int_equal(f->srv.bad, 0);
}

static void
test_flow_invalidate(void **state)
{
	struct flow	*f = *state;
	struct result	 r, s[3];
	int		 i;

	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	flow_run_until(f, &r.called, 1);
	assert_string_equal(r.header, "Bearer 00Dxx!tok-1");

	/* A header that is not the cached one changes nothing. */
	auth_invalidate(f->auth, "Bearer 00Dxx!tok-0");
	auth_invalidate(f->auth, NULL);
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	assert_int_equal(r.called, 1);
	assert_int_equal(f->srv.fetches, 1);

	/* The current one forces a new fetch. */
	auth_invalidate(f->auth, "Bearer 00Dxx!tok-1");
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	assert_int_equal(r.called, 0);
	flow_run_until(f, &r.called, 1);
	assert_string_equal(r.header, "Bearer 00Dxx!tok-2");
	assert_int_equal(f->srv.fetches, 2);

	/* Three requests rejected with tok-2 at once: one new fetch. */
	memset(s, 0, sizeof s);
	for (i = 0; i < 3; i++) {
		auth_invalidate(f->auth, "Bearer 00Dxx!tok-2");
		auth_get(f->auth, result_cb, &s[i]);
	}
	flow_run_until(f, &s[2].called, 1);
	for (i = 0; i < 3; i++)
		assert_string_equal(s[i].header, "Bearer 00Dxx!tok-3");
	assert_int_equal(f->srv.fetches, 3);

	/* And a late 401 with the old tok-2 keeps tok-3. */
	auth_invalidate(f->auth, "Bearer 00Dxx!tok-2");
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	assert_int_equal(r.called, 1);
	assert_string_equal(r.header, "Bearer 00Dxx!tok-3");
	assert_int_equal(f->srv.bad, 0);
}

static void
test_flow_invalid_grant(void **state)
{
	struct flow	*f = *state;
	struct result	 r;

	f->srv.mode = SERVER_INVALID_GRANT;
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	flow_run_until(f, &r.called, 1);
	assert_false(r.had_header);
	assert_true(r.had_error);
	assert_string_equal(r.error, "token endpoint: HTTP 400 invalid_grant: "
	    "user hasn't approved this consumer");
	assert_true(f->srv.assertion[0] != '\0');
	assert_null(strstr(r.error, f->srv.assertion));
	assert_null(strstr(r.error, "eyJ"));

	/* Not cached: the next auth_get asks again. */
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	assert_int_equal(r.called, 0);
	flow_run_until(f, &r.called, 1);
	assert_true(r.had_error);
	assert_int_equal(f->srv.fetches, 2);

	f->srv.mode = SERVER_OK;
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	flow_run_until(f, &r.called, 1);
	assert_false(r.had_error);
	assert_string_equal(r.header, "Bearer 00Dxx!tok-3");
	assert_int_equal(f->srv.bad, 0);
}

static void
test_flow_error_echo(void **state)
{
	struct flow	*f = *state;
	struct result	 r;

	f->srv.mode = SERVER_ECHO;
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	flow_run_until(f, &r.called, 1);
	assert_true(r.had_error);
	assert_non_null(strstr(r.error, "HTTP 400"));
	assert_null(strstr(r.error, "eyJ"));
	assert_null(strstr(r.error, strrchr(f->srv.assertion, '.') + 1));
	assert_int_equal(f->srv.bad, 0);
}

static void
test_flow_bad_answers(void **state)
{
	struct flow	*f = *state;
	struct result	 r;

	f->srv.mode = SERVER_NOT_JSON;
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	flow_run_until(f, &r.called, 1);
	assert_true(r.had_error);
	assert_false(r.had_header);
	assert_non_null(strstr(r.error, "non-JSON"));
	assert_null(strstr(r.error, "maintenance"));

	f->srv.mode = SERVER_NO_TOKEN;
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	flow_run_until(f, &r.called, 1);
	assert_true(r.had_error);
	assert_non_null(strstr(r.error, "access_token"));
	assert_int_equal(f->srv.fetches, 2);
}

static void
test_flow_server_down(void **state)
{
	struct flow	*f = *state;
	struct result	 r;
	struct sockaddr_in sin;
	socklen_t	 slen = sizeof sin;
	int		 fd, port;

	/* A port that was just free: nobody listens there. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	port = ntohs(sin.sin_port);
	close(fd);

	auth_free(f->auth);
	f->auth = flow_auth(f, NULL, port);
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	flow_run_until(f, &r.called, 1);
	assert_false(r.had_header);
	assert_true(r.had_error);
	assert_int_equal(strncmp(r.error, "token endpoint: ", 16), 0);
	assert_int_equal(f->srv.fetches, 0);
}

static void
test_flow_free_in_flight(void **state)
{
	struct flow	*f = *state;
	struct result	 r[2];

	f->srv.mode = SERVER_HOLD;
	memset(r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r[0]);
	auth_get(f->auth, result_cb, &r[1]);
	flow_run_until(f, &f->srv.fetches, 1);
	assert_non_null(f->srv.held);

	assert_int_equal(http_inflight(f->http), 1);
	auth_free(f->auth);
	f->auth = NULL;
	/* The token request was cancelled with it. */
	assert_int_equal(http_inflight(f->http), 0);
	/* A late answer goes nowhere (libevent frees it if the peer is gone). */
	server_answer(&f->srv, f->srv.held);
	f->srv.held = NULL;
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(r[0].called, 0);
	assert_int_equal(r[1].called, 0);
	assert_int_equal(f->srv.bad, 0);
}

static void
test_flow_free_from_callback(void **state)
{
	struct flow	*f = *state;
	struct result	 r[3];
	int		 i;

	memset(r, 0, sizeof r);
	for (i = 0; i < 3; i++)
		r[i].flow = f;
	r[1].free_auth = 1;
	for (i = 0; i < 3; i++)
		auth_get(f->auth, result_cb, &r[i]);
	flow_run_until(f, &r[1].called, 1);
	assert_int_equal(r[0].called, 1);
	assert_null(f->auth);
	flow_run_idle(f);
	assert_int_equal(r[2].called, 0);
}

static void
test_flow_cancel_and_reenter(void **state)
{
	struct flow	*f = *state;
	struct result	 r[3], again;

	memset(r, 0, sizeof r);
	memset(&again, 0, sizeof again);
	r[0].flow = f;
	r[0].get_again = 1;	/* asks again from its callback: cached */
	r[0].again = &again;
	auth_get(f->auth, result_cb, &r[0]);
	auth_get(f->auth, result_cb, &r[1]);
	auth_get(f->auth, result_cb, &r[2]);
	auth_cancel(f->auth, result_cb, &r[1]);
	flow_run_until(f, &r[2].called, 1);
	assert_int_equal(r[0].called, 1);
	assert_int_equal(r[1].called, 0);
	assert_int_equal(again.called, 1);
	assert_string_equal(again.header, "Bearer 00Dxx!tok-1");
	assert_true(again.seq < r[2].seq);
	assert_int_equal(f->srv.fetches, 1);
	/* Cancelling what is not waiting is harmless. */
	auth_cancel(f->auth, result_cb, &r[1]);
}

static void
test_flow_expiry(void **state)
{
	struct flow	*f = *state;
	struct result	 r;
	struct timespec	 ts = { 1, 200000000 };

	/* expires_in 2: too short for the 60 s margin, so renew at half. */
	f->srv.mode = SERVER_EXPIRES;
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	flow_run_until(f, &r.called, 1);
	assert_string_equal(r.header, "Bearer 00Dxx!tok-1");
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	assert_int_equal(r.called, 1);

	nanosleep(&ts, NULL);
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	assert_int_equal(r.called, 0);
	flow_run_until(f, &r.called, 1);
	assert_string_equal(r.header, "Bearer 00Dxx!tok-2");
	assert_int_equal(f->srv.fetches, 2);
}

static void
test_flow_audience(void **state)
{
	struct flow	*f = *state;
	struct result	 r;

	auth_free(f->auth);
	f->auth = flow_auth(f, "https://test.salesforce.com", f->srv.port);
	f->srv.expect_aud = "https://test.salesforce.com";
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	flow_run_until(f, &r.called, 1);
	assert_false(r.had_error);
	assert_int_equal(f->srv.bad, 0);
}

/* --- ssws, client_credentials, google_service_account (issue 4) ------------ */

#define CC_CLIENT_ID	"app-1234"
#define CC_SECRET	"s3cr3t+/=&value~"
#define SA_EMAIL	"deprov@acme-prj.iam.gserviceaccount.com"
#define SA_SUBJECT	"admin@acme.example"

enum oauth_expect {
	OAUTH_CC_SECRET,	/* client_credentials with client_secret */
	OAUTH_CC_ASSERTION,	/* client_credentials with a client assertion */
	OAUTH_GOOGLE		/* jwt-bearer grant of a service account */
};

/* A second token endpoint (Graph, Okta or Google style) on the flow's evhttp. */
struct oauth_server {
	enum oauth_expect	 expect;
	EVP_PKEY		*pub;
	char			 url[160];	/* its own address: aud */
	const char		*scope;
	const char		*kid;		/* expected "kid", or NULL */
	const char		*x5t_name;	/* "x5t", "x5t#S256" or NULL */
	char			 x5t[128];
	int			 reply;		/* 0 = a token */
	const char		*reply_body;
	int			 fetches;
	int			 bad;
	char			 why[256];
	char			 jti[4][64];
};

static int
oauth_check_claims(struct oauth_server *s, json_object *h, json_object *c)
{
	json_object	*v;
	int64_t		 now = (int64_t)time(NULL), iat, exp;
	const char	*want_iss, *want_sub;

	if (json_str(h, "alg") == NULL || strcmp(json_str(h, "alg"), "RS256") ||
	    json_str(h, "typ") == NULL || strcmp(json_str(h, "typ"), "JWT")) {
		snprintf(s->why, sizeof s->why, "header alg/typ");
		return -1;
	}
	if ((s->kid == NULL) != (json_str(h, "kid") == NULL) ||
	    (s->kid != NULL && strcmp(json_str(h, "kid"), s->kid) != 0)) {
		snprintf(s->why, sizeof s->why, "header kid");
		return -1;
	}
	if (s->x5t_name != NULL && (json_str(h, s->x5t_name) == NULL ||
	    strcmp(json_str(h, s->x5t_name), s->x5t) != 0)) {
		snprintf(s->why, sizeof s->why, "header %s", s->x5t_name);
		return -1;
	}
	if (s->x5t_name == NULL && (json_str(h, "x5t") != NULL ||
	    json_str(h, "x5t#S256") != NULL)) {
		snprintf(s->why, sizeof s->why, "unexpected thumbprint");
		return -1;
	}
	want_iss = s->expect == OAUTH_GOOGLE ? SA_EMAIL : CC_CLIENT_ID;
	want_sub = s->expect == OAUTH_GOOGLE ? SA_SUBJECT : CC_CLIENT_ID;
	if (json_str(c, "iss") == NULL || strcmp(json_str(c, "iss"), want_iss) ||
	    json_str(c, "sub") == NULL || strcmp(json_str(c, "sub"), want_sub) ||
	    json_str(c, "aud") == NULL || strcmp(json_str(c, "aud"), s->url)) {
		snprintf(s->why, sizeof s->why, "iss/sub/aud");
		return -1;
	}
	if (!json_object_object_get_ex(c, "iat", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    (iat = json_object_get_int64(v)) < now - 5 || iat > now + 1 ||
	    !json_object_object_get_ex(c, "exp", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		snprintf(s->why, sizeof s->why, "iat/exp");
		return -1;
	}
	exp = json_object_get_int64(v);
	if (s->expect == OAUTH_GOOGLE) {
		if (exp != iat + 3600 || json_str(c, "scope") == NULL ||
		    strcmp(json_str(c, "scope"), s->scope) != 0 ||
		    json_object_object_get_ex(c, "jti", NULL)) {
			snprintf(s->why, sizeof s->why, "google exp/scope");
			return -1;
		}
		return 0;
	}
	/* Client assertion: at most 5 minutes, nbf, a fresh jti. */
	if (exp <= iat || exp > iat + 300 ||
	    !json_object_object_get_ex(c, "nbf", &v) ||
	    json_object_get_int64(v) != iat || json_str(c, "jti") == NULL ||
	    strlen(json_str(c, "jti")) != 32) {
		snprintf(s->why, sizeof s->why, "exp/nbf/jti");
		return -1;
	}
	if (s->fetches <= 4)
		snprintf(s->jti[s->fetches - 1], sizeof s->jti[0], "%s",
		    json_str(c, "jti"));
	return 0;
}

/* Check one token request the way the real endpoint would. */
static int
oauth_check(struct oauth_server *s, struct evhttp_request *req)
{
	struct evkeyvalq	 form;
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	const char		*ct, *grant, *jwt = NULL;
	json_object		*h = NULL, *c = NULL;
	char			*body;
	size_t			 len = evbuffer_get_length(in);
	int			 rc = -1;

	TAILQ_INIT(&form);
	body = calloc(1, len + 1);
	evbuffer_remove(in, body, len);
	ct = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST || ct == NULL ||
	    strcmp(ct, "application/x-www-form-urlencoded") != 0 ||
	    evhttp_parse_query_str(body, &form) != 0) {
		snprintf(s->why, sizeof s->why, "not a form POST");
		goto done;
	}
	grant = evhttp_find_header(&form, "grant_type");
	switch (s->expect) {
	case OAUTH_CC_SECRET:
	case OAUTH_CC_ASSERTION:
		if (grant == NULL || strcmp(grant, "client_credentials") != 0 ||
		    evhttp_find_header(&form, "client_id") == NULL ||
		    strcmp(evhttp_find_header(&form, "client_id"),
		    CC_CLIENT_ID) != 0 ||
		    evhttp_find_header(&form, "scope") == NULL ||
		    strcmp(evhttp_find_header(&form, "scope"), s->scope) != 0) {
			snprintf(s->why, sizeof s->why, "grant/client_id/scope");
			goto done;
		}
		if (s->expect == OAUTH_CC_SECRET) {
			if (evhttp_find_header(&form, "client_secret") == NULL ||
			    strcmp(evhttp_find_header(&form, "client_secret"),
			    CC_SECRET) != 0 ||
			    evhttp_find_header(&form, "client_assertion") !=
			    NULL) {
				snprintf(s->why, sizeof s->why, "client_secret");
				goto done;
			}
			rc = 0;
			goto done;
		}
		if (evhttp_find_header(&form, "client_secret") != NULL ||
		    evhttp_find_header(&form, "client_assertion_type") == NULL ||
		    strcmp(evhttp_find_header(&form, "client_assertion_type"),
		    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") !=
		    0 || (jwt = evhttp_find_header(&form, "client_assertion")) ==
		    NULL) {
			snprintf(s->why, sizeof s->why, "client_assertion");
			goto done;
		}
		break;
	case OAUTH_GOOGLE:
		if (grant == NULL || strcmp(grant, TEST_GRANT) != 0 ||
		    (jwt = evhttp_find_header(&form, "assertion")) == NULL) {
			snprintf(s->why, sizeof s->why, "grant/assertion");
			goto done;
		}
		break;
	}
	if (jwt_verify(jwt, s->pub, &h, &c, s->why, sizeof s->why) != 0)
		goto done;
	rc = oauth_check_claims(s, h, c);
done:
	evhttp_clear_headers(&form);
	json_object_put(h);
	json_object_put(c);
	free(body);
	return rc;
}

static void
oauth_token_cb(struct evhttp_request *req, void *arg)
{
	struct oauth_server	*s = arg;
	char			 body[512];

	s->fetches++;
	if (oauth_check(s, req) != 0) {
		s->bad++;
		server_reply(req, 400, "{\"error\":\"invalid_request\"}");
		return;
	}
	if (s->reply != 0) {
		server_reply(req, s->reply, s->reply_body);
		return;
	}
	/* Graph answers like this (plus ext_expires_in); instance_url is bait. */
	snprintf(body, sizeof body, "{\"token_type\":\"Bearer\",\"expires_in\":"
	    "3599,\"ext_expires_in\":3599,\"access_token\":\"cc-tok-%d\","
	    "\"instance_url\":\"http://evil.example\"}", s->fetches);
	server_reply(req, 200, body);
}

/* Register the endpoint at path on the flow's server. */
static void
oauth_server_init(struct flow *f, struct oauth_server *s, const char *path,
    enum oauth_expect expect)
{
	memset(s, 0, sizeof *s);
	s->expect = expect;
	s->pub = test_rsa2048;
	snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d%s", f->srv.port,
	    path);
	assert_int_equal(evhttp_set_cb(f->srv.evh, path, oauth_token_cb, s), 0);
}

/* A self-signed certificate for key, as PEM; its DER thumbprint in b64url. */
static char *
make_cert(EVP_PKEY *key, int sha256, char **thumb)
{
	X509		*x = X509_new();
	X509_NAME	*name;
	BIO		*bio = BIO_new(BIO_s_mem());
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	char		*data, *pem;
	long		 n;

	assert_non_null(x);
	assert_non_null(bio);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"deprov-test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	n = BIO_get_mem_data(bio, &data);
	pem = strndup(data, (size_t)n);
	assert_int_equal(X509_digest(x, sha256 ? EVP_sha256() : EVP_sha1(), md,
	    &mdlen), 1);
	assert_int_equal(mdlen, sha256 ? 32 : 20);
	*thumb = auth_b64url_encode(md, mdlen);
	BIO_free(bio);
	X509_free(x);
	return pem;
}

/* Replace the flow's auth with one made from cfg. */
static void
flow_use(struct flow *f, const struct config_auth *cfg)
{
	char err[256] = "";

	auth_free(f->auth);
	f->auth = auth_new(f->http, cfg, err, sizeof err);
	if (f->auth == NULL)
		fail_msg("auth_new: %s", err);
}

/* Nothing in the log may hold s. */
static void
flow_log_lacks(struct flow *f, const char *s)
{
	char	*buf;
	long	 n;

	fflush(f->logf);
	n = ftell(f->logf);
	buf = calloc(1, (size_t)n + 1);
	rewind(f->logf);
	assert_int_equal(fread(buf, 1, (size_t)n, f->logf), (size_t)n);
	fseek(f->logf, 0, SEEK_END);
	if (strstr(buf, s) != NULL)
		fail_msg("the log shows \"%s\"", s);
	free(buf);
}

static void
test_auth_ssws(void **state)
{
	struct config_auth	 cfg;
	struct auth		*a;
	struct result		 r;
	char			 err[256];

	memset(&cfg, 0, sizeof cfg);
	cfg.type = "ssws";
	cfg.token = "00aBcD-efGh_123\n";
	a = auth_new(NULL, &cfg, err, sizeof err);
	assert_non_null(a);
	memset(&r, 0, sizeof r);
	auth_get(a, result_cb, &r);
	assert_int_equal(r.called, 1);
	assert_string_equal(r.header, "SSWS 00aBcD-efGh_123");
	assert_string_equal(r.url, "");
	auth_invalidate(a, "SSWS 00aBcD-efGh_123");	/* static: no-op */
	memset(&r, 0, sizeof r);
	auth_get(a, result_cb, &r);
	assert_string_equal(r.header, "SSWS 00aBcD-efGh_123");
	auth_free(a);

	cfg.token = "00ab cd";
	assert_null(auth_new(NULL, &cfg, err, sizeof err));
	assert_non_null(strstr(err, "ssws token"));
	assert_null(strstr(err, "00ab"));
	cfg.token = NULL;
	assert_null(auth_new(NULL, &cfg, err, sizeof err));
}

static void
test_auth_new_checks(void **state)
{
	struct config_auth	 cfg;
	struct http		*fake = (struct http *)&cfg;	/* never used */
	EVP_PKEY		*other;
	char			 err[256], *cert, *thumb;

	memset(&cfg, 0, sizeof cfg);
	cfg.type = "client_credentials";
	cfg.client_id = CC_CLIENT_ID;
	cfg.token_url = "https://login.microsoftonline.com/t/oauth2/v2.0/token";
	cfg.scope = "https://graph.microsoft.com/.default";
	assert_null(auth_new(fake, &cfg, err, sizeof err));
	assert_non_null(strstr(err, "client secret or a private key"));
	cfg.client_secret = CC_SECRET;
	assert_null(auth_new(NULL, &cfg, err, sizeof err));
	assert_non_null(strstr(err, "HTTP client"));
	cfg.private_key_pem = test_pem_pkcs8;
	assert_null(auth_new(fake, &cfg, err, sizeof err));
	assert_non_null(strstr(err, "either"));
	cfg.client_secret = NULL;
	cfg.private_key_pem = "garbage";
	assert_null(auth_new(fake, &cfg, err, sizeof err));
	assert_non_null(strstr(err, "unreadable"));

	/* A certificate of another key is refused; so is a broken one. */
	other = EVP_RSA_gen(2048);
	assert_non_null(other);
	cert = make_cert(other, 0, &thumb);
	cfg.private_key_pem = test_pem_pkcs8;
	cfg.certificate_pem = cert;
	assert_null(auth_new(fake, &cfg, err, sizeof err));
	assert_string_equal(err, "the certificate does not belong to the "
	    "private key");
	cfg.certificate_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----\n";
	assert_null(auth_new(fake, &cfg, err, sizeof err));
	assert_non_null(strstr(err, "certificate unreadable"));
	free(cert);
	free(thumb);
	EVP_PKEY_free(other);

	memset(&cfg, 0, sizeof cfg);
	cfg.type = "google_service_account";
	cfg.client_email = SA_EMAIL;
	cfg.token_url = "https://oauth2.googleapis.com/token";
	cfg.scope = "https://www.googleapis.com/auth/admin.directory.user";
	cfg.private_key_pem = test_pem_pkcs8;
	assert_null(auth_new(fake, &cfg, err, sizeof err));
	assert_non_null(strstr(err, "subject"));
}

/* Graph with a client secret: form fields, caching, errors, no leaks. */
static void
test_flow_cc_secret(void **state)
{
	struct flow		*f = *state;
	struct oauth_server	 s;
	struct config_auth	 cfg;
	struct result		 r;

	oauth_server_init(f, &s, "/t/oauth2/v2.0/token", OAUTH_CC_SECRET);
	s.scope = "https://graph.microsoft.com/.default";
	memset(&cfg, 0, sizeof cfg);
	cfg.type = "client_credentials";
	cfg.client_id = CC_CLIENT_ID;
	cfg.client_secret = CC_SECRET;
	cfg.token_url = s.url;
	cfg.scope = (char *)s.scope;
	flow_use(f, &cfg);

	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	assert_int_equal(r.called, 0);
	flow_run_until(f, &r.called, 1);
	if (s.bad)
		fail_msg("endpoint: %s", s.why);
	assert_string_equal(r.header, "Bearer cc-tok-1");
	assert_string_equal(r.url, "");		/* instance_url ignored */
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	assert_int_equal(r.called, 1);		/* cached (expires_in 3599) */
	assert_int_equal(s.fetches, 1);

	/* The endpoint's error in plain words. */
	auth_invalidate(f->auth, "Bearer cc-tok-1");
	s.reply = 401;
	s.reply_body = "{\"error\":\"invalid_client\",\"error_description\":"
	    "\"AADSTS7000215: Invalid client secret provided.\\r\\nTrace ID: "
	    "x\",\"error_codes\":[7000215]}";
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	flow_run_until(f, &r.called, 1);
	assert_string_equal(r.error, "token endpoint: HTTP 401 invalid_client: "
	    "AADSTS7000215: Invalid client secret provided.  Trace ID: x");
	/* One that echoes the secret is not repeated. */
	s.reply_body = "{\"error\":\"invalid_client\",\"error_description\":"
	    "\"secret " CC_SECRET " is wrong\"}";
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	flow_run_until(f, &r.called, 1);
	assert_string_equal(r.error, "token endpoint: HTTP 401 (redacted)");
	assert_int_equal(s.bad, 0);
	flow_log_lacks(f, CC_SECRET);
	flow_log_lacks(f, "s3cr3t");
}

/* Okta/Graph with a private key: signed client assertion, kid, x5t. */
static void
test_flow_cc_assertion(void **state)
{
	struct flow		*f = *state;
	struct oauth_server	 s;
	struct config_auth	 cfg;
	struct result		 r;
	char			*cert, *thumb;
	int			 sha256;

	for (sha256 = 0; sha256 < 2; sha256++) {
		oauth_server_init(f, &s, sha256 ? "/oauth2/v1/token2" :
		    "/oauth2/v1/token", OAUTH_CC_ASSERTION);
		s.scope = "okta.users.manage okta.sessions.manage";
		s.kid = sha256 ? "kid-7" : NULL;
		s.x5t_name = sha256 ? "x5t#S256" : "x5t";
		cert = make_cert(test_rsa2048, sha256, &thumb);
		snprintf(s.x5t, sizeof s.x5t, "%s", thumb);
		memset(&cfg, 0, sizeof cfg);
		cfg.type = "client_credentials";
		cfg.client_id = CC_CLIENT_ID;
		cfg.private_key_pem = test_pem_rsa;
		cfg.certificate_pem = cert;
		cfg.x5t_s256 = sha256;
		cfg.key_id = (char *)s.kid;
		cfg.token_url = s.url;
		cfg.scope = (char *)s.scope;
		flow_use(f, &cfg);

		memset(&r, 0, sizeof r);
		auth_get(f->auth, result_cb, &r);
		flow_run_until(f, &r.called, 1);
		if (s.bad)
			fail_msg("endpoint: %s", s.why);
		assert_string_equal(r.header, "Bearer cc-tok-1");
		/* A new assertion for every fetch: a new jti. */
		auth_invalidate(f->auth, "Bearer cc-tok-1");
		memset(&r, 0, sizeof r);
		auth_get(f->auth, result_cb, &r);
		flow_run_until(f, &r.called, 1);
		assert_string_equal(r.header, "Bearer cc-tok-2");
		assert_int_equal(s.bad, 0);
		assert_string_not_equal(s.jti[0], s.jti[1]);
		free(cert);
		free(thumb);
	}

	/* A thumbprint given as is, without a certificate. */
	oauth_server_init(f, &s, "/oauth2/v1/token3", OAUTH_CC_ASSERTION);
	s.scope = "okta.users.manage";
	s.x5t_name = "x5t";
	snprintf(s.x5t, sizeof s.x5t, "hOBcHZi846VCHSJbFAs26Go9VTQ");
	memset(&cfg, 0, sizeof cfg);
	cfg.type = "client_credentials";
	cfg.client_id = CC_CLIENT_ID;
	cfg.private_key_pem = test_pem_pkcs8;
	cfg.x5t = s.x5t;
	cfg.token_url = s.url;
	cfg.scope = (char *)s.scope;
	cfg.token_ttl_s = 60;
	flow_use(f, &cfg);
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	flow_run_until(f, &r.called, 1);
	if (s.bad)
		fail_msg("endpoint: %s", s.why);
	assert_string_equal(r.header, "Bearer cc-tok-1");
}

/* Google: service account assertion with sub and scope, expires_in honoured. */
static void
test_flow_google(void **state)
{
	struct flow		*f = *state;
	struct oauth_server	 s;
	struct config_auth	 cfg;
	struct result		 r;

	oauth_server_init(f, &s, "/token", OAUTH_GOOGLE);
	s.scope = "https://www.googleapis.com/auth/admin.directory.user "
	    "https://www.googleapis.com/auth/admin.datatransfer";
	s.kid = "0123abcd";
	memset(&cfg, 0, sizeof cfg);
	cfg.type = "google_service_account";
	cfg.client_email = SA_EMAIL;
	cfg.subject = SA_SUBJECT;
	cfg.scope = (char *)s.scope;
	cfg.key_id = (char *)s.kid;
	cfg.private_key_pem = test_pem_pkcs8;
	cfg.token_url = s.url;
	flow_use(f, &cfg);
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	flow_run_until(f, &r.called, 1);
	if (s.bad)
		fail_msg("endpoint: %s", s.why);
	assert_string_equal(r.header, "Bearer cc-tok-1");
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	assert_int_equal(r.called, 1);
	assert_int_equal(s.fetches, 1);

	/* Google's refusal of a subject the account may not impersonate. */
	auth_invalidate(f->auth, "Bearer cc-tok-1");
	s.reply = 401;
	s.reply_body = "{\"error\":\"unauthorized_client\",\"error_description\":"
	    "\"Client is unauthorized to retrieve access tokens using this "
	    "method, or client not authorized for any of the scopes "
	    "requested.\"}";
	memset(&r, 0, sizeof r);
	auth_get(f->auth, result_cb, &r);
	flow_run_until(f, &r.called, 1);
	assert_non_null(strstr(r.error, "token endpoint: HTTP 401 "
	    "unauthorized_client: Client is unauthorized"));
	assert_int_equal(s.bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_vectors),
		cmocka_unit_test(test_b64url_reject),
		cmocka_unit_test(test_b64url_roundtrip),
		cmocka_unit_test(test_jwt_sign_verify),
		cmocka_unit_test(test_jwt_tampered),
		cmocka_unit_test(test_jwt_bad_keys),
		cmocka_unit_test(test_auth_static),
		cmocka_unit_test(test_auth_jwt_config),
		cmocka_unit_test(test_auth_ssws),
		cmocka_unit_test(test_auth_new_checks),
#define FLOW(t) cmocka_unit_test_setup_teardown(t, flow_setup, flow_teardown)
		FLOW(test_flow_fetch_and_cache),
		FLOW(test_flow_concurrent_share),
		FLOW(test_flow_invalidate),
		FLOW(test_flow_invalid_grant),
		FLOW(test_flow_error_echo),
		FLOW(test_flow_bad_answers),
		FLOW(test_flow_server_down),
		FLOW(test_flow_free_in_flight),
		FLOW(test_flow_free_from_callback),
		FLOW(test_flow_cancel_and_reenter),
		FLOW(test_flow_expiry),
		FLOW(test_flow_audience),
		FLOW(test_flow_cc_secret),
		FLOW(test_flow_cc_assertion),
		FLOW(test_flow_google),
#undef FLOW
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
