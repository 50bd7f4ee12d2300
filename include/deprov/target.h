/*
 * target: the runtime of one configured target (one SaaS instance). Every
 * call a connector makes goes through here: authentication (header attached,
 * one fresh-token retry on 401), a token-bucket rate limit, a cap on calls in
 * flight, priority lanes (emergency before freeze before remediation), a
 * timeout, and retries with exponential backoff and full jitter for 429,
 * 5xx, timeouts and resets (Retry-After honoured; a long wait for org-wide
 * limits). The caller gets one callback with the final result.
 */
#ifndef DEPROV_TARGET_H
#define DEPROV_TARGET_H

#include <stddef.h>

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

/* Observability. */
size_t		 target_inflight(const struct target *);
size_t		 target_queued(const struct target *);
/* Last Sforce-Limit-Info usage seen (used, limit); 0/0 when none. */
void		 target_api_usage(const struct target *, long *used, long *limit);

#endif
