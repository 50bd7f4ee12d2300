/*
 * ctl: the core of deprovctl, the operator CLI. Holds the command table and
 * the dispatcher over it: global options before the command, the command's
 * name (one word, or two for a group such as "audit verify"), then the
 * command's own options and arguments, parsed from its option spec (global
 * options allowed there too). Usage and help come from the commands'
 * entries. Exit codes: 0 ok, 1 the operation failed (API error, tampering
 * found), 2 usage error, 3 cannot reach the API (or Kafka). The token is
 * never printed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Every command deprovctl has, in the order --help lists them. */
const struct ctl_cmd_entry *const ctl_cmd_table[] = {
	&ctl_cmd_cases_entry,
	&ctl_cmd_case_entry,
	&ctl_cmd_freeze_entry,
	&ctl_cmd_unfreeze_entry,
	&ctl_cmd_retry_entry,
	&ctl_cmd_cancel_entry,
	&ctl_cmd_reinstate_entry,
	&ctl_cmd_publish_entry,
	&ctl_cmd_audit_verify_entry,
	&ctl_cmd_audit_export_entry,
	&ctl_cmd_evidence_entry,
	&ctl_cmd_check_entry,
	&ctl_cmd_reload_entry,
	&ctl_cmd_store_migrate_entry,
	NULL
};

/* Options every command takes, before or after its name. */
static const struct ctl_opt ctl_global_opts[] = {
	{ .name = "api", .type = CTL_OPT_STR },
	{ .name = "token", .type = CTL_OPT_STR },
	{ .name = "cacert", .type = CTL_OPT_STR },
	{ .name = "json", .type = CTL_OPT_FLAG },
	{ .name = "help", .letter = 'h', .type = CTL_OPT_FLAG },
	{ .name = "timeout", .type = CTL_OPT_INT, .min = 1, .max = 3600000,
	  .bad = "expected milliseconds (1-3600000)" },
	{ .name = "verbose", .type = CTL_OPT_FLAG },
	{ .name = "version", .type = CTL_OPT_FLAG, .flags = CTL_OPT_STOP },
	{ .name = NULL }
};

/* The spec of a command without options of its own. */
static const struct ctl_opt ctl_no_opts[] = { { .name = NULL } };

static void	ctl_usage(const struct ctl_cmd_entry *const *, FILE *);
static void	ctl_cmd_usage(const struct ctl_cmd_entry *, FILE *);
static int	ctl_group_usage(const struct ctl_cmd_entry *const *,
		    const char *, FILE *);
static const struct ctl_cmd_entry *ctl_find(const struct ctl_cmd_entry *const *,
		    const char *);
static int	ctl_parse_error(const struct ctl *,
		    const struct ctl_cmd_entry *const *,
		    const struct ctl_args_error *);
static int	ctl_run(struct ctl *, const struct ctl_cmd_entry *,
		    const struct ctl_cmd_entry *const *, struct ctl_args *,
		    int, char **);
static void	ctl_globals(struct ctl *, const struct ctl_args *);

