/*
 * api: the admin HTTP API on evhttp. A table of routes, each with the least
 * role it needs; modules add their own (metrics, dashboard) with api_route.
 * Built in here: health and readiness, case views for viewers, emergency
 * freeze and unfreeze for responders, retry and cancel for admins. Tokens
 * are hashed with SHA-256 and compared in constant time against the
 * configured hashes; the token itself is never stored or logged. Request
 * bodies are bounded; every error is {"error":"...","detail":"..."}. With
 * api.tls every connection is TLS 1.2+ (bufferevent_openssl under evhttp).
 *
 * Connections are bounded (docs/SECURITY.md, "Limits"): at most
 * max_connections, at most max_connections_per_address from one address
 * (IPv4 address, IPv6 /64), and each request must be sent and answered
 * within request_timeout_ms of the connection's accept or its previous
 * response, however slowly it trickles in. A connection over a limit makes
 * room by closing the oldest one (of its own address first), so a new
 * client always gets in and a slow client cannot hold a slot for long.
 * evhttp 2.1 has no per-connection hook, so every connection's bufferevent
 * is made here (evhttp_set_bevcb) and adopted just after evhttp took it
 * (its callback argument is the evhttp_connection: closecb, free). Accept
 * errors (EMFILE at the descriptor limit) pause accepting for a moment
 * instead of retrying in a tight loop; repeated messages are rate-limited.
 */
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "deprov/api.h"
#include "deprov/audit.h"
#include "deprov/case.h"
#include "deprov/clock.h"
#include "deprov/engine.h"
#include "deprov/event.h"
#include "deprov/jsonc.h"
#include "deprov/kafka.h"
#include "deprov/log.h"
#include "deprov/randid.h"
#include "deprov/store.h"

#define API_MAX_BODY		(64 * 1024)
#define API_MAX_HEADERS		(16 * 1024)
#define API_DEFAULT_LIMIT	50
#define API_MAX_LIMIT		1000
/* A GET /v1/cases cursor: 8 bytes of id, API_CURSOR_CHECK of check, in hex. */
#define API_CURSOR_CHECK	8
#define API_CURSOR_LEN		(2 * (8 + API_CURSOR_CHECK))

#define API_MAX_ROUTES		32

#define API_CANCEL_REASON	"reason is required: {\"reason\": \"...\"}, why " \
				"the case is cancelled (a ticket or incident)"

/* Connection limits' defaults (docs/SECURITY.md "Limits"). */
#define API_REQUEST_TIMEOUT_MS	10000
#define API_IDLE_TIMEOUT_S	30	/* evhttp: no byte read or written */
#define API_CONN_SHARE_DIV	8	/* per address: max_connections / 8 */
#define API_ACCEPT_PAUSE_MS	250	/* after an accept error */
#define API_LOG_INTERVAL_MS	1000	/* one line per kind per second */

/* One accepted connection (see the top of this file). */
struct api_conn {
	struct api			*api;
	struct bufferevent		*bev;		/* a reference held until adopted */
	struct evhttp_connection	*evcon;		/* NULL until adopted */
	char				 addr[INET6_ADDRSTRLEN + 8]; /* the share's key */
	struct event			*deadline;	/* from accept, or the previous response */
	struct api_stream		*stream;	/* a response in parts, or NULL */
	TAILQ_ENTRY(api_conn)		 entry;
};

/*
 * A response sent in parts (api.h). It outlives its connection: when the
 * connection closes, conn is NULLed and, if evhttp frees the request with
 * it, req too; the owner learns it from its next callback.
 */
struct api_stream {
	struct api_conn		*conn;		/* NULL once closed */
	struct evhttp_request	*req;		/* NULL once freed by evhttp */
	struct event		*ev;		/* calls more on a later loop turn */
	api_stream_cb		 more;
	void			*arg;
};
TAILQ_HEAD(api_conns, api_conn);

/*
 * A route below a prefix route, which dispatches them itself: the suffix
 * after the prefix's parameter ("" for the parameter alone), its method
 * and the least role it needs. The same rows answer the requests and make
 * the route table (api_routes_print), so the two cannot disagree.
 */
struct api_sub {
	const char	*suffix;
	const char	*method;
	int		 role;
};

struct api_route {
	char		*method;	/* NULL = any */
	char		*path;
	int		 prefix;
	int		 role;
	api_handler	 handler;
	void		*arg;
	const char	*param;		/* prefix routes: "{id}" */
	const struct api_sub *subs;	/* what follows param; NULL = unknown */
	size_t		 nsubs;
};

struct api {
	struct api_route	 routes[API_MAX_ROUTES];
	size_t			 nroutes;
	struct event_base	*base;
	const struct config	*cfg;
	/*
	 * Where the tokens are checked (a reference): the configuration of the
	 * last reload, cfg until one. A request holds it while it is handled.
	 */
	const struct config	*tokens;
	struct store		*store;
	struct engine		*engine;	/* NULL: a standby's API */
	struct kafka		*kafka;
	char			 standby[512];	/* who the writer is, then */
	struct audit		*audit;		/* operator actions; may be NULL */
	struct evhttp		*http;
	SSL_CTX			*ssl_ctx;	/* NULL = plain HTTP */
	int			 stopped;

	/* Connections: adopted ones oldest request first, new ones to adopt. */
	struct api_conns	 conns;
	struct api_conns	 fresh;
	size_t			 nconns;
	long			 max_conns;
	long			 max_per_addr;
	long			 request_ms;
	struct event		*adopt_ev;
	struct evconnlistener	*listener;
	struct event		*resume_ev;	/* accepting again after a pause */
	struct log_ratelimit	 rl_accept;
	struct log_ratelimit	 rl_evict;
	struct log_ratelimit	 rl_deadline;
	struct api		*next;		/* api_all */
};

/*
 * Every api of the process, to find one from its evhttp: the listener's
 * error callback is handed evhttp's argument, not ours.
 */
static struct api *api_all;

/*
 * TLS 1.2+ with forward-secret AEAD suites only (Mozilla "intermediate"
 * without its DHE suites: no DH parameters are configured, so they could
 * never be chosen); TLS 1.3 suites are OpenSSL's defaults, all AEAD.
 */
#define API_TLS_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static void	api_case_containment(json_object *, json_object *);
static int	api_member_str(json_object *, const char *, char **);
static void	api_action(struct api *, struct evhttp_request *, long long,
		    const struct api_caller *, int);
static int	api_method_is(struct evhttp_request *, const char *);
static void	api_allow(struct evhttp_request *, const char *);

static const char *
api_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 503: return "Service Unavailable";
	default: return code >= 500 ? "Internal Server Error" : "Error";
	}
}

/*
 * Send the answer. To HEAD, the headers GET would get, its Content-Length
 * included, and no body (RFC 9110, 9.3.2): evhttp would send the body
 * after them, unframed, and the connection's next answer would be read as
 * part of it.
 */
static void
api_send(struct evhttp_request *req, int code, struct evbuffer *buf)
{
	char	len[32];

	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(len, sizeof len, "%zu", buf != NULL ?
		    evbuffer_get_length(buf) : 0);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Length", len);
		evhttp_send_reply(req, code, api_reason(code), NULL);
		return;
	}
	evhttp_send_reply(req, code, api_reason(code), buf);
}

void
api_reply(struct evhttp_request *req, int code, const char *content_type,
    const void *data, size_t len)
{
	struct evbuffer *buf = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", content_type);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "X-Content-Type-Options", "nosniff");
	if (buf != NULL && len > 0)
		evbuffer_add(buf, data, len);
	api_send(req, code, buf);
	if (buf != NULL)
		evbuffer_free(buf);
}

void
api_reply_json(struct evhttp_request *req, int code, json_object *body)
{
	struct evbuffer *buf = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	if (buf != NULL)
		evbuffer_add_printf(buf, "%s\n", json_object_to_json_string_ext(
		    body, JSON_C_TO_STRING_PLAIN));
	api_send(req, code, buf);
	if (buf != NULL)
		evbuffer_free(buf);
	json_object_put(body);
}

void
api_error(struct evhttp_request *req, int code, const char *error,
    const char *detail)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(error));
	json_object_object_add(o, "detail", json_object_new_string(detail));
	if (code == 401)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer realm=\"deprov\"");
	api_reply_json(req, code, o);
}

