/*
 * dashboard: the SLA dashboard on the admin API. GET / is public and serves
 * the page compiled in from src/dashboard.html (cmake/embed.cmake turns it
 * into dashboard_html[]), with a Content-Security-Policy that allows only
 * its own inline script and style, by SHA-256 hash computed here at start.
 * GET /v1/summary (viewer) answers what the page polls every two seconds:
 * open cases by state (completed and cancelled ones among the window's);
 * for cases created in the last 24 hours the share frozen
 * within the freeze budget and completed within the complete budget, and
 * time-to-freeze percentiles and histogram; open cases (newest first,
 * bounded) with deadlines and breach flags; recently closed cases. Queries
 * are read-only prepared statements on the store's database, bounded by the
 * window (an index on cases.created_ms kept by this module) or by LIMIT;
 * the answer is cached for a second so many open pages cost the loop no
 * more than one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sqlite3.h>

#include "deprov/api.h"
#include "deprov/dashboard.h"
#include "deprov/engine.h"
#include "deprov/event.h"
#include "deprov/log.h"
#include "deprov/store.h"

/* Written at build time by cmake/embed.cmake from src/dashboard.html. */
extern const unsigned char	dashboard_html[];
extern const size_t		dashboard_html_len;

#define DASHBOARD_CACHE_MS	1000
#define DASHBOARD_CSP_MAX	1024

/* Upper bounds (ms) of the time-to-freeze histogram; one more bucket above. */
static const int64_t dashboard_buckets[] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000,
};
#define DASHBOARD_NBUCKETS \
	(sizeof dashboard_buckets / sizeof dashboard_buckets[0] + 1)

static const char *const dashboard_states[] = {
	"received", "scheduled", "freezing", "contained", "remediating",
	"deactivating", "completed", "cancelled", "escalated",
};
#define DASHBOARD_NSTATES \
	(sizeof dashboard_states / sizeof dashboard_states[0])

enum dashboard_stmt {
	DS_COUNTS = 0,
	DS_CLOSED,
	DS_SLA,
	DS_TTF_HIST,
	DS_TTF_AT,
	DS_OPEN,
	DS_RECENT,
	DS__MAX
};

/*
 * Columns of DS_OPEN and DS_RECENT, in this order; the last is the error of
 * the first step that has one and has not succeeded (what is holding the
 * case up), found through the steps' primary key.
 */
#define DASHBOARD_CASE_COLS \
	"id, subject_key, subject, runbook, event_type, state, urgent, " \
	"created_ms, effective_ms, freeze_deadline_ms, complete_deadline_ms, " \
	"frozen_ms, completed_ms, reason, error, " \
	"(SELECT s.target || ' ' || s.step || ' (attempt ' || s.attempts || " \
	"'): ' || s.last_error FROM steps s WHERE s.case_id = cases.id " \
	"AND s.last_error IS NOT NULL AND s.state <> 'succeeded' " \
	"ORDER BY s.seq LIMIT 1)"

/*
 * Time to freeze of the cases created since ?1 (not unfreezes, ?2): from
 * when the case was due to start (created, or its effective date when
 * later) to contained. The deadlines are measured from the same point.
 */
#define DASHBOARD_TTF \
	"SELECT max(frozen_ms - max(created_ms, effective_ms), 0) AS t " \
	"FROM cases WHERE created_ms >= ?1 AND frozen_ms > 0 " \
	"AND event_type <> ?2"

