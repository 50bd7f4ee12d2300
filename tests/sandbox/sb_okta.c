/*
 * sb_okta.c: the Okta Management API's users under /okta/api/v1/users (docs/SANDBOX.md): users
 * with a status and a login, read by id or login; the lifecycle state rules (suspend only from
 * ACTIVE, unsuspend only from SUSPENDED, anything but DEPROVISIONED can be deactivated, else
 * 400 E0000001 or 404 E0000007 as Okta answers; activate from STAGED or DEPROVISIONED, to
 * ACTIVE with a password or PROVISIONED without one, and deactivation drops the password, so a
 * reactivated user waits in PROVISIONED); sessions (with OAuth tokens) and grants;
 * DELETE of a user (first deactivates, then deletes); Okta error bodies; SSWS (or bearer)
 * authentication; X-Rate-Limit-Limit/-Remaining/-Reset on every answer and 429 E0000047 past a
 * fixed-window limit (--okta-rate-limit / --okta-rate-window or the seed's "okta" section).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "sandbox.h"

#define OKTA_ID_LEN 20
#define OKTA_NOMINAL_LIMIT 1000000 /* the headers' limit when none is configured */

enum ostatus {
	OS_STAGED = 0,
	OS_PROVISIONED,
	OS_ACTIVE,
	OS_RECOVERY,
	OS_PASSWORD_EXPIRED,
	OS_LOCKED_OUT,
	OS_SUSPENDED,
	OS_DEPROVISIONED,
	OS_COUNT
};

static const char *const ostatus_names[OS_COUNT] = {
	"STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT",
	"SUSPENDED", "DEPROVISIONED",
};

struct okta_u {
	char id[OKTA_ID_LEN + 1];
	char *login, *email, *first, *last;
	enum ostatus status;
	int64_t created_ms, activated_ms, status_changed_ms, updated_ms;
	int64_t sessions, grants, tokens;
	int password; /* has a password: activate makes it ACTIVE, not PROVISIONED */
	int deleted;
};

struct sb_okta {
	struct okta_u **users;
	size_t nusers, capusers, ndeleted;
	struct sb_map by_id, by_login;
	uint64_t next_id;
	int64_t rate_limit;    /* seed override; -1: the command line's */
	int64_t rate_window_s; /* seed override; 0: the command line's */
	int64_t win, win_count;
	uint64_t rate_limited;
};

/* What a request is, from its path and method alone. */
enum oroute { OR_NONE = 0, OR_USER, OR_LIFECYCLE, OR_SESSIONS, OR_GRANTS };

struct oreq {
	enum oroute route;
	char key[512];  /* id or login, %-decoded */
	char op[32];    /* lifecycle operation */
};

static int oreq_parse(const char *path, struct oreq *r);
static struct sb_okta *okta_get(struct sb_org *org);
static struct okta_u *okta_find(const struct sb_okta *o, const char *key);
static struct okta_u *user_add(struct sb_okta *o, const char *id, const char *login,
    const char *email, const char *first, const char *last, enum ostatus st, int64_t sessions,
    int64_t grants, int64_t tokens, char *err, size_t errlen);
static void ouser_free(struct okta_u *u);
static void state_user(const struct okta_u *u, int with_deleted, struct sb_buf *b);
static void okta_err(struct sb_call *c, int status, const char *code, const char *summary,
    const char *cause);
static void rate_headers(struct sb_call *c, int count);
static int authorized(struct sb_call *c);
static void user_json(struct sb_call *c, const struct okta_u *u, struct sb_buf *b);
static void set_status(struct okta_u *u, enum ostatus st);
static int status_parse(const char *s);

