/*
 * test_metrics: the Prometheus registry's text exposition (format 0.0.4):
 * counters, gauges and histograms with exact expected text, label value and
 * help escaping, cumulative histogram buckets, sorted and stable output,
 * value formatting and refused definitions; deprovd's metrics counting
 * terminal cases from the store at start; and the sla module's webhook
 * payloads (generic and Slack).
 */
#include <limits.h>
#include <math.h>
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

#include "deprov/metrics.h"
#include "deprov/sla.h"
#include "deprov/store.h"

static char *
render(struct metrics_registry *reg)
{
	size_t	 len = 0;
	char	*s = metrics_registry_render(reg, &len);

	assert_non_null(s);
	assert_int_equal(strlen(s), len);
	return s;
}

static void
expect_text(struct metrics_registry *reg, const char *want)
{
	char *got = render(reg);

	if (strcmp(got, want) != 0)
		fail_msg("exposition differs\n--- got ---\n%s--- want ---\n%s",
		    got, want);
	free(got);
}

static void
test_counter_and_gauge(void **state)
{
	static const char *const l_tgt[] = { "target", "class", NULL };
	struct metrics_registry	*reg = metrics_registry_new();
	struct metrics_family	*c, *g, *lc;
	const char		*v1[] = { "sf", "2xx" }, *v2[] = { "sf", "5xx" };
	int			 found;

	assert_non_null(reg);
	c = metrics_family_new(reg, METRICS_COUNTER, "deprov_x_total",
	    "Things counted.", NULL, NULL, 0);
	g = metrics_family_new(reg, METRICS_GAUGE, "deprov_level", "A level.",
	    NULL, NULL, 0);
	lc = metrics_family_new(reg, METRICS_COUNTER, "deprov_http_total",
	    "Requests.", l_tgt, NULL, 0);
	assert_non_null(c);
	assert_non_null(g);
	assert_non_null(lc);

	/* A family without series still has its HELP and TYPE. */
	expect_text(reg,
	    "# HELP deprov_http_total Requests.\n"
	    "# TYPE deprov_http_total counter\n"
	    "# HELP deprov_level A level.\n"
	    "# TYPE deprov_level gauge\n"
	    "# HELP deprov_x_total Things counted.\n"
	    "# TYPE deprov_x_total counter\n");

	assert_int_equal(metrics_counter_add(c, NULL, 1), 0);
	assert_int_equal(metrics_counter_add(c, NULL, 2), 0);
	assert_int_equal(metrics_gauge_set(g, NULL, 7), 0);
	assert_int_equal(metrics_gauge_add(g, NULL, -10), 0);
	assert_int_equal(metrics_counter_add(lc, v2, 1), 0);
	assert_int_equal(metrics_counter_add(lc, v1, 5), 0);
	assert_int_equal(metrics_counter_set(lc, v1, 6), 0);
	expect_text(reg,
	    "# HELP deprov_http_total Requests.\n"
	    "# TYPE deprov_http_total counter\n"
	    "deprov_http_total{target=\"sf\",class=\"2xx\"} 6\n"
	    "deprov_http_total{target=\"sf\",class=\"5xx\"} 1\n"
	    "# HELP deprov_level A level.\n"
	    "# TYPE deprov_level gauge\n"
	    "deprov_level -3\n"
	    "# HELP deprov_x_total Things counted.\n"
	    "# TYPE deprov_x_total counter\n"
	    "deprov_x_total 3\n");

	assert_true(metrics_family_value(c, NULL, &found) == 3);
	assert_int_equal(found, 1);
	assert_true(metrics_family_value(lc, v2, &found) == 1);
	assert_int_equal(found, 1);

	/* Wrong operations for the type, negative increments, NULL values. */
	assert_int_equal(metrics_counter_add(c, NULL, -1), -1);
	assert_int_equal(metrics_counter_add(c, NULL, NAN), -1);
	assert_int_equal(metrics_gauge_set(c, NULL, 1), -1);
	assert_int_equal(metrics_counter_add(g, NULL, 1), -1);
	assert_int_equal(metrics_histogram_observe(g, NULL, 1), -1);
	assert_int_equal(metrics_counter_add(lc, NULL, 1), -1);

	metrics_family_reset(lc);
	metrics_family_value(lc, v1, &found);
	assert_int_equal(found, 0);
	metrics_registry_free(reg);
}

