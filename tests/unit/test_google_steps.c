/*
 * test_google_steps: the Google Workspace connector's steps (google.c)
 * driven through the fake engine and target of connector_fixture.c: the
 * account lookup (GET users/{userKey} by the event's id, the email, the
 * username), freeze, revoke_tokens (signOut, then each app's token) and
 * deactivate (which at Google is suspension). Each test answers the queued
 * calls as the Directory API would and checks the requests, the account
 * kept, the notes and the closing detail.
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
#include "google-internal.h"

#define ID		"100000000000000000001"
#define USERS		"/admin/directory/v1/users/"
#define USER(s)		"{\"kind\":\"admin#directory#user\",\"id\":\"" ID \
	"\",\"primaryEmail\":\"jane.doe@acme.example\",\"suspended\":" s "}"
#define NOT_FOUND	"{\"error\":{\"code\":404,\"message\":\"Resource Not " \
	"Found: userKey\",\"errors\":[{\"message\":\"Resource Not Found: " \
	"userKey\",\"domain\":\"global\",\"reason\":\"notFound\"}]}}"
#define DEACTIVATE_NOTE	"Google Workspace has no deactivation distinct from " \
	"suspension; the user stays suspended"

static struct step_ctx *
google_new(enum step_kind kind)
{
	return ctx_new(kind, "workspace", "google", NULL);
}

/* The email finds nobody; the username, another address, finds Jane. */
static void
test_lookup_second_way(void **state)
{
	struct step_ctx	*ctx = google_new(STEP_FREEZE);

	(void)state;
	ctx->subject.username = "jdoe@acme.example";
	connector_google.run(ctx);
	expect(0, "GET", USERS "jane.doe%40acme.example", NULL);
	answer(0, 404, NOT_FOUND);
	/* Only the event's id is worth a note when it is not found. */
	assert_string_equal(ctx->notes, "");
	expect(0, "GET", USERS "jdoe%40acme.example", NULL);
	answer(0, 200, USER("false"));
	assert_string_equal(ctx->account, ID);
	assert_true(noted(ctx, "account " ID " jane.doe@acme.example (found by "
	    "username)"));
	expect(0, "PUT", USERS ID, "{\"suspended\":true}");
	answer(0, 200, USER("true"));
	done(ctx, STEP_OUT_OK, "suspended");
	ctx_free(ctx);

	/* The event's id first; seen suspended: nothing more to do. */
	ctx = google_new(STEP_FREEZE);
	ctx->subject.accounts = json_tokener_parse("{\"workspace\":\"999\"}");
	connector_google.run(ctx);
	expect(0, "GET", USERS "999", NULL);
	answer(0, 404, NOT_FOUND);
	assert_true(noted(ctx, "account 999 from the event not found; looking "
	    "the user up"));
	expect(0, "GET", USERS "jane.doe%40acme.example", NULL);
	answer(0, 200, USER("true"));
	assert_true(noted(ctx, "(found by email)"));
	done(ctx, STEP_OUT_OK, "already suspended");
	assert_int_equal(ncalls_total, 2);
	ctx_free(ctx);
}

static void
test_lookup_no_account(void **state)
{
	struct step_ctx	*ctx = google_new(STEP_REVOKE_TOKENS);

	(void)state;
	/* The username is the email: asked once. */
	connector_google.run(ctx);
	expect(0, "GET", USERS "jane.doe%40acme.example", NULL);
	answer(0, 404, NOT_FOUND);
	done(ctx, STEP_OUT_NO_ACCOUNT, "no account");
	assert_false(ctx->has_account);
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);

	/* A 400 is "not a usable key at Google" for the subject's values. */
	ctx = google_new(STEP_FREEZE);
	ctx->subject.username = "jdoe@acme.example";
	connector_google.run(ctx);
	answer(0, 400, "{\"error\":{\"code\":400,\"message\":\"Invalid Input\"}}");
	answer(0, 404, NOT_FOUND);
	done(ctx, STEP_OUT_NO_ACCOUNT, "no account");
	assert_int_equal(ncalls_total, 2);
	ctx_free(ctx);

	/* A username that is no address is no userKey. */
	ctx = google_new(STEP_FREEZE);
	ctx->subject.email = NULL;
	ctx->subject.username = "jdoe";
	connector_google.run(ctx);
	done(ctx, STEP_OUT_NO_ACCOUNT, "no account");
	assert_int_equal(ncalls_total, 0);
	ctx_free(ctx);
}

static void
test_lookup_error(void **state)
{
	struct step_ctx	*ctx = google_new(STEP_FREEZE);

	(void)state;
	connector_google.run(ctx);
	answer(0, 403, "{\"error\":{\"code\":403,\"message\":\"Not Authorized to "
	    "access this resource/api\",\"errors\":[{\"message\":\"Not "
	    "Authorized to access this resource/api\",\"domain\":\"global\","
	    "\"reason\":\"forbidden\"}]}}");
	done(ctx, STEP_OUT_FAILED, "freeze: resolve: GET user "
	    "jane.doe@acme.example: HTTP 403 forbidden: Not Authorized to "
	    "access this resource/api");
	assert_false(ctx->has_account);
	ctx_free(ctx);

	/* A 400 on the event's own id is an error, not a miss. */
	ctx = google_new(STEP_FREEZE);
	ctx->subject.accounts = json_tokener_parse("{\"workspace\":\"999\"}");
	connector_google.run(ctx);
	answer(0, 400, "{\"error\":{\"code\":400,\"message\":\"Invalid Input\"}}");
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_non_null(strstr(ctx->detail, "freeze: resolve: GET user 999: "
	    "HTTP 400"));
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);

	ctx = google_new(STEP_FREEZE);
	connector_google.run(ctx);
	answer_failed(0, 3, "timeout after 3 attempts");
	done(ctx, STEP_OUT_FAILED, "freeze: resolve: GET user "
	    "jane.doe@acme.example: timeout after 3 attempts");
	ctx_free(ctx);
}

