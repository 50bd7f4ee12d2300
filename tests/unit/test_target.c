/*
 * test_target: the per-target call runtime against an in-process evhttp
 * server on the same loop: retries (5xx, 429 + Retry-After, transport
 * errors, timeouts), exhausted attempts, the concurrency cap, lanes, the
 * token bucket, one fresh-token retry on 401, connector verdicts, the
 * usage slow-down (Sforce-Limit-Info through Salesforce's signals hook),
 * the JWT instance URL and auth failures, target_free with calls in every
 * state, the circuit breaker (open after N, half-open probe, close, re-open
 * doubled), request-window holds (X-Rate-Limit-Remaining/-Reset through
 * Okta's signals hook) and a connector-driven retry of 403.
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
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "deprov/clock.h"
#include "deprov/http.h"
#include "deprov/log.h"
#include "deprov/target.h"
#include "net_server.h"

#include "okta-internal.h"
#include "salesforce-internal.h"

struct fixture {
	struct event_base	*base;
	struct net_server	*srv;
	struct http		*http;
	struct target		*t;
	struct config_target	 cfg;
	char			 base_url[128];
};

#define MAX_RETRIES 16

struct res {
	int		 called;
	int		 ok;
	int		 attempts;
	long		 status;
	char		 error[512];
	char		 body[256];
	uint64_t	 at;
	int		 retries;
	int		 retry_attempt[MAX_RETRIES];
	long		 retry_delay[MAX_RETRIES];
	char		 retry_error[MAX_RETRIES][128];
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
	snprintf(f->base_url, sizeof f->base_url, "http://127.0.0.1:%d",
	    net_server_port(f->srv));
	f->cfg.name = "sf-test";
	f->cfg.kind = "salesforce";
	f->cfg.base_url = f->base_url;
	f->cfg.auth.type = "none";
	f->cfg.limits.rate_per_sec = 0;
	f->cfg.limits.burst = 10;
	f->cfg.limits.concurrency = 8;
	f->cfg.limits.timeout_ms = 5000;
	f->cfg.limits.connect_timeout_ms = 2000;
	f->cfg.limits.limit_backoff_ms = 300;
	f->cfg.limits.usage_slowdown = 0.9;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	target_free(f->t);
	http_free(f->http);
	net_server_free(f->srv);
	event_base_free(f->base);
	free(f->cfg.auth.private_key_pem);
	free(f);
	return 0;
}

static void
make_target(struct fixture *f, target_classify_cb classify)
{
	char err[256] = "";

	f->t = target_new(f->base, f->http, &f->cfg, classify, err, sizeof err);
	if (f->t == NULL)
		fail_msg("target_new: %s", err);
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

	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	assert_non_null(tick);
	event_add(tick, &tv);
	while (*count < want && clock_mono_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(tick);
}

static void
wait_hits(struct fixture *f, size_t n)
{
	int		never = 0;
	int64_t		end = clock_mono_ms() + 10000;

	while (net_server_hits(f->srv) < n && clock_mono_ms() < end)
		run_until(f->base, &never, 1, 10);
	assert_true(net_server_hits(f->srv) >= n);
}

static void
result_cb(const struct target_result *r, void *arg)
{
	struct res *s = arg;

	s->called++;
	s->ok = r->ok;
	s->attempts = r->attempts;
	s->status = r->resp != NULL ? r->resp->status : -1;
	s->at = clock_mono_ms();
	assert_non_null(r->error);
	snprintf(s->error, sizeof s->error, "%s", r->error);
	if (r->resp != NULL)
		snprintf(s->body, sizeof s->body, "%s", r->resp->body);
}

static void
retry_cb(void *arg, int attempt, const char *error, long delay_ms)
{
	struct res *s = arg;

	if (s->retries < MAX_RETRIES) {
		s->retry_attempt[s->retries] = attempt;
		s->retry_delay[s->retries] = delay_ms;
		snprintf(s->retry_error[s->retries], sizeof s->retry_error[0],
		    "%s", error);
	}
	s->retries++;
}

static struct call_opts
opts_for(struct res *s, enum lane lane, int max_attempts)
{
	struct call_opts o;

	memset(&o, 0, sizeof o);
	o.lane = lane;
	o.max_attempts = max_attempts;
	o.initial_backoff_ms = 10;
	o.max_backoff_ms = 50;
	o.on_retry = retry_cb;
	o.on_retry_arg = s;
	return o;
}

static void
call(struct fixture *f, const char *method, const char *path, struct res *s,
    enum lane lane, int max_attempts)
{
	struct target_req	req;
	struct call_opts	o = opts_for(s, lane, max_attempts);

	memset(&req, 0, sizeof req);
	req.method = method;
	req.path = path;
	assert_int_equal(target_call(f->t, &req, &o, result_cb, s), 0);
}

static void
test_ok_is_deferred(void **state)
{
	struct fixture		*f = *state;
	struct res		 s = { 0 };
	struct target_req	 req = { "PATCH", "/services/data/v60.0/x",
				    "{\"IsFrozen\":true}", 17,
				    "application/json", "X-Test: hi there" };
	struct call_opts	 o = opts_for(&s, LANE_FREEZE, 3);

	make_target(f, NULL);
	assert_string_equal(target_name(f->t), "sf-test");
	assert_string_equal(target_kind(f->t), "salesforce");
	assert_ptr_equal(target_config(f->t), &f->cfg);
	assert_int_equal(target_call(f->t, &req, &o, result_cb, &s), 0);
	/* Never called back from inside target_call. */
	assert_int_equal(s.called, 0);
	assert_int_equal(target_queued(f->t), 1);
	run_until(f->base, &s.called, 1, 5000);
	assert_int_equal(s.called, 1);
	assert_true(s.ok);
	assert_int_equal(s.attempts, 1);
	assert_int_equal(s.status, 200);
	assert_string_equal(s.error, "");
	assert_string_equal(s.body, "{\"IsFrozen\":true}");
	assert_int_equal(s.retries, 0);
	assert_string_equal(net_server_method(f->srv, 0), "PATCH");
	assert_string_equal(net_server_uri(f->srv, 0), "/services/data/v60.0/x");
	assert_string_equal(net_server_auth(f->srv, 0), "");
	assert_int_equal(target_inflight(f->t), 0);
	assert_int_equal(target_queued(f->t), 0);
}

static void
test_retry_5xx(void **state)
{
	struct fixture	*f = *state;
	struct res	 s = { 0 };
	struct net_step	 steps[] = {
		{ 503, NULL, "unavailable", 0 },
		{ 502, NULL, "bad gateway", 0 },
		{ 200, NULL, "fine", 0 },
	};

	net_server_script(f->srv, steps, 3);
	make_target(f, NULL);
	call(f, "GET", "/r", &s, LANE_REMEDIATE, 10);
	run_until(f->base, &s.called, 1, 5000);
	assert_true(s.ok);
	assert_int_equal(s.attempts, 3);
	assert_string_equal(s.body, "fine");
	assert_int_equal(s.retries, 2);
	assert_int_equal(s.retry_attempt[0], 1);
	assert_int_equal(s.retry_attempt[1], 2);
	assert_true(s.retry_delay[0] >= 0 && s.retry_delay[0] <= 10);
	assert_true(s.retry_delay[1] >= 0 && s.retry_delay[1] <= 20);
	assert_string_equal(s.retry_error[0], "HTTP 503: unavailable");
	assert_int_equal(net_server_hits(f->srv), 3);
}

