/*
 * http: asynchronous HTTP client on libcurl's multi_socket API, driven by
 * the daemon's libevent loop (curl's hiperfifo/multi-event pattern). curl
 * tells us through the socket callback which sockets to watch (one struct
 * event per socket, kept with curl_multi_assign) and through the timer
 * callback when to call it back (one evtimer; the callback only arms it).
 * Socket events and the timer call curl_multi_socket_action; after each call
 * finished transfers are drained from curl_multi_info_read, their result and
 * request are read, the easy handle is removed from the multi handle and
 * only then is the request's callback called. Callbacks therefore never run
 * inside curl, may start new requests, cancel others or free the client.
 * Connections are reused through the multi handle's connection cache, and
 * easy handles through a small pool (curl_easy_reset keeps a handle's
 * buffers, so a request costs no handle set-up and no large allocations).
 */
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "deprov/http.h"
#include "deprov/log.h"

#define HTTP_DEFAULT_MAX_BODY	(8u * 1024 * 1024)
#define HTTP_DEFAULT_TIMEOUT_MS	30000L
#define HTTP_DEFAULT_CONNECT_MS	10000L
#define HTTP_MAX_HEADERS	128
#define HTTP_USER_AGENT		"deprov/0.1"
#define HTTP_POOL_MAX		512	/* idle easy handles kept for reuse */
#define HTTP_SOCK_SPARE		256	/* socket records kept for reuse */

/* One socket curl asked us to watch. */
struct http_sock {
	struct http		*h;
	curl_socket_t		 fd;
	struct event		*ev;
	LIST_ENTRY(http_sock)	 entry;
};

struct http_request {
	struct http		*h;		/* set when started */
	CURL			*easy;
	char			*method;
	char			*url;
	struct curl_slist	*req_headers;
	char			*req_body;
	size_t			 req_body_len;
	int			 has_body;
	long			 timeout_ms;
	long			 connect_ms;
	char			*cainfo;	/* CA certificates to trust, or NULL */
	http_sink		 sink;		/* a 2xx body goes here, or NULL */
	void			*sink_arg;
	http_cb			 cb;
	void			*arg;
	int			 finishing;	/* its callback is running */
	char			 errbuf[CURL_ERROR_SIZE];

	/* Response being received. */
	char			*body;
	size_t			 body_len;
	size_t			 body_cap;
	int			 body_truncated;
	struct http_header	*headers;
	size_t			 nheaders;
	size_t			 headers_cap;

	TAILQ_ENTRY(http_request) entry;
};

struct http {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	size_t			 max_body;
	size_t			 inflight;
	int			 busy;		/* inside a loop callback */
	int			 dying;		/* http_free was called while busy */
	TAILQ_HEAD(, http_request) requests;
	LIST_HEAD(, http_sock)	 socks;
	/*
	 * curl stops watching a connection's socket after every transfer and
	 * watches it again for the next one: the records (and their events)
	 * are kept for that instead of being freed and made again.
	 */
	LIST_HEAD(, http_sock)	 spare;
	size_t			 nspare;
	CURL			*pool[HTTP_POOL_MAX];
	size_t			 npool;
	http_gate_fn		 gate;		/* may a request start? */
	void			*gate_arg;
};

static int	http_socket_cb(CURL *, curl_socket_t, int, void *, void *);
static int	http_timer_cb(CURLM *, long, void *);
static void	http_event_cb(evutil_socket_t, short, void *);
static void	http_timeout_cb(evutil_socket_t, short, void *);
static void	http_check_done(struct http *);
static void	http_finish(struct http *, struct http_request *, CURLcode);
static void	http_destroy(struct http *);
static void	http_sock_free(struct http_sock *);
static void	http_response_reset(struct http_request *);
static size_t	http_write_cb(char *, size_t, size_t, void *);
static size_t	http_header_cb(char *, size_t, size_t, void *);

