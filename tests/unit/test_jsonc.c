/*
 * test_jsonc: the comment-tolerant JSON parser: comments, trailing commas,
 * the line of every value and key, every syntax error with its line, string
 * escapes, numbers, size and depth limits, and the validation helpers.
 */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "deprov/diag.h"
#include "deprov/jsonc.h"

static char tmpdir[PATH_MAX];

static struct jsonc_doc *
parse(const char *text)
{
	char			 err[512] = "";
	struct jsonc_doc	*doc;

	doc = jsonc_parse_buffer("t.json", text, strlen(text), err, sizeof err);
	if (doc == NULL)
		fail_msg("unexpected parse error: %s", err);
	return doc;
}

/* Parse text that must fail; compare the whole error string. */
static void
parse_fails(const char *text, size_t len, const char *want)
{
	char			 err[512] = "";
	struct jsonc_doc	*doc;

	doc = jsonc_parse_buffer("t.json", text, len, err, sizeof err);
	if (doc != NULL) {
		jsonc_free(doc);
		fail_msg("parsed but should fail with \"%s\": %s", want, text);
	}
	if (strcmp(err, want) != 0)
		fail_msg("input %s\n  got  \"%s\"\n  want \"%s\"", text, err, want);
}

static void
test_comments_and_trailing_commas(void **state)
{
	struct jsonc_doc	*doc;
	json_object		*root, *v;

	doc = parse(
	    "// a leading comment\n"
	    "{ /* block */ \"a\": 1, // trailing\n"
	    "  \"b\": [1, 2, 3,],\n"
	    "  /* multi\n"
	    "     line */ \"c\": { \"d\": \"x//y/*z*/\", },\n"
	    "  \"e\": null, \"f\": true, \"g\": false,\n"
	    "}\n"
	    "// after\n");
	root = jsonc_root(doc);
	assert_true(json_object_is_type(root, json_type_object));
	assert_int_equal(json_object_object_length(root), 6);
	assert_true(json_object_object_get_ex(root, "a", &v));
	assert_int_equal(json_object_get_int64(v), 1);
	assert_true(json_object_object_get_ex(root, "b", &v));
	assert_int_equal(json_object_array_length(v), 3);
	assert_true(json_object_object_get_ex(root, "c", &v));
	assert_true(json_object_object_get_ex(v, "d", &v));
	assert_string_equal(json_object_get_string(v), "x//y/*z*/");
	assert_true(json_object_object_get_ex(root, "e", &v));
	assert_null(v);
	assert_true(json_object_object_get_ex(root, "f", &v));
	assert_true(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(root, "g", &v));
	assert_false(json_object_get_boolean(v));
	assert_string_equal(jsonc_name(doc), "t.json");
	jsonc_free(doc);

	/* Empty containers, with and without a comment inside. */
	doc = parse("[[], {}, [ /* c */ ], { // c\n }]");
	assert_int_equal(json_object_array_length(jsonc_root(doc)), 4);
	jsonc_free(doc);

	/* A scalar document and a byte order mark. */
	doc = parse("\xef\xbb\xbf 42 ");
	assert_int_equal(json_object_get_int64(jsonc_root(doc)), 42);
	jsonc_free(doc);
}

