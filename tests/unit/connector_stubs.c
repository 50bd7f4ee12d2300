/*
 * connector_stubs: placeholder connectors for unit tests that link
 * src/connectors/connector.c (the kind table) but test one connector only,
 * so that they need not link every other connector and its dependencies.
 * A stub has no run function: calling it would be a test bug.
 */
#include <stddef.h>

#include "deprov/connector.h"

const struct connector connector_graph = { "graph", NULL, NULL };
const struct connector connector_google = { "google", NULL, NULL };
const struct connector connector_scim = { "scim", NULL, NULL };
const struct connector connector_okta = { "okta", NULL, NULL };