json_object *
api_body_json(struct evhttp_request *req, char *err, size_t errlen)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	size_t			 len = evbuffer_get_length(in);
	json_tokener		*tok;
	json_object		*o;
	const char		*ct;

	ct = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	if (ct != NULL && strncasecmp(ct, "application/json", 16) != 0) {
		snprintf(err, errlen, "Content-Type must be application/json");
		return NULL;
	}
	if (len == 0) {
		snprintf(err, errlen, "a JSON object body is required");
		return NULL;
	}
	if ((tok = json_tokener_new_ex(16)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* A NUL would cut a string short (a subject, a reason): refused. */
	if (jsonc_text_check(evbuffer_pullup(in, -1), len, err, errlen) != 0) {
		json_tokener_free(tok);
		return NULL;
	}
	o = json_tokener_parse_ex(tok, (const char *)evbuffer_pullup(in, -1),
	    (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		snprintf(err, errlen, "body is not valid JSON");
		if (o != NULL)
			json_object_put(o);
		o = NULL;
	} else if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "body must be a JSON object");
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/*
 * The roles' names, by API_ROLE_* from viewer on: one list for messages,
 * for reading a token's role and (NULL-ended) for the settings table.
 */
static const char *const api_role_names[] = {
	[API_ROLE_VIEWER] = "viewer",
	[API_ROLE_RESPONDER] = "responder",
	[API_ROLE_ADMIN] = "admin",
	[API_ROLE_ADMIN + 1] = NULL
};
#define API_NROLES	(sizeof api_role_names / sizeof api_role_names[0] - 1)

static const char *
api_role_name(int role)
{
	return role >= 0 && (size_t)role < API_NROLES ? api_role_names[role] :
	    "none";
}

/* A route's role as the route table and docs/openapi.yaml name it. */
static const char *
api_role_or_public(int role)
{
	return role == API_ROLE_PUBLIC ? "public" : api_role_name(role);
}

static int
api_role_parse(const char *s)
{
	size_t	i;

	for (i = 0; i < API_NROLES; i++)
		if (strcmp(s, api_role_names[i]) == 0)
			return (int)i;
	return API_ROLE_NONE;
}

/* Find the token: its index in the configuration, or -1. Constant time per entry. */
static int
api_token_find(const struct config_api *cfg, const char *token)
{
	unsigned char	 digest[SHA256_DIGEST_LENGTH];
	char		 hex[SHA256_DIGEST_LENGTH * 2 + 1];
	size_t		 i;
	int		 found = -1;

	SHA256((const unsigned char *)token, strlen(token), digest);
	for (i = 0; i < sizeof digest; i++)
		snprintf(hex + i * 2, 3, "%02x", digest[i]);
	/* Compare against every entry so timing does not reveal which matched. */
	for (i = 0; i < cfg->ntokens; i++) {
		if (cfg->tokens[i].sha256 == NULL ||
		    strlen(cfg->tokens[i].sha256) != sizeof hex - 1)
			continue;
		if (CRYPTO_memcmp(hex, cfg->tokens[i].sha256, sizeof hex - 1) ==
		    0 && found < 0)
			found = (int)i;
	}
	OPENSSL_cleanse(hex, sizeof hex);
	OPENSSL_cleanse(digest, sizeof digest);
	return found;
}

int
api_token_role(const struct config_api *cfg, const char *token)
{
	int i = api_token_find(cfg, token);

	return i < 0 ? API_ROLE_NONE : api_role_parse(cfg->tokens[i].role);
}

/* Check the bearer token; replies and returns -1 when not allowed. */
static int
api_auth(struct api *api, struct evhttp_request *req, int need,
    struct api_caller *caller)
{
	const char	*h;
	int		 i;

	caller->name = NULL;
	caller->role = API_ROLE_NONE;
	if (need == API_ROLE_PUBLIC)
		return 0;
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		api_error(req, 401, "unauthorized", "a bearer token is required");
		return -1;
	}
	if ((i = api_token_find(&api->tokens->api, h + 7)) < 0) {
		api_error(req, 401, "unauthorized", "unknown token");
		return -1;
	}
	caller->name = api->tokens->api.tokens[i].name;
	caller->role = api_role_parse(api->tokens->api.tokens[i].role);
	if (caller->role < need) {
		char	why[160];

		/* Say what to ask for: the role needed and the one held. */
		snprintf(why, sizeof why, "this needs the %s role; token \"%s\" "
		    "has %s", api_role_name(need), caller->name,
		    api_role_name(caller->role));
		api_error(req, 403, "forbidden", why);
		return -1;
	}
	return 0;
}

static json_object *
api_case_json(const struct store_case *c)
{
	json_object *o = json_object_new_object(), *subj;

	json_object_object_add(o, "id", json_object_new_int64(c->id));
	jsonc_put_str(o, "subject_key", c->subject_key);
	subj = c->subject_json != NULL ? json_tokener_parse(c->subject_json) :
	    NULL;
	json_object_object_add(o, "subject", subj);
	jsonc_put_str(o, "runbook", c->runbook);
	jsonc_put_str(o, "event_type", c->event_type);
	/* What kind of case it is, for people: leaver, freeze, unfreeze ... */
	jsonc_put_str(o, "kind", c->event_type != NULL &&
	    strncmp(c->event_type, "io.deprov.", 10) == 0 ? c->event_type + 10 :
	    c->event_type);
	jsonc_put_str(o, "state", c->state);
	json_object_object_add(o, "urgent", json_object_new_boolean(c->urgent));
	jsonc_put_ms(o, "created_ms", c->created_ms);
	jsonc_put_ms(o, "updated_ms", c->updated_ms);
	jsonc_put_ms(o, "effective_ms", c->effective_ms);
	jsonc_put_ms(o, "freeze_deadline_ms", c->freeze_deadline_ms);
	jsonc_put_ms(o, "complete_deadline_ms", c->complete_deadline_ms);
	jsonc_put_ms(o, "frozen_ms", c->frozen_ms);
	jsonc_put_ms(o, "completed_ms", c->completed_ms);
	jsonc_put_str(o, "error", c->error);
	jsonc_put_str(o, "reason", c->reason);
	return o;
}

static int
api_one_cb(const struct store_case *c, void *arg)
{
	*(json_object **)arg = api_case_json(c);
	return 0;
}

static int
api_step_cb(const struct store_step *p, void *arg)
{
	json_object *o = json_object_new_object();

	jsonc_put_str(o, "target", p->target);
	json_object_object_add(o, "seq", json_object_new_int(p->seq));
	jsonc_put_str(o, "step", p->step);
	jsonc_put_str(o, "state", p->state);
	json_object_object_add(o, "attempts", json_object_new_int(p->attempts));
	jsonc_put_str(o, "last_error", p->last_error);
	jsonc_put_str(o, "detail", p->detail);
	jsonc_put_ms(o, "started_ms", p->started_ms);
	jsonc_put_ms(o, "finished_ms", p->finished_ms);
	json_object_object_add(o, "no_account",
	    json_object_new_boolean(p->no_account));
	json_object_array_add(arg, o);
	return 0;
}

static int
api_timeline_cb(const struct store_timeline *t, void *arg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ts_ms", json_object_new_int64(t->ts_ms));
	jsonc_put_str(o, "kind", t->kind);
	jsonc_put_str(o, "target", t->target);
	jsonc_put_str(o, "step", t->step);
	jsonc_put_str(o, "detail", t->detail);
	json_object_array_add(arg, o);
	return 0;
}

/* The query parameters GET /v1/cases knows, as its 400 lists them. */
static const char *const api_cases_params[] = {
	"state", "subject", "runbook", "created_after", "created_before",
	"failed_at", "limit", "cursor", NULL
};

/* One page of GET /v1/cases being built: limit rows, and one to spare. */
struct api_page {
	json_object	*arr;
	int		 limit;
	int		 n;
	long long	 last_id;	/* the last case shown */
	int		 more;		/* a row beyond the limit exists */
};

static int
api_page_cb(const struct store_case *c, void *arg)
{
	struct api_page	*pg = arg;

	/* The store stops after it: the one row asked beyond the page. */
	if (pg->n == pg->limit) {
		pg->more = 1;
		return 0;
	}
	json_object_array_add(pg->arr, api_case_json(c));
	pg->last_id = c->id;
	pg->n++;
	return 0;
}

/*
 * The check of a cursor: SHA-256 over the last id shown and the filters,
 * each with its presence, so that no two filters hash alike. It is no
 * secret (any viewer may list every case, and a cursor only says where
 * to go on): it turns a cursor cut short, edited, or carried over to a
 * query with other filters into a 400 instead of a page of something
 * else than what was asked.
 */
static int
api_cursor_check(long long id, const struct store_case_filter *f,
    unsigned char *out, size_t outlen)
{
	const char	*str[] = { f->state, f->subject, f->runbook,
			    f->failed_at };
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	char		 nums[96];
	EVP_MD_CTX	*ctx;
	size_t		 k;
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	snprintf(nums, sizeof nums, "deprov cases 1 %lld %d %lld %d %lld", id,
	    f->has_from, (long long)f->created_from_ms, f->has_before,
	    (long long)f->created_before_ms);
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, nums, strlen(nums) + 1) == 1;
	for (k = 0; ok && k < sizeof str / sizeof str[0]; k++)
		ok = EVP_DigestUpdate(ctx, str[k] != NULL ? "+" : "-", 1) == 1 &&
		    (str[k] == NULL || EVP_DigestUpdate(ctx, str[k],
		    strlen(str[k]) + 1) == 1);
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= outlen;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	memcpy(out, md, outlen);
	return 0;
}

/*
 * The cursor after a page whose last case is id: 16 hex digits of the id
 * and 16 of the check, 32 in all. Clients treat it as opaque.
 */
static int
api_cursor_make(long long id, const struct store_case_filter *f, char *buf,
    size_t len)
{
	unsigned char	 chk[API_CURSOR_CHECK];
	size_t		 k, n;

	if (len < API_CURSOR_LEN + 1 ||
	    api_cursor_check(id, f, chk, sizeof chk) != 0)
		return -1;
	n = (size_t)snprintf(buf, len, "%016llx", (unsigned long long)id);
	for (k = 0; k < sizeof chk; k++)
		n += (size_t)snprintf(buf + n, len - n, "%02x", chk[k]);
	return 0;
}

/* The id a cursor continues below, or -1 for one this route did not make. */
static long long
api_cursor_parse(const char *s, const struct store_case_filter *f)
{
	unsigned char	 got[API_CURSOR_CHECK], want[API_CURSOR_CHECK];
	unsigned long long id = 0;
	size_t		 k;
	int		 d;

	if (strlen(s) != API_CURSOR_LEN)
		return -1;
	for (k = 0; k < API_CURSOR_LEN; k++) {
		if (s[k] >= '0' && s[k] <= '9')
			d = s[k] - '0';
		else if (s[k] >= 'a' && s[k] <= 'f')
			d = s[k] - 'a' + 10;
		else
			return -1;
		if (k < 16)
			id = id << 4 | (unsigned)d;
		else if (k % 2 == 0)
			got[(k - 16) / 2] = (unsigned char)(d << 4);
		else
			got[(k - 16) / 2] |= (unsigned char)d;
	}
	if (id == 0 || id > LLONG_MAX ||
	    api_cursor_check((long long)id, f, want, sizeof want) != 0 ||
	    CRYPTO_memcmp(got, want, sizeof got) != 0)
		return -1;
	return (long long)id;
}

/*
 * Every parameter must be one the route knows, and given once: a typo or
 * a repeated filter would otherwise select more than the caller thinks.
 * 0, or -1 with why.
 */
static int
api_query_check(struct evkeyvalq *q, const char *const *known, char *why,
    size_t len)
{
	struct evkeyval	*kv, *o;
	size_t		 n = 0, k;
	int		 bad = 0;

	TAILQ_FOREACH(kv, q, next) {
		for (k = 0; known[k] != NULL; k++)
			if (strcmp(kv->key, known[k]) == 0)
				break;
		if (known[k] != NULL) {
			for (o = TAILQ_FIRST(q); o != kv; o = TAILQ_NEXT(o, next))
				if (strcmp(o->key, kv->key) == 0) {
					snprintf(why, len, "parameter \"%.64s\" "
					    "given more than once", kv->key);
					return -1;
				}
			continue;
		}
		if (n < len)
			n += (size_t)snprintf(why + n, len - n, "%s\"%.64s\"",
			    bad++ ? ", " : "unknown parameter ", kv->key);
	}
	if (bad == 0)
		return 0;
	for (k = 0; known[k] != NULL && n < len; k++)
		n += (size_t)snprintf(why + n, len - n, "%s%s",
		    k ? ", " : " (known: ", known[k]);
	if (n < len)
		snprintf(why + n, len - n, ")");
	return -1;
}