static void
test_lines(void **state)
{
	struct jsonc_doc	*doc;
	json_object		*root, *a, *b, *c, *el;

	doc = parse(
	    "{\n"					/* 1 */
	    "  \"a\": 1,\n"				/* 2 */
	    "  \"b\":\n"				/* 3 */
	    "    [\n"					/* 4 */
	    "      \"x\",\n"				/* 5 */
	    "      /* comment\n"			/* 6 */
	    "         spanning */ {\n"		/* 7 */
	    "        \"k\": \"v\"\n"		/* 8 */
	    "      }\n"					/* 9 */
	    "    ],\n"					/* 10 */
	    "  // comment\n"				/* 11 */
	    "  \"c\": { \"n\": null, \"t\":\n"	/* 12 */
	    "  true }\n"				/* 13 */
	    "}\n");					/* 14 */
	root = jsonc_root(doc);
	assert_int_equal(jsonc_line(doc, root), 1);
	assert_true(json_object_object_get_ex(root, "a", &a));
	assert_true(json_object_object_get_ex(root, "b", &b));
	assert_true(json_object_object_get_ex(root, "c", &c));
	assert_int_equal(jsonc_line(doc, a), 2);
	assert_int_equal(jsonc_key_line(doc, root, "a"), 2);
	assert_int_equal(jsonc_key_line(doc, root, "b"), 3);
	assert_int_equal(jsonc_line(doc, b), 4);
	assert_int_equal(jsonc_line(doc, json_object_array_get_idx(b, 0)), 5);
	el = json_object_array_get_idx(b, 1);
	assert_int_equal(jsonc_line(doc, el), 7);
	assert_int_equal(jsonc_key_line(doc, el, "k"), 8);
	assert_true(json_object_object_get_ex(el, "k", &el));
	assert_int_equal(jsonc_line(doc, el), 8);
	assert_int_equal(jsonc_key_line(doc, root, "c"), 12);
	assert_int_equal(jsonc_line(doc, c), 12);
	assert_int_equal(jsonc_key_line(doc, c, "n"), 12);
	assert_int_equal(jsonc_key_line(doc, c, "t"), 12);
	assert_true(json_object_object_get_ex(c, "t", &el));
	assert_int_equal(jsonc_line(doc, el), 13);

	/* member_line: the value, else (null) the key. */
	assert_int_equal(jsonc_member_line(doc, c, "t"), 13);
	assert_int_equal(jsonc_member_line(doc, c, "n"), 12);
	assert_int_equal(jsonc_member_line(doc, root, "missing"), 1);

	/* Unknown objects and keys. */
	assert_int_equal(jsonc_key_line(doc, root, "nope"), 0);
	assert_int_equal(jsonc_key_line(doc, a, "a"), 0);
	assert_int_equal(jsonc_line(doc, NULL), 0);
	a = json_object_new_int(3);
	assert_int_equal(jsonc_line(doc, a), 0);
	json_object_put(a);
	jsonc_free(doc);
}

/* Many values: the line table grows and keeps every entry. */
static void
test_lines_many(void **state)
{
	struct jsonc_doc	*doc;
	json_object		*root, *el;
	char			*text, *p;
	size_t			 i, n = 5000;

	text = malloc(n * 40 + 16);
	assert_non_null(text);
	p = text;
	p += sprintf(p, "[\n");
	for (i = 0; i < n; i++)
		p += sprintf(p, "{\"k%zu\": %zu},\n", i, i);
	sprintf(p, "]\n");
	doc = parse(text);
	free(text);
	root = jsonc_root(doc);
	assert_int_equal(json_object_array_length(root), n);
	for (i = 0; i < n; i++) {
		char key[32];

		el = json_object_array_get_idx(root, i);
		snprintf(key, sizeof key, "k%zu", i);
		assert_int_equal(jsonc_line(doc, el), (int)i + 2);
		assert_int_equal(jsonc_key_line(doc, el, key), (int)i + 2);
		assert_true(json_object_object_get_ex(el, key, &el));
		assert_int_equal(jsonc_line(doc, el), (int)i + 2);
	}
	jsonc_free(doc);
}

