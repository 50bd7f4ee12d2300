/*
 * evidence: the access-removal evidence export (evidence.h,
 * docs/EVIDENCE.md). A row per leaver case and target is built from the
 * case and its steps (store-evidence.c selects the cases, a window of ids
 * at a time); GET /v1/evidence sends one window per part through
 * api_stream, so the loop is held for one bounded query at a time and the
 * memory for one part, and a slow client only slows the export down. The
 * last lines name the audit chain's head, read after every row (so every
 * row's audit range lies within it), and the SHA-256 of all the bytes
 * before the digest line; the export is then recorded in the audit trail
 * with that digest, which anchors the file in the hash chain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "deprov/api.h"
#include "deprov/audit.h"
#include "deprov/case.h"
#include "deprov/clock.h"
#include "deprov/event.h"
#include "deprov/evidence.h"
#include "deprov/jsonc.h"
#include "deprov/log.h"
#include "deprov/store.h"

/* Case ids looked at per part: each costs one lookup, matching or not. */
#define EVIDENCE_WINDOW		256
#define EVIDENCE_MAX_STEPS	256	/* of one case; more is a broken store */
#define EVIDENCE_VERSION	1
#define EVIDENCE_SELECTED_BY	"termination_time"
/* Room for any time evidence_time writes (a year may be long to gcc). */
#define EVIDENCE_TIME_LEN	64

enum evidence_phase {
	EVIDENCE_HEADER = 0,
	EVIDENCE_ROWS,
	EVIDENCE_TRAILER,
	EVIDENCE_DONE
};

struct evidence_export {
	struct store		*store;
	enum evidence_format	 fmt;
	enum evidence_phase	 phase;
	int64_t			 from_ms;
	int64_t			 to_ms;
	int64_t			 now_ms;
	long long		 after;		/* cases up to this id are done */
	long long		 last;		/* the largest id at the start */
	long long		 rows;
	long long		 head_seq;
	char			 head_hash[AUDIT_HASH_HEX + 1];
	char			 sha256[2 * EVP_MAX_MD_SIZE + 1];
	EVP_MD_CTX		*md;
	struct evbuffer		*part;		/* the part being made */
};

/* A case's steps, copied out of the store's callback. */
struct evidence_steps {
	struct store_step	 s[EVIDENCE_MAX_STEPS];
	size_t			 n;
	int			 oom;
};

/* One GET /v1/evidence being sent. */
struct evidence_job {
	struct evidence		*ev;
	struct api_stream	*stream;
	struct evidence_export	*ex;
	char			*actor;
	char			*from;		/* as asked, for the audit record */
	char			*to;
	int			 last_sent;	/* the trailer has gone out */
	struct evidence_job	*next;
};

struct evidence {
	struct api		*api;
	struct store		*store;
	struct audit		*audit;
	struct evidence_job	*jobs;
};

static const char *const evidence_params[] = { "from", "to", "format", NULL };

static const char *const evidence_csv_cols[] = {
	"subject", "case_id", "runbook", "case_state", "target",
	"terminated_at", "event_received_at", "frozen_at", "tokens_revoked_at",
	"deactivated_at", "freeze_sla", "complete_sla", "audit_seq_first",
	"audit_seq_last", NULL
};

