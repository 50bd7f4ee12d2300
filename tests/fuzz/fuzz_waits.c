/*
 * fuzz_waits: the waits a target takes from a peer's response headers
 * (include/deprov/target.h): target_wait_retry_after_ms (Retry-After,
 * delta-seconds or HTTP-date) and target_wait_reset_ms (a reset time such
 * as Okta's X-Rate-Limit-Reset, against the response's Date). The first
 * byte chooses; then one line per argument:
 *
 *   a  NOW \n RETRY-AFTER
 *   b  NOW \n X-RATE-LIMIT-RESET \n DATE ("-" = no Date header)
 *
 * NOW is our clock in epoch seconds (any int64; empty = 2026-01-01). Every
 * wait is -1 (ignored) or within 0..3600000 ms, and UBSan watches the
 * arithmetic; a plain delta-seconds Retry-After is exactly that many
 * seconds (clamped). (Sforce-Limit-Info is read by the Salesforce
 * connector now: fuzz_salesforce.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deprov/target.h"

#include "fuzz.h"

#define FUZZ_MAX_WAIT_MS	3600000L
#define FUZZ_NOW		1767225600LL

static int64_t
fuzz_waits_now(const char *s)
{
	if (*s == '\0')
		return FUZZ_NOW;
	return (int64_t)strtoll(s, NULL, 10);
}

/* 1 when s is digits only (no sign, no spaces), at most 18 of them. */
static int
fuzz_waits_plain(const char *s)
{
	size_t	i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++)
		;
	return i > 0 && i <= 18 && s[i] == '\0';
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	 in = { data, size };
	char		*now = NULL, *a = NULL, *b = NULL;
	long		 w;
	long long	 secs;

	switch (fuzz_op(&in, 2)) {
	case 0:
		now = fuzz_line(&in, NULL);
		a = fuzz_line(&in, NULL);
		w = target_wait_retry_after_ms(a, fuzz_waits_now(now));
		FUZZ_CHECK(w == -1 || (w >= 0 && w <= FUZZ_MAX_WAIT_MS),
		    "Retry-After \"%s\": %ld ms", a, w);
		if (fuzz_waits_plain(a)) {
			secs = strtoll(a, NULL, 10);
			FUZZ_CHECK(w == (secs >= 3600 ? FUZZ_MAX_WAIT_MS :
			    (long)secs * 1000), "Retry-After \"%s\": %ld ms",
			    a, w);
		}
		break;
	case 1:
		now = fuzz_line(&in, NULL);
		a = fuzz_line(&in, NULL);
		b = fuzz_line(&in, NULL);
		w = target_wait_reset_ms(a, strcmp(b, "-") == 0 ? NULL : b,
		    fuzz_waits_now(now));
		FUZZ_CHECK(w == -1 || (w >= 0 && w <= FUZZ_MAX_WAIT_MS),
		    "X-Rate-Limit-Reset \"%s\", Date \"%s\": %ld ms", a, b, w);
		break;
	}
	free(now);
	free(a);
	free(b);
	return 0;
}
