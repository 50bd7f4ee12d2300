/*
 * scim-internal: the pure half of the generic SCIM 2.0 connector (RFC 7643,
 * RFC 7644), shared by scim.c and the unit tests. It parses the target's
 * options (presets, PATCH style, lookups), builds what goes on the wire
 * (filters with quoted and escaped values, URL-encoded paths, PatchOp
 * bodies) and reads what comes back (User resources with their ETag,
 * ListResponses, SCIM error bodies); it also classifies responses for the
 * target's retry logic, checks the target's options for --check and says
 * which presets make a DELETE irreversible. No calls are made here.
 */
#ifndef DEPROV_SCIM_INTERNAL_H
#define DEPROV_SCIM_INTERNAL_H

#include <stddef.h>

#include <json-c/json.h>

#include "deprov/connector.h"
#include "deprov/http.h"
#include "deprov/target.h"

#define SCIM_SCHEMA_PATCHOP	"urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_SCHEMA_ERROR	"urn:ietf:params:scim:api:messages:2.0:Error"
#define SCIM_SCHEMA_LIST	"urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_CONTENT_TYPE	"application/scim+json"
#define SCIM_ID_MAX		255	/* longest resource id we accept */
#define SCIM_ETAG_MAX		255	/* longest ETag we send back */
#define SCIM_VALUE_MAX		512	/* longest attribute value we filter on */
#define SCIM_FILTER_MAX		(SCIM_VALUE_MAX * 6 + 64)

/* How a PATCH sets "active" (RFC 7644 §3.5.2.3). */
enum scim_patch_style {
	SCIM_PATCH_PATH = 0,	/* {"op":"replace","path":"active","value":false} */
	SCIM_PATCH_PATHLESS	/* {"op":"replace","value":{"active":false}} */
};

/* One way of finding the leaver's User resource. */
enum scim_lookup {
	SCIM_BY_USERNAME = 0,	/* userName eq <subject username> */
	SCIM_BY_EMAIL,		/* userName eq <subject email> (most SaaS use the address) */
	SCIM_BY_EMAILS,		/* emails.value eq <subject email> */
	SCIM_BY_EXTERNAL_ID,	/* externalId eq <subject employee id> */
	SCIM_BY_COUNT
};

/* The target's "options" for kind "scim". */
struct scim_opts {
	const char		*preset;	/* "slack", "github", "zoom" or NULL (static) */
	enum scim_patch_style	 patch_style;
	int			 use_etag;	/* send If-Match when an ETag is known */
	int			 delete_deactivates;	/* DELETE only deactivates (Slack) */
	const char		*irreversible;	/* what a DELETE destroys, or NULL (static) */
	enum scim_lookup	 lookups[SCIM_BY_COUNT];
	size_t			 nlookups;
};

/* A User resource as far as the steps need it. */
struct scim_user {
	char	 id[SCIM_ID_MAX + 1];
	int	 active;		/* 0/1, -1 when the resource does not say */
	char	 etag[SCIM_ETAG_MAX + 1];	/* "" when none is known */
};

/* What a filtered list answered. */
enum scim_list_result {
	SCIM_LIST_NONE = 0,	/* totalResults 0 */
	SCIM_LIST_ONE,		/* exactly one resource, and it matches */
	SCIM_LIST_MANY,		/* more than one: ambiguous */
	SCIM_LIST_MISMATCH	/* the one resource does not match the filter */
};

/* The descriptor (scim.c). */
extern const struct connector connector_scim;

/* The keys the target's "options" may have, NULL-terminated. */
extern const char *const scim_option_keys[];
/* The connector's check_options: every bad value, through the check. */
void		 scim_check_options(struct connector_check *,
		    json_object *options);
/* The connector's irreversible rule: what a DELETE destroys under the preset, or NULL. */
const char	*scim_irreversible(json_object *options);

/*
 * Read options (NULL = defaults: RFC PatchOp with a path, If-Match on,
 * lookups userName, email, externalId). A preset sets defaults that the
 * other keys override. Returns 0, or -1 with the reason in err (unknown
 * key, preset or value).
 */
int		 scim_opts_parse(json_object *options, struct scim_opts *,
		    char *err, size_t errlen);
/* What a DELETE destroys under this preset, or NULL when it is not known to be irreversible. */
const char	*scim_preset_irreversible(const char *preset);
const char	*scim_lookup_name(enum scim_lookup);

/*
 * Write s as the inside of a JSON string (RFC 7644 §3.4.2.2: compValue is
 * a JSON string): backslash and double quote get a backslash. Returns the
 * length written, or -1 when s holds a control character, is not valid
 * UTF-8, is empty or does not fit.
 */
int		 scim_filter_escape(const char *s, char *out, size_t outlen);
/* "<attr> eq \"<escaped value>\"". 0, or -1 (see scim_filter_escape). */
int		 scim_filter_eq(char *out, size_t outlen, const char *attr,
		    const char *value);
/* "/Users?filter=<filter URL-encoded>", malloc'd; NULL on no memory. */
char		*scim_list_path(const char *filter);
/* 1 when id can name a resource: 1..255 bytes, no control characters. */
int		 scim_id_valid(const char *id);
/* "/Users/<id URL-encoded>", malloc'd; NULL when id is invalid or on no memory. */
char		*scim_user_path(const char *id);
/* The PatchOp that sets active, malloc'd. */
char		*scim_patch_active_body(int active, enum scim_patch_style);
/* "If-Match: <etag>" into out; -1 when etag is empty or unusable. */
int		 scim_if_match(char *out, size_t outlen, const char *etag);

/*
 * Read a User resource (GET /Users/{id}, or a PATCH answer). The ETag is
 * the response's ETag header when given, else meta.version. Returns 0, or
 * -1 with the reason in err.
 */
int		 scim_user_parse(const char *body, size_t len,
		    const char *etag_header, struct scim_user *, char *err,
		    size_t errlen);
/*
 * Read the ListResponse of "<attr> eq <value>". For SCIM_LIST_ONE the user
 * is filled in. The returned resource is checked against the filter
 * (userName and emails.value compare without case, as RFC 7643 defines
 * them, externalId exactly) so that a server ignoring the filter cannot
 * make us act on someone else. *total gets totalResults. Returns the
 * result, or -1 with the reason in err.
 */
int		 scim_list_parse(const char *body, size_t len, const char *attr,
		    const char *value, struct scim_user *, long long *total,
		    char *err, size_t errlen);

/*
 * Read a SCIM error body ({"schemas":[Error],"status","scimType","detail"};
 * status may be a string or a number). Any part may come back "". Returns
 * 0, or -1 when the body is not one.
 */
int		 scim_error_parse(const char *body, size_t len, char *status,
		    size_t statuslen, char *type, size_t typelen, char *detail,
		    size_t detaillen);
/*
 * Why a call failed: "HTTP 400 invalidFilter: detail" (plus " (after N
 * attempts)") for a SCIM error, else the target's error text.
 */
void		 scim_call_error(const struct target_result *, char *out,
		    size_t outlen);
/*
 * The classifier of SCIM targets: 412 is final (the step re-reads), 429
 * and 5xx retry (the target honours Retry-After), 401 re-authenticates.
 * err gets "scimType: detail" for a SCIM error.
 */
enum call_verdict scim_classify(const struct http_response *, char *err,
		    size_t errlen);

#endif
