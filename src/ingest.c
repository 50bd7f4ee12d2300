/*
 * ingest: decoding and mapping of leaver signals.
 *
 * A Kafka message is tried, in order, as: a message on a topic with a
 * configured mapping; a binary-mode CloudEvent (ce_specversion header); a
 * structured CloudEvent (specversion in the value); an Okta event hook
 * delivery (eventType com.okta.event_hook, data.events[]) or a single Okta
 * System Log event (uuid + eventType). Anything else is a dead letter with
 * the reason. Valid messages that are not leaver signals (a worker update
 * that is not a termination, an Okta event of another type) are counted as
 * ignored; they are not errors.
 *
 * Okta mapping: user.lifecycle.deactivate is a leaver, user.lifecycle.suspend
 * an emergency freeze, user.lifecycle.unsuspend an unfreeze; the user is the
 * event's target of type User (alternateId = login, id = Okta user id).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <json-c/json_pointer.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "deprov/api.h"
#include "deprov/engine.h"
#include "deprov/event.h"
#include "deprov/ingest.h"
#include "deprov/jsonc.h"
#include "deprov/log.h"

#define INGEST_MAX_EVENTS	500	/* Okta delivers at most a few dozen */

enum ingest_field {
	F_ID = 0,
	F_EMPLOYEE_ID,
	F_EMAIL,
	F_USERNAME,
	F_MANAGER_EMPLOYEE_ID,
	F_MANAGER_EMAIL,
	F_EFFECTIVE,
	F_TERMINATION_KIND,
	F_REASON,
	F__MAX
};

static const char *const ingest_field_names[F__MAX] = {
	"id", "employee_id", "email", "username", "manager_employee_id",
	"manager_email", "effective", "termination_kind", "reason",
};
/* The fields that are identifiers: they must be valid UTF-8. */
static const int ingest_field_ids[F__MAX] = { 1, 1, 1, 1, 1, 1, 0, 0, 0 };

struct ingest_mapping {
	char	*name;
	char	*topic;
	char	*source;
	char	*type;			/* event type when `when` holds */
	char	*when;
	char	*rescind_when;		/* optional: a rescind instead */
	char	*fields[F__MAX];	/* JSON pointers */
	int	 effective_is_last_day;
	char	**kind_from;		/* termination_kinds: value -> kind */
	char	**kind_to;
	size_t	  nkinds;
};

struct ingest {
	const struct config	*cfg;
	struct engine		*engine;
	struct ingest_mapping	*maps;
	size_t			 nmaps;
	char			*okta_source;
	char			*okta_target;
	char			*okta_secret;	/* the Authorization header Okta sends */
	struct ingest_stats	 stats;
#ifdef DEPROV_TEST_HOOKS
	const char		*crash_mark;	/* tests: abort on a message holding it */
#endif
};

/*
 * A condition's literal: exactly one JSON value, nothing after it but
 * white space (so that "true || /X == 1" is refused, not read as "true").
 * *out is NULL for the null literal. 0, or -1 when it is not one value.
 */
static int
ingest_literal(const char *lit, json_object **out)
{
	json_tokener	*tok;
	const char	*rest;
	size_t		 len = strlen(lit), end;
	int		 r = -1;

	*out = NULL;
	if ((tok = json_tokener_new()) == NULL)
		return -1;
	/*
	 * Strict: no comments. A lenient tokener reads "\"x\"//" as a value
	 * followed by a comment that runs through the terminating NUL, and
	 * its parse end then lies past the string; the clamp keeps any other
	 * such reading inside it too.
	 */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	*out = json_tokener_parse_ex(tok, lit, -1);
	if (json_tokener_get_error(tok) == json_tokener_success) {
		end = json_tokener_get_parse_end(tok);
		for (rest = lit + (end < len ? end : len);
		    isspace((unsigned char)*rest); rest++)
			;
		r = *rest == '\0' ? 0 : -1;
	}
	json_tokener_free(tok);
	if (r != 0 && *out != NULL) {
		json_object_put(*out);
		*out = NULL;
	}
	return r;
}