static void
test_escaping(void **state)
{
	static const char *const l[] = { "path", NULL };
	struct metrics_registry	*reg = metrics_registry_new();
	struct metrics_family	*f;
	const char		*v[] = { "C:\\dir \"quoted\"\nnext" };

	f = metrics_family_new(reg, METRICS_GAUGE, "deprov_esc",
	    "Help with a \\ backslash,\na newline and \"quotes\".", l, NULL, 0);
	assert_non_null(f);
	assert_int_equal(metrics_gauge_set(f, v, 1), 0);
	/* HELP escapes \ and newline; label values also the double quote. */
	expect_text(reg,
	    "# HELP deprov_esc Help with a \\\\ backslash,\\na newline and "
	    "\"quotes\".\n"
	    "# TYPE deprov_esc gauge\n"
	    "deprov_esc{path=\"C:\\\\dir \\\"quoted\\\"\\nnext\"} 1\n");
	metrics_registry_free(reg);
}

static void
test_histogram(void **state)
{
	static const char *const l[] = { "runbook", NULL };
	static const double b[] = { 0.5, 1, 2.5 };
	struct metrics_registry	*reg = metrics_registry_new();
	struct metrics_family	*h;
	const char		*rb[] = { "std" }, *other[] = { "alpha" };
	int			 found;

	h = metrics_family_new(reg, METRICS_HISTOGRAM, "deprov_ttf_seconds",
	    "Time to freeze.", l, b, 3);
	assert_non_null(h);
	/* On a bound counts in that bucket (le = less or equal). */
	assert_int_equal(metrics_histogram_observe(h, rb, 0.25), 0);
	assert_int_equal(metrics_histogram_observe(h, rb, 0.5), 0);
	assert_int_equal(metrics_histogram_observe(h, rb, 2), 0);
	assert_int_equal(metrics_histogram_observe(h, rb, 100), 0);
	assert_int_equal(metrics_histogram_observe(h, other, 1), 0);
	assert_int_equal(metrics_histogram_observe(h, rb, NAN), -1);
	expect_text(reg,
	    "# HELP deprov_ttf_seconds Time to freeze.\n"
	    "# TYPE deprov_ttf_seconds histogram\n"
	    "deprov_ttf_seconds_bucket{runbook=\"alpha\",le=\"0.5\"} 0\n"
	    "deprov_ttf_seconds_bucket{runbook=\"alpha\",le=\"1\"} 1\n"
	    "deprov_ttf_seconds_bucket{runbook=\"alpha\",le=\"2.5\"} 1\n"
	    "deprov_ttf_seconds_bucket{runbook=\"alpha\",le=\"+Inf\"} 1\n"
	    "deprov_ttf_seconds_sum{runbook=\"alpha\"} 1\n"
	    "deprov_ttf_seconds_count{runbook=\"alpha\"} 1\n"
	    "deprov_ttf_seconds_bucket{runbook=\"std\",le=\"0.5\"} 2\n"
	    "deprov_ttf_seconds_bucket{runbook=\"std\",le=\"1\"} 2\n"
	    "deprov_ttf_seconds_bucket{runbook=\"std\",le=\"2.5\"} 3\n"
	    "deprov_ttf_seconds_bucket{runbook=\"std\",le=\"+Inf\"} 4\n"
	    "deprov_ttf_seconds_sum{runbook=\"std\"} 102.75\n"
	    "deprov_ttf_seconds_count{runbook=\"std\"} 4\n");
	assert_true(metrics_family_value(h, rb, &found) == 4);
	metrics_registry_free(reg);

	/* Without labels: le is the only label. */
	reg = metrics_registry_new();
	h = metrics_family_new(reg, METRICS_HISTOGRAM, "d_seconds", "D.", NULL,
	    b, 1);
	assert_non_null(h);
	assert_int_equal(metrics_histogram_observe(h, NULL, 0.1), 0);
	expect_text(reg,
	    "# HELP d_seconds D.\n"
	    "# TYPE d_seconds histogram\n"
	    "d_seconds_bucket{le=\"0.5\"} 1\n"
	    "d_seconds_bucket{le=\"+Inf\"} 1\n"
	    "d_seconds_sum 0.1\n"
	    "d_seconds_count 1\n");
	metrics_registry_free(reg);
}

