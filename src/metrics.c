/*
 * metrics: a Prometheus registry (text exposition format 0.0.4) and
 * deprovd's metrics on it.
 *
 * The registry keeps its families sorted by name and each family's series
 * sorted by their label values, so that rendering is a walk in order and two
 * scrapes of the same state are byte-identical. A series is a tuple of label
 * values and either one value (counter, gauge) or per-bucket counts, a sum
 * and a count (histogram; buckets are kept non-cumulative and summed while
 * rendering). Families cap their series so a bug cannot grow them without
 * bound.
 *
 * struct metrics fills the registry: engine events keep the case, step and
 * latency families current as they happen; everything owned by another
 * module (Kafka counters and lag, per-target HTTP classes, in-flight calls,
 * queues, API usage, rate-limit tokens) is read when /metrics is scraped.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "deprov/api.h"
#include "deprov/clock.h"
#include "deprov/engine.h"
#include "deprov/kafka.h"
#include "deprov/log.h"
#include "deprov/metrics.h"
#include "deprov/store.h"
#include "deprov/target.h"

#define METRICS_MAX_LABELS	8
#define METRICS_MAX_SERIES	10000
#define METRICS_MAX_BUCKETS	64

struct metrics_series {
	char		**values;	/* one per label */
	double		  value;	/* counter, gauge */
	uint64_t	 *counts;	/* histogram: per bucket, +Inf last (not cumulative) */
	double		  sum;
	uint64_t	  count;
};

struct metrics_family {
	struct metrics_registry	 *reg;
	enum metrics_type	  type;
	char			 *name;
	char			 *help;
	char			**labels;
	size_t			  nlabels;
	double			 *bounds;	/* histogram upper bounds, without +Inf */
	size_t			  nbounds;
	struct metrics_series	**series;	/* sorted by values */
	size_t			  nseries;
	size_t			  cap;
	int			  full_logged;
};

struct metrics_registry {
	struct metrics_family	**fams;		/* sorted by name */
	size_t			  n;
};

/* A growable text buffer; failed stays set after the first allocation failure. */
struct metrics_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 failed;
};

/* deprovd's metrics. */


/* Cases whose freeze was observed before a retry sent them back to freezing. */
struct metrics_refrozen {
	long long	*ids;
	size_t		 n;
	size_t		 cap;
};

struct metrics {
	struct metrics_registry	*reg;
	struct engine		*engine;
	struct store		*store;
	struct kafka		*kafka;
	struct metrics_refrozen	 refrozen;

	struct metrics_family	*freeze_s;
	struct metrics_family	*complete_s;
	struct metrics_family	*steps;
	struct metrics_family	*retries;
	struct metrics_family	*cases;
	struct metrics_family	*opened;
	struct metrics_family	*breaches;
	struct metrics_family	*alerts;
	struct metrics_family	*reloads;
	struct metrics_family	*reloaded_at;
	struct metrics_family	*dead;
	struct metrics_family	*consumed;
	struct metrics_family	*assigned;
	struct metrics_family	*member;
	struct metrics_family	*lag;
	struct metrics_family	*running;
	struct metrics_family	*queued_steps;
	struct metrics_family	*http;
	struct metrics_family	*inflight;
	struct metrics_family	*queued;
	struct metrics_family	*usage;
	struct metrics_family	*tokens;
	struct metrics_family	*window;
	struct metrics_family	*circuit;
	struct metrics_family	*exposed;
	struct metrics_family	*exposed_at;
	struct metrics_family	*pg_up;		/* postgres backend only */
	struct metrics_family	*pg_backlog;
	struct metrics_family	*pg_writer;
	struct metrics_family	*pg_standbys;
	struct metrics_family	*refused;
};

static int	 metrics_name_ok(const char *, int);
static void	 metrics_series_free(struct metrics_series *, size_t);
static int	 metrics_series_cmp(const struct metrics_family *, char *const *,
		    const char *const *);
static struct metrics_series *metrics_series_get(struct metrics_family *,
		    const char *const *);
static void	 metrics_buf_add(struct metrics_buf *, const char *, size_t);
static void	 metrics_buf_printf(struct metrics_buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 metrics_buf_escaped(struct metrics_buf *, const char *, int);
static void	 metrics_fmt(double, char *, size_t);
static void	 metrics_render_family(struct metrics_buf *,
		    const struct metrics_family *);
static void	 metrics_render_labels(struct metrics_buf *,
		    const struct metrics_family *, const struct metrics_series *,
		    const char *);
static void	 metrics_on_event(const struct engine_event *, void *);
static void	 metrics_collect(struct metrics *);

/* Registry. */

/* Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names without ':' and "__". */
static int
metrics_name_ok(const char *s, int label)
{
	size_t i;

	if (s == NULL || *s == '\0')
		return 0;
	if (label && strncmp(s, "__", 2) == 0)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || (c == ':' && !label))
			continue;
		if (c >= '0' && c <= '9' && i > 0)
			continue;
		return 0;
	}
	return 1;
}

struct metrics_registry *
metrics_registry_new(void)
{
	return calloc(1, sizeof(struct metrics_registry));
}

