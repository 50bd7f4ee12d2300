/*
 * ratelimit: a token bucket, as pure functions over an explicit clock so it
 * can be unit tested. Time is in milliseconds (monotonic).
 */
#ifndef DEPROV_RATELIMIT_H
#define DEPROV_RATELIMIT_H

#include <stdint.h>

struct ratelimit {
	double		rate;		/* tokens per second; <= 0 = unlimited */
	double		burst;		/* bucket capacity (>= 1) */
	double		tokens;
	uint64_t	last_ms;
	uint64_t	blocked_until_ms;	/* nothing before this (Retry-After, limit reset) */
};

void	 ratelimit_init(struct ratelimit *, double rate, double burst, uint64_t now_ms);
/*
 * Take one token: returns 0 when taken, else the milliseconds to wait before
 * a token will be available (nothing taken).
 */
uint64_t ratelimit_take(struct ratelimit *, uint64_t now_ms);
/* Stop handing out tokens until now_ms + ms (server said slow down). */
void	 ratelimit_block(struct ratelimit *, uint64_t now_ms, uint64_t ms);
/* Change rate (adaptive slow-down); keeps the bucket's content. */
void	 ratelimit_set_rate(struct ratelimit *, double rate, uint64_t now_ms);
/* A new bucket size; the tokens in it are kept, up to the new size. */
void	 ratelimit_set_burst(struct ratelimit *, double burst, uint64_t now_ms);

#endif
