/*
 * fuzz_scim: the pure half of the generic SCIM 2.0 connector
 * (src/connectors/scim-proto.c). The first byte chooses:
 *
 *   a  VALUE: scim_filter_escape (read back as a JSON string it is VALUE),
 *      scim_filter_eq, scim_list_path and scim_user_path (both decode back
 *      to what they were given), scim_if_match (never splits a header).
 *   b  ETAG ("-" = none) \n BODY: scim_user_parse, a User resource.
 *   c  ATTR \n VALUE \n BODY: scim_list_parse, the ListResponse of
 *      "ATTR eq VALUE".
 *   d  an answer (see fuzz_conn.h): scim_classify, scim_error_parse,
 *      scim_call_error.
 *   e  OPTIONS (JSON): scim_opts_parse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "deprov/jsonc.h"

#include "scim-internal.h"

#include "fuzz.h"
#include "fuzz_conn.h"

static void
fuzz_scim_user_ok(const struct scim_user *u)
{
	FUZZ_CHECK(scim_id_valid(u->id), "user id \"%s\"", u->id);
	FUZZ_CHECK(u->active >= -1 && u->active <= 1, "active %d", u->active);
	fuzz_conn_text("the ETag", u->etag, sizeof u->etag);
}

static void
fuzz_scim_quote(struct fuzz_in *in)
{
	char		*v = fuzz_rest(in), lit[SCIM_FILTER_MAX + 1];
	char		 f[SCIM_FILTER_MAX + 64], hdr[SCIM_ETAG_MAX + 16];
	char		*js, *path, *dec;
	json_object	*o;
	int		 n;

	if ((n = scim_filter_escape(v, lit, sizeof lit)) >= 0) {
		FUZZ_CHECK((size_t)n == strlen(lit), "length %d", n);
		FUZZ_CHECK(jsonc_utf8_valid(v, strlen(v)), "escaped \"%s\", "
		    "which is not UTF-8", v);
		js = malloc(strlen(lit) + 3);
		if (js == NULL)
			abort();
		js[0] = '"';
		memcpy(js + 1, lit, strlen(lit));
		memcpy(js + 1 + strlen(lit), "\"", 2);
		o = json_tokener_parse(js);
		FUZZ_CHECK(o != NULL && json_object_is_type(o, json_type_string) &&
		    strcmp(json_object_get_string(o), v) == 0,
		    "\"%s\" escaped as %s", v, js);
		json_object_put(o);
		free(js);
	}
	if (scim_filter_eq(f, sizeof f, "userName", v) == 0) {
		FUZZ_CHECK(strncmp(f, "userName eq \"", 13) == 0 &&
		    f[strlen(f) - 1] == '"', "filter %s", f);
		path = scim_list_path(f);
		FUZZ_CHECK(path != NULL && strncmp(path, "/Users?filter=", 14) ==
		    0 && (dec = fuzz_conn_urldecode(path + 14)) != NULL &&
		    strcmp(dec, f) == 0, "list path for %s", f);
		free(dec);
		free(path);
	}
	if ((path = scim_user_path(v)) != NULL) {
		FUZZ_CHECK(strncmp(path, "/Users/", 7) == 0 &&
		    (dec = fuzz_conn_urldecode(path + 7)) != NULL &&
		    strcmp(dec, v) == 0, "user path \"%s\"", path);
		free(dec);
		free(path);
	}
	if (scim_if_match(hdr, sizeof hdr, v) == 0)
		fuzz_conn_text("If-Match", hdr, sizeof hdr);
	free(v);
}

static void
fuzz_scim_user(struct fuzz_in *in)
{
	struct scim_user	 u;
	char			*etag = fuzz_line(in, NULL), err[256];

	fuzz_conn_json((const char *)in->p, in->n);
	if (scim_user_parse((const char *)in->p, in->n, strcmp(etag, "-") == 0 ?
	    NULL : etag, &u, err, sizeof err) == 0)
		fuzz_scim_user_ok(&u);
	else
		fuzz_conn_text("scim_user_parse's error", err, sizeof err);
	free(etag);
}

static void
fuzz_scim_list(struct fuzz_in *in)
{
	struct scim_user	 u;
	char			*attr = fuzz_line(in, NULL);
	char			*value = fuzz_line(in, NULL), err[256];
	long long		 total = -7;
	int			 r;

	fuzz_conn_json((const char *)in->p, in->n);
	r = scim_list_parse((const char *)in->p, in->n, attr, value, &u, &total,
	    err, sizeof err);
	FUZZ_CHECK(r >= -1 && r <= SCIM_LIST_MISMATCH, "result %d", r);
	if (r == SCIM_LIST_ONE)
		fuzz_scim_user_ok(&u);
	if (r == -1)
		fuzz_conn_text("scim_list_parse's error", err, sizeof err);
	free(attr);
	free(value);
}

static void
fuzz_scim_answer(struct fuzz_in *in)
{
	struct fuzz_conn_resp	 r;
	char			 err[256], st[32], type[64], detail[256];
	char			 out[1024];

	fuzz_conn_resp(in, &r);
	err[0] = '\0';
	fuzz_conn_verdict("scim_classify", scim_classify(&r.resp, err,
	    sizeof err));
	fuzz_conn_text("scim_classify's error", err, sizeof err);
	if (scim_error_parse(r.resp.body, r.resp.body_len, st, sizeof st, type,
	    sizeof type, detail, sizeof detail) == 0) {
		fuzz_conn_text("the status", st, sizeof st);
		fuzz_conn_text("the scimType", type, sizeof type);
		fuzz_conn_text("the detail", detail, sizeof detail);
	}
	scim_call_error(&r.res, out, sizeof out);
	fuzz_conn_text("scim_call_error", out, sizeof out);
	scim_call_error(&r.res, out, 12);
	fuzz_conn_text("scim_call_error (short)", out, 12);
	fuzz_conn_resp_free(&r);
}

static void
fuzz_scim_opts(struct fuzz_in *in)
{
	struct scim_opts	 o;
	json_object		*j;
	char			*s = fuzz_rest(in), err[256];
	size_t			 i;

	j = json_tokener_parse(s);
	if (scim_opts_parse(j, &o, err, sizeof err) == 0) {
		FUZZ_CHECK(o.nlookups >= 1 && o.nlookups <= SCIM_BY_COUNT,
		    "%zu lookups", o.nlookups);
		for (i = 0; i < o.nlookups; i++)
			FUZZ_CHECK(scim_lookup_name(o.lookups[i]) != NULL,
			    "lookup %d", (int)o.lookups[i]);
		FUZZ_CHECK(o.patch_style == SCIM_PATCH_PATH ||
		    o.patch_style == SCIM_PATCH_PATHLESS, "patch style");
		FUZZ_CHECK(o.preset == NULL || scim_preset_irreversible(o.preset)
		    == o.irreversible || o.irreversible != NULL, "irreversible");
	} else
		fuzz_conn_term("scim_opts_parse's error", err, sizeof err);
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
	struct fuzz_in	in = { data, size };

	switch (fuzz_op(&in, 5)) {
	case 0:
		fuzz_scim_quote(&in);
		break;
	case 1:
		fuzz_scim_user(&in);
		break;
	case 2:
		fuzz_scim_list(&in);
		break;
	case 3:
		fuzz_scim_answer(&in);
		break;
	case 4:
		fuzz_scim_opts(&in);
		break;
	}
	return 0;
}
