/*
 * dashboard: the SLA dashboard on the admin API. GET / is public and serves
 * the page compiled in from src/dashboard.html (cmake/embed.cmake turns it
 * into dashboard_html[]), with a Content-Security-Policy that allows only
 * its own inline script and style, by SHA-256 hash computed here at start.
 * GET /v1/summary (viewer) answers what the page polls every two seconds:
 * first who is still exposed (people a case must contain who can still sign
 * in somewhere, from the store's exposure queries: being frozen now, or
 * their freeze failed), then open cases by state (completed and cancelled
 * ones among the window's); for cases created in the last 24 hours the
 * share frozen within the freeze budget and completed within the complete
 * budget, and time-to-freeze percentiles and histogram (cases that freeze
 * nothing, and budgets a runbook does not set, are not judged); open cases
 * (newest first, bounded) with deadlines, breach flags and per-target
 * containment (case.h's vocabulary); recently closed cases. Queries are
 * read-only prepared statements on the store's database, bounded by the
 * window (an index on cases.created_ms kept by this module) or by LIMIT;
 * the answer is cached for a second so many open pages cost the loop no
 * more than one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "deprov/api.h"
#include "deprov/case.h"
#include "deprov/clock.h"
#include "deprov/dashboard.h"
#include "deprov/engine.h"
#include "deprov/event.h"
#include "deprov/jsonc.h"
#include "deprov/log.h"
#include "deprov/store.h"

/* Written at build time by cmake/embed.cmake from src/dashboard.html. */
extern const unsigned char	dashboard_html[];
extern const size_t		dashboard_html_len;

#define DASHBOARD_CACHE_MS	1000
#define DASHBOARD_CSP_MAX	1024
/* Rows read at most for the exposure list (its cases stop it earlier). */
#define DASHBOARD_EXPOSED_ROWS	(DASHBOARD_MAX_EXPOSED * 64)

/* Upper bounds (ms) of the time-to-freeze histogram; one more bucket above. */
static const int64_t dashboard_buckets[] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000,
};
#define DASHBOARD_NBUCKETS \
	(sizeof dashboard_buckets / sizeof dashboard_buckets[0] + 1)

struct dashboard {
	struct api	*api;
	struct store	*store;
	char		 csp[DASHBOARD_CSP_MAX];
	char		*cache;		/* last /v1/summary answer */
	size_t		 cachelen;
	int64_t		 cache_ms;
};

static int	dashboard_csp(struct dashboard *, char *, size_t);
static void	dashboard_page(struct evhttp_request *, const char *,
		    const char *, const struct api_caller *, void *);
static void	dashboard_summary_route(struct evhttp_request *, const char *,
		    const char *, const struct api_caller *, void *);

/* "sha256-<base64>" of the text between open and close in the page. */
static int
dashboard_hash_of(const char *open, const char *close, char *out,
    size_t outlen)
{
	const char	*page = (const char *)dashboard_html, *a, *b;
	unsigned char	 digest[SHA256_DIGEST_LENGTH];
	unsigned char	 b64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];

	if ((a = strstr(page, open)) == NULL)
		return -1;
	a += strlen(open);
	if ((b = strstr(a, close)) == NULL)
		return -1;
	SHA256((const unsigned char *)a, (size_t)(b - a), digest);
	EVP_EncodeBlock(b64, digest, sizeof digest);
	if ((size_t)snprintf(out, outlen, "'sha256-%s'", b64) >= outlen)
		return -1;
	/* Exactly one of each, so the hash covers all inline code. */
	return strstr(b, open) == NULL ? 0 : -1;
}

/* The page's Content-Security-Policy: nothing inline but its own code. */
static int
dashboard_csp(struct dashboard *db, char *err, size_t errlen)
{
	char script[80], style[80];

	if (dashboard_html_len == 0 ||
	    dashboard_html[dashboard_html_len - 1] != '\0' ||
	    dashboard_hash_of("<script>", "</script>", script,
	    sizeof script) != 0 ||
	    dashboard_hash_of("<style>", "</style>", style,
	    sizeof style) != 0) {
		snprintf(err, errlen, "dashboard page: expected exactly one "
		    "<script> and one <style> element");
		return -1;
	}
	snprintf(db->csp, sizeof db->csp, "default-src 'self'; script-src %s; "
	    "style-src %s; img-src 'self' data:; connect-src 'self'; "
	    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	    script, style);
	return 0;
}

