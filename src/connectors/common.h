/*
 * common: what the five connectors share; private to src/connectors/. Like
 * each connector it has two halves. The pure half (common-proto.c, linked
 * by the protocol unit tests) reads answers: exactly one JSON value from a
 * body, string members, bounded copies that blank control characters, keys
 * usable in a path, the text of a failed call, and reporting a problem in
 * options to a struct connector_check. The step half (common.c)
 * runs steps: the state every connector's step starts with (struct
 * conn_step), ending a step with a formatted detail and a debug line, the
 * "doing" text that error details start with, sending one call with the
 * step's call options, and the account id the event gave for the target.
 * Vendor error bodies differ and stay in each connector.
 */
#ifndef DEPROV_CONNECTORS_COMMON_H
#define DEPROV_CONNECTORS_COMMON_H

#include <stdarg.h>
#include <stddef.h>

#include <json-c/json.h>

#include "deprov/connector.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

#define CONN_DETAIL_MAX		1024	/* a step's closing detail */
#define CONN_DOING_MAX		200	/* what the call in flight does */

/* ---- common-proto.c: reading answers ---------------------------------- */

/*
 * Exactly one JSON value from body[0..len), or NULL when it is not JSON or
 * holds a NUL (a byte, or \u0000 in a string: readers take strings as C
 * strings, which a NUL would cut short).
 */
json_object	*conn_json_parse(const char *body, size_t len);
/* A string member of o (which may be NULL), or NULL. */
const char	*conn_str(json_object *o, const char *key);
/* Copy in (NULL = "") to out, bounded; control characters become spaces. */
void		 conn_copy_clean(char *out, size_t outlen, const char *in);
/* 1 when key can be put in a path: 1..max bytes, no control characters. */
int		 conn_key_usable(const char *key, size_t max);
/*
 * "<prefix><key URL-encoded><suffix>" (suffix may be NULL), malloc'd; NULL
 * on no memory. The caller has checked the key.
 */
char		*conn_key_path(const char *prefix, const char *key,
		    const char *suffix);
/*
 * Why a call failed when the answer is not a vendor error: the target's
 * error text (which says how many attempts were made), else "HTTP <status>",
 * else "no response".
 */
void		 conn_call_error(const struct target_result *, char *out,
		    size_t outlen);
/*
 * Why a call failed when the answer is a vendor error: "HTTP <status>"
 * directly followed by fmt (the vendor's code and message as the connector
 * read them), then " (after N attempts)" when it was sent more than once.
 */
void		 conn_call_errorf(const struct target_result *, char *out,
		    size_t outlen, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

/*
 * Report a problem found in options: chk->report with the formatted
 * message (at most 511 bytes). obj and key say where (see connector.h).
 */
void		 conn_check(struct connector_check *chk, json_object *obj,
		    const char *key, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

/* ---- common.c: running steps ------------------------------------------- */

/*
 * The state every connector's step starts with: a connector's struct
 * <kind>_step has this as its first member.
 */
struct conn_step {
	struct step_ctx		*ctx;
	struct target		*target;
	enum step_kind		 kind;
	const char		*module;	/* log module: the kind */
	const char		*name;		/* step name, starts details */
	char			 doing[CONN_DOING_MAX];	/* the call in flight */
	/* Called just before the step is done (may be NULL). */
	void			(*on_finish)(struct conn_step *);
};

/*
 * A zeroed step state of size bytes (a struct beginning with a struct
 * conn_step, set up for ctx) that the engine frees with free_fn after
 * step_ctx_done. On no memory the step is finished and NULL returned.
 */
void		*conn_step_new(struct step_ctx *ctx, size_t size,
		    void (*free_fn)(void *), const char *module);
/*
 * End the step with a formatted detail (at most CONN_DETAIL_MAX - 1 bytes)
 * and a debug log line. The step state is freed by the engine afterwards:
 * return right after this.
 */
void		 conn_finish(struct conn_step *, enum step_outcome,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void		 conn_vfinish(struct conn_step *, enum step_outcome,
		    const char *fmt, va_list)
		    __attribute__((format(printf, 3, 0)));
/* Say what the next call does (the prefix of its error details). */
void		 conn_doing(struct conn_step *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Fail the step with "<name>: <doing>: " and the formatted text. */
void		 conn_fail_doing(struct conn_step *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/*
 * Send one call with the step's call options; its answer goes to cb(arg).
 * body may be NULL; the target copies the request. Returns 0, or -1 when it
 * could not be queued: then the step has been finished ("<name>: <doing>:
 * request could not be queued").
 */
int		 conn_call(struct conn_step *, const char *method,
		    const char *path, const char *body,
		    const char *content_type, const char *extra_header,
		    target_cb cb, void *arg);
/*
 * A call failed for good: fail the step with "<name>: <doing>: <why>",
 * why being what describe (the connector's <kind>_call_error) says.
 */
void		 conn_fail(struct conn_step *, const struct target_result *,
		    void (*describe)(const struct target_result *, char *,
		    size_t));
/* The account id the event gave for this target (subject.accounts), or NULL. */
const char	*conn_event_account(const struct conn_step *);
/*
 * End a step run() does not do (the engine skips those before run(): a
 * safety net) "skipped" with the reason in the kind's table c.
 */
void		 conn_unsupported(struct conn_step *, const struct connector *c);

#endif
