/*
 * sb_sf.c: the Salesforce surface of deprov-sandbox: REST /services/data (query and query
 * locators, sObject rows of User, UserLogin, OauthToken and record types, composite sObject
 * collections, limits), the OAuth 2.0 JWT bearer token and revoke endpoints, and SCIM user
 * deactivation, with the error codes and bodies Salesforce answers (docs/SANDBOX.md).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "sandbox.h"

#define SF_MAX_SEGS 10
#define SF_ORG_ID "00D000000000001AAA"
#define SF_TOKEN_PREFIX "00D000000000001!"
#define JWT_MAX_AHEAD_S (3 * 60 + 30)
#define SCIM_USER_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_PATCH_SCHEMA "urn:ietf:params:scim:api:messages:2.0:PatchOp"

/* One record update of a composite call, checked before anything is applied. */
struct sf_update {
	const char *id;
	struct sb_record *rec;
	const char *owner; /* new owner's 18-character id, or NULL */
	const char *name;  /* new Name, or NULL */
	const char *code;  /* error statusCode, NULL when the update is valid */
	char msg[256];
	const char *field; /* the error's field, or NULL */
};

static int is_method(const struct sb_call *c, const char *m);
static void sf_error_field(struct sb_call *c, int status, const char *code, const char *msg,
    const char *field);
static void oauth_error(struct sb_call *c, int status, const char *err, const char *desc);
static void method_not_allowed(struct sb_call *c, const char *allowed);
static void not_found(struct sb_call *c);
static int sf_auth(struct sb_call *c, char *user);
static void instance_url(struct sb_call *c, struct sb_buf *b);
static void sf_data(struct sb_call *c, const struct sb_path *p);
static void sf_query(struct sb_call *c, const char *version, const char *locator);
static void sf_sobject(struct sb_call *c, const char *version, const struct sb_path *p);
static void sf_read(struct sb_call *c, const char *version, const char *type, const char *id);
static void sf_patch_login(struct sb_call *c, struct sb_login *l);
static void sf_patch_user(struct sb_call *c, struct sb_user *u);
static void sf_patch_record(struct sb_call *c, struct sb_record *r);
static void sf_composite(struct sb_call *c);
static void update_check(struct sb_org *org, struct json_object *rec, const char *type,
    struct sf_update *up);
static int update_apply(struct sb_org *org, struct sf_update *up);
static void sf_token(struct sb_call *c);
static void sf_revoke(struct sb_call *c);
static void sf_scim(struct sb_call *c, const struct sb_path *p);
static void scim_user_json(struct sb_call *c, const struct sb_user *u, struct sb_buf *b);
static int jwt_check(struct sb_call *c, const char *jwt, struct sb_user **user,
    const char **error, const char **desc);
static void session_free(struct sb_session *s);
static struct json_object *body_json(struct sb_call *c);

static int
is_method(const struct sb_call *c, const char *m)
{
	return strcmp(c->method, m) == 0;
}

void
sf_error(struct sb_call *c, int status, const char *code, const char *msg)
{
	c->status = status;
	c->ctype = "application/json;charset=UTF-8";
	c->body.len = 0;
	sb_buf_puts(&c->body, "[{\"message\":");
	sb_buf_jstr(&c->body, msg);
	sb_buf_puts(&c->body, ",\"errorCode\":");
	sb_buf_jstr(&c->body, code);
	sb_buf_puts(&c->body, "}]");
}

static void
sf_error_field(struct sb_call *c, int status, const char *code, const char *msg,
    const char *field)
{
	c->status = status;
	c->ctype = "application/json;charset=UTF-8";
	c->body.len = 0;
	sb_buf_puts(&c->body, "[{\"message\":");
	sb_buf_jstr(&c->body, msg);
	sb_buf_puts(&c->body, ",\"errorCode\":");
	sb_buf_jstr(&c->body, code);
	sb_buf_puts(&c->body, ",\"fields\":[");
	if (field != NULL)
		sb_buf_jstr(&c->body, field);
	sb_buf_puts(&c->body, "]}]");
}

/* The OAuth endpoints' error {"error","error_description"}. */
static void
oauth_error(struct sb_call *c, int status, const char *err, const char *desc)
{
	sb_oauth_error(c, status, "application/json;charset=UTF-8", err, desc);
}

static void
method_not_allowed(struct sb_call *c, const char *allowed)
{
	char msg[160];

	snprintf(msg, sizeof msg, "HTTP Method '%s' not allowed. Allowed are %s", c->method, allowed);
	sf_error(c, 405, "METHOD_NOT_ALLOWED", msg);
}

static void
not_found(struct sb_call *c)
{
	sf_error(c, 404, "NOT_FOUND", "The requested resource does not exist");
}

void
sf_fault_body(struct sb_call *c, int status)
{
	const char *code, *msg;

	switch (status) {
	case 400: code = "BAD_REQUEST"; msg = "Bad request"; break;
	case 401: code = "INVALID_SESSION_ID"; msg = "Session expired or invalid"; break;
	case 403: code = "REQUEST_LIMIT_EXCEEDED"; msg = "TotalRequests Limit exceeded."; break;
	case 404: code = "NOT_FOUND"; msg = "The requested resource does not exist"; break;
	case 409: code = "UNABLE_TO_LOCK_ROW"; msg = "unable to obtain exclusive access to this record"; break;
	case 429: code = "REQUEST_LIMIT_EXCEEDED"; msg = "Too many requests"; break;
	case 500:
		code = "UNKNOWN_EXCEPTION";
		msg = "An unexpected error occurred. Please include this ErrorId if you contact "
		    "support: 1234567890-12345 (-1234567890)";
		break;
	case 502: code = "BAD_GATEWAY"; msg = "Bad gateway"; break;
	case 503: code = "SERVER_UNAVAILABLE"; msg = "Server temporarily unavailable"; break;
	case 504: code = "GATEWAY_TIMEOUT"; msg = "Gateway timeout"; break;
	default: code = "UNKNOWN_EXCEPTION"; msg = "Injected failure"; break;
	}
	if (strncmp(c->path, "/services/oauth2/", 17) == 0) {
		oauth_error(c, status, status == 429 || status == 403 ? "rate_limit_exceeded" :
		    status >= 500 ? "server_error" : "invalid_request", msg);
		return;
	}
	if (strncmp(c->path, "/services/scim/", 15) == 0) {
		sb_scim_error(c, status, NULL, msg);
		return;
	}
	sf_error(c, status, code, msg);
}