struct http *
http_new(struct event_base *base)
{
	struct http *h = NULL;

	if (base == NULL)
		return NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	h = calloc(1, sizeof *h);
	if (h == NULL)
		goto fail;
	h->base = base;
	h->max_body = HTTP_DEFAULT_MAX_BODY;
	TAILQ_INIT(&h->requests);
	LIST_INIT(&h->socks);
	LIST_INIT(&h->spare);
	h->timer = evtimer_new(base, http_timeout_cb, h);
	if (h->timer == NULL)
		goto fail;
	h->multi = curl_multi_init();
	if (h->multi == NULL)
		goto fail;
	if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION,
	    http_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION,
	    http_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK)
		goto fail;
	/*
	 * No per-host connection cap here: each target caps its own calls in
	 * flight (limits.concurrency), and a second cap would only make
	 * requests queue inside curl where their timeouts keep running.
	 */
	return h;
fail:
	if (h != NULL) {
		if (h->multi != NULL)
			curl_multi_cleanup(h->multi);
		if (h->timer != NULL)
			event_free(h->timer);
		free(h);
	}
	curl_global_cleanup();
	return NULL;
}

/* Give a request's easy handle (removed from the multi handle) to the pool. */
static void
http_pool_put(struct http *h, struct http_request *req)
{
	if (req->easy == NULL || h->npool == HTTP_POOL_MAX)
		return;		/* http_request_free cleans it up */
	h->pool[h->npool++] = req->easy;
	req->easy = NULL;
}

/* Remove one request from curl and free it, without calling back. */
static void
http_request_drop(struct http *h, struct http_request *req)
{
	TAILQ_REMOVE(&h->requests, req, entry);
	h->inflight--;
	curl_multi_remove_handle(h->multi, req->easy);
	http_pool_put(h, req);
	http_request_free(req);
}

void
http_free(struct http *h)
{
	struct http_request *req;

	if (h == NULL || h->dying)
		return;
	while ((req = TAILQ_FIRST(&h->requests)) != NULL)
		http_request_drop(h, req);
	if (h->busy) {
		/* Called from a request's callback: finish when it returns. */
		h->dying = 1;
		event_del(h->timer);
		return;
	}
	http_destroy(h);
}

/* Release everything; no request is left. */
static void
http_destroy(struct http *h)
{
	struct http_sock *s;

	while (h->npool > 0)
		curl_easy_cleanup(h->pool[--h->npool]);
	curl_multi_cleanup(h->multi);
	/* Sockets curl closed without telling us (cached connections). */
	while ((s = LIST_FIRST(&h->socks)) != NULL)
		http_sock_free(s);
	while ((s = LIST_FIRST(&h->spare)) != NULL)
		http_sock_free(s);
	event_free(h->timer);
	free(h);
	curl_global_cleanup();
}

size_t
http_inflight(const struct http *h)
{
	return h == NULL ? 0 : h->inflight;
}

void
http_set_max_body(struct http *h, size_t bytes)
{
	if (h != NULL)
		h->max_body = bytes;
}

struct http_request *
http_request_new(const char *method, const char *url)
{
	struct http_request *req = NULL;

	if (method == NULL || url == NULL || *method == '\0' || *url == '\0')
		return NULL;
	req = calloc(1, sizeof *req);
	if (req == NULL)
		return NULL;
	req->method = strdup(method);
	req->url = strdup(url);
	if (req->method == NULL || req->url == NULL)
		goto fail;
	return req;
fail:
	http_request_free(req);
	return NULL;
}

void
http_request_free(struct http_request *req)
{
	size_t i;

	if (req == NULL)
		return;
	if (req->easy != NULL)
		curl_easy_cleanup(req->easy);
	curl_slist_free_all(req->req_headers);
	free(req->method);
	free(req->url);
	free(req->cainfo);
	free(req->req_body);
	free(req->body);
	for (i = 0; i < req->nheaders; i++) {
		free(req->headers[i].name);
		free(req->headers[i].value);
	}
	free(req->headers);
	free(req);
}