/* /okta/api/v1/users/{key}[/lifecycle/{op} | /sessions | /grants] */
static int
oreq_parse(const char *path, struct oreq *r)
{
	const char *p, *slash;
	char *key;
	size_t n;

	memset(r, 0, sizeof *r);
	if (strncmp(path, "/okta/api/v1/users/", 19) != 0)
		return -1;
	p = path + 19;
	slash = strchr(p, '/');
	n = slash != NULL ? (size_t)(slash - p) : strlen(p);
	if (n == 0 || (key = sb_url_decode(p, n, 0)) == NULL)
		return -1;
	if (strlen(key) >= sizeof r->key) {
		free(key);
		return -1;
	}
	memcpy(r->key, key, strlen(key) + 1);
	free(key);
	if (slash == NULL || strcmp(slash, "/") == 0)
		r->route = OR_USER;
	else if (strcmp(slash, "/sessions") == 0)
		r->route = OR_SESSIONS;
	else if (strcmp(slash, "/grants") == 0)
		r->route = OR_GRANTS;
	else if (strncmp(slash, "/lifecycle/", 11) == 0 && strlen(slash + 11) < sizeof r->op &&
	    slash[11] != '\0' && strchr(slash + 11, '/') == NULL) {
		r->route = OR_LIFECYCLE;
		memcpy(r->op, slash + 11, strlen(slash + 11) + 1);
	} else
		return -1;
	return 0;
}

static struct sb_okta *
okta_get(struct sb_org *org)
{
	if (org->okta != NULL)
		return org->okta;
	if ((org->okta = calloc(1, sizeof *org->okta)) == NULL)
		return NULL;
	sb_map_init(&org->okta->by_id, 0, 0);
	sb_map_init(&org->okta->by_login, 1, 0);
	org->okta->rate_limit = -1;
	return org->okta;
}

static void
ouser_free(struct okta_u *u)
{
	free(u->login);
	free(u->email);
	free(u->first);
	free(u->last);
	free(u);
}

void
sb_okta_free(struct sb_okta *o)
{
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < o->nusers; i++)
		ouser_free(o->users[i]);
	free(o->users);
	sb_map_free(&o->by_id);
	sb_map_free(&o->by_login);
	free(o);
}

/* By id, then by login (as Okta's {id} path parameter allows). */
static struct okta_u *
okta_find(const struct sb_okta *o, const char *key)
{
	struct okta_u *u;

	if (o == NULL)
		return NULL;
	if ((u = sb_map_get(&o->by_id, key)) == NULL)
		u = sb_map_get(&o->by_login, key);
	return u != NULL && !u->deleted ? u : NULL;
}

static int
status_parse(const char *s)
{
	int i;

	for (i = 0; i < OS_COUNT; i++)
		if (strcmp(s, ostatus_names[i]) == 0)
			return i;
	return -1;
}

static void
set_status(struct okta_u *u, enum ostatus st)
{
	int64_t now = sb_now_ms();

	if (st == OS_ACTIVE && u->activated_ms == 0)
		u->activated_ms = now;
	u->status = st;
	u->status_changed_ms = u->updated_ms = now;
}

