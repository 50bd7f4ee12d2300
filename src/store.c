/*
 * store: SQLite persistence for events, cases, steps, resolved accounts and
 * the timeline. WAL journal; synchronous=FULL so that a committed transition
 * survives a power cut, because it precedes an external side effect.
 * Prepared statements are kept for the life of the store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "deprov/log.h"
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
	ST__MAX
};

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
	[ST_STEP_UPDATE] = "UPDATE steps SET state = ?, attempts = ?,"
	    " last_error = coalesce(?, last_error), detail = coalesce(?, detail),"
	    " started_ms = CASE WHEN ? = 'running' AND started_ms IS NULL"
	    "   THEN ? ELSE started_ms END,"
	    " finished_ms = CASE WHEN ? IN ('succeeded','skipped','failed')"
	    "   THEN ? ELSE NULL END"
	    " WHERE case_id = ? AND target = ? AND seq = ?",
	[ST_ACCOUNT_PUT] = "INSERT OR REPLACE INTO accounts(case_id, target,"
	    " account) VALUES (?, ?, ?)",
	[ST_TIMELINE_ADD] = "INSERT INTO timeline(case_id, ts_ms, kind, target,"
	    " step, detail) VALUES (?, ?, ?, ?, ?, ?)",
	[ST_CASES_OPEN] = "SELECT id, subject_key, subject, runbook, event_type,"
	    " state, urgent, created_ms, updated_ms, effective_ms,"
	    " freeze_deadline_ms, complete_deadline_ms, frozen_ms, completed_ms,"
	    " error, reason, retry, cancel_by, waits_for FROM cases WHERE state"
	    " NOT IN"
	    " ('completed', 'cancelled', 'escalated') ORDER BY id",
	[ST_CASE_GET] = "SELECT id, subject_key, subject, runbook, event_type,"
	    " state, urgent, created_ms, updated_ms, effective_ms,"
	    " freeze_deadline_ms, complete_deadline_ms, frozen_ms, completed_ms,"
	    " error, reason, retry, cancel_by, waits_for FROM cases WHERE id = ?",
	[ST_STEPS_OF] = "SELECT target, seq, step, opts, state, attempts,"
	    " last_error, detail, started_ms, finished_ms FROM steps"
	    " WHERE case_id = ? ORDER BY target, seq",
	[ST_ACCOUNTS_OF] = "SELECT target, account FROM accounts"
	    " WHERE case_id = ?",
	[ST_COUNT] = "SELECT count(*) FROM cases",
	[ST_COUNT_STATE] = "SELECT count(*) FROM cases WHERE state = ?",
};

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
    "  PRIMARY KEY (case_id, target, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS accounts ("
    "  case_id INTEGER NOT NULL REFERENCES cases(id), target TEXT NOT NULL,"
    "  account TEXT NOT NULL, PRIMARY KEY (case_id, target)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS timeline ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id), ts_ms INTEGER NOT NULL,"
    "  kind TEXT NOT NULL, target TEXT, step TEXT, detail TEXT);"
    "CREATE INDEX IF NOT EXISTS timeline_case ON timeline(case_id, id);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', '1');";

struct store {
	sqlite3		*db;
	sqlite3_stmt	*st[ST__MAX];
	int		 depth;		/* transaction nesting */
	int		 failed;	/* a statement failed inside the transaction */
};

static int	store_exec(struct store *, const char *);
static int	store_mkdirs(const char *path);

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