int
http_request_header(struct http_request *req, const char *name,
    const char *value)
{
	struct curl_slist	*l;
	char			*line = NULL;

	if (req == NULL || name == NULL || value == NULL ||
	    strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
		return -1;
	/* "Name:" alone would remove a curl default; "Name;" sends it empty. */
	if (asprintf(&line, *value == '\0' ? "%s;" : "%s: %s", name,
	    value) < 0)
		return -1;
	l = curl_slist_append(req->req_headers, line);
	free(line);
	if (l == NULL)
		return -1;
	req->req_headers = l;
	return 0;
}

int
http_request_body(struct http_request *req, const char *body, size_t len)
{
	char *copy;

	if (req == NULL || (body == NULL && len > 0))
		return -1;
	copy = malloc(len + 1);
	if (copy == NULL)
		return -1;
	if (len > 0)
		memcpy(copy, body, len);
	copy[len] = '\0';
	free(req->req_body);
	req->req_body = copy;
	req->req_body_len = len;
	req->has_body = 1;
	return 0;
}

void
http_request_timeout(struct http_request *req, long total_ms, long connect_ms)
{
	if (req == NULL)
		return;
	req->timeout_ms = total_ms;
	req->connect_ms = connect_ms;
}

int
http_request_cainfo(struct http_request *req, const char *file)
{
	char *copy = NULL;

	if (file != NULL && (copy = strdup(file)) == NULL)
		return -1;
	free(req->cainfo);
	req->cainfo = copy;
	return 0;
}

/* Set up the easy handle for req: a pooled one, reset, or a new one. */
static int
http_request_setup(struct http *h, struct http_request *req)
{
	struct curl_slist	*l;
	CURL			*e;
	long			 timeout, connect;
	int			 bad = 0;

	/* Never wait for "100 Continue": targets do not need it. */
	l = curl_slist_append(req->req_headers, "Expect:");
	if (l == NULL)
		return -1;
	req->req_headers = l;

	if (h->npool > 0) {
		e = req->easy = h->pool[--h->npool];
		curl_easy_reset(e);
	} else
		e = req->easy = curl_easy_init();
	if (e == NULL)
		return -1;
	timeout = req->timeout_ms > 0 ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
	connect = req->connect_ms > 0 ? req->connect_ms : HTTP_DEFAULT_CONNECT_MS;
	if (connect > timeout)
		connect = timeout;

	bad |= curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, req) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_VERBOSE, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, HTTP_USER_AGENT) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->req_headers) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, req) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_cb) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, req) != CURLE_OK;
	/* Verification stays on: this only says whom to trust. */
	if (req->cainfo != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO, req->cainfo) !=
		    CURLE_OK;

	if (strcmp(req->method, "GET") == 0 && !req->has_body)
		bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
	else if (strcmp(req->method, "HEAD") == 0)
		bad |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L) != CURLE_OK;
	else {
		if (strcmp(req->method, "POST") == 0 || req->has_body) {
			/* The body stays with req until the transfer is done. */
			bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)req->req_body_len) != CURLE_OK;
			bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS,
			    req->has_body ? req->req_body : "") != CURLE_OK;
		}
		if (strcmp(req->method, "POST") != 0)
			bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
			    req->method) != CURLE_OK;
	}
	return bad ? -1 : 0;
}

