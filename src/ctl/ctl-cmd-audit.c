/*
 * ctl-cmd-audit: the audit trail, read from the store directly: a SQLite
 * file opened read-only (store_open_readonly; the daemon may keep running)
 * or a PostgreSQL store (pgstore.h). "audit
 * verify" recomputes the hash chain and names the first bad record; "audit
 * export" writes the records as JSON lines for a SIEM. Both go through
 * audit.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "deprov/audit.h"
#include "deprov/config.h"
#include "deprov/diag.h"
#include "deprov/event.h"
#include "deprov/pgstore.h"
#include "deprov/store.h"
#include "ctl.h"

static int	ctl_cmd_audit_verify_exec(struct ctl *, struct ctl_args *);
static int	ctl_cmd_audit_export_exec(struct ctl *, struct ctl_args *);
static char	*ctl_audit_db_path(struct ctl *, const struct ctl_args *, int *);
static const char *ctl_audit_problem_name(enum audit_problem);

static const struct ctl_opt ctl_cmd_audit_verify_opts[] = {
	{ .name = "db", .type = CTL_OPT_STR },
	{ .name = "store", .type = CTL_OPT_STR },
	{ .name = "config", .type = CTL_OPT_STR },
	{ .name = NULL }
};

static const struct ctl_opt ctl_cmd_audit_export_opts[] = {
	{ .name = "db", .type = CTL_OPT_STR },
	{ .name = "store", .type = CTL_OPT_STR },
	{ .name = "config", .type = CTL_OPT_STR },
	{ .name = "since", .type = CTL_OPT_STR },
	{ .name = "since-ms", .type = CTL_OPT_INT, .min = 0,
	  .max = INT64_MAX / 2, .bad = "expected Unix milliseconds" },
	{ .name = NULL }
};

const struct ctl_cmd_entry ctl_cmd_audit_verify_entry = {
	.name = "audit verify",
	.usage = "audit verify (--db PATH | --store WHERE | --config FILE)",
	.help =
	  "Recompute the audit trail's hash chain and report the first edited,\n"
	  "deleted or reordered record. Reads the store directly (read-only;\n"
	  "the daemon may keep running). Exit 0 when intact, 1 when a record is\n"
	  "bad or the trail cannot be read.\n"
	  "\n"
	  "  --db PATH       the store's SQLite file\n"
	  "  --store WHERE   sqlite:PATH, or postgres:URL for a PostgreSQL store\n"
	  "                  (a libpq URL; the password from PGPASSWORD or\n"
	  "                  ~/.pgpass)\n"
	  "  --config FILE   take store.path from deprovd's configuration\n",
	.opts = ctl_cmd_audit_verify_opts,
	.exec = ctl_cmd_audit_verify_exec
};

const struct ctl_cmd_entry ctl_cmd_audit_export_entry = {
	.name = "audit export",
	.usage = "audit export [--since RFC3339 | --since-ms N] (--db PATH | "
	    "--store WHERE | --config FILE)",
	.help =
	  "Write audit records as JSON lines (one object per record, in seq\n"
	  "order) to standard output, for a SIEM.\n"
	  "\n"
	  "  --since RFC3339   records at or after this time (default: all)\n"
	  "  --since-ms N      the same as Unix milliseconds\n"
	  "  --db PATH, --store WHERE, --config FILE   as for audit verify\n",
	.opts = ctl_cmd_audit_export_opts,
	.exec = ctl_cmd_audit_export_exec
};

/* The trail being read: a SQLite store or a PostgreSQL one. */
struct ctl_trail {
	struct store		*db;
	struct pgstore		*pg;
	struct audit_source	 src;
	char			*where;		/* for messages */
};

/* The SQLite path: --db, or store.path of --config. NULL after a message. */
static char *
ctl_audit_db_path(struct ctl *ctl, const struct ctl_args *args, int *rc)
{
	const char	*db = ctl_args_get(args, "db");
	const char	*config = ctl_args_get(args, "config");
	struct diags	*diags;
	struct config	*cfg;
	char		*path = NULL;

	if (db != NULL) {
		if ((path = strdup(db)) == NULL)
			*rc = ctl_fail(CTL_FAILED, "out of memory");
		return path;
	}
	if ((diags = diags_new()) == NULL) {
		*rc = ctl_fail(CTL_FAILED, "out of memory");
		return NULL;
	}
	/* Only store.path matters here: other problems are not ours to judge. */
	cfg = config_load(config, diags);
	if (cfg == NULL || cfg->store_path == NULL) {
		diags_print(diags, stderr);
		*rc = ctl_fail(CTL_USAGE, "%s: no usable store.path",
		    config);
	} else if ((path = strdup(cfg->store_path)) == NULL)
		*rc = ctl_fail(CTL_FAILED, "out of memory");
	config_free(cfg);
	diags_free(diags);
	return path;
}

/*
 * Open the trail --db, --store or --config names: a SQLite file read-only
 * (a running deprovd keeps its lock), or a PostgreSQL store. CTL_OK, or the
 * exit status after a message.
 */
static int
ctl_trail_open(struct ctl *ctl, const struct ctl_args *args,
    struct ctl_trail *t)
{
	const char	*store = ctl_args_get(args, "store"), *where;
	char		 err[1024];
	int		 rc = CTL_FAILED, given;

