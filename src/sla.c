/*
 * sla: per-case deadline timers and breach alerts.
 *
 * Every case the engine tells us about gets an entry (a small hash table by
 * case id) with its deadlines, what has been reached (frozen_ms, ended_ms)
 * and one evtimer armed for the earliest deadline still at stake. Engine
 * events only update the entry and re-arm the timer; breaches happen only in
 * the timer callback, so a deadline is judged the moment it passes, and a
 * goal reached late but before the callback ran is still a breach.
 *
 * An entry that did not start with ENGINE_EV_CASE_OPENED in this process
 * (a resumed case, an escalated case an operator retried) may have had its
 * breach recorded before: before it breaches, its timeline is read once for
 * "sla" rows, so a restart never alerts twice.
 *
 * A breach is recorded in the timeline before any alert goes out. Each
 * webhook then gets its own delivery: an HTTP POST through the loop's curl
 * multi client, retried with full-jitter backoff (Retry-After honoured, up
 * to max_backoff_ms) on transport errors, 429 and 5xx, given up after
 * max_attempts with an error log. Logs name the webhook, never its URL or
 * header (both secrets). Alerts link to the case on the dashboard only with
 * api.public_url (an absolute link); without it they say there is no link
 * rather than carry a relative one that leads nowhere where it lands.
 */
#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "deprov/backoff.h"
#include "deprov/clock.h"
#include "deprov/engine.h"
#include "deprov/http.h"
#include "deprov/log.h"
#include "deprov/metrics.h"
#include "deprov/sla.h"
#include "deprov/store.h"

#define SLA_MIN_BUCKETS		64
#define SLA_CONNECT_MAX_MS	10000L
#define SLA_TIME_LEN		96	/* room for any struct tm, as the compiler sees it */

struct sla_case {
	struct sla		*sla;
	long long		 id;
	char			*subject_key;
	char			*runbook;
	char			 state[24];
	int64_t			 freeze_deadline_ms;
	int64_t			 complete_deadline_ms;
	int64_t			 frozen_ms;		/* contained at; 0 = not yet */
	int64_t			 ended_ms;		/* completed or cancelled at */
	int			 cancelled;
	int			 freeze_alerted;
	int			 complete_alerted;
	int			 history_checked;	/* timeline read for earlier breaches */
	int			 retired;		/* gone from the engine's memory */
	struct event		*timer;
	struct sla_case		*next;			/* hash chain */
};

struct sla_delivery {
	struct sla			*sla;
	const struct config_webhook	*hook;
	const struct config		*gen;	/* holds hook after a reload, or NULL */
	char				*body;
	long long			 case_id;
	char				 kind[16];
	int				 attempts;
	struct event			*timer;		/* backoff */
	struct http_request		*req;		/* in flight (owned by http) */
	TAILQ_ENTRY(sla_delivery)	 entry;
};
TAILQ_HEAD(sla_delivery_list, sla_delivery);

struct sla {
	struct event_base		*base;
	struct engine			*engine;
	struct store			*store;
	struct http			*http;
	const struct config_alerts	*cfg;
	const struct config		*gen;	/* holds cfg after a reload (a
						   reference), or NULL: sla_new's */
	const char			*public_url;	/* NULL: links left out */
	struct metrics			*metrics;
	sla_alert_hook			 hook;
	void				*hook_arg;
	struct sla_case			**buckets;
	size_t				 nbuckets;
	size_t				 ncases;
	size_t				 armed;
	struct sla_delivery_list	 deliveries;
	size_t				 ndeliveries;
};

static struct sla_case	*sla_case_find(struct sla *, long long);
static struct sla_case	*sla_case_add(struct sla *, const struct engine_event *);
static void		 sla_case_remove(struct sla_case *);
static void		 sla_case_update(struct sla_case *,
			    const struct engine_event *);
static void		 sla_case_arm(struct sla_case *);
static void		 sla_timer_cb(evutil_socket_t, short, void *);
static void		 sla_on_event(const struct engine_event *, void *);
static void		 sla_breach(struct sla_case *, const char *, int64_t,
			    int64_t);
static void		 sla_deliver(struct sla *, const struct config_webhook *,
			    char *, long long, const char *);
static void		 sla_send(struct sla_delivery *);
static void		 sla_http_cb(const struct http_response *, void *);
static void		 sla_retry_cb(evutil_socket_t, short, void *);
static void		 sla_delivery_free(struct sla_delivery *);
static void		 sla_rfc3339(int64_t, char *, size_t);

