/*
 * test_salesforce: unit tests for the pure half of the Salesforce connector
 * (salesforce-proto.c): SOQL literal escaping against injection, query and
 * form encoding, name and id validation, composite bodies, SaveResults,
 * query pages, error bodies and the response classifier.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "deprov/http.h"
#include "deprov/target.h"

#include "connector_resp.h"
#include "salesforce-internal.h"

/* A response as the target would hand it to the classifier. */
static void
escape_is(const char *in, const char *want)
{
	char	out[256];
	int	n;

	n = sf_soql_escape(in, out, sizeof out);
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(out, want);
}

static void
test_escape_plain(void **state)
{
	(void)state;
	escape_is("jane.doe@acme.example", "jane.doe@acme.example");
	escape_is("", "");
	escape_is("\"quoted\" name", "\"quoted\" name");
	escape_is("Ünïcødé", "Ünïcødé");
}

static void
test_escape_quotes_and_backslashes(void **state)
{
	(void)state;
	escape_is("o'brien", "o\\'brien");
	escape_is("x' OR Name!='", "x\\' OR Name!=\\'");
	escape_is("a\\b", "a\\\\b");
	/* A backslash must not be able to swallow the escape of a quote. */
	escape_is("\\'", "\\\\\\'");
	escape_is("x\\' OR Id!='", "x\\\\\\' OR Id!=\\'");
	escape_is("''", "\\'\\'");
}

static void
test_escape_rejects_control(void **state)
{
	char	out[64];

	(void)state;
	assert_int_equal(sf_soql_escape("a\nb", out, sizeof out), -1);
	assert_int_equal(sf_soql_escape("a\rb", out, sizeof out), -1);
	assert_int_equal(sf_soql_escape("a\tb", out, sizeof out), -1);
	assert_int_equal(sf_soql_escape("a\x7f", out, sizeof out), -1);
	assert_int_equal(sf_soql_escape(NULL, out, sizeof out), -1);
}

static void
test_escape_bounds(void **state)
{
	char	out[8];

	(void)state;
	assert_int_equal(sf_soql_escape("1234567", out, sizeof out), 7);
	assert_int_equal(sf_soql_escape("12345678", out, sizeof out), -1);
	/* The escape pair must fit whole. */
	assert_int_equal(sf_soql_escape("123456'", out, sizeof out), -1);
	assert_int_equal(sf_soql_escape("12345'", out, sizeof out), 7);
	assert_string_equal(out, "12345\\'");
}

/*
 * Walk a statement the way SOQL reads literals and return how many string
 * literals it holds; an injected quote would end a literal early and add
 * one (or leave an odd quote count).
 */
static int
soql_literals(const char *s)
{
	int	n = 0, in = 0;

	for (; *s != '\0'; s++) {
		if (in && *s == '\\') {
			s++;
			if (*s == '\0')
				return -1;
			continue;
		}
		if (*s == '\'') {
			if (in)
				n++;
			in = !in;
		}
	}
	return in ? -1 : n;
}

static void
test_soql_where(void **state)
{
	char	q[SF_SOQL_MAX], err[128];

	(void)state;
	assert_int_equal(sf_soql_where(q, sizeof q, "Id,IsActive", "User",
	    "Username", "jane.doe@acme.example", NULL, err, sizeof err), 0);
	assert_string_equal(q, "SELECT Id,IsActive FROM User WHERE "
	    "Username='jane.doe@acme.example'");
	assert_int_equal(sf_soql_where(q, sizeof q, "Id", "User", "Email",
	    "boss@acme.example", "IsActive=true", err, sizeof err), 0);
	assert_string_equal(q, "SELECT Id FROM User WHERE "
	    "Email='boss@acme.example' AND IsActive=true");

	assert_int_equal(sf_soql_where(q, sizeof q, "Id", "User", "Username",
	    "x' OR Name!='", NULL, err, sizeof err), 0);
	assert_string_equal(q,
	    "SELECT Id FROM User WHERE Username='x\\' OR Name!=\\''");
	assert_int_equal(soql_literals(q), 1);
	assert_int_equal(sf_soql_where(q, sizeof q, "Id", "User", "Username",
	    "x\\' OR Name!='", NULL, err, sizeof err), 0);
	assert_int_equal(soql_literals(q), 1);
	assert_int_equal(sf_soql_where(q, sizeof q, "Id", "User", "Username",
	    "o'brien\\", NULL, err, sizeof err), 0);
	assert_int_equal(soql_literals(q), 1);

	assert_int_equal(sf_soql_where(q, sizeof q, "Id", "Account WHERE",
	    "OwnerId", "005000000000001AAA", NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "invalid object name"));
	assert_int_equal(sf_soql_where(q, sizeof q, "Id", "User", "Username",
	    "a\nb", NULL, err, sizeof err), -1);
	assert_int_equal(sf_soql_where(q, 40, "Id", "User", "Username",
	    "jane.doe@acme.example", NULL, err, sizeof err), -1);
}

