/*
 * test_okta: unit tests for the pure half of the Okta connector
 * (okta-proto.c): the status decisions of every lifecycle step for every
 * status (the calls are not idempotent, so these decide whether a call is
 * made at all), user parsing, paths, error bodies with their causes, and
 * the response classifier.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "deprov/http.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

#include "connector_resp.h"
#include "okta-internal.h"

static void
test_status_names(void **state)
{
	int	i;

	(void)state;
	for (i = OKTA_STAGED; i <= OKTA_DEPROVISIONED; i++)
		assert_int_equal(okta_status_parse(okta_status_name(
		    (enum okta_status)i)), i);
	assert_int_equal(okta_status_parse("active"), OKTA_UNKNOWN);
	assert_int_equal(okta_status_parse("FROZEN"), OKTA_UNKNOWN);
	assert_int_equal(okta_status_parse(NULL), OKTA_NONE);
}

static struct okta_user
user_with(enum okta_status st, enum okta_status tr)
{
	struct okta_user	u;

	memset(&u, 0, sizeof u);
	strcpy(u.id, "00ub0oNGTSWTBKOLGLNR");
	u.status = st;
	u.transitioning = tr;
	strcpy(u.status_name, okta_status_name(st));
	return u;
}

static enum okta_action
decide(enum step_kind k, enum okta_status st, enum okta_status tr)
{
	struct okta_user	 u = user_with(st, tr);
	const char		*why = NULL;
	enum okta_action	 a;

	a = okta_decide(k, &u, &why);
	assert_non_null(why);
	if (a != OKTA_ACT_CALL)
		assert_true(why[0] != '\0');
	return a;
}

static void
test_decide_freeze(void **state)
{
	(void)state;
	/* Suspend only from ACTIVE. */
	assert_int_equal(decide(STEP_FREEZE, OKTA_ACTIVE, OKTA_NONE), OKTA_ACT_CALL);
	/* Already contained: no call (a second suspend would be a 400). */
	assert_int_equal(decide(STEP_FREEZE, OKTA_SUSPENDED, OKTA_NONE),
	    OKTA_ACT_DONE);
	assert_int_equal(decide(STEP_FREEZE, OKTA_DEPROVISIONED, OKTA_NONE),
	    OKTA_ACT_DONE);
	assert_int_equal(decide(STEP_FREEZE, OKTA_ACTIVE, OKTA_DEPROVISIONED),
	    OKTA_ACT_DONE);
	/* Cannot sign in: nothing to suspend. */
	assert_int_equal(decide(STEP_FREEZE, OKTA_STAGED, OKTA_NONE), OKTA_ACT_SKIP);
	assert_int_equal(decide(STEP_FREEZE, OKTA_PROVISIONED, OKTA_NONE),
	    OKTA_ACT_SKIP);
	/* Can sign in, but Okta will not suspend. */
	assert_int_equal(decide(STEP_FREEZE, OKTA_RECOVERY, OKTA_NONE),
	    OKTA_ACT_UNSUSPENDABLE);
	assert_int_equal(decide(STEP_FREEZE, OKTA_PASSWORD_EXPIRED, OKTA_NONE),
	    OKTA_ACT_UNSUSPENDABLE);
	assert_int_equal(decide(STEP_FREEZE, OKTA_LOCKED_OUT, OKTA_NONE),
	    OKTA_ACT_UNSUSPENDABLE);
	assert_int_equal(decide(STEP_FREEZE, OKTA_UNKNOWN, OKTA_NONE),
	    OKTA_ACT_FAIL);
}

static void
test_decide_deactivate(void **state)
{
	int	s;

	(void)state;
	for (s = OKTA_STAGED; s < OKTA_DEPROVISIONED; s++)
		assert_int_equal(decide(STEP_DEACTIVATE, (enum okta_status)s,
		    OKTA_NONE), OKTA_ACT_CALL);
	assert_int_equal(decide(STEP_DEACTIVATE, OKTA_DEPROVISIONED, OKTA_NONE),
	    OKTA_ACT_DONE);
	assert_int_equal(decide(STEP_DEACTIVATE, OKTA_SUSPENDED,
	    OKTA_DEPROVISIONED), OKTA_ACT_DONE);
	assert_int_equal(decide(STEP_DEACTIVATE, OKTA_UNKNOWN, OKTA_NONE),
	    OKTA_ACT_FAIL);
}

