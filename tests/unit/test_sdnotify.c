/*
 * test_sdnotify: the service manager's datagrams as a listener receives
 * them, on a socket path and in the abstract namespace; names that are
 * neither; the watchdog interval and its WATCHDOG_PID check; and a loop
 * run under a fake manager: no READY=1 before the daemon is ready, exactly
 * one after, WATCHDOG=1 pings from the timer and STOPPING=1 at the stop.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "deprov/sdnotify.h"

/* A manager's socket: bound to name ("/path" or "@abstract"), non-blocking. */
static int
listener(const char *name)
{
	struct sockaddr_un	addr;
	socklen_t		len;
	size_t			n = strlen(name);
	int			fd;

	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, name, n);
	if (name[0] == '@')
		addr.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (name[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, len), 0);
	return fd;
}

/* The next datagram, or "" when none is waiting. */
static const char *
next_msg(int fd, char *buf, size_t len)
{
	ssize_t r = recv(fd, buf, len - 1, 0);

	buf[r > 0 ? (size_t)r : 0] = '\0';
	return buf;
}

static void
abstract_name(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "@deprov-test-sdnotify-%s-%ld", what, (long)getpid());
}

static void
test_send_path_and_abstract(void **state)
{
	char	dir[] = "/tmp/test_sdnotify.XXXXXX", path[128], name[64];
	char	buf[64];
	int	fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/notify", dir);
	fd = listener(path);
	assert_int_equal(sdnotify_send(path, "READY=1"), 0);
	assert_string_equal(next_msg(fd, buf, sizeof buf), "READY=1");
	close(fd);
	unlink(path);
	rmdir(dir);

	abstract_name(name, sizeof name, "send");
	fd = listener(name);
	assert_int_equal(sdnotify_send(name, "STOPPING=1"), 0);
	assert_string_equal(next_msg(fd, buf, sizeof buf), "STOPPING=1");
	close(fd);
	/* Nobody listening any more: an error, not a hang. */
	assert_int_equal(sdnotify_send(name, "WATCHDOG=1"), -1);
}