static size_t
sla_hash(const struct sla *s, long long id)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (s->nbuckets - 1);
}

static struct sla_case *
sla_case_find(struct sla *s, long long id)
{
	struct sla_case *c;

	for (c = s->buckets[sla_hash(s, id)]; c != NULL; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/* Double the table when it holds more cases than buckets. */
static void
sla_grow(struct sla *s)
{
	struct sla_case	**nb, **ob = s->buckets, *c, *next;
	size_t		  on = s->nbuckets, i, h;

	if (s->ncases < s->nbuckets ||
	    (nb = calloc(on * 2, sizeof *nb)) == NULL)
		return;
	s->buckets = nb;
	s->nbuckets = on * 2;
	for (i = 0; i < on; i++) {
		for (c = ob[i]; c != NULL; c = next) {
			next = c->next;
			h = sla_hash(s, c->id);
			c->next = nb[h];
			nb[h] = c;
		}
	}
	free(ob);
}

static struct sla_case *
sla_case_add(struct sla *s, const struct engine_event *ev)
{
	struct sla_case	*c;
	size_t		 h;

	if ((c = calloc(1, sizeof *c)) == NULL)
		goto fail;
	c->sla = s;
	c->id = ev->case_id;
	c->subject_key = strdup(ev->subject_key != NULL ? ev->subject_key : "");
	c->runbook = strdup(ev->runbook != NULL ? ev->runbook : "");
	c->timer = evtimer_new(s->base, sla_timer_cb, c);
	if (c->subject_key == NULL || c->runbook == NULL || c->timer == NULL)
		goto fail;
	/* A new case has no history; any other may have breached before. */
	c->history_checked = ev->kind == ENGINE_EV_CASE_OPENED;
	h = sla_hash(s, c->id);
	c->next = s->buckets[h];
	s->buckets[h] = c;
	s->ncases++;
	sla_grow(s);
	return c;
fail:
	if (c != NULL) {
		if (c->timer != NULL)
			event_free(c->timer);
		free(c->subject_key);
		free(c->runbook);
		free(c);
	}
	log_error("sla", "case %lld: out of memory: no SLA timer", ev->case_id);
	return NULL;
}

static void
sla_case_remove(struct sla_case *c)
{
	struct sla	 *s = c->sla;
	struct sla_case	**pp;

	for (pp = &s->buckets[sla_hash(s, c->id)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	s->ncases--;
	if (evtimer_pending(c->timer, NULL))
		s->armed--;
	event_free(c->timer);
	free(c->subject_key);
	free(c->runbook);
	free(c);
}

/* What the event says about the case. */
static void
sla_case_update(struct sla_case *c, const struct engine_event *ev)
{
	if (ev->state != NULL)
		snprintf(c->state, sizeof c->state, "%s", ev->state);
	c->freeze_deadline_ms = ev->freeze_deadline_ms;
	c->complete_deadline_ms = ev->complete_deadline_ms;
	if (ev->frozen_ms > 0 && c->frozen_ms == 0)
		c->frozen_ms = ev->frozen_ms;
	if (ev->kind == ENGINE_EV_CASE_STATE && ev->state != NULL &&
	    c->ended_ms == 0) {
		if (ev->st == CASE_COMPLETED)
			c->ended_ms = ev->ts_ms;
		else if (ev->st == CASE_CANCELLED) {
			c->ended_ms = ev->ts_ms;
			c->cancelled = 1;
		}
	}
	if (ev->kind == ENGINE_EV_CASE_RETIRED)
		c->retired = 1;
	else
		c->retired = 0;
}

/* 1 when the freeze deadline is still at stake (not met, not yet alerted). */
static int
sla_freeze_due(const struct sla_case *c)
{
	int64_t dl = c->freeze_deadline_ms;

	if (dl <= 0 || c->freeze_alerted)
		return 0;
	if (c->frozen_ms > 0 && c->frozen_ms <= dl)
		return 0;
	/* Cancelled before it was frozen or due: nothing to freeze any more. */
	if (c->cancelled && c->frozen_ms == 0 && c->ended_ms <= dl)
		return 0;
	return 1;
}

static int
sla_complete_due(const struct sla_case *c)
{
	int64_t dl = c->complete_deadline_ms;

	if (dl <= 0 || c->complete_alerted)
		return 0;
	return !(c->ended_ms > 0 && c->ended_ms <= dl);
}

/*
 * Arm the timer for the earliest deadline at stake, or, when none is left,
 * stop it; an entry the engine has retired is then freed (c is gone).
 */
static void
sla_case_arm(struct sla_case *c)
{
	struct sla	*s = c->sla;
	struct timeval	 tv;
	int64_t		 at = 0, d;
	int		 was;

	if (sla_freeze_due(c))
		at = c->freeze_deadline_ms;
	if (sla_complete_due(c) && (at == 0 || c->complete_deadline_ms < at))
		at = c->complete_deadline_ms;
	was = evtimer_pending(c->timer, NULL);
	if (at == 0) {
		if (was) {
			evtimer_del(c->timer);
			s->armed--;
		}
		if (c->retired || c->ended_ms > 0)
			sla_case_remove(c);
		return;
	}
	d = at - clock_wall_ms();
	if (d < 0)
		d = 0;
	tv.tv_sec = (time_t)(d / 1000);
	tv.tv_usec = (suseconds_t)(d % 1000) * 1000;
	if (evtimer_add(c->timer, &tv) != 0) {
		log_error("sla", "case %lld: cannot arm the SLA timer", c->id);
		if (was)
			s->armed--;
		return;
	}
	if (!was)
		s->armed++;
}

static void
sla_on_event(const struct engine_event *ev, void *arg)
{
	struct sla	*s = arg;
	struct sla_case	*c;

	switch (ev->kind) {
	case ENGINE_EV_CASE_OPENED:
	case ENGINE_EV_CASE_RESUMED:
	case ENGINE_EV_CASE_STATE:
	case ENGINE_EV_CASE_CONTAINED:
	case ENGINE_EV_CASE_RETIRED:
		break;
	default:
		return;
	}
	if ((c = sla_case_find(s, ev->case_id)) == NULL) {
		if (ev->kind == ENGINE_EV_CASE_RETIRED)
			return;
		if ((c = sla_case_add(s, ev)) == NULL)
			return;
	}
	sla_case_update(c, ev);
	sla_case_arm(c);
}

/* Timeline rows of kind "sla" say which breaches were already recorded. */
static int
sla_history_cb(const struct store_timeline *t, void *arg)
{
	struct sla_case *c = arg;

	if (t->kind == NULL || strcmp(t->kind, "sla") != 0 || t->detail == NULL)
		return 0;
	if (strncmp(t->detail, "freeze ", 7) == 0)
		c->freeze_alerted = 1;
	else if (strncmp(t->detail, "complete ", 9) == 0)
		c->complete_alerted = 1;
	return 0;
}

static void
sla_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sla_case	*c = arg;
	struct sla	*s = c->sla;
	int64_t		 now = clock_wall_ms();
	int		 fdue, cdue;

	(void)fd;
	(void)what;
	s->armed--;
	fdue = sla_freeze_due(c) && c->freeze_deadline_ms <= now;
	cdue = sla_complete_due(c) && c->complete_deadline_ms <= now;
	if ((fdue || cdue) && !c->history_checked) {
		if (store_timeline_of(s->store, c->id, sla_history_cb, c) != 0)
			log_warn("sla", "case %lld: cannot read the timeline: %s",
			    c->id, store_errmsg(s->store));
		c->history_checked = 1;
		fdue = sla_freeze_due(c) && c->freeze_deadline_ms <= now;
		cdue = sla_complete_due(c) && c->complete_deadline_ms <= now;
	}
	if (fdue)
		sla_breach(c, "freeze", c->freeze_deadline_ms, now);
	if (cdue)
		sla_breach(c, "complete", c->complete_deadline_ms, now);
	sla_case_arm(c);
}

/* UTC "2026-11-25T14:15:49.123Z". */
static void
sla_rfc3339(int64_t ms, char *out, size_t outlen)
{
	struct tm	tm;
	time_t		t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, outlen, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(ms % 1000));
}

/* Slack mrkdwn treats &, < and > as markup. */
static char *
sla_slack_escape(const char *s)
{
	size_t	 n = 0, i;
	char	*out, *p;

	for (i = 0; s[i] != '\0'; i++)
		n += s[i] == '&' ? 5 : (s[i] == '<' || s[i] == '>') ? 4 : 1;
	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	for (p = out, i = 0; s[i] != '\0'; i++) {
		if (s[i] == '&')
			p += sprintf(p, "&amp;");
		else if (s[i] == '<')
			p += sprintf(p, "&lt;");
		else if (s[i] == '>')
			p += sprintf(p, "&gt;");
		else
			*p++ = s[i];
	}
	*p = '\0';
	return out;
}

static json_object *
sla_slack_text(const char *type, const char *text)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "text", json_object_new_string(text));
	return o;
}

