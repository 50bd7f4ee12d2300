/*
 * engine: the per-case state machine and the step scheduler.
 *
 * A case holds, per target it touches, the runbook's steps in order. Steps
 * are grouped in three phases: freeze steps (phase 0), remediation steps such
 * as revoke_tokens, reassign and unfreeze (phase 1), and deactivate and
 * delete (phase 2; the runbook puts delete after deactivate). A phase starts
 * only when the previous one has finished for every target of the case;
 * inside a phase each target runs its steps in order and targets run in
 * parallel. The case state follows the phases: freezing, contained,
 * remediating, deactivating, then completed, or escalated when a step failed.
 *
 * Ready steps wait in three lanes (urgent for emergency freezes, freeze,
 * remediate); the pump starts them in lane order while fewer than
 * engine.max_running_steps are running, so freezes of every queued case go
 * before anyone's remediation. Urgent and freeze lanes are first come,
 * first served; the remediation lane serves the oldest case first (and so
 * do the targets' remediation lanes), so that a case's next step does not
 * wait behind a step of every younger case and cases complete one after
 * another during a layoff instead of all together at its end. Every
 * transition is written to the store before the step it allows is started.
 *
 * The engine is in parts behind engine-internal.h: this file (states,
 * phases, lanes, the step context connectors see, operator actions),
 * engine-intake.c (events into cases: the per-event-type rules),
 * engine-commit.c (group commit and sync) and engine-resume.c (cases back
 * from the store).
 */
#include <sys/queue.h>

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "deprov/case.h"
#include "deprov/clock.h"
#include "deprov/connector.h"
#include "deprov/engine.h"
#include "deprov/jsonc.h"
#include "deprov/log.h"
#include "deprov/target.h"

#include "engine-internal.h"

static enum lane engine_step_lane(const struct ecase *, const struct estep *);
static int	engine_case_idle(const struct ecase *c);
static int	engine_target_deactivated(const struct etarget *et);
static int	engine_contained(const struct ecase *c, char *why, size_t len,
	    int *failed);
static void	engine_contain_late(struct ecase *c);
static void	engine_dequeue(struct estep *s);
static int	engine_run_phase(struct ecase *c, int phase);
static void	engine_timer_cb(evutil_socket_t fd, short what, void *arg);
static void	engine_arm(struct ecase *c, int64_t at_ms);
static void	engine_case_free_cb(evutil_socket_t fd, short what, void *arg);
static void	engine_cancel_pending(struct ecase *c);
static void	engine_ctx_free_cb(evutil_socket_t fd, short what, void *arg);
static void	engine_stepjson_clear(struct engine *eng);
static void	engine_drain_check(struct engine *eng);
static void	engine_on_retry(void *arg, int attempt, const char *error,
	    long delay_ms);
static void	engine_start_step(struct engine *eng, struct estep *s);
static int	engine_unfreeze_guard(struct estep *s);
static void	engine_pump_cb(evutil_socket_t fd, short what, void *arg);
static void	engine_wake_waiters(struct engine *eng, long long id);
static void	engine_drain_timeout(evutil_socket_t fd, short what, void *arg);
static int	engine_state_of_cb(const struct store_case *row, void *arg);
static void	engine_stored_state(struct engine *eng, long long id,
	    char state[32]);

int
engine_step_phase(enum step_kind k)
{
	if (k == STEP_FREEZE)
		return PHASE_FREEZE;
	if (k == STEP_DEACTIVATE || k == STEP_DELETE)
		return PHASE_DEACTIVATE;
	return PHASE_REMEDIATE;
}

struct engine_target *
engine_target_find(struct engine *eng, const char *name)
{
	size_t i;

	for (i = 0; i < eng->ntargets; i++)
		if (strcmp(eng->targets[i].cfg->name, name) == 0)
			return &eng->targets[i];
	return NULL;
}

/* Tell every observer. s may be NULL for case events. */
void
engine_emit(struct ecase *c, enum engine_event_kind kind, const struct estep *s,
    const char *prev, const char *outcome, const char *detail)
{
	struct engine		*eng = c->eng;
	struct engine_event	 ev;
	size_t			 i;

	if (eng->nobservers == 0)
		return;
	memset(&ev, 0, sizeof ev);
	ev.kind = kind;
	ev.ts_ms = clock_wall_ms();
	ev.case_id = c->id;
	ev.subject_key = c->subject_key;
	ev.runbook = c->runbook;
	ev.event_type = c->event_type;
	ev.urgent = c->urgent;
	ev.st = c->state;
	ev.state = case_state_name(c->state);
	ev.prev_state = prev;
	ev.prev_st = prev != NULL ? (enum case_state)case_state_parse(prev) :
	    c->state;
	ev.created_ms = c->created_ms;
	ev.frozen_ms = c->frozen_ms;
	ev.freeze_deadline_ms = c->freeze_deadline_ms;
	ev.complete_deadline_ms = c->complete_deadline_ms;
	if (s != NULL) {
		ev.target = s->et->name;
		ev.target_kind = s->et->rt != NULL ? s->et->rt->cfg->kind : NULL;
		ev.step = step_kind_name(s->rs.kind);
		ev.attempts = s->attempts;
	}
	ev.outcome = outcome;
	ev.detail = detail;
	for (i = 0; i < eng->nobservers; i++)
		eng->observers[i].cb(&ev, eng->observers[i].arg);
}

int
engine_observe(struct engine *eng, engine_observer_cb cb, void *arg)
{
	if (eng->nobservers == ENGINE_MAX_OBSERVERS)
		return -1;
	eng->observers[eng->nobservers].cb = cb;
	eng->observers[eng->nobservers].arg = arg;
	eng->nobservers++;
	return 0;
}

