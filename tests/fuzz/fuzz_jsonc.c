/*
 * fuzz_jsonc: src/jsonc.c, both halves. The first byte chooses:
 *
 *   a  jsonc_parse_buffer, the comment-tolerant parser of configuration
 *      and runbooks, and its line table: an error names a line of the
 *      input, every value and key of a document has a line within it, and
 *      the getters (strings, integers, doubles, objects, arrays, string
 *      lists, unknown keys) answer for every member of the root object.
 *   b  jsonc_text_check in front of json-c, as for every message from
 *      outside: text it lets through never yields a string holding a NUL,
 *      and jsonc_get_text answers for every member.
 *   c  jsonc_utf8_valid against RFC 3629's table of well-formed byte
 *      sequences.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "deprov/diag.h"
#include "deprov/jsonc.h"

#include "fuzz.h"

/* How many lines text has (the last one need not end in a newline). */
static int
fuzz_jsonc_lines(const uint8_t *p, size_t n)
{
	int	lines = 1;
	size_t	i;

	for (i = 0; i < n; i++)
		if (p[i] == '\n')
			lines++;
	return lines;
}

/* Every value below v has a line in 1..maxline, every key too. */
static void
fuzz_jsonc_walk(const struct jsonc_doc *doc, json_object *v, int maxline,
    int depth)
{
	int	l;
	size_t	i;

	FUZZ_CHECK(depth <= 70, "deeper than the parser allows");
	l = jsonc_line(doc, v);
	FUZZ_CHECK(v == NULL || (l >= 1 && l <= maxline), "a value on line "
	    "%d of %d", l, maxline);
	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, k, m) {
			l = jsonc_key_line(doc, v, k);
			FUZZ_CHECK(l >= 1 && l <= maxline, "key \"%s\" on line "
			    "%d of %d", k, l, maxline);
			l = jsonc_member_line(doc, v, k);
			FUZZ_CHECK(l >= 1 && l <= maxline, "member \"%s\" on "
			    "line %d of %d", k, l, maxline);
			fuzz_jsonc_walk(doc, m, maxline, depth + 1);
		}
	} else if (json_object_is_type(v, json_type_array)) {
		for (i = 0; i < json_object_array_length(v); i++)
			fuzz_jsonc_walk(doc, json_object_array_get_idx(v, i),
			    maxline, depth + 1);
	} else if (json_object_is_type(v, json_type_string)) {
		/* A \u0000 is taken here; the getters refuse it. */
		FUZZ_CHECK(jsonc_utf8_valid(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v)),
		    "a string that is not UTF-8");
	}
}

/* Every getter on every member of the root object. */
static void
fuzz_jsonc_getters(const struct jsonc_doc *doc, json_object *root)
{
	static const char *const allowed[] = { "name", "kind", "steps", NULL };
	struct diags	*d = diags_new();
	const char	*s;
	json_object	*o;
	long long	 ll;
	double		 dbl;
	char		**v;
	size_t		 n, i, before;
	int		 r;

	if (d == NULL)
		abort();
	jsonc_check_keys(doc, root, "root", allowed, d);
	json_object_object_foreach(root, k, m) {
		before = diags_count(d);
		r = jsonc_get_string(doc, root, "root", k, &s, d);
		FUZZ_CHECK(r == 1 ? s != NULL && *s != '\0' && strlen(s) ==
		    (size_t)json_object_get_string_len(m) : r == 0 ? m == NULL :
		    r == -1 && diags_count(d) > before, "jsonc_get_string \"%s\": %d", k, r);
		r = jsonc_get_int(doc, root, "root", k, -5, 1000000, &ll, d);
		FUZZ_CHECK(r != 1 || (ll >= -5 && ll <= 1000000),
		    "jsonc_get_int \"%s\": %lld", k, ll);
		r = jsonc_get_double(doc, root, "root", k, 0, 1, &dbl, d);
		FUZZ_CHECK(r != 1 || (dbl >= 0 && dbl <= 1),
		    "jsonc_get_double \"%s\": %g", k, dbl);
		jsonc_get_object(doc, root, "root", k, &o, d);
		jsonc_get_array(doc, root, "root", k, &o, d);
		v = NULL;
		n = 0;
		if (jsonc_get_strings(doc, root, "root", k, &v, &n, d) == 1) {
			for (i = 0; i < n; i++)
				FUZZ_CHECK(v[i] != NULL && strlen(v[i]) > 0,
				    "jsonc_get_strings \"%s\": item %zu", k, i);
		}
		jsonc_strings_free(v, n);
	}
	for (i = 0; i < diags_count(d); i++)
		(void)strlen(diags_get(d, i));
	diags_free(d);
}

