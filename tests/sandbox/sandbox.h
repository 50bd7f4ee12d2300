/*
 * sandbox.h: private interfaces of deprov-sandbox, the target simulator (see docs/SANDBOX.md).
 *
 * The program is split by concern: sb_util.c (hash map, growable buffer, JSON, URL and request
 * helpers every surface shares), sb_org.c (the simulated Salesforce org and seed loading),
 * sb_soql.c (the SOQL subset, query paging), sb_sf.c (Salesforce REST, OAuth and SCIM
 * handlers), sb_fault.c (fault rules and the request log) and sandbox.c (command line, HTTP
 * server, request life cycle, /_sandbox).
 * Nothing here is used outside tests/sandbox/.
 */
#ifndef DEPROV_SANDBOX_H
#define DEPROV_SANDBOX_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#define SB_ID_LEN 18            /* Salesforce 18-character ids */
#define SB_ID_KEYLEN 15         /* ids compare on their case-sensitive 15-character form */
#define SB_MAX_BODY (16u << 20) /* request bodies */
#define SB_MAX_OUT (1u << 30)   /* one generated answer */
#define SB_LOG_CAP 2000000u     /* request-log entries kept in memory */
#define SB_MAX_COMPOSITE 200    /* sObject collections limit */
#define SB_USER_LEN 64          /* a log entry's user id: Salesforce, Graph GUID, Google id */
#define SB_PATH_MAX 10          /* path segments a surface splits */

/* ---- sb_util.c ------------------------------------------------------------------------- */

/* Open-addressing hash multimap from a string key (owned by the value) to a value. */
struct sb_map_ent {
	uint64_t hash;
	const char *key;
	void *val;
};

struct sb_map {
	struct sb_map_ent *ents;
	size_t cap; /* power of two, 0 while empty */
	size_t count;
	int ci;        /* keys compare ASCII case-insensitively */
	size_t keylen; /* > 0: only the first keylen characters count */
};

void sb_map_init(struct sb_map *m, int ci, size_t keylen);
void sb_map_free(struct sb_map *m);
int sb_map_put(struct sb_map *m, const char *key, void *val);
void *sb_map_get(const struct sb_map *m, const char *key);
/* Iterate every value stored under key: start with *pos = 0; NULL at the end. */
void *sb_map_next(const struct sb_map *m, const char *key, size_t *pos);
/* Remove the entry key -> val (val NULL: the first under key). 0 or -1 when absent. */
int sb_map_del(struct sb_map *m, const char *key, const void *val);
/* Iterate every entry: start with *pos = 0; NULL at the end. */
struct sb_map_ent *sb_map_iter(const struct sb_map *m, size_t *pos);

/* Growable, size-capped output buffer; a failed allocation sets oom and drops later writes. */
struct sb_buf {
	char *p;
	size_t len;
	size_t cap;
	int oom;
};

