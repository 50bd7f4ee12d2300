/*
 * audit_stream: tails the audit table and produces each record to the audit
 * topic as a CloudEvent, in seq order.
 *
 * A window of at most AUDIT_STREAM_WINDOW records is in flight. Acks may
 * come back in any order; the acknowledged mark only moves over a contiguous
 * run, and it is what is persisted (meta key audit_stream_acked). When a
 * record is given up (brokers down past message.timeout.ms), everything after
 * the mark is sent again once the window has drained: consumers see each
 * record at least once, in order per subject, and can deduplicate on the
 * CloudEvent id ("audit-<seq>").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "deprov/audit_stream.h"
#include "deprov/engine.h"
#include "deprov/kafka.h"
#include "deprov/log.h"
#include "deprov/store.h"

#define AUDIT_STREAM_WINDOW	1000
#define AUDIT_STREAM_BATCH	500
#define AUDIT_STREAM_TICK_MS	250
#define AUDIT_STREAM_RETRY_MS	2000

struct audit_stream;

/* One record in flight; freed by its delivery callback. */
struct audit_stream_msg {
	struct audit_stream	*s;	/* NULL once the stream is gone */
	long long		 seq;
	struct audit_stream_msg	*next;
};

struct audit_stream {
	struct event_base	*base;
	struct store		*store;
	struct kafka		*kafka;
	char			*topic;
	struct event		*tick;
	long long		 acked;		/* every seq <= acked is delivered */
	long long		 sent;		/* highest seq handed to Kafka */
	char			*done;		/* ack flags for acked+1 .. sent */
	int			 failed;	/* a record was given up: resend */
	int64_t			 retry_at;
	size_t			 inflight;
	struct audit_stream_msg	*msgs;
};

static void	audit_stream_pump(struct audit_stream *);

static int64_t
audit_stream_meta_get(struct store *store)
{
	sqlite3_stmt	*st = NULL;
	int64_t		 v = 0;

	if (sqlite3_prepare_v2(store_db(store), "SELECT value FROM meta WHERE"
	    " key = 'audit_stream_acked'", -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
audit_stream_meta_put(struct store *store, long long v)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(store_db(store), "INSERT OR REPLACE INTO"
	    " meta(key, value) VALUES ('audit_stream_acked', ?)", -1, &st,
	    NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, v);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warn("audit_stream", "cannot record progress: %s",
		    sqlite3_errmsg(store_db(store)));
	sqlite3_finalize(st);
}

/* Move the acknowledged mark over the contiguous run of acks. */
static void
audit_stream_advance(struct audit_stream *s)
{
	long long	n = 0, span = s->sent - s->acked;

	while (n < span && s->done[n])
		n++;
	if (n == 0)
		return;
	memmove(s->done, s->done + n, (size_t)(span - n));
	memset(s->done + (span - n), 0, (size_t)n);
	s->acked += n;
	audit_stream_meta_put(s->store, s->acked);
}

static void
audit_stream_delivered(void *arg, int ok, const char *error)
{
	struct audit_stream_msg	*m = arg, **pp;
	struct audit_stream	*s = m->s;

	if (s != NULL) {
		for (pp = &s->msgs; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == m) {
				*pp = m->next;
				break;
			}
		}
		s->inflight--;
		if (ok && m->seq > s->acked && m->seq <= s->sent)
			s->done[m->seq - s->acked - 1] = 1;
		else if (!ok) {
			if (!s->failed)
				log_warn("audit_stream", "audit record %lld not "
				    "delivered (%s); will send again", m->seq,
				    error);
			s->failed = 1;
			s->retry_at = engine_now_ms() + AUDIT_STREAM_RETRY_MS;
		}
		audit_stream_advance(s);
	}
	free(m);
}

/* The CloudEvent for one audit row. */
static char *
audit_stream_event(sqlite3_stmt *st, char **key)
{
	json_object	*o, *data, *detail;
	const char	*kind = (const char *)sqlite3_column_text(st, 2);
	const char	*subject = (const char *)sqlite3_column_text(st, 9);
	char		 id[48], type[128], ts[40], *out;
	long long	 seq = sqlite3_column_int64(st, 0);
	int64_t		 ms = sqlite3_column_int64(st, 1);
	time_t		 t = (time_t)(ms / 1000);
	struct tm	 tm;
	json_object	*to;

	detail = json_tokener_parse((const char *)sqlite3_column_text(st, 7));
	/* A state change is named by the state it went to. */
	if (strcmp(kind, "case.state") == 0 && detail != NULL &&
	    json_object_object_get_ex(detail, "to", &to))
		snprintf(type, sizeof type, "io.deprov.case.%s",
		    json_object_get_string(to));
	else if (strncmp(kind, "case.", 5) == 0)
		snprintf(type, sizeof type, "io.deprov.%s", kind);
	else
		snprintf(type, sizeof type, "io.deprov.case.%s", kind);
	snprintf(id, sizeof id, "audit-%lld", seq);
	gmtime_r(&t, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof ts - strlen(ts), ".%03dZ",
	    (int)(ms % 1000));
	o = json_object_new_object();
	json_object_object_add(o, "specversion", json_object_new_string("1.0"));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "source", json_object_new_string("/deprovd"));
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "time", json_object_new_string(ts));
	if (subject != NULL)
		json_object_object_add(o, "subject",
		    json_object_new_string(subject));
	json_object_object_add(o, "datacontenttype",
	    json_object_new_string("application/json"));
	data = json_object_new_object();
	json_object_object_add(data, "seq", json_object_new_int64(seq));
	json_object_object_add(data, "kind", json_object_new_string(kind));
	if (sqlite3_column_type(st, 3) != SQLITE_NULL)
		json_object_object_add(data, "case_id",
		    json_object_new_int64(sqlite3_column_int64(st, 3)));
	json_object_object_add(data, "actor", json_object_new_string(
	    (const char *)sqlite3_column_text(st, 4)));
	if (sqlite3_column_type(st, 5) != SQLITE_NULL)
		json_object_object_add(data, "target", json_object_new_string(
		    (const char *)sqlite3_column_text(st, 5)));
	if (sqlite3_column_type(st, 6) != SQLITE_NULL)
		json_object_object_add(data, "step", json_object_new_string(
		    (const char *)sqlite3_column_text(st, 6)));
	json_object_object_add(data, "detail", detail);
	json_object_object_add(data, "hash", json_object_new_string(
	    (const char *)sqlite3_column_text(st, 8)));
	json_object_object_add(o, "data", data);
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	*key = subject != NULL ? strdup(subject) : NULL;
	json_object_put(o);
	return out;
}

