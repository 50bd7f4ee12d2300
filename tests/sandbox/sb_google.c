/*
 * sb_google.c: the Google Workspace surface of deprov-sandbox, under /google/: the Admin SDK
 * Directory API users (get, update/patch with suspended, signOut) and their OAuth tokens
 * (list, get, delete), the Data Transfer API (applications, transfers insert/get/list; a
 * transfer completes after a configured number of polls and milliseconds, moving the old
 * owner's Drive files, or fails for a user flagged "fail"), and the service-account token
 * endpoint (/google/token: an RS256 JWT bearer assertion with iss, sub, scope and aud),
 * with Google's error bodies {"error":{"code","message","errors":[{"reason"}],"status"}}
 * and OAuth scopes enforced per method.
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

#include "sandbox.h"

#define GO_MAX_SEGS 10
#define GO_ID_LEN 21
#define GO_DRIVE_APP "55656082996"
#define GO_CAL_APP "435070579839"
#define GO_AUD "https://oauth2.googleapis.com/token"
#define GO_SCOPE_USER "https://www.googleapis.com/auth/admin.directory.user"
#define GO_SCOPE_USER_RO "https://www.googleapis.com/auth/admin.directory.user.readonly"
#define GO_SCOPE_SECURITY "https://www.googleapis.com/auth/admin.directory.user.security"
#define GO_SCOPE_DT "https://www.googleapis.com/auth/admin.datatransfer"
#define GO_SCOPE_DT_RO "https://www.googleapis.com/auth/admin.datatransfer.readonly"
#define GO_JWT_MAX_S 3600
#define GO_DRIVE_JSON "{\"kind\":\"admin#datatransfer#ApplicationResource\",\"etag\":" \
	"\"\\\"sandbox\\\"\",\"id\":\"" GO_DRIVE_APP "\",\"name\":\"Drive and Docs\"," \
	"\"transferParams\":[{\"key\":\"PRIVACY_LEVEL\",\"value\":[\"PRIVATE\",\"SHARED\"]}]}"
#define GO_CAL_JSON "{\"kind\":\"admin#datatransfer#ApplicationResource\",\"etag\":" \
	"\"\\\"sandbox\\\"\",\"id\":\"" GO_CAL_APP "\",\"name\":\"Calendar\"," \
	"\"transferParams\":[{\"key\":\"RELEASE_RESOURCES\",\"value\":[\"TRUE\"]}]}"
#define GO_TOKENS_MAX 10000

enum go_status { GO_NEW = 0, GO_IN_PROGRESS, GO_COMPLETED, GO_FAILED };

struct go_token {
	char *client_id;
	char *display;
};

struct go_user {
	char id[GO_ID_LEN + 1];
	char *email;
	int suspended;
	int admin;
	int fail;              /* transfers from this user fail */
	int64_t shared_files;  /* Drive files shared with someone */
	int64_t private_files; /* Drive files shared with no one */
	int64_t sessions;      /* web and device sessions; signOut ends them */
	struct go_token *tokens;
	size_t ntokens;
};

struct go_transfer {
	char id[48];
	char old_id[GO_ID_LEN + 1], new_id[GO_ID_LEN + 1];
	char app_id[32];
	int private_too, shared; /* PRIVACY_LEVEL */
	enum go_status status;
	int64_t polls;      /* GETs seen */
	int64_t created_ms; /* monotonic */
	int64_t request_ms; /* wall clock */
	int64_t files;      /* files moved (or to move) */
};

struct sb_google {
	struct go_user **users;
	size_t n, cap;
	struct sb_map by_id, by_email;
	struct go_transfer **transfers;
	size_t nt, capt;
	int64_t transfer_polls; /* GETs of a transfer before it is done */
	int64_t transfer_ms;    /* and at least this old */
	uint64_t next_id, next_transfer;
};

/* Who the call acts as: static token = super admin with every scope. */
struct go_caller {
	int is_static;
	const struct sb_issued *tok;
};

static void go_error(struct sb_call *c, int status, const char *reason, const char *domain,
    const char *gstatus, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void go_state_user(const struct go_user *u, struct sb_buf *b);
static void go_oauth_error(struct sb_call *c, int status, const char *error, const char *desc);
static struct sb_google *go_state(struct sb_org *org, int create);
static struct go_user *go_add(struct sb_google *g, const char *id, const char *email,
    int suspended, int admin, int fail, int64_t shared, int64_t priv, int64_t sessions,
    char *err, size_t errlen);
static int go_add_token(struct go_user *u, const char *client_id, const char *display);
static void go_user_free(struct go_user *u);
static struct go_user *go_lookup(struct sb_google *g, const char *key);
static int go_auth(struct sb_call *c, const char *scope, const char *ro_scope);
static void go_iso(struct sb_buf *b, int64_t ms);
static void go_user_json(struct sb_buf *b, const struct go_user *u);
static void go_users(struct sb_call *c, struct sb_path *p);
static void go_user_update(struct sb_call *c, struct go_user *u);
static void go_tokens(struct sb_call *c, struct go_user *u, const char *client_id);
static void go_dt(struct sb_call *c, struct sb_path *p);
static void go_transfer_insert(struct sb_call *c);
static void go_transfer_json(struct sb_buf *b, const struct go_transfer *t);
static void go_transfer_tick(struct sb_google *g, struct go_transfer *t, int poll);
static void go_token_endpoint(struct sb_call *c);

/* ---- paths, errors, state ------------------------------------------------------------- */

/* {"error":{"code","message","errors":[{"message","domain","reason"}],"status"}} */
static void
go_error(struct sb_call *c, int status, const char *reason, const char *domain,
    const char *gstatus, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->status = status;
	c->ctype = "application/json; charset=UTF-8";
	c->body.len = 0;
	sb_buf_printf(&c->body, "{\"error\":{\"code\":%d,\"message\":", status);
	sb_buf_jstr(&c->body, msg);
	sb_buf_puts(&c->body, ",\"errors\":[{\"message\":");
	sb_buf_jstr(&c->body, msg);
	sb_buf_puts(&c->body, ",\"domain\":");
	sb_buf_jstr(&c->body, domain);
	sb_buf_puts(&c->body, ",\"reason\":");
	sb_buf_jstr(&c->body, reason);
	if (status == 401)
		sb_buf_puts(&c->body, ",\"location\":\"Authorization\",\"locationType\":\"header\"");
	sb_buf_puts(&c->body, "}]");
	if (gstatus != NULL) {
		sb_buf_puts(&c->body, ",\"status\":");
		sb_buf_jstr(&c->body, gstatus);
	}
	sb_buf_puts(&c->body, "}}");
	if (status == 401)
		evhttp_add_header(evhttp_request_get_output_headers(c->req), "WWW-Authenticate",
		    "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"");
}

static void
go_not_found(struct sb_call *c, const char *what)
{
	go_error(c, 404, "notFound", "global", NULL, "Resource Not Found: %s", what);
}

/* The token endpoint's error {"error","error_description"}. */
static void
go_oauth_error(struct sb_call *c, int status, const char *error, const char *desc)
{
	sb_oauth_error(c, status, "application/json; charset=utf-8", error, desc);
}

static struct sb_google *
go_state(struct sb_org *org, int create)
{
	struct sb_google *g = org->google;

	if (g != NULL || !create)
		return g;
	if ((g = calloc(1, sizeof *g)) == NULL)
		return NULL;
	sb_map_init(&g->by_id, 0, 0);
	sb_map_init(&g->by_email, 1, 0);
	g->transfer_polls = 2;
	org->google = g;
	return g;
}

static void
go_user_free(struct go_user *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < u->ntokens; i++) {
		free(u->tokens[i].client_id);
		free(u->tokens[i].display);
	}
	free(u->tokens);
	free(u->email);
	free(u);
}

void
google_free(struct sb_google *g)
{
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < g->n; i++)
		go_user_free(g->users[i]);
	free(g->users);
	for (i = 0; i < g->nt; i++)
		free(g->transfers[i]);
	free(g->transfers);
	sb_map_free(&g->by_id);
	sb_map_free(&g->by_email);
	free(g);
}

