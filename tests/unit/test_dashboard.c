/*
 * Unit tests for dashboard_summary against a real store: who is still
 * exposed (failed freezes first, being frozen, contained elsewhere; not
 * those undone, cancelled or contained), counts by state (closed ones only
 * within the window), SLA verdicts (met, breached, pending; an escalated
 * case never contained is breached; cancelled cases, cases that freeze
 * nothing and budgets a runbook does not set are not judged), nearest-rank
 * time-to-freeze percentiles and histogram, open cases with breach flags,
 * kind, per-target containment and their bound, recently closed cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "deprov/case.h"
#include "deprov/dashboard.h"
#include "deprov/event.h"
#include "deprov/store.h"

#define NOW	1800000000000LL
#define SEC	1000LL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

struct fixture {
	char			 path[64];
	struct store		*store;
	struct dashboard	*db;
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof *f);
	char		 err[256];
	int		 fd;

	assert_non_null(f);
	snprintf(f->path, sizeof f->path, "/tmp/test_dashboard.XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	f->store = store_open(f->path, err, sizeof err);
	assert_non_null(f->store);
	f->db = dashboard_new(NULL, f->store, err, sizeof err);
	if (f->db == NULL)
		fail_msg("dashboard_new: %s", err);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 p[80];

	dashboard_free(f->db);
	store_close(f->store);
	unlink(f->path);
	snprintf(p, sizeof p, "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", f->path);
	unlink(p);
	free(f);
	return 0;
}

/* A case as the engine would leave it. */
static long long
add(struct fixture *f, const char *key, const char *type, const char *state,
    int64_t created, int64_t effective, int64_t fdl, int64_t cdl,
    int64_t frozen, int64_t completed)
{
	struct store_case	c;
	char			subj[128];
	long long		id;

	snprintf(subj, sizeof subj, "{\"employee_id\":\"%s\",\"email\":"
	    "\"%s@acme.example\"}", key, key);
	memset(&c, 0, sizeof c);
	c.subject_key = key;
	c.subject_json = subj;
	c.runbook = "rb";
	c.event_type = type;
	c.state = state;
	c.created_ms = created;
	c.updated_ms = created;
	c.effective_ms = effective;
	c.freeze_deadline_ms = fdl;
	c.complete_deadline_ms = cdl;
	c.retry_json = "{}";
	id = store_case_insert(f->store, &c);
	assert_true(id > 0);
	if (frozen > 0)
		assert_int_equal(store_case_frozen(f->store, id, frozen), 0);
	if (completed > 0)
		assert_int_equal(store_case_completed(f->store, id, completed),
		    0);
	return id;
}

static json_object *
at(json_object *o, const char *path)
{
	char	 buf[128], *p, *next;

	snprintf(buf, sizeof buf, "%s", path);
	for (p = buf; p != NULL && o != NULL; p = next) {
		if ((next = strchr(p, '.')) != NULL)
			*next++ = '\0';
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)atoi(p));
		else if (!json_object_object_get_ex(o, p, &o))
			o = NULL;
	}
	return o;
}

static int64_t
num(json_object *o, const char *path)
{
	json_object *v = at(o, path);

	if (v == NULL || json_object_is_type(v, json_type_null))
		fail_msg("%s is missing or null", path);
	return json_object_get_int64(v);
}

static void
verdict(json_object *s, const char *which, int64_t met, int64_t breached,
    int64_t pending, double compliance)
{
	char p[64];

	snprintf(p, sizeof p, "sla.%s.met", which);
	assert_int_equal(num(s, p), met);
	snprintf(p, sizeof p, "sla.%s.breached", which);
	assert_int_equal(num(s, p), breached);
	snprintf(p, sizeof p, "sla.%s.pending", which);
	assert_int_equal(num(s, p), pending);
	snprintf(p, sizeof p, "sla.%s.compliance", which);
	assert_true(json_object_get_double(at(s, p)) > compliance - 1e-9 &&
	    json_object_get_double(at(s, p)) < compliance + 1e-9);
}

