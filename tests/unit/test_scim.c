/*
 * test_scim: unit tests for the pure half of the SCIM 2.0 connector
 * (scim-proto.c): filter quoting and escaping against injection, URL
 * encoding of filters and ids, PatchOp bodies in both styles, If-Match,
 * options and presets, User and ListResponse parsing (including the check
 * that a returned resource matches the filter), SCIM error bodies and the
 * response classifier.
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

#include "deprov/http.h"
#include "deprov/target.h"

#include "connector_resp.h"
#include "scim-internal.h"

static void
filter_is(const char *attr, const char *value, const char *want)
{
	char	out[SCIM_FILTER_MAX + 64];

	assert_int_equal(scim_filter_eq(out, sizeof out, attr, value), 0);
	assert_string_equal(out, want);
}

static void
test_filter_plain(void **state)
{
	(void)state;
	filter_is("userName", "jane.doe@acme.example",
	    "userName eq \"jane.doe@acme.example\"");
	filter_is("externalId", "E12345", "externalId eq \"E12345\"");
	filter_is("emails.value", "Jane@Acme.example",
	    "emails.value eq \"Jane@Acme.example\"");
	/* UTF-8 goes through as is (JSON strings are Unicode). */
	filter_is("userName", "Zoë Ünïcødé", "userName eq \"Zoë Ünïcødé\"");
	/* Single quotes and parentheses mean nothing inside a JSON string. */
	filter_is("userName", "o'brien (x)", "userName eq \"o'brien (x)\"");
}

static void
test_filter_injection(void **state)
{
	char	out[SCIM_FILTER_MAX + 64], *path;

	(void)state;
	/* The quote is escaped, so the rest stays inside the value. */
	filter_is("userName", "a\" or userName pr",
	    "userName eq \"a\\\" or userName pr\"");
	filter_is("userName", "a\") or (userName pr",
	    "userName eq \"a\\\") or (userName pr\"");
	/* A backslash cannot eat our closing quote. */
	filter_is("userName", "a\\", "userName eq \"a\\\\\"");
	filter_is("userName", "a\\\" or active eq true or \"",
	    "userName eq \"a\\\\\\\" or active eq true or \\\"\"");
	/* Control characters (a newline in a name) are refused, not escaped. */
	assert_int_equal(scim_filter_eq(out, sizeof out, "userName", "a\nb"), -1);
	assert_int_equal(scim_filter_eq(out, sizeof out, "userName", "a\tb"), -1);
	assert_int_equal(scim_filter_eq(out, sizeof out, "userName", "a\x7f"), -1);
	/* Invalid UTF-8 would make an invalid JSON string. */
	assert_int_equal(scim_filter_eq(out, sizeof out, "userName", "a\xff"), -1);
	assert_int_equal(scim_filter_eq(out, sizeof out, "userName", "a\xc3"), -1);
	assert_int_equal(scim_filter_eq(out, sizeof out, "userName", "\xc0\xaf"), -1);
	assert_int_equal(scim_filter_eq(out, sizeof out, "userName",
	    "\xed\xa0\x80"), -1);	/* a surrogate */
	assert_int_equal(scim_filter_eq(out, sizeof out, "userName", ""), -1);
	assert_int_equal(scim_filter_eq(out, sizeof out, "userName", NULL), -1);
	/* And the whole filter is URL-encoded: no raw quote, space or &. */
	assert_int_equal(scim_filter_eq(out, sizeof out, "userName",
	    "a\" or userName pr&count=1000"), 0);
	path = scim_list_path(out);
	assert_non_null(path);
	assert_string_equal(path, "/Users?filter=userName%20eq%20%22a%5C%22%20or"
	    "%20userName%20pr%26count%3D1000%22");
	free(path);
}

