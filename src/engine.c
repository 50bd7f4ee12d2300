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

#include "deprov/connector.h"
#include "deprov/engine.h"
#include "deprov/log.h"
#include "deprov/target.h"

enum case_state {
	CS_RECEIVED = 0,
	CS_SCHEDULED,
	CS_FREEZING,
	CS_CONTAINED,
	CS_REMEDIATING,
	CS_DEACTIVATING,
	CS_COMPLETED,
	CS_CANCELLED,
	CS_ESCALATED,
	CS__MAX
};

static const char *case_state_names[CS__MAX] = {
	"received", "scheduled", "freezing", "contained", "remediating",
	"deactivating", "completed", "cancelled", "escalated",
};

enum step_state {
	SS_PENDING = 0,
	SS_RUNNING,
	SS_RETRY_WAIT,
	SS_SUCCEEDED,
	SS_SKIPPED,
	SS_FAILED,
	SS__MAX
};

static const char *step_state_names[SS__MAX] = {
	"pending", "running", "retry_wait", "succeeded", "skipped", "failed",
};

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
	enum step_state		 state;
	int			 attempts;
	int			 queued;	/* in lanes[lane] */
	int			 spilled;	/* in lanes[lane].spill */
	size_t			 hidx;		/* index in lanes[lane].v */
	uint64_t		 qorder;	/* lane order: case id or 0 */
	uint64_t		 qseq;		/* lane order: then enqueue order */
	int			 launching;	/* on the launch list */
	uint64_t		 gen;		/* launch list: commit generation + 1, 0 = not committed */
	enum lane		 lane;
	struct step_ctx		*ctx;		/* while running */
	TAILQ_ENTRY(estep)	 q;		/* a lane or the launch list */
};
TAILQ_HEAD(estep_queue, estep);

/*
 * A lane: a binary min-heap on (qorder, qseq). Should it fail to grow (out
 * of memory), steps wait first come, first served in spill, after the heap.
 */
struct estep_heap {
	struct estep		**v;
	size_t			  n;
	size_t			  cap;
	struct estep_queue	  spill;
};

/* A configured target and its runtime, shared by all cases. */
struct engine_target {
	const struct config_target	*cfg;
	struct target			*t;
	const struct connector		*conn;	/* NULL: no connector for this kind yet */
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
	int64_t			 freeze_deadline_ms;
	int64_t			 complete_deadline_ms;
	struct etarget		*targets;
	size_t			 ntargets;
	int			 running;
	int			 failed;
	int			 fresh;		/* created in the open transaction */
	struct event		*timer;
	TAILQ_ENTRY(ecase)	 entry;
	TAILQ_ENTRY(ecase)	 fresh_entry;
};
TAILQ_HEAD(ecase_list, ecase);

struct step_ctx {
	struct engine		*eng;
	struct ecase		*c;
	struct estep		*s;
	struct call_opts	 opts;
	void			*data;
	void			(*free_fn)(void *);
	int			 done;
};

#define ENGINE_MAX_OBSERVERS	8

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
	struct ecase_list		 cases;
	size_t				 ncases;
	struct estep_heap		 lanes[LANE_COUNT];
	uint64_t			 qseq;		/* enqueues so far */
	size_t				 queued;
	size_t				 running;
	size_t				 waiters;	/* cases with waits_for set */
	struct event			*pump_ev;
	/* Group commit (see the top of this file). */
	struct event			*flush_ev;
	struct event			*hold_ev;	/* pump paused after a failed commit */
	struct event			*sync_ev;	/* the store's sync helper is done */
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

static void	engine_advance(struct ecase *);
static void	engine_pump_soon(struct engine *);
static void	engine_case_free(struct ecase *);
static struct ecase *engine_case_find(struct engine *, long long);
static const struct engine_stepjson *engine_stepjson(struct engine *,
		    const struct runbook_step *);
static void	engine_only_frozen_by(struct ecase *, long long);
static void	engine_wake_waiters(struct engine *, long long);
static struct store *engine_txn(struct engine *);
static void	engine_case_link(struct engine *, struct ecase *);
static void	engine_case_unlink(struct engine *, struct ecase *);
static int	engine_commit(struct engine *, int);
static void	engine_pump(struct engine *);

int64_t
engine_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
engine_case_state_name(int state)
{
	if (state < 0 || state >= CS__MAX)
		return "unknown";
	return case_state_names[state];
}

static int
engine_case_state_parse(const char *s)
{
	int i;

	for (i = 0; i < CS__MAX; i++)
		if (strcmp(case_state_names[i], s) == 0)
			return i;
	return -1;
}

static int
engine_step_state_parse(const char *s)
{
	int i;

	for (i = 0; i < SS__MAX; i++)
		if (strcmp(step_state_names[i], s) == 0)
			return i;
	return -1;
}

static int
engine_step_phase(enum step_kind k)
{
	if (k == STEP_FREEZE)
		return PHASE_FREEZE;
	if (k == STEP_DEACTIVATE || k == STEP_DELETE)
		return PHASE_DEACTIVATE;
	return PHASE_REMEDIATE;
}

static int
engine_step_terminal(enum step_state s)
{
	return s == SS_SUCCEEDED || s == SS_SKIPPED || s == SS_FAILED;
}

static struct engine_target *
engine_target_find(struct engine *eng, const char *name)
{
	size_t i;

	for (i = 0; i < eng->ntargets; i++)
		if (strcmp(eng->targets[i].cfg->name, name) == 0)
			return &eng->targets[i];
	return NULL;
}

