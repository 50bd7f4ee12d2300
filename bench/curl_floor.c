/*
 * deprov-curl-floor: the floor cost of HTTP requests through libcurl's multi
 * interface on this machine.
 *
 * deprovd drives its target calls through one curl multi handle on a libevent
 * loop (curl_multi_socket_action). This program does the same and nothing
 * else: no JSON parsing, no store, no runbooks. Its CPU per request is what
 * libcurl, libevent and the kernel cost alone, the number to compare the
 * daemon's CPU per target call with (docs/bench).
 *
 *	deprov-curl-floor --url-file FILE --connections N --requests TOTAL
 *	    [--header 'K: V']... [--base URL]
 *
 * FILE has one request a line, METHOD <tab> URL <tab> BODY (BODY may be
 * empty; a URL that starts with '/' is taken relative to --base). The lines
 * are used in turn, over and over, until TOTAL requests are done, with N
 * transfers in flight all the time. One JSON line goes to stdout at the end.
 *
 * Not a test and not installed: a measuring tool.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/resource.h>
#include <sys/time.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#define FLOOR_USER_AGENT	"deprov-curl-floor/1"
#define FLOOR_AUTH		"Authorization: Bearer sandbox-static-token-0123456789"
#define FLOOR_MAX_STATUS	600
#define FLOOR_TIMEOUT_MS	30000L	/* as bench/run configures deprovd */
#define FLOOR_CONNECT_MS	5000L

/* One line of the URL file. */
struct floor_req {
	char		*method;
	char		*url;
	char		*body;
	size_t		 bodylen;
};

/* A growable buffer for response bodies; kept per transfer and reused. */
struct floor_buf {
	char		*data;
	size_t		 len;
	size_t		 size;
};

/* One in-flight slot: an easy handle that is reset and reused. */
struct floor_xfer {
	CURL		*easy;
	struct floor_buf body;
	struct floor_run *run;
};

/* One socket curl asked us to watch. */
struct floor_sock {
	curl_socket_t	 fd;
	struct event	*ev;
	struct floor_run *run;
};

struct floor_run {
	struct event_base *base;
	CURLM		*multi;
	struct event	*timer;

	struct floor_req *reqs;
	size_t		 nreqs;
	size_t		 next_req;

	struct curl_slist *hdrs;	/* requests without a body */
	struct curl_slist *hdrs_body;	/* requests with a JSON body */

	long		 total;
	long		 started;
	long		 done;
	long		 errors;	/* transfers that ended without a status */
	long		 status[FLOOR_MAX_STATUS];
	int		 failed;
};

static void	 floor_check_done(struct floor_run *);

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: deprov-curl-floor --url-file FILE --connections N "
	    "--requests TOTAL [--header 'K: V']... [--base URL]\n");
	exit(2);
}

static __attribute__((noreturn, format(printf, 1, 2))) void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "deprov-curl-floor: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		fatalx("out of memory");
	return (p);
}

static char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatalx("out of memory");
	return (p);
}

static long
parse_count(const char *s, const char *what, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max)
		fatalx("%s: bad number: %s", what, s);
	return (v);
}

static double
mono_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static double
tv_s(const struct timeval *tv)
{
	return ((double)tv->tv_sec + (double)tv->tv_usec / 1e6);
}

/*
 * Read the URL file. Split at the first two tabs only, so that a body may
 * itself hold tabs; blank lines and '#' comments are skipped.
 */
static void
load_requests(struct floor_run *run, const char *path, const char *base)
{
	FILE		*f;
	char		*line = NULL, *method, *url, *body, *tab;
	size_t		 cap = 0, alloc = 0;
	ssize_t		 n;
	struct floor_req *r;

	if ((f = fopen(path, "r")) == NULL)
		fatalx("%s: %s", path, strerror(errno));
	while ((n = getline(&line, &cap, f)) != -1) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		method = line;
		if ((tab = strchr(method, '\t')) == NULL)
			fatalx("%s: no tab after the method: %s", path, line);
		*tab = '\0';
		url = tab + 1;
		body = "";
		if ((tab = strchr(url, '\t')) != NULL) {
			*tab = '\0';
			body = tab + 1;
		}
		if (*method == '\0' || *url == '\0')
			fatalx("%s: empty method or URL", path);

		if (run->nreqs == alloc) {
			alloc = alloc == 0 ? 16 : alloc * 2;
			run->reqs = realloc(run->reqs, alloc * sizeof *run->reqs);
			if (run->reqs == NULL)
				fatalx("out of memory");
		}
		r = &run->reqs[run->nreqs++];
		r->method = xstrdup(method);
		if (url[0] == '/') {
			if (base == NULL)
				fatalx("%s: relative URL without --base: %s",
				    path, url);
			if (asprintf(&r->url, "%s%s", base, url) == -1)
				fatalx("out of memory");
		} else
			r->url = xstrdup(url);
		r->body = xstrdup(body);
		r->bodylen = strlen(body);
	}
	free(line);
	if (ferror(f))
		fatalx("%s: read error", path);
	fclose(f);
	if (run->nreqs == 0)
		fatalx("%s: no requests", path);
}

