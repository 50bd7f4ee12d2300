/*
 * target: the runtime of one configured target. A call is queued in one of
 * three lanes (urgent before freeze before remediation). Inside a lane the
 * call with the lowest opts.order goes first (for remediation the engine
 * passes the case id: the oldest case first), then the call made first; a
 * retried call keeps its place. So a case's next remediation call does not
 * queue behind one call of every younger case, and cases finish one after
 * another rather than all together at the end of a layoff, at the same
 * throughput. The pump takes calls off the
 * lanes while fewer than limits.concurrency are in flight and the token
 * bucket has a token; otherwise an evtimer wakes it when the next token is
 * due, or it runs again when a slot frees. A call holds its slot while its
 * token is fetched (auth_get) and while its HTTP request is in flight, not
 * while it waits for a retry. Every response is classified (the connector
 * first, then the defaults: transport errors, 429 and 5xx retry, 401
 * re-authenticates once) and retried with full-jitter backoff, never sooner
 * than the server's Retry-After (or, when it has none, the wait the kind's
 * signals hook read in the answer). The target knows no vendor's headers:
 * the hook of the target's kind (connector.h) reads them from every answer
 * and tells the target what they say (target_signal_*: a wait, a quota's
 * usage, a request window). Two gates hold queued calls without spending
 * their attempts: the request window (at 0 sends left, counting calls sent
 * since, nothing goes out until it resets) and the circuit breaker (open
 * after consecutive transport errors, timeouts or 5xx; one half-open probe;
 * closed by any other answer). The final result is handed to the caller
 * from its own loop event, so a caller may do anything there (start calls,
 * free the target); on_retry, the classifier and the signals hook run
 * inside the target and must not free it.
 */
#include <sys/queue.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "deprov/auth.h"
#include "deprov/backoff.h"
#include "deprov/clock.h"
#include "deprov/http.h"
#include "deprov/laneheap.h"
#include "deprov/log.h"
#include "deprov/ratelimit.h"
#include "deprov/target.h"

#define TARGET_DEFAULT_CONCURRENCY	4
#define TARGET_DEFAULT_LIMIT_BACKOFF_MS	60000L
/*
 * Waits a peer asks for (Retry-After, a reset time) are clamped to
 * this: a target cannot hold its own calls longer with one answer (an
 * org-wide daily limit is limits.limit_backoff_ms, from the configuration).
 */
#define TARGET_MAX_RETRY_AFTER_MS	(3600L * 1000)
#define TARGET_BODY_EXCERPT		200
#define TARGET_DEFAULT_BREAKER_FAILURES	5
#define TARGET_DEFAULT_BREAKER_OPEN_MS	30000L
#define TARGET_DEFAULT_BREAKER_MAX_MS	300000L
/* A signalled reset: wait this much past it (clocks and rounding). */
#define TARGET_WIN_MARGIN_MS		1000L
/* A request window whose reset was not said is taken to be a minute. */
#define TARGET_WIN_DEFAULT_MS		60000L
#define TARGET_WIN_MAX_WAIT_S		(TARGET_MAX_RETRY_AFTER_MS / 1000)
/* A response's Date stands in for our clock only when this close to it. */
#define TARGET_DATE_MAX_SKEW_S		86400LL

enum call_state {
	CALL_QUEUED,		/* in a lane */
	CALL_AUTH,		/* holds a slot, waiting for auth_get */
	CALL_SENDING,		/* holds a slot, HTTP request in flight */
	CALL_WAITING,		/* backoff timer running */
	CALL_FINISHED		/* result delivery pending on the loop */
};

struct call {
	struct target		*t;
	struct laneheap_item	 li;		/* lane order: opts.order, then target_call order */
	enum call_state		 state;
	char			*method;
	char			*path;
	char			*body;		/* NULL = no body */
	size_t			 body_len;
	char			*content_type;
	char			*extra_name;
	char			*extra_value;
	struct call_opts	 opts;
	target_cb		 cb;
	void			*arg;

	int			 attempts;	/* sends (and failed token fetches) */
	int			 reauthed;	/* the one fresh-token retry was used */
	char			*auth_header;	/* sent with the last attempt */
	struct http_request	*hreq;		/* CALL_SENDING: owned by http */
	struct event		*ev;		/* backoff timer, then delivery */

	/* The result, once CALL_FINISHED. */
	struct http_response	*resp;
	int			 ok;
	char			*error;

	TAILQ_ENTRY(call)	 all_entry;
};
TAILQ_HEAD(call_list, call);

struct target {
	struct event_base		*base;
	struct http			*http;
	const struct config_target	*cfg;
	target_classify_cb		 classify;
	struct auth			*auth;		/* NULL: no Authorization */
	struct ratelimit		 rl;
	double				 rate;		/* configured rate */
	int				 slowed;	/* rate halved for API usage */
	size_t				 concurrency;
	struct event			*wake;		/* next token is due */
	struct event			*kick;		/* deferred pump */
	int				 pumping;
	/* Room for every call not yet delivered is reserved when it is made. */
	struct laneheap			 lanes[LANE_COUNT];
	struct call_list		 calls;		/* every call not yet delivered */
	size_t				 inflight;
	size_t				 queued;
	uint64_t			 seq;
	target_signals_cb		 signals;	/* the kind's hook, may be NULL */
	long				 sig_wait_ms;	/* signalled for this answer, -1 = none */
	long				 api_used;
	long				 api_limit;
	size_t				 sending;	/* HTTP requests on the wire */
	/* The request window (target_signal_window): never send past it. */
	long				 win_limit;	/* 0 = unknown */
	long				 win_budget;	/* sends left in the window, -1 = unknown */
	uint64_t			 win_reset_ms;	/* when the window resets */
	long				 win_rmin;	/* lowest remaining seen in the window */
	long long			 win_epoch;	/* the window's name (its reset time) */
	/* Circuit breaker. */
	enum target_circuit		 circuit;
	int				 cb_failures;	/* consecutive failed sends */
	int				 cb_threshold;
	long				 cb_open_base_ms;
	long				 cb_open_max_ms;
	long				 cb_open_ms;	/* the current open period */
	uint64_t			 cb_open_until;
	struct call			*cb_probe;	/* half-open: the call let through */
	char				 cb_last[64];	/* the last failure, short */
	struct target_stats		 stats;
};

