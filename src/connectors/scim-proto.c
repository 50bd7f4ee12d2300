/*
 * scim-proto: the pure half of the SCIM 2.0 connector (RFC 7643/7644). It
 * reads the target's options and presets, builds filters (compValue is a
 * JSON string: quotes and backslashes escaped, then the whole filter
 * URL-encoded), paths and PatchOp bodies, and reads User resources,
 * ListResponses and SCIM error bodies. Unit-tested in tests/unit/test_scim.c.
 *
 * Presets (docs: docs.slack.dev SCIM API; docs.github.com EMU
 * deprovisioning; Zoom: see below):
 *   slack   base https://api.slack.com/scim/v2; DELETE only deactivates the
 *           user (it stays readable with active false); 429 with
 *           Retry-After; user PATCH/DELETE 180/min (burst 20), org-wide
 *           writes 600/min (burst 180) shared by every SCIM app of the org.
 *           Set the target's limits to match (e.g. rate_per_sec 3, burst 20).
 *   github  Enterprise Managed Users, base
 *           https://api.github.com/scim/v2/enterprises/{enterprise}: PATCH
 *           active false is the soft deprovision (suspended, reversible;
 *           the username is obfuscated, so later lookups need externalId);
 *           DELETE is the hard deprovision and cannot be undone. GitHub's
 *           documented PATCH is the path-less form, so that is the default.
 *   zoom    base https://api.zoom.us/scim2. We could not confirm from
 *           Zoom's documentation what its SCIM DELETE does beyond removing
 *           the user, so the preset keeps to the RFC and treats DELETE as
 *           irreversible; PATCH active false deactivates.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "deprov/connector.h"
#include "deprov/diag.h"
#include "deprov/http.h"
#include "deprov/target.h"

#include "common.h"
#include "scim-internal.h"

static int		 scim_utf8_len(const unsigned char *s);
static int		 scim_resource_matches(json_object *res, const char *attr,
			    const char *value);
static int		 scim_user_from(json_object *res, const char *etag_header,
			    struct scim_user *, char *err, size_t errlen);
static int		 scim_lookup_parse(const char *name, enum scim_lookup *);

static const char *const scim_lookup_names[SCIM_BY_COUNT] = {
	[SCIM_BY_USERNAME] = "userName",
	[SCIM_BY_EMAIL] = "email",
	[SCIM_BY_EMAILS] = "emails",
	[SCIM_BY_EXTERNAL_ID] = "externalId",
};

const char *
scim_lookup_name(enum scim_lookup l)
{
	return (int)l >= 0 && l < SCIM_BY_COUNT ? scim_lookup_names[l] : "?";
}

static int
scim_lookup_parse(const char *name, enum scim_lookup *out)
{
	int	i;

	for (i = 0; i < SCIM_BY_COUNT; i++) {
		if (strcmp(name, scim_lookup_names[i]) == 0) {
			*out = (enum scim_lookup)i;
			return 0;
		}
	}
	return -1;
}

const char *
scim_preset_irreversible(const char *preset)
{
	if (preset == NULL)
		return NULL;
	if (strcmp(preset, "github") == 0)
		return "GitHub EMU: a SCIM DELETE hard-deprovisions the user "
		    "and cannot be undone";
	if (strcmp(preset, "zoom") == 0)
		return "Zoom: a SCIM DELETE removes the user (treated as "
		    "irreversible)";
	return NULL;
}

const char *const scim_option_keys[] = { "preset", "patch_style", "etag",
	"delete_deactivates", "resolve_by", NULL };

static const char *const scim_presets[] = { "slack", "github", "zoom", NULL };

const char *
scim_irreversible(json_object *options)
{
	json_object	*v;

	if (options == NULL || !json_object_is_type(options, json_type_object) ||
	    !json_object_object_get_ex(options, "preset", &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return scim_preset_irreversible(json_object_get_string(v));
}

/* The defaults: RFC PatchOp with a path, If-Match, three lookups. */
static void
scim_opts_default(struct scim_opts *o)
{
	memset(o, 0, sizeof *o);
	o->patch_style = SCIM_PATCH_PATH;
	o->use_etag = 1;
	o->lookups[0] = SCIM_BY_USERNAME;
	o->lookups[1] = SCIM_BY_EMAIL;
	o->lookups[2] = SCIM_BY_EXTERNAL_ID;
	o->nlookups = 3;
}