static void
test_sorted_and_stable(void **state)
{
	static const char *const l[] = { "a", "b", NULL };
	struct metrics_registry	*reg = metrics_registry_new();
	struct metrics_family	*z, *m, *a;
	const char		*s1[] = { "y", "2" }, *s2[] = { "x", "9" };
	const char		*s3[] = { "y", "10" }, *s4[] = { "x", "10" };
	char			*one, *two;

	z = metrics_family_new(reg, METRICS_GAUGE, "zeta", "Z.", l, NULL, 0);
	m = metrics_family_new(reg, METRICS_GAUGE, "mu", "M.", NULL, NULL, 0);
	a = metrics_family_new(reg, METRICS_COUNTER, "alpha_total", "A.", NULL,
	    NULL, 0);
	assert_non_null(z);
	assert_non_null(m);
	assert_non_null(a);
	metrics_gauge_set(z, s1, 1);
	metrics_gauge_set(z, s2, 2);
	metrics_gauge_set(z, s3, 3);
	metrics_gauge_set(z, s4, 4);
	metrics_gauge_set(m, NULL, 0);
	metrics_counter_add(a, NULL, 0);
	/* Families by name; series by label values, label by label, bytewise. */
	expect_text(reg,
	    "# HELP alpha_total A.\n"
	    "# TYPE alpha_total counter\n"
	    "alpha_total 0\n"
	    "# HELP mu M.\n"
	    "# TYPE mu gauge\n"
	    "mu 0\n"
	    "# HELP zeta Z.\n"
	    "# TYPE zeta gauge\n"
	    "zeta{a=\"x\",b=\"10\"} 4\n"
	    "zeta{a=\"x\",b=\"9\"} 2\n"
	    "zeta{a=\"y\",b=\"10\"} 3\n"
	    "zeta{a=\"y\",b=\"2\"} 1\n");
	one = render(reg);
	two = render(reg);
	assert_string_equal(one, two);
	free(one);
	free(two);
	metrics_registry_free(reg);
}

static void
test_values(void **state)
{
	static const char *const l[] = { "v", NULL };
	struct metrics_registry	*reg = metrics_registry_new();
	struct metrics_family	*g;
	const char		*k[8][1] = { { "a" }, { "b" }, { "c" }, { "d" },
				    { "e" }, { "f" }, { "g" }, { "h" } };

	g = metrics_family_new(reg, METRICS_GAUGE, "val", "V.", l, NULL, 0);
	metrics_gauge_set(g, k[0], 0);
	metrics_gauge_set(g, k[1], -0.0);
	metrics_gauge_set(g, k[2], 0.1);
	metrics_gauge_set(g, k[3], 1e20);
	metrics_gauge_set(g, k[4], INFINITY);
	metrics_gauge_set(g, k[5], -INFINITY);
	metrics_gauge_set(g, k[6], NAN);
	metrics_gauge_set(g, k[7], 1.0 / 3);
	expect_text(reg,
	    "# HELP val V.\n"
	    "# TYPE val gauge\n"
	    "val{v=\"a\"} 0\n"
	    "val{v=\"b\"} 0\n"
	    "val{v=\"c\"} 0.1\n"
	    "val{v=\"d\"} 1e+20\n"
	    "val{v=\"e\"} +Inf\n"
	    "val{v=\"f\"} -Inf\n"
	    "val{v=\"g\"} NaN\n"
	    "val{v=\"h\"} 0.33333333333333331\n");
	metrics_registry_free(reg);
}

