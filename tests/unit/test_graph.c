/*
 * test_graph: unit tests for the pure half of the Microsoft Graph connector
 * (graph-proto.c): percent-encoding, OData string literals (quote
 * doubling, injection), user and $filter paths (the users('$...') form),
 * the accountEnabled bodies, user and collection parsing, Graph error
 * bodies and the classifier's decisions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deprov/http.h"
#include "deprov/target.h"

#include "connector_resp.h"
#include "graph-internal.h"

static void
path_is(char *got, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_urlencode(void **state)
{
	(void)state;
	path_is(http_urlencode("jane.doe@acme.example"), "jane.doe%40acme.example");
	path_is(http_urlencode("a+b c#d/e?f$g'h"),
	    "a%2Bb%20c%23d%2Fe%3Ff%24g%27h");
	path_is(http_urlencode("~_-."), "~_-.");
	path_is(http_urlencode("\xc3\xa9"), "%C3%A9");
	assert_null(http_urlencode(NULL));
}

static void
test_odata_quote(void **state)
{
	char	out[64];

	(void)state;
	assert_int_equal(graph_odata_quote("jane@acme.example", out, sizeof out), 19);
	assert_string_equal(out, "'jane@acme.example'");
	assert_true(graph_odata_quote("o'brien@acme.example", out, sizeof out) > 0);
	assert_string_equal(out, "'o''brien@acme.example'");
	/* an injection attempt stays inside the literal */
	assert_true(graph_odata_quote("x' or mail eq 'y", out, sizeof out) > 0);
	assert_string_equal(out, "'x'' or mail eq ''y'");
	assert_true(graph_odata_quote("''", out, sizeof out) > 0);
	assert_string_equal(out, "''''''");
	assert_true(graph_odata_quote("", out, sizeof out) > 0);
	assert_string_equal(out, "''");
	/* control characters and a full buffer are refused */
	assert_int_equal(graph_odata_quote("a\nb", out, sizeof out), -1);
	assert_int_equal(graph_odata_quote("abcdef", out, 8), -1);
	assert_int_equal(graph_odata_quote("abcde", out, 8), 7);
	assert_int_equal(graph_odata_quote("'''", out, 8), -1);
}

static void
test_user_path(void **state)
{
	(void)state;
	path_is(graph_user_path("jane@acme.example", NULL, GRAPH_SELECT),
	    "/v1.0/users/jane%40acme.example?$select=id,accountEnabled,"
	    "userPrincipalName");
	path_is(graph_user_path("00000000-0000-4000-8000-000000000001",
	    "/revokeSignInSessions", NULL),
	    "/v1.0/users/00000000-0000-4000-8000-000000000001/revokeSignInSessions");
	/* guest UPNs carry '#' which must not end the path */
	path_is(graph_user_path("jane_acme.example#EXT#@t.onmicrosoft.com", NULL,
	    NULL), "/v1.0/users/jane_acme.example%23EXT%23%40t.onmicrosoft.com");
	/* '$'-prefixed UPNs use the users('...') form, quotes doubled */
	path_is(graph_user_path("$adm'n@acme.example", NULL, NULL),
	    "/v1.0/users(%27%24adm%27%27n%40acme.example%27)");
	path_is(graph_user_path("$x@acme.example", "/revokeSignInSessions", "id"),
	    "/v1.0/users(%27%24x%40acme.example%27)/revokeSignInSessions?$select=id");
	assert_null(graph_user_path("", NULL, NULL));
	assert_null(graph_user_path(NULL, NULL, NULL));
	assert_null(graph_user_path("a\rb@x", NULL, NULL));
}

static void
test_filter_path(void **state)
{
	(void)state;
	path_is(graph_filter_path("mail", "jane@acme.example", GRAPH_SELECT),
	    "/v1.0/users?$filter=mail%20eq%20%27jane%40acme.example%27"
	    "&$select=id,accountEnabled,userPrincipalName");
	path_is(graph_filter_path("employeeId", "E'1&2", NULL),
	    "/v1.0/users?$filter=employeeId%20eq%20%27E%27%271%262%27");
	path_is(graph_filter_path("mail", "a+b@x.example", NULL),
	    "/v1.0/users?$filter=mail%20eq%20%27a%2Bb%40x.example%27");
	assert_null(graph_filter_path("mail", "", NULL));
	assert_null(graph_filter_path("mail", "a\tb", NULL));
}

