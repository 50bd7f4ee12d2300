/*
 * test_log: the rate limiter for repeated messages (one line per interval,
 * the refused calls counted and handed to the next line), and libevent's
 * warnings going through it: a burst of identical warnings makes one line;
 * log_emergency's line (written from signal handlers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/util.h>

#include "deprov/log.h"

static void
test_ratelimit_interval(void **state)
{
	struct log_ratelimit	rl = { .interval_ms = 1000 };
	uint64_t		n = 99;

	assert_int_equal(log_ratelimit_at(&rl, 5000, &n), 1);
	assert_int_equal(n, 0);
	assert_int_equal(log_ratelimit_at(&rl, 5000, &n), 0);
	assert_int_equal(log_ratelimit_at(&rl, 5500, &n), 0);
	assert_int_equal(log_ratelimit_at(&rl, 5999, &n), 0);
	assert_int_equal(log_ratelimit_at(&rl, 6000, &n), 1);
	assert_int_equal(n, 3);
	/* The count starts again after each line. */
	assert_int_equal(log_ratelimit_at(&rl, 6001, &n), 0);
	assert_int_equal(log_ratelimit_at(&rl, 9000, &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(log_ratelimit_at(&rl, 10000, &n), 1);
	assert_int_equal(n, 0);
}

/* The first call passes whatever the clock says (monotonic time may be near 0 or negative in tests). */
static void
test_ratelimit_first_and_zero(void **state)
{
	struct log_ratelimit	rl = { .interval_ms = 1000 };
	struct log_ratelimit	every = { .interval_ms = 0 };
	uint64_t		n;

	assert_int_equal(log_ratelimit_at(&rl, -5, &n), 1);
	assert_int_equal(log_ratelimit_at(&rl, 0, NULL), 0);
	assert_int_equal(log_ratelimit_at(&every, 1, &n), 1);
	assert_int_equal(log_ratelimit_at(&every, 1, &n), 1);
	assert_int_equal(n, 0);
}

/* A million calls within one interval: one line, and the next line counts them all. */
static void
test_ratelimit_burst(void **state)
{
	struct log_ratelimit	rl = { .interval_ms = 250 };
	uint64_t		n = 0, lines = 0;
	int			i;

	for (i = 0; i < 1000000; i++)
		lines += (uint64_t)log_ratelimit_at(&rl, 100 + i / 10000, &n);
	assert_int_equal(lines, 1);
	assert_int_equal(log_ratelimit_at(&rl, 350, &n), 1);
	assert_int_equal(n, 999999);
	/* The wall-clock variant passes its first call. */
	memset(&rl, 0, sizeof rl);
	rl.interval_ms = 60000;
	assert_int_equal(log_ratelimit(&rl, &n), 1);
	assert_int_equal(log_ratelimit(&rl, &n), 0);
}

/* libevent's warnings: a burst of 1000 makes one line (the rest are counted later). */
static void
test_libevent_warnings_limited(void **state)
{
	char	*buf = NULL;
	size_t	 len = 0, lines = 0, i;
	FILE	*f = open_memstream(&buf, &len);

	assert_non_null(f);
	log_set_stream(f);
	log_set_level(LOG_LEVEL_DEBUG);
	log_hook_libevent();
	/* fcntl on -1 fails: libevent warns "fcntl(-1, F_GETFL)" each time. */
	for (i = 0; i < 1000; i++)
		assert_int_equal(evutil_make_socket_nonblocking(-1), -1);
	log_set_stream(NULL);
	fclose(f);
	for (i = 0; i < len; i++)
		lines += buf[i] == '\n';
	assert_int_equal(lines, 1);
	assert_non_null(strstr(buf, "fcntl(-1"));
	free(buf);
}

/* log_emergency: one JSON line through write(2), with the same timestamp format. */
static void
test_emergency_line(void **state)
{
	FILE		*f = tmpfile();
	char		 line[600], want[32];
	time_t		 now = time(NULL);
	struct tm	 tm;

	assert_non_null(f);
	log_set_stream(f);
	log_emergency(LOG_LEVEL_WARN, "deprovd", "second signal: exiting now");
	log_set_stream(NULL);
	rewind(f);
	assert_non_null(fgets(line, sizeof line, f));
	fclose(f);
	gmtime_r(&now, &tm);
	strftime(want, sizeof want, "{\"ts\":\"%Y-%m-%dT%H", &tm);
	assert_memory_equal(line, want, strlen(want));
	assert_non_null(strstr(line, "Z\",\"level\":\"warn\",\"mod\":\"deprovd\","
	    "\"msg\":\"second signal: exiting now\"}\n"));
	assert_int_equal(line[strlen("{\"ts\":\"2026-12-02T05:30:25.123Z")], '"');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ratelimit_interval),
		cmocka_unit_test(test_ratelimit_first_and_zero),
		cmocka_unit_test(test_ratelimit_burst),
		cmocka_unit_test(test_libevent_warnings_limited),
		cmocka_unit_test(test_emergency_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
