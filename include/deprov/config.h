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
	char	**prop_keys;		/* passed to librdkafka as is */
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
	char			*runbooks_dir;
	int			 log_level;	/* LOG_LEVEL_* */
	struct config_kafka	 kafka;
	struct config_api	 api;
	struct config_engine	 engine;
	struct config_target	*targets;
	size_t			 ntargets;
	struct config_alerts	 alerts;
};

/*
 * Load a configuration. Problems are added to diags; the return value is NULL
 * when the file could not be used at all, otherwise a config (check
 * diags_count for problems before running).
 */
struct config		*config_load(const char *path, struct diags *);
void			 config_free(struct config *);
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