static void	target_pump(struct target *);
static void	target_kick_cb(evutil_socket_t, short, void *);
static void	target_wake_cb(evutil_socket_t, short, void *);
static void	target_call_ev_cb(evutil_socket_t, short, void *);
static void	target_auth_cb(const char *, const char *, const char *, void *);
static void	target_send(struct call *, const char *, const char *);
static void	target_http_cb(const struct http_response *, void *);
static void	target_attempt_end(struct call *, const struct http_response *,
		    enum call_verdict, const char *, const char *);
static void	target_finish(struct call *, const struct http_response *, int,
		    const char *);
static void	target_enqueue(struct call *);
static void	target_call_free(struct call *);
static long	target_retry_after_ms(const struct http_response *);
static void	target_describe(char *, size_t, const struct http_response *,
		    const char *, const char *);
static void	target_circuit_text(const struct target *, char *, size_t);
static void	target_circuit_open(struct target *, uint64_t, int);
static void	target_circuit_note(struct target *, struct call *,
		    const struct http_response *);
static uint64_t	target_gate(struct target *, uint64_t);
static void	target_limits(struct target *, const struct config_limits *);
static double	target_slow_rate(const struct target *);
static int	target_auth_new(struct target *, const struct config_target *,
		    struct auth **, char *, size_t);

struct target *
target_new(struct event_base *base, struct http *http,
    const struct config_target *cfg, target_classify_cb classify, char *err,
    size_t errlen)
{
	struct target	*t = NULL;

	if (base == NULL || http == NULL || cfg == NULL) {
		snprintf(err, errlen, "target: missing loop, http client or "
		    "configuration");
		return NULL;
	}
	t = calloc(1, sizeof *t);
	if (t == NULL) {
		snprintf(err, errlen, "%s: out of memory", cfg->name);
		return NULL;
	}
	t->base = base;
	t->http = http;
	t->cfg = cfg;
	t->classify = classify;
	TAILQ_INIT(&t->calls);
	target_limits(t, &cfg->limits);
	/* A full bucket to begin with. */
	ratelimit_init(&t->rl, t->rate, t->rl.burst, clock_mono_ms());
	t->win_budget = -1;
	t->sig_wait_ms = -1;
	t->circuit = TARGET_CIRCUIT_CLOSED;
	t->cb_open_ms = t->cb_open_base_ms;

	t->wake = evtimer_new(base, target_wake_cb, t);
	t->kick = event_new(base, -1, 0, target_kick_cb, t);
	if (t->wake == NULL || t->kick == NULL) {
		snprintf(err, errlen, "%s: cannot create events", cfg->name);
		goto fail;
	}
	if (target_auth_new(t, cfg, &t->auth, err, errlen) != 0)
		goto fail;
	return t;
fail:
	target_free(t);
	return NULL;
}

/* The limits' settings into t (at start, and again at a reload). */
static void
target_limits(struct target *t, const struct config_limits *l)
{
	uint64_t now = clock_mono_ms();

	t->concurrency = l->concurrency > 0 ? (size_t)l->concurrency :
	    TARGET_DEFAULT_CONCURRENCY;
	t->rate = l->rate_per_sec > 0 ? l->rate_per_sec : 0;
	/* Slowed for a quota's usage: it stays so, at half the new rate. */
	if (t->rate <= 0)
		t->slowed = 0;
	ratelimit_set_rate(&t->rl, t->slowed ? target_slow_rate(t) : t->rate,
	    now);
	ratelimit_set_burst(&t->rl, l->burst > 0 ? l->burst :
	    (t->rate > 1 ? t->rate : 1), now);
	t->cb_threshold = l->breaker_failures > 0 ? l->breaker_failures :
	    TARGET_DEFAULT_BREAKER_FAILURES;
	t->cb_open_base_ms = l->breaker_open_ms > 0 ? l->breaker_open_ms :
	    TARGET_DEFAULT_BREAKER_OPEN_MS;
	t->cb_open_max_ms = l->breaker_max_open_ms > 0 ?
	    l->breaker_max_open_ms : TARGET_DEFAULT_BREAKER_MAX_MS;
	if (t->cb_open_max_ms < t->cb_open_base_ms)
		t->cb_open_max_ms = t->cb_open_base_ms;
}

/* The rate while slowed for a quota's usage: half, at least 1/s, at most the rate. */
static double
target_slow_rate(const struct target *t)
{
	double rate = t->rate / 2 < 1 ? 1 : t->rate / 2;

	return rate > t->rate ? t->rate : rate;
}

/* The credentials of cfg (NULL: no Authorization); 0 or -1 with err. */
static int
target_auth_new(struct target *t, const struct config_target *cfg,
    struct auth **out, char *err, size_t errlen)
{
	*out = NULL;
	if (cfg->auth.type == NULL || strcmp(cfg->auth.type, "none") == 0)
		return 0;
	*out = auth_new(t->http, &cfg->auth, err, errlen);
	return *out == NULL ? -1 : 0;
}

