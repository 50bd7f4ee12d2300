/*
 * deprov-kafka-admin: what the integration tests ask of a real Kafka broker
 * that kcat cannot do, through librdkafka's admin API (the same library
 * deprovd uses). Prints results on stdout, errors on stderr; exit 0 or 1.
 *
 *   deprov-kafka-admin -b BOOTSTRAP create TOPIC:PARTITIONS...
 *       creates the topics (replication factor 1); one that exists already
 *       is fine. Returns once the broker reports a leader for every partition.
 *   deprov-kafka-admin -b BOOTSTRAP committed GROUP TOPIC
 *       one line per partition: "PARTITION COMMITTED HIGH_WATERMARK"
 *       (COMMITTED is -1001 when the group committed nothing there).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define ADMIN_TIMEOUT_MS 30000

static void
usage(void)
{
	fprintf(stderr, "usage: deprov-kafka-admin -b BOOTSTRAP create "
	    "TOPIC:PARTITIONS...\n"
	    "       deprov-kafka-admin -b BOOTSTRAP committed GROUP TOPIC\n");
	exit(2);
}

static rd_kafka_t *
admin_client(rd_kafka_type_t type, const char *bootstrap, const char *group)
{
	rd_kafka_conf_t	*conf = rd_kafka_conf_new();
	rd_kafka_t	*rk;
	char		 errstr[512];

	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr,
	    sizeof errstr) != RD_KAFKA_CONF_OK || (group != NULL &&
	    rd_kafka_conf_set(conf, "group.id", group, errstr,
	    sizeof errstr) != RD_KAFKA_CONF_OK)) {
		fprintf(stderr, "deprov-kafka-admin: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	if ((rk = rd_kafka_new(type, conf, errstr, sizeof errstr)) == NULL) {
		fprintf(stderr, "deprov-kafka-admin: %s\n", errstr);
		return NULL;
	}
	return rk;
}

/* Partitions of topic with a leader, or -1 when the topic is not known. */
static int
admin_partitions(rd_kafka_t *rk, const char *topic, int *with_leader)
{
	const struct rd_kafka_metadata	*md = NULL;
	rd_kafka_topic_t		*rkt;
	int				 i, n = -1;

	*with_leader = 0;
	if ((rkt = rd_kafka_topic_new(rk, topic, NULL)) == NULL)
		return -1;
	if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) ==
	    RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
	    md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		n = md->topics[0].partition_cnt;
		for (i = 0; i < n; i++)
			if (md->topics[0].partitions[i].leader >= 0 &&
			    md->topics[0].partitions[i].err ==
			    RD_KAFKA_RESP_ERR_NO_ERROR)
				(*with_leader)++;
	}
	if (md != NULL)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	return n;
}

