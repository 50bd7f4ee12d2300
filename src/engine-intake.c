/*
 * engine-intake: events into cases. engine_submit records the event
 * (deduplicated by source and id), finds what the store knows of the
 * person, and asks the rule of the event's type what to do: open a case,
 * attach the event to an open one, cancel one first, wait for one to end,
 * record an escalation, or refuse. The rules are a table, one row per event
 * type; engine_submit alone handles the transaction around them.
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

struct engine_latest;
struct engine_echo;
struct engine_deact;

static char *engine_retry_json(const struct runbook_retry *r);
static const struct engine_stepjson *engine_stepjson(struct engine *eng,
	    const struct runbook_step *rs);
static struct ecase *engine_case_build(struct engine *eng,
	    const struct event *ev, const struct runbook *rb);
static int	engine_case_insert(struct engine *eng, struct ecase *c,
	    const struct event *ev, const struct runbook *rb, int64_t now);
static int	engine_latest_cb(const struct store_case *row, void *arg);
static int	engine_latest(struct engine *eng, char **keys, size_t nkeys,
	    const char *const *types, size_t ntypes, struct engine_latest *l);
static int	engine_latest_open(const struct engine_latest *l);
static int	engine_latest_freezing(const struct engine_latest *l);
static int	engine_echo_cb(const struct store_step *p, void *arg);
static int	engine_echo(struct engine *eng, const struct engine_latest *l,
	    const struct event *ev, enum step_kind kind, int64_t now);
static int	engine_refuse(struct engine *eng, long long id,
	    const struct event *ev, const char *why, int64_t now);
static long long	engine_reinstate_of(struct engine *eng,
	    const struct event *ev, char **keys, size_t nkeys,
	    long long *attach, char *why, size_t len);
static int	engine_attach(struct engine *eng, long long id,
	    const struct event *ev, const char *disposition, int64_t now);
static int	engine_deact_cb(const struct store_step *p, void *arg);
static int	engine_deactivation_begun(struct engine *eng, long long id);
static struct ecase *engine_open(struct engine *eng, const struct event *ev,
	    const struct runbook *rb, long long waits_for, int64_t now);
static void	engine_start(struct engine *eng, struct ecase *c,
	    const struct event *ev);
static struct ecase *engine_open_escalated(struct engine *eng,
	    const struct event *ev, long long earlier, int64_t now);

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
	c->state = CASE_RECEIVED;
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
	row.state = case_state_name(CASE_RECEIVED);
	row.urgent = c->urgent;
	row.created_ms = now;
	row.updated_ms = now;
	row.effective_ms = c->effective_ms;
	/*
	 * A runbook without budgets (an escalation record) has no deadlines;
	 * a case that freezes nothing (an unfreeze) has no freeze deadline.
	 */
	row.freeze_deadline_ms = rb->freeze_within_s > 0 &&
	    engine_case_freezes(c) ? start + rb->freeze_within_s * 1000 : 0;
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
			sr.state = step_state_name(STEP_PENDING);
			r = store_step_insert(eng->store, c->id, &sr);
			/* It points into the runbooks, which a reload replaces. */
			s->src = NULL;
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


static const char *const engine_leaver_types[] = { EVENT_TYPE_LEAVER };
static const char *const engine_freeze_types[] = { EVENT_TYPE_FREEZE };

/* The identifiers a subject is known by, lowercased where case does not matter. */
size_t
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

void
engine_keys_free(char **keys, size_t n)
{
	while (n > 0)
		free(keys[--n]);
}

struct engine_latest {
	long long	 id;
	char		 state[32];
	char		 type[48];
	char		 runbook[64];
	int64_t		 completed_ms;
};

