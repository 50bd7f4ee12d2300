/*
 * runbook: loads the declarative runbooks (one JSON file with comments per
 * runbook: docs/CONTRACT.md) from the runbooks directory in file name order,
 * validates them against the step vocabulary and, when a configuration is
 * given, against the configured targets, and answers the two questions the
 * engine asks: which runbook runs for an event (the first that matches) and
 * which steps a target gets under it (the first targets entry that selects
 * it). Every problem is a file:line diagnostic; a file with problems is not
 * loaded. A "delete" step always runs after the target's deactivate, and
 * with a configuration it is refused on targets flagged irreversible_delete
 * unless the step says "irreversible_ok": true (connector_delete_refused). A
 * "reactivate" step (a rehire: the account back to active and not frozen)
 * runs in remediation; it is refused next to freeze, deactivate or delete on
 * the same targets entry, and in a runbook that could run for a leaver or an
 * emergency freeze. The kinds an entry can select (by kind; by name or "*"
 * the configured targets it is the first to select) check its steps: a
 * step's options the kind cannot use are errors (an sObject Salesforce does
 * not reassign), a step the kind does not do is a warning (it is skipped
 * there), and an entry for a kind or a target that does none of its steps
 * is an error.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "deprov/config.h"
#include "deprov/connector.h"
#include "deprov/diag.h"
#include "deprov/event.h"
#include "deprov/jsonc.h"
#include "deprov/runbook.h"

/* What the readers share while one file is loaded. */
struct runbook_ctx {
	const struct jsonc_doc	*doc;
	const char		*file;
	struct diags		*d;
	const struct config	*cfg;
};

/* A kind's report on a step's options: a file:line diagnostic. */
struct runbook_check {
	struct connector_check	 chk;		/* first */
	struct runbook_ctx	*c;
	const char		*where;		/* "targets[0].steps[2]" */
	int			 line;		/* the step's, when obj has none */
};

/* The targets of one kind a targets entry gets (runbook_check_kinds). */
struct runbook_sel {
	const struct connector	*conn;
	char			 names[256];	/* "\"slack\", \"github\""; "" = the kind only */
	size_t			 n;		/* targets named */
};

static const char *const runbook_step_names[STEP_KIND_COUNT] = {
	"freeze", "revoke_tokens", "reassign", "deactivate", "unfreeze",
	"delete", "reactivate"
};

static struct runbook *runbook_load(const char *, const struct config *,
		    struct diags *, int *);
static void	 runbook_match_read(struct runbook_ctx *, struct runbook *,
		    json_object *);
static void	 runbook_policy_read(struct runbook_ctx *, struct runbook *,
		    json_object *);
static int	 runbook_step_read(struct runbook_ctx *, struct runbook_step *,
		    const char *, json_object *, int);
static void	 runbook_target_read(struct runbook_ctx *, const struct runbook *,
		    struct runbook_target *, const char *, json_object *, int);
static int	 runbook_selects(const struct runbook_target *, const char *,
		    const char *);
static void	 runbook_check_kinds(struct runbook_ctx *, const struct runbook *,
		    const struct runbook_target *, const char *,
		    json_object *const *, const size_t *);
static void	 runbook_check_report(struct connector_check *, json_object *,
		    const char *, const char *);
static void	 runbook_target_clear(struct runbook_target *);
static void	 runbook_check_irreversible(struct runbook_ctx *,
		    const struct runbook *);
static void	 runbook_check_reactivate(struct runbook_ctx *,
		    const struct runbook *);
static int	 runbook_ident_ok(const char *, int);
static int	 runbook_cmp(const void *, const void *);
static int	 runbook_list_has(char *const *, size_t, const char *);

const char *
step_kind_name(enum step_kind kind)
{
	if ((int)kind < 0 || kind >= STEP_KIND_COUNT)
		return "unknown";
	return runbook_step_names[kind];
}

int
step_kind_parse(const char *name)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < STEP_KIND_COUNT; i++) {
		if (strcmp(runbook_step_names[i], name) == 0)
			return i;
	}
	return -1;
}

/*
 * Letters, digits, '_' and (with dashes set) '.' and '-': runbook names and
 * sObject names, which end up in logs and SOQL queries.
 */
static int
runbook_ident_ok(const char *s, int dashes)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_')
			continue;
		if (dashes && (s[i] == '.' || s[i] == '-'))
			continue;
		return 0;
	}
	return i > 0;
}

static void
runbook_match_read(struct runbook_ctx *c, struct runbook *rb, json_object *root)
{
	static const char *const keys[] = { "type", "termination_kind", NULL };
	json_object	*match = NULL, *arr;
	size_t		 i, j;
	int		 line;

	if (jsonc_get_object(c->doc, root, NULL, "match", &match, c->d) != 1)
		return;
	jsonc_check_keys(c->doc, match, "match", keys, c->d);
	if (jsonc_get_strings(c->doc, match, "match", "type", &rb->match_types,
	    &rb->nmatch_types, c->d) == 1) {
		json_object_object_get_ex(match, "type", &arr);
		for (i = 0; i < rb->nmatch_types; i++) {
			line = jsonc_line(c->doc,
			    json_object_array_get_idx(arr, i));
			if (!event_type_known(rb->match_types[i])) {
				char	known[256];
				size_t	off = 0;

				for (j = 0; event_types[j] != NULL &&
				    off < sizeof known; j++)
					off += (size_t)snprintf(known + off,
					    sizeof known - off, "%s%s", j > 0 ?
					    ", " : "", event_types[j]);
				diags_add(c->d, c->file, line, "match.type: "
				    "unknown event type \"%s\" (%s)",
				    rb->match_types[i], known);
			}
		}
	}
	jsonc_get_strings(c->doc, match, "match", "termination_kind",
	    &rb->match_kinds, &rb->nmatch_kinds, c->d);
}

