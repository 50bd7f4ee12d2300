/*
 * target: the runtime of one configured target (one SaaS instance). Every
 * call a connector makes goes through here: authentication (header attached,
 * one fresh-token retry on 401), a token-bucket rate limit, a cap on calls in
 * flight, priority lanes (emergency before freeze before remediation), a
 * timeout, and retries with exponential backoff and full jitter for 429,
 * 5xx, timeouts and resets (Retry-After honoured; a long wait for org-wide
 * limits), and a circuit breaker. A classifier may also return CALL_RETRY
 * for any status (e.g. Google's 403 rateLimitExceeded). What a vendor's own
 * headers say about its rate limits (a quota's usage, a request window, a
 * wait) is read by its connector's signals hook, which tells the target
 * with target_signal_*. The caller gets one callback with the final result.
 */
#ifndef DEPROV_TARGET_H
#define DEPROV_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "deprov/config.h"
#include "deprov/http.h"

struct event_base;
struct target;

enum lane {
	LANE_URGENT = 0,	/* emergency freeze from a responder */
	LANE_FREEZE,		/* freeze steps of leavers */
	LANE_REMEDIATE,		/* everything else */
	LANE_COUNT
};

/* What to do with a response, decided by the connector's classifier. */
enum call_verdict {
	CALL_DEFAULT = 0,	/* let target decide (429/5xx/transport = retry, 401 = reauth) */
	CALL_DONE,		/* final: hand it to the caller */
	CALL_RETRY,		/* transient: back off and retry */
	CALL_RETRY_LONG,	/* org-wide limit: wait limits.limit_backoff_ms, then retry */
	CALL_REAUTH		/* the token is bad: fetch a new one and retry once */
};

typedef enum call_verdict (*target_classify_cb)(const struct http_response *,
    char *err, size_t errlen);
/*
 * Called with every response (a transport error too): reads the vendor's
 * rate-limit headers and tells the target what they say with the
 * target_signal_* functions, from inside the call. Must not free the target.
 */
typedef void (*target_signals_cb)(struct target *,
    const struct http_response *);

struct target_req {
	const char	*method;
	const char	*path;		/* appended to the base (or the token's instance URL); or an absolute URL */
	const char	*body;		/* may be NULL */
	size_t		 body_len;
	const char	*content_type;	/* may be NULL */
	const char	*extra_header;	/* one more "Name: value" line, may be NULL */
};

struct call_opts {
	enum lane	 lane;
	/*
	 * Inside a lane, lower first, then the order the calls were made
	 * (for remediation the engine passes the case id: the oldest case
	 * first). 0 for all calls: first come, first served.
	 */
	uint64_t	 order;
	int		 max_attempts;		/* >= 1 */
	long		 initial_backoff_ms;
	long		 max_backoff_ms;
	/* Told before each retry is scheduled (e.g. to persist attempts); may be NULL. */
	void		(*on_retry)(void *arg, int attempt, const char *error, long delay_ms);
	void		*on_retry_arg;
};

struct target_result {
	const struct http_response	*resp;		/* last response; NULL when none was received */
	int				 ok;		/* resp->status is 2xx */
	int				 attempts;	/* how many times it was sent */
	const char			*error;		/* why it is not ok ("" when ok) */
};

typedef void (*target_cb)(const struct target_result *, void *arg);

struct target	*target_new(struct event_base *, struct http *,
		    const struct config_target *, target_classify_cb,
		    char *err, size_t errlen);
/* Drops queued and in-flight calls without calling their callbacks. */
void		 target_free(struct target *);
/*
 * A reload: cfg (same name and kind; the caller keeps it alive while the
 * target uses it) replaces the configuration. Limits apply to the next
 * send; new credentials to the next token (calls waiting for one of the old
 * credentials wait for one of the new instead). Queues, the circuit and
 * statistics stay. 0, or -1 with err (nothing changed).
 */
int		 target_reconfigure(struct target *, const struct config_target *cfg,
		    char *err, size_t errlen);

const char	*target_name(const struct target *);
const char	*target_kind(const struct target *);
const struct config_target *target_config(const struct target *);

/*
 * Queue a call. The callback is always called later from the loop (never
 * from inside target_call). Returns 0, or -1 when the request could not be
 * built (callback not called).
 */
int		 target_call(struct target *, const struct target_req *,
		    const struct call_opts *, target_cb cb, void *arg);

