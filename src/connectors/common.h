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
 * lookup.c starts every step (struct conn_kind: which steps the kind does,
 * its own set-up, the account known or looked up) and walks the kind's
 * table of lookup ways (struct conn_way) until one finds the account.
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
#define CONN_KEY_MAX		512	/* the identifier a lookup asks for */

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

struct conn_kind;
struct conn_way;

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

	/* The account lookup (lookup.c). */
	const struct conn_kind	*ck;
	const struct conn_way	*ways;		/* the kind's table, or the step's */
	size_t			 nways;
	size_t			 next;		/* the next way to try */
	const struct conn_way	*way;		/* the way in flight */
	char			 key[CONN_KEY_MAX + 1];	/* what it asks for */
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

/* ---- lookup.c: starting a step, finding the account -------------------- */

/* The subject's value a lookup way asks for. */
enum conn_field {
	CONN_FIELD_NONE = 0,
	CONN_FIELD_ACCOUNT,		/* the account id the event gave */
	CONN_FIELD_USERNAME,
	CONN_FIELD_EMAIL,
	CONN_FIELD_EMPLOYEE_ID
};

/* What a way's hook says. */
enum conn_verdict {
	CONN_ASK = 0,		/* request: send the GET it built */
	CONN_FOUND,		/* answer: the account (see struct conn_found) */
	CONN_ABSENT,		/* answer: nobody has this value: the next way */
	CONN_NEXT,		/* passed over (the hook noted why): the next way */
	CONN_DONE		/* the hook finished the step (ambiguous, error) */
};

#define CONN_WAY_ADDRESS	0x1	/* only a value with an '@' */
#define CONN_WAY_EMPTY		0x2	/* an empty value goes to request too */

/* The account an answer found: pointers into the connector's step state. */
struct conn_found {
	const char	*id;		/* kept with step_ctx_set_account */
	const char	*name;		/* shown after the id, or NULL */
	const char	*status;	/* ", status <status>" in the note, or NULL */
};

/*
 * One way of finding the account: one row of a connector's table. The
 * common code takes the subject's value of field (passing the way over when
 * there is none), builds the request with request, sends it as a GET and
 * reads the answer with answer.
 */
struct conn_way {
	enum conn_field	 field;
	/*
	 * Passed over when the value is that of this field too (ignoring
	 * case) and an earlier way of the table asked by that field.
	 */
	enum conn_field	 unless;
	int		 flags;		/* CONN_WAY_* */
	const char	*by;		/* "found by <by>" */
	const char	*arg;		/* the connector's own: attribute, field */
	/*
	 * Set the doing text and the GET's path (malloc'd) for key: CONN_ASK;
	 * or CONN_NEXT (key unusable here, noted) or CONN_DONE (finished).
	 */
	enum conn_verdict (*request)(struct conn_step *, const struct conn_way *,
			    const char *key, char **path);
	/*
	 * Read the answer: CONN_FOUND with found filled in, CONN_ABSENT,
	 * CONN_NEXT or CONN_DONE. The key asked for is cs->key.
	 */
	enum conn_verdict (*answer)(struct conn_step *, const struct conn_way *,
			    const struct target_result *, struct conn_found *found);
};

/* How a connector's steps start: one per kind, used by conn_run. */
struct conn_kind {
	const struct connector	*connector;	/* skips[]: steps it does not do */
	const char		*module;	/* log module */
	size_t			 size;		/* of its struct <kind>_step */
	void			(*free_fn)(void *);
	/*
	 * Per-step set-up (options, step options; may set cs->ways and
	 * cs->nways): 0, or -1 when it finished the step. May be NULL.
	 */
	int			(*prepare)(struct conn_step *);
	/* The account is known: check and keep it; 0, or -1 when finished. */
	int			(*known)(struct conn_step *, const char *account);
	/* The account is known or found: do the step. */
	void			(*begin)(struct conn_step *);
	const struct conn_way	*ways;		/* the lookup table */
	size_t			 nways;
	const char		*header;	/* extra header of lookups, or NULL */
	/* Nothing found: 0 for "no account", 1 when it finished the step. */
	int			(*none)(struct conn_step *);
};

/*
 * The run of a connector: a step state of ck->size bytes; a step the kind
 * does not do ends "skipped"; prepare; then begin with the account already
 * known, or once the table's ways have found it ("skipped: no account" when
 * none does).
 */
void		 conn_run(struct step_ctx *, const struct conn_kind *ck);
/* The value of field in the subject (or the event's account id), or NULL. */
const char	*conn_field_value(const struct conn_step *, enum conn_field);

#endif
