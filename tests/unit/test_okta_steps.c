/*
 * test_okta_steps: the Okta connector's steps (okta.c) driven through the
 * fake engine and target of connector_fixture.c: the account lookup (GET
 * /api/v1/users/{key} by the event's id, then the username and the email
 * as logins), freeze (suspend after reading the status), revoke_tokens
 * (sessions with OAuth tokens, then grants) and deactivate. Each test
 * answers the queued calls as Okta would and checks the requests, the
 * account kept, the notes and the closing detail.
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
#include "okta-internal.h"

#define ID		"00ub0oNGTSWTBKOLGLNR"
#define USERS		"/api/v1/users/"
#define USER(st)	"{\"id\":\"" ID "\",\"status\":\"" st "\"," \
	"\"profile\":{\"login\":\"jane.doe@acme.example\"}}"
#define NOT_FOUND	"{\"errorCode\":\"E0000007\",\"errorSummary\":\"Not " \
	"found: Resource not found: x (User)\",\"errorCauses\":[]}"
#define ACCEPT		"Accept: application/json"

static struct step_ctx *
okta_new(enum step_kind kind)
{
	return ctx_new(kind, "okta", "okta", NULL);
}

/* The event's id is gone; the username as a login finds Jane. */
static void
test_lookup_second_way(void **state)
{
	struct step_ctx	*ctx = okta_new(STEP_FREEZE);

	(void)state;
	ctx->subject.accounts = json_tokener_parse("{\"okta\":\"00uOLD\"}");
	connector_okta.run(ctx);
	expect(0, "GET", USERS "00uOLD", NULL);
	assert_string_equal(pending[0].header, ACCEPT);
	answer(0, 404, NOT_FOUND);
	assert_true(noted(ctx, "account 00uOLD from the event not found; "
	    "looking the user up"));
	expect(0, "GET", USERS "jane.doe%40acme.example", NULL);
	answer(0, 200, USER("ACTIVE"));
	assert_string_equal(ctx->account, ID);
	assert_true(noted(ctx, "account " ID " (found by login = username), "
	    "status ACTIVE"));
	/* The status was just read: suspend without reading it again. */
	expect(0, "POST", USERS ID "/lifecycle/suspend", NULL);
	assert_string_equal(pending[0].ctype, "application/json");
	answer(0, 200, "{}");
	done(ctx, STEP_OUT_OK, "suspended");
	assert_int_equal(ncalls_total, 3);
	ctx_free(ctx);

	/* Found by the email, another login; already suspended. */
	ctx = okta_new(STEP_FREEZE);
	ctx->subject.username = "jdoe";
	connector_okta.run(ctx);
	expect(0, "GET", USERS "jdoe", NULL);
	answer(0, 404, NOT_FOUND);
	expect(0, "GET", USERS "jane.doe%40acme.example", NULL);
	answer(0, 200, USER("SUSPENDED"));
	assert_true(noted(ctx, "(found by login = email), status SUSPENDED"));
	done(ctx, STEP_OUT_OK, "already suspended");
	assert_int_equal(ncalls_total, 2);
	ctx_free(ctx);
}

static void
test_lookup_no_account(void **state)
{
	struct step_ctx	*ctx = okta_new(STEP_REVOKE_TOKENS);

	(void)state;
	/* The email is the username: asked once. */
	connector_okta.run(ctx);
	expect(0, "GET", USERS "jane.doe%40acme.example", NULL);
	answer(0, 404, NOT_FOUND);
	done(ctx, STEP_OUT_NO_ACCOUNT, "no account");
	assert_false(ctx->has_account);
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);

	/* A login that cannot name a user is passed over, said why. */
	ctx = okta_new(STEP_FREEZE);
	ctx->subject.username = "jane\tdoe";
	ctx->subject.email = NULL;
	connector_okta.run(ctx);
	assert_true(noted(ctx, "login = username 'jane\tdoe' cannot name an "
	    "Okta user; lookup passed over"));
	done(ctx, STEP_OUT_NO_ACCOUNT, "no account");
	assert_int_equal(ncalls_total, 0);
	ctx_free(ctx);
}

static void
test_lookup_error(void **state)
{
	struct step_ctx	*ctx = okta_new(STEP_FREEZE);

	(void)state;
	connector_okta.run(ctx);
	answer(0, 429, "{\"errorCode\":\"E0000047\",\"errorSummary\":\"API call "
	    "exceeded rate limit due to too many requests.\",\"errorCauses\":[]}");
	done(ctx, STEP_OUT_FAILED, "freeze: resolve: GET user "
	    "jane.doe@acme.example (login = username): HTTP 429 E0000047: API "
	    "call exceeded rate limit due to too many requests.");
	assert_false(ctx->has_account);
	ctx_free(ctx);

	ctx = okta_new(STEP_DEACTIVATE);
	connector_okta.run(ctx);
	answer(0, 200, "{\"status\":\"ACTIVE\"}");
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_non_null(strstr(ctx->detail, "deactivate: resolve: GET user "
	    "jane.doe@acme.example (login = username): unexpected answer: "));
	assert_false(ctx->has_account);
	ctx_free(ctx);
}

