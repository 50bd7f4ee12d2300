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

#include "deprov/audit_stream.h"
#include "deprov/clock.h"
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
	int64_t			 retry_at;	/* no resend before (monotonic ms) */
	size_t			 inflight;
	struct audit_stream_msg	*msgs;
};

static void	audit_stream_pump(struct audit_stream *);

#define AUDIT_STREAM_META	"audit_stream_acked"

/* The last record the topic acknowledged (0: none yet). */
static int64_t
audit_stream_meta_get(struct store *store)
{
	char buf[32];

	if (store_meta_get(store, AUDIT_STREAM_META, buf, sizeof buf) != 1)
		return 0;
	return strtoll(buf, NULL, 10);
}

static void
audit_stream_meta_put(struct store *store, long long v)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%lld", v);
	if (store_meta_set(store, AUDIT_STREAM_META, buf) != 0)
		log_warn("audit_stream", "cannot record progress: %s",
		    store_errmsg(store));
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
			s->retry_at = clock_mono_ms() + AUDIT_STREAM_RETRY_MS;
		}
		audit_stream_advance(s);
	}
	free(m);
}

/* The CloudEvent for one audit row. */
static char *
audit_stream_event(const struct store_audit_rec *r, char **key)
{
	json_object	*o, *data, *detail;
	const char	*kind = r->kind != NULL ? r->kind : "";
	const char	*subject = r->subject_key;
	char		 id[48], type[128], ts[40], *out;
	long long	 seq = r->seq;
	int64_t		 ms = r->ts_ms;
	time_t		 t = (time_t)(ms / 1000);
	struct tm	 tm;
	json_object	*to;

	detail = r->detail != NULL ? json_tokener_parse(r->detail) : NULL;
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
	if (r->case_id != 0)
		json_object_object_add(data, "case_id",
		    json_object_new_int64(r->case_id));
	json_object_object_add(data, "actor", json_object_new_string(
	    r->actor != NULL ? r->actor : ""));
	if (r->target != NULL)
		json_object_object_add(data, "target",
		    json_object_new_string(r->target));
	if (r->step != NULL)
		json_object_object_add(data, "step",
		    json_object_new_string(r->step));
	json_object_object_add(data, "detail", detail);
	json_object_object_add(data, "hash", json_object_new_string(
	    r->hash != NULL ? r->hash : ""));
	json_object_object_add(o, "data", data);
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	*key = subject != NULL ? strdup(subject) : NULL;
	json_object_put(o);
	return out;
}

/* One record to send: 0 go on, 1 stop (a gap, or no room or memory). */
static int
audit_stream_send_cb(const struct store_audit_rec *r, void *arg)
{
	struct audit_stream	*s = arg;
	struct audit_stream_msg	*m;
	char			*value, *key, *nd;

	if (r->seq != s->sent + 1)
		return 1;		/* a gap: the chain is broken; wait */
	nd = realloc(s->done, (size_t)(r->seq - s->acked));
	if (nd == NULL)
		return 1;
	s->done = nd;
	s->done[r->seq - s->acked - 1] = 0;
	value = audit_stream_event(r, &key);
	if (value == NULL || (m = calloc(1, sizeof *m)) == NULL) {
		free(value);
		free(key);
		return 1;
	}
	m->s = s;
	m->seq = r->seq;
	if (kafka_produce(s->kafka, s->topic, key, value, strlen(value),
	    "application/cloudevents+json", audit_stream_delivered, m) != 0) {
		free(m);
		free(value);
		free(key);
		s->failed = 1;
		s->retry_at = clock_mono_ms() + AUDIT_STREAM_RETRY_MS;
		return 1;
	}
	free(value);
	free(key);
	m->next = s->msgs;
	s->msgs = m;
	s->inflight++;
	s->sent = r->seq;
	return 0;
}

/* Send what the window allows, from after the last sent record. */
static void
audit_stream_pump(struct audit_stream *s)
{
	long long room;

	if (s->failed) {
		/* Start again after the mark once nothing is in flight. */
		if (s->inflight > 0 || clock_mono_ms() < s->retry_at)
			return;
		s->failed = 0;
		s->sent = s->acked;
	}
	room = AUDIT_STREAM_WINDOW - (long long)s->inflight;
	if (room <= 0)
		return;
	if (room > AUDIT_STREAM_BATCH)
		room = AUDIT_STREAM_BATCH;
	(void)store_audit_scan(s->store, s->sent, INT64_MIN, (int)room,
	    audit_stream_send_cb, s);
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