static void
test_query_path(void **state)
{
	char	*p;

	(void)state;
	p = sf_query_path("v60.0",
	    "SELECT Id FROM User WHERE Username='o\\'brien'");
	assert_non_null(p);
	assert_string_equal(p, "/services/data/v60.0/query?q=SELECT%20Id%20FROM"
	    "%20User%20WHERE%20Username%3D%27o%5C%27brien%27");
	free(p);
	p = sf_query_path("v61.0", "SELECT Id,IsActive FROM User WHERE "
	    "Email='a+b@x.example' AND IsActive=true");
	assert_non_null(p);
	assert_string_equal(p, "/services/data/v61.0/query?q=SELECT%20Id%2C"
	    "IsActive%20FROM%20User%20WHERE%20Email%3D%27a%2Bb%40x.example%27"
	    "%20AND%20IsActive%3Dtrue");
	free(p);
	/* Non-ASCII bytes, & and # are encoded, unreserved kept. */
	p = http_urlencode("é&#~_.-");
	assert_string_equal(p, "%C3%A9%26%23~_.-");
	free(p);
}

static void
test_revoke_body(void **state)
{
	char	*b;

	(void)state;
	b = sf_revoke_body("00D!AQ0AQ+x/y=z&a");
	assert_non_null(b);
	assert_string_equal(b, "token=00D%21AQ0AQ%2Bx%2Fy%3Dz%26a");
	free(b);
}

static void
test_names_and_ids(void **state)
{
	char	long80[82];

	(void)state;
	assert_true(sf_object_name_valid("Account"));
	assert_true(sf_object_name_valid("My_Object__c"));
	assert_true(sf_object_name_valid("ns__Thing2__c"));
	assert_false(sf_object_name_valid(NULL));
	assert_false(sf_object_name_valid(""));
	assert_false(sf_object_name_valid("Account WHERE"));
	assert_false(sf_object_name_valid("Acc'ount"));
	assert_false(sf_object_name_valid("Account,User"));
	assert_false(sf_object_name_valid("a.b"));
	assert_false(sf_object_name_valid("1Account"));
	assert_false(sf_object_name_valid("_x"));
	memset(long80, 'a', 80);
	long80[80] = '\0';
	assert_true(sf_object_name_valid(long80));
	long80[80] = 'a';
	long80[81] = '\0';
	assert_false(sf_object_name_valid(long80));

	/* What a reassign step may name: objects with an owner, custom ones. */
	assert_true(sf_object_reassignable("Account"));
	assert_true(sf_object_reassignable("opportunity"));
	assert_true(sf_object_reassignable("WorkOrder"));
	assert_true(sf_object_reassignable("Invoice__c"));
	assert_true(sf_object_reassignable("ns__Thing2__c"));
	assert_false(sf_object_reassignable("Drvie"));
	assert_false(sf_object_reassignable("User"));
	assert_false(sf_object_reassignable("__c"));
	assert_false(sf_object_reassignable("Bad Name__c"));
	assert_false(sf_object_reassignable(NULL));

	assert_true(sf_id_valid("005000000000001AAA"));
	assert_true(sf_id_valid("005000000000001"));
	assert_false(sf_id_valid("005000000000001AA"));
	assert_false(sf_id_valid("005000000000001AAAB"));
	assert_false(sf_id_valid("005000000000/../A"));
	assert_false(sf_id_valid("005000000000001AA'"));
	assert_false(sf_id_valid(""));
	assert_false(sf_id_valid(NULL));
}

