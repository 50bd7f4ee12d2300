/*
 * test_scim_steps: the SCIM 2.0 connector's steps (scim.c) driven through
 * the fake engine and target of connector_fixture.c: the account lookup
 * (the event's id verified by a GET, then the target's resolve_by filters
 * in their order), freeze and deactivate (read, then PATCH active false
 * with If-Match) and delete. revoke_tokens is not a SCIM operation. Each
 * test answers the queued calls as a SCIM service would and checks the
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
#include "scim-internal.h"

#define ID		"U0123ABCDEF"
#define USER(active)	"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:" \
	"2.0:User\"],\"id\":\"" ID "\",\"userName\":\"jane.doe@acme.example\"," \
	"\"externalId\":\"E12345\",\"emails\":[{\"value\":\"jane.doe@acme." \
	"example\",\"primary\":true}],\"active\":" active ",\"meta\":" \
	"{\"version\":\"W/\\\"3\\\"\"}}"
#define LIST(n, users)	"{\"schemas\":[\"urn:ietf:params:scim:api:messages:" \
	"2.0:ListResponse\"],\"totalResults\":" #n ",\"Resources\":[" users "]}"
#define ERROR(st, type, detail) "{\"schemas\":[\"urn:ietf:params:scim:api:" \
	"messages:2.0:Error\"],\"status\":\"" st "\"" type ",\"detail\":\"" \
	detail "\"}"
#define BY_USERNAME	"/Users?filter=userName%20eq%20%22jane.doe%40acme." \
	"example%22"
#define BY_EMAILS	"/Users?filter=emails.value%20eq%20%22jane.doe%40acme." \
	"example%22"
#define BY_EXTERNAL	"/Users?filter=externalId%20eq%20%22E12345%22"
#define PATCH_ACTIVE(b)	"{\"schemas\":[\"urn:ietf:params:scim:api:messages:" \
	"2.0:PatchOp\"],\"Operations\":[{\"op\":\"replace\",\"path\":\"active\"," \
	"\"value\":" b "}]}"

static struct step_ctx *
scim_new(enum step_kind kind, const char *options)
{
	return ctx_new(kind, "slack", "scim", options);
}

/* The event's id is stale; the filter on userName finds Jane. */
static void
test_lookup_second_way(void **state)
{
	struct step_ctx	*ctx = scim_new(STEP_FREEZE, NULL);

	(void)state;
	ctx->subject.accounts = json_tokener_parse("{\"slack\":\"UOLD\"}");
	connector_scim.run(ctx);
	expect(0, "GET", "/Users/UOLD", NULL);
	assert_string_equal(pending[0].header, "Accept: application/scim+json");
	answer(0, 404, ERROR("404", "", "Resource UOLD not found"));
	assert_true(noted(ctx, "account UOLD from the event not found (HTTP "
	    "404); looking the user up"));
	expect(0, "GET", BY_USERNAME, NULL);
	assert_string_equal(pending[0].header, "Accept: application/scim+json");
	answer(0, 200, LIST(1, USER("true")));
	assert_string_equal(ctx->account, ID);
	assert_true(noted(ctx, "account " ID " (found by userName)"));
	/* Just read: no second GET before the PATCH. */
	expect(0, "PATCH", "/Users/" ID, PATCH_ACTIVE("false"));
	assert_string_equal(pending[0].header, "If-Match: W/\"3\"");
	assert_string_equal(pending[0].ctype, "application/scim+json");
	answer(0, 200, USER("false"));
	done(ctx, STEP_OUT_OK, "frozen (active=false)");
	assert_int_equal(ncalls_total, 3);
	ctx_free(ctx);

	/* The event's id answers another user: only a hint, look up. */
	ctx = scim_new(STEP_FREEZE, NULL);
	ctx->subject.accounts = json_tokener_parse("{\"slack\":\"UOTHER\"}");
	connector_scim.run(ctx);
	answer(0, 200, USER("true"));
	assert_true(noted(ctx, "GET of account UOTHER from the event answered "
	    "user " ID "; looking the user up"));
	expect(0, "GET", BY_USERNAME, NULL);
	answer(0, 200, LIST(1, USER("false")));
	done(ctx, STEP_OUT_OK, "already inactive");
	ctx_free(ctx);
}

