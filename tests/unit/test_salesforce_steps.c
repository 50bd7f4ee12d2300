/*
 * test_salesforce_steps: the Salesforce connector's step state machines
 * (salesforce.c) driven through the fake engine and target of
 * connector_fixture.c, which queue every target_call; each test answers
 * the queued calls one by one as Salesforce would and checks the next
 * request, the account the step remembered, its notes, and that
 * step_ctx_done comes exactly once, with no call of the step still in
 * flight.
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
#include "salesforce-internal.h"

/* A step at the Salesforce target "salesforce-prod" (API v60.0). */
static struct step_ctx *
sf_new(enum step_kind kind)
{
	struct step_ctx	*ctx = ctx_new(kind, "salesforce-prod", "salesforce",
			    NULL);

	the_target.cfg.api_version = "v60.0";
	return ctx;
}

/* Decode %XX in s (in place). */
static void
urldecode(char *s)
{
	char	*o = s;
	unsigned int v;

	for (; *s != '\0'; s++) {
		if (*s == '%' && sscanf(s + 1, "%2x", &v) == 1) {
			*o++ = (char)v;
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
}

/* The SOQL of pending call i (which must be a query). */
static const char *
soql(size_t i)
{
	static char	 q[4096];
	const char	*p;

	assert_true(i < npending);
	assert_string_equal(pending[i].method, "GET");
	p = strstr(pending[i].path, "/query?q=");
	assert_non_null(p);
	assert_memory_equal(pending[i].path, "/services/data/v60.0/query?q=",
	    strlen("/services/data/v60.0/query?q="));
	snprintf(q, sizeof q, "%s", p + strlen("/query?q="));
	urldecode(q);
	return q;
}

/* A done query page of users/rows given as JSON record text. */
static char *
page(const char *records_json, int n)
{
	char	*s;

	assert_true(asprintf(&s, "{\"totalSize\":%d,\"done\":true,"
	    "\"records\":[%s]}", n, records_json) > 0);
	return s;
}

static void
answer_page(size_t i, const char *records_json, int n)
{
	char	*s = page(records_json, n);

	answer(i, 200, s);
	free(s);
}

#define JANE	"005000000000001AAA"
#define BOSS	"005000000000002AAA"
#define ADMIN	"005000000000003AAA"
#define LOGIN	"060000000000001AAA"
#define USER_REC(id, active) "{\"attributes\":{\"type\":\"User\"},\"Id\":\"" id \
	"\",\"IsActive\":" active "}"

/* --- resolve ------------------------------------------------------------ */

static void
test_freeze_resolve_by_username(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_FREEZE);

	(void)state;
	connector_salesforce.run(ctx);
	assert_int_equal(npending, 1);
	assert_string_equal(soql(0), "SELECT Id,IsActive FROM User WHERE "
	    "Username='jane.doe@acme.example'");
	answer_page(0, USER_REC(JANE, "true"), 1);
	assert_string_equal(ctx->account, JANE);
	assert_non_null(strstr(ctx->notes, "found by Username"));
	assert_string_equal(soql(0), "SELECT Id,IsFrozen FROM UserLogin WHERE "
	    "UserId='" JANE "'");
	answer_page(0, "{\"Id\":\"" LOGIN "\",\"IsFrozen\":false}", 1);
	assert_string_equal(pending[0].method, "PATCH");
	assert_string_equal(pending[0].path,
	    "/services/data/v60.0/sobjects/UserLogin/" LOGIN);
	assert_string_equal(pending[0].body, "{\"IsFrozen\":true}");
	assert_string_equal(pending[0].ctype, "application/json");
	answer(0, 204, "");
	assert_int_equal(ctx->outcome, STEP_OUT_OK);
	assert_string_equal(ctx->detail, "frozen");
	ctx_free(ctx);
}

static void
test_resolve_event_id_then_chain(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_FREEZE);

	(void)state;
	ctx->subject.accounts = json_tokener_parse(
	    "{\"salesforce-prod\":\"005000000000099AAA\",\"okta\":\"00u1\"}");
	connector_salesforce.run(ctx);
	assert_string_equal(soql(0), "SELECT Id,IsActive FROM User WHERE "
	    "Id='005000000000099AAA'");
	answer_page(0, "", 0);
	assert_non_null(strstr(ctx->notes, "005000000000099AAA from the event "
	    "not found"));
	assert_non_null(strstr(soql(0), "WHERE Username="));
	answer_page(0, "", 0);
	assert_string_equal(soql(0), "SELECT Id,IsActive,Username FROM User "
	    "WHERE Email='jane.doe@acme.example'");
	answer_page(0, "", 0);
	assert_string_equal(soql(0), "SELECT Id,IsActive FROM User WHERE "
	    "FederationIdentifier='E12345'");
	answer_page(0, "", 0);
	assert_int_equal(ctx->outcome, STEP_OUT_NO_ACCOUNT);
	assert_string_equal(ctx->detail, "no account");
	assert_false(ctx->has_account);
	ctx_free(ctx);
}

