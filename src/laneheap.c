/*
 * laneheap: a binary min-heap of intrusive items on (order, seq); see
 * include/deprov/laneheap.h for why room is reserved ahead.
 */
#include <stdlib.h>

#include "deprov/laneheap.h"

/* a goes before b. */
static int
laneheap_before(const struct laneheap_item *a, const struct laneheap_item *b)
{
	if (a->order != b->order)
		return a->order < b->order;
	return a->seq < b->seq;
}

static void
laneheap_set(struct laneheap *h, size_t i, struct laneheap_item *it)
{
	h->v[i] = it;
	it->idx = i;
}

/* Move the item at i towards the root while it goes before its parent. */
static void
laneheap_up(struct laneheap *h, size_t i)
{
	struct laneheap_item	*it = h->v[i];
	size_t			 up;

	for (; i > 0; i = up) {
		up = (i - 1) / 2;
		if (!laneheap_before(it, h->v[up]))
			break;
		laneheap_set(h, i, h->v[up]);
	}
	laneheap_set(h, i, it);
}

/* Move the item at i towards the leaves while a child goes before it. */
static void
laneheap_down(struct laneheap *h, size_t i)
{
	struct laneheap_item	*it = h->v[i];
	size_t			 kid;

	for (; (kid = 2 * i + 1) < h->n; i = kid) {
		if (kid + 1 < h->n && laneheap_before(h->v[kid + 1], h->v[kid]))
			kid++;
		if (!laneheap_before(h->v[kid], it))
			break;
		laneheap_set(h, i, h->v[kid]);
	}
	laneheap_set(h, i, it);
}

int
laneheap_reserve(struct laneheap *h, size_t n)
{
	struct laneheap_item	**v;
	size_t			  cap;

	if (h->reserved + n <= h->cap) {
		h->reserved += n;
		return 0;
	}
	cap = h->cap < 64 ? 64 : h->cap;
	while (cap < h->reserved + n)
		cap *= 2;
	if ((v = reallocarray(h->v, cap, sizeof *v)) == NULL)
		return -1;
	h->v = v;
	h->cap = cap;
	h->reserved += n;
	return 0;
}

void
laneheap_release(struct laneheap *h, size_t n)
{
	h->reserved = n > h->reserved ? 0 : h->reserved - n;
}

void
laneheap_push(struct laneheap *h, struct laneheap_item *it)
{
	/* h->n < h->reserved <= h->cap: the room was reserved. */
	h->v[h->n] = it;
	laneheap_up(h, h->n++);
}

struct laneheap_item *
laneheap_first(const struct laneheap *h)
{
	return h->n > 0 ? h->v[0] : NULL;
}

void
laneheap_remove(struct laneheap *h, struct laneheap_item *it)
{
	size_t i = it->idx;

	if (--h->n == i)
		return;			/* it was the last */
	laneheap_set(h, i, h->v[h->n]);
	if (i > 0 && laneheap_before(h->v[i], h->v[(i - 1) / 2]))
		laneheap_up(h, i);
	else
		laneheap_down(h, i);
}

void
laneheap_free(struct laneheap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = h->reserved = 0;
}
