/*
 * kafka's settings: the "kafka" section of the configuration
 * (docs/CONTRACT.md, docs/KAFKA.md) as a table that config_read walks.
 * Apart from kafka.c, which runs the consumer and producer, so that reading
 * the settings needs nothing of librdkafka.
 */
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "deprov/config.h"
#include "deprov/jsonc.h"
#include "deprov/kafka.h"

static int	 kafka_config_props(struct config_reader *, const char *,
		    json_object *, const struct config_setting *, void *);
static void	 kafka_config_props_clear(const struct config_setting *, void *);
static void	 kafka_config_props_diff(struct config_differ *, const char *,
		    const struct config_setting *, const void *, const void *,
		    int);
static char	*kafka_config_prop_value(json_object *);
static int	 kafka_config_check(struct config_reader *, const char *,
		    json_object *, void *);

#define KAFKA_FIELD(f)	CONFIG_FIELD(struct config_kafka, f)

static const struct config_setting kafka_rows[] = {
	{ .key = "brokers", .type = CONFIG_STRING, .flags = CONFIG_REQUIRED,
	    KAFKA_FIELD(brokers) },
	{ .key = "group_id", .type = CONFIG_STRING, KAFKA_FIELD(group_id),
	    .sdflt = "deprovd" },
	{ .key = "topics", .type = CONFIG_STRINGS, .flags = CONFIG_NOTEMPTY,
	    KAFKA_FIELD(topics), .count = offsetof(struct config_kafka, ntopics),
	    .sdflt = "hr.leavers" },
	/* Both topics we produce to: null means none. */
	{ .key = "dlq_topic", .type = CONFIG_STRING, .flags = CONFIG_NULLABLE,
	    KAFKA_FIELD(dlq_topic), .sdflt = "deprov.dlq" },
	{ .key = "audit_topic", .type = CONFIG_STRING, .flags = CONFIG_NULLABLE,
	    KAFKA_FIELD(audit_topic) },
	{ .key = "properties", .type = CONFIG_CUSTOM,
	    .set = kafka_config_props, .clear = kafka_config_props_clear,
	    .diff = kafka_config_props_diff },
	{ .key = "bootstrap_file", .type = CONFIG_PATH,
	    KAFKA_FIELD(bootstrap_file) },
	{ .key = "partitions", .type = CONFIG_INT, KAFKA_FIELD(partitions),
	    .min = 1, .max = 1024, .idflt = 4 },
	{ .key = "max_message_bytes", .type = CONFIG_INT,
	    KAFKA_FIELD(max_message_bytes), .min = 1, .max = 1000000000,
	    .idflt = 1048576 },
	{ .key = NULL }
};

const struct config_section kafka_settings = { kafka_rows, kafka_config_check };

/* A property value as librdkafka wants it: always a string. */
static char *
kafka_config_prop_value(json_object *v)
{
	char *s = NULL;

	switch (json_object_get_type(v)) {
	case json_type_string:
		return strdup(json_object_get_string(v));
	case json_type_boolean:
		return strdup(json_object_get_boolean(v) ? "true" : "false");
	case json_type_int:
		if (asprintf(&s, "%lld", (long long)json_object_get_int64(v)) < 0)
			return NULL;
		return s;
	case json_type_double:
		return strdup(json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN));
	default:
		return NULL;
	}
}

/*
 * "properties": librdkafka properties, but for those deprov sets itself;
 * kafka.c gives each to the clients it is for (consumer, producer, both).
 * A value may be a password (sasl.password): wiped when freed.
 */