struct dashboard *
dashboard_new(struct api *api, struct store *store, char *err, size_t errlen)
{
	struct dashboard	*db;

	if ((db = calloc(1, sizeof *db)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->api = api;
	db->store = store;
	if (dashboard_csp(db, err, errlen) != 0)
		goto fail;
	if (api != NULL && (api_route(api, "GET", "/", 0, API_ROLE_PUBLIC,
	    dashboard_page, db) != 0 ||
	    api_route(api, "GET", "/v1/summary", 0, API_ROLE_VIEWER,
	    dashboard_summary_route, db) != 0)) {
		snprintf(err, errlen, "dashboard: cannot add routes (route "
		    "table full?)");
		goto fail;
	}
	return db;

fail:
	dashboard_free(db);
	return NULL;
}

void
dashboard_free(struct dashboard *db)
{
	if (db == NULL)
		return;
	free(db->cache);
	free(db);
}

/* GET /: the page. Public; its data calls carry the viewer's token. */
static void
dashboard_page(struct evhttp_request *req, const char *path, const char *rest,
    const struct api_caller *who, void *arg)
{
	struct dashboard	*db = arg;
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Security-Policy", db->csp);
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	/* The generated array ends with a NUL that is not part of the page. */
	api_reply(req, 200, "text/html; charset=utf-8", dashboard_html,
	    dashboard_html_len - 1);
}

/* What kind of case it is, as the case view names it: leaver, unfreeze ... */
static const char *
dashboard_kind(const char *type)
{
	static const char prefix[] = "io.deprov.";

	if (type != NULL && strncmp(type, prefix, sizeof prefix - 1) == 0)
		return type + sizeof prefix - 1;
	return type;
}

/* The case freezes something (not an unfreeze, rescind or reinstate). */
static int
dashboard_kind_freezes(const char *type)
{
	return type == NULL || (strcmp(type, EVENT_TYPE_UNFREEZE) != 0 &&
	    strcmp(type, EVENT_TYPE_RESCINDED) != 0 &&
	    strcmp(type, EVENT_TYPE_REINSTATE) != 0);
}

/* The subject's email and employee id, for the analyst. */
static void
dashboard_put_subject(json_object *o, const char *subject)
{
	json_object *subj, *v;

	subj = subject != NULL ? json_tokener_parse(subject) : NULL;
	json_object_object_add(o, "email", subj != NULL &&
	    json_object_object_get_ex(subj, "email", &v) &&
	    json_object_is_type(v, json_type_string) ?
	    json_object_get(v) : NULL);
	json_object_object_add(o, "employee_id", subj != NULL &&
	    json_object_object_get_ex(subj, "employee_id", &v) &&
	    json_object_is_type(v, json_type_string) ?
	    json_object_get(v) : NULL);
	json_object_put(subj);
}

/* A step as GET /v1/cases/{id} serves it, as far as containment reads it. */
static int
dashboard_step_cb(const struct store_step *p, void *arg)
{
	json_object *o = json_object_new_object();

	jsonc_put_str(o, "target", p->target);
	jsonc_put_str(o, "step", p->step);
	jsonc_put_str(o, "state", p->state);
	json_object_object_add(o, "no_account", json_object_new_boolean(
	    p->no_account));
	jsonc_put_str(o, "last_error", p->last_error);
	jsonc_put_str(o, "detail", p->detail);
	json_object_object_add(o, "attempts", json_object_new_int(p->attempts));
	jsonc_put_ms(o, "finished_ms", p->finished_ms);
	json_object_array_add(arg, o);
	return 0;
}

/*
 * A case's containment per target (case_containment_json) into o as
 * "contained" (true, false, or null when it freezes nothing) and
 * "containment". -1 when the steps cannot be read.
 */
static int
dashboard_containment(struct dashboard *db, long long id, json_object *o)
{
	json_object	*steps = json_object_new_array(), *per;
	int		 contained;

	if (store_steps_of(db->store, id, dashboard_step_cb, steps) != 0) {
		json_object_put(steps);
		return -1;
	}
	per = case_containment_json(steps, &contained);
	json_object_put(steps);
	json_object_object_add(o, "contained", contained < 0 ? NULL :
	    json_object_new_boolean(contained));
	json_object_object_add(o, "containment", per);
	return 0;
}

/* Counts, and the share (0..1) met of met + breached (null: none judged). */
static json_object *
dashboard_verdict(int64_t met, int64_t breached, int64_t pending)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "met", json_object_new_int64(met));
	json_object_object_add(o, "breached", json_object_new_int64(breached));
	json_object_object_add(o, "pending", json_object_new_int64(pending));
	json_object_object_add(o, "compliance", met + breached > 0 ?
	    json_object_new_double((double)met / (double)(met + breached)) :
	    NULL);
	return o;
}