static void
test_syntax_errors(void **state)
{
	static const struct {
		const char *in;
		const char *err;
	} cases[] = {
		{ "{\"a\" 1}", "t.json:1: expected ':' after object key" },
		{ "{\n\"a\"\n\n: 1, \"b\" 2}", "t.json:4: expected ':' after object key" },
		{ "{\n  \"a\": \"abc\n}", "t.json:2: unterminated string" },
		{ "[\n\"abc", "t.json:2: unterminated string" },
		{ "[\n\"abc\\", "t.json:2: unterminated string" },
		{ "{\n\"a\": [1,\n", "t.json:3: unexpected end of input" },
		{ "", "t.json:1: unexpected end of input" },
		{ "  // only a comment\n", "t.json:2: unexpected end of input" },
		{ "{\"a\"", "t.json:1: unexpected end of input" },
		{ "{\"a\":", "t.json:1: unexpected end of input" },
		{ "{\n\"a\": 1\n\"b\": 2}", "t.json:3: expected ',' or '}' after object member" },
		{ "[1\n2]", "t.json:2: expected ',' or ']' after array element" },
		{ "{\n\"a\": 1,\n\"a\": 2}", "t.json:3: duplicate key \"a\"" },
		{ "[,]", "t.json:1: unexpected character ','" },
		{ "[1,,2]", "t.json:1: unexpected character ','" },
		{ "{,}", "t.json:1: expected a string key (in double quotes) or '}'" },
		{ "{\n'a': 1}", "t.json:2: expected a string key (in double quotes) or '}'" },
		{ "{\na: 1}", "t.json:2: expected a string key (in double quotes) or '}'" },
		{ "[1] /* never\nclosed", "t.json:1: unterminated comment" },
		{ "[1] /", "t.json:1: unexpected content after the value: '/'" },
		{ "{}\n\n{}", "t.json:3: unexpected content after the value: '{'" },
		{ "[\ntru]", "t.json:2: unknown word \"tru\" (expected a value: true, "
		    "false, null, a number, a string, an object or an array)" },
		{ "NaN", "t.json:1: unknown word \"NaN\" (expected a value: true, "
		    "false, null, a number, a string, an object or an array)" },
		{ "[01]", "t.json:1: invalid number \"01\"" },
		{ "[-]", "t.json:1: invalid number \"-\"" },
		{ "[1.]", "t.json:1: invalid number \"1.\"" },
		{ "[1e]", "t.json:1: invalid number \"1e\"" },
		{ "[1.5e+]", "t.json:1: invalid number \"1.5e+\"" },
		{ "[1-2]", "t.json:1: invalid number \"1-2\"" },
		{ "[\n1e999]", "t.json:2: number out of range \"1e999\"" },
		{ "[+1]", "t.json:1: unexpected character '+'" },
		{ "[.5]", "t.json:1: unexpected character '.'" },
		{ "\"a\\qb\"", "t.json:1: invalid escape '\\q' in string" },
		{ "\"a\\x41\"", "t.json:1: invalid escape '\\x' in string" },
		{ "[\n\"a\tb\"]", "t.json:2: control character 0x09 in string (escape it)" },
		{ "\"\\u12g4\"", "t.json:1: invalid \\u escape (expected 4 hex digits)" },
		{ "\"\\u12\"", "t.json:1: invalid \\u escape (expected 4 hex digits)" },
		{ "\"\\ud800\"", "t.json:1: invalid \\u escape: unpaired surrogate \\uD800" },
		{ "\"\\ud800\\u0041\"", "t.json:1: invalid \\u escape: unpaired surrogate \\uD800" },
		{ "\"\\udc00\"", "t.json:1: invalid \\u escape: unpaired surrogate \\uDC00" },
		{ "[\n\"\xff\"]", "t.json:2: invalid UTF-8 in string" },
		{ "\"\xc0\xaf\"", "t.json:1: invalid UTF-8 in string" },		/* overlong */
		{ "\"\xed\xa0\x80\"", "t.json:1: invalid UTF-8 in string" },	/* surrogate */
		{ "\"\xe2\x82\"", "t.json:1: invalid UTF-8 in string" },		/* cut short */
		{ "{\"a\\u0000b\": 1}", "t.json:1: object key contains \\u0000" },
		{ "[\x01]", "t.json:1: unexpected character (byte 0x01)" },
		{ "\xc3\xa9", "t.json:1: unexpected character (byte 0xc3)" },
	};
	size_t	i;
	char	num[200];

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		parse_fails(cases[i].in, strlen(cases[i].in), cases[i].err);
	/* A NUL byte outside a string. */
	parse_fails("[1,\0]", 5, "t.json:1: unexpected character (byte 0x00)");
	/* A NUL byte inside a string. */
	parse_fails("\"a\0\"", 4, "t.json:1: control character 0x00 in string "
	    "(escape it)");
	/* An absurdly long number. */
	memset(num, '1', sizeof num - 1);
	num[sizeof num - 1] = '\0';
	parse_fails(num, strlen(num), "t.json:1: number too long");
}

static void
test_depth(void **state)
{
	char			 text[512], err[256];
	struct jsonc_doc	*doc;
	int			 i;

	/* 64 levels are fine. */
	for (i = 0; i < 64; i++)
		text[i] = '[';
	for (i = 0; i < 64; i++)
		text[64 + i] = ']';
	text[128] = '\0';
	doc = parse(text);
	jsonc_free(doc);

	/* 65 are not. */
	for (i = 0; i < 65; i++)
		text[i] = '[';
	for (i = 0; i < 65; i++)
		text[65 + i] = ']';
	text[130] = '\0';
	parse_fails(text, strlen(text), "t.json:1: nesting deeper than 64 levels");

	/* Objects count too, and the line is the one that opens too deep. */
	text[0] = '\0';
	for (i = 0; i < 64; i++)
		strcat(text, "{\"a\":");
	strcat(text, "\n{");
	doc = jsonc_parse_buffer("t.json", text, strlen(text), err, sizeof err);
	assert_null(doc);
	assert_string_equal(err, "t.json:2: nesting deeper than 64 levels");
}