static void
fuzz_jsonc_parse(const uint8_t *p, size_t n)
{
	struct jsonc_doc	*doc;
	char			 err[512];
	const char		*colon;
	int			 maxline = fuzz_jsonc_lines(p, n), line;

	err[0] = '\0';
	doc = jsonc_parse_buffer("in.json", (const char *)p, n, err, sizeof err);
	if (doc == NULL) {
		FUZZ_CHECK(strncmp(err, "in.json:", 8) == 0, "error \"%s\"", err);
		line = atoi(err + 8);
		colon = strchr(err + 8, ':');
		FUZZ_CHECK(colon != NULL && line >= 0 && line <= maxline,
		    "error on line %d of %d: %s", line, maxline, err);
		return;
	}
	fuzz_jsonc_walk(doc, jsonc_root(doc), maxline, 0);
	if (json_object_is_type(jsonc_root(doc), json_type_object))
		fuzz_jsonc_getters(doc, jsonc_root(doc));
	jsonc_free(doc);
}

/* No string in v holds a NUL; jsonc_get_text on every member. */
static void
fuzz_jsonc_nonul(json_object *v, int depth)
{
	const char	*s;
	char		 err[256];
	size_t		 i;
	int		 r;

	if (json_object_is_type(v, json_type_string))
		FUZZ_CHECK(strlen(json_object_get_string(v)) ==
		    (size_t)json_object_get_string_len(v),
		    "jsonc_text_check let a NUL through");
	else if (json_object_is_type(v, json_type_array)) {
		for (i = 0; i < json_object_array_length(v); i++)
			fuzz_jsonc_nonul(json_object_array_get_idx(v, i),
			    depth + 1);
	} else if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, k, m) {
			r = jsonc_get_text(v, k, NULL, JSONC_TEXT_ID, &s, err,
			    sizeof err);
			FUZZ_CHECK(r == 1 ? s != NULL && jsonc_utf8_valid(s,
			    strlen(s)) : r == 0 ? s == NULL && (m == NULL ||
			    json_object_is_type(m, json_type_null)) :
			    err[0] != '\0', "jsonc_get_text \"%s\": %d", k, r);
			fuzz_jsonc_nonul(m, depth + 1);
		}
	}
}

static void
fuzz_jsonc_outside(const uint8_t *p, size_t n)
{
	json_tokener	*tok;
	json_object	*o;
	char		 err[256];

	if (jsonc_text_check(p, n, err, sizeof err) != 0)
		return;
	if ((tok = json_tokener_new()) == NULL)
		abort();
	o = json_tokener_parse_ex(tok, (const char *)p, (int)n);
	if (o != NULL && json_tokener_get_error(tok) == json_tokener_success)
		fuzz_jsonc_nonul(o, 0);
	json_object_put(o);
	json_tokener_free(tok);
}

/* RFC 3629, section 4: the well-formed UTF-8 byte sequences. */
static int
fuzz_jsonc_utf8_ref(const uint8_t *p, size_t n)
{
	static const struct { uint8_t lo[4], hi[4]; int len; } seq[] = {
		{ { 0x00 }, { 0x7f }, 1 },
		{ { 0xc2, 0x80 }, { 0xdf, 0xbf }, 2 },
		{ { 0xe0, 0xa0, 0x80 }, { 0xe0, 0xbf, 0xbf }, 3 },
		{ { 0xe1, 0x80, 0x80 }, { 0xec, 0xbf, 0xbf }, 3 },
		{ { 0xed, 0x80, 0x80 }, { 0xed, 0x9f, 0xbf }, 3 },
		{ { 0xee, 0x80, 0x80 }, { 0xef, 0xbf, 0xbf }, 3 },
		{ { 0xf0, 0x90, 0x80, 0x80 }, { 0xf0, 0xbf, 0xbf, 0xbf }, 4 },
		{ { 0xf1, 0x80, 0x80, 0x80 }, { 0xf3, 0xbf, 0xbf, 0xbf }, 4 },
		{ { 0xf4, 0x80, 0x80, 0x80 }, { 0xf4, 0x8f, 0xbf, 0xbf }, 4 },
	};
	size_t	i = 0, k;
	int	j, ok;

	while (i < n) {
		for (k = 0; k < sizeof seq / sizeof seq[0]; k++) {
			if ((size_t)seq[k].len > n - i)
				continue;
			for (ok = 1, j = 0; j < seq[k].len && ok; j++)
				ok = p[i + j] >= seq[k].lo[j] &&
				    p[i + j] <= seq[k].hi[j];
			if (ok)
				break;
		}
		if (k == sizeof seq / sizeof seq[0])
			return 0;
		i += (size_t)seq[k].len;
	}
	return 1;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	in = { data, size };
	char		*s;

	switch (fuzz_op(&in, 3)) {
	case 0:
		fuzz_jsonc_parse(in.p, in.n);
		break;
	case 1:
		fuzz_jsonc_outside(in.p, in.n);
		break;
	case 2:
		s = fuzz_str(in.p, in.n);
		FUZZ_CHECK(jsonc_utf8_valid(s, in.n) ==
		    fuzz_jsonc_utf8_ref(in.p, in.n), "jsonc_utf8_valid says %d",
		    jsonc_utf8_valid(s, in.n));
		free(s);
		break;
	}
	return 0;
}