/* Conditions: "POINTER OP LITERAL [&& ...]", OP is == or !=. */
static int
ingest_clause(const char *s, size_t len, json_object *doc, char *err,
    size_t errlen)
{
	char		*c, *op, *ptr, *lit;
	json_object	*want = NULL, *have = NULL;
	int		 eq, r = -1;

	if ((c = strndup(s, len)) == NULL)
		return -1;
	if ((op = strstr(c, "==")) != NULL)
		eq = 1;
	else if ((op = strstr(c, "!=")) != NULL)
		eq = 0;
	else {
		snprintf(err, errlen, "condition \"%.80s\": expected == or !=",
		    c);
		goto done;
	}
	*op = '\0';
	ptr = c;
	lit = op + 2;
	while (isspace((unsigned char)*ptr))
		ptr++;
	for (op = ptr + strlen(ptr); op > ptr && isspace((unsigned char)op[-1]);)
		*--op = '\0';
	while (isspace((unsigned char)*lit))
		lit++;
	if (*ptr != '/') {
		snprintf(err, errlen, "condition: \"%.80s\" is not a JSON "
		    "pointer (it must start with /)", ptr);
		goto done;
	}
	if (ingest_literal(lit, &want) != 0) {
		snprintf(err, errlen, "condition: \"%.80s\" is not one JSON value "
		    "(conditions are POINTER == VALUE or !=, joined by &&)", lit);
		goto done;
	}
	if (doc == NULL) {
		r = 1;		/* syntax check only */
		goto done;
	}
	if (json_pointer_get(doc, ptr, &have) != 0)
		have = NULL;
	r = json_object_equal(have, want) ? eq : !eq;
done:
	if (want != NULL)
		json_object_put(want);
	free(c);
	return r;
}

int
ingest_condition(const char *cond, json_object *doc, char *err, size_t errlen)
{
	const char	*p = cond, *amp;
	int		 r, all = 1;

	if (cond == NULL || *cond == '\0')
		return 1;
	for (;;) {
		amp = strstr(p, "&&");
		r = ingest_clause(p, amp != NULL ? (size_t)(amp - p) : strlen(p),
		    doc, err, errlen);
		if (r < 0)
			return -1;
		all = all && r;
		if (amp == NULL)
			return all;
		p = amp + 2;
	}
}

/*
 * The scalar at a pointer as a string (malloc'd) in *out, NULL when absent,
 * null or empty. A string must not hold a NUL and, with JSONC_TEXT_ID, must
 * be valid UTF-8. 0, or -1 with the reason.
 */
static int
ingest_get(json_object *doc, const char *ptr, int flags, char **out,
    char *reason, size_t reasonlen)
{
	json_object	*v;
	const char	*s;

	*out = NULL;
	if (ptr == NULL || json_pointer_get(doc, ptr, &v) != 0 || v == NULL ||
	    json_object_is_type(v, json_type_null))
		return 0;
	if (json_object_is_type(v, json_type_object) ||
	    json_object_is_type(v, json_type_array))
		return 0;
	if (json_object_is_type(v, json_type_string)) {
		if (jsonc_text(v, ptr, flags, &s, reason, reasonlen) < 0)
			return -1;
		if (*s == '\0')
			return 0;
	} else
		s = json_object_get_string(v);	/* a number or a boolean */
	if ((*out = strdup(s)) == NULL) {
		snprintf(reason, reasonlen, "out of memory");
		return -1;
	}
	return 0;
}

static void
ingest_hex_sha256(const void *data, size_t len, char out[65])
{
	unsigned char	d[SHA256_DIGEST_LENGTH];
	size_t		i;

	SHA256(data, len, d);
	for (i = 0; i < sizeof d; i++)
		snprintf(out + i * 2, 3, "%02x", d[i]);
}

/*
 * Map a message with a mapping. Returns 1 with ev filled, 0 when the
 * message is not a leaver signal, -1 with reason when it cannot be mapped.
 */
