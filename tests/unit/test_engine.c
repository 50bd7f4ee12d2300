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

#include "deprov/connector.h"
#include "deprov/engine.h"
#include "deprov/http.h"
#include "deprov/log.h"
#include "deprov/store.h"

#define MAX_CALLS 256

static char	calls[MAX_CALLS][96];
static int	ncalls;
static char	fail_step[64];	/* "target:step" that fails */
static int	hold;		/* 1: steps never finish (simulated crash) */
static struct event_base *fake_base;

struct pending {
	struct step_ctx		*ctx;
	enum step_outcome	 out;
	char			 detail[64];
};

static void
fake_finish(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;

	(void)fd;
	(void)what;
	step_ctx_done(p->ctx, p->out, p->detail);
	free(p);
}

static void
fake_run(struct step_ctx *ctx)
{
	struct pending	*p = calloc(1, sizeof *p);
	char		 key[96];
	struct timeval	 tv = { 0, 2000 };

	snprintf(key, sizeof key, "%lld:%s:%s", step_ctx_case_id(ctx),
	    target_name(step_ctx_target(ctx)),
	    step_kind_name(step_ctx_kind(ctx)));
	if (ncalls < MAX_CALLS)
		snprintf(calls[ncalls++], sizeof calls[0], "%s", key);
	if (step_ctx_account(ctx) == NULL)
		step_ctx_set_account(ctx, "acct-1");
	p->ctx = ctx;
	snprintf(key, sizeof key, "%s:%s", target_name(step_ctx_target(ctx)),
	    step_kind_name(step_ctx_kind(ctx)));
	p->out = strcmp(key, fail_step) == 0 ? STEP_OUT_FAILED : STEP_OUT_OK;
	snprintf(p->detail, sizeof p->detail, "%s",
	    p->out == STEP_OUT_FAILED ? "HTTP 500 after 3 attempts" : "done");
	if (hold) {
		free(p);
		return;
	}
	event_base_once(fake_base, -1, EV_TIMEOUT, fake_finish, p, &tv);
}

static const struct connector fake_connector = { "fake", fake_run, NULL };

struct fixture {
	char			 dir[64];
	char			*db;
	struct config		 cfg;
	struct config_target	 targets[2];
	struct runbook_set	*rbs;
	struct event_base	*base;
	struct http		*http;
	struct store		*store;
	struct engine		*eng;
};

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
fixture_engine(struct fixture *fx)
{
	char err[256];

	fx->store = store_open(fx->db, err, sizeof err);
	assert_non_null(fx->store);
	fx->eng = engine_new(fx->base, fx->http, fx->store, &fx->cfg, fx->rbs,
	    err, sizeof err);
	assert_non_null(fx->eng);
}