static void
metrics_series_free(struct metrics_series *s, size_t nlabels)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->values != NULL) {
		for (i = 0; i < nlabels; i++)
			free(s->values[i]);
		free(s->values);
	}
	free(s->counts);
	free(s);
}

static void
metrics_family_free(struct metrics_family *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nseries; i++)
		metrics_series_free(f->series[i], f->nlabels);
	free(f->series);
	for (i = 0; i < f->nlabels; i++)
		free(f->labels[i]);
	free(f->labels);
	free(f->bounds);
	free(f->name);
	free(f->help);
	free(f);
}

void
metrics_registry_free(struct metrics_registry *reg)
{
	size_t i;

	if (reg == NULL)
		return;
	for (i = 0; i < reg->n; i++)
		metrics_family_free(reg->fams[i]);
	free(reg->fams);
	free(reg);
}

struct metrics_family *
metrics_family_new(struct metrics_registry *reg, enum metrics_type type,
    const char *name, const char *help, const char *const *labels,
    const double *buckets, size_t nbuckets)
{
	struct metrics_family	*f = NULL, **nf;
	size_t			 i, j, pos;

	if (reg == NULL || !metrics_name_ok(name, 0) || help == NULL ||
	    (type != METRICS_COUNTER && type != METRICS_GAUGE &&
	    type != METRICS_HISTOGRAM))
		return NULL;
	if (type == METRICS_HISTOGRAM && (buckets == NULL || nbuckets == 0 ||
	    nbuckets > METRICS_MAX_BUCKETS))
		return NULL;
	for (i = 0; i < nbuckets && type == METRICS_HISTOGRAM; i++) {
		if (!isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
			return NULL;
	}
	/* Sorted insertion point; duplicates are refused. */
	for (pos = 0; pos < reg->n; pos++) {
		int c = strcmp(reg->fams[pos]->name, name);

		if (c == 0)
			return NULL;
		if (c > 0)
			break;
	}
	if ((f = calloc(1, sizeof *f)) == NULL)
		return NULL;
	f->reg = reg;
	f->type = type;
	if ((f->name = strdup(name)) == NULL || (f->help = strdup(help)) == NULL)
		goto fail;
	for (i = 0; labels != NULL && labels[i] != NULL; i++) {
		if (!metrics_name_ok(labels[i], 1) || i >= METRICS_MAX_LABELS ||
		    (type == METRICS_HISTOGRAM && strcmp(labels[i], "le") == 0))
			goto fail;
		for (j = 0; j < i; j++)
			if (strcmp(labels[j], labels[i]) == 0)
				goto fail;
	}
	if (i > 0) {
		if ((f->labels = calloc(i, sizeof *f->labels)) == NULL)
			goto fail;
		for (j = 0; j < i; j++) {
			if ((f->labels[j] = strdup(labels[j])) == NULL)
				goto fail;
			f->nlabels++;
		}
	}
	if (type == METRICS_HISTOGRAM) {
		if ((f->bounds = calloc(nbuckets, sizeof *f->bounds)) == NULL)
			goto fail;
		memcpy(f->bounds, buckets, nbuckets * sizeof *f->bounds);
		f->nbounds = nbuckets;
	}
	if ((nf = realloc(reg->fams, (reg->n + 1) * sizeof *nf)) == NULL)
		goto fail;
	reg->fams = nf;
	memmove(&reg->fams[pos + 1], &reg->fams[pos],
	    (reg->n - pos) * sizeof *nf);
	reg->fams[pos] = f;
	reg->n++;
	return f;
fail:
	metrics_family_free(f);
	return NULL;
}

/* Order of label-value tuples: label by label, bytewise. */
static int
metrics_series_cmp(const struct metrics_family *f, char *const *a,
    const char *const *b)
{
	size_t	i;
	int	c;

	for (i = 0; i < f->nlabels; i++) {
		if ((c = strcmp(a[i], b[i])) != 0)
			return c;
	}
	return 0;
}

/* Binary search for values: the index found, or where it would go. */
static size_t
metrics_series_find(const struct metrics_family *f, const char *const *values,
    int *found)
{
	size_t	lo = 0, hi = f->nseries, mid;
	int	c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = metrics_series_cmp(f, f->series[mid]->values, values);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The series for values, created when new; NULL when it cannot be. */
static struct metrics_series *
metrics_series_get(struct metrics_family *f, const char *const *values)
{
	struct metrics_series	*s = NULL, **ns;
	size_t			 pos, i, cap;
	int			 found;

	for (i = 0; i < f->nlabels; i++) {
		if (values == NULL || values[i] == NULL)
			return NULL;
	}
	pos = metrics_series_find(f, values, &found);
	if (found)
		return f->series[pos];
	if (f->nseries >= METRICS_MAX_SERIES) {
		if (!f->full_logged)
			log_warn("metrics", "%s: more than %d series; new ones "
			    "are dropped", f->name, METRICS_MAX_SERIES);
		f->full_logged = 1;
		return NULL;
	}
	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	if (f->nlabels > 0) {
		if ((s->values = calloc(f->nlabels, sizeof *s->values)) == NULL)
			goto fail;
		for (i = 0; i < f->nlabels; i++) {
			if ((s->values[i] = strdup(values[i])) == NULL)
				goto fail;
		}
	}
	if (f->type == METRICS_HISTOGRAM &&
	    (s->counts = calloc(f->nbounds + 1, sizeof *s->counts)) == NULL)
		goto fail;
	if (f->nseries == f->cap) {
		cap = f->cap == 0 ? 8 : f->cap * 2;
		if ((ns = realloc(f->series, cap * sizeof *ns)) == NULL)
			goto fail;
		f->series = ns;
		f->cap = cap;
	}
	memmove(&f->series[pos + 1], &f->series[pos],
	    (f->nseries - pos) * sizeof *f->series);
	f->series[pos] = s;
	f->nseries++;
	return s;
fail:
	metrics_series_free(s, f->nlabels);
	return NULL;
}

int
metrics_counter_add(struct metrics_family *f, const char *const *values,
    double v)
{
	struct metrics_series *s;

	if (f == NULL || f->type != METRICS_COUNTER || !(v >= 0) ||
	    (s = metrics_series_get(f, values)) == NULL)
		return -1;
	s->value += v;
	return 0;
}

int
metrics_counter_set(struct metrics_family *f, const char *const *values,
    double v)
{
	struct metrics_series *s;

	if (f == NULL || f->type != METRICS_COUNTER || !(v >= 0) ||
	    (s = metrics_series_get(f, values)) == NULL)
		return -1;
	s->value = v;
	return 0;
}

int
metrics_gauge_set(struct metrics_family *f, const char *const *values, double v)
{
	struct metrics_series *s;

	if (f == NULL || f->type != METRICS_GAUGE ||
	    (s = metrics_series_get(f, values)) == NULL)
		return -1;
	s->value = v;
	return 0;
}

int
metrics_gauge_add(struct metrics_family *f, const char *const *values, double v)
{
	struct metrics_series *s;

	if (f == NULL || f->type != METRICS_GAUGE ||
	    (s = metrics_series_get(f, values)) == NULL)
		return -1;
	s->value += v;
	return 0;
}

int
metrics_histogram_observe(struct metrics_family *f, const char *const *values,
    double v)
{
	struct metrics_series	*s;
	size_t			 i;

	if (f == NULL || f->type != METRICS_HISTOGRAM || isnan(v) ||
	    (s = metrics_series_get(f, values)) == NULL)
		return -1;
	for (i = 0; i < f->nbounds && v > f->bounds[i]; i++)
		;
	s->counts[i]++;
	s->sum += v;
	s->count++;
	return 0;
}

void
metrics_family_reset(struct metrics_family *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nseries; i++)
		metrics_series_free(f->series[i], f->nlabels);
	f->nseries = 0;
}

double
metrics_family_value(const struct metrics_family *f, const char *const *values,
    int *found)
{
	const struct metrics_series	*s;
	size_t				 pos, i;
	int				 ok;

	*found = 0;
	if (f == NULL)
		return -1;
	for (i = 0; i < f->nlabels; i++) {
		if (values == NULL || values[i] == NULL)
			return -1;
	}
	pos = metrics_series_find(f, values, &ok);
	if (!ok)
		return -1;
	*found = 1;
	s = f->series[pos];
	return f->type == METRICS_HISTOGRAM ? (double)s->count : s->value;
}

/* Rendering. */

static void
metrics_buf_add(struct metrics_buf *b, const char *s, size_t n)
{
	char	*np;
	size_t	 cap;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap == 0 ? 4096 : b->cap;
		while (b->len + n + 1 > cap)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
{
	char	 tmp[512];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->failed = 1;
		return;
	}
	metrics_buf_add(b, tmp, (size_t)n);
}

/*
 * Escape for the exposition format: backslash and newline always, the
 * double quote too inside label values (quote = 1).
 */
static void
metrics_buf_escaped(struct metrics_buf *b, const char *s, int quote)
{
	const char *start = s;

	for (; *s != '\0'; s++) {
		const char *rep = NULL;

		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '\n')
			rep = "\\n";
		else if (*s == '"' && quote)
			rep = "\\\"";
		if (rep == NULL)
			continue;
		metrics_buf_add(b, start, (size_t)(s - start));
		metrics_buf_add(b, rep, strlen(rep));
		start = s + 1;
	}
	metrics_buf_add(b, start, (size_t)(s - start));
}