/* Send what the window allows, from after the last sent record. */
static void
audit_stream_pump(struct audit_stream *s)
{
	sqlite3_stmt		*st = NULL;
	struct audit_stream_msg	*m;
	char			*value, *key, *nd;
	long long		 seq, room;
	int			 rc;

	if (s->failed) {
		/* Start again after the mark once nothing is in flight. */
		if (s->inflight > 0 || engine_now_ms() < s->retry_at)
			return;
		s->failed = 0;
		s->sent = s->acked;
	}
	room = AUDIT_STREAM_WINDOW - (long long)s->inflight;
	if (room <= 0)
		return;
	if (room > AUDIT_STREAM_BATCH)
		room = AUDIT_STREAM_BATCH;
	if (sqlite3_prepare_v2(store_db(s->store), "SELECT a.seq, a.ts_ms,"
	    " a.kind, a.case_id, a.actor, a.target, a.step, a.detail, a.hash,"
	    " c.subject_key FROM audit a LEFT JOIN cases c ON c.id = a.case_id"
	    " WHERE a.seq > ? ORDER BY a.seq LIMIT ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return;		/* no audit table yet */
	sqlite3_bind_int64(st, 1, s->sent);
	sqlite3_bind_int64(st, 2, room);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0);
		if (seq != s->sent + 1)
			break;		/* a gap: the chain is broken; wait */
		nd = realloc(s->done, (size_t)(seq - s->acked));
		if (nd == NULL)
			break;
		s->done = nd;
		s->done[seq - s->acked - 1] = 0;
		value = audit_stream_event(st, &key);
		if (value == NULL || (m = calloc(1, sizeof *m)) == NULL) {
			free(value);
			free(key);
			break;
		}
		m->s = s;
		m->seq = seq;
		if (kafka_produce(s->kafka, s->topic, key, value, strlen(value),
		    "application/cloudevents+json", audit_stream_delivered,
		    m) != 0) {
			free(m);
			free(value);
			free(key);
			s->failed = 1;
			s->retry_at = engine_now_ms() + AUDIT_STREAM_RETRY_MS;
			break;
		}
		free(value);
		free(key);
		m->next = s->msgs;
		s->msgs = m;
		s->inflight++;
		s->sent = seq;
	}
	sqlite3_finalize(st);
}

static void
audit_stream_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	audit_stream_pump(arg);
}

struct audit_stream *
audit_stream_new(struct event_base *base, struct store *store,
    struct engine *eng, struct kafka *kafka, const char *topic, char *err,
    size_t errlen)
{
	struct audit_stream	*s;
	struct timeval		 tv = { 0, AUDIT_STREAM_TICK_MS * 1000 };

	(void)eng;
	if ((s = calloc(1, sizeof *s)) == NULL ||
	    (s->topic = strdup(topic)) == NULL) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base = base;
	s->store = store;
	s->kafka = kafka;
	s->acked = s->sent = audit_stream_meta_get(store);
	if ((s->tick = event_new(base, -1, EV_PERSIST, audit_stream_tick,
	    s)) == NULL) {
		audit_stream_free(s);
		snprintf(err, errlen, "cannot create timer");
		return NULL;
	}
	event_add(s->tick, &tv);
	log_info("audit_stream", "audit records go to %s from seq %lld",
	    topic, s->acked + 1);
	return s;
}

void
audit_stream_free(struct audit_stream *s)
{
	struct audit_stream_msg *m;

	if (s == NULL)
		return;
	/* Callbacks that still come find no stream. */
	for (m = s->msgs; m != NULL; m = m->next)
		m->s = NULL;
	if (s->tick != NULL)
		event_free(s->tick);
	free(s->done);
	free(s->topic);
	free(s);
}

long long
audit_stream_acked(const struct audit_stream *s)
{
	return s->acked;
}

uint64_t
audit_stream_backlog(const struct audit_stream *s)
{
	return (uint64_t)(s->sent - s->acked);
}
