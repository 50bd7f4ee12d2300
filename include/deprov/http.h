/*
 * http: asynchronous HTTP client on libcurl's multi_socket API driven by the
 * daemon's libevent loop. Nothing here blocks: a request is started, the
 * loop runs, and the completion callback is called from the loop with the
 * response (status, capped body, headers) or the transport error.
 */
#ifndef DEPROV_HTTP_H
#define DEPROV_HTTP_H

#include <stddef.h>

struct event_base;
struct http;
struct http_request;

struct http_header {
	char	*name;
	char	*value;
};

struct http_response {
	long			 status;	/* 0 when the transport failed */
	int			 curl_code;	/* CURLcode, 0 = ok */
	int			 tls_untrusted;	/* the peer's certificate failed
						   verification (CURLE_PEER_FAILED_VERIFICATION) */
	int			 tls_cafile;	/* the CA file could not be used
						   (CURLE_SSL_CACERT_BADFILE) */
	int			 timed_out;	/* 1 when curl_code was a timeout */
	char			 error[256];	/* transport error text, "" when none */
	char			*body;		/* NUL-terminated, may be "" */
	size_t			 body_len;
	int			 body_truncated;	/* body exceeded the cap */
	struct http_header	*headers;
	size_t			 nheaders;
	double			 total_s;	/* request duration */
	void			*owner;		/* http's own: see http_response_keep */
};

/* Called once per started request, from the loop. resp is valid only during the call. */
typedef void (*http_cb)(const struct http_response *resp, void *arg);

struct http	*http_new(struct event_base *base);
/* Cancels every request still in flight without calling its callback. */
void		 http_free(struct http *);
/* Number of requests in flight. */
size_t		 http_inflight(const struct http *);
/* Response bodies larger than this are truncated (default 8 MiB). */
void		 http_set_max_body(struct http *, size_t bytes);
/*
 * Asked before every request: 0 and the request fails to start (as
 * http_request_start's -1). deprovd closes it once another has taken the
 * store over (docs/CLUSTER.md): a fenced deprovd calls no target.
 */
typedef int	(*http_gate_fn)(void *arg);
void		 http_set_gate(struct http *, http_gate_fn, void *arg);

struct http_request *http_request_new(const char *method, const char *url);
void		 http_request_free(struct http_request *);
/* Add "Name: value". */
int		 http_request_header(struct http_request *, const char *name,
		     const char *value);
/* Copies the body. */
int		 http_request_body(struct http_request *, const char *body, size_t len);
void		 http_request_timeout(struct http_request *, long total_ms, long connect_ms);
/*
 * Trust the CA certificates in file (PEM) for an https:// request, as
 * curl's --cacert: in place of the built-in bundle. NULL: the default.
 * Verification is never turned off. 0, or -1 when out of memory.
 */
int		 http_request_cainfo(struct http_request *, const char *file);
/*
 * Hand a 2xx response's body to sink as it arrives, instead of keeping it
 * (the response's body is then ""): for bodies too large to hold. Any
 * other status's body is kept as usual, to be read as an error. sink
 * returns 0, or -1 to abort the transfer (a write error).
 */
typedef int (*http_sink)(const char *data, size_t len, void *arg);
void		 http_request_sink(struct http_request *, http_sink, void *arg);
/*
 * Start the request; takes ownership of req (freed after the callback).
 * Returns 0, or -1 (req freed, callback not called) if curl refused it.
 */
int		 http_request_start(struct http *, struct http_request *req,
		     http_cb cb, void *arg);
/*
 * Cancel a started request whose callback has not been called yet: it is
 * removed from curl and freed, and its callback is never called. Must not
 * be called from inside curl (it is safe from any http_cb or loop callback).
 */
void		 http_request_cancel(struct http *, struct http_request *req);

/*
 * Keep a response past its callback: from inside the callback, the body and
 * headers are taken over from the request (no copy); any other response is
 * copied. Free with http_response_free. NULL when out of memory.
 */
struct http_response *http_response_keep(const struct http_response *);
void		 http_response_free(struct http_response *);

/* Case-insensitive header lookup; NULL when absent. */
const char	*http_response_header(const struct http_response *, const char *name);

/* URL-encode s (RFC 3986 unreserved kept). Returns malloc'd string. */
char		*http_urlencode(const char *s);

#endif
