/*
 * config: loads the daemon's configuration file (JSON with comments, see
 * docs/CONTRACT.md), fills in defaults, resolves relative paths against the
 * file's directory and secrets from the environment or files, and checks
 * everything it reads. Every problem becomes a file:line diagnostic and
 * loading carries on, so that `deprovd --check` reports all of them at once.
 * Secret values never appear in a diagnostic; only the names of the
 * variables and files they come from do.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "deprov/config.h"
#include "deprov/connector.h"
#include "deprov/diag.h"
#include "deprov/jsonc.h"
#include "deprov/log.h"

#define CONFIG_SECRET_MAX	(64 * 1024)

/* What the section readers share while one file is loaded. */
struct config_ctx {
	const struct jsonc_doc	*doc;
	const char		*file;
	struct diags		*d;
	struct config		*cfg;
};

static char	*config_dirname(const char *);
static char	*config_join(const char *, const char *);
static char	*config_dup(struct config_ctx *, int, const char *);
static char	*config_path(struct config_ctx *, json_object *, const char *,
		    const char *, const char *);
static int	 config_line(struct config_ctx *, json_object *, const char *);
static char	*config_read_secret(const char *, char *, size_t);
static char	*config_secret_at(json_object *, const char *, const char *,
		    const struct jsonc_doc *, const char *, int, struct diags *);
static char	*config_secret_resolve(json_object *, const char *, const char *,
		    const struct jsonc_doc *, const char *, int, struct diags *);
static void	 config_store(struct config_ctx *, json_object *);
static void	 config_kafka(struct config_ctx *, json_object *);
static void	 config_api(struct config_ctx *, json_object *);
static void	 config_engine(struct config_ctx *, json_object *);
static void	 config_alerts(struct config_ctx *, json_object *);
static void	 config_targets(struct config_ctx *, json_object *);
static void	 config_target(struct config_ctx *, struct config_target *,
		    const char *, json_object *, json_object *);
static void	 config_auth(struct config_ctx *, struct config_auth *,
		    const char *, json_object *);
static void	 config_limits(struct config_ctx *, struct config_limits *,
		    const char *, json_object *);
static int	 config_has_secret(json_object *, const char *);
static char	*config_scopes(struct config_ctx *, json_object *, const char *,
		    const char *);
static void	 config_auth_client_credentials(struct config_ctx *,
		    struct config_auth *, const char *, json_object *, int);
static void	 config_auth_google(struct config_ctx *, struct config_auth *,
		    const char *, json_object *, int);
static void	 config_irreversible(struct config_ctx *, struct config_target *,
		    const char *, json_object *);
static void	 config_target_options(struct config_ctx *,
		    struct config_target *, const char *, json_object *);
static void	 config_check_report(struct connector_check *, json_object *,
		    const char *, const char *);
static void	 config_target_clear(struct config_target *);
static char	*config_prop_value(json_object *);
static int	 config_listen_ok(const char *);
static int	 config_sha256_ok(const char *);
static char	*config_required(struct config_ctx *, json_object *, const char *,
		    const char *);
static int	 config_url_ok(const char *);
static int	 config_name_ok(const char *);
static void	 config_free_secret(char *);

/* The directory of path, made absolute when possible. */
static char *
config_dirname(const char *path)
{
	char	*copy, *dir, *real;

	if ((copy = strdup(path)) == NULL)
		return NULL;
	dir = dirname(copy);
	real = realpath(dir, NULL);
	if (real == NULL)
		real = strdup(dir);
	free(copy);
	return real;
}

/* path when absolute, else dir/path. */
static char *
config_join(const char *dir, const char *path)
{
	char *s = NULL;

	if (path[0] == '/' || dir == NULL)
		return strdup(path);
	if (asprintf(&s, "%s/%s", dir, path) < 0)
		return NULL;
	return s;
}

/* strdup that reports running out of memory as a diagnostic. */
static char *
config_dup(struct config_ctx *c, int line, const char *s)
{
	char *r;

	if (s == NULL)
		return NULL;
	if ((r = strdup(s)) == NULL)
		diags_add(c->d, c->file, line, "out of memory");
	return r;
}

static int
config_line(struct config_ctx *c, json_object *obj, const char *key)
{
	return jsonc_member_line(c->doc, obj, key);
}

/*
 * A path member of obj resolved against the config file's directory, or
 * dflt (resolved too) when the member is absent; NULL when it is bad.
 */
static char *
config_path(struct config_ctx *c, json_object *obj, const char *where,
    const char *key, const char *dflt)
{
	const char	*v = dflt;
	char		*r;

	if (jsonc_get_string(c->doc, obj, where, key, &v, c->d) < 0 || v == NULL)
		return NULL;
	if ((r = config_join(c->cfg->dir, v)) == NULL)
		diags_add(c->d, c->file, config_line(c, obj, key), "out of memory");
	return r;
}