static void
test_429_retry_after(void **state)
{
	struct fixture	*f = *state;
	struct res	 s = { 0 };
	struct net_step	 steps[] = {
		{ 429, "Retry-After: 1", "too many", 0 },
		{ 200, NULL, "ok", 0 },
	};

	net_server_script(f->srv, steps, 2);
	make_target(f, NULL);
	call(f, "GET", "/limited", &s, LANE_FREEZE, 5);
	run_until(f->base, &s.called, 1, 5000);
	assert_true(s.ok);
	assert_int_equal(s.attempts, 2);
	assert_int_equal(s.retries, 1);
	assert_true(s.retry_delay[0] >= 1000);
	assert_int_equal(net_server_hits(f->srv), 2);
	assert_true(net_server_arrival(f->srv, 1) -
	    net_server_arrival(f->srv, 0) >= 950);
}

/* A 429 blocks the whole bucket: other calls wait for Retry-After too. */
static void
test_429_blocks_target(void **state)
{
	struct fixture	*f = *state;
	struct res	 a = { 0 }, b = { 0 };
	struct net_step	 steps[] = {
		{ 429, "Retry-After: 1", "too many", 0 },
	};

	net_server_script(f->srv, steps, 1);
	make_target(f, NULL);
	call(f, "GET", "/a", &a, LANE_FREEZE, 5);
	wait_hits(f, 1);
	run_until(f->base, &a.retries, 1, 2000);
	assert_int_equal(a.retries, 1);
	call(f, "GET", "/b", &b, LANE_URGENT, 1);
	run_until(f->base, &b.called, 1, 5000);
	run_until(f->base, &a.called, 1, 5000);
	assert_true(a.ok && b.ok);
	assert_true(net_server_arrival(f->srv, 1) -
	    net_server_arrival(f->srv, 0) >= 950);
}

static void
test_retry_after_date(void **state)
{
	struct fixture	*f = *state;
	struct res	 s = { 0 };
	char		 hdr[128];
	struct tm	 tm;
	time_t		 when = time(NULL) + 2;
	struct net_step	 steps[2];

	gmtime_r(&when, &tm);
	strftime(hdr, sizeof hdr, "Retry-After: %a, %d %b %Y %H:%M:%S GMT",
	    &tm);
	memset(steps, 0, sizeof steps);
	steps[0].status = 503;
	steps[0].headers = hdr;
	steps[0].body = "later";
	steps[1].status = 200;
	steps[1].body = "ok";
	net_server_script(f->srv, steps, 2);
	make_target(f, NULL);
	call(f, "GET", "/d", &s, LANE_FREEZE, 5);
	run_until(f->base, &s.called, 1, 6000);
	assert_true(s.ok);
	assert_int_equal(s.retries, 1);
	/* Whole seconds: at least one, at most two from now. */
	assert_true(s.retry_delay[0] >= 1000 && s.retry_delay[0] <= 2000);
	assert_true(net_server_arrival(f->srv, 1) -
	    net_server_arrival(f->srv, 0) >= 950);
}

static void
test_exhausted(void **state)
{
	struct fixture	*f = *state;
	struct res	 s = { 0 };
	char		 body[600], want[300];
	struct net_step	 step = { 503, NULL, NULL, 0 };

	memset(body, 'z', sizeof body - 1);
	body[sizeof body - 1] = '\0';
	memcpy(body, "overloaded\n", 11);
	step.body = body;
	net_server_default(f->srv, &step);
	make_target(f, NULL);
	call(f, "POST", "/x", &s, LANE_REMEDIATE, 3);
	run_until(f->base, &s.called, 1, 5000);
	assert_int_equal(s.called, 1);
	assert_false(s.ok);
	assert_int_equal(s.attempts, 3);
	assert_int_equal(s.status, 503);
	assert_int_equal(s.retries, 2);
	assert_int_equal(net_server_hits(f->srv), 3);
	/* The body excerpt is capped at 200 characters, on one line. */
	snprintf(want, sizeof want, "HTTP 503 after 3 attempts: overloaded %.189s",
	    body + 11);
	assert_string_equal(s.error, want);
}

static void
test_timeout_exhausted(void **state)
{
	struct fixture	*f = *state;
	struct res	 s = { 0 };
	struct net_step	 hold = { 200, NULL, "late", 3000 };

	net_server_default(f->srv, &hold);
	f->cfg.limits.timeout_ms = 200;
	make_target(f, NULL);
	call(f, "GET", "/slow", &s, LANE_FREEZE, 2);
	run_until(f->base, &s.called, 1, 5000);
	assert_false(s.ok);
	assert_int_equal(s.attempts, 2);
	assert_int_equal(s.status, 0);
	assert_string_equal(s.error, "timeout after 2 attempts");
	assert_int_equal(net_server_hits(f->srv), 2);
}

static void
test_refused_and_dropped(void **state)
{
	struct fixture		*f = *state;
	struct res		 s = { 0 }, d = { 0 };
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	char			 url[128];
	struct net_step		 steps[] = {
		{ 0, NULL, NULL, 0 },		/* dropped: retried */
		{ 200, NULL, "after drop", 0 },
	};
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);

	net_server_script(f->srv, steps, 2);
	make_target(f, NULL);
	/* Absolute URLs are used as they are. */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/nothing",
	    ntohs(sin.sin_port));
	call(f, "GET", url, &s, LANE_FREEZE, 2);
	call(f, "GET", "/drop", &d, LANE_FREEZE, 3);
	run_until(f->base, &s.called, 1, 5000);
	run_until(f->base, &d.called, 1, 5000);
	assert_false(s.ok);
	assert_int_equal(s.attempts, 2);
	assert_int_equal(s.status, 0);
	assert_true(strncmp(s.error, "transport error after 2 attempts: ",
	    34) == 0);
	assert_true(d.ok);
	assert_int_equal(d.attempts, 2);
	assert_string_equal(d.body, "after drop");
	assert_true(strncmp(d.retry_error[0], "transport error", 15) == 0);
}