/*
 * Counts by state, every state present: the open states (escalated
 * included: it waits for a human) as they are now; completed and cancelled
 * among the cases created in the window.
 */
struct dashboard_counts {
	int64_t	n[CASE_STATE_COUNT];
	int64_t	open;
};

static int
dashboard_count_cb(const char *state, long long n, void *arg)
{
	struct dashboard_counts	*c = arg;
	int			 i = case_state_parse(state);

	if (i < 0)
		return 0;
	c->n[i] = n;
	if (i != CASE_COMPLETED && i != CASE_CANCELLED)
		c->open += n;
	return 0;
}

static int
dashboard_counts(struct dashboard *db, int64_t now, json_object *out)
{
	struct dashboard_counts	 c;
	json_object		*counts;
	int			 i;

	memset(&c, 0, sizeof c);
	if (store_summary_counts(db->store, now - DASHBOARD_WINDOW_MS,
	    dashboard_count_cb, &c) != 0)
		return -1;
	counts = json_object_new_object();
	for (i = 0; i < CASE_STATE_COUNT; i++)
		json_object_object_add(counts, case_state_name(
		    (enum case_state)i), json_object_new_int64(c.n[i]));
	json_object_object_add(out, "counts", counts);
	json_object_object_add(out, "open", json_object_new_int64(c.open));
	return 0;
}

/* SLA verdicts over the window. */
static int
dashboard_sla(struct dashboard *db, int64_t now, json_object *out)
{
	struct store_sla_figures	 f;
	json_object			*sla;

	if (store_summary_sla(db->store, now - DASHBOARD_WINDOW_MS, now,
	    &f) != 0)
		return -1;
	sla = json_object_new_object();
	json_object_object_add(sla, "window_ms", json_object_new_int64(
	    DASHBOARD_WINDOW_MS));
	json_object_object_add(sla, "cases", json_object_new_int64(f.cases));
	json_object_object_add(sla, "freeze", dashboard_verdict(f.freeze_met,
	    f.freeze_breached, f.freeze_pending));
	json_object_object_add(sla, "complete", dashboard_verdict(
	    f.complete_met, f.complete_breached, f.complete_pending));
	json_object_object_add(sla, "overall", dashboard_verdict(
	    f.overall_met, f.overall_breached, f.overall_pending));
	json_object_object_add(out, "sla", sla);
	return 0;
}

/* Time-to-freeze: count, nearest-rank p50/p95/p99, max and histogram. */
static int
dashboard_ttf(struct dashboard *db, int64_t now, json_object *out)
{
	static const int	 pcts[] = { 50, 95, 99 };
	json_object		*ttf, *hist, *b;
	int64_t			 counts[DASHBOARD_NBUCKETS], n, max;
	int64_t			 since = now - DASHBOARD_WINDOW_MS, t;
	char			 key[16];
	size_t			 i;

	if (store_summary_ttf(db->store, since, dashboard_buckets,
	    DASHBOARD_NBUCKETS - 1, counts, &n, &max) != 0)
		return -1;
	ttf = json_object_new_object();
	json_object_object_add(ttf, "count", json_object_new_int64(n));
	for (i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
		snprintf(key, sizeof key, "p%d_ms", pcts[i]);
		/* Nearest rank: the ceil(p/100 * n)-th smallest. */
		t = n > 0 ? store_summary_ttf_at(db->store, since,
		    (pcts[i] * n + 99) / 100 - 1) : -1;
		json_object_object_add(ttf, key, t >= 0 ?
		    json_object_new_int64(t) : NULL);
	}
	json_object_object_add(ttf, "max_ms", n > 0 ?
	    json_object_new_int64(max) : NULL);
	hist = json_object_new_array();
	for (i = 0; i < DASHBOARD_NBUCKETS; i++) {
		b = json_object_new_object();
		json_object_object_add(b, "le_ms", i < DASHBOARD_NBUCKETS - 1 ?
		    json_object_new_int64(dashboard_buckets[i]) : NULL);
		json_object_object_add(b, "count", json_object_new_int64(
		    counts[i]));
		json_object_array_add(hist, b);
	}
	json_object_object_add(ttf, "histogram", hist);
	json_object_object_add(out, "time_to_freeze", ttf);
	return 0;
}

