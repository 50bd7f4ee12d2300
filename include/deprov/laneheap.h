/*
 * laneheap: the queue of waiting work in one lane, shared by the engine's
 * step lanes and every target's call lanes. A binary min-heap ordered by
 * (order, seq): first an order key (a case id, so that remediation serves
 * the oldest case first; 0 everywhere for first come, first served), then
 * arrival. Intrusive: an element embeds a struct laneheap_item and the heap
 * holds pointers to those, so that any element can be removed in O(log n).
 *
 * Room is reserved before work is accepted (laneheap_reserve, where failing
 * is still an answer the caller can give) and released when it is gone, so
 * that laneheap_push itself never fails and nothing queued is ever lost to
 * an allocation failure.
 */
#ifndef DEPROV_LANEHEAP_H
#define DEPROV_LANEHEAP_H

#include <stddef.h>
#include <stdint.h>

struct laneheap_item {
	uint64_t	 order;		/* lower first */
	uint64_t	 seq;		/* then lower first: set it on every push */
	size_t		 idx;		/* position in the heap (laneheap's) */
};

struct laneheap {
	struct laneheap_item	**v;
	size_t			  n;		/* queued now */
	size_t			  cap;		/* allocated */
	size_t			  reserved;	/* room promised to live work */
};

/* The element of type that embeds item as member. */
#define laneheap_entry(item, type, member) \
	((type *)(void *)((char *)(item) - offsetof(type, member)))

/* Promise room for n more elements; 0, or -1 when memory is short. */
int			 laneheap_reserve(struct laneheap *, size_t n);
/* Give back room for n elements that will never be pushed again. */
void			 laneheap_release(struct laneheap *, size_t n);
/* Queue an element; its room must have been reserved. */
void			 laneheap_push(struct laneheap *, struct laneheap_item *);
/* The element that goes first, or NULL. */
struct laneheap_item	*laneheap_first(const struct laneheap *);
/* Take a queued element out, wherever it is. */
void			 laneheap_remove(struct laneheap *, struct laneheap_item *);
void			 laneheap_free(struct laneheap *);

#endif