static void
test_api_version(void **state)
{
	char	v[16];

	(void)state;
	assert_int_equal(sf_api_version("v60.0", v, sizeof v), 0);
	assert_string_equal(v, "v60.0");
	assert_int_equal(sf_api_version("61.0", v, sizeof v), 0);
	assert_string_equal(v, "v61.0");
	assert_int_equal(sf_api_version(NULL, v, sizeof v), 0);
	assert_string_equal(v, SF_DEFAULT_API_VERSION);
	assert_int_equal(sf_api_version("", v, sizeof v), 0);
	assert_int_equal(sf_api_version("v60", v, sizeof v), -1);
	assert_int_equal(sf_api_version("v60.0/../x", v, sizeof v), -1);
	assert_int_equal(sf_api_version("latest", v, sizeof v), -1);
}

static void
test_composite_one(void **state)
{
	const char	*ids[] = { "001000000000001AAA" };
	json_object	*root, *v, *recs, *r, *attr;
	char		*b;

	(void)state;
	b = sf_composite_body("Account", ids, 1, "005000000000009AAA");
	assert_non_null(b);
	assert_string_equal(b, "{\"allOrNone\":false,\"records\":[{\"attributes\":"
	    "{\"type\":\"Account\"},\"id\":\"001000000000001AAA\",\"OwnerId\":"
	    "\"005000000000009AAA\"}]}");
	root = json_tokener_parse(b);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "allOrNone", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(root, "records", &recs));
	assert_int_equal(json_object_array_length(recs), 1);
	r = json_object_array_get_idx(recs, 0);
	assert_true(json_object_object_get_ex(r, "attributes", &attr));
	assert_string_equal(sf_record_str(attr, "type"), "Account");
	json_object_put(root);
	free(b);
}

static void
test_composite_200(void **state)
{
	char		 idbuf[201][SF_ID_MAX + 1];
	const char	*ids[201];
	json_object	*root, *recs, *r, *attr;
	char		*b;
	size_t		 i;

	(void)state;
	for (i = 0; i < 201; i++) {
		snprintf(idbuf[i], sizeof idbuf[i], "006%012zuAAA", i + 1);
		ids[i] = idbuf[i];
	}
	b = sf_composite_body("Opportunity", ids, 200, "005000000000009AAA");
	assert_non_null(b);
	root = json_tokener_parse(b);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "records", &recs));
	assert_int_equal(json_object_array_length(recs), 200);
	for (i = 0; i < 200; i++) {
		r = json_object_array_get_idx(recs, i);
		assert_string_equal(sf_record_str(r, "id"), ids[i]);
		assert_string_equal(sf_record_str(r, "OwnerId"),
		    "005000000000009AAA");
		assert_true(json_object_object_get_ex(r, "attributes", &attr));
		assert_string_equal(sf_record_str(attr, "type"), "Opportunity");
	}
	json_object_put(root);
	free(b);

	/* More than 200, nothing, bad names and ids: refused. */
	assert_null(sf_composite_body("Opportunity", ids, 201,
	    "005000000000009AAA"));
	assert_null(sf_composite_body("Opportunity", ids, 0,
	    "005000000000009AAA"));
	assert_null(sf_composite_body("Opp\"ortunity", ids, 1,
	    "005000000000009AAA"));
	assert_null(sf_composite_body("Opportunity", ids, 1, "boss"));
	ids[3] = "006\",\"OwnerId\":\"x";
	assert_null(sf_composite_body("Opportunity", ids, 5,
	    "005000000000009AAA"));
}