int
http_request_start(struct http *h, struct http_request *req, http_cb cb,
    void *arg)
{
	CURLMcode mc;

	if (req == NULL)
		return -1;
	if (h == NULL || h->dying || cb == NULL || req->h != NULL)
		goto fail;
	if (h->gate != NULL && !h->gate(h->gate_arg))
		goto fail;
	if (http_request_setup(h, req) == -1)
		goto fail;
	req->h = h;
	req->cb = cb;
	req->arg = arg;
	/* curl answers with a 0 ms timer: the transfer starts from the loop. */
	mc = curl_multi_add_handle(h->multi, req->easy);
	if (mc != CURLM_OK) {
		log_warn("http", "curl_multi_add_handle: %s",
		    curl_multi_strerror(mc));
		goto fail;
	}
	TAILQ_INSERT_TAIL(&h->requests, req, entry);
	h->inflight++;
	return 0;
fail:
	http_request_free(req);
	return -1;
}

void
http_set_gate(struct http *h, http_gate_fn gate, void *arg)
{
	h->gate = gate;
	h->gate_arg = arg;
}

void
http_request_cancel(struct http *h, struct http_request *req)
{
	if (h == NULL || req == NULL || req->h != h || req->finishing)
		return;
	http_request_drop(h, req);
}

void
http_request_sink(struct http_request *req, http_sink sink, void *arg)
{
	req->sink = sink;
	req->sink_arg = arg;
}

/* Growable, capped body buffer (or the caller's sink). */
static size_t
http_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_request	*req = userdata;
	size_t			 n = size * nmemb, room, take, cap;
	char			*nb;
	long			 code = 0;

	if (req->sink != NULL && curl_easy_getinfo(req->easy,
	    CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code >= 200 &&
	    code <= 299)
		return req->sink(ptr, n, req->sink_arg) == 0 ? n : 0;
	if (req->body_len >= req->h->max_body) {
		/* Keep reading (the connection stays reusable), keep nothing. */
		if (n > 0)
			req->body_truncated = 1;
		return n;
	}
	room = req->h->max_body - req->body_len;
	take = n < room ? n : room;
	if (req->body_len + take + 1 > req->body_cap) {
		cap = req->body_cap ? req->body_cap : 4096;
		while (cap < req->body_len + take + 1)
			cap *= 2;
		if (cap > req->h->max_body + 1)
			cap = req->h->max_body + 1;
		nb = realloc(req->body, cap);
		if (nb == NULL)
			return 0;	/* aborts the transfer: CURLE_WRITE_ERROR */
		req->body = nb;
		req->body_cap = cap;
	}
	memcpy(req->body + req->body_len, ptr, take);
	req->body_len += take;
	req->body[req->body_len] = '\0';
	if (take < n)
		req->body_truncated = 1;
	return n;
}

/* Forget headers and body of an interim response (1xx, redirect). */
static void
http_response_reset(struct http_request *req)
{
	size_t i;

	for (i = 0; i < req->nheaders; i++) {
		free(req->headers[i].name);
		free(req->headers[i].value);
	}
	req->nheaders = 0;
	req->body_len = 0;
	req->body_truncated = 0;
	if (req->body != NULL)
		req->body[0] = '\0';
}

/* Collect "Name: value" lines of the final response. */
static size_t
http_header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct http_request	*req = userdata;
	struct http_header	*nh;
	size_t			 n = size * nitems, len = n, nlen;
	const char		*colon, *v, *end;

	while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == '\n'))
		len--;
	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		http_response_reset(req);
		return n;
	}
	if (len == 0 || buf[0] == ' ' || buf[0] == '\t')
		return n;	/* end of headers, or obsolete folding */
	colon = memchr(buf, ':', len);
	if (colon == NULL || colon == buf || req->nheaders >= HTTP_MAX_HEADERS)
		return n;
	nlen = (size_t)(colon - buf);
	v = colon + 1;
	end = buf + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (req->nheaders == req->headers_cap) {
		nh = reallocarray(req->headers, req->headers_cap ?
		    req->headers_cap * 2 : 16, sizeof *nh);
		if (nh == NULL)
			return 0;
		req->headers = nh;
		req->headers_cap = req->headers_cap ? req->headers_cap * 2 : 16;
	}
	nh = &req->headers[req->nheaders];
	nh->name = strndup(buf, nlen);
	nh->value = strndup(v, (size_t)(end - v));
	if (nh->name == NULL || nh->value == NULL) {
		free(nh->name);
		free(nh->value);
		return 0;
	}
	req->nheaders++;
	return n;
}

