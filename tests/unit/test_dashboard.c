/*
 * Unit tests for dashboard_summary against a real store: counts by state
 * (closed ones only within the window), SLA verdicts (met, breached, pending;
 * cancelled and unfreeze cases not judged), nearest-rank time-to-freeze
 * percentiles and histogram, open cases with breach flags and their bound,
 * recently closed cases.
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

#include "deprov/dashboard.h"
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

static void
test_empty(void **state)
{
	struct fixture	*f = *state;
	char		 err[256];
	json_object	*s = dashboard_summary(f->db, NOW, err, sizeof err);

	assert_non_null(s);
	assert_int_equal(num(s, "open"), 0);
	assert_int_equal(num(s, "counts.completed"), 0);
	assert_int_equal(num(s, "counts.escalated"), 0);
	assert_null(at(s, "sla.overall.compliance"));
	assert_null(at(s, "time_to_freeze.p50_ms"));
	assert_int_equal(num(s, "time_to_freeze.count"), 0);
	assert_int_equal(json_object_array_length(at(s,
	    "time_to_freeze.histogram")), 11);
	assert_int_equal(json_object_array_length(at(s, "open_cases")), 0);
	assert_int_equal(json_object_array_length(at(s, "recent")), 0);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
