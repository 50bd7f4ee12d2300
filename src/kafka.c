/*
 * kafka: librdkafka consumer and dead-letter producer on the libevent loop.
 *
 * The consumer queue and the producer's main queue each wake the loop
 * through a non-blocking pipe (rd_kafka_queue_io_event_enable); the read
 * callback empties the pipe and polls with a zero timeout until nothing is
 * left. A one-second timer polls too, so an idle consumer keeps within
 * max.poll.interval.ms. Offsets are stored by hand (enable.auto.offset.store
 * is off) once a message is durable or dead-lettered; auto commit then
 * commits only those. With batch hooks (kafka_set_batch) the messages of one
 * wake-up, at most KAFKA_BATCH_MAX, share one durability point: their
 * verdicts are kept until the batch's end hook has committed them, and only
 * then are offsets stored and dead letters sent.
 *
 * With a crash guard (kafka_set_guard) every message is recorded before it
 * is handed to the callback and the record is cleared once it is durable;
 * a message that crashed the last run is handled in a batch of its own, and
 * one that crashed the last two runs goes to the dead-letter topic ("crashed
 * the consumer") without being handed to the callback again.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "deprov/clock.h"
#include "deprov/crashguard.h"
#include "deprov/kafka.h"
#include "deprov/log.h"

#define KAFKA_RETRY_DELAY_MS	1000
/* kafka_close (kafka_free without kafka_close_start): its two bounds. */
#define KAFKA_CLOSE_MS		5000
#define KAFKA_FLUSH_MS		3000
/* How often a closing consumer is looked at. */
#define KAFKA_CLOSE_POLL_MS	50
/*
 * A batch ends after this many messages or this much time, whichever comes
 * first; then the loop gets a turn (target answers, API requests such as an
 * emergency freeze) before the next batch.
 */
#define KAFKA_BATCH_MAX		256
#define KAFKA_BATCH_MS		15
/* Starts in a row that died handling a message before it is set aside. */
#define KAFKA_CRASHES_MAX	2

/* A message of the open batch, with its verdict (not DONE until the batch ends). */
struct kafka_pend {
	rd_kafka_message_t	*m;
	enum kafka_verdict	 v;
	char			*reason;	/* KAFKA_DEAD */
};

/* A partition whose processing failed: redeliver from offset after a pause. */
struct kafka_block {
	char		*topic;
	int32_t		 partition;
	int64_t		 offset;
	struct kafka	*k;
	struct event	*timer;
	struct kafka_block *next;
};

struct kafka_held {
	uint64_t			 gen;
	rd_kafka_topic_partition_list_t	*l;
	struct kafka_held		*next;
};

struct kafka {
	struct event_base		*base;
	const struct config_kafka	*cfg;
	kafka_msg_cb			 cb;
	void				*arg;

	rd_kafka_t			*mock_host;	/* embedded: owns the mock cluster */
	rd_kafka_mock_cluster_t		*mock;
	char				*bootstrap;

	/*
	 * Offsets wait here until the commit that made their messages durable
	 * is durable everywhere it must be (with the postgres backend: in
	 * PostgreSQL too), in order; see kafka_set_durable.
	 */
	struct kafka_held		*held, **held_tail;
	uint64_t			(*gen_fn)(void *);
	uint64_t			(*durable_fn)(void *);
	void				*durable_arg;

	rd_kafka_t			*consumer;
	rd_kafka_queue_t		*cq;
	int				 cpipe[2];
	struct event			*cev;

	rd_kafka_t			*producer;
	rd_kafka_queue_t		*pq;
	int				 ppipe[2];
	struct event			*pev;

	struct event			*tick;
	struct kafka_block		*blocks;
	struct kafka_part		*parts;		/* offsets waiting on dead letters */
	int				 paused;	/* backpressure */
	size_t				(*open_fn)(void *);
	void				*open_arg;
	size_t				 high;
	size_t				 low;
	int				 brokers_up;	/* from the statistics */
	int				 assigned;
	/*
	 * In the group: an assignment (possibly empty) is in effect; 0
	 * before the first one, between an eager revoke and the next
	 * assignment, and after the assignment was lost.
	 */
	int				 member;
	rd_kafka_topic_partition_list_t	*owned;		/* the assignment, for kafka_lag */
	/*
	 * From the last statistics, for each partition whose starting offset
	 * librdkafka has settled (fetch state "active"): its committed offset
	 * (RD_KAFKA_OFFSET_INVALID when the group has none). kafka_lag starts
	 * a partition not read from yet there.
	 */
	rd_kafka_topic_partition_list_t	*committed;
	int				 reset_latest;	/* auto.offset.reset latest */
	int				 reset_error;	/* auto.offset.reset error */
	int				 closed;
	/*
	 * Closing the consumer on the loop: rd_kafka_consumer_close_queue
	 * hands its work (final commit, rebalance, leaving the group) to
	 * closeq, served from the loop until the consumer says it is closed
	 * or the deadline passes; then close_done is called once.
	 */
	rd_kafka_queue_t		*closeq;
	struct event			*close_timer;
	int64_t				 close_deadline_ms;
	int				 close_over;	/* closed, or given up */
	void				(*close_done)(void *);
	void				*close_arg;
	uint64_t			 dead;
	uint64_t			 consumed;

	int				(*batch_begin)(void *);
	int				(*batch_end)(void *);
	void				*batch_arg;
	struct kafka_pend		 pend[KAFKA_BATCH_MAX];
	size_t				 npend;
	struct event			*more;		/* next batch, after a loop turn */
	rd_kafka_topic_partition_list_t	*collect;	/* batch end: offsets stored at once */

	struct crashguard		*guard;		/* crash-loop breaker, may be NULL */
};

/*
 * Per partition: dead letters not yet acknowledged by the brokers, and the
 * highest offset done after them. A partition's offset is stored only when
 * every message before it is durable: in the store or in the dead-letter
 * topic.
 */
struct kafka_part {
	char			*topic;
	int32_t			 partition;
	int			 pending;
	int64_t			 done;		/* next offset to store, 0 = none */
	struct kafka_part	*next;
};

/* A message in flight (the opaque of its produce): a dead letter or a kafka_produce. */
struct kafka_dead {
	struct kafka	*k;
	void		(*cb)(void *, int, const char *);	/* kafka_produce */
	void		*arg;
	char		*topic;
	int32_t		 partition;
	int64_t		 offset;
};

static void	kafka_drain_consumer(struct kafka *);
static void	kafka_close_serve(struct kafka *);
static void	kafka_block_at(struct kafka *, const char *, int32_t, int64_t);
static void	kafka_brokers_set(struct kafka *, int);

static void
kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	enum log_level l;

	if (level <= 3)
		l = LOG_LEVEL_ERROR;
	else if (level == 4)
		l = LOG_LEVEL_WARN;
	else if (level <= 6)
		l = LOG_LEVEL_INFO;
	else
		l = LOG_LEVEL_DEBUG;
	/* The client's name (rdkafka#consumer-2) says which one speaks. */
	log_msg(l, "kafka", "%s %s: %s", rd_kafka_name(rk), fac, buf);
}

