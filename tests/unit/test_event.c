/* Unit tests for event: CloudEvents decoding and its error reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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
	expect_reason("not json", "not JSON at byte 1 ('o'): null expected");
	expect_reason("garbage", "not JSON at byte 0 ('g')");
	expect_reason("{\"a\":tru}", "not JSON at byte 8 ('}')");
	expect_reason("{\"specversion\":\"1.0\"", "not JSON: it ends at byte "
	    "20 before the value does");
	expect_reason("{} trailing", "not JSON: more after the value, at byte 3");
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
	    "data.email must be a string");
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

/*
 * event_parse_time on a heap copy of exactly strlen + 1 bytes, so that the
 * sanitizer build reports any read past the terminating NUL.
 */
static time_t
parse_exact(const char *s)
{
	char	*copy = strdup(s);
	time_t	 t;

	assert_non_null(copy);
	t = event_parse_time(copy);
	free(copy);
	return t;
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

/* RFC 3339 section 5.6 at its edges: what is valid and what is not. */
static void
test_times_strict(void **state)
{
	static const char *const bad[] = {
		/* offsets: short, long, signed parts, out of range */
		"1970-01-01T00:00:00+1:2", "1970-01-01T00:00:00+1:234",
		"1970-01-01T00:00:00+-1:-1", "1970-01-01T00:00:00+99:99",
		"1970-01-01T00:00:00+24:00", "1970-01-01T00:00:00+23:60",
		"1970-01-01T00:00:00+", "1970-01-01T00:00:00+01",
		"1970-01-01T00:00:00+01:", "1970-01-01T00:00:00+01:0",
		"1970-01-01T00:00:00+0100", "1970-01-01T00:00:00+01:00x",
		"1970-01-01T00:00:00Zx", "1970-01-01T00:00:00ZZ",
		"1970-01-01T00:00:00 +01:00",
		/* dates: widths and ranges */
		"2026-1-05", "02026-01-05", "2026-01-5", "2026-00-10",
		"2026-13-01", "2026-01-00", "2026-01-32", "2026-04-31",
		"2026-02-29", "1900-02-29", "2026/01/05", "2026-01-05x",
		"+2026-01-05", " 2026-01-05", "2026-01-05 ",
		/* times */
		"2026-01-05T", "2026-01-05T10:00Z", "2026-01-05T24:00:00Z",
		"2026-01-05T23:60:00Z", "2026-01-05T23:59:61Z",
		"2026-01-05T1:00:00Z", "2026-01-05T10:00:00.Z",
		"2026-01-05T10:00:00,5Z", "2026-01-05X10:00:00Z",
		"2026-01-05T10:00:00", "2026-01-05T-1:00:00Z",
		"", "2", "2026", "2026-", "2026-01", "2026-01-",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (parse_exact(bad[i]) != (time_t)-1)
			fail_msg("\"%s\" was accepted", bad[i]);
	assert_int_equal(event_parse_time(NULL), -1);
	/* 't', 'z' and a space instead of 'T' (RFC 3339 5.6, note). */
	assert_int_equal(parse_exact("1970-01-01t00:00:00z"), 0);
	assert_int_equal(parse_exact("1970-01-01 00:00:00Z"), 0);
	assert_int_equal(parse_exact("1970-01-01T00:30:00+00:30"), 0);
	assert_int_equal(parse_exact("1970-01-01T00:00:00-00:30"), 1800);
	assert_int_equal(parse_exact("1970-01-02T00:00:00+23:59"), 60);
	assert_int_equal(parse_exact("1970-01-01T00:00:00.123456789Z"), 0);
	assert_int_equal(parse_exact("1970-01-01T23:59:59Z"), 86399);
	/* A leap second carries into the next minute. */
	assert_int_equal(parse_exact("1970-01-01T00:00:60Z"), 60);
	assert_int_equal(parse_exact("2024-02-29"), 1709164800);
	assert_int_equal(parse_exact("2000-02-29T00:00:00Z"), 951782400);
	assert_int_equal(parse_exact("2026-12-31T23:59:59Z"), 1798761599);
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

#define EV_HEAD	"{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/hr\"," \
	"\"type\":\"io.deprov.leaver\","

/*
 * A NUL inside a string used to cut it short: subject "E0010\u0000X"
 * opened a case for E0010, email "a\u0000b@x" became "a". Such text is
 * refused, keys included, and so are identifiers that are not UTF-8.
 */
static void
test_nul_and_utf8(void **state)
{
	struct event	ev;
	char		err[256];

	(void)state;
	expect_reason(EV_HEAD "\"subject\":\"E0010\\u0000X\",\"data\":{}}",
	    "NUL character");
	expect_reason(EV_HEAD "\"data\":{\"email\":\"a\\u0000b@x\"}}",
	    "NUL character");
	expect_reason(EV_HEAD "\"data\":{\"employee_id\":\"E1\",\"reason\":"
	    "\"INC-1\\u0000 and more\"}}", "NUL character");
	expect_reason(EV_HEAD "\"data\":{\"employee_id\\u0000x\":\"E1\"}}",
	    "NUL character");
	expect_reason(EV_HEAD "\"data\":{\"accounts\\u0000\":{}}}",
	    "NUL character");
	expect_reason(EV_HEAD "\"data\":{\"email\":\"a\xff@x\"}}",
	    "data.email is not valid UTF-8");
	expect_reason(EV_HEAD "\"subject\":\"E1\xc0\x80\",\"data\":{}}",
	    "subject is not valid UTF-8");
	expect_reason(EV_HEAD "\"data\":{\"username\":\"\xed\xa0\x80\"}}",
	    "data.username is not valid UTF-8");
	expect_reason(EV_HEAD "\"data\":{\"employee_id\":\"E1\",\"manager\":"
	    "{\"email\":\"b\xe2\x82@x\"}}}",
	    "data.manager.email is not valid UTF-8");
	expect_reason(EV_HEAD "\"data\":{\"employee_id\":\"E1\",\"accounts\":"
	    "{\"sf\":\"005\xf8\"}}}", "data.accounts value is not valid UTF-8");
	/* Non-identifiers need no UTF-8 check; identifiers in UTF-8 pass. */
	assert_int_equal(decode(EV_HEAD "\"data\":{\"email\":\"j\xc3\xbcrgen@"
	    "x\",\"reason\":\"caf\xe9\"}}", &ev, err, sizeof err), 0);
	assert_string_equal(ev.subject.email, "j\xc3\xbcrgen@x");
	event_clear(&ev);
	/* Raw NUL bytes, not only escapes. */
	assert_int_equal(event_decode(EV_HEAD "\"data\":{\"email\":\"a\0b\"}}",
	    sizeof EV_HEAD "\"data\":{\"email\":\"a\0b\"}}" - 1, &ev, err,
	    sizeof err), -1);
	assert_non_null(strstr(err, "NUL"));
}

/* A subject from an API body: the same rules, the member named in full. */
static void
test_subject_from_input(void **state)
{
	struct subject	 s;
	json_object	*o;
	char		 err[256];

	(void)state;
	o = json_tokener_parse("{\"email\":\"a\\u0000b@x\"}");
	assert_int_equal(subject_from_input(o, "subject.", &s, err,
	    sizeof err), -1);
	assert_string_equal(err, "subject.email contains a NUL character "
	    "(\\u0000)");
	json_object_put(o);
	o = json_tokener_parse("{\"employee_id\":\"E\xff\"}");
	assert_int_equal(subject_from_input(o, "subject.", &s, err,
	    sizeof err), -1);
	assert_string_equal(err, "subject.employee_id is not valid UTF-8");
	/* What is already stored is read back as it is. */
	assert_int_equal(subject_from_json(o, &s), 0);
	subject_clear(&s);
	json_object_put(o);
	o = json_tokener_parse("{\"employee_id\":\"E1\",\"accounts\":"
	    "{\"sf\":\"005\"}}");
	assert_int_equal(subject_from_input(o, "subject.", &s, err,
	    sizeof err), 0);
	assert_string_equal(s.employee_id, "E1");
	subject_clear(&s);
	json_object_put(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_leaver),
		cmocka_unit_test(test_subject_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_times_strict),
		cmocka_unit_test(test_subject_roundtrip),
		cmocka_unit_test(test_nul_and_utf8),
		cmocka_unit_test(test_subject_from_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