static void
test_resolve_event_id_found(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_DEACTIVATE);

	(void)state;
	ctx->subject.accounts = json_tokener_parse(
	    "{\"salesforce-prod\":\"" JANE "\"}");
	connector_salesforce.run(ctx);
	answer_page(0, USER_REC(JANE, "false"), 1);
	assert_string_equal(ctx->account, JANE);
	/* Already inactive: no PATCH. */
	assert_int_equal(ctx->outcome, STEP_OUT_OK);
	assert_string_equal(ctx->detail, "already inactive");
	assert_int_equal(ncalls_total, 1);
	ctx_free(ctx);
}

static void
test_resolve_email_ambiguous(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_REVOKE_TOKENS);

	(void)state;
	ctx->subject.username = NULL;
	connector_salesforce.run(ctx);
	assert_non_null(strstr(soql(0), "WHERE Email='jane.doe@acme.example'"));
	answer_page(0, "{\"Id\":\"" JANE "\",\"IsActive\":true,\"Username\":"
	    "\"jane@a\"},{\"Id\":\"" BOSS "\",\"IsActive\":true,\"Username\":"
	    "\"jane@b\"}", 2);
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_string_equal(ctx->detail, "revoke_tokens: ambiguous: 2 users with "
	    "email jane.doe@acme.example");
	ctx_free(ctx);
}

static void
test_resolve_email_username_decides(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_UNFREEZE);

	(void)state;
	connector_salesforce.run(ctx);
	answer_page(0, "", 0);
	answer_page(0, "{\"Id\":\"" BOSS "\",\"IsActive\":true,\"Username\":"
	    "\"jane@sandbox\"},{\"Id\":\"" JANE "\",\"IsActive\":true,"
	    "\"Username\":\"Jane.Doe@acme.example\"}", 2);
	assert_string_equal(ctx->account, JANE);
	answer_page(0, "{\"Id\":\"" LOGIN "\",\"IsFrozen\":false}", 1);
	assert_int_equal(ctx->outcome, STEP_OUT_OK);
	assert_string_equal(ctx->detail, "not frozen");
	ctx_free(ctx);
}

static void
test_resolve_injection_escaped(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_FREEZE);

	(void)state;
	ctx->subject.username = "x' OR Name!='";
	connector_salesforce.run(ctx);
	assert_string_equal(soql(0), "SELECT Id,IsActive FROM User WHERE "
	    "Username='x\\' OR Name!=\\''");
	answer_page(0, "", 0);
	answer_page(0, "", 0);
	answer_page(0, "", 0);
	assert_int_equal(ctx->outcome, STEP_OUT_NO_ACCOUNT);
	ctx_free(ctx);

	/* A newline cannot be put in a literal: the step fails, no call. */
	ctx = sf_new(STEP_FREEZE);
	ctx->subject.username = "jane\nx";
	connector_salesforce.run(ctx);
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_non_null(strstr(ctx->detail, "control character"));
	assert_int_equal(ncalls_total, 0);
	ctx_free(ctx);
}

/* --- freeze -------------------------------------------------------------- */

static void
test_freeze_known_account_already_frozen(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_FREEZE);

	(void)state;
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	assert_non_null(strstr(soql(0), "FROM UserLogin WHERE UserId='" JANE "'"));
	answer_page(0, "{\"Id\":\"" LOGIN "\",\"IsFrozen\":true}", 1);
	assert_int_equal(ctx->outcome, STEP_OUT_OK);
	assert_string_equal(ctx->detail, "already frozen");
	ctx_free(ctx);
}

