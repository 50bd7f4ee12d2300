/*
 * store-summary: the SQL behind the dashboard's figures (GET /v1/summary):
 * open cases by state, SLA verdicts and time to freeze over a window of
 * recently created cases, and the open and recently closed cases. Every
 * query is read-only and bounded by the window (an index on
 * cases.created_ms, made by the schema) or by LIMIT. The dashboard turns
 * what these return into JSON; it sees no SQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "deprov/case.h"
#include "deprov/event.h"
#include "deprov/log.h"
#include "deprov/store.h"

#include "store-internal.h"

/*
 * The statements name their parameters. Names of case states, step states
 * and event types (":case_completed", ":step_succeeded", ":type_unfreeze")
 * are bound once, when prepared, from case.h and event.h, so no state name
 * is spelt twice; ":since", ":now", ":limit" and ":offset" per query.
 */
static const struct {
	const char	*name;
	const char	*type;
} summary_types[] = {
	{ ":type_unfreeze", EVENT_TYPE_UNFREEZE },
	{ ":type_rescinded", EVENT_TYPE_RESCINDED },
	{ ":type_reinstate", EVENT_TYPE_REINSTATE },
};
static const char *const summary_params[] = {
	":since", ":now", ":limit", ":offset",
};

/*
 * Open: every state but completed and cancelled (escalated waits for a
 * human). Through the state index, so its cost follows the open cases, not
 * history. A new state must be placed here (or in the closed ones).
 */
_Static_assert(CASE_STATE_COUNT == 9, "dashboard: place the new case state "
    "in SUMMARY_OPEN or among the closed states");
#define SUMMARY_OPEN \
	"state IN (:case_received, :case_scheduled, :case_freezing, " \
	":case_contained, :case_remediating, :case_deactivating, " \
	":case_escalated)"

/*
 * Cases that freeze something: not an unfreeze, a rescind's unfreeze or a
 * reinstate. They have no time to freeze and no freeze verdict.
 */
#define SUMMARY_FREEZES \
	"event_type NOT IN (:type_unfreeze, :type_rescinded, :type_reinstate)"

_Static_assert(STORE_SUMMARY_STMTS == 6, "store-internal.h: one slot per "
    "summary statement");

enum summary_stmt {
	SS_COUNTS = 0,
	SS_CLOSED,
	SS_SLA,
	SS_TTF_AT,
	SS_OPEN,
	SS_RECENT,
	SS__MAX
};

/*
 * Columns of SS_OPEN and SS_RECENT: a case's (store_case_read), then the
 * error of the first step that has one and has not succeeded (what is
 * holding the case up), found through the steps' primary key.
 */
#define SUMMARY_CASE_COLS \
	STORE_CASE_COLS ", " \
	"(SELECT s.target || ' ' || s.step || ' (attempt ' || s.attempts || " \
	"'): ' || s.last_error FROM steps s WHERE s.case_id = cases.id " \
	"AND s.last_error IS NOT NULL AND s.state <> :step_succeeded " \
	"ORDER BY s.seq LIMIT 1)"

/*
 * Time to freeze of the cases created since :since that freeze something:
 * from when the case was due to start (created, or its effective date when
 * later) to contained. The deadlines are measured from the same point.
 */
#define SUMMARY_TTF \
	"SELECT max(frozen_ms - max(created_ms, coalesce(effective_ms, 0)), " \
	"0) AS t FROM cases WHERE created_ms >= :since AND frozen_ms > 0 " \
	"AND " SUMMARY_FREEZES