/* sla and retry, with their defaults. */
static void
runbook_policy_read(struct runbook_ctx *c, struct runbook *rb,
    json_object *root)
{
	static const char *const sla_keys[] = { "freeze_within_s",
	    "complete_within_s", NULL };
	static const char *const retry_keys[] = { "max_attempts",
	    "initial_backoff_ms", "max_backoff_ms", NULL };
	json_object	*sla = NULL, *retry = NULL;
	long long	 ll;
	int		 r1, r2;

	rb->freeze_within_s = 60;
	rb->complete_within_s = 900;
	rb->retry.max_attempts = 10;
	rb->retry.initial_backoff_ms = 500;
	rb->retry.max_backoff_ms = 60000;

	if (jsonc_get_object(c->doc, root, NULL, "sla", &sla, c->d) == 1) {
		jsonc_check_keys(c->doc, sla, "sla", sla_keys, c->d);
		r1 = jsonc_get_int(c->doc, sla, "sla", "freeze_within_s", 1,
		    LONG_MAX, &ll, c->d);
		if (r1 == 1)
			rb->freeze_within_s = (long)ll;
		r2 = jsonc_get_int(c->doc, sla, "sla", "complete_within_s", 1,
		    LONG_MAX, &ll, c->d);
		if (r2 == 1)
			rb->complete_within_s = (long)ll;
		if (r1 >= 0 && r2 >= 0 &&
		    rb->complete_within_s < rb->freeze_within_s)
			diags_add(c->d, c->file, jsonc_member_line(c->doc, sla,
			    r2 == 1 ? "complete_within_s" : "freeze_within_s"),
			    "sla.complete_within_s: must not be less than "
			    "freeze_within_s (%ld < %ld)", rb->complete_within_s,
			    rb->freeze_within_s);
	}
	if (jsonc_get_object(c->doc, root, NULL, "retry", &retry, c->d) == 1) {
		jsonc_check_keys(c->doc, retry, "retry", retry_keys, c->d);
		if (jsonc_get_int(c->doc, retry, "retry", "max_attempts", 1,
		    INT_MAX, &ll, c->d) == 1)
			rb->retry.max_attempts = (int)ll;
		r1 = jsonc_get_int(c->doc, retry, "retry", "initial_backoff_ms",
		    1, LONG_MAX, &ll, c->d);
		if (r1 == 1)
			rb->retry.initial_backoff_ms = (long)ll;
		r2 = jsonc_get_int(c->doc, retry, "retry", "max_backoff_ms", 1,
		    LONG_MAX, &ll, c->d);
		if (r2 == 1)
			rb->retry.max_backoff_ms = (long)ll;
		if (r1 >= 0 && r2 >= 0 &&
		    rb->retry.max_backoff_ms < rb->retry.initial_backoff_ms)
			diags_add(c->d, c->file, jsonc_member_line(c->doc, retry,
			    r2 == 1 ? "max_backoff_ms" : "initial_backoff_ms"),
			    "retry.max_backoff_ms: must not be less than "
			    "initial_backoff_ms (%ld < %ld)",
			    rb->retry.max_backoff_ms,
			    rb->retry.initial_backoff_ms);
	}
}

