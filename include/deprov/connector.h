/*
 * connector: what a step means on one kind of target. Each kind brings one
 * descriptor, struct connector (in the manner of curl's struct Curl_scheme
 * and nginx's module tables): its name; which steps it does and why it
 * skips the others; run(), which carries out one step for one case on one
 * target through target_call and reports the outcome with step_ctx_done()
 * exactly once; its response classifier; the checks of its options (a
 * target's "options" when the configuration is loaded, a runbook step's
 * options when the runbooks are); the rule saying when a delete cannot be
 * undone; and a hook that reads the vendor's rate-limit signals from every
 * response. The table of kinds is src/connectors/connector.c; the core
 * asks the table and knows no kind. The step context (owned by the engine)
 * gives run() the subject, the step's options, the account already
 * resolved at this target, and the call options (lane and retry policy).
 */
#ifndef DEPROV_CONNECTOR_H
#define DEPROV_CONNECTOR_H

#include <stddef.h>

#include <json-c/json.h>

#include "deprov/config.h"
#include "deprov/event.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

struct step_ctx;

enum step_outcome {
	STEP_OUT_OK = 0,
	STEP_OUT_SKIPPED,	/* the target has no notion of it: detail says why */
	STEP_OUT_FAILED,	/* retries exhausted or a permanent error: detail says what */
	/*
	 * The person has no account at the target: skipped, and nothing left
	 * to lock there (a freeze that ends so counts as contained), unless
	 * the runbook requires an account there (then it fails).
	 */
	STEP_OUT_NO_ACCOUNT
};

/*
 * Where a kind reports what is wrong with options it checks. The loader
 * (config.c for a target's options, runbook.c for a step's) implements
 * report and turns each problem into a file:line diagnostic: obj and key
 * say where (the line of obj's member key; of obj itself when key is
 * NULL), msg what, starting with the path of the value inside what is
 * checked ("options.preset: unknown preset ...", "objects[0]: ...").
 */
struct connector_check {
	void	(*report)(struct connector_check *, json_object *obj,
		    const char *key, const char *msg);
};

/* One kind of target. Every member but kind and run may be NULL (none). */
struct connector {
	const char		*kind;
	/*
	 * Why the kind skips a step, by step kind; NULL: it does the step.
	 * A skipped step ends "skipped" with this reason without run(), and
	 * --check warns about it.
	 */
	const char		*skips[STEP_KIND_COUNT];
	/* Start a step the kind does; must end with step_ctx_done (possibly later). */
	void			(*run)(struct step_ctx *);
	/* Kind-specific response classification. */
	target_classify_cb	 classify;
	/* The keys a target's "options" may have, NULL-terminated; NULL: none. */
	const char *const	*options;
	/* Check the values of a target's options (an object; keys are checked already). */
	void			(*check_options)(struct connector_check *,
				    json_object *options);
	/*
	 * Check the options of a runbook step this kind does: step as read,
	 * json as written (for the lines of its members).
	 */
	void			(*check_step)(struct connector_check *,
				    const struct runbook_step *step,
				    json_object *json);
	/*
	 * What a delete destroys at a target of this kind with these options
	 * when it cannot be undone (static text), or NULL. The target's own
	 * "irreversible_delete" takes precedence.
	 */
	const char		*(*irreversible)(json_object *options);
	/* Called with every response of the kind's targets (target_signal_*). */
	target_signals_cb	 signals;
};

/* The connector for a kind, or NULL when there is none. */
const struct connector	*connector_find(const char *kind);
/* Add a connector kind at run time (tests); it takes precedence. 0 or -1. */
int			 connector_register(const struct connector *);
/* The kinds of the table, for messages: "salesforce, scim, okta, ...". */
void			 connector_kinds(char *out, size_t outlen);

/*
 * Run one step at a target of kind c: "skipped" with the kind's reason when
 * it does not do the step, else c->run.
 */
void			 connector_run(const struct connector *c,
			    struct step_ctx *);
/*
 * Check a target's options for kind c: every key must be one of c->options
 * ("did you mean" for a near miss), then c->check_options.
 */
void			 connector_check_options(const struct connector *c,
			    json_object *options, struct connector_check *);
/* What a delete destroys at kind c with these options when it cannot be undone, or NULL. */
const char		*connector_irreversible(const struct connector *c,
			    json_object *options);
/*
 * The irreversible-delete rule, decided here only (runbook loading reports
 * it, the engine enforces it before a step runs): a delete on a target
 * flagged irreversible_delete runs only when the step says
 * "irreversible_ok": true. NULL when step may run at target, else what a
 * delete destroys there.
 */
const char		*connector_delete_refused(const struct config_target *,
			    const struct runbook_step *);

/* The step context, implemented by the engine. */
long long		 step_ctx_case_id(const struct step_ctx *);
enum step_kind		 step_ctx_kind(const struct step_ctx *);
const struct runbook_step *step_ctx_step(const struct step_ctx *);
const struct subject	*step_ctx_subject(const struct step_ctx *);
struct target		*step_ctx_target(const struct step_ctx *);
/* Account id at this target resolved by an earlier step (or the event), or NULL. */
const char		*step_ctx_account(const struct step_ctx *);
/* Remember the resolved account id (persisted with the case). */
void			 step_ctx_set_account(struct step_ctx *, const char *id);
/* Lane and retry policy for calls made by this step. */
const struct call_opts	*step_ctx_call_opts(const struct step_ctx *);
/* Add a line to the case timeline (no secrets). */
void			 step_ctx_note(struct step_ctx *, const char *fmt, ...)
			    __attribute__((format(printf, 2, 3)));
/* Connector-private state for the step, freed with free_fn after done. */
void			 step_ctx_set_data(struct step_ctx *, void *data,
			    void (*free_fn)(void *));
void			*step_ctx_data(const struct step_ctx *);
/* The loop the engine runs on (for a connector's own timers). */
struct event_base	*step_ctx_base(const struct step_ctx *);
/* Finish the step. The context must not be used afterwards. */
void			 step_ctx_done(struct step_ctx *, enum step_outcome,
			    const char *detail);

#endif
