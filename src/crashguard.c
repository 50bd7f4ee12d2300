/*
 * crashguard: the record of what Kafka intake is handling, kept in a small
 * file beside the store so that a start after a crash knows which messages
 * were in the decoder's hands (see crashguard.h for the counting).
 *
 * The file is text, rewritten whole at offset 0 with one pwrite():
 *
 *   deprov-crashguard 1
 *   handling <crashes> <partition> <first> <last> <topic>
 *   suspect <crashes> <partition> <first> <last> <topic>
 *   end
 *
 * "handling" lines are the messages being handled now, with how many times
 * in a row they had already crashed the process; read at the next start
 * they count one crash more if the process crashed, that is if a fatal
 * signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT) reached it: its handler
 * writes "crashed <signal>" right after the record's "end" line, with one
 * pwrite() (async-signal-safe), before the signal takes the process. A
 * process that was killed (kill -9 by an operator or a supervisor, a power
 * cut) leaves no such line: the messages it was handling are read again
 * as usual, not held against them, so restarts never dead-letter a leaver.
 * "suspect" lines carry earlier runs' suspects
 * that have not been handled again yet, with their count as it is, so a
 * crash elsewhere does not make anyone forget them. A record without its
 * "end" line (or longer than the new one: the tail of an older, longer
 * record stays behind it) ends at "end".
 *
 * Why pwrite() and no fsync(), and no database: what must survive is the
 * process (a SIGSEGV, an abort, kill -9), and the kernel keeps a write()
 * done before the process died whatever the process does next. A write
 * into the page cache takes a few microseconds and never waits for the
 * disk, so it can be done before every message on the loop; a database
 * transaction or an fsync per message would stall intake on the disk. A
 * power cut may lose the last record: then at worst a poison message
 * crashes the process once or twice more before it is set aside.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "deprov/crashguard.h"
#include "deprov/log.h"

#define CRASHGUARD_MAGIC	"deprov-crashguard 1\n"
#define CRASHGUARD_END		"end\n"
#define CRASHGUARD_MAX_FILE	(1024 * 1024)
#define CRASHGUARD_MAX_RANGES	4096
#define CRASHGUARD_MAX_TOPIC	255
#define CRASHGUARD_MAX_CRASHES	1000
#define CRASHGUARD_CRASHED	"crashed "

/*
 * What the fatal-signal handler needs, in globals because a handler has no
 * argument: the record's file and where its "end" line ends. Set by the
 * loop (crashguard_write), read by the handler; one guard per process.
 */
static volatile sig_atomic_t	crashguard_sig_fd = -1;
static volatile sig_atomic_t	crashguard_sig_off;
static const int		crashguard_signals[] = {
	SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT
};

/* Offsets first..last of one partition, and how many crashes in a row. */
struct crashguard_range {
	char	*topic;
	int32_t	 partition;
	int64_t	 first;
	int64_t	 last;
	int	 crashes;
};

struct crashguard {
	int			 fd;
	char			*path;
	/* Left by earlier runs and not handled since: died while handling them. */
	struct crashguard_range	*suspects;
	size_t			 nsuspects;
	/* Handed to the decoder since the last crashguard_idle. */
	struct crashguard_range	*open;
	size_t			 nopen;
	size_t			 opencap;
	char			*buf;		/* the record being written */
	size_t			 len;
	size_t			 cap;
	int			 failed;	/* the last write failed (logged once) */
};

static int	crashguard_read(struct crashguard *, char *, size_t, int);
static void	crashguard_write(struct crashguard *);
static void	crashguard_arm(struct crashguard *);
static int	crashguard_merge(struct crashguard *, const char *, int32_t,
		    int64_t, int64_t, int);
static int	crashguard_add(struct crashguard_range **, size_t *, size_t *,
		    const char *, int32_t, int64_t, int64_t, int);
static int	crashguard_topic_ok(const char *);
static void	crashguard_put(struct crashguard *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	crashguard_write(struct crashguard *);
static void	crashguard_ranges_free(struct crashguard_range *, size_t);
static void	crashguard_compact(struct crashguard *);

/* Kafka topic names: 1..255 of [A-Za-z0-9._-]. */
static int
crashguard_topic_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > CRASHGUARD_MAX_TOPIC)
		return 0;
	return strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == n;
}

