/*
 * kafka: the leaver-event consumer on librdkafka, integrated into the
 * libevent loop through the consumer queue's io-event fd (never a blocking
 * poll). At-least-once: offsets are stored only after the message's callback
 * says it is durable (or dead-lettered), and only stored offsets are
 * committed. Malformed or oversized messages go to the dead-letter topic
 * unchanged, with headers naming the reason and where they came from.
 * With brokers "embedded" an in-process mock cluster is started and its
 * bootstrap address written to a file, for development and tests.
 */
#ifndef DEPROV_KAFKA_H
#define DEPROV_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "deprov/config.h"

struct event_base;
struct kafka;

enum kafka_verdict {
	KAFKA_DONE = 0,		/* durable: store the offset */
	KAFKA_DEAD,		/* unusable: dead-letter it with the reason, store the offset */
	KAFKA_RETRY		/* could not be made durable now: redeliver later */
};

struct kafka_msg {
	const char	*topic;
	int32_t		 partition;
	int64_t		 offset;
	const void	*key;
	size_t		 key_len;
	const void	*value;
	size_t		 len;
	const void	*headers;	/* librdkafka's headers; use kafka_msg_header */
};

/* The last header called name: 0 with value/len, or -1 when absent. */
int		 kafka_msg_header(const struct kafka_msg *, const char *name,
		    const char **value, size_t *len);

typedef enum kafka_verdict (*kafka_msg_cb)(const struct kafka_msg *,
    char *reason, size_t reasonlen, void *arg);

struct kafka	*kafka_new(struct event_base *, const struct config_kafka *,
		    kafka_msg_cb, void *arg, char *err, size_t errlen);
/*
 * Group commit of intake: the messages of one wake-up (at most 256) are
 * handed to the callback between begin() and end(). Their offsets are stored,
 * and their dead letters sent, only once end() returned 0 (durable); on -1
 * their partitions are rewound to the batch's first message and read again.
 * begin() returning -1 means no batch: each message is acted on at once.
 */
void		 kafka_set_batch(struct kafka *, int (*begin)(void *),
		    int (*end)(void *), void *arg);
/*
 * Where durability is more than end()'s: gen() names the commit that made
 * what was handed over durable, durable() up to which commit everything
 * is durable (the postgres backend: in PostgreSQL). Offsets are stored
 * only then; until then they wait, in order, and a restart or another
 * instance reads those messages again.
 */
void		 kafka_set_durable(struct kafka *, uint64_t (*gen)(void *),
		    uint64_t (*durable)(void *), void *arg);
/*
 * The crash-loop breaker (crashguard.h): what is being handled is recorded
 * in the file at path (beside the store). A message that was being handled
 * when the last run died is handled alone; one that was being handled at
 * the last two deaths is dead-lettered with the reason "crashed the
 * consumer" and not handed to the callback. Call before the loop runs.
 * Returns 0, or -1 with err when the file cannot be used.
 */
int		 kafka_set_guard(struct kafka *, const char *path, char *err,
		    size_t errlen);
/*
 * Bounded stop, on the loop (never blocks): stop consuming, commit the
 * stored offsets and leave the group in the background
 * (rd_kafka_consumer_close_queue served from the loop). done(arg) is called
 * once the consumer has closed or timeout_ms have passed, whichever first
 * (before kafka_close_start returns when there is nothing to wait for).
 * A consumer that did not close is destroyed without waiting for the
 * brokers again by kafka_free; its offsets not committed are read again at
 * the next start (at-least-once; the store drops the duplicates).
 */
void		 kafka_close_start(struct kafka *, long timeout_ms,
		    void (*done)(void *), void *arg);
/*
 * Wait up to timeout_ms (blocking) for produced messages (dead letters,
 * audit records) to be acknowledged. 0, or how many are left (given up
 * by kafka_free).
 */
int		 kafka_flush(struct kafka *, long timeout_ms);
/*
 * kafka_close_start and its wait in one blocking call, then kafka_flush:
 * at most 5 s + 3 s. Called by kafka_free when the close was not started.
 */
void		 kafka_close(struct kafka *);
void		 kafka_free(struct kafka *);

/* 1 when partitions are assigned. */
int		 kafka_assigned(const struct kafka *);
/*
 * 1 when the consumer is a member of its group with its assignment in
 * effect, partitions or none (readiness): an instance of a group with more
 * members than partitions is a member without partitions, ready to take
 * some over at the next rebalance. 0 before the first assignment, during
 * an eager rebalance, after the assignment was lost and once closing.
 */
int		 kafka_member(const struct kafka *);
/* fn(arg, topic, partition) for each partition owned, in order. */
void		 kafka_owned(const struct kafka *,
		    void (*fn)(void *arg, const char *topic, int32_t partition),
		    void *arg);
/* The bootstrap servers in use (the mock cluster's in embedded mode). */
const char	*kafka_bootstrap(const struct kafka *);
uint64_t	 kafka_dead_letters(const struct kafka *);
uint64_t	 kafka_consumed(const struct kafka *);
/*
 * Consumer lag: the sum over assigned partitions of high watermark minus
 * position, from librdkafka's cached values (never blocks). A partition not
 * read from yet counts from where it starts: its committed offset, or the
 * end auto.offset.reset names. A partition whose watermark or start is not
 * known yet (its first fetch has not answered) is left out and counted in
 * *unknown (may be NULL). 0 for a member without partitions; -1 when not in
 * the group or nothing is known.
 */
int64_t		 kafka_lag(const struct kafka *, int *unknown);

/*
 * Backpressure: pause every assigned partition when open_fn() reaches high,
 * resume when it is back to low. Checked after each message and each
 * second; call kafka_backpressure_check when cases end, to resume at once.
 */
void		 kafka_set_backpressure(struct kafka *, size_t high, size_t low,
		    size_t (*open_fn)(void *), void *arg);
void		 kafka_backpressure_check(struct kafka *);
int		 kafka_paused(const struct kafka *);
/*
 * Produce one message (copied) with the idempotent producer; cb is told from
 * the loop whether the brokers have it (ok 1) or it was given up (ok 0).
 * Returns 0, or -1 when it could not even be queued (cb not called).
 */
int		 kafka_produce(struct kafka *, const char *topic, const char *key,
		    const void *value, size_t len, const char *content_type,
		    void (*cb)(void *arg, int ok, const char *error), void *arg);

/* 1 when the statistics show a broker of the cluster up. */
int		 kafka_brokers_up(const struct kafka *);

/* The "kafka" section's settings (src/kafka-config.c), read by config_load. */
extern const struct config_section kafka_settings;

#endif