static int
ingest_map(const struct ingest_mapping *m, json_object *doc, const void *raw,
    size_t rawlen, struct event *ev, char *reason, size_t reasonlen)
{
	char	 hex[65], why[256], *v[F__MAX];
	int	 i, rescind = 0, when;
	size_t	 k;

	memset(ev, 0, sizeof *ev);
	if (m->rescind_when != NULL &&
	    (rescind = ingest_condition(m->rescind_when, doc, reason,
	    reasonlen)) < 0)
		return -1;
	if (!rescind) {
		if ((when = ingest_condition(m->when, doc, reason,
		    reasonlen)) < 0)
			return -1;
		if (!when)
			return 0;
	}
	memset(v, 0, sizeof v);
	for (i = 0; i < F__MAX; i++) {
		if (ingest_get(doc, m->fields[i], ingest_field_ids[i] ?
		    JSONC_TEXT_ID : 0, &v[i], why, sizeof why) != 0) {
			snprintf(reason, reasonlen, "mapping %s: %s", m->name,
			    why);
			goto fail;
		}
	}
	if (v[F_EMPLOYEE_ID] == NULL && v[F_EMAIL] == NULL &&
	    v[F_USERNAME] == NULL) {
		snprintf(reason, reasonlen, "mapping %s: the message has no "
		    "employee id, email or username at the configured "
		    "pointers", m->name);
		goto fail;
	}
	if (v[F_ID] == NULL) {
		/* No id in the message: the same bytes are the same event. */
		ingest_hex_sha256(raw, rawlen, hex);
		v[F_ID] = strdup(hex);
	}
	if (v[F_EFFECTIVE] != NULL) {
		time_t t = event_parse_time(v[F_EFFECTIVE]);

		if (t == (time_t)-1) {
			snprintf(reason, reasonlen, "mapping %s: effective "
			    "date \"%.40s\" is not RFC 3339", m->name,
			    v[F_EFFECTIVE]);
			goto fail;
		}
		/* A last day of work ends at the end of that day. */
		if (m->effective_is_last_day && strlen(v[F_EFFECTIVE]) == 10)
			t += 24 * 3600;
		ev->effective = t;
	}
	if (v[F_TERMINATION_KIND] != NULL) {
		for (k = 0; k < m->nkinds; k++) {
			if (strcasecmp(m->kind_from[k], v[F_TERMINATION_KIND]) ==
			    0) {
				free(v[F_TERMINATION_KIND]);
				v[F_TERMINATION_KIND] = strdup(m->kind_to[k]);
				break;
			}
		}
	}
	ev->id = v[F_ID];
	ev->source = strdup(m->source);
	ev->type = strdup(rescind ? EVENT_TYPE_RESCINDED : m->type);
	ev->subject.employee_id = v[F_EMPLOYEE_ID];
	ev->subject.email = v[F_EMAIL];
	ev->subject.username = v[F_USERNAME];
	ev->subject.manager_employee_id = v[F_MANAGER_EMPLOYEE_ID];
	ev->subject.manager_email = v[F_MANAGER_EMAIL];
	ev->termination_kind = v[F_TERMINATION_KIND];
	ev->reason = v[F_REASON];
	free(v[F_EFFECTIVE]);
	ev->subject_key = strdup(ev->subject.employee_id != NULL ?
	    ev->subject.employee_id : ev->subject.email != NULL ?
	    ev->subject.email : ev->subject.username);
	if (ev->source == NULL || ev->type == NULL || ev->subject_key == NULL ||
	    ev->id == NULL) {
		snprintf(reason, reasonlen, "out of memory");
		event_clear(ev);
		return -1;
	}
	return 1;
fail:
	for (i = 0; i < F__MAX; i++)
		free(v[i]);
	return -1;
}

/*
 * One Okta LogEvent to an event. Returns 1 with ev, 0 when it is not a
 * lifecycle event we act on, -1 with reason when it is malformed.
 */
