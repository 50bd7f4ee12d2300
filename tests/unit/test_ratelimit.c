/*
 * test_ratelimit: the token bucket on an explicit clock: burst, refill,
 * waits, cap at burst, block windows, rate changes and unlimited mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "deprov/ratelimit.h"

static void
test_burst_then_wait(void **state)
{
	struct ratelimit	rl;
	int			i;

	ratelimit_init(&rl, 10, 3, 1000);
	for (i = 0; i < 3; i++)
		assert_int_equal(ratelimit_take(&rl, 1000), 0);
	/* Empty: the next token is 100 ms away at 10/s. */
	assert_int_equal(ratelimit_take(&rl, 1000), 100);
	assert_int_equal(ratelimit_take(&rl, 1040), 60);
	assert_int_equal(ratelimit_take(&rl, 1100), 0);
	assert_int_equal(ratelimit_take(&rl, 1100), 100);
}

static void
test_refill_caps_at_burst(void **state)
{
	struct ratelimit	rl;
	int			i;

	ratelimit_init(&rl, 5, 2, 0);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
	/* An hour idle gives back only the burst. */
	for (i = 0; i < 2; i++)
		assert_int_equal(ratelimit_take(&rl, 3600000), 0);
	assert_true(ratelimit_take(&rl, 3600000) > 0);
}

/* N takes at rate R need about N/R seconds of clock. */
static void
test_steady_rate(void **state)
{
	struct ratelimit	rl;
	uint64_t		now = 0, w;
	int			taken = 0;

	ratelimit_init(&rl, 20, 1, 0);
	while (taken < 101) {
		w = ratelimit_take(&rl, now);
		if (w == 0)
			taken++;
		else
			now += w;
	}
	/* First token free, then 100 at 20/s = 5 s. */
	assert_true(now >= 5000 && now <= 5100);
}

static void
test_fractional_rate(void **state)
{
	struct ratelimit rl;

	ratelimit_init(&rl, 0.5, 1, 0);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
	assert_int_equal(ratelimit_take(&rl, 0), 2000);
	assert_int_equal(ratelimit_take(&rl, 1999), 1);
	assert_int_equal(ratelimit_take(&rl, 2000), 0);
}

static void
test_block(void **state)
{
	struct ratelimit rl;

	ratelimit_init(&rl, 10, 10, 0);
	ratelimit_block(&rl, 0, 1500);
	assert_int_equal(ratelimit_take(&rl, 0), 1500);
	assert_int_equal(ratelimit_take(&rl, 1000), 500);
	/* A shorter block does not shorten the window. */
	ratelimit_block(&rl, 1000, 100);
	assert_int_equal(ratelimit_take(&rl, 1200), 300);
	/* After the window: one token, then the rate (no full burst). */
	assert_int_equal(ratelimit_take(&rl, 1500), 0);
	assert_int_equal(ratelimit_take(&rl, 1500), 100);
	assert_int_equal(ratelimit_take(&rl, 1600), 0);
	/* A longer block extends it. */
	ratelimit_block(&rl, 1600, 5000);
	assert_int_equal(ratelimit_take(&rl, 2600), 4000);
	/* Huge blocks do not wrap around. */
	ratelimit_block(&rl, 10000, UINT64_MAX);
	assert_true(ratelimit_take(&rl, 10001) > 1000000);
}

static void
test_unlimited(void **state)
{
	struct ratelimit	rl;
	int			i;

	ratelimit_init(&rl, 0, 1, 0);
	for (i = 0; i < 100000; i++)
		assert_int_equal(ratelimit_take(&rl, 5), 0);
	ratelimit_init(&rl, -3, 0, 0);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
	/* Unlimited still honours a block. */
	ratelimit_block(&rl, 10, 1000);
	assert_int_equal(ratelimit_take(&rl, 500), 510);
	assert_int_equal(ratelimit_take(&rl, 1010), 0);
	assert_int_equal(ratelimit_take(&rl, 1010), 0);
}

static void
test_set_rate(void **state)
{
	struct ratelimit rl;

	ratelimit_init(&rl, 10, 4, 0);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
	/* Two tokens left: the content is kept across the change. */
	ratelimit_set_rate(&rl, 1, 0);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
	assert_int_equal(ratelimit_take(&rl, 0), 1000);
	/* Time before the change is earned at the old rate: 100 ms at 1/s. */
	ratelimit_set_rate(&rl, 10, 100);
	assert_int_equal(ratelimit_take(&rl, 100), 90);
	assert_int_equal(ratelimit_take(&rl, 190), 0);
	/* To unlimited and back. */
	ratelimit_set_rate(&rl, 0, 200);
	assert_int_equal(ratelimit_take(&rl, 200), 0);
	assert_int_equal(ratelimit_take(&rl, 200), 0);
	ratelimit_set_rate(&rl, 10, 200);
	assert_int_equal(ratelimit_take(&rl, 200), 0);
}

/* A smaller bucket keeps what fits; a larger one fills at the rate. */
static void
test_set_burst(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 10, 8, 0);
	ratelimit_set_burst(&rl, 2, 0);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
	assert_int_equal(ratelimit_take(&rl, 0), 100);
	ratelimit_set_burst(&rl, 5, 0);
	assert_int_equal(ratelimit_take(&rl, 0), 100);
	/* 500 ms at 10/s: five tokens, the new size. */
	assert_int_equal(ratelimit_take(&rl, 500), 0);
	assert_int_equal(ratelimit_take(&rl, 500), 0);
	assert_int_equal(ratelimit_take(&rl, 500), 0);
	assert_int_equal(ratelimit_take(&rl, 500), 0);
	assert_int_equal(ratelimit_take(&rl, 500), 0);
	assert_int_equal(ratelimit_take(&rl, 500), 100);
	/* Below 1 (or NaN) is 1. */
	ratelimit_set_burst(&rl, 0.2, 500);
	assert_true(rl.burst == 1);
}

static void
test_clock_backwards(void **state)
{
	struct ratelimit rl;

	ratelimit_init(&rl, 10, 1, 1000);
	assert_int_equal(ratelimit_take(&rl, 1000), 0);
	/* A clock going back earns nothing and does not underflow. */
	assert_true(ratelimit_take(&rl, 500) > 0);
	assert_int_equal(ratelimit_take(&rl, 1100), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_wait),
		cmocka_unit_test(test_refill_caps_at_burst),
		cmocka_unit_test(test_steady_rate),
		cmocka_unit_test(test_fractional_rate),
		cmocka_unit_test(test_block),
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_set_rate),
		cmocka_unit_test(test_set_burst),
		cmocka_unit_test(test_clock_backwards),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
