/*
 * test_backoff: full-jitter bounds, growth, capping, overflow safety for
 * huge attempt numbers, and a sanity check of the process PRNG.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "deprov/backoff.h"

/* rnd 0 gives 0; rnd UINT32_MAX gives the ceiling itself. */
static void
test_bounds(void **state)
{
	assert_int_equal(backoff_full_jitter(1, 500, 60000, 0), 0);
	assert_int_equal(backoff_full_jitter(1, 500, 60000, UINT32_MAX), 500);
	assert_int_equal(backoff_full_jitter(2, 500, 60000, UINT32_MAX), 1000);
	assert_int_equal(backoff_full_jitter(3, 500, 60000, UINT32_MAX), 2000);
	assert_int_equal(backoff_full_jitter(5, 500, 60000, UINT32_MAX), 8000);
	/* Half way. */
	assert_int_equal(backoff_full_jitter(1, 1000, 60000, 1u << 31), 500);
}

static void
test_cap(void **state)
{
	assert_int_equal(backoff_full_jitter(8, 500, 60000, UINT32_MAX), 60000);
	assert_int_equal(backoff_full_jitter(20, 500, 60000, UINT32_MAX), 60000);
	/* initial above max. */
	assert_int_equal(backoff_full_jitter(1, 90000, 60000, UINT32_MAX), 60000);
}

static void
test_overflow(void **state)
{
	int attempts[] = { 31, 32, 33, 62, 63, 64, 65, 1000, INT_MAX };
	size_t i;

	for (i = 0; i < sizeof attempts / sizeof attempts[0]; i++) {
		assert_int_equal(backoff_full_jitter(attempts[i], 500, 60000,
		    UINT32_MAX), 60000);
		assert_true(backoff_full_jitter(attempts[i], 500, 60000,
		    12345) >= 0);
		assert_int_equal(backoff_full_jitter(attempts[i], LONG_MAX / 2,
		    LONG_MAX, 0), 0);
		assert_true(backoff_full_jitter(attempts[i], LONG_MAX / 2,
		    LONG_MAX, UINT32_MAX) <= LONG_MAX);
		assert_true(backoff_full_jitter(attempts[i], 1, LONG_MAX,
		    UINT32_MAX) > 0);
	}
}

static void
test_degenerate(void **state)
{
	assert_int_equal(backoff_full_jitter(0, 500, 60000, UINT32_MAX), 500);
	assert_int_equal(backoff_full_jitter(-5, 500, 60000, UINT32_MAX), 500);
	assert_int_equal(backoff_full_jitter(3, 0, 60000, UINT32_MAX), 0);
	assert_int_equal(backoff_full_jitter(3, 500, 0, UINT32_MAX), 0);
	assert_int_equal(backoff_full_jitter(3, -1, -1, UINT32_MAX), 0);
}

/* Every value stays in range, and the range is actually covered. */
static void
test_random_spread(void **state)
{
	long	v, lo = LONG_MAX, hi = -1;
	int	i, buckets[10] = { 0 };
	uint32_t r, first = backoff_random();
	int	differ = 0;

	for (i = 0; i < 10000; i++) {
		r = backoff_random();
		if (r != first)
			differ = 1;
		v = backoff_full_jitter(4, 100, 60000, r);
		assert_true(v >= 0 && v <= 800);
		if (v < lo)
			lo = v;
		if (v > hi)
			hi = v;
		buckets[v * 10 / 801]++;
	}
	assert_true(differ);
	assert_true(lo < 40);
	assert_true(hi > 760);
	for (i = 0; i < 10; i++)
		assert_true(buckets[i] > 700 && buckets[i] < 1300);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_degenerate),
		cmocka_unit_test(test_random_spread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
