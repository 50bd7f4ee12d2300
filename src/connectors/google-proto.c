/*
 * google-proto: the pure half of the Google Workspace connector: Admin SDK
 * paths, the transfers.insert body, option parsing and checking, the Data
 * Transfer applications a reassign step may name, readers for users,
 * token lists, application lists, transfers and Google error bodies, and
 * the response classifier. Unit-tested in tests/unit/test_google.c.
 */
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
#include "google-internal.h"

static int		 google_key_usable(const char *key);

/* A key we put in a path: 1..GOOGLE_KEY_MAX bytes, no control characters. */
static int
google_key_usable(const char *key)
{
	return conn_key_usable(key, GOOGLE_KEY_MAX);
}

char *
google_user_path(const char *key, const char *suffix)
{
	if (!google_key_usable(key))
		return NULL;
	return conn_key_path("/admin/directory/v1/users/", key, suffix);
}

char *
google_token_path(const char *key, const char *client_id)
{
	char	*k = NULL, *c = NULL, *path = NULL;

	if (!google_key_usable(key) || !google_key_usable(client_id))
		return NULL;
	if ((k = http_urlencode(key)) != NULL &&
	    (c = http_urlencode(client_id)) != NULL &&
	    asprintf(&path, "/admin/directory/v1/users/%s/tokens/%s", k, c) < 0)
		path = NULL;
	free(k);
	free(c);
	return path;
}

char *
google_transfers_list_path(const char *old_owner, const char *page_token)
{
	char	*o = NULL, *t = NULL, *path = NULL;

	if (!google_key_usable(old_owner))
		return NULL;
	if ((o = http_urlencode(old_owner)) == NULL)
		return NULL;
	if (page_token != NULL && page_token[0] != '\0' &&
	    (t = http_urlencode(page_token)) == NULL) {
		free(o);
		return NULL;
	}
	if (asprintf(&path, "/admin/datatransfer/v1/transfers?oldOwnerUserId=%s%s%s",
	    o, t != NULL ? "&pageToken=" : "", t != NULL ? t : "") < 0)
		path = NULL;
	free(o);
	free(t);
	return path;
}

char *
google_apps_path(const char *page_token)
{
	char	*t = NULL, *path = NULL;

	if (page_token != NULL && page_token[0] != '\0' &&
	    (t = http_urlencode(page_token)) == NULL)
		return NULL;
	if (asprintf(&path, "/admin/datatransfer/v1/applications%s%s",
	    t != NULL ? "?pageToken=" : "", t != NULL ? t : "") < 0)
		path = NULL;
	free(t);
	return path;
}

char *
google_transfer_path(const char *id)
{
	if (!google_key_usable(id))
		return NULL;
	return conn_key_path("/admin/datatransfer/v1/transfers/", id, NULL);
}

const char *
google_suspend_body(int suspended)
{
	return suspended ? "{\"suspended\":true}" : "{\"suspended\":false}";
}

char *
google_transfer_body(const char *old_owner, const char *new_owner,
    const char *app_id, const struct google_options *opt)
{
	json_object	*root = NULL, *adts, *adt, *params, *param, *vals;
	char		*out = NULL;
	size_t		 i;

	if (!google_key_usable(old_owner) || !google_key_usable(new_owner) ||
	    !google_key_usable(app_id) || opt == NULL)
		return NULL;
	if ((root = json_object_new_object()) == NULL)
		return NULL;
	adts = json_object_new_array();
	adt = json_object_new_object();
	params = json_object_new_array();
	param = json_object_new_object();
	vals = json_object_new_array();
	if (adts == NULL || adt == NULL || params == NULL || param == NULL ||
	    vals == NULL) {
		json_object_put(adts);
		json_object_put(adt);
		json_object_put(params);
		json_object_put(param);
		json_object_put(vals);
		goto done;
	}
	for (i = 0; i < opt->nlevels; i++)
		json_object_array_add(vals, json_object_new_string(opt->levels[i]));
	json_object_object_add(param, "key", json_object_new_string("PRIVACY_LEVEL"));
	json_object_object_add(param, "value", vals);
	json_object_array_add(params, param);
	json_object_object_add(adt, "applicationId", json_object_new_string(app_id));
	json_object_object_add(adt, "applicationTransferParams", params);
	json_object_array_add(adts, adt);
	json_object_object_add(root, "oldOwnerUserId",
	    json_object_new_string(old_owner));
	json_object_object_add(root, "newOwnerUserId",
	    json_object_new_string(new_owner));
	json_object_object_add(root, "applicationDataTransfers", adts);
	out = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
done:
	json_object_put(root);
	return out;
}

