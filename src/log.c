/*
 * log: JSON-lines logging with levels and secret redaction. All output of the
 * daemon (its own, libevent's, librdkafka's and curl's) is funnelled through
 * log_msg so that redaction happens in exactly one place.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "deprov/log.h"

static enum log_level log_level = LOG_LEVEL_INFO;
static FILE *log_stream;
static int log_fd = 2;		/* log_stream's descriptor, for log_emergency */

static const char *log_level_names[] = { "error", "warn", "info", "debug" };

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

void
log_set_stream(void *file)
{
	log_stream = file;
	log_fd = file != NULL ? fileno((FILE *)file) : 2;
}

/* Mask n bytes from p with '*', keeping a short marker. */
static void
log_mask(char *p, size_t n)
{
	memset(p, '*', n);
}

/* Length of a token run starting at p (stops at quote, space, &, comma, brace). */
static size_t
log_token_len(const char *p)
{
	size_t n = 0;

	while (p[n] != '\0' && p[n] != '"' && p[n] != '\'' && p[n] != '&' &&
	    p[n] != ',' && p[n] != '}' && p[n] != '\r' && p[n] != '\n' &&
	    !isspace((unsigned char)p[n]) && p[n] != '\\')
		n++;
	return n;
}

/*
 * Case-insensitive (ASCII) search for key in s, like strcasestr but without
 * its per-call set-up: jump between occurrences of the key's first byte in
 * either case (strpbrk), then compare. The audit trail redacts every record
 * it writes, so this runs for every step of every case.
 */
static char *
log_find(char *s, const char *key, size_t klen)
{
	char	 first[3];
	int	 lo = tolower((unsigned char)key[0]);
	int	 up = toupper((unsigned char)key[0]);

	first[0] = (char)lo;
	first[1] = lo != up ? (char)up : '\0';
	first[2] = '\0';
	for (; (s = strpbrk(s, first)) != NULL; s++)
		if (strncasecmp(s, key, klen) == 0)
			return s;
	return NULL;
}

/*
 * Mask the value after every case-insensitive occurrence of key. For a
 * scheme key ("Bearer ") the value is the following token; for a JSON key
 * ("access_token") the value is the string after the colon; for a form key
 * ("assertion=") the value runs to the next '&'.
 */
static size_t
log_redact_after(char *s, const char *key)
{
	size_t	 klen = strlen(key), count = 0, n;
	char	*p = s, *v;

	while ((p = log_find(p, key, klen)) != NULL) {
		v = p + klen;
		if (key[klen - 1] == '"') {
			/* JSON member: skip optional spaces, colon, spaces, quote. */
			while (*v == ' ')
				v++;
			if (*v != ':') {
				p = v;
				continue;
			}
			v++;
			while (*v == ' ')
				v++;
			if (*v == '\\' && v[1] == '"')
				v += 2;
			else if (*v == '"')
				v++;
			else {
				p = v;
				continue;
			}
		} else {
			while (*v == ' ')
				v++;
		}
		n = log_token_len(v);
		if (n > 0) {
			log_mask(v, n);
			count++;
		}
		p = v + n;
	}
	return count;
}

/* Mask PEM blocks: everything between -----BEGIN and -----END. */
static size_t
log_redact_pem(char *s)
{
	char	*b, *e;
	size_t	 count = 0;

	while ((b = strstr(s, "-----BEGIN")) != NULL) {
		e = strstr(b + 10, "-----END");
		if (e == NULL)
			e = b + strlen(b);
		log_mask(b, (size_t)(e - b));
		count++;
		s = e;
		if (*s == '\0')
			break;
		s += 8;
	}
	return count;
}

/* The keys whose value log_redact masks (at most 31 of them). */
static const char *log_keys[] = {
	"Bearer ", "SSWS ", "Basic ", "Authorization: ",
	"\"access_token\"", "\"refresh_token\"", "\"id_token\"",
	"\"token\"", "\"assertion\"", "\"client_secret\"", "\"password\"",
	"\"private_key\"", "\"DeleteToken\"", "\"secret\"",
	"assertion=", "token=", "client_secret=", "password=",
	"client_assertion=", "access_token=", "refresh_token=",
	"X-Okta-Verification-Challenge: ",
};
#define LOG_NKEYS	(sizeof log_keys / sizeof log_keys[0])
#define LOG_PEM_BIT	(1u << 31)

