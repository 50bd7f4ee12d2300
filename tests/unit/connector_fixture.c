/*
 * connector_fixture: the fake engine (step_ctx_*) and fake target
 * (target_*) the connectors' step tests run against; see
 * connector_fixture.h. Nothing here is asynchronous: a call waits in
 * pending[] until the test answers it, and the answer runs the step's
 * callback at once, as the target would from the loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "deprov/config.h"
#include "deprov/connector.h"
#include "deprov/event.h"
#include "deprov/http.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

#include "connector_fixture.h"

struct fake_call	pending[FIXTURE_MAX_CALLS];
size_t			npending;
size_t			max_pending;
size_t			ncalls_total;
struct target		the_target;

static struct step_ctx	*cur;

static void	answer_result(size_t, const struct http_response *, int,
		    const char *);

/* --- the fake engine ------------------------------------------------- */

long long
step_ctx_case_id(const struct step_ctx *ctx)
{
	return 42;
}

enum step_kind
step_ctx_kind(const struct step_ctx *ctx)
{
	return ctx->kind;
}

const struct runbook_step *
step_ctx_step(const struct step_ctx *ctx)
{
	return &ctx->step;
}

const struct subject *
step_ctx_subject(const struct step_ctx *ctx)
{
	return &ctx->subject;
}

struct target *
step_ctx_target(const struct step_ctx *ctx)
{
	return ctx->target;
}

const char *
step_ctx_account(const struct step_ctx *ctx)
{
	return ctx->has_account ? ctx->account : NULL;
}

void
step_ctx_set_account(struct step_ctx *ctx, const char *id)
{
	assert_int_equal(ctx->ndone, 0);
	assert_true(strlen(id) < sizeof ctx->account);
	snprintf(ctx->account, sizeof ctx->account, "%s", id);
	ctx->has_account = 1;
}

const struct call_opts *
step_ctx_call_opts(const struct step_ctx *ctx)
{
	return &ctx->opts;
}