int
ctl_main(const struct ctl_cmd_entry *const *table, int argc, char **argv)
{
	const struct ctl_opt *const	 specs[] = { ctl_global_opts, NULL };
	struct ctl			 ctl;
	struct ctl_args			*args;
	struct ctl_args_error		 err;
	const struct ctl_cmd_entry	*cmd;
	char				 name[64];
	int				 first, help, words = 1, rc;

	memset(&ctl, 0, sizeof ctl);
	ctl.timeout_ms = CTL_TIMEOUT_MS;
	ctl.api = getenv("DEPROV_API");
	if (ctl.api == NULL || *ctl.api == '\0')
		ctl.api = CTL_DEFAULT_API;
	ctl.token = getenv("DEPROV_TOKEN");
	/* As curl and OpenSSL tools do: the CA bundle an https API is checked with. */
	ctl.cacert = getenv("SSL_CERT_FILE");
	if (ctl.cacert != NULL && *ctl.cacert == '\0')
		ctl.cacert = NULL;
	ctl.cacert_from = "SSL_CERT_FILE";
	if ((args = ctl_args_new()) == NULL)
		return ctl_fail(CTL_FAILED, "out of memory");

	/* Global options before the command. */
	if ((first = ctl_args_parse(args, specs, argc - 1, argv + 1,
	    CTL_ARGS_STOP_AT_WORD, &err)) < 0) {
		rc = ctl_parse_error(&ctl, table, &err);
		goto done;
	}
	if (ctl_args_has(args, "version")) {
		printf("deprovctl %s\n", CTL_VERSION);
		rc = CTL_OK;
		goto done;
	}
	help = ctl_args_has(args, "help");
	first++;
	if (first >= argc) {
		ctl_usage(table, help ? stdout : stderr);
		rc = help ? CTL_OK : CTL_USAGE;
		goto done;
	}
	if (strcmp(argv[first], "help") == 0) {
		rc = CTL_OK;
		if (first + 1 < argc) {
			snprintf(name, sizeof name, "%s%s%s", argv[first + 1],
			    first + 2 < argc ? " " : "", first + 2 < argc ?
			    argv[first + 2] : "");
			if ((cmd = ctl_find(table, name)) != NULL ||
			    (cmd = ctl_find(table, argv[first + 1])) != NULL) {
				ctl_cmd_usage(cmd, stdout);
				goto done;
			}
			if (ctl_group_usage(table, argv[first + 1], stdout) == 0)
				goto done;
		}
		ctl_usage(table, stdout);
		goto done;
	}

	/* A group's name alone ("audit"): the usage of its commands. */
	if (ctl_group_usage(table, argv[first], NULL) == 0) {
		if (first + 1 >= argc || argv[first + 1][0] == '-') {
			help = first + 1 < argc &&
			    (strcmp(argv[first + 1], "--help") == 0 ||
			    strcmp(argv[first + 1], "-h") == 0);
			ctl_group_usage(table, argv[first], help ? stdout :
			    stderr);
			rc = help ? CTL_OK : CTL_USAGE;
			goto done;
		}
		snprintf(name, sizeof name, "%s %s", argv[first],
		    argv[first + 1]);
		words = 2;
	} else
		snprintf(name, sizeof name, "%s", argv[first]);
	if ((cmd = ctl_find(table, name)) == NULL) {
		fprintf(stderr, "deprovctl: unknown command \"%s\"\n"
		    "try: deprovctl --help\n", name);
		rc = CTL_USAGE;
		goto done;
	}
	ctl.cmd = cmd;
	if (help) {
		ctl_cmd_usage(cmd, stdout);
		rc = CTL_OK;
		goto done;
	}
	first += words;
	rc = ctl_run(&ctl, cmd, table, args, argc - first, argv + first);
done:
	ctl_args_free(args);
	return rc;
}

/* The command's options and arguments (argv: what follows its name). */
static int
ctl_run(struct ctl *ctl, const struct ctl_cmd_entry *cmd,
    const struct ctl_cmd_entry *const *table, struct ctl_args *args,
    int argc, char **argv)
{
	const struct ctl_opt *const	 specs[] = { ctl_global_opts,
					    cmd->opts != NULL ? cmd->opts :
					    ctl_no_opts, NULL };
	struct ctl_args_error		 err;
	long long			 id;
	int				 n;

	if (ctl_args_parse(args, specs, argc, argv, 0, &err) < 0)
		return ctl_parse_error(ctl, table, &err);
	if (ctl_args_has(args, "version")) {
		printf("deprovctl %s\n", CTL_VERSION);
		return CTL_OK;
	}
	if (ctl_args_has(args, "help")) {
		ctl_cmd_usage(cmd, stdout);
		return CTL_OK;
	}
	if ((n = ctl_args_count(args)) != cmd->nargs) {
		if (cmd->nargs == 0)
			return ctl_usage_error(ctl, "unexpected argument \"%s\"",
			    ctl_args_value(args, 0));
		return ctl_usage_error(ctl, "expected %d argument%s",
		    cmd->nargs, cmd->nargs == 1 ? "" : "s");
	}
	if ((cmd->flags & CTL_CMD_CASE_ID) && ctl_args_number(ctl_args_value(
	    args, 0), 1, INT64_MAX / 2, &id) != 0)
		return ctl_usage_error(ctl, "expected one case id (a number)");
	if (ctl_args_check(args, &err) != 0)
		return ctl_parse_error(ctl, table, &err);
	ctl_globals(ctl, args);
	return cmd->exec(ctl, args);
}