static void
test_save_results_mixed(void **state)
{
	const char		*ids[] = { "001000000000001AAA",
				    "001000000000002AAA", "001000000000003AAA",
				    "001000000000004AAA" };
	const char		*body =
	    "[{\"id\":\"001000000000001AAA\",\"success\":true,\"errors\":[]},"
	    "{\"success\":false,\"errors\":[{\"statusCode\":\"UNABLE_TO_LOCK_ROW\","
	    "\"message\":\"unable to obtain exclusive access\",\"fields\":[]}]},"
	    "{\"id\":\"001000000000003AAA\",\"success\":true,\"errors\":[]},"
	    "{\"id\":\"001000000000004AAA\",\"success\":false,\"errors\":"
	    "[{\"statusCode\":\"INACTIVE_OWNER_OR_USER\",\"message\":\"x\"}]}]";
	struct sf_save_tally	 t;
	char			 err[128];

	(void)state;
	memset(&t, 0, sizeof t);
	assert_int_equal(sf_save_results_parse(body, strlen(body), ids, 4, &t,
	    err, sizeof err), 0);
	assert_int_equal(t.ok, 2);
	assert_int_equal(t.failed, 2);
	assert_int_equal(t.nfirst, 2);
	assert_string_equal(t.first[0].id, "001000000000002AAA");
	assert_string_equal(t.first[0].status, "UNABLE_TO_LOCK_ROW");
	assert_string_equal(t.first[1].id, "001000000000004AAA");
	assert_string_equal(t.first[1].status, "INACTIVE_OWNER_OR_USER");

	/* Accumulates over batches; a missing result is a failure. */
	body = "[{\"id\":\"001000000000001AAA\",\"success\":true,\"errors\":[]}]";
	assert_int_equal(sf_save_results_parse(body, strlen(body), ids, 2, &t,
	    err, sizeof err), 0);
	assert_int_equal(t.ok, 3);
	assert_int_equal(t.failed, 3);
	assert_string_equal(t.first[2].id, "001000000000002AAA");
	assert_string_equal(t.first[2].status, "NO_RESULT");

	/* success missing or not a boolean is not a success. */
	body = "[{\"id\":\"001000000000001AAA\",\"success\":\"true\"},"
	    "{\"id\":\"001000000000002AAA\"}]";
	assert_int_equal(sf_save_results_parse(body, strlen(body), ids, 2, &t,
	    err, sizeof err), 0);
	assert_int_equal(t.ok, 3);
	assert_int_equal(t.failed, 5);
	assert_int_equal(t.nfirst, SF_FAILURES_KEPT);
	assert_string_equal(t.first[3].status, "UNKNOWN_ERROR");

	/* Beyond SF_FAILURES_KEPT only the count grows. */
	body = "[{\"success\":false,\"errors\":[{\"statusCode\":\"X\"}]}]";
	assert_int_equal(sf_save_results_parse(body, strlen(body), ids, 1, &t,
	    err, sizeof err), 0);
	assert_int_equal(t.failed, 6);
	assert_int_equal(t.nfirst, SF_FAILURES_KEPT);
}

static void
test_save_results_bad(void **state)
{
	const char		*ids[] = { "001000000000001AAA" };
	const char		*body;
	struct sf_save_tally	 t;
	char			 err[128];

	(void)state;
	memset(&t, 0, sizeof t);
	body = "[{\"message\":\"x\",\"errorCode\":\"EXCEEDED_ID_LIMIT\"}";
	assert_int_equal(sf_save_results_parse(body, strlen(body), ids, 1, &t,
	    err, sizeof err), -1);
	body = "{\"id\":\"001000000000001AAA\",\"success\":true}";
	assert_int_equal(sf_save_results_parse(body, strlen(body), ids, 1, &t,
	    err, sizeof err), -1);
	assert_int_equal(sf_save_results_parse("", 0, ids, 1, &t, err,
	    sizeof err), -1);
	assert_int_equal(t.ok + t.failed, 0);
}

