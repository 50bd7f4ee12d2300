/*
 * test_ctl_args: deprovctl's option-spec parser. Values of every type
 * (flags, strings where the last wins, bounded numbers, repeatable lists
 * and their limit), required options, unknown options (never echoing a
 * value), missing and unwanted values, abbreviations (unique, ambiguous,
 * exact beating a longer name), words wherever they are and "--", stopping
 * at the command word or at an option such as --version, and a second
 * parse (options after the command) adding to the first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctl.h"

static const struct ctl_opt test_global[] = {
	{ .name = "api", .type = CTL_OPT_STR },
	{ .name = "json", .type = CTL_OPT_FLAG },
	{ .name = "help", .letter = 'h', .type = CTL_OPT_FLAG },
	{ .name = "timeout", .type = CTL_OPT_INT, .min = 1, .max = 3600000,
	  .bad = "expected milliseconds" },
	{ .name = "version", .type = CTL_OPT_FLAG, .flags = CTL_OPT_STOP },
	{ .name = NULL }
};

static const struct ctl_opt test_cmd[] = {
	{ .name = "email", .type = CTL_OPT_STR },
	{ .name = "employee-id", .type = CTL_OPT_STR },
	{ .name = "reason", .type = CTL_OPT_STR, .flags = CTL_OPT_REQUIRED },
	{ .name = "config", .type = CTL_OPT_STR, .flags = CTL_OPT_REQUIRED,
	  .missing = "--config FILE is required" },
	{ .name = "target", .type = CTL_OPT_LIST, .max = 3 },
	{ .name = "since", .type = CTL_OPT_STR },
	{ .name = "since-ms", .type = CTL_OPT_INT, .min = 0, .max = 1000 },
	{ .name = NULL }
};

static const struct ctl_opt *const test_specs[] = { test_global, test_cmd,
    NULL };
static const struct ctl_opt *const test_global_only[] = { test_global, NULL };

/* Parse a NULL-terminated argument list; the result of ctl_args_parse. */
static int
test_parse(struct ctl_args *args, const struct ctl_opt *const *specs,
    int flags, struct ctl_args_error *err, char **argv)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	return ctl_args_parse(args, specs, argc, argv, flags, err);
}

#define PARSE(args, specs, flags, err, ...) \
	test_parse(args, specs, flags, err, (char *[]){ __VA_ARGS__, NULL })

static void
test_values(void **state)
{
	struct ctl_args		*args = ctl_args_new();
	struct ctl_args_error	 err;

	assert_non_null(args);
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--api", "a",
	    "--json", "--email=x@acme.example", "--api=b", "--timeout",
	    "250", "--reason", ""), 9);
	assert_int_equal(err.problem, CTL_ARGS_OK);
	assert_string_equal(ctl_args_get(args, "api"), "b");	/* last wins */
	assert_true(ctl_args_has(args, "json"));
	assert_false(ctl_args_has(args, "help"));
	assert_string_equal(ctl_args_get(args, "email"), "x@acme.example");
	assert_int_equal(ctl_args_int(args, "timeout", 7), 250);
	assert_int_equal(ctl_args_int(args, "since-ms", 7), 7);
	assert_true(ctl_args_has(args, "reason"));
	assert_string_equal(ctl_args_get(args, "reason"), "");
	assert_null(ctl_args_get(args, "employee-id"));
	assert_int_equal(ctl_args_count(args), 0);
	ctl_args_free(args);
}

static void
test_numbers(void **state)
{
	const char		*bad[] = { "0", "3600001", "-5", "5x", "", "5 ",
				    "99999999999999999999" };
	struct ctl_args		*args;
	struct ctl_args_error	 err;
	long long		 v;
	size_t			 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		args = ctl_args_new();
		assert_int_equal(PARSE(args, test_specs, 0, &err, "--timeout",
		    (char *)bad[i]), -1);
		assert_int_equal(err.problem, CTL_ARGS_BAD_VALUE);
		assert_string_equal(err.opt->name, "timeout");
		assert_string_equal(err.opt->bad, "expected milliseconds");
		ctl_args_free(args);
	}
	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--timeout=1",
	    "--since-ms", "0"), 3);
	assert_int_equal(ctl_args_int(args, "timeout", 0), 1);
	assert_true(ctl_args_has(args, "since-ms"));
	assert_int_equal(ctl_args_int(args, "since-ms", 9), 0);
	ctl_args_free(args);

	assert_int_equal(ctl_args_number("42", 1, 42, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(ctl_args_number("43", 1, 42, &v), -1);
	assert_int_equal(ctl_args_number("+7", 1, 42, &v), 0);
	assert_int_equal(v, 7);
}

static void
test_required(void **state)
{
	struct ctl_args		*args;
	struct ctl_args_error	 err;

	/* Both missing: the first in spec order is reported. */
	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--email", "e"), 2);
	assert_int_equal(ctl_args_check(args, &err), -1);
	assert_int_equal(err.problem, CTL_ARGS_MISSING);
	assert_string_equal(err.opt->name, "reason");
	assert_null(err.opt->missing);
	ctl_args_free(args);

	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--reason", "r"), 2);
	assert_int_equal(ctl_args_check(args, &err), -1);
	assert_string_equal(err.opt->name, "config");
	assert_string_equal(err.opt->missing, "--config FILE is required");
	ctl_args_free(args);

	/* Given, even empty, is enough. */
	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--config=",
	    "--reason", ""), 3);
	assert_int_equal(ctl_args_check(args, &err), 0);
	assert_int_equal(err.problem, CTL_ARGS_OK);
	ctl_args_free(args);

	/* The global spec alone requires nothing. */
	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_global_only, 0, &err, "--json"), 1);
	assert_int_equal(ctl_args_check(args, &err), 0);
	ctl_args_free(args);
}

