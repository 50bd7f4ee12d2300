/*
 * deprovd: the deprovisioning daemon. One process, one libevent loop: the
 * Kafka consumer feeds leaver events to the engine, which persists a case per
 * event and drives every target's connector through the asynchronous HTTP
 * client. `deprovd --config FILE --check` validates the configuration and
 * the runbooks and exits 0, or 2 with one file:line: message per problem.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "deprov/api.h"
#include "deprov/audit.h"
#include "deprov/audit_stream.h"
#include "deprov/config.h"
#include "deprov/dashboard.h"
#include "deprov/evidence.h"
#include "deprov/diag.h"
#include "deprov/engine.h"
#include "deprov/event.h"
#include "deprov/http.h"
#include "deprov/ingest.h"
#include "deprov/kafka.h"
#include "deprov/log.h"
#include "deprov/metrics.h"
#include "deprov/openapi.h"
#include "deprov/reload.h"
#include "deprov/runbook.h"
#include "deprov/sdnotify.h"
#include "deprov/sla.h"
#include "deprov/store.h"

#define DEPROVD_VERSION		"0.1.0"
/*
 * Stopping is bounded (docs/OPERATIONS.md): running steps get
 * DEPROVD_DRAIN_MS to finish while the consumer commits and leaves the
 * group (at most DEPROVD_KAFKA_CLOSE_MS), then produced messages get
 * DEPROVD_FLUSH_MS. Whatever still holds the process DEPROVD_STOP_S after
 * the signal (a library call that blocks) is cut short by exiting then.
 */
#define DEPROVD_DRAIN_MS	8000
#define DEPROVD_KAFKA_CLOSE_MS	5000
#define DEPROVD_FLUSH_MS	3000
#define DEPROVD_STOP_S		15

/* Exit status (docs/OPERATIONS.md). */
#define DEPROVD_EXIT_OK		0	/* stopped cleanly */
#define DEPROVD_EXIT_FAILED	1	/* could not start, or the loop failed */
#define DEPROVD_EXIT_CONFIG	2	/* --check or start-up: configuration problems */
#define DEPROVD_EXIT_STORE_BUSY	3	/* another process owns the store */
#define DEPROVD_EXIT_FORCED	4	/* a second signal, or the stop took too long */
#define DEPROVD_EXIT_FENCED	5	/* another deprovd took the store over */

/* postgres: how often a standby asks for the store, and a writer whether
   it was fenced (docs/CLUSTER.md). */
#define DEPROVD_STANDBY_MAX_MS	1000
#define DEPROVD_FENCE_CHECK_MS	250

struct deprovd {
	struct reload_conf	 conf;		/* as started; restart-only settings */
	struct config		*cfg;		/* conf.cfg */
	struct reload		*reload;
	struct event_base	*base;
	struct store		*store;
	struct http		*http;
	struct engine		*engine;
	struct audit		*audit;
	struct metrics		*metrics;
	struct sla		*sla;
	struct ingest		*ingest;
	struct audit_stream	*audit_stream;
	struct kafka		*kafka;
	struct api		*api;
	struct dashboard	*dashboard;
	struct sdnotify		*sdnotify;	/* the service manager (systemd) */
	struct evidence		*evidence;
	struct event		*sigterm;
	struct event		*sigint;
	struct event		*sighup;
	struct event		*fence_ev;	/* postgres: fenced yet? */
	int			 exit_code;	/* when the loop ends */
	int			 standby_stop;	/* a signal while a standby */
	int			 stopping;
	int			 stop_waits;	/* drain and Kafka close still running */
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: deprovd --config FILE [--check] [-v] [--version]\n"
	    "\n"
	    "  -c, --config FILE  configuration file (JSON, comments allowed)\n"
	    "  -n, --check        validate configuration and runbooks, then exit\n"
	    "                     (0 = valid, 2 = problems, one file:line: message each)\n"
	    "  -v, --verbose      debug logging (overrides log_level)\n"
	    "  -V, --version      print the version and exit\n"
	    "  -h, --help         this text\n"
	    "\n"
	    "SIGTERM/SIGINT stop within 15 s; a second one exits at once.\n"
	    "SIGHUP reloads the configuration (docs/OPERATIONS.md, \"Reloading\").\n"
	    "Exit: 0 stopped, 1 failed, 2 configuration problems, 3 store in use\n"
	    "by another process, 4 forced (second signal, or the stop overran),\n"
	    "5 fenced (another deprovd took the PostgreSQL store over).\n");
}

