/*
 * fuzz_salesforce: the pure half of the Salesforce connector
 * (src/connectors/salesforce-proto.c). The first byte chooses:
 *
 *   a  VALUE: sf_soql_escape and sf_soql_where (the literal unescapes to
 *      VALUE and cannot end early), sf_query_path (decodes back to the
 *      query), sf_revoke_body.
 *   b  BODY: sf_page_parse, a query answer (records, done, a next URL
 *      that stays a /services/data/ path), and each record's fields.
 *   c  IDS (comma-separated) \n BODY: sf_save_results_parse, a composite
 *      update's SaveResults (every id counted once as ok or failed).
 *   d  an answer (see fuzz_conn.h): sf_classify, sf_error_parse,
 *      sf_call_error and sf_user_refusal_hint.
 *   e  VERSION: sf_api_version.
 *   f  OBJECT \n OWNER \n ID... : sf_composite_body (JSON with one record
 *      per id) and sf_reassign_summary within its buffer.
 *   g  SFORCE-LIMIT-INFO: sf_limit_info_parse (used >= 0, limit > 0, or
 *      nothing written).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common.h"
#include "salesforce-internal.h"

#include "fuzz.h"
#include "fuzz_conn.h"

#define FUZZ_SF_IDS	SF_COMPOSITE_MAX

/* Undo sf_soql_escape: NULL when a quote or backslash is not escaped. */
static char *
fuzz_sf_unescape(const char *s)
{
	char	*out = fuzz_str(s, strlen(s)), *o = out;

	for (; *s != '\0'; s++) {
		if (*s == '\'') {
			free(out);
			return NULL;
		}
		if (*s == '\\') {
			if (s[1] != '\\' && s[1] != '\'') {
				free(out);
				return NULL;
			}
			s++;
		}
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static void
fuzz_sf_quote(struct fuzz_in *in)
{
	char	*v = fuzz_rest(in), lit[64], q[SF_SOQL_MAX], err[256], *back;
	char	*path, *body, *dec;
	int	 n;

	n = sf_soql_escape(v, lit, sizeof lit);
	if (n >= 0) {
		FUZZ_CHECK((size_t)n == strlen(lit), "length %d of \"%s\"", n, lit);
		FUZZ_CHECK((back = fuzz_sf_unescape(lit)) != NULL &&
		    strcmp(back, v) == 0, "\"%s\" escaped as \"%s\"", v, lit);
		free(back);
	}
	err[0] = '\0';
	if (sf_soql_where(q, sizeof q, "Id, IsActive", "User", "Username", v,
	    "IsActive = true", err, sizeof err) == 0) {
		FUZZ_CHECK(strncmp(q, "SELECT Id, IsActive FROM User WHERE "
		    "Username='", 46) == 0, "query \"%s\"", q);
		path = sf_query_path("v60.0", q);
		FUZZ_CHECK(path != NULL && strncmp(path,
		    "/services/data/v60.0/query?q=", 29) == 0, "path");
		FUZZ_CHECK((dec = fuzz_conn_urldecode(path + 29)) != NULL &&
		    strcmp(dec, q) == 0, "query path \"%s\"", path);
		free(dec);
		free(path);
	} else
		fuzz_conn_text("sf_soql_where's error", err, sizeof err);
	if ((body = sf_revoke_body(v)) != NULL) {
		FUZZ_CHECK(strncmp(body, "token=", 6) == 0 &&
		    (dec = fuzz_conn_urldecode(body + 6)) != NULL &&
		    strcmp(dec, v) == 0, "revoke body \"%s\"", body);
		free(dec);
		free(body);
	}
	free(v);
}

static void
fuzz_sf_page(struct fuzz_in *in)
{
	struct sf_page	 page;
	char		 err[256];
	json_object	*rec;
	size_t		 i;

	fuzz_conn_json((const char *)in->p, in->n);
	if (sf_page_parse((const char *)in->p, in->n, &page, err,
	    sizeof err) != 0) {
		fuzz_conn_text("sf_page_parse's error", err, sizeof err);
		FUZZ_CHECK(page.root == NULL && page.next_url == NULL,
		    "a refused page was not cleared");
		return;
	}
	FUZZ_CHECK(json_object_is_type(page.records, json_type_array) &&
	    page.nrecords == json_object_array_length(page.records),
	    "records");
	FUZZ_CHECK(page.done ? page.next_url == NULL : page.next_url != NULL &&
	    strncmp(page.next_url, "/services/data/", 15) == 0 &&
	    strstr(page.next_url, "..") == NULL && strpbrk(page.next_url,
	    "?#%@:\\ ") == NULL, "next page \"%s\"", page.next_url);
	for (i = 0; i < page.nrecords; i++) {
		rec = json_object_array_get_idx(page.records, i);
		(void)sf_record_str(rec, "Id");
		(void)sf_record_bool(rec, "IsActive");
	}
	sf_page_clear(&page);
}

static void
fuzz_sf_save(struct fuzz_in *in)
{
	struct sf_save_tally	 tally;
	const char		*ids[FUZZ_SF_IDS];
	char			*line = fuzz_line(in, NULL), *p, err[256];
	size_t			 n = 0, i;

	for (p = line; n < FUZZ_SF_IDS; ) {
		ids[n++] = p;
		if ((p = strchr(p, ',')) == NULL)
			break;
		*p++ = '\0';
	}
	memset(&tally, 0, sizeof tally);
	fuzz_conn_json((const char *)in->p, in->n);
	if (sf_save_results_parse((const char *)in->p, in->n, ids, n, &tally,
	    err, sizeof err) == 0) {
		FUZZ_CHECK(tally.ok + tally.failed == n, "%zu ok + %zu failed "
		    "of %zu", tally.ok, tally.failed, n);
		FUZZ_CHECK(tally.nfirst <= SF_FAILURES_KEPT &&
		    tally.nfirst <= tally.failed, "%zu failures kept",
		    tally.nfirst);
		for (i = 0; i < tally.nfirst; i++) {
			fuzz_conn_text("a failure's id", tally.first[i].id,
			    sizeof tally.first[i].id);
			fuzz_conn_text("a failure's status",
			    tally.first[i].status, sizeof tally.first[i].status);
		}
	} else
		FUZZ_CHECK(tally.ok == 0 && tally.failed == 0, "a refused "
		    "answer was counted");
	free(line);
}

static void
fuzz_sf_answer(struct fuzz_in *in)
{
	struct fuzz_conn_resp	 r;
	char			 err[256], code[128], msg[512], out[1024];
	const char		*hint;
	enum call_verdict	 v;

	fuzz_conn_resp(in, &r);
	err[0] = '\0';
	v = sf_classify(&r.resp, err, sizeof err);
	fuzz_conn_verdict("sf_classify", v);
	fuzz_conn_text("sf_classify's error", err, sizeof err);
	if (sf_error_parse(r.resp.body, r.resp.body_len, code, sizeof code,
	    msg, sizeof msg) == 0) {
		fuzz_conn_text("the error code", code, sizeof code);
		fuzz_conn_text("the error message", msg, sizeof msg);
		hint = sf_user_refusal_hint(0, code, msg);
		FUZZ_CHECK(hint == NULL || *hint != '\0', "empty hint");
		hint = sf_user_refusal_hint(1, code, msg);
		FUZZ_CHECK(hint == NULL || *hint != '\0', "empty hint");
	}
	sf_call_error(&r.res, out, sizeof out);
	fuzz_conn_text("sf_call_error", out, sizeof out);
	sf_call_error(&r.res, out, 16);
	fuzz_conn_text("sf_call_error (short)", out, 16);
	fuzz_conn_resp_free(&r);
}

static void
fuzz_sf_version(struct fuzz_in *in)
{
	char	*v = fuzz_rest(in), out[16], again[16];

	if (sf_api_version(v, out, sizeof out) == 0) {
		FUZZ_CHECK(out[0] == 'v' && strchr(out, '.') != NULL,
		    "version \"%s\" from \"%s\"", out, v);
		FUZZ_CHECK(sf_api_version(out, again, sizeof again) == 0 &&
		    strcmp(out, again) == 0, "version \"%s\" is not stable", out);
	}
	free(v);
}

static void
fuzz_sf_composite(struct fuzz_in *in)
{
	struct sf_save_tally	 tally;
	const char		*ids[FUZZ_SF_IDS];
	char			*lines[FUZZ_SF_IDS], *object, *owner, *body;
	char			 out[256];
	size_t			 n = 0, i, ok[FUZZ_SF_IDS], failed[FUZZ_SF_IDS];
	json_object		*o, *recs;

	object = fuzz_line(in, NULL);
	owner = fuzz_line(in, NULL);
	while (in->n > 0 && n < FUZZ_SF_IDS) {
		lines[n] = fuzz_line(in, NULL);
		ids[n] = lines[n];
		n++;
	}
	if ((body = sf_composite_body(object, ids, n, owner)) != NULL) {
		FUZZ_CHECK((o = json_tokener_parse(body)) != NULL &&
		    json_object_object_get_ex(o, "records", &recs) &&
		    json_object_array_length(recs) == n,
		    "composite body \"%s\"", body);
		json_object_put(o);
		free(body);
	}
	/* The objects and failures as a reassign step would list them. */
	memset(&tally, 0, sizeof tally);
	for (i = 0; i < n; i++) {
		ok[i] = strlen(ids[i]);
		failed[i] = i % 3 == 0 ? ok[i] / 2 : 0;
		tally.failed += failed[i];
		if (failed[i] > 0 && tally.nfirst < SF_FAILURES_KEPT) {
			conn_copy_clean(tally.first[tally.nfirst].id,
			    sizeof tally.first[0].id, ids[i]);
			conn_copy_clean(tally.first[tally.nfirst].status,
			    sizeof tally.first[0].status, object);
			tally.nfirst++;
		}
	}
	sf_reassign_summary(out, sizeof out, ids, ok, failed, n, &tally, owner);
	FUZZ_CHECK(memchr(out, '\0', sizeof out) != NULL, "summary overflow");
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(object);
	free(owner);
}

static void
fuzz_sf_limit_info(struct fuzz_in *in)
{
	char	*v = fuzz_rest(in);
	long	 used = -7, limit = -7;

	if (sf_limit_info_parse(v, &used, &limit) == 0)
		FUZZ_CHECK(used >= 0 && limit > 0 && strstr(v, "api-usage=") !=
		    NULL, "Sforce-Limit-Info \"%s\": %ld/%ld", v, used, limit);
	else
		FUZZ_CHECK(used == -7 && limit == -7, "Sforce-Limit-Info \"%s\" "
		    "refused but written", v);
	free(v);
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

	switch (fuzz_op(&in, 7)) {
	case 0:
		fuzz_sf_quote(&in);
		break;
	case 1:
		fuzz_sf_page(&in);
		break;
	case 2:
		fuzz_sf_save(&in);
		break;
	case 3:
		fuzz_sf_answer(&in);
		break;
	case 4:
		fuzz_sf_version(&in);
		break;
	case 5:
		fuzz_sf_composite(&in);
		break;
	case 6:
		fuzz_sf_limit_info(&in);
		break;
	}
	return 0;
}
