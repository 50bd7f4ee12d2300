/*
 * sdnotify: the service manager's notification protocol (sd_notify(3)),
 * spoken directly so that deprovd needs no libsystemd. Under systemd with
 * Type=notify, NOTIFY_SOCKET names a datagram socket (a path, or "@name"
 * in the abstract namespace); deprovd sends READY=1 once it is really
 * ready (what /readyz answers "ok" to), STOPPING=1 when a graceful stop
 * begins and, when WATCHDOG_USEC is set, WATCHDOG=1 from a loop timer at
 * half that interval: a loop that stalls stops the pings and systemd
 * restarts the service. Without NOTIFY_SOCKET everything here does
 * nothing. Sends never block the loop: a datagram that cannot go at once
 * is dropped (READY=1 is tried again on the next tick).
 */
#ifndef DEPROV_SDNOTIFY_H
#define DEPROV_SDNOTIFY_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct sdnotify;

/* 1 when the daemon is ready (polled until it is), else 0. */
typedef int (*sdnotify_ready_cb)(void *arg);

/*
 * Read NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID and arm the timers on
 * base: one polling ready(arg) until it returns 1, then READY=1; one for
 * the watchdog. Returns NULL with err only when out of memory or libevent
 * fails; an unusable NOTIFY_SOCKET is logged and ignored.
 */
struct sdnotify	*sdnotify_new(struct event_base *, sdnotify_ready_cb,
		    void *arg, char *err, size_t errlen);
/* The graceful stop begins: STOPPING=1, and no READY=1 from now on. */
void		 sdnotify_stopping(struct sdnotify *);
/* 1 once READY=1 has been sent. */
int		 sdnotify_is_ready(const struct sdnotify *);
void		 sdnotify_free(struct sdnotify *);

/*
 * One datagram to the socket named as NOTIFY_SOCKET names it; 0, or -1
 * with errno (EAGAIN when it would block, EINVAL for a name that is not
 * "/path" or "@abstract").
 */
int		 sdnotify_send(const char *socket_name, const char *msg);
/*
 * The watchdog's ping interval in microseconds from WATCHDOG_USEC and
 * WATCHDOG_PID as given (either may be NULL): half the timeout, or 0 when
 * there is no watchdog for the process pid.
 */
uint64_t	 sdnotify_watchdog_interval(const char *usec, const char *wpid,
		    long pid);

#endif
