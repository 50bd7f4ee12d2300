/*
 * sandbox.c: deprov-sandbox, the target simulator tests, the demo and the benchmarks drive
 * instead of real SaaS APIs (contract: docs/SANDBOX.md). This file owns the command line, the
 * libevent HTTP server, the life cycle of one request (fault decision, latency timer, held
 * "timeout" requests, "reset" connections, the answer and its request-log entry) and the
 * test-only /_sandbox endpoints. It never blocks: delays are timers, held requests are watched
 * for the client going away, and SIGTERM/SIGINT stop the loop for a clean exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <json-c/json.h>

#include "sandbox.h"

#define LOG_DEFAULT_LIMIT 100000
#define LOG_MAX_LIMIT 1000000

/* A target API under its own path prefix; every other path is Salesforce (sb_sf.c). */
struct sb_surface {
	const char *prefix;
	const char *target; /* the request log's "target" */
	void (*handle)(struct sb_call *);
	void (*classify)(struct sb_call *);
	void (*fault_body)(struct sb_call *, int status);
};

static const struct sb_surface surfaces[] = {
	{ "/graph/", "graph", graph_handle, graph_classify, graph_fault_body },
	{ "/google/", "google", google_handle, google_classify, google_fault_body },
	{ "/scim/", "scim", sb_scim_handle, sb_scim_classify, sb_scim_fault_body },
	{ "/okta/", "okta", sb_okta_handle, sb_okta_classify, sb_okta_fault_body },
	{ NULL, "salesforce", sf_handle, sf_classify, sf_fault_body }, /* the rest: keep last */
};

static void usage(FILE *f);
static const struct sb_surface *surface_of(struct sb_call *c);
static void call_classify(struct sb_call *c);
static void info(const struct sandbox *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *method_name(enum evhttp_cmd_type t);
static void on_request(struct evhttp_request *req, void *arg);
static void call_run(struct sb_call *c);
static void call_reply(struct sb_call *c, int log);
static void call_log(struct sb_call *c, int status);
static void call_free(struct sb_call *c);
static int pend_add(struct sb_call *c);
static void pend_unlink(struct sb_call *c);
static void on_conn_close(struct evhttp_connection *evcon, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);
static void on_watch(evutil_socket_t fd, short what, void *arg);
static void call_reset(struct sb_call *c);
static void on_signal(evutil_socket_t fd, short what, void *arg);
static void admin_handle(struct sb_call *c);
static void admin_error(struct sb_call *c, int status, const char *msg);
static void admin_seed(struct sb_call *c);
static void admin_faults(struct sb_call *c, const char *rest);
static void admin_user(struct sb_call *c, const char *key);
static void admin_log(struct sb_call *c);
static void admin_target_user(struct sb_call *c, const char *rest);
static int admin_reset(struct sandbox *sb);
static int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen);
static int load_seed(struct sandbox *sb, const char *path, char *err, size_t errlen);
static int write_port_file(const char *path, int port, char *err, size_t errlen);
static int parse_listen(const char *spec, char **host, int *port);
static int parse_num(const char *s, int64_t min, int64_t max, int64_t *out);

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: deprov-sandbox [--listen HOST:PORT] [--port-file FILE] [--seed FILE]\n"
	    "                      [--token TOKEN]... [--client-id ID] [--public-key PEM_FILE]\n"
	    "                      [--audience URL] [--token-ttl SECONDS]\n"
	    "                      [--api-limit N] [--query-page N] [--latency-ms N]\n"
	    "                      [--fault SPEC]... [--log-file FILE] [--quiet]\n"
	    "                      [--graph-client-secret SECRET] [--google-client-email EMAIL]\n"
	    "                      [--retry-after SECONDS]\n"
	    "                      [--okta-token TOKEN]... [--okta-rate-limit N] [--okta-rate-window S]\n");
}

/* The surface that owns the call's path (the last entry when no prefix matches). */
static const struct sb_surface *
surface_of(struct sb_call *c)
{
	size_t i;

	for (i = 0; surfaces[i].prefix != NULL; i++)
		if (strncmp(c->path, surfaces[i].prefix, strlen(surfaces[i].prefix)) == 0)
			break;
	c->target = surfaces[i].target;
	return &surfaces[i];
}

/* Set the call's log action and user from the request alone. */
static void
call_classify(struct sb_call *c)
{
	surface_of(c)->classify(c);
}