/*
 * Circuit breaker: after limits.breaker_failures consecutive failed sends
 * (transport errors, timeouts, 5xx) the circuit opens for
 * limits.breaker_open_ms. Queued and new calls wait (no attempt is spent);
 * then one probe call goes through (half-open): any answer that is not a
 * 5xx closes the circuit, a failure re-opens it for twice as long (up to
 * limits.breaker_max_open_ms). A call that ends while the circuit is not
 * closed has "circuit open after N consecutive failures; last: HTTP 503"
 * appended to its error.
 */
enum target_circuit {
	TARGET_CIRCUIT_CLOSED = 0,
	TARGET_CIRCUIT_OPEN,
	TARGET_CIRCUIT_HALF_OPEN
};
enum target_circuit target_circuit_state(const struct target *);
/* "closed", "open", "half_open". */
const char	*target_circuit_name(enum target_circuit);
/*
 * The request window (target_signal_window): the last limit seen (0 =
 * none) and the sends still allowed before it resets (-1 = unknown). At 0
 * the target holds every call until the window resets.
 */
void		 target_rate_window(const struct target *, long *limit,
		    long *remaining);

/* The signals hook of the target's kind (connector.h); NULL = none. */
void		 target_set_signals(struct target *, target_signals_cb);
/*
 * What a signals hook tells the target about the response it is given.
 *
 * target_signal_wait: the answer asks for ms (clamped to 0..3600000) before
 * the next send, as a Retry-After it lacks would (a 429 saying when its
 * window resets): the call retries no sooner and, on a 429, the target
 * sends nothing until then.
 * target_signal_usage: used of a quota of limit (> 0) calls is spent; above
 * limits.usage_slowdown of it the target halves its rate until it is below
 * again.
 * target_signal_window: a request window of limit sends (0 = not said) of
 * which remaining are left; it resets in reset_ms (-1 = not said: a minute
 * is assumed; 0 = over, the answer is ignored); window names it (its reset
 * time in epoch seconds, -1 = none) so that late answers of an earlier
 * window are ignored. The target never sends past remaining, counting calls
 * still on the wire as sent.
 */
void		 target_signal_wait(struct target *, long ms);
void		 target_signal_usage(struct target *, long used, long limit);
void		 target_signal_window(struct target *, long limit,
		    long remaining, long reset_ms, long long window);

/*
 * Waits asked for in a peer's headers, computed without overflow for any
 * value and clamped (docs/SECURITY.md, "Limits"); now_s is our clock in
 * epoch seconds. The target applies Retry-After itself; signals hooks use
 * target_wait_reset_ms for their vendor's reset header.
 *
 * target_wait_retry_after_ms: Retry-After (delta-seconds or HTTP-date) in
 * ms, 0..3600000; -1 when absent or malformed.
 * target_wait_reset_ms: a reset time in epoch seconds counted from the
 * response's Date (from now_s when Date is absent, malformed or more than a
 * day from now_s), 0..3600000; -1 when absent or malformed.
 */
long		 target_wait_retry_after_ms(const char *value, int64_t now_s);
long		 target_wait_reset_ms(const char *reset, const char *date,
		    int64_t now_s);

/* Observability. */
size_t		 target_inflight(const struct target *);
size_t		 target_queued(const struct target *);
/* Last quota usage signalled (used, limit); 0/0 when none. */
void		 target_api_usage(const struct target *, long *used, long *limit);

/* Completed sends by HTTP status class; a transport error is http_error. */
struct target_stats {
	uint64_t	 http_2xx;
	uint64_t	 http_3xx;
	uint64_t	 http_4xx;
	uint64_t	 http_5xx;
	uint64_t	 http_error;
};
void		 target_get_stats(const struct target *, struct target_stats *);
/* Tokens in the rate-limit bucket now: 0 while blocked, -1 when unlimited. */
double		 target_rate_tokens(const struct target *);

/*
 * The "targets" section (src/target-config.c): the row of the top-level
 * settings that reads every target, and frees them.
 */
int		 target_config_read(struct config_reader *, const char *where,
		    json_object *obj, const struct config_setting *, void *conf);
void		 target_config_clear(const struct config_setting *, void *conf);
/* Its diff hook: targets matched by name (added or removed: a restart). */
void		 target_config_diff(struct config_differ *, const char *where,
		    const struct config_setting *, const void *a, const void *b,
		    int live);

#endif
