/*
 * api: the admin HTTP API (evhttp; docs/CONTRACT.md): health and
 * readiness, and the case views. Bearer tokens are configured only as
 * SHA-256 hashes and compared in constant time; roles are viewer <
 * responder < admin (401 without a valid token, 403 below the role).
 * Every error is JSON: {"error":"...","detail":"..."}.
 */
#ifndef DEPROV_API_H
#define DEPROV_API_H

#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

#include "deprov/config.h"

struct event_base;
struct store;
struct engine;
struct kafka;
struct audit;
struct api;

struct evhttp_request;

enum api_role {
	API_ROLE_PUBLIC = -2,	/* route needs no token */
	API_ROLE_NONE = -1,	/* token unknown */
	API_ROLE_VIEWER = 0,
	API_ROLE_RESPONDER,
	API_ROLE_ADMIN
};

/* Who is calling: the configured token's name and role (name NULL on public routes). */
struct api_caller {
	const char	*name;
	int		 role;
};

/*
 * A route handler. path is the request path; rest is what follows the
 * route's path for prefix routes ("" otherwise). It must answer req.
 */
typedef void (*api_handler)(struct evhttp_request *req, const char *path,
    const char *rest, const struct api_caller *, void *arg);

struct api	*api_new(struct event_base *, const struct config *, struct store *,
		    struct engine *, struct kafka *, char *err, size_t errlen);
/*
 * A standby's API (engine NULL; docs/CLUSTER.md): it answers what reads
 * the store, from the standby's copy (at most a second behind the
 * writer's), /healthz 200, /readyz 503 {"status": "standby", "standby":
 * why}; anything else (every POST) 503 {"error": "standby"}: nothing was
 * done, the request is for the writer. api_set_standby says who that is.
 */
void		 api_set_standby(struct api *, const char *why);
/*
 * Add a route: method "GET", "POST", ... (NULL = any), an exact path, or a
 * prefix when prefix is 1, and the least role it needs (API_ROLE_PUBLIC for
 * none). Routes added later take precedence. 0 or -1.
 */
int		 api_route(struct api *, const char *method, const char *path, int prefix,
		    int role, api_handler, void *arg);

/*
 * Write the route table, one "METHOD PATH ROLE" a line (role: public,
 * viewer, responder or admin; the routes under a prefix route each on
 * their own line, "/v1/cases/{id}/retry"), in the order they were added:
 * what docs/openapi.yaml must describe. 0 or -1.
 */
int		 api_routes_print(const struct api *, FILE *);

/* Answers. api_reply_json consumes body. */
void		 api_reply_json(struct evhttp_request *, int code, json_object *body);
void		 api_reply(struct evhttp_request *, int code, const char *content_type,
		    const void *data, size_t len);
void		 api_error(struct evhttp_request *, int code, const char *error,
		    const char *detail);
/*
 * A 200 response sent in parts, for an answer too large to build at once
 * (GET /v1/evidence): HTTP/1.1 chunked, the next part made only once the
 * previous one has gone out, so memory stays bounded by a part and a slow
 * client slows the producer instead of filling buffers. Each part sent
 * gives the connection request_timeout_ms again: a client that stops
 * reading is closed like any other. more is called on a later loop turn,
 * first after the start and then after each part has been sent, or once
 * the client has gone (api_stream_gone); it sends one part, or ends the
 * stream. Whatever happens, the owner calls api_stream_end once. NULL
 * when nothing was sent (answer with api_error).
 */
struct api_stream;
struct evbuffer;
typedef void (*api_stream_cb)(struct api_stream *, void *arg);
struct api_stream *api_stream_start(struct api *, struct evhttp_request *,
		    const char *content_type, api_stream_cb more, void *arg);
/* The client went away: nothing more can be sent. */
int		 api_stream_gone(const struct api_stream *);
/* Send part (drained into the response). */
void		 api_stream_send(struct api_stream *, struct evbuffer *part);
/* End the response (or let go of it when the client is gone); frees it. */
void		 api_stream_end(struct api_stream *);

/*
 * The request's query parameters into q (evhttp_clear_headers after),
 * each one of known (NULL-ended) and given once. -1 after a 400 answer
 * (q then empty).
 */
struct evkeyvalq;
int		 api_query(struct evhttp_request *, struct evkeyvalq *q,
		    const char *const *known);

/* Parse a JSON object request body; NULL with err when absent or malformed. */
json_object	*api_body_json(struct evhttp_request *, char *err, size_t errlen);

/*
 * Record operator actions (retry, cancel) in this audit trail (NULL = none).
 * The audit must outlive the api.
 */
void		 api_set_audit(struct api *, struct audit *);
/*
 * A reload: tokens are checked against cfg's from the next request on (the
 * api holds a reference; the rest of the "api" section stays as started).
 */
void		 api_set_tokens(struct api *, const struct config *cfg);

/* Stop accepting requests (shutdown). */
void		 api_stop(struct api *);
/*
 * 1 when /readyz would answer "ok" (the stop aside): store, Kafka group
 * and brokers, PostgreSQL with that backend. Details into o unless NULL.
 */
int		 api_readiness(struct store *, struct kafka *, json_object *o);
void		 api_free(struct api *);

/* Role of a presented token, or -1 (exposed for tests). */
int		 api_token_role(const struct config_api *, const char *token);

/* The "api" section's settings, read by config_load. */
extern const struct config_section api_settings;

#endif
