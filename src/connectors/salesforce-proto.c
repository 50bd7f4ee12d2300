/*
 * salesforce-proto: the pure half of the Salesforce connector. It builds
 * what goes on the wire (escaped SOQL, URL-encoded query paths, the revoke
 * form, composite/sobjects bodies) and reads what comes back (query pages,
 * SaveResults, error arrays), and classifies responses for the target's
 * retry logic. It also knows which objects a reassign step may name (the
 * runbook check) and reads the org's API usage from Sforce-Limit-Info (the
 * connector's signals hook). No calls are made here, so all of it is
 * unit-tested without an engine or a network (tests/unit/test_salesforce.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "deprov/connector.h"
#include "deprov/diag.h"
#include "deprov/http.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

#include "common.h"
#include "salesforce-internal.h"

/*
 * Standard objects whose records a reassign step can give to a new owner:
 * each has an OwnerId the API may update. Custom objects ("Name__c") are
 * allowed besides.
 */
static const char *const sf_reassignable[] = {
	"Account", "Asset", "Campaign", "Case", "Contact", "Contract", "Event",
	"Lead", "Opportunity", "Order", "ServiceContract", "Solution", "Task",
	"WorkOrder", NULL
};

enum sf_error_form {
	SF_ERR_NONE = 0,
	SF_ERR_REST,		/* [{"message","errorCode"}] (or one such object) */
	SF_ERR_OAUTH		/* {"error","error_description"} */
};

static void		 sf_appendf(char *out, size_t outlen, size_t *len,
			    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum sf_error_form sf_error_read(const char *body, size_t len, char *code,
			    size_t codelen, char *msg, size_t msglen);
static int		 sf_next_url_valid(const char *s);
static int		 sf_json_add(json_object *o, const char *k, json_object *v);
static int		 sf_refusal_code(const char *code);

/* Append to a bounded string; output is cut (never overflows) when full. */
static void
sf_appendf(char *out, size_t outlen, size_t *len, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (outlen == 0 || *len >= outlen - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *len, outlen - *len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*len += (size_t)n;
	if (*len > outlen - 1)
		*len = outlen - 1;
}

int
sf_id_valid(const char *s)
{
	size_t	i;

	if (s == NULL)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= SF_ID_MAX || !isalnum((unsigned char)s[i]))
			return 0;
	}
	return i == 15 || i == 18;
}

int
sf_object_name_valid(const char *s)
{
	size_t	i;

	if (s == NULL || !isalpha((unsigned char)s[0]))
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= SF_OBJECT_NAME_MAX)
			return 0;
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	}
	return 1;
}

int
sf_object_reassignable(const char *s)
{
	size_t	i, len;

	if (!sf_object_name_valid(s))
		return 0;
	len = strlen(s);
	if (len > 3 && strcmp(s + len - 3, "__c") == 0)
		return 1;
	/* SOQL names are not case-sensitive. */
	for (i = 0; sf_reassignable[i] != NULL; i++)
		if (strcasecmp(sf_reassignable[i], s) == 0)
			return 1;
	return 0;
}

void
sf_check_step(struct connector_check *chk, const struct runbook_step *st,
    json_object *json)
{
	json_object	*arr = NULL, *at;
	const char	*near;
	size_t		 i;

	if (st->kind != STEP_REASSIGN)
		return;
	if (json != NULL && json_object_is_type(json, json_type_object))
		json_object_object_get_ex(json, "objects", &arr);
	for (i = 0; i < st->nobjects; i++) {
		if (sf_object_reassignable(st->objects[i]))
			continue;
		at = arr != NULL && json_object_is_type(arr, json_type_array) ?
		    json_object_array_get_idx(arr, i) : NULL;
		if ((near = diags_suggest(st->objects[i], sf_reassignable)) !=
		    NULL)
			conn_check(chk, at != NULL ? at : json, NULL,
			    "objects[%zu]: \"%s\" is not an object salesforce "
			    "reassigns (did you mean \"%s\"?)", i,
			    st->objects[i], near);
		else
			conn_check(chk, at != NULL ? at : json, NULL,
			    "objects[%zu]: \"%s\" is not an object salesforce "
			    "reassigns (a standard object with an owner: "
			    "Account, Asset, Campaign, Case, Contact, Contract, "
			    "Event, Lead, Opportunity, Order, ServiceContract, "
			    "Solution, Task, WorkOrder; or a custom object, "
			    "Name__c)", i, st->objects[i]);
	}
}