static const char *const summary_sql[SS__MAX] = {
	/*
	 * Cases by state: every open one, and those closed (completed,
	 * cancelled) among the window's, so the cost does not grow with
	 * history.
	 */
	[SS_COUNTS] = "SELECT state, count(*) FROM cases WHERE " SUMMARY_OPEN
	    " GROUP BY state",
	[SS_CLOSED] = "SELECT sum(state = :case_completed), sum(state = "
	    ":case_cancelled) FROM cases WHERE created_ms >= :since",
	/*
	 * Verdicts per case created since :since that freezes something, as
	 * of :now, on the budgets its runbook sets (hf: a freeze deadline,
	 * hc: a complete deadline; a case with neither is not counted).
	 * Freeze: met when contained by the deadline; breached when contained
	 * late, escalated without being contained (a freeze failed: the
	 * person can still sign in), or not contained and the deadline has
	 * passed (the clock stops at a cancel). Complete: met when completed
	 * by the deadline; breached when completed late or still not
	 * completed (open or escalated) after it; a cancelled case is not
	 * judged. Overall: every budget it has met, or one breached.
	 * Pending: not cancelled, no verdict yet.
	 */
	[SS_SLA] =
	    "SELECT count(*), sum(fm), sum(fb), sum(hf AND NOT fm AND NOT fb"
	    "  AND nc), sum(cm), sum(cb), sum(hc AND NOT cm AND NOT cb AND nc),"
	    "  sum((fm OR NOT hf) AND (cm OR NOT hc)), sum(fb OR cb),"
	    "  sum(NOT ((fm OR NOT hf) AND (cm OR NOT hc)) AND NOT (fb OR cb)"
	    "  AND nc) FROM ("
	    "  SELECT hf, hc, nc,"
	    "    coalesce(hf AND frozen_ms > 0 AND"
	    "      frozen_ms <= freeze_deadline_ms, 0) AS fm,"
	    "    coalesce(hf AND CASE WHEN frozen_ms > 0 THEN"
	    "        frozen_ms > freeze_deadline_ms"
	    "      WHEN state = :case_escalated THEN 1"
	    "      WHEN state = :case_cancelled THEN"
	    "        coalesce(completed_ms, :now) > freeze_deadline_ms"
	    "      ELSE :now > freeze_deadline_ms END, 0) AS fb,"
	    "    coalesce(hc AND state = :case_completed AND"
	    "      completed_ms <= complete_deadline_ms, 0) AS cm,"
	    "    coalesce(hc AND CASE WHEN state = :case_completed THEN"
	    "        completed_ms > complete_deadline_ms"
	    "      WHEN state = :case_cancelled THEN 0"
	    "      ELSE :now > complete_deadline_ms END, 0) AS cb"
	    "  FROM (SELECT state, frozen_ms, completed_ms, freeze_deadline_ms,"
	    "      complete_deadline_ms,"
	    "      coalesce(freeze_deadline_ms > 0, 0) AS hf,"
	    "      coalesce(complete_deadline_ms > 0, 0) AS hc,"
	    "      state <> :case_cancelled AS nc"
	    "    FROM cases WHERE created_ms >= :since AND " SUMMARY_FREEZES
	    "  ) WHERE hf OR hc)",
	[SS_TTF_AT] = "SELECT t FROM (" SUMMARY_TTF ") ORDER BY t "
	    "LIMIT 1 OFFSET :offset",
	[SS_OPEN] = "SELECT " SUMMARY_CASE_COLS " FROM cases WHERE "
	    SUMMARY_OPEN " ORDER BY id DESC LIMIT :limit",
	/*
	 * Closed in the window, newest first: walks ids down from the newest
	 * and stops at the window's first id. "+" keeps the planner off its
	 * shortcuts that scan all history: min(id) by rowid from the oldest
	 * case, the state index for every completed case.
	 */
	[SS_RECENT] = "SELECT " SUMMARY_CASE_COLS " FROM cases "
	    "WHERE id >= (SELECT min(+id) FROM cases WHERE created_ms >= :since) "
	    "AND +state IN (:case_completed, :case_cancelled) "
	    "AND +created_ms >= :since ORDER BY id DESC LIMIT :limit",
};

/*
 * Bind the names of states and event types a statement uses (they stay
 * bound across resets) and check that every other parameter is one bound
 * per query. -1 for a parameter no one would bind.
 */
