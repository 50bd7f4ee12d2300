/*
 * ctl-args: deprovctl's options, parsed from option specs (struct ctl_opt
 * rows, one array per command and one for the global options). Long
 * options as getopt_long takes them (--name VALUE, --name=VALUE, unique
 * abbreviations, words and options in any order, "--" ends the options)
 * plus short letters where a row has one. Values are checked as they are
 * read (numbers and their bounds, how often a list may be given); required
 * options afterwards, by ctl_args_check. Nothing is printed: the caller
 * words the message from the error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* What was given for one option of the specs. */
struct ctl_args_value {
	const struct ctl_opt	 *opt;
	int			  seen;		/* times given */
	const char		 *str;		/* STR, INT: the last value */
	long long		  num;		/* INT */
	const char		**list;		/* LIST */
	size_t			  nlist;
};

struct ctl_args {
	struct ctl_args_value	 *values;	/* one per option name */
	size_t			  nvalues;
	const char		**words;	/* positional arguments */
	int			  nwords;
};

static const struct ctl_opt *ctl_args_findn(const struct ctl_opt *const *,
		    const char *, size_t, int *);
static int	ctl_args_register(struct ctl_args *,
		    const struct ctl_opt *const *);
static struct ctl_args_value *ctl_args_slot(const struct ctl_args *,
		    const char *);
static int	ctl_args_store(struct ctl_args *, const struct ctl_opt *,
		    const char *, struct ctl_args_error *);
static int	ctl_args_word(struct ctl_args *, const char *);
static int	ctl_args_fail(struct ctl_args_error *, enum ctl_args_problem,
		    const struct ctl_opt *, const char *, size_t);

struct ctl_args *
ctl_args_new(void)
{
	return calloc(1, sizeof (struct ctl_args));
}

void
ctl_args_free(struct ctl_args *args)
{
	size_t i;

	if (args == NULL)
		return;
	for (i = 0; i < args->nvalues; i++)
		free(args->values[i].list);
	free(args->values);
	free(args->words);
	free(args);
}

