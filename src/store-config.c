/*
 * store's settings: the "store" section of the configuration
 * (docs/CONTRACT.md) as a table that config_read walks. Apart from
 * store.c so that what opens the database needs nothing of the
 * configuration reader.
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
	/*
	 * Automatic failover (docs/CLUSTER.md): the writer holds the store
	 * by a lease it renews; a standby takes over once it runs out. The
	 * instance names the holder; by default host and local copy.
	 */
	{ .key = "instance", .type = CONFIG_STRING,
	    CONFIG_FIELD(struct config, store_instance) },
	{ .key = "lease_ms", .type = CONFIG_INT,
	    CONFIG_FIELD(struct config, store_lease_ms), .min = 1000,
	    .max = 600000, .idflt = 10000 },
	{ .key = NULL }
};

const struct config_section store_settings = { store_rows,
    store_config_check };

/* The URL goes with the postgres backend, and only with it. */
static int
store_config_check(struct config_reader *r, const char *where,
    json_object *obj, void *conf)
{
	static const char *const pg_only[] = { "instance", "lease_ms" };
	struct config	*cfg = conf;
	char		 host[HOST_NAME_MAX + 1];
	size_t		 i;
	int		 has = obj != NULL && config_has_secret(obj, "url");

	if (cfg->store_backend == STORE_BACKEND_POSTGRES) {
		if (!has) {
			config_error(r, config_line(r, obj, "backend"), "%s: the "
			    "postgres backend needs \"url\" (or url_env, "
			    "url_file)", where);
			return -1;
		}
		/* Unique among the store's deprovd: the host and local copy. */
		if (cfg->store_instance == NULL) {
			if (gethostname(host, sizeof host) != 0)
				snprintf(host, sizeof host, "localhost");
			host[sizeof host - 1] = '\0';
			if (asprintf(&cfg->store_instance, "%s:%s", host,
			    cfg->store_path) < 0) {
				cfg->store_instance = NULL;
				config_error(r, 0, "%s: out of memory", where);
				return -1;
			}
		}
		cfg->store_url = config_secret_member(r, obj, where, "url");
		return cfg->store_url != NULL ? 0 : -1;
	}
	if (has) {
		config_error(r, config_line(r, obj, "url"), "%s: \"url\" is "
		    "for the postgres backend", where);
		return -1;
	}
	for (i = 0; i < sizeof pg_only / sizeof pg_only[0]; i++)
		if (obj != NULL && json_object_object_get_ex(obj, pg_only[i],
		    NULL)) {
			config_error(r, config_line(r, obj, pg_only[i]), "%s: "
			    "\"%s\" is for the postgres backend", where,
			    pg_only[i]);
			return -1;
		}
	return 0;
}