#ifdef DEPROV_TEST_HOOKS
/*
 * DEPROV_TEST_ROUTES_FILE: write the route table there once every module
 * has added its routes, for the test that holds docs/openapi.yaml to what
 * the daemon serves (tests/integration/it_openapi.py). 0, or -1 logged.
 */
static int
deprovd_routes_hook(struct deprovd *d)
{
	const char	*path = getenv("DEPROV_TEST_ROUTES_FILE");
	FILE		*f;
	int		 r;

	if (path == NULL || d->api == NULL)
		return 0;
	log_warn("deprovd", "test hook: writing the route table to %s", path);
	if ((f = fopen(path, "w")) == NULL) {
		log_error("deprovd", "%s: %s", path, strerror(errno));
		return -1;
	}
	r = api_routes_print(d->api, f);
	if (fclose(f) != 0 || r != 0) {
		log_error("deprovd", "%s: cannot write the route table", path);
		return -1;
	}
	return 0;
}
#endif

static void	deprovd_standby_api_close(struct deprovd *);

static size_t
deprovd_open_cases(void *arg)
{
	return engine_open_cases(arg);
}

static uint64_t
deprovd_commit_gen(void *arg)
{
	return store_commit_gen(arg);
}

static uint64_t
deprovd_durable(void *arg)
{
	return store_durable(arg);
}

/* A case ended: intake paused for backpressure may resume. */
static void
deprovd_on_case(const struct engine_event *ev, void *arg)
{
	struct deprovd *d = arg;

	if (ev->kind == ENGINE_EV_CASE_RETIRED && d->kafka != NULL)
		kafka_backpressure_check(d->kafka);
}

/* Ready for the service manager: what /readyz answers "ok" to. */
static int
deprovd_ready(void *arg)
{
	struct deprovd *d = arg;

	return !d->stopping && api_readiness(d->store, d->kafka, NULL);
}

/* An SLA breach goes into the audit trail (sla knows nothing of audit). */
static void
deprovd_sla_alert(const struct sla_alert *a, void *arg)
{
	struct deprovd *d = arg;

	if (d->audit != NULL)
		audit_append(d->audit, "sla.breach", a->case_id, "deprovd", NULL,
		    NULL, a->detail_json);
}

/*
 * The second SIGTERM/SIGINT while stopping: exit at once, whatever the loop
 * is doing (it may be inside a blocking library call). Safe for the state:
 * the store commits in transactions (an open one is rolled back at the next
 * open) and Kafka offsets are stored only for committed cases.
 */
static void
deprovd_hard_signal(int sig)
{
	(void)sig;
	log_emergency(LOG_LEVEL_WARN, "deprovd", "second signal: exiting now");
	_exit(DEPROVD_EXIT_FORCED);
}

/* The stop's bound passed: exit (same safety as the second signal). */
static void
deprovd_stop_overdue(int sig)
{
	(void)sig;
	log_emergency(LOG_LEVEL_ERROR, "deprovd", "still not stopped 15 s "
	    "after the signal: exiting now");
	_exit(DEPROVD_EXIT_FORCED);
}

/*
 * From the first signal on, SIGTERM/SIGINT are plain handlers that exit,
 * and an alarm bounds the whole stop.
 */
