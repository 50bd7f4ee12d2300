/*
 * case: the vocabulary of a case, in one place. The case states and step
 * states with their names, whether a state is final, and what a target's
 * freeze step says about containment. The engine moves cases through these
 * states; the API, dashboard, metrics and SLA read them; none keeps a copy.
 *
 * Containment is the promise the product makes: "this person is locked out
 * everywhere". A case is contained only when, at every target where it runs
 * a freeze, the freeze succeeded or found no account there (nothing left to
 * lock). A freeze that failed, is still being tried, or was skipped for any
 * other reason leaves the person exposed at that target.
 */
#ifndef DEPROV_CASE_H
#define DEPROV_CASE_H

#include <stdint.h>

#include <json-c/json.h>

enum case_state {
	CASE_RECEIVED = 0,
	CASE_SCHEDULED,		/* waiting for a future effective time */
	CASE_FREEZING,
	CASE_CONTAINED,		/* every freeze held (see above) */
	CASE_REMEDIATING,
	CASE_DEACTIVATING,
	CASE_COMPLETED,
	CASE_CANCELLED,
	CASE_ESCALATED,		/* a human must act; other targets' steps may still run */
	CASE_STATE_COUNT
};

enum step_state {
	STEP_PENDING = 0,
	STEP_RUNNING,
	STEP_RETRY_WAIT,
	STEP_SUCCEEDED,
	STEP_SKIPPED,
	STEP_FAILED,
	STEP_STATE_COUNT
};

/* A target's containment in one case, from its freeze step. */
enum containment {
	CONTAIN_NONE = 0,	/* the case runs no freeze at this target */
	CONTAIN_PENDING,	/* not frozen yet: queued, running or retrying */
	CONTAIN_FROZEN,		/* the freeze succeeded */
	CONTAIN_NO_ACCOUNT,	/* no account there: nothing to lock */
	CONTAIN_SKIPPED,	/* skipped for another reason: still exposed */
	CONTAIN_FAILED,		/* the freeze failed: still exposed */
	CONTAIN_DEACTIVATED,	/* the freeze did not hold, but the account is deactivated since */
	CONTAIN_COUNT
};

const char	*case_state_name(enum case_state);
/* The state, or -1 for an unknown name. */
int		 case_state_parse(const char *);
/*
 * Nothing more happens to the case by itself: completed, cancelled or
 * escalated (an escalated case may still finish other targets' steps, but
 * it never completes without a human).
 */
int		 case_state_final(enum case_state);

const char	*step_state_name(enum step_state);
int		 step_state_parse(const char *);
/* succeeded, skipped or failed */
int		 step_state_final(enum step_state);

/* Containment from a freeze step's state and its no-account mark. */
enum containment containment_of_step(enum step_state, int no_account);
const char	*containment_name(enum containment);
/* The person cannot sign in there (frozen, no account, or deactivated). */
int		 containment_holds(enum containment);

/*
 * SLA verdicts on one case as of now (times in ms, 0 = not yet / none).
 * Freeze: breached when contained after the deadline, escalated without
 * being contained (a freeze failed: the person can still sign in), or not
 * contained when the deadline has passed (the clock stops at a cancel).
 * Complete: breached when completed late or not completed after the
 * deadline (escalated counts as not completed); a cancelled case is not
 * judged. A budget the runbook does not set (deadline 0) is never breached.
 */
int		 case_freeze_breached(int64_t deadline_ms, int64_t frozen_ms,
		    enum case_state, int64_t ended_ms, int64_t now_ms);
int		 case_complete_breached(int64_t deadline_ms, enum case_state,
		    int64_t ended_ms, int64_t now_ms);

/*
 * Per-target containment from a case's steps, as the API and dashboard show
 * it. steps is an array of objects with target, step, state, no_account,
 * last_error, detail, attempts, finished_ms (as the API serves them, in
 * target then seq order). Returns an array of {target, status, contained,
 * at_ms, error, reason, attempts, deactivated_ms}; *contained is 1 when
 * every freeze held, 0 when one did not, -1 when the case freezes nothing.
 */
json_object	*case_containment_json(json_object *steps, int *contained);

#endif