static void
test_concurrency_cap(void **state)
{
	struct fixture	*f = *state;
	struct res	 s[30];
	struct net_step	 slow = { 200, NULL, "ok", 30 };
	int		 i, done;

	memset(s, 0, sizeof s);
	net_server_default(f->srv, &slow);
	f->cfg.limits.concurrency = 3;
	make_target(f, NULL);
	for (i = 0; i < 30; i++)
		call(f, "GET", "/c", &s[i], LANE_REMEDIATE, 1);
	assert_int_equal(target_queued(f->t), 30);
	for (done = 0; done < 30; ) {
		run_until(f->base, &s[0].called, 2, 5);
		assert_true(target_inflight(f->t) <= 3);
		assert_true(net_server_pending(f->srv) <= 3);
		for (done = 0, i = 0; i < 30; i++)
			done += s[i].called;
	}
	for (i = 0; i < 30; i++)
		assert_true(s[i].ok);
	assert_int_equal(net_server_hits(f->srv), 30);
	assert_int_equal(net_server_max_concurrent(f->srv), 3);
}

/*
 * One slot: while the first remediation call is on the wire a freeze and
 * then an urgent call are queued; they go before the remaining
 * remediation calls, urgent first.
 */
static void
test_lanes(void **state)
{
	struct fixture	*f = *state;
	struct res	 r[5], fr = { 0 }, u = { 0 };
	struct net_step	 slow = { 200, NULL, "ok", 50 };
	const char	*want[] = { "/r0", "/u", "/f", "/r1", "/r2", "/r3",
			    "/r4" };
	char		 path[16];
	int		 i;

	memset(r, 0, sizeof r);
	net_server_default(f->srv, &slow);
	f->cfg.limits.concurrency = 1;
	make_target(f, NULL);
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof path, "/r%d", i);
		call(f, "GET", path, &r[i], LANE_REMEDIATE, 1);
	}
	wait_hits(f, 1);
	call(f, "GET", "/f", &fr, LANE_FREEZE, 1);
	call(f, "GET", "/u", &u, LANE_URGENT, 1);
	run_until(f->base, &r[4].called, 1, 5000);
	assert_int_equal(net_server_hits(f->srv), 7);
	for (i = 0; i < 7; i++)
		assert_string_equal(net_server_uri(f->srv, (size_t)i), want[i]);
	assert_true(u.ok && fr.ok);
}

/*
 * Inside a lane the lowest order goes first, then the call made first: one
 * slot, the first call on the wire, then calls of "cases" 3, 1, 2, 1, 3
 * (in that order) go out as 1, 1, 2, 3, 3; a retry keeps its place and
 * order 0 (no case) comes before every case.
 */
static void
test_lane_order(void **state)
{
	struct fixture		*f = *state;
	struct res		 r[7];
	struct net_step		 slow = { 200, NULL, "ok", 50 };
	struct target_req	 req;
	struct call_opts	 o;
	static const struct {
		const char	*path;
		uint64_t	 order;
	} calls[] = {
		{ "/first", 9 }, { "/c3a", 3 }, { "/c1a", 1 }, { "/c2", 2 },
		{ "/c1b", 1 }, { "/c3b", 3 }, { "/none", 0 },
	};
	const char		*want[] = { "/first", "/none", "/c1a", "/c1b",
				    "/c2", "/c3a", "/c3b" };
	int			 i;

	memset(r, 0, sizeof r);
	net_server_default(f->srv, &slow);
	f->cfg.limits.concurrency = 1;
	make_target(f, NULL);
	for (i = 0; i < 7; i++) {
		memset(&req, 0, sizeof req);
		req.method = "GET";
		req.path = calls[i].path;
		o = opts_for(&r[i], LANE_REMEDIATE, 1);
		o.order = calls[i].order;
		assert_int_equal(target_call(f->t, &req, &o, result_cb, &r[i]),
		    0);
		if (i == 0)
			wait_hits(f, 1);	/* /first holds the slot */
	}
	run_until(f->base, &r[5].called, 1, 5000);
	assert_int_equal(net_server_hits(f->srv), 7);
	for (i = 0; i < 7; i++)
		assert_string_equal(net_server_uri(f->srv, (size_t)i), want[i]);
}

/* Many calls with mixed orders leave a lane sorted by (order, call). */
static void
test_lane_order_many(void **state)
{
	struct fixture		*f = *state;
	struct res		*r;
	struct net_step		 first = { 200, NULL, "ok", 100 };
	struct net_step		 rest = { 200, NULL, "ok", 0 };
	struct target_req	 req;
	struct call_opts	 o;
	char			 path[32];
	unsigned		 prev_order = 0, prev_i = 0, order, idx;
	int			 i, n = 300;

	assert_non_null(r = calloc((size_t)n, sizeof *r));
	net_server_script(f->srv, &first, 1);	/* holds the slot 100 ms */
	net_server_default(f->srv, &rest);
	f->cfg.limits.concurrency = 1;
	make_target(f, NULL);
	for (i = 0; i < n; i++) {
		/* order 1..37 in a scrambled sequence; i = 0 holds the slot */
		order = i == 0 ? 0 : (unsigned)(i * 7919 % 37) + 1;
		snprintf(path, sizeof path, "/o%u/i%d", order, i);
		memset(&req, 0, sizeof req);
		req.method = "GET";
		req.path = path;
		o = opts_for(&r[i], LANE_FREEZE, 1);
		o.order = order;
		assert_int_equal(target_call(f->t, &req, &o, result_cb, &r[i]),
		    0);
		if (i == 0)
			wait_hits(f, 1);
	}
	for (i = 0; i < n; i++)
		run_until(f->base, &r[i].called, 1, 10000);
	assert_int_equal(net_server_hits(f->srv), (size_t)n);
	for (i = 1; i < n; i++) {
		assert_int_equal(sscanf(net_server_uri(f->srv, (size_t)i),
		    "/o%u/i%u", &order, &idx), 2);
		assert_true(order > prev_order ||
		    (order == prev_order && idx > prev_i));
		prev_order = order;
		prev_i = idx;
	}
	free(r);
}

/* A retried call re-enters its lane before calls queued after it. */
static void
test_retry_goes_first(void **state)
{
	struct fixture	*f = *state;
	struct res	 a = { 0 }, b = { 0 }, c = { 0 };
	/* a is due again (after 1 s) while b is still on the wire (1.5 s). */
	struct net_step	 steps[] = {
		{ 503, "Retry-After: 1", "again", 0 },
		{ 200, NULL, "ok", 1500 },
		{ 200, NULL, "ok", 0 },
		{ 200, NULL, "ok", 0 },
	};
	const char	*want[] = { "/a", "/b", "/a", "/c" };
	int		 i;

	net_server_script(f->srv, steps, 4);
	f->cfg.limits.concurrency = 1;
	make_target(f, NULL);
	call(f, "GET", "/a", &a, LANE_FREEZE, 3);
	call(f, "GET", "/b", &b, LANE_FREEZE, 3);
	call(f, "GET", "/c", &c, LANE_FREEZE, 3);
	run_until(f->base, &c.called, 1, 5000);
	assert_true(a.ok && b.ok && c.ok);
	assert_int_equal(a.attempts, 2);
	for (i = 0; i < 4; i++)
		assert_string_equal(net_server_uri(f->srv, (size_t)i), want[i]);
}

