/*
 * connector_fixture: a fake engine and a fake target for the connectors'
 * step tests (connector_fixture.c). A test starts a step with
 * connector_<kind>.run(ctx_new(...)); every target_call the step makes is
 * queued in pending[]; the test checks a queued request (expect), answers
 * it as the vendor would (answer, answer_header, answer_failed), and at the
 * end checks the outcome and detail (done). The fake engine asserts what
 * the real one relies on: step_ctx_done exactly once, never while a call of
 * the step is still queued, and no note or account after it.
 */
#ifndef DEPROV_CONNECTOR_FIXTURE_H
#define DEPROV_CONNECTOR_FIXTURE_H

#include <stddef.h>

#include "deprov/config.h"
#include "deprov/connector.h"
#include "deprov/event.h"
#include "deprov/http.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

#include "connector_resp.h"

#define FIXTURE_MAX_CALLS	16

/* The fake target: a name and a configuration. */
struct target {
	const char		*name;
	struct config_target	 cfg;
};

/* The fake engine's step context: what the step was given and what it did. */
struct step_ctx {
	enum step_kind		 kind;
	struct runbook_step	 step;
	struct subject		 subject;
	struct target		*target;
	char			 account[128];
	int			 has_account;
	struct call_opts	 opts;
	void			*data;
	void			(*free_fn)(void *);
	int			 ndone;
	enum step_outcome	 outcome;
	char			 detail[2048];
	char			 notes[8192];	/* each note ends with a newline */
};

/* One call the step made and nobody answered yet. */
struct fake_call {
	char		 method[16];
	char		 path[4096];
	char		*body;		/* NULL: none */
	char		 ctype[64];	/* "" when none */
	char		 header[512];	/* the extra header, "" when none */
	target_cb	 cb;
	void		*arg;
};

extern struct fake_call	pending[FIXTURE_MAX_CALLS];
extern size_t		npending;	/* calls waiting for an answer */
extern size_t		max_pending;	/* most at once since ctx_new */
extern size_t		ncalls_total;	/* calls made since ctx_new */
extern struct target	the_target;

/*
 * A step of kind step at a target named target of kind `kind` with options
 * (JSON text, or NULL). The subject is Jane Doe: employee id E12345, email
 * and username jane.doe@acme.example, manager boss@acme.example; no
 * account is known.
 */
struct step_ctx	*ctx_new(enum step_kind step, const char *target,
		    const char *kind, const char *options);
/* Check the step is done with no call queued, and free it. */
void		 ctx_free(struct step_ctx *);
/* Check queued call i's method, path and body (NULL: none). */
void		 expect(size_t i, const char *method, const char *path,
		    const char *body);
/* Answer queued call i with status and body, as sent once. */
void		 answer(size_t i, long status, const char *body);
/* The same with one response header. */
void		 answer_header(size_t i, long status, const char *name,
		    const char *value, const char *body);
/*
 * Answer queued call i with no response at all (the target gave up, e.g.
 * "timeout after 3 attempts") after attempts sends.
 */
void		 answer_failed(size_t i, int attempts, const char *error);
/* Check the step ended once with out and detail. */
void		 done(struct step_ctx *, enum step_outcome out,
		    const char *detail);
/* 1 when one of the step's notes contains text. */
int		 noted(const struct step_ctx *, const char *text);

#endif