static json_object *
sla_payload_generic(const struct sla_alert *a)
{
	json_object	*o = json_object_new_object();
	char		 deadline[SLA_TIME_LEN], at[SLA_TIME_LEN], path[48];

	sla_rfc3339(a->deadline_ms, deadline, sizeof deadline);
	sla_rfc3339(a->breached_at_ms, at, sizeof at);
	/* The fragment the dashboard page opens a case from. */
	snprintf(path, sizeof path, "/#case=%lld", a->case_id);
	json_object_object_add(o, "type",
	    json_object_new_string("deprov.sla.breach"));
	json_object_object_add(o, "case_id", json_object_new_int64(a->case_id));
	json_object_object_add(o, "subject_key",
	    json_object_new_string(a->subject_key));
	json_object_object_add(o, "runbook", json_object_new_string(a->runbook));
	json_object_object_add(o, "kind", json_object_new_string(a->kind));
	json_object_object_add(o, "deadline", json_object_new_string(deadline));
	json_object_object_add(o, "deadline_ms",
	    json_object_new_int64(a->deadline_ms));
	json_object_object_add(o, "breached_at", json_object_new_string(at));
	json_object_object_add(o, "breached_at_ms",
	    json_object_new_int64(a->breached_at_ms));
	json_object_object_add(o, "state", json_object_new_string(a->state));
	json_object_object_add(o, "dashboard_path", json_object_new_string(path));
	/* Absolute, or null: a relative link would be broken where it lands. */
	json_object_object_add(o, "dashboard_url", a->dashboard_url != NULL ?
	    json_object_new_string(a->dashboard_url) : NULL);
	return o;
}