/*
 * The embedded cluster's host handle only owns the mock cluster and never
 * connects anywhere: librdkafka's warning that it has no bootstrap.servers
 * is true and useless, and looked like a fault to every reader of the log.
 */
static void
kafka_mock_host_log_cb(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
	if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "bootstrap.servers") !=
	    NULL)
		return;
	kafka_log_cb(rk, level, fac, buf);
}

static void
kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct kafka *k = opaque;

	log_warn("kafka", "%s: %s", rd_kafka_err2name(err), reason);
	/* Readiness says so now, not at the next statistics. */
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && rk == k->consumer)
		kafka_brokers_set(k, 0);
}

static struct kafka_part *
kafka_part(struct kafka *k, const char *topic, int32_t partition)
{
	struct kafka_part *p;

	for (p = k->parts; p != NULL; p = p->next)
		if (p->partition == partition && strcmp(p->topic, topic) == 0)
			return p;
	if ((p = calloc(1, sizeof *p)) == NULL ||
	    (p->topic = strdup(topic)) == NULL) {
		free(p);
		return NULL;
	}
	p->partition = partition;
	p->next = k->parts;
	k->parts = p;
	return p;
}

static void
kafka_parts_free(struct kafka *k)
{
	struct kafka_part *p;

	while ((p = k->parts) != NULL) {
		k->parts = p->next;
		free(p->topic);
		free(p);
	}
}

/* rd_kafka_offsets_store; l is destroyed. */
static void
kafka_offsets_store(struct kafka *k, rd_kafka_topic_partition_list_t *l)
{
	rd_kafka_resp_err_t	err;

	if (l->cnt > 0 && !k->closed && (err = rd_kafka_offsets_store(
	    k->consumer, l)) != RD_KAFKA_RESP_ERR_NO_ERROR)
		log_warn("kafka", "offset store: %s", rd_kafka_err2str(err));
	rd_kafka_topic_partition_list_destroy(l);
}

/* Store the offsets whose commit is durable now, in order. */
static void
kafka_held_release(struct kafka *k)
{
	struct kafka_held	*h;
	uint64_t		 durable;

	if (k->held == NULL)
		return;
	durable = k->durable_fn(k->durable_arg);
	while ((h = k->held) != NULL && h->gen <= durable) {
		k->held = h->next;
		if (k->held == NULL)
			k->held_tail = &k->held;
		kafka_offsets_store(k, h->l);
		free(h);
	}
}

/*
 * Offsets to commit (l is taken): stored once everything committed so far
 * is durable. Not before: a new owner of the partition (another deprovd
 * after a failover) starts from the committed offsets and reads only the
 * store, so a message whose case had not reached it would be lost.
 */
static void
kafka_offsets_commit(struct kafka *k, rd_kafka_topic_partition_list_t *l)
{
	struct kafka_held	*h;

	if (k->durable_fn == NULL) {
		kafka_offsets_store(k, l);
		return;
	}
	if ((h = calloc(1, sizeof *h)) == NULL) {
		/* Not stored: read again after a restart, never lost. */
		rd_kafka_topic_partition_list_destroy(l);
		return;
	}
	h->gen = k->gen_fn(k->durable_arg);
	h->l = l;
	if (k->held_tail == NULL)
		k->held_tail = &k->held;
	*k->held_tail = h;
	k->held_tail = &h->next;
	kafka_held_release(k);
}

void
kafka_set_durable(struct kafka *k, uint64_t (*gen)(void *),
    uint64_t (*durable)(void *), void *arg)
{
	k->gen_fn = gen;
	k->durable_fn = durable;
	k->durable_arg = arg;
}

/* Store next as the partition's offset to commit. */
static void
kafka_store_offset(struct kafka *k, const char *topic, int32_t partition,
    int64_t next)
{
	rd_kafka_topic_partition_list_t	*l;
	rd_kafka_topic_partition_t	*tp;

	/* Everything before next is durable or dead-lettered: no suspects. */
	crashguard_passed(k->guard, topic, partition, next);
	if (k->collect != NULL) {
		/* Inside kafka_batch_finish: one offsets_store for the batch. */
		tp = rd_kafka_topic_partition_list_find(k->collect, topic,
		    partition);
		if (tp == NULL)
			tp = rd_kafka_topic_partition_list_add(k->collect, topic,
			    partition);
		tp->offset = next;
		return;
	}
	l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, topic, partition)->offset = next;
	kafka_offsets_commit(k, l);
}

/* A message is durable: store its offset unless a dead letter before it is pending. */
static void
kafka_done(struct kafka *k, const char *topic, int32_t partition,
    int64_t offset)
{
	struct kafka_part *p = kafka_part(k, topic, partition);

	if (p != NULL && p->pending > 0) {
		if (offset + 1 > p->done)
			p->done = offset + 1;
		return;
	}
	kafka_store_offset(k, topic, partition, offset + 1);
}

static void
kafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kafka_dead	*dl = m->_private;
	struct kafka_part	*p;
	int64_t			 next;

	(void)rk;
	(void)opaque;
	if (dl == NULL)
		return;
	if (dl->cb != NULL) {
		dl->cb(dl->arg, m->err == RD_KAFKA_RESP_ERR_NO_ERROR,
		    rd_kafka_err2str(m->err));
		free(dl);
		return;
	}
	p = kafka_part(dl->k, dl->topic, dl->partition);
	if (p != NULL && p->pending > 0)
		p->pending--;
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		/* Not delivered: read the message again rather than lose it. */
		log_error("kafka", "dead letter for %s[%" PRId32 "]@%" PRId64
		    " not delivered to %s: %s; retrying", dl->topic,
		    dl->partition, dl->offset, rd_kafka_topic_name(m->rkt),
		    rd_kafka_err2str(m->err));
		if (p != NULL)
			p->done = 0;
		if (!dl->k->closed)
			kafka_block_at(dl->k, dl->topic, dl->partition,
			    dl->offset);
	} else if (p != NULL && p->pending == 0 && !dl->k->closed) {
		next = dl->offset + 1 > p->done ? dl->offset + 1 : p->done;
		p->done = 0;
		kafka_store_offset(dl->k, dl->topic, dl->partition, next);
	}
	free(dl->topic);
	free(dl);
}

/*
 * Keep a copy of the assignment (kafka_lag reads it; asking librdkafka with
 * rd_kafka_assignment would wait on its main thread). add: parts were
 * assigned, else revoked; incremental for the cooperative protocol.
 */
static void
kafka_owned_update(struct kafka *k, const rd_kafka_topic_partition_list_t *parts,
    int add, int incremental)
{
	int i;

	if (!incremental || parts == NULL) {
		if (k->owned != NULL)
			rd_kafka_topic_partition_list_destroy(k->owned);
		k->owned = add && parts != NULL ?
		    rd_kafka_topic_partition_list_copy(parts) : NULL;
		return;
	}
	if (k->owned == NULL &&
	    (k->owned = rd_kafka_topic_partition_list_new(parts->cnt)) == NULL)
		return;
	for (i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_list_del(k->owned, parts->elems[i].topic,
		    parts->elems[i].partition);
		if (add)
			rd_kafka_topic_partition_list_add(k->owned,
			    parts->elems[i].topic, parts->elems[i].partition);
	}
}

