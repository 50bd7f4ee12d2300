/*
 * Unit tests for laneheap: order by (order, seq), removal from anywhere,
 * and room reserved ahead so that a push never allocates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "deprov/laneheap.h"

struct work {
	int			id;
	struct laneheap_item	li;
};

static int
pop_id(struct laneheap *h)
{
	struct laneheap_item *it = laneheap_first(h);

	if (it == NULL)
		return -1;
	laneheap_remove(h, it);
	return laneheap_entry(it, struct work, li)->id;
}

static void
test_order(void **state)
{
	struct laneheap	h = { 0 };
	struct work	w[6];
	/* order key, then arrival: ids come out 2, 4, 0, 3, 5, 1 */
	uint64_t	order[6] = { 5, 9, 1, 5, 1, 7 };
	int		i;

	(void)state;
	assert_int_equal(laneheap_reserve(&h, 6), 0);
	for (i = 0; i < 6; i++) {
		w[i].id = i;
		w[i].li.order = order[i];
		w[i].li.seq = (uint64_t)i;
		laneheap_push(&h, &w[i].li);
	}
	assert_int_equal(pop_id(&h), 2);
	assert_int_equal(pop_id(&h), 4);
	assert_int_equal(pop_id(&h), 0);
	assert_int_equal(pop_id(&h), 3);
	assert_int_equal(pop_id(&h), 5);
	assert_int_equal(pop_id(&h), 1);
	assert_int_equal(pop_id(&h), -1);
	laneheap_free(&h);
}

/* Removing any element keeps the rest in order (a cancelled case's steps). */
static void
test_remove_anywhere(void **state)
{
	struct laneheap	 h = { 0 };
	struct work	*w;
	int		 i, last, n = 1000, id;

	(void)state;
	w = calloc((size_t)n, sizeof *w);
	assert_non_null(w);
	assert_int_equal(laneheap_reserve(&h, (size_t)n), 0);
	for (i = 0; i < n; i++) {
		w[i].id = i;
		w[i].li.order = (uint64_t)((i * 7919) % 101);
		w[i].li.seq = (uint64_t)i;
		laneheap_push(&h, &w[i].li);
	}
	for (i = 0; i < n; i += 3)
		laneheap_remove(&h, &w[i].li);
	assert_int_equal(h.n, (size_t)(n - (n + 2) / 3));
	last = -1;
	while ((id = pop_id(&h)) >= 0) {
		assert_true(id % 3 != 0);
		if (last >= 0)
			assert_true(w[last].li.order < w[id].li.order ||
			    (w[last].li.order == w[id].li.order &&
			    w[last].li.seq < w[id].li.seq));
		last = id;
	}
	laneheap_free(&h);
	free(w);
}

/* Room grows with reservations, and released room is reused. */
static void
test_reserve_release(void **state)
{
	struct laneheap	h = { 0 };

	(void)state;
	assert_int_equal(laneheap_reserve(&h, 10), 0);
	assert_true(h.cap >= 10);
	assert_int_equal(laneheap_reserve(&h, 100), 0);
	assert_true(h.cap >= 110);
	laneheap_release(&h, 105);
	assert_int_equal(h.reserved, 5);
	laneheap_release(&h, 50);		/* never below zero */
	assert_int_equal(h.reserved, 0);
	laneheap_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_remove_anywhere),
		cmocka_unit_test(test_reserve_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
