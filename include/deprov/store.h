/*
 * store: durable state in SQLite (WAL). Events (deduplicated by source+id),
 * cases, their steps with attempt counts and last errors, the accounts
 * resolved at each target, and a timeline. Every transition the engine makes
 * is written here before anything depends on it, so a restart after kill -9
 * resumes from the last persisted step.
 */
#ifndef DEPROV_STORE_H
#define DEPROV_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* A case row. Strings are owned by whoever filled the struct. */
struct store_case {
	long long	 id;
	const char	*subject_key;
	const char	*subject_json;
	const char	*runbook;
	const char	*event_type;
	const char	*state;
	int		 urgent;
	int64_t		 created_ms;
	int64_t		 updated_ms;
	int64_t		 effective_ms;
	int64_t		 freeze_deadline_ms;
	int64_t		 complete_deadline_ms;
	int64_t		 frozen_ms;		/* 0 = not yet */
	int64_t		 completed_ms;		/* 0 = not yet */
	const char	*error;
	const char	*reason;
	const char	*retry_json;
	const char	*cancel_by;		/* cancellation requested by, or NULL */
	long long	 waits_for;		/* starts only when that case has ended; 0 = none */
};

struct store_step {
	const char	*target;
	int		 seq;
	const char	*step;
	const char	*opts_json;
	const char	*state;
	int		 attempts;
	const char	*last_error;
	const char	*detail;
	int64_t		 started_ms;
	int64_t		 finished_ms;
	int		 no_account;	/* skipped: no account at the target */
};

typedef int (*store_case_cb)(const struct store_case *, void *arg);
typedef int (*store_step_cb)(const struct store_step *, void *arg);
typedef int (*store_account_cb)(const char *target, const char *account, void *arg);

/*
 * Open (creating) the store. One process owns it: an exclusive lock on
 * "<path>.lock" is taken first and held until store_close. When another
 * process holds it: NULL, errno EBUSY, err "store PATH is in use by deprovd
 * pid 1234 (lock PATH.lock)".
 */
struct store	*store_open(const char *path, char *err, size_t errlen);
void		 store_close(struct store *);
const char	*store_errmsg(struct store *);
/*
 * The SQLite handle, for modules that keep their own tables in the same file
 * (audit, reports). They must not close it or change its pragmas, and their
 * writes join the store's transactions (store_begin/commit).
 */
struct sqlite3	*store_db(struct store *);

/*
 * Transactions nest; only the outermost commits. An inner level is a
 * savepoint: its rollback (or a statement failing inside it, which makes its
 * commit fail and roll back) undoes only the writes made since its begin.
 */
int		 store_begin(struct store *);
int		 store_commit(struct store *);
void		 store_rollback(struct store *);
/* How many rollbacks (savepoints too) there were: a change means writes
 * made since may be gone. */
uint64_t	 store_undo_count(struct store *);
/* The current nesting depth (0 = no transaction open through the store). */
int		 store_in_transaction(struct store *);

/*
 * Deferred sync (group commit without blocking the loop on the disk): a
 * transaction begun with store_begin_deferred (outermost only) commits with
 * its WAL frames written but not synced, as generation store_commit_gen().
 * store_sync syncs now; store_sync_async asks a helper thread, which makes
 * store_sync_fd readable when it is done; store_synced tells (and drains
 * the fd) up to which generation the commits are on disk. Nothing may act
 * on a deferred commit before its generation is synced.
 */
int		 store_begin_deferred(struct store *);
uint64_t	 store_commit_gen(struct store *);
int		 store_sync(struct store *);
int		 store_sync_async(struct store *);
int		 store_sync_fd(struct store *);
uint64_t	 store_synced(struct store *);

/*
 * Record an event. Returns 0 when new, 1 when source+id was seen before
 * (nothing written), -1 on error.
 */
int		 store_event_put(struct store *, const char *source, const char *id,
		     const char *type, const char *subject_key, const char *origin,
		     int64_t now_ms);
int		 store_event_set_case(struct store *, const char *source, const char *id,
		     long long case_id, const char *disposition);

/* Insert a case (id ignored); returns the new id or -1. */
long long	 store_case_insert(struct store *, const struct store_case *);
int		 store_case_state(struct store *, long long id, const char *state,
		     int64_t now_ms, const char *error);