/* A step of a case, left in state (with its error or detail) at time at. */
static void
step(struct fixture *f, long long id, const char *target, int seq,
    const char *name, enum step_state state, int attempts, const char *error,
    const char *detail, int no_account, int64_t at)
{
	struct store_step s;

	memset(&s, 0, sizeof s);
	s.target = target;
	s.seq = seq;
	s.step = name;
	s.state = step_state_name(STEP_PENDING);
	assert_int_equal(store_step_insert(f->store, id, &s), 0);
	if (state != STEP_PENDING)
		assert_int_equal(store_step_update(f->store, id, target, seq,
		    step_state_name(state), attempts, error, detail,
		    no_account, at), 0);
}

static const char *
str(json_object *o, const char *path)
{
	json_object *v = at(o, path);

	if (v == NULL || !json_object_is_type(v, json_type_string))
		fail_msg("%s is missing or not a string", path);
	return json_object_get_string(v);
}

/* The entry of an array of objects whose key is value. */
static json_object *
find(json_object *arr, const char *key, const char *value)
{
	json_object	*e, *v;
	size_t		 i;

	for (i = 0; arr != NULL && i < json_object_array_length(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		if (json_object_object_get_ex(e, key, &v) &&
		    strcmp(json_object_get_string(v), value) == 0)
			return e;
	}
	fail_msg("no %s %s", key, value);
	return NULL;
}

static void
test_empty(void **state)
{
	struct fixture	*f = *state;
	char		 err[256], p[64];
	json_object	*s = dashboard_summary(f->db, NOW, err, sizeof err);
	int		 i;

	assert_non_null(s);
	assert_int_equal(num(s, "open"), 0);
	/* Every state of case.h has its count. */
	for (i = 0; i < CASE_STATE_COUNT; i++) {
		snprintf(p, sizeof p, "counts.%s", case_state_name(
		    (enum case_state)i));
		assert_int_equal(num(s, p), 0);
	}
	assert_int_equal(num(s, "counts.completed"), 0);
	assert_int_equal(num(s, "counts.escalated"), 0);
	assert_null(at(s, "sla.overall.compliance"));
	assert_null(at(s, "time_to_freeze.p50_ms"));
	assert_int_equal(num(s, "time_to_freeze.count"), 0);
	assert_int_equal(json_object_array_length(at(s,
	    "time_to_freeze.histogram")), 11);
	assert_int_equal(json_object_array_length(at(s, "open_cases")), 0);
	assert_int_equal(json_object_array_length(at(s, "recent")), 0);
	/* No one exposed. */
	assert_int_equal(num(s, "exposed.people"), 0);
	assert_int_equal(num(s, "exposed.failed"), 0);
	assert_int_equal(num(s, "exposed.being_frozen"), 0);
	assert_int_equal(json_object_array_length(at(s, "exposed.cases")), 0);
	assert_false(json_object_get_boolean(at(s, "exposed.truncated")));
	json_object_put(s);
}

static void
test_verdicts(void **state)
{
	struct fixture	*f = *state;
	char		 err[256];
	json_object	*s, *open, *recent, *h;
	long long	 a, b, c, d, e, fx, h8, i9;
	int64_t		 buckets[11] = { 0 };
	size_t		 k;

	/* On time: frozen after 1 s, completed before its deadline. */
	a = add(f, "E1", "io.deprov.leaver", "completed", NOW - 10 * MIN, 0,
	    NOW - 9 * MIN, NOW - 5 * MIN, NOW - 10 * MIN + SEC, NOW - 7 * MIN);
	/* Frozen late (after 2 min), completed in time. */
	b = add(f, "E2", "io.deprov.leaver", "completed", NOW - 20 * MIN, 0,
	    NOW - 19 * MIN, NOW - 5 * MIN, NOW - 18 * MIN, NOW - 6 * MIN);
	/* Still freezing past its freeze deadline; completion not due yet. */
	c = add(f, "E3", "io.deprov.leaver", "freezing", NOW - 2 * MIN, 0,
	    NOW - MIN, NOW + 10 * MIN, 0, 0);
	/* Scheduled three days out: nothing due. */
	d = add(f, "E4", "io.deprov.leaver", "scheduled", NOW - HOUR,
	    NOW + 3 * DAY, NOW + 3 * DAY + MIN, NOW + 3 * DAY + 15 * MIN, 0, 0);
	/* Cancelled before anything was due: not judged. */
	e = add(f, "E5", "io.deprov.leaver", "cancelled", NOW - 55 * MIN, 0,
	    NOW - 40 * MIN, NOW - 30 * MIN, 0, NOW - 50 * MIN);
	/* Escalated, never frozen, both deadlines gone. */
	fx = add(f, "E6", "io.deprov.leaver", "escalated", NOW - 45 * MIN, 0,
	    NOW - 30 * MIN, NOW - 20 * MIN, 0, NOW - 35 * MIN);
	/* Two days old: outside the window. */
	add(f, "E7", "io.deprov.leaver", "completed", NOW - 2 * DAY, 0,
	    NOW - 2 * DAY + MIN, NOW - 2 * DAY + 15 * MIN, NOW - 2 * DAY + SEC,
	    NOW - 2 * DAY + MIN);
	/* An unfreeze: counted as completed, never judged or timed. */
	h8 = add(f, "E8", "io.deprov.unfreeze", "completed", NOW - 5 * MIN, 0,
	    NOW - 4 * MIN, NOW + 10 * MIN, NOW - 5 * MIN + 10, NOW - 4 * MIN);
	/* On time: frozen after 5 s. */
	i9 = add(f, "E9", "io.deprov.leaver", "completed", NOW - 3 * MIN, 0,
	    NOW - 2 * MIN, NOW - MIN, NOW - 3 * MIN + 5 * SEC, NOW - 90 * SEC);

	s = dashboard_summary(f->db, NOW, err, sizeof err);
	if (s == NULL)
		fail_msg("%s", err);
	assert_int_equal(num(s, "now_ms"), NOW);
	/* Open states as they are; closed ones within the window. */
	assert_int_equal(num(s, "counts.freezing"), 1);
	assert_int_equal(num(s, "counts.scheduled"), 1);
	assert_int_equal(num(s, "counts.escalated"), 1);
	assert_int_equal(num(s, "counts.received"), 0);
	assert_int_equal(num(s, "counts.completed"), 4);
	assert_int_equal(num(s, "counts.cancelled"), 1);
	assert_int_equal(num(s, "open"), 3);

	assert_int_equal(num(s, "sla.cases"), 7);
	verdict(s, "freeze", 2, 3, 1, 0.4);
	verdict(s, "complete", 3, 1, 2, 0.75);
	verdict(s, "overall", 2, 3, 1, 0.4);

	/* 1 s, 5 s, 120 s: nearest rank p50 = 2nd, p95 = p99 = 3rd. */
	assert_int_equal(num(s, "time_to_freeze.count"), 3);
	assert_int_equal(num(s, "time_to_freeze.p50_ms"), 5 * SEC);
	assert_int_equal(num(s, "time_to_freeze.p95_ms"), 2 * MIN);
	assert_int_equal(num(s, "time_to_freeze.p99_ms"), 2 * MIN);
	assert_int_equal(num(s, "time_to_freeze.max_ms"), 2 * MIN);
	h = at(s, "time_to_freeze.histogram");
	for (k = 0; k < json_object_array_length(h); k++)
		buckets[k] = num(json_object_array_get_idx(h, k), "count");
	assert_int_equal(buckets[3], 1);	/* <= 1 s */
	assert_int_equal(buckets[5], 1);	/* <= 5 s */
	assert_int_equal(buckets[9], 1);	/* <= 5 min */
	assert_int_equal(buckets[0] + buckets[1] + buckets[2] + buckets[4] +
	    buckets[6] + buckets[7] + buckets[8] + buckets[10], 0);
	assert_int_equal(num(json_object_array_get_idx(h, 3), "le_ms"), 1000);
	assert_true(json_object_is_type(at(h, "10.le_ms"), json_type_null));

	/* Open cases, newest first, with their flags as of now. */
	open = at(s, "open_cases");
	assert_int_equal(json_object_array_length(open), 3);
	assert_int_equal(num(open, "0.id"), fx);
	assert_int_equal(num(open, "1.id"), d);
	assert_int_equal(num(open, "2.id"), c);
	assert_true(json_object_get_boolean(at(open, "0.freeze_breached")));
	assert_true(json_object_get_boolean(at(open, "0.complete_breached")));
	assert_false(json_object_get_boolean(at(open, "1.freeze_breached")));
	assert_false(json_object_get_boolean(at(open, "1.complete_breached")));
	assert_true(json_object_get_boolean(at(open, "2.freeze_breached")));
	assert_false(json_object_get_boolean(at(open, "2.complete_breached")));
	assert_string_equal(json_object_get_string(at(open, "2.email")),
	    "E3@acme.example");
	assert_string_equal(json_object_get_string(at(open, "2.employee_id")),
	    "E3");
	assert_string_equal(json_object_get_string(at(open, "1.state")),
	    "scheduled");
	assert_true(json_object_is_type(at(open, "2.time_to_freeze_ms"),
	    json_type_null));
	assert_false(json_object_get_boolean(at(s, "open_truncated")));

	/* Recently closed: the window's, newest first (not the old one). */
	recent = at(s, "recent");
	assert_int_equal(json_object_array_length(recent), 5);
	assert_int_equal(num(recent, "0.id"), i9);
	assert_int_equal(num(recent, "1.id"), h8);
	assert_int_equal(num(recent, "2.id"), e);
	assert_int_equal(num(recent, "3.id"), b);
	assert_int_equal(num(recent, "4.id"), a);
	assert_int_equal(num(recent, "0.time_to_freeze_ms"), 5 * SEC);
	assert_true(json_object_get_boolean(at(recent, "3.freeze_breached")));
	assert_false(json_object_get_boolean(at(recent, "3.complete_breached")));
	assert_false(json_object_get_boolean(at(recent, "2.freeze_breached")));
	assert_false(json_object_get_boolean(at(recent, "2.complete_breached")));
	json_object_put(s);
}

/* A scheduled leaver's clock starts at its effective date, not at intake. */
static void
test_effective_date(void **state)
{
	struct fixture	*f = *state;
	char		 err[256];
	json_object	*s;

	add(f, "E1", "io.deprov.leaver", "completed", NOW - 2 * HOUR,
	    NOW - HOUR, NOW - HOUR + MIN, NOW - HOUR + 15 * MIN,
	    NOW - HOUR + 2 * SEC, NOW - HOUR + 3 * MIN);
	s = dashboard_summary(f->db, NOW, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(num(s, "time_to_freeze.p50_ms"), 2 * SEC);
	assert_int_equal(num(s, "recent.0.time_to_freeze_ms"), 2 * SEC);
	verdict(s, "overall", 1, 0, 0, 1.0);
	json_object_put(s);
}

/* The open list is bounded, newest first, and says so. */
static void
test_open_bound(void **state)
{
	struct fixture	*f = *state;
	char		 err[256], key[16];
	json_object	*s;
	long long	 last = 0;
	int		 i;

	for (i = 0; i < DASHBOARD_MAX_OPEN + 5; i++) {
		snprintf(key, sizeof key, "E%d", i);
		last = add(f, key, "io.deprov.leaver", "remediating",
		    NOW - MIN, 0, NOW + MIN, NOW + 10 * MIN, NOW - MIN + SEC, 0);
	}
	s = dashboard_summary(f->db, NOW, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(num(s, "open"), DASHBOARD_MAX_OPEN + 5);
	assert_int_equal(num(s, "counts.remediating"), DASHBOARD_MAX_OPEN + 5);
	assert_int_equal(json_object_array_length(at(s, "open_cases")),
	    DASHBOARD_MAX_OPEN);
	assert_int_equal(num(s, "open_cases.0.id"), last);
	assert_true(json_object_get_boolean(at(s, "open_truncated")));
	verdict(s, "freeze", DASHBOARD_MAX_OPEN + 5, 0, 0, 1.0);
	verdict(s, "complete", 0, 0, DASHBOARD_MAX_OPEN + 5, 0.0);
	assert_null(at(s, "sla.complete.compliance"));
	json_object_put(s);
}

/*
 * Who is still exposed: three targets, one refused the freeze (escalated at
 * once), another person's freeze still retrying, a third skipped; not the
 * person since unfrozen, the case being cancelled or the one contained.
 */
static void
test_exposed(void **state)
{
	struct fixture	*f = *state;
	char		 err[256];
	json_object	*s, *x, *row, *per;
	long long	 a, b, c, d, g, h;
	size_t		 i;

	a = add(f, "E1", EVENT_TYPE_LEAVER, "escalated", NOW - 10 * MIN, 0,
	    NOW + 50 * MIN, NOW + 5 * HOUR, 0, 0);
	step(f, a, "okta", 0, "freeze", STEP_FAILED, 1, "HTTP 403 E0000006: "
	    "You do not have permission", NULL, 0, NOW - 10 * MIN + 2 * SEC);
	step(f, a, "okta", 1, "deactivate", STEP_PENDING, 0, NULL, NULL, 0, 0);
	step(f, a, "salesforce-prod", 0, "freeze", STEP_SUCCEEDED, 1, NULL,
	    "frozen", 0, NOW - 10 * MIN + 1500);
	step(f, a, "slack", 0, "freeze", STEP_SKIPPED, 1, NULL, "no account",
	    1, NOW - 10 * MIN + SEC);
	/* Due a minute ago (scheduled); its freeze is being retried. */
	b = add(f, "E2", EVENT_TYPE_LEAVER, "freezing", NOW - 2 * HOUR,
	    NOW - MIN, NOW + 5 * MIN, NOW + HOUR, 0, 0);
	step(f, b, "okta", 0, "freeze", STEP_RETRY_WAIT, 3, "HTTP 503", NULL,
	    0, NOW - 5 * SEC);
	step(f, b, "salesforce-prod", 0, "freeze", STEP_SUCCEEDED, 1, NULL,
	    NULL, 0, NOW - 50 * SEC);
	c = add(f, "E3", EVENT_TYPE_LEAVER, "escalated", NOW - 5 * MIN, 0,
	    NOW + 55 * MIN, NOW + 5 * HOUR, 0, 0);
	step(f, c, "okta", 0, "freeze", STEP_SKIPPED, 1, NULL, "LOCKED_OUT: "
	    "cannot be suspended", 0, NOW - 5 * MIN + SEC);
	/* Freezing, but unfrozen since by a completed unfreeze. */
	d = add(f, "E4", EVENT_TYPE_LEAVER, "freezing", NOW - 4 * MIN, 0,
	    NOW + 56 * MIN, NOW + 5 * HOUR, 0, 0);
	step(f, d, "okta", 0, "freeze", STEP_PENDING, 0, NULL, NULL, 0, 0);
	add(f, "E4", EVENT_TYPE_UNFREEZE, "completed", NOW - 3 * MIN, 0, 0,
	    NOW + HOUR, 0, NOW - 2 * MIN);
	/* Being cancelled. */
	g = add(f, "E5", EVENT_TYPE_LEAVER, "escalated", NOW - 3 * MIN, 0,
	    NOW + 57 * MIN, NOW + 5 * HOUR, 0, 0);
	step(f, g, "okta", 0, "freeze", STEP_FAILED, 1, "HTTP 500", NULL, 0,
	    NOW - 3 * MIN);
	assert_int_equal(store_case_cancel_request(f->store, g, "ops"), 0);
	/* Contained. */
	h = add(f, "E6", EVENT_TYPE_LEAVER, "remediating", NOW - MIN, 0,
	    NOW + 59 * MIN, NOW + 5 * HOUR, NOW - MIN + SEC, 0);
	step(f, h, "okta", 0, "freeze", STEP_SUCCEEDED, 1, NULL, NULL, 0,
	    NOW - MIN + SEC);

	s = dashboard_summary(f->db, NOW, err, sizeof err);
	if (s == NULL)
		fail_msg("%s", err);
	x = at(s, "exposed");
	assert_int_equal(num(x, "people"), 3);
	assert_int_equal(num(x, "failed"), 2);
	assert_int_equal(num(x, "being_frozen"), 1);
	assert_false(json_object_get_boolean(at(x, "truncated")));
	/* Failed freezes first (oldest case first), then those being frozen. */
	assert_int_equal(json_object_array_length(at(x, "cases")), 3);
	assert_int_equal(num(x, "cases.0.case_id"), a);
	assert_int_equal(num(x, "cases.1.case_id"), c);
	assert_int_equal(num(x, "cases.2.case_id"), b);
	assert_true(json_object_get_boolean(at(x, "cases.0.failed")));
	assert_true(json_object_get_boolean(at(x, "cases.1.failed")));
	assert_false(json_object_get_boolean(at(x, "cases.2.failed")));
	/* The refused target with its error; contained at the other two. */
	assert_string_equal(str(x, "cases.0.email"), "E1@acme.example");
	assert_string_equal(str(x, "cases.0.runbook"), "rb");
	assert_string_equal(str(x, "cases.0.kind"), "leaver");
	assert_int_equal(num(x, "cases.0.since_ms"), NOW - 10 * MIN);
	assert_int_equal(json_object_array_length(at(x, "cases.0.targets")), 1);
	assert_string_equal(str(x, "cases.0.targets.0.target"), "okta");
	assert_string_equal(str(x, "cases.0.targets.0.status"),
	    containment_name(CONTAIN_FAILED));
	assert_non_null(strstr(str(x, "cases.0.targets.0.error"), "403"));
	assert_int_equal(num(x, "cases.0.targets.0.attempts"), 1);
	assert_int_equal(json_object_array_length(at(x, "cases.0.contained_at")),
	    2);
	assert_string_equal(str(x, "cases.0.contained_at.0"),
	    "salesforce-prod");
	assert_string_equal(str(x, "cases.0.contained_at.1"), "slack");
	/* Skipped: the reason, no error. */
	assert_string_equal(str(x, "cases.1.targets.0.status"),
	    containment_name(CONTAIN_SKIPPED));
	assert_non_null(strstr(str(x, "cases.1.targets.0.reason"),
	    "LOCKED_OUT"));
	assert_null(at(x, "cases.1.targets.0.error"));
	/* Being frozen: still being tried, with the last error. */
	assert_string_equal(str(x, "cases.2.targets.0.status"),
	    containment_name(CONTAIN_PENDING));
	assert_string_equal(str(x, "cases.2.targets.0.step_state"),
	    "retry_wait");
	assert_string_equal(str(x, "cases.2.targets.0.error"), "HTTP 503");
	assert_int_equal(num(x, "cases.2.targets.0.attempts"), 3);
	assert_int_equal(num(x, "cases.2.since_ms"), NOW - MIN);

	/* The open case's chips: per target, in case.h's words. */
	row = NULL;
	for (i = 0; i < json_object_array_length(at(s, "open_cases")); i++)
		if (num(json_object_array_get_idx(at(s, "open_cases"), i),
		    "id") == a)
			row = json_object_array_get_idx(at(s, "open_cases"), i);
	assert_non_null(row);
	assert_false(json_object_get_boolean(at(row, "contained")));
	assert_true(json_object_is_type(at(row, "contained"),
	    json_type_boolean));
	per = at(row, "containment");
	assert_int_equal(json_object_array_length(per), 3);
	assert_string_equal(str(find(per, "target", "okta"), "status"),
	    containment_name(CONTAIN_FAILED));
	assert_non_null(strstr(str(find(per, "target", "okta"), "error"),
	    "403"));
	assert_string_equal(str(find(per, "target", "salesforce-prod"),
	    "status"), containment_name(CONTAIN_FROZEN));
	assert_int_equal(num(find(per, "target", "salesforce-prod"), "at_ms"),
	    NOW - 10 * MIN + 1500);
	assert_string_equal(str(find(per, "target", "slack"), "status"),
	    containment_name(CONTAIN_NO_ACCOUNT));
	/* Escalated without being contained: breached, deadline or not. */
	assert_true(json_object_get_boolean(at(row, "freeze_breached")));
	assert_false(json_object_get_boolean(at(row, "complete_breached")));
	assert_int_equal(num(row, "due_ms"), NOW - 10 * MIN);
	assert_string_equal(str(row, "kind"), "leaver");
	assert_true(json_object_get_boolean(at(row, "freezes")));
	/* The case being cancelled says so. */
	row = json_object_array_get_idx(at(s, "open_cases"), 0);
	assert_int_equal(num(row, "id"), h);
	assert_true(json_object_get_boolean(at(row, "contained")));
	row = json_object_array_get_idx(at(s, "open_cases"), 1);
	assert_int_equal(num(row, "id"), g);
	assert_true(json_object_get_boolean(at(row, "cancelling")));
	json_object_put(s);

	/* Frozen there after all (a retry): no one exposed at that target. */
	assert_int_equal(store_step_update(f->store, b, "okta", 0,
	    step_state_name(STEP_SUCCEEDED), 4, NULL, NULL, 0, NOW), 0);
	assert_int_equal(store_case_frozen(f->store, b, NOW), 0);
	assert_int_equal(store_case_state(f->store, b,
	    case_state_name(CASE_CONTAINED), NOW, NULL), 0);
	s = dashboard_summary(f->db, NOW, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(num(s, "exposed.people"), 2);
	assert_int_equal(num(s, "exposed.being_frozen"), 0);
	json_object_put(s);
}

/* The list is bounded; a failed freeze is listed even when newest. */
static void
test_exposed_bound(void **state)
{
	struct fixture	*f = *state;
	char		 err[256], key[16];
	json_object	*s;
	long long	 id, bad;
	int		 i;

	for (i = 0; i < DASHBOARD_MAX_EXPOSED + 2; i++) {
		snprintf(key, sizeof key, "E%d", i);
		id = add(f, key, EVENT_TYPE_LEAVER, "freezing", NOW - MIN, 0,
		    NOW + MIN, NOW + 10 * MIN, 0, 0);
		step(f, id, "okta", 0, "freeze", STEP_RUNNING, 1, NULL, NULL,
		    0, NOW - MIN);
	}
	bad = add(f, "X1", EVENT_TYPE_FREEZE, "escalated", NOW - SEC, 0,
	    NOW + MIN, NOW + 10 * MIN, 0, 0);
	step(f, bad, "okta", 0, "freeze", STEP_FAILED, 10, "HTTP 403", NULL, 0,
	    NOW);
	s = dashboard_summary(f->db, NOW, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(num(s, "exposed.people"), DASHBOARD_MAX_EXPOSED + 3);
	assert_int_equal(num(s, "exposed.failed"), 1);
	assert_int_equal(num(s, "exposed.being_frozen"),
	    DASHBOARD_MAX_EXPOSED + 2);
	assert_int_equal(json_object_array_length(at(s, "exposed.cases")),
	    DASHBOARD_MAX_EXPOSED);
	assert_true(json_object_get_boolean(at(s, "exposed.truncated")));
	assert_int_equal(num(s, "exposed.cases.0.case_id"), bad);
	assert_string_equal(str(s, "exposed.cases.0.kind"), "freeze");
	json_object_put(s);
}

/*
 * What the SLA judges: an escalated case never contained has breached its
 * freeze budget at once; a runbook without a freeze deadline is judged on
 * completion only, one without budgets not at all; cases that freeze
 * nothing (rescind, reinstate) are neither judged nor timed, even with a
 * frozen_ms from before they were told apart; a cancel stops the clocks.
 */
static void
test_sla_containment(void **state)
{
	struct fixture	*f = *state;
	char		 err[256];
	json_object	*s, *row;
	long long	 e1, e4, e6;
	size_t		 i;

	e1 = add(f, "E1", EVENT_TYPE_LEAVER, "escalated", NOW - 10 * MIN, 0,
	    NOW + 30 * MIN, NOW + 2 * HOUR, 0, 0);
	add(f, "E2", EVENT_TYPE_LEAVER, "completed", NOW - 10 * MIN, 0, 0,
	    NOW + HOUR, 0, NOW - MIN);
	add(f, "E3", EVENT_TYPE_LEAVER, "completed", NOW - 10 * MIN, 0, 0, 0,
	    0, NOW - MIN);
	e4 = add(f, "E4", EVENT_TYPE_RESCINDED, "completed", NOW - 9 * MIN, 0,
	    NOW - 8 * MIN, NOW + HOUR, NOW - 9 * MIN + SEC, NOW - 8 * MIN);
	add(f, "E5", EVENT_TYPE_REINSTATE, "completed", NOW - 7 * MIN, 0,
	    NOW - 6 * MIN, NOW + HOUR, NOW - 7 * MIN + SEC, NOW - 6 * MIN);
	e6 = add(f, "E6", EVENT_TYPE_LEAVER, "cancelled", NOW - 50 * MIN, 0,
	    NOW - 40 * MIN, NOW - 30 * MIN, 0, NOW - 35 * MIN);

	s = dashboard_summary(f->db, NOW, err, sizeof err);
	if (s == NULL)
		fail_msg("%s", err);
	assert_int_equal(num(s, "sla.cases"), 3);
	verdict(s, "freeze", 0, 2, 0, 0.0);
	verdict(s, "complete", 1, 0, 1, 1.0);
	verdict(s, "overall", 1, 2, 0, 1.0 / 3);
	assert_int_equal(num(s, "time_to_freeze.count"), 0);
	assert_null(at(s, "time_to_freeze.p50_ms"));

	row = at(s, "open_cases.0");
	assert_int_equal(num(row, "id"), e1);
	assert_true(json_object_get_boolean(at(row, "freeze_breached")));
	assert_false(json_object_get_boolean(at(row, "complete_breached")));
	for (i = 0; i < json_object_array_length(at(s, "recent")); i++) {
		row = json_object_array_get_idx(at(s, "recent"), i);
		if (num(row, "id") == e4) {
			assert_string_equal(str(row, "kind"),
			    "leaver.rescinded");
			assert_null(at(row, "frozen_ms"));
			assert_null(at(row, "time_to_freeze_ms"));
			assert_null(at(row, "freeze_deadline_ms"));
			assert_false(json_object_get_boolean(at(row,
			    "freeze_breached")));
			assert_true(json_object_is_type(at(row, "contained"),
			    json_type_null));
			assert_false(json_object_get_boolean(at(row,
			    "freezes")));
		} else if (num(row, "id") == e6) {
			assert_true(json_object_get_boolean(at(row,
			    "freeze_breached")));
			assert_false(json_object_get_boolean(at(row,
			    "complete_breached")));
		}
	}
	json_object_put(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verdicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_effective_date, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_bound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exposed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exposed_bound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sla_containment, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