int
api_query(struct evhttp_request *req, struct evkeyvalq *q,
    const char *const *known)
{
	const struct evhttp_uri	*u = evhttp_request_get_evhttp_uri(req);
	char			 why[512];

	TAILQ_INIT(q);
	if (evhttp_uri_get_query(u) != NULL &&
	    evhttp_parse_query_str(evhttp_uri_get_query(u), q) != 0) {
		api_error(req, 400, "bad_request", "malformed query string");
		return -1;
	}
	if (api_query_check(q, known, why, sizeof why) != 0) {
		api_error(req, 400, "bad_request", why);
		evhttp_clear_headers(q);
		return -1;
	}
	return 0;
}

/* A creation bound: RFC 3339 into ms; 0, or -1 with why. */
static int
api_cases_time(const char *name, const char *v, int *has, int64_t *ms,
    char *why, size_t len)
{
	time_t	t;

	if (v == NULL || *v == '\0')
		return 0;
	if ((t = event_parse_time(v)) == (time_t)-1) {
		snprintf(why, len, "%s: not an RFC 3339 time "
		    "(2026-03-01T09:00:00Z, 2026-03-01)", name);
		return -1;
	}
	*has = 1;
	*ms = (int64_t)t * 1000;
	return 0;
}

/* An empty value filters nothing, as the parameter left out. */
static const char *
api_cases_param(struct evkeyvalq *q, const char *name)
{
	const char *v = evhttp_find_header(q, name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * GET /v1/cases: a page of cases, newest first, and the cursor of the
 * next page. Paging is by id, which only grows: the next page lists the
 * cases below the last one shown, so a case inserted meanwhile shows up
 * only on a new first page, and none is skipped or repeated.
 */
static void
api_cases(struct evhttp_request *req, const char *path, const char *rest,
    const struct api_caller *who, void *arg)
{
	struct api		*api = arg;
	struct evkeyvalq	 q;
	struct store_case_filter f;
	struct api_page		 pg;
	const char		*lim, *cursor;
	json_object		*o;
	long			 limit = API_DEFAULT_LIMIT;
	char			*end, why[512], next[API_CURSOR_LEN + 1];

	memset(&f, 0, sizeof f);
	memset(&pg, 0, sizeof pg);
	if (api_query(req, &q, api_cases_params) != 0)
		return;
	if ((lim = evhttp_find_header(&q, "limit")) != NULL) {
		limit = strtol(lim, &end, 10);
		if (*lim == '\0' || *end != '\0' || limit < 1 ||
		    limit > API_MAX_LIMIT) {
			api_error(req, 400, "bad_request",
			    "limit must be an integer from 1 to 1000");
			goto done;
		}
	}
	f.state = api_cases_param(&q, "state");
	if (f.state != NULL && case_state_parse(f.state) < 0) {
		size_t	n;
		int	k;

		n = (size_t)snprintf(why, sizeof why, "state: not a case state "
		    "(one of");
		for (k = 0; k < CASE_STATE_COUNT && n < sizeof why; k++)
			n += (size_t)snprintf(why + n, sizeof why - n, "%s %s",
			    k ? "," : "", case_state_name((enum case_state)k));
		if (n < sizeof why)
			snprintf(why + n, sizeof why - n, ")");
		api_error(req, 400, "bad_request", why);
		goto done;
	}
	f.subject = api_cases_param(&q, "subject");
	f.runbook = api_cases_param(&q, "runbook");
	f.failed_at = api_cases_param(&q, "failed_at");
	if (api_cases_time("created_after", evhttp_find_header(&q,
	    "created_after"), &f.has_from, &f.created_from_ms, why,
	    sizeof why) != 0 ||
	    api_cases_time("created_before", evhttp_find_header(&q,
	    "created_before"), &f.has_before, &f.created_before_ms, why,
	    sizeof why) != 0) {
		api_error(req, 400, "bad_request", why);
		goto done;
	}
	/* Checked against the filters: a cursor goes on with its own query. */
	if ((cursor = api_cases_param(&q, "cursor")) != NULL &&
	    (f.below_id = api_cursor_parse(cursor, &f)) < 0) {
		api_error(req, 400, "bad_request", "cursor: not one this query's "
		    "pages gave (start again without it)");
		goto done;
	}
	/* One row more than the page tells whether a next page exists. */
	f.limit = (int)limit + 1;
	pg.limit = (int)limit;
	pg.arr = json_object_new_array();
	if (store_cases_list(api->store, &f, api_page_cb, &pg) != 0) {
		json_object_put(pg.arr);
		api_error(req, 500, "store", "cannot read cases");
		goto done;
	}
	if (pg.more && api_cursor_make(pg.last_id, &f, next,
	    sizeof next) != 0) {
		json_object_put(pg.arr);
		api_error(req, 500, "internal", "cannot make the cursor");
		goto done;
	}
	o = json_object_new_object();
	json_object_object_add(o, "cases", pg.arr);
	json_object_object_add(o, "next", pg.more ?
	    json_object_new_string(next) : NULL);
	api_reply_json(req, 200, o);
done:
	evhttp_clear_headers(&q);
}

/*
 * Parse "123" or "123/retry" style ids: plain decimal digits, 1 to
 * LLONG_MAX, followed by the end or '/'. Returns the id, or -1 for anything
 * else (a sign, a space, other characters, 0, a value that overflows): the
 * caller answers 400, never looks up a different number.
 */
static long long
api_case_id(const char *s, const char **after)
{
	long long	 id = 0;
	const char	*p;

	for (p = s; *p >= '0' && *p <= '9'; p++) {
		if (id > (LLONG_MAX - (*p - '0')) / 10)
			return -1;
		id = id * 10 + (*p - '0');
	}
	if (p == s || id <= 0 || (*p != '\0' && *p != '/'))
		return -1;
	*after = p;
	return id;
}

static void
api_case(struct api *api, struct evhttp_request *req, long long id)
{
	json_object	*c = NULL, *steps, *tl, *sla;
	int64_t		 now = clock_wall_ms(), fdl, cdl, frozen, done;
	int		 st;

	if (store_case_get(api->store, id, api_one_cb, &c) != 0 || c == NULL) {
		api_error(req, 404, "not_found", "no such case");
		return;
	}
	steps = json_object_new_array();
	tl = json_object_new_array();
	store_steps_of(api->store, id, api_step_cb, steps);
	store_timeline_of(api->store, id, api_timeline_cb, tl);
	json_object_object_add(c, "steps", steps);
	json_object_object_add(c, "timeline", tl);
	api_case_containment(c, steps);

	/* SLA status from the deadlines and what has happened. */
	fdl = json_object_get_int64(json_object_object_get(c,
	    "freeze_deadline_ms"));
	cdl = json_object_get_int64(json_object_object_get(c,
	    "complete_deadline_ms"));
	frozen = json_object_get_int64(json_object_object_get(c, "frozen_ms"));
	done = json_object_get_int64(json_object_object_get(c,
	    "completed_ms"));
	sla = json_object_new_object();
	st = case_state_parse(json_object_get_string(json_object_object_get(c,
	    "state")));
	json_object_object_add(sla, "freeze_breached", json_object_new_boolean(
	    case_freeze_breached(fdl, frozen, (enum case_state)st, done, now)));
	json_object_object_add(sla, "complete_breached", json_object_new_boolean(
	    case_complete_breached(cdl, (enum case_state)st, done, now)));
	json_object_object_add(c, "sla", sla);
	api_reply_json(req, 200, c);
}

/*
 * What the case says about its person: per target, frozen (when), failed
 * (with the error), skipped (with the reason) or still pending; whether
 * every freeze held ("contained": null for a case that freezes nothing);
 * the targets still exposed; and every failed step's error.
 */
static void
api_case_containment(json_object *c, json_object *steps)
{
	json_object	*per, *exposed, *errors, *e, *st;
	const char	*state;
	size_t		 i, n;
	int		 contained;

	per = case_containment_json(steps, &contained);
	exposed = json_object_new_array();
	n = json_object_array_length(per);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(per, i);
		st = json_object_object_get(e, "contained");
		if (st != NULL && !json_object_get_boolean(st))
			json_object_array_add(exposed, json_object_get(
			    json_object_object_get(e, "target")));
	}
	errors = json_object_new_array();
	n = json_object_array_length(steps);
	for (i = 0; i < n; i++) {
		st = json_object_array_get_idx(steps, i);
		state = json_object_get_string(json_object_object_get(st,
		    "state"));
		if (state == NULL || strcmp(state, "failed") != 0)
			continue;
		e = json_object_new_object();
		json_object_object_add(e, "target", json_object_get(
		    json_object_object_get(st, "target")));
		json_object_object_add(e, "step", json_object_get(
		    json_object_object_get(st, "step")));
		json_object_object_add(e, "error", json_object_get(
		    json_object_object_get(st, "last_error")));
		json_object_array_add(errors, e);
	}
	json_object_object_add(c, "contained", contained < 0 ? NULL :
	    json_object_new_boolean(contained));
	json_object_object_add(c, "containment", per);
	json_object_object_add(c, "exposed_targets", exposed);
	json_object_object_add(c, "errors", errors);
}

/* 409 for an act the intake rules refuse, naming the case that forbids it. */
static void
api_refused(struct evhttp_request *req, long long case_id, const char *why)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string("refused"));
	json_object_object_add(o, "detail", json_object_new_string(why));
	json_object_object_add(o, "case_id", case_id > 0 ?
	    json_object_new_int64(case_id) : NULL);
	api_reply_json(req, 409, o);
}

struct api_subject {
	char	*key;
	char	*json;
};

static int
api_subject_cb(const struct store_case *c, void *arg)
{
	struct api_subject *as = arg;

	as->key = strdup(c->subject_key);
	as->json = strdup(c->subject_json);
	return 0;
}

/*
 * POST /v1/cases/{id}/reinstate {"reason": "..."} (admin): a rehire. Opens
 * a reinstate case for the person of leaver case id, which re-activates
 * exactly the accounts that case disabled; refused (409) unless it is the
 * person's latest leaver case and has ended.
 */
