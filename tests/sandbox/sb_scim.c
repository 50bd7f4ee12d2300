/*
 * sb_scim.c: generic SCIM 2.0 service providers (RFC 7643/7644) under /scim/{app}/v2, one per
 * seeded app ("slack", "github", ...): User resources with ETags (meta.version), filtered and
 * paged lists (a real subset of the RFC 7644 §3.4.2.2 filter grammar: and, or, not, grouping,
 * eq ne co sw ew gt ge lt le pr, JSON string literals), PATCH with both the path and the
 * path-less value form, If-Match (412 on a stale version), DELETE (204, then 404; or only
 * deactivating, like Slack), SCIM error bodies, and an optional per-app rate limit answering
 * 429 with Retry-After (docs/SANDBOX.md).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "sandbox.h"

#define SCIM_USER_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_ERROR_SCHEMA "urn:ietf:params:scim:api:messages:2.0:Error"
#define SCIM_PATCH_SCHEMA "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_LIST_SCHEMA "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_SPC_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
#define SCIM_CTYPE "application/scim+json"
#define SCIM_ID_LEN 63
#define SCIM_APP_LEN 40
#define SCIM_PAGE_DEFAULT 100
#define SCIM_PAGE_MAX 1000
#define SCIM_FILTER_DEPTH 32

struct scim_suser {
	char id[SCIM_ID_LEN + 1];
	char *user_name;
	char *external_id; /* may be NULL */
	char *email;       /* the one work address, may be NULL */
	char *display_name;
	int active;
	uint64_t version;
	int64_t created_ms, modified_ms;
	int deleted; /* hard-deleted: out of the indexes, kept for the state's count */
};

struct scim_app {
	char *name;
	const char *target; /* interned "scim:<name>" */
	struct scim_suser **users;
	size_t nusers, capusers, ndeleted;
	struct sb_map by_id, by_username, by_external;
	uint64_t next_id;
	uint32_t id_hash;
	/* options */
	int delete_deactivates; /* DELETE only sets active false (Slack) */
	int patch_no_content;   /* PATCH answers 204 instead of the resource */
	int etags;              /* ETag, meta.version and If-Match */
	int64_t rl_limit;       /* requests per window, 0 = none */
	int64_t rl_window_s;
	int64_t rl_retry_after_s; /* 0 = until the window ends */
	int rl_all;               /* count reads too (default: writes only) */
	int64_t rl_window, rl_count;
	uint64_t rate_limited;
};

struct sb_scim {
	struct scim_app **apps;
	size_t napps, capapps;
};

/* Filter syntax tree. */
enum fattr { FA_ID, FA_USERNAME, FA_EXTERNALID, FA_DISPLAYNAME, FA_ACTIVE, FA_EMAILS };
enum fop { FO_EQ, FO_NE, FO_CO, FO_SW, FO_EW, FO_GT, FO_GE, FO_LT, FO_LE, FO_PR };
enum fkind { FK_AND, FK_OR, FK_NOT, FK_CMP };

struct fnode {
	enum fkind kind;
	enum fattr attr;
	enum fop op;
	int vtype; /* json_type of the value: string, boolean, null, int/double */
	char *str;
	int boolean;
	struct fnode *l, *r;
};

struct fparser {
	const char *s;
	size_t pos;
	int depth;
	char err[200];
};

/* The request's place under /scim/. */
struct scim_route {
	char app[SCIM_APP_LEN + 1];
	int kind; /* 0 unknown, 1 /Users, 2 /Users/{id}, 3 /ServiceProviderConfig */
	char id[SCIM_ID_LEN + 1];
};

static char **interned;
static size_t ninterned;

static const char *intern_target(const char *app);
static int route_parse(const char *path, struct scim_route *r);
static struct scim_app *app_find(const struct sb_org *org, const char *name);
static void state_user(const struct scim_suser *u, int with_deleted, struct sb_buf *b);
static struct scim_app *app_get(struct sb_org *org, const char *name, char *err, size_t errlen);
static void app_free(struct scim_app *a);
static struct scim_suser *user_add(struct scim_app *a, const char *id, const char *user_name,
    const char *external_id, const char *email, const char *display_name, int active, char *err,
    size_t errlen);
static struct scim_suser *user_find(const struct scim_app *a, const char *id);
static void user_free(struct scim_suser *u);
static void fmt_time(int64_t ms, char *out, size_t outlen);
static void etag_of(const struct scim_suser *u, char *out, size_t outlen);
static void user_json(struct sb_call *c, const struct scim_app *a, const struct scim_suser *u,
    struct sb_buf *b);
static void answer_user(struct sb_call *c, const struct scim_app *a, const struct scim_suser *u,
    int status);
static int rate_limited(struct sb_call *c, struct scim_app *a);
static void do_list(struct sb_call *c, struct scim_app *a);
static void do_patch(struct sb_call *c, struct scim_app *a, struct scim_suser *u);
static void do_delete(struct sb_call *c, struct scim_app *a, struct scim_suser *u);
static int patch_action(struct json_object *body);
static struct json_object *body_json(struct sb_call *c, char *err, size_t errlen);
static void fnode_free(struct fnode *n);
static struct fnode *parse_or(struct fparser *p);
static int fnode_match(const struct fnode *n, const struct scim_suser *u);
static const char *attr_strip_urn(const char *s, size_t *len);

/* "scim:<app>" that outlives every app (log entries keep the pointer). */
static const char *
intern_target(const char *app)
{
	size_t i;
	char **n, *s;

	for (i = 0; i < ninterned; i++)
		if (strcmp(interned[i] + 5, app) == 0)
			return interned[i];
	if ((n = realloc(interned, (ninterned + 1) * sizeof *n)) == NULL)
		return "scim";
	interned = n;
	if ((s = malloc(strlen(app) + 6)) == NULL)
		return "scim";
	memcpy(s, "scim:", 5);
	memcpy(s + 5, app, strlen(app) + 1);
	interned[ninterned++] = s;
	return s;
}

/* /scim/{app}/v2/Users[/{id}] or /scim/{app}/v2/ServiceProviderConfig. */
static int
route_parse(const char *path, struct scim_route *r)
{
	const char *p = path + 6, *slash, *rest;
	char *id;
	size_t n;

	memset(r, 0, sizeof *r);
	if (strncmp(path, "/scim/", 6) != 0 || (slash = strchr(p, '/')) == NULL)
		return -1;
	n = (size_t)(slash - p);
	if (n == 0 || n > SCIM_APP_LEN)
		return -1;
	memcpy(r->app, p, n);
	r->app[n] = '\0';
	rest = slash;
	if (strcmp(rest, "/v2/Users") == 0 || strcmp(rest, "/v2/Users/") == 0)
		r->kind = 1;
	else if (strncmp(rest, "/v2/Users/", 10) == 0 && strchr(rest + 10, '/') == NULL) {
		if ((id = sb_url_decode(rest + 10, strlen(rest + 10), 0)) == NULL)
			return 0;
		if (strlen(id) <= SCIM_ID_LEN) {
			memcpy(r->id, id, strlen(id) + 1);
			r->kind = 2;
		}
		free(id);
	} else if (strcmp(rest, "/v2/ServiceProviderConfig") == 0)
		r->kind = 3;
	return 0;
}

static struct scim_app *
app_find(const struct sb_org *org, const char *name)
{
	size_t i;

	if (org->scim == NULL)
		return NULL;
	for (i = 0; i < org->scim->napps; i++)
		if (strcmp(org->scim->apps[i]->name, name) == 0)
			return org->scim->apps[i];
	return NULL;
}