/* The body as a JSON object, or NULL. */
static struct json_object *
body_json(struct sb_call *c)
{
	size_t len;
	const char *body = sb_call_body(c, &len);
	char err[128];
	struct json_object *obj = sb_json_parse(body, len, err, sizeof err);

	if (obj != NULL && !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

void
sf_classify(struct sb_call *c)
{
	struct sb_org *org = &c->sb->org;
	struct sb_path p;
	struct json_object *obj = NULL, *v;

	if (sb_path_split(c->path, &p, SF_MAX_SEGS) == -1)
		return;
	if (p.n < 3 || strcmp(p.seg[0], "services") != 0)
		goto done;
	if (strcmp(p.seg[1], "oauth2") == 0 && strcmp(p.seg[2], "token") == 0) {
		c->action = ACT_TOKEN;
	} else if (strcmp(p.seg[1], "oauth2") == 0 && strcmp(p.seg[2], "revoke") == 0) {
		struct sb_form form;
		size_t len = 0;
		const char *src = is_method(c, "POST") ? sb_call_body(c, &len) : c->query, *tok;
		struct sb_token *t;

		c->action = ACT_REVOKE;
		if (src == NULL)
			goto done;
		if (!is_method(c, "POST"))
			len = strlen(src);
		if (sb_form_parse(&form, src, len) == -1)
			goto done;
		if ((tok = sb_form_get(&form, "token")) != NULL &&
		    (t = org_token_by_dtoken(org, tok)) != NULL)
			snprintf(c->user, sizeof c->user, "%s", t->user->id);
		sb_form_free(&form);
	} else if (strcmp(p.seg[1], "data") == 0 && p.n >= 4 &&
	    (strcmp(p.seg[3], "query") == 0 || strcmp(p.seg[3], "queryAll") == 0)) {
		struct sb_form form;
		const char *q;

		c->action = ACT_QUERY;
		if (p.n != 4 || c->query == NULL ||
		    sb_form_parse(&form, c->query, strlen(c->query)) == -1)
			goto done;
		if ((q = sb_form_get(&form, "q")) != NULL)
			soql_peek_user(org, q, c->user);
		sb_form_free(&form);
	} else if (strcmp(p.seg[1], "data") == 0 && p.n == 5 && strcmp(p.seg[3], "composite") == 0 &&
	    strcmp(p.seg[4], "sobjects") == 0) {
		c->action = ACT_REASSIGN;
		if ((obj = body_json(c)) != NULL && json_object_object_get_ex(obj, "records", &v) &&
		    json_object_is_type(v, json_type_array)) {
			struct json_object *r = json_object_array_get_idx(v, 0), *id;
			struct sb_record *rec;

			c->count = (uint32_t)json_object_array_length(v);
			if (r != NULL && (json_object_object_get_ex(r, "id", &id) ||
			    json_object_object_get_ex(r, "Id", &id)) &&
			    json_object_is_type(id, json_type_string) &&
			    (rec = org_record_by_id(org, json_object_get_string(id))) != NULL)
				snprintf(c->user, sizeof c->user, "%s", rec->owner);
		}
	} else if (strcmp(p.seg[1], "data") == 0 && p.n == 6 && strcmp(p.seg[3], "sobjects") == 0) {
		const char *type = p.seg[4], *id = p.seg[5];
		const char *uid = NULL;

		if (strcmp(type, "User") == 0) {
			struct sb_user *u = org_user_by_id(org, id);
			uid = u != NULL ? u->id : NULL;
		} else if (strcmp(type, "UserLogin") == 0) {
			struct sb_login *l = org_login_by_id(org, id);
			uid = l != NULL ? l->user->id : NULL;
		} else if (strcmp(type, "OauthToken") == 0) {
			struct sb_token *t = org_token_by_id(org, id);
			uid = t != NULL ? t->user->id : NULL;
		} else {
			struct sb_record *r = org_record_by_id(org, id);
			uid = r != NULL ? r->owner : NULL;
		}
		if (uid != NULL)
			snprintf(c->user, sizeof c->user, "%s", uid);
		if (is_method(c, "GET")) {
			c->action = ACT_READ;
		} else if (is_method(c, "PATCH") && (obj = body_json(c)) != NULL) {
			if (strcmp(type, "UserLogin") == 0 &&
			    json_object_object_get_ex(obj, "IsFrozen", &v) &&
			    json_object_is_type(v, json_type_boolean))
				c->action = json_object_get_boolean(v) ? ACT_FREEZE : ACT_UNFREEZE;
			else if (strcmp(type, "User") == 0 &&
			    json_object_object_get_ex(obj, "IsActive", &v) &&
			    json_object_is_type(v, json_type_boolean))
				c->action = json_object_get_boolean(v) ? ACT_ACTIVATE : ACT_DEACTIVATE;
			else if (strcmp(type, "User") != 0 && strcmp(type, "UserLogin") != 0 &&
			    json_object_object_get_ex(obj, "OwnerId", NULL)) {
				c->action = ACT_REASSIGN;
				c->count = 1;
			}
		}
	} else if (strcmp(p.seg[1], "scim") == 0 && p.n == 5 && strcmp(p.seg[3], "Users") == 0) {
		struct sb_user *u = org_user_by_id(org, p.seg[4]);

		if (u != NULL)
			snprintf(c->user, sizeof c->user, "%s", u->id);
		if (is_method(c, "GET"))
			c->action = ACT_READ;
		else if (is_method(c, "DELETE"))
			c->action = ACT_DEACTIVATE;
		else if (is_method(c, "PATCH") && (obj = body_json(c)) != NULL) {
			/* the first active value of a PatchOp, bare or in Operations */
			struct json_object *ops = NULL, *op, *val, *act;
			size_t i, n = 1;

			if (json_object_object_get_ex(obj, "Operations", &ops) &&
			    json_object_is_type(ops, json_type_array))
				n = json_object_array_length(ops);
			for (i = 0; i < n; i++) {
				op = ops != NULL ? json_object_array_get_idx(ops, i) : obj;
				if (op == NULL || !json_object_object_get_ex(op, "value", &val))
					continue;
				if (json_object_is_type(val, json_type_boolean))
					act = val;
				else if (!json_object_object_get_ex(val, "active", &act))
					continue;
				if (json_object_is_type(act, json_type_boolean)) {
					c->action = json_object_get_boolean(act) ? ACT_ACTIVATE :
					    ACT_DEACTIVATE;
					break;
				}
			}
		}
	}
done:
	json_object_put(obj);
	sb_path_free(&p);
}

void
sf_handle(struct sb_call *c)
{
	struct sb_path p;

	if (sb_path_split(c->path, &p, SF_MAX_SEGS) == -1) {
		not_found(c);
		return;
	}
	if (p.n >= 2 && strcmp(p.seg[0], "services") == 0 && strcmp(p.seg[1], "data") == 0) {
		sf_data(c, &p);
	} else if (p.n == 3 && strcmp(p.seg[0], "services") == 0 &&
	    strcmp(p.seg[1], "oauth2") == 0 && strcmp(p.seg[2], "token") == 0) {
		c->action = ACT_TOKEN;
		sf_token(c);
	} else if (p.n == 3 && strcmp(p.seg[0], "services") == 0 &&
	    strcmp(p.seg[1], "oauth2") == 0 && strcmp(p.seg[2], "revoke") == 0) {
		c->action = ACT_REVOKE;
		sf_revoke(c);
	} else if (p.n >= 4 && strcmp(p.seg[0], "services") == 0 && strcmp(p.seg[1], "scim") == 0 &&
	    strcmp(p.seg[2], "v2") == 0) {
		sf_scim(c, &p);
	} else {
		not_found(c);
	}
	sb_path_free(&p);
}

static void
session_free(struct sb_session *s)
{
	free(s->token);
	free(s);
}

void
sf_sessions_free(struct sandbox *sb)
{
	size_t pos = 0;
	struct sb_map_ent *e;

	while ((e = sb_map_iter(&sb->sessions, &pos)) != NULL)
		session_free(e->val);
	sb_map_free(&sb->sessions);
}

int
sf_add_static_token(struct sandbox *sb, const char *token)
{
	struct sb_session *s = calloc(1, sizeof *s);

	if (s == NULL || (s->token = sb_strdup(token)) == NULL ||
	    sb_map_put(&sb->sessions, s->token, s) == -1) {
		if (s != NULL)
			free(s->token);
		free(s);
		return -1;
	}
	return 0;
}

int
sf_load_public_key(struct sandbox *sb, const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "r");
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open", file);
		return -1;
	}
	key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (key == NULL) {
		rewind(f);
		ERR_clear_error();
		cert = PEM_read_X509(f, NULL, NULL, NULL);
		if (cert != NULL)
			key = X509_get_pubkey(cert);
	}
	fclose(f);
	X509_free(cert);
	ERR_clear_error();
	if (key == NULL) {
		snprintf(err, errlen, "%s: no PEM public key or certificate", file);
		return -1;
	}
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(key);
		snprintf(err, errlen, "%s: not an RSA key", file);
		return -1;
	}
	sb->pubkey = key;
	return 0;
}