/* RFC 3339 UTC with milliseconds; "" for 0. */
static const char *
evidence_time(int64_t ms, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t;

	if (ms <= 0) {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return buf;
}

/* What a step says at the target: its status and, succeeded, its time. */
static struct evidence_step
evidence_step_of(const struct store_step *p)
{
	struct evidence_step	e = { "none", 0 };
	int			st;

	if (p == NULL)
		return e;
	switch ((st = step_state_parse(p->state != NULL ? p->state : ""))) {
	case STEP_SUCCEEDED:
		e.status = "succeeded";
		e.at_ms = p->finished_ms;
		break;
	case STEP_SKIPPED:
		/* No account there: nothing to remove, said apart from a skip. */
		e.status = p->no_account ? "no_account" : "skipped";
		break;
	case STEP_FAILED:
		e.status = "failed";
		break;
	default:
		e.status = "pending";
		break;
	}
	return e;
}

/*
 * The freeze verdict at one target: case.h's rules with the target's own
 * freeze for the case's containment. A target whose freeze found no
 * account had nothing to lock: met when the case ran it.
 */
static const char *
evidence_freeze_sla(const struct store_case *c, const struct store_step *fz,
    int64_t now)
{
	int64_t		frozen = 0;
	int		st = case_state_parse(c->state != NULL ? c->state : "");

	if (c->freeze_deadline_ms <= 0 || fz == NULL)
		return "none";
	if (fz->finished_ms > 0 && containment_holds(containment_of_step(
	    (enum step_state)step_state_parse(fz->state), fz->no_account)))
		frozen = fz->finished_ms;
	if (case_freeze_breached(c->freeze_deadline_ms, frozen,
	    (enum case_state)st, c->completed_ms, now))
		return "breached";
	if (frozen > 0)
		return "met";
	return st == CASE_CANCELLED ? "not_judged" : "pending";
}

/*
 * The completion verdict at one target: done when every step there has
 * succeeded or been skipped, at the last one's finish; judged against the
 * case's complete deadline as case_complete_breached judges the case.
 */
static const char *
evidence_complete_sla(const struct store_case *c, const struct store_step *p,
    size_t n, int64_t now)
{
	int64_t	done = 0;
	size_t	i;
	int	st, open = 0;

	if (c->complete_deadline_ms <= 0)
		return "none";
	for (i = 0; i < n; i++) {
		st = step_state_parse(p[i].state != NULL ? p[i].state : "");
		if (st != STEP_SUCCEEDED && st != STEP_SKIPPED)
			open = 1;
		else if (p[i].finished_ms > done)
			done = p[i].finished_ms;
	}
	if (!open)
		return done > c->complete_deadline_ms ? "breached" : "met";
	if (case_state_parse(c->state != NULL ? c->state : "") ==
	    CASE_CANCELLED)
		return "not_judged";
	return now > c->complete_deadline_ms ? "breached" : "pending";
}

int
evidence_rows_of(const struct store_evidence_case *e,
    const struct store_step *steps, size_t nsteps, int64_t now_ms,
    evidence_row_cb cb, void *arg)
{
	const struct store_step	*fz, *rv, *de;
	struct evidence_row	 row;
	size_t			 i, j;
	int			 r;

	for (i = 0; i < nsteps; i = j) {
		fz = rv = de = NULL;
		/* The target's steps are together (by target, then seq). */
		for (j = i; j < nsteps && strcmp(steps[j].target,
		    steps[i].target) == 0; j++) {
			if (strcmp(steps[j].step, "freeze") == 0)
				fz = &steps[j];
			else if (strcmp(steps[j].step, "revoke_tokens") == 0)
				rv = &steps[j];
			else if (strcmp(steps[j].step, "deactivate") == 0)
				de = &steps[j];
		}
		memset(&row, 0, sizeof row);
		row.subject = e->c.subject_key;
		row.case_id = e->c.id;
		row.runbook = e->c.runbook;
		row.case_state = e->c.state;
		row.target = steps[i].target;
		row.terminated_ms = e->c.effective_ms > 0 ? e->c.effective_ms :
		    e->c.created_ms;
		row.received_ms = e->c.created_ms;
		row.freeze = evidence_step_of(fz);
		row.revoke = evidence_step_of(rv);
		row.deactivate = evidence_step_of(de);
		row.freeze_sla = evidence_freeze_sla(&e->c, fz, now_ms);
		row.complete_sla = evidence_complete_sla(&e->c, &steps[i], j - i,
		    now_ms);
		row.audit_first = e->audit_first;
		row.audit_last = e->audit_last;
		if ((r = cb(&row, arg)) != 0)
			return r;
	}
	return 0;
}

int
evidence_csv_field(struct evbuffer *b, const char *v)
{
	const char	*p;
	int		 quote, r = 0;

	if (v == NULL)
		return 0;
	quote = strpbrk(v, ",\"\r\n") != NULL;
	if (quote)
		r |= evbuffer_add(b, "\"", 1);
	/* A spreadsheet runs a cell starting so as a formula: made text. */
	if (v[0] != '\0' && strchr("=+-@\t\r", v[0]) != NULL)
		r |= evbuffer_add(b, "'", 1);
	for (p = v; *p != '\0'; p++) {
		r |= evbuffer_add(b, p, 1);
		if (*p == '"')
			r |= evbuffer_add(b, "\"", 1);	/* doubled */
	}
	if (quote)
		r |= evbuffer_add(b, "\"", 1);
	return r != 0 ? -1 : 0;
}

int
evidence_csv_header(struct evbuffer *b)
{
	size_t	i;
	int	r = 0;

	for (i = 0; evidence_csv_cols[i] != NULL; i++)
		r |= evbuffer_add_printf(b, "%s%s", i ? "," : "",
		    evidence_csv_cols[i]) < 0;
	r |= evbuffer_add(b, "\r\n", 2);
	return r != 0 ? -1 : 0;
}

/* A step's cell: its time when it succeeded, else its status. */
static const char *
evidence_step_cell(const struct evidence_step *s, char *buf, size_t len)
{
	return s->at_ms > 0 ? evidence_time(s->at_ms, buf, len) : s->status;
}

int
evidence_csv_row(struct evbuffer *b, const struct evidence_row *w)
{
	char	t[2][EVIDENCE_TIME_LEN], f[3][EVIDENCE_TIME_LEN], id[3][24];
	int	r = 0;

	snprintf(id[0], sizeof id[0], "%lld", w->case_id);
	snprintf(id[1], sizeof id[1], "%lld", w->audit_first);
	snprintf(id[2], sizeof id[2], "%lld", w->audit_last);
	const char *cells[] = {
		w->subject, id[0], w->runbook, w->case_state, w->target,
		evidence_time(w->terminated_ms, t[0], sizeof t[0]),
		evidence_time(w->received_ms, t[1], sizeof t[1]),
		evidence_step_cell(&w->freeze, f[0], sizeof f[0]),
		evidence_step_cell(&w->revoke, f[1], sizeof f[1]),
		evidence_step_cell(&w->deactivate, f[2], sizeof f[2]),
		w->freeze_sla, w->complete_sla, id[1], id[2],
	};
	size_t	i;

	_Static_assert(sizeof cells / sizeof cells[0] ==
	    sizeof evidence_csv_cols / sizeof evidence_csv_cols[0] - 1,
	    "a cell per CSV column");
	for (i = 0; i < sizeof cells / sizeof cells[0]; i++) {
		if (i > 0)
			r |= evbuffer_add(b, ",", 1);
		r |= evidence_csv_field(b, cells[i]);
	}
	r |= evbuffer_add(b, "\r\n", 2);
	return r != 0 ? -1 : 0;
}

/* A time member: RFC 3339, or null. */
static void
evidence_json_time(json_object *o, const char *key, int64_t ms)
{
	char buf[EVIDENCE_TIME_LEN];

	json_object_object_add(o, key, ms > 0 ? json_object_new_string(
	    evidence_time(ms, buf, sizeof buf)) : NULL);
}

int
evidence_json_row(struct evbuffer *b, const struct evidence_row *w)
{
	json_object	*o = json_object_new_object(), *seq;
	int		 r;

	if (o == NULL)
		return -1;
	jsonc_put_str(o, "subject", w->subject);
	json_object_object_add(o, "case_id", json_object_new_int64(w->case_id));
	jsonc_put_str(o, "runbook", w->runbook);
	jsonc_put_str(o, "case_state", w->case_state);
	jsonc_put_str(o, "target", w->target);
	evidence_json_time(o, "terminated_at", w->terminated_ms);
	evidence_json_time(o, "event_received_at", w->received_ms);
	jsonc_put_str(o, "freeze", w->freeze.status);
	evidence_json_time(o, "frozen_at", w->freeze.at_ms);
	jsonc_put_str(o, "revoke_tokens", w->revoke.status);
	evidence_json_time(o, "tokens_revoked_at", w->revoke.at_ms);
	jsonc_put_str(o, "deactivate", w->deactivate.status);
	evidence_json_time(o, "deactivated_at", w->deactivate.at_ms);
	jsonc_put_str(o, "freeze_sla", w->freeze_sla);
	jsonc_put_str(o, "complete_sla", w->complete_sla);
	seq = json_object_new_object();
	json_object_object_add(seq, "first", json_object_new_int64(
	    w->audit_first));
	json_object_object_add(seq, "last", json_object_new_int64(
	    w->audit_last));
	json_object_object_add(o, "audit_seq", seq);
	r = evbuffer_add_printf(b, "%s", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN)) < 0 ? -1 : 0;
	json_object_put(o);
	return r;
}

