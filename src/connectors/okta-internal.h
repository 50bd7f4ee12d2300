/*
 * okta-internal: the pure half of the Okta connector (Management API,
 * /api/v1/users), shared by okta.c and the unit tests: paths, the user
 * object, error bodies, the response classifier, and the decision what a
 * lifecycle step does for a user's status (Okta's lifecycle calls are not
 * idempotent, so every step reads the status first), the check of the
 * target's options, and the reading of Okta's X-Rate-Limit-* headers (the
 * connector's signals hook). No calls are made here.
 */
#ifndef DEPROV_OKTA_INTERNAL_H
#define DEPROV_OKTA_INTERNAL_H

#include <stddef.h>

#include <json-c/json.h>

#include "deprov/connector.h"
#include "deprov/http.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

#define OKTA_ID_MAX		64	/* user ids are 20 characters (00u...) */
#define OKTA_LOGIN_MAX		512

/* A user's status (developer.okta.com, Users API, user status). */
enum okta_status {
	OKTA_UNKNOWN = 0,
	OKTA_STAGED,
	OKTA_PROVISIONED,
	OKTA_ACTIVE,
	OKTA_RECOVERY,
	OKTA_PASSWORD_EXPIRED,
	OKTA_LOCKED_OUT,
	OKTA_SUSPENDED,
	OKTA_DEPROVISIONED,
	OKTA_NONE		/* transitioningToStatus absent */
};

struct okta_user {
	char			 id[OKTA_ID_MAX + 1];
	enum okta_status	 status;
	enum okta_status	 transitioning;	/* OKTA_NONE when not transitioning */
	char			 status_name[32];	/* as Okta said it */
	char			 login[OKTA_LOGIN_MAX + 1];
};

/* What a lifecycle step does for the status it read. */
enum okta_action {
	OKTA_ACT_CALL = 0,	/* send the lifecycle call */
	OKTA_ACT_DONE,		/* already so: succeeded */
	OKTA_ACT_SKIP,		/* nothing to do at Okta: skipped with the reason */
	OKTA_ACT_UNSUSPENDABLE,	/* freeze: Okta cannot suspend this status */
	OKTA_ACT_FAIL		/* cannot be done: failed with the reason */
};

/* The target's "options" for kind "okta". */
struct okta_opts {
	int	 unsuspendable_skip;	/* "unsuspendable": "skip" (default "fail") */
};

/* The descriptor (okta.c). */
extern const struct connector connector_okta;

/* The keys the target's "options" may have, NULL-terminated. */
extern const char *const okta_option_keys[];
/*
 * Read options (NULL = defaults). Returns 0, or -1 with the reason in err
 * (an unknown key or value).
 */
int		 okta_opts_parse(json_object *options, struct okta_opts *,
		    char *err, size_t errlen);
/* The connector's check_options: every bad value, through the check. */
void		 okta_check_options(struct connector_check *,
		    json_object *options);
/*
 * The signals hook of Okta targets. X-Rate-Limit-Limit, -Remaining and
 * -Reset (epoch seconds, counted from the answer's Date) describe the
 * endpoint's request window: target_signal_window. Okta's 429 (E0000047)
 * has no Retry-After; it says when in X-Rate-Limit-Reset:
 * target_signal_wait.
 */
void		 okta_signals(struct target *, const struct http_response *);

enum okta_status okta_status_parse(const char *);
const char	*okta_status_name(enum okta_status);
/* 1 when s can name a user in a path: 1..512 bytes, no control characters. */
int		 okta_key_valid(const char *s);
/* "/api/v1/users/<key URL-encoded><suffix>", malloc'd; NULL when key is unusable. */
char		*okta_user_path(const char *key, const char *suffix);

/*
 * Read a user object. Returns 0, or -1 with the reason in err (not JSON,
 * no id, no status).
 */
int		 okta_user_parse(const char *body, size_t len, struct okta_user *,
		    char *err, size_t errlen);

/*
 * What step kind does for u (freeze: suspend from ACTIVE; deactivate:
 * anything but DEPROVISIONED; unfreeze: unsuspend from SUSPENDED;
 * reactivate: unsuspend from SUSPENDED, activate from DEPROVISIONED). *why
 * gets the detail for DONE, SKIP, UNSUSPENDABLE and FAIL (static text).
 * Kinds other than these four answer OKTA_ACT_CALL.
 */
enum okta_action okta_decide(enum step_kind, const struct okta_user *,
		    const char **why);
/*
 * The lifecycle operation step kind sends for u once okta_decide said
 * OKTA_ACT_CALL ("suspend", "unsuspend", "deactivate", "activate"), and in
 * *suffix the path after the user
 * ("/lifecycle/activate?sendEmail=false").
 */
const char	*okta_lifecycle_op(enum step_kind, const struct okta_user *,
		    const char **suffix);

/*
 * Read an Okta error body {"errorCode","errorSummary","errorCauses":
 * [{"errorSummary"}]}: the code, and the summary with the causes appended
 * ("Api validation failed: login (login: An object with this field
 * already exists)"). Returns 0, or -1 when the body is not one.
 */
int		 okta_error_parse(const char *body, size_t len, char *code,
		    size_t codelen, char *summary, size_t summarylen);
/* "HTTP 404 E0000007: Not found: ..." or the target's error text. */
void		 okta_call_error(const struct target_result *, char *out,
		    size_t outlen);
/* 1 when the answer is 404 E0000007 (or a 404 without an Okta body). */
int		 okta_not_found(const struct http_response *);
/*
 * The classifier of Okta targets: 429 (E0000047) retries (the target waits
 * for X-Rate-Limit-Reset, see okta_signals), 401 re-authenticates, other 4xx are final, 5xx
 * retry. err gets "E0000001: summary".
 */
enum call_verdict okta_classify(const struct http_response *, char *err,
		    size_t errlen);

#endif