/* Read a secret file (bounded); trailing white space is dropped. */
static char *
config_read_secret(const char *path, char *why, size_t whylen)
{
	char	*buf = NULL, *nb;
	size_t	 len = 0;
	ssize_t	 r;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return NULL;
	}
	if ((buf = malloc(CONFIG_SECRET_MAX + 2)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	while (len <= CONFIG_SECRET_MAX) {
		r = read(fd, buf + len, CONFIG_SECRET_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, whylen, "%s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > CONFIG_SECRET_MAX) {
		snprintf(why, whylen, "larger than %d KiB", CONFIG_SECRET_MAX / 1024);
		goto fail;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	if (len == 0) {
		snprintf(why, whylen, "the file is empty");
		goto fail;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(why, whylen, "the file contains a NUL byte");
		goto fail;
	}
	/* PEM text keeps its final newline. */
	if (strncmp(buf, "-----BEGIN", 10) == 0)
		buf[len++] = '\n';
	buf[len] = '\0';
	close(fd);
	if ((nb = realloc(buf, len + 1)) != NULL)
		buf = nb;
	return buf;
fail:
	if (buf != NULL) {
		explicit_bzero(buf, CONFIG_SECRET_MAX + 2);
		free(buf);
	}
	close(fd);
	return NULL;
}

/*
 * config_secret with a path for messages (where, may be NULL) and, when the
 * document is known, the line of each member. What it resolves is a secret
 * (a certificate and a whole key file excepted) and is registered with the
 * log, so that it is masked wherever it shows up, e.g. echoed back in a
 * target's error answer.
 */
static char *
config_secret_at(json_object *obj, const char *key, const char *where,
    const struct jsonc_doc *doc, const char *file, int line, struct diags *d)
{
	char *s;

	s = config_secret_resolve(obj, key, where, doc, file, line, d);
	if (s != NULL && strcmp(key, "certificate") != 0 &&
	    strcmp(key, "key") != 0)
		log_secret_add(s);
	return s;
}

/* config_secret_at without the registration. */
static char *
config_secret_resolve(json_object *obj, const char *key, const char *where,
    const struct jsonc_doc *doc, const char *file, int line, struct diags *d)
{
	char		 kenv[64], kfile[64], pre[256], why[256];
	json_object	*vin = NULL, *venv = NULL, *vfile = NULL;
	const char	*name, *env;
	char		*dir = NULL, *path = NULL, *s = NULL;
	int		 given, l;

	snprintf(kenv, sizeof kenv, "%s_env", key);
	snprintf(kfile, sizeof kfile, "%s_file", key);
	if (where != NULL && *where != '\0')
		snprintf(pre, sizeof pre, "%s.", where);
	else
		pre[0] = '\0';
	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	given = json_object_object_get_ex(obj, key, &vin) +
	    json_object_object_get_ex(obj, kenv, &venv) +
	    json_object_object_get_ex(obj, kfile, &vfile);
	if (given == 0)
		return NULL;
	if (given > 1) {
		diags_add(d, file, line, "%s%sgive only one of \"%s\", \"%s\", "
		    "\"%s\"", where != NULL ? where : "",
		    where != NULL && *where != '\0' ? ": " : "", key, kenv, kfile);
		return NULL;
	}
	if (json_object_object_get_ex(obj, key, NULL)) {
		l = doc != NULL ? jsonc_member_line(doc, obj, key) : line;
		if (!json_object_is_type(vin, json_type_string) ||
		    json_object_get_string_len(vin) == 0) {
			diags_add(d, file, l, "%s%s: expected a non-empty string",
			    pre, key);
			return NULL;
		}
		if ((s = strdup(json_object_get_string(vin))) == NULL)
			diags_add(d, file, l, "out of memory");
		return s;
	}
	if (json_object_object_get_ex(obj, kenv, NULL)) {
		l = doc != NULL ? jsonc_member_line(doc, obj, kenv) : line;
		if (!json_object_is_type(venv, json_type_string) ||
		    json_object_get_string_len(venv) == 0) {
			diags_add(d, file, l, "%s%s: expected the name of an "
			    "environment variable", pre, kenv);
			return NULL;
		}
		name = json_object_get_string(venv);
		if ((env = getenv(name)) == NULL) {
			diags_add(d, file, l, "%s%s: environment variable \"%s\" "
			    "is not set", pre, kenv, name);
			return NULL;
		}
		if (*env == '\0') {
			diags_add(d, file, l, "%s%s: environment variable \"%s\" "
			    "is empty", pre, kenv, name);
			return NULL;
		}
		if ((s = strdup(env)) == NULL)
			diags_add(d, file, l, "out of memory");
		return s;
	}
	l = doc != NULL ? jsonc_member_line(doc, obj, kfile) : line;
	if (!json_object_is_type(vfile, json_type_string) ||
	    json_object_get_string_len(vfile) == 0) {
		diags_add(d, file, l, "%s%s: expected a path", pre, kfile);
		return NULL;
	}
	if ((dir = config_dirname(file)) == NULL ||
	    (path = config_join(dir, json_object_get_string(vfile))) == NULL) {
		diags_add(d, file, l, "out of memory");
		goto done;
	}
	if ((s = config_read_secret(path, why, sizeof why)) == NULL)
		diags_add(d, file, l, "%s%s: cannot read \"%s\": %s", pre, kfile,
		    path, why);
done:
	free(path);
	free(dir);
	return s;
}

char *
config_secret(json_object *obj, const char *key, const char *file, int line,
    struct diags *d)
{
	return config_secret_at(obj, key, NULL, NULL, file, line, d);
}

/* The kinds are the connector table's (src/connectors/connector.c). */
int
config_kind_known(const char *kind)
{
	return connector_find(kind) != NULL;
}

static void
config_store(struct config_ctx *c, json_object *root)
{
	static const char *const keys[] = { "path", NULL };
	json_object *store = NULL;

	if (jsonc_get_object(c->doc, root, NULL, "store", &store, c->d) < 0)
		store = NULL;
	jsonc_check_keys(c->doc, store, "store", keys, c->d);
	c->cfg->store_path = config_path(c, store, "store", "path",
	    "var/deprov.db");
}

/* A property value as librdkafka wants it: always a string. */
static char *
config_prop_value(json_object *v)
{
	char *s = NULL;

	switch (json_object_get_type(v)) {
	case json_type_string:
		return strdup(json_object_get_string(v));
	case json_type_boolean:
		return strdup(json_object_get_boolean(v) ? "true" : "false");
	case json_type_int:
		if (asprintf(&s, "%lld", (long long)json_object_get_int64(v)) < 0)
			return NULL;
		return s;
	case json_type_double:
		return strdup(json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN));
	default:
		return NULL;
	}
}

static void
config_kafka(struct config_ctx *c, json_object *root)
{
	static const char *const keys[] = { "brokers", "group_id", "topics",
	    "dlq_topic", "audit_topic", "properties", "bootstrap_file",
	    "partitions", "max_message_bytes", NULL };
	static const char *const reserved[][2] = {
		{ "bootstrap.servers", "set kafka.brokers instead" },
		{ "metadata.broker.list", "set kafka.brokers instead" },
		{ "group.id", "set kafka.group_id instead" },
		{ "enable.auto.offset.store", "deprov stores offsets itself, "
		    "after a case is durable" },
	};
	struct config_kafka	*k = &c->cfg->kafka;
	json_object		*kafka = NULL, *props = NULL, *v;
	const char		*s;
	char			*dir, *copy;
	long long		 ll;
	size_t			 n, i;
	int			 line, r, bad;

	k->partitions = 4;
	k->max_message_bytes = 1048576;
	r = jsonc_get_object(c->doc, root, NULL, "kafka", &kafka, c->d);
	if (r == 0)
		diags_add(c->d, c->file, jsonc_line(c->doc, root),
		    "missing \"kafka\"");
	if (r <= 0)
		kafka = NULL;
	jsonc_check_keys(c->doc, kafka, "kafka", keys, c->d);

	s = NULL;
	if (jsonc_get_string(c->doc, kafka, "kafka", "brokers", &s, c->d) == 0 &&
	    kafka != NULL)
		diags_add(c->d, c->file, jsonc_line(c->doc, kafka),
		    "kafka: missing \"brokers\"");
	k->brokers = config_dup(c, 0, s);

	s = "deprovd";
	jsonc_get_string(c->doc, kafka, "kafka", "group_id", &s, c->d);
	k->group_id = config_dup(c, 0, s);

	r = jsonc_get_strings(c->doc, kafka, "kafka", "topics", &k->topics,
	    &k->ntopics, c->d);
	if (r == 1 && k->ntopics == 0)
		diags_add(c->d, c->file, config_line(c, kafka, "topics"),
		    "kafka.topics: must not be empty");
	if (r == 0) {
		if ((k->topics = calloc(2, sizeof *k->topics)) == NULL ||
		    (k->topics[0] = strdup("hr.leavers")) == NULL)
			diags_add(c->d, c->file, 0, "out of memory");
		else
			k->ntopics = 1;
	}

	/* dlq_topic and audit_topic may be null: none. */
	s = "deprov.dlq";
	if (kafka != NULL && json_object_object_get_ex(kafka, "dlq_topic", &v) &&
	    v == NULL)
		s = NULL;
	else if (jsonc_get_string(c->doc, kafka, "kafka", "dlq_topic", &s,
	    c->d) < 0)
		s = NULL;
	k->dlq_topic = config_dup(c, 0, s);
	s = NULL;
	if (kafka != NULL && json_object_object_get_ex(kafka, "audit_topic", &v) &&
	    v == NULL)
		s = NULL;
	else if (jsonc_get_string(c->doc, kafka, "kafka", "audit_topic", &s,
	    c->d) < 0)
		s = NULL;
	k->audit_topic = config_dup(c, 0, s);

	if (jsonc_get_object(c->doc, kafka, "kafka", "properties", &props,
	    c->d) == 1) {
		n = (size_t)json_object_object_length(props);
		k->prop_keys = calloc(n + 1, sizeof *k->prop_keys);
		k->prop_vals = calloc(n + 1, sizeof *k->prop_vals);
		if (k->prop_keys == NULL || k->prop_vals == NULL) {
			diags_add(c->d, c->file, 0, "out of memory");
			n = 0;
		}
		json_object_object_foreach(props, key, val) {
			line = config_line(c, props, key);
			bad = 0;
			for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
				if (strcmp(reserved[i][0], key) == 0) {
					diags_add(c->d, c->file, line,
					    "kafka.properties: \"%s\" cannot be "
					    "set here (%s)", key, reserved[i][1]);
					bad = 1;
				}
			}
			if (!json_object_is_type(val, json_type_string) &&
			    !json_object_is_type(val, json_type_int) &&
			    !json_object_is_type(val, json_type_double) &&
			    !json_object_is_type(val, json_type_boolean)) {
				diags_add(c->d, c->file, line,
				    "kafka.properties.%s: expected a string, "
				    "number or boolean", key);
				bad = 1;
			}
			if (bad || k->nprops >= n)
				continue;
			k->prop_keys[k->nprops] = strdup(key);
			k->prop_vals[k->nprops] = config_prop_value(val);
			if (k->prop_keys[k->nprops] == NULL ||
			    k->prop_vals[k->nprops] == NULL) {
				free(k->prop_keys[k->nprops]);
				free(k->prop_vals[k->nprops]);
				k->prop_keys[k->nprops] = NULL;
				k->prop_vals[k->nprops] = NULL;
				diags_add(c->d, c->file, line, "out of memory");
				continue;
			}
			k->nprops++;
		}
	}

	/* The embedded cluster writes its address next to the database. */
	dir = NULL;
	if (k->brokers != NULL && strcmp(k->brokers, "embedded") == 0 &&
	    c->cfg->store_path != NULL) {
		if ((copy = strdup(c->cfg->store_path)) != NULL &&
		    (dir = config_join(dirname(copy), "kafka.bootstrap")) == NULL)
			diags_add(c->d, c->file, 0, "out of memory");
		free(copy);
	}
	k->bootstrap_file = config_path(c, kafka, "kafka", "bootstrap_file",
	    NULL);
	if (k->bootstrap_file == NULL)
		k->bootstrap_file = dir;
	else
		free(dir);

	if (jsonc_get_int(c->doc, kafka, "kafka", "partitions", 1, 1024, &ll,
	    c->d) == 1)
		k->partitions = (int)ll;
	if (jsonc_get_int(c->doc, kafka, "kafka", "max_message_bytes", 1,
	    1000000000, &ll, c->d) == 1)
		k->max_message_bytes = (size_t)ll;
}

/* "host:port" with a non-empty host and a port 1..65535. */
static int
config_listen_ok(const char *s)
{
	const char	*colon = strrchr(s, ':');
	char		*end;
	long		 port;

	if (colon == NULL || colon == s || colon[1] == '\0')
		return 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	return errno == 0 && *end == '\0' && port >= 1 && port <= 65535 &&
	    colon[1] >= '0' && colon[1] <= '9';
}

static int
config_sha256_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return i == 64;
}

