/*
 * sla: deadline timers and breach alerts. From the engine's events it keeps
 * one evtimer per open case, armed for the case's next unmet deadline: the
 * freeze deadline until the case is contained, the complete deadline until
 * it is completed or cancelled. When a timer fires before its goal is
 * reached, that is a breach at that moment: it is counted (metrics), logged,
 * recorded in the case's timeline (kind "sla", detail starting with the
 * kind), passed to the alert hook (audit) and POSTed to every configured
 * webhook (generic JSON or a Slack incoming-webhook payload), retried with
 * full-jitter backoff on 5xx, 429 and transport errors. Nothing blocks.
 *
 * After a restart resumed cases are re-armed; a deadline already past fires
 * at once, unless the timeline shows its breach was already recorded, so a
 * breach is alerted once. Escalated cases keep their timers while this
 * process runs, but are not resumed after a restart.
 */
#ifndef DEPROV_SLA_H
#define DEPROV_SLA_H

#include <stddef.h>
#include <stdint.h>

#include "deprov/config.h"

struct event_base;
struct engine;
struct http;
struct metrics;
struct store;
struct sla;

/* A breach, as told to the alert hook. Strings are valid during the call. */
struct sla_alert {
	long long	 case_id;
	const char	*subject_key;
	const char	*runbook;
	const char	*kind;		/* "freeze" or "complete" */
	const char	*state;		/* the case's state at the breach */
	int64_t		 deadline_ms;
	int64_t		 breached_at_ms;
	/* The case on the dashboard (api.public_url + "/#case=N"), or NULL. */
	const char	*dashboard_url;
	const char	*detail_json;	/* a JSON object describing it, no secrets */
};

typedef void (*sla_alert_hook)(const struct sla_alert *, void *arg);

/*
 * Observe the engine (call after engine_new, before engine_resume). metrics
 * may be NULL. alerts is kept by pointer and must outlive the sla.
 * public_url (api.public_url, kept by pointer too; NULL when not set) makes
 * the alerts' links to the dashboard absolute; without it they carry none.
 */
struct sla	*sla_new(struct event_base *, struct engine *, struct store *,
		    struct http *, const struct config_alerts *,
		    const char *public_url, struct metrics *, char *err,
		    size_t errlen);
/* Cancels timers and deliveries in flight (their alerts are dropped). */
void		 sla_free(struct sla *);
/* Called once per breach, after it is recorded (e.g. audit_append). */
void		 sla_set_alert_hook(struct sla *, sla_alert_hook, void *arg);
/*
 * A reload: breaches from now on alert cfg's webhooks with its retry
 * settings (the sla holds a reference); deliveries under way finish with
 * the webhook they started with.
 */
void		 sla_set_alerts(struct sla *, const struct config *cfg);

/* Cases with a deadline timer armed; deliveries not finished. */
size_t		 sla_armed(const struct sla *);
size_t		 sla_pending_deliveries(const struct sla *);

/*
 * The webhook bodies for a breach (exposed for tests), malloc'd JSON text.
 * format is "generic" or "slack". Generic: "dashboard_url" is the absolute
 * link, null without one ("dashboard_path" is only the fragment's path);
 * Slack: the link, or a line saying there is none and why.
 */
char		*sla_payload(const char *format, const struct sla_alert *);

/* The "alerts" section's settings, read by config_load. */
extern const struct config_section sla_settings;

#endif
