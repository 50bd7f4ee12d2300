/*
 * ratelimit: a token bucket over an explicit millisecond clock. Tokens
 * refill continuously at `rate` per second up to `burst`. A block window
 * (a server's Retry-After or a limit reset) hands out nothing until it ends;
 * the bucket is cut to at most one token when blocked and does not refill
 * during the window, so traffic resumes gently instead of with a full burst.
 * A rate <= 0 means unlimited, except for the block window.
 */
#include <math.h>
#include <stdint.h>

#include "deprov/ratelimit.h"

/* Add the tokens earned since the last refill (never during a block). */
static void
ratelimit_refill(struct ratelimit *rl, uint64_t now_ms)
{
	uint64_t start;

	if (rl->rate <= 0) {
		rl->tokens = rl->burst;
		if (now_ms > rl->last_ms)
			rl->last_ms = now_ms;
		return;
	}
	start = rl->last_ms > rl->blocked_until_ms ? rl->last_ms :
	    rl->blocked_until_ms;
	if (now_ms <= start)
		return;
	rl->tokens += (double)(now_ms - start) * rl->rate / 1000.0;
	if (rl->tokens > rl->burst)
		rl->tokens = rl->burst;
	rl->last_ms = now_ms;
}

void
ratelimit_init(struct ratelimit *rl, double rate, double burst, uint64_t now_ms)
{
	if (!(burst >= 1))	/* also catches NaN */
		burst = 1;
	rl->rate = rate > 0 ? rate : 0;
	rl->burst = burst;
	rl->tokens = burst;
	rl->last_ms = now_ms;
	rl->blocked_until_ms = 0;
}

uint64_t
ratelimit_take(struct ratelimit *rl, uint64_t now_ms)
{
	double wait;

	if (now_ms < rl->blocked_until_ms)
		return rl->blocked_until_ms - now_ms;
	ratelimit_refill(rl, now_ms);
	if (rl->rate <= 0)
		return 0;
	/* The epsilon absorbs rounding in the refill arithmetic. */
	if (rl->tokens >= 1 - 1e-9) {
		rl->tokens -= 1;
		if (rl->tokens < 0)
			rl->tokens = 0;
		return 0;
	}
	wait = ceil((1 - rl->tokens) * 1000.0 / rl->rate);
	if (wait < 1)
		wait = 1;
	if (wait > (double)UINT32_MAX)
		wait = (double)UINT32_MAX;
	return (uint64_t)wait;
}

void
ratelimit_block(struct ratelimit *rl, uint64_t now_ms, uint64_t ms)
{
	uint64_t until;

	ratelimit_refill(rl, now_ms);
	if (rl->tokens > 1)
		rl->tokens = 1;
	until = now_ms + ms < now_ms ? UINT64_MAX : now_ms + ms;
	if (until > rl->blocked_until_ms)
		rl->blocked_until_ms = until;
}

void
ratelimit_set_rate(struct ratelimit *rl, double rate, uint64_t now_ms)
{
	ratelimit_refill(rl, now_ms);
	rl->rate = rate > 0 ? rate : 0;
	if (rl->last_ms < now_ms)
		rl->last_ms = now_ms;
}

void
ratelimit_set_burst(struct ratelimit *rl, double burst, uint64_t now_ms)
{
	ratelimit_refill(rl, now_ms);
	rl->burst = burst >= 1 ? burst : 1;	/* also catches NaN */
	if (rl->tokens > rl->burst)
		rl->tokens = rl->burst;
}
