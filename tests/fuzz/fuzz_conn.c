/*
 * fuzz_conn: answers from input and the shared checks of the connector
 * harnesses (see fuzz_conn.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common.h"
#include "fuzz_conn.h"

void
fuzz_conn_resp(struct fuzz_in *in, struct fuzz_conn_resp *r)
{
	char	*line, *colon;
	size_t	 n = 0;

	memset(r, 0, sizeof *r);
	r->status_line = fuzz_line(in, NULL);
	r->resp.status = strtol(r->status_line, NULL, 10);
	if (r->resp.status < 0 || r->resp.status > 999)
		r->resp.status = 0;
	while (in->n > 0 && n < FUZZ_CONN_HEADERS) {
		line = fuzz_line(in, NULL);
		if (*line == '\0') {
			free(line);
			break;
		}
		if ((colon = strchr(line, ':')) != NULL) {
			*colon++ = '\0';
			while (*colon == ' ')
				colon++;
		} else
			colon = line + strlen(line);
		r->hdr[n].name = line;
		r->hdr[n].value = colon;
		n++;
	}
	r->resp.headers = r->hdr;
	r->resp.nheaders = n;
	r->resp.body_len = in->n;
	r->resp.body = fuzz_rest(in);
	if (r->resp.status == 0)
		strcpy(r->resp.error, "Connection refused");
	r->res.resp = &r->resp;
	r->res.ok = r->resp.status >= 200 && r->resp.status < 300;
	r->res.attempts = 1 + (int)(r->resp.body_len % 3);
	r->res.error = r->res.ok ? "" : "HTTP error (as the target says it)";
	fuzz_conn_json(r->resp.body, r->resp.body_len);
}

/* No string in v holds a NUL (readers take them as C strings). */
static void
fuzz_conn_nonul(json_object *v)
{
	size_t	i;

	if (json_object_is_type(v, json_type_string))
		FUZZ_CHECK(strlen(json_object_get_string(v)) ==
		    (size_t)json_object_get_string_len(v),
		    "conn_json_parse took a string holding a NUL");
	else if (json_object_is_type(v, json_type_array)) {
		for (i = 0; i < json_object_array_length(v); i++)
			fuzz_conn_nonul(json_object_array_get_idx(v, i));
	} else if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, k, m) {
			(void)k;
			fuzz_conn_nonul(m);
		}
	}
}

void
fuzz_conn_json(const char *body, size_t len)
{
	json_object	*o, *ref;
	json_tokener	*tok;
	size_t		 i;

	if ((o = conn_json_parse(body, len)) == NULL)
		return;
	/* A tokener of our own says where the first value ended. */
	if ((tok = json_tokener_new()) == NULL)
		abort();
	ref = json_tokener_parse_ex(tok, body, (int)len);
	FUZZ_CHECK(ref != NULL || json_object_is_type(o, json_type_null),
	    "conn_json_parse took what json-c refuses");
	for (i = json_tokener_get_parse_end(tok); i < len; i++)
		FUZZ_CHECK(isspace((unsigned char)body[i]), "conn_json_parse "
		    "took a body with more after its value: \"%.*s\"",
		    (int)(len < 80 ? len : 80), body);
	fuzz_conn_nonul(o);
	json_object_put(ref);
	json_tokener_free(tok);
	json_object_put(o);
}

void
fuzz_conn_resp_free(struct fuzz_conn_resp *r)
{
	size_t	i;

	for (i = 0; i < r->resp.nheaders; i++)
		free(r->hdr[i].name);
	free(r->resp.body);
	free(r->status_line);
}

void
fuzz_conn_text(const char *what, const char *s, size_t len)
{
	size_t	i;

	FUZZ_CHECK(memchr(s, '\0', len) != NULL, "%s is not terminated", what);
	for (i = 0; s[i] != '\0'; i++)
		FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f,
		    "%s holds control character 0x%02x: \"%s\"", what,
		    (unsigned char)s[i], s);
}

void
fuzz_conn_term(const char *what, const char *s, size_t len)
{
	FUZZ_CHECK(memchr(s, '\0', len) != NULL, "%s is not terminated", what);
}

void
fuzz_conn_verdict(const char *what, enum call_verdict v)
{
	FUZZ_CHECK(v == CALL_DEFAULT || v == CALL_DONE || v == CALL_RETRY ||
	    v == CALL_RETRY_LONG || v == CALL_REAUTH, "%s: verdict %d", what,
	    (int)v);
}

static int
fuzz_conn_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
fuzz_conn_urldecode(const char *s)
{
	char	*out, *o;
	int	 hi, lo;

	if ((out = o = malloc(strlen(s) + 1)) == NULL)
		abort();
	for (; *s != '\0'; s++) {
		if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || strchr("-._~", *s) != NULL) {
			*o++ = *s;
			continue;
		}
		if (*s != '%' || (hi = fuzz_conn_hex(s[1])) < 0 ||
		    (lo = fuzz_conn_hex(s[2])) < 0) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*o = '\0';
	return out;
}