/* Whether a broker of the cluster is up, logged when it changes. */
static void
kafka_brokers_set(struct kafka *k, int up)
{
	if (up != k->brokers_up)
		log_msg(up ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "kafka",
		    up ? "brokers reachable" : "no broker reachable: intake "
		    "waits, nothing is lost");
	k->brokers_up = up;
}

/*
 * The statistics' partitions: for each one whose fetch state is "active"
 * (its starting offset settled), its committed offset, into a new list.
 */
static rd_kafka_topic_partition_list_t *
kafka_stats_committed(json_object *o)
{
	rd_kafka_topic_partition_list_t	*l;
	json_object			*topics, *parts, *v;
	long long			 part;
	char				*end;

	if ((l = rd_kafka_topic_partition_list_new(8)) == NULL)
		return NULL;
	if (!json_object_object_get_ex(o, "topics", &topics) ||
	    !json_object_is_type(topics, json_type_object))
		return l;
	json_object_object_foreach(topics, topic, t) {
		if (!json_object_object_get_ex(t, "partitions", &parts) ||
		    !json_object_is_type(parts, json_type_object))
			continue;
		json_object_object_foreach(parts, id, p) {
			part = strtoll(id, &end, 10);
			if (*end != '\0' || part < 0 || part > INT32_MAX)
				continue;	/* "-1": the unassigned one */
			if (!json_object_object_get_ex(p, "fetch_state", &v) ||
			    !json_object_is_type(v, json_type_string) ||
			    strcmp(json_object_get_string(v), "active") != 0 ||
			    !json_object_object_get_ex(p, "committed_offset", &v))
				continue;
			rd_kafka_topic_partition_list_add(l, topic,
			    (int32_t)part)->offset = json_object_get_int64(v);
		}
	}
	return l;
}

/*
 * Statistics (every second): is any broker of the cluster up? Readiness
 * reports a broker outage; librdkafka reconnects on its own. And the
 * committed offsets kafka_lag needs for partitions not read from yet.
 */
static int
kafka_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct kafka			*k = opaque;
	json_object			*o, *brokers, *st, *id;
	rd_kafka_topic_partition_list_t	*committed;
	int				 up = 0;

	(void)rk;
	(void)len;
	if ((o = json_tokener_parse(json)) == NULL)
		return 0;
	if ((committed = kafka_stats_committed(o)) != NULL) {
		if (k->committed != NULL)
			rd_kafka_topic_partition_list_destroy(k->committed);
		k->committed = committed;
	}
	if (json_object_object_get_ex(o, "brokers", &brokers)) {
		json_object_object_foreach(brokers, name, b) {
			(void)name;
			/* Bootstrap entries have nodeid -1. */
			if (json_object_object_get_ex(b, "nodeid", &id) &&
			    json_object_get_int(id) >= 0 &&
			    json_object_object_get_ex(b, "state", &st) &&
			    json_object_is_type(st, json_type_string) &&
			    strcmp(json_object_get_string(st), "UP") == 0)
				up = 1;
		}
	}
	json_object_put(o);
	kafka_brokers_set(k, up);
	return 0;	/* librdkafka frees json */
}

static void
kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct kafka	*k = opaque;
	int		 coop;

	coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	switch (err) {
	case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
		log_info("kafka", "assigned %d partitions", parts->cnt);
		if (coop)
			rd_kafka_error_destroy(rd_kafka_incremental_assign(rk,
			    parts));
		else
			rd_kafka_assign(rk, parts);
		k->assigned += parts->cnt;
		kafka_owned_update(k, parts, 1, coop);
		/*
		 * The group coordinator answered: a broker is up, whatever
		 * the first statistics (a second after the start) will say.
		 * And this instance is a member, with partitions or none.
		 */
		k->member = 1;
		kafka_brokers_set(k, 1);
		break;
	case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
		log_info("kafka", "revoked %d partitions", parts->cnt);
		if (rd_kafka_assignment_lost(rk))
			log_warn("kafka", "the assignment was lost (out of the "
			    "group): rejoining");
		/* Eager: no assignment until the next; lost: out of the group. */
		if (!coop || rd_kafka_assignment_lost(rk))
			k->member = 0;
		/* Their offsets are no longer ours to store. */
		kafka_parts_free(k);
		/* Only stored offsets (durable cases) are committed. */
		rd_kafka_commit(rk, NULL, 1);
		if (coop) {
			rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk,
			    parts));
			k->assigned -= parts->cnt;
		} else {
			rd_kafka_assign(rk, NULL);
			k->assigned = 0;
		}
		kafka_owned_update(k, parts, 0, coop);
		if (k->assigned < 0)
			k->assigned = 0;
		break;
	default:
		log_error("kafka", "rebalance: %s", rd_kafka_err2str(err));
		rd_kafka_assign(rk, NULL);
		k->assigned = 0;
		k->member = 0;
		kafka_owned_update(k, NULL, 0, 0);
		break;
	}
}

/* Send a message to the dead-letter topic unchanged, with the reason. */
static int
kafka_dead_letter(struct kafka *k, const rd_kafka_message_t *m,
    const char *reason)
{
	char			 part[16], off[24];
	rd_kafka_resp_err_t	 err;
	const char		*topic = rd_kafka_topic_name(m->rkt);
	struct kafka_dead	*dl = NULL;
	struct kafka_part	*p;

	k->dead++;
	log_warn("kafka", "dead letter %s[%" PRId32 "]@%" PRId64 ": %s", topic,
	    m->partition, m->offset, reason);
	if (k->cfg->dlq_topic == NULL)
		return 0;
	snprintf(part, sizeof part, "%" PRId32, m->partition);
	snprintf(off, sizeof off, "%" PRId64, m->offset);
	if ((dl = calloc(1, sizeof *dl)) == NULL ||
	    (dl->topic = strdup(topic)) == NULL ||
	    (p = kafka_part(k, topic, m->partition)) == NULL) {
		if (dl != NULL)
			free(dl->topic);
		free(dl);
		return -1;
	}
	dl->k = k;
	dl->partition = m->partition;
	dl->offset = m->offset;
	err = rd_kafka_producev(k->producer,
	    RD_KAFKA_V_OPAQUE(dl),
	    RD_KAFKA_V_TOPIC(k->cfg->dlq_topic),
	    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	    RD_KAFKA_V_KEY(m->key, m->key_len),
	    RD_KAFKA_V_VALUE(m->payload, m->len),
	    RD_KAFKA_V_HEADER("deprov-reason", reason, -1),
	    RD_KAFKA_V_HEADER("deprov-topic", topic, -1),
	    RD_KAFKA_V_HEADER("deprov-partition", part, -1),
	    RD_KAFKA_V_HEADER("deprov-offset", off, -1),
	    RD_KAFKA_V_END);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_error("kafka", "dead letter to %s: %s", k->cfg->dlq_topic,
		    rd_kafka_err2str(err));
		free(dl->topic);
		free(dl);
		return -1;
	}
	p->pending++;
	return 1;
}

static struct kafka_block *
kafka_block_find(struct kafka *k, const char *topic, int32_t partition)
{
	struct kafka_block *b;

	for (b = k->blocks; b != NULL; b = b->next)
		if (b->partition == partition && strcmp(b->topic, topic) == 0)
			return b;
	return NULL;
}