/* The app, created on first use. */
static struct scim_app *
app_get(struct sb_org *org, const char *name, char *err, size_t errlen)
{
	struct scim_app *a;
	size_t i;
	uint32_t h = 2166136261u;

	if ((a = app_find(org, name)) != NULL)
		return a;
	if (name[0] == '\0' || strlen(name) > SCIM_APP_LEN) {
		snprintf(err, errlen, "scim: bad app name '%s'", name);
		return NULL;
	}
	for (i = 0; name[i] != '\0'; i++) {
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_') {
			snprintf(err, errlen, "scim: bad app name '%s' (letters, digits, - and _)",
			    name);
			return NULL;
		}
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	}
	if (org->scim == NULL && (org->scim = calloc(1, sizeof *org->scim)) == NULL)
		goto oom;
	if (org->scim->napps == org->scim->capapps) {
		size_t ncap = org->scim->capapps == 0 ? 4 : org->scim->capapps * 2;
		struct scim_app **na = realloc(org->scim->apps, ncap * sizeof *na);
		if (na == NULL)
			goto oom;
		org->scim->apps = na;
		org->scim->capapps = ncap;
	}
	if ((a = calloc(1, sizeof *a)) == NULL || (a->name = sb_strdup(name)) == NULL) {
		free(a);
		goto oom;
	}
	a->target = intern_target(name);
	a->etags = 1;
	a->rl_window_s = 60;
	a->id_hash = h;
	sb_map_init(&a->by_id, 0, 0);
	sb_map_init(&a->by_username, 1, 0);
	sb_map_init(&a->by_external, 0, 0);
	org->scim->apps[org->scim->napps++] = a;
	return a;
oom:
	snprintf(err, errlen, "out of memory");
	return NULL;
}

static void
user_free(struct scim_suser *u)
{
	free(u->user_name);
	free(u->external_id);
	free(u->email);
	free(u->display_name);
	free(u);
}

static void
app_free(struct scim_app *a)
{
	size_t i;

	for (i = 0; i < a->nusers; i++)
		user_free(a->users[i]);
	free(a->users);
	sb_map_free(&a->by_id);
	sb_map_free(&a->by_username);
	sb_map_free(&a->by_external);
	free(a->name);
	free(a);
}

void
sb_scim_free(struct sb_scim *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->napps; i++)
		app_free(s->apps[i]);
	free(s->apps);
	free(s);
}

static struct scim_suser *
user_find(const struct scim_app *a, const char *id)
{
	struct scim_suser *u = sb_map_get(&a->by_id, id);

	return u != NULL && !u->deleted ? u : NULL;
}

static struct scim_suser *
user_add(struct scim_app *a, const char *id, const char *user_name, const char *external_id,
    const char *email, const char *display_name, int active, char *err, size_t errlen)
{
	struct scim_suser *u = NULL;
	size_t i;

	if (user_name == NULL || user_name[0] == '\0') {
		snprintf(err, errlen, "scim %s: user without userName", a->name);
		return NULL;
	}
	if (sb_map_get(&a->by_username, user_name) != NULL) {
		snprintf(err, errlen, "scim %s: duplicate userName '%s'", a->name, user_name);
		return NULL;
	}
	if (external_id != NULL && sb_map_get(&a->by_external, external_id) != NULL) {
		snprintf(err, errlen, "scim %s: duplicate externalId '%s'", a->name, external_id);
		return NULL;
	}
	if (id != NULL) {
		if (id[0] == '\0' || strlen(id) > SCIM_ID_LEN) {
			snprintf(err, errlen, "scim %s: bad id '%s'", a->name, id);
			return NULL;
		}
		for (i = 0; id[i] != '\0'; i++) {
			if ((unsigned char)id[i] < 0x21 || id[i] == '/' || id[i] == 0x7f) {
				snprintf(err, errlen, "scim %s: bad id '%s'", a->name, id);
				return NULL;
			}
		}
		if (sb_map_get(&a->by_id, id) != NULL) {
			snprintf(err, errlen, "scim %s: duplicate id '%s'", a->name, id);
			return NULL;
		}
	}
	if (a->nusers == a->capusers) {
		size_t ncap = a->capusers == 0 ? 64 : a->capusers * 2;
		struct scim_suser **nu = realloc(a->users, ncap * sizeof *nu);
		if (nu == NULL)
			goto oom;
		a->users = nu;
		a->capusers = ncap;
	}
	if ((u = calloc(1, sizeof *u)) == NULL)
		goto oom;
	if (id != NULL)
		memcpy(u->id, id, strlen(id) + 1);
	else {
		do {
			a->next_id++;
			/* UUID-shaped, stable per app and seed order */
			snprintf(u->id, sizeof u->id, "%08" PRIx32 "-7f76-453a-919d-%012" PRIx64,
			    a->id_hash, a->next_id);
		} while (sb_map_get(&a->by_id, u->id) != NULL);
	}
	if ((u->user_name = sb_strdup(user_name)) == NULL ||
	    (external_id != NULL && (u->external_id = sb_strdup(external_id)) == NULL) ||
	    (email != NULL && (u->email = sb_strdup(email)) == NULL) ||
	    (u->display_name = sb_strdup(display_name != NULL ? display_name : user_name)) == NULL)
		goto oom;
	u->active = active;
	u->version = 1;
	u->created_ms = u->modified_ms = sb_now_ms();
	if (sb_map_put(&a->by_id, u->id, u) == -1)
		goto oom;
	if (sb_map_put(&a->by_username, u->user_name, u) == -1) {
		sb_map_del(&a->by_id, u->id, u);
		goto oom;
	}
	if (u->external_id != NULL && sb_map_put(&a->by_external, u->external_id, u) == -1) {
		sb_map_del(&a->by_id, u->id, u);
		sb_map_del(&a->by_username, u->user_name, u);
		goto oom;
	}
	a->users[a->nusers++] = u;
	return u;
oom:
	if (u != NULL)
		user_free(u);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

/* ---- seeds and state ------------------------------------------------------------------ */

static int
app_options(struct scim_app *a, struct json_object *o, char *err, size_t errlen)
{
	struct json_object *rl;
	int b;

	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "scim %s: options must be an object", a->name);
		return -1;
	}
	json_object_object_foreach(o, key, v) {
		(void)v;
		if (strcmp(key, "delete_deactivates") != 0 && strcmp(key, "patch_response") != 0 &&
		    strcmp(key, "etags") != 0 && strcmp(key, "rate_limit") != 0) {
			snprintf(err, errlen, "scim %s: unknown option '%s' (delete_deactivates, "
			    "patch_response, etags, rate_limit)", a->name, key);
			return -1;
		}
	}
	if ((b = sb_jbool(o, "delete_deactivates", a->delete_deactivates)) == -1 ||
	    (a->delete_deactivates = b, (b = sb_jbool(o, "etags", a->etags)) == -1)) {
		snprintf(err, errlen, "scim %s: delete_deactivates and etags are booleans", a->name);
		return -1;
	}
	a->etags = b;
	if (sb_jstr(o, "patch_response") != NULL) {
		if (strcmp(sb_jstr(o, "patch_response"), "resource") == 0)
			a->patch_no_content = 0;
		else if (strcmp(sb_jstr(o, "patch_response"), "no_content") == 0)
			a->patch_no_content = 1;
		else {
			snprintf(err, errlen, "scim %s: patch_response is \"resource\" or "
			    "\"no_content\"", a->name);
			return -1;
		}
	}
	if (json_object_object_get_ex(o, "rate_limit", &rl)) {
		const char *m;

		if (json_object_is_type(rl, json_type_null)) {
			a->rl_limit = 0;
			return 0;
		}
		if (!json_object_is_type(rl, json_type_object) ||
		    sb_jint_in(rl, "scim", "limit", 1, 100000000, 0, &a->rl_limit,
		    err, errlen) == -1 ||
		    sb_jint_in(rl, "scim", "window_s", 1, 86400, 60, &a->rl_window_s,
		    err, errlen) == -1 ||
		    sb_jint_in(rl, "scim", "retry_after_s", 0, 86400, 0,
		    &a->rl_retry_after_s, err, errlen) == -1)
			return -1;
		if (a->rl_limit == 0) {
			snprintf(err, errlen, "scim %s: rate_limit needs a limit", a->name);
			return -1;
		}
		m = sb_jstr(rl, "methods");
		if (m != NULL && strcmp(m, "all") != 0 && strcmp(m, "writes") != 0) {
			snprintf(err, errlen, "scim %s: rate_limit.methods is \"writes\" or \"all\"",
			    a->name);
			return -1;
		}
		a->rl_all = m != NULL && strcmp(m, "all") == 0;
		a->rl_window = a->rl_count = 0;
	}
	return 0;
}