static void
test_decide_unfreeze(void **state)
{
	int	s;

	(void)state;
	assert_int_equal(decide(STEP_UNFREEZE, OKTA_SUSPENDED, OKTA_NONE),
	    OKTA_ACT_CALL);
	for (s = OKTA_STAGED; s < OKTA_SUSPENDED; s++)
		assert_int_equal(decide(STEP_UNFREEZE, (enum okta_status)s,
		    OKTA_NONE), OKTA_ACT_DONE);
	/* unsuspend cannot bring back a deactivated user: a human must. */
	assert_int_equal(decide(STEP_UNFREEZE, OKTA_DEPROVISIONED, OKTA_NONE),
	    OKTA_ACT_FAIL);
	assert_int_equal(decide(STEP_UNFREEZE, OKTA_SUSPENDED,
	    OKTA_DEPROVISIONED), OKTA_ACT_FAIL);
	/* Steps without a status rule just call. */
	assert_int_equal(decide(STEP_REVOKE_TOKENS, OKTA_DEPROVISIONED,
	    OKTA_NONE), OKTA_ACT_CALL);
}

static void
test_decide_reactivate(void **state)
{
	struct okta_user	 u;
	const char		*suffix = NULL, *why;

	(void)state;
	/* Suspended: unsuspend. Deactivated: activate, without an email. */
	assert_int_equal(decide(STEP_REACTIVATE, OKTA_SUSPENDED, OKTA_NONE),
	    OKTA_ACT_CALL);
	u = user_with(OKTA_SUSPENDED, OKTA_NONE);
	assert_string_equal(okta_lifecycle_op(STEP_REACTIVATE, &u, &suffix),
	    "unsuspend");
	assert_string_equal(suffix, "/lifecycle/unsuspend");
	assert_int_equal(decide(STEP_REACTIVATE, OKTA_DEPROVISIONED, OKTA_NONE),
	    OKTA_ACT_CALL);
	u = user_with(OKTA_DEPROVISIONED, OKTA_NONE);
	assert_string_equal(okta_lifecycle_op(STEP_REACTIVATE, &u, &suffix),
	    "activate");
	assert_string_equal(suffix, "/lifecycle/activate?sendEmail=false");
	/* Nothing to bring back: no call (activate on ACTIVE is a 403). */
	assert_int_equal(decide(STEP_REACTIVATE, OKTA_ACTIVE, OKTA_NONE),
	    OKTA_ACT_DONE);
	u = user_with(OKTA_ACTIVE, OKTA_NONE);
	okta_decide(STEP_REACTIVATE, &u, &why);
	assert_string_equal(why, "already active");
	assert_int_equal(decide(STEP_REACTIVATE, OKTA_DEPROVISIONED,
	    OKTA_ACTIVE), OKTA_ACT_DONE);
	assert_int_equal(decide(STEP_REACTIVATE, OKTA_PROVISIONED, OKTA_NONE),
	    OKTA_ACT_DONE);
	u = user_with(OKTA_PROVISIONED, OKTA_NONE);
	okta_decide(STEP_REACTIVATE, &u, &why);
	assert_non_null(strstr(why, "PROVISIONED"));
	assert_int_equal(decide(STEP_REACTIVATE, OKTA_RECOVERY, OKTA_NONE),
	    OKTA_ACT_DONE);
	assert_int_equal(decide(STEP_REACTIVATE, OKTA_PASSWORD_EXPIRED,
	    OKTA_NONE), OKTA_ACT_DONE);
	assert_int_equal(decide(STEP_REACTIVATE, OKTA_LOCKED_OUT, OKTA_NONE),
	    OKTA_ACT_DONE);
	/* Never activated: nothing was taken away. */
	assert_int_equal(decide(STEP_REACTIVATE, OKTA_STAGED, OKTA_NONE),
	    OKTA_ACT_SKIP);
	/* Half-way to DEPROVISIONED: not now. */
	assert_int_equal(decide(STEP_REACTIVATE, OKTA_SUSPENDED,
	    OKTA_DEPROVISIONED), OKTA_ACT_FAIL);
	assert_int_equal(decide(STEP_REACTIVATE, OKTA_UNKNOWN, OKTA_NONE),
	    OKTA_ACT_FAIL);

	/* The other kinds' operations are unchanged. */
	u = user_with(OKTA_ACTIVE, OKTA_NONE);
	assert_string_equal(okta_lifecycle_op(STEP_FREEZE, &u, &suffix),
	    "suspend");
	assert_string_equal(suffix, "/lifecycle/suspend");
	assert_string_equal(okta_lifecycle_op(STEP_UNFREEZE, &u, &suffix),
	    "unsuspend");
	assert_string_equal(okta_lifecycle_op(STEP_DEACTIVATE, &u, &suffix),
	    "deactivate");
	assert_string_equal(suffix, "/lifecycle/deactivate?sendEmail=false");
}