static void
kafka_block_free(struct kafka *k, struct kafka_block *b)
{
	struct kafka_block **pp;

	for (pp = &k->blocks; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
	if (b->timer != NULL)
		event_free(b->timer);
	free(b->topic);
	free(b);
}

/* The retry delay is over: rewind the partition and resume it. */
static void
kafka_block_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kafka_block		*b = arg;
	struct kafka			*k = b->k;
	rd_kafka_topic_partition_list_t	*l;
	rd_kafka_error_t		*error;

	(void)fd;
	(void)what;
	l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, b->topic, b->partition)->offset =
	    b->offset;
	error = rd_kafka_seek_partitions(k->consumer, l, -1);
	if (error != NULL) {
		log_warn("kafka", "seek %s[%" PRId32 "]: %s", b->topic,
		    b->partition, rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
	}
	rd_kafka_resume_partitions(k->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
	log_info("kafka", "retrying %s[%" PRId32 "] from offset %" PRId64,
	    b->topic, b->partition, b->offset);
	kafka_block_free(k, b);
}

static void
kafka_block(struct kafka *k, const rd_kafka_message_t *m)
{
	kafka_block_at(k, rd_kafka_topic_name(m->rkt), m->partition, m->offset);
}

/* Processing failed: pause the partition and come back to this offset later. */
static void
kafka_block_at(struct kafka *k, const char *topic, int32_t partition,
    int64_t offset)
{
	struct kafka_block		*b;
	rd_kafka_topic_partition_list_t	*l;
	struct timeval			 tv = { KAFKA_RETRY_DELAY_MS / 1000,
					    (KAFKA_RETRY_DELAY_MS % 1000) * 1000 };

	if ((b = kafka_block_find(k, topic, partition)) != NULL) {
		/* Already rewinding: to the earlier of the two offsets. */
		if (offset < b->offset)
			b->offset = offset;
		return;
	}
	if ((b = calloc(1, sizeof *b)) == NULL ||
	    (b->topic = strdup(topic)) == NULL) {
		free(b);
		return;
	}
	b->k = k;
	b->partition = partition;
	b->offset = offset;
	b->next = k->blocks;
	k->blocks = b;
	l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, b->topic, b->partition);
	rd_kafka_pause_partitions(k->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
	if ((b->timer = evtimer_new(k->base, kafka_block_cb, b)) != NULL)
		evtimer_add(b->timer, &tv);
}

/* Act on a message's verdict: store its offset, dead-letter it, or rewind. */
static void
kafka_verdict(struct kafka *k, const rd_kafka_message_t *m,
    enum kafka_verdict v, const char *reason)
{
	const char *origin_topic = rd_kafka_topic_name(m->rkt);

	switch (v) {
	case KAFKA_DONE:
		kafka_done(k, origin_topic, m->partition, m->offset);
		break;
	case KAFKA_DEAD:
		switch (kafka_dead_letter(k, m, reason)) {
		case 0:		/* no dead-letter topic: logged and counted */
			kafka_done(k, origin_topic, m->partition, m->offset);
			break;
		case 1:		/* stored when the brokers have it */
			break;
		default:
			kafka_block(k, m);
			break;
		}
		break;
	case KAFKA_RETRY:
		log_warn("kafka", "%s[%" PRId32 "]@%" PRId64 " not durable (%s); "
		    "will retry", origin_topic, m->partition, m->offset,
		    reason);
		kafka_block(k, m);
		break;
	}
}

/*
 * The batch's end hook decides: committed, every kept verdict is acted on
 * in order; not committed, every partition of the batch is rewound to its
 * first message of the batch and nothing is stored or dead-lettered.
 */
static void
kafka_batch_finish(struct kafka *k)
{
	struct kafka_pend	*p;
	size_t			 i;
	int			 ok;

	ok = k->batch_end(k->batch_arg) == 0;
	if (!ok && k->npend > 0)
		log_error("kafka", "a batch of %zu messages could not be made "
		    "durable; it will be read again", k->npend);
	if (ok && k->npend > 0)
		k->collect = rd_kafka_topic_partition_list_new(4);
	for (i = 0; i < k->npend; i++) {
		p = &k->pend[i];
		if (ok && !k->closed)
			kafka_verdict(k, p->m, p->v, p->reason != NULL ?
			    p->reason : "unusable message");
		else if (!k->closed)
			kafka_block(k, p->m);
		rd_kafka_message_destroy(p->m);
		free(p->reason);
		p->m = NULL;
		p->reason = NULL;
	}
	k->npend = 0;
	/* The batch is durable, set aside or to be read again: none crashed us. */
	crashguard_idle(k->guard);
	if (k->collect != NULL) {
		rd_kafka_topic_partition_list_t *l = k->collect;

		k->collect = NULL;
		kafka_offsets_commit(k, l);
	}
}

int
kafka_set_guard(struct kafka *k, const char *path, char *err, size_t errlen)
{
	crashguard_free(k->guard);
	k->guard = crashguard_open(path, err, errlen);
	return k->guard != NULL ? 0 : -1;
}

void
kafka_set_batch(struct kafka *k, int (*begin)(void *), int (*end)(void *),
    void *arg)
{
	k->batch_begin = begin;
	k->batch_end = end;
	k->batch_arg = arg;
}

/*
 * Hand one message to the callback. In a batch a DONE or DEAD verdict is
 * kept with the message (returns 1: the batch owns m now); otherwise it is
 * acted on at once (returns 0: the caller destroys m).
 */
static int
kafka_handle(struct kafka *k, rd_kafka_message_t *m, int batch)
{
	struct kafka_msg	 km;
	rd_kafka_headers_t	*hdrs = NULL;
	char			 reason[512], origin_topic[256];
	enum kafka_verdict	 v;
	struct kafka_pend	*p;

	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
			log_warn("kafka", "consumer: %s",
			    rd_kafka_message_errstr(m));
		return 0;
	}
	snprintf(origin_topic, sizeof origin_topic, "%s",
	    rd_kafka_topic_name(m->rkt));
	if (kafka_block_find(k, origin_topic, m->partition) != NULL)
		return 0;	/* redelivered after the pause */
	k->consumed++;
	reason[0] = '\0';
	if (m->len > k->cfg->max_message_bytes) {
		snprintf(reason, sizeof reason, "message too large: %zu bytes "
		    "(max %zu)", m->len, k->cfg->max_message_bytes);
		v = KAFKA_DEAD;
	} else if (crashguard_crashes(k->guard, origin_topic, m->partition,
	    m->offset) >= KAFKA_CRASHES_MAX) {
		/*
		 * The decoder is not given it a third time. It stays a
		 * suspect until its offset is stored (after the dead letter
		 * is taken): read again before that, it is set aside again.
		 */
		log_error("kafka", "%s[%" PRId32 "]@%" PRId64 " was being handled "
		    "when the process died, %d starts in a row: setting it "
		    "aside", origin_topic, m->partition, m->offset,
		    KAFKA_CRASHES_MAX);
		snprintf(reason, sizeof reason, "crashed the consumer");
		v = KAFKA_DEAD;
	} else {
		/* Recorded before the callback: if it kills us, the next start knows. */
		crashguard_handling(k->guard, origin_topic, m->partition,
		    m->offset);
		memset(&km, 0, sizeof km);
		km.topic = origin_topic;
		km.partition = m->partition;
		km.offset = m->offset;
		km.key = m->key;
		km.key_len = m->key_len;
		km.value = m->payload;
		km.len = m->len;
		if (rd_kafka_message_headers(m, &hdrs) ==
		    RD_KAFKA_RESP_ERR_NO_ERROR)
			km.headers = hdrs;
		v = k->cb(&km, reason, sizeof reason, k->arg);
	}
	if (batch && v != KAFKA_RETRY && k->npend < KAFKA_BATCH_MAX) {
		p = &k->pend[k->npend++];
		p->m = m;
		p->v = v;
		p->reason = v == KAFKA_DEAD ? strdup(reason) : NULL;
		return 1;
	}
	kafka_verdict(k, m, v, reason);
	return 0;
}

