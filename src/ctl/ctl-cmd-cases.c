/*
 * ctl-cmd-cases: the read-only views of the admin API. "cases" lists cases,
 * newest first, as a table, one page or (--all) every page, following the
 * API's cursors; "case ID" shows one case: its subject, state and SLA
 * deadlines, whether it is contained (per target), its steps and its
 * timeline. --json prints the API's reply as received (with --all, the
 * pages' cases as one reply).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "deprov/case.h"
#include "deprov/event.h"
#include "deprov/http.h"
#include "ctl.h"

static int	ctl_cmd_cases_exec(struct ctl *, struct ctl_args *);
static int	ctl_cases_query(struct ctl *, struct ctl_args *, char *, size_t);
static int	ctl_cases_page(struct ctl *, const char *, const char *,
		    json_object *, const char **, json_object **, char **);
static void	ctl_cases_table(json_object *);
static int	ctl_cmd_case_exec(struct ctl *, struct ctl_args *);
static const char *ctl_short_type(const char *);
static void	ctl_deadline(const char *, int64_t, int64_t, int);
static void	ctl_containment(json_object *);
static int64_t	ctl_case_due(json_object *);
static int64_t	ctl_since_due(int64_t, int64_t);

static const struct ctl_opt ctl_cmd_cases_opts[] = {
	{ .name = "state", .type = CTL_OPT_STR },
	{ .name = "subject", .type = CTL_OPT_STR },
	{ .name = "runbook", .type = CTL_OPT_STR },
	{ .name = "created-after", .type = CTL_OPT_STR },
	{ .name = "created-before", .type = CTL_OPT_STR },
	{ .name = "failed-at", .type = CTL_OPT_STR },
	{ .name = "limit", .type = CTL_OPT_INT, .min = 1, .max = 1000,
	  .bad = "expected a number from 1 to 1000" },
	{ .name = "all", .type = CTL_OPT_FLAG },
	{ .name = NULL }
};

/* The query parameters --NAME gives, in the API's names. */
static const struct {
	const char	*opt;
	const char	*param;
} ctl_cases_params[] = {
	{ "state", "state" },
	{ "subject", "subject" },
	{ "runbook", "runbook" },
	{ "created-after", "created_after" },
	{ "created-before", "created_before" },
	{ "failed-at", "failed_at" },
};

