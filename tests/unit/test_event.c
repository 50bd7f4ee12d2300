/* Unit tests for event: CloudEvents decoding and its error reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "deprov/event.h"

static int
decode(const char *s, struct event *ev, char *err, size_t errlen)
{
	return event_decode(s, strlen(s), ev, err, errlen);
}

static void
test_full_leaver(void **state)
{
	struct event	 ev;
	char		 err[256];
	json_object	*a;
	const char	*s = "{\"specversion\":\"1.0\",\"id\":\"2f0c\","
	    "\"source\":\"/hr/workday\",\"type\":\"io.deprov.leaver\","
	    "\"time\":\"2026-11-23T18:00:00Z\",\"subject\":\"E12345\","
	    "\"data\":{\"employee_id\":\"E12345\",\"email\":\"jane@acme.example\","
	    "\"username\":\"jane@acme.example\",\"manager\":{\"employee_id\":"
	    "\"E555\",\"email\":\"boss@acme.example\"},\"effective\":"
	    "\"2026-11-23T19:00:00+01:00\",\"termination_kind\":\"involuntary\","
	    "\"accounts\":{\"salesforce-prod\":\"005xx\"}}}";

	(void)state;
	assert_int_equal(decode(s, &ev, err, sizeof err), 0);
	assert_string_equal(ev.id, "2f0c");
	assert_string_equal(ev.source, "/hr/workday");
	assert_string_equal(ev.type, EVENT_TYPE_LEAVER);
	assert_string_equal(ev.subject_key, "E12345");
	assert_string_equal(ev.subject.email, "jane@acme.example");
	assert_string_equal(ev.subject.manager_email, "boss@acme.example");
	assert_string_equal(ev.subject.manager_employee_id, "E555");
	assert_string_equal(ev.termination_kind, "involuntary");
	assert_int_equal(ev.time, 1795456800);
	assert_int_equal(ev.effective, 1795456800);	/* 19:00+01:00 = 18:00Z */
	assert_true(json_object_object_get_ex(ev.subject.accounts,
	    "salesforce-prod", &a));
	assert_string_equal(json_object_get_string(a), "005xx");
	event_clear(&ev);
}

static void
test_subject_defaults(void **state)
{
	struct event	 ev;
	char		 err[256];

	(void)state;
	/* No CloudEvents subject: the employee id becomes the key. */
	assert_int_equal(decode("{\"specversion\":\"1.0\",\"id\":\"1\","
	    "\"source\":\"s\",\"type\":\"io.deprov.freeze\",\"data\":"
	    "{\"employee_id\":\"E1\",\"reason\":\"INC-1\"}}", &ev, err,
	    sizeof err), 0);
	assert_string_equal(ev.subject_key, "E1");
	assert_string_equal(ev.reason, "INC-1");
	assert_int_equal(ev.effective, 0);
	event_clear(&ev);
	/* Only an email: it is the key. */
	assert_int_equal(decode("{\"specversion\":\"1.0\",\"id\":\"1\","
	    "\"source\":\"s\",\"type\":\"io.deprov.leaver\",\"data\":"
	    "{\"email\":\"a@b.example\"}}", &ev, err, sizeof err), 0);
	assert_string_equal(ev.subject_key, "a@b.example");
	event_clear(&ev);
}

static void
expect_reason(const char *s, const char *reason)
{
	struct event	ev;
	char		err[256] = "";

	assert_int_equal(decode(s, &ev, err, sizeof err), -1);
	if (strstr(err, reason) == NULL)
		fail_msg("reason \"%s\" does not contain \"%s\"", err, reason);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_reason("not json", "not JSON");
	expect_reason("{\"specversion\":\"1.0\"", "not JSON");
	expect_reason("{} trailing", "not JSON: trailing data");
	expect_reason("[1,2]", "not a JSON object");
	expect_reason("{\"id\":\"1\"}", "missing specversion");
	expect_reason("{\"specversion\":\"0.3\",\"id\":\"1\"}",
	    "unsupported specversion");
	expect_reason("{\"specversion\":\"1.0\",\"source\":\"s\","
	    "\"type\":\"io.deprov.leaver\"}", "missing id");
	expect_reason("{\"specversion\":\"1.0\",\"id\":\"1\","
	    "\"type\":\"io.deprov.leaver\"}", "missing source");
	expect_reason("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\"}",
	    "missing type");
	expect_reason("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\","
	    "\"type\":\"com.example.other\",\"data\":{}}", "unknown event type");
	expect_reason("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\","
	    "\"type\":\"io.deprov.leaver\"}", "missing data");
	expect_reason("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\","
	    "\"type\":\"io.deprov.leaver\",\"data\":{}}", "no subject");
	expect_reason("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\","
	    "\"type\":\"io.deprov.leaver\",\"data\":{\"email\":7}}",
	    "must be strings");
	expect_reason("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\","
	    "\"type\":\"io.deprov.leaver\",\"data\":{\"email\":\"a@b\","
	    "\"effective\":\"next tuesday\"}}", "not RFC 3339");
	expect_reason("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\","
	    "\"type\":\"io.deprov.leaver\",\"time\":\"yesterday\",\"data\":"
	    "{\"email\":\"a@b\"}}", "time is not RFC 3339");
	expect_reason("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\","
	    "\"type\":\"io.deprov.leaver\",\"data\":{\"email\":\"a@b\","
	    "\"accounts\":{\"x\":1}}}", "accounts values");
	expect_reason("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\","
	    "\"type\":\"io.deprov.leaver\",\"data\":{\"email\":\"a@b\","
	    "\"manager\":\"boss\"}}", "manager must be an object");
}

static void
test_times(void **state)
{
	(void)state;
	assert_int_equal(event_parse_time("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(event_parse_time("1970-01-01T00:00:01.500Z"), 1);
	assert_int_equal(event_parse_time("1970-01-01T01:00:00+01:00"), 0);
	assert_int_equal(event_parse_time("1970-01-02"), 86400);
	assert_int_equal(event_parse_time("1970-01-01T00:00:00"), -1);
	assert_int_equal(event_parse_time("garbage"), -1);
}

static void
test_subject_roundtrip(void **state)
{
	struct subject	 s, t;
	json_object	*o;

	(void)state;
	memset(&s, 0, sizeof s);
	s.employee_id = strdup("E1");
	s.email = strdup("e@x");
	s.manager_email = strdup("m@x");
	s.accounts = json_tokener_parse("{\"sf\":\"005\"}");
	o = subject_to_json(&s);
	assert_int_equal(subject_from_json(o, &t), 0);
	assert_string_equal(t.employee_id, "E1");
	assert_string_equal(t.email, "e@x");
	assert_null(t.username);
	assert_string_equal(t.manager_email, "m@x");
	assert_non_null(t.accounts);
	json_object_put(o);
	subject_clear(&s);
	subject_clear(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_leaver),
		cmocka_unit_test(test_subject_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_subject_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