static void
test_freeze_known(void **state)
{
	struct step_ctx	*ctx = google_new(STEP_FREEZE);

	(void)state;
	step_ctx_set_account(ctx, ID);
	connector_google.run(ctx);
	expect(0, "PUT", USERS ID, "{\"suspended\":true}");
	assert_string_equal(pending[0].ctype, "application/json");
	answer(0, 404, NOT_FOUND);
	done(ctx, STEP_OUT_NO_ACCOUNT, "no account: " ID " no longer exists in "
	    "Google Workspace");
	ctx_free(ctx);
}

static void
test_revoke_tokens(void **state)
{
	struct step_ctx	*ctx = google_new(STEP_REVOKE_TOKENS);

	(void)state;
	step_ctx_set_account(ctx, ID);
	connector_google.run(ctx);
	expect(0, "POST", USERS ID "/signOut", NULL);
	answer(0, 204, "");
	assert_true(noted(ctx, "signed out of all web and device sessions"));
	expect(0, "GET", USERS ID "/tokens", NULL);
	answer(0, 200, "{\"kind\":\"admin#directory#tokenList\",\"items\":["
	    "{\"clientId\":\"app-1.apps.example\",\"displayText\":\"One\"},"
	    "{\"clientId\":\"app 2\",\"displayText\":\"Two\"}]}");
	/* One DELETE at a time, client ids encoded. */
	assert_int_equal(npending, 1);
	expect(0, "DELETE", USERS ID "/tokens/app-1.apps.example", NULL);
	answer(0, 204, "");
	expect(0, "DELETE", USERS ID "/tokens/app%202", NULL);
	answer(0, 404, NOT_FOUND);
	done(ctx, STEP_OUT_OK, "signed out; deleted 1 app token grant (1 "
	    "already gone)");
	ctx_free(ctx);

	/* No tokens: Google leaves "items" out. */
	ctx = google_new(STEP_REVOKE_TOKENS);
	step_ctx_set_account(ctx, ID);
	connector_google.run(ctx);
	answer(0, 204, "");
	answer(0, 200, "{\"kind\":\"admin#directory#tokenList\"}");
	done(ctx, STEP_OUT_OK, "signed out; deleted 0 app token grants (0 "
	    "already gone)");
	ctx_free(ctx);

	/* A failed DELETE fails the step. */
	ctx = google_new(STEP_REVOKE_TOKENS);
	step_ctx_set_account(ctx, ID);
	connector_google.run(ctx);
	answer(0, 204, "");
	answer(0, 200, "{\"items\":[{\"clientId\":\"c1\"}]}");
	answer_failed(0, 3, "timeout after 3 attempts");
	done(ctx, STEP_OUT_FAILED, "revoke_tokens: DELETE token of client c1: "
	    "timeout after 3 attempts");
	ctx_free(ctx);
}

static void
test_deactivate(void **state)
{
	struct step_ctx	*ctx = google_new(STEP_DEACTIVATE);

	(void)state;
	step_ctx_set_account(ctx, ID);
	connector_google.run(ctx);
	expect(0, "GET", USERS ID, NULL);
	answer(0, 200, USER("false"));
	expect(0, "PUT", USERS ID, "{\"suspended\":true}");
	answer(0, 200, USER("true"));
	done(ctx, STEP_OUT_OK, "suspended now; " DEACTIVATE_NOTE);
	ctx_free(ctx);

	ctx = google_new(STEP_DEACTIVATE);
	step_ctx_set_account(ctx, ID);
	connector_google.run(ctx);
	answer(0, 200, USER("true"));
	done(ctx, STEP_OUT_OK, DEACTIVATE_NOTE);
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);

	/* Found by the lookup: its state is fresh, no second read. */
	ctx = google_new(STEP_DEACTIVATE);
	connector_google.run(ctx);
	answer(0, 200, USER("true"));
	done(ctx, STEP_OUT_OK, DEACTIVATE_NOTE);
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);
}

/* Bad options fail the step before any call; delete is not done. */
static void
test_refused(void **state)
{
	struct step_ctx	*ctx;

	(void)state;
	ctx = ctx_new(STEP_FREEZE, "workspace", "google",
	    "{\"transfer_poll_ms\":\"soon\"}");
	connector_google.run(ctx);
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_non_null(strstr(ctx->detail, "freeze: target workspace: "));
	assert_int_equal(ncalls_total, 0);
	ctx_free(ctx);

	ctx = google_new(STEP_DELETE);
	connector_google.run(ctx);
	done(ctx, STEP_OUT_SKIPPED, "not supported by the google connector");
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
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
