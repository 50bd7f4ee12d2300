/*
 * sdnotify: readiness, stopping and watchdog notifications to the service
 * manager over NOTIFY_SOCKET (the datagram protocol of sd_notify(3)), so
 * that the unit can be Type=notify without linking libsystemd. One socket
 * is opened at start and kept (a watchdog ping costs one sendto), in
 * non-blocking mode: the loop never waits on the manager.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "deprov/log.h"
#include "deprov/sdnotify.h"

/* How often readiness is asked before it holds (ms). */
#define SDNOTIFY_POLL_MS	200

struct sdnotify {
	struct event_base	*base;
	sdnotify_ready_cb	 ready;
	void			*arg;
	int			 fd;		/* -1: no manager listening */
	struct sockaddr_un	 addr;
	socklen_t		 addrlen;
	struct event		*poll;		/* until READY=1 went out */
	struct event		*watchdog;
	int			 is_ready;
	int			 stopping;
	int			 warned;	/* one log line for failed sends */
};

static int	sdnotify_addr(const char *, struct sockaddr_un *, socklen_t *);
static int	sdnotify_sendto(struct sdnotify *, const char *);
static void	sdnotify_poll_cb(evutil_socket_t, short, void *);
static void	sdnotify_watchdog_cb(evutil_socket_t, short, void *);

/* "/path" or "@abstract" into addr; -1 with EINVAL otherwise. */
static int
sdnotify_addr(const char *name, struct sockaddr_un *addr, socklen_t *len)
{
	size_t n;

	memset(addr, 0, sizeof *addr);
	addr->sun_family = AF_UNIX;
	n = name != NULL ? strlen(name) : 0;
	/* A path needs room for its NUL; an abstract name has none. */
	if (n < 2 || (name[0] != '/' && name[0] != '@') ||
	    n > sizeof addr->sun_path - (name[0] == '/')) {
		errno = EINVAL;
		return -1;
	}
	memcpy(addr->sun_path, name, n);
	if (name[0] == '@')
		addr->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (name[0] == '/'));
	return 0;
}

int
sdnotify_send(const char *name, const char *msg)
{
	struct sockaddr_un	addr;
	socklen_t		len;
	ssize_t			r;
	int			fd, saved;

	if (sdnotify_addr(name, &addr, &len) != 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	r = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&addr,
	    len);
	saved = errno;
	close(fd);
	errno = saved;
	return r < 0 ? -1 : 0;
}

uint64_t
sdnotify_watchdog_interval(const char *usec, const char *wpid, long pid)
{
	unsigned long long	 v;
	long			 p;
	char			*end;

	/* strtoull would take "-5" as a huge number. */
	if (usec == NULL || *usec < '0' || *usec > '9')
		return 0;
	/* The watchdog may be meant for another process (a parent shell). */
	if (wpid != NULL && *wpid != '\0') {
		errno = 0;
		p = strtol(wpid, &end, 10);
		if (errno != 0 || *end != '\0' || p != pid)
			return 0;
	}
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0)
		return 0;
	return v / 2 > 0 ? v / 2 : 1;
}

/* One message on the kept socket; 0, or -1 (logged once). */
static int
sdnotify_sendto(struct sdnotify *sd, const char *msg)
{
	ssize_t r;

	if (sd->fd == -1)
		return 0;
	r = sendto(sd->fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sd->addr, sd->addrlen);
	if (r >= 0)
		return 0;
	if (!sd->warned) {
		sd->warned = 1;
		log_warn("sdnotify", "cannot notify the service manager: %s",
		    strerror(errno));
	}
	return -1;
}

/* Until ready: ask, and send READY=1 the first time it holds. */
static void
sdnotify_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sdnotify *sd = arg;

	(void)fd;
	(void)what;
	if (sd->stopping || sd->is_ready)
		return;
	if (!sd->ready(sd->arg) || sdnotify_sendto(sd, "READY=1") != 0)
		return;
	sd->is_ready = 1;
	event_del(sd->poll);
	log_info("sdnotify", "ready: told the service manager");
}

static void
sdnotify_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sdnotify_sendto(arg, "WATCHDOG=1");
}

struct sdnotify *
sdnotify_new(struct event_base *base, sdnotify_ready_cb ready, void *arg,
    char *err, size_t errlen)
{
	struct sdnotify	*sd;
	struct timeval	 tv;
	const char	*name = getenv("NOTIFY_SOCKET");
	uint64_t	 wd;

	if ((sd = calloc(1, sizeof *sd)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sd->base = base;
	sd->ready = ready;
	sd->arg = arg;
	sd->fd = -1;
	if (name == NULL || *name == '\0')
		return sd;	/* not started by a service manager */
	if (sdnotify_addr(name, &sd->addr, &sd->addrlen) != 0) {
		log_warn("sdnotify", "NOTIFY_SOCKET \"%s\" is neither a path "
		    "nor an abstract name: not notifying", name);
		return sd;
	}
	sd->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sd->fd == -1) {
		log_warn("sdnotify", "socket: %s: not notifying",
		    strerror(errno));
		return sd;
	}
	sd->poll = event_new(base, -1, EV_PERSIST, sdnotify_poll_cb, sd);
	if (sd->poll == NULL)
		goto fail;
	tv.tv_sec = 0;
	tv.tv_usec = SDNOTIFY_POLL_MS * 1000;
	if (event_add(sd->poll, &tv) != 0)
		goto fail;
	/* The first look on the loop's first turn, not a tick later. */
	event_active(sd->poll, EV_TIMEOUT, 0);
	wd = sdnotify_watchdog_interval(getenv("WATCHDOG_USEC"),
	    getenv("WATCHDOG_PID"), (long)getpid());
	if (wd > 0) {
		sd->watchdog = event_new(base, -1, EV_PERSIST,
		    sdnotify_watchdog_cb, sd);
		tv.tv_sec = (time_t)(wd / 1000000);
		tv.tv_usec = (suseconds_t)(wd % 1000000);
		if (sd->watchdog == NULL || event_add(sd->watchdog, &tv) != 0)
			goto fail;
		sdnotify_sendto(sd, "WATCHDOG=1");
		log_info("sdnotify", "watchdog: a ping every %llu ms",
		    (unsigned long long)(wd / 1000));
	}
	return sd;
fail:
	snprintf(err, errlen, "sdnotify: cannot add the loop's timers");
	sdnotify_free(sd);
	return NULL;
}

void
sdnotify_stopping(struct sdnotify *sd)
{
	if (sd == NULL || sd->stopping)
		return;
	sd->stopping = 1;
	if (sd->poll != NULL)
		event_del(sd->poll);
	sdnotify_sendto(sd, "STOPPING=1");
}

int
sdnotify_is_ready(const struct sdnotify *sd)
{
	return sd != NULL && sd->is_ready;
}

void
sdnotify_free(struct sdnotify *sd)
{
	if (sd == NULL)
		return;
	if (sd->poll != NULL)
		event_free(sd->poll);
	if (sd->watchdog != NULL)
		event_free(sd->watchdog);
	if (sd->fd != -1)
		close(sd->fd);
	free(sd);
}