int
ctl_args_number(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

const struct ctl_opt *
ctl_args_find(const struct ctl_opt *const *specs, const char *name,
    int *ambiguous)
{
	return ctl_args_findn(specs, name, strlen(name), ambiguous);
}

/* ctl_args_find for the first len bytes of name. */
static const struct ctl_opt *
ctl_args_findn(const struct ctl_opt *const *specs, const char *name,
    size_t len, int *ambiguous)
{
	const struct ctl_opt	*o, *found = NULL;
	size_t			 i;

	*ambiguous = 0;
	for (i = 0; specs[i] != NULL; i++)
		for (o = specs[i]; o->name != NULL; o++)
			if (strlen(o->name) == len &&
			    strncmp(o->name, name, len) == 0)
				return o;
	for (i = 0; specs[i] != NULL; i++) {
		for (o = specs[i]; o->name != NULL; o++) {
			if (strncmp(o->name, name, len) != 0)
				continue;
			if (found != NULL && strcmp(found->name, o->name) != 0)
				*ambiguous = 1;
			else
				found = o;
		}
	}
	return *ambiguous ? NULL : found;
}

/* The row with this short letter, or NULL. */
static const struct ctl_opt *
ctl_args_letter(const struct ctl_opt *const *specs, int letter)
{
	const struct ctl_opt	*o;
	size_t			 i;

	for (i = 0; specs[i] != NULL; i++)
		for (o = specs[i]; o->name != NULL; o++)
			if (o->letter != 0 && o->letter == letter)
				return o;
	return NULL;
}

int
ctl_args_parse(struct ctl_args *args, const struct ctl_opt *const *specs,
    int argc, char **argv, int flags, struct ctl_args_error *err)
{
	const struct ctl_opt	*o;
	const char		*a, *name, *eq, *value;
	char			 letter[3];
	size_t			 len;
	int			 i, ambiguous, options = 1;

	memset(err, 0, sizeof *err);
	if (ctl_args_register(args, specs) != 0)
		return ctl_args_fail(err, CTL_ARGS_NO_MEMORY, NULL, NULL, 0);
	for (i = 0; i < argc; i++) {
		a = argv[i];
		if (options && strcmp(a, "--") == 0) {
			options = 0;
			if (flags & CTL_ARGS_STOP_AT_WORD)
				return i + 1;
			continue;
		}
		if (!options || a[0] != '-' || a[1] == '\0') {
			if (flags & CTL_ARGS_STOP_AT_WORD)
				return i;
			if (ctl_args_word(args, a) != 0)
				return ctl_args_fail(err, CTL_ARGS_NO_MEMORY,
				    NULL, NULL, 0);
			continue;
		}
		if (a[1] == '-') {
			/* --name, --name=value, --name value */
			name = a + 2;
			eq = strchr(name, '=');
			len = eq != NULL ? (size_t)(eq - name) : strlen(name);
			o = ctl_args_findn(specs, name, len, &ambiguous);
			if (o == NULL)
				return ctl_args_fail(err, CTL_ARGS_UNKNOWN, NULL,
				    a, len + 2);
			if (o->type == CTL_OPT_FLAG) {
				if (eq != NULL)
					return ctl_args_fail(err,
					    CTL_ARGS_UNWANTED_VALUE, o, NULL, 0);
				value = NULL;
			} else if (eq != NULL)
				value = eq + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else
				return ctl_args_fail(err, CTL_ARGS_NO_VALUE, o,
				    NULL, 0);
			if (ctl_args_store(args, o, value, err) != 0)
				return -1;
			if (o->flags & CTL_OPT_STOP)
				return i + 1;
			continue;
		}
		/* -h, -hh: short letters, each a flag or taking a value */
		for (name = a + 1; *name != '\0'; name++) {
			if ((o = ctl_args_letter(specs, *name)) == NULL) {
				snprintf(letter, sizeof letter, "-%c", *name);
				return ctl_args_fail(err, CTL_ARGS_UNKNOWN, NULL,
				    letter, 2);
			}
			value = NULL;
			if (o->type != CTL_OPT_FLAG) {
				if (name[1] != '\0')
					value = name + 1;
				else if (i + 1 < argc)
					value = argv[++i];
				else
					return ctl_args_fail(err,
					    CTL_ARGS_NO_VALUE, o, NULL, 0);
			}
			if (ctl_args_store(args, o, value, err) != 0)
				return -1;
			if (o->flags & CTL_OPT_STOP)
				return i + 1;
			if (value != NULL)
				break;
		}
	}
	return argc;
}

int
ctl_args_check(const struct ctl_args *args, struct ctl_args_error *err)
{
	size_t i;

	memset(err, 0, sizeof *err);
	for (i = 0; i < args->nvalues; i++)
		if ((args->values[i].opt->flags & CTL_OPT_REQUIRED) &&
		    args->values[i].seen == 0)
			return ctl_args_fail(err, CTL_ARGS_MISSING,
			    args->values[i].opt, NULL, 0);
	return 0;
}

int
ctl_args_has(const struct ctl_args *args, const char *name)
{
	return ctl_args_slot(args, name)->seen > 0;
}

const char *
ctl_args_get(const struct ctl_args *args, const char *name)
{
	return ctl_args_slot(args, name)->str;
}

long long
ctl_args_int(const struct ctl_args *args, const char *name, long long dflt)
{
	const struct ctl_args_value *v = ctl_args_slot(args, name);

	return v->seen > 0 ? v->num : dflt;
}

size_t
ctl_args_list(const struct ctl_args *args, const char *name,
    const char *const **values)
{
	const struct ctl_args_value *v = ctl_args_slot(args, name);

	*values = v->list;
	return v->nlist;
}

int
ctl_args_count(const struct ctl_args *args)
{
	return args->nwords;
}

const char *
ctl_args_value(const struct ctl_args *args, int i)
{
	return i >= 0 && i < args->nwords ? args->words[i] : NULL;
}

/* A value slot for every option name of the specs not known yet. */
static int
ctl_args_register(struct ctl_args *args, const struct ctl_opt *const *specs)
{
	struct ctl_args_value	*n;
	const struct ctl_opt	*o;
	size_t			 i, j;

	for (i = 0; specs[i] != NULL; i++) {
		for (o = specs[i]; o->name != NULL; o++) {
			for (j = 0; j < args->nvalues; j++)
				if (strcmp(args->values[j].opt->name,
				    o->name) == 0)
					break;
			if (j < args->nvalues)
				continue;
			n = realloc(args->values, (args->nvalues + 1) *
			    sizeof *n);
			if (n == NULL)
				return -1;
			args->values = n;
			memset(&n[args->nvalues], 0, sizeof *n);
			n[args->nvalues++].opt = o;
		}
	}
	return 0;
}

/* The slot of an option name; a name no spec has is a bug. */
static struct ctl_args_value *
ctl_args_slot(const struct ctl_args *args, const char *name)
{
	size_t i;

	for (i = 0; i < args->nvalues; i++)
		if (strcmp(args->values[i].opt->name, name) == 0)
			return &args->values[i];
	fprintf(stderr, "deprovctl: bug: no option --%s in the spec\n", name);
	abort();
}

/* Record one occurrence of o (value NULL for a flag). */
static int
ctl_args_store(struct ctl_args *args, const struct ctl_opt *o,
    const char *value, struct ctl_args_error *err)
{
	struct ctl_args_value	 *v = ctl_args_slot(args, o->name);
	const char		**n;
	long long		  num;

	switch (o->type) {
	case CTL_OPT_FLAG:
		break;
	case CTL_OPT_STR:
		v->str = value;
		break;
	case CTL_OPT_INT:
		if (ctl_args_number(value, o->min, o->max, &num) != 0)
			return ctl_args_fail(err, CTL_ARGS_BAD_VALUE, o, NULL,
			    0);
		v->str = value;
		v->num = num;
		break;
	case CTL_OPT_LIST:
		if (o->max > 0 && (long long)v->nlist >= o->max)
			return ctl_args_fail(err, CTL_ARGS_TOO_MANY, o, NULL, 0);
		if ((n = realloc(v->list, (v->nlist + 1) * sizeof *n)) == NULL)
			return ctl_args_fail(err, CTL_ARGS_NO_MEMORY, NULL,
			    NULL, 0);
		v->list = n;
		v->list[v->nlist++] = value;
		break;
	}
	v->seen++;
	return 0;
}

/* Keep a positional argument. */
static int
ctl_args_word(struct ctl_args *args, const char *word)
{
	const char **n;

	if ((n = realloc(args->words, ((size_t)args->nwords + 1) *
	    sizeof *n)) == NULL)
		return -1;
	args->words = n;
	args->words[args->nwords++] = word;
	return 0;
}

/* Fill *err (text: the first len bytes of text); returns -1. */
static int
ctl_args_fail(struct ctl_args_error *err, enum ctl_args_problem problem,
    const struct ctl_opt *o, const char *text, size_t len)
{
	err->problem = problem;
	err->opt = o;
	if (text != NULL)
		snprintf(err->text, sizeof err->text, "%.*s", (int)len, text);
	return -1;
}
