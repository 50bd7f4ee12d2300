/*
 * fuzz_time: event_parse_time, strict RFC 3339 for every time that comes
 * from outside (CloudEvents time, data.effective, mapped effective dates,
 * Okta's published). The input is the text. Besides not reading past the
 * end or overflowing, an accepted time must be what its text says: within
 * a day (the largest offset, plus a leap second) of midnight UTC of the
 * date written at its start, and the date must be a real one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deprov/event.h"

#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	 in = { data, size };
	struct tm	 tm;
	char		*s = fuzz_rest(&in);
	time_t		 t, day;
	int		 y, m, d;

	t = event_parse_time(s);
	if (t != (time_t)-1) {
		FUZZ_CHECK(strlen(s) >= 10, "accepted \"%s\"", s);
		y = atoi(s);
		m = atoi(s + 5);
		d = atoi(s + 8);
		memset(&tm, 0, sizeof tm);
		tm.tm_year = y - 1900;
		tm.tm_mon = m - 1;
		tm.tm_mday = d;
		day = timegm(&tm);
		FUZZ_CHECK(tm.tm_mday == d && tm.tm_mon == m - 1,
		    "\"%s\": no such date", s);
		FUZZ_CHECK(t >= day - 86400 && t <= day + 2 * 86400,
		    "\"%s\" gave %lld, %lld from its date", s, (long long)t,
		    (long long)(t - day));
		if (strlen(s) == 10)
			FUZZ_CHECK(t == day, "date \"%s\" is not midnight", s);
	}
	free(s);
	return 0;
}
