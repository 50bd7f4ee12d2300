/*
 * Unit tests for engine: the case state machine, phase order (freeze first),
 * lanes across cases, emergency priority, failure handling, scheduling and
 * resume from the store, with a fake connector that records every step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "engine_fixture.h"

static void
test_phases_freeze_first(void **state)
{
	struct fixture	*fx = *state;
	long long	 id;
	struct state_of	 s;
	char		 k[64];
	int		 i, last_freeze = -1, first_other = MAX_CALLS;

	fx->cfg.engine.max_running_steps = 8;
	id = submit(fx, "e1", EVENT_TYPE_LEAVER, "E1", 0);
	run_until_idle(fx, 3000);
	s = case_state(fx, id);
	assert_string_equal(s.state, "completed");
	assert_true(s.frozen > 0 && s.completed >= s.frozen);
	assert_int_equal(ncalls, 6);
	for (i = 0; i < ncalls; i++) {
		if (strstr(calls[i], ":freeze") != NULL)
			last_freeze = i;
		else if (i < first_other)
			first_other = i;
	}
	assert_true(last_freeze < first_other);
	/* Deactivation comes after every revoke. */
	snprintf(k, sizeof k, "%lld:beta:revoke_tokens", id);
	i = call_index(k);
	snprintf(k, sizeof k, "%lld:alpha:deactivate", id);
	assert_true(i >= 0 && i < call_index(k));
}

static void
test_failure_escalates(void **state)
{
	struct fixture	*fx = *state;
	long long	 id;
	struct state_of	 s;
	char		 k[64];

	snprintf(fail_step, sizeof fail_step, "beta:revoke_tokens");
	fx->cfg.engine.max_running_steps = 8;
	id = submit(fx, "e1", EVENT_TYPE_LEAVER, "E1", 0);
	run_until_idle(fx, 3000);
	s = case_state(fx, id);
	assert_string_equal(s.state, "escalated");
	assert_non_null(strstr(s.error, "beta revoke_tokens"));
	assert_non_null(strstr(s.error, "HTTP 500"));
	/* The other target went on; the failed target's deactivate did not run. */
	snprintf(k, sizeof k, "%lld:alpha:deactivate", id);
	assert_true(call_index(k) >= 0);
	snprintf(k, sizeof k, "%lld:beta:deactivate", id);
	assert_int_equal(call_index(k), -1);
}

/*
 * A freeze that fails: escalated at once, never contained (frozen_ms 0),
 * while the other target still runs its remaining steps; after a "crash"
 * with those steps in flight the escalated case is resumed and ends.
 */
static void
test_freeze_failure_not_contained(void **state)
{
	struct fixture	*fx = *state;
	long long	 id, n;
	struct state_of	 s;
	char		 k[64];

	snprintf(fail_step, sizeof fail_step, "beta:freeze");
	fx->cfg.engine.max_running_steps = 8;
	id = submit(fx, "e1", EVENT_TYPE_LEAVER, "E1", 0);
	/* Both freezes end, then alpha's revoke starts and is held there. */
	while (call_index("1:alpha:revoke_tokens") < 0)
		event_base_loop(fx->base, EVLOOP_ONCE);
	hold = 1;
	s = case_state(fx, id);
	assert_string_equal(s.state, "escalated");
	assert_int_equal(s.frozen, 0);
	assert_int_equal(s.completed, 0);	/* alpha still has steps to run */
	assert_int_equal(store_exposure_counts(fx->store, &n, NULL, NULL), 0);
	assert_int_equal(n, 1);
	run_until_idle(fx, 100);

	/* "Crash" and resume: the escalated case is unfinished, so it resumes. */
	engine_free(fx->eng);
	store_close(fx->store);
	hold = 0;
	fixture_engine(fx);
	assert_int_equal(engine_resume(fx->eng), 1);
	run_until_idle(fx, 3000);
	s = case_state(fx, id);
	assert_string_equal(s.state, "escalated");
	assert_int_equal(s.frozen, 0);
	assert_true(s.completed > 0);
	assert_non_null(strstr(s.error, "beta freeze"));
	snprintf(k, sizeof k, "%lld:alpha:deactivate", id);
	assert_true(call_index(k) >= 0);
	snprintf(k, sizeof k, "%lld:beta:revoke_tokens", id);
	assert_int_equal(call_index(k), -1);
	snprintf(k, sizeof k, "%lld:beta:deactivate", id);
	assert_int_equal(call_index(k), -1);
}