static void
api_reinstate(struct api *api, struct evhttp_request *req, long long id,
    const struct api_caller *who)
{
	struct api_subject	 as = { NULL, NULL };
	struct event		 ev;
	json_object		*body = NULL, *subj = NULL, *o;
	char			 err[512], evid[32], source[160];
	long long		 case_id = 0;
	int			 r;

	memset(&ev, 0, sizeof ev);
	if ((body = api_body_json(req, err, sizeof err)) == NULL) {
		api_error(req, 400, "bad_request", err);
		return;
	}
	json_object_object_foreach(body, key, val) {
		(void)val;
		if (strcmp(key, "reason") != 0) {
			snprintf(err, sizeof err, "unknown member \"%.64s\"", key);
			api_error(req, 400, "bad_request", err);
			goto done;
		}
	}
	if (api_member_str(body, "reason", &ev.reason) != 0 ||
	    ev.reason == NULL) {
		api_error(req, 400, "bad_request", "reason is required (a "
		    "non-empty string: the rehire's ticket or approval)");
		goto done;
	}
	if (store_case_get(api->store, id, api_subject_cb, &as) != 0 ||
	    as.key == NULL) {
		api_error(req, 404, "not_found", "no such case");
		goto done;
	}
	if ((subj = json_tokener_parse(as.json)) == NULL ||
	    subject_from_json(subj, &ev.subject) != 0 ||
	    randid_hex(evid, sizeof evid, 12) != 0) {
		api_error(req, 500, "internal", "cannot read the case's subject");
		goto done;
	}
	snprintf(source, sizeof source, "/api/%s", who->name);
	ev.id = strdup(evid);
	ev.source = strdup(source);
	ev.type = strdup(EVENT_TYPE_REINSTATE);
	ev.subject_key = as.key;
	as.key = NULL;
	ev.case_ref = id;
	if (ev.id == NULL || ev.source == NULL || ev.type == NULL) {
		api_error(req, 500, "internal", "out of memory");
		goto done;
	}
	r = engine_submit(api->engine, &ev, source, &case_id, err, sizeof err);
	if (r < 0)
		api_error(req, 503, "unavailable", err);
	else if (r == ENGINE_NO_RUNBOOK)
		api_error(req, 409, "no_runbook", "no runbook handles "
		    EVENT_TYPE_REINSTATE);
	else if (r == ENGINE_REFUSED)
		api_refused(req, case_id, err);
	else {
		log_info("api", "reinstate of case %lld by %s: case %lld (%s)",
		    id, who->name, case_id, ev.reason);
		o = json_object_new_object();
		json_object_object_add(o, "case_id",
		    json_object_new_int64(case_id));
		json_object_object_add(o, "reinstates",
		    json_object_new_int64(id));
		json_object_object_add(o, "type",
		    json_object_new_string(ev.type));
		api_reply_json(req, 202, o);
	}
done:
	free(as.key);
	free(as.json);
	if (subj != NULL)
		json_object_put(subj);
	event_clear(&ev);
	json_object_put(body);
}

/* The routes under /v1/cases/{id}; the prefix route itself needs a viewer. */
static const struct api_sub api_case_subs[] = {
	{ "", "GET", API_ROLE_VIEWER },
	{ "/retry", "POST", API_ROLE_ADMIN },
	{ "/cancel", "POST", API_ROLE_ADMIN },
	{ "/reinstate", "POST", API_ROLE_ADMIN },
};
#define API_NCASE_SUBS	(sizeof api_case_subs / sizeof api_case_subs[0])

/*
 * /v1/cases/{id}, /v1/cases/{id}/retry, /v1/cases/{id}/cancel,
 * /v1/cases/{id}/reinstate
 */
static void
api_case_route(struct evhttp_request *req, const char *path, const char *rest,
    const struct api_caller *who, void *arg)
{
	struct api		*api = arg;
	const struct api_sub	*sub = NULL;
	const char		*after;
	long long		 id;
	size_t			 i;

	if ((id = api_case_id(rest, &after)) < 0) {
		api_error(req, 400, "bad_request", "case id must be a positive "
		    "decimal integer (at most 9223372036854775807)");
		return;
	}
	for (i = 0; i < API_NCASE_SUBS && sub == NULL; i++)
		if (strcmp(after, api_case_subs[i].suffix) == 0)
			sub = &api_case_subs[i];
	if (sub == NULL) {
		api_error(req, 404, "not_found", "no such route");
		return;
	}
	if (!api_method_is(req, sub->method)) {
		api_allow(req, sub->method);
		api_error(req, 405, "method_not_allowed", *after == '\0' ?
		    "use GET" : "use POST");
		return;
	}
	if (who->role < sub->role) {
		api_error(req, 403, "forbidden", "retry, cancel and reinstate "
		    "need the admin role");
		return;
	}
	if (*after == '\0')
		api_case(api, req, id);
	else if (strcmp(after, "/reinstate") == 0)
		api_reinstate(api, req, id, who);
	else
		api_action(api, req, id, who, after[1] == 'r');
}

/*
 * The body of a retry or cancel: {"reason": "..."}, nothing else. A retry
 * may have no body at all (as before reasons existed); a cancel must give
 * a reason, since it stops a deprovisioning that someone asked for.
 * 0 with *reason (NULL when none), or -1 with err.
 */
static int
api_action_reason(struct evhttp_request *req, int required, char **reason,
    char *err, size_t errlen)
{
	json_object	*body;
	int		 r = -1;

	*reason = NULL;
	if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) == 0) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s", API_CANCEL_REASON);
		return -1;
	}
	if ((body = api_body_json(req, err, errlen)) == NULL)
		return -1;
	json_object_object_foreach(body, key, val) {
		(void)val;
		if (strcmp(key, "reason") != 0) {
			snprintf(err, errlen, "unknown member \"%.64s\"", key);
			goto done;
		}
	}
	if (api_member_str(body, "reason", reason) != 0) {
		snprintf(err, errlen, "reason must be a non-empty string (at "
		    "most 512 bytes)");
		goto done;
	}
	if (*reason == NULL && required) {
		snprintf(err, errlen, "%s", API_CANCEL_REASON);
		goto done;
	}
	r = 0;
done:
	json_object_put(body);
	return r;
}

/*
 * POST /v1/cases/{id}/retry and /cancel (admin), with the operator's
 * reason: into the engine (the case's timeline) and the audit record.
 */
