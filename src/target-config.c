/*
 * target's settings: the "targets" section (docs/CONTRACT.md), one object
 * per target, each read against target_rows: its kind, URL, limits,
 * authentication (auth_config_read, src/auth-config.c) and its kind's
 * options, checked by the kind (src/connectors/) now rather than when a
 * step first runs. Apart from target.c, the runtime, so that reading the
 * settings needs nothing of HTTP.
 */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "deprov/auth.h"
#include "deprov/config.h"
#include "deprov/connector.h"
#include "deprov/jsonc.h"
#include "deprov/target.h"

/* A target's options problem, as the kind reported it: file:line. */
struct target_config_check {
	struct connector_check	 chk;		/* first */
	struct config_reader	*r;
	const char		*where;		/* "targets.<name>" */
};

static int	 target_config_kind(struct config_reader *, const char *,
		    json_object *, const struct config_setting *, void *);
static void	 target_config_kind_clear(const struct config_setting *,
		    void *);
static int	 target_config_options(struct config_reader *, const char *,
		    json_object *, const struct config_setting *, void *);
static void	 target_config_options_clear(const struct config_setting *,
		    void *);
static void	 target_config_report(struct connector_check *, json_object *,
		    const char *, const char *);
static int	 target_config_irreversible(struct config_reader *,
		    const char *, json_object *, const struct config_setting *,
		    void *);
static void	 target_config_irreversible_clear(const struct config_setting *,
		    void *);
static int	 target_config_check(struct config_reader *, const char *,
		    json_object *, void *);
static int	 target_config_limits(struct config_reader *, const char *,
		    json_object *, void *);
static void	 target_config_kind_diff(struct config_differ *, const char *,
		    const struct config_setting *, const void *, const void *,
		    int);
static void	 target_config_options_diff(struct config_differ *,
		    const char *, const struct config_setting *, const void *,
		    const void *, int);
static void	 target_config_irreversible_diff(struct config_differ *,
		    const char *, const struct config_setting *, const void *,
		    const void *, int);

#define LIMITS_FIELD(f)	CONFIG_FIELD(struct config_limits, f)

static const struct config_setting target_limits_rows[] = {
	{ .key = "rate_per_sec", .type = CONFIG_NUMBER,
	    LIMITS_FIELD(rate_per_sec), .fmin = 0, .fmax = INFINITY,
	    .fdflt = 20 },
	{ .key = "burst", .type = CONFIG_NUMBER, LIMITS_FIELD(burst),
	    .fmin = 1, .fmax = INFINITY, .fdflt = 40 },
	{ .key = "concurrency", .type = CONFIG_INT, LIMITS_FIELD(concurrency),
	    .min = 1, .max = INT_MAX, .idflt = 8 },
	{ .key = "timeout_ms", .type = CONFIG_INT, LIMITS_FIELD(timeout_ms),
	    .min = 1, .max = LONG_MAX, .idflt = 30000 },
	{ .key = "connect_timeout_ms", .type = CONFIG_INT,
	    LIMITS_FIELD(connect_timeout_ms), .min = 1, .max = LONG_MAX,
	    .idflt = 10000 },
	{ .key = "limit_backoff_ms", .type = CONFIG_INT,
	    LIMITS_FIELD(limit_backoff_ms), .min = 0, .max = LONG_MAX,
	    .idflt = 300000 },
	{ .key = "usage_slowdown", .type = CONFIG_NUMBER,
	    LIMITS_FIELD(usage_slowdown), .fmin = 0, .fmax = 1, .fdflt = 0.9 },
	{ .key = "breaker_failures", .type = CONFIG_INT,
	    LIMITS_FIELD(breaker_failures), .min = 1, .max = 1000, .idflt = 5 },
	{ .key = "breaker_open_ms", .type = CONFIG_INT,
	    LIMITS_FIELD(breaker_open_ms), .min = 1, .max = 86400000,
	    .idflt = 30000 },
	{ .key = "breaker_max_open_ms", .type = CONFIG_INT,
	    LIMITS_FIELD(breaker_max_open_ms), .min = 1, .max = 86400000,
	    .idflt = 300000 },
	{ .key = NULL }
};

static const struct config_section target_limits_settings = {
	target_limits_rows, target_config_limits
};

#define TARGET_FIELD(f)	CONFIG_FIELD(struct config_target, f)

static const struct config_setting target_rows[] = {
	/* A target's runtime is of one kind: another needs a restart. */
	{ .key = "kind", .type = CONFIG_CUSTOM, .set = target_config_kind,
	    .clear = target_config_kind_clear, .diff = target_config_kind_diff },
	{ .key = "base_url", .type = CONFIG_STRING, .flags = CONFIG_REQUIRED,
	    TARGET_FIELD(base_url), .valid = config_url_ok,
	    .expect = "an http:// or https:// URL" },
	{ .key = "api_version", .type = CONFIG_STRING, TARGET_FIELD(api_version),
	    .sdflt = "v60.0" },
	{ .key = "auth", .type = CONFIG_CUSTOM, TARGET_FIELD(auth),
	    .set = auth_config_read, .clear = auth_config_clear,
	    .diff = auth_config_diff },
	{ .key = "limits", .type = CONFIG_OBJECT, TARGET_FIELD(limits),
	    .sub = &target_limits_settings },
	/* After kind: the kind checks them. */
	{ .key = "options", .type = CONFIG_CUSTOM, .set = target_config_options,
	    .clear = target_config_options_clear,
	    .diff = target_config_options_diff },
	/* After options: absent, the kind's rule for them decides. */
	{ .key = "irreversible_delete", .type = CONFIG_CUSTOM,
	    .set = target_config_irreversible,
	    .clear = target_config_irreversible_clear,
	    .diff = target_config_irreversible_diff },
	{ .key = NULL }
};

