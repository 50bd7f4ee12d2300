/*
 * config: loads and validates the daemon's JSON configuration (comments
 * allowed). Every problem is reported through a diags list as file:line so
 * that `deprovd --check` can print them all. Secrets given as `*_env` or
 * `*_file` are resolved here; they are never logged.
 */
#ifndef DEPROV_CONFIG_H
#define DEPROV_CONFIG_H

#include <stddef.h>

#include <json-c/json.h>

#include "deprov/diag.h"

struct jsonc_doc;

struct config_auth {
	char	*type;			/* "none", "bearer", "ssws", "jwt_bearer",
					   "client_credentials", "google_service_account" */
	char	*token;			/* bearer, ssws: the resolved token */
	char	*client_id;		/* jwt_bearer: iss; client_credentials: client_id */
	char	*username;		/* jwt_bearer: sub */
	char	*audience;		/* jwt_bearer: aud, default https://login.salesforce.com */
	char	*token_url;		/* jwt_bearer, client_credentials: token endpoint;
					   google_service_account: token_uri of the key (or override) */
	char	*private_key_pem;	/* jwt_bearer, client_credentials (key form),
					   google_service_account: resolved PEM text */
	long	 token_ttl_s;		/* assertion exp = now + this (jwt_bearer <= 180,
					   client_credentials <= 300) */
	/* client_credentials */
	char	*client_secret;		/* secret form (else private_key_pem) */
	char	*scope;			/* space-separated; google: the scopes joined */
	char	*key_id;		/* JWT header "kid"; google: private_key_id */
	char	*x5t;			/* JWT header "x5t" as given (base64url SHA-1) */
	char	*certificate_pem;	/* certificate whose thumbprint goes in the header */
	int	 x5t_s256;		/* "thumbprint": "sha256": x5t#S256 instead of x5t */
	/* google_service_account */
	char	*client_email;		/* iss, from the key file */
	char	*subject;		/* sub: the admin user to impersonate */
};

struct config_limits {
	double	 rate_per_sec;		/* token bucket refill; 0 = unlimited */
	double	 burst;			/* bucket size */
	int	 concurrency;		/* requests in flight at once */
	long	 timeout_ms;		/* whole-request timeout */
	long	 connect_timeout_ms;
	long	 limit_backoff_ms;	/* wait after an org-wide limit (REQUEST_LIMIT_EXCEEDED) */
	double	 usage_slowdown;	/* slow down above this share of Sforce-Limit-Info (0..1) */
	int	 breaker_failures;	/* failed sends in a row that open the circuit (0 = 5) */
	long	 breaker_open_ms;	/* first open period (0 = 30000), doubled per failed probe */
	long	 breaker_max_open_ms;	/* cap of the open period (0 = 300000) */
};

struct config_target {
	char			*name;
	char			*kind;		/* a connector kind (connector_find) */
	char			*base_url;	/* without trailing slash */
	char			*api_version;	/* salesforce: "v60.0" */
	struct config_auth	 auth;
	struct config_limits	 limits;
	json_object		*options;	/* kind-specific extras (owned), may be NULL;
						   checked by the kind at loading */
	int			 line;
	int			 irreversible_delete;	/* "delete" steps need "irreversible_ok"
						   (given, or by the kind's rule) */
	char			*irreversible_why;	/* what a delete destroys, or NULL */
};

struct config_kafka {
	char	 *brokers;		/* "embedded" = in-process mock cluster */
	char	 *group_id;
	char	**topics;
	size_t	  ntopics;
	char	 *dlq_topic;		/* may be NULL */
	char	 *audit_topic;		/* may be NULL */
	char	**prop_keys;		/* librdkafka's, each to its clients (kafka.c) */
	char	**prop_vals;
	size_t	  nprops;
	char	 *bootstrap_file;	/* embedded: where to write the bootstrap address */
	int	  partitions;		/* embedded: partitions per topic */
	size_t	  max_message_bytes;	/* larger messages are dead letters */
};

struct config_api_token {
	char	*name;
	char	*role;			/* viewer | responder | admin */
	char	*sha256;		/* lowercase hex */
};

struct config_api {
	char			*listen;	/* "host:port", NULL = no API */
	char			*tls_cert_file;
	char			*tls_key_file;
	struct config_api_token	*tokens;
	size_t			 ntokens;
	/* Limits (docs/SECURITY.md "Limits"); 0 = derived from RLIMIT_NOFILE / default. */
	long			 max_connections;
	long			 max_connections_per_address;
	long			 request_timeout_ms;	/* each request: sent and answered within */
	char			*public_url;	/* the dashboard as people reach it
						   (no trailing '/'), or NULL */
};

struct config_engine {
	int	 max_running_steps;	/* steps in flight across all cases */
	long	 tick_ms;		/* scheduler tick for due retries */
	size_t	 max_open_cases;	/* backpressure: pause intake at this many */
	size_t	 resume_open_cases;	/* and resume at this many */
};