static void
test_repeated(void **state)
{
	struct ctl_args		*args = ctl_args_new();
	struct ctl_args_error	 err;
	const char *const	*values;

	assert_int_equal(PARSE(args, test_specs, 0, &err, "--target", "a",
	    "--target=b", "--tar", "c"), 5);
	assert_int_equal(ctl_args_list(args, "target", &values), 3);
	assert_string_equal(values[0], "a");
	assert_string_equal(values[1], "b");
	assert_string_equal(values[2], "c");
	ctl_args_free(args);

	args = ctl_args_new();
	assert_int_equal(test_parse(args, test_specs, 0, &err,
	    (char *[]){ NULL }), 0);
	assert_int_equal(ctl_args_list(args, "target", &values), 0);
	ctl_args_free(args);

	/* One more than the spec's max. */
	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--target", "a",
	    "--target", "b", "--target", "c", "--target", "d"), -1);
	assert_int_equal(err.problem, CTL_ARGS_TOO_MANY);
	assert_string_equal(err.opt->name, "target");
	assert_int_equal(err.opt->max, 3);
	ctl_args_free(args);

	/* Not a list: only the last value is kept. */
	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--email", "a",
	    "--email", "b"), 4);
	assert_string_equal(ctl_args_get(args, "email"), "b");
	ctl_args_free(args);
}

static void
test_unknown(void **state)
{
	struct ctl_args		*args;
	struct ctl_args_error	 err;

	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--json", "--frob",
	    "x"), -1);
	assert_int_equal(err.problem, CTL_ARGS_UNKNOWN);
	assert_null(err.opt);
	assert_string_equal(err.text, "--frob");
	ctl_args_free(args);

	/* The value given with an unknown option is not repeated. */
	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--tokn=SECRET"), -1);
	assert_int_equal(err.problem, CTL_ARGS_UNKNOWN);
	assert_string_equal(err.text, "--tokn");
	ctl_args_free(args);

	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "-x"), -1);
	assert_string_equal(err.text, "-x");
	ctl_args_free(args);

	/* -hx: h is known, x is not. */
	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "-hx"), -1);
	assert_int_equal(err.problem, CTL_ARGS_UNKNOWN);
	assert_string_equal(err.text, "-x");
	ctl_args_free(args);

	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "---json"), -1);
	assert_string_equal(err.text, "---json");
	ctl_args_free(args);

	/* An option of the command is unknown with the global spec alone. */
	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_global_only, 0, &err, "--email",
	    "e"), -1);
	assert_int_equal(err.problem, CTL_ARGS_UNKNOWN);
	assert_string_equal(err.text, "--email");
	ctl_args_free(args);

	/* A negative number is an (unknown) option, not a word. */
	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "-1"), -1);
	assert_string_equal(err.text, "-1");
	ctl_args_free(args);
}

static void
test_missing_value(void **state)
{
	struct ctl_args		*args;
	struct ctl_args_error	 err;

	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--reason", "r",
	    "--email"), -1);
	assert_int_equal(err.problem, CTL_ARGS_NO_VALUE);
	assert_string_equal(err.opt->name, "email");
	ctl_args_free(args);

	/* Abbreviated: the message can name the option in full. */
	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--tim"), -1);
	assert_int_equal(err.problem, CTL_ARGS_NO_VALUE);
	assert_string_equal(err.opt->name, "timeout");
	ctl_args_free(args);

	/* As getopt_long does, the next element is the value, dash or not. */
	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--email", "--json"),
	    2);
	assert_string_equal(ctl_args_get(args, "email"), "--json");
	assert_false(ctl_args_has(args, "json"));
	ctl_args_free(args);

	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--timeout",
	    "--json"), -1);
	assert_int_equal(err.problem, CTL_ARGS_BAD_VALUE);
	ctl_args_free(args);

	/* A flag given a value. */
	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--json=1"), -1);
	assert_int_equal(err.problem, CTL_ARGS_UNWANTED_VALUE);
	assert_string_equal(err.opt->name, "json");
	ctl_args_free(args);
}

