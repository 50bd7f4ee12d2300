/*
 * deprovctl: the operator CLI. Talks to the admin API of a running deprovd
 * (cases, case, freeze, unfreeze, retry, cancel) through the project's
 * asynchronous HTTP client on its own event loop, publishes test leaver
 * events to Kafka with librdkafka, verifies and exports the audit trail
 * straight from the SQLite file, and checks a configuration like
 * `deprovd --check`. Tables by default, --json for the raw JSON. Exit codes:
 * 0 ok, 1 the operation failed (API error, tampering found), 2 usage error,
 * 3 cannot reach the API (or Kafka). The token is never printed.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <librdkafka/rdkafka.h>
#include <openssl/rand.h>

#include "deprov/audit.h"
#include "deprov/config.h"
#include "deprov/diag.h"
#include "deprov/event.h"
#include "deprov/http.h"
#include "deprov/log.h"
#include "deprov/store.h"
#include "deprov/runbook.h"

#define CTL_VERSION		"0.1.0"
#define CTL_DEFAULT_API		"http://127.0.0.1:8080"
#define CTL_DEFAULT_TOPIC	"hr.leavers"
#define CTL_TIMEOUT_MS		30000L
#define CTL_CONNECT_MS		5000L
#define CTL_MAX_TARGETS		64
#define CTL_MAX_BODY		(16 * 1024 * 1024)
#define CTL_NOTE_WIDTH		60

enum ctl_exit {
	CTL_OK = 0,
	CTL_FAILED = 1,
	CTL_USAGE = 2,
	CTL_UNREACHABLE = 3
};

/* Option ids; bit (id - CTL_O_FIRST) in a command's mask allows it. */
enum ctl_opt {
	CTL_O_FIRST = 1000,
	CTL_O_API = CTL_O_FIRST,
	CTL_O_TOKEN,
	CTL_O_JSON,
	CTL_O_HELP,
	CTL_O_TIMEOUT,
	CTL_O_VERBOSE,
	CTL_O_VERSION,
	CTL_O_STATE,
	CTL_O_SUBJECT,
	CTL_O_LIMIT,
	CTL_O_EMAIL,
	CTL_O_EMPLOYEE_ID,
	CTL_O_USERNAME,
	CTL_O_REASON,
	CTL_O_TARGET,
	CTL_O_BROKERS,
	CTL_O_BOOTSTRAP_FILE,
	CTL_O_TOPIC,
	CTL_O_MANAGER_EMAIL,
	CTL_O_MANAGER_ID,
	CTL_O_EFFECTIVE,
	CTL_O_TYPE,
	CTL_O_TERMINATION_KIND,
	CTL_O_EVENT_ID,
	CTL_O_SOURCE,
	CTL_O_DB,
	CTL_O_CONFIG,
	CTL_O_SINCE,
	CTL_O_SINCE_MS
};

#define CTL_BIT(o)	(1ULL << ((o) - CTL_O_FIRST))
#define CTL_GLOBAL	(CTL_BIT(CTL_O_API) | CTL_BIT(CTL_O_TOKEN) | \
			 CTL_BIT(CTL_O_JSON) | CTL_BIT(CTL_O_HELP) | \
			 CTL_BIT(CTL_O_TIMEOUT) | CTL_BIT(CTL_O_VERBOSE) | \
			 CTL_BIT(CTL_O_VERSION))
#define CTL_SUBJECT_OPTS (CTL_BIT(CTL_O_EMAIL) | CTL_BIT(CTL_O_EMPLOYEE_ID) | \
			 CTL_BIT(CTL_O_USERNAME))
#define CTL_DB_OPTS	(CTL_BIT(CTL_O_DB) | CTL_BIT(CTL_O_CONFIG))

static const struct option ctl_longopts[] = {
	{ "api", required_argument, NULL, CTL_O_API },
	{ "token", required_argument, NULL, CTL_O_TOKEN },
	{ "json", no_argument, NULL, CTL_O_JSON },
	{ "help", no_argument, NULL, CTL_O_HELP },
	{ "timeout", required_argument, NULL, CTL_O_TIMEOUT },
	{ "verbose", no_argument, NULL, CTL_O_VERBOSE },
	{ "version", no_argument, NULL, CTL_O_VERSION },
	{ "state", required_argument, NULL, CTL_O_STATE },
	{ "subject", required_argument, NULL, CTL_O_SUBJECT },
	{ "limit", required_argument, NULL, CTL_O_LIMIT },
	{ "email", required_argument, NULL, CTL_O_EMAIL },
	{ "employee-id", required_argument, NULL, CTL_O_EMPLOYEE_ID },
	{ "username", required_argument, NULL, CTL_O_USERNAME },
	{ "reason", required_argument, NULL, CTL_O_REASON },
	{ "target", required_argument, NULL, CTL_O_TARGET },
	{ "brokers", required_argument, NULL, CTL_O_BROKERS },
	{ "bootstrap-file", required_argument, NULL, CTL_O_BOOTSTRAP_FILE },
	{ "topic", required_argument, NULL, CTL_O_TOPIC },
	{ "manager-email", required_argument, NULL, CTL_O_MANAGER_EMAIL },
	{ "manager-id", required_argument, NULL, CTL_O_MANAGER_ID },
	{ "effective", required_argument, NULL, CTL_O_EFFECTIVE },
	{ "type", required_argument, NULL, CTL_O_TYPE },
	{ "termination-kind", required_argument, NULL, CTL_O_TERMINATION_KIND },
	{ "id", required_argument, NULL, CTL_O_EVENT_ID },
	{ "source", required_argument, NULL, CTL_O_SOURCE },
	{ "db", required_argument, NULL, CTL_O_DB },
	{ "config", required_argument, NULL, CTL_O_CONFIG },
	{ "since", required_argument, NULL, CTL_O_SINCE },
	{ "since-ms", required_argument, NULL, CTL_O_SINCE_MS },
	{ NULL, 0, NULL, 0 },
};

struct ctl {
	const char	*api;
	const char	*token;
	int		 json;
	int		 verbose;
	long		 timeout_ms;
	const char	*cmd;		/* "cases", "audit verify", ... */

	const char	*state;
	const char	*subject;
	long		 limit;
	const char	*email;
	const char	*employee_id;
	const char	*username;
	const char	*reason;
	const char	*targets[CTL_MAX_TARGETS];
	size_t		 ntargets;
	const char	*brokers;
	const char	*bootstrap_file;
	const char	*topic;
	const char	*manager_email;
	const char	*manager_id;
	const char	*effective;
	const char	*type;
	const char	*termination_kind;
	const char	*event_id;
	const char	*source;
	const char	*db;
	const char	*config;
	const char	*since;
	long long	 since_ms;
	int		 have_since_ms;

	char		**args;		/* positional arguments after the command */
	int		  nargs;
};

struct ctl_cmd {
	const char	*name;
	int		 nargs;		/* positional arguments it takes */
	uint64_t	 opts;		/* allowed options besides the global ones */
	int		(*run)(struct ctl *);
	const char	*synopsis;
	const char	*help;
};

/* One API call on a private event loop. */
struct ctl_call {
	struct event_base	*base;
	int			 done;
	long			 status;
	char			 error[256];
	char			*body;
	size_t			 len;
};

/* An aligned text table. */
struct ctl_table {
	size_t	  ncols;
	size_t	  nrows;
	size_t	  cap;
	char	**cells;
};

static int	ctl_cmd_cases(struct ctl *);
static int	ctl_cmd_case(struct ctl *);
static int	ctl_cmd_freeze(struct ctl *);
static int	ctl_cmd_action(struct ctl *);
static int	ctl_cmd_reinstate(struct ctl *);
static int	ctl_cmd_publish(struct ctl *);
static int	ctl_cmd_audit_verify(struct ctl *);
static int	ctl_cmd_audit_export(struct ctl *);
static int	ctl_cmd_check(struct ctl *);

