/*
 * test_reactivate_steps: the reactivate step of the SCIM, Okta, Graph and
 * Google connectors (scim.c, okta.c, graph.c, google.c) driven through the
 * fake engine and target of connector_fixture.c, as test_salesforce_steps
 * does for Salesforce. Each test answers the queued calls as the vendor
 * would and checks the requests, that the state is read before anything is
 * changed, and the closing detail, which step_ctx_done must get exactly
 * once with no call of the step still in flight. The Salesforce reactivate step is in
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

#include "connector_fixture.h"
#include "google-internal.h"
#include "graph-internal.h"
#include "okta-internal.h"
#include "scim-internal.h"

/* A reactivate step at target (of kind `kind`, with options or NULL). */
static struct step_ctx *
rx_new(const char *target, const char *kind, const char *options)
{
	return ctx_new(STEP_REACTIVATE, target, kind, options);
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
	struct step_ctx	*ctx = rx_new("slack", "scim", NULL);

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
	ctx = rx_new("slack", "scim", NULL);
	step_ctx_set_account(ctx, SCIM_ID);
	connector_scim.run(ctx);
	answer(0, 200, SCIM_USER("true"));
	done(ctx, STEP_OUT_OK, "already active");
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);

	/* The path-less PatchOp of the GitHub preset; a 204 answer. */
	ctx = rx_new("slack", "scim", "{\"preset\":\"github\"}");
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
	struct step_ctx	*ctx = rx_new("slack", "scim", NULL);

	(void)state;
	/* The known id is gone: a DELETE, which nothing can undo. */
	step_ctx_set_account(ctx, SCIM_ID);
	connector_scim.run(ctx);
	answer(0, 404, SCIM_404);
	done(ctx, STEP_OUT_FAILED, SCIM_DELETED);
	ctx_free(ctx);

	/* Deleted between the read and the PATCH. */
	ctx = rx_new("slack", "scim", NULL);
	step_ctx_set_account(ctx, SCIM_ID);
	connector_scim.run(ctx);
	answer(0, 200, SCIM_USER("false"));
	answer(0, 404, SCIM_404);
	done(ctx, STEP_OUT_FAILED, SCIM_DELETED);
	ctx_free(ctx);

	/* A PATCH answered with the user still inactive did not take. */
	ctx = rx_new("slack", "scim", NULL);
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
	struct step_ctx	*ctx = rx_new("okta", "okta", NULL);

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
	ctx = rx_new("okta", "okta", NULL);
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
	ctx = rx_new("okta", "okta", NULL);
	step_ctx_set_account(ctx, OKTA_ID);
	connector_okta.run(ctx);
	answer(0, 200, OKTA_USER("ACTIVE"));
	done(ctx, STEP_OUT_OK, "already active");
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);

	/* Activated under us (403 E0000016): read again, then done. */
	ctx = rx_new("okta", "okta", NULL);
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
	struct step_ctx	*ctx = rx_new("okta", "okta", NULL);

	(void)state;
	step_ctx_set_account(ctx, OKTA_ID);
	connector_okta.run(ctx);
	answer(0, 404, OKTA_404);
	done(ctx, STEP_OUT_FAILED, "reactivate: user " OKTA_ID " was deleted at "
	    "Okta (404 E0000007): a deleted Okta user cannot be brought back; "
	    "create the user again");
	ctx_free(ctx);

	/* STAGED: never active, nothing to bring back. */
	ctx = rx_new("okta", "okta", NULL);
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
	struct step_ctx	*ctx = rx_new("entra", "graph", NULL);

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

	ctx = rx_new("entra", "graph", NULL);
	step_ctx_set_account(ctx, GRAPH_ID);
	connector_graph.run(ctx);
	answer(0, 200, GRAPH_USER("true"));
	done(ctx, STEP_OUT_OK, "already enabled (accountEnabled=true)");
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);

	/* Resolved just now: its accountEnabled is fresh, no second read. */
	ctx = rx_new("entra", "graph", NULL);
	connector_graph.run(ctx);
	assert_string_equal(pending[0].method, "GET");
	answer(0, 200, GRAPH_USER("false"));
	assert_string_equal(ctx->account, GRAPH_ID);
	expect(0, "PATCH", "/v1.0/users/" GRAPH_ID, "{\"accountEnabled\":true}");
	answer(0, 204, "");
	assert_int_equal(ctx->outcome, STEP_OUT_OK);
	assert_int_equal(ncalls_total, 2);
	ctx_free(ctx);

	ctx = rx_new("entra", "graph", NULL);
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
	struct step_ctx	*ctx = rx_new("workspace", "google", NULL);

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

	ctx = rx_new("workspace", "google", NULL);
	step_ctx_set_account(ctx, GOOGLE_ID);
	connector_google.run(ctx);
	answer(0, 200, GOOGLE_USER("false"));
	done(ctx, STEP_OUT_OK, "not suspended");
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);

	ctx = rx_new("workspace", "google", NULL);
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
