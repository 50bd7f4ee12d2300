/*
 * connector: the table of connector kinds. A target's "kind" in the
 * configuration names one of these; adding a kind (scim, okta, graph,
 * google) is one line here plus its src/connectors/<kind>.c.
 */
#include <stddef.h>
#include <string.h>

#include "deprov/connector.h"

static const struct connector *const connector_table[] = {
	&connector_salesforce,
	&connector_graph,
	&connector_google,
	&connector_scim,
	&connector_okta,
};

#define CONNECTOR_EXTRA_MAX	8

/* Connectors registered at run time (tests' fakes); looked up first. */
static const struct connector *connector_extra[CONNECTOR_EXTRA_MAX];
static size_t connector_nextra;

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

/* The connector for a kind, or NULL when there is none. */
const struct connector *
connector_find(const char *kind)
{
	size_t	i;

	if (kind == NULL)
		return NULL;
	for (i = 0; i < connector_nextra; i++)
		if (strcmp(connector_extra[i]->kind, kind) == 0)
			return connector_extra[i];
	for (i = 0; i < sizeof connector_table / sizeof connector_table[0]; i++) {
		if (strcmp(connector_table[i]->kind, kind) == 0)
			return connector_table[i];
	}
	return NULL;
}