struct evidence_export *
evidence_export_new(struct store *store, enum evidence_format fmt,
    int64_t from_ms, int64_t to_ms, int64_t now_ms)
{
	struct evidence_export *ex;

	if ((ex = calloc(1, sizeof *ex)) == NULL)
		return NULL;
	ex->store = store;
	ex->fmt = fmt;
	ex->from_ms = from_ms;
	ex->to_ms = to_ms;
	ex->now_ms = now_ms;
	if ((ex->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ex->md, EVP_sha256(), NULL) != 1 ||
	    (ex->part = evbuffer_new()) == NULL) {
		evidence_export_free(ex);
		return NULL;
	}
	return ex;
}

void
evidence_export_free(struct evidence_export *ex)
{
	if (ex == NULL)
		return;
	EVP_MD_CTX_free(ex->md);
	if (ex->part != NULL)
		evbuffer_free(ex->part);
	free(ex);
}

long long
evidence_export_rows(const struct evidence_export *ex)
{
	return ex->rows;
}

const char *
evidence_export_sha256(const struct evidence_export *ex)
{
	return ex->sha256;
}

long long
evidence_export_head(const struct evidence_export *ex)
{
	return ex->head_seq;
}

/* Copy one step out of the store's callback (its strings are the store's). */
static int
evidence_step_copy(const struct store_step *p, void *arg)
{
	struct evidence_steps	*ss = arg;
	struct store_step	*d;

	if (ss->n == EVIDENCE_MAX_STEPS)
		return 0;	/* a store no runbook makes: the rest left out */
	d = &ss->s[ss->n];
	memset(d, 0, sizeof *d);
	d->target = strdup(p->target != NULL ? p->target : "");
	d->step = strdup(p->step != NULL ? p->step : "");
	d->state = strdup(p->state != NULL ? p->state : "");
	d->finished_ms = p->finished_ms;
	d->no_account = p->no_account;
	if (d->target == NULL || d->step == NULL || d->state == NULL) {
		ss->oom = 1;
		free((char *)d->target);
		free((char *)d->step);
		free((char *)d->state);
		return -1;
	}
	ss->n++;
	return 0;
}