static void
config_api(struct config_ctx *c, json_object *root)
{
	static const char *const keys[] = { "listen", "tls", "tokens",
	    "max_connections", "max_connections_per_address",
	    "request_timeout_ms", NULL };
	static const char *const tls_keys[] = { "cert_file", "key_file", NULL };
	static const char *const tok_keys[] = { "name", "role", "sha256", NULL };
	struct config_api	*a = &c->cfg->api;
	struct config_api_token	*t;
	json_object		*api = NULL, *tls = NULL, *tokens = NULL, *el;
	const char		*s, *name, *role, *sha;
	char			 where[64], why[128], *p;
	size_t			 n, i, j;
	long long		 ll;
	int			 line;

	if (jsonc_get_object(c->doc, root, NULL, "api", &api, c->d) <= 0)
		return;
	jsonc_check_keys(c->doc, api, "api", keys, c->d);

	s = NULL;
	if (jsonc_get_string(c->doc, api, "api", "listen", &s, c->d) == 1) {
		if (!config_listen_ok(s))
			diags_add(c->d, c->file, config_line(c, api, "listen"),
			    "api.listen: expected \"host:port\"");
		else
			a->listen = config_dup(c, 0, s);
	}

	/* Connection limits: absent (or 0 in the struct) = derived in api.c. */
	if (jsonc_get_int(c->doc, api, "api", "max_connections", 1, 1000000,
	    &ll, c->d) == 1)
		a->max_connections = (long)ll;
	if (jsonc_get_int(c->doc, api, "api", "max_connections_per_address", 1,
	    1000000, &ll, c->d) == 1)
		a->max_connections_per_address = (long)ll;
	if (jsonc_get_int(c->doc, api, "api", "request_timeout_ms", 100,
	    600000, &ll, c->d) == 1)
		a->request_timeout_ms = (long)ll;

	if (jsonc_get_object(c->doc, api, "api", "tls", &tls, c->d) == 1) {
		jsonc_check_keys(c->doc, tls, "api.tls", tls_keys, c->d);
		for (i = 0; tls_keys[i] != NULL; i++) {
			if (!json_object_object_get_ex(tls, tls_keys[i], NULL)) {
				diags_add(c->d, c->file, jsonc_line(c->doc, tls),
				    "api.tls: missing \"%s\"", tls_keys[i]);
				continue;
			}
			s = NULL;
			if (jsonc_get_string(c->doc, tls, "api.tls", tls_keys[i],
			    &s, c->d) != 1)
				continue;
			p = config_path(c, tls, "api.tls", tls_keys[i], NULL);
			if (p != NULL && access(p, R_OK) != 0) {
				snprintf(why, sizeof why, "%s", strerror(errno));
				diags_add(c->d, c->file, config_line(c, tls,
				    tls_keys[i]), "api.tls.%s: cannot read "
				    "\"%s\": %s", tls_keys[i], p, why);
			}
			if (i == 0)
				a->tls_cert_file = p;
			else
				a->tls_key_file = p;
		}
	}

	if (jsonc_get_array(c->doc, api, "api", "tokens", &tokens, c->d) != 1)
		return;
	n = json_object_array_length(tokens);
	if (n == 0)
		return;
	if ((a->tokens = calloc(n, sizeof *a->tokens)) == NULL) {
		diags_add(c->d, c->file, 0, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		el = json_object_array_get_idx(tokens, i);
		snprintf(where, sizeof where, "api.tokens[%zu]", i);
		line = jsonc_line(c->doc, el);
		if (line == 0)
			line = config_line(c, api, "tokens");
		if (!json_object_is_type(el, json_type_object)) {
			diags_add(c->d, c->file, line, "%s: expected an object",
			    where);
			continue;
		}
		jsonc_check_keys(c->doc, el, where, tok_keys, c->d);
		name = role = sha = NULL;
		for (j = 0; tok_keys[j] != NULL; j++) {
			if (!json_object_object_get_ex(el, tok_keys[j], NULL))
				diags_add(c->d, c->file, line,
				    "%s: missing \"%s\"", where, tok_keys[j]);
		}
		jsonc_get_string(c->doc, el, where, "name", &name, c->d);
		if (jsonc_get_string(c->doc, el, where, "role", &role, c->d) == 1 &&
		    strcmp(role, "viewer") != 0 && strcmp(role, "responder") != 0 &&
		    strcmp(role, "admin") != 0) {
			diags_add(c->d, c->file, config_line(c, el, "role"),
			    "%s.role: unknown role \"%s\" (viewer, responder, "
			    "admin)", where, role);
			role = NULL;
		}
		if (jsonc_get_string(c->doc, el, where, "sha256", &sha, c->d) == 1 &&
		    !config_sha256_ok(sha)) {
			diags_add(c->d, c->file, config_line(c, el, "sha256"),
			    "%s.sha256: expected 64 lowercase hex digits (the "
			    "SHA-256 of the token)", where);
			sha = NULL;
		}
		for (j = 0; j < a->ntokens && name != NULL; j++) {
			if (strcmp(a->tokens[j].name, name) == 0) {
				diags_add(c->d, c->file, config_line(c, el,
				    "name"), "%s: duplicate token name \"%s\"",
				    where, name);
				name = NULL;
			}
		}
		if (name == NULL || role == NULL || sha == NULL)
			continue;
		t = &a->tokens[a->ntokens];
		t->name = config_dup(c, line, name);
		t->role = config_dup(c, line, role);
		t->sha256 = config_dup(c, line, sha);
		if (t->name == NULL || t->role == NULL || t->sha256 == NULL) {
			free(t->name);
			free(t->role);
			free(t->sha256);
			memset(t, 0, sizeof *t);
			continue;
		}
		a->ntokens++;
	}
}

static void
config_engine(struct config_ctx *c, json_object *root)
{
	static const char *const keys[] = { "max_running_steps", "tick_ms",
	    "max_open_cases", "resume_open_cases", NULL };
	struct config_engine	*e = &c->cfg->engine;
	json_object		*engine = NULL;
	long long		 ll;

	e->max_running_steps = 512;
	e->tick_ms = 250;
	e->max_open_cases = 50000;
	e->resume_open_cases = 40000;
	if (jsonc_get_object(c->doc, root, NULL, "engine", &engine, c->d) <= 0)
		return;
	jsonc_check_keys(c->doc, engine, "engine", keys, c->d);
	if (jsonc_get_int(c->doc, engine, "engine", "max_running_steps", 1,
	    INT_MAX, &ll, c->d) == 1)
		e->max_running_steps = (int)ll;
	if (jsonc_get_int(c->doc, engine, "engine", "tick_ms", 1, 3600000, &ll,
	    c->d) == 1)
		e->tick_ms = (long)ll;
	if (jsonc_get_int(c->doc, engine, "engine", "max_open_cases", 1,
	    100000000, &ll, c->d) == 1) {
		e->max_open_cases = (size_t)ll;
		e->resume_open_cases = e->max_open_cases * 4 / 5;
	}
	if (jsonc_get_int(c->doc, engine, "engine", "resume_open_cases", 0,
	    100000000, &ll, c->d) == 1) {
		if ((size_t)ll >= e->max_open_cases)
			diags_add(c->d, c->file, config_line(c, engine,
			    "resume_open_cases"), "engine.resume_open_cases: "
			    "must be below max_open_cases (%zu)",
			    e->max_open_cases);
		else
			e->resume_open_cases = (size_t)ll;
	}
}

/*
 * "alerts": the webhooks told about SLA breaches and how deliveries are
 * retried. A webhook's URL (Slack's carries its secret) and Authorization
 * header are secrets: inline, *_env or *_file, and never shown.
 */
static void
config_alerts(struct config_ctx *c, json_object *root)
{
	static const char *const keys[] = { "webhooks", "max_attempts",
	    "initial_backoff_ms", "max_backoff_ms", "timeout_ms", NULL };
	static const char *const hook_keys[] = { "name", "url", "url_env",
	    "url_file", "format", "auth_header", "auth_header_env",
	    "auth_header_file", NULL };
	static const char *const url_keys[] = { "url", "url_env", "url_file",
	    NULL };
	struct config_alerts	*a = &c->cfg->alerts;
	struct config_webhook	*w;
	json_object		*alerts = NULL, *hooks = NULL, *el;
	const char		*name, *format, *ukey;
	char			 where[64], *url, *auth;
	long long		 ll;
	size_t			 n, i, j;
	int			 line, r, bad;

	a->max_attempts = 8;
	a->initial_backoff_ms = 1000;
	a->max_backoff_ms = 60000;
	a->timeout_ms = 5000;
	if (jsonc_get_object(c->doc, root, NULL, "alerts", &alerts, c->d) <= 0)
		return;
	jsonc_check_keys(c->doc, alerts, "alerts", keys, c->d);
	if (jsonc_get_int(c->doc, alerts, "alerts", "max_attempts", 1, 100, &ll,
	    c->d) == 1)
		a->max_attempts = (int)ll;
	if (jsonc_get_int(c->doc, alerts, "alerts", "initial_backoff_ms", 1,
	    86400000, &ll, c->d) == 1)
		a->initial_backoff_ms = (long)ll;
	if (jsonc_get_int(c->doc, alerts, "alerts", "max_backoff_ms", 1,
	    86400000, &ll, c->d) == 1)
		a->max_backoff_ms = (long)ll;
	if (jsonc_get_int(c->doc, alerts, "alerts", "timeout_ms", 1, 600000,
	    &ll, c->d) == 1)
		a->timeout_ms = (long)ll;
	if (a->max_backoff_ms < a->initial_backoff_ms)
		diags_add(c->d, c->file, config_line(c, alerts,
		    json_object_object_get_ex(alerts, "max_backoff_ms", NULL) ?
		    "max_backoff_ms" : "initial_backoff_ms"),
		    "alerts.max_backoff_ms: must not be less than "
		    "initial_backoff_ms (%ld < %ld)", a->max_backoff_ms,
		    a->initial_backoff_ms);

	if (jsonc_get_array(c->doc, alerts, "alerts", "webhooks", &hooks,
	    c->d) != 1)
		return;
	if ((n = json_object_array_length(hooks)) == 0)
		return;
	if ((a->webhooks = calloc(n, sizeof *a->webhooks)) == NULL) {
		diags_add(c->d, c->file, 0, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		el = json_object_array_get_idx(hooks, i);
		snprintf(where, sizeof where, "alerts.webhooks[%zu]", i);
		line = jsonc_line(c->doc, el);
		if (line == 0)
			line = config_line(c, alerts, "webhooks");
		if (!json_object_is_type(el, json_type_object)) {
			diags_add(c->d, c->file, line, "%s: expected an object",
			    where);
			continue;
		}
		jsonc_check_keys(c->doc, el, where, hook_keys, c->d);
		bad = 0;
		name = NULL;
		r = jsonc_get_string(c->doc, el, where, "name", &name, c->d);
		if (r == 0)
			diags_add(c->d, c->file, line, "%s: missing \"name\"",
			    where);
		if (r == 1 && !config_name_ok(name)) {
			diags_add(c->d, c->file, config_line(c, el, "name"),
			    "%s.name: invalid name \"%s\" (use letters, digits, "
			    "'_', '.', '-')", where, name);
			name = NULL;
		}
		for (j = 0; j < a->nwebhooks && name != NULL; j++) {
			if (strcmp(a->webhooks[j].name, name) == 0) {
				diags_add(c->d, c->file, config_line(c, el,
				    "name"), "%s: duplicate webhook name \"%s\"",
				    where, name);
				name = NULL;
			}
		}
		if (name == NULL)
			bad = 1;
		format = "generic";
		r = jsonc_get_string(c->doc, el, where, "format", &format, c->d);
		if (r < 0)
			bad = 1;
		else if (r == 1 && strcmp(format, "generic") != 0 &&
		    strcmp(format, "slack") != 0) {
			diags_add(c->d, c->file, config_line(c, el, "format"),
			    "%s.format: unknown format \"%s\" (generic, slack)",
			    where, format);
			bad = 1;
		}
		ukey = NULL;
		for (j = 0; url_keys[j] != NULL && ukey == NULL; j++)
			if (json_object_object_get_ex(el, url_keys[j], NULL))
				ukey = url_keys[j];
		url = config_secret_at(el, "url", where, c->doc, c->file, line,
		    c->d);
		if (ukey == NULL)
			diags_add(c->d, c->file, line, "%s: missing \"url\" (or "
			    "\"url_env\", \"url_file\")", where);
		if (url != NULL && (!config_url_ok(url) ||
		    strpbrk(url, " \t\r\n") != NULL)) {
			/* The URL may hold a secret: not shown. */
			diags_add(c->d, c->file, config_line(c, el, ukey),
			    "%s.%s: expected an http:// or https:// URL", where,
			    ukey);
			config_free_secret(url);
			url = NULL;
		}
		auth = config_secret_at(el, "auth_header", where, c->doc,
		    c->file, line, c->d);
		/* Given but unusable: never send without it. */
		if (auth == NULL && (json_object_object_get_ex(el,
		    "auth_header", NULL) || json_object_object_get_ex(el,
		    "auth_header_env", NULL) || json_object_object_get_ex(el,
		    "auth_header_file", NULL)))
			bad = 1;
		if (auth != NULL && strpbrk(auth, "\r\n") != NULL) {
			diags_add(c->d, c->file, line, "%s.auth_header: must be "
			    "one line", where);
			config_free_secret(auth);
			auth = NULL;
			bad = 1;
		}
		if (bad || url == NULL) {
			config_free_secret(url);
			config_free_secret(auth);
			continue;
		}
		w = &a->webhooks[a->nwebhooks];
		w->line = line;
		w->url = url;
		w->auth_header = auth;
		w->name = config_dup(c, line, name);
		w->format = config_dup(c, line, format);
		if (w->name == NULL || w->format == NULL) {
			free(w->name);
			free(w->format);
			config_free_secret(w->url);
			config_free_secret(w->auth_header);
			memset(w, 0, sizeof *w);
			continue;
		}
		a->nwebhooks++;
	}
}

/* A required string member; diagnosed as "where: missing \"key\"". */
static char *
config_required(struct config_ctx *c, json_object *obj, const char *where,
    const char *key)
{
	const char	*s = NULL;
	int		 r;

	r = jsonc_get_string(c->doc, obj, where, key, &s, c->d);
	if (r == 0)
		diags_add(c->d, c->file, jsonc_line(c->doc, obj),
		    "%s: missing \"%s\"", where, key);
	if (r != 1)
		return NULL;
	return config_dup(c, config_line(c, obj, key), s);
}

static int
config_url_ok(const char *s)
{
	return (strncmp(s, "http://", 7) == 0 && s[7] != '\0' && s[7] != '/') ||
	    (strncmp(s, "https://", 8) == 0 && s[8] != '\0' && s[8] != '/');
}

/* 1 when obj holds key, key_env or key_file. */
static int
config_has_secret(json_object *obj, const char *key)
{
	char k[64];

	if (json_object_object_get_ex(obj, key, NULL))
		return 1;
	snprintf(k, sizeof k, "%s_env", key);
	if (json_object_object_get_ex(obj, k, NULL))
		return 1;
	snprintf(k, sizeof k, "%s_file", key);
	return json_object_object_get_ex(obj, k, NULL);
}

/*
 * A scope list: a string (taken as it is) or a non-empty array of strings
 * (joined with spaces). NULL when absent (no diagnostic) or bad (one).
 */
static char *
config_scopes(struct config_ctx *c, json_object *obj, const char *where,
    const char *key)
{
	json_object	*v, *el;
	const char	*s;
	char		*out = NULL, *p;
	size_t		 n, i, len = 0;
	int		 line;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	line = config_line(c, obj, key);
	if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		if (*s == '\0' || strspn(s, " ") == strlen(s))
			goto bad;
		return config_dup(c, line, s);
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
		diags_add(c->d, c->file, line, "out of memory");
		return NULL;
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
	return out;
bad:
	diags_add(c->d, c->file, line, "%s.%s: expected a non-empty string or "
	    "array of strings (scopes, without spaces inside one)", where, key);
	return NULL;
}

/*
 * OAuth 2.0 client credentials (Microsoft Graph, Okta service apps): a
 * client secret, or a private key that signs a client assertion (with an
 * optional key id and certificate thumbprint for the JWT header).
 */
static void
config_auth_client_credentials(struct config_ctx *c, struct config_auth *a,
    const char *where, json_object *auth, int line)
{
	static const char *const keys[] = { "type", "token_url", "client_id",
	    "scope", "client_secret", "client_secret_env", "client_secret_file",
	    "private_key", "private_key_env", "private_key_file", "key_id",
	    "x5t", "certificate", "certificate_env", "certificate_file",
	    "thumbprint", "token_ttl_s", NULL };
	static const char *const key_only[] = { "key_id", "x5t", "certificate",
	    "certificate_env", "certificate_file", "thumbprint", NULL };
	const char	*s;
	long long	 ll;
	int		 has_secret, has_key, has_cert, i;

	jsonc_check_keys(c->doc, auth, where, keys, c->d);
	a->token_ttl_s = 300;
	a->token_url = config_required(c, auth, where, "token_url");
	if (a->token_url != NULL && !config_url_ok(a->token_url))
		diags_add(c->d, c->file, config_line(c, auth, "token_url"),
		    "%s.token_url: expected an http:// or https:// URL", where);
	a->client_id = config_required(c, auth, where, "client_id");
	if (!json_object_object_get_ex(auth, "scope", NULL))
		diags_add(c->d, c->file, line, "%s: missing \"scope\" (e.g. "
		    "\"https://graph.microsoft.com/.default\", or Okta scopes "
		    "such as [\"okta.users.manage\"])", where);
	a->scope = config_scopes(c, auth, where, "scope");

	has_secret = config_has_secret(auth, "client_secret");
	has_key = config_has_secret(auth, "private_key");
	if (has_secret && has_key)
		diags_add(c->d, c->file, line, "%s: give either a client secret "
		    "or a private key, not both", where);
	else if (!has_secret && !has_key)
		diags_add(c->d, c->file, line, "%s: missing \"client_secret\" "
		    "(or \"client_secret_env\", \"client_secret_file\") or "
		    "\"private_key\" (or \"private_key_env\", "
		    "\"private_key_file\")", where);
	else if (has_secret)
		a->client_secret = config_secret_at(auth, "client_secret", where,
		    c->doc, c->file, line, c->d);
	else
		a->private_key_pem = config_secret_at(auth, "private_key", where,
		    c->doc, c->file, line, c->d);

	if (!has_key || has_secret) {
		for (i = 0; key_only[i] != NULL; i++) {
			if (json_object_object_get_ex(auth, key_only[i], NULL))
				diags_add(c->d, c->file, config_line(c, auth,
				    key_only[i]), "%s.%s: only with a private "
				    "key (client assertion)", where, key_only[i]);
		}
		return;
	}
	s = NULL;
	if (jsonc_get_string(c->doc, auth, where, "key_id", &s, c->d) == 1)
		a->key_id = config_dup(c, line, s);
	has_cert = config_has_secret(auth, "certificate");
	s = NULL;
	if (jsonc_get_string(c->doc, auth, where, "x5t", &s, c->d) == 1) {
		if (has_cert)
			diags_add(c->d, c->file, config_line(c, auth, "x5t"),
			    "%s: give either \"x5t\" or a certificate, not both",
			    where);
		else if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		    "qrstuvwxyz0123456789-_") != strlen(s))
			diags_add(c->d, c->file, config_line(c, auth, "x5t"),
			    "%s.x5t: expected a base64url thumbprint", where);
		else
			a->x5t = config_dup(c, line, s);
	}
	if (has_cert)
		a->certificate_pem = config_secret_at(auth, "certificate", where,
		    c->doc, c->file, line, c->d);
	s = NULL;
	if (jsonc_get_string(c->doc, auth, where, "thumbprint", &s, c->d) == 1) {
		if (!has_cert)
			diags_add(c->d, c->file, config_line(c, auth,
			    "thumbprint"), "%s.thumbprint: only with a "
			    "certificate", where);
		else if (strcmp(s, "sha256") == 0)
			a->x5t_s256 = 1;
		else if (strcmp(s, "sha1") != 0)
			diags_add(c->d, c->file, config_line(c, auth,
			    "thumbprint"), "%s.thumbprint: unknown thumbprint "
			    "\"%s\" (sha1 for x5t, sha256 for x5t#S256)", where, s);
	}
	if (jsonc_get_int(c->doc, auth, where, "token_ttl_s", 1, 300, &ll,
	    c->d) == 1)
		a->token_ttl_s = (long)ll;
}