int
target_reconfigure(struct target *t, const struct config_target *cfg,
    char *err, size_t errlen)
{
	struct auth	*auth = NULL;
	struct call	*c;
	int		 requeued = 0;

	if (strcmp(cfg->name, t->cfg->name) != 0 ||
	    strcmp(cfg->kind, t->cfg->kind) != 0) {
		snprintf(err, errlen, "%s: a target's name and kind stay until "
		    "a restart", t->cfg->name);
		return -1;
	}
	if (!auth_config_same(&cfg->auth, &t->cfg->auth)) {
		if (target_auth_new(t, cfg, &auth, err, errlen) != 0)
			return -1;
		/*
		 * Calls waiting for a token of the old credentials go back to
		 * their lanes (slot given back) and take one of the new; calls
		 * on the wire finish with what they were sent with, and a 401
		 * of theirs fetches a new token as usual.
		 */
		TAILQ_FOREACH(c, &t->calls, all_entry) {
			if (c->state != CALL_AUTH)
				continue;
			auth_cancel(t->auth, target_auth_cb, c);
			if (c == t->cb_probe)
				t->cb_probe = NULL;
			t->inflight--;
			target_enqueue(c);
			requeued++;
		}
		if (t->auth != NULL)
			auth_free(t->auth);
		t->auth = auth;	/* ownership: the target's */
		auth = NULL;
	}
	t->cfg = cfg;
	target_limits(t, &cfg->limits);
	/* More room or new credentials: queued calls may go now. */
	if (requeued > 0 || t->queued > 0)
		event_active(t->kick, EV_TIMEOUT, 1);
	return 0;
}

void
target_free(struct target *t)
{
	struct call	*c;
	int		 i;

	if (t == NULL)
		return;
	while ((c = TAILQ_FIRST(&t->calls)) != NULL) {
		TAILQ_REMOVE(&t->calls, c, all_entry);
		switch (c->state) {
		case CALL_QUEUED:
			break;		/* the lanes go below */
		case CALL_AUTH:
			auth_cancel(t->auth, target_auth_cb, c);
			break;
		case CALL_SENDING:
			if (c->hreq != NULL)
				http_request_cancel(t->http, c->hreq);
			c->hreq = NULL;
			break;
		case CALL_WAITING:
		case CALL_FINISHED:
			break;
		}
		target_call_free(c);
	}
	if (t->auth != NULL)
		auth_free(t->auth);
	if (t->wake != NULL)
		event_free(t->wake);
	if (t->kick != NULL)
		event_free(t->kick);
	for (i = 0; i < LANE_COUNT; i++)
		laneheap_free(&t->lanes[i]);
	free(t);
}

const char *
target_name(const struct target *t)
{
	return t->cfg->name;
}

const char *
target_kind(const struct target *t)
{
	return t->cfg->kind;
}

const struct config_target *
target_config(const struct target *t)
{
	return t->cfg;
}

size_t
target_inflight(const struct target *t)
{
	return t == NULL ? 0 : t->inflight;
}

size_t
target_queued(const struct target *t)
{
	return t == NULL ? 0 : t->queued;
}

void
target_api_usage(const struct target *t, long *used, long *limit)
{
	if (used != NULL)
		*used = t != NULL ? t->api_used : 0;
	if (limit != NULL)
		*limit = t != NULL ? t->api_limit : 0;
}

enum target_circuit
target_circuit_state(const struct target *t)
{
	return t == NULL ? TARGET_CIRCUIT_CLOSED : t->circuit;
}

const char *
target_circuit_name(enum target_circuit st)
{
	switch (st) {
	case TARGET_CIRCUIT_CLOSED:
		return "closed";
	case TARGET_CIRCUIT_OPEN:
		return "open";
	case TARGET_CIRCUIT_HALF_OPEN:
		return "half_open";
	}
	return "unknown";
}

void
target_rate_window(const struct target *t, long *limit, long *remaining)
{
	if (limit != NULL)
		*limit = t != NULL ? t->win_limit : 0;
	if (remaining != NULL)
		*remaining = t != NULL ? t->win_budget : -1;
}

void
target_set_signals(struct target *t, target_signals_cb signals)
{
	if (t != NULL)
		t->signals = signals;
}

/*
 * An unsigned decimal with optional spaces around it; a value too large for
 * a long long is LLONG_MAX (a wait that long is clamped anyway). 0, or -1
 * when v is not such a number ("+1", "-1", "1x", "1.5", "").
 */
static int
target_decimal(const char *v, long long *out)
{
	long long n = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	if (*v < '0' || *v > '9')
		return -1;
	for (; *v >= '0' && *v <= '9'; v++) {
		if (n > (LLONG_MAX - (*v - '0')) / 10)
			n = LLONG_MAX;
		else
			n = n * 10 + (*v - '0');
	}
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v != '\0')
		return -1;
	*out = n;
	return 0;
}

/*
 * An HTTP-date (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT") as epoch
 * seconds; 0, or -1 when v is not one or its year is outside 1970..9999.
 */