static void
test_rate_limit(void **state)
{
	struct fixture	*f = *state;
	struct res	 s[11];
	int		 i;
	uint64_t	 t0;

	memset(s, 0, sizeof s);
	f->cfg.limits.rate_per_sec = 10;
	f->cfg.limits.burst = 1;
	make_target(f, NULL);
	t0 = clock_mono_ms();
	for (i = 0; i < 11; i++)
		call(f, "GET", "/rl", &s[i], LANE_REMEDIATE, 1);
	run_until(f->base, &s[10].called, 1, 5000);
	for (i = 0; i < 11; i++)
		assert_true(s[i].ok);
	/* 1 at once, then 10 more at 10/s: about 1 s (lower bound only). */
	assert_true(net_server_arrival(f->srv, 10) -
	    net_server_arrival(f->srv, 0) >= 900);
	assert_true(clock_mono_ms() - t0 >= 900);
}

static void
test_reauth_once(void **state)
{
	struct fixture	*f = *state;
	struct res	 s = { 0 }, t = { 0 };
	struct net_step	 steps[] = {
		{ 401, NULL, "[{\"errorCode\":\"INVALID_SESSION_ID\"}]", 0 },
		{ 200, NULL, "fresh", 0 },
		{ 401, NULL, "no", 0 },
		{ 401, NULL, "still no", 0 },
	};

	net_server_script(f->srv, steps, 4);
	f->cfg.auth.type = "bearer";
	f->cfg.auth.token = "tok-123";
	make_target(f, NULL);
	call(f, "GET", "/me", &s, LANE_FREEZE, 5);
	run_until(f->base, &s.called, 1, 5000);
	assert_true(s.ok);
	assert_int_equal(s.attempts, 2);
	assert_int_equal(s.retries, 1);
	assert_int_equal(s.retry_delay[0], 0);
	assert_string_equal(net_server_auth(f->srv, 0), "Bearer tok-123");
	assert_string_equal(net_server_auth(f->srv, 1), "Bearer tok-123");

	/* A second 401 is final. */
	call(f, "GET", "/me", &t, LANE_FREEZE, 5);
	run_until(f->base, &t.called, 1, 5000);
	assert_false(t.ok);
	assert_int_equal(t.attempts, 2);
	assert_int_equal(t.status, 401);
	assert_string_equal(t.error, "HTTP 401: still no");
	assert_int_equal(net_server_hits(f->srv), 4);
}

/* Salesforce-like classifier: 403 REQUEST_LIMIT_EXCEEDED = long wait, 418 final. */
static enum call_verdict
classify(const struct http_response *r, char *err, size_t errlen)
{
	if (r->status == 403 && strstr(r->body, "REQUEST_LIMIT_EXCEEDED")) {
		snprintf(err, errlen, "REQUEST_LIMIT_EXCEEDED");
		return CALL_RETRY_LONG;
	}
	if (r->status == 503) {
		snprintf(err, errlen, "maintenance");
		return CALL_DONE;
	}
	if (r->status == 200 && strstr(r->body, "\"success\":false")) {
		snprintf(err, errlen, "partial failure");
		return CALL_RETRY;
	}
	return CALL_DEFAULT;
}

static void
test_classifier(void **state)
{
	struct fixture	*f = *state;
	struct res	 a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	struct net_step	 steps[] = {
		{ 403, NULL, "[{\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\"}]", 0 },
		{ 200, NULL, "ok", 0 },
		{ 200, NULL, "ok", 0 },
		{ 503, NULL, "down", 0 },
		{ 200, NULL, "{\"success\":false}", 0 },
	};

	net_server_script(f->srv, steps, 5);
	make_target(f, classify);
	call(f, "GET", "/a", &a, LANE_FREEZE, 3);
	wait_hits(f, 1);
	run_until(f->base, &a.retries, 1, 2000);
	/* The long wait blocks the target: b waits as well. */
	call(f, "GET", "/b", &b, LANE_URGENT, 1);
	run_until(f->base, &a.called, 1, 5000);
	run_until(f->base, &b.called, 1, 5000);
	assert_true(a.ok && b.ok);
	assert_int_equal(a.retry_delay[0], 300);
	assert_string_equal(a.retry_error[0], "HTTP 403: REQUEST_LIMIT_EXCEEDED");
	assert_true(net_server_arrival(f->srv, 1) -
	    net_server_arrival(f->srv, 0) >= 280);
	assert_true(net_server_arrival(f->srv, 2) -
	    net_server_arrival(f->srv, 0) >= 280);

	call(f, "GET", "/c", &c, LANE_FREEZE, 3);
	run_until(f->base, &c.called, 1, 5000);
	assert_false(c.ok);
	assert_int_equal(c.attempts, 1);
	assert_string_equal(c.error, "HTTP 503: maintenance");

	call(f, "GET", "/d", &d, LANE_FREEZE, 1);
	run_until(f->base, &d.called, 1, 5000);
	assert_false(d.ok);
	assert_int_equal(d.status, 200);
	assert_string_equal(d.error,
	    "HTTP 200 after 1 attempt: partial failure");
}

static void
test_api_usage_slowdown(void **state)
{
	struct fixture	*f = *state;
	struct res	 first = { 0 }, s[6], back[6];
	struct net_step	 high = { 200, "Sforce-Limit-Info: api-usage=95/100, "
			    "per-app-api-usage=1/250(appName=x)", "ok", 0 };
	struct net_step	 low = { 200, "Sforce-Limit-Info: api-usage=50/100",
			    "ok", 0 };
	long		 used = -1, limit = -1;
	uint64_t	 t0;
	int		 i;

	memset(s, 0, sizeof s);
	memset(back, 0, sizeof back);
	net_server_default(f->srv, &high);
	f->cfg.limits.rate_per_sec = 10;
	f->cfg.limits.burst = 1;
	make_target(f, NULL);
	target_set_signals(f->t, sf_signals);
	target_api_usage(f->t, &used, &limit);
	assert_int_equal(used, 0);
	assert_int_equal(limit, 0);
	call(f, "GET", "/u", &first, LANE_FREEZE, 1);
	run_until(f->base, &first.called, 1, 5000);
	target_api_usage(f->t, &used, &limit);
	assert_int_equal(used, 95);
	assert_int_equal(limit, 100);

	/* Halved to 5/s: 6 calls need about 1 s instead of 0.5 s. */
	t0 = clock_mono_ms();
	for (i = 0; i < 6; i++)
		call(f, "GET", "/u", &s[i], LANE_FREEZE, 1);
	run_until(f->base, &s[5].called, 1, 5000);
	assert_true(s[5].ok);
	assert_true(clock_mono_ms() - t0 >= 950);

	/* Usage falls: back to 10/s. */
	net_server_default(f->srv, &low);
	call(f, "GET", "/u", &first, LANE_FREEZE, 1);
	run_until(f->base, &first.called, 2, 5000);
	target_api_usage(f->t, &used, &limit);
	assert_int_equal(used, 50);
	t0 = clock_mono_ms();
	for (i = 0; i < 6; i++)
		call(f, "GET", "/u", &back[i], LANE_FREEZE, 1);
	run_until(f->base, &back[5].called, 1, 5000);
	assert_true(back[5].ok);
	assert_true(clock_mono_ms() - t0 < 900);
}