static void
kafka_drain_consumer(struct kafka *k)
{
	rd_kafka_message_t	*m;
	int			 batch = 0, more = 0, alone;
	int64_t			 start = clock_mono_ms();

	if (k->closed)
		return;
	while ((m = rd_kafka_consumer_poll(k->consumer, 0)) != NULL) {
		/*
		 * A message that was being handled when the last run died
		 * gets a batch of its own: a crash inside a batch only says
		 * that one of its messages is to blame, a crash now names it.
		 */
		alone = m->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
		    crashguard_crashes(k->guard, rd_kafka_topic_name(m->rkt),
		    m->partition, m->offset) > 0;
		if (alone && batch) {
			kafka_batch_finish(k);
			batch = 0;
		}
		if (!batch && k->batch_end != NULL &&
		    m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
			batch = k->batch_begin(k->batch_arg) == 0;
		if (!kafka_handle(k, m, batch))
			rd_kafka_message_destroy(m);
		if (!batch)
			crashguard_idle(k->guard);	/* acted on at once */
		else if (alone) {
			kafka_batch_finish(k);
			batch = 0;
		}
		kafka_backpressure_check(k);
		if (k->closed)
			break;
		if ((batch && k->npend == KAFKA_BATCH_MAX) || ((batch || alone) &&
		    clock_mono_ms() - start >= KAFKA_BATCH_MS)) {
			more = 1;	/* the rest after a loop turn */
			break;
		}
	}
	if (batch)
		kafka_batch_finish(k);
	/*
	 * A zero timer, not event_active: an active event would run in this
	 * same pass of the loop, before any socket or timer is looked at, and
	 * a large backlog would be read in full before a single call went out.
	 */
	if (more && !k->closed && k->more != NULL) {
		struct timeval tv = { 0, 0 };

		evtimer_add(k->more, &tv);
	}
}

static void
kafka_more_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	kafka_drain_consumer(arg);
}

/* Empty a wake-up pipe. */
static void
kafka_pipe_empty(int fd)
{
	char buf[256];

	while (read(fd, buf, sizeof buf) > 0)
		;
}

static void
kafka_consumer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kafka *k = arg;

	(void)what;
	kafka_pipe_empty(fd);
	if (k->closeq != NULL)
		kafka_close_serve(k);
	else
		kafka_drain_consumer(k);
}

static void
kafka_producer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kafka *k = arg;

	(void)what;
	kafka_pipe_empty(fd);
	rd_kafka_poll(k->producer, 0);
}

static void
kafka_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kafka *k = arg;

	(void)fd;
	(void)what;
	kafka_drain_consumer(k);
	kafka_held_release(k);
	kafka_backpressure_check(k);
	if (k->producer != NULL)
		rd_kafka_poll(k->producer, 0);
}

static int
kafka_pipe(int fds[2])
{
	if (pipe(fds) != 0)
		return -1;
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0)
		return -1;
	return 0;
}

static int
kafka_set(rd_kafka_conf_t *conf, const char *key, const char *value,
    char *err, size_t errlen)
{
	char e[512];

	if (rd_kafka_conf_set(conf, key, value, e, sizeof e) !=
	    RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "kafka property %s: %s", key, e);
		return -1;
	}
	return 0;
}

/*
 * Which client a librdkafka property is for, from librdkafka's own table
 * (rd_kafka_conf_properties_show, the C/P column of its CONFIGURATION.md):
 * 'C' consumer, 'P' producer, '*' both, 0 when the table does not name it
 * (then it goes to both, and librdkafka refuses it if it is unknown).
 */
