/*
 * Unit tests for ingest: what a Kafka message from outside becomes (a case,
 * ignored, or a dead letter with its reason), with a real engine behind it.
 * The messages here are the ones a producer should never be able to crash
 * or fool the consumer with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <librdkafka/rdkafka.h>

#include "deprov/diag.h"
#include "deprov/ingest.h"
#include "deprov/kafka.h"

#include "engine_fixture.h"

static char *topics[] = { "hr.leavers", "hr.workday" };

/* The fixture's engine and an ingest for Okta events and one mapping. */
struct ingest_fx {
	struct fixture	*fx;
	struct ingest	*in;
	char		*path;
};

static int
ingest_setup(void **state)
{
	struct ingest_fx	*t = calloc(1, sizeof *t);
	struct diags		*d = diags_new();
	FILE			*f;
	void			*fx;

	assert_non_null(t);
	assert_int_equal(setup(&fx), 0);
	t->fx = fx;
	assert_true(asprintf(&t->path, "%s/deprovd.json", t->fx->dir) > 0);
	assert_non_null(f = fopen(t->path, "w"));
	fprintf(f, "{ \"ingest\": { \"okta\": { \"source\": \"/idp/okta\" },\n"
	    "  \"mappings\": [ { \"name\": \"workday\", \"topic\": "
	    "\"hr.workday\", \"when\": \"/Terminated == true\",\n"
	    "    \"fields\": { \"id\": \"/Event_ID\", \"employee_id\": "
	    "\"/Worker_ID\", \"email\": \"/Email\", \"reason\": "
	    "\"/Reason\" } } ] } }\n");
	fclose(f);
	t->fx->cfg.path = t->path;
	t->fx->cfg.kafka.topics = topics;
	t->fx->cfg.kafka.ntopics = 2;
	t->in = ingest_new(&t->fx->cfg, t->fx->eng, d);
	assert_non_null(t->in);
	if (diags_count(d) > 0)
		diags_print(d, stderr);
	assert_int_equal(diags_count(d), 0);
	diags_free(d);
	*state = t;
	return 0;
}

static int
ingest_teardown(void **state)
{
	struct ingest_fx	*t = *state;
	void			*fx = t->fx;

	ingest_free(t->in);
	teardown(&fx);
	free(t->path);
	free(t);
	return 0;
}

/* Hand value (len bytes) to ingest as a message of topic; the verdict. */
static enum kafka_verdict
deliver_to(struct ingest_fx *t, const char *topic, const void *headers,
    const char *value, size_t len, char *reason, size_t reasonlen)
{
	static int64_t		offset;
	struct kafka_msg	m;

	memset(&m, 0, sizeof m);
	m.topic = topic;
	m.headers = headers;
	m.offset = offset++;
	m.value = value;
	m.len = len;
	reason[0] = '\0';
	return ingest_kafka(&m, reason, reasonlen, t->in);
}

static enum kafka_verdict
deliver(struct ingest_fx *t, const char *value, size_t len, char *reason,
    size_t reasonlen)
{
	return deliver_to(t, "hr.leavers", NULL, value, len, reason, reasonlen);
}

/* A dead letter whose reason says why. */
static void
expect_dead(struct ingest_fx *t, const char *value, size_t len,
    const char *why)
{
	char reason[512];

	if (deliver(t, value, len, reason, sizeof reason) != KAFKA_DEAD)
		fail_msg("not a dead letter: %.*s", (int)len, value);
	if (strstr(reason, why) == NULL)
		fail_msg("reason \"%s\" does not say \"%s\"", reason, why);
}

static void
expect_dead_str(struct ingest_fx *t, const char *value, const char *why)
{
	expect_dead(t, value, strlen(value), why);
}

/*
 * A JSON null where a string belongs, anywhere in an Okta event, is a
 * malformed event, not a crash (json_object_get_string gives NULL for it).
 * The first one crashed the consumer on every start.
 */