/* {"type": "mrkdwn", "text": "*Name*\nvalue"} */
static json_object *
sla_slack_field(const char *name, const char *value)
{
	json_object	*o;
	char		*t = NULL;

	if (asprintf(&t, "*%s*\n%s", name, value) < 0)
		return NULL;
	o = sla_slack_text("mrkdwn", t);
	free(t);
	return o;
}

/* An incoming-webhook message: "text" as the fallback, and blocks. */
static json_object *
sla_payload_slack(const struct sla_alert *a)
{
	json_object	*o = NULL, *blocks, *header, *section, *fields, *ctx;
	json_object	*els, *f[6];
	char		 deadline[SLA_TIME_LEN], at[SLA_TIME_LEN], id[32], title[64];
	char		*subj = NULL, *rb = NULL, *st = NULL, *text = NULL;
	char		*link = NULL;
	const char	*what = strcmp(a->kind, "freeze") == 0 ?
			    "freeze (containment)" : "completion";
	size_t		 i;

	subj = sla_slack_escape(a->subject_key);
	rb = sla_slack_escape(a->runbook);
	st = sla_slack_escape(a->state);
	if (subj == NULL || rb == NULL || st == NULL)
		goto done;
	sla_rfc3339(a->deadline_ms, deadline, sizeof deadline);
	sla_rfc3339(a->breached_at_ms, at, sizeof at);
	snprintf(id, sizeof id, "%lld", a->case_id);
	snprintf(title, sizeof title, "SLA breach: %s deadline missed",
	    a->kind);
	if (asprintf(&text, ":rotating_light: SLA breach: case %lld (subject "
	    "%s, runbook %s) missed its %s deadline %s; state %s",
	    a->case_id, subj, rb, what, deadline, st) < 0) {
		text = NULL;
		goto done;
	}
	/*
	 * A Slack link must be absolute; without api.public_url say so rather
	 * than send one that leads nowhere. The URL was checked to hold
	 * nothing that needs escaping here ('<', '>', '|', '&').
	 */
	if ((a->dashboard_url != NULL ? asprintf(&link, "<%s|Open case %lld on "
	    "the deprov dashboard>", a->dashboard_url, a->case_id) :
	    asprintf(&link, "Case %lld on the deprov dashboard (no link: "
	    "api.public_url is not set)", a->case_id)) < 0) {
		link = NULL;
		goto done;
	}
	f[0] = sla_slack_field("Case", id);
	f[1] = sla_slack_field("Subject", subj);
	f[2] = sla_slack_field("Runbook", rb);
	f[3] = sla_slack_field("State", st);
	f[4] = sla_slack_field("Deadline", deadline);
	f[5] = sla_slack_field("Breached at", at);

	o = json_object_new_object();
	json_object_object_add(o, "text", json_object_new_string(text));
	blocks = json_object_new_array();
	json_object_object_add(o, "blocks", blocks);
	header = json_object_new_object();
	json_object_object_add(header, "type", json_object_new_string("header"));
	json_object_object_add(header, "text", sla_slack_text("plain_text",
	    title));
	json_object_array_add(blocks, header);
	section = json_object_new_object();
	json_object_object_add(section, "type",
	    json_object_new_string("section"));
	fields = json_object_new_array();
	for (i = 0; i < sizeof f / sizeof f[0]; i++)
		json_object_array_add(fields, f[i]);
	json_object_object_add(section, "fields", fields);
	json_object_array_add(blocks, section);
	ctx = json_object_new_object();
	json_object_object_add(ctx, "type", json_object_new_string("context"));
	els = json_object_new_array();
	json_object_array_add(els, sla_slack_text("mrkdwn", link));
	json_object_object_add(ctx, "elements", els);
	json_object_array_add(blocks, ctx);
	for (i = 0; i < sizeof f / sizeof f[0]; i++) {
		if (f[i] == NULL) {
			json_object_put(o);
			o = NULL;
			break;
		}
	}
done:
	free(link);
	free(text);
	free(subj);
	free(rb);
	free(st);
	return o;
}