static const struct config_section target_settings = { target_rows,
    target_config_check };

/* The kinds are the connector table's (src/connectors/connector.c). */
static int
target_config_kind(struct config_reader *r, const char *where,
    json_object *obj, const struct config_setting *s, void *conf)
{
	struct config_target	*t = conf;
	const char		*v = NULL;
	char			 kinds[256];
	int			 rc;

	if (obj == NULL)
		return 0;
	rc = jsonc_get_string(config_doc(r), obj, where, s->key, &v,
	    config_diags(r));
	if (rc == 0)
		config_error(r, config_line(r, obj, NULL), "%s: missing \"%s\"",
		    where, s->key);
	if (rc != 1)
		return -1;
	if (!config_kind_known(v)) {
		connector_kinds(kinds, sizeof kinds);
		config_error(r, config_line(r, obj, s->key), "%s: unknown kind "
		    "\"%s\" (%s)", where, v, kinds);
		return -1;
	}
	t->kind = config_dup(r, config_line(r, obj, NULL), v);
	return 0;
}

static void
target_config_kind_clear(const struct config_setting *s, void *conf)
{
	struct config_target *t = conf;

	(void)s;
	free(t->kind);
	t->kind = NULL;
}

static void
target_config_report(struct connector_check *chk, json_object *obj,
    const char *key, const char *msg)
{
	struct target_config_check *tc = (struct target_config_check *)chk;

	config_error(tc->r, config_line(tc->r, obj, key), "%s.%s", tc->where,
	    msg);
}

/* The kind's options: unknown keys, then their values, by the kind. */
static int
target_config_options(struct config_reader *r, const char *where,
    json_object *obj, const struct config_setting *s, void *conf)
{
	struct config_target		*t = conf;
	struct target_config_check	 tc;
	json_object			*options = NULL;

	if (jsonc_get_object(config_doc(r), obj, where, s->key, &options,
	    config_diags(r)) != 1)
		return 0;
	t->options = json_object_get(options);
	memset(&tc, 0, sizeof tc);
	tc.chk.report = target_config_report;
	tc.r = r;
	tc.where = where;
	connector_check_options(connector_find(t->kind), options, &tc.chk);
	return 0;
}

static void
target_config_options_clear(const struct config_setting *s, void *conf)
{
	struct config_target *t = conf;

	(void)s;
	json_object_put(t->options);
	t->options = NULL;
}

/*
 * "irreversible_delete": true, or a string saying what a delete destroys
 * ("removes tokens, keys and repositories"): runbooks must then say
 * "irreversible_ok" on the delete step.
 */
static int
target_config_irreversible(struct config_reader *r, const char *where,
    json_object *obj, const struct config_setting *s, void *conf)
{
	struct config_target	*t = conf;
	json_object		*v;
	const char		*why;
	int			 line;

	if (obj == NULL)
		return 0;
	if (!json_object_object_get_ex(obj, s->key, &v)) {
		/*
		 * The kind's rule for these options (a SCIM preset whose
		 * DELETE cannot be undone); an explicit
		 * "irreversible_delete": false still overrides.
		 */
		why = connector_irreversible(connector_find(t->kind),
		    t->options);
		if (why != NULL) {
			t->irreversible_delete = 1;
			t->irreversible_why = config_dup(r, t->line, why);
		}
		return 0;
	}
	line = config_line(r, obj, s->key);
	if (json_object_is_type(v, json_type_boolean))
		t->irreversible_delete = json_object_get_boolean(v);
	else if (json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > 0) {
		t->irreversible_delete = 1;
		t->irreversible_why = config_dup(r, line,
		    json_object_get_string(v));
	} else {
		config_error(r, line, "%s.%s: expected true, false or a string "
		    "saying what a delete destroys", where, s->key);
		return -1;
	}
	return 0;
}

static void
target_config_irreversible_clear(const struct config_setting *s, void *conf)
{
	struct config_target *t = conf;

	(void)s;
	free(t->irreversible_why);
	t->irreversible_why = NULL;
}

/* Paths are appended to base_url: no trailing slash. */
static int
target_config_check(struct config_reader *r, const char *where,
    json_object *obj, void *conf)
{
	struct config_target	*t = conf;
	size_t			 len;

	(void)r;
	(void)where;
	(void)obj;
	if (t->base_url == NULL)
		return 0;
	len = strlen(t->base_url);
	while (len > 0 && t->base_url[len - 1] == '/')
		t->base_url[--len] = '\0';
	return 0;
}