static int
kafka_prop_scope(const char *table, const char *key)
{
	const char	*line, *bar;
	size_t		 n = strlen(key);

	for (line = table; line != NULL && *line != '\0'; line = strchr(line,
	    '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, key, n) != 0 || line[n] != ' ')
			continue;
		if ((bar = strchr(line + n, '|')) == NULL ||
		    memchr(line + n, '\n', (size_t)(bar - line - n)) != NULL)
			continue;
		bar++;
		while (*bar == ' ')
			bar++;
		if (*bar == 'C' || *bar == 'P' || *bar == '*')
			return *bar;
	}
	return 0;
}

/* librdkafka's property table as text (start-up only), or NULL. */
static char *
kafka_prop_table(void)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*f;

	if ((f = open_memstream(&text, &len)) == NULL)
		return NULL;
	rd_kafka_conf_properties_show(f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/*
 * Common settings: bootstrap, the pass-through properties that apply to
 * this type of client (a consumer property given to a producer is ignored
 * by librdkafka with a CONFWARN, and the other way round), logging.
 */
static rd_kafka_conf_t *
kafka_conf(struct kafka *k, rd_kafka_type_t type, char *err, size_t errlen)
{
	rd_kafka_conf_t	*conf = rd_kafka_conf_new();
	char		*table = NULL;
	size_t		 i;
	int		 scope;

	if (kafka_set(conf, "bootstrap.servers", k->bootstrap, err,
	    errlen) != 0)
		goto fail;
	if (k->cfg->nprops > 0 && (table = kafka_prop_table()) == NULL) {
		snprintf(err, errlen, "kafka: cannot read librdkafka's "
		    "property table");
		goto fail;
	}
	for (i = 0; i < k->cfg->nprops; i++) {
		scope = kafka_prop_scope(table, k->cfg->prop_keys[i]);
		if ((scope == 'C' && type != RD_KAFKA_CONSUMER) ||
		    (scope == 'P' && type != RD_KAFKA_PRODUCER))
			continue;
		if (kafka_set(conf, k->cfg->prop_keys[i], k->cfg->prop_vals[i],
		    err, errlen) != 0)
			goto fail;
	}
	free(table);
	table = NULL;
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
	rd_kafka_conf_set_opaque(conf, k);
	return conf;
fail:
	free(table);
	rd_kafka_conf_destroy(conf);
	return NULL;
}

/* Write the embedded cluster's bootstrap address atomically. */
static int
kafka_write_bootstrap(const char *path, const char *bootstrap)
{
	char	*tmp = NULL;
	FILE	*f;
	int	 r = -1;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -1;
	if ((f = fopen(tmp, "w")) == NULL)
		goto done;
	fprintf(f, "%s\n", bootstrap);
	if (fclose(f) != 0)
		goto done;
	r = rename(tmp, path);
done:
	free(tmp);
	return r;
}

static int
kafka_start_mock(struct kafka *k, char *err, size_t errlen)
{
	rd_kafka_conf_t	*conf = rd_kafka_conf_new();
	char		 e[512];
	size_t		 i;
	int		 parts = k->cfg->partitions > 0 ? k->cfg->partitions : 1;

	rd_kafka_conf_set_log_cb(conf, kafka_mock_host_log_cb);
	k->mock_host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
	if (k->mock_host == NULL) {
		rd_kafka_conf_destroy(conf);
		snprintf(err, errlen, "embedded kafka: %s", e);
		return -1;
	}
	if ((k->mock = rd_kafka_mock_cluster_new(k->mock_host, 1)) == NULL) {
		snprintf(err, errlen, "embedded kafka: cannot start the mock "
		    "cluster");
		return -1;
	}
	for (i = 0; i < k->cfg->ntopics; i++)
		rd_kafka_mock_topic_create(k->mock, k->cfg->topics[i], parts, 1);
	if (k->cfg->dlq_topic != NULL)
		rd_kafka_mock_topic_create(k->mock, k->cfg->dlq_topic, 1, 1);
	if (k->cfg->audit_topic != NULL)
		rd_kafka_mock_topic_create(k->mock, k->cfg->audit_topic, parts, 1);
	k->bootstrap = strdup(rd_kafka_mock_cluster_bootstraps(k->mock));
	if (k->bootstrap == NULL)
		return -1;
	if (k->cfg->bootstrap_file != NULL &&
	    kafka_write_bootstrap(k->cfg->bootstrap_file, k->bootstrap) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s",
		    k->cfg->bootstrap_file, strerror(errno));
		return -1;
	}
	log_info("kafka", "embedded cluster at %s (%d partitions per topic)",
	    k->bootstrap, parts);
	return 0;
}

/* Wake the loop through fds[1] when q becomes non-empty. */
static struct event *
kafka_wire(struct kafka *k, rd_kafka_queue_t *q, int fds[2],
    event_callback_fn cb)
{
	struct event *ev;

	if (kafka_pipe(fds) != 0)
		return NULL;
	rd_kafka_queue_io_event_enable(q, fds[1], "1", 1);
	ev = event_new(k->base, fds[0], EV_READ | EV_PERSIST, cb, k);
	if (ev != NULL)
		event_add(ev, NULL);
	return ev;
}

struct kafka *
kafka_new(struct event_base *base, const struct config_kafka *cfg,
    kafka_msg_cb cb, void *arg, char *err, size_t errlen)
{
	struct kafka			*k;
	rd_kafka_conf_t			*conf = NULL;
	rd_kafka_topic_partition_list_t	*topics = NULL;
	rd_kafka_resp_err_t		 rerr;
	char				 e[512];
	struct timeval			 tv = { 1, 0 };
	size_t				 i;

	if ((k = calloc(1, sizeof *k)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->base = base;
	k->cfg = cfg;
	k->cb = cb;
	k->arg = arg;
	k->cpipe[0] = k->cpipe[1] = k->ppipe[0] = k->ppipe[1] = -1;

	if (strcmp(cfg->brokers, "embedded") == 0) {
		if (kafka_start_mock(k, err, errlen) != 0)
			goto fail;
	} else if ((k->bootstrap = strdup(cfg->brokers)) == NULL)
		goto fail;

	/* Dead-letter producer: idempotent, waits for all replicas. */
	if ((conf = kafka_conf(k, RD_KAFKA_PRODUCER, err, errlen)) == NULL)
		goto fail;
	if (kafka_set(conf, "enable.idempotence", "true", err, errlen) != 0)
		goto fail;
	rd_kafka_conf_set_dr_msg_cb(conf, kafka_dr_cb);
	if ((k->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e,
	    sizeof e)) == NULL) {
		snprintf(err, errlen, "kafka producer: %s", e);
		goto fail;
	}
	conf = NULL;
	k->pq = rd_kafka_queue_get_main(k->producer);
	if ((k->pev = kafka_wire(k, k->pq, k->ppipe, kafka_producer_cb)) ==
	    NULL) {
		snprintf(err, errlen, "kafka producer: cannot wire queue");
		goto fail;
	}

	/* Consumer: offsets stored by hand after each message is durable. */
	if ((conf = kafka_conf(k, RD_KAFKA_CONSUMER, err, errlen)) == NULL)
		goto fail;
	if (kafka_set(conf, "group.id", cfg->group_id, err, errlen) != 0 ||
	    kafka_set(conf, "enable.auto.offset.store", "false", err,
	    errlen) != 0 ||
	    kafka_set(conf, "enable.partition.eof", "false", err, errlen) != 0)
		goto fail;
	/* Events published before the group first commits are not skipped. */
	if (rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", e,
	    sizeof e) != RD_KAFKA_CONF_OK)
		goto fail;
	for (i = 0; i < cfg->nprops; i++) {
		if (strcmp(cfg->prop_keys[i], "auto.offset.reset") != 0)
			continue;
		kafka_set(conf, "auto.offset.reset", cfg->prop_vals[i], err,
		    errlen);
		/* Where a partition without a committed offset starts (kafka_lag). */
		k->reset_latest = strcmp(cfg->prop_vals[i], "latest") == 0 ||
		    strcmp(cfg->prop_vals[i], "largest") == 0 ||
		    strcmp(cfg->prop_vals[i], "end") == 0;
		k->reset_error = strcmp(cfg->prop_vals[i], "error") == 0;
	}
	rd_kafka_conf_set_rebalance_cb(conf, kafka_rebalance_cb);
	rd_kafka_conf_set_stats_cb(conf, kafka_stats_cb);
	if (kafka_set(conf, "statistics.interval.ms", "1000", err, errlen) != 0)
		goto fail;
	/* Bound what is fetched ahead of processing (backpressure). */
	if (rd_kafka_conf_set(conf, "queued.max.messages.kbytes", "16384", e,
	    sizeof e) != RD_KAFKA_CONF_OK)
		goto fail;
	if ((k->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e,
	    sizeof e)) == NULL) {
		snprintf(err, errlen, "kafka consumer: %s", e);
		goto fail;
	}
	conf = NULL;
	rd_kafka_poll_set_consumer(k->consumer);
	k->cq = rd_kafka_queue_get_consumer(k->consumer);
	if ((k->cev = kafka_wire(k, k->cq, k->cpipe, kafka_consumer_cb)) ==
	    NULL) {
		snprintf(err, errlen, "kafka consumer: cannot wire queue");
		goto fail;
	}
	topics = rd_kafka_topic_partition_list_new((int)cfg->ntopics);
	for (i = 0; i < cfg->ntopics; i++)
		rd_kafka_topic_partition_list_add(topics, cfg->topics[i],
		    RD_KAFKA_PARTITION_UA);
	if ((rerr = rd_kafka_subscribe(k->consumer, topics)) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "kafka subscribe: %s",
		    rd_kafka_err2str(rerr));
		goto fail;
	}
	rd_kafka_topic_partition_list_destroy(topics);
	topics = NULL;
	if ((k->tick = event_new(base, -1, EV_PERSIST, kafka_tick_cb, k)) ==
	    NULL || (k->more = evtimer_new(base, kafka_more_cb, k)) == NULL)
		goto fail;
	event_add(k->tick, &tv);
	log_info("kafka", "consuming %zu topics from %s as group %s",
	    cfg->ntopics, k->bootstrap, cfg->group_id);
	return k;