static void
test_freeze_errors(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_FREEZE);

	(void)state;
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	answer_page(0, "", 0);
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_string_equal(ctx->detail, "freeze: no UserLogin row for user " JANE);
	ctx_free(ctx);

	ctx = sf_new(STEP_FREEZE);
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	answer_page(0, "{\"Id\":\"" LOGIN "\",\"IsFrozen\":false}", 1);
	answer(0, 404, "[{\"message\":\"The requested resource does not exist\","
	    "\"errorCode\":\"NOT_FOUND\"}]");
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_string_equal(ctx->detail, "freeze: PATCH UserLogin: HTTP 404 "
	    "NOT_FOUND: The requested resource does not exist");
	ctx_free(ctx);

	ctx = sf_new(STEP_FREEZE);
	connector_salesforce.run(ctx);
	answer(0, 400, "[{\"message\":\"bad\",\"errorCode\":\"MALFORMED_QUERY\"}]");
	assert_string_equal(ctx->detail, "freeze: resolve: query User by "
	    "Username: HTTP 400 MALFORMED_QUERY: bad");
	ctx_free(ctx);

	ctx = sf_new(STEP_FREEZE);
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	answer(0, 200, "<html>proxy</html>");
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_non_null(strstr(ctx->detail, "freeze: query UserLogin: "
	    "unexpected answer"));
	ctx_free(ctx);

	ctx = sf_new(STEP_FREEZE);
	step_ctx_set_account(ctx, "../../x");
	connector_salesforce.run(ctx);
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_int_equal(ncalls_total, 0);
	ctx_free(ctx);
}

/* --- revoke_tokens ------------------------------------------------------ */

static void
token_rows(char *buf, size_t len, int from, int n)
{
	size_t	off = 0;
	int	i;

	buf[0] = '\0';
	for (i = from; i < from + n; i++)
		off += (size_t)snprintf(buf + off, len - off,
		    "%s{\"Id\":\"0CQ0000000000%02dAAA\",\"AppName\":\"App %d\","
		    "\"DeleteToken\":\"SECRET+%02d/=\"}", i > from ? "," : "",
		    i, i, i);
}

static void
test_revoke_pages_parallel(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_REVOKE_TOKENS);
	char		 rows[4096], body[8192];
	int		 i;

	(void)state;
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	assert_string_equal(soql(0), "SELECT Id,AppName,DeleteToken FROM "
	    "OauthToken WHERE UserId='" JANE "'");
	token_rows(rows, sizeof rows, 1, 4);
	snprintf(body, sizeof body, "{\"totalSize\":7,\"done\":false,"
	    "\"nextRecordsUrl\":\"/services/data/v60.0/query/01gX-4\","
	    "\"records\":[%s]}", rows);
	answer(0, 200, body);
	assert_string_equal(pending[0].method, "GET");
	assert_string_equal(pending[0].path, "/services/data/v60.0/query/01gX-4");
	token_rows(rows, sizeof rows, 5, 3);
	snprintf(body, sizeof body, "{\"totalSize\":7,\"done\":true,"
	    "\"records\":[%s]}", rows);
	answer(0, 200, body);

	/* Four revokes out at once, no more. */
	assert_int_equal(npending, 4);
	for (i = 0; i < 4; i++) {
		assert_string_equal(pending[i].method, "POST");
		assert_string_equal(pending[i].path, "/services/oauth2/revoke");
		assert_string_equal(pending[i].ctype,
		    "application/x-www-form-urlencoded");
	}
	assert_string_equal(pending[0].body, "token=SECRET%2B01%2F%3D");
	answer(0, 200, "");
	assert_int_equal(npending, 4);
	answer(1, 400, "{\"error\":\"invalid_token\",\"error_description\":"
	    "\"invalid token\"}");
	answer(0, 200, "");
	answer(0, 200, "");
	answer(0, 200, "");
	answer(0, 200, "");
	assert_int_equal(npending, 1);
	assert_int_equal(ctx->ndone, 0);
	answer(0, 200, "");
	assert_int_equal(max_pending, 4);
	assert_int_equal(ncalls_total, 2 + 7);
	assert_int_equal(ctx->outcome, STEP_OUT_OK);
	assert_string_equal(ctx->detail, "revoked 6 tokens (1 already gone)");
	assert_null(strstr(ctx->notes, "SECRET"));
	ctx_free(ctx);
}

