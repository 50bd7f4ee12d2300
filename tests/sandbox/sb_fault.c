/*
 * sb_fault.c: fault injection rules (status, latency, timeout, reset, rate_limit; matched by path
 * prefix and method, thinned by rate and count; a status fault's body may quote the request back)
 * and the request log every target request lands
 * in: a bounded in-memory ring served by GET /_sandbox/log, optionally mirrored as JSON lines
 * to --log-file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sandbox.h"

static double fault_rand(struct fault_set *fs);
static void rule_free(struct fault_rule *r);
static void ent_json(const struct sblog_ent *e, struct sb_buf *b);

static const char *const action_names[] = {
	[ACT_OTHER] = "other", [ACT_TOKEN] = "token", [ACT_QUERY] = "query",
	[ACT_FREEZE] = "freeze", [ACT_UNFREEZE] = "unfreeze", [ACT_REVOKE] = "revoke",
	[ACT_REASSIGN] = "reassign", [ACT_DEACTIVATE] = "deactivate", [ACT_ACTIVATE] = "activate",
	[ACT_READ] = "read", [ACT_DELETE] = "delete",
};

void
fault_init(struct fault_set *fs)
{
	memset(fs, 0, sizeof *fs);
	fs->next_id = 1;
	fs->rng = 0x853c49e6748fea9bULL; /* fixed: a given run of rules is reproducible */
}

static void
rule_free(struct fault_rule *r)
{
	free(r->path);
	free(r->method);
	free(r->body);
	free(r);
}

void
fault_clear(struct fault_set *fs)
{
	struct fault_rule *r, *next;

	for (r = fs->head; r != NULL; r = next) {
		next = r->next;
		rule_free(r);
	}
	fs->head = fs->tail = NULL;
}

const char *
fault_mode_name(enum fault_mode m)
{
	switch (m) {
	case FAULT_STATUS: return "status";
	case FAULT_LATENCY: return "latency";
	case FAULT_TIMEOUT: return "timeout";
	case FAULT_RESET: return "reset";
	case FAULT_RATE_LIMIT: return "rate_limit";
	case FAULT_NONE: break;
	}
	return "none";
}

