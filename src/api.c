/*
 * api: the admin HTTP API on evhttp. Read-only views of cases for viewers,
 * health and readiness for probes. Tokens are hashed with SHA-256 and
 * compared in constant time against the configured hashes; the token itself
 * is never stored or logged.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "deprov/api.h"
#include "deprov/engine.h"
#include "deprov/kafka.h"
#include "deprov/log.h"
#include "deprov/store.h"

#define API_MAX_BODY		(64 * 1024)
#define API_MAX_HEADERS		(16 * 1024)
#define API_DEFAULT_LIMIT	50
#define API_MAX_LIMIT		1000

enum api_role {
	API_ROLE_NONE = -1,
	API_ROLE_VIEWER = 0,
	API_ROLE_RESPONDER,
	API_ROLE_ADMIN
};

struct api {
	struct event_base	*base;
	const struct config	*cfg;
	struct store		*store;
	struct engine		*engine;
	struct kafka		*kafka;
	struct evhttp		*http;
	int			 stopped;
};

static void
api_reply_json(struct evhttp_request *req, int code, const char *reason,
    json_object *body)
{
	struct evbuffer *buf = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	if (buf != NULL)
		evbuffer_add_printf(buf, "%s\n", json_object_to_json_string_ext(
		    body, JSON_C_TO_STRING_PLAIN));
	evhttp_send_reply(req, code, reason, buf);
	if (buf != NULL)
		evbuffer_free(buf);
	json_object_put(body);
}

static void
api_error(struct evhttp_request *req, int code, const char *error,
    const char *detail)
{
	json_object	*o = json_object_new_object();
	const char	*reason;

	json_object_object_add(o, "error", json_object_new_string(error));
	json_object_object_add(o, "detail", json_object_new_string(detail));
	switch (code) {
	case 400: reason = "Bad Request"; break;
	case 401: reason = "Unauthorized"; break;
	case 403: reason = "Forbidden"; break;
	case 404: reason = "Not Found"; break;
	case 405: reason = "Method Not Allowed"; break;
	case 503: reason = "Service Unavailable"; break;
	default: reason = "Error"; break;
	}
	if (code == 401)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer realm=\"deprov\"");
	api_reply_json(req, code, reason, o);
}

static int
api_role_parse(const char *s)
{
	if (strcmp(s, "viewer") == 0)
		return API_ROLE_VIEWER;
	if (strcmp(s, "responder") == 0)
		return API_ROLE_RESPONDER;
	if (strcmp(s, "admin") == 0)
		return API_ROLE_ADMIN;
	return API_ROLE_NONE;
}

int
api_token_role(const struct config_api *cfg, const char *token)
{
	unsigned char	 digest[SHA256_DIGEST_LENGTH];
	char		 hex[SHA256_DIGEST_LENGTH * 2 + 1];
	size_t		 i;
	int		 role = API_ROLE_NONE, r;

	SHA256((const unsigned char *)token, strlen(token), digest);
	for (i = 0; i < sizeof digest; i++)
		snprintf(hex + i * 2, 3, "%02x", digest[i]);
	/* Compare against every entry so timing does not reveal which matched. */
	for (i = 0; i < cfg->ntokens; i++) {
		if (cfg->tokens[i].sha256 == NULL ||
		    strlen(cfg->tokens[i].sha256) != sizeof hex - 1)
			continue;
		if (CRYPTO_memcmp(hex, cfg->tokens[i].sha256, sizeof hex - 1) ==
		    0) {
			r = api_role_parse(cfg->tokens[i].role);
			if (r > role)
				role = r;
		}
	}
	OPENSSL_cleanse(hex, sizeof hex);
	return role;
}

/* Check the bearer token; replies and returns -1 when not allowed. */
static int
api_auth(struct api *api, struct evhttp_request *req, int need)
{
	const char	*h;
	int		 role;

	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		api_error(req, 401, "unauthorized", "a bearer token is required");
		return -1;
	}
	role = api_token_role(&api->cfg->api, h + 7);
	if (role == API_ROLE_NONE) {
		api_error(req, 401, "unauthorized", "unknown token");
		return -1;
	}
	if (role < need) {
		api_error(req, 403, "forbidden", "this token's role is too low");
		return -1;
	}
	return 0;
}

static void
api_put_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v != NULL ? json_object_new_string(v) :
	    NULL);
}

static void
api_put_ms(json_object *o, const char *key, int64_t ms)
{
	json_object_object_add(o, key, ms > 0 ? json_object_new_int64(ms) : NULL);
}

