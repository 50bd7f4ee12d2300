/*
 * auth's settings: a target's "auth" object (docs/CONTRACT.md), one table
 * per type, chosen by "type". Apart from auth.c, which fetches and caches
 * tokens, so that reading the settings needs nothing of HTTP. Every secret
 * (tokens, client secrets, private keys, a service account's key) is
 * resolved through config_secret_member: registered with the log for
 * masking, never shown in a diagnostic, wiped when freed.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "deprov/auth.h"
#include "deprov/config.h"
#include "deprov/jsonc.h"
#include "deprov/log.h"

struct auth_config_type {
	const char			*name;
	const struct config_section	*settings;
};

static int	 auth_config_scopes(struct config_reader *, const char *,
		    json_object *, const struct config_setting *, void *);
static int	 auth_config_cc(struct config_reader *, const char *,
		    json_object *, void *);
static int	 auth_config_google_key(struct config_reader *, const char *,
		    json_object *, const struct config_setting *, void *);

#define AUTH_FIELD(f)	CONFIG_FIELD(struct config_auth, f)
#define AUTH_URL	.valid = config_url_ok, \
			.expect = "an http:// or https:// URL"

static const struct config_setting auth_none_rows[] = {
	{ .key = "type", .type = CONFIG_OTHER },
	{ .key = NULL }
};

/* bearer, and ssws: an Okta API token, sent as "SSWS <token>". */
static const struct config_setting auth_bearer_rows[] = {
	{ .key = "type", .type = CONFIG_OTHER },
	{ .key = "token", .type = CONFIG_SECRET, .flags = CONFIG_REQUIRED,
	    AUTH_FIELD(token) },
	{ .key = NULL }
};

/* Salesforce's OAuth 2.0 JWT bearer flow. */
static const struct config_setting auth_jwt_rows[] = {
	{ .key = "type", .type = CONFIG_OTHER },
	{ .key = "client_id", .type = CONFIG_STRING, .flags = CONFIG_REQUIRED,
	    AUTH_FIELD(client_id) },
	{ .key = "username", .type = CONFIG_STRING, .flags = CONFIG_REQUIRED,
	    AUTH_FIELD(username) },
	{ .key = "token_url", .type = CONFIG_STRING, .flags = CONFIG_REQUIRED,
	    AUTH_FIELD(token_url), AUTH_URL },
	{ .key = "audience", .type = CONFIG_STRING, AUTH_FIELD(audience),
	    .sdflt = "https://login.salesforce.com" },
	{ .key = "private_key", .type = CONFIG_SECRET, .flags = CONFIG_REQUIRED,
	    AUTH_FIELD(private_key_pem) },
	{ .key = "token_ttl_s", .type = CONFIG_INT, AUTH_FIELD(token_ttl_s),
	    .min = 1, .max = 180, .idflt = 170 },
	{ .key = NULL }
};

/*
 * OAuth 2.0 client credentials (Microsoft Graph, Okta service apps): a
 * client secret, or a private key that signs a client assertion (with an
 * optional key id and certificate thumbprint for the JWT header). Which
 * of those may be given depends on the others: auth_config_cc reads them.
 */
static const struct config_setting auth_cc_rows[] = {
	{ .key = "type", .type = CONFIG_OTHER },
	{ .key = "token_url", .type = CONFIG_STRING, .flags = CONFIG_REQUIRED,
	    AUTH_FIELD(token_url), AUTH_URL },
	{ .key = "client_id", .type = CONFIG_STRING, .flags = CONFIG_REQUIRED,
	    AUTH_FIELD(client_id) },
	{ .key = "scope", .type = CONFIG_CUSTOM, .flags = CONFIG_REQUIRED,
	    AUTH_FIELD(scope), .set = auth_config_scopes,
	    .missing = "\"scope\" (e.g. \"https://graph.microsoft.com/"
	    ".default\", or Okta scopes such as [\"okta.users.manage\"])" },
	{ .key = "client_secret", .type = CONFIG_SECRET,
	    .flags = CONFIG_BYCHECK, AUTH_FIELD(client_secret) },
	{ .key = "private_key", .type = CONFIG_SECRET, .flags = CONFIG_BYCHECK,
	    AUTH_FIELD(private_key_pem) },
	{ .key = "key_id", .type = CONFIG_STRING, .flags = CONFIG_BYCHECK,
	    AUTH_FIELD(key_id) },
	{ .key = "x5t", .type = CONFIG_STRING, .flags = CONFIG_BYCHECK,
	    AUTH_FIELD(x5t) },
	{ .key = "certificate", .type = CONFIG_SECRET, .flags = CONFIG_BYCHECK,
	    AUTH_FIELD(certificate_pem) },
	{ .key = "thumbprint", .type = CONFIG_OTHER },	/* auth_config_cc */
	{ .key = "token_ttl_s", .type = CONFIG_INT, AUTH_FIELD(token_ttl_s),
	    .min = 1, .max = 300, .idflt = 300 },
	{ .key = NULL }
};