const struct ctl_cmd_entry ctl_cmd_cases_entry = {
	.name = "cases",
	.usage = "cases [--state S] [--subject K] [--runbook R] "
	    "[--failed-at TARGET] [--created-after T] [--created-before T] "
	    "[--limit N] [--all]",
	.help =
	  "List cases, newest first (GET /v1/cases; viewer role).\n"
	  "\n"
	  "  --state S            only cases in state S (received, scheduled,\n"
	  "                       freezing, contained, remediating, deactivating,\n"
	  "                       completed, cancelled, escalated)\n"
	  "  --subject K          only cases of subject key K (employee id, or the\n"
	  "                       email/username a freeze was issued for)\n"
	  "  --runbook R          only cases of runbook R\n"
	  "  --failed-at TARGET   only cases with a failed step at TARGET\n"
	  "  --created-after T    only cases created at T or later (RFC 3339:\n"
	  "                       2026-03-01T09:00:00Z, or a date: its midnight UTC)\n"
	  "  --created-before T   only cases created before T\n"
	  "  --limit N            at most N cases (1-1000, default 50); with --all,\n"
	  "                       the size of each page (default 1000)\n"
	  "  --all                every case, page after page, as one table\n",
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

/*
 * The query of the first page into path: the filters, checked here too (a
 * typo must not read as "no cases"), and the page size.
 */
static int
ctl_cases_query(struct ctl *ctl, struct ctl_args *args, char *path,
    size_t size)
{
	const char	*v;
	char		*enc;
	size_t		 k, len;
	long long	 dflt = ctl_args_has(args, "all") ? 1000 : 50;

	if ((v = ctl_args_get(args, "state")) != NULL &&
	    case_state_parse(v) < 0)
		return ctl_usage_error(ctl, "--state: \"%s\" is not a case "
		    "state (see deprovctl cases --help)", v);
	if ((v = ctl_args_get(args, "created-after")) != NULL &&
	    event_parse_time(v) == (time_t)-1)
		return ctl_usage_error(ctl, "--created-after: \"%s\" is not an "
		    "RFC 3339 time (2026-03-01T09:00:00Z, 2026-03-01)", v);
	if ((v = ctl_args_get(args, "created-before")) != NULL &&
	    event_parse_time(v) == (time_t)-1)
		return ctl_usage_error(ctl, "--created-before: \"%s\" is not an "
		    "RFC 3339 time (2026-03-01T09:00:00Z, 2026-03-01)", v);
	snprintf(path, size, "/v1/cases?limit=%lld", ctl_args_int(args,
	    "limit", dflt));
	for (k = 0; k < sizeof ctl_cases_params / sizeof ctl_cases_params[0];
	    k++) {
		if ((v = ctl_args_get(args, ctl_cases_params[k].opt)) == NULL)
			continue;
		if ((enc = http_urlencode(v)) == NULL)
			return ctl_fail(CTL_FAILED, "out of memory");
		len = strlen(path);
		if ((size_t)snprintf(path + len, size - len, "&%s=%s",
		    ctl_cases_params[k].param, enc) >= size - len) {
			free(enc);
			return ctl_usage_error(ctl, "--%s: too long",
			    ctl_cases_params[k].opt);
		}
		free(enc);
	}
	return CTL_OK;
}

/*
 * One page: the query, and the cursor when there is one. Its cases are
 * added to all; *next is the next page's cursor (in *o) or NULL at the
 * end. *raw is the body as received.
 */
static int
ctl_cases_page(struct ctl *ctl, const char *query, const char *cursor,
    json_object *all, const char **next, json_object **o, char **raw)
{
	json_object	*arr, *nx;
	char		 path[2048];
	size_t		 i;
	int		 rc;

	*next = NULL;
	if (cursor != NULL)
		snprintf(path, sizeof path, "%s&cursor=%s", query, cursor);
	else
		snprintf(path, sizeof path, "%s", query);
	if ((rc = ctl_api_call(ctl, "GET", path, NULL, o, raw)) != CTL_OK)
		return rc;
	if (!json_object_object_get_ex(*o, "cases", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return ctl_fail(CTL_FAILED, "unexpected reply: no cases array");
	if (json_object_object_get_ex(*o, "next", &nx) && nx != NULL) {
		/* The cursor goes back into a URL as it is: only hex digits. */
		if (!json_object_is_type(nx, json_type_string) ||
		    json_object_get_string_len(nx) == 0 ||
		    strspn(json_object_get_string(nx), "0123456789abcdef") !=
		    (size_t)json_object_get_string_len(nx))
			return ctl_fail(CTL_FAILED, "unexpected reply: a next "
			    "cursor that is not a cursor");
		*next = json_object_get_string(nx);
	}
	for (i = 0; i < json_object_array_length(arr); i++)
		json_object_array_add(all, json_object_get(
		    json_object_array_get_idx(arr, i)));
	return CTL_OK;
}

static int
ctl_cmd_cases_exec(struct ctl *ctl, struct ctl_args *args)
{
	json_object	*o = NULL, *all = NULL, *out;
	const char	*next;
	char		 query[1536], cursor[128] = "", *raw = NULL;
	int		 rc, every = ctl_args_has(args, "all");

	if ((rc = ctl_cases_query(ctl, args, query, sizeof query)) != CTL_OK)
		return rc;
	if ((all = json_object_new_array()) == NULL)
		return ctl_fail(CTL_FAILED, "out of memory");
	if ((rc = ctl_cases_page(ctl, query, NULL, all, &next, &o,
	    &raw)) != CTL_OK)
		goto done;
	/* One page: --json prints it as received, "next" included. */
	if (!every && ctl->json) {
		ctl_print_raw(raw);
		goto done;
	}
	while (every && next != NULL) {
		/* The same cursor again would ask for the same page forever. */
		if (strlen(next) >= sizeof cursor || strcmp(next, cursor) == 0) {
			rc = ctl_fail(CTL_FAILED, "unexpected reply: a next "
			    "cursor that is not a cursor");
			goto done;
		}
		/* next is o's: keep it while o goes for the next page. */
		snprintf(cursor, sizeof cursor, "%s", next);
		json_object_put(o);
		o = NULL;
		free(raw);
		raw = NULL;
		if ((rc = ctl_cases_page(ctl, query, cursor, all, &next, &o,
		    &raw)) != CTL_OK)
			goto done;
	}
	if (ctl->json) {
		/* The API's shape, as if one page had held every case. */
		out = json_object_new_object();
		json_object_object_add(out, "cases", json_object_get(all));
		json_object_object_add(out, "next", NULL);
		printf("%s\n", json_object_to_json_string_ext(out,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(out);
		goto done;
	}
	ctl_cases_table(all);
	if (next != NULL)
		fprintf(stderr, "deprovctl: more cases than shown: --all lists "
		    "every page\n");
done:
	free(raw);
	json_object_put(o);
	json_object_put(all);
	return rc;
}

/* The cases as an aligned table, or "no cases". */
static void
ctl_cases_table(json_object *arr)
{
	json_object		*c;
	struct ctl_table	 t;
	char			 created[40], ttf[32], note[256], id[32];
	char			 evt[96];
	const char		*cells[8], *n;
	size_t			 i;
	int64_t			 fz;

	if (json_object_array_length(arr) == 0) {
		printf("no cases\n");
		return;
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