static void
http_sock_free(struct http_sock *s)
{
	LIST_REMOVE(s, entry);
	event_free(s->ev);
	free(s);
}

/* curl: watch fd for `what`, or stop watching it. Never calls curl. */
static int
http_socket_cb(CURL *e, curl_socket_t fd, int what, void *userp,
    void *socketp)
{
	struct http		*h = userp;
	struct http_sock	*s = socketp;
	short			 kind;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			curl_multi_assign(h->multi, fd, NULL);
			if (h->nspare >= HTTP_SOCK_SPARE) {
				http_sock_free(s);
				return 0;
			}
			event_del(s->ev);
			LIST_REMOVE(s, entry);
			LIST_INSERT_HEAD(&h->spare, s, entry);
			h->nspare++;
		}
		return 0;
	}
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (s == NULL && (s = LIST_FIRST(&h->spare)) != NULL) {
		LIST_REMOVE(s, entry);
		h->nspare--;
		s->fd = fd;
		if (event_assign(s->ev, h->base, fd, kind, http_event_cb,
		    s) == -1) {
			event_free(s->ev);
			free(s);
			return -1;
		}
		LIST_INSERT_HEAD(&h->socks, s, entry);
		curl_multi_assign(h->multi, fd, s);
	} else if (s == NULL) {
		s = calloc(1, sizeof *s);
		if (s == NULL)
			return -1;
		s->h = h;
		s->fd = fd;
		s->ev = event_new(h->base, fd, kind, http_event_cb, s);
		if (s->ev == NULL) {
			free(s);
			return -1;
		}
		LIST_INSERT_HEAD(&h->socks, s, entry);
		curl_multi_assign(h->multi, fd, s);
	} else {
		event_del(s->ev);
		if (event_assign(s->ev, h->base, fd, kind, http_event_cb,
		    s) == -1)
			return -1;
	}
	if (event_add(s->ev, NULL) == -1)
		return -1;
	(void)e;
	return 0;
}

/* curl: call me back in timeout_ms (-1: never). Never calls curl. */
static int
http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http	*h = userp;
	struct timeval	 tv;

	if (timeout_ms < 0) {
		evtimer_del(h->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	(void)multi;
	return evtimer_add(h->timer, &tv);
}

/* Run curl for one socket or the timeout, then hand out finished transfers. */
static void
http_drive(struct http *h, curl_socket_t fd, int action)
{
	CURLMcode	mc;
	int		running;

	h->busy++;
	mc = curl_multi_socket_action(h->multi, fd, action, &running);
	if (mc != CURLM_OK)
		log_warn("http", "curl_multi_socket_action: %s",
		    curl_multi_strerror(mc));
	http_check_done(h);
	h->busy--;
	if (h->dying && h->busy == 0)
		http_destroy(h);
}

static void
http_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_sock	*s = arg;
	int			 action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	/* s may be freed by curl inside; use only the copies. */
	http_drive(s->h, fd, action);
}

