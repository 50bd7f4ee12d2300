/*
 * connector: what a step means on one kind of target. A connector is a small
 * vtable: run() carries out one step for one case on one target through
 * target_call, and reports the outcome with step_ctx_done() exactly once.
 * The step context (owned by the engine) gives it the subject, the step's
 * options, the account already resolved at this target, and the call
 * options (lane and retry policy) to use.
 */
#ifndef DEPROV_CONNECTOR_H
#define DEPROV_CONNECTOR_H

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

struct connector {
	const char		*kind;
	/* Start the step; must end with step_ctx_done (possibly later). */
	void			(*run)(struct step_ctx *);
	/* Kind-specific response classification; may be NULL. */
	target_classify_cb	 classify;
};

const struct connector	*connector_find(const char *kind);
/* Add a connector kind at run time (tests); it takes precedence. 0 or -1. */
int			 connector_register(const struct connector *);

extern const struct connector connector_salesforce;
extern const struct connector connector_graph;
extern const struct connector connector_google;
extern const struct connector connector_scim;
extern const struct connector connector_okta;

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