char *
sla_payload(const char *format, const struct sla_alert *a)
{
	json_object	*o;
	char		*s;

	if (format != NULL && strcmp(format, "slack") == 0)
		o = sla_payload_slack(a);
	else
		o = sla_payload_generic(a);
	if (o == NULL)
		return NULL;
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

/* A deadline passed with its goal unmet: record, count, log, alert. */
static void
sla_breach(struct sla_case *c, const char *kind, int64_t deadline_ms,
    int64_t now)
{
	struct sla		*s = c->sla;
	struct sla_alert	 a;
	char			 deadline[SLA_TIME_LEN], detail[320], *generic, *body;
	char			*url = NULL;
	size_t			 i;

	if (strcmp(kind, "freeze") == 0)
		c->freeze_alerted = 1;
	else
		c->complete_alerted = 1;
	sla_rfc3339(deadline_ms, deadline, sizeof deadline);
	snprintf(detail, sizeof detail, "%s deadline missed: not %s by %s "
	    "(state %s)", kind, strcmp(kind, "freeze") == 0 ? "contained" :
	    "completed", deadline, c->state);
	if (store_timeline_add(s->store, c->id, now, "sla", NULL, NULL,
	    detail) != 0)
		log_error("sla", "case %lld: cannot record the breach: %s",
		    c->id, store_errmsg(s->store));
	metrics_sla_breach(s->metrics, c->runbook, kind);
	log_warn("sla", "case %lld (runbook %s): %s; alerting %zu webhooks",
	    c->id, c->runbook, detail, s->cfg != NULL ? s->cfg->nwebhooks : 0);

	memset(&a, 0, sizeof a);
	a.case_id = c->id;
	a.subject_key = c->subject_key;
	a.runbook = c->runbook;
	a.kind = kind;
	a.state = c->state;
	a.deadline_ms = deadline_ms;
	a.breached_at_ms = now;
	/* Out of memory, the alerts go without the link rather than not at all. */
	if (s->public_url != NULL && asprintf(&url, "%s/#case=%lld",
	    s->public_url, c->id) < 0)
		url = NULL;
	a.dashboard_url = url;
	generic = sla_payload("generic", &a);
	a.detail_json = generic != NULL ? generic : "{}";
	if (s->hook != NULL)
		s->hook(&a, s->hook_arg);
	for (i = 0; s->cfg != NULL && i < s->cfg->nwebhooks; i++) {
		const struct config_webhook *w = &s->cfg->webhooks[i];

		body = strcmp(w->format, "generic") == 0 && generic != NULL ?
		    strdup(generic) : sla_payload(w->format, &a);
		if (body == NULL) {
			log_error("sla", "case %lld: out of memory: no alert to "
			    "%s", c->id, w->name);
			metrics_alert(s->metrics, w->name, "failed");
			continue;
		}
		sla_deliver(s, w, body, c->id, kind);
	}
	free(generic);
	free(url);
}

/* Start a delivery of body (ownership passes here) to one webhook. */
static void
sla_deliver(struct sla *s, const struct config_webhook *w, char *body,
    long long case_id, const char *kind)
{
	struct sla_delivery *d;

	if ((d = calloc(1, sizeof *d)) == NULL ||
	    (d->timer = evtimer_new(s->base, sla_retry_cb, d)) == NULL) {
		log_error("sla", "case %lld: out of memory: no alert to %s",
		    case_id, w->name);
		metrics_alert(s->metrics, w->name, "failed");
		free(body);
		free(d);
		return;
	}
	d->sla = s;
	d->hook = w;
	d->gen = config_ref(s->gen);
	d->body = body;
	d->case_id = case_id;
	snprintf(d->kind, sizeof d->kind, "%s", kind);
	TAILQ_INSERT_TAIL(&s->deliveries, d, entry);
	s->ndeliveries++;
	sla_send(d);
}

static void
sla_delivery_free(struct sla_delivery *d)
{
	struct sla *s = d->sla;

	TAILQ_REMOVE(&s->deliveries, d, entry);
	s->ndeliveries--;
	if (d->req != NULL)
		http_request_cancel(s->http, d->req);
	event_free(d->timer);
	free(d->body);
	config_free(d->gen);
	free(d);
}

/*
 * The attempt failed in a way worth retrying (why says how): wait, or give
 * up after max_attempts. retry_after_ms < 0 when the server gave none.
 */
static void
sla_retry(struct sla_delivery *d, const char *why, long retry_after_ms)
{
	struct sla		*s = d->sla;
	const struct config_alerts *cfg = s->cfg;
	struct timeval		 tv;
	long			 delay;

	if (d->attempts >= cfg->max_attempts) {
		log_error("sla", "case %lld: %s alert to %s not delivered after "
		    "%d attempts (%s): giving up", d->case_id, d->kind,
		    d->hook->name, d->attempts, why);
		metrics_alert(s->metrics, d->hook->name, "failed");
		sla_delivery_free(d);
		return;
	}
	delay = backoff_full_jitter(d->attempts, cfg->initial_backoff_ms,
	    cfg->max_backoff_ms, backoff_random());
	if (retry_after_ms > delay)
		delay = retry_after_ms < cfg->max_backoff_ms ? retry_after_ms :
		    cfg->max_backoff_ms;
	log_warn("sla", "case %lld: %s alert to %s: attempt %d failed (%s); "
	    "retry in %ld ms", d->case_id, d->kind, d->hook->name, d->attempts,
	    why, delay);
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	if (evtimer_add(d->timer, &tv) != 0) {
		log_error("sla", "case %lld: cannot schedule the retry of the "
		    "alert to %s", d->case_id, d->hook->name);
		metrics_alert(s->metrics, d->hook->name, "failed");
		sla_delivery_free(d);
	}
}

static void
sla_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sla_send(arg);
}