static void
test_user_parse(void **state)
{
	struct okta_user	 u;
	char			 err[128];
	const char		*b;

	(void)state;
	b = "{\"id\":\"00ub0oNGTSWTBKOLGLNR\",\"status\":\"ACTIVE\","
	    "\"transitioningToStatus\":null,\"created\":\"2013-06-24T16:39:18.000Z\","
	    "\"profile\":{\"firstName\":\"Isaac\",\"login\":\"isaac.brock@example.com\","
	    "\"email\":\"isaac.brock@example.com\"},\"_links\":{}}";
	assert_int_equal(okta_user_parse(b, strlen(b), &u, err, sizeof err), 0);
	assert_string_equal(u.id, "00ub0oNGTSWTBKOLGLNR");
	assert_int_equal(u.status, OKTA_ACTIVE);
	assert_int_equal(u.transitioning, OKTA_NONE);
	assert_string_equal(u.status_name, "ACTIVE");
	assert_string_equal(u.login, "isaac.brock@example.com");

	b = "{\"id\":\"00u1\",\"status\":\"ACTIVE\",\"transitioningToStatus\":"
	    "\"DEPROVISIONED\"}";
	assert_int_equal(okta_user_parse(b, strlen(b), &u, err, sizeof err), 0);
	assert_int_equal(u.transitioning, OKTA_DEPROVISIONED);
	assert_string_equal(u.login, "");

	b = "{\"id\":\"00u1\",\"status\":\"MARTIAN\"}";
	assert_int_equal(okta_user_parse(b, strlen(b), &u, err, sizeof err), 0);
	assert_int_equal(u.status, OKTA_UNKNOWN);
	assert_string_equal(u.status_name, "MARTIAN");

	b = "{\"id\":\"00u1\"}";
	assert_int_equal(okta_user_parse(b, strlen(b), &u, err, sizeof err), -1);
	b = "{\"status\":\"ACTIVE\"}";
	assert_int_equal(okta_user_parse(b, strlen(b), &u, err, sizeof err), -1);
	b = "[]";
	assert_int_equal(okta_user_parse(b, strlen(b), &u, err, sizeof err), -1);
	assert_int_equal(okta_user_parse("", 0, &u, err, sizeof err), -1);
}

static void
test_paths(void **state)
{
	char	*p;

	(void)state;
	p = okta_user_path("jane.doe+test@acme.example", NULL);
	assert_string_equal(p, "/api/v1/users/jane.doe%2Btest%40acme.example");
	free(p);
	p = okta_user_path("00ub0oNGTSWTBKOLGLNR", "/lifecycle/suspend");
	assert_string_equal(p, "/api/v1/users/00ub0oNGTSWTBKOLGLNR/lifecycle/suspend");
	free(p);
	/* A login cannot walk to another endpoint. */
	p = okta_user_path("../groups/x?y", "/sessions?oauthTokens=true");
	assert_string_equal(p, "/api/v1/users/..%2Fgroups%2Fx%3Fy/sessions?"
	    "oauthTokens=true");
	free(p);
	assert_null(okta_user_path("", NULL));
	assert_null(okta_user_path(NULL, NULL));
	assert_null(okta_user_path("a\nb", NULL));
}