static int
ingest_okta_event(const struct ingest *in, json_object *le, struct event *ev,
    char *reason, size_t reasonlen)
{
	json_object	*targets, *t;
	const char	*etype, *type, *uuid, *ttype, *published;
	const char	*login = NULL, *oid = NULL;
	char		 why[256];
	size_t		 i;

	memset(ev, 0, sizeof *ev);
	/*
	 * Every string is read through jsonc_get_text: a JSON null is absent
	 * (json_object_get_string would give NULL), a NUL cannot cut it short
	 * and identifiers are valid UTF-8.
	 */
	if (!json_object_is_type(le, json_type_object) ||
	    jsonc_get_text(le, "eventType", NULL, 0, &etype, why,
	    sizeof why) != 1) {
		snprintf(reason, reasonlen, "Okta event without eventType");
		return -1;
	}
	if (strcmp(etype, "user.lifecycle.deactivate") == 0)
		type = EVENT_TYPE_LEAVER;
	else if (strcmp(etype, "user.lifecycle.suspend") == 0)
		type = EVENT_TYPE_FREEZE;
	else if (strcmp(etype, "user.lifecycle.unsuspend") == 0)
		type = EVENT_TYPE_UNFREEZE;
	else
		return 0;
	if (jsonc_get_text(le, "uuid", NULL, JSONC_TEXT_ID, &uuid, why,
	    sizeof why) < 0) {
		snprintf(reason, reasonlen, "Okta %s event: %s", etype, why);
		return -1;
	}
	if (uuid == NULL || *uuid == '\0') {
		snprintf(reason, reasonlen, "Okta %s event without uuid", etype);
		return -1;
	}
	if (json_object_object_get_ex(le, "target", &targets) &&
	    json_object_is_type(targets, json_type_array)) {
		for (i = 0; i < json_object_array_length(targets); i++) {
			t = json_object_array_get_idx(targets, i);
			/* Only a target whose type is the string "User". */
			if (jsonc_get_text(t, "type", NULL, 0, &ttype, why,
			    sizeof why) != 1 || strcmp(ttype, "User") != 0)
				continue;
			if (jsonc_get_text(t, "alternateId", "target "
			    "alternateId", JSONC_TEXT_ID, &login, why,
			    sizeof why) < 0 ||
			    jsonc_get_text(t, "id", "target id", JSONC_TEXT_ID,
			    &oid, why, sizeof why) < 0) {
				snprintf(reason, reasonlen, "Okta %s event "
				    "%.64s: %s", etype, uuid, why);
				return -1;
			}
			break;
		}
	}
	if (login == NULL || *login == '\0') {
		snprintf(reason, reasonlen, "Okta %s event %.64s has no User "
		    "target with an alternateId", etype, uuid);
		return -1;
	}
	if (oid != NULL && *oid == '\0')
		oid = NULL;
	ev->id = strdup(uuid);
	ev->source = strdup(in->okta_source);
	ev->type = strdup(type);
	ev->subject_key = strdup(login);
	ev->subject.email = strdup(login);
	ev->subject.username = strdup(login);
	if (asprintf(&ev->reason, "Okta %s", etype) < 0)
		ev->reason = NULL;
	if (jsonc_get_text(le, "published", NULL, 0, &published, why,
	    sizeof why) == 1) {
		time_t pt = event_parse_time(published);

		ev->time = pt == (time_t)-1 ? 0 : pt;
	}
	if (in->okta_target != NULL &&
	    (ev->idp_target = strdup(in->okta_target)) == NULL) {
		snprintf(reason, reasonlen, "out of memory");
		event_clear(ev);
		return -1;
	}
	if (in->okta_target != NULL && oid != NULL) {
		ev->subject.accounts = json_object_new_object();
		json_object_object_add(ev->subject.accounts, in->okta_target,
		    json_object_new_string(oid));
	}
	if (ev->id == NULL || ev->source == NULL || ev->type == NULL ||
	    ev->subject_key == NULL || ev->subject.email == NULL) {
		snprintf(reason, reasonlen, "out of memory");
		event_clear(ev);
		return -1;
	}
	return 1;
}

/* Hand one event to the engine; -1 when it could not be made durable. */
static int
ingest_submit(struct ingest *in, struct event *ev, const char *origin,
    char *reason, size_t reasonlen)
{
	long long	case_id;
	int		r;

	in->stats.events++;
	r = engine_submit(in->engine, ev, origin, &case_id, reason, reasonlen);
	if (r < 0)
		return -1;
	switch (r) {
	case ENGINE_NEW_CASE:
		in->stats.cases++;
		break;
	case ENGINE_ATTACHED:
		in->stats.attached++;
		break;
	case ENGINE_DUPLICATE:
		in->stats.duplicates++;
		break;
	default:
		in->stats.ignored++;
		break;
	}
	return 0;
}

/*
 * Okta event hook payload or a single System Log event: submit every
 * lifecycle event in it. Returns the number submitted, -1 store failure
 * (reason), -2 malformed (reason).
 */
static int
ingest_okta(struct ingest *in, json_object *doc, const char *origin,
    char *reason, size_t reasonlen)
{
	json_object	*data, *events, *le;
	struct event	 ev;
	size_t		 i, n;
	int		 r, count = 0;

	if (json_object_object_get_ex(doc, "uuid", &le) &&
	    !json_object_object_get_ex(doc, "data", &data)) {
		/* A single System Log event. */
		if ((r = ingest_okta_event(in, doc, &ev, reason,
		    reasonlen)) < 0)
			return -2;
		if (r == 0) {
			in->stats.ignored++;
			return 0;
		}
		r = ingest_submit(in, &ev, origin, reason, reasonlen);
		event_clear(&ev);
		return r < 0 ? -1 : 1;
	}
	if (!json_object_object_get_ex(doc, "data", &data) ||
	    !json_object_object_get_ex(data, "events", &events) ||
	    !json_object_is_type(events, json_type_array)) {
		snprintf(reason, reasonlen, "Okta event hook without "
		    "data.events[]");
		return -2;
	}
	n = json_object_array_length(events);
	if (n > INGEST_MAX_EVENTS) {
		snprintf(reason, reasonlen, "Okta event hook with %zu events "
		    "(max %d)", n, INGEST_MAX_EVENTS);
		return -2;
	}
	/* Check them all first: a delivery is taken whole or not at all. */
	for (i = 0; i < n; i++) {
		if ((r = ingest_okta_event(in, json_object_array_get_idx(events,
		    i), &ev, reason, reasonlen)) < 0)
			return -2;
		if (r > 0)
			event_clear(&ev);
	}
	for (i = 0; i < n; i++) {
		r = ingest_okta_event(in, json_object_array_get_idx(events, i),
		    &ev, reason, reasonlen);
		if (r == 0) {
			in->stats.ignored++;
			continue;
		}
		r = ingest_submit(in, &ev, origin, reason, reasonlen);
		event_clear(&ev);
		if (r < 0)
			return -1;	/* the redelivery is deduplicated by uuid */
		count++;
	}
	return count;
}

