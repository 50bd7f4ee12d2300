/*
 * test_runbook: the runbook loader (every diagnostic with its line,
 * duplicate names across files, directory handling), runbook_match order,
 * runbook_select order, the step JSON round trip, the kinds' checks of the
 * steps at the targets an entry selects (objects, skipped steps), and the
 * shipped runbooks in DEPROV_SOURCE_DIR/runbooks, which must load without
 * an error.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "deprov/config.h"
#include "deprov/diag.h"
#include "deprov/runbook.h"

#ifndef DEPROV_SOURCE_DIR
#define DEPROV_SOURCE_DIR "."
#endif

#define SHIPPED DEPROV_SOURCE_DIR "/runbooks"

static char tmpdir[PATH_MAX];

/* Write text to tmpdir/name (one level of directory is created). */
static void
put(const char *name, const char *text, char *out, size_t outlen)
{
	char	 path[PATH_MAX + 64], *slash;
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	if ((slash = strrchr(path, '/')) != NULL && slash > path + strlen(tmpdir)) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	if (out != NULL)
		snprintf(out, outlen, "%s", path);
}

/* 1 when d holds exactly "file:line: msg". */
static int
has(const struct diags *d, const char *file, int line, const char *fmt, ...)
{
	char	 msg[1024], want[PATH_MAX + 1200];
	va_list	 ap;
	size_t	 i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(want, sizeof want, "%s:%d: %s", file, line, msg);
	else
		snprintf(want, sizeof want, "%s: %s", file, msg);
	for (i = 0; i < diags_count(d); i++) {
		if (strcmp(diags_get(d, i), want) == 0)
			return 1;
	}
	fprintf(stderr, "missing diagnostic: %s\nhave:\n", want);
	diags_print(d, stderr);
	return 0;
}

/* 1 when d holds exactly the warning "file:line: warning: msg". */
static int
has_warning(const struct diags *d, const char *file, int line,
    const char *fmt, ...)
{
	char	 msg[1024], want[PATH_MAX + 1200];
	va_list	 ap;
	size_t	 i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(want, sizeof want, "%s:%d: warning: %s", file, line, msg);
	for (i = 0; i < diags_warnings(d); i++) {
		if (strcmp(diags_get_warning(d, i), want) == 0)
			return 1;
	}
	fprintf(stderr, "missing warning: %s\nhave:\n", want);
	diags_print(d, stderr);
	return 0;
}

static void
no_diags(const struct diags *d)
{
	if (diags_count(d) != 0) {
		diags_print(d, stderr);
		fail_msg("%zu unexpected diagnostics", diags_count(d));
	}
}

/* A configuration with targets "sf" (salesforce) and "slack" (scim). */
static struct config *
make_config(void)
{
	char		 path[PATH_MAX + 64];
	struct diags	*d = diags_new();
	struct config	*cfg;

	put("cfg/deprovd.json", "{ \"kafka\": { \"brokers\": \"embedded\" },\n"
	    "  \"targets\": {\n"
	    "    \"sf\": { \"kind\": \"salesforce\", \"base_url\": \"https://x\" },\n"
	    "    \"slack\": { \"kind\": \"scim\", \"base_url\": \"https://y\" } } }\n",
	    path, sizeof path);
	cfg = config_load(path, d);
	assert_non_null(cfg);
	no_diags(d);
	diags_free(d);
	return cfg;
}

static void
test_shipped(void **state)
{
	struct diags			*d = diags_new();
	struct runbook_set		*set;
	struct config			*cfg = make_config();
	const struct runbook		*rb;
	const struct runbook_target	*t;
	const struct runbook_step	*st;

	set = runbook_load_dir(SHIPPED, NULL, d);
	assert_non_null(set);
	no_diags(d);
	assert_int_equal(set->n, 5);
	assert_string_equal(set->v[0]->name, "emergency-freeze");
	assert_string_equal(set->v[1]->name, "involuntary-leaver");
	assert_string_equal(set->v[2]->name, "standard-leaver");
	assert_string_equal(set->v[3]->name, "unfreeze");
	assert_string_equal(set->v[4]->name, "reinstate");
	runbook_set_free(set);

	/* With a configuration too: only kinds and "*" are used. */
	set = runbook_load_dir(SHIPPED, cfg, d);
	assert_non_null(set);
	no_diags(d);
	assert_int_equal(set->n, 5);

	rb = runbook_find(set, "emergency-freeze");
	assert_non_null(rb);
	assert_int_equal(rb->freeze_within_s, 30);
	assert_int_equal(rb->complete_within_s, 120);
	assert_int_equal(rb->nmatch_types, 1);
	assert_string_equal(rb->match_types[0], "io.deprov.freeze");
	t = runbook_select(rb, "sf", "salesforce");
	assert_non_null(t);
	assert_int_equal(t->nsteps, 2);
	assert_int_equal(t->steps[0].kind, STEP_FREEZE);
	assert_int_equal(t->steps[1].kind, STEP_REVOKE_TOKENS);

	rb = runbook_find(set, "involuntary-leaver");
	assert_non_null(rb);
	assert_int_equal(rb->freeze_within_s, 30);
	assert_int_equal(rb->complete_within_s, 600);
	assert_int_equal(rb->nmatch_kinds, 1);
	assert_string_equal(rb->match_kinds[0], "involuntary");

	rb = runbook_find(set, "standard-leaver");
	assert_non_null(rb);
	assert_int_equal(rb->freeze_within_s, 60);
	assert_int_equal(rb->complete_within_s, 900);
	assert_int_equal(rb->nmatch_kinds, 0);
	assert_int_equal(rb->retry.max_attempts, 10);
	assert_int_equal(rb->retry.initial_backoff_ms, 500);
	assert_int_equal(rb->retry.max_backoff_ms, 60000);
	t = runbook_select(rb, "sf", "salesforce");
	assert_non_null(t);
	assert_int_equal(t->nsteps, 4);
	assert_int_equal(t->steps[0].kind, STEP_FREEZE);
	assert_int_equal(t->steps[1].kind, STEP_REVOKE_TOKENS);
	st = &t->steps[2];
	assert_int_equal(st->kind, STEP_REASSIGN);
	assert_string_equal(st->to, "manager");
	assert_string_equal(st->fallback_owner, "records-admin@acme.example");
	assert_int_equal(st->nobjects, 4);
	assert_string_equal(st->objects[0], "Account");
	assert_string_equal(st->objects[1], "Opportunity");
	assert_string_equal(st->objects[2], "Case");
	assert_string_equal(st->objects[3], "Lead");
	assert_int_equal(t->steps[3].kind, STEP_DEACTIVATE);
	/* Google: Drive files to the manager before the suspension. */
	t = runbook_select(rb, "workspace", "google");
	assert_non_null(t);
	assert_int_equal(t->nsteps, 4);
	st = &t->steps[2];
	assert_int_equal(st->kind, STEP_REASSIGN);
	assert_string_equal(st->to, "manager");
	assert_int_equal(st->nobjects, 1);
	assert_string_equal(st->objects[0], "Drive");
	assert_int_equal(t->steps[3].kind, STEP_DEACTIVATE);
	t = runbook_select(rb, "slack", "scim");
	assert_int_equal(t->nsteps, 2);
	assert_int_equal(t->steps[0].kind, STEP_FREEZE);
	assert_int_equal(t->steps[1].kind, STEP_DEACTIVATE);
	t = runbook_select(rb, "okta", "okta");
	assert_int_equal(t->nsteps, 3);
	assert_int_equal(t->steps[2].kind, STEP_DEACTIVATE);

	rb = runbook_find(set, "unfreeze");
	assert_non_null(rb);
	assert_int_equal(rb->nmatch_types, 2);
	t = runbook_select(rb, "sf", "salesforce");
	assert_int_equal(t->nsteps, 1);
	assert_int_equal(t->steps[0].kind, STEP_UNFREEZE);

	rb = runbook_find(set, "reinstate");
	assert_non_null(rb);
	assert_int_equal(rb->nmatch_types, 1);
	assert_string_equal(rb->match_types[0], "io.deprov.reinstate");
	t = runbook_select(rb, "slack", "scim");
	assert_int_equal(t->nsteps, 1);
	assert_int_equal(t->steps[0].kind, STEP_REACTIVATE);

	/* Which runbook runs for which event. */
	assert_string_equal(runbook_match(set, "io.deprov.freeze", NULL)->name,
	    "emergency-freeze");
	assert_string_equal(runbook_match(set, "io.deprov.leaver",
	    "involuntary")->name, "involuntary-leaver");
	assert_string_equal(runbook_match(set, "io.deprov.leaver",
	    "voluntary")->name, "standard-leaver");
	assert_string_equal(runbook_match(set, "io.deprov.leaver", NULL)->name,
	    "standard-leaver");
	assert_string_equal(runbook_match(set, "io.deprov.unfreeze", NULL)->name,
	    "unfreeze");
	assert_string_equal(runbook_match(set, "io.deprov.leaver.rescinded",
	    NULL)->name, "unfreeze");
	assert_string_equal(runbook_match(set, "io.deprov.reinstate", NULL)->name,
	    "reinstate");
	assert_null(runbook_match(set, "io.deprov.other", NULL));
	assert_null(runbook_match(set, NULL, NULL));
	assert_null(runbook_find(set, "nope"));
	runbook_set_free(set);
	config_free(cfg);
	diags_free(d);
}

