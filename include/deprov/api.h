/*
 * api: the admin HTTP API (evhttp) of DESIGN.md section 7: health and
 * readiness, and the case views. Bearer tokens are configured only as
 * SHA-256 hashes and compared in constant time; roles are viewer <
 * responder < admin (401 without a valid token, 403 below the role).
 * Every error is JSON: {"error":"...","detail":"..."}.
 */
#ifndef DEPROV_API_H
#define DEPROV_API_H

#include <stddef.h>

#include "deprov/config.h"

struct event_base;
struct store;
struct engine;
struct kafka;
struct api;

struct api	*api_new(struct event_base *, const struct config *, struct store *,
		    struct engine *, struct kafka *, char *err, size_t errlen);
/* Stop accepting requests (shutdown). */
void		 api_stop(struct api *);
void		 api_free(struct api *);

/* Role of a presented token, or -1 (exposed for tests). */
int		 api_token_role(const struct config_api *, const char *token);

#endif