static int
ingest_is_okta(json_object *doc)
{
	json_object *v;

	if (json_object_object_get_ex(doc, "eventType", &v) &&
	    json_object_is_type(v, json_type_string)) {
		const char *t = json_object_get_string(v);

		return strcmp(t, "com.okta.event_hook") == 0 ||
		    strncmp(t, "user.", 5) == 0;
	}
	return 0;
}

/* Parse a message value as one JSON value; NULL with reason. */
static json_object *
ingest_parse(const void *buf, size_t len, char *reason, size_t reasonlen)
{
	return jsonc_parse_whole(buf, len, reason, reasonlen);
}

/* Binary-mode CloudEvent: rebuild the structured form from ce_* headers. */
static int
ingest_binary(const struct kafka_msg *m, struct event *ev, char *reason,
    size_t reasonlen)
{
	static const char *const attrs[] = { "specversion", "id", "source",
	    "type", "subject", "time", "datacontenttype", NULL };
	json_object	*env, *data;
	const char	*v, *s;
	char		 name[32];
	size_t		 len, i;
	int		 r;

	if ((data = ingest_parse(m->value, m->len, reason, reasonlen)) == NULL)
		return -1;
	env = json_object_new_object();
	for (i = 0; attrs[i] != NULL; i++) {
		snprintf(name, sizeof name, "ce_%s", attrs[i]);
		if (kafka_msg_header(m, name, &v, &len) == 0)
			json_object_object_add(env, attrs[i],
			    json_object_new_string_len(v, (int)len));
	}
	json_object_object_add(env, "data", data);
	s = json_object_to_json_string_ext(env, JSON_C_TO_STRING_PLAIN);
	r = event_decode(s, strlen(s), ev, reason, reasonlen);
	json_object_put(env);
	return r;
}

enum kafka_verdict
ingest_kafka(const struct kafka_msg *m, char *reason, size_t reasonlen,
    void *arg)
{
	struct ingest		*in = arg;
	const struct ingest_mapping *map = NULL;
	json_object		*doc = NULL;
	struct event		 ev;
	char			 origin[320];
	const char		*v;
	size_t			 i, len;
	int			 r;
	enum kafka_verdict	 verdict = KAFKA_DEAD;

	snprintf(origin, sizeof origin, "kafka:%s/%d@%lld", m->topic,
	    (int)m->partition, (long long)m->offset);
#ifdef DEPROV_TEST_HOOKS
	/* A decoder bug on demand, for the crash-loop breaker's tests. */
	if (in->crash_mark != NULL && m->len > 0 && memmem(m->value, m->len,
	    in->crash_mark, strlen(in->crash_mark)) != NULL) {
		log_error("ingest", "test hook: %s holds the crash mark: "
		    "aborting", origin);
		abort();
	}
#endif
	for (i = 0; i < in->nmaps; i++)
		if (strcmp(in->maps[i].topic, m->topic) == 0)
			map = &in->maps[i];

	if (map == NULL && kafka_msg_header(m, "ce_specversion", &v, &len) ==
	    0) {
		if (ingest_binary(m, &ev, reason, reasonlen) != 0)
			goto done;
		goto submit;
	}
	if ((doc = ingest_parse(m->value, m->len, reason, reasonlen)) == NULL)
		goto done;
	if (!json_object_is_type(doc, json_type_object)) {
		snprintf(reason, reasonlen, "not a JSON object");
		goto done;
	}
	if (map != NULL) {
		r = ingest_map(map, doc, m->value, m->len, &ev, reason,
		    reasonlen);
		if (r < 0)
			goto done;
		if (r == 0) {
			in->stats.ignored++;
			verdict = KAFKA_DONE;
			goto done;
		}
		goto submit;
	}
	if (ingest_is_okta(doc)) {
		r = ingest_okta(in, doc, origin, reason, reasonlen);
		verdict = r == -1 ? KAFKA_RETRY : r == -2 ? KAFKA_DEAD :
		    KAFKA_DONE;
		goto done;
	}
	if (json_object_object_get_ex(doc, "specversion", NULL)) {
		if (event_decode(m->value, m->len, &ev, reason, reasonlen) != 0)
			goto done;
		goto submit;
	}
	snprintf(reason, reasonlen, "not a CloudEvent, an Okta event or a "
	    "message with a mapping for topic %s", m->topic);
	goto done;

submit:
	r = ingest_submit(in, &ev, origin, reason, reasonlen);
	event_clear(&ev);
	verdict = r < 0 ? KAFKA_RETRY : KAFKA_DONE;
done:
	if (verdict == KAFKA_DEAD)
		in->stats.dead++;
	if (doc != NULL)
		json_object_put(doc);
	return verdict;
}