/* Check the bearer token: 0 (user set to its user, or "") or -1 with a 401 answer. */
static int
sf_auth(struct sb_call *c, char *user)
{
	struct sandbox *sb = c->sb;
	const char *h = sb_auth_param(c, "Bearer");
	struct sb_session *s = NULL;

	user[0] = '\0';
	if (h != NULL || (h = sb_auth_param(c, "OAuth")) != NULL)
		s = sb_map_get(&sb->sessions, h);
	if (s != NULL && s->expires_ms != 0 && sb_now_ms() >= s->expires_ms) {
		sb_map_del(&sb->sessions, s->token, s);
		session_free(s);
		s = NULL;
	}
	if (s == NULL) {
		sf_error(c, 401, "INVALID_SESSION_ID", "Session expired or invalid");
		return -1;
	}
	memcpy(user, s->user, SB_ID_LEN + 1);
	return 0;
}

static void
instance_url(struct sb_call *c, struct sb_buf *b)
{
	const char *host = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Host");
	size_t i;

	if (host != NULL) {
		for (i = 0; host[i] != '\0'; i++)
			if (!isalnum((unsigned char)host[i]) && strchr(".-:[]_", host[i]) == NULL)
				host = NULL;
	}
	if (host != NULL && host[0] != '\0')
		sb_buf_printf(b, "http://%s", host);
	else if (strchr(c->sb->listen_host, ':') != NULL)
		sb_buf_printf(b, "http://[%s]:%d", c->sb->listen_host, c->sb->port);
	else
		sb_buf_printf(b, "http://%s:%d", c->sb->listen_host, c->sb->port);
}