/*
 * A sample value as Prometheus writes it: integers without a fraction,
 * "+Inf", "-Inf", "NaN", else the shortest text that reads back the same.
 */
static void
metrics_fmt(double v, char *out, size_t outlen)
{
	if (isnan(v))
		snprintf(out, outlen, "NaN");
	else if (isinf(v))
		snprintf(out, outlen, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(out, outlen, "%.0f", v == 0 ? 0.0 : v);
	else {
		snprintf(out, outlen, "%.15g", v);
		if (strtod(out, NULL) != v)
			snprintf(out, outlen, "%.17g", v);
	}
}

/* {a="x",b="y"[,le="..."]}, or nothing without labels. */
static void
metrics_render_labels(struct metrics_buf *b, const struct metrics_family *f,
    const struct metrics_series *s, const char *le)
{
	size_t i;

	if (f->nlabels == 0 && le == NULL)
		return;
	metrics_buf_add(b, "{", 1);
	for (i = 0; i < f->nlabels; i++) {
		if (i > 0)
			metrics_buf_add(b, ",", 1);
		metrics_buf_printf(b, "%s=\"", f->labels[i]);
		metrics_buf_escaped(b, s->values[i], 1);
		metrics_buf_add(b, "\"", 1);
	}
	if (le != NULL)
		metrics_buf_printf(b, "%sle=\"%s\"", f->nlabels > 0 ? "," : "",
		    le);
	metrics_buf_add(b, "}", 1);
}

static void
metrics_render_family(struct metrics_buf *b, const struct metrics_family *f)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	const struct metrics_series	*s;
	char				 num[64], le[64];
	uint64_t			 cum;
	size_t				 i, j;

	metrics_buf_printf(b, "# HELP %s ", f->name);
	metrics_buf_escaped(b, f->help, 0);
	metrics_buf_printf(b, "\n# TYPE %s %s\n", f->name, types[f->type]);
	for (i = 0; i < f->nseries; i++) {
		s = f->series[i];
		if (f->type != METRICS_HISTOGRAM) {
			metrics_buf_add(b, f->name, strlen(f->name));
			metrics_render_labels(b, f, s, NULL);
			metrics_fmt(s->value, num, sizeof num);
			metrics_buf_printf(b, " %s\n", num);
			continue;
		}
		cum = 0;
		for (j = 0; j <= f->nbounds; j++) {
			cum += s->counts[j];
			if (j < f->nbounds)
				metrics_fmt(f->bounds[j], le, sizeof le);
			else
				snprintf(le, sizeof le, "+Inf");
			metrics_buf_printf(b, "%s_bucket", f->name);
			metrics_render_labels(b, f, s, le);
			metrics_buf_printf(b, " %llu\n", (unsigned long long)cum);
		}
		metrics_buf_printf(b, "%s_sum", f->name);
		metrics_render_labels(b, f, s, NULL);
		metrics_fmt(s->sum, num, sizeof num);
		metrics_buf_printf(b, " %s\n", num);
		metrics_buf_printf(b, "%s_count", f->name);
		metrics_render_labels(b, f, s, NULL);
		metrics_buf_printf(b, " %llu\n", (unsigned long long)s->count);
	}
}

