/*
 * log: the one logging module. Every line is a JSON object on stderr:
 *   {"ts":"2026-11-25T14:15:49.123Z","level":"info","mod":"engine","msg":"..."}
 * Secrets are redacted here, at the single point every line passes through:
 * registered secret values in any encoding (see log_secret_add),
 * Authorization headers, bearer/SSWS tokens, access_token/assertion/token
 * fields and PEM blocks never reach the output.
 */
#ifndef DEPROV_LOG_H
#define DEPROV_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Redirect output (tests); NULL restores stderr. */
void log_set_stream(void *file);

void log_msg(enum log_level level, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(mod, ...) log_msg(LOG_LEVEL_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOG_LEVEL_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...) log_msg(LOG_LEVEL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LOG_LEVEL_DEBUG, mod, __VA_ARGS__)

/*
 * One line written with write(2) alone (no stdio, no locks, no allocation):
 * safe in a signal handler, just before _exit. mod and msg are written as
 * they are (no escaping, no redaction): pass constants.
 */
void log_emergency(enum log_level level, const char *mod, const char *msg);

/*
 * Redact secrets in place in a NUL-terminated string: every registered
 * secret value (below), then the keywords; returns how many were masked.
 */
size_t log_redact(char *s);

/*
 * Secret values. Keywords find a secret only when something announces it;
 * a target that echoes a credential in an error ("credential <token> is not
 * valid") announces nothing. So every configured secret (config.c) and
 * every token fetched at run time (auth.c) is registered here, and
 * log_redact masks it wherever it appears: as is, JSON-escaped, URL-encoded
 * and in base64 (either alphabet, also inside a longer encoding such as
 * "Basic base64(id:secret)"); for a PEM key, also each line of its body.
 * Values shorter than LOG_SECRET_MIN bytes are not registered (they would
 * mask ordinary words). The registry is shared by every thread (librdkafka
 * logs from its own) and copies the values.
 *
 * log_secret_add counts (added twice, removed twice); log_secret_add_for
 * registers a token that is forgotten ttl_s seconds from now.
 * log_redact_secrets masks only registered values (a target's answer text,
 * which the keywords would garble). log_secret_clear and log_secret_count
 * are for tests.
 */
#define LOG_SECRET_MIN		8
#define LOG_SECRETS_MAX		4096

int	log_secret_add(const char *value);
int	log_secret_add_for(const char *value, long ttl_s);
void	log_secret_remove(const char *value);
void	log_secret_clear(void);
size_t	log_secret_count(void);
size_t	log_redact_secrets(char *s);

/*
 * A message that may repeat many times a second (accept errors, refused
 * connections) is written at most once per interval; the calls refused in
 * between are counted and the count is handed to the next line that is
 * written. Zero-initialise, set interval_ms, then:
 *
 *	uint64_t n;
 *	if (log_ratelimit(&rl, &n))
 *		log_warn("api", "accept: %s (%" PRIu64 " more suppressed)", why, n);
 */
struct log_ratelimit {
	int64_t		 interval_ms;
	int64_t		 next_ms;	/* no line before this (monotonic ms) */
	uint64_t	 suppressed;	/* refused since the last line */
	int		 started;
};

/* 1 when a line may be written now (*suppressed = how many were refused since the last one), else 0. */
int	log_ratelimit(struct log_ratelimit *, uint64_t *suppressed);
/* The same at a given monotonic time in ms (tests). */
int	log_ratelimit_at(struct log_ratelimit *, int64_t now_ms,
	    uint64_t *suppressed);

/*
 * Install libevent's log callback so its messages go through this module.
 * Its warnings and errors are rate-limited (one line per second, with a
 * count of those suppressed).
 */
void log_hook_libevent(void);

#endif