/*
 * The response body is read as a client would read it (copied out of curl's
 * buffer), then thrown away when the transfer is reused: the copy is part of
 * the floor, parsing it is not.
 */
static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct floor_buf	*b = arg;
	size_t			 n = size * nmemb;
	size_t			 want;
	char			*p;

	if (b->len + n > b->size) {
		want = b->size == 0 ? 4096 : b->size;
		while (want < b->len + n)
			want *= 2;
		if ((p = realloc(b->data, want)) == NULL)
			return (0);	/* curl fails the transfer */
		b->data = p;
		b->size = want;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	return (n);
}

/*
 * Set an easy handle up for the next request line. curl_easy_reset drops
 * every option but keeps the handle's caches; the connections themselves
 * live in the multi handle's pool, so keep-alive connections are reused
 * across transfers whichever easy handle runs them.
 */
static int
xfer_setup(struct floor_xfer *x)
{
	struct floor_run	*run = x->run;
	struct floor_req	*r = &run->reqs[run->next_req];
	CURL			*e = x->easy;
	int			 bad = 0;

	run->next_req = (run->next_req + 1) % run->nreqs;
	x->body.len = 0;

	curl_easy_reset(e);
	bad |= curl_easy_setopt(e, CURLOPT_URL, r->url) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, x) != CURLE_OK;
	/*
	 * No signals: curl would otherwise arm alarm() around name lookups,
	 * and this process's loop owns its signals (as deprovd's does).
	 */
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, FLOOR_TIMEOUT_MS) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    FLOOR_CONNECT_MS) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, FLOOR_USER_AGENT) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, &x->body) != CURLE_OK;

	if (strcmp(r->method, "GET") == 0 && r->bodylen == 0) {
		bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, run->hdrs) !=
		    CURLE_OK;
	} else if (strcmp(r->method, "HEAD") == 0) {
		bad |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, run->hdrs) !=
		    CURLE_OK;
	} else if (r->bodylen > 0) {
		/*
		 * POSTFIELDS does not copy: the request table outlives every
		 * transfer. POST is implied; any other method overrides it.
		 */
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)r->bodylen) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body) !=
		    CURLE_OK;
		if (strcmp(r->method, "POST") != 0)
			bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
			    r->method) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER,
		    run->hdrs_body) != CURLE_OK;
	} else {
		/* DELETE and friends without a body. */
		bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method) !=
		    CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, run->hdrs) !=
		    CURLE_OK;
	}
	return (bad ? -1 : 0);
}

static void
xfer_start(struct floor_xfer *x)
{
	struct floor_run	*run = x->run;

	if (xfer_setup(x) == -1)
		fatalx("curl_easy_setopt failed");
	if (curl_multi_add_handle(run->multi, x->easy) != CURLM_OK)
		fatalx("curl_multi_add_handle failed");
	run->started++;
}

/*
 * Collect finished transfers and start the next request on the same slot
 * right away, so that N stay in flight. This runs after
 * curl_multi_socket_action has returned, where adding handles is allowed.
 */
static void
floor_check_done(struct floor_run *run)
{
	CURLMsg			*m;
	struct floor_xfer	*x;
	char			*priv;
	long			 code;
	int			 left;

	while ((m = curl_multi_info_read(run->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		x = (struct floor_xfer *)priv;
		code = 0;
		if (m->data.result == CURLE_OK)
			curl_easy_getinfo(m->easy_handle,
			    CURLINFO_RESPONSE_CODE, &code);
		else if (run->errors++ < 5)
			fprintf(stderr, "deprov-curl-floor: %s\n",
			    curl_easy_strerror(m->data.result));
		if (code > 0 && code < FLOOR_MAX_STATUS)
			run->status[code]++;
		else if (m->data.result == CURLE_OK)
			run->errors++;
		curl_multi_remove_handle(run->multi, x->easy);
		run->done++;
		if (run->started < run->total)
			xfer_start(x);
	}
	/*
	 * Idle keep-alive sockets stay registered with the base, so the loop
	 * would never run dry on its own: stop it once the count is reached.
	 */
	if (run->done >= run->total)
		event_base_loopbreak(run->base);
}

/* A watched socket is ready: tell curl which way. */
static void
sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct floor_run	*run = arg;
	int			 action = 0, running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	if (curl_multi_socket_action(run->multi, fd, action, &running) !=
	    CURLM_OK)
		fatalx("curl_multi_socket_action failed");
	floor_check_done(run);
}

/* curl's timeout has passed. */
static void
timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct floor_run	*run = arg;
	int			 running;

	(void)fd;
	(void)what;
	if (curl_multi_socket_action(run->multi, CURL_SOCKET_TIMEOUT, 0,
	    &running) != CURLM_OK)
		fatalx("curl_multi_socket_action failed");
	floor_check_done(run);
}