static void
test_strings(void **state)
{
	struct jsonc_doc	*doc;
	json_object		*root;

	doc = parse("[\"\\u00e9\", \"\\ud83d\\ude00\", \"\\u20AC\", \"\\u0041\\n\\t"
	    "\\\"\\\\\\/\\b\\f\\r\", \"caf\xc3\xa9 \xf0\x9f\x98\x80\", \"a\\u0000b\", \"\"]");
	root = jsonc_root(doc);
	assert_string_equal(json_object_get_string(
	    json_object_array_get_idx(root, 0)), "\xc3\xa9");
	assert_string_equal(json_object_get_string(
	    json_object_array_get_idx(root, 1)), "\xf0\x9f\x98\x80");
	assert_string_equal(json_object_get_string(
	    json_object_array_get_idx(root, 2)), "\xe2\x82\xac");
	assert_string_equal(json_object_get_string(
	    json_object_array_get_idx(root, 3)), "A\n\t\"\\/\b\f\r");
	assert_string_equal(json_object_get_string(
	    json_object_array_get_idx(root, 4)), "caf\xc3\xa9 \xf0\x9f\x98\x80");
	/* An escaped NUL is kept, with its length. */
	assert_int_equal(json_object_get_string_len(
	    json_object_array_get_idx(root, 5)), 3);
	assert_memory_equal(json_object_get_string(
	    json_object_array_get_idx(root, 5)), "a\0b", 3);
	assert_string_equal(json_object_get_string(
	    json_object_array_get_idx(root, 6)), "");
	jsonc_free(doc);

	/* Keys are unescaped too. */
	doc = parse("{\"caf\\u00e9\": 1}");
	assert_true(json_object_object_get_ex(jsonc_root(doc), "caf\xc3\xa9",
	    NULL));
	assert_int_equal(jsonc_key_line(doc, jsonc_root(doc), "caf\xc3\xa9"), 1);
	jsonc_free(doc);
}