static int
target_http_date(const char *v, int64_t *out)
{
	struct tm	 tm;
	const char	*end;
	time_t		 when;

	memset(&tm, 0, sizeof tm);
	while (*v == ' ')
		v++;
	if ((end = strptime(v, "%a, %d %b %Y %H:%M:%S", &tm)) == NULL)
		return -1;
	while (*end == ' ')
		end++;
	if ((strncmp(end, "GMT", 3) == 0 || strncmp(end, "UTC", 3) == 0))
		end += 3;
	while (*end == ' ')
		end++;
	if (*end != '\0' || tm.tm_year < 70 || tm.tm_year > 9999 - 1900)
		return -1;
	if ((when = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = (int64_t)when;
	return 0;
}

/*
 * Milliseconds from from_s to to_s (epoch seconds), 0 when to_s is not
 * after from_s, at most max_ms. No overflow for any pair of values.
 */
static long
target_span_ms(int64_t from_s, int64_t to_s, long max_ms)
{
	uint64_t diff;

	if (to_s <= from_s)
		return 0;
	/* to_s > from_s: the true difference fits in 64 unsigned bits. */
	diff = (uint64_t)to_s - (uint64_t)from_s;
	if (diff > (uint64_t)(max_ms / 1000))
		return max_ms;
	return (long)diff * 1000;
}

long
target_wait_retry_after_ms(const char *v, int64_t now_s)
{
	long long	 secs;
	int64_t		 when;

	if (v == NULL)
		return -1;
	if (target_decimal(v, &secs) == 0)
		return secs > TARGET_MAX_RETRY_AFTER_MS / 1000 ?
		    TARGET_MAX_RETRY_AFTER_MS : (long)secs * 1000;
	if (target_http_date(v, &when) != 0)
		return -1;
	return target_span_ms(now_s, when, TARGET_MAX_RETRY_AFTER_MS);
}

long
target_wait_reset_ms(const char *reset, const char *date, int64_t now_s)
{
	long long	 epoch;
	int64_t		 when;

	if (reset == NULL || target_decimal(reset, &epoch) != 0)
		return -1;
	/*
	 * The server's own clock, so that ours being off does not matter;
	 * unless its Date is absent, malformed or implausibly far from ours.
	 */
	if (date != NULL && target_http_date(date, &when) == 0 &&
	    (when > now_s ? (uint64_t)when - (uint64_t)now_s :
	    (uint64_t)now_s - (uint64_t)when) <= (uint64_t)TARGET_DATE_MAX_SKEW_S)
		now_s = when;
	return target_span_ms(now_s, (int64_t)epoch, TARGET_WIN_MAX_WAIT_S *
	    1000L);
}

void
target_signal_wait(struct target *t, long ms)
{
	if (t == NULL)
		return;
	if (ms < 0)
		ms = 0;
	if (ms > TARGET_MAX_RETRY_AFTER_MS)
		ms = TARGET_MAX_RETRY_AFTER_MS;
	t->sig_wait_ms = ms + TARGET_WIN_MARGIN_MS;
}

/* A quota's usage (a signals hook read it); slow down when high. */
void
target_signal_usage(struct target *t, long used, long limit)
{
	double		 rate, slowdown;
	int		 over;

	if (t == NULL || limit <= 0)
		return;
	slowdown = t->cfg->limits.usage_slowdown;
	t->api_used = used;
	t->api_limit = limit;
	if (slowdown <= 0 || t->rate <= 0)
		return;
	over = (double)used / (double)limit > slowdown;
	if (over && !t->slowed) {
		rate = target_slow_rate(t);
		t->slowed = 1;
		ratelimit_set_rate(&t->rl, rate, clock_mono_ms());
		log_warn("target", "%s: API usage %ld/%ld, slowing to %.2f/s",
		    t->cfg->name, used, limit, rate);
	} else if (!over && t->slowed) {
		t->slowed = 0;
		ratelimit_set_rate(&t->rl, t->rate, clock_mono_ms());
		log_info("target", "%s: API usage %ld/%ld, rate back to %.2f/s",
		    t->cfg->name, used, limit, t->rate);
	}
}

/*
 * Follow a request window. Responses arrive out of order, so the lowest
 * remaining seen in a window is the server's latest count; the calls we may
 * still send are that less every call still on the wire (it may not have
 * been counted yet). This is worked out again at every response: a call on
 * the wire when the lowest remaining came back and answered since with a
 * higher remaining was counted already, and stops being held back
 * (subtracting it for good wasted up to limits.concurrency calls of every
 * window). Between responses each send takes one. The window is told by
 * its name (its reset time): a response of an earlier window says nothing.
 */
void
target_signal_window(struct target *t, long limit, long remaining,
    long reset_ms, long long window)
{
	long		 est;
	uint64_t	 now = clock_mono_ms(), reset;

	if (t == NULL || remaining < 0)
		return;
	if (limit > 0)
		t->win_limit = limit;
	if (reset_ms == 0)
		return;		/* a window that is over */
	if (reset_ms < 0)
		reset_ms = TARGET_WIN_DEFAULT_MS;
	reset = now + (uint64_t)reset_ms;
	/*
	 * A reset further away than the longest wait is not a window name to
	 * order answers by (9223372036854775807 would make every later window
	 * look older): fall back on timing the window.
	 */
	if (reset_ms >= TARGET_WIN_MAX_WAIT_S * 1000L)
		window = -1;
	if (window >= 0 && window < t->win_epoch)
		return;		/* an earlier window's answer, arriving late */
	if (t->win_budget < 0 || (window >= 0 ? window > t->win_epoch :
	    now >= t->win_reset_ms)) {
		/* A new window. */
		t->win_rmin = remaining;
		t->win_reset_ms = reset;
		if (window >= 0)
			t->win_epoch = window;
	} else {
		if (remaining < t->win_rmin)
			t->win_rmin = remaining;
		if (reset > t->win_reset_ms)
			t->win_reset_ms = reset;
	}
	est = t->win_rmin - (long)t->sending;
	t->win_budget = est < 0 ? 0 : est;
	if (t->win_budget == 0)
		log_info("target", "%s: the request window is used up; holding "
		    "calls for %ld ms until it resets", t->cfg->name,
		    (long)(t->win_reset_ms - now) + TARGET_WIN_MARGIN_MS);
}

/* "circuit open after 5 consecutive failures; last: HTTP 503". */
static void
target_circuit_text(const struct target *t, char *out, size_t outlen)
{
	snprintf(out, outlen, "circuit %s after %d consecutive failure%s; "
	    "last: %s", t->circuit == TARGET_CIRCUIT_OPEN ? "open" : "half-open",
	    t->cb_failures, t->cb_failures == 1 ? "" : "s",
	    t->cb_last[0] != '\0' ? t->cb_last : "unknown");
}

static void
target_circuit_open(struct target *t, uint64_t now, int reopen)
{
	if (reopen) {
		t->cb_open_ms *= 2;
		if (t->cb_open_ms > t->cb_open_max_ms)
			t->cb_open_ms = t->cb_open_max_ms;
	} else
		t->cb_open_ms = t->cb_open_base_ms;
	t->circuit = TARGET_CIRCUIT_OPEN;
	t->cb_open_until = now + (uint64_t)t->cb_open_ms;
	t->cb_probe = NULL;
	log_warn("target", "%s: circuit open for %ld ms after %d consecutive "
	    "failures (last: %s)%s", t->cfg->name, t->cb_open_ms, t->cb_failures,
	    t->cb_last, reopen ? "; the probe failed" : "");
}

/*
 * The breaker learns from every send: a transport error, timeout or 5xx is
 * a failure, any other answer shows the target alive and closes the
 * circuit. Failures of calls sent before the circuit opened do not extend
 * it; only the half-open probe's failure re-opens it (for twice as long).
 */
static void
target_circuit_note(struct target *t, struct call *c,
    const struct http_response *resp)
{
	uint64_t	now = clock_mono_ms();
	int		probe = c == t->cb_probe;

	if (probe)
		t->cb_probe = NULL;
	if (resp->status != 0 && (resp->status < 500 || resp->status > 599)) {
		if (t->circuit != TARGET_CIRCUIT_CLOSED)
			log_info("target", "%s: circuit closed: the target "
			    "answered HTTP %ld", t->cfg->name, resp->status);
		t->circuit = TARGET_CIRCUIT_CLOSED;
		t->cb_failures = 0;
		t->cb_probe = NULL;
		t->cb_open_ms = t->cb_open_base_ms;
		return;
	}
	if (resp->status == 0)
		snprintf(t->cb_last, sizeof t->cb_last, "%s", resp->timed_out ?
		    "timeout" : "transport error");
	else
		snprintf(t->cb_last, sizeof t->cb_last, "HTTP %ld", resp->status);
	if (t->cb_failures < INT_MAX)
		t->cb_failures++;
	switch (t->circuit) {
	case TARGET_CIRCUIT_CLOSED:
		if (t->cb_failures >= t->cb_threshold)
			target_circuit_open(t, now, 0);
		break;
	case TARGET_CIRCUIT_HALF_OPEN:
		if (probe)
			target_circuit_open(t, now, 1);
		break;
	case TARGET_CIRCUIT_OPEN:
		break;		/* sent before it opened */
	}
}

/*
 * May a call be started now? 0 = yes; otherwise the milliseconds to wait
 * (the circuit is open, or the request window is used up), or
 * UINT64_MAX while a half-open probe is out (its end pumps again).
 */
static uint64_t
target_gate(struct target *t, uint64_t now)
{
	uint64_t until;

	if (t->circuit == TARGET_CIRCUIT_OPEN) {
		if (now < t->cb_open_until)
			return t->cb_open_until - now;
		t->circuit = TARGET_CIRCUIT_HALF_OPEN;
		t->cb_probe = NULL;
		log_info("target", "%s: circuit half-open: letting one probe "
		    "call through", t->cfg->name);
	}
	if (t->circuit == TARGET_CIRCUIT_HALF_OPEN && t->cb_probe != NULL)
		return UINT64_MAX;
	if (t->win_budget == 0) {
		until = t->win_reset_ms + TARGET_WIN_MARGIN_MS;
		if (now < until)
			return until - now;
		/* A new window: its full limit, less what is on the wire. */
		t->win_budget = t->win_limit > 0 ? t->win_limit -
		    (long)t->sending : -1;
		t->win_rmin = t->win_limit;
		/* Answers of the old window that still come in are ignored. */
		if (t->win_epoch > 0)
			t->win_epoch++;
		if (t->win_limit > 0 && t->win_budget < 0)
			t->win_budget = 0;
		if (t->win_budget == 0) {
			t->win_reset_ms = now + TARGET_WIN_DEFAULT_MS;
			return TARGET_WIN_DEFAULT_MS;
		}
	}
	return 0;
}

void
target_get_stats(const struct target *t, struct target_stats *st)
{
	if (t == NULL)
		memset(st, 0, sizeof *st);
	else
		*st = t->stats;
}

/* The bucket's content now, refilled as ratelimit_take would (read only). */
double
target_rate_tokens(const struct target *t)
{
	uint64_t	now = clock_mono_ms(), start;
	double		tokens;

	if (t == NULL || now < t->rl.blocked_until_ms)
		return 0;
	if (t->rl.rate <= 0)
		return -1;
	start = t->rl.last_ms > t->rl.blocked_until_ms ? t->rl.last_ms :
	    t->rl.blocked_until_ms;
	tokens = t->rl.tokens;
	if (now > start)
		tokens += (double)(now - start) * t->rl.rate / 1000.0;
	return tokens > t->rl.burst ? t->rl.burst : tokens;
}

/* strdup that keeps NULL. */
static int
target_dup(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst == NULL ? -1 : 0;
}

/* Split "Name: value" into its parts. */
static int
target_split_header(struct call *c, const char *line)
{
	const char	*colon, *v;
	size_t		 nlen;

	colon = strchr(line, ':');
	if (colon == NULL || colon == line)
		return -1;
	nlen = (size_t)(colon - line);
	while (nlen > 0 && (line[nlen - 1] == ' ' || line[nlen - 1] == '\t'))
		nlen--;
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	c->extra_name = strndup(line, nlen);
	c->extra_value = strdup(v);
	if (c->extra_name == NULL || c->extra_value == NULL)
		return -1;
	return 0;
}

int
target_call(struct target *t, const struct target_req *req,
    const struct call_opts *opts, target_cb cb, void *arg)
{
	struct call *c = NULL;

	if (t == NULL || req == NULL || req->method == NULL ||
	    req->path == NULL || opts == NULL || cb == NULL ||
	    (int)opts->lane < 0 || opts->lane >= LANE_COUNT ||
	    (req->body == NULL && req->body_len > 0))
		return -1;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return -1;
	c->t = t;
	c->opts = *opts;
	if (c->opts.max_attempts < 1)
		c->opts.max_attempts = 1;
	c->cb = cb;
	c->arg = arg;
	if (target_dup(&c->method, req->method) == -1 ||
	    target_dup(&c->path, req->path) == -1 ||
	    target_dup(&c->content_type, req->content_type) == -1)
		goto fail;
	if (req->body != NULL) {
		c->body = malloc(req->body_len + 1);
		if (c->body == NULL)
			goto fail;
		memcpy(c->body, req->body, req->body_len);
		c->body[req->body_len] = '\0';
		c->body_len = req->body_len;
	}
	if (req->extra_header != NULL &&
	    target_split_header(c, req->extra_header) == -1)
		goto fail;
	c->ev = evtimer_new(t->base, target_call_ev_cb, c);
	if (c->ev == NULL || laneheap_reserve(&t->lanes[c->opts.lane], 1) == -1)
		goto fail;

	c->li.order = c->opts.order;
	c->li.seq = ++t->seq;
	TAILQ_INSERT_TAIL(&t->calls, c, all_entry);
	target_enqueue(c);
	/* Start it from the loop, never from inside target_call. */
	event_active(t->kick, EV_TIMEOUT, 1);
	return 0;
fail:
	target_call_free(c);
	return -1;
}

/* Put c in its lane, in its place (a retry keeps the place it had). */
static void
target_enqueue(struct call *c)
{
	struct target	*t = c->t;

	laneheap_push(&t->lanes[c->opts.lane], &c->li);
	c->state = CALL_QUEUED;
	t->queued++;
}

static void
target_call_free(struct call *c)
{
	if (c == NULL)
		return;
	if (c->ev != NULL)
		event_free(c->ev);
	free(c->method);
	free(c->path);
	free(c->body);
	free(c->content_type);
	free(c->extra_name);
	free(c->extra_value);
	free(c->auth_header);
	free(c->error);
	http_response_free(c->resp);
	free(c);
}

static void
target_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	target_pump(arg);
}

static void
target_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	target_pump(arg);
}

