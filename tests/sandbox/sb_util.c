/*
 * sb_util.c: the small data structures deprov-sandbox is built from: an open-addressing hash
 * multimap keyed by strings the values own, a size-capped growable output buffer with JSON
 * string escaping, URL and form decoding, clocks and Salesforce id helpers; JSON member and
 * base64url readers; and what every surface does with a request: split its path, read its
 * body and Authorization header, answer an OAuth error.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "sandbox.h"

static uint64_t map_hash(const struct sb_map *m, const char *key);
static int map_keyeq(const struct sb_map *m, const char *a, const char *b);
static int map_grow(struct sb_map *m);
static int buf_reserve(struct sb_buf *b, size_t more);
static void buf_release(const void *data, size_t len, void *arg);
static int hexval(int c);
static int b64val(int c, int lenient);

/* FNV-1a over the key (lower-cased when the map is case-insensitive), then a final mix. */
static uint64_t
map_hash(const struct sb_map *m, const char *key)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; key[i] != '\0' && (m->keylen == 0 || i < m->keylen); i++) {
		unsigned char ch = (unsigned char)key[i];
		if (m->ci)
			ch = (unsigned char)tolower(ch);
		h ^= ch;
		h *= 1099511628211ULL;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return h;
}

static int
map_keyeq(const struct sb_map *m, const char *a, const char *b)
{
	if (m->keylen > 0)
		return m->ci ? strncasecmp(a, b, m->keylen) == 0 : strncmp(a, b, m->keylen) == 0;
	return m->ci ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

void
sb_map_init(struct sb_map *m, int ci, size_t keylen)
{
	memset(m, 0, sizeof *m);
	m->ci = ci;
	m->keylen = keylen;
}

void
sb_map_free(struct sb_map *m)
{
	free(m->ents);
	m->ents = NULL;
	m->cap = m->count = 0;
}

/* Double the table (load factor stays at or under one half). */
static int
map_grow(struct sb_map *m)
{
	size_t ncap = m->cap == 0 ? 16 : m->cap * 2, i;
	struct sb_map_ent *nents = calloc(ncap, sizeof *nents);

	if (nents == NULL)
		return -1;
	for (i = 0; i < m->cap; i++) {
		size_t j;
		if (m->ents[i].key == NULL)
			continue;
		j = (size_t)m->ents[i].hash & (ncap - 1);
		while (nents[j].key != NULL)
			j = (j + 1) & (ncap - 1);
		nents[j] = m->ents[i];
	}
	free(m->ents);
	m->ents = nents;
	m->cap = ncap;
	return 0;
}

int
sb_map_put(struct sb_map *m, const char *key, void *val)
{
	uint64_t h;
	size_t j;

	if ((m->count + 1) * 2 > m->cap && map_grow(m) == -1)
		return -1;
	h = map_hash(m, key);
	j = (size_t)h & (m->cap - 1);
	while (m->ents[j].key != NULL)
		j = (j + 1) & (m->cap - 1);
	m->ents[j].hash = h;
	m->ents[j].key = key;
	m->ents[j].val = val;
	m->count++;
	return 0;
}

void *
sb_map_next(const struct sb_map *m, const char *key, size_t *pos)
{
	uint64_t h;
	size_t j, probes;

	if (m->cap == 0)
		return NULL;
	h = map_hash(m, key);
	/* *pos counts the probes already made from the home slot */
	for (probes = *pos; probes < m->cap; probes++) {
		j = ((size_t)h + probes) & (m->cap - 1);
		if (m->ents[j].key == NULL)
			break;
		if (m->ents[j].hash == h && map_keyeq(m, m->ents[j].key, key)) {
			*pos = probes + 1;
			return m->ents[j].val;
		}
	}
	*pos = m->cap;
	return NULL;
}

void *
sb_map_get(const struct sb_map *m, const char *key)
{
	size_t pos = 0;

	return sb_map_next(m, key, &pos);
}

int
sb_map_del(struct sb_map *m, const char *key, const void *val)
{
	uint64_t h;
	size_t i, j, k, mask;

	if (m->cap == 0)
		return -1;
	mask = m->cap - 1;
	h = map_hash(m, key);
	for (i = (size_t)h & mask;; i = (i + 1) & mask) {
		if (m->ents[i].key == NULL)
			return -1;
		if (m->ents[i].hash == h && map_keyeq(m, m->ents[i].key, key) &&
		    (val == NULL || m->ents[i].val == val))
			break;
	}
	/* backward-shift deletion keeps every probe run unbroken */
	j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (m->ents[j].key == NULL)
			break;
		k = (size_t)m->ents[j].hash & mask;
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			m->ents[i] = m->ents[j];
			i = j;
		}
	}
	memset(&m->ents[i], 0, sizeof m->ents[i]);
	m->count--;
	return 0;
}