static void
test_bodies(void **state)
{
	(void)state;
	assert_string_equal(graph_enable_body(0), "{\"accountEnabled\":false}");
	assert_string_equal(graph_enable_body(1), "{\"accountEnabled\":true}");
}

static void
test_user_parse(void **state)
{
	struct graph_user	u;
	char			err[128];
	size_t			n;
	const char		*one = "{\"@odata.context\":\"x\",\"id\":\"g-1\","
				    "\"accountEnabled\":false,\"userPrincipalName\":\"j@x\"}";

	(void)state;
	assert_int_equal(graph_user_parse(one, strlen(one), &u, err, sizeof err), 0);
	assert_string_equal(u.id, "g-1");
	assert_string_equal(u.upn, "j@x");
	assert_int_equal(u.enabled, 0);
	assert_int_equal(graph_user_parse("{\"id\":\"g\"}", 10, &u, err, sizeof err), 0);
	assert_int_equal(u.enabled, -1);
	assert_int_equal(graph_user_parse("{}", 2, &u, err, sizeof err), -1);
	assert_int_equal(graph_user_parse("nope", 4, &u, err, sizeof err), -1);
	/* One JSON value, white space around it; nothing after it (fuzz_graph). */
	assert_int_equal(graph_user_parse(" {\"id\":\"g\"}\r\n", 13, &u, err,
	    sizeof err), 0);
	assert_int_equal(graph_user_parse("{\"id\":\"g\"}{\"id\":\"h\"}", 20, &u,
	    err, sizeof err), -1);
	assert_int_equal(graph_user_parse("{\"id\":\"g\"} x", 12, &u, err,
	    sizeof err), -1);
	/* A NUL would cut the id short: "g\0h" is not user "g" (fuzz_graph). */
	assert_int_equal(graph_user_parse("{\"id\":\"g\\u0000h\"}", 17, &u, err,
	    sizeof err), -1);
	assert_int_equal(graph_user_parse("{\"id\":\"\\u0000e\"}", 16, &u, err,
	    sizeof err), -1);
	assert_int_equal(graph_user_parse("{\"id\":\"g\\\\u0000h\"}", 18, &u,
	    err, sizeof err), 0);
	assert_string_equal(u.id, "g\\u0000h");

	assert_int_equal(graph_list_parse("{\"value\":[]}", 12, &n, &u, err,
	    sizeof err), 0);
	assert_int_equal(n, 0);
	{
		const char *two = "{\"value\":[{\"id\":\"a\",\"accountEnabled\":true},"
		    "{\"id\":\"b\"}]}";
		assert_int_equal(graph_list_parse(two, strlen(two), &n, &u, err,
		    sizeof err), 0);
		assert_int_equal(n, 2);
		assert_string_equal(u.id, "a");
		assert_int_equal(u.enabled, 1);
	}
	assert_int_equal(graph_list_parse("{\"value\":{}}", 12, &n, &u, err,
	    sizeof err), -1);
	assert_int_equal(graph_list_parse("{\"value\":[{}]}", 14, &n, &u, err,
	    sizeof err), -1);
}

static void
test_error_parse(void **state)
{
	char		 code[64], msg[128];
	const char	*b = "{\"error\":{\"code\":\"Request_ResourceNotFound\","
			    "\"message\":\"Resource 'x' does not exist\",\"innerError\":"
			    "{\"request-id\":\"r\"}}}";
	struct http_response	r;

	(void)state;
	assert_int_equal(graph_error_parse(b, strlen(b), code, sizeof code, msg,
	    sizeof msg), 0);
	assert_string_equal(code, "Request_ResourceNotFound");
	assert_string_equal(msg, "Resource 'x' does not exist");
	assert_int_equal(graph_error_parse("{\"x\":1}", 7, code, sizeof code, msg,
	    sizeof msg), -1);
	assert_int_equal(graph_error_parse("[]", 2, code, sizeof code, msg,
	    sizeof msg), -1);
	r = resp_make(404, b);
	assert_true(graph_not_found(&r));
	r = resp_make(404, "");
	assert_true(graph_not_found(&r));
	r = resp_make(404, "{\"error\":{\"code\":\"Other\"}}");
	assert_false(graph_not_found(&r));
	r = resp_make(400, b);
	assert_false(graph_not_found(&r));
}