static int
admin_create(const char *bootstrap, int argc, char **argv)
{
	rd_kafka_t			*rk = NULL;
	rd_kafka_NewTopic_t		**nt = NULL;
	rd_kafka_queue_t		*q = NULL;
	rd_kafka_event_t		*ev = NULL;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t	**tr;
	char				 errstr[512], *name, *colon;
	size_t				 cnt, j;
	int				 i, parts, rc = 1, n, lead, tries;

	if (argc < 1)
		usage();
	if ((rk = admin_client(RD_KAFKA_PRODUCER, bootstrap, NULL)) == NULL)
		return 1;
	if ((nt = calloc((size_t)argc, sizeof *nt)) == NULL ||
	    (q = rd_kafka_queue_new(rk)) == NULL)
		goto done;
	for (i = 0; i < argc; i++) {
		name = argv[i];
		parts = 1;
		if ((colon = strrchr(name, ':')) != NULL) {
			*colon = '\0';
			parts = atoi(colon + 1);
		}
		if (parts < 1 || *name == '\0')
			usage();
		if ((nt[i] = rd_kafka_NewTopic_new(name, parts, 1, errstr,
		    sizeof errstr)) == NULL) {
			fprintf(stderr, "deprov-kafka-admin: %s: %s\n", name,
			    errstr);
			goto done;
		}
	}
	rd_kafka_CreateTopics(rk, nt, (size_t)argc, NULL, q);
	if ((ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS)) == NULL) {
		fprintf(stderr, "deprov-kafka-admin: no answer to CreateTopics\n");
		goto done;
	}
	if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "deprov-kafka-admin: CreateTopics: %s\n",
		    rd_kafka_event_error_string(ev));
		goto done;
	}
	res = rd_kafka_event_CreateTopics_result(ev);
	tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
	for (j = 0; j < cnt; j++) {
		rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[j]);

		if (e != RD_KAFKA_RESP_ERR_NO_ERROR &&
		    e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
			fprintf(stderr, "deprov-kafka-admin: %s: %s\n",
			    rd_kafka_topic_result_name(tr[j]),
			    rd_kafka_topic_result_error_string(tr[j]));
			goto done;
		}
	}
	/* Created is not yet served: wait for a leader everywhere. */
	for (i = 0; i < argc; i++) {
		for (tries = 0; tries < 100; tries++) {
			n = admin_partitions(rk, argv[i], &lead);
			if (n > 0 && lead == n)
				break;
			usleep(100 * 1000);
		}
		if (tries == 100) {
			fprintf(stderr, "deprov-kafka-admin: %s has no leader "
			    "after 10 s\n", argv[i]);
			goto done;
		}
	}
	rc = 0;
done:
	if (ev != NULL)
		rd_kafka_event_destroy(ev);
	if (nt != NULL) {
		for (i = 0; i < argc; i++)
			if (nt[i] != NULL)
				rd_kafka_NewTopic_destroy(nt[i]);
		free(nt);
	}
	if (q != NULL)
		rd_kafka_queue_destroy(q);
	if (rk != NULL)
		rd_kafka_destroy(rk);
	return rc;
}

static int
admin_committed(const char *bootstrap, const char *group, const char *topic)
{
	rd_kafka_t				*rk;
	rd_kafka_topic_partition_list_t		*l = NULL;
	rd_kafka_resp_err_t			 err;
	int64_t					 lo, hi;
	int					 i, n, lead, rc = 1;

	if ((rk = admin_client(RD_KAFKA_CONSUMER, bootstrap, group)) == NULL)
		return 1;
	if ((n = admin_partitions(rk, topic, &lead)) <= 0) {
		fprintf(stderr, "deprov-kafka-admin: no topic %s\n", topic);
		goto done;
	}
	l = rd_kafka_topic_partition_list_new(n);
	for (i = 0; i < n; i++)
		rd_kafka_topic_partition_list_add(l, topic, i);
	if ((err = rd_kafka_committed(rk, l, ADMIN_TIMEOUT_MS)) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "deprov-kafka-admin: committed: %s\n",
		    rd_kafka_err2str(err));
		goto done;
	}
	for (i = 0; i < l->cnt; i++) {
		if ((err = rd_kafka_query_watermark_offsets(rk, topic,
		    l->elems[i].partition, &lo, &hi, ADMIN_TIMEOUT_MS)) !=
		    RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "deprov-kafka-admin: watermarks: %s\n",
			    rd_kafka_err2str(err));
			goto done;
		}
		printf("%" PRId32 " %" PRId64 " %" PRId64 "\n",
		    l->elems[i].partition, l->elems[i].offset, hi);
	}
	rc = 0;
done:
	if (l != NULL)
		rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_destroy(rk);
	return rc;
}

int
main(int argc, char **argv)
{
	const char	*bootstrap = NULL;
	int		 ch;

	while ((ch = getopt(argc, argv, "b:")) != -1) {
		switch (ch) {
		case 'b':
			bootstrap = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (bootstrap == NULL || argc < 1)
		usage();
	if (strcmp(argv[0], "create") == 0)
		return admin_create(bootstrap, argc - 1, argv + 1);
	if (strcmp(argv[0], "committed") == 0 && argc == 3)
		return admin_committed(bootstrap, argv[1], argv[2]);
	usage();
	return 2;
}
