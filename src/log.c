/*
 * log: JSON-lines logging with levels and secret redaction. All output of the
 * daemon (its own, libevent's, librdkafka's and curl's) is funnelled through
 * log_msg so that redaction happens in exactly one place. Redaction is two
 * things: the registry of secret values (every configured credential and
 * every token fetched at run time, masked wherever it shows up, also
 * encoded), and the keywords that announce a secret (Authorization headers,
 * token fields, PEM blocks) for secrets nobody registered.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "deprov/clock.h"
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
	size_t		 count, i;
	const char	*p;

	/*
	 * Values first: a keyword's mask stops at a comma or a quote, and a
	 * secret holding one would no longer match once partly masked.
	 */
	count = log_redact_secrets(s);

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

/*
 * The registry of secret values. Every form a value may take in a target's
 * answer becomes a pattern: the value, JSON-escaped (with and without "\/"),
 * URL-encoded (either case of hex digits), and base64 in both alphabets at
 * each of the three alignments it can have inside a longer encoding ("Basic
 * base64(id:secret)"): only the characters that depend on the value alone,
 * so it is found whatever comes before and after it. A PEM value adds the
 * lines of its body. The patterns are rebuilt whenever the registry changes
 * (rare: start-up, a token fetch) and indexed by their first two bytes, so
 * that masking is one pass over the text.
 */
struct log_secret {
	char	*value;
	int	 refs;		/* log_secret_add count; 0 for an expiring token */
	time_t	 expires;	/* log_secret_add_for: forgotten after this */
};

struct log_pattern {
	char	*s;
	size_t	 len;
};

static pthread_rwlock_t		 log_secrets_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct log_secret	*log_secrets;
static size_t			 log_nsecrets;
static struct log_pattern	*log_patterns;	/* by first byte, longest first */
static size_t			 log_npatterns;
static size_t			 log_pattern_from[257];	/* first byte -> index */
static uint8_t			 log_pattern_pairs[65536 / 8];

static const char log_b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char log_b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* A growing list of patterns while the index is rebuilt. */
struct log_pattern_list {
	struct log_pattern	*v;
	size_t			 n;
	size_t			 cap;
	int			 oom;
};

static void
log_pattern_add(struct log_pattern_list *l, const char *s, size_t len)
{
	struct log_pattern	*nv;
	size_t			 i;

	if (len < LOG_SECRET_MIN || l->oom)
		return;
	for (i = 0; i < l->n; i++)
		if (l->v[i].len == len && memcmp(l->v[i].s, s, len) == 0)
			return;
	if (l->n == l->cap) {
		if ((nv = reallocarray(l->v, l->cap ? l->cap * 2 : 64,
		    sizeof *nv)) == NULL) {
			l->oom = 1;
			return;
		}
		l->v = nv;
		l->cap = l->cap ? l->cap * 2 : 64;
	}
	if ((l->v[l->n].s = malloc(len)) == NULL) {
		l->oom = 1;
		return;
	}
	memcpy(l->v[l->n].s, s, len);
	l->v[l->n++].len = len;
}

/* v JSON-escaped as json-c writes it (slash escaped or not); out has 6n+1. */
static size_t
log_json_escape(char *out, const char *v, size_t n, int slash)
{
	static const char hex[] = "0123456789abcdef";
	size_t		  i, o = 0;
	unsigned char	  c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)v[i];
		if (c == '"' || c == '\\' || (c == '/' && slash)) {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' ||
		    c == '\f') {
			out[o++] = '\\';
			out[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ?
			    't' : c == '\b' ? 'b' : 'f';
		} else if (c < 0x20) {
			memcpy(out + o, "\\u00", 4);
			out[o + 4] = hex[c >> 4];
			out[o + 5] = hex[c & 15];
			o += 6;
		} else
			out[o++] = (char)c;
	}
	return o;
}

/* v percent-encoded (all but RFC 3986 unreserved); out has 3n+1. */
static size_t
log_url_escape(char *out, const char *v, size_t n, const char *hex)
{
	size_t		i, o = 0;
	unsigned char	c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)v[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			out[o++] = (char)c;
		else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	return o;
}

/*
 * The base64 characters that depend only on v when v starts at byte
 * offset align (0..2) of a 3-byte group; out has 4n/3+8.
 */
static size_t
log_b64_core(char *out, const char *v, size_t n, int align,
    const char *alphabet)
{
	unsigned char	buf[3];
	unsigned long	w;
	size_t		i, k, o = 0, total = (size_t)align + n, from, to, c;

	/* Characters [ceil(8*align/6), floor(8*total/6)) are v's alone. */
	from = ((size_t)align * 8 + 5) / 6;
	to = total * 8 / 6;
	for (i = 0, c = 0; i < total; i += 3) {
		for (k = 0; k < 3; k++)
			buf[k] = i + k >= (size_t)align && i + k < total ?
			    (unsigned char)v[i + k - (size_t)align] : 0;
		w = (unsigned long)buf[0] << 16 | (unsigned long)buf[1] << 8 |
		    buf[2];
		for (k = 0; k < 4; k++, c++)
			if (c >= from && c < to)
				out[o++] = alphabet[(w >> (18 - 6 * k)) & 63];
	}
	return o;
}