static void
api_action(struct api *api, struct evhttp_request *req, long long id,
    const struct api_caller *who, int retry)
{
	json_object	*o, *detail;
	char		 err[256], *reason = NULL;
	int		 r;

	if (api_action_reason(req, !retry, &reason, err, sizeof err) != 0) {
		api_error(req, 400, "bad_request", err);
		return;
	}
	if (retry)
		r = engine_case_retry(api->engine, id, who->name, reason, err,
		    sizeof err);
	else
		r = engine_case_cancel(api->engine, id, who->name, reason, err,
		    sizeof err);
	if (r != 0) {
		api_error(req, strcmp(err, "no such case") == 0 ? 404 : 409,
		    strcmp(err, "no such case") == 0 ? "not_found" : "conflict",
		    err);
		goto done;
	}
	if (api->audit != NULL) {
		/* json-c escapes the reason; the audit passes it through redaction. */
		detail = json_object_new_object();
		json_object_object_add(detail, "via",
		    json_object_new_string("api"));
		if (reason != NULL)
			json_object_object_add(detail, "reason",
			    json_object_new_string(reason));
		audit_append(api->audit, retry ? "operator.retry" :
		    "operator.cancel", id, who->name, NULL, NULL,
		    json_object_to_json_string_ext(detail,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(detail);
	}
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "accepted", json_object_new_string(retry ?
	    "retry" : "cancel"));
	api_reply_json(req, 202, o);
done:
	free(reason);
}

/* A string member, or NULL; -1 when present but not a non-empty string. */
static int
api_member_str(json_object *o, const char *key, char **out)
{
	const char	*s;
	char		 err[128];

	*out = NULL;
	if (jsonc_get_text(o, key, NULL, 0, &s, err, sizeof err) < 0)
		return -1;
	if (s == NULL)
		return 0;
	if (*s == '\0' || strlen(s) > 512)
		return -1;
	*out = strdup(s);
	return *out == NULL ? -1 : 0;
}

/*
 * POST /v1/freeze and /v1/unfreeze: {"subject":{employee_id|email|username,
 * "accounts"?}, "reason":"...", "targets":["name",...]?} -> 202 {"case_id"}.
 */
static void
api_freeze(struct evhttp_request *req, const char *path, const char *rest,
    const struct api_caller *who, void *arg)
{
	struct api	*api = arg;
	json_object	*body, *subj, *targets, *v, *o;
	struct event	 ev;
	char		 err[256], id[64], source[160];
	long long	 case_id = 0;
	size_t		 i, n;
	int		 unfreeze = strcmp(path, "/v1/unfreeze") == 0, r;
	const char	*bad = NULL;

	memset(&ev, 0, sizeof ev);
	if ((body = api_body_json(req, err, sizeof err)) == NULL) {
		api_error(req, 400, "bad_request", err);
		return;
	}
	if (!json_object_object_get_ex(body, "subject", &subj) ||
	    !json_object_is_type(subj, json_type_object)) {
		bad = "subject must be an object";
		goto bad;
	}
	json_object_object_foreach(body, key, val) {
		(void)val;
		if (strcmp(key, "subject") != 0 && strcmp(key, "reason") != 0 &&
		    strcmp(key, "targets") != 0) {
			snprintf(err, sizeof err, "unknown member \"%.64s\"", key);
			bad = err;
			goto bad;
		}
	}
	if (subject_from_input(subj, "subject.", &ev.subject, err,
	    sizeof err) != 0) {
		bad = err;
		goto bad;
	}
	if (ev.subject.employee_id == NULL && ev.subject.email == NULL &&
	    ev.subject.username == NULL) {
		bad = "subject needs employee_id, email or username";
		goto bad;
	}
	if (api_member_str(body, "reason", &ev.reason) != 0) {
		bad = "reason must be a non-empty string (at most 512 bytes)";
		goto bad;
	}
	if (ev.reason == NULL) {
		bad = "reason is required (an incident or ticket reference)";
		goto bad;
	}
	if (json_object_object_get_ex(body, "targets", &targets) &&
	    !json_object_is_type(targets, json_type_null)) {
		if (!json_object_is_type(targets, json_type_array) ||
		    (n = json_object_array_length(targets)) == 0) {
			bad = "targets must be a non-empty array of target names";
			goto bad;
		}
		if ((ev.targets = calloc(n, sizeof *ev.targets)) == NULL)
			goto fail;
		for (i = 0; i < n; i++) {
			v = json_object_array_get_idx(targets, i);
			if (!json_object_is_type(v, json_type_string) ||
			    config_target_find(api->cfg,
			    json_object_get_string(v)) == NULL) {
				snprintf(err, sizeof err, "targets[%zu]: no such "
				    "target", i);
				bad = err;
				goto bad;
			}
			ev.targets[ev.ntargets++] =
			    strdup(json_object_get_string(v));
		}
	}
	if (randid_hex(id, sizeof id, 12) != 0)
		goto fail;
	snprintf(source, sizeof source, "/api/%s", who->name);
	ev.id = strdup(id);
	ev.source = strdup(source);
	ev.type = strdup(unfreeze ? EVENT_TYPE_UNFREEZE : EVENT_TYPE_FREEZE);
	ev.subject_key = strdup(ev.subject.employee_id != NULL ?
	    ev.subject.employee_id : ev.subject.email != NULL ?
	    ev.subject.email : ev.subject.username);
	if (ev.id == NULL || ev.source == NULL || ev.type == NULL ||
	    ev.subject_key == NULL)
		goto fail;
	r = engine_submit(api->engine, &ev, source, &case_id, err, sizeof err);
	if (r < 0) {
		api_error(req, 503, "unavailable", err);
		goto done;
	}
	if (r == ENGINE_NO_RUNBOOK) {
		api_error(req, 409, "no_runbook", unfreeze ?
		    "no runbook handles io.deprov.unfreeze" :
		    "no runbook handles io.deprov.freeze");
		goto done;
	}
	if (r == ENGINE_REFUSED) {
		api_refused(req, case_id, err);
		goto done;
	}
	log_info("api", "%s by %s for %s: case %lld (%s)", unfreeze ?
	    "unfreeze" : "emergency freeze", who->name, ev.subject_key, case_id,
	    ev.reason);
	o = json_object_new_object();
	json_object_object_add(o, "case_id", json_object_new_int64(case_id));
	json_object_object_add(o, "type", json_object_new_string(ev.type));
	api_reply_json(req, 202, o);
	goto done;
bad:
	api_error(req, 400, "bad_request", bad);
	goto done;
fail:
	api_error(req, 500, "internal", "out of memory");
done:
	event_clear(&ev);
	json_object_put(body);
}

/* One owned partition into /readyz's {"topic": [partition, ...]}. */
static void
api_owned_cb(void *arg, const char *topic, int32_t partition)
{
	json_object *parts = arg, *list;

	if (!json_object_object_get_ex(parts, topic, &list)) {
		list = json_object_new_array();
		json_object_object_add(parts, topic, list);
	}
	json_object_array_add(list, json_object_new_int(partition));
}

/*
 * "standbys": [{"instance", "seen_ms_ago"}], the instances that asked for
 * the store in the last seconds (absent until the writer has read them).
 */
static void
api_readiness_standbys(struct store *store, json_object *pg)
{
	struct store_standby	 v[16];
	json_object		*a, *e;
	int			 i, n;

	if ((n = store_replica_standbys(store, v, 16)) < 0)
		return;
	a = json_object_new_array();
	for (i = 0; i < n && i < 16; i++) {
		e = json_object_new_object();
		json_object_object_add(e, "instance",
		    json_object_new_string(v[i].instance));
		json_object_object_add(e, "seen_ms_ago",
		    json_object_new_int64(v[i].seen_ms_ago));
		json_object_array_add(a, e);
	}
	json_object_object_add(pg, "standbys", a);
}

/*
 * What /readyz decides on, but for the stop (the caller knows of that):
 * the store answers, a broker is up and the consumer is in its group with
 * its assignment, which may hold no partition (more instances than
 * partitions: this one serves the API and takes partitions over at the
 * next rebalance); with the postgres backend, PostgreSQL takes changes.
 * The details go into o when it is not NULL. deprovd's READY=1 to the
 * service manager asks the same (src/main/deprovd.c).
 */
int
api_readiness(struct store *store, struct kafka *kafka, json_object *o)
{
	json_object	*scratch = NULL, *parts, *pg;
	char		 why[512], inst[256];
	long long	 backlog, epoch = 0;
	int64_t		 lag;
	int		 member, store_ok, brokers, unknown = 0, up, ok;

	if (o == NULL && (o = scratch = json_object_new_object()) == NULL)
		return 0;
	member = kafka != NULL && kafka_member(kafka);
	store_ok = store_count_cases(store, NULL) >= 0;
	brokers = kafka != NULL && kafka_brokers_up(kafka);
	lag = kafka != NULL ? kafka_lag(kafka, &unknown) : -1;
	parts = json_object_new_object();
	if (kafka != NULL)
		kafka_owned(kafka, api_owned_cb, parts);
	json_object_object_add(o, "store", json_object_new_boolean(store_ok));
	json_object_object_add(o, "kafka_member",
	    json_object_new_boolean(member));
	json_object_object_add(o, "kafka_assigned", json_object_new_boolean(
	    kafka != NULL && kafka_assigned(kafka)));
	json_object_object_add(o, "kafka_partitions", parts);
	json_object_object_add(o, "kafka_brokers_up",
	    json_object_new_boolean(brokers));
	json_object_object_add(o, "kafka_lag", json_object_new_int64(lag));
	json_object_object_add(o, "kafka_lag_unknown",
	    json_object_new_int(unknown));
	json_object_object_add(o, "intake_paused", json_object_new_boolean(
	    kafka != NULL && kafka_paused(kafka)));
	ok = member && store_ok && brokers;
	if ((up = store_replica_status(store, why, sizeof why, &backlog)) >=
	    0) {
		/* The lease ran out unrenewed: not the writer. */
		if (up && !store_replica_writable(store, why, sizeof why))
			up = 0;
		pg = json_object_new_object();
		json_object_object_add(pg, "up", json_object_new_boolean(up));
		json_object_object_add(pg, "backlog",
		    json_object_new_int64(backlog));
		if (store_replica_writer(store, inst, sizeof inst, &epoch) ==
		    0) {
			json_object_object_add(pg, "instance",
			    json_object_new_string(inst));
			json_object_object_add(pg, "writer_epoch",
			    json_object_new_int64(epoch));
		}
		api_readiness_standbys(store, pg);
		if (!up) {
			log_redact(why);
			json_object_object_add(pg, "error",
			    json_object_new_string(why));
		}
		json_object_object_add(o, "postgres", pg);
		ok = ok && up;
	}
	json_object_put(scratch);
	return ok;
}

static void
api_health(struct evhttp_request *req, const char *path, const char *rest,
    const struct api_caller *who, void *arg)
{
	struct api	*api = arg;
	json_object	*o = json_object_new_object();
	int		 ok = 1;

	if (api->engine == NULL) {
		/* Alive, not the writer: a load balancer sends it nothing. */
		json_object_object_add(o, "status", json_object_new_string(
		    strcmp(path, "/readyz") == 0 ? "standby" : "ok"));
		json_object_object_add(o, "standby",
		    json_object_new_string(api->standby));
		api_reply_json(req, strcmp(path, "/readyz") == 0 ? 503 : 200,
		    o);
		return;
	}
	if (strcmp(path, "/readyz") == 0)
		ok = api_readiness(api->store, api->kafka, o) && !api->stopped;
	json_object_object_add(o, "status", json_object_new_string(ok ? "ok" :
	    "unavailable"));
	json_object_object_add(o, "open_cases", json_object_new_int64(
	    (int64_t)engine_open_cases(api->engine)));
	api_reply_json(req, ok ? 200 : 503, o);
}

static int
api_method_is(struct evhttp_request *req, const char *method)
{
	static const struct {
		enum evhttp_cmd_type	 m;
		const char		*name;
	} names[] = {
		{ EVHTTP_REQ_GET, "GET" }, { EVHTTP_REQ_POST, "POST" },
		{ EVHTTP_REQ_HEAD, "HEAD" }, { EVHTTP_REQ_PUT, "PUT" },
		{ EVHTTP_REQ_DELETE, "DELETE" }, { EVHTTP_REQ_PATCH, "PATCH" },
	};
	enum evhttp_cmd_type	m = evhttp_request_get_command(req);
	size_t			i;

	if (method == NULL)
		return 1;
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].m == m)
			return strcmp(names[i].name, method) == 0 ||
			    (m == EVHTTP_REQ_HEAD && strcmp(method, "GET") == 0);
	return 0;
}

/*
 * The Allow header of a 405 (RFC 9110 requires it): the methods, a GET
 * with its HEAD, from a NULL-ended list.
 */
static void
api_allow_list(struct evhttp_request *req, const char *const *methods)
{
	char	buf[128] = "";
	size_t	i, n = 0;

	for (i = 0; methods[i] != NULL && n < sizeof buf; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s%s",
		    n > 0 ? ", " : "", methods[i],
		    strcmp(methods[i], "GET") == 0 ? ", HEAD" : "");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", buf);
}

/* Allow for a route below a prefix route: its one method. */
static void
api_allow(struct evhttp_request *req, const char *method)
{
	const char *methods[] = { method, NULL };

	api_allow_list(req, methods);
}

/* Allow for a path: the methods of every exact route of it. */
static void
api_allow_path(struct api *api, struct evhttp_request *req, const char *path)
{
	const char	*methods[API_MAX_ROUTES + 1];
	size_t		 i, n = 0;

	for (i = 0; i < api->nroutes; i++)
		if (!api->routes[i].prefix && api->routes[i].method != NULL &&
		    strcmp(api->routes[i].path, path) == 0)
			methods[n++] = api->routes[i].method;
	methods[n] = NULL;
	api_allow_list(req, methods);
}

/*
 * evhttp 2.1 reads no body of a HEAD or TRACE request: one sent anyway is
 * left on the connection and read as its next request, a request smuggled
 * past a proxy that forwarded the first as one. Such a request is answered
 * as any other, and its connection closed.
 */
