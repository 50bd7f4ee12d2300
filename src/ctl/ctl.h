/*
 * ctl.h: the parts of deprovctl, the operator CLI, one section per file.
 *
 *   ctl-args.c		options parsed from a command's option spec
 */
#ifndef DEPROV_CTL_H
#define DEPROV_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ctl-args.c ------------------------------------------------------------ */

/* What an option takes. */
enum ctl_opt_type {
	CTL_OPT_FLAG,		/* nothing: --json */
	CTL_OPT_STR,		/* one value; given again, the last wins */
	CTL_OPT_INT,		/* a whole number within [min, max] */
	CTL_OPT_LIST		/* a value, repeatable at most max times */
};

#define CTL_OPT_REQUIRED	0x1	/* missing: a usage error (.missing) */
#define CTL_OPT_STOP		0x2	/* parsing ends where it appears */

/*
 * One row of an option spec; a spec is an array of rows ended by a row
 * whose name is NULL. Options are long (--name VALUE or --name=VALUE, any
 * unambiguous abbreviation of the name); letter gives a short form too
 * (only -h today).
 */
struct ctl_opt {
	const char		*name;		/* "limit" for --limit */
	int			 letter;	/* 'h' for -h, or 0 */
	enum ctl_opt_type	 type;
	int			 flags;		/* CTL_OPT_* */
	long long		 min;		/* INT: the bounds */
	long long		 max;		/* INT; LIST: at most max */
	const char		*bad;		/* INT: what a good value is */
	const char		*missing;	/* REQUIRED: the message, or NULL
						   for "--NAME is required" */
};

/* Why parsing failed. */
enum ctl_args_problem {
	CTL_ARGS_OK = 0,
	CTL_ARGS_UNKNOWN,	/* no such option, or an ambiguous abbreviation */
	CTL_ARGS_NO_VALUE,	/* an option that takes a value came last */
	CTL_ARGS_UNWANTED_VALUE, /* --flag=value */
	CTL_ARGS_BAD_VALUE,	/* not a number, or out of bounds (opt->bad) */
	CTL_ARGS_TOO_MANY,	/* a LIST option more than max times */
	CTL_ARGS_MISSING,	/* a REQUIRED option is missing */
	CTL_ARGS_NO_MEMORY
};

struct ctl_args_error {
	enum ctl_args_problem	 problem;
	const struct ctl_opt	*opt;		/* the option, when known */
	char			 text[64];	/* UNKNOWN: the option as typed,
						   without any "=value" */
};

/* Stop at the first word that is not an option (options before a command). */
#define CTL_ARGS_STOP_AT_WORD	0x1

struct ctl_args;

struct ctl_args	*ctl_args_new(void);
void		 ctl_args_free(struct ctl_args *);
/*
 * Parse argv[0..argc-1] against the specs (a NULL-terminated list; a name
 * in two specs is taken from the first). Words that are not options are the
 * positional arguments, wherever they are; "--" ends the options. Returns
 * the index of the first element not parsed (argc, or the word that stopped
 * it with CTL_ARGS_STOP_AT_WORD, or the one after a CTL_OPT_STOP option),
 * or -1 with *err filled. The args keep pointers into argv.
 */
int		 ctl_args_parse(struct ctl_args *,
		    const struct ctl_opt *const *specs, int argc, char **argv,
		    int flags, struct ctl_args_error *err);
/* 0, or -1 with *err for the first REQUIRED option (in spec order) missing. */
int		 ctl_args_check(const struct ctl_args *,
		    struct ctl_args_error *err);
/*
 * The row named name (exactly, or a unique abbreviation) in specs, or NULL;
 * *ambiguous is set when several rows match the abbreviation.
 */
const struct ctl_opt *ctl_args_find(const struct ctl_opt *const *specs,
		    const char *name, int *ambiguous);

/*
 * Lookups by option name. Asking for a name that none of the parsed specs
 * has is a bug: it aborts.
 */
int		 ctl_args_has(const struct ctl_args *, const char *name);
const char	*ctl_args_get(const struct ctl_args *, const char *name);
long long	 ctl_args_int(const struct ctl_args *, const char *name,
		    long long dflt);
size_t		 ctl_args_list(const struct ctl_args *, const char *name,
		    const char *const **values);
/* Positional arguments. */
int		 ctl_args_count(const struct ctl_args *);
const char	*ctl_args_value(const struct ctl_args *, int i);
/* A whole number in [min, max] from s; 0 or -1. */
int		 ctl_args_number(const char *s, long long min, long long max,
		    long long *out);

#endif