/*
 * CURLMOPT_TIMERFUNCTION: curl wants one timer. -1 removes it; 0 means "as
 * soon as possible", which a zero evtimer gives on the next loop turn (not
 * from inside this callback, where calling back into curl is not allowed).
 */
static int
timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct floor_run	*run = arg;
	struct timeval		 tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(run->timer);
		return (0);
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(run->timer, &tv);
	return (0);
}

/*
 * CURLMOPT_SOCKETFUNCTION: curl says what to watch on a socket. One event
 * per socket, kept through curl_multi_assign and changed in place, so a
 * reused connection costs an event_del/event_add and not an allocation.
 */
static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct floor_run	*run = arg;
	struct floor_sock	*s = sockp;
	short			 events = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			event_free(s->ev);
			free(s);
		}
		curl_multi_assign(run->multi, fd, NULL);
		return (0);
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;

	if (s == NULL) {
		s = xmalloc(sizeof *s);
		s->fd = fd;
		s->run = run;
		s->ev = event_new(run->base, fd, events, sock_event_cb, run);
		if (s->ev == NULL)
			fatalx("event_new failed");
		curl_multi_assign(run->multi, fd, s);
	} else {
		event_del(s->ev);
		if (event_assign(s->ev, run->base, fd, events, sock_event_cb,
		    run) == -1)
			fatalx("event_assign failed");
	}
	event_add(s->ev, NULL);
	return (0);
}

/* Build the two header lists once; every transfer shares them read-only. */
static void
build_headers(struct floor_run *run, char **extra, int nextra)
{
	struct curl_slist	*l = NULL, *lb, *t;
	int			 i, have_auth = 0;

	for (i = 0; i < nextra; i++)
		if (strncasecmp(extra[i], "Authorization:", 14) == 0)
			have_auth = 1;
	/* A given Authorization replaces the default rather than doubling it. */
	if (!have_auth && (l = curl_slist_append(l, FLOOR_AUTH)) == NULL)
		fatalx("out of memory");
	for (i = 0; i < nextra; i++) {
		if ((t = curl_slist_append(l, extra[i])) == NULL)
			fatalx("out of memory");
		l = t;
	}
	run->hdrs = l;

	/*
	 * The body list repeats the plain one and adds the JSON content type;
	 * an empty "Expect:" keeps curl from waiting for 100-continue on
	 * larger bodies, which no real client of these APIs does.
	 */
	lb = NULL;
	for (t = l; t != NULL; t = t->next)
		if ((lb = curl_slist_append(lb, t->data)) == NULL)
			fatalx("out of memory");
	if ((lb = curl_slist_append(lb, "Content-Type: application/json")) ==
	    NULL || (lb = curl_slist_append(lb, "Expect:")) == NULL)
		fatalx("out of memory");
	run->hdrs_body = lb;
}