/* target_free drops queued, waiting, authenticating and in-flight calls. */
static void
never_cb(const struct target_result *r, void *arg)
{
	fail_msg("dropped call called back");
}

static void
test_free_with_calls(void **state)
{
	struct fixture		*f = *state;
	struct net_step		 steps[] = {
		{ 503, NULL, "x", 0 },		/* then waits to retry */
		{ 200, NULL, "y", 3000 },	/* stays in flight */
	};
	struct target_req	 req = { "POST", "/z", "{}", 2, "application/json",
				    NULL };
	struct call_opts	 o;
	int			 i, never = 0;

	net_server_script(f->srv, steps, 2);
	f->cfg.limits.concurrency = 1;
	make_target(f, NULL);
	memset(&o, 0, sizeof o);
	o.lane = LANE_FREEZE;
	o.max_attempts = 5;
	o.initial_backoff_ms = 5000;
	o.max_backoff_ms = 5000;
	for (i = 0; i < 4; i++)
		assert_int_equal(target_call(f->t, &req, &o, never_cb, NULL), 0);
	wait_hits(f, 2);
	run_until(f->base, &never, 1, 50);
	assert_int_equal(target_inflight(f->t), 1);
	assert_true(target_queued(f->t) >= 2);
	target_free(f->t);
	f->t = NULL;
	run_until(f->base, &never, 1, 200);
}

struct freer {
	struct fixture	*f;
	int		 called;
};

/* The result callback frees the target that called it. */
static void
freer_cb(const struct target_result *r, void *arg)
{
	struct freer *fr = arg;

	fr->called++;
	target_free(fr->f->t);
	fr->f->t = NULL;
}

static void
test_free_from_callback(void **state)
{
	struct fixture		*f = *state;
	struct freer		 fr = { f, 0 };
	struct target_req	 req = { "GET", "/q", NULL, 0, NULL, NULL };
	struct net_step		 steps[] = {
		{ 200, NULL, "a", 300 },
		{ 200, NULL, "b", 3000 },
	};
	struct call_opts	 o;
	int			 never = 0;

	net_server_script(f->srv, steps, 2);
	make_target(f, NULL);
	memset(&o, 0, sizeof o);
	o.lane = LANE_FREEZE;
	o.max_attempts = 1;
	assert_int_equal(target_call(f->t, &req, &o, freer_cb, &fr), 0);
	wait_hits(f, 1);
	assert_int_equal(target_call(f->t, &req, &o, never_cb, NULL), 0);
	run_until(f->base, &fr.called, 1, 5000);
	assert_int_equal(fr.called, 1);
	assert_null(f->t);
	run_until(f->base, &never, 1, 100);
}

static void
test_bad_calls(void **state)
{
	struct fixture		*f = *state;
	struct res		 s = { 0 };
	struct target_req	 req = { "GET", "/x", NULL, 0, NULL, NULL };
	struct call_opts	 o = opts_for(&s, LANE_FREEZE, 1);
	char			 err[128];

	make_target(f, NULL);
	assert_int_equal(target_call(f->t, &req, &o, NULL, NULL), -1);
	req.path = NULL;
	assert_int_equal(target_call(f->t, &req, &o, result_cb, &s), -1);
	req.path = "/x";
	o.lane = LANE_COUNT;
	assert_int_equal(target_call(f->t, &req, &o, result_cb, &s), -1);
	req.extra_header = "no colon";
	o.lane = LANE_FREEZE;
	assert_int_equal(target_call(f->t, &req, &o, result_cb, &s), -1);
	assert_int_equal(target_queued(f->t), 0);

	f->cfg.auth.type = "bogus";
	assert_null(target_new(f->base, f->http, &f->cfg, NULL, err,
	    sizeof err));
	assert_true(err[0] != '\0');
}

/* A fresh RSA key as PEM, for the JWT bearer flow. */
static char *
make_key_pem(void)
{
	EVP_PKEY	*key;
	BIO		*bio;
	char		*data, *pem;
	long		 len;

	key = EVP_RSA_gen(2048);
	assert_non_null(key);
	bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0,
	    NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &data);
	pem = strndup(data, (size_t)len);
	assert_non_null(pem);
	BIO_free(bio);
	EVP_PKEY_free(key);
	return pem;
}

/* A target whose tokens come from token_url (a JWT bearer flow). */
static void
make_jwt_target(struct fixture *f, char *token_url)
{
	f->cfg.auth.type = "jwt_bearer";
	f->cfg.auth.client_id = "cid";
	f->cfg.auth.username = "deprov@example.com";
	f->cfg.auth.token_url = token_url;
	f->cfg.auth.private_key_pem = make_key_pem();
	make_target(f, NULL);
}

/* The JWT token's instance_url is the base for relative paths. */
static void
test_jwt_instance_url(void **state)
{
	struct fixture	*f = *state;
	struct res	 s = { 0 };
	char		 token_url[256], token_body[320];
	struct net_step	 steps[2];

	snprintf(token_url, sizeof token_url, "%s/services/oauth2/token",
	    f->base_url);
	snprintf(token_body, sizeof token_body, "{\"access_token\":\"AT1\","
	    "\"instance_url\":\"%s\",\"id\":\"x\",\"token_type\":\"Bearer\"}",
	    f->base_url);
	memset(steps, 0, sizeof steps);
	steps[0].status = 200;
	steps[0].headers = "Content-Type: application/json";
	steps[0].body = token_body;
	steps[1].status = 200;
	steps[1].body = "api";
	net_server_script(f->srv, steps, 2);
	f->cfg.base_url = "http://127.0.0.1:1";	/* unusable: instance_url wins */
	make_jwt_target(f, token_url);
	call(f, "GET", "services/data/v60.0/limits", &s, LANE_FREEZE, 2);
	run_until(f->base, &s.called, 1, 5000);
	assert_true(s.ok);
	assert_string_equal(s.body, "api");
	assert_int_equal(net_server_hits(f->srv), 2);
	assert_string_equal(net_server_uri(f->srv, 0), "/services/oauth2/token");
	assert_string_equal(net_server_uri(f->srv, 1),
	    "/services/data/v60.0/limits");
	assert_string_equal(net_server_auth(f->srv, 1), "Bearer AT1");
}

/* A token endpoint that keeps failing: counted as attempts, then final. */
static void
test_auth_failure(void **state)
{
	struct fixture	*f = *state;
	struct res	 s = { 0 };
	char		 token_url[256];
	struct net_step	 bad = { 400, "Content-Type: application/json",
			    "{\"error\":\"invalid_grant\"}", 0 };

	snprintf(token_url, sizeof token_url, "%s/services/oauth2/token",
	    f->base_url);
	net_server_default(f->srv, &bad);
	make_jwt_target(f, token_url);
	call(f, "GET", "/x", &s, LANE_FREEZE, 3);
	run_until(f->base, &s.called, 1, 5000);
	assert_false(s.ok);
	assert_int_equal(s.attempts, 3);
	assert_int_equal(s.retries, 2);
	assert_int_equal(s.status, -1);		/* no response from the target */
	assert_true(strncmp(s.error, "auth failed after 3 attempts: ", 30) == 0);
	assert_null(strstr(s.error, "eyJ"));	/* no assertion leaked */
	assert_int_equal(net_server_hits(f->srv), 3);
}