/* Tell every observer. s may be NULL for case events. */
static void
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
	ev.ts_ms = engine_now_ms();
	ev.case_id = c->id;
	ev.subject_key = c->subject_key;
	ev.runbook = c->runbook;
	ev.event_type = c->event_type;
	ev.urgent = c->urgent;
	ev.state = case_state_names[c->state];
	ev.prev_state = prev;
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
static void
engine_note(struct ecase *c, const char *kind, const struct estep *s,
    const char *fmt, ...)
{
	char	 detail[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	store_timeline_add(engine_txn(c->eng), c->id, engine_now_ms(), kind,
	    s != NULL ? s->et->name : NULL,
	    s != NULL ? step_kind_name(s->rs.kind) : NULL, detail);
}

/* Move a case to a new state, durably. */
static int
engine_set_state(struct ecase *c, enum case_state st, const char *error)
{
	struct store	*store;
	int64_t		 now = engine_now_ms();
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
	store_case_state(store, c->id, case_state_names[st], now, error);
	if (st == CS_CONTAINED)
		store_case_frozen(store, c->id, now);
	if (st == CS_COMPLETED || st == CS_ESCALATED || st == CS_CANCELLED)
		store_case_completed(store, c->id, now);
	store_timeline_add(store, c->id, now, "state", NULL, NULL,
	    case_state_names[st]);
	if (nest && store_commit(store) != 0) {
		log_error("engine", "case %lld: cannot persist state %s: %s",
		    c->id, case_state_names[st], store_errmsg(store));
		r = -1;
	}
	/*
	 * Intermediate transitions are debug (a layoff makes tens of
	 * thousands); how a case ends is info, escalation a warning.
	 */
	log_msg(st == CS_ESCALATED ? LOG_LEVEL_WARN : st == CS_COMPLETED ||
	    st == CS_CANCELLED ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG, "engine",
	    "case %lld %s -> %s", c->id, case_state_names[c->state],
	    case_state_names[st]);
	prev = case_state_names[c->state];
	c->state = st;
	if (st == CS_CONTAINED && c->frozen_ms == 0)
		c->frozen_ms = now;
	engine_emit(c, ENGINE_EV_CASE_STATE, NULL, prev, NULL, error);
	return r;
}

static void
engine_persist_step(struct estep *s, const char *last_error, const char *detail)
{
	store_step_update(engine_txn(s->c->eng), s->c->id, s->et->name, s->seq,
	    step_state_names[s->state], s->attempts, last_error, detail,
	    engine_now_ms());
}

/* Put a ready step in its lane. */
/* a goes before b in its lane. */
static int
engine_heap_before(const struct estep *a, const struct estep *b)
{
	if (a->qorder != b->qorder)
		return a->qorder < b->qorder;
	return a->qseq < b->qseq;
}

static void
engine_heap_set(struct estep_heap *h, size_t i, struct estep *s)
{
	h->v[i] = s;
	s->hidx = i;
}

/* Move the step at i towards the root while it goes before its parent. */
static void
engine_heap_up(struct estep_heap *h, size_t i)
{
	struct estep	*s = h->v[i];
	size_t		 up;

	for (; i > 0; i = up) {
		up = (i - 1) / 2;
		if (!engine_heap_before(s, h->v[up]))
			break;
		engine_heap_set(h, i, h->v[up]);
	}
	engine_heap_set(h, i, s);
}

/* Move the step at i towards the leaves while a child goes before it. */
static void
engine_heap_down(struct estep_heap *h, size_t i)
{
	struct estep	*s = h->v[i];
	size_t		 kid;

	for (; (kid = 2 * i + 1) < h->n; i = kid) {
		if (kid + 1 < h->n && engine_heap_before(h->v[kid + 1],
		    h->v[kid]))
			kid++;
		if (!engine_heap_before(h->v[kid], s))
			break;
		engine_heap_set(h, i, h->v[kid]);
	}
	engine_heap_set(h, i, s);
}

static void
engine_heap_push(struct estep_heap *h, struct estep *s)
{
	struct estep	**v;
	size_t		  cap;

	s->spilled = 0;
	if (h->n == h->cap) {
		cap = h->cap < 256 ? 256 : h->cap * 2;
		if ((v = reallocarray(h->v, cap, sizeof *v)) == NULL) {
			s->spilled = 1;
			TAILQ_INSERT_TAIL(&h->spill, s, q);
			return;
		}
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n] = s;
	engine_heap_up(h, h->n++);
}

static struct estep *
engine_heap_first(const struct estep_heap *h)
{
	return h->n > 0 ? h->v[0] : TAILQ_FIRST(&h->spill);
}

static void
engine_heap_remove(struct estep_heap *h, struct estep *s)
{
	size_t	i = s->hidx;

	if (s->spilled) {
		TAILQ_REMOVE(&h->spill, s, q);
		s->spilled = 0;
		return;
	}
	if (--h->n == i)
		return;				/* it was the last */
	engine_heap_set(h, i, h->v[h->n]);
	if (i > 0 && engine_heap_before(h->v[i], h->v[(i - 1) / 2]))
		engine_heap_up(h, i);
	else
		engine_heap_down(h, i);
}

static void
engine_enqueue(struct estep *s)
{
	struct engine	*eng = s->c->eng;
	enum lane	 lane;

	if (s->queued)
		return;
	if (s->c->urgent)
		lane = LANE_URGENT;
	else if (s->phase == PHASE_FREEZE)
		lane = LANE_FREEZE;
	else
		lane = LANE_REMEDIATE;
	s->lane = lane;
	s->qorder = lane == LANE_REMEDIATE && s->c->id > 0 ?
	    (uint64_t)s->c->id : 0;
	s->qseq = ++eng->qseq;
	engine_heap_push(&eng->lanes[lane], s);
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
	engine_heap_remove(&eng->lanes[s->lane], s);
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
			if (s->phase != phase || engine_step_terminal(s->state))
				continue;
			if (s->state == SS_RUNNING || s->state == SS_RETRY_WAIT ||
			    s->queued)
				break;
			if (et->failed) {
				s->state = SS_SKIPPED;
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
			if (s->phase == phase && !engine_step_terminal(s->state))
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
	int64_t		 d = at_ms - engine_now_ms();

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
static void
engine_case_link(struct engine *eng, struct ecase *c)
{
	TAILQ_INSERT_TAIL(&eng->cases, c, entry);
	eng->ncases++;
	if (c->waits_for > 0)
		eng->waiters++;
}

/* A case leaves the list of open cases (and the fresh list). */
static void
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
static void
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
			if (engine_step_terminal(s->state))
				continue;
			s->state = SS_SKIPPED;
			engine_persist_step(s, NULL, "not run: case cancelled");
		}
	}
	if (c->timer != NULL)
		evtimer_del(c->timer);
}