static int
api_body_unread(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	const char		*cl = evhttp_find_header(h, "Content-Length");
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);

	if (m != EVHTTP_REQ_HEAD && m != EVHTTP_REQ_TRACE)
		return 0;
	return evhttp_find_header(h, "Transfer-Encoding") != NULL ||
	    (cl != NULL && strcmp(cl, "0") != 0);
}

static void	api_conn_request(struct api *, struct evhttp_request *);

static void
api_dispatch(struct evhttp_request *req, void *arg)
{
	struct api		*api = arg;
	const char		*path, *rest;
	const struct evhttp_uri	*u = evhttp_request_get_evhttp_uri(req);
	struct api_route	*r;
	struct api_caller	 who;
	const struct config	*tokens;
	size_t			 i, len;
	int			 path_matched = 0;

	api_conn_request(api, req);
	path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	if (path == NULL || *path != '/') {
		api_error(req, 400, "bad_request", "no path");
		return;
	}
	/* Closed after this answer: the body's bytes go with it. */
	if (api_body_unread(req))
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
	if (api->stopped && strcmp(path, "/healthz") != 0) {
		api_error(req, 503, "unavailable", "shutting down");
		return;
	}
	/*
	 * A standby reads its copy and changes nothing: a request that would
	 * is for the writer (deprovctl tries the next instance on this).
	 */
	if (api->engine == NULL &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		api_error(req, 503, "standby", api->standby);
		return;
	}
	/* Later routes take precedence. */
	for (i = api->nroutes; i-- > 0;) {
		r = &api->routes[i];
		len = strlen(r->path);
		if (r->prefix ? strncmp(path, r->path, len) != 0 :
		    strcmp(path, r->path) != 0)
			continue;
		path_matched = 1;
		if (!api_method_is(req, r->method))
			continue;
		/* who points into it: kept even if the handler reloads. */
		tokens = config_ref(api->tokens);
		if (api_auth(api, req, r->role, &who) == 0) {
			rest = r->prefix ? path + len : "";
			r->handler(req, path, rest, &who, r->arg);
		}
		config_free(tokens);
		return;
	}
	if (path_matched) {
		api_allow_path(api, req, path);
		api_error(req, 405, "method_not_allowed",
		    "this route does not take that method");
	}
	else
		api_error(req, 404, "not_found", "no such route");
}

/* The most recent OpenSSL error as text (and clear the queue). */
static const char *
api_tls_error(char *buf, size_t len)
{
	unsigned long	 e, last = 0;
	const char	*reason;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0) {
		snprintf(buf, len, "unknown error");
		return buf;
	}
	if (ERR_GET_LIB(last) == ERR_LIB_SYS)
		snprintf(buf, len, "%s", strerror(ERR_GET_REASON(last)));
	else if ((reason = ERR_reason_error_string(last)) != NULL)
		snprintf(buf, len, "%s", reason);
	else
		ERR_error_string_n(last, buf, len);
	return buf;
}

/* A daemon never prompts for a passphrase: encrypted keys are refused. */
static int
api_tls_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	return -1;
}

/*
 * Server TLS context from api.tls: TLS 1.2 minimum, the certificate chain
 * and key loaded and checked against each other. NULL with err.
 */
static SSL_CTX *
api_tls_ctx(const struct config_api *cfg, char *err, size_t errlen)
{
	SSL_CTX		*ctx = NULL;
	BIO		*bio = NULL;
	EVP_PKEY	*key = NULL;
	char		 why[256];

	if (cfg->tls_cert_file == NULL || cfg->tls_key_file == NULL) {
		snprintf(err, errlen, "api.tls: both cert_file and key_file are "
		    "required");
		return NULL;
	}
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(err, errlen, "api.tls: SSL_CTX_new: %s",
		    api_tls_error(why, sizeof why));
		goto fail;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, API_TLS_CIPHERS) != 1) {
		snprintf(err, errlen, "api.tls: cannot set protocol/ciphers: %s",
		    api_tls_error(why, sizeof why));
		goto fail;
	}
	/*
	 * No resumption at all: the session cache is off, and no tickets
	 * either (TLS 1.2: SSL_OP_NO_TICKET; TLS 1.3 would still send
	 * stateful ones: num_tickets 0), so no ticket key lives in memory
	 * and clients do not keep tickets that can never be used.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_num_tickets(ctx, 0) != 1) {
		snprintf(err, errlen, "api.tls: cannot turn session tickets "
		    "off: %s", api_tls_error(why, sizeof why));
		goto fail;
	}
	SSL_CTX_set_default_passwd_cb(ctx, api_tls_no_passphrase);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1) {
		snprintf(err, errlen, "api.tls.cert_file \"%s\": cannot load a "
		    "PEM certificate: %s", cfg->tls_cert_file,
		    api_tls_error(why, sizeof why));
		goto fail;
	}
	if ((bio = BIO_new_file(cfg->tls_key_file, "r")) == NULL ||
	    (key = PEM_read_bio_PrivateKey(bio, NULL, api_tls_no_passphrase,
	    NULL)) == NULL) {
		snprintf(err, errlen, "api.tls.key_file \"%s\": cannot load an "
		    "unencrypted PEM private key: %s", cfg->tls_key_file,
		    api_tls_error(why, sizeof why));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "api.tls: key_file \"%s\" does not match "
		    "cert_file \"%s\": %s", cfg->tls_key_file,
		    cfg->tls_cert_file, api_tls_error(why, sizeof why));
		goto fail;
	}
	EVP_PKEY_free(key);
	BIO_free(bio);
	return ctx;

fail:
	EVP_PKEY_free(key);
	BIO_free(bio);
	SSL_CTX_free(ctx);
	return NULL;
}

/* Filter of a connection that could not get TLS: let nothing through. */
static enum bufferevent_filter_result
api_tls_refuse(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	return BEV_ERROR;
}

/*
 * evhttp's bufferevent factory under TLS: every accepted connection is a
 * TLS server connection. The bufferevent owns the SSL (freed with it).
 */
static struct bufferevent *
api_tls_bev(struct event_base *base, void *arg)
{
	struct api		*api = arg;
	struct bufferevent	*bev = NULL, *under;
	SSL			*ssl;

	/*
	 * When bufferevent_openssl_socket_new fails, libevent 2.1 may or may
	 * not have freed the SSL already: leak it (out of memory only) rather
	 * than risk a double free.
	 */
	if ((ssl = SSL_new(api->ssl_ctx)) != NULL &&
	    (bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)) != NULL) {
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
		return bev;
	}
	/*
	 * On NULL evhttp would make a plain socket bufferevent and serve
	 * cleartext on the TLS port. Fail closed instead: a filter that
	 * rejects every byte, so nothing is ever answered and evhttp's
	 * timeout closes the connection.
	 */
	log_error("api", "TLS: out of memory for a connection; refusing it");
	if ((under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		return NULL;
	if ((bev = bufferevent_filter_new(under, api_tls_refuse, api_tls_refuse,
	    BEV_OPT_CLOSE_ON_FREE, NULL, NULL)) == NULL)
		bufferevent_free(under);
	return bev;
}

/* A line at most once a second per kind, with the count of those held back. */
#define api_log_limited(rl, ...) do {					\
	uint64_t n_;							\
	char m_[256];							\
									\
	if (log_ratelimit((rl), &n_)) {					\
		snprintf(m_, sizeof m_, __VA_ARGS__);			\
		if (n_ > 0)						\
			log_warn("api", "%s (%llu more like it "	\
			    "suppressed)", m_, (unsigned long long)n_);	\
		else							\
			log_warn("api", "%s", m_);			\
	}								\
} while (0)

/*
 * The address share's key of a connected socket: the IPv4 address (also
 * when v4-mapped), or the IPv6 /64 (one host usually has a whole /64).
 */
static void
api_conn_key(int fd, char *out, size_t outlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;
	struct in_addr		 v4;
	struct in6_addr		 net;

	snprintf(out, outlen, "?");
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out,
		    (socklen_t)outlen);
	else if (ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(&v4, &s6->sin6_addr.s6_addr[12], sizeof v4);
		inet_ntop(AF_INET, &v4, out, (socklen_t)outlen);
	} else if (ss.ss_family == AF_INET6) {
		net = s6->sin6_addr;
		memset(&net.s6_addr[8], 0, 8);
		inet_ntop(AF_INET6, &net, out, (socklen_t)outlen);
		strncat(out, "/64", outlen - strlen(out) - 1);
	}
}

/* (Re)start the connection's request deadline from now. */
static void
api_conn_arm(struct api_conn *c)
{
	struct timeval tv;

	/* Oldest request first: a restarted one goes to the end. */
	TAILQ_REMOVE(&c->api->conns, c, entry);
	TAILQ_INSERT_TAIL(&c->api->conns, c, entry);
	tv.tv_sec = c->api->request_ms / 1000;
	tv.tv_usec = (c->api->request_ms % 1000) * 1000;
	evtimer_add(c->deadline, &tv);
}

/* evhttp closes the connection (any reason): forget it. */
static void
api_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct api_conn		*c = arg;
	struct api_stream	*s = c->stream;

	if (s != NULL) {
		/*
		 * A request evhttp has let go of (the client hung up) is the
		 * stream's to free, by api_stream_end; one still on the
		 * connection is freed with it right after this callback.
		 */
		if (evhttp_request_get_connection(s->req) == evcon)
			s->req = NULL;
		s->conn = NULL;
		event_active(s->ev, EV_TIMEOUT, 0);
	}
	TAILQ_REMOVE(&c->api->conns, c, entry);
	c->api->nconns--;
	event_free(c->deadline);
	free(c);
}

/* Close an adopted connection now (from our own events only, never inside evhttp). */
static void
api_conn_close(struct api_conn *c)
{
	/* Calls api_conn_closed, which frees c. */
	evhttp_connection_free(c->evcon);
}

static void
api_conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api_conn *c = arg;

	api_log_limited(&c->api->rl_deadline, "closing a connection from %s: "
	    "no request sent and answered within %ld ms", c->addr,
	    c->api->request_ms);
	api_conn_close(c);
}

/* The response is sent: the connection's next request has its own time. */
static void
api_conn_answered(struct evhttp_request *req, void *arg)
{
	api_conn_arm(arg);
}

/* A whole request arrived: its deadline runs on until the response is sent. */
static void
api_conn_request(struct api *api, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon = evhttp_request_get_connection(req);
	struct api_conn			*c;

	TAILQ_FOREACH(c, &api->conns, entry)
		if (c->evcon == evcon) {
			evhttp_request_set_on_complete_cb(req,
			    api_conn_answered, c);
			return;
		}
}

