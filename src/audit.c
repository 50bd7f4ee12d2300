/*
 * audit: the hash-chained audit trail, kept in the store. An engine
 * observer turns every engine event into a record; other modules append
 * their own actions with audit_append. The last seq and hash are kept in
 * memory so that an append is one write; the store refuses it when the
 * record does not really follow the last one (a rolled-back transaction
 * may have taken an appended record with it), and then the last record is
 * read again and the append retried. Inside an open transaction a record
 * joins it; outside one, with a loop, records wait for the end of the loop
 * turn and are written together in one transaction, so that a burst of
 * engine events costs one fsync, not one each. audit_verify and
 * audit_export work on any store (deprovctl opens it read-only). The hash
 * is defined in audit.h.
 */
#include <sys/queue.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "deprov/audit.h"
#include "deprov/clock.h"
#include "deprov/engine.h"
#include "deprov/log.h"
#include "deprov/store.h"

#define AUDIT_ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_HASH_PREFIX	"deprov-audit-v1\n"
#define AUDIT_ACTOR		"deprovd"
#define AUDIT_MAX_PENDING	4096	/* then written at once */

/* A record waiting for the end of the loop turn (seq and hashes come then). */
struct audit_rec {
	int64_t			 ts_ms;
	char			*kind;
	long long		 case_id;
	char			*actor;
	char			*target;
	char			*step;
	char			*detail;
	TAILQ_ENTRY(audit_rec)	 entry;
};
TAILQ_HEAD(audit_recs, audit_rec);

struct audit {
	struct store		*store;
	long long		 last_seq;
	char			 last_hash[AUDIT_HASH_HEX + 1];
	uint64_t		 undos;		/* store_undo_count at the last write */
	struct event		*flush_ev;	/* NULL = write at once */
	struct audit_recs	 pending;
	size_t			 npending;
};

static int	audit_load_last(struct audit *);
static void	audit_flush(struct audit *);
static char	*audit_clean_detail(const char *, int);
static int	 audit_add(struct audit *, const char *, long long,
		    const char *, const char *, const char *, const char *, int);
static void	audit_on_engine(const struct engine_event *, void *);