static void
test_abbreviations(void **state)
{
	const struct ctl_opt	*o;
	struct ctl_args		*args;
	struct ctl_args_error	 err;
	int			 ambiguous;

	o = ctl_args_find(test_specs, "emp", &ambiguous);
	assert_non_null(o);
	assert_string_equal(o->name, "employee-id");
	assert_false(ambiguous);
	/* email, employee-id */
	assert_null(ctl_args_find(test_specs, "em", &ambiguous));
	assert_true(ambiguous);
	/* An exact name beats the longer one it starts. */
	o = ctl_args_find(test_specs, "since", &ambiguous);
	assert_string_equal(o->name, "since");
	assert_null(ctl_args_find(test_specs, "sinc", &ambiguous));
	assert_true(ambiguous);
	assert_null(ctl_args_find(test_specs, "nothing", &ambiguous));
	assert_false(ambiguous);

	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--em", "x"), -1);
	assert_int_equal(err.problem, CTL_ARGS_UNKNOWN);
	assert_string_equal(err.text, "--em");
	ctl_args_free(args);

	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--since-m=5",
	    "--ver"), 2);
	assert_int_equal(ctl_args_int(args, "since-ms", 0), 5);
	assert_true(ctl_args_has(args, "version"));
	ctl_args_free(args);
}

static void
test_words(void **state)
{
	struct ctl_args		*args;
	struct ctl_args_error	 err;

	/* Words anywhere; "-" is a word; after "--" everything is. */
	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "one", "--json",
	    "-", "--email", "e", "--", "--reason", "-5"), 8);
	assert_int_equal(ctl_args_count(args), 4);
	assert_string_equal(ctl_args_value(args, 0), "one");
	assert_string_equal(ctl_args_value(args, 1), "-");
	assert_string_equal(ctl_args_value(args, 2), "--reason");
	assert_string_equal(ctl_args_value(args, 3), "-5");
	assert_null(ctl_args_value(args, 4));
	assert_false(ctl_args_has(args, "reason"));
	assert_true(ctl_args_has(args, "json"));
	ctl_args_free(args);

	/* Options before a command: stop at its word. */
	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_global_only, CTL_ARGS_STOP_AT_WORD,
	    &err, "--json", "-h", "cases", "--frob"), 2);
	assert_true(ctl_args_has(args, "help"));
	assert_int_equal(ctl_args_count(args), 0);
	ctl_args_free(args);

	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_global_only, CTL_ARGS_STOP_AT_WORD,
	    &err, "--", "--json"), 1);
	assert_false(ctl_args_has(args, "json"));
	ctl_args_free(args);

	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_global_only, CTL_ARGS_STOP_AT_WORD,
	    &err, "--json"), 1);
	ctl_args_free(args);
}

static void
test_stop(void **state)
{
	struct ctl_args		*args = ctl_args_new();
	struct ctl_args_error	 err;

	/* --version ends parsing: what follows is not looked at. */
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--json",
	    "--version", "--frob", "word"), 2);
	assert_true(ctl_args_has(args, "version"));
	assert_int_equal(ctl_args_count(args), 0);
	ctl_args_free(args);

	args = ctl_args_new();
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--frob",
	    "--version"), -1);
	ctl_args_free(args);
}

static void
test_two_parses(void **state)
{
	struct ctl_args		*args = ctl_args_new();
	struct ctl_args_error	 err;

	/* Global options before the command, then the command's own. */
	assert_int_equal(PARSE(args, test_global_only, CTL_ARGS_STOP_AT_WORD,
	    &err, "--api", "a", "--timeout", "5", "cmd"), 4);
	assert_int_equal(PARSE(args, test_specs, 0, &err, "--reason", "r",
	    "--api", "b", "id"), 5);
	assert_string_equal(ctl_args_get(args, "api"), "b");
	assert_int_equal(ctl_args_int(args, "timeout", 0), 5);
	assert_string_equal(ctl_args_get(args, "reason"), "r");
	assert_int_equal(ctl_args_count(args), 1);
	assert_string_equal(ctl_args_value(args, 0), "id");
	ctl_args_free(args);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_repeated),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_missing_value),
		cmocka_unit_test(test_abbreviations),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_two_parses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