static void
test_diagnostics(void **state)
{
	struct diags	*d = diags_new();
	struct config	*cfg = make_config();
	char		 p[PATH_MAX + 64];
	int		 n = 0;

	put("bad/bad.json",
	    "{\n"								/* 1 */
	    "  \"name\": \"bad one\",\n"					/* 2 */
	    "  \"extra\": 1,\n"							/* 3 */
	    "  \"match\": { \"type\": [\"io.deprov.leaver\", \"io.deprov.quit\"], \"kind\": [], \"termination_kind\": \"x\" },\n"	/* 4 */
	    "  \"sla\": { \"freeze_within_s\": 0, \"complete_within_s\": \"soon\", \"x\": 1 },\n"	/* 5 */
	    "  \"retry\": { \"max_attempts\": 0, \"initial_backoff_ms\": 1000, \"max_backoff_ms\": 10 },\n"	/* 6 */
	    "  \"targets\": [\n"						/* 7 */
	    "    { \"select\": { \"kind\": \"salesforce\" },\n"			/* 8 */
	    "      \"steps\": [ \"fooze\",\n"					/* 9 */
	    "        { \"step\": \"freeze\", \"fast\": true },\n"		/* 10 */
	    "        \"reassign\",\n"						/* 11 */
	    "        { \"step\": \"reassign\", \"to\": \"manager\" },\n"	/* 12 */
	    "        { \"step\": \"reassign\", \"objects\": [\"Account\", \"Bad Name\"], \"too\": 1 },\n"	/* 13 */
	    "        \"deactivate\", \"deactivate\", 5, { \"to\": \"x\" } ] },\n"	/* 14 */
	    "    { \"select\": {}, \"steps\": [] },\n"				/* 15 */
	    "    { \"select\": { \"kind\": \"ldap\" }, \"steps\": [\"freeze\"] },\n"	/* 16 */
	    "    { \"select\": { \"name\": \"nosuch\" }, \"steps\": [\"freeze\"] },\n"	/* 17 */
	    "    { \"select\": { \"name\": \"*\", \"kind\": \"scim\" }, \"steps\": [\"freeze\"], \"when\": 1 },\n"	/* 18 */
	    "    { \"steps\": \"freeze\" },\n"					/* 19 */
	    "    \"x\",\n"							/* 20 */
	    "    { \"select\": { \"name\": \"sf\" }, \"steps\": [ { \"step\": \"reassign\", \"to\": \"boss\", \"objects\": [] } ] },\n"	/* 21 */
	    "    { \"select\": { \"name\": \"slack\" }, \"steps\": [ { \"step\": 7 }, { \"step\": \"unfreeze\", \"fallback_owner\": \"x\" } ] }\n"	/* 22 */
	    "  ]\n"								/* 23 */
	    "}\n", p, sizeof p);
	assert_null(runbook_load_file(p, cfg, d));
	n++; assert_true(has(d, p, 2, "name: \"bad one\" is not a valid runbook name (letters, digits, '_', '.', '-')"));
	n++; assert_true(has(d, p, 3, "unknown key \"extra\""));
	n++; assert_true(has(d, p, 4, "unknown key \"kind\" in match"));
	n++; assert_true(has(d, p, 4, "match.type: unknown event type \"io.deprov.quit\" (io.deprov.leaver, io.deprov.leaver.rescinded, io.deprov.freeze, io.deprov.unfreeze, io.deprov.reinstate)"));
	n++; assert_true(has(d, p, 4, "match.termination_kind: expected an array of strings"));
	n++; assert_true(has(d, p, 5, "unknown key \"x\" in sla"));
	n++; assert_true(has(d, p, 5, "sla.freeze_within_s: must be at least 1"));
	n++; assert_true(has(d, p, 5, "sla.complete_within_s: expected an integer"));
	n++; assert_true(has(d, p, 6, "retry.max_attempts: must be at least 1"));
	n++; assert_true(has(d, p, 6, "retry.max_backoff_ms: must not be less than initial_backoff_ms (10 < 1000)"));
	n++; assert_true(has(d, p, 9, "targets[0].steps[0]: unknown step \"fooze\" (freeze, revoke_tokens, reassign, deactivate, unfreeze, delete, reactivate)"));
	n++; assert_true(has(d, p, 10, "targets[0].steps[1]: step \"freeze\" takes no options (\"fast\" given)"));
	n++; assert_true(has(d, p, 11, "targets[0].steps[2]: step \"reassign\" needs \"objects\" (write it as {\"step\": \"reassign\", \"objects\": [...]})"));
	n++; assert_true(has(d, p, 12, "targets[0].steps[3]: step \"reassign\" needs \"objects\""));
	n++; assert_true(has(d, p, 13, "unknown key \"too\" in targets[0].steps[4] (did you mean \"to\"?)"));
	n++; assert_true(has(d, p, 13, "targets[0].steps[4].objects[1]: \"Bad Name\" is not an object name (letters, digits, '_')"));
	n++; assert_true(has(d, p, 14, "targets[0].steps[6]: step \"deactivate\" is listed twice"));
	n++; assert_true(has(d, p, 14, "targets[0].steps[7]: expected a step name or an object with \"step\""));
	n++; assert_true(has(d, p, 14, "targets[0].steps[8]: missing \"step\""));
	n++; assert_true(has(d, p, 15, "targets[1].select: give \"kind\" or \"name\""));
	n++; assert_true(has(d, p, 15, "targets[1].steps: must not be empty"));
	n++; assert_true(has(d, p, 16, "targets[2].select: unknown kind \"ldap\" (salesforce, scim, okta, graph, google)"));
	n++; assert_true(has(d, p, 17, "targets[3].select: no target named \"nosuch\" in the configuration"));
	n++; assert_true(has(d, p, 18, "unknown key \"when\" in targets[4]"));
	n++; assert_true(has(d, p, 18, "targets[4].select: give either \"kind\" or \"name\", not both"));
	n++; assert_true(has(d, p, 19, "targets[5]: missing \"select\""));
	n++; assert_true(has(d, p, 19, "targets[5].steps: expected an array"));
	n++; assert_true(has(d, p, 20, "targets[6]: expected an object"));
	n++; assert_true(has(d, p, 21, "targets[7].steps[0].to: unknown owner \"boss\" (manager; use fallback_owner for a fixed user)"));
	n++; assert_true(has(d, p, 21, "targets[7].steps[0].objects: must not be empty"));
	n++; assert_true(has(d, p, 22, "targets[8].steps[0].step: expected a string"));
	n++; assert_true(has(d, p, 22, "targets[8].steps[1]: step \"unfreeze\" takes no options (\"fallback_owner\" given)"));
	if ((int)diags_count(d) != n) {
		diags_print(d, stderr);
		fail_msg("%zu diagnostics, want %d", diags_count(d), n);
	}
	diags_free(d);

	/* Without a configuration, names are not checked. */
	d = diags_new();
	put("bad/names.json", "{ \"name\": \"n\", \"targets\": [\n"
	    "  { \"select\": { \"name\": \"nosuch\" }, \"steps\": [\"freeze\"] } ] }",
	    p, sizeof p);
	runbook_free(runbook_load_file(p, NULL, d));
	no_diags(d);
	diags_free(d);

	/* Required members and unusable files. */
	d = diags_new();
	put("bad/empty.json", "\n{ }\n", p, sizeof p);
	assert_null(runbook_load_file(p, cfg, d));
	assert_true(has(d, p, 2, "missing \"name\""));
	assert_true(has(d, p, 2, "missing \"targets\""));
	assert_int_equal(diags_count(d), 2);
	diags_free(d);

	d = diags_new();
	put("bad/notargets.json", "{ \"name\": \"x\",\n \"targets\": [] }", p,
	    sizeof p);
	assert_null(runbook_load_file(p, cfg, d));
	assert_true(has(d, p, 2, "targets: must not be empty"));
	assert_int_equal(diags_count(d), 1);
	diags_free(d);

	d = diags_new();
	put("bad/array.json", "[]", p, sizeof p);
	assert_null(runbook_load_file(p, cfg, d));
	assert_true(has(d, p, 1, "expected a JSON object at the top level"));
	diags_free(d);

	d = diags_new();
	put("bad/syntax.json", "{ \"name\": \"x\",\n  \"targets\": [\n", p,
	    sizeof p);
	assert_null(runbook_load_file(p, cfg, d));
	assert_true(has(d, p, 3, "unexpected end of input"));
	assert_int_equal(diags_count(d), 1);
	diags_free(d);

	d = diags_new();
	put("bad/sla.json", "{ \"name\": \"x\",\n"
	    "  \"sla\": { \"freeze_within_s\": 1000 },\n"
	    "  \"targets\": [ { \"select\": { \"name\": \"*\" }, \"steps\": [\"freeze\"] } ] }",
	    p, sizeof p);
	assert_null(runbook_load_file(p, cfg, d));
	assert_true(has(d, p, 2, "sla.complete_within_s: must not be less than "
	    "freeze_within_s (900 < 1000)"));
	assert_int_equal(diags_count(d), 1);
	diags_free(d);
	config_free(cfg);
}

