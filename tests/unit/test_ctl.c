/*
 * test_ctl: deprovctl's command table and dispatcher. Every command of the
 * real table documents each option of its spec in its usage or help, and
 * its usage line names no option it does not take. The dispatcher, over a
 * table of fake commands: global options before and after the command,
 * the environment, argument counts and case ids, required options, groups
 * of two-word commands, help and version, and the exit status and usage
 * line for an option the command does not know.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"

static const char *const test_globals[] = { "api", "token", "cacert", "json",
    "help", "timeout", "verbose", "version", NULL };

/* Whether text mentions --name as a whole option name. */
static int
test_mentions(const char *text, const char *name)
{
	const char	*p = text;
	size_t		 len = strlen(name);

	while ((p = strstr(p, "--")) != NULL) {
		p += 2;
		if (strncmp(p, name, len) == 0 && !isalnum((unsigned char)p[len])
		    && p[len] != '-')
			return 1;
	}
	return 0;
}

/* Whether o names an option in spec, or a global one. */
static int
test_known(const struct ctl_opt *spec, const char *name, size_t len)
{
	size_t i;

	for (i = 0; test_globals[i] != NULL; i++)
		if (strlen(test_globals[i]) == len &&
		    strncmp(test_globals[i], name, len) == 0)
			return 1;
	for (; spec != NULL && spec->name != NULL; spec++)
		if (strlen(spec->name) == len &&
		    strncmp(spec->name, name, len) == 0)
			return 1;
	return 0;
}

static void
test_table(void **state)
{
	const struct ctl_cmd_entry	*c;
	const struct ctl_opt		*o, *o2;
	const char			*p;
	size_t				 i, j, len;

	for (i = 0; (c = ctl_cmd_table[i]) != NULL; i++) {
		assert_non_null(c->name);
		assert_non_null(c->exec);
		assert_non_null(c->usage);
		assert_non_null(c->help);
		assert_int_equal(strncmp(c->usage, c->name, strlen(c->name)), 0);
		assert_int_equal(c->help[strlen(c->help) - 1], '\n');
		if (c->flags & CTL_CMD_CASE_ID)
			assert_int_equal(c->nargs, 1);
		for (j = 0; j < i; j++)
			assert_string_not_equal(ctl_cmd_table[j]->name, c->name);
		for (o = c->opts; o != NULL && o->name != NULL; o++) {
			/* Documented, and not hidden by a global option. */
			if (!test_mentions(c->usage, o->name) &&
			    !test_mentions(c->help, o->name))
				fail_msg("%s: --%s is not in its usage or help",
				    c->name, o->name);
			for (j = 0; test_globals[j] != NULL; j++)
				assert_string_not_equal(o->name,
				    test_globals[j]);
			for (o2 = c->opts; o2 != o; o2++)
				assert_string_not_equal(o2->name, o->name);
			if (o->type == CTL_OPT_INT)
				assert_non_null(o->bad);
			if (o->type == CTL_OPT_LIST)
				assert_true(o->max > 0);
		}
		/* The usage line names only options the command takes. */
		for (p = c->usage; (p = strstr(p, "--")) != NULL; p += 2 + len) {
			len = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-");
			if (!test_known(c->opts, p + 2, len))
				fail_msg("%s: usage names --%.*s", c->name,
				    (int)len, p + 2);
		}
	}
	assert_true(i >= 11);
}

/* What the fake commands saw. */
static struct {
	int		 runs;
	const char	*cmd;
	const char	*api;
	const char	*token;
	const char	*cacert;
	const char	*cacert_from;
	int		 json;
	long		 timeout_ms;
	long long	 id;
	const char	*x;
	size_t		 nn;
} seen;

static int
test_exec(struct ctl *ctl, struct ctl_args *args)
{
	const char *const *values;

	seen.runs++;
	seen.cmd = ctl->cmd->name;
	seen.api = ctl->api;
	seen.token = ctl->token;
	seen.cacert = ctl->cacert;
	seen.cacert_from = ctl->cacert_from;
	seen.json = ctl->json;
	seen.timeout_ms = ctl->timeout_ms;
	if (ctl->cmd->flags & CTL_CMD_CASE_ID)
		seen.id = ctl_case_id(args);
	if (strcmp(ctl->cmd->name, "one") == 0) {
		seen.x = ctl_args_get(args, "x");
		seen.nn = ctl_args_list(args, "n", &values);
	}
	return 42;
}

static const struct ctl_opt test_one_opts[] = {
	{ .name = "x", .type = CTL_OPT_STR, .flags = CTL_OPT_REQUIRED },
	{ .name = "n", .type = CTL_OPT_LIST, .max = 2 },
	{ .name = NULL }
};
static const struct ctl_opt test_grp_opts[] = {
	{ .name = "other", .type = CTL_OPT_STR },
	{ .name = NULL }
};
static const struct ctl_cmd_entry test_one = {
	.name = "one", .usage = "one ID --x X [--n N]...", .help = "One.\n",
	.opts = test_one_opts, .nargs = 1, .flags = CTL_CMD_CASE_ID,
	.exec = test_exec
};
static const struct ctl_cmd_entry test_grp_a = {
	.name = "grp a", .usage = "grp a", .help = "A.\n", .exec = test_exec
};
static const struct ctl_cmd_entry test_grp_b = {
	.name = "grp b", .usage = "grp b [--other O]", .help = "B.\n",
	.opts = test_grp_opts, .exec = test_exec
};
static const struct ctl_cmd_entry *const test_fake_table[] = { &test_one,
    &test_grp_a, &test_grp_b, NULL };

