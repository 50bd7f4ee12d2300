/*
 * store: SQLite persistence for events, cases, steps, resolved accounts and
 * the timeline. WAL journal; synchronous=FULL so that a committed transition
 * survives a power cut, because it precedes an external side effect.
 * Prepared statements are kept for the life of the store. Transactions nest:
 * the outermost is BEGIN IMMEDIATE .. COMMIT, inner ones are savepoints, so
 * that an inner rollback undoes only its own writes (the engine keeps one
 * transaction open per loop turn and commits it once, see engine.c).
 *
 * Deferred sync: a transaction begun with store_begin_deferred commits with
 * synchronous=NORMAL (its WAL frames are written, not yet synced) and gets a
 * generation number; the WAL is then synced either at once (store_sync) or
 * by a helper thread (store_sync_async), which wakes the loop through
 * store_sync_fd. store_synced says up to which generation the commits are on
 * disk. Whoever defers must not act on a transition before its generation
 * is synced. Every other transaction commits with synchronous=FULL.
 *
 * Checkpoints: SQLite would copy the WAL back into the database inside the
 * commit that crosses STORE_CKPT_PAGES, syncing the database file on the
 * loop. A WAL hook asks the helper thread instead, which checkpoints
 * (PASSIVE: writers go on meanwhile) through a connection of its own;
 * without the helper the hook checkpoints in place, as SQLite would, and so
 * it does when the WAL reaches STORE_CKPT_MAX_PAGES (a helper's checkpoint
 * never takes the frames appended while it runs, so under a steady stream
 * of commits the WAL would only grow).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "deprov/log.h"
#include "deprov/randid.h"
#include "deprov/store.h"

#include "store-internal.h"
#include "store-tables.h"


static const char *store_sql[ST__MAX] = {
	[ST_EVENT_PUT] = "INSERT OR IGNORE INTO events(source, id, type, subject,"
	    " origin, received_ms) VALUES (?, ?, ?, ?, ?, ?)",
	[ST_EVENT_CASE] = "UPDATE events SET case_id = ?, disposition = ?"
	    " WHERE source = ? AND id = ?",
	[ST_CASE_INSERT] = "INSERT INTO cases(subject_key, subject, runbook,"
	    " event_type, state, urgent, created_ms, updated_ms, effective_ms,"
	    " freeze_deadline_ms, complete_deadline_ms, reason, retry, waits_for)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_CASE_STATE] = "UPDATE cases SET state = ?, updated_ms = ?,"
	    " error = coalesce(?, error) WHERE id = ?",
	[ST_CASE_FROZEN] = "UPDATE cases SET frozen_ms = ? WHERE id = ?"
	    " AND frozen_ms IS NULL",
	[ST_CASE_COMPLETED] = "UPDATE cases SET completed_ms = ? WHERE id = ?",
	[ST_STEP_INSERT] = "INSERT INTO steps(case_id, target, seq, step, opts,"
	    " state, attempts) VALUES (?, ?, ?, ?, ?, ?, ?)",
	/*
	 * started_ms and finished_ms are worked out by the caller (an IN list
	 * of the terminal states here cost a temporary table per update).
	 */
	/*
	 * A step that ended well keeps no error (its retries stay in the
	 * timeline); ?10 says so, worked out by the caller like the times.
	 */
	[ST_STEP_UPDATE] = "UPDATE steps SET state = ?1, attempts = ?2,"
	    " last_error = CASE WHEN ?10 THEN NULL"
	    " ELSE coalesce(?3, last_error) END, detail = coalesce(?4, detail),"
	    " started_ms = coalesce(started_ms, ?5), finished_ms = ?6,"
	    " no_account = ?11"
	    " WHERE case_id = ?7 AND target = ?8 AND seq = ?9",
	[ST_ACCOUNT_PUT] = "INSERT OR REPLACE INTO accounts(case_id, target,"
	    " account) VALUES (?, ?, ?)",
	[ST_TIMELINE_ADD] = "INSERT INTO timeline(case_id, ts_ms, kind, target,"
	    " step, detail) VALUES (?, ?, ?, ?, ?, ?)",
	[ST_CASES_OPEN] = "SELECT id, subject_key, subject, runbook, event_type,"
	    " state, urgent, created_ms, updated_ms, effective_ms,"
	    " freeze_deadline_ms, complete_deadline_ms, frozen_ms, completed_ms,"
	    " error, reason, retry, cancel_by, waits_for FROM cases"
	    " WHERE completed_ms IS NULL AND state NOT IN ('completed',"
	    " 'cancelled') ORDER BY id",
	[ST_CASE_GET] = "SELECT id, subject_key, subject, runbook, event_type,"
	    " state, urgent, created_ms, updated_ms, effective_ms,"
	    " freeze_deadline_ms, complete_deadline_ms, frozen_ms, completed_ms,"
	    " error, reason, retry, cancel_by, waits_for FROM cases WHERE id = ?",
	[ST_STEPS_OF] = "SELECT target, seq, step, opts, state, attempts,"
	    " last_error, detail, started_ms, finished_ms, no_account FROM steps"
	    " WHERE case_id = ? ORDER BY target, seq",
	[ST_ACCOUNTS_OF] = "SELECT target, account FROM accounts"
	    " WHERE case_id = ?",
	[ST_COUNT] = "SELECT count(*) FROM cases",
	[ST_COUNT_STATE] = "SELECT count(*) FROM cases WHERE state = ?",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT store_nest",
	[ST_RELEASE] = "RELEASE store_nest",
	[ST_ROLLBACK_TO] = "ROLLBACK TO store_nest",
	[ST_KEY_PUT] = "INSERT OR IGNORE INTO case_keys(key, case_id)"
	    " VALUES (?, ?)",
	[ST_CANCEL_REQUEST] = "UPDATE cases SET cancel_by = ? WHERE id = ?",
	[ST_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
	[ST_SYNC_FULL] = "PRAGMA synchronous=FULL",
	/* Every failed step adds its error: the case shows them all. */
	[ST_CASE_ERROR_ADD] = "UPDATE cases SET error = CASE WHEN error IS NULL"
	    " OR error = '' THEN ?1 ELSE error || '; ' || ?1 END WHERE id = ?2",
	/* An operator's retry: the case runs again, its old errors go. */
	[ST_CASE_REOPEN] = "UPDATE cases SET error = NULL, completed_ms = NULL"
	    " WHERE id = ?",
};

