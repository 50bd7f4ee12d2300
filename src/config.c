/*
 * config: loads the daemon's configuration file (JSON with comments, see
 * docs/CONTRACT.md) by walking it against settings tables. Each module
 * declares the settings of its own section (kafka_settings in
 * src/kafka-config.c, api_settings in src/api.c, ...; see "Adding a
 * setting" in docs/ARCHITECTURE.md); this file holds the one reader of such
 * tables, the top-level table, relative paths and secrets from the
 * environment or files. Every problem becomes a file:line diagnostic and
 * loading carries on, so that `deprovd --check` reports all of them at
 * once. Secret values never appear in a diagnostic; only the names of the
 * variables and files they come from do.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "deprov/api.h"
#include "deprov/config.h"
#include "deprov/connector.h"
#include "deprov/diag.h"
#include "deprov/engine.h"
#include "deprov/jsonc.h"
#include "deprov/kafka.h"
#include "deprov/log.h"
#include "deprov/sla.h"
#include "deprov/store.h"
#include "deprov/target.h"

#define CONFIG_SECRET_MAX	(64 * 1024)
#define CONFIG_PATH_MAX		256	/* a "where" in messages */

/* What the readers share while one file is loaded. */
struct config_reader {
	const struct jsonc_doc	*doc;
	const char		*file;
	struct diags		*d;
	struct config		*cfg;
};

static char	*config_dirname(const char *);
static char	*config_join(const char *, const char *);
static char	*config_expand(const char *, const char *, char *, size_t);
static char	*config_read_secret(const char *, char *, size_t);
static char	*config_secret_at(json_object *, const char *, const char *,
		    const struct jsonc_doc *, const char *, int, struct diags *);
static char	*config_secret_resolve(json_object *, const char *, const char *,
		    const struct jsonc_doc *, const char *, int, struct diags *);
static int	 config_forms(const struct config_setting *);
static const char **config_keys(const struct config_section *);
static void	 config_where(char *, size_t, const char *, const char *);
static void	 config_default(struct config_reader *,
		    const struct config_setting *, void *, int);
static void	 config_setting(struct config_reader *, const char *,
		    json_object *, const struct config_setting *, void *);
static void	 config_missing(struct config_reader *, const char *,
		    json_object *, const struct config_setting *);
static void	 config_put_int(const struct config_setting *, void *,
		    long long);
static int	 config_names(struct config_reader *, const char *,
		    json_object *, const struct config_setting *, const char *);
static void	 config_string(struct config_reader *, const char *,
		    json_object *, const struct config_setting *, void *);
static void	 config_path(struct config_reader *, const char *,
		    json_object *, const struct config_setting *, void *);
static void	 config_list(struct config_reader *, const char *,
		    json_object *, const struct config_setting *, void *);
static int	 config_unique(struct config_reader *, const char *,
		    json_object *, const struct config_section *, const char *,
		    size_t, size_t);
static void	 config_other(struct config_reader *, json_object *,
		    const struct config_setting *, void *);
static int	 config_value_same(const struct config_setting *, const void *,
		    const void *);
static int	 config_section_same(const struct config_section *,
		    const void *, const void *);

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

/*
 * The variables a file's path may begin with, as "${NAME}/file": a
 * directory a service manager hands the process at start. systemd's
 * LoadCredential= copies secrets readable only by root into a private
 * directory of the service and names it in CREDENTIALS_DIRECTORY, whose
 * path differs between systemd versions and instances: a configuration
 * says "${CREDENTIALS_DIRECTORY}/sf.pem" and works under any of them.
 * Nothing else is expanded: a "$" anywhere else is part of the name.
 */
static const struct config_pathvar {
	const char	*name;
	const char	*unset;		/* what to do when it is not set */
} config_pathvars[] = {
	{ "CREDENTIALS_DIRECTORY", "systemd sets it for a unit with "
	    "LoadCredential=; outside the service, set it to a directory "
	    "holding the same files" },
	{ NULL, NULL },
};