/* /services/data/... : version, auth, API usage, then the resource. */
static void
sf_data(struct sb_call *c, const struct sb_path *p)
{
	struct sandbox *sb = c->sb;
	const char *v;
	char user[SB_ID_LEN + 1];
	size_t i;

	c->limit_header = 1;
	if (p->n == 2) {
		if (!is_method(c, "GET")) {
			method_not_allowed(c, "GET,HEAD");
			return;
		}
		c->status = 200;
		sb_buf_puts(&c->body, "[");
		for (i = 0; i < 3; i++)
			sb_buf_printf(&c->body, "%s{\"label\":\"v%zu\",\"url\":\"/services/data/v%zu.0\","
			    "\"version\":\"%zu.0\"}", i > 0 ? "," : "", 58 + i, 58 + i, 58 + i);
		sb_buf_puts(&c->body, "]");
		return;
	}
	v = p->seg[2];
	if (v[0] != 'v' || !isdigit((unsigned char)v[1]) || strlen(v) > 12) {
		not_found(c);
		return;
	}
	for (i = 1; isdigit((unsigned char)v[i]); i++)
		;
	if (v[i] != '.' || !isdigit((unsigned char)v[i + 1])) {
		not_found(c);
		return;
	}
	for (i++; isdigit((unsigned char)v[i]); i++)
		;
	if (v[i] != '\0') {
		not_found(c);
		return;
	}
	if (sf_auth(c, user) == -1) {
		sf_classify(c);
		return;
	}
	if (sb->org.api_used >= sb->api_limit) {
		sf_error(c, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
		sf_classify(c);
		return;
	}
	sb->org.api_used++;
	if (p->n == 3) {
		if (!is_method(c, "GET")) {
			method_not_allowed(c, "GET,HEAD");
			return;
		}
		c->status = 200;
		sb_buf_printf(&c->body, "{\"sobjects\":\"/services/data/%s/sobjects\",\"query\":"
		    "\"/services/data/%s/query\",\"composite\":\"/services/data/%s/composite\","
		    "\"limits\":\"/services/data/%s/limits\"}", v, v, v, v);
		return;
	}
	if (strcmp(p->seg[3], "query") == 0 || strcmp(p->seg[3], "queryAll") == 0) {
		c->action = ACT_QUERY;
		if (!is_method(c, "GET")) {
			method_not_allowed(c, "GET,HEAD");
			return;
		}
		if (p->n == 4)
			sf_query(c, v, NULL);
		else if (p->n == 5)
			sf_query(c, v, p->seg[4]);
		else
			not_found(c);
	} else if (strcmp(p->seg[3], "sobjects") == 0 && p->n >= 5) {
		sf_sobject(c, v, p);
	} else if (strcmp(p->seg[3], "composite") == 0 && p->n == 5 &&
	    strcmp(p->seg[4], "sobjects") == 0) {
		c->action = ACT_REASSIGN;
		if (!is_method(c, "PATCH")) {
			method_not_allowed(c, "PATCH");
			return;
		}
		sf_composite(c);
	} else if (strcmp(p->seg[3], "limits") == 0 && p->n == 4) {
		c->status = 200;
		sb_buf_printf(&c->body, "{\"DailyApiRequests\":{\"Max\":%" PRId64 ",\"Remaining\":%"
		    PRId64 "}}", sb->api_limit, sb->api_limit - sb->org.api_used);
	} else {
		not_found(c);
	}
}

/* GET query?q= (locator NULL) or query/{locator}. */
static void
sf_query(struct sb_call *c, const char *version, const char *locator)
{
	struct sandbox *sb = c->sb;
	const char *opt = evhttp_find_header(evhttp_request_get_input_headers(c->req),
	    "Sforce-Query-Options");
	size_t page = 0;
	struct soql_err err = { 0 };
	struct soql_info info = { { 0 } };
	struct sb_form form;
	const char *q;
	int rc;

	if (opt != NULL) {
		const char *bs = strstr(opt, "batchSize=");
		if (bs != NULL) {
			long n = strtol(bs + 10, NULL, 10);
			page = n < 200 ? 200 : n > 2000 ? 2000 : (size_t)n;
		}
	}
	if (locator != NULL) {
		if (soql_more(sb->cursors, version, locator, page, &c->body, &err) == -1) {
			sf_error(c, 400, err.code, err.msg);
			return;
		}
		c->status = 200;
		return;
	}
	if (sb_form_parse(&form, c->query != NULL ? c->query : "",
	    c->query != NULL ? strlen(c->query) : 0) == -1) {
		sf_error(c, 400, "MALFORMED_QUERY", "The query string could not be decoded");
		return;
	}
	q = sb_form_get(&form, "q");
	if (q == NULL || q[0] == '\0') {
		sf_error(c, 400, "MALFORMED_QUERY", "A query string has to be specified");
		sb_form_free(&form);
		return;
	}
	rc = soql_query(&sb->org, sb->cursors, version, q, page > 0 ? page : sb->query_page,
	    &c->body, &info, &err);
	sb_form_free(&form);
	if (rc == -1) {
		sf_error(c, 400, err.code, err.msg);
		return;
	}
	memcpy(c->user, info.user, sizeof info.user);
	c->status = 200;
}

/* sobjects/{Type}[/{id}] */
static void
sf_sobject(struct sb_call *c, const char *version, const struct sb_path *p)
{
	struct sb_org *org = &c->sb->org;
	const char *type = p->seg[4], *id = p->n == 6 ? p->seg[5] : NULL;
	struct sb_type *rt = NULL;

	if (strcmp(type, "User") != 0 && strcmp(type, "UserLogin") != 0 &&
	    strcmp(type, "OauthToken") != 0 && (rt = org_type(org, type)) == NULL) {
		not_found(c);
		return;
	}
	if (p->n > 6) {
		not_found(c);
		return;
	}
	if (id == NULL) {
		if (strcmp(type, "UserLogin") == 0 && !is_method(c, "GET")) {
			method_not_allowed(c, "GET,HEAD");
			return;
		}
		if (strcmp(type, "OauthToken") == 0 && !is_method(c, "GET")) {
			method_not_allowed(c, "GET,HEAD");
			return;
		}
		if (!is_method(c, "GET")) {
			method_not_allowed(c, "GET,HEAD");
			return;
		}
		c->status = 200;
		sb_buf_printf(&c->body, "{\"objectDescribe\":{\"name\":\"%s\",\"queryable\":true,"
		    "\"updateable\":%s,\"deletable\":false,\"createable\":false},\"recentItems\":[]}",
		    rt != NULL ? rt->name : type, strcmp(type, "OauthToken") == 0 ? "false" : "true");
		return;
	}
	if (is_method(c, "GET")) {
		c->action = ACT_READ;
		sf_read(c, version, rt != NULL ? rt->name : type, id);
		return;
	}
	if (strcmp(type, "OauthToken") == 0) {
		method_not_allowed(c, "GET,HEAD");
		return;
	}
	if (!is_method(c, "PATCH")) {
		method_not_allowed(c, "GET,HEAD,PATCH");
		return;
	}
	if (strcmp(type, "UserLogin") == 0) {
		struct sb_login *l = org_login_by_id(org, id);
		if (l == NULL) {
			not_found(c);
			return;
		}
		sf_patch_login(c, l);
	} else if (strcmp(type, "User") == 0) {
		struct sb_user *u = org_user_by_id(org, id);
		if (u == NULL) {
			not_found(c);
			return;
		}
		sf_patch_user(c, u);
	} else {
		struct sb_record *r = org_record_by_id(org, id);
		if (r == NULL || r->type != rt) {
			not_found(c);
			return;
		}
		sf_patch_record(c, r);
	}
}

/* GET sobjects/{Type}/{id}: the row with its fields. */
static void
sf_read(struct sb_call *c, const char *version, const char *type, const char *id)
{
	struct sb_org *org = &c->sb->org;
	struct sb_buf *b = &c->body;

	if (strcmp(type, "User") == 0) {
		struct sb_user *u = org_user_by_id(org, id);
		if (u == NULL)
			goto missing;
		snprintf(c->user, sizeof c->user, "%s", u->id);
		sb_buf_printf(b, "{\"attributes\":{\"type\":\"User\",\"url\":\"/services/data/%s/"
		    "sobjects/User/%s\"},\"Id\":\"%s\",\"Username\":", version, u->id, u->id);
		sb_buf_jstr(b, u->username);
		sb_buf_puts(b, ",\"Email\":");
		sb_buf_jstr(b, u->email);
		sb_buf_puts(b, ",\"FederationIdentifier\":");
		sb_buf_jstr(b, u->fedid);
		sb_buf_puts(b, ",\"Name\":");
		sb_buf_jstr(b, u->name);
		sb_buf_printf(b, ",\"IsActive\":%s}", u->active ? "true" : "false");
	} else if (strcmp(type, "UserLogin") == 0) {
		struct sb_login *l = org_login_by_id(org, id);
		if (l == NULL)
			goto missing;
		snprintf(c->user, sizeof c->user, "%s", l->user->id);
		sb_buf_printf(b, "{\"attributes\":{\"type\":\"UserLogin\",\"url\":\"/services/data/%s/"
		    "sobjects/UserLogin/%s\"},\"Id\":\"%s\",\"UserId\":\"%s\",\"IsFrozen\":%s,"
		    "\"IsPasswordLocked\":false}", version, l->id, l->id, l->user->id,
		    l->frozen ? "true" : "false");
	} else if (strcmp(type, "OauthToken") == 0) {
		struct sb_token *t = org_token_by_id(org, id);
		if (t == NULL)
			goto missing;
		snprintf(c->user, sizeof c->user, "%s", t->user->id);
		sb_buf_printf(b, "{\"attributes\":{\"type\":\"OauthToken\",\"url\":\"/services/data/%s/"
		    "sobjects/OauthToken/%s\"},\"Id\":\"%s\",\"UserId\":\"%s\",\"AppName\":", version,
		    t->id, t->id, t->user->id);
		sb_buf_jstr(b, t->app);
		sb_buf_puts(b, ",\"DeleteToken\":");
		sb_buf_jstr(b, t->dtoken);
		sb_buf_putc(b, '}');
	} else {
		struct sb_record *r = org_record_by_id(org, id);
		if (r == NULL || strcmp(r->type->name, type) != 0)
			goto missing;
		snprintf(c->user, sizeof c->user, "%s", r->owner);
		sb_buf_printf(b, "{\"attributes\":{\"type\":\"%s\",\"url\":\"/services/data/%s/"
		    "sobjects/%s/%s\"},\"Id\":\"%s\",\"OwnerId\":\"%s\",\"Name\":", type, version, type,
		    r->id, r->id, r->owner);
		sb_buf_jstr(b, r->name);
		sb_buf_putc(b, '}');
	}
	c->status = 200;
	return;
missing:
	not_found(c);
}

/* PATCH sobjects/UserLogin/{id} {"IsFrozen":bool} */
static void
sf_patch_login(struct sb_call *c, struct sb_login *l)
{
	size_t len;
	const char *body = sb_call_body(c, &len);
	char err[256];
	struct json_object *obj = sb_json_parse(body, len, err, sizeof err), *fz = NULL;

	snprintf(c->user, sizeof c->user, "%s", l->user->id);
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		sf_error(c, 400, "JSON_PARSER_ERROR", obj == NULL ? err :
		    "Cannot deserialize instance of UserLogin from a non-object value");
		goto done;
	}
	if (json_object_object_get_ex(obj, "IsFrozen", &fz) &&
	    json_object_is_type(fz, json_type_boolean))
		c->action = json_object_get_boolean(fz) ? ACT_FREEZE : ACT_UNFREEZE;
	json_object_object_foreach(obj, key, val) {
		char msg[320];
		(void)val;
		if (strcmp(key, "IsFrozen") == 0 || strcmp(key, "attributes") == 0)
			continue;
		snprintf(msg, sizeof msg, "Unable to create/update fields: %s. Please check the "
		    "security settings of this field and verify that it is read/write for your "
		    "profile or permission set.", key);
		sf_error_field(c, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", msg, key);
		goto done;
	}
	if (fz != NULL && !json_object_is_type(fz, json_type_boolean)) {
		sf_error(c, 400, "JSON_PARSER_ERROR",
		    "Cannot deserialize instance of boolean from a non-boolean value for field IsFrozen");
		goto done;
	}
	if (fz != NULL)
		l->frozen = json_object_get_boolean(fz);
	c->status = 204;
done:
	json_object_put(obj);
}

/*
 * PATCH sobjects/User/{id} {"IsActive":bool}. Deactivating a user with a blocker is refused
 * with the blocker's error; activating one past the licences with LICENSE_LIMIT_EXCEEDED.
 */
static void
sf_patch_user(struct sb_call *c, struct sb_user *u)
{
	static const char *const user_fields[] = {
		"Id", "Username", "Email", "FederationIdentifier", "Name", "FirstName", "LastName",
		"Alias", "ProfileId", "UserRoleId", "ManagerId", "IsPortalEnabled",
	};
	size_t len, i;
	const char *body = sb_call_body(c, &len);
	char err[256];
	struct json_object *obj = sb_json_parse(body, len, err, sizeof err), *ia = NULL;

	snprintf(c->user, sizeof c->user, "%s", u->id);
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		sf_error(c, 400, "JSON_PARSER_ERROR", obj == NULL ? err :
		    "Cannot deserialize instance of User from a non-object value");
		goto done;
	}
	if (json_object_object_get_ex(obj, "IsActive", &ia) &&
	    json_object_is_type(ia, json_type_boolean))
		c->action = json_object_get_boolean(ia) ? ACT_ACTIVATE : ACT_DEACTIVATE;
	json_object_object_foreach(obj, key, val) {
		char msg[320];
		int known = 0;
		(void)val;
		if (strcmp(key, "IsActive") == 0 || strcmp(key, "attributes") == 0)
			continue;
		for (i = 0; i < sizeof user_fields / sizeof user_fields[0]; i++)
			known |= strcmp(key, user_fields[i]) == 0;
		if (known) {
			snprintf(msg, sizeof msg, "Unable to create/update fields: %s. Please check the "
			    "security settings of this field and verify that it is read/write for your "
			    "profile or permission set.", key);
			sf_error_field(c, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", msg, key);
		} else {
			snprintf(msg, sizeof msg, "No such column '%s' on sobject of type User", key);
			sf_error(c, 400, "INVALID_FIELD", msg);
		}
		goto done;
	}
	if (ia != NULL && !json_object_is_type(ia, json_type_boolean)) {
		sf_error(c, 400, "JSON_PARSER_ERROR",
		    "Cannot deserialize instance of boolean from a non-boolean value for field IsActive");
		goto done;
	}
	if (ia != NULL && !json_object_get_boolean(ia) && u->active &&
	    u->blocker != SB_BLOCK_NONE) {
		/* still a default user, owner, approver, ... somewhere in Setup */
		const char *code, *field;
		char msg[1100];

		org_blocker_error(u, &code, msg, sizeof msg, &field);
		sf_error_field(c, 400, code, msg, field);
		goto done;
	}
	if (ia != NULL && json_object_get_boolean(ia) && !u->active && c->sb->org.licenses > 0 &&
	    org_active_users(&c->sb->org) >= (size_t)c->sb->org.licenses) {
		sf_error_field(c, 400, "LICENSE_LIMIT_EXCEEDED", "License limit exceeded", NULL);
		goto done;
	}
	if (ia != NULL)
		u->active = json_object_get_boolean(ia);
	c->status = 204;
done:
	json_object_put(obj);
}

/*
 * Check one record update: the record exists and has this type, only OwnerId and Name are set,
 * the new owner is an active user, the record has no seeded failure.
 */
static void
update_check(struct sb_org *org, struct json_object *rec, const char *type,
    struct sf_update *up)
{
	struct json_object *v;

	memset(up, 0, sizeof *up);
	if ((json_object_object_get_ex(rec, "id", &v) || json_object_object_get_ex(rec, "Id", &v)) &&
	    json_object_is_type(v, json_type_string))
		up->id = json_object_get_string(v);
	if (up->id == NULL) {
		up->code = "MISSING_ARGUMENT";
		snprintf(up->msg, sizeof up->msg, "Id not specified in an update call");
		up->field = "Id";
		return;
	}
	if (!sb_id_valid(up->id)) {
		up->code = "MALFORMED_ID";
		snprintf(up->msg, sizeof up->msg, "malformed id %s", up->id);
		up->field = "Id";
		return;
	}
	json_object_object_foreach(rec, key, val) {
		if (strcmp(key, "attributes") == 0 || strcmp(key, "id") == 0 || strcmp(key, "Id") == 0)
			continue;
		if (strcmp(key, "OwnerId") == 0 && json_object_is_type(val, json_type_string)) {
			up->owner = json_object_get_string(val);
		} else if (strcmp(key, "Name") == 0 && json_object_is_type(val, json_type_string)) {
			up->name = json_object_get_string(val);
		} else if (strcmp(key, "OwnerId") == 0 || strcmp(key, "Name") == 0) {
			up->code = "INVALID_TYPE_ON_FIELD_IN_RECORD";
			snprintf(up->msg, sizeof up->msg, "%s: value not of required type", key);
			up->field = strcmp(key, "Name") == 0 ? "Name" : "OwnerId";
			return;
		} else {
			up->code = "INVALID_FIELD";
			snprintf(up->msg, sizeof up->msg, "No such column '%.80s' on sobject of type %.80s",
			    key, type);
			return;
		}
	}
	up->rec = org_record_by_id(org, up->id);
	if (up->rec == NULL) {
		up->code = "ENTITY_IS_DELETED";
		snprintf(up->msg, sizeof up->msg, "entity is deleted");
		return;
	}
	if (strcasecmp(up->rec->type->name, type) != 0) {
		up->code = "MALFORMED_ID";
		snprintf(up->msg, sizeof up->msg, "%.80s ID: id value of incorrect type: %s", type,
		    up->id);
		up->field = "Id";
		return;
	}
	if (up->owner != NULL) {
		struct sb_user *u = org_user_by_id(org, up->owner);
		if (u == NULL || !u->active) {
			up->code = "INACTIVE_OWNER_OR_USER";
			snprintf(up->msg, sizeof up->msg, "operation performed with inactive user [%.18s] "
			    "as owner of %.80s", up->owner, up->rec->type->name);
			return;
		}
		up->owner = u->id;
	}
	if (up->rec->fail != NULL) {
		up->code = up->rec->fail;
		if (strcmp(up->rec->fail, "UNABLE_TO_LOCK_ROW") == 0)
			snprintf(up->msg, sizeof up->msg, "unable to obtain exclusive access to this "
			    "record or 1 records: %s", up->rec->id);
		else
			snprintf(up->msg, sizeof up->msg, "%.80s: update of %s failed", up->rec->fail,
			    up->rec->id);
	}
}

static int
update_apply(struct sb_org *org, struct sf_update *up)
{
	if (up->name != NULL) {
		char *n = sb_strdup(up->name);
		if (n == NULL)
			return -1;
		free(up->rec->name);
		up->rec->name = n;
	}
	if (up->owner != NULL && strcmp(up->owner, up->rec->owner) != 0)
		return org_record_set_owner(org, up->rec, up->owner);
	return 0;
}

/* PATCH sobjects/{RecordType}/{id} */
static void
sf_patch_record(struct sb_call *c, struct sb_record *r)
{
	size_t len;
	const char *body = sb_call_body(c, &len);
	char err[256];
	struct json_object *obj = sb_json_parse(body, len, err, sizeof err), *id = NULL;
	struct sf_update up;

	snprintf(c->user, sizeof c->user, "%s", r->owner);
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		sf_error(c, 400, "JSON_PARSER_ERROR", obj == NULL ? err :
		    "Cannot deserialize an sObject from a non-object value");
		goto done;
	}
	if (json_object_object_get_ex(obj, "OwnerId", NULL)) {
		c->action = ACT_REASSIGN;
		c->count = 1;
	}
	if (!json_object_object_get_ex(obj, "Id", NULL) &&
	    ((id = json_object_new_string(r->id)) == NULL ||
	    json_object_object_add(obj, "Id", id) == -1)) {
		json_object_put(id);
		sf_error(c, 500, "UNKNOWN_EXCEPTION", "out of memory");
		goto done;
	}
	update_check(&c->sb->org, obj, r->type->name, &up);
	if (up.code != NULL) {
		sf_error_field(c, 400, up.code, up.msg, up.field);
		goto done;
	}
	if (update_apply(&c->sb->org, &up) == -1) {
		sf_error(c, 500, "UNKNOWN_EXCEPTION", "out of memory");
		goto done;
	}
	c->status = 204;
done:
	json_object_put(obj);
}