#define STORE_CKPT_PAGES	1000	/* SQLite's own auto-checkpoint size */
/* The helper never catches up while writes go on: then on the loop, whole. */
#define STORE_CKPT_MAX_PAGES	16000
#define STORE_SYNC_RETRY_MS	100	/* a failing fdatasync is tried again after */

/*
 * GET /v1/cases?failed_at=T walks the failed steps at T from the newest
 * case down instead of probing every case's steps: only failed rows are
 * indexed, a small index that steps becoming failed keep up to date.
 */
#define STORE_FAILED_INDEX \
	"CREATE INDEX IF NOT EXISTS steps_failed ON steps(target, case_id)" \
	" WHERE state = 'failed';"

static const char *store_schema =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS events ("
    "  source TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL,"
    "  subject TEXT, origin TEXT, received_ms INTEGER NOT NULL,"
    "  case_id INTEGER, disposition TEXT,"
    "  PRIMARY KEY (source, id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS cases ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  subject_key TEXT NOT NULL, subject TEXT NOT NULL, runbook TEXT NOT NULL,"
    "  event_type TEXT NOT NULL, state TEXT NOT NULL, urgent INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  effective_ms INTEGER NOT NULL, freeze_deadline_ms INTEGER,"
    "  complete_deadline_ms INTEGER, frozen_ms INTEGER, completed_ms INTEGER,"
    "  error TEXT, reason TEXT, retry TEXT, cancel_by TEXT,"
    "  waits_for INTEGER);"
    "CREATE INDEX IF NOT EXISTS cases_state ON cases(state);"
    "CREATE INDEX IF NOT EXISTS cases_subject ON cases(subject_key);"
    "CREATE TABLE IF NOT EXISTS case_keys ("
    "  key TEXT NOT NULL, case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  PRIMARY KEY (key, case_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS steps ("
    "  case_id INTEGER NOT NULL REFERENCES cases(id), target TEXT NOT NULL,"
    "  seq INTEGER NOT NULL, step TEXT NOT NULL, opts TEXT,"
    "  state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT, detail TEXT, started_ms INTEGER, finished_ms INTEGER,"
    "  no_account INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (case_id, target, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS accounts ("
    "  case_id INTEGER NOT NULL REFERENCES cases(id), target TEXT NOT NULL,"
    "  account TEXT NOT NULL, PRIMARY KEY (case_id, target)) WITHOUT ROWID;"
    /*
     * No AUTOINCREMENT (it reads and writes sqlite_sequence on every
     * insert): rows are never deleted, so a new rowid is always the
     * largest yet and id orders a case's timeline. Files made before
     * keep the keyword; both behave the same.
     */
    "CREATE TABLE IF NOT EXISTS timeline ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id), ts_ms INTEGER NOT NULL,"
    "  kind TEXT NOT NULL, target TEXT, step TEXT, detail TEXT);"
    "CREATE INDEX IF NOT EXISTS timeline_case ON timeline(case_id, id);"
    STORE_FAILED_INDEX;

/*
 * Schema versions. A new file gets the latest schema above and is stamped
 * STORE_SCHEMA_VERSION; an older file is brought up by the migrations from
 * its version on, in one transaction; a newer file (written by a later
 * deprovd) is refused rather than misread.
 */
/* STORE_SCHEMA_VERSION: store-tables.h, shared with the other backend. */

/* The dashboard's window is a range on created_ms: not a scan of all cases. */
#define STORE_CREATED_INDEX \
	"CREATE INDEX IF NOT EXISTS cases_created ON cases(created_ms);"

static const char *const store_migrations[STORE_SCHEMA_VERSION + 1][3] = {
	/* 1 -> 2: a skipped step records that it found no account. */
	[2] = { "ALTER TABLE steps ADD COLUMN no_account INTEGER NOT NULL"
	    " DEFAULT 0;", NULL },
	/*
	 * 2 -> 3: the audit trail's table and the dashboard's index are the
	 * store's (audit.c and dashboard.c made them before).
	 */
	[3] = { store_audit_schema, STORE_CREATED_INDEX
	    "DROP INDEX IF EXISTS dashboard_cases_created;", NULL },
	/* 3 -> 4: failed steps by target, for listing cases by failure. */
	[4] = { STORE_FAILED_INDEX, NULL },
	/* 4 -> 5: the audit records of a case, for the evidence export. */
	[5] = { store_audit_schema, NULL },
	/* 5 -> 6: PostgreSQL's row revisions (store-pg.c); nothing here. */
	[6] = { NULL },
};


static int	store_run(struct store *, enum store_stmt);
static void	store_end_deferred(struct store *);
static int	store_wal_hook(void *, sqlite3 *, const char *, int);
static int	store_mkdirs(const char *path);
static int	store_schema_up(struct store *, char *, size_t);
static int	store_id_ensure(struct store *, char *, size_t);
static int	store_lock(struct store *, char *err, size_t errlen);

/* Create the directories leading to path. */
static int
store_mkdirs(const char *path)
{
	char	*p, *s;
	int	 r = 0;

	if ((s = strdup(path)) == NULL)
		return -1;
	for (p = s + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(s, 0750) != 0 && errno != EEXIST)
			r = -1;
		*p = '/';
	}
	free(s);
	return r;
}

/*
 * One process owns a store: take an exclusive lock on "<path>.lock" (flock,
 * not waiting) and write our pid and name in it. The lock goes with the
 * process, however it ends; the file stays (removing it would race with the
 * next owner). Readers that open the database themselves (deprovctl audit,
 * read-only) do not take it. On failure: -1 with err naming the holder and
 * errno EBUSY when another process holds the lock.
 */
