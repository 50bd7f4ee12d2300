/*
 * fuzz_okta: the pure half of the Okta connector
 * (src/connectors/okta-proto.c). The first byte chooses:
 *
 *   a  VALUE: okta_user_path (decodes back to VALUE) and okta_key_valid,
 *      okta_status_parse (a known status names itself back).
 *   b  BODY: okta_user_parse, a user object; then what each lifecycle
 *      step decides for it (okta_decide, okta_lifecycle_op).
 *   c  an answer (see fuzz_conn.h): okta_classify, okta_error_parse,
 *      okta_call_error, okta_not_found.
 *   d  OPTIONS (JSON): okta_opts_parse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "okta-internal.h"

#include "fuzz.h"
#include "fuzz_conn.h"

static void
fuzz_okta_key(struct fuzz_in *in)
{
	char			*v = fuzz_rest(in), *path, *dec;
	enum okta_status	 st;

	path = okta_user_path(v, "/lifecycle/suspend");
	FUZZ_CHECK((path != NULL) == (okta_key_valid(v) != 0), "okta_user_path "
	    "and okta_key_valid disagree on \"%s\"", v);
	if (path != NULL) {
		FUZZ_CHECK(strncmp(path, "/api/v1/users/", 14) == 0 &&
		    strstr(path, "/lifecycle/suspend") != NULL, "path %s", path);
		*strstr(path + 14, "/lifecycle/suspend") = '\0';
		FUZZ_CHECK((dec = fuzz_conn_urldecode(path + 14)) != NULL &&
		    strcmp(dec, v) == 0, "user path for \"%s\"", v);
		free(dec);
		free(path);
	}
	st = okta_status_parse(v);
	if (st != OKTA_UNKNOWN && st != OKTA_NONE)
		FUZZ_CHECK(okta_status_name(st) != NULL &&
		    okta_status_parse(okta_status_name(st)) == st,
		    "status %d does not name itself", (int)st);
	free(v);
}

static void
fuzz_okta_user(struct fuzz_in *in)
{
	static const enum step_kind kinds[] = { STEP_FREEZE, STEP_REVOKE_TOKENS,
	    STEP_REASSIGN, STEP_DEACTIVATE, STEP_UNFREEZE, STEP_DELETE,
	    STEP_REACTIVATE };
	struct okta_user	 u;
	enum okta_action	 act;
	const char		*why, *op, *suffix;
	char			 err[256];
	size_t			 i;

	fuzz_conn_json((const char *)in->p, in->n);
	if (okta_user_parse((const char *)in->p, in->n, &u, err,
	    sizeof err) != 0) {
		fuzz_conn_text("okta_user_parse's error", err, sizeof err);
		return;
	}
	FUZZ_CHECK(okta_key_valid(u.id), "user id \"%s\"", u.id);
	fuzz_conn_text("the status", u.status_name, sizeof u.status_name);
	fuzz_conn_text("the login", u.login, sizeof u.login);
	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		why = NULL;
		act = okta_decide(kinds[i], &u, &why);
		FUZZ_CHECK(act >= OKTA_ACT_CALL && act <= OKTA_ACT_FAIL,
		    "action %d", (int)act);
		FUZZ_CHECK(act == OKTA_ACT_CALL || (why != NULL && *why != '\0'),
		    "action %d without a reason", (int)act);
		if (act != OKTA_ACT_CALL || kinds[i] == STEP_REVOKE_TOKENS ||
		    kinds[i] == STEP_REASSIGN || kinds[i] == STEP_DELETE)
			continue;
		suffix = NULL;
		op = okta_lifecycle_op(kinds[i], &u, &suffix);
		FUZZ_CHECK(op != NULL && suffix != NULL &&
		    strncmp(suffix, "/lifecycle/", 11) == 0,
		    "step %d: no lifecycle call for status %s", (int)kinds[i],
		    u.status_name);
	}
}

static void
fuzz_okta_answer(struct fuzz_in *in)
{
	struct fuzz_conn_resp	 r;
	char			 err[256], code[64], sum[512], out[1024];

	fuzz_conn_resp(in, &r);
	err[0] = '\0';
	fuzz_conn_verdict("okta_classify", okta_classify(&r.resp, err,
	    sizeof err));
	fuzz_conn_text("okta_classify's error", err, sizeof err);
	if (okta_error_parse(r.resp.body, r.resp.body_len, code, sizeof code,
	    sum, sizeof sum) == 0) {
		fuzz_conn_text("the error code", code, sizeof code);
		fuzz_conn_text("the summary", sum, sizeof sum);
	}
	okta_call_error(&r.res, out, sizeof out);
	fuzz_conn_text("okta_call_error", out, sizeof out);
	okta_call_error(&r.res, out, 10);
	fuzz_conn_text("okta_call_error (short)", out, 10);
	(void)okta_not_found(&r.resp);
	fuzz_conn_resp_free(&r);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in		 in = { data, size };
	struct okta_opts	 o;
	json_object		*j;
	char			*s, err[256];

	switch (fuzz_op(&in, 4)) {
	case 0:
		fuzz_okta_key(&in);
		break;
	case 1:
		fuzz_okta_user(&in);
		break;
	case 2:
		fuzz_okta_answer(&in);
		break;
	case 3:
		s = fuzz_rest(&in);
		j = json_tokener_parse(s);
		if (okta_opts_parse(j, &o, err, sizeof err) != 0)
			fuzz_conn_term("okta_opts_parse's error", err,
			    sizeof err);
		json_object_put(j);
		free(s);
		break;
	}
	return 0;
}