/*
 * One open or recently closed case, with its SLA flags as of now (the
 * verdicts of the SLA figures) and its containment per target; NULL when
 * its steps cannot be read.
 */
static json_object *
dashboard_case_row(struct dashboard *db, const struct store_case *c,
    int64_t now)
{
	json_object	*o = json_object_new_object();
	const char	*type = c->event_type;
	int		 state = case_state_parse(c->state);
	int64_t		 created = c->created_ms, effective = c->effective_ms;
	int64_t		 fdl = c->freeze_deadline_ms;
	int64_t		 cdl = c->complete_deadline_ms;
	int64_t		 frozen = c->frozen_ms, done = c->completed_ms;
	int64_t		 due = effective > created ? effective : created;
	int		 freezes = dashboard_kind_freezes(type);

	/* A case that freezes nothing was never "frozen" (old rows were). */
	if (!freezes)
		frozen = fdl = 0;
	json_object_object_add(o, "id", json_object_new_int64(c->id));
	jsonc_put_str(o, "subject_key", c->subject_key);
	dashboard_put_subject(o, c->subject_json);
	jsonc_put_str(o, "runbook", c->runbook);
	jsonc_put_str(o, "event_type", type);
	jsonc_put_str(o, "kind", dashboard_kind(type));
	jsonc_put_str(o, "state", c->state);
	json_object_object_add(o, "urgent", json_object_new_boolean(
	    c->urgent != 0));
	json_object_object_add(o, "cancelling", json_object_new_boolean(
	    c->cancel_by != NULL && state != CASE_CANCELLED));
	jsonc_put_ms(o, "created_ms", created);
	jsonc_put_ms(o, "effective_ms", effective);
	/* When the case was due to start: the budgets count from here. */
	jsonc_put_ms(o, "due_ms", due);
	jsonc_put_ms(o, "freeze_deadline_ms", fdl);
	jsonc_put_ms(o, "complete_deadline_ms", cdl);
	jsonc_put_ms(o, "frozen_ms", frozen);
	jsonc_put_ms(o, "completed_ms", done);
	jsonc_put_str(o, "reason", c->reason);
	jsonc_put_str(o, "error", c->error);
	jsonc_put_str(o, "step_error", c->step_error);
	json_object_object_add(o, "time_to_freeze_ms", frozen > 0 ?
	    json_object_new_int64(frozen > due ? frozen - due : 0) : NULL);
	/* Same verdicts as the SLA figures. */
	json_object_object_add(o, "freeze_breached", json_object_new_boolean(
	    case_freeze_breached(fdl, frozen, state, done, now)));
	json_object_object_add(o, "complete_breached", json_object_new_boolean(
	    case_complete_breached(cdl, state, done, now)));
	if (dashboard_containment(db, c->id, o) != 0) {
		json_object_put(o);
		return NULL;
	}
	/* It locks its person out somewhere (its kind does, and a step). */
	json_object_object_add(o, "freezes", json_object_new_boolean(freezes &&
	    json_object_object_get(o, "contained") != NULL));
	return o;
}

struct dashboard_rows {
	struct dashboard	*db;
	json_object		*arr;
	int64_t			 now;
};

static int
dashboard_case_cb(const struct store_case *c, void *arg)
{
	struct dashboard_rows	*r = arg;
	json_object		*row;

	if ((row = dashboard_case_row(r->db, c, r->now)) == NULL)
		return -1;
	json_object_array_add(r->arr, row);
	return 0;
}