/* Per byte: the keys starting with it (either case), LOG_PEM_BIT for '-'. */
static uint32_t		log_first[256];
static size_t		log_keylen[LOG_NKEYS];
static pthread_once_t	log_once = PTHREAD_ONCE_INIT;

static void
log_keys_init(void)
{
	size_t		i;
	unsigned char	c;

	for (i = 0; i < LOG_NKEYS; i++) {
		c = (unsigned char)log_keys[i][0];
		log_first[tolower(c)] |= 1u << i;
		log_first[toupper(c)] |= 1u << i;
		log_keylen[i] = strlen(log_keys[i]);
	}
	log_first['-'] |= LOG_PEM_BIT;
}

size_t
log_redact(char *s)
{
	uint32_t	 found = 0, m;
	size_t		 count = 0, i;
	const char	*p;

	/*
	 * One pass finds which keys occur at all (a table says which keys
	 * start with each byte); only those are redacted, in the same order
	 * as always. Masking never creates a key, so skipping a key that is
	 * absent from the original text changes nothing. The audit trail
	 * redacts every record it writes, so this is a hot path.
	 */
	pthread_once(&log_once, log_keys_init);
	for (p = s; *p != '\0'; p++) {
		if ((m = log_first[(unsigned char)*p] & ~found) == 0)
			continue;
		if ((m & LOG_PEM_BIT) && strncmp(p, "-----BEGIN", 10) == 0)
			found |= LOG_PEM_BIT;
		m &= ~LOG_PEM_BIT;
		while (m != 0) {
			i = (size_t)__builtin_ctz(m);
			m &= m - 1;
			/* The second byte first: most candidates end there. */
			if (tolower((unsigned char)p[1]) ==
			    tolower((unsigned char)log_keys[i][1]) &&
			    strncasecmp(p, log_keys[i], log_keylen[i]) == 0)
				found |= 1u << i;
		}
	}
	for (i = 0; i < LOG_NKEYS && (found & ~LOG_PEM_BIT) != 0; i++)
		if (found & (1u << i))
			count += log_redact_after(s, log_keys[i]);
	if (found & LOG_PEM_BIT)
		count += log_redact_pem(s);
	return count;
}

/* Append s to out as JSON string content (without quotes). */
static size_t
log_escape(char *out, size_t outlen, const char *s)
{
	size_t	 o = 0;
	unsigned char c;

	for (; *s != '\0' && o + 7 < outlen; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c == '\r') {
			out[o++] = '\\';
			out[o++] = 'r';
		} else if (c == '\t') {
			out[o++] = '\\';
			out[o++] = 't';
		} else if (c < 0x20)
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return o;
}

void
log_msg(enum log_level level, const char *mod, const char *fmt, ...)
{
	char		 msg[4096], esc[8192], ts[32];
	va_list		 ap;
	struct timeval	 tv;
	struct tm	 tm;
	FILE		*f = log_stream != NULL ? log_stream : stderr;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_redact(msg);
	log_escape(esc, sizeof esc, msg);

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "{\"ts\":\"%s.%03dZ\",\"level\":\"%s\",\"mod\":\"%s\","
	    "\"msg\":\"%s\"}\n", ts, (int)(tv.tv_usec / 1000),
	    log_level_names[level], mod, esc);
	fflush(f);
}

int
log_ratelimit_at(struct log_ratelimit *rl, int64_t now_ms, uint64_t *suppressed)
{
	if (rl->started && now_ms < rl->next_ms) {
		rl->suppressed++;
		return 0;
	}
	rl->started = 1;
	rl->next_ms = now_ms + (rl->interval_ms > 0 ? rl->interval_ms : 0);
	if (suppressed != NULL)
		*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return 1;
}

int
log_ratelimit(struct log_ratelimit *rl, uint64_t *suppressed)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return log_ratelimit_at(rl, (int64_t)ts.tv_sec * 1000 +
	    ts.tv_nsec / 1000000, suppressed);
}

