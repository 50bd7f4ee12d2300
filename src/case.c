/*
 * case: names and rules of case states, step states and containment (see
 * include/deprov/case.h). Tables indexed by the enums, so a state added
 * without a name fails to compile.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "deprov/case.h"

static const char *const case_state_names[CASE_STATE_COUNT] = {
	[CASE_RECEIVED] = "received",
	[CASE_SCHEDULED] = "scheduled",
	[CASE_FREEZING] = "freezing",
	[CASE_CONTAINED] = "contained",
	[CASE_REMEDIATING] = "remediating",
	[CASE_DEACTIVATING] = "deactivating",
	[CASE_COMPLETED] = "completed",
	[CASE_CANCELLED] = "cancelled",
	[CASE_ESCALATED] = "escalated",
};

static const char *const step_state_names[STEP_STATE_COUNT] = {
	[STEP_PENDING] = "pending",
	[STEP_RUNNING] = "running",
	[STEP_RETRY_WAIT] = "retry_wait",
	[STEP_SUCCEEDED] = "succeeded",
	[STEP_SKIPPED] = "skipped",
	[STEP_FAILED] = "failed",
};

static const char *const containment_names[CONTAIN_COUNT] = {
	[CONTAIN_NONE] = "none",
	[CONTAIN_PENDING] = "pending",
	[CONTAIN_FROZEN] = "frozen",
	[CONTAIN_NO_ACCOUNT] = "no_account",
	[CONTAIN_SKIPPED] = "skipped",
	[CONTAIN_FAILED] = "failed",
	[CONTAIN_DEACTIVATED] = "deactivated",
};

static int
case_name_index(const char *const *names, int n, const char *s)
{
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

const char *
case_state_name(enum case_state st)
{
	if ((int)st < 0 || st >= CASE_STATE_COUNT)
		return "unknown";
	return case_state_names[st];
}

int
case_state_parse(const char *s)
{
	return case_name_index(case_state_names, CASE_STATE_COUNT, s);
}

int
case_state_final(enum case_state st)
{
	return st == CASE_COMPLETED || st == CASE_CANCELLED ||
	    st == CASE_ESCALATED;
}

const char *
step_state_name(enum step_state st)
{
	if ((int)st < 0 || st >= STEP_STATE_COUNT)
		return "unknown";
	return step_state_names[st];
}

int
step_state_parse(const char *s)
{
	return case_name_index(step_state_names, STEP_STATE_COUNT, s);
}

int
step_state_final(enum step_state st)
{
	return st == STEP_SUCCEEDED || st == STEP_SKIPPED || st == STEP_FAILED;
}

enum containment
containment_of_step(enum step_state st, int no_account)
{
	switch (st) {
	case STEP_SUCCEEDED:
		return CONTAIN_FROZEN;
	case STEP_SKIPPED:
		return no_account ? CONTAIN_NO_ACCOUNT : CONTAIN_SKIPPED;
	case STEP_FAILED:
		return CONTAIN_FAILED;
	default:
		return CONTAIN_PENDING;
	}
}

const char *
containment_name(enum containment c)
{
	if ((int)c < 0 || c >= CONTAIN_COUNT)
		return "unknown";
	return containment_names[c];
}

int
containment_holds(enum containment c)
{
	return c == CONTAIN_FROZEN || c == CONTAIN_NO_ACCOUNT ||
	    c == CONTAIN_DEACTIVATED;
}

int
case_freeze_breached(int64_t deadline, int64_t frozen, enum case_state st,
    int64_t ended, int64_t now)
{
	if (deadline <= 0)
		return 0;
	if (frozen > 0)
		return frozen > deadline;
	if (st == CASE_ESCALATED)
		return 1;
	if (st == CASE_CANCELLED)
		return (ended > 0 ? ended : now) > deadline;
	return now > deadline;
}

int
case_complete_breached(int64_t deadline, enum case_state st, int64_t ended,
    int64_t now)
{
	if (deadline <= 0 || st == CASE_CANCELLED)
		return 0;
	if (st == CASE_COMPLETED)
		return ended > deadline;
	return now > deadline;
}

static const char *
case_json_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t
case_json_int(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return 0;
	return json_object_get_int64(v);
}

/* The entry for target in out, made when missing. */
static json_object *
case_target_entry(json_object *out, const char *target)
{
	json_object	*e;
	size_t		 i, n = json_object_array_length(out);

	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(out, i);
		if (strcmp(case_json_str(e, "target"), target) == 0)
			return e;
	}
	e = json_object_new_object();
	json_object_object_add(e, "target", json_object_new_string(target));
	json_object_object_add(e, "status", json_object_new_string(
	    containment_name(CONTAIN_NONE)));
	json_object_object_add(e, "contained", NULL);
	json_object_object_add(e, "at_ms", NULL);
	json_object_object_add(e, "error", NULL);
	json_object_object_add(e, "reason", NULL);
	json_object_object_add(e, "attempts", json_object_new_int(0));
	json_object_object_add(e, "deactivated_ms", NULL);
	json_object_array_add(out, e);
	return e;
}

