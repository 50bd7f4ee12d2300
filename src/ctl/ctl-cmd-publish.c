/*
 * ctl-cmd-publish: send one leaver event (CloudEvents 1.0, structured JSON,
 * key = the employee id) to Kafka with librdkafka and wait for the broker to
 * acknowledge it. For tests and drills: the daemon cannot tell it from an
 * HR system's event.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <librdkafka/rdkafka.h>

#include "deprov/clock.h"
#include "deprov/event.h"
#include "deprov/randid.h"
#include "ctl.h"

#define CTL_PUBLISH_TOPIC	"hr.leavers"

/* What publish was asked to send. */
struct ctl_publish {
	const char	*brokers;
	const char	*bootstrap_file;
	const char	*topic;
	const char	*email;
	const char	*employee_id;
	const char	*username;
	const char	*manager_email;
	const char	*manager_id;
	const char	*effective;
	const char	*type;
	const char	*termination_kind;
	const char	*event_id;
	const char	*source;
	const char	*reason;
};

/* Delivery report of the one message publish sends. */
struct ctl_publish_delivery {
	int			 done;
	rd_kafka_resp_err_t	 err;
	int32_t			 partition;
	int64_t			 offset;
};

static int	ctl_cmd_publish_exec(struct ctl *, struct ctl_args *);
static void	ctl_publish_opts(struct ctl_publish *, const struct ctl_args *);
static void	ctl_publish_dr(rd_kafka_t *, const rd_kafka_message_t *, void *);
static void	ctl_publish_log(const rd_kafka_t *, int, const char *,
		    const char *);
static int	ctl_publish_bootstrap(const struct ctl_publish *, char *,
		    size_t);
static json_object *ctl_publish_event(const struct ctl_publish *,
		    const char *, const char *);

static const struct ctl_opt ctl_cmd_publish_opts[] = {
	{ .name = "brokers", .type = CTL_OPT_STR },
	{ .name = "bootstrap-file", .type = CTL_OPT_STR },
	{ .name = "topic", .type = CTL_OPT_STR },
	{ .name = "email", .type = CTL_OPT_STR },
	{ .name = "employee-id", .type = CTL_OPT_STR },
	{ .name = "username", .type = CTL_OPT_STR },
	{ .name = "manager-email", .type = CTL_OPT_STR },
	{ .name = "manager-id", .type = CTL_OPT_STR },
	{ .name = "effective", .type = CTL_OPT_STR },
	{ .name = "type", .type = CTL_OPT_STR },
	{ .name = "termination-kind", .type = CTL_OPT_STR },
	{ .name = "id", .type = CTL_OPT_STR },
	{ .name = "source", .type = CTL_OPT_STR },
	{ .name = "reason", .type = CTL_OPT_STR },
	{ .name = NULL }
};

const struct ctl_cmd_entry ctl_cmd_publish_entry = {
	.name = "publish",
	.usage = "publish (--brokers B | --bootstrap-file F) [--topic T] "
	    "--email E --employee-id ID [options]",
	.help =
	  "Send a leaver event (CloudEvents 1.0, structured JSON, key = employee\n"
	  "id) to Kafka and wait for the broker to acknowledge it.\n"
	  "\n"
	  "  --brokers B           bootstrap servers (host:port,...)\n"
	  "  --bootstrap-file F    read them from F (what deprovd writes with\n"
	  "                        kafka.brokers \"embedded\")\n"
	  "  --topic T             topic (default hr.leavers)\n"
	  "  --email E             the leaver's email (required)\n"
	  "  --employee-id ID      the leaver's employee id (required; the key)\n"
	  "  --username U          username (default: the email)\n"
	  "  --manager-email M     manager, for reassigning records\n"
	  "  --manager-id ID       manager's employee id\n"
	  "  --effective RFC3339   when the leaver takes effect (default now)\n"
	  "  --type T              leaver (default), leaver.rescinded, freeze,\n"
	  "                        unfreeze, or a full io.deprov.* type\n"
	  "  --termination-kind K  voluntary, involuntary, ...\n"
	  "  --reason TEXT         reason (freeze events)\n"
	  "  --id ID               event id (default: random); resending an id\n"
	  "                        is a duplicate the daemon ignores\n"
	  "  --source S            CloudEvents source (default /deprovctl)\n",
	.opts = ctl_cmd_publish_opts,
	.exec = ctl_cmd_publish_exec
};