	memset(t, 0, sizeof *t);
	given = (ctl_args_get(args, "db") != NULL) + (store != NULL) +
	    (ctl_args_get(args, "config") != NULL);
	if (given != 1)
		return ctl_usage_error(ctl, "give one of --db, --store and "
		    "--config");
	if (store != NULL) {
		switch (ctl_store_parse(store, &where)) {
		case CTL_STORE_POSTGRES:
			if ((t->pg = pgstore_open(where, 0, err, sizeof err)) ==
			    NULL)
				return ctl_fail(CTL_FAILED, "%s", err);
			ctl_store_pg_source(t->pg, &t->src);
			if ((t->where = strdup(pgstore_name(t->pg))) == NULL)
				return ctl_fail(CTL_FAILED, "out of memory");
			return CTL_OK;
		case CTL_STORE_SQLITE:
			if ((t->where = strdup(where)) == NULL)
				return ctl_fail(CTL_FAILED, "out of memory");
			break;
		case CTL_STORE_BAD:
			return ctl_usage_error(ctl, "--store: expected "
			    "sqlite:PATH or postgres:URL");
		}
	} else if ((t->where = ctl_audit_db_path(ctl, args, &rc)) == NULL)
		return rc;
	if (access(t->where, R_OK) != 0)
		return ctl_fail(CTL_FAILED, "%s: %s", t->where, strerror(errno));
	if ((t->db = store_open_readonly(t->where, err, sizeof err)) == NULL)
		return ctl_fail(CTL_FAILED, "%s", err);
	audit_source_store(t->db, &t->src);
	return CTL_OK;
}

static void
ctl_trail_close(struct ctl_trail *t)
{
	pgstore_close(t->pg);
	store_close(t->db);
	free(t->where);
}

static const char *
ctl_audit_problem_name(enum audit_problem p)
{
	switch (p) {
	case AUDIT_INTACT: return "intact";
	case AUDIT_EDITED: return "edited";
	case AUDIT_BROKEN_LINK: return "broken_link";
	case AUDIT_GAP: return "gap";
	case AUDIT_BAD_ROW: return "bad_row";
	}
	return "unknown";
}

static int
ctl_cmd_audit_verify_exec(struct ctl *ctl, struct ctl_args *args)
{
	struct audit_verify_result	 res;
	struct ctl_trail		 t;
	json_object			*o;
	int				 rc, r;

	if ((rc = ctl_trail_open(ctl, args, &t)) != CTL_OK) {
		ctl_trail_close(&t);
		return rc;
	}
	r = audit_verify_source(&t.src, &res);
	if (r < 0) {
		rc = ctl_fail(CTL_FAILED, "audit verify: cannot read the audit "
		    "trail in %s: %s", t.where, res.message);
		goto done;
	}
	if (ctl->json) {
		o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(r == 0));
		json_object_object_add(o, "records",
		    json_object_new_int64(res.records));
		json_object_object_add(o, "last_seq",
		    json_object_new_int64(res.last_seq));
		json_object_object_add(o, "last_hash", res.last_hash[0] != '\0' ?
		    json_object_new_string(res.last_hash) : NULL);
		if (r != 0) {
			json_object_object_add(o, "bad_seq",
			    json_object_new_int64(res.bad_seq));
			json_object_object_add(o, "problem",
			    json_object_new_string(ctl_audit_problem_name(
			    res.problem)));
			json_object_object_add(o, "message",
			    json_object_new_string(res.message));
		}
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else if (r == 0)
		printf("ok: %lld records intact; last seq %lld hash %s\n",
		    res.records, res.last_seq, res.last_hash[0] != '\0' ?
		    res.last_hash : "-");
	else
		printf("TAMPERED: %s\n", res.message);
	if (r != 0)
		rc = ctl_fail(CTL_FAILED, "audit verify: %s: seq %lld: %s", t.where,
		    res.bad_seq, ctl_audit_problem_name(res.problem));
	else
		rc = CTL_OK;
done:
	ctl_trail_close(&t);
	return rc;
}

static int
ctl_cmd_audit_export_exec(struct ctl *ctl, struct ctl_args *args)
{
	struct ctl_trail t;
	long long	 since = 0, n;
	time_t		 when;
	int		 rc = CTL_FAILED;

	const char	*since_text = ctl_args_get(args, "since");
	int		 have_since_ms = ctl_args_has(args, "since-ms");

	if (since_text != NULL && have_since_ms)
		return ctl_usage_error(ctl, "give --since or --since-ms, not "
		    "both");
	if (since_text != NULL) {
		if ((when = event_parse_time(since_text)) == (time_t)-1)
			return ctl_usage_error(ctl, "--since: expected an RFC "
			    "3339 time such as 2026-11-23T18:00:00Z");
		since = (long long)when * 1000;
	} else if (have_since_ms)
		since = ctl_args_int(args, "since-ms", 0);
	if ((rc = ctl_trail_open(ctl, args, &t)) != CTL_OK) {
		ctl_trail_close(&t);
		return rc;
	}
	n = audit_export_source(&t.src, since, stdout);
	if (n < 0)
		rc = ctl_fail(CTL_FAILED, "audit export: cannot read the audit "
		    "trail in %s: %s", t.where, t.src.errmsg(t.src.src));
	else {
		if (ctl->verbose)
			fprintf(stderr, "deprovctl: %lld records exported\n", n);
		rc = CTL_OK;
	}
	ctl_trail_close(&t);
	return rc;
}