json_object *
case_containment_json(json_object *steps, int *contained)
{
	json_object		*out = json_object_new_array(), *st, *e, *v;
	const char		*target, *step, *err, *detail;
	enum containment	 ct;
	size_t			 i, n = json_object_array_length(steps);
	int			 state, freezes = 0, held = 1;

	for (i = 0; i < n; i++) {
		st = json_object_array_get_idx(steps, i);
		target = case_json_str(st, "target");
		step = case_json_str(st, "step");
		if (target == NULL || step == NULL)
			continue;
		e = case_target_entry(out, target);
		state = step_state_parse(case_json_str(st, "state"));
		if ((strcmp(step, "deactivate") == 0 || strcmp(step, "delete") ==
		    0) && state == STEP_SUCCEEDED) {
			json_object_object_add(e, "deactivated_ms",
			    json_object_new_int64(case_json_int(st,
			    "finished_ms")));
			continue;
		}
		/* The first freeze step of a target decides (there is one). */
		if (strcmp(step, "freeze") != 0 || (json_object_object_get_ex(e,
		    "contained", &v) && v != NULL))
			continue;
		freezes = 1;
		json_object_object_get_ex(st, "no_account", &v);
		ct = containment_of_step(state < 0 ? STEP_PENDING :
		    (enum step_state)state, v != NULL &&
		    json_object_get_boolean(v));
		if (!containment_holds(ct))
			held = 0;
		err = case_json_str(st, "last_error");
		detail = case_json_str(st, "detail");
		json_object_object_add(e, "status", json_object_new_string(
		    containment_name(ct)));
		json_object_object_add(e, "contained", json_object_new_boolean(
		    containment_holds(ct)));
		if (ct == CONTAIN_FROZEN)
			json_object_object_add(e, "at_ms", json_object_new_int64(
			    case_json_int(st, "finished_ms")));
		/* The error of a failed or retrying freeze; why a skip. */
		if ((ct == CONTAIN_FAILED || ct == CONTAIN_PENDING) &&
		    err != NULL)
			json_object_object_add(e, "error",
			    json_object_new_string(err));
		if ((ct == CONTAIN_SKIPPED || ct == CONTAIN_NO_ACCOUNT) &&
		    detail != NULL)
			json_object_object_add(e, "reason",
			    json_object_new_string(detail));
		json_object_object_add(e, "attempts", json_object_new_int(
		    (int)case_json_int(st, "attempts")));
	}
	/* A target deactivated since its freeze did not hold is locked out too. */
	held = 1;
	n = json_object_array_length(out);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(out, i);
		v = json_object_object_get(e, "contained");
		if (v == NULL || json_object_get_boolean(v))
			continue;
		if (case_json_int(e, "deactivated_ms") > 0) {
			json_object_object_add(e, "status", json_object_new_string(
			    containment_name(CONTAIN_DEACTIVATED)));
			json_object_object_add(e, "contained",
			    json_object_new_boolean(1));
		} else
			held = 0;
	}
	*contained = freezes ? held : -1;
	return out;
}