/*
 * Google service account with domain-wide delegation: the key file Google
 * hands out (JSON with client_email, private_key, token_uri), the admin to
 * impersonate and the scopes. Nothing of the key is ever shown.
 */
static void
config_auth_google(struct config_ctx *c, struct config_auth *a,
    const char *where, json_object *auth, int line)
{
	static const char *const keys[] = { "type", "key", "key_env",
	    "key_file", "subject", "scopes", "token_url", NULL };
	static const char *const forms[] = { "key_file", "key_env", "key",
	    NULL };
	json_object	*key = NULL, *v;
	const char	*form = "key_file", *s;
	char		*text;
	int		 kline = line, i, override;

	jsonc_check_keys(c->doc, auth, where, keys, c->d);
	a->subject = config_required(c, auth, where, "subject");
	if (!json_object_object_get_ex(auth, "scopes", NULL))
		diags_add(c->d, c->file, line, "%s: missing \"scopes\" (e.g. "
		    "[\"https://www.googleapis.com/auth/admin.directory.user\"])",
		    where);
	a->scope = config_scopes(c, auth, where, "scopes");
	s = NULL;
	override = json_object_object_get_ex(auth, "token_url", NULL);
	if (jsonc_get_string(c->doc, auth, where, "token_url", &s, c->d) == 1) {
		if (!config_url_ok(s))
			diags_add(c->d, c->file, config_line(c, auth,
			    "token_url"), "%s.token_url: expected an http:// or "
			    "https:// URL", where);
		else
			a->token_url = config_dup(c, line, s);
	}

	if (!config_has_secret(auth, "key")) {
		diags_add(c->d, c->file, line, "%s: missing \"key_file\" (or "
		    "\"key_env\", \"key\"): the service account's JSON key",
		    where);
		return;
	}
	for (i = 0; forms[i] != NULL; i++) {
		if (json_object_object_get_ex(auth, forms[i], NULL)) {
			form = forms[i];
			kline = config_line(c, auth, forms[i]);
			break;
		}
	}
	if ((text = config_secret_at(auth, "key", where, c->doc, c->file, line,
	    c->d)) == NULL)
		return;
	key = json_tokener_parse(text);
	explicit_bzero(text, strlen(text));
	free(text);
	if (key == NULL || !json_object_is_type(key, json_type_object)) {
		diags_add(c->d, c->file, kline, "%s.%s: not a service account "
		    "key (a JSON object expected)", where, form);
		goto done;
	}
	if (json_object_object_get_ex(key, "type", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "service_account") != 0)) {
		diags_add(c->d, c->file, kline, "%s.%s: the key's \"type\" is "
		    "not \"service_account\"", where, form);
		goto done;
	}
	if (json_object_object_get_ex(key, "client_email", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > 0)
		a->client_email = config_dup(c, kline, json_object_get_string(v));
	else
		diags_add(c->d, c->file, kline, "%s.%s: the key has no "
		    "\"client_email\"", where, form);
	if (json_object_object_get_ex(key, "private_key", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    strncmp(json_object_get_string(v), "-----BEGIN", 10) == 0) {
		a->private_key_pem = config_dup(c, kline,
		    json_object_get_string(v));
		log_secret_add(a->private_key_pem);	/* see config_secret_at */
	} else
		diags_add(c->d, c->file, kline, "%s.%s: the key has no PEM "
		    "\"private_key\"", where, form);
	if (json_object_object_get_ex(key, "private_key_id", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > 0)
		a->key_id = config_dup(c, kline, json_object_get_string(v));
	if (!override) {
		s = "https://oauth2.googleapis.com/token";
		if (json_object_object_get_ex(key, "token_uri", &v)) {
			s = json_object_is_type(v, json_type_string) ?
			    json_object_get_string(v) : "";
			if (!config_url_ok(s)) {
				diags_add(c->d, c->file, kline, "%s.%s: the "
				    "key's \"token_uri\" is not an http:// or "
				    "https:// URL", where, form);
				goto done;
			}
		}
		a->token_url = config_dup(c, kline, s);
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
}

static void
config_auth(struct config_ctx *c, struct config_auth *a, const char *tname,
    json_object *auth)
{
	static const char *const none_keys[] = { "type", NULL };
	static const char *const bearer_keys[] = { "type", "token", "token_env",
	    "token_file", NULL };
	static const char *const jwt_keys[] = { "type", "client_id", "username",
	    "audience", "token_url", "private_key", "private_key_env",
	    "private_key_file", "token_ttl_s", NULL };
	char		 where[256];
	const char	*type = NULL, *s;
	long long	 ll;
	int		 r, line;

	snprintf(where, sizeof where, "targets.%s.auth", tname);
	a->token_ttl_s = 170;
	if (auth == NULL) {
		a->type = config_dup(c, 0, "none");
		return;
	}
	line = jsonc_line(c->doc, auth);
	r = jsonc_get_string(c->doc, auth, where, "type", &type, c->d);
	if (r == 0)
		diags_add(c->d, c->file, line, "%s: missing \"type\"", where);
	if (r != 1)
		return;
	if (strcmp(type, "none") == 0) {
		jsonc_check_keys(c->doc, auth, where, none_keys, c->d);
	} else if (strcmp(type, "bearer") == 0 || strcmp(type, "ssws") == 0) {
		/* ssws: Okta API token, sent as "SSWS <token>". */
		jsonc_check_keys(c->doc, auth, where, bearer_keys, c->d);
		a->token = config_secret_at(auth, "token", where, c->doc, c->file,
		    line, c->d);
		if (a->token == NULL && !json_object_object_get_ex(auth, "token",
		    NULL) && !json_object_object_get_ex(auth, "token_env", NULL) &&
		    !json_object_object_get_ex(auth, "token_file", NULL))
			diags_add(c->d, c->file, line, "%s: missing \"token\" (or "
			    "\"token_env\", \"token_file\")", where);
	} else if (strcmp(type, "client_credentials") == 0) {
		config_auth_client_credentials(c, a, where, auth, line);
	} else if (strcmp(type, "google_service_account") == 0) {
		config_auth_google(c, a, where, auth, line);
	} else if (strcmp(type, "jwt_bearer") == 0) {
		jsonc_check_keys(c->doc, auth, where, jwt_keys, c->d);
		a->client_id = config_required(c, auth, where, "client_id");
		a->username = config_required(c, auth, where, "username");
		a->token_url = config_required(c, auth, where, "token_url");
		if (a->token_url != NULL && !config_url_ok(a->token_url))
			diags_add(c->d, c->file, config_line(c, auth,
			    "token_url"), "%s.token_url: expected an http:// or "
			    "https:// URL", where);
		s = "https://login.salesforce.com";
		jsonc_get_string(c->doc, auth, where, "audience", &s, c->d);
		a->audience = config_dup(c, line, s);
		a->private_key_pem = config_secret_at(auth, "private_key", where,
		    c->doc, c->file, line, c->d);
		if (a->private_key_pem == NULL &&
		    !json_object_object_get_ex(auth, "private_key", NULL) &&
		    !json_object_object_get_ex(auth, "private_key_env", NULL) &&
		    !json_object_object_get_ex(auth, "private_key_file", NULL))
			diags_add(c->d, c->file, line, "%s: missing "
			    "\"private_key\" (or \"private_key_env\", "
			    "\"private_key_file\")", where);
		if (jsonc_get_int(c->doc, auth, where, "token_ttl_s", 1, 180, &ll,
		    c->d) == 1)
			a->token_ttl_s = (long)ll;
	} else {
		diags_add(c->d, c->file, config_line(c, auth, "type"),
		    "%s: unknown type \"%s\" (none, bearer, ssws, jwt_bearer, "
		    "client_credentials, google_service_account)", where, type);
		return;
	}
	a->type = config_dup(c, line, type);
}

static void
config_limits(struct config_ctx *c, struct config_limits *l, const char *tname,
    json_object *limits)
{
	static const char *const keys[] = { "rate_per_sec", "burst",
	    "concurrency", "timeout_ms", "connect_timeout_ms",
	    "limit_backoff_ms", "usage_slowdown", "breaker_failures",
	    "breaker_open_ms", "breaker_max_open_ms", NULL };
	char		 where[256];
	long long	 ll;

	l->rate_per_sec = 20;
	l->burst = 40;
	l->concurrency = 8;
	l->timeout_ms = 30000;
	l->connect_timeout_ms = 10000;
	l->limit_backoff_ms = 300000;
	l->usage_slowdown = 0.9;
	l->breaker_failures = 5;
	l->breaker_open_ms = 30000;
	l->breaker_max_open_ms = 300000;
	if (limits == NULL)
		return;
	snprintf(where, sizeof where, "targets.%s.limits", tname);
	jsonc_check_keys(c->doc, limits, where, keys, c->d);
	jsonc_get_double(c->doc, limits, where, "rate_per_sec", 0, INFINITY,
	    &l->rate_per_sec, c->d);
	jsonc_get_double(c->doc, limits, where, "burst", 1, INFINITY, &l->burst,
	    c->d);
	if (jsonc_get_int(c->doc, limits, where, "concurrency", 1, INT_MAX, &ll,
	    c->d) == 1)
		l->concurrency = (int)ll;
	if (jsonc_get_int(c->doc, limits, where, "timeout_ms", 1, LONG_MAX, &ll,
	    c->d) == 1)
		l->timeout_ms = (long)ll;
	if (jsonc_get_int(c->doc, limits, where, "connect_timeout_ms", 1,
	    LONG_MAX, &ll, c->d) == 1)
		l->connect_timeout_ms = (long)ll;
	if (jsonc_get_int(c->doc, limits, where, "limit_backoff_ms", 0,
	    LONG_MAX, &ll, c->d) == 1)
		l->limit_backoff_ms = (long)ll;
	jsonc_get_double(c->doc, limits, where, "usage_slowdown", 0, 1,
	    &l->usage_slowdown, c->d);
	if (jsonc_get_int(c->doc, limits, where, "breaker_failures", 1, 1000,
	    &ll, c->d) == 1)
		l->breaker_failures = (int)ll;
	if (jsonc_get_int(c->doc, limits, where, "breaker_open_ms", 1,
	    86400000, &ll, c->d) == 1)
		l->breaker_open_ms = (long)ll;
	if (jsonc_get_int(c->doc, limits, where, "breaker_max_open_ms", 1,
	    86400000, &ll, c->d) == 1)
		l->breaker_max_open_ms = (long)ll;
	if (l->breaker_max_open_ms < l->breaker_open_ms) {
		if (json_object_object_get_ex(limits, "breaker_max_open_ms",
		    NULL))
			diags_add(c->d, c->file, config_line(c, limits,
			    "breaker_max_open_ms"), "%s.breaker_max_open_ms: "
			    "must not be less than breaker_open_ms (%ld < %ld)",
			    where, l->breaker_max_open_ms, l->breaker_open_ms);
		else
			l->breaker_max_open_ms = l->breaker_open_ms;
	}
}

/*
 * "irreversible_delete": true, or a string saying what a delete destroys
 * ("removes tokens, keys and repositories"): runbooks must then say
 * "irreversible_ok" on the delete step.
 */
static void
config_irreversible(struct config_ctx *c, struct config_target *t,
    const char *where, json_object *obj)
{
	json_object	*v;
	const char	*why;
	int		 line;

	if (!json_object_object_get_ex(obj, "irreversible_delete", &v)) {
		/*
		 * The kind's rule for these options (a SCIM preset whose
		 * DELETE cannot be undone); an explicit
		 * "irreversible_delete": false still overrides.
		 */
		why = connector_irreversible(connector_find(t->kind),
		    t->options);
		if (why != NULL) {
			t->irreversible_delete = 1;
			t->irreversible_why = config_dup(c, t->line, why);
		}
		return;
	}
	line = config_line(c, obj, "irreversible_delete");
	if (json_object_is_type(v, json_type_boolean))
		t->irreversible_delete = json_object_get_boolean(v);
	else if (json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > 0) {
		t->irreversible_delete = 1;
		t->irreversible_why = config_dup(c, line,
		    json_object_get_string(v));
	} else
		diags_add(c->d, c->file, line, "%s.irreversible_delete: expected "
		    "true, false or a string saying what a delete destroys",
		    where);
}

static int
config_name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' ||
		    s[i] == '-'))
			return 0;
	}
	return i > 0;
}