char *
metrics_registry_render(const struct metrics_registry *reg, size_t *len)
{
	struct metrics_buf	b;
	size_t			i;

	memset(&b, 0, sizeof b);
	metrics_buf_add(&b, "", 0);
	for (i = 0; reg != NULL && i < reg->n; i++)
		metrics_render_family(&b, reg->fams[i]);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	if (len != NULL)
		*len = b.len;
	return b.p;
}

/* deprovd's metrics. */

static int
metrics_refrozen_has(struct metrics_refrozen *r, long long id, int remove)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (r->ids[i] != id)
			continue;
		if (remove)
			r->ids[i] = r->ids[--r->n];
		return 1;
	}
	return 0;
}

static void
metrics_refrozen_add(struct metrics_refrozen *r, long long id)
{
	long long	*n;
	size_t		 cap;

	if (metrics_refrozen_has(r, id, 0))
		return;
	if (r->n == r->cap) {
		cap = r->cap == 0 ? 16 : r->cap * 2;
		if ((n = realloc(r->ids, cap * sizeof *n)) == NULL)
			return;
		r->ids = n;
		r->cap = cap;
	}
	r->ids[r->n++] = id;
}

static int
metrics_case_row_cb(const struct store_case *row, void *arg)
{
	int64_t *start = arg;

	*start = row->effective_ms > row->created_ms ? row->effective_ms :
	    row->created_ms;
	return 0;
}

/*
 * When the case's SLA clock started: its creation, or its effective time
 * when that is later (a leaver announced ahead), as the deadlines count.
 */
static int64_t
metrics_case_start(struct metrics *m, const struct engine_event *ev)
{
	int64_t start = 0;

	if (store_case_get(m->store, ev->case_id, metrics_case_row_cb,
	    &start) != 0 || start <= 0)
		start = ev->created_ms;
	return start;
}