static const char *const dashboard_sql[DS__MAX] = {
	/*
	 * Cases by state: every open one (found through the state index),
	 * and those closed (completed, cancelled) among the window's, so the
	 * cost does not grow with history.
	 */
	[DS_COUNTS] = "SELECT state, count(*) FROM cases WHERE state IN "
	    "('received', 'scheduled', 'freezing', 'contained', "
	    "'remediating', 'deactivating', 'escalated') GROUP BY state",
	[DS_CLOSED] = "SELECT sum(state = 'completed'), sum(state = "
	    "'cancelled') FROM cases WHERE created_ms >= ?1",
	/*
	 * Verdicts per case created since ?1 (not unfreezes, ?3), as of ?2.
	 * Freeze: met when contained by the deadline; breached when contained
	 * late, or not contained and the deadline has passed (the clock stops
	 * at a cancel). Complete: met when completed by the deadline; breached
	 * when completed late or still not completed (open or escalated) after
	 * it; a cancelled case is not judged. Overall: both met, or either
	 * breached. Pending: not cancelled, no verdict yet.
	 */
	[DS_SLA] =
	    "SELECT count(*), sum(fm), sum(fb), sum(NOT fm AND NOT fb AND nc),"
	    "  sum(cm), sum(cb), sum(NOT cm AND NOT cb AND nc),"
	    "  sum(fm AND cm), sum(fb OR cb),"
	    "  sum(NOT (fm AND cm) AND NOT (fb OR cb) AND nc) FROM ("
	    "  SELECT coalesce(frozen_ms > 0 AND"
	    "      frozen_ms <= freeze_deadline_ms, 0) AS fm,"
	    "    coalesce(CASE WHEN frozen_ms > 0 THEN"
	    "        frozen_ms > freeze_deadline_ms"
	    "      WHEN state = 'cancelled' THEN"
	    "        coalesce(completed_ms, ?2) > freeze_deadline_ms"
	    "      ELSE ?2 > freeze_deadline_ms END, 0) AS fb,"
	    "    coalesce(state = 'completed' AND"
	    "      completed_ms <= complete_deadline_ms, 0) AS cm,"
	    "    coalesce(CASE WHEN state = 'completed' THEN"
	    "        completed_ms > complete_deadline_ms"
	    "      WHEN state = 'cancelled' THEN 0"
	    "      ELSE ?2 > complete_deadline_ms END, 0) AS cb,"
	    "    state <> 'cancelled' AS nc"
	    "  FROM cases WHERE created_ms >= ?1 AND event_type <> ?3)",
	[DS_TTF_HIST] = NULL,	/* built from dashboard_buckets */
	[DS_TTF_AT] = "SELECT t FROM (" DASHBOARD_TTF ") ORDER BY t "
	    "LIMIT 1 OFFSET ?3",
	/* Open: not completed or cancelled (escalated needs a human). */
	[DS_OPEN] = "SELECT " DASHBOARD_CASE_COLS " FROM cases WHERE state IN "
	    "('received', 'scheduled', 'freezing', 'contained', "
	    "'remediating', 'deactivating', 'escalated') "
	    "ORDER BY id DESC LIMIT ?1",
	/*
	 * Closed in the window, newest first: walks ids down from the newest
	 * and stops at the window's first id. "+" keeps the planner off its
	 * shortcuts that scan all history: min(id) by rowid from the oldest
	 * case, the state index for every completed case.
	 */
	[DS_RECENT] = "SELECT " DASHBOARD_CASE_COLS " FROM cases "
	    "WHERE id >= (SELECT min(+id) FROM cases WHERE created_ms >= ?1) "
	    "AND +state IN ('completed', 'cancelled') AND +created_ms >= ?1 "
	    "ORDER BY id DESC LIMIT ?2",
};

struct dashboard {
	struct api	*api;
	struct store	*store;
	sqlite3_stmt	*st[DS__MAX];
	char		 csp[DASHBOARD_CSP_MAX];
	char		*cache;		/* last /v1/summary answer */
	size_t		 cachelen;
	int64_t		 cache_ms;
};

static int	dashboard_csp(struct dashboard *, char *, size_t);
static void	dashboard_page(struct evhttp_request *, const char *,
		    const char *, const struct api_caller *, void *);
static void	dashboard_summary_route(struct evhttp_request *, const char *,
		    const char *, const struct api_caller *, void *);

/* "sha256-<base64>" of the text between open and close in the page. */
static int
dashboard_hash_of(const char *open, const char *close, char *out,
    size_t outlen)
{
	const char	*page = (const char *)dashboard_html, *a, *b;
	unsigned char	 digest[SHA256_DIGEST_LENGTH];
	unsigned char	 b64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];

	if ((a = strstr(page, open)) == NULL)
		return -1;
	a += strlen(open);
	if ((b = strstr(a, close)) == NULL)
		return -1;
	SHA256((const unsigned char *)a, (size_t)(b - a), digest);
	EVP_EncodeBlock(b64, digest, sizeof digest);
	if ((size_t)snprintf(out, outlen, "'sha256-%s'", b64) >= outlen)
		return -1;
	/* Exactly one of each, so the hash covers all inline code. */
	return strstr(b, open) == NULL ? 0 : -1;
}

