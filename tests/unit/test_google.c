/*
 * test_google: unit tests for the pure half of the Google Workspace
 * connector (google-proto.c): Admin SDK paths, the transfers.insert body,
 * option parsing, readers for users, token lists, application lists and
 * transfers, Google error bodies and the classifier's decisions (403 rate
 * limits retry, other 403s are final).
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
#include "google-internal.h"

static void
path_is(char *got, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static char *
gerr(int code, const char *reason, const char *msg)
{
	char	*s = NULL;

	assert_true(asprintf(&s, "{\"error\":{\"code\":%d,\"message\":\"%s\","
	    "\"errors\":[{\"message\":\"%s\",\"domain\":\"usageLimits\",\"reason\":"
	    "\"%s\"}]}}", code, msg, msg, reason) > 0);
	return s;
}

static void
test_paths(void **state)
{
	(void)state;
	path_is(google_user_path("jane+x@acme.example", NULL),
	    "/admin/directory/v1/users/jane%2Bx%40acme.example");
	path_is(google_user_path("100000000000000000001", "/signOut"),
	    "/admin/directory/v1/users/100000000000000000001/signOut");
	path_is(google_token_path("1001", "123-abc.apps.googleusercontent.com"),
	    "/admin/directory/v1/users/1001/tokens/"
	    "123-abc.apps.googleusercontent.com");
	path_is(google_token_path("1001", "a/b c"),
	    "/admin/directory/v1/users/1001/tokens/a%2Fb%20c");
	path_is(google_transfers_list_path("1001", NULL),
	    "/admin/datatransfer/v1/transfers?oldOwnerUserId=1001");
	path_is(google_transfers_list_path("1001", "tok/=="),
	    "/admin/datatransfer/v1/transfers?oldOwnerUserId=1001&pageToken=tok%2F%3D%3D");
	path_is(google_apps_path(NULL), "/admin/datatransfer/v1/applications");
	path_is(google_apps_path("p2"), "/admin/datatransfer/v1/applications?pageToken=p2");
	path_is(google_transfer_path("AKrEt/1"), "/admin/datatransfer/v1/transfers/AKrEt%2F1");
	assert_null(google_user_path("", NULL));
	assert_null(google_user_path("a\nb", NULL));
	assert_null(google_token_path("1001", ""));
	assert_string_equal(google_suspend_body(1), "{\"suspended\":true}");
	assert_string_equal(google_suspend_body(0), "{\"suspended\":false}");
}

static void
test_options(void **state)
{
	struct google_options	o;
	char			err[128];
	json_object		*j;

	(void)state;
	assert_int_equal(google_options_parse(NULL, &o, err, sizeof err), 0);
	assert_string_equal(o.drive_app_id, "");
	assert_int_equal(o.poll_ms, 5000);
	assert_int_equal(o.timeout_s, 3600);
	assert_int_equal(o.nlevels, 2);
	assert_string_equal(o.levels[0], "PRIVATE");
	assert_string_equal(o.levels[1], "SHARED");

	j = json_tokener_parse("{\"drive_application_id\":55656082996,"
	    "\"transfer_poll_ms\":100,\"transfer_timeout_s\":30,"
	    "\"privacy_levels\":[\"SHARED\"]}");
	assert_int_equal(google_options_parse(j, &o, err, sizeof err), 0);
	assert_string_equal(o.drive_app_id, "55656082996");
	assert_int_equal(o.poll_ms, 100);
	assert_int_equal(o.timeout_s, 30);
	assert_int_equal(o.nlevels, 1);
	assert_string_equal(o.levels[0], "SHARED");
	json_object_put(j);

	j = json_tokener_parse("{\"privacy_levels\":[\"PUBLIC\"]}");
	assert_int_equal(google_options_parse(j, &o, err, sizeof err), -1);
	json_object_put(j);
	j = json_tokener_parse("{\"privacy_levels\":[\"SHARED\",\"SHARED\"]}");
	assert_int_equal(google_options_parse(j, &o, err, sizeof err), -1);
	json_object_put(j);
	j = json_tokener_parse("{\"transfer_poll_ms\":1}");
	assert_int_equal(google_options_parse(j, &o, err, sizeof err), -1);
	json_object_put(j);
	j = json_tokener_parse("{\"transfer_timeout_s\":\"1h\"}");
	assert_int_equal(google_options_parse(j, &o, err, sizeof err), -1);
	json_object_put(j);
	/* other kinds' options in the same object are not our business */
	j = json_tokener_parse("{\"something_else\":true}");
	assert_int_equal(google_options_parse(j, &o, err, sizeof err), 0);
	json_object_put(j);

	/* The applications a reassign step may name. */
	assert_string_equal(google_transfer_app("Drive"), GOOGLE_DRIVE_APP_NAME);
	assert_string_equal(google_transfer_app("drive"), GOOGLE_DRIVE_APP_NAME);
	assert_null(google_transfer_app("Drvie"));
	assert_null(google_transfer_app("Calendar"));
	assert_null(google_transfer_app(NULL));
}