static json_object *
api_case_json(const struct store_case *c)
{
	json_object *o = json_object_new_object(), *subj;

	json_object_object_add(o, "id", json_object_new_int64(c->id));
	api_put_str(o, "subject_key", c->subject_key);
	subj = c->subject_json != NULL ? json_tokener_parse(c->subject_json) :
	    NULL;
	json_object_object_add(o, "subject", subj);
	api_put_str(o, "runbook", c->runbook);
	api_put_str(o, "event_type", c->event_type);
	api_put_str(o, "state", c->state);
	json_object_object_add(o, "urgent", json_object_new_boolean(c->urgent));
	api_put_ms(o, "created_ms", c->created_ms);
	api_put_ms(o, "updated_ms", c->updated_ms);
	api_put_ms(o, "effective_ms", c->effective_ms);
	api_put_ms(o, "freeze_deadline_ms", c->freeze_deadline_ms);
	api_put_ms(o, "complete_deadline_ms", c->complete_deadline_ms);
	api_put_ms(o, "frozen_ms", c->frozen_ms);
	api_put_ms(o, "completed_ms", c->completed_ms);
	api_put_str(o, "error", c->error);
	api_put_str(o, "reason", c->reason);
	return o;
}

static int
api_list_cb(const struct store_case *c, void *arg)
{
	json_object_array_add(arg, api_case_json(c));
	return 0;
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

	api_put_str(o, "target", p->target);
	json_object_object_add(o, "seq", json_object_new_int(p->seq));
	api_put_str(o, "step", p->step);
	api_put_str(o, "state", p->state);
	json_object_object_add(o, "attempts", json_object_new_int(p->attempts));
	api_put_str(o, "last_error", p->last_error);
	api_put_str(o, "detail", p->detail);
	api_put_ms(o, "started_ms", p->started_ms);
	api_put_ms(o, "finished_ms", p->finished_ms);
	json_object_array_add(arg, o);
	return 0;
}

static int
api_timeline_cb(const struct store_timeline *t, void *arg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ts_ms", json_object_new_int64(t->ts_ms));
	api_put_str(o, "kind", t->kind);
	api_put_str(o, "target", t->target);
	api_put_str(o, "step", t->step);
	api_put_str(o, "detail", t->detail);
	json_object_array_add(arg, o);
	return 0;
}

static void
api_cases(struct api *api, struct evhttp_request *req)
{
	struct evkeyvalq	 q;
	const char		*uri = evhttp_request_get_uri(req), *state,
				*subject, *lim;
	struct evhttp_uri	*u;
	json_object		*arr, *o;
	long			 limit = API_DEFAULT_LIMIT;
	char			*end;

	TAILQ_INIT(&q);
	if ((u = evhttp_uri_parse(uri)) == NULL ||
	    (evhttp_uri_get_query(u) != NULL &&
	    evhttp_parse_query_str(evhttp_uri_get_query(u), &q) != 0)) {
		if (u != NULL)
			evhttp_uri_free(u);
		api_error(req, 400, "bad_request", "malformed query string");
		return;
	}
	state = evhttp_find_header(&q, "state");
	subject = evhttp_find_header(&q, "subject");
	if ((lim = evhttp_find_header(&q, "limit")) != NULL) {
		limit = strtol(lim, &end, 10);
		if (*lim == '\0' || *end != '\0' || limit < 1 ||
		    limit > API_MAX_LIMIT) {
			api_error(req, 400, "bad_request",
			    "limit must be an integer from 1 to 1000");
			goto done;
		}
	}
	arr = json_object_new_array();
	if (store_cases_list(api->store, state, subject, (int)limit,
	    api_list_cb, arr) != 0) {
		json_object_put(arr);
		api_error(req, 500, "store", "cannot read cases");
		goto done;
	}
	o = json_object_new_object();
	json_object_object_add(o, "cases", arr);
	api_reply_json(req, 200, "OK", o);
done:
	evhttp_clear_headers(&q);
	evhttp_uri_free(u);
}

