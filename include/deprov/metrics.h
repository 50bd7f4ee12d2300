/*
 * metrics: a small Prometheus registry and deprovd's metrics on top of it.
 *
 * The registry holds families (counter, gauge, histogram) with a fixed set
 * of label names each; a series is created on first use of a label-value
 * tuple. metrics_registry_render writes text exposition format 0.0.4:
 * # HELP and # TYPE per family, escaped label values, histograms as
 * cumulative _bucket{le=...} series plus _sum and _count, families sorted by
 * name and series by label values, so the output is stable.
 *
 * struct metrics is deprovd's set: it observes the engine (cases by state,
 * time to freeze and to complete, steps and retries), reads the Kafka
 * consumer and every target when scraped, counts SLA breaches and alert
 * deliveries for the sla module, and serves GET /metrics on the admin API.
 * Label values are only configuration names (runbooks, targets, steps,
 * states): never subjects, emails or tokens.
 */
#ifndef DEPROV_METRICS_H
#define DEPROV_METRICS_H

#include <stddef.h>

struct api;
struct engine;
struct kafka;
struct store;

enum metrics_type {
	METRICS_COUNTER = 0,
	METRICS_GAUGE,
	METRICS_HISTOGRAM
};

struct metrics_registry;
struct metrics_family;

struct metrics_registry	*metrics_registry_new(void);
void			 metrics_registry_free(struct metrics_registry *);

/*
 * Add a family. labels is a NULL-terminated list of label names (NULL for
 * none). Histograms take nbuckets strictly increasing finite upper bounds
 * (+Inf is implicit). Returns NULL on a bad name, label, bucket list, a
 * duplicate name, or out of memory. The family lives as long as the registry.
 */
struct metrics_family	*metrics_family_new(struct metrics_registry *,
			    enum metrics_type, const char *name, const char *help,
			    const char *const *labels, const double *buckets,
			    size_t nbuckets);

/*
 * Update one series; values holds one label value per label name (may be
 * NULL for a family without labels). Each returns 0, or -1 for the wrong
 * family type, a NULL value, out of memory or too many series.
 */
int	metrics_counter_add(struct metrics_family *, const char *const *values,
	    double v);				/* v >= 0 */
/* Mirror a counter kept elsewhere (monotonic by its owner). */
int	metrics_counter_set(struct metrics_family *, const char *const *values,
	    double v);
int	metrics_gauge_set(struct metrics_family *, const char *const *values,
	    double v);
int	metrics_gauge_add(struct metrics_family *, const char *const *values,
	    double v);
int	metrics_histogram_observe(struct metrics_family *,
	    const char *const *values, double v);
/* Drop every series of the family (e.g. a gauge that is not known now). */
void	metrics_family_reset(struct metrics_family *);
/*
 * A series' value (histograms: its count), or -1 with *found 0 when the
 * series does not exist. For tests and for the sla module's bookkeeping.
 */
double	metrics_family_value(const struct metrics_family *,
	    const char *const *values, int *found);

/* The exposition text, NUL-terminated, malloc'd; NULL when out of memory. */
char	*metrics_registry_render(const struct metrics_registry *, size_t *len);

/* The text/plain content type of format 0.0.4. */
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* deprovd's metrics. */
struct metrics;

/*
 * Create the metrics and observe the engine. Call after engine_new and
 * before engine_resume (resumed cases are counted from their events); the
 * counts of terminal cases are read from the store here, in one query.
 */
struct metrics	*metrics_new(struct engine *, struct store *, char *err,
		    size_t errlen);
void		 metrics_free(struct metrics *);
/* The consumer to read when scraped (may be set later, or NULL). */
void		 metrics_set_kafka(struct metrics *, struct kafka *);
/* Add GET /metrics (public) to the admin API. 0 or -1. */
int		 metrics_route(struct metrics *, struct api *);
/* The current exposition text (refreshes the scraped values first). */
char		*metrics_render(struct metrics *, size_t *len);
struct metrics_registry *metrics_registry(struct metrics *);

/* For the sla module: a deadline was missed; kind is "freeze" or "complete". */
void		 metrics_sla_breach(struct metrics *, const char *runbook,
		    const char *kind);
/* For the sla module: one alert delivery ended ("delivered" or "failed"). */
void		 metrics_alert(struct metrics *, const char *webhook,
		    const char *outcome);
/* A configuration reload ended: ok (applied) or not (the old one stays). */
void		 metrics_reload(struct metrics *, int ok);

#endif
