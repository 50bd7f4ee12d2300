/*
 * common-proto: the pure half of what the connectors share (common.h): one
 * JSON value from a response body, string members, bounded clean copies,
 * usable path keys, the text of a failed call, and problems in options
 * reported to a struct connector_check. No calls are made here.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "deprov/connector.h"
#include "deprov/http.h"
#include "deprov/target.h"

#include "common.h"

/*
 * One tokener for every answer: making one allocates its state stack and
 * buffer, and every target call's answer comes through here. Connectors
 * run on the loop's thread only.
 */
static struct json_tokener	*conn_tok;

static int	conn_has_nul(const char *, size_t);

/*
 * 1 when an answer holds a NUL byte or a \u0000 escape: json-c keeps such a
 * string whole but every reader takes it as a C string, so "00u1\u0000x"
 * would name user 00u1. The rule of jsonc_text_check (src/jsonc.c), here so
 * that the connectors' pure half links without jsonc.
 */
static int
conn_has_nul(const char *body, size_t len)
{
	const char	*bs;
	size_t		 i = 0;

	if (memchr(body, '\0', len) != NULL)
		return 1;
	/* Every backslash starts an escape of two bytes or more. */
	while (i < len && (bs = memchr(body + i, '\\', len - i)) != NULL) {
		i = (size_t)(bs - body);
		if (len - i >= 6 && memcmp(body + i + 1, "u0000", 5) == 0)
			return 1;
		i += 2;
	}
	return 0;
}

json_object *
conn_json_parse(const char *body, size_t len)
{
	json_object	*obj;
	size_t		 i;

	if (body == NULL || len == 0 || len > (size_t)0x7fffffff ||
	    conn_has_nul(body, len))
		return NULL;
	if (conn_tok == NULL && (conn_tok = json_tokener_new()) == NULL)
		return NULL;
	json_tokener_reset(conn_tok);
	obj = json_tokener_parse_ex(conn_tok, body, (int)len);
	if (json_tokener_get_error(conn_tok) != json_tokener_success) {
		json_object_put(obj);
		return NULL;
	}
	/* One value only: json-c stops after the first and says success. */
	for (i = json_tokener_get_parse_end(conn_tok); i < len; i++) {
		if (!isspace((unsigned char)body[i])) {
			json_object_put(obj);
			return NULL;
		}
	}
	return obj;
}

const char *
conn_str(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

void
conn_copy_clean(char *out, size_t outlen, const char *in)
{
	size_t	i;

	if (outlen == 0)
		return;
	for (i = 0; in != NULL && in[i] != '\0' && i + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	out[i] = '\0';
}

int
conn_key_usable(const char *key, size_t max)
{
	size_t	i;

	if (key == NULL || key[0] == '\0')
		return 0;
	for (i = 0; key[i] != '\0'; i++) {
		unsigned char c = (unsigned char)key[i];

		if (i >= max || c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

char *
conn_key_path(const char *prefix, const char *key, const char *suffix)
{
	char	*enc, *path = NULL;

	if ((enc = http_urlencode(key)) == NULL)
		return NULL;
	if (asprintf(&path, "%s%s%s", prefix, enc,
	    suffix != NULL ? suffix : "") < 0)
		path = NULL;
	free(enc);
	return path;
}

void
conn_call_error(const struct target_result *res, char *out, size_t outlen)
{
	const struct http_response	*resp = res->resp;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (res->error != NULL && res->error[0] != '\0')
		conn_copy_clean(out, outlen, res->error);
	else if (resp != NULL && resp->status > 0)
		snprintf(out, outlen, "HTTP %ld", resp->status);
	else
		snprintf(out, outlen, "no response");
}

void
conn_call_errorf(const struct target_result *res, char *out, size_t outlen,
    const char *fmt, ...)
{
	va_list	ap;
	size_t	len;
	int	n;

	if (outlen == 0)
		return;
	out[0] = '\0';
	n = snprintf(out, outlen, "HTTP %ld", res->resp != NULL ?
	    res->resp->status : 0L);
	if (n < 0 || (size_t)n >= outlen)
		return;
	len = (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(out + len, outlen - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen - len)
		return;
	len += (size_t)n;
	if (res->attempts > 1)
		snprintf(out + len, outlen - len, " (after %d attempts)",
		    res->attempts);
}

void
conn_check(struct connector_check *chk, json_object *obj, const char *key,
    const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	if (chk == NULL || chk->report == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	chk->report(chk, obj, key, msg);
}