/* PATCH composite/sobjects: up to 200 updates, one SaveResult each, allOrNone honoured. */
static void
sf_composite(struct sb_call *c)
{
	struct sb_org *org = &c->sb->org;
	size_t len, n = 0, i, failed = 0;
	const char *body = sb_call_body(c, &len);
	char err[256];
	struct json_object *obj = sb_json_parse(body, len, err, sizeof err), *recs = NULL, *aon;
	struct sf_update *ups = NULL;
	int all_or_none = 0;
	struct sb_buf *b = &c->body;

	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		sf_error(c, 400, "JSON_PARSER_ERROR", obj == NULL ? err :
		    "Cannot deserialize the request from a non-object value");
		goto done;
	}
	if (json_object_object_get_ex(obj, "allOrNone", &aon)) {
		if (!json_object_is_type(aon, json_type_boolean)) {
			sf_error(c, 400, "JSON_PARSER_ERROR", "allOrNone must be a boolean");
			goto done;
		}
		all_or_none = json_object_get_boolean(aon);
	}
	if (!json_object_object_get_ex(obj, "records", &recs) ||
	    !json_object_is_type(recs, json_type_array)) {
		sf_error(c, 400, "JSON_PARSER_ERROR", "records must be an array of sObjects");
		goto done;
	}
	n = json_object_array_length(recs);
	c->count = (uint32_t)n;
	if (n > SB_MAX_COMPOSITE) {
		sf_error(c, 400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than "
		    "200 records into this call");
		goto done;
	}
	for (i = 0; i < n; i++) {
		struct json_object *rec = json_object_array_get_idx(recs, i), *attr, *t;
		const char *type;

		if (!json_object_is_type(rec, json_type_object) ||
		    !json_object_object_get_ex(rec, "attributes", &attr) ||
		    !json_object_object_get_ex(attr, "type", &t) ||
		    !json_object_is_type(t, json_type_string)) {
			sf_error(c, 400, "JSON_PARSER_ERROR", "No SObject Type defined in the "
			    "attributes field of a record");
			goto done;
		}
		type = json_object_get_string(t);
		if (org_type(org, type) == NULL) {
			char msg[200];
			snprintf(msg, sizeof msg, "sObject type '%.100s' is not supported.", type);
			sf_error(c, 400, "INVALID_TYPE", msg);
			goto done;
		}
	}
	if (n > 0 && (ups = calloc(n, sizeof *ups)) == NULL) {
		sf_error(c, 500, "UNKNOWN_EXCEPTION", "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		struct json_object *rec = json_object_array_get_idx(recs, i), *attr, *t;

		json_object_object_get_ex(rec, "attributes", &attr);
		json_object_object_get_ex(attr, "type", &t);
		update_check(org, rec, json_object_get_string(t), &ups[i]);
		if (i == 0 && ups[0].rec != NULL)
			snprintf(c->user, sizeof c->user, "%s", ups[0].rec->owner);
		if (ups[i].code != NULL)
			failed++;
	}
	sb_buf_putc(b, '[');
	for (i = 0; i < n; i++) {
		struct sf_update *up = &ups[i];
		const char *code = up->code, *msg = up->msg, *field = up->field;

		if (code == NULL && all_or_none && failed > 0) {
			code = "ALL_OR_NONE_OPERATION_ROLLED_BACK";
			msg = "Record rolled back because not all records were valid and the request "
			    "was using AllOrNone header";
			field = NULL;
		}
		if (code == NULL && update_apply(org, up) == -1) {
			code = "UNKNOWN_EXCEPTION";
			msg = "out of memory";
		}
		if (i > 0)
			sb_buf_putc(b, ',');
		sb_buf_puts(b, "{\"id\":");
		sb_buf_jstr(b, up->rec != NULL ? up->rec->id : up->id);
		if (code == NULL) {
			sb_buf_puts(b, ",\"success\":true,\"errors\":[]}");
			continue;
		}
		sb_buf_puts(b, ",\"success\":false,\"errors\":[{\"statusCode\":");
		sb_buf_jstr(b, code);
		sb_buf_puts(b, ",\"message\":");
		sb_buf_jstr(b, msg);
		sb_buf_puts(b, ",\"fields\":[");
		if (field != NULL)
			sb_buf_jstr(b, field);
		sb_buf_puts(b, "]}]}");
	}
	sb_buf_putc(b, ']');
	c->status = 200;
done:
	free(ups);
	json_object_put(obj);
}