static char test_out[8192], test_err[8192];

/* Read what f holds into buf. */
static void
test_slurp(FILE *f, char *buf, size_t len)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Run the dispatcher over the fake table; stdout, stderr in test_out/err. */
static int
test_run(char **argv)
{
	FILE	*out = tmpfile(), *err = tmpfile();
	int	 argc = 0, rc, saved_out, saved_err;

	assert_non_null(out);
	assert_non_null(err);
	while (argv[argc] != NULL)
		argc++;
	memset(&seen, 0, sizeof seen);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fileno(out), 1);
	dup2(fileno(err), 2);
	rc = ctl_main(test_fake_table, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	test_slurp(out, test_out, sizeof test_out);
	test_slurp(err, test_err, sizeof test_err);
	return rc;
}

#define RUN(...) test_run((char *[]){ "deprovctl", __VA_ARGS__, NULL })

static void
test_dispatch(void **state)
{
	unsetenv("DEPROV_API");
	setenv("DEPROV_TOKEN", "env-token", 1);

	assert_int_equal(RUN("--json", "one", "--x", "v", "7", "--n", "a",
	    "--api", "http://h", "--n", "b"), 42);
	assert_int_equal(seen.runs, 1);
	assert_string_equal(seen.cmd, "one");
	assert_true(seen.json);
	assert_string_equal(seen.api, "http://h");
	assert_string_equal(seen.token, "env-token");
	assert_int_equal(seen.timeout_ms, CTL_TIMEOUT_MS);
	assert_int_equal(seen.id, 7);
	assert_string_equal(seen.x, "v");
	assert_int_equal(seen.nn, 2);

	/* Defaults and the environment; the last --timeout wins. */
	setenv("DEPROV_API", "http://from-env", 1);
	assert_int_equal(RUN("--timeout", "5", "one", "1", "--x", "",
	    "--timeout=9", "--token", "t"), 42);
	assert_string_equal(seen.api, "http://from-env");
	assert_string_equal(seen.token, "t");
	assert_false(seen.json);
	assert_int_equal(seen.timeout_ms, 9);
	unsetenv("DEPROV_API");
	assert_int_equal(RUN("grp", "a"), 42);
	assert_string_equal(seen.api, CTL_DEFAULT_API);
	assert_string_equal(seen.cmd, "grp a");
	assert_int_equal(RUN("grp", "b", "--other", "o"), 42);
	assert_string_equal(seen.cmd, "grp b");
	unsetenv("DEPROV_TOKEN");

	/* The CA file: SSL_CERT_FILE (empty: none), and --cacert over it. */
	unsetenv("SSL_CERT_FILE");
	assert_int_equal(RUN("grp", "a"), 42);
	assert_null(seen.cacert);
	setenv("SSL_CERT_FILE", "", 1);
	assert_int_equal(RUN("grp", "a"), 42);
	assert_null(seen.cacert);
	setenv("SSL_CERT_FILE", "/etc/env-ca.pem", 1);
	assert_int_equal(RUN("grp", "a"), 42);
	assert_string_equal(seen.cacert, "/etc/env-ca.pem");
	assert_string_equal(seen.cacert_from, "SSL_CERT_FILE");
	assert_int_equal(RUN("--cacert", "/a.pem", "grp", "b", "--cacert=/b.pem"),
	    42);
	assert_string_equal(seen.cacert, "/b.pem");
	assert_string_equal(seen.cacert_from, "--cacert");
	unsetenv("SSL_CERT_FILE");
	assert_int_equal(RUN("grp", "a", "--cacert"), CTL_USAGE);
	assert_string_equal(test_err, "deprovctl grp a: --cacert needs a value\n"
	    "try: deprovctl grp a --help\n");
}