struct sb_map_ent *
sb_map_iter(const struct sb_map *m, size_t *pos)
{
	while (*pos < m->cap) {
		struct sb_map_ent *e = &m->ents[(*pos)++];
		if (e->key != NULL)
			return e;
	}
	return NULL;
}

/* Make room for more bytes plus a terminating NUL. */
static int
buf_reserve(struct sb_buf *b, size_t more)
{
	size_t need, ncap;
	char *np;

	if (b->oom)
		return -1;
	need = b->len + more + 1;
	if (need <= b->cap)
		return 0;
	if (need > SB_MAX_OUT)
		goto fail;
	ncap = b->cap == 0 ? 256 : b->cap;
	while (ncap < need)
		ncap *= 2;
	np = realloc(b->p, ncap);
	if (np == NULL)
		goto fail;
	b->p = np;
	b->cap = ncap;
	return 0;
fail:
	b->oom = 1;
	return -1;
}

void
sb_buf_put(struct sb_buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) == -1)
		return;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void
sb_buf_puts(struct sb_buf *b, const char *s)
{
	sb_buf_put(b, s, strlen(s));
}

void
sb_buf_putc(struct sb_buf *b, char c)
{
	if (buf_reserve(b, 1) == -1)
		return;
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

void
sb_buf_printf(struct sb_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (buf_reserve(b, 64) == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = 1;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (buf_reserve(b, (size_t)n) == -1)
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
	}
	b->len += (size_t)n;
}

void
sb_buf_jstrn(struct sb_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	sb_buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		sb_buf_put(b, s + run, i - run);
		run = i + 1;
		switch (ch) {
		case '"': sb_buf_puts(b, "\\\""); break;
		case '\\': sb_buf_puts(b, "\\\\"); break;
		case '\n': sb_buf_puts(b, "\\n"); break;
		case '\r': sb_buf_puts(b, "\\r"); break;
		case '\t': sb_buf_puts(b, "\\t"); break;
		default: {
			char esc[7] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15], '\0' };
			sb_buf_puts(b, esc);
		}
		}
	}
	sb_buf_put(b, s + run, n - run);
	sb_buf_putc(b, '"');
}

void
sb_buf_jstr(struct sb_buf *b, const char *s)
{
	if (s == NULL)
		sb_buf_puts(b, "null");
	else
		sb_buf_jstrn(b, s, strlen(s));
}

void
sb_buf_free(struct sb_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

static void
buf_release(const void *data, size_t len, void *arg)
{
	free((void *)(uintptr_t)data);
}

int
sb_buf_to_evbuffer(struct sb_buf *b, struct evbuffer *out)
{
	if (b->len == 0) {
		sb_buf_free(b);
		return 0;
	}
	if (evbuffer_add_reference(out, b->p, b->len, buf_release, NULL) == -1) {
		sb_buf_free(b);
		return -1;
	}
	memset(b, 0, sizeof *b); /* the evbuffer owns the bytes now */
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
sb_url_decode(const char *s, size_t len, int plus)
{
	char *out = malloc(len + 1), *o;
	size_t i;

	if (out == NULL)
		return NULL;
	o = out;
	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;
			if (i + 2 >= len)
				goto fail;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				goto fail;
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else if (s[i] == '+' && plus) {
			*o++ = ' ';
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
fail:
	free(out);
	return NULL;
}

int
sb_form_parse(struct sb_form *f, const char *s, size_t len)
{
	size_t i = 0;

	memset(f, 0, sizeof *f);
	while (i < len) {
		size_t end = i, eq;
		struct sb_kv *nkv;
		char *k = NULL, *v = NULL;

		while (end < len && s[end] != '&')
			end++;
		if (end == i) {
			i = end + 1;
			continue;
		}
		for (eq = i; eq < end && s[eq] != '='; eq++)
			;
		k = sb_url_decode(s + i, eq - i, 1);
		v = eq < end ? sb_url_decode(s + eq + 1, end - eq - 1, 1) : sb_strdup("");
		nkv = realloc(f->kv, (f->n + 1) * sizeof *nkv);
		if (k == NULL || v == NULL || nkv == NULL) {
			free(k);
			free(v);
			if (nkv != NULL)
				f->kv = nkv;
			sb_form_free(f);
			return -1;
		}
		f->kv = nkv;
		f->kv[f->n].key = k;
		f->kv[f->n].val = v;
		f->n++;
		i = end + 1;
	}
	return 0;
}

const char *
sb_form_get(const struct sb_form *f, const char *key)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->kv[i].key, key) == 0)
			return f->kv[i].val;
	return NULL;
}

