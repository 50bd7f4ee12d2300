/*
 * store's settings: the "store" section of the configuration
 * (docs/CONTRACT.md) as a table that config_read walks. Apart from
 * store.c so that what opens the database needs nothing of the
 * configuration reader.
 */
#include <stddef.h>

#include <json-c/json.h>

#include "deprov/config.h"
#include "deprov/store.h"

static const char *const store_backends[] = { "sqlite", "postgres", NULL };

static int	store_config_check(struct config_reader *, const char *,
		    json_object *, void *);

static const struct config_setting store_rows[] = {
	/*
	 * Into struct config itself: the store is opened from cfg->store_path
	 * (with postgres too: the local working copy, docs/CLUSTER.md).
	 */
	{ .key = "path", .type = CONFIG_PATH,
	    CONFIG_FIELD(struct config, store_path), .sdflt = "var/deprov.db" },
	{ .key = "backend", .type = CONFIG_ENUM,
	    CONFIG_FIELD(struct config, store_backend), .names = store_backends,
	    .what = "store backend", .min = STORE_BACKEND_SQLITE,
	    .idflt = STORE_BACKEND_SQLITE },
	/* A libpq URL may hold a password: a secret, also url_env, url_file. */
	{ .key = "url", .type = CONFIG_SECRET, .flags = CONFIG_BYCHECK,
	    CONFIG_FIELD(struct config, store_url) },
	{ .key = NULL }
};

const struct config_section store_settings = { store_rows,
    store_config_check };

/* The URL goes with the postgres backend, and only with it. */
static int
store_config_check(struct config_reader *r, const char *where,
    json_object *obj, void *conf)
{
	struct config	*cfg = conf;
	int		 has = obj != NULL && config_has_secret(obj, "url");

	if (cfg->store_backend == STORE_BACKEND_POSTGRES) {
		if (!has) {
			config_error(r, config_line(r, obj, "backend"), "%s: the "
			    "postgres backend needs \"url\" (or url_env, "
			    "url_file)", where);
			return -1;
		}
		cfg->store_url = config_secret_member(r, obj, where, "url");
		return cfg->store_url != NULL ? 0 : -1;
	}
	if (has) {
		config_error(r, config_line(r, obj, "url"), "%s: \"url\" is "
		    "for the postgres backend", where);
		return -1;
	}
	return 0;
}
