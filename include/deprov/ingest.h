/*
 * ingest: turns what HR systems and identity providers really send into
 * events for the engine. Kafka messages are CloudEvents in structured mode
 * (the whole event in the value) or binary mode (ce_* headers, data in the
 * value), Okta event hook deliveries or System Log events, or any JSON
 * message on a topic with a configured mapping (JSON pointers and a
 * condition, e.g. a Workday-style worker message). Okta can also push its
 * event hooks straight to POST /v1/hooks/okta on the admin listener.
 *
 * The "ingest" section of the configuration belongs to this module; it is
 * checked with file:line diagnostics like the rest:
 *
 *   "ingest": {
 *     "okta": { "source": "/idp/okta", "target": "okta",
 *               "hook_authorization_env": "OKTA_HOOK_SECRET" },
 *     "mappings": [ { "name": "workday", "topic": "hr.workday",
 *                     "source": "/hr/workday", "when": "/Terminated == true",
 *                     "rescind_when": "/Termination_Rescinded == true",
 *                     "fields": { "id": "/Event_ID", "employee_id": "/Worker_ID", ... },
 *                     "effective_is_last_day": true,
 *                     "termination_kinds": { "true": "involuntary" } } ]
 *   }
 */
#ifndef DEPROV_INGEST_H
#define DEPROV_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "deprov/config.h"
#include "deprov/diag.h"
#include "deprov/kafka.h"

struct api;
struct engine;
struct ingest;

/*
 * Read the "ingest" section of cfg's file. eng may be NULL (--check).
 * Problems go to diags; NULL only when nothing could be read.
 */
struct ingest	*ingest_new(const struct config *, struct engine *, struct diags *);
void		 ingest_free(struct ingest *);
/* Attach the engine events go to (after it is created). */
void		 ingest_set_engine(struct ingest *, struct engine *);

/* The Kafka message handler (see kafka.h for what the verdicts mean). */
enum kafka_verdict ingest_kafka(const struct kafka_msg *, char *reason,
		    size_t reasonlen, void *ingest);

/* Add GET/POST /v1/hooks/okta when an Okta hook secret is configured. */
int		 ingest_routes(struct ingest *, struct api *);

/* Counters for metrics. */
struct ingest_stats {
	uint64_t	events;		/* handed to the engine */
	uint64_t	cases;		/* that opened a case */
	uint64_t	attached;	/* that joined an existing case */
	uint64_t	duplicates;
	uint64_t	ignored;	/* valid messages that are not leaver signals */
	uint64_t	dead;		/* dead-lettered */
	uint64_t	hooks;		/* Okta hook deliveries accepted */
};
const struct ingest_stats *ingest_stats(const struct ingest *);

/*
 * Pure helpers, exposed for tests: evaluate a condition ("/a == 1 && /b !=
 * \"x\"") against a document (1 true, 0 false, -1 malformed with err), and
 * map one message with a mapping by name.
 */
int		 ingest_condition(const char *cond, json_object *doc, char *err,
		    size_t errlen);

#endif
