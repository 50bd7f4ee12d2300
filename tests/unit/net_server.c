/*
 * net_server: scripted evhttp server for the network unit tests. Echo mode
 * (step body NULL) answers with the request body and X-Method, X-Uri,
 * X-Got-Test, X-Got-Content-Type and X-Got-Expect headers describing what
 * arrived. Delayed answers wait on an evtimer; a drop frees the connection
 * from a timer (never from inside evhttp's own callback).
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "deprov/clock.h"
#include "net_server.h"

#define NET_MAX_SCRIPT	256
#define NET_MAX_RECORDS	8192

struct net_record {
	uint64_t	 at;
	char		*method;
	char		*uri;
	char		*auth;
};

struct net_pending {
	struct net_server		*srv;
	struct evhttp_request		*req;
	struct net_step			 step;
	struct event			*timer;
	TAILQ_ENTRY(net_pending)	 entry;
};

struct net_server {
	struct event_base		*base;
	struct evhttp			*http;
	int				 port;
	struct net_step			 script[NET_MAX_SCRIPT];
	size_t				 nscript;
	size_t				 next;
	struct net_step			 dflt;
	struct net_record		 rec[NET_MAX_RECORDS];
	size_t				 nrec;
	size_t				 current;
	size_t				 max_current;
	TAILQ_HEAD(, net_pending)	 pending;
};

static const char *
net_method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:		return "GET";
	case EVHTTP_REQ_POST:		return "POST";
	case EVHTTP_REQ_HEAD:		return "HEAD";
	case EVHTTP_REQ_PUT:		return "PUT";
	case EVHTTP_REQ_DELETE:		return "DELETE";
	case EVHTTP_REQ_OPTIONS:	return "OPTIONS";
	case EVHTTP_REQ_TRACE:		return "TRACE";
	case EVHTTP_REQ_CONNECT:	return "CONNECT";
	case EVHTTP_REQ_PATCH:		return "PATCH";
	}
	return "?";
}

static char *
net_strdup(const char *s)
{
	return strdup(s != NULL ? s : "");
}

/* Send the answer of step to req (or drop its connection). */
static void
net_answer(struct net_server *srv, struct evhttp_request *req,
    const struct net_step *step)
{
	struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	struct evhttp_connection *conn;
	struct evbuffer		*buf;
	const char		*v, *p, *nl, *colon;
	char			 name[128], value[512];
	size_t			 nlen, vlen;

	srv->current--;
	if (step->status == 0) {
		conn = evhttp_request_get_connection(req);
		if (conn != NULL)
			evhttp_connection_free(conn);
		else
			evhttp_send_reply(req, 500, "Gone", NULL);	/* frees it */
		return;
	}
	buf = evbuffer_new();
	if (step->body != NULL)
		evbuffer_add(buf, step->body, strlen(step->body));
	else {
		evbuffer_add_buffer(buf, evhttp_request_get_input_buffer(req));
		evhttp_add_header(out, "X-Method",
		    net_method_name(evhttp_request_get_command(req)));
		evhttp_add_header(out, "X-Uri", evhttp_request_get_uri(req));
		v = evhttp_find_header(in, "X-Test");
		evhttp_add_header(out, "X-Got-Test", v != NULL ? v : "none");
		v = evhttp_find_header(in, "Content-Type");
		evhttp_add_header(out, "X-Got-Content-Type", v != NULL ? v :
		    "none");
		v = evhttp_find_header(in, "Expect");
		evhttp_add_header(out, "X-Got-Expect", v != NULL ? v : "none");
	}
	for (p = step->headers; p != NULL && *p != '\0'; p = nl) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		colon = memchr(p, ':', (size_t)(nl - p));
		if (colon != NULL) {
			nlen = (size_t)(colon - p);
			if (nlen >= sizeof name)
				nlen = sizeof name - 1;
			memcpy(name, p, nlen);
			name[nlen] = '\0';
			colon++;
			while (*colon == ' ')
				colon++;
			vlen = (size_t)(nl - colon);
			if (vlen >= sizeof value)
				vlen = sizeof value - 1;
			memcpy(value, colon, vlen);
			value[vlen] = '\0';
			evhttp_add_header(out, name, value);
		}
		if (*nl == '\n')
			nl++;
	}
	evhttp_send_reply(req, step->status, NULL, buf);
	evbuffer_free(buf);
}

static void
net_pending_free(struct net_pending *pd)
{
	TAILQ_REMOVE(&pd->srv->pending, pd, entry);
	event_free(pd->timer);
	free(pd);
}

static void
net_pending_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_pending	*pd = arg;
	struct net_server	*srv = pd->srv;
	struct evhttp_request	*req = pd->req;
	struct net_step		 step = pd->step;

	net_pending_free(pd);
	net_answer(srv, req, &step);
}