/* One entry of a steps list: a name, or an object {"step": name, options}. */
static int
runbook_step_read(struct runbook_ctx *c, struct runbook_step *st,
    const char *where, json_object *v, int line)
{
	static const char *const reassign_keys[] = { "step", "to",
	    "fallback_owner", "objects", NULL };
	const char	*name = NULL, *s;
	json_object	*arr;
	size_t		 i;
	int		 kind, bad = 0;

	memset(st, 0, sizeof *st);
	st->line = line;
	if (json_object_is_type(v, json_type_string))
		name = json_object_get_string(v);
	else if (json_object_is_type(v, json_type_object)) {
		if (jsonc_get_string(c->doc, v, where, "step", &name, c->d) == 0) {
			diags_add(c->d, c->file, line, "%s: missing \"step\"",
			    where);
			return -1;
		}
		if (name == NULL)
			return -1;
	} else {
		diags_add(c->d, c->file, line, "%s: expected a step name or an "
		    "object with \"step\"", where);
		return -1;
	}
	if ((kind = step_kind_parse(name)) < 0) {
		diags_add(c->d, c->file, json_object_is_type(v, json_type_object) ?
		    jsonc_member_line(c->doc, v, "step") : line,
		    "%s: unknown step \"%s\" (freeze, revoke_tokens, reassign, "
		    "deactivate, unfreeze, delete, reactivate)", where, name);
		return -1;
	}
	st->kind = (enum step_kind)kind;
	if (kind != STEP_REASSIGN) {
		if (json_object_is_type(v, json_type_object) &&
		    json_object_object_length(v) > 1) {
			json_object_object_foreach(v, key, val) {
				if (strcmp(key, "step") == 0)
					continue;
				if (kind == STEP_DELETE &&
				    strcmp(key, "irreversible_ok") == 0) {
					if (json_object_is_type(val,
					    json_type_boolean)) {
						st->irreversible_ok =
						    json_object_get_boolean(val);
						continue;
					}
					diags_add(c->d, c->file,
					    jsonc_member_line(c->doc, v, key),
					    "%s.irreversible_ok: expected true or "
					    "false", where);
					bad = 1;
					continue;
				}
				diags_add(c->d, c->file, jsonc_key_line(c->doc, v,
				    key), "%s: step \"%s\" takes no options "
				    "(\"%s\" given)", where, name, key);
				bad = 1;
			}
		}
		return bad ? -1 : 0;
	}

	/* reassign: objects are required, the owner defaults to the manager. */
	if (!json_object_is_type(v, json_type_object)) {
		diags_add(c->d, c->file, line, "%s: step \"reassign\" needs "
		    "\"objects\" (write it as {\"step\": \"reassign\", "
		    "\"objects\": [...]})", where);
		return -1;
	}
	if (jsonc_check_keys(c->doc, v, where, reassign_keys, c->d) > 0)
		bad = 1;
	s = "manager";
	if (jsonc_get_string(c->doc, v, where, "to", &s, c->d) < 0)
		bad = 1;
	else if (strcmp(s, "manager") != 0) {
		diags_add(c->d, c->file, jsonc_member_line(c->doc, v, "to"),
		    "%s.to: unknown owner \"%s\" (manager; use fallback_owner "
		    "for a fixed user)", where, s);
		bad = 1;
	} else if ((st->to = strdup(s)) == NULL)
		goto oom;
	s = NULL;
	if (jsonc_get_string(c->doc, v, where, "fallback_owner", &s, c->d) < 0)
		bad = 1;
	else if (s != NULL && (st->fallback_owner = strdup(s)) == NULL)
		goto oom;
	switch (jsonc_get_strings(c->doc, v, where, "objects", &st->objects,
	    &st->nobjects, c->d)) {
	case 0:
		diags_add(c->d, c->file, line, "%s: step \"reassign\" needs "
		    "\"objects\"", where);
		bad = 1;
		break;
	case 1:
		json_object_object_get_ex(v, "objects", &arr);
		if (st->nobjects == 0) {
			diags_add(c->d, c->file, jsonc_line(c->doc, arr),
			    "%s.objects: must not be empty", where);
			bad = 1;
		}
		for (i = 0; i < st->nobjects; i++) {
			if (!runbook_ident_ok(st->objects[i], 0)) {
				diags_add(c->d, c->file, jsonc_line(c->doc,
				    json_object_array_get_idx(arr, i)),
				    "%s.objects[%zu]: \"%s\" is not an object "
				    "name (letters, digits, '_')", where, i,
				    st->objects[i]);
				bad = 1;
			}
		}
		break;
	default:
		bad = 1;
		break;
	}
	if (bad) {
		runbook_step_clear(st);
		return -1;
	}
	return 0;
oom:
	diags_add(c->d, c->file, line, "out of memory");
	runbook_step_clear(st);
	return -1;
}

/*
 * One targets entry. rb holds the entries before it (t is the last): the
 * kinds' checks need to know which targets those take first.
 */
static void
runbook_target_read(struct runbook_ctx *c, const struct runbook *rb,
    struct runbook_target *t, const char *where, json_object *obj, int line)
{
	static const char *const keys[] = { "select", "steps",
	    "require_account", NULL };
	static const char *const sel_keys[] = { "kind", "name", NULL };
	struct runbook_step	 del;
	json_object	*sel = NULL, *steps = NULL, *v, **src = NULL, *dsrc;
	const char	*kind = NULL, *name = NULL;
	char		 w[128], sw[160], kinds[256];
	size_t		 n, i, j, *pos = NULL, dpos;
	int		 r, l, seen[STEP_KIND_COUNT];

	t->line = line;
	jsonc_check_keys(c->doc, obj, where, keys, c->d);
	if (json_object_object_get_ex(obj, "require_account", &v)) {
		if (json_object_is_type(v, json_type_boolean))
			t->require_account = json_object_get_boolean(v);
		else
			diags_add(c->d, c->file, jsonc_member_line(c->doc, obj,
			    "require_account"), "%s.require_account: expected "
			    "true or false", where);
	}

	snprintf(w, sizeof w, "%s.select", where);
	r = jsonc_get_object(c->doc, obj, where, "select", &sel, c->d);
	if (r == 0)
		diags_add(c->d, c->file, line, "%s: missing \"select\"", where);
	if (r == 1) {
		l = jsonc_line(c->doc, sel);
		jsonc_check_keys(c->doc, sel, w, sel_keys, c->d);
		jsonc_get_string(c->doc, sel, w, "kind", &kind, c->d);
		jsonc_get_string(c->doc, sel, w, "name", &name, c->d);
		if (!json_object_object_get_ex(sel, "kind", NULL) &&
		    !json_object_object_get_ex(sel, "name", NULL))
			diags_add(c->d, c->file, l, "%s: give \"kind\" or "
			    "\"name\"", w);
		else if (json_object_object_get_ex(sel, "kind", NULL) &&
		    json_object_object_get_ex(sel, "name", NULL))
			diags_add(c->d, c->file, l, "%s: give either \"kind\" or "
			    "\"name\", not both", w);
		if (kind != NULL && !config_kind_known(kind)) {
			connector_kinds(kinds, sizeof kinds);
			diags_add(c->d, c->file, jsonc_member_line(c->doc, sel,
			    "kind"), "%s: unknown kind \"%s\" (%s)", w, kind,
			    kinds);
			kind = NULL;
		}
		if (name != NULL && c->cfg != NULL && strcmp(name, "*") != 0 &&
		    config_target_find(c->cfg, name) == NULL) {
			diags_add(c->d, c->file, jsonc_member_line(c->doc, sel,
			    "name"), "%s: no target named \"%s\" in the "
			    "configuration", w, name);
			name = NULL;
		}
		if ((kind != NULL && (t->sel_kind = strdup(kind)) == NULL) ||
		    (name != NULL && (t->sel_name = strdup(name)) == NULL))
			diags_add(c->d, c->file, line, "out of memory");
	}