static const struct ctl_cmd ctl_cmds[] = {
	{ "cases", 0, CTL_BIT(CTL_O_STATE) | CTL_BIT(CTL_O_SUBJECT) |
	    CTL_BIT(CTL_O_LIMIT), ctl_cmd_cases,
	  "cases [--state S] [--subject K] [--limit N]",
	  "List cases, newest first (GET /v1/cases; viewer role).\n"
	  "\n"
	  "  --state S     only cases in state S (received, scheduled, freezing,\n"
	  "                contained, remediating, deactivating, completed,\n"
	  "                cancelled, escalated)\n"
	  "  --subject K   only cases of subject key K (employee id, or the\n"
	  "                email/username a freeze was issued for)\n"
	  "  --limit N     at most N cases (1-1000, default 50)\n" },
	{ "case", 1, 0, ctl_cmd_case,
	  "case ID",
	  "Show one case: subject, state, SLA status, steps per target and the\n"
	  "timeline (GET /v1/cases/ID; viewer role).\n" },
	{ "freeze", 0, CTL_SUBJECT_OPTS | CTL_BIT(CTL_O_REASON) |
	    CTL_BIT(CTL_O_TARGET), ctl_cmd_freeze,
	  "freeze (--email E | --employee-id ID | --username U) --reason TEXT "
	  "[--target NAME]...",
	  "Emergency freeze: freeze the subject at every target (or only the\n"
	  "named ones) and revoke its sessions, ahead of any backlog\n"
	  "(POST /v1/freeze; responder role). Prints the new case id.\n"
	  "\n"
	  "  --email E, --employee-id ID, --username U   who (at least one)\n"
	  "  --reason TEXT   incident or ticket reference (required; audited)\n"
	  "  --target NAME   only this target; repeat for several\n" },
	{ "unfreeze", 0, CTL_SUBJECT_OPTS | CTL_BIT(CTL_O_REASON) |
	    CTL_BIT(CTL_O_TARGET), ctl_cmd_freeze,
	  "unfreeze (--email E | --employee-id ID | --username U) --reason TEXT "
	  "[--target NAME]...",
	  "Undo a false-positive freeze (POST /v1/unfreeze; responder role).\n"
	  "Options as for freeze.\n" },
	{ "retry", 1, 0, ctl_cmd_action,
	  "retry ID",
	  "Run an escalated case's failed steps again (POST /v1/cases/ID/retry;\n"
	  "admin role).\n" },
	{ "cancel", 1, 0, ctl_cmd_action,
	  "cancel ID",
	  "Cancel an open case: no further steps start\n"
	  "(POST /v1/cases/ID/cancel; admin role).\n" },
	{ "reinstate", 1, CTL_BIT(CTL_O_REASON), ctl_cmd_reinstate,
	  "reinstate ID --reason TEXT",
	  "Bring back a rehired person: re-activate exactly the accounts that\n"
	  "leaver case ID disabled (POST /v1/cases/ID/reinstate; admin role).\n"
	  "Refused while the case runs, for a cancelled case, or when a later\n"
	  "case exists for the person. Prints the new case id.\n"
	  "\n"
	  "  --reason TEXT   the rehire's ticket or approval (required; audited)\n" },
	{ "publish", 0, CTL_BIT(CTL_O_BROKERS) | CTL_BIT(CTL_O_BOOTSTRAP_FILE) |
	    CTL_BIT(CTL_O_TOPIC) | CTL_BIT(CTL_O_EMAIL) |
	    CTL_BIT(CTL_O_EMPLOYEE_ID) | CTL_BIT(CTL_O_USERNAME) |
	    CTL_BIT(CTL_O_MANAGER_EMAIL) | CTL_BIT(CTL_O_MANAGER_ID) |
	    CTL_BIT(CTL_O_EFFECTIVE) | CTL_BIT(CTL_O_TYPE) |
	    CTL_BIT(CTL_O_TERMINATION_KIND) | CTL_BIT(CTL_O_EVENT_ID) |
	    CTL_BIT(CTL_O_SOURCE) | CTL_BIT(CTL_O_REASON), ctl_cmd_publish,
	  "publish (--brokers B | --bootstrap-file F) [--topic T] --email E "
	  "--employee-id ID [options]",
	  "Send a leaver event (CloudEvents 1.0, structured JSON, key = employee\n"
	  "id) to Kafka and wait for the broker to acknowledge it.\n"
	  "\n"
	  "  --brokers B           bootstrap servers (host:port,...)\n"
	  "  --bootstrap-file F    read them from F (what deprovd writes with\n"
	  "                        kafka.brokers \"embedded\")\n"
	  "  --topic T             topic (default hr.leavers)\n"
	  "  --email E             the leaver's email (required)\n"
	  "  --employee-id ID      the leaver's employee id (required; the key)\n"
	  "  --username U          username (default: the email)\n"
	  "  --manager-email M     manager, for reassigning records\n"
	  "  --manager-id ID       manager's employee id\n"
	  "  --effective RFC3339   when the leaver takes effect (default now)\n"
	  "  --type T              leaver (default), leaver.rescinded, freeze,\n"
	  "                        unfreeze, or a full io.deprov.* type\n"
	  "  --termination-kind K  voluntary, involuntary, ...\n"
	  "  --reason TEXT         reason (freeze events)\n"
	  "  --id ID               event id (default: random); resending an id\n"
	  "                        is a duplicate the daemon ignores\n"
	  "  --source S            CloudEvents source (default /deprovctl)\n" },
	{ "audit verify", 0, CTL_DB_OPTS, ctl_cmd_audit_verify,
	  "audit verify (--db PATH | --config FILE)",
	  "Recompute the audit trail's hash chain and report the first edited,\n"
	  "deleted or reordered record. Reads the SQLite file directly\n"
	  "(read-only; the daemon may keep running). Exit 0 when intact, 1 when\n"
	  "a record is bad or the trail cannot be read.\n"
	  "\n"
	  "  --db PATH       the store's database file\n"
	  "  --config FILE   take store.path from deprovd's configuration\n" },
	{ "audit export", 0, CTL_DB_OPTS | CTL_BIT(CTL_O_SINCE) |
	    CTL_BIT(CTL_O_SINCE_MS), ctl_cmd_audit_export,
	  "audit export [--since RFC3339 | --since-ms N] (--db PATH | --config "
	  "FILE)",
	  "Write audit records as JSON lines (one object per record, in seq\n"
	  "order) to standard output, for a SIEM.\n"
	  "\n"
	  "  --since RFC3339   records at or after this time (default: all)\n"
	  "  --since-ms N      the same as Unix milliseconds\n"
	  "  --db PATH, --config FILE   as for audit verify\n" },
	{ "check", 0, CTL_BIT(CTL_O_CONFIG), ctl_cmd_check,
	  "check --config FILE",
	  "Validate a configuration and every runbook it names, like\n"
	  "`deprovd --check`: exit 0, or 2 with one file:line: message per\n"
	  "problem on standard error.\n" },
};
#define CTL_NCMDS (sizeof ctl_cmds / sizeof ctl_cmds[0])

static void
ctl_usage(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: deprovctl [global options] COMMAND [options]\n"
	    "\n"
	    "commands:\n");
	for (i = 0; i < CTL_NCMDS; i++)
		fprintf(f, "  %s\n", ctl_cmds[i].synopsis);
	fprintf(f,
	    "\n"
	    "global options (before or after the command):\n"
	    "  --api URL       admin API (default $DEPROV_API or %s)\n"
	    "  --token T       bearer token (default $DEPROV_TOKEN)\n"
	    "  --json          print the raw JSON instead of tables\n"
	    "  --timeout MS    give up on the API or Kafka after MS ms "
	    "(default %ld)\n"
	    "  --verbose       more detail on errors\n"
	    "  --version       print the version\n"
	    "  --help          this text; `deprovctl COMMAND --help` for one "
	    "command\n"
	    "\n"
	    "exit status: 0 ok, 1 the operation failed (API error, tampering "
	    "found),\n"
	    "             2 usage error, 3 cannot reach the API (or Kafka)\n",
	    CTL_DEFAULT_API, CTL_TIMEOUT_MS);
}

static void
ctl_cmd_usage(const struct ctl_cmd *c, FILE *f)
{
	fprintf(f, "usage: deprovctl %s\n\n%s", c->synopsis, c->help);
	fprintf(f, "\nglobal options: --api URL, --token T, --json, --timeout MS "
	    "(see deprovctl --help)\n");
}

static const struct ctl_cmd *
ctl_cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < CTL_NCMDS; i++)
		if (strcmp(ctl_cmds[i].name, name) == 0)
			return &ctl_cmds[i];
	return NULL;
}

/* Print "deprovctl: msg" on stderr; returns code. */
static int __attribute__((format(printf, 2, 3)))
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

/* A usage error for a command; returns CTL_USAGE. */
static int __attribute__((format(printf, 2, 3)))
ctl_usage_error(const struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "deprovctl %s: ", ctl->cmd != NULL ? ctl->cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry: deprovctl %s%s--help\n", ctl->cmd != NULL ?
	    ctl->cmd : "", ctl->cmd != NULL ? " " : "");
	return CTL_USAGE;
}