static void
test_numbers(void **state)
{
	struct jsonc_doc	*doc;
	json_object		*root, *v;

	doc = parse("[0, -7, 9223372036854775807, -9223372036854775808, "
	    "9223372036854775808, 1.5, -0.25e2, 1E3, 2e-1]");
	root = jsonc_root(doc);
	v = json_object_array_get_idx(root, 0);
	assert_true(json_object_is_type(v, json_type_int));
	assert_int_equal(json_object_get_int64(v), 0);
	assert_int_equal(json_object_get_int64(json_object_array_get_idx(root, 1)),
	    -7);
	assert_true(json_object_get_int64(json_object_array_get_idx(root, 2)) ==
	    INT64_MAX);
	assert_true(json_object_get_int64(json_object_array_get_idx(root, 3)) ==
	    INT64_MIN);
	/* Too big for int64: a double. */
	v = json_object_array_get_idx(root, 4);
	assert_true(json_object_is_type(v, json_type_double));
	v = json_object_array_get_idx(root, 5);
	assert_true(json_object_is_type(v, json_type_double));
	assert_true(json_object_get_double(v) == 1.5);
	assert_true(json_object_get_double(json_object_array_get_idx(root, 6)) ==
	    -25.0);
	v = json_object_array_get_idx(root, 7);
	assert_true(json_object_is_type(v, json_type_double));
	assert_true(json_object_get_double(v) == 1000.0);
	assert_true(fabs(json_object_get_double(json_object_array_get_idx(root,
	    8)) - 0.2) < 1e-12);
	jsonc_free(doc);
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_files(void **state)
{
	char			 path[PATH_MAX + 32], err[512], want[PATH_MAX + 128];
	char			*big;
	struct jsonc_doc	*doc;
	struct diags		*d;
	size_t			 size = 4u * 1024 * 1024;

	/* A good file. */
	snprintf(path, sizeof path, "%s/ok.json", tmpdir);
	write_file(path, "{\n  \"a\": [1, 2],\n}\n", 19);
	doc = jsonc_parse_file(path, err, sizeof err);
	assert_non_null(doc);
	assert_string_equal(jsonc_name(doc), path);
	assert_int_equal(jsonc_key_line(doc, jsonc_root(doc), "a"), 2);
	jsonc_free(doc);

	/* A syntax error names the file and line. */
	snprintf(path, sizeof path, "%s/bad.json", tmpdir);
	write_file(path, "{\n  \"a\" [1, 2],\n}\n", 18);
	assert_null(jsonc_parse_file(path, err, sizeof err));
	snprintf(want, sizeof want, "%s:2: expected ':' after object key", path);
	assert_string_equal(err, want);
	d = diags_new();
	assert_null(jsonc_parse_file_diag(path, d));
	assert_int_equal(diags_count(d), 1);
	assert_string_equal(diags_get(d, 0), want);
	diags_free(d);

	/* A missing file. */
	snprintf(path, sizeof path, "%s/missing.json", tmpdir);
	assert_null(jsonc_parse_file(path, err, sizeof err));
	snprintf(want, sizeof want, "%s: cannot open: No such file or directory",
	    path);
	assert_string_equal(err, want);

	/* A directory. */
	assert_null(jsonc_parse_file(tmpdir, err, sizeof err));
	snprintf(want, sizeof want, "%s: is a directory", tmpdir);
	assert_string_equal(err, want);

	/* Exactly the limit is fine; one byte more is not. */
	big = malloc(size + 1);
	assert_non_null(big);
	memset(big, ' ', size + 1);
	big[0] = '[';
	big[size - 1] = ']';
	snprintf(path, sizeof path, "%s/big.json", tmpdir);
	write_file(path, big, size);
	doc = jsonc_parse_file(path, err, sizeof err);
	assert_non_null(doc);
	jsonc_free(doc);
	write_file(path, big, size + 1);
	assert_null(jsonc_parse_file(path, err, sizeof err));
	snprintf(want, sizeof want, "%s: file too large (more than 4 MiB)", path);
	assert_string_equal(err, want);
	assert_null(jsonc_parse_buffer("b", big, size + 1, err, sizeof err));
	assert_string_equal(err, "b: input too large (more than 4 MiB)");
	free(big);
}

static int
has(const struct diags *d, const char *want)
{
	size_t i;

	for (i = 0; i < diags_count(d); i++) {
		if (strcmp(diags_get(d, i), want) == 0)
			return 1;
	}
	fprintf(stderr, "missing diagnostic: %s\nhave:\n", want);
	diags_print(d, stderr);
	return 0;
}

static void
test_helpers(void **state)
{
	static const char *const allowed[] = { "s", "i", "f", "o", "a", "l",
	    "neg", "big", "e", "x", NULL };
	struct jsonc_doc	*doc;
	struct diags		*d = diags_new();
	json_object		*root, *o = NULL;
	const char		*s = "dflt";
	long long		 ll = 5;
	double			 f = 0.5;
	char			**v = NULL;
	size_t			 n = 0;

	doc = parse(
	    "{\n"					/* 1 */
	    "  \"s\": \"str\",\n"			/* 2 */
	    "  \"i\": 12,\n"				/* 3 */
	    "  \"f\": 1.5,\n"				/* 4 */
	    "  \"o\": {\"u\": 1},\n"			/* 5 */
	    "  \"a\": [1],\n"				/* 6 */
	    "  \"l\": [\"x\", \"y\"],\n"		/* 7 */
	    "  \"neg\": -1,\n"				/* 8 */
	    "  \"big\": 3000000000,\n"			/* 9 */
	    "  \"e\": \"\",\n"				/* 10 */
	    "  \"bogus\": 1,\n"				/* 11 */
	    "  \"x\": [\"a\", 2]\n"			/* 12 */
	    "}\n");
	root = jsonc_root(doc);
	assert_int_equal(jsonc_check_keys(doc, root, NULL, allowed, d), 1);
	assert_true(has(d, "t.json:11: unknown key \"bogus\""));
	assert_int_equal(jsonc_check_keys(doc, json_object_object_get(root, "o"),
	    "top.o", allowed, d), 1);
	assert_true(has(d, "t.json:5: unknown key \"u\" in top.o (did you mean \"s\"?)"));

	/* Absent: 0, and the default stays. */
	assert_int_equal(jsonc_get_string(doc, root, NULL, "nope", &s, d), 0);
	assert_string_equal(s, "dflt");
	assert_int_equal(jsonc_get_string(doc, NULL, NULL, "s", &s, d), 0);
	assert_int_equal(jsonc_get_string(doc, root, NULL, "s", &s, d), 1);
	assert_string_equal(s, "str");
	assert_int_equal(jsonc_get_int(doc, root, "w", "i", 0, 100, &ll, d), 1);
	assert_int_equal(ll, 12);
	assert_int_equal(jsonc_get_double(doc, root, "w", "i", 0, 100, &f, d), 1);
	assert_true(f == 12.0);
	assert_int_equal(jsonc_get_double(doc, root, "w", "f", 0, 100, &f, d), 1);
	assert_true(f == 1.5);
	assert_int_equal(jsonc_get_object(doc, root, "w", "o", &o, d), 1);
	assert_int_equal(jsonc_get_array(doc, root, "w", "a", &o, d), 1);
	assert_int_equal(jsonc_get_strings(doc, root, "w", "l", &v, &n, d), 1);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "x");
	assert_string_equal(v[1], "y");
	jsonc_strings_free(v, n);

	assert_int_equal(diags_count(d), 2);
	/* Wrong types and values. */
	assert_int_equal(jsonc_get_string(doc, root, "w", "i", &s, d), -1);
	assert_true(has(d, "t.json:3: w.i: expected a string"));
	assert_int_equal(jsonc_get_string(doc, root, "w", "e", &s, d), -1);
	assert_true(has(d, "t.json:10: w.e: must not be empty"));
	assert_int_equal(jsonc_get_int(doc, root, "w", "f", 0, 100, &ll, d), -1);
	assert_true(has(d, "t.json:4: w.f: expected an integer"));
	assert_int_equal(jsonc_get_int(doc, root, "w", "neg", 0, LLONG_MAX, &ll,
	    d), -1);
	assert_true(has(d, "t.json:8: w.neg: must not be negative"));
	assert_int_equal(jsonc_get_int(doc, root, "w", "neg", 1, INT_MAX, &ll,
	    d), -1);
	assert_true(has(d, "t.json:8: w.neg: must be at least 1"));
	assert_int_equal(jsonc_get_int(doc, root, "w", "big", 1, INT_MAX, &ll,
	    d), -1);
	assert_true(has(d, "t.json:9: w.big: must be at most 2147483647"));
	assert_int_equal(jsonc_get_int(doc, root, "w", "i", 1, 10, &ll, d), -1);
	assert_true(has(d, "t.json:3: w.i: must be between 1 and 10"));
	assert_int_equal(jsonc_get_double(doc, root, "w", "neg", 0, INFINITY, &f,
	    d), -1);
	assert_true(has(d, "t.json:8: w.neg: must not be negative"));
	assert_int_equal(jsonc_get_double(doc, root, "w", "f", 0, 1, &f, d), -1);
	assert_true(has(d, "t.json:4: w.f: must be between 0 and 1"));
	assert_int_equal(jsonc_get_double(doc, root, "w", "s", 0, 1, &f, d), -1);
	assert_true(has(d, "t.json:2: w.s: expected a number"));
	assert_int_equal(jsonc_get_object(doc, root, "w", "a", &o, d), -1);
	assert_true(has(d, "t.json:6: w.a: expected an object"));
	assert_int_equal(jsonc_get_array(doc, root, "w", "o", &o, d), -1);
	assert_true(has(d, "t.json:5: w.o: expected an array"));
	assert_int_equal(jsonc_get_strings(doc, root, "w", "x", &v, &n, d), -1);
	assert_true(has(d, "t.json:12: w.x: expected an array of strings"));
	assert_int_equal(jsonc_get_strings(doc, root, NULL, "s", &v, &n, d), -1);
	assert_true(has(d, "t.json:2: s: expected an array of strings"));
	assert_int_equal(ll, 12);
	assert_true(f == 1.5);
	diags_free(d);
	jsonc_free(doc);
}

