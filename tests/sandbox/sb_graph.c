/*
 * sb_graph.c: the Microsoft Graph surface of deprov-sandbox, under /graph/: Entra ID users
 * (GET by id or userPrincipalName, also the users('...') form; GET /users with a one-clause
 * $filter; $select; PATCH accountEnabled; POST revokeSignInSessions), the Microsoft identity
 * platform token endpoint (/graph/{tenant}/oauth2/v2.0/token, client credentials with a client
 * secret or an RS256 client assertion), Graph's error bodies {"error":{"code","message",
 * "innerError"}} and the throttling answer (429 + Retry-After). It also holds what the Graph
 * and Google surfaces share: issued access tokens and RS256 JWT verification.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/rand.h>

#include "sandbox.h"

#define GR_MAX_SEGS 8
#define GR_ID_LEN 36
#define GR_CTX "https://graph.microsoft.com/v1.0/$metadata#"
#define GR_SCOPE ".default"
#define GR_RESOURCE "https://graph.microsoft.com/"
#define GR_PAGE_DEFAULT 100
#define GR_PAGE_MAX 999

struct gr_user {
	char id[GR_ID_LEN + 1];
	char *upn;
	char *mail;
	char *employee_id;
	char *display_name;
	int enabled;
	int64_t sessions;      /* sign-in sessions (refresh tokens) still valid */
	int64_t valid_from_ms; /* signInSessionsValidFromDateTime */
};

struct sb_graph {
	struct gr_user **users; /* creation order */
	size_t n, cap;
	struct sb_map by_id;  /* case-insensitive GUID */
	struct sb_map by_upn; /* case-insensitive */
	uint64_t next_id;
};

/* One property a user has, in Graph's order. */
struct gr_prop {
	const char *name;
	int dflt; /* in the default property set (no $select) */
};

static const struct gr_prop gr_props[] = {
	{ "businessPhones", 1 }, { "displayName", 1 }, { "givenName", 1 }, { "jobTitle", 1 },
	{ "mail", 1 }, { "mobilePhone", 1 }, { "officeLocation", 1 }, { "preferredLanguage", 1 },
	{ "surname", 1 }, { "userPrincipalName", 1 }, { "id", 1 }, { "accountEnabled", 0 },
	{ "employeeId", 0 }, { "signInSessionsValidFromDateTime", 0 },
};
#define GR_NPROPS (sizeof gr_props / sizeof gr_props[0])