/* Apply "preset" (before the other keys, which override it): 0 or -1 with err. */
static int
scim_preset_apply(struct scim_opts *o, json_object *v, char *err,
    size_t errlen)
{
	const char	*s, *near;

	s = json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : "";
	if (strcmp(s, "slack") == 0) {
		o->preset = "slack";
		o->delete_deactivates = 1;
	} else if (strcmp(s, "github") == 0) {
		o->preset = "github";
		o->patch_style = SCIM_PATCH_PATHLESS;
	} else if (strcmp(s, "zoom") == 0)
		o->preset = "zoom";
	else if ((near = diags_suggest(s, scim_presets)) != NULL) {
		snprintf(err, errlen, "options.preset: unknown preset '%.40s' "
		    "(did you mean '%s'?)", s, near);
		return -1;
	} else {
		snprintf(err, errlen, "options.preset: unknown preset '%.40s' "
		    "(slack, github, zoom)", s);
		return -1;
	}
	o->irreversible = scim_preset_irreversible(o->preset);
	return 0;
}

/*
 * Apply one option other than the preset: 1 done, 0 not a SCIM option, -1
 * with the reason in err.
 */
static int
scim_opt_apply(struct scim_opts *o, const char *key, json_object *val,
    char *err, size_t errlen)
{
	json_object	*e;
	const char	*s;
	size_t		 i, j, n;

	if (strcmp(key, "patch_style") == 0) {
		s = json_object_is_type(val, json_type_string) ?
		    json_object_get_string(val) : "";
		if (strcmp(s, "path") == 0)
			o->patch_style = SCIM_PATCH_PATH;
		else if (strcmp(s, "pathless") == 0)
			o->patch_style = SCIM_PATCH_PATHLESS;
		else {
			snprintf(err, errlen, "options.patch_style: expected "
			    "\"path\" or \"pathless\"");
			return -1;
		}
	} else if (strcmp(key, "etag") == 0) {
		if (!json_object_is_type(val, json_type_boolean)) {
			snprintf(err, errlen, "options.etag: expected true or "
			    "false");
			return -1;
		}
		o->use_etag = json_object_get_boolean(val);
	} else if (strcmp(key, "delete_deactivates") == 0) {
		if (!json_object_is_type(val, json_type_boolean)) {
			snprintf(err, errlen, "options.delete_deactivates: "
			    "expected true or false");
			return -1;
		}
		o->delete_deactivates = json_object_get_boolean(val);
	} else if (strcmp(key, "resolve_by") == 0) {
		if (!json_object_is_type(val, json_type_array) ||
		    (n = json_object_array_length(val)) == 0 ||
		    n > SCIM_BY_COUNT) {
			snprintf(err, errlen, "options.resolve_by: expected 1 to "
			    "%d of \"userName\", \"email\", \"emails\", "
			    "\"externalId\"", SCIM_BY_COUNT);
			return -1;
		}
		o->nlookups = 0;
		for (i = 0; i < n; i++) {
			e = json_object_array_get_idx(val, i);
			if (!json_object_is_type(e, json_type_string) ||
			    scim_lookup_parse(json_object_get_string(e),
			    &o->lookups[o->nlookups]) != 0) {
				snprintf(err, errlen, "options.resolve_by[%zu]: "
				    "expected \"userName\", \"email\", "
				    "\"emails\" or \"externalId\"", i);
				return -1;
			}
			for (j = 0; j < o->nlookups; j++)
				if (o->lookups[j] == o->lookups[o->nlookups])
					break;
			if (j == o->nlookups)
				o->nlookups++;
		}
	} else
		return 0;
	return 1;
}