void
sb_form_free(struct sb_form *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->kv[i].key);
		free(f->kv[i].val);
	}
	free(f->kv);
	memset(f, 0, sizeof *f);
}

int64_t
sb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
sb_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
sb_strdup(const char *s)
{
	return s == NULL ? NULL : sb_strndup(s, strlen(s));
}

char *
sb_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int
sb_id_valid(const char *s)
{
	size_t n = 0;

	for (n = 0; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]))
			return 0;
	return n == 15 || n == 18;
}

int
sb_id_eq(const char *a, const char *b)
{
	return sb_id_valid(a) && sb_id_valid(b) && strncmp(a, b, SB_ID_KEYLEN) == 0;
}

struct json_object *
sb_json_parse(const char *s, size_t len, char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	struct json_object *obj = NULL;
	enum json_tokener_error jerr;

	if (tok == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (len > (size_t)INT32_MAX) {
		snprintf(err, errlen, "document too large");
		goto done;
	}
	obj = json_tokener_parse_ex(tok, s, (int)len);
	jerr = json_tokener_get_error(tok);
	if (obj == NULL || jerr != json_tokener_success) {
		if (jerr == json_tokener_continue)
			snprintf(err, errlen, "Unexpected end-of-input at [line:1, column:%zu]",
			    len + 1);
		else
			snprintf(err, errlen, "Unexpected character at [line:1, column:%zu]: %s",
			    json_tokener_get_parse_end(tok) + 1, json_tokener_error_desc(jerr));
		json_object_put(obj);
		obj = NULL;
		goto done;
	}
	/* only whitespace may follow the document */
	{
		size_t end = json_tokener_get_parse_end(tok);
		while (end < len && isspace((unsigned char)s[end]))
			end++;
		if (end < len) {
			snprintf(err, errlen, "Unexpected character at [line:1, column:%zu]",
			    end + 1);
			json_object_put(obj);
			obj = NULL;
		}
	}
done:
	json_tokener_free(tok);
	return obj;
}

/* ---- JSON members ---------------------------------------------------------------------- */

const char *
sb_jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int
sb_jbool(struct json_object *o, const char *key, int dflt)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return dflt;
	if (!json_object_is_type(v, json_type_boolean))
		return -1;
	return json_object_get_boolean(v);
}

int64_t
sb_jint(struct json_object *o, const char *key, int64_t dflt, int64_t max)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return dflt;
	if (!json_object_is_type(v, json_type_int) || (n = json_object_get_int64(v)) < 0 || n > max)
		return -1;
	return n;
}

int
sb_jint_in(struct json_object *o, const char *what, const char *key, int64_t min, int64_t max,
    int64_t dflt, int64_t *out, char *err, size_t errlen)
{
	struct json_object *v;

	*out = dflt;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < min ||
	    json_object_get_int64(v) > max) {
		snprintf(err, errlen, "%s: %s must be a number %" PRId64 "..%" PRId64, what, key,
		    min, max);
		return -1;
	}
	*out = json_object_get_int64(v);
	return 0;
}

/* ---- base64url ------------------------------------------------------------------------- */

/* The value of a base64url digit ('+' and '/' too when lenient), or -1. */
static int
b64val(int c, int lenient)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-' || (lenient && c == '+'))
		return 62;
	if (c == '_' || (lenient && c == '/'))
		return 63;
	return -1;
}

int
sb_b64url_decode(const char *s, size_t len, int lenient, unsigned char **out, size_t *outlen)
{
	unsigned char *o;
	uint32_t acc = 0;
	int bits = 0, v;
	size_t i, k = 0;

	while (len > 0 && s[len - 1] == '=')
		len--;
	if ((o = malloc(len * 3 / 4 + 3)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b64val((unsigned char)s[i], lenient)) == -1) {
			free(o);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[k++] = (unsigned char)(acc >> bits);
		}
	}
	if (len % 4 == 1) {
		free(o);
		return -1;
	}
	o[k] = '\0';
	*out = o;
	*outlen = k;
	return 0;
}