static void
metrics_on_event(const struct engine_event *ev, void *arg)
{
	struct metrics	*m = arg;
	const char	*rb = ev->runbook != NULL ? ev->runbook : "";
	const char	*step[2] = { ev->target, ev->step };
	const char	*done[3] = { ev->target, ev->step, ev->outcome };
	const char	*breach[2][2] = { { rb, "complete" }, { rb, "freeze" } };
	int64_t		 start;
	double		 secs;

	switch (ev->kind) {
	case ENGINE_EV_CASE_OPENED:
		metrics_counter_add(m->opened, &rb, 1);
		metrics_gauge_add(m->cases, &ev->state, 1);
		/* Present from the first case on, so rate() sees the first breach. */
		metrics_counter_add(m->breaches, breach[0], 0);
		metrics_counter_add(m->breaches, breach[1], 0);
		break;
	case ENGINE_EV_CASE_RESUMED:
		metrics_counter_add(m->opened, &rb, 0);
		metrics_gauge_add(m->cases, &ev->state, 1);
		metrics_counter_add(m->breaches, breach[0], 0);
		metrics_counter_add(m->breaches, breach[1], 0);
		/* A retried case that was contained before is back in freezing. */
		if (ev->frozen_ms != 0 && (ev->st == CASE_FREEZING ||
		    ev->st == CASE_RECEIVED || ev->st == CASE_SCHEDULED))
			metrics_refrozen_add(&m->refrozen, ev->case_id);
		break;
	case ENGINE_EV_CASE_STATE:
		if (ev->prev_state != NULL)
			metrics_gauge_add(m->cases, &ev->prev_state, -1);
		metrics_gauge_add(m->cases, &ev->state, 1);
		if (ev->prev_state != NULL && case_state_final(ev->prev_st) &&
		    ev->frozen_ms != 0)
			metrics_refrozen_add(&m->refrozen, ev->case_id);
		if (ev->st == CASE_CONTAINED) {
			if (metrics_refrozen_has(&m->refrozen, ev->case_id, 1))
				break;
			start = metrics_case_start(m, ev);
			secs = (double)((ev->frozen_ms > 0 ? ev->frozen_ms :
			    ev->ts_ms) - start) / 1000.0;
			metrics_histogram_observe(m->freeze_s, &rb,
			    secs > 0 ? secs : 0);
		} else if (ev->st == CASE_COMPLETED) {
			start = metrics_case_start(m, ev);
			secs = (double)(ev->ts_ms - start) / 1000.0;
			metrics_histogram_observe(m->complete_s, &rb,
			    secs > 0 ? secs : 0);
		}
		break;
	case ENGINE_EV_STEP_RETRY:
		if (ev->target != NULL && ev->step != NULL)
			metrics_counter_add(m->retries, step, 1);
		break;
	case ENGINE_EV_STEP_DONE:
		if (ev->target != NULL && ev->step != NULL &&
		    ev->outcome != NULL)
			metrics_counter_add(m->steps, done, 1);
		break;
	case ENGINE_EV_CASE_RETIRED:
		metrics_refrozen_has(&m->refrozen, ev->case_id, 1);
		break;
	case ENGINE_EV_CASE_CONTAINED:
		/* Contained late (by a deactivation): its time to freeze now. */
		start = metrics_case_start(m, ev);
		secs = (double)(ev->frozen_ms - start) / 1000.0;
		metrics_histogram_observe(m->freeze_s, &rb, secs > 0 ? secs : 0);
		break;
	case ENGINE_EV_REFUSED:
		if (ev->event_type != NULL)
			metrics_counter_add(m->refused, &ev->event_type, 1);
		break;
	case ENGINE_EV_STEP_STARTED:
		break;
	}
}

static int
metrics_ended_cb(const char *state, long long n, void *arg)
{
	struct metrics *m = arg;

	if (state != NULL)
		metrics_gauge_set(m->cases, &state, (double)n);
	return 0;
}

/*
 * Ended cases are not resumed: count them from the store (an escalated case
 * still running is resumed and counted then).
 */
static int
metrics_load_terminal(struct metrics *m, char *err, size_t errlen)
{
	if (store_count_ended(m->store, metrics_ended_cb, m) != 0) {
		snprintf(err, errlen, "metrics: %s", store_errmsg(m->store));
		return -1;
	}
	return 0;
}