static void
print_result(struct floor_run *run, double secs, const struct rusage *r0,
    const struct rusage *r1, long conns)
{
	double	 user, sys;
	int	 i, first = 1;

	user = tv_s(&r1->ru_utime) - tv_s(&r0->ru_utime);
	sys = tv_s(&r1->ru_stime) - tv_s(&r0->ru_stime);
	printf("{\"requests\":%ld,\"seconds\":%.3f,\"requests_per_s\":%.1f,"
	    "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"cpu_us_per_request\":%.2f,"
	    "\"status\":{", run->done, secs,
	    secs > 0 ? (double)run->done / secs : 0.0, user, sys,
	    run->done > 0 ? (user + sys) * 1e6 / (double)run->done : 0.0);
	for (i = 0; i < FLOOR_MAX_STATUS; i++) {
		if (run->status[i] == 0)
			continue;
		printf("%s\"%d\":%ld", first ? "" : ",", i, run->status[i]);
		first = 0;
	}
	printf("},\"errors\":%ld,\"connections\":%ld,\"curl\":\"%s\"}\n",
	    run->errors, conns, curl_version_info(CURLVERSION_NOW)->version);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url-file",		required_argument,	NULL, 'f' },
		{ "connections",	required_argument,	NULL, 'c' },
		{ "requests",		required_argument,	NULL, 'n' },
		{ "header",		required_argument,	NULL, 'H' },
		{ "base",		required_argument,	NULL, 'b' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL,			0,			NULL, 0 }
	};
	struct floor_run	 run;
	struct floor_xfer	*xs;
	struct rusage		 r0, r1;
	const char		*file = NULL, *base = NULL;
	char			**extra;
	int			 ch, nextra = 0, running;
	long			 conns = 0, i;
	double			 t0, t1;
	size_t			 j;

	memset(&run, 0, sizeof run);
	extra = xmalloc((size_t)argc * sizeof *extra);
	while ((ch = getopt_long(argc, argv, "f:c:n:H:b:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'f':
			file = optarg;
			break;
		case 'c':
			conns = parse_count(optarg, "--connections", 100000);
			break;
		case 'n':
			run.total = parse_count(optarg, "--requests", LONG_MAX);
			break;
		case 'H':
			if (strchr(optarg, ':') == NULL)
				fatalx("--header wants 'Name: value': %s",
				    optarg);
			extra[nextra++] = optarg;
			break;
		case 'b':
			base = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || file == NULL || conns == 0 || run.total == 0)
		usage();

	load_requests(&run, file, base);
	build_headers(&run, extra, nextra);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	if ((run.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if ((run.multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	if ((run.timer = evtimer_new(run.base, timer_event_cb, &run)) == NULL)
		fatalx("evtimer_new failed");
	/*
	 * The pool must hold one idle connection per slot, or a connection
	 * closed for room is a new connect on the next request.
	 */
	if (curl_multi_setopt(run.multi, CURLMOPT_SOCKETFUNCTION,
	    socket_cb) != CURLM_OK ||
	    curl_multi_setopt(run.multi, CURLMOPT_SOCKETDATA, &run) !=
	    CURLM_OK ||
	    curl_multi_setopt(run.multi, CURLMOPT_TIMERFUNCTION, timer_cb) !=
	    CURLM_OK ||
	    curl_multi_setopt(run.multi, CURLMOPT_TIMERDATA, &run) !=
	    CURLM_OK ||
	    curl_multi_setopt(run.multi, CURLMOPT_MAXCONNECTS, conns * 2) !=
	    CURLM_OK)
		fatalx("curl_multi_setopt failed");

	if (conns > run.total)
		conns = run.total;
	xs = calloc((size_t)conns, sizeof *xs);
	if (xs == NULL)
		fatalx("out of memory");
	for (i = 0; i < conns; i++) {
		if ((xs[i].easy = curl_easy_init()) == NULL)
			fatalx("curl_easy_init failed");
		xs[i].run = &run;
	}

	/* Measure only the loop: loading and setup are not per request. */
	getrusage(RUSAGE_SELF, &r0);
	t0 = mono_s();
	for (i = 0; i < conns; i++)
		xfer_start(&xs[i]);
	/* Kick curl once; from here the timer and socket callbacks drive it. */
	if (curl_multi_socket_action(run.multi, CURL_SOCKET_TIMEOUT, 0,
	    &running) != CURLM_OK)
		fatalx("curl_multi_socket_action failed");
	floor_check_done(&run);
	if (run.done < run.total && event_base_dispatch(run.base) == -1)
		fatalx("event_base_dispatch failed");
	t1 = mono_s();
	getrusage(RUSAGE_SELF, &r1);

	print_result(&run, t1 - t0, &r0, &r1, conns);

	for (i = 0; i < conns; i++) {
		curl_multi_remove_handle(run.multi, xs[i].easy);
		curl_easy_cleanup(xs[i].easy);
		free(xs[i].body.data);
	}
	free(xs);
	/* Closes the pooled connections; socket_cb frees their events. */
	curl_multi_cleanup(run.multi);
	event_free(run.timer);
	event_base_free(run.base);
	curl_slist_free_all(run.hdrs);
	curl_slist_free_all(run.hdrs_body);
	for (j = 0; j < run.nreqs; j++) {
		free(run.reqs[j].method);
		free(run.reqs[j].url);
		free(run.reqs[j].body);
	}
	free(run.reqs);
	free(extra);
	curl_global_cleanup();
	return (run.errors > 0 ? 1 : 0);
}