static void
test_revoke_none_and_failures(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_REVOKE_TOKENS);
	char		 rows[4096];

	(void)state;
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	answer_page(0, "", 0);
	assert_int_equal(ctx->outcome, STEP_OUT_OK);
	assert_string_equal(ctx->detail, "no tokens");
	ctx_free(ctx);

	/* A per-token 400 does not stop the others; the step fails at the end. */
	ctx = sf_new(STEP_REVOKE_TOKENS);
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	token_rows(rows, sizeof rows, 1, 5);
	answer_page(0, rows, 5);
	answer(2, 400, "{\"error\":\"unsupported_token_type\","
	    "\"error_description\":\"SECRET+03/= is odd\"}");
	while (npending > 0)
		answer(0, 200, "");
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_string_equal(ctx->detail, "revoke_tokens: 1 of 5 tokens not "
	    "revoked: POST revoke (OauthToken 0CQ000000000003AAA, app App 3): "
	    "HTTP 400 unsupported_token_type:  is odd; revoked 4 (0 already "
	    "gone)");
	assert_null(strstr(ctx->detail, "SECRET"));
	ctx_free(ctx);

	/* A 503 after retries stops sending; in-flight ones are awaited. */
	ctx = sf_new(STEP_REVOKE_TOKENS);
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	token_rows(rows, sizeof rows, 1, 8);
	answer_page(0, rows, 8);
	answer(0, 503, "");
	assert_int_equal(npending, 3);
	answer(0, 200, "");
	answer(0, 200, "");
	assert_int_equal(ctx->ndone, 0);
	answer(0, 200, "");
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_string_equal(ctx->detail, "revoke_tokens: 5 of 8 tokens not "
	    "revoked (sending stopped): POST revoke (OauthToken "
	    "0CQ000000000001AAA, app App 1): HTTP 503; revoked 3 (0 already "
	    "gone)");
	assert_int_equal(ncalls_total, 1 + 4);
	ctx_free(ctx);
}

/* --- reassign ----------------------------------------------------------- */

static char *objects3[] = { "Account", "Case", "Opportunity" };

static void
ids_page(char **out, const char *prefix, int from, int n, const char *next)
{
	size_t	cap = (size_t)n * 64 + 256, off;
	char	*s = malloc(cap);
	int	i;

	assert_non_null(s);
	off = (size_t)snprintf(s, cap, "{\"totalSize\":%d,\"done\":%s,%s%s%s"
	    "\"records\":[", n, next ? "false" : "true",
	    next ? "\"nextRecordsUrl\":\"" : "", next ? next : "",
	    next ? "\"," : "");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off,
		    "%s{\"attributes\":{\"type\":\"X\"},\"Id\":\"%s%012dAAA\"}",
		    i ? "," : "", prefix, from + i);
	snprintf(s + off, cap - off, "]}");
	*out = s;
}

