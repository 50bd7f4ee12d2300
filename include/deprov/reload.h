/*
 * reload: reading the configuration, the one way it is read (at start,
 * for --check and `deprovctl check`, and again for a reload), and applying
 * a new one to the running daemon without a restart (SIGHUP, POST
 * /v1/reload). A reload reads and checks everything first; only a
 * configuration without problems is swapped in, between two loop turns:
 * runbooks, targets' limits and credentials, API tokens, alerts and the log
 * level. Settings that only a restart changes are reported, not applied.
 * Steps already running keep the configuration they started under alive
 * (references) and finish with it.
 */
#ifndef DEPROV_RELOAD_H
#define DEPROV_RELOAD_H

#include <stddef.h>

#include <json-c/json.h>

#include "deprov/diag.h"

struct api;
struct audit;
struct config;
struct engine;
struct ingest;
struct metrics;
struct runbook_set;
struct sla;

/* One reading of the configuration file and of what it names. */
struct reload_conf {
	struct config		*cfg;
	struct runbook_set	*runbooks;
	struct ingest		*ingest;	/* its section, not attached to an engine */
};

/*
 * Read path: the configuration, its runbooks and its ingest section, with
 * every problem a file:line diagnostic in d. Returns the number of
 * problems (0: rc is usable; warnings may be in d). rc is filled either
 * way; reload_conf_clear frees it.
 */
size_t		 reload_read(struct reload_conf *rc, const char *path,
		    struct diags *d);
void		 reload_conf_clear(struct reload_conf *rc);

/* What a reload applies the new configuration to; NULL members are skipped. */
struct reload_deps {
	struct engine	*engine;
	struct api	*api;
	struct sla	*sla;
	struct audit	*audit;
	struct metrics	*metrics;
	int		 verbose;	/* -v: the log level stays debug */
};

struct reload;

/*
 * boot is the configuration the daemon runs with (borrowed: the caller
 * keeps it until after reload_free); path is read again at each reload.
 */
struct reload	*reload_new(const char *path, const struct reload_conf *boot,
		    const struct reload_deps *deps);
void		 reload_free(struct reload *);

/*
 * Read, check and apply the configuration now; who is "SIGHUP" or the API
 * token's name (for the log and the audit trail). *answer gets what
 * changed, what needs a restart, or why it failed (no secret values).
 * Returns 0 when applied, else the HTTP status that says why (422: the
 * configuration has problems; 500: it could not be applied), the old
 * configuration staying in force.
 */
int		 reload_run(struct reload *, const char *who, json_object **answer);

/* Add POST /v1/reload (admin) to the API. 0 or -1. */
int		 reload_route(struct reload *, struct api *);

#endif