void
step_ctx_note(struct step_ctx *ctx, const char *fmt, ...)
{
	size_t	len = strlen(ctx->notes);
	va_list	ap;

	assert_int_equal(ctx->ndone, 0);
	va_start(ap, fmt);
	vsnprintf(ctx->notes + len, sizeof ctx->notes - len, fmt, ap);
	va_end(ap);
	len = strlen(ctx->notes);
	snprintf(ctx->notes + len, sizeof ctx->notes - len, "\n");
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

/* No step under test arms a timer: a transfer poll would need a loop. */
struct event_base *
step_ctx_base(const struct step_ctx *ctx)
{
	fail_msg("step_ctx_base: the step wants a timer");
	return NULL;
}

void
step_ctx_done(struct step_ctx *ctx, enum step_outcome out, const char *detail)
{
	assert_int_equal(ctx->ndone, 0);
	/* Never done while one of the step's calls is still out. */
	assert_int_equal(npending, 0);
	ctx->ndone++;
	ctx->outcome = out;
	snprintf(ctx->detail, sizeof ctx->detail, "%s", detail ? detail : "");
	if (ctx->free_fn != NULL)
		ctx->free_fn(ctx->data);
	ctx->data = NULL;
}

const char *
step_kind_name(enum step_kind kind)
{
	static const char *names[] = { "freeze", "revoke_tokens", "reassign",
	    "deactivate", "unfreeze", "delete", "reactivate" };

	return (unsigned)kind < STEP_KIND_COUNT ? names[kind] : NULL;
}

/* --- the fake target ------------------------------------------------- */

const char *
target_name(const struct target *t)
{
	return t->name;
}

const char *
target_kind(const struct target *t)
{
	return t->cfg.kind;
}

const struct config_target *
target_config(const struct target *t)
{
	return &t->cfg;
}

int
target_call(struct target *t, const struct target_req *req,
    const struct call_opts *opts, target_cb cb, void *arg)
{
	struct fake_call	*c;

	assert_ptr_equal(t, &the_target);
	/* Every call goes with the step's lane and retry policy. */
	assert_ptr_equal(opts, &cur->opts);
	assert_true(npending < FIXTURE_MAX_CALLS);
	c = &pending[npending++];
	memset(c, 0, sizeof *c);
	snprintf(c->method, sizeof c->method, "%s", req->method);
	assert_true(strlen(req->path) < sizeof c->path);
	snprintf(c->path, sizeof c->path, "%s", req->path);
	if (req->body != NULL) {
		assert_int_equal(strlen(req->body), req->body_len);
		assert_non_null(c->body = strdup(req->body));
	}
	snprintf(c->ctype, sizeof c->ctype, "%s",
	    req->content_type ? req->content_type : "");
	snprintf(c->header, sizeof c->header, "%s",
	    req->extra_header ? req->extra_header : "");
	c->cb = cb;
	c->arg = arg;
	ncalls_total++;
	if (npending > max_pending)
		max_pending = npending;
	return 0;
}

/* The descriptors' signals hooks reach the target; the steps never do. */
void
target_signal_wait(struct target *t, long ms)
{
	fail_msg("target_signal_wait called by a step");
}

void
target_signal_usage(struct target *t, long used, long limit)
{
	fail_msg("target_signal_usage called by a step");
}

void
target_signal_window(struct target *t, long limit, long remaining,
    long reset_ms, long long window)
{
	fail_msg("target_signal_window called by a step");
}

long
target_wait_reset_ms(const char *reset, const char *date, int64_t now_s)
{
	fail_msg("target_wait_reset_ms called by a step");
	return -1;
}

/* --- helpers --------------------------------------------------------- */

struct step_ctx *
ctx_new(enum step_kind step, const char *target, const char *kind,
    const char *options)
{
	struct step_ctx	*ctx;

	memset(&the_target, 0, sizeof the_target);
	the_target.name = target;
	the_target.cfg.name = (char *)(uintptr_t)target;
	the_target.cfg.kind = (char *)(uintptr_t)kind;
	if (options != NULL)
		assert_non_null(the_target.cfg.options =
		    json_tokener_parse(options));
	ctx = calloc(1, sizeof *ctx);
	assert_non_null(ctx);
	ctx->kind = step;
	ctx->target = &the_target;
	ctx->opts.max_attempts = 3;
	ctx->subject.employee_id = "E12345";
	ctx->subject.email = "jane.doe@acme.example";
	ctx->subject.username = "jane.doe@acme.example";
	ctx->subject.manager_email = "boss@acme.example";
	npending = 0;
	max_pending = 0;
	ncalls_total = 0;
	cur = ctx;
	return ctx;
}

void
ctx_free(struct step_ctx *ctx)
{
	assert_int_equal(ctx->ndone, 1);
	assert_int_equal(npending, 0);
	json_object_put(ctx->subject.accounts);
	json_object_put(the_target.cfg.options);
	the_target.cfg.options = NULL;
	free(ctx);
	cur = NULL;
}

void
expect(size_t i, const char *method, const char *path, const char *body)
{
	assert_true(i < npending);
	assert_string_equal(pending[i].method, method);
	assert_string_equal(pending[i].path, path);
	if (body == NULL)
		assert_null(pending[i].body);
	else {
		assert_non_null(pending[i].body);
		assert_string_equal(pending[i].body, body);
	}
}

/* Take call i off the queue and give it resp (or none) as the target would. */
static void
answer_result(size_t i, const struct http_response *resp, int attempts,
    const char *error)
{
	struct fake_call	 c;
	struct target_result	 res;
	char			 err[64];

	assert_true(i < npending);
	c = pending[i];
	memmove(&pending[i], &pending[i + 1],
	    (npending - i - 1) * sizeof pending[0]);
	npending--;
	memset(&res, 0, sizeof res);
	res.resp = resp;
	res.ok = resp != NULL && resp->status >= 200 && resp->status < 300;
	res.attempts = attempts;
	if (res.ok)
		res.error = "";
	else if (error != NULL)
		res.error = error;
	else {
		snprintf(err, sizeof err, "HTTP %ld", resp->status);
		res.error = err;
	}
	free(c.body);
	c.cb(&res, c.arg);
}

void
answer(size_t i, long status, const char *body)
{
	struct http_response	resp = resp_make(status, body);

	answer_result(i, &resp, 1, NULL);
}

void
answer_header(size_t i, long status, const char *name, const char *value,
    const char *body)
{
	struct http_response	resp = resp_make(status, body);
	struct http_header	h;

	h.name = (char *)(uintptr_t)name;
	h.value = (char *)(uintptr_t)value;
	resp.headers = &h;
	resp.nheaders = 1;
	answer_result(i, &resp, 1, NULL);
}

void
answer_failed(size_t i, int attempts, const char *error)
{
	answer_result(i, NULL, attempts, error);
}

void
done(struct step_ctx *ctx, enum step_outcome out, const char *detail)
{
	assert_int_equal(ctx->ndone, 1);
	assert_int_equal(ctx->outcome, out);
	assert_string_equal(ctx->detail, detail);
}

int
noted(const struct step_ctx *ctx, const char *text)
{
	return strstr(ctx->notes, text) != NULL;
}