/* Append a range (topic copied) to a growing array; -1 when out of memory. */
static int
crashguard_add(struct crashguard_range **v, size_t *n, size_t *cap,
    const char *topic, int32_t partition, int64_t first, int64_t last,
    int crashes)
{
	struct crashguard_range	*nv;
	char			*t;

	if (*n == *cap) {
		size_t ncap = *cap == 0 ? 8 : *cap * 2;

		if ((nv = reallocarray(*v, ncap, sizeof *nv)) == NULL)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	if ((t = strdup(topic)) == NULL)
		return -1;
	(*v)[*n].topic = t;
	(*v)[*n].partition = partition;
	(*v)[*n].first = first;
	(*v)[*n].last = last;
	(*v)[*n].crashes = crashes;
	(*n)++;
	return 0;
}

static void
crashguard_ranges_free(struct crashguard_range *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].topic);
	free(v);
}

/*
 * The same range read twice (being handled, and a suspect from before):
 * one suspect, with the higher count. 1 when merged.
 */
static int
crashguard_merge(struct crashguard *g, const char *topic, int32_t partition,
    int64_t first, int64_t last, int crashes)
{
	struct crashguard_range	*s;
	size_t			 i;

	for (i = 0; i < g->nsuspects; i++) {
		s = &g->suspects[i];
		if (s->partition == partition && s->first == first &&
		    s->last == last && strcmp(s->topic, topic) == 0) {
			if (crashes > s->crashes)
				s->crashes = crashes;
			return 1;
		}
	}
	return 0;
}

/*
 * Parse what the last run left (text, NUL-terminated) into the suspects;
 * crashed: the last run died of a fatal signal (the messages it was
 * handling count a crash). Returns 0, or -1 when it is not a complete
 * record (ignored, logged).
 */
static int
crashguard_read(struct crashguard *g, char *text, size_t len, int crashed)
{
	char		*line, *next, kind[16], topic[CRASHGUARD_MAX_TOPIC + 1];
	int64_t		 first, last;
	int32_t		 partition;
	size_t		 cap = 0;
	int		 crashes, used, done = 0;

	if (len == 0)
		return 0;	/* a new file */
	if (strncmp(text, CRASHGUARD_MAGIC, strlen(CRASHGUARD_MAGIC)) != 0)
		return -1;
	for (line = text + strlen(CRASHGUARD_MAGIC); *line != '\0';
	    line = next) {
		if ((next = strchr(line, '\n')) == NULL)
			return -1;	/* cut short */
		*next++ = '\0';
		if (strcmp(line, "end") == 0) {
			done = 1;
			break;
		}
		used = 0;
		if (sscanf(line, "%15s %d %" SCNd32 " %" SCNd64 " %" SCNd64
		    " %255s%n", kind, &crashes, &partition, &first, &last, topic,
		    &used) != 6 || line[used] != '\0' || crashes < 0 ||
		    crashes > CRASHGUARD_MAX_CRASHES || partition < 0 ||
		    first < 0 || last < first || !crashguard_topic_ok(topic))
			return -1;
		if (strcmp(kind, "handling") == 0 && crashed)
			crashes++;	/* it was being handled when the process crashed */
		else if (strcmp(kind, "suspect") != 0)
			return -1;
		if (crashes == 0 || crashguard_merge(g, topic, partition, first,
		    last, crashes) || g->nsuspects >= CRASHGUARD_MAX_RANGES)
			continue;
		if (crashguard_add(&g->suspects, &g->nsuspects, &cap, topic,
		    partition, first, last, crashes) != 0)
			return -1;
	}
	return done ? 0 : -1;
}