static int
kafka_config_props(struct config_reader *r, const char *where,
    json_object *obj, const struct config_setting *s, void *conf)
{
	static const char *const reserved[][2] = {
		{ "bootstrap.servers", "set kafka.brokers instead" },
		{ "metadata.broker.list", "set kafka.brokers instead" },
		{ "group.id", "set kafka.group_id instead" },
		{ "enable.auto.offset.store", "deprov stores offsets itself, "
		    "after a case is durable" },
	};
	struct config_kafka	*k = conf;
	json_object		*props = NULL;
	size_t			 n, i;
	int			 line, bad;

	if (jsonc_get_object(config_doc(r), obj, where, s->key, &props,
	    config_diags(r)) != 1)
		return 0;
	n = (size_t)json_object_object_length(props);
	k->prop_keys = calloc(n + 1, sizeof *k->prop_keys);
	k->prop_vals = calloc(n + 1, sizeof *k->prop_vals);
	if (k->prop_keys == NULL || k->prop_vals == NULL) {
		config_error(r, 0, "out of memory");
		n = 0;
	}
	json_object_object_foreach(props, key, val) {
		line = config_line(r, props, key);
		bad = 0;
		for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
			if (strcmp(reserved[i][0], key) == 0) {
				config_error(r, line, "%s.%s: \"%s\" cannot be "
				    "set here (%s)", where, s->key, key,
				    reserved[i][1]);
				bad = 1;
			}
		}
		if (!json_object_is_type(val, json_type_string) &&
		    !json_object_is_type(val, json_type_int) &&
		    !json_object_is_type(val, json_type_double) &&
		    !json_object_is_type(val, json_type_boolean)) {
			config_error(r, line, "%s.%s.%s: expected a string, "
			    "number or boolean", where, s->key, key);
			bad = 1;
		}
		if (bad || k->nprops >= n)
			continue;
		k->prop_keys[k->nprops] = strdup(key);
		k->prop_vals[k->nprops] = kafka_config_prop_value(val);
		if (k->prop_keys[k->nprops] == NULL ||
		    k->prop_vals[k->nprops] == NULL) {
			free(k->prop_keys[k->nprops]);
			config_free_secret(k->prop_vals[k->nprops]);
			k->prop_keys[k->nprops] = NULL;
			k->prop_vals[k->nprops] = NULL;
			config_error(r, line, "out of memory");
			continue;
		}
		k->nprops++;
	}
	return 0;
}

static void
kafka_config_props_clear(const struct config_setting *s, void *conf)
{
	struct config_kafka	*k = conf;
	size_t			 i;

	(void)s;
	for (i = 0; i < k->nprops; i++) {
		free(k->prop_keys[i]);
		config_free_secret(k->prop_vals[i]);
	}
	free(k->prop_keys);
	free(k->prop_vals);
	k->prop_keys = k->prop_vals = NULL;
	k->nprops = 0;
}

/* The embedded cluster writes its address next to the database. */
static int
kafka_config_check(struct config_reader *r, const char *where,
    json_object *obj, void *conf)
{
	struct config_kafka	*k = conf;
	const struct config	*cfg = config_current(r);
	char			*copy;

	(void)where;
	(void)obj;
	if (k->bootstrap_file != NULL || k->brokers == NULL ||
	    strcmp(k->brokers, "embedded") != 0 || cfg->store_path == NULL)
		return 0;
	if ((copy = strdup(cfg->store_path)) == NULL ||
	    asprintf(&k->bootstrap_file, "%s/kafka.bootstrap",
	    dirname(copy)) < 0) {
		k->bootstrap_file = NULL;
		config_error(r, 0, "out of memory");
	}
	free(copy);
	return 0;
}

static void
kafka_config_props_diff(struct config_differ *df, const char *where,
    const struct config_setting *s, const void *a, const void *b, int live)
{
	const struct config_kafka	*ka = a, *kb = b;
	size_t				 i;

	for (i = 0; i < ka->nprops && ka->nprops == kb->nprops; i++)
		if (!config_str_same(ka->prop_keys[i], kb->prop_keys[i]) ||
		    !config_str_same(ka->prop_vals[i], kb->prop_vals[i]))
			break;
	if (ka->nprops != kb->nprops || i < ka->nprops)
		config_differ_report(df, where, s->key, live);
}