static int
setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_jsonc.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof path, "%s/ok.json", tmpdir);
	unlink(path);
	snprintf(path, sizeof path, "%s/bad.json", tmpdir);
	unlink(path);
	snprintf(path, sizeof path, "%s/big.json", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

/* jsonc_text_check on text whose length is given (it may hold a raw NUL). */
static int
text_check(const char *s, size_t len)
{
	char err[128] = "";
	int r = jsonc_text_check(s, len, err, sizeof err);

	if (r != 0)
		assert_true(strstr(err, "NUL") != NULL);
	return r;
}
#define TEXT_CHECK(lit) text_check(lit, sizeof lit - 1)

/* Text from outside: a NUL anywhere, keys included, is refused. */
static void
test_text_check(void **state)
{
	(void)state;
	assert_int_equal(TEXT_CHECK("{\"a\":\"E0010\"}"), 0);
	assert_int_equal(TEXT_CHECK("{\"a\":\"E0010\\u0000X\"}"), -1);
	assert_int_equal(TEXT_CHECK("{\"a\\u0000b\":1}"), -1);
	assert_int_equal(TEXT_CHECK("{\"a\":\"\\u0000\"}"), -1);
	assert_int_equal(TEXT_CHECK("{\"a\":\"x\0y\"}"), -1);
	/* An escaped backslash followed by the letters u0000 is no NUL. */
	assert_int_equal(TEXT_CHECK("{\"a\":\"\\\\u0000\"}"), 0);
	assert_int_equal(TEXT_CHECK("{\"a\":\"\\\\\\u0000\"}"), -1);
	assert_int_equal(TEXT_CHECK("{\"a\":\"\\u00001\"}"), -1);
	assert_int_equal(TEXT_CHECK("{\"a\":\"\\u0001\\u1000\\u00a0\"}"), 0);
	/* Text that ends inside an escape is the parser's business. */
	assert_int_equal(TEXT_CHECK("\"\\u000"), 0);
	assert_int_equal(TEXT_CHECK("\"\\"), 0);
	assert_int_equal(TEXT_CHECK(""), 0);
}

/* One string member through jsonc_get_text; the reason goes to why. */
static int
get_text(const char *json, int flags, const char **out, char *why,
    size_t whylen, json_object **keep)
{
	json_object *o = json_tokener_parse(json);

	assert_non_null(o);
	*keep = o;
	return jsonc_get_text(o, "v", "data.email", flags, out, why, whylen);
}

static void
test_get_text(void **state)
{
	static const char *const bad_utf8[] = {
		"\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\x80",
		"a\xc3", "\xe2\x82", "\xf0\x9f\x98",
	};
	json_object	*o;
	const char	*s;
	char		 why[128], json[64];
	size_t		 i;

	(void)state;
	assert_int_equal(get_text("{\"v\":\"a@b\"}", JSONC_TEXT_ID, &s, why,
	    sizeof why, &o), 1);
	assert_string_equal(s, "a@b");
	json_object_put(o);
	assert_int_equal(get_text("{\"v\":null}", 0, &s, why, sizeof why, &o),
	    0);
	assert_null(s);
	json_object_put(o);
	assert_int_equal(get_text("{}", 0, &s, why, sizeof why, &o), 0);
	json_object_put(o);
	assert_int_equal(get_text("{\"v\":\"\"}", 0, &s, why, sizeof why, &o),
	    1);
	assert_string_equal(s, "");
	json_object_put(o);
	assert_int_equal(get_text("{\"v\":7}", 0, &s, why, sizeof why, &o), -1);
	assert_string_equal(why, "data.email must be a string");
	json_object_put(o);
	assert_int_equal(get_text("{\"v\":\"a\\u0000b@x\"}", 0, &s, why,
	    sizeof why, &o), -1);
	assert_string_equal(why, "data.email contains a NUL character "
	    "(\\u0000)");
	json_object_put(o);
	/* Valid UTF-8 of every length, and the same bytes refused as ids. */
	assert_int_equal(get_text("{\"v\":\"J\xc3\xbcrgen \xe2\x82\xac "
	    "\xf0\x9f\x98\x80\"}", JSONC_TEXT_ID, &s, why, sizeof why, &o), 1);
	json_object_put(o);
	for (i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
		snprintf(json, sizeof json, "{\"v\":\"x%sy\"}", bad_utf8[i]);
		assert_int_equal(get_text(json, 0, &s, why, sizeof why, &o), 1);
		json_object_put(o);
		if (get_text(json, JSONC_TEXT_ID, &s, why, sizeof why, &o) != -1)
			fail_msg("invalid UTF-8 #%zu accepted", i);
		assert_string_equal(why, "data.email is not valid UTF-8");
		json_object_put(o);
	}
	assert_int_equal(jsonc_utf8_valid("", 0), 1);
	assert_int_equal(jsonc_utf8_valid("\xf4\x8f\xbf\xbf", 4), 1);
	assert_int_equal(jsonc_utf8_valid("\xef\xbf\xbf", 3), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comments_and_trailing_commas),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_lines_many),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_text_check),
		cmocka_unit_test(test_get_text),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