static int
summary_bind_names(sqlite3_stmt *st)
{
	const char	*name;
	size_t		 k;
	int		 i, n = sqlite3_bind_parameter_count(st), v, ok;

	for (i = 1; i <= n; i++) {
		if ((name = sqlite3_bind_parameter_name(st, i)) == NULL)
			return -1;	/* "?": every parameter has a name */
		ok = 0;
		if (strncmp(name, ":case_", 6) == 0) {
			if ((v = case_state_parse(name + 6)) < 0)
				return -1;
			ok = sqlite3_bind_text(st, i, case_state_name(
			    (enum case_state)v), -1, SQLITE_STATIC) == SQLITE_OK;
		} else if (strncmp(name, ":step_", 6) == 0) {
			if ((v = step_state_parse(name + 6)) < 0)
				return -1;
			ok = sqlite3_bind_text(st, i, step_state_name(
			    (enum step_state)v), -1, SQLITE_STATIC) == SQLITE_OK;
		}
		for (k = 0; k < sizeof summary_types /
		    sizeof summary_types[0]; k++)
			if (strcmp(name, summary_types[k].name) == 0)
				ok = sqlite3_bind_text(st, i,
				    summary_types[k].type, -1, SQLITE_STATIC) ==
				    SQLITE_OK;
		for (k = 0; k < sizeof summary_params /
		    sizeof summary_params[0]; k++)
			if (strcmp(name, summary_params[k]) == 0)
				ok = 1;
		if (!ok)
			return -1;
	}
	return 0;
}

/* Bind a per-query parameter by name (one the statement has). */
static void
summary_bind(sqlite3_stmt *st, const char *name, int64_t v)
{
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, name), v);
}

/* The histogram query: bucket index, count and largest value per bucket. */
static char *
summary_hist_sql(const int64_t *bounds, size_t nbounds)
{
	char	*sql = NULL;
	size_t	 len = 0, i;
	FILE	*f;

	if ((f = open_memstream(&sql, &len)) == NULL)
		return NULL;
	fputs("SELECT CASE", f);
	for (i = 0; i < nbounds; i++)
		fprintf(f, " WHEN t <= %lld THEN %zu", (long long)bounds[i], i);
	fprintf(f, " ELSE %zu END AS b, count(*), max(t) FROM ("
	    SUMMARY_TTF ") GROUP BY b", nbounds);
	if (fclose(f) != 0) {
		free(sql);
		return NULL;
	}
	return sql;
}


/* The statement, prepared and its names bound on first use; NULL on error. */
static sqlite3_stmt *
summary_stmt(struct store *s, enum summary_stmt which)
{
	sqlite3_stmt *st;

	if (s->summary_st[which] != NULL)
		return s->summary_st[which];
	if (sqlite3_prepare_v3(s->db, summary_sql[which], -1,
	    SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		log_error("store", "summary query %d: %s", which,
		    sqlite3_errmsg(s->db));
		return NULL;
	}
	if (summary_bind_names(st) != 0) {
		log_error("store", "summary query %d: unknown parameter", which);
		sqlite3_finalize(st);
		return NULL;
	}
	s->summary_st[which] = st;
	return st;
}

void
store_summary_close(struct store *s)
{
	int i;

	for (i = 0; i < STORE_SUMMARY_STMTS; i++) {
		sqlite3_finalize(s->summary_st[i]);
		s->summary_st[i] = NULL;
	}
}

int
store_summary_counts(struct store *s, int64_t since,
    int (*cb)(const char *state, long long n, void *arg), void *arg)
{
	sqlite3_stmt	*st;
	int		 rc, r = 0;

	if ((st = summary_stmt(s, SS_COUNTS)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = cb(store_col_text(st, 0), sqlite3_column_int64(st, 1),
		    arg)) != 0)
			break;
	sqlite3_reset(st);
	if (r != 0 || rc != SQLITE_DONE)
		return r != 0 ? r : -1;
	if ((st = summary_stmt(s, SS_CLOSED)) == NULL)
		return -1;
	summary_bind(st, ":since", since);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    (r = cb(case_state_name(CASE_COMPLETED), sqlite3_column_int64(st,
	    0), arg)) == 0)
		r = cb(case_state_name(CASE_CANCELLED), sqlite3_column_int64(st,
		    1), arg);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? r : -1;
}

