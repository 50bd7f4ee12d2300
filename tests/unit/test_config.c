/*
 * test_config: config_load against files written to a temporary directory:
 * defaults, a complete valid configuration, every diagnostic with its exact
 * file:line, secrets from inline values, the environment and files (and
 * that no diagnostic ever shows one), and the shipped example configuration.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "deprov/config.h"
#include "deprov/store.h"
#include "deprov/connector.h"
#include "deprov/diag.h"
#include "deprov/jsonc.h"
#include "deprov/log.h"

#ifndef DEPROV_SOURCE_DIR
#define DEPROV_SOURCE_DIR "."
#endif

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char tmpdir[PATH_MAX];
static char cfgpath[PATH_MAX + 32];

/* Write text to tmpdir/name, creating one level of directory if needed. */
static void
put(const char *name, const char *text)
{
	char	 path[PATH_MAX + 64], *slash;
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	if ((slash = strrchr(path, '/')) != NULL && slash > path + strlen(tmpdir)) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static struct config *
load(const char *text, struct diags **dp)
{
	put("deprovd.json", text);
	*dp = diags_new();
	assert_non_null(*dp);
	return config_load(cfgpath, *dp);
}

/* 1 when d holds exactly "cfgpath:line: msg" (line 0: "cfgpath: msg"). */
static int
has(const struct diags *d, int line, const char *fmt, ...)
{
	char	 msg[1024], want[PATH_MAX + 1200];
	va_list	 ap;
	size_t	 i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(want, sizeof want, "%s:%d: %s", cfgpath, line, msg);
	else
		snprintf(want, sizeof want, "%s: %s", cfgpath, msg);
	for (i = 0; i < diags_count(d); i++) {
		if (strcmp(diags_get(d, i), want) == 0)
			return 1;
	}
	fprintf(stderr, "missing diagnostic: %s\nhave:\n", want);
	diags_print(d, stderr);
	return 0;
}

static void
no_diags(const struct diags *d)
{
	if (diags_count(d) != 0) {
		diags_print(d, stderr);
		fail_msg("%zu unexpected diagnostics", diags_count(d));
	}
}

/* No diagnostic mentions secret. */
static void
never_shows(const struct diags *d, const char *secret)
{
	size_t i;

	for (i = 0; i < diags_count(d); i++) {
		if (strstr(diags_get(d, i), secret) != NULL)
			fail_msg("a diagnostic shows a secret: %s", diags_get(d, i));
	}
}

static void
test_defaults(void **state)
{
	struct diags	*d;
	struct config	*cfg;
	char		 want[PATH_MAX + 64];

	cfg = load("{ \"kafka\": { \"brokers\": \"k1:9092,k2:9092\" } }", &d);
	assert_non_null(cfg);
	no_diags(d);
	assert_string_equal(cfg->path, cfgpath);
	assert_string_equal(cfg->dir, tmpdir);
	snprintf(want, sizeof want, "%s/var/deprov.db", tmpdir);
	assert_string_equal(cfg->store_path, want);
	snprintf(want, sizeof want, "%s/runbooks", tmpdir);
	assert_string_equal(cfg->runbooks_dir, want);
	assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);

	assert_string_equal(cfg->kafka.brokers, "k1:9092,k2:9092");
	assert_string_equal(cfg->kafka.group_id, "deprovd");
	assert_int_equal(cfg->kafka.ntopics, 1);
	assert_string_equal(cfg->kafka.topics[0], "hr.leavers");
	assert_string_equal(cfg->kafka.dlq_topic, "deprov.dlq");
	assert_null(cfg->kafka.audit_topic);
	assert_int_equal(cfg->kafka.nprops, 0);
	assert_null(cfg->kafka.bootstrap_file);
	assert_int_equal(cfg->kafka.partitions, 4);
	assert_int_equal(cfg->kafka.max_message_bytes, 1048576);

	assert_null(cfg->api.listen);
	assert_null(cfg->api.tls_cert_file);
	assert_null(cfg->api.tls_key_file);
	assert_int_equal(cfg->api.ntokens, 0);
	assert_int_equal(cfg->engine.max_running_steps, 512);
	assert_int_equal(cfg->engine.tick_ms, 250);
	assert_int_equal(cfg->ntargets, 0);
	assert_null(config_target_find(cfg, "x"));
	config_free(cfg);
	diags_free(d);

	/* Target defaults. */
	cfg = load("{ \"kafka\": { \"brokers\": \"k\" },\n"
	    "  \"targets\": { \"s\": { \"kind\": \"scim\", "
	    "\"base_url\": \"https://x.example/scim/v2/\" } } }", &d);
	assert_non_null(cfg);
	no_diags(d);
	assert_int_equal(cfg->ntargets, 1);
	assert_string_equal(cfg->targets[0].name, "s");
	assert_int_equal(cfg->targets[0].line, 2);
	assert_string_equal(cfg->targets[0].base_url, "https://x.example/scim/v2");
	assert_string_equal(cfg->targets[0].api_version, "v60.0");
	assert_string_equal(cfg->targets[0].auth.type, "none");
	assert_null(cfg->targets[0].auth.token);
	assert_null(cfg->targets[0].options);
	assert_true(cfg->targets[0].limits.rate_per_sec == 20);
	assert_true(cfg->targets[0].limits.burst == 40);
	assert_int_equal(cfg->targets[0].limits.concurrency, 8);
	assert_int_equal(cfg->targets[0].limits.timeout_ms, 30000);
	assert_int_equal(cfg->targets[0].limits.connect_timeout_ms, 10000);
	assert_int_equal(cfg->targets[0].limits.limit_backoff_ms, 300000);
	assert_true(cfg->targets[0].limits.usage_slowdown == 0.9);
	config_free(cfg);
	diags_free(d);
}

static void
test_embedded(void **state)
{
	struct diags	*d;
	struct config	*cfg;
	char		 want[PATH_MAX + 64];

	/* The bootstrap file defaults to the store's directory. */
	cfg = load("{ \"store\": { \"path\": \"data/x.db\" },\n"
	    "  \"kafka\": { \"brokers\": \"embedded\" } }", &d);
	assert_non_null(cfg);
	no_diags(d);
	snprintf(want, sizeof want, "%s/data/kafka.bootstrap", tmpdir);
	assert_string_equal(cfg->kafka.bootstrap_file, want);
	config_free(cfg);
	diags_free(d);

	cfg = load("{ \"kafka\": { \"brokers\": \"embedded\", "
	    "\"bootstrap_file\": \"run/boot\" } }", &d);
	assert_non_null(cfg);
	no_diags(d);
	snprintf(want, sizeof want, "%s/run/boot", tmpdir);
	assert_string_equal(cfg->kafka.bootstrap_file, want);
	config_free(cfg);
	diags_free(d);

	cfg = load("{ \"kafka\": { \"brokers\": \"embedded\", "
	    "\"bootstrap_file\": \"/abs/boot\" } }", &d);
	assert_non_null(cfg);
	no_diags(d);
	assert_string_equal(cfg->kafka.bootstrap_file, "/abs/boot");
	config_free(cfg);
	diags_free(d);
}

static void
test_full(void **state)
{
	struct diags			*d;
	struct config			*cfg;
	const struct config_target	*t;
	json_object			*x;
	char				 want[PATH_MAX + 64];

	put("tls.crt", "cert\n");
	put("tls.key", "key\n");
	put("keys/sf.pem", "-----BEGIN PRIVATE KEY-----\nabc\n"
	    "-----END PRIVATE KEY-----\n\n");
	put("okta.token", "okta-secret\r\n");
	setenv("DEPROV_TEST_TOKEN", "env-secret", 1);
	cfg = load(
	    "// the whole thing\n"
	    "{\n"
	    "  \"log_level\": \"debug\",\n"
	    "  \"store\": { \"path\": \"/var/lib/deprov/d.db\" },\n"
	    "  \"runbooks\": \"rb\",\n"
	    "  \"kafka\": { \"brokers\": \"embedded\", \"group_id\": \"g\",\n"
	    "    \"topics\": [\"a\", \"b\"], \"dlq_topic\": null,\n"
	    "    \"audit_topic\": \"aud\",\n"
	    "    \"properties\": { \"s\": \"x\", \"n\": 45000, \"b\": true, "
	    "\"f\": false, \"d\": 1.5 },\n"
	    "    \"partitions\": 2, \"max_message_bytes\": 2048 },\n"
	    "  \"api\": { \"listen\": \"127.0.0.1:8080\",\n"
	    "    \"tls\": { \"cert_file\": \"tls.crt\", \"key_file\": \"tls.key\" },\n"
	    "    \"tokens\": [ { \"name\": \"soc\", \"role\": \"responder\", "
	    "\"sha256\": \"" HEX64 "\" },\n"
	    "                { \"name\": \"ops\", \"role\": \"admin\", "
	    "\"sha256\": \"" HEX64 "\" } ] },\n"
	    "  \"engine\": { \"max_running_steps\": 10, \"tick_ms\": 100 },\n"
	    "  \"targets\": {\n"
	    "    \"sf\": { \"kind\": \"salesforce\", "
	    "\"base_url\": \"https://acme.my.salesforce.com//\",\n"
	    "      \"api_version\": \"v61.0\",\n"
	    "      \"auth\": { \"type\": \"jwt_bearer\", \"client_id\": \"cid\", "
	    "\"username\": \"u@x\",\n"
	    "        \"private_key_file\": \"keys/sf.pem\",\n"
	    "        \"token_url\": \"https://login.salesforce.com/services/oauth2/token\",\n"
	    "        \"token_ttl_s\": 120 },\n"
	    "      \"limits\": { \"rate_per_sec\": 0, \"burst\": 5, "
	    "\"concurrency\": 2, \"timeout_ms\": 1000,\n"
	    "        \"connect_timeout_ms\": 500, \"limit_backoff_ms\": 0, "
	    "\"usage_slowdown\": 0.5 } },\n"
	    "    \"slack\": { \"kind\": \"scim\", \"base_url\": "
	    "\"http://127.0.0.1:9999/scim/v2\",\n"
	    "      \"auth\": { \"type\": \"bearer\", \"token_env\": "
	    "\"DEPROV_TEST_TOKEN\" },\n"
	    "      \"options\": { \"resolve_by\": [\"userName\", \"email\"] } },\n"
	    "    \"okta.main\": { \"kind\": \"okta\", \"base_url\": "
	    "\"https://acme.okta.com\",\n"
	    "      \"auth\": { \"type\": \"bearer\", \"token_file\": \"okta.token\" } },\n"
	    "    \"g\": { \"kind\": \"google\", \"base_url\": "
	    "\"https://admin.googleapis.com\", \"auth\": { \"type\": \"none\" } },\n"
	    "    \"graph-1\": { \"kind\": \"graph\", \"base_url\": "
	    "\"https://graph.microsoft.com\",\n"
	    "      \"auth\": { \"type\": \"bearer\", \"token\": \"inline-secret\" }, },\n"
	    "  },\n"
	    "}\n", &d);
	assert_non_null(cfg);
	no_diags(d);
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(cfg->store_path, "/var/lib/deprov/d.db");
	snprintf(want, sizeof want, "%s/rb", tmpdir);
	assert_string_equal(cfg->runbooks_dir, want);

	assert_string_equal(cfg->kafka.brokers, "embedded");
	assert_string_equal(cfg->kafka.group_id, "g");
	assert_int_equal(cfg->kafka.ntopics, 2);
	assert_string_equal(cfg->kafka.topics[1], "b");
	assert_null(cfg->kafka.dlq_topic);
	assert_string_equal(cfg->kafka.audit_topic, "aud");
	assert_int_equal(cfg->kafka.nprops, 5);
	assert_string_equal(cfg->kafka.prop_keys[0], "s");
	assert_string_equal(cfg->kafka.prop_vals[0], "x");
	assert_string_equal(cfg->kafka.prop_keys[1], "n");
	assert_string_equal(cfg->kafka.prop_vals[1], "45000");
	assert_string_equal(cfg->kafka.prop_vals[2], "true");
	assert_string_equal(cfg->kafka.prop_vals[3], "false");
	assert_string_equal(cfg->kafka.prop_vals[4], "1.5");
	assert_string_equal(cfg->kafka.bootstrap_file,
	    "/var/lib/deprov/kafka.bootstrap");
	assert_int_equal(cfg->kafka.partitions, 2);
	assert_int_equal(cfg->kafka.max_message_bytes, 2048);

	assert_string_equal(cfg->api.listen, "127.0.0.1:8080");
	snprintf(want, sizeof want, "%s/tls.crt", tmpdir);
	assert_string_equal(cfg->api.tls_cert_file, want);
	snprintf(want, sizeof want, "%s/tls.key", tmpdir);
	assert_string_equal(cfg->api.tls_key_file, want);
	assert_int_equal(cfg->api.ntokens, 2);
	assert_string_equal(cfg->api.tokens[0].name, "soc");
	assert_string_equal(cfg->api.tokens[0].role, "responder");
	assert_string_equal(cfg->api.tokens[0].sha256, HEX64);
	assert_string_equal(cfg->api.tokens[1].role, "admin");
	assert_int_equal(cfg->engine.max_running_steps, 10);
	assert_int_equal(cfg->engine.tick_ms, 100);

	/* Targets keep the file's order. */
	assert_int_equal(cfg->ntargets, 5);
	assert_string_equal(cfg->targets[0].name, "sf");
	assert_string_equal(cfg->targets[1].name, "slack");
	assert_string_equal(cfg->targets[2].name, "okta.main");
	assert_string_equal(cfg->targets[3].name, "g");
	assert_string_equal(cfg->targets[4].name, "graph-1");

	t = config_target_find(cfg, "sf");
	assert_ptr_equal(t, &cfg->targets[0]);
	assert_int_equal(t->line, 17);
	assert_string_equal(t->kind, "salesforce");
	assert_string_equal(t->base_url, "https://acme.my.salesforce.com");
	assert_string_equal(t->api_version, "v61.0");
	assert_string_equal(t->auth.type, "jwt_bearer");
	assert_string_equal(t->auth.client_id, "cid");
	assert_string_equal(t->auth.username, "u@x");
	assert_string_equal(t->auth.audience, "https://login.salesforce.com");
	assert_string_equal(t->auth.token_url,
	    "https://login.salesforce.com/services/oauth2/token");
	assert_string_equal(t->auth.private_key_pem, "-----BEGIN PRIVATE KEY-----\n"
	    "abc\n-----END PRIVATE KEY-----\n");
	assert_int_equal(t->auth.token_ttl_s, 120);
	assert_true(t->limits.rate_per_sec == 0);
	assert_true(t->limits.burst == 5);
	assert_int_equal(t->limits.concurrency, 2);
	assert_int_equal(t->limits.timeout_ms, 1000);
	assert_int_equal(t->limits.connect_timeout_ms, 500);
	assert_int_equal(t->limits.limit_backoff_ms, 0);
	assert_true(t->limits.usage_slowdown == 0.5);
	assert_null(t->options);

	t = config_target_find(cfg, "slack");
	assert_non_null(t->options);
	assert_true(json_object_object_get_ex(t->options, "resolve_by", &x));
	assert_int_equal(json_object_array_length(x), 2);
	assert_string_equal(t->auth.type, "bearer");
	assert_string_equal(t->auth.token, "env-secret");
	assert_string_equal(t->base_url, "http://127.0.0.1:9999/scim/v2");
	t = config_target_find(cfg, "okta.main");
	assert_string_equal(t->auth.token, "okta-secret");
	t = config_target_find(cfg, "g");
	assert_string_equal(t->auth.type, "none");
	t = config_target_find(cfg, "graph-1");
	assert_string_equal(t->auth.token, "inline-secret");
	assert_null(config_target_find(cfg, "nope"));
	assert_null(config_target_find(cfg, NULL));
	config_free(cfg);
	diags_free(d);
	unsetenv("DEPROV_TEST_TOKEN");
}