static void
evidence_steps_clear(struct evidence_steps *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++) {
		free((char *)ss->s[i].target);
		free((char *)ss->s[i].step);
		free((char *)ss->s[i].state);
	}
	ss->n = 0;
}

/* One row into the part being made. */
static int
evidence_export_row(const struct evidence_row *w, void *arg)
{
	struct evidence_export	*ex = arg;
	int			 r;

	if (ex->fmt == EVIDENCE_CSV)
		r = evidence_csv_row(ex->part, w);
	/* Rows after the first open with the comma: the last is not known. */
	else if ((r = ex->rows > 0 ? evbuffer_add(ex->part, ",", 1) : 0) == 0 &&
	    (r = evidence_json_row(ex->part, w)) == 0)
		r = evbuffer_add(ex->part, "\n", 1);
	ex->rows++;
	return r;
}

/* One case's rows. */
static int
evidence_export_case(const struct store_evidence_case *e, void *arg)
{
	struct evidence_export	*ex = arg;
	struct evidence_steps	*ss;
	int			 r;

	if ((ss = calloc(1, sizeof *ss)) == NULL)
		return -1;
	r = store_steps_of(ex->store, e->c.id, evidence_step_copy, ss);
	if (r == 0 && !ss->oom)
		r = evidence_rows_of(e, ss->s, ss->n, ex->now_ms,
		    evidence_export_row, ex);
	evidence_steps_clear(ss);
	free(ss);
	return r != 0 ? -1 : 0;
}