struct crashguard *
crashguard_open(const char *path, char *err, size_t errlen)
{
	struct crashguard	*g = NULL;
	char			*text = NULL, *end;
	size_t			 len = 0, i;
	ssize_t			 r;
	int			 crashed;

	if ((g = calloc(1, sizeof *g)) == NULL || (g->path = strdup(path)) ==
	    NULL || (text = malloc(CRASHGUARD_MAX_FILE + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	g->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (g->fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	/* Start-up: reading the file here may wait on the disk. */
	while (len < CRASHGUARD_MAX_FILE) {
		r = pread(g->fd, text + len, CRASHGUARD_MAX_FILE - len,
		    (off_t)len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	text[len] = '\0';
	end = strstr(text, "\n" CRASHGUARD_END);
	crashed = end != NULL && strncmp(end + 1 + strlen(CRASHGUARD_END),
	    CRASHGUARD_CRASHED, strlen(CRASHGUARD_CRASHED)) == 0;
	if (memchr(text, '\0', len) != NULL ||
	    crashguard_read(g, text, len, crashed) != 0) {
		log_warn("crashguard", "%s is not a complete record; ignored "
		    "(no message is held as a suspect)", path);
		crashguard_ranges_free(g->suspects, g->nsuspects);
		g->suspects = NULL;
		g->nsuspects = 0;
	}
	for (i = 0; i < g->nsuspects; i++)
		log_warn("crashguard", "the process died while handling "
		    "%s[%" PRId32 "] offsets %" PRId64 "..%" PRId64 " (%d "
		    "time%s in a row): they are handled one at a time now; "
		    "one that was being handled at two deaths in a row goes "
		    "to the dead-letter topic", g->suspects[i].topic,
		    g->suspects[i].partition, g->suspects[i].first,
		    g->suspects[i].last, g->suspects[i].crashes,
		    g->suspects[i].crashes == 1 ? "" : "s");
	if (len > 0 && !crashed && strstr(text, "\nhandling ") != NULL)
		log_info("crashguard", "the last run was stopped (killed, not "
		    "crashed) while handling messages: they are read again");
	free(text);
	/*
	 * This run's record from offset 0, with nothing of the last behind
	 * (an old crash mark must not be read as this run's), the suspects
	 * carried over at once.
	 */
	if (ftruncate(g->fd, 0) != 0)
		log_warn("crashguard", "%s: %s", path, strerror(errno));
	crashguard_arm(g);
	crashguard_write(g);
	return g;
fail:
	free(text);
	crashguard_free(g);
	return NULL;
}

/*
 * "crashed <sig>" after the record (what the fatal-signal handler does;
 * tests call it to play a crash). Async-signal-safe: no stdio, no malloc.
 */
void
crashguard_note_crash(int sig)
{
	char	line[32] = CRASHGUARD_CRASHED;
	size_t	n = strlen(CRASHGUARD_CRASHED);
	int	fd = crashguard_sig_fd, v = sig, i, k;
	char	digits[12];

	/* The signal number in decimal, by hand: no stdio in a handler. */
	for (k = 0; v > 0 && k < (int)sizeof digits; v /= 10)
		digits[k++] = (char)('0' + v % 10);
	for (i = k - 1; i >= 0; i--)
		line[n++] = digits[i];
	line[n++] = '\n';
	/*
	 * A failed write cannot be reported from here. (A cast to void does
	 * not silence warn_unused_result, which _FORTIFY_SOURCE builds such
	 * as the Debian package's turn on.)
	 */
	if (fd >= 0 && pwrite(fd, line, n, (off_t)crashguard_sig_off) < 0)
		return;
}

/* A fatal signal: say so after the record, then let the signal end us. */
static void
crashguard_on_signal(int sig)
{
	crashguard_note_crash(sig);
	/* SA_RESETHAND restored the default action: the fault or abort() ends us. */
}

/*
 * Install the fatal-signal handlers, on an alternate stack so that a stack
 * overflow (SIGSEGV) can still run one. Done once per process.
 */
static void
crashguard_arm(struct crashguard *g)
{
	static int		 armed;
	static char		*altstack;
	struct sigaction	 sa;
	stack_t			 ss;
	size_t			 i;

	crashguard_sig_fd = g->fd;
	crashguard_sig_off = 0;
	if (armed)
		return;
	if ((altstack = malloc(65536)) != NULL) {
		memset(&ss, 0, sizeof ss);
		ss.ss_sp = altstack;
		ss.ss_size = 65536;
		if (sigaltstack(&ss, NULL) != 0)
			log_warn("crashguard", "sigaltstack: %s", strerror(errno));
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = crashguard_on_signal;
	sa.sa_flags = SA_RESETHAND | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof crashguard_signals / sizeof crashguard_signals[0];
	    i++)
		if (sigaction(crashguard_signals[i], &sa, NULL) != 0)
			log_warn("crashguard", "sigaction %d: %s",
			    crashguard_signals[i], strerror(errno));
	armed = 1;
}

void
crashguard_free(struct crashguard *g)
{
	if (g == NULL)
		return;
	if (crashguard_sig_fd == g->fd)
		crashguard_sig_fd = -1;
	if (g->fd >= 0)
		close(g->fd);
	crashguard_ranges_free(g->suspects, g->nsuspects);
	crashguard_ranges_free(g->open, g->nopen);
	free(g->buf);
	free(g->path);
	free(g);
}

int
crashguard_crashes(const struct crashguard *g, const char *topic,
    int32_t partition, int64_t offset)
{
	const struct crashguard_range	*s;
	size_t				 i;
	int				 n = 0;

	if (g == NULL)
		return 0;
	for (i = 0; i < g->nsuspects; i++) {
		s = &g->suspects[i];
		if (s->partition == partition && offset >= s->first &&
		    offset <= s->last && s->crashes > n &&
		    strcmp(s->topic, topic) == 0)
			n = s->crashes;
	}
	return n;
}

/* Append formatted text to the record being built (dropped when out of memory). */
static void
crashguard_put(struct crashguard *g, const char *fmt, ...)
{
	va_list	 ap;
	char	*nb;
	size_t	 ncap;
	int	 n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(g->buf != NULL ? g->buf + g->len : NULL,
		    g->cap - g->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < g->cap - g->len) {
			g->len += (size_t)n;
			return;
		}
		ncap = g->cap == 0 ? 1024 : g->cap * 2;
		while (ncap - g->len <= (size_t)n)
			ncap *= 2;
		if ((nb = realloc(g->buf, ncap)) == NULL)
			return;
		g->buf = nb;
		g->cap = ncap;
	}
}

/* Rewrite the record: what is open, then the suspects still waiting. */
static void
crashguard_write(struct crashguard *g)
{
	const struct crashguard_range	*r;
	size_t				 i;
	ssize_t				 n;

	g->len = 0;
	crashguard_put(g, "%s", CRASHGUARD_MAGIC);
	for (i = 0; i < g->nopen; i++) {
		r = &g->open[i];
		crashguard_put(g, "handling %d %" PRId32 " %" PRId64 " %" PRId64
		    " %s\n", r->crashes, r->partition, r->first, r->last,
		    r->topic);
	}
	for (i = 0; i < g->nsuspects; i++) {
		r = &g->suspects[i];
		crashguard_put(g, "suspect %d %" PRId32 " %" PRId64 " %" PRId64
		    " %s\n", r->crashes, r->partition, r->first, r->last,
		    r->topic);
	}
	crashguard_put(g, "%s", CRASHGUARD_END);
	if (g->buf == NULL)
		return;
	/* No fsync: see the top of this file. */
	n = pwrite(g->fd, g->buf, g->len, 0);
	if (n < 0 || (size_t)n != g->len) {
		if (!g->failed)
			log_error("crashguard", "%s: cannot record what intake "
			    "handles (%s): a message that crashes the process "
			    "may do so again at every start", g->path,
			    n < 0 ? strerror(errno) : "short write");
		g->failed = 1;
		return;
	}
	g->failed = 0;
	crashguard_sig_off = (sig_atomic_t)g->len;
}

void
crashguard_handling(struct crashguard *g, const char *topic,
    int32_t partition, int64_t offset)
{
	struct crashguard_range	*r = NULL;
	size_t			 i;
	int			 crashes;

	if (g == NULL)
		return;
	crashes = crashguard_crashes(g, topic, partition, offset);
	for (i = 0; i < g->nopen && r == NULL; i++)
		if (g->open[i].partition == partition &&
		    strcmp(g->open[i].topic, topic) == 0)
			r = &g->open[i];
	if (r == NULL) {
		if (crashguard_add(&g->open, &g->nopen, &g->opencap, topic,
		    partition, offset, offset, crashes) != 0)
			return;
	} else {
		if (offset < r->first)
			r->first = offset;
		if (offset > r->last)
			r->last = offset;
		if (crashes > r->crashes)
			r->crashes = crashes;
	}
	crashguard_write(g);
}

/* Drop the suspects whose first offset is past the end (in place). */
static void
crashguard_compact(struct crashguard *g)
{
	size_t i, k;

	for (i = k = 0; i < g->nsuspects; i++) {
		if (g->suspects[i].first > g->suspects[i].last)
			free(g->suspects[i].topic);
		else
			g->suspects[k++] = g->suspects[i];
	}
	g->nsuspects = k;
}

void
crashguard_passed(struct crashguard *g, const char *topic, int32_t partition,
    int64_t next)
{
	struct crashguard_range	*s;
	size_t			 i;
	int			 found = 0;

	if (g == NULL)
		return;
	for (i = 0; i < g->nsuspects; i++) {
		s = &g->suspects[i];
		if (s->partition == partition && s->first < next &&
		    strcmp(s->topic, topic) == 0) {
			s->first = next;
			found = 1;
		}
	}
	/* The file catches up at the next write; until then it says more. */
	if (found)
		crashguard_compact(g);
}

void
crashguard_idle(struct crashguard *g)
{
	struct crashguard_range	*o, *s;
	size_t			 i, j;

	if (g == NULL || g->nopen == 0)
		return;
	/*
	 * Handled without a crash: no longer suspects. Messages are handled
	 * in offset order, so what was handled is a suspect range's front.
	 */
	for (i = 0; i < g->nopen; i++) {
		o = &g->open[i];
		for (j = 0; j < g->nsuspects; j++) {
			s = &g->suspects[j];
			if (s->partition == o->partition &&
			    o->first <= s->first && o->last >= s->first &&
			    strcmp(s->topic, o->topic) == 0)
				s->first = o->last + 1;
		}
	}
	crashguard_compact(g);
	for (i = 0; i < g->nopen; i++)
		free(g->open[i].topic);
	g->nopen = 0;
	crashguard_write(g);
}
