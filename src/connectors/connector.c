/*
 * connector: the table of connector kinds and what the core asks of it. A
 * target's "kind" in the configuration names one of these; the core
 * (configuration and runbook loading, the engine, the targets) knows a kind
 * only through its descriptor. Adding a kind is one line in
 * CONNECTOR_KINDS plus its own files, src/connectors/<kind>.c defining
 * connector_<kind> (docs/ARCHITECTURE.md, "Adding a target kind"). Here too:
 * running a step (the kind's skips first), the generic half of checking a
 * target's options (its keys), and the irreversible-delete rule.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "deprov/config.h"
#include "deprov/connector.h"
#include "deprov/diag.h"
#include "deprov/log.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

#include "common.h"

/*
 * The kinds, one line each, in the order messages list them; X(k) stands
 * for the descriptor connector_k, defined in src/connectors/k.c.
 */
#define CONNECTOR_KINDS(X)	\
	X(salesforce)		\
	X(scim)			\
	X(okta)			\
	X(graph)		\
	X(google)		\
	/* one line per kind, above */

#define CONNECTOR_EXTERN(k)	extern const struct connector connector_##k;
#define CONNECTOR_ENTRY(k)	&connector_##k,

CONNECTOR_KINDS(CONNECTOR_EXTERN)

static const struct connector *const connector_table[] = {
	CONNECTOR_KINDS(CONNECTOR_ENTRY)
};

#define CONNECTOR_NKINDS	(sizeof connector_table / sizeof connector_table[0])
#define CONNECTOR_EXTRA_MAX	8
#define CONNECTOR_LIST_MAX	512	/* "preset, patch_style, ..." */

/* Connectors registered at run time (tests' fakes); looked up first. */
static const struct connector *connector_extra[CONNECTOR_EXTRA_MAX];
static size_t connector_nextra;

static int	connector_has_key(const struct connector *, const char *);

int
connector_register(const struct connector *c)
{
	size_t i;

	for (i = 0; i < connector_nextra; i++) {
		if (strcmp(connector_extra[i]->kind, c->kind) == 0) {
			connector_extra[i] = c;
			return 0;
		}
	}
	if (connector_nextra == CONNECTOR_EXTRA_MAX)
		return -1;
	connector_extra[connector_nextra++] = c;
	return 0;
}

const struct connector *
connector_find(const char *kind)
{
	size_t	i;

	if (kind == NULL)
		return NULL;
	for (i = 0; i < connector_nextra; i++)
		if (strcmp(connector_extra[i]->kind, kind) == 0)
			return connector_extra[i];
	for (i = 0; i < CONNECTOR_NKINDS; i++) {
		if (strcmp(connector_table[i]->kind, kind) == 0)
			return connector_table[i];
	}
	return NULL;
}

void
connector_kinds(char *out, size_t outlen)
{
	size_t	i, off = 0;
	int	n;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < CONNECTOR_NKINDS && off < outlen; i++) {
		n = snprintf(out + off, outlen - off, "%s%s", i > 0 ? ", " : "",
		    connector_table[i]->kind);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

void
connector_run(const struct connector *c, struct step_ctx *ctx)
{
	enum step_kind	 kind = step_ctx_kind(ctx);
	const char	*why = NULL;

	if ((int)kind >= 0 && kind < STEP_KIND_COUNT)
		why = c->skips[kind];
	if (why == NULL) {
		c->run(ctx);
		return;
	}
	log_debug(c->kind, "%s: case %lld %s: skipped: %s",
	    target_name(step_ctx_target(ctx)), step_ctx_case_id(ctx),
	    step_kind_name(kind), why);
	step_ctx_done(ctx, STEP_OUT_SKIPPED, why);
}

/* 1 when key is one of c's option keys. */
static int
connector_has_key(const struct connector *c, const char *key)
{
	size_t	i;

	for (i = 0; c->options != NULL && c->options[i] != NULL; i++)
		if (strcmp(c->options[i], key) == 0)
			return 1;
	return 0;
}

void
connector_check_options(const struct connector *c, json_object *options,
    struct connector_check *chk)
{
	char		 keys[CONNECTOR_LIST_MAX];
	const char	*near;
	size_t		 i, off = 0;
	int	 n;

	if (c == NULL || options == NULL)
		return;
	if (!json_object_is_type(options, json_type_object)) {
		conn_check(chk, options, NULL, "options: expected an object");
		return;
	}
	keys[0] = '\0';
	for (i = 0; c->options != NULL && c->options[i] != NULL &&
	    off < sizeof keys; i++) {
		n = snprintf(keys + off, sizeof keys - off, "%s%s",
		    i > 0 ? ", " : "", c->options[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	json_object_object_foreach(options, key, val) {
		(void)val;
		if (connector_has_key(c, key))
			continue;
		if ((near = diags_suggest(key, c->options)) != NULL)
			conn_check(chk, options, key, "options: unknown key "
			    "\"%s\" (did you mean \"%s\"?)", key, near);
		else if (keys[0] == '\0')
			conn_check(chk, options, key, "options: unknown key "
			    "\"%s\" (kind %s takes no options)", key, c->kind);
		else
			conn_check(chk, options, key, "options: unknown key "
			    "\"%s\" (kind %s takes %s)", key, c->kind, keys);
	}
	if (c->check_options != NULL)
		c->check_options(chk, options);
}

const char *
connector_irreversible(const struct connector *c, json_object *options)
{
	if (c == NULL || c->irreversible == NULL)
		return NULL;
	return c->irreversible(options);
}

const char *
connector_delete_refused(const struct config_target *t,
    const struct runbook_step *st)
{
	if (t == NULL || st == NULL || st->kind != STEP_DELETE ||
	    !t->irreversible_delete || st->irreversible_ok)
		return NULL;
	return t->irreversible_why != NULL ? t->irreversible_why :
	    "the account and its data cannot be restored";
}
