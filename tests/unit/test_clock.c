/*
 * test_clock: the one clock and the random ids. The wall clock agrees with
 * time(2) and counts milliseconds; the monotonic clock never goes back and
 * moves with a sleep; hex ids have the asked length, only lowercase hex
 * digits, and differ; a buffer too small is refused; UUIDs have the
 * version 4 form (8-4-4-4-12, version nibble 4, variant 8-b) and differ.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "deprov/clock.h"
#include "deprov/randid.h"

static void
test_wall(void **state)
{
	int64_t before = (int64_t)time(NULL) * 1000, now = clock_wall_ms();
	int64_t after = (int64_t)time(NULL) * 1000 + 1000;

	assert_true(now >= before && now <= after);
	/* Later than 2020-01-01, as Unix milliseconds. */
	assert_true(now > INT64_C(1577836800000));
}

static void
test_mono(void **state)
{
	struct timespec	pause = { 0, 30 * 1000 * 1000 };
	int64_t		a, b, c;
	int		i;

	a = clock_mono_ms();
	for (i = 0; i < 1000; i++) {
		b = clock_mono_ms();
		assert_true(b >= a);
		a = b;
	}
	nanosleep(&pause, NULL);
	c = clock_mono_ms();
	assert_true(c - b >= 29);
	assert_true(c - b < 5000);
}

/* Whether s is n lowercase hex digits. */
static int
test_is_hex(const char *s, size_t n)
{
	size_t i;

	if (strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return 1;
}

static void
test_hex(void **state)
{
	char	a[65], b[65], small[8];

	assert_int_equal(randid_hex(a, sizeof a, 12), 0);
	assert_true(test_is_hex(a, 24));
	assert_int_equal(randid_hex(b, sizeof b, 12), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(randid_hex(a, sizeof a, 32), 0);
	assert_true(test_is_hex(a, 64));
	assert_int_equal(randid_hex(a, 33, 16), 0);
	assert_true(test_is_hex(a, 32));
	/* Too small (2 * 4 + 1 = 9 > 8), none, too many. */
	assert_int_equal(randid_hex(small, sizeof small, 4), -1);
	assert_string_equal(small, "");
	assert_int_equal(randid_hex(a, sizeof a, 0), -1);
	assert_int_equal(randid_hex(a, sizeof a, 65), -1);
}

static void
test_uuid(void **state)
{
	char	u[RANDID_UUID_LEN + 1], v[RANDID_UUID_LEN + 1];
	int	i;

	for (i = 0; i < 100; i++) {
		assert_int_equal(randid_uuid(u), 0);
		assert_int_equal(strlen(u), RANDID_UUID_LEN);
		assert_int_equal(u[8], '-');
		assert_int_equal(u[13], '-');
		assert_int_equal(u[18], '-');
		assert_int_equal(u[23], '-');
		assert_int_equal(u[14], '4');
		assert_non_null(strchr("89ab", u[19]));
		assert_true(test_is_hex(u + 24, 12));
		assert_int_equal(randid_uuid(v), 0);
		assert_string_not_equal(u, v);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wall),
		cmocka_unit_test(test_mono),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_uuid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