/* Every form of one value (see above). */
static void
log_secret_forms(struct log_pattern_list *l, const char *v, size_t n)
{
	char	*buf, *b64;
	size_t	 len, blen;
	int	 a, alpha;

	if ((buf = malloc(n * 6 + 16)) == NULL ||
	    (b64 = malloc(n * 2 + 16)) == NULL) {
		free(buf);
		l->oom = 1;
		return;
	}
	log_pattern_add(l, v, n);
	len = log_json_escape(buf, v, n, 1);
	log_pattern_add(l, buf, len);
	len = log_json_escape(buf, v, n, 0);
	log_pattern_add(l, buf, len);
	len = log_url_escape(buf, v, n, "0123456789ABCDEF");
	log_pattern_add(l, buf, len);
	len = log_url_escape(buf, v, n, "0123456789abcdef");
	log_pattern_add(l, buf, len);
	for (alpha = 0; alpha < 2; alpha++) {
		for (a = 0; a < 3; a++) {
			blen = log_b64_core(b64, v, n, a, alpha ? log_b64_url :
			    log_b64_std);
			if (blen < LOG_SECRET_MIN)
				continue;
			log_pattern_add(l, b64, blen);
			/* Standard base64 inside JSON ("\/") or a URL ("%2F"). */
			len = log_json_escape(buf, b64, blen, 1);
			log_pattern_add(l, buf, len);
			len = log_url_escape(buf, b64, blen, "0123456789ABCDEF");
			log_pattern_add(l, buf, len);
		}
	}
	free(b64);
	free(buf);
}

/* Sort by first byte, then longest first (the longest match is masked). */
static int
log_pattern_cmp(const void *a, const void *b)
{
	const struct log_pattern *x = a, *y = b;

	if ((unsigned char)x->s[0] != (unsigned char)y->s[0])
		return (unsigned char)x->s[0] < (unsigned char)y->s[0] ? -1 : 1;
	return x->len > y->len ? -1 : x->len < y->len;
}

/* Rebuild the patterns from the registry; the write lock is held. */
static void
log_secrets_index(void)
{
	struct log_pattern_list	 l = { NULL, 0, 0, 0 };
	const char		*v, *line, *end;
	size_t			 i, n, c;

	for (i = 0; i < log_npatterns; i++) {
		explicit_bzero(log_patterns[i].s, log_patterns[i].len);
		free(log_patterns[i].s);
	}
	free(log_patterns);
	log_patterns = NULL;
	log_npatterns = 0;
	memset(log_pattern_from, 0, sizeof log_pattern_from);
	memset(log_pattern_pairs, 0, sizeof log_pattern_pairs);
	for (i = 0; i < log_nsecrets; i++) {
		v = log_secrets[i].value;
		log_secret_forms(&l, v, strlen(v));
		if (strstr(v, "-----BEGIN") == NULL)
			continue;
		/* A key's body lines, each of which may show up alone. */
		for (line = v; *line != '\0'; line = *end ? end + 1 : end) {
			end = line + strcspn(line, "\r\n");
			n = (size_t)(end - line);
			if (n >= 16 && strncmp(line, "-----", 5) != 0)
				log_secret_forms(&l, line, n);
		}
	}
	if (l.n > 0)
		qsort(l.v, l.n, sizeof *l.v, log_pattern_cmp);
	log_patterns = l.v;
	log_npatterns = l.n;
	for (i = 0; i < l.n; i++) {
		unsigned char c0 = (unsigned char)l.v[i].s[0];
		unsigned char c1 = (unsigned char)l.v[i].s[1];

		log_pattern_pairs[(c0 << 8 | c1) >> 3] |=
		    (uint8_t)(1u << (c1 & 7));
	}
	/* The patterns starting with byte c are [from[c], from[c + 1]). */
	for (c = 0, i = 0; c <= 256; c++) {
		while (i < l.n && (unsigned char)l.v[i].s[0] < c)
			i++;
		log_pattern_from[c] = i;
	}
}

/* Forget expiring tokens whose time is over; the write lock is held. */
static int
log_secrets_expire(time_t now)
{
	size_t	i, k;
	int	changed = 0;

	for (i = k = 0; i < log_nsecrets; i++) {
		if (log_secrets[i].refs == 0 && log_secrets[i].expires <= now) {
			explicit_bzero(log_secrets[i].value,
			    strlen(log_secrets[i].value));
			free(log_secrets[i].value);
			changed = 1;
		} else
			log_secrets[k++] = log_secrets[i];
	}
	log_nsecrets = k;
	return changed;
}