/* xorshift64*: uniform in [0, 1). */
static double
fault_rand(struct fault_set *fs)
{
	uint64_t x = fs->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	fs->rng = x;
	return (double)((x * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

int
fault_add_json(struct fault_set *fs, struct json_object *obj, int *id, char *err, size_t errlen)
{
	struct fault_rule *r = NULL;
	const char *mode = "status";

	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "a fault rule is a JSON object");
		return -1;
	}
	if ((r = calloc(1, sizeof *r)) == NULL)
		goto oom;
	r->rate = 1.0;
	r->count = -1;
	r->status = -1;
	r->rps = -1;
	json_object_object_foreach(obj, key, v) {
		int isnum = json_object_is_type(v, json_type_int) ||
		    json_object_is_type(v, json_type_double);
		int isstr = json_object_is_type(v, json_type_string);

		if (strcmp(key, "path") == 0 && isstr) {
			if ((r->path = sb_strdup(json_object_get_string(v))) == NULL)
				goto oom;
		} else if (strcmp(key, "method") == 0 && isstr) {
			if ((r->method = sb_strdup(json_object_get_string(v))) == NULL)
				goto oom;
		} else if (strcmp(key, "body") == 0 && isstr) {
			if ((r->body = sb_strdup(json_object_get_string(v))) == NULL)
				goto oom;
		} else if (strcmp(key, "mode") == 0 && isstr) {
			mode = json_object_get_string(v);
			if (strcmp(mode, "status") == 0)
				r->mode = FAULT_STATUS;
			else if (strcmp(mode, "latency") == 0)
				r->mode = FAULT_LATENCY;
			else if (strcmp(mode, "timeout") == 0)
				r->mode = FAULT_TIMEOUT;
			else if (strcmp(mode, "reset") == 0)
				r->mode = FAULT_RESET;
			else if (strcmp(mode, "rate_limit") == 0)
				r->mode = FAULT_RATE_LIMIT;
			else {
				snprintf(err, errlen, "unknown fault mode '%s'", mode);
				goto fail;
			}
		} else if (strcmp(key, "status") == 0 && isnum) {
			r->status = (int)json_object_get_int64(v);
		} else if (strcmp(key, "rate") == 0 && isnum) {
			r->rate = json_object_get_double(v);
		} else if (strcmp(key, "count") == 0 && isnum) {
			r->count = json_object_get_int64(v);
		} else if (strcmp(key, "latency_ms") == 0 && isnum) {
			r->latency_ms = json_object_get_int64(v);
		} else if (strcmp(key, "rps") == 0 && isnum) {
			r->rps = json_object_get_int64(v);
		} else if (strcmp(key, "id") == 0 || strcmp(key, "hits") == 0) {
			/* listing fields: a listed rule can be posted again */
		} else {
			snprintf(err, errlen, "unknown or mistyped fault rule key '%s'", key);
			goto fail;
		}
	}
	if (r->mode == FAULT_NONE)
		r->mode = FAULT_STATUS;
	if (r->path == NULL && (r->path = sb_strdup("/")) == NULL)
		goto oom;
	if (r->path[0] != '/') {
		snprintf(err, errlen, "path must start with '/'");
		goto fail;
	}
	if (r->status == -1)
		r->status = r->mode == FAULT_RATE_LIMIT ? 429 : 503;
	if (r->status < 100 || r->status > 599) {
		snprintf(err, errlen, "status must be 100..599");
		goto fail;
	}
	if (!(r->rate >= 0.0 && r->rate <= 1.0)) {
		snprintf(err, errlen, "rate must be 0..1");
		goto fail;
	}
	if (r->count < -1 || r->latency_ms < 0 || r->latency_ms > 3600000) {
		snprintf(err, errlen, "bad count or latency_ms");
		goto fail;
	}
	if (r->mode == FAULT_LATENCY && r->latency_ms == 0) {
		snprintf(err, errlen, "latency mode needs latency_ms");
		goto fail;
	}
	if (r->mode == FAULT_RATE_LIMIT && r->rps < 0) {
		snprintf(err, errlen, "rate_limit mode needs rps");
		goto fail;
	}
	r->id = fs->next_id++;
	if (fs->tail != NULL)
		fs->tail->next = r;
	else
		fs->head = r;
	fs->tail = r;
	*id = r->id;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	if (r != NULL)
		rule_free(r);
	return -1;
}

int
fault_add_spec(struct fault_set *fs, const char *spec, char *err, size_t errlen)
{
	struct json_object *obj = json_object_new_object();
	char *copy = sb_strdup(spec), *save = NULL, *tok;
	int id, rc = -1;

	if (obj == NULL || copy == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		struct json_object *v;

		if (eq == NULL) {
			snprintf(err, errlen, "fault spec item '%s' is not key=value", tok);
			goto done;
		}
		*eq = '\0';
		if (strcmp(tok, "rate") == 0) {
			double d = strtod(eq + 1, &end);
			v = *end == '\0' ? json_object_new_double(d) : json_object_new_string(eq + 1);
		} else if (strcmp(tok, "status") == 0 || strcmp(tok, "count") == 0 ||
		    strcmp(tok, "latency_ms") == 0 || strcmp(tok, "rps") == 0) {
			long long n = strtoll(eq + 1, &end, 10);
			v = *end == '\0' && eq[1] != '\0' ? json_object_new_int64(n) :
			    json_object_new_string(eq + 1);
		} else {
			v = json_object_new_string(eq + 1);
		}
		if (v == NULL || json_object_object_add(obj, tok, v) == -1) {
			json_object_put(v);
			snprintf(err, errlen, "out of memory");
			goto done;
		}
	}
	rc = fault_add_json(fs, obj, &id, err, errlen);
done:
	free(copy);
	json_object_put(obj);
	return rc;
}

void
fault_match(struct fault_set *fs, const char *method, const char *path, struct fault_hit *hit)
{
	struct fault_rule *r;

	memset(hit, 0, sizeof *hit);
	for (r = fs->head; r != NULL; r = r->next) {
		if (r->count == 0 || strncmp(path, r->path, strlen(r->path)) != 0)
			continue;
		if (r->method != NULL && strcasecmp(r->method, method) != 0)
			continue;
		if (r->mode == FAULT_RATE_LIMIT) {
			int64_t now_s = sb_mono_ms() / 1000;
			if (r->window_s != now_s) {
				r->window_s = now_s;
				r->window_n = 0;
			}
			if (++r->window_n <= r->rps)
				continue;
		} else if (r->rate < 1.0 && fault_rand(fs) >= r->rate) {
			continue;
		}
		if (r->count > 0)
			r->count--;
		r->hits++;
		hit->delay_ms += r->latency_ms;
		if (r->mode == FAULT_LATENCY) {
			if (hit->name == NULL) {
				hit->name = "latency";
				hit->rule = r->id;
			}
			continue;
		}
		hit->mode = r->mode == FAULT_RATE_LIMIT ? FAULT_STATUS : r->mode;
		hit->status = r->status;
		hit->body = r->body;
		hit->name = fault_mode_name(r->mode);
		hit->rule = r->id;
		return;
	}
}

void
fault_list_json(const struct fault_set *fs, struct sb_buf *b)
{
	const struct fault_rule *r;

	sb_buf_puts(b, "{\"rules\":[");
	for (r = fs->head; r != NULL; r = r->next) {
		if (r != fs->head)
			sb_buf_putc(b, ',');
		sb_buf_printf(b, "{\"id\":%d,\"path\":", r->id);
		sb_buf_jstr(b, r->path);
		if (r->method != NULL) {
			sb_buf_puts(b, ",\"method\":");
			sb_buf_jstr(b, r->method);
		}
		sb_buf_printf(b, ",\"mode\":\"%s\",\"status\":%d,\"rate\":%g", fault_mode_name(r->mode),
		    r->status, r->rate);
		if (r->count >= 0)
			sb_buf_printf(b, ",\"count\":%" PRId64, r->count);
		if (r->latency_ms > 0)
			sb_buf_printf(b, ",\"latency_ms\":%" PRId64, r->latency_ms);
		if (r->rps >= 0)
			sb_buf_printf(b, ",\"rps\":%" PRId64, r->rps);
		if (r->body != NULL) {
			sb_buf_puts(b, ",\"body\":");
			sb_buf_jstr(b, r->body);
		}
		sb_buf_printf(b, ",\"hits\":%" PRId64 "}", r->hits);
	}
	sb_buf_puts(b, "]}");
}

int
fault_delete(struct fault_set *fs, int id)
{
	struct fault_rule *r, *prev = NULL;

	for (r = fs->head; r != NULL; prev = r, r = r->next) {
		if (r->id != id)
			continue;
		if (prev != NULL)
			prev->next = r->next;
		else
			fs->head = r->next;
		if (fs->tail == r)
			fs->tail = prev;
		rule_free(r);
		return 0;
	}
	return -1;
}

/* s[0..n) JSON-escaped, without the quotes sb_buf_jstrn puts around it. */
static void
fault_put_escaped(struct sb_buf *out, const char *s, size_t n)
{
	struct sb_buf tmp = { 0 };

	sb_buf_jstrn(&tmp, s, n);
	if (!tmp.oom && tmp.len >= 2)
		sb_buf_put(out, tmp.p + 1, tmp.len - 2);
	sb_buf_free(&tmp);
}

void
fault_body_expand(struct sb_call *c, const char *tmpl, struct sb_buf *out)
{
	const char	*auth, *body, *p, *end;
	char		*b64;
	size_t		 blen, alen;

	auth = evhttp_find_header(evhttp_request_get_input_headers(c->req),
	    "Authorization");
	if (auth == NULL)
		auth = "";
	body = sb_call_body(c, &blen);
	for (p = tmpl; (end = strstr(p, "{{")) != NULL; p = end) {
		sb_buf_put(out, p, (size_t)(end - p));
		if (strncmp(end, "{{authorization}}", 17) == 0) {
			fault_put_escaped(out, auth, strlen(auth));
			end += 17;
		} else if (strncmp(end, "{{authorization_base64}}", 24) == 0) {
			alen = strlen(auth);
			if ((b64 = calloc(1, alen * 2 + 8)) != NULL) {
				EVP_EncodeBlock((unsigned char *)b64,
				    (const unsigned char *)auth, (int)alen);
				sb_buf_puts(out, b64);
				free(b64);
			}
			end += 24;
		} else if (strncmp(end, "{{body}}", 8) == 0) {
			fault_put_escaped(out, body, blen);
			end += 8;
		} else {
			sb_buf_put(out, end, 2);
			end += 2;
		}
	}
	sb_buf_puts(out, p);
}

const char *
sblog_action_name(int action)
{
	if (action < 0 || (size_t)action >= sizeof action_names / sizeof action_names[0])
		return "other";
	return action_names[action];
}

int
sblog_init(struct sblog *l, size_t max, const char *file, char *err, size_t errlen)
{
	memset(l, 0, sizeof *l);
	l->max = max;
	l->next_seq = 1;
	l->fd = -1;
	if (file != NULL) {
		l->fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (l->fd == -1) {
			snprintf(err, errlen, "%s: %s", file, strerror(errno));
			return -1;
		}
	}
	return 0;
}

void
sblog_clear(struct sblog *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->ents[(l->start + i) % l->cap].path);
	l->start = l->n = 0;
}