/*
 * Google service account with domain-wide delegation: the key file Google
 * hands out (JSON with client_email, private_key, token_uri), the admin to
 * impersonate and the scopes. Nothing of the key is ever shown.
 */
static const struct config_setting auth_google_rows[] = {
	{ .key = "type", .type = CONFIG_OTHER },
	{ .key = "subject", .type = CONFIG_STRING, .flags = CONFIG_REQUIRED,
	    AUTH_FIELD(subject) },
	{ .key = "scopes", .type = CONFIG_CUSTOM, .flags = CONFIG_REQUIRED,
	    AUTH_FIELD(scope), .set = auth_config_scopes,
	    .missing = "\"scopes\" (e.g. [\"https://www.googleapis.com/auth/"
	    "admin.directory.user\"])" },
	/* Overrides the key's token_uri. */
	{ .key = "token_url", .type = CONFIG_STRING, AUTH_FIELD(token_url),
	    AUTH_URL },
	/* Last: token_url comes from the key unless given. */
	{ .key = "key", .type = CONFIG_CUSTOM, .flags = CONFIG_FORMS,
	    .set = auth_config_google_key },
	{ .key = NULL }
};

static const struct config_section auth_none = { auth_none_rows, NULL };
static const struct config_section auth_bearer = { auth_bearer_rows, NULL };
static const struct config_section auth_jwt = { auth_jwt_rows, NULL };
static const struct config_section auth_cc = { auth_cc_rows, auth_config_cc };
static const struct config_section auth_google = { auth_google_rows, NULL };

/* The types, in the order the "unknown type" message names them. */
static const struct auth_config_type auth_config_types[] = {
	{ "none", &auth_none },
	{ "bearer", &auth_bearer },
	{ "ssws", &auth_bearer },
	{ "jwt_bearer", &auth_jwt },
	{ "client_credentials", &auth_cc },
	{ "google_service_account", &auth_google },
};

#define AUTH_CONFIG_NTYPES \
	(sizeof auth_config_types / sizeof auth_config_types[0])

/*
 * A scope list: a string (taken as it is) or a non-empty array of strings
 * (joined with spaces).
 */
static int
auth_config_scopes(struct config_reader *r, const char *where,
    json_object *obj, const struct config_setting *s, void *conf)
{
	json_object	*v, *el;
	const char	*str;
	char		*out = NULL, *p;
	size_t		 n, i, len = 0;
	int		 line;

	if (obj == NULL)
		return 0;
	if (!json_object_object_get_ex(obj, s->key, &v)) {
		config_error(r, config_line(r, obj, NULL), "%s: missing %s", where,
		    s->missing);
		return -1;
	}
	line = config_line(r, obj, s->key);
	if (json_object_is_type(v, json_type_string)) {
		str = json_object_get_string(v);
		if (*str == '\0' || strspn(str, " ") == strlen(str))
			goto bad;
		out = config_dup(r, line, str);
		goto done;
	}
	if (!json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) == 0)
		goto bad;
	for (i = 0; i < n; i++) {
		el = json_object_array_get_idx(v, i);
		if (!json_object_is_type(el, json_type_string) ||
		    json_object_get_string_len(el) == 0 ||
		    strchr(json_object_get_string(el), ' ') != NULL)
			goto bad;
		len += (size_t)json_object_get_string_len(el) + 1;
	}
	if ((out = malloc(len)) == NULL) {
		config_error(r, line, "out of memory");
		return -1;
	}
	for (p = out, i = 0; i < n; i++) {
		el = json_object_array_get_idx(v, i);
		if (i > 0)
			*p++ = ' ';
		memcpy(p, json_object_get_string(el),
		    (size_t)json_object_get_string_len(el));
		p += json_object_get_string_len(el);
	}
	*p = '\0';
done:
	*(char **)(void *)((char *)conf + s->off) = out;
	return out != NULL ? 0 : -1;
bad:
	config_error(r, line, "%s.%s: expected a non-empty string or array of "
	    "strings (scopes, without spaces inside one)", where, s->key);
	return -1;
}

