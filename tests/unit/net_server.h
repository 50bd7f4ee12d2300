/*
 * net_server: a scripted HTTP server for the network unit tests, on evhttp
 * in the test's own event_base (127.0.0.1, port 0). It answers requests
 * with a script of steps (status, headers, body, delay, or dropping the
 * connection), then with a default step, and records what arrived (time,
 * method, URI, Authorization) and the most requests it held at once.
 */
#ifndef NET_SERVER_H
#define NET_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct net_server;

struct net_step {
	int		 status;	/* 0 = drop the connection, no answer */
	const char	*headers;	/* "Name: value" lines separated by '\n' */
	const char	*body;		/* NULL = echo the request body */
	long		 delay_ms;	/* answer (or drop) this much later */
};

struct net_server	*net_server_new(struct event_base *);
void			 net_server_free(struct net_server *);
int			 net_server_port(const struct net_server *);
/* "http://127.0.0.1:PORT" + path, in a static buffer. */
const char		*net_server_url(const struct net_server *, const char *path);
/* Steps for the next requests, in order (copied; strings must outlive use). */
void			 net_server_script(struct net_server *,
			    const struct net_step *, size_t n);
void			 net_server_default(struct net_server *,
			    const struct net_step *);

size_t			 net_server_hits(const struct net_server *);
uint64_t		 net_server_arrival(const struct net_server *, size_t i);
const char		*net_server_uri(const struct net_server *, size_t i);
const char		*net_server_method(const struct net_server *, size_t i);
/* The request's Authorization header, or "" when it had none. */
const char		*net_server_auth(const struct net_server *, size_t i);
size_t			 net_server_max_concurrent(const struct net_server *);
size_t			 net_server_pending(const struct net_server *);

#endif