/* The page's Content-Security-Policy: nothing inline but its own code. */
static int
dashboard_csp(struct dashboard *db, char *err, size_t errlen)
{
	char script[80], style[80];

	if (dashboard_html_len == 0 ||
	    dashboard_html[dashboard_html_len - 1] != '\0' ||
	    dashboard_hash_of("<script>", "</script>", script,
	    sizeof script) != 0 ||
	    dashboard_hash_of("<style>", "</style>", style,
	    sizeof style) != 0) {
		snprintf(err, errlen, "dashboard page: expected exactly one "
		    "<script> and one <style> element");
		return -1;
	}
	snprintf(db->csp, sizeof db->csp, "default-src 'self'; script-src %s; "
	    "style-src %s; img-src 'self' data:; connect-src 'self'; "
	    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	    script, style);
	return 0;
}

/* The histogram query: bucket index, count and largest value per bucket. */
static char *
dashboard_hist_sql(void)
{
	char	*sql = NULL;
	size_t	 len = 0, i;
	FILE	*f;

	if ((f = open_memstream(&sql, &len)) == NULL)
		return NULL;
	fputs("SELECT CASE", f);
	for (i = 0; i < DASHBOARD_NBUCKETS - 1; i++)
		fprintf(f, " WHEN t <= %lld THEN %zu",
		    (long long)dashboard_buckets[i], i);
	fprintf(f, " ELSE %zu END AS b, count(*), max(t) FROM ("
	    DASHBOARD_TTF ") GROUP BY b", DASHBOARD_NBUCKETS - 1);
	if (fclose(f) != 0) {
		free(sql);
		return NULL;
	}
	return sql;
}

struct dashboard *
dashboard_new(struct api *api, struct store *store, char *err, size_t errlen)
{
	struct dashboard	*db;
	sqlite3			*sq = store_db(store);
	char			*hist = NULL, *msg = NULL;
	const char		*sql;
	int			 i;

	if ((db = calloc(1, sizeof *db)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->api = api;
	db->store = store;
	if (dashboard_csp(db, err, errlen) != 0)
		goto fail;
	/*
	 * The 24-hour window is a range on created_ms: without this index
	 * every poll would scan every case ever made.
	 */
	if (sqlite3_exec(sq, "CREATE INDEX IF NOT EXISTS "
	    "dashboard_cases_created ON cases(created_ms)", NULL, NULL,
	    &msg) != SQLITE_OK) {
		log_warn("dashboard", "cannot index cases by creation time "
		    "(summaries will scan): %s", msg != NULL ? msg : "?");
		sqlite3_free(msg);
	}
	if ((hist = dashboard_hist_sql()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < DS__MAX; i++) {
		sql = i == DS_TTF_HIST ? hist : dashboard_sql[i];
		if (sqlite3_prepare_v3(sq, sql, -1, SQLITE_PREPARE_PERSISTENT,
		    &db->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "dashboard: cannot prepare query "
			    "%d: %s", i, sqlite3_errmsg(sq));
			goto fail;
		}
	}
	free(hist);
	hist = NULL;
	if (api != NULL && (api_route(api, "GET", "/", 0, API_ROLE_PUBLIC,
	    dashboard_page, db) != 0 ||
	    api_route(api, "GET", "/v1/summary", 0, API_ROLE_VIEWER,
	    dashboard_summary_route, db) != 0)) {
		snprintf(err, errlen, "dashboard: cannot add routes (route "
		    "table full?)");
		goto fail;
	}
	return db;

fail:
	free(hist);
	dashboard_free(db);
	return NULL;
}

void
dashboard_free(struct dashboard *db)
{
	int i;

	if (db == NULL)
		return;
	for (i = 0; i < DS__MAX; i++)
		sqlite3_finalize(db->st[i]);
	free(db->cache);
	free(db);
}

/* GET /: the page. Public; its data calls carry the viewer's token. */
static void
dashboard_page(struct evhttp_request *req, const char *path, const char *rest,
    const struct api_caller *who, void *arg)
{
	struct dashboard	*db = arg;
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Security-Policy", db->csp);
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	/* The generated array ends with a NUL that is not part of the page. */
	api_reply(req, 200, "text/html; charset=utf-8", dashboard_html,
	    dashboard_html_len - 1);
}

static void
dashboard_put_ms(json_object *o, const char *key, int64_t ms)
{
	json_object_object_add(o, key, ms > 0 ? json_object_new_int64(ms) :
	    NULL);
}

static void
dashboard_put_text(json_object *o, const char *key, sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);

	json_object_object_add(o, key, v != NULL ?
	    json_object_new_string((const char *)v) : NULL);
}

/* Counts, and the share (0..1) met of met + breached (null: none judged). */
static json_object *
dashboard_verdict(int64_t met, int64_t breached, int64_t pending)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "met", json_object_new_int64(met));
	json_object_object_add(o, "breached", json_object_new_int64(breached));
	json_object_object_add(o, "pending", json_object_new_int64(pending));
	json_object_object_add(o, "compliance", met + breached > 0 ?
	    json_object_new_double((double)met / (double)(met + breached)) :
	    NULL);
	return o;
}