/* Timeline entry; failures are logged by the store and otherwise ignored. */
void
engine_note(struct ecase *c, const char *kind, const struct estep *s,
    const char *fmt, ...)
{
	char	 detail[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	store_timeline_add(engine_txn(c->eng), c->id, clock_wall_ms(), kind,
	    s != NULL ? s->et->name : NULL,
	    s != NULL ? step_kind_name(s->rs.kind) : NULL, detail);
}

/* Move a case to a new state, durably. */
int
engine_set_state(struct ecase *c, enum case_state st, const char *error)
{
	struct store	*store;
	int64_t		 now = clock_wall_ms();
	const char	*prev;
	int		 r = 0, nest;

	if (c->state == st)
		return 0;
	store = engine_txn(c->eng);
	/*
	 * Inside the turn's transaction these writes are grouped already; a
	 * savepoint of their own would only make each statement dearer.
	 */
	nest = !c->eng->txn;
	if (nest)
		store_begin(store);
	store_case_state(store, c->id, case_state_name(st), now, error);
	if (st == CASE_CONTAINED)
		store_case_frozen(store, c->id, now);
	/*
	 * Ended: nothing more will run. An escalated case whose other targets
	 * still have steps to run ends when they are done (engine_advance).
	 */
	if ((st == CASE_COMPLETED || st == CASE_CANCELLED ||
	    (st == CASE_ESCALATED && engine_case_idle(c))) && c->ended_ms == 0) {
		store_case_completed(store, c->id, now);
		c->ended_ms = now;
	}
	store_timeline_add(store, c->id, now, "state", NULL, NULL,
	    case_state_name(st));
	if (nest && store_commit(store) != 0) {
		log_error("engine", "case %lld: cannot persist state %s: %s",
		    c->id, case_state_name(st), store_errmsg(store));
		r = -1;
	}
	/*
	 * Intermediate transitions are debug (a layoff makes tens of
	 * thousands); how a case ends is info, escalation a warning.
	 */
	log_msg(st == CASE_ESCALATED ? LOG_LEVEL_WARN : st == CASE_COMPLETED ||
	    st == CASE_CANCELLED ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG, "engine",
	    "case %lld %s -> %s", c->id, case_state_name(c->state),
	    case_state_name(st));
	prev = case_state_name(c->state);
	c->state = st;
	if (st == CASE_CONTAINED && c->frozen_ms == 0)
		c->frozen_ms = now;
	engine_emit(c, ENGINE_EV_CASE_STATE, NULL, prev, NULL, error);
	return r;
}

void
engine_persist_step(struct estep *s, const char *last_error, const char *detail)
{
	store_step_update(engine_txn(s->c->eng), s->c->id, s->et->name, s->seq,
	    step_state_name(s->state), s->attempts, last_error, detail,
	    s->no_account, clock_wall_ms());
}

/* Every step has finished: nothing is left to run. */
static int
engine_case_idle(const struct ecase *c)
{
	size_t i, j;

	for (i = 0; i < c->ntargets; i++)
		for (j = 0; j < c->targets[i].nsteps; j++)
			if (!step_state_final(c->targets[i].steps[j].state))
				return 0;
	return 1;
}

/* The case runs a freeze somewhere. */
int
engine_case_freezes(const struct ecase *c)
{
	size_t i, j;

	for (i = 0; i < c->ntargets; i++)
		for (j = 0; j < c->targets[i].nsteps; j++)
			if (c->targets[i].steps[j].rs.kind == STEP_FREEZE)
				return 1;
	return 0;
}

/* A deactivate or delete succeeded at the target: locked out for good. */
static int
engine_target_deactivated(const struct etarget *et)
{
	size_t j;

	for (j = 0; j < et->nsteps; j++)
		if ((et->steps[j].rs.kind == STEP_DEACTIVATE ||
		    et->steps[j].rs.kind == STEP_DELETE) &&
		    et->steps[j].state == STEP_SUCCEEDED)
			return 1;
	return 0;
}

/*
 * Containment (see case.h): at every target it freezes, the freeze
 * succeeded or found no account, or the account has since been
 * deactivated. When not, why names the targets still exposed, and *failed
 * says whether a freeze failed there (rather than being skipped, as an
 * Okta user that cannot be suspended is when told to).
 */
static int
engine_contained(const struct ecase *c, char *why, size_t len, int *failed)
{
	const struct estep	*s;
	enum containment	 ct;
	size_t			 i, j, off = 0;
	int			 held = 1;

	if (len > 0)
		why[0] = '\0';
	*failed = 0;
	for (i = 0; i < c->ntargets; i++) {
		for (j = 0; j < c->targets[i].nsteps; j++) {
			s = &c->targets[i].steps[j];
			if (s->rs.kind != STEP_FREEZE)
				continue;
			ct = containment_of_step(s->state, s->no_account);
			if (containment_holds(ct) ||
			    engine_target_deactivated(&c->targets[i]))
				continue;
			held = 0;
			if (ct == CONTAIN_FAILED)
				*failed = 1;
			if (off < len)
				off += (size_t)snprintf(why + off, len - off,
				    "%s%s (freeze %s)", off == 0 ? "" : ", ",
				    c->targets[i].name, containment_name(ct));
		}
	}
	return held;
}

/*
 * A case whose freeze was skipped somewhere is contained once that target
 * is deactivated: stamp it then (frozen_ms is when containment held), and
 * tell the observers, as there is no state change to carry it.
 */
static void
engine_contain_late(struct ecase *c)
{
	char	why[8];
	int	failed;

	if (c->frozen_ms != 0 || !engine_case_freezes(c) ||
	    !engine_contained(c, why, sizeof why, &failed))
		return;
	c->frozen_ms = clock_wall_ms();
	store_case_frozen(engine_txn(c->eng), c->id, c->frozen_ms);
	engine_note(c, "contained", NULL, "locked out at every target (the "
	    "last by deactivation)");
	engine_emit(c, ENGINE_EV_CASE_CONTAINED, NULL, NULL, NULL, NULL);
}

/* Put a ready step in its lane (its room was reserved with the case). */
/* The lane a step waits in: it never changes for a step. */
static enum lane
engine_step_lane(const struct ecase *c, const struct estep *s)
{
	if (c->urgent)
		return LANE_URGENT;
	return s->phase == PHASE_FREEZE ? LANE_FREEZE : LANE_REMEDIATE;
}

/*
 * Reserve room in the lanes for every step of a case, so that queueing a
 * step later cannot fail; released when the case is freed. 0 or -1.
 */
int
engine_case_reserve(struct ecase *c)
{
	struct engine	*eng = c->eng;
	size_t		 need[LANE_COUNT] = { 0 }, i, j;
	int		 lane;

	for (i = 0; i < c->ntargets; i++)
		for (j = 0; j < c->targets[i].nsteps; j++)
			need[engine_step_lane(c, &c->targets[i].steps[j])]++;
	for (lane = 0; lane < LANE_COUNT; lane++) {
		if (laneheap_reserve(&eng->lanes[lane], need[lane]) != 0) {
			while (--lane >= 0)
				laneheap_release(&eng->lanes[lane], need[lane]);
			return -1;
		}
	}
	c->reserved = 1;
	return 0;
}

void
engine_enqueue(struct estep *s)
{
	struct engine	*eng = s->c->eng;
	enum lane	 lane;

	if (s->queued)
		return;
	lane = engine_step_lane(s->c, s);
	s->lane = lane;
	s->li.order = lane == LANE_REMEDIATE && s->c->id > 0 ?
	    (uint64_t)s->c->id : 0;
	s->li.seq = ++eng->qseq;
	laneheap_push(&eng->lanes[lane], &s->li);
	s->queued = 1;
	eng->queued++;
	engine_pump_soon(eng);
}

static void
engine_dequeue(struct estep *s)
{
	struct engine *eng = s->c->eng;

	if (!s->queued)
		return;
	laneheap_remove(&eng->lanes[s->lane], &s->li);
	s->queued = 0;
	eng->queued--;
}

/*
 * Run one phase for a case: per target, start the first unfinished step of
 * the phase unless one is already running or queued. Returns 1 when every
 * step of the phase has finished.
 */
static int
engine_run_phase(struct ecase *c, int phase)
{
	struct etarget	*et;
	struct estep	*s;
	size_t		 i, j;

	for (i = 0; i < c->ntargets; i++) {
		et = &c->targets[i];
		for (j = 0; j < et->nsteps; j++) {
			s = &et->steps[j];
			if (s->phase != phase || step_state_final(s->state))
				continue;
			if (s->state == STEP_RUNNING || s->state == STEP_RETRY_WAIT ||
			    s->queued)
				break;
			if (et->failed) {
				s->state = STEP_SKIPPED;
				s->blocked = 1;
				engine_persist_step(s, NULL,
				    "not run: an earlier step on this target failed");
				engine_note(c, "step", s, "skipped: an earlier "
				    "step on this target failed");
				continue;
			}
			engine_enqueue(s);
			break;
		}
	}
	for (i = 0; i < c->ntargets; i++) {
		for (j = 0; j < c->targets[i].nsteps; j++) {
			s = &c->targets[i].steps[j];
			if (s->phase == phase && !step_state_final(s->state))
				return 0;
		}
	}
	return 1;
}

static void
engine_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ecase *c = arg;

	(void)fd;
	(void)what;
	engine_advance(c);
}

