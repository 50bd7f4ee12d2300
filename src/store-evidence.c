/*
 * store-evidence: the SQL behind the access-removal evidence export
 * (evidence.c, GET /v1/evidence). The export walks the leaver cases by id
 * in windows of a bounded number of ids, so that every query costs the
 * same however old or large the store is and the loop is never held for
 * long; the termination time a case is selected by is not indexed, and
 * does not need to be: each window is at most that many rowid lookups.
 * Each case comes with the range of audit records about it, found through
 * the audit table's (case_id, seq) index.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "deprov/event.h"
#include "deprov/log.h"
#include "deprov/store.h"

#include "store-internal.h"

/*
 * When the person's access ended: the event's effective time, or, for an
 * event that gave none (effective_ms 0), when the case was opened.
 */
#define STORE_EVIDENCE_DUE \
	"CASE WHEN effective_ms > 0 THEN effective_ms ELSE created_ms END"

int
store_evidence_last_id(struct store *s, long long *id)
{
	sqlite3_stmt	*st = NULL;
	int		 r = -1;

	*id = 0;
	/* The rowid's b-tree gives its largest key at once. */
	if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(id), 0) FROM cases",
	    -1, &st, NULL) != SQLITE_OK) {
		log_error("store", "evidence: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

int
store_evidence_cases(struct store *s, long long after_id, long long upto_id,
    int64_t from_ms, int64_t to_ms, store_evidence_cb cb, void *arg)
{
	sqlite3_stmt			*st = NULL;
	struct store_evidence_case	 e;
	int				 rc, r = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT " STORE_CASE_COLS ","
	    " (SELECT min(seq) FROM audit WHERE case_id = cases.id),"
	    " (SELECT max(seq) FROM audit WHERE case_id = cases.id)"
	    " FROM cases WHERE id > ?1 AND id <= ?2 AND event_type = ?3"
	    " AND " STORE_EVIDENCE_DUE " >= ?4 AND " STORE_EVIDENCE_DUE " < ?5"
	    " ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
		log_error("store", "evidence: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int64(st, 2, upto_id);
	sqlite3_bind_text(st, 3, EVENT_TYPE_LEAVER, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, from_ms);
	sqlite3_bind_int64(st, 5, to_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&e, 0, sizeof e);
		/* The columns after the case's are not step_error's here. */
		store_case_read(st, &e.c);
		e.c.step_error = NULL;
		e.audit_first = sqlite3_column_int64(st, 19);
		e.audit_last = sqlite3_column_int64(st, 20);
		if ((r = cb(&e, arg)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE) {
		log_error("store", "evidence: %s", sqlite3_errmsg(s->db));
		r = -1;
	}
	sqlite3_finalize(st);
	return r;
}