int
sf_limit_info_parse(const char *v, long *used, long *limit)
{
	const char	*p;
	char		*end;
	long		 u, l;

	if (v == NULL)
		return -1;
	/* Not "per-app-api-usage=". */
	for (p = v; (p = strstr(p, "api-usage=")) != NULL; p++)
		if (p == v || p[-1] == ' ' || p[-1] == ',' || p[-1] == ';')
			break;
	if (p == NULL || p[10] < '0' || p[10] > '9')
		return -1;
	errno = 0;
	u = strtol(p + 10, &end, 10);
	if (errno != 0 || *end != '/' || end[1] < '0' || end[1] > '9')
		return -1;
	l = strtol(end + 1, &end, 10);
	if (errno != 0 || l <= 0 || (*end != '\0' && *end != ',' &&
	    *end != ';' && *end != ' '))
		return -1;
	*used = u;
	*limit = l;
	return 0;
}

void
sf_signals(struct target *t, const struct http_response *resp)
{
	long	used, limit;

	if (sf_limit_info_parse(http_response_header(resp,
	    "Sforce-Limit-Info"), &used, &limit) == 0)
		target_signal_usage(t, used, limit);
}

int
sf_api_version(const char *in, char *out, size_t outlen)
{
	const char	*p;
	size_t		 major = 0, minor = 0;

	if (in == NULL || *in == '\0')
		in = SF_DEFAULT_API_VERSION;
	p = (*in == 'v' || *in == 'V') ? in + 1 : in;
	while (isdigit((unsigned char)p[major]))
		major++;
	if (major == 0 || major > 3 || p[major] != '.')
		return -1;
	while (isdigit((unsigned char)p[major + 1 + minor]))
		minor++;
	if (minor == 0 || minor > 2 || p[major + 1 + minor] != '\0')
		return -1;
	if ((size_t)snprintf(out, outlen, "v%s", p) >= outlen)
		return -1;
	return 0;
}

int
sf_soql_escape(const char *s, char *out, size_t outlen)
{
	size_t	i, n = 0;

	if (s == NULL || outlen == 0)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return -1;
		if (c == '\\' || c == '\'') {
			if (n + 2 >= outlen)
				return -1;
			out[n++] = '\\';
		} else if (n + 1 >= outlen)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return n > 0x7fffffff ? -1 : (int)n;
}

int
sf_soql_where(char *out, size_t outlen, const char *fields, const char *object,
    const char *field, const char *value, const char *extra, char *err,
    size_t errlen)
{
	char	lit[1024];
	int	n;

	if (!sf_object_name_valid(object)) {
		snprintf(err, errlen, "invalid object name '%.80s'",
		    object != NULL ? object : "");
		return -1;
	}
	if (!sf_object_name_valid(field)) {
		snprintf(err, errlen, "invalid field name");
		return -1;
	}
	if (value == NULL || sf_soql_escape(value, lit, sizeof lit) < 0) {
		snprintf(err, errlen, "value for %s is not usable in a query "
		    "(control character or too long)", field);
		return -1;
	}
	n = snprintf(out, outlen, "SELECT %s FROM %s WHERE %s='%s'%s%s", fields,
	    object, field, lit, extra != NULL ? " AND " : "",
	    extra != NULL ? extra : "");
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "query too long");
		return -1;
	}
	return 0;
}