static void
config_target(struct config_ctx *c, struct config_target *t, const char *name,
    json_object *targets, json_object *obj)
{
	static const char *const keys[] = { "kind", "base_url", "api_version",
	    "auth", "limits", "options", "irreversible_delete", NULL };
	char		 where[256], kinds[256];
	const char	*s;
	json_object	*auth = NULL, *limits = NULL, *options = NULL;
	size_t		 len;
	int		 line;

	snprintf(where, sizeof where, "targets.%s", name);
	t->line = jsonc_key_line(c->doc, targets, name);
	t->name = config_dup(c, t->line, name);
	line = jsonc_line(c->doc, obj);
	jsonc_check_keys(c->doc, obj, where, keys, c->d);

	s = NULL;
	if (jsonc_get_string(c->doc, obj, where, "kind", &s, c->d) == 0)
		diags_add(c->d, c->file, line, "%s: missing \"kind\"", where);
	if (s != NULL && !config_kind_known(s)) {
		connector_kinds(kinds, sizeof kinds);
		diags_add(c->d, c->file, config_line(c, obj, "kind"),
		    "%s: unknown kind \"%s\" (%s)", where, s, kinds);
	} else
		t->kind = config_dup(c, line, s);

	t->base_url = config_required(c, obj, where, "base_url");
	if (t->base_url != NULL) {
		if (!config_url_ok(t->base_url))
			diags_add(c->d, c->file, config_line(c, obj, "base_url"),
			    "%s.base_url: expected an http:// or https:// URL",
			    where);
		len = strlen(t->base_url);
		while (len > 0 && t->base_url[len - 1] == '/')
			t->base_url[--len] = '\0';
	}

	s = "v60.0";
	jsonc_get_string(c->doc, obj, where, "api_version", &s, c->d);
	t->api_version = config_dup(c, line, s);

	if (jsonc_get_object(c->doc, obj, where, "auth", &auth, c->d) < 0)
		auth = NULL;
	else
		config_auth(c, &t->auth, name, auth);
	if (jsonc_get_object(c->doc, obj, where, "limits", &limits, c->d) < 0)
		limits = NULL;
	config_limits(c, &t->limits, name, limits);
	if (jsonc_get_object(c->doc, obj, where, "options", &options, c->d) == 1) {
		t->options = json_object_get(options);
		config_target_options(c, t, where, options);
	}
	config_irreversible(c, t, where, obj);
}

