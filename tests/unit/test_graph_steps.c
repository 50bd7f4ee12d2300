/*
 * test_graph_steps: the Microsoft Graph connector's steps (graph.c) driven
 * through the fake engine and target of connector_fixture.c: the account
 * lookup (the event's id, the username and email as userPrincipalName,
 * $filter on mail and employeeId), freeze, revoke_tokens and deactivate.
 * Each test answers the queued calls as Graph would and checks the
 * requests, the account kept, the notes and the closing detail.
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

#include "deprov/connector.h"
#include "deprov/runbook.h"

#include "connector_fixture.h"
#include "graph-internal.h"

#define ID		"00000000-0000-4000-8000-000000000001"
#define OLD		"00000000-0000-4000-8000-0000000000ff"
#define SEL		"?$select=id,accountEnabled,userPrincipalName"
#define USER(en)	"{\"id\":\"" ID "\",\"userPrincipalName\":" \
	"\"jane.doe@acme.example\",\"accountEnabled\":" en "}"
#define LIST(users)	"{\"value\":[" users "]}"
#define NOT_FOUND	"{\"error\":{\"code\":\"Request_ResourceNotFound\"," \
	"\"message\":\"Resource does not exist\"}}"
#define BY_UPN		"/v1.0/users/jane.doe%40acme.example" SEL
#define BY_MAIL		"/v1.0/users?$filter=mail%20eq%20%27jane.doe%40acme." \
	"example%27&$select=id,accountEnabled,userPrincipalName"
#define BY_EMPLOYEE	"/v1.0/users?$filter=employeeId%20eq%20%27E12345%27" \
	"&$select=id,accountEnabled,userPrincipalName"

static struct step_ctx *
graph_new(enum step_kind kind)
{
	return ctx_new(kind, "entra", "graph", NULL);
}

/* The event's id is gone: the username finds the user, who is frozen. */
static void
test_lookup_second_way(void **state)
{
	struct step_ctx	*ctx = graph_new(STEP_FREEZE);

	(void)state;
	ctx->subject.accounts = json_tokener_parse("{\"entra\":\"" OLD "\"}");
	connector_graph.run(ctx);
	expect(0, "GET", "/v1.0/users/" OLD SEL, NULL);
	answer(0, 404, NOT_FOUND);
	assert_true(noted(ctx, "account " OLD " from the event not found; "
	    "looking the user up"));
	assert_false(ctx->has_account);
	expect(0, "GET", BY_UPN, NULL);
	answer(0, 200, USER("true"));
	assert_string_equal(ctx->account, ID);
	assert_true(noted(ctx, "account " ID " jane.doe@acme.example (found by "
	    "username)"));
	expect(0, "PATCH", "/v1.0/users/" ID, "{\"accountEnabled\":false}");
	assert_string_equal(pending[0].ctype, "application/json");
	answer(0, 204, "");
	done(ctx, STEP_OUT_OK, "disabled (accountEnabled=false)");
	assert_int_equal(ncalls_total, 3);
	ctx_free(ctx);
}

/*
 * Nowhere: the email is the username (asked once as a UPN), then the
 * filters on mail and employeeId find nobody.
 */
static void
test_lookup_no_account(void **state)
{
	struct step_ctx	*ctx = graph_new(STEP_FREEZE);

	(void)state;
	connector_graph.run(ctx);
	expect(0, "GET", BY_UPN, NULL);
	answer(0, 404, NOT_FOUND);
	expect(0, "GET", BY_MAIL, NULL);
	answer(0, 200, LIST(""));
	expect(0, "GET", BY_EMPLOYEE, NULL);
	answer(0, 200, LIST(""));
	done(ctx, STEP_OUT_NO_ACCOUNT, "no account");
	assert_false(ctx->has_account);
	assert_int_equal(ncalls_total, 3);
	ctx_free(ctx);

	/* A username that is not an address is no UPN: the email is asked. */
	ctx = graph_new(STEP_REVOKE_TOKENS);
	ctx->subject.username = "jdoe";
	ctx->subject.employee_id = NULL;
	connector_graph.run(ctx);
	expect(0, "GET", BY_UPN, NULL);
	answer(0, 404, NOT_FOUND);
	expect(0, "GET", BY_MAIL, NULL);
	answer(0, 200, LIST(""));
	done(ctx, STEP_OUT_NO_ACCOUNT, "no account");
	assert_int_equal(ncalls_total, 2);
	ctx_free(ctx);
}

/* Found by the filter on mail; several users with it are ambiguous. */
static void
test_lookup_filter(void **state)
{
	struct step_ctx	*ctx = graph_new(STEP_FREEZE);

	(void)state;
	connector_graph.run(ctx);
	/* A UPN Graph refuses is not this user either: noted, next. */
	answer(0, 400, "{\"error\":{\"code\":\"Request_BadRequest\","
	    "\"message\":\"Invalid object identifier\"}}");
	assert_true(noted(ctx, "resolve: jane.doe@acme.example: HTTP 400 "
	    "Request_BadRequest: Invalid object identifier; next identifier"));
	expect(0, "GET", BY_MAIL, NULL);
	/* Seen disabled by the lookup: nothing to do. */
	answer(0, 200, LIST(USER("false")));
	assert_string_equal(ctx->account, ID);
	assert_true(noted(ctx, "(found by mail)"));
	done(ctx, STEP_OUT_OK, "already disabled");
	assert_int_equal(ncalls_total, 2);
	ctx_free(ctx);

	ctx = graph_new(STEP_FREEZE);
	connector_graph.run(ctx);
	answer(0, 404, NOT_FOUND);
	answer(0, 200, LIST(USER("true") "," USER("true")));
	done(ctx, STEP_OUT_FAILED, "freeze: ambiguous: 2 users with mail "
	    "jane.doe@acme.example");
	assert_false(ctx->has_account);
	ctx_free(ctx);
}