static int
store_lock(struct store *s, char *err, size_t errlen)
{
	char	*lock_path = NULL, buf[96], who[64] = "";
	ssize_t	 n;
	long	 pid = 0;
	int	 fd = -1, saved;

	if (strcmp(s->path, ":memory:") == 0)
		return 0;
	if (asprintf(&lock_path, "%s.lock", s->path) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", lock_path,
		    strerror(errno));
		goto fail;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		saved = errno;
		if (saved != EWOULDBLOCK) {
			snprintf(err, errlen, "%s: cannot lock: %s", lock_path,
			    strerror(saved));
			goto fail;
		}
		/* Written by the holder: "<pid> <name>\n". */
		if ((n = pread(fd, buf, sizeof buf - 1, 0)) > 0) {
			buf[n] = '\0';
			if (sscanf(buf, "%ld %63s", &pid, who) < 1)
				pid = 0;
		}
		if (pid > 0)
			snprintf(err, errlen, "store %s is in use by %s pid %ld "
			    "(lock %s)", s->path, who[0] != '\0' ? who :
			    "process", pid, lock_path);
		else
			snprintf(err, errlen, "store %s is in use by another "
			    "process (lock %s)", s->path, lock_path);
		close(fd);
		free(lock_path);
		errno = EBUSY;
		return -1;
	}
	n = snprintf(buf, sizeof buf, "%ld %s\n", (long)getpid(),
	    program_invocation_short_name);
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_warn("store", "%s: cannot write our pid: %s", lock_path,
		    strerror(errno));
	s->lock_fd = fd;
	free(lock_path);
	return 0;

fail:
	if (fd >= 0)
		close(fd);
	free(lock_path);
	return -1;
}