static void
deprovd_arm_hard_stop(struct deprovd *d)
{
	struct sigaction sa;

	/* event_del gives the signals back to their previous handlers. */
	event_del(d->sigterm);
	event_del(d->sigint);
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = deprovd_hard_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = deprovd_stop_overdue;
	sigaction(SIGALRM, &sa, NULL);
	alarm(DEPROVD_STOP_S);
}

/* The drain or the Kafka close is over; after both, flush and leave the loop. */
static void
deprovd_stop_step(void *arg)
{
	struct deprovd *d = arg;

	if (--d->stop_waits > 0)
		return;
	/* Dead letters and audit records produced until now (bounded, blocks). */
	kafka_flush(d->kafka, DEPROVD_FLUSH_MS);
	log_info("deprovd", "stopped");
	event_base_loopexit(d->base, NULL);
}

/* Stop intake, let running steps finish or persist, exit. */
static void
deprovd_stop(struct deprovd *d)
{
	if (d->stopping)
		return;
	d->stopping = 1;
	deprovd_arm_hard_stop(d);
	sdnotify_stopping(d->sdnotify);
	if (d->api != NULL)
		api_stop(d->api);
	d->stop_waits = 2;
	kafka_close_start(d->kafka, DEPROVD_KAFKA_CLOSE_MS, deprovd_stop_step,
	    d);
	engine_drain(d->engine, DEPROVD_DRAIN_MS, deprovd_stop_step, d);
}

/* SIGTERM/SIGINT. */
static void
deprovd_signal(evutil_socket_t sig, short what, void *arg)
{
	struct deprovd *d = arg;

	(void)what;
	if (d->stopping)
		return;
	log_info("deprovd", "signal %d: stopping intake (at most %d s; a "
	    "second signal exits at once)", (int)sig, DEPROVD_STOP_S);
	deprovd_stop(d);
}

/*
 * postgres: another deprovd has taken the store over (this one was paused
 * or cut off past its lease). Nothing it does reaches PostgreSQL or a
 * target any more (the store and the HTTP gate see to that): it stops, and
 * its supervisor starts it again as a standby.
 */
static void
deprovd_fence_cb(evutil_socket_t fd, short what, void *arg)
{
	struct deprovd *d = arg;

	(void)fd;
	(void)what;
	if (d->stopping || !store_replica_fenced(d->store))
		return;
	log_error("deprovd", "fenced: another deprovd has taken the store "
	    "over; stopping (exit %d) to start again as a standby",
	    DEPROVD_EXIT_FENCED);
	d->exit_code = DEPROVD_EXIT_FENCED;
	deprovd_stop(d);
}

/* The HTTP gate: a fenced deprovd calls no target and sends no alert. */
static int
deprovd_http_gate(void *arg)
{
	struct deprovd *d = arg;

	return !store_replica_fenced(d->store);
}

/* A signal while a standby: stop waiting, exit. */
static void
deprovd_standby_signal(evutil_socket_t sig, short what, void *arg)
{
	struct deprovd *d = arg;

	(void)what;
	log_info("deprovd", "signal %d: standby stopping", (int)sig);
	d->standby_stop = 1;
	event_base_loopbreak(d->base);
}

/*
 * A standby's API (api_set_standby): reads from the standby's copy, health
 * and readiness, nothing that changes anything; closed before the writer's
 * opens on the same address.
 */
static void
deprovd_standby_api(struct deprovd *d, const char *holder)
{
	char	err[256], why[320];

	if (d->cfg->api.listen == NULL)
		return;
	if (d->api == NULL) {
		if ((d->api = api_new(d->base, d->cfg, d->store, NULL, NULL, err,
		    sizeof err)) == NULL ||
		    (d->dashboard = dashboard_new(d->api, d->store, err,
		    sizeof err)) == NULL || openapi_route(d->api) != 0) {
			log_warn("deprovd", "standby: no API: %s", err);
			deprovd_standby_api_close(d);
			return;
		}
	}
	snprintf(why, sizeof why, "instance %s holds the store (the writer)",
	    holder);
	api_set_standby(d->api, why);
}