/* Answer a pending composite call: every record ok except ids in fail. */
static size_t
answer_composite(size_t i, const char *type, const char *fail_id,
    const char *fail_status)
{
	json_object	*req, *recs, *r, *attr, *v;
	size_t		 n, k, off = 0, cap;
	char		*out;
	const char	*id;

	assert_string_equal(pending[i].method, "PATCH");
	assert_string_equal(pending[i].path,
	    "/services/data/v60.0/composite/sobjects");
	req = json_tokener_parse(pending[i].body);
	assert_non_null(req);
	assert_true(json_object_object_get_ex(req, "allOrNone", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(req, "records", &recs));
	n = json_object_array_length(recs);
	assert_true(n >= 1 && n <= 200);
	cap = n * 200 + 16;
	out = malloc(cap);
	assert_non_null(out);
	off += (size_t)snprintf(out, cap, "[");
	for (k = 0; k < n; k++) {
		r = json_object_array_get_idx(recs, k);
		assert_true(json_object_object_get_ex(r, "attributes", &attr));
		assert_true(json_object_object_get_ex(attr, "type", &v));
		assert_string_equal(json_object_get_string(v), type);
		assert_true(json_object_object_get_ex(r, "OwnerId", &v));
		assert_string_equal(json_object_get_string(v), BOSS);
		assert_true(json_object_object_get_ex(r, "id", &v));
		id = json_object_get_string(v);
		if (fail_id != NULL && strcmp(id, fail_id) == 0)
			off += (size_t)snprintf(out + off, cap - off,
			    "%s{\"success\":false,\"errors\":[{\"statusCode\":"
			    "\"%s\",\"message\":\"m\",\"fields\":[]}]}",
			    k ? "," : "", fail_status);
		else
			off += (size_t)snprintf(out + off, cap - off,
			    "%s{\"id\":\"%s\",\"success\":true,\"errors\":[]}",
			    k ? "," : "", id);
	}
	snprintf(out + off, cap - off, "]");
	json_object_put(req);
	answer(i, 200, out);
	free(out);
	return n;
}

static void
test_reassign_manager_pages_batches(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_REASSIGN);
	char		*p;

	(void)state;
	ctx->step.objects = objects3;
	ctx->step.nobjects = 3;
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	assert_string_equal(soql(0), "SELECT Id,IsActive,Username FROM User "
	    "WHERE Email='boss@acme.example' AND IsActive=true");
	answer_page(0, "{\"Id\":\"" BOSS "\",\"IsActive\":true,\"Username\":"
	    "\"boss@acme.example\"}", 1);
	assert_non_null(strstr(ctx->notes, "new owner " BOSS
	    " (manager boss@acme.example)"));

	/* Account: a page of 250 (batches 200 + 50), then a page of 3. */
	assert_string_equal(soql(0), "SELECT Id FROM Account WHERE OwnerId='"
	    JANE "'");
	ids_page(&p, "001", 1, 250, "/services/data/v60.0/query/01gA-250");
	answer(0, 200, p);
	free(p);
	assert_int_equal(answer_composite(0, "Account", NULL, NULL), 200);
	assert_int_equal(answer_composite(0, "Account", "001000000000220AAA",
	    "UNABLE_TO_LOCK_ROW"), 50);
	assert_string_equal(pending[0].path, "/services/data/v60.0/query/01gA-250");
	ids_page(&p, "001", 251, 3, NULL);
	answer(0, 200, p);
	free(p);
	assert_int_equal(answer_composite(0, "Account", NULL, NULL), 3);

	/* Case: none. */
	assert_string_equal(soql(0), "SELECT Id FROM Case WHERE OwnerId='"
	    JANE "'");
	answer_page(0, "", 0);

	/* Opportunity: 2, one failing. */
	ids_page(&p, "006", 1, 2, NULL);
	answer(0, 200, p);
	free(p);
	answer_composite(0, "Opportunity", "006000000000002AAA",
	    "INACTIVE_OWNER_OR_USER");
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_string_equal(ctx->detail, "reassign: 2 of 255 records failed "
	    "(Account 1, Opportunity 1): 001000000000220AAA UNABLE_TO_LOCK_ROW, "
	    "006000000000002AAA INACTIVE_OWNER_OR_USER; reassigned 253 records "
	    "(Account 252, Case 0, Opportunity 1) to " BOSS);
	ctx_free(ctx);
}

static void
test_reassign_ok_and_owner_fallbacks(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_REASSIGN);
	char		*p;

	(void)state;
	ctx->step.objects = objects3;
	ctx->step.nobjects = 1;
	ctx->step.fallback_owner = "records-admin@acme.example";
	ctx->subject.manager_email = NULL;
	connector_salesforce.run(ctx);
	answer_page(0, USER_REC(JANE, "true"), 1);	/* resolve */
	assert_string_equal(soql(0), "SELECT Id,IsActive,Username FROM User "
	    "WHERE Username='records-admin@acme.example'");
	answer_page(0, "", 0);
	assert_string_equal(soql(0), "SELECT Id,IsActive,Username FROM User "
	    "WHERE Email='records-admin@acme.example' AND IsActive=true");
	answer_page(0, "{\"Id\":\"" BOSS "\",\"IsActive\":true}", 1);
	assert_non_null(strstr(ctx->notes, "fallback owner "
	    "records-admin@acme.example"));
	ids_page(&p, "001", 1, 3, NULL);
	answer(0, 200, p);
	free(p);
	answer_composite(0, "Account", NULL, NULL);
	assert_int_equal(ctx->outcome, STEP_OUT_OK);
	assert_string_equal(ctx->detail, "reassigned 3 records (Account 3) to "
	    BOSS);
	ctx_free(ctx);

	/* Manager unknown, no fallback owner. */
	ctx = sf_new(STEP_REASSIGN);
	ctx->step.objects = objects3;
	ctx->step.nobjects = 3;
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	answer_page(0, "", 0);
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_string_equal(ctx->detail, "reassign: no manager and no fallback "
	    "owner (no active user with manager email boss@acme.example; no "
	    "fallback_owner configured)");
	ctx_free(ctx);

	/* Fallback owner inactive. */
	ctx = sf_new(STEP_REASSIGN);
	ctx->step.objects = objects3;
	ctx->step.nobjects = 3;
	ctx->step.fallback_owner = "records-admin@acme.example";
	ctx->subject.manager_email = "";
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	answer_page(0, "{\"Id\":\"" ADMIN "\",\"IsActive\":false}", 1);
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_string_equal(ctx->detail, "reassign: fallback owner "
	    "records-admin@acme.example is inactive");
	ctx_free(ctx);
}