/* One attempt: POST the body. */
static void
sla_send(struct sla_delivery *d)
{
	struct sla		*s = d->sla;
	struct http_request	*req;
	long			 connect;

	d->attempts++;
	if ((req = http_request_new("POST", d->hook->url)) == NULL ||
	    http_request_header(req, "Content-Type", "application/json") != 0 ||
	    (d->hook->auth_header != NULL && http_request_header(req,
	    "Authorization", d->hook->auth_header) != 0) ||
	    http_request_body(req, d->body, strlen(d->body)) != 0) {
		http_request_free(req);
		sla_retry(d, "cannot build the request", -1);
		return;
	}
	connect = s->cfg->timeout_ms < SLA_CONNECT_MAX_MS ? s->cfg->timeout_ms :
	    SLA_CONNECT_MAX_MS;
	http_request_timeout(req, s->cfg->timeout_ms, connect);
	/* Ownership of req passes to http, even when it refuses it. */
	d->req = req;
	if (http_request_start(s->http, req, sla_http_cb, d) != 0) {
		d->req = NULL;
		sla_retry(d, "cannot start the request", -1);
	}
}

/* Retry-After in delta-seconds, as milliseconds; -1 when absent. */
static long
sla_retry_after_ms(const struct http_response *resp)
{
	const char	*v = http_response_header(resp, "Retry-After");
	char		*end;
	long		 secs;

	if (v == NULL)
		return -1;
	secs = strtol(v, &end, 10);
	if (end == v || secs < 0 || secs > 86400)
		return -1;
	return secs * 1000;
}