static struct okta_u *
user_add(struct sb_okta *o, const char *id, const char *login, const char *email,
    const char *first, const char *last, enum ostatus st, int64_t sessions, int64_t grants,
    int64_t tokens, char *err, size_t errlen)
{
	struct okta_u *u = NULL;
	size_t i;

	if (login == NULL || login[0] == '\0') {
		snprintf(err, errlen, "okta: user without a login");
		return NULL;
	}
	if (sb_map_get(&o->by_login, login) != NULL) {
		snprintf(err, errlen, "okta: duplicate login '%s'", login);
		return NULL;
	}
	if (id != NULL) {
		if (strlen(id) != OKTA_ID_LEN) {
			snprintf(err, errlen, "okta: bad id '%s' (20 letters and digits)", id);
			return NULL;
		}
		for (i = 0; id[i] != '\0'; i++)
			if (!isalnum((unsigned char)id[i])) {
				snprintf(err, errlen, "okta: bad id '%s' (20 letters and digits)", id);
				return NULL;
			}
		if (sb_map_get(&o->by_id, id) != NULL) {
			snprintf(err, errlen, "okta: duplicate id '%s'", id);
			return NULL;
		}
	}
	if (o->nusers == o->capusers) {
		size_t ncap = o->capusers == 0 ? 64 : o->capusers * 2;
		struct okta_u **nu = realloc(o->users, ncap * sizeof *nu);
		if (nu == NULL)
			goto oom;
		o->users = nu;
		o->capusers = ncap;
	}
	if ((u = calloc(1, sizeof *u)) == NULL)
		goto oom;
	if (id != NULL)
		memcpy(u->id, id, OKTA_ID_LEN + 1);
	else {
		do {
			o->next_id++;
			snprintf(u->id, sizeof u->id, "00u%014" PRIu64 "sbx", (uint64_t)(o->next_id % 100000000000000ULL));
		} while (sb_map_get(&o->by_id, u->id) != NULL);
	}
	if ((u->login = sb_strdup(login)) == NULL ||
	    (u->email = sb_strdup(email != NULL ? email : login)) == NULL ||
	    (u->first = sb_strdup(first != NULL ? first : "Test")) == NULL ||
	    (u->last = sb_strdup(last != NULL ? last : "User")) == NULL)
		goto oom;
	u->created_ms = u->updated_ms = u->status_changed_ms = sb_now_ms();
	u->status = st;
	if (st != OS_STAGED && st != OS_PROVISIONED)
		u->activated_ms = u->created_ms;
	/* users that signed in have one; deactivated users lost theirs */
	u->password = st != OS_STAGED && st != OS_PROVISIONED && st != OS_DEPROVISIONED;
	u->sessions = sessions;
	u->grants = grants;
	u->tokens = tokens;
	if (sb_map_put(&o->by_id, u->id, u) == -1)
		goto oom;
	if (sb_map_put(&o->by_login, u->login, u) == -1) {
		sb_map_del(&o->by_id, u->id, u);
		goto oom;
	}
	o->users[o->nusers++] = u;
	return u;
oom:
	if (u != NULL)
		ouser_free(u);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

/* ---- seeds and state ------------------------------------------------------------------ */

/* status, sessions, grants, tokens of a users[] or generate[] entry. */
static int
user_params(struct json_object *j, enum ostatus *st, int64_t *sessions, int64_t *grants,
    int64_t *tokens, char *err, size_t errlen)
{
	const char *s = sb_jstr(j, "status");
	int k;

	*st = OS_ACTIVE;
	if (s != NULL) {
		if ((k = status_parse(s)) == -1) {
			snprintf(err, errlen, "okta: unknown status '%s'", s);
			return -1;
		}
		*st = (enum ostatus)k;
	} else if (json_object_object_get_ex(j, "status", NULL)) {
		snprintf(err, errlen, "okta: status must be a string");
		return -1;
	}
	if (sb_jint_in(j, "okta", "sessions", 0, 1000000, 1, sessions, err, errlen) == -1 ||
	    sb_jint_in(j, "okta", "grants", 0, 1000000, 1, grants, err, errlen) == -1 ||
	    sb_jint_in(j, "okta", "tokens", 0, 1000000, 1, tokens, err, errlen) == -1)
		return -1;
	return 0;
}

static int
generate(struct sb_okta *o, struct json_object *g, size_t *nusers, char *err, size_t errlen)
{
	const char *prefix = sb_jstr(g, "prefix"), *domain = sb_jstr(g, "domain");
	int64_t start, count, i, sessions, grants, tokens;
	enum ostatus st;

	if (prefix == NULL)
		prefix = "user";
	if (domain == NULL)
		domain = "example.com";
	if (sb_jint_in(g, "okta", "start", 0, INT64_MAX / 2, 1, &start, err, errlen) == -1 ||
	    sb_jint_in(g, "okta", "count", 0, 10000000, -1, &count, err, errlen) == -1)
		return -1;
	if (count < 0) {
		snprintf(err, errlen, "okta: generate needs a count");
		return -1;
	}
	if (user_params(g, &st, &sessions, &grants, &tokens, err, errlen) == -1)
		return -1;
	for (i = start; i < start + count; i++) {
		char emp[128], login[384];

		snprintf(emp, sizeof emp, "%s%04" PRId64, prefix, i);
		snprintf(login, sizeof login, "%s@%s", emp, domain);
		if (user_add(o, NULL, login, login, NULL, emp, st, sessions, grants, tokens, err,
		    errlen) == NULL)
			return -1;
		(*nusers)++;
	}
	return 0;
}

int
sb_okta_seed(struct sb_org *org, struct json_object *sec, size_t *nusers, char *err,
    size_t errlen)
{
	struct sb_okta *o;
	struct json_object *arr;
	size_t i, n;
	int64_t v;

	if (!json_object_is_type(sec, json_type_object)) {
		snprintf(err, errlen, "okta must be an object");
		return -1;
	}
	json_object_object_foreach(sec, key, val) {
		(void)val;
		if (strcmp(key, "users") != 0 && strcmp(key, "generate") != 0 &&
		    strcmp(key, "rate_limit") != 0 && strcmp(key, "rate_window_s") != 0) {
			snprintf(err, errlen, "okta: unknown key '%s' (users, generate, rate_limit, "
			    "rate_window_s)", key);
			return -1;
		}
	}
	if ((o = okta_get(org)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (json_object_object_get_ex(sec, "rate_limit", NULL)) {
		if (sb_jint_in(sec, "okta", "rate_limit", 0, 100000000, 0, &v, err, errlen) == -1)
			return -1;
		o->rate_limit = v;
	}
	if (json_object_object_get_ex(sec, "rate_window_s", NULL)) {
		if (sb_jint_in(sec, "okta", "rate_window_s", 1, 86400, 60, &v, err, errlen) == -1)
			return -1;
		o->rate_window_s = v;
	}
	if (json_object_object_get_ex(sec, "users", &arr)) {
		if (!json_object_is_type(arr, json_type_array)) {
			snprintf(err, errlen, "okta.users must be an array");
			return -1;
		}
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			struct json_object *ju = json_object_array_get_idx(arr, i);
			int64_t sessions, grants, tokens;
			enum ostatus st;

			if (!json_object_is_type(ju, json_type_object)) {
				snprintf(err, errlen, "okta.users[] entries must be objects");
				return -1;
			}
			struct okta_u *u;
			int pw;

			if (user_params(ju, &st, &sessions, &grants, &tokens, err, errlen) == -1 ||
			    (u = user_add(o, sb_jstr(ju, "id"), sb_jstr(ju, "login"),
			    sb_jstr(ju, "email"), sb_jstr(ju, "firstName"), sb_jstr(ju, "lastName"),
			    st, sessions, grants, tokens, err, errlen)) == NULL)
				return -1;
			if ((pw = sb_jbool(ju, "password", u->password)) == -1) {
				snprintf(err, errlen, "okta: password must be true or false");
				return -1;
			}
			u->password = pw;
			(*nusers)++;
		}
	}
	if (json_object_object_get_ex(sec, "generate", &arr)) {
		if (!json_object_is_type(arr, json_type_array)) {
			snprintf(err, errlen, "okta.generate must be an array");
			return -1;
		}
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			struct json_object *g = json_object_array_get_idx(arr, i);

			if (!json_object_is_type(g, json_type_object)) {
				snprintf(err, errlen, "okta.generate[] entries must be objects");
				return -1;
			}
			if (generate(o, g, nusers, err, errlen) == -1)
				return -1;
		}
	}
	return 0;
}

int
sb_okta_seed_generate(struct sb_org *org, struct json_object *gen, size_t *nusers, char *err,
    size_t errlen)
{
	struct json_object *v;
	struct sb_okta *o;

	if (!json_object_object_get_ex(gen, "okta", &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		snprintf(err, errlen, "generate.okta must be true or false");
		return -1;
	}
	if (!json_object_get_boolean(v))
		return 0;
	if ((o = okta_get(org)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return generate(o, gen, nusers, err, errlen);
}

/* The effective limit and window. */
static void
rate_params(const struct sandbox *sb, const struct sb_okta *o, int64_t *limit, int64_t *win_s)
{
	*limit = o != NULL && o->rate_limit >= 0 ? o->rate_limit : sb->okta_rate_limit;
	*win_s = o != NULL && o->rate_window_s > 0 ? o->rate_window_s :
	    sb->okta_rate_window_s > 0 ? sb->okta_rate_window_s : 60;
}

void
sb_okta_state_json(const struct sb_org *org, struct sb_buf *b)
{
	const struct sb_okta *o = org->okta;
	size_t i;
	int first = 1;

	if (o == NULL)
		return;
	sb_buf_puts(b, ",\"okta\":{\"users\":[");
	for (i = 0; i < o->nusers; i++) {
		const struct okta_u *u = o->users[i];

		if (u->deleted)
			continue;
		if (!first)
			sb_buf_putc(b, ',');
		first = 0;
		state_user(u, 0, b);
	}
	sb_buf_printf(b, "],\"deleted\":%zu,\"rate_limited\":%" PRIu64 "}", o->ndeleted,
	    o->rate_limited);
}

/* One user as the state shows it (with "deleted" when asked for). */
static void
state_user(const struct okta_u *u, int with_deleted, struct sb_buf *b)
{
	sb_buf_printf(b, "{\"id\":\"%s\",\"login\":", u->id);
	sb_buf_jstr(b, u->login);
	sb_buf_puts(b, ",\"email\":");
	sb_buf_jstr(b, u->email);
	sb_buf_printf(b, ",\"status\":\"%s\",\"sessions\":%" PRId64 ",\"grants\":%" PRId64
	    ",\"tokens\":%" PRId64 ",\"password\":%s", ostatus_names[u->status], u->sessions,
	    u->grants, u->tokens, u->password ? "true" : "false");
	if (with_deleted)
		sb_buf_printf(b, ",\"deleted\":%s", u->deleted ? "true" : "false");
	sb_buf_putc(b, '}');
}

int
sb_okta_user_state_json(const struct sb_org *org, const char *key, struct sb_buf *b)
{
	const struct sb_okta *o = org->okta;
	const struct okta_u *u, *found = NULL;
	size_t i;

	if (o == NULL)
		return -1;
	/* deleted users are out of the indexes: look at all, the live one first */
	for (i = 0; i < o->nusers; i++) {
		u = o->users[i];
		if (strcmp(u->id, key) != 0 && strcasecmp(u->login, key) != 0)
			continue;
		if (found == NULL || (found->deleted && !u->deleted))
			found = u;
	}
	if (found == NULL)
		return -1;
	state_user(found, 1, b);
	return 0;
}

/* ---- answers --------------------------------------------------------------------------- */

static void
okta_err(struct sb_call *c, int status, const char *code, const char *summary,
    const char *cause)
{
	static uint64_t serial;

	c->status = status;
	c->ctype = "application/json";
	c->body.len = 0;
	sb_buf_puts(&c->body, "{\"errorCode\":");
	sb_buf_jstr(&c->body, code);
	sb_buf_puts(&c->body, ",\"errorSummary\":");
	sb_buf_jstr(&c->body, summary);
	sb_buf_puts(&c->body, ",\"errorLink\":");
	sb_buf_jstr(&c->body, code);
	sb_buf_printf(&c->body, ",\"errorId\":\"oaesbx%010" PRIu64 "\",\"errorCauses\":[",
	    ++serial);
	if (cause != NULL) {
		sb_buf_puts(&c->body, "{\"errorSummary\":");
		sb_buf_jstr(&c->body, cause);
		sb_buf_putc(&c->body, '}');
	}
	sb_buf_puts(&c->body, "]}");
}

static void
not_found(struct sb_call *c, const char *what)
{
	char msg[600];

	snprintf(msg, sizeof msg, "Not found: Resource not found: %s (User)", what);
	okta_err(c, 404, "E0000007", msg, NULL);
}

/*
 * X-Rate-Limit-* for this answer; count: the request uses up one. Answers 429 E0000047 (and
 * returns without counting) when the window is used up; then c->status is 429.
 */
static void
rate_headers(struct sb_call *c, int count)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
	struct sb_okta *o = c->sb->org.okta;
	int64_t limit, win_s, now_s = sb_now_ms() / 1000, win, used = 0, shown;
	char v[32];

	rate_params(c->sb, o, &limit, &win_s);
	win = now_s / win_s;
	if (o != NULL) {
		if (o->win != win) {
			o->win = win;
			o->win_count = 0;
		}
		if (count && limit > 0 && o->win_count >= limit) {
			o->rate_limited++;
			okta_err(c, 429, "E0000047", "API call exceeded rate limit due to too many "
			    "requests.", NULL);
		} else if (count)
			o->win_count++;
		used = o->win_count;
	}
	shown = limit > 0 ? limit : OKTA_NOMINAL_LIMIT;
	snprintf(v, sizeof v, "%" PRId64, shown);
	evhttp_add_header(h, "X-Rate-Limit-Limit", v);
	snprintf(v, sizeof v, "%" PRId64, used >= shown ? 0 : shown - used);
	evhttp_add_header(h, "X-Rate-Limit-Remaining", v);
	snprintf(v, sizeof v, "%" PRId64, (win + 1) * win_s);
	evhttp_add_header(h, "X-Rate-Limit-Reset", v);
}

void
sb_okta_fault_body(struct sb_call *c, int status)
{
	c->target = "okta";
	switch (status) {
	case 429:
		okta_err(c, 429, "E0000047", "API call exceeded rate limit due to too many "
		    "requests.", NULL);
		break;
	case 401:
		okta_err(c, 401, "E0000011", "Invalid token provided", NULL);
		break;
	case 403:
		okta_err(c, 403, "E0000006", "You do not have permission to perform the requested "
		    "action", NULL);
		break;
	case 404:
		not_found(c, "injected");
		break;
	default:
		okta_err(c, status, status >= 500 ? "E0000009" : "E0000001", status >= 500 ?
		    "Internal Server Error" : "Api validation failed: injected failure", NULL);
		break;
	}
	rate_headers(c, 0);
}

/* "SSWS <token>" (or "Bearer <token>", standing in for an OAuth access token). */
static int
authorized(struct sb_call *c)
{
	const struct sandbox *sb = c->sb;
	const char *h = sb_auth_param(c, "SSWS");
	struct sb_session *s;
	size_t i;

	if (h == NULL && (h = sb_auth_param(c, "Bearer")) == NULL)
		return 0;
	for (i = 0; i < sb->nokta_tokens; i++)
		if (strcmp(sb->okta_tokens[i], h) == 0)
			return 1;
	if (sb->nokta_tokens > 0)
		return 0;
	/* without --okta-token the static --token tokens are accepted */
	s = sb_map_get(&sb->sessions, h);
	return s != NULL && s->expires_ms == 0;
}

static void
fmt_time(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms == 0) {
		snprintf(out, outlen, "null");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(out, outlen, "\"%Y-%m-%dT%H:%M:%S.000Z\"", &tm);
}

static void
user_json(struct sb_call *c, const struct okta_u *u, struct sb_buf *b)
{
	const char *host = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Host");
	char created[40], activated[40], changed[40], updated[40];

	fmt_time(u->created_ms, created, sizeof created);
	fmt_time(u->activated_ms, activated, sizeof activated);
	fmt_time(u->status_changed_ms, changed, sizeof changed);
	fmt_time(u->updated_ms, updated, sizeof updated);
	sb_buf_printf(b, "{\"id\":\"%s\",\"status\":\"%s\",\"created\":%s,\"activated\":%s,"
	    "\"statusChanged\":%s,\"lastLogin\":null,\"lastUpdated\":%s,\"passwordChanged\":%s,"
	    "\"type\":{\"id\":\"otysbx0000000000000\"},\"profile\":{\"firstName\":", u->id,
	    ostatus_names[u->status], created, activated, changed, updated, created);
	sb_buf_jstr(b, u->first);
	sb_buf_puts(b, ",\"lastName\":");
	sb_buf_jstr(b, u->last);
	sb_buf_puts(b, ",\"mobilePhone\":null,\"secondEmail\":null,\"login\":");
	sb_buf_jstr(b, u->login);
	sb_buf_puts(b, ",\"email\":");
	sb_buf_jstr(b, u->email);
	sb_buf_printf(b, "},\"credentials\":{\"provider\":{\"type\":\"OKTA\",\"name\":\"OKTA\"}},"
	    "\"_links\":{\"self\":{\"href\":\"http://%s/okta/api/v1/users/%s\"}}}",
	    host != NULL ? host : "localhost", u->id);
}

/* ---- the surface ----------------------------------------------------------------------- */

void
sb_okta_classify(struct sb_call *c)
{
	struct oreq r;
	struct okta_u *u;

	c->target = "okta";
	if (oreq_parse(c->path, &r) == -1)
		return;
	if ((u = okta_find(c->sb->org.okta, r.key)) != NULL)
		snprintf(c->user, sizeof c->user, "%s", u->id);
	else
		snprintf(c->user, sizeof c->user, "%.*s", (int)sizeof c->user - 1, r.key);
	switch (r.route) {
	case OR_USER:
		c->action = strcmp(c->method, "GET") == 0 ? ACT_READ :
		    strcmp(c->method, "DELETE") == 0 ? ACT_DELETE : ACT_OTHER;
		break;
	case OR_LIFECYCLE:
		if (strcmp(c->method, "POST") != 0)
			break;
		c->action = strcmp(r.op, "suspend") == 0 ? ACT_FREEZE :
		    strcmp(r.op, "unsuspend") == 0 ? ACT_UNFREEZE :
		    strcmp(r.op, "deactivate") == 0 ? ACT_DEACTIVATE :
		    strcmp(r.op, "activate") == 0 || strcmp(r.op, "reactivate") == 0 ||
		    strcmp(r.op, "unlock") == 0 ? ACT_ACTIVATE : ACT_OTHER;
		break;
	case OR_SESSIONS:
	case OR_GRANTS:
		if (strcmp(c->method, "DELETE") == 0)
			c->action = ACT_REVOKE;
		break;
	default:
		break;
	}
}

static void
method_not_allowed(struct sb_call *c)
{
	okta_err(c, 405, "E0000022", "The endpoint does not support the provided HTTP method",
	    NULL);
}

static void
lifecycle(struct sb_call *c, struct okta_u *u, const char *op)
{
	char cause[200];
	int send_email = 1;
	struct sb_form form;

	if (c->query != NULL && sb_form_parse(&form, c->query, strlen(c->query)) == 0) {
		const char *v = sb_form_get(&form, "sendEmail");

		send_email = v == NULL || strcmp(v, "false") != 0;
		sb_form_free(&form);
	}

	if (strcmp(op, "suspend") == 0) {
		if (u->status != OS_ACTIVE) {
			snprintf(cause, sizeof cause, "Cannot suspend a user that is not ACTIVE "
			    "(status %s)", ostatus_names[u->status]);
			okta_err(c, 400, "E0000001", "Api validation failed: suspend", cause);
			return;
		}
		set_status(u, OS_SUSPENDED);
	} else if (strcmp(op, "unsuspend") == 0) {
		if (u->status != OS_SUSPENDED) {
			snprintf(cause, sizeof cause, "Cannot unsuspend a user that is not SUSPENDED "
			    "(status %s)", ostatus_names[u->status]);
			okta_err(c, 400, "E0000001", "Api validation failed: unsuspend", cause);
			return;
		}
		set_status(u, OS_ACTIVE);
	} else if (strcmp(op, "deactivate") == 0) {
		/* reported behaviour (okta-sdk-java#721): a DEPROVISIONED user is not found */
		if (u->status == OS_DEPROVISIONED) {
			not_found(c, u->id);
			return;
		}
		set_status(u, OS_DEPROVISIONED);
		u->sessions = u->grants = u->tokens = 0;
		u->password = 0;
	} else if (strcmp(op, "unlock") == 0) {
		if (u->status != OS_LOCKED_OUT) {
			okta_err(c, 400, "E0000001", "Api validation failed: unlock",
			    "Cannot unlock a user that is not LOCKED_OUT");
			return;
		}
		set_status(u, OS_ACTIVE);
	} else if (strcmp(op, "activate") == 0) {
		const char *host = evhttp_find_header(evhttp_request_get_input_headers(c->req),
		    "Host");
		char tok[24];

		if (u->status != OS_STAGED && u->status != OS_DEPROVISIONED) {
			okta_err(c, 403, "E0000016", "Activation failed because the user is already "
			    "active", NULL);
			return;
		}
		/* without a password the person completes activation through the link */
		set_status(u, u->password ? OS_ACTIVE : OS_PROVISIONED);
		c->status = 200;
		c->body.len = 0;
		if (send_email) {
			sb_buf_puts(&c->body, "{}");
			return;
		}
		snprintf(tok, sizeof tok, "sbx%017" PRIu64, (uint64_t)sb_now_ms());
		sb_buf_printf(&c->body, "{\"activationUrl\":\"http://%s/okta/welcome/%s\","
		    "\"activationToken\":\"%s\"}", host != NULL ? host : "localhost", tok, tok);
		return;
	} else {
		not_found(c, op);
		return;
	}
	/* Okta answers lifecycle calls 200 with no content */
	c->status = 200;
	c->body.len = 0;
}

void
sb_okta_handle(struct sb_call *c)
{
	struct sb_okta *o = c->sb->org.okta;
	struct oreq r;
	struct okta_u *u;
	struct sb_form form;

	sb_okta_classify(c);
	c->ctype = "application/json";
	if (!authorized(c)) {
		okta_err(c, 401, "E0000011", "Invalid token provided", NULL);
		rate_headers(c, 0);
		return;
	}
	rate_headers(c, 1);
	if (c->status == 429)
		return;
	if (oreq_parse(c->path, &r) == -1) {
		okta_err(c, 404, "E0000007", "Not found: Resource not found: endpoint", NULL);
		return;
	}
	if ((u = okta_find(o, r.key)) == NULL) {
		not_found(c, r.key);
		return;
	}
	switch (r.route) {
	case OR_USER:
		if (strcmp(c->method, "GET") == 0) {
			c->status = 200;
			user_json(c, u, &c->body);
		} else if (strcmp(c->method, "DELETE") == 0) {
			/* the first DELETE deactivates, the second deletes */
			if (u->status != OS_DEPROVISIONED) {
				set_status(u, OS_DEPROVISIONED);
				u->sessions = u->grants = u->tokens = 0;
				u->password = 0;
			} else {
				sb_map_del(&o->by_id, u->id, u);
				sb_map_del(&o->by_login, u->login, u);
				u->deleted = 1;
				o->ndeleted++;
			}
			c->status = 204;
		} else
			method_not_allowed(c);
		return;
	case OR_LIFECYCLE:
		if (strcmp(c->method, "POST") != 0) {
			method_not_allowed(c);
			return;
		}
		lifecycle(c, u, r.op);
		return;
	case OR_SESSIONS:
		if (strcmp(c->method, "DELETE") != 0) {
			method_not_allowed(c);
			return;
		}
		u->sessions = 0;
		if (c->query != NULL && sb_form_parse(&form, c->query, strlen(c->query)) == 0) {
			const char *t = sb_form_get(&form, "oauthTokens");

			if (t != NULL && strcmp(t, "true") == 0)
				u->tokens = 0;
			sb_form_free(&form);
		}
		c->status = 204;
		return;
	case OR_GRANTS:
		if (strcmp(c->method, "DELETE") != 0) {
			method_not_allowed(c);
			return;
		}
		u->grants = 0;
		c->status = 204;
		return;
	default:
		not_found(c, r.key);
		return;
	}
}