/* target_free while calls wait for a token fetch: auth_cancel, no callback. */
static void
test_free_during_auth(void **state)
{
	struct fixture		*f = *state;
	struct target_req	 req = { "GET", "/x", NULL, 0, NULL, NULL };
	struct net_step		 slow = { 200, NULL, "{}", 3000 };
	struct call_opts	 o;
	char			 token_url[256];
	int			 i, never = 0;

	snprintf(token_url, sizeof token_url, "%s/services/oauth2/token",
	    f->base_url);
	net_server_default(f->srv, &slow);
	make_jwt_target(f, token_url);
	memset(&o, 0, sizeof o);
	o.lane = LANE_FREEZE;
	o.max_attempts = 3;
	for (i = 0; i < 3; i++)
		assert_int_equal(target_call(f->t, &req, &o, never_cb, NULL), 0);
	wait_hits(f, 1);
	run_until(f->base, &never, 1, 50);
	/* One token fetch in flight, every call waiting on it. */
	assert_int_equal(net_server_hits(f->srv), 1);
	assert_int_equal(target_inflight(f->t), 3);
	target_free(f->t);
	f->t = NULL;
	run_until(f->base, &never, 1, 200);
}

/* --- circuit breaker and X-Rate-Limit (issue 4) -------------------------- */

/* Run the loop for ms milliseconds. */
static void
run_for(struct fixture *f, long ms)
{
	int never = 0;

	run_until(f->base, &never, 1, ms);
}

/*
 * Three 503s in a row open the circuit: the failing call and a new one wait
 * (no attempt spent, nothing sent) until the open period is over, then one
 * probe goes through; its success closes the circuit and the other follows.
 */
static void
test_breaker_opens_probe_closes(void **state)
{
	struct fixture	*f = *state;
	struct res	 a = { 0 }, b = { 0 };
	struct net_step	 down = { 503, NULL, "down", 0 };
	struct net_step	 up = { 200, NULL, "up", 0 };

	net_server_default(f->srv, &down);
	f->cfg.limits.breaker_failures = 3;
	f->cfg.limits.breaker_open_ms = 400;
	make_target(f, NULL);
	assert_int_equal(target_circuit_state(f->t), TARGET_CIRCUIT_CLOSED);
	assert_string_equal(target_circuit_name(TARGET_CIRCUIT_CLOSED),
	    "closed");
	assert_string_equal(target_circuit_name(TARGET_CIRCUIT_OPEN), "open");
	assert_string_equal(target_circuit_name(TARGET_CIRCUIT_HALF_OPEN),
	    "half_open");
	call(f, "GET", "/a", &a, LANE_FREEZE, 10);
	wait_hits(f, 3);
	run_until(f->base, &a.retries, 3, 2000);
	assert_int_equal(target_circuit_state(f->t), TARGET_CIRCUIT_OPEN);
	call(f, "GET", "/b", &b, LANE_URGENT, 1);
	run_for(f, 200);
	/* Open: nothing more was sent, nobody was called back. */
	assert_int_equal(net_server_hits(f->srv), 3);
	assert_int_equal(a.called + b.called, 0);
	assert_int_equal(target_queued(f->t), 2);
	net_server_default(f->srv, &up);
	run_until(f->base, &b.called, 1, 3000);
	run_until(f->base, &a.called, 1, 3000);
	assert_true(a.ok && b.ok);
	assert_int_equal(a.attempts, 4);
	assert_int_equal(b.attempts, 1);	/* waiting spent no attempt */
	assert_int_equal(net_server_hits(f->srv), 5);
	assert_true(net_server_arrival(f->srv, 3) -
	    net_server_arrival(f->srv, 2) >= 380);
	/* The probe went alone: the other call only after it was answered. */
	assert_true(net_server_arrival(f->srv, 4) >=
	    net_server_arrival(f->srv, 3));
	assert_int_equal(net_server_max_concurrent(f->srv), 1);
	assert_int_equal(target_circuit_state(f->t), TARGET_CIRCUIT_CLOSED);
}

/*
 * A failed probe re-opens the circuit for twice as long (capped); a call
 * that runs out of attempts while it is open ends with the circuit's state
 * in its error. A call queued meanwhile is not failed: it waits, is the
 * next probe, and closes the circuit.
 */
static void
test_breaker_reopens(void **state)
{
	struct fixture	*f = *state;
	struct res	 a = { 0 }, b = { 0 };
	struct net_step	 down = { 503, NULL, "down", 0 };
	struct net_step	 up = { 200, NULL, "up", 0 };
	uint64_t	 gap1, gap2, gap3;

	net_server_default(f->srv, &down);
	f->cfg.limits.breaker_failures = 2;
	f->cfg.limits.breaker_open_ms = 200;
	f->cfg.limits.breaker_max_open_ms = 300;
	make_target(f, NULL);
	call(f, "GET", "/a", &a, LANE_FREEZE, 5);
	run_until(f->base, &a.called, 1, 5000);
	assert_false(a.ok);
	assert_int_equal(a.attempts, 5);
	assert_int_equal(net_server_hits(f->srv), 5);
	gap1 = net_server_arrival(f->srv, 2) - net_server_arrival(f->srv, 1);
	gap2 = net_server_arrival(f->srv, 3) - net_server_arrival(f->srv, 2);
	gap3 = net_server_arrival(f->srv, 4) - net_server_arrival(f->srv, 3);
	assert_true(gap1 >= 190);	/* opened after 2 failures: 200 ms */
	assert_true(gap2 >= 290);	/* the probe failed: doubled, capped at 300 */
	assert_true(gap3 >= 290);
	assert_string_equal(a.error, "HTTP 503 after 5 attempts: down; circuit "
	    "open after 5 consecutive failures; last: HTTP 503");
	assert_int_equal(target_circuit_state(f->t), TARGET_CIRCUIT_OPEN);

	/* Queued while open: not failed, sent when the period is over. */
	call(f, "GET", "/b", &b, LANE_FREEZE, 1);
	run_for(f, 50);
	assert_int_equal(b.called, 0);
	net_server_default(f->srv, &up);
	run_until(f->base, &b.called, 1, 3000);
	assert_true(b.ok);
	assert_int_equal(b.attempts, 1);
	assert_int_equal(target_circuit_state(f->t), TARGET_CIRCUIT_CLOSED);
}