/* Verify a JWT bearer assertion: 0 with the user, or -1 with the OAuth error. */
static int
jwt_check(struct sb_call *c, const char *jwt, struct sb_user **user, const char **error,
    const char **desc)
{
	struct sandbox *sb = c->sb;
	const char *d1 = strchr(jwt, '.'), *d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
	struct json_object *hdr = NULL, *claims = NULL, *v;
	int rc = -1, r;
	double exp, now;
	struct sb_user *u;

	*error = "invalid_grant";
	*desc = "invalid assertion";
	if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL)
		goto done;
	if ((hdr = sb_b64url_json(jwt, (size_t)(d1 - jwt), 1)) == NULL ||
	    (claims = sb_b64url_json(d1 + 1, (size_t)(d2 - d1 - 1), 1)) == NULL)
		goto done;
	if (!json_object_object_get_ex(hdr, "alg", &v) || !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "RS256") != 0) {
		*desc = "invalid assertion: alg must be RS256";
		goto done;
	}
	if (!json_object_object_get_ex(claims, "iss", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), sb->client_id) != 0) {
		*error = "invalid_client_id";
		*desc = "client identifier invalid";
		goto done;
	}
	if ((r = sb_jwt_rs256(sb->pubkey, jwt, d2, 1)) != 0) {
		if (r == -2)
			*desc = "invalid assertion: signature verification failed";
		goto done;
	}
	if (!json_object_object_get_ex(claims, "aud", &v)) {
		*desc = "audience is invalid";
		goto done;
	}
	if (json_object_is_type(v, json_type_array)) {
		size_t i, n = json_object_array_length(v), hit = 0;
		for (i = 0; i < n; i++) {
			struct json_object *a = json_object_array_get_idx(v, i);
			hit |= json_object_is_type(a, json_type_string) &&
			    strcmp(json_object_get_string(a), sb->audience) == 0;
		}
		if (!hit) {
			*desc = "audience is invalid";
			goto done;
		}
	} else if (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), sb->audience) != 0) {
		*desc = "audience is invalid";
		goto done;
	}
	if (!json_object_object_get_ex(claims, "exp", &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) {
		*desc = "invalid assertion: exp missing";
		goto done;
	}
	exp = json_object_get_double(v);
	now = (double)sb_now_ms() / 1000.0;
	if (exp <= now) {
		*desc = "expired authorization code";
		goto done;
	}
	if (exp > now + JWT_MAX_AHEAD_S) {
		*desc = "invalid assertion: exp more than 3 minutes ahead";
		goto done;
	}
	if (!json_object_object_get_ex(claims, "sub", &v) || !json_object_is_type(v, json_type_string) ||
	    (u = org_user_by_username(&sb->org, json_object_get_string(v))) == NULL) {
		*desc = "user hasn't approved this consumer";
		goto done;
	}
	snprintf(c->user, sizeof c->user, "%s", u->id);
	if (!u->active) {
		*desc = "inactive user";
		goto done;
	}
	if (u->login.frozen) {
		*desc = "user is frozen";
		goto done;
	}
	*user = u;
	rc = 0;
done:
	json_object_put(hdr);
	json_object_put(claims);
	return rc;
}