int
scim_opts_parse(json_object *options, struct scim_opts *o, char *err,
    size_t errlen)
{
	json_object	*v;
	int		 r;

	scim_opts_default(o);
	if (options == NULL)
		return 0;
	if (!json_object_is_type(options, json_type_object)) {
		snprintf(err, errlen, "options must be an object");
		return -1;
	}
	/* The preset first: the other keys override what it sets. */
	if (json_object_object_get_ex(options, "preset", &v) &&
	    scim_preset_apply(o, v, err, errlen) != 0)
		return -1;
	json_object_object_foreach(options, key, val) {
		if (strcmp(key, "preset") == 0)
			continue;
		if ((r = scim_opt_apply(o, key, val, err, errlen)) < 0)
			return -1;
		if (r == 0) {
			snprintf(err, errlen, "options: unknown key '%.40s' "
			    "(preset, patch_style, etag, delete_deactivates, "
			    "resolve_by)", key);
			return -1;
		}
	}
	return 0;
}

void
scim_check_options(struct connector_check *chk, json_object *options)
{
	struct scim_opts	 o;
	json_object		*v;
	char			 err[256];

	scim_opts_default(&o);
	if (json_object_object_get_ex(options, "preset", &v) &&
	    scim_preset_apply(&o, v, err, sizeof err) != 0)
		conn_check(chk, options, "preset", "%s", err);
	json_object_object_foreach(options, key, val) {
		if (strcmp(key, "preset") != 0 &&
		    scim_opt_apply(&o, key, val, err, sizeof err) < 0)
			conn_check(chk, options, key, "%s", err);
	}
}

/* Bytes in the UTF-8 sequence starting at s, or -1 when it is not one. */
static int
scim_utf8_len(const unsigned char *s)
{
	int	n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return -1;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return -1;
	/* Overlong three- and four-byte forms, surrogates, past U+10FFFF. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return -1;
	return n;
}

int
scim_filter_escape(const char *s, char *out, size_t outlen)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = 0;
	int			 k;

	if (s == NULL || *s == '\0' || outlen == 0)
		return -1;
	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f)
			return -1;
		if ((k = scim_utf8_len(p)) < 0)
			return -1;
		if (*p == '"' || *p == '\\') {
			if (n + 2 >= outlen)
				return -1;
			out[n++] = '\\';
		} else if (n + (size_t)k >= outlen)
			return -1;
		memcpy(out + n, p, (size_t)k);
		n += (size_t)k;
		p += k;
	}
	out[n] = '\0';
	return n > SCIM_FILTER_MAX ? -1 : (int)n;
}

int
scim_filter_eq(char *out, size_t outlen, const char *attr, const char *value)
{
	char	lit[SCIM_VALUE_MAX * 2 + 1];
	int	n;

	if (attr == NULL || value == NULL || strlen(value) > SCIM_VALUE_MAX ||
	    scim_filter_escape(value, lit, sizeof lit) < 0)
		return -1;
	n = snprintf(out, outlen, "%s eq \"%s\"", attr, lit);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

char *
scim_list_path(const char *filter)
{
	return conn_key_path("/Users?filter=", filter, NULL);
}

int
scim_id_valid(const char *id)
{
	return conn_key_usable(id, SCIM_ID_MAX);
}

char *
scim_user_path(const char *id)
{
	if (!scim_id_valid(id))
		return NULL;
	return conn_key_path("/Users/", id, NULL);
}

char *
scim_patch_active_body(int active, enum scim_patch_style style)
{
	char	*body = NULL;
	int	 n;

	if (style == SCIM_PATCH_PATHLESS)
		n = asprintf(&body, "{\"schemas\":[\"%s\"],\"Operations\":[{\"op\":"
		    "\"replace\",\"value\":{\"active\":%s}}]}", SCIM_SCHEMA_PATCHOP,
		    active ? "true" : "false");
	else
		n = asprintf(&body, "{\"schemas\":[\"%s\"],\"Operations\":[{\"op\":"
		    "\"replace\",\"path\":\"active\",\"value\":%s}]}",
		    SCIM_SCHEMA_PATCHOP, active ? "true" : "false");
	return n < 0 ? NULL : body;
}

int
scim_if_match(char *out, size_t outlen, const char *etag)
{
	size_t	i;
	int	n;

	if (etag == NULL || etag[0] == '\0')
		return -1;
	for (i = 0; etag[i] != '\0'; i++) {
		unsigned char c = (unsigned char)etag[i];

		/* Never let a server-given value split our header. */
		if (c < 0x20 || c == 0x7f || i >= SCIM_ETAG_MAX)
			return -1;
	}
	n = snprintf(out, outlen, "If-Match: %s", etag);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* Fill u from a resource object; the ETag header wins over meta.version. */