/* count users prefixNNNN@domain with externalId prefixNNNN. */
static int
app_generate(struct scim_app *a, const char *prefix, const char *domain, int64_t start,
    int64_t count, int active, size_t *nusers, char *err, size_t errlen)
{
	int64_t i;

	for (i = start; i < start + count; i++) {
		char emp[128], uname[384];

		snprintf(emp, sizeof emp, "%s%04" PRId64, prefix, i);
		snprintf(uname, sizeof uname, "%s@%s", emp, domain);
		if (user_add(a, NULL, uname, emp, uname, NULL, active, err, errlen) == NULL)
			return -1;
		(*nusers)++;
	}
	return 0;
}

static int
gen_params(struct json_object *g, const char **prefix, const char **domain, int64_t *start,
    int64_t *count, char *err, size_t errlen)
{
	if (!json_object_is_type(g, json_type_object)) {
		snprintf(err, errlen, "scim: generate entries must be objects");
		return -1;
	}
	*prefix = sb_jstr(g, "prefix") != NULL ? sb_jstr(g, "prefix") : "user";
	*domain = sb_jstr(g, "domain") != NULL ? sb_jstr(g, "domain") : "example.com";
	if (sb_jint_in(g, "scim", "start", 0, INT64_MAX / 2, 1, start, err, errlen) == -1 ||
	    sb_jint_in(g, "scim", "count", 0, 10000000, -1, count, err, errlen) == -1)
		return -1;
	if (*count < 0) {
		snprintf(err, errlen, "scim: generate needs a count");
		return -1;
	}
	return 0;
}

int
sb_scim_seed(struct sb_org *org, struct json_object *sec, size_t *nusers, char *err,
    size_t errlen)
{
	if (!json_object_is_type(sec, json_type_object)) {
		snprintf(err, errlen, "scim must be an object of apps");
		return -1;
	}
	json_object_object_foreach(sec, name, ja) {
		struct scim_app *a;
		struct json_object *arr, *o;
		size_t i, n;

		if (!json_object_is_type(ja, json_type_object)) {
			snprintf(err, errlen, "scim.%s must be an object", name);
			return -1;
		}
		json_object_object_foreach(ja, key, v) {
			(void)v;
			if (strcmp(key, "users") != 0 && strcmp(key, "generate") != 0 &&
			    strcmp(key, "options") != 0) {
				snprintf(err, errlen, "scim.%s: unknown key '%s' (users, generate, "
				    "options)", name, key);
				return -1;
			}
		}
		if ((a = app_get(org, name, err, errlen)) == NULL)
			return -1;
		if (json_object_object_get_ex(ja, "options", &o) &&
		    app_options(a, o, err, errlen) == -1)
			return -1;
		if (json_object_object_get_ex(ja, "users", &arr)) {
			if (!json_object_is_type(arr, json_type_array)) {
				snprintf(err, errlen, "scim.%s.users must be an array", name);
				return -1;
			}
			n = json_object_array_length(arr);
			for (i = 0; i < n; i++) {
				struct json_object *ju = json_object_array_get_idx(arr, i);
				int active;

				if (!json_object_is_type(ju, json_type_object) ||
				    (active = sb_jbool(ju, "active", 1)) == -1) {
					snprintf(err, errlen, "scim.%s.users[%zu]: an object with a "
					    "boolean active", name, i);
					return -1;
				}
				if (user_add(a, sb_jstr(ju, "id"), sb_jstr(ju, "userName"),
				    sb_jstr(ju, "externalId"), sb_jstr(ju, "email"),
				    sb_jstr(ju, "displayName"), active, err, errlen) == NULL)
					return -1;
				(*nusers)++;
			}
		}
		if (json_object_object_get_ex(ja, "generate", &arr)) {
			if (!json_object_is_type(arr, json_type_array)) {
				snprintf(err, errlen, "scim.%s.generate must be an array", name);
				return -1;
			}
			n = json_object_array_length(arr);
			for (i = 0; i < n; i++) {
				struct json_object *g = json_object_array_get_idx(arr, i);
				const char *prefix, *domain;
				int64_t start, count;
				int active;

				if (gen_params(g, &prefix, &domain, &start, &count, err, errlen) == -1)
					return -1;
				if ((active = sb_jbool(g, "active", 1)) == -1) {
					snprintf(err, errlen, "scim: active must be a boolean");
					return -1;
				}
				if (app_generate(a, prefix, domain, start, count, active, nusers, err,
				    errlen) == -1)
					return -1;
			}
		}
	}
	return 0;
}

int
sb_scim_seed_generate(struct sb_org *org, struct json_object *gen, size_t *nusers, char *err,
    size_t errlen)
{
	struct json_object *apps;
	const char *prefix, *domain;
	int64_t start, count;
	size_t i, n;

	if (!json_object_object_get_ex(gen, "scim_apps", &apps))
		return 0;
	if (!json_object_is_type(apps, json_type_array)) {
		snprintf(err, errlen, "generate.scim_apps must be an array of app names");
		return -1;
	}
	if (gen_params(gen, &prefix, &domain, &start, &count, err, errlen) == -1)
		return -1;
	n = json_object_array_length(apps);
	for (i = 0; i < n; i++) {
		struct json_object *jn = json_object_array_get_idx(apps, i);
		struct scim_app *a;

		if (!json_object_is_type(jn, json_type_string)) {
			snprintf(err, errlen, "generate.scim_apps must be an array of app names");
			return -1;
		}
		if ((a = app_get(org, json_object_get_string(jn), err, errlen)) == NULL ||
		    app_generate(a, prefix, domain, start, count, 1, nusers, err, errlen) == -1)
			return -1;
	}
	return 0;
}

void
sb_scim_state_json(const struct sb_org *org, struct sb_buf *b)
{
	size_t i, j;
	int first;

	if (org->scim == NULL)
		return;
	sb_buf_puts(b, ",\"scim\":{");
	for (i = 0; i < org->scim->napps; i++) {
		const struct scim_app *a = org->scim->apps[i];

		if (i > 0)
			sb_buf_putc(b, ',');
		sb_buf_jstr(b, a->name);
		sb_buf_puts(b, ":{\"users\":[");
		first = 1;
		for (j = 0; j < a->nusers; j++) {
			const struct scim_suser *u = a->users[j];

			if (u->deleted)
				continue;
			if (!first)
				sb_buf_putc(b, ',');
			first = 0;
			state_user(u, 0, b);
		}
		sb_buf_printf(b, "],\"deleted\":%zu,\"rate_limited\":%" PRIu64 "}", a->ndeleted,
		    a->rate_limited);
	}
	sb_buf_putc(b, '}');
}