/* POST /services/oauth2/token (JWT bearer grant) */
static void
sf_token(struct sb_call *c)
{
	struct sandbox *sb = c->sb;
	size_t len;
	const char *body = is_method(c, "POST") ? sb_call_body(c, &len) : NULL;
	const char *grant, *assertion, *error, *desc;
	struct sb_form form = { 0 };
	struct sb_user *u = NULL;
	struct sb_session *s = NULL;
	unsigned char rnd[30];
	char tok[128];
	size_t i;
	int64_t now;
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";

	if (body == NULL) {
		method_not_allowed(c, "POST");
		return;
	}
	if (sb_form_parse(&form, body, len) == -1) {
		oauth_error(c, 400, "invalid_request", "malformed form body");
		return;
	}
	grant = sb_form_get(&form, "grant_type");
	assertion = sb_form_get(&form, "assertion");
	if (grant == NULL || strcmp(grant, "urn:ietf:params:oauth:grant-type:jwt-bearer") != 0) {
		oauth_error(c, 400, "unsupported_grant_type", "grant type not supported");
		goto done;
	}
	if (sb->pubkey == NULL) {
		oauth_error(c, 400, "invalid_client", "invalid client credentials");
		goto done;
	}
	if (assertion == NULL) {
		oauth_error(c, 400, "invalid_grant", "invalid assertion");
		goto done;
	}
	if (jwt_check(c, assertion, &u, &error, &desc) == -1) {
		oauth_error(c, 400, error, desc);
		goto done;
	}
	if (RAND_bytes(rnd, sizeof rnd) != 1) {
		oauth_error(c, 500, "server_error", "no randomness");
		goto done;
	}
	i = (size_t)snprintf(tok, sizeof tok, "%s", SF_TOKEN_PREFIX);
	for (size_t k = 0; k < sizeof rnd; k += 3) {
		uint32_t w = (uint32_t)rnd[k] << 16 | (uint32_t)rnd[k + 1] << 8 | rnd[k + 2];
		tok[i++] = b64[(w >> 18) & 63];
		tok[i++] = b64[(w >> 12) & 63];
		tok[i++] = b64[(w >> 6) & 63];
		tok[i++] = b64[w & 63];
	}
	tok[i] = '\0';
	now = sb_now_ms();
	if ((s = calloc(1, sizeof *s)) == NULL || (s->token = sb_strdup(tok)) == NULL ||
	    sb_map_put(&sb->sessions, s->token, s) == -1) {
		if (s != NULL)
			free(s->token);
		free(s);
		oauth_error(c, 500, "server_error", "out of memory");
		goto done;
	}
	snprintf(s->user, sizeof s->user, "%s", u->id);
	s->expires_ms = now + sb->token_ttl_s * 1000;
	c->status = 200;
	c->ctype = "application/json;charset=UTF-8";
	sb_buf_printf(&c->body, "{\"access_token\":\"%s\",\"scope\":\"api\",\"instance_url\":\"", tok);
	instance_url(c, &c->body);
	sb_buf_puts(&c->body, "\",\"id\":\"");
	instance_url(c, &c->body);
	sb_buf_printf(&c->body, "/id/%s/%s\",\"token_type\":\"Bearer\",\"issued_at\":\"%" PRId64 "\"}",
	    SF_ORG_ID, u->id, now);
done:
	sb_form_free(&form);
}