/* Timeouts count as failures; any answer (even a 404) closes the circuit. */
static void
test_breaker_timeouts(void **state)
{
	struct fixture	*f = *state;
	struct res	 a = { 0 }, b = { 0 };
	struct net_step	 steps[] = {
		{ 200, NULL, "late", 1000 },
		{ 200, NULL, "late", 1000 },
		{ 404, NULL, "no such user", 0 },
	};

	net_server_script(f->srv, steps, 3);
	f->cfg.limits.timeout_ms = 100;
	f->cfg.limits.breaker_failures = 2;
	f->cfg.limits.breaker_open_ms = 200;
	make_target(f, NULL);
	call(f, "GET", "/t", &a, LANE_FREEZE, 2);
	run_until(f->base, &a.called, 1, 3000);
	assert_false(a.ok);
	assert_string_equal(a.error, "timeout after 2 attempts; circuit open "
	    "after 2 consecutive failures; last: timeout");
	call(f, "GET", "/u", &b, LANE_FREEZE, 3);
	run_until(f->base, &b.called, 1, 3000);
	assert_false(b.ok);
	assert_int_equal(b.status, 404);
	assert_string_equal(b.error, "HTTP 404: no such user");
	assert_int_equal(target_circuit_state(f->t), TARGET_CIRCUIT_CLOSED);
}

/* "X-Rate-Limit-...: n" lines with Reset `secs` from now. */
static void
xrl_headers(char *buf, size_t len, long limit, long remaining, long secs)
{
	snprintf(buf, len, "X-Rate-Limit-Limit: %ld\nX-Rate-Limit-Remaining: "
	    "%ld\nX-Rate-Limit-Reset: %lld", limit, remaining,
	    (long long)time(NULL) + secs);
}

/* Remaining 0: nothing is sent until Reset (plus a margin). */
static void
test_xrl_remaining_zero_holds(void **state)
{
	struct fixture	*f = *state;
	struct res	 a = { 0 }, b = { 0 }, c = { 0 };
	char		 hdr[256];
	long		 limit = -1, remaining = -2;
	struct net_step	 steps[1];

	xrl_headers(hdr, sizeof hdr, 600, 0, 2);
	memset(steps, 0, sizeof steps);
	steps[0].status = 200;
	steps[0].headers = hdr;
	steps[0].body = "last one";
	net_server_script(f->srv, steps, 1);
	make_target(f, NULL);
	target_set_signals(f->t, okta_signals);
	target_rate_window(f->t, &limit, &remaining);
	assert_int_equal(limit, 0);
	assert_int_equal(remaining, -1);
	call(f, "GET", "/a", &a, LANE_FREEZE, 1);
	run_until(f->base, &a.called, 1, 3000);
	assert_true(a.ok);
	target_rate_window(f->t, &limit, &remaining);
	assert_int_equal(limit, 600);
	assert_int_equal(remaining, 0);
	call(f, "GET", "/b", &b, LANE_URGENT, 1);
	call(f, "GET", "/c", &c, LANE_FREEZE, 1);
	run_for(f, 500);
	assert_int_equal(net_server_hits(f->srv), 1);
	run_until(f->base, &c.called, 1, 5000);
	assert_true(b.ok && c.ok);
	/* Reset is 1-2 s away in whole seconds, plus the 1 s margin. */
	assert_true(net_server_arrival(f->srv, 1) -
	    net_server_arrival(f->srv, 0) >= 1900);
	/* The new window: the full limit, less what was sent. */
	target_rate_window(f->t, &limit, &remaining);
	assert_int_equal(remaining, 598);
}

/*
 * Remaining counts down with every call sent after the response, and a call
 * still on the wire when the response came counts as sent.
 */
static void
test_xrl_counts_in_flight(void **state)
{
	struct fixture	*f = *state;
	struct res	 a = { 0 }, b = { 0 }, c = { 0 }, d[3];
	char		 hdr[256];
	struct net_step	 steps[2];
	int		 i;

	memset(d, 0, sizeof d);
	xrl_headers(hdr, sizeof hdr, 100, 3, 2);
	memset(steps, 0, sizeof steps);
	steps[0].status = 200;
	steps[0].headers = hdr;		/* the first to arrive: answered now */
	steps[0].body = "first";
	steps[1].status = 200;
	steps[1].body = "slow";		/* the other: still on the wire */
	steps[1].delay_ms = 300;
	net_server_script(f->srv, steps, 2);
	make_target(f, NULL);
	target_set_signals(f->t, okta_signals);
	call(f, "GET", "/a", &a, LANE_FREEZE, 1);
	call(f, "GET", "/b", &b, LANE_FREEZE, 1);
	while (a.called + b.called == 0)
		run_for(f, 5);
	/* Remaining 3, one in flight: two more may go now, then wait. */
	call(f, "GET", "/c", &c, LANE_FREEZE, 1);
	for (i = 0; i < 3; i++)
		call(f, "GET", "/d", &d[i], LANE_FREEZE, 1);
	run_for(f, 600);
	assert_int_equal(net_server_hits(f->srv), 4);
	assert_int_equal(c.called + d[0].called + d[1].called + d[2].called, 2);
	run_until(f->base, &d[2].called, 1, 5000);
	assert_true(c.ok && d[0].ok && d[1].ok && d[2].ok);
	assert_true(net_server_arrival(f->srv, 4) -
	    net_server_arrival(f->srv, 0) >= 1900);
}

/* A 429 without Retry-After waits for X-Rate-Limit-Reset (Okta). */
static void
test_429_xrl_reset(void **state)
{
	struct fixture	*f = *state;
	struct res	 s = { 0 };
	char		 hdr[256];
	struct net_step	 steps[2];

	xrl_headers(hdr, sizeof hdr, 600, 0, 2);
	memset(steps, 0, sizeof steps);
	steps[0].status = 429;
	steps[0].headers = hdr;
	steps[0].body = "{\"errorCode\":\"E0000047\"}";
	steps[1].status = 200;
	steps[1].body = "ok";
	net_server_script(f->srv, steps, 2);
	make_target(f, NULL);
	target_set_signals(f->t, okta_signals);
	call(f, "POST", "/api/v1/users/x/lifecycle/suspend", &s, LANE_FREEZE, 5);
	run_until(f->base, &s.called, 1, 6000);
	assert_true(s.ok);
	assert_int_equal(s.attempts, 2);
	assert_true(s.retry_delay[0] >= 1900);
	assert_true(net_server_arrival(f->srv, 1) -
	    net_server_arrival(f->srv, 0) >= 1900);
	assert_int_equal(target_circuit_state(f->t), TARGET_CIRCUIT_CLOSED);
}

/* Google: 403 rateLimitExceeded is retried when the connector says so. */
static enum call_verdict
classify_google(const struct http_response *r, char *err, size_t errlen)
{
	if (r->status == 403 && (strstr(r->body, "userRateLimitExceeded") ||
	    strstr(r->body, "rateLimitExceeded") ||
	    strstr(r->body, "quotaExceeded"))) {
		snprintf(err, errlen, "rate limit exceeded");
		return CALL_RETRY;
	}
	return CALL_DEFAULT;
}