	r = jsonc_get_array(c->doc, obj, where, "steps", &steps, c->d);
	if (r == 0)
		diags_add(c->d, c->file, line, "%s: missing \"steps\"", where);
	if (r != 1)
		return;
	n = json_object_array_length(steps);
	if (n == 0) {
		diags_add(c->d, c->file, jsonc_line(c->doc, steps),
		    "%s.steps: must not be empty", where);
		return;
	}
	/* Where each step was written, for the kinds' checks. */
	if ((t->steps = calloc(n, sizeof *t->steps)) == NULL ||
	    (src = calloc(n, sizeof *src)) == NULL ||
	    (pos = calloc(n, sizeof *pos)) == NULL) {
		diags_add(c->d, c->file, line, "out of memory");
		goto done;
	}
	memset(seen, 0, sizeof seen);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(steps, i);
		snprintf(sw, sizeof sw, "%s.steps[%zu]", where, i);
		l = jsonc_line(c->doc, v);
		if (l == 0)
			l = jsonc_line(c->doc, steps);
		if (runbook_step_read(c, &t->steps[t->nsteps], sw, v, l) != 0)
			continue;
		j = t->steps[t->nsteps].kind;
		if (seen[j]) {
			diags_add(c->d, c->file, l, "%s: step \"%s\" is listed "
			    "twice", sw, step_kind_name((enum step_kind)j));
			runbook_step_clear(&t->steps[t->nsteps]);
			continue;
		}
		seen[j] = 1;
		t->steps[t->nsteps].require_account = t->require_account;
		src[t->nsteps] = v;
		pos[t->nsteps] = i;
		t->nsteps++;
	}
	/*
	 * reactivate undoes what freeze, deactivate and delete do: next to
	 * one of them it would be undone (deactivate runs after it) or undo it.
	 */
	if (seen[STEP_REACTIVATE]) {
		for (i = 0; i < t->nsteps; i++) {
			j = t->steps[i].kind;
			if (j != STEP_FREEZE && j != STEP_DEACTIVATE &&
			    j != STEP_DELETE)
				continue;
			diags_add(c->d, c->file, t->steps[i].line, "%s: step "
			    "\"%s\" cannot be listed with \"reactivate\" (a "
			    "reinstate brings the account back; it does not "
			    "also take it away)", where,
			    step_kind_name((enum step_kind)j));
		}
	}
	/* delete goes last: after the deactivate, whatever the order given. */
	for (i = 0; i + 1 < t->nsteps; i++) {
		if (t->steps[i].kind != STEP_DELETE)
			continue;
		del = t->steps[i];
		dsrc = src[i];
		dpos = pos[i];
		memmove(&t->steps[i], &t->steps[i + 1],
		    (t->nsteps - i - 1) * sizeof *t->steps);
		memmove(&src[i], &src[i + 1], (t->nsteps - i - 1) * sizeof *src);
		memmove(&pos[i], &pos[i + 1], (t->nsteps - i - 1) * sizeof *pos);
		t->steps[t->nsteps - 1] = del;
		src[t->nsteps - 1] = dsrc;
		pos[t->nsteps - 1] = dpos;
		break;
	}
	runbook_check_kinds(c, rb, t, where, src, pos);
done:
	free(src);
	free(pos);
}

/* 1 when targets entry t selects the target called name, of kind kind. */
static int
runbook_selects(const struct runbook_target *t, const char *name,
    const char *kind)
{
	if (t->sel_name != NULL && (strcmp(t->sel_name, "*") == 0 ||
	    (name != NULL && strcmp(t->sel_name, name) == 0)))
		return 1;
	return t->sel_kind != NULL && kind != NULL &&
	    strcmp(t->sel_kind, kind) == 0;
}

static void
runbook_check_report(struct connector_check *chk, json_object *obj,
    const char *key, const char *msg)
{
	struct runbook_check	*rc = (struct runbook_check *)chk;
	int			 line = 0;

	if (obj != NULL)
		line = key != NULL && json_object_is_type(obj,
		    json_type_object) ? jsonc_member_line(rc->c->doc, obj, key) :
		    jsonc_line(rc->c->doc, obj);
	diags_add(rc->c->d, rc->c->file, line > 0 ? line : rc->line, "%s.%s",
	    rc->where, msg);
}

/*
 * The kinds' say on entry t's steps (see the top of the file). The kinds
 * are the entry's own (by kind) and those of the configured targets it is
 * the first entry to select; src and pos say where each step was written.
 */