static void
test_call_error(void **state)
{
	struct http_response	r = resp_make(403, "{\"error\":{\"code\":"
				    "\"Authorization_RequestDenied\",\"message\":"
				    "\"Insufficient privileges\"}}");
	struct target_result	res;
	char			out[256];

	(void)state;
	memset(&res, 0, sizeof res);
	res.resp = &r;
	res.attempts = 1;
	res.error = "HTTP 403: whatever";
	graph_call_error(&res, out, sizeof out);
	assert_string_equal(out, "HTTP 403 Authorization_RequestDenied: Insufficient "
	    "privileges");
	res.attempts = 3;
	graph_call_error(&res, out, sizeof out);
	assert_string_equal(out, "HTTP 403 Authorization_RequestDenied: Insufficient "
	    "privileges (after 3 attempts)");
	res.resp = NULL;
	res.error = "timeout after 3 attempts";
	graph_call_error(&res, out, sizeof out);
	assert_string_equal(out, "timeout after 3 attempts");
}

static void
test_classify(void **state)
{
	struct http_response	r;
	char			err[256];

	(void)state;
	r = resp_make(204, "");
	assert_int_equal(graph_classify(&r, err, sizeof err), CALL_DEFAULT);
	r = resp_make(0, "");
	assert_int_equal(graph_classify(&r, err, sizeof err), CALL_DEFAULT);
	r = resp_make(429, "{\"error\":{\"code\":\"TooManyRequests\",\"message\":"
	    "\"slow down\"}}");
	err[0] = '\0';
	assert_int_equal(graph_classify(&r, err, sizeof err), CALL_RETRY);
	assert_string_equal(err, "TooManyRequests: slow down");
	r = resp_make(503, "{\"error\":{\"code\":\"serviceNotAvailable\"}}");
	assert_int_equal(graph_classify(&r, err, sizeof err), CALL_RETRY);
	r = resp_make(504, "");
	assert_int_equal(graph_classify(&r, err, sizeof err), CALL_RETRY);
	r = resp_make(500, "{\"error\":{\"code\":\"generalException\"}}");
	assert_int_equal(graph_classify(&r, err, sizeof err), CALL_DEFAULT);
	r = resp_make(501, "{\"error\":{\"code\":\"NotImplemented\"}}");
	assert_int_equal(graph_classify(&r, err, sizeof err), CALL_DONE);
	r = resp_make(401, "{\"error\":{\"code\":\"InvalidAuthenticationToken\","
	    "\"message\":\"Access token has expired.\"}}");
	assert_int_equal(graph_classify(&r, err, sizeof err), CALL_REAUTH);
	assert_string_equal(err, "InvalidAuthenticationToken: Access token has "
	    "expired.");
	r = resp_make(401, "not json");
	assert_int_equal(graph_classify(&r, err, sizeof err), CALL_REAUTH);
	r = resp_make(401, "{\"error\":{\"code\":\"Authorization_IdentityNotFound\"}}");
	assert_int_equal(graph_classify(&r, err, sizeof err), CALL_DONE);
	r = resp_make(404, "{\"error\":{\"code\":\"Request_ResourceNotFound\"}}");
	assert_int_equal(graph_classify(&r, err, sizeof err), CALL_DONE);
	r = resp_make(403, "{\"error\":{\"code\":\"Authorization_RequestDenied\"}}");
	assert_int_equal(graph_classify(&r, err, sizeof err), CALL_DONE);
	r = resp_make(400, "{\"error\":{\"code\":\"BadRequest\"}}");
	assert_int_equal(graph_classify(&r, err, sizeof err), CALL_DONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urlencode),
		cmocka_unit_test(test_odata_quote),
		cmocka_unit_test(test_user_path),
		cmocka_unit_test(test_filter_path),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_user_parse),
		cmocka_unit_test(test_error_parse),
		cmocka_unit_test(test_call_error),
		cmocka_unit_test(test_classify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