static void
test_page_parse(void **state)
{
	struct sf_page	 p;
	char		 err[128];
	const char	*b;

	(void)state;
	b = "{\"totalSize\":2,\"done\":true,\"records\":[{\"attributes\":"
	    "{\"type\":\"User\"},\"Id\":\"005000000000001AAA\",\"IsActive\":"
	    "true},{\"Id\":\"005000000000002AAA\",\"IsActive\":false}]}";
	assert_int_equal(sf_page_parse(b, strlen(b), &p, err, sizeof err), 0);
	assert_int_equal(p.nrecords, 2);
	assert_int_equal(p.total_size, 2);
	assert_true(p.done);
	assert_null(p.next_url);
	assert_string_equal(sf_record_str(json_object_array_get_idx(p.records,
	    1), "Id"), "005000000000002AAA");
	assert_int_equal(sf_record_bool(json_object_array_get_idx(p.records,
	    0), "IsActive"), 1);
	assert_int_equal(sf_record_bool(json_object_array_get_idx(p.records,
	    1), "IsActive"), 0);
	assert_int_equal(sf_record_bool(json_object_array_get_idx(p.records,
	    1), "IsFrozen"), -1);
	sf_page_clear(&p);

	b = "{\"totalSize\":4500,\"done\":false,\"nextRecordsUrl\":"
	    "\"/services/data/v60.0/query/01gD0000002HU6KIAW-2000\","
	    "\"records\":[]}";
	assert_int_equal(sf_page_parse(b, strlen(b), &p, err, sizeof err), 0);
	assert_false(p.done);
	assert_int_equal(p.total_size, 4500);
	assert_string_equal(p.next_url,
	    "/services/data/v60.0/query/01gD0000002HU6KIAW-2000");
	sf_page_clear(&p);

	/* Not done without a usable next page, not JSON, no records. */
	b = "{\"totalSize\":1,\"done\":false,\"records\":[]}";
	assert_int_equal(sf_page_parse(b, strlen(b), &p, err, sizeof err), -1);
	b = "{\"done\":false,\"records\":[],\"nextRecordsUrl\":"
	    "\"https://evil.example/services/data/x\"}";
	assert_int_equal(sf_page_parse(b, strlen(b), &p, err, sizeof err), -1);
	b = "{\"done\":false,\"records\":[],\"nextRecordsUrl\":"
	    "\"/services/data/../../x\"}";
	assert_int_equal(sf_page_parse(b, strlen(b), &p, err, sizeof err), -1);
	b = "{\"done\":true,\"records\":[{\"Id\":";
	assert_int_equal(sf_page_parse(b, strlen(b), &p, err, sizeof err), -1);
	b = "{\"done\":true}";
	assert_int_equal(sf_page_parse(b, strlen(b), &p, err, sizeof err), -1);
	b = "<html>oops</html>";
	assert_int_equal(sf_page_parse(b, strlen(b), &p, err, sizeof err), -1);
	assert_null(p.root);
}

static void
test_error_parse(void **state)
{
	char		 code[64], msg[256];
	const char	*b;

	(void)state;
	b = "[{\"message\":\"The requested resource does not exist\","
	    "\"errorCode\":\"NOT_FOUND\"}]";
	assert_int_equal(sf_error_parse(b, strlen(b), code, sizeof code, msg,
	    sizeof msg), 0);
	assert_string_equal(code, "NOT_FOUND");
	assert_string_equal(msg, "The requested resource does not exist");

	b = "[{\"message\":\"No such column 'Foo'\nline 2\",\"errorCode\":"
	    "\"INVALID_FIELD\",\"fields\":[]},{\"message\":\"b\",\"errorCode\":"
	    "\"X\"}]";
	assert_int_equal(sf_error_parse(b, strlen(b), code, sizeof code, msg,
	    sizeof msg), 0);
	assert_string_equal(code, "INVALID_FIELD");
	assert_string_equal(msg, "No such column 'Foo' line 2 (+1 more)");

	b = "{\"error\":\"invalid_token\",\"error_description\":\"invalid token\"}";
	assert_int_equal(sf_error_parse(b, strlen(b), code, sizeof code, msg,
	    sizeof msg), 0);
	assert_string_equal(code, "invalid_token");
	assert_string_equal(msg, "invalid token");

	b = "[]";
	assert_int_equal(sf_error_parse(b, strlen(b), code, sizeof code, msg,
	    sizeof msg), -1);
	b = "{\"totalSize\":0}";
	assert_int_equal(sf_error_parse(b, strlen(b), code, sizeof code, msg,
	    sizeof msg), -1);
	assert_int_equal(sf_error_parse("", 0, code, sizeof code, msg,
	    sizeof msg), -1);
	assert_int_equal(sf_error_parse(NULL, 0, code, sizeof code, msg,
	    sizeof msg), -1);
}