/* A target's options problem, as the kind reported it: file:line. */
struct config_check {
	struct connector_check	 chk;		/* first */
	struct config_ctx	*c;
	const char		*where;		/* "targets.<name>" */
};

static void
config_check_report(struct connector_check *chk, json_object *obj,
    const char *key, const char *msg)
{
	struct config_check	*cc = (struct config_check *)chk;

	diags_add(cc->c->d, cc->c->file, key != NULL ? config_line(cc->c, obj,
	    key) : jsonc_line(cc->c->doc, obj), "%s.%s", cc->where, msg);
}

/*
 * The options of a target, checked by its kind now rather than when a
 * step first runs: unknown keys, then their values.
 */
static void
config_target_options(struct config_ctx *c, struct config_target *t,
    const char *where, json_object *options)
{
	struct config_check	cc;

	memset(&cc, 0, sizeof cc);
	cc.chk.report = config_check_report;
	cc.c = c;
	cc.where = where;
	connector_check_options(connector_find(t->kind), options, &cc.chk);
}

static void
config_targets(struct config_ctx *c, json_object *root)
{
	json_object	*targets = NULL;
	size_t		 n;
	int		 line;

	if (jsonc_get_object(c->doc, root, NULL, "targets", &targets, c->d) <= 0)
		return;
	n = (size_t)json_object_object_length(targets);
	if (n == 0)
		return;
	if ((c->cfg->targets = calloc(n, sizeof *c->cfg->targets)) == NULL) {
		diags_add(c->d, c->file, 0, "out of memory");
		return;
	}
	json_object_object_foreach(targets, name, obj) {
		line = jsonc_key_line(c->doc, targets, name);
		if (!config_name_ok(name)) {
			diags_add(c->d, c->file, line, "targets: invalid target "
			    "name \"%s\" (use letters, digits, '_', '.', '-')",
			    name);
			continue;
		}
		if (!json_object_is_type(obj, json_type_object)) {
			diags_add(c->d, c->file, config_line(c, targets, name),
			    "targets.%s: expected an object", name);
			continue;
		}
		config_target(c, &c->cfg->targets[c->cfg->ntargets++], name,
		    targets, obj);
	}
}