/* client_credentials: the credential, and what only a private key takes. */
static int
auth_config_cc(struct config_reader *r, const char *where, json_object *auth,
    void *conf)
{
	static const char *const key_only[] = { "key_id", "x5t", "certificate",
	    "certificate_env", "certificate_file", "thumbprint", NULL };
	struct config_auth	*a = conf;
	const struct jsonc_doc	*doc = config_doc(r);
	struct diags		*d = config_diags(r);
	const char		*s;
	int			 has_secret, has_key, has_cert, line, i;

	if (auth == NULL)
		return 0;
	line = config_line(r, auth, NULL);
	has_secret = config_has_secret(auth, "client_secret");
	has_key = config_has_secret(auth, "private_key");
	if (has_secret && has_key)
		config_error(r, line, "%s: give either a client secret or a "
		    "private key, not both", where);
	else if (!has_secret && !has_key)
		config_error(r, line, "%s: missing \"client_secret\" (or "
		    "\"client_secret_env\", \"client_secret_file\") or "
		    "\"private_key\" (or \"private_key_env\", "
		    "\"private_key_file\")", where);
	else if (has_secret)
		a->client_secret = config_secret_member(r, auth, where,
		    "client_secret");
	else
		a->private_key_pem = config_secret_member(r, auth, where,
		    "private_key");

	if (!has_key || has_secret) {
		for (i = 0; key_only[i] != NULL; i++) {
			if (json_object_object_get_ex(auth, key_only[i], NULL))
				config_error(r, config_line(r, auth,
				    key_only[i]), "%s.%s: only with a private "
				    "key (client assertion)", where, key_only[i]);
		}
		return 0;
	}
	s = NULL;
	if (jsonc_get_string(doc, auth, where, "key_id", &s, d) == 1)
		a->key_id = config_dup(r, line, s);
	has_cert = config_has_secret(auth, "certificate");
	s = NULL;
	if (jsonc_get_string(doc, auth, where, "x5t", &s, d) == 1) {
		if (has_cert)
			config_error(r, config_line(r, auth, "x5t"), "%s: give "
			    "either \"x5t\" or a certificate, not both", where);
		else if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		    "qrstuvwxyz0123456789-_") != strlen(s))
			config_error(r, config_line(r, auth, "x5t"), "%s.x5t: "
			    "expected a base64url thumbprint", where);
		else
			a->x5t = config_dup(r, line, s);
	}
	if (has_cert)
		a->certificate_pem = config_secret_member(r, auth, where,
		    "certificate");
	s = NULL;
	if (jsonc_get_string(doc, auth, where, "thumbprint", &s, d) == 1) {
		if (!has_cert)
			config_error(r, config_line(r, auth, "thumbprint"),
			    "%s.thumbprint: only with a certificate", where);
		else if (strcmp(s, "sha256") == 0)
			a->x5t_s256 = 1;
		else if (strcmp(s, "sha1") != 0)
			config_error(r, config_line(r, auth, "thumbprint"),
			    "%s.thumbprint: unknown thumbprint \"%s\" (sha1 for "
			    "x5t, sha256 for x5t#S256)", where, s);
	}
	return 0;
}

/*
 * google_service_account's key (key_file, key_env or key): the JSON key
 * Google hands out, parsed here; its private key is kept (and registered
 * with the log), the rest of its text wiped.
 */
