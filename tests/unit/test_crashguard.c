/*
 * Unit tests for crashguard, the crash-loop breaker's record: a "crash" is
 * marking the record crashed as the fatal-signal handler does and freeing
 * the guard without crashguard_idle (the file is what a crashed process
 * leaves behind), a "kill" is freeing it without the mark, a "start" is
 * opening it again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "deprov/crashguard.h"
#include "deprov/log.h"

static char path[64];

static int
guard_setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof path, "/tmp/deprov-crashguard-XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	log_set_level(LOG_LEVEL_ERROR);
	return 0;
}

static int
guard_teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static struct crashguard *
start(void)
{
	struct crashguard	*g;
	char			 err[256];

	g = crashguard_open(path, err, sizeof err);
	if (g == NULL)
		fail_msg("crashguard_open: %s", err);
	return g;
}

/* The process dies of a fatal signal. */
static void
crash(struct crashguard *g)
{
	crashguard_note_crash(SIGSEGV);
	crashguard_free(g);
}

#define CRASHES(g, off)	crashguard_crashes(g, "hr.leavers", 0, off)

/* Dies on the same message twice in a row: 1, then 2 (set aside). */
static void
test_twice_in_a_row(void **state)
{
	struct crashguard *g;

	(void)state;
	g = start();
	assert_int_equal(CRASHES(g, 5), 0);
	crashguard_handling(g, "hr.leavers", 0, 4);
	crashguard_idle(g);
	crashguard_handling(g, "hr.leavers", 0, 5);
	crash(g);			/* crash */
	g = start();
	assert_int_equal(CRASHES(g, 4), 0);	/* handled before, cleanly */
	assert_int_equal(CRASHES(g, 5), 1);
	assert_int_equal(CRASHES(g, 6), 0);
	assert_int_equal(crashguard_crashes(g, "hr.leavers", 1, 5), 0);
	assert_int_equal(crashguard_crashes(g, "hr.other", 0, 5), 0);
	crashguard_handling(g, "hr.leavers", 0, 5);
	crash(g);			/* crash again */
	g = start();
	assert_int_equal(CRASHES(g, 5), 2);
	/*
	 * Set aside without being handed to the decoder: still a suspect
	 * (read again before its dead letter is taken, it is set aside
	 * again) until its partition's offset passes it.
	 */
	crashguard_handling(g, "hr.leavers", 0, 6);
	crashguard_idle(g);
	assert_int_equal(CRASHES(g, 5), 2);
	crashguard_passed(g, "hr.leavers", 1, 6);
	crashguard_passed(g, "hr.other", 0, 6);
	assert_int_equal(CRASHES(g, 5), 2);
	crashguard_passed(g, "hr.leavers", 0, 5);
	assert_int_equal(CRASHES(g, 5), 2);
	crashguard_passed(g, "hr.leavers", 0, 6);
	assert_int_equal(CRASHES(g, 5), 0);
	crashguard_handling(g, "hr.leavers", 0, 7);
	crashguard_idle(g);
	crash(g);
	g = start();
	assert_int_equal(CRASHES(g, 5), 0);
	crashguard_free(g);
}

/* A crash, then a clean handling: the count starts from 0 again. */
static void
test_clean_handling_resets(void **state)
{
	struct crashguard *g;

	(void)state;
	g = start();
	crashguard_handling(g, "hr.leavers", 0, 7);
	crash(g);
	g = start();
	assert_int_equal(CRASHES(g, 7), 1);
	crashguard_handling(g, "hr.leavers", 0, 7);
	crashguard_idle(g);
	assert_int_equal(CRASHES(g, 7), 0);
	crashguard_free(g);
	/* A later crash on it is its first again. */
	g = start();
	crashguard_handling(g, "hr.leavers", 0, 7);
	crash(g);
	g = start();
	assert_int_equal(CRASHES(g, 7), 1);
	crashguard_free(g);
}

/*
 * A crash inside a batch makes every message of it a suspect once; handled
 * one at a time, the next crash names the one to blame, and the others are
 * not forgotten meanwhile.
 */