const char *const google_option_keys[] = { "drive_application_id",
	"transfer_poll_ms", "transfer_timeout_s", "privacy_levels", NULL };

/*
 * The Data Transfer applications a reassign step may name in "objects":
 * the name a runbook uses (any case) and the application's name at Google.
 */
static const struct {
	const char	*name;
	const char	*app;
} google_apps[] = {
	{ "Drive", GOOGLE_DRIVE_APP_NAME },
};

static const char *const google_app_names[] = { "Drive", NULL };

const char *
google_transfer_app(const char *name)
{
	size_t	i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < sizeof google_apps / sizeof google_apps[0]; i++)
		if (strcasecmp(google_apps[i].name, name) == 0)
			return google_apps[i].app;
	return NULL;
}

/* The defaults: look the Drive application up, poll 5 s, give up after an hour. */
static void
google_options_default(struct google_options *opt)
{
	memset(opt, 0, sizeof *opt);
	opt->poll_ms = GOOGLE_POLL_MS_DEFAULT;
	opt->timeout_s = GOOGLE_TIMEOUT_S_DEFAULT;
	snprintf(opt->levels[0], sizeof opt->levels[0], "PRIVATE");
	snprintf(opt->levels[1], sizeof opt->levels[1], "SHARED");
	opt->nlevels = 2;
}

/* Apply one option: 1 done, 0 not a Google option, -1 with the reason in err. */
static int
google_opt_apply(struct google_options *opt, const char *key, json_object *v,
    char *err, size_t errlen)
{
	json_object	*e;
	size_t		 i, n;
	int64_t		 x;

	if (strcmp(key, "drive_application_id") == 0) {
		if (json_object_is_type(v, json_type_int))
			snprintf(opt->drive_app_id, sizeof opt->drive_app_id, "%lld",
			    (long long)json_object_get_int64(v));
		else if (json_object_is_type(v, json_type_string) &&
		    google_key_usable(json_object_get_string(v)) &&
		    strlen(json_object_get_string(v)) <= GOOGLE_ID_MAX)
			snprintf(opt->drive_app_id, sizeof opt->drive_app_id, "%s",
			    json_object_get_string(v));
		else {
			snprintf(err, errlen, "options.drive_application_id: "
			    "expected a string (or number) id");
			return -1;
		}
	} else if (strcmp(key, "transfer_poll_ms") == 0) {
		if (!json_object_is_type(v, json_type_int) ||
		    (x = json_object_get_int64(v)) < 10 || x > 3600000) {
			snprintf(err, errlen, "options.transfer_poll_ms: must be "
			    "an integer 10..3600000");
			return -1;
		}
		opt->poll_ms = (long)x;
	} else if (strcmp(key, "transfer_timeout_s") == 0) {
		if (!json_object_is_type(v, json_type_int) ||
		    (x = json_object_get_int64(v)) < 1 || x > 7 * 86400) {
			snprintf(err, errlen, "options.transfer_timeout_s: must "
			    "be an integer 1..604800");
			return -1;
		}
		opt->timeout_s = (long)x;
	} else if (strcmp(key, "privacy_levels") == 0) {
		if (!json_object_is_type(v, json_type_array) ||
		    (n = json_object_array_length(v)) == 0 || n > GOOGLE_LEVELS_MAX) {
			snprintf(err, errlen, "options.privacy_levels: must list "
			    "PRIVATE and/or SHARED");
			return -1;
		}
		opt->nlevels = 0;
		for (i = 0; i < n; i++) {
			e = json_object_array_get_idx(v, i);
			if (!json_object_is_type(e, json_type_string) ||
			    (strcmp(json_object_get_string(e), "PRIVATE") != 0 &&
			    strcmp(json_object_get_string(e), "SHARED") != 0) ||
			    (i == 1 && strcmp(json_object_get_string(e),
			    opt->levels[0]) == 0)) {
				snprintf(err, errlen, "options.privacy_levels: "
				    "must list PRIVATE and/or SHARED");
				return -1;
			}
			snprintf(opt->levels[opt->nlevels++], sizeof opt->levels[0],
			    "%s", json_object_get_string(e));
		}
	} else
		return 0;
	return 1;
}

