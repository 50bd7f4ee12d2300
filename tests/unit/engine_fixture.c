/*
 * The engine test fixture shared by test_engine and test_intake: a fake
 * connector that records every step it runs and finishes it on the next
 * loop turn (or fails it, or holds it to simulate a crash), two targets of
 * that kind, a temporary store and a set of runbooks.
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

#include "deprov/clock.h"
#include "engine_fixture.h"


char	calls[MAX_CALLS][96];
int	ncalls;
char	fail_step[64];	/* "target:step" that fails */
int	hold;		/* 1: steps never finish (simulated crash) */
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

const struct connector fake_connector = { .kind = "fake", .run = fake_run };


static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

void
fixture_engine(struct fixture *fx)
{
	char err[256];

	fx->store = store_open(fx->db, err, sizeof err);
	assert_non_null(fx->store);
	fx->eng = engine_new(fx->base, fx->http, fx->store, &fx->cfg, fx->rbs,
	    err, sizeof err);
	assert_non_null(fx->eng);
}

int
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
	snprintf(path, sizeof path, "%s/rb/30-rescind.json", fx->dir);
	write_file(path, "{ \"name\": \"rescind\", \"match\": { \"type\": "
	    "[\"io.deprov.leaver.rescinded\"] }, \"targets\": [ { \"select\": "
	    "{ \"name\": \"*\" }, \"steps\": [\"unfreeze\"] } ] }\n");
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

int
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

long long
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

struct state_of
case_state(struct fixture *fx, long long id)
{
	struct state_of s;

	memset(&s, 0, sizeof s);
	store_case_get(fx->store, id, state_cb, &s);
	return s;
}

/* Run the loop until no case is open or ms pass. */
void
run_until_idle(struct fixture *fx, int ms)
{
	int64_t end = clock_mono_ms() + ms;

	while (clock_mono_ms() < end) {
		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (engine_open_cases(fx->eng) == 0)
			break;
		usleep(500);
	}
}

int
call_index(const char *what)
{
	int i;

	for (i = 0; i < ncalls; i++)
		if (strcmp(calls[i], what) == 0)
			return i;
	return -1;
}