/* Add value with refs (0 = expiring at expires); 0 or -1. */
static int
log_secret_put(const char *value, int refs, time_t expires)
{
	struct log_secret	*nv;
	size_t			 i;
	int			 rc = -1;

	if (value == NULL || strlen(value) < LOG_SECRET_MIN)
		return 0;	/* too short to tell from ordinary words */
	pthread_rwlock_wrlock(&log_secrets_lock);
	if (log_secrets_expire(time(NULL)))
		log_secrets_index();
	for (i = 0; i < log_nsecrets; i++) {
		if (strcmp(log_secrets[i].value, value) != 0)
			continue;
		if (refs > 0 && log_secrets[i].refs > 0)
			log_secrets[i].refs += refs;
		else if (refs > 0)
			log_secrets[i].refs = refs;	/* no longer expires */
		else if (log_secrets[i].refs == 0 &&
		    expires > log_secrets[i].expires)
			log_secrets[i].expires = expires;
		rc = 0;
		goto done;
	}
	if (log_nsecrets >= LOG_SECRETS_MAX)
		goto done;
	if ((nv = reallocarray(log_secrets, log_nsecrets + 1,
	    sizeof *nv)) == NULL)
		goto done;
	log_secrets = nv;
	if ((nv[log_nsecrets].value = strdup(value)) == NULL)
		goto done;
	nv[log_nsecrets].refs = refs;
	nv[log_nsecrets].expires = expires;
	log_nsecrets++;
	log_secrets_index();
	rc = 0;
done:
	pthread_rwlock_unlock(&log_secrets_lock);
	return rc;
}

int
log_secret_add(const char *value)
{
	return log_secret_put(value, 1, 0);
}

int
log_secret_add_for(const char *value, long ttl_s)
{
	return log_secret_put(value, 0, time(NULL) + (ttl_s > 0 ? ttl_s : 0));
}

void
log_secret_remove(const char *value)
{
	size_t i;

	if (value == NULL)
		return;
	pthread_rwlock_wrlock(&log_secrets_lock);
	for (i = 0; i < log_nsecrets; i++) {
		if (log_secrets[i].refs == 0 ||
		    strcmp(log_secrets[i].value, value) != 0)
			continue;
		if (--log_secrets[i].refs == 0) {
			explicit_bzero(log_secrets[i].value,
			    strlen(log_secrets[i].value));
			free(log_secrets[i].value);
			log_secrets[i] = log_secrets[--log_nsecrets];
			log_secrets_index();
		}
		break;
	}
	pthread_rwlock_unlock(&log_secrets_lock);
}

void
log_secret_clear(void)
{
	size_t i;

	pthread_rwlock_wrlock(&log_secrets_lock);
	for (i = 0; i < log_nsecrets; i++) {
		explicit_bzero(log_secrets[i].value,
		    strlen(log_secrets[i].value));
		free(log_secrets[i].value);
	}
	free(log_secrets);
	log_secrets = NULL;
	log_nsecrets = 0;
	log_secrets_index();
	pthread_rwlock_unlock(&log_secrets_lock);
}

size_t
log_secret_count(void)
{
	size_t n;

	pthread_rwlock_rdlock(&log_secrets_lock);
	n = log_nsecrets;
	pthread_rwlock_unlock(&log_secrets_lock);
	return n;
}

size_t
log_redact_secrets(char *s)
{
	const struct log_pattern	*p;
	size_t				 len, i, j, count = 0;
	unsigned char			 c0, c1;

	pthread_rwlock_rdlock(&log_secrets_lock);
	if (log_npatterns == 0)
		goto done;
	len = strlen(s);
	for (i = 0; i + 1 < len; i++) {
		c0 = (unsigned char)s[i];
		c1 = (unsigned char)s[i + 1];
		if (!(log_pattern_pairs[(c0 << 8 | c1) >> 3] &
		    (1u << (c1 & 7))))
			continue;
		for (j = log_pattern_from[c0]; j < log_pattern_from[c0 + 1];
		    j++) {
			p = &log_patterns[j];
			if (p->len <= len - i &&
			    memcmp(s + i, p->s, p->len) == 0) {
				log_mask(s + i, p->len);
				count++;
				i += p->len - 1;
				break;
			}
		}
	}
done:
	pthread_rwlock_unlock(&log_secrets_lock);
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
	int64_t		 now;
	time_t		 secs;
	struct tm	 tm;
	FILE		*f = log_stream != NULL ? log_stream : stderr;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_redact(msg);
	log_escape(esc, sizeof esc, msg);

	now = clock_wall_ms();
	secs = (time_t)(now / 1000);
	gmtime_r(&secs, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "{\"ts\":\"%s.%03dZ\",\"level\":\"%s\",\"mod\":\"%s\","
	    "\"msg\":\"%s\"}\n", ts, (int)(now % 1000),
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
	return log_ratelimit_at(rl, clock_mono_ms(), suppressed);
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
	int64_t		 now = clock_wall_ms();	/* async-signal-safe */
	long long	 days, secs, z, era, doe, yoe, doy, mp, y, m, d;
	ssize_t		 w;
	size_t		 off;

	days = (long long)(now / 1000) / 86400;
	secs = (long long)(now / 1000) % 86400;
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
	log_put_num(buf, sizeof buf, &n, (long long)(now % 1000), 3);
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
