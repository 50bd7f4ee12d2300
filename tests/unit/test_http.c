/*
 * test_http: the curl-multi-on-libevent client against an in-process evhttp
 * server on the same loop: round trips with bodies and headers, body cap,
 * header lookup, timeout, refused and dropped connections, 200 concurrent
 * requests, starting requests from a callback, cancelling, and freeing the
 * client with requests in flight (from outside and from inside a callback).
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "deprov/clock.h"
#include "deprov/http.h"
#include "deprov/log.h"
#include "net_server.h"

struct fixture {
	struct event_base	*base;
	struct net_server	*srv;
	struct http		*http;
};

/* What a callback saw. */
struct seen {
	int	 called;
	long	 status;
	int	 curl_code;
	int	 timed_out;
	int	 truncated;
	char	 error[256];
	char	*body;
	size_t	 body_len;
	char	 method[16];
	char	 got_test[64];
	char	 got_ctype[64];
	char	 got_expect[64];
	char	 uri[128];
	char	 retry_after[32];
	int	 lookup_ci;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->srv = net_server_new(f->base);
	assert_non_null(f->srv);
	f->http = http_new(f->base);
	assert_non_null(f->http);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	http_free(f->http);
	net_server_free(f->srv);
	event_base_free(f->base);
	free(f);
	return 0;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

/* Run the loop until *count reaches want or timeout_ms passes. */
static void
run_until(struct event_base *base, const int *count, int want, long timeout_ms)
{
	int64_t		 end = clock_mono_ms() + timeout_ms;
	struct timeval	 tv = { 0, 10000 };
	struct event	*tick;

	/* A ticking timer so that an idle loop still sees the deadline. */
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	assert_non_null(tick);
	event_add(tick, &tv);
	while (*count < want && clock_mono_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(tick);
}

static void
copy_header(char *dst, size_t len, const struct http_response *r,
    const char *name)
{
	const char *v = http_response_header(r, name);

	snprintf(dst, len, "%s", v != NULL ? v : "");
}

static void
record_cb(const struct http_response *r, void *arg)
{
	struct seen *s = arg;

	s->called++;
	s->status = r->status;
	s->curl_code = r->curl_code;
	s->timed_out = r->timed_out;
	s->truncated = r->body_truncated;
	snprintf(s->error, sizeof s->error, "%s", r->error);
	assert_non_null(r->body);
	assert_int_equal(r->body[r->body_len], '\0');
	s->body = malloc(r->body_len + 1);
	assert_non_null(s->body);
	memcpy(s->body, r->body, r->body_len + 1);
	s->body_len = r->body_len;
	copy_header(s->method, sizeof s->method, r, "X-Method");
	copy_header(s->got_test, sizeof s->got_test, r, "X-Got-Test");
	copy_header(s->got_ctype, sizeof s->got_ctype, r, "X-Got-Content-Type");
	copy_header(s->got_expect, sizeof s->got_expect, r, "X-Got-Expect");
	copy_header(s->uri, sizeof s->uri, r, "X-Uri");
	copy_header(s->retry_after, sizeof s->retry_after, r, "Retry-After");
	s->lookup_ci = http_response_header(r, "rEtRy-AfTeR") != NULL;
}

static void
start(struct fixture *f, const char *method, const char *path,
    const char *body, size_t len, struct seen *s)
{
	struct http_request *req;

	req = http_request_new(method, net_server_url(f->srv, path));
	assert_non_null(req);
	assert_int_equal(http_request_header(req, "X-Test", "hello"), 0);
	if (body != NULL) {
		assert_int_equal(http_request_header(req, "Content-Type",
		    "application/json"), 0);
		assert_int_equal(http_request_body(req, body, len), 0);
	}
	http_request_timeout(req, 5000, 2000);
	assert_int_equal(http_request_start(f->http, req, record_cb, s), 0);
}

static void
test_round_trip(void **state)
{
	struct fixture	*f = *state;
	struct seen	 get = { 0 }, post = { 0 }, patch = { 0 }, del = { 0 };
	const char	*json = "{\"IsFrozen\":true}";
	int		 done;

	start(f, "GET", "/a?x=1", NULL, 0, &get);
	start(f, "POST", "/b", json, strlen(json), &post);
	start(f, "PATCH", "/c/005", json, strlen(json), &patch);
	start(f, "DELETE", "/d", NULL, 0, &del);
	assert_int_equal(http_inflight(f->http), 4);
	for (done = 0; done < 4; ) {
		run_until(f->base, &get.called, 100, 10);
		done = get.called + post.called + patch.called + del.called;
	}
	assert_int_equal(http_inflight(f->http), 0);

	assert_int_equal(get.status, 200);
	assert_string_equal(get.method, "GET");
	assert_string_equal(get.uri, "/a?x=1");
	assert_string_equal(get.got_test, "hello");
	assert_int_equal(get.body_len, 0);

	assert_int_equal(post.status, 200);
	assert_string_equal(post.method, "POST");
	assert_string_equal(post.body, json);
	assert_string_equal(post.got_ctype, "application/json");
	assert_string_equal(post.got_expect, "none");

	assert_int_equal(patch.status, 200);
	assert_string_equal(patch.method, "PATCH");
	assert_string_equal(patch.uri, "/c/005");
	assert_string_equal(patch.body, json);
	assert_string_equal(patch.got_test, "hello");

	assert_int_equal(del.status, 200);
	assert_string_equal(del.method, "DELETE");
	assert_int_equal(net_server_hits(f->srv), 4);
	free(get.body);
	free(post.body);
	free(patch.body);
	free(del.body);
}

/* A large upload is sent at once, without "Expect: 100-continue". */
static void
test_large_post_no_expect(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	size_t		 len = 2 * 1024 * 1024, i;
	char		*big = malloc(len);

	assert_non_null(big);
	for (i = 0; i < len; i++)
		big[i] = (char)('a' + i % 26);
	start(f, "POST", "/big", big, len, &s);
	run_until(f->base, &s.called, 1, 10000);
	assert_int_equal(s.called, 1);
	assert_int_equal(s.status, 200);
	assert_string_equal(s.got_expect, "none");
	assert_int_equal(s.body_len, len);
	assert_memory_equal(s.body, big, len);
	free(big);
	free(s.body);
}

static void
test_headers_and_status(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct net_step	 step = { 429, "Retry-After: 7\nX-Other: a b c",
			    "slow down", 0 };

	net_server_script(f->srv, &step, 1);
	start(f, "GET", "/limited", NULL, 0, &s);
	run_until(f->base, &s.called, 1, 5000);
	assert_int_equal(s.status, 429);
	assert_int_equal(s.curl_code, 0);
	assert_string_equal(s.error, "");
	assert_string_equal(s.retry_after, "7");
	assert_true(s.lookup_ci);
	assert_string_equal(s.body, "slow down");
	free(s.body);
}

static void
test_body_cap(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct net_step	 step = { 200, NULL, NULL, 0 };
	size_t		 len = 100000;
	char		*big = malloc(len + 1);

	assert_non_null(big);
	memset(big, 'x', len);
	big[len] = '\0';
	step.body = big;
	net_server_script(f->srv, &step, 1);
	http_set_max_body(f->http, 1000);
	start(f, "GET", "/big", NULL, 0, &s);
	run_until(f->base, &s.called, 1, 5000);
	assert_int_equal(s.status, 200);
	assert_int_equal(s.body_len, 1000);
	assert_int_equal(s.truncated, 1);
	assert_int_equal(strlen(s.body), 1000);
	free(s.body);
	free(big);
}

static void
test_timeout(void **state)
{
	struct fixture		*f = *state;
	struct seen		 s = { 0 };
	struct net_step		 hold = { 200, NULL, "late", 5000 };
	struct http_request	*req;
	uint64_t		 t0 = clock_mono_ms();

	net_server_script(f->srv, &hold, 1);
	req = http_request_new("GET", net_server_url(f->srv, "/hold"));
	assert_non_null(req);
	http_request_timeout(req, 300, 300);
	assert_int_equal(http_request_start(f->http, req, record_cb, &s), 0);
	run_until(f->base, &s.called, 1, 5000);
	assert_int_equal(s.called, 1);
	assert_int_equal(s.status, 0);
	assert_int_equal(s.timed_out, 1);
	assert_int_equal(s.curl_code, 28);	/* CURLE_OPERATION_TIMEDOUT */
	assert_true(s.error[0] != '\0');
	assert_true(clock_mono_ms() - t0 >= 250);
	assert_true(clock_mono_ms() - t0 < 3000);
	free(s.body);
}

static void
test_refused(void **state)
{
	struct fixture		*f = *state;
	struct seen		 s = { 0 };
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	struct http_request	*req;
	char			 url[64];
	int			 fd;

	/* A port that was just free and is now closed. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ntohs(sin.sin_port));

	req = http_request_new("GET", url);
	assert_non_null(req);
	assert_int_equal(http_request_start(f->http, req, record_cb, &s), 0);
	run_until(f->base, &s.called, 1, 5000);
	assert_int_equal(s.called, 1);
	assert_int_equal(s.status, 0);
	assert_int_equal(s.curl_code, 7);	/* CURLE_COULDNT_CONNECT */
	assert_int_equal(s.timed_out, 0);
	assert_true(s.error[0] != '\0');
	free(s.body);
}

static void
test_dropped(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct net_step	 drop = { 0, NULL, NULL, 0 };

	net_server_default(f->srv, &drop);
	start(f, "GET", "/drop", NULL, 0, &s);
	run_until(f->base, &s.called, 1, 5000);
	assert_int_equal(s.called, 1);
	assert_int_equal(s.status, 0);
	assert_true(s.curl_code != 0);
	assert_true(s.error[0] != '\0');
	free(s.body);
}

struct many {
	int	done;
	int	ok;
};

struct many_one {
	struct many	*m;
	char		 path[32];
};

static void
many_cb(const struct http_response *r, void *arg)
{
	struct many_one	*one = arg;
	const char	*uri = http_response_header(r, "X-Uri");

	one->m->done++;
	if (r->status == 200 && uri != NULL && strcmp(uri, one->path) == 0)
		one->m->ok++;
}

static void
test_many_concurrent(void **state)
{
	struct fixture		*f = *state;
	struct many		 m = { 0, 0 };
	struct many_one		 ones[200];
	struct net_step		 slow = { 200, NULL, NULL, 50 };
	struct http_request	*req;
	int			 i;

	net_server_default(f->srv, &slow);
	for (i = 0; i < 200; i++) {
		ones[i].m = &m;
		snprintf(ones[i].path, sizeof ones[i].path, "/n/%d", i);
		req = http_request_new("GET", net_server_url(f->srv,
		    ones[i].path));
		assert_non_null(req);
		assert_int_equal(http_request_start(f->http, req, many_cb,
		    &ones[i]), 0);
	}
	assert_int_equal(http_inflight(f->http), 200);
	run_until(f->base, &m.done, 200, 30000);
	assert_int_equal(m.done, 200);
	assert_int_equal(m.ok, 200);
	assert_int_equal(http_inflight(f->http), 0);
	assert_int_equal(net_server_hits(f->srv), 200);
	/* They really were in flight together. */
	assert_true(net_server_max_concurrent(f->srv) > 10);
}

struct chain {
	struct fixture	*f;
	int		 left;
	int		 done;
};

/* Each completion starts the next request from inside the callback. */
static void
chain_cb(const struct http_response *r, void *arg)
{
	struct chain		*c = arg;
	struct http_request	*req;

	assert_int_equal(r->status, 200);
	c->done++;
	if (--c->left > 0) {
		req = http_request_new("GET", net_server_url(c->f->srv,
		    "/chain"));
		assert_non_null(req);
		assert_int_equal(http_request_start(c->f->http, req, chain_cb,
		    c), 0);
	}
}

static void
test_start_from_callback(void **state)
{
	struct fixture		*f = *state;
	struct chain		 c = { f, 10, 0 };
	struct http_request	*req;

	req = http_request_new("GET", net_server_url(f->srv, "/chain"));
	assert_non_null(req);
	assert_int_equal(http_request_start(f->http, req, chain_cb, &c), 0);
	run_until(f->base, &c.done, 10, 10000);
	assert_int_equal(c.done, 10);
	assert_int_equal(net_server_hits(f->srv), 10);
	assert_int_equal(http_inflight(f->http), 0);
}

static void
never_cb(const struct http_response *r, void *arg)
{
	fail_msg("cancelled request called back");
}

static void
test_cancel(void **state)
{
	struct fixture		*f = *state;
	struct seen		 s = { 0 };
	struct net_step		 slow = { 200, NULL, NULL, 100 };
	struct http_request	*doomed;

	net_server_default(f->srv, &slow);
	doomed = http_request_new("GET", net_server_url(f->srv, "/doomed"));
	assert_non_null(doomed);
	assert_int_equal(http_request_start(f->http, doomed, never_cb, NULL), 0);
	start(f, "GET", "/kept", NULL, 0, &s);
	/* Let both get on the wire, then cancel one. */
	while (net_server_hits(f->srv) < 2)
		run_until(f->base, &s.called, 1, 10);
	http_request_cancel(f->http, doomed);
	assert_int_equal(http_inflight(f->http), 1);
	run_until(f->base, &s.called, 1, 5000);
	assert_int_equal(s.status, 200);
	assert_string_equal(s.uri, "/kept");
	/* A little more loop: the cancelled one stays silent. */
	{
		int dummy = 0;

		run_until(f->base, &dummy, 1, 300);
	}
	free(s.body);
}

/* http_free with requests queued and on the wire: no callbacks, no leaks. */
static void
test_free_in_flight(void **state)
{
	struct fixture		*f = *state;
	struct net_step		 slow = { 200, NULL, NULL, 2000 };
	struct http_request	*req;
	int			 i, dummy = 0;

	net_server_default(f->srv, &slow);
	for (i = 0; i < 5; i++) {
		req = http_request_new("POST", net_server_url(f->srv, "/f"));
		assert_non_null(req);
		assert_int_equal(http_request_body(req, "x", 1), 0);
		assert_int_equal(http_request_start(f->http, req, never_cb,
		    NULL), 0);
	}
	run_until(f->base, &dummy, 1, 200);
	assert_true(net_server_hits(f->srv) >= 1);
	http_free(f->http);
	f->http = http_new(f->base);
	assert_non_null(f->http);
	/* The loop keeps working for a new client. */
	run_until(f->base, &dummy, 1, 100);
}

struct killer {
	struct fixture	*f;
	int		 called;
};

/* Frees the whole client from inside a completion callback. */
static void
killer_cb(const struct http_response *r, void *arg)
{
	struct killer *k = arg;

	k->called++;
	http_free(k->f->http);
	k->f->http = NULL;
}

static void
test_free_from_callback(void **state)
{
	struct fixture		*f = *state;
	struct killer		 k = { f, 0 };
	struct net_step		 steps[] = {
		{ 200, NULL, "first", 300 },
		{ 200, NULL, "second", 3000 },
	};
	struct http_request	*req;
	int			 dummy = 0;

	net_server_script(f->srv, steps, 2);
	req = http_request_new("GET", net_server_url(f->srv, "/1"));
	assert_non_null(req);
	assert_int_equal(http_request_start(f->http, req, killer_cb, &k), 0);
	while (net_server_hits(f->srv) < 1)
		run_until(f->base, &dummy, 1, 10);
	assert_int_equal(k.called, 0);
	req = http_request_new("GET", net_server_url(f->srv, "/2"));
	assert_non_null(req);
	assert_int_equal(http_request_start(f->http, req, never_cb, NULL), 0);
	run_until(f->base, &k.called, 1, 5000);
	assert_int_equal(k.called, 1);
	assert_null(f->http);
	run_until(f->base, &dummy, 1, 100);
	f->http = http_new(f->base);
	assert_non_null(f->http);
}

static void
test_bad_input(void **state)
{
	struct fixture		*f = *state;
	struct http_request	*req;

	assert_null(http_request_new(NULL, "http://x"));
	assert_null(http_request_new("GET", ""));
	req = http_request_new("GET", "http://127.0.0.1:1/");
	assert_non_null(req);
	assert_int_equal(http_request_header(req, "Bad\r\nName", "v"), -1);
	assert_int_equal(http_request_header(req, "X", "v\r\nInjected: 1"), -1);
	assert_int_equal(http_request_header(req, "X", ""), 0);
	http_request_free(req);
	/* No callback: refused and freed. */
	req = http_request_new("GET", "http://127.0.0.1:1/");
	assert_non_null(req);
	assert_int_equal(http_request_start(f->http, req, NULL, NULL), -1);
	assert_int_equal(http_inflight(f->http), 0);
}

static void
test_urlencode(void **state)
{
	char *s;

	s = http_urlencode("SELECT Id FROM User WHERE Username='a+b@x.com'");
	assert_non_null(s);
	assert_string_equal(s, "SELECT%20Id%20FROM%20User%20WHERE%20"
	    "Username%3D%27a%2Bb%40x.com%27");
	free(s);
	s = http_urlencode("AZaz09-._~/?&\xc3\xa9");
	assert_non_null(s);
	assert_string_equal(s, "AZaz09-._~%2F%3F%26%C3%A9");
	free(s);
	s = http_urlencode("");
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	assert_null(http_urlencode(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_post_no_expect, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_headers_and_status, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_concurrent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_start_from_callback, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_in_flight, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_free_from_callback, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test(test_urlencode),
	};

	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
