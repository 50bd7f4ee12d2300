/*
 * engine-resume: cases back from the store: every unfinished case at start
 * (engine_resume), one ended case for an operator's retry, and a case
 * restricted to what an earlier case did (an unfreeze to the targets it
 * froze, a reinstate to those it disabled).
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
#include "deprov/clock.h"
#include "deprov/connector.h"
#include "deprov/engine.h"
#include "deprov/log.h"
#include "deprov/target.h"

#include "engine-internal.h"

struct engine_frozen;
struct engine_load;
static int	engine_load_case(const struct store_case *row, void *arg);

static void	engine_retry_parse(const char *json, struct runbook_retry *r);
static int	engine_frozen_cb(const struct store_step *p, void *arg);
static struct etarget *engine_load_target(struct ecase *c, const char *name);
static int	engine_load_step(const struct store_step *p, void *arg);
static int	engine_load_account(const char *target, const char *account,
	    void *arg);

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

/*
 * Restrict a case to the targets an earlier case disabled: where its
 * freeze succeeded (an unfreeze, a rescind), or also where it deactivated
 * or deleted (a reinstate brings back exactly those).
 */
struct engine_frozen {
	char	names[64][128];
	size_t	n;
	int	deactivated_too;
};

static int
engine_frozen_cb(const struct store_step *p, void *arg)
{
	struct engine_frozen	*f = arg;
	size_t			 k;
	int			 kind = step_kind_parse(p->step);

	if (strcmp(p->state, "succeeded") != 0 || f->n == 64)
		return 0;
	if (kind != STEP_FREEZE && !(f->deactivated_too &&
	    (kind == STEP_DEACTIVATE || kind == STEP_DELETE)))
		return 0;
	for (k = 0; k < f->n; k++)
		if (strcmp(f->names[k], p->target) == 0)
			return 0;
	snprintf(f->names[f->n++], sizeof f->names[0], "%s", p->target);
	return 0;
}

void
engine_only_frozen_by(struct ecase *c, long long earlier)
{
	struct engine_frozen	 f;
	struct etarget		*et;
	size_t			 i, j, k;
	char			 why[160];

	memset(&f, 0, sizeof f);
	f.deactivated_too = strcmp(c->event_type, EVENT_TYPE_REINSTATE) == 0;
	if (store_steps_of(c->eng->store, earlier, engine_frozen_cb, &f) != 0)
		return;
	snprintf(why, sizeof why, "not run: case %lld did not %s this "
	    "target", earlier, f.deactivated_too ? "disable" : "freeze");
	for (i = 0; i < c->ntargets; i++) {
		et = &c->targets[i];
		for (k = 0; k < f.n; k++)
			if (strcmp(f.names[k], et->name) == 0)
				break;
		if (k < f.n)
			continue;
		for (j = 0; j < et->nsteps; j++) {
			if (step_state_final(et->steps[j].state))
				continue;
			et->steps[j].state = STEP_SKIPPED;
			engine_persist_step(&et->steps[j], NULL, why);
		}
	}
	engine_note(c, "note", NULL, "acting on the %zu targets case %lld "
	    "%s", f.n, earlier, f.deactivated_too ? "disabled" : "froze");
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
	st = step_state_parse(p->state);
	/* A step that was running or waiting to retry is run again. */
	s->state = st < 0 || st == STEP_RUNNING || st == STEP_RETRY_WAIT ?
	    STEP_PENDING : (enum step_state)st;
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
	if (s->state == STEP_FAILED)
		et->failed = 1;
	s->no_account = p->no_account;
	if (s->state == STEP_SKIPPED && p->detail != NULL &&
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
	c->ended_ms = row->completed_ms;
	c->freeze_deadline_ms = row->freeze_deadline_ms;
	c->complete_deadline_ms = row->complete_deadline_ms;
	st = case_state_parse(row->state);
	c->state = st < 0 ? CASE_RECEIVED : (enum case_state)st;
	engine_retry_parse(row->retry_json, &c->retry);
	o = json_tokener_parse(row->subject_json);
	if (o == NULL || subject_from_json(o, &c->subject) != 0) {
		log_error("engine", "case %lld: unreadable subject; escalating",
		    row->id);
		if (o != NULL)
			json_object_put(o);
		store_case_state(engine_txn(eng), row->id, "escalated",
		    clock_wall_ms(), "unreadable subject in store");
		store_case_completed(engine_txn(eng), row->id, clock_wall_ms());
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
			if (c->targets[i].steps[j].state == STEP_FAILED)
				c->failed++;
		}
	}
	if (engine_case_reserve(c) != 0) {
		log_error("engine", "case %lld: out of memory: cannot queue its "
		    "steps", c->id);
		engine_case_free(c);
		return -1;
	}
	engine_case_link(eng, c);
	l->count++;
	return 0;
}

/* Load one ended case back into memory (for an operator's retry); NULL on error. */
struct ecase *
engine_case_reload(struct engine *eng, long long id)
{
	struct engine_load l;

	memset(&l, 0, sizeof l);
	l.eng = eng;
	if (store_case_get(eng->store, id, engine_load_case, &l) != 0)
		return NULL;
	return engine_case_find(eng, id);
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
		    case_state_name(c->state));
		engine_emit(c, ENGINE_EV_CASE_RESUMED, NULL, NULL, NULL, NULL);
		engine_advance(c);
	}
	if (l.count > 0)
		log_info("engine", "resumed %d unfinished cases", l.count);
	return l.count;
}