static int
ctl_parse_long(const char *s, long long min, long long max, long long *out)
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

/* Store one option; -1 for a bad value (message printed). */
static int
ctl_set_opt(struct ctl *ctl, int o, const char *arg)
{
	long long v;

	switch (o) {
	case CTL_O_API: ctl->api = arg; break;
	case CTL_O_TOKEN: ctl->token = arg; break;
	case CTL_O_JSON: ctl->json = 1; break;
	case CTL_O_VERBOSE: ctl->verbose = 1; break;
	case CTL_O_TIMEOUT:
		if (ctl_parse_long(arg, 1, 3600000, &v) != 0) {
			ctl_usage_error(ctl, "--timeout: expected milliseconds "
			    "(1-3600000)");
			return -1;
		}
		ctl->timeout_ms = (long)v;
		break;
	case CTL_O_STATE: ctl->state = arg; break;
	case CTL_O_SUBJECT: ctl->subject = arg; break;
	case CTL_O_LIMIT:
		if (ctl_parse_long(arg, 1, 1000, &v) != 0) {
			ctl_usage_error(ctl, "--limit: expected a number from 1 "
			    "to 1000");
			return -1;
		}
		ctl->limit = (long)v;
		break;
	case CTL_O_EMAIL: ctl->email = arg; break;
	case CTL_O_EMPLOYEE_ID: ctl->employee_id = arg; break;
	case CTL_O_USERNAME: ctl->username = arg; break;
	case CTL_O_REASON: ctl->reason = arg; break;
	case CTL_O_TARGET:
		if (ctl->ntargets == CTL_MAX_TARGETS) {
			ctl_usage_error(ctl, "at most %d --target options",
			    CTL_MAX_TARGETS);
			return -1;
		}
		ctl->targets[ctl->ntargets++] = arg;
		break;
	case CTL_O_BROKERS: ctl->brokers = arg; break;
	case CTL_O_BOOTSTRAP_FILE: ctl->bootstrap_file = arg; break;
	case CTL_O_TOPIC: ctl->topic = arg; break;
	case CTL_O_MANAGER_EMAIL: ctl->manager_email = arg; break;
	case CTL_O_MANAGER_ID: ctl->manager_id = arg; break;
	case CTL_O_EFFECTIVE: ctl->effective = arg; break;
	case CTL_O_TYPE: ctl->type = arg; break;
	case CTL_O_TERMINATION_KIND: ctl->termination_kind = arg; break;
	case CTL_O_EVENT_ID: ctl->event_id = arg; break;
	case CTL_O_SOURCE: ctl->source = arg; break;
	case CTL_O_DB: ctl->db = arg; break;
	case CTL_O_CONFIG: ctl->config = arg; break;
	case CTL_O_SINCE: ctl->since = arg; break;
	case CTL_O_SINCE_MS:
		if (ctl_parse_long(arg, 0, INT64_MAX / 2, &v) != 0) {
			ctl_usage_error(ctl, "--since-ms: expected Unix "
			    "milliseconds");
			return -1;
		}
		ctl->since_ms = v;
		ctl->have_since_ms = 1;
		break;
	default:
		return -1;
	}
	return 0;
}

/* The option's name as typed, for messages. */
static const char *
ctl_opt_name(int o)
{
	size_t i;

	for (i = 0; ctl_longopts[i].name != NULL; i++)
		if (ctl_longopts[i].val == o)
			return ctl_longopts[i].name;
	return "?";
}

/*
 * Parse options in argv (argv[0] is the command word or the program).
 * stop_at_cmd: stop at the first non-option (global options before the
 * command). Returns 0, 1 for --help, 2 for --version, or -1 (usage error,
 * printed).
 */
static int
ctl_getopt(struct ctl *ctl, int argc, char **argv, uint64_t allowed,
    int stop_at_cmd)
{
	int o, help = 0;

	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, stop_at_cmd ? "+h" : "h",
	    ctl_longopts, NULL)) != -1) {
		if (o == 'h')
			o = CTL_O_HELP;
		if (o == '?' || o == ':') {
			if (optopt != 0 && optopt >= CTL_O_FIRST)
				ctl_usage_error(ctl, "--%s needs a value",
				    ctl_opt_name(optopt));
			else if (optopt != 0)
				ctl_usage_error(ctl, "unknown option -%c",
				    optopt);
			else
				ctl_usage_error(ctl, "unknown option %s",
				    argv[optind - 1]);
			return -1;
		}
		if ((allowed & CTL_BIT(o)) == 0) {
			ctl_usage_error(ctl, "--%s does not apply here",
			    ctl_opt_name(o));
			return -1;
		}
		if (o == CTL_O_HELP) {
			help = 1;
			continue;
		}
		if (o == CTL_O_VERSION)
			return 2;
		if (ctl_set_opt(ctl, o, optarg) != 0)
			return -1;
	}
	return help;
}

/* Replace control characters (terminal escapes from remote data) with '?'. */
static char *
ctl_clean(const char *s)
{
	char	*out, *p;

	if ((out = strdup(s != NULL ? s : "")) == NULL)
		return NULL;
	for (p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = *p == '\n' || *p == '\t' || *p == '\r' ? ' ' : '?';
	return out;
}

/* Display width: UTF-8 code points. */
static size_t
ctl_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void
ctl_table_init(struct ctl_table *t, size_t ncols)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
}

/* Add a row of ncols strings (NULL prints "-"). */
static int
ctl_table_row(struct ctl_table *t, const char *const *cells)
{
	char	**n;
	size_t	  i;

	if ((t->nrows + 1) * t->ncols > t->cap) {
		size_t cap = t->cap == 0 ? t->ncols * 16 : t->cap * 2;

		if ((n = realloc(t->cells, cap * sizeof *n)) == NULL)
			return -1;
		t->cells = n;
		t->cap = cap;
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = ctl_clean(cells[i] != NULL &&
		    *cells[i] != '\0' ? cells[i] : "-");
	t->nrows++;
	return 0;
}

static void
ctl_table_print(const struct ctl_table *t, FILE *f)
{
	size_t	w[32], i, r;
	const char *c;

	for (i = 0; i < t->ncols && i < 32; i++) {
		w[i] = 0;
		for (r = 0; r < t->nrows; r++) {
			c = t->cells[r * t->ncols + i];
			if (c != NULL && ctl_width(c) > w[i])
				w[i] = ctl_width(c);
		}
	}
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols && i < 32; i++) {
			c = t->cells[r * t->ncols + i];
			if (c == NULL)
				c = "?";
			if (i + 1 == t->ncols)
				fprintf(f, "%s\n", c);
			else
				fprintf(f, "%s%*s  ", c,
				    (int)(w[i] - ctl_width(c)), "");
		}
	}
}

static void
ctl_table_free(struct ctl_table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof *t);
}

static const char *
ctl_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL ||
	    json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

static int64_t
ctl_i64(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	return json_object_get_int64(v);
}

/* Milliseconds since the epoch as RFC 3339 UTC ("-" for 0). */
static const char *
ctl_time(int64_t ms, char *buf, size_t len)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		return "-";
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* A duration: "850ms", "12.3s", "4m05s", "2h10m", "3d04h". */
static const char *
ctl_duration(int64_t ms, char *buf, size_t len)
{
	int64_t s;

	if (ms < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	s = ms / 1000;
	if (ms < 1000)
		snprintf(buf, len, "%" PRId64 "ms", ms);
	else if (ms < 60000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600,
		    (s % 3600) / 60);
	else
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400,
		    (s % 86400) / 3600);
	return buf;
}

/* Shorten s to at most n display characters, with "..." (in place copy). */
static const char *
ctl_short(const char *s, size_t n, char *buf, size_t len)
{
	size_t i, chars = 0;

	if (s == NULL)
		return NULL;
	for (i = 0; s[i] != '\0' && i + 4 < len; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && ++chars > n)
			break;
		buf[i] = s[i];
	}
	buf[i] = '\0';
	if (s[i] != '\0') {
		while (i > 0 && ((unsigned char)buf[i] & 0xc0) == 0x80)
			buf[--i] = '\0';
		snprintf(buf + i, len - i, "...");
	}
	return buf;
}

static void
ctl_http_done(const struct http_response *resp, void *arg)
{
	struct ctl_call *c = arg;

	c->done = 1;
	c->status = resp->status;
	snprintf(c->error, sizeof c->error, "%s", resp->error);
	if (resp->body != NULL && (c->body = malloc(resp->body_len + 1)) !=
	    NULL) {
		memcpy(c->body, resp->body, resp->body_len);
		c->body[resp->body_len] = '\0';
		c->len = resp->body_len;
	}
	event_base_loopexit(c->base, NULL);
}

