/*
 * store-internal.h: what the parts of the store share (store.c: opening,
 * transactions, sync, schema, cases and steps; store-audit.c: the audit
 * trail and the meta table). Nothing outside src/store*.c includes it: the
 * rest of deprovd sees only include/deprov/store.h, with no SQL or SQLite
 * type in it, so that another backend can stand behind the same interface.
 */
#ifndef DEPROV_STORE_INTERNAL_H
#define DEPROV_STORE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <sqlite3.h>

#include "deprov/store.h"

enum store_stmt {
	ST_EVENT_PUT = 0,
	ST_EVENT_CASE,
	ST_CASE_INSERT,
	ST_CASE_STATE,
	ST_CASE_FROZEN,
	ST_CASE_COMPLETED,
	ST_STEP_INSERT,
	ST_STEP_UPDATE,
	ST_ACCOUNT_PUT,
	ST_TIMELINE_ADD,
	ST_CASES_OPEN,
	ST_CASE_GET,
	ST_STEPS_OF,
	ST_ACCOUNTS_OF,
	ST_COUNT,
	ST_COUNT_STATE,
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_KEY_PUT,
	ST_CANCEL_REQUEST,
	ST_SYNC_NORMAL,
	ST_SYNC_FULL,
	ST_CASE_ERROR_ADD,
	ST_CASE_REOPEN,
	ST__MAX
};

/* store_case_latest_for's statements, prepared once per shape. */
#define STORE_LATEST_KEYS	16
#define STORE_LATEST_TYPES	8

/* Deepest transaction nesting (savepoints) store_begin accepts. */
#define STORE_MAX_DEPTH	32
#define STORE_AUDIT_STMTS	2	/* store-audit.c's prepared statements */
#define STORE_SUMMARY_STMTS	6	/* store-summary.c's */

struct store {
	sqlite3		*db;
	sqlite3_stmt	*st[ST__MAX];
	int		 depth;		/* transaction nesting */
	/* failed[d]: a statement failed at nesting level d (1 = outermost) */
	unsigned char	 failed[STORE_MAX_DEPTH + 1];
	sqlite3_stmt	*latest[STORE_LATEST_KEYS + 1][STORE_LATEST_TYPES + 1];

	/* Deferred sync (see the top of this file). */
	char		*path;
	char		*wal_path;
	int		 ckpt_want;	/* the helper checkpoints (under mu) */
	sqlite3		*ckpt_db;	/* the helper's connection */
	int		 deferred;	/* the open transaction commits without a sync */
	uint64_t	 gen;		/* generation of the last deferred commit */
	int		 wal_fd;	/* for fdatasync, -1 until needed */
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	pthread_t	 th;
	int		 th_running;
	int		 th_stop;
	uint64_t	 want;		/* the helper syncs up to this generation */
	uint64_t	 done;		/* synced up to here (under mu) */
	int		 pipe[2];	/* the helper wakes the loop */
	uint64_t	 undos;		/* rollbacks so far, savepoints too */
	int		 lock_fd;	/* <path>.lock, held for the store's life */
	int		 readonly;	/* store_open_readonly: no writes, no lock */
	sqlite3_stmt	*audit_st[STORE_AUDIT_STMTS];	/* store-audit.c's, made on first use */
	sqlite3_stmt	*summary_st[STORE_SUMMARY_STMTS];	/* store-summary.c's, likewise */
	struct store_replica *replica;	/* store-replica.c, or NULL */
	int		 replica_left;	/* its thread was left running at close:
					   what it shares is not torn down */
};

/* Bind a string, NULL binding SQL NULL. */
void		 store_text(sqlite3_stmt *, int i, const char *v);
/* Bind v, or NULL when !there. */
void		 store_int(sqlite3_stmt *, int i, int64_t v, int there);
/* Step a write statement to completion and reset it; 0 or -1 (logged). */
int		 store_done(struct store *, sqlite3_stmt *);
const char	*store_col_text(sqlite3_stmt *, int i);
/* The columns every case query reads, in this order (store_case_read). */
#define STORE_CASE_COLS \
	"id, subject_key, subject, runbook, event_type, state, urgent," \
	" created_ms, updated_ms, effective_ms, freeze_deadline_ms," \
	" complete_deadline_ms, frozen_ms, completed_ms, error, reason, retry," \
	" cancel_by, waits_for"
void		 store_case_read(sqlite3_stmt *, struct store_case *);
/* Rows of (name, count) from sql, one cb each; cb's non-zero stops and is returned. */
int		 store_name_counts(struct store *, const char *sql,
		     int (*cb)(const char *, long long, void *), void *arg);
int		 store_exec(struct store *, const char *);
struct store_table;
/* The current row of st, every column of t, as values (store-copy.c). */
int		 store_row_values(sqlite3_stmt *, const struct store_table *,
		     struct store_value *);
/* A store_row_cb whose arg is the store: INSERT the row (a copy in). */
int		 store_import_row(const char *table, const struct store_value *,
		     size_t n, void *store);
/*
 * Wait on the store's cv for at most ms, the mutex held (a helper thread's
 * pause that a broadcast, a stop among them, cuts short).
 */
void		 store_wait_ms(struct store *, int ms);

/* store-replica.c, for store.c */
struct store_replica;
void		 store_replica_committed(struct store *);
uint64_t	 store_replica_synced(struct store *, uint64_t fsynced);
void		 store_replica_trim(struct store *);
void		 store_replica_stop(struct store *);
/* The store-audit.c schema, run by the migrations; its statements freed. */
extern const char store_audit_schema[];
void		 store_audit_close(struct store *);
void		 store_summary_close(struct store *);

#endif