/* Arm the case's timer to fire at at_ms. */
static void
engine_arm(struct ecase *c, int64_t at_ms)
{
	struct timeval	 tv;
	int64_t		 d = at_ms - clock_wall_ms();

	if (d < 0)
		d = 0;
	if (c->timer == NULL)
		c->timer = evtimer_new(c->eng->base, engine_timer_cb, c);
	if (c->timer == NULL)
		return;
	tv.tv_sec = d / 1000;
	tv.tv_usec = (d % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

static void
engine_case_free_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	engine_case_free(arg);
}

/* A case enters memory (the list of open cases). */
void
engine_case_link(struct engine *eng, struct ecase *c)
{
	TAILQ_INSERT_TAIL(&eng->cases, c, entry);
	eng->ncases++;
	if (c->waits_for > 0)
		eng->waiters++;
}

/* A case leaves the list of open cases (and the fresh list). */
void
engine_case_unlink(struct engine *eng, struct ecase *c)
{
	TAILQ_REMOVE(&eng->cases, c, entry);
	eng->ncases--;
	if (c->waits_for > 0)
		eng->waiters--;
	if (c->fresh) {
		TAILQ_REMOVE(&eng->fresh, c, fresh_entry);
		c->fresh = 0;
	}
}

/* A case reached a terminal state: forget it (on the next loop turn). */
void
engine_retire(struct ecase *c)
{
	struct engine *eng = c->eng;

	engine_case_unlink(eng, c);
	if (c->timer != NULL)
		evtimer_del(c->timer);
	engine_emit(c, ENGINE_EV_CASE_RETIRED, NULL, NULL, NULL, NULL);
	engine_wake_waiters(eng, c->id);
	if (event_base_once(eng->base, -1, EV_TIMEOUT, engine_case_free_cb, c,
	    NULL) != 0)
		engine_case_free(c);
}

/* Mark every step not yet run as skipped: the case was cancelled. */
static void
engine_cancel_pending(struct ecase *c)
{
	struct estep	*s;
	size_t		 i, j;

	for (i = 0; i < c->ntargets; i++) {
		for (j = 0; j < c->targets[i].nsteps; j++) {
			s = &c->targets[i].steps[j];
			if (s->queued)
				engine_dequeue(s);
			if (step_state_final(s->state))
				continue;
			s->state = STEP_SKIPPED;
			engine_persist_step(s, NULL, "not run: case cancelled");
		}
	}
	if (c->timer != NULL)
		evtimer_del(c->timer);
}

/* Drive a case as far as it can go now. */
void
engine_advance(struct ecase *c)
{
	int64_t now;

	char	 why[512];
	int	 failed;

	if (c->frozen_ms == 0 && (c->state == CASE_REMEDIATING ||
	    c->state == CASE_DEACTIVATING || c->state == CASE_ESCALATED))
		engine_contain_late(c);
	if (c->cancelled && c->state != CASE_COMPLETED &&
	    c->state != CASE_CANCELLED) {
		if (c->running > 0)
			return;		/* the steps in flight finish first */
		engine_cancel_pending(c);
		engine_set_state(c, CASE_CANCELLED, c->cancelled_by);
	}
	for (;;) {
		switch (c->state) {
		case CASE_RECEIVED:
		case CASE_SCHEDULED:
			if (c->waits_for > 0) {
				if (engine_case_find(c->eng, c->waits_for) != NULL)
					return;	/* woken when that case retires */
				engine_only_frozen_by(c, c->waits_for);
				c->waits_for = 0;
				c->eng->waiters--;
			}
			now = clock_wall_ms();
			if (c->effective_ms > now) {
				engine_set_state(c, CASE_SCHEDULED, NULL);
				engine_arm(c, c->effective_ms);
				return;
			}
			/*
			 * A case that freezes nothing (an unfreeze, a
			 * reinstate) is never "contained" and has no
			 * time to freeze.
			 */
			engine_set_state(c, engine_case_freezes(c) ?
			    CASE_FREEZING : CASE_REMEDIATING, NULL);
			break;
		case CASE_FREEZING:
			if (!engine_run_phase(c, PHASE_FREEZE))
				return;
			if (engine_contained(c, why, sizeof why, &failed)) {
				engine_set_state(c, CASE_CONTAINED, NULL);
				break;
			}
			engine_note(c, "note", NULL, "not contained: %s", why);
			if (!failed) {
				/*
				 * Skipped by choice (a connector option): the
				 * case goes on, contained once that target is
				 * deactivated, escalated if it never is.
				 */
				engine_set_state(c, CASE_REMEDIATING, NULL);
				break;
			}
			/*
			 * A freeze that failed: the person is still exposed
			 * there, and a human must act now, not once the other
			 * targets are done. Those go on (their containment
			 * holds); the exposed target's later steps do not run
			 * as if it were frozen.
			 */
			log_warn("engine", "case %lld not contained: %s", c->id,
			    why);
			engine_set_state(c, CASE_ESCALATED, NULL);
			break;
		case CASE_CONTAINED:
			engine_set_state(c, CASE_REMEDIATING, NULL);
			break;
		case CASE_REMEDIATING:
			if (!engine_run_phase(c, PHASE_REMEDIATE))
				return;
			engine_set_state(c, CASE_DEACTIVATING, NULL);
			break;
		case CASE_DEACTIVATING:
			if (!engine_run_phase(c, PHASE_DEACTIVATE))
				return;
			engine_contain_late(c);
			if (c->failed == 0 && (c->frozen_ms != 0 ||
			    !engine_case_freezes(c))) {
				engine_set_state(c, CASE_COMPLETED, NULL);
				break;
			}
			/* A case never contained is not complete: a human must act. */
			if (c->failed == 0 && engine_contained(c, why, sizeof why,
			    &failed) == 0) {
				engine_note(c, "note", NULL, "ended without being "
				    "contained: %s", why);
				log_warn("engine", "case %lld ended without being "
				    "contained: %s", c->id, why);
			}
			engine_set_state(c, CASE_ESCALATED, NULL);
			break;
		case CASE_ESCALATED:
			/* The other targets' remaining steps, phase by phase. */
			if (!engine_run_phase(c, PHASE_REMEDIATE) ||
			    !engine_run_phase(c, PHASE_DEACTIVATE) ||
			    c->running > 0)
				return;
			if (c->ended_ms == 0) {
				c->ended_ms = clock_wall_ms();
				store_case_completed(engine_txn(c->eng), c->id,
				    c->ended_ms);
			}
			engine_retire(c);
			return;
		default:
			if (c->running == 0)
				engine_retire(c);
			return;
		}
	}
}

/* Step context accessors for connectors. */

long long
step_ctx_case_id(const struct step_ctx *ctx)
{
	return ctx->c->id;
}

enum step_kind
step_ctx_kind(const struct step_ctx *ctx)
{
	return ctx->s->rs.kind;
}

const struct runbook_step *
step_ctx_step(const struct step_ctx *ctx)
{
	return &ctx->s->rs;
}

const struct subject *
step_ctx_subject(const struct step_ctx *ctx)
{
	return &ctx->c->subject;
}

struct target *
step_ctx_target(const struct step_ctx *ctx)
{
	return ctx->s->et->rt->t;
}

const char *
step_ctx_account(const struct step_ctx *ctx)
{
	return ctx->s->et->account;
}

void
step_ctx_set_account(struct step_ctx *ctx, const char *id)
{
	struct etarget	*et = ctx->s->et;
	char		*copy;

	if (id == NULL || (et->account != NULL && strcmp(et->account, id) == 0))
		return;
	if ((copy = strdup(id)) == NULL)
		return;
	free(et->account);
	et->account = copy;
	store_account_put(engine_txn(ctx->eng), ctx->c->id, et->name, id);
}

const struct call_opts *
step_ctx_call_opts(const struct step_ctx *ctx)
{
	return &ctx->opts;
}

void
step_ctx_note(struct step_ctx *ctx, const char *fmt, ...)
{
	char	 detail[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	/* A connector's note may quote a target's answer (see conn_vfinish). */
	log_redact_secrets(detail);
	engine_note(ctx->c, "note", ctx->s, "%s", detail);
}

void
step_ctx_set_data(struct step_ctx *ctx, void *data, void (*free_fn)(void *))
{
	ctx->data = data;
	ctx->free_fn = free_fn;
}

void *
step_ctx_data(const struct step_ctx *ctx)
{
	return ctx->data;
}

struct event_base *
step_ctx_base(const struct step_ctx *ctx)
{
	return ctx->eng->base;
}

static void
engine_ctx_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct step_ctx *ctx = arg;

	(void)fd;
	(void)what;
	engine_ctx_free(ctx);
}

void
engine_ctx_free(struct step_ctx *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->free_fn != NULL && ctx->data != NULL)
		ctx->free_fn(ctx->data);
	config_free(ctx->gen);
	free(ctx);
}

