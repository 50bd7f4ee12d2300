/*
 * reload: the configuration read (reload_read: start-up, --check, deprovctl
 * check and every reload read it alike) and applied again to the running
 * daemon. A reload runs inside one loop callback (the SIGHUP event or the
 * POST /v1/reload request), so what it swaps changes between two turns.
 * It reads and checks the whole configuration first: with any problem
 * nothing changes. Then it tells what differs, with the modules' own
 * settings tables (config_diff: rows marked CONFIG_LIVE apply now, others
 * need a restart) and the runbooks (runbook_set_diff), and hands the new
 * configuration to its users: the engine (targets' limits and credentials,
 * runbooks), the API (tokens), the SLA alerts and the log level. Each of
 * them takes a reference to it, and each running step and alert delivery
 * one to the configuration it started under, so that the old one lives
 * until the last of them ends. Restart-only settings are compared with the
 * configuration the daemon started with, which keeps serving them: they
 * are reported at every reload until a restart. Reading is synchronous on
 * the loop: local files of bounded size (secrets at most 64 KiB each), as
 * at start-up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "deprov/api.h"
#include "deprov/audit.h"
#include "deprov/config.h"
#include "deprov/engine.h"
#include "deprov/ingest.h"
#include "deprov/log.h"
#include "deprov/metrics.h"
#include "deprov/reload.h"
#include "deprov/runbook.h"
#include "deprov/sla.h"

#define RELOAD_STATUS_INVALID	422	/* the configuration has problems */
#define RELOAD_STATUS_FAILED	500	/* it could not be applied */

struct reload {
	char			*path;
	const struct reload_conf *boot;		/* borrowed: what the daemon started with */
	struct reload_conf	 cur;		/* the last reload's; cfg NULL until one */
	struct reload_deps	 deps;
};

/* What a reload found: the arrays of its answer. */
struct reload_found {
	json_object	*changed;	/* applied */
	json_object	*restart;	/* need a restart, not applied */
	int		 live;		/* which config_diff pass this is */
};

static void	reload_change_cb(const char *, int, void *);
static int	reload_fail(struct reload *, const char *, int, const char *,
		    json_object *, json_object **);
static void	reload_audit(struct reload *, const char *, json_object *);
static void	reload_api(struct evhttp_request *, const char *, const char *,
		    const struct api_caller *, void *);

size_t
reload_read(struct reload_conf *rc, const char *path, struct diags *d)
{
	memset(rc, 0, sizeof *rc);
	if ((rc->cfg = config_load(path, d)) == NULL) {
		if (diags_count(d) == 0)
			diags_add(d, path != NULL ? path : "deprovd", 0,
			    "cannot load the configuration");
		return diags_count(d);
	}
	rc->runbooks = runbook_load_dir(rc->cfg->runbooks_dir, rc->cfg, d);
	if (rc->runbooks != NULL && rc->runbooks->n == 0)
		diags_add(d, rc->cfg->runbooks_dir, 0, "no runbooks found");
	else if (rc->runbooks == NULL && diags_count(d) == 0)
		diags_add(d, rc->cfg->runbooks_dir, 0, "cannot read the runbooks");
	/* The ingest section; the engine is attached once it exists. */
	rc->ingest = ingest_new(rc->cfg, NULL, d);
	return diags_count(d);
}

void
reload_conf_clear(struct reload_conf *rc)
{
	ingest_free(rc->ingest);
	runbook_set_free(rc->runbooks);
	config_free(rc->cfg);
	memset(rc, 0, sizeof *rc);
}

struct reload *
reload_new(const char *path, const struct reload_conf *boot,
    const struct reload_deps *deps)
{
	struct reload *r;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return NULL;
	if ((r->path = strdup(path)) == NULL) {
		free(r);
		return NULL;
	}
	r->boot = boot;
	r->deps = *deps;
	return r;
}

/*
 * The engine, api and sla hold their own references to the last
 * configuration: they are freed before this (deprovd's teardown order).
 */
void
reload_free(struct reload *r)
{
	if (r == NULL)
		return;
	reload_conf_clear(&r->cur);
	free(r->path);
	free(r);
}

/*
 * One difference. The live pass compares with the configuration in force
 * and keeps what applies now; the other compares with the configuration of
 * the start (still serving what needs a restart) and keeps the rest.
 */
static void
reload_change_cb(const char *what, int live, void *arg)
{
	struct reload_found *f = arg;

	if (live != f->live)
		return;
	json_object_array_add(live ? f->changed : f->restart,
	    json_object_new_string(what));
}

/* The audit record of a reload: who, and the answer (never a secret value). */
static void
reload_audit(struct reload *r, const char *who, json_object *answer)
{
	if (r->deps.audit == NULL)
		return;
	audit_append(r->deps.audit, "config.reload", 0, who, NULL, NULL,
	    json_object_to_json_string_ext(answer, JSON_C_TO_STRING_PLAIN));
}

/*
 * A failed reload: logged (each problem as file:line: message), counted,
 * audited and answered; the configuration in force stays. errors (owned
 * here, may be NULL) lists the problems; detail is the first.
 */