static void
test_diagnostics(void **state)
{
	struct diags	*d;
	struct config	*cfg;
	char		 nope[PATH_MAX + 64];
	int		 n = 0;

	cfg = load(
	    "{\n"							/* 1 */
	    "  \"bogus\": 1,\n"						/* 2 */
	    "  \"log_level\": \"loud\",\n"				/* 3 */
	    "  \"store\": { \"path\": 5, \"extra\": true },\n"		/* 4 */
	    "  \"runbooks\": [],\n"					/* 5 */
	    "  \"kafka\": {\n"						/* 6 */
	    "    \"brokers\": \"k:9092\",\n"				/* 7 */
	    "    \"topics\": \"hr.leavers\",\n"				/* 8 */
	    "    \"group\": \"x\",\n"					/* 9 */
	    "    \"properties\": { \"group.id\": \"g\", \"n\": null },\n"	/* 10 */
	    "    \"partitions\": 0,\n"					/* 11 */
	    "    \"max_message_bytes\": -5\n"				/* 12 */
	    "  },\n"							/* 13 */
	    "  \"api\": {\n"						/* 14 */
	    "    \"listen\": \"localhost\",\n"				/* 15 */
	    "    \"tls\": { \"cert_file\": \"nope.crt\" },\n"		/* 16 */
	    "    \"tokens\": [\n"					/* 17 */
	    "      { \"name\": \"a\", \"role\": \"root\", \"sha256\": \"ABC\" },\n"	/* 18 */
	    "      { \"role\": \"viewer\", \"sha256\": \"" HEX64 "\" },\n"	/* 19 */
	    "      \"x\"\n"						/* 20 */
	    "    ]\n"							/* 21 */
	    "  },\n"							/* 22 */
	    "  \"engine\": { \"max_running_steps\": 0, \"tick\": 1 },\n"	/* 23 */
	    "  \"targets\": {\n"					/* 24 */
	    "    \"no kind\": {},\n"					/* 25 */
	    "    \"nokind\": { \"base_url\": \"https://x\" },\n"		/* 26 */
	    "    \"nourl\": { \"kind\": \"scim\" },\n"			/* 27 */
	    "    \"badkind\": { \"kind\": \"foo\", \"base_url\": \"ftp://x\", \"colour\": \"red\" },\n"	/* 28 */
	    "    \"badauth\": { \"kind\": \"okta\", \"base_url\": \"https://x\", \"auth\": { \"type\": \"basic\" } },\n"	/* 29 */
	    "    \"bearer\": { \"kind\": \"scim\", \"base_url\": \"https://x\", \"auth\": { \"type\": \"bearer\" } },\n"	/* 30 */
	    "    \"jwt\": { \"kind\": \"salesforce\", \"base_url\": \"https://x\",\n"	/* 31 */
	    "             \"auth\": { \"type\": \"jwt_bearer\", \"token_ttl_s\": 181, \"secret\": 1 } },\n"	/* 32 */
	    "    \"limits\": { \"kind\": \"scim\", \"base_url\": \"https://x\",\n"	/* 33 */
	    "      \"limits\": { \"rate_per_sec\": -1, \"concurrency\": 0, \"burst\": \"big\",\n"	/* 34 */
	    "        \"usage_slowdown\": 1.5, \"timeout_ms\": 0, \"speed\": 1 } },\n"	/* 35 */
	    "    \"types\": { \"kind\": 1, \"base_url\": \"https://x\", \"options\": [], \"auth\": \"none\" },\n"	/* 36 */
	    "    \"notobj\": 5,\n"					/* 37 */
	    "    \"noauthtype\": { \"kind\": \"graph\", \"base_url\": \"https://x\", \"auth\": {} }\n"	/* 38 */
	    "  }\n"							/* 39 */
	    "}\n", &d);
	assert_non_null(cfg);
	snprintf(nope, sizeof nope, "%s/nope.crt", tmpdir);
	n++; assert_true(has(d, 2, "unknown key \"bogus\""));
	n++; assert_true(has(d, 3, "log_level: unknown level \"loud\" (error, warn, info, debug)"));
	n++; assert_true(has(d, 4, "unknown key \"extra\" in store"));
	n++; assert_true(has(d, 4, "store.path: expected a string"));
	n++; assert_true(has(d, 5, "runbooks: expected a string"));
	n++; assert_true(has(d, 8, "kafka.topics: expected an array of strings"));
	n++; assert_true(has(d, 9, "unknown key \"group\" in kafka"));
	n++; assert_true(has(d, 10, "kafka.properties: \"group.id\" cannot be set here (set kafka.group_id instead)"));
	n++; assert_true(has(d, 10, "kafka.properties.n: expected a string, number or boolean"));
	n++; assert_true(has(d, 11, "kafka.partitions: must be between 1 and 1024"));
	n++; assert_true(has(d, 12, "kafka.max_message_bytes: must be between 1 and 1000000000"));
	n++; assert_true(has(d, 15, "api.listen: expected \"host:port\""));
	n++; assert_true(has(d, 16, "api.tls: missing \"key_file\""));
	n++; assert_true(has(d, 16, "api.tls.cert_file: cannot read \"%s\": No such file or directory", nope));
	n++; assert_true(has(d, 18, "api.tokens[0].role: unknown role \"root\" (viewer, responder, admin)"));
	n++; assert_true(has(d, 18, "api.tokens[0].sha256: expected 64 lowercase hex digits (the SHA-256 of the token)"));
	n++; assert_true(has(d, 19, "api.tokens[1]: missing \"name\""));
	n++; assert_true(has(d, 20, "api.tokens[2]: expected an object"));
	n++; assert_true(has(d, 23, "unknown key \"tick\" in engine"));
	n++; assert_true(has(d, 23, "engine.max_running_steps: must be at least 1"));
	n++; assert_true(has(d, 25, "targets: invalid target name \"no kind\" (use letters, digits, '_', '.', '-')"));
	n++; assert_true(has(d, 26, "targets.nokind: missing \"kind\""));
	n++; assert_true(has(d, 27, "targets.nourl: missing \"base_url\""));
	n++; assert_true(has(d, 28, "targets.badkind: unknown kind \"foo\" (salesforce, scim, okta, graph, google)"));
	n++; assert_true(has(d, 28, "targets.badkind.base_url: expected an http:// or https:// URL"));
	n++; assert_true(has(d, 28, "unknown key \"colour\" in targets.badkind"));
	n++; assert_true(has(d, 29, "targets.badauth.auth: unknown type \"basic\" (none, bearer, ssws, jwt_bearer, client_credentials, google_service_account)"));
	n++; assert_true(has(d, 30, "targets.bearer.auth: missing \"token\" (or \"token_env\", \"token_file\")"));
	n++; assert_true(has(d, 32, "targets.jwt.auth: missing \"client_id\""));
	n++; assert_true(has(d, 32, "targets.jwt.auth: missing \"username\""));
	n++; assert_true(has(d, 32, "targets.jwt.auth: missing \"token_url\""));
	n++; assert_true(has(d, 32, "targets.jwt.auth: missing \"private_key\" (or \"private_key_env\", \"private_key_file\")"));
	n++; assert_true(has(d, 32, "targets.jwt.auth.token_ttl_s: must be between 1 and 180"));
	n++; assert_true(has(d, 32, "unknown key \"secret\" in targets.jwt.auth"));
	n++; assert_true(has(d, 34, "targets.limits.limits.rate_per_sec: must not be negative"));
	n++; assert_true(has(d, 34, "targets.limits.limits.concurrency: must be at least 1"));
	n++; assert_true(has(d, 34, "targets.limits.limits.burst: expected a number"));
	n++; assert_true(has(d, 35, "targets.limits.limits.usage_slowdown: must be between 0 and 1"));
	n++; assert_true(has(d, 35, "targets.limits.limits.timeout_ms: must be at least 1"));
	n++; assert_true(has(d, 35, "unknown key \"speed\" in targets.limits.limits"));
	n++; assert_true(has(d, 36, "targets.types.kind: expected a string"));
	n++; assert_true(has(d, 36, "targets.types.options: expected an object"));
	n++; assert_true(has(d, 36, "targets.types.auth: expected an object"));
	n++; assert_true(has(d, 37, "targets.notobj: expected an object"));
	n++; assert_true(has(d, 38, "targets.noauthtype.auth: missing \"type\""));
	if ((int)diags_count(d) != n) {
		diags_print(d, stderr);
		fail_msg("%zu diagnostics, want %d", diags_count(d), n);
	}
	config_free(cfg);
	diags_free(d);
}