struct config *
config_load(const char *path, struct diags *d)
{
	static const char *const keys[] = { "store", "runbooks", "log_level",
	    "kafka", "api", "engine", "targets", "alerts",
	    "ingest",	/* checked by the ingest module */
	    NULL };
	static const char *const levels[] = { "error", "warn", "info", "debug",
	    NULL };
	struct config		*cfg = NULL;
	struct jsonc_doc	*doc = NULL;
	struct config_ctx	 c;
	json_object		*root;
	const char		*s;
	int			 i;

	if (path == NULL) {
		diags_add(d, "deprovd", 0, "no configuration file given");
		return NULL;
	}
	if ((cfg = calloc(1, sizeof *cfg)) == NULL ||
	    (cfg->path = strdup(path)) == NULL ||
	    (cfg->dir = config_dirname(path)) == NULL) {
		diags_add(d, path, 0, "out of memory");
		goto fail;
	}
	if ((doc = jsonc_parse_file_diag(path, d)) == NULL)
		goto fail;
	root = jsonc_root(doc);
	if (!json_object_is_type(root, json_type_object)) {
		diags_add(d, path, jsonc_line(doc, root),
		    "expected a JSON object at the top level");
		goto fail;
	}
	c.doc = doc;
	c.file = path;
	c.d = d;
	c.cfg = cfg;
	jsonc_check_keys(doc, root, NULL, keys, d);

	config_store(&c, root);
	cfg->runbooks_dir = config_path(&c, root, NULL, "runbooks", "runbooks");

	cfg->log_level = LOG_LEVEL_INFO;
	s = NULL;
	if (jsonc_get_string(doc, root, NULL, "log_level", &s, d) == 1) {
		for (i = 0; levels[i] != NULL; i++) {
			if (strcmp(levels[i], s) == 0)
				break;
		}
		if (levels[i] != NULL)
			cfg->log_level = LOG_LEVEL_ERROR + i;
		else
			diags_add(d, path, config_line(&c, root, "log_level"),
			    "log_level: unknown level \"%s\" (error, warn, info, "
			    "debug)", s);
	}

	config_kafka(&c, root);
	config_api(&c, root);
	config_engine(&c, root);
	config_alerts(&c, root);
	config_targets(&c, root);
	jsonc_free(doc);
	return cfg;
fail:
	jsonc_free(doc);
	config_free(cfg);
	return NULL;
}