/* Start queued calls while a slot and a token are free. Not re-entrant. */
static void
target_pump(struct target *t)
{
	struct laneheap_item	*it;
	struct call		*c;
	struct timeval		 tv;
	uint64_t		 wait;
	int			 lane;

	if (t->pumping)
		return;		/* the running pump loop sees the change */
	t->pumping = 1;
	while (t->inflight < t->concurrency) {
		c = NULL;
		for (lane = 0; lane < LANE_COUNT && c == NULL; lane++)
			if ((it = laneheap_first(&t->lanes[lane])) != NULL)
				c = laneheap_entry(it, struct call, li);
		if (c == NULL)
			break;
		/* Circuit breaker and request window: calls wait queued. */
		wait = target_gate(t, clock_mono_ms());
		if (wait == UINT64_MAX)
			break;
		if (wait == 0)
			wait = ratelimit_take(&t->rl, clock_mono_ms());
		if (wait > 0) {
			tv.tv_sec = (time_t)(wait / 1000);
			tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
			evtimer_add(t->wake, &tv);
			break;
		}
		laneheap_remove(&t->lanes[c->opts.lane], &c->li);
		t->queued--;
		t->inflight++;
		if (t->circuit == TARGET_CIRCUIT_HALF_OPEN)
			t->cb_probe = c;
		if (t->win_budget > 0)
			t->win_budget--;
		if (t->auth == NULL)
			target_send(c, NULL, NULL);
		else {
			/* May call back at once (cached token). */
			c->state = CALL_AUTH;
			auth_get(t->auth, target_auth_cb, c);
		}
	}
	t->pumping = 0;
}

