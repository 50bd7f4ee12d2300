/*
 * connector_resp: answers as a vendor would give them, for the connectors'
 * unit tests (connector_resp.c). The protocol tests link it alone; the step
 * tests get it with the fake engine (connector_fixture.h).
 */
#ifndef DEPROV_CONNECTOR_RESP_H
#define DEPROV_CONNECTOR_RESP_H

#include "deprov/http.h"

/* A response with status and body (not copied: body must outlive it). */
struct http_response	 resp_make(long status, const char *body);

#endif