void
sblog_free(struct sblog *l)
{
	sblog_clear(l);
	free(l->ents);
	l->ents = NULL;
	l->cap = 0;
	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
}

static void
ent_json(const struct sblog_ent *e, struct sb_buf *b)
{
	sb_buf_printf(b, "{\"seq\":%" PRIu64 ",\"ts_ms\":%" PRId64 ",\"method\":\"%s\",\"path\":",
	    e->seq, e->ts_ms, e->method);
	sb_buf_jstr(b, e->path);
	sb_buf_puts(b, ",\"target\":");
	sb_buf_jstr(b, e->target);
	sb_buf_printf(b, ",\"status\":%u,\"action\":\"%s\",\"user\":", e->status,
	    sblog_action_name(e->action));
	sb_buf_jstr(b, e->user[0] != '\0' ? e->user : NULL);
	sb_buf_printf(b, ",\"count\":%" PRIu32 ",\"fault\":", e->count);
	sb_buf_jstr(b, e->fault);
	if (e->rule > 0)
		sb_buf_printf(b, ",\"rule\":%d", e->rule);
	sb_buf_putc(b, '}');
}

void
sblog_add(struct sblog *l, const char *method, const char *path, int status, int action,
    const char *user, uint32_t count, const char *fault, int rule, const char *target)
{
	struct sblog_ent *e;
	char *p = sb_strdup(path);

	if (p == NULL)
		return;
	if (l->n == l->cap && l->cap < l->max) {
		/* grow the ring, unrolling it so start is 0 */
		size_t ncap = l->cap == 0 ? 4096 : l->cap * 2, i;
		struct sblog_ent *ne;
		if (ncap > l->max)
			ncap = l->max;
		ne = malloc(ncap * sizeof *ne);
		if (ne != NULL) {
			for (i = 0; i < l->n; i++)
				ne[i] = l->ents[(l->start + i) % l->cap];
			free(l->ents);
			l->ents = ne;
			l->cap = ncap;
			l->start = 0;
		}
	}
	if (l->cap == 0) {
		free(p);
		return;
	}
	if (l->n == l->cap) {
		/* full: the oldest entry goes */
		free(l->ents[l->start].path);
		l->start = (l->start + 1) % l->cap;
		l->n--;
	}
	e = &l->ents[(l->start + l->n) % l->cap];
	l->n++;
	memset(e, 0, sizeof *e);
	e->seq = l->next_seq++;
	e->ts_ms = sb_now_ms();
	e->path = p;
	e->method = method;
	e->status = (uint16_t)status;
	e->action = (uint8_t)action;
	if (user != NULL)
		snprintf(e->user, sizeof e->user, "%s", user);
	e->count = count;
	e->fault = fault;
	e->rule = rule;
	e->target = target;
	if (l->fd != -1) {
		struct sb_buf b = { 0 };
		ent_json(e, &b);
		sb_buf_putc(&b, '\n');
		if (!b.oom) {
			size_t off = 0;
			while (off < b.len) {
				ssize_t w = write(l->fd, b.p + off, b.len - off);
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					break;
				off += (size_t)w;
			}
		}
		sb_buf_free(&b);
	}
}

void
sblog_json(const struct sblog *l, uint64_t since, size_t limit, struct sb_buf *b)
{
	uint64_t first = l->next_seq - l->n, next;
	size_t i, k = 0;

	if (since < first)
		since = first;
	next = since;
	sb_buf_puts(b, "{\"entries\":[");
	for (i = (size_t)(since - first); i < l->n && k < limit; i++, k++) {
		const struct sblog_ent *e = &l->ents[(l->start + i) % l->cap];
		if (k > 0)
			sb_buf_putc(b, ',');
		ent_json(e, b);
		next = e->seq + 1;
	}
	sb_buf_printf(b, "],\"next\":%" PRIu64 "}", next);
}