/* An error other than "not found" ends the lookup: the step fails. */
static void
test_lookup_error(void **state)
{
	struct step_ctx	*ctx = graph_new(STEP_FREEZE);

	(void)state;
	connector_graph.run(ctx);
	answer(0, 403, "{\"error\":{\"code\":\"Authorization_RequestDenied\","
	    "\"message\":\"Insufficient privileges\"}}");
	done(ctx, STEP_OUT_FAILED, "freeze: resolve: GET user "
	    "jane.doe@acme.example: HTTP 403 Authorization_RequestDenied: "
	    "Insufficient privileges");
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);

	/* The target gave up (its retries are its own). */
	ctx = graph_new(STEP_DEACTIVATE);
	connector_graph.run(ctx);
	answer(0, 404, NOT_FOUND);
	answer_failed(0, 3, "timeout after 3 attempts");
	done(ctx, STEP_OUT_FAILED, "deactivate: resolve: filter mail eq "
	    "jane.doe@acme.example: timeout after 3 attempts");
	ctx_free(ctx);

	/* An event account too long for a Graph id. */
	ctx = graph_new(STEP_FREEZE);
	step_ctx_set_account(ctx, "x" ID ID);
	connector_graph.run(ctx);
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_non_null(strstr(ctx->detail, "is not a Graph object id"));
	assert_int_equal(ncalls_total, 0);
	ctx_free(ctx);
}

static void
test_freeze_known(void **state)
{
	struct step_ctx	*ctx = graph_new(STEP_FREEZE);

	(void)state;
	step_ctx_set_account(ctx, ID);
	connector_graph.run(ctx);
	/* Known: no lookup, and no read first (a PATCH is idempotent). */
	expect(0, "PATCH", "/v1.0/users/" ID, "{\"accountEnabled\":false}");
	answer(0, 404, NOT_FOUND);
	done(ctx, STEP_OUT_NO_ACCOUNT, "no account: " ID " no longer exists "
	    "in Entra ID");
	ctx_free(ctx);
}

static void
test_revoke_tokens(void **state)
{
	struct step_ctx	*ctx = graph_new(STEP_REVOKE_TOKENS);

	(void)state;
	step_ctx_set_account(ctx, ID);
	connector_graph.run(ctx);
	expect(0, "POST", "/v1.0/users/" ID "/revokeSignInSessions", NULL);
	answer(0, 200, "{\"value\":true}");
	done(ctx, STEP_OUT_OK, "sign-in sessions revoked (refresh tokens "
	    "invalidated; Graph notes it can take a few minutes)");
	ctx_free(ctx);

	ctx = graph_new(STEP_REVOKE_TOKENS);
	step_ctx_set_account(ctx, ID);
	connector_graph.run(ctx);
	answer(0, 503, "{\"error\":{\"code\":\"ServiceUnavailable\","
	    "\"message\":\"Try later\"}}");
	done(ctx, STEP_OUT_FAILED, "revoke_tokens: POST revokeSignInSessions: "
	    "HTTP 503 ServiceUnavailable: Try later");
	ctx_free(ctx);
}

static void
test_deactivate(void **state)
{
	struct step_ctx	*ctx = graph_new(STEP_DEACTIVATE);

	(void)state;
	step_ctx_set_account(ctx, ID);
	connector_graph.run(ctx);
	/* The state first: Entra has nothing past "disabled". */
	expect(0, "GET", "/v1.0/users/" ID SEL, NULL);
	answer(0, 200, USER("true"));
	expect(0, "PATCH", "/v1.0/users/" ID, "{\"accountEnabled\":false}");
	answer(0, 204, "");
	done(ctx, STEP_OUT_OK, "disabled (accountEnabled=false); licences and "
	    "group memberships are left as they are");
	ctx_free(ctx);

	ctx = graph_new(STEP_DEACTIVATE);
	step_ctx_set_account(ctx, ID);
	connector_graph.run(ctx);
	answer(0, 200, USER("false"));
	done(ctx, STEP_OUT_OK, "already disabled (accountEnabled=false)");
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);
}

/* A step the kind does not do ends "skipped" with its reason, no call. */
static void
test_not_done(void **state)
{
	struct step_ctx	*ctx = graph_new(STEP_REASSIGN);

	(void)state;
	connector_graph.run(ctx);
	assert_int_equal(ctx->outcome, STEP_OUT_SKIPPED);
	assert_string_equal(ctx->detail, connector_graph.skips[STEP_REASSIGN]);
	assert_int_equal(ncalls_total, 0);
	ctx_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_second_way),
		cmocka_unit_test(test_lookup_no_account),
		cmocka_unit_test(test_lookup_filter),
		cmocka_unit_test(test_lookup_error),
		cmocka_unit_test(test_freeze_known),
		cmocka_unit_test(test_revoke_tokens),
		cmocka_unit_test(test_deactivate),
		cmocka_unit_test(test_not_done),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