fail:
	if (err[0] == '\0')
		snprintf(err, errlen, "kafka: setup failed");
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	if (topics != NULL)
		rd_kafka_topic_partition_list_destroy(topics);
	kafka_free(k);
	return NULL;
}

/* The close is over (closed, or given up): tell the caller, once. */
static void
kafka_close_finish(struct kafka *k)
{
	void (*done)(void *) = k->close_done;

	if (k->close_over)
		return;
	k->close_over = 1;
	if (k->close_timer != NULL)
		event_del(k->close_timer);
	if (k->closeq != NULL)
		rd_kafka_queue_io_event_enable(k->closeq, -1, NULL, 0);
	k->close_done = NULL;
	if (done != NULL)
		done(k->close_arg);
}

/*
 * Serve the close queue (rebalance callbacks run here, on the loop; any
 * message is dropped: it was not handed over, its offset is not stored) and
 * see whether the consumer has closed or the deadline has passed.
 */
static void
kafka_close_serve(struct kafka *k)
{
	rd_kafka_message_t *m;

	if (k->close_over)
		return;
	while ((m = rd_kafka_consume_queue(k->closeq, 0)) != NULL)
		rd_kafka_message_destroy(m);
	if (rd_kafka_consumer_closed(k->consumer)) {
		log_info("kafka", "consumer closed (stored offsets committed, "
		    "group left)");
		kafka_close_finish(k);
	} else if (clock_mono_ms() >= k->close_deadline_ms) {
		log_warn("kafka", "consumer not closed in time (brokers "
		    "unreachable?): leaving without it; offsets not "
		    "committed are read again at the next start");
		kafka_close_finish(k);
	}
}

static void
kafka_close_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	kafka_close_serve(arg);
}

/*
 * Stop intake and start closing the consumer without blocking: an
 * asynchronous commit of the stored offsets, then
 * rd_kafka_consumer_close_queue. Returns 0 when the close is under way (or
 * over), -1 when it could not be started (then it is over at once).
 */