static void
engine_drain_check(struct engine *eng)
{
	void (*cb)(void *);

	if (!eng->draining || eng->running > 0 || eng->drain_cb == NULL)
		return;
	cb = eng->drain_cb;
	eng->drain_cb = NULL;
	if (eng->drain_timer != NULL)
		evtimer_del(eng->drain_timer);
	cb(eng->drain_arg);
}

void
step_ctx_done(struct step_ctx *ctx, enum step_outcome out, const char *detail)
{
	struct engine	*eng = ctx->eng;
	struct ecase	*c = ctx->c;
	struct estep	*s = ctx->s;
	struct store	*store;
	char		 err[1200];
	int		 nest;

	if (ctx->done)
		return;
	ctx->done = 1;
	if (detail == NULL)
		detail = "";
	/*
	 * A runbook targets entry with "require_account": everyone must
	 * exist there, so a missing account is a failure (text kept).
	 */
	if (out == STEP_OUT_NO_ACCOUNT) {
		if (s->rs.require_account)
			out = STEP_OUT_FAILED;
		else
			s->no_account = 1;
	}
	switch (out) {
	case STEP_OUT_OK:
		s->state = STEP_SUCCEEDED;
		break;
	case STEP_OUT_SKIPPED:
	case STEP_OUT_NO_ACCOUNT:
		s->state = STEP_SKIPPED;
		break;
	default:
		s->state = STEP_FAILED;
		break;
	}
	store = engine_txn(eng);
	nest = !eng->txn;	/* see engine_set_state */
	if (nest)
		store_begin(store);
	engine_persist_step(s, s->state == STEP_FAILED ? detail : NULL, detail);
	engine_note(c, "step", s, "%s%s%s", step_state_name(s->state),
	    *detail != '\0' ? ": " : "", detail);
	if (s->state == STEP_FAILED) {
		snprintf(err, sizeof err, "%s %s: %s", s->et->name,
		    step_kind_name(s->rs.kind), detail);
		store_case_error_add(store, c->id, err);
	}
	if (nest && store_commit(store) != 0)
		log_error("engine", "case %lld: cannot persist step: %s",
		    c->id, store_errmsg(store));
	if (s->state == STEP_FAILED) {
		log_warn("engine", "case %lld: %s %s failed: %s", c->id,
		    s->et->name, step_kind_name(s->rs.kind), detail);
		c->failed++;
		s->et->failed = 1;
	} else
		log_debug("engine", "case %lld: %s %s %s%s%s", c->id,
		    s->et->name, step_kind_name(s->rs.kind),
		    step_state_name(s->state), *detail != '\0' ? ": " : "",
		    detail);
	engine_emit(c, ENGINE_EV_STEP_DONE, s, NULL, step_state_name(s->state),
	    detail);
	s->ctx = NULL;
	c->running--;
	eng->running--;
	if (event_base_once(eng->base, -1, EV_TIMEOUT, engine_ctx_free_cb, ctx,
	    NULL) != 0)
		engine_ctx_free_cb(-1, 0, ctx);
	engine_advance(c);
	engine_pump_soon(eng);
	engine_drain_check(eng);
}