static int
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

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store	*s;
	int		 i;

	if ((s = calloc(1, sizeof *s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (store_mkdirs(path) != 0) {
		snprintf(err, errlen, "%s: cannot create directory: %s", path,
		    strerror(errno));
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
	    store_exec(s, "PRAGMA foreign_keys=ON") != 0 ||
	    store_exec(s, store_schema) != 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
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
	return NULL;
}

void
store_close(struct store *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < ST__MAX; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db != NULL)
		sqlite3_close(s->db);
	free(s);
}

struct sqlite3 *
store_db(struct store *s)
{
	return s->db;
}

const char *
store_errmsg(struct store *s)
{
	return sqlite3_errmsg(s->db);
}

int
store_begin(struct store *s)
{
	if (s->depth++ > 0)
		return 0;
	s->failed = 0;
	if (store_exec(s, "BEGIN IMMEDIATE") != 0) {
		s->depth = 0;
		return -1;
	}
	return 0;
}

int
store_commit(struct store *s)
{
	if (s->depth == 0)
		return -1;
	if (--s->depth > 0)
		return s->failed ? -1 : 0;
	if (s->failed) {
		store_exec(s, "ROLLBACK");
		return -1;
	}
	return store_exec(s, "COMMIT");
}

void
store_rollback(struct store *s)
{
	if (s->depth == 0)
		return;
	if (--s->depth > 0) {
		s->failed = 1;
		return;
	}
	store_exec(s, "ROLLBACK");
}

/* Bind helpers: NULL strings and zero times bind NULL where it matters. */
static void
store_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/* Step a write statement to completion and reset it. */
static int
store_done(struct store *s, sqlite3_stmt *st)
{
	int rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_error("store", "write failed: %s", sqlite3_errmsg(s->db));
		if (s->depth > 0)
			s->failed = 1;
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

	if (case_id > 0)
		sqlite3_bind_int64(st, 1, case_id);
	else
		sqlite3_bind_null(st, 1);
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
	if (c->waits_for > 0)
		sqlite3_bind_int64(st, 14, c->waits_for);
	else
		sqlite3_bind_null(st, 14);
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
    const char *detail, int64_t now_ms)
{
	sqlite3_stmt *st = s->st[ST_STEP_UPDATE];

	store_text(st, 1, state);
	sqlite3_bind_int(st, 2, attempts);
	store_text(st, 3, last_error);
	store_text(st, 4, detail);
	store_text(st, 5, state);
	sqlite3_bind_int64(st, 6, now_ms);
	store_text(st, 7, state);
	sqlite3_bind_int64(st, 8, now_ms);
	sqlite3_bind_int64(st, 9, case_id);
	store_text(st, 10, target);
	sqlite3_bind_int(st, 11, seq);
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

static const char *
store_col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* Run a case query and call cb per row. */
static int
store_case_rows(struct store *s, sqlite3_stmt *st, store_case_cb cb, void *arg)
{
	struct store_case	 c;
	int			 rc, r = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&c, 0, sizeof c);
		c.id = sqlite3_column_int64(st, 0);
		c.subject_key = store_col_text(st, 1);
		c.subject_json = store_col_text(st, 2);
		c.runbook = store_col_text(st, 3);
		c.event_type = store_col_text(st, 4);
		c.state = store_col_text(st, 5);
		c.urgent = sqlite3_column_int(st, 6);
		c.created_ms = sqlite3_column_int64(st, 7);
		c.updated_ms = sqlite3_column_int64(st, 8);
		c.effective_ms = sqlite3_column_int64(st, 9);
		c.freeze_deadline_ms = sqlite3_column_int64(st, 10);
		c.complete_deadline_ms = sqlite3_column_int64(st, 11);
		c.frozen_ms = sqlite3_column_int64(st, 12);
		c.completed_ms = sqlite3_column_int64(st, 13);
		c.error = store_col_text(st, 14);
		c.reason = store_col_text(st, 15);
		c.retry_json = store_col_text(st, 16);
		c.cancel_by = store_col_text(st, 17);
		c.waits_for = sqlite3_column_int64(st, 18);
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
store_cases_list(struct store *s, const char *state, const char *subject,
    int limit, store_case_cb cb, void *arg)
{
	sqlite3_stmt	*st = NULL;
	int		 r, i = 1;
	char		 sql[640];

	snprintf(sql, sizeof sql, "SELECT id, subject_key, subject, runbook,"
	    " event_type, state, urgent, created_ms, updated_ms, effective_ms,"
	    " freeze_deadline_ms, complete_deadline_ms, frozen_ms, completed_ms,"
	    " error, reason, retry, cancel_by, waits_for FROM cases"
	    " WHERE 1 = 1%s%s"
	    " ORDER BY id DESC LIMIT ?",
	    state != NULL ? " AND state = ?" : "",
	    subject != NULL ? " AND subject_key = ?" : "");
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (state != NULL)
		store_text(st, i++, state);
	if (subject != NULL)
		store_text(st, i++, subject);
	sqlite3_bind_int(st, i, limit);
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
	sqlite3_stmt	*st = NULL;
	size_t		 i;
	int		 r = 0;

	if (sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO case_keys(key,"
	    " case_id) VALUES (?, ?)", -1, &st, NULL) != SQLITE_OK)
		return -1;
	for (i = 0; i < nkeys && r == 0; i++) {
		store_text(st, 1, keys[i]);
		sqlite3_bind_int64(st, 2, case_id);
		r = store_done(s, st);
	}
	sqlite3_finalize(st);
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

	if (nkeys == 0 || nkeys > 16 || ntypes == 0 || ntypes > 8)
		return -1;
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
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	for (i = 0; i < nkeys; i++)
		store_text(st, k++, keys[i]);
	for (i = 0; i < ntypes; i++)
		store_text(st, k++, types[i]);
	r = store_case_rows(s, st, cb, arg);
	sqlite3_finalize(st);
	return r;
}

int
store_case_cancel_request(struct store *s, long long id, const char *by)
{
	sqlite3_stmt	*st = NULL;
	int		 r;

	if (sqlite3_prepare_v2(s->db, "UPDATE cases SET cancel_by = ? WHERE"
	    " id = ?", -1, &st, NULL) != SQLITE_OK)
		return -1;
	store_text(st, 1, by);
	sqlite3_bind_int64(st, 2, id);
	r = store_done(s, st);
	sqlite3_finalize(st);
	return r;
}
