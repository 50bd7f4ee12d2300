/*
 * ctl-cmd-check: validate a configuration and every runbook it names, with
 * the same checks as `deprovd --check`: exit 0 (after any warnings), or 2
 * with one file:line: message per problem on standard error.
 */
#include <stdio.h>

#include "deprov/config.h"
#include "deprov/diag.h"
#include "deprov/reload.h"
#include "deprov/runbook.h"
#include "ctl.h"

static int	ctl_cmd_check_exec(struct ctl *, struct ctl_args *);

static const struct ctl_opt ctl_cmd_check_opts[] = {
	{ .name = "config", .type = CTL_OPT_STR, .flags = CTL_OPT_REQUIRED,
	  .missing = "--config FILE is required" },
	{ .name = NULL }
};

const struct ctl_cmd_entry ctl_cmd_check_entry = {
	.name = "check",
	.usage = "check --config FILE",
	.help =
	  "Validate a configuration and every runbook it names, like\n"
	  "`deprovd --check`: exit 0 (warnings, such as a step a target's\n"
	  "kind skips, are printed first), or 2 with one file:line: message\n"
	  "per problem on standard error.\n",
	.opts = ctl_cmd_check_opts,
	.exec = ctl_cmd_check_exec
};

static int
ctl_cmd_check_exec(struct ctl *ctl, struct ctl_args *args)
{
	struct diags		*diags;
	struct reload_conf	 rc;
	const char		*config = ctl_args_get(args, "config");
	int			 code;

	if ((diags = diags_new()) == NULL)
		return ctl_fail(CTL_FAILED, "out of memory");
	/* The same reading and checks as deprovd --check and a reload. */
	if (reload_read(&rc, config, diags) > 0) {
		diags_print(diags, stderr);
		code = CTL_USAGE;
	} else {
		/* Warnings: reported, but the configuration is usable. */
		diags_print(diags, stderr);
		if (ctl->json)
			printf("{\"ok\":true,\"targets\":%zu,\"runbooks\":%zu}\n",
			    rc.cfg->ntargets, rc.runbooks->n);
		else
			printf("%s: ok (%zu targets, %zu runbooks)\n",
			    config, rc.cfg->ntargets, rc.runbooks->n);
		code = CTL_OK;
	}
	reload_conf_clear(&rc);
	diags_free(diags);
	return code;
}