/*
 * A file path as written in the configuration: "${NAME}/rest" with NAME
 * from config_pathvars, else as config_join. NULL with why when the
 * variable is unknown, unset or empty, or when out of memory.
 */
static char *
config_expand(const char *dir, const char *path, char *why, size_t whylen)
{
	const struct config_pathvar	*v;
	const char			*end, *val;
	char				*s = NULL;
	size_t				 n;

	if (strncmp(path, "${", 2) != 0) {
		if ((s = config_join(dir, path)) == NULL)
			snprintf(why, whylen, "out of memory");
		return s;
	}
	if ((end = strchr(path, '}')) == NULL) {
		snprintf(why, whylen, "\"${\" without \"}\"");
		return NULL;
	}
	n = (size_t)(end - path - 2);
	for (v = config_pathvars; v->name != NULL; v++) {
		if (strlen(v->name) == n && strncmp(v->name, path + 2, n) == 0)
			break;
	}
	if (v->name == NULL) {
		snprintf(why, whylen, "only ${CREDENTIALS_DIRECTORY} may begin "
		    "a path, not ${%.*s}", (int)n, path + 2);
		return NULL;
	}
	if ((val = getenv(v->name)) == NULL || *val == '\0') {
		snprintf(why, whylen, "%s is not set (%s)", v->name, v->unset);
		return NULL;
	}
	if (asprintf(&s, "%s%s", val, end + 1) < 0) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	return s;
}

char *
config_dup(struct config_reader *r, int line, const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL)
		diags_add(r->d, r->file, line, "out of memory");
	return p;
}

int
config_line(struct config_reader *r, json_object *obj, const char *key)
{
	if (key == NULL)
		return jsonc_line(r->doc, obj);
	return jsonc_member_line(r->doc, obj, key);
}

void
config_error(struct config_reader *r, int line, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	diags_add(r->d, r->file, line, "%s", msg);
}

size_t
config_errors(const struct config_reader *r)
{
	return diags_count(r->d);
}

const struct jsonc_doc *
config_doc(const struct config_reader *r)
{
	return r->doc;
}

struct diags *
config_diags(const struct config_reader *r)
{
	return r->d;
}

const struct config *
config_current(const struct config_reader *r)
{
	return r->cfg;
}

char *
config_secret_member(struct config_reader *r, json_object *obj,
    const char *where, const char *key)
{
	return config_secret_at(obj, key, where, r->doc, r->file,
	    jsonc_line(r->doc, obj), r->d);
}

/* 1 when obj holds key, key_env or key_file. */
int
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

int
config_url_ok(const char *s)
{
	return (strncmp(s, "http://", 7) == 0 && s[7] != '\0' && s[7] != '/') ||
	    (strncmp(s, "https://", 8) == 0 && s[8] != '\0' && s[8] != '/');
}

int
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