static void
test_dispatch_errors(void **state)
{
	/* Arguments and case ids. */
	assert_int_equal(RUN("one", "--x", "v"), CTL_USAGE);
	assert_string_equal(test_err, "deprovctl one: expected 1 argument\n"
	    "try: deprovctl one --help\n");
	assert_int_equal(RUN("one", "abc", "--x", "v"), CTL_USAGE);
	assert_string_equal(test_err, "deprovctl one: expected one case id "
	    "(a number)\ntry: deprovctl one --help\n");
	assert_int_equal(RUN("one", "0", "--x", "v"), CTL_USAGE);
	assert_int_equal(RUN("grp", "a", "extra"), CTL_USAGE);
	assert_string_equal(test_err, "deprovctl grp a: unexpected argument "
	    "\"extra\"\ntry: deprovctl grp a --help\n");

	/* A required option, checked after the arguments. */
	assert_int_equal(RUN("one", "abc"), CTL_USAGE);
	assert_non_null(strstr(test_err, "case id"));
	assert_int_equal(RUN("one", "3"), CTL_USAGE);
	assert_string_equal(test_err, "deprovctl one: --x is required\n"
	    "try: deprovctl one --help\n");

	/* Unknown options: the command's usage line, exit 2. */
	assert_int_equal(RUN("one", "3", "--x", "v", "--frob=secret"),
	    CTL_USAGE);
	assert_string_equal(test_err, "deprovctl one: unknown option --frob\n"
	    "usage: deprovctl one ID --x X [--n N]...\n"
	    "try: deprovctl one --help\n");
	assert_int_equal(RUN("one", "3", "--other", "o"), CTL_USAGE);
	assert_string_equal(test_err, "deprovctl one: --other does not apply "
	    "here\nusage: deprovctl one ID --x X [--n N]...\n"
	    "try: deprovctl one --help\n");
	assert_int_equal(RUN("--frob", "one"), CTL_USAGE);
	assert_string_equal(test_err, "deprovctl : unknown option --frob\n"
	    "try: deprovctl --help\n");

	/* Values. */
	assert_int_equal(RUN("one", "3", "--x"), CTL_USAGE);
	assert_string_equal(test_err, "deprovctl one: --x needs a value\n"
	    "try: deprovctl one --help\n");
	assert_int_equal(RUN("one", "3", "--x", "v", "--n", "1", "--n", "2",
	    "--n", "3"), CTL_USAGE);
	assert_string_equal(test_err, "deprovctl one: at most 2 --n options\n"
	    "try: deprovctl one --help\n");
	assert_int_equal(RUN("--timeout", "0", "one", "3", "--x", "v"),
	    CTL_USAGE);
	assert_string_equal(test_err, "deprovctl : --timeout: expected "
	    "milliseconds (1-3600000)\ntry: deprovctl --help\n");
	assert_int_equal(RUN("one", "3", "--x", "v", "--json=yes"), CTL_USAGE);
	assert_string_equal(test_err, "deprovctl one: --json takes no value\n"
	    "try: deprovctl one --help\n");

	/* Commands. */
	assert_int_equal(RUN("two"), CTL_USAGE);
	assert_string_equal(test_err, "deprovctl: unknown command \"two\"\n"
	    "try: deprovctl --help\n");
	assert_int_equal(RUN("grp", "c"), CTL_USAGE);
	assert_string_equal(test_err, "deprovctl: unknown command \"grp c\"\n"
	    "try: deprovctl --help\n");
	assert_int_equal(seen.runs, 0);
}

static void
test_dispatch_help(void **state)
{
	const char *one = "usage: deprovctl one ID --x X [--n N]...\n\nOne.\n"
	    "\nglobal options: --api URL, --token T, --cacert FILE, --json, "
	    "--timeout MS (see deprovctl --help)\n";

	assert_int_equal(RUN("one", "--help"), CTL_OK);
	assert_string_equal(test_out, one);
	assert_int_equal(RUN("-h", "one", "--frob"), CTL_OK);
	assert_string_equal(test_out, one);
	assert_int_equal(RUN("help", "one"), CTL_OK);
	assert_string_equal(test_out, one);
	assert_int_equal(RUN("one", "-h", "--frob"), CTL_USAGE);

	/* A group: the usage of each of its commands. */
	assert_int_equal(RUN("grp"), CTL_USAGE);
	assert_string_equal(test_out, "");
	assert_non_null(strstr(test_err, "usage: deprovctl grp a\n"));
	assert_non_null(strstr(test_err, "\nusage: deprovctl grp b [--other "
	    "O]\n"));
	assert_int_equal(RUN("grp", "--help"), CTL_OK);
	assert_non_null(strstr(test_out, "usage: deprovctl grp b"));
	assert_int_equal(RUN("help", "grp"), CTL_OK);
	assert_non_null(strstr(test_out, "usage: deprovctl grp a"));
	assert_int_equal(RUN("help", "grp", "b"), CTL_OK);
	assert_null(strstr(test_out, "usage: deprovctl grp a"));

	/* The overview lists every command's usage. */
	assert_int_equal(test_run((char *[]){ "deprovctl", NULL }), CTL_USAGE);
	assert_non_null(strstr(test_err, "commands:\n  one ID --x X [--n N]..."
	    "\n  grp a\n  grp b [--other O]\n\nglobal options"));
	assert_int_equal(RUN("--help"), CTL_OK);
	assert_non_null(strstr(test_out, "\n  grp a\n"));
	assert_int_equal(RUN("help", "nothing"), CTL_OK);
	assert_non_null(strstr(test_out, "usage: deprovctl [global options]"));

	assert_int_equal(RUN("--version"), CTL_OK);
	assert_string_equal(test_out, "deprovctl " CTL_VERSION "\n");
	assert_int_equal(RUN("one", "--version", "--frob"), CTL_OK);
	assert_string_equal(test_out, "deprovctl " CTL_VERSION "\n");
	assert_int_equal(seen.runs, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_dispatch_errors),
		cmocka_unit_test(test_dispatch_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