static int
auth_config_google_key(struct config_reader *r, const char *where,
    json_object *auth, const struct config_setting *s, void *conf)
{
	static const char *const forms[] = { "key_file", "key_env", "key",
	    NULL };
	struct config_auth	*a = conf;
	json_object		*key = NULL, *v;
	const char		*form = "key_file", *u;
	char			*text;
	int			 line, kline, i;

	(void)s;
	if (auth == NULL)
		return 0;
	line = kline = config_line(r, auth, NULL);
	if (!config_has_secret(auth, "key")) {
		config_error(r, line, "%s: missing \"key_file\" (or \"key_env\", "
		    "\"key\"): the service account's JSON key", where);
		return -1;
	}
	for (i = 0; forms[i] != NULL; i++) {
		if (json_object_object_get_ex(auth, forms[i], NULL)) {
			form = forms[i];
			kline = config_line(r, auth, forms[i]);
			break;
		}
	}
	if ((text = config_secret_member(r, auth, where, "key")) == NULL)
		return -1;
	key = json_tokener_parse(text);
	config_free_secret(text);
	if (key == NULL || !json_object_is_type(key, json_type_object)) {
		config_error(r, kline, "%s.%s: not a service account key (a JSON "
		    "object expected)", where, form);
		goto done;
	}
	if (json_object_object_get_ex(key, "type", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "service_account") != 0)) {
		config_error(r, kline, "%s.%s: the key's \"type\" is not "
		    "\"service_account\"", where, form);
		goto done;
	}
	if (json_object_object_get_ex(key, "client_email", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > 0)
		a->client_email = config_dup(r, kline, json_object_get_string(v));
	else
		config_error(r, kline, "%s.%s: the key has no \"client_email\"",
		    where, form);
	if (json_object_object_get_ex(key, "private_key", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    strncmp(json_object_get_string(v), "-----BEGIN", 10) == 0) {
		a->private_key_pem = config_dup(r, kline,
		    json_object_get_string(v));
		/* A secret, though the key as a whole is not registered. */
		log_secret_add(a->private_key_pem);
	} else
		config_error(r, kline, "%s.%s: the key has no PEM "
		    "\"private_key\"", where, form);
	if (json_object_object_get_ex(key, "private_key_id", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > 0)
		a->key_id = config_dup(r, kline, json_object_get_string(v));
	if (!json_object_object_get_ex(auth, "token_url", NULL)) {
		u = "https://oauth2.googleapis.com/token";
		if (json_object_object_get_ex(key, "token_uri", &v)) {
			u = json_object_is_type(v, json_type_string) ?
			    json_object_get_string(v) : "";
			if (!config_url_ok(u)) {
				config_error(r, kline, "%s.%s: the key's "
				    "\"token_uri\" is not an http:// or "
				    "https:// URL", where, form);
				goto done;
			}
		}
		a->token_url = config_dup(r, kline, u);
	}
done:
	if (key != NULL) {
		/* json-c holds a copy of the private key: wipe it. */
		if (json_object_object_get_ex(key, "private_key", &v) &&
		    json_object_is_type(v, json_type_string))
			explicit_bzero((char *)json_object_get_string(v),
			    (size_t)json_object_get_string_len(v));
		json_object_put(key);
	}
	return 0;
}

int
auth_config_read(struct config_reader *r, const char *where,
    json_object *obj, const struct config_setting *s, void *conf)
{
	struct config_auth	*a = (void *)((char *)conf + s->off);
	json_object		*auth = NULL;
	const char		*type = NULL;
	char			 path[256], names[256];
	size_t			 i, off = 0;
	int			 rc, line;

	a->token_ttl_s = 170;
	rc = jsonc_get_object(config_doc(r), obj, where, s->key, &auth,
	    config_diags(r));
	if (rc < 0)
		return -1;
	if (rc == 0) {
		a->type = config_dup(r, 0, "none");
		return 0;
	}
	snprintf(path, sizeof path, "%s.%s", where, s->key);
	line = config_line(r, auth, NULL);
	rc = jsonc_get_string(config_doc(r), auth, path, "type", &type,
	    config_diags(r));
	if (rc == 0)
		config_error(r, line, "%s: missing \"type\"", path);
	if (rc != 1)
		return -1;
	for (i = 0; i < AUTH_CONFIG_NTYPES; i++) {
		if (strcmp(auth_config_types[i].name, type) == 0)
			break;
	}
	if (i == AUTH_CONFIG_NTYPES) {
		names[0] = '\0';
		for (i = 0; i < AUTH_CONFIG_NTYPES && off < sizeof names; i++)
			off += (size_t)snprintf(names + off, sizeof names - off,
			    "%s%s", i > 0 ? ", " : "", auth_config_types[i].name);
		config_error(r, config_line(r, auth, "type"), "%s: unknown type "
		    "\"%s\" (%s)", path, type, names);
		return -1;
	}
	rc = config_read(r, path, auth, auth_config_types[i].settings, a);
	a->type = config_dup(r, line, type);
	return rc;
}

void
auth_config_clear(const struct config_setting *s, void *conf)
{
	struct config_auth *a = (void *)((char *)conf + s->off);

	free(a->type);
	config_free_secret(a->token);
	free(a->client_id);
	free(a->username);
	free(a->audience);
	free(a->token_url);
	config_free_secret(a->private_key_pem);
	config_free_secret(a->client_secret);
	free(a->scope);
	free(a->key_id);
	free(a->x5t);
	free(a->certificate_pem);
	free(a->client_email);
	free(a->subject);
	memset(a, 0, sizeof *a);
}

void
auth_config_diff(struct config_differ *df, const char *where,
    const struct config_setting *s, const void *a, const void *b, int live)
{
	if (!auth_config_same((const void *)((const char *)a + s->off),
	    (const void *)((const char *)b + s->off)))
		config_differ_report(df, where, s->key, live);
}
