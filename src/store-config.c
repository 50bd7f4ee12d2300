/*
 * store's settings: the "store" section of the configuration
 * (docs/CONTRACT.md) as a table that config_read walks. Apart from
 * store.c so that what opens the database needs nothing of the
 * configuration reader.
 */
#include <stddef.h>

#include "deprov/config.h"
#include "deprov/store.h"

static const struct config_setting store_rows[] = {
	/* Into struct config itself: the store is opened from cfg->store_path. */
	{ .key = "path", .type = CONFIG_PATH,
	    CONFIG_FIELD(struct config, store_path), .sdflt = "var/deprov.db" },
	{ .key = NULL }
};

const struct config_section store_settings = { store_rows, NULL };
