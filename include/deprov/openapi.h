/*
 * openapi: the admin API's description (docs/openapi.yaml, OpenAPI 3.1),
 * compiled in as JSON and served at GET /openapi.json without a token.
 */
#ifndef DEPROV_OPENAPI_H
#define DEPROV_OPENAPI_H

struct api;

/* Register GET /openapi.json on api. 0 or -1 (route table full). */
int	openapi_route(struct api *);

#endif