/* Open cases, or those closed in the window, into an array named key. */
static int
dashboard_cases(struct dashboard *db, int open, int64_t now, int limit,
    const char *key, json_object *out)
{
	struct dashboard_rows	r = { db, json_object_new_array(), now };
	int			rc;

	rc = store_summary_cases(db->store, open, now - DASHBOARD_WINDOW_MS,
	    limit, dashboard_case_cb, &r);
	json_object_object_add(out, key, r.arr);
	return rc;
}

/* Walking the exposure rows into one entry per case. */
struct dashboard_exposed {
	json_object	*cases;
	json_object	*cur;		/* the entry of the case being read */
	long long	 cur_id;
	int		 truncated;
};

/*
 * One exposed target of a case (rows come a case at a time, the cases with
 * a failed freeze first): a new entry per case, at most
 * DASHBOARD_MAX_EXPOSED; then stop.
 */
static int
dashboard_exposed_cb(const struct store_exposure *e, void *arg)
{
	struct dashboard_exposed	*x = arg;
	json_object			*t, *targets;
	enum containment		 ct;
	int				 state;

	if (x->cur == NULL || e->case_id != x->cur_id) {
		if (json_object_array_length(x->cases) >= DASHBOARD_MAX_EXPOSED) {
			x->truncated = 1;
			return 1;
		}
		x->cur = json_object_new_object();
		x->cur_id = e->case_id;
		json_object_object_add(x->cur, "case_id",
		    json_object_new_int64(e->case_id));
		jsonc_put_str(x->cur, "subject_key", e->subject_key);
		jsonc_put_str(x->cur, "runbook", e->runbook);
		jsonc_put_str(x->cur, "state", e->case_state);
		/* Exposed since the case was due: from then on it should hold. */
		jsonc_put_ms(x->cur, "since_ms", e->effective_ms >
		    e->created_ms ? e->effective_ms : e->created_ms);
		json_object_object_add(x->cur, "failed",
		    json_object_new_boolean(0));
		json_object_object_add(x->cur, "targets",
		    json_object_new_array());
		json_object_array_add(x->cases, x->cur);
	}
	state = step_state_parse(e->step_state);
	ct = containment_of_step(state < 0 ? STEP_PENDING :
	    (enum step_state)state, 0);
	t = json_object_new_object();
	jsonc_put_str(t, "target", e->target);
	jsonc_put_str(t, "status", containment_name(ct));
	jsonc_put_str(t, "step_state", e->step_state);
	json_object_object_add(t, "attempts", json_object_new_int(e->attempts));
	/* A failed or retrying freeze's error; why a freeze was skipped. */
	jsonc_put_str(t, "error", ct == CONTAIN_SKIPPED ? NULL : e->error);
	jsonc_put_str(t, "reason", ct == CONTAIN_SKIPPED ? e->error : NULL);
	if (json_object_object_get_ex(x->cur, "targets", &targets))
		json_object_array_add(targets, t);
	else
		json_object_put(t);
	if (ct == CONTAIN_FAILED || ct == CONTAIN_SKIPPED)
		json_object_object_add(x->cur, "failed",
		    json_object_new_boolean(1));
	return 0;
}

/* The rest of an exposed case's entry, from its row. */
static int
dashboard_exposed_case_cb(const struct store_case *c, void *arg)
{
	json_object *o = arg;

	dashboard_put_subject(o, c->subject_json);
	jsonc_put_str(o, "kind", dashboard_kind(c->event_type));
	jsonc_put_str(o, "reason", c->reason);
	json_object_object_add(o, "urgent", json_object_new_boolean(
	    c->urgent));
	jsonc_put_ms(o, "freeze_deadline_ms", c->freeze_deadline_ms);
	return 0;
}

/*
 * Who is still exposed: people a case must contain who can still sign in
 * somewhere (store_exposures' rule), how many are being frozen now and how
 * many have a freeze that failed (or was skipped); then the cases, those
 * with a failed freeze first, each with its exposed targets (status, error,
 * attempts) and where it is contained already.
 */
