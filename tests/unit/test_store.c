/* Unit tests for store: dedupe, cases, steps, accounts, timeline, reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "deprov/store.h"
#include "store-tables.h"

struct seen {
	int		 n;
	long long	 ids[16];
	char		 states[16][32];
	int		 attempts[16];
	char		 err[16][64];
};

static int
case_cb(const struct store_case *c, void *arg)
{
	struct seen *s = arg;

	s->ids[s->n] = c->id;
	snprintf(s->states[s->n], sizeof s->states[0], "%s", c->state);
	snprintf(s->err[s->n], sizeof s->err[0], "%s", c->error ? c->error : "");
	s->n++;
	return 0;
}

static int
step_cb(const struct store_step *p, void *arg)
{
	struct seen *s = arg;

	snprintf(s->states[s->n], sizeof s->states[0], "%s:%s:%s", p->target,
	    p->step, p->state);
	s->attempts[s->n] = p->attempts;
	snprintf(s->err[s->n], sizeof s->err[0], "%s",
	    p->last_error ? p->last_error : "");
	s->n++;
	return 0;
}

static int
account_cb(const char *target, const char *account, void *arg)
{
	struct seen *s = arg;

	snprintf(s->states[s->n++], sizeof s->states[0], "%s=%s", target,
	    account);
	return 0;
}

static int
timeline_cb(const struct store_timeline *t, void *arg)
{
	struct seen *s = arg;

	snprintf(s->states[s->n++], sizeof s->states[0], "%s:%s", t->kind,
	    t->detail ? t->detail : "");
	return 0;
}

static char *
tmp_db(void)
{
	char tmpl[] = "/tmp/deprov-store-XXXXXX", *p = NULL;

	assert_non_null(mkdtemp(tmpl));
	assert_true(asprintf(&p, "%s/sub/dir/deprov.db", tmpl) > 0);
	return p;
}

static long long
new_case(struct store *s, const char *subject, const char *state)
{
	struct store_case c;

	memset(&c, 0, sizeof c);
	c.subject_key = subject;
	c.subject_json = "{\"employee_id\":\"E1\"}";
	c.runbook = "standard";
	c.event_type = "io.deprov.leaver";
	c.state = state;
	c.created_ms = c.updated_ms = 1000;
	c.retry_json = "{}";
	return store_case_insert(s, &c);
}

static void
test_event_dedupe(void **state)
{
	char		 err[256], *path = tmp_db();
	struct store	*s;

	(void)state;
	s = store_open(path, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(store_event_put(s, "/hr", "1", "t", "E1", "k", 1), 0);
	assert_int_equal(store_event_put(s, "/hr", "1", "t", "E1", "k", 2), 1);
	assert_int_equal(store_event_put(s, "/idp", "1", "t", "E1", "k", 2), 0);
	assert_int_equal(store_event_set_case(s, "/hr", "1", 5, "case"), 0);
	store_close(s);
	free(path);
}

static void
test_cases_steps_reopen(void **state)
{
	char		 err[256], *path = tmp_db();
	struct store	*s;
	struct store_step p;
	struct seen	 seen;
	struct store_case_filter f;
	long long	 a, b;

	(void)state;
	s = store_open(path, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(store_begin(s), 0);
	a = new_case(s, "E1", "freezing");
	b = new_case(s, "E2", "received");
	assert_true(a > 0 && b > a);
	memset(&p, 0, sizeof p);
	p.target = "sf";
	p.step = "freeze";
	p.seq = 0;
	p.state = "pending";
	assert_int_equal(store_step_insert(s, a, &p), 0);
	p.step = "deactivate";
	p.seq = 1;
	assert_int_equal(store_step_insert(s, a, &p), 0);
	assert_int_equal(store_commit(s), 0);

	assert_int_equal(store_step_update(s, a, "sf", 0, "retry_wait", 2,
	    "HTTP 503", NULL, 0, 2000), 0);
	assert_int_equal(store_step_update(s, a, "sf", 0, "succeeded", 3, NULL,
	    "frozen", 0, 3000), 0);
	assert_int_equal(store_step_update(s, a, "sf", 1, "retry_wait", 1,
	    "HTTP 500", NULL, 0, 3000), 0);
	assert_int_equal(store_step_update(s, a, "sf", 1, "failed", 2,
	    NULL, "gave up", 0, 3000), 0);
	assert_int_equal(store_account_put(s, a, "sf", "005A"), 0);
	assert_int_equal(store_account_put(s, a, "sf", "005B"), 0);
	assert_int_equal(store_timeline_add(s, a, 1, "state", NULL, NULL,
	    "freezing"), 0);
	assert_int_equal(store_case_state(s, b, "completed", 4000, NULL), 0);
	assert_int_equal(store_case_state(s, a, "escalated", 4000, "boom"), 0);
	assert_int_equal(store_case_state(s, a, "freezing", 4001, NULL), 0);
	store_close(s);

	/* Reopen: everything is still there. */
	s = store_open(path, err, sizeof err);
	assert_non_null(s);
	memset(&seen, 0, sizeof seen);
	assert_int_equal(store_cases_open(s, case_cb, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.ids[0], a);
	assert_string_equal(seen.err[0], "boom");	/* error kept */
	memset(&seen, 0, sizeof seen);
	assert_int_equal(store_steps_of(s, a, step_cb, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.states[0], "sf:freeze:succeeded");
	assert_int_equal(seen.attempts[0], 3);
	/* Succeeded after retries: no stale error (the timeline has them). */
	assert_string_equal(seen.err[0], "");
	assert_string_equal(seen.states[1], "sf:deactivate:failed");
	assert_string_equal(seen.err[1], "HTTP 500");	/* a failure keeps it */
	memset(&seen, 0, sizeof seen);
	assert_int_equal(store_accounts_of(s, a, account_cb, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.states[0], "sf=005B");
	memset(&seen, 0, sizeof seen);
	assert_int_equal(store_timeline_of(s, a, timeline_cb, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.states[0], "state:freezing");
	memset(&seen, 0, sizeof seen);
	memset(&f, 0, sizeof f);
	f.limit = 10;
	assert_int_equal(store_cases_list(s, &f, case_cb, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.ids[0], b);		/* newest first */
	memset(&seen, 0, sizeof seen);
	f.state = "completed";
	f.subject = "E2";
	assert_int_equal(store_cases_list(s, &f, case_cb, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(store_count_cases(s, NULL), 2);
	assert_int_equal(store_count_cases(s, "completed"), 1);
	store_close(s);
	free(path);
}

/* A case of runbook rb created at ms, with a step at target in st. */
static long long
list_case(struct store *s, const char *subject, const char *rb, int64_t ms,
    const char *target, const char *st)
{
	struct store_case	 c;
	struct store_step	 p;
	long long		 id;

	memset(&c, 0, sizeof c);
	c.subject_key = subject;
	c.subject_json = "{}";
	c.runbook = rb;
	c.event_type = "io.deprov.leaver";
	c.state = "completed";
	c.created_ms = c.updated_ms = ms;
	c.retry_json = "{}";
	id = store_case_insert(s, &c);
	assert_true(id > 0);
	memset(&p, 0, sizeof p);
	p.target = target;
	p.step = "freeze";
	p.state = "pending";
	assert_int_equal(store_step_insert(s, id, &p), 0);
	/* A second step there, failed too: the case is listed once. */
	p.seq = 1;
	p.step = "deactivate";
	assert_int_equal(store_step_insert(s, id, &p), 0);
	assert_int_equal(store_step_update(s, id, target, 0, st, 1, NULL, NULL,
	    0, ms), 0);
	assert_int_equal(store_step_update(s, id, target, 1, st, 1, NULL, NULL,
	    0, ms), 0);
	return id;
}

/* The ids store_cases_list gives for f, into ids; how many. */
static int
list_ids(struct store *s, struct store_case_filter *f, long long *ids)
{
	struct seen	seen;

	memset(&seen, 0, sizeof seen);
	assert_int_equal(store_cases_list(s, f, case_cb, &seen), 0);
	memcpy(ids, seen.ids, sizeof seen.ids);
	return seen.n;
}

/*
 * The filters of store_cases_list, each alone and together, and paging
 * below an id: pages never overlap, cases inserted meanwhile never show
 * on a later page, and a case with two failed steps is listed once.
 */
static void
test_cases_list_filter(void **state)
{
	char			 err[256], *path = tmp_db();
	struct store		*s;
	struct store_case_filter f;
	long long		 id[10], got[16], seen[16];
	int			 i, n, k, total;

	(void)state;
	s = store_open(path, err, sizeof err);
	assert_non_null(s);
	/* id[i] created at 1000 * (i + 1); odd ones "contractor". */
	for (i = 0; i < 10; i++)
		id[i] = list_case(s, i < 5 ? "E1" : "E2", i % 2 ? "contractor" :
		    "standard", 1000 * (i + 1), i % 3 == 0 ? "okta" : "sf",
		    i % 4 == 0 ? "failed" : "succeeded");

	memset(&f, 0, sizeof f);
	f.limit = 100;
	assert_int_equal(list_ids(s, &f, got), 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(got[i], id[9 - i]);

	f.runbook = "contractor";
	assert_int_equal(list_ids(s, &f, got), 5);
	assert_int_equal(got[0], id[9]);
	assert_int_equal(got[4], id[1]);
	f.runbook = "nope";
	assert_int_equal(list_ids(s, &f, got), 0);
	f.runbook = NULL;

	/* [3000, 6000): ids 2, 3, 4; the bounds are at or after, before. */
	f.has_from = 1;
	f.created_from_ms = 3000;
	f.has_before = 1;
	f.created_before_ms = 6000;
	assert_int_equal(list_ids(s, &f, got), 3);
	assert_int_equal(got[0], id[4]);
	assert_int_equal(got[2], id[2]);
	f.has_before = 0;
	assert_int_equal(list_ids(s, &f, got), 8);
	f.has_from = 0;
	f.has_before = 1;
	assert_int_equal(list_ids(s, &f, got), 5);
	assert_int_equal(got[0], id[4]);
	f.has_before = 0;

	/* Failed at okta: i % 3 == 0 and i % 4 == 0: 0; at sf: 4, 8. */
	f.failed_at = "okta";
	assert_int_equal(list_ids(s, &f, got), 1);
	assert_int_equal(got[0], id[0]);
	f.failed_at = "sf";
	assert_int_equal(list_ids(s, &f, got), 2);
	assert_int_equal(got[0], id[8]);
	assert_int_equal(got[1], id[4]);
	f.below_id = id[8];
	assert_int_equal(list_ids(s, &f, got), 1);
	assert_int_equal(got[0], id[4]);
	f.below_id = 0;
	f.failed_at = "graph";
	assert_int_equal(list_ids(s, &f, got), 0);

	/* Together: sf, failed, E2, standard, created from 8000. */
	f.failed_at = "sf";
	f.subject = "E2";
	f.runbook = "standard";
	f.has_from = 1;
	f.created_from_ms = 8000;
	assert_int_equal(list_ids(s, &f, got), 1);
	assert_int_equal(got[0], id[8]);
	f.created_from_ms = 9001;
	assert_int_equal(list_ids(s, &f, got), 0);
	f.state = "completed";
	f.created_from_ms = 0;
	assert_int_equal(list_ids(s, &f, got), 1);
	f.state = "escalated";
	assert_int_equal(list_ids(s, &f, got), 0);

	/* Pages of 3 below the last id seen; a case inserted between. */
	memset(&f, 0, sizeof f);
	f.limit = 3;
	total = 0;
	for (k = 0; k < 10; k++) {
		n = list_ids(s, &f, got);
		if (n == 0)
			break;
		assert_true(n <= 3);
		for (i = 0; i < n; i++) {
			assert_true(total < 10);
			seen[total++] = got[i];
		}
		f.below_id = got[n - 1];
		assert_true(list_case(s, "E3", "standard", 20000, "sf",
		    "succeeded") > id[9]);
	}
	assert_int_equal(total, 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(seen[i], id[9 - i]);
	store_close(s);
	free(path);
}

static void
test_rollback(void **state)
{
	char		 err[256], *path = tmp_db();
	struct store	*s;

	(void)state;
	s = store_open(path, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_begin(s), 0);		/* nested */
	assert_true(new_case(s, "E1", "received") > 0);
	assert_int_equal(store_commit(s), 0);		/* inner: nothing yet */
	store_rollback(s);
	assert_int_equal(store_count_cases(s, NULL), 0);
	store_close(s);
	free(path);
}

static void
test_open_error(void **state)
{
	char err[256] = "";

	(void)state;
	assert_null(store_open("/proc/nope/deprov.db", err, sizeof err));
	assert_true(strlen(err) > 0);
}

/* Run SQL on a store file behind the store's back. */
static void
raw_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/*
 * A version 1 file (steps without no_account) is migrated on open and its
 * rows kept, up to the index of failed steps; a file from a newer deprovd is refused with a clear message.
 */
static void
test_schema_versions(void **state)
{
	char		 err[256], *path = tmp_db();
	struct store	*s;
	struct seen	 seen;

	(void)state;
	/* Let the store make the directories, then start from an empty file. */
	store_close(store_open(path, err, sizeof err));
	assert_int_equal(unlink(path), 0);
	raw_sql(path, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
	    "INSERT INTO meta VALUES ('schema', '1');"
	    "CREATE TABLE events (source TEXT NOT NULL, id TEXT NOT NULL,"
	    " type TEXT NOT NULL, subject TEXT, origin TEXT,"
	    " received_ms INTEGER NOT NULL, case_id INTEGER, disposition TEXT,"
	    " PRIMARY KEY (source, id)) WITHOUT ROWID;"
	    "CREATE TABLE cases (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " subject_key TEXT NOT NULL, subject TEXT NOT NULL, runbook TEXT"
	    " NOT NULL, event_type TEXT NOT NULL, state TEXT NOT NULL, urgent"
	    " INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER"
	    " NOT NULL, effective_ms INTEGER NOT NULL, freeze_deadline_ms"
	    " INTEGER, complete_deadline_ms INTEGER, frozen_ms INTEGER,"
	    " completed_ms INTEGER, error TEXT, reason TEXT, retry TEXT,"
	    " cancel_by TEXT, waits_for INTEGER);"
	    "CREATE TABLE case_keys (key TEXT NOT NULL, case_id INTEGER NOT"
	    " NULL, PRIMARY KEY (key, case_id)) WITHOUT ROWID;"
	    "CREATE TABLE steps (case_id INTEGER NOT NULL, target TEXT NOT"
	    " NULL, seq INTEGER NOT NULL, step TEXT NOT NULL, opts TEXT, state"
	    " TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error"
	    " TEXT, detail TEXT, started_ms INTEGER, finished_ms INTEGER,"
	    " PRIMARY KEY (case_id, target, seq)) WITHOUT ROWID;"
	    "CREATE TABLE accounts (case_id INTEGER NOT NULL, target TEXT NOT"
	    " NULL, account TEXT NOT NULL, PRIMARY KEY (case_id, target))"
	    " WITHOUT ROWID;"
	    "CREATE TABLE timeline (id INTEGER PRIMARY KEY, case_id INTEGER NOT"
	    " NULL, ts_ms INTEGER NOT NULL, kind TEXT NOT NULL, target TEXT,"
	    " step TEXT, detail TEXT);"
	    "INSERT INTO cases VALUES (7, 'E1', '{}', 'standard',"
	    " 'io.deprov.leaver', 'freezing', 0, 1, 1, 0, 0, 0, NULL, NULL,"
	    " NULL, NULL, '{}', NULL, NULL);"
	    "INSERT INTO steps VALUES (7, 'sf', 0, 'freeze', NULL, 'pending',"
	    " 0, NULL, NULL, NULL, NULL);");
	s = store_open(path, err, sizeof err);
	assert_non_null(s);
	memset(&seen, 0, sizeof seen);
	assert_int_equal(store_steps_of(s, 7, step_cb, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(store_step_update(s, 7, "sf", 0, "skipped", 1, NULL,
	    "no account", 1, 5), 0);
	store_close(s);
	/* 3 -> 4 made the index of failed steps (DROP fails without it). */
	raw_sql(path, "DROP INDEX steps_failed");

	raw_sql(path, "UPDATE meta SET value = '99' WHERE key = 'schema'");
	err[0] = '\0';
	assert_null(store_open(path, err, sizeof err));
	assert_non_null(strstr(err, "schema version 99"));
	free(path);
}

struct exposed {
	int	n;
	char	rows[8][96];
};

static int
exposure_cb(const struct store_exposure *e, void *arg)
{
	struct exposed *x = arg;

	if (x->n < 8)
		snprintf(x->rows[x->n++], sizeof x->rows[0], "%lld:%s:%s:%s",
		    e->case_id, e->target, e->step_state, e->error ? e->error :
		    "");
	return 0;
}

static void
add_step(struct store *s, long long id, const char *target,
    const char *step, const char *state, int no_account, const char *error)
{
	struct store_step p;

	memset(&p, 0, sizeof p);
	p.target = target;
	p.step = step;
	p.state = "pending";
	assert_int_equal(store_step_insert(s, id, &p), 0);
	assert_int_equal(store_step_update(s, id, target, 0, state, 1, error,
	    NULL, no_account, 10), 0);
}

/*
 * Exposure: a freezing or escalated case not contained counts at each
 * target whose freeze neither succeeded nor found no account; contained,
 * cancelled and superseded cases do not. Errors add up on the case.
 */
static void
test_exposure(void **state)
{
	char		 err[256], *path = tmp_db();
	struct store	*s;
	struct exposed	 x;
	struct seen	 seen;
	long long	 a, b, c, d, u, n;

	(void)state;
	s = store_open(path, err, sizeof err);
	assert_non_null(s);
	a = new_case(s, "E1", "escalated");	/* okta refused the freeze */
	add_step(s, a, "okta", "freeze", "failed", 0, "HTTP 403");
	add_step(s, a, "sf", "freeze", "succeeded", 0, NULL);
	add_step(s, a, "slack", "freeze", "skipped", 1, NULL);
	b = new_case(s, "E2", "freezing");	/* still being tried */
	add_step(s, b, "okta", "freeze", "retry_wait", 0, "HTTP 503");
	c = new_case(s, "E3", "escalated");	/* frozen, deactivate failed */
	add_step(s, c, "sf", "freeze", "succeeded", 0, NULL);
	assert_int_equal(store_case_frozen(s, c, 20), 0);
	d = new_case(s, "E4", "escalated");	/* failed, then unfrozen */
	add_step(s, d, "okta", "freeze", "failed", 0, "HTTP 403");
	u = new_case(s, "E4", "completed");
	(void)u;
	raw_sql(path, "UPDATE cases SET event_type = 'io.deprov.unfreeze' "
	    "WHERE id = 5");
	memset(&x, 0, sizeof x);
	assert_int_equal(store_exposures(s, 100, exposure_cb, &x), 0);
	assert_int_equal(x.n, 2);
	assert_string_equal(x.rows[0], "1:okta:failed:HTTP 403");
	assert_string_equal(x.rows[1], "2:okta:retry_wait:HTTP 503");
	assert_int_equal(store_exposure_counts(s, &n, NULL, NULL), 0);
	assert_int_equal(n, 2);
	/*
	 * A freeze skipped by choice: exposed while the case goes on, until
	 * that target's account is deactivated.
	 */
	{
		long long e = new_case(s, "E5", "remediating");
		struct store_step p;

		add_step(s, e, "okta", "freeze", "skipped", 0, NULL);
		assert_int_equal(store_exposure_counts(s, &n, NULL, NULL), 0);
		assert_int_equal(n, 3);
		memset(&p, 0, sizeof p);
		p.target = "okta";
		p.step = "deactivate";
		p.seq = 1;
		p.state = "pending";
		assert_int_equal(store_step_insert(s, e, &p), 0);
		assert_int_equal(store_step_update(s, e, "okta", 1, "succeeded",
		    1, NULL, NULL, 0, 20), 0);
		assert_int_equal(store_exposure_counts(s, &n, NULL, NULL), 0);
		assert_int_equal(n, 2);
	}
	/* A cancel request ends the exposure it claims. */
	assert_int_equal(store_case_cancel_request(s, b, "op"), 0);
	assert_int_equal(store_exposure_counts(s, &n, NULL, NULL), 0);
	assert_int_equal(n, 1);

	/* Every failure is kept on the case; a reopen clears them. */
	assert_int_equal(store_case_error_add(s, a, "okta freeze: HTTP 403"), 0);
	assert_int_equal(store_case_error_add(s, a, "sf deactivate: boom"), 0);
	memset(&seen, 0, sizeof seen);
	assert_int_equal(store_case_get(s, a, case_cb, &seen), 0);
	assert_string_equal(seen.err[0], "okta freeze: HTTP 403; sf deactivate: "
	    "boom");
	assert_int_equal(store_case_completed(s, a, 30), 0);
	assert_int_equal(store_case_reopen(s, a), 0);
	memset(&seen, 0, sizeof seen);
	assert_int_equal(store_case_get(s, a, case_cb, &seen), 0);
	assert_string_equal(seen.err[0], "");
	store_close(s);
	free(path);
}

/* Size of a file, 0 when it is missing. */
static long long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* Write about 5 MB (over 1,000 pages) of events in transactions of 100. */
static void
fill(struct store *s, int from)
{
	char	 type[1001], id[32];
	int	 i;

	memset(type, 't', sizeof type - 1);
	type[sizeof type - 1] = '\0';
	for (i = 0; i < 5000; i++) {
		if (i % 100 == 0)
			assert_int_equal(store_begin(s), 0);
		snprintf(id, sizeof id, "%d", from + i);
		assert_int_equal(store_event_put(s, "/hr", id, type, "E1", "k",
		    1), 0);
		if (i % 100 == 99)
			assert_int_equal(store_commit(s), 0);
	}
}

/*
 * The WAL is copied back into the database once it passes 1,000 pages: by
 * the helper thread when there is one (the loop's commits never do it),
 * else in place as SQLite would.
 */
static void
test_checkpoints(void **state)
{
	char		 err[256], *path = tmp_db();
	struct store	*s;
	long long	 before;
	int		 i;

	(void)state;
	s = store_open(path, err, sizeof err);
	assert_non_null(s);
	before = file_size(path);
	fill(s, 0);					/* no helper: in place */
	assert_true(file_size(path) > before + 1000 * 1024);

	assert_true(store_sync_fd(s) >= 0);		/* the helper runs */
	before = file_size(path);
	fill(s, 5000);
	for (i = 0; i < 1000 && file_size(path) <= before + 1000 * 1024; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	assert_true(file_size(path) > before + 1000 * 1024);
	store_close(s);

	/* Everything is there after reopening. */
	s = store_open(path, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(store_event_put(s, "/hr", "9999", "t", "E1", "k", 1), 1);
	store_close(s);
	free(path);
}

/* Every rollback, of a savepoint too, counts. */
static void
test_undo_count(void **state)
{
	char		 err[256], *path = tmp_db();
	struct store	*s;
	uint64_t	 n;

	(void)state;
	s = store_open(path, err, sizeof err);
	assert_non_null(s);
	n = store_undo_count(s);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_commit(s), 0);
	assert_true(store_undo_count(s) == n);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_begin(s), 0);
	store_rollback(s);				/* the savepoint */
	assert_true(store_undo_count(s) == n + 1);
	store_rollback(s);				/* the transaction */
	assert_true(store_undo_count(s) == n + 2);
	store_close(s);
	free(path);
}

/* What store_export gave: per table, the rows, in the order they came. */
struct export_seen {
	size_t	 table;		/* index into store_tables of the current one */
	int	 rows[16];
	int	 out_of_order;
	char	 text[4][128];	/* the cases' reason texts, in order */
	int	 ntext;
	long long last_case;
};

static int
export_cb(const char *table, const struct store_value *v, size_t n, void *arg)
{
	struct export_seen	*x = arg;

	while (x->table < store_ntables &&
	    strcmp(store_tables[x->table].name, table) != 0)
		x->table++;
	assert_true(x->table < store_ntables);	/* known, and in table order */
	assert_int_equal(n, store_tables[x->table].ncols);
	x->rows[x->table]++;
	if (strcmp(table, "meta") == 0)
		assert_string_not_equal(v[0].s, "schema");
	if (strcmp(table, "cases") == 0) {
		assert_int_equal(v[0].type, STORE_V_INT);
		if (v[0].i <= x->last_case)
			x->out_of_order = 1;
		x->last_case = v[0].i;
		/* column 15 is reason */
		if (v[15].type == STORE_V_TEXT && x->ntext < 4) {
			assert_int_equal(strlen(v[15].s), v[15].len);
			snprintf(x->text[x->ntext++], sizeof x->text[0], "%s",
			    v[15].s);
		}
	}
	return 0;
}

static int
export_stop_cb(const char *table, const struct store_value *v, size_t n,
    void *arg)
{
	(void)table;
	(void)v;
	(void)n;
	++*(int *)arg;
	return 7;
}

/*
 * store_export: every table of store-tables.c exists in a new store with
 * exactly those columns in that order (so the PostgreSQL copy takes the
 * same rows), tables come in the listed order, rows in key order, the
 * schema version is not among them, and a callback's non-zero stops it.
 */
static void
test_export(void **state)
{
	char			 err[256], sql[256], *path = tmp_db();
	struct store		*s;
	struct store_case	 c;
	struct export_seen	 x;
	sqlite3			*db;
	sqlite3_stmt		*st;
	size_t			 i;
	int			 k;
	long long		 a;

	(void)state;
	s = store_open(path, err, sizeof err);
	assert_non_null(s);
	a = new_case(s, "E1", "completed");
	memset(&c, 0, sizeof c);
	c.subject_key = "E2";
	c.subject_json = "{}";
	c.runbook = "emergency";
	c.event_type = "io.deprov.freeze";
	c.state = "freezing";
	c.reason = "tab\there";
	c.retry_json = "{}";
	assert_true(store_case_insert(s, &c) > a);
	assert_int_equal(store_timeline_add(s, a, 5, "note", NULL, NULL, "x"), 0);
	assert_int_equal(store_meta_set(s, "k", "v"), 0);

	/* The descriptors against the file's own schema. */
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	for (i = 0; i < store_ntables; i++) {
		snprintf(sql, sizeof sql, "PRAGMA table_info(%s)",
		    store_tables[i].name);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
		    SQLITE_OK);
		for (k = 0; sqlite3_step(st) == SQLITE_ROW; k++) {
			assert_true((size_t)k < store_tables[i].ncols);
			assert_string_equal((const char *)sqlite3_column_text(st,
			    1), store_tables[i].cols[(size_t)k].name);
			assert_string_equal((const char *)sqlite3_column_text(st,
			    2), store_tables[i].cols[(size_t)k].type == STORE_COL_INT ?
			    "INTEGER" : "TEXT");
		}
		assert_int_equal((size_t)k, store_tables[i].ncols);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);

	memset(&x, 0, sizeof x);
	assert_int_equal(store_export(s, export_cb, &x), 0);
	assert_int_equal(x.rows[0], 2);		/* meta: k and store_id, not schema */
	assert_int_equal(x.rows[1], 2);		/* cases */
	assert_false(x.out_of_order);
	assert_int_equal(x.ntext, 1);
	assert_string_equal(x.text[0], "tab\there");
	for (i = 0; i < store_ntables; i++)
		if (strcmp(store_tables[i].name, "timeline") == 0)
			assert_int_equal(x.rows[i], 1);
	k = 0;
	assert_int_equal(store_export(s, export_stop_cb, &k), 7);
	assert_int_equal(k, 1);
	/* The snapshot's read transaction is over: writes go on. */
	assert_int_equal(store_meta_set(s, "k", "w"), 0);
	store_close(s);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_dedupe),
		cmocka_unit_test(test_cases_steps_reopen),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_open_error),
		cmocka_unit_test(test_checkpoints),
		cmocka_unit_test(test_undo_count),
		cmocka_unit_test(test_cases_list_filter),
		cmocka_unit_test(test_schema_versions),
		cmocka_unit_test(test_exposure),
		cmocka_unit_test(test_export),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
