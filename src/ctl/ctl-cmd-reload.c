/*
 * ctl-cmd-reload: have the daemon read its configuration again without a
 * restart (POST /v1/reload, admin role; the same as SIGHUP). Prints what
 * was applied and what needs a restart; a configuration with problems is
 * not applied, and its first problem is printed as file:line: message.
 */
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "ctl.h"

static int	ctl_cmd_reload_exec(struct ctl *, struct ctl_args *);
static void	ctl_cmd_reload_list(json_object *, const char *, const char *);

const struct ctl_cmd_entry ctl_cmd_reload_entry = {
	.name = "reload",
	.usage = "reload",
	.help =
	  "Reload the daemon's configuration without a restart, as SIGHUP does\n"
	  "(POST /v1/reload; admin role): runbooks, targets' limits and\n"
	  "credentials, API tokens, alerts and the log level. Steps already\n"
	  "running finish with the settings they started with. Prints what\n"
	  "changed and what needs a restart (not applied). A configuration with\n"
	  "problems is not applied (the daemon keeps the one it has): exit 1\n"
	  "with its first problem as file:line: message.\n",
	.exec = ctl_cmd_reload_exec
};

/* One line per member of the array at key, after a title. */
static void
ctl_cmd_reload_list(json_object *o, const char *key, const char *title)
{
	json_object	*arr;
	size_t		 i, n;
	char		*s;

	if (!json_object_object_get_ex(o, key, &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) == 0)
		return;
	printf("%s:\n", title);
	for (i = 0; i < n; i++) {
		/* What the daemon says is shown without control characters. */
		s = ctl_table_clean(json_object_get_string(
		    json_object_array_get_idx(arr, i)));
		printf("  %s\n", s != NULL ? s : "?");
		free(s);
	}
}

static int
ctl_cmd_reload_exec(struct ctl *ctl, struct ctl_args *args)
{
	json_object	*o = NULL, *v;
	char		*raw = NULL;
	size_t		 changed = 0, restart = 0;
	int		 rc;

	(void)args;
	rc = ctl_api_call(ctl, "POST", "/v1/reload", NULL, &o, &raw);
	if (rc != CTL_OK)
		return rc;
	if (ctl->json)
		ctl_print_raw(raw);
	else {
		if (json_object_object_get_ex(o, "changed", &v))
			changed = json_object_array_length(v);
		if (json_object_object_get_ex(o, "needs_restart", &v))
			restart = json_object_array_length(v);
		printf("reloaded: %zu change%s applied, %zu needing a restart\n",
		    changed, changed == 1 ? "" : "s", restart);
		ctl_cmd_reload_list(o, "changed", "applied");
		ctl_cmd_reload_list(o, "needs_restart",
		    "needs a restart (not applied)");
	}
	free(raw);
	json_object_put(o);
	return CTL_OK;
}