static void
runbook_check_kinds(struct runbook_ctx *c, const struct runbook *rb,
    const struct runbook_target *t, const char *where,
    json_object *const *src, const size_t *pos)
{
	const struct config_target	*ct;
	const struct runbook_step	*st;
	const struct connector		*conn;
	struct runbook_sel		*sel = NULL;
	struct runbook_check		 rc;
	const char			*why, *at;
	char				 sw[160], atbuf[300], none[700];
	size_t				 nsel = 0, ntargets, i, j, k, off, len;
	int				 explicit, ndone;

	ntargets = c->cfg != NULL ? c->cfg->ntargets : 0;
	if (t->nsteps == 0 ||
	    (sel = calloc(ntargets + 1, sizeof *sel)) == NULL)
		goto done;
	if (t->sel_kind != NULL &&
	    (conn = connector_find(t->sel_kind)) != NULL)
		sel[nsel++].conn = conn;
	for (i = 0; i < ntargets; i++) {
		ct = &c->cfg->targets[i];
		if (ct->name == NULL || ct->kind == NULL ||
		    !runbook_selects(t, ct->name, ct->kind) ||
		    (conn = connector_find(ct->kind)) == NULL)
			continue;
		/* The first entry that selects a target is the one it gets. */
		for (j = 0; &rb->targets[j] != t; j++)
			if (runbook_selects(&rb->targets[j], ct->name, ct->kind))
				break;
		if (&rb->targets[j] != t)
			continue;
		for (k = 0; k < nsel && sel[k].conn != conn; k++)
			;
		if (k == nsel)
			sel[nsel++].conn = conn;
		len = strlen(sel[k].names);
		snprintf(sel[k].names + len, sizeof sel[k].names - len,
		    "%s\"%s\"", len > 0 ? ", " : "", ct->name);
		sel[k].n++;
	}
	explicit = t->sel_kind != NULL ||
	    (t->sel_name != NULL && strcmp(t->sel_name, "*") != 0);

	memset(&rc, 0, sizeof rc);
	rc.chk.report = runbook_check_report;
	rc.c = c;
	rc.where = sw;
	for (k = 0; k < nsel; k++) {
		conn = sel[k].conn;
		if (sel[k].n > 0)
			snprintf(atbuf, sizeof atbuf, "target%s %s (kind %s)",
			    sel[k].n > 1 ? "s" : "", sel[k].names, conn->kind);
		else
			snprintf(atbuf, sizeof atbuf, "kind %s", conn->kind);
		at = atbuf;
		ndone = 0;
		none[0] = '\0';
		off = 0;
		for (j = 0; j < t->nsteps; j++) {
			st = &t->steps[j];
			snprintf(sw, sizeof sw, "%s.steps[%zu]", where, pos[j]);
			if ((why = conn->skips[st->kind]) == NULL) {
				ndone++;
				if (conn->check_step != NULL) {
					rc.line = st->line;
					conn->check_step(&rc.chk, st, src[j]);
				}
				continue;
			}
			if (off < sizeof none)
				off += (size_t)snprintf(none + off,
				    sizeof none - off, "%s\"%s\" is skipped (%s)",
				    off > 0 ? "; " : "",
				    step_kind_name(st->kind), why);
		}
		if (ndone == 0 && explicit) {
			diags_add(c->d, c->file, t->line, "%s: no step of it "
			    "runs at %s: %s", where, at, none);
			continue;
		}
		for (j = 0; j < t->nsteps; j++) {
			st = &t->steps[j];
			if ((why = conn->skips[st->kind]) == NULL)
				continue;
			diags_warn(c->d, c->file, st->line, "%s.steps[%zu]: "
			    "\"%s\" is skipped at %s: %s", where, pos[j],
			    step_kind_name(st->kind), at, why);
		}
	}
done:
	free(sel);
}

/*
 * A target flagged irreversible_delete (GitHub: a delete removes tokens,
 * keys and repositories) takes a delete only when the step says
 * "irreversible_ok": true.
 */
static void
runbook_check_irreversible(struct runbook_ctx *c, const struct runbook *rb)
{
	const struct config_target	*ct;
	const struct runbook_target	*t;
	const char			*why;
	size_t				 i, j;

	if (c->cfg == NULL)
		return;
	for (i = 0; i < c->cfg->ntargets; i++) {
		ct = &c->cfg->targets[i];
		if (ct->name == NULL ||
		    (t = runbook_select(rb, ct->name, ct->kind)) == NULL)
			continue;
		for (j = 0; j < t->nsteps; j++) {
			if ((why = connector_delete_refused(ct,
			    &t->steps[j])) == NULL)
				continue;
			diags_add(c->d, c->file, t->steps[j].line, "delete on "
			    "target \"%s\" is irreversible (%s); add "
			    "\"irreversible_ok\": true to the step to allow it",
			    ct->name, why);
		}
	}
}

/*
 * A runbook with a reactivate step must only run for rehires: one that
 * matches leavers or emergency freezes (or any event) would give an account
 * back when it should be taken away.
 */