static int
setup(void **state)
{
	struct fixture	*fx = calloc(1, sizeof *fx);
	struct diags	*d = diags_new();
	char		 path[128];
	int		 i;

	snprintf(fx->dir, sizeof fx->dir, "/tmp/deprov-engine-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_true(asprintf(&fx->db, "%s/deprov.db", fx->dir) > 0);
	snprintf(path, sizeof path, "%s/rb", fx->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/rb/10-freeze.json", fx->dir);
	write_file(path, "{ \"name\": \"emergency\", \"match\": { \"type\": "
	    "[\"io.deprov.freeze\"] }, \"targets\": [ { \"select\": { \"name\": "
	    "\"*\" }, \"steps\": [\"freeze\", \"revoke_tokens\"] } ] }\n");
	snprintf(path, sizeof path, "%s/rb/20-leaver.json", fx->dir);
	write_file(path, "{ \"name\": \"leaver\", \"match\": { \"type\": "
	    "[\"io.deprov.leaver\"] }, \"retry\": { \"max_attempts\": 3 },\n"
	    "\"targets\": [ { \"select\": { \"name\": \"*\" }, \"steps\": "
	    "[\"freeze\", \"revoke_tokens\", \"deactivate\"] } ] }\n");
	snprintf(path, sizeof path, "%s/rb", fx->dir);
	fx->rbs = runbook_load_dir(path, NULL, d);
	if (diags_count(d) > 0)
		diags_print(d, stderr);
	assert_int_equal(diags_count(d), 0);
	assert_non_null(fx->rbs);
	diags_free(d);

	for (i = 0; i < 2; i++) {
		fx->targets[i].name = i == 0 ? "alpha" : "beta";
		fx->targets[i].kind = "fake";
		fx->targets[i].base_url = "http://127.0.0.1:9";
		fx->targets[i].auth.type = "none";
		fx->targets[i].limits.rate_per_sec = 100;
		fx->targets[i].limits.burst = 10;
		fx->targets[i].limits.concurrency = 4;
		fx->targets[i].limits.timeout_ms = 1000;
	}
	fx->cfg.targets = fx->targets;
	fx->cfg.ntargets = 2;
	fx->cfg.engine.max_running_steps = 1;
	fx->base = event_base_new();
	fake_base = fx->base;
	fx->http = http_new(fx->base);
	assert_non_null(fx->http);
	connector_register(&fake_connector);
	fixture_engine(fx);
	ncalls = 0;
	fail_step[0] = '\0';
	hold = 0;
	log_set_level(LOG_LEVEL_ERROR);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;
	char		 cmd[128];

	engine_free(fx->eng);
	store_close(fx->store);
	http_free(fx->http);
	event_base_free(fx->base);
	runbook_set_free(fx->rbs);
	snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", fx->dir);
	free(fx->db);
	free(fx);
	return 0;
}

static long long
submit(struct fixture *fx, const char *id, const char *type, const char *emp,
    time_t effective)
{
	struct event	 ev;
	char		 err[256];
	long long	 cid = 0;

	memset(&ev, 0, sizeof ev);
	ev.id = (char *)id;
	ev.source = (char *)"/test";
	ev.type = (char *)type;
	ev.subject_key = (char *)emp;
	ev.subject.employee_id = (char *)emp;
	ev.effective = effective;
	assert_int_equal(engine_submit(fx->eng, &ev, "test", &cid, err,
	    sizeof err), ENGINE_NEW_CASE);
	return cid;
}

struct state_of {
	char state[32];
	char error[256];
	int64_t frozen, completed;
};

static int
state_cb(const struct store_case *c, void *arg)
{
	struct state_of *s = arg;

	snprintf(s->state, sizeof s->state, "%s", c->state);
	snprintf(s->error, sizeof s->error, "%s", c->error ? c->error : "");
	s->frozen = c->frozen_ms;
	s->completed = c->completed_ms;
	return 0;
}

static struct state_of
case_state(struct fixture *fx, long long id)
{
	struct state_of s;

	memset(&s, 0, sizeof s);
	store_case_get(fx->store, id, state_cb, &s);
	return s;
}

/* Run the loop until no case is open or ms pass. */
static void
run_until_idle(struct fixture *fx, int ms)
{
	int64_t end = engine_now_ms() + ms;

	while (engine_now_ms() < end) {
		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (engine_open_cases(fx->eng) == 0)
			break;
		usleep(500);
	}
}

static int
call_index(const char *what)
{
	int i;

	for (i = 0; i < ncalls; i++)
		if (strcmp(calls[i], what) == 0)
			return i;
	return -1;
}

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
	assert_int_equal(engine_case_retry(fx->eng, 999, "ops", err,
	    sizeof err), -1);
	assert_string_equal(err, "no such case");
	fail_step[0] = '\0';
	assert_int_equal(engine_case_retry(fx->eng, id, "ops", err,
	    sizeof err), 0);
	run_until_idle(fx, 3000);
	assert_string_equal(case_state(fx, id).state, "completed");
	snprintf(k, sizeof k, "%lld:beta:revoke_tokens", id);
	for (i = 0; i < ncalls; i++)
		revokes += strcmp(calls[i], k) == 0;
	assert_int_equal(revokes, 2);
	snprintf(k, sizeof k, "%lld:beta:deactivate", id);
	assert_true(call_index(k) >= 0);
	/* A completed case cannot be retried. */
	assert_int_equal(engine_case_retry(fx->eng, id, "ops", err,
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
	assert_int_equal(engine_case_cancel(fx->eng, id, "ops", err,
	    sizeof err), 0);
	run_until_idle(fx, 500);
	assert_string_equal(case_state(fx, id).state, "cancelled");
	assert_int_equal(ncalls, 0);
	assert_int_equal(engine_open_cases(fx->eng), 0);
	assert_int_equal(engine_case_cancel(fx->eng, id, "ops", err,
	    sizeof err), -1);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
