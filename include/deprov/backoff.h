/*
 * backoff: exponential backoff with full jitter, as pure functions.
 */
#ifndef DEPROV_BACKOFF_H
#define DEPROV_BACKOFF_H

#include <stdint.h>

/*
 * Delay before retry number `attempt` (1 = first retry):
 * a uniformly random value in [0, min(max_ms, initial_ms * 2^(attempt-1))].
 * rnd is a uniformly random 32-bit value (injected for tests).
 */
long	backoff_full_jitter(int attempt, long initial_ms, long max_ms, uint32_t rnd);
/* A random 32-bit value from the process's PRNG (seeded from /dev/urandom). */
uint32_t backoff_random(void);

#endif
