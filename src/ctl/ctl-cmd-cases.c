/*
 * ctl-cmd-cases: the read-only views of the admin API. "cases" lists cases,
 * newest first, as a table; "case ID" shows one case: its subject, state and
 * SLA deadlines, whether it is contained (per target), its steps and its
 * timeline. --json prints the API's reply as received.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "deprov/case.h"
#include "deprov/http.h"
#include "ctl.h"

static int	ctl_cmd_cases_exec(struct ctl *, struct ctl_args *);
static int	ctl_cmd_case_exec(struct ctl *, struct ctl_args *);
static const char *ctl_short_type(const char *);
static void	ctl_deadline(const char *, int64_t, int64_t, int);
static void	ctl_containment(json_object *);
static int64_t	ctl_case_due(json_object *);
static int64_t	ctl_since_due(int64_t, int64_t);

static const struct ctl_opt ctl_cmd_cases_opts[] = {
	{ .name = "state", .type = CTL_OPT_STR },
	{ .name = "subject", .type = CTL_OPT_STR },
	{ .name = "limit", .type = CTL_OPT_INT, .min = 1, .max = 1000,
	  .bad = "expected a number from 1 to 1000" },
	{ .name = NULL }
};

const struct ctl_cmd_entry ctl_cmd_cases_entry = {
	.name = "cases",
	.usage = "cases [--state S] [--subject K] [--limit N]",
	.help =
	  "List cases, newest first (GET /v1/cases; viewer role).\n"
	  "\n"
	  "  --state S     only cases in state S (received, scheduled, freezing,\n"
	  "                contained, remediating, deactivating, completed,\n"
	  "                cancelled, escalated)\n"
	  "  --subject K   only cases of subject key K (employee id, or the\n"
	  "                email/username a freeze was issued for)\n"
	  "  --limit N     at most N cases (1-1000, default 50)\n",
	.opts = ctl_cmd_cases_opts,
	.exec = ctl_cmd_cases_exec
};

const struct ctl_cmd_entry ctl_cmd_case_entry = {
	.name = "case",
	.usage = "case ID",
	.help =
	  "Show one case: subject, state, SLA status, steps per target and the\n"
	  "timeline (GET /v1/cases/ID; viewer role).\n",
	.nargs = 1,
	.flags = CTL_CMD_CASE_ID,
	.exec = ctl_cmd_case_exec
};

/*
 * When the case was due: its creation, or its effective time when later (a
 * scheduled leaver). The SLA budgets count from here (the deadlines are
 * set so), and so must "frozen after", or a case frozen on time would
 * seem days late.
 */
static int64_t
ctl_case_due(json_object *c)
{
	int64_t created = ctl_api_i64(c, "created_ms");
	int64_t effective = ctl_api_i64(c, "effective_ms");

	return effective > created ? effective : created;
}

/* Milliseconds from due to at, never below 0 (as the dashboard shows it). */
static int64_t
ctl_since_due(int64_t at, int64_t due)
{
	return at > due ? at - due : 0;
}

/* "io.deprov.leaver" -> "leaver". */
static const char *
ctl_short_type(const char *t)
{
	if (t != NULL && strncmp(t, "io.deprov.", 10) == 0)
		return t + 10;
	return t;
}