/* The options, by name. */
static void
ctl_publish_opts(struct ctl_publish *p, const struct ctl_args *args)
{
	p->brokers = ctl_args_get(args, "brokers");
	p->bootstrap_file = ctl_args_get(args, "bootstrap-file");
	p->topic = ctl_args_get(args, "topic");
	p->email = ctl_args_get(args, "email");
	p->employee_id = ctl_args_get(args, "employee-id");
	p->username = ctl_args_get(args, "username");
	p->manager_email = ctl_args_get(args, "manager-email");
	p->manager_id = ctl_args_get(args, "manager-id");
	p->effective = ctl_args_get(args, "effective");
	p->type = ctl_args_get(args, "type");
	p->termination_kind = ctl_args_get(args, "termination-kind");
	p->event_id = ctl_args_get(args, "id");
	p->source = ctl_args_get(args, "source");
	p->reason = ctl_args_get(args, "reason");
}

/* The delivery report: keep the outcome where the message points. */
static void
ctl_publish_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct ctl_publish_delivery *d = m->_private;

	(void)rk;
	(void)opaque;
	if (d == NULL)
		return;
	d->done = 1;
	d->err = m->err;
	d->partition = m->partition;
	d->offset = m->offset;
}

/* librdkafka's log: shown with --verbose only. */
static void
ctl_publish_log(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
	struct ctl *ctl = rd_kafka_opaque(rk);

	if (ctl != NULL && ctl->verbose)
		fprintf(stderr, "deprovctl: kafka %s: %s\n", fac, buf);
	(void)level;
}

/* The bootstrap servers: --brokers or the first line of --bootstrap-file. */
static int
ctl_publish_bootstrap(const struct ctl_publish *p, char *buf, size_t len)
{
	FILE	*f;
	size_t	 n;

	if (p->brokers != NULL) {
		snprintf(buf, len, "%s", p->brokers);
		return CTL_OK;
	}
	if ((f = fopen(p->bootstrap_file, "r")) == NULL)
		return ctl_fail(CTL_FAILED, "%s: %s", p->bootstrap_file,
		    strerror(errno));
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	n = strlen(buf);
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	if (n == 0)
		return ctl_fail(CTL_FAILED, "%s: empty", p->bootstrap_file);
	return CTL_OK;
}

/* The CloudEvent publish sends. */
static json_object *
ctl_publish_event(const struct ctl_publish *p, const char *id,
    const char *type)
{
	json_object	*ev, *data, *mgr;
	char		 now[40];
	time_t		 t = time(NULL);
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((ev = json_object_new_object()) == NULL)
		return NULL;
	data = json_object_new_object();
	json_object_object_add(ev, "specversion", json_object_new_string("1.0"));
	json_object_object_add(ev, "id", json_object_new_string(id));
	json_object_object_add(ev, "source", json_object_new_string(
	    p->source != NULL ? p->source : "/deprovctl"));
	json_object_object_add(ev, "type", json_object_new_string(type));
	json_object_object_add(ev, "time", json_object_new_string(now));
	json_object_object_add(ev, "subject",
	    json_object_new_string(p->employee_id));
	json_object_object_add(ev, "datacontenttype",
	    json_object_new_string("application/json"));
	json_object_object_add(data, "employee_id",
	    json_object_new_string(p->employee_id));
	json_object_object_add(data, "email", json_object_new_string(p->email));
	json_object_object_add(data, "username", json_object_new_string(
	    p->username != NULL ? p->username : p->email));
	if (p->manager_email != NULL || p->manager_id != NULL) {
		mgr = json_object_new_object();
		if (p->manager_id != NULL)
			json_object_object_add(mgr, "employee_id",
			    json_object_new_string(p->manager_id));
		if (p->manager_email != NULL)
			json_object_object_add(mgr, "email",
			    json_object_new_string(p->manager_email));
		json_object_object_add(data, "manager", mgr);
	}
	json_object_object_add(data, "effective", json_object_new_string(
	    p->effective != NULL ? p->effective : now));
	if (p->termination_kind != NULL)
		json_object_object_add(data, "termination_kind",
		    json_object_new_string(p->termination_kind));
	if (p->reason != NULL)
		json_object_object_add(data, "reason",
		    json_object_new_string(p->reason));
	json_object_object_add(ev, "data", data);
	return ev;
}