static void
test_more_diagnostics(void **state)
{
	struct diags	*d;
	struct config	*cfg;

	cfg = load(
	    "{\n"							/* 1 */
	    "  \"kafka\": { \"brokers\": \"\", \"topics\": [],\n"	/* 2 */
	    "    \"dlq_topic\": 7, \"audit_topic\": \"\",\n"		/* 3 */
	    "    \"properties\": { \"enable.auto.offset.store\": true,\n"	/* 4 */
	    "      \"bootstrap.servers\": \"x\" } },\n"			/* 5 */
	    "  \"api\": { \"listen\": \"127.0.0.1:99999\", \"tokens\": [\n"	/* 6 */
	    "    { \"name\": \"a\", \"role\": \"viewer\", \"sha256\": \"" HEX64 "\" },\n"	/* 7 */
	    "    { \"name\": \"a\", \"role\": \"admin\", \"sha256\": \"" HEX64 "\", \"x\": 1 } ] },\n"	/* 8 */
	    "  \"engine\": { \"tick_ms\": 1.5 },\n"			/* 9 */
	    "  \"targets\": {\n"					/* 10 */
	    "    \"j\": { \"kind\": \"salesforce\", \"base_url\": \"https://x\",\n"	/* 11 */
	    "      \"auth\": { \"type\": \"jwt_bearer\", \"client_id\": \"c\", \"username\": \"u\",\n"	/* 12 */
	    "        \"token_url\": \"login\", \"private_key\": \"k\", \"audience\": 3 } },\n"	/* 13 */
	    "    \"n\": { \"kind\": \"okta\", \"base_url\": \"https://x\",\n"	/* 14 */
	    "      \"auth\": { \"type\": \"none\", \"token\": \"t\" } }\n"	/* 15 */
	    "  },\n"							/* 16 */
	    "  \"targets2\": {}\n"					/* 17 */
	    "}\n", &d);
	assert_non_null(cfg);
	assert_true(has(d, 2, "kafka.brokers: must not be empty"));
	assert_true(has(d, 2, "kafka.topics: must not be empty"));
	assert_true(has(d, 3, "kafka.dlq_topic: expected a string"));
	assert_true(has(d, 3, "kafka.audit_topic: must not be empty"));
	assert_true(has(d, 4, "kafka.properties: \"enable.auto.offset.store\" cannot be set here (deprov stores offsets itself, after a case is durable)"));
	assert_true(has(d, 5, "kafka.properties: \"bootstrap.servers\" cannot be set here (set kafka.brokers instead)"));
	assert_true(has(d, 6, "api.listen: expected \"host:port\""));
	assert_true(has(d, 8, "api.tokens[1]: duplicate token name \"a\""));
	assert_true(has(d, 8, "unknown key \"x\" in api.tokens[1]"));
	assert_true(has(d, 9, "engine.tick_ms: expected an integer"));
	assert_true(has(d, 13, "targets.j.auth.token_url: expected an http:// or https:// URL"));
	assert_true(has(d, 13, "targets.j.auth.audience: expected a string"));
	assert_true(has(d, 15, "unknown key \"token\" in targets.n.auth"));
	assert_true(has(d, 17, "unknown key \"targets2\" (did you mean \"targets\"?)"));
	assert_int_equal(diags_count(d), 14);
	/* Only the good token is kept. */
	assert_int_equal(cfg->api.ntokens, 1);
	assert_null(cfg->api.listen);
	config_free(cfg);
	diags_free(d);
}

static void
test_unusable(void **state)
{
	struct diags	*d;
	struct config	*cfg;
	char		 missing[PATH_MAX + 64], want[PATH_MAX + 128];

	/* No such file. */
	snprintf(missing, sizeof missing, "%s/missing.json", tmpdir);
	d = diags_new();
	assert_null(config_load(missing, d));
	assert_int_equal(diags_count(d), 1);
	snprintf(want, sizeof want, "%s: cannot open: No such file or directory",
	    missing);
	assert_string_equal(diags_get(d, 0), want);
	diags_free(d);

	/* A syntax error. */
	assert_null(load("{\n  \"kafka\": {\n    \"brokers\" \"x\"\n  }\n}\n", &d));
	assert_int_equal(diags_count(d), 1);
	assert_true(has(d, 3, "expected ':' after object key"));
	diags_free(d);

	/* Not an object. */
	assert_null(load("\n[1, 2]\n", &d));
	assert_int_equal(diags_count(d), 1);
	assert_true(has(d, 2, "expected a JSON object at the top level"));
	diags_free(d);

	/* Missing sections and members are diagnosed but the rest loads. */
	cfg = load("\n{ \"log_level\": \"warn\" }", &d);
	assert_non_null(cfg);
	assert_int_equal(diags_count(d), 1);
	assert_true(has(d, 2, "missing \"kafka\""));
	assert_int_equal(cfg->log_level, LOG_LEVEL_WARN);
	config_free(cfg);
	diags_free(d);

	cfg = load("{\n  \"kafka\": {\n    \"group_id\": \"g\"\n  }\n}\n", &d);
	assert_non_null(cfg);
	assert_int_equal(diags_count(d), 1);
	assert_true(has(d, 2, "kafka: missing \"brokers\""));
	assert_string_equal(cfg->kafka.group_id, "g");
	config_free(cfg);
	diags_free(d);

	cfg = load("{ \"kafka\": 3 }", &d);
	assert_non_null(cfg);
	assert_int_equal(diags_count(d), 1);
	assert_true(has(d, 1, "kafka: expected an object"));
	config_free(cfg);
	diags_free(d);
}

/*
 * "${CREDENTIALS_DIRECTORY}/name" in a secret's _file and in a path
 * setting: the directory systemd's LoadCredential= fills. Unset, unknown
 * or unterminated: one diagnostic each, naming the key.
 */
static void
test_credentials_directory(void **state)
{
	struct diags	*d;
	struct config	*cfg;
	char		 creds[PATH_MAX + 16], want[PATH_MAX + 64], *home;
	const char	*text =
	    "{ \"kafka\": { \"brokers\": \"k\" },\n"			/* 1 */
	    "  \"api\": { \"listen\": \"127.0.0.1:8080\",\n"		/* 2 */
	    "    \"tls\": { \"cert_file\": \"${CREDENTIALS_DIRECTORY}/tls.crt\",\n"	/* 3 */
	    "             \"key_file\": \"${CREDENTIALS_DIRECTORY}/tls.key\" } },\n"	/* 4 */
	    "  \"targets\": {\n"						/* 5 */
	    "    \"a\": { \"kind\": \"scim\", \"base_url\": \"https://x\",\n"	/* 6 */
	    "      \"auth\": { \"type\": \"bearer\", \"token_file\": \"${CREDENTIALS_DIRECTORY}/a.token\" } }\n"	/* 7 */
	    "  }\n"
	    "}\n";

	put("creds/a.token", "credential-secret-value\n");
	put("creds/tls.crt", "x");
	put("creds/tls.key", "x");
	snprintf(creds, sizeof creds, "%s/creds", tmpdir);
	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	cfg = load(text, &d);
	assert_non_null(cfg);
	no_diags(d);
	assert_string_equal(config_target_find(cfg, "a")->auth.token,
	    "credential-secret-value");
	snprintf(want, sizeof want, "%s/tls.key", creds);
	assert_string_equal(cfg->api.tls_key_file, want);
	config_free(cfg);
	diags_free(d);

	/* Outside the service: said plainly, once per key. */
	unsetenv("CREDENTIALS_DIRECTORY");
	cfg = load(text, &d);
	assert_true(has(d, 3, "api.tls.cert_file: CREDENTIALS_DIRECTORY is not "
	    "set (systemd sets it for a unit with LoadCredential=; outside the "
	    "service, set it to a directory holding the same files)"));
	assert_true(has(d, 7, "targets.a.auth.token_file: CREDENTIALS_DIRECTORY "
	    "is not set (systemd sets it for a unit with LoadCredential=; "
	    "outside the service, set it to a directory holding the same "
	    "files)"));
	assert_int_equal(diags_count(d), 3);
	config_free(cfg);
	diags_free(d);

	/* Only that variable, only at the start; empty is unset. */
	setenv("CREDENTIALS_DIRECTORY", "", 1);
	home = getenv("HOME") != NULL ? strdup(getenv("HOME")) : NULL;
	setenv("HOME", creds, 1);
	cfg = load(
	    "{ \"kafka\": { \"brokers\": \"k\" },\n"			/* 1 */
	    "  \"targets\": {\n"						/* 2 */
	    "    \"a\": { \"kind\": \"scim\", \"base_url\": \"https://x\",\n"	/* 3 */
	    "      \"auth\": { \"type\": \"bearer\", \"token_file\": \"${HOME}/a.token\" } },\n"	/* 4 */
	    "    \"b\": { \"kind\": \"scim\", \"base_url\": \"https://x\",\n"	/* 5 */
	    "      \"auth\": { \"type\": \"bearer\", \"token_file\": \"${CREDENTIALS_DIRECTORY/a.token\" } },\n"	/* 6 */
	    "    \"c\": { \"kind\": \"scim\", \"base_url\": \"https://x\",\n"	/* 7 */
	    "      \"auth\": { \"type\": \"bearer\", \"token_file\": \"${CREDENTIALS_DIRECTORY}/a.token\" } },\n"	/* 8 */
	    "    \"d\": { \"kind\": \"scim\", \"base_url\": \"https://x\",\n"	/* 9 */
	    "      \"auth\": { \"type\": \"bearer\", \"token_file\": \"creds/${HOME}\" } }\n"	/* 10 */
	    "  }\n"
	    "}\n", &d);
	assert_true(has(d, 4, "targets.a.auth.token_file: only "
	    "${CREDENTIALS_DIRECTORY} may begin a path, not ${HOME}"));
	assert_true(has(d, 6, "targets.b.auth.token_file: \"${\" without \"}\""));
	assert_true(has(d, 8, "targets.c.auth.token_file: CREDENTIALS_DIRECTORY "
	    "is not set (systemd sets it for a unit with LoadCredential=; "
	    "outside the service, set it to a directory holding the same "
	    "files)"));
	snprintf(want, sizeof want, "%s/creds/${HOME}", tmpdir);
	assert_true(has(d, 10, "targets.d.auth.token_file: cannot read \"%s\": "
	    "No such file or directory", want));
	assert_int_equal(diags_count(d), 4);
	never_shows(d, "credential-secret-value");
	config_free(cfg);
	diags_free(d);
	unsetenv("CREDENTIALS_DIRECTORY");
	if (home != NULL)
		setenv("HOME", home, 1);
	else
		unsetenv("HOME");
	free(home);
}