/* The JSON header's range and time, and the CSV trailer's. */
static void
evidence_export_meta(const struct evidence_export *ex,
    char from[EVIDENCE_TIME_LEN], char to[EVIDENCE_TIME_LEN],
    char gen[EVIDENCE_TIME_LEN])
{
	evidence_time(ex->from_ms, from, EVIDENCE_TIME_LEN);
	evidence_time(ex->to_ms, to, EVIDENCE_TIME_LEN);
	evidence_time(ex->now_ms, gen, EVIDENCE_TIME_LEN);
}

/* The header (before any row). */
static int
evidence_export_header(struct evidence_export *ex)
{
	char from[EVIDENCE_TIME_LEN], to[EVIDENCE_TIME_LEN], gen[EVIDENCE_TIME_LEN];

	if (ex->fmt == EVIDENCE_CSV)
		return evidence_csv_header(ex->part);
	evidence_export_meta(ex, from, to, gen);
	return evbuffer_add_printf(ex->part, "{\"evidence\":{\"version\":%d,"
	    "\"from\":\"%s\",\"to\":\"%s\",\"selected_by\":\"%s\","
	    "\"generated_at\":\"%s\"},\n\"rows\":[\n", EVIDENCE_VERSION, from,
	    to, EVIDENCE_SELECTED_BY, gen) < 0 ? -1 : 0;
}

/* The head of the chain, then what the digest line needs before it. */
static int
evidence_export_trailer(struct evidence_export *ex)
{
	char from[EVIDENCE_TIME_LEN], to[EVIDENCE_TIME_LEN], gen[EVIDENCE_TIME_LEN];

	/* Read after every row: each row's records are at or below it. */
	if (store_audit_last(ex->store, &ex->head_seq, ex->head_hash,
	    sizeof ex->head_hash) != 0)
		return -1;
	evidence_export_meta(ex, from, to, gen);
	if (ex->fmt == EVIDENCE_CSV)
		return evbuffer_add_printf(ex->part, "#evidence;version=%d;"
		    "from=%s;to=%s;selected_by=%s;generated_at=%s;rows=%lld\r\n"
		    "#audit_head;seq=%lld;hash=%s\r\n", EVIDENCE_VERSION, from,
		    to, EVIDENCE_SELECTED_BY, gen, ex->rows, ex->head_seq,
		    ex->head_hash) < 0 ? -1 : 0;
	return evbuffer_add_printf(ex->part, "],\n\"rows_count\":%lld,"
	    "\"audit_head\":{\"seq\":%lld,\"hash\":\"%s\"},\n", ex->rows,
	    ex->head_seq, ex->head_hash) < 0 ? -1 : 0;
}

/* Hash what the part holds and hand it over to out. */
static int
evidence_export_flush(struct evidence_export *ex, struct evbuffer *out)
{
	size_t	len = evbuffer_get_length(ex->part);

	if (len > 0 && EVP_DigestUpdate(ex->md, evbuffer_pullup(ex->part, -1),
	    len) != 1)
		return -1;
	return evbuffer_add_buffer(out, ex->part) != 0 ? -1 : 0;
}

/* The digest line: the SHA-256 of every byte before it. */
static int
evidence_export_digest(struct evidence_export *ex, struct evbuffer *out)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	len = 0, i;

	if (EVP_DigestFinal_ex(ex->md, md, &len) != 1)
		return -1;
	for (i = 0; i < len; i++)
		snprintf(ex->sha256 + 2 * i, 3, "%02x", md[i]);
	if (ex->fmt == EVIDENCE_CSV)
		return evbuffer_add_printf(out, "#sha256;%s\r\n", ex->sha256) <
		    0 ? -1 : 0;
	return evbuffer_add_printf(out, "\"sha256\":\"%s\"}\n", ex->sha256) <
	    0 ? -1 : 0;
}