int
google_options_parse(json_object *o, struct google_options *opt, char *err,
    size_t errlen)
{
	google_options_default(opt);
	if (o == NULL)
		return 0;
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "options must be an object");
		return -1;
	}
	/* Unknown keys are --check's business (connector_check_options). */
	json_object_object_foreach(o, key, val) {
		if (google_opt_apply(opt, key, val, err, errlen) < 0)
			return -1;
	}
	return 0;
}

void
google_check_options(struct connector_check *chk, json_object *options)
{
	struct google_options	 opt;
	char			 err[256];

	google_options_default(&opt);
	json_object_object_foreach(options, key, val) {
		if (google_opt_apply(&opt, key, val, err, sizeof err) < 0)
			conn_check(chk, options, key, "%s", err);
	}
}

void
google_check_step(struct connector_check *chk, const struct runbook_step *st,
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
		if (google_transfer_app(st->objects[i]) != NULL)
			continue;
		at = arr != NULL && json_object_is_type(arr, json_type_array) ?
		    json_object_array_get_idx(arr, i) : NULL;
		if ((near = diags_suggest(st->objects[i], google_app_names)) !=
		    NULL)
			conn_check(chk, at != NULL ? at : json, NULL,
			    "objects[%zu]: \"%s\" is not a Data Transfer "
			    "application google transfers (did you mean "
			    "\"%s\"?)", i, st->objects[i], near);
		else
			conn_check(chk, at != NULL ? at : json, NULL,
			    "objects[%zu]: \"%s\" is not a Data Transfer "
			    "application google transfers (only \"Drive\", "
			    "i.e. \"%s\")", i, st->objects[i],
			    GOOGLE_DRIVE_APP_NAME);
	}
}

int
google_user_parse(const char *body, size_t len, struct google_user *u,
    char *err, size_t errlen)
{
	json_object	*o = conn_json_parse(body, len), *v;
	const char	*id;
	int		 rc = -1;

	memset(u, 0, sizeof *u);
	u->suspended = -1;
	if (o == NULL) {
		snprintf(err, errlen, "user answer is not JSON");
		return -1;
	}
	id = conn_str(o, "id");
	if (id == NULL || id[0] == '\0' || strlen(id) > GOOGLE_ID_MAX) {
		snprintf(err, errlen, "user answer without an id");
		goto done;
	}
	conn_copy_clean(u->id, sizeof u->id, id);
	conn_copy_clean(u->email, sizeof u->email, conn_str(o, "primaryEmail"));
	if (json_object_object_get_ex(o, "suspended", &v) &&
	    json_object_is_type(v, json_type_boolean))
		u->suspended = json_object_get_boolean(v);
	rc = 0;
done:
	json_object_put(o);
	return rc;
}

void
google_ids_free(char **ids, size_t n)
{
	size_t	i;

	for (i = 0; ids != NULL && i < n; i++)
		free(ids[i]);
	free(ids);
}