static char skip_step[32];	/* "target:step" the connector skips (by choice) */

static void
skip_run(struct step_ctx *ctx)
{
	char key[96];

	snprintf(key, sizeof key, "%s:%s", target_name(step_ctx_target(ctx)),
	    step_kind_name(step_ctx_kind(ctx)));
	if (strcmp(key, skip_step) != 0) {
		fake_connector.run(ctx);
		return;
	}
	step_ctx_done(ctx, STEP_OUT_SKIPPED, "status LOCKED_OUT: not suspended");
}

static const struct connector skip_connector = {
	.kind = "fake", .run = skip_run
};

/*
 * A freeze skipped by choice leaves the person exposed: the case goes on,
 * and is contained when that target is deactivated (frozen_ms then); with
 * no deactivate it ends escalated, never contained.
 */
static void
test_freeze_skipped_contained_by_deactivation(void **state)
{
	struct fixture	*fx = *state;
	long long	 id;
	struct state_of	 s;

	connector_register(&skip_connector);
	engine_free(fx->eng);		/* targets take their connector at start */
	store_close(fx->store);
	fixture_engine(fx);
	snprintf(skip_step, sizeof skip_step, "beta:freeze");
	fx->cfg.engine.max_running_steps = 8;
	id = submit(fx, "e1", EVENT_TYPE_LEAVER, "E1", 0);
	run_until_idle(fx, 3000);
	s = case_state(fx, id);
	assert_string_equal(s.state, "completed");
	assert_true(s.frozen > 0);
	/* Contained late: by beta's deactivation, after its skipped freeze. */
	assert_true(call_index("1:beta:deactivate") >= 0);
	assert_int_equal(call_index("1:beta:freeze"), -1);

	/* The emergency runbook deactivates nothing: never contained. */
	id = submit(fx, "f1", EVENT_TYPE_FREEZE, "E2", 0);
	run_until_idle(fx, 3000);
	s = case_state(fx, id);
	assert_string_equal(s.state, "escalated");
	assert_int_equal(s.frozen, 0);
	skip_step[0] = '\0';
}

static void
test_lanes_across_cases(void **state)
{
	struct fixture	*fx = *state;
	int		 i, last_freeze = -1, first_other = MAX_CALLS;

	fx->cfg.engine.max_running_steps = 1;
	submit(fx, "e1", EVENT_TYPE_LEAVER, "E1", 0);
	submit(fx, "e2", EVENT_TYPE_LEAVER, "E2", 0);
	submit(fx, "e3", EVENT_TYPE_LEAVER, "E3", 0);
	run_until_idle(fx, 5000);
	assert_int_equal(engine_open_cases(fx->eng), 0);
	assert_int_equal(ncalls, 18);
	for (i = 0; i < ncalls; i++) {
		if (strstr(calls[i], ":freeze") != NULL)
			last_freeze = i;
		else if (i < first_other)
			first_other = i;
	}
	assert_int_equal(last_freeze, 5);
	assert_int_equal(first_other, 6);
}

/*
 * After every freeze, remediation serves the oldest case first: one step at
 * a time, case 1 completes (deactivations included) before case 2's first
 * remediation step, and case 2 before case 3's. First come, first served
 * would run every case's revoke before anyone's deactivation.
 */
