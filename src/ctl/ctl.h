/*
 * ctl.h: the parts of deprovctl, the operator CLI, one section per file.
 *
 *   ctl.c		the core: the command table, the dispatcher, global
 *			options, usage and help from each command's entry,
 *			exit codes and messages
 *   ctl-args.c		options parsed from a command's option spec
 *   ctl-api.c		the admin API client (the project's HTTP client on a
 *			private event loop)
 *   ctl-table.c	aligned text tables and the cell formatters
 *   ctl-cmd-*.c	one file per command group, each exporting one
 *			struct ctl_cmd_entry per command: cases and case;
 *			freeze and unfreeze; retry, cancel and reinstate;
 *			publish; audit verify and audit export; check;
 *			evidence; reload
 *
 * A command is a table row: its name, usage line, help text, option spec
 * and the function that runs it. The core parses the global options and the
 * command's own options from the specs and hands the command its parsed
 * arguments; it knows nothing else about any command.
 */
#ifndef DEPROV_CTL_H
#define DEPROV_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "deprov/http.h"

#define CTL_VERSION		"0.1.0"

/* Exit status of deprovctl. */
enum ctl_exit {
	CTL_OK = 0,
	CTL_FAILED = 1,		/* the operation failed: API error, tampering */
	CTL_USAGE = 2,		/* usage error; check found problems */
	CTL_UNREACHABLE = 3	/* cannot reach the API (or Kafka) */
};

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

/* ctl.c ----------------------------------------------------------------- */

struct ctl;

/* The command's one positional argument is a case id (a number from 1). */
#define CTL_CMD_CASE_ID		0x1

/* One command: a row of the command table. */
struct ctl_cmd_entry {
	const char		*name;		/* "cases", "audit verify" */
	const char		*usage;		/* after "usage: deprovctl " */
	const char		*help;		/* what it does and its options */
	const struct ctl_opt	*opts;		/* its option spec */
	int			 nargs;		/* positional arguments */
	int			 flags;		/* CTL_CMD_* */
	int			(*exec)(struct ctl *, struct ctl_args *);
};

/* What every command may read: the global options. */
struct ctl {
	const char			*api;		/* base URL */
	const char			*token;		/* bearer token, or NULL */
	const char			*cacert;	/* CA file for https, or NULL */
	const char			*cacert_from;	/* "--cacert", "SSL_CERT_FILE" */
	int				 json;		/* --json */
	int				 verbose;	/* --verbose */
	long				 timeout_ms;	/* --timeout */
	const struct ctl_cmd_entry	*cmd;		/* the command running */
};

extern const struct ctl_cmd_entry *const ctl_cmd_table[];

/* Run deprovctl over a NULL-terminated command table; the exit status. */
int		 ctl_main(const struct ctl_cmd_entry *const *table, int argc,
		    char **argv);
/* Print "deprovctl: msg" on stderr; returns code. */
int		 ctl_fail(int code, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* A usage error of the running command; returns CTL_USAGE. */
int		 ctl_usage_error(const struct ctl *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* The case id argument of a CTL_CMD_CASE_ID command (checked already). */
long long	 ctl_case_id(const struct ctl_args *);
/* --json: print the API's body as received. */
void		 ctl_print_raw(const char *raw);

/* ctl-api.c ------------------------------------------------------------- */

#define CTL_DEFAULT_API		"http://127.0.0.1:8080"
#define CTL_TIMEOUT_MS		30000L

/*
 * Call the API: method, path (with query), optional JSON body. On success
 * (2xx with a JSON body) returns CTL_OK with *out (and *raw, the body, when
 * raw is not NULL); otherwise prints the error and returns CTL_FAILED,
 * CTL_USAGE (a bad --api) or CTL_UNREACHABLE.
 */
int		 ctl_api_call(struct ctl *, const char *method, const char *path,
		    json_object *body, json_object **out, char **raw);
/*
 * GET path, its 2xx body handed to sink as it arrives (a body too large to
 * hold); accept is the media type asked for. As ctl_api_call otherwise.
 */
int		 ctl_api_stream(struct ctl *, const char *path, const char *accept,
		    http_sink sink, void *arg);
/* A string member of a reply, NULL when absent or null. */
const char	*ctl_api_str(json_object *, const char *key);
/* An integer member of a reply, 0 when absent. */
int64_t		 ctl_api_i64(json_object *, const char *key);

/* ctl-table.c ----------------------------------------------------------- */

#define CTL_TABLE_NOTE_WIDTH	60	/* display characters of a note column */

/* An aligned text table. */
struct ctl_table {
	size_t	  ncols;
	size_t	  nrows;
	size_t	  cap;
	char	**cells;
};

void		 ctl_table_init(struct ctl_table *, size_t ncols);
/* Add a row of ncols strings (NULL or "" prints "-"); 0 or -1. */
int		 ctl_table_row(struct ctl_table *, const char *const *cells);
void		 ctl_table_print(const struct ctl_table *, FILE *);
void		 ctl_table_free(struct ctl_table *);
/* A copy with control characters (terminal escapes) replaced. */
char		*ctl_table_clean(const char *);
/* Milliseconds since the epoch as RFC 3339 UTC ("-" for 0). */
const char	*ctl_table_time(int64_t ms, char *buf, size_t len);
/* A duration: "850ms", "12.3s", "4m05s", "2h10m", "3d04h". */
const char	*ctl_table_duration(int64_t ms, char *buf, size_t len);
/* s cut to at most n display characters, with "...". */
const char	*ctl_table_short(const char *s, size_t n, char *buf, size_t len);
/* A "key          value" line (the value cleaned; "-" when empty). */
void		 ctl_table_kv(const char *key, const char *value);

/* ctl-cmd-*.c ----------------------------------------------------------- */

extern const struct ctl_cmd_entry ctl_cmd_cases_entry;
extern const struct ctl_cmd_entry ctl_cmd_case_entry;
extern const struct ctl_cmd_entry ctl_cmd_freeze_entry;
extern const struct ctl_cmd_entry ctl_cmd_unfreeze_entry;
extern const struct ctl_cmd_entry ctl_cmd_retry_entry;
extern const struct ctl_cmd_entry ctl_cmd_cancel_entry;
extern const struct ctl_cmd_entry ctl_cmd_reinstate_entry;
extern const struct ctl_cmd_entry ctl_cmd_publish_entry;
extern const struct ctl_cmd_entry ctl_cmd_audit_verify_entry;
extern const struct ctl_cmd_entry ctl_cmd_audit_export_entry;
extern const struct ctl_cmd_entry ctl_cmd_check_entry;
extern const struct ctl_cmd_entry ctl_cmd_evidence_entry;
extern const struct ctl_cmd_entry ctl_cmd_store_migrate_entry;
extern const struct ctl_cmd_entry ctl_cmd_reload_entry;

/* ctl-cmd-store.c ------------------------------------------------------- */

struct audit_source;
struct pgstore;

enum ctl_store_kind {
	CTL_STORE_BAD = 0,
	CTL_STORE_SQLITE,	/* "sqlite:PATH", or a bare PATH */
	CTL_STORE_POSTGRES	/* "postgres:URL", or a postgresql:// URL */
};
/* Where a store is: its kind, *where the path or the URL. */
enum ctl_store_kind ctl_store_parse(const char *spec, const char **where);
/* Read a PostgreSQL store's audit trail through audit.h. */
void		 ctl_store_pg_source(struct pgstore *, struct audit_source *);

#endif