static void
test_dir(void **state)
{
	struct diags		*d = diags_new();
	struct runbook_set	*set;
	char			 p10[PATH_MAX + 64], p20[PATH_MAX + 64];
	char			 p30[PATH_MAX + 64], dir[PATH_MAX + 64];

	put("dir/10-a.json", "{ \"name\": \"a\", \"targets\": [\n"
	    "  { \"select\": { \"name\": \"*\" }, \"steps\": [\"freeze\"] } ] }",
	    p10, sizeof p10);
	put("dir/20-b.json", "// same name as 10-a\n{\n  \"name\": \"a\",\n"
	    "  \"targets\": [ { \"select\": { \"name\": \"*\" }, "
	    "\"steps\": [\"freeze\"] } ] }", p20, sizeof p20);
	put("dir/30-bad.json", "{ \"name\": \"c\" }", p30, sizeof p30);
	put("dir/05-z.json", "{ \"name\": \"z\", \"targets\": [\n"
	    "  { \"select\": { \"kind\": \"okta\" }, \"steps\": [\"deactivate\"] } ] }",
	    NULL, 0);
	put("dir/README.md", "not a runbook", NULL, 0);
	put("dir/.hidden.json", "not json either", NULL, 0);
	put("dir/x.json.bak", "{", NULL, 0);
	snprintf(dir, sizeof dir, "%s/dir", tmpdir);
	set = runbook_load_dir(dir, NULL, d);
	assert_non_null(set);
	assert_int_equal(set->n, 2);
	assert_string_equal(set->v[0]->name, "z");
	assert_string_equal(set->v[1]->name, "a");
	assert_string_equal(set->v[1]->file, p10);
	assert_true(has(d, p20, 3, "duplicate runbook name \"a\" (also in %s)", p10));
	assert_true(has(d, p30, 1, "missing \"targets\""));
	assert_int_equal(diags_count(d), 2);
	runbook_set_free(set);
	diags_free(d);

	/* An empty directory is an empty set (deprovd complains about it). */
	d = diags_new();
	snprintf(dir, sizeof dir, "%s/emptydir", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	set = runbook_load_dir(dir, NULL, d);
	assert_non_null(set);
	assert_int_equal(set->n, 0);
	no_diags(d);
	assert_null(runbook_match(set, "io.deprov.leaver", NULL));
	runbook_set_free(set);
	diags_free(d);

	/* A missing one is fatal. */
	d = diags_new();
	snprintf(dir, sizeof dir, "%s/missing", tmpdir);
	assert_null(runbook_load_dir(dir, NULL, d));
	assert_true(has(d, dir, 0, "cannot open the runbooks directory: No such "
	    "file or directory"));
	diags_free(d);

	/* No directory at all (the configuration's runbooks was bad). */
	d = diags_new();
	assert_null(runbook_load_dir(NULL, NULL, d));
	diags_free(d);
}

static void
test_match_order(void **state)
{
	struct diags		*d = diags_new();
	struct runbook_set	*set;
	char			 dir[PATH_MAX + 64];

	put("match/10-kind.json", "{ \"name\": \"kind\", \"match\": { \"type\": "
	    "[\"io.deprov.leaver\"], \"termination_kind\": [\"involuntary\", "
	    "\"misconduct\"] },\n \"targets\": [ { \"select\": { \"name\": \"*\" }, "
	    "\"steps\": [\"freeze\"] } ] }", NULL, 0);
	put("match/20-kindonly.json", "{ \"name\": \"kindonly\", \"match\": { "
	    "\"termination_kind\": [\"layoff\"] },\n \"targets\": [ { \"select\": "
	    "{ \"name\": \"*\" }, \"steps\": [\"freeze\"] } ] }", NULL, 0);
	put("match/30-leaver.json", "{ \"name\": \"leaver\", \"match\": { \"type\": "
	    "[\"io.deprov.leaver\", \"io.deprov.freeze\"] },\n \"targets\": [ { "
	    "\"select\": { \"name\": \"*\" }, \"steps\": [\"freeze\"] } ] }", NULL, 0);
	put("match/40-all.json", "{ \"name\": \"all\", \"match\": {},\n"
	    " \"targets\": [ { \"select\": { \"name\": \"*\" }, "
	    "\"steps\": [\"freeze\"] } ] }", NULL, 0);
	snprintf(dir, sizeof dir, "%s/match", tmpdir);
	set = runbook_load_dir(dir, NULL, d);
	assert_non_null(set);
	no_diags(d);
	assert_int_equal(set->n, 4);
	assert_string_equal(runbook_match(set, "io.deprov.leaver",
	    "involuntary")->name, "kind");
	assert_string_equal(runbook_match(set, "io.deprov.leaver",
	    "misconduct")->name, "kind");
	/* A kind listed by a later runbook: the first that accepts wins. */
	assert_string_equal(runbook_match(set, "io.deprov.leaver",
	    "layoff")->name, "kindonly");
	assert_string_equal(runbook_match(set, "io.deprov.unfreeze",
	    "layoff")->name, "kindonly");
	assert_string_equal(runbook_match(set, "io.deprov.leaver",
	    "voluntary")->name, "leaver");
	/* No kind on the event: only runbooks without a kind list match. */
	assert_string_equal(runbook_match(set, "io.deprov.leaver", NULL)->name,
	    "leaver");
	assert_string_equal(runbook_match(set, "io.deprov.freeze", NULL)->name,
	    "leaver");
	assert_string_equal(runbook_match(set, "io.deprov.unfreeze", NULL)->name,
	    "all");
	assert_string_equal(runbook_match(set, "io.deprov.other", "x")->name,
	    "all");
	assert_string_equal(runbook_find(set, "kindonly")->name, "kindonly");
	assert_null(runbook_find(set, NULL));
	assert_null(runbook_match(NULL, "io.deprov.leaver", NULL));
	runbook_set_free(set);
	diags_free(d);
}

static void
test_select_order(void **state)
{
	struct diags			*d = diags_new();
	struct runbook			*rb;
	const struct runbook_target	*t;
	char				 p[PATH_MAX + 64];

	put("sel/sel.json",
	    "{ \"name\": \"sel\", \"targets\": [\n"					/* 1 */
	    "  { \"select\": { \"name\": \"special\" }, \"steps\": [\"freeze\"] },\n"	/* 2 */
	    "  { \"select\": { \"kind\": \"salesforce\" }, \"steps\": [\"freeze\", \"deactivate\"] },\n"	/* 3 */
	    "  { \"select\": { \"name\": \"*\" }, \"steps\": [\"freeze\", \"revoke_tokens\"] },\n"	/* 4 */
	    "  { \"select\": { \"kind\": \"scim\" }, \"steps\": [\"deactivate\"] },\n"	/* 5 */
	    "] }\n", p, sizeof p);
	rb = runbook_load_file(p, NULL, d);
	assert_non_null(rb);
	no_diags(d);
	assert_string_equal(rb->file, p);
	assert_int_equal(rb->ntargets, 4);
	assert_int_equal(rb->targets[0].line, 2);
	assert_int_equal(rb->targets[3].line, 5);
	/* Defaults. */
	assert_int_equal(rb->nmatch_types, 0);
	assert_int_equal(rb->freeze_within_s, 60);
	assert_int_equal(rb->complete_within_s, 900);
	assert_int_equal(rb->retry.max_attempts, 10);
	assert_int_equal(rb->retry.initial_backoff_ms, 500);
	assert_int_equal(rb->retry.max_backoff_ms, 60000);

	/* By name before kind, when the name entry comes first. */
	t = runbook_select(rb, "special", "salesforce");
	assert_ptr_equal(t, &rb->targets[0]);
	t = runbook_select(rb, "sf", "salesforce");
	assert_ptr_equal(t, &rb->targets[1]);
	assert_int_equal(t->nsteps, 2);
	/* "*" comes before the scim entry, so it takes scim targets. */
	t = runbook_select(rb, "slack", "scim");
	assert_ptr_equal(t, &rb->targets[2]);
	t = runbook_select(rb, NULL, NULL);
	assert_ptr_equal(t, &rb->targets[2]);
	assert_null(runbook_select(NULL, "x", "scim"));
	runbook_free(rb);

	/* Without "*", an unselected target gets nothing. */
	put("sel/sel2.json", "{ \"name\": \"sel2\", \"targets\": [\n"
	    "  { \"select\": { \"kind\": \"scim\" }, \"steps\": [\"freeze\"] },\n"
	    "  { \"select\": { \"name\": \"sf\" }, \"steps\": [\"deactivate\"] } ] }",
	    p, sizeof p);
	rb = runbook_load_file(p, NULL, d);
	assert_non_null(rb);
	no_diags(d);
	assert_null(runbook_select(rb, "okta", "okta"));
	assert_ptr_equal(runbook_select(rb, "sf", "salesforce"), &rb->targets[1]);
	assert_ptr_equal(runbook_select(rb, "sf", "scim"), &rb->targets[0]);
	runbook_free(rb);
	diags_free(d);
}

static void
test_step_json(void **state)
{
	static char		*objects[] = { "Account", "Opportunity" };
	struct runbook_step	 in, out;
	json_object		*j;
	int			 k;

	memset(&in, 0, sizeof in);
	in.kind = STEP_REASSIGN;
	in.to = "manager";
	in.fallback_owner = "records-admin@acme.example";
	in.objects = objects;
	in.nobjects = 2;
	j = runbook_step_to_json(&in);
	assert_non_null(j);
	assert_string_equal(json_object_to_json_string_ext(j,
	    JSON_C_TO_STRING_PLAIN), "{\"step\":\"reassign\",\"to\":\"manager\","
	    "\"fallback_owner\":\"records-admin@acme.example\",\"objects\":"
	    "[\"Account\",\"Opportunity\"]}");
	assert_int_equal(runbook_step_from_json(j, &out), 0);
	json_object_put(j);
	assert_int_equal(out.kind, STEP_REASSIGN);
	assert_string_equal(out.to, "manager");
	assert_string_equal(out.fallback_owner, "records-admin@acme.example");
	assert_int_equal(out.nobjects, 2);
	assert_string_equal(out.objects[0], "Account");
	assert_string_equal(out.objects[1], "Opportunity");
	runbook_step_clear(&out);
	assert_null(out.objects);

	/* Every kind round-trips. */
	for (k = 0; k < STEP_KIND_COUNT; k++) {
		memset(&in, 0, sizeof in);
		in.kind = (enum step_kind)k;
		j = runbook_step_to_json(&in);
		assert_non_null(j);
		assert_int_equal(runbook_step_from_json(j, &out), 0);
		assert_int_equal(out.kind, k);
		assert_int_equal(out.nobjects, 0);
		json_object_put(j);
		runbook_step_clear(&out);
	}
	memset(&in, 0, sizeof in);
	in.kind = STEP_FREEZE;
	j = runbook_step_to_json(&in);
	assert_string_equal(json_object_to_json_string_ext(j,
	    JSON_C_TO_STRING_PLAIN), "{\"step\":\"freeze\"}");
	json_object_put(j);

	/* The short form, and a reassign without "to" gets the manager. */
	j = json_object_new_string("deactivate");
	assert_int_equal(runbook_step_from_json(j, &out), 0);
	assert_int_equal(out.kind, STEP_DEACTIVATE);
	assert_null(out.to);
	json_object_put(j);
	j = json_tokener_parse("{\"step\":\"reassign\",\"objects\":[\"Case\"]}");
	assert_int_equal(runbook_step_from_json(j, &out), 0);
	assert_string_equal(out.to, "manager");
	assert_null(out.fallback_owner);
	assert_int_equal(out.nobjects, 1);
	runbook_step_clear(&out);
	json_object_put(j);

	/* Bad input leaves nothing behind. */
	j = json_tokener_parse("[{\"step\":\"fooze\"}, 5, {\"to\":\"x\"}, "
	    "{\"step\":\"reassign\",\"objects\":[\"A\", 1]}, "
	    "{\"step\":\"reassign\",\"to\":3}, {\"step\":\"reassign\","
	    "\"objects\":\"A\"}, \"x\", {\"step\":\"reassign\","
	    "\"fallback_owner\":[]}]");
	assert_non_null(j);
	for (k = 0; k < (int)json_object_array_length(j); k++) {
		assert_int_equal(runbook_step_from_json(
		    json_object_array_get_idx(j, (size_t)k), &out), -1);
		assert_null(out.to);
		assert_null(out.objects);
		assert_null(out.fallback_owner);
	}
	json_object_put(j);

	memset(&in, 0, sizeof in);
	in.kind = STEP_KIND_COUNT;
	assert_null(runbook_step_to_json(&in));
	assert_null(runbook_step_to_json(NULL));
}

static void
test_step_names(void **state)
{
	assert_string_equal(step_kind_name(STEP_FREEZE), "freeze");
	assert_string_equal(step_kind_name(STEP_REVOKE_TOKENS), "revoke_tokens");
	assert_string_equal(step_kind_name(STEP_REASSIGN), "reassign");
	assert_string_equal(step_kind_name(STEP_DEACTIVATE), "deactivate");
	assert_string_equal(step_kind_name(STEP_UNFREEZE), "unfreeze");
	assert_string_equal(step_kind_name(STEP_REACTIVATE), "reactivate");
	assert_string_equal(step_kind_name(STEP_KIND_COUNT), "unknown");
	assert_int_equal(step_kind_parse("freeze"), STEP_FREEZE);
	assert_int_equal(step_kind_parse("revoke_tokens"), STEP_REVOKE_TOKENS);
	assert_int_equal(step_kind_parse("reassign"), STEP_REASSIGN);
	assert_int_equal(step_kind_parse("deactivate"), STEP_DEACTIVATE);
	assert_int_equal(step_kind_parse("unfreeze"), STEP_UNFREEZE);
	assert_int_equal(step_kind_parse("reactivate"), STEP_REACTIVATE);
	assert_int_equal(step_kind_parse("Freeze"), -1);
	assert_int_equal(step_kind_parse(""), -1);
	assert_int_equal(step_kind_parse(NULL), -1);
}

/* --- delete, irreversible_ok, require_account (issue 4) ------------------- */

/* Targets "github" (irreversible, with a reason), "zoom" (irreversible) and "slack". */
static struct config *
make_irreversible_config(void)
{
	char		 path[PATH_MAX + 64];
	struct diags	*d = diags_new();
	struct config	*cfg;

	put("cfg/irrev.json", "{ \"kafka\": { \"brokers\": \"embedded\" },\n"
	    "  \"targets\": {\n"
	    "    \"github\": { \"kind\": \"scim\", \"base_url\": \"https://g\",\n"
	    "      \"irreversible_delete\": \"removes tokens, keys and repositories\" },\n"
	    "    \"zoom\": { \"kind\": \"scim\", \"base_url\": \"https://z\", \"irreversible_delete\": true },\n"
	    "    \"slack\": { \"kind\": \"scim\", \"base_url\": \"https://y\", \"irreversible_delete\": false } } }\n",
	    path, sizeof path);
	cfg = config_load(path, d);
	assert_non_null(cfg);
	no_diags(d);
	diags_free(d);
	assert_true(config_target_find(cfg, "github")->irreversible_delete);
	assert_false(config_target_find(cfg, "slack")->irreversible_delete);
	return cfg;
}

static void
test_delete_irreversible(void **state)
{
	struct diags			*d = diags_new();
	struct config			*cfg = make_irreversible_config();
	struct runbook			*rb;
	const struct runbook_target	*t;
	char				 p[PATH_MAX + 64];
	int				 n = 0;

	put("irrev/bad.json",
	    "{ \"name\": \"gone\",\n"						/* 1 */
	    "  \"targets\": [\n"						/* 2 */
	    "    { \"select\": { \"name\": \"github\" },\n"			/* 3 */
	    "      \"steps\": [ \"freeze\", \"delete\" ] },\n"		/* 4 */
	    "    { \"select\": { \"name\": \"slack\" }, \"steps\": [ \"delete\" ] },\n"	/* 5 */
	    "    { \"select\": { \"kind\": \"scim\" }, \"steps\": [\n"	/* 6 */
	    "        { \"step\": \"delete\", \"irreversible_ok\": false } ] },\n"	/* 7 */
	    "    { \"select\": { \"name\": \"*\" }, \"require_account\": 1, \"steps\": [\n"	/* 8 */
	    "        { \"step\": \"freeze\", \"irreversible_ok\": true },\n"	/* 9 */
	    "        { \"step\": \"delete\", \"irreversible_ok\": \"yes\" } ] }\n"	/* 10 */
	    "  ] }\n", p, sizeof p);
	assert_null(runbook_load_file(p, cfg, d));
	n++; assert_true(has(d, p, 4, "delete on target \"github\" is irreversible (removes tokens, keys and repositories); add \"irreversible_ok\": true to the step to allow it"));
	n++; assert_true(has(d, p, 7, "delete on target \"zoom\" is irreversible (the account and its data cannot be restored); add \"irreversible_ok\": true to the step to allow it"));
	n++; assert_true(has(d, p, 8, "targets[3].require_account: expected true or false"));
	n++; assert_true(has(d, p, 9, "targets[3].steps[0]: step \"freeze\" takes no options (\"irreversible_ok\" given)"));
	n++; assert_true(has(d, p, 10, "targets[3].steps[1].irreversible_ok: expected true or false"));
	if ((int)diags_count(d) != n) {
		diags_print(d, stderr);
		fail_msg("%zu diagnostics, want %d", diags_count(d), n);
	}
	diags_free(d);

	/* Allowed explicitly; and delete is put after deactivate. */
	d = diags_new();
	put("irrev/ok.json",
	    "{ \"name\": \"gone\", \"targets\": [\n"
	    "  { \"select\": { \"name\": \"github\" }, \"require_account\": true,\n"
	    "    \"steps\": [ \"freeze\", { \"step\": \"delete\", \"irreversible_ok\": true },\n"
	    "                \"deactivate\", \"revoke_tokens\" ] },\n"
	    "  { \"select\": { \"kind\": \"scim\" }, \"steps\": [ \"deactivate\" ] } ] }\n",
	    p, sizeof p);
	rb = runbook_load_file(p, cfg, d);
	no_diags(d);
	assert_non_null(rb);
	t = runbook_select(rb, "github", "scim");
	assert_non_null(t);
	assert_true(t->require_account);
	assert_int_equal(t->nsteps, 4);
	assert_int_equal(t->steps[0].kind, STEP_FREEZE);
	assert_int_equal(t->steps[1].kind, STEP_DEACTIVATE);
	assert_int_equal(t->steps[2].kind, STEP_REVOKE_TOKENS);
	assert_int_equal(t->steps[3].kind, STEP_DELETE);
	assert_true(t->steps[3].irreversible_ok);
	assert_true(t->steps[0].require_account && t->steps[3].require_account);
	assert_int_equal(t->steps[3].line, 3);
	t = runbook_select(rb, "slack", "scim");
	assert_false(t->require_account);
	assert_false(t->steps[0].require_account);
	runbook_free(rb);

	/* Without a configuration nothing is known about the targets. */
	put("irrev/nocfg.json", "{ \"name\": \"n\", \"targets\": [\n"
	    "  { \"select\": { \"name\": \"github\" }, \"steps\": [\"delete\"] } ] }",
	    p, sizeof p);
	runbook_free(runbook_load_file(p, NULL, d));
	no_diags(d);
	diags_free(d);
	config_free(cfg);
}

static void
test_step_json_options(void **state)
{
	struct runbook_step	 in, out;
	json_object		*j;

	assert_string_equal(step_kind_name(STEP_DELETE), "delete");
	assert_int_equal(step_kind_parse("delete"), STEP_DELETE);

	memset(&in, 0, sizeof in);
	in.kind = STEP_DELETE;
	in.irreversible_ok = 1;
	in.require_account = 1;
	in.line = 12;
	j = runbook_step_to_json(&in);
	assert_string_equal(json_object_to_json_string_ext(j,
	    JSON_C_TO_STRING_PLAIN), "{\"step\":\"delete\","
	    "\"irreversible_ok\":true,\"require_account\":true}");
	assert_int_equal(runbook_step_from_json(j, &out), 0);
	json_object_put(j);
	assert_int_equal(out.kind, STEP_DELETE);
	assert_true(out.irreversible_ok);
	assert_true(out.require_account);
	runbook_step_clear(&out);

	memset(&in, 0, sizeof in);
	in.kind = STEP_FREEZE;
	in.require_account = 1;
	j = runbook_step_to_json(&in);
	assert_string_equal(json_object_to_json_string_ext(j,
	    JSON_C_TO_STRING_PLAIN), "{\"step\":\"freeze\","
	    "\"require_account\":true}");
	assert_int_equal(runbook_step_from_json(j, &out), 0);
	assert_true(out.require_account);
	assert_false(out.irreversible_ok);
	json_object_put(j);
	runbook_step_clear(&out);

	/* Steps stored before these options existed read as off. */
	j = json_tokener_parse("{\"step\":\"delete\"}");
	assert_int_equal(runbook_step_from_json(j, &out), 0);
	assert_false(out.irreversible_ok || out.require_account);
	json_object_put(j);
	j = json_tokener_parse("{\"step\":\"delete\",\"irreversible_ok\":1}");
	assert_int_equal(runbook_step_from_json(j, &out), -1);
	json_object_put(j);
	j = json_tokener_parse("{\"step\":\"freeze\",\"require_account\":\"y\"}");
	assert_int_equal(runbook_step_from_json(j, &out), -1);
	json_object_put(j);
}

/* --- reactivate (the reinstate runbook) --------------------------------- */

static void
test_reactivate(void **state)
{
	struct diags			*d = diags_new();
	struct config			*cfg = make_config();
	struct runbook			*rb;
	const struct runbook_target	*t;
	struct runbook_step		 out;
	json_object			*j;
	char				 p[PATH_MAX + 64];
	int				 n = 0;

	(void)state;
	put("react/ok.json",
	    "{ \"name\": \"reinstate\", \"match\": { \"type\": [\"io.deprov.reinstate\"] },\n"
	    "  \"targets\": [\n"
	    "    { \"select\": { \"kind\": \"salesforce\" }, \"steps\": [ \"unfreeze\", \"reactivate\" ] },\n"
	    "    { \"select\": { \"name\": \"*\" }, \"require_account\": true, \"steps\": [ \"reactivate\" ] } ] }\n",
	    p, sizeof p);
	rb = runbook_load_file(p, cfg, d);
	no_diags(d);
	assert_non_null(rb);
	t = runbook_select(rb, "sf", "salesforce");
	assert_int_equal(t->nsteps, 2);
	assert_int_equal(t->steps[1].kind, STEP_REACTIVATE);
	t = runbook_select(rb, "slack", "scim");
	assert_int_equal(t->steps[0].kind, STEP_REACTIVATE);
	assert_true(t->steps[0].require_account);
	runbook_free(rb);

	/* It undoes freeze, deactivate and delete: never beside them. */
	put("react/bad.json",
	    "{ \"name\": \"mixed\", \"match\": { \"type\": [\"io.deprov.reinstate\"] },\n"	/* 1 */
	    "  \"targets\": [\n"							/* 2 */
	    "    { \"select\": { \"kind\": \"salesforce\" }, \"steps\": [\n"		/* 3 */
	    "        \"freeze\",\n"							/* 4 */
	    "        \"reactivate\",\n"							/* 5 */
	    "        \"deactivate\", { \"step\": \"reactivate\", \"fast\": 1 } ] },\n"	/* 6 */
	    "    { \"select\": { \"name\": \"*\" }, \"steps\": [ \"delete\", \"reactivate\" ] } ] }\n",	/* 7 */
	    p, sizeof p);
	assert_null(runbook_load_file(p, cfg, d));
	n++; assert_true(has(d, p, 4, "targets[0]: step \"freeze\" cannot be listed with \"reactivate\" (a reinstate brings the account back; it does not also take it away)"));
	n++; assert_true(has(d, p, 6, "targets[0]: step \"deactivate\" cannot be listed with \"reactivate\" (a reinstate brings the account back; it does not also take it away)"));
	n++; assert_true(has(d, p, 6, "targets[0].steps[3]: step \"reactivate\" takes no options (\"fast\" given)"));
	n++; assert_true(has(d, p, 7, "targets[1]: step \"delete\" cannot be listed with \"reactivate\" (a reinstate brings the account back; it does not also take it away)"));
	if ((int)diags_count(d) != n) {
		diags_print(d, stderr);
		fail_msg("%zu diagnostics, want %d", diags_count(d), n);
	}
	diags_free(d);

	/* Only in a runbook for rehires: never one that leavers could take. */
	d = diags_new();
	put("react/leaver.json",
	    "{ \"name\": \"oops\", \"match\": { \"type\": [\"io.deprov.leaver\", \"io.deprov.freeze\"] },\n"
	    "  \"targets\": [ { \"select\": { \"name\": \"*\" },\n"
	    "    \"steps\": [ \"reactivate\" ] } ] }\n", p, sizeof p);
	assert_null(runbook_load_file(p, cfg, d));
	assert_true(has(d, p, 3, "step \"reactivate\" in a runbook that matches io.deprov.leaver: it would give the account back instead of taking it away"));
	assert_true(has(d, p, 3, "step \"reactivate\" in a runbook that matches io.deprov.freeze: it would give the account back instead of taking it away"));
	assert_int_equal(diags_count(d), 2);
	diags_free(d);

	d = diags_new();
	put("react/any.json",
	    "{ \"name\": \"any\",\n"
	    "  \"targets\": [ { \"select\": { \"name\": \"*\" }, \"steps\": [ \"reactivate\" ] } ] }\n",
	    p, sizeof p);
	assert_null(runbook_load_file(p, cfg, d));
	assert_true(has(d, p, 2, "step \"reactivate\" needs a match.type that names the events it runs for (e.g. io.deprov.reinstate): without one the runbook matches leavers too"));
	assert_int_equal(diags_count(d), 1);
	diags_free(d);

	/* Stored with a case and read back. */
	j = json_object_new_string("reactivate");
	assert_int_equal(runbook_step_from_json(j, &out), 0);
	assert_int_equal(out.kind, STEP_REACTIVATE);
	json_object_put(j);
	config_free(cfg);
}

/* --- the kinds check the steps (connector descriptors) ------------------- */

/* One target of every kind, two of scim. */
static struct config *
make_kinds_config(void)
{
	char		 path[PATH_MAX + 64];
	struct diags	*d = diags_new();
	struct config	*cfg;

	put("cfg/kinds.json", "{ \"kafka\": { \"brokers\": \"embedded\" },\n"
	    "  \"targets\": {\n"
	    "    \"sf\": { \"kind\": \"salesforce\", \"base_url\": \"https://x\" },\n"
	    "    \"slack\": { \"kind\": \"scim\", \"base_url\": \"https://y\" },\n"
	    "    \"zoom\": { \"kind\": \"scim\", \"base_url\": \"https://z\" },\n"
	    "    \"okta\": { \"kind\": \"okta\", \"base_url\": \"https://o\" },\n"
	    "    \"entra\": { \"kind\": \"graph\", \"base_url\": \"https://e\" },\n"
	    "    \"ws\": { \"kind\": \"google\", \"base_url\": \"https://g\" } } }\n",
	    path, sizeof path);
	cfg = config_load(path, d);
	assert_non_null(cfg);
	no_diags(d);
	diags_free(d);
	return cfg;
}

/*
 * A reassign step's objects must be ones the selected kind reassigns: a
 * Salesforce object with an owner (or a custom one), a Google Data Transfer
 * application; "did you mean" for a near miss.
 */
static void
test_kind_objects(void **state)
{
	struct diags	*d = diags_new();
	struct config	*cfg = make_kinds_config();
	struct runbook	*rb;
	char		 p[PATH_MAX + 64];
	int		 n = 0;

	(void)state;
	put("kinds/objects.json",
	    "{ \"name\": \"objects\", \"targets\": [\n"			/* 1 */
	    "  { \"select\": { \"kind\": \"salesforce\" }, \"steps\": [\n"	/* 2 */
	    "      { \"step\": \"reassign\", \"objects\": [\n"		/* 3 */
	    "          \"Account\", \"case\", \"Invoice__c\",\n"	/* 4 */
	    "          \"Acount\",\n"					/* 5 */
	    "          \"Drvie\" ] } ] },\n"				/* 6 */
	    "  { \"select\": { \"name\": \"ws\" }, \"steps\": [ \"freeze\",\n"	/* 7 */
	    "      { \"step\": \"reassign\", \"objects\": [\"Drvie\", \"drive\", \"Mail\"] } ] },\n"	/* 8 */
	    "  { \"select\": { \"name\": \"*\" }, \"steps\": [ \"freeze\",\n"	/* 9 */
	    "      { \"step\": \"reassign\", \"objects\": [\"Lead\"] } ] } ] }\n",	/* 10 */
	    p, sizeof p);
	assert_null(runbook_load_file(p, cfg, d));
	n++; assert_true(has(d, p, 5, "targets[0].steps[0].objects[3]: \"Acount\" is not an object salesforce reassigns (did you mean \"Account\"?)"));
	n++; assert_true(has(d, p, 6, "targets[0].steps[0].objects[4]: \"Drvie\" is not an object salesforce reassigns (a standard object with an owner: Account, Asset, Campaign, Case, Contact, Contract, Event, Lead, Opportunity, Order, ServiceContract, Solution, Task, WorkOrder; or a custom object, Name__c)"));
	n++; assert_true(has(d, p, 8, "targets[1].steps[1].objects[0]: \"Drvie\" is not a Data Transfer application google transfers (did you mean \"Drive\"?)"));
	n++; assert_true(has(d, p, 8, "targets[1].steps[1].objects[2]: \"Mail\" is not a Data Transfer application google transfers (only \"Drive\", i.e. \"Drive and Docs\")"));
	if ((int)diags_count(d) != n) {
		diags_print(d, stderr);
		fail_msg("%zu diagnostics, want %d", diags_count(d), n);
	}
	/* The last entry gets slack, zoom, okta and entra: they skip reassign. */
	assert_true(has_warning(d, p, 10, "targets[2].steps[1]: \"reassign\" is skipped at targets \"slack\", \"zoom\" (kind scim): SCIM has no record ownership to reassign"));
	assert_true(has_warning(d, p, 10, "targets[2].steps[1]: \"reassign\" is skipped at target \"okta\" (kind okta): Okta holds no owned records to reassign"));
	assert_true(has_warning(d, p, 10, "targets[2].steps[1]: \"reassign\" is skipped at target \"entra\" (kind graph): Microsoft Graph's user API has no ownership transfer (OneDrive files, group and app ownership are not reassigned by this connector)"));
	assert_int_equal(diags_warnings(d), 3);
	diags_free(d);

	/* Selected by kind: checked by that kind, configured or not. */
	d = diags_new();
	put("kinds/bykind.json",
	    "{ \"name\": \"bykind\", \"targets\": [\n"
	    "  { \"select\": { \"kind\": \"google\" }, \"steps\": [\n"
	    "      { \"step\": \"reassign\", \"objects\": [\"Drvie\"] } ] } ] }\n",
	    p, sizeof p);
	assert_null(runbook_load_file(p, NULL, d));
	assert_true(has(d, p, 3, "targets[0].steps[0].objects[0]: \"Drvie\" is not a Data Transfer application google transfers (did you mean \"Drive\"?)"));
	assert_int_equal(diags_count(d), 1);
	diags_free(d);

	/* Good objects everywhere: the runbook loads. */
	d = diags_new();
	put("kinds/good.json",
	    "{ \"name\": \"good\", \"targets\": [\n"
	    "  { \"select\": { \"kind\": \"salesforce\" }, \"steps\": [\n"
	    "      { \"step\": \"reassign\", \"objects\": [\"Opportunity\", \"Task\", \"Widget__c\"] } ] },\n"
	    "  { \"select\": { \"kind\": \"google\" }, \"steps\": [\n"
	    "      { \"step\": \"reassign\", \"objects\": [\"Drive\"] } ] } ] }\n",
	    p, sizeof p);
	rb = runbook_load_file(p, cfg, d);
	assert_non_null(rb);
	no_diags(d);
	assert_int_equal(diags_warnings(d), 0);
	runbook_free(rb);
	diags_free(d);
	config_free(cfg);
}

/*
 * A step the selected kind does not do is skipped there: a warning, and the
 * runbook loads. An entry for a kind or a target none of whose steps it
 * does is meaningless: an error. Only the first entry that selects a target
 * is checked against it.
 */
static void
test_kind_skips(void **state)
{
	struct diags			*d = diags_new();
	struct config			*cfg = make_kinds_config();
	struct runbook			*rb;
	const struct runbook_target	*t;
	char				 p[PATH_MAX + 64];

	(void)state;
	put("kinds/skips.json",
	    "{ \"name\": \"skips\", \"targets\": [\n"				/* 1 */
	    "  { \"select\": { \"kind\": \"salesforce\" },\n"		/* 2 */
	    "    \"steps\": [ \"freeze\", \"revoke_tokens\", \"delete\" ] },\n"	/* 3 */
	    "  { \"select\": { \"name\": \"*\" },\n"				/* 4 */
	    "    \"steps\": [ \"freeze\",\n"					/* 5 */
	    "               \"revoke_tokens\" ] } ] }\n",			/* 6 */
	    p, sizeof p);
	rb = runbook_load_file(p, cfg, d);
	assert_non_null(rb);
	no_diags(d);
	assert_true(has_warning(d, p, 3, "targets[0].steps[2]: \"delete\" is skipped at target \"sf\" (kind salesforce): not supported by salesforce"));
	assert_true(has_warning(d, p, 6, "targets[1].steps[1]: \"revoke_tokens\" is skipped at targets \"slack\", \"zoom\" (kind scim): SCIM has no token revocation (RFC 7644 defines no such operation)"));
	/* sf takes the first entry: the second says nothing about it. */
	assert_int_equal(diags_warnings(d), 2);
	t = runbook_select(rb, "sf", "salesforce");
	assert_int_equal(t->nsteps, 3);
	runbook_free(rb);
	diags_free(d);

	/* Nothing of an entry runs at what it names: an error. */
	d = diags_new();
	put("kinds/none.json",
	    "{ \"name\": \"none\", \"targets\": [\n"			/* 1 */
	    "  { \"select\": { \"name\": \"okta\" },\n"			/* 2 */
	    "    \"steps\": [ { \"step\": \"reassign\", \"objects\": [\"Account\"] }, \"delete\" ] },\n"	/* 3 */
	    "  { \"select\": { \"kind\": \"scim\" }, \"steps\": [ \"revoke_tokens\" ] },\n"	/* 4 */
	    "  { \"select\": { \"name\": \"*\" }, \"steps\": [ \"reassign\" ] } ] }\n",	/* 5 */
	    p, sizeof p);
	assert_null(runbook_load_file(p, cfg, d));
	assert_true(has(d, p, 2, "targets[0]: no step of it runs at target \"okta\" (kind okta): \"reassign\" is skipped (Okta holds no owned records to reassign); \"delete\" is skipped (delete is not done by the okta connector: deactivate (DEPROVISIONED) is the end state; deleting the user is left to an administrator)"));
	assert_true(has(d, p, 4, "targets[1]: no step of it runs at targets \"slack\", \"zoom\" (kind scim): \"revoke_tokens\" is skipped (SCIM has no token revocation (RFC 7644 defines no such operation))"));
	/* "reassign" without objects is refused before any kind looks at it. */
	assert_true(has(d, p, 5, "targets[2].steps[0]: step \"reassign\" needs \"objects\" (write it as {\"step\": \"reassign\", \"objects\": [...]})"));
	assert_int_equal(diags_count(d), 3);
	assert_int_equal(diags_warnings(d), 0);
	diags_free(d);

	/* "*" with a step some targets skip and others do: warnings only. */
	d = diags_new();
	put("kinds/star.json",
	    "{ \"name\": \"star\", \"targets\": [\n"
	    "  { \"select\": { \"name\": \"*\" }, \"steps\": [ \"delete\" ] } ] }\n",
	    p, sizeof p);
	rb = runbook_load_file(p, cfg, d);
	assert_non_null(rb);
	no_diags(d);
	/* salesforce, okta, graph and google skip delete; scim does it. */
	assert_int_equal(diags_warnings(d), 4);
	runbook_free(rb);
	diags_free(d);

	/* Without a configuration only what is selected by kind is known. */
	d = diags_new();
	put("kinds/nocfg.json",
	    "{ \"name\": \"nocfg\", \"targets\": [\n"			/* 1 */
	    "  { \"select\": { \"kind\": \"graph\" }, \"steps\": [ \"freeze\",\n"	/* 2 */
	    "      { \"step\": \"reassign\", \"objects\": [\"Drive\"] } ] },\n"	/* 3 */
	    "  { \"select\": { \"name\": \"slack\" }, \"steps\": [ \"revoke_tokens\" ] } ] }\n",	/* 4 */
	    p, sizeof p);
	rb = runbook_load_file(p, NULL, d);
	assert_non_null(rb);
	no_diags(d);
	assert_true(has_warning(d, p, 3, "targets[0].steps[1]: \"reassign\" is skipped at kind graph: Microsoft Graph's user API has no ownership transfer (OneDrive files, group and app ownership are not reassigned by this connector)"));
	assert_int_equal(diags_warnings(d), 1);
	runbook_free(rb);
	diags_free(d);
	config_free(cfg);
}

static int
setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_runbook.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 32];

	if (strncmp(tmpdir, "/tmp/test_runbook.", 18) != 0)
		return -1;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_diagnostics),
		cmocka_unit_test(test_dir),
		cmocka_unit_test(test_match_order),
		cmocka_unit_test(test_select_order),
		cmocka_unit_test(test_step_json),
		cmocka_unit_test(test_step_names),
		cmocka_unit_test(test_delete_irreversible),
		cmocka_unit_test(test_step_json_options),
		cmocka_unit_test(test_reactivate),
		cmocka_unit_test(test_kind_objects),
		cmocka_unit_test(test_kind_skips),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
