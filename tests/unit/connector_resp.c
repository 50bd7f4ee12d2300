/*
 * connector_resp: answers as a vendor would give them (connector_resp.h).
 */
#include <stdint.h>
#include <string.h>

#include "deprov/http.h"

#include "connector_resp.h"

struct http_response
resp_make(long status, const char *body)
{
	struct http_response	r;

	memset(&r, 0, sizeof r);
	r.status = status;
	/* The readers never write to a body: the cast only drops const. */
	r.body = (char *)(uintptr_t)body;
	r.body_len = strlen(body);
	return r;
}