static int
scim_user_from(json_object *res, const char *etag_header, struct scim_user *u,
    char *err, size_t errlen)
{
	json_object	*v, *meta;
	const char	*id, *version = NULL;

	memset(u, 0, sizeof *u);
	u->active = -1;
	if (res == NULL || !json_object_is_type(res, json_type_object)) {
		snprintf(err, errlen, "resource is not a JSON object");
		return -1;
	}
	id = conn_str(res, "id");
	if (!scim_id_valid(id)) {
		snprintf(err, errlen, "resource without a usable id");
		return -1;
	}
	memcpy(u->id, id, strlen(id) + 1);
	if (json_object_object_get_ex(res, "active", &v)) {
		if (json_object_is_type(v, json_type_boolean))
			u->active = json_object_get_boolean(v) ? 1 : 0;
		else if (json_object_is_type(v, json_type_string) &&
		    (strcasecmp(json_object_get_string(v), "true") == 0 ||
		    strcasecmp(json_object_get_string(v), "false") == 0))
			/* Not RFC 7643, but seen in the wild. */
			u->active = strcasecmp(json_object_get_string(v),
			    "true") == 0;
	}
	if (json_object_object_get_ex(res, "meta", &meta))
		version = conn_str(meta, "version");
	if (etag_header != NULL && etag_header[0] != '\0')
		version = etag_header;
	if (version != NULL && strlen(version) <= SCIM_ETAG_MAX) {
		char line[SCIM_ETAG_MAX + 16];

		if (scim_if_match(line, sizeof line, version) == 0)
			memcpy(u->etag, version, strlen(version) + 1);
	}
	return 0;
}

int
scim_user_parse(const char *body, size_t len, const char *etag_header,
    struct scim_user *u, char *err, size_t errlen)
{
	json_object	*root;
	int		 rc;

	if ((root = conn_json_parse(body, len)) == NULL) {
		memset(u, 0, sizeof *u);
		u->active = -1;
		snprintf(err, errlen, "answer is not JSON");
		return -1;
	}
	rc = scim_user_from(root, etag_header, u, err, errlen);
	json_object_put(root);
	return rc;
}

/* 1 when the resource's attr (userName, externalId, emails.value) equals value. */
static int
scim_resource_matches(json_object *res, const char *attr, const char *value)
{
	json_object	*emails, *e;
	const char	*s;
	size_t		 i, n;

	if (strcmp(attr, "emails.value") == 0) {
		if (!json_object_object_get_ex(res, "emails", &emails) ||
		    !json_object_is_type(emails, json_type_array))
			return 0;
		n = json_object_array_length(emails);
		for (i = 0; i < n; i++) {
			e = json_object_array_get_idx(emails, i);
			if ((s = conn_str(e, "value")) != NULL &&
			    strcasecmp(s, value) == 0)
				return 1;
		}
		return 0;
	}
	if ((s = conn_str(res, attr)) == NULL)
		return 0;
	/* RFC 7643 §4.1.1: userName is caseExact false, externalId true. */
	if (strcmp(attr, "externalId") == 0)
		return strcmp(s, value) == 0;
	return strcasecmp(s, value) == 0;
}