int
store_summary_sla(struct store *s, int64_t since, int64_t now,
    struct store_sla_figures *f)
{
	sqlite3_stmt	*st;
	int64_t		*v[10];
	int		 rc, i;

	memset(f, 0, sizeof *f);
	if ((st = summary_stmt(s, SS_SLA)) == NULL)
		return -1;
	v[0] = &f->cases;
	v[1] = &f->freeze_met;
	v[2] = &f->freeze_breached;
	v[3] = &f->freeze_pending;
	v[4] = &f->complete_met;
	v[5] = &f->complete_breached;
	v[6] = &f->complete_pending;
	v[7] = &f->overall_met;
	v[8] = &f->overall_breached;
	v[9] = &f->overall_pending;
	summary_bind(st, ":since", since);
	summary_bind(st, ":now", now);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		for (i = 0; i < 10; i++)
			*v[i] = sqlite3_column_int64(st, i);	/* NULL -> 0 */
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
store_summary_ttf(struct store *s, int64_t since, const int64_t *bounds,
    size_t nbounds, int64_t *counts, int64_t *n, int64_t *max)
{
	sqlite3_stmt	*st = NULL;
	char		*sql;
	int64_t		 idx;
	int		 rc;

	*n = *max = 0;
	memset(counts, 0, (nbounds + 1) * sizeof *counts);
	/* The buckets are the caller's: prepared per call (once a second at most). */
	if ((sql = summary_hist_sql(bounds, nbounds)) == NULL)
		return -1;
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	free(sql);
	if (rc != SQLITE_OK || summary_bind_names(st) != 0) {
		log_error("store", "summary histogram: %s", sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		return -1;
	}
	summary_bind(st, ":since", since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		idx = sqlite3_column_int64(st, 0);
		if (idx >= 0 && idx <= (int64_t)nbounds)
			counts[idx] = sqlite3_column_int64(st, 1);
		*n += sqlite3_column_int64(st, 1);
		if (sqlite3_column_int64(st, 2) > *max)
			*max = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int64_t
store_summary_ttf_at(struct store *s, int64_t since, int64_t k)
{
	sqlite3_stmt	*st;
	int64_t		 t = -1;

	if ((st = summary_stmt(s, SS_TTF_AT)) == NULL)
		return -1;
	summary_bind(st, ":since", since);
	summary_bind(st, ":offset", k);
	if (sqlite3_step(st) == SQLITE_ROW)
		t = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return t;
}

int
store_summary_cases(struct store *s, int open, int64_t since, int limit,
    store_case_cb cb, void *arg)
{
	sqlite3_stmt		*st;
	struct store_case	 c;
	int			 rc, r = 0;

	if ((st = summary_stmt(s, open ? SS_OPEN : SS_RECENT)) == NULL)
		return -1;
	if (!open)
		summary_bind(st, ":since", since);
	summary_bind(st, ":limit", limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_case_read(st, &c);
		if ((r = cb(&c, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (r == 0 && rc != SQLITE_DONE)
		r = -1;
	return r;
}

/*
 * Exposure: targets where a case that must contain its person has not. A
 * case counts while it is under way or escalated without having been
 * contained (a freeze skipped by choice lets it go on to remediation and
 * deactivation uncontained), is not being cancelled, and no later unfreeze,
 * rescind or reinstate for the same person has completed (then the person
 * is meant to have access). A target counts when its freeze neither
 * succeeded nor found no account, and its account has not been deactivated
 * (or deleted) since.
 */
#define STORE_EXPOSED_FROM \
	" FROM cases c JOIN steps s ON s.case_id = c.id AND s.step = 'freeze'" \
	" WHERE c.state IN ('freezing', 'remediating', 'deactivating'," \
	" 'escalated') AND c.frozen_ms IS NULL" \
	" AND c.cancel_by IS NULL" \
	" AND s.state <> 'succeeded'" \
	" AND NOT (s.state = 'skipped' AND s.no_account = 1)" \
	" AND NOT EXISTS (SELECT 1 FROM steps d WHERE d.case_id = c.id AND" \
	" d.target = s.target AND d.step IN ('deactivate', 'delete') AND" \
	" d.state = 'succeeded')" \
	" AND NOT EXISTS (SELECT 1 FROM cases l WHERE" \
	" l.subject_key = c.subject_key AND l.id > c.id AND l.state =" \
	" 'completed' AND l.event_type IN ('io.deprov.unfreeze'," \
	" 'io.deprov.leaver.rescinded', 'io.deprov.reinstate'))"

int
store_exposure_counts(struct store *s, long long *subjects,
    store_exposure_count_cb cb, void *arg)
{
	sqlite3_stmt	*st = NULL;
	int		 r = 0;

	*subjects = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT count(DISTINCT c.subject_key)"
	    STORE_EXPOSED_FROM, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		*subjects = sqlite3_column_int64(st, 0);
	else
		r = -1;
	sqlite3_finalize(st);
	if (r != 0 || cb == NULL)
		return r;
	return store_name_counts(s, "SELECT s.target, count(DISTINCT"
	    " c.subject_key)" STORE_EXPOSED_FROM " GROUP BY s.target", cb, arg);
}

/*
 * Exposed targets, the cases with a failed or skipped freeze first (so that
 * a failure is never cut off the list behind a layoff's queue of freezes in
 * progress), then by case and target.
 */
int
store_exposures(struct store *s, int limit, store_exposure_cb cb, void *arg)
{
	sqlite3_stmt		*st = NULL;
	struct store_exposure	 e;
	int			 rc, r = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT c.id, c.subject_key, c.runbook,"
	    " c.state, c.created_ms, c.effective_ms, s.target, s.state,"
	    " s.attempts, coalesce(s.last_error, s.detail),"
	    " max(s.state IN ('failed', 'skipped')) OVER (PARTITION BY c.id)"
	    " AS worst" STORE_EXPOSED_FROM
	    " ORDER BY worst DESC, c.id, s.target LIMIT ?", -1, &st,
	    NULL) != SQLITE_OK) {
		log_error("store", "exposures: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	sqlite3_bind_int(st, 1, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&e, 0, sizeof e);
		e.case_id = sqlite3_column_int64(st, 0);
		e.subject_key = store_col_text(st, 1);
		e.runbook = store_col_text(st, 2);
		e.case_state = store_col_text(st, 3);
		e.created_ms = sqlite3_column_int64(st, 4);
		e.effective_ms = sqlite3_column_int64(st, 5);
		e.target = store_col_text(st, 6);
		e.step_state = store_col_text(st, 7);
		e.attempts = sqlite3_column_int(st, 8);
		e.error = store_col_text(st, 9);
		if ((r = cb(&e, arg)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = -1;
	sqlite3_finalize(st);
	return r;
}

int
store_exposure_split(struct store *s, long long *subjects, long long *failed)
{
	sqlite3_stmt	*st = NULL;
	int		 r = -1;

	*subjects = *failed = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*), coalesce(sum(f), 0)"
	    " FROM (SELECT max(s.state IN ('failed', 'skipped')) AS f"
	    STORE_EXPOSED_FROM " GROUP BY c.subject_key)", -1, &st,
	    NULL) != SQLITE_OK) {
		log_error("store", "exposure split: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		*subjects = sqlite3_column_int64(st, 0);
		*failed = sqlite3_column_int64(st, 1);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}