static void
test_batch_then_alone(void **state)
{
	struct crashguard *g;

	(void)state;
	g = start();
	crashguard_handling(g, "hr.leavers", 0, 10);
	crashguard_handling(g, "hr.leavers", 0, 11);
	crashguard_handling(g, "hr.leavers", 2, 40);
	crashguard_handling(g, "hr.leavers", 0, 12);
	crash(g);		/* died in the batch (or its commit) */
	g = start();
	assert_int_equal(CRASHES(g, 9), 0);
	assert_int_equal(CRASHES(g, 10), 1);
	assert_int_equal(CRASHES(g, 11), 1);
	assert_int_equal(CRASHES(g, 12), 1);
	assert_int_equal(CRASHES(g, 13), 0);
	assert_int_equal(crashguard_crashes(g, "hr.leavers", 2, 40), 1);
	crashguard_handling(g, "hr.leavers", 0, 10);
	crashguard_idle(g);
	crashguard_handling(g, "hr.leavers", 0, 11);
	crash(g);		/* 11 is the one */
	g = start();
	assert_int_equal(CRASHES(g, 10), 0);
	assert_int_equal(CRASHES(g, 11), 2);
	assert_int_equal(CRASHES(g, 12), 1);	/* still a suspect */
	assert_int_equal(crashguard_crashes(g, "hr.leavers", 2, 40), 1);
	/* A stored offset passes part of a range. */
	crashguard_passed(g, "hr.leavers", 0, 12);
	assert_int_equal(CRASHES(g, 11), 0);
	assert_int_equal(CRASHES(g, 12), 1);
	crashguard_free(g);
}

/* A run that dies without handling a suspect does not count against it. */
static void
test_crash_elsewhere(void **state)
{
	struct crashguard *g;

	(void)state;
	g = start();
	crashguard_handling(g, "hr.leavers", 0, 3);
	crashguard_handling(g, "hr.leavers", 0, 4);
	crash(g);
	g = start();
	crash(g);		/* died before intake got to them */
	g = start();
	assert_int_equal(CRASHES(g, 3), 1);
	assert_int_equal(CRASHES(g, 4), 1);
	crashguard_handling(g, "hr.leavers", 0, 3);
	crashguard_idle(g);
	crash(g);		/* died after handling 3, before 4 */
	g = start();
	assert_int_equal(CRASHES(g, 3), 0);
	assert_int_equal(CRASHES(g, 4), 1);
	crashguard_free(g);
}

/*
 * Killed (kill -9, a power cut) while handling: the messages are read again
 * and nothing counts against them, however often it happens; a crash after
 * that counts once.
 */
static void
test_kill_is_not_a_crash(void **state)
{
	struct crashguard	*g;
	int			 i;

	(void)state;
	for (i = 0; i < 3; i++) {
		g = start();
		assert_int_equal(CRASHES(g, 8), 0);
		crashguard_handling(g, "hr.leavers", 0, 8);
		crashguard_free(g);	/* killed */
	}
	g = start();
	assert_int_equal(CRASHES(g, 8), 0);
	crashguard_handling(g, "hr.leavers", 0, 8);
	crash(g);
	g = start();
	assert_int_equal(CRASHES(g, 8), 1);
	crashguard_free(g);
}

/* What is not a complete record is ignored, never trusted or fatal. */
static void
test_bad_files(void **state)
{
	static const char *const bad[] = {
		"garbage\n",
		"deprov-crashguard 1\nhandling 0 0 5 5 hr.leavers\n",
		"deprov-crashguard 1\nhandling 0 0 5 5 hr.leavers",
		"deprov-crashguard 1\nhandling x 0 5 5 hr.leavers\nend\n",
		"deprov-crashguard 1\nhandling 0 0 6 5 hr.leavers\nend\n",
		"deprov-crashguard 1\nhandling 0 -1 5 5 hr.leavers\nend\n",
		"deprov-crashguard 1\nhandling 0 0 5 5 hr/leavers\nend\n",
		"deprov-crashguard 1\nhandling 0 0 5 5 hr.leavers x\nend\n",
		"deprov-crashguard 1\nsomething 0 0 5 5 hr.leavers\nend\n",
		"deprov-crashguard 2\nhandling 0 0 5 5 hr.leavers\nend\n",
	};
	struct crashguard	*g;
	FILE			*f;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_non_null(f = fopen(path, "w"));
		fputs(bad[i], f);
		fclose(f);
		g = start();
		if (CRASHES(g, 5) != 0)
			fail_msg("record #%zu was trusted", i);
		crashguard_free(g);
	}
	/*
	 * A record ends at its "end" (what follows is the crash mark, and
	 * behind it maybe the tail of a longer record of the same run).
	 */
	assert_non_null(f = fopen(path, "w"));
	fputs("deprov-crashguard 1\nhandling 0 0 5 5 hr.leavers\nend\n"
	    "crashed 11\nhandling 0 0 9 9 hr.leavers\nend\n", f);
	fclose(f);
	g = start();
	assert_int_equal(CRASHES(g, 5), 1);
	assert_int_equal(CRASHES(g, 9), 0);
	crashguard_free(g);
	/* NULL guard: no breaker, nothing happens. */
	assert_int_equal(crashguard_crashes(NULL, "t", 0, 1), 0);
	crashguard_handling(NULL, "t", 0, 1);
	crashguard_idle(NULL);
	crashguard_passed(NULL, "t", 0, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_twice_in_a_row,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_clean_handling_resets,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_batch_then_alone,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_crash_elsewhere,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_kill_is_not_a_crash,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_bad_files, guard_setup,
		    guard_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
