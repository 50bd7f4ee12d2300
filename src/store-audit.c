/*
 * store-audit: the audit trail's rows and the meta table (key/value pairs
 * other modules keep, such as the audit stream's position). The hash chain
 * itself is audit.c's: here a record is only written, read back and
 * scanned in seq order. The append is a plain INSERT on the seq primary
 * key, so a writer whose idea of the chain head is stale learns it from a
 * constraint failure (1), not by reading the table it writes, which would
 * make SQLite copy the row through a temporary table every time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "deprov/log.h"
#include "deprov/store.h"

#include "store-internal.h"

enum {
	SA_INSERT = 0,
	SA_LAST
};

const char store_audit_schema[] =
    "CREATE TABLE IF NOT EXISTS audit ("
    "  seq INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
    "  case_id INTEGER, actor TEXT NOT NULL, target TEXT, step TEXT,"
    "  detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_ts ON audit(ts_ms);"
    /* A case's records, first and last (the evidence export's proof). */
    "CREATE INDEX IF NOT EXISTS audit_case ON audit(case_id, seq);";

static const char *const store_audit_sql[STORE_AUDIT_STMTS] = {
	[SA_INSERT] = "INSERT INTO audit(seq, ts_ms, kind, case_id, actor,"
	    " target, step, detail, prev_hash, hash)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[SA_LAST] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
};

/* The columns a scan reads, with the case's subject (NULL without a case). */
#define STORE_AUDIT_COLS \
	"a.seq, a.ts_ms, a.kind, a.case_id, a.actor, a.target, a.step," \
	" a.detail, a.prev_hash, a.hash, c.subject_key"

static sqlite3_stmt *
store_audit_stmt(struct store *s, int which)
{
	if (s->audit_st[which] == NULL &&
	    sqlite3_prepare_v3(s->db, store_audit_sql[which], -1,
	    SQLITE_PREPARE_PERSISTENT, &s->audit_st[which], NULL) != SQLITE_OK) {
		log_error("store", "audit: %s", sqlite3_errmsg(s->db));
		return NULL;
	}
	return s->audit_st[which];
}

void
store_audit_close(struct store *s)
{
	int i;

	for (i = 0; i < STORE_AUDIT_STMTS; i++) {
		sqlite3_finalize(s->audit_st[i]);
		s->audit_st[i] = NULL;
	}
}

int
store_audit_append(struct store *s, const struct store_audit_rec *r)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_audit_stmt(s, SA_INSERT)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, r->seq);
	sqlite3_bind_int64(st, 2, r->ts_ms);
	store_text(st, 3, r->kind);
	store_int(st, 4, r->case_id, r->case_id != 0);
	store_text(st, 5, r->actor);
	store_text(st, 6, r->target);
	store_text(st, 7, r->step);
	store_text(st, 8, r->detail);
	store_text(st, 9, r->prev_hash);
	store_text(st, 10, r->hash);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_CONSTRAINT &&
	    sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
		return 1;	/* another writer took this seq */
	if (rc != SQLITE_DONE) {
		log_error("store", "cannot append audit record %lld: %s", r->seq,
		    sqlite3_errmsg(s->db));
		if (s->depth > 0)
			s->failed[s->depth] = 1;
		return -1;
	}
	return 0;
}

int
store_audit_last(struct store *s, long long *seq, char *hash, size_t hashlen)
{
	sqlite3_stmt	*st;
	const char	*h;
	int		 rc;

	*seq = 0;
	if (hashlen > 0)
		hash[0] = '\0';
	if ((st = store_audit_stmt(s, SA_LAST)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		h = store_col_text(st, 1);
		snprintf(hash, hashlen, "%s", h != NULL ? h : "");
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_error("store", "cannot read the last audit record: %s",
		    sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

/* A text column, or NULL when it is not text. */
static const char *
store_audit_text(sqlite3_stmt *st, int i, int *bad)
{
	const char *v;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	if (sqlite3_column_type(st, i) != SQLITE_TEXT) {
		*bad = 1;
		return NULL;
	}
	v = (const char *)sqlite3_column_text(st, i);
	/* A NUL inside would hash short: the row was edited. */
	if (strlen(v) != (size_t)sqlite3_column_bytes(st, i))
		*bad = 1;
	return v;
}

int
store_audit_scan(struct store *s, long long after_seq, int64_t since_ms,
    int limit, store_audit_cb cb, void *arg)
{
	sqlite3_stmt		*st = NULL;
	struct store_audit_rec	 r;
	int			 rc, ret = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT " STORE_AUDIT_COLS " FROM audit a"
	    " LEFT JOIN cases c ON c.id = a.case_id WHERE a.seq > ?1 AND"
	    " a.ts_ms >= ?2 ORDER BY a.seq LIMIT ?3", -1, &st, NULL) !=
	    SQLITE_OK) {
		log_error("store", "audit: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, after_seq);
	sqlite3_bind_int64(st, 2, since_ms);
	sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof r);
		r.seq = sqlite3_column_int64(st, 0);
		r.ts_ms = sqlite3_column_int64(st, 1);
		if (sqlite3_column_type(st, 1) != SQLITE_INTEGER)
			r.malformed = 1;
		r.kind = store_audit_text(st, 2, &r.malformed);
		if (sqlite3_column_type(st, 3) == SQLITE_INTEGER) {
			r.case_id = sqlite3_column_int64(st, 3);
			if (r.case_id == 0)
				r.malformed = 1;	/* stored as NULL */
		} else if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			r.malformed = 1;
		r.actor = store_audit_text(st, 4, &r.malformed);
		r.target = store_audit_text(st, 5, &r.malformed);
		r.step = store_audit_text(st, 6, &r.malformed);
		r.detail = store_audit_text(st, 7, &r.malformed);
		r.prev_hash = store_audit_text(st, 8, &r.malformed);
		r.hash = store_audit_text(st, 9, &r.malformed);
		r.subject_key = store_col_text(st, 10);
		if (r.kind == NULL || r.actor == NULL || r.detail == NULL)
			r.malformed = 1;
		if ((ret = cb(&r, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE) {
		log_error("store", "audit: %s", sqlite3_errmsg(s->db));
		ret = -1;
	}
	sqlite3_finalize(st);
	return ret;
}

int
store_meta_get(struct store *s, const char *key, char *buf, size_t len)
{
	sqlite3_stmt	*st = NULL;
	const char	*v;
	int		 r = 0;

	if (len > 0)
		buf[0] = '\0';
	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?",
	    -1, &st, NULL) != SQLITE_OK)
		return -1;
	store_text(st, 1, key);
	if (sqlite3_step(st) == SQLITE_ROW && (v = store_col_text(st, 0)) !=
	    NULL) {
		snprintf(buf, len, "%s", v);
		r = 1;
	}
	sqlite3_finalize(st);
	return r;
}

int
store_meta_set(struct store *s, const char *key, const char *value)
{
	sqlite3_stmt	*st = NULL;
	int		 r;

	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(key, value)"
	    " VALUES (?, ?)", -1, &st, NULL) != SQLITE_OK) {
		log_error("store", "meta: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	store_text(st, 1, key);
	store_text(st, 2, value);
	r = store_done(s, st);
	sqlite3_finalize(st);
	return r;
}