static void
test_transfer_body(void **state)
{
	struct google_options	 o;
	char			 err[64], *b;

	(void)state;
	assert_int_equal(google_options_parse(NULL, &o, err, sizeof err), 0);
	b = google_transfer_body("1001", "1002", "55656082996", &o);
	assert_non_null(b);
	assert_string_equal(b, "{\"oldOwnerUserId\":\"1001\",\"newOwnerUserId\":"
	    "\"1002\",\"applicationDataTransfers\":[{\"applicationId\":"
	    "\"55656082996\",\"applicationTransferParams\":[{\"key\":"
	    "\"PRIVACY_LEVEL\",\"value\":[\"PRIVATE\",\"SHARED\"]}]}]}");
	free(b);
	assert_null(google_transfer_body("", "1002", "5", &o));
	assert_null(google_transfer_body("1001", "1002", NULL, &o));
}

static void
test_user_and_tokens(void **state)
{
	struct google_user	 u;
	char			 err[128], **ids;
	size_t			 n;
	const char		*b = "{\"kind\":\"admin#directory#user\",\"id\":\"1001\","
				    "\"primaryEmail\":\"j@x.example\",\"suspended\":true}";
	const char		*t = "{\"kind\":\"admin#directory#tokens\",\"items\":["
				    "{\"clientId\":\"a.apps\"},{\"clientId\":\"b.apps\"}]}";

	(void)state;
	assert_int_equal(google_user_parse(b, strlen(b), &u, err, sizeof err), 0);
	assert_string_equal(u.id, "1001");
	assert_string_equal(u.email, "j@x.example");
	assert_int_equal(u.suspended, 1);
	assert_int_equal(google_user_parse("{\"primaryEmail\":\"x\"}", 20, &u, err,
	    sizeof err), -1);

	assert_int_equal(google_tokens_parse(t, strlen(t), &ids, &n, err,
	    sizeof err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], "a.apps");
	assert_string_equal(ids[1], "b.apps");
	google_ids_free(ids, n);
	/* no tokens: Google leaves "items" out */
	assert_int_equal(google_tokens_parse("{\"kind\":\"k\"}", 12, &ids, &n, err,
	    sizeof err), 0);
	assert_int_equal(n, 0);
	assert_null(ids);
	assert_int_equal(google_tokens_parse("{\"items\":[{}]}", 14, &ids, &n, err,
	    sizeof err), -1);
	assert_int_equal(google_tokens_parse("[]", 2, &ids, &n, err, sizeof err), -1);
}

static void
test_apps_and_transfers(void **state)
{
	char			 id[64], next[64], err[128];
	struct google_transfer	 t;
	const char *apps = "{\"applications\":[{\"id\":\"435070579839\",\"name\":"
	    "\"Calendar\"},{\"id\":55656082996,\"name\":\"Drive and Docs\"}]}";
	const char *apps2 = "{\"applications\":[{\"id\":\"1\",\"name\":\"Calendar\"}],"
	    "\"nextPageToken\":\"p2\"}";
	const char *list = "{\"dataTransfers\":[{\"id\":\"T1\",\"oldOwnerUserId\":"
	    "\"1001\",\"newOwnerUserId\":\"1002\",\"overallTransferStatusCode\":"
	    "\"completed\",\"applicationDataTransfers\":[{\"applicationId\":"
	    "\"55656082996\"}]},{\"id\":\"T2\",\"oldOwnerUserId\":\"1001\","
	    "\"newOwnerUserId\":\"1003\",\"overallTransferStatusCode\":\"inProgress\","
	    "\"applicationDataTransfers\":[{\"applicationId\":\"55656082996\"}]},"
	    "{\"id\":\"T3\",\"oldOwnerUserId\":\"1001\",\"newOwnerUserId\":\"1002\","
	    "\"overallTransferStatusCode\":\"new\",\"applicationDataTransfers\":"
	    "[{\"applicationId\":55656082996}]}],\"nextPageToken\":\"n\"}";

	(void)state;
	assert_int_equal(google_apps_find(apps, strlen(apps), id, sizeof id, next,
	    sizeof next, err, sizeof err), 1);
	assert_string_equal(id, "55656082996");
	assert_int_equal(google_apps_find(apps2, strlen(apps2), id, sizeof id, next,
	    sizeof next, err, sizeof err), 0);
	assert_string_equal(next, "p2");
	assert_int_equal(google_apps_find("x", 1, id, sizeof id, next, sizeof next,
	    err, sizeof err), -1);

	/* a pending transfer to the same new owner (T3: "new"), not T1 or T2 */
	assert_int_equal(google_transfers_find(list, strlen(list), "1002",
	    "55656082996", &t, next, sizeof next, err, sizeof err), 1);
	assert_string_equal(t.id, "T3");
	assert_int_equal(t.state, GOOGLE_TRANSFER_PENDING);
	assert_int_equal(google_transfers_find(list, strlen(list), "1009",
	    "55656082996", &t, next, sizeof next, err, sizeof err), 0);
	assert_string_equal(next, "n");
	assert_int_equal(google_transfers_find("{}", 2, "1002", "5", &t, next,
	    sizeof next, err, sizeof err), 0);
	assert_string_equal(next, "");

	{
		const char *one = "{\"id\":\"T9\",\"overallTransferStatusCode\":\"failed\"}";
		assert_int_equal(google_transfer_parse(one, strlen(one), "5", &t, err,
		    sizeof err), 0);
		assert_int_equal(t.state, GOOGLE_TRANSFER_FAILED);
		assert_int_equal(t.has_app, 0);
	}
	assert_int_equal(google_transfer_parse("{}", 2, NULL, &t, err, sizeof err), -1);
}

