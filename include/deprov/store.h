/*
 * store: durable state, today in SQLite (WAL). Events (deduplicated by
 * source+id), cases, their steps with attempt counts and last errors, the
 * accounts resolved at each target, a timeline, the audit trail, and the
 * figures the dashboard shows. Every transition the engine makes is written
 * here before anything depends on it, so a restart after kill -9 resumes
 * from the last persisted step. The store owns all SQL: nothing here names
 * a SQLite type or holds SQL text, so another backend can stand behind the
 * same functions (src/store*.c, store-internal.h).
 */
#ifndef DEPROV_STORE_H
#define DEPROV_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* store.backend (config.h) */
enum store_backend {
	STORE_BACKEND_SQLITE = 0,
	STORE_BACKEND_POSTGRES
};

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
	const char	*step_error;		/* summaries: what holds the case up, or NULL */
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
 * The postgres backend (store-replica.c, docs/CLUSTER.md): from now on
 * every commit is also written to PostgreSQL at url by a helper thread,
 * and store_synced counts a generation only once PostgreSQL has it too. At
 * start (before the loop runs: it waits on the server) the local store and
 * PostgreSQL's are matched: an empty PostgreSQL gets the local store, a new
 * local store (or one behind PostgreSQL's) gets PostgreSQL's, different
 * stores are refused; and this instance takes the store: its writer epoch
 * and a lease of lease_ms, renewed while it runs. 0 when started;
 * STORE_REPLICA_HELD when another instance holds an unexpired lease (err
 * says which; try again within *wait_ms: this one is a standby);
 * STORE_REPLICA_DOWN when PostgreSQL was not reached (err says why; try
 * again); -1 with err (refused: trying again will not help).
 */
struct store_replica_conf {
	const char	*url;
	const char	*instance;	/* unique among the store's deprovd */
	int		 lease_ms;
	/* Kept between a standby's asks; store_replica_conf_clear ends it. */
	struct pgstore	*pg;
	/* STORE_REPLICA_HELD: the instance that holds the store. */
	char		 holder[256];
};
#define STORE_REPLICA_HELD	1
#define STORE_REPLICA_DOWN	2
int		 store_replica_start(struct store *,
		     struct store_replica_conf *, int *wait_ms,
		     char *err, size_t errlen);
void		 store_replica_conf_clear(struct store_replica_conf *);
/*
 * 1 while this deprovd may act for the store: not replicating, or its
 * lease is unexpired by its own clock and it is not fenced; else 0 and
 * why. Nothing may call a target without it (a paused deprovd that
 * resumes after another took over must not).
 */
int		 store_replica_writable(struct store *, char *why, size_t len);
/* This instance's name and writer epoch; -1 when not replicating. */
int		 store_replica_writer(struct store *, char *instance, size_t len,
		     long long *epoch);
/*
 * The standbys that asked for the store in the last few seconds, as the
 * writer last read them (every 2 s): the first max into v (v may be NULL
 * with max 0); their number, or -1 when not replicating or not read yet.
 */
struct store_standby {
	char		 instance[128];
	long long	 seen_ms_ago;
};
int		 store_replica_standbys(struct store *, struct store_standby *v,
		     size_t max);
/* 1 once another deprovd has taken the store over: this one must stop. */
int		 store_replica_fenced(struct store *);
/* Running without it (backend sqlite): the next start sends all again. */
int		 store_replica_off(struct store *);
/*
 * 1 while PostgreSQL takes the changes, 0 while it does not (why says
 * what failed), -1 when not replicating; backlog: changes not yet in
 * PostgreSQL.
 */
int		 store_replica_status(struct store *, char *why, size_t len,
		     long long *backlog);

/*
 * Open an existing store to read it only (deprovctl's audit tools, while a
 * deprovd runs): no lock is taken, nothing is created or migrated; a store
 * from a newer deprovd is refused.
 */
struct store	*store_open_readonly(const char *path, char *err, size_t errlen);

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
/* store_synced without draining the wake-up: for others than the engine. */
uint64_t	 store_durable(struct store *);

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
/*
 * What store_cases_list selects. A NULL string and an unset bound select
 * every case; the members given must all hold.
 */
struct store_case_filter {
	const char	*state;
	const char	*subject;		/* subject key */
	const char	*runbook;		/* runbook name */
	const char	*failed_at;		/* a step failed at this target */
	int		 has_from;
	int64_t		 created_from_ms;	/* created_ms >= this, with has_from */
	int		 has_before;
	int64_t		 created_before_ms;	/* created_ms < this, with has_before */
	long long	 below_id;		/* id < this; 0 = from the newest */
	int		 limit;			/* at most this many rows */
};

/*
 * Cases newest first (by id, which only grows: a page that starts below
 * the last id seen never repeats a case nor shows one inserted since).
 */
int		 store_cases_list(struct store *, const struct store_case_filter *,
		     store_case_cb, void *arg);

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
/*
 * Exposed targets, at most limit rows: the cases where a freeze failed or
 * was skipped first, then oldest case first, a case's targets together; cb
 * returning non-zero stops the walk and is returned.
 */
int		 store_exposures(struct store *, int limit, store_exposure_cb, void *arg);
/* People exposed somewhere, and (cb may be NULL) per target. */
int		 store_exposure_counts(struct store *, long long *subjects,
		     store_exposure_count_cb, void *arg);

/*
 * The audit trail's rows (the chain is audit.c's, see audit.h). case_id 0
 * is none. A scan flags a row whose columns have the wrong type or hold a
 * NUL (malformed): it was edited behind deprov's back.
 */
struct store_audit_rec {
	long long	 seq;
	int64_t		 ts_ms;
	const char	*kind;
	long long	 case_id;
	const char	*actor;
	const char	*target;
	const char	*step;
	const char	*detail;
	const char	*prev_hash;
	const char	*hash;
	const char	*subject_key;	/* scans: the case's subject, or NULL */
	int		 malformed;
};
typedef int (*store_audit_cb)(const struct store_audit_rec *, void *arg);
/* 0, 1 when seq is taken (the caller's chain head is stale), -1. */
int		 store_audit_append(struct store *, const struct store_audit_rec *);
/* The last record's seq (0: none) and hash. */
int		 store_audit_last(struct store *, long long *seq, char *hash,
		     size_t hashlen);
/* Records after seq, at or after since_ms, in seq order, at most limit (<= 0: all). */
int		 store_audit_scan(struct store *, long long after_seq, int64_t since_ms,
		     int limit, store_audit_cb, void *arg);
/* Small named values kept with the store: 1 found, 0 not, -1 error. */
int		 store_meta_get(struct store *, const char *key, char *buf, size_t len);
int		 store_meta_set(struct store *, const char *key, const char *value);
/* Ended cases (completed, cancelled, escalated with nothing left to run) by state. */
int		 store_count_ended(struct store *,
		     int (*cb)(const char *state, long long n, void *arg), void *arg);

/*
 * The dashboard's figures (store-summary.c), over the cases created since
 * `since` (its window) and as of now. Cases that freeze nothing (unfreeze,
 * rescind, reinstate) have no time to freeze and no freeze verdict; a
 * budget a runbook does not set is not judged (case_freeze_breached's
 * rules, in SQL).
 */
struct store_sla_figures {
	int64_t	cases;
	int64_t	freeze_met, freeze_breached, freeze_pending;
	int64_t	complete_met, complete_breached, complete_pending;
	int64_t	overall_met, overall_breached, overall_pending;
};
/* Open cases by state (all of them), then completed and cancelled since. */
int		 store_summary_counts(struct store *, int64_t since,
		     int (*cb)(const char *state, long long n, void *arg), void *arg);
int		 store_summary_sla(struct store *, int64_t since, int64_t now,
		     struct store_sla_figures *);
/*
 * Time to freeze since: counts[i] of cases at most bounds[i] ms (and above
 * the last in counts[nbounds]), how many, the largest; the k-th smallest
 * (0-based, -1 if none).
 */
int		 store_summary_ttf(struct store *, int64_t since, const int64_t *bounds,
		     size_t nbounds, int64_t *counts, int64_t *n, int64_t *max);
int64_t		 store_summary_ttf_at(struct store *, int64_t since, int64_t k);
/*
 * Open cases (every state but completed and cancelled) newest first, or
 * cases closed since, at most limit; rows also carry step_error.
 */
int		 store_summary_cases(struct store *, int open, int64_t since, int limit,
		     store_case_cb, void *arg);

/*
 * The evidence export (store-evidence.c, evidence.h): leaver cases whose
 * termination time (the event's effective time, or the case's creation
 * when it gave none) is in [from_ms, to_ms), with the first and last seq
 * of the audit records about each (0 when there are none).
 */
struct store_evidence_case {
	struct store_case	 c;
	long long		 audit_first;
	long long		 audit_last;
};
typedef int (*store_evidence_cb)(const struct store_evidence_case *, void *arg);
/* The largest case id so far (0: no case). */
int		 store_evidence_last_id(struct store *, long long *id);
/*
 * The cases with after_id < id <= upto_id, in id order: the caller keeps
 * the window small (each id costs a lookup, matching or not). cb's
 * non-zero stops the walk and is returned.
 */
int		 store_evidence_cases(struct store *, long long after_id,
		     long long upto_id, int64_t from_ms, int64_t to_ms,
		     store_evidence_cb, void *arg);

/* Count of cases in a state (NULL = all). */
long long	 store_count_cases(struct store *, const char *state);

/*
 * Copying a store whole (deprovctl store migrate, store-copy.c): every row
 * of every table in one read snapshot, the tables in the order a copy
 * inserts them, each table's rows in primary-key order (text bytewise), so
 * that two stores holding the same rows give the same sequence whatever
 * their backend. The schema version (meta's "schema") is each store's own
 * and not part of it. A value of a kind the schema does not allow (a real,
 * a blob: written behind deprov's back) stops the walk with an error.
 */
enum store_vtype {
	STORE_V_NULL,
	STORE_V_INT,
	STORE_V_TEXT
};
struct store_value {
	enum store_vtype	 type;
	int64_t			 i;
	const char		*s;	/* STORE_V_TEXT: len bytes, NUL-terminated */
	size_t			 len;
};
/* One row; non-zero stops the walk and is returned. */
typedef int (*store_row_cb)(const char *table, const struct store_value *,
		     size_t n, void *arg);
int		 store_export(struct store *, store_row_cb, void *arg);

/*
 * People exposed (as store_exposure_counts), and how many of them have a
 * freeze that failed or was skipped somewhere; the others are being frozen.
 */
int		 store_exposure_split(struct store *, long long *subjects,
		     long long *failed);

/* The "store" section's settings (src/store-config.c), read by config_load. */
struct config_section;
extern const struct config_section store_settings;

#endif