int
scim_list_parse(const char *body, size_t len, const char *attr,
    const char *value, struct scim_user *u, long long *total, char *err,
    size_t errlen)
{
	json_object	*root = NULL, *v, *res = NULL;
	size_t		 nres = 0;
	int		 rc = -1;

	memset(u, 0, sizeof *u);
	u->active = -1;
	*total = 0;
	if ((root = conn_json_parse(body, len)) == NULL ||
	    !json_object_is_type(root, json_type_object)) {
		snprintf(err, errlen, "list answer is not a JSON object");
		goto done;
	}
	if (json_object_object_get_ex(root, "Resources", &res)) {
		if (!json_object_is_type(res, json_type_array)) {
			snprintf(err, errlen, "Resources is not an array");
			goto done;
		}
		nres = json_object_array_length(res);
	}
	if (json_object_object_get_ex(root, "totalResults", &v)) {
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 0) {
			snprintf(err, errlen, "totalResults is not a number");
			goto done;
		}
		*total = json_object_get_int64(v);
	} else if (json_object_object_get_ex(root, "Resources", NULL))
		*total = (long long)nres;	/* lenient: RFC requires it */
	else {
		snprintf(err, errlen, "not a ListResponse (no totalResults)");
		goto done;
	}
	if (*total > 1 || nres > 1) {
		if (*total < (long long)nres)
			*total = (long long)nres;
		rc = SCIM_LIST_MANY;
		goto done;
	}
	if (*total == 0 && nres == 0) {
		rc = SCIM_LIST_NONE;
		goto done;
	}
	if (nres == 0) {
		snprintf(err, errlen, "totalResults is %lld but no Resources "
		    "came back", *total);
		goto done;
	}
	v = json_object_array_get_idx(res, 0);
	if (scim_user_from(v, NULL, u, err, errlen) != 0)
		goto done;
	*total = 1;
	rc = scim_resource_matches(v, attr, value) ? SCIM_LIST_ONE :
	    SCIM_LIST_MISMATCH;
done:
	json_object_put(root);
	return rc;
}

int
scim_error_parse(const char *body, size_t len, char *status, size_t statuslen,
    char *type, size_t typelen, char *detail, size_t detaillen)
{
	json_object	*root, *v, *schemas;
	const char	*d, *t;
	char		 num[32];
	size_t		 i, n;
	int		 is_error = 0;

	if (statuslen > 0)
		status[0] = '\0';
	if (typelen > 0)
		type[0] = '\0';
	if (detaillen > 0)
		detail[0] = '\0';
	if ((root = conn_json_parse(body, len)) == NULL)
		return -1;
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return -1;
	}
	if (json_object_object_get_ex(root, "schemas", &schemas) &&
	    json_object_is_type(schemas, json_type_array)) {
		n = json_object_array_length(schemas);
		for (i = 0; i < n; i++) {
			v = json_object_array_get_idx(schemas, i);
			if (json_object_is_type(v, json_type_string) &&
			    strcmp(json_object_get_string(v),
			    SCIM_SCHEMA_ERROR) == 0)
				is_error = 1;
		}
	}
	d = conn_str(root, "detail");
	t = conn_str(root, "scimType");
	if (!is_error && d == NULL && t == NULL) {
		json_object_put(root);
		return -1;
	}
	if (json_object_object_get_ex(root, "status", &v)) {
		if (json_object_is_type(v, json_type_string))
			conn_copy_clean(status, statuslen,
			    json_object_get_string(v));
		else if (json_object_is_type(v, json_type_int)) {
			snprintf(num, sizeof num, "%lld",
			    (long long)json_object_get_int64(v));
			conn_copy_clean(status, statuslen, num);
		}
	}
	conn_copy_clean(type, typelen, t);
	conn_copy_clean(detail, detaillen, d);
	json_object_put(root);
	return 0;
}

void
scim_call_error(const struct target_result *res, char *out, size_t outlen)
{
	const struct http_response	*resp = res->resp;
	char				 st[16], type[64], detail[512];

	if (resp != NULL && resp->status > 0 && scim_error_parse(resp->body,
	    resp->body_len, st, sizeof st, type, sizeof type, detail,
	    sizeof detail) == 0)
		conn_call_errorf(res, out, outlen, "%s%s%s%s",
		    type[0] != '\0' ? " " : "", type,
		    detail[0] != '\0' ? ": " : "", detail);
	else
		conn_call_error(res, out, outlen);
}

enum call_verdict
scim_classify(const struct http_response *resp, char *err, size_t errlen)
{
	char	st[16], type[64], detail[512];

	if (resp == NULL || resp->status == 0 ||
	    (resp->status >= 200 && resp->status < 300))
		return CALL_DEFAULT;
	if (scim_error_parse(resp->body, resp->body_len, st, sizeof st, type,
	    sizeof type, detail, sizeof detail) == 0 && err != NULL &&
	    errlen > 0)
		snprintf(err, errlen, "%s%s%s", type, type[0] != '\0' &&
		    detail[0] != '\0' ? ": " : "", detail);
	/* Changed since read: the step re-reads and tries once more. */
	if (resp->status == 412)
		return CALL_DONE;
	return CALL_DEFAULT;
}