/* Called by the target before each retry of a call made by a step. */
static void
engine_on_retry(void *arg, int attempt, const char *error, long delay_ms)
{
	struct step_ctx	*ctx = arg;
	struct estep	*s = ctx->s;

	if (ctx->done)
		return;
	s->attempts++;
	s->state = STEP_RETRY_WAIT;
	engine_persist_step(s, error, NULL);
	s->state = STEP_RUNNING;
	engine_note(ctx->c, "retry", s, "attempt %d failed: %s; retrying in "
	    "%ld ms", attempt, error, delay_ms);
	engine_emit(ctx->c, ENGINE_EV_STEP_RETRY, s, NULL, "retry_wait", error);
	log_info("engine", "case %lld: %s %s: attempt %d failed (%s), retry in "
	    "%ld ms", ctx->c->id, s->et->name, step_kind_name(s->rs.kind),
	    attempt, error, delay_ms);
}

/*
 * Mark a step running (inside the turn's transaction) and put it on the
 * launch list: it is handed to its connector once that transaction is
 * committed (engine_flush_cb).
 */
static void
engine_start_step(struct engine *eng, struct estep *s)
{
	struct step_ctx	*ctx;
	struct ecase	*c = s->c;

	if ((ctx = calloc(1, sizeof *ctx)) == NULL) {
		engine_enqueue(s);
		return;
	}
	ctx->eng = eng;
	ctx->c = c;
	ctx->s = s;
	ctx->gen = s->et->rt != NULL ? config_ref(s->et->rt->gen) : NULL;
	ctx->opts.lane = c->urgent ? LANE_URGENT :
	    (s->phase == PHASE_FREEZE ? LANE_FREEZE : LANE_REMEDIATE);
	/*
	 * Remediation serves the oldest case's calls first, so that cases
	 * finish one after another. Freezes stay first come, first served:
	 * every leaver's freeze chain moves a call at a time in step with the
	 * others, so no remediation call finds the freeze lane empty while a
	 * freeze chain is still to make its next call.
	 */
	ctx->opts.order = ctx->opts.lane == LANE_REMEDIATE && c->id > 0 ?
	    (uint64_t)c->id : 0;
	ctx->opts.max_attempts = c->retry.max_attempts;
	ctx->opts.initial_backoff_ms = c->retry.initial_backoff_ms;
	ctx->opts.max_backoff_ms = c->retry.max_backoff_ms;
	ctx->opts.on_retry = engine_on_retry;
	ctx->opts.on_retry_arg = ctx;
	s->ctx = ctx;
	s->state = STEP_RUNNING;
	s->attempts++;
	c->running++;
	eng->running++;
	engine_persist_step(s, NULL, NULL);
	engine_emit(c, ENGINE_EV_STEP_STARTED, s, NULL, "running", NULL);
	TAILQ_INSERT_TAIL(&eng->launch, s, q);
	s->launching = 1;
	s->gen = 0;	/* set when the transaction marking it running commits */
	if (!eng->flushing && eng->flush_ev != NULL)
		event_active(eng->flush_ev, EV_TIMEOUT, 0);
}

/*
 * The last look before an unfreeze reaches a target: a leaver case for the
 * same person that began after the unfreeze was accepted forbids it as it
 * would have at intake. Returns 1 when the step was ended here.
 */