int
google_tokens_parse(const char *body, size_t len, char ***ids, size_t *n,
    char *err, size_t errlen)
{
	json_object	*o = conn_json_parse(body, len), *items;
	const char	*cid;
	char		**v = NULL;
	size_t		 i, cnt, k = 0;
	int		 rc = -1;

	*ids = NULL;
	*n = 0;
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "token list is not a JSON object");
		goto done;
	}
	if (!json_object_object_get_ex(o, "items", &items) ||
	    json_object_is_type(items, json_type_null)) {
		rc = 0;		/* no tokens: Google leaves "items" out */
		goto done;
	}
	if (!json_object_is_type(items, json_type_array)) {
		snprintf(err, errlen, "token list items is not an array");
		goto done;
	}
	cnt = json_object_array_length(items);
	if (cnt > 0 && (v = calloc(cnt, sizeof *v)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	for (i = 0; i < cnt; i++) {
		cid = conn_str(json_object_array_get_idx(items, i), "clientId");
		if (!google_key_usable(cid)) {
			snprintf(err, errlen, "token without a usable clientId");
			google_ids_free(v, k);
			v = NULL;
			goto done;
		}
		if ((v[k] = strdup(cid)) == NULL) {
			snprintf(err, errlen, "out of memory");
			google_ids_free(v, k);
			v = NULL;
			goto done;
		}
		k++;
	}
	*ids = v;
	*n = k;
	rc = 0;
done:
	json_object_put(o);
	return rc;
}

int
google_apps_find(const char *body, size_t len, char *app_id, size_t app_idlen,
    char *next_page, size_t next_pagelen, char *err, size_t errlen)
{
	json_object	*o = conn_json_parse(body, len), *apps, *a, *v;
	const char	*name, *id, *fallback = NULL;
	char		 num[32];
	size_t		 i, n;
	int		 rc = -1;

	if (next_pagelen > 0)
		next_page[0] = '\0';
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "applications list is not a JSON object");
		goto done;
	}
	if (!json_object_object_get_ex(o, "applications", &apps) ||
	    !json_object_is_type(apps, json_type_array)) {
		apps = NULL;
		n = 0;
	} else
		n = json_object_array_length(apps);
	for (i = 0; i < n; i++) {
		a = json_object_array_get_idx(apps, i);
		name = conn_str(a, "name");
		/* ids are int64 in the discovery document: string or number */
		if (json_object_object_get_ex(a, "id", &v) &&
		    json_object_is_type(v, json_type_int)) {
			snprintf(num, sizeof num, "%lld",
			    (long long)json_object_get_int64(v));
			id = num;
		} else
			id = conn_str(a, "id");
		if (name == NULL || !google_key_usable(id))
			continue;
		if (strcasecmp(name, GOOGLE_DRIVE_APP_NAME) == 0) {
			conn_copy_clean(app_id, app_idlen, id);
			rc = 1;
			goto done;
		}
		if (fallback == NULL && strcasestr(name, "drive") != NULL) {
			conn_copy_clean(app_id, app_idlen, id);
			fallback = app_id;
		}
	}
	if (fallback != NULL) {
		rc = 1;
		goto done;
	}
	conn_copy_clean(next_page, next_pagelen, conn_str(o, "nextPageToken"));
	rc = 0;
done:
	json_object_put(o);
	return rc;
}

/* Fill t from a DataTransfer object; -1 without an id. */
static int
google_transfer_from(json_object *o, const char *app_id,
    struct google_transfer *t)
{
	json_object	*adts, *v;
	const char	*s;
	size_t		 i, n;

	memset(t, 0, sizeof *t);
	s = conn_str(o, "id");
	if (s == NULL || s[0] == '\0' || strlen(s) > GOOGLE_ID_MAX)
		return -1;
	conn_copy_clean(t->id, sizeof t->id, s);
	conn_copy_clean(t->old_owner, sizeof t->old_owner, conn_str(o,
	    "oldOwnerUserId"));
	conn_copy_clean(t->new_owner, sizeof t->new_owner, conn_str(o,
	    "newOwnerUserId"));
	conn_copy_clean(t->status, sizeof t->status,
	    conn_str(o, "overallTransferStatusCode"));
	if (strcmp(t->status, "completed") == 0)
		t->state = GOOGLE_TRANSFER_COMPLETED;
	else if (strcmp(t->status, "failed") == 0)
		t->state = GOOGLE_TRANSFER_FAILED;
	else
		t->state = GOOGLE_TRANSFER_PENDING;
	if (app_id != NULL && json_object_object_get_ex(o, "applicationDataTransfers",
	    &adts) && json_object_is_type(adts, json_type_array)) {
		n = json_object_array_length(adts);
		for (i = 0; i < n; i++) {
			json_object *adt = json_object_array_get_idx(adts, i);
			char num[32];

			if (json_object_object_get_ex(adt, "applicationId", &v) &&
			    json_object_is_type(v, json_type_int)) {
				snprintf(num, sizeof num, "%lld",
				    (long long)json_object_get_int64(v));
				s = num;
			} else
				s = conn_str(adt, "applicationId");
			if (s != NULL && strcmp(s, app_id) == 0)
				t->has_app = 1;
		}
	}
	return 0;
}

