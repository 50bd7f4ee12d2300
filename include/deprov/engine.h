/*
 * engine: runs cases. A case is one runbook for one subject; the engine
 * creates it from an event (durably, before the event is acknowledged),
 * drives it through its states (received, scheduled, freezing, contained,
 * remediating, deactivating, completed; cancelled and escalated off-path)
 * and runs its steps through the connectors. Freeze-first twice over: within
 * a case every target's freeze runs before any other step; across cases a
 * freeze lane drains before the remediation lane, and emergency freezes go
 * before both. Every transition is persisted; engine_resume picks up every
 * unfinished case after a restart.
 */
#ifndef DEPROV_ENGINE_H
#define DEPROV_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "deprov/case.h"
#include "deprov/config.h"
#include "deprov/event.h"
#include "deprov/runbook.h"
#include "deprov/store.h"

struct event_base;
struct http;
struct engine;
struct target;

enum engine_intake {
	ENGINE_NEW_CASE = 0,	/* a case was created */
	ENGINE_DUPLICATE,	/* source+id seen before: nothing done */
	ENGINE_NO_RUNBOOK,	/* recorded, but no runbook matches it */
	ENGINE_ATTACHED,	/* about a person with a case already: joined it */
	ENGINE_NO_CASE,		/* a rescind with nothing to rescind: recorded */
	/*
	 * Refused (err says why; case_id names the case that forbids it, or
	 * 0): an unfreeze of a person a leaver case is deprovisioning, a
	 * reinstate with nothing to reinstate. Recorded and audited.
	 */
	ENGINE_REFUSED
};

/* What observers (audit, metrics, SLA timers) are told. */
enum engine_event_kind {
	ENGINE_EV_CASE_OPENED = 0,	/* a new case (state "received") */
	ENGINE_EV_CASE_RESUMED,		/* an unfinished case loaded at start */
	ENGINE_EV_CASE_STATE,		/* state changed (prev_state -> state) */
	ENGINE_EV_STEP_STARTED,
	ENGINE_EV_STEP_RETRY,		/* a call of the step failed and will be retried */
	ENGINE_EV_STEP_DONE,		/* outcome: succeeded, skipped or failed */
	ENGINE_EV_CASE_RETIRED,		/* terminal and dropped from memory */
	ENGINE_EV_REFUSED,		/* an event refused (detail: why; source) */
	/*
	 * Contained without a state change (frozen_ms now set): a freeze was
	 * skipped at a target that has since been deactivated.
	 */
	ENGINE_EV_CASE_CONTAINED
};

struct engine_event {
	enum engine_event_kind	 kind;
	int64_t			 ts_ms;
	long long		 case_id;
	const char		*subject_key;
	const char		*runbook;
	const char		*event_type;	/* the event that opened the case */
	int			 urgent;
	enum case_state		 st;		/* case state now */
	enum case_state		 prev_st;	/* ENGINE_EV_CASE_STATE */
	const char		*state;		/* their names (case_state_name) */
	const char		*prev_state;
	int64_t			 created_ms;
	int64_t			 frozen_ms;	/* 0 = not yet contained */
	int64_t			 freeze_deadline_ms;
	int64_t			 complete_deadline_ms;
	const char		*target;	/* step events */
	const char		*target_kind;
	const char		*step;
	const char		*outcome;	/* step state for STEP_DONE */
	const char		*detail;	/* no secrets */
	const char		*source;	/* ENGINE_EV_REFUSED: who sent it */
	int			 attempts;
};

typedef void (*engine_observer_cb)(const struct engine_event *, void *arg);

struct engine	*engine_new(struct event_base *, struct http *, struct store *,
		    const struct config *, const struct runbook_set *,
		    char *err, size_t errlen);
/* Frees targets (dropping calls in flight) and every case in memory. */
void		 engine_free(struct engine *);
/*
 * A reload, between loop turns: every configured target still in cfg with
 * the same kind takes its settings there (target_reconfigure), and new
 * cases match runbooks. The engine holds a reference to cfg for as long as
 * a target uses it, and each running step one to the configuration it
 * started under; runbooks must outlive the engine's use (until the next
 * reload or engine_free). 0, or -1 with err and nothing changed.
 */
int		 engine_reload(struct engine *, const struct config *cfg,
		    const struct runbook_set *runbooks, char *err, size_t errlen);

/* Load and restart every unfinished case; returns how many, or -1. */
int		 engine_resume(struct engine *);

/*
 * Take an event: record it, and create and start a case when a runbook
 * matches. Returns an engine_intake value, or -1 when it could not be made
 * durable (err says why; the event must not be acknowledged).
 */
int		 engine_submit(struct engine *, const struct event *, const char *origin,
		    long long *case_id, char *err, size_t errlen);

/*
 * Kafka intake in batches (kafka_set_batch): between begin and end,
 * engine_submit does not commit; end commits every case of the batch at once
 * and returns 0 when they are durable (their offsets may then be stored), -1
 * when the commit failed (the batch's cases are forgotten; redeliver it).
 * Outside a batch engine_submit is durable when it returns. arg is the engine.
 */
int		 engine_batch_begin(void *engine);
int		 engine_batch_end(void *engine);

/*
 * Stop starting steps; cb is called (from the loop) once no step is running,
 * or after timeout_ms, whichever comes first.
 */
void		 engine_drain(struct engine *, long timeout_ms, void (*cb)(void *),
		    void *arg);

/* Add an observer; called synchronously from the loop, in order of adding. */
int		 engine_observe(struct engine *, engine_observer_cb, void *arg);

/*
 * Operator actions. Retry: a case that is escalated (or stuck) gets its
 * failed and skipped-after-failure steps reset to pending and runs again.
 * Cancel: an open case stops starting steps and ends "cancelled".
 * reason (NULL = none) is the operator's, kept in the case's timeline
 * note (and for a cancel in the case's error, "cancelled by WHO: REASON").
 * Return 0, or -1 with err ("no such case", "case is completed", ...).
 */
int		 engine_case_retry(struct engine *, long long id, const char *who,
		    const char *reason, char *err, size_t errlen);
int		 engine_case_cancel(struct engine *, long long id, const char *who,
		    const char *reason, char *err, size_t errlen);

size_t		 engine_open_cases(const struct engine *);
size_t		 engine_running_steps(const struct engine *);
size_t		 engine_queued_steps(const struct engine *);
/* The configured targets' runtimes, in configuration order (for metrics). */
size_t		 engine_target_count(const struct engine *);
struct target	*engine_target_at(const struct engine *, size_t i);

/* The "engine" section's settings, read by config_load. */
extern const struct config_section engine_settings;

#endif