static void
target_auth_cb(const char *header, const char *instance_url,
    const char *error, void *arg)
{
	struct call	*c = arg;
	char		 why[300];

	if (c->state != CALL_AUTH)
		return;
	if (header == NULL && error == NULL) {
		target_send(c, NULL, NULL);	/* auth type "none" */
		return;
	}
	if (header == NULL) {
		c->attempts++;
		snprintf(why, sizeof why, "auth failed: %s", error != NULL ?
		    error : "no token");
		target_attempt_end(c, NULL, CALL_RETRY, why, NULL);
		return;
	}
	target_send(c, header, instance_url);
}

/* Absolute URL for path: as is, or under the instance URL or base URL. */
static char *
target_url(const struct target *t, const char *path, const char *instance_url)
{
	const char	*base;
	char		*url = NULL;
	size_t		 blen;

	if (strncasecmp(path, "http://", 7) == 0 ||
	    strncasecmp(path, "https://", 8) == 0)
		return strdup(path);
	base = instance_url != NULL && *instance_url != '\0' ? instance_url :
	    t->cfg->base_url;
	if (base == NULL)
		return NULL;
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (asprintf(&url, "%.*s%s%s", (int)blen, base, *path == '/' ? "" : "/",
	    path) < 0)
		return NULL;
	return url;
}