static void
test_refused(void **state)
{
	static const char *const le[] = { "le", NULL };
	static const char *const dup[] = { "a", "a", NULL };
	static const char *const bad[] = { "1a", NULL };
	static const char *const reserved[] = { "__name", NULL };
	static const char *const colon[] = { "a:b", NULL };
	static const double b_ok[] = { 1, 2 };
	static const double b_bad[] = { 2, 1 };
	static const double b_inf[] = { 1, INFINITY };
	struct metrics_registry *reg = metrics_registry_new();

	assert_non_null(metrics_family_new(reg, METRICS_GAUGE, "ok:name_1",
	    "x", NULL, NULL, 0));
	assert_null(metrics_family_new(reg, METRICS_GAUGE, "ok:name_1", "x",
	    NULL, NULL, 0));				/* duplicate */
	assert_null(metrics_family_new(reg, METRICS_GAUGE, "1bad", "x", NULL,
	    NULL, 0));
	assert_null(metrics_family_new(reg, METRICS_GAUGE, "bad-name", "x",
	    NULL, NULL, 0));
	assert_null(metrics_family_new(reg, METRICS_GAUGE, "", "x", NULL, NULL,
	    0));
	assert_null(metrics_family_new(reg, METRICS_GAUGE, "g1", NULL, NULL,
	    NULL, 0));
	assert_null(metrics_family_new(reg, METRICS_GAUGE, "g2", "x", dup,
	    NULL, 0));
	assert_null(metrics_family_new(reg, METRICS_GAUGE, "g3", "x", bad,
	    NULL, 0));
	assert_null(metrics_family_new(reg, METRICS_GAUGE, "g4", "x",
	    reserved, NULL, 0));
	assert_null(metrics_family_new(reg, METRICS_GAUGE, "g5", "x", colon,
	    NULL, 0));
	assert_null(metrics_family_new(reg, METRICS_HISTOGRAM, "h1", "x", le,
	    b_ok, 2));
	assert_null(metrics_family_new(reg, METRICS_HISTOGRAM, "h2", "x", NULL,
	    b_bad, 2));
	assert_null(metrics_family_new(reg, METRICS_HISTOGRAM, "h3", "x", NULL,
	    b_inf, 2));
	assert_null(metrics_family_new(reg, METRICS_HISTOGRAM, "h4", "x", NULL,
	    NULL, 0));
	assert_non_null(metrics_family_new(reg, METRICS_GAUGE, "le", "x", le,
	    NULL, 0));		/* "le" is only reserved in histograms */
	metrics_registry_free(reg);
}

/* Insert a case in a state. */
static void
put_case(struct store *st, const char *state)
{
	struct store_case	c;
	long long		id;

	memset(&c, 0, sizeof c);
	c.subject_key = "E1";
	c.subject_json = "{\"employee_id\":\"E1\"}";
	c.runbook = "standard-leaver";
	c.event_type = "io.deprov.leaver";
	c.state = "received";
	c.created_ms = 1000;
	c.updated_ms = 1000;
	c.freeze_deadline_ms = 61000;
	c.complete_deadline_ms = 901000;
	c.retry_json = "{}";
	id = store_case_insert(st, &c);
	assert_true(id > 0);
	assert_int_equal(store_case_state(st, id, state, 2000, NULL), 0);
	/* An ended case has an end time; an escalated one still running not. */
	if (strcmp(state, "freezing") != 0)
		assert_int_equal(store_case_completed(st, id, 2000), 0);
}

/* At start the terminal states are counted from the store, the rest is zero. */
static void
test_cases_from_store(void **state)
{
	char		 dir[] = "/tmp/test_metrics.XXXXXX", path[PATH_MAX], err[256];
	char		 cmd[PATH_MAX + 16], *text;
	struct store	*st;
	struct metrics	*m;
	size_t		 len;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/deprov.db", dir);
	st = store_open(path, err, sizeof err);
	assert_non_null(st);
	put_case(st, "completed");
	put_case(st, "completed");
	put_case(st, "escalated");
	put_case(st, "freezing");	/* open: counted when resumed */
	m = metrics_new(NULL, st, err, sizeof err);
	assert_non_null(m);
	text = metrics_render(m, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "deprov_cases{state=\"completed\"} 2\n"));
	assert_non_null(strstr(text, "deprov_cases{state=\"escalated\"} 1\n"));
	assert_non_null(strstr(text, "deprov_cases{state=\"cancelled\"} 0\n"));
	assert_non_null(strstr(text, "deprov_cases{state=\"freezing\"} 0\n"));
	assert_non_null(strstr(text, "deprov_dead_letters_total 0\n"));
	assert_non_null(strstr(text, "# TYPE deprov_time_to_freeze_seconds "
	    "histogram\n"));
	/* Unknown lag has no sample. */
	assert_null(strstr(text, "\ndeprov_kafka_consumer_lag "));
	metrics_sla_breach(m, "standard-leaver", "freeze");
	free(text);
	text = metrics_render(m, &len);
	assert_non_null(strstr(text, "deprov_sla_breaches_total{runbook="
	    "\"standard-leaver\",kind=\"freeze\"} 1\n"));
	free(text);
	metrics_free(m);
	store_close(st);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* The text of a Slack message's context block (its last). */