static void
test_remediation_oldest_first(void **state)
{
	struct fixture	*fx = *state;
	long long	 id[3];
	char		 k[64], first[64];
	int		 i, last_deactivate, first_revoke;

	fx->cfg.engine.max_running_steps = 1;
	id[0] = submit(fx, "e1", EVENT_TYPE_LEAVER, "E1", 0);
	id[1] = submit(fx, "e2", EVENT_TYPE_LEAVER, "E2", 0);
	id[2] = submit(fx, "e3", EVENT_TYPE_LEAVER, "E3", 0);
	run_until_idle(fx, 5000);
	assert_int_equal(engine_open_cases(fx->eng), 0);
	assert_int_equal(ncalls, 18);
	for (i = 0; i < 2; i++) {
		snprintf(k, sizeof k, "%lld:alpha:deactivate", id[i]);
		last_deactivate = call_index(k);
		snprintf(k, sizeof k, "%lld:beta:deactivate", id[i]);
		if (call_index(k) > last_deactivate)
			last_deactivate = call_index(k);
		snprintf(first, sizeof first, "%lld:beta:revoke_tokens",
		    id[i + 1]);
		first_revoke = call_index(first);
		assert_true(last_deactivate >= 0 && first_revoke >= 0);
		assert_true(last_deactivate < first_revoke);
	}
}

static void
test_emergency_jumps_queue(void **state)
{
	struct fixture	*fx = *state;
	long long	 urgent;
	char		 k[64];
	int		 i, first_urgent;

	fx->cfg.engine.max_running_steps = 1;
	for (i = 0; i < 4; i++) {
		char id[16], emp[16];

		snprintf(id, sizeof id, "e%d", i);
		snprintf(emp, sizeof emp, "E%d", i);
		submit(fx, id, EVENT_TYPE_LEAVER, emp, 0);
	}
	urgent = submit(fx, "f1", EVENT_TYPE_FREEZE, "E9", 0);
	run_until_idle(fx, 8000);
	assert_int_equal(engine_open_cases(fx->eng), 0);
	snprintf(k, sizeof k, "%lld:alpha:freeze", urgent);
	first_urgent = call_index(k);
	/* Only the step already started may go before it. */
	assert_true(first_urgent >= 0 && first_urgent <= 1);
	snprintf(k, sizeof k, "%lld:beta:revoke_tokens", urgent);
	assert_true(call_index(k) < 8);
}

static void
test_scheduled_fires(void **state)
{
	struct fixture	*fx = *state;
	long long	 id;
	struct state_of	 s;

	fx->cfg.engine.max_running_steps = 8;
	id = submit(fx, "e1", EVENT_TYPE_LEAVER, "E1", time(NULL) + 2);
	run_until_idle(fx, 300);
	s = case_state(fx, id);
	assert_string_equal(s.state, "scheduled");
	assert_int_equal(ncalls, 0);
	run_until_idle(fx, 5000);
	s = case_state(fx, id);
	assert_string_equal(s.state, "completed");
}

static void
test_duplicate_and_no_runbook(void **state)
{
	struct fixture	*fx = *state;
	struct event	 ev;
	char		 err[256];
	long long	 cid;

	submit(fx, "e1", EVENT_TYPE_LEAVER, "E1", 0);
	memset(&ev, 0, sizeof ev);
	ev.id = (char *)"e1";
	ev.source = (char *)"/test";
	ev.type = (char *)EVENT_TYPE_LEAVER;
	ev.subject_key = (char *)"E1";
	assert_int_equal(engine_submit(fx->eng, &ev, "test", &cid, err,
	    sizeof err), ENGINE_DUPLICATE);
	ev.id = (char *)"e2";
	ev.type = (char *)EVENT_TYPE_UNFREEZE;
	assert_int_equal(engine_submit(fx->eng, &ev, "test", &cid, err,
	    sizeof err), ENGINE_NO_RUNBOOK);
	run_until_idle(fx, 3000);
}