static void
test_okta_nulls(void **state)
{
	struct ingest_fx	*t = *state;
	char			 reason[512];
	const char		*ok;

	expect_dead_str(t, "{\"eventType\":\"user.lifecycle.deactivate\","
	    "\"uuid\":\"p1\",\"target\":[{\"type\":null,\"alternateId\":"
	    "\"x@y\"}]}", "has no User target");
	expect_dead_str(t, "{\"eventType\":\"user.lifecycle.deactivate\","
	    "\"uuid\":\"p2\",\"target\":[null,{\"type\":7},{\"type\":\"User\","
	    "\"alternateId\":null,\"id\":null}]}", "has no User target");
	expect_dead_str(t, "{\"eventType\":\"user.lifecycle.deactivate\","
	    "\"uuid\":null,\"target\":[]}", "without uuid");
	expect_dead_str(t, "{\"eventType\":\"user.lifecycle.deactivate\","
	    "\"uuid\":\"p3\",\"target\":null}", "has no User target");
	expect_dead_str(t, "{\"eventType\":\"com.okta.event_hook\","
	    "\"data\":{\"events\":[null]}}", "without eventType");
	expect_dead_str(t, "{\"eventType\":\"com.okta.event_hook\","
	    "\"data\":null}", "without data.events");
	/* eventType null is not an Okta event at all. */
	expect_dead_str(t, "{\"eventType\":null,\"uuid\":\"p4\"}",
	    "not a CloudEvent");
	/* A null published time is no time, and the event is still used. */
	ok = "{\"eventType\":\"user.lifecycle.deactivate\",\"uuid\":\"p5\","
	    "\"published\":null,\"target\":[{\"type\":null},{\"type\":\"User\","
	    "\"alternateId\":\"jane@acme.example\",\"id\":\"00u1\"}]}";
	assert_int_equal(deliver(t, ok, strlen(ok), reason, sizeof reason),
	    KAFKA_DONE);
	assert_int_equal(ingest_stats(t->in)->cases, 1);
}

/* Nulls in a CloudEvent are absent members, never a crash. */
static void
test_cloudevent_nulls(void **state)
{
	struct ingest_fx *t = *state;

	expect_dead_str(t, "{\"specversion\":null,\"id\":\"1\"}",
	    "not a CloudEvent");
	expect_dead_str(t, "{\"specversion\":\"1.0\",\"id\":null,"
	    "\"source\":\"s\",\"type\":\"io.deprov.leaver\",\"data\":{}}",
	    "missing id");
	expect_dead_str(t, "{\"specversion\":\"1.0\",\"id\":\"1\","
	    "\"source\":\"s\",\"type\":\"io.deprov.leaver\",\"data\":null}",
	    "missing data");
	expect_dead_str(t, "{\"specversion\":\"1.0\",\"id\":\"1\","
	    "\"source\":\"s\",\"type\":\"io.deprov.leaver\",\"data\":"
	    "{\"email\":null,\"manager\":null,\"accounts\":null}}",
	    "no subject");
}

/*
 * A NUL cut strings short: "E0010\u0000X" opened a case for E0010, and an
 * Okta login "a\u0000b@x" was "a". Such messages are dead letters now, in
 * every format, and so are identifiers that are not valid UTF-8.
 */
