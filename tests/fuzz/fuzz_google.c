/*
 * fuzz_google: the pure half of the Google Workspace connector
 * (src/connectors/google-proto.c). The first byte chooses:
 *
 *   a  KEY \n TOKEN: the Admin SDK paths (user, token, transfers list,
 *      applications, transfer), each decoding back to what it was given.
 *   b  BODY: google_user_parse.
 *   c  BODY: google_tokens_parse.
 *   d  BODY: google_apps_find.
 *   e  APP \n BODY: google_transfer_parse.
 *   f  NEWOWNER \n APP \n BODY: google_transfers_find.
 *   g  an answer (see fuzz_conn.h): google_classify, google_error_parse,
 *      google_call_error, google_not_found.
 *   h  OPTIONS (JSON): google_options_parse, then google_transfer_body
 *      with them (JSON that says what it was given).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "google-internal.h"

#include "fuzz.h"
#include "fuzz_conn.h"

/* path starts with prefix and what follows, up to stop, decodes to want. */
static void
fuzz_google_path(const char *what, char *path, const char *prefix,
    const char *stop, const char *want)
{
	char	*dec, *end;

	FUZZ_CHECK(strncmp(path, prefix, strlen(prefix)) == 0, "%s: %s", what,
	    path);
	if (stop != NULL && (end = strstr(path + strlen(prefix), stop)) != NULL)
		*end = '\0';
	FUZZ_CHECK((dec = fuzz_conn_urldecode(path + strlen(prefix))) != NULL &&
	    strcmp(dec, want) == 0, "%s for \"%s\"", what, want);
	free(dec);
	free(path);
}

static void
fuzz_google_paths(struct fuzz_in *in)
{
	char	*key = fuzz_line(in, NULL), *tok = fuzz_rest(in), *p, *sep;

	if ((p = google_user_path(key, "/signOut")) != NULL)
		fuzz_google_path("user path", p, "/admin/directory/v1/users/",
		    "/signOut", key);
	if ((p = google_token_path(key, tok)) != NULL) {
		/* The encoded key holds no '/': the first "/tokens/" splits. */
		FUZZ_CHECK((sep = strstr(p, "/tokens/")) != NULL, "token path "
		    "%s", p);
		fuzz_google_path("token path's client", fuzz_str(sep + 8,
		    strlen(sep + 8)), "", NULL, tok);
		fuzz_google_path("token path's user", p,
		    "/admin/directory/v1/users/", "/tokens/", key);
	}
	if ((p = google_transfers_list_path(key, tok)) != NULL)
		fuzz_google_path("transfers path", p,
		    "/admin/datatransfer/v1/transfers?oldOwnerUserId=",
		    "&pageToken=", key);
	if ((p = google_apps_path(tok)) != NULL) {
		if (*tok == '\0')
			FUZZ_CHECK(strcmp(p, "/admin/datatransfer/v1/"
			    "applications") == 0, "apps path %s", p);
		else
			fuzz_google_path("apps path", p, "/admin/datatransfer/v1/"
			    "applications?pageToken=", NULL, tok);
		if (*tok == '\0')
			free(p);
	}
	if ((p = google_transfer_path(key)) != NULL)
		fuzz_google_path("transfer path", p,
		    "/admin/datatransfer/v1/transfers/", NULL, key);
	free(key);
	free(tok);
}

static void
fuzz_google_transfer_ok(const struct google_transfer *t)
{
	fuzz_conn_text("the transfer id", t->id, sizeof t->id);
	fuzz_conn_text("the old owner", t->old_owner, sizeof t->old_owner);
	fuzz_conn_text("the new owner", t->new_owner, sizeof t->new_owner);
	fuzz_conn_text("the status", t->status, sizeof t->status);
	FUZZ_CHECK(t->state >= GOOGLE_TRANSFER_PENDING &&
	    t->state <= GOOGLE_TRANSFER_FAILED, "state %d", (int)t->state);
}

static void
fuzz_google_answer(struct fuzz_in *in)
{
	struct fuzz_conn_resp	 r;
	char			 err[256], reason[64], msg[512], out[1024];

	fuzz_conn_resp(in, &r);
	err[0] = '\0';
	fuzz_conn_verdict("google_classify", google_classify(&r.resp, err,
	    sizeof err));
	fuzz_conn_text("google_classify's error", err, sizeof err);
	if (google_error_parse(r.resp.body, r.resp.body_len, reason,
	    sizeof reason, msg, sizeof msg) == 0) {
		fuzz_conn_text("the reason", reason, sizeof reason);
		fuzz_conn_text("the message", msg, sizeof msg);
	}
	google_call_error(&r.res, out, sizeof out);
	fuzz_conn_text("google_call_error", out, sizeof out);
	google_call_error(&r.res, out, 11);
	fuzz_conn_text("google_call_error (short)", out, 11);
	(void)google_not_found(&r.resp);
	fuzz_conn_resp_free(&r);
}

