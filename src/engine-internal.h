/*
 * engine-internal.h: what the parts of the engine share (engine.c,
 * engine-intake.c, engine-commit.c, engine-resume.c): the in-memory case,
 * its targets and steps, the engine itself, and the functions one part
 * calls in another. Nothing outside src/engine*.c includes it.
 */
#ifndef DEPROV_ENGINE_INTERNAL_H
#define DEPROV_ENGINE_INTERNAL_H

#include <sys/queue.h>

#include <stdint.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "deprov/case.h"
#include "deprov/connector.h"
#include "deprov/engine.h"
#include "deprov/laneheap.h"
#include "deprov/target.h"

#define PHASE_FREEZE		0
#define PHASE_REMEDIATE		1
#define PHASE_DEACTIVATE	2

struct ecase;
struct etarget;

struct estep {
	struct ecase		*c;
	struct etarget		*et;
	struct runbook_step	 rs;
	int			 seq;
	int			 phase;
	const struct runbook_step *src;		/* the runbook's step (new cases only) */
	int			 blocked;	/* skipped because an earlier step failed */
	int			 no_account;	/* skipped: no account at the target */
	enum step_state		 state;
	int			 attempts;
	int			 queued;	/* in lanes[lane] */
	struct laneheap_item	 li;		/* lane order: case id or 0, then enqueues */
	int			 launching;	/* on the launch list */
	uint64_t		 gen;		/* launch list: commit generation + 1, 0 = not committed */
	enum lane		 lane;
	struct step_ctx		*ctx;		/* while running */
	TAILQ_ENTRY(estep)	 q;		/* a lane or the launch list */
};
TAILQ_HEAD(estep_queue, estep);


/* A configured target and its runtime, shared by all cases. */
struct engine_target {
	const struct config_target	*cfg;
	struct target			*t;
	const struct connector		*conn;	/* NULL: no connector for this kind yet */
	const struct config		*gen;	/* holds cfg (a reference) */
};

struct etarget {
	char			*name;
	struct engine_target	*rt;		/* NULL: no longer configured */
	char			*account;
	struct estep		*steps;
	size_t			 nsteps;
	int			 failed;
};

struct ecase {
	struct engine		*eng;
	long long		 id;
	char			*subject_key;
	struct subject		 subject;
	char			*runbook;
	char			*event_type;
	int			 urgent;
	int			 cancelled;	/* stop starting steps; end "cancelled" */
	long long		 waits_for;	/* start only once this case has ended */
	char			*cancelled_by;
	enum case_state		 state;
	struct runbook_retry	 retry;
	int64_t			 effective_ms;
	int64_t			 created_ms;
	int64_t			 frozen_ms;
	int64_t			 ended_ms;	/* nothing left to run: stamped once */
	int64_t			 freeze_deadline_ms;
	int64_t			 complete_deadline_ms;
	struct etarget		*targets;
	size_t			 ntargets;
	int			 running;
	int			 failed;
	int			 fresh;		/* created in the open transaction */
	int			 reserved;	/* its steps have room in the lanes */
	struct event		*timer;
	TAILQ_ENTRY(ecase)	 entry;
	TAILQ_ENTRY(ecase)	 fresh_entry;
};
TAILQ_HEAD(ecase_list, ecase);

struct step_ctx {
	struct engine		*eng;
	/*
	 * The configuration the step started under (a reference): a reload
	 * leaves it alive until the step's context is freed.
	 */
	const struct config	*gen;
	struct ecase		*c;
	struct estep		*s;
	struct call_opts	 opts;
	void			*data;
	void			(*free_fn)(void *);
	int			 done;
};

#define ENGINE_MAX_OBSERVERS	8
#define ENGINE_MAX_KEYS		16	/* identifiers a subject is known by */

/*
 * A runbook step as JSON: every case copies its steps through it and stores
 * it as the step's options, so it is built once per runbook step.
 */
struct engine_stepjson {
	const struct runbook_step	*rs;
	json_object			*obj;
	const char			*text;		/* owned by obj */
};

struct engine_observer {
	engine_observer_cb	 cb;
	void			*arg;
};