static void
test_call_error(void **state)
{
	struct http_response	r;
	struct target_result	res;
	char			out[256];

	(void)state;
	r = resp_make(404, "[{\"message\":\"The requested resource does not "
	    "exist\",\"errorCode\":\"NOT_FOUND\"}]");
	memset(&res, 0, sizeof res);
	res.resp = &r;
	res.attempts = 1;
	res.error = "HTTP 404";
	sf_call_error(&res, out, sizeof out);
	assert_string_equal(out, "HTTP 404 NOT_FOUND: The requested resource "
	    "does not exist");

	r = resp_make(404, "[{\"message\":\"gone\",\"errorCode\":"
	    "\"NOT_FOUND\"}]");
	res.attempts = 2;
	sf_call_error(&res, out, sizeof out);
	assert_string_equal(out, "HTTP 404 NOT_FOUND: gone (after 2 attempts)");

	/* Not a Salesforce error: the target's text, which counts attempts. */
	r = resp_make(503, "<html>down</html>");
	res.error = "HTTP 503 after 10 attempts: <html>down</html>";
	res.attempts = 10;
	sf_call_error(&res, out, sizeof out);
	assert_string_equal(out, "HTTP 503 after 10 attempts: <html>down</html>");

	res.error = "";
	sf_call_error(&res, out, sizeof out);
	assert_string_equal(out, "HTTP 503");

	res.resp = NULL;
	res.error = "timeout after 30000 ms";
	res.attempts = 1;
	sf_call_error(&res, out, sizeof out);
	assert_string_equal(out, "timeout after 30000 ms");

	res.error = NULL;
	sf_call_error(&res, out, sizeof out);
	assert_string_equal(out, "no response");

	sf_call_error(&res, out, 4);
	assert_string_equal(out, "no ");
}

static void
test_classify(void **state)
{
	struct http_response	r;
	char			err[256];

	(void)state;
	r = resp_make(403, "[{\"message\":\"TotalRequests Limit exceeded.\","
	    "\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\"}]");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_RETRY_LONG);
	assert_string_equal(err, "REQUEST_LIMIT_EXCEEDED: "
	    "TotalRequests Limit exceeded.");

	r = resp_make(403, "[{\"message\":\"no\",\"errorCode\":"
	    "\"INSUFFICIENT_ACCESS\"}]");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_DEFAULT);

	r = resp_make(401, "[{\"message\":\"Session expired or invalid\","
	    "\"errorCode\":\"INVALID_SESSION_ID\"}]");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_REAUTH);

	r = resp_make(400, "{\"error\":\"invalid_token\","
	    "\"error_description\":\"invalid token\"}");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_DONE);
	r = resp_make(400, "{\"error\":\"unsupported_token_type\","
	    "\"error_description\":\"x\"}");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_DONE);

	r = resp_make(400, "[{\"message\":\"unexpected token: x\","
	    "\"errorCode\":\"MALFORMED_QUERY\"}]");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_DEFAULT);
	assert_string_equal(err, "MALFORMED_QUERY: unexpected token: x");

	r = resp_make(400, "[{\"message\":\"unable to obtain exclusive access "
	    "to this record\",\"errorCode\":\"UNABLE_TO_LOCK_ROW\"}]");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_RETRY);

	/* Refusals because of the user's settings are final, whatever the status. */
	r = resp_make(400, "[{\"message\":\"You cannot deactivate the Default "
	    "Workflow User\",\"errorCode\":\"FIELD_INTEGRITY_EXCEPTION\","
	    "\"fields\":[\"IsActive\"]}]");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_DONE);
	assert_string_equal(err, "FIELD_INTEGRITY_EXCEPTION: You cannot "
	    "deactivate the Default Workflow User");
	r = resp_make(400, "[{\"message\":\"x\",\"errorCode\":"
	    "\"INACTIVE_OWNER_OR_USER\"}]");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_DONE);
	r = resp_make(400, "[{\"message\":\"x\",\"errorCode\":"
	    "\"FIELD_CUSTOM_VALIDATION_EXCEPTION\"}]");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_DONE);
	r = resp_make(500, "[{\"message\":\"License limit exceeded\","
	    "\"errorCode\":\"LICENSE_LIMIT_EXCEEDED\"}]");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_DONE);

	r = resp_make(200, "{\"totalSize\":0,\"done\":true,\"records\":[]}");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_DEFAULT);
	r = resp_make(204, "");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_DEFAULT);
	r = resp_make(503, "<html>Service Unavailable</html>");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_DEFAULT);
	r = resp_make(429, "");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_DEFAULT);
	r = resp_make(0, "");
	assert_int_equal(sf_classify(&r, err, sizeof err), CALL_DEFAULT);
	assert_int_equal(sf_classify(NULL, err, sizeof err), CALL_DEFAULT);
	r = resp_make(401, "[{\"message\":\"x\",\"errorCode\":\"INVALID_AUTH\"}]");
	assert_int_equal(sf_classify(&r, NULL, 0), CALL_DEFAULT);
}

