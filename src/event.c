/*
 * event: decodes structured CloudEvents 1.0 leaver events into struct event.
 * Anything that cannot be used gets a short, precise reason: it ends up in
 * the dead-letter topic's headers, so an operator can fix the producer.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "deprov/event.h"
#include "deprov/jsonc.h"

const char *const event_types[] = {
	EVENT_TYPE_LEAVER, EVENT_TYPE_RESCINDED, EVENT_TYPE_FREEZE,
	EVENT_TYPE_UNFREEZE, EVENT_TYPE_REINSTATE, NULL
};

int
event_type_known(const char *type)
{
	size_t i;

	for (i = 0; type != NULL && event_types[i] != NULL; i++)
		if (strcmp(type, event_types[i]) == 0)
			return 1;
	return 0;
}

/*
 * Duplicate string member key of obj into *out (NULL when absent, null or
 * empty). name is what a reason calls it. Text with a NUL character is
 * refused, and with JSONC_TEXT_ID in flags (identifiers from outside) text
 * that is not valid UTF-8. 0, or -1 with the reason in err.
 */
static int
event_str(json_object *obj, const char *key, const char *name, int flags,
    char **out, char *err, size_t errlen)
{
	const char *s;

	*out = NULL;
	if (jsonc_get_text(obj, key, name, flags, &s, err, errlen) < 0)
		return -1;
	if (s == NULL || *s == '\0')
		return 0;
	if ((*out = strdup(s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* n decimal digits at p into *out; -1 when one of them is not a digit. */
static int
event_digits(const char *p, int n, int *out)
{
	int	i, v = 0;

	/* A NUL is not a digit: the scan never runs past the string's end. */
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

static int
event_mdays(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
		return 29;
	return days[month - 1];
}

/*
 * RFC 3339 (section 5.6), strictly: full-date, then optionally 'T', 't' or
 * a space, partial-time with an optional fraction, and 'Z', 'z' or
 * +hh:mm/-hh:mm. A full-date alone is midnight UTC (HR systems send last
 * days of work that way). Every field has its exact width and range and
 * nothing may follow. Each character is looked at only after the one
 * before it matched, so no input makes this read past the terminating NUL.
 */
time_t
event_parse_time(const char *s)
{
	struct tm	 tm;
	const char	*p = s;
	int		 year, mon, mday, hh, mi, ss, oh, om, off = 0;

	if (s == NULL)
		return -1;
	if (event_digits(p, 4, &year) != 0 || p[4] != '-' ||
	    event_digits(p + 5, 2, &mon) != 0 || p[7] != '-' ||
	    event_digits(p + 8, 2, &mday) != 0)
		return -1;
	if (mon < 1 || mon > 12 || mday < 1 || mday > event_mdays(year, mon))
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	p += 10;
	if (*p == '\0')
		return timegm(&tm);
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (event_digits(p, 2, &hh) != 0 || p[2] != ':' ||
	    event_digits(p + 3, 2, &mi) != 0 || p[5] != ':' ||
	    event_digits(p + 6, 2, &ss) != 0)
		return -1;
	/* 60 is a leap second; timegm carries it into the next minute. */
	if (hh > 23 || mi > 59 || ss > 60)
		return -1;
	p += 8;
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		if (event_digits(p + 1, 2, &oh) != 0 || p[3] != ':' ||
		    event_digits(p + 4, 2, &om) != 0 || oh > 23 || om > 59)
			return -1;
		off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else
		return -1;
	if (*p != '\0')
		return -1;
	tm.tm_hour = hh;
	tm.tm_min = mi;
	tm.tm_sec = ss;
	return timegm(&tm) - off;
}

void
subject_clear(struct subject *s)
{
	free(s->employee_id);
	free(s->email);
	free(s->username);
	free(s->manager_employee_id);
	free(s->manager_email);
	if (s->accounts != NULL)
		json_object_put(s->accounts);
	memset(s, 0, sizeof *s);
}

void
event_clear(struct event *ev)
{
	free(ev->id);
	free(ev->source);
	free(ev->type);
	free(ev->subject_key);
	free(ev->termination_kind);
	free(ev->reason);
	free(ev->idp_target);
	for (size_t i = 0; i < ev->ntargets; i++)
		free(ev->targets[i]);
	free(ev->targets);
	subject_clear(&ev->subject);
	memset(ev, 0, sizeof *ev);
}

/*
 * Fill a subject from a leaver "data" object. id is JSONC_TEXT_ID for text
 * from outside (identifiers must be valid UTF-8), 0 for a subject read back
 * from the store (checked when it came in).
 */
static int
event_subject(json_object *data, struct subject *s, int id, const char *pre,
    char *err, size_t errlen)
{
	/* The first three are members of data, the last two of data.manager. */
	static const char *const keys[] = { "employee_id", "email",
	    "username", "employee_id", "email" };
	static const char *const names[] = { "employee_id", "email",
	    "username", "manager.employee_id", "manager.email" };
	char		**outs[] = { &s->employee_id, &s->email, &s->username,
			    &s->manager_employee_id, &s->manager_email };
	json_object	*mgr = NULL, *acc;
	const char	*v;
	char		 name[64];
	size_t		 i;

	if (json_object_object_get_ex(data, "manager", &mgr) && mgr != NULL &&
	    !json_object_is_type(mgr, json_type_object)) {
		snprintf(err, errlen, "%smanager must be an object", pre);
		return -1;
	}
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		snprintf(name, sizeof name, "%s%s", pre, names[i]);
		if (event_str(i < 3 ? data : mgr, keys[i], name, id, outs[i],
		    err, errlen) != 0)
			return -1;
	}
	if (json_object_object_get_ex(data, "accounts", &acc) && acc != NULL) {
		if (!json_object_is_type(acc, json_type_object)) {
			snprintf(err, errlen, "%saccounts must be an object", pre);
			return -1;
		}
		/* Account ids are identifiers too. */
		snprintf(name, sizeof name, "%saccounts value", pre);
		json_object_object_foreach(acc, k, val) {
			(void)k;
			if (!json_object_is_type(val, json_type_string)) {
				snprintf(err, errlen, "%saccounts values must be "
				    "strings", pre);
				return -1;
			}
			if (jsonc_text(val, name, id, &v, err, errlen) < 0)
				return -1;
		}
		s->accounts = json_object_get(acc);
	}
	return 0;
}

int
event_decode(const char *buf, size_t len, struct event *ev, char *err,
    size_t errlen)
{
	json_object		*root = NULL, *data = NULL, *v;
	char			*s = NULL, *eff = NULL;

	memset(ev, 0, sizeof *ev);
	if ((root = jsonc_parse_whole(buf, len, err, errlen)) == NULL)
		goto fail;
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(err, errlen, "not a CloudEvent: not a JSON object");
		goto fail;
	}
	if (event_str(root, "specversion", "specversion", 0, &s, err,
	    errlen) != 0)
		goto fail;
	if (s == NULL) {
		snprintf(err, errlen, "not a CloudEvent: missing specversion");
		goto fail;
	}
	if (strcmp(s, "1.0") != 0) {
		snprintf(err, errlen, "unsupported specversion \"%.20s\"", s);
		goto fail;
	}
	if (event_str(root, "id", "id", JSONC_TEXT_ID, &ev->id, err,
	    errlen) != 0)
		goto fail;
	if (ev->id == NULL) {
		snprintf(err, errlen, "not a CloudEvent: missing id");
		goto fail;
	}
	if (event_str(root, "source", "source", JSONC_TEXT_ID, &ev->source,
	    err, errlen) != 0)
		goto fail;
	if (ev->source == NULL) {
		snprintf(err, errlen, "not a CloudEvent: missing source");
		goto fail;
	}
	if (event_str(root, "type", "type", 0, &ev->type, err, errlen) != 0)
		goto fail;
	if (ev->type == NULL) {
		snprintf(err, errlen, "not a CloudEvent: missing type");
		goto fail;
	}
	if (!event_type_known(ev->type)) {
		snprintf(err, errlen, "unknown event type \"%.64s\"", ev->type);
		goto fail;
	}
	if (event_str(root, "subject", "subject", JSONC_TEXT_ID,
	    &ev->subject_key, err, errlen) != 0)
		goto fail;
	free(s);
	s = NULL;
	if (event_str(root, "time", "time", 0, &s, err, errlen) != 0)
		goto fail;
	if (s != NULL && (ev->time = event_parse_time(s)) == (time_t)-1) {
		snprintf(err, errlen, "time is not RFC 3339: \"%.40s\"", s);
		goto fail;
	}
	if (!json_object_object_get_ex(root, "data", &data) ||
	    !json_object_is_type(data, json_type_object)) {
		snprintf(err, errlen, "missing data object");
		goto fail;
	}
	if (event_subject(data, &ev->subject, JSONC_TEXT_ID, "data.", err,
	    errlen) != 0)
		goto fail;
	if (event_str(data, "effective", "data.effective", 0, &eff, err,
	    errlen) != 0)
		goto fail;
	if (eff != NULL &&
	    (ev->effective = event_parse_time(eff)) == (time_t)-1) {
		snprintf(err, errlen, "data.effective is not RFC 3339: "
		    "\"%.40s\"", eff);
		goto fail;
	}
	if (json_object_object_get_ex(data, "case", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_int) ||
		    (ev->case_ref = json_object_get_int64(v)) <= 0) {
			snprintf(err, errlen, "data.case must be a positive "
			    "integer (the case id a reinstate undoes)");
			goto fail;
		}
	}
	if (event_str(data, "termination_kind", "data.termination_kind", 0,
	    &ev->termination_kind, err, errlen) != 0 ||
	    event_str(data, "reason", "data.reason", 0, &ev->reason, err,
	    errlen) != 0)
		goto fail;
	if (ev->subject.employee_id == NULL && ev->subject_key != NULL &&
	    (ev->subject.employee_id = strdup(ev->subject_key)) == NULL)
		goto fail;
	if (ev->subject_key == NULL && ev->subject.employee_id != NULL &&
	    (ev->subject_key = strdup(ev->subject.employee_id)) == NULL)
		goto fail;
	if (ev->subject.employee_id == NULL && ev->subject.email == NULL &&
	    ev->subject.username == NULL) {
		snprintf(err, errlen, "no subject: need subject, "
		    "data.employee_id, data.email or data.username");
		goto fail;
	}
	if (ev->subject_key == NULL &&
	    (ev->subject_key = strdup(ev->subject.email != NULL ?
	    ev->subject.email : ev->subject.username)) == NULL)
		goto fail;
	(void)v;
	free(s);
	free(eff);
	json_object_put(root);
	return 0;

fail:
	free(s);
	free(eff);
	if (root != NULL)
		json_object_put(root);
	event_clear(ev);
	return -1;
}

/* Add a string member when s is set. */
static void
event_put(json_object *o, const char *key, const char *s)
{
	if (s != NULL)
		json_object_object_add(o, key, json_object_new_string(s));
}

json_object *
subject_to_json(const struct subject *s)
{
	json_object *o, *m;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	event_put(o, "employee_id", s->employee_id);
	event_put(o, "email", s->email);
	event_put(o, "username", s->username);
	if (s->manager_employee_id != NULL || s->manager_email != NULL) {
		m = json_object_new_object();
		event_put(m, "employee_id", s->manager_employee_id);
		event_put(m, "email", s->manager_email);
		json_object_object_add(o, "manager", m);
	}
	if (s->accounts != NULL)
		json_object_object_add(o, "accounts",
		    json_object_get(s->accounts));
	return o;
}

int
subject_from_json(json_object *o, struct subject *s)
{
	char err[128];

	memset(s, 0, sizeof *s);
	if (o == NULL || !json_object_is_type(o, json_type_object))
		return -1;
	if (event_subject(o, s, 0, "", err, sizeof err) != 0) {
		subject_clear(s);
		return -1;
	}
	return 0;
}

int
subject_from_input(json_object *o, const char *pre, struct subject *s,
    char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "%s must be an object", pre);
		return -1;
	}
	if (event_subject(o, s, JSONC_TEXT_ID, pre, err, errlen) != 0) {
		subject_clear(s);
		return -1;
	}
	return 0;
}