/* The owner's turn: on a later loop turn, never inside evhttp. */
static void
api_stream_fire(evutil_socket_t fd, short what, void *arg)
{
	struct api_stream *s = arg;

	s->more(s, s->arg);
}

/* A part has gone out: the connection has its time again, the owner sends on. */
static void
api_stream_sent(struct evhttp_connection *evcon, void *arg)
{
	struct api_stream *s = arg;

	if (s->conn != NULL)
		api_conn_arm(s->conn);
	event_active(s->ev, EV_TIMEOUT, 0);
}

struct api_stream *
api_stream_start(struct api *api, struct evhttp_request *req,
    const char *content_type, api_stream_cb more, void *arg)
{
	struct evhttp_connection	*evcon = evhttp_request_get_connection(req);
	struct evkeyvalq		*h = evhttp_request_get_output_headers(req);
	struct api_stream		*s;
	struct api_conn			*c;

	TAILQ_FOREACH(c, &api->conns, entry)
		if (c->evcon == evcon)
			break;
	if (c == NULL || c->stream != NULL || (s = calloc(1, sizeof *s)) ==
	    NULL)
		return NULL;
	if ((s->ev = event_new(api->base, -1, 0, api_stream_fire, s)) == NULL) {
		free(s);
		return NULL;
	}
	s->conn = c;
	s->req = req;
	s->more = more;
	s->arg = arg;
	c->stream = s;
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply_start(req, 200, api_reason(200));
	event_active(s->ev, EV_TIMEOUT, 0);
	return s;
}

int
api_stream_gone(const struct api_stream *s)
{
	return s->conn == NULL;
}

void
api_stream_send(struct api_stream *s, struct evbuffer *part)
{
	/* evhttp sends nothing for an empty part, and would never call back. */
	if (s->conn == NULL || evbuffer_get_length(part) == 0) {
		evbuffer_drain(part, evbuffer_get_length(part));
		event_active(s->ev, EV_TIMEOUT, 0);
		return;
	}
	evhttp_send_reply_chunk_with_cb(s->req, part, api_stream_sent, s);
}

void
api_stream_end(struct api_stream *s)
{
	if (s == NULL)
		return;
	/* Ends the response, or frees a request whose client has gone. */
	if (s->req != NULL)
		evhttp_send_reply_end(s->req);
	if (s->conn != NULL)
		s->conn->stream = NULL;
	event_free(s->ev);
	free(s);
}

/* Over a limit: close the oldest connection (of this address when key is set). */
static void
api_conn_evict(struct api *api, const char *key, long count, long limit)
{
	struct api_conn *c;

	TAILQ_FOREACH(c, &api->conns, entry)
		if (key == NULL || strcmp(c->addr, key) == 0)
			break;
	if (c == NULL)
		return;
	if (key != NULL)
		api_log_limited(&api->rl_evict, "%ld connections from %s "
		    "(max_connections_per_address %ld): closing its oldest",
		    count, key, limit);
	else
		api_log_limited(&api->rl_evict, "%ld connections "
		    "(max_connections %ld): closing the oldest, from %s", count,
		    limit, c->addr);
	api_conn_close(c);
}

/*
 * Adopt the connections evhttp has just taken: find their evhttp_connection,
 * watch their closing, start their deadline, and enforce the limits.
 */
static void
api_conn_adopt_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api			*api = arg;
	struct api_conn			*c, *o;
	struct evhttp_connection	*evcon;
	bufferevent_data_cb		 readcb = NULL;
	void				*cbarg = NULL;
	long				 same;

	while ((c = TAILQ_FIRST(&api->fresh)) != NULL) {
		TAILQ_REMOVE(&api->fresh, c, entry);
		/*
		 * evhttp set the callbacks with its connection as argument
		 * (libevent 2.1 and 2.2); none when it has let go already.
		 */
		bufferevent_getcb(c->bev, &readcb, NULL, NULL, &cbarg);
		evcon = cbarg;
		if (readcb == NULL || evcon == NULL ||
		    evhttp_connection_get_bufferevent(evcon) != c->bev ||
		    (c->deadline = evtimer_new(api->base, api_conn_deadline_cb,
		    c)) == NULL) {
			bufferevent_decref(c->bev);
			free(c);
			continue;
		}
		c->evcon = evcon;
		api_conn_key(bufferevent_getfd(c->bev), c->addr, sizeof c->addr);
		bufferevent_decref(c->bev);
		c->bev = NULL;
		evhttp_connection_set_closecb(evcon, api_conn_closed, c);
		TAILQ_INSERT_TAIL(&api->conns, c, entry);
		api->nconns++;
		api_conn_arm(c);

		same = 0;
		TAILQ_FOREACH(o, &api->conns, entry)
			same += strcmp(o->addr, c->addr) == 0;
		if (same > api->max_per_addr)
			api_conn_evict(api, c->addr, same, api->max_per_addr);
		if ((long)api->nconns > api->max_conns)
			api_conn_evict(api, NULL, (long)api->nconns,
			    api->max_conns);
	}
}

/*
 * evhttp's bufferevent factory: every connection's bufferevent is made here
 * (TLS or plain), and the connection is queued for adoption right after
 * evhttp has taken it (same loop turn, before any of its bytes are read).
 */
static struct bufferevent *
api_bev(struct event_base *base, void *arg)
{
	struct api		*api = arg;
	struct bufferevent	*bev;
	struct api_conn		*c;

	if (api->ssl_ctx != NULL)
		bev = api_tls_bev(base, api);
	else
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL || (c = calloc(1, sizeof *c)) == NULL)
		return bev;	/* not counted: only when out of memory */
	c->api = api;
	c->bev = bev;
	/* Ours until adopted, even if evhttp drops it meanwhile. */
	bufferevent_incref(bev);
	TAILQ_INSERT_TAIL(&api->fresh, c, entry);
	event_active(api->adopt_ev, EV_TIMEOUT, 1);
	return bev;
}

static void
api_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api *api = arg;

	if (api->listener != NULL)
		evconnlistener_enable(api->listener);
}

/*
 * accept() failed with a lasting error (EMFILE, ENFILE, ENOBUFS, ENOMEM):
 * the listening socket stays readable, so libevent would retry at once, in
 * a loop. Pause accepting instead; pending clients wait in the backlog.
 */
static void
api_accept_error(struct evconnlistener *lev, void *arg)
{
	struct api	*api;
	struct timeval	 tv = { 0, API_ACCEPT_PAUSE_MS * 1000 };
	int		 e = EVUTIL_SOCKET_ERROR();

	for (api = api_all; api != NULL; api = api->next)
		if (api->listener == lev)
			break;
	if (api == NULL)
		return;
	evconnlistener_disable(lev);
	evtimer_add(api->resume_ev, &tv);
	api_log_limited(&api->rl_accept, "accept: %s (%zu connections open): "
	    "not accepting for %d ms", evutil_socket_error_to_string(e),
	    api->nconns, API_ACCEPT_PAUSE_MS);
}

/* The limits from the configuration, or derived from RLIMIT_NOFILE. */
static void
api_limits(struct api *api, const struct config_api *cfg)
{
	struct rlimit	rl;
	long		nofile = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		nofile = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1048576 ?
		    1048576 : (long)rl.rlim_cur;
	/* A quarter of the descriptors: the rest for targets, Kafka, the store. */
	api->max_conns = cfg->max_connections > 0 ? cfg->max_connections :
	    nofile / 4 < 8 ? 8 : nofile / 4 > 4096 ? 4096 : nofile / 4;
	api->max_per_addr = cfg->max_connections_per_address > 0 ?
	    cfg->max_connections_per_address : api->max_conns /
	    API_CONN_SHARE_DIV < 2 ? 2 : api->max_conns / API_CONN_SHARE_DIV;
	if (api->max_per_addr > api->max_conns)
		api->max_per_addr = api->max_conns;
	api->request_ms = cfg->request_timeout_ms > 0 ?
	    cfg->request_timeout_ms : API_REQUEST_TIMEOUT_MS;
	if (api->max_conns > nofile / 2)
		log_warn("api", "api.max_connections %ld is more than half the "
		    "descriptor limit (%ld): at that limit accepting pauses, "
		    "and target or Kafka connections may fail", api->max_conns,
		    nofile);
	log_info("api", "at most %ld connections, %ld per address; each "
	    "request sent and answered within %ld ms (descriptor limit %ld)",
	    api->max_conns, api->max_per_addr, api->request_ms, nofile);
}

int
api_route(struct api *api, const char *method, const char *path, int prefix,
    int role, api_handler handler, void *arg)
{
	struct api_route *r;

	if (api->nroutes == API_MAX_ROUTES)
		return -1;
	r = &api->routes[api->nroutes];
	memset(r, 0, sizeof *r);
	if ((method != NULL && (r->method = strdup(method)) == NULL) ||
	    (r->path = strdup(path)) == NULL) {
		free(r->method);
		return -1;
	}
	r->prefix = prefix;
	r->role = role;
	r->handler = handler;
	r->arg = arg;
	api->nroutes++;
	return 0;
}

/*
 * A prefix route whose handler dispatches the routes below it itself, with
 * those routes' rows for the route table: path, then param, then a suffix.
 */
static int
api_route_below(struct api *api, const char *path, const char *param,
    const struct api_sub *subs, size_t nsubs, int role, api_handler handler,
    void *arg)
{
	struct api_route *r;

	if (api_route(api, NULL, path, 1, role, handler, arg) != 0)
		return -1;
	r = &api->routes[api->nroutes - 1];
	r->param = param;
	r->subs = subs;
	r->nsubs = nsubs;
	return 0;
}

int
api_routes_print(const struct api *api, FILE *f)
{
	const struct api_route	*r;
	size_t			 i, k;

	for (i = 0; i < api->nroutes; i++) {
		r = &api->routes[i];
		if (!r->prefix)
			fprintf(f, "%s %s %s\n", r->method != NULL ? r->method :
			    "*", r->path, api_role_or_public(r->role));
		else if (r->subs == NULL)
			fprintf(f, "%s %s* %s\n", r->method != NULL ?
			    r->method : "*", r->path, api_role_or_public(r->role));
		for (k = 0; r->prefix && k < r->nsubs; k++)
			fprintf(f, "%s %s%s%s %s\n", r->subs[k].method, r->path,
			    r->param, r->subs[k].suffix,
			    api_role_or_public(r->subs[k].role));
	}
	return ferror(f) ? -1 : 0;
}