/* Every deactivation blocker the sandbox answers, and what to change for it. */
static void
test_refusal_hints(void **state)
{
	static const struct {
		const char	*code;
		const char	*msg;
		const char	*hint;	/* a part of it */
	} cases[] = {
		{ "FIELD_INTEGRITY_EXCEPTION", "You cannot deactivate the "
		    "Default Workflow User", "Process Automation Settings" },
		{ "FIELD_INTEGRITY_EXCEPTION", "You cannot deactivate this user. "
		    "You cannot deactivate a user who is the default owner of "
		    "leads", "Lead Settings" },
		{ "FIELD_INTEGRITY_EXCEPTION", "You cannot deactivate this user. "
		    "You cannot deactivate a user who is the default owner of "
		    "cases", "Default Case Owner in Setup > Support Settings" },
		{ "FIELD_INTEGRITY_EXCEPTION", "You cannot disable the Web to "
		    "Lead Default Creator", "Setup > Web-to-Lead" },
		{ "FIELD_INTEGRITY_EXCEPTION", "You cannot deactivate this user. "
		    "You cannot deactivate a user who is the Automated Case User",
		    "Automated Case User (the Web-to-Case" },
		{ "FIELD_INTEGRITY_EXCEPTION", "You cannot deactivate a user who "
		    "is a portal administrator", "portal administrator" },
		{ "FIELD_INTEGRITY_EXCEPTION", "Cannot complete this operation. "
		    "Cannot inactivate user that is the value of a hierarchy "
		    "field: User Hierarchy.", "custom hierarchy field" },
		{ "FIELD_INTEGRITY_EXCEPTION", "You cannot deactivate this user. "
		    "This user is an assigned approver or delegated approver in "
		    "an approval process", "Approval Processes" },
		{ "FIELD_INTEGRITY_EXCEPTION", "something new", "still referenced "
		    "by an org setting" },
		{ "INACTIVE_OWNER_OR_USER", "operation performed with inactive "
		    "user [005000000000001AAA] as owner of a portal account",
		    "move them to an active user" },
		{ "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Users who still own open "
		    "opportunities cannot be deactivated", "Validation Rules" },
	};
	const char	*h;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		h = sf_user_refusal_hint(0, cases[i].code, cases[i].msg);
		assert_non_null(h);
		if (strstr(h, cases[i].hint) == NULL)
			fail_msg("%s: hint \"%s\" lacks \"%s\"", cases[i].msg,
			    h, cases[i].hint);
		/* Not a reactivation refusal. */
		assert_null(sf_user_refusal_hint(1, cases[i].code,
		    cases[i].msg));
	}
	assert_non_null(strstr(sf_user_refusal_hint(1, "LICENSE_LIMIT_EXCEEDED",
	    "License limit exceeded"), "licence"));
	assert_null(sf_user_refusal_hint(0, "LICENSE_LIMIT_EXCEEDED", "x"));
	assert_null(sf_user_refusal_hint(0, "UNABLE_TO_LOCK_ROW", "x"));
	assert_null(sf_user_refusal_hint(0, "NOT_FOUND", NULL));
	assert_null(sf_user_refusal_hint(0, NULL, "x"));
	assert_non_null(sf_user_refusal_hint(0, "FIELD_INTEGRITY_EXCEPTION",
	    NULL));
}