/* A webhook told about SLA breaches. url and auth_header are secrets. */
struct config_webhook {
	char	*name;
	char	*url;			/* http(s); Slack's carries a token: never logged */
	char	*format;		/* "generic" | "slack" */
	char	*auth_header;		/* the whole Authorization value, or NULL */
	int	 line;
};

struct config_alerts {
	struct config_webhook	*webhooks;
	size_t			 nwebhooks;
	int			 max_attempts;		/* per delivery (default 8) */
	long			 initial_backoff_ms;	/* full-jitter backoff (default 1000) */
	long			 max_backoff_ms;	/* default 60000 */
	long			 timeout_ms;		/* per attempt (default 5000) */
};

struct config {
	char			*path;		/* the file loaded */
	char			*dir;		/* its directory: relative paths start here */
	char			*store_path;
	int			 store_backend;	/* STORE_BACKEND_* (store.h) */
	char			*store_url;	/* postgres: libpq URL (a secret) */
	char			*store_instance; /* postgres: this deprovd's name */
	int			 store_lease_ms; /* postgres: the writer's lease */
	char			*runbooks_dir;
	int			 log_level;	/* LOG_LEVEL_* */
	struct config_kafka	 kafka;
	struct config_api	 api;
	struct config_engine	 engine;
	struct config_target	*targets;
	size_t			 ntargets;
	struct config_alerts	 alerts;
	char			*ingest_json;	/* the "ingest" section as read, to
						   tell a reload's change (ingest.c
						   reads it) */
	int			 refs;		/* holders: config_ref, config_free */
};

/*
 * Settings tables. Each module declares the settings of its section as a
 * table (in the manner of nginx's command tables) and config_read walks a
 * JSON object against it: unknown keys (with a "did you mean" for a near
 * miss), types, bounds, defaults, required keys, each problem a file:line
 * diagnostic. A row names its key, its type, where its value goes (an
 * offset into the section's struct) and what bounds and default it has;
 * the odd ones bring a setter. A section's check runs after its rows, for
 * defaults that depend on other settings and checks across them.
 */
struct config_reader;
struct config_setting;

enum config_type {
	CONFIG_STRING,		/* non-empty string (char *); names: one of them */
	CONFIG_INT,		/* integer in [min, max]; field: int, long or size_t */
	CONFIG_NUMBER,		/* number in [fmin, fmax] (double) */
	CONFIG_ENUM,		/* one of names; int field = min + its index */
	CONFIG_SECRET,		/* key, key_env or key_file (char *, wiped when freed) */
	CONFIG_PATH,		/* string resolved against the file's directory */
	CONFIG_STRINGS,		/* array of strings (char **, size_t count at count) */
	CONFIG_OBJECT,		/* object read with sub (its struct at off) */
	CONFIG_LIST,		/* array of objects read with sub (pointer at off,
				   element size, size_t count at count) */
	CONFIG_CUSTOM,		/* set (and clear) do it all */
	CONFIG_OTHER		/* accepted here, read by someone else; with a
				   field (size), its JSON text is kept there */
};

#define CONFIG_REQUIRED	0x01	/* "where: missing \"key\"" when absent */
#define CONFIG_NULLABLE	0x02	/* null is allowed and means none */
#define CONFIG_NOTEMPTY	0x04	/* STRINGS, LIST: at least one */
#define CONFIG_READABLE	0x08	/* PATH: must be readable now */
#define CONFIG_UNIQUE	0x10	/* STRING in a LIST's element: unique among them */
#define CONFIG_BYCHECK	0x20	/* accepted and freed by type; the section's
				   check reads it (it depends on others) */
#define CONFIG_FORMS	0x40	/* CUSTOM: also accepted as key_env and
				   key_file, as a SECRET is */
#define CONFIG_LIVE	0x80	/* a reload applies it (and what is under it)
				   without a restart */

typedef int	(*config_set_fn)(struct config_reader *, const char *where,
		    json_object *obj, const struct config_setting *, void *conf);
typedef void	(*config_clear_fn)(const struct config_setting *, void *conf);
typedef int	(*config_check_fn)(struct config_reader *, const char *where,
		    json_object *obj, void *conf);
struct config_differ;
/*
 * CUSTOM: tell what differs between the sections a and b hold for the row
 * (config_differ_report under where), live as the row is.
 */
typedef void	(*config_diff_fn)(struct config_differ *, const char *where,
		    const struct config_setting *, const void *a, const void *b,
		    int live);

struct config_section {
	const struct config_setting	*settings;	/* ended by a NULL key */
	/*
	 * After the rows, also when the object is absent (obj NULL). For a
	 * LIST's element, -1 drops the element.
	 */
	config_check_fn			 check;
};