static void
runbook_check_reactivate(struct runbook_ctx *c, const struct runbook *rb)
{
	static const char *const unsafe[] = { "io.deprov.leaver",
	    "io.deprov.freeze", NULL };
	const struct runbook_step	*st = NULL;
	size_t				 i, j;

	for (i = 0; i < rb->ntargets && st == NULL; i++) {
		for (j = 0; j < rb->targets[i].nsteps; j++) {
			if (rb->targets[i].steps[j].kind == STEP_REACTIVATE) {
				st = &rb->targets[i].steps[j];
				break;
			}
		}
	}
	if (st == NULL)
		return;
	if (rb->nmatch_types == 0) {
		diags_add(c->d, c->file, st->line, "step \"reactivate\" needs a "
		    "match.type that names the events it runs for (e.g. "
		    "io.deprov.reinstate): without one the runbook matches "
		    "leavers too");
		return;
	}
	for (i = 0; unsafe[i] != NULL; i++) {
		if (runbook_list_has(rb->match_types, rb->nmatch_types,
		    unsafe[i]))
			diags_add(c->d, c->file, st->line, "step \"reactivate\" "
			    "in a runbook that matches %s: it would give the "
			    "account back instead of taking it away", unsafe[i]);
	}
}

/* Load one file; *name_line gets the line of its name (for duplicates). */
static struct runbook *
runbook_load(const char *path, const struct config *cfg, struct diags *d,
    int *name_line)
{
	static const char *const keys[] = { "name", "match", "sla", "retry",
	    "targets", NULL };
	struct runbook		*rb = NULL;
	struct jsonc_doc	*doc = NULL;
	struct runbook_ctx	 c;
	json_object		*root, *targets = NULL, *v;
	const char		*name = NULL;
	char			 where[32];
	size_t			 before = diags_count(d), n = 0, i;
	int			 r, line;

	*name_line = 0;
	if ((doc = jsonc_parse_file_diag(path, d)) == NULL)
		goto fail;
	root = jsonc_root(doc);
	if (!json_object_is_type(root, json_type_object)) {
		diags_add(d, path, jsonc_line(doc, root),
		    "expected a JSON object at the top level");
		goto fail;
	}
	if ((rb = calloc(1, sizeof *rb)) == NULL ||
	    (rb->file = strdup(path)) == NULL) {
		diags_add(d, path, 0, "out of memory");
		goto fail;
	}
	c.doc = doc;
	c.file = path;
	c.d = d;
	c.cfg = cfg;
	line = jsonc_line(doc, root);
	jsonc_check_keys(doc, root, NULL, keys, d);

	r = jsonc_get_string(doc, root, NULL, "name", &name, d);
	if (r == 0)
		diags_add(d, path, line, "missing \"name\"");
	else if (r == 1 && !runbook_ident_ok(name, 1))
		diags_add(d, path, jsonc_member_line(doc, root, "name"),
		    "name: \"%s\" is not a valid runbook name (letters, digits, "
		    "'_', '.', '-')", name);
	else if (r == 1 && (rb->name = strdup(name)) == NULL)
		diags_add(d, path, line, "out of memory");
	*name_line = jsonc_member_line(doc, root, "name");

	runbook_match_read(&c, rb, root);
	runbook_policy_read(&c, rb, root);

	r = jsonc_get_array(doc, root, NULL, "targets", &targets, d);
	if (r == 0)
		diags_add(d, path, line, "missing \"targets\"");
	if (r == 1 && (n = json_object_array_length(targets)) == 0)
		diags_add(d, path, jsonc_line(doc, targets),
		    "targets: must not be empty");
	else if (r == 1) {
		if ((rb->targets = calloc(n, sizeof *rb->targets)) == NULL) {
			diags_add(d, path, line, "out of memory");
			goto fail;
		}
		for (i = 0; i < n; i++) {
			v = json_object_array_get_idx(targets, i);
			snprintf(where, sizeof where, "targets[%zu]", i);
			line = jsonc_line(doc, v);
			if (line == 0)
				line = jsonc_line(doc, targets);
			if (!json_object_is_type(v, json_type_object)) {
				diags_add(d, path, line, "%s: expected an "
				    "object", where);
				continue;
			}
			runbook_target_read(&c, rb,
			    &rb->targets[rb->ntargets++], where, v, line);
		}
	}
	runbook_check_irreversible(&c, rb);
	runbook_check_reactivate(&c, rb);
	if (diags_count(d) != before)
		goto fail;
	jsonc_free(doc);
	return rb;
fail:
	runbook_free(rb);
	jsonc_free(doc);
	return NULL;
}

struct runbook *
runbook_load_file(const char *path, const struct config *cfg, struct diags *d)
{
	int line;

	return runbook_load(path, cfg, d, &line);
}