/* Print an API error reply as "deprovctl: <error>: <detail>". */
static int
ctl_api_error(const struct ctl_call *c)
{
	json_object	*o = c->body != NULL ? json_tokener_parse(c->body) : NULL;
	const char	*e = o != NULL ? ctl_str(o, "error") : NULL;
	const char	*d = o != NULL ? ctl_str(o, "detail") : NULL;
	char		*ce, *cd, buf[200];

	if (e != NULL) {
		ce = ctl_clean(e);
		cd = ctl_clean(d != NULL ? d : "");
		ctl_fail(CTL_FAILED, "%s: %s (HTTP %ld)", ce != NULL ? ce : "",
		    cd != NULL ? cd : "", c->status);
		free(ce);
		free(cd);
	} else {
		cd = ctl_clean(ctl_short(c->body != NULL ? c->body : "", 160,
		    buf, sizeof buf));
		ctl_fail(CTL_FAILED, "HTTP %ld: %s", c->status, cd != NULL ?
		    cd : "");
		free(cd);
	}
	if (o != NULL)
		json_object_put(o);
	return CTL_FAILED;
}

/*
 * Call the API: method, path (with query), optional JSON body. On success
 * (2xx with a JSON body) returns CTL_OK with *out (and *raw, the body, when
 * raw is not NULL); otherwise prints the error and returns CTL_FAILED or
 * CTL_UNREACHABLE.
 */
