/*
 * test_reactivate_steps: the reactivate step of the SCIM, Okta, Graph and
 * Google connectors (scim.c, okta.c, graph.c, google.c) driven through a
 * fake engine and a fake target, as test_salesforce_steps does for
 * Salesforce. Each test answers the queued calls as the vendor would and
 * checks the requests, that the state is read before anything is changed,
 * and the closing detail, which step_ctx_done must get exactly once with
 * no call of the step still in flight. The Salesforce reactivate step is in
 * test_salesforce_steps.c.
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

#include "google-internal.h"
#include "graph-internal.h"
#include "okta-internal.h"
#include "scim-internal.h"

#define FAKE_MAX_CALLS	8

struct target {
	const char		*name;
	struct config_target	 cfg;
};

struct step_ctx {
	enum step_kind		 kind;
	struct runbook_step	 step;
	struct subject		 subject;
	struct target		*target;
	char			 account[128];
	int			 has_account;
	struct call_opts	 opts;
	void			*data;
	void			(*free_fn)(void *);
	int			 ndone;
	enum step_outcome	 outcome;
	char			 detail[2048];
	char			 notes[8192];
};

struct fake_call {
	char		 method[16];
	char		 path[1024];
	char		*body;
	char		 header[512];
	target_cb	 cb;
	void		*arg;
};

static struct fake_call	pending[FAKE_MAX_CALLS];
static size_t		npending;
static size_t		ncalls_total;
static struct step_ctx	*cur;
static struct target	 the_target;

/* --- the fake engine ------------------------------------------------- */

long long
step_ctx_case_id(const struct step_ctx *ctx)
{
	(void)ctx;
	return 7;
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

struct event_base *
step_ctx_base(const struct step_ctx *ctx)
{
	(void)ctx;
	fail_msg("reactivate needs no timer");
	return NULL;
}

void
step_ctx_done(struct step_ctx *ctx, enum step_outcome out, const char *detail)
{
	assert_int_equal(ctx->ndone, 0);
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

	(void)t;
	assert_ptr_equal(opts, &cur->opts);
	assert_true(npending < FAKE_MAX_CALLS);
	c = &pending[npending++];
	memset(c, 0, sizeof *c);
	snprintf(c->method, sizeof c->method, "%s", req->method);
	assert_true(strlen(req->path) < sizeof c->path);
	snprintf(c->path, sizeof c->path, "%s", req->path);
	if (req->body != NULL)
		c->body = strdup(req->body);
	snprintf(c->header, sizeof c->header, "%s",
	    req->extra_header ? req->extra_header : "");
	c->cb = cb;
	c->arg = arg;
	ncalls_total++;
	return 0;
}

/* The descriptors' signals hooks reach the target; the steps never do. */
void
target_signal_wait(struct target *t, long ms)
{
	fail_msg("target_signal_wait called by a step");
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

/* --- helpers ------------------------------------------------------------- */

static struct step_ctx *
ctx_new(const char *target, const char *kind, const char *options)
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
	ctx->kind = STEP_REACTIVATE;
	ctx->target = &the_target;
	ctx->opts.max_attempts = 3;
	ctx->subject.employee_id = "E12345";
	ctx->subject.email = "jane.doe@acme.example";
	ctx->subject.username = "jane.doe@acme.example";
	npending = 0;
	ncalls_total = 0;
	cur = ctx;
	return ctx;
}

static void
ctx_free(struct step_ctx *ctx)
{
	assert_int_equal(ctx->ndone, 1);
	assert_int_equal(npending, 0);
	json_object_put(the_target.cfg.options);
	the_target.cfg.options = NULL;
	free(ctx);
	cur = NULL;
}

/* Check pending call i's method, path and body (NULL: none). */
static void
expect(size_t i, const char *method, const char *path, const char *body)
{
	assert_true(i < npending);
	assert_string_equal(pending[i].method, method);
	assert_string_equal(pending[i].path, path);
	if (body == NULL)
		assert_null(pending[i].body);
	else
		assert_string_equal(pending[i].body, body);
}

/* Answer pending call i with status and body. */
static void
answer(size_t i, long status, const char *body)
{
	struct fake_call	 c;
	struct http_response	 resp;
	struct target_result	 res;
	char			 err[64];

	assert_true(i < npending);
	c = pending[i];
	memmove(&pending[i], &pending[i + 1],
	    (npending - i - 1) * sizeof pending[0]);
	npending--;
	memset(&resp, 0, sizeof resp);
	resp.status = status;
	resp.body = (char *)(uintptr_t)body;
	resp.body_len = strlen(body);
	memset(&res, 0, sizeof res);
	res.resp = &resp;
	res.ok = status >= 200 && status < 300;
	res.attempts = 1;
	snprintf(err, sizeof err, "HTTP %ld", status);
	res.error = res.ok ? "" : err;
	free(c.body);
	c.cb(&res, c.arg);
}

static void
done(struct step_ctx *ctx, enum step_outcome out, const char *detail)
{
	assert_int_equal(ctx->ndone, 1);
	assert_int_equal(ctx->outcome, out);
	assert_string_equal(ctx->detail, detail);
}

/* --- SCIM ------------------------------------------------------------------ */

#define SCIM_ID		"U0123ABCDEF"
#define SCIM_USER(active) "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:" \
	"2.0:User\"],\"id\":\"" SCIM_ID "\",\"userName\":\"jane.doe@acme.example\"," \
	"\"active\":" active ",\"meta\":{\"version\":\"W/\\\"3\\\"\"}}"
#define SCIM_404 "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"]," \
	"\"status\":\"404\",\"detail\":\"Resource " SCIM_ID " not found\"}"
#define SCIM_DELETED "reactivate: user " SCIM_ID ": the account was deleted at " \
	"slack (SCIM DELETE is irreversible); re-create it through the app's " \
	"provisioning"

static void
test_scim_reactivate(void **state)
{
	struct step_ctx	*ctx = ctx_new("slack", "scim", NULL);

	(void)state;
	step_ctx_set_account(ctx, SCIM_ID);
	connector_scim.run(ctx);
	/* Read first: active and the ETag. */
	expect(0, "GET", "/Users/" SCIM_ID, NULL);
	answer(0, 200, SCIM_USER("false"));
	expect(0, "PATCH", "/Users/" SCIM_ID, "{\"schemas\":[\"urn:ietf:params:"
	    "scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":\"replace\","
	    "\"path\":\"active\",\"value\":true}]}");
	assert_string_equal(pending[0].header, "If-Match: W/\"3\"");
	answer(0, 200, SCIM_USER("true"));
	done(ctx, STEP_OUT_OK, "reactivated (active=true)");
	ctx_free(ctx);

	/* Already active: nothing is sent after the read. */
	ctx = ctx_new("slack", "scim", NULL);
	step_ctx_set_account(ctx, SCIM_ID);
	connector_scim.run(ctx);
	answer(0, 200, SCIM_USER("true"));
	done(ctx, STEP_OUT_OK, "already active");
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);

	/* The path-less PatchOp of the GitHub preset; a 204 answer. */
	ctx = ctx_new("slack", "scim", "{\"preset\":\"github\"}");
	step_ctx_set_account(ctx, SCIM_ID);
	connector_scim.run(ctx);
	answer(0, 200, SCIM_USER("false"));
	assert_string_equal(pending[0].body, "{\"schemas\":[\"urn:ietf:params:"
	    "scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":\"replace\","
	    "\"value\":{\"active\":true}}]}");
	answer(0, 204, "");
	done(ctx, STEP_OUT_OK, "reactivated (active=true)");
	ctx_free(ctx);
}