static int
engine_unfreeze_guard(struct estep *s)
{
	struct ecase	*c = s->c;
	char		*keys[ENGINE_MAX_KEYS], why[512];
	size_t		 nkeys;
	long long	 id;

	nkeys = engine_subject_keys(&c->subject, keys, ENGINE_MAX_KEYS);
	id = engine_unfreeze_refused(c->eng, keys, nkeys, why, sizeof why);
	engine_keys_free(keys, nkeys);
	if (id == 0)
		return 0;
	step_ctx_done(s->ctx, STEP_OUT_FAILED, id > 0 ? why :
	    "refused: cannot read the store to check for a leaver case");
	return 1;
}

/* The step's "running" row is committed: run it. */
void
engine_launch(struct estep *s)
{
	struct step_ctx *ctx = s->ctx;

	if (s->et->rt == NULL) {
		step_ctx_done(ctx, STEP_OUT_SKIPPED,
		    "target is no longer configured");
		return;
	}
	if (connector_delete_refused(s->et->rt->cfg, &s->rs) != NULL) {
		/* --check refuses this runbook; the config may have changed since. */
		step_ctx_done(ctx, STEP_OUT_FAILED, "delete refused: the target "
		    "is flagged irreversible_delete and the step has no "
		    "\"irreversible_ok\": true");
		return;
	}
	if (s->rs.kind == STEP_UNFREEZE && engine_unfreeze_guard(s))
		return;
	if (s->et->rt->conn == NULL) {
		char why[160];

		snprintf(why, sizeof why, "no connector for kind %s in this "
		    "build", s->et->rt->cfg->kind);
		step_ctx_done(ctx, STEP_OUT_SKIPPED, why);
		return;
	}
	connector_run(s->et->rt->conn, ctx);
}

/* Start queued steps, lane by lane, up to engine.max_running_steps. */
void
engine_pump(struct engine *eng)
{
	struct laneheap_item	*it;
	struct estep		*s;
	int			 lane, cap = eng->cfg->engine.max_running_steps;

	if (cap < 1)
		cap = 1;
	while (!eng->draining && !eng->held && eng->running < (size_t)cap) {
		s = NULL;
		for (lane = 0; lane < LANE_COUNT && s == NULL; lane++)
			if ((it = laneheap_first(&eng->lanes[lane])) != NULL)
				s = laneheap_entry(it, struct estep, li);
		if (s == NULL)
			break;
		engine_dequeue(s);
		engine_start_step(eng, s);
	}
}

static void
engine_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	engine_pump(arg);
}

void
engine_pump_soon(struct engine *eng)
{
	/* Activating an already active event is a no-op. */
	if (eng->pump_ev != NULL)
		event_active(eng->pump_ev, EV_TIMEOUT, 0);
}

void
engine_case_free(struct ecase *c)
{
	size_t i, j;

	if (c->timer != NULL)
		event_free(c->timer);
	if (c->reserved)
		for (i = 0; i < c->ntargets; i++)
			for (j = 0; j < c->targets[i].nsteps; j++)
				laneheap_release(&c->eng->lanes[engine_step_lane(
				    c, &c->targets[i].steps[j])], 1);
	for (i = 0; i < c->ntargets; i++) {
		for (j = 0; j < c->targets[i].nsteps; j++) {
			struct estep *s = &c->targets[i].steps[j];

			if (s->queued)
				engine_dequeue(s);
			if (s->launching) {
				TAILQ_REMOVE(&c->eng->launch, s, q);
				s->launching = 0;
			}
			/* Engine teardown: the target has dropped the calls. */
			engine_ctx_free(s->ctx);
			runbook_step_clear(&s->rs);
		}
		free(c->targets[i].steps);
		free(c->targets[i].name);
		free(c->targets[i].account);
	}
	free(c->targets);
	free(c->subject_key);
	free(c->runbook);
	free(c->event_type);
	free(c->cancelled_by);
	subject_clear(&c->subject);
	free(c);
}

struct engine *
engine_new(struct event_base *base, struct http *http, struct store *store,
    const struct config *cfg, const struct runbook_set *runbooks, char *err,
    size_t errlen)
{
	struct engine		*eng;
	struct engine_target	*et;
	size_t			 i;

	if ((eng = calloc(1, sizeof *eng)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	eng->base = base;
	eng->store = store;
	eng->cfg = cfg;
	eng->runbooks = runbooks;
	TAILQ_INIT(&eng->cases);
	TAILQ_INIT(&eng->fresh);
	TAILQ_INIT(&eng->launch);
	if ((eng->pump_ev = event_new(base, -1, 0, engine_pump_cb, eng)) ==
	    NULL || (eng->flush_ev = event_new(base, -1, 0, engine_flush_cb,
	    eng)) == NULL || (eng->hold_ev = evtimer_new(base, engine_hold_cb,
	    eng)) == NULL || (eng->gate_ev = evtimer_new(base, engine_gate_cb,
	    eng)) == NULL) {
		snprintf(err, errlen, "cannot create pump event");
		goto fail;
	}
	/* Without the helper (no thread) commits sync in the loop instead. */
	if (store_sync_fd(store) >= 0 &&
	    ((eng->sync_ev = event_new(base, store_sync_fd(store),
	    EV_READ | EV_PERSIST, engine_synced_cb, eng)) == NULL ||
	    event_add(eng->sync_ev, NULL) != 0)) {
		snprintf(err, errlen, "cannot watch the store's sync helper");
		goto fail;
	}
	if (cfg->ntargets > 0 &&
	    (eng->targets = calloc(cfg->ntargets, sizeof *eng->targets)) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < cfg->ntargets; i++) {
		et = &eng->targets[i];
		et->cfg = &cfg->targets[i];
		et->conn = connector_find(et->cfg->kind);
		if (et->conn == NULL)
			log_warn("engine", "target %s: no connector for kind %s "
			    "in this build; its steps will be skipped",
			    et->cfg->name, et->cfg->kind);
		et->t = target_new(base, http, et->cfg,
		    et->conn != NULL ? et->conn->classify : NULL, err, errlen);
		if (et->t == NULL)
			goto fail;
		if (et->conn != NULL)
			target_set_signals(et->t, et->conn->signals);
		et->gen = config_ref(cfg);
		eng->ntargets++;
	}
	return eng;

fail:
	engine_free(eng);
	return NULL;
}

void
engine_free(struct engine *eng)
{
	struct ecase	*c;
	size_t		 i;

	if (eng == NULL)
		return;
	/* What this turn wrote is kept; steps not yet launched run on restart. */
	if (eng->txn) {
		eng->txn = 0;
		if (store_commit(eng->store) != 0)
			log_error("engine", "cannot commit the store at exit: %s",
			    store_errmsg(eng->store));
	}
	/* Targets first: they drop calls that point into step contexts. */
	for (i = 0; i < eng->ntargets; i++)
		target_free(eng->targets[i].t);
	while ((c = TAILQ_FIRST(&eng->cases)) != NULL) {
		TAILQ_REMOVE(&eng->cases, c, entry);
		engine_case_free(c);
	}
	if (eng->txn) {
		eng->txn = 0;
		store_commit(eng->store);
	}
	for (i = 0; i < eng->ntargets; i++)
		config_free(eng->targets[i].gen);
	free(eng->targets);
	for (i = 0; i < LANE_COUNT; i++)
		laneheap_free(&eng->lanes[i]);
	engine_stepjson_clear(eng);
	if (eng->pump_ev != NULL)
		event_free(eng->pump_ev);
	if (eng->flush_ev != NULL)
		event_free(eng->flush_ev);
	if (eng->hold_ev != NULL)
		event_free(eng->hold_ev);
	if (eng->sync_ev != NULL)
		event_free(eng->sync_ev);
	if (eng->gate_ev != NULL)
		event_free(eng->gate_ev);
	if (eng->drain_timer != NULL)
		event_free(eng->drain_timer);
	free(eng);
}

static void
engine_wake_waiters(struct engine *eng, long long id)
{
	struct ecase *c, *next;

	if (eng->waiters == 0)
		return;		/* the common case: no scan of every open case */
	for (c = TAILQ_FIRST(&eng->cases); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->waits_for == id)
			engine_advance(c);
	}
}

static void
engine_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct engine	*eng = arg;
	void		(*cb)(void *);

	(void)fd;
	(void)what;
	if (eng->drain_cb == NULL)
		return;
	log_warn("engine", "%zu steps still running at shutdown; they will be "
	    "run again on restart", eng->running);
	cb = eng->drain_cb;
	eng->drain_cb = NULL;
	cb(eng->drain_arg);
}