struct json_object *
sb_b64url_json(const char *s, size_t len, int lenient)
{
	unsigned char *raw = NULL;
	size_t n;
	char err[128];
	struct json_object *obj;

	if (sb_b64url_decode(s, len, lenient, &raw, &n) == -1)
		return NULL;
	obj = sb_json_parse((const char *)raw, n, err, sizeof err);
	free(raw);
	if (obj != NULL && !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

int
sb_jwt_rs256(EVP_PKEY *key, const char *jwt, const char *d2, int lenient)
{
	unsigned char *sig = NULL;
	size_t siglen = 0;
	EVP_MD_CTX *md = NULL;
	int rc = -2;

	if (sb_b64url_decode(d2 + 1, strlen(d2 + 1), lenient, &sig, &siglen) == -1)
		return -1;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt, (size_t)(d2 - jwt)) != 1)
		ERR_clear_error();
	else
		rc = 0;
	EVP_MD_CTX_free(md);
	free(sig);
	return rc;
}

/* ---- seeds ----------------------------------------------------------------------------- */

int
sb_gen_flag(struct json_object *gen, const char *key, struct json_object **opts, char *err,
    size_t errlen)
{
	struct json_object *v;

	*opts = NULL;
	if (!json_object_object_get_ex(gen, key, &v) ||
	    (json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v)))
		return 0;
	if (!json_object_is_type(v, json_type_boolean) && !json_object_is_type(v,
	    json_type_object)) {
		snprintf(err, errlen, "generate.%s must be true or an object", key);
		return -1;
	}
	if (json_object_is_type(v, json_type_object))
		*opts = v;
	return 1;
}

/* ---- requests -------------------------------------------------------------------------- */

int
sb_path_split(const char *path, struct sb_path *p, size_t max)
{
	const char *s = path;

	memset(p, 0, sizeof *p);
	if (max > SB_PATH_MAX)
		max = SB_PATH_MAX;
	while (*s == '/')
		s++;
	while (*s != '\0') {
		const char *e = strchr(s, '/');
		size_t len = e != NULL ? (size_t)(e - s) : strlen(s);

		if (p->n == max || (p->seg[p->n] = sb_url_decode(s, len, 0)) == NULL) {
			sb_path_free(p);
			return -1;
		}
		p->n++;
		s += len;
		while (*s == '/')
			s++;
	}
	return 0;
}

void
sb_path_free(struct sb_path *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->seg[i]);
	p->n = 0;
}

const char *
sb_call_body(struct sb_call *c, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	const char *p;

	*len = evbuffer_get_length(in);
	if (*len == 0)
		return "";
	p = (const char *)evbuffer_pullup(in, -1);
	return p != NULL ? p : "";
}

const char *
sb_auth_param(struct sb_call *c, const char *scheme)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(c->req),
	    "Authorization");
	size_t n = strlen(scheme);

	if (h == NULL || strncasecmp(h, scheme, n) != 0 || h[n] != ' ')
		return NULL;
	h += n + 1;
	while (*h == ' ')
		h++;
	return h;
}

const char *
sb_bearer(struct sb_call *c)
{
	const char *h = sb_auth_param(c, "Bearer");

	return h != NULL && *h != '\0' ? h : NULL;
}

int
sb_static_bearer(struct sb_call *c)
{
	const char *tok = sb_bearer(c);
	struct sb_session *s;

	if (tok == NULL || (s = sb_map_get(&c->sb->sessions, tok)) == NULL)
		return 0;
	return s->expires_ms == 0;
}

/* ---- answers --------------------------------------------------------------------------- */

void
sb_oauth_error(struct sb_call *c, int status, const char *ctype, const char *error,
    const char *desc)
{
	c->status = status;
	c->ctype = ctype;
	c->body.len = 0;
	sb_buf_puts(&c->body, "{\"error\":");
	sb_buf_jstr(&c->body, error);
	sb_buf_puts(&c->body, ",\"error_description\":");
	sb_buf_jstr(&c->body, desc);
	sb_buf_putc(&c->body, '}');
}
