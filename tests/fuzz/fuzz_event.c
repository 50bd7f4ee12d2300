/*
 * fuzz_event: event_decode, the structured CloudEvent decoder every Kafka
 * message in structured mode goes through (and binary mode after its
 * headers are folded in). The input is the message value. A decoded event
 * must keep the decoder's promises: id, source, type and subject key set
 * and non-empty, a known type, at least one subject identifier, every
 * identifier in valid UTF-8 without NUL; and its subject must survive the
 * store's round trip (subject_to_json, subject_from_json).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "deprov/event.h"
#include "deprov/jsonc.h"

#include "fuzz.h"

/* s is absent, or a non-empty identifier in valid UTF-8. */
static void
fuzz_event_id(const char *name, const char *s)
{
	if (s == NULL)
		return;
	FUZZ_CHECK(*s != '\0', "%s is empty", name);
	FUZZ_CHECK(jsonc_utf8_valid(s, strlen(s)), "%s is not UTF-8", name);
}

static int
fuzz_event_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event	 ev;
	struct subject	 back;
	json_object	*o;
	char		 err[256];

	err[0] = '\0';
	if (event_decode((const char *)data, size, &ev, err, sizeof err) != 0) {
		FUZZ_CHECK(err[0] != '\0', "refused without a reason");
		FUZZ_CHECK(ev.id == NULL && ev.subject_key == NULL,
		    "a refused event was not cleared");
		return 0;
	}
	FUZZ_CHECK(ev.id != NULL && ev.source != NULL && ev.type != NULL &&
	    ev.subject_key != NULL, "an accepted event lacks id, source, "
	    "type or subject key");
	FUZZ_CHECK(event_type_known(ev.type), "unknown type \"%s\"", ev.type);
	FUZZ_CHECK(ev.subject.employee_id != NULL || ev.subject.email != NULL ||
	    ev.subject.username != NULL, "no subject identifier");
	fuzz_event_id("id", ev.id);
	fuzz_event_id("source", ev.source);
	fuzz_event_id("subject", ev.subject_key);
	fuzz_event_id("employee_id", ev.subject.employee_id);
	fuzz_event_id("email", ev.subject.email);
	fuzz_event_id("username", ev.subject.username);
	fuzz_event_id("manager.employee_id", ev.subject.manager_employee_id);
	fuzz_event_id("manager.email", ev.subject.manager_email);
	FUZZ_CHECK(ev.time != (time_t)-1 && ev.effective != (time_t)-1,
	    "a time of -1 was taken");
	if (ev.termination_kind != NULL)
		(void)strlen(ev.termination_kind);
	if (ev.reason != NULL)
		(void)strlen(ev.reason);

	/* What the store keeps comes back the same. */
	FUZZ_CHECK((o = subject_to_json(&ev.subject)) != NULL, "subject_to_json");
	FUZZ_CHECK(subject_from_json(o, &back) == 0, "a stored subject was "
	    "refused: %s", json_object_to_json_string(o));
	FUZZ_CHECK(fuzz_event_same(back.employee_id, ev.subject.employee_id) &&
	    fuzz_event_same(back.email, ev.subject.email) &&
	    fuzz_event_same(back.username, ev.subject.username) &&
	    fuzz_event_same(back.manager_employee_id,
	    ev.subject.manager_employee_id) &&
	    fuzz_event_same(back.manager_email, ev.subject.manager_email),
	    "the subject changed in the store's round trip");
	subject_clear(&back);
	json_object_put(o);
	event_clear(&ev);
	return 0;
}