static void
test_secrets(void **state)
{
	struct diags		*d;
	struct config		*cfg;
	struct jsonc_doc	*doc;
	char			 path[PATH_MAX + 64], err[256], *s;
	int			 n = 0;

	put("sec/empty.token", "\n\n");
	put("sec/good.token", "file-secret-value\n");
	setenv("DEPROV_TEST_EMPTY", "", 1);
	setenv("DEPROV_TEST_SET", "env-secret-value", 1);
	unsetenv("DEPROV_TEST_UNSET");
	cfg = load(
	    "{ \"kafka\": { \"brokers\": \"k\" },\n"			/* 1 */
	    "  \"targets\": {\n"					/* 2 */
	    "    \"a\": { \"kind\": \"scim\", \"base_url\": \"https://x\",\n"	/* 3 */
	    "      \"auth\": { \"type\": \"bearer\", \"token_env\": \"DEPROV_TEST_UNSET\" } },\n"	/* 4 */
	    "    \"b\": { \"kind\": \"scim\", \"base_url\": \"https://x\",\n"	/* 5 */
	    "      \"auth\": { \"type\": \"bearer\", \"token_env\": \"DEPROV_TEST_EMPTY\" } },\n"	/* 6 */
	    "    \"c\": { \"kind\": \"scim\", \"base_url\": \"https://x\",\n"	/* 7 */
	    "      \"auth\": { \"type\": \"bearer\", \"token_file\": \"sec/missing.token\" } },\n"	/* 8 */
	    "    \"d\": { \"kind\": \"scim\", \"base_url\": \"https://x\",\n"	/* 9 */
	    "      \"auth\": { \"type\": \"bearer\", \"token_file\": \"sec/empty.token\" } },\n"	/* 10 */
	    "    \"e\": { \"kind\": \"scim\", \"base_url\": \"https://x\",\n"	/* 11 */
	    "      \"auth\": { \"type\": \"bearer\",\n"			/* 12 */
	    "        \"token\": \"inline-secret-value\", \"token_env\": \"DEPROV_TEST_SET\" } },\n"	/* 13 */
	    "    \"f\": { \"kind\": \"scim\", \"base_url\": \"https://x\",\n"	/* 14 */
	    "      \"auth\": { \"type\": \"bearer\", \"token\": 12345 } },\n"	/* 15 */
	    "    \"g\": { \"kind\": \"salesforce\", \"base_url\": \"https://x\",\n"	/* 16 */
	    "      \"auth\": { \"type\": \"jwt_bearer\", \"client_id\": \"c\", \"username\": \"u\",\n"	/* 17 */
	    "        \"token_url\": \"https://x/t\", \"private_key_env\": \"DEPROV_TEST_UNSET\" } },\n"	/* 18 */
	    "    \"h\": { \"kind\": \"scim\", \"base_url\": \"https://x\",\n"	/* 19 */
	    "      \"auth\": { \"type\": \"bearer\", \"token_env\": \"\" } },\n"	/* 20 */
	    "    \"i\": { \"kind\": \"scim\", \"base_url\": \"https://x\",\n"	/* 21 */
	    "      \"auth\": { \"type\": \"bearer\", \"token_file\": \"sec/good.token\" } }\n"	/* 22 */
	    "  }\n"
	    "}\n", &d);
	assert_non_null(cfg);
	snprintf(path, sizeof path, "%s/sec/missing.token", tmpdir);
	n++; assert_true(has(d, 4, "targets.a.auth.token_env: environment variable \"DEPROV_TEST_UNSET\" is not set"));
	n++; assert_true(has(d, 6, "targets.b.auth.token_env: environment variable \"DEPROV_TEST_EMPTY\" is empty"));
	n++; assert_true(has(d, 8, "targets.c.auth.token_file: cannot read \"%s\": No such file or directory", path));
	snprintf(path, sizeof path, "%s/sec/empty.token", tmpdir);
	n++; assert_true(has(d, 10, "targets.d.auth.token_file: cannot read \"%s\": the file is empty", path));
	n++; assert_true(has(d, 12, "targets.e.auth: give only one of \"token\", \"token_env\", \"token_file\""));
	n++; assert_true(has(d, 15, "targets.f.auth.token: expected a non-empty string"));
	n++; assert_true(has(d, 18, "targets.g.auth.private_key_env: environment variable \"DEPROV_TEST_UNSET\" is not set"));
	n++; assert_true(has(d, 20, "targets.h.auth.token_env: expected the name of an environment variable"));
	assert_int_equal(diags_count(d), n);
	never_shows(d, "inline-secret-value");
	never_shows(d, "env-secret-value");
	never_shows(d, "file-secret-value");
	never_shows(d, "12345");
	assert_string_equal(config_target_find(cfg, "i")->auth.token,
	    "file-secret-value");
	config_free(cfg);
	diags_free(d);

	/* config_secret on its own: files are relative to the config file. */
	doc = jsonc_parse_buffer("x", "[{\"token_file\": \"sec/good.token\"},"
	    "{\"token_env\": \"DEPROV_TEST_SET\"}, {\"token\": \"t\"}, {},"
	    "{\"token_env\": \"DEPROV_TEST_UNSET\"}, {\"private_key\": \"pk\"}]",
	    (size_t)strlen("[{\"token_file\": \"sec/good.token\"},"
	    "{\"token_env\": \"DEPROV_TEST_SET\"}, {\"token\": \"t\"}, {},"
	    "{\"token_env\": \"DEPROV_TEST_UNSET\"}, {\"private_key\": \"pk\"}]"),
	    err, sizeof err);
	assert_non_null(doc);
	d = diags_new();
	s = config_secret(json_object_array_get_idx(jsonc_root(doc), 0), "token",
	    cfgpath, 7, d);
	assert_string_equal(s, "file-secret-value");
	free(s);
	s = config_secret(json_object_array_get_idx(jsonc_root(doc), 1), "token",
	    cfgpath, 7, d);
	assert_string_equal(s, "env-secret-value");
	free(s);
	s = config_secret(json_object_array_get_idx(jsonc_root(doc), 2), "token",
	    cfgpath, 7, d);
	assert_string_equal(s, "t");
	free(s);
	assert_null(config_secret(json_object_array_get_idx(jsonc_root(doc), 3),
	    "token", cfgpath, 7, d));
	assert_int_equal(diags_count(d), 0);
	assert_null(config_secret(json_object_array_get_idx(jsonc_root(doc), 4),
	    "token", cfgpath, 7, d));
	assert_int_equal(diags_count(d), 1);
	assert_true(has(d, 7, "token_env: environment variable \"DEPROV_TEST_UNSET\" is not set"));
	s = config_secret(json_object_array_get_idx(jsonc_root(doc), 5),
	    "private_key", cfgpath, 7, d);
	assert_string_equal(s, "pk");
	free(s);
	assert_null(config_secret(NULL, "token", cfgpath, 7, d));
	diags_free(d);
	jsonc_free(doc);
	unsetenv("DEPROV_TEST_EMPTY");
	unsetenv("DEPROV_TEST_SET");
}

static void
test_example(void **state)
{
	struct diags			*d = diags_new();
	struct config			*cfg;
	const struct config_target	*t;
	const char			*path = DEPROV_SOURCE_DIR "/deploy/deprovd.example.json";

	cfg = config_load(path, d);
	assert_non_null(cfg);
	/* The only complaint: the key file is not on this machine. */
	if (diags_count(d) != 1 || strstr(diags_get(d, 0),
	    "targets.salesforce-prod.auth.private_key_file: cannot read "
	    "\"/run/secrets/sf.pem\"") == NULL) {
		diags_print(d, stderr);
		fail_msg("unexpected diagnostics for %s", path);
	}
	assert_int_equal(cfg->ntargets, 1);
	t = config_target_find(cfg, "salesforce-prod");
	assert_non_null(t);
	assert_string_equal(t->kind, "salesforce");
	assert_string_equal(t->auth.type, "jwt_bearer");
	assert_int_equal(cfg->api.ntokens, 2);
	assert_string_equal(cfg->kafka.audit_topic, "deprov.audit");
	config_free(cfg);
	diags_free(d);
}

/* --- auth types, breaker limits, irreversible_delete (issue 4) ------------ */

#define FAKE_PEM "-----BEGIN PRIVATE KEY-----\nMIIfakekeymaterial\n-----END PRIVATE KEY-----\n"
#define FAKE_CERT "-----BEGIN CERTIFICATE-----\nMIIfakecert\n-----END CERTIFICATE-----\n"
#define SA_KEY "{ \"type\": \"service_account\", \"project_id\": \"p\", " \
	"\"private_key_id\": \"k-123\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIsakey\\n-----END PRIVATE KEY-----\\n\", " \
	"\"client_email\": \"deprov@p.iam.gserviceaccount.com\", \"client_id\": \"1\", " \
	"\"token_uri\": \"https://oauth2.googleapis.com/token\" }"

static void
test_auth_types(void **state)
{
	struct diags			*d;
	struct config			*cfg;
	const struct config_target	*t;

	put("sec/graph.secret", "graph-secret-value\n");
	put("sec/graph.crt", FAKE_CERT);
	put("sec/sa.json", SA_KEY "\n");
	setenv("DEPROV_TEST_OKTA", "00okta-ssws-value", 1);
	setenv("DEPROV_TEST_PEM", FAKE_PEM, 1);
	setenv("DEPROV_TEST_SA", "{ \"client_email\": \"e@p.iam.gserviceaccount.com\", "
	    "\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIx\\n-----END PRIVATE KEY-----\\n\" }", 1);
	cfg = load(
	    "{ \"kafka\": { \"brokers\": \"k\" },\n"
	    "  \"targets\": {\n"
	    "    \"okta\": { \"kind\": \"okta\", \"base_url\": \"https://acme.okta.com\",\n"
	    "      \"auth\": { \"type\": \"ssws\", \"token_env\": \"DEPROV_TEST_OKTA\" },\n"
	    "      \"limits\": { \"breaker_failures\": 3, \"breaker_open_ms\": 1000, \"breaker_max_open_ms\": 8000 } },\n"
	    "    \"graph\": { \"kind\": \"graph\", \"base_url\": \"https://graph.microsoft.com\",\n"
	    "      \"auth\": { \"type\": \"client_credentials\", \"client_id\": \"app-1\",\n"
	    "        \"token_url\": \"https://login.microsoftonline.com/t/oauth2/v2.0/token\",\n"
	    "        \"scope\": \"https://graph.microsoft.com/.default\",\n"
	    "        \"client_secret_file\": \"sec/graph.secret\" } },\n"
	    "    \"graph-cert\": { \"kind\": \"graph\", \"base_url\": \"https://graph.microsoft.com\",\n"
	    "      \"auth\": { \"type\": \"client_credentials\", \"client_id\": \"app-2\",\n"
	    "        \"token_url\": \"https://login.microsoftonline.com/t/oauth2/v2.0/token\",\n"
	    "        \"scope\": [\"https://graph.microsoft.com/.default\"],\n"
	    "        \"private_key\": \"" "-----BEGIN PRIVATE KEY-----\\nMIIinline\\n-----END PRIVATE KEY-----\\n" "\",\n"
	    "        \"certificate_file\": \"sec/graph.crt\", \"thumbprint\": \"sha256\",\n"
	    "        \"key_id\": \"kid-2\", \"token_ttl_s\": 120 } },\n"
	    "    \"okta-oauth\": { \"kind\": \"okta\", \"base_url\": \"https://acme.okta.com\",\n"
	    "      \"auth\": { \"type\": \"client_credentials\", \"client_id\": \"0oa1\",\n"
	    "        \"token_url\": \"https://acme.okta.com/oauth2/v1/token\",\n"
	    "        \"scope\": [\"okta.users.manage\", \"okta.sessions.manage\"],\n"
	    "        \"private_key_env\": \"DEPROV_TEST_PEM\", \"key_id\": \"kid-okta\", \"x5t\": \"aBc-_9\" } },\n"
	    "    \"google\": { \"kind\": \"google\", \"base_url\": \"https://admin.googleapis.com\",\n"
	    "      \"irreversible_delete\": \"removes Drive files\",\n"
	    "      \"auth\": { \"type\": \"google_service_account\", \"key_file\": \"sec/sa.json\",\n"
	    "        \"subject\": \"admin@acme.example\",\n"
	    "        \"scopes\": [\"https://www.googleapis.com/auth/admin.directory.user\",\n"
	    "                   \"https://www.googleapis.com/auth/admin.datatransfer\"] } },\n"
	    "    \"google-env\": { \"kind\": \"google\", \"base_url\": \"https://admin.googleapis.com\",\n"
	    "      \"irreversible_delete\": true,\n"
	    "      \"auth\": { \"type\": \"google_service_account\", \"key_env\": \"DEPROV_TEST_SA\",\n"
	    "        \"subject\": \"admin@acme.example\", \"scopes\": \"a b\",\n"
	    "        \"token_url\": \"http://127.0.0.1:1/token\" } }\n"
	    "  }\n"
	    "}\n", &d);
	assert_non_null(cfg);
	no_diags(d);

	t = config_target_find(cfg, "okta");
	assert_string_equal(t->auth.type, "ssws");
	assert_string_equal(t->auth.token, "00okta-ssws-value");
	assert_int_equal(t->limits.breaker_failures, 3);
	assert_int_equal(t->limits.breaker_open_ms, 1000);
	assert_int_equal(t->limits.breaker_max_open_ms, 8000);
	assert_false(t->irreversible_delete);
	assert_null(t->irreversible_why);

	t = config_target_find(cfg, "graph");
	assert_string_equal(t->auth.type, "client_credentials");
	assert_string_equal(t->auth.client_id, "app-1");
	assert_string_equal(t->auth.scope, "https://graph.microsoft.com/.default");
	assert_string_equal(t->auth.client_secret, "graph-secret-value");
	assert_null(t->auth.private_key_pem);
	assert_int_equal(t->auth.token_ttl_s, 300);
	/* Defaults of the breaker. */
	assert_int_equal(t->limits.breaker_failures, 5);
	assert_int_equal(t->limits.breaker_open_ms, 30000);
	assert_int_equal(t->limits.breaker_max_open_ms, 300000);

	t = config_target_find(cfg, "graph-cert");
	assert_null(t->auth.client_secret);
	assert_non_null(strstr(t->auth.private_key_pem, "MIIinline"));
	assert_string_equal(t->auth.certificate_pem, FAKE_CERT);
	assert_true(t->auth.x5t_s256);
	assert_string_equal(t->auth.key_id, "kid-2");
	assert_int_equal(t->auth.token_ttl_s, 120);

	t = config_target_find(cfg, "okta-oauth");
	assert_string_equal(t->auth.scope, "okta.users.manage okta.sessions.manage");
	assert_string_equal(t->auth.private_key_pem, FAKE_PEM);
	assert_string_equal(t->auth.key_id, "kid-okta");
	assert_string_equal(t->auth.x5t, "aBc-_9");
	assert_null(t->auth.certificate_pem);

	t = config_target_find(cfg, "google");
	assert_string_equal(t->auth.type, "google_service_account");
	assert_string_equal(t->auth.client_email, "deprov@p.iam.gserviceaccount.com");
	assert_string_equal(t->auth.private_key_pem, "-----BEGIN PRIVATE KEY-----\n"
	    "MIIsakey\n-----END PRIVATE KEY-----\n");
	assert_string_equal(t->auth.key_id, "k-123");
	assert_string_equal(t->auth.subject, "admin@acme.example");
	assert_string_equal(t->auth.scope, "https://www.googleapis.com/auth/"
	    "admin.directory.user https://www.googleapis.com/auth/"
	    "admin.datatransfer");
	assert_string_equal(t->auth.token_url, "https://oauth2.googleapis.com/token");
	assert_true(t->irreversible_delete);
	assert_string_equal(t->irreversible_why, "removes Drive files");

	t = config_target_find(cfg, "google-env");
	assert_string_equal(t->auth.client_email, "e@p.iam.gserviceaccount.com");
	assert_string_equal(t->auth.token_url, "http://127.0.0.1:1/token");
	assert_string_equal(t->auth.scope, "a b");
	assert_null(t->auth.key_id);
	assert_true(t->irreversible_delete);
	assert_null(t->irreversible_why);
	config_free(cfg);
	diags_free(d);
	unsetenv("DEPROV_TEST_OKTA");
	unsetenv("DEPROV_TEST_PEM");
	unsetenv("DEPROV_TEST_SA");
}