void sb_buf_put(struct sb_buf *b, const void *data, size_t len);
void sb_buf_puts(struct sb_buf *b, const char *s);
void sb_buf_putc(struct sb_buf *b, char c);
void sb_buf_printf(struct sb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal for s, or null when s is NULL. */
void sb_buf_jstr(struct sb_buf *b, const char *s);
void sb_buf_jstrn(struct sb_buf *b, const char *s, size_t n);
void sb_buf_free(struct sb_buf *b);
/* Hand the bytes over to an evbuffer (zero copy); the buffer is empty afterwards. */
int sb_buf_to_evbuffer(struct sb_buf *b, struct evbuffer *out);

/* One decoded key=value pair of a query string or form body. */
struct sb_kv {
	char *key;
	char *val;
};

struct sb_form {
	struct sb_kv *kv;
	size_t n;
};

/* Parse application/x-www-form-urlencoded text ('+' is a space, %XX decoded). */
int sb_form_parse(struct sb_form *f, const char *s, size_t len);
const char *sb_form_get(const struct sb_form *f, const char *key);
void sb_form_free(struct sb_form *f);
/* Decode %XX (and '+' when plus is set) into a new string; NULL on a bad escape. */
char *sb_url_decode(const char *s, size_t len, int plus);

int64_t sb_now_ms(void);   /* wall clock, epoch milliseconds */
int64_t sb_mono_ms(void);  /* monotonic milliseconds */
char *sb_strdup(const char *s);
char *sb_strndup(const char *s, size_t n);
/* 1 when s looks like a Salesforce id: 15 or 18 alphanumerics. */
int sb_id_valid(const char *s);
/* 1 when two ids name the same object (15/18-character forms). */
int sb_id_eq(const char *a, const char *b);
/* Parse a whole JSON document of len bytes; NULL on a syntax error (err filled). */
struct json_object *sb_json_parse(const char *s, size_t len, char *err, size_t errlen);
/* A string member, or NULL when absent or not a string. */
const char *sb_jstr(struct json_object *o, const char *key);
/* A boolean member: dflt when absent or null, -1 when not a boolean. */
int sb_jbool(struct json_object *o, const char *key, int dflt);
/* An integer member in [0, max]: dflt when absent or null, -1 when not one. */
int64_t sb_jint(struct json_object *o, const char *key, int64_t dflt, int64_t max);
/*
 * An integer member in [min, max] into *out (dflt when absent): 0, or -1 with err saying
 * "<what>: <key> must be a number <min>..<max>".
 */
int sb_jint_in(struct json_object *o, const char *what, const char *key, int64_t min,
    int64_t max, int64_t dflt, int64_t *out, char *err, size_t errlen);
/*
 * Decode base64url (trailing '=' allowed; lenient: the standard alphabet's '+' and '/' too)
 * into a malloc'd, NUL-terminated *out. 0, or -1 on a bad digit or length.
 */
int sb_b64url_decode(const char *s, size_t len, int lenient, unsigned char **out,
    size_t *outlen);
/* A base64url-encoded JSON object (a JWT's header or claims), or NULL. */
struct json_object *sb_b64url_json(const char *s, size_t len, int lenient);
/*
 * Check the RS256 signature of the compact JWT jwt (d2: its second '.') with key: 0, -1 when
 * the signature is not base64url (lenient as above), -2 when it does not verify.
 */
int sb_jwt_rs256(EVP_PKEY *key, const char *jwt, const char *d2, int lenient);
/*
 * A generate[] entry's "<key>": true or an object (then *opts) asks for the same people in
 * that surface. 1 when asked, 0 when absent or false, -1 with err on another value.
 */
int sb_gen_flag(struct json_object *gen, const char *key, struct json_object **opts, char *err,
    size_t errlen);

/* A request path split on '/', each segment %-decoded (malloc'd). */
struct sb_path {
	char *seg[SB_PATH_MAX];
	size_t n;
};

/* Split path into at most max (<= SB_PATH_MAX) segments: 0, or -1 (too many, bad escape). */
int sb_path_split(const char *path, struct sb_path *p, size_t max);
void sb_path_free(struct sb_path *p);

/* ---- sb_org.c -------------------------------------------------------------------------- */

struct sb_user;
struct sb_type;
struct sb_olist;

struct sb_login {
	char id[SB_ID_LEN + 1];
	int frozen;
	struct sb_user *user;
};

struct sb_token {
	char id[SB_ID_LEN + 1];
	char *app;
	char *dtoken; /* DeleteToken */
	struct sb_user *user;
	struct sb_token *uprev, *unext; /* the user's tokens */
	struct sb_token *gprev, *gnext; /* every token */
};

/*
 * Why Salesforce refuses to deactivate a user (PATCH User {"IsActive":false} answers 400 with
 * the blocker's error; docs/SANDBOX.md "Deactivation blockers").
 */
enum sb_blocker {
	SB_BLOCK_NONE = 0,
	SB_BLOCK_WORKFLOW_USER,      /* Default Workflow User (Process Automation Settings) */
	SB_BLOCK_LEAD_OWNER,         /* Default Lead Owner (Lead Settings) */
	SB_BLOCK_CASE_OWNER,         /* Default Case Owner (Support Settings) */
	SB_BLOCK_WEB_TO_LEAD,        /* Web-to-Lead default creator */
	SB_BLOCK_WEB_TO_CASE,        /* Web-to-Case creator: the Automated Case User */
	SB_BLOCK_PORTAL_ADMIN,       /* Customer Portal / partner portal administrator */
	SB_BLOCK_PORTAL_OWNER,       /* owner of portal accounts */
	SB_BLOCK_HIERARCHY,          /* the value of a custom hierarchy field */
	SB_BLOCK_APPROVER,           /* approver or delegated approver in approval routing */
	SB_BLOCK_VALIDATION,         /* a custom validation rule on User */
	SB_BLOCK_COUNT
};

struct sb_user {
	char id[SB_ID_LEN + 1];
	char *username;
	char *email;
	char *fedid; /* FederationIdentifier, may be NULL */
	char *name;
	int active;
	enum sb_blocker blocker; /* SB_BLOCK_NONE: it can be deactivated */
	char *blocker_msg;       /* replaces the blocker's message; may be NULL */
	struct sb_login login;
	struct sb_token *thead, *ttail;
	size_t ntokens;
};

struct sb_record {
	char id[SB_ID_LEN + 1];
	char owner[SB_ID_LEN + 1];
	struct sb_type *type;
	char *name;
	char *fail; /* seeded status code every update fails with */
	struct sb_olist *ol;
	struct sb_record *oprev, *onext; /* same type and owner */
	struct sb_record *tprev, *tnext; /* same type */
};

/* The records of one type owned by one owner. */
struct sb_olist {
	char owner[SB_ID_LEN + 1];
	struct sb_record *head, *tail;
	size_t count;
};

struct sb_type {
	char *name;
	char prefix[4];
	size_t total;
	struct sb_map owners; /* owner id -> struct sb_olist */
	struct sb_record *head, *tail;
};

struct sb_org {
	struct sb_user **users; /* in creation order */
	size_t nusers, capusers;
	struct sb_map users_by_id, users_by_username, users_by_email, users_by_fedid;
	struct sb_map logins_by_id;
	struct sb_map tokens_by_id, tokens_by_dtoken;
	struct sb_token *thead, *ttail;
	size_t ntokens;
	struct sb_map records_by_id;
	size_t nrecords;
	struct sb_type **types;
	size_t ntypes, captypes;
	struct sb_map types_by_name;
	struct sb_map counters; /* key prefix -> struct sb_counter */
	uint64_t token_serial;
	int64_t api_used;
	int64_t licenses; /* Salesforce licences for active users; 0 = no limit */
	struct sb_graph *graph;   /* sb_graph.c: Entra ID users, NULL until seeded */
	struct sb_google *google; /* sb_google.c: Workspace users and transfers, NULL until seeded */
	struct sb_scim *scim;     /* sb_scim.c: SCIM apps, NULL until seeded */
	struct sb_okta *okta;     /* sb_okta.c: Okta users, NULL until seeded */
};

int org_init(struct sb_org *org);
void org_free(struct sb_org *org);
struct sb_user *org_user_by_id(const struct sb_org *org, const char *id);
struct sb_user *org_user_by_username(const struct sb_org *org, const char *username);
struct sb_login *org_login_by_id(const struct sb_org *org, const char *id);
struct sb_token *org_token_by_id(const struct sb_org *org, const char *id);
struct sb_token *org_token_by_dtoken(const struct sb_org *org, const char *dtoken);
struct sb_record *org_record_by_id(const struct sb_org *org, const char *id);
struct sb_type *org_type(const struct sb_org *org, const char *name);
struct sb_olist *org_owned(const struct sb_type *t, const char *owner);
void org_token_delete(struct sb_org *org, struct sb_token *tok);
int org_record_set_owner(struct sb_org *org, struct sb_record *r, const char *owner);
/* Add a seed document (docs/SANDBOX.md); counts of what was added go to the out-parameters. */
int org_seed(struct sb_org *org, struct json_object *seed, size_t *nusers, size_t *nrecords,
    size_t *ntokens, char *err, size_t errlen);
void org_user_json(const struct sb_org *org, const struct sb_user *u, int owned,
    struct sb_buf *b);
/* The blocker named name ("default_workflow_user", ...; "" or "none" = none), or -1. */
int org_blocker_parse(const char *name);
const char *org_blocker_name(enum sb_blocker b);
/* The error Salesforce answers when it refuses to deactivate u (u->blocker != NONE). */
void org_blocker_error(const struct sb_user *u, const char **code, char *msg, size_t msglen,
    const char **field);
size_t org_active_users(const struct sb_org *org);
/*
 * Apply a POST /_sandbox/users/{key} body to u: "blocker", "blocker_message", "IsActive",
 * "IsFrozen". 0, or -1 with err (nothing changed).
 */
int org_user_admin(struct sb_org *org, struct sb_user *u, struct json_object *body, char *err,
    size_t errlen);
void org_state_json(const struct sb_org *org, struct sb_buf *b);

/* ---- sb_soql.c ------------------------------------------------------------------------- */

/* A query error: HTTP 400 with this errorCode and message. */
struct soql_err {
	const char *code;
	char msg[1024];
};

/* What a query touched, for the request log. */
struct soql_info {
	char user[SB_ID_LEN + 1];
};

struct soql_cursors;

struct soql_cursors *soql_cursors_new(void);
void soql_cursors_free(struct soql_cursors *c);
void soql_cursors_clear(struct soql_cursors *c);
/*
 * Run a query and write the first page to out. version is "vNN.N"; page is the rows per page.
 * 0, or -1 with err filled.
 */
int soql_query(struct sb_org *org, struct soql_cursors *cur, const char *version,
    const char *soql, size_t page, struct sb_buf *out, struct soql_info *info,
    struct soql_err *err);
/* The user a query is about (UserId=, OwnerId=, User Id=), without running it; "" if none. */
void soql_peek_user(struct sb_org *org, const char *soql, char *user);
/* Write the page a nextRecordsUrl locator names. 0, or -1 with err filled. */
int soql_more(struct soql_cursors *cur, const char *version, const char *locator, size_t page,
    struct sb_buf *out, struct soql_err *err);

/* ---- sb_fault.c ------------------------------------------------------------------------ */

enum fault_mode {
	FAULT_NONE = 0,
	FAULT_STATUS,
	FAULT_LATENCY,
	FAULT_TIMEOUT,
	FAULT_RESET,
	FAULT_RATE_LIMIT,
};

struct fault_rule {
	int id;
	char *path;
	char *method; /* NULL: any */
	enum fault_mode mode;
	int status;
	double rate;
	int64_t count; /* hits left, -1 unlimited */
	int64_t latency_ms;
	char *body;
	int64_t rps;
	int64_t window_s; /* rate_limit: current one-second window */
	int64_t window_n;
	int64_t hits;
	struct fault_rule *next;
};

struct fault_set {
	struct fault_rule *head, *tail;
	int next_id;
	uint64_t rng;
};

/* The outcome of matching a request against the rules. */
struct fault_hit {
	enum fault_mode mode; /* STATUS, TIMEOUT, RESET or NONE (answer normally) */
	int status;
	const char *body; /* owned by the rule set; copy before the rules may change */
	int64_t delay_ms;
	const char *name; /* for the log: the terminal fault, else "latency", else NULL */
	int rule;
};

void fault_init(struct fault_set *fs);
void fault_clear(struct fault_set *fs);
/* Add the rule in obj; its id goes to *id. 0, or -1 with err filled. */
int fault_add_json(struct fault_set *fs, struct json_object *obj, int *id, char *err,
    size_t errlen);
/* Add a rule written key=value,... (the --fault flag). */
int fault_add_spec(struct fault_set *fs, const char *spec, char *err, size_t errlen);
void fault_match(struct fault_set *fs, const char *method, const char *path, struct fault_hit *hit);
void fault_list_json(const struct fault_set *fs, struct sb_buf *b);
/*
 * Append a status fault's body template to out with the request quoted back, as some targets
 * quote what they were sent in an error: {{authorization}} is the Authorization header and
 * {{body}} the request body (both JSON-escaped, without quotes), {{authorization_base64}} the
 * header in base64.
 */
struct sb_call;
void fault_body_expand(struct sb_call *c, const char *tmpl, struct sb_buf *out);
int fault_delete(struct fault_set *fs, int id);
const char *fault_mode_name(enum fault_mode m);

/* Request-log actions. */
enum sblog_action {
	ACT_OTHER = 0,
	ACT_TOKEN,
	ACT_QUERY,
	ACT_FREEZE,
	ACT_UNFREEZE,
	ACT_REVOKE,
	ACT_REASSIGN,
	ACT_DEACTIVATE,
	ACT_ACTIVATE,
	ACT_READ,
	ACT_DELETE,
};

struct sblog_ent {
	uint64_t seq;
	int64_t ts_ms;
	char *path;
	const char *method;
	const char *fault; /* static string or NULL */
	uint32_t count;
	int rule;
	uint16_t status;
	uint8_t action;
	char user[SB_USER_LEN + 1];
	const char *target; /* static: "salesforce", "graph", "google", ... or NULL */
};

struct sblog {
	struct sblog_ent *ents; /* ring */
	size_t cap, max, start, n;
	uint64_t next_seq;
	int fd; /* --log-file, -1 when none */
};

int sblog_init(struct sblog *l, size_t max, const char *file, char *err, size_t errlen);
void sblog_free(struct sblog *l);
/* Forget the entries (sequence numbers keep increasing). */
void sblog_clear(struct sblog *l);
/* Append an entry; path is copied. */
void sblog_add(struct sblog *l, const char *method, const char *path, int status, int action,
    const char *user, uint32_t count, const char *fault, int rule, const char *target);
void sblog_json(const struct sblog *l, uint64_t since, size_t limit, struct sb_buf *b);
const char *sblog_action_name(int action);

/* ---- sandbox.c / sb_sf.c: the server and the request life cycle ------------------------ */

struct sb_session {
	char *token;
	char user[SB_ID_LEN + 1];
	int64_t expires_ms; /* wall clock; 0 = never (static --token) */
};

struct sandbox {
	struct event_base *base;
	struct evhttp *http;
	struct event *sigterm, *sigint;
	char *listen_host;
	int port;
	struct sb_org org;
	struct soql_cursors *cursors;
	struct fault_set faults;
	struct sblog log;
	struct sb_map sessions; /* access token -> struct sb_session */
	EVP_PKEY *pubkey;
	char *client_id;
	char *audience;
	int64_t token_ttl_s;
	int64_t api_limit;
	size_t query_page;
	int64_t latency_ms;
	int quiet;
	struct sb_call *pending; /* delayed, held or to-be-reset requests */
	/* sb_graph.c / sb_google.c token endpoints */
	char *graph_client_secret;  /* --graph-client-secret; NULL: client secrets are refused */
	char *google_client_email;  /* --google-client-email: the service account (JWT iss) */
	int64_t retry_after_s;      /* --retry-after: Retry-After on Graph 429/503/504 faults */
	struct sb_map issued;       /* access token -> struct sb_issued (Graph and Google) */
	/* sb_okta.c */
	const char **okta_tokens;   /* --okta-token (argv strings); none: the --token ones */
	size_t nokta_tokens;
	int64_t okta_rate_limit;    /* --okta-rate-limit: requests per window, 0 = none */
	int64_t okta_rate_window_s; /* --okta-rate-window: seconds (default 60) */
};

/* One request from arrival to answer. */
struct sb_call {
	struct sandbox *sb;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	const char *method;
	char *path;  /* raw path, no query string */
	char *query; /* raw query string or NULL */
	/* the answer */
	int status;
	struct sb_buf body;
	const char *ctype;
	int limit_header; /* add Sforce-Limit-Info */
	/* the log entry */
	const char *target; /* static; set by the surface that owns the path */
	int action;
	char user[SB_USER_LEN + 1];
	uint32_t count;
	const char *fault;
	int rule;
	/* pending state */
	enum fault_mode fmode;
	int fstatus;
	char *fbody;
	struct event *timer;
	struct event *watch;
	struct sb_call *pprev, *pnext;
};

/* ---- sb_util.c: what every surface does with a request -------------------------------- */

/* The request body as one contiguous view (may be empty, never NULL). */
const char *sb_call_body(struct sb_call *c, size_t *len);
/*
 * The credentials of "Authorization: <scheme> <credentials>" (scheme without case, spaces
 * skipped; may be ""), or NULL when the header is absent or names another scheme.
 */
const char *sb_auth_param(struct sb_call *c, const char *scheme);
/* The call's non-empty "Authorization: Bearer" token, or NULL. */
const char *sb_bearer(struct sb_call *c);
/* 1 when the call's bearer token is one of the static --token tokens. */
int sb_static_bearer(struct sb_call *c);
/* Answer an OAuth 2.0 error {"error","error_description"} with this content type. */
void sb_oauth_error(struct sb_call *c, int status, const char *ctype, const char *error,
    const char *desc);

/* ---- sb_sf.c: Salesforce REST, OAuth and SCIM ------------------------------------------ */

/* Route a Salesforce/OAuth/SCIM request and fill the call's answer. */
void sf_handle(struct sb_call *c);
/* Set the call's log action, user and count from the request alone (before any answer). */
void sf_classify(struct sb_call *c);
/* Fill the call's answer with an error array [{"message","errorCode"}]. */
void sf_error(struct sb_call *c, int status, const char *code, const char *msg);
/* The default body of an injected status fault. */
void sf_fault_body(struct sb_call *c, int status);
int sf_load_public_key(struct sandbox *sb, const char *file, char *err, size_t errlen);
void sf_sessions_free(struct sandbox *sb);
int sf_add_static_token(struct sandbox *sb, const char *token);

/* ---- sb_graph.c: Microsoft Graph (Entra ID users) under /graph/ ----------------------- */

struct sb_graph;

/* An access token the Graph or Google token endpoint issued (in sandbox.issued). */
struct sb_issued {
	char *token;
	const char *target; /* "graph" or "google" */
	char *scope;        /* granted scopes, space-separated */
	char *subject;      /* google: the impersonated user's primary email; else NULL */
	int64_t expires_ms; /* wall clock */
};

void graph_handle(struct sb_call *c);
void graph_classify(struct sb_call *c);
void graph_fault_body(struct sb_call *c, int status);
/* The seed's "graph" section; users added are counted in *nusers. 0 or -1 with err. */
int graph_seed(struct sb_org *org, struct json_object *sec, size_t *nusers, char *err,
    size_t errlen);
/* ,"graph":{...} (nothing when never seeded). */
/* A top-level generate[] entry with "graph": true or {...}: the same people in Graph. */
int graph_seed_generate(struct sb_org *org, struct json_object *jg, size_t *nusers, char *err,
    size_t errlen);
void graph_state_json(const struct sb_org *org, struct sb_buf *b);
/* One user (by id or userPrincipalName) as graph_state_json shows it; -1 when unknown. */
int graph_user_state_json(const struct sb_org *org, const char *key, struct sb_buf *b);
void graph_free(struct sb_graph *g);
/* Issued tokens (shared with sb_google.c). */
struct sb_issued *issued_new(struct sandbox *sb, const char *target, const char *scope,
    const char *subject);
/* The issued token the call's "Authorization: Bearer" names, for target; NULL when none. */
struct sb_issued *issued_find(struct sb_call *c, const char *target, int *expired);
void issued_free_all(struct sandbox *sb);
/*
 * Verify an RS256 JWT with --public-key: 0 with its header and claims (caller puts them), or
 * -1 with a reason.
 */
int sb_jwt_verify(struct sandbox *sb, const char *jwt, struct json_object **header,
    struct json_object **claims, const char **why);

/* ---- sb_google.c: Google Workspace Admin SDK under /google/ ---------------------------- */

struct sb_google;

void google_handle(struct sb_call *c);
void google_classify(struct sb_call *c);
void google_fault_body(struct sb_call *c, int status);
int google_seed(struct sb_org *org, struct json_object *sec, size_t *nusers, char *err,
    size_t errlen);
/* A top-level generate[] entry with "google": true or {...}: the same people in Google. */
int google_seed_generate(struct sb_org *org, struct json_object *jg, size_t *nusers,
    char *err, size_t errlen);
void google_state_json(const struct sb_org *org, struct sb_buf *b);
/* One user (by id or primaryEmail) as google_state_json shows it; -1 when unknown. */
int google_user_state_json(const struct sb_org *org, const char *key, struct sb_buf *b);
void google_free(struct sb_google *g);

/* ---- sb_scim.c: SCIM 2.0 apps under /scim/{app}/v2 ------------------------------------ */

struct sb_scim;

void sb_scim_handle(struct sb_call *c);
void sb_scim_classify(struct sb_call *c);
void sb_scim_fault_body(struct sb_call *c, int status);
/* The seed's "scim" section ({"app": {"options","users","generate"}}). 0 or -1 with err. */
int sb_scim_seed(struct sb_org *org, struct json_object *sec, size_t *nusers, char *err,
    size_t errlen);
/* A generate[] entry's "scim_apps": the same people in those apps. */
int sb_scim_seed_generate(struct sb_org *org, struct json_object *gen, size_t *nusers, char *err,
    size_t errlen);
/* ,"scim":{...} (nothing when never seeded). */
void sb_scim_state_json(const struct sb_org *org, struct sb_buf *b);
/*
 * One user of app (by id or userName, deleted ones too) as the state shows it plus "deleted";
 * -1 when the app or the user is unknown.
 */
int sb_scim_user_state_json(const struct sb_org *org, const char *app, const char *key,
    struct sb_buf *b);
void sb_scim_free(struct sb_scim *s);
/* Answer a SCIM error {"schemas":[Error],"status","scimType","detail"} (type may be NULL). */
void sb_scim_error(struct sb_call *c, int status, const char *type, const char *detail);

/* ---- sb_okta.c: Okta users under /okta/api/v1/users --------------------------------------- */

struct sb_okta;

void sb_okta_handle(struct sb_call *c);
void sb_okta_classify(struct sb_call *c);
void sb_okta_fault_body(struct sb_call *c, int status);
/* The seed's "okta" section ({"users","generate","rate_limit","rate_window_s"}). */
int sb_okta_seed(struct sb_org *org, struct json_object *sec, size_t *nusers, char *err,
    size_t errlen);
/* A generate[] entry's "okta": true: the same people in Okta. */
int sb_okta_seed_generate(struct sb_org *org, struct json_object *gen, size_t *nusers, char *err,
    size_t errlen);
void sb_okta_state_json(const struct sb_org *org, struct sb_buf *b);
/* One user (by id or login, deleted ones too) as the state shows it plus "deleted"; -1: none. */
int sb_okta_user_state_json(const struct sb_org *org, const char *key, struct sb_buf *b);
void sb_okta_free(struct sb_okta *o);

#endif /* DEPROV_SANDBOX_H */