static void
api_case(struct api *api, struct evhttp_request *req, const char *idstr)
{
	json_object	*c = NULL, *steps, *tl, *sla;
	long long	 id;
	char		*end;
	int64_t		 now = engine_now_ms(), fdl, cdl, frozen, done;

	id = strtoll(idstr, &end, 10);
	if (*idstr == '\0' || *end != '\0' || id <= 0) {
		api_error(req, 400, "bad_request", "case id must be a number");
		return;
	}
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

	/* SLA status from the deadlines and what has happened. */
	fdl = json_object_get_int64(json_object_object_get(c,
	    "freeze_deadline_ms"));
	cdl = json_object_get_int64(json_object_object_get(c,
	    "complete_deadline_ms"));
	frozen = json_object_get_int64(json_object_object_get(c, "frozen_ms"));
	done = json_object_get_int64(json_object_object_get(c,
	    "completed_ms"));
	sla = json_object_new_object();
	json_object_object_add(sla, "freeze_breached", json_object_new_boolean(
	    fdl > 0 && (frozen > 0 ? frozen > fdl : now > fdl)));
	json_object_object_add(sla, "complete_breached",
	    json_object_new_boolean(cdl > 0 && (done > 0 ? done > cdl :
	    now > cdl)));
	json_object_object_add(c, "sla", sla);
	api_reply_json(req, 200, "OK", c);
}

static void
api_health(struct api *api, struct evhttp_request *req, int ready)
{
	json_object	*o = json_object_new_object();
	int		 ok = 1;

	if (ready) {
		int assigned = api->kafka != NULL && kafka_assigned(api->kafka);
		int store_ok = store_count_cases(api->store, NULL) >= 0;

		json_object_object_add(o, "store", json_object_new_boolean(
		    store_ok));
		json_object_object_add(o, "kafka_assigned",
		    json_object_new_boolean(assigned));
		ok = assigned && store_ok && !api->stopped;
	}
	json_object_object_add(o, "status", json_object_new_string(ok ? "ok" :
	    "unavailable"));
	json_object_object_add(o, "open_cases", json_object_new_int64(
	    (int64_t)engine_open_cases(api->engine)));
	api_reply_json(req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable",
	    o);
}

static void
api_dispatch(struct evhttp_request *req, void *arg)
{
	struct api			*api = arg;
	const char			*path;
	const struct evhttp_uri		*u = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type		 m = evhttp_request_get_command(req);

	path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	if (path == NULL) {
		api_error(req, 400, "bad_request", "no path");
		return;
	}
	if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0) {
		if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
			api_error(req, 405, "method_not_allowed", "use GET");
			return;
		}
		api_health(api, req, path[1] == 'r');
		return;
	}
	if (strcmp(path, "/v1/cases") == 0) {
		if (m != EVHTTP_REQ_GET) {
			api_error(req, 405, "method_not_allowed", "use GET");
			return;
		}
		if (api_auth(api, req, API_ROLE_VIEWER) == 0)
			api_cases(api, req);
		return;
	}
	if (strncmp(path, "/v1/cases/", 10) == 0 &&
	    strchr(path + 10, '/') == NULL) {
		if (m != EVHTTP_REQ_GET) {
			api_error(req, 405, "method_not_allowed", "use GET");
			return;
		}
		if (api_auth(api, req, API_ROLE_VIEWER) == 0)
			api_case(api, req, path + 10);
		return;
	}
	api_error(req, 404, "not_found", "no such route");
}

struct api *
api_new(struct event_base *base, const struct config *cfg, struct store *store,
    struct engine *engine, struct kafka *kafka, char *err, size_t errlen)
{
	struct api	*api;
	char		*host = NULL, *colon;
	long		 port;

	if ((api = calloc(1, sizeof *api)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	api->base = base;
	api->cfg = cfg;
	api->store = store;
	api->engine = engine;
	api->kafka = kafka;
	if ((api->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		goto fail;
	}
	evhttp_set_max_body_size(api->http, API_MAX_BODY);
	evhttp_set_max_headers_size(api->http, API_MAX_HEADERS);
	evhttp_set_timeout(api->http, 30);
	evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(api->http, api_dispatch, api);
	if ((host = strdup(cfg->api.listen)) == NULL)
		goto fail;
	if ((colon = strrchr(host, ':')) == NULL) {
		snprintf(err, errlen, "api.listen: expected host:port");
		goto fail;
	}
	*colon = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (port < 0 || port > 65535) {
		snprintf(err, errlen, "api.listen: bad port");
		goto fail;
	}
	if (evhttp_bind_socket(api->http, host, (ev_uint16_t)port) != 0) {
		snprintf(err, errlen, "cannot listen on %s", cfg->api.listen);
		goto fail;
	}
	log_info("api", "listening on %s", cfg->api.listen);
	free(host);
	return api;

fail:
	free(host);
	api_free(api);
	return NULL;
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
	if (api == NULL)
		return;
	if (api->http != NULL)
		evhttp_free(api->http);
	free(api);
}
