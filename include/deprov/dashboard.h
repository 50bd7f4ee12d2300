/*
 * dashboard: the SLA dashboard (docs/DASHBOARD.md), on the admin API.
 * GET / serves one self-contained page (src/dashboard.html, compiled into
 * the binary) under a hash-based Content-Security-Policy; the page polls
 * GET /v1/summary (viewer) for who is still exposed (people a case must
 * contain who can still sign in somewhere: being frozen now, or their
 * freeze failed), the open cases by state (and those completed or
 * cancelled among the last 24 hours' cases), SLA compliance and
 * time-to-freeze over the last 24 hours, open cases with their deadlines
 * and per-target containment, and recently closed ones. Every figure is
 * read from the store's database with bounded queries.
 */
#ifndef DEPROV_DASHBOARD_H
#define DEPROV_DASHBOARD_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct api;
struct store;
struct dashboard;

/* The window SLA compliance and time-to-freeze are computed over. */
#define DASHBOARD_WINDOW_MS	(24LL * 3600 * 1000)
/* At most this many open cases (newest first) and recently closed ones. */
#define DASHBOARD_MAX_OPEN	200
#define DASHBOARD_MAX_RECENT	20
/* At most this many exposed cases listed (a failed freeze first). */
#define DASHBOARD_MAX_EXPOSED	100

/*
 * Register GET / and GET /v1/summary on api (NULL: no routes, for tests
 * of dashboard_summary). The dashboard must be freed
 * after the api (its routes point here) and before the store is closed (it
 * holds prepared statements on the store's database). NULL with err.
 */
struct dashboard	*dashboard_new(struct api *, struct store *, char *err,
			    size_t errlen);
void			 dashboard_free(struct dashboard *);

/* The /v1/summary object as of now_ms (exposed for tests); NULL with err. */
json_object		*dashboard_summary(struct dashboard *, int64_t now_ms,
			    char *err, size_t errlen);

#endif
