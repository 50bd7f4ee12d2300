/*
 * openapi: GET /openapi.json, the admin API's description. docs/openapi.yaml
 * is the source; the build converts it to JSON (cmake/yaml2json.py) and
 * compiles it in (cmake/embed.cmake), so a daemon always serves the
 * description of its own build and needs no file at run time. The route is
 * public, like /metrics and the dashboard page: the description holds no
 * secret (it is in the source tree), and client generators and testers
 * fetch it before they have a token.
 */
#include <stddef.h>

#include <event2/http.h>

#include "deprov/api.h"
#include "deprov/openapi.h"

/* Written at build time from docs/openapi.yaml; ends with a NUL not served. */
extern const unsigned char	openapi_json[];
extern const size_t		openapi_json_len;

static void
openapi_page(struct evhttp_request *req, const char *path, const char *rest,
    const struct api_caller *who, void *arg)
{
	api_reply(req, 200, "application/json", openapi_json,
	    openapi_json_len - 1);
}

int
openapi_route(struct api *api)
{
	return api_route(api, "GET", "/openapi.json", 0, API_ROLE_PUBLIC,
	    openapi_page, NULL);
}