static void
test_auth_type_diagnostics(void **state)
{
	struct diags	*d;
	struct config	*cfg;
	int		 n = 0;

	put("sec/notjson.json", "-----BEGIN PRIVATE KEY-----\nMIIsecretstuff\n-----END PRIVATE KEY-----\n");
	put("sec/user.json", "{ \"type\": \"authorized_user\", \"client_secret\": \"user-secret-value\" }");
	put("sec/partial.json", "{ \"client_email\": 5, \"private_key\": \"MIIpartial-secret\", \"token_uri\": \"ftp://x\" }");
	put("sec/baduri.json", "{ \"client_email\": \"a@b\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIbaduri\\n-----END PRIVATE KEY-----\\n\", \"token_uri\": \"ftp://x\" }");
	cfg = load(
	    "{ \"kafka\": { \"brokers\": \"k\" },\n"						/* 1 */
	    "  \"targets\": {\n"								/* 2 */
	    "    \"a\": { \"kind\": \"graph\", \"base_url\": \"https://x\",\n"			/* 3 */
	    "      \"auth\": { \"type\": \"client_credentials\" } },\n"				/* 4 */
	    "    \"b\": { \"kind\": \"graph\", \"base_url\": \"https://x\",\n"			/* 5 */
	    "      \"auth\": { \"type\": \"client_credentials\", \"client_id\": \"c\", \"token_url\": \"x\", \"scope\": [],\n"	/* 6 */
	    "        \"client_secret\": \"cc-secret-value\", \"private_key\": \"pk-secret-value\" } },\n"	/* 7 */
	    "    \"c\": { \"kind\": \"graph\", \"base_url\": \"https://x\",\n"			/* 8 */
	    "      \"auth\": { \"type\": \"client_credentials\", \"client_id\": \"c\", \"token_url\": \"https://x/t\", \"scope\": [\"a b\"],\n"	/* 9 */
	    "        \"client_secret\": \"cc-secret-value\", \"key_id\": \"k\", \"thumbprint\": \"sha1\" } },\n"	/* 10 */
	    "    \"d\": { \"kind\": \"graph\", \"base_url\": \"https://x\",\n"			/* 11 */
	    "      \"auth\": { \"type\": \"client_credentials\", \"client_id\": \"c\", \"token_url\": \"https://x/t\", \"scope\": 5,\n"	/* 12 */
	    "        \"private_key\": \"pk-secret-value\", \"x5t\": \"a+b\", \"token_ttl_s\": 301 } },\n"	/* 13 */
	    "    \"e\": { \"kind\": \"graph\", \"base_url\": \"https://x\",\n"			/* 14 */
	    "      \"auth\": { \"type\": \"client_credentials\", \"client_id\": \"c\", \"token_url\": \"https://x/t\", \"scope\": \"s\",\n"	/* 15 */
	    "        \"private_key\": \"pk-secret-value\", \"x5t\": \"abc\", \"certificate\": \"cert\", \"thumbprint\": \"md5\" } },\n"	/* 16 */
	    "    \"f\": { \"kind\": \"graph\", \"base_url\": \"https://x\",\n"			/* 17 */
	    "      \"auth\": { \"type\": \"client_credentials\", \"client_id\": \"c\", \"token_url\": \"https://x/t\", \"scope\": \"s\",\n"	/* 18 */
	    "        \"private_key\": \"pk-secret-value\", \"thumbprint\": \"sha256\", \"secret\": 1 } },\n"	/* 19 */
	    "    \"g\": { \"kind\": \"google\", \"base_url\": \"https://x\",\n"			/* 20 */
	    "      \"auth\": { \"type\": \"google_service_account\" } },\n"			/* 21 */
	    "    \"h\": { \"kind\": \"google\", \"base_url\": \"https://x\",\n"			/* 22 */
	    "      \"auth\": { \"type\": \"google_service_account\", \"subject\": \"s\", \"scopes\": [\"x\"],\n"	/* 23 */
	    "        \"key_file\": \"sec/notjson.json\" } },\n"					/* 24 */
	    "    \"i\": { \"kind\": \"google\", \"base_url\": \"https://x\",\n"			/* 25 */
	    "      \"auth\": { \"type\": \"google_service_account\", \"subject\": \"s\", \"scopes\": [\"x\"],\n"	/* 26 */
	    "        \"key_file\": \"sec/user.json\" } },\n"					/* 27 */
	    "    \"j\": { \"kind\": \"google\", \"base_url\": \"https://x\",\n"			/* 28 */
	    "      \"auth\": { \"type\": \"google_service_account\", \"subject\": \"s\", \"scopes\": [\"x\"],\n"	/* 29 */
	    "        \"key_file\": \"sec/partial.json\" } },\n"					/* 30 */
	    "    \"k\": { \"kind\": \"google\", \"base_url\": \"https://x\",\n"			/* 31 */
	    "      \"auth\": { \"type\": \"google_service_account\", \"subject\": \"s\", \"scopes\": [\"x\"],\n"	/* 32 */
	    "        \"key\": \"{}\", \"key_file\": \"sec/baduri.json\" } },\n"			/* 33 */
	    "    \"l\": { \"kind\": \"google\", \"base_url\": \"https://x\",\n"			/* 34 */
	    "      \"auth\": { \"type\": \"google_service_account\", \"subject\": \"s\", \"scopes\": [\"x\"],\n"	/* 35 */
	    "        \"key_file\": \"sec/baduri.json\", \"token_url\": \"nope\" } },\n"		/* 36 */
	    "    \"m\": { \"kind\": \"okta\", \"base_url\": \"https://x\", \"irreversible_delete\": 5,\n"	/* 37 */
	    "      \"auth\": { \"type\": \"ssws\" },\n"						/* 38 */
	    "      \"limits\": { \"breaker_failures\": 0, \"breaker_open_ms\": 5000, \"breaker_max_open_ms\": 100 } },\n"	/* 39 */
	    "    \"n\": { \"kind\": \"google\", \"base_url\": \"https://x\",\n"			/* 40 */
	    "      \"auth\": { \"type\": \"google_service_account\", \"subject\": \"s\", \"scopes\": [\"x\"],\n"	/* 41 */
	    "        \"key_file\": \"sec/baduri.json\" } }\n"					/* 42 */
	    "  }\n"
	    "}\n", &d);
	assert_non_null(cfg);
	n++; assert_true(has(d, 4, "targets.a.auth: missing \"token_url\""));
	n++; assert_true(has(d, 4, "targets.a.auth: missing \"client_id\""));
	n++; assert_true(has(d, 4, "targets.a.auth: missing \"scope\" (e.g. \"https://graph.microsoft.com/.default\", or Okta scopes such as [\"okta.users.manage\"])"));
	n++; assert_true(has(d, 4, "targets.a.auth: missing \"client_secret\" (or \"client_secret_env\", \"client_secret_file\") or \"private_key\" (or \"private_key_env\", \"private_key_file\")"));
	n++; assert_true(has(d, 6, "targets.b.auth.token_url: expected an http:// or https:// URL"));
	n++; assert_true(has(d, 6, "targets.b.auth.scope: expected a non-empty string or array of strings (scopes, without spaces inside one)"));
	n++; assert_true(has(d, 6, "targets.b.auth: give either a client secret or a private key, not both"));
	n++; assert_true(has(d, 9, "targets.c.auth.scope: expected a non-empty string or array of strings (scopes, without spaces inside one)"));
	n++; assert_true(has(d, 10, "targets.c.auth.key_id: only with a private key (client assertion)"));
	n++; assert_true(has(d, 10, "targets.c.auth.thumbprint: only with a private key (client assertion)"));
	n++; assert_true(has(d, 12, "targets.d.auth.scope: expected a non-empty string or array of strings (scopes, without spaces inside one)"));
	n++; assert_true(has(d, 13, "targets.d.auth.x5t: expected a base64url thumbprint"));
	n++; assert_true(has(d, 13, "targets.d.auth.token_ttl_s: must be between 1 and 300"));
	n++; assert_true(has(d, 16, "targets.e.auth: give either \"x5t\" or a certificate, not both"));
	n++; assert_true(has(d, 16, "targets.e.auth.thumbprint: unknown thumbprint \"md5\" (sha1 for x5t, sha256 for x5t#S256)"));
	n++; assert_true(has(d, 19, "targets.f.auth.thumbprint: only with a certificate"));
	n++; assert_true(has(d, 19, "unknown key \"secret\" in targets.f.auth"));
	n++; assert_true(has(d, 21, "targets.g.auth: missing \"subject\""));
	n++; assert_true(has(d, 21, "targets.g.auth: missing \"scopes\" (e.g. [\"https://www.googleapis.com/auth/admin.directory.user\"])"));
	n++; assert_true(has(d, 21, "targets.g.auth: missing \"key_file\" (or \"key_env\", \"key\"): the service account's JSON key"));
	n++; assert_true(has(d, 24, "targets.h.auth.key_file: not a service account key (a JSON object expected)"));
	n++; assert_true(has(d, 27, "targets.i.auth.key_file: the key's \"type\" is not \"service_account\""));
	n++; assert_true(has(d, 30, "targets.j.auth.key_file: the key has no \"client_email\""));
	n++; assert_true(has(d, 30, "targets.j.auth.key_file: the key has no PEM \"private_key\""));
	n++; assert_true(has(d, 30, "targets.j.auth.key_file: the key's \"token_uri\" is not an http:// or https:// URL"));
	n++; assert_true(has(d, 32, "targets.k.auth: give only one of \"key\", \"key_env\", \"key_file\""));
	n++; assert_true(has(d, 36, "targets.l.auth.token_url: expected an http:// or https:// URL"));
	n++; assert_true(has(d, 37, "targets.m.irreversible_delete: expected true, false or a string saying what a delete destroys"));
	n++; assert_true(has(d, 38, "targets.m.auth: missing \"token\" (or \"token_env\", \"token_file\")"));
	n++; assert_true(has(d, 39, "targets.m.limits.breaker_failures: must be between 1 and 1000"));
	n++; assert_true(has(d, 39, "targets.m.limits.breaker_max_open_ms: must not be less than breaker_open_ms (100 < 5000)"));
	n++; assert_true(has(d, 42, "targets.n.auth.key_file: the key's \"token_uri\" is not an http:// or https:// URL"));
	if ((int)diags_count(d) != n) {
		diags_print(d, stderr);
		fail_msg("%zu diagnostics, want %d", diags_count(d), n);
	}
	never_shows(d, "secret-value");
	never_shows(d, "secretstuff");
	never_shows(d, "MII");
	config_free(cfg);
	diags_free(d);
}