struct engine {
	struct event_base		*base;
	struct engine_observer		 observers[ENGINE_MAX_OBSERVERS];
	size_t				 nobservers;
	struct store			*store;
	const struct config		*cfg;
	const struct runbook_set	*runbooks;
	struct engine_target		*targets;
	size_t				 ntargets;
	struct ecase_list		 cases;	/* room for their steps is reserved in lanes[] */
	size_t				 ncases;
	struct laneheap			 lanes[LANE_COUNT];
	uint64_t			 qseq;		/* enqueues so far */
	size_t				 queued;
	size_t				 running;
	size_t				 waiters;	/* cases with waits_for set */
	struct event			*pump_ev;
	/* Group commit (see the top of this file). */
	struct event			*flush_ev;
	struct event			*hold_ev;	/* pump paused after a failed commit */
	struct event			*sync_ev;	/* the store's sync helper is done */
	struct event			*gate_ev;	/* launches held: not the writer */
	int				 txn;		/* the turn's transaction is open */
	int				 flushing;
	int				 batch;		/* inside engine_batch_begin/end */
	int				 held;
	struct estep_queue		 launch;	/* running, started after the commit */
	struct ecase_list		 fresh;		/* cases created in the open transaction */
	struct engine_stepjson		*stepjson;	/* runbook steps as JSON, made once */
	size_t				 nstepjson;
	int				 draining;
	void				(*drain_cb)(void *);
	void				*drain_arg;
	struct event			*drain_timer;
};


/* engine.c: states, phases, lanes, steps. */
int	engine_step_phase(enum step_kind k);
struct engine_target *engine_target_find(struct engine *eng, const char *name);
/* Tell every observer; s may be NULL for case events. */
void	engine_emit(struct ecase *c, enum engine_event_kind kind,
	    const struct estep *s, const char *prev, const char *outcome,
	    const char *detail);
/* A timeline entry (inside the turn's transaction). */
void	engine_note(struct ecase *c, const char *kind, const struct estep *s,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The one transition function: every state change goes through it. */
int	engine_set_state(struct ecase *c, enum case_state st,
	    const char *error);
void	engine_persist_step(struct estep *s, const char *last_error,
	    const char *detail);
int	engine_case_freezes(const struct ecase *c);
int	engine_case_reserve(struct ecase *c);
void	engine_enqueue(struct estep *s);
void	engine_case_link(struct engine *eng, struct ecase *c);
void	engine_case_unlink(struct engine *eng, struct ecase *c);
void	engine_retire(struct ecase *c);
/* Drive a case as far as it can go now. */
void	engine_advance(struct ecase *c);
/* A step whose "running" row is durable goes to its connector. */
void	engine_launch(struct estep *s);
void	engine_pump(struct engine *eng);
void	engine_pump_soon(struct engine *eng);
void	engine_case_free(struct ecase *c);
struct ecase *engine_case_find(struct engine *eng, long long id);
/* Free a step's context: its connector data and its configuration reference. */
void	engine_ctx_free(struct step_ctx *ctx);

/* engine-commit.c: group commit and sync. */
/* The store, with the turn's transaction open for the caller's writes. */
struct store *engine_txn(struct engine *eng);
void	engine_hold_cb(evutil_socket_t fd, short what, void *arg);
/* Commit what was written; sync: on disk before returning. 0 or -1. */
int	engine_commit(struct engine *eng, int sync);
void	engine_synced_cb(evutil_socket_t fd, short what, void *arg);
void	engine_gate_cb(evutil_socket_t fd, short what, void *arg);
void	engine_flush_cb(evutil_socket_t fd, short what, void *arg);

/* engine-intake.c: the person behind an event, and what an unfreeze may do. */
size_t	engine_subject_keys(const struct subject *s, char **keys, size_t max);
void	engine_keys_free(char **keys, size_t n);
long long engine_unfreeze_refused(struct engine *eng, char **keys,
	    size_t nkeys, char *why, size_t len);

/* engine-resume.c: cases back from the store. */
void	engine_only_frozen_by(struct ecase *c, long long earlier);
struct ecase *engine_case_reload(struct engine *eng, long long id);

#endif
