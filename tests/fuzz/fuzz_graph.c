/*
 * fuzz_graph: the pure half of the Microsoft Graph connector
 * (src/connectors/graph-proto.c). The first byte chooses:
 *
 *   a  VALUE: graph_odata_quote (reads back as VALUE), graph_user_path
 *      (both forms: a key starting with '$' is quoted) and
 *      graph_filter_path, each decoding back to what it was given.
 *   b  BODY: graph_user_parse, a user object.
 *   c  BODY: graph_list_parse, a collection.
 *   d  an answer (see fuzz_conn.h): graph_classify, graph_error_parse,
 *      graph_call_error, graph_not_found.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph-internal.h"

#include "fuzz.h"
#include "fuzz_conn.h"

/* Undo graph_odata_quote: NULL when q is not a well-formed literal. */
static char *
fuzz_graph_unquote(const char *q)
{
	size_t	 len = strlen(q), i;
	char	*out, *o;

	if (len < 2 || q[0] != '\'' || q[len - 1] != '\'')
		return NULL;
	out = o = fuzz_str(q, len);
	for (i = 1; i < len - 1; i++) {
		if (q[i] == '\'') {
			if (q[i + 1] != '\'' || i + 1 >= len - 1) {
				free(out);
				return NULL;
			}
			i++;
		}
		*o++ = q[i];
	}
	*o = '\0';
	return out;
}

static void
fuzz_graph_quote(struct fuzz_in *in)
{
	char	*v = fuzz_rest(in), q[2 * GRAPH_KEY_MAX + 3], *back, *path, *dec;
	char	*want;
	int	 n;

	if ((n = graph_odata_quote(v, q, sizeof q)) >= 0) {
		FUZZ_CHECK((size_t)n == strlen(q), "length %d", n);
		FUZZ_CHECK((back = fuzz_graph_unquote(q)) != NULL &&
		    strcmp(back, v) == 0, "\"%s\" quoted as %s", v, q);
		free(back);
	}
	if ((path = graph_user_path(v, "/revokeSignInSessions",
	    GRAPH_SELECT)) != NULL) {
		if (v[0] == '$') {
			FUZZ_CHECK(graph_odata_quote(v, q, sizeof q) >= 0 &&
			    strncmp(path, "/v1.0/users(", 12) == 0, "path %s",
			    path);
			*strchr(path, ')') = '\0';
			want = q;
			dec = fuzz_conn_urldecode(path + 12);
		} else {
			FUZZ_CHECK(strncmp(path, "/v1.0/users/", 12) == 0,
			    "path %s", path);
			want = v;
			*strstr(path + 12, "/revokeSignInSessions") = '\0';
			dec = fuzz_conn_urldecode(path + 12);
		}
		FUZZ_CHECK(dec != NULL && strcmp(dec, want) == 0,
		    "user path for \"%s\" decodes to \"%s\"", v, dec);
		free(dec);
		free(path);
	}
	if ((path = graph_filter_path("mail", v, GRAPH_SELECT)) != NULL) {
		FUZZ_CHECK(strncmp(path, "/v1.0/users?$filter=", 20) == 0 &&
		    strstr(path, "&$select=") != NULL, "filter path %s", path);
		*strstr(path, "&$select=") = '\0';
		FUZZ_CHECK((dec = fuzz_conn_urldecode(path + 20)) != NULL &&
		    strncmp(dec, "mail eq ", 8) == 0 &&
		    (back = fuzz_graph_unquote(dec + 8)) != NULL &&
		    strcmp(back, v) == 0, "filter for \"%s\"", v);
		free(back);
		free(dec);
		free(path);
	}
	free(v);
}

static void
fuzz_graph_user_ok(const struct graph_user *u)
{
	fuzz_conn_text("the user id", u->id, sizeof u->id);
	FUZZ_CHECK(u->id[0] != '\0', "an empty id");
	fuzz_conn_text("the UPN", u->upn, sizeof u->upn);
	FUZZ_CHECK(u->enabled >= -1 && u->enabled <= 1, "enabled %d",
	    u->enabled);
}

static void
fuzz_graph_answer(struct fuzz_in *in)
{
	struct fuzz_conn_resp	 r;
	char			 err[256], code[128], msg[512], out[1024];

	fuzz_conn_resp(in, &r);
	err[0] = '\0';
	fuzz_conn_verdict("graph_classify", graph_classify(&r.resp, err,
	    sizeof err));
	fuzz_conn_text("graph_classify's error", err, sizeof err);
	if (graph_error_parse(r.resp.body, r.resp.body_len, code, sizeof code,
	    msg, sizeof msg) == 0) {
		fuzz_conn_text("the error code", code, sizeof code);
		fuzz_conn_text("the error message", msg, sizeof msg);
	}
	graph_call_error(&r.res, out, sizeof out);
	fuzz_conn_text("graph_call_error", out, sizeof out);
	graph_call_error(&r.res, out, 9);
	fuzz_conn_text("graph_call_error (short)", out, 9);
	(void)graph_not_found(&r.resp);
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
	struct fuzz_in		in = { data, size };
	struct graph_user	u;
	char			err[256];
	size_t			count = 7;

	switch (fuzz_op(&in, 4)) {
	case 0:
		fuzz_graph_quote(&in);
		break;
	case 1:
		fuzz_conn_json((const char *)in.p, in.n);
		if (graph_user_parse((const char *)in.p, in.n, &u, err,
		    sizeof err) == 0)
			fuzz_graph_user_ok(&u);
		else
			fuzz_conn_text("graph_user_parse's error", err,
			    sizeof err);
		break;
	case 2:
		fuzz_conn_json((const char *)in.p, in.n);
		if (graph_list_parse((const char *)in.p, in.n, &count, &u, err,
		    sizeof err) == 0) {
			if (count >= 1)
				fuzz_graph_user_ok(&u);
		} else
			fuzz_conn_text("graph_list_parse's error", err,
			    sizeof err);
		break;
	case 3:
		fuzz_graph_answer(&in);
		break;
	}
	return 0;
}