struct metrics *
metrics_new(struct engine *engine, struct store *store, char *err,
    size_t errlen)
{
	static const double freeze_b[] = { 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30,
	    60, 120, 300, 600, 1800, 3600 };
	static const double complete_b[] = { 1, 5, 15, 30, 60, 120, 300, 600,
	    900, 1800, 3600, 7200, 14400, 43200, 86400 };
	static const char *const l_type[] = { "type", NULL };
	static const char *const l_runbook[] = { "runbook", NULL };
	static const char *const l_step[] = { "target", "step", NULL };
	static const char *const l_outcome[] = { "target", "step", "outcome",
	    NULL };
	static const char *const l_state[] = { "state", NULL };
	static const char *const l_breach[] = { "runbook", "kind", NULL };
	static const char *const l_alert[] = { "webhook", "outcome", NULL };
	static const char *const l_target[] = { "target", NULL };
	static const char *const l_instance[] = { "instance", NULL };
	static const char *const l_http[] = { "target", "class", NULL };
	static const char *const l_result[] = { "result", NULL };
	static const char *const results[] = { "ok", "failed" };
	struct metrics_registry	*r;
	struct metrics		*m;
	size_t			 i;
	const char		*name;

	if ((m = calloc(1, sizeof *m)) == NULL ||
	    (m->reg = metrics_registry_new()) == NULL) {
		snprintf(err, errlen, "metrics: out of memory");
		goto fail;
	}
	m->engine = engine;
	m->store = store;
	r = m->reg;
	m->freeze_s = metrics_family_new(r, METRICS_HISTOGRAM,
	    "deprov_time_to_freeze_seconds", "Seconds from a case's start "
	    "(creation, or its effective time when later) until every target "
	    "was frozen (state contained).", l_runbook, freeze_b,
	    sizeof freeze_b / sizeof freeze_b[0]);
	m->complete_s = metrics_family_new(r, METRICS_HISTOGRAM,
	    "deprov_time_to_complete_seconds", "Seconds from a case's start "
	    "(creation, or its effective time when later) until it completed.",
	    l_runbook, complete_b, sizeof complete_b / sizeof complete_b[0]);
	m->steps = metrics_family_new(r, METRICS_COUNTER, "deprov_steps_total",
	    "Steps finished, by target, step and outcome (succeeded, skipped, "
	    "failed).", l_outcome, NULL, 0);
	m->retries = metrics_family_new(r, METRICS_COUNTER,
	    "deprov_step_retries_total", "Failed attempts of a step that were "
	    "retried.", l_step, NULL, 0);
	m->cases = metrics_family_new(r, METRICS_GAUGE, "deprov_cases",
	    "Cases in the store by state.", l_state, NULL, 0);
	m->opened = metrics_family_new(r, METRICS_COUNTER,
	    "deprov_cases_opened_total", "Cases opened by this process, by "
	    "runbook.", l_runbook, NULL, 0);
	m->breaches = metrics_family_new(r, METRICS_COUNTER,
	    "deprov_sla_breaches_total", "SLA deadlines missed, by runbook and "
	    "kind (freeze, complete), counted when the deadline passes.",
	    l_breach, NULL, 0);
	m->alerts = metrics_family_new(r, METRICS_COUNTER,
	    "deprov_sla_alerts_total", "SLA alert deliveries by webhook and "
	    "outcome (delivered, failed after retries).", l_alert, NULL, 0);
	m->reloads = metrics_family_new(r, METRICS_COUNTER,
	    "deprov_config_reloads_total", "Configuration reloads (SIGHUP, POST "
	    "/v1/reload) by result: ok (applied) or failed (the configuration "
	    "before stays).", l_result, NULL, 0);
	m->reloaded_at = metrics_family_new(r, METRICS_GAUGE,
	    "deprov_config_last_reload_success_timestamp_seconds", "When the "
	    "configuration was last loaded with success (start or reload), in "
	    "Unix seconds.", NULL, NULL, 0);
	m->dead = metrics_family_new(r, METRICS_COUNTER,
	    "deprov_dead_letters_total", "Kafka messages sent to the dead-letter "
	    "topic.", NULL, NULL, 0);
	m->consumed = metrics_family_new(r, METRICS_COUNTER,
	    "deprov_events_consumed_total", "Kafka messages consumed.", NULL,
	    NULL, 0);
	m->assigned = metrics_family_new(r, METRICS_GAUGE, "deprov_kafka_assigned",
	    "1 when the consumer has partitions assigned.", NULL, NULL, 0);
	m->member = metrics_family_new(r, METRICS_GAUGE, "deprov_kafka_group_member",
	    "1 when the consumer is in its group with its assignment in effect, "
	    "partitions or none.", NULL, NULL, 0);
	m->lag = metrics_family_new(r, METRICS_GAUGE,
	    "deprov_kafka_consumer_lag", "Messages behind the high watermark, "
	    "summed over assigned partitions (one not read from yet counts "
	    "from its committed offset); 0 in the group without partitions, "
	    "absent when unknown.", NULL, NULL, 0);
	m->running = metrics_family_new(r, METRICS_GAUGE,
	    "deprov_engine_running_steps", "Steps running now.", NULL, NULL, 0);
	m->queued_steps = metrics_family_new(r, METRICS_GAUGE,
	    "deprov_engine_queued_steps", "Steps ready and waiting in the "
	    "engine's lanes.", NULL, NULL, 0);
	m->http = metrics_family_new(r, METRICS_COUNTER,
	    "deprov_http_requests_total", "Requests sent to a target by status "
	    "class (2xx, 3xx, 4xx, 5xx; error = no response).", l_http, NULL,
	    0);
	m->inflight = metrics_family_new(r, METRICS_GAUGE,
	    "deprov_target_inflight", "Calls holding a concurrency slot at a "
	    "target.", l_target, NULL, 0);
	m->queued = metrics_family_new(r, METRICS_GAUGE, "deprov_target_queued",
	    "Calls waiting for a slot or a token at a target.", l_target, NULL,
	    0);
	m->usage = metrics_family_new(r, METRICS_GAUGE,
	    "deprov_target_api_usage_ratio", "Share of the target's API limit "
	    "used, from the last Sforce-Limit-Info header (0 when none seen).",
	    l_target, NULL, 0);
	m->tokens = metrics_family_new(r, METRICS_GAUGE,
	    "deprov_target_rate_limit_remaining", "Tokens in the target's "
	    "rate-limit bucket now (0 while blocked by Retry-After or an "
	    "org-wide limit; +Inf when unlimited).", l_target, NULL, 0);
	m->window = metrics_family_new(r, METRICS_GAUGE,
	    "deprov_target_rate_window_remaining", "Sends the target still "
	    "allows in its current rate-limit window (X-Rate-Limit-Remaining; "
	    "absent when the target sends none).", l_target, NULL, 0);
	m->circuit = metrics_family_new(r, METRICS_GAUGE,
	    "deprov_target_circuit_state", "Circuit breaker state (0 closed, 1 "
	    "open, 2 half-open).", l_target, NULL, 0);
	m->exposed = metrics_family_new(r, METRICS_GAUGE,
	    "deprov_exposed_subjects", "People a case must contain who can "
	    "still sign in somewhere: a freeze failed, was skipped for a "
	    "reason other than no account, or is still being tried.", NULL,
	    NULL, 0);
	m->exposed_at = metrics_family_new(r, METRICS_GAUGE,
	    "deprov_exposed_subjects_by_target", "deprov_exposed_subjects at "
	    "each target where they are not contained.", l_target, NULL, 0);
	m->refused = metrics_family_new(r, METRICS_COUNTER,
	    "deprov_events_refused_total", "Events refused by the intake rules "
	    "(an unfreeze of a leaver, a reinstate with nothing to reinstate), "
	    "by event type.", l_type, NULL, 0);
	m->pg_up = metrics_family_new(r, METRICS_GAUGE,
	    "deprov_store_postgres_up", "With store.backend postgres: 1 while "
	    "PostgreSQL takes the store's changes, 0 while it does not (steps "
	    "wait). Absent with SQLite alone.", NULL, NULL, 0);
	m->pg_backlog = metrics_family_new(r, METRICS_GAUGE,
	    "deprov_store_postgres_backlog", "With store.backend postgres: "
	    "changes recorded locally and not yet in PostgreSQL.", NULL, NULL,
	    0);
	m->pg_writer = metrics_family_new(r, METRICS_GAUGE,
	    "deprov_store_writer_epoch", "With store.backend postgres: the "
	    "writer epoch this instance took the store with, labelled with "
	    "its store.instance (a later epoch elsewhere fences it).",
	    l_instance, NULL, 0);
	m->pg_standbys = metrics_family_new(r, METRICS_GAUGE,
	    "deprov_store_standbys", "With store.backend postgres: the "
	    "standbys that asked for the store in the last 5 s (0: nobody "
	    "would take over if this writer failed).", NULL, NULL, 0);
	if (m->freeze_s == NULL || m->complete_s == NULL || m->steps == NULL ||
	    m->retries == NULL || m->cases == NULL || m->opened == NULL ||
	    m->breaches == NULL || m->alerts == NULL || m->dead == NULL ||
	    m->consumed == NULL || m->assigned == NULL || m->member == NULL || m->lag == NULL ||
	    m->running == NULL || m->queued_steps == NULL || m->http == NULL ||
	    m->inflight == NULL || m->queued == NULL || m->usage == NULL ||
	    m->tokens == NULL || m->window == NULL || m->circuit == NULL ||
	    m->exposed == NULL || m->exposed_at == NULL || m->refused == NULL ||
	    m->pg_up == NULL || m->pg_backlog == NULL || m->pg_writer == NULL ||
	    m->pg_standbys == NULL || m->reloads == NULL ||
	    m->reloaded_at == NULL) {
		snprintf(err, errlen, "metrics: cannot create the families");
		goto fail;
	}
	/* Both results from the start, so that rate() sees the first failure. */
	for (i = 0; i < 2; i++)
		if (metrics_counter_add(m->reloads, &results[i], 0) != 0) {
			snprintf(err, errlen, "metrics: out of memory");
			goto fail;
		}
	/* The configuration of the start is a success too. */
	metrics_gauge_set(m->reloaded_at, NULL, (double)clock_wall_ms() / 1000);
	for (i = 0; i < CASE_STATE_COUNT; i++) {
		name = case_state_name((enum case_state)i);
		if (metrics_gauge_set(m->cases, &name, 0) != 0) {
			snprintf(err, errlen, "metrics: out of memory");
			goto fail;
		}
	}
	if (store != NULL && metrics_load_terminal(m, err, errlen) != 0)
		goto fail;
	if (engine != NULL && engine_observe(engine, metrics_on_event, m) != 0) {
		snprintf(err, errlen, "metrics: too many engine observers");
		goto fail;
	}
	metrics_collect(m);
	return m;
fail:
	metrics_free(m);
	return NULL;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	metrics_registry_free(m->reg);
	free(m->refrozen.ids);
	free(m);
}

