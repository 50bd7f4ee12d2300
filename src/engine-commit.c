/*
 * engine-commit: group commit and sync (see engine.c for the engine).
 *
 * Group commit: the writes of one loop turn share one transaction. The
 * first write of a turn opens it (engine_txn) and activates the flush event;
 * the flush (after the turn's other callbacks) commits it once. The pump
 * marks steps running inside that transaction and puts them on the launch
 * list; they are handed to their connectors only after the commit, so a
 * step's "running" row, and every transition that allowed it, is durable
 * before its first external call. Intake from Kafka runs in batches
 * (engine_batch_begin/end): the batch's cases and the offsets that depend
 * on them are made durable by one commit. When a commit fails, nothing it
 * allowed is started and the cases it created are forgotten.
 *
 * The end-of-turn commit does not wait for the disk: it is written with a
 * deferred sync (store_begin_deferred) and a helper thread syncs the WAL;
 * the steps it allowed carry its generation and are launched when the sync
 * is reported (engine_synced_cb). The loop meanwhile goes on with the next
 * turn. Commits whose callers need durability at once (a Kafka batch, an
 * API call, an operator action) sync before they return.

 */
#include <sys/queue.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "deprov/case.h"
#include "deprov/connector.h"
#include "deprov/engine.h"
#include "deprov/log.h"
#include "deprov/target.h"

#include "engine-internal.h"

static void	engine_case_drop(struct engine *eng, struct ecase *c);
static void	engine_commit_failed(struct engine *eng);
static void	engine_launch_ready(struct engine *eng);

/*
 * The writes of this loop turn go into one transaction: open it if it is
 * not, and make sure the flush runs at the end of the turn. Returns the
 * store for the caller's writes. When BEGIN fails the writes fall back to
 * autocommit, as they would without grouping.
 */
struct store *
engine_txn(struct engine *eng)
{
	if (eng->txn)
		return eng->store;
	/* Someone else's transaction is open (a caller of ours): join it. */
	if (store_in_transaction(eng->store) > 0)
		return eng->store;
	if (store_begin_deferred(eng->store) == 0) {
		eng->txn = 1;
		if (!eng->flushing && eng->flush_ev != NULL)
			event_active(eng->flush_ev, EV_TIMEOUT, 0);
	}
	return eng->store;
}

void
engine_hold_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *eng = arg;

	(void)fd;
	(void)what;
	eng->held = 0;
	engine_pump_soon(eng);
}

/* A fresh case whose creation was not committed: forget it. */
static void
engine_case_drop(struct engine *eng, struct ecase *c)
{
	engine_case_unlink(eng, c);
	engine_emit(c, ENGINE_EV_CASE_RETIRED, NULL, NULL, NULL, NULL);
	engine_case_free(c);
}

/*
 * The turn's transaction could not be committed: nothing it allowed may
 * reach a target. Steps marked running in it go back to their lanes, cases
 * created in it are forgotten (their events were not acknowledged), and the
 * pump waits a second before trying again.
 */
static void
engine_commit_failed(struct engine *eng)
{
	struct timeval	 tv = { 1, 0 };
	struct estep	*s;
	struct ecase	*c;

	struct estep	*next;

	log_error("engine", "cannot commit the store: %s; %s", store_errmsg(
	    eng->store), "holding steps for a second");
	for (s = TAILQ_FIRST(&eng->launch); s != NULL; s = next) {
		next = TAILQ_NEXT(s, q);
		if (s->gen != 0)
			continue;	/* committed earlier, waiting for its sync */
		TAILQ_REMOVE(&eng->launch, s, q);
		s->launching = 0;
		engine_ctx_free(s->ctx);
		s->ctx = NULL;
		s->state = STEP_PENDING;
		s->attempts--;
		s->c->running--;
		eng->running--;
		engine_enqueue(s);
	}
	while ((c = TAILQ_FIRST(&eng->fresh)) != NULL)
		engine_case_drop(eng, c);
	if (eng->hold_ev != NULL) {
		eng->held = 1;
		evtimer_add(eng->hold_ev, &tv);
	}
}