static void
test_reassign_bad_options(void **state)
{
	static char	*bad[] = { "Account", "Case WHERE Id!=''" };
	struct step_ctx	*ctx = sf_new(STEP_REASSIGN);

	(void)state;
	ctx->step.objects = bad;
	ctx->step.nobjects = 2;
	connector_salesforce.run(ctx);
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_non_null(strstr(ctx->detail, "invalid object name"));
	assert_int_equal(ncalls_total, 0);
	ctx_free(ctx);

	ctx = sf_new(STEP_REASSIGN);
	connector_salesforce.run(ctx);
	assert_int_equal(ctx->outcome, STEP_OUT_SKIPPED);
	ctx_free(ctx);

	/* No account at the target: skipped before any owner lookup. */
	ctx = sf_new(STEP_REASSIGN);
	ctx->step.objects = objects3;
	ctx->step.nobjects = 3;
	ctx->subject.username = NULL;
	ctx->subject.email = NULL;
	ctx->subject.employee_id = NULL;
	connector_salesforce.run(ctx);
	assert_int_equal(ctx->outcome, STEP_OUT_NO_ACCOUNT);
	assert_string_equal(ctx->detail, "no account");
	ctx_free(ctx);
}

/* --- deactivate ---------------------------------------------------------- */

static void
test_deactivate(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_DEACTIVATE);

	(void)state;
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	assert_string_equal(pending[0].method, "PATCH");
	assert_string_equal(pending[0].path,
	    "/services/data/v60.0/sobjects/User/" JANE);
	assert_string_equal(pending[0].body, "{\"IsActive\":false}");
	answer(0, 204, "");
	assert_int_equal(ctx->outcome, STEP_OUT_OK);
	assert_string_equal(ctx->detail, "deactivated");
	ctx_free(ctx);
}

/* Salesforce refuses: the step fails at once with its words and what to change. */
static void
test_deactivate_refused(void **state)
{
	static const struct {
		const char	*body;
		const char	*detail;
	} cases[] = {
		{ "[{\"message\":\"You cannot deactivate the Default Workflow "
		    "User\",\"errorCode\":\"FIELD_INTEGRITY_EXCEPTION\","
		    "\"fields\":[\"IsActive\"]}]",
		  "deactivate: PATCH User: HTTP 400 FIELD_INTEGRITY_EXCEPTION: "
		    "You cannot deactivate the Default Workflow User; Salesforce "
		    "refused to deactivate the user (it stays active; a freeze "
		    "stays in place): change the Default Workflow User in Setup "
		    "> Process Automation Settings, then deprovctl retry 42" },
		{ "[{\"message\":\"operation performed with inactive user ["
		    JANE "] as owner of a portal account\",\"errorCode\":"
		    "\"INACTIVE_OWNER_OR_USER\",\"fields\":[]}]",
		  "deactivate: PATCH User: HTTP 400 INACTIVE_OWNER_OR_USER: "
		    "operation performed with inactive user [" JANE "] as owner "
		    "of a portal account; Salesforce refused to deactivate the "
		    "user (it stays active; a freeze stays in place): the user "
		    "still owns records or "
		    "settings that need an active user (such as portal "
		    "accounts): move them to an active user, then deprovctl "
		    "retry 42" },
		{ "[{\"message\":\"Users who still own open opportunities "
		    "cannot be deactivated\",\"errorCode\":"
		    "\"FIELD_CUSTOM_VALIDATION_EXCEPTION\",\"fields\":[]}]",
		  "deactivate: PATCH User: HTTP 400 "
		    "FIELD_CUSTOM_VALIDATION_EXCEPTION: Users who still own open "
		    "opportunities cannot be deactivated; Salesforce refused to "
		    "deactivate the user (it stays active; a freeze stays in "
		    "place): a validation rule on "
		    "User refused it: change the rule (Setup > Object Manager > "
		    "User > Validation Rules) or what it checks, then deprovctl "
		    "retry 42" },
		/* Not a refusal about the user: no hint. */
		{ "[{\"message\":\"Session expired or invalid\",\"errorCode\":"
		    "\"INVALID_SESSION_ID\"}]",
		  "deactivate: PATCH User: HTTP 400 INVALID_SESSION_ID: Session "
		    "expired or invalid" },
	};
	struct step_ctx	*ctx;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ctx = sf_new(STEP_DEACTIVATE);
		step_ctx_set_account(ctx, JANE);
		connector_salesforce.run(ctx);
		assert_string_equal(pending[0].body, "{\"IsActive\":false}");
		answer(0, 400, cases[i].body);
		assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
		assert_string_equal(ctx->detail, cases[i].detail);
		assert_int_equal(ncalls_total, 1);
		ctx_free(ctx);
	}
}