/* Okta event hooks over HTTP. */

static int
ingest_hook_auth(struct ingest *in, struct evhttp_request *req)
{
	const char	*h;
	size_t		 a, b;

	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (h == NULL)
		return -1;
	a = strlen(h);
	b = strlen(in->okta_secret);
	/* Length is not secret; the comparison of equal lengths is constant time. */
	return a == b && CRYPTO_memcmp(h, in->okta_secret, a) == 0 ? 0 : -1;
}

static void
ingest_hook(struct evhttp_request *req, const char *path, const char *rest,
    const struct api_caller *who, void *arg)
{
	struct ingest		*in = arg;
	struct evbuffer		*body = evhttp_request_get_input_buffer(req);
	const char		*challenge;
	json_object		*o, *doc;
	char			 reason[512];
	int			 r;

	if (ingest_hook_auth(in, req) != 0) {
		api_error(req, 401, "unauthorized", "wrong or missing "
		    "Authorization for the Okta event hook");
		return;
	}
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		/* One-time verification when the hook is registered. */
		challenge = evhttp_find_header(evhttp_request_get_input_headers(
		    req), "X-Okta-Verification-Challenge");
		if (challenge == NULL) {
			api_error(req, 400, "bad_request", "missing "
			    "X-Okta-Verification-Challenge");
			return;
		}
		o = json_object_new_object();
		json_object_object_add(o, "verification",
		    json_object_new_string(challenge));
		api_reply_json(req, 200, o);
		return;
	}
	doc = ingest_parse(evbuffer_pullup(body, -1), evbuffer_get_length(body),
	    reason, sizeof reason);
	if (doc == NULL || !ingest_is_okta(doc)) {
		if (doc != NULL)
			snprintf(reason, sizeof reason, "not an Okta event hook");
		api_error(req, 400, "bad_request", reason);
		goto done;
	}
	/* Persisted before answering; Okta retries a 5xx once. */
	r = ingest_okta(in, doc, "okta-hook", reason, sizeof reason);
	if (r == -2) {
		api_error(req, 400, "bad_request", reason);
		goto done;
	}
	if (r == -1) {
		api_error(req, 503, "unavailable", "could not record the "
		    "events; retry");
		goto done;
	}
	in->stats.hooks++;
	o = json_object_new_object();
	json_object_object_add(o, "accepted", json_object_new_int(r));
	api_reply_json(req, 200, o);
done:
	if (doc != NULL)
		json_object_put(doc);
}

int
ingest_routes(struct ingest *in, struct api *api)
{
	if (in->okta_secret == NULL)
		return 0;
	if (api_route(api, "GET", "/v1/hooks/okta", 0, API_ROLE_PUBLIC,
	    ingest_hook, in) != 0 ||
	    api_route(api, "POST", "/v1/hooks/okta", 0, API_ROLE_PUBLIC,
	    ingest_hook, in) != 0)
		return -1;
	return 0;
}

const struct ingest_stats *
ingest_stats(const struct ingest *in)
{
	return &in->stats;
}

/* Configuration. */