static void
http_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	http_drive(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* Drain finished transfers. Safe against callbacks that add or cancel requests. */
static void
http_check_done(struct http *h)
{
	struct http_request	*req;
	CURLMsg			*msg;
	CURL			*easy;
	CURLcode		 result;
	char			*priv;
	int			 left;

	while (!h->dying && (msg = curl_multi_info_read(h->multi,
	    &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg is invalid once the handle is removed: copy first. */
		easy = msg->easy_handle;
		result = msg->data.result;
		priv = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		req = (struct http_request *)priv;
		if (req == NULL)
			continue;
		http_finish(h, req, result);
	}
}

/* One transfer is over: detach it from curl, call back, free it. */
static void
http_finish(struct http *h, struct http_request *req, CURLcode result)
{
	struct http_response	 resp;
	long			 status = 0;
	double			 total = 0;

	memset(&resp, 0, sizeof resp);
	curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(req->easy, CURLINFO_TOTAL_TIME, &total);
	curl_multi_remove_handle(h->multi, req->easy);
	TAILQ_REMOVE(&h->requests, req, entry);
	h->inflight--;

	resp.curl_code = (int)result;
	if (result != CURLE_OK) {
		resp.status = 0;
		resp.timed_out = result == CURLE_OPERATION_TIMEDOUT;
		resp.tls_untrusted = result == CURLE_PEER_FAILED_VERIFICATION;
		resp.tls_cafile = result == CURLE_SSL_CACERT_BADFILE;
		snprintf(resp.error, sizeof resp.error, "%s",
		    req->errbuf[0] != '\0' ? req->errbuf :
		    curl_easy_strerror(result));
	} else
		resp.status = status;
	resp.body = req->body != NULL ? req->body : "";
	resp.body_len = req->body != NULL ? req->body_len : 0;
	resp.body_truncated = req->body_truncated;
	resp.headers = req->headers;
	resp.nheaders = req->nheaders;
	resp.total_s = total;
	resp.owner = req;	/* http_response_keep takes body and headers */
	if (result != CURLE_OK) {
		/*
		 * Only scheme and host: paths and queries can carry secrets
		 * (a Slack webhook URL is one).
		 */
		const char	*p = strstr(req->url, "://");
		int		 n = (int)strlen(req->url);

		if (p != NULL && (p = strchr(p + 3, '/')) != NULL)
			n = (int)(p - req->url);
		log_debug("http", "%s %.*s/...: %s", req->method, n, req->url,
		    resp.error);
	}

	req->finishing = 1;
	req->cb(&resp, req->arg);
	if (!h->dying)
		http_pool_put(h, req);
	http_request_free(req);
}

void
http_response_free(struct http_response *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	free(r->body);
	free(r);
}

struct http_response *
http_response_keep(const struct http_response *src)
{
	struct http_request	*req = src->owner;
	struct http_response	*r;
	size_t			 i;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return NULL;
	*r = *src;
	r->owner = NULL;
	if (req != NULL && req->finishing && req->body == src->body &&
	    req->headers == src->headers) {
		/* Inside its callback: take the buffers over from the request. */
		if (req->body == NULL && (r->body = strdup("")) == NULL) {
			free(r);
			return NULL;
		}
		req->body = NULL;
		req->body_len = req->body_cap = 0;
		req->headers = NULL;
		req->nheaders = req->headers_cap = 0;
		return r;
	}
	r->body = NULL;
	r->headers = NULL;
	r->nheaders = 0;
	if ((r->body = malloc(src->body_len + 1)) == NULL)
		goto fail;
	if (src->body_len > 0)
		memcpy(r->body, src->body, src->body_len);
	r->body[src->body_len] = '\0';
	if (src->nheaders > 0) {
		if ((r->headers = calloc(src->nheaders, sizeof *r->headers)) ==
		    NULL)
			goto fail;
		for (i = 0; i < src->nheaders; i++) {
			r->headers[i].name = strdup(src->headers[i].name);
			r->headers[i].value = strdup(src->headers[i].value);
			r->nheaders = i + 1;
			if (r->headers[i].name == NULL ||
			    r->headers[i].value == NULL)
				goto fail;
		}
	}
	return r;
fail:
	http_response_free(r);
	return NULL;
}

const char *
http_response_header(const struct http_response *resp, const char *name)
{
	size_t i;

	if (resp == NULL || name == NULL)
		return NULL;
	for (i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

char *
http_urlencode(const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	char			*out, *o;
	size_t			 len;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	out = o = malloc(len * 3 + 1);
	if (out == NULL)
		return NULL;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~')
			*o++ = (char)*p;
		else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}