static void
sla_http_cb(const struct http_response *resp, void *arg)
{
	struct sla_delivery	*d = arg;
	struct sla		*s = d->sla;
	char			 why[320];

	d->req = NULL;		/* http frees it after this callback */
	if (resp->status >= 200 && resp->status <= 299) {
		log_info("sla", "case %lld: %s alert delivered to %s (HTTP %ld, "
		    "attempt %d)", d->case_id, d->kind, d->hook->name,
		    resp->status, d->attempts);
		metrics_alert(s->metrics, d->hook->name, "delivered");
		sla_delivery_free(d);
		return;
	}
	if (resp->status == 0) {
		snprintf(why, sizeof why, "%s: %s", resp->timed_out ?
		    "timeout" : "transport error", resp->error);
		log_redact(why);
		sla_retry(d, why, -1);
		return;
	}
	snprintf(why, sizeof why, "HTTP %ld", resp->status);
	if (resp->status == 429 || resp->status >= 500) {
		sla_retry(d, why, sla_retry_after_ms(resp));
		return;
	}
	log_error("sla", "case %lld: %s alert to %s rejected (%s): not retried",
	    d->case_id, d->kind, d->hook->name, why);
	metrics_alert(s->metrics, d->hook->name, "failed");
	sla_delivery_free(d);
}

struct sla *
sla_new(struct event_base *base, struct engine *engine, struct store *store,
    struct http *http, const struct config_alerts *cfg,
    const char *public_url, struct metrics *metrics, char *err,
    size_t errlen)
{
	struct sla *s;

	if (base == NULL || engine == NULL || store == NULL || cfg == NULL ||
	    (cfg->nwebhooks > 0 && http == NULL)) {
		snprintf(err, errlen, "sla: missing loop, engine, store, http "
		    "client or configuration");
		return NULL;
	}
	if ((s = calloc(1, sizeof *s)) == NULL ||
	    (s->buckets = calloc(SLA_MIN_BUCKETS, sizeof *s->buckets)) == NULL) {
		snprintf(err, errlen, "sla: out of memory");
		free(s);
		return NULL;
	}
	s->nbuckets = SLA_MIN_BUCKETS;
	s->base = base;
	s->engine = engine;
	s->store = store;
	s->http = http;
	s->cfg = cfg;
	s->public_url = public_url;
	s->metrics = metrics;
	TAILQ_INIT(&s->deliveries);
	if (engine_observe(engine, sla_on_event, s) != 0) {
		snprintf(err, errlen, "sla: too many engine observers");
		sla_free(s);
		return NULL;
	}
	return s;
}

void
sla_free(struct sla *s)
{
	struct sla_delivery	*d;
	struct sla_case		*c;
	size_t			 i;

	if (s == NULL)
		return;
	if (s->ndeliveries > 0)
		log_warn("sla", "%zu alert deliveries dropped at shutdown",
		    s->ndeliveries);
	while ((d = TAILQ_FIRST(&s->deliveries)) != NULL)
		sla_delivery_free(d);
	for (i = 0; i < s->nbuckets; i++) {
		while ((c = s->buckets[i]) != NULL)
			sla_case_remove(c);
	}
	free(s->buckets);
	config_free(s->gen);
	free(s);
}

void
sla_set_alerts(struct sla *s, const struct config *cfg)
{
	const struct config *old = s->gen;

	s->gen = config_ref(cfg);
	s->cfg = &cfg->alerts;
	config_free(old);
}

void
sla_set_alert_hook(struct sla *s, sla_alert_hook hook, void *arg)
{
	s->hook = hook;
	s->hook_arg = arg;
}

size_t
sla_armed(const struct sla *s)
{
	return s->armed;
}

size_t
sla_pending_deliveries(const struct sla *s)
{
	return s->ndeliveries;
}

/*
 * The "alerts" section's settings (docs/CONTRACT.md), read by
 * config_load: the webhooks told about SLA breaches and how deliveries are
 * retried. A webhook's URL (Slack's carries its secret) and Authorization
 * header are secrets: inline, *_env or *_file, and never shown.
 */