static void
test_error_parse(void **state)
{
	char		 code[32], sum[256];
	const char	*b;

	(void)state;
	b = "{\"errorCode\":\"E0000001\",\"errorSummary\":\"Api validation failed: "
	    "login\",\"errorLink\":\"E0000001\",\"errorId\":\"oaeHfmOAx1iRLa0H10DeMz5fQ\","
	    "\"errorCauses\":[{\"errorSummary\":\"login: An object with this field "
	    "already exists\"},{\"errorSummary\":\"second\\ncause\"}]}";
	assert_int_equal(okta_error_parse(b, strlen(b), code, sizeof code, sum,
	    sizeof sum), 0);
	assert_string_equal(code, "E0000001");
	assert_string_equal(sum, "Api validation failed: login (login: An object "
	    "with this field already exists; second cause)");
	b = "{\"errorCode\":\"E0000047\",\"errorSummary\":\"API call exceeded rate "
	    "limit due to too many requests.\",\"errorCauses\":[]}";
	assert_int_equal(okta_error_parse(b, strlen(b), code, sizeof code, sum,
	    sizeof sum), 0);
	assert_string_equal(code, "E0000047");
	assert_string_equal(sum, "API call exceeded rate limit due to too many "
	    "requests.");
	/* Cut, never overflowing. */
	assert_int_equal(okta_error_parse(b, strlen(b), code, 4, sum, 10), 0);
	assert_string_equal(code, "E00");
	assert_string_equal(sum, "API call ");
	b = "{\"error\":\"invalid_client\"}";
	assert_int_equal(okta_error_parse(b, strlen(b), code, sizeof code, sum,
	    sizeof sum), -1);
	assert_int_equal(okta_error_parse("<html/>", 7, code, sizeof code, sum,
	    sizeof sum), -1);
}

static void
test_not_found_and_call_error(void **state)
{
	struct http_response	r;
	struct target_result	res;
	char			out[256];

	(void)state;
	r = resp_make(404, "{\"errorCode\":\"E0000007\",\"errorSummary\":\"Not "
	    "found: Resource not found: jane@acme.example (User)\"}");
	assert_int_equal(okta_not_found(&r), 1);
	r = resp_make(404, "");
	assert_int_equal(okta_not_found(&r), 1);
	r = resp_make(404, "{\"errorCode\":\"E0000022\",\"errorSummary\":\"x\"}");
	assert_int_equal(okta_not_found(&r), 0);
	r = resp_make(400, "{\"errorCode\":\"E0000007\"}");
	assert_int_equal(okta_not_found(&r), 0);
	assert_int_equal(okta_not_found(NULL), 0);

	r = resp_make(400, "{\"errorCode\":\"E0000001\",\"errorSummary\":\"Api "
	    "validation failed: suspend\",\"errorCauses\":[{\"errorSummary\":"
	    "\"Cannot suspend a user that is not ACTIVE\"}]}");
	memset(&res, 0, sizeof res);
	res.resp = &r;
	res.attempts = 1;
	res.error = "HTTP 400: ...";
	okta_call_error(&res, out, sizeof out);
	assert_string_equal(out, "HTTP 400 E0000001: Api validation failed: "
	    "suspend (Cannot suspend a user that is not ACTIVE)");
	res.resp = NULL;
	res.error = "timeout after 4 attempts";
	okta_call_error(&res, out, sizeof out);
	assert_string_equal(out, "timeout after 4 attempts");
}

static void
test_classify(void **state)
{
	struct http_response	r;
	char			err[256];

	(void)state;
	r = resp_make(200, "{}");
	assert_int_equal(okta_classify(&r, err, sizeof err), CALL_DEFAULT);
	r = resp_make(429, "{\"errorCode\":\"E0000047\",\"errorSummary\":\"API call "
	    "exceeded rate limit due to too many requests.\"}");
	assert_int_equal(okta_classify(&r, err, sizeof err), CALL_RETRY);
	assert_string_equal(err, "E0000047: API call exceeded rate limit due to "
	    "too many requests.");
	r = resp_make(401, "{\"errorCode\":\"E0000011\",\"errorSummary\":"
	    "\"Invalid token provided\"}");
	assert_int_equal(okta_classify(&r, err, sizeof err), CALL_REAUTH);
	r = resp_make(400, "{\"errorCode\":\"E0000001\",\"errorSummary\":\"x\"}");
	assert_int_equal(okta_classify(&r, err, sizeof err), CALL_DONE);
	r = resp_make(404, "{\"errorCode\":\"E0000007\",\"errorSummary\":\"x\"}");
	assert_int_equal(okta_classify(&r, err, sizeof err), CALL_DONE);
	r = resp_make(403, "{\"errorCode\":\"E0000006\",\"errorSummary\":\"x\"}");
	assert_int_equal(okta_classify(&r, err, sizeof err), CALL_DONE);
	r = resp_make(500, "{\"errorCode\":\"E0000009\",\"errorSummary\":\"x\"}");
	assert_int_equal(okta_classify(&r, err, sizeof err), CALL_DEFAULT);
	r = resp_make(0, "");
	assert_int_equal(okta_classify(&r, err, sizeof err), CALL_DEFAULT);
}

