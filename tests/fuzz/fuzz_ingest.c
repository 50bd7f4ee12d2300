/*
 * fuzz_ingest: ingest_kafka, every Kafka message's way in (a mapped HR
 * topic, a binary-mode CloudEvent from ce_* headers, a structured
 * CloudEvent, an Okta event hook delivery or System Log event), and the
 * Okta event hook over HTTP, with the stub engine of ingest_stubs.c
 * checking each event handed over. The configuration is the documented
 * one: an Okta section with a hook secret and the Workday-style and
 * Gusto-style mappings of deploy/deprovd.example.json.
 *
 * An input is text:
 *
 *   hr.leavers                 <- the topic ("@hook": the HTTP hook instead)
 *   ce_specversion=1.0         <- headers, "name=value", up to an empty line
 *   ce_id=1
 *                              <- the empty line
 *   {"employee_id":"E1"}       <- the message value (the POST body for @hook)
 *
 * For @hook the headers are the request's (Authorization=fuzz-hook-secret
 * is the configured secret).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include "deprov/config.h"
#include "deprov/diag.h"
#include "deprov/ingest.h"
#include "deprov/kafka.h"

#include "fuzz.h"
#include "ingest_stubs.h"

#define FUZZ_HOOK_SECRET	"fuzz-hook-secret"

static const char fuzz_ingest_config[] =
    "{ \"ingest\": {\n"
    "  \"okta\": { \"source\": \"/idp/okta\", \"target\": \"okta\",\n"
    "            \"hook_authorization\": \"" FUZZ_HOOK_SECRET "\" },\n"
    "  \"mappings\": [\n"
    "    { \"name\": \"workday\", \"topic\": \"hr.workday\",\n"
    "      \"source\": \"/hr/workday\", \"when\": \"/Terminated == true\",\n"
    "      \"rescind_when\": \"/Termination_Rescinded == true\",\n"
    "      \"fields\": { \"id\": \"/Event_ID\", \"employee_id\": \"/Worker_ID\",\n"
    "        \"email\": \"/Email_Address\", \"username\": \"/User_Name\",\n"
    "        \"manager_employee_id\": \"/Manager/Worker_ID\",\n"
    "        \"manager_email\": \"/Manager/Email_Address\",\n"
    "        \"effective\": \"/Termination_Last_Day_of_Work\",\n"
    "        \"termination_kind\": \"/Termination_Involuntary\",\n"
    "        \"reason\": \"/Reason\" },\n"
    "      \"effective_is_last_day\": true,\n"
    "      \"termination_kinds\": { \"true\": \"involuntary\",\n"
    "        \"false\": \"voluntary\" } },\n"
    "    { \"name\": \"gusto\", \"topic\": \"hr.gusto\", \"source\": \"/hr/gusto\",\n"
    "      \"when\": \"/event_type == \\\"employee.terminated\\\" && /test != true\",\n"
    "      \"fields\": { \"id\": \"/uuid\", \"employee_id\": \"/entity_uuid\" } }\n"
    "  ] } }\n";

static char		*fuzz_topics[] = { "hr.leavers", "hr.workday", "hr.gusto" };
static struct config_target fuzz_targets[1];
static struct config	 fuzz_cfg;
static struct ingest	*fuzz_ingest;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char		 dir[] = "/tmp/deprov-fuzz-ingest.XXXXXX", *path;
	struct diags	*d;
	FILE		*f;

	fuzz_quiet();
	if (mkdtemp(dir) == NULL || asprintf(&path, "%s/deprovd.json",
	    dir) < 0 || (f = fopen(path, "w")) == NULL)
		abort();
	fputs(fuzz_ingest_config, f);
	fclose(f);
	fuzz_targets[0].name = "okta";
	fuzz_targets[0].kind = "okta";
	fuzz_cfg.path = path;
	fuzz_cfg.kafka.topics = fuzz_topics;
	fuzz_cfg.kafka.ntopics = sizeof fuzz_topics / sizeof fuzz_topics[0];
	fuzz_cfg.targets = fuzz_targets;
	fuzz_cfg.ntargets = 1;
	d = diags_new();
	fuzz_ingest = ingest_new(&fuzz_cfg, NULL, d);
	if (fuzz_ingest == NULL || diags_count(d) > 0) {
		diags_print(d, stderr);
		abort();
	}
	diags_free(d);
	/* Read once: ingest keeps what it needs. */
	unlink(path);
	rmdir(dir);
	if (ingest_routes(fuzz_ingest, NULL) != 0 || fuzz_hook_handler == NULL)
		abort();
	return 0;
}

/* The Okta hook: a POST with these headers and body. */
static void
fuzz_ingest_hook(const struct fuzz_headers *h, const char *body, size_t len)
{
	struct evhttp_request	*req;
	size_t			 i;

	if ((req = evhttp_request_new(NULL, NULL)) == NULL)
		abort();
	req->type = EVHTTP_REQ_POST;
	for (i = 0; i < h->n; i++)
		evhttp_add_header(evhttp_request_get_input_headers(req),
		    h->name[i], h->value[i]);
	evbuffer_add(evhttp_request_get_input_buffer(req), body, len);
	fuzz_hook_code = 0;
	fuzz_hook_handler(req, "/v1/hooks/okta", "", NULL, fuzz_hook_arg);
	FUZZ_CHECK(fuzz_hook_code != 0, "the hook did not answer");
	evhttp_request_free(req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in		 in = { data, size };
	struct fuzz_headers	 h;
	struct kafka_msg	 m;
	char			*topic, *lines[FUZZ_HEADERS_MAX], *eq;
	char			 reason[512];
	size_t			 nlines = 0, i, len;
	enum kafka_verdict	 v;

	memset(&h, 0, sizeof h);
	topic = fuzz_line(&in, NULL);
	while (in.n > 0 && nlines < FUZZ_HEADERS_MAX) {
		lines[nlines] = fuzz_line(&in, &len);
		if (*lines[nlines] == '\0') {
			free(lines[nlines]);
			break;
		}
		eq = strchr(lines[nlines], '=');
		h.name[h.n] = lines[nlines];
		h.value[h.n] = eq != NULL ? eq + 1 : "";
		if (eq != NULL)
			*eq = '\0';
		/* A value may hold a NUL: its length is the line's. */
		h.len[h.n] = eq != NULL ? len - (size_t)(eq + 1 -
		    lines[nlines]) : 0;
		h.n++;
		nlines++;
	}
	if (strcmp(topic, "@hook") == 0)
		fuzz_ingest_hook(&h, (const char *)in.p, in.n);
	else {
		memset(&m, 0, sizeof m);
		m.topic = topic;
		m.value = in.p;
		m.len = in.n;
		m.headers = h.n > 0 ? &h : NULL;
		reason[0] = '\0';
		v = ingest_kafka(&m, reason, sizeof reason, fuzz_ingest);
		FUZZ_CHECK(v == KAFKA_DONE || v == KAFKA_DEAD || v == KAFKA_RETRY,
		    "verdict %d", (int)v);
		FUZZ_CHECK(v == KAFKA_DONE || reason[0] != '\0',
		    "a dead letter or retry without a reason");
	}
	for (i = 0; i < nlines; i++)
		free(lines[i]);
	free(topic);
	return 0;
}
