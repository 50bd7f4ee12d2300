/*
 * runbook: declarative runbooks (one JSON file each in the runbooks
 * directory) that say, for the events they match, which steps run on which
 * targets, with SLA budgets and retry policy. Loaded and validated at start
 * and by --check; problems are file:line diagnostics.
 */
#ifndef DEPROV_RUNBOOK_H
#define DEPROV_RUNBOOK_H

#include <stddef.h>

#include <json-c/json.h>

#include "deprov/config.h"
#include "deprov/diag.h"

enum step_kind {
	STEP_FREEZE = 0,
	STEP_REVOKE_TOKENS,
	STEP_REASSIGN,
	STEP_DEACTIVATE,
	STEP_UNFREEZE,
	STEP_DELETE,		/* deactivate phase, after deactivate; opt-in */
	STEP_REACTIVATE,	/* remediation phase: undo a deactivation (rehire) */
	STEP_KIND_COUNT
};

struct runbook_step {
	enum step_kind	  kind;
	char		 *to;		/* reassign: "manager" (default) */
	char		 *fallback_owner;	/* reassign: username/email of the owner when no manager */
	char		**objects;	/* reassign: sObject names */
	size_t		  nobjects;
	int		  irreversible_ok;	/* delete: allowed on irreversible_delete targets */
	int		  require_account;	/* from the targets entry: "no account" is a failure */
	int		  line;		/* where it was written (not persisted) */
};

struct runbook_target {
	char			*sel_kind;	/* select by kind, or NULL */
	char			*sel_name;	/* select by name ("*" = any), or NULL */
	struct runbook_step	*steps;
	size_t			 nsteps;
	int			 require_account;	/* every step gets it too */
	int			 line;
};

struct runbook_retry {
	int	 max_attempts;		/* calls tried at most this often */
	long	 initial_backoff_ms;
	long	 max_backoff_ms;
};

struct runbook {
	char			 *name;
	char			 *file;
	char			**match_types;		/* CloudEvents types; empty = any */
	size_t			  nmatch_types;
	char			**match_kinds;		/* termination_kind values; empty = any */
	size_t			  nmatch_kinds;
	long			  freeze_within_s;
	long			  complete_within_s;
	struct runbook_retry	  retry;
	struct runbook_target	 *targets;
	size_t			  ntargets;
};

struct runbook_set {
	struct runbook	**v;	/* sorted by file name */
	size_t		  n;
};

/*
 * Load every *.json in dir (name order). cfg may be NULL; when given, target
 * kinds and names in selectors are checked against it.
 */
struct runbook_set	*runbook_load_dir(const char *dir, const struct config *cfg,
			    struct diags *);
/* Load one file (tests). */
struct runbook		*runbook_load_file(const char *path, const struct config *cfg,
			    struct diags *);
void			 runbook_free(struct runbook *);
void			 runbook_set_free(struct runbook_set *);
/*
 * What a reload changes in the runbooks: "runbooks.NAME added", "removed"
 * or "changed" to cb (always live). Returns how many.
 */
size_t			 runbook_set_diff(const struct runbook_set *a,
			    const struct runbook_set *b, config_change_cb, void *arg);

/* First runbook whose match accepts the event; NULL when none. */
const struct runbook	*runbook_match(const struct runbook_set *, const char *type,
			    const char *termination_kind);
const struct runbook	*runbook_find(const struct runbook_set *, const char *name);
/* The first targets entry that selects this target; NULL when none. */
const struct runbook_target *runbook_select(const struct runbook *,
			    const char *target_name, const char *target_kind);

const char		*step_kind_name(enum step_kind);
/* Returns the kind or -1. */
int			 step_kind_parse(const char *name);

/*
 * A step with its options as JSON (stored with the case) and back; the
 * options include irreversible_ok and require_account.
 */
json_object		*runbook_step_to_json(const struct runbook_step *);
int			 runbook_step_from_json(json_object *, struct runbook_step *);
void			 runbook_step_clear(struct runbook_step *);

#endif