static void
deprovd_standby_api_close(struct deprovd *d)
{
	api_free(d->api);
	dashboard_free(d->dashboard);	/* after the api */
	d->api = NULL;
	d->dashboard = NULL;
}

/*
 * The postgres backend: take the store, or wait as a standby until the
 * writer's lease runs out (docs/CLUSTER.md, "Automatic failover"). The
 * wait runs the loop with only the signals in it, so a stop is prompt; a
 * try waits on the server at most its connect timeout. 0 when taken, 1
 * stopped by a signal, -1 failed.
 */
static int
deprovd_take_store(struct deprovd *d)
{
	struct store_replica_conf conf = { .url = d->cfg->store_url,
	    .instance = d->cfg->store_instance,
	    .lease_ms = d->cfg->store_lease_ms };
	struct event	*st = NULL, *si = NULL;
	struct timeval	 tv;
	const char	*nsock = getenv("NOTIFY_SOCKET");
	char		 err[512], last[512] = "", status[600];
	int		 r, wait_ms = 0, rc = -1, dog;

	/* Under systemd's watchdog a standby pings too: it may wait for good. */
	dog = nsock != NULL && sdnotify_watchdog_interval(getenv("WATCHDOG_USEC"),
	    getenv("WATCHDOG_PID"), (long)getpid()) > 0;

	while ((r = store_replica_start(d->store, &conf, &wait_ms, err,
	    sizeof err)) == STORE_REPLICA_HELD || r == STORE_REPLICA_DOWN) {
		/* Said when the holder or the trouble changes, not at every try. */
		if (strncmp(err, last, strcspn(err, "(")) != 0) {
			if (r == STORE_REPLICA_HELD)
				log_info("deprovd", "standby (instance %s): %s; "
				    "taking over when that lease runs out",
				    conf.instance, err);
			else
				log_error("deprovd", "store: %s; trying again "
				    "every second", err);
			/*
			 * A standby has started as it should: the service
			 * manager hears so (Type=notify), and what it waits for.
			 */
			snprintf(status, sizeof status, "READY=1\nSTATUS=%s: %s",
			    r == STORE_REPLICA_HELD ? "standby" : "waiting", err);
			if (nsock != NULL)
				(void)sdnotify_send(nsock, status);
		}
		if (dog)
			(void)sdnotify_send(nsock, "WATCHDOG=1");
		if (r == STORE_REPLICA_HELD)
			deprovd_standby_api(d, conf.holder);
		if (r == STORE_REPLICA_DOWN)
			wait_ms = DEPROVD_STANDBY_MAX_MS;
		snprintf(last, sizeof last, "%s", err);
		if (st == NULL && ((st = evsignal_new(d->base, SIGTERM,
		    deprovd_standby_signal, d)) == NULL || (si = evsignal_new(
		    d->base, SIGINT, deprovd_standby_signal, d)) == NULL ||
		    evsignal_add(st, NULL) != 0 || evsignal_add(si, NULL) != 0)) {
			log_error("deprovd", "cannot install signal handlers");
			goto done;
		}
		if (wait_ms < 50)
			wait_ms = 50;
		if (wait_ms > DEPROVD_STANDBY_MAX_MS)
			wait_ms = DEPROVD_STANDBY_MAX_MS;
		tv.tv_sec = wait_ms / 1000;
		tv.tv_usec = (wait_ms % 1000) * 1000;
		event_base_loopexit(d->base, &tv);
		event_base_dispatch(d->base);
		if (d->standby_stop) {
			rc = 1;
			goto done;
		}
	}
	if (r != 0) {
		log_error("deprovd", "store: postgres: %s", err);
		goto done;
	}
	if (last[0] != '\0')
		log_info("deprovd", "instance %s took the store over",
		    conf.instance);
	rc = 0;
done:
	deprovd_standby_api_close(d);
	store_replica_conf_clear(&conf);
	if (st != NULL)
		event_free(st);
	if (si != NULL)
		event_free(si);
	return rc;
}