static void
test_resume_after_crash(void **state)
{
	struct fixture	*fx = *state;
	long long	 id;
	struct state_of	 s;
	char		 k[64];
	int		 before;

	fx->cfg.engine.max_running_steps = 8;
	id = submit(fx, "e1", EVENT_TYPE_LEAVER, "E1", 0);
	/* Let the freezes finish, then hold the next steps "in flight". */
	while (ncalls < 2)
		event_base_loop(fx->base, EVLOOP_ONCE);
	hold = 1;
	run_until_idle(fx, 200);
	assert_string_equal(case_state(fx, id).state, "remediating");
	before = ncalls;
	assert_int_equal(before, 4);	/* 2 freezes, 2 revokes in flight */

	/* "Crash": drop the engine without finishing anything. */
	engine_free(fx->eng);
	store_close(fx->store);
	hold = 0;
	fixture_engine(fx);
	assert_int_equal(engine_resume(fx->eng), 1);
	run_until_idle(fx, 3000);
	s = case_state(fx, id);
	assert_string_equal(s.state, "completed");
	/* The in-flight revokes ran again; the freezes did not. */
	assert_int_equal(ncalls, before + 4);
	snprintf(k, sizeof k, "%lld:alpha:freeze", id);
	assert_int_equal(call_index(k), 0);
	for (int i = before; i < ncalls; i++)
		assert_null(strstr(calls[i], ":freeze"));
}

struct timeline_want {
	const char	*kind;
	const char	*detail;
	int		 found;
};

static int
timeline_cb(const struct store_timeline *t, void *arg)
{
	struct timeline_want *w = arg;

	if (strcmp(t->kind, w->kind) == 0 && t->detail != NULL &&
	    strcmp(t->detail, w->detail) == 0)
		w->found++;
	return 0;
}

/* How many timeline entries of the case have this kind and detail. */
static int
timeline_has(struct fixture *fx, long long id, const char *kind,
    const char *detail)
{
	struct timeline_want w = { kind, detail, 0 };

	assert_int_equal(store_timeline_of(fx->store, id, timeline_cb, &w), 0);
	return w.found;
}

static void
test_retry_escalated(void **state)
{
	struct fixture	*fx = *state;
	long long	 id;
	char		 err[128], k[64];
	int		 i, revokes = 0;

	snprintf(fail_step, sizeof fail_step, "beta:revoke_tokens");
	fx->cfg.engine.max_running_steps = 8;
	id = submit(fx, "e1", EVENT_TYPE_LEAVER, "E1", 0);
	run_until_idle(fx, 3000);
	assert_string_equal(case_state(fx, id).state, "escalated");
	assert_int_equal(engine_case_retry(fx->eng, 999, "ops", NULL, err,
	    sizeof err), -1);
	assert_string_equal(err, "no such case");
	fail_step[0] = '\0';
	assert_int_equal(engine_case_retry(fx->eng, id, "ops", "INC-7 beta "
	    "fixed", err, sizeof err), 0);
	run_until_idle(fx, 3000);
	assert_string_equal(case_state(fx, id).state, "completed");
	snprintf(k, sizeof k, "%lld:beta:revoke_tokens", id);
	for (i = 0; i < ncalls; i++)
		revokes += strcmp(calls[i], k) == 0;
	assert_int_equal(revokes, 2);
	snprintf(k, sizeof k, "%lld:beta:deactivate", id);
	assert_true(call_index(k) >= 0);
	/* The operator's reason is in the timeline with the act. */
	assert_int_equal(timeline_has(fx, id, "operator",
	    "retry by ops (2 steps): INC-7 beta fixed"), 1);
	/* A completed case cannot be retried. */
	assert_int_equal(engine_case_retry(fx->eng, id, "ops", NULL, err,
	    sizeof err), -1);
}

static void
test_cancel(void **state)
{
	struct fixture	*fx = *state;
	long long	 id;
	char		 err[128];

	id = submit(fx, "e1", EVENT_TYPE_LEAVER, "E1", time(NULL) + 60);
	run_until_idle(fx, 100);
	assert_string_equal(case_state(fx, id).state, "scheduled");
	assert_int_equal(engine_case_cancel(fx->eng, id, "ops", "HR-12 "
	    "rescinded by phone", err, sizeof err), 0);
	run_until_idle(fx, 500);
	assert_string_equal(case_state(fx, id).state, "cancelled");
	/* Who and why: the case's error and its timeline. */
	assert_string_equal(case_state(fx, id).error, "cancelled by ops: "
	    "HR-12 rescinded by phone");
	assert_int_equal(timeline_has(fx, id, "operator", "cancelled by ops: "
	    "HR-12 rescinded by phone"), 1);
	assert_int_equal(ncalls, 0);
	assert_int_equal(engine_open_cases(fx->eng), 0);
	assert_int_equal(engine_case_cancel(fx->eng, id, "ops", NULL, err,
	    sizeof err), -1);
}