/* Remember that a case is to be cancelled (survives a restart). */
int		 store_case_cancel_request(struct store *, long long id, const char *by);
int		 store_case_frozen(struct store *, long long id, int64_t at_ms);
int		 store_case_completed(struct store *, long long id, int64_t at_ms);

int		 store_step_insert(struct store *, long long case_id,
		     const struct store_step *);
/*
 * last_error NULL keeps the previous one, except that a step that succeeded
 * or was skipped keeps none (its history is in the timeline).
 */
int		 store_step_update(struct store *, long long case_id, const char *target,
		     int seq, const char *state, int attempts, const char *last_error,
		     const char *detail, int no_account, int64_t now_ms);
/* Add a failed step's error to the case's errors ("a; b"). */
int		 store_case_error_add(struct store *, long long id, const char *error);
/* A retried case is unfinished again: no end time, no errors. */
int		 store_case_reopen(struct store *, long long id);

int		 store_account_put(struct store *, long long case_id, const char *target,
		     const char *account);
int		 store_timeline_add(struct store *, long long case_id, int64_t now_ms,
		     const char *kind, const char *target, const char *step,
		     const char *detail);

/*
 * Iterate over unfinished cases, oldest first: those not ended (completed,
 * cancelled, or escalated with nothing left to run).
 */
int		 store_cases_open(struct store *, store_case_cb, void *arg);
int		 store_case_get(struct store *, long long id, store_case_cb, void *arg);
int		 store_steps_of(struct store *, long long case_id, store_step_cb, void *arg);
int		 store_accounts_of(struct store *, long long case_id, store_account_cb,
		     void *arg);
/* Cases newest first, filtered by state and/or subject key (NULL = any). */
int		 store_cases_list(struct store *, const char *state, const char *subject,
		     int limit, store_case_cb, void *arg);

struct store_timeline {
	long long	 id;
	int64_t		 ts_ms;
	const char	*kind;
	const char	*target;
	const char	*step;
	const char	*detail;
};
typedef int (*store_timeline_cb)(const struct store_timeline *, void *arg);
int		 store_timeline_of(struct store *, long long case_id, store_timeline_cb,
		     void *arg);

/*
 * The identifiers a case's subject is known by ("emp:E1", "email:a@b",
 * "user:a@b", lowercased), so that later signals about the same person find
 * the case whichever identifier they carry.
 */
int		 store_case_keys_put(struct store *, long long case_id,
		     const char *const *keys, size_t nkeys);
/* The newest case opened by one of types whose subject has one of keys. */
int		 store_case_latest_for(struct store *, const char *const *keys,
		     size_t nkeys, const char *const *types, size_t ntypes,
		     store_case_cb, void *arg);

/*
 * Exposure: each target where a case meant to contain its person has not
 * (its freeze failed, was skipped for a reason other than no account, or is
 * still being tried), unless a later unfreeze, rescind or reinstate for the
 * person completed. See docs/CONTAINMENT.md.
 */
struct store_exposure {
	long long	 case_id;
	const char	*subject_key;
	const char	*runbook;
	const char	*case_state;
	int64_t		 created_ms;
	int64_t		 effective_ms;
	const char	*target;
	const char	*step_state;	/* of the target's freeze step */
	int		 attempts;
	const char	*error;		/* last error, or the skip's reason */
};
typedef int (*store_exposure_cb)(const struct store_exposure *, void *arg);
typedef int (*store_exposure_count_cb)(const char *target, long long subjects,
		     void *arg);
/* Exposed targets, oldest case first, at most limit rows. */
int		 store_exposures(struct store *, int limit, store_exposure_cb, void *arg);
/* People exposed somewhere, and (cb may be NULL) per target. */
int		 store_exposure_counts(struct store *, long long *subjects,
		     store_exposure_count_cb, void *arg);

/* Count of cases in a state (NULL = all). */
long long	 store_count_cases(struct store *, const char *state);

/*
 * For the dashboard: the rows of store_exposures with the cases where a
 * freeze failed or was skipped first (then oldest case first, a case's
 * targets together); cb returning non-zero stops the walk and is returned.
 */
int		 store_exposures_failed_first(struct store *, int limit,
		     store_exposure_cb, void *arg);
/*
 * People exposed (as store_exposure_counts), and how many of them have a
 * freeze that failed or was skipped somewhere; the others are being frozen.
 */
int		 store_exposure_split(struct store *, long long *subjects,
		     long long *failed);

#endif