void
config_free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
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
	if ((dir = config_dirname(file)) == NULL) {
		diags_add(d, file, l, "out of memory");
		goto done;
	}
	if ((path = config_expand(dir, json_object_get_string(vfile), why,
	    sizeof why)) == NULL) {
		diags_add(d, file, l, "%s%s: %s", pre, kfile, why);
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

/* 1 when the row is also accepted as key_env and key_file. */
static int
config_forms(const struct config_setting *s)
{
	return s->type == CONFIG_SECRET || (s->flags & CONFIG_FORMS);
}

/*
 * The keys a section accepts, for jsonc_check_keys: each row's key, and a
 * secret's key_env and key_file too. One allocation; NULL when out of
 * memory.
 */
static const char **
config_keys(const struct config_section *sec)
{
	const struct config_setting	*s;
	const char			**keys;
	size_t				 n = 0, len = 0, i = 0;
	char				*p;

	for (s = sec->settings; s->key != NULL; s++) {
		n += config_forms(s) ? 3 : 1;
		if (config_forms(s))
			len += 2 * (strlen(s->key) + sizeof "_file");
	}
	if ((keys = malloc((n + 1) * sizeof *keys + len)) == NULL)
		return NULL;
	p = (char *)(keys + n + 1);
	for (s = sec->settings; s->key != NULL; s++) {
		keys[i++] = s->key;
		if (!config_forms(s))
			continue;
		keys[i++] = p;
		p += sprintf(p, "%s_env", s->key) + 1;
		keys[i++] = p;
		p += sprintf(p, "%s_file", s->key) + 1;
	}
	keys[i] = NULL;
	return keys;
}

/* "where.key", or "key" at the top level. */
static void
config_where(char *buf, size_t len, const char *where, const char *key)
{
	if (where == NULL || *where == '\0')
		snprintf(buf, len, "%s", key);
	else
		snprintf(buf, len, "%s.%s", where, key);
}

/*
 * An INT or ENUM value into its field, as wide as the field is: int, or
 * long and size_t (one width here; the bounds keep a size_t's value from
 * being negative).
 */
_Static_assert(sizeof(long) == sizeof(size_t), "long and size_t differ");

static void
config_put_int(const struct config_setting *s, void *conf, long long v)
{
	char	*f = (char *)conf + s->off;
	int	 i;
	long	 l;

	if (s->size == sizeof(int)) {
		i = (int)v;
		memcpy(f, &i, sizeof i);
	} else {
		l = (long)v;
		memcpy(f, &l, sizeof l);
	}
}

/*
 * A row's default into conf. Plain values are set before the key is read
 * (a bad value leaves the default, so that checks across settings compare
 * with something sensible); allocated ones only when the key is absent.
 */
static void
config_default(struct config_reader *r, const struct config_setting *s,
    void *conf, int absent)
{
	char	*f = (char *)conf + s->off;
	char	**v;

	switch (s->type) {
	case CONFIG_INT:
	case CONFIG_ENUM:
		config_put_int(s, conf, s->idflt);
		break;
	case CONFIG_NUMBER:
		memcpy(f, &s->fdflt, sizeof s->fdflt);
		break;
	case CONFIG_STRING:
		if (absent && s->sdflt != NULL)
			*(char **)f = config_dup(r, 0, s->sdflt);
		break;
	case CONFIG_PATH:
		if (absent && s->sdflt != NULL &&
		    (*(char **)f = config_join(r->cfg->dir, s->sdflt)) == NULL)
			diags_add(r->d, r->file, 0, "out of memory");
		break;
	case CONFIG_STRINGS:
		if (!absent || s->sdflt == NULL)
			break;
		if ((v = calloc(2, sizeof *v)) == NULL ||
		    (v[0] = strdup(s->sdflt)) == NULL) {
			free(v);
			diags_add(r->d, r->file, 0, "out of memory");
			break;
		}
		*(char ***)f = v;
		*(size_t *)(void *)((char *)conf + s->count) = 1;
		break;
	default:
		break;
	}
}

/* "where: missing ..." at obj's line. */
static void
config_missing(struct config_reader *r, const char *where, json_object *obj,
    const struct config_setting *s)
{
	char	what[256];
	int	line = jsonc_line(r->doc, obj);

	if (s->missing != NULL)
		snprintf(what, sizeof what, "%s", s->missing);
	else if (s->type == CONFIG_SECRET)
		snprintf(what, sizeof what, "\"%s\" (or \"%s_env\", "
		    "\"%s_file\")", s->key, s->key, s->key);
	else
		snprintf(what, sizeof what, "\"%s\"", s->key);
	if (where == NULL || *where == '\0')
		diags_add(r->d, r->file, line, "missing %s", what);
	else
		diags_add(r->d, r->file, line, "%s: missing %s", where, what);
}

/* The index of v in s->names, or -1 after "where.key: unknown <what>". */
static int
config_names(struct config_reader *r, const char *where, json_object *obj,
    const struct config_setting *s, const char *v)
{
	char	path[CONFIG_PATH_MAX], list[256];
	size_t	off = 0;
	int	i, n;

	for (i = 0; s->names[i] != NULL; i++) {
		if (strcmp(s->names[i], v) == 0)
			return i;
	}
	list[0] = '\0';
	for (i = 0; s->names[i] != NULL && off < sizeof list; i++) {
		n = snprintf(list + off, sizeof list - off, "%s%s",
		    i > 0 ? ", " : "", s->names[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	config_where(path, sizeof path, where, s->key);
	diags_add(r->d, r->file, config_line(r, obj, s->key),
	    "%s: unknown %s \"%s\" (%s)", path, s->what, v, list);
	return -1;
}

static void
config_string(struct config_reader *r, const char *where, json_object *obj,
    const struct config_setting *s, void *conf)
{
	char		 path[CONFIG_PATH_MAX];
	const char	*v = NULL;
	json_object	*val = NULL;

	json_object_object_get_ex(obj, s->key, &val);
	if (val == NULL && (s->flags & CONFIG_NULLABLE))
		return;
	if (jsonc_get_string(r->doc, obj, where, s->key, &v, r->d) != 1)
		return;
	if (s->names != NULL && config_names(r, where, obj, s, v) < 0)
		return;
	if (s->valid != NULL && !s->valid(v)) {
		config_where(path, sizeof path, where, s->key);
		diags_add(r->d, r->file, config_line(r, obj, s->key),
		    "%s: expected %s", path, s->expect);
		return;
	}
	*(char **)(void *)((char *)conf + s->off) = config_dup(r,
	    config_line(r, obj, s->key), v);
}

/* A path member resolved against the file's directory. */
static void
config_path(struct config_reader *r, const char *where, json_object *obj,
    const struct config_setting *s, void *conf)
{
	char		 path[CONFIG_PATH_MAX], why[256], *p;
	const char	*v = NULL;
	int		 line = config_line(r, obj, s->key);

	if (jsonc_get_string(r->doc, obj, where, s->key, &v, r->d) != 1)
		return;
	if ((p = config_expand(r->cfg->dir, v, why, sizeof why)) == NULL) {
		config_where(path, sizeof path, where, s->key);
		diags_add(r->d, r->file, line, "%s: %s", path, why);
		return;
	}
	if ((s->flags & CONFIG_READABLE) && access(p, R_OK) != 0) {
		snprintf(why, sizeof why, "%s", strerror(errno));
		config_where(path, sizeof path, where, s->key);
		diags_add(r->d, r->file, line, "%s: cannot read \"%s\": %s",
		    path, p, why);
	}
	*(char **)(void *)((char *)conf + s->off) = p;
}

/*
 * A UNIQUE string of the element just read (at base[n]) against those
 * before it: -1 after "where: duplicate <what> \"v\"".
 */
static int
config_unique(struct config_reader *r, const char *where, json_object *el,
    const struct config_section *sec, const char *base, size_t n, size_t size)
{
	const struct config_setting	*s;
	const char			*v, *w;
	size_t				 i;

	for (s = sec->settings; s->key != NULL; s++) {
		if (!(s->flags & CONFIG_UNIQUE) ||
		    (v = *(char *const *)(const void *)(base + n * size +
		    s->off)) == NULL)
			continue;
		for (i = 0; i < n; i++) {
			w = *(char *const *)(const void *)(base + i * size +
			    s->off);
			if (w != NULL && strcmp(v, w) == 0) {
				diags_add(r->d, r->file, config_line(r, el,
				    s->key), "%s: duplicate %s \"%s\"", where,
				    s->what, v);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * An array of objects, each read with s->sub into the next element; an
 * element with a problem is dropped (and its problem reported), so that
 * the others are still checked.
 */
static void
config_list(struct config_reader *r, const char *where, json_object *obj,
    const struct config_setting *s, void *conf)
{
	char		 path[CONFIG_PATH_MAX], ew[CONFIG_PATH_MAX + 32];
	json_object	*arr = NULL, *el;
	char		*base, *elem;
	size_t		*count, n, i;
	int		 line, rc;

	if (jsonc_get_array(r->doc, obj, where, s->key, &arr, r->d) != 1)
		return;
	config_where(path, sizeof path, where, s->key);
	if ((n = json_object_array_length(arr)) == 0) {
		if (s->flags & CONFIG_NOTEMPTY)
			diags_add(r->d, r->file, config_line(r, obj, s->key),
			    "%s: must not be empty", path);
		return;
	}
	if ((base = calloc(n, s->size)) == NULL) {
		diags_add(r->d, r->file, config_line(r, obj, s->key),
		    "out of memory");
		return;
	}
	*(char **)(void *)((char *)conf + s->off) = base;
	count = (size_t *)(void *)((char *)conf + s->count);
	for (i = 0; i < n; i++) {
		el = json_object_array_get_idx(arr, i);
		snprintf(ew, sizeof ew, "%s[%zu]", path, i);
		if ((line = jsonc_line(r->doc, el)) == 0)
			line = config_line(r, obj, s->key);
		if (!json_object_is_type(el, json_type_object)) {
			diags_add(r->d, r->file, line, "%s: expected an object",
			    ew);
			continue;
		}
		elem = base + *count * s->size;
		rc = config_read(r, ew, el, s->sub, elem);
		if (config_unique(r, ew, el, s->sub, base, *count, s->size) < 0)
			rc = -1;
		if (rc < 0) {
			config_clear(s->sub, elem);
			memset(elem, 0, s->size);
			continue;
		}
		(*count)++;
	}
}

/* An OTHER row with a field: the member's JSON text, or NULL when absent. */
static void
config_other(struct config_reader *r, json_object *obj,
    const struct config_setting *s, void *conf)
{
	json_object	*val = NULL;

	if (s->size == 0 || obj == NULL ||
	    !json_object_object_get_ex(obj, s->key, &val))
		return;
	*(char **)(void *)((char *)conf + s->off) = config_dup(r,
	    config_line(r, obj, s->key), json_object_to_json_string_ext(val,
	    JSON_C_TO_STRING_PLAIN));
}

/* One row whose key is present in obj. */
static void
config_setting(struct config_reader *r, const char *where, json_object *obj,
    const struct config_setting *s, void *conf)
{
	char		 path[CONFIG_PATH_MAX];
	char		*f = (char *)conf + s->off;
	const char	*v;
	json_object	*sub = NULL;
	long long	 ll;
	size_t		*count;
	int		 i;

	switch (s->type) {
	case CONFIG_STRING:
		config_string(r, where, obj, s, conf);
		break;
	case CONFIG_INT:
		if (jsonc_get_int(r->doc, obj, where, s->key, s->min, s->max, &ll,
		    r->d) == 1)
			config_put_int(s, conf, ll);
		break;
	case CONFIG_NUMBER:
		jsonc_get_double(r->doc, obj, where, s->key, s->fmin, s->fmax,
		    (double *)(void *)f, r->d);
		break;
	case CONFIG_ENUM:
		v = NULL;
		if (jsonc_get_string(r->doc, obj, where, s->key, &v, r->d) == 1 &&
		    (i = config_names(r, where, obj, s, v)) >= 0)
			config_put_int(s, conf, s->min + i);
		break;
	case CONFIG_SECRET:
		*(char **)(void *)f = config_secret_member(r, obj, where, s->key);
		break;
	case CONFIG_PATH:
		config_path(r, where, obj, s, conf);
		break;
	case CONFIG_STRINGS:
		count = (size_t *)(void *)((char *)conf + s->count);
		if (jsonc_get_strings(r->doc, obj, where, s->key,
		    (char ***)(void *)f, count, r->d) == 1 && *count == 0 &&
		    (s->flags & CONFIG_NOTEMPTY)) {
			config_where(path, sizeof path, where, s->key);
			diags_add(r->d, r->file, config_line(r, obj, s->key),
			    "%s: must not be empty", path);
		}
		break;
	case CONFIG_OBJECT:
		config_where(path, sizeof path, where, s->key);
		if (jsonc_get_object(r->doc, obj, where, s->key, &sub, r->d) != 1)
			sub = NULL;
		config_read(r, path, sub, s->sub, f);
		break;
	case CONFIG_LIST:
		config_list(r, where, obj, s, conf);
		break;
	default:
		break;
	}
}

int
config_read(struct config_reader *r, const char *where, json_object *obj,
    const struct config_section *sec, void *conf)
{
	const struct config_setting	*s;
	const char			**keys;
	char				 path[CONFIG_PATH_MAX];
	size_t				 before = diags_count(r->d);
	int				 present, rc = 0;

	if (obj != NULL && !json_object_is_type(obj, json_type_object))
		obj = NULL;
	if (obj != NULL) {
		if ((keys = config_keys(sec)) == NULL)
			diags_add(r->d, r->file, 0, "out of memory");
		else
			jsonc_check_keys(r->doc, obj, where, keys, r->d);
		free(keys);
	}
	for (s = sec->settings; s->key != NULL; s++) {
		if (s->type == CONFIG_CUSTOM) {
			if (s->set(r, where, obj, s, conf) < 0)
				rc = -1;
			continue;
		}
		if (s->type == CONFIG_OTHER) {
			config_other(r, obj, s, conf);
			continue;
		}
		if (s->flags & CONFIG_BYCHECK)
			continue;
		config_default(r, s, conf, 0);
		if (obj == NULL)
			present = 0;
		else if (s->type == CONFIG_SECRET)
			present = config_has_secret(obj, s->key);
		else
			present = json_object_object_get_ex(obj, s->key, NULL);
		if (present) {
			config_setting(r, where, obj, s, conf);
			continue;
		}
		if (obj != NULL && (s->flags & CONFIG_REQUIRED))
			config_missing(r, where, obj, s);
		config_default(r, s, conf, 1);
		if (s->type == CONFIG_OBJECT) {
			/* Its defaults and its check. */
			config_where(path, sizeof path, where, s->key);
			config_read(r, path, NULL, s->sub,
			    (char *)conf + s->off);
		}
	}
	if (sec->check != NULL && sec->check(r, where, obj, conf) < 0)
		rc = -1;
	if (diags_count(r->d) > before)
		rc = -1;
	return rc;
}

void
config_clear(const struct config_section *sec, void *conf)
{
	const struct config_setting	*s;
	char				*f, *base;
	size_t				*count, i;

	for (s = sec->settings; s->key != NULL; s++) {
		f = (char *)conf + s->off;
		switch (s->type) {
		case CONFIG_OTHER:
			if (s->size == 0)
				break;
			/* FALLTHROUGH */
		case CONFIG_STRING:
		case CONFIG_PATH:
			free(*(char **)(void *)f);
			*(char **)(void *)f = NULL;
			break;
		case CONFIG_SECRET:
			config_free_secret(*(char **)(void *)f);
			*(char **)(void *)f = NULL;
			break;
		case CONFIG_STRINGS:
			count = (size_t *)(void *)((char *)conf + s->count);
			jsonc_strings_free(*(char ***)(void *)f, *count);
			*(char ***)(void *)f = NULL;
			*count = 0;
			break;
		case CONFIG_OBJECT:
			config_clear(s->sub, f);
			break;
		case CONFIG_LIST:
			count = (size_t *)(void *)((char *)conf + s->count);
			base = *(char **)(void *)f;
			for (i = 0; base != NULL && i < *count; i++)
				config_clear(s->sub, base + i * s->size);
			free(base);
			*(char **)(void *)f = NULL;
			*count = 0;
			break;
		case CONFIG_CUSTOM:
			if (s->clear != NULL)
				s->clear(s, conf);
			break;
		default:
			break;
		}
	}
}

/* The top-level keys, in the order they are read: store before kafka. */
static const char *const config_levels[] = { "error", "warn", "info",
    "debug", NULL };

static const struct config_setting config_top_settings[] = {
	{ .key = "store", .type = CONFIG_OBJECT, .off = 0,
	    .sub = &store_settings },
	{ .key = "runbooks", .type = CONFIG_PATH, .flags = CONFIG_LIVE,
	    CONFIG_FIELD(struct config, runbooks_dir), .sdflt = "runbooks" },
	{ .key = "log_level", .type = CONFIG_ENUM, .flags = CONFIG_LIVE,
	    CONFIG_FIELD(struct config, log_level), .names = config_levels,
	    .what = "level", .min = LOG_LEVEL_ERROR, .idflt = LOG_LEVEL_INFO },
	{ .key = "kafka", .type = CONFIG_OBJECT, .flags = CONFIG_REQUIRED,
	    CONFIG_FIELD(struct config, kafka), .sub = &kafka_settings },
	{ .key = "api", .type = CONFIG_OBJECT,
	    CONFIG_FIELD(struct config, api), .sub = &api_settings },
	{ .key = "engine", .type = CONFIG_OBJECT,
	    CONFIG_FIELD(struct config, engine), .sub = &engine_settings },
	{ .key = "alerts", .type = CONFIG_OBJECT, .flags = CONFIG_LIVE,
	    CONFIG_FIELD(struct config, alerts), .sub = &sla_settings },
	{ .key = "targets", .type = CONFIG_CUSTOM, .flags = CONFIG_LIVE,
	    .set = target_config_read, .clear = target_config_clear,
	    .diff = target_config_diff },
	/* src/ingest.c reads it; its text tells a reload that it changed. */
	{ .key = "ingest", .type = CONFIG_OTHER,
	    CONFIG_FIELD(struct config, ingest_json) },
	{ .key = NULL }
};

static const struct config_section config_top = { config_top_settings, NULL };

struct config *
config_load(const char *path, struct diags *d)
{
	struct config		*cfg = NULL;
	struct jsonc_doc	*doc = NULL;
	struct config_reader	 r;
	json_object		*root;

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
	cfg->refs = 1;
	if ((doc = jsonc_parse_file_diag(path, d)) == NULL)
		goto fail;
	root = jsonc_root(doc);
	if (!json_object_is_type(root, json_type_object)) {
		diags_add(d, path, jsonc_line(doc, root),
		    "expected a JSON object at the top level");
		goto fail;
	}
	r.doc = doc;
	r.file = path;
	r.d = d;
	r.cfg = cfg;
	config_read(&r, NULL, root, &config_top, cfg);
	jsonc_free(doc);
	return cfg;
fail:
	jsonc_free(doc);
	config_free(cfg);
	return NULL;
}

const struct config *
config_ref(const struct config *cfg)
{
	/* The count is the holders', not the configuration's value. */
	if (cfg != NULL && cfg->refs > 0)
		((struct config *)(uintptr_t)cfg)->refs++;
	return cfg;
}

void
config_free(const struct config *ccfg)
{
	struct config *cfg = (struct config *)(uintptr_t)ccfg;

	/* refs 0: made by hand, not by config_load; its maker frees it. */
	if (cfg == NULL || cfg->refs == 0 || --cfg->refs > 0)
		return;
	config_clear(&config_top, cfg);
	free(cfg->path);
	free(cfg->dir);
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

/*
 * What a reload would change (config_diff): the same tables walked over two
 * configurations. A LIST is reported as a whole ("api.tokens"); an OBJECT
 * row by row under it; a CUSTOM row by its diff hook.
 */
struct config_differ {
	config_change_cb	 cb;
	void			*arg;
	size_t			 n;
};

int
config_str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* 1 when row s holds the same value in the sections a and b. */
static int
config_value_same(const struct config_setting *s, const void *a,
    const void *b)
{
	const char	*fa = (const char *)a + s->off, *fb = (const char *)b + s->off;
	const char	*ba, *bb;
	char *const	*va, *const *vb;
	size_t		 na, nb, i;

	switch (s->type) {
	case CONFIG_STRING:
	case CONFIG_PATH:
	case CONFIG_SECRET:
		return config_str_same(*(char *const *)(const void *)fa,
		    *(char *const *)(const void *)fb);
	case CONFIG_OTHER:
		return s->size == 0 || config_str_same(
		    *(char *const *)(const void *)fa,
		    *(char *const *)(const void *)fb);
	case CONFIG_INT:
	case CONFIG_ENUM:
		return memcmp(fa, fb, s->size) == 0;
	case CONFIG_NUMBER:
		return *(const double *)(const void *)fa ==
		    *(const double *)(const void *)fb;
	case CONFIG_STRINGS:
	case CONFIG_LIST:
		na = *(const size_t *)(const void *)((const char *)a + s->count);
		nb = *(const size_t *)(const void *)((const char *)b + s->count);
		if (na != nb)
			return 0;
		if (s->type == CONFIG_STRINGS) {
			va = *(char **const *)(const void *)fa;
			vb = *(char **const *)(const void *)fb;
			for (i = 0; i < na; i++)
				if (!config_str_same(va[i], vb[i]))
					return 0;
			return 1;
		}
		ba = *(const char *const *)(const void *)fa;
		bb = *(const char *const *)(const void *)fb;
		for (i = 0; i < na; i++)
			if (!config_section_same(s->sub, ba + i * s->size,
			    bb + i * s->size))
				return 0;
		return 1;
	case CONFIG_OBJECT:
		return config_section_same(s->sub, fa, fb);
	case CONFIG_CUSTOM:
		break;
	}
	return 1;
}

/* Counts what a diff hook reports, to tell whether a CUSTOM row differs. */
static void
config_count_cb(const char *what, int live, void *arg)
{
	(void)what;
	(void)live;
	(*(size_t *)arg)++;
}

static int
config_section_same(const struct config_section *sec, const void *a,
    const void *b)
{
	struct config_differ	 df = { config_count_cb, NULL, 0 };
	size_t			 n = 0;

	df.arg = &n;
	config_diff_section(&df, "", sec, a, b, 0);
	return n == 0;
}

void
config_differ_report(struct config_differ *df, const char *where,
    const char *key, int live)
{
	char path[CONFIG_PATH_MAX];

	if (key == NULL)
		snprintf(path, sizeof path, "%s", where != NULL ? where : "");
	else
		config_where(path, sizeof path, where, key);
	df->n++;
	df->cb(path, live, df->arg);
}

void
config_diff_section(struct config_differ *df, const char *where,
    const struct config_section *sec, const void *a, const void *b, int live)
{
	const struct config_setting	*s;
	char				 path[CONFIG_PATH_MAX];
	int				 l;

	for (s = sec->settings; s->key != NULL; s++) {
		l = live || (s->flags & CONFIG_LIVE);
		if (s->type == CONFIG_CUSTOM) {
			if (s->diff != NULL)
				s->diff(df, where, s, a, b, l);
		} else if (s->type == CONFIG_OBJECT) {
			config_where(path, sizeof path, where, s->key);
			config_diff_section(df, path, s->sub,
			    (const char *)a + s->off, (const char *)b + s->off,
			    l);
		} else if (!config_value_same(s, a, b))
			config_differ_report(df, where, s->key, l);
	}
}

size_t
config_diff(const struct config *a, const struct config *b,
    config_change_cb cb, void *arg)
{
	struct config_differ df = { cb, arg, 0 };

	config_diff_section(&df, NULL, &config_top, a, b, 0);
	return df.n;
}
