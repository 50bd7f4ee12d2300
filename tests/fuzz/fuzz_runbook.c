/*
 * fuzz_runbook: runbook_load_file on a file holding the input, checked
 * against a configuration with a target of every kind (one of them with
 * irreversible deletes), as at start and by `deprovd --check`. A runbook
 * that loads must be usable: a name, known step kinds, every step
 * surviving the store's round trip (runbook_step_to_json and back), and
 * runbook_match and runbook_select answering for every event type and
 * target. Every diagnostic names the file and one of its lines.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "deprov/config.h"
#include "deprov/diag.h"
#include "deprov/event.h"
#include "deprov/log.h"
#include "deprov/runbook.h"

#include "fuzz.h"

static const char fuzz_runbook_config[] =
    "{ \"kafka\": { \"brokers\": \"127.0.0.1:9092\" },\n"
    "  \"targets\": {\n"
    "    \"salesforce-prod\": { \"kind\": \"salesforce\",\n"
    "      \"base_url\": \"https://acme.my.salesforce.com\" },\n"
    "    \"okta\": { \"kind\": \"okta\", \"base_url\": \"https://acme.okta.com\" },\n"
    "    \"slack\": { \"kind\": \"scim\", \"base_url\": \"https://api.slack.com/scim/v2\",\n"
    "      \"options\": { \"preset\": \"slack\" }, \"irreversible_delete\": true },\n"
    "    \"entra\": { \"kind\": \"graph\", \"base_url\": \"https://graph.microsoft.com\" },\n"
    "    \"workspace\": { \"kind\": \"google\",\n"
    "      \"base_url\": \"https://admin.googleapis.com\" } } }\n";

static const char *const fuzz_kinds[] = { NULL, "involuntary", "voluntary",
    "emergency" };

static char		*fuzz_runbook_path;
static struct config	*fuzz_cfg;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char	 dir[] = "/tmp/deprov-fuzz-runbook.XXXXXX";
	struct diags	*d = diags_new();
	char		*cpath;
	FILE		*f;

	fuzz_quiet();
	if (d == NULL || mkdtemp(dir) == NULL ||
	    asprintf(&fuzz_runbook_path, "%s/runbook.json", dir) < 0 ||
	    asprintf(&cpath, "%s/deprovd.json", dir) < 0 ||
	    (f = fopen(cpath, "w")) == NULL)
		abort();
	fputs(fuzz_runbook_config, f);
	fclose(f);
	fuzz_cfg = config_load(cpath, d);
	if (fuzz_cfg == NULL || diags_count(d) > 0) {
		diags_print(d, stderr);
		abort();
	}
	unlink(cpath);
	free(cpath);
	diags_free(d);
	return 0;
}

static int
fuzz_runbook_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* A step as stored comes back the same. */
static void
fuzz_runbook_step(const struct runbook_step *st)
{
	struct runbook_step	 back;
	json_object		*o;
	size_t			 i;

	FUZZ_CHECK((int)st->kind >= 0 && st->kind < STEP_KIND_COUNT &&
	    step_kind_name(st->kind) != NULL, "step kind %d", (int)st->kind);
	FUZZ_CHECK(step_kind_parse(step_kind_name(st->kind)) == (int)st->kind,
	    "step kind %d does not parse back", (int)st->kind);
	FUZZ_CHECK((o = runbook_step_to_json(st)) != NULL, "runbook_step_to_json");
	FUZZ_CHECK(runbook_step_from_json(o, &back) == 0, "a stored step was "
	    "refused: %s", json_object_to_json_string(o));
	FUZZ_CHECK(back.kind == st->kind && fuzz_runbook_same(back.to, st->to) &&
	    fuzz_runbook_same(back.fallback_owner, st->fallback_owner) &&
	    back.nobjects == st->nobjects &&
	    back.irreversible_ok == st->irreversible_ok &&
	    back.require_account == st->require_account,
	    "the step changed in the store's round trip: %s",
	    json_object_to_json_string(o));
	for (i = 0; i < st->nobjects; i++)
		FUZZ_CHECK(strcmp(back.objects[i], st->objects[i]) == 0,
		    "object %zu changed in the round trip", i);
	runbook_step_clear(&back);
	json_object_put(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct runbook		*rb;
	struct runbook_set	 set;
	struct diags		*d;
	const struct runbook_target *t;
	size_t			 i, j, k, plen = strlen(fuzz_runbook_path);
	int			 fd, maxline = 1, line;
	const char		*s;

	if ((fd = open(fuzz_runbook_path, O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) == -1 || (size > 0 && write(fd, data, size) !=
	    (ssize_t)size))
		abort();
	close(fd);
	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			maxline++;
	if ((d = diags_new()) == NULL)
		abort();
	rb = runbook_load_file(fuzz_runbook_path, fuzz_cfg, d);
	for (i = 0; i < diags_count(d); i++) {
		s = diags_get(d, i);
		FUZZ_CHECK(strncmp(s, fuzz_runbook_path, plen) == 0 &&
		    s[plen] == ':', "diagnostic \"%s\"", s);
		if (s[plen + 1] >= '0' && s[plen + 1] <= '9') {
			line = atoi(s + plen + 1);
			FUZZ_CHECK(line >= 1 && line <= maxline, "diagnostic on "
			    "line %d of %d: %s", line, maxline, s);
		}
	}
	FUZZ_CHECK(rb == NULL || diags_count(d) == 0, "a runbook with "
	    "diagnostics was loaded");
	if (rb != NULL) {
		FUZZ_CHECK(rb->name != NULL && *rb->name != '\0', "no name");
		FUZZ_CHECK(rb->ntargets > 0, "no targets");
		for (i = 0; i < rb->ntargets; i++)
			for (j = 0; j < rb->targets[i].nsteps; j++)
				fuzz_runbook_step(&rb->targets[i].steps[j]);
		set.v = &rb;
		set.n = 1;
		for (i = 0; event_types[i] != NULL; i++)
			for (k = 0; k < sizeof fuzz_kinds / sizeof fuzz_kinds[0];
			    k++)
				FUZZ_CHECK(runbook_match(&set, event_types[i],
				    fuzz_kinds[k]) == NULL ||
				    runbook_match(&set, event_types[i],
				    fuzz_kinds[k]) == rb, "runbook_match");
		for (i = 0; i < fuzz_cfg->ntargets; i++) {
			t = runbook_select(rb, fuzz_cfg->targets[i].name,
			    fuzz_cfg->targets[i].kind);
			FUZZ_CHECK(t == NULL || (t >= rb->targets &&
			    t < rb->targets + rb->ntargets), "runbook_select");
		}
		FUZZ_CHECK(runbook_find(&set, rb->name) == rb, "runbook_find");
		runbook_free(rb);
	}
	diags_free(d);
	return 0;
}