int
google_transfer_parse(const char *body, size_t len, const char *app_id,
    struct google_transfer *t, char *err, size_t errlen)
{
	json_object	*o = conn_json_parse(body, len);
	int		 rc = 0;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    google_transfer_from(o, app_id, t) != 0) {
		snprintf(err, errlen, "transfer answer without an id");
		rc = -1;
	}
	json_object_put(o);
	return rc;
}

int
google_transfers_find(const char *body, size_t len, const char *new_owner,
    const char *app_id, struct google_transfer *out, char *next_page,
    size_t next_pagelen, char *err, size_t errlen)
{
	json_object		*o = conn_json_parse(body, len), *arr;
	struct google_transfer	 t;
	size_t			 i, n = 0;
	int			 rc = -1;

	if (next_pagelen > 0)
		next_page[0] = '\0';
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "transfers list is not a JSON object");
		goto done;
	}
	if (json_object_object_get_ex(o, "dataTransfers", &arr) &&
	    json_object_is_type(arr, json_type_array))
		n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		if (google_transfer_from(json_object_array_get_idx(arr, i), app_id,
		    &t) != 0)
			continue;
		if (t.state == GOOGLE_TRANSFER_PENDING && t.has_app &&
		    strcmp(t.new_owner, new_owner) == 0) {
			*out = t;
			rc = 1;
			goto done;
		}
	}
	conn_copy_clean(next_page, next_pagelen, conn_str(o, "nextPageToken"));
	rc = 0;
done:
	json_object_put(o);
	return rc;
}

int
google_error_parse(const char *body, size_t len, char *reason,
    size_t reasonlen, char *msg, size_t msglen)
{
	json_object	*o = conn_json_parse(body, len), *e, *errs, *v;
	int		 rc = -1;

	if (reasonlen > 0)
		reason[0] = '\0';
	if (msglen > 0)
		msg[0] = '\0';
	if (o == NULL)
		return -1;
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "error", &e) ||
	    !json_object_is_type(e, json_type_object))
		goto done;
	conn_copy_clean(msg, msglen, conn_str(e, "message"));
	if (json_object_object_get_ex(e, "errors", &errs) &&
	    json_object_is_type(errs, json_type_array) &&
	    json_object_array_length(errs) > 0)
		conn_copy_clean(reason, reasonlen,
		    conn_str(json_object_array_get_idx(errs, 0), "reason"));
	if (reasonlen > 0 && reason[0] == '\0' &&
	    json_object_object_get_ex(e, "status", &v) &&
	    json_object_is_type(v, json_type_string))
		conn_copy_clean(reason, reasonlen, json_object_get_string(v));
	rc = 0;
done:
	json_object_put(o);
	return rc;
}

void
google_call_error(const struct target_result *res, char *out, size_t outlen)
{
	const struct http_response	*resp = res->resp;
	char				 reason[128], msg[512];

	if (resp != NULL && resp->status > 0 &&
	    google_error_parse(resp->body, resp->body_len, reason, sizeof reason,
	    msg, sizeof msg) == 0 && (reason[0] != '\0' || msg[0] != '\0'))
		conn_call_errorf(res, out, outlen, " %s%s%s", reason,
		    msg[0] != '\0' ? ": " : "", msg);
	else
		conn_call_error(res, out, outlen);
}

int
google_not_found(const struct http_response *resp)
{
	return resp != NULL && resp->status == 404;
}

enum call_verdict
google_classify(const struct http_response *resp, char *err, size_t errlen)
{
	char	reason[128], msg[512];
	int	parsed;

	if (resp == NULL || resp->status == 0 ||
	    (resp->status >= 200 && resp->status < 300))
		return CALL_DEFAULT;
	parsed = google_error_parse(resp->body, resp->body_len, reason,
	    sizeof reason, msg, sizeof msg) == 0;
	if (parsed && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s%s%s", reason, reason[0] != '\0' &&
		    msg[0] != '\0' ? ": " : "", msg);
	if (resp->status == 429)
		return CALL_RETRY;
	if (resp->status == 403 && parsed &&
	    (strcmp(reason, "userRateLimitExceeded") == 0 ||
	    strcmp(reason, "rateLimitExceeded") == 0 ||
	    strcmp(reason, "quotaExceeded") == 0))
		return CALL_RETRY;
	if (resp->status == 401)
		return CALL_REAUTH;
	if (resp->status >= 400 && resp->status < 500)
		return CALL_DONE;
	return CALL_DEFAULT;
}
