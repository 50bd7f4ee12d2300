/*
 * test_target_waits: every wait a target takes from a peer's headers
 * (Retry-After in both forms, X-Rate-Limit-Reset against Date) fed the
 * extremes: INT64_MAX, past it, negative numbers, signs, garbage, dates
 * before 1970 and in year 9999. Each answer is within its documented bound
 * (0..3600000 ms) or -1 (ignored); none overflows (this test also runs
 * under UBSan). Sforce-Limit-Info's usage parser (the Salesforce
 * connector's, which its signals hook gives the target) gets the same
 * treatment.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "deprov/target.h"

#include "salesforce-internal.h"

#define MAX_WAIT_MS	3600000L
/* 2026-01-01T00:00:00Z, and its HTTP-date. */
#define NOW		1767225600LL
#define NOW_DATE	"Thu, 01 Jan 2026 00:00:00 GMT"

static void
test_retry_after_seconds(void **state)
{
	assert_int_equal(target_wait_retry_after_ms("0", NOW), 0);
	assert_int_equal(target_wait_retry_after_ms("1", NOW), 1000);
	assert_int_equal(target_wait_retry_after_ms(" 120 ", NOW), 120000);
	assert_int_equal(target_wait_retry_after_ms("3600", NOW), MAX_WAIT_MS);
	assert_int_equal(target_wait_retry_after_ms("3601", NOW), MAX_WAIT_MS);
	assert_int_equal(target_wait_retry_after_ms("86400", NOW), MAX_WAIT_MS);
	assert_int_equal(target_wait_retry_after_ms("9223372036854775807", NOW),
	    MAX_WAIT_MS);
	assert_int_equal(target_wait_retry_after_ms("9223372036854775808", NOW),
	    MAX_WAIT_MS);
	assert_int_equal(target_wait_retry_after_ms(
	    "99999999999999999999999999999999999999", NOW), MAX_WAIT_MS);
	/* Not delta-seconds, not a date: ignored. */
	assert_int_equal(target_wait_retry_after_ms(NULL, NOW), -1);
	assert_int_equal(target_wait_retry_after_ms("", NOW), -1);
	assert_int_equal(target_wait_retry_after_ms("-1", NOW), -1);
	assert_int_equal(target_wait_retry_after_ms("-9223372036854775808",
	    NOW), -1);
	assert_int_equal(target_wait_retry_after_ms("+5", NOW), -1);
	assert_int_equal(target_wait_retry_after_ms("5x", NOW), -1);
	assert_int_equal(target_wait_retry_after_ms("1.5", NOW), -1);
	assert_int_equal(target_wait_retry_after_ms("soon", NOW), -1);
	assert_int_equal(target_wait_retry_after_ms("0x10", NOW), -1);
}

static void
test_retry_after_date(void **state)
{
	assert_int_equal(target_wait_retry_after_ms(NOW_DATE, NOW), 0);
	assert_int_equal(target_wait_retry_after_ms(
	    "Thu, 01 Jan 2026 00:00:30 GMT", NOW), 30000);
	assert_int_equal(target_wait_retry_after_ms(
	    "Thu, 01 Jan 2026 00:59:59 GMT", NOW), 3599000);
	assert_int_equal(target_wait_retry_after_ms(
	    "Fri, 02 Jan 2026 00:00:00 GMT", NOW), MAX_WAIT_MS);
	assert_int_equal(target_wait_retry_after_ms(
	    "Fri, 31 Dec 9999 23:59:59 GMT", NOW), MAX_WAIT_MS);
	/* In the past, before 1970: no wait, or ignored; never negative. */
	assert_int_equal(target_wait_retry_after_ms(
	    "Wed, 31 Dec 2025 23:00:00 GMT", NOW), 0);
	assert_int_equal(target_wait_retry_after_ms(
	    "Thu, 01 Jan 1970 00:00:00 GMT", NOW), 0);
	assert_int_equal(target_wait_retry_after_ms(
	    "Mon, 01 Jan 1900 00:00:00 GMT", NOW), -1);
	assert_int_equal(target_wait_retry_after_ms(
	    "Mon, 01 Jan 0001 00:00:00 GMT", NOW), -1);
	/* Our clock at the extremes. */
	assert_int_equal(target_wait_retry_after_ms(NOW_DATE, INT64_MIN),
	    MAX_WAIT_MS);
	assert_int_equal(target_wait_retry_after_ms(NOW_DATE, INT64_MAX), 0);
	assert_int_equal(target_wait_retry_after_ms(
	    "Thu, 01 Jan 2026 00:00:00 GMT trailing", NOW), -1);
	assert_int_equal(target_wait_retry_after_ms("Thu, 01 Jan 2026", NOW),
	    -1);
}