static void
test_scim_reactivate_deleted(void **state)
{
	struct step_ctx	*ctx = ctx_new("slack", "scim", NULL);

	(void)state;
	/* The known id is gone: a DELETE, which nothing can undo. */
	step_ctx_set_account(ctx, SCIM_ID);
	connector_scim.run(ctx);
	answer(0, 404, SCIM_404);
	done(ctx, STEP_OUT_FAILED, SCIM_DELETED);
	ctx_free(ctx);

	/* Deleted between the read and the PATCH. */
	ctx = ctx_new("slack", "scim", NULL);
	step_ctx_set_account(ctx, SCIM_ID);
	connector_scim.run(ctx);
	answer(0, 200, SCIM_USER("false"));
	answer(0, 404, SCIM_404);
	done(ctx, STEP_OUT_FAILED, SCIM_DELETED);
	ctx_free(ctx);

	/* A PATCH answered with the user still inactive did not take. */
	ctx = ctx_new("slack", "scim", NULL);
	step_ctx_set_account(ctx, SCIM_ID);
	connector_scim.run(ctx);
	answer(0, 200, SCIM_USER("false"));
	answer(0, 200, SCIM_USER("false"));
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_non_null(strstr(ctx->detail, "still active=false"));
	ctx_free(ctx);
}

/* --- Okta ------------------------------------------------------------------ */

#define OKTA_ID		"00ub0oNGTSWTBKOLGLNR"
#define OKTA_USER(st)	"{\"id\":\"" OKTA_ID "\",\"status\":\"" st "\"," \
	"\"profile\":{\"login\":\"jane.doe@acme.example\"}}"