/* Build and start one attempt of c (it holds a slot). */
static void
target_send(struct call *c, const char *header, const char *instance_url)
{
	struct target		*t = c->t;
	struct http_request	*hreq = NULL;
	char			*url = NULL;
	const char		*why = "cannot build request";

	c->attempts++;
	free(c->auth_header);
	c->auth_header = NULL;
	url = target_url(t, c->path, instance_url);
	if (url == NULL) {
		why = t->cfg->base_url == NULL ? "no base URL" :
		    "cannot build URL";
		goto fail;
	}
	hreq = http_request_new(c->method, url);
	if (hreq == NULL)
		goto fail;
	if (header != NULL) {
		if (http_request_header(hreq, "Authorization", header) == -1)
			goto fail;
		c->auth_header = strdup(header);	/* for auth_invalidate */
	}
	if (c->content_type != NULL &&
	    http_request_header(hreq, "Content-Type", c->content_type) == -1)
		goto fail;
	if (c->extra_name != NULL && http_request_header(hreq, c->extra_name,
	    c->extra_value) == -1)
		goto fail;
	if (c->body != NULL &&
	    http_request_body(hreq, c->body, c->body_len) == -1)
		goto fail;
	http_request_timeout(hreq, t->cfg->limits.timeout_ms,
	    t->cfg->limits.connect_timeout_ms);
	free(url);
	url = NULL;

	c->state = CALL_SENDING;
	c->hreq = hreq;
	/* Ownership of hreq passes to http (freed even on failure). */
	if (http_request_start(t->http, hreq, target_http_cb, c) == -1) {
		c->hreq = NULL;
		hreq = NULL;
		why = "cannot start request";
		goto fail;
	}
	t->sending++;
	return;
fail:
	http_request_free(hreq);
	free(url);
	log_warn("target", "%s: %s %s: %s", t->cfg->name, c->method, c->path,
	    why);
	target_attempt_end(c, NULL, CALL_RETRY, why, NULL);
}

/* What to do with a response when the connector has no opinion. */
static enum call_verdict
target_default_verdict(const struct http_response *resp)
{
	if (resp->status == 0)
		return CALL_RETRY;	/* transport error, timeout, reset */
	if (resp->status == 429 || (resp->status >= 500 && resp->status <= 599))
		return CALL_RETRY;
	if (resp->status == 401)
		return CALL_REAUTH;
	return CALL_DONE;
}

static void
target_http_cb(const struct http_response *resp, void *arg)
{
	struct call		*c = arg;
	struct target		*t = c->t;
	enum call_verdict	 v = CALL_DEFAULT;
	char			 err[256];

	c->hreq = NULL;	/* http frees it after this callback */
	err[0] = '\0';
	if (resp->status >= 200 && resp->status <= 299)
		t->stats.http_2xx++;
	else if (resp->status >= 300 && resp->status <= 399)
		t->stats.http_3xx++;
	else if (resp->status >= 400 && resp->status <= 499)
		t->stats.http_4xx++;
	else if (resp->status >= 500 && resp->status <= 599)
		t->stats.http_5xx++;
	else
		t->stats.http_error++;
	if (t->sending > 0)
		t->sending--;
	/* The kind's reading of the vendor's rate-limit headers. */
	t->sig_wait_ms = -1;
	if (t->signals != NULL)
		t->signals(t, resp);
	target_circuit_note(t, c, resp);
	if (t->classify != NULL)
		v = t->classify(resp, err, sizeof err);
	if (v == CALL_DEFAULT)
		v = target_default_verdict(resp);
	target_attempt_end(c, resp, v, NULL, err);
}

/*
 * One attempt of c is over (c holds a slot): finish it, or schedule the
 * retry. resp is NULL when nothing was received (why says what happened);
 * detail is the classifier's explanation, may be "" or NULL.
 */
static void
target_attempt_end(struct call *c, const struct http_response *resp,
    enum call_verdict v, const char *why, const char *detail)
{
	struct target	*t = c->t;
	struct timeval	 tv;
	char		 desc[512], msg[600];
	long		 delay, retry_after = -1, long_wait = 0;
	uint64_t	 now = clock_mono_ms();

	t->inflight--;
	if (c == t->cb_probe)
		t->cb_probe = NULL;	/* ended without an answer: probe again */
	if (v == CALL_REAUTH &&
	    (t->auth == NULL || c->reauthed || c->auth_header == NULL))
		v = CALL_DONE;	/* the fresh token was rejected too */

	if (v == CALL_DONE) {
		int ok = resp != NULL && resp->status >= 200 &&
		    resp->status <= 299;

		if (ok)
			msg[0] = '\0';
		else
			target_describe(msg, sizeof msg, resp, why, detail);
		target_finish(c, resp, ok, msg);
		goto done;
	}

	target_describe(desc, sizeof desc, resp, why, detail);
	/* Target-wide signals hold whether or not this call retries. */
	if (resp != NULL) {
		retry_after = target_retry_after_ms(resp);
		/* No Retry-After: the wait the signals hook found, if any. */
		if (retry_after < 0)
			retry_after = t->sig_wait_ms;
		t->sig_wait_ms = -1;
	}
	if (v == CALL_RETRY_LONG) {
		long_wait = t->cfg->limits.limit_backoff_ms > 0 ?
		    t->cfg->limits.limit_backoff_ms :
		    TARGET_DEFAULT_LIMIT_BACKOFF_MS;
		ratelimit_block(&t->rl, now, (uint64_t)long_wait);
		log_warn("target", "%s: org-wide limit (%s): pausing for %ld ms",
		    t->cfg->name, desc, long_wait);
	}
	if (resp != NULL && resp->status == 429 && retry_after > 0) {
		ratelimit_block(&t->rl, now, (uint64_t)retry_after);
		log_info("target", "%s: 429, Retry-After %ld ms", t->cfg->name,
		    retry_after);
	}

