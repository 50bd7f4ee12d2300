/*
 * audit_stream: every audit record is also produced to kafka.audit_topic as
 * a CloudEvent (type io.deprov.case.<transition>, key = the case's subject),
 * in audit order, with delivery reports checked. The stream reads from the
 * audit table itself, so when Kafka is down nothing is lost: records wait in
 * the store and are sent, in order, once the brokers are back. The last
 * delivered seq is kept in the store (meta table).
 */
#ifndef DEPROV_AUDIT_STREAM_H
#define DEPROV_AUDIT_STREAM_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct store;
struct engine;
struct kafka;
struct audit_stream;

struct audit_stream *audit_stream_new(struct event_base *, struct store *,
		    struct engine *, struct kafka *, const char *topic,
		    char *err, size_t errlen);
/* Free after kafka_free: the producer's last callbacks still come here. */
void		 audit_stream_free(struct audit_stream *);
/* Last seq the brokers acknowledged, and how many are waiting. */
long long	 audit_stream_acked(const struct audit_stream *);
uint64_t	 audit_stream_backlog(const struct audit_stream *);

#endif