static int
ctl_api(struct ctl *ctl, const char *method, const char *path,
    json_object *body, json_object **out, char **raw)
{
	struct ctl_call		 c;
	struct http		*h = NULL;
	struct http_request	*req = NULL;
	char			*url = NULL, *auth = NULL;
	const char		*text;
	size_t			 blen;
	int			 rc = CTL_FAILED;

	memset(&c, 0, sizeof c);
	*out = NULL;
	if (raw != NULL)
		*raw = NULL;
	blen = strlen(ctl->api);
	while (blen > 0 && ctl->api[blen - 1] == '/')
		blen--;
	if (strncmp(ctl->api, "http://", 7) != 0 &&
	    strncmp(ctl->api, "https://", 8) != 0)
		return ctl_fail(CTL_USAGE, "--api must be an http:// or "
		    "https:// URL");
	if (asprintf(&url, "%.*s%s", (int)blen, ctl->api, path) < 0) {
		url = NULL;
		goto fail;
	}
	if ((c.base = event_base_new()) == NULL ||
	    (h = http_new(c.base)) == NULL) {
		ctl_fail(CTL_FAILED, "cannot set up the HTTP client");
		goto done;
	}
	http_set_max_body(h, CTL_MAX_BODY);
	if ((req = http_request_new(method, url)) == NULL)
		goto fail;
	http_request_timeout(req, ctl->timeout_ms, ctl->timeout_ms <
	    CTL_CONNECT_MS ? ctl->timeout_ms : CTL_CONNECT_MS);
	if (http_request_header(req, "Accept", "application/json") != 0 ||
	    http_request_header(req, "User-Agent", "deprovctl/" CTL_VERSION) !=
	    0)
		goto fail;
	if (ctl->token != NULL && *ctl->token != '\0') {
		if (asprintf(&auth, "Bearer %s", ctl->token) < 0) {
			auth = NULL;
			goto fail;
		}
		if (http_request_header(req, "Authorization", auth) != 0)
			goto fail;
	}
	if (body != NULL) {
		text = json_object_to_json_string_ext(body,
		    JSON_C_TO_STRING_PLAIN);
		if (http_request_header(req, "Content-Type",
		    "application/json") != 0 ||
		    http_request_body(req, text, strlen(text)) != 0)
			goto fail;
	}
	c.done = 0;
	if (http_request_start(h, req, ctl_http_done, &c) != 0) {
		req = NULL;	/* freed by http_request_start */
		ctl_fail(CTL_FAILED, "cannot start the request to %s", url);
		goto done;
	}
	req = NULL;		/* owned by the client now */
	/* Runs until ctl_http_done breaks the loop. */
	if (event_base_dispatch(c.base) < 0 || !c.done) {
		ctl_fail(CTL_FAILED, "no reply from %s (event loop ended)", url);
		goto done;
	}
	if (c.status == 0) {
		rc = ctl_fail(CTL_UNREACHABLE, "cannot reach the API at %.*s: %s",
		    (int)blen, ctl->api, c.error[0] != '\0' ? c.error :
		    "no response");
		goto done;
	}
	if (c.status < 200 || c.status > 299) {
		rc = ctl_api_error(&c);
		goto done;
	}
	if (c.body == NULL || (*out = json_tokener_parse(c.body)) == NULL) {
		ctl_fail(CTL_FAILED, "the API answered HTTP %ld without a JSON "
		    "body", c.status);
		goto done;
	}
	if (raw != NULL) {
		*raw = c.body;
		c.body = NULL;
	}
	rc = CTL_OK;
	goto done;
fail:
	ctl_fail(CTL_FAILED, "out of memory");
done:
	if (req != NULL)
		http_request_free(req);
	http_free(h);
	if (c.base != NULL)
		event_base_free(c.base);
	if (auth != NULL) {
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	free(url);
	free(c.body);
	return rc;
}

/* --json: print the API's body as received. */
static void
ctl_print_raw(const char *raw)
{
	size_t len = strlen(raw);

	fputs(raw, stdout);
	if (len == 0 || raw[len - 1] != '\n')
		fputc('\n', stdout);
}

/* "io.deprov.leaver" -> "leaver". */
static const char *
ctl_short_type(const char *t)
{
	if (t != NULL && strncmp(t, "io.deprov.", 10) == 0)
		return t + 10;
	return t;
}

static int
ctl_cmd_cases(struct ctl *ctl)
{
	json_object		*o = NULL, *arr, *c;
	struct ctl_table	 t;
	char			 path[1024], *q1 = NULL, *q2 = NULL, *raw = NULL;
	char			 created[40], ttf[32], note[256], id[32];
	char			 evt[96];
	const char		*cells[8], *n;
	size_t			 i, len;
	int64_t			 fz;
	int			 rc;

	snprintf(path, sizeof path, "/v1/cases?limit=%ld", ctl->limit > 0 ?
	    ctl->limit : 50L);
	if (ctl->state != NULL) {
		if ((q1 = http_urlencode(ctl->state)) == NULL)
			return ctl_fail(CTL_FAILED, "out of memory");
		len = strlen(path);
		snprintf(path + len, sizeof path - len, "&state=%s", q1);
	}
	if (ctl->subject != NULL) {
		if ((q2 = http_urlencode(ctl->subject)) == NULL) {
			free(q1);
			return ctl_fail(CTL_FAILED, "out of memory");
		}
		len = strlen(path);
		snprintf(path + len, sizeof path - len, "&subject=%s", q2);
	}
	free(q1);
	free(q2);
	if ((rc = ctl_api(ctl, "GET", path, NULL, &o, &raw)) != CTL_OK)
		return rc;
	if (ctl->json) {
		ctl_print_raw(raw);
		goto done;
	}
	if (!json_object_object_get_ex(o, "cases", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		rc = ctl_fail(CTL_FAILED, "unexpected reply: no cases array");
		goto done;
	}
	if (json_object_array_length(arr) == 0) {
		printf("no cases\n");
		goto done;
	}
	ctl_table_init(&t, 8);
	cells[0] = "ID"; cells[1] = "STATE"; cells[2] = "SUBJECT";
	cells[3] = "RUNBOOK"; cells[4] = "EVENT"; cells[5] = "CREATED (UTC)";
	cells[6] = "FROZEN AFTER"; cells[7] = "REASON / ERROR";
	ctl_table_row(&t, cells);
	for (i = 0; i < json_object_array_length(arr); i++) {
		c = json_object_array_get_idx(arr, i);
		snprintf(id, sizeof id, "%" PRId64, ctl_i64(c, "id"));
		fz = ctl_i64(c, "frozen_ms");
		n = ctl_str(c, "error") != NULL ? ctl_str(c, "error") :
		    ctl_str(c, "reason");
		cells[0] = id;
		cells[1] = ctl_str(c, "state");
		cells[2] = ctl_str(c, "subject_key");
		cells[3] = ctl_str(c, "runbook");
		snprintf(evt, sizeof evt, "%s%s", ctl_short_type(ctl_str(c,
		    "event_type")) != NULL ? ctl_short_type(ctl_str(c,
		    "event_type")) : "-", json_object_get_boolean(
		    json_object_object_get(c, "urgent")) ? " (urgent)" : "");
		cells[4] = evt;
		cells[5] = ctl_time(ctl_i64(c, "created_ms"), created,
		    sizeof created);
		cells[6] = fz > 0 ? ctl_duration(fz - ctl_i64(c, "created_ms"),
		    ttf, sizeof ttf) : NULL;
		cells[7] = ctl_short(n, CTL_NOTE_WIDTH, note, sizeof note);
		ctl_table_row(&t, cells);
	}
	ctl_table_print(&t, stdout);
	ctl_table_free(&t);
done:
	free(raw);
	json_object_put(o);
	return rc;
}

/* Parse the case id argument; -1 when it is not a positive integer. */
static long long
ctl_case_id(struct ctl *ctl)
{
	long long id;

	if (ctl->nargs != 1 || ctl_parse_long(ctl->args[0], 1, INT64_MAX / 2,
	    &id) != 0)
		return -1;
	return id;
}

static void
ctl_kv(const char *key, const char *value)
{
	char *c = ctl_clean(value != NULL && *value != '\0' ? value : "-");

	printf("%-12s %s\n", key, c != NULL ? c : "");
	free(c);
}

/* One deadline line: "2026-...  met" / "BREACHED" / "open". */
static void
ctl_deadline(const char *key, int64_t deadline, int64_t at, int breached)
{
	char when[40], line[160], d[32];

	if (deadline <= 0) {
		ctl_kv(key, "-");
		return;
	}
	if (breached)
		snprintf(line, sizeof line, "%s  BREACHED%s%s", ctl_time(
		    deadline, when, sizeof when), at > 0 ? " by " : "",
		    at > 0 ? ctl_duration(at - deadline, d, sizeof d) : "");
	else
		snprintf(line, sizeof line, "%s  %s", ctl_time(deadline, when,
		    sizeof when), at > 0 ? "met" : "open");
	ctl_kv(key, line);
}

/*
 * Containment: whether every freeze held, and per target frozen (when),
 * failed (why), skipped (why) or still pending. A case that freezes
 * nothing (an unfreeze, a reinstate) has none.
 */
static void
ctl_containment(json_object *o)
{
	json_object		*arr, *e, *v;
	struct ctl_table	 t;
	const char		*cells[3];
	char			 w1[40], note[256];
	size_t			 i;

	v = json_object_object_get(o, "contained");
	if (v == NULL || !json_object_object_get_ex(o, "containment", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return;
	ctl_kv("contained", json_object_get_boolean(v) ? "yes: locked out "
	    "at every target" : "NO: still exposed at a target below");
	printf("\ncontainment:\n");
	ctl_table_init(&t, 3);
	cells[0] = "TARGET"; cells[1] = "STATUS";
	cells[2] = "FROZEN AT (UTC) / ERROR / REASON";
	ctl_table_row(&t, cells);
	for (i = 0; i < json_object_array_length(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		if (strcmp(ctl_str(e, "status"), "none") == 0)
			continue;
		cells[0] = ctl_str(e, "target");
		cells[1] = ctl_str(e, "status");
		if (ctl_i64(e, "at_ms") > 0)
			cells[2] = ctl_time(ctl_i64(e, "at_ms"), w1, sizeof w1);
		else
			cells[2] = ctl_short(ctl_str(e, "error") != NULL ?
			    ctl_str(e, "error") : ctl_str(e, "reason"),
			    CTL_NOTE_WIDTH + 20, note, sizeof note);
		ctl_table_row(&t, cells);
	}
	ctl_table_print(&t, stdout);
	ctl_table_free(&t);
}

static int
ctl_cmd_case(struct ctl *ctl)
{
	json_object		*o = NULL, *subj, *arr, *e, *sla;
	struct ctl_table	 t;
	char			 path[64], buf[512], w1[40], w2[40], att[16];
	char			*raw = NULL, note[256];
	const char		*cells[6], *err;
	long long		 id;
	int64_t			 created, frozen, completed;
	size_t			 i;
	int			 rc;

	if ((id = ctl_case_id(ctl)) < 0)
		return ctl_usage_error(ctl, "expected one case id (a number)");
	snprintf(path, sizeof path, "/v1/cases/%lld", id);
	if ((rc = ctl_api(ctl, "GET", path, NULL, &o, &raw)) != CTL_OK)
		return rc;
	if (ctl->json) {
		ctl_print_raw(raw);
		goto done;
	}
	created = ctl_i64(o, "created_ms");
	frozen = ctl_i64(o, "frozen_ms");
	completed = ctl_i64(o, "completed_ms");
	snprintf(buf, sizeof buf, "%" PRId64, ctl_i64(o, "id"));
	ctl_kv("case", buf);
	snprintf(buf, sizeof buf, "%s%s", ctl_str(o, "state") != NULL ?
	    ctl_str(o, "state") : "?", json_object_get_boolean(
	    json_object_object_get(o, "urgent")) ? " (urgent)" : "");
	ctl_kv("state", buf);
	ctl_kv("runbook", ctl_str(o, "runbook"));
	ctl_kv("event", ctl_str(o, "event_type"));
	ctl_kv("subject", ctl_str(o, "subject_key"));
	if (json_object_object_get_ex(o, "subject", &subj) && subj != NULL) {
		ctl_kv("  email", ctl_str(subj, "email"));
		if (ctl_str(subj, "username") != NULL &&
		    (ctl_str(subj, "email") == NULL || strcmp(ctl_str(subj,
		    "username"), ctl_str(subj, "email")) != 0))
			ctl_kv("  username", ctl_str(subj, "username"));
		if (ctl_str(subj, "manager_email") != NULL)
			ctl_kv("  manager", ctl_str(subj, "manager_email"));
	}
	ctl_kv("reason", ctl_str(o, "reason"));
	ctl_kv("created", ctl_time(created, w1, sizeof w1));
	if (ctl_i64(o, "effective_ms") > 0)
		ctl_kv("effective", ctl_time(ctl_i64(o, "effective_ms"), w1,
		    sizeof w1));
	if (frozen > 0) {
		snprintf(buf, sizeof buf, "%s  (%s after created)", ctl_time(
		    frozen, w1, sizeof w1), ctl_duration(frozen - created, w2,
		    sizeof w2));
		ctl_kv("frozen", buf);
	} else
		ctl_kv("frozen", "-");
	if (completed > 0) {
		snprintf(buf, sizeof buf, "%s  (%s after created)", ctl_time(
		    completed, w1, sizeof w1), ctl_duration(completed - created,
		    w2, sizeof w2));
		ctl_kv("ended", buf);
	} else
		ctl_kv("ended", "-");
	sla = json_object_object_get(o, "sla");
	ctl_deadline("freeze by", ctl_i64(o, "freeze_deadline_ms"), frozen,
	    sla != NULL && json_object_get_boolean(json_object_object_get(sla,
	    "freeze_breached")));
	ctl_deadline("complete by", ctl_i64(o, "complete_deadline_ms"),
	    completed, sla != NULL && json_object_get_boolean(
	    json_object_object_get(sla, "complete_breached")));
	if ((err = ctl_str(o, "error")) != NULL)
		ctl_kv("error", err);
	ctl_containment(o);

	if (json_object_object_get_ex(o, "steps", &arr) &&
	    json_object_is_type(arr, json_type_array) &&
	    json_object_array_length(arr) > 0) {
		printf("\nsteps:\n");
		ctl_table_init(&t, 6);
		cells[0] = "TARGET"; cells[1] = "STEP"; cells[2] = "STATE";
		cells[3] = "ATTEMPTS"; cells[4] = "FINISHED (UTC)";
		cells[5] = "ERROR / DETAIL";
		ctl_table_row(&t, cells);
		for (i = 0; i < json_object_array_length(arr); i++) {
			e = json_object_array_get_idx(arr, i);
			snprintf(att, sizeof att, "%" PRId64,
			    ctl_i64(e, "attempts"));
			cells[0] = ctl_str(e, "target");
			cells[1] = ctl_str(e, "step");
			cells[2] = ctl_str(e, "state");
			cells[3] = att;
			cells[4] = ctl_time(ctl_i64(e, "finished_ms"), w1,
			    sizeof w1);
			cells[5] = ctl_short(ctl_str(e, "last_error") != NULL ?
			    ctl_str(e, "last_error") : ctl_str(e, "detail"),
			    CTL_NOTE_WIDTH, note, sizeof note);
			ctl_table_row(&t, cells);
		}
		ctl_table_print(&t, stdout);
		ctl_table_free(&t);
	}
	if (json_object_object_get_ex(o, "timeline", &arr) &&
	    json_object_is_type(arr, json_type_array) &&
	    json_object_array_length(arr) > 0) {
		printf("\ntimeline:\n");
		ctl_table_init(&t, 5);
		cells[0] = "TIME (UTC)"; cells[1] = "KIND"; cells[2] = "TARGET";
		cells[3] = "STEP"; cells[4] = "DETAIL";
		ctl_table_row(&t, cells);
		for (i = 0; i < json_object_array_length(arr); i++) {
			e = json_object_array_get_idx(arr, i);
			cells[0] = ctl_time(ctl_i64(e, "ts_ms"), w1, sizeof w1);
			cells[1] = ctl_str(e, "kind");
			cells[2] = ctl_str(e, "target");
			cells[3] = ctl_str(e, "step");
			cells[4] = ctl_short(ctl_str(e, "detail"),
			    CTL_NOTE_WIDTH + 20, note, sizeof note);
			ctl_table_row(&t, cells);
		}
		ctl_table_print(&t, stdout);
		ctl_table_free(&t);
	}
done:
	free(raw);
	json_object_put(o);
	return rc;
}

static int
ctl_cmd_freeze(struct ctl *ctl)
{
	json_object	*body, *subj, *arr, *o = NULL;
	char		*raw = NULL;
	size_t		 i;
	int		 unfreeze = strcmp(ctl->cmd, "unfreeze") == 0, rc;

	if (ctl->email == NULL && ctl->employee_id == NULL &&
	    ctl->username == NULL)
		return ctl_usage_error(ctl, "who? give --email, --employee-id "
		    "or --username");
	if (ctl->reason == NULL || *ctl->reason == '\0')
		return ctl_usage_error(ctl, "--reason is required (an incident "
		    "or ticket reference)");
	if ((body = json_object_new_object()) == NULL ||
	    (subj = json_object_new_object()) == NULL) {
		json_object_put(body);
		return ctl_fail(CTL_FAILED, "out of memory");
	}
	if (ctl->employee_id != NULL)
		json_object_object_add(subj, "employee_id",
		    json_object_new_string(ctl->employee_id));
	if (ctl->email != NULL)
		json_object_object_add(subj, "email",
		    json_object_new_string(ctl->email));
	if (ctl->username != NULL)
		json_object_object_add(subj, "username",
		    json_object_new_string(ctl->username));
	json_object_object_add(body, "subject", subj);
	json_object_object_add(body, "reason",
	    json_object_new_string(ctl->reason));
	if (ctl->ntargets > 0) {
		arr = json_object_new_array();
		for (i = 0; i < ctl->ntargets; i++)
			json_object_array_add(arr,
			    json_object_new_string(ctl->targets[i]));
		json_object_object_add(body, "targets", arr);
	}
	rc = ctl_api(ctl, "POST", unfreeze ? "/v1/unfreeze" : "/v1/freeze",
	    body, &o, &raw);
	json_object_put(body);
	if (rc != CTL_OK)
		return rc;
	if (ctl->json)
		ctl_print_raw(raw);
	else
		printf("%s accepted: case %" PRId64 " (%s)\n", unfreeze ?
		    "unfreeze" : "freeze", ctl_i64(o, "case_id"),
		    ctl_str(o, "type") != NULL ? ctl_str(o, "type") : "?");
	free(raw);
	json_object_put(o);
	return CTL_OK;
}

/* retry ID, cancel ID */
static int
ctl_cmd_action(struct ctl *ctl)
{
	json_object	*o = NULL;
	char		 path[96], *raw = NULL;
	long long	 id;
	int		 rc;

	if ((id = ctl_case_id(ctl)) < 0)
		return ctl_usage_error(ctl, "expected one case id (a number)");
	snprintf(path, sizeof path, "/v1/cases/%lld/%s", id, ctl->cmd);
	if ((rc = ctl_api(ctl, "POST", path, NULL, &o, &raw)) != CTL_OK)
		return rc;
	if (ctl->json)
		ctl_print_raw(raw);
	else
		printf("%s accepted for case %lld\n", ctl->cmd, id);
	free(raw);
	json_object_put(o);
	return CTL_OK;
}

/* reinstate ID --reason TEXT */
static int
ctl_cmd_reinstate(struct ctl *ctl)
{
	json_object	*body, *o = NULL;
	char		 path[96], *raw = NULL;
	long long	 id;
	int		 rc;

	if ((id = ctl_case_id(ctl)) < 0)
		return ctl_usage_error(ctl, "expected one case id (a number)");
	if (ctl->reason == NULL)
		return ctl_usage_error(ctl, "--reason is required");
	body = json_object_new_object();
	json_object_object_add(body, "reason",
	    json_object_new_string(ctl->reason));
	snprintf(path, sizeof path, "/v1/cases/%lld/reinstate", id);
	rc = ctl_api(ctl, "POST", path, body, &o, &raw);
	json_object_put(body);
	if (rc != CTL_OK)
		return rc;
	if (ctl->json)
		ctl_print_raw(raw);
	else
		printf("reinstate of case %lld: case %" PRId64 "\n", id,
		    ctl_i64(o, "case_id"));
	free(raw);
	json_object_put(o);
	return CTL_OK;
}

/* Delivery report of the one message publish sends. */
struct ctl_delivery {
	int			 done;
	rd_kafka_resp_err_t	 err;
	int32_t			 partition;
	int64_t			 offset;
};

static void
ctl_kafka_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct ctl_delivery *d = m->_private;

	(void)rk;
	(void)opaque;
	if (d == NULL)
		return;
	d->done = 1;
	d->err = m->err;
	d->partition = m->partition;
	d->offset = m->offset;
}

static void
ctl_kafka_log(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
	struct ctl *ctl = rd_kafka_opaque(rk);

	if (ctl != NULL && ctl->verbose)
		fprintf(stderr, "deprovctl: kafka %s: %s\n", fac, buf);
	(void)level;
}

/* The bootstrap servers: --brokers or the first line of --bootstrap-file. */
static int
ctl_bootstrap(struct ctl *ctl, char *buf, size_t len)
{
	FILE	*f;
	size_t	 n;

	if (ctl->brokers != NULL) {
		snprintf(buf, len, "%s", ctl->brokers);
		return CTL_OK;
	}
	if ((f = fopen(ctl->bootstrap_file, "r")) == NULL)
		return ctl_fail(CTL_FAILED, "%s: %s", ctl->bootstrap_file,
		    strerror(errno));
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	n = strlen(buf);
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	if (n == 0)
		return ctl_fail(CTL_FAILED, "%s: empty", ctl->bootstrap_file);
	return CTL_OK;
}

/* The CloudEvent publish sends. */
static json_object *
ctl_event(struct ctl *ctl, const char *id, const char *type)
{
	json_object	*ev, *data, *mgr;
	char		 now[40];
	time_t		 t = time(NULL);
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((ev = json_object_new_object()) == NULL)
		return NULL;
	data = json_object_new_object();
	json_object_object_add(ev, "specversion", json_object_new_string("1.0"));
	json_object_object_add(ev, "id", json_object_new_string(id));
	json_object_object_add(ev, "source", json_object_new_string(
	    ctl->source != NULL ? ctl->source : "/deprovctl"));
	json_object_object_add(ev, "type", json_object_new_string(type));
	json_object_object_add(ev, "time", json_object_new_string(now));
	json_object_object_add(ev, "subject",
	    json_object_new_string(ctl->employee_id));
	json_object_object_add(ev, "datacontenttype",
	    json_object_new_string("application/json"));
	json_object_object_add(data, "employee_id",
	    json_object_new_string(ctl->employee_id));
	json_object_object_add(data, "email", json_object_new_string(ctl->email));
	json_object_object_add(data, "username", json_object_new_string(
	    ctl->username != NULL ? ctl->username : ctl->email));
	if (ctl->manager_email != NULL || ctl->manager_id != NULL) {
		mgr = json_object_new_object();
		if (ctl->manager_id != NULL)
			json_object_object_add(mgr, "employee_id",
			    json_object_new_string(ctl->manager_id));
		if (ctl->manager_email != NULL)
			json_object_object_add(mgr, "email",
			    json_object_new_string(ctl->manager_email));
		json_object_object_add(data, "manager", mgr);
	}
	json_object_object_add(data, "effective", json_object_new_string(
	    ctl->effective != NULL ? ctl->effective : now));
	if (ctl->termination_kind != NULL)
		json_object_object_add(data, "termination_kind",
		    json_object_new_string(ctl->termination_kind));
	if (ctl->reason != NULL)
		json_object_object_add(data, "reason",
		    json_object_new_string(ctl->reason));
	json_object_object_add(ev, "data", data);
	return ev;
}

static int
ctl_cmd_publish(struct ctl *ctl)
{
	rd_kafka_conf_t		*conf = NULL;
	rd_kafka_t		*rk = NULL;
	rd_kafka_resp_err_t	 kerr;
	struct ctl_delivery	 dr;
	json_object		*ev = NULL, *o;
	char			 bootstrap[1024], e[512], id[256], type[128];
	char			 timeout[32], hex[33];
	unsigned char		 rnd[16];
	const char		*topic = ctl->topic != NULL ? ctl->topic :
				    CTL_DEFAULT_TOPIC, *text;
	struct timespec		 start, now;
	size_t			 i;
	int			 rc = CTL_FAILED;

	if ((ctl->brokers == NULL) == (ctl->bootstrap_file == NULL))
		return ctl_usage_error(ctl, "give either --brokers or "
		    "--bootstrap-file");
	if (ctl->email == NULL || ctl->employee_id == NULL)
		return ctl_usage_error(ctl, "--email and --employee-id are "
		    "required");
	if (ctl->effective != NULL && event_parse_time(ctl->effective) == -1)
		return ctl_usage_error(ctl, "--effective: expected an RFC 3339 "
		    "time such as 2026-11-23T18:00:00Z");
	if (ctl->type == NULL)
		snprintf(type, sizeof type, "%s", EVENT_TYPE_LEAVER);
	else if (strchr(ctl->type, '.') != NULL &&
	    strncmp(ctl->type, "io.", 3) == 0)
		snprintf(type, sizeof type, "%s", ctl->type);
	else
		snprintf(type, sizeof type, "io.deprov.%s", ctl->type);
	if (!event_type_known(type))
		return ctl_usage_error(ctl, "--type: expected leaver, "
		    "leaver.rescinded, freeze, unfreeze or reinstate");
	if ((rc = ctl_bootstrap(ctl, bootstrap, sizeof bootstrap)) != CTL_OK)
		return rc;
	rc = CTL_FAILED;
	if (ctl->event_id != NULL && (*ctl->event_id == '\0' ||
	    strlen(ctl->event_id) >= sizeof id))
		return ctl_usage_error(ctl, "--id: 1 to %zu characters",
		    sizeof id - 1);
	if (ctl->event_id != NULL)
		snprintf(id, sizeof id, "%s", ctl->event_id);
	else {
		/* A random (version 4) UUID. */
		if (RAND_bytes(rnd, sizeof rnd) != 1)
			return ctl_fail(CTL_FAILED, "no randomness for an id");
		rnd[6] = (unsigned char)((rnd[6] & 0x0f) | 0x40);
		rnd[8] = (unsigned char)((rnd[8] & 0x3f) | 0x80);
		for (i = 0; i < sizeof rnd; i++)
			snprintf(hex + i * 2, 3, "%02x", rnd[i]);
		snprintf(id, sizeof id, "%.8s-%.4s-%.4s-%.4s-%.12s", hex,
		    hex + 8, hex + 12, hex + 16, hex + 20);
	}
	if ((ev = ctl_event(ctl, id, type)) == NULL)
		return ctl_fail(CTL_FAILED, "out of memory");
	text = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);

	snprintf(timeout, sizeof timeout, "%ld", ctl->timeout_ms);
	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, e,
	    sizeof e) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "message.timeout.ms", timeout, e,
	    sizeof e) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "acks", "all", e, sizeof e) !=
	    RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "client.id", "deprovctl", e, sizeof e) !=
	    RD_KAFKA_CONF_OK) {
		ctl_fail(CTL_USAGE, "kafka: %s", e);
		rc = CTL_USAGE;
		goto done;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, ctl_kafka_dr);
	rd_kafka_conf_set_log_cb(conf, ctl_kafka_log);
	rd_kafka_conf_set_opaque(conf, ctl);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e)) == NULL) {
		ctl_fail(CTL_FAILED, "kafka: %s", e);
		goto done;
	}
	conf = NULL;	/* owned by rk */
	memset(&dr, 0, sizeof dr);
	kerr = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
	    RD_KAFKA_V_KEY(ctl->employee_id, strlen(ctl->employee_id)),
	    RD_KAFKA_V_VALUE((void *)text, strlen(text)),
	    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	    RD_KAFKA_V_OPAQUE(&dr), RD_KAFKA_V_END);
	if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
		ctl_fail(CTL_FAILED, "kafka: cannot produce: %s",
		    rd_kafka_err2str(kerr));
		goto done;
	}
	/* A CLI may wait: poll until the delivery report (or the timeout). */
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!dr.done) {
		rd_kafka_poll(rk, 100);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec -
		    start.tv_nsec) / 1000000 > ctl->timeout_ms + 5000)
			break;
	}
	if (!dr.done) {
		rc = ctl_fail(CTL_UNREACHABLE, "kafka: no delivery report from "
		    "%s within %ld ms", bootstrap, ctl->timeout_ms);
		goto done;
	}
	if (dr.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		rc = ctl_fail(dr.err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT ||
		    dr.err == RD_KAFKA_RESP_ERR__TRANSPORT ||
		    dr.err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ?
		    CTL_UNREACHABLE : CTL_FAILED, "kafka: %s not delivered to "
		    "%s: %s", topic, bootstrap, rd_kafka_err2str(dr.err));
		goto done;
	}
	if (ctl->json) {
		o = json_object_new_object();
		json_object_object_add(o, "topic", json_object_new_string(topic));
		json_object_object_add(o, "partition",
		    json_object_new_int(dr.partition));
		json_object_object_add(o, "offset",
		    json_object_new_int64(dr.offset));
		json_object_object_add(o, "key",
		    json_object_new_string(ctl->employee_id));
		json_object_object_add(o, "event", json_object_get(ev));
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else
		printf("published %s %s for %s to %s [%" PRId32 "] at offset %"
		    PRId64 "\n", type, id, ctl->employee_id, topic,
		    dr.partition, dr.offset);
	rc = CTL_OK;
done:
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	if (rk != NULL) {
		rd_kafka_flush(rk, 1000);
		rd_kafka_destroy(rk);
	}
	json_object_put(ev);
	return rc;
}