static void
test_403_retry(void **state)
{
	struct fixture	*f = *state;
	struct res	 s = { 0 }, t = { 0 };
	struct net_step	 steps[] = {
		{ 403, NULL, "{\"error\":{\"errors\":[{\"reason\":"
		    "\"userRateLimitExceeded\"}]}}", 0 },
		{ 403, NULL, "{\"error\":{\"errors\":[{\"reason\":"
		    "\"quotaExceeded\"}]}}", 0 },
		{ 200, NULL, "ok", 0 },
		{ 403, NULL, "{\"error\":{\"errors\":[{\"reason\":"
		    "\"forbidden\"}]}}", 0 },
	};

	net_server_script(f->srv, steps, 4);
	make_target(f, classify_google);
	call(f, "PUT", "/admin/directory/v1/users/x", &s, LANE_FREEZE, 5);
	run_until(f->base, &s.called, 1, 5000);
	assert_true(s.ok);
	assert_int_equal(s.attempts, 3);
	assert_int_equal(s.retries, 2);
	assert_string_equal(s.retry_error[0], "HTTP 403: rate limit exceeded");
	/* Any other 403 is final. */
	call(f, "PUT", "/admin/directory/v1/users/x", &t, LANE_FREEZE, 5);
	run_until(f->base, &t.called, 1, 5000);
	assert_false(t.ok);
	assert_int_equal(t.attempts, 1);
	assert_int_equal(t.status, 403);
}

/*
 * target_reconfigure: one slot, then three (the queued calls go at once);
 * a call on the wire keeps the token it was sent with, the next one takes
 * the new; another kind is refused and changes nothing.
 */
static void
test_reconfigure(void **state)
{
	struct fixture		*f = *state;
	struct config_target	 next, other;
	struct res		 s[6], t = { 0 };
	struct net_step		 slow = { 200, NULL, "ok", 500 };
	char			 err[256] = "";
	int			 i, done;

	memset(s, 0, sizeof s);
	net_server_default(f->srv, &slow);
	f->cfg.limits.concurrency = 1;
	f->cfg.auth.type = "bearer";
	f->cfg.auth.token = "tok-old-123";
	make_target(f, NULL);
	for (i = 0; i < 4; i++)
		call(f, "GET", "/c", &s[i], LANE_REMEDIATE, 1);
	wait_hits(f, 1);
	assert_int_equal(target_inflight(f->t), 1);

	next = f->cfg;
	next.limits.concurrency = 3;
	next.auth.token = "tok-new-456";
	other = next;
	other.kind = "okta";
	assert_int_equal(target_reconfigure(f->t, &other, err, sizeof err), -1);
	assert_non_null(strstr(err, "kind"));
	assert_int_equal(target_reconfigure(f->t, &next, err, sizeof err), 0);
	assert_ptr_equal(target_config(f->t), &next);
	/* Two more slots: two queued calls go while the first is on the wire. */
	wait_hits(f, 3);
	assert_int_equal(target_inflight(f->t), 3);
	for (done = 0; done < 4; ) {
		run_until(f->base, &s[0].called, 2, 5);
		for (done = 0, i = 0; i < 4; i++)
			done += s[i].called;
	}
	for (i = 0; i < 4; i++)
		assert_true(s[i].ok);
	assert_int_equal(net_server_max_concurrent(f->srv), 3);
	assert_string_equal(net_server_auth(f->srv, 0), "Bearer tok-old-123");
	for (i = 1; i < 4; i++)
		assert_string_equal(net_server_auth(f->srv, (size_t)i),
		    "Bearer tok-new-456");
	call(f, "GET", "/c", &t, LANE_REMEDIATE, 1);
	run_until(f->base, &t.called, 1, 5000);
	assert_true(t.ok);
	assert_string_equal(net_server_auth(f->srv, 4), "Bearer tok-new-456");
	/* The fixture frees f->t with its own configuration in place. */
	assert_int_equal(target_reconfigure(f->t, &f->cfg, err, sizeof err), 0);
}

/*
 * target_reconfigure while calls wait for a token of the old credentials:
 * the fetch is dropped, the calls go back to their lanes and are sent with
 * the new credentials (nothing freed under them: run under ASan).
 */
static void
test_reconfigure_during_auth(void **state)
{
	struct fixture		*f = *state;
	struct config_target	 next;
	struct res		 s[3];
	struct net_step		 steps[4];
	char			 token_url[256], err[256] = "";
	int			 i;

	memset(s, 0, sizeof s);
	memset(steps, 0, sizeof steps);
	snprintf(token_url, sizeof token_url, "%s/services/oauth2/token",
	    f->base_url);
	steps[0].status = 200;
	steps[0].body = "{\"access_token\":\"AT-old\",\"token_type\":\"Bearer\"}";
	steps[0].delay_ms = 2000;
	for (i = 1; i < 4; i++) {
		steps[i].status = 200;
		steps[i].body = "api";
	}
	net_server_script(f->srv, steps, 4);
	make_jwt_target(f, token_url);
	for (i = 0; i < 3; i++)
		call(f, "GET", "/x", &s[i], LANE_FREEZE, 2);
	wait_hits(f, 1);
	assert_int_equal(target_inflight(f->t), 3);	/* all waiting for it */

	next = f->cfg;
	memset(&next.auth, 0, sizeof next.auth);
	next.auth.type = "bearer";
	next.auth.token = "tok-new-456";
	assert_int_equal(target_reconfigure(f->t, &next, err, sizeof err), 0);
	for (i = 0; i < 3; i++)
		run_until(f->base, &s[i].called, 1, 5000);
	for (i = 0; i < 3; i++) {
		assert_true(s[i].ok);
		assert_int_equal(s[i].attempts, 1);
		assert_string_equal(net_server_auth(f->srv, (size_t)i + 1),
		    "Bearer tok-new-456");
	}
	assert_int_equal(net_server_hits(f->srv), 4);
	assert_int_equal(target_reconfigure(f->t, &f->cfg, err, sizeof err), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_ok_is_deferred),
		T(test_retry_5xx),
		T(test_429_retry_after),
		T(test_429_blocks_target),
		T(test_retry_after_date),
		T(test_exhausted),
		T(test_timeout_exhausted),
		T(test_refused_and_dropped),
		T(test_concurrency_cap),
		T(test_reconfigure),
		T(test_reconfigure_during_auth),
		T(test_lanes),
		T(test_retry_goes_first),
		T(test_lane_order),
		T(test_lane_order_many),
		T(test_rate_limit),
		T(test_reauth_once),
		T(test_classifier),
		T(test_api_usage_slowdown),
		T(test_free_with_calls),
		T(test_free_from_callback),
		T(test_bad_calls),
		T(test_jwt_instance_url),
		T(test_auth_failure),
		T(test_free_during_auth),
		T(test_breaker_opens_probe_closes),
		T(test_breaker_reopens),
		T(test_breaker_timeouts),
		T(test_xrl_remaining_zero_holds),
		T(test_xrl_counts_in_flight),
		T(test_429_xrl_reset),
		T(test_403_retry),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