static int
reload_fail(struct reload *r, const char *who, int status, const char *detail,
    json_object *errors, json_object **answer)
{
	json_object *o = json_object_new_object();

	log_error("reload", "configuration reload by %s failed, the "
	    "configuration in force stays: %s", who, detail);
	metrics_reload(r->deps.metrics, 0);
	if (o != NULL) {
		json_object_object_add(o, "error", json_object_new_string(
		    status == RELOAD_STATUS_INVALID ? "invalid_config" :
		    "internal"));
		json_object_object_add(o, "detail",
		    json_object_new_string(detail));
		json_object_object_add(o, "result",
		    json_object_new_string("failed"));
		json_object_object_add(o, "errors", errors != NULL ? errors :
		    json_object_new_array());
		errors = NULL;
		reload_audit(r, who, o);
	}
	json_object_put(errors);
	*answer = o;
	return status;
}

int
reload_run(struct reload *r, const char *who, json_object **answer)
{
	struct reload_conf	 next, old;
	struct reload_found	 f = { NULL, NULL, 0 };
	const struct config	*cur;
	const struct runbook_set *rbs;
	struct diags		*d;
	json_object		*errors = NULL, *o;
	char			 err[256];
	size_t			 i;
	int			 rc = RELOAD_STATUS_FAILED;

	*answer = NULL;
	memset(&next, 0, sizeof next);
	log_info("reload", "configuration reload by %s: reading %s", who,
	    r->path);
	if ((d = diags_new()) == NULL)
		return reload_fail(r, who, rc, "out of memory", NULL, answer);
	if (reload_read(&next, r->path, d) > 0) {
		errors = json_object_new_array();
		for (i = 0; i < diags_count(d); i++) {
			log_error("reload", "%s", diags_get(d, i));
			json_object_array_add(errors,
			    json_object_new_string(diags_get(d, i)));
		}
		rc = reload_fail(r, who, RELOAD_STATUS_INVALID, diags_get(d, 0),
		    errors, answer);
		goto done;
	}
	for (i = 0; i < diags_warnings(d); i++)
		log_warn("reload", "%s", diags_get_warning(d, i));

	cur = r->cur.cfg != NULL ? r->cur.cfg : r->boot->cfg;
	rbs = r->cur.cfg != NULL ? r->cur.runbooks : r->boot->runbooks;
	f.changed = json_object_new_array();
	f.restart = json_object_new_array();
	if (f.changed == NULL || f.restart == NULL) {
		rc = reload_fail(r, who, rc, "out of memory", NULL, answer);
		goto done;
	}
	f.live = 1;
	config_diff(cur, next.cfg, reload_change_cb, &f);
	runbook_set_diff(rbs, next.runbooks, reload_change_cb, &f);
	f.live = 0;
	config_diff(r->boot->cfg, next.cfg, reload_change_cb, &f);

	/* The engine first: the one user that can refuse (nothing changed then). */
	if (r->deps.engine != NULL && engine_reload(r->deps.engine, next.cfg,
	    next.runbooks, err, sizeof err) != 0) {
		rc = reload_fail(r, who, rc, err, NULL, answer);
		goto done;
	}
	if (r->deps.api != NULL)
		api_set_tokens(r->deps.api, next.cfg);
	if (r->deps.sla != NULL)
		sla_set_alerts(r->deps.sla, next.cfg);
	if (!r->deps.verbose)
		log_set_level((enum log_level)next.cfg->log_level);
	/* Validated only: the running intake keeps the section it started with. */
	ingest_free(next.ingest);
	next.ingest = NULL;
	old = r->cur;
	r->cur = next;			/* ownership: the reload's */
	memset(&next, 0, sizeof next);
	reload_conf_clear(&old);	/* its users hold what they still need */

	for (i = 0; i < json_object_array_length(f.restart); i++)
		log_warn("reload", "%s changed: needs a restart, not applied",
		    json_object_get_string(json_object_array_get_idx(f.restart,
		    i)));
	log_info("reload", "configuration reloaded by %s: %zu change%s "
	    "applied, %zu needing a restart", who,
	    json_object_array_length(f.changed),
	    json_object_array_length(f.changed) == 1 ? "" : "s",
	    json_object_array_length(f.restart));
	metrics_reload(r->deps.metrics, 1);
	if ((o = json_object_new_object()) != NULL) {
		json_object_object_add(o, "result", json_object_new_string("ok"));
		json_object_object_add(o, "changed", f.changed);
		json_object_object_add(o, "needs_restart", f.restart);
		f.changed = f.restart = NULL;
		reload_audit(r, who, o);
	}
	*answer = o;
	rc = 0;
done:
	json_object_put(f.changed);
	json_object_put(f.restart);
	reload_conf_clear(&next);
	diags_free(d);
	return rc;
}

/* POST /v1/reload: the answer of reload_run, 200 or its error status. */
static void
reload_api(struct evhttp_request *req, const char *path, const char *rest,
    const struct api_caller *who, void *arg)
{
	json_object	*answer = NULL;
	int		 rc;

	(void)path;
	(void)rest;
	rc = reload_run(arg, who->name, &answer);
	if (answer == NULL) {
		api_error(req, 500, "internal", "out of memory");
		return;
	}
	api_reply_json(req, rc == 0 ? 200 : rc, answer);
}

int
reload_route(struct reload *r, struct api *api)
{
	return api_route(api, "POST", "/v1/reload", 0, API_ROLE_ADMIN,
	    reload_api, r);
}