static void gr_error(struct sb_call *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void gr_oauth_error(struct sb_call *c, int status, const char *error, int aadsts,
    const char *desc);
static struct sb_graph *gr_state(struct sb_org *org, int create);
static struct gr_user *gr_add(struct sb_graph *g, const char *id, const char *upn,
    const char *mail, const char *emp, const char *name, int enabled, int64_t sessions,
    char *err, size_t errlen);
static void gr_user_free(struct gr_user *u);
static int gr_guid_valid(const char *s);
static struct gr_user *gr_lookup(struct sb_graph *g, const char *key);
static const char *gr_key_of(const char *seg, char *buf, size_t buflen, int *paren);
static int gr_auth(struct sb_call *c);
static int gr_select(struct sb_call *c, const char *sel, unsigned *mask);
static void gr_user_json(struct sb_buf *b, const struct gr_user *u, unsigned mask);
static void gr_iso(struct sb_buf *b, int64_t ms);
static void gr_state_user(const struct gr_user *u, struct sb_buf *b);
static void gr_ctx(struct sb_buf *b, const char *sel, int entity);
static void gr_users_get(struct sb_call *c, struct sb_form *q);
static void gr_user_get(struct sb_call *c, struct gr_user *u, struct sb_form *q);
static void gr_user_patch(struct sb_call *c, struct gr_user *u);
static void gr_revoke(struct sb_call *c, struct gr_user *u);
static void gr_token(struct sb_call *c, const char *tenant);
static int gr_filter(const char *f, char *prop, size_t proplen, char **lit, char *why,
    size_t whylen);
static int gr_match(const struct gr_user *u, const char *prop, const char *lit);

/* ---- paths, errors, state ------------------------------------------------------------- */

/* A random-looking but reproducible GUID for innerError ids. */
static void
gr_guid(char *out, size_t outlen, uint64_t n)
{
	snprintf(out, outlen, "%08" PRIx64 "-0000-4000-8000-%012" PRIx64,
	    (n * 2654435761u) & 0xffffffffu, (uint64_t)(n % 1000000000000ULL));
}

/* {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}} */
static void
gr_error(struct sb_call *c, int status, const char *code, const char *fmt, ...)
{
	char msg[512], rid[48];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	gr_guid(rid, sizeof rid, c->sb->log.next_seq);
	c->status = status;
	c->ctype = "application/json";
	c->body.len = 0;
	sb_buf_puts(&c->body, "{\"error\":{\"code\":");
	sb_buf_jstr(&c->body, code);
	sb_buf_puts(&c->body, ",\"message\":");
	sb_buf_jstr(&c->body, msg);
	sb_buf_puts(&c->body, ",\"innerError\":{\"date\":\"");
	gr_iso(&c->body, sb_now_ms());
	sb_buf_printf(&c->body, "\",\"request-id\":\"%s\",\"client-request-id\":\"%s\"}}}", rid,
	    rid);
	if (status == 401)
		evhttp_add_header(evhttp_request_get_output_headers(c->req), "WWW-Authenticate",
		    "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/"
		    "common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"");
}

/* The identity platform's error: {"error","error_description","error_codes",...}. */
static void
gr_oauth_error(struct sb_call *c, int status, const char *error, int aadsts, const char *desc)
{
	char d[600];

	snprintf(d, sizeof d, "AADSTS%d: %s", aadsts, desc);
	c->status = status;
	c->ctype = "application/json; charset=utf-8";
	c->body.len = 0;
	sb_buf_puts(&c->body, "{\"error\":");
	sb_buf_jstr(&c->body, error);
	sb_buf_puts(&c->body, ",\"error_description\":");
	sb_buf_jstr(&c->body, d);
	sb_buf_printf(&c->body, ",\"error_codes\":[%d],\"timestamp\":\"", aadsts);
	gr_iso(&c->body, sb_now_ms());
	sb_buf_puts(&c->body, "\",\"trace_id\":\"00000000-0000-4000-8000-000000000001\","
	    "\"correlation_id\":\"00000000-0000-4000-8000-000000000002\"}");
}

static struct sb_graph *
gr_state(struct sb_org *org, int create)
{
	struct sb_graph *g = org->graph;

	if (g != NULL || !create)
		return g;
	if ((g = calloc(1, sizeof *g)) == NULL)
		return NULL;
	sb_map_init(&g->by_id, 1, 0);
	sb_map_init(&g->by_upn, 1, 0);
	org->graph = g;
	return g;
}

static void
gr_user_free(struct gr_user *u)
{
	if (u == NULL)
		return;
	free(u->upn);
	free(u->mail);
	free(u->employee_id);
	free(u->display_name);
	free(u);
}

void
graph_free(struct sb_graph *g)
{
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < g->n; i++)
		gr_user_free(g->users[i]);
	free(g->users);
	sb_map_free(&g->by_id);
	sb_map_free(&g->by_upn);
	free(g);
}

/* 8-4-4-4-12 hex digits. */
static int
gr_guid_valid(const char *s)
{
	size_t i;

	if (strlen(s) != GR_ID_LEN)
		return 0;
	for (i = 0; i < GR_ID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

static struct gr_user *
gr_add(struct sb_graph *g, const char *id, const char *upn, const char *mail, const char *emp,
    const char *name, int enabled, int64_t sessions, char *err, size_t errlen)
{
	struct gr_user *u = NULL, **nu;
	char gen[GR_ID_LEN + 1];

	if (upn == NULL || strchr(upn, '@') == NULL) {
		snprintf(err, errlen, "graph users need a userPrincipalName with an @");
		return NULL;
	}
	if (id == NULL) {
		do {
			g->next_id++;
			snprintf(gen, sizeof gen, "00000000-0000-4000-8000-%012" PRIu64,
			    (uint64_t)(g->next_id % 1000000000000ULL));
		} while (sb_map_get(&g->by_id, gen) != NULL);
		id = gen;
	} else if (!gr_guid_valid(id)) {
		snprintf(err, errlen, "graph user id '%.60s' is not a GUID", id);
		return NULL;
	}
	if (sb_map_get(&g->by_id, id) != NULL || sb_map_get(&g->by_upn, upn) != NULL) {
		snprintf(err, errlen, "duplicate graph user %.60s / %.200s", id, upn);
		return NULL;
	}
	if ((u = calloc(1, sizeof *u)) == NULL)
		goto nomem;
	snprintf(u->id, sizeof u->id, "%s", id);
	u->enabled = enabled;
	u->sessions = sessions;
	if ((u->upn = sb_strdup(upn)) == NULL ||
	    (mail != NULL && (u->mail = sb_strdup(mail)) == NULL) ||
	    (emp != NULL && (u->employee_id = sb_strdup(emp)) == NULL) ||
	    (name != NULL && (u->display_name = sb_strdup(name)) == NULL))
		goto nomem;
	if (g->n == g->cap) {
		size_t ncap = g->cap == 0 ? 64 : g->cap * 2;
		if ((nu = realloc(g->users, ncap * sizeof *nu)) == NULL)
			goto nomem;
		g->users = nu;
		g->cap = ncap;
	}
	if (sb_map_put(&g->by_id, u->id, u) == -1)
		goto nomem;
	if (sb_map_put(&g->by_upn, u->upn, u) == -1) {
		sb_map_del(&g->by_id, u->id, u);
		goto nomem;
	}
	g->users[g->n++] = u;
	return u;
nomem:
	gr_user_free(u);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

/* A user by id (GUID) or userPrincipalName. */
static struct gr_user *
gr_lookup(struct sb_graph *g, const char *key)
{
	if (g == NULL || key == NULL)
		return NULL;
	return strchr(key, '@') != NULL ? sb_map_get(&g->by_upn, key) : sb_map_get(&g->by_id, key);
}

/*
 * The user key of a "users" path segment's follower: "{key}" or, in the
 * users('{key}') form, the quoted key with '' undoubled. *paren says which form.
 */
static const char *
gr_key_of(const char *seg, char *buf, size_t buflen, int *paren)
{
	size_t i, k = 0, n = strlen(seg);

	*paren = 0;
	if (strncmp(seg, "users('", 7) != 0)
		return seg;
	*paren = 1;
	if (n < 9 || strcmp(seg + n - 2, "')") != 0)
		return NULL;
	for (i = 7; i < n - 2; i++) {
		if (seg[i] == '\'') {
			if (seg[i + 1] != '\'' || i + 1 >= n - 2)
				return NULL;
			i++;
		}
		if (k + 1 >= buflen)
			return NULL;
		buf[k++] = seg[i];
	}
	buf[k] = '\0';
	return buf;
}

/* ---- seed and state ------------------------------------------------------------------- */

/*
 * count users prefix0001@domain ... (from start) with employeeId prefix0001 ..., as the
 * Salesforce generate makes them; opts (may be NULL) has accountEnabled and sessions.
 */
static int
gr_generate(struct sb_graph *g, struct json_object *jg, struct json_object *opts,
    size_t *nusers, char *err, size_t errlen)
{
	const char *prefix = sb_jstr(jg, "prefix"), *domain = sb_jstr(jg, "domain");
	int64_t count = sb_jint(jg, "count", -1, 10000000), start = sb_jint(jg, "start", 1,
	    INT32_MAX), ses = opts != NULL ? sb_jint(opts, "sessions", 1, 1000000) : 1, k;
	int en = opts != NULL ? sb_jbool(opts, "accountEnabled", 1) : 1;

	if (count < 0 || start < 0 || ses < 0 || en < 0) {
		snprintf(err, errlen, "graph generate needs a count (start, sessions: numbers; "
		    "accountEnabled: boolean)");
		return -1;
	}
	for (k = start; k < start + count; k++) {
		char emp[128], upn[384];

		snprintf(emp, sizeof emp, "%s%04" PRId64, prefix != NULL ? prefix : "user", k);
		snprintf(upn, sizeof upn, "%s@%s", emp, domain != NULL ? domain : "example.com");
		if (gr_add(g, NULL, upn, upn, emp, NULL, en, ses, err, errlen) == NULL)
			return -1;
		(*nusers)++;
	}
	return 0;
}

int
graph_seed_generate(struct sb_org *org, struct json_object *jg, size_t *nusers, char *err,
    size_t errlen)
{
	struct json_object *opts;
	struct sb_graph *g;
	int on;

	if ((on = sb_gen_flag(jg, "graph", &opts, err, errlen)) <= 0)
		return on;
	if ((g = gr_state(org, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return gr_generate(g, jg, opts, nusers, err, errlen);
}

int
graph_seed(struct sb_org *org, struct json_object *sec, size_t *nusers, char *err,
    size_t errlen)
{
	struct sb_graph *g;
	struct json_object *arr;
	size_t i, n;

	if (!json_object_is_type(sec, json_type_object)) {
		snprintf(err, errlen, "graph must be an object");
		return -1;
	}
	if ((g = gr_state(org, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (json_object_object_get_ex(sec, "users", &arr)) {
		if (!json_object_is_type(arr, json_type_array)) {
			snprintf(err, errlen, "graph.users must be an array");
			return -1;
		}
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			struct json_object *ju = json_object_array_get_idx(arr, i);
			int en;
			int64_t ses;

			if (!json_object_is_type(ju, json_type_object)) {
				snprintf(err, errlen, "graph.users[] entries must be objects");
				return -1;
			}
			if ((en = sb_jbool(ju, "accountEnabled", 1)) == -1 ||
			    (ses = sb_jint(ju, "sessions", 1, 1000000)) == -1) {
				snprintf(err, errlen, "graph.users[%zu]: accountEnabled must be a "
				    "boolean, sessions a count", i);
				return -1;
			}
			if (gr_add(g, sb_jstr(ju, "id"), sb_jstr(ju, "userPrincipalName"),
			    sb_jstr(ju, "mail"), sb_jstr(ju, "employeeId"),
			    sb_jstr(ju, "displayName"), en, ses, err, errlen) == NULL)
				return -1;
			(*nusers)++;
		}
	}
	if (json_object_object_get_ex(sec, "generate", &arr)) {
		if (!json_object_is_type(arr, json_type_array)) {
			snprintf(err, errlen, "graph.generate must be an array");
			return -1;
		}
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			struct json_object *jg = json_object_array_get_idx(arr, i);

			if (!json_object_is_type(jg, json_type_object)) {
				snprintf(err, errlen, "graph.generate[] entries must be objects");
				return -1;
			}
			if (gr_generate(g, jg, jg, nusers, err, errlen) == -1)
				return -1;
		}
	}
	return 0;
}

/* ISO 8601 UTC with seconds: 2024-01-31T12:00:00Z */
static void
gr_iso(struct sb_buf *b, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char s[32];

	gmtime_r(&t, &tm);
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	sb_buf_puts(b, s);
}

void
graph_state_json(const struct sb_org *org, struct sb_buf *b)
{
	const struct sb_graph *g = org->graph;
	size_t i;

	if (g == NULL)
		return;
	sb_buf_puts(b, ",\"graph\":{\"users\":[");
	for (i = 0; i < g->n; i++) {
		if (i > 0)
			sb_buf_putc(b, ',');
		gr_state_user(g->users[i], b);
	}
	sb_buf_puts(b, "]}");
}

/* One user as the state shows it. */
static void
gr_state_user(const struct gr_user *u, struct sb_buf *b)
{
	sb_buf_printf(b, "{\"id\":\"%s\",\"userPrincipalName\":", u->id);
	sb_buf_jstr(b, u->upn);
	sb_buf_puts(b, ",\"mail\":");
	sb_buf_jstr(b, u->mail);
	sb_buf_puts(b, ",\"employeeId\":");
	sb_buf_jstr(b, u->employee_id);
	sb_buf_printf(b, ",\"accountEnabled\":%s,\"sessions\":%" PRId64
	    ",\"signInSessionsValidFromDateTime\":", u->enabled ? "true" : "false", u->sessions);
	if (u->valid_from_ms > 0) {
		sb_buf_putc(b, '"');
		gr_iso(b, u->valid_from_ms);
		sb_buf_putc(b, '"');
	} else
		sb_buf_puts(b, "null");
	sb_buf_putc(b, '}');
}

int
graph_user_state_json(const struct sb_org *org, const char *key, struct sb_buf *b)
{
	const struct sb_graph *g = org->graph;
	const struct gr_user *u;

	if (g == NULL || ((u = sb_map_get(&g->by_id, key)) == NULL &&
	    (u = sb_map_get(&g->by_upn, key)) == NULL))
		return -1;
	gr_state_user(u, b);
	return 0;
}

/* ---- issued tokens and JWTs (shared with sb_google.c) --------------------------------- */

struct sb_issued *
issued_new(struct sandbox *sb, const char *target, const char *scope, const char *subject)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[24];
	char tok[128];
	struct sb_issued *t;
	size_t i, k;

	if (RAND_bytes(rnd, sizeof rnd) != 1)
		return NULL;
	k = (size_t)snprintf(tok, sizeof tok, "%s", strcmp(target, "graph") == 0 ?
	    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.sandbox-graph." : "ya29.sandbox-google.");
	for (i = 0; i < sizeof rnd; i++) {
		tok[k++] = hex[rnd[i] >> 4];
		tok[k++] = hex[rnd[i] & 15];
	}
	tok[k] = '\0';
	if ((t = calloc(1, sizeof *t)) == NULL)
		return NULL;
	t->target = strcmp(target, "graph") == 0 ? "graph" : "google";
	t->expires_ms = sb_now_ms() + sb->token_ttl_s * 1000;
	if ((t->token = sb_strdup(tok)) == NULL || (t->scope = sb_strdup(scope)) == NULL ||
	    (subject != NULL && (t->subject = sb_strdup(subject)) == NULL) ||
	    sb_map_put(&sb->issued, t->token, t) == -1) {
		free(t->token);
		free(t->scope);
		free(t->subject);
		free(t);
		return NULL;
	}
	return t;
}

struct sb_issued *
issued_find(struct sb_call *c, const char *target, int *expired)
{
	const char *tok = sb_bearer(c);
	struct sb_issued *t;

	*expired = 0;
	if (tok == NULL || (t = sb_map_get(&c->sb->issued, tok)) == NULL ||
	    strcmp(t->target, target) != 0)
		return NULL;
	if (sb_now_ms() >= t->expires_ms) {
		*expired = 1;
		return NULL;
	}
	return t;
}

void
issued_free_all(struct sandbox *sb)
{
	size_t pos = 0;
	struct sb_map_ent *e;

	while ((e = sb_map_iter(&sb->issued, &pos)) != NULL) {
		struct sb_issued *t = e->val;
		free(t->token);
		free(t->scope);
		free(t->subject);
		free(t);
	}
	sb_map_free(&sb->issued);
}

int
sb_jwt_verify(struct sandbox *sb, const char *jwt, struct json_object **header,
    struct json_object **claims, const char **why)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
	struct json_object *hdr = NULL, *cl = NULL;
	const char *alg;
	int rc = -1, r;

	*header = *claims = NULL;
	*why = "malformed JWT";
	if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL)
		goto done;
	if ((hdr = sb_b64url_json(jwt, (size_t)(d1 - jwt), 0)) == NULL ||
	    (cl = sb_b64url_json(d1 + 1, (size_t)(d2 - d1 - 1), 0)) == NULL)
		goto done;
	if ((alg = sb_jstr(hdr, "alg")) == NULL || strcmp(alg, "RS256") != 0) {
		*why = "alg must be RS256";
		goto done;
	}
	if (sb->pubkey == NULL) {
		*why = "no public key is registered (--public-key)";
		goto done;
	}
	if ((r = sb_jwt_rs256(sb->pubkey, jwt, d2, 0)) != 0) {
		if (r == -2)
			*why = "signature verification failed";
		goto done;
	}
	*header = hdr;
	*claims = cl;
	hdr = cl = NULL;
	rc = 0;
done:
	json_object_put(hdr);
	json_object_put(cl);
	return rc;
}

/* ---- requests ------------------------------------------------------------------------- */

/* Bearer check for /graph/v1.0: 0, or -1 with the 401 answer. */
static int
gr_auth(struct sb_call *c)
{
	int expired = 0;

	if (sb_static_bearer(c) || issued_find(c, "graph", &expired) != NULL)
		return 0;
	if (sb_bearer(c) == NULL)
		gr_error(c, 401, "InvalidAuthenticationToken", "Access token is empty.");
	else if (expired)
		gr_error(c, 401, "InvalidAuthenticationToken",
		    "Lifetime validation failed, the token is expired.");
	else
		gr_error(c, 401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.");
	return -1;
}

/* $select to a property mask; -1 with a 400 answer for an unknown property. */
static int
gr_select(struct sb_call *c, const char *sel, unsigned *mask)
{
	size_t i;

	*mask = 0;
	if (sel == NULL) {
		for (i = 0; i < GR_NPROPS; i++)
			if (gr_props[i].dflt)
				*mask |= 1u << i;
		return 0;
	}
	while (*sel != '\0') {
		const char *e = strchr(sel, ',');
		size_t len = e != NULL ? (size_t)(e - sel) : strlen(sel);

		while (len > 0 && *sel == ' ') {
			sel++;
			len--;
		}
		while (len > 0 && sel[len - 1] == ' ')
			len--;
		for (i = 0; i < GR_NPROPS; i++)
			if (strlen(gr_props[i].name) == len &&
			    strncasecmp(gr_props[i].name, sel, len) == 0)
				break;
		if (i == GR_NPROPS) {
			gr_error(c, 400, "Request_BadRequest", "Could not find a property named "
			    "'%.*s' on type 'Microsoft.DirectoryServices.User'.", (int)(len > 80 ?
			    80 : len), sel);
			return -1;
		}
		*mask |= 1u << i;
		sel += len;
		while (*sel == ' ' || *sel == ',')
			sel++;
	}
	/* id always comes back */
	for (i = 0; i < GR_NPROPS; i++)
		if (strcmp(gr_props[i].name, "id") == 0)
			*mask |= 1u << i;
	return 0;
}

static void
gr_user_json(struct sb_buf *b, const struct gr_user *u, unsigned mask)
{
	size_t i;
	int first = 1;

	sb_buf_putc(b, '{');
	for (i = 0; i < GR_NPROPS; i++) {
		const char *n = gr_props[i].name;

		if (!(mask & (1u << i)))
			continue;
		sb_buf_printf(b, "%s\"%s\":", first ? "" : ",", n);
		first = 0;
		if (strcmp(n, "id") == 0)
			sb_buf_jstr(b, u->id);
		else if (strcmp(n, "userPrincipalName") == 0)
			sb_buf_jstr(b, u->upn);
		else if (strcmp(n, "mail") == 0)
			sb_buf_jstr(b, u->mail);
		else if (strcmp(n, "employeeId") == 0)
			sb_buf_jstr(b, u->employee_id);
		else if (strcmp(n, "displayName") == 0)
			sb_buf_jstr(b, u->display_name != NULL ? u->display_name : u->upn);
		else if (strcmp(n, "accountEnabled") == 0)
			sb_buf_puts(b, u->enabled ? "true" : "false");
		else if (strcmp(n, "businessPhones") == 0)
			sb_buf_puts(b, "[]");
		else if (strcmp(n, "signInSessionsValidFromDateTime") == 0) {
			sb_buf_putc(b, '"');
			gr_iso(b, u->valid_from_ms > 0 ? u->valid_from_ms : 1577836800000LL);
			sb_buf_putc(b, '"');
		} else
			sb_buf_puts(b, "null");
	}
	sb_buf_putc(b, '}');
}

/* "@odata.context":"...#users(sel)/$entity" */
static void
gr_ctx(struct sb_buf *b, const char *sel, int entity)
{
	sb_buf_puts(b, "\"@odata.context\":");
	if (sel != NULL) {
		struct sb_buf t = { 0 };
		sb_buf_printf(&t, "%susers(%s)%s", GR_CTX, sel, entity ? "/$entity" : "");
		sb_buf_jstrn(b, t.p != NULL ? t.p : "", t.len);
		sb_buf_free(&t);
	} else
		sb_buf_printf(b, "\"%susers%s\"", GR_CTX, entity ? "/$entity" : "");
}

/*
 * One clause "prop eq 'literal'" (or "prop eq true|false") of $filter. 0 with the property
 * and the literal (malloc'd, '' undoubled), 1 when the clause is valid OData that the
 * sandbox (like Graph for these) does not support, -1 on a syntax error (why says where).
 */
static int
gr_filter(const char *f, char *prop, size_t proplen, char **lit, char *why, size_t whylen)
{
	const char *p = f, *s;
	struct sb_buf v = { 0 };
	size_t n;

	*lit = NULL;
	while (*p == ' ')
		p++;
	s = p;
	while (isalnum((unsigned char)*p) || *p == '/')
		p++;
	n = (size_t)(p - s);
	if (n == 0 || n >= proplen) {
		snprintf(why, whylen, "Invalid filter clause: expected a property at position %d.",
		    (int)(s - f));
		return -1;
	}
	memcpy(prop, s, n);
	prop[n] = '\0';
	if (*p == '(') {
		snprintf(why, whylen, "Unsupported Query.");
		return 1;
	}
	while (*p == ' ')
		p++;
	if (strncmp(p, "eq ", 3) != 0) {
		if (strncmp(p, "ne ", 3) == 0 || strncmp(p, "in ", 3) == 0 ||
		    strncmp(p, "ge ", 3) == 0 || strncmp(p, "le ", 3) == 0) {
			snprintf(why, whylen, "Unsupported Query.");
			return 1;
		}
		snprintf(why, whylen, "Invalid filter clause: expected 'eq' at position %d.",
		    (int)(p - f));
		return -1;
	}
	p += 3;
	while (*p == ' ')
		p++;
	if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
		sb_buf_puts(&v, *p == 't' ? "true" : "false");
		p += *p == 't' ? 4 : 5;
	} else if (*p == '\'') {
		for (p++;; p++) {
			if (*p == '\0') {
				sb_buf_free(&v);
				snprintf(why, whylen, "Invalid filter clause: unterminated string "
				    "literal at position %d.", (int)(p - f));
				return -1;
			}
			if (*p == '\'') {
				if (p[1] == '\'') {
					sb_buf_putc(&v, '\'');
					p++;
					continue;
				}
				p++;
				break;
			}
			sb_buf_putc(&v, *p);
		}
	} else {
		snprintf(why, whylen, "Invalid filter clause: expected a literal at position %d.",
		    (int)(p - f));
		return -1;
	}
	while (*p == ' ')
		p++;
	if (*p != '\0') {
		sb_buf_free(&v);
		if (strncmp(p, "and ", 4) == 0 || strncmp(p, "or ", 3) == 0) {
			snprintf(why, whylen, "Unsupported Query.");
			return 1;
		}
		snprintf(why, whylen, "Invalid filter clause: syntax error at position %d in '%.120s'.",
		    (int)(p - f), f);
		return -1;
	}
	if (v.oom) {
		sb_buf_free(&v);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	*lit = v.p != NULL ? v.p : sb_strdup("");
	return *lit != NULL ? 0 : -1;
}

/* 1 when user u has prop == lit (strings case-insensitive, as in Graph). */
static int
gr_match(const struct gr_user *u, const char *prop, const char *lit)
{
	const char *v = NULL;

	if (strcasecmp(prop, "accountEnabled") == 0)
		return strcmp(lit, u->enabled ? "true" : "false") == 0;
	if (strcasecmp(prop, "id") == 0)
		v = u->id;
	else if (strcasecmp(prop, "userPrincipalName") == 0)
		v = u->upn;
	else if (strcasecmp(prop, "mail") == 0)
		v = u->mail;
	else if (strcasecmp(prop, "employeeId") == 0)
		return u->employee_id != NULL && strcmp(u->employee_id, lit) == 0;
	return v != NULL && strcasecmp(v, lit) == 0;
}

/* GET /v1.0/users[?$filter=...&$select=...&$top=N&$skiptoken=K] */
static void
gr_users_get(struct sb_call *c, struct sb_form *q)
{
	struct sb_graph *g = c->sb->org.graph;
	const char *filter = sb_form_get(q, "$filter"), *sel = sb_form_get(q, "$select");
	const char *top = sb_form_get(q, "$top"), *skip = sb_form_get(q, "$skiptoken");
	char prop[64], why[300], *lit = NULL, *end;
	unsigned mask;
	size_t i, shown = 0, from = 0, limit = GR_PAGE_DEFAULT;
	int rc, more = 0;

	if (gr_select(c, sel, &mask) == -1)
		return;
	if (top != NULL) {
		long t = strtol(top, &end, 10);
		if (*top == '\0' || *end != '\0' || t < 1 || t > GR_PAGE_MAX) {
			gr_error(c, 400, "Request_BadRequest", "Invalid page size specified: '%.20s'. "
			    "Must be between 1 and 999 inclusive.", top);
			return;
		}
		limit = (size_t)t;
	}
	if (skip != NULL)
		from = (size_t)strtoul(skip, NULL, 10);
	if (filter != NULL) {
		rc = gr_filter(filter, prop, sizeof prop, &lit, why, sizeof why);
		if (rc == 1 || (rc == 0 && strcasecmp(prop, "id") != 0 &&
		    strcasecmp(prop, "userPrincipalName") != 0 && strcasecmp(prop, "mail") != 0 &&
		    strcasecmp(prop, "employeeId") != 0 && strcasecmp(prop, "accountEnabled") != 0)) {
			free(lit);
			if (rc == 0)
				gr_error(c, 400, "Request_UnsupportedQuery", "Unsupported or invalid "
				    "query filter clause specified for property '%s' of resource "
				    "'User'.", prop);
			else
				gr_error(c, 400, "Request_UnsupportedQuery", "%s", why);
			return;
		}
		if (rc == -1) {
			gr_error(c, 400, "BadRequest", "%s", why);
			return;
		}
	}
	c->status = 200;
	c->ctype = "application/json;odata.metadata=minimal;odata.streaming=true;"
	    "IEEE754Compatible=false;charset=utf-8";
	sb_buf_putc(&c->body, '{');
	gr_ctx(&c->body, sel, 0);
	sb_buf_puts(&c->body, ",\"value\":[");
	for (i = 0; g != NULL && i < g->n; i++) {
		const struct gr_user *u = g->users[i];

		if (lit != NULL && !gr_match(u, prop, lit))
			continue;
		if (from > 0) {
			from--;
			continue;
		}
		if (shown == limit) {
			more = 1;
			break;
		}
		if (shown == 0 && c->user[0] == '\0')
			snprintf(c->user, sizeof c->user, "%s", u->id);
		if (shown++ > 0)
			sb_buf_putc(&c->body, ',');
		gr_user_json(&c->body, u, mask);
	}
	sb_buf_putc(&c->body, ']');
	if (more) {
		/* the next page: same query, skipping what was shown */
		struct sb_buf link = { 0 };
		size_t skipped = (skip != NULL ? (size_t)strtoul(skip, NULL, 10) : 0) + shown;
		const char *host = evhttp_find_header(evhttp_request_get_input_headers(c->req),
		    "Host");

		sb_buf_printf(&link, "http://%s/graph/v1.0/users?$top=%zu&$skiptoken=%zu",
		    host != NULL ? host : "localhost", limit, skipped);
		sb_buf_puts(&c->body, ",\"@odata.nextLink\":");
		sb_buf_jstrn(&c->body, link.p != NULL ? link.p : "", link.len);
		sb_buf_free(&link);
	}
	sb_buf_putc(&c->body, '}');
	free(lit);
}

static void
gr_user_get(struct sb_call *c, struct gr_user *u, struct sb_form *q)
{
	const char *sel = sb_form_get(q, "$select");
	unsigned mask;

	if (gr_select(c, sel, &mask) == -1)
		return;
	c->status = 200;
	c->ctype = "application/json;odata.metadata=minimal;odata.streaming=true;"
	    "IEEE754Compatible=false;charset=utf-8";
	sb_buf_putc(&c->body, '{');
	gr_ctx(&c->body, sel, 1);
	sb_buf_putc(&c->body, ',');
	/* splice the object's members after the context */
	{
		struct sb_buf t = { 0 };
		gr_user_json(&t, u, mask);
		if (t.len >= 2)
			sb_buf_put(&c->body, t.p + 1, t.len - 1);
		else
			sb_buf_putc(&c->body, '}');
		sb_buf_free(&t);
	}
}

/* PATCH /v1.0/users/{key}: only accountEnabled (and a few harmless strings) are writable. */
static void
gr_user_patch(struct sb_call *c, struct gr_user *u)
{
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(c->req),
	    "Content-Type");
	size_t len;
	const char *body = sb_call_body(c, &len);
	char err[128];
	struct json_object *obj = NULL;
	int en = -1;

	if (ct != NULL && strncasecmp(ct, "application/json", 16) == 0)
		obj = sb_json_parse(body, len, err, sizeof err);
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		gr_error(c, 400, "BadRequest", "Unable to read JSON request payload. Please ensure "
		    "Content-Type header is set and payload is of valid JSON format.");
		return;
	}
	json_object_object_foreach(obj, key, val) {
		if (strcmp(key, "accountEnabled") == 0) {
			if (!json_object_is_type(val, json_type_boolean)) {
				gr_error(c, 400, "Request_BadRequest", "Invalid value specified for "
				    "property 'accountEnabled' of resource 'User'.");
				json_object_put(obj);
				return;
			}
			en = json_object_get_boolean(val);
		} else if (strcmp(key, "id") == 0 || strcmp(key, "signInSessionsValidFromDateTime") ==
		    0) {
			gr_error(c, 400, "Request_BadRequest", "Property '%s' is read-only and cannot "
			    "be set.", key);
			json_object_put(obj);
			return;
		} else if (strcmp(key, "displayName") != 0 && strcmp(key, "jobTitle") != 0 &&
		    strcmp(key, "employeeId") != 0) {
			gr_error(c, 400, "Request_BadRequest", "Property '%.80s' does not exist as a "
			    "declared property or extension property.", key);
			json_object_put(obj);
			return;
		}
	}
	json_object_put(obj);
	if (en != -1)
		u->enabled = en;
	c->status = 204;
}

/* POST /v1.0/users/{key}/revokeSignInSessions */
static void
gr_revoke(struct sb_call *c, struct gr_user *u)
{
	u->sessions = 0;
	u->valid_from_ms = sb_now_ms();
	c->status = 200;
	c->ctype = "application/json;odata.metadata=minimal;odata.streaming=true;"
	    "IEEE754Compatible=false;charset=utf-8";
	sb_buf_printf(&c->body, "{\"@odata.context\":\"%sEdm.Boolean\",\"value\":true}", GR_CTX);
}

/* The JSON string claim key, or "" */
static const char *
claim_str(struct json_object *o, const char *key)
{
	const char *s = sb_jstr(o, key);

	return s != NULL ? s : "";
}

/* POST /graph/{tenant}/oauth2/v2.0/token: the client credentials grant. */
static void
gr_token(struct sb_call *c, const char *tenant)
{
	struct sandbox *sb = c->sb;
	size_t len;
	const char *body = sb_call_body(c, &len), *grant, *cid, *scope, *secret, *atype, *assertion;
	const char *why, *host;
	struct sb_form form = { 0 };
	struct json_object *hdr = NULL, *cl = NULL, *v;
	struct sb_issued *t;
	char aud_real[512], aud_own[600], d[400];
	double exp, nbf, now = (double)sb_now_ms() / 1000.0;

	if (strcmp(c->method, "POST") != 0) {
		gr_oauth_error(c, 405, "invalid_request", 900561, "The endpoint only accepts POST "
		    "requests.");
		return;
	}
	if (sb_form_parse(&form, body, len) == -1) {
		gr_oauth_error(c, 400, "invalid_request", 900144, "The request body must contain "
		    "the following parameter: 'grant_type'.");
		return;
	}
	grant = sb_form_get(&form, "grant_type");
	cid = sb_form_get(&form, "client_id");
	scope = sb_form_get(&form, "scope");
	secret = sb_form_get(&form, "client_secret");
	atype = sb_form_get(&form, "client_assertion_type");
	assertion = sb_form_get(&form, "client_assertion");
	if (grant == NULL) {
		gr_oauth_error(c, 400, "invalid_request", 900144, "The request body must contain "
		    "the following parameter: 'grant_type'.");
		goto done;
	}
	if (strcmp(grant, "client_credentials") != 0) {
		gr_oauth_error(c, 400, "unsupported_grant_type", 70003, "The app requested an "
		    "unsupported grant type.");
		goto done;
	}
	if (cid == NULL || strcmp(cid, sb->client_id) != 0) {
		snprintf(d, sizeof d, "Application with identifier '%.80s' was not found in the "
		    "directory '%.80s'.", cid != NULL ? cid : "", tenant);
		gr_oauth_error(c, 400, "unauthorized_client", 700016, d);
		goto done;
	}
	if (scope == NULL || strcmp(scope, GR_RESOURCE GR_SCOPE) != 0) {
		snprintf(d, sizeof d, "The provided value for scope %.100s is not valid. Client "
		    "credential flows must have a scope value with /.default suffixed to the "
		    "resource identifier (application ID URI).", scope != NULL ? scope : "");
		gr_oauth_error(c, 400, "invalid_scope", 1002012, d);
		goto done;
	}
	if (secret != NULL) {
		if (sb->graph_client_secret == NULL || strcmp(secret, sb->graph_client_secret) != 0) {
			snprintf(d, sizeof d, "Invalid client secret provided. Ensure the secret being "
			    "sent in the request is the client secret value, not the client secret "
			    "ID, for a secret added to app '%.80s'.", cid);
			gr_oauth_error(c, 401, "invalid_client", 7000215, d);
			goto done;
		}
	} else if (assertion != NULL) {
		if (atype == NULL ||
		    strcmp(atype, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") != 0) {
			gr_oauth_error(c, 400, "invalid_request", 50027, "Invalid client assertion "
			    "type.");
			goto done;
		}
		if (sb_jwt_verify(sb, assertion, &hdr, &cl, &why) == -1) {
			snprintf(d, sizeof d, "Client assertion failed signature validation (%s).",
			    why);
			gr_oauth_error(c, 401, "invalid_client", 700027, d);
			goto done;
		}
		if (sb_jstr(hdr, "x5t") == NULL && sb_jstr(hdr, "x5t#S256") == NULL) {
			gr_oauth_error(c, 401, "invalid_client", 700027, "Client assertion contains "
			    "no certificate thumbprint (x5t or x5t#S256 header).");
			goto done;
		}
		host = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Host");
		snprintf(aud_real, sizeof aud_real, "https://login.microsoftonline.com/%s/oauth2/"
		    "v2.0/token", tenant);
		snprintf(aud_own, sizeof aud_own, "http://%s/graph/%s/oauth2/v2.0/token",
		    host != NULL ? host : "", tenant);
		if (strcmp(claim_str(cl, "aud"), aud_real) != 0 &&
		    strcmp(claim_str(cl, "aud"), aud_own) != 0) {
			snprintf(d, sizeof d, "The audience claim value is invalid '%.200s' (expected "
			    "the token endpoint).", claim_str(cl, "aud"));
			gr_oauth_error(c, 401, "invalid_client", 700212, d);
			goto done;
		}
		if (strcmp(claim_str(cl, "iss"), cid) != 0 || strcmp(claim_str(cl, "sub"), cid) != 0) {
			gr_oauth_error(c, 401, "invalid_client", 700021, "Client assertion application "
			    "identifier doesn't match 'client_id' parameter (iss and sub must be the "
			    "client id).");
			goto done;
		}
		if (sb_jstr(cl, "jti") == NULL) {
			gr_oauth_error(c, 401, "invalid_client", 50027, "JWT token is invalid or "
			    "malformed (no jti).");
			goto done;
		}
		if (!json_object_object_get_ex(cl, "exp", &v) ||
		    !(json_object_is_type(v, json_type_int) ||
		    json_object_is_type(v, json_type_double)) ||
		    (exp = json_object_get_double(v)) <= now - 300) {
			gr_oauth_error(c, 401, "invalid_client", 700024, "Client assertion is not "
			    "within its valid time range.");
			goto done;
		}
		if (json_object_object_get_ex(cl, "nbf", &v) &&
		    (nbf = json_object_get_double(v)) > now + 300) {
			gr_oauth_error(c, 401, "invalid_client", 700024, "Client assertion is not "
			    "within its valid time range.");
			goto done;
		}
	} else {
		gr_oauth_error(c, 401, "invalid_client", 7000218, "The request body must contain "
		    "the following parameter: 'client_assertion' or 'client_secret'.");
		goto done;
	}
	if ((t = issued_new(sb, "graph", scope, NULL)) == NULL) {
		gr_oauth_error(c, 500, "temporarily_unavailable", 90033, "out of memory");
		goto done;
	}
	c->status = 200;
	c->ctype = "application/json; charset=utf-8";
	sb_buf_printf(&c->body, "{\"token_type\":\"Bearer\",\"expires_in\":%" PRId64
	    ",\"ext_expires_in\":%" PRId64 ",\"access_token\":\"%s\"}", sb->token_ttl_s,
	    sb->token_ttl_s, t->token);
done:
	json_object_put(hdr);
	json_object_put(cl);
	sb_form_free(&form);
}

void
graph_handle(struct sb_call *c)
{
	struct sb_graph *g = c->sb->org.graph;
	struct sb_path p;
	struct sb_form q = { 0 };
	struct gr_user *u;
	char keybuf[512];
	const char *key;
	int paren;

	c->target = "graph";
	graph_classify(c);
	if (sb_path_split(c->path, &p, GR_MAX_SEGS) == -1) {
		gr_error(c, 400, "BadRequest", "Invalid request path.");
		return;
	}
	/* /graph/{tenant}/oauth2/v2.0/token */
	if (p.n == 5 && strcmp(p.seg[2], "oauth2") == 0 && strcmp(p.seg[3], "v2.0") == 0 &&
	    strcmp(p.seg[4], "token") == 0) {
		c->action = ACT_TOKEN;
		gr_token(c, p.seg[1]);
		goto done;
	}
	if (p.n < 2 || strcmp(p.seg[1], "v1.0") != 0) {
		gr_error(c, 404, "NotFound", "The requested API version or path is not supported.");
		goto done;
	}
	if (gr_auth(c) == -1)
		goto done;
	if (sb_form_parse(&q, c->query != NULL ? c->query : "", c->query != NULL ?
	    strlen(c->query) : 0) == -1) {
		gr_error(c, 400, "BadRequest", "Invalid query string.");
		goto done;
	}
	if (p.n == 3 && strcmp(p.seg[2], "users") == 0) {
		if (strcmp(c->method, "GET") != 0) {
			gr_error(c, 405, "Request_BadRequest", "Only GET is supported on the users "
			    "collection here.");
			goto done;
		}
		c->action = ACT_QUERY;
		gr_users_get(c, &q);
		goto done;
	}
	/* users/{key}[/action] or users('{key}')[/action] */
	if (p.n >= 3 && strcmp(p.seg[2], "users") == 0)
		key = p.n >= 4 ? p.seg[3] : NULL, paren = 0;
	else if (p.n >= 3 && (key = gr_key_of(p.seg[2], keybuf, sizeof keybuf, &paren),
	    paren))
		;
	else {
		gr_error(c, 400, "BadRequest", "Resource not found for the segment '%.80s'.",
		    p.n >= 3 ? p.seg[2] : "");
		goto done;
	}
	if (key == NULL) {
		gr_error(c, 400, "BadRequest", "Invalid key in the segment '%.80s'.", p.seg[2]);
		goto done;
	}
	if (!paren && key[0] == '$') {
		/* a userPrincipalName starting with $ only works in the users('...') form */
		gr_error(c, 400, "BadRequest", "Resource not found for the segment '%.80s'.", key);
		goto done;
	}
	if (!gr_guid_valid(key) && strchr(key, '@') == NULL) {
		gr_error(c, 400, "Request_BadRequest", "Invalid object identifier '%.80s'.", key);
		goto done;
	}
	if ((u = gr_lookup(g, key)) == NULL) {
		gr_error(c, 404, "Request_ResourceNotFound", "Resource '%.200s' does not exist or "
		    "one of its queried reference-property objects are not present.", key);
		goto done;
	}
	snprintf(c->user, sizeof c->user, "%s", u->id);
	{
		size_t rest = paren ? 3 : 4; /* index of the segment after the key */

		if (p.n == rest) {
			if (strcmp(c->method, "GET") == 0) {
				c->action = ACT_READ;
				gr_user_get(c, u, &q);
			} else if (strcmp(c->method, "PATCH") == 0) {
				gr_user_patch(c, u);
			} else {
				gr_error(c, 405, "Request_BadRequest", "Specified HTTP method is not "
				    "allowed for the request target.");
			}
		} else if (p.n == rest + 1 && strcmp(p.seg[rest], "revokeSignInSessions") == 0) {
			c->action = ACT_REVOKE;
			if (strcmp(c->method, "POST") != 0)
				gr_error(c, 405, "Request_BadRequest", "Specified HTTP method is not "
				    "allowed for the request target.");
			else
				gr_revoke(c, u);
		} else {
			gr_error(c, 400, "BadRequest", "Resource not found for the segment '%.80s'.",
			    p.seg[rest]);
		}
	}
done:
	sb_form_free(&q);
	sb_path_free(&p);
}

/* The log's action and user from the request alone (also for faulted requests). */
void
graph_classify(struct sb_call *c)
{
	struct sb_graph *g = c->sb->org.graph;
	struct sb_path p;
	char keybuf[512];
	const char *key = NULL;
	struct gr_user *u;
	int paren = 0;
	size_t rest;

	c->target = "graph";
	if (sb_path_split(c->path, &p, GR_MAX_SEGS) == -1)
		return;
	if (p.n == 5 && strcmp(p.seg[2], "oauth2") == 0 && strcmp(p.seg[4], "token") == 0) {
		c->action = ACT_TOKEN;
		goto done;
	}
	if (p.n < 3 || strcmp(p.seg[1], "v1.0") != 0)
		goto done;
	if (p.n == 3 && strcmp(p.seg[2], "users") == 0) {
		c->action = ACT_QUERY;
		goto done;
	}
	if (strcmp(p.seg[2], "users") == 0 && p.n >= 4)
		key = p.seg[3];
	else
		key = gr_key_of(p.seg[2], keybuf, sizeof keybuf, &paren);
	if (key == NULL || (!paren && strcmp(p.seg[2], "users") != 0))
		goto done;
	rest = paren ? 3 : 4;
	if ((u = gr_lookup(g, key)) != NULL)
		snprintf(c->user, sizeof c->user, "%s", u->id);
	if (p.n == rest + 1 && strcmp(p.seg[rest], "revokeSignInSessions") == 0)
		c->action = ACT_REVOKE;
	else if (p.n == rest && strcmp(c->method, "GET") == 0)
		c->action = ACT_READ;
	else if (p.n == rest && strcmp(c->method, "PATCH") == 0) {
		size_t len;
		const char *body = sb_call_body(c, &len);
		char err[64];
		struct json_object *obj = sb_json_parse(body, len, err, sizeof err), *v;

		if (obj != NULL && json_object_is_type(obj, json_type_object) &&
		    json_object_object_get_ex(obj, "accountEnabled", &v) &&
		    json_object_is_type(v, json_type_boolean))
			c->action = json_object_get_boolean(v) ? ACT_UNFREEZE : ACT_FREEZE;
		json_object_put(obj);
	}
done:
	sb_path_free(&p);
}

/* The body of an injected status fault: Graph's error (token endpoint: the OAuth form). */
void
graph_fault_body(struct sb_call *c, int status)
{
	const char *code, *msg;
	char ra[32];
	struct sb_path p;
	int token = 0;

	if (sb_path_split(c->path, &p, GR_MAX_SEGS) == 0) {
		token = p.n == 5 && strcmp(p.seg[2], "oauth2") == 0;
		sb_path_free(&p);
	}
	if (token) {
		gr_oauth_error(c, status, status == 429 || status >= 500 ?
		    "temporarily_unavailable" : "invalid_request", status == 429 ? 50196 : 90033,
		    "Injected failure.");
		return;
	}
	switch (status) {
	case 400: code = "BadRequest"; msg = "Bad request."; break;
	case 401: code = "InvalidAuthenticationToken"; msg = "Access token has expired or is not "
	    "yet valid."; break;
	case 403: code = "Authorization_RequestDenied"; msg = "Insufficient privileges to "
	    "complete the operation."; break;
	case 404: code = "Request_ResourceNotFound"; msg = "Resource does not exist or one of its "
	    "queried reference-property objects are not present."; break;
	case 409: code = "Request_MultipleObjectsWithSameKeyValue"; msg = "Conflict."; break;
	case 429: code = "TooManyRequests"; msg = "Too many requests, please try again later.";
	    break;
	case 500: code = "generalException"; msg = "General exception while processing."; break;
	case 502: code = "UnknownError"; msg = "Bad gateway."; break;
	case 503: code = "serviceNotAvailable"; msg = "Service Unavailable. Please retry after "
	    "some time."; break;
	case 504: code = "gatewayTimeout"; msg = "Gateway timeout."; break;
	default: code = "UnknownError"; msg = "Injected failure."; break;
	}
	gr_error(c, status, code, "%s", msg);
	if (status == 429 || status == 503 || status == 504) {
		snprintf(ra, sizeof ra, "%" PRId64, c->sb->retry_after_s);
		evhttp_add_header(evhttp_request_get_output_headers(c->req), "Retry-After", ra);
	}
}
