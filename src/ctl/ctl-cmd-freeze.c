/*
 * ctl-cmd-freeze: the emergency freeze and its undo. "freeze" locks a
 * person out at every target (or the named ones) and revokes their
 * sessions ahead of any backlog (POST /v1/freeze, responder role);
 * "unfreeze" undoes a false positive (POST /v1/unfreeze). Both print the
 * new case's id.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ctl.h"

#define CTL_CMD_FREEZE_MAX_TARGETS	64

static int	ctl_cmd_freeze_exec(struct ctl *, struct ctl_args *);

/* Both commands take the same options. */
static const struct ctl_opt ctl_cmd_freeze_opts[] = {
	{ .name = "email", .type = CTL_OPT_STR },
	{ .name = "employee-id", .type = CTL_OPT_STR },
	{ .name = "username", .type = CTL_OPT_STR },
	{ .name = "reason", .type = CTL_OPT_STR },
	{ .name = "target", .type = CTL_OPT_LIST,
	  .max = CTL_CMD_FREEZE_MAX_TARGETS },
	{ .name = NULL }
};

const struct ctl_cmd_entry ctl_cmd_freeze_entry = {
	.name = "freeze",
	.usage = "freeze (--email E | --employee-id ID | --username U) "
	    "--reason TEXT [--target NAME]...",
	.help =
	  "Emergency freeze: freeze the subject at every target (or only the\n"
	  "named ones) and revoke its sessions, ahead of any backlog\n"
	  "(POST /v1/freeze; responder role). Prints the new case id.\n"
	  "\n"
	  "  --email E, --employee-id ID, --username U   who (at least one)\n"
	  "  --reason TEXT   incident or ticket reference (required; audited)\n"
	  "  --target NAME   only this target; repeat for several\n",
	.opts = ctl_cmd_freeze_opts,
	.exec = ctl_cmd_freeze_exec
};

const struct ctl_cmd_entry ctl_cmd_unfreeze_entry = {
	.name = "unfreeze",
	.usage = "unfreeze (--email E | --employee-id ID | --username U) "
	    "--reason TEXT [--target NAME]...",
	.help =
	  "Undo a false-positive freeze (POST /v1/unfreeze; responder role).\n"
	  "Options as for freeze.\n",
	.opts = ctl_cmd_freeze_opts,
	.exec = ctl_cmd_freeze_exec
};

static int
ctl_cmd_freeze_exec(struct ctl *ctl, struct ctl_args *args)
{
	json_object		 *body, *subj, *arr, *o = NULL;
	const char		 *email = ctl_args_get(args, "email");
	const char		 *employee_id = ctl_args_get(args, "employee-id");
	const char		 *username = ctl_args_get(args, "username");
	const char		 *reason = ctl_args_get(args, "reason");
	const char *const	 *targets;
	char			 *raw = NULL;
	size_t			  ntargets, i;
	int			  unfreeze, rc;

	unfreeze = ctl->cmd == &ctl_cmd_unfreeze_entry;
	ntargets = ctl_args_list(args, "target", &targets);
	if (email == NULL && employee_id == NULL && username == NULL)
		return ctl_usage_error(ctl, "who? give --email, --employee-id "
		    "or --username");
	if (reason == NULL || *reason == '\0')
		return ctl_usage_error(ctl, "--reason is required (an incident "
		    "or ticket reference)");
	if ((body = json_object_new_object()) == NULL ||
	    (subj = json_object_new_object()) == NULL) {
		json_object_put(body);
		return ctl_fail(CTL_FAILED, "out of memory");
	}
	if (employee_id != NULL)
		json_object_object_add(subj, "employee_id",
		    json_object_new_string(employee_id));
	if (email != NULL)
		json_object_object_add(subj, "email",
		    json_object_new_string(email));
	if (username != NULL)
		json_object_object_add(subj, "username",
		    json_object_new_string(username));
	json_object_object_add(body, "subject", subj);
	json_object_object_add(body, "reason", json_object_new_string(reason));
	if (ntargets > 0) {
		arr = json_object_new_array();
		for (i = 0; i < ntargets; i++)
			json_object_array_add(arr,
			    json_object_new_string(targets[i]));
		json_object_object_add(body, "targets", arr);
	}
	rc = ctl_api_call(ctl, "POST", unfreeze ? "/v1/unfreeze" : "/v1/freeze",
	    body, &o, &raw);
	json_object_put(body);
	if (rc != CTL_OK)
		return rc;
	if (ctl->json)
		ctl_print_raw(raw);
	else
		printf("%s accepted: case %" PRId64 " (%s)\n", unfreeze ?
		    "unfreeze" : "freeze", ctl_api_i64(o, "case_id"),
		    ctl_api_str(o, "type") != NULL ? ctl_api_str(o, "type") : "?");
	free(raw);
	json_object_put(o);
	return CTL_OK;
}