/*
 * Counts by state, every state present: the open states (escalated
 * included: it waits for a human) as they are now; completed and cancelled
 * among the cases created in the window.
 */
static int
dashboard_counts(struct dashboard *db, int64_t now, json_object *out)
{
	sqlite3_stmt	*st = db->st[DS_COUNTS];
	json_object	*counts = json_object_new_object();
	int64_t		 n[DASHBOARD_NSTATES] = { 0 }, open = 0;
	const char	*s;
	size_t		 i;
	int		 rc, rc2;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		s = (const char *)sqlite3_column_text(st, 0);
		for (i = 0; s != NULL && i < DASHBOARD_NSTATES; i++)
			if (strcmp(s, dashboard_states[i]) == 0)
				n[i] = sqlite3_column_int64(st, 1);
		open += sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	st = db->st[DS_CLOSED];
	sqlite3_bind_int64(st, 1, now - DASHBOARD_WINDOW_MS);
	if ((rc2 = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < DASHBOARD_NSTATES; i++) {
			if (strcmp(dashboard_states[i], "completed") == 0)
				n[i] = sqlite3_column_int64(st, 0);
			else if (strcmp(dashboard_states[i], "cancelled") == 0)
				n[i] = sqlite3_column_int64(st, 1);
		}
	}
	sqlite3_reset(st);
	for (i = 0; i < DASHBOARD_NSTATES; i++)
		json_object_object_add(counts, dashboard_states[i],
		    json_object_new_int64(n[i]));
	json_object_object_add(out, "counts", counts);
	json_object_object_add(out, "open", json_object_new_int64(open));
	return rc == SQLITE_DONE && rc2 == SQLITE_ROW ? 0 : -1;
}

/* SLA verdicts over the window. */
static int
dashboard_sla(struct dashboard *db, int64_t now, json_object *out)
{
	sqlite3_stmt	*st = db->st[DS_SLA];
	json_object	*sla;
	int64_t		 v[10] = { 0 };
	int		 rc, i;

	sqlite3_bind_int64(st, 1, now - DASHBOARD_WINDOW_MS);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, EVENT_TYPE_UNFREEZE, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		for (i = 0; i < 10; i++)
			v[i] = sqlite3_column_int64(st, i);	/* NULL -> 0 */
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return -1;
	sla = json_object_new_object();
	json_object_object_add(sla, "window_ms", json_object_new_int64(
	    DASHBOARD_WINDOW_MS));
	json_object_object_add(sla, "cases", json_object_new_int64(v[0]));
	json_object_object_add(sla, "freeze", dashboard_verdict(v[1], v[2],
	    v[3]));
	json_object_object_add(sla, "complete", dashboard_verdict(v[4], v[5],
	    v[6]));
	json_object_object_add(sla, "overall", dashboard_verdict(v[7], v[8],
	    v[9]));
	json_object_object_add(out, "sla", sla);
	return 0;
}

/* The k-th smallest time to freeze (0-based), or -1. */
static int64_t
dashboard_ttf_at(struct dashboard *db, int64_t since, int64_t k)
{
	sqlite3_stmt	*st = db->st[DS_TTF_AT];
	int64_t		 t = -1;

	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_text(st, 2, EVENT_TYPE_UNFREEZE, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, k);
	if (sqlite3_step(st) == SQLITE_ROW)
		t = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return t;
}