static void
net_request_cb(struct evhttp_request *req, void *arg)
{
	struct net_server	*srv = arg;
	struct net_record	*r;
	struct net_pending	*pd;
	struct net_step		 step;
	struct timeval		 tv;
	const char		*auth;

	if (srv->nrec < NET_MAX_RECORDS) {
		r = &srv->rec[srv->nrec++];
		r->at = clock_mono_ms();
		r->method = net_strdup(net_method_name(
		    evhttp_request_get_command(req)));
		r->uri = net_strdup(evhttp_request_get_uri(req));
		auth = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Authorization");
		r->auth = net_strdup(auth);
	}
	if (srv->next < srv->nscript)
		step = srv->script[srv->next++];
	else
		step = srv->dflt;
	srv->current++;
	if (srv->current > srv->max_current)
		srv->max_current = srv->current;

	/* Answers (and drops) always go through a timer, even with no delay. */
	pd = calloc(1, sizeof *pd);
	if (pd == NULL) {
		net_answer(srv, req, &step);
		return;
	}
	pd->srv = srv;
	pd->req = req;
	pd->step = step;
	pd->timer = evtimer_new(srv->base, net_pending_cb, pd);
	tv.tv_sec = step.delay_ms / 1000;
	tv.tv_usec = (step.delay_ms % 1000) * 1000;
	TAILQ_INSERT_TAIL(&srv->pending, pd, entry);
	evtimer_add(pd->timer, &tv);
}

struct net_server *
net_server_new(struct event_base *base)
{
	struct net_server		*srv;
	struct evhttp_bound_socket	*bs;
	struct sockaddr_storage		 ss;
	ev_socklen_t			 len = sizeof ss;

	srv = calloc(1, sizeof *srv);
	if (srv == NULL)
		return NULL;
	srv->base = base;
	TAILQ_INIT(&srv->pending);
	srv->dflt.status = 200;
	srv->dflt.body = NULL;	/* echo */
	srv->http = evhttp_new(base);
	if (srv->http == NULL)
		goto fail;
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(srv->http, net_request_cb, srv);
	bs = evhttp_bind_socket_with_handle(srv->http, "127.0.0.1", 0);
	if (bs == NULL)
		goto fail;
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
	    &len) != 0)
		goto fail;
	srv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return srv;
fail:
	if (srv->http != NULL)
		evhttp_free(srv->http);
	free(srv);
	return NULL;
}

void
net_server_free(struct net_server *srv)
{
	struct net_pending	*pd;
	struct evhttp_request	*req;
	size_t			 i;

	if (srv == NULL)
		return;
	/* Answer what is still held, so that evhttp frees every request. */
	while ((pd = TAILQ_FIRST(&srv->pending)) != NULL) {
		req = pd->req;
		net_pending_free(pd);
		srv->current--;
		evhttp_send_reply(req, 503, "Shutting down", NULL);
	}
	evhttp_free(srv->http);
	for (i = 0; i < srv->nrec; i++) {
		free(srv->rec[i].method);
		free(srv->rec[i].uri);
		free(srv->rec[i].auth);
	}
	free(srv);
}

int
net_server_port(const struct net_server *srv)
{
	return srv->port;
}

const char *
net_server_url(const struct net_server *srv, const char *path)
{
	static char buf[512];

	snprintf(buf, sizeof buf, "http://127.0.0.1:%d%s", srv->port, path);
	return buf;
}

void
net_server_script(struct net_server *srv, const struct net_step *steps,
    size_t n)
{
	if (n > NET_MAX_SCRIPT)
		n = NET_MAX_SCRIPT;
	memcpy(srv->script, steps, n * sizeof *steps);
	srv->nscript = n;
	srv->next = 0;
}

void
net_server_default(struct net_server *srv, const struct net_step *step)
{
	srv->dflt = *step;
}

size_t
net_server_hits(const struct net_server *srv)
{
	return srv->nrec;
}

uint64_t
net_server_arrival(const struct net_server *srv, size_t i)
{
	return i < srv->nrec ? srv->rec[i].at : 0;
}

const char *
net_server_uri(const struct net_server *srv, size_t i)
{
	return i < srv->nrec ? srv->rec[i].uri : NULL;
}

const char *
net_server_method(const struct net_server *srv, size_t i)
{
	return i < srv->nrec ? srv->rec[i].method : NULL;
}

const char *
net_server_auth(const struct net_server *srv, size_t i)
{
	return i < srv->nrec ? srv->rec[i].auth : NULL;
}

size_t
net_server_max_concurrent(const struct net_server *srv)
{
	return srv->max_current;
}

size_t
net_server_pending(const struct net_server *srv)
{
	return srv->current;
}
