/*
 * log: the one logging module. Every line is a JSON object on stderr:
 *   {"ts":"2026-11-25T14:15:49.123Z","level":"info","mod":"engine","msg":"..."}
 * Secrets are redacted here, at the single point every line passes through:
 * Authorization headers, bearer/SSWS tokens, access_token/assertion/token
 * fields and PEM blocks never reach the output.
 */
#ifndef DEPROV_LOG_H
#define DEPROV_LOG_H

#include <stddef.h>

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

/* Redact secrets in place in a NUL-terminated string; returns how many were masked. */
size_t log_redact(char *s);

/* Install libevent's log callback so its messages go through this module. */
void log_hook_libevent(void);

#endif