/* Decimal digits of v into buf (no NUL); returns where they start. */
static char *
audit_decimal(char *end, unsigned long long v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

/*
 * The text a record's hash covers, built whole and digested at once: one
 * digest call per field part costs more than the hash itself.
 */
struct audit_msg {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 oom;
	char	 small[2048];
};

static void
audit_msg_add(struct audit_msg *m, const void *v, size_t len)
{
	char	*n;
	size_t	 cap;

	if (m->oom)
		return;
	if (m->len + len > m->cap) {
		cap = (m->len + len) * 2;
		if ((n = malloc(cap)) == NULL) {
			m->oom = 1;
			return;
		}
		memcpy(n, m->p, m->len);
		if (m->p != m->small)
			free(m->p);
		m->p = n;
		m->cap = cap;
	}
	memcpy(m->p + m->len, v, len);
	m->len += len;
}

/* One netstring field of len bytes (NULL = "~,"). */
static void
audit_field_n(struct audit_msg *m, const char *v, size_t len)
{
	char	 buf[32], *end = buf + sizeof buf, *p;

	if (v == NULL) {
		audit_msg_add(m, "~,", 2);
		return;
	}
	end[-1] = ':';
	p = audit_decimal(end - 1, len);
	audit_msg_add(m, p, (size_t)(end - p));
	audit_msg_add(m, v, len);
	audit_msg_add(m, ",", 1);
}

static void
audit_field(struct audit_msg *m, const char *v)
{
	audit_field_n(m, v, v != NULL ? strlen(v) : 0);
}

static void
audit_field_int(struct audit_msg *m, long long v, int null)
{
	char	 s[32], *end = s + sizeof s, *p;

	if (null) {
		audit_field(m, NULL);
		return;
	}
	/* As "%lld" would print it. */
	if (v < 0) {
		p = audit_decimal(end, 0ULL - (unsigned long long)v);
		*--p = '-';
	} else
		p = audit_decimal(end, (unsigned long long)v);
	audit_field_n(m, p, (size_t)(end - p));
}

/* SHA-256, fetched once: a fetch per record costs as much as the hash. */
static EVP_MD		*audit_sha256;
static pthread_once_t	 audit_sha256_once = PTHREAD_ONCE_INIT;

static void
audit_sha256_fetch(void)
{
	audit_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void
audit_hash(long long seq, int64_t ts_ms, const char *kind, long long case_id,
    const char *actor, const char *target, const char *step, const char *detail,
    const char *prev_hash, char out[AUDIT_HASH_HEX + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	struct audit_msg	 m;
	const EVP_MD		*type;
	unsigned char		 digest[EVP_MAX_MD_SIZE];
	unsigned int		 n = 0, i;

	out[0] = '\0';
	pthread_once(&audit_sha256_once, audit_sha256_fetch);
	type = audit_sha256 != NULL ? audit_sha256 : EVP_sha256();
	m.p = m.small;
	m.len = 0;
	m.cap = sizeof m.small;
	m.oom = 0;
	audit_msg_add(&m, AUDIT_HASH_PREFIX, sizeof AUDIT_HASH_PREFIX - 1);
	audit_field_int(&m, seq, 0);
	audit_field_int(&m, (long long)ts_ms, 0);
	audit_field(&m, kind);
	audit_field_int(&m, case_id, case_id == 0);
	audit_field(&m, actor);
	audit_field(&m, target);
	audit_field(&m, step);
	audit_field(&m, detail);
	audit_field(&m, prev_hash);
	if (m.oom || EVP_Digest(m.p, m.len, digest, &n, type, NULL) != 1)
		n = 0;
	if (m.p != m.small)
		free(m.p);
	for (i = 0; i < n && i * 2 < AUDIT_HASH_HEX; i++) {
		out[i * 2] = hex[digest[i] >> 4];
		out[i * 2 + 1] = hex[digest[i] & 0xf];
	}
	out[i * 2] = '\0';
}

/* Read the last record into memory. */
static int
audit_load_last(struct audit *a)
{
	a->undos = store_undo_count(a->store);
	if (store_audit_last(a->store, &a->last_seq, a->last_hash,
	    sizeof a->last_hash) != 0) {
		log_error("audit", "cannot read the last record: %s",
		    store_errmsg(a->store));
		return -1;
	}
	return 0;
}

static void
audit_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	audit_flush(arg);
}

struct audit *
audit_new(struct event_base *base, struct store *store, struct engine *engine,
    char *err, size_t errlen)
{
	struct audit	*a;

	if ((a = calloc(1, sizeof *a)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	TAILQ_INIT(&a->pending);
	a->store = store;
	if (base != NULL &&
	    (a->flush_ev = evtimer_new(base, audit_flush_cb, a)) == NULL) {
		snprintf(err, errlen, "audit: evtimer_new failed");
		goto fail;
	}
	if (audit_load_last(a) != 0) {
		snprintf(err, errlen, "audit: %s", store_errmsg(store));
		goto fail;
	}
	if (engine != NULL && engine_observe(engine, audit_on_engine, a) != 0) {
		snprintf(err, errlen, "audit: too many engine observers");
		goto fail;
	}
	log_info("audit", "audit trail at seq %lld", a->last_seq);
	return a;

fail:
	audit_free(a);
	return NULL;
}

static void
audit_rec_free(struct audit_rec *r)
{
	free(r->kind);
	free(r->actor);
	free(r->target);
	free(r->step);
	free(r->detail);
	free(r);
}

void
audit_free(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->flush_ev != NULL)
		event_free(a->flush_ev);
	audit_flush(a);		/* what the last loop turn appended */
	free(a);
}

long long
audit_last(const struct audit *a, char hash[AUDIT_HASH_HEX + 1])
{
	snprintf(hash, AUDIT_HASH_HEX + 1, "%s", a->last_hash);
	return a->last_seq;
}

/*
 * A detail as stored: redacted, JSON, at most AUDIT_MAX_DETAIL bytes.
 * Returns a malloc'd string or NULL (out of memory). A trusted detail is
 * JSON as json-c prints it with our flags: when redaction leaves it as it
 * was and it fits, it is stored as it is (parsing it again would print the
 * same text).
 */
static char *
audit_clean_detail(const char *in, int trusted)
{
	json_tokener	*tok = NULL;
	json_object	*o = NULL, *w;
	char		*s, *out = NULL;
	const char	*text;
	size_t		 len;

	if (in == NULL || *in == '\0')
		return strdup("{}");
	if ((s = strdup(in)) == NULL)
		return NULL;
	if (log_redact(s) == 0 && trusted && strlen(s) <= AUDIT_MAX_DETAIL)
		return s;
	len = strlen(s);
	if ((tok = json_tokener_new()) != NULL) {
		o = json_tokener_parse_ex(tok, s, (int)(len > 0x7fffffff ?
		    0x7fffffff : len));
		if (o != NULL && (json_tokener_get_error(tok) !=
		    json_tokener_success || json_tokener_get_parse_end(tok) !=
		    len || (!json_object_is_type(o, json_type_object) &&
		    !json_object_is_type(o, json_type_array)))) {
			json_object_put(o);
			o = NULL;
		}
		json_tokener_free(tok);
	}
	if (o == NULL) {
		/* Not JSON: keep it as text (bounded below). */
		if (len > AUDIT_MAX_DETAIL / 2)
			s[AUDIT_MAX_DETAIL / 2] = '\0';
		if ((o = json_object_new_object()) == NULL)
			goto done;
		json_object_object_add(o, "text", json_object_new_string(s));
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text != NULL && strlen(text) <= AUDIT_MAX_DETAIL)
		out = strdup(text);
	else {
		/* Too big: keep a bounded prefix of the text as a string. */
		s[len > AUDIT_MAX_DETAIL / 2 ? AUDIT_MAX_DETAIL / 2 : len] =
		    '\0';
		if ((w = json_object_new_object()) != NULL) {
			json_object_object_add(w, "truncated",
			    json_object_new_boolean(1));
			json_object_object_add(w, "text",
			    json_object_new_string(s));
			text = json_object_to_json_string_ext(w,
			    JSON_C_TO_STRING_PLAIN |
			    JSON_C_TO_STRING_NOSLASHESCAPE);
			if (text != NULL && strlen(text) <= AUDIT_MAX_DETAIL)
				out = strdup(text);
			else
				out = strdup("{\"truncated\":true}");
			json_object_put(w);
		}
	}
done:
	if (o != NULL)
		json_object_put(o);
	free(s);
	return out;
}

/* One append attempt; 1 when the trail's last record was not ours. */
static int
audit_insert(struct audit *a, long long seq, int64_t ts, const char *kind,
    long long case_id, const char *actor, const char *target, const char *step,
    const char *detail, const char *prev, const char *hash)
{
	struct store_audit_rec r;

	memset(&r, 0, sizeof r);
	r.seq = seq;
	r.ts_ms = ts;
	r.kind = kind;
	r.case_id = case_id;
	r.actor = actor;
	r.target = target;
	r.step = step;
	r.detail = detail;
	r.prev_hash = prev;
	r.hash = hash;
	return store_audit_append(a->store, &r);
}

/*
 * Write one record now, chained to the last one in the table: one INSERT, or
 * two when the head in memory was stale. 0 or -1 (logged).
 */
static int
audit_write(struct audit *a, int64_t ts, const char *kind, long long case_id,
    const char *actor, const char *target, const char *step,
    const char *detail)
{
	char		 hash[AUDIT_HASH_HEX + 1];
	const char	*prev;
	long long	 seq;
	int		 r = -1, tries;

	if (store_undo_count(a->store) != a->undos) {
		/* A rollback since our last write may have taken records. */
		if (audit_load_last(a) != 0)
			return -1;
	}
	for (tries = 0; tries < 2; tries++) {
		seq = a->last_seq + 1;
		prev = a->last_seq == 0 ? AUDIT_ZERO_HASH : a->last_hash;
		audit_hash(seq, ts, kind, case_id, actor, target, step, detail,
		    prev, hash);
		if (hash[0] == '\0') {
			log_error("audit", "cannot hash %s", kind);
			return -1;
		}
		r = audit_insert(a, seq, ts, kind, case_id, actor, target, step,
		    detail, prev, hash);
		if (r == 0) {
			a->last_seq = seq;
			memcpy(a->last_hash, hash, sizeof a->last_hash);
			return 0;
		}
		if (r < 0)
			return -1;
		/* Our idea of the last record is stale (rollback): reload. */
		if (audit_load_last(a) != 0)
			return -1;
		log_debug("audit", "chain head reloaded at seq %lld",
		    a->last_seq);
	}
	log_error("audit", "cannot append %s: the chain head keeps moving",
	    kind);
	return -1;
}

/* Write every pending record; in one transaction unless one is open. */
static void
audit_flush(struct audit *a)
{
	struct audit_rec	*r;
	int			 own = 0, failed = 0;

	if (a->npending == 0)
		return;
	if (store_in_transaction(a->store) == 0) {
		if (store_begin(a->store) == 0)
			own = 1;
		else
			log_warn("audit", "cannot begin a transaction: "
			    "writing %zu records one by one", a->npending);
	}
	while ((r = TAILQ_FIRST(&a->pending)) != NULL) {
		TAILQ_REMOVE(&a->pending, r, entry);
		a->npending--;
		if (audit_write(a, r->ts_ms, r->kind, r->case_id, r->actor,
		    r->target, r->step, r->detail) != 0)
			failed++;
		audit_rec_free(r);
	}
	if (own && store_commit(a->store) != 0) {
		log_error("audit", "cannot commit audit records: %s",
		    store_errmsg(a->store));
		failed++;
	}
	if (failed > 0 && audit_load_last(a) != 0)
		log_error("audit", "cannot read the chain head back");
}

static char *
audit_strdup_or_null(const char *s, int *bad)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*bad = 1;
	return d;
}

int
audit_append(struct audit *a, const char *kind, long long case_id,
    const char *actor, const char *target, const char *step,
    const char *detail_json)
{
	return audit_add(a, kind, case_id, actor, target, step, detail_json, 0);
}

static int
audit_add(struct audit *a, const char *kind, long long case_id,
    const char *actor, const char *target, const char *step,
    const char *detail_json, int trusted)
{
	struct audit_rec	*r;
	struct timeval		 now = { 0, 0 };
	char			*detail;
	int64_t			 ts = clock_wall_ms();
	int			 bad = 0, rc;

	if (a == NULL || kind == NULL || *kind == '\0')
		return -1;
	if (actor == NULL || *actor == '\0')
		actor = AUDIT_ACTOR;
	if ((detail = audit_clean_detail(detail_json, trusted)) == NULL) {
		log_error("audit", "cannot append %s: out of memory", kind);
		return -1;
	}
	/* Inside a transaction, or without a loop: now (joining it). */
	if (a->flush_ev == NULL || store_in_transaction(a->store) > 0) {
		audit_flush(a);
		rc = audit_write(a, ts, kind, case_id, actor, target, step,
		    detail);
		free(detail);
		return rc;
	}
	if ((r = calloc(1, sizeof *r)) == NULL) {
		free(detail);
		log_error("audit", "cannot append %s: out of memory", kind);
		return -1;
	}
	r->ts_ms = ts;
	r->case_id = case_id;
	r->detail = detail;
	r->kind = audit_strdup_or_null(kind, &bad);
	r->actor = audit_strdup_or_null(actor, &bad);
	r->target = audit_strdup_or_null(target, &bad);
	r->step = audit_strdup_or_null(step, &bad);
	if (bad) {
		audit_rec_free(r);
		log_error("audit", "cannot append %s: out of memory", kind);
		return -1;
	}
	TAILQ_INSERT_TAIL(&a->pending, r, entry);
	a->npending++;
	if (a->npending >= AUDIT_MAX_PENDING)
		audit_flush(a);
	else if (!evtimer_pending(a->flush_ev, NULL))
		evtimer_add(a->flush_ev, &now);
	return 0;
}

void
audit_sync(struct audit *a)
{
	if (a != NULL)
		audit_flush(a);
}

/* Case row -> the open record's reason. */
static int
audit_case_reason_cb(const struct store_case *c, void *arg)
{
	json_object *o = arg;

	if (c->reason != NULL)
		json_object_object_add(o, "reason",
		    json_object_new_string(c->reason));
	return 0;
}

static void
audit_put(json_object *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_object_add(o, key, json_object_new_string(v));
}

/* Engine observer: one record per event (not for retirement from memory). */
static void
audit_on_engine(const struct engine_event *ev, void *arg)
{
	struct audit	*a = arg;
	json_object	*d;
	const char	*kind = NULL, *actor = AUDIT_ACTOR;

	if ((d = json_object_new_object()) == NULL)
		return;
	switch (ev->kind) {
	case ENGINE_EV_CASE_OPENED:
		kind = "case.opened";
		actor = ev->detail != NULL ? ev->detail : AUDIT_ACTOR;
		audit_put(d, "event_type", ev->event_type);
		audit_put(d, "source", ev->detail);
		audit_put(d, "subject_key", ev->subject_key);
		audit_put(d, "runbook", ev->runbook);
		json_object_object_add(d, "urgent",
		    json_object_new_boolean(ev->urgent));
		store_case_get(a->store, ev->case_id, audit_case_reason_cb, d);
		break;
	case ENGINE_EV_CASE_RESUMED:
		kind = "case.resumed";
		audit_put(d, "state", ev->state);
		audit_put(d, "event_type", ev->event_type);
		audit_put(d, "runbook", ev->runbook);
		break;
	case ENGINE_EV_CASE_STATE:
		kind = "case.state";
		audit_put(d, "from", ev->prev_state);
		audit_put(d, "to", ev->state);
		audit_put(d, "error", ev->detail);
		break;
	case ENGINE_EV_STEP_STARTED:
		kind = "step.started";
		json_object_object_add(d, "attempt",
		    json_object_new_int(ev->attempts));
		break;
	case ENGINE_EV_STEP_RETRY:
		kind = "step.retry";
		json_object_object_add(d, "attempt",
		    json_object_new_int(ev->attempts));
		audit_put(d, "error", ev->detail);
		break;
	case ENGINE_EV_STEP_DONE:
		kind = "step.done";
		audit_put(d, "outcome", ev->outcome);
		json_object_object_add(d, "attempts",
		    json_object_new_int(ev->attempts));
		if (ev->detail != NULL && *ev->detail != '\0')
			audit_put(d, "detail", ev->detail);
		break;
	case ENGINE_EV_CASE_CONTAINED:
		kind = "case.contained";
		json_object_object_add(d, "frozen_ms",
		    json_object_new_int64(ev->frozen_ms));
		break;
	case ENGINE_EV_REFUSED:
		/* A refusal is an act too: who asked, what, why not. */
		kind = "intake.refused";
		actor = ev->source != NULL ? ev->source : AUDIT_ACTOR;
		audit_put(d, "event_type", ev->event_type);
		audit_put(d, "subject_key", ev->subject_key);
		audit_put(d, "reason", ev->detail);
		break;
	case ENGINE_EV_CASE_RETIRED:
	default:
		break;
	}
	if (kind != NULL)
		audit_add(a, kind, ev->case_id, actor, ev->target, ev->step,
		    json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE), 1);
	json_object_put(d);
}

static int
audit_is_hash(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != AUDIT_HASH_HEX)
		return 0;
	for (i = 0; i < AUDIT_HASH_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return 1;
}

struct audit_verify_ctx {
	struct audit_verify_result	*res;
	char				 prev[AUDIT_HASH_HEX + 1];
	long long			 expect;
};

/* One record of the trail, in seq order: 0 go on, 1 a problem (in res). */
static int
audit_verify_cb(const struct store_audit_rec *r, void *arg)
{
	struct audit_verify_ctx		*v = arg;
	struct audit_verify_result	*res = v->res;
	char				 hash[AUDIT_HASH_HEX + 1];
	long long			 seq = r->seq, expect = v->expect;

	if (seq != expect) {
		res->problem = AUDIT_GAP;
		res->bad_seq = expect;
		if (seq > expect && expect == 1)
			snprintf(res->message, sizeof res->message, "seq %lld is "
			    "missing: the trail starts at seq %lld (records "
			    "deleted)", expect, seq);
		else if (seq > expect)
			snprintf(res->message, sizeof res->message, "seq %lld is "
			    "missing: seq %lld follows seq %lld (records deleted "
			    "or renumbered)", expect, seq, expect - 1);
		else
			snprintf(res->message, sizeof res->message,
			    "seq %lld is out of order", seq);
		return 1;
	}
	if (r->malformed || !audit_is_hash(r->prev_hash) ||
	    !audit_is_hash(r->hash)) {
		res->problem = AUDIT_BAD_ROW;
		res->bad_seq = seq;
		snprintf(res->message, sizeof res->message, "seq %lld: a column "
		    "has the wrong type or form (edited)", seq);
		return 1;
	}
	if (strcmp(r->prev_hash, v->prev) != 0) {
		res->problem = AUDIT_BROKEN_LINK;
		res->bad_seq = seq;
		snprintf(res->message, sizeof res->message, "seq %lld: prev_hash "
		    "is not the hash of seq %lld (a record was deleted, "
		    "reordered or rewritten)", seq, seq - 1);
		return 1;
	}
	audit_hash(seq, r->ts_ms, r->kind, r->case_id, r->actor, r->target,
	    r->step, r->detail, r->prev_hash, hash);
	if (strcmp(hash, r->hash) != 0) {
		res->problem = AUDIT_EDITED;
		res->bad_seq = seq;
		snprintf(res->message, sizeof res->message, "seq %lld: hash "
		    "mismatch (the record was edited)", seq);
		return 1;
	}
	memcpy(v->prev, r->hash, sizeof v->prev);
	res->records++;
	res->last_seq = seq;
	memcpy(res->last_hash, r->hash, sizeof res->last_hash);
	v->expect = seq + 1;
	return 0;
}

/* A store as a source of records. */
static int
audit_store_scan(void *src, long long after_seq, int64_t since_ms, int limit,
    store_audit_cb cb, void *arg)
{
	return store_audit_scan(src, after_seq, since_ms, limit, cb, arg);
}

static const char *
audit_store_errmsg(void *src)
{
	return store_errmsg(src);
}

void
audit_source_store(struct store *store, struct audit_source *src)
{
	src->scan = audit_store_scan;
	src->errmsg = audit_store_errmsg;
	src->src = store;
}

int
audit_verify(struct store *store, struct audit_verify_result *res)
{
	struct audit_source src;

	audit_source_store(store, &src);
	return audit_verify_source(&src, res);
}

int
audit_verify_source(const struct audit_source *src,
    struct audit_verify_result *res)
{
	struct audit_verify_ctx	v;
	int			r;

	memset(res, 0, sizeof *res);
	memset(&v, 0, sizeof v);
	v.res = res;
	v.expect = 1;
	memcpy(v.prev, AUDIT_ZERO_HASH, sizeof v.prev);
	/* Every record from the first: a gap at the start shows as seq 1 missing. */
	r = src->scan(src->src, -1, INT64_MIN, 0, audit_verify_cb, &v);
	if (r < 0) {
		snprintf(res->message, sizeof res->message, "%s",
		    src->errmsg(src->src));
		return -1;
	}
	if (r > 0)
		return 1;
	snprintf(res->message, sizeof res->message, "%lld records intact",
	    res->records);
	return 0;
}

/* Milliseconds to RFC 3339 UTC with milliseconds. */
static void
audit_time(int64_t ms, char *buf, size_t len)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;
	char		s[32];

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", s, (int)(ms % 1000));
}