/* POST /services/oauth2/revoke token=... (also GET ?token=) */
static void
sf_revoke(struct sb_call *c)
{
	struct sandbox *sb = c->sb;
	struct sb_form form = { 0 };
	const char *token;
	struct sb_token *t;
	struct sb_session *s;

	if (is_method(c, "POST")) {
		size_t len;
		const char *body = sb_call_body(c, &len);
		if (sb_form_parse(&form, body, len) == -1) {
			oauth_error(c, 400, "invalid_request", "malformed form body");
			return;
		}
	} else if (is_method(c, "GET")) {
		if (sb_form_parse(&form, c->query != NULL ? c->query : "",
		    c->query != NULL ? strlen(c->query) : 0) == -1) {
			oauth_error(c, 400, "invalid_request", "malformed query string");
			return;
		}
	} else {
		method_not_allowed(c, "GET,POST");
		return;
	}
	token = sb_form_get(&form, "token");
	if (token == NULL || token[0] == '\0') {
		oauth_error(c, 400, "unsupported_token_type", "this token type is not supported");
		goto done;
	}
	if ((t = org_token_by_dtoken(&sb->org, token)) != NULL) {
		snprintf(c->user, sizeof c->user, "%s", t->user->id);
		org_token_delete(&sb->org, t);
	} else if ((s = sb_map_get(&sb->sessions, token)) != NULL && s->expires_ms != 0) {
		/* an access token the token endpoint issued: the session ends */
		snprintf(c->user, sizeof c->user, "%s", s->user);
		sb_map_del(&sb->sessions, s->token, s);
		session_free(s);
	} else {
		oauth_error(c, 400, "invalid_token", "invalid token");
		goto done;
	}
	c->status = 200;
done:
	sb_form_free(&form);
}

static void
scim_user_json(struct sb_call *c, const struct sb_user *u, struct sb_buf *b)
{
	sb_buf_printf(b, "{\"schemas\":[\"%s\"],\"id\":\"%s\",\"userName\":", SCIM_USER_SCHEMA, u->id);
	sb_buf_jstr(b, u->username);
	sb_buf_puts(b, ",\"externalId\":");
	sb_buf_jstr(b, u->fedid);
	sb_buf_puts(b, ",\"displayName\":");
	sb_buf_jstr(b, u->name);
	sb_buf_puts(b, ",\"name\":{\"formatted\":");
	sb_buf_jstr(b, u->name);
	sb_buf_puts(b, "},\"emails\":[{\"type\":\"work\",\"primary\":true,\"value\":");
	sb_buf_jstr(b, u->email);
	sb_buf_printf(b, "}],\"active\":%s,\"meta\":{\"resourceType\":\"User\",\"location\":\"",
	    u->active ? "true" : "false");
	instance_url(c, b);
	sb_buf_printf(b, "/services/scim/v2/Users/%s\"}}", u->id);
}

/* /services/scim/v2/Users/{id}: GET, PATCH (active), DELETE (deactivates). */
static void
sf_scim(struct sb_call *c, const struct sb_path *p)
{
	struct sandbox *sb = c->sb;
	char user[SB_ID_LEN + 1];
	struct sb_user *u;
	struct json_object *obj = NULL, *ops, *op;
	size_t len, i, n;
	const char *body;
	char err[256];
	int active = -1;

	c->ctype = "application/scim+json";
	if (sf_auth(c, user) == -1) {
		sb_scim_error(c, 401, NULL, "Session expired or invalid");
		sf_classify(c);
		return;
	}
	if (p->n != 5 || strcmp(p->seg[3], "Users") != 0) {
		sb_scim_error(c, 404, NULL, "Resource not found");
		return;
	}
	u = org_user_by_id(&sb->org, p->seg[4]);
	if (u == NULL) {
		sb_scim_error(c, 404, NULL, "Resource not found");
		return;
	}
	snprintf(c->user, sizeof c->user, "%s", u->id);
	if (is_method(c, "GET")) {
		c->action = ACT_READ;
		c->status = 200;
		scim_user_json(c, u, &c->body);
		return;
	}
	if (is_method(c, "DELETE")) {
		c->action = ACT_DEACTIVATE;
		u->active = 0;
		c->status = 204;
		return;
	}
	if (!is_method(c, "PATCH")) {
		sb_scim_error(c, 405, NULL, "Method not allowed");
		return;
	}
	body = sb_call_body(c, &len);
	if ((obj = sb_json_parse(body, len, err, sizeof err)) == NULL ||
	    !json_object_is_type(obj, json_type_object)) {
		sb_scim_error(c, 400, "invalidSyntax",
		    obj == NULL ? err : "body must be a JSON object");
		goto done;
	}
	/* a PatchOp with Operations, or one bare operation */
	if (!json_object_object_get_ex(obj, "Operations", &ops)) {
		ops = NULL;
		n = 1;
	} else if (!json_object_is_type(ops, json_type_array)) {
		sb_scim_error(c, 400, "invalidSyntax", "Operations must be an array");
		goto done;
	} else {
		n = json_object_array_length(ops);
	}
	for (i = 0; i < n; i++) {
		struct json_object *o, *pth = NULL, *val = NULL, *act;
		op = ops != NULL ? json_object_array_get_idx(ops, i) : obj;
		if (!json_object_is_type(op, json_type_object) ||
		    !json_object_object_get_ex(op, "op", &o) || !json_object_is_type(o, json_type_string) ||
		    strcasecmp(json_object_get_string(o), "replace") != 0 ||
		    !json_object_object_get_ex(op, "value", &val)) {
			sb_scim_error(c, 400, "invalidSyntax", "only replace operations with a "
			    "value are supported");
			goto done;
		}
		json_object_object_get_ex(op, "path", &pth);
		if (pth != NULL && json_object_is_type(pth, json_type_string) &&
		    strcmp(json_object_get_string(pth), "active") == 0 &&
		    json_object_is_type(val, json_type_boolean)) {
			active = json_object_get_boolean(val);
		} else if (pth == NULL && json_object_is_type(val, json_type_object) &&
		    json_object_object_get_ex(val, "active", &act) &&
		    json_object_is_type(act, json_type_boolean) &&
		    json_object_object_length(val) == 1) {
			active = json_object_get_boolean(act);
		} else {
			sb_scim_error(c, 400, "invalidPath", "only the active attribute can be "
			    "replaced");
			goto done;
		}
	}
	if (active >= 0) {
		c->action = active ? ACT_ACTIVATE : ACT_DEACTIVATE;
		u->active = active;
	}
	c->status = 200;
	scim_user_json(c, u, &c->body);
done:
	json_object_put(obj);
}