/* Append s to buf at *n (bounded); async-signal-safe. */
static void
log_put(char *buf, size_t len, size_t *n, const char *s)
{
	while (*s != '\0' && *n + 1 < len)
		buf[(*n)++] = *s++;
}

/* Append v as exactly width decimal digits. */
static void
log_put_num(char *buf, size_t len, size_t *n, long long v, int width)
{
	char	d[24];
	int	i;

	for (i = width - 1; i >= 0; i--) {
		d[i] = (char)('0' + v % 10);
		v /= 10;
	}
	d[width] = '\0';
	log_put(buf, len, n, d);
}

void
log_emergency(enum log_level level, const char *mod, const char *msg)
{
	char		 buf[512];
	size_t		 n = 0;
	struct timespec	 ts;
	long long	 days, secs, z, era, doe, yoe, doy, mp, y, m, d;
	ssize_t		 w;
	size_t		 off;

	clock_gettime(CLOCK_REALTIME, &ts);
	days = (long long)ts.tv_sec / 86400;
	secs = (long long)ts.tv_sec % 86400;
	/* Civil date from days since 1970-01-01 (H. Hinnant's algorithm). */
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	log_put(buf, sizeof buf, &n, "{\"ts\":\"");
	log_put_num(buf, sizeof buf, &n, y, 4);
	log_put(buf, sizeof buf, &n, "-");
	log_put_num(buf, sizeof buf, &n, m, 2);
	log_put(buf, sizeof buf, &n, "-");
	log_put_num(buf, sizeof buf, &n, d, 2);
	log_put(buf, sizeof buf, &n, "T");
	log_put_num(buf, sizeof buf, &n, secs / 3600, 2);
	log_put(buf, sizeof buf, &n, ":");
	log_put_num(buf, sizeof buf, &n, secs / 60 % 60, 2);
	log_put(buf, sizeof buf, &n, ":");
	log_put_num(buf, sizeof buf, &n, secs % 60, 2);
	log_put(buf, sizeof buf, &n, ".");
	log_put_num(buf, sizeof buf, &n, ts.tv_nsec / 1000000, 3);
	log_put(buf, sizeof buf, &n, "Z\",\"level\":\"");
	log_put(buf, sizeof buf, &n, log_level_names[level]);
	log_put(buf, sizeof buf, &n, "\",\"mod\":\"");
	log_put(buf, sizeof buf, &n, mod);
	log_put(buf, sizeof buf, &n, "\",\"msg\":\"");
	log_put(buf, sizeof buf, &n, msg);
	log_put(buf, sizeof buf, &n, "\"}\n");
	if (buf[n - 1] != '\n')
		buf[n - 1] = '\n';
	for (off = 0; off < n; off += (size_t)w)
		if ((w = write(log_fd, buf + off, n - off)) <= 0)
			break;
}

static void
log_libevent_cb(int severity, const char *msg)
{
	static struct log_ratelimit	 rl = { .interval_ms = 1000 };
	enum log_level			 level;
	uint64_t			 n = 0;

	switch (severity) {
	case EVENT_LOG_DEBUG:
		level = LOG_LEVEL_DEBUG;
		break;
	case EVENT_LOG_MSG:
		level = LOG_LEVEL_INFO;
		break;
	case EVENT_LOG_WARN:
		level = LOG_LEVEL_WARN;
		break;
	default:
		level = LOG_LEVEL_ERROR;
		break;
	}
	/*
	 * libevent repeats a failing operation's warning at the rate it fails
	 * (an accept loop at the descriptor limit): one line per second.
	 */
	if (level <= LOG_LEVEL_WARN && level <= log_level) {
		if (!log_ratelimit(&rl, &n))
			return;
		if (n > 0) {
			log_msg(level, "libevent", "%s (%llu similar lines "
			    "suppressed)", msg, (unsigned long long)n);
			return;
		}
	}
	log_msg(level, "libevent", "%s", msg);
}

void
log_hook_libevent(void)
{
	event_set_log_callback(log_libevent_cb);
}
