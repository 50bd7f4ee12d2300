/*
 * clock: wall and monotonic time in milliseconds, read with clock_gettime
 * (async-signal-safe, so the crash handlers may use it too).
 */
#include <stdint.h>
#include <time.h>

#include "deprov/clock.h"

/* ts as milliseconds. */
static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t
clock_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}