static void
test_errors_and_classify(void **state)
{
	struct http_response	 r;
	struct target_result	 res;
	char			 reason[64], msg[256], err[256], *b;

	(void)state;
	b = gerr(403, "userRateLimitExceeded", "Quota exceeded");
	assert_int_equal(google_error_parse(b, strlen(b), reason, sizeof reason, msg,
	    sizeof msg), 0);
	assert_string_equal(reason, "userRateLimitExceeded");
	assert_string_equal(msg, "Quota exceeded");
	r = resp_make(403, b);
	assert_int_equal(google_classify(&r, err, sizeof err), CALL_RETRY);
	assert_string_equal(err, "userRateLimitExceeded: Quota exceeded");
	free(b);
	b = gerr(403, "rateLimitExceeded", "x");
	r = resp_make(403, b);
	assert_int_equal(google_classify(&r, err, sizeof err), CALL_RETRY);
	free(b);
	b = gerr(403, "quotaExceeded", "x");
	r = resp_make(403, b);
	assert_int_equal(google_classify(&r, err, sizeof err), CALL_RETRY);
	free(b);
	b = gerr(403, "forbidden", "Not Authorized to access this resource/api");
	r = resp_make(403, b);
	assert_int_equal(google_classify(&r, err, sizeof err), CALL_DONE);
	memset(&res, 0, sizeof res);
	res.resp = &r;
	res.attempts = 1;
	google_call_error(&res, err, sizeof err);
	assert_string_equal(err, "HTTP 403 forbidden: Not Authorized to access this "
	    "resource/api");
	free(b);
	b = gerr(403, "insufficientPermissions", "x");
	r = resp_make(403, b);
	assert_int_equal(google_classify(&r, err, sizeof err), CALL_DONE);
	free(b);
	b = gerr(429, "rateLimitExceeded", "x");
	r = resp_make(429, b);
	assert_int_equal(google_classify(&r, err, sizeof err), CALL_RETRY);
	free(b);
	r = resp_make(429, "");
	assert_int_equal(google_classify(&r, err, sizeof err), CALL_RETRY);
	b = gerr(401, "authError", "Invalid Credentials");
	r = resp_make(401, b);
	assert_int_equal(google_classify(&r, err, sizeof err), CALL_REAUTH);
	free(b);
	b = gerr(404, "notFound", "Resource Not Found: userKey");
	r = resp_make(404, b);
	assert_int_equal(google_classify(&r, err, sizeof err), CALL_DONE);
	assert_true(google_not_found(&r));
	free(b);
	r = resp_make(503, "");
	assert_int_equal(google_classify(&r, err, sizeof err), CALL_DEFAULT);
	r = resp_make(200, "{}");
	assert_int_equal(google_classify(&r, err, sizeof err), CALL_DEFAULT);
	assert_int_equal(google_error_parse("{\"error\":\"invalid_grant\"}", 25,
	    reason, sizeof reason, msg, sizeof msg), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_transfer_body),
		cmocka_unit_test(test_user_and_tokens),
		cmocka_unit_test(test_apps_and_transfers),
		cmocka_unit_test(test_errors_and_classify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