void
engine_drain(struct engine *eng, long timeout_ms, void (*cb)(void *), void *arg)
{
	struct timeval tv;

	eng->draining = 1;
	eng->drain_cb = cb;
	eng->drain_arg = arg;
	if (eng->running == 0) {
		eng->drain_cb = NULL;
		cb(arg);
		return;
	}
	log_info("engine", "waiting for %zu running steps", eng->running);
	if (eng->drain_timer == NULL)
		eng->drain_timer = evtimer_new(eng->base, engine_drain_timeout,
		    eng);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	if (eng->drain_timer != NULL)
		evtimer_add(eng->drain_timer, &tv);
}

size_t
engine_open_cases(const struct engine *eng)
{
	return eng->ncases;
}

size_t
engine_running_steps(const struct engine *eng)
{
	return eng->running;
}

size_t
engine_queued_steps(const struct engine *eng)
{
	return eng->queued;
}

size_t
engine_target_count(const struct engine *eng)
{
	return eng->ntargets;
}

struct target *
engine_target_at(const struct engine *eng, size_t i)
{
	return i < eng->ntargets ? eng->targets[i].t : NULL;
}

struct ecase *
engine_case_find(struct engine *eng, long long id)
{
	struct ecase *c;

	TAILQ_FOREACH(c, &eng->cases, entry)
		if (c->id == id)
			return c;
	return NULL;
}

static int
engine_state_of_cb(const struct store_case *row, void *arg)
{
	snprintf(arg, 32, "%s", row->state);
	return 0;
}

/* A case's state from the store ("" when there is no such case). */
static void
engine_stored_state(struct engine *eng, long long id, char state[32])
{
	state[0] = '\0';
	store_case_get(eng->store, id, engine_state_of_cb, state);
}

int
engine_case_retry(struct engine *eng, long long id, const char *who,
    const char *reason, char *err, size_t errlen)
{
	struct ecase		*c;
	struct estep		*s;
	char			 state[32];
	size_t			 i, j;
	int			 reset = 0;

	if ((c = engine_case_find(eng, id)) == NULL) {
		engine_stored_state(eng, id, state);
		if (state[0] == '\0') {
			snprintf(err, errlen, "no such case");
			return -1;
		}
		if (strcmp(state, "escalated") != 0) {
			snprintf(err, errlen, "case is %s: only escalated or "
			    "failing cases can be retried", state);
			return -1;
		}
		if ((c = engine_case_reload(eng, id)) == NULL) {
			snprintf(err, errlen, "cannot load case: %s",
			    store_errmsg(eng->store));
			return -1;
		}
	}
	if (c->cancelled) {
		snprintf(err, errlen, "case is being cancelled");
		return -1;
	}
	store_begin(engine_txn(eng));
	for (i = 0; i < c->ntargets; i++) {
		c->targets[i].failed = 0;
		for (j = 0; j < c->targets[i].nsteps; j++) {
			s = &c->targets[i].steps[j];
			if (s->state != STEP_FAILED && !s->blocked)
				continue;
			s->state = STEP_PENDING;
			s->blocked = 0;
			engine_persist_step(s, NULL, "retry requested");
			reset++;
		}
	}
	c->failed = 0;
	if (reset == 0) {
		store_rollback(eng->store);
		snprintf(err, errlen, "nothing to retry: no step has failed");
		return -1;
	}
	c->ended_ms = 0;
	store_case_reopen(eng->store, c->id);
	/* The operator's reason goes with the act into the case's timeline. */
	engine_note(c, "operator", NULL, "retry by %s (%d steps)%s%s", who,
	    reset, reason != NULL ? ": " : "", reason != NULL ? reason : "");
	if (store_commit(eng->store) != 0) {
		snprintf(err, errlen, "store: %s", store_errmsg(eng->store));
		return -1;
	}
	log_info("engine", "case %lld: retry by %s (%d steps)%s%s", id, who,
	    reset, reason != NULL ? ": " : "", reason != NULL ? reason : "");
	engine_set_state(c, CASE_FREEZING, NULL);
	engine_advance(c);
	engine_pump_soon(eng);
	/* The operator is answered once it is durable. */
	if (!eng->batch && engine_commit(eng, 1) != 0) {
		snprintf(err, errlen, "store: cannot commit");
		return -1;
	}
	return 0;
}

