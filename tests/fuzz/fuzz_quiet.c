/*
 * fuzz_quiet: deprov's log lines would drown libFuzzer's own output (and
 * slow every run down); harnesses that link log.c send them to /dev/null,
 * at every level, so that formatting and redaction still run.
 */
#include <stdio.h>
#include <stdlib.h>

#include "deprov/log.h"

#include "fuzz.h"

void
fuzz_quiet(void)
{
	static FILE	*null;

	if (null == NULL && (null = fopen("/dev/null", "w")) == NULL)
		abort();
	log_set_stream(null);
	/* Every level: the lines are still formatted and redacted. */
	log_set_level(LOG_LEVEL_DEBUG);
}