static void
test_kinds(void **state)
{
	assert_true(config_kind_known("salesforce"));
	assert_true(config_kind_known("scim"));
	assert_true(config_kind_known("okta"));
	assert_true(config_kind_known("graph"));
	assert_true(config_kind_known("google"));
	assert_false(config_kind_known("slack"));
	assert_false(config_kind_known(""));
	assert_false(config_kind_known(NULL));
}

/*
 * The connector table: every kind it lists has a descriptor that runs and
 * classifies; which steps each skips, and why; the irreversible rules (the
 * kind's for its options, then the target's own setting).
 */
static void
test_connector_table(void **state)
{
	static const char *const kinds[] = { "salesforce", "scim", "okta",
	    "graph", "google", NULL };
	const struct connector	*c;
	struct config_target	 t;
	struct runbook_step	 st;
	json_object		*o;
	char			 list[256];
	size_t			 i;

	(void)state;
	connector_kinds(list, sizeof list);
	assert_string_equal(list, "salesforce, scim, okta, graph, google");
	connector_kinds(list, 12);
	assert_string_equal(list, "salesforce,");
	for (i = 0; kinds[i] != NULL; i++) {
		assert_non_null(c = connector_find(kinds[i]));
		assert_string_equal(c->kind, kinds[i]);
		assert_non_null(c->run);
		assert_non_null(c->classify);
		assert_null(c->skips[STEP_FREEZE]);
		assert_null(c->skips[STEP_UNFREEZE]);
		assert_null(c->skips[STEP_DEACTIVATE]);
		assert_null(c->skips[STEP_REACTIVATE]);
	}
	assert_null(connector_find("nope"));
	assert_null(connector_find(NULL));

	/* What each kind skips, with the reason the step gets. */
	assert_string_equal(connector_find("salesforce")->skips[STEP_DELETE],
	    "not supported by salesforce");
	assert_null(connector_find("salesforce")->skips[STEP_REASSIGN]);
	assert_null(connector_find("scim")->skips[STEP_DELETE]);
	assert_non_null(strstr(connector_find("scim")->skips[STEP_REVOKE_TOKENS],
	    "RFC 7644"));
	assert_string_equal(connector_find("okta")->skips[STEP_REASSIGN],
	    "Okta holds no owned records to reassign");
	assert_non_null(connector_find("okta")->skips[STEP_DELETE]);
	assert_null(connector_find("okta")->skips[STEP_REVOKE_TOKENS]);
	assert_non_null(strstr(connector_find("graph")->skips[STEP_REASSIGN],
	    "no ownership transfer"));
	assert_null(connector_find("google")->skips[STEP_REASSIGN]);
	assert_string_equal(connector_find("google")->skips[STEP_DELETE],
	    "not supported by the google connector");

	/* A delete is irreversible by the kind's rule for the options... */
	o = json_tokener_parse("{\"preset\": \"github\"}");
	assert_non_null(strstr(connector_irreversible(connector_find("scim"),
	    o), "GitHub EMU"));
	assert_null(connector_irreversible(connector_find("okta"), o));
	assert_null(connector_irreversible(NULL, o));
	json_object_put(o);
	o = json_tokener_parse("{\"preset\": \"slack\"}");
	assert_null(connector_irreversible(connector_find("scim"), o));
	json_object_put(o);
	assert_null(connector_irreversible(connector_find("scim"), NULL));

	/* ... and then needs "irreversible_ok": one rule for all. */
	memset(&t, 0, sizeof t);
	memset(&st, 0, sizeof st);
	st.kind = STEP_DELETE;
	assert_null(connector_delete_refused(&t, &st));
	t.irreversible_delete = 1;
	assert_string_equal(connector_delete_refused(&t, &st),
	    "the account and its data cannot be restored");
	t.irreversible_why = "removes repositories";
	assert_string_equal(connector_delete_refused(&t, &st),
	    "removes repositories");
	st.irreversible_ok = 1;
	assert_null(connector_delete_refused(&t, &st));
	st.irreversible_ok = 0;
	st.kind = STEP_DEACTIVATE;
	assert_null(connector_delete_refused(&t, &st));
}

/*
 * A target's options are checked by its kind when the configuration is
 * loaded (not when a step first runs): every key must be one the kind
 * takes, with a "did you mean" for a near miss, and every value usable.
 */
static void
test_target_options(void **state)
{
	struct diags	*d;
	struct config	*cfg;
	int		 n = 0;

	(void)state;
	cfg = load("{ \"kafka\": { \"brokers\": \"k\" },\n"			/* 1 */
	    "  \"targets\": {\n"							/* 2 */
	    "    \"slack\": { \"kind\": \"scim\", \"base_url\": \"https://s\",\n"	/* 3 */
	    "      \"options\": { \"preset\": \"slak\",\n"			/* 4 */
	    "                   \"patch_stlye\": \"path\",\n"			/* 5 */
	    "                   \"etag\": \"yes\",\n"				/* 6 */
	    "                   \"resolve_by\": [\"nickName\"] } },\n"		/* 7 */
	    "    \"zoom\": { \"kind\": \"scim\", \"base_url\": \"https://z\",\n"	/* 8 */
	    "      \"options\": { \"preset\": \"okta\", \"colour\": 1 } },\n"	/* 9 */
	    "    \"okta\": { \"kind\": \"okta\", \"base_url\": \"https://o\",\n"	/* 10 */
	    "      \"options\": { \"unsuspendable\": \"maybe\",\n"		/* 11 */
	    "                   \"unsuspendible\": \"skip\" } },\n"		/* 12 */
	    "    \"ws\": { \"kind\": \"google\", \"base_url\": \"https://g\",\n"	/* 13 */
	    "      \"options\": { \"transfer_poll_msec\": 100,\n"		/* 14 */
	    "                   \"transfer_timeout_s\": 0,\n"			/* 15 */
	    "                   \"privacy_levels\": [\"PUBLIC\"] } },\n"	/* 16 */
	    "    \"sf\": { \"kind\": \"salesforce\", \"base_url\": \"https://x\",\n"	/* 17 */
	    "      \"options\": { \"api_verison\": \"v60.0\" } },\n"		/* 18 */
	    "    \"entra\": { \"kind\": \"graph\", \"base_url\": \"https://e\",\n"	/* 19 */
	    "      \"options\": { } },\n"						/* 20 */
	    "    \"nokind\": { \"kind\": \"ldap\", \"base_url\": \"https://l\",\n"	/* 21 */
	    "      \"options\": { \"anything\": 1 } } } }\n", &d);			/* 22 */
	assert_non_null(cfg);
	n++; assert_true(has(d, 4, "targets.slack.options.preset: unknown preset 'slak' (did you mean 'slack'?)"));
	n++; assert_true(has(d, 5, "targets.slack.options: unknown key \"patch_stlye\" (did you mean \"patch_style\"?)"));
	n++; assert_true(has(d, 6, "targets.slack.options.etag: expected true or false"));
	n++; assert_true(has(d, 7, "targets.slack.options.resolve_by[0]: expected \"userName\", \"email\", \"emails\" or \"externalId\""));
	n++; assert_true(has(d, 9, "targets.zoom.options.preset: unknown preset 'okta' (slack, github, zoom)"));
	n++; assert_true(has(d, 9, "targets.zoom.options: unknown key \"colour\" (kind scim takes preset, patch_style, etag, delete_deactivates, resolve_by)"));
	n++; assert_true(has(d, 11, "targets.okta.options.unsuspendable: expected \"fail\" or \"skip\""));
	n++; assert_true(has(d, 12, "targets.okta.options: unknown key \"unsuspendible\" (did you mean \"unsuspendable\"?)"));
	n++; assert_true(has(d, 14, "targets.ws.options: unknown key \"transfer_poll_msec\" (did you mean \"transfer_poll_ms\"?)"));
	n++; assert_true(has(d, 15, "targets.ws.options.transfer_timeout_s: must be an integer 1..604800"));
	n++; assert_true(has(d, 16, "targets.ws.options.privacy_levels: must list PRIVATE and/or SHARED"));
	n++; assert_true(has(d, 18, "targets.sf.options: unknown key \"api_verison\" (kind salesforce takes no options)"));
	n++; assert_true(has(d, 21, "targets.nokind: unknown kind \"ldap\" (salesforce, scim, okta, graph, google)"));
	if ((int)diags_count(d) != n) {
		diags_print(d, stderr);
		fail_msg("%zu diagnostics, want %d", diags_count(d), n);
	}
	assert_int_equal(diags_warnings(d), 0);
	config_free(cfg);
	diags_free(d);

	/* Good options of every kind: no diagnostic. */
	cfg = load("{ \"kafka\": { \"brokers\": \"k\" },\n"
	    "  \"targets\": {\n"
	    "    \"gh\": { \"kind\": \"scim\", \"base_url\": \"https://s\",\n"
	    "      \"options\": { \"preset\": \"github\", \"patch_style\": \"path\",\n"
	    "        \"etag\": false, \"delete_deactivates\": false,\n"
	    "        \"resolve_by\": [\"externalId\", \"emails\"] } },\n"
	    "    \"okta\": { \"kind\": \"okta\", \"base_url\": \"https://o\",\n"
	    "      \"options\": { \"unsuspendable\": \"skip\" } },\n"
	    "    \"ws\": { \"kind\": \"google\", \"base_url\": \"https://g\",\n"
	    "      \"options\": { \"drive_application_id\": 55656082996,\n"
	    "        \"transfer_poll_ms\": 100, \"transfer_timeout_s\": 30,\n"
	    "        \"privacy_levels\": [\"SHARED\"] } },\n"
	    "    \"sf\": { \"kind\": \"salesforce\", \"base_url\": \"https://x\",\n"
	    "      \"options\": { } } } }\n", &d);
	assert_non_null(cfg);
	no_diags(d);
	config_free(cfg);
	diags_free(d);
}

/* A SCIM preset marks its target irreversible unless the target says. */
static void
test_irreversible_preset(void **state)
{
	struct diags			*d;
	struct config			*cfg;
	const struct config_target	*t;

	(void)state;
	cfg = load("{ \"kafka\": { \"brokers\": \"k\" },\n"
	    "  \"targets\": {\n"
	    "    \"gh\": { \"kind\": \"scim\", \"base_url\": \"https://g\",\n"
	    "      \"options\": { \"preset\": \"github\" } },\n"
	    "    \"gh2\": { \"kind\": \"scim\", \"base_url\": \"https://g\",\n"
	    "      \"options\": { \"preset\": \"github\" }, \"irreversible_delete\": false },\n"
	    "    \"zoom\": { \"kind\": \"scim\", \"base_url\": \"https://z\",\n"
	    "      \"options\": { \"preset\": \"zoom\" } },\n"
	    "    \"slack\": { \"kind\": \"scim\", \"base_url\": \"https://s\",\n"
	    "      \"options\": { \"preset\": \"slack\" } } } }\n", &d);
	assert_non_null(cfg);
	no_diags(d);
	t = config_target_find(cfg, "gh");
	assert_true(t->irreversible_delete);
	assert_string_equal(t->irreversible_why, "GitHub EMU: a SCIM DELETE "
	    "hard-deprovisions the user and cannot be undone");
	t = config_target_find(cfg, "gh2");
	assert_false(t->irreversible_delete);
	assert_null(t->irreversible_why);
	t = config_target_find(cfg, "zoom");
	assert_true(t->irreversible_delete);
	assert_string_equal(t->irreversible_why, "Zoom: a SCIM DELETE removes "
	    "the user (treated as irreversible)");
	t = config_target_find(cfg, "slack");
	assert_false(t->irreversible_delete);
	config_free(cfg);
	diags_free(d);
}

/* "alerts": defaults when the section is absent. */
static void
test_alerts_defaults(void **state)
{
	struct diags	*d;
	struct config	*cfg;

	cfg = load("{ \"kafka\": { \"brokers\": \"k\" } }", &d);
	assert_non_null(cfg);
	no_diags(d);
	assert_int_equal(cfg->alerts.nwebhooks, 0);
	assert_null(cfg->alerts.webhooks);
	assert_int_equal(cfg->alerts.max_attempts, 8);
	assert_int_equal(cfg->alerts.initial_backoff_ms, 1000);
	assert_int_equal(cfg->alerts.max_backoff_ms, 60000);
	assert_int_equal(cfg->alerts.timeout_ms, 5000);
	config_free(cfg);
	diags_free(d);

	/* An empty section keeps the defaults too. */
	cfg = load("{ \"kafka\": { \"brokers\": \"k\" }, \"alerts\": "
	    "{ \"webhooks\": [] } }", &d);
	assert_non_null(cfg);
	no_diags(d);
	assert_int_equal(cfg->alerts.nwebhooks, 0);
	assert_int_equal(cfg->alerts.max_attempts, 8);
	config_free(cfg);
	diags_free(d);
}