void
metrics_set_kafka(struct metrics *m, struct kafka *k)
{
	m->kafka = k;
}

struct metrics_registry *
metrics_registry(struct metrics *m)
{
	return m->reg;
}

static int
metrics_exposed_cb(const char *target, long long subjects, void *arg)
{
	struct metrics *m = arg;

	metrics_gauge_set(m->exposed_at, &target, (double)subjects);
	return 0;
}

/*
 * Read what other modules own: Kafka, the engine's lanes, every target,
 * and who is still exposed (from the store).
 */
static void
metrics_collect(struct metrics *m)
{
	static const char *const classes[] = { "2xx", "3xx", "4xx", "5xx",
	    "error" };
	struct target		*t;
	struct target_stats	 st;
	const char		*name, *lv[2];
	uint64_t		 counts[5];
	long			 used, limit, remaining;
	double			 tokens;
	int64_t			 lag;
	long long		 exposed = 0, backlog, epoch;
	char			 why[256], inst[256];
	size_t			 i, j, n;
	int			 up, nsb;

	metrics_counter_set(m->dead, NULL, m->kafka != NULL ?
	    (double)kafka_dead_letters(m->kafka) : 0);
	metrics_counter_set(m->consumed, NULL, m->kafka != NULL ?
	    (double)kafka_consumed(m->kafka) : 0);
	metrics_gauge_set(m->assigned, NULL, m->kafka != NULL &&
	    kafka_assigned(m->kafka) ? 1 : 0);
	metrics_gauge_set(m->member, NULL, m->kafka != NULL &&
	    kafka_member(m->kafka) ? 1 : 0);
	lag = m->kafka != NULL ? kafka_lag(m->kafka, NULL) : -1;
	if (lag >= 0)
		metrics_gauge_set(m->lag, NULL, (double)lag);
	else
		metrics_family_reset(m->lag);
	metrics_family_reset(m->exposed_at);
	if (m->store != NULL && store_exposure_counts(m->store, &exposed,
	    metrics_exposed_cb, m) == 0)
		metrics_gauge_set(m->exposed, NULL, (double)exposed);
	if (m->store != NULL && (up = store_replica_status(m->store, why,
	    sizeof why, &backlog)) >= 0) {
		metrics_gauge_set(m->pg_up, NULL, up);
		metrics_gauge_set(m->pg_backlog, NULL, (double)backlog);
		if (store_replica_writer(m->store, inst, sizeof inst, &epoch) ==
		    0) {
			const char *v[1] = { inst };

			metrics_gauge_set(m->pg_writer, v, (double)epoch);
		}
		if ((nsb = store_replica_standbys(m->store, NULL, 0)) >= 0)
			metrics_gauge_set(m->pg_standbys, NULL, (double)nsb);
	}
	if (m->engine == NULL)
		return;
	metrics_gauge_set(m->running, NULL,
	    (double)engine_running_steps(m->engine));
	metrics_gauge_set(m->queued_steps, NULL,
	    (double)engine_queued_steps(m->engine));
	n = engine_target_count(m->engine);
	metrics_family_reset(m->window);
	for (i = 0; i < n; i++) {
		if ((t = engine_target_at(m->engine, i)) == NULL)
			continue;
		name = target_name(t);
		target_get_stats(t, &st);
		counts[0] = st.http_2xx;
		counts[1] = st.http_3xx;
		counts[2] = st.http_4xx;
		counts[3] = st.http_5xx;
		counts[4] = st.http_error;
		lv[0] = name;
		for (j = 0; j < 5; j++) {
			lv[1] = classes[j];
			metrics_counter_set(m->http, lv, (double)counts[j]);
		}
		metrics_gauge_set(m->inflight, &name, (double)target_inflight(t));
		metrics_gauge_set(m->queued, &name, (double)target_queued(t));
		target_api_usage(t, &used, &limit);
		metrics_gauge_set(m->usage, &name, limit > 0 ?
		    (double)used / (double)limit : 0);
		tokens = target_rate_tokens(t);
		metrics_gauge_set(m->tokens, &name, tokens < 0 ? INFINITY :
		    tokens);
		target_rate_window(t, &limit, &remaining);
		if (remaining >= 0)
			metrics_gauge_set(m->window, &name, (double)remaining);
		switch (target_circuit_state(t)) {
		case TARGET_CIRCUIT_OPEN:
			metrics_gauge_set(m->circuit, &name, 1);
			break;
		case TARGET_CIRCUIT_HALF_OPEN:
			metrics_gauge_set(m->circuit, &name, 2);
			break;
		default:
			metrics_gauge_set(m->circuit, &name, 0);
			break;
		}
	}
}