static void
test_opts(void **state)
{
	struct okta_opts	 o;
	json_object		*j;
	char			 err[128];

	(void)state;
	assert_int_equal(okta_opts_parse(NULL, &o, err, sizeof err), 0);
	assert_int_equal(o.unsuspendable_skip, 0);
	j = json_tokener_parse("{\"unsuspendable\":\"skip\"}");
	assert_int_equal(okta_opts_parse(j, &o, err, sizeof err), 0);
	assert_int_equal(o.unsuspendable_skip, 1);
	json_object_put(j);
	j = json_tokener_parse("{\"unsuspendable\":\"ignore\"}");
	assert_int_equal(okta_opts_parse(j, &o, err, sizeof err), -1);
	json_object_put(j);
	j = json_tokener_parse("{\"preset\":\"x\"}");
	assert_int_equal(okta_opts_parse(j, &o, err, sizeof err), -1);
	json_object_put(j);
}

/*
 * The signals hook: X-Rate-Limit-* become the target's request window, and
 * a 429's X-Rate-Limit-Reset a wait (checked end to end in test_target).
 */
static void
test_signals(void **state)
{
	struct event_base	*base;
	struct http		*http;
	struct target		*t;
	struct config_target	 cfg;
	struct http_header	 h[3];
	struct http_response	 r;
	char			 reset[32], err[256];
	long			 limit, remaining;

	(void)state;
	assert_non_null(base = event_base_new());
	assert_non_null(http = http_new(base));
	memset(&cfg, 0, sizeof cfg);
	cfg.name = "okta";
	cfg.kind = "okta";
	cfg.base_url = "http://127.0.0.1:1";
	cfg.auth.type = "none";
	t = target_new(base, http, &cfg, okta_classify, err, sizeof err);
	assert_non_null(t);

	snprintf(reset, sizeof reset, "%lld", (long long)time(NULL) + 30);
	h[0].name = "X-Rate-Limit-Limit";
	h[0].value = "600";
	h[1].name = "X-Rate-Limit-Remaining";
	h[1].value = "17";
	h[2].name = "X-Rate-Limit-Reset";
	h[2].value = reset;
	memset(&r, 0, sizeof r);
	r.status = 200;
	r.headers = h;
	r.nheaders = 3;
	target_rate_window(t, &limit, &remaining);
	assert_int_equal(limit, 0);
	assert_int_equal(remaining, -1);
	okta_signals(t, &r);
	target_rate_window(t, &limit, &remaining);
	assert_int_equal(limit, 600);
	assert_int_equal(remaining, 17);

	/* Lower in the same window: the lowest counts. Higher: still 5. */
	h[1].value = "5";
	okta_signals(t, &r);
	h[1].value = "9";
	okta_signals(t, &r);
	target_rate_window(t, &limit, &remaining);
	assert_int_equal(remaining, 5);

	/* No Remaining, or not a number: nothing is said. */
	h[1].name = "X-Other";
	okta_signals(t, &r);
	h[1].name = "X-Rate-Limit-Remaining";
	h[1].value = "-1";
	okta_signals(t, &r);
	h[1].value = "lots";
	okta_signals(t, &r);
	target_rate_window(t, &limit, &remaining);
	assert_int_equal(limit, 600);
	assert_int_equal(remaining, 5);

	/* Another vendor's headers mean nothing to Okta's hook. */
	r.nheaders = 0;
	okta_signals(t, &r);
	target_rate_window(t, &limit, &remaining);
	assert_int_equal(remaining, 5);

	target_free(t);
	http_free(http);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_decide_freeze),
		cmocka_unit_test(test_decide_deactivate),
		cmocka_unit_test(test_decide_unfreeze),
		cmocka_unit_test(test_decide_reactivate),
		cmocka_unit_test(test_user_parse),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_error_parse),
		cmocka_unit_test(test_not_found_and_call_error),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_opts),
		cmocka_unit_test(test_signals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