int
store_exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("store", "%s", msg != NULL ? msg : "sqlite3_exec failed");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* The file's schema version: 0 for a new file. */
static int
store_schema_version(struct store *s)
{
	sqlite3_stmt	*st = NULL;
	int		 v = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key ="
	    " 'schema'", -1, &st, NULL) != SQLITE_OK)
		return 0;		/* no meta table: a new file */
	if (sqlite3_step(st) == SQLITE_ROW)
		v = atoi((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

/*
 * Every store has an id (meta "store_id"), made at its first open: a copy
 * in PostgreSQL (store migrate, store-replica.c) is known for the same
 * store by it.
 */
static int
store_id_ensure(struct store *s, char *err, size_t errlen)
{
	char	id[40];

	if (store_meta_get(s, "store_id", id, sizeof id) == 1)
		return 0;
	if (randid_hex(id, sizeof id, 16) != 0 ||
	    store_meta_set(s, "store_id", id) != 0) {
		snprintf(err, errlen, "%s: cannot give the store an id", s->path);
		return -1;
	}
	return 0;
}

/* Create or migrate the schema (see STORE_SCHEMA_VERSION). */
static int
store_schema_up(struct store *s, char *err, size_t errlen)
{
	char	sql[96];
	int	v, from, i;

	if (store_exec(s, "BEGIN IMMEDIATE") != 0)
		goto fail;
	from = v = store_schema_version(s);
	if (v > STORE_SCHEMA_VERSION) {
		store_exec(s, "ROLLBACK");
		snprintf(err, errlen, "%s: the store has schema version %d, "
		    "newer than this deprovd understands (%d): run the deprovd "
		    "that wrote it, or restore a backup", s->path, v,
		    STORE_SCHEMA_VERSION);
		return -1;
	}
	if (v == 0) {
		if (store_exec(s, store_schema) != 0 ||
		    store_exec(s, store_audit_schema) != 0 ||
		    store_exec(s, STORE_CREATED_INDEX) != 0)
			goto fail_rollback;
		v = STORE_SCHEMA_VERSION;
	}
	for (; v < STORE_SCHEMA_VERSION; v++)
		for (i = 0; store_migrations[v + 1][i] != NULL; i++)
			if (store_exec(s, store_migrations[v + 1][i]) != 0)
				goto fail_rollback;
	snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta(key, value) "
	    "VALUES ('schema', '%d')", STORE_SCHEMA_VERSION);
	if (store_exec(s, sql) != 0 || store_exec(s, "COMMIT") != 0)
		goto fail_rollback;
	if (from > 0 && from < STORE_SCHEMA_VERSION)
		log_info("store", "%s: migrated the schema from version %d to "
		    "%d", s->path, from, STORE_SCHEMA_VERSION);
	return 0;

fail_rollback:
	store_exec(s, "ROLLBACK");
fail:
	snprintf(err, errlen, "%s: schema: %s", s->path, sqlite3_errmsg(s->db));
	return -1;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store	*s;
	int		 i, saved_errno = 0;

	if ((s = calloc(1, sizeof *s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->wal_fd = s->pipe[0] = s->pipe[1] = s->lock_fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if ((s->path = strdup(path)) == NULL ||
	    asprintf(&s->wal_path, "%s-wal", path) < 0) {
		s->wal_path = NULL;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/*
	 * No allocation statistics (a mutex on every allocation); only takes
	 * effect before SQLite's first use in the process, else ignored.
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (store_mkdirs(path) != 0) {
		snprintf(err, errlen, "%s: cannot create directory: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (store_lock(s, err, errlen) != 0) {
		saved_errno = errno;
		goto fail;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, s->db != NULL ?
		    sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (store_exec(s, "PRAGMA journal_mode=WAL") != 0 ||
	    store_exec(s, "PRAGMA synchronous=FULL") != 0 ||
	    /*
	     * 32 MiB of page cache (the default is 2 MiB): a layoff's open
	     * cases and steps stay cached, and a turn's transaction does not
	     * spill pages to the WAL before its commit.
	     */
	    store_exec(s, "PRAGMA cache_size=-32768") != 0 ||
	    store_exec(s, "PRAGMA foreign_keys=ON") != 0 ||
	    /* A WAL grown by a burst is cut back when it restarts. */
	    store_exec(s, "PRAGMA journal_size_limit=67108864") != 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	if (store_schema_up(s, err, errlen) != 0 || store_id_ensure(s, err,
	    errlen) != 0)
		goto fail;
	sqlite3_wal_hook(s->db, store_wal_hook, s);
	for (i = 0; i < ST__MAX; i++) {
		if (sqlite3_prepare_v3(s->db, store_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: prepare: %s", path,
			    sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	return s;

fail:
	store_close(s);
	if (saved_errno != 0)
		errno = saved_errno;
	return NULL;
}

void
store_close(struct store *s)
{
	int i, j;

	if (s == NULL)
		return;
	store_replica_stop(s);
	if (s->th_running) {
		pthread_mutex_lock(&s->mu);
		s->th_stop = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->th, NULL);
	}
	sqlite3_close(s->ckpt_db);
	if (s->done < s->gen)
		store_sync(s);
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	/* A replication thread left running still uses these. */
	if (s->pipe[0] >= 0 && !s->replica_left)
		close(s->pipe[0]);
	if (s->pipe[1] >= 0 && !s->replica_left)
		close(s->pipe[1]);
	if (!s->replica_left) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
	}
	free(s->wal_path);
	free(s->path);
	store_audit_close(s);
	store_summary_close(s);
	for (i = 0; i < ST__MAX; i++)
		sqlite3_finalize(s->st[i]);
	for (i = 0; i <= STORE_LATEST_KEYS; i++)
		for (j = 0; j <= STORE_LATEST_TYPES; j++)
			sqlite3_finalize(s->latest[i][j]);
	if (s->db != NULL)
		sqlite3_close(s->db);
	/* Last: the next owner starts only once our connection is closed. */
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	if (!s->replica_left)
		free(s);	/* else the left thread still reads it: the exit frees */
}

struct store *
store_open_readonly(const char *path, char *err, size_t errlen)
{
	struct store	*s;
	int		 v;

	if ((s = calloc(1, sizeof *s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->wal_fd = s->pipe[0] = s->pipe[1] = s->lock_fd = -1;
	s->readonly = 1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if ((s->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, s->db != NULL ?
		    sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if ((v = store_schema_version(s)) == 0) {
		snprintf(err, errlen, "%s: not a deprov store", path);
		goto fail;
	}
	if (v > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: the store has schema version %d, newer "
		    "than this program understands (%d)", path, v,
		    STORE_SCHEMA_VERSION);
		goto fail;
	}
	return s;

fail:
	store_close(s);
	return NULL;
}

const char *
store_errmsg(struct store *s)
{
	return sqlite3_errmsg(s->db);
}

/* Run one of the prepared transaction-control statements. */
static int
store_run(struct store *s, enum store_stmt which)
{
	sqlite3_stmt	*st = s->st[which];
	int		 rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_error("store", "%s: %s", store_sql[which],
		    sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

int
store_begin(struct store *s)
{
	if (s->depth >= STORE_MAX_DEPTH) {
		log_error("store", "transactions nested too deep");
		return -1;
	}
	if (store_run(s, s->depth == 0 ? ST_BEGIN : ST_SAVEPOINT) != 0)
		return -1;
	s->failed[++s->depth] = 0;
	return 0;
}

int
store_begin_deferred(struct store *s)
{
	if (s->depth > 0)
		return -1;
	/* The safety level cannot change inside a transaction: now. */
	if (store_run(s, ST_SYNC_NORMAL) != 0)
		return -1;
	if (store_begin(s) != 0) {
		store_run(s, ST_SYNC_FULL);
		return -1;
	}
	s->deferred = 1;
	/* Rows PostgreSQL has leave the outbox here: no sync of their own. */
	store_replica_trim(s);
	return 0;
}

uint64_t
store_commit_gen(struct store *s)
{
	return s->gen;
}

/* Undo the innermost level (a savepoint, or the whole transaction). */
static void
store_undo(struct store *s, int level)
{
	s->undos++;
	if (level > 1) {
		store_run(s, ST_ROLLBACK_TO);
		store_run(s, ST_RELEASE);
	} else if (sqlite3_get_autocommit(s->db) == 0)
		store_run(s, ST_ROLLBACK);
}

int
store_commit(struct store *s)
{
	int level = s->depth;

	if (level == 0)
		return -1;
	s->depth--;
	if (s->failed[level]) {
		store_undo(s, level);
		return -1;
	}
	if (level > 1) {
		if (store_run(s, ST_RELEASE) != 0) {
			s->failed[level - 1] = 1;
			return -1;
		}
		return 0;
	}
	if (store_run(s, ST_COMMIT) != 0) {
		/* A failed COMMIT may leave the transaction open: end it. */
		store_undo(s, 1);
		store_end_deferred(s);
		return -1;
	}
	if (s->deferred) {
		s->gen++;	/* written, to be synced */
		store_end_deferred(s);
	}
	store_replica_committed(s);
	return 0;
}

uint64_t
store_undo_count(struct store *s)
{
	return s->undos;
}

void
store_rollback(struct store *s)
{
	int level = s->depth;

	if (level == 0)
		return;
	s->depth--;
	store_undo(s, level);
	if (level == 1)
		store_end_deferred(s);
}

/* Back to synchronous=FULL once a deferred transaction is over. */
static void
store_end_deferred(struct store *s)
{
	if (!s->deferred)
		return;
	s->deferred = 0;
	store_run(s, ST_SYNC_FULL);
}

/* The WAL's descriptor for fdatasync (the file exists once WAL is on). */
static int
store_wal_fd(struct store *s)
{
	if (s->wal_fd < 0)
		s->wal_fd = open(s->wal_path, O_RDONLY | O_CLOEXEC);
	return s->wal_fd;
}

int
store_sync(struct store *s)
{
	uint64_t	 gen = s->gen;
	int		 fd, r;

	pthread_mutex_lock(&s->mu);
	r = s->done >= gen;
	pthread_mutex_unlock(&s->mu);
	if (r)
		return 0;
	if ((fd = store_wal_fd(s)) < 0 || fdatasync(fd) != 0) {
		log_error("store", "%s: sync: %s", s->wal_path, strerror(errno));
		return -1;
	}
	pthread_mutex_lock(&s->mu);
	if (s->done < gen) {
		s->done = gen;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/*
 * The helper thread: copy the WAL into the database through its own
 * connection. PASSIVE: it takes what no reader still needs and waits for
 * nobody; the writer restarts the WAL once everything was copied.
 */
static void
store_checkpoint(struct store *s)
{
	int	rc, nlog = 0, nckpt = 0;

	if (s->ckpt_db == NULL) {
		if (sqlite3_open_v2(s->path, &s->ckpt_db, SQLITE_OPEN_READWRITE |
		    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
			log_error("store", "%s: checkpoint connection: %s",
			    s->path, s->ckpt_db != NULL ?
			    sqlite3_errmsg(s->ckpt_db) : "cannot open");
			sqlite3_close(s->ckpt_db);
			s->ckpt_db = NULL;
			return;
		}
		/* Its own hook would checkpoint after its own (no) commits. */
		sqlite3_wal_autocheckpoint(s->ckpt_db, 0);
		/* It knows the file is in WAL mode only once it has read it. */
		if (sqlite3_exec(s->ckpt_db, "PRAGMA journal_mode=WAL", NULL,
		    NULL, NULL) != SQLITE_OK) {
			log_error("store", "%s: checkpoint connection: %s",
			    s->path, sqlite3_errmsg(s->ckpt_db));
			sqlite3_close(s->ckpt_db);
			s->ckpt_db = NULL;
			return;
		}
	}
	rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL,
	    SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
	if (rc == SQLITE_OK)
		log_debug("store", "checkpoint: %d of %d WAL pages copied",
		    nckpt, nlog);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warn("store", "%s: checkpoint: %s", s->path,
		    sqlite3_errmsg(s->ckpt_db));
}

/* After every commit: nframes pages are in the WAL. */
static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int nframes)
{
	struct store	*s = arg;

	if (nframes < STORE_CKPT_PAGES)
		return SQLITE_OK;
	if (!s->th_running || nframes >= STORE_CKPT_MAX_PAGES) {
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
		    NULL, NULL);
		return SQLITE_OK;
	}
	pthread_mutex_lock(&s->mu);
	if (!s->ckpt_want) {
		s->ckpt_want = 1;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return SQLITE_OK;
}

void
store_wait_ms(struct store *s, int ms)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

/* The helper thread: sync the WAL whenever a later generation is wanted. */
static void *
store_sync_main(void *arg)
{
	struct store	*s = arg;
	uint64_t	 want;
	int		 r, e;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->th_stop && s->want <= s->done && !s->ckpt_want)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->th_stop)
			break;
		if (s->want <= s->done) {
			s->ckpt_want = 0;
			pthread_mutex_unlock(&s->mu);
			store_checkpoint(s);
			pthread_mutex_lock(&s->mu);
			continue;
		}
		want = s->want;
		pthread_mutex_unlock(&s->mu);
		/* wal_fd was opened by the loop before the first request. */
		r = fdatasync(s->wal_fd);
		e = errno;
		pthread_mutex_lock(&s->mu);
		if (r == 0 && s->done < want) {
			s->done = want;
			/* Synced changes may go to PostgreSQL now. */
			pthread_cond_broadcast(&s->cv);
		}
		pthread_mutex_unlock(&s->mu);
		if (r != 0)
			/* Not synced: nothing waiting on it goes ahead; try again. */
			log_error("store", "%s: sync: %s", s->wal_path,
			    strerror(e));
		if (write(s->pipe[1], "s", 1) < 0 && errno != EAGAIN)
			log_error("store", "sync wake-up: %s", strerror(errno));
		pthread_mutex_lock(&s->mu);
		/*
		 * A failing fdatasync is tried again after a pause, not in a
		 * spin; a stop (th_stop, broadcast) cuts the pause short.
		 */
		if (r != 0 && !s->th_stop)
			store_wait_ms(s, STORE_SYNC_RETRY_MS);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int
store_sync_fd(struct store *s)
{
	if (s->pipe[0] >= 0)
		return s->pipe[0];
	if (pipe2(s->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		s->pipe[0] = s->pipe[1] = -1;
		return -1;
	}
	if (pthread_create(&s->th, NULL, store_sync_main, s) != 0) {
		close(s->pipe[0]);
		close(s->pipe[1]);
		s->pipe[0] = s->pipe[1] = -1;
		return -1;
	}
	s->th_running = 1;
	return s->pipe[0];
}

int
store_sync_async(struct store *s)
{
	if (!s->th_running || store_wal_fd(s) < 0)
		return store_sync(s);	/* no helper: sync here */
	pthread_mutex_lock(&s->mu);
	if (s->want < s->gen) {
		s->want = s->gen;
		/* Broadcast: the replication thread waits on cv too. */
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

uint64_t
store_synced(struct store *s)
{
	char		 buf[64];

	if (s->pipe[0] >= 0)
		while (read(s->pipe[0], buf, sizeof buf) > 0)
			;
	return store_durable(s);
}

uint64_t
store_durable(struct store *s)
{
	uint64_t	 done;

	pthread_mutex_lock(&s->mu);
	done = s->done;
	pthread_mutex_unlock(&s->mu);
	return store_replica_synced(s, done);
}

int
store_in_transaction(struct store *s)
{
	return s->depth;
}

/* Bind helpers: NULL strings and zero times bind NULL where it matters. */
void
store_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/* v, or NULL when it is not there. */
void
store_int(sqlite3_stmt *st, int i, int64_t v, int there)
{
	if (there)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/* Step a write statement to completion and reset it. */
int
store_done(struct store *s, sqlite3_stmt *st)
{
	int rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_error("store", "write failed: %s", sqlite3_errmsg(s->db));
		if (s->depth > 0)
			s->failed[s->depth] = 1;
		return -1;
	}
	return 0;
}

int
store_event_put(struct store *s, const char *source, const char *id,
    const char *type, const char *subject_key, const char *origin,
    int64_t now_ms)
{
	sqlite3_stmt *st = s->st[ST_EVENT_PUT];

	store_text(st, 1, source);
	store_text(st, 2, id);
	store_text(st, 3, type);
	store_text(st, 4, subject_key);
	store_text(st, 5, origin);
	sqlite3_bind_int64(st, 6, now_ms);
	if (store_done(s, st) != 0)
		return -1;
	return sqlite3_changes(s->db) == 0 ? 1 : 0;
}

int
store_event_set_case(struct store *s, const char *source, const char *id,
    long long case_id, const char *disposition)
{
	sqlite3_stmt *st = s->st[ST_EVENT_CASE];

	store_int(st, 1, case_id, case_id > 0);
	store_text(st, 2, disposition);
	store_text(st, 3, source);
	store_text(st, 4, id);
	return store_done(s, st);
}

long long
store_case_insert(struct store *s, const struct store_case *c)
{
	sqlite3_stmt *st = s->st[ST_CASE_INSERT];

	store_text(st, 1, c->subject_key);
	store_text(st, 2, c->subject_json);
	store_text(st, 3, c->runbook);
	store_text(st, 4, c->event_type);
	store_text(st, 5, c->state);
	sqlite3_bind_int(st, 6, c->urgent);
	sqlite3_bind_int64(st, 7, c->created_ms);
	sqlite3_bind_int64(st, 8, c->updated_ms);
	sqlite3_bind_int64(st, 9, c->effective_ms);
	sqlite3_bind_int64(st, 10, c->freeze_deadline_ms);
	sqlite3_bind_int64(st, 11, c->complete_deadline_ms);
	store_text(st, 12, c->reason);
	store_text(st, 13, c->retry_json);
	store_int(st, 14, c->waits_for, c->waits_for > 0);
	if (store_done(s, st) != 0)
		return -1;
	return (long long)sqlite3_last_insert_rowid(s->db);
}

int
store_case_state(struct store *s, long long id, const char *state,
    int64_t now_ms, const char *error)
{
	sqlite3_stmt *st = s->st[ST_CASE_STATE];

	store_text(st, 1, state);
	sqlite3_bind_int64(st, 2, now_ms);
	store_text(st, 3, error);
	sqlite3_bind_int64(st, 4, id);
	return store_done(s, st);
}

int
store_case_frozen(struct store *s, long long id, int64_t at_ms)
{
	sqlite3_stmt *st = s->st[ST_CASE_FROZEN];

	sqlite3_bind_int64(st, 1, at_ms);
	sqlite3_bind_int64(st, 2, id);
	return store_done(s, st);
}

int
store_case_completed(struct store *s, long long id, int64_t at_ms)
{
	sqlite3_stmt *st = s->st[ST_CASE_COMPLETED];

	sqlite3_bind_int64(st, 1, at_ms);
	sqlite3_bind_int64(st, 2, id);
	return store_done(s, st);
}

int
store_step_insert(struct store *s, long long case_id,
    const struct store_step *p)
{
	sqlite3_stmt *st = s->st[ST_STEP_INSERT];

	sqlite3_bind_int64(st, 1, case_id);
	store_text(st, 2, p->target);
	sqlite3_bind_int(st, 3, p->seq);
	store_text(st, 4, p->step);
	store_text(st, 5, p->opts_json);
	store_text(st, 6, p->state);
	sqlite3_bind_int(st, 7, p->attempts);
	return store_done(s, st);
}

int
store_step_update(struct store *s, long long case_id, const char *target,
    int seq, const char *state, int attempts, const char *last_error,
    const char *detail, int no_account, int64_t now_ms)
{
	sqlite3_stmt	*st = s->st[ST_STEP_UPDATE];
	int		 terminal, ok;

	ok = strcmp(state, "succeeded") == 0 || strcmp(state, "skipped") == 0;
	terminal = ok || strcmp(state, "failed") == 0;
	store_text(st, 1, state);
	sqlite3_bind_int(st, 2, attempts);
	store_text(st, 3, last_error);
	store_text(st, 4, detail);
	/* started_ms: set once, when the step first runs. */
	store_int(st, 5, now_ms, strcmp(state, "running") == 0);
	/* finished_ms: when it ended; cleared while it is not over. */
	store_int(st, 6, now_ms, terminal);
	sqlite3_bind_int64(st, 7, case_id);
	store_text(st, 8, target);
	sqlite3_bind_int(st, 9, seq);
	sqlite3_bind_int(st, 10, ok);
	sqlite3_bind_int(st, 11, no_account != 0);
	return store_done(s, st);
}

int
store_case_error_add(struct store *s, long long id, const char *error)
{
	sqlite3_stmt *st = s->st[ST_CASE_ERROR_ADD];

	store_text(st, 1, error);
	sqlite3_bind_int64(st, 2, id);
	return store_done(s, st);
}

int
store_case_reopen(struct store *s, long long id)
{
	sqlite3_stmt *st = s->st[ST_CASE_REOPEN];

	sqlite3_bind_int64(st, 1, id);
	return store_done(s, st);
}

int
store_account_put(struct store *s, long long case_id, const char *target,
    const char *account)
{
	sqlite3_stmt *st = s->st[ST_ACCOUNT_PUT];

	sqlite3_bind_int64(st, 1, case_id);
	store_text(st, 2, target);
	store_text(st, 3, account);
	return store_done(s, st);
}

int
store_timeline_add(struct store *s, long long case_id, int64_t now_ms,
    const char *kind, const char *target, const char *step, const char *detail)
{
	sqlite3_stmt *st = s->st[ST_TIMELINE_ADD];

	sqlite3_bind_int64(st, 1, case_id);
	sqlite3_bind_int64(st, 2, now_ms);
	store_text(st, 3, kind);
	store_text(st, 4, target);
	store_text(st, 5, step);
	store_text(st, 6, detail);
	return store_done(s, st);
}

const char *
store_col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/*
 * The current row of a case query (STORE_CASE_COLS, then, in summaries,
 * the error holding the case up) into c; strings are the statement's.
 */
void
store_case_read(sqlite3_stmt *st, struct store_case *c)
{
	memset(c, 0, sizeof *c);
	c->id = sqlite3_column_int64(st, 0);
	c->subject_key = store_col_text(st, 1);
	c->subject_json = store_col_text(st, 2);
	c->runbook = store_col_text(st, 3);
	c->event_type = store_col_text(st, 4);
	c->state = store_col_text(st, 5);
	c->urgent = sqlite3_column_int(st, 6);
	c->created_ms = sqlite3_column_int64(st, 7);
	c->updated_ms = sqlite3_column_int64(st, 8);
	c->effective_ms = sqlite3_column_int64(st, 9);
	c->freeze_deadline_ms = sqlite3_column_int64(st, 10);
	c->complete_deadline_ms = sqlite3_column_int64(st, 11);
	c->frozen_ms = sqlite3_column_int64(st, 12);
	c->completed_ms = sqlite3_column_int64(st, 13);
	c->error = store_col_text(st, 14);
	c->reason = store_col_text(st, 15);
	c->retry_json = store_col_text(st, 16);
	c->cancel_by = store_col_text(st, 17);
	c->waits_for = sqlite3_column_int64(st, 18);
	if (sqlite3_column_count(st) > 19)
		c->step_error = store_col_text(st, 19);
}

/* Run a case query and call cb per row. */
static int
store_case_rows(struct store *s, sqlite3_stmt *st, store_case_cb cb, void *arg)
{
	struct store_case	 c;
	int			 rc, r = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_case_read(st, &c);
		if ((r = cb(&c, arg)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE) {
		log_error("store", "read failed: %s", sqlite3_errmsg(s->db));
		r = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int
store_cases_open(struct store *s, store_case_cb cb, void *arg)
{
	return store_case_rows(s, s->st[ST_CASES_OPEN], cb, arg);
}

int
store_case_get(struct store *s, long long id, store_case_cb cb, void *arg)
{
	sqlite3_bind_int64(s->st[ST_CASE_GET], 1, id);
	return store_case_rows(s, s->st[ST_CASE_GET], cb, arg);
}

int
store_steps_of(struct store *s, long long case_id, store_step_cb cb, void *arg)
{
	sqlite3_stmt		*st = s->st[ST_STEPS_OF];
	struct store_step	 p;
	int			 rc, r = 0;

	sqlite3_bind_int64(st, 1, case_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&p, 0, sizeof p);
		p.target = store_col_text(st, 0);
		p.seq = sqlite3_column_int(st, 1);
		p.step = store_col_text(st, 2);
		p.opts_json = store_col_text(st, 3);
		p.state = store_col_text(st, 4);
		p.attempts = sqlite3_column_int(st, 5);
		p.last_error = store_col_text(st, 6);
		p.detail = store_col_text(st, 7);
		p.started_ms = sqlite3_column_int64(st, 8);
		p.finished_ms = sqlite3_column_int64(st, 9);
		p.no_account = sqlite3_column_int(st, 10);
		if ((r = cb(&p, arg)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE) {
		log_error("store", "read failed: %s", sqlite3_errmsg(s->db));
		r = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int
store_accounts_of(struct store *s, long long case_id, store_account_cb cb,
    void *arg)
{
	sqlite3_stmt	*st = s->st[ST_ACCOUNTS_OF];
	int		 rc, r = 0;

	sqlite3_bind_int64(st, 1, case_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = cb(store_col_text(st, 0), store_col_text(st, 1),
		    arg)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = -1;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

long long
store_count_cases(struct store *s, const char *state)
{
	sqlite3_stmt	*st = s->st[state == NULL ? ST_COUNT : ST_COUNT_STATE];
	long long	 n = -1;

	if (state != NULL)
		store_text(st, 1, state);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return n;
}

int
store_count_ended(struct store *s, int (*cb)(const char *, long long, void *),
    void *arg)
{
	return store_name_counts(s, "SELECT state, count(*) FROM cases WHERE"
	    " state IN ('completed', 'cancelled', 'escalated') AND completed_ms"
	    " IS NOT NULL GROUP BY state", cb, arg);
}

int
store_name_counts(struct store *s, const char *sql,
    int (*cb)(const char *, long long, void *), void *arg)
{
	sqlite3_stmt	*st = NULL;
	int		 rc, r = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_error("store", "count: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = cb(store_col_text(st, 0), sqlite3_column_int64(st, 1),
		    arg)) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = -1;
	sqlite3_finalize(st);
	return r;
}

/*
 * The filter's conditions are appended only when given, so SQLite plans
 * the plain query for what was asked, always in id order so that a page
 * stops once it is full (measured on 10,000 cases, 20 steps each, a page
 * of 50: docs/OPERATIONS.md "Listing cases"). state and subject_key walk
 * their indexes, which hold the id. The creation bounds are written
 * +created_ms so that the created_ms index is not used for them: it would
 * collect the whole range and sort it by id on every page (7 ms for a
 * range of 10,000) where walking the ids stops at the 50th match. With
 * failed_at, the failed steps at that target lead (steps_failed, in case
 * id order), so a failure that is rare costs its own rows, not a probe
 * into every case's steps (27 ms when none matched); the GROUP BY drops a
 * case's second failed step there.
 */
int
store_cases_list(struct store *s, const struct store_case_filter *f,
    store_case_cb cb, void *arg)
{
	sqlite3_stmt	*st = NULL;
	const char	*from, *id;
	int		 r, i = 1;
	char		 sql[1024];

	if (f->failed_at != NULL) {
		from = " FROM steps s CROSS JOIN cases c ON c.id = s.case_id"
		    " WHERE s.target = ? AND s.state = 'failed'";
		id = "s.case_id";
	} else {
		from = " FROM cases c WHERE 1 = 1";
		id = "c.id";
	}
	snprintf(sql, sizeof sql, "SELECT c.id, c.subject_key, c.subject,"
	    " c.runbook, c.event_type, c.state, c.urgent, c.created_ms,"
	    " c.updated_ms, c.effective_ms, c.freeze_deadline_ms,"
	    " c.complete_deadline_ms, c.frozen_ms, c.completed_ms, c.error,"
	    " c.reason, c.retry, c.cancel_by, c.waits_for"
	    "%s%s%s%s%s%s%s%s%s%s ORDER BY %s DESC LIMIT ?",
	    from,
	    f->below_id > 0 ? " AND " : "", f->below_id > 0 ? id : "",
	    f->below_id > 0 ? " < ?" : "",
	    f->state != NULL ? " AND c.state = ?" : "",
	    f->subject != NULL ? " AND c.subject_key = ?" : "",
	    f->runbook != NULL ? " AND c.runbook = ?" : "",
	    f->has_from ? " AND +c.created_ms >= ?" : "",
	    f->has_before ? " AND +c.created_ms < ?" : "",
	    f->failed_at != NULL ? " GROUP BY s.case_id" : "", id);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_error("store", "list cases: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	if (f->failed_at != NULL)
		store_text(st, i++, f->failed_at);
	if (f->below_id > 0)
		sqlite3_bind_int64(st, i++, f->below_id);
	if (f->state != NULL)
		store_text(st, i++, f->state);
	if (f->subject != NULL)
		store_text(st, i++, f->subject);
	if (f->runbook != NULL)
		store_text(st, i++, f->runbook);
	if (f->has_from)
		sqlite3_bind_int64(st, i++, f->created_from_ms);
	if (f->has_before)
		sqlite3_bind_int64(st, i++, f->created_before_ms);
	sqlite3_bind_int(st, i, f->limit);
	r = store_case_rows(s, st, cb, arg);
	sqlite3_finalize(st);
	return r;
}

int
store_timeline_of(struct store *s, long long case_id, store_timeline_cb cb,
    void *arg)
{
	sqlite3_stmt		*st = NULL;
	struct store_timeline	 t;
	int			 rc, r = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT id, ts_ms, kind, target, step,"
	    " detail FROM timeline WHERE case_id = ? ORDER BY id", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, case_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t.id = sqlite3_column_int64(st, 0);
		t.ts_ms = sqlite3_column_int64(st, 1);
		t.kind = store_col_text(st, 2);
		t.target = store_col_text(st, 3);
		t.step = store_col_text(st, 4);
		t.detail = store_col_text(st, 5);
		if ((r = cb(&t, arg)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = -1;
	sqlite3_finalize(st);
	return r;
}

int
store_case_keys_put(struct store *s, long long case_id, const char *const *keys,
    size_t nkeys)
{
	sqlite3_stmt	*st = s->st[ST_KEY_PUT];
	size_t		 i;
	int		 r = 0;

	for (i = 0; i < nkeys && r == 0; i++) {
		store_text(st, 1, keys[i]);
		sqlite3_bind_int64(st, 2, case_id);
		r = store_done(s, st);
	}
	return r;
}

int
store_case_latest_for(struct store *s, const char *const *keys, size_t nkeys,
    const char *const *types, size_t ntypes, store_case_cb cb, void *arg)
{
	sqlite3_stmt	*st = NULL;
	char		 sql[1536];
	size_t		 i, off;
	int		 r, k = 1;

	if (nkeys == 0 || nkeys > STORE_LATEST_KEYS || ntypes == 0 ||
	    ntypes > STORE_LATEST_TYPES)
		return -1;
	if ((st = s->latest[nkeys][ntypes]) != NULL)
		goto bind;
	off = (size_t)snprintf(sql, sizeof sql, "SELECT c.id, c.subject_key,"
	    " c.subject, c.runbook, c.event_type, c.state, c.urgent,"
	    " c.created_ms, c.updated_ms, c.effective_ms, c.freeze_deadline_ms,"
	    " c.complete_deadline_ms, c.frozen_ms, c.completed_ms, c.error,"
	    " c.reason, c.retry, c.cancel_by, c.waits_for FROM cases c"
	    " WHERE c.id IN (SELECT case_id FROM"
	    " case_keys WHERE key IN (");
	for (i = 0; i < nkeys; i++)
		off += (size_t)snprintf(sql + off, sizeof sql - off, "%s?",
		    i > 0 ? ", " : "");
	off += (size_t)snprintf(sql + off, sizeof sql - off,
	    ")) AND c.event_type IN (");
	for (i = 0; i < ntypes; i++)
		off += (size_t)snprintf(sql + off, sizeof sql - off, "%s?",
		    i > 0 ? ", " : "");
	snprintf(sql + off, sizeof sql - off, ") ORDER BY c.id DESC LIMIT 1");
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	    NULL) != SQLITE_OK)
		return -1;
	s->latest[nkeys][ntypes] = st;
bind:
	for (i = 0; i < nkeys; i++)
		store_text(st, k++, keys[i]);
	for (i = 0; i < ntypes; i++)
		store_text(st, k++, types[i]);
	/* store_case_rows resets the statement and clears its bindings. */
	r = store_case_rows(s, st, cb, arg);
	return r;
}

int
store_case_cancel_request(struct store *s, long long id, const char *by)
{
	sqlite3_stmt *st = s->st[ST_CANCEL_REQUEST];

	store_text(st, 1, by);
	sqlite3_bind_int64(st, 2, id);
	return store_done(s, st);
}