#define OKTA_404	"{\"errorCode\":\"E0000007\",\"errorSummary\":\"Not found: " \
	"Resource not found: " OKTA_ID " (User)\",\"errorCauses\":[]}"

static void
test_okta_reactivate(void **state)
{
	struct step_ctx	*ctx = ctx_new("okta", "okta", NULL);

	(void)state;
	/* SUSPENDED: unsuspend. */
	step_ctx_set_account(ctx, OKTA_ID);
	connector_okta.run(ctx);
	expect(0, "GET", "/api/v1/users/" OKTA_ID, NULL);
	answer(0, 200, OKTA_USER("SUSPENDED"));
	expect(0, "POST", "/api/v1/users/" OKTA_ID "/lifecycle/unsuspend", NULL);
	answer(0, 200, "");
	done(ctx, STEP_OUT_OK, "unsuspended (ACTIVE)");
	ctx_free(ctx);

	/* DEPROVISIONED: activate without an email; Okta leaves it PROVISIONED. */
	ctx = ctx_new("okta", "okta", NULL);
	step_ctx_set_account(ctx, OKTA_ID);
	connector_okta.run(ctx);
	answer(0, 200, OKTA_USER("DEPROVISIONED"));
	expect(0, "POST", "/api/v1/users/" OKTA_ID
	    "/lifecycle/activate?sendEmail=false", NULL);
	answer(0, 200, "{\"activationUrl\":\"https://acme.okta.com/welcome/"
	    "XE6wE17zmphl3KqAPFxO\",\"activationToken\":\"XE6wE17zmphl3KqAPFxO\"}");
	done(ctx, STEP_OUT_OK, "activated from DEPROVISIONED; Okta leaves a "
	    "reactivated user PROVISIONED until the person completes activation "
	    "(sendEmail=false: Okta sent no email; send the activation or a "
	    "password reset from the Okta admin console)");
	/* The activation token is not repeated anywhere. */
	assert_null(strstr(ctx->notes, "XE6wE17zmphl3KqAPFxO"));
	ctx_free(ctx);

	/* ACTIVE: no call (activate would be a 403, unsuspend a 400). */
	ctx = ctx_new("okta", "okta", NULL);
	step_ctx_set_account(ctx, OKTA_ID);
	connector_okta.run(ctx);
	answer(0, 200, OKTA_USER("ACTIVE"));
	done(ctx, STEP_OUT_OK, "already active");
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);

	/* Activated under us (403 E0000016): read again, then done. */
	ctx = ctx_new("okta", "okta", NULL);
	step_ctx_set_account(ctx, OKTA_ID);
	connector_okta.run(ctx);
	answer(0, 200, OKTA_USER("DEPROVISIONED"));
	answer(0, 403, "{\"errorCode\":\"E0000016\",\"errorSummary\":"
	    "\"Activation failed because the user is already active\","
	    "\"errorCauses\":[]}");
	assert_non_null(strstr(ctx->notes, "reading the status again"));
	expect(0, "GET", "/api/v1/users/" OKTA_ID, NULL);
	answer(0, 200, OKTA_USER("ACTIVE"));
	done(ctx, STEP_OUT_OK, "already active");
	ctx_free(ctx);
}

static void
test_okta_reactivate_deleted(void **state)
{
	struct step_ctx	*ctx = ctx_new("okta", "okta", NULL);

	(void)state;
	step_ctx_set_account(ctx, OKTA_ID);
	connector_okta.run(ctx);
	answer(0, 404, OKTA_404);
	done(ctx, STEP_OUT_FAILED, "reactivate: user " OKTA_ID " was deleted at "
	    "Okta (404 E0000007): a deleted Okta user cannot be brought back; "
	    "create the user again");
	ctx_free(ctx);

	/* STAGED: never active, nothing to bring back. */
	ctx = ctx_new("okta", "okta", NULL);
	step_ctx_set_account(ctx, OKTA_ID);
	connector_okta.run(ctx);
	answer(0, 200, OKTA_USER("STAGED"));
	assert_int_equal(ctx->outcome, STEP_OUT_SKIPPED);
	assert_non_null(strstr(ctx->detail, "STAGED"));
	ctx_free(ctx);
}

/* --- Graph ----------------------------------------------------------------- */

#define GRAPH_ID	"00000000-0000-4000-8000-000000000001"
#define GRAPH_USER(en)	"{\"id\":\"" GRAPH_ID "\",\"userPrincipalName\":" \
	"\"jane.doe@acme.example\",\"accountEnabled\":" en "}"

