/*
 * graph-proto: the pure half of the Microsoft Graph connector: request
 * paths with URL-encoded keys and OData-quoted $filter literals, the
 * accountEnabled body, user and collection parsing, Graph error bodies and
 * the response classifier. Unit-tested in tests/unit/test_graph.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "deprov/http.h"
#include "deprov/target.h"

#include "common.h"
#include "graph-internal.h"

int
graph_odata_quote(const char *s, char *out, size_t outlen)
{
	size_t	i, k = 0;

	if (s == NULL || outlen < 3)
		return -1;
	out[k++] = '\'';
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return -1;
		if (k + (c == '\'' ? 2 : 1) + 2 > outlen)
			return -1;
		if (c == '\'')
			out[k++] = '\'';
		out[k++] = (char)c;
	}
	out[k++] = '\'';
	out[k] = '\0';
	return (int)k;
}

char *
graph_user_path(const char *key, const char *suffix, const char *select)
{
	char	 quoted[2 * GRAPH_KEY_MAX + 3];
	char	*enc = NULL, *path = NULL;
	int	 r;

	if (!conn_key_usable(key, GRAPH_KEY_MAX))
		return NULL;
	if (key[0] == '$') {
		/* users('$x@y'): the quoted form Graph documents for such UPNs */
		if (graph_odata_quote(key, quoted, sizeof quoted) < 0 ||
		    (enc = http_urlencode(quoted)) == NULL)
			return NULL;
		r = asprintf(&path, "/v1.0/users(%s)%s%s%s", enc,
		    suffix != NULL ? suffix : "", select != NULL ? "?$select=" : "",
		    select != NULL ? select : "");
	} else {
		if ((enc = http_urlencode(key)) == NULL)
			return NULL;
		r = asprintf(&path, "/v1.0/users/%s%s%s%s", enc,
		    suffix != NULL ? suffix : "", select != NULL ? "?$select=" : "",
		    select != NULL ? select : "");
	}
	free(enc);
	return r < 0 ? NULL : path;
}

char *
graph_filter_path(const char *prop, const char *value, const char *select)
{
	char	 quoted[2 * GRAPH_KEY_MAX + 3], clause[2 * GRAPH_KEY_MAX + 80];
	char	*enc = NULL, *path = NULL;
	int	 r;

	if (prop == NULL || !conn_key_usable(value, GRAPH_KEY_MAX) ||
	    graph_odata_quote(value, quoted, sizeof quoted) < 0)
		return NULL;
	snprintf(clause, sizeof clause, "%s eq %s", prop, quoted);
	if ((enc = http_urlencode(clause)) == NULL)
		return NULL;
	r = asprintf(&path, "/v1.0/users?$filter=%s%s%s", enc,
	    select != NULL ? "&$select=" : "", select != NULL ? select : "");
	free(enc);
	return r < 0 ? NULL : path;
}

const char *
graph_enable_body(int enabled)
{
	return enabled ? "{\"accountEnabled\":true}" : "{\"accountEnabled\":false}";
}

/* Fill u from a user object; -1 when it has no string id. */
static int
graph_user_from(json_object *o, struct graph_user *u)
{
	json_object	*v;

	memset(u, 0, sizeof *u);
	u->enabled = -1;
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "id", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0 ||
	    (size_t)json_object_get_string_len(v) > GRAPH_ID_MAX)
		return -1;
	conn_copy_clean(u->id, sizeof u->id, json_object_get_string(v));
	if (json_object_object_get_ex(o, "userPrincipalName", &v) &&
	    json_object_is_type(v, json_type_string))
		conn_copy_clean(u->upn, sizeof u->upn,
		    json_object_get_string(v));
	if (json_object_object_get_ex(o, "accountEnabled", &v) &&
	    json_object_is_type(v, json_type_boolean))
		u->enabled = json_object_get_boolean(v);
	return 0;
}