/* --- require_account and delete (issue 4) --------------------------------- */

static char noacct_step[32];	/* step kind every target says "no account" to */

/* The fake connector, except that noacct_step finds no account. */
static void
noacct_run(struct step_ctx *ctx)
{
	if (strcmp(step_kind_name(step_ctx_kind(ctx)), noacct_step) != 0) {
		fake_connector.run(ctx);
		return;
	}
	if (ncalls < MAX_CALLS)
		snprintf(calls[ncalls++], sizeof calls[0], "%lld:%s:%s",
		    step_ctx_case_id(ctx), target_name(step_ctx_target(ctx)),
		    step_kind_name(step_ctx_kind(ctx)));
	step_ctx_done(ctx, STEP_OUT_NO_ACCOUNT, "no account (by email)");
}

static const struct connector noacct_connector = {
	.kind = "fake", .run = noacct_run
};

/* Replace the runbooks with one leaver runbook and start a new engine. */
static void
use_runbook(struct fixture *fx, const char *json)
{
	struct diags	*d = diags_new();
	char		 path[128];
	FILE		*f;

	engine_free(fx->eng);
	store_close(fx->store);
	runbook_set_free(fx->rbs);
	snprintf(path, sizeof path, "%s/rb2", fx->dir);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/rb2/leaver.json", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(json, f);
	fclose(f);
	snprintf(path, sizeof path, "%s/rb2", fx->dir);
	fx->rbs = runbook_load_dir(path, NULL, d);
	if (diags_count(d) > 0)
		diags_print(d, stderr);
	assert_int_equal(diags_count(d), 0);
	diags_free(d);
	fixture_engine(fx);
}

struct step_row {
	const char	*target;
	const char	*step;
	char		 state[16];
	char		 detail[128];
};

static int
step_row_cb(const struct store_step *p, void *arg)
{
	struct step_row *r = arg;

	if (strcmp(p->target, r->target) == 0 && strcmp(p->step, r->step) == 0) {
		snprintf(r->state, sizeof r->state, "%s", p->state);
		snprintf(r->detail, sizeof r->detail, "%s",
		    p->detail != NULL ? p->detail : "");
	}
	return 0;
}

static struct step_row
step_of(struct fixture *fx, long long id, const char *target, const char *step)
{
	struct step_row r;

	memset(&r, 0, sizeof r);
	r.target = target;
	r.step = step;
	store_steps_of(fx->store, id, step_row_cb, &r);
	return r;
}

/*
 * "no account" is a skip, except on a targets entry with require_account,
 * where it is a failure with the same text; the option is persisted with
 * the case and survives a restart.
 */
static void
test_require_account(void **state)
{
	struct fixture	*fx = *state;
	struct step_row	 r;
	struct state_of	 s;
	long long	 id;
	char		 k[64];

	connector_register(&noacct_connector);
	use_runbook(fx, "{ \"name\": \"leaver\", \"match\": { \"type\": "
	    "[\"io.deprov.leaver\"] },\n\"targets\": [\n"
	    " { \"select\": { \"name\": \"alpha\" }, \"require_account\": true,\n"
	    "   \"steps\": [\"freeze\", \"deactivate\"] },\n"
	    " { \"select\": { \"name\": \"beta\" }, \"steps\": [\"freeze\", "
	    "\"deactivate\"] } ] }\n");
	fx->cfg.engine.max_running_steps = 8;

	/* Start the case, "crash" with the freezes in flight, resume. */
	hold = 1;
	id = submit(fx, "e1", EVENT_TYPE_LEAVER, "E1", 0);
	run_until_idle(fx, 100);
	assert_int_equal(ncalls, 2);
	engine_free(fx->eng);
	store_close(fx->store);
	hold = 0;
	snprintf(noacct_step, sizeof noacct_step, "freeze");
	fixture_engine(fx);
	assert_int_equal(engine_resume(fx->eng), 1);
	run_until_idle(fx, 3000);
	noacct_step[0] = '\0';

	s = case_state(fx, id);
	assert_string_equal(s.state, "escalated");
	assert_non_null(strstr(s.error, "alpha freeze: no account (by email)"));
	r = step_of(fx, id, "alpha", "freeze");
	assert_string_equal(r.state, "failed");
	assert_string_equal(r.detail, "no account (by email)");
	r = step_of(fx, id, "beta", "freeze");
	assert_string_equal(r.state, "skipped");
	assert_string_equal(r.detail, "no account (by email)");
	/* The target without require_account went on. */
	snprintf(k, sizeof k, "%lld:beta:deactivate", id);
	assert_true(call_index(k) >= 0);
	snprintf(k, sizeof k, "%lld:alpha:deactivate", id);
	assert_int_equal(call_index(k), -1);
}