static int
ctl_cmd_publish_exec(struct ctl *ctl, struct ctl_args *args)
{
	rd_kafka_conf_t		*conf = NULL;
	rd_kafka_t		*rk = NULL;
	rd_kafka_resp_err_t	 kerr;
	struct ctl_publish_delivery dr;
	struct ctl_publish	 opts, *p = &opts;
	json_object		*ev = NULL, *o;
	char			 bootstrap[1024], e[512], id[256], type[128];
	char			 timeout[32];
	const char		*topic, *text;
	int64_t			 start;
	int			 rc = CTL_FAILED;

	ctl_publish_opts(p, args);
	topic = p->topic != NULL ? p->topic : CTL_PUBLISH_TOPIC;

	if ((p->brokers == NULL) == (p->bootstrap_file == NULL))
		return ctl_usage_error(ctl, "give either --brokers or "
		    "--bootstrap-file");
	if (p->email == NULL || p->employee_id == NULL)
		return ctl_usage_error(ctl, "--email and --employee-id are "
		    "required");
	if (p->effective != NULL && event_parse_time(p->effective) == -1)
		return ctl_usage_error(ctl, "--effective: expected an RFC 3339 "
		    "time such as 2026-11-23T18:00:00Z");
	if (p->type == NULL)
		snprintf(type, sizeof type, "%s", EVENT_TYPE_LEAVER);
	else if (strchr(p->type, '.') != NULL &&
	    strncmp(p->type, "io.", 3) == 0)
		snprintf(type, sizeof type, "%s", p->type);
	else
		snprintf(type, sizeof type, "io.deprov.%s", p->type);
	if (!event_type_known(type))
		return ctl_usage_error(ctl, "--type: expected leaver, "
		    "leaver.rescinded, freeze, unfreeze or reinstate");
	if ((rc = ctl_publish_bootstrap(p, bootstrap, sizeof bootstrap)) !=
	    CTL_OK)
		return rc;
	rc = CTL_FAILED;
	if (p->event_id != NULL && (*p->event_id == '\0' ||
	    strlen(p->event_id) >= sizeof id))
		return ctl_usage_error(ctl, "--id: 1 to %zu characters",
		    sizeof id - 1);
	if (p->event_id != NULL)
		snprintf(id, sizeof id, "%s", p->event_id);
	else if (randid_uuid(id) != 0)
		return ctl_fail(CTL_FAILED, "no randomness for an id");
	if ((ev = ctl_publish_event(p, id, type)) == NULL)
		return ctl_fail(CTL_FAILED, "out of memory");
	text = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);

	snprintf(timeout, sizeof timeout, "%ld", ctl->timeout_ms);
	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, e,
	    sizeof e) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "message.timeout.ms", timeout, e,
	    sizeof e) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "acks", "all", e, sizeof e) !=
	    RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "client.id", "deprovctl", e, sizeof e) !=
	    RD_KAFKA_CONF_OK) {
		ctl_fail(CTL_USAGE, "kafka: %s", e);
		rc = CTL_USAGE;
		goto done;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, ctl_publish_dr);
	rd_kafka_conf_set_log_cb(conf, ctl_publish_log);
	rd_kafka_conf_set_opaque(conf, ctl);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e)) == NULL) {
		ctl_fail(CTL_FAILED, "kafka: %s", e);
		goto done;
	}
	conf = NULL;	/* owned by rk */
	memset(&dr, 0, sizeof dr);
	kerr = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
	    RD_KAFKA_V_KEY(p->employee_id, strlen(p->employee_id)),
	    RD_KAFKA_V_VALUE((void *)text, strlen(text)),
	    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	    RD_KAFKA_V_OPAQUE(&dr), RD_KAFKA_V_END);
	if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
		ctl_fail(CTL_FAILED, "kafka: cannot produce: %s",
		    rd_kafka_err2str(kerr));
		goto done;
	}
	/* A CLI may wait: poll until the delivery report (or the timeout). */
	start = clock_mono_ms();
	while (!dr.done) {
		rd_kafka_poll(rk, 100);
		if (clock_mono_ms() - start > ctl->timeout_ms + 5000)
			break;
	}
	if (!dr.done) {
		rc = ctl_fail(CTL_UNREACHABLE, "kafka: no delivery report from "
		    "%s within %ld ms", bootstrap, ctl->timeout_ms);
		goto done;
	}
	if (dr.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		rc = ctl_fail(dr.err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT ||
		    dr.err == RD_KAFKA_RESP_ERR__TRANSPORT ||
		    dr.err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ?
		    CTL_UNREACHABLE : CTL_FAILED, "kafka: %s not delivered to "
		    "%s: %s", topic, bootstrap, rd_kafka_err2str(dr.err));
		goto done;
	}
	if (ctl->json) {
		o = json_object_new_object();
		json_object_object_add(o, "topic", json_object_new_string(topic));
		json_object_object_add(o, "partition",
		    json_object_new_int(dr.partition));
		json_object_object_add(o, "offset",
		    json_object_new_int64(dr.offset));
		json_object_object_add(o, "key",
		    json_object_new_string(p->employee_id));
		json_object_object_add(o, "event", json_object_get(ev));
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else
		printf("published %s %s for %s to %s [%" PRId32 "] at offset %"
		    PRId64 "\n", type, id, p->employee_id, topic,
		    dr.partition, dr.offset);
	rc = CTL_OK;
done:
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	if (rk != NULL) {
		rd_kafka_flush(rk, 1000);
		rd_kafka_destroy(rk);
	}
	json_object_put(ev);
	return rc;
}