/* One JSON line on stderr unless --quiet. */
static void
info(const struct sandbox *sb, const char *fmt, ...)
{
	char msg[512];
	struct sb_buf b = { 0 };
	va_list ap;

	if (sb->quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sb_buf_printf(&b, "{\"ts_ms\":%" PRId64 ",\"level\":\"info\",\"prog\":\"deprov-sandbox\","
	    "\"msg\":", sb_now_ms());
	sb_buf_jstr(&b, msg);
	sb_buf_puts(&b, "}\n");
	if (!b.oom)
		fputs(b.p, stderr);
	sb_buf_free(&b);
}

static const char *
method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	}
	return "OTHER";
}

static void
call_free(struct sb_call *c)
{
	if (c == NULL)
		return;
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->watch != NULL)
		event_free(c->watch);
	sb_buf_free(&c->body);
	free(c->path);
	free(c->query);
	free(c->fbody);
	free(c);
}

static void
call_log(struct sb_call *c, int status)
{
	sblog_add(&c->sb->log, c->method, c->path, status, c->action, c->user, c->count, c->fault,
	    c->rule, c->target);
}

/* Send the call's answer (and log it when asked); the call is freed. */
static void
call_reply(struct sb_call *c, int log)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(c->req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);

	if (c->body.oom) {
		sb_buf_free(&c->body);
		sf_error(c, 500, "UNKNOWN_EXCEPTION", "answer too large or out of memory");
	}
	if (c->status == 0)
		c->status = 500;
	if (c->status != 204 && c->status != 304)
		evhttp_add_header(h, "Content-Type", c->ctype != NULL ? c->ctype :
		    "application/json;charset=UTF-8");
	if (c->limit_header) {
		char v[96];
		snprintf(v, sizeof v, "api-usage=%" PRId64 "/%" PRId64, c->sb->org.api_used,
		    c->sb->api_limit);
		evhttp_add_header(h, "Sforce-Limit-Info", v);
	}
	if (c->status == 204 || c->status == 304)
		sb_buf_free(&c->body);
	else if (sb_buf_to_evbuffer(&c->body, out) == -1)
		c->status = 500;
	/* libevent 2.1 has no phrase for 429 */
	evhttp_send_reply(c->req, c->status, c->status == 429 ? "Too Many Requests" : NULL, NULL);
	if (log)
		call_log(c, c->status);
	c->req = NULL; /* libevent owns it again */
	call_free(c);
}

/* Answer a call whose fault decision is made and whose delay (if any) is over. */
static void
call_run(struct sb_call *c)
{
	if (c->fmode == FAULT_RESET) {
		call_reset(c);
		return;
	}
	if (c->fmode == FAULT_STATUS) {
		char err[128];
		struct json_object *j = NULL;

		c->status = c->fstatus;
		c->limit_header = strncmp(c->path, "/services/data", 14) == 0;
		if (c->fbody != NULL) {
			j = sb_json_parse(c->fbody, strlen(c->fbody), err, sizeof err);
			c->ctype = j != NULL ? "application/json;charset=UTF-8" : "text/plain";
			json_object_put(j);
			fault_body_expand(c, c->fbody, &c->body);
		} else {
			surface_of(c)->fault_body(c, c->fstatus);
		}
		c->status = c->fstatus;
		call_reply(c, 1);
		return;
	}
	surface_of(c)->handle(c);
	call_reply(c, 1);
}

/* Track a call that waits (timer or hold); learn when its connection goes away. */
static int
pend_add(struct sb_call *c)
{
	struct sandbox *sb = c->sb;

	c->pprev = NULL;
	c->pnext = sb->pending;
	if (sb->pending != NULL)
		sb->pending->pprev = c;
	sb->pending = c;
	if (c->evcon != NULL)
		evhttp_connection_set_closecb(c->evcon, on_conn_close, c);
	return 0;
}

static void
pend_unlink(struct sb_call *c)
{
	struct sandbox *sb = c->sb;

	if (c->pprev != NULL)
		c->pprev->pnext = c->pnext;
	else if (sb->pending == c)
		sb->pending = c->pnext;
	if (c->pnext != NULL)
		c->pnext->pprev = c->pprev;
	c->pprev = c->pnext = NULL;
	if (c->evcon != NULL)
		evhttp_connection_set_closecb(c->evcon, NULL, NULL);
	if (c->timer != NULL) {
		event_free(c->timer);
		c->timer = NULL;
	}
	if (c->watch != NULL) {
		event_free(c->watch);
		c->watch = NULL;
	}
}