static void
test_lookup_no_account(void **state)
{
	struct step_ctx	*ctx = scim_new(STEP_DEACTIVATE, NULL);

	(void)state;
	/* userName, email (the same value: passed over), externalId. */
	connector_scim.run(ctx);
	expect(0, "GET", BY_USERNAME, NULL);
	answer(0, 200, LIST(0, ""));
	expect(0, "GET", BY_EXTERNAL, NULL);
	answer(0, 200, LIST(0, ""));
	done(ctx, STEP_OUT_NO_ACCOUNT, "no account");
	assert_false(ctx->has_account);
	assert_int_equal(ncalls_total, 2);
	ctx_free(ctx);

	/* Without a userName lookup before it, email is asked. */
	ctx = scim_new(STEP_DEACTIVATE, "{\"resolve_by\":[\"emails\","
	    "\"email\"]}");
	connector_scim.run(ctx);
	expect(0, "GET", BY_EMAILS, NULL);
	answer(0, 200, LIST(0, ""));
	expect(0, "GET", BY_USERNAME, NULL);
	answer(0, 200, LIST(0, ""));
	done(ctx, STEP_OUT_NO_ACCOUNT, "no account");
	ctx_free(ctx);

	/* An empty id from the event is not usable: noted, looked up. */
	ctx = scim_new(STEP_DEACTIVATE, "{\"resolve_by\":[\"externalId\"]}");
	ctx->subject.accounts = json_tokener_parse("{\"slack\":\"\"}");
	connector_scim.run(ctx);
	assert_true(noted(ctx, "account '' from the event is not a usable SCIM "
	    "id; looking the user up"));
	expect(0, "GET", BY_EXTERNAL, NULL);
	answer(0, 200, LIST(0, ""));
	done(ctx, STEP_OUT_NO_ACCOUNT, "no account");
	ctx_free(ctx);
}

/* A refused filter is passed over, and said when nothing was found. */
static void
test_lookup_refused(void **state)
{
	struct step_ctx	*ctx = scim_new(STEP_FREEZE, NULL);

	(void)state;
	connector_scim.run(ctx);
	answer(0, 400, ERROR("400", ",\"scimType\":\"invalidFilter\"",
	    "Filter not supported"));
	assert_true(noted(ctx, "the target refused the filter on userName "
	    "(invalidFilter: Filter not supported)"));
	expect(0, "GET", BY_EXTERNAL, NULL);
	answer(0, 200, LIST(0, ""));
	done(ctx, STEP_OUT_FAILED, "freeze: no account found, and the target "
	    "refused the filter on userName");
	ctx_free(ctx);

	ctx = scim_new(STEP_FREEZE, NULL);
	connector_scim.run(ctx);
	answer(0, 400, ERROR("400", ",\"scimType\":\"invalidFilter\"", ""));
	answer(0, 200, LIST(1, USER("true")));
	assert_true(noted(ctx, "(found by externalId)"));
	answer(0, 204, "");
	done(ctx, STEP_OUT_OK, "frozen (active=false)");
	ctx_free(ctx);
}