static int
dashboard_exposed(struct dashboard *db, json_object *out)
{
	struct dashboard_exposed	 x;
	json_object			*o, *e, *per, *at, *v;
	long long			 people, failed;
	size_t				 i, j, n;
	int				 r;

	if (store_exposure_split(db->store, &people, &failed) != 0)
		return -1;
	memset(&x, 0, sizeof x);
	x.cases = json_object_new_array();
	r = store_exposures(db->store, DASHBOARD_EXPOSED_ROWS,
	    dashboard_exposed_cb, &x);
	if (r < 0) {
		json_object_put(x.cases);
		return -1;
	}
	n = json_object_array_length(x.cases);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(x.cases, i);
		if (store_case_get(db->store, json_object_get_int64(
		    json_object_object_get(e, "case_id")),
		    dashboard_exposed_case_cb, e) != 0 ||
		    dashboard_containment(db, json_object_get_int64(
		    json_object_object_get(e, "case_id")), e) != 0) {
			json_object_put(x.cases);
			return -1;
		}
		/* Where the case holds already, named for the headline. */
		at = json_object_new_array();
		per = json_object_object_get(e, "containment");
		for (j = 0; j < json_object_array_length(per); j++) {
			v = json_object_object_get(json_object_array_get_idx(
			    per, j), "contained");
			if (v != NULL && json_object_get_boolean(v))
				json_object_array_add(at, json_object_get(
				    json_object_object_get(
				    json_object_array_get_idx(per, j),
				    "target")));
		}
		json_object_object_add(e, "contained_at", at);
	}
	o = json_object_new_object();
	json_object_object_add(o, "people", json_object_new_int64(people));
	json_object_object_add(o, "failed", json_object_new_int64(failed));
	json_object_object_add(o, "being_frozen", json_object_new_int64(
	    people - failed));
	json_object_object_add(o, "cases", x.cases);
	json_object_object_add(o, "truncated", json_object_new_boolean(
	    x.truncated));
	json_object_object_add(out, "exposed", o);
	return 0;
}

json_object *
dashboard_summary(struct dashboard *db, int64_t now, char *err, size_t errlen)
{
	json_object	*o = json_object_new_object();
	int64_t		 open;

	json_object_object_add(o, "now_ms", json_object_new_int64(now));
	json_object_object_add(o, "window_ms", json_object_new_int64(
	    DASHBOARD_WINDOW_MS));
	if (dashboard_exposed(db, o) != 0 ||
	    dashboard_counts(db, now, o) != 0 || dashboard_sla(db, now, o) != 0 ||
	    dashboard_ttf(db, now, o) != 0 ||
	    dashboard_cases(db, 1, now, DASHBOARD_MAX_OPEN, "open_cases",
	    o) != 0 ||
	    dashboard_cases(db, 0, now, DASHBOARD_MAX_RECENT, "recent",
	    o) != 0) {
		snprintf(err, errlen, "store: %s", store_errmsg(db->store));
		json_object_put(o);
		return NULL;
	}
	open = json_object_get_int64(json_object_object_get(o, "open"));
	json_object_object_add(o, "open_truncated", json_object_new_boolean(
	    open > DASHBOARD_MAX_OPEN));
	return o;
}

/* GET /v1/summary (viewer), from a cache at most a second old. */
static void
dashboard_summary_route(struct evhttp_request *req, const char *path,
    const char *rest, const struct api_caller *who, void *arg)
{
	struct dashboard	*db = arg;
	json_object		*o;
	const char		*s;
	int64_t			 now = clock_wall_ms();
	char			 err[256], *copy;
	size_t			 len;

	if (db->cache == NULL || now - db->cache_ms >= DASHBOARD_CACHE_MS ||
	    now < db->cache_ms) {
		if ((o = dashboard_summary(db, now, err, sizeof err)) == NULL) {
			log_error("dashboard", "summary: %s", err);
			api_error(req, 500, "store", "cannot read the summary");
			return;
		}
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		len = strlen(s);
		if ((copy = malloc(len + 2)) == NULL) {
			json_object_put(o);
			api_error(req, 500, "internal", "out of memory");
			return;
		}
		memcpy(copy, s, len);
		copy[len] = '\n';
		copy[len + 1] = '\0';
		json_object_put(o);
		free(db->cache);
		db->cache = copy;
		db->cachelen = len + 1;
		db->cache_ms = now;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	api_reply(req, 200, "application/json", db->cache, db->cachelen);
}