/* libevent is freeing the connection of a waiting call: drop the call without answering. */
static void
on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct sb_call *c = arg;

	pend_unlink(c);
	if (c->fmode != FAULT_TIMEOUT && c->fmode != FAULT_RESET) {
		/* the client went away before the delayed answer */
		if (c->fmode == FAULT_NONE)
			call_classify(c);
		call_log(c, 0);
	}
	/* a request libevent detached from the connection is ours to free */
	if (c->req != NULL && evhttp_request_get_connection(c->req) == NULL)
		evhttp_request_free(c->req);
	c->req = NULL;
	call_free(c);
}

/* The delay of a call is over. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sb_call *c = arg;

	pend_unlink(c);
	call_run(c);
}

/* A held ("timeout") call's socket is readable: on EOF or error the client gave up. */
static void
on_watch(evutil_socket_t fd, short what, void *arg)
{
	struct sb_call *c = arg;
	struct evhttp_connection *evcon = c->evcon;
	char ch;
	ssize_t n = recv(fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n > 0) {
		/* the client sent more (pipelining): stop watching, keep holding */
		event_free(c->watch);
		c->watch = NULL;
		return;
	}
	pend_unlink(c);
	c->req = NULL; /* freed with the connection */
	call_free(c);
	evhttp_connection_free(evcon);
}