/* "alerts": every key, secrets inline, from the environment and a file. */
static void
test_alerts_full(void **state)
{
	struct diags			*d;
	struct config			*cfg;
	const struct config_webhook	*w;

	put("sec/slack.url", "https://hooks.slack.example/services/T0/B0/"
	    "slack-url-secret\n");
	setenv("DEPROV_TEST_HOOK_AUTH", "Bearer env-hook-secret", 1);
	cfg = load(
	    "{ \"kafka\": { \"brokers\": \"k\" },\n"
	    "  // SLA breach webhooks\n"
	    "  \"alerts\": {\n"
	    "    \"webhooks\": [\n"
	    "      { \"name\": \"soc\", \"url\": \"https://soc.example/hook\",\n"
	    "        \"auth_header_env\": \"DEPROV_TEST_HOOK_AUTH\" },\n"
	    "      { \"name\": \"slack\", \"url_file\": \"sec/slack.url\", "
	    "\"format\": \"slack\" },\n"
	    "      { \"name\": \"plain.hook-2\", \"url\": \"http://127.0.0.1:9/x\",\n"
	    "        \"format\": \"generic\", \"auth_header\": \"Bearer inline\" },\n"
	    "    ],\n"
	    "    \"max_attempts\": 3, \"initial_backoff_ms\": 10,\n"
	    "    \"max_backoff_ms\": 100, \"timeout_ms\": 250 } }\n", &d);
	assert_non_null(cfg);
	no_diags(d);
	assert_int_equal(cfg->alerts.nwebhooks, 3);
	w = &cfg->alerts.webhooks[0];
	assert_string_equal(w->name, "soc");
	assert_string_equal(w->url, "https://soc.example/hook");
	assert_string_equal(w->format, "generic");
	assert_string_equal(w->auth_header, "Bearer env-hook-secret");
	assert_int_equal(w->line, 5);
	w = &cfg->alerts.webhooks[1];
	assert_string_equal(w->name, "slack");
	assert_string_equal(w->url,
	    "https://hooks.slack.example/services/T0/B0/slack-url-secret");
	assert_string_equal(w->format, "slack");
	assert_null(w->auth_header);
	w = &cfg->alerts.webhooks[2];
	assert_string_equal(w->name, "plain.hook-2");
	assert_string_equal(w->url, "http://127.0.0.1:9/x");
	assert_string_equal(w->auth_header, "Bearer inline");
	assert_int_equal(cfg->alerts.max_attempts, 3);
	assert_int_equal(cfg->alerts.initial_backoff_ms, 10);
	assert_int_equal(cfg->alerts.max_backoff_ms, 100);
	assert_int_equal(cfg->alerts.timeout_ms, 250);
	config_free(cfg);
	diags_free(d);
	unsetenv("DEPROV_TEST_HOOK_AUTH");
}

/* "alerts": every diagnostic with its line; URLs and headers never shown. */
static void
test_alerts_diagnostics(void **state)
{
	struct diags	*d;
	struct config	*cfg;
	int		 n = 0;

	unsetenv("DEPROV_TEST_UNSET");
	cfg = load(
	    "{\n"							/* 1 */
	    "  \"kafka\": { \"brokers\": \"k\" },\n"			/* 2 */
	    "  \"alerts\": {\n"						/* 3 */
	    "    \"retries\": 3,\n"					/* 4 */
	    "    \"max_attempts\": 0,\n"				/* 5 */
	    "    \"initial_backoff_ms\": 5000,\n"			/* 6 */
	    "    \"max_backoff_ms\": 100,\n"				/* 7 */
	    "    \"timeout_ms\": \"fast\",\n"				/* 8 */
	    "    \"webhooks\": [\n"					/* 9 */
	    "      { \"name\": \"a\", \"url\": \"ftp://url-secret-1\", \"colour\": 1 },\n"	/* 10 */
	    "      { \"name\": \"b\", \"url\": \"https://x\", \"format\": \"teams\" },\n"	/* 11 */
	    "      { \"url\": \"https://x\" },\n"			/* 12 */
	    "      { \"name\": \"bad name\", \"url\": \"https://x\" },\n"	/* 13 */
	    "      { \"name\": \"dup\", \"url\": \"https://x\" },\n"	/* 14 */
	    "      { \"name\": \"dup\", \"url\": \"https://y\" },\n"	/* 15 */
	    "      { \"name\": \"nourl\" },\n"				/* 16 */
	    "      { \"name\": \"env\", \"url_env\": \"DEPROV_TEST_UNSET\" },\n"	/* 17 */
	    "      { \"name\": \"two\", \"url\": \"https://x\",\n"	/* 18 */
	    "        \"auth_header\": \"Bearer hdr-secret\", \"auth_header_env\": \"B\" },\n"	/* 19 */
	    "      \"x\",\n"						/* 20 */
	    "      { \"name\": \"spacey\", \"url\": \"https://x/url secret-2\" },\n"	/* 21 */
	    "      { \"name\": 5, \"url\": \"https://x\", \"format\": true },\n"	/* 22 */
	    "      { \"name\": \"nl\", \"url\": \"https://x\", \"auth_header\": \"a\\nb-secret\" },\n"	/* 23 */
	    "      { \"name\": \"ok\", \"url\": \"https://ok\" }\n"	/* 24 */
	    "    ]\n"							/* 25 */
	    "  }\n"							/* 26 */
	    "}\n", &d);
	assert_non_null(cfg);
	n++; assert_true(has(d, 4, "unknown key \"retries\" in alerts"));
	n++; assert_true(has(d, 5, "alerts.max_attempts: must be between 1 and 100"));
	n++; assert_true(has(d, 7, "alerts.max_backoff_ms: must not be less than initial_backoff_ms (100 < 5000)"));
	n++; assert_true(has(d, 8, "alerts.timeout_ms: expected an integer"));
	n++; assert_true(has(d, 10, "unknown key \"colour\" in alerts.webhooks[0]"));
	n++; assert_true(has(d, 10, "alerts.webhooks[0].url: expected an http:// or https:// URL"));
	n++; assert_true(has(d, 11, "alerts.webhooks[1].format: unknown format \"teams\" (generic, slack)"));
	n++; assert_true(has(d, 12, "alerts.webhooks[2]: missing \"name\""));
	n++; assert_true(has(d, 13, "alerts.webhooks[3].name: invalid name \"bad name\" (use letters, digits, '_', '.', '-')"));
	n++; assert_true(has(d, 15, "alerts.webhooks[5]: duplicate webhook name \"dup\""));
	n++; assert_true(has(d, 16, "alerts.webhooks[6]: missing \"url\" (or \"url_env\", \"url_file\")"));
	n++; assert_true(has(d, 17, "alerts.webhooks[7].url_env: environment variable \"DEPROV_TEST_UNSET\" is not set"));
	n++; assert_true(has(d, 18, "alerts.webhooks[8]: give only one of \"auth_header\", \"auth_header_env\", \"auth_header_file\""));
	n++; assert_true(has(d, 20, "alerts.webhooks[9]: expected an object"));
	n++; assert_true(has(d, 21, "alerts.webhooks[10].url: expected an http:// or https:// URL"));
	n++; assert_true(has(d, 22, "alerts.webhooks[11].name: expected a string"));
	n++; assert_true(has(d, 22, "alerts.webhooks[11].format: expected a string"));
	n++; assert_true(has(d, 23, "alerts.webhooks[12].auth_header: must be one line"));
	if ((int)diags_count(d) != n) {
		diags_print(d, stderr);
		fail_msg("%zu diagnostics, want %d", diags_count(d), n);
	}
	never_shows(d, "url-secret");
	never_shows(d, "hdr-secret");
	never_shows(d, "b-secret");
	/* Only the good webhooks are kept ("dup" once, "ok"). */
	assert_int_equal(cfg->alerts.nwebhooks, 2);
	assert_string_equal(cfg->alerts.webhooks[0].name, "dup");
	assert_string_equal(cfg->alerts.webhooks[0].url, "https://x");
	assert_string_equal(cfg->alerts.webhooks[1].name, "ok");
	config_free(cfg);
	diags_free(d);

	/* Wrong types for the section and the list. */
	cfg = load(
	    "{ \"kafka\": { \"brokers\": \"k\" },\n"			/* 1 */
	    "  \"alerts\": [] }\n", &d);				/* 2 */
	assert_non_null(cfg);
	assert_true(has(d, 2, "alerts: expected an object"));
	assert_int_equal(diags_count(d), 1);
	config_free(cfg);
	diags_free(d);
	cfg = load(
	    "{ \"kafka\": { \"brokers\": \"k\" },\n"			/* 1 */
	    "  \"alerts\": { \"webhooks\": { \"name\": \"x\" } } }\n", &d);	/* 2 */
	assert_non_null(cfg);
	assert_true(has(d, 2, "alerts.webhooks: expected an array"));
	assert_int_equal(diags_count(d), 1);
	config_free(cfg);
	diags_free(d);
}

