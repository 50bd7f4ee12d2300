/*
 * ctl-cmd-action: what an admin does to one case. "retry ID [--reason
 * TEXT]" runs an escalated case's failed steps again, "cancel ID --reason
 * TEXT" stops an open case, and "reinstate ID --reason TEXT" re-activates
 * exactly the accounts leaver case ID disabled, as a new case (POST
 * /v1/cases/ID/retry, /cancel, /reinstate; admin role). The reason goes
 * into the audit record and the case's timeline.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "ctl.h"

static int	ctl_cmd_action_exec(struct ctl *, struct ctl_args *);
static int	ctl_cmd_reinstate_exec(struct ctl *, struct ctl_args *);

static const struct ctl_opt ctl_cmd_retry_opts[] = {
	{ .name = "reason", .type = CTL_OPT_STR },
	{ .name = NULL }
};

/* Stopping a deprovisioning someone asked for needs a why. */
static const struct ctl_opt ctl_cmd_cancel_opts[] = {
	{ .name = "reason", .type = CTL_OPT_STR, .flags = CTL_OPT_REQUIRED,
	  .missing = "--reason is required (why the case is cancelled: a "
	  "ticket or incident reference)" },
	{ .name = NULL }
};

static const struct ctl_opt ctl_cmd_reinstate_opts[] = {
	{ .name = "reason", .type = CTL_OPT_STR, .flags = CTL_OPT_REQUIRED },
	{ .name = NULL }
};

const struct ctl_cmd_entry ctl_cmd_retry_entry = {
	.name = "retry",
	.usage = "retry ID [--reason TEXT]",
	.help =
	  "Run an escalated case's failed steps again (POST /v1/cases/ID/retry;\n"
	  "admin role).\n"
	  "\n"
	  "  --reason TEXT   why (a ticket or incident reference; audited and\n"
	  "                  kept in the case's timeline)\n",
	.opts = ctl_cmd_retry_opts,
	.nargs = 1,
	.flags = CTL_CMD_CASE_ID,
	.exec = ctl_cmd_action_exec
};

const struct ctl_cmd_entry ctl_cmd_cancel_entry = {
	.name = "cancel",
	.usage = "cancel ID --reason TEXT",
	.help =
	  "Cancel an open case: no further steps start\n"
	  "(POST /v1/cases/ID/cancel; admin role).\n"
	  "\n"
	  "  --reason TEXT   why (required; audited, kept in the case's timeline\n"
	  "                  and shown as the case's error: \"cancelled by NAME:\n"
	  "                  TEXT\")\n",
	.opts = ctl_cmd_cancel_opts,
	.nargs = 1,
	.flags = CTL_CMD_CASE_ID,
	.exec = ctl_cmd_action_exec
};

const struct ctl_cmd_entry ctl_cmd_reinstate_entry = {
	.name = "reinstate",
	.usage = "reinstate ID --reason TEXT",
	.help =
	  "Bring back a rehired person: re-activate exactly the accounts that\n"
	  "leaver case ID disabled (POST /v1/cases/ID/reinstate; admin role).\n"
	  "Refused while the case runs, for a cancelled case, or when a later\n"
	  "case exists for the person. Prints the new case id.\n"
	  "\n"
	  "  --reason TEXT   the rehire's ticket or approval (required; audited)\n",
	.opts = ctl_cmd_reinstate_opts,
	.nargs = 1,
	.flags = CTL_CMD_CASE_ID,
	.exec = ctl_cmd_reinstate_exec
};

/* retry ID, cancel ID: the command's name is the action's. */
static int
ctl_cmd_action_exec(struct ctl *ctl, struct ctl_args *args)
{
	json_object	*body = NULL, *o = NULL;
	char		 path[96], *raw = NULL;
	const char	*reason = ctl_args_get(args, "reason");
	long long	 id = ctl_case_id(args);
	int		 rc;

	if (reason != NULL && *reason == '\0')
		return ctl_usage_error(ctl, "--reason must not be empty");
	/* Without a reason a retry sends no body, as the API allows. */
	if (reason != NULL) {
		body = json_object_new_object();
		json_object_object_add(body, "reason",
		    json_object_new_string(reason));
	}
	snprintf(path, sizeof path, "/v1/cases/%lld/%s", id, ctl->cmd->name);
	rc = ctl_api_call(ctl, "POST", path, body, &o, &raw);
	json_object_put(body);
	if (rc != CTL_OK)
		return rc;
	if (ctl->json)
		ctl_print_raw(raw);
	else
		printf("%s accepted for case %lld\n", ctl->cmd->name, id);
	free(raw);
	json_object_put(o);
	return CTL_OK;
}

/* reinstate ID --reason TEXT */
static int
ctl_cmd_reinstate_exec(struct ctl *ctl, struct ctl_args *args)
{
	json_object	*body, *o = NULL;
	char		 path[96], *raw = NULL;
	long long	 id = ctl_case_id(args);
	int		 rc;

	body = json_object_new_object();
	json_object_object_add(body, "reason",
	    json_object_new_string(ctl_args_get(args, "reason")));
	snprintf(path, sizeof path, "/v1/cases/%lld/reinstate", id);
	rc = ctl_api_call(ctl, "POST", path, body, &o, &raw);
	json_object_put(body);
	if (rc != CTL_OK)
		return rc;
	if (ctl->json)
		ctl_print_raw(raw);
	else
		printf("reinstate of case %lld: case %" PRId64 "\n", id,
		    ctl_api_i64(o, "case_id"));
	free(raw);
	json_object_put(o);
	return CTL_OK;
}