static void
test_graph_reactivate(void **state)
{
	struct step_ctx	*ctx = ctx_new("entra", "graph", NULL);

	(void)state;
	step_ctx_set_account(ctx, GRAPH_ID);
	connector_graph.run(ctx);
	expect(0, "GET", "/v1.0/users/" GRAPH_ID
	    "?$select=id,accountEnabled,userPrincipalName", NULL);
	answer(0, 200, GRAPH_USER("false"));
	expect(0, "PATCH", "/v1.0/users/" GRAPH_ID, "{\"accountEnabled\":true}");
	answer(0, 204, "");
	done(ctx, STEP_OUT_OK, "enabled (accountEnabled=true); sign-in sessions "
	    "revoked before stay revoked: the person signs in again");
	ctx_free(ctx);

	ctx = ctx_new("entra", "graph", NULL);
	step_ctx_set_account(ctx, GRAPH_ID);
	connector_graph.run(ctx);
	answer(0, 200, GRAPH_USER("true"));
	done(ctx, STEP_OUT_OK, "already enabled (accountEnabled=true)");
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);

	/* Resolved just now: its accountEnabled is fresh, no second read. */
	ctx = ctx_new("entra", "graph", NULL);
	connector_graph.run(ctx);
	assert_string_equal(pending[0].method, "GET");
	answer(0, 200, GRAPH_USER("false"));
	assert_string_equal(ctx->account, GRAPH_ID);
	expect(0, "PATCH", "/v1.0/users/" GRAPH_ID, "{\"accountEnabled\":true}");
	answer(0, 204, "");
	assert_int_equal(ctx->outcome, STEP_OUT_OK);
	assert_int_equal(ncalls_total, 2);
	ctx_free(ctx);

	ctx = ctx_new("entra", "graph", NULL);
	step_ctx_set_account(ctx, GRAPH_ID);
	connector_graph.run(ctx);
	answer(0, 404, "{\"error\":{\"code\":\"Request_ResourceNotFound\","
	    "\"message\":\"Resource '" GRAPH_ID "' does not exist\"}}");
	done(ctx, STEP_OUT_FAILED, "reactivate: user " GRAPH_ID " was deleted "
	    "in Entra ID (404): a deleted user can be restored within 30 days "
	    "(Entra admin center > Deleted users, or POST /directory/"
	    "deletedItems/{id}/restore); deprov does not restore it");
	ctx_free(ctx);
}

/* --- Google ---------------------------------------------------------------- */

#define GOOGLE_ID	"100000000000000000001"
#define GOOGLE_USER(s)	"{\"kind\":\"admin#directory#user\",\"id\":\"" GOOGLE_ID \
	"\",\"primaryEmail\":\"jane.doe@acme.example\",\"suspended\":" s "}"

static void
test_google_reactivate(void **state)
{
	struct step_ctx	*ctx = ctx_new("workspace", "google", NULL);

	(void)state;
	step_ctx_set_account(ctx, GOOGLE_ID);
	connector_google.run(ctx);
	expect(0, "GET", "/admin/directory/v1/users/" GOOGLE_ID, NULL);
	answer(0, 200, GOOGLE_USER("true"));
	expect(0, "PATCH", "/admin/directory/v1/users/" GOOGLE_ID,
	    "{\"suspended\":false}");
	answer(0, 200, GOOGLE_USER("false"));
	done(ctx, STEP_OUT_OK, "unsuspended (suspended=false)");
	ctx_free(ctx);

	ctx = ctx_new("workspace", "google", NULL);
	step_ctx_set_account(ctx, GOOGLE_ID);
	connector_google.run(ctx);
	answer(0, 200, GOOGLE_USER("false"));
	done(ctx, STEP_OUT_OK, "not suspended");
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);

	ctx = ctx_new("workspace", "google", NULL);
	step_ctx_set_account(ctx, GOOGLE_ID);
	connector_google.run(ctx);
	answer(0, 404, "{\"error\":{\"code\":404,\"message\":\"Resource Not "
	    "Found: userKey\",\"errors\":[{\"message\":\"Resource Not Found: "
	    "userKey\",\"domain\":\"global\",\"reason\":\"notFound\"}]}}");
	done(ctx, STEP_OUT_FAILED, "reactivate: user " GOOGLE_ID " was deleted "
	    "in Google Workspace (404): it can be restored within 20 days of the "
	    "deletion (Admin console > Users > recently deleted, or "
	    "users.undelete); deprov does not undelete it");
	ctx_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scim_reactivate),
		cmocka_unit_test(test_scim_reactivate_deleted),
		cmocka_unit_test(test_okta_reactivate),
		cmocka_unit_test(test_okta_reactivate_deleted),
		cmocka_unit_test(test_graph_reactivate),
		cmocka_unit_test(test_google_reactivate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