struct api *
api_new(struct event_base *base, const struct config *cfg, struct store *store,
    struct engine *engine, struct kafka *kafka, char *err, size_t errlen)
{
	struct api			*api;
	struct evhttp_bound_socket	*bound;
	char				*host = NULL, *colon, *end;
	long				 port;

	if ((api = calloc(1, sizeof *api)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	api->base = base;
	api->cfg = cfg;
	api->tokens = config_ref(cfg);
	api->store = store;
	api->engine = engine;
	api->kafka = kafka;
	TAILQ_INIT(&api->conns);
	TAILQ_INIT(&api->fresh);
	api->rl_accept.interval_ms = API_LOG_INTERVAL_MS;
	api->rl_evict.interval_ms = API_LOG_INTERVAL_MS;
	api->rl_deadline.interval_ms = API_LOG_INTERVAL_MS;
	api->next = api_all;
	api_all = api;
	api_limits(api, &cfg->api);
	if ((api->adopt_ev = event_new(base, -1, 0, api_conn_adopt_cb,
	    api)) == NULL || (api->resume_ev = evtimer_new(base, api_resume_cb,
	    api)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((api->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		goto fail;
	}
	evhttp_set_max_body_size(api->http, API_MAX_BODY);
	evhttp_set_max_headers_size(api->http, API_MAX_HEADERS);
	evhttp_set_timeout(api->http, API_IDLE_TIMEOUT_S);
	/*
	 * Every method HTTP defines for a resource reaches the dispatcher, so
	 * a route answers one it does not take with 405 and Allow; evhttp
	 * itself would answer OPTIONS and TRACE with 501 (a server error).
	 */
	evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE);
	evhttp_set_default_content_type(api->http, "application/json");
	evhttp_set_gencb(api->http, api_dispatch, api);
	if (cfg->api.tls_cert_file != NULL || cfg->api.tls_key_file != NULL) {
		if ((api->ssl_ctx = api_tls_ctx(&cfg->api, err, errlen)) ==
		    NULL)
			goto fail;
	}
	evhttp_set_bevcb(api->http, api_bev, api);
	if (api_route(api, "GET", "/healthz", 0, API_ROLE_PUBLIC, api_health,
	    api) != 0 ||
	    api_route(api, "GET", "/readyz", 0, API_ROLE_PUBLIC, api_health,
	    api) != 0 ||
	    api_route(api, "GET", "/v1/cases", 0, API_ROLE_VIEWER, api_cases,
	    api) != 0 ||
	    api_route_below(api, "/v1/cases/", "{id}", api_case_subs,
	    API_NCASE_SUBS, API_ROLE_VIEWER, api_case_route, api) != 0 ||
	    api_route(api, "POST", "/v1/freeze", 0, API_ROLE_RESPONDER,
	    api_freeze, api) != 0 ||
	    api_route(api, "POST", "/v1/unfreeze", 0, API_ROLE_RESPONDER,
	    api_freeze, api) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((host = strdup(cfg->api.listen)) == NULL)
		goto fail;
	if ((colon = strrchr(host, ':')) == NULL) {
		snprintf(err, errlen, "api.listen: expected host:port");
		goto fail;
	}
	*colon = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 0 || port > 65535) {
		snprintf(err, errlen, "api.listen: bad port");
		goto fail;
	}
	if ((bound = evhttp_bind_socket_with_handle(api->http, host,
	    (ev_uint16_t)port)) == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", cfg->api.listen,
		    strerror(errno));
		goto fail;
	}
	api->listener = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(api->listener, api_accept_error);
	log_info("api", "listening on %s (%s)", cfg->api.listen,
	    api->ssl_ctx != NULL ? "https, TLS 1.2+" : "http");
	free(host);
	return api;

fail:
	free(host);
	api_free(api);
	return NULL;
}

void
api_set_audit(struct api *api, struct audit *audit)
{
	api->audit = audit;
}

void
api_set_standby(struct api *api, const char *why)
{
	snprintf(api->standby, sizeof api->standby, "this instance is a "
	    "standby: %s", why);
}

void
api_stop(struct api *api)
{
	if (api != NULL)
		api->stopped = 1;
}

void
api_free(struct api *api)
{
	size_t		  i;
	struct api	**pp;
	struct api_conn	 *c;

	if (api == NULL)
		return;
	for (pp = &api_all; *pp != NULL; pp = &(*pp)->next)
		if (*pp == api) {
			*pp = api->next;
			break;
		}
	/* Closes every connection (api_conn_closed forgets each). */
	if (api->http != NULL)
		evhttp_free(api->http);
	while ((c = TAILQ_FIRST(&api->fresh)) != NULL) {
		TAILQ_REMOVE(&api->fresh, c, entry);
		bufferevent_decref(c->bev);
		free(c);
	}
	if (api->adopt_ev != NULL)
		event_free(api->adopt_ev);
	if (api->resume_ev != NULL)
		event_free(api->resume_ev);
	/* After evhttp_free: its connections held SSLs of this context. */
	SSL_CTX_free(api->ssl_ctx);
	for (i = 0; i < api->nroutes; i++) {
		free(api->routes[i].method);
		free(api->routes[i].path);
	}
	config_free(api->tokens);
	free(api);
}

/*
 * The "api" section's settings (docs/CONTRACT.md, docs/SECURITY.md), read
 * by config_load. Absent, there is no API; a limit left out (0) is derived
 * when the API starts.
 */

/* "host:port" with a non-empty host and a port 1..65535. */
static int
api_config_listen_ok(const char *s)
{
	const char	*colon = strrchr(s, ':');
	char		*end;
	long		 port;

	if (colon == NULL || colon == s || colon[1] == '\0')
		return 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	return errno == 0 && *end == '\0' && port >= 1 && port <= 65535 &&
	    colon[1] >= '0' && colon[1] <= '9';
}

/* 64 lowercase hex digits. */
static int
api_config_sha256_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return i == 64;
}

/*
 * The dashboard's address as people reach it (behind a proxy, a path
 * prefix included): an absolute http(s) URL that links are made from by
 * appending "/#case=N", so no query or fragment, and none of the characters
 * that would need escaping in a link or end a Slack link ("<url|text>").
 */
static int
api_config_public_url_ok(const char *s)
{
	const unsigned char *p;

	if (!config_url_ok(s))
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("\"<>\\^`{|}#?&", *p) !=
		    NULL)
			return 0;
	return 1;
}

/* public_url without its trailing slashes: links append "/#case=N". */
static int
api_config_check(struct config_reader *r, const char *where, json_object *obj,
    void *conf)
{
	struct config_api	*a = conf;
	size_t			 n;

	if (a->public_url == NULL)
		return 0;
	n = strlen(a->public_url);
	while (n > 0 && a->public_url[n - 1] == '/')
		a->public_url[--n] = '\0';
	return 0;
}

static const struct config_setting api_tls_rows[] = {
	{ .key = "cert_file", .type = CONFIG_PATH,
	    .flags = CONFIG_REQUIRED | CONFIG_READABLE,
	    CONFIG_FIELD(struct config_api, tls_cert_file) },
	{ .key = "key_file", .type = CONFIG_PATH,
	    .flags = CONFIG_REQUIRED | CONFIG_READABLE,
	    CONFIG_FIELD(struct config_api, tls_key_file) },
	{ .key = NULL }
};

static const struct config_section api_tls_settings = { api_tls_rows, NULL };

/* A token is known by the SHA-256 of it only; the token is never stored. */
static const struct config_setting api_token_rows[] = {
	{ .key = "name", .type = CONFIG_STRING,
	    .flags = CONFIG_REQUIRED | CONFIG_UNIQUE, .what = "token name",
	    CONFIG_FIELD(struct config_api_token, name) },
	{ .key = "role", .type = CONFIG_STRING, .flags = CONFIG_REQUIRED,
	    CONFIG_FIELD(struct config_api_token, role),
	    .names = api_role_names, .what = "role" },
	{ .key = "sha256", .type = CONFIG_STRING, .flags = CONFIG_REQUIRED,
	    CONFIG_FIELD(struct config_api_token, sha256),
	    .valid = api_config_sha256_ok,
	    .expect = "64 lowercase hex digits (the SHA-256 of the token)" },
	{ .key = NULL }
};

static const struct config_section api_token_settings = { api_token_rows,
    NULL };

static const struct config_setting api_rows[] = {
	{ .key = "listen", .type = CONFIG_STRING,
	    CONFIG_FIELD(struct config_api, listen),
	    .valid = api_config_listen_ok, .expect = "\"host:port\"" },
	/* The two files' fields are the api's own: the object is at offset 0. */
	{ .key = "tls", .type = CONFIG_OBJECT, .off = 0,
	    .sub = &api_tls_settings },
	/* Checked at every request: a reload applies new ones at once. */
	{ .key = "tokens", .type = CONFIG_LIST, .flags = CONFIG_LIVE,
	    .off = offsetof(struct config_api, tokens),
	    .size = sizeof(struct config_api_token),
	    .count = offsetof(struct config_api, ntokens),
	    .sub = &api_token_settings },
	{ .key = "max_connections", .type = CONFIG_INT,
	    CONFIG_FIELD(struct config_api, max_connections),
	    .min = 1, .max = 1000000 },
	{ .key = "max_connections_per_address", .type = CONFIG_INT,
	    CONFIG_FIELD(struct config_api, max_connections_per_address),
	    .min = 1, .max = 1000000 },
	{ .key = "request_timeout_ms", .type = CONFIG_INT,
	    CONFIG_FIELD(struct config_api, request_timeout_ms),
	    .min = 100, .max = 600000 },
	{ .key = "public_url", .type = CONFIG_STRING,
	    CONFIG_FIELD(struct config_api, public_url),
	    .valid = api_config_public_url_ok,
	    .expect = "an absolute http:// or https:// URL without query or "
	    "fragment (https://deprov.acme.example)" },
	{ .key = NULL }
};

const struct config_section api_settings = { api_rows, api_config_check };

void
api_set_tokens(struct api *api, const struct config *cfg)
{
	const struct config *old = api->tokens;

	api->tokens = config_ref(cfg);
	config_free(old);
}