/* breaker_max_open_ms left out follows a longer breaker_open_ms. */
static int
target_config_limits(struct config_reader *r, const char *where,
    json_object *obj, void *conf)
{
	struct config_limits *l = conf;

	if (l->breaker_max_open_ms >= l->breaker_open_ms)
		return 0;
	if (obj == NULL || !json_object_object_get_ex(obj,
	    "breaker_max_open_ms", NULL)) {
		l->breaker_max_open_ms = l->breaker_open_ms;
		return 0;
	}
	config_error(r, config_line(r, obj, "breaker_max_open_ms"),
	    "%s.breaker_max_open_ms: must not be less than breaker_open_ms "
	    "(%ld < %ld)", where, l->breaker_max_open_ms, l->breaker_open_ms);
	return -1;
}

int
target_config_read(struct config_reader *r, const char *where,
    json_object *root, const struct config_setting *s, void *conf)
{
	struct config		*cfg = conf;
	struct config_target	*t;
	json_object		*targets = NULL;
	char			 tw[256];
	size_t			 n;
	int			 line;

	(void)where;
	if (jsonc_get_object(config_doc(r), root, NULL, s->key, &targets,
	    config_diags(r)) <= 0)
		return 0;
	if ((n = (size_t)json_object_object_length(targets)) == 0)
		return 0;
	if ((cfg->targets = calloc(n, sizeof *cfg->targets)) == NULL) {
		config_error(r, 0, "out of memory");
		return -1;
	}
	json_object_object_foreach(targets, name, obj) {
		line = jsonc_key_line(config_doc(r), targets, name);
		if (!config_name_ok(name)) {
			config_error(r, line, "targets: invalid target name "
			    "\"%s\" (use letters, digits, '_', '.', '-')", name);
			continue;
		}
		if (!json_object_is_type(obj, json_type_object)) {
			config_error(r, config_line(r, targets, name),
			    "targets.%s: expected an object", name);
			continue;
		}
		t = &cfg->targets[cfg->ntargets++];
		t->line = line;
		t->name = config_dup(r, line, name);
		snprintf(tw, sizeof tw, "targets.%s", name);
		config_read(r, tw, obj, &target_settings, t);
	}
	return 0;
}

void
target_config_clear(const struct config_setting *s, void *conf)
{
	struct config	*cfg = conf;
	size_t		 i;

	(void)s;
	for (i = 0; i < cfg->ntargets; i++) {
		config_clear(&target_settings, &cfg->targets[i]);
		free(cfg->targets[i].name);
	}
	free(cfg->targets);
	cfg->targets = NULL;
	cfg->ntargets = 0;
}

static void
target_config_kind_diff(struct config_differ *df, const char *where,
    const struct config_setting *s, const void *a, const void *b, int live)
{
	const struct config_target *ta = a, *tb = b;

	(void)live;
	if (!config_str_same(ta->kind, tb->kind))
		config_differ_report(df, where, s->key, 0);
}

static void
target_config_options_diff(struct config_differ *df, const char *where,
    const struct config_setting *s, const void *a, const void *b, int live)
{
	const struct config_target *ta = a, *tb = b;

	/* json_object_equal takes non-const objects; it only reads them. */
	if (!json_object_equal(ta->options, tb->options))
		config_differ_report(df, where, s->key, live);
}

static void
target_config_irreversible_diff(struct config_differ *df, const char *where,
    const struct config_setting *s, const void *a, const void *b, int live)
{
	const struct config_target *ta = a, *tb = b;

	if (ta->irreversible_delete != tb->irreversible_delete ||
	    !config_str_same(ta->irreversible_why, tb->irreversible_why))
		config_differ_report(df, where, s->key, live);
}

/*
 * Targets are matched by name: one in a only or in b only needs a restart
 * (the engine's runtimes are made at start); one in both is compared row
 * by row.
 */
void
target_config_diff(struct config_differ *df, const char *where,
    const struct config_setting *s, const void *a, const void *b, int live)
{
	const struct config	*ca = a, *cb = b;
	const struct config_target *ta, *tb;
	char			 tw[256];
	size_t			 i;

	(void)where;
	for (i = 0; i < ca->ntargets; i++) {
		ta = &ca->targets[i];
		if ((tb = config_target_find(cb, ta->name)) == NULL) {
			snprintf(tw, sizeof tw, "%s.%s removed", s->key,
			    ta->name);
			config_differ_report(df, tw, NULL, 0);
			continue;
		}
		snprintf(tw, sizeof tw, "%s.%s", s->key, ta->name);
		config_diff_section(df, tw, &target_settings, ta, tb, live);
	}
	for (i = 0; i < cb->ntargets; i++) {
		tb = &cb->targets[i];
		if (config_target_find(ca, tb->name) != NULL)
			continue;
		snprintf(tw, sizeof tw, "%s.%s added", s->key, tb->name);
		config_differ_report(df, tw, NULL, 0);
	}
}
