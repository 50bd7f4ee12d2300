/*
 * ingest_stubs: what src/ingest.c calls outside itself, for fuzz_ingest
 * (the way tests/unit/connector_stubs.c stands in for connectors). The
 * engine checks every event ingest hands it against what the real engine
 * relies on (the store keys it by source and id, the intake rules by type,
 * the case by subject key) and fails loudly when one is broken; an event
 * whose id starts with "retry" plays a store failure. Kafka headers are a
 * plain list (struct fuzz_headers) instead of librdkafka's; the admin API
 * keeps the one handler ingest registers and drops the answers. The two
 * configuration lookups ingest makes are here too (config.c would bring in
 * every connector through their descriptors): a target by name, and a
 * secret given inline, which is all fuzz_ingest's configuration uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <json-c/json.h>

#include "deprov/api.h"
#include "deprov/config.h"
#include "deprov/engine.h"
#include "deprov/event.h"
#include "deprov/jsonc.h"
#include "deprov/kafka.h"

#include "fuzz.h"
#include "ingest_stubs.h"

api_handler	 fuzz_hook_handler;
void		*fuzz_hook_arg;
int		 fuzz_hook_code;
unsigned long	 fuzz_submitted;

/* A non-empty identifier in valid UTF-8, or absent when may_lack. */
static void
fuzz_engine_id(const char *name, const char *s, int may_lack)
{
	if (s == NULL) {
		FUZZ_CHECK(may_lack, "the event has no %s", name);
		return;
	}
	FUZZ_CHECK(*s != '\0', "the event's %s is empty", name);
	FUZZ_CHECK(jsonc_utf8_valid(s, strlen(s)), "the event's %s is not "
	    "valid UTF-8", name);
}

int
engine_submit(struct engine *eng, const struct event *ev, const char *origin,
    long long *case_id, char *err, size_t errlen)
{
	*case_id = 0;
	fuzz_engine_id("id", ev->id, 0);
	fuzz_engine_id("source", ev->source, 0);
	fuzz_engine_id("subject key", ev->subject_key, 0);
	FUZZ_CHECK(ev->type != NULL && event_type_known(ev->type),
	    "the event's type is not one the engine knows");
	FUZZ_CHECK(ev->subject.employee_id != NULL || ev->subject.email != NULL ||
	    ev->subject.username != NULL, "the event has no subject identifier");
	fuzz_engine_id("employee_id", ev->subject.employee_id, 1);
	fuzz_engine_id("email", ev->subject.email, 1);
	fuzz_engine_id("username", ev->subject.username, 1);
	fuzz_engine_id("manager employee_id", ev->subject.manager_employee_id, 1);
	fuzz_engine_id("manager email", ev->subject.manager_email, 1);
	if (ev->termination_kind != NULL)
		(void)strlen(ev->termination_kind);
	if (ev->reason != NULL)
		(void)strlen(ev->reason);
	if (ev->idp_target != NULL)
		(void)strlen(ev->idp_target);
	if (ev->subject.accounts != NULL)
		(void)json_object_to_json_string(ev->subject.accounts);
	FUZZ_CHECK(origin != NULL && *origin != '\0', "no origin");
	fuzz_submitted++;
	if (strncmp(ev->id, "retry", 5) == 0) {
		snprintf(err, errlen, "store: database is locked");
		return -1;
	}
	*case_id = 1;
	return ENGINE_NEW_CASE;
}

int
kafka_msg_header(const struct kafka_msg *m, const char *name,
    const char **value, size_t *len)
{
	const struct fuzz_headers	*h = m->headers;
	size_t				 i;

	if (h == NULL)
		return -1;
	/* The last one of that name, as rd_kafka_header_get_last. */
	for (i = h->n; i > 0; i--) {
		if (strcmp(h->name[i - 1], name) == 0) {
			*value = h->value[i - 1];
			*len = h->len[i - 1];
			return 0;
		}
	}
	return -1;
}

int
api_route(struct api *api, const char *method, const char *path, int prefix,
    int role, api_handler handler, void *arg)
{
	fuzz_hook_handler = handler;
	fuzz_hook_arg = arg;
	return 0;
}

void
api_reply_json(struct evhttp_request *req, int code, json_object *body)
{
	fuzz_hook_code = code;
	(void)json_object_to_json_string(body);
	json_object_put(body);
}

void
api_error(struct evhttp_request *req, int code, const char *error,
    const char *detail)
{
	fuzz_hook_code = code;
	FUZZ_CHECK(error != NULL && detail != NULL && *detail != '\0',
	    "an error answer without a detail");
}

const struct config_target *
config_target_find(const struct config *cfg, const char *name)
{
	size_t	i;

	for (i = 0; cfg != NULL && name != NULL && i < cfg->ntargets; i++)
		if (strcmp(cfg->targets[i].name, name) == 0)
			return &cfg->targets[i];
	return NULL;
}

char *
config_secret(json_object *obj, const char *key, const char *file, int line,
    struct diags *d)
{
	json_object	*v;
	char		*s;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	if ((s = strdup(json_object_get_string(v))) == NULL)
		abort();
	return s;
}