static int
go_id_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > GO_ID_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static struct go_user *
go_add(struct sb_google *g, const char *id, const char *email, int suspended, int admin,
    int fail, int64_t shared, int64_t priv, int64_t sessions, char *err, size_t errlen)
{
	struct go_user *u = NULL, **nu;
	char gen[GO_ID_LEN + 1];

	if (email == NULL || strchr(email, '@') == NULL) {
		snprintf(err, errlen, "google users need a primaryEmail");
		return NULL;
	}
	if (id == NULL) {
		do {
			g->next_id++;
			snprintf(gen, sizeof gen, "1%020" PRIu64, g->next_id);
		} while (sb_map_get(&g->by_id, gen) != NULL);
		id = gen;
	} else if (!go_id_valid(id)) {
		snprintf(err, errlen, "google user id '%.40s' must be up to 21 digits", id);
		return NULL;
	}
	if (sb_map_get(&g->by_id, id) != NULL || sb_map_get(&g->by_email, email) != NULL) {
		snprintf(err, errlen, "duplicate google user %.40s / %.200s", id, email);
		return NULL;
	}
	if ((u = calloc(1, sizeof *u)) == NULL || (u->email = sb_strdup(email)) == NULL)
		goto nomem;
	snprintf(u->id, sizeof u->id, "%s", id);
	u->suspended = suspended;
	u->admin = admin;
	u->fail = fail;
	u->shared_files = shared;
	u->private_files = priv;
	u->sessions = sessions;
	if (g->n == g->cap) {
		size_t ncap = g->cap == 0 ? 64 : g->cap * 2;
		if ((nu = realloc(g->users, ncap * sizeof *nu)) == NULL)
			goto nomem;
		g->users = nu;
		g->cap = ncap;
	}
	if (sb_map_put(&g->by_id, u->id, u) == -1)
		goto nomem;
	if (sb_map_put(&g->by_email, u->email, u) == -1) {
		sb_map_del(&g->by_id, u->id, u);
		goto nomem;
	}
	g->users[g->n++] = u;
	return u;
nomem:
	go_user_free(u);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

static int
go_add_token(struct go_user *u, const char *client_id, const char *display)
{
	struct go_token *nt;

	if (u->ntokens >= GO_TOKENS_MAX ||
	    (nt = realloc(u->tokens, (u->ntokens + 1) * sizeof *nt)) == NULL)
		return -1;
	u->tokens = nt;
	nt = &u->tokens[u->ntokens];
	nt->client_id = sb_strdup(client_id);
	nt->display = sb_strdup(display != NULL ? display : client_id);
	if (nt->client_id == NULL || nt->display == NULL) {
		free(nt->client_id);
		free(nt->display);
		return -1;
	}
	u->ntokens++;
	return 0;
}

/* A user by primary email (case-insensitive) or id. */
static struct go_user *
go_lookup(struct sb_google *g, const char *key)
{
	if (g == NULL || key == NULL)
		return NULL;
	return strchr(key, '@') != NULL ? sb_map_get(&g->by_email, key) :
	    sb_map_get(&g->by_id, key);
}

/* ---- seed and state ------------------------------------------------------------------- */

/* "tokens": a count (clients app1.apps.googleusercontent.com ...) or client ids / objects. */
static int
seed_tokens(struct go_user *u, struct json_object *jt, char *err, size_t errlen)
{
	size_t i, n;

	if (jt == NULL || json_object_is_type(jt, json_type_null))
		return 0;
	if (json_object_is_type(jt, json_type_int)) {
		int64_t k = json_object_get_int64(jt);
		if (k < 0 || k > GO_TOKENS_MAX) {
			snprintf(err, errlen, "bad google tokens count");
			return -1;
		}
		for (i = 0; i < (size_t)k; i++) {
			char cid[96];
			snprintf(cid, sizeof cid, "%zu-app%zu.apps.googleusercontent.com", 100000 + i,
			    i + 1);
			if (go_add_token(u, cid, NULL) == -1)
				goto nomem;
		}
		return 0;
	}
	if (!json_object_is_type(jt, json_type_array)) {
		snprintf(err, errlen, "google tokens must be a number or an array");
		return -1;
	}
	n = json_object_array_length(jt);
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(jt, i);
		const char *cid = json_object_is_type(o, json_type_string) ?
		    json_object_get_string(o) : sb_jstr(o, "clientId");

		if (cid == NULL || cid[0] == '\0') {
			snprintf(err, errlen, "google tokens[] entries are client ids or "
			    "{\"clientId\",\"displayText\"}");
			return -1;
		}
		if (go_add_token(u, cid, json_object_is_type(o, json_type_object) ?
		    sb_jstr(o, "displayText") : NULL) == -1)
			goto nomem;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/*
 * count users prefix0001@domain ... (from start), as the Salesforce generate makes them;
 * opts (may be NULL) has drive_files, private_files, tokens, suspended.
 */
static int
go_generate(struct sb_google *g, struct json_object *jg, struct json_object *opts,
    size_t *nusers, char *err, size_t errlen)
{
	const char *prefix = sb_jstr(jg, "prefix"), *domain = sb_jstr(jg, "domain");
	int64_t count = sb_jint(jg, "count", -1, 10000000), start = sb_jint(jg, "start", 1,
	    INT32_MAX), k;
	int64_t sh = opts != NULL ? sb_jint(opts, "drive_files", 0, 100000) : 0;
	int64_t pr = opts != NULL ? sb_jint(opts, "private_files", 0, 100000) : 0;
	int susp = opts != NULL ? sb_jbool(opts, "suspended", 0) : 0;
	struct json_object *jt = NULL;

	if (count < 0 || start < 0 || sh < 0 || pr < 0 || susp < 0) {
		snprintf(err, errlen, "google generate needs a count (start, drive_files, "
		    "private_files: numbers; suspended: boolean)");
		return -1;
	}
	if (opts != NULL)
		json_object_object_get_ex(opts, "tokens", &jt);
	for (k = start; k < start + count; k++) {
		char email[384];
		struct go_user *u;

		snprintf(email, sizeof email, "%s%04" PRId64 "@%s", prefix != NULL ? prefix :
		    "user", k, domain != NULL ? domain : "example.com");
		if ((u = go_add(g, NULL, email, susp, 0, 0, sh, pr, 1, err, errlen)) == NULL ||
		    seed_tokens(u, jt, err, errlen) == -1)
			return -1;
		(*nusers)++;
	}
	return 0;
}

int
google_seed_generate(struct sb_org *org, struct json_object *jg, size_t *nusers, char *err,
    size_t errlen)
{
	struct json_object *opts;
	struct sb_google *g;
	int on;

	if ((on = sb_gen_flag(jg, "google", &opts, err, errlen)) <= 0)
		return on;
	if ((g = go_state(org, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return go_generate(g, jg, opts, nusers, err, errlen);
}

int
google_seed(struct sb_org *org, struct json_object *sec, size_t *nusers, char *err,
    size_t errlen)
{
	struct sb_google *g;
	struct json_object *arr, *jt;
	size_t i, n;
	int64_t v;

	if (!json_object_is_type(sec, json_type_object)) {
		snprintf(err, errlen, "google must be an object");
		return -1;
	}
	if ((g = go_state(org, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((v = sb_jint(sec, "transfer_polls", g->transfer_polls, 1000000)) == -1 ||
	    (g->transfer_polls = v, (v = sb_jint(sec, "transfer_ms", g->transfer_ms,
	    86400000)) == -1)) {
		snprintf(err, errlen, "google.transfer_polls and transfer_ms must be counts");
		return -1;
	}
	g->transfer_ms = v;
	if (json_object_object_get_ex(sec, "users", &arr)) {
		if (!json_object_is_type(arr, json_type_array)) {
			snprintf(err, errlen, "google.users must be an array");
			return -1;
		}
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			struct json_object *ju = json_object_array_get_idx(arr, i);
			struct go_user *u;
			int susp, adm, fail;
			int64_t sh, pr, ses;

			if (!json_object_is_type(ju, json_type_object)) {
				snprintf(err, errlen, "google.users[] entries must be objects");
				return -1;
			}
			susp = sb_jbool(ju, "suspended", 0);
			adm = sb_jbool(ju, "isAdmin", 0);
			fail = sb_jbool(ju, "fail", 0);
			sh = sb_jint(ju, "drive_files", 0, 100000000);
			pr = sb_jint(ju, "private_files", 0, 100000000);
			ses = sb_jint(ju, "sessions", 1, 1000000);
			if (susp < 0 || adm < 0 || fail < 0 || sh < 0 || pr < 0 || ses < 0) {
				snprintf(err, errlen, "google.users[%zu]: suspended, isAdmin, fail are "
				    "booleans; drive_files, private_files, sessions counts", i);
				return -1;
			}
			u = go_add(g, sb_jstr(ju, "id"), sb_jstr(ju, "primaryEmail"), susp, adm,
			    fail, sh, pr, ses, err, errlen);
			if (u == NULL)
				return -1;
			jt = NULL;
			json_object_object_get_ex(ju, "tokens", &jt);
			if (seed_tokens(u, jt, err, errlen) == -1)
				return -1;
			(*nusers)++;
		}
	}
	if (json_object_object_get_ex(sec, "generate", &arr)) {
		if (!json_object_is_type(arr, json_type_array)) {
			snprintf(err, errlen, "google.generate must be an array");
			return -1;
		}
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			struct json_object *jg = json_object_array_get_idx(arr, i);

			if (!json_object_is_type(jg, json_type_object)) {
				snprintf(err, errlen, "google.generate[] entries must be objects");
				return -1;
			}
			if (go_generate(g, jg, jg, nusers, err, errlen) == -1)
				return -1;
		}
	}
	return 0;
}

/* RFC 3339 UTC with milliseconds, as Google writes times. */
static void
go_iso(struct sb_buf *b, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char s[32];

	gmtime_r(&t, &tm);
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
	sb_buf_printf(b, "%s.%03dZ", s, (int)(ms % 1000));
}

static const char *
go_status_name(enum go_status s)
{
	switch (s) {
	case GO_NEW: return "new";
	case GO_IN_PROGRESS: return "inProgress";
	case GO_COMPLETED: return "completed";
	case GO_FAILED: return "failed";
	}
	return "new";
}

void
google_state_json(const struct sb_org *org, struct sb_buf *b)
{
	const struct sb_google *g = org->google;
	size_t i;

	if (g == NULL)
		return;
	sb_buf_puts(b, ",\"google\":{\"users\":[");
	for (i = 0; i < g->n; i++) {
		if (i > 0)
			sb_buf_putc(b, ',');
		go_state_user(g->users[i], b);
	}
	sb_buf_puts(b, "],\"transfers\":[");
	for (i = 0; i < g->nt; i++) {
		const struct go_transfer *t = g->transfers[i];

		sb_buf_printf(b, "%s{\"id\":\"%s\",\"oldOwnerUserId\":\"%s\",\"newOwnerUserId\":"
		    "\"%s\",\"overallTransferStatusCode\":\"%s\",\"polls\":%" PRId64 ",\"files\":%"
		    PRId64 "}", i > 0 ? "," : "", t->id, t->old_id, t->new_id,
		    go_status_name(t->status), t->polls, t->files);
	}
	sb_buf_puts(b, "]}");
}

/* One user as the state shows it. */
static void
go_state_user(const struct go_user *u, struct sb_buf *b)
{
	size_t k;

	sb_buf_printf(b, "{\"id\":\"%s\",\"primaryEmail\":", u->id);
	sb_buf_jstr(b, u->email);
	sb_buf_printf(b, ",\"suspended\":%s,\"isAdmin\":%s,\"sessions\":%" PRId64
	    ",\"drive_files\":%" PRId64 ",\"private_files\":%" PRId64 ",\"tokens\":[",
	    u->suspended ? "true" : "false", u->admin ? "true" : "false", u->sessions,
	    u->shared_files, u->private_files);
	for (k = 0; k < u->ntokens; k++) {
		if (k > 0)
			sb_buf_putc(b, ',');
		sb_buf_jstr(b, u->tokens[k].client_id);
	}
	sb_buf_puts(b, "]}");
}

int
google_user_state_json(const struct sb_org *org, const char *key, struct sb_buf *b)
{
	const struct sb_google *g = org->google;
	const struct go_user *u;

	if (g == NULL || ((u = sb_map_get(&g->by_id, key)) == NULL &&
	    (u = sb_map_get(&g->by_email, key)) == NULL))
		return -1;
	go_state_user(u, b);
	return 0;
}

/* ---- auth ----------------------------------------------------------------------------- */

/* 1 when the space-separated list has the scope. */
static int
scope_has(const char *list, const char *scope)
{
	size_t n = strlen(scope);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		if (strncmp(p, scope, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p = strchr(p, ' ');
	}
	return 0;
}

/*
 * Bearer check and the method's scope (ro_scope, if not NULL, also does for reads): 0, or
 * -1 with the 401/403 answer. The impersonated user must be an active admin.
 */
static int
go_auth(struct sb_call *c, const char *scope, const char *ro_scope)
{
	struct sb_issued *t;
	struct go_user *sub;
	int expired = 0;

	if (sb_static_bearer(c))
		return 0;
	if ((t = issued_find(c, "google", &expired)) == NULL) {
		go_error(c, 401, "authError", "global", "UNAUTHENTICATED", "Request had invalid "
		    "authentication credentials. Expected OAuth 2 access token, login cookie or "
		    "other valid authentication credential. See https://developers.google.com/"
		    "identity/sign-in/web/devconsole-project.");
		return -1;
	}
	if (!scope_has(t->scope, scope) && (ro_scope == NULL || !scope_has(t->scope, ro_scope))) {
		go_error(c, 403, "insufficientPermissions", "global", "PERMISSION_DENIED",
		    "Request had insufficient authentication scopes.");
		return -1;
	}
	sub = t->subject != NULL ? go_lookup(c->sb->org.google, t->subject) : NULL;
	if (sub == NULL || !sub->admin || sub->suspended) {
		go_error(c, 403, "forbidden", "global", NULL, "Not Authorized to access this "
		    "resource/api");
		return -1;
	}
	return 0;
}

/* ---- Directory API -------------------------------------------------------------------- */

static void
go_user_json(struct sb_buf *b, const struct go_user *u)
{
	const char *at = strchr(u->email, '@');

	sb_buf_printf(b, "{\"kind\":\"admin#directory#user\",\"id\":\"%s\",\"etag\":"
	    "\"\\\"sandbox/%s-%d\\\"\",\"primaryEmail\":", u->id, u->id, u->suspended);
	sb_buf_jstr(b, u->email);
	sb_buf_puts(b, ",\"name\":{\"fullName\":");
	sb_buf_jstrn(b, u->email, at != NULL ? (size_t)(at - u->email) : strlen(u->email));
	sb_buf_printf(b, "},\"isAdmin\":%s,\"isDelegatedAdmin\":false,\"agreedToTerms\":true,"
	    "\"suspended\":%s,", u->admin ? "true" : "false", u->suspended ? "true" : "false");
	if (u->suspended)
		sb_buf_puts(b, "\"suspensionReason\":\"ADMIN\",");
	sb_buf_puts(b, "\"archived\":false,\"changePasswordAtNextLogin\":false,\"ipWhitelisted\":"
	    "false,\"emails\":[{\"address\":");
	sb_buf_jstr(b, u->email);
	sb_buf_puts(b, ",\"primary\":true}],\"customerId\":\"C0sandbox\",\"orgUnitPath\":\"/\","
	    "\"isMailboxSetup\":true,\"isEnrolledIn2Sv\":false,\"isEnforcedIn2Sv\":false,"
	    "\"includeInGlobalAddressList\":true,\"creationTime\":\"2020-01-01T00:00:00.000Z\"}");
}

/* PUT/PATCH users/{userKey}: suspended (and a few harmless fields) are writable. */
static void
go_user_update(struct sb_call *c, struct go_user *u)
{
	size_t len;
	const char *body = sb_call_body(c, &len);
	char err[160];
	struct json_object *obj = sb_json_parse(body, len, err, sizeof err);
	int susp = -1;

	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		go_error(c, 400, "parseError", "global", "INVALID_ARGUMENT", "Invalid JSON payload "
		    "received. %s", obj == NULL ? err : "Expected an object.");
		return;
	}
	json_object_object_foreach(obj, key, val) {
		if (strcmp(key, "suspended") == 0) {
			if (!json_object_is_type(val, json_type_boolean)) {
				go_error(c, 400, "invalid", "global", "INVALID_ARGUMENT", "Invalid value "
				    "at 'resource.suspended' (TYPE_BOOL)");
				json_object_put(obj);
				return;
			}
			susp = json_object_get_boolean(val);
		} else if (strcmp(key, "primaryEmail") == 0 || strcmp(key, "orgUnitPath") == 0 ||
		    strcmp(key, "name") == 0 || strcmp(key, "suspensionReason") == 0 ||
		    strcmp(key, "id") == 0 || strcmp(key, "kind") == 0 || strcmp(key, "etag") == 0) {
			if (strcmp(key, "primaryEmail") == 0 &&
			    (!json_object_is_type(val, json_type_string) ||
			    strcasecmp(json_object_get_string(val), u->email) != 0)) {
				go_error(c, 400, "invalid", "global", "INVALID_ARGUMENT", "Renaming users "
				    "is not supported by the sandbox");
				json_object_put(obj);
				return;
			}
		} else {
			go_error(c, 400, "invalid", "global", "INVALID_ARGUMENT", "Invalid JSON "
			    "payload received. Unknown name \"%.80s\": Cannot find field.", key);
			json_object_put(obj);
			return;
		}
	}
	json_object_put(obj);
	if (susp != -1)
		u->suspended = susp;
	c->status = 200;
	go_user_json(&c->body, u);
}

static void
go_token_json(struct sb_buf *b, const struct go_user *u, const struct go_token *t)
{
	sb_buf_puts(b, "{\"kind\":\"admin#directory#token\",\"etag\":\"\\\"sandbox\\\"\","
	    "\"clientId\":");
	sb_buf_jstr(b, t->client_id);
	sb_buf_puts(b, ",\"displayText\":");
	sb_buf_jstr(b, t->display);
	sb_buf_printf(b, ",\"anonymous\":false,\"nativeApp\":false,\"userKey\":\"%s\","
	    "\"scopes\":[\"https://www.googleapis.com/auth/userinfo.email\"]}", u->id);
}

/* users/{userKey}/tokens[/{clientId}] */
static void
go_tokens(struct sb_call *c, struct go_user *u, const char *client_id)
{
	size_t i;

	if (client_id == NULL) {
		if (strcmp(c->method, "GET") != 0) {
			go_error(c, 405, "httpMethodNotAllowed", "global", NULL, "Method not allowed");
			return;
		}
		c->status = 200;
		sb_buf_puts(&c->body, "{\"kind\":\"admin#directory#tokens\",\"etag\":"
		    "\"\\\"sandbox\\\"\"");
		if (u->ntokens > 0) {
			sb_buf_puts(&c->body, ",\"items\":[");
			for (i = 0; i < u->ntokens; i++) {
				if (i > 0)
					sb_buf_putc(&c->body, ',');
				go_token_json(&c->body, u, &u->tokens[i]);
			}
			sb_buf_putc(&c->body, ']');
		}
		sb_buf_putc(&c->body, '}');
		return;
	}
	for (i = 0; i < u->ntokens; i++)
		if (strcmp(u->tokens[i].client_id, client_id) == 0)
			break;
	if (i == u->ntokens) {
		go_not_found(c, "clientId");
		return;
	}
	if (strcmp(c->method, "GET") == 0) {
		c->status = 200;
		go_token_json(&c->body, u, &u->tokens[i]);
	} else if (strcmp(c->method, "DELETE") == 0) {
		free(u->tokens[i].client_id);
		free(u->tokens[i].display);
		memmove(&u->tokens[i], &u->tokens[i + 1], (u->ntokens - i - 1) * sizeof *u->tokens);
		u->ntokens--;
		c->status = 204;
	} else
		go_error(c, 405, "httpMethodNotAllowed", "global", NULL, "Method not allowed");
}

/* /admin/directory/v1/users/{userKey}[/signOut|/tokens[/{clientId}]] (p->seg[4] = key) */
static void
go_users(struct sb_call *c, struct sb_path *p)
{
	struct go_user *u;
	int get = strcmp(c->method, "GET") == 0;

	if (p->n < 5) {
		/* users.list is not emulated */
		go_error(c, 400, "badRequest", "global", "INVALID_ARGUMENT", "Bad Request");
		return;
	}
	if (p->n == 5 && (get ? go_auth(c, GO_SCOPE_USER, GO_SCOPE_USER_RO) :
	    go_auth(c, GO_SCOPE_USER, NULL)) == -1)
		return;
	if (p->n >= 6 && go_auth(c, GO_SCOPE_SECURITY, NULL) == -1)
		return;
	if ((u = go_lookup(c->sb->org.google, p->seg[4])) == NULL) {
		go_not_found(c, "userKey");
		return;
	}
	snprintf(c->user, sizeof c->user, "%s", u->id);
	if (p->n == 5) {
		if (get) {
			c->status = 200;
			go_user_json(&c->body, u);
		} else if (strcmp(c->method, "PUT") == 0 || strcmp(c->method, "PATCH") == 0)
			go_user_update(c, u);
		else
			go_error(c, 405, "httpMethodNotAllowed", "global", NULL, "Method not allowed");
		return;
	}
	if (p->n == 6 && strcmp(p->seg[5], "signOut") == 0) {
		if (strcmp(c->method, "POST") != 0) {
			go_error(c, 405, "httpMethodNotAllowed", "global", NULL, "Method not allowed");
			return;
		}
		u->sessions = 0;
		c->status = 204;
		return;
	}
	if ((p->n == 6 || p->n == 7) && strcmp(p->seg[5], "tokens") == 0) {
		go_tokens(c, u, p->n == 7 ? p->seg[6] : NULL);
		return;
	}
	go_not_found(c, p->seg[5]);
}

/* ---- Data Transfer API ---------------------------------------------------------------- */

static void
go_transfer_json(struct sb_buf *b, const struct go_transfer *t)
{
	const char *st = go_status_name(t->status);

	sb_buf_printf(b, "{\"kind\":\"admin#datatransfer#DataTransfer\",\"etag\":"
	    "\"\\\"sandbox/%s/%s\\\"\",\"id\":\"%s\",\"oldOwnerUserId\":\"%s\",\"newOwnerUserId\":"
	    "\"%s\",\"applicationDataTransfers\":[{\"applicationId\":\"%s\","
	    "\"applicationTransferParams\":[", t->id, st, t->id, t->old_id, t->new_id, t->app_id);
	if (strcmp(t->app_id, GO_DRIVE_APP) == 0)
		sb_buf_printf(b, "{\"key\":\"PRIVACY_LEVEL\",\"value\":[%s%s%s]}", t->private_too ?
		    "\"PRIVATE\"" : "", t->private_too && t->shared ? "," : "", t->shared ?
		    "\"SHARED\"" : "");
	sb_buf_printf(b, "],\"applicationTransferStatus\":\"%s\"}],\"overallTransferStatusCode\":"
	    "\"%s\",\"requestTime\":\"", t->status == GO_NEW ? "pending" : st, st);
	go_iso(b, t->request_ms);
	sb_buf_puts(b, "\"}");
}

/* Move a transfer on: done after transfer_polls GETs and transfer_ms ms. */
static void
go_transfer_tick(struct sb_google *g, struct go_transfer *t, int poll)
{
	struct go_user *from, *to;

	if (t->status == GO_COMPLETED || t->status == GO_FAILED)
		return;
	if (poll)
		t->polls++;
	if (t->status == GO_NEW && poll)
		t->status = GO_IN_PROGRESS;
	if (t->polls < g->transfer_polls || sb_mono_ms() - t->created_ms < g->transfer_ms)
		return;
	from = sb_map_get(&g->by_id, t->old_id);
	to = sb_map_get(&g->by_id, t->new_id);
	if (from == NULL || to == NULL || from->fail) {
		t->status = GO_FAILED;
		return;
	}
	t->files = 0;
	if (strcmp(t->app_id, GO_DRIVE_APP) == 0) {
		if (t->shared) {
			t->files += from->shared_files;
			to->shared_files += from->shared_files;
			from->shared_files = 0;
		}
		if (t->private_too) {
			t->files += from->private_files;
			to->private_files += from->private_files;
			from->private_files = 0;
		}
	}
	t->status = GO_COMPLETED;
}

/* POST /admin/datatransfer/v1/transfers */
static void
go_transfer_insert(struct sb_call *c)
{
	struct sb_google *g = go_state(&c->sb->org, 1);
	size_t len, i, n;
	const char *body = sb_call_body(c, &len), *oid, *nid, *app = NULL;
	char err[160];
	struct json_object *obj = sb_json_parse(body, len, err, sizeof err), *adts, *adt, *params;
	struct go_user *from, *to;
	struct go_transfer *t, **nt;
	int priv = 0, shared = 0, have_level = 0;

	if (g == NULL) {
		go_error(c, 500, "backendError", "global", NULL, "out of memory");
		goto done;
	}
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		go_error(c, 400, "parseError", "global", "INVALID_ARGUMENT", "Invalid JSON payload "
		    "received. %s", obj == NULL ? err : "Expected an object.");
		goto done;
	}
	oid = sb_jstr(obj, "oldOwnerUserId");
	nid = sb_jstr(obj, "newOwnerUserId");
	if (oid != NULL)
		snprintf(c->user, sizeof c->user, "%s", oid);
	if (oid == NULL || nid == NULL || (from = sb_map_get(&g->by_id, oid)) == NULL ||
	    (to = sb_map_get(&g->by_id, nid)) == NULL) {
		go_error(c, 400, "invalid", "global", "INVALID_ARGUMENT", "Invalid value for: %s is "
		    "not a valid user id", oid == NULL || sb_map_get(&g->by_id, oid) == NULL ?
		    "oldOwnerUserId" : "newOwnerUserId");
		goto done;
	}
	if (from == to) {
		go_error(c, 400, "invalid", "global", "INVALID_ARGUMENT", "The source and "
		    "destination users must differ");
		goto done;
	}
	if (to->suspended) {
		go_error(c, 400, "invalid", "global", "INVALID_ARGUMENT", "The destination user "
		    "is suspended");
		goto done;
	}
	if (!json_object_object_get_ex(obj, "applicationDataTransfers", &adts) ||
	    !json_object_is_type(adts, json_type_array) || json_object_array_length(adts) != 1 ||
	    !json_object_is_type((adt = json_object_array_get_idx(adts, 0)), json_type_object) ||
	    (app = sb_jstr(adt, "applicationId")) == NULL ||
	    (strcmp(app, GO_DRIVE_APP) != 0 && strcmp(app, GO_CAL_APP) != 0)) {
		go_error(c, 400, "invalid", "global", "INVALID_ARGUMENT", "Invalid value for: "
		    "applicationDataTransfers (one known applicationId; the sandbox knows %s and "
		    "%s)", GO_DRIVE_APP, GO_CAL_APP);
		goto done;
	}
	if (json_object_object_get_ex(adt, "applicationTransferParams", &params)) {
		n = json_object_is_type(params, json_type_array) ? json_object_array_length(params) :
		    0;
		for (i = 0; i < n; i++) {
			struct json_object *pm = json_object_array_get_idx(params, i), *vals;
			const char *key = sb_jstr(pm, "key");
			size_t k, nv;

			if (key == NULL || strcmp(key, "PRIVACY_LEVEL") != 0)
				continue;
			have_level = 1;
			if (!json_object_object_get_ex(pm, "value", &vals) ||
			    !json_object_is_type(vals, json_type_array))
				continue;
			nv = json_object_array_length(vals);
			for (k = 0; k < nv; k++) {
				const char *s = json_object_get_string(json_object_array_get_idx(vals,
				    k));
				if (s != NULL && strcmp(s, "PRIVATE") == 0)
					priv = 1;
				else if (s != NULL && strcmp(s, "SHARED") == 0)
					shared = 1;
				else {
					go_error(c, 400, "invalid", "global", "INVALID_ARGUMENT",
					    "Invalid PRIVACY_LEVEL value '%.40s'", s != NULL ? s : "");
					goto done;
				}
			}
		}
	}
	if (!have_level)
		shared = 1; /* the documented default is SHARED only */
	if (g->nt == g->capt) {
		size_t ncap = g->capt == 0 ? 16 : g->capt * 2;
		if ((nt = realloc(g->transfers, ncap * sizeof *nt)) == NULL) {
			go_error(c, 500, "backendError", "global", NULL, "out of memory");
			goto done;
		}
		g->transfers = nt;
		g->capt = ncap;
	}
	if ((t = calloc(1, sizeof *t)) == NULL) {
		go_error(c, 500, "backendError", "global", NULL, "out of memory");
		goto done;
	}
	g->next_transfer++;
	snprintf(t->id, sizeof t->id, "AKrEtIbSandbox%06" PRIu64 "Tr", g->next_transfer);
	snprintf(t->old_id, sizeof t->old_id, "%s", from->id);
	snprintf(t->new_id, sizeof t->new_id, "%s", to->id);
	snprintf(t->app_id, sizeof t->app_id, "%s", app);
	t->private_too = priv;
	t->shared = shared;
	t->status = GO_NEW;
	t->created_ms = sb_mono_ms();
	t->request_ms = sb_now_ms();
	t->files = (shared ? from->shared_files : 0) + (priv ? from->private_files : 0);
	g->transfers[g->nt++] = t;
	c->count = (uint32_t)(t->files > UINT32_MAX ? UINT32_MAX : t->files);
	go_transfer_tick(g, t, 0);
	c->status = 200;
	go_transfer_json(&c->body, t);
done:
	json_object_put(obj);
}

static struct go_transfer *
go_transfer_by_id(struct sb_google *g, const char *id)
{
	size_t i;

	for (i = 0; g != NULL && i < g->nt; i++)
		if (strcmp(g->transfers[i]->id, id) == 0)
			return g->transfers[i];
	return NULL;
}

/* /admin/datatransfer/v1/{applications|transfers}[/{id}] (p->seg[3] = collection) */
static void
go_dt(struct sb_call *c, struct sb_path *p)
{
	struct sb_google *g = c->sb->org.google;
	int get = strcmp(c->method, "GET") == 0;
	struct go_transfer *t;
	struct sb_form q = { 0 };
	size_t i, shown = 0;

	if (go_auth(c, GO_SCOPE_DT, get ? GO_SCOPE_DT_RO : NULL) == -1)
		return;
	if (p->n >= 5 && strcmp(p->seg[4], "applications") == 0 && get) {
		c->action = ACT_READ;
		c->status = 200;
		if (p->n == 5)
			sb_buf_puts(&c->body, "{\"kind\":\"admin#datatransfer#applicationsList\","
			    "\"etag\":\"\\\"sandbox\\\"\",\"applications\":[" GO_DRIVE_JSON ","
			    GO_CAL_JSON "]}");
		else if (p->n == 6 && strcmp(p->seg[5], GO_DRIVE_APP) == 0)
			sb_buf_puts(&c->body, GO_DRIVE_JSON);
		else if (p->n == 6 && strcmp(p->seg[5], GO_CAL_APP) == 0)
			sb_buf_puts(&c->body, GO_CAL_JSON);
		else
			go_not_found(c, "applicationId");
		return;
	}
	if (p->n < 5 || strcmp(p->seg[4], "transfers") != 0) {
		go_not_found(c, p->n >= 5 ? p->seg[4] : "datatransfer");
		return;
	}
	if (p->n == 5 && strcmp(c->method, "POST") == 0) {
		go_transfer_insert(c);
		return;
	}
	if (!get) {
		go_error(c, 405, "httpMethodNotAllowed", "global", NULL, "Method not allowed");
		return;
	}
	if (p->n == 6) {
		if ((t = go_transfer_by_id(g, p->seg[5])) == NULL) {
			go_not_found(c, "dataTransferId");
			return;
		}
		snprintf(c->user, sizeof c->user, "%s", t->old_id);
		go_transfer_tick(g, t, 1);
		c->status = 200;
		go_transfer_json(&c->body, t);
		return;
	}
	/* list: oldOwnerUserId, newOwnerUserId, status filters (one page) */
	if (sb_form_parse(&q, c->query != NULL ? c->query : "", c->query != NULL ?
	    strlen(c->query) : 0) == -1) {
		go_error(c, 400, "invalid", "global", "INVALID_ARGUMENT", "Invalid query string");
		return;
	}
	{
		const char *oid = sb_form_get(&q, "oldOwnerUserId");
		const char *nid = sb_form_get(&q, "newOwnerUserId");
		const char *st = sb_form_get(&q, "status");

		if (oid != NULL)
			snprintf(c->user, sizeof c->user, "%s", oid);
		c->status = 200;
		sb_buf_puts(&c->body, "{\"kind\":\"admin#datatransfer#dataTransfersList\","
		    "\"etag\":\"\\\"sandbox\\\"\",\"dataTransfers\":[");
		for (i = 0; g != NULL && i < g->nt; i++) {
			t = g->transfers[i];
			go_transfer_tick(g, t, 0);
			if ((oid != NULL && strcmp(oid, t->old_id) != 0) ||
			    (nid != NULL && strcmp(nid, t->new_id) != 0) ||
			    (st != NULL && strcmp(st, go_status_name(t->status)) != 0))
				continue;
			if (shown++ > 0)
				sb_buf_putc(&c->body, ',');
			go_transfer_json(&c->body, t);
		}
		sb_buf_puts(&c->body, "]}");
	}
	sb_form_free(&q);
}

/* ---- token endpoint ------------------------------------------------------------------- */

/* POST /google/token: the JWT bearer grant of a service account. */
static void
go_token_endpoint(struct sb_call *c)
{
	static const char *const allowed[] = { GO_SCOPE_USER, GO_SCOPE_USER_RO, GO_SCOPE_SECURITY,
		GO_SCOPE_DT, GO_SCOPE_DT_RO, NULL };
	struct sandbox *sb = c->sb;
	size_t len, i;
	const char *body = sb_call_body(c, &len), *grant, *assertion, *why, *scope, *sub, *aud,
	    *host;
	struct sb_form form = { 0 };
	struct json_object *hdr = NULL, *cl = NULL, *v;
	struct sb_issued *t;
	struct go_user *u;
	char own[512];
	double iat, exp, now = (double)sb_now_ms() / 1000.0;

	if (strcmp(c->method, "POST") != 0) {
		go_oauth_error(c, 405, "invalid_request", "POST only");
		return;
	}
	if (sb_form_parse(&form, body, len) == -1) {
		go_oauth_error(c, 400, "invalid_request", "Malformed form body");
		return;
	}
	grant = sb_form_get(&form, "grant_type");
	assertion = sb_form_get(&form, "assertion");
	if (grant == NULL || strcmp(grant, "urn:ietf:params:oauth:grant-type:jwt-bearer") != 0) {
		go_oauth_error(c, 400, "unsupported_grant_type", "Invalid grant_type: ");
		goto done;
	}
	if (assertion == NULL || sb_jwt_verify(sb, assertion, &hdr, &cl, &why) == -1) {
		go_oauth_error(c, 400, "invalid_grant", assertion == NULL ? "Missing required "
		    "parameter: assertion" : "Invalid JWT Signature.");
		goto done;
	}
	if (sb_jstr(cl, "iss") == NULL || strcmp(sb_jstr(cl, "iss"), sb->google_client_email)) {
		go_oauth_error(c, 400, "invalid_grant", "Invalid grant: account not found");
		goto done;
	}
	host = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Host");
	snprintf(own, sizeof own, "http://%s/google/token", host != NULL ? host : "");
	aud = sb_jstr(cl, "aud");
	if (aud == NULL || (strcmp(aud, GO_AUD) != 0 && strcmp(aud, own) != 0)) {
		go_oauth_error(c, 400, "invalid_grant", "Invalid JWT: Failed audience check. The "
		    "audience in the JWT claim must be the token endpoint.");
		goto done;
	}
	if (!json_object_object_get_ex(cl, "iat", &v) || (iat = json_object_get_double(v)) <= 0 ||
	    !json_object_object_get_ex(cl, "exp", &v) || (exp = json_object_get_double(v)) <= 0 ||
	    exp <= now || exp - iat > GO_JWT_MAX_S || iat > now + 300) {
		go_oauth_error(c, 400, "invalid_grant", "Invalid JWT: Token must be a short-lived "
		    "token (60 minutes) and in a reasonable timeframe. Check your iat and exp values "
		    "in the JWT claim.");
		goto done;
	}
	scope = sb_jstr(cl, "scope");
	if (scope == NULL || scope[0] == '\0') {
		go_oauth_error(c, 400, "invalid_scope", "Invalid OAuth scope or ID token audience "
		    "provided.");
		goto done;
	}
	for (const char *p = scope; *p != '\0';) {
		size_t n;
		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n == 0)
			break;
		for (i = 0; allowed[i] != NULL; i++)
			if (strlen(allowed[i]) == n && strncmp(allowed[i], p, n) == 0)
				break;
		if (allowed[i] == NULL) {
			go_oauth_error(c, 401, "unauthorized_client", "Client is unauthorized to "
			    "retrieve access tokens using this method, or client not authorized for "
			    "any of the scopes requested.");
			goto done;
		}
		p += n;
	}
	sub = sb_jstr(cl, "sub");
	u = sub != NULL ? go_lookup(sb->org.google, sub) : NULL;
	if (sub != NULL && (u == NULL || u->suspended)) {
		go_oauth_error(c, 400, "invalid_grant", "Invalid email or User ID");
		goto done;
	}
	if ((t = issued_new(sb, "google", scope, u != NULL ? u->email : NULL)) == NULL) {
		go_oauth_error(c, 500, "internal_failure", "out of memory");
		goto done;
	}
	c->status = 200;
	c->ctype = "application/json; charset=utf-8";
	sb_buf_printf(&c->body, "{\"access_token\":\"%s\",\"expires_in\":%" PRId64 ","
	    "\"token_type\":\"Bearer\"}", t->token, sb->token_ttl_s);
done:
	json_object_put(hdr);
	json_object_put(cl);
	sb_form_free(&form);
}

/* ---- dispatch ------------------------------------------------------------------------- */

void
google_handle(struct sb_call *c)
{
	struct sb_path p;

	c->target = "google";
	c->ctype = "application/json; charset=UTF-8";
	if (sb_path_split(c->path, &p, GO_MAX_SEGS) == -1) {
		go_not_found(c, "path");
		return;
	}
	google_classify(c);
	if (p.n == 2 && strcmp(p.seg[1], "token") == 0)
		go_token_endpoint(c);
	else if (p.n >= 4 && strcmp(p.seg[1], "admin") == 0 && strcmp(p.seg[2], "directory") == 0 &&
	    strcmp(p.seg[3], "v1") == 0 && p.n >= 5 && strcmp(p.seg[4], "users") == 0) {
		/* shift so that seg[4] is the user key */
		struct sb_path q = p;
		size_t i;

		for (i = 0; i + 1 < q.n; i++)
			q.seg[i] = p.seg[i + 1];
		q.n = p.n - 1;
		go_users(c, &q);
	} else if (p.n >= 5 && strcmp(p.seg[1], "admin") == 0 &&
	    strcmp(p.seg[2], "datatransfer") == 0 && strcmp(p.seg[3], "v1") == 0)
		go_dt(c, &p);
	else
		go_not_found(c, c->path);
	sb_path_free(&p);
}

/* The log's action and user from the request alone (also for faulted requests). */
void
google_classify(struct sb_call *c)
{
	struct sb_google *g = c->sb->org.google;
	struct sb_path p;
	struct go_user *u;
	int get = strcmp(c->method, "GET") == 0;

	c->target = "google";
	if (sb_path_split(c->path, &p, GO_MAX_SEGS) == -1)
		return;
	if (p.n == 2 && strcmp(p.seg[1], "token") == 0) {
		c->action = ACT_TOKEN;
	} else if (p.n >= 6 && strcmp(p.seg[2], "directory") == 0 &&
	    strcmp(p.seg[4], "users") == 0) {
		if ((u = go_lookup(g, p.seg[5])) != NULL)
			snprintf(c->user, sizeof c->user, "%s", u->id);
		if (p.n == 6 && get)
			c->action = ACT_READ;
		else if (p.n == 6 && (strcmp(c->method, "PUT") == 0 ||
		    strcmp(c->method, "PATCH") == 0)) {
			size_t len;
			const char *body = sb_call_body(c, &len);
			char err[64];
			struct json_object *obj = sb_json_parse(body, len, err, sizeof err), *v;

			if (obj != NULL && json_object_is_type(obj, json_type_object) &&
			    json_object_object_get_ex(obj, "suspended", &v) &&
			    json_object_is_type(v, json_type_boolean))
				c->action = json_object_get_boolean(v) ? ACT_FREEZE : ACT_UNFREEZE;
			json_object_put(obj);
		} else if (p.n == 7 && strcmp(p.seg[6], "signOut") == 0)
			c->action = ACT_REVOKE;
		else if (p.n >= 7 && strcmp(p.seg[6], "tokens") == 0)
			c->action = strcmp(c->method, "DELETE") == 0 ? ACT_REVOKE : ACT_READ;
	} else if (p.n >= 5 && strcmp(p.seg[2], "datatransfer") == 0) {
		if (p.n == 5 && strcmp(p.seg[4], "transfers") == 0 &&
		    strcmp(c->method, "POST") == 0) {
			size_t len;
			const char *body = sb_call_body(c, &len);
			char err[64];
			struct json_object *obj = sb_json_parse(body, len, err, sizeof err);
			const char *oid = obj != NULL && json_object_is_type(obj, json_type_object) ?
			    sb_jstr(obj, "oldOwnerUserId") : NULL;

			c->action = ACT_REASSIGN;
			if (oid != NULL)
				snprintf(c->user, sizeof c->user, "%s", oid);
			json_object_put(obj);
		} else if (get) {
			struct go_transfer *t = p.n == 6 && strcmp(p.seg[4], "transfers") == 0 ?
			    go_transfer_by_id(g, p.seg[5]) : NULL;

			c->action = ACT_READ;
			if (t != NULL)
				snprintf(c->user, sizeof c->user, "%s", t->old_id);
		}
	}
	sb_path_free(&p);
}

/* The body of an injected status fault: Google's error (token endpoint: OAuth form). */
void
google_fault_body(struct sb_call *c, int status)
{
	if (strcmp(c->path, "/google/token") == 0) {
		go_oauth_error(c, status, status >= 500 ? "internal_failure" : "invalid_request",
		    "Injected failure");
		return;
	}
	switch (status) {
	case 400:
		go_error(c, 400, "badRequest", "global", "INVALID_ARGUMENT", "Bad Request");
		break;
	case 401:
		go_error(c, 401, "authError", "global", "UNAUTHENTICATED", "Request had invalid "
		    "authentication credentials. Expected OAuth 2 access token, login cookie or "
		    "other valid authentication credential.");
		break;
	case 403:
		go_error(c, 403, "userRateLimitExceeded", "usageLimits", "PERMISSION_DENIED",
		    "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per "
		    "user' of service 'admin.googleapis.com'.");
		break;
	case 404:
		go_not_found(c, "userKey");
		break;
	case 429:
		go_error(c, 429, "rateLimitExceeded", "usageLimits", "RESOURCE_EXHAUSTED",
		    "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of "
		    "service 'admin.googleapis.com'.");
		break;
	case 503:
		go_error(c, 503, "backendError", "global", "UNAVAILABLE", "The service is currently "
		    "unavailable.");
		break;
	default:
		go_error(c, status, "backendError", "global", status >= 500 ? "INTERNAL" : NULL,
		    "Backend Error");
		break;
	}
}