static void
fuzz_google_options(struct fuzz_in *in)
{
	struct google_options	 o;
	json_object		*j, *b;
	char			*s = fuzz_rest(in), err[256], *body;
	size_t			 i;

	j = json_tokener_parse(s);
	if (google_options_parse(j, &o, err, sizeof err) == 0) {
		FUZZ_CHECK(o.nlevels <= GOOGLE_LEVELS_MAX, "%zu levels",
		    o.nlevels);
		for (i = 0; i < o.nlevels; i++)
			fuzz_conn_text("a privacy level", o.levels[i],
			    sizeof o.levels[i]);
		fuzz_conn_text("the Drive app id", o.drive_app_id,
		    sizeof o.drive_app_id);
		body = google_transfer_body("111", "222", o.drive_app_id[0] !=
		    '\0' ? o.drive_app_id : "55656082996", &o);
		FUZZ_CHECK(body != NULL && (b = json_tokener_parse(body)) !=
		    NULL, "transfer body %s", body != NULL ? body : "(none)");
		json_object_put(b);
		free(body);
	} else
		fuzz_conn_term("google_options_parse's error", err, sizeof err);
	json_object_put(j);
	free(s);
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
	struct google_user	 u;
	struct google_transfer	 t;
	char			 err[256], app[GOOGLE_ID_MAX + 1], next[256];
	char			*a = NULL, *b = NULL, **ids = NULL;
	size_t			 n = 0, i;
	int			 r;

	switch (fuzz_op(&in, 8)) {
	case 0:
		fuzz_google_paths(&in);
		break;
	case 1:
		fuzz_conn_json((const char *)in.p, in.n);
		if (google_user_parse((const char *)in.p, in.n, &u, err,
		    sizeof err) == 0) {
			fuzz_conn_text("the user id", u.id, sizeof u.id);
			fuzz_conn_text("the email", u.email, sizeof u.email);
			FUZZ_CHECK(u.suspended >= -1 && u.suspended <= 1,
			    "suspended %d", u.suspended);
		}
		break;
	case 2:
		fuzz_conn_json((const char *)in.p, in.n);
		if (google_tokens_parse((const char *)in.p, in.n, &ids, &n, err,
		    sizeof err) == 0) {
			for (i = 0; i < n; i++)
				FUZZ_CHECK(ids[i] != NULL && ids[i][0] != '\0',
				    "client id %zu", i);
			google_ids_free(ids, n);
		}
		break;
	case 3:
		fuzz_conn_json((const char *)in.p, in.n);
		r = google_apps_find((const char *)in.p, in.n, app, sizeof app,
		    next, sizeof next, err, sizeof err);
		FUZZ_CHECK(r >= -1 && r <= 1, "google_apps_find: %d", r);
		if (r == 1)
			fuzz_conn_text("the app id", app, sizeof app);
		if (r == 0)
			fuzz_conn_text("the next page", next, sizeof next);
		break;
	case 4:
		a = fuzz_line(&in, NULL);
		fuzz_conn_json((const char *)in.p, in.n);
		if (google_transfer_parse((const char *)in.p, in.n, *a != '\0' ?
		    a : NULL, &t, err, sizeof err) == 0)
			fuzz_google_transfer_ok(&t);
		break;
	case 5:
		a = fuzz_line(&in, NULL);
		b = fuzz_line(&in, NULL);
		fuzz_conn_json((const char *)in.p, in.n);
		r = google_transfers_find((const char *)in.p, in.n, a, b, &t,
		    next, sizeof next, err, sizeof err);
		FUZZ_CHECK(r >= -1 && r <= 1, "google_transfers_find: %d", r);
		if (r == 1) {
			fuzz_google_transfer_ok(&t);
			FUZZ_CHECK(t.state == GOOGLE_TRANSFER_PENDING &&
			    strcmp(t.new_owner, a) == 0 && t.has_app,
			    "found transfer %s to %s, not to %s", t.id,
			    t.new_owner, a);
		}
		if (r == 0)
			fuzz_conn_text("the next page", next, sizeof next);
		break;
	case 6:
		fuzz_google_answer(&in);
		break;
	case 7:
		fuzz_google_options(&in);
		break;
	}
	free(a);
	free(b);
	return 0;
}