static void
test_reassign_summary(void **state)
{
	const char		*objects[] = { "Account", "Opportunity", "Case" };
	size_t			 ok[] = { 150, 200, 100 }, failed[] = { 0, 0, 0 };
	struct sf_save_tally	 t;
	char			 out[512];
	size_t			 i;

	(void)state;
	memset(&t, 0, sizeof t);
	sf_reassign_summary(out, sizeof out, objects, ok, failed, 3, &t,
	    "005000000000009AAA");
	assert_string_equal(out, "reassigned 450 records (Account 150, "
	    "Opportunity 200, Case 100) to 005000000000009AAA");

	ok[2] = 98;
	failed[2] = 2;
	failed[0] = 5;
	ok[0] = 145;
	t.failed = 7;
	for (i = 0; i < SF_FAILURES_KEPT; i++) {
		snprintf(t.first[i].id, sizeof t.first[i].id,
		    "500%012zuAAA", i + 1);
		snprintf(t.first[i].status, sizeof t.first[i].status,
		    "UNABLE_TO_LOCK_ROW");
	}
	t.nfirst = SF_FAILURES_KEPT;
	sf_reassign_summary(out, sizeof out, objects, ok, failed, 3, &t,
	    "005000000000009AAA");
	assert_string_equal(out, "7 of 450 records failed (Account 5, Case 2): "
	    "500000000000001AAA UNABLE_TO_LOCK_ROW, 500000000000002AAA "
	    "UNABLE_TO_LOCK_ROW, 500000000000003AAA UNABLE_TO_LOCK_ROW, "
	    "500000000000004AAA UNABLE_TO_LOCK_ROW, 500000000000005AAA "
	    "UNABLE_TO_LOCK_ROW, +2 more; reassigned 443 records (Account 145, "
	    "Opportunity 200, Case 98) to 005000000000009AAA");

	/* A small buffer cuts the line, never overflows. */
	sf_reassign_summary(out, 20, objects, ok, failed, 3, &t, "005");
	assert_int_equal(strlen(out), 19);
}

/* The signals hook: Sforce-Limit-Info becomes the target's usage. */
static void
test_signals(void **state)
{
	struct event_base	*base;
	struct http		*http;
	struct target		*t;
	struct config_target	 cfg;
	struct http_header	 h;
	struct http_response	 r;
	char			 err[256];
	long			 used, limit;

	(void)state;
	assert_non_null(base = event_base_new());
	assert_non_null(http = http_new(base));
	memset(&cfg, 0, sizeof cfg);
	cfg.name = "sf";
	cfg.kind = "salesforce";
	cfg.base_url = "http://127.0.0.1:1";
	cfg.auth.type = "none";
	cfg.limits.rate_per_sec = 10;
	cfg.limits.usage_slowdown = 0.9;
	t = target_new(base, http, &cfg, sf_classify, err, sizeof err);
	assert_non_null(t);
	h.name = "Sforce-Limit-Info";
	h.value = "api-usage=95/100";
	memset(&r, 0, sizeof r);
	r.status = 200;
	r.headers = &h;
	r.nheaders = 1;
	target_api_usage(t, &used, &limit);
	assert_int_equal(used, 0);
	assert_int_equal(limit, 0);
	sf_signals(t, &r);
	target_api_usage(t, &used, &limit);
	assert_int_equal(used, 95);
	assert_int_equal(limit, 100);
	/* Malformed or absent: the last usage stands. */
	h.value = "api-usage=1/0";
	sf_signals(t, &r);
	r.nheaders = 0;
	sf_signals(t, &r);
	target_api_usage(t, &used, &limit);
	assert_int_equal(used, 95);
	target_free(t);
	http_free(http);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_plain),
		cmocka_unit_test(test_escape_quotes_and_backslashes),
		cmocka_unit_test(test_escape_rejects_control),
		cmocka_unit_test(test_escape_bounds),
		cmocka_unit_test(test_soql_where),
		cmocka_unit_test(test_query_path),
		cmocka_unit_test(test_revoke_body),
		cmocka_unit_test(test_names_and_ids),
		cmocka_unit_test(test_refusal_hints),
		cmocka_unit_test(test_api_version),
		cmocka_unit_test(test_composite_one),
		cmocka_unit_test(test_composite_200),
		cmocka_unit_test(test_save_results_mixed),
		cmocka_unit_test(test_save_results_bad),
		cmocka_unit_test(test_page_parse),
		cmocka_unit_test(test_error_parse),
		cmocka_unit_test(test_call_error),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_reassign_summary),
		cmocka_unit_test(test_signals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