int
evidence_export_part(struct evidence_export *ex, struct evbuffer *out)
{
	long long	upto;
	int		r = 0;

	switch (ex->phase) {
	case EVIDENCE_HEADER:
		/* Cases opened from now on are not this export's. */
		if (store_evidence_last_id(ex->store, &ex->last) != 0 ||
		    evidence_export_header(ex) != 0)
			return -1;
		ex->phase = EVIDENCE_ROWS;
		break;
	case EVIDENCE_ROWS:
		upto = ex->after + EVIDENCE_WINDOW;
		if (upto > ex->last)
			upto = ex->last;
		if (store_evidence_cases(ex->store, ex->after, upto,
		    ex->from_ms, ex->to_ms, evidence_export_case, ex) != 0)
			return -1;
		ex->after = upto;
		if (ex->after >= ex->last)
			ex->phase = EVIDENCE_TRAILER;
		break;
	case EVIDENCE_TRAILER:
		if (evidence_export_trailer(ex) != 0 ||
		    evidence_export_flush(ex, out) != 0 ||
		    evidence_export_digest(ex, out) != 0)
			return -1;
		ex->phase = EVIDENCE_DONE;
		return 0;
	case EVIDENCE_DONE:
		return 0;
	}
	if (evidence_export_flush(ex, out) != 0)
		r = -1;
	return r != 0 ? -1 : 1;
}

int
evidence_range(const char *from, const char *to, int64_t *from_ms,
    int64_t *to_ms, char *err, size_t errlen)
{
	const char	*name[2] = { "from", "to" };
	const char	*v[2] = { from, to };
	int64_t		*out[2] = { from_ms, to_ms };
	time_t		 t;
	int		 i;

	for (i = 0; i < 2; i++) {
		if (v[i] == NULL || *v[i] == '\0') {
			snprintf(err, errlen, "%s is required (RFC 3339 "
			    "2026-03-01T09:00:00Z, or a date 2026-03-01)",
			    name[i]);
			return -1;
		}
		if ((t = event_parse_time(v[i])) == (time_t)-1) {
			snprintf(err, errlen, "%s: not an RFC 3339 time or a "
			    "date (2026-03-01T09:00:00Z, 2026-03-01): \"%.40s\"",
			    name[i], v[i]);
			return -1;
		}
		*out[i] = (int64_t)t * 1000;
	}
	/* A date as the end counts its whole day: to 2026-03-31 holds the 31st. */
	if (strlen(to) == 10)
		*to_ms += 24LL * 3600 * 1000;
	if (*from_ms >= *to_ms) {
		snprintf(err, errlen, "from must be before to");
		return -1;
	}
	return 0;
}

/* Forget a job and free it (its stream ended or never began). */
static void
evidence_job_free(struct evidence_job *job)
{
	struct evidence_job **pp;

	for (pp = &job->ev->jobs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == job) {
			*pp = job->next;
			break;
		}
	api_stream_end(job->stream);
	evidence_export_free(job->ex);
	free(job->actor);
	free(job->from);
	free(job->to);
	free(job);
}

/* The export went out whole: the digest goes into the hash chain. */
static void
evidence_job_record(struct evidence_job *job)
{
	json_object *d;

	if (job->ev->audit == NULL || (d = json_object_new_object()) == NULL)
		return;
	json_object_object_add(d, "from", json_object_new_string(job->from));
	json_object_object_add(d, "to", json_object_new_string(job->to));
	json_object_object_add(d, "format", json_object_new_string(
	    job->ex->fmt == EVIDENCE_CSV ? "csv" : "json"));
	json_object_object_add(d, "rows", json_object_new_int64(
	    evidence_export_rows(job->ex)));
	json_object_object_add(d, "audit_head_seq", json_object_new_int64(
	    evidence_export_head(job->ex)));
	json_object_object_add(d, "sha256", json_object_new_string(
	    evidence_export_sha256(job->ex)));
	audit_append(job->ev->audit, "evidence.export", 0, job->actor, NULL,
	    NULL, json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN));
	json_object_put(d);
}