/*
 * Commit what was written so far: start what the pump may start (inside the
 * transaction), commit, and tag the steps it marked running with its
 * generation. sync: wait for the disk now (the caller acts on it at once);
 * else the helper syncs and engine_synced_cb launches. 0 when committed (or
 * nothing to commit) and, with sync, on disk; -1 otherwise.
 */
int
engine_commit(struct engine *eng, int sync)
{
	struct ecase	*c;
	struct estep	*s;
	uint64_t	 gen;
	int		 was = eng->flushing;

	eng->flushing = 1;
	engine_pump(eng);
	eng->flushing = was;
	if (eng->txn) {
		eng->txn = 0;
		if (store_commit(eng->store) != 0) {
			engine_commit_failed(eng);
			return -1;
		}
		while ((c = TAILQ_FIRST(&eng->fresh)) != NULL) {
			TAILQ_REMOVE(&eng->fresh, c, fresh_entry);
			c->fresh = 0;
		}
	}
	/*
	 * Steps marked running since the last commit: this commit's, or
	 * (without a transaction of ours) written with a synchronous commit;
	 * both are on disk once the generation committed so far is synced.
	 */
	gen = store_commit_gen(eng->store) + 1;
	TAILQ_FOREACH_REVERSE(s, &eng->launch, estep_queue, q) {
		if (s->gen != 0)
			break;
		s->gen = gen;
	}
	if (sync) {
		if (store_sync(eng->store) != 0) {
			store_sync_async(eng->store);	/* the helper tries again */
			return -1;
		}
	} else
		store_sync_async(eng->store);
	if (!TAILQ_EMPTY(&eng->launch) && eng->flush_ev != NULL &&
	    !eng->flushing)
		event_active(eng->flush_ev, EV_TIMEOUT, 0);
	return 0;
}

/*
 * How often held launches look again whether this deprovd may act for the
 * store (the lease renewed, or fenced for good).
 */
#define ENGINE_GATE_MS	250

/* Run the steps whose "running" row is on disk, in the order they were marked. */
static void
engine_launch_ready(struct engine *eng)
{
	struct estep	*s;
	uint64_t	 synced;
	struct timeval	 tv = { 0, ENGINE_GATE_MS * 1000 };

	if (TAILQ_EMPTY(&eng->launch))
		return;
	/*
	 * With the postgres backend a step starts only while this deprovd's
	 * lease on the store runs (store_replica_writable): one that was
	 * paused past it, and another took over, starts nothing more.
	 */
	if (!store_replica_writable(eng->store, NULL, 0)) {
		if (!evtimer_pending(eng->gate_ev, NULL))
			evtimer_add(eng->gate_ev, &tv);
		return;
	}
	synced = store_synced(eng->store);
	while ((s = TAILQ_FIRST(&eng->launch)) != NULL && s->gen != 0 &&
	    s->gen <= synced + 1) {
		TAILQ_REMOVE(&eng->launch, s, q);
		s->launching = 0;
		engine_launch(s);
	}
}

/* The store's helper synced the WAL. */
void
engine_synced_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *eng = arg;

	(void)fd;
	(void)what;
	(void)store_synced(eng->store);		/* drains the wake-up */
	engine_launch_ready(eng);
}

/* Launches were held: look again. */
void
engine_gate_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	engine_launch_ready(arg);
}

/* End of the turn: commit, then run the steps the commit made durable. */
void
engine_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine	*eng = arg;
	struct timeval	 tv = { 0, 10000 };

	(void)fd;
	(void)what;
	if (store_in_transaction(eng->store) > 0 && !eng->txn) {
		/* Someone else's transaction holds our writes: not durable yet. */
		event_add(eng->flush_ev, &tv);
		return;
	}
	eng->flushing = 1;	/* engine_commit need not activate us again */
	if (engine_commit(eng, 0) != 0) {
		eng->flushing = 0;
		return;
	}
	eng->flushing = 0;
	engine_launch_ready(eng);
}

int
engine_batch_begin(void *arg)
{
	struct engine *eng = arg;

	eng->batch = 1;
	return 0;
}

int
engine_batch_end(void *arg)
{
	struct engine *eng = arg;

	eng->batch = 0;
	return engine_commit(eng, 1);
}