static int
rm_tree(const char *dir)
{
	char cmd[PATH_MAX + 32];

	if (strncmp(dir, "/tmp/test_config.", 17) != 0)
		return -1;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
setup(void **state)
{
	char *real;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_config.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* config->dir is the real path of the directory. */
	if ((real = realpath(tmpdir, NULL)) == NULL)
		return -1;
	snprintf(tmpdir, sizeof tmpdir, "%s", real);
	free(real);
	snprintf(cfgpath, sizeof cfgpath, "%s/deprovd.json", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	return rm_tree(tmpdir);
}

/*
 * The settings tables: a near miss of a key in any section names the key
 * meant (secrets' _env and _file forms included), and a value out of its
 * bounds or of the wrong type is reported at its line, whichever module's
 * table it belongs to.
 */
static void
test_settings_tables(void **state)
{
	struct diags	*d;
	struct config	*cfg;
	int		 n = 0;

	(void)state;
	cfg = load(
	    "{\n"							/* 1 */
	    "  \"kafka\": { \"brokers\": \"k:9092\", \"dlq_topik\": \"d\" },\n"	/* 2 */
	    "  \"api\": { \"listne\": \"127.0.0.1:8080\",\n"		/* 3 */
	    "    \"request_timeout_ms\": 50 },\n"			/* 4 */
	    "  \"engine\": { \"tick_ms\": \"fast\" },\n"		/* 5 */
	    "  \"alerts\": { \"max_atempts\": 3, \"timeout_ms\": 600001,\n"	/* 6 */
	    "    \"webhooks\": [ { \"name\": \"h\", \"url\": \"https://h\", \"formt\": \"slack\" } ] },\n"	/* 7 */
	    "  \"targets\": {\n"					/* 8 */
	    "    \"sf\": { \"kind\": \"salesforce\", \"base_url\": \"https://x\",\n"	/* 9 */
	    "      \"auth\": { \"type\": \"jwt_bearer\", \"client_idd\": \"c\",\n"	/* 10 */
	    "        \"username\": \"u\", \"token_url\": \"https://t\",\n"	/* 11 */
	    "        \"private_key_evn\": \"K\", \"token_ttl_s\": 0 },\n"	/* 12 */
	    "      \"limits\": { \"burts\": 5, \"concurrency\": 1.5 } },\n"	/* 13 */
	    "    \"ok\": { \"kind\": \"okta\", \"base_url\": \"https://o\",\n"	/* 14 */
	    "      \"auth\": { \"type\": \"ssws\", \"tokn\": \"t\" } }\n"	/* 15 */
	    "  },\n"							/* 16 */
	    "  \"log_levle\": \"info\"\n"				/* 17 */
	    "}\n", &d);
	assert_non_null(cfg);
	n++; assert_true(has(d, 2, "unknown key \"dlq_topik\" in kafka (did you mean \"dlq_topic\"?)"));
	n++; assert_true(has(d, 3, "unknown key \"listne\" in api (did you mean \"listen\"?)"));
	n++; assert_true(has(d, 4, "api.request_timeout_ms: must be between 100 and 600000"));
	n++; assert_true(has(d, 5, "engine.tick_ms: expected an integer"));
	n++; assert_true(has(d, 6, "unknown key \"max_atempts\" in alerts (did you mean \"max_attempts\"?)"));
	n++; assert_true(has(d, 6, "alerts.timeout_ms: must be between 1 and 600000"));
	n++; assert_true(has(d, 7, "unknown key \"formt\" in alerts.webhooks[0] (did you mean \"format\"?)"));
	n++; assert_true(has(d, 10, "unknown key \"client_idd\" in targets.sf.auth (did you mean \"client_id\"?)"));
	n++; assert_true(has(d, 10, "targets.sf.auth: missing \"client_id\""));
	n++; assert_true(has(d, 10, "targets.sf.auth: missing \"private_key\" (or \"private_key_env\", \"private_key_file\")"));
	n++; assert_true(has(d, 12, "unknown key \"private_key_evn\" in targets.sf.auth (did you mean \"private_key_env\"?)"));
	n++; assert_true(has(d, 12, "targets.sf.auth.token_ttl_s: must be between 1 and 180"));
	n++; assert_true(has(d, 13, "unknown key \"burts\" in targets.sf.limits (did you mean \"burst\"?)"));
	n++; assert_true(has(d, 13, "targets.sf.limits.concurrency: expected an integer"));
	n++; assert_true(has(d, 15, "unknown key \"tokn\" in targets.ok.auth (did you mean \"token\"?)"));
	n++; assert_true(has(d, 15, "targets.ok.auth: missing \"token\" (or \"token_env\", \"token_file\")"));
	n++; assert_true(has(d, 17, "unknown key \"log_levle\" (did you mean \"log_level\"?)"));
	if ((int)diags_count(d) != n) {
		diags_print(d, stderr);
		fail_msg("%zu diagnostics, want %d", diags_count(d), n);
	}
	/* What was good is kept; what was not keeps its default. */
	assert_string_equal(cfg->kafka.dlq_topic, "deprov.dlq");
	assert_int_equal(cfg->engine.tick_ms, 250);
	assert_int_equal(cfg->alerts.timeout_ms, 5000);
	assert_int_equal(cfg->targets[0].limits.concurrency, 8);
	assert_null(cfg->api.listen);
	config_free(cfg);
	diags_free(d);
}

/*
 * api.public_url: the dashboard's address for the links alerts carry.
 * Absolute http(s), without query or fragment or anything a link would have
 * to escape; trailing slashes go (links append "/#case=N"); absent, none.
 */
static void
test_api_public_url(void **state)
{
	static const char *const bad[] = { "/dashboard", "deprov.acme.example",
	    "https://", "https:///x", "ftp://deprov.acme.example",
	    "https://deprov.acme.example/?t=1", "https://deprov.acme.example/#x",
	    "https://deprov.acme.example/a b", "https://deprov.acme.example/<x>",
	    "https://deprov.acme.example/a|b", "https://deprov.acme.example/a&b",
	    "https://deprov.acme.example/\t", "" };
	struct diags	*d;
	struct config	*cfg;
	char		 text[512];
	size_t		 i;

	cfg = load("{ \"kafka\": { \"brokers\": \"k\" }, \"api\": { \"listen\": "
	    "\"127.0.0.1:8080\" } }", &d);
	assert_non_null(cfg);
	no_diags(d);
	assert_null(cfg->api.public_url);
	config_free(cfg);
	diags_free(d);

	cfg = load("{ \"kafka\": { \"brokers\": \"k\" }, \"api\": { "
	    "\"public_url\": \"https://deprov.acme.example/ops//\" } }", &d);
	assert_non_null(cfg);
	no_diags(d);
	assert_string_equal(cfg->api.public_url,
	    "https://deprov.acme.example/ops");
	config_free(cfg);
	diags_free(d);

	cfg = load("{ \"kafka\": { \"brokers\": \"k\" }, \"api\": { "
	    "\"public_url\": \"http://10.0.0.5:8080\" } }", &d);
	assert_non_null(cfg);
	no_diags(d);
	assert_string_equal(cfg->api.public_url, "http://10.0.0.5:8080");
	config_free(cfg);
	diags_free(d);

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_object *js = json_object_new_string(bad[i]);

		snprintf(text, sizeof text, "{ \"kafka\": { \"brokers\": \"k\" },"
		    "\n  \"api\": { \"public_url\": %s } }",
		    json_object_to_json_string(js));
		json_object_put(js);
		cfg = load(text, &d);
		if (diags_count(d) != 1 || !(has(d, 2, "api.public_url: "
		    "expected an absolute http:// or https:// URL without "
		    "query or fragment (https://deprov.acme.example)") ||
		    (bad[i][0] == '\0' && diags_count(d) == 1))) {
			diags_print(d, stderr);
			fail_msg("public_url \"%s\": not refused as it should be",
			    bad[i]);
		}
		config_free(cfg);
		diags_free(d);
	}
}

/* store.backend and store.url go together; the URL is a secret. */
static void
test_store_backend(void **state)
{
	struct diags	*d;
	struct config	*cfg;

	(void)state;
	cfg = load("{ \"kafka\": { \"brokers\": \"k:9092\" },\n"
	    "  \"store\": { \"backend\": \"postgres\",\n"
	    "    \"url\": \"postgresql://u:pw-123@db/deprov\" } }\n", &d);
	assert_non_null(cfg);
	assert_int_equal(diags_count(d), 0);
	assert_int_equal(cfg->store_backend, STORE_BACKEND_POSTGRES);
	assert_string_equal(cfg->store_url, "postgresql://u:pw-123@db/deprov");
	/* The failover settings' defaults: the host and local copy name it. */
	assert_int_equal(cfg->store_lease_ms, 10000);
	assert_non_null(cfg->store_instance);
	assert_non_null(strstr(cfg->store_instance, ":"));
	assert_non_null(strstr(cfg->store_instance, "deprov.db"));
	config_free(cfg);
	diags_free(d);

	cfg = load("{ \"kafka\": { \"brokers\": \"k:9092\" },\n"
	    "  \"store\": { \"backend\": \"postgres\", \"url\": \"postgresql://db/x\",\n"
	    "    \"instance\": \"deprov-a\", \"lease_ms\": 3000 } }\n", &d);
	assert_non_null(cfg);
	assert_int_equal(diags_count(d), 0);
	assert_string_equal(cfg->store_instance, "deprov-a");
	assert_int_equal(cfg->store_lease_ms, 3000);
	config_free(cfg);
	diags_free(d);

	cfg = load("{ \"kafka\": { \"brokers\": \"k:9092\" },\n"
	    "  \"store\": { \"backend\": \"postgres\", \"url\": \"postgresql://db/x\",\n"
	    "    \"lease_ms\": 500 } }\n", &d);
	assert_true(diags_count(d) >= 1);
	assert_non_null(strstr(diags_get(d, 0), ":3: "));
	assert_non_null(strstr(diags_get(d, 0), "lease_ms"));
	config_free(cfg);
	diags_free(d);

	cfg = load("{ \"kafka\": { \"brokers\": \"k:9092\" },\n"
	    "  \"store\": { \"lease_ms\": 3000 },\n"
	    "  \"runbooks\": \"r\" }\n", &d);
	assert_true(has(d, 2, "store: \"lease_ms\" is for the postgres backend"));
	config_free(cfg);
	diags_free(d);

	cfg = load("{ \"kafka\": { \"brokers\": \"k:9092\" },\n"
	    "  \"store\": { \"backend\": \"postgres\" } }\n", &d);
	assert_true(has(d, 2, "store: the postgres backend needs \"url\" (or "
	    "url_env, url_file)"));
	config_free(cfg);
	diags_free(d);

	cfg = load("{ \"kafka\": { \"brokers\": \"k:9092\" },\n"
	    "  \"store\": { \"url\": \"postgresql://db/x\" },\n"
	    "  \"runbooks\": \"r\" }\n", &d);
	assert_true(has(d, 2, "store: \"url\" is for the postgres backend"));
	config_free(cfg);
	diags_free(d);

	cfg = load("{ \"kafka\": { \"brokers\": \"k:9092\" },\n"
	    "  \"store\": { \"backend\": \"postgre\" } }\n", &d);
	assert_true(diags_count(d) >= 1);
	assert_non_null(strstr(diags_get(d, 0), ":2: "));
	assert_non_null(strstr(diags_get(d, 0), "postgre"));
	config_free(cfg);
	diags_free(d);
}

/* What config_diff reports, as "what:live" lines joined by '\n'. */
static void
diff_cb(const char *what, int live, void *arg)
{
	char	*buf = arg;
	size_t	 len = strlen(buf);

	snprintf(buf + len, 2048 - len, "%s:%d\n", what, live);
}

/*
 * config_diff: nothing between a file and itself; each kind of change at
 * its dotted path, live or needing a restart as its row says; secrets
 * compared by value (a token from a file whose content changed), never
 * shown; targets added, removed or of another kind need a restart.
 */
static void
test_diff(void **state)
{
	static const char base[] =
	    "{ \"kafka\": { \"brokers\": \"k:9092\", \"group_id\": \"g\" },\n"
	    "  \"api\": { \"listen\": \"127.0.0.1:1\", \"tokens\": [\n"
	    "    { \"name\": \"ops\", \"role\": \"admin\", \"sha256\": \"" HEX64 "\" } ] },\n"
	    "  \"alerts\": { \"max_attempts\": 3 },\n"
	    "  \"targets\": {\n"
	    "    \"sf\": { \"kind\": \"salesforce\", \"base_url\": \"https://x\",\n"
	    "      \"auth\": { \"type\": \"bearer\", \"token_file\": \"tok\" },\n"
	    "      \"limits\": { \"rate_per_sec\": 5 } },\n"
	    "    \"ok\": { \"kind\": \"okta\", \"base_url\": \"https://y\" } } }\n";
	static const char next[] =
	    "{ \"kafka\": { \"brokers\": \"k:9092\", \"group_id\": \"h\" },\n"
	    "  \"log_level\": \"debug\",\n"
	    "  \"api\": { \"listen\": \"127.0.0.1:2\", \"tokens\": [\n"
	    "    { \"name\": \"ops2\", \"role\": \"admin\", \"sha256\": \"" HEX64 "\" } ] },\n"
	    "  \"alerts\": { \"max_attempts\": 4 },\n"
	    "  \"targets\": {\n"
	    "    \"sf\": { \"kind\": \"salesforce\", \"base_url\": \"https://x\",\n"
	    "      \"auth\": { \"type\": \"bearer\", \"token_file\": \"tok\" },\n"
	    "      \"limits\": { \"rate_per_sec\": 6 } },\n"
	    "    \"new\": { \"kind\": \"okta\", \"base_url\": \"https://y\" } } }\n";
	struct config	*a, *b;
	struct diags	*d;
	char		 got[2048];

	(void)state;
	put("tok", "secret-token-one-0123456789");
	a = load(base, &d);
	no_diags(d);
	diags_free(d);
	b = load(base, &d);
	no_diags(d);
	diags_free(d);
	got[0] = '\0';
	assert_int_equal(config_diff(a, b, diff_cb, got), 0);
	config_free(b);

	put("tok", "secret-token-two-0123456789");
	b = load(next, &d);
	no_diags(d);
	diags_free(d);
	got[0] = '\0';
	assert_int_equal(config_diff(a, b, diff_cb, got), 9);
	assert_string_equal(got,
	    "log_level:1\n"
	    "kafka.group_id:0\n"
	    "api.listen:0\n"
	    "api.tokens:1\n"
	    "alerts.max_attempts:1\n"
	    "targets.sf.auth:1\n"
	    "targets.sf.limits.rate_per_sec:1\n"
	    "targets.ok removed:0\n"
	    "targets.new added:0\n");
	assert_null(strstr(got, "secret-token"));

	/* A reference keeps it alive past the loader's config_free. */
	assert_ptr_equal(config_ref(b), b);
	config_free(b);
	assert_string_equal(b->kafka.group_id, "h");
	config_free(b);
	config_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_embedded),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_diagnostics),
		cmocka_unit_test(test_more_diagnostics),
		cmocka_unit_test(test_unusable),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_credentials_directory),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_connector_table),
		cmocka_unit_test(test_irreversible_preset),
		cmocka_unit_test(test_target_options),
		cmocka_unit_test(test_auth_types),
		cmocka_unit_test(test_auth_type_diagnostics),
		cmocka_unit_test(test_alerts_defaults),
		cmocka_unit_test(test_alerts_full),
		cmocka_unit_test(test_alerts_diagnostics),
		cmocka_unit_test(test_settings_tables),
		cmocka_unit_test(test_api_public_url),
		cmocka_unit_test(test_store_backend),
		cmocka_unit_test(test_diff),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