	if (c->attempts >= c->opts.max_attempts) {
		/* "HTTP 503 after 10 attempts: <body>", "timeout after 3 attempts" */
		const char *colon = strstr(desc, ": ");
		const char *unit = c->attempts == 1 ? "attempt" : "attempts";

		if (resp != NULL && resp->status == 0 && resp->timed_out)
			snprintf(msg, sizeof msg, "timeout after %d %s",
			    c->attempts, unit);
		else if (colon != NULL)
			snprintf(msg, sizeof msg, "%.*s after %d %s%s",
			    (int)(colon - desc), desc, c->attempts, unit, colon);
		else
			snprintf(msg, sizeof msg, "%s after %d %s", desc,
			    c->attempts, unit);
		target_finish(c, resp, 0, msg);
		goto done;
	}

	switch (v) {
	case CALL_REAUTH:
		c->reauthed = 1;
		auth_invalidate(t->auth, c->auth_header);
		delay = 0;
		break;
	case CALL_RETRY_LONG:
		delay = long_wait;
		break;
	default:
		delay = backoff_full_jitter(c->attempts,
		    c->opts.initial_backoff_ms, c->opts.max_backoff_ms,
		    backoff_random());
		break;
	}
	if (retry_after > delay)
		delay = retry_after;
	log_debug("target", "%s: %s %s attempt %d: %s; retry in %ld ms",
	    t->cfg->name, c->method, c->path, c->attempts, desc, delay);
	if (c->opts.on_retry != NULL)
		c->opts.on_retry(c->opts.on_retry_arg, c->attempts, desc, delay);
	if (delay <= 0)
		target_enqueue(c);
	else {
		c->state = CALL_WAITING;
		tv.tv_sec = delay / 1000;
		tv.tv_usec = (delay % 1000) * 1000;
		if (evtimer_add(c->ev, &tv) == -1)
			target_enqueue(c);
	}
done:
	target_pump(t);
}

/* c is final: keep its result and deliver it from the loop. */
static void
target_finish(struct call *c, const struct http_response *resp, int ok,
    const char *error)
{
	char	circuit[160];

	c->state = CALL_FINISHED;
	c->ok = ok;
	free(c->error);
	c->error = NULL;
	if (!ok && c->t->circuit != TARGET_CIRCUIT_CLOSED) {
		/* Say why the target is being left alone. */
		target_circuit_text(c->t, circuit, sizeof circuit);
		if (asprintf(&c->error, "%s%s%s", error != NULL ? error : "",
		    error != NULL && *error != '\0' ? "; " : "", circuit) < 0)
			c->error = NULL;
	} else
		c->error = strdup(error != NULL ? error : "");
	if (resp != NULL)
		c->resp = http_response_keep(resp);	/* no copy from http's callback */
	event_active(c->ev, EV_TIMEOUT, 1);
}

/* The call's own event: backoff over, or the result is to be delivered. */
static void
target_call_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct call		*c = arg;
	struct target		*t = c->t;
	struct target_result	 res;

	if (c->state == CALL_WAITING) {
		target_enqueue(c);
		target_pump(t);
		return;
	}
	if (c->state != CALL_FINISHED)
		return;
	/* Detached first: the callback may free the target. */
	TAILQ_REMOVE(&t->calls, c, all_entry);
	laneheap_release(&t->lanes[c->opts.lane], 1);
	memset(&res, 0, sizeof res);
	res.resp = c->resp;
	res.ok = c->ok;
	res.attempts = c->attempts;
	res.error = c->error != NULL ? c->error : "out of memory";
	c->cb(&res, c->arg);
	target_call_free(c);
}

/*
 * Retry-After as milliseconds (delta-seconds or HTTP-date), at most
 * TARGET_MAX_RETRY_AFTER_MS; -1 if none or unusable.
 */
static long
target_retry_after_ms(const struct http_response *resp)
{
	return target_wait_retry_after_ms(http_response_header(resp,
	    "Retry-After"), (int64_t)time(NULL));
}

/*
 * One line saying what went wrong: "HTTP 503: <detail or body excerpt>",
 * "timeout: ...", "transport error: ...", or why when nothing was received
 * ("auth failed: ..."). Redacted (log_redact: registered secret values in
 * any encoding, then keywords): this text becomes the call's error, the
 * attempts' errors the engine stores, and log lines.
 */
static void
target_describe(char *out, size_t outlen, const struct http_response *resp,
    const char *why, const char *detail)
{
	char		 excerpt[TARGET_BODY_EXCERPT + 1];
	const char	*text;
	size_t		 i, n;

	if (detail != NULL && *detail == '\0')
		detail = NULL;
	if (resp == NULL)
		snprintf(out, outlen, "%s", why != NULL ? why : "failed");
	else if (resp->status == 0) {
		text = detail != NULL ? detail : resp->error;
		snprintf(out, outlen, "%s%s%s", resp->timed_out ? "timeout" :
		    "transport error", *text != '\0' ? ": " : "", text);
	} else if (detail != NULL)
		snprintf(out, outlen, "HTTP %ld: %s", resp->status, detail);
	else {
		n = resp->body_len < TARGET_BODY_EXCERPT ? resp->body_len :
		    TARGET_BODY_EXCERPT;
		for (i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)resp->body[i];

			excerpt[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
		}
		excerpt[n] = '\0';
		snprintf(out, outlen, "HTTP %ld%s%s", resp->status,
		    n > 0 ? ": " : "", excerpt);
	}
	log_redact(out);
}