char *
sf_query_path(const char *version, const char *soql)
{
	char	*enc = NULL, *path = NULL;
	size_t	 len;

	if ((enc = http_urlencode(soql)) == NULL)
		goto fail;
	len = strlen(version) + strlen(enc) + sizeof "/services/data//query?q=";
	if ((path = malloc(len)) == NULL)
		goto fail;
	snprintf(path, len, "/services/data/%s/query?q=%s", version, enc);
fail:
	free(enc);
	return path;
}

char *
sf_revoke_body(const char *token)
{
	char	*enc = NULL, *body = NULL;
	size_t	 len;

	if ((enc = http_urlencode(token)) == NULL)
		return NULL;
	len = strlen(enc) + sizeof "token=";
	if ((body = malloc(len)) != NULL)
		snprintf(body, len, "token=%s", enc);
	/* The encoded token is a secret too: do not leave it in freed memory. */
	explicit_bzero(enc, strlen(enc));
	free(enc);
	return body;
}

/* Add member k = v to o; v is consumed either way. -1 when v is NULL or on no memory. */
static int
sf_json_add(json_object *o, const char *k, json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

char *
sf_composite_body(const char *object, const char *const *ids, size_t n,
    const char *owner)
{
	json_object	*root = NULL, *records, *rec = NULL, *attr;
	const char	*s;
	char		*out = NULL;
	size_t		 i;

	if (!sf_object_name_valid(object) || !sf_id_valid(owner) || ids == NULL ||
	    n == 0 || n > SF_COMPOSITE_MAX)
		return NULL;
	for (i = 0; i < n; i++) {
		if (!sf_id_valid(ids[i]))
			return NULL;
	}
	if ((root = json_object_new_object()) == NULL)
		goto fail;
	if (sf_json_add(root, "allOrNone", json_object_new_boolean(0)) != 0)
		goto fail;
	records = json_object_new_array_ext((int)n);
	if (sf_json_add(root, "records", records) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((rec = json_object_new_object()) == NULL)
			goto fail;
		attr = json_object_new_object();
		if (sf_json_add(rec, "attributes", attr) != 0 ||
		    sf_json_add(attr, "type", json_object_new_string(object)) != 0 ||
		    sf_json_add(rec, "id", json_object_new_string(ids[i])) != 0 ||
		    sf_json_add(rec, "OwnerId", json_object_new_string(owner)) != 0)
			goto fail;
		if (json_object_array_add(records, rec) != 0)
			goto fail;
		rec = NULL;	/* owned by records now */
	}
	s = json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s != NULL)
		out = strdup(s);
fail:
	json_object_put(rec);
	json_object_put(root);
	return out;
}

int
sf_save_results_parse(const char *body, size_t len, const char *const *ids,
    size_t n, struct sf_save_tally *tally, char *err, size_t errlen)
{
	json_object	*root = NULL, *res, *errors, *e0, *v;
	size_t		 i, nres;
	const char	*status;

	if ((root = conn_json_parse(body, len)) == NULL ||
	    !json_object_is_type(root, json_type_array)) {
		snprintf(err, errlen, "answer is not a SaveResult array");
		json_object_put(root);
		return -1;
	}
	nres = json_object_array_length(root);
	for (i = 0; i < n; i++) {
		res = i < nres ? json_object_array_get_idx(root, i) : NULL;
		if (res != NULL && json_object_is_type(res, json_type_object) &&
		    sf_record_bool(res, "success") == 1) {
			tally->ok++;
			continue;
		}
		tally->failed++;
		if (tally->nfirst >= SF_FAILURES_KEPT)
			continue;
		status = res == NULL ? "NO_RESULT" : "UNKNOWN_ERROR";
		if (res != NULL &&
		    json_object_object_get_ex(res, "errors", &errors) &&
		    json_object_is_type(errors, json_type_array) &&
		    (e0 = json_object_array_get_idx(errors, 0)) != NULL &&
		    json_object_object_get_ex(e0, "statusCode", &v) &&
		    json_object_is_type(v, json_type_string))
			status = json_object_get_string(v);
		conn_copy_clean(tally->first[tally->nfirst].id,
		    sizeof tally->first[0].id, ids[i]);
		conn_copy_clean(tally->first[tally->nfirst].status,
		    sizeof tally->first[0].status, status);
		tally->nfirst++;
	}
	json_object_put(root);
	return 0;
}