static void
test_freeze_known(void **state)
{
	struct step_ctx	*ctx = okta_new(STEP_FREEZE);
	char		 id[OKTA_ID_MAX + 2], want[256];

	(void)state;
	step_ctx_set_account(ctx, ID);
	connector_okta.run(ctx);
	/* Lifecycle calls are not idempotent: the status first. */
	expect(0, "GET", USERS ID, NULL);
	answer(0, 200, USER("ACTIVE"));
	expect(0, "POST", USERS ID "/lifecycle/suspend", NULL);
	/* Suspended meanwhile: read again, then done. */
	answer(0, 400, "{\"errorCode\":\"E0000001\",\"errorSummary\":\"Api "
	    "validation failed: suspend\",\"errorCauses\":[]}");
	assert_true(noted(ctx, "reading the status again"));
	expect(0, "GET", USERS ID, NULL);
	answer(0, 200, USER("SUSPENDED"));
	done(ctx, STEP_OUT_OK, "already suspended");
	ctx_free(ctx);

	/* A case's account longer than any Okta id: failed, no call. */
	memset(id, 'a', OKTA_ID_MAX + 1);
	id[OKTA_ID_MAX + 1] = '\0';
	ctx = okta_new(STEP_FREEZE);
	step_ctx_set_account(ctx, id);
	connector_okta.run(ctx);
	snprintf(want, sizeof want, "freeze: account '%.60s' is not a usable "
	    "Okta user id", id);
	done(ctx, STEP_OUT_FAILED, want);
	assert_int_equal(ncalls_total, 0);
	ctx_free(ctx);
}

static void
test_revoke_tokens(void **state)
{
	struct step_ctx	*ctx = okta_new(STEP_REVOKE_TOKENS);

	(void)state;
	step_ctx_set_account(ctx, ID);
	connector_okta.run(ctx);
	expect(0, "DELETE", USERS ID "/sessions?oauthTokens=true", NULL);
	assert_string_equal(pending[0].ctype, "");
	answer(0, 204, "");
	expect(0, "DELETE", USERS ID "/grants", NULL);
	answer(0, 204, "");
	done(ctx, STEP_OUT_OK, "sessions, OAuth tokens and grants revoked");
	ctx_free(ctx);

	/* The user is gone: nothing left to revoke. */
	ctx = okta_new(STEP_REVOKE_TOKENS);
	step_ctx_set_account(ctx, ID);
	connector_okta.run(ctx);
	answer(0, 404, NOT_FOUND);
	done(ctx, STEP_OUT_OK, "user no longer exists");
	assert_true(noted(ctx, "user " ID " no longer exists at Okta"));
	ctx_free(ctx);

	ctx = okta_new(STEP_REVOKE_TOKENS);
	step_ctx_set_account(ctx, ID);
	connector_okta.run(ctx);
	answer(0, 204, "");
	answer_failed(0, 4, "timeout after 4 attempts");
	done(ctx, STEP_OUT_FAILED, "revoke_tokens: DELETE grants of " ID ": "
	    "timeout after 4 attempts");
	ctx_free(ctx);
}

static void
test_deactivate(void **state)
{
	struct step_ctx	*ctx = okta_new(STEP_DEACTIVATE);

	(void)state;
	step_ctx_set_account(ctx, ID);
	connector_okta.run(ctx);
	expect(0, "GET", USERS ID, NULL);
	answer(0, 200, USER("SUSPENDED"));
	expect(0, "POST", USERS ID "/lifecycle/deactivate?sendEmail=false",
	    NULL);
	answer(0, 200, "{}");
	done(ctx, STEP_OUT_OK, "deactivated");
	ctx_free(ctx);

	ctx = okta_new(STEP_DEACTIVATE);
	step_ctx_set_account(ctx, ID);
	connector_okta.run(ctx);
	answer(0, 200, USER("DEPROVISIONED"));
	done(ctx, STEP_OUT_OK, "already deactivated (DEPROVISIONED)");
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);

	ctx = okta_new(STEP_REASSIGN);
	connector_okta.run(ctx);
	done(ctx, STEP_OUT_SKIPPED, "Okta holds no owned records to reassign");
	assert_int_equal(ncalls_total, 0);
	ctx_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_second_way),
		cmocka_unit_test(test_lookup_no_account),
		cmocka_unit_test(test_lookup_error),
		cmocka_unit_test(test_freeze_known),
		cmocka_unit_test(test_revoke_tokens),
		cmocka_unit_test(test_deactivate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