/* Drive a case as far as it can go now. */
static void
engine_advance(struct ecase *c)
{
	int64_t now;

	if (c->cancelled && c->state < CS_COMPLETED) {
		if (c->running > 0)
			return;		/* the steps in flight finish first */
		engine_cancel_pending(c);
		engine_set_state(c, CS_CANCELLED, c->cancelled_by);
	}
	for (;;) {
		switch (c->state) {
		case CS_RECEIVED:
		case CS_SCHEDULED:
			if (c->waits_for > 0) {
				if (engine_case_find(c->eng, c->waits_for) != NULL)
					return;	/* woken when that case retires */
				engine_only_frozen_by(c, c->waits_for);
				c->waits_for = 0;
				c->eng->waiters--;
			}
			now = engine_now_ms();
			if (c->effective_ms > now) {
				engine_set_state(c, CS_SCHEDULED, NULL);
				engine_arm(c, c->effective_ms);
				return;
			}
			engine_set_state(c, CS_FREEZING, NULL);
			break;
		case CS_FREEZING:
			if (!engine_run_phase(c, PHASE_FREEZE))
				return;
			engine_set_state(c, CS_CONTAINED, NULL);
			break;
		case CS_CONTAINED:
			engine_set_state(c, CS_REMEDIATING, NULL);
			break;
		case CS_REMEDIATING:
			if (!engine_run_phase(c, PHASE_REMEDIATE))
				return;
			engine_set_state(c, CS_DEACTIVATING, NULL);
			break;
		case CS_DEACTIVATING:
			if (!engine_run_phase(c, PHASE_DEACTIVATE))
				return;
			if (c->failed > 0)
				engine_set_state(c, CS_ESCALATED, NULL);
			else
				engine_set_state(c, CS_COMPLETED, NULL);
			break;
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
	if (ctx->free_fn != NULL && ctx->data != NULL)
		ctx->free_fn(ctx->data);
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
	if (out == STEP_OUT_SKIPPED && s->rs.require_account &&
	    strncmp(detail, "no account", 10) == 0)
		out = STEP_OUT_FAILED;
	switch (out) {
	case STEP_OUT_OK:
		s->state = SS_SUCCEEDED;
		break;
	case STEP_OUT_SKIPPED:
		s->state = SS_SKIPPED;
		break;
	default:
		s->state = SS_FAILED;
		break;
	}
	store = engine_txn(eng);
	nest = !eng->txn;	/* see engine_set_state */
	if (nest)
		store_begin(store);
	engine_persist_step(s, s->state == SS_FAILED ? detail : NULL, detail);
	engine_note(c, "step", s, "%s%s%s", step_state_names[s->state],
	    *detail != '\0' ? ": " : "", detail);
	if (s->state == SS_FAILED) {
		snprintf(err, sizeof err, "%s %s: %s", s->et->name,
		    step_kind_name(s->rs.kind), detail);
		store_case_state(store, c->id, case_state_names[c->state],
		    engine_now_ms(), err);
	}
	if (nest && store_commit(store) != 0)
		log_error("engine", "case %lld: cannot persist step: %s",
		    c->id, store_errmsg(store));
	if (s->state == SS_FAILED) {
		log_warn("engine", "case %lld: %s %s failed: %s", c->id,
		    s->et->name, step_kind_name(s->rs.kind), detail);
		c->failed++;
		s->et->failed = 1;
	} else
		log_debug("engine", "case %lld: %s %s %s%s%s", c->id,
		    s->et->name, step_kind_name(s->rs.kind),
		    step_state_names[s->state], *detail != '\0' ? ": " : "",
		    detail);
	engine_emit(c, ENGINE_EV_STEP_DONE, s, NULL, step_state_names[s->state],
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
	s->state = SS_RETRY_WAIT;
	engine_persist_step(s, error, NULL);
	s->state = SS_RUNNING;
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
	s->state = SS_RUNNING;
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

/* The step's "running" row is committed: run it. */
static void
engine_launch(struct estep *s)
{
	struct step_ctx *ctx = s->ctx;

	if (s->et->rt == NULL) {
		step_ctx_done(ctx, STEP_OUT_SKIPPED,
		    "target is no longer configured");
		return;
	}
	if (s->rs.kind == STEP_DELETE && s->et->rt->cfg->irreversible_delete &&
	    !s->rs.irreversible_ok) {
		/* --check refuses this runbook; the config may have changed since. */
		step_ctx_done(ctx, STEP_OUT_FAILED, "delete refused: the target "
		    "is flagged irreversible_delete and the step has no "
		    "\"irreversible_ok\": true");
		return;
	}
	if (s->et->rt->conn == NULL) {
		char why[160];

		snprintf(why, sizeof why, "no connector for kind %s in this "
		    "build", s->et->rt->cfg->kind);
		step_ctx_done(ctx, STEP_OUT_SKIPPED, why);
		return;
	}
	s->et->rt->conn->run(ctx);
}

/* Start queued steps, lane by lane, up to engine.max_running_steps. */
static void
engine_pump(struct engine *eng)
{
	struct estep	*s;
	int		 lane, cap = eng->cfg->engine.max_running_steps;

	if (cap < 1)
		cap = 1;
	while (!eng->draining && !eng->held && eng->running < (size_t)cap) {
		s = NULL;
		for (lane = 0; lane < LANE_COUNT && s == NULL; lane++)
			s = engine_heap_first(&eng->lanes[lane]);
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

/*
 * The writes of this loop turn go into one transaction: open it if it is
 * not, and make sure the flush runs at the end of the turn. Returns the
 * store for the caller's writes. When BEGIN fails the writes fall back to
 * autocommit, as they would without grouping.
 */
static struct store *
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

static void
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
		free(s->ctx);
		s->ctx = NULL;
		s->state = SS_PENDING;
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
static int
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

/* Run the steps whose "running" row is on disk, in the order they were marked. */
static void
engine_launch_ready(struct engine *eng)
{
	struct estep	*s;
	uint64_t	 synced;

	if (TAILQ_EMPTY(&eng->launch))
		return;
	synced = store_synced(eng->store);
	while ((s = TAILQ_FIRST(&eng->launch)) != NULL && s->gen != 0 &&
	    s->gen <= synced + 1) {
		TAILQ_REMOVE(&eng->launch, s, q);
		s->launching = 0;
		engine_launch(s);
	}
}

/* The store's helper synced the WAL. */
static void
engine_synced_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *eng = arg;

	(void)fd;
	(void)what;
	(void)store_synced(eng->store);		/* drains the wake-up */
	engine_launch_ready(eng);
}

/* End of the turn: commit, then run the steps the commit made durable. */
static void
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

static void
engine_pump_soon(struct engine *eng)
{
	/* Activating an already active event is a no-op. */
	if (eng->pump_ev != NULL)
		event_active(eng->pump_ev, EV_TIMEOUT, 0);
}

static void
engine_case_free(struct ecase *c)
{
	size_t i, j;

	if (c->timer != NULL)
		event_free(c->timer);
	for (i = 0; i < c->ntargets; i++) {
		for (j = 0; j < c->targets[i].nsteps; j++) {
			struct estep *s = &c->targets[i].steps[j];

			if (s->queued)
				engine_dequeue(s);
			if (s->launching) {
				TAILQ_REMOVE(&c->eng->launch, s, q);
				s->launching = 0;
			}
			if (s->ctx != NULL) {
				/* Engine teardown: the target has dropped the calls. */
				if (s->ctx->free_fn != NULL && s->ctx->data != NULL)
					s->ctx->free_fn(s->ctx->data);
				free(s->ctx);
			}
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
	int			 lane;

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
	for (lane = 0; lane < LANE_COUNT; lane++)
		TAILQ_INIT(&eng->lanes[lane].spill);
	if ((eng->pump_ev = event_new(base, -1, 0, engine_pump_cb, eng)) ==
	    NULL || (eng->flush_ev = event_new(base, -1, 0, engine_flush_cb,
	    eng)) == NULL || (eng->hold_ev = evtimer_new(base, engine_hold_cb,
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
	free(eng->targets);
	for (i = 0; i < LANE_COUNT; i++)
		free(eng->lanes[i].v);
	for (i = 0; i < eng->nstepjson; i++)
		json_object_put(eng->stepjson[i].obj);
	free(eng->stepjson);
	if (eng->pump_ev != NULL)
		event_free(eng->pump_ev);
	if (eng->flush_ev != NULL)
		event_free(eng->flush_ev);
	if (eng->hold_ev != NULL)
		event_free(eng->hold_ev);
	if (eng->sync_ev != NULL)
		event_free(eng->sync_ev);
	if (eng->drain_timer != NULL)
		event_free(eng->drain_timer);
	free(eng);
}

/* Serialise a retry policy for the case row. */
static char *
engine_retry_json(const struct runbook_retry *r)
{
	char *s = NULL;

	if (asprintf(&s, "{\"max_attempts\":%d,\"initial_backoff_ms\":%ld,"
	    "\"max_backoff_ms\":%ld}", r->max_attempts, r->initial_backoff_ms,
	    r->max_backoff_ms) < 0)
		return NULL;
	return s;
}

static void
engine_retry_parse(const char *json, struct runbook_retry *r)
{
	json_object *o, *v;

	r->max_attempts = 10;
	r->initial_backoff_ms = 500;
	r->max_backoff_ms = 60000;
	if (json == NULL || (o = json_tokener_parse(json)) == NULL)
		return;
	if (json_object_object_get_ex(o, "max_attempts", &v))
		r->max_attempts = json_object_get_int(v);
	if (json_object_object_get_ex(o, "initial_backoff_ms", &v))
		r->initial_backoff_ms = (long)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "max_backoff_ms", &v))
		r->max_backoff_ms = (long)json_object_get_int64(v);
	if (r->max_attempts < 1)
		r->max_attempts = 1;
	json_object_put(o);
}

/* The JSON of a runbook step, made on first use and kept. */
static const struct engine_stepjson *
engine_stepjson(struct engine *eng, const struct runbook_step *rs)
{
	struct engine_stepjson	*n, *e;
	size_t			 i;

	for (i = 0; i < eng->nstepjson; i++)
		if (eng->stepjson[i].rs == rs)
			return &eng->stepjson[i];
	n = reallocarray(eng->stepjson, eng->nstepjson + 1, sizeof *n);
	if (n == NULL)
		return NULL;
	eng->stepjson = n;
	e = &n[eng->nstepjson];
	if ((e->obj = runbook_step_to_json(rs)) == NULL)
		return NULL;
	e->text = json_object_to_json_string_ext(e->obj, JSON_C_TO_STRING_PLAIN);
	e->rs = rs;
	eng->nstepjson++;
	return e;
}

/* Build the in-memory case for a new event from its runbook. */
static struct ecase *
engine_case_build(struct engine *eng, const struct event *ev,
    const struct runbook *rb)
{
	struct ecase			*c;
	const struct runbook_target	*sel;
	struct etarget			*et;
	size_t				 i, j, n = 0;
	json_object			*o;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	c->eng = eng;
	c->state = CS_RECEIVED;
	c->urgent = strcmp(ev->type, EVENT_TYPE_FREEZE) == 0;
	c->retry = rb->retry;
	c->subject_key = strdup(ev->subject_key);
	c->runbook = strdup(rb->name);
	c->event_type = strdup(ev->type);
	if ((o = subject_to_json(&ev->subject)) == NULL ||
	    subject_from_json(o, &c->subject) != 0) {
		if (o != NULL)
			json_object_put(o);
		goto fail;
	}
	json_object_put(o);
	if (eng->ntargets > 0 &&
	    (c->targets = calloc(eng->ntargets, sizeof *c->targets)) == NULL)
		goto fail;
	for (i = 0; i < eng->ntargets; i++) {
		if (ev->ntargets > 0) {
			size_t k;

			for (k = 0; k < ev->ntargets; k++)
				if (strcmp(ev->targets[k],
				    eng->targets[i].cfg->name) == 0)
					break;
			if (k == ev->ntargets)
				continue;
		}
		sel = runbook_select(rb, eng->targets[i].cfg->name,
		    eng->targets[i].cfg->kind);
		if (sel == NULL || sel->nsteps == 0)
			continue;
		et = &c->targets[n];
		et->name = strdup(eng->targets[i].cfg->name);
		et->rt = &eng->targets[i];
		/*
		 * An account id given in the event stays a hint in the subject:
		 * the connector verifies it before the first step uses it.
		 */
		if ((et->steps = calloc(sel->nsteps, sizeof *et->steps)) == NULL)
			goto fail;
		for (j = 0; j < sel->nsteps; j++) {
			const struct engine_stepjson *sj =
			    engine_stepjson(eng, &sel->steps[j]);

			et->steps[j].c = c;
			et->steps[j].et = et;
			et->steps[j].seq = (int)j;
			et->steps[j].src = &sel->steps[j];
			if (sj == NULL || runbook_step_from_json(sj->obj,
			    &et->steps[j].rs) != 0)
				goto fail;
			et->steps[j].phase = engine_step_phase(sel->steps[j].kind);
			et->nsteps++;
		}
		n++;
	}
	c->ntargets = n;
	if (c->subject_key == NULL || c->runbook == NULL ||
	    c->event_type == NULL)
		goto fail;
	return c;

fail:
	/* The array is zeroed past what was built: free it all. */
	c->ntargets = eng->ntargets;
	engine_case_free(c);
	return NULL;
}

/* Write a new case, its steps and the event link inside the open transaction. */
static int
engine_case_insert(struct engine *eng, struct ecase *c, const struct event *ev,
    const struct runbook *rb, int64_t now)
{
	struct store_case	 row;
	struct store_step	 sr;
	json_object		*subj, *opts;
	char			*retry;
	size_t			 i, j;
	int64_t			 start;
	int			 r = -1;

	subj = subject_to_json(&c->subject);
	retry = engine_retry_json(&c->retry);
	if (subj == NULL || retry == NULL)
		goto done;
	start = c->effective_ms > now ? c->effective_ms : now;
	memset(&row, 0, sizeof row);
	row.subject_key = c->subject_key;
	row.subject_json = json_object_to_json_string_ext(subj,
	    JSON_C_TO_STRING_PLAIN);
	row.runbook = rb->name;
	row.event_type = ev->type;
	row.state = case_state_names[CS_RECEIVED];
	row.urgent = c->urgent;
	row.created_ms = now;
	row.updated_ms = now;
	row.effective_ms = c->effective_ms;
	/* A runbook without budgets (an escalation record) has no deadlines. */
	row.freeze_deadline_ms = rb->freeze_within_s > 0 ?
	    start + rb->freeze_within_s * 1000 : 0;
	row.complete_deadline_ms = rb->complete_within_s > 0 ?
	    start + rb->complete_within_s * 1000 : 0;
	c->created_ms = now;
	c->freeze_deadline_ms = row.freeze_deadline_ms;
	c->complete_deadline_ms = row.complete_deadline_ms;
	row.reason = ev->reason;
	row.retry_json = retry;
	if ((c->id = store_case_insert(eng->store, &row)) < 0)
		goto done;
	for (i = 0; i < c->ntargets; i++) {
		for (j = 0; j < c->targets[i].nsteps; j++) {
			struct estep *s = &c->targets[i].steps[j];
			const struct engine_stepjson *sj = s->src != NULL ?
			    engine_stepjson(eng, s->src) : NULL;

			opts = sj == NULL ? runbook_step_to_json(&s->rs) : NULL;
			memset(&sr, 0, sizeof sr);
			sr.target = c->targets[i].name;
			sr.seq = s->seq;
			sr.step = step_kind_name(s->rs.kind);
			sr.opts_json = sj != NULL ? sj->text : opts != NULL ?
			    json_object_to_json_string_ext(opts,
			    JSON_C_TO_STRING_PLAIN) : NULL;
			sr.state = step_state_names[SS_PENDING];
			r = store_step_insert(eng->store, c->id, &sr);
			if (opts != NULL)
				json_object_put(opts);
			if (r != 0)
				goto done;
		}
		if (c->targets[i].account != NULL &&
		    store_account_put(eng->store, c->id, c->targets[i].name,
		    c->targets[i].account) != 0) {
			r = -1;
			goto done;
		}
	}
	r = store_timeline_add(eng->store, c->id, now, "received", NULL, NULL,
	    ev->type);
	if (r == 0)
		r = store_event_set_case(eng->store, ev->source, ev->id, c->id,
		    "case");
done:
	if (subj != NULL)
		json_object_put(subj);
	free(retry);
	return r;
}

/*
 * How long after a leaver case completed a new leaver signal for the same
 * person (the IdP's deactivation after HR's leaver, a late duplicate from a
 * second source) still belongs to it rather than opening a new case.
 */
#define ENGINE_ATTACH_WINDOW_MS	(30LL * 24 * 3600 * 1000)
#define ENGINE_MAX_KEYS		16

static const char *const engine_leaver_types[] = { EVENT_TYPE_LEAVER };
static const char *const engine_freeze_types[] = { EVENT_TYPE_FREEZE };

/* The identifiers a subject is known by, lowercased where case does not matter. */
static size_t
engine_subject_keys(const struct subject *s, char **keys, size_t max)
{
	size_t	 n = 0;
	char	*k, *p;

	if (s->employee_id != NULL && n < max &&
	    asprintf(&keys[n], "emp:%s", s->employee_id) > 0)
		n++;
	if (s->email != NULL && n < max &&
	    asprintf(&keys[n], "email:%s", s->email) > 0)
		n++;
	if (s->username != NULL && n < max &&
	    asprintf(&keys[n], "email:%s", s->username) > 0)
		n++;	/* usernames are logins, usually the email */
	if (s->accounts != NULL) {
		json_object_object_foreach(s->accounts, target, v) {
			if (n < max && asprintf(&keys[n], "acct:%s:%s", target,
			    json_object_get_string(v)) > 0)
				n++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		k = keys[i];
		if (strncmp(k, "email:", 6) == 0)
			for (p = k; *p != '\0'; p++)
				*p = (char)tolower((unsigned char)*p);
	}
	return n;
}

static void
engine_keys_free(char **keys, size_t n)
{
	while (n > 0)
		free(keys[--n]);
}

struct engine_latest {
	long long	 id;
	char		 state[32];
	int64_t		 completed_ms;
};

static int
engine_latest_cb(const struct store_case *row, void *arg)
{
	struct engine_latest *l = arg;

	l->id = row->id;
	snprintf(l->state, sizeof l->state, "%s", row->state);
	l->completed_ms = row->completed_ms;
	return 0;
}

/* The newest case opened by one of types for this subject (id 0 if none). */
static int
engine_latest(struct engine *eng, char **keys, size_t nkeys,
    const char *const *types, size_t ntypes, struct engine_latest *l)
{
	memset(l, 0, sizeof *l);
	if (nkeys == 0)
		return 0;
	return store_case_latest_for(eng->store, (const char *const *)keys,
	    nkeys, types, ntypes, engine_latest_cb, l);
}

static int
engine_state_open(const char *state)
{
	return strcmp(state, "completed") != 0 &&
	    strcmp(state, "cancelled") != 0 && strcmp(state, "escalated") != 0;
}

/* Record that an event belongs to an existing case (inside the transaction). */
static int
engine_attach(struct engine *eng, long long id, const struct event *ev,
    const char *disposition, int64_t now)
{
	char detail[512];

	snprintf(detail, sizeof detail, "%s from %s (event %s): %s", ev->type,
	    ev->source, ev->id, disposition);
	if (store_event_set_case(eng->store, ev->source, ev->id, id,
	    "attached") != 0 ||
	    store_timeline_add(eng->store, id, now, "attached", NULL, NULL,
	    detail) != 0)
		return -1;
	log_info("engine", "case %lld: %s", id, detail);
	return 0;
}

struct engine_deact {
	int	deactivated;
};

static int
engine_deact_cb(const struct store_step *p, void *arg)
{
	struct engine_deact *d = arg;

	if ((strcmp(p->step, "deactivate") == 0 || strcmp(p->step, "delete") ==
	    0) && (strcmp(p->state, "succeeded") == 0 ||
	    strcmp(p->state, "running") == 0 ||
	    strcmp(p->state, "retry_wait") == 0))
		d->deactivated = 1;
	return 0;
}

/* Has deactivation begun anywhere in this case? */
static int
engine_deactivation_begun(struct engine *eng, long long id)
{
	struct engine_deact	d = { 0 };
	struct ecase		*c;
	size_t			 i, j;

	store_steps_of(eng->store, id, engine_deact_cb, &d);
	if ((c = engine_case_find(eng, id)) != NULL) {
		for (i = 0; i < c->ntargets; i++)
			for (j = 0; j < c->targets[i].nsteps; j++)
				if (engine_step_phase(c->targets[i].steps[j].rs.kind) ==
				    PHASE_DEACTIVATE &&
				    c->targets[i].steps[j].state == SS_RUNNING)
					d.deactivated = 1;
	}
	return d.deactivated;
}

/*
 * Build and insert a case inside the caller's transaction. The caller commits
 * and then calls engine_start.
 */
static struct ecase *
engine_open(struct engine *eng, const struct event *ev, const struct runbook *rb,
    long long waits_for, int64_t now)
{
	struct ecase	*c;
	char		*keys[ENGINE_MAX_KEYS];
	size_t		 nkeys;

	if ((c = engine_case_build(eng, ev, rb)) == NULL)
		return NULL;
	c->effective_ms = ev->effective > 0 ? (int64_t)ev->effective * 1000 : 0;
	c->waits_for = waits_for;
	if (engine_case_insert(eng, c, ev, rb, now) != 0) {
		engine_case_free(c);
		return NULL;
	}
	nkeys = engine_subject_keys(&ev->subject, keys, ENGINE_MAX_KEYS);
	if (store_case_keys_put(eng->store, c->id, (const char *const *)keys,
	    nkeys) != 0) {
		engine_keys_free(keys, nkeys);
		engine_case_free(c);
		return NULL;
	}
	engine_keys_free(keys, nkeys);
	return c;
}

/* After commit: the case is in memory and starts. */
static void
engine_start(struct engine *eng, struct ecase *c, const struct event *ev)
{
	engine_case_link(eng, c);
	log_info("engine", "case %lld opened for %s by %s (runbook %s, %zu "
	    "targets%s)", c->id, c->subject_key, ev->type, c->runbook,
	    c->ntargets, c->waits_for > 0 ? ", waiting for an earlier case" :
	    "");
	engine_emit(c, ENGINE_EV_CASE_OPENED, NULL, NULL, NULL, ev->source);
	engine_advance(c);
}

/*
 * A rescind after deactivation: record a case that needs a human (deprov
 * never reactivates on its own).
 */
static struct ecase *
engine_open_escalated(struct engine *eng, const struct event *ev,
    long long earlier, int64_t now)
{
	struct runbook none;

	(void)earlier;
	memset(&none, 0, sizeof none);
	none.name = (char *)"rescind-after-deactivation";
	none.retry.max_attempts = 1;
	return engine_open(eng, ev, &none, 0, now);
}

int
engine_submit(struct engine *eng, const struct event *ev, const char *origin,
    long long *case_id, char *err, size_t errlen)
{
	const struct runbook	*rb;
	struct ecase		*c = NULL, *old;
	struct engine_latest	 latest;
	char			*keys[ENGINE_MAX_KEYS], by[320];
	size_t			 nkeys = 0;
	int64_t			 now = engine_now_ms();
	long long		 waits_for = 0, cancel_id = 0;
	int			 r, escalate = 0, result = ENGINE_NEW_CASE;

	*case_id = 0;
	/* Inside the turn's transaction: a savepoint of our own. */
	if (store_begin(engine_txn(eng)) != 0) {
		snprintf(err, errlen, "store: %s", store_errmsg(eng->store));
		return -1;
	}
	r = store_event_put(eng->store, ev->source, ev->id, ev->type,
	    ev->subject_key, origin, now);
	if (r < 0)
		goto fail;
	if (r == 1) {
		store_commit(eng->store);
		log_info("engine", "event %s from %s already seen: ignored",
		    ev->id, ev->source);
		return ENGINE_DUPLICATE;
	}
	nkeys = engine_subject_keys(&ev->subject, keys, ENGINE_MAX_KEYS);

	/* One person, one case: signals about an open case join it. */
	if (strcmp(ev->type, EVENT_TYPE_LEAVER) == 0) {
		if (engine_latest(eng, keys, nkeys, engine_leaver_types, 1,
		    &latest) != 0)
			goto fail;
		if (latest.id > 0 && strcmp(latest.state, "cancelled") != 0 &&
		    (engine_state_open(latest.state) ||
		    now - latest.completed_ms < ENGINE_ATTACH_WINDOW_MS)) {
			if (engine_attach(eng, latest.id, ev, "same person",
			    now) != 0)
				goto fail;
			*case_id = latest.id;
			result = ENGINE_ATTACHED;
			goto commit;
		}
	} else if (strcmp(ev->type, EVENT_TYPE_FREEZE) == 0) {
		if (engine_latest(eng, keys, nkeys, engine_freeze_types, 1,
		    &latest) != 0)
			goto fail;
		if (latest.id == 0 || !engine_state_open(latest.state)) {
			if (engine_latest(eng, keys, nkeys, engine_leaver_types,
			    1, &latest) != 0)
				goto fail;
			/* A leaver case already freezing covers it; a scheduled one does not. */
			if (latest.id > 0 && (!engine_state_open(latest.state) ||
			    strcmp(latest.state, "received") == 0 ||
			    strcmp(latest.state, "scheduled") == 0))
				latest.id = 0;
		}
		if (latest.id > 0) {
			if (engine_attach(eng, latest.id, ev, "already being "
			    "frozen", now) != 0)
				goto fail;
			*case_id = latest.id;
			result = ENGINE_ATTACHED;
			goto commit;
		}
	} else if (strcmp(ev->type, EVENT_TYPE_RESCINDED) == 0) {
		if (engine_latest(eng, keys, nkeys, engine_leaver_types, 1,
		    &latest) != 0)
			goto fail;
		if (latest.id == 0 || strcmp(latest.state, "cancelled") == 0) {
			if (store_event_set_case(eng->store, ev->source, ev->id,
			    latest.id, "nothing_to_rescind") != 0)
				goto fail;
			log_warn("engine", "rescind %s for %s: no leaver case",
			    ev->id, ev->subject_key);
			result = ENGINE_NO_CASE;
			goto commit;
		}
		if (engine_attach(eng, latest.id, ev, "rescinded", now) != 0)
			goto fail;
		if (engine_deactivation_begun(eng, latest.id)) {
			escalate = 1;
		} else if (strcmp(latest.state, "received") == 0 ||
		    strcmp(latest.state, "scheduled") == 0) {
			/* Nothing was done yet: just cancel it. */
			cancel_id = latest.id;
			*case_id = latest.id;
			result = ENGINE_ATTACHED;
			goto commit;
		} else {
			/* Frozen (or freezing): stop it, then unfreeze what it froze. */
			if (engine_state_open(latest.state))
				cancel_id = latest.id;
			waits_for = latest.id;
		}
	} else if (strcmp(ev->type, EVENT_TYPE_UNFREEZE) == 0) {
		if (engine_latest(eng, keys, nkeys, engine_freeze_types, 1,
		    &latest) != 0)
			goto fail;
		if (latest.id > 0 && engine_state_open(latest.state)) {
			cancel_id = latest.id;
			waits_for = latest.id;
		}
	}

	if (escalate) {
		if ((c = engine_open_escalated(eng, ev, latest.id, now)) == NULL)
			goto fail;
	} else {
		rb = runbook_match(eng->runbooks, ev->type, ev->termination_kind);
		if (rb == NULL) {
			if (store_event_set_case(eng->store, ev->source, ev->id,
			    0, "no_runbook") != 0)
				goto fail;
			log_warn("engine", "event %s (%s) for %s: no runbook "
			    "matches", ev->id, ev->type, ev->subject_key);
			result = ENGINE_NO_RUNBOOK;
			goto commit;
		}
		if ((c = engine_open(eng, ev, rb, waits_for, now)) == NULL)
			goto fail;
	}
	*case_id = c->id;

commit:
	if (cancel_id > 0)
		store_case_cancel_request(eng->store, cancel_id, "rescinded");
	if (store_commit(eng->store) != 0)
		goto fail_committed;
	engine_keys_free(keys, nkeys);
	if (cancel_id > 0 && (old = engine_case_find(eng, cancel_id)) != NULL &&
	    !old->cancelled) {
		snprintf(by, sizeof by, "%s (%s from %s)", ev->type, ev->id,
		    ev->source);
		engine_case_cancel(eng, cancel_id, by, err, errlen);
	}
	if (c != NULL && !escalate && eng->txn) {
		/* Not durable before the turn's commit: forgotten if it fails. */
		c->fresh = 1;
		TAILQ_INSERT_TAIL(&eng->fresh, c, fresh_entry);
	}
	if (c != NULL && escalate) {
		engine_case_link(eng, c);
		engine_emit(c, ENGINE_EV_CASE_OPENED, NULL, NULL, NULL,
		    ev->source);
		snprintf(by, sizeof by, "rescinded after deactivation began in "
		    "case %lld: reactivate by hand if the person stays",
		    latest.id);
		log_warn("engine", "case %lld for %s: %s", c->id,
		    c->subject_key, by);
		engine_set_state(c, CS_ESCALATED, by);
		engine_retire(c);
	} else if (c != NULL)
		engine_start(eng, c, ev);
	/*
	 * Durable before we return, unless inside a Kafka batch (whose end
	 * commits before any offset of it is stored).
	 */
	if (!eng->batch && engine_commit(eng, 1) != 0) {
		snprintf(err, errlen, "store: cannot commit");
		*case_id = 0;
		return -1;
	}
	return result;

fail:
	store_rollback(eng->store);
fail_committed:
	snprintf(err, errlen, "store: %s", store_errmsg(eng->store));
	engine_keys_free(keys, nkeys);
	if (c != NULL)
		engine_case_free(c);
	return -1;
}

/* Restrict a case to the targets whose freeze succeeded in an earlier case. */
struct engine_frozen {
	char	names[64][128];
	size_t	n;
};

static int
engine_frozen_cb(const struct store_step *p, void *arg)
{
	struct engine_frozen *f = arg;

	if (strcmp(p->step, "freeze") == 0 && strcmp(p->state, "succeeded") ==
	    0 && f->n < 64)
		snprintf(f->names[f->n++], sizeof f->names[0], "%s", p->target);
	return 0;
}

static void
engine_only_frozen_by(struct ecase *c, long long earlier)
{
	struct engine_frozen	 f;
	struct etarget		*et;
	size_t			 i, j, k;
	char			 why[160];

	memset(&f, 0, sizeof f);
	if (store_steps_of(c->eng->store, earlier, engine_frozen_cb, &f) != 0)
		return;
	snprintf(why, sizeof why, "not run: case %lld did not freeze this "
	    "target", earlier);
	for (i = 0; i < c->ntargets; i++) {
		et = &c->targets[i];
		for (k = 0; k < f.n; k++)
			if (strcmp(f.names[k], et->name) == 0)
				break;
		if (k < f.n)
			continue;
		for (j = 0; j < et->nsteps; j++) {
			if (engine_step_terminal(et->steps[j].state))
				continue;
			et->steps[j].state = SS_SKIPPED;
			engine_persist_step(&et->steps[j], NULL, why);
		}
	}
	engine_note(c, "note", NULL, "acting on the %zu targets case %lld "
	    "froze", f.n, earlier);
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

/* Resume: rebuild cases from the store. */
struct engine_load {
	struct engine	*eng;
	struct ecase	*c;
	int		 error;
	int		 count;
};

static struct etarget *
engine_load_target(struct ecase *c, const char *name)
{
	struct etarget	*nt;
	size_t		 i;

	for (i = 0; i < c->ntargets; i++)
		if (strcmp(c->targets[i].name, name) == 0)
			return &c->targets[i];
	nt = realloc(c->targets, (c->ntargets + 1) * sizeof *nt);
	if (nt == NULL)
		return NULL;
	/* Steps point back at their etarget: fix them up after the move. */
	c->targets = nt;
	memset(&nt[c->ntargets], 0, sizeof *nt);
	if ((nt[c->ntargets].name = strdup(name)) == NULL)
		return NULL;
	nt[c->ntargets].rt = engine_target_find(c->eng, name);
	return &c->targets[c->ntargets++];
}

static int
engine_load_step(const struct store_step *p, void *arg)
{
	struct engine_load	*l = arg;
	struct etarget		*et;
	struct estep		*ns, *s;
	json_object		*o;
	int			 st, kind;

	if ((et = engine_load_target(l->c, p->target)) == NULL)
		return -1;
	ns = realloc(et->steps, (et->nsteps + 1) * sizeof *ns);
	if (ns == NULL)
		return -1;
	et->steps = ns;
	s = &et->steps[et->nsteps];
	memset(s, 0, sizeof *s);
	s->c = l->c;
	s->seq = p->seq;
	s->attempts = p->attempts;
	st = engine_step_state_parse(p->state);
	/* A step that was running or waiting to retry is run again. */
	s->state = st < 0 || st == SS_RUNNING || st == SS_RETRY_WAIT ?
	    SS_PENDING : (enum step_state)st;
	o = p->opts_json != NULL ? json_tokener_parse(p->opts_json) : NULL;
	if (o == NULL || runbook_step_from_json(o, &s->rs) != 0) {
		kind = step_kind_parse(p->step);
		if (o != NULL)
			json_object_put(o);
		if (kind < 0)
			return -1;
		memset(&s->rs, 0, sizeof s->rs);
		s->rs.kind = (enum step_kind)kind;
	} else
		json_object_put(o);
	s->phase = engine_step_phase(s->rs.kind);
	if (s->state == SS_FAILED)
		et->failed = 1;
	if (s->state == SS_SKIPPED && p->detail != NULL &&
	    strncmp(p->detail, "not run:", 8) == 0)
		s->blocked = 1;
	et->nsteps++;
	return 0;
}

static int
engine_load_account(const char *target, const char *account, void *arg)
{
	struct engine_load	*l = arg;
	size_t			 i;

	for (i = 0; i < l->c->ntargets; i++) {
		if (strcmp(l->c->targets[i].name, target) == 0) {
			free(l->c->targets[i].account);
			l->c->targets[i].account = strdup(account);
		}
	}
	return 0;
}

static int
engine_load_case(const struct store_case *row, void *arg)
{
	struct engine_load	*l = arg;
	struct engine		*eng = l->eng;
	struct ecase		*c;
	json_object		*o;
	size_t			 i, j;
	int			 st;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return -1;
	c->eng = eng;
	c->id = row->id;
	c->subject_key = strdup(row->subject_key);
	c->runbook = strdup(row->runbook);
	c->event_type = strdup(row->event_type);
	c->urgent = row->urgent;
	c->effective_ms = row->effective_ms;
	c->created_ms = row->created_ms;
	c->waits_for = row->waits_for;
	if (row->cancel_by != NULL) {
		c->cancelled = 1;
		c->cancelled_by = strdup(row->cancel_by);
	}
	c->frozen_ms = row->frozen_ms;
	c->freeze_deadline_ms = row->freeze_deadline_ms;
	c->complete_deadline_ms = row->complete_deadline_ms;
	st = engine_case_state_parse(row->state);
	c->state = st < 0 ? CS_RECEIVED : (enum case_state)st;
	engine_retry_parse(row->retry_json, &c->retry);
	o = json_tokener_parse(row->subject_json);
	if (o == NULL || subject_from_json(o, &c->subject) != 0) {
		log_error("engine", "case %lld: unreadable subject; escalating",
		    row->id);
		if (o != NULL)
			json_object_put(o);
		store_case_state(engine_txn(eng), row->id, "escalated",
		    engine_now_ms(), "unreadable subject in store");
		engine_case_free(c);
		return 0;
	}
	json_object_put(o);
	l->c = c;
	if (store_steps_of(eng->store, c->id, engine_load_step, l) != 0 ||
	    store_accounts_of(eng->store, c->id, engine_load_account, l) != 0) {
		l->c = NULL;
		engine_case_free(c);
		return -1;
	}
	l->c = NULL;
	for (i = 0; i < c->ntargets; i++) {
		for (j = 0; j < c->targets[i].nsteps; j++) {
			c->targets[i].steps[j].et = &c->targets[i];
			if (c->targets[i].steps[j].state == SS_FAILED)
				c->failed++;
		}
	}
	engine_case_link(eng, c);
	l->count++;
	return 0;
}

int
engine_resume(struct engine *eng)
{
	struct engine_load	 l;
	struct ecase		*c, *next;

	memset(&l, 0, sizeof l);
	l.eng = eng;
	if (store_cases_open(eng->store, engine_load_case, &l) != 0)
		return -1;
	/* Advance after loading so that the lanes see every case's freezes first. */
	for (c = TAILQ_FIRST(&eng->cases); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		engine_note(c, "resumed", NULL, "resumed in state %s",
		    case_state_names[c->state]);
		engine_emit(c, ENGINE_EV_CASE_RESUMED, NULL, NULL, NULL, NULL);
		engine_advance(c);
	}
	if (l.count > 0)
		log_info("engine", "resumed %d unfinished cases", l.count);
	return l.count;
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

static struct ecase *
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
    char *err, size_t errlen)
{
	struct engine_load	 l;
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
		memset(&l, 0, sizeof l);
		l.eng = eng;
		if (store_case_get(eng->store, id, engine_load_case, &l) != 0 ||
		    (c = engine_case_find(eng, id)) == NULL) {
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
			if (s->state != SS_FAILED && !s->blocked)
				continue;
			s->state = SS_PENDING;
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
	engine_note(c, "operator", NULL, "retry by %s (%d steps)", who, reset);
	if (store_commit(eng->store) != 0) {
		snprintf(err, errlen, "store: %s", store_errmsg(eng->store));
		return -1;
	}
	log_info("engine", "case %lld: retry by %s (%d steps)", id, who, reset);
	engine_set_state(c, CS_FREEZING, NULL);
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
    char *err, size_t errlen)
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
	if (c->state >= CS_COMPLETED) {
		snprintf(err, errlen, "case is %s: nothing to cancel",
		    case_state_names[c->state]);
		return -1;
	}
	if (c->cancelled)
		return 0;
	if (asprintf(&by, "cancelled by %s", who) < 0) {
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
