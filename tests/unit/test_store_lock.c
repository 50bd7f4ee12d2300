/*
 * test_store_lock: one process owns a store. A second store_open of the
 * same path (here: another open file description in this process, and a
 * child process) is refused with EBUSY and a message naming the holder's
 * pid; readers opening the database read-only are not blocked; the lock
 * goes with store_close, and with the process when it dies.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "deprov/store.h"

static char *
tmp_db(void)
{
	char tmpl[] = "/tmp/deprov-lock-XXXXXX", *p = NULL;

	assert_non_null(mkdtemp(tmpl));
	assert_true(asprintf(&p, "%s/var/deprov.db", tmpl) > 0);
	return p;
}

static void
test_second_open_refused(void **state)
{
	char		 err[512], want[64], *path = tmp_db();
	struct store	*a, *b;
	sqlite3		*ro = NULL;

	a = store_open(path, err, sizeof err);
	assert_non_null(a);
	errno = 0;
	b = store_open(path, err, sizeof err);
	assert_null(b);
	assert_int_equal(errno, EBUSY);
	snprintf(want, sizeof want, "pid %ld", (long)getpid());
	assert_non_null(strstr(err, "is in use by"));
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, path));
	/* A read-only reader (deprovctl audit) is not blocked. */
	assert_int_equal(sqlite3_open_v2(path, &ro, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(ro, "SELECT count(*) FROM cases", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(ro);
	/* Released with the store. */
	store_close(a);
	b = store_open(path, err, sizeof err);
	assert_non_null(b);
	store_close(b);
	free(path);
}

/* A child holds the store: refused with its pid; once it is killed (-9), the store opens. */
static void
test_other_process(void **state)
{
	char		 err[512], want[64], *path = tmp_db();
	struct store	*s;
	int		 ready[2], status;
	pid_t		 child;
	char		 c;

	assert_int_equal(pipe(ready), 0);
	if ((child = fork()) == 0) {
		close(ready[0]);
		if ((s = store_open(path, err, sizeof err)) == NULL)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_true(child > 0);
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_null(store_open(path, err, sizeof err));
	assert_int_equal(errno, EBUSY);
	snprintf(want, sizeof want, "pid %ld", (long)child);
	assert_non_null(strstr(err, want));
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &status, 0), child);
	s = store_open(path, err, sizeof err);
	assert_non_null(s);
	store_close(s);
	free(path);
}

/* Other failures are not EBUSY. */
static void
test_other_failure(void **state)
{
	char err[512];

	errno = 0;
	assert_null(store_open("/proc/nope/deprov.db", err, sizeof err));
	assert_int_not_equal(errno, EBUSY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_second_open_refused),
		cmocka_unit_test(test_other_process),
		cmocka_unit_test(test_other_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