/* --- reactivate ---------------------------------------------------------- */

static void
test_reactivate_inactive_and_frozen(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_REACTIVATE);

	(void)state;
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	/* The state first. */
	assert_string_equal(soql(0), "SELECT Id,IsActive FROM User WHERE "
	    "Id='" JANE "'");
	answer_page(0, USER_REC(JANE, "false"), 1);
	/* The licence before the unfreeze. */
	assert_string_equal(pending[0].method, "PATCH");
	assert_string_equal(pending[0].path,
	    "/services/data/v60.0/sobjects/User/" JANE);
	assert_string_equal(pending[0].body, "{\"IsActive\":true}");
	assert_string_equal(pending[0].ctype, "application/json");
	answer(0, 204, "");
	assert_string_equal(soql(0), "SELECT Id,IsFrozen FROM UserLogin WHERE "
	    "UserId='" JANE "'");
	answer_page(0, "{\"Id\":\"" LOGIN "\",\"IsFrozen\":true}", 1);
	assert_string_equal(pending[0].path,
	    "/services/data/v60.0/sobjects/UserLogin/" LOGIN);
	assert_string_equal(pending[0].body, "{\"IsFrozen\":false}");
	answer(0, 204, "");
	assert_int_equal(ctx->outcome, STEP_OUT_OK);
	assert_string_equal(ctx->detail, "reactivated (IsActive=true); unfrozen "
	    "(IsFrozen=false)");
	assert_non_null(strstr(ctx->notes, "reactivated (IsActive=true)"));
	assert_int_equal(ncalls_total, 4);
	ctx_free(ctx);
}

static void
test_reactivate_already(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_REACTIVATE);

	(void)state;
	/* Resolved active: only the UserLogin is read. */
	connector_salesforce.run(ctx);
	answer_page(0, USER_REC(JANE, "true"), 1);
	assert_string_equal(ctx->account, JANE);
	assert_non_null(strstr(soql(0), "FROM UserLogin"));
	answer_page(0, "{\"Id\":\"" LOGIN "\",\"IsFrozen\":false}", 1);
	assert_int_equal(ctx->outcome, STEP_OUT_OK);
	assert_string_equal(ctx->detail, "already active; not frozen");
	assert_int_equal(ncalls_total, 2);
	ctx_free(ctx);

	/* Resolved inactive: no extra read before the PATCH. */
	ctx = sf_new(STEP_REACTIVATE);
	connector_salesforce.run(ctx);
	answer_page(0, USER_REC(JANE, "false"), 1);
	assert_string_equal(pending[0].body, "{\"IsActive\":true}");
	answer(0, 204, "");
	answer_page(0, "{\"Id\":\"" LOGIN "\",\"IsFrozen\":false}", 1);
	assert_int_equal(ctx->outcome, STEP_OUT_OK);
	assert_string_equal(ctx->detail, "reactivated (IsActive=true); not "
	    "frozen");
	ctx_free(ctx);

	/* Active but still frozen (an earlier run stopped half-way). */
	ctx = sf_new(STEP_REACTIVATE);
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	answer_page(0, USER_REC(JANE, "true"), 1);
	answer_page(0, "{\"Id\":\"" LOGIN "\",\"IsFrozen\":true}", 1);
	answer(0, 204, "");
	assert_int_equal(ctx->outcome, STEP_OUT_OK);
	assert_string_equal(ctx->detail, "already active; unfrozen "
	    "(IsFrozen=false)");
	ctx_free(ctx);
}