int
engine_case_cancel(struct engine *eng, long long id, const char *who,
    const char *reason, char *err, size_t errlen)
{
	struct ecase	*c;
	char		 state[32], *by = NULL;

	if ((c = engine_case_find(eng, id)) == NULL) {
		engine_stored_state(eng, id, state);
		if (state[0] == '\0')
			snprintf(err, errlen, "no such case");
		else
			snprintf(err, errlen, "case is %s: nothing to cancel",
			    state);
		return -1;
	}
	/* In memory and escalated: other targets' steps still run; stop them. */
	if (c->state == CASE_COMPLETED || c->state == CASE_CANCELLED ||
	    c->ended_ms != 0) {
		snprintf(err, errlen, "case is %s: nothing to cancel",
		    case_state_name(c->state));
		return -1;
	}
	if (c->cancelled)
		return 0;
	/*
	 * "cancelled by NAME: REASON" is the request stored with the case, the
	 * case's error once it ends, and its timeline note.
	 */
	if (asprintf(&by, "cancelled by %s%s%s", who, reason != NULL ? ": " :
	    "", reason != NULL ? reason : "") < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->cancelled = 1;
	c->cancelled_by = by;
	store_case_cancel_request(engine_txn(eng), id, by);
	engine_note(c, "operator", NULL, "%s", by);
	log_info("engine", "case %lld: %s", id, by);
	engine_cancel_pending(c);
	engine_advance(c);
	if (!eng->batch && engine_commit(eng, 1) != 0) {
		snprintf(err, errlen, "store: cannot commit");
		return -1;
	}
	return 0;
}

/*
 * The "engine" section's settings (docs/CONTRACT.md), read by
 * config_load. resume_open_cases is read by the check: its default and its
 * bound depend on max_open_cases.
 */
static int
engine_config_check(struct config_reader *r, const char *where,
    json_object *obj, void *conf)
{
	struct config_engine	*e = conf;
	long long		 ll;

	e->resume_open_cases = e->max_open_cases * 4 / 5;
	if (jsonc_get_int(config_doc(r), obj, where, "resume_open_cases", 0,
	    100000000, &ll, config_diags(r)) != 1)
		return 0;
	if ((size_t)ll >= e->max_open_cases) {
		config_error(r, config_line(r, obj, "resume_open_cases"),
		    "%s.resume_open_cases: must be below max_open_cases (%zu)",
		    where, e->max_open_cases);
		return -1;
	}
	e->resume_open_cases = (size_t)ll;
	return 0;
}

static const struct config_setting engine_rows[] = {
	{ .key = "max_running_steps", .type = CONFIG_INT,
	    CONFIG_FIELD(struct config_engine, max_running_steps),
	    .min = 1, .max = INT_MAX, .idflt = 512 },
	{ .key = "tick_ms", .type = CONFIG_INT,
	    CONFIG_FIELD(struct config_engine, tick_ms),
	    .min = 1, .max = 3600000, .idflt = 250 },
	{ .key = "max_open_cases", .type = CONFIG_INT,
	    CONFIG_FIELD(struct config_engine, max_open_cases),
	    .min = 1, .max = 100000000, .idflt = 50000 },
	{ .key = "resume_open_cases", .type = CONFIG_INT,
	    .flags = CONFIG_BYCHECK,
	    CONFIG_FIELD(struct config_engine, resume_open_cases) },
	{ .key = NULL }
};

const struct config_section engine_settings = { engine_rows,
    engine_config_check };

/* The runbook steps' JSON made so far (it points into the runbooks). */
static void
engine_stepjson_clear(struct engine *eng)
{
	size_t i;

	for (i = 0; i < eng->nstepjson; i++)
		json_object_put(eng->stepjson[i].obj);
	free(eng->stepjson);
	eng->stepjson = NULL;
	eng->nstepjson = 0;
}

int
engine_reload(struct engine *eng, const struct config *cfg,
    const struct runbook_set *runbooks, char *err, size_t errlen)
{
	const struct config_target	**next;
	struct engine_target		 *et;
	size_t				  i, j;
	int				  rc = -1;

	if (eng->ntargets > 0 &&
	    (next = calloc(eng->ntargets, sizeof *next)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	} else if (eng->ntargets == 0)
		next = NULL;
	/*
	 * Every target that is still configured, of the same kind, takes its
	 * new settings; when one cannot, those done go back to their old ones
	 * (still alive: each holds its configuration), so that a failed reload
	 * changes nothing. One gone or of another kind keeps its old settings
	 * until a restart (config_diff says so).
	 */
	for (i = 0; i < eng->ntargets; i++) {
		et = &eng->targets[i];
		next[i] = config_target_find(cfg, et->cfg->name);
		if (next[i] != NULL && strcmp(next[i]->kind, et->cfg->kind) != 0)
			next[i] = NULL;
		if (next[i] == NULL ||
		    target_reconfigure(et->t, next[i], err, errlen) == 0)
			continue;
		for (j = 0; j < i; j++)
			if (next[j] != NULL && target_reconfigure(
			    eng->targets[j].t, eng->targets[j].cfg, NULL, 0) != 0)
				log_error("engine", "target %s: cannot go back "
				    "to its settings before the reload",
				    eng->targets[j].cfg->name);
		goto done;
	}
	for (i = 0; i < eng->ntargets; i++) {
		if (next[i] == NULL)
			continue;
		et = &eng->targets[i];
		et->cfg = next[i];
		config_free(et->gen);
		et->gen = config_ref(cfg);
	}
	/* New cases match the new runbooks; open ones keep their own steps. */
	engine_stepjson_clear(eng);
	eng->runbooks = runbooks;
	rc = 0;
done:
	free(next);
	return rc;
}