char *
metrics_render(struct metrics *m, size_t *len)
{
	metrics_collect(m);
	return metrics_registry_render(m->reg, len);
}

static void
metrics_handler(struct evhttp_request *req, const char *path,
    const char *rest, const struct api_caller *caller, void *arg)
{
	struct metrics	*m = arg;
	char		*text;
	size_t		 len = 0;

	if ((text = metrics_render(m, &len)) == NULL) {
		api_error(req, 500, "internal", "cannot render metrics");
		return;
	}
	api_reply(req, 200, METRICS_CONTENT_TYPE, text, len);
	free(text);
}

int
metrics_route(struct metrics *m, struct api *api)
{
	if (m == NULL || api == NULL)
		return -1;
	return api_route(api, "GET", "/metrics", 0, API_ROLE_PUBLIC,
	    metrics_handler, m);
}

void
metrics_sla_breach(struct metrics *m, const char *runbook, const char *kind)
{
	const char *lv[2] = { runbook != NULL ? runbook : "", kind };

	if (m != NULL)
		metrics_counter_add(m->breaches, lv, 1);
}

void
metrics_alert(struct metrics *m, const char *webhook, const char *outcome)
{
	const char *lv[2] = { webhook, outcome };

	if (m != NULL)
		metrics_counter_add(m->alerts, lv, 1);
}

void
metrics_reload(struct metrics *m, int ok)
{
	const char *lv = ok ? "ok" : "failed";

	if (m == NULL)
		return;
	metrics_counter_add(m->reloads, &lv, 1);
	if (ok)
		metrics_gauge_set(m->reloaded_at, NULL,
		    (double)clock_wall_ms() / 1000);
}