static void
test_reactivate_refused_and_missing(void **state)
{
	struct step_ctx	*ctx = sf_new(STEP_REACTIVATE);

	(void)state;
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	answer_page(0, USER_REC(JANE, "false"), 1);
	answer(0, 400, "[{\"message\":\"License limit exceeded\","
	    "\"errorCode\":\"LICENSE_LIMIT_EXCEEDED\",\"fields\":[]}]");
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_string_equal(ctx->detail, "reactivate: PATCH User IsActive=true: "
	    "HTTP 400 LICENSE_LIMIT_EXCEEDED: License limit exceeded; "
	    "Salesforce refused to reactivate the user (nothing was changed): "
	    "no free Salesforce licence for the user: free one (deactivate "
	    "another user) or buy one, then deprovctl retry 42");
	/* The freeze is not touched when there is no licence. */
	assert_int_equal(ncalls_total, 2);
	ctx_free(ctx);

	ctx = sf_new(STEP_REACTIVATE);
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	answer_page(0, "", 0);
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_string_equal(ctx->detail, "reactivate: no user " JANE " at "
	    "Salesforce (users are never deleted there: is the account id "
	    "right?)");
	ctx_free(ctx);

	/* Any other error is the call's. */
	ctx = sf_new(STEP_REACTIVATE);
	step_ctx_set_account(ctx, JANE);
	connector_salesforce.run(ctx);
	answer_page(0, USER_REC(JANE, "true"), 1);
	answer_page(0, "{\"Id\":\"" LOGIN "\",\"IsFrozen\":true}", 1);
	answer(0, 503, "[{\"message\":\"Server temporarily unavailable\","
	    "\"errorCode\":\"SERVER_UNAVAILABLE\"}]");
	assert_int_equal(ctx->outcome, STEP_OUT_FAILED);
	assert_string_equal(ctx->detail, "reactivate: PATCH UserLogin: HTTP 503 "
	    "SERVER_UNAVAILABLE: Server temporarily unavailable");
	ctx_free(ctx);
}

/* The descriptor: what the core asks of the kind. */
static void
test_descriptor(void **state)
{
	(void)state;
	assert_string_equal(connector_salesforce.kind, "salesforce");
	assert_non_null(connector_salesforce.run);
	assert_non_null(connector_salesforce.classify);
	assert_ptr_equal(connector_salesforce.check_step, sf_check_step);
	assert_ptr_equal(connector_salesforce.signals, sf_signals);
	assert_null(connector_salesforce.options);
	assert_string_equal(connector_salesforce.skips[STEP_DELETE],
	    "not supported by salesforce");
	assert_null(connector_salesforce.skips[STEP_REASSIGN]);
	assert_null(connector_salesforce.skips[STEP_REACTIVATE]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_freeze_resolve_by_username),
		cmocka_unit_test(test_resolve_event_id_then_chain),
		cmocka_unit_test(test_resolve_event_id_found),
		cmocka_unit_test(test_resolve_email_ambiguous),
		cmocka_unit_test(test_resolve_email_username_decides),
		cmocka_unit_test(test_resolve_injection_escaped),
		cmocka_unit_test(test_freeze_known_account_already_frozen),
		cmocka_unit_test(test_freeze_errors),
		cmocka_unit_test(test_revoke_pages_parallel),
		cmocka_unit_test(test_revoke_none_and_failures),
		cmocka_unit_test(test_reassign_manager_pages_batches),
		cmocka_unit_test(test_reassign_ok_and_owner_fallbacks),
		cmocka_unit_test(test_reassign_bad_options),
		cmocka_unit_test(test_deactivate),
		cmocka_unit_test(test_deactivate_refused),
		cmocka_unit_test(test_reactivate_inactive_and_frozen),
		cmocka_unit_test(test_reactivate_already),
		cmocka_unit_test(test_reactivate_refused_and_missing),
		cmocka_unit_test(test_descriptor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