/* 1 when a nextRecordsUrl is a plain /services/data/ path we may follow. */
static int
sf_next_url_valid(const char *s)
{
	size_t	i;

	if (strncmp(s, "/services/data/", 15) != 0 || strstr(s, "..") != NULL)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 512)
			return 0;
		if (!isalnum((unsigned char)s[i]) && strchr("/._-", s[i]) == NULL)
			return 0;
	}
	return 1;
}

int
sf_page_parse(const char *body, size_t len, struct sf_page *page, char *err,
    size_t errlen)
{
	json_object	*v;

	memset(page, 0, sizeof *page);
	if ((page->root = conn_json_parse(body, len)) == NULL ||
	    !json_object_is_type(page->root, json_type_object)) {
		snprintf(err, errlen, "query answer is not a JSON object");
		goto fail;
	}
	if (!json_object_object_get_ex(page->root, "records", &page->records) ||
	    !json_object_is_type(page->records, json_type_array)) {
		snprintf(err, errlen, "query answer has no records array");
		goto fail;
	}
	page->nrecords = json_object_array_length(page->records);
	page->total_size = (long long)page->nrecords;
	if (json_object_object_get_ex(page->root, "totalSize", &v) &&
	    json_object_is_type(v, json_type_int))
		page->total_size = json_object_get_int64(v);
	if (!json_object_object_get_ex(page->root, "done", &v) ||
	    !json_object_is_type(v, json_type_boolean)) {
		snprintf(err, errlen, "query answer has no done flag");
		goto fail;
	}
	page->done = json_object_get_boolean(v);
	if (page->done)
		return 0;
	if (!json_object_object_get_ex(page->root, "nextRecordsUrl", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !sf_next_url_valid(json_object_get_string(v))) {
		snprintf(err, errlen, "query answer is not done but has no "
		    "usable nextRecordsUrl");
		goto fail;
	}
	if ((page->next_url = strdup(json_object_get_string(v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return 0;
fail:
	sf_page_clear(page);
	return -1;
}

void
sf_page_clear(struct sf_page *page)
{
	json_object_put(page->root);
	free(page->next_url);
	memset(page, 0, sizeof *page);
}

const char *
sf_record_str(json_object *rec, const char *field)
{
	return conn_str(rec, field);
}

int
sf_record_bool(json_object *rec, const char *field)
{
	json_object	*v;

	if (rec == NULL || !json_object_object_get_ex(rec, field, &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return -1;
	return json_object_get_boolean(v) ? 1 : 0;
}

/* sf_error_parse, also saying which form the body had. */
static enum sf_error_form
sf_error_read(const char *body, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen)
{
	json_object		*root, *e;
	enum sf_error_form	 form = SF_ERR_NONE;
	size_t			 n = 0, mlen;
	const char		*c = NULL, *m = NULL;

	if (codelen > 0)
		code[0] = '\0';
	if (msglen > 0)
		msg[0] = '\0';
	if ((root = conn_json_parse(body, len)) == NULL)
		return SF_ERR_NONE;
	e = root;
	if (json_object_is_type(root, json_type_array)) {
		n = json_object_array_length(root);
		e = n > 0 ? json_object_array_get_idx(root, 0) : NULL;
	}
	if (e != NULL && json_object_is_type(e, json_type_object)) {
		if ((c = sf_record_str(e, "errorCode")) != NULL) {
			m = sf_record_str(e, "message");
			form = SF_ERR_REST;
		} else if (e == root && (c = sf_record_str(e, "error")) != NULL) {
			m = sf_record_str(e, "error_description");
			form = SF_ERR_OAUTH;
		}
	}
	if (form != SF_ERR_NONE) {
		conn_copy_clean(code, codelen, c);
		conn_copy_clean(msg, msglen, m);
		mlen = msglen > 0 ? strlen(msg) : 0;
		if (n > 1)
			sf_appendf(msg, msglen, &mlen, " (+%zu more)", n - 1);
	}
	json_object_put(root);
	return form;
}

int
sf_error_parse(const char *body, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen)
{
	if (sf_error_read(body, len, code, codelen, msg, msglen) == SF_ERR_NONE)
		return -1;
	return 0;
}

void
sf_call_error(const struct target_result *res, char *out, size_t outlen)
{
	const struct http_response	*resp = res->resp;
	char				 code[128], msg[512];

	if (resp != NULL && resp->status > 0 && resp->body != NULL &&
	    sf_error_parse(resp->body, resp->body_len, code, sizeof code, msg,
	    sizeof msg) == 0 && code[0] != '\0')
		conn_call_errorf(res, out, outlen, " %s%s%s", code,
		    msg[0] != '\0' ? ": " : "", msg);
	else
		conn_call_error(res, out, outlen);	/* says the attempts */
}

/* Setup fixes per refusal, matched on words of Salesforce's message. */
static const struct {
	const char	*word;		/* in the message, compared without case */
	const char	*hint;
} sf_refusal_hints[] = {
	{ "workflow user", "change the Default Workflow User in Setup > "
	    "Process Automation Settings" },
	{ "web to lead", "change the Default Lead Creator in Setup > "
	    "Web-to-Lead" },
	{ "web-to-lead", "change the Default Lead Creator in Setup > "
	    "Web-to-Lead" },
	{ "owner of leads", "change the Default Lead Owner in Setup > Lead "
	    "Settings" },
	{ "lead owner", "change the Default Lead Owner in Setup > Lead "
	    "Settings" },
	{ "automated case user", "change the Automated Case User (the "
	    "Web-to-Case and Email-to-Case creator) in Setup > Support "
	    "Settings" },
	{ "case creator", "change the Automated Case User (the Web-to-Case "
	    "and Email-to-Case creator) in Setup > Support Settings" },
	{ "owner of cases", "change the Default Case Owner in Setup > Support "
	    "Settings" },
	{ "case owner", "change the Default Case Owner in Setup > Support "
	    "Settings" },
	{ "case assignment", "take the user out of the case assignment and "
	    "escalation rules" },
	{ "portal", "remove the user as portal administrator (Customer "
	    "Portal or Partner settings) and move the portal accounts it "
	    "owns to an active user with a role" },
	{ "hierarchy field", "clear the user from the custom hierarchy field "
	    "the message names, on every user that refers to it" },
	{ "approv", "replace the user as approver or delegated approver in "
	    "the approval processes (Setup > Approval Processes) and "
	    "reassign its pending approval requests" },
	{ NULL, NULL }
};

const char *
sf_user_refusal_hint(int activating, const char *code, const char *msg)
{
	size_t	i;

	if (code == NULL)
		return NULL;
	if (activating)
		return strcmp(code, "LICENSE_LIMIT_EXCEEDED") == 0 ?
		    "no free Salesforce licence for the user: free one "
		    "(deactivate another user) or buy one" : NULL;
	if (strcmp(code, "FIELD_CUSTOM_VALIDATION_EXCEPTION") == 0)
		return "a validation rule on User refused it: change the rule "
		    "(Setup > Object Manager > User > Validation Rules) or "
		    "what it checks";
	if (strcmp(code, "INACTIVE_OWNER_OR_USER") == 0)
		return "the user still owns records or settings that need an "
		    "active user (such as portal accounts): move them to an "
		    "active user";
	if (strcmp(code, "FIELD_INTEGRITY_EXCEPTION") != 0)
		return NULL;
	for (i = 0; msg != NULL && sf_refusal_hints[i].word != NULL; i++) {
		if (strcasestr(msg, sf_refusal_hints[i].word) != NULL)
			return sf_refusal_hints[i].hint;
	}
	return "the user is still referenced by an org setting (default "
	    "user, owner or creator, approver, hierarchy field): remove "
	    "that reference in Setup";
}

/* Errors about the user's state: sending them again changes nothing. */
static int
sf_refusal_code(const char *code)
{
	return strcmp(code, "FIELD_INTEGRITY_EXCEPTION") == 0 ||
	    strcmp(code, "INACTIVE_OWNER_OR_USER") == 0 ||
	    strcmp(code, "FIELD_CUSTOM_VALIDATION_EXCEPTION") == 0 ||
	    strcmp(code, "LICENSE_LIMIT_EXCEEDED") == 0;
}

enum call_verdict
sf_classify(const struct http_response *resp, char *err, size_t errlen)
{
	enum sf_error_form	form;
	char			code[128], msg[512];

	if (resp == NULL || resp->status == 0 ||
	    (resp->status >= 200 && resp->status < 300))
		return CALL_DEFAULT;
	form = sf_error_read(resp->body, resp->body_len, code, sizeof code,
	    msg, sizeof msg);
	if (form == SF_ERR_NONE)
		return CALL_DEFAULT;
	/* The target prefixes "HTTP <status>: " itself. */
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s%s%s", code, msg[0] != '\0' ? ": " : "",
		    msg);
	if (form == SF_ERR_REST) {
		/* The org's API allocation is used up: minutes, not ms. */
		if (resp->status == 403 &&
		    strcmp(code, "REQUEST_LIMIT_EXCEEDED") == 0)
			return CALL_RETRY_LONG;
		if (resp->status == 401 &&
		    strcmp(code, "INVALID_SESSION_ID") == 0)
			return CALL_REAUTH;
		/* Record lock contention is transient. */
		if (strcmp(code, "UNABLE_TO_LOCK_ROW") == 0)
			return CALL_RETRY;
		/* A refusal because of the user's settings is permanent. */
		if (sf_refusal_code(code))
			return CALL_DONE;
		return CALL_DEFAULT;
	}
	/* An OAuth endpoint (revoke) said no: the step decides what it means. */
	if (resp->status == 400)
		return CALL_DONE;
	return CALL_DEFAULT;
}

void
sf_reassign_summary(char *out, size_t outlen, const char *const *objects,
    const size_t *ok, const size_t *failed, size_t nobjects,
    const struct sf_save_tally *tally, const char *owner)
{
	size_t	i, len = 0, total_ok = 0, nlisted = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < nobjects; i++)
		total_ok += ok[i];
	if (tally->failed > 0) {
		sf_appendf(out, outlen, &len, "%zu of %zu records failed (",
		    tally->failed, tally->failed + total_ok);
		for (i = 0; i < nobjects; i++) {
			if (failed[i] == 0)
				continue;
			sf_appendf(out, outlen, &len, "%s%s %zu",
			    nlisted++ > 0 ? ", " : "", objects[i], failed[i]);
		}
		sf_appendf(out, outlen, &len, "): ");
		for (i = 0; i < tally->nfirst; i++)
			sf_appendf(out, outlen, &len, "%s%s %s",
			    i > 0 ? ", " : "", tally->first[i].id,
			    tally->first[i].status);
		if (tally->failed > tally->nfirst)
			sf_appendf(out, outlen, &len, ", +%zu more",
			    tally->failed - tally->nfirst);
		sf_appendf(out, outlen, &len, "; ");
	}
	sf_appendf(out, outlen, &len, "reassigned %zu record%s", total_ok,
	    total_ok == 1 ? "" : "s");
	if (nobjects > 0) {
		sf_appendf(out, outlen, &len, " (");
		for (i = 0; i < nobjects; i++)
			sf_appendf(out, outlen, &len, "%s%s %zu",
			    i > 0 ? ", " : "", objects[i], ok[i]);
		sf_appendf(out, outlen, &len, ")");
	}
	sf_appendf(out, outlen, &len, " to %s", owner);
}
