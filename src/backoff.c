/*
 * backoff: exponential backoff with full jitter ("AWS full jitter"): the
 * delay before retry n is uniform in [0, min(max, initial * 2^(n-1))]. The
 * computation is overflow-safe for any attempt number. backoff_random is a
 * small, fast PRNG (splitmix64) seeded once per process from /dev/urandom;
 * it is not cryptographic and is only used to spread retries apart. Like
 * the rest of the daemon it is meant to be used from the loop's thread.
 */
#include <fcntl.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "deprov/backoff.h"

static uint64_t	backoff_state;
static int	backoff_seeded;

long
backoff_full_jitter(int attempt, long initial_ms, long max_ms, uint32_t rnd)
{
	uint64_t	ceiling, shift;

	if (initial_ms <= 0 || max_ms <= 0)
		return 0;
	if (attempt < 1)
		attempt = 1;
	shift = (uint64_t)attempt - 1;
	/* ceiling = min(max, initial << shift) without overflowing. */
	if ((uint64_t)initial_ms >= (uint64_t)max_ms || shift >= 63 ||
	    (uint64_t)initial_ms > ((uint64_t)max_ms >> shift))
		ceiling = (uint64_t)max_ms;
	else
		ceiling = (uint64_t)initial_ms << shift;
	if (ceiling > (uint64_t)max_ms)
		ceiling = (uint64_t)max_ms;

	/* Uniform in [0, ceiling]: scale rnd / 2^32 onto ceiling + 1 values. */
	if (ceiling < UINT32_MAX)
		return (long)(((uint64_t)rnd * (ceiling + 1)) >> 32);
	/* Absurdly long delays (> 49 days): 32 bits of jitter spread evenly. */
	return (long)((double)rnd / 4294967296.0 * (double)ceiling);
}

/* One splitmix64 step. */
static uint64_t
backoff_splitmix(uint64_t *s)
{
	uint64_t z;

	z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Seed from /dev/urandom, or from the time and pid when it is unavailable. */
static void
backoff_seed(void)
{
	struct timespec	ts;
	uint64_t	seed = 0;
	ssize_t		n = -1;
	int		fd;

	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd != -1) {
		n = read(fd, &seed, sizeof seed);
		close(fd);
	}
	if (n != (ssize_t)sizeof seed) {
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
		    ((uint64_t)getpid() << 16);
	}
	backoff_state = seed;
	backoff_seeded = 1;
}

uint32_t
backoff_random(void)
{
	if (!backoff_seeded)
		backoff_seed();
	return (uint32_t)(backoff_splitmix(&backoff_state) >> 32);
}