/* Free a string that may hold a secret, wiping it first. */
static void
config_free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static void
config_target_clear(struct config_target *t)
{
	free(t->name);
	free(t->kind);
	free(t->base_url);
	free(t->api_version);
	free(t->auth.type);
	config_free_secret(t->auth.token);
	free(t->auth.client_id);
	free(t->auth.username);
	free(t->auth.audience);
	free(t->auth.token_url);
	config_free_secret(t->auth.private_key_pem);
	config_free_secret(t->auth.client_secret);
	free(t->auth.scope);
	free(t->auth.key_id);
	free(t->auth.x5t);
	free(t->auth.certificate_pem);
	free(t->auth.client_email);
	free(t->auth.subject);
	free(t->irreversible_why);
	json_object_put(t->options);
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->dir);
	free(cfg->store_path);
	free(cfg->runbooks_dir);
	free(cfg->kafka.brokers);
	free(cfg->kafka.group_id);
	jsonc_strings_free(cfg->kafka.topics, cfg->kafka.ntopics);
	free(cfg->kafka.dlq_topic);
	free(cfg->kafka.audit_topic);
	for (i = 0; i < cfg->kafka.nprops; i++) {
		free(cfg->kafka.prop_keys[i]);
		config_free_secret(cfg->kafka.prop_vals[i]);
	}
	free(cfg->kafka.prop_keys);
	free(cfg->kafka.prop_vals);
	free(cfg->kafka.bootstrap_file);
	free(cfg->api.listen);
	free(cfg->api.tls_cert_file);
	free(cfg->api.tls_key_file);
	for (i = 0; i < cfg->api.ntokens; i++) {
		free(cfg->api.tokens[i].name);
		free(cfg->api.tokens[i].role);
		free(cfg->api.tokens[i].sha256);
	}
	free(cfg->api.tokens);
	for (i = 0; i < cfg->alerts.nwebhooks; i++) {
		free(cfg->alerts.webhooks[i].name);
		free(cfg->alerts.webhooks[i].format);
		config_free_secret(cfg->alerts.webhooks[i].url);
		config_free_secret(cfg->alerts.webhooks[i].auth_header);
	}
	free(cfg->alerts.webhooks);
	for (i = 0; i < cfg->ntargets; i++)
		config_target_clear(&cfg->targets[i]);
	free(cfg->targets);
	free(cfg);
}

const struct config_target *
config_target_find(const struct config *cfg, const char *name)
{
	size_t i;

	if (cfg == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cfg->ntargets; i++) {
		if (cfg->targets[i].name != NULL &&
		    strcmp(cfg->targets[i].name, name) == 0)
			return &cfg->targets[i];
	}
	return NULL;
}