/* The database path: --db, or store.path of --config. NULL after a message. */
static char *
ctl_db_path(struct ctl *ctl, int *rc)
{
	struct diags	*diags;
	struct config	*cfg;
	char		*path = NULL;

	if ((ctl->db == NULL) == (ctl->config == NULL)) {
		*rc = ctl_usage_error(ctl, "give either --db or --config");
		return NULL;
	}
	if (ctl->db != NULL) {
		if ((path = strdup(ctl->db)) == NULL)
			*rc = ctl_fail(CTL_FAILED, "out of memory");
		return path;
	}
	if ((diags = diags_new()) == NULL) {
		*rc = ctl_fail(CTL_FAILED, "out of memory");
		return NULL;
	}
	/* Only store.path matters here: other problems are not ours to judge. */
	cfg = config_load(ctl->config, diags);
	if (cfg == NULL || cfg->store_path == NULL) {
		diags_print(diags, stderr);
		*rc = ctl_fail(CTL_USAGE, "%s: no usable store.path",
		    ctl->config);
	} else if ((path = strdup(cfg->store_path)) == NULL)
		*rc = ctl_fail(CTL_FAILED, "out of memory");
	config_free(cfg);
	diags_free(diags);
	return path;
}

/* Open the store read-only (a running deprovd keeps its lock). */
static struct store *
ctl_db_open(const char *path, int *rc)
{
	struct store	*db;
	char		 err[512];

	if (access(path, R_OK) != 0) {
		*rc = ctl_fail(CTL_FAILED, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((db = store_open_readonly(path, err, sizeof err)) == NULL) {
		*rc = ctl_fail(CTL_FAILED, "%s", err);
		return NULL;
	}
	return db;
}

static const char *
ctl_problem_name(enum audit_problem p)
{
	switch (p) {
	case AUDIT_INTACT: return "intact";
	case AUDIT_EDITED: return "edited";
	case AUDIT_BROKEN_LINK: return "broken_link";
	case AUDIT_GAP: return "gap";
	case AUDIT_BAD_ROW: return "bad_row";
	}
	return "unknown";
}

static int
ctl_cmd_audit_verify(struct ctl *ctl)
{
	struct audit_verify_result	 res;
	struct store			*db;
	json_object			*o;
	char				*path;
	int				 rc = CTL_FAILED, r;

	if ((path = ctl_db_path(ctl, &rc)) == NULL)
		return rc;
	if ((db = ctl_db_open(path, &rc)) == NULL) {
		free(path);
		return rc;
	}
	r = audit_verify(db, &res);
	if (r < 0) {
		rc = ctl_fail(CTL_FAILED, "audit verify: cannot read the audit "
		    "trail in %s: %s", path, res.message);
		goto done;
	}
	if (ctl->json) {
		o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(r == 0));
		json_object_object_add(o, "records",
		    json_object_new_int64(res.records));
		json_object_object_add(o, "last_seq",
		    json_object_new_int64(res.last_seq));
		json_object_object_add(o, "last_hash", res.last_hash[0] != '\0' ?
		    json_object_new_string(res.last_hash) : NULL);
		if (r != 0) {
			json_object_object_add(o, "bad_seq",
			    json_object_new_int64(res.bad_seq));
			json_object_object_add(o, "problem",
			    json_object_new_string(ctl_problem_name(
			    res.problem)));
			json_object_object_add(o, "message",
			    json_object_new_string(res.message));
		}
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else if (r == 0)
		printf("ok: %lld records intact; last seq %lld hash %s\n",
		    res.records, res.last_seq, res.last_hash[0] != '\0' ?
		    res.last_hash : "-");
	else
		printf("TAMPERED: %s\n", res.message);
	if (r != 0)
		rc = ctl_fail(CTL_FAILED, "audit verify: %s: seq %lld: %s", path,
		    res.bad_seq, ctl_problem_name(res.problem));
	else
		rc = CTL_OK;
done:
	store_close(db);
	free(path);
	return rc;
}

static int
ctl_cmd_audit_export(struct ctl *ctl)
{
	struct store	*db;
	char		*path;
	long long	 since = 0, n;
	time_t		 t;
	int		 rc = CTL_FAILED;

	if (ctl->since != NULL && ctl->have_since_ms)
		return ctl_usage_error(ctl, "give --since or --since-ms, not "
		    "both");
	if (ctl->since != NULL) {
		if ((t = event_parse_time(ctl->since)) == (time_t)-1)
			return ctl_usage_error(ctl, "--since: expected an RFC "
			    "3339 time such as 2026-11-23T18:00:00Z");
		since = (long long)t * 1000;
	} else if (ctl->have_since_ms)
		since = ctl->since_ms;
	if ((path = ctl_db_path(ctl, &rc)) == NULL)
		return rc;
	if ((db = ctl_db_open(path, &rc)) == NULL) {
		free(path);
		return rc;
	}
	n = audit_export(db, since, stdout);
	if (n < 0)
		rc = ctl_fail(CTL_FAILED, "audit export: cannot read the audit "
		    "trail in %s: %s", path, store_errmsg(db));
	else {
		if (ctl->verbose)
			fprintf(stderr, "deprovctl: %lld records exported\n", n);
		rc = CTL_OK;
	}
	store_close(db);
	free(path);
	return rc;
}

static int
ctl_cmd_check(struct ctl *ctl)
{
	struct diags		*diags;
	struct config		*cfg = NULL;
	struct runbook_set	*rbs = NULL;
	int			 rc;

	if (ctl->config == NULL)
		return ctl_usage_error(ctl, "--config FILE is required");
	if ((diags = diags_new()) == NULL)
		return ctl_fail(CTL_FAILED, "out of memory");
	/* The same checks as deprovd --check. */
	cfg = config_load(ctl->config, diags);
	if (cfg != NULL) {
		rbs = runbook_load_dir(cfg->runbooks_dir, cfg, diags);
		if (rbs != NULL && rbs->n == 0)
			diags_add(diags, cfg->runbooks_dir, 0,
			    "no runbooks found");
	} else if (diags_count(diags) == 0)
		diags_add(diags, ctl->config, 0, "cannot load the configuration");
	if (diags_count(diags) > 0) {
		diags_print(diags, stderr);
		rc = CTL_USAGE;
	} else {
		if (ctl->json)
			printf("{\"ok\":true,\"targets\":%zu,\"runbooks\":%zu}\n",
			    cfg->ntargets, rbs != NULL ? rbs->n : 0);
		else
			printf("%s: ok (%zu targets, %zu runbooks)\n",
			    ctl->config, cfg->ntargets, rbs != NULL ?
			    rbs->n : 0);
		rc = CTL_OK;
	}
	runbook_set_free(rbs);
	config_free(cfg);
	diags_free(diags);
	return rc;
}

int
main(int argc, char **argv)
{
	struct ctl		 ctl;
	const struct ctl_cmd	*cmd;
	char			 name[64];
	int			 r, first, words = 1;

	memset(&ctl, 0, sizeof ctl);
	ctl.timeout_ms = CTL_TIMEOUT_MS;
	ctl.api = getenv("DEPROV_API");
	if (ctl.api == NULL || *ctl.api == '\0')
		ctl.api = CTL_DEFAULT_API;
	ctl.token = getenv("DEPROV_TOKEN");
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_LEVEL_ERROR);

	/* Global options before the command. */
	r = ctl_getopt(&ctl, argc, argv, CTL_GLOBAL, 1);
	if (r < 0)
		return CTL_USAGE;
	if (r == 2) {
		printf("deprovctl %s\n", CTL_VERSION);
		return CTL_OK;
	}
	first = optind;
	if (first >= argc) {
		ctl_usage(r == 1 ? stdout : stderr);
		return r == 1 ? CTL_OK : CTL_USAGE;
	}
	if (strcmp(argv[first], "help") == 0) {
		if (first + 1 < argc) {
			snprintf(name, sizeof name, "%s%s%s", argv[first + 1],
			    first + 2 < argc ? " " : "", first + 2 < argc ?
			    argv[first + 2] : "");
			if ((cmd = ctl_cmd_find(name)) != NULL ||
			    (cmd = ctl_cmd_find(argv[first + 1])) != NULL) {
				ctl_cmd_usage(cmd, stdout);
				return CTL_OK;
			}
			if (strcmp(argv[first + 1], "audit") == 0) {
				ctl_cmd_usage(ctl_cmd_find("audit verify"),
				    stdout);
				printf("\n");
				ctl_cmd_usage(ctl_cmd_find("audit export"),
				    stdout);
				return CTL_OK;
			}
		}
		ctl_usage(stdout);
		return CTL_OK;
	}
	if (strcmp(argv[first], "audit") == 0) {
		if (first + 1 >= argc || argv[first + 1][0] == '-') {
			int help = first + 1 < argc &&
			    (strcmp(argv[first + 1], "--help") == 0 ||
			    strcmp(argv[first + 1], "-h") == 0);

			ctl_cmd_usage(ctl_cmd_find("audit verify"), help ?
			    stdout : stderr);
			fprintf(help ? stdout : stderr, "\n");
			ctl_cmd_usage(ctl_cmd_find("audit export"), help ?
			    stdout : stderr);
			return help ? CTL_OK : CTL_USAGE;
		}
		snprintf(name, sizeof name, "audit %s", argv[first + 1]);
		words = 2;
	} else
		snprintf(name, sizeof name, "%s", argv[first]);
	if ((cmd = ctl_cmd_find(name)) == NULL) {
		fprintf(stderr, "deprovctl: unknown command \"%s\"\n"
		    "try: deprovctl --help\n", name);
		return CTL_USAGE;
	}
	ctl.cmd = cmd->name;
	if (r == 1) {
		ctl_cmd_usage(cmd, stdout);
		return CTL_OK;
	}

	/* The command's options (global ones allowed too) and arguments. */
	first += words - 1;
	r = ctl_getopt(&ctl, argc - first, argv + first, CTL_GLOBAL | cmd->opts,
	    0);
	if (r < 0)
		return CTL_USAGE;
	if (r == 2) {
		printf("deprovctl %s\n", CTL_VERSION);
		return CTL_OK;
	}
	if (r == 1) {
		ctl_cmd_usage(cmd, stdout);
		return CTL_OK;
	}
	ctl.args = argv + first + optind;
	ctl.nargs = argc - first - optind;
	if (ctl.nargs != cmd->nargs) {
		if (cmd->nargs == 0)
			return ctl_usage_error(&ctl, "unexpected argument \"%s\"",
			    ctl.args[0]);
		return ctl_usage_error(&ctl, "expected %d argument%s",
		    cmd->nargs, cmd->nargs == 1 ? "" : "s");
	}
	return cmd->run(&ctl);
}