int
graph_user_parse(const char *body, size_t len, struct graph_user *u,
    char *err, size_t errlen)
{
	json_object	*o = conn_json_parse(body, len);
	int		 rc = 0;

	if (o == NULL) {
		snprintf(err, errlen, "user answer is not JSON");
		return -1;
	}
	if (graph_user_from(o, u) != 0) {
		snprintf(err, errlen, "user answer without an id");
		rc = -1;
	}
	json_object_put(o);
	return rc;
}

int
graph_list_parse(const char *body, size_t len, size_t *count,
    struct graph_user *first, char *err, size_t errlen)
{
	json_object	*o = conn_json_parse(body, len), *arr;
	int		 rc = -1;

	*count = 0;
	if (o == NULL) {
		snprintf(err, errlen, "collection answer is not JSON");
		return -1;
	}
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "value", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		snprintf(err, errlen, "collection answer without a value array");
		goto done;
	}
	*count = json_object_array_length(arr);
	if (*count > 0 &&
	    graph_user_from(json_object_array_get_idx(arr, 0), first) != 0) {
		snprintf(err, errlen, "collection entry without an id");
		goto done;
	}
	rc = 0;
done:
	json_object_put(o);
	return rc;
}

int
graph_error_parse(const char *body, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen)
{
	json_object	*o = conn_json_parse(body, len), *e, *v;
	int		 rc = -1;

	if (codelen > 0)
		code[0] = '\0';
	if (msglen > 0)
		msg[0] = '\0';
	if (o == NULL)
		return -1;
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "error", &e) ||
	    !json_object_is_type(e, json_type_object))
		goto done;
	if (json_object_object_get_ex(e, "code", &v) &&
	    json_object_is_type(v, json_type_string))
		conn_copy_clean(code, codelen, json_object_get_string(v));
	if (json_object_object_get_ex(e, "message", &v) &&
	    json_object_is_type(v, json_type_string))
		conn_copy_clean(msg, msglen, json_object_get_string(v));
	rc = 0;
done:
	json_object_put(o);
	return rc;
}

void
graph_call_error(const struct target_result *res, char *out, size_t outlen)
{
	const struct http_response	*resp = res->resp;
	char				 code[128], msg[512];

	if (resp != NULL && resp->status > 0 &&
	    graph_error_parse(resp->body, resp->body_len, code, sizeof code, msg,
	    sizeof msg) == 0 && code[0] != '\0')
		conn_call_errorf(res, out, outlen, " %s%s%s", code,
		    msg[0] != '\0' ? ": " : "", msg);
	else
		conn_call_error(res, out, outlen);
}

int
graph_not_found(const struct http_response *resp)
{
	char	code[64], msg[8];

	if (resp == NULL || resp->status != 404)
		return 0;
	if (graph_error_parse(resp->body, resp->body_len, code, sizeof code, msg,
	    sizeof msg) != 0 || code[0] == '\0')
		return 1;
	return strcmp(code, "Request_ResourceNotFound") == 0 ||
	    strcmp(code, "ResourceNotFound") == 0 || strcmp(code, "NotFound") == 0;
}

enum call_verdict
graph_classify(const struct http_response *resp, char *err, size_t errlen)
{
	char	code[128], msg[512];
	int	parsed;

	if (resp == NULL || resp->status == 0 ||
	    (resp->status >= 200 && resp->status < 300))
		return CALL_DEFAULT;
	parsed = graph_error_parse(resp->body, resp->body_len, code, sizeof code,
	    msg, sizeof msg) == 0 && code[0] != '\0';
	if (parsed && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s%s%s", code, msg[0] != '\0' ? ": " : "", msg);
	switch (resp->status) {
	case 429:
		return CALL_RETRY;	/* throttled: Retry-After is honoured by the target */
	case 503:
	case 504:
		return CALL_RETRY;
	case 401:
		/* an expired or rejected token: one fresh token, then give up */
		if (!parsed || strcmp(code, "InvalidAuthenticationToken") == 0)
			return CALL_REAUTH;
		return CALL_DONE;
	case 501:
		return CALL_DONE;	/* NotImplemented will not change */
	default:
		break;
	}
	if (resp->status >= 400 && resp->status < 500)
		return CALL_DONE;
	return CALL_DEFAULT;
}