static void
ingest_mapping(struct ingest *in, const struct jsonc_doc *doc, json_object *o,
    size_t idx, struct diags *d)
{
	static const char *const keys[] = { "name", "topic", "source", "type",
	    "when", "rescind_when", "fields", "effective_is_last_day",
	    "termination_kinds", NULL };
	struct ingest_mapping	*m = &in->maps[in->nmaps];
	json_object		*fields = NULL, *kinds = NULL, *v;
	const char		*s, *file = jsonc_name(doc);
	char			 where[96], err[256];
	size_t			 i, k;
	int			 line, f;

	snprintf(where, sizeof where, "ingest.mappings[%zu]", idx);
	line = jsonc_line(doc, o);
	if (!json_object_is_type(o, json_type_object)) {
		diags_add(d, file, line, "%s: expected an object", where);
		return;
	}
	memset(m, 0, sizeof *m);
	jsonc_check_keys(doc, o, where, keys, d);
	s = NULL;
	if (jsonc_get_string(doc, o, where, "name", &s, d) == 1)
		m->name = strdup(s);
	else
		diags_add(d, file, line, "%s: missing \"name\"", where);
	s = NULL;
	if (jsonc_get_string(doc, o, where, "topic", &s, d) == 1) {
		m->topic = strdup(s);
		for (k = 0; k < in->cfg->kafka.ntopics; k++)
			if (strcmp(in->cfg->kafka.topics[k], s) == 0)
				break;
		if (k == in->cfg->kafka.ntopics)
			diags_add(d, file, jsonc_member_line(doc, o, "topic"),
			    "%s: topic \"%s\" is not in kafka.topics", where, s);
	} else
		diags_add(d, file, line, "%s: missing \"topic\"", where);
	s = "/hr";
	jsonc_get_string(doc, o, where, "source", &s, d);
	m->source = strdup(s);
	s = EVENT_TYPE_LEAVER;
	if (jsonc_get_string(doc, o, where, "type", &s, d) == 1 &&
	    !event_type_known(s))
		diags_add(d, file, jsonc_member_line(doc, o, "type"),
		    "%s.type: unknown event type \"%s\"", where, s);
	m->type = strdup(s);
	s = NULL;
	if (jsonc_get_string(doc, o, where, "when", &s, d) == 1) {
		if (ingest_condition(s, NULL, err, sizeof err) < 0)
			diags_add(d, file, jsonc_member_line(doc, o, "when"),
			    "%s.when: %s", where, err);
		m->when = strdup(s);
	} else
		diags_add(d, file, line, "%s: missing \"when\" (the condition "
		    "that makes a message a termination)", where);
	s = NULL;
	if (jsonc_get_string(doc, o, where, "rescind_when", &s, d) == 1) {
		if (ingest_condition(s, NULL, err, sizeof err) < 0)
			diags_add(d, file, jsonc_member_line(doc, o,
			    "rescind_when"), "%s.rescind_when: %s", where, err);
		m->rescind_when = strdup(s);
	}
	if (json_object_object_get_ex(o, "effective_is_last_day", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			diags_add(d, file, jsonc_member_line(doc, o,
			    "effective_is_last_day"), "%s.effective_is_last_day: "
			    "expected true or false", where);
		else
			m->effective_is_last_day = json_object_get_boolean(v);
	}
	if (jsonc_get_object(doc, o, where, "fields", &fields, d) == 1) {
		snprintf(where, sizeof where, "ingest.mappings[%zu].fields", idx);
		json_object_object_foreach(fields, key, val) {
			for (f = 0; f < F__MAX; f++)
				if (strcmp(ingest_field_names[f], key) == 0)
					break;
			if (f == F__MAX) {
				diags_add(d, file, jsonc_member_line(doc, fields,
				    key), "%s: unknown field \"%s\"", where, key);
				continue;
			}
			if (!json_object_is_type(val, json_type_string) ||
			    json_object_get_string(val)[0] != '/') {
				diags_add(d, file, jsonc_member_line(doc, fields,
				    key), "%s.%s: expected a JSON pointer such "
				    "as \"/Worker_ID\"", where, key);
				continue;
			}
			m->fields[f] = strdup(json_object_get_string(val));
		}
		if (m->fields[F_EMPLOYEE_ID] == NULL &&
		    m->fields[F_EMAIL] == NULL && m->fields[F_USERNAME] == NULL)
			diags_add(d, file, jsonc_line(doc, fields), "%s: needs "
			    "employee_id, email or username", where);
		snprintf(where, sizeof where, "ingest.mappings[%zu]", idx);
	} else if (fields == NULL)
		diags_add(d, file, line, "%s: missing \"fields\"", where);
	if (jsonc_get_object(doc, o, where, "termination_kinds", &kinds,
	    d) == 1) {
		i = (size_t)json_object_object_length(kinds);
		m->kind_from = calloc(i + 1, sizeof *m->kind_from);
		m->kind_to = calloc(i + 1, sizeof *m->kind_to);
		json_object_object_foreach(kinds, key, val) {
			if (!json_object_is_type(val, json_type_string)) {
				diags_add(d, file, jsonc_member_line(doc, kinds,
				    key), "%s.termination_kinds.%s: expected a "
				    "string", where, key);
				continue;
			}
			if (m->kind_from == NULL || m->kind_to == NULL)
				break;
			m->kind_from[m->nkinds] = strdup(key);
			m->kind_to[m->nkinds++] = strdup(
			    json_object_get_string(val));
		}
	}
	in->nmaps++;
}

static void
ingest_config(struct ingest *in, const struct jsonc_doc *doc, struct diags *d)
{
	static const char *const keys[] = { "okta", "mappings", NULL };
	static const char *const okta_keys[] = { "source", "target",
	    "hook_authorization", "hook_authorization_env",
	    "hook_authorization_file", NULL };
	json_object	*root = jsonc_root(doc), *ing = NULL, *okta = NULL,
			*maps = NULL;
	const char	*s, *file = jsonc_name(doc);
	size_t		 i, n;

	if (jsonc_get_object(doc, root, NULL, "ingest", &ing, d) != 1)
		return;
	jsonc_check_keys(doc, ing, "ingest", keys, d);
	if (jsonc_get_object(doc, ing, "ingest", "okta", &okta, d) == 1) {
		jsonc_check_keys(doc, okta, "ingest.okta", okta_keys, d);
		s = NULL;
		if (jsonc_get_string(doc, okta, "ingest.okta", "source", &s,
		    d) == 1) {
			free(in->okta_source);
			in->okta_source = strdup(s);
		}
		s = NULL;
		if (jsonc_get_string(doc, okta, "ingest.okta", "target", &s,
		    d) == 1) {
			in->okta_target = strdup(s);
			if (config_target_find(in->cfg, s) == NULL)
				diags_add(d, file, jsonc_member_line(doc, okta,
				    "target"), "ingest.okta.target: no target "
				    "named \"%s\"", s);
		}
		in->okta_secret = config_secret(okta, "hook_authorization",
		    file, jsonc_line(doc, okta), d);
	}
	if (jsonc_get_array(doc, ing, "ingest", "mappings", &maps, d) == 1) {
		n = json_object_array_length(maps);
		if ((in->maps = calloc(n > 0 ? n : 1, sizeof *in->maps)) == NULL)
			return;
		for (i = 0; i < n; i++)
			ingest_mapping(in, doc, json_object_array_get_idx(maps,
			    i), i, d);
		for (i = 0; i < in->nmaps; i++) {
			for (n = i + 1; n < in->nmaps; n++) {
				if (in->maps[i].topic != NULL &&
				    in->maps[n].topic != NULL &&
				    strcmp(in->maps[i].topic,
				    in->maps[n].topic) == 0)
					diags_add(d, file, 0, "ingest.mappings: "
					    "two mappings for topic \"%s\"",
					    in->maps[i].topic);
			}
		}
	}
}

struct ingest *
ingest_new(const struct config *cfg, struct engine *eng, struct diags *d)
{
	struct ingest		*in;
	struct jsonc_doc	*doc;

	if ((in = calloc(1, sizeof *in)) == NULL)
		return NULL;
	in->cfg = cfg;
	in->engine = eng;
	in->okta_source = strdup("/idp/okta");
#ifdef DEPROV_TEST_HOOKS
	/* Built with test hooks only (never in a Release build). */
	if ((in->crash_mark = getenv("DEPROV_TEST_CRASH_MARK")) != NULL &&
	    *in->crash_mark == '\0')
		in->crash_mark = NULL;
#endif
	/* The file parsed before, read again for this section's lines. */
	if ((doc = jsonc_parse_file_diag(cfg->path, d)) == NULL) {
		ingest_free(in);
		return NULL;
	}
	ingest_config(in, doc, d);
	jsonc_free(doc);
	return in;
}

void
ingest_set_engine(struct ingest *in, struct engine *eng)
{
	in->engine = eng;
#ifdef DEPROV_TEST_HOOKS
	if (in->crash_mark != NULL)
		log_warn("ingest", "test hook armed: a Kafka message holding "
		    "DEPROV_TEST_CRASH_MARK aborts the process");
#endif
}

void
ingest_free(struct ingest *in)
{
	size_t i, k;
	int f;

	if (in == NULL)
		return;
	for (i = 0; i < in->nmaps; i++) {
		struct ingest_mapping *m = &in->maps[i];

		free(m->name);
		free(m->topic);
		free(m->source);
		free(m->type);
		free(m->when);
		free(m->rescind_when);
		for (f = 0; f < F__MAX; f++)
			free(m->fields[f]);
		for (k = 0; k < m->nkinds; k++) {
			free(m->kind_from[k]);
			free(m->kind_to[k]);
		}
		free(m->kind_from);
		free(m->kind_to);
	}
	free(in->maps);
	free(in->okta_source);
	free(in->okta_target);
	if (in->okta_secret != NULL) {
		OPENSSL_cleanse(in->okta_secret, strlen(in->okta_secret));
		free(in->okta_secret);
	}
	free(in);
}
