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

#include "deprov/config.h"
#include "deprov/event.h"
#include "deprov/runbook.h"
#include "deprov/store.h"

struct event_base;
struct http;
struct engine;

enum engine_intake {
	ENGINE_NEW_CASE = 0,	/* a case was created */
	ENGINE_DUPLICATE,	/* source+id seen before: nothing done */
	ENGINE_NO_RUNBOOK	/* recorded, but no runbook matches it */
};

struct engine	*engine_new(struct event_base *, struct http *, struct store *,
		    const struct config *, const struct runbook_set *,
		    char *err, size_t errlen);
/* Frees targets (dropping calls in flight) and every case in memory. */
void		 engine_free(struct engine *);

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
 * Stop starting steps; cb is called (from the loop) once no step is running,
 * or after timeout_ms, whichever comes first.
 */
void		 engine_drain(struct engine *, long timeout_ms, void (*cb)(void *),
		    void *arg);

size_t		 engine_open_cases(const struct engine *);
size_t		 engine_running_steps(const struct engine *);
size_t		 engine_queued_steps(const struct engine *);

const char	*engine_case_state_name(int state);
int64_t		 engine_now_ms(void);

#endif