static const char *
slack_context(json_object *blocks)
{
	json_object *ctx, *els;

	ctx = json_object_array_get_idx(blocks,
	    json_object_array_length(blocks) - 1);
	assert_string_equal(json_object_get_string(json_object_object_get(ctx,
	    "type")), "context");
	els = json_object_object_get(ctx, "elements");
	assert_int_equal(json_object_array_length(els), 1);
	return json_object_get_string(json_object_object_get(
	    json_object_array_get_idx(els, 0), "text"));
}

static void
test_payloads(void **state)
{
	struct sla_alert	 a;
	json_object		*o, *v, *blocks;
	char			*s;

	memset(&a, 0, sizeof a);
	a.case_id = 42;
	a.subject_key = "E<0042>&";
	a.runbook = "standard-leaver";
	a.kind = "freeze";
	a.state = "freezing";
	a.deadline_ms = 1764080149123LL;	/* 2025-11-25T14:15:49.123Z */
	a.breached_at_ms = 1764080149500LL;

	s = sla_payload("generic", &a);
	assert_non_null(s);
	o = json_tokener_parse(s);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "type", &v));
	assert_string_equal(json_object_get_string(v), "deprov.sla.breach");
	assert_true(json_object_object_get_ex(o, "case_id", &v));
	assert_int_equal(json_object_get_int64(v), 42);
	assert_true(json_object_object_get_ex(o, "subject_key", &v));
	assert_string_equal(json_object_get_string(v), "E<0042>&");
	assert_true(json_object_object_get_ex(o, "runbook", &v));
	assert_string_equal(json_object_get_string(v), "standard-leaver");
	assert_true(json_object_object_get_ex(o, "kind", &v));
	assert_string_equal(json_object_get_string(v), "freeze");
	assert_true(json_object_object_get_ex(o, "deadline", &v));
	assert_string_equal(json_object_get_string(v),
	    "2025-11-25T14:15:49.123Z");
	assert_true(json_object_object_get_ex(o, "breached_at", &v));
	assert_string_equal(json_object_get_string(v),
	    "2025-11-25T14:15:49.500Z");
	assert_true(json_object_object_get_ex(o, "state", &v));
	assert_string_equal(json_object_get_string(v), "freezing");
	/* The fragment the dashboard opens; no link without api.public_url. */
	assert_true(json_object_object_get_ex(o, "dashboard_path", &v));
	assert_string_equal(json_object_get_string(v), "/#case=42");
	assert_true(json_object_object_get_ex(o, "dashboard_url", &v));
	assert_null(v);
	json_object_put(o);
	free(s);

	s = sla_payload("slack", &a);
	assert_non_null(s);
	o = json_tokener_parse(s);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "text", &v));
	/* mrkdwn markup characters are escaped. */
	assert_non_null(strstr(json_object_get_string(v), "E&lt;0042&gt;&amp;"));
	assert_non_null(strstr(json_object_get_string(v), "case 42"));
	assert_true(json_object_object_get_ex(o, "blocks", &blocks));
	assert_int_equal(json_object_array_length(blocks), 3);
	v = json_object_object_get(json_object_array_get_idx(blocks, 0), "type");
	assert_string_equal(json_object_get_string(v), "header");
	v = json_object_object_get(json_object_array_get_idx(blocks, 1),
	    "fields");
	assert_int_equal(json_object_array_length(v), 6);
	assert_string_equal(slack_context(blocks), "Case 42 on the deprov "
	    "dashboard (no link: api.public_url is not set)");
	assert_null(strstr(s, "#case"));
	json_object_put(o);
	free(s);

	/* With api.public_url: absolute links, in both formats. */
	a.dashboard_url = "https://deprov.acme.example/ops/#case=42";
	s = sla_payload("generic", &a);
	assert_non_null(s);
	o = json_tokener_parse(s);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "dashboard_url", &v));
	assert_string_equal(json_object_get_string(v),
	    "https://deprov.acme.example/ops/#case=42");
	json_object_put(o);
	free(s);
	s = sla_payload("slack", &a);
	assert_non_null(s);
	o = json_tokener_parse(s);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "blocks", &blocks));
	assert_string_equal(slack_context(blocks), "<https://deprov.acme."
	    "example/ops/#case=42|Open case 42 on the deprov dashboard>");
	json_object_put(o);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_and_gauge),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_sorted_and_stable),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_cases_from_store),
		cmocka_unit_test(test_payloads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