/* The global options given (before or after the command; the last wins). */
static void
ctl_globals(struct ctl *ctl, const struct ctl_args *args)
{
	if (ctl_args_has(args, "api"))
		ctl->api = ctl_args_get(args, "api");
	if (ctl_args_has(args, "token"))
		ctl->token = ctl_args_get(args, "token");
	if (ctl_args_has(args, "cacert")) {
		ctl->cacert = ctl_args_get(args, "cacert");
		ctl->cacert_from = "--cacert";
	}
	ctl->timeout_ms = (long)ctl_args_int(args, "timeout", ctl->timeout_ms);
	ctl->json = ctl_args_has(args, "json");
	ctl->verbose = ctl_args_has(args, "verbose");
}

long long
ctl_case_id(const struct ctl_args *args)
{
	long long id;

	if (ctl_args_number(ctl_args_value(args, 0), 1, INT64_MAX / 2,
	    &id) != 0)
		return -1;
	return id;
}

int
ctl_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("deprovctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* "deprovctl CMD: message" (va_list), then the usage line when asked. */
static int
ctl_usage_errorv(const struct ctl *ctl, int with_usage, const char *fmt,
    va_list ap)
{
	const char *name = ctl->cmd != NULL ? ctl->cmd->name : "";

	fprintf(stderr, "deprovctl %s: ", name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (with_usage && ctl->cmd != NULL)
		fprintf(stderr, "usage: deprovctl %s\n", ctl->cmd->usage);
	fprintf(stderr, "try: deprovctl %s%s--help\n", name, ctl->cmd != NULL ?
	    " " : "");
	return CTL_USAGE;
}

int
ctl_usage_error(const struct ctl *ctl, const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = ctl_usage_errorv(ctl, 0, fmt, ap);
	va_end(ap);
	return rc;
}

/* The same with the command's usage line. */
static int __attribute__((format(printf, 2, 3)))
ctl_usage_error_line(const struct ctl *ctl, const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = ctl_usage_errorv(ctl, 1, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * Word a parse error. An option this command does not know is reported
 * with its usage line, and as not applying here when another command (or
 * the global options) has it.
 */
static int
ctl_parse_error(const struct ctl *ctl, const struct ctl_cmd_entry *const *table,
    const struct ctl_args_error *err)
{
	const struct ctl_opt	**all, *o;
	size_t			  n, i;
	int			  ambiguous = 0;

	switch (err->problem) {
	case CTL_ARGS_UNKNOWN:
		o = NULL;
		if (strncmp(err->text, "--", 2) == 0) {
			for (n = 0; table[n] != NULL; n++)
				;
			if ((all = calloc(n + 2, sizeof *all)) == NULL)
				return ctl_fail(CTL_FAILED, "out of memory");
			all[0] = ctl_global_opts;
			for (i = 0; i < n; i++)
				all[i + 1] = table[i]->opts != NULL ?
				    table[i]->opts : ctl_no_opts;
			o = ctl_args_find(all, err->text + 2, &ambiguous);
			free(all);
		}
		if (o != NULL)
			return ctl_usage_error_line(ctl, "--%s does not apply "
			    "here", o->name);
		return ctl_usage_error_line(ctl, "unknown option %s", err->text);
	case CTL_ARGS_NO_VALUE:
		return ctl_usage_error(ctl, "--%s needs a value", err->opt->name);
	case CTL_ARGS_UNWANTED_VALUE:
		return ctl_usage_error(ctl, "--%s takes no value",
		    err->opt->name);
	case CTL_ARGS_BAD_VALUE:
		return ctl_usage_error(ctl, "--%s: %s", err->opt->name,
		    err->opt->bad);
	case CTL_ARGS_TOO_MANY:
		return ctl_usage_error(ctl, "at most %lld --%s options",
		    err->opt->max, err->opt->name);
	case CTL_ARGS_MISSING:
		if (err->opt->missing != NULL)
			return ctl_usage_error(ctl, "%s", err->opt->missing);
		return ctl_usage_error(ctl, "--%s is required", err->opt->name);
	case CTL_ARGS_NO_MEMORY:
	case CTL_ARGS_OK:
		break;
	}
	return ctl_fail(CTL_FAILED, "out of memory");
}

void
ctl_print_raw(const char *raw)
{
	size_t len = strlen(raw);

	fputs(raw, stdout);
	if (len == 0 || raw[len - 1] != '\n')
		fputc('\n', stdout);
}

static const struct ctl_cmd_entry *
ctl_find(const struct ctl_cmd_entry *const *table, const char *name)
{
	size_t i;

	for (i = 0; table[i] != NULL; i++)
		if (strcmp(table[i]->name, name) == 0)
			return table[i];
	return NULL;
}

/*
 * The usage of every command of a group ("audit": "audit verify", "audit
 * export"), one after the other, to f (NULL: only say whether the group
 * exists). 0, or -1 when no command's name starts with the group's.
 */
static int
ctl_group_usage(const struct ctl_cmd_entry *const *table, const char *group,
    FILE *f)
{
	size_t	i, len = strlen(group);
	int	found = 0;

	for (i = 0; table[i] != NULL; i++) {
		if (strncmp(table[i]->name, group, len) != 0 ||
		    table[i]->name[len] != ' ')
			continue;
		if (f != NULL) {
			if (found)
				fputc('\n', f);
			ctl_cmd_usage(table[i], f);
		}
		found = 1;
	}
	return found ? 0 : -1;
}

static void
ctl_cmd_usage(const struct ctl_cmd_entry *c, FILE *f)
{
	fprintf(f, "usage: deprovctl %s\n\n%s", c->usage, c->help);
	fprintf(f, "\nglobal options: --api URL, --token T, --cacert FILE, --json, "
	    "--timeout MS (see deprovctl --help)\n");
}

static void
ctl_usage(const struct ctl_cmd_entry *const *table, FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: deprovctl [global options] COMMAND [options]\n"
	    "\n"
	    "commands:\n");
	for (i = 0; table[i] != NULL; i++)
		fprintf(f, "  %s\n", table[i]->usage);
	fprintf(f,
	    "\n"
	    "global options (before or after the command):\n"
	    "  --api URL       admin API (default $DEPROV_API or %s); several,\n"
	    "                  comma-separated, are tried in order while one\n"
	    "                  cannot be connected to (a writer and its standbys)\n"
	    "  --token T       bearer token (default $DEPROV_TOKEN)\n"
	    "  --cacert FILE   CA certificates (PEM) an https API's certificate\n"
	    "                  is checked against (default $SSL_CERT_FILE, else\n"
	    "                  the system's)\n"
	    "  --json          print the raw JSON instead of tables\n"
	    "  --timeout MS    give up on the API or Kafka after MS ms "
	    "(default %ld)\n"
	    "  --verbose       more detail on errors\n"
	    "  --version       print the version\n"
	    "  --help          this text; `deprovctl COMMAND --help` for one "
	    "command\n"
	    "\n"
	    "exit status: 0 ok, 1 the operation failed (API error, tampering "
	    "found,\n"
	    "             the API's certificate not trusted),\n"
	    "             2 usage error, 3 cannot reach the API (or Kafka)\n",
	    CTL_DEFAULT_API, CTL_TIMEOUT_MS);
}
