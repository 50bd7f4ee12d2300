/*
 * deprov-kafka-mock: a standalone librdkafka mock cluster for tests, with
 * broker outages on command. It prints nothing but writes the bootstrap
 * address to --bootstrap-file, then reads commands from standard input, one
 * per line: "down ID" / "up ID" (a broker, 1-based), "down all" / "up all",
 * "quit". It exits on quit, end of input or SIGTERM.
 *
 *   deprov-kafka-mock --brokers 1 --topic hr.leavers:4 --topic deprov.dlq:1 \
 *       --bootstrap-file /tmp/bootstrap
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static void
usage(void)
{
	fprintf(stderr, "usage: deprov-kafka-mock [--brokers N] "
	    "[--topic NAME:PARTITIONS]... --bootstrap-file FILE\n");
	exit(2);
}

/* Apply "down|up ID|all" to the cluster. */
static void
kafka_mock_command(rd_kafka_mock_cluster_t *mc, int nbrokers, const char *verb,
    const char *which)
{
	int id, first = 1, last = nbrokers;

	if (strcmp(which, "all") != 0) {
		id = atoi(which);
		if (id < 1 || id > nbrokers) {
			fprintf(stderr, "deprov-kafka-mock: no broker %s\n",
			    which);
			return;
		}
		first = last = id;
	}
	for (id = first; id <= last; id++) {
		if (strcmp(verb, "down") == 0)
			rd_kafka_mock_broker_set_down(mc, id);
		else
			rd_kafka_mock_broker_set_up(mc, id);
	}
	fprintf(stderr, "deprov-kafka-mock: broker %s %s\n", which, verb);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "brokers", required_argument, NULL, 'b' },
		{ "topic", required_argument, NULL, 't' },
		{ "bootstrap-file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	rd_kafka_conf_t		*conf;
	rd_kafka_t		*rk;
	rd_kafka_mock_cluster_t	*mc;
	char			 errstr[512], line[256], verb[16], which[16];
	char			*topics[32], *colon, tmp[4096];
	const char		*file = NULL;
	int			 ch, nbrokers = 1, ntopics = 0, i;
	FILE			*f;

	while ((ch = getopt_long(argc, argv, "b:t:f:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			nbrokers = atoi(optarg);
			break;
		case 't':
			if (ntopics < 32)
				topics[ntopics++] = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		default:
			usage();
		}
	}
	if (file == NULL || nbrokers < 1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	conf = rd_kafka_conf_new();
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr,
	    sizeof errstr)) == NULL) {
		fprintf(stderr, "deprov-kafka-mock: %s\n", errstr);
		return 1;
	}
	if ((mc = rd_kafka_mock_cluster_new(rk, nbrokers)) == NULL) {
		fprintf(stderr, "deprov-kafka-mock: cannot start the cluster\n");
		return 1;
	}
	for (i = 0; i < ntopics; i++) {
		colon = strrchr(topics[i], ':');
		if (colon != NULL)
			*colon = '\0';
		rd_kafka_mock_topic_create(mc, topics[i],
		    colon != NULL ? atoi(colon + 1) : 1, nbrokers < 3 ?
		    nbrokers : 3);
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", file);
	if ((f = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "deprov-kafka-mock: %s: %s\n", tmp,
		    strerror(errno));
		return 1;
	}
	fprintf(f, "%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	if (fclose(f) != 0 || rename(tmp, file) != 0)
		return 1;
	/* A test tool: blocking on its own standard input is what it is for. */
	while (fgets(line, sizeof line, stdin) != NULL) {
		if (sscanf(line, "%15s %15s", verb, which) == 2 &&
		    (strcmp(verb, "down") == 0 || strcmp(verb, "up") == 0))
			kafka_mock_command(mc, nbrokers, verb, which);
		else if (strncmp(line, "quit", 4) == 0)
			break;
		else
			fprintf(stderr, "deprov-kafka-mock: unknown command\n");
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