/* One user as the state shows it (with "deleted" when asked for). */
static void
state_user(const struct scim_suser *u, int with_deleted, struct sb_buf *b)
{
	sb_buf_puts(b, "{\"id\":");
	sb_buf_jstr(b, u->id);
	sb_buf_puts(b, ",\"userName\":");
	sb_buf_jstr(b, u->user_name);
	sb_buf_puts(b, ",\"externalId\":");
	sb_buf_jstr(b, u->external_id);
	sb_buf_puts(b, ",\"email\":");
	sb_buf_jstr(b, u->email);
	sb_buf_printf(b, ",\"active\":%s,\"version\":%" PRIu64, u->active ? "true" : "false",
	    u->version);
	if (with_deleted)
		sb_buf_printf(b, ",\"deleted\":%s", u->deleted ? "true" : "false");
	sb_buf_putc(b, '}');
}

int
sb_scim_user_state_json(const struct sb_org *org, const char *app, const char *key,
    struct sb_buf *b)
{
	const struct scim_app *a = app_find(org, app);
	const struct scim_suser *u, *found = NULL;
	size_t j;

	if (a == NULL)
		return -1;
	/* deleted users are out of the indexes: look at all, the live one first */
	for (j = 0; j < a->nusers; j++) {
		u = a->users[j];
		if (strcmp(u->id, key) != 0 && strcasecmp(u->user_name, key) != 0)
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

void
sb_scim_error(struct sb_call *c, int status, const char *type, const char *detail)
{
	c->status = status;
	c->ctype = SCIM_CTYPE;
	c->body.len = 0;
	sb_buf_printf(&c->body, "{\"schemas\":[\"%s\"],\"status\":\"%d\"", SCIM_ERROR_SCHEMA,
	    status);
	if (type != NULL) {
		sb_buf_puts(&c->body, ",\"scimType\":");
		sb_buf_jstr(&c->body, type);
	}
	sb_buf_puts(&c->body, ",\"detail\":");
	sb_buf_jstr(&c->body, detail);
	sb_buf_putc(&c->body, '}');
}

void
sb_scim_fault_body(struct sb_call *c, int status)
{
	struct scim_route r;
	char v[32];

	if (route_parse(c->path, &r) == 0)
		c->target = intern_target(r.app);
	sb_scim_error(c, status, NULL, status == 429 ? "Too many requests" :
	    status >= 500 ? "Service temporarily unavailable" : "Injected failure");
	if (status == 429 || status == 503) {
		snprintf(v, sizeof v, "%" PRId64, c->sb->retry_after_s);
		evhttp_add_header(evhttp_request_get_output_headers(c->req), "Retry-After", v);
	}
}

static void
fmt_time(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
etag_of(const struct scim_suser *u, char *out, size_t outlen)
{
	snprintf(out, outlen, "W/\"%" PRIu64 "\"", u->version);
}

static void
user_json(struct sb_call *c, const struct scim_app *a, const struct scim_suser *u,
    struct sb_buf *b)
{
	const char *host = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Host");
	char created[32], modified[32], etag[48];

	fmt_time(u->created_ms, created, sizeof created);
	fmt_time(u->modified_ms, modified, sizeof modified);
	sb_buf_printf(b, "{\"schemas\":[\"%s\"],\"id\":", SCIM_USER_SCHEMA);
	sb_buf_jstr(b, u->id);
	if (u->external_id != NULL) {
		sb_buf_puts(b, ",\"externalId\":");
		sb_buf_jstr(b, u->external_id);
	}
	sb_buf_puts(b, ",\"userName\":");
	sb_buf_jstr(b, u->user_name);
	sb_buf_puts(b, ",\"displayName\":");
	sb_buf_jstr(b, u->display_name);
	sb_buf_printf(b, ",\"active\":%s", u->active ? "true" : "false");
	if (u->email != NULL) {
		sb_buf_puts(b, ",\"emails\":[{\"value\":");
		sb_buf_jstr(b, u->email);
		sb_buf_puts(b, ",\"type\":\"work\",\"primary\":true}]");
	}
	sb_buf_printf(b, ",\"meta\":{\"resourceType\":\"User\",\"created\":\"%s\","
	    "\"lastModified\":\"%s\",\"location\":", created, modified);
	{
		struct sb_buf loc = { 0 };

		sb_buf_printf(&loc, "http://%s/scim/%s/v2/Users/", host != NULL ? host : "localhost",
		    a->name);
		sb_buf_puts(&loc, u->id);
		sb_buf_jstr(b, loc.oom ? "" : loc.p);
		sb_buf_free(&loc);
	}
	if (a->etags) {
		etag_of(u, etag, sizeof etag);
		sb_buf_puts(b, ",\"version\":");
		sb_buf_jstr(b, etag);
	}
	sb_buf_puts(b, "}}");
}

static void
answer_user(struct sb_call *c, const struct scim_app *a, const struct scim_suser *u, int status)
{
	char etag[48];

	c->status = status;
	c->ctype = SCIM_CTYPE;
	c->body.len = 0;
	if (a->etags) {
		etag_of(u, etag, sizeof etag);
		evhttp_add_header(evhttp_request_get_output_headers(c->req), "ETag", etag);
	}
	if (status != 204)
		user_json(c, a, u, &c->body);
}

/* The app's rate limit: 0 to go on, 1 when the call was answered 429. */
static int
rate_limited(struct sb_call *c, struct scim_app *a)
{
	int64_t now_s = sb_now_ms() / 1000, win, wait;
	char v[32];

	if (a->rl_limit <= 0 || (!a->rl_all && strcmp(c->method, "GET") == 0))
		return 0;
	win = now_s / a->rl_window_s;
	if (win != a->rl_window) {
		a->rl_window = win;
		a->rl_count = 0;
	}
	if (++a->rl_count <= a->rl_limit)
		return 0;
	a->rate_limited++;
	wait = a->rl_retry_after_s > 0 ? a->rl_retry_after_s : (win + 1) * a->rl_window_s - now_s;
	snprintf(v, sizeof v, "%" PRId64, wait);
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Retry-After", v);
	sb_scim_error(c, 429, NULL, "Too many requests: rate limited");
	return 1;
}

/* ---- filters (RFC 7644 §3.4.2.2) ------------------------------------------------------- */

static void
fnode_free(struct fnode *n)
{
	if (n == NULL)
		return;
	fnode_free(n->l);
	fnode_free(n->r);
	free(n->str);
	free(n);
}

static void
skip_sp(struct fparser *p)
{
	while (p->s[p->pos] == ' ')
		p->pos++;
}

/* A case-insensitive keyword followed by a space, a parenthesis or the end. */
static int
keyword(struct fparser *p, const char *kw)
{
	size_t n = strlen(kw);
	char next;

	if (strncasecmp(p->s + p->pos, kw, n) != 0)
		return 0;
	next = p->s[p->pos + n];
	if (next != ' ' && next != '(' && next != ')' && next != '\0')
		return 0;
	p->pos += n;
	return 1;
}

/* Drop "urn:ietf:params:scim:schemas:core:2.0:User:" from an attribute path. */
static const char *
attr_strip_urn(const char *s, size_t *len)
{
	static const char urn[] = "urn:ietf:params:scim:schemas:core:2.0:User:";

	if (*len > sizeof urn - 1 && strncasecmp(s, urn, sizeof urn - 1) == 0) {
		*len -= sizeof urn - 1;
		return s + sizeof urn - 1;
	}
	return s;
}

static struct fnode *
parse_cmp(struct fparser *p)
{
	static const char *const ops[] = { "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le",
	    "pr" };
	const char *a;
	size_t start = p->pos, len, i;
	struct fnode *n;

	while (p->s[p->pos] != '\0' && p->s[p->pos] != ' ' && p->s[p->pos] != '(' &&
	    p->s[p->pos] != ')')
		p->pos++;
	len = p->pos - start;
	if (len == 0) {
		snprintf(p->err, sizeof p->err, "attribute expected at position %zu", start + 1);
		return NULL;
	}
	if ((n = calloc(1, sizeof *n)) == NULL) {
		snprintf(p->err, sizeof p->err, "out of memory");
		return NULL;
	}
	n->kind = FK_CMP;
	a = attr_strip_urn(p->s + start, &len);
	if (len == 2 && strncasecmp(a, "id", 2) == 0)
		n->attr = FA_ID;
	else if (len == 8 && strncasecmp(a, "userName", 8) == 0)
		n->attr = FA_USERNAME;
	else if (len == 10 && strncasecmp(a, "externalId", 10) == 0)
		n->attr = FA_EXTERNALID;
	else if (len == 11 && strncasecmp(a, "displayName", 11) == 0)
		n->attr = FA_DISPLAYNAME;
	else if (len == 6 && strncasecmp(a, "active", 6) == 0)
		n->attr = FA_ACTIVE;
	else if ((len == 6 && strncasecmp(a, "emails", 6) == 0) ||
	    (len == 12 && strncasecmp(a, "emails.value", 12) == 0))
		n->attr = FA_EMAILS;
	else {
		snprintf(p->err, sizeof p->err, "filtering on '%.*s' is not supported",
		    (int)(len > 60 ? 60 : len), a);
		free(n);
		return NULL;
	}
	if (p->s[p->pos] != ' ') {
		snprintf(p->err, sizeof p->err, "operator expected after the attribute");
		free(n);
		return NULL;
	}
	skip_sp(p);
	for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		size_t ol = strlen(ops[i]);

		if (strncasecmp(p->s + p->pos, ops[i], ol) == 0 &&
		    (p->s[p->pos + ol] == ' ' || p->s[p->pos + ol] == '\0' ||
		    p->s[p->pos + ol] == ')'))
			break;
	}
	if (i == sizeof ops / sizeof ops[0]) {
		snprintf(p->err, sizeof p->err, "unknown operator at position %zu", p->pos + 1);
		free(n);
		return NULL;
	}
	n->op = (enum fop)i;
	p->pos += strlen(ops[i]);
	if (n->op == FO_PR)
		return n;
	if (p->s[p->pos] != ' ') {
		snprintf(p->err, sizeof p->err, "value expected after the operator");
		free(n);
		return NULL;
	}
	skip_sp(p);
	/* compValue: a JSON string, true, false, null or a number */
	if (p->s[p->pos] == '"') {
		size_t q = p->pos + 1;
		struct json_object *js;
		char *lit;

		while (p->s[q] != '\0' && p->s[q] != '"') {
			if (p->s[q] == '\\' && p->s[q + 1] != '\0')
				q++;
			q++;
		}
		if (p->s[q] != '"') {
			snprintf(p->err, sizeof p->err, "unterminated string");
			free(n);
			return NULL;
		}
		lit = sb_strndup(p->s + p->pos, q - p->pos + 1);
		js = lit != NULL ? json_tokener_parse(lit) : NULL;
		free(lit);
		if (js == NULL || !json_object_is_type(js, json_type_string)) {
			json_object_put(js);
			snprintf(p->err, sizeof p->err, "bad string at position %zu", p->pos + 1);
			free(n);
			return NULL;
		}
		n->vtype = json_type_string;
		n->str = sb_strdup(json_object_get_string(js));
		json_object_put(js);
		if (n->str == NULL) {
			snprintf(p->err, sizeof p->err, "out of memory");
			free(n);
			return NULL;
		}
		p->pos = q + 1;
	} else if (keyword(p, "true")) {
		n->vtype = json_type_boolean;
		n->boolean = 1;
	} else if (keyword(p, "false")) {
		n->vtype = json_type_boolean;
		n->boolean = 0;
	} else if (keyword(p, "null")) {
		n->vtype = json_type_null;
	} else {
		snprintf(p->err, sizeof p->err, "a quoted string, true, false or null expected at "
		    "position %zu", p->pos + 1);
		free(n);
		return NULL;
	}
	/* what the attribute's type allows */
	if ((n->attr == FA_ACTIVE) != (n->vtype == json_type_boolean) &&
	    n->vtype != json_type_null) {
		snprintf(p->err, sizeof p->err, "value type does not match the attribute");
		fnode_free(n);
		return NULL;
	}
	if (n->attr == FA_ACTIVE && n->op != FO_EQ && n->op != FO_NE) {
		snprintf(p->err, sizeof p->err, "only eq and ne compare booleans");
		fnode_free(n);
		return NULL;
	}
	return n;
}

static struct fnode *
parse_unary(struct fparser *p)
{
	struct fnode *n, *inner;
	int neg = 0;

	skip_sp(p);
	if (++p->depth > SCIM_FILTER_DEPTH) {
		snprintf(p->err, sizeof p->err, "filter nested too deeply");
		return NULL;
	}
	if (keyword(p, "not")) {
		neg = 1;
		skip_sp(p);
		if (p->s[p->pos] != '(') {
			snprintf(p->err, sizeof p->err, "'(' expected after not");
			return NULL;
		}
	}
	if (p->s[p->pos] == '(') {
		p->pos++;
		if ((inner = parse_or(p)) == NULL)
			return NULL;
		skip_sp(p);
		if (p->s[p->pos] != ')') {
			snprintf(p->err, sizeof p->err, "')' expected at position %zu", p->pos + 1);
			fnode_free(inner);
			return NULL;
		}
		p->pos++;
	} else if ((inner = parse_cmp(p)) == NULL)
		return NULL;
	p->depth--;
	if (!neg)
		return inner;
	if ((n = calloc(1, sizeof *n)) == NULL) {
		fnode_free(inner);
		snprintf(p->err, sizeof p->err, "out of memory");
		return NULL;
	}
	n->kind = FK_NOT;
	n->l = inner;
	return n;
}

static struct fnode *
parse_and(struct fparser *p)
{
	struct fnode *l, *r, *n;
	size_t save;

	if ((l = parse_unary(p)) == NULL)
		return NULL;
	for (;;) {
		save = p->pos;
		skip_sp(p);
		if (p->pos == save || !keyword(p, "and")) {
			p->pos = save;
			return l;
		}
		if ((r = parse_unary(p)) == NULL || (n = calloc(1, sizeof *n)) == NULL) {
			if (r != NULL)
				snprintf(p->err, sizeof p->err, "out of memory");
			fnode_free(l);
			fnode_free(r);
			return NULL;
		}
		n->kind = FK_AND;
		n->l = l;
		n->r = r;
		l = n;
	}
}

static struct fnode *
parse_or(struct fparser *p)
{
	struct fnode *l, *r, *n;
	size_t save;

	if ((l = parse_and(p)) == NULL)
		return NULL;
	for (;;) {
		save = p->pos;
		skip_sp(p);
		if (p->pos == save || !keyword(p, "or")) {
			p->pos = save;
			return l;
		}
		if ((r = parse_and(p)) == NULL || (n = calloc(1, sizeof *n)) == NULL) {
			if (r != NULL)
				snprintf(p->err, sizeof p->err, "out of memory");
			fnode_free(l);
			fnode_free(r);
			return NULL;
		}
		n->kind = FK_OR;
		n->l = l;
		n->r = r;
		l = n;
	}
}

/* Parse a whole filter; NULL with err filled. */
static struct fnode *
filter_parse(const char *s, char *err, size_t errlen)
{
	struct fparser p = { s, 0, 0, "" };
	struct fnode *n = parse_or(&p);

	if (n != NULL) {
		skip_sp(&p);
		if (s[p.pos] != '\0') {
			snprintf(p.err, sizeof p.err, "unexpected text at position %zu", p.pos + 1);
			fnode_free(n);
			n = NULL;
		}
	}
	if (n == NULL)
		snprintf(err, errlen, "%s", p.err[0] != '\0' ? p.err : "invalid filter");
	return n;
}

/* One string comparison; ci: the attribute is caseExact false. */
static int
str_cmp_op(enum fop op, const char *have, const char *want, int ci)
{
	size_t hl, wl;
	int c;

	if (have == NULL)
		return op == FO_NE;
	hl = strlen(have);
	wl = strlen(want);
	switch (op) {
	case FO_EQ:
		return (ci ? strcasecmp(have, want) : strcmp(have, want)) == 0;
	case FO_NE:
		return (ci ? strcasecmp(have, want) : strcmp(have, want)) != 0;
	case FO_CO:
		if (!ci)
			return strstr(have, want) != NULL;
		return strcasestr(have, want) != NULL;
	case FO_SW:
		return hl >= wl && (ci ? strncasecmp(have, want, wl) : strncmp(have, want, wl)) == 0;
	case FO_EW:
		return hl >= wl && (ci ? strcasecmp(have + hl - wl, want) :
		    strcmp(have + hl - wl, want)) == 0;
	default:
		c = ci ? strcasecmp(have, want) : strcmp(have, want);
		return op == FO_GT ? c > 0 : op == FO_GE ? c >= 0 : op == FO_LT ? c < 0 : c <= 0;
	}
}

static int
fnode_match(const struct fnode *n, const struct scim_suser *u)
{
	const char *have = NULL;
	int ci = 1;

	switch (n->kind) {
	case FK_AND:
		return fnode_match(n->l, u) && fnode_match(n->r, u);
	case FK_OR:
		return fnode_match(n->l, u) || fnode_match(n->r, u);
	case FK_NOT:
		return !fnode_match(n->l, u);
	case FK_CMP:
		break;
	}
	switch (n->attr) {
	case FA_ID: have = u->id; ci = 0; break;
	case FA_USERNAME: have = u->user_name; break;
	case FA_EXTERNALID: have = u->external_id; ci = 0; break;
	case FA_DISPLAYNAME: have = u->display_name; break;
	case FA_EMAILS: have = u->email; break;
	case FA_ACTIVE:
		if (n->op == FO_PR)
			return 1;
		if (n->vtype == json_type_null)
			return n->op == FO_NE;
		return (u->active == n->boolean) == (n->op == FO_EQ);
	}
	if (n->op == FO_PR)
		return have != NULL && have[0] != '\0';
	if (n->vtype == json_type_null)
		return (have == NULL) == (n->op == FO_EQ);
	return str_cmp_op(n->op, have, n->str, ci);
}

/* GET /Users?filter=&startIndex=&count= */
static void
do_list(struct sb_call *c, struct scim_app *a)
{
	struct sb_form form;
	const char *f, *s;
	char err[240];
	struct fnode *n = NULL;
	struct scim_suser **hits = NULL, *one = NULL;
	size_t nhits = 0, i, k;
	int64_t start = 1, count = SCIM_PAGE_DEFAULT;
	char *end;

	if (sb_form_parse(&form, c->query != NULL ? c->query : "",
	    c->query != NULL ? strlen(c->query) : 0) == -1) {
		sb_scim_error(c, 400, "invalidFilter", "malformed query string");
		return;
	}
	if ((s = sb_form_get(&form, "startIndex")) != NULL) {
		start = strtoll(s, &end, 10);
		if (*s == '\0' || *end != '\0')
			start = -1;
		if (start < 1)	/* RFC 7644 §3.4.2.4: less than 1 is 1 */
			start = 1;
	}
	if ((s = sb_form_get(&form, "count")) != NULL) {
		count = strtoll(s, &end, 10);
		if (*s == '\0' || *end != '\0' || count < 0)
			count = 0;
		if (count > SCIM_PAGE_MAX)
			count = SCIM_PAGE_MAX;
	}
	if ((f = sb_form_get(&form, "filter")) != NULL &&
	    (n = filter_parse(f, err, sizeof err)) == NULL) {
		sb_form_free(&form);
		sb_scim_error(c, 400, "invalidFilter", err);
		return;
	}
	sb_form_free(&form);
	/* "userName eq" / "externalId eq" / "id eq" use the indexes */
	if (n != NULL && n->kind == FK_CMP && n->op == FO_EQ && n->vtype == json_type_string &&
	    (n->attr == FA_USERNAME || n->attr == FA_EXTERNALID || n->attr == FA_ID)) {
		one = sb_map_get(n->attr == FA_USERNAME ? &a->by_username : n->attr == FA_ID ?
		    &a->by_id : &a->by_external, n->str);
		if (one != NULL && !one->deleted) {
			hits = &one;
			nhits = 1;
		}
	} else {
		if (a->nusers > 0 && (hits = malloc(a->nusers * sizeof *hits)) == NULL) {
			fnode_free(n);
			sb_scim_error(c, 500, NULL, "out of memory");
			return;
		}
		for (i = 0; i < a->nusers; i++)
			if (!a->users[i]->deleted && (n == NULL || fnode_match(n, a->users[i])))
				hits[nhits++] = a->users[i];
	}
	fnode_free(n);
	if (nhits == 1)
		snprintf(c->user, sizeof c->user, "%s", hits[0]->id);
	c->status = 200;
	c->ctype = SCIM_CTYPE;
	k = (size_t)start - 1 < nhits ? nhits - ((size_t)start - 1) : 0;
	if ((int64_t)k > count)
		k = (size_t)count;
	sb_buf_printf(&c->body, "{\"schemas\":[\"%s\"],\"totalResults\":%zu,\"startIndex\":%" PRId64
	    ",\"itemsPerPage\":%zu,\"Resources\":[", SCIM_LIST_SCHEMA, nhits, start, k);
	for (i = 0; i < k; i++) {
		if (i > 0)
			sb_buf_putc(&c->body, ',');
		user_json(c, a, hits[(size_t)start - 1 + i], &c->body);
	}
	sb_buf_puts(&c->body, "]}");
	if (hits != &one)
		free(hits);
}

/* ---- PATCH (RFC 7644 §3.5.2) ----------------------------------------------------------- */

static struct json_object *
body_json(struct sb_call *c, char *err, size_t errlen)
{
	size_t len;
	const char *p = sb_call_body(c, &len);

	return sb_json_parse(p, len, err, errlen);
}

/* The attribute a PATCH path or a value key names; -1 when unknown. */
static int
patch_attr(const char *name)
{
	size_t len = strlen(name);
	const char *a = attr_strip_urn(name, &len);

	if (len == 6 && strncasecmp(a, "active", 6) == 0)
		return FA_ACTIVE;
	if (len == 11 && strncasecmp(a, "displayName", 11) == 0)
		return FA_DISPLAYNAME;
	if (len == 10 && strncasecmp(a, "externalId", 10) == 0)
		return FA_EXTERNALID;
	if (len == 8 && strncasecmp(a, "userName", 8) == 0)
		return FA_USERNAME;
	if (len == 2 && strncasecmp(a, "id", 2) == 0)
		return FA_ID;
	return -1;
}

/* The user after a PATCH, built before anything is applied. */
struct patched {
	int active;
	const char *display_name, *external_id, *user_name;
	int set_display, set_external, set_user;
};

/* Apply one attribute op to the draft; 0, or -1 with an error answered. */
static int
patch_one(struct sb_call *c, struct scim_app *a, struct scim_suser *u, struct patched *d,
    const char *op, int attr, struct json_object *v, const char *name)
{
	char msg[200];
	int remove = strcasecmp(op, "remove") == 0;

	switch (attr) {
	case FA_ACTIVE:
		if (remove) {
			sb_scim_error(c, 400, "mutability", "active cannot be removed");
			return -1;
		}
		if (!json_object_is_type(v, json_type_boolean)) {
			sb_scim_error(c, 400, "invalidValue", "active must be a boolean");
			return -1;
		}
		d->active = json_object_get_boolean(v);
		return 0;
	case FA_ID:
		sb_scim_error(c, 400, "mutability", "id is readOnly");
		return -1;
	case FA_USERNAME:
		if (remove || !json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) == 0) {
			sb_scim_error(c, 400, "invalidValue", "userName is a required string");
			return -1;
		}
		if (sb_map_get(&a->by_username, json_object_get_string(v)) != NULL &&
		    strcasecmp(u->user_name, json_object_get_string(v)) != 0) {
			sb_scim_error(c, 409, "uniqueness", "userName is already taken");
			return -1;
		}
		d->user_name = json_object_get_string(v);
		d->set_user = 1;
		return 0;
	case FA_DISPLAYNAME:
	case FA_EXTERNALID:
		if (!remove && !json_object_is_type(v, json_type_string)) {
			snprintf(msg, sizeof msg, "%s must be a string", name);
			sb_scim_error(c, 400, "invalidValue", msg);
			return -1;
		}
		if (attr == FA_DISPLAYNAME) {
			d->display_name = remove ? NULL : json_object_get_string(v);
			d->set_display = 1;
		} else {
			d->external_id = remove ? NULL : json_object_get_string(v);
			if (d->external_id != NULL &&
			    sb_map_get(&a->by_external, d->external_id) != NULL &&
			    (u->external_id == NULL || strcmp(u->external_id, d->external_id) != 0)) {
				sb_scim_error(c, 409, "uniqueness", "externalId is already taken");
				return -1;
			}
			d->set_external = 1;
		}
		return 0;
	default:
		return -1;
	}
}

static int
set_str(char **dst, const char *src)
{
	char *n = NULL;

	if (src != NULL && (n = sb_strdup(src)) == NULL)
		return -1;
	free(*dst);
	*dst = n;
	return 0;
}

static void
do_patch(struct sb_call *c, struct scim_app *a, struct scim_suser *u)
{
	const char *im = evhttp_find_header(evhttp_request_get_input_headers(c->req), "If-Match");
	struct json_object *body, *schemas, *ops, *op;
	struct patched d;
	char err[200], etag[48];
	size_t i, n;
	int found = 0, changed;

	if (im != NULL && a->etags && strcmp(im, "*") != 0) {
		const char *want = im, *have;

		etag_of(u, etag, sizeof etag);
		have = etag + 2; /* weak comparison: drop W/ on both sides */
		if (strncmp(want, "W/", 2) == 0)
			want += 2;
		if (strcmp(want, have) != 0) {
			sb_scim_error(c, 412, NULL, "the resource has changed (If-Match does not "
			    "match its version)");
			return;
		}
	}
	if ((body = body_json(c, err, sizeof err)) == NULL ||
	    !json_object_is_type(body, json_type_object)) {
		json_object_put(body);
		sb_scim_error(c, 400, "invalidSyntax",
		    body == NULL ? err : "body must be a JSON object");
		return;
	}
	if (json_object_object_get_ex(body, "schemas", &schemas) &&
	    json_object_is_type(schemas, json_type_array)) {
		n = json_object_array_length(schemas);
		for (i = 0; i < n; i++) {
			struct json_object *s = json_object_array_get_idx(schemas, i);
			if (json_object_is_type(s, json_type_string) &&
			    strcmp(json_object_get_string(s), SCIM_PATCH_SCHEMA) == 0)
				found = 1;
		}
	}
	if (!found) {
		json_object_put(body);
		sb_scim_error(c, 400, "invalidSyntax", "schemas must contain " SCIM_PATCH_SCHEMA);
		return;
	}
	if (!json_object_object_get_ex(body, "Operations", &ops) ||
	    !json_object_is_type(ops, json_type_array) || json_object_array_length(ops) == 0) {
		json_object_put(body);
		sb_scim_error(c, 400, "invalidSyntax", "Operations must be a non-empty array");
		return;
	}
	memset(&d, 0, sizeof d);
	d.active = u->active;
	n = json_object_array_length(ops);
	for (i = 0; i < n; i++) {
		struct json_object *jop, *jpath, *v = NULL;
		const char *opname;
		int attr;

		op = json_object_array_get_idx(ops, i);
		if (!json_object_is_type(op, json_type_object) ||
		    !json_object_object_get_ex(op, "op", &jop) ||
		    !json_object_is_type(jop, json_type_string)) {
			json_object_put(body);
			sb_scim_error(c, 400, "invalidSyntax", "each operation needs an \"op\"");
			return;
		}
		opname = json_object_get_string(jop);
		if (strcasecmp(opname, "add") != 0 && strcasecmp(opname, "replace") != 0 &&
		    strcasecmp(opname, "remove") != 0) {
			snprintf(err, sizeof err, "unknown op '%.40s' (add, remove, replace)", opname);
			json_object_put(body);
			sb_scim_error(c, 400, "invalidSyntax", err);
			return;
		}
		json_object_object_get_ex(op, "value", &v);
		if (json_object_object_get_ex(op, "path", &jpath)) {
			const char *path;

			if (!json_object_is_type(jpath, json_type_string)) {
				json_object_put(body);
				sb_scim_error(c, 400, "invalidPath", "path must be a string");
				return;
			}
			path = json_object_get_string(jpath);
			if ((attr = patch_attr(path)) == -1) {
				snprintf(err, sizeof err, "path '%.60s' is not supported", path);
				json_object_put(body);
				sb_scim_error(c, 400, strpbrk(path, "[]\"") != NULL ?
				    "invalidFilter" : "invalidPath", err);
				return;
			}
			if (strcasecmp(opname, "remove") != 0 && v == NULL) {
				json_object_put(body);
				sb_scim_error(c, 400, "invalidValue", "add and replace need a "
				    "value");
				return;
			}
			if (patch_one(c, a, u, &d, opname, attr, v, path) == -1) {
				json_object_put(body);
				return;
			}
			continue;
		}
		/* no path: remove has no target; add/replace take an object of attributes */
		if (strcasecmp(opname, "remove") == 0) {
			json_object_put(body);
			sb_scim_error(c, 400, "noTarget", "remove needs a path");
			return;
		}
		if (v == NULL || !json_object_is_type(v, json_type_object)) {
			json_object_put(body);
			sb_scim_error(c, 400, "invalidValue", "without a path the value must be an "
			    "object of attributes");
			return;
		}
		{
			json_object_object_foreach(v, key, val) {
				if (strcmp(key, "schemas") == 0)
					continue;
				if ((attr = patch_attr(key)) == -1) {
					snprintf(err, sizeof err, "unknown attribute '%.60s'", key);
					json_object_put(body);
					sb_scim_error(c, 400, "invalidValue", err);
					return;
				}
				if (patch_one(c, a, u, &d, opname, attr, val, key) == -1) {
					json_object_put(body);
					return;
				}
			}
		}
	}
	/* every operation passed: apply them together */
	changed = d.active != u->active;
	if (d.set_user && strcmp(d.user_name, u->user_name) != 0) {
		char *old = u->user_name;

		if ((u->user_name = sb_strdup(d.user_name)) == NULL) {
			u->user_name = old;
			json_object_put(body);
			sb_scim_error(c, 500, NULL, "out of memory");
			return;
		}
		sb_map_del(&a->by_username, old, u);
		free(old);
		if (sb_map_put(&a->by_username, u->user_name, u) == -1)
			abort(); /* the slot of the old key is free again */
		changed = 1;
	}
	if (d.set_display && (d.display_name == NULL || u->display_name == NULL ||
	    strcmp(d.display_name, u->display_name) != 0)) {
		if (set_str(&u->display_name, d.display_name) == -1) {
			json_object_put(body);
			sb_scim_error(c, 500, NULL, "out of memory");
			return;
		}
		changed = 1;
	}
	if (d.set_external && (d.external_id == NULL || u->external_id == NULL ||
	    strcmp(d.external_id, u->external_id) != 0)) {
		if (u->external_id != NULL)
			sb_map_del(&a->by_external, u->external_id, u);
		if (set_str(&u->external_id, d.external_id) == -1 ||
		    (u->external_id != NULL && sb_map_put(&a->by_external, u->external_id, u) == -1)) {
			json_object_put(body);
			sb_scim_error(c, 500, NULL, "out of memory");
			return;
		}
		changed = 1;
	}
	u->active = d.active;
	if (changed) {
		u->version++;
		u->modified_ms = sb_now_ms();
	}
	json_object_put(body);
	answer_user(c, a, u, a->patch_no_content ? 204 : 200);
}

static void
do_delete(struct sb_call *c, struct scim_app *a, struct scim_suser *u)
{
	if (a->delete_deactivates) {
		if (u->active) {
			u->active = 0;
			u->version++;
			u->modified_ms = sb_now_ms();
		}
	} else {
		sb_map_del(&a->by_id, u->id, u);
		sb_map_del(&a->by_username, u->user_name, u);
		if (u->external_id != NULL)
			sb_map_del(&a->by_external, u->external_id, u);
		u->deleted = 1;
		a->ndeleted++;
	}
	c->status = 204;
	c->body.len = 0;
}

/* ---- the surface ----------------------------------------------------------------------- */

/* freeze/unfreeze for a PATCH setting active (path or value form), else other. */
static int
patch_action(struct json_object *body)
{
	struct json_object *ops, *op, *v, *path, *act;
	size_t i, n;

	if (body == NULL || !json_object_object_get_ex(body, "Operations", &ops) ||
	    !json_object_is_type(ops, json_type_array))
		return ACT_OTHER;
	n = json_object_array_length(ops);
	for (i = 0; i < n; i++) {
		op = json_object_array_get_idx(ops, i);
		if (!json_object_is_type(op, json_type_object) ||
		    !json_object_object_get_ex(op, "value", &v))
			continue;
		act = NULL;
		if (json_object_object_get_ex(op, "path", &path)) {
			if (json_object_is_type(path, json_type_string) &&
			    patch_attr(json_object_get_string(path)) == FA_ACTIVE)
				act = v;
		} else if (json_object_is_type(v, json_type_object))
			json_object_object_get_ex(v, "active", &act);
		if (act != NULL && json_object_is_type(act, json_type_boolean))
			return json_object_get_boolean(act) ? ACT_UNFREEZE : ACT_FREEZE;
	}
	return ACT_OTHER;
}

void
sb_scim_classify(struct sb_call *c)
{
	struct scim_route r;
	struct scim_app *a;
	struct scim_suser *u;
	char err[64];

	if (route_parse(c->path, &r) == -1)
		return;
	c->target = intern_target(r.app);
	a = app_find(&c->sb->org, r.app);
	if (r.kind == 2) {
		snprintf(c->user, sizeof c->user, "%s", r.id);
		if (a != NULL && (u = user_find(a, r.id)) != NULL)
			snprintf(c->user, sizeof c->user, "%s", u->id);
	}
	if (r.kind == 1 && strcmp(c->method, "GET") == 0)
		c->action = ACT_QUERY;
	else if (r.kind == 2 && strcmp(c->method, "GET") == 0)
		c->action = ACT_READ;
	else if (r.kind == 2 && strcmp(c->method, "DELETE") == 0)
		c->action = ACT_DELETE;
	else if (r.kind == 2 && strcmp(c->method, "PATCH") == 0) {
		struct json_object *body = body_json(c, err, sizeof err);

		c->action = patch_action(body);
		json_object_put(body);
	}
}

void
sb_scim_handle(struct sb_call *c)
{
	struct scim_route r;
	struct scim_app *a;
	struct scim_suser *u;
	char msg[160];

	sb_scim_classify(c);
	c->ctype = SCIM_CTYPE;
	if (route_parse(c->path, &r) == -1 || r.kind == 0) {
		sb_scim_error(c, 404, NULL, "no such endpoint");
		return;
	}
	if ((a = app_find(&c->sb->org, r.app)) == NULL) {
		snprintf(msg, sizeof msg, "no SCIM app '%s' is seeded", r.app);
		sb_scim_error(c, 404, NULL, msg);
		return;
	}
	if (!sb_static_bearer(c)) {
		sb_scim_error(c, 401, NULL, "Authorization failure: a valid bearer token is "
		    "required");
		return;
	}
	if (rate_limited(c, a))
		return;
	if (r.kind == 3) {
		if (strcmp(c->method, "GET") != 0) {
			sb_scim_error(c, 405, NULL, "method not allowed");
			return;
		}
		c->status = 200;
		sb_buf_printf(&c->body, "{\"schemas\":[\"%s\"],\"patch\":{\"supported\":true},"
		    "\"bulk\":{\"supported\":false,\"maxOperations\":0,\"maxPayloadSize\":0},"
		    "\"filter\":{\"supported\":true,\"maxResults\":%d},\"changePassword\":"
		    "{\"supported\":false},\"sort\":{\"supported\":false},\"etag\":{\"supported\":%s},"
		    "\"authenticationSchemes\":[{\"type\":\"oauthbearertoken\",\"name\":\"OAuth "
		    "Bearer Token\",\"description\":\"Authentication with a bearer token\"}]}",
		    SCIM_SPC_SCHEMA, SCIM_PAGE_MAX, a->etags ? "true" : "false");
		return;
	}
	if (r.kind == 1) {
		if (strcmp(c->method, "GET") == 0)
			do_list(c, a);
		else if (strcmp(c->method, "POST") == 0)
			sb_scim_error(c, 501, NULL, "creating users is not implemented by the "
			    "sandbox");
		else
			sb_scim_error(c, 405, NULL, "method not allowed on /Users");
		return;
	}
	if ((u = user_find(a, r.id)) == NULL) {
		snprintf(msg, sizeof msg, "Resource %.80s not found", r.id);
		sb_scim_error(c, 404, NULL, msg);
		return;
	}
	if (strcmp(c->method, "GET") == 0)
		answer_user(c, a, u, 200);
	else if (strcmp(c->method, "PATCH") == 0)
		do_patch(c, a, u);
	else if (strcmp(c->method, "DELETE") == 0)
		do_delete(c, a, u);
	else if (strcmp(c->method, "PUT") == 0)
		sb_scim_error(c, 501, NULL, "PUT is not implemented by the sandbox; use PATCH");
	else
		sb_scim_error(c, 405, NULL, "method not allowed on a User");
}