static int
engine_latest_cb(const struct store_case *row, void *arg)
{
	struct engine_latest *l = arg;

	l->id = row->id;
	snprintf(l->state, sizeof l->state, "%s", row->state);
	snprintf(l->type, sizeof l->type, "%s", row->event_type);
	snprintf(l->runbook, sizeof l->runbook, "%s", row->runbook);
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

/*
 * The case has not ended: it may still run steps (an escalated case whose
 * other targets are still being worked on has not ended either).
 */
static int
engine_latest_open(const struct engine_latest *l)
{
	return l->id > 0 && l->completed_ms == 0 &&
	    strcmp(l->state, "completed") != 0 &&
	    strcmp(l->state, "cancelled") != 0;
}

/* The case is locking its person out now: a new freeze adds nothing. */
static int
engine_latest_freezing(const struct engine_latest *l)
{
	int st = case_state_parse(l->state);

	return engine_latest_open(l) && (st == CASE_FREEZING ||
	    st == CASE_CONTAINED || st == CASE_REMEDIATING ||
	    st == CASE_DEACTIVATING);
}

struct engine_echo {
	const char	*target;
	enum step_kind	 kind;
	int64_t		 by_ms;
	int		 found;
};

static int
engine_echo_cb(const struct store_step *p, void *arg)
{
	struct engine_echo	*e = arg;
	int			 kind = step_kind_parse(p->step);

	if (strcmp(p->target, e->target) == 0 && strcmp(p->state,
	    "succeeded") == 0 && p->started_ms > 0 && p->started_ms <= e->by_ms &&
	    (kind == (int)e->kind || (e->kind == STEP_DEACTIVATE &&
	    kind == STEP_DELETE)))
		e->found = 1;
	return 0;
}

/*
 * An identity provider reporting what deprov itself did there: after a
 * leaver case deactivated (or froze) the person at the IdP's target, the
 * IdP's hook announces that deactivation (suspension) to deprov. That is
 * the echo of an ended case's own step, not news: 1 when ev is one (the
 * step succeeded at ev->idp_target having started before the event's
 * time), 0 when not, -1 on a store error.
 */
static int
engine_echo(struct engine *eng, const struct engine_latest *l,
    const struct event *ev, enum step_kind kind, int64_t now)
{
	struct engine_echo e;

	if (ev->idp_target == NULL || l->id == 0 ||
	    strcmp(l->state, "cancelled") == 0)
		return 0;
	e.target = ev->idp_target;
	e.kind = kind;
	/* The IdP's clock stamps the event: allow it a few seconds of skew. */
	e.by_ms = (ev->time > 0 ? (int64_t)ev->time * 1000 : now) + 5000;
	e.found = 0;
	if (store_steps_of(eng->store, l->id, engine_echo_cb, &e) != 0)
		return -1;
	return e.found;
}

/*
 * Whether a leaver case forbids an unfreeze: one that has begun to lock
 * its person out for good (past its effective time, not cancelled, and not
 * undone by a later reinstate), because an unfreeze would re-enable a
 * leaver. Returns that case's id with why, 0 when an unfreeze may run, -1
 * on a store error.
 */
long long
engine_unfreeze_refused(struct engine *eng, char **keys, size_t nkeys,
    char *why, size_t len)
{
	static const char *const types[] = {
		EVENT_TYPE_LEAVER, EVENT_TYPE_REINSTATE
	};
	struct engine_latest	l;
	int			st;

	if (engine_latest(eng, keys, nkeys, types, 2, &l) != 0)
		return -1;
	if (l.id == 0 || strcmp(l.type, EVENT_TYPE_LEAVER) != 0)
		return 0;
	st = case_state_parse(l.state);
	if (st == CASE_CANCELLED || st == CASE_RECEIVED || st == CASE_SCHEDULED)
		return 0;
	snprintf(why, len, "refused: leaver case %lld (%s, %s) is "
	    "deprovisioning this person, and an unfreeze would re-enable "
	    "them; rescind the termination while the case runs, or reinstate "
	    "the person (admin) once it has ended", l.id, l.runbook, l.state);
	return l.id;
}

/*
 * A refused event: recorded on the case that forbids it (the event row,
 * a timeline entry, an observer event for the audit), nothing run.
 */
static int
engine_refuse(struct engine *eng, long long id, const struct event *ev,
    const char *why, int64_t now)
{
	struct engine_event	e;
	char			detail[768];
	size_t			i;

	snprintf(detail, sizeof detail, "%s from %s (event %s) %s", ev->type,
	    ev->source, ev->id, why);
	if (store_event_set_case(eng->store, ev->source, ev->id, id,
	    "refused") != 0 ||
	    (id > 0 && store_timeline_add(eng->store, id, now, "refused", NULL,
	    NULL, detail) != 0))
		return -1;
	log_warn("engine", "case %lld: %s", id, detail);
	memset(&e, 0, sizeof e);
	e.kind = ENGINE_EV_REFUSED;
	e.ts_ms = now;
	e.case_id = id;
	e.subject_key = ev->subject_key;
	e.event_type = ev->type;
	e.detail = why;
	e.source = ev->source;
	for (i = 0; i < eng->nobservers; i++)
		eng->observers[i].cb(&e, eng->observers[i].arg);
	return 0;
}

/*
 * Which leaver case a reinstate undoes: the person's latest, which must
 * have ended (completed or escalated, not cancelled) and not have been
 * reinstated already; ev->case_ref, when given, must name it. Returns its
 * id, 0 when the reinstate is refused (why says why; *attach is set when
 * a reinstate for it is running already), -1 on a store error.
 */
static long long
engine_reinstate_of(struct engine *eng, const struct event *ev, char **keys,
    size_t nkeys, long long *attach, char *why, size_t len)
{
	static const char *const types[] = {
		EVENT_TYPE_LEAVER, EVENT_TYPE_REINSTATE
	};
	struct engine_latest	l;

	*attach = 0;
	if (engine_latest(eng, keys, nkeys, types, 2, &l) != 0)
		return -1;
	if (l.id == 0) {
		snprintf(why, len, "refused: this person has no leaver case to "
		    "reinstate");
		return 0;
	}
	if (strcmp(l.type, EVENT_TYPE_REINSTATE) == 0) {
		if (engine_latest_open(&l)) {
			*attach = l.id;
			return 0;
		}
		snprintf(why, len, "refused: the person's last leaver case was "
		    "already reinstated by case %lld", l.id);
		return 0;
	}
	if (ev->case_ref > 0 && ev->case_ref != l.id) {
		snprintf(why, len, "refused: case %lld is not this person's "
		    "latest leaver case (%lld is)", ev->case_ref, l.id);
		return 0;
	}
	if (strcmp(l.state, "cancelled") == 0) {
		snprintf(why, len, "refused: leaver case %lld was cancelled: it "
		    "disabled nothing to bring back", l.id);
		return 0;
	}
	if (engine_latest_open(&l)) {
		snprintf(why, len, "refused: leaver case %lld is still running "
		    "(%s): rescind the termination, or cancel the case and "
		    "reinstate once it has ended", l.id, l.state);
		return 0;
	}
	return l.id;
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
				    c->targets[i].steps[j].state == STEP_RUNNING)
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
	if (engine_case_reserve(c) != 0) {
		log_error("engine", "out of memory: cannot queue a new case");
		engine_case_free(c);
		return NULL;
	}
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

/*
 * The intake rules: what an event means for the person's cases. A rule
 * reads the store (inside engine_submit's transaction) and decides; it
 * never writes. engine_submit carries the decision out.
 */
enum intake_act {
	INTAKE_OPEN = 0,	/* open a case for the event's runbook */
	INTAKE_ATTACH,		/* only record the event on an existing case */
	INTAKE_NO_CASE,		/* nothing to act on: record the event */
	INTAKE_ESCALATE,	/* record an escalated case for a human */
	INTAKE_REFUSE		/* refuse it: recorded and audited, nothing run */
};

struct intake {
	struct engine		*eng;
	const struct event	*ev;
	char			*keys[ENGINE_MAX_KEYS];
	size_t			 nkeys;
	int64_t			 now;

	enum intake_act		 act;
	long long		 attach_to;	/* record the event on this case ... */
	const char		*why;		/* ... saying this (or NO_CASE's disposition) */
	long long		 cancel;	/* stop this open case first */
	long long		 waits_for;	/* OPEN: start once this case has ended */
	long long		 about;		/* ESCALATE, REFUSE: the case concerned */
	char			 reason[512];	/* REFUSE, ESCALATE: why */
};

/* Decide for one event type: 0, or -1 when the store cannot be read. */
typedef int (*engine_rule_fn)(struct intake *);

/*
 * A leaver joins the person's open leaver case; after it has ended, a new
 * signal is news (a rehire left again, or access came back since) and
 * opens a new case, unless it is the identity provider reporting that
 * case's own deactivation. Redeliveries were caught by the dedupe.
 */
static int
engine_rule_leaver(struct intake *in)
{
	struct engine_latest	l;
	int			echo = 0;

	if (engine_latest(in->eng, in->keys, in->nkeys, engine_leaver_types, 1,
	    &l) != 0)
		return -1;
	if (!engine_latest_open(&l) &&
	    (echo = engine_echo(in->eng, &l, in->ev, STEP_DEACTIVATE,
	    in->now)) <= 0)
		return echo;
	in->act = INTAKE_ATTACH;
	in->attach_to = l.id;
	in->why = echo > 0 ? "the identity provider reporting this case's own "
	    "deactivation" : "same person";
	return 0;
}

/*
 * An emergency freeze joins an open freeze case, or a leaver case locking
 * the person out now; a scheduled leaver case does not cover it, nor an
 * escalated case (its freeze did not hold: try again).
 */
static int
engine_rule_freeze(struct intake *in)
{
	struct engine_latest	l;
	int			echo = 0;

	if (engine_latest(in->eng, in->keys, in->nkeys, engine_freeze_types, 1,
	    &l) != 0)
		return -1;
	if (!engine_latest_open(&l) || strcmp(l.state, "escalated") == 0) {
		if (engine_latest(in->eng, in->keys, in->nkeys,
		    engine_leaver_types, 1, &l) != 0)
			return -1;
		if (!engine_latest_freezing(&l) && (echo = engine_echo(in->eng,
		    &l, in->ev, STEP_FREEZE, in->now)) <= 0)
			return echo;
	}
	in->act = INTAKE_ATTACH;
	in->attach_to = l.id;
	in->why = echo > 0 ? "the identity provider reporting this case's own "
	    "freeze" : "already being frozen";
	return 0;
}

/*
 * A rescind cancels a leaver case that has done nothing yet; stops one that
 * has frozen and unfreezes exactly what it froze; after deactivation began
 * anywhere, records an escalated case (deprov never reactivates by itself:
 * that is a reinstate).
 */
static int
engine_rule_rescind(struct intake *in)
{
	struct engine_latest	l;

	if (engine_latest(in->eng, in->keys, in->nkeys, engine_leaver_types, 1,
	    &l) != 0)
		return -1;
	if (l.id == 0 || strcmp(l.state, "cancelled") == 0) {
		in->act = INTAKE_NO_CASE;
		in->attach_to = l.id;
		in->why = "nothing_to_rescind";
		return 0;
	}
	in->attach_to = l.id;
	in->why = "rescinded";
	if (engine_deactivation_begun(in->eng, l.id)) {
		in->act = INTAKE_ESCALATE;
		in->about = l.id;
		snprintf(in->reason, sizeof in->reason, "rescinded after "
		    "deactivation began in case %lld: reactivate by hand if the "
		    "person stays", l.id);
	} else if (strcmp(l.state, "received") == 0 ||
	    strcmp(l.state, "scheduled") == 0) {
		in->act = INTAKE_ATTACH;	/* nothing was done yet */
		in->cancel = l.id;
	} else {
		in->act = INTAKE_OPEN;
		if (engine_latest_open(&l))
			in->cancel = l.id;
		in->waits_for = l.id;
	}
	return 0;
}

/*
 * An unfreeze stops the person's open emergency freeze and unfreezes what
 * it froze; refused while a leaver case deprovisions the person or after
 * it has (it would re-enable a leaver).
 */
static int
engine_rule_unfreeze(struct intake *in)
{
	struct engine_latest	l;
	long long		by;

	if ((by = engine_unfreeze_refused(in->eng, in->keys, in->nkeys,
	    in->reason, sizeof in->reason)) != 0) {
		in->act = INTAKE_REFUSE;
		in->about = by;
		return by < 0 ? -1 : 0;
	}
	if (engine_latest(in->eng, in->keys, in->nkeys, engine_freeze_types, 1,
	    &l) != 0)
		return -1;
	in->act = INTAKE_OPEN;
	if (engine_latest_open(&l))
		in->cancel = in->waits_for = l.id;
	return 0;
}

/* A reinstate undoes the person's latest leaver case once it has ended. */
static int
engine_rule_reinstate(struct intake *in)
{
	struct engine_latest	l;
	long long		of, attach;

	if ((of = engine_reinstate_of(in->eng, in->ev, in->keys, in->nkeys,
	    &attach, in->reason, sizeof in->reason)) < 0)
		return -1;
	if (attach > 0) {
		in->act = INTAKE_ATTACH;
		in->attach_to = attach;
		in->why = "already being reinstated";
	} else if (of == 0) {
		if (engine_latest(in->eng, in->keys, in->nkeys,
		    engine_leaver_types, 1, &l) != 0)
			return -1;
		in->act = INTAKE_REFUSE;
		in->about = l.id;
	} else {
		in->act = INTAKE_OPEN;
		in->waits_for = of;	/* ended: restricts it to what that case did */
	}
	return 0;
}

static const struct engine_rule {
	const char	*type;
	engine_rule_fn	 decide;
} engine_rules[] = {
	{ EVENT_TYPE_LEAVER, engine_rule_leaver },
	{ EVENT_TYPE_FREEZE, engine_rule_freeze },
	{ EVENT_TYPE_RESCINDED, engine_rule_rescind },
	{ EVENT_TYPE_UNFREEZE, engine_rule_unfreeze },
	{ EVENT_TYPE_REINSTATE, engine_rule_reinstate },
};

/* An escalation record, after commit: in memory only long enough to retire. */
static void
engine_escalated(struct engine *eng, struct ecase *c, const struct event *ev,
    const char *why)
{
	engine_case_link(eng, c);
	engine_emit(c, ENGINE_EV_CASE_OPENED, NULL, NULL, NULL, ev->source);
	log_warn("engine", "case %lld for %s: %s", c->id, c->subject_key, why);
	engine_set_state(c, CASE_ESCALATED, why);
	engine_retire(c);
}

int
engine_submit(struct engine *eng, const struct event *ev, const char *origin,
    long long *case_id, char *err, size_t errlen)
{
	const struct runbook	*rb;
	struct intake		 in;
	struct ecase		*c = NULL, *old;
	char			 by[320];
	size_t			 i;
	int			 r, result = ENGINE_NEW_CASE;

	*case_id = 0;
	memset(&in, 0, sizeof in);
	in.eng = eng;
	in.ev = ev;
	in.now = clock_wall_ms();
	/* Inside the turn's transaction: a savepoint of our own. */
	if (store_begin(engine_txn(eng)) != 0) {
		snprintf(err, errlen, "store: %s", store_errmsg(eng->store));
		return -1;
	}
	r = store_event_put(eng->store, ev->source, ev->id, ev->type,
	    ev->subject_key, origin, in.now);
	if (r < 0)
		goto fail;
	if (r == 1) {
		store_commit(eng->store);
		log_info("engine", "event %s from %s already seen: ignored",
		    ev->id, ev->source);
		return ENGINE_DUPLICATE;
	}
	in.nkeys = engine_subject_keys(&ev->subject, in.keys, ENGINE_MAX_KEYS);
	for (i = 0; i < sizeof engine_rules / sizeof engine_rules[0]; i++)
		if (strcmp(engine_rules[i].type, ev->type) == 0)
			break;
	if (i < sizeof engine_rules / sizeof engine_rules[0] &&
	    engine_rules[i].decide(&in) != 0)
		goto fail;

	if (in.act != INTAKE_NO_CASE && in.attach_to > 0 &&
	    engine_attach(eng, in.attach_to, ev, in.why, in.now) != 0)
		goto fail;
	switch (in.act) {
	case INTAKE_ATTACH:
		*case_id = in.attach_to;
		result = ENGINE_ATTACHED;
		break;
	case INTAKE_NO_CASE:
		if (store_event_set_case(eng->store, ev->source, ev->id,
		    in.attach_to, in.why) != 0)
			goto fail;
		log_warn("engine", "%s %s for %s: no case to act on", ev->type,
		    ev->id, ev->subject_key);
		result = ENGINE_NO_CASE;
		break;
	case INTAKE_REFUSE:
		if (engine_refuse(eng, in.about, ev, in.reason, in.now) != 0)
			goto fail;
		snprintf(err, errlen, "%s", in.reason);
		*case_id = in.about;
		result = ENGINE_REFUSED;
		break;
	case INTAKE_ESCALATE:
		if ((c = engine_open_escalated(eng, ev, in.about,
		    in.now)) == NULL)
			goto fail;
		*case_id = c->id;
		break;
	case INTAKE_OPEN:
		rb = runbook_match(eng->runbooks, ev->type, ev->termination_kind);
		if (rb == NULL) {
			if (store_event_set_case(eng->store, ev->source, ev->id,
			    0, "no_runbook") != 0)
				goto fail;
			log_warn("engine", "event %s (%s) for %s: no runbook "
			    "matches", ev->id, ev->type, ev->subject_key);
			result = ENGINE_NO_RUNBOOK;
			break;
		}
		if ((c = engine_open(eng, ev, rb, in.waits_for, in.now)) == NULL)
			goto fail;
		*case_id = c->id;
		break;
	}
	if (in.cancel > 0)
		store_case_cancel_request(eng->store, in.cancel, "rescinded");
	if (store_commit(eng->store) != 0)
		goto fail_committed;
	engine_keys_free(in.keys, in.nkeys);

	if (in.cancel > 0 && (old = engine_case_find(eng, in.cancel)) != NULL &&
	    !old->cancelled) {
		snprintf(by, sizeof by, "%s (%s from %s)", ev->type, ev->id,
		    ev->source);
		engine_case_cancel(eng, in.cancel, by, NULL, err, errlen);
	}
	if (c != NULL && in.act == INTAKE_ESCALATE)
		engine_escalated(eng, c, ev, in.reason);
	else if (c != NULL) {
		if (eng->txn) {
			/* Not durable before the turn's commit: forgotten if it fails. */
			c->fresh = 1;
			TAILQ_INSERT_TAIL(&eng->fresh, c, fresh_entry);
		}
		engine_start(eng, c, ev);
	}
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
	engine_keys_free(in.keys, in.nkeys);
	if (c != NULL)
		engine_case_free(c);
	return -1;
}