/*
 * delete runs in the deactivate phase after deactivate (whatever the order
 * written); on a target flagged irreversible_delete only with
 * "irreversible_ok": true, else the step fails without being run.
 */
static void
test_delete_step(void **state)
{
	struct fixture	*fx = *state;
	struct step_row	 r;
	long long	 id;
	char		 k[64], k2[64];

	use_runbook(fx, "{ \"name\": \"leaver\", \"match\": { \"type\": "
	    "[\"io.deprov.leaver\"] },\n\"targets\": [\n"
	    " { \"select\": { \"name\": \"alpha\" },\n"
	    "   \"steps\": [\"freeze\", \"delete\", \"deactivate\"] },\n"
	    " { \"select\": { \"name\": \"beta\" }, \"steps\": [\"freeze\", "
	    "\"deactivate\", { \"step\": \"delete\", \"irreversible_ok\": true "
	    "} ] } ] }\n");
	fx->cfg.engine.max_running_steps = 8;
	fx->targets[0].irreversible_delete = 1;
	fx->targets[1].irreversible_delete = 1;
	id = submit(fx, "e1", EVENT_TYPE_LEAVER, "E1", 0);
	run_until_idle(fx, 3000);
	fx->targets[0].irreversible_delete = 0;
	fx->targets[1].irreversible_delete = 0;

	assert_string_equal(case_state(fx, id).state, "escalated");
	/* beta: allowed, after its deactivate. */
	snprintf(k, sizeof k, "%lld:beta:deactivate", id);
	snprintf(k2, sizeof k2, "%lld:beta:delete", id);
	assert_true(call_index(k) >= 0 && call_index(k) < call_index(k2));
	assert_string_equal(step_of(fx, id, "beta", "delete").state,
	    "succeeded");
	/* alpha: deactivated, but the delete was refused and never run. */
	snprintf(k, sizeof k, "%lld:alpha:deactivate", id);
	assert_true(call_index(k) >= 0);
	snprintf(k2, sizeof k2, "%lld:alpha:delete", id);
	assert_int_equal(call_index(k2), -1);
	r = step_of(fx, id, "alpha", "delete");
	assert_string_equal(r.state, "failed");
	assert_non_null(strstr(r.detail, "irreversible"));

	/* Not flagged: delete runs on both, after the freezes and deactivate. */
	fx->cfg.engine.max_running_steps = 1;
	ncalls = 0;
	id = submit(fx, "e2", EVENT_TYPE_LEAVER, "E2", 0);
	run_until_idle(fx, 3000);
	assert_string_equal(case_state(fx, id).state, "completed");
	snprintf(k, sizeof k, "%lld:alpha:deactivate", id);
	snprintf(k2, sizeof k2, "%lld:alpha:delete", id);
	assert_true(call_index(k) >= 2 && call_index(k) < call_index(k2));
	snprintf(k2, sizeof k2, "%lld:beta:delete", id);
	assert_true(call_index(k2) >= 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_phases_freeze_first, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failure_escalates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lanes_across_cases, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_remediation_oldest_first,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_emergency_jumps_queue, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_scheduled_fires, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_and_no_runbook,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_after_crash, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retry_escalated, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_freeze_failure_not_contained,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_freeze_skipped_contained_by_deactivation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_require_account, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delete_step, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