/* Time-to-freeze: count, nearest-rank p50/p95/p99, max and histogram. */
static int
dashboard_ttf(struct dashboard *db, int64_t now, json_object *out)
{
	static const int	 pcts[] = { 50, 95, 99 };
	sqlite3_stmt		*st = db->st[DS_TTF_HIST];
	json_object		*ttf, *hist, *b;
	int64_t			 counts[DASHBOARD_NBUCKETS] = { 0 }, n = 0;
	int64_t			 max = 0, since = now - DASHBOARD_WINDOW_MS, t;
	int64_t			 idx;
	char			 key[16];
	size_t			 i;
	int			 rc;

	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_text(st, 2, EVENT_TYPE_UNFREEZE, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		idx = sqlite3_column_int64(st, 0);
		if (idx >= 0 && idx < (int64_t)DASHBOARD_NBUCKETS)
			counts[idx] = sqlite3_column_int64(st, 1);
		n += sqlite3_column_int64(st, 1);
		if (sqlite3_column_int64(st, 2) > max)
			max = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	ttf = json_object_new_object();
	json_object_object_add(ttf, "count", json_object_new_int64(n));
	for (i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
		snprintf(key, sizeof key, "p%d_ms", pcts[i]);
		/* Nearest rank: the ceil(p/100 * n)-th smallest. */
		t = n > 0 ? dashboard_ttf_at(db, since,
		    (pcts[i] * n + 99) / 100 - 1) : -1;
		json_object_object_add(ttf, key, t >= 0 ?
		    json_object_new_int64(t) : NULL);
	}
	json_object_object_add(ttf, "max_ms", n > 0 ?
	    json_object_new_int64(max) : NULL);
	hist = json_object_new_array();
	for (i = 0; i < DASHBOARD_NBUCKETS; i++) {
		b = json_object_new_object();
		json_object_object_add(b, "le_ms", i < DASHBOARD_NBUCKETS - 1 ?
		    json_object_new_int64(dashboard_buckets[i]) : NULL);
		json_object_object_add(b, "count", json_object_new_int64(
		    counts[i]));
		json_object_array_add(hist, b);
	}
	json_object_object_add(ttf, "histogram", hist);
	json_object_object_add(out, "time_to_freeze", ttf);
	return 0;
}

/* One case row of DS_OPEN / DS_RECENT, with its SLA flags as of now. */
static json_object *
dashboard_case_row(sqlite3_stmt *st, int64_t now)
{
	json_object	*o = json_object_new_object(), *subj, *v;
	const char	*subject = (const char *)sqlite3_column_text(st, 2);
	const char	*state = (const char *)sqlite3_column_text(st, 5);
	int64_t		 created = sqlite3_column_int64(st, 7);
	int64_t		 effective = sqlite3_column_int64(st, 8);
	int64_t		 fdl = sqlite3_column_int64(st, 9);
	int64_t		 cdl = sqlite3_column_int64(st, 10);
	int64_t		 frozen = sqlite3_column_int64(st, 11);
	int64_t		 done = sqlite3_column_int64(st, 12);
	int		 completed, cancelled;

	completed = state != NULL && strcmp(state, "completed") == 0;
	cancelled = state != NULL && strcmp(state, "cancelled") == 0;
	json_object_object_add(o, "id", json_object_new_int64(
	    sqlite3_column_int64(st, 0)));
	dashboard_put_text(o, "subject_key", st, 1);
	/* Who it is, for the analyst: the subject's email and employee id. */
	subj = subject != NULL ? json_tokener_parse(subject) : NULL;
	json_object_object_add(o, "email", subj != NULL &&
	    json_object_object_get_ex(subj, "email", &v) &&
	    json_object_is_type(v, json_type_string) ?
	    json_object_get(v) : NULL);
	json_object_object_add(o, "employee_id", subj != NULL &&
	    json_object_object_get_ex(subj, "employee_id", &v) &&
	    json_object_is_type(v, json_type_string) ?
	    json_object_get(v) : NULL);
	json_object_put(subj);
	dashboard_put_text(o, "runbook", st, 3);
	dashboard_put_text(o, "event_type", st, 4);
	dashboard_put_text(o, "state", st, 5);
	json_object_object_add(o, "urgent", json_object_new_boolean(
	    sqlite3_column_int(st, 6) != 0));
	dashboard_put_ms(o, "created_ms", created);
	dashboard_put_ms(o, "effective_ms", effective);
	dashboard_put_ms(o, "freeze_deadline_ms", fdl);
	dashboard_put_ms(o, "complete_deadline_ms", cdl);
	dashboard_put_ms(o, "frozen_ms", frozen);
	dashboard_put_ms(o, "completed_ms", done);
	dashboard_put_text(o, "reason", st, 13);
	dashboard_put_text(o, "error", st, 14);
	dashboard_put_text(o, "step_error", st, 15);
	json_object_object_add(o, "time_to_freeze_ms", frozen > 0 ?
	    json_object_new_int64(frozen - (effective > created ? effective :
	    created) > 0 ? frozen - (effective > created ? effective :
	    created) : 0) : NULL);
	/* Same verdicts as the SLA query. */
	json_object_object_add(o, "freeze_breached", json_object_new_boolean(
	    fdl > 0 && (frozen > 0 ? frozen > fdl : cancelled ?
	    (done > 0 ? done : now) > fdl : now > fdl)));
	json_object_object_add(o, "complete_breached",
	    json_object_new_boolean(cdl > 0 && !cancelled && (completed ?
	    done > cdl : now > cdl)));
	return o;
}

/* Rows of DS_OPEN or DS_RECENT into an array named key. */
static int
dashboard_cases(struct dashboard *db, enum dashboard_stmt which, int64_t now,
    int limit, const char *key, json_object *out)
{
	sqlite3_stmt	*st = db->st[which];
	json_object	*arr = json_object_new_array();
	int		 rc;

	if (which == DS_RECENT) {
		sqlite3_bind_int64(st, 1, now - DASHBOARD_WINDOW_MS);
		sqlite3_bind_int(st, 2, limit);
	} else
		sqlite3_bind_int(st, 1, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_object_array_add(arr, dashboard_case_row(st, now));
	sqlite3_reset(st);
	json_object_object_add(out, key, arr);
	return rc == SQLITE_DONE ? 0 : -1;
}

json_object *
dashboard_summary(struct dashboard *db, int64_t now, char *err, size_t errlen)
{
	json_object	*o = json_object_new_object();
	int64_t		 open;

	json_object_object_add(o, "now_ms", json_object_new_int64(now));
	json_object_object_add(o, "window_ms", json_object_new_int64(
	    DASHBOARD_WINDOW_MS));
	if (dashboard_counts(db, now, o) != 0 || dashboard_sla(db, now, o) != 0 ||
	    dashboard_ttf(db, now, o) != 0 ||
	    dashboard_cases(db, DS_OPEN, now, DASHBOARD_MAX_OPEN, "open_cases",
	    o) != 0 ||
	    dashboard_cases(db, DS_RECENT, now, DASHBOARD_MAX_RECENT, "recent",
	    o) != 0) {
		snprintf(err, errlen, "store: %s",
		    sqlite3_errmsg(store_db(db->store)));
		json_object_put(o);
		return NULL;
	}
	open = json_object_get_int64(json_object_object_get(o, "open"));
	json_object_object_add(o, "open_truncated", json_object_new_boolean(
	    open > DASHBOARD_MAX_OPEN));
	return o;
}

/* GET /v1/summary (viewer), from a cache at most a second old. */
static void
dashboard_summary_route(struct evhttp_request *req, const char *path,
    const char *rest, const struct api_caller *who, void *arg)
{
	struct dashboard	*db = arg;
	json_object		*o;
	const char		*s;
	int64_t			 now = engine_now_ms();
	char			 err[256], *copy;
	size_t			 len;

	if (db->cache == NULL || now - db->cache_ms >= DASHBOARD_CACHE_MS ||
	    now < db->cache_ms) {
		if ((o = dashboard_summary(db, now, err, sizeof err)) == NULL) {
			log_error("dashboard", "summary: %s", err);
			api_error(req, 500, "store", "cannot read the summary");
			return;
		}
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		len = strlen(s);
		if ((copy = malloc(len + 2)) == NULL) {
			json_object_put(o);
			api_error(req, 500, "internal", "out of memory");
			return;
		}
		memcpy(copy, s, len);
		copy[len] = '\n';
		copy[len + 1] = '\0';
		json_object_put(o);
		free(db->cache);
		db->cache = copy;
		db->cachelen = len + 1;
		db->cache_ms = now;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	api_reply(req, 200, "application/json", db->cache, db->cachelen);
}