static int
runbook_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct runbook_set *
runbook_load_dir(const char *dir, const struct config *cfg, struct diags *d)
{
	struct runbook_set	*set = NULL;
	struct runbook		*rb;
	DIR			*dp = NULL;
	struct dirent		*de;
	char			**names = NULL, **nn, *path = NULL;
	size_t			 n = 0, cap = 0, len, i, j;
	int			 line;

	if (dir == NULL)
		return NULL;	/* the configuration already said why */
	if ((dp = opendir(dir)) == NULL) {
		diags_add(d, dir, 0, "cannot open the runbooks directory: %s",
		    strerror(errno));
		return NULL;
	}
	while ((de = readdir(dp)) != NULL) {
		len = strlen(de->d_name);
		/* Skip hidden files (editor droppings) and non-JSON names. */
		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nn = realloc(names, cap * sizeof *names)) == NULL)
				goto oom;
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto oom;
		n++;
	}
	closedir(dp);
	dp = NULL;
	if (n > 0)
		qsort(names, n, sizeof *names, runbook_cmp);

	if ((set = calloc(1, sizeof *set)) == NULL)
		goto oom;
	if (n > 0 && (set->v = calloc(n, sizeof *set->v)) == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			path = NULL;
			goto oom;
		}
		rb = runbook_load(path, cfg, d, &line);
		if (rb != NULL) {
			for (j = 0; j < set->n; j++) {
				if (strcmp(set->v[j]->name, rb->name) == 0)
					break;
			}
			if (j < set->n) {
				diags_add(d, path, line, "duplicate runbook name "
				    "\"%s\" (also in %s)", rb->name,
				    set->v[j]->file);
				runbook_free(rb);
				rb = NULL;
			}
		}
		if (rb != NULL)
			set->v[set->n++] = rb;
		free(path);
		path = NULL;
	}
	jsonc_strings_free(names, n);
	return set;
oom:
	diags_add(d, dir, 0, "out of memory");
	if (dp != NULL)
		closedir(dp);
	free(path);
	jsonc_strings_free(names, n);
	runbook_set_free(set);
	return NULL;
}

void
runbook_step_clear(struct runbook_step *st)
{
	if (st == NULL)
		return;
	free(st->to);
	free(st->fallback_owner);
	jsonc_strings_free(st->objects, st->nobjects);
	memset(st, 0, sizeof *st);
}

static void
runbook_target_clear(struct runbook_target *t)
{
	size_t i;

	free(t->sel_kind);
	free(t->sel_name);
	for (i = 0; i < t->nsteps; i++)
		runbook_step_clear(&t->steps[i]);
	free(t->steps);
}

void
runbook_free(struct runbook *rb)
{
	size_t i;

	if (rb == NULL)
		return;
	free(rb->name);
	free(rb->file);
	jsonc_strings_free(rb->match_types, rb->nmatch_types);
	jsonc_strings_free(rb->match_kinds, rb->nmatch_kinds);
	for (i = 0; i < rb->ntargets; i++)
		runbook_target_clear(&rb->targets[i]);
	free(rb->targets);
	free(rb);
}

void
runbook_set_free(struct runbook_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		runbook_free(set->v[i]);
	free(set->v);
	free(set);
}

/* 1 when s is in v (an empty list holds everything, but never NULL). */
static int
runbook_list_has(char *const *v, size_t n, const char *s)
{
	size_t i;

	if (n == 0)
		return 1;
	if (s == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		if (strcmp(v[i], s) == 0)
			return 1;
	}
	return 0;
}

const struct runbook *
runbook_match(const struct runbook_set *set, const char *type,
    const char *termination_kind)
{
	size_t i;

	if (set == NULL)
		return NULL;
	for (i = 0; i < set->n; i++) {
		if (runbook_list_has(set->v[i]->match_types,
		    set->v[i]->nmatch_types, type) &&
		    runbook_list_has(set->v[i]->match_kinds,
		    set->v[i]->nmatch_kinds, termination_kind))
			return set->v[i];
	}
	return NULL;
}

const struct runbook *
runbook_find(const struct runbook_set *set, const char *name)
{
	size_t i;

	if (set == NULL || name == NULL)
		return NULL;
	for (i = 0; i < set->n; i++) {
		if (strcmp(set->v[i]->name, name) == 0)
			return set->v[i];
	}
	return NULL;
}

const struct runbook_target *
runbook_select(const struct runbook *rb, const char *target_name,
    const char *target_kind)
{
	const struct runbook_target	*t;
	size_t				 i;

	if (rb == NULL)
		return NULL;
	for (i = 0; i < rb->ntargets; i++) {
		t = &rb->targets[i];
		if (runbook_selects(t, target_name, target_kind))
			return t;
	}
	return NULL;
}

json_object *
runbook_step_to_json(const struct runbook_step *st)
{
	json_object	*o = NULL, *arr = NULL, *s;
	size_t		 i;

	if (st == NULL || (int)st->kind < 0 || st->kind >= STEP_KIND_COUNT)
		return NULL;
	if ((o = json_object_new_object()) == NULL)
		goto fail;
	if ((s = json_object_new_string(step_kind_name(st->kind))) == NULL ||
	    json_object_object_add(o, "step", s) != 0)
		goto fail_s;
	if (st->to != NULL && ((s = json_object_new_string(st->to)) == NULL ||
	    json_object_object_add(o, "to", s) != 0))
		goto fail_s;
	if (st->fallback_owner != NULL &&
	    ((s = json_object_new_string(st->fallback_owner)) == NULL ||
	    json_object_object_add(o, "fallback_owner", s) != 0))
		goto fail_s;
	if (st->kind == STEP_REASSIGN || st->nobjects > 0) {
		if ((arr = json_object_new_array()) == NULL)
			goto fail;
		for (i = 0; i < st->nobjects; i++) {
			if ((s = json_object_new_string(st->objects[i])) == NULL ||
			    json_object_array_add(arr, s) != 0)
				goto fail_s;
		}
		if (json_object_object_add(o, "objects", arr) != 0)
			goto fail;
		arr = NULL;	/* owned by o now */
	}
	if (st->irreversible_ok &&
	    ((s = json_object_new_boolean(1)) == NULL ||
	    json_object_object_add(o, "irreversible_ok", s) != 0))
		goto fail_s;
	if (st->require_account &&
	    ((s = json_object_new_boolean(1)) == NULL ||
	    json_object_object_add(o, "require_account", s) != 0))
		goto fail_s;
	return o;
fail_s:
	json_object_put(s);
fail:
	json_object_put(arr);
	json_object_put(o);
	return NULL;
}