static int
ctl_cmd_cases_exec(struct ctl *ctl, struct ctl_args *args)
{
	json_object		*o = NULL, *arr, *c;
	struct ctl_table	 t;
	char			 path[1024], *q1 = NULL, *q2 = NULL, *raw = NULL;
	char			 created[40], ttf[32], note[256], id[32];
	char			 evt[96];
	const char		*cells[8], *n;
	size_t			 i, len;
	int64_t			 fz;
	const char		*state = ctl_args_get(args, "state");
	const char		*subject = ctl_args_get(args, "subject");
	int			 rc;

	/* Checked here too: a typo must not read as "no cases". */
	if (state != NULL && case_state_parse(state) < 0)
		return ctl_usage_error(ctl, "--state: \"%s\" is not a case "
		    "state (see deprovctl cases --help)", state);
	snprintf(path, sizeof path, "/v1/cases?limit=%lld",
	    ctl_args_int(args, "limit", 50));
	if (state != NULL) {
		if ((q1 = http_urlencode(state)) == NULL)
			return ctl_fail(CTL_FAILED, "out of memory");
		len = strlen(path);
		snprintf(path + len, sizeof path - len, "&state=%s", q1);
	}
	if (subject != NULL) {
		if ((q2 = http_urlencode(subject)) == NULL) {
			free(q1);
			return ctl_fail(CTL_FAILED, "out of memory");
		}
		len = strlen(path);
		snprintf(path + len, sizeof path - len, "&subject=%s", q2);
	}
	free(q1);
	free(q2);
	if ((rc = ctl_api_call(ctl, "GET", path, NULL, &o, &raw)) != CTL_OK)
		return rc;
	if (ctl->json) {
		ctl_print_raw(raw);
		goto done;
	}
	if (!json_object_object_get_ex(o, "cases", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		rc = ctl_fail(CTL_FAILED, "unexpected reply: no cases array");
		goto done;
	}
	if (json_object_array_length(arr) == 0) {
		printf("no cases\n");
		goto done;
	}
	ctl_table_init(&t, 8);
	cells[0] = "ID"; cells[1] = "STATE"; cells[2] = "SUBJECT";
	cells[3] = "RUNBOOK"; cells[4] = "EVENT"; cells[5] = "CREATED (UTC)";
	cells[6] = "FROZEN AFTER"; cells[7] = "REASON / ERROR";
	ctl_table_row(&t, cells);
	for (i = 0; i < json_object_array_length(arr); i++) {
		c = json_object_array_get_idx(arr, i);
		snprintf(id, sizeof id, "%" PRId64, ctl_api_i64(c, "id"));
		fz = ctl_api_i64(c, "frozen_ms");
		n = ctl_api_str(c, "error") != NULL ? ctl_api_str(c, "error") :
		    ctl_api_str(c, "reason");
		cells[0] = id;
		cells[1] = ctl_api_str(c, "state");
		cells[2] = ctl_api_str(c, "subject_key");
		cells[3] = ctl_api_str(c, "runbook");
		snprintf(evt, sizeof evt, "%s%s", ctl_short_type(ctl_api_str(c,
		    "event_type")) != NULL ? ctl_short_type(ctl_api_str(c,
		    "event_type")) : "-", json_object_get_boolean(
		    json_object_object_get(c, "urgent")) ? " (urgent)" : "");
		cells[4] = evt;
		cells[5] = ctl_table_time(ctl_api_i64(c, "created_ms"), created,
		    sizeof created);
		cells[6] = fz > 0 ? ctl_table_duration(ctl_since_due(fz,
		    ctl_case_due(c)), ttf, sizeof ttf) : NULL;
		cells[7] = ctl_table_short(n, CTL_TABLE_NOTE_WIDTH, note,
		    sizeof note);
		ctl_table_row(&t, cells);
	}
	ctl_table_print(&t, stdout);
	ctl_table_free(&t);
done:
	free(raw);
	json_object_put(o);
	return rc;
}

/* One deadline line: "2026-...  met" / "BREACHED" / "open". */
static void
ctl_deadline(const char *key, int64_t deadline, int64_t at, int breached)
{
	char when[40], line[160], d[32];

	if (deadline <= 0) {
		ctl_table_kv(key, "-");
		return;
	}
	if (breached)
		snprintf(line, sizeof line, "%s  BREACHED%s%s", ctl_table_time(
		    deadline, when, sizeof when), at > 0 ? " by " : "",
		    at > 0 ? ctl_table_duration(at - deadline, d, sizeof d) : "");
	else
		snprintf(line, sizeof line, "%s  %s", ctl_table_time(deadline, when,
		    sizeof when), at > 0 ? "met" : "open");
	ctl_table_kv(key, line);
}

/*
 * Containment: whether every freeze held, and per target frozen (when),
 * failed (why), skipped (why) or still pending. A case that freezes
 * nothing (an unfreeze, a reinstate) has none.
 */
static void
ctl_containment(json_object *o)
{
	json_object		*arr, *e, *v;
	struct ctl_table	 t;
	const char		*cells[3];
	char			 w1[40], note[256];
	size_t			 i;

	v = json_object_object_get(o, "contained");
	if (v == NULL || !json_object_object_get_ex(o, "containment", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return;
	ctl_table_kv("contained", json_object_get_boolean(v) ? "yes: locked out "
	    "at every target" : "NO: still exposed at a target below");
	printf("\ncontainment:\n");
	ctl_table_init(&t, 3);
	cells[0] = "TARGET"; cells[1] = "STATUS";
	cells[2] = "FROZEN AT (UTC) / ERROR / REASON";
	ctl_table_row(&t, cells);
	for (i = 0; i < json_object_array_length(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		if (ctl_api_str(e, "status") != NULL &&
		    strcmp(ctl_api_str(e, "status"), "none") == 0)
			continue;
		cells[0] = ctl_api_str(e, "target");
		cells[1] = ctl_api_str(e, "status");
		if (ctl_api_i64(e, "at_ms") > 0)
			cells[2] = ctl_table_time(ctl_api_i64(e, "at_ms"), w1,
			    sizeof w1);
		else
			cells[2] = ctl_table_short(ctl_api_str(e, "error") !=
			    NULL ? ctl_api_str(e, "error") : ctl_api_str(e,
			    "reason"), CTL_TABLE_NOTE_WIDTH + 20, note,
			    sizeof note);
		ctl_table_row(&t, cells);
	}
	ctl_table_print(&t, stdout);
	ctl_table_free(&t);
}

static int
ctl_cmd_case_exec(struct ctl *ctl, struct ctl_args *args)
{
	json_object		*o = NULL, *subj, *arr, *e, *sla;
	struct ctl_table	 t;
	char			 path[64], buf[512], w1[40], w2[40], att[16];
	char			*raw = NULL, note[256];
	const char		*cells[6], *err, *since;
	long long		 id;
	int64_t			 created, frozen, completed, due;
	size_t			 i;
	int			 rc;

	id = ctl_case_id(args);
	snprintf(path, sizeof path, "/v1/cases/%lld", id);
	if ((rc = ctl_api_call(ctl, "GET", path, NULL, &o, &raw)) != CTL_OK)
		return rc;
	if (ctl->json) {
		ctl_print_raw(raw);
		goto done;
	}
	created = ctl_api_i64(o, "created_ms");
	frozen = ctl_api_i64(o, "frozen_ms");
	completed = ctl_api_i64(o, "completed_ms");
	snprintf(buf, sizeof buf, "%" PRId64, ctl_api_i64(o, "id"));
	ctl_table_kv("case", buf);
	snprintf(buf, sizeof buf, "%s%s", ctl_api_str(o, "state") != NULL ?
	    ctl_api_str(o, "state") : "?", json_object_get_boolean(
	    json_object_object_get(o, "urgent")) ? " (urgent)" : "");
	ctl_table_kv("state", buf);
	ctl_table_kv("runbook", ctl_api_str(o, "runbook"));
	ctl_table_kv("event", ctl_api_str(o, "event_type"));
	ctl_table_kv("subject", ctl_api_str(o, "subject_key"));
	if (json_object_object_get_ex(o, "subject", &subj) && subj != NULL) {
		ctl_table_kv("  email", ctl_api_str(subj, "email"));
		if (ctl_api_str(subj, "username") != NULL &&
		    (ctl_api_str(subj, "email") == NULL || strcmp(ctl_api_str(subj,
		    "username"), ctl_api_str(subj, "email")) != 0))
			ctl_table_kv("  username", ctl_api_str(subj, "username"));
		if (ctl_api_str(subj, "manager_email") != NULL)
			ctl_table_kv("  manager", ctl_api_str(subj,
			    "manager_email"));
	}
	ctl_table_kv("reason", ctl_api_str(o, "reason"));
	ctl_table_kv("created", ctl_table_time(created, w1, sizeof w1));
	if (ctl_api_i64(o, "effective_ms") > 0)
		ctl_table_kv("effective", ctl_table_time(ctl_api_i64(o,
		    "effective_ms"), w1, sizeof w1));
	/* Counted from when it was due, as its deadlines are. */
	due = ctl_case_due(o);
	since = due > created ? "effective" : "created";
	if (frozen > 0) {
		snprintf(buf, sizeof buf, "%s  (%s after %s)",
		    ctl_table_time(frozen, w1, sizeof w1),
		    ctl_table_duration(ctl_since_due(frozen, due), w2,
		    sizeof w2), since);
		ctl_table_kv("frozen", buf);
	} else
		ctl_table_kv("frozen", "-");
	if (completed > 0) {
		snprintf(buf, sizeof buf, "%s  (%s after %s)",
		    ctl_table_time(completed, w1, sizeof w1),
		    ctl_table_duration(ctl_since_due(completed, due), w2,
		    sizeof w2), since);
		ctl_table_kv("ended", buf);
	} else
		ctl_table_kv("ended", "-");
	sla = json_object_object_get(o, "sla");
	ctl_deadline("freeze by", ctl_api_i64(o, "freeze_deadline_ms"), frozen,
	    sla != NULL && json_object_get_boolean(json_object_object_get(sla,
	    "freeze_breached")));
	ctl_deadline("complete by", ctl_api_i64(o, "complete_deadline_ms"),
	    completed, sla != NULL && json_object_get_boolean(
	    json_object_object_get(sla, "complete_breached")));
	if ((err = ctl_api_str(o, "error")) != NULL)
		ctl_table_kv("error", err);
	ctl_containment(o);

	if (json_object_object_get_ex(o, "steps", &arr) &&
	    json_object_is_type(arr, json_type_array) &&
	    json_object_array_length(arr) > 0) {
		printf("\nsteps:\n");
		ctl_table_init(&t, 6);
		cells[0] = "TARGET"; cells[1] = "STEP"; cells[2] = "STATE";
		cells[3] = "ATTEMPTS"; cells[4] = "FINISHED (UTC)";
		cells[5] = "ERROR / DETAIL";
		ctl_table_row(&t, cells);
		for (i = 0; i < json_object_array_length(arr); i++) {
			e = json_object_array_get_idx(arr, i);
			snprintf(att, sizeof att, "%" PRId64,
			    ctl_api_i64(e, "attempts"));
			cells[0] = ctl_api_str(e, "target");
			cells[1] = ctl_api_str(e, "step");
			cells[2] = ctl_api_str(e, "state");
			cells[3] = att;
			cells[4] = ctl_table_time(ctl_api_i64(e, "finished_ms"),
			    w1, sizeof w1);
			cells[5] = ctl_table_short(ctl_api_str(e, "last_error") !=
			    NULL ? ctl_api_str(e, "last_error") : ctl_api_str(e,
			    "detail"), CTL_TABLE_NOTE_WIDTH, note, sizeof note);
			ctl_table_row(&t, cells);
		}
		ctl_table_print(&t, stdout);
		ctl_table_free(&t);
	}
	if (json_object_object_get_ex(o, "timeline", &arr) &&
	    json_object_is_type(arr, json_type_array) &&
	    json_object_array_length(arr) > 0) {
		printf("\ntimeline:\n");
		ctl_table_init(&t, 5);
		cells[0] = "TIME (UTC)"; cells[1] = "KIND"; cells[2] = "TARGET";
		cells[3] = "STEP"; cells[4] = "DETAIL";
		ctl_table_row(&t, cells);
		for (i = 0; i < json_object_array_length(arr); i++) {
			e = json_object_array_get_idx(arr, i);
			cells[0] = ctl_table_time(ctl_api_i64(e, "ts_ms"), w1,
			    sizeof w1);
			cells[1] = ctl_api_str(e, "kind");
			cells[2] = ctl_api_str(e, "target");
			cells[3] = ctl_api_str(e, "step");
			cells[4] = ctl_table_short(ctl_api_str(e, "detail"),
			    CTL_TABLE_NOTE_WIDTH + 20, note, sizeof note);
			ctl_table_row(&t, cells);
		}
		ctl_table_print(&t, stdout);
		ctl_table_free(&t);
	}
done:
	free(raw);
	json_object_put(o);
	return rc;
}