static int
sla_config_check(struct config_reader *r, const char *where, json_object *obj,
    void *conf)
{
	struct config_alerts *a = conf;

	if (a->max_backoff_ms >= a->initial_backoff_ms)
		return 0;
	config_error(r, config_line(r, obj, obj != NULL &&
	    json_object_object_get_ex(obj, "max_backoff_ms", NULL) ?
	    "max_backoff_ms" : "initial_backoff_ms"),
	    "%s.max_backoff_ms: must not be less than initial_backoff_ms "
	    "(%ld < %ld)", where, a->max_backoff_ms, a->initial_backoff_ms);
	return -1;
}

/* What the rows cannot say of one webhook; -1 drops it. */
static int
sla_config_webhook(struct config_reader *r, const char *where,
    json_object *obj, void *conf)
{
	static const char *const url_keys[] = { "url", "url_env", "url_file",
	    NULL };
	struct config_webhook	*w = conf;
	const char		*ukey = NULL;
	size_t			 i;
	int			 rc = 0;

	w->line = config_line(r, obj, NULL);
	if (w->name != NULL && !config_name_ok(w->name)) {
		config_error(r, config_line(r, obj, "name"), "%s.name: invalid "
		    "name \"%s\" (use letters, digits, '_', '.', '-')", where,
		    w->name);
		free(w->name);
		w->name = NULL;
		rc = -1;
	}
	for (i = 0; url_keys[i] != NULL && ukey == NULL; i++)
		if (json_object_object_get_ex(obj, url_keys[i], NULL))
			ukey = url_keys[i];
	if (w->url != NULL && (!config_url_ok(w->url) ||
	    strpbrk(w->url, " \t\r\n") != NULL)) {
		/* The URL may hold a secret: not shown. */
		config_error(r, config_line(r, obj, ukey), "%s.%s: expected an "
		    "http:// or https:// URL", where, ukey);
		rc = -1;
	}
	if (w->auth_header != NULL && strpbrk(w->auth_header, "\r\n") != NULL) {
		config_error(r, w->line, "%s.auth_header: must be one line",
		    where);
		rc = -1;
	}
	return rc;
}

static const char *const sla_config_formats[] = { "generic", "slack", NULL };

static const struct config_setting sla_webhook_rows[] = {
	{ .key = "name", .type = CONFIG_STRING,
	    .flags = CONFIG_REQUIRED | CONFIG_UNIQUE, .what = "webhook name",
	    CONFIG_FIELD(struct config_webhook, name) },
	{ .key = "url", .type = CONFIG_SECRET, .flags = CONFIG_REQUIRED,
	    CONFIG_FIELD(struct config_webhook, url) },
	{ .key = "format", .type = CONFIG_STRING,
	    CONFIG_FIELD(struct config_webhook, format),
	    .names = sla_config_formats, .what = "format", .sdflt = "generic" },
	{ .key = "auth_header", .type = CONFIG_SECRET,
	    CONFIG_FIELD(struct config_webhook, auth_header) },
	{ .key = NULL }
};

static const struct config_section sla_webhook_settings = { sla_webhook_rows,
    sla_config_webhook };

static const struct config_setting sla_rows[] = {
	{ .key = "webhooks", .type = CONFIG_LIST,
	    .off = offsetof(struct config_alerts, webhooks),
	    .size = sizeof(struct config_webhook),
	    .count = offsetof(struct config_alerts, nwebhooks),
	    .sub = &sla_webhook_settings },
	{ .key = "max_attempts", .type = CONFIG_INT,
	    CONFIG_FIELD(struct config_alerts, max_attempts),
	    .min = 1, .max = 100, .idflt = 8 },
	{ .key = "initial_backoff_ms", .type = CONFIG_INT,
	    CONFIG_FIELD(struct config_alerts, initial_backoff_ms),
	    .min = 1, .max = 86400000, .idflt = 1000 },
	{ .key = "max_backoff_ms", .type = CONFIG_INT,
	    CONFIG_FIELD(struct config_alerts, max_backoff_ms),
	    .min = 1, .max = 86400000, .idflt = 60000 },
	{ .key = "timeout_ms", .type = CONFIG_INT,
	    CONFIG_FIELD(struct config_alerts, timeout_ms),
	    .min = 1, .max = 600000, .idflt = 5000 },
	{ .key = NULL }
};

const struct config_section sla_settings = { sla_rows, sla_config_check };