/* Close the call's connection with an RST and no answer. */
static void
call_reset(struct sb_call *c)
{
	struct evhttp_connection *evcon = c->evcon;
	struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	pend_unlink(c);
	c->req = NULL; /* freed with the connection */
	call_free(c);
	if (evcon != NULL)
		evhttp_connection_free(evcon);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct sandbox *sb = arg;
	struct sb_call *c = calloc(1, sizeof *c);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	struct fault_hit hit;
	int64_t delay;

	if (c == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	c->sb = sb;
	c->req = req;
	c->evcon = evhttp_request_get_connection(req);
	c->method = method_name(evhttp_request_get_command(req));
	c->ctype = "application/json;charset=UTF-8";
	if (path == NULL || path[0] == '\0')
		path = "/";
	if ((c->path = sb_strdup(path)) == NULL || (query != NULL &&
	    (c->query = sb_strdup(query)) == NULL)) {
		call_free(c);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	if (strncmp(path, "/_sandbox", 9) == 0 && (path[9] == '\0' || path[9] == '/')) {
		admin_handle(c);
		call_reply(c, 0);
		return;
	}
	fault_match(&sb->faults, c->method, c->path, &hit);
	c->fault = hit.name;
	c->rule = hit.rule;
	c->fmode = hit.mode;
	c->fstatus = hit.status;
	if (hit.body != NULL && (c->fbody = sb_strdup(hit.body)) == NULL) {
		call_free(c);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	delay = hit.delay_ms + sb->latency_ms;
	if (c->fmode != FAULT_NONE)
		call_classify(c); /* a faulted request is logged with what it would have done */
	if (c->fmode == FAULT_TIMEOUT) {
		/* never answered: logged now, held until the client gives up */
		call_log(c, 0);
		struct bufferevent *bev = c->evcon != NULL ?
		    evhttp_connection_get_bufferevent(c->evcon) : NULL;
		evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
		if (fd >= 0 && (c->watch = event_new(sb->base, fd, EV_READ | EV_PERSIST, on_watch,
		    c)) != NULL && event_add(c->watch, NULL) == 0) {
			pend_add(c);
			return;
		}
		/* cannot watch the socket: fall back to a reset */
		if (c->watch != NULL) {
			event_free(c->watch);
			c->watch = NULL;
		}
		c->fmode = FAULT_RESET;
		delay = 0;
	}
	if (c->fmode == FAULT_RESET)
		call_log(c, 0);
	if (delay > 0 || c->fmode == FAULT_RESET) {
		/* a reset is done on the next loop turn, outside libevent's request callback */
		struct timeval tv = { (time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000) };
		if ((c->timer = evtimer_new(sb->base, on_timer, c)) == NULL ||
		    evtimer_add(c->timer, &tv) == -1) {
			if (c->fmode == FAULT_RESET) {
				call_reset(c);
				return;
			}
			call_run(c);
			return;
		}
		pend_add(c);
		return;
	}
	call_run(c);
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	struct sandbox *sb = arg;

	info(sb, "signal %d: stopping", (int)fd);
	event_base_loopbreak(sb->base);
}

static void
admin_error(struct sb_call *c, int status, const char *msg)
{
	c->status = status;
	c->body.len = 0;
	sb_buf_puts(&c->body, "{\"error\":");
	sb_buf_jstr(&c->body, msg);
	sb_buf_putc(&c->body, '}');
}

/* /_sandbox/... : test-only control and inspection endpoints (no auth, no log, no faults). */
static void
admin_handle(struct sb_call *c)
{
	struct sandbox *sb = c->sb;
	const char *rest = c->path + 9;
	int get = strcmp(c->method, "GET") == 0, post = strcmp(c->method, "POST") == 0;

	if (strcmp(rest, "/state") == 0 && get) {
		c->status = 200;
		org_state_json(&sb->org, &c->body);
	} else if (strncmp(rest, "/users/", 7) == 0 && rest[7] != '\0' && (get || post)) {
		admin_user(c, rest + 7);
	} else if (get && (strncmp(rest, "/okta/users/", 12) == 0 ||
	    strncmp(rest, "/graph/users/", 13) == 0 || strncmp(rest, "/google/users/", 14) == 0 ||
	    strncmp(rest, "/scim/", 6) == 0)) {
		admin_target_user(c, rest + 1);
	} else if (strcmp(rest, "/log") == 0 && get) {
		admin_log(c);
	} else if (strcmp(rest, "/seed") == 0 && post) {
		admin_seed(c);
	} else if (strcmp(rest, "/faults") == 0 || strncmp(rest, "/faults/", 8) == 0) {
		admin_faults(c, rest + 7);
	} else if (strcmp(rest, "/reset") == 0 && post) {
		if (admin_reset(sb) == -1) {
			admin_error(c, 500, "out of memory");
			return;
		}
		c->status = 200;
		sb_buf_puts(&c->body, "{\"reset\":true}");
	} else if (strcmp(rest, "/health") == 0 && get) {
		c->status = 200;
		sb_buf_printf(&c->body, "{\"ok\":true,\"port\":%d}", sb->port);
	} else {
		admin_error(c, 404, "no such sandbox endpoint");
	}
}

static void
admin_user(struct sb_call *c, const char *key)
{
	struct sb_org *org = &c->sb->org;
	char *k = sb_url_decode(key, strlen(key), 0);
	struct sb_user *u = NULL;

	if (k == NULL) {
		admin_error(c, 400, "bad user key");
		return;
	}
	if ((u = org_user_by_id(org, k)) == NULL && (u = org_user_by_username(org, k)) == NULL &&
	    (u = sb_map_get(&org->users_by_email, k)) == NULL)
		u = sb_map_get(&org->users_by_fedid, k);
	free(k);
	if (u == NULL) {
		admin_error(c, 404, "no such user");
		return;
	}
	if (strcmp(c->method, "POST") == 0) {
		/* test setup: mark a deactivation blocker, set IsActive/IsFrozen */
		struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
		size_t len = evbuffer_get_length(in);
		const char *p = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
		char err[400];
		struct json_object *obj = p != NULL ? sb_json_parse(p, len, err, sizeof err) : NULL;
		int rc;

		if (obj == NULL) {
			admin_error(c, 400, p != NULL ? err : "out of memory");
			return;
		}
		rc = org_user_admin(org, u, obj, err, sizeof err);
		json_object_put(obj);
		if (rc == -1) {
			admin_error(c, 400, err);
			return;
		}
	}
	c->status = 200;
	org_user_json(org, u, 1, &c->body);
}

/*
 * GET /_sandbox/{okta,graph,google}/users/{key}, /_sandbox/scim/{app}/users/{key}: one user of
 * another surface as its state section shows it (test read-back).
 */
static void
admin_target_user(struct sb_call *c, const char *rest)
{
	struct sb_org *org = &c->sb->org;
	struct sb_path p;
	int rc = -1;

	if (sb_path_split(rest, &p, 4) == -1) {
		admin_error(c, 404, "no such sandbox endpoint");
		return;
	}
	if (p.n == 3 && strcmp(p.seg[1], "users") == 0 && p.seg[2][0] != '\0') {
		if (strcmp(p.seg[0], "okta") == 0)
			rc = sb_okta_user_state_json(org, p.seg[2], &c->body);
		else if (strcmp(p.seg[0], "graph") == 0)
			rc = graph_user_state_json(org, p.seg[2], &c->body);
		else if (strcmp(p.seg[0], "google") == 0)
			rc = google_user_state_json(org, p.seg[2], &c->body);
	} else if (p.n == 4 && strcmp(p.seg[0], "scim") == 0 && strcmp(p.seg[2], "users") == 0 &&
	    p.seg[3][0] != '\0') {
		rc = sb_scim_user_state_json(org, p.seg[1], p.seg[3], &c->body);
	} else {
		sb_path_free(&p);
		admin_error(c, 404, "no such sandbox endpoint");
		return;
	}
	sb_path_free(&p);
	if (rc == -1) {
		admin_error(c, 404, "no such user");
		return;
	}
	c->status = 200;
}

static void
admin_log(struct sb_call *c)
{
	struct sb_form form;
	const char *s;
	int64_t since = 0, limit = LOG_DEFAULT_LIMIT;

	if (sb_form_parse(&form, c->query != NULL ? c->query : "",
	    c->query != NULL ? strlen(c->query) : 0) == -1) {
		admin_error(c, 400, "bad query string");
		return;
	}
	if (((s = sb_form_get(&form, "since")) != NULL && parse_num(s, 0, INT64_MAX, &since) == -1) ||
	    ((s = sb_form_get(&form, "limit")) != NULL &&
	    parse_num(s, 0, LOG_MAX_LIMIT, &limit) == -1)) {
		sb_form_free(&form);
		admin_error(c, 400, "since and limit must be numbers (limit at most 1000000)");
		return;
	}
	sb_form_free(&form);
	c->status = 200;
	sblog_json(&c->sb->log, (uint64_t)since, (size_t)limit, &c->body);
}

static void
admin_seed(struct sb_call *c)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	size_t len = evbuffer_get_length(in), nu, nr, nt;
	const char *p = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	char err[256];
	struct json_object *obj = p != NULL ? sb_json_parse(p, len, err, sizeof err) : NULL;
	int rc;

	if (obj == NULL) {
		admin_error(c, 400, p != NULL ? err : "out of memory");
		return;
	}
	rc = org_seed(&c->sb->org, obj, &nu, &nr, &nt, err, sizeof err);
	json_object_put(obj);
	if (rc == -1) {
		char msg[400];
		snprintf(msg, sizeof msg, "%s (added before the error: %zu users, %zu records, %zu "
		    "tokens)", err, nu, nr, nt);
		admin_error(c, 400, msg);
		return;
	}
	c->status = 200;
	sb_buf_printf(&c->body, "{\"users\":%zu,\"records\":%zu,\"tokens\":%zu}", nu, nr, nt);
}

/* /_sandbox/faults[/{id}]: POST add, GET list, DELETE clear (or one rule). */
static void
admin_faults(struct sb_call *c, const char *rest)
{
	struct sandbox *sb = c->sb;

	if (rest[0] == '/') {
		int64_t id;
		if (strcmp(c->method, "DELETE") != 0 || parse_num(rest + 1, 1, INT32_MAX, &id) == -1) {
			admin_error(c, 404, "no such sandbox endpoint");
			return;
		}
		if (fault_delete(&sb->faults, (int)id) == -1) {
			admin_error(c, 404, "no such rule");
			return;
		}
		c->status = 200;
		sb_buf_printf(&c->body, "{\"deleted\":%d}", (int)id);
		return;
	}
	if (strcmp(c->method, "GET") == 0) {
		c->status = 200;
		fault_list_json(&sb->faults, &c->body);
	} else if (strcmp(c->method, "DELETE") == 0) {
		fault_clear(&sb->faults);
		c->status = 200;
		sb_buf_puts(&c->body, "{\"rules\":[]}");
	} else if (strcmp(c->method, "POST") == 0) {
		struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
		size_t len = evbuffer_get_length(in), i, n;
		const char *p = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
		char err[256];
		struct json_object *obj = p != NULL ? sb_json_parse(p, len, err, sizeof err) : NULL;
		int isarr, id;

		if (obj == NULL) {
			admin_error(c, 400, p != NULL ? err : "out of memory");
			return;
		}
		isarr = json_object_is_type(obj, json_type_array);
		n = isarr ? json_object_array_length(obj) : 1;
		sb_buf_puts(&c->body, "{\"ids\":[");
		for (i = 0; i < n; i++) {
			if (fault_add_json(&sb->faults, isarr ? json_object_array_get_idx(obj, i) : obj,
			    &id, err, sizeof err) == -1) {
				json_object_put(obj);
				admin_error(c, 400, err);
				return;
			}
			sb_buf_printf(&c->body, "%s%d", i > 0 ? "," : "", id);
		}
		sb_buf_puts(&c->body, "]");
		if (!isarr)
			sb_buf_printf(&c->body, ",\"id\":%d", id);
		sb_buf_puts(&c->body, "}");
		json_object_put(obj);
		c->status = 200;
	} else {
		admin_error(c, 405, "use GET, POST or DELETE");
	}
}

/* Empty org, request log, fault rules and query cursors. */
static int
admin_reset(struct sandbox *sb)
{
	org_free(&sb->org);
	if (org_init(&sb->org) == -1)
		return -1;
	sblog_clear(&sb->log);
	fault_clear(&sb->faults);
	soql_cursors_clear(sb->cursors);
	return 0;
}

static int
read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct sb_buf b = { 0 };
	char chunk[65536];
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		sb_buf_put(&b, chunk, n);
	if (ferror(f) || b.oom) {
		snprintf(err, errlen, "%s: read failed", path);
		fclose(f);
		sb_buf_free(&b);
		return -1;
	}
	fclose(f);
	*out = b.p != NULL ? b.p : sb_strdup("");
	*len = b.len;
	return *out != NULL ? 0 : -1;
}

static int
load_seed(struct sandbox *sb, const char *path, char *err, size_t errlen)
{
	char *text = NULL, perr[256];
	size_t len, nu, nr, nt;
	struct json_object *obj;
	int rc;

	if (read_file(path, &text, &len, err, errlen) == -1)
		return -1;
	obj = sb_json_parse(text, len, perr, sizeof perr);
	free(text);
	if (obj == NULL) {
		snprintf(err, errlen, "%s: %s", path, perr);
		return -1;
	}
	rc = org_seed(&sb->org, obj, &nu, &nr, &nt, perr, sizeof perr);
	json_object_put(obj);
	if (rc == -1) {
		snprintf(err, errlen, "%s: %s", path, perr);
		return -1;
	}
	info(sb, "seeded %zu users, %zu records, %zu tokens from %s", nu, nr, nt, path);
	return 0;
}

/* Write the port to path through a temporary file and rename, so readers never see half. */
static int
write_port_file(const char *path, int port, char *err, size_t errlen)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL) {
		snprintf(err, errlen, "%.300s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fprintf(f, "%d\n", port) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		snprintf(err, errlen, "%.300s: %s", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* HOST:PORT, [V6]:PORT or PORT. */
static int
parse_listen(const char *spec, char **host, int *port)
{
	const char *colon = strrchr(spec, ':');
	int64_t p;

	if (colon == NULL) {
		*host = sb_strdup("127.0.0.1");
		colon = spec - 1;
	} else if (spec[0] == '[' && colon > spec && colon[-1] == ']') {
		*host = sb_strndup(spec + 1, (size_t)(colon - spec - 2));
	} else {
		*host = sb_strndup(spec, (size_t)(colon - spec));
	}
	if (*host == NULL || parse_num(colon + 1, 0, 65535, &p) == -1) {
		free(*host);
		*host = NULL;
		return -1;
	}
	*port = (int)p;
	return 0;
}

static int
parse_num(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "token", required_argument, NULL, 't' },
		{ "client-id", required_argument, NULL, 'c' },
		{ "public-key", required_argument, NULL, 'k' },
		{ "audience", required_argument, NULL, 'a' },
		{ "token-ttl", required_argument, NULL, 'T' },
		{ "api-limit", required_argument, NULL, 'A' },
		{ "query-page", required_argument, NULL, 'Q' },
		{ "latency-ms", required_argument, NULL, 'L' },
		{ "fault", required_argument, NULL, 'f' },
		{ "log-file", required_argument, NULL, 'g' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "graph-client-secret", required_argument, NULL, 'G' },
		{ "google-client-email", required_argument, NULL, 'E' },
		{ "retry-after", required_argument, NULL, 'R' },
		{ "okta-token", required_argument, NULL, 'K' },
		{ "okta-rate-limit", required_argument, NULL, 'N' },
		{ "okta-rate-window", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sandbox sb;
	const char *listen_spec = "127.0.0.1:0", *port_file = NULL, *seed = NULL, *pubkey = NULL;
	const char *log_file = NULL, *client_id = "deprov-test-client";
	const char *graph_secret = NULL, *google_email = "deprov@deprov-sandbox.iam.gserviceaccount.com";
	const char *audience = "https://login.salesforce.com";
	const char **tokens = NULL, **faults = NULL;
	size_t ntokens = 0, nfaults = 0, i;
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof ss;
	char err[512];
	int64_t n;
	int ch, rc = 1, org_ready = 0;

	memset(&sb, 0, sizeof sb);
	sb.token_ttl_s = 7200;
	sb.api_limit = 100000;
	sb.query_page = 2000;
	sb.log.fd = -1;
	fault_init(&sb.faults);
	sb_map_init(&sb.sessions, 0, 0);
	sb_map_init(&sb.issued, 0, 0);
	sb.retry_after_s = 1;
	if ((tokens = calloc((size_t)argc, sizeof *tokens)) == NULL ||
	    (faults = calloc((size_t)argc, sizeof *faults)) == NULL ||
	    (sb.okta_tokens = calloc((size_t)argc, sizeof *sb.okta_tokens)) == NULL) {
		fprintf(stderr, "deprov-sandbox: out of memory\n");
		goto done;
	}
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': listen_spec = optarg; break;
		case 'p': port_file = optarg; break;
		case 's': seed = optarg; break;
		case 't': tokens[ntokens++] = optarg; break;
		case 'c': client_id = optarg; break;
		case 'k': pubkey = optarg; break;
		case 'a': audience = optarg; break;
		case 'f': faults[nfaults++] = optarg; break;
		case 'g': log_file = optarg; break;
		case 'q': sb.quiet = 1; break;
		case 'G': graph_secret = optarg; break;
		case 'E': google_email = optarg; break;
		case 'K': sb.okta_tokens[sb.nokta_tokens++] = optarg; break;
		case 'N':
		case 'W':
			if (parse_num(optarg, ch == 'W' ? 1 : 0, ch == 'W' ? 86400 : 100000000,
			    &n) == -1) {
				fprintf(stderr, "deprov-sandbox: bad --okta-rate-%s '%s'\n",
				    ch == 'W' ? "window" : "limit", optarg);
				goto done;
			}
			if (ch == 'N')
				sb.okta_rate_limit = n;
			else
				sb.okta_rate_window_s = n;
			break;
		case 'R':
			if (parse_num(optarg, 0, 86400, &n) == -1) {
				fprintf(stderr, "deprov-sandbox: bad --retry-after '%s'\n", optarg);
				goto done;
			}
			sb.retry_after_s = n;
			break;
		case 'T':
		case 'A':
		case 'Q':
		case 'L':
			if (parse_num(optarg, ch == 'Q' ? 1 : 0, ch == 'L' ? 3600000 : INT64_MAX / 1000,
			    &n) == -1) {
				fprintf(stderr, "deprov-sandbox: bad number '%s'\n", optarg);
				goto done;
			}
			if (ch == 'T')
				sb.token_ttl_s = n;
			else if (ch == 'A')
				sb.api_limit = n;
			else if (ch == 'Q')
				sb.query_page = (size_t)n;
			else
				sb.latency_ms = n;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto done;
		default:
			usage(stderr);
			rc = 2;
			goto done;
		}
	}
	if (optind != argc) {
		usage(stderr);
		rc = 2;
		goto done;
	}
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		fprintf(stderr, "deprov-sandbox: cannot ignore SIGPIPE\n");
		goto done;
	}
	if ((sb.client_id = sb_strdup(client_id)) == NULL ||
	    (graph_secret != NULL && (sb.graph_client_secret = sb_strdup(graph_secret)) == NULL) ||
	    (sb.google_client_email = sb_strdup(google_email)) == NULL ||
	    (sb.audience = sb_strdup(audience)) == NULL ||
	    (sb.cursors = soql_cursors_new()) == NULL || org_init(&sb.org) == -1) {
		fprintf(stderr, "deprov-sandbox: out of memory\n");
		goto done;
	}
	org_ready = 1;
	if (sblog_init(&sb.log, SB_LOG_CAP, log_file, err, sizeof err) == -1) {
		fprintf(stderr, "deprov-sandbox: --log-file %s\n", err);
		goto done;
	}
	for (i = 0; i < ntokens; i++) {
		if (sf_add_static_token(&sb, tokens[i]) == -1) {
			fprintf(stderr, "deprov-sandbox: out of memory\n");
			goto done;
		}
	}
	for (i = 0; i < nfaults; i++) {
		if (fault_add_spec(&sb.faults, faults[i], err, sizeof err) == -1) {
			fprintf(stderr, "deprov-sandbox: --fault %s: %s\n", faults[i], err);
			goto done;
		}
	}
	if (pubkey != NULL && sf_load_public_key(&sb, pubkey, err, sizeof err) == -1) {
		fprintf(stderr, "deprov-sandbox: --public-key %s\n", err);
		goto done;
	}
	if (seed != NULL && load_seed(&sb, seed, err, sizeof err) == -1) {
		fprintf(stderr, "deprov-sandbox: --seed %s\n", err);
		goto done;
	}
	if (parse_listen(listen_spec, &sb.listen_host, &sb.port) == -1) {
		fprintf(stderr, "deprov-sandbox: bad --listen '%s'\n", listen_spec);
		goto done;
	}
	if ((sb.base = event_base_new()) == NULL || (sb.http = evhttp_new(sb.base)) == NULL) {
		fprintf(stderr, "deprov-sandbox: cannot create the event loop\n");
		goto done;
	}
	evhttp_set_allowed_methods(sb.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_max_body_size(sb.http, SB_MAX_BODY);
	evhttp_set_max_headers_size(sb.http, 64 * 1024);
	evhttp_set_timeout(sb.http, 300);
	evhttp_set_gencb(sb.http, on_request, &sb);
	bound = evhttp_bind_socket_with_handle(sb.http, sb.listen_host, (ev_uint16_t)sb.port);
	if (bound == NULL) {
		fprintf(stderr, "deprov-sandbox: cannot listen on %s\n", listen_spec);
		goto done;
	}
	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &sslen) == -1) {
		fprintf(stderr, "deprov-sandbox: getsockname: %s\n", strerror(errno));
		goto done;
	}
	sb.port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
	    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if ((sb.sigterm = evsignal_new(sb.base, SIGTERM, on_signal, &sb)) == NULL ||
	    (sb.sigint = evsignal_new(sb.base, SIGINT, on_signal, &sb)) == NULL ||
	    evsignal_add(sb.sigterm, NULL) == -1 || evsignal_add(sb.sigint, NULL) == -1) {
		fprintf(stderr, "deprov-sandbox: cannot set up signals\n");
		goto done;
	}
	if (port_file != NULL && write_port_file(port_file, sb.port, err, sizeof err) == -1) {
		fprintf(stderr, "deprov-sandbox: --port-file %s\n", err);
		goto done;
	}
	info(&sb, "listening on %s port %d", sb.listen_host, sb.port);
	if (event_base_dispatch(sb.base) == -1) {
		fprintf(stderr, "deprov-sandbox: event loop failed\n");
		goto done;
	}
	rc = 0;
done:
	/* tear down in reverse: waiting calls, the server (frees its connections), the rest */
	while (sb.pending != NULL) {
		struct sb_call *c = sb.pending;
		pend_unlink(c);
		c->req = NULL; /* freed with its connection by evhttp_free */
		call_free(c);
	}
	if (sb.http != NULL)
		evhttp_free(sb.http);
	if (sb.sigterm != NULL)
		event_free(sb.sigterm);
	if (sb.sigint != NULL)
		event_free(sb.sigint);
	if (sb.base != NULL)
		event_base_free(sb.base);
	soql_cursors_free(sb.cursors);
	if (org_ready)
		org_free(&sb.org);
	sblog_free(&sb.log);
	fault_clear(&sb.faults);
	sf_sessions_free(&sb);
	issued_free_all(&sb);
	free(sb.graph_client_secret);
	free(sb.google_client_email);
	EVP_PKEY_free(sb.pubkey);
	free(sb.client_id);
	free(sb.audience);
	free(sb.listen_host);
	free(tokens);
	free(faults);
	free(sb.okta_tokens);
	libevent_global_shutdown();
	return rc;
}