static void
test_nul_and_utf8(void **state)
{
	static const char	 raw[] = "{\"eventType\":\"user.lifecycle."
	    "suspend\",\"uuid\":\"n5\",\"x\":\"\0\"}";
	struct ingest_fx	*t = *state;
	rd_kafka_headers_t	*h;
	char			 reason[512];
	const char		*v;

	expect_dead_str(t, "{\"specversion\":\"1.0\",\"id\":\"n1\","
	    "\"source\":\"/hr\",\"type\":\"io.deprov.leaver\",\"subject\":"
	    "\"E0010\\u0000X\",\"data\":{}}", "NUL character");
	expect_dead_str(t, "{\"eventType\":\"user.lifecycle.deactivate\","
	    "\"uuid\":\"n2\",\"target\":[{\"type\":\"User\",\"alternateId\":"
	    "\"a\\u0000b@x\"}]}", "NUL character");
	expect_dead_str(t, "{\"eventType\":\"user.lifecycle.deactivate\","
	    "\"uuid\":\"n3\",\"target\":[{\"type\":\"User\",\"alternateId\":"
	    "\"a\xc3(b@x\"}]}", "target alternateId is not valid UTF-8");
	expect_dead_str(t, "{\"eventType\":\"user.lifecycle.deactivate\","
	    "\"uuid\":\"n4\",\"target\":[{\"type\":\"User\",\"alternateId\":"
	    "\"ab@x\",\"id\":\"00u\xff\"}]}", "target id is not valid UTF-8");
	expect_dead_str(t, "{\"eventType\":\"com.okta.event_hook\",\"data\":"
	    "{\"events\":[{\"eventType\\u0000\":1}]}}", "NUL character");
	/* A raw NUL byte in the value. */
	expect_dead(t, raw, sizeof raw - 1, "NUL byte");
	/* Through a mapping. */
	v = "{\"Event_ID\":\"w1\",\"Terminated\":true,\"Worker_ID\":"
	    "\"E0010\\u0000X\"}";
	assert_int_equal(deliver_to(t, "hr.workday", NULL, v, strlen(v),
	    reason, sizeof reason), KAFKA_DEAD);
	assert_non_null(strstr(reason, "NUL character"));
	v = "{\"Event_ID\":\"w2\",\"Terminated\":true,\"Worker_ID\":\"E1\","
	    "\"Email\":\"e\xe0\x80\x80@x\"}";
	assert_int_equal(deliver_to(t, "hr.workday", NULL, v, strlen(v),
	    reason, sizeof reason), KAFKA_DEAD);
	assert_string_equal(reason, "mapping workday: /Email is not valid "
	    "UTF-8");
	/* A free-text field needs no UTF-8, and a good message still opens. */
	v = "{\"Event_ID\":\"w3\",\"Terminated\":true,\"Worker_ID\":\"E3\","
	    "\"Reason\":\"caf\xe9\"}";
	assert_int_equal(deliver_to(t, "hr.workday", NULL, v, strlen(v),
	    reason, sizeof reason), KAFKA_DONE);
	/* A binary-mode CloudEvent with a NUL in a ce_ header. */
	h = rd_kafka_headers_new(8);
	rd_kafka_header_add(h, "ce_specversion", -1, "1.0", -1);
	rd_kafka_header_add(h, "ce_id", -1, "b1", -1);
	rd_kafka_header_add(h, "ce_source", -1, "/hr", -1);
	rd_kafka_header_add(h, "ce_type", -1, "io.deprov.leaver", -1);
	rd_kafka_header_add(h, "ce_subject", -1, "E0010\0X", 7);
	v = "{\"employee_id\":\"E0010\"}";
	assert_int_equal(deliver_to(t, "hr.leavers", h, v, strlen(v), reason,
	    sizeof reason), KAFKA_DEAD);
	assert_non_null(strstr(reason, "NUL character"));
	rd_kafka_headers_destroy(h);
	assert_int_equal(ingest_stats(t->in)->cases, 1);
}

/*
 * A mapping's condition is POINTER == VALUE (or !=) joined by &&: a literal
 * with anything after its value is refused, not read up to the value.
 */
static void
test_conditions(void **state)
{
	json_object	*doc = json_tokener_parse("{\"Terminated\":true,"
			    "\"X\":null,\"N\":12}");
	char		 err[256];

	(void)state;
	assert_non_null(doc);
	assert_int_equal(ingest_condition("/Terminated == true", doc, err,
	    sizeof err), 1);
	assert_int_equal(ingest_condition("/Terminated == true && /N != 12",
	    doc, err, sizeof err), 0);
	assert_int_equal(ingest_condition(" /X == null ", doc, err, sizeof err),
	    1);
	assert_int_equal(ingest_condition("/N == 12 ", doc, err, sizeof err), 1);
	assert_int_equal(ingest_condition("/Terminated == true || /X == 1", doc,
	    err, sizeof err), -1);
	assert_non_null(strstr(err, "not one JSON value"));
	assert_int_equal(ingest_condition("/X == nullx", doc, err, sizeof err),
	    -1);
	assert_int_equal(ingest_condition("/X == ", doc, err, sizeof err), -1);
	assert_int_equal(ingest_condition("/N == 12 13", NULL, err, sizeof err),
	    -1);
	/* a comment after the value ran the tokener past the string's end */
	assert_int_equal(ingest_condition("/X != \"yes\"//", NULL, err,
	    sizeof err), -1);
	assert_int_equal(ingest_condition("/X != \"yes\" /* c */", NULL, err,
	    sizeof err), -1);
	assert_int_equal(ingest_condition("/X == \"yes\"\t", doc, err,
	    sizeof err), 0);
	json_object_put(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conditions),
		cmocka_unit_test_setup_teardown(test_okta_nulls, ingest_setup,
		    ingest_teardown),
		cmocka_unit_test_setup_teardown(test_cloudevent_nulls,
		    ingest_setup, ingest_teardown),
		cmocka_unit_test_setup_teardown(test_nul_and_utf8,
		    ingest_setup, ingest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