static void
test_bad_names(void **state)
{
	char long_name[200];

	memset(long_name, 'a', sizeof long_name - 1);
	long_name[0] = '/';
	long_name[sizeof long_name - 1] = '\0';
	errno = 0;
	assert_int_equal(sdnotify_send("relative/notify", "READY=1"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(sdnotify_send("@", "READY=1"), -1);
	assert_int_equal(sdnotify_send("", "READY=1"), -1);
	assert_int_equal(sdnotify_send(NULL, "READY=1"), -1);
	assert_int_equal(sdnotify_send("vsock:2:1234", "READY=1"), -1);
	errno = 0;
	assert_int_equal(sdnotify_send(long_name, "READY=1"), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_watchdog_interval(void **state)
{
	assert_int_equal(sdnotify_watchdog_interval("30000000", NULL, 42),
	    15000000);
	assert_int_equal(sdnotify_watchdog_interval("30000000", "42", 42),
	    15000000);
	assert_int_equal(sdnotify_watchdog_interval("30000000", "", 42),
	    15000000);
	/* Meant for another process. */
	assert_int_equal(sdnotify_watchdog_interval("30000000", "43", 42), 0);
	assert_int_equal(sdnotify_watchdog_interval(NULL, NULL, 42), 0);
	assert_int_equal(sdnotify_watchdog_interval("", NULL, 42), 0);
	assert_int_equal(sdnotify_watchdog_interval("0", NULL, 42), 0);
	assert_int_equal(sdnotify_watchdog_interval("12x", NULL, 42), 0);
	assert_int_equal(sdnotify_watchdog_interval("-5", NULL, 42), 0);
	assert_int_equal(sdnotify_watchdog_interval("1", NULL, 42), 1);
}

struct fake_daemon {
	struct event_base	*base;
	struct sdnotify		*sd;
	int			 asked;		/* times readiness was asked */
	int			 ready_after;	/* ready from this ask on */
	int			 sock;		/* the manager's socket */
	int			 ready, pings, stopping, other;
};

static int
fake_ready(void *arg)
{
	struct fake_daemon *fd = arg;

	return ++fd->asked >= fd->ready_after;
}

static void
fake_stop(evutil_socket_t s, short what, void *arg)
{
	struct fake_daemon *fd = arg;

	sdnotify_stopping(fd->sd);
	event_base_loopexit(fd->base, NULL);
}

/*
 * The manager reads as datagrams come, as systemd does: a socket's queue
 * holds only a few (net.unix.max_dgram_qlen), the sender would get EAGAIN.
 */
static void
fake_manager_read(evutil_socket_t s, short what, void *arg)
{
	struct fake_daemon	*fd = arg;
	char			 buf[64];
	const char		*m;

	while (*(m = next_msg(fd->sock, buf, sizeof buf)) != '\0') {
		if (strcmp(m, "READY=1") == 0) {
			assert_int_equal(fd->stopping, 0);
			fd->ready++;
		} else if (strcmp(m, "WATCHDOG=1") == 0)
			fd->pings++;
		else if (strcmp(m, "STOPPING=1") == 0)
			fd->stopping++;
		else
			fd->other++;
	}
}

static void
test_loop_under_a_manager(void **state)
{
	struct fake_daemon	 fd;
	struct event		*ev;
	struct timeval		 tv = { 1, 0 };
	char			 name[64], err[128];

	memset(&fd, 0, sizeof fd);
	fd.ready_after = 3;
	abstract_name(name, sizeof name, "loop");
	fd.sock = listener(name);
	setenv("NOTIFY_SOCKET", name, 1);
	setenv("WATCHDOG_USEC", "200000", 1);	/* a ping every 100 ms */
	unsetenv("WATCHDOG_PID");
	assert_non_null(fd.base = event_base_new());
	assert_non_null(ev = event_new(fd.base, fd.sock, EV_READ | EV_PERSIST,
	    fake_manager_read, &fd));
	assert_int_equal(event_add(ev, NULL), 0);
	fd.sd = sdnotify_new(fd.base, fake_ready, &fd, err, sizeof err);
	assert_non_null(fd.sd);
	assert_false(sdnotify_is_ready(fd.sd));
	assert_int_equal(event_base_once(fd.base, -1, EV_TIMEOUT, fake_stop,
	    &fd, &tv), 0);
	assert_int_equal(event_base_dispatch(fd.base), 0);
	fake_manager_read(fd.sock, EV_READ, &fd);	/* STOPPING=1 */
	assert_true(sdnotify_is_ready(fd.sd));
	/* Readiness is no longer asked once it was told. */
	assert_int_equal(fd.asked, 3);
	assert_int_equal(fd.ready, 1);
	assert_int_equal(fd.stopping, 1);
	assert_int_equal(fd.other, 0);
	/* One at start, then every 100 ms for a second (timers are late, never early). */
	assert_in_range(fd.pings, 5, 12);
	sdnotify_free(fd.sd);
	event_free(ev);
	event_base_free(fd.base);
	close(fd.sock);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
}

/* Stopping before ready: never READY=1. No manager: nothing at all. */
static void
test_stop_before_ready_and_no_manager(void **state)
{
	struct fake_daemon	 fd;
	struct timeval		 tv = { 0, 500000 };
	char			 name[64], buf[64], err[128];
	int			 sock;

	memset(&fd, 0, sizeof fd);
	fd.ready_after = 1000000;
	abstract_name(name, sizeof name, "early");
	sock = listener(name);
	setenv("NOTIFY_SOCKET", name, 1);
	unsetenv("WATCHDOG_USEC");
	assert_non_null(fd.base = event_base_new());
	assert_non_null(fd.sd = sdnotify_new(fd.base, fake_ready, &fd, err,
	    sizeof err));
	assert_int_equal(event_base_once(fd.base, -1, EV_TIMEOUT, fake_stop,
	    &fd, &tv), 0);
	assert_int_equal(event_base_dispatch(fd.base), 0);
	assert_false(sdnotify_is_ready(fd.sd));
	assert_true(fd.asked > 0);
	assert_string_equal(next_msg(sock, buf, sizeof buf), "STOPPING=1");
	assert_string_equal(next_msg(sock, buf, sizeof buf), "");
	sdnotify_free(fd.sd);
	event_base_free(fd.base);

	/* Without NOTIFY_SOCKET: no timers, readiness never asked. */
	unsetenv("NOTIFY_SOCKET");
	memset(&fd, 0, sizeof fd);
	fd.ready_after = 1;
	assert_non_null(fd.base = event_base_new());
	assert_non_null(fd.sd = sdnotify_new(fd.base, fake_ready, &fd, err,
	    sizeof err));
	tv.tv_usec = 300000;
	assert_int_equal(event_base_once(fd.base, -1, EV_TIMEOUT, fake_stop,
	    &fd, &tv), 0);
	assert_int_equal(event_base_dispatch(fd.base), 0);
	assert_int_equal(fd.asked, 0);
	assert_string_equal(next_msg(sock, buf, sizeof buf), "");
	sdnotify_free(fd.sd);
	event_base_free(fd.base);
	close(sock);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_path_and_abstract),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_watchdog_interval),
		cmocka_unit_test(test_loop_under_a_manager),
		cmocka_unit_test(test_stop_before_ready_and_no_manager),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