struct config_setting {
	const char			*key;
	enum config_type		 type;
	int				 flags;		/* CONFIG_* above */
	size_t				 off;		/* of the field in conf */
	size_t				 size;		/* INT: of the field; LIST: of an element */
	size_t				 count;		/* STRINGS, LIST: offset of the size_t count */
	long long			 min, max;	/* INT bounds; ENUM: min is the first value */
	double				 fmin, fmax;	/* NUMBER bounds */
	long long			 idflt;		/* INT, ENUM default */
	double				 fdflt;		/* NUMBER default */
	const char			*sdflt;		/* STRING, PATH, STRINGS (one) default */
	const char *const		*names;		/* STRING, ENUM: the allowed values */
	const char			*what;		/* names: "unknown <what>";
							   UNIQUE: "duplicate <what>" */
	int				(*valid)(const char *);	/* STRING: else "expected <expect>" */
	const char			*expect;
	const char			*missing;	/* REQUIRED: what "missing" says instead
							   of "\"key\"" */
	const struct config_section	*sub;		/* OBJECT, LIST */
	config_set_fn			 set;		/* CUSTOM: called whether or not key is
							   there; 0 or -1 */
	config_clear_fn			 clear;		/* CUSTOM: frees what set kept */
	config_diff_fn			 diff;		/* CUSTOM: what changed (a reload) */
};

/* The offset and size of a field, for a row: CONFIG_FIELD(struct config_api, listen). */
#define CONFIG_FIELD(type, field) \
	.off = offsetof(type, field), .size = sizeof(((type *)0)->field)

/*
 * Read obj (may be NULL: defaults only) against sec into conf; where is
 * obj's dotted path for messages (NULL or "" at the top level). Returns 0,
 * or -1 when it added a problem (or the section's check said so).
 */
int			 config_read(struct config_reader *, const char *where,
			    json_object *obj, const struct config_section *sec,
			    void *conf);
/* Free what config_read stored in conf (secrets wiped). */
void			 config_clear(const struct config_section *, void *conf);

/* For setters and checks: the line of member key of obj (key NULL: of obj). */
int			 config_line(struct config_reader *, json_object *obj,
			    const char *key);
void			 config_error(struct config_reader *, int line,
			    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Problems so far (a LIST drops an element that added one). */
size_t			 config_errors(const struct config_reader *);
const struct jsonc_doc	*config_doc(const struct config_reader *);
struct diags		*config_diags(const struct config_reader *);
/* The configuration read so far (sections are read in the top table's order). */
const struct config	*config_current(const struct config_reader *);
/* strdup that reports running out of memory at line. */
char			*config_dup(struct config_reader *, int line, const char *);
/* config_secret with where in messages and the line of each member. */
char			*config_secret_member(struct config_reader *, json_object *obj,
			    const char *where, const char *key);
/* 1 when obj holds key, key_env or key_file. */
int			 config_has_secret(json_object *obj, const char *key);
/* Wipe and free a string that may hold a secret. */
void			 config_free_secret(char *);
/* "http://x..." or "https://x...". */
int			 config_url_ok(const char *);
/* Letters, digits, '_', '.', '-'; not empty. */
int			 config_name_ok(const char *);

/*
 * What a reload would change: every setting whose value differs between a
 * and b (secrets compared, never shown), walked with the same tables,
 * reported to cb as its dotted path ("kafka.brokers", "targets.okta.auth")
 * and whether it is CONFIG_LIVE (else it needs a restart). Returns how many.
 */
typedef void		(*config_change_cb)(const char *what, int live, void *arg);
size_t			 config_diff(const struct config *a, const struct config *b,
			    config_change_cb, void *arg);
/* For diff hooks: compare sec's rows of a and b under where. */
void			 config_diff_section(struct config_differ *, const char *where,
			    const struct config_section *, const void *a,
			    const void *b, int live);
/* For diff hooks: one change, at where.key (key NULL: at where). */
void			 config_differ_report(struct config_differ *, const char *where,
			    const char *key, int live);
/* 1 when the strings are equal (either may be NULL). */
int			 config_str_same(const char *, const char *);

/*
 * Load a configuration. Problems are added to diags; the return value is NULL
 * when the file could not be used at all, otherwise a config (check
 * diags_count for problems before running).
 */
struct config		*config_load(const char *path, struct diags *);
/*
 * A configuration has one holder when loaded; every other holder (a reload
 * keeps the old one for the steps that started under it) takes a reference,
 * and config_free drops one: the last frees it. A configuration made by
 * hand rather than by config_load (refs 0: tests) is not counted; its maker
 * frees what it holds.
 */
const struct config	*config_ref(const struct config *);
void			 config_free(const struct config *);
const struct config_target *config_target_find(const struct config *, const char *name);
/* 1 if kind is a connector kind (the table in src/connectors/connector.c). */
int			 config_kind_known(const char *kind);

/*
 * Resolve a secret from an object: inline member `key`, or `key_env`
 * (environment variable name) or `key_file` (path). Returns a malloc'd string
 * or NULL (and a diagnostic when the env/file form is given but unusable).
 */
char			*config_secret(json_object *obj, const char *key,
			    const char *file, int line, struct diags *);

#endif