static int
kafka_close_begin(struct kafka *k, long timeout_ms)
{
	rd_kafka_error_t	*error;
	struct timeval		 tv = { 0, KAFKA_CLOSE_POLL_MS * 1000 };

	k->closed = 1;
	if (k->tick != NULL)
		event_del(k->tick);
	if (k->more != NULL)
		event_del(k->more);
	k->close_deadline_ms = clock_mono_ms() + timeout_ms;
	if (k->consumer == NULL)
		return -1;
	/* Only stored offsets (durable cases) are committed. */
	rd_kafka_commit(k->consumer, NULL, 1);
	rd_kafka_queue_io_event_enable(k->cq, -1, NULL, 0);
	if ((k->closeq = rd_kafka_queue_new(k->consumer)) == NULL)
		return -1;
	if ((error = rd_kafka_consumer_close_queue(k->consumer,
	    k->closeq)) != NULL) {
		log_warn("kafka", "consumer close: %s",
		    rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
		return -1;
	}
	rd_kafka_queue_io_event_enable(k->closeq, k->cpipe[1], "1", 1);
	if (k->close_timer == NULL && (k->close_timer = event_new(k->base, -1,
	    EV_PERSIST, kafka_close_timer_cb, k)) == NULL)
		return -1;
	event_add(k->close_timer, &tv);
	return 0;
}

void
kafka_close_start(struct kafka *k, long timeout_ms, void (*done)(void *),
    void *arg)
{
	if (k == NULL || k->closed) {
		if (done != NULL)
			done(arg);
		return;
	}
	k->close_done = done;
	k->close_arg = arg;
	if (kafka_close_begin(k, timeout_ms) != 0)
		kafka_close_finish(k);	/* nothing to wait for */
}

int
kafka_flush(struct kafka *k, long timeout_ms)
{
	int left;

	if (k == NULL || k->producer == NULL)
		return 0;
	if (rd_kafka_flush(k->producer, (int)timeout_ms) ==
	    RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	left = rd_kafka_outq_len(k->producer);
	log_warn("kafka", "%d produced messages (dead letters, audit records) "
	    "not acknowledged within %ld ms; given up", left, timeout_ms);
	return left;
}

void
kafka_close(struct kafka *k)
{
	rd_kafka_message_t *m;

	if (k == NULL || k->closed)
		return;
	/* The same close, waited for here (at most KAFKA_CLOSE_MS). */
	if (kafka_close_begin(k, KAFKA_CLOSE_MS) == 0) {
		while (!rd_kafka_consumer_closed(k->consumer) &&
		    clock_mono_ms() < k->close_deadline_ms)
			if ((m = rd_kafka_consume_queue(k->closeq,
			    KAFKA_CLOSE_POLL_MS)) != NULL)
				rd_kafka_message_destroy(m);
		if (!rd_kafka_consumer_closed(k->consumer))
			log_warn("kafka", "consumer not closed within %d ms: "
			    "leaving without it", KAFKA_CLOSE_MS);
	}
	k->close_over = 1;
	kafka_flush(k, KAFKA_FLUSH_MS);
}

void
kafka_free(struct kafka *k)
{
	if (k == NULL)
		return;
	kafka_close(k);
	while (k->held != NULL) {
		struct kafka_held *h = k->held;

		k->held = h->next;
		rd_kafka_topic_partition_list_destroy(h->l);
		free(h);
	}
	while (k->blocks != NULL)
		kafka_block_free(k, k->blocks);
	kafka_parts_free(k);
	if (k->owned != NULL)
		rd_kafka_topic_partition_list_destroy(k->owned);
	if (k->committed != NULL)
		rd_kafka_topic_partition_list_destroy(k->committed);
	if (k->tick != NULL)
		event_free(k->tick);
	if (k->more != NULL)
		event_free(k->more);
	if (k->cev != NULL)
		event_free(k->cev);
	if (k->pev != NULL)
		event_free(k->pev);
	if (k->close_timer != NULL)
		event_free(k->close_timer);
	if (k->closeq != NULL) {
		rd_kafka_queue_io_event_enable(k->closeq, -1, NULL, 0);
		rd_kafka_queue_destroy(k->closeq);
	}
	if (k->cq != NULL)
		rd_kafka_queue_destroy(k->cq);
	/*
	 * A consumer that did not close in time (brokers gone) is destroyed
	 * without another close, which would wait for the brokers again.
	 */
	if (k->consumer != NULL)
		rd_kafka_destroy_flags(k->consumer,
		    rd_kafka_consumer_closed(k->consumer) ? 0 :
		    RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
	if (k->pq != NULL) {
		rd_kafka_queue_io_event_enable(k->pq, -1, NULL, 0);
		rd_kafka_queue_destroy(k->pq);
	}
	if (k->producer != NULL) {
		/* Whatever is still queued is given up: its callbacks are told. */
		rd_kafka_purge(k->producer, RD_KAFKA_PURGE_F_QUEUE |
		    RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_flush(k->producer, 1000);
		rd_kafka_destroy(k->producer);
	}
	if (k->mock != NULL)
		rd_kafka_mock_cluster_destroy(k->mock);
	if (k->mock_host != NULL)
		rd_kafka_destroy(k->mock_host);
	crashguard_free(k->guard);
	if (k->cpipe[0] >= 0)
		close(k->cpipe[0]);
	if (k->cpipe[1] >= 0)
		close(k->cpipe[1]);
	if (k->ppipe[0] >= 0)
		close(k->ppipe[0]);
	if (k->ppipe[1] >= 0)
		close(k->ppipe[1]);
	free(k->bootstrap);
	free(k);
}

int
kafka_msg_header(const struct kafka_msg *m, const char *name,
    const char **value, size_t *len)
{
	const void	*v;
	size_t		 n;

	if (m->headers == NULL || rd_kafka_header_get_last(
	    (const rd_kafka_headers_t *)m->headers, name, &v, &n) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR || v == NULL)
		return -1;
	*value = v;
	*len = n;
	return 0;
}

int
kafka_assigned(const struct kafka *k)
{
	return k->assigned > 0;
}

const char *
kafka_bootstrap(const struct kafka *k)
{
	return k->bootstrap;
}

uint64_t
kafka_dead_letters(const struct kafka *k)
{
	return k->dead;
}

uint64_t
kafka_consumed(const struct kafka *k)
{
	return k->consumed;
}

int
kafka_member(const struct kafka *k)
{
	return k->member && !k->closed;
}

void
kafka_owned(const struct kafka *k, void (*fn)(void *, const char *, int32_t),
    void *arg)
{
	rd_kafka_topic_partition_list_t	*l;
	int				 i;

	if (k->owned == NULL || k->owned->cnt == 0 ||
	    (l = rd_kafka_topic_partition_list_copy(k->owned)) == NULL)
		return;
	rd_kafka_topic_partition_list_sort(l, NULL, NULL);
	for (i = 0; i < l->cnt; i++)
		fn(arg, l->elems[i].topic, l->elems[i].partition);
	rd_kafka_topic_partition_list_destroy(l);
}

/*
 * Where the consumer is in partition p, for the lag: its position once a
 * message of p was handed to deprovd in this assignment; before that, where
 * it starts: the group's committed offset, or without one the end that
 * auto.offset.reset names (lo or hi). -1 when not known yet.
 */
static int64_t
kafka_lag_from(const struct kafka *k, const rd_kafka_topic_partition_t *p,
    int64_t lo, int64_t hi)
{
	const rd_kafka_topic_partition_t *c;

	if (p->err == RD_KAFKA_RESP_ERR_NO_ERROR && p->offset >= 0)
		return p->offset;
	if (k->committed == NULL || (c = rd_kafka_topic_partition_list_find(
	    k->committed, p->topic, p->partition)) == NULL)
		return -1;	/* its starting offset is not settled yet */
	if (c->offset >= 0)
		return c->offset;
	if (k->reset_error)
		return -1;
	return k->reset_latest ? hi : lo;
}

/*
 * Sum over the assigned partitions of high watermark - where the consumer
 * is (kafka_lag_from), from librdkafka's cached values and the last
 * statistics (no broker round trip). A partition whose watermark or
 * starting offset is not known yet is left out and counted in *unknown.
 * 0 for a member of the group without partitions; -1 when not in the
 * group or when no partition is known.
 */
int64_t
kafka_lag(const struct kafka *k, int *unknown)
{
	rd_kafka_topic_partition_list_t	*l;
	rd_kafka_topic_partition_t	*p;
	int64_t				 lo, hi, from, sum = 0;
	int				 i, known = 0, missing = 0;

	if (unknown != NULL)
		*unknown = 0;
	if (k == NULL || k->consumer == NULL || k->closed)
		return -1;
	if (k->owned == NULL || k->owned->cnt == 0)
		return k->member ? 0 : -1;
	if ((l = rd_kafka_topic_partition_list_copy(k->owned)) == NULL)
		return -1;
	missing = l->cnt;
	if (rd_kafka_position(k->consumer, l) != RD_KAFKA_RESP_ERR_NO_ERROR)
		goto done;
	for (i = 0; i < l->cnt; i++) {
		p = &l->elems[i];
		if (rd_kafka_get_watermark_offsets(k->consumer, p->topic,
		    p->partition, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
		    hi < 0 || (from = kafka_lag_from(k, p, lo, hi)) < 0)
			continue;
		sum += hi > from ? hi - from : 0;
		known++;
	}
	missing = l->cnt - known;
done:
	rd_kafka_topic_partition_list_destroy(l);
	if (unknown != NULL)
		*unknown = missing;
	return known > 0 ? sum : -1;
}

/* Pause or resume every assigned partition. */
static void
kafka_pause(struct kafka *k, int pause)
{
	rd_kafka_topic_partition_list_t *l = NULL;

	if (k->consumer == NULL || k->closed)
		return;
	if (rd_kafka_assignment(k->consumer, &l) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    l == NULL)
		return;
	if (pause)
		rd_kafka_pause_partitions(k->consumer, l);
	else
		rd_kafka_resume_partitions(k->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
	k->paused = pause;
}

void
kafka_set_backpressure(struct kafka *k, size_t high, size_t low,
    size_t (*open_fn)(void *), void *arg)
{
	k->high = high;
	k->low = low < high ? low : high;
	k->open_fn = open_fn;
	k->open_arg = arg;
}

void
kafka_backpressure_check(struct kafka *k)
{
	size_t open;

	if (k == NULL || k->open_fn == NULL || k->high == 0 || k->closed)
		return;
	open = k->open_fn(k->open_arg);
	if (!k->paused && open >= k->high) {
		log_warn("kafka", "%zu open cases (limit %zu): pausing intake",
		    open, k->high);
		kafka_pause(k, 1);
	} else if (k->paused && open <= k->low) {
		log_info("kafka", "%zu open cases: resuming intake", open);
		kafka_pause(k, 0);
	}
}

int
kafka_paused(const struct kafka *k)
{
	return k->paused;
}

int
kafka_brokers_up(const struct kafka *k)
{
	return k->brokers_up;
}

int
kafka_produce(struct kafka *k, const char *topic, const char *key,
    const void *value, size_t len, const char *content_type,
    void (*cb)(void *, int, const char *), void *arg)
{
	struct kafka_dead	*dl;
	rd_kafka_resp_err_t	 err;
	size_t			 klen = key != NULL ? strlen(key) : 0;

	if (k->producer == NULL || (dl = calloc(1, sizeof *dl)) == NULL)
		return -1;
	dl->k = k;
	dl->cb = cb;
	dl->arg = arg;
	err = rd_kafka_producev(k->producer,
	    RD_KAFKA_V_OPAQUE(dl),
	    RD_KAFKA_V_TOPIC(topic),
	    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	    RD_KAFKA_V_KEY(key, klen),
	    RD_KAFKA_V_VALUE((void *)(uintptr_t)value, len),
	    RD_KAFKA_V_HEADER("content-type", content_type, -1),
	    RD_KAFKA_V_END);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		free(dl);
		return -1;
	}
	return 0;
}
