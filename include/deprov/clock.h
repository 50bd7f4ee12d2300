/*
 * clock: the one clock of the tree, in milliseconds.
 *
 * clock_wall_ms() is the time of day as Unix epoch milliseconds
 * (CLOCK_REALTIME): for what is recorded, stored, compared with stored
 * times or shown (cases, steps, timelines, the audit trail, SLA deadlines,
 * log lines). clock_mono_ms() never jumps when the wall clock is set
 * (CLOCK_MONOTONIC; its zero is arbitrary): for waits, timeouts, deadlines
 * and rate limits that live in one process. Both are async-signal-safe.
 */
#ifndef DEPROV_CLOCK_H
#define DEPROV_CLOCK_H

#include <stdint.h>

/* Milliseconds since 1970-01-01T00:00:00Z. */
int64_t		 clock_wall_ms(void);
/* Milliseconds on the monotonic clock. */
int64_t		 clock_mono_ms(void);

#endif