static void
test_filter_limits(void **state)
{
	char	big[SCIM_VALUE_MAX + 2], out[SCIM_FILTER_MAX + 64], small[8];

	(void)state;
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(scim_filter_eq(out, sizeof out, "userName", big), -1);
	big[SCIM_VALUE_MAX] = '\0';
	assert_int_equal(scim_filter_eq(out, sizeof out, "userName", big), 0);
	/* A value of quotes doubles in size and still fits. */
	memset(big, '"', SCIM_VALUE_MAX);
	assert_int_equal(scim_filter_eq(out, sizeof out, "userName", big), 0);
	assert_int_equal(strlen(out), strlen("userName eq \"\"") +
	    2 * SCIM_VALUE_MAX);
	assert_int_equal(scim_filter_escape("abcdefgh", small, sizeof small), -1);
	assert_int_equal(scim_filter_escape("abc\"", small, sizeof small), 5);
	assert_string_equal(small, "abc\\\"");
}

static void
test_user_path(void **state)
{
	char	*p;

	(void)state;
	p = scim_user_path("2819c223-7f76-453a-919d-413861904646");
	assert_string_equal(p, "/Users/2819c223-7f76-453a-919d-413861904646");
	free(p);
	p = scim_user_path("a/b c?d#e%");
	assert_string_equal(p, "/Users/a%2Fb%20c%3Fd%23e%25");
	free(p);
	assert_null(scim_user_path(""));
	assert_null(scim_user_path(NULL));
	assert_null(scim_user_path("a\r\nb"));
	assert_int_equal(scim_id_valid("U012ABCDEF"), 1);
	assert_int_equal(scim_id_valid("a\x01"), 0);
}

static void
test_patch_bodies(void **state)
{
	char		*b;
	json_object	*root, *ops, *op, *v, *val;

	(void)state;
	b = scim_patch_active_body(0, SCIM_PATCH_PATH);
	assert_string_equal(b, "{\"schemas\":[\"urn:ietf:params:scim:api:messages:"
	    "2.0:PatchOp\"],\"Operations\":[{\"op\":\"replace\",\"path\":"
	    "\"active\",\"value\":false}]}");
	root = json_tokener_parse(b);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "Operations", &ops));
	op = json_object_array_get_idx(ops, 0);
	assert_true(json_object_object_get_ex(op, "value", &v));
	assert_true(json_object_is_type(v, json_type_boolean));
	assert_false(json_object_get_boolean(v));
	json_object_put(root);
	free(b);

	b = scim_patch_active_body(1, SCIM_PATCH_PATH);
	assert_non_null(strstr(b, "\"path\":\"active\",\"value\":true"));
	free(b);

	b = scim_patch_active_body(0, SCIM_PATCH_PATHLESS);
	assert_string_equal(b, "{\"schemas\":[\"urn:ietf:params:scim:api:messages:"
	    "2.0:PatchOp\"],\"Operations\":[{\"op\":\"replace\",\"value\":"
	    "{\"active\":false}}]}");
	root = json_tokener_parse(b);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "Operations", &ops));
	op = json_object_array_get_idx(ops, 0);
	assert_false(json_object_object_get_ex(op, "path", NULL));
	assert_true(json_object_object_get_ex(op, "value", &v));
	assert_true(json_object_object_get_ex(v, "active", &val));
	assert_false(json_object_get_boolean(val));
	json_object_put(root);
	free(b);

	b = scim_patch_active_body(1, SCIM_PATCH_PATHLESS);
	assert_non_null(strstr(b, "\"value\":{\"active\":true}"));
	free(b);
}

static void
test_if_match(void **state)
{
	char	out[64];

	(void)state;
	assert_int_equal(scim_if_match(out, sizeof out, "W/\"3694e05e9dff590\""), 0);
	assert_string_equal(out, "If-Match: W/\"3694e05e9dff590\"");
	assert_int_equal(scim_if_match(out, sizeof out, ""), -1);
	assert_int_equal(scim_if_match(out, sizeof out, NULL), -1);
	/* A server-given value must never split our header. */
	assert_int_equal(scim_if_match(out, sizeof out, "W/\"1\"\r\nX-Evil: 1"), -1);
	assert_int_equal(scim_if_match(out, 8, "W/\"123456789\""), -1);
}