int
runbook_step_from_json(json_object *j, struct runbook_step *st)
{
	json_object	*v, *el;
	size_t		 n, i;
	int		 kind;

	memset(st, 0, sizeof *st);
	if (json_object_is_type(j, json_type_string)) {
		/* The short form of a step without options. */
		if ((kind = step_kind_parse(json_object_get_string(j))) < 0)
			return -1;
		st->kind = (enum step_kind)kind;
		if (kind == STEP_REASSIGN && (st->to = strdup("manager")) == NULL)
			return -1;
		return 0;
	}
	if (!json_object_is_type(j, json_type_object) ||
	    !json_object_object_get_ex(j, "step", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (kind = step_kind_parse(json_object_get_string(v))) < 0)
		return -1;
	st->kind = (enum step_kind)kind;
	if (json_object_object_get_ex(j, "to", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    (st->to = strdup(json_object_get_string(v))) == NULL)
			goto fail;
	} else if (kind == STEP_REASSIGN && (st->to = strdup("manager")) == NULL)
		goto fail;
	if (json_object_object_get_ex(j, "fallback_owner", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	    (st->fallback_owner = strdup(json_object_get_string(v))) == NULL))
		goto fail;
	if (json_object_object_get_ex(j, "objects", &v)) {
		if (!json_object_is_type(v, json_type_array))
			goto fail;
		n = json_object_array_length(v);
		if ((st->objects = calloc(n + 1, sizeof *st->objects)) == NULL)
			goto fail;
		for (i = 0; i < n; i++) {
			el = json_object_array_get_idx(v, i);
			if (!json_object_is_type(el, json_type_string) ||
			    (st->objects[i] = strdup(json_object_get_string(el))) ==
			    NULL)
				goto fail;
			st->nobjects++;
		}
	}
	if (json_object_object_get_ex(j, "irreversible_ok", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			goto fail;
		st->irreversible_ok = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(j, "require_account", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			goto fail;
		st->require_account = json_object_get_boolean(v);
	}
	return 0;
fail:
	runbook_step_clear(st);
	return -1;
}

/* 1 when the string lists are equal. */
static int
runbook_strs_same(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (!config_str_same(a[i], b[i]))
			return 0;
	return 1;
}

/* 1 when two steps do the same (their stored JSON is the same). */
static int
runbook_step_same(const struct runbook_step *a, const struct runbook_step *b)
{
	json_object	*ja = runbook_step_to_json(a), *jb = runbook_step_to_json(b);
	int		 same;

	same = ja != NULL && jb != NULL && json_object_equal(ja, jb);
	json_object_put(ja);
	json_object_put(jb);
	return same;
}

/* 1 when a and b would run cases alike (where they were written aside). */
static int
runbook_same(const struct runbook *a, const struct runbook *b)
{
	const struct runbook_target	*ta, *tb;
	size_t				 i, j;

	if (!runbook_strs_same(a->match_types, a->nmatch_types, b->match_types,
	    b->nmatch_types) || !runbook_strs_same(a->match_kinds,
	    a->nmatch_kinds, b->match_kinds, b->nmatch_kinds) ||
	    a->freeze_within_s != b->freeze_within_s ||
	    a->complete_within_s != b->complete_within_s ||
	    a->retry.max_attempts != b->retry.max_attempts ||
	    a->retry.initial_backoff_ms != b->retry.initial_backoff_ms ||
	    a->retry.max_backoff_ms != b->retry.max_backoff_ms ||
	    a->ntargets != b->ntargets)
		return 0;
	for (i = 0; i < a->ntargets; i++) {
		ta = &a->targets[i];
		tb = &b->targets[i];
		if (!config_str_same(ta->sel_kind, tb->sel_kind) ||
		    !config_str_same(ta->sel_name, tb->sel_name) ||
		    ta->require_account != tb->require_account ||
		    ta->nsteps != tb->nsteps)
			return 0;
		for (j = 0; j < ta->nsteps; j++)
			if (!runbook_step_same(&ta->steps[j], &tb->steps[j]))
				return 0;
	}
	return 1;
}

size_t
runbook_set_diff(const struct runbook_set *a, const struct runbook_set *b,
    config_change_cb cb, void *arg)
{
	const struct runbook	*ra, *rb;
	char			 what[256];
	size_t			 i, n = 0;

	for (i = 0; i < a->n; i++) {
		ra = a->v[i];
		rb = runbook_find(b, ra->name);
		if (rb != NULL && runbook_same(ra, rb))
			continue;
		snprintf(what, sizeof what, "runbooks.%s %s", ra->name,
		    rb == NULL ? "removed" : "changed");
		cb(what, 1, arg);
		n++;
	}
	for (i = 0; i < b->n; i++) {
		if (runbook_find(a, b->v[i]->name) != NULL)
			continue;
		snprintf(what, sizeof what, "runbooks.%s added", b->v[i]->name);
		cb(what, 1, arg);
		n++;
	}
	return n;
}