struct audit_export_ctx {
	FILE		*out;
	long long	 n;
};

static int
audit_export_cb(const struct store_audit_rec *r, void *arg)
{
	struct audit_export_ctx	*x = arg;
	json_object		*o, *d;
	char			 when[48];

	if ((o = json_object_new_object()) == NULL)
		return -1;
	json_object_object_add(o, "seq", json_object_new_int64(r->seq));
	json_object_object_add(o, "ts_ms", json_object_new_int64(r->ts_ms));
	audit_time(r->ts_ms, when, sizeof when);
	json_object_object_add(o, "time", json_object_new_string(when));
	audit_put(o, "kind", r->kind);
	json_object_object_add(o, "case_id", r->case_id != 0 ?
	    json_object_new_int64(r->case_id) : NULL);
	audit_put(o, "actor", r->actor);
	json_object_object_add(o, "target", r->target != NULL ?
	    json_object_new_string(r->target) : NULL);
	json_object_object_add(o, "step", r->step != NULL ?
	    json_object_new_string(r->step) : NULL);
	d = r->detail != NULL ? json_tokener_parse(r->detail) : NULL;
	if (d == NULL && r->detail != NULL)
		d = json_object_new_string(r->detail);
	json_object_object_add(o, "detail", d);
	audit_put(o, "prev_hash", r->prev_hash);
	audit_put(o, "hash", r->hash);
	fprintf(x->out, "%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	x->n++;
	return 0;
}

long long
audit_export(struct store *store, int64_t since_ms, FILE *out)
{
	struct audit_source src;

	audit_source_store(store, &src);
	return audit_export_source(&src, since_ms, out);
}

long long
audit_export_source(const struct audit_source *src, int64_t since_ms,
    FILE *out)
{
	struct audit_export_ctx x = { out, 0 };

	if (src->scan(src->src, -1, since_ms, 0, audit_export_cb, &x) != 0) {
		log_error("audit", "export: %s", src->errmsg(src->src));
		return -1;
	}
	if (fflush(out) != 0 || ferror(out))
		return -1;
	return x.n;
}