/* The review's case: INT64_MAX with a Date before 1970 must not overflow or escape the ceiling. */
static void
test_reset_extremes(void **state)
{
	const char *dates[] = {
		NULL, NOW_DATE, "Thu, 01 Jan 1970 00:00:00 GMT",
		"Wed, 31 Dec 1969 23:59:59 GMT", "Mon, 01 Jan 1900 00:00:00 GMT",
		"Fri, 31 Dec 9999 23:59:59 GMT", "garbage", "",
	};
	const char *resets[] = {
		"9223372036854775807", "9223372036854775808",
		"18446744073709551616", "0", "1", "1767225660",
	};
	int64_t	 nows[] = { NOW, 0, -1, INT64_MIN, INT64_MAX };
	size_t	 i, j, k;
	long	 w;

	for (i = 0; i < sizeof dates / sizeof dates[0]; i++)
		for (j = 0; j < sizeof resets / sizeof resets[0]; j++)
			for (k = 0; k < sizeof nows / sizeof nows[0]; k++) {
				w = target_wait_reset_ms(resets[j], dates[i],
				    nows[k]);
				assert_in_range(w, 0, MAX_WAIT_MS);
			}
	assert_int_equal(target_wait_reset_ms("9223372036854775807",
	    "Wed, 31 Dec 1969 23:59:59 GMT", NOW), MAX_WAIT_MS);
	assert_int_equal(target_wait_reset_ms("9223372036854775807", NULL,
	    INT64_MIN), MAX_WAIT_MS);
}

static void
test_reset_values(void **state)
{
	/* A minute ahead of the server's Date. */
	assert_int_equal(target_wait_reset_ms("1767225660", NOW_DATE, NOW),
	    60000);
	/* Our clock 10 minutes fast: the server's Date still decides. */
	assert_int_equal(target_wait_reset_ms("1767225660", NOW_DATE,
	    NOW + 600), 60000);
	/* No Date, or one that is implausible (pre-1970, far off): our clock. */
	assert_int_equal(target_wait_reset_ms("1767225660", NULL, NOW), 60000);
	assert_int_equal(target_wait_reset_ms("1767225660",
	    "Thu, 01 Jan 1970 00:00:00 GMT", NOW), 60000);
	assert_int_equal(target_wait_reset_ms("1767225660",
	    "Fri, 31 Dec 9999 23:59:59 GMT", NOW), 60000);
	assert_int_equal(target_wait_reset_ms("1767225660", "nonsense", NOW),
	    60000);
	/* Past: 0. Far ahead: the ceiling. */
	assert_int_equal(target_wait_reset_ms("1767225000", NOW_DATE, NOW), 0);
	assert_int_equal(target_wait_reset_ms("0", NOW_DATE, NOW), 0);
	assert_int_equal(target_wait_reset_ms("1767232800", NOW_DATE, NOW),
	    MAX_WAIT_MS);
	/* Not a number: ignored. */
	assert_int_equal(target_wait_reset_ms(NULL, NOW_DATE, NOW), -1);
	assert_int_equal(target_wait_reset_ms("-1", NOW_DATE, NOW), -1);
	assert_int_equal(target_wait_reset_ms("+1767225660", NOW_DATE, NOW),
	    -1);
	assert_int_equal(target_wait_reset_ms("1767225660x", NOW_DATE, NOW),
	    -1);
	assert_int_equal(target_wait_reset_ms("", NOW_DATE, NOW), -1);
}

static void
test_limit_info(void **state)
{
	long u = -7, l = -7;

	assert_int_equal(sf_limit_info_parse("api-usage=25/15000", &u, &l),
	    0);
	assert_int_equal(u, 25);
	assert_int_equal(l, 15000);
	assert_int_equal(sf_limit_info_parse(
	    "per-app-api-usage=1/10(appName=x), api-usage=30/100", &u, &l), 0);
	assert_int_equal(u, 30);
	assert_int_equal(l, 100);
	u = l = -7;
	assert_int_equal(sf_limit_info_parse(
	    "api-usage=9223372036854775808/100", &u, &l), -1);
	assert_int_equal(sf_limit_info_parse(
	    "api-usage=1/99999999999999999999999", &u, &l), -1);
	assert_int_equal(sf_limit_info_parse("api-usage=-1/100", &u, &l),
	    -1);
	assert_int_equal(sf_limit_info_parse("api-usage=1/0", &u, &l), -1);
	assert_int_equal(sf_limit_info_parse("api-usage=1/-5", &u, &l), -1);
	assert_int_equal(sf_limit_info_parse("api-usage=1", &u, &l), -1);
	assert_int_equal(sf_limit_info_parse("api-usage=1/2x", &u, &l), -1);
	assert_int_equal(sf_limit_info_parse("per-app-api-usage=1/10", &u,
	    &l), -1);
	assert_int_equal(sf_limit_info_parse(NULL, &u, &l), -1);
	assert_int_equal(u, -7);
	assert_int_equal(l, -7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_after_seconds),
		cmocka_unit_test(test_retry_after_date),
		cmocka_unit_test(test_reset_extremes),
		cmocka_unit_test(test_reset_values),
		cmocka_unit_test(test_limit_info),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