/* SIGHUP: reload the configuration (reload.c); the answer goes to the log. */
static void
deprovd_hup(evutil_socket_t sig, short what, void *arg)
{
	struct deprovd	*d = arg;
	json_object	*answer = NULL;

	(void)sig;
	(void)what;
	if (d->stopping) {
		log_info("deprovd", "SIGHUP while stopping: not reloading");
		return;
	}
	reload_run(d->reload, "SIGHUP", &answer);
	json_object_put(answer);
}

static void
deprovd_teardown(struct deprovd *d)
{
	if (d->sigterm != NULL)
		event_free(d->sigterm);
	if (d->sigint != NULL)
		event_free(d->sigint);
	if (d->sighup != NULL)
		event_free(d->sighup);
	sdnotify_free(d->sdnotify);
	if (d->fence_ev != NULL)
		event_free(d->fence_ev);
	api_free(d->api);
	dashboard_free(d->dashboard);	/* after the api, before the store */
	evidence_free(d->evidence);	/* after the api, before the audit */
	kafka_free(d->kafka);
	audit_stream_free(d->audit_stream);	/* after the producer's last callbacks */
	ingest_free(d->conf.ingest);
	d->conf.ingest = NULL;
	sla_free(d->sla);		/* engine observers: before the engine */
	metrics_free(d->metrics);
	engine_free(d->engine);
	/* After its users, which hold their own references. */
	reload_free(d->reload);
	audit_free(d->audit);		/* engine observer: before the store */
	http_free(d->http);
	store_close(d->store);
	if (d->base != NULL)
		event_base_free(d->base);
	reload_conf_clear(&d->conf);	/* the ingest with it */
}

/*
 * The loop's base. curl stops watching a connection's socket after every
 * transfer and watches it again for the next one, usually within the same
 * loop turn: with the epoll changelist those pairs cost no system call.
 * Nothing else runs libevent in another thread, so the base has no locks.
 */