static json_object *
jparse(const char *s)
{
	json_object	*o = json_tokener_parse(s);

	assert_non_null(o);
	return o;
}

static void
test_opts(void **state)
{
	struct scim_opts	 o;
	json_object		*j;
	char			 err[256];

	(void)state;
	assert_int_equal(scim_opts_parse(NULL, &o, err, sizeof err), 0);
	assert_null(o.preset);
	assert_int_equal(o.patch_style, SCIM_PATCH_PATH);
	assert_int_equal(o.use_etag, 1);
	assert_int_equal(o.delete_deactivates, 0);
	assert_null(o.irreversible);
	assert_int_equal(o.nlookups, 3);
	assert_int_equal(o.lookups[0], SCIM_BY_USERNAME);
	assert_int_equal(o.lookups[1], SCIM_BY_EMAIL);
	assert_int_equal(o.lookups[2], SCIM_BY_EXTERNAL_ID);

	j = jparse("{\"preset\":\"slack\"}");
	assert_int_equal(scim_opts_parse(j, &o, err, sizeof err), 0);
	assert_string_equal(o.preset, "slack");
	assert_int_equal(o.delete_deactivates, 1);
	assert_null(o.irreversible);
	assert_int_equal(o.patch_style, SCIM_PATCH_PATH);
	json_object_put(j);

	j = jparse("{\"preset\":\"github\"}");
	assert_int_equal(scim_opts_parse(j, &o, err, sizeof err), 0);
	assert_int_equal(o.patch_style, SCIM_PATCH_PATHLESS);
	assert_non_null(o.irreversible);
	assert_int_equal(o.delete_deactivates, 0);
	json_object_put(j);

	/* Keys override the preset whatever their order. */
	j = jparse("{\"patch_style\":\"path\",\"preset\":\"github\",\"etag\":false,"
	    "\"resolve_by\":[\"externalId\",\"emails\",\"externalId\"]}");
	assert_int_equal(scim_opts_parse(j, &o, err, sizeof err), 0);
	assert_int_equal(o.patch_style, SCIM_PATCH_PATH);
	assert_int_equal(o.use_etag, 0);
	assert_int_equal(o.nlookups, 2);
	assert_int_equal(o.lookups[0], SCIM_BY_EXTERNAL_ID);
	assert_int_equal(o.lookups[1], SCIM_BY_EMAILS);
	json_object_put(j);

	j = jparse("{\"preset\":\"zoom\"}");
	assert_int_equal(scim_opts_parse(j, &o, err, sizeof err), 0);
	assert_non_null(o.irreversible);
	assert_int_equal(o.patch_style, SCIM_PATCH_PATH);
	json_object_put(j);

	j = jparse("{\"preset\":\"okta\"}");
	assert_int_equal(scim_opts_parse(j, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown preset"));
	json_object_put(j);
	j = jparse("{\"patch-style\":\"pathless\"}");
	assert_int_equal(scim_opts_parse(j, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown key 'patch-style'"));
	json_object_put(j);
	j = jparse("{\"patch_style\":\"value\"}");
	assert_int_equal(scim_opts_parse(j, &o, err, sizeof err), -1);
	json_object_put(j);
	j = jparse("{\"resolve_by\":[]}");
	assert_int_equal(scim_opts_parse(j, &o, err, sizeof err), -1);
	json_object_put(j);
	j = jparse("{\"resolve_by\":[\"nickName\"]}");
	assert_int_equal(scim_opts_parse(j, &o, err, sizeof err), -1);
	json_object_put(j);
	j = jparse("{\"etag\":\"yes\"}");
	assert_int_equal(scim_opts_parse(j, &o, err, sizeof err), -1);
	json_object_put(j);
	j = jparse("[]");
	assert_int_equal(scim_opts_parse(j, &o, err, sizeof err), -1);
	json_object_put(j);

	assert_non_null(scim_preset_irreversible("github"));
	assert_null(scim_preset_irreversible("slack"));
	assert_null(scim_preset_irreversible(NULL));
	assert_string_equal(scim_lookup_name(SCIM_BY_EXTERNAL_ID), "externalId");
}

static void
test_user_parse(void **state)
{
	struct scim_user	 u;
	char			 err[128];
	const char		*body =
	    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
	    "\"id\":\"2819c223\",\"userName\":\"bjensen\",\"active\":true,"
	    "\"meta\":{\"resourceType\":\"User\",\"version\":\"W/\\\"a330bc54f0671c9\\\"\"}}";

	(void)state;
	assert_int_equal(scim_user_parse(body, strlen(body), NULL, &u, err,
	    sizeof err), 0);
	assert_string_equal(u.id, "2819c223");
	assert_int_equal(u.active, 1);
	assert_string_equal(u.etag, "W/\"a330bc54f0671c9\"");
	/* The ETag header wins over meta.version. */
	assert_int_equal(scim_user_parse(body, strlen(body), "W/\"b\"", &u, err,
	    sizeof err), 0);
	assert_string_equal(u.etag, "W/\"b\"");

	body = "{\"id\":\"x\",\"active\":false}";
	assert_int_equal(scim_user_parse(body, strlen(body), NULL, &u, err,
	    sizeof err), 0);
	assert_int_equal(u.active, 0);
	assert_string_equal(u.etag, "");
	body = "{\"id\":\"x\",\"active\":\"False\"}";
	assert_int_equal(scim_user_parse(body, strlen(body), NULL, &u, err,
	    sizeof err), 0);
	assert_int_equal(u.active, 0);
	body = "{\"id\":\"x\"}";
	assert_int_equal(scim_user_parse(body, strlen(body), NULL, &u, err,
	    sizeof err), 0);
	assert_int_equal(u.active, -1);
	/* An unusable ETag is dropped, never sent back. */
	body = "{\"id\":\"x\",\"meta\":{\"version\":\"W/\\\"1\\\"\\r\\nX: y\"}}";
	assert_int_equal(scim_user_parse(body, strlen(body), NULL, &u, err,
	    sizeof err), 0);
	assert_string_equal(u.etag, "");

	body = "{\"userName\":\"x\"}";
	assert_int_equal(scim_user_parse(body, strlen(body), NULL, &u, err,
	    sizeof err), -1);
	body = "<html>";
	assert_int_equal(scim_user_parse(body, strlen(body), NULL, &u, err,
	    sizeof err), -1);
	assert_int_equal(scim_user_parse("", 0, NULL, &u, err, sizeof err), -1);
}

static int
list_is(const char *body, const char *attr, const char *value,
    struct scim_user *u, long long *total)
{
	char	err[128];

	return scim_list_parse(body, strlen(body), attr, value, u, total, err,
	    sizeof err);
}

static void
test_list_parse(void **state)
{
	struct scim_user	 u;
	long long		 total;

	(void)state;
	/* Zero results, with or without an (empty) Resources. */
	assert_int_equal(list_is("{\"schemas\":[\"" SCIM_SCHEMA_LIST "\"],"
	    "\"totalResults\":0,\"Resources\":[]}", "userName", "a", &u, &total),
	    SCIM_LIST_NONE);
	assert_int_equal(list_is("{\"totalResults\":0,\"itemsPerPage\":0,"
	    "\"startIndex\":1}", "userName", "a", &u, &total), SCIM_LIST_NONE);
	/* One, matching without case (userName is caseExact false). */
	assert_int_equal(list_is("{\"totalResults\":1,\"itemsPerPage\":1,"
	    "\"Resources\":[{\"id\":\"u1\",\"userName\":\"Jane@Acme.example\","
	    "\"active\":true,\"meta\":{\"version\":\"W/\\\"7\\\"\"}}]}",
	    "userName", "jane@acme.example", &u, &total), SCIM_LIST_ONE);
	assert_string_equal(u.id, "u1");
	assert_int_equal(u.active, 1);
	assert_string_equal(u.etag, "W/\"7\"");
	assert_int_equal(total, 1);
	/* externalId is caseExact. */
	assert_int_equal(list_is("{\"totalResults\":1,\"Resources\":[{\"id\":"
	    "\"u1\",\"externalId\":\"e12\"}]}", "externalId", "E12", &u, &total),
	    SCIM_LIST_MISMATCH);
	assert_int_equal(list_is("{\"totalResults\":1,\"Resources\":[{\"id\":"
	    "\"u1\",\"externalId\":\"E12\"}]}", "externalId", "E12", &u, &total),
	    SCIM_LIST_ONE);
	/* emails.value: any of the addresses. */
	assert_int_equal(list_is("{\"totalResults\":1,\"Resources\":[{\"id\":"
	    "\"u1\",\"emails\":[{\"value\":\"x@y\"},{\"value\":\"Jane@A\"}]}]}",
	    "emails.value", "jane@a", &u, &total), SCIM_LIST_ONE);
	/* A server ignoring the filter answers someone else. */
	assert_int_equal(list_is("{\"totalResults\":1,\"Resources\":[{\"id\":"
	    "\"u9\",\"userName\":\"mallory\"}]}", "userName", "jane", &u, &total),
	    SCIM_LIST_MISMATCH);
	/* Several: ambiguous, whatever the page holds. */
	assert_int_equal(list_is("{\"totalResults\":2,\"itemsPerPage\":1,"
	    "\"Resources\":[{\"id\":\"u1\",\"userName\":\"jane\"}]}", "userName",
	    "jane", &u, &total), SCIM_LIST_MANY);
	assert_int_equal(total, 2);
	assert_int_equal(list_is("{\"totalResults\":1,\"Resources\":[{\"id\":"
	    "\"u1\"},{\"id\":\"u2\"}]}", "userName", "jane", &u, &total),
	    SCIM_LIST_MANY);
	assert_int_equal(total, 2);
	/* Broken answers. */
	assert_int_equal(list_is("{\"totalResults\":1,\"Resources\":[]}",
	    "userName", "a", &u, &total), -1);
	assert_int_equal(list_is("{\"totalResults\":\"1\"}", "userName", "a", &u,
	    &total), -1);
	assert_int_equal(list_is("{\"Resources\":{}}", "userName", "a", &u,
	    &total), -1);
	assert_int_equal(list_is("[]", "userName", "a", &u, &total), -1);
	assert_int_equal(list_is("{\"totalResults\":1,\"Resources\":[{\"userName\":"
	    "\"a\"}]}", "userName", "a", &u, &total), -1);
	/* Lenient: no totalResults but Resources. */
	assert_int_equal(list_is("{\"Resources\":[{\"id\":\"u1\",\"userName\":"
	    "\"a\"}]}", "userName", "a", &u, &total), SCIM_LIST_ONE);
}

static void
test_error_parse(void **state)
{
	char		 st[16], type[64], detail[128];
	const char	*b;

	(void)state;
	b = "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],"
	    "\"scimType\":\"invalidFilter\",\"detail\":\"Request is unparsable\","
	    "\"status\":\"400\"}";
	assert_int_equal(scim_error_parse(b, strlen(b), st, sizeof st, type,
	    sizeof type, detail, sizeof detail), 0);
	assert_string_equal(st, "400");
	assert_string_equal(type, "invalidFilter");
	assert_string_equal(detail, "Request is unparsable");
	/* status as a number, no scimType, a newline in detail */
	b = "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],"
	    "\"status\":412,\"detail\":\"changed\\nsince\"}";
	assert_int_equal(scim_error_parse(b, strlen(b), st, sizeof st, type,
	    sizeof type, detail, sizeof detail), 0);
	assert_string_equal(st, "412");
	assert_string_equal(type, "");
	assert_string_equal(detail, "changed since");
	/* without schemas but with SCIM members */
	b = "{\"detail\":\"Too many requests\",\"status\":\"429\"}";
	assert_int_equal(scim_error_parse(b, strlen(b), st, sizeof st, type,
	    sizeof type, detail, sizeof detail), 0);
	b = "{\"message\":\"nope\"}";
	assert_int_equal(scim_error_parse(b, strlen(b), st, sizeof st, type,
	    sizeof type, detail, sizeof detail), -1);
	b = "Service Unavailable";
	assert_int_equal(scim_error_parse(b, strlen(b), st, sizeof st, type,
	    sizeof type, detail, sizeof detail), -1);
	assert_int_equal(scim_error_parse(NULL, 0, st, sizeof st, type,
	    sizeof type, detail, sizeof detail), -1);
}

static void
test_call_error(void **state)
{
	struct http_response	r;
	struct target_result	res;
	char			out[256];

	(void)state;
	r = resp_make(409, "{\"schemas\":[\"urn:ietf:params:scim:api:messages:"
	    "2.0:Error\"],\"status\":\"409\",\"scimType\":\"uniqueness\","
	    "\"detail\":\"userName taken\"}");
	memset(&res, 0, sizeof res);
	res.resp = &r;
	res.attempts = 1;
	res.error = "HTTP 409: uniqueness: userName taken";
	scim_call_error(&res, out, sizeof out);
	assert_string_equal(out, "HTTP 409 uniqueness: userName taken");
	res.attempts = 3;
	scim_call_error(&res, out, sizeof out);
	assert_string_equal(out, "HTTP 409 uniqueness: userName taken (after 3 "
	    "attempts)");
	r = resp_make(503, "<html>down</html>");
	res.error = "HTTP 503 after 3 attempts: <html>down</html>";
	scim_call_error(&res, out, sizeof out);
	assert_string_equal(out, "HTTP 503 after 3 attempts: <html>down</html>");
	res.resp = NULL;
	res.error = "timeout after 2 attempts";
	scim_call_error(&res, out, sizeof out);
	assert_string_equal(out, "timeout after 2 attempts");
}

static void
test_classify(void **state)
{
	struct http_response	r;
	char			err[256];

	(void)state;
	r = resp_make(200, "{}");
	assert_int_equal(scim_classify(&r, err, sizeof err), CALL_DEFAULT);
	r = resp_make(204, "");
	assert_int_equal(scim_classify(&r, err, sizeof err), CALL_DEFAULT);
	err[0] = '\0';
	r = resp_make(412, "{\"schemas\":[\"urn:ietf:params:scim:api:messages:"
	    "2.0:Error\"],\"status\":\"412\",\"detail\":\"version mismatch\"}");
	assert_int_equal(scim_classify(&r, err, sizeof err), CALL_DONE);
	assert_string_equal(err, "version mismatch");
	r = resp_make(429, "{\"schemas\":[\"urn:ietf:params:scim:api:messages:"
	    "2.0:Error\"],\"status\":\"429\",\"detail\":\"slow down\"}");
	assert_int_equal(scim_classify(&r, err, sizeof err), CALL_DEFAULT);
	r = resp_make(400, "{\"schemas\":[\"urn:ietf:params:scim:api:messages:"
	    "2.0:Error\"],\"status\":\"400\",\"scimType\":\"invalidFilter\","
	    "\"detail\":\"bad\"}");
	assert_int_equal(scim_classify(&r, err, sizeof err), CALL_DEFAULT);
	assert_string_equal(err, "invalidFilter: bad");
	r = resp_make(503, "oops");
	assert_int_equal(scim_classify(&r, err, sizeof err), CALL_DEFAULT);
	r = resp_make(0, "");
	assert_int_equal(scim_classify(&r, err, sizeof err), CALL_DEFAULT);
	assert_int_equal(scim_classify(NULL, err, sizeof err), CALL_DEFAULT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_plain),
		cmocka_unit_test(test_filter_injection),
		cmocka_unit_test(test_filter_limits),
		cmocka_unit_test(test_user_path),
		cmocka_unit_test(test_patch_bodies),
		cmocka_unit_test(test_if_match),
		cmocka_unit_test(test_opts),
		cmocka_unit_test(test_user_parse),
		cmocka_unit_test(test_list_parse),
		cmocka_unit_test(test_error_parse),
		cmocka_unit_test(test_call_error),
		cmocka_unit_test(test_classify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