static void
test_lookup_errors(void **state)
{
	struct step_ctx	*ctx = scim_new(STEP_FREEZE, NULL);

	(void)state;
	connector_scim.run(ctx);
	answer(0, 200, LIST(2, USER("true") "," USER("true")));
	done(ctx, STEP_OUT_FAILED, "freeze: ambiguous: 2 users with userName "
	    "\"jane.doe@acme.example\"");
	assert_false(ctx->has_account);
	ctx_free(ctx);

	ctx = scim_new(STEP_FREEZE, NULL);
	connector_scim.run(ctx);
	answer(0, 500, ERROR("500", "", "internal error"));
	done(ctx, STEP_OUT_FAILED, "freeze: resolve: GET Users?filter=userName "
	    "eq \"jane.doe@acme.example\": HTTP 500: internal error");
	ctx_free(ctx);

	/* A filter the target ignores answers someone else. */
	ctx = scim_new(STEP_FREEZE, "{\"resolve_by\":[\"externalId\"]}");
	ctx->subject.employee_id = "E999";
	connector_scim.run(ctx);
	answer(0, 200, LIST(1, USER("true")));
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_non_null(strstr(ctx->detail, "does not have externalId "
	    "\"E999\" (is the filter ignored?)"));
	ctx_free(ctx);
}

static void
test_deactivate(void **state)
{
	struct step_ctx	*ctx = scim_new(STEP_DEACTIVATE, NULL);

	(void)state;
	step_ctx_set_account(ctx, ID);
	connector_scim.run(ctx);
	expect(0, "GET", "/Users/" ID, NULL);
	answer(0, 200, USER("true"));
	expect(0, "PATCH", "/Users/" ID, PATCH_ACTIVE("false"));
	/* Changed since read: read again, then PATCH once more. */
	answer(0, 412, ERROR("412", "", "version mismatch"));
	assert_true(noted(ctx, "changed since it was read (412)"));
	expect(0, "GET", "/Users/" ID, NULL);
	answer_header(0, 200, "ETag", "W/\"4\"", USER("true"));
	expect(0, "PATCH", "/Users/" ID, PATCH_ACTIVE("false"));
	answer(0, 204, "");
	done(ctx, STEP_OUT_OK, "deactivated (active=false)");
	assert_int_equal(ncalls_total, 4);
	ctx_free(ctx);

	/* Gone already: nothing left to take away. */
	ctx = scim_new(STEP_DEACTIVATE, NULL);
	step_ctx_set_account(ctx, ID);
	connector_scim.run(ctx);
	answer(0, 404, ERROR("404", "", "not found"));
	done(ctx, STEP_OUT_OK, "account no longer exists");
	ctx_free(ctx);
}

static void
test_delete_and_not_done(void **state)
{
	struct step_ctx	*ctx = scim_new(STEP_DELETE, NULL);

	(void)state;
	step_ctx_set_account(ctx, ID);
	connector_scim.run(ctx);
	expect(0, "DELETE", "/Users/" ID, NULL);
	answer(0, 204, "");
	done(ctx, STEP_OUT_OK, "deleted");
	ctx_free(ctx);

	ctx = scim_new(STEP_DELETE, NULL);
	step_ctx_set_account(ctx, ID);
	connector_scim.run(ctx);
	answer(0, 404, ERROR("404", "", "not found"));
	done(ctx, STEP_OUT_OK, "already deleted");
	ctx_free(ctx);

	ctx = scim_new(STEP_REVOKE_TOKENS, NULL);
	connector_scim.run(ctx);
	done(ctx, STEP_OUT_SKIPPED, "SCIM has no token revocation (RFC 7644 "
	    "defines no such operation)");
	assert_int_equal(ncalls_total, 0);
	ctx_free(ctx);

	ctx = scim_new(STEP_FREEZE, NULL);
	step_ctx_set_account(ctx, "bad\nid");
	connector_scim.run(ctx);
	done(ctx, STEP_OUT_FAILED, "freeze: account 'bad\nid' is not a usable "
	    "SCIM id");
	assert_int_equal(ncalls_total, 0);
	ctx_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_second_way),
		cmocka_unit_test(test_lookup_no_account),
		cmocka_unit_test(test_lookup_refused),
		cmocka_unit_test(test_lookup_errors),
		cmocka_unit_test(test_deactivate),
		cmocka_unit_test(test_delete_and_not_done),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