static struct event_base *
deprovd_base_new(void)
{
	struct event_config	*cfg;
	struct event_base	*base = NULL;

	if ((cfg = event_config_new()) != NULL) {
		event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK |
		    EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
		base = event_base_new_with_config(cfg);
		event_config_free(cfg);
	}
	if (base == NULL)
		base = event_base_new();
	return base;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct deprovd	 d;
	struct reload_deps deps;
	struct diags	*diags;
	const char	*path = NULL;
	char		 err[512] = "", *guard = NULL;
	int		 ch, check = 0, verbose = 0, rc = 1, resumed, took;
	size_t		 i;

	while ((ch = getopt_long(argc, argv, "c:nvVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("deprovd %s\n", DEPROVD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}

	memset(&d, 0, sizeof d);
	if ((diags = diags_new()) == NULL)
		return 1;
	if (reload_read(&d.conf, path, diags) > 0) {
		diags_print(diags, stderr);
		diags_free(diags);
		deprovd_teardown(&d);
		return 2;
	}
	d.cfg = d.conf.cfg;
	if (check) {
		/* Warnings: reported, but the configuration is usable. */
		diags_print(diags, stderr);
		diags_free(diags);
		fprintf(stderr, "%s: ok (%zu targets, %zu runbooks)\n", path,
		    d.cfg->ntargets, d.conf.runbooks->n);
		deprovd_teardown(&d);
		return 0;
	}
	for (i = 0; i < diags_warnings(diags); i++)
		log_warn("deprovd", "%s", diags_get_warning(diags, i));
	diags_free(diags);

	log_set_level(verbose ? LOG_LEVEL_DEBUG :
	    (enum log_level)d.cfg->log_level);
	log_hook_libevent();
	signal(SIGPIPE, SIG_IGN);
	/* Until the loop takes SIGHUP (a reload), one during start-up is ignored. */
	signal(SIGHUP, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("deprovd", "curl_global_init failed");
		goto done;
	}
	if ((d.base = deprovd_base_new()) == NULL) {
		log_error("deprovd", "event_base_new failed");
		goto done;
	}
	if ((d.store = store_open(d.cfg->store_path, err, sizeof err)) == NULL) {
		if (errno == EBUSY) {
			/* "store var/deprov.db is in use by deprovd pid 1234" */
			log_error("deprovd", "%s: not starting", err);
			rc = DEPROVD_EXIT_STORE_BUSY;
		} else
			log_error("deprovd", "store: %s", err);
		goto done;
	}
	/*
	 * The postgres backend: matched with PostgreSQL's store and then
	 * kept current by a helper thread (docs/CLUSTER.md). This start waits
	 * on the server (at most its connect timeout); the loop never does.
	 */
	if (d.cfg->store_backend == STORE_BACKEND_POSTGRES) {
		if ((took = deprovd_take_store(&d)) != 0) {
			rc = took == 1 ? DEPROVD_EXIT_OK : DEPROVD_EXIT_FAILED;
			goto done;
		}
	} else if (store_replica_off(d.store) != 0) {
		log_error("deprovd", "store: cannot record that it is not "
		    "replicated");
		goto done;
	}
	if ((d.http = http_new(d.base)) == NULL) {
		log_error("deprovd", "http client setup failed");
		goto done;
	}
	if (d.cfg->store_backend == STORE_BACKEND_POSTGRES) {
		struct timeval tv = { 0, DEPROVD_FENCE_CHECK_MS * 1000 };

		http_set_gate(d.http, deprovd_http_gate, &d);
		if ((d.fence_ev = event_new(d.base, -1, EV_PERSIST,
		    deprovd_fence_cb, &d)) == NULL ||
		    event_add(d.fence_ev, &tv) != 0) {
			log_error("deprovd", "cannot watch the store's fence");
			goto done;
		}
	}
		d.engine = engine_new(d.base, d.http, d.store, d.cfg, d.conf.runbooks,
	    err, sizeof err);
	if (d.engine == NULL) {
		log_error("deprovd", "engine: %s", err);
		goto done;
	}
	/* The audit trail records resumed cases too: before engine_resume. */
	if ((d.audit = audit_new(d.base, d.store, d.engine, err,
	    sizeof err)) == NULL) {
		log_error("deprovd", "audit: %s", err);
		goto done;
	}
	/* Observers see the resumed cases: set up before engine_resume. */
	if ((d.metrics = metrics_new(d.engine, d.store, err, sizeof err)) ==
	    NULL || (d.sla = sla_new(d.base, d.engine, d.store, d.http,
	    &d.cfg->alerts, d.cfg->api.public_url, d.metrics, err,
	    sizeof err)) == NULL) {
		log_error("deprovd", "%s", err);
		goto done;
	}
	sla_set_alert_hook(d.sla, deprovd_sla_alert, &d);
	if ((resumed = engine_resume(d.engine)) < 0) {
		log_error("deprovd", "cannot resume cases: %s",
		    store_errmsg(d.store));
		goto done;
	}
	ingest_set_engine(d.conf.ingest, d.engine);
	d.kafka = kafka_new(d.base, &d.cfg->kafka, ingest_kafka, d.conf.ingest,
	    err, sizeof err);
	if (d.kafka == NULL) {
		log_error("deprovd", "%s", err);
		goto done;
	}
	/* The crash-loop breaker's record lives beside the store. */
	if (asprintf(&guard, "%s.crashguard", d.cfg->store_path) < 0) {
		guard = NULL;
		log_error("deprovd", "out of memory");
		goto done;
	}
	if (kafka_set_guard(d.kafka, guard, err, sizeof err) != 0) {
		log_error("deprovd", "crash guard: %s", err);
		goto done;
	}
	/* Intake in batches: one commit makes a batch's cases durable. */
	kafka_set_batch(d.kafka, engine_batch_begin, engine_batch_end, d.engine);
	/* postgres: offsets only once PostgreSQL has the cases (failover). */
	if (d.cfg->store_backend == STORE_BACKEND_POSTGRES)
		kafka_set_durable(d.kafka, deprovd_commit_gen, deprovd_durable,
		    d.store);
	metrics_set_kafka(d.metrics, d.kafka);
	if (d.cfg->kafka.audit_topic != NULL &&
	    (d.audit_stream = audit_stream_new(d.base, d.store, d.engine,
	    d.kafka, d.cfg->kafka.audit_topic, err, sizeof err)) == NULL) {
		log_error("deprovd", "audit stream: %s", err);
		goto done;
	}
	kafka_set_backpressure(d.kafka, d.cfg->engine.max_open_cases,
	    d.cfg->engine.resume_open_cases, deprovd_open_cases, d.engine);
	engine_observe(d.engine, deprovd_on_case, &d);
	if (d.cfg->api.listen != NULL) {
		d.api = api_new(d.base, d.cfg, d.store, d.engine, d.kafka, err,
		    sizeof err);
		if (d.api == NULL) {
			log_error("deprovd", "api: %s", err);
			goto done;
		}
		if (ingest_routes(d.conf.ingest, d.api) != 0) {
			log_error("deprovd", "api: cannot add the Okta hook");
			goto done;
		}
		api_set_audit(d.api, d.audit);
		if (metrics_route(d.metrics, d.api) != 0) {
			log_error("deprovd", "api: cannot add /metrics");
			goto done;
		}
		d.dashboard = dashboard_new(d.api, d.store, err, sizeof err);
		if (d.dashboard == NULL) {
			log_error("deprovd", "dashboard: %s", err);
			goto done;
		}
		d.evidence = evidence_new(d.api, d.store, d.audit, err,
		    sizeof err);
		if (d.evidence == NULL) {
			log_error("deprovd", "%s", err);
			goto done;
		}
		if (openapi_route(d.api) != 0) {
			log_error("deprovd", "api: cannot add /openapi.json");
			goto done;
		}
	}
	deps.engine = d.engine;
	deps.api = d.api;
	deps.sla = d.sla;
	deps.audit = d.audit;
	deps.metrics = d.metrics;
	deps.verbose = verbose;
	if ((d.reload = reload_new(path, &d.conf, &deps)) == NULL ||
	    (d.api != NULL && reload_route(d.reload, d.api) != 0)) {
		log_error("deprovd", "cannot set up reloads");
		goto done;
	}
#ifdef DEPROV_TEST_HOOKS
	if (deprovd_routes_hook(&d) != 0)
		goto done;
#endif
	d.sigterm = evsignal_new(d.base, SIGTERM, deprovd_signal, &d);
	d.sigint = evsignal_new(d.base, SIGINT, deprovd_signal, &d);
	d.sighup = evsignal_new(d.base, SIGHUP, deprovd_hup, &d);
	if (d.sigterm == NULL || d.sigint == NULL || d.sighup == NULL ||
	    evsignal_add(d.sigterm, NULL) != 0 ||
	    evsignal_add(d.sigint, NULL) != 0 ||
	    evsignal_add(d.sighup, NULL) != 0) {
		log_error("deprovd", "cannot install signal handlers");
		goto done;
	}
	if ((d.sdnotify = sdnotify_new(d.base, deprovd_ready, &d, err,
	    sizeof err)) == NULL) {
		log_error("deprovd", "%s", err);
		goto done;
	}
	log_info("deprovd", "started (version %s, %zu targets, %zu runbooks, "
	    "%d cases resumed)", DEPROVD_VERSION, d.cfg->ntargets,
	    d.conf.runbooks->n, resumed);
	if (event_base_dispatch(d.base) < 0) {
		log_error("deprovd", "event loop failed");
		goto done;
	}
	rc = d.exit_code;
done:
	deprovd_teardown(&d);
	curl_global_cleanup();
	free(guard);
	return rc;
}