/* The stream wants its next part (api_stream_cb). */
static void
evidence_more(struct api_stream *s, void *arg)
{
	struct evidence_job	*job = arg;
	struct evbuffer		*out;
	int			 r;

	if (api_stream_gone(s)) {
		log_info("evidence", "export for %s: the client went away after "
		    "%lld rows", job->actor, evidence_export_rows(job->ex));
		evidence_job_free(job);
		return;
	}
	if (job->last_sent) {
		evidence_job_record(job);
		log_info("evidence", "export for %s: %lld rows, sha256 %s",
		    job->actor, evidence_export_rows(job->ex),
		    evidence_export_sha256(job->ex));
		evidence_job_free(job);
		return;
	}
	if ((out = evbuffer_new()) == NULL ||
	    (r = evidence_export_part(job->ex, out)) < 0) {
		/*
		 * The status line is gone: ending without the digest line is
		 * how the client learns that the export is incomplete.
		 */
		log_error("evidence", "export for %s stopped after %lld rows: "
		    "cannot read the store", job->actor,
		    evidence_export_rows(job->ex));
		if (out != NULL)
			evbuffer_free(out);
		evidence_job_free(job);
		return;
	}
	job->last_sent = r == 0;
	api_stream_send(s, out);
	evbuffer_free(out);
}

/* GET /v1/evidence?from=&to=&format=csv|json */
static void
evidence_route(struct evhttp_request *req, const char *path, const char *rest,
    const struct api_caller *who, void *arg)
{
	struct evidence			*ev = arg;
	struct evidence_job		*job = NULL;
	enum evidence_format		 fmt = EVIDENCE_CSV;
	struct evkeyvalq		 q;
	const char			*format, *from, *to;
	int64_t				 from_ms, to_ms;
	char				 why[256];

	/* A typo in "from" must not export another range than the one meant. */
	if (api_query(req, &q, evidence_params) != 0)
		return;
	from = evhttp_find_header(&q, "from");
	to = evhttp_find_header(&q, "to");
	if (evidence_range(from, to, &from_ms, &to_ms, why, sizeof why) != 0) {
		api_error(req, 400, "bad_request", why);
		goto done;
	}
	if ((format = evhttp_find_header(&q, "format")) != NULL &&
	    strcmp(format, "csv") != 0) {
		if (strcmp(format, "json") != 0) {
			api_error(req, 400, "bad_request", "format: csv or json");
			goto done;
		}
		fmt = EVIDENCE_JSON;
	}
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		api_reply(req, 200, fmt == EVIDENCE_CSV ? "text/csv" :
		    "application/json", NULL, 0);
		goto done;
	}
	if ((job = calloc(1, sizeof *job)) == NULL) {
		api_error(req, 500, "internal", "out of memory");
		goto done;
	}
	job->ev = ev;
	if ((job->ex = evidence_export_new(ev->store, fmt, from_ms, to_ms,
	    clock_wall_ms())) == NULL ||
	    (job->actor = strdup(who->name != NULL ? who->name : "-")) ==
	    NULL || (job->from = strdup(from)) == NULL ||
	    (job->to = strdup(to)) == NULL) {
		api_error(req, 500, "internal", "out of memory");
		evidence_job_free(job);
		goto done;
	}
	if ((job->stream = api_stream_start(ev->api, req, fmt == EVIDENCE_CSV ?
	    "text/csv; charset=utf-8" : "application/json", evidence_more,
	    job)) == NULL) {
		api_error(req, 503, "unavailable", "cannot stream the export");
		evidence_job_free(job);
		goto done;
	}
	job->next = ev->jobs;
	ev->jobs = job;
done:
	evhttp_clear_headers(&q);
}

struct evidence *
evidence_new(struct api *api, struct store *store, struct audit *audit,
    char *err, size_t errlen)
{
	struct evidence *ev;

	if ((ev = calloc(1, sizeof *ev)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ev->api = api;
	ev->store = store;
	ev->audit = audit;
	/*
	 * Viewer: the export is the case views (GET /v1/cases, same role)
	 * put in one file; it changes nothing, and the auditors who need
	 * it should hold the least role there is.
	 */
	if (api != NULL && api_route(api, "GET", "/v1/evidence", 0,
	    API_ROLE_VIEWER, evidence_route, ev) != 0) {
		snprintf(err, errlen, "evidence: too many API routes");
		free(ev);
		return NULL;
	}
	return ev;
}

void
evidence_free(struct evidence *ev)
{
	if (ev == NULL)
		return;
	/* After api_free: every stream has been let go of by then. */
	while (ev->jobs != NULL)
		evidence_job_free(ev->jobs);
	free(ev);
}
