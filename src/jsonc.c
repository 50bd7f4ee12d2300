/*
 * jsonc: a small hand-written JSON parser for configuration and runbooks. It
 * accepts // and block comments and trailing commas, builds ordinary json-c
 * objects and records, in an open-addressing hash beside them, the 1-based
 * line of every value and of every object key, so that callers can report
 * problems as file:line. Syntax errors are "file:line: message". Inputs are
 * capped in size and nesting depth; strings must be valid UTF-8 without raw
 * control characters, \u escapes (with surrogate pairs) become UTF-8, and a
 * key given twice in one object is an error. At the end, the checks for
 * JSON from outside that json-c parses (jsonc_text_check, jsonc_get_text).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "deprov/diag.h"
#include "deprov/jsonc.h"

#define JSONC_MAX_SIZE		(4u * 1024 * 1024)
#define JSONC_MAX_DEPTH		64
#define JSONC_MAX_NUMBER	128

/* One line-table slot: the line of value obj (key NULL) or of key in object obj. */
struct jsonc_entry {
	const void	*obj;		/* NULL = empty slot */
	char		*key;
	int		 line;
};

struct jsonc_doc {
	char			*name;
	json_object		*root;
	struct jsonc_entry	*tab;
	size_t			 cap;	/* power of two */
	size_t			 n;
};

struct jsonc_parser {
	struct jsonc_doc	*doc;
	const unsigned char	*p;
	const unsigned char	*end;
	int			 line;
	int			 err_line;	/* 0 until an error is set */
	char			 msg[256];
};

/* A growable byte buffer for string contents. */
struct jsonc_buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

static uint64_t	jsonc_hash(const void *, const char *);
static int	jsonc_same(const struct jsonc_entry *, const void *, const char *);
static int	jsonc_tab_grow(struct jsonc_doc *);
static int	jsonc_tab_put(struct jsonc_doc *, const void *, const char *, int);
static const struct jsonc_entry *jsonc_tab_get(const struct jsonc_doc *,
		    const void *, const char *);
static void	jsonc_error(struct jsonc_parser *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	jsonc_error_char(struct jsonc_parser *, const char *);
static int	jsonc_skip(struct jsonc_parser *);
static int	jsonc_buf_add(struct jsonc_buf *, const void *, size_t);
static int	jsonc_utf8_len(const unsigned char *, const unsigned char *);
static int	jsonc_hex4(const unsigned char *, unsigned int *);
static int	jsonc_isdigit(unsigned char);
static int	jsonc_string(struct jsonc_parser *, struct jsonc_buf *);
static int	jsonc_number(struct jsonc_parser *, json_object **);
static int	jsonc_word(struct jsonc_parser *, json_object **);
static int	jsonc_object(struct jsonc_parser *, int, json_object **);
static int	jsonc_array(struct jsonc_parser *, int, json_object **);
static int	jsonc_value(struct jsonc_parser *, int, json_object **);
static struct jsonc_doc *jsonc_parse(const char *, const char *, size_t,
		    int *, char *, size_t);
static char	*jsonc_read(const char *, size_t *, char *, size_t);
static void	jsonc_format(char *, size_t, const char *, int, const char *);
static void	jsonc_path(char *, size_t, const char *, const char *);
static int	jsonc_member(json_object *, const char *, json_object **);

/* Mix a pointer and an optional key into a table hash. */
static uint64_t
jsonc_hash(const void *obj, const char *key)
{
	uint64_t h = (uint64_t)(uintptr_t)obj;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	if (key != NULL) {
		h ^= 0xcbf29ce484222325ULL;
		for (; *key != '\0'; key++) {
			h ^= (unsigned char)*key;
			h *= 0x100000001b3ULL;
		}
		h ^= h >> 29;
	}
	return h;
}

static int
jsonc_same(const struct jsonc_entry *e, const void *obj, const char *key)
{
	if (e->obj != obj)
		return 0;
	if (key == NULL || e->key == NULL)
		return key == NULL && e->key == NULL;
	return strcmp(key, e->key) == 0;
}

static int
jsonc_tab_grow(struct jsonc_doc *doc)
{
	struct jsonc_entry	*nt, *e;
	size_t			 ncap = doc->cap ? doc->cap * 2 : 64, i, j;

	nt = calloc(ncap, sizeof *nt);
	if (nt == NULL)
		return -1;
	for (i = 0; i < doc->cap; i++) {
		e = &doc->tab[i];
		if (e->obj == NULL)
			continue;
		j = (size_t)jsonc_hash(e->obj, e->key) & (ncap - 1);
		while (nt[j].obj != NULL)
			j = (j + 1) & (ncap - 1);
		nt[j] = *e;
	}
	free(doc->tab);
	doc->tab = nt;
	doc->cap = ncap;
	return 0;
}

/* Record a line for (obj, key); key is copied. */
static int
jsonc_tab_put(struct jsonc_doc *doc, const void *obj, const char *key, int line)
{
	struct jsonc_entry	*e;
	size_t			 j;
	char			*k = NULL;

	if (obj == NULL)
		return 0;	/* json-c's null has no identity */
	if ((doc->n + 1) * 2 > doc->cap && jsonc_tab_grow(doc) != 0)
		return -1;
	j = (size_t)jsonc_hash(obj, key) & (doc->cap - 1);
	while (doc->tab[j].obj != NULL) {
		e = &doc->tab[j];
		if (jsonc_same(e, obj, key)) {
			e->line = line;
			return 0;
		}
		j = (j + 1) & (doc->cap - 1);
	}
	if (key != NULL && (k = strdup(key)) == NULL)
		return -1;
	doc->tab[j].obj = obj;
	doc->tab[j].key = k;
	doc->tab[j].line = line;
	doc->n++;
	return 0;
}

static const struct jsonc_entry *
jsonc_tab_get(const struct jsonc_doc *doc, const void *obj, const char *key)
{
	size_t j;

	if (doc == NULL || obj == NULL || doc->cap == 0)
		return NULL;
	j = (size_t)jsonc_hash(obj, key) & (doc->cap - 1);
	while (doc->tab[j].obj != NULL) {
		if (jsonc_same(&doc->tab[j], obj, key))
			return &doc->tab[j];
		j = (j + 1) & (doc->cap - 1);
	}
	return NULL;
}

/* Record the first error only. */
static void
jsonc_error(struct jsonc_parser *ps, int line, const char *fmt, ...)
{
	va_list ap;

	if (ps->err_line != 0)
		return;
	ps->err_line = line > 0 ? line : 1;
	va_start(ap, fmt);
	vsnprintf(ps->msg, sizeof ps->msg, fmt, ap);
	va_end(ap);
}

/* "unexpected character 'x'" (or end of input) at the current position. */
static void
jsonc_error_char(struct jsonc_parser *ps, const char *what)
{
	unsigned char c;

	if (ps->p >= ps->end) {
		jsonc_error(ps, ps->line, "unexpected end of input");
		return;
	}
	c = *ps->p;
	if (c >= 0x20 && c < 0x7f)
		jsonc_error(ps, ps->line, "%s '%c'", what, c);
	else
		jsonc_error(ps, ps->line, "%s (byte 0x%02x)", what, c);
}

/* Skip white space and comments; -1 on an unterminated block comment. */
static int
jsonc_skip(struct jsonc_parser *ps)
{
	int start;

	while (ps->p < ps->end) {
		switch (*ps->p) {
		case '\n':
			ps->line++;
			/* FALLTHROUGH */
		case ' ':
		case '\t':
		case '\r':
			ps->p++;
			continue;
		case '/':
			if (ps->p + 1 < ps->end && ps->p[1] == '/') {
				while (ps->p < ps->end && *ps->p != '\n')
					ps->p++;
				continue;
			}
			if (ps->p + 1 < ps->end && ps->p[1] == '*') {
				start = ps->line;
				ps->p += 2;
				for (;;) {
					if (ps->p + 1 >= ps->end) {
						jsonc_error(ps, start,
						    "unterminated comment");
						return -1;
					}
					if (ps->p[0] == '*' && ps->p[1] == '/')
						break;
					if (*ps->p == '\n')
						ps->line++;
					ps->p++;
				}
				ps->p += 2;
				continue;
			}
			return 0;
		default:
			return 0;
		}
	}
	return 0;
}

static int
jsonc_buf_add(struct jsonc_buf *b, const void *data, size_t n)
{
	size_t	 ncap;
	char	*ns;

	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 32;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		ns = realloc(b->s, ncap);
		if (ns == NULL)
			return -1;
		b->s = ns;
		b->cap = ncap;
	}
	memcpy(b->s + b->len, data, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

/* Length of the valid UTF-8 sequence at p (2..4), or 0 when invalid. */
static int
jsonc_utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char	c = p[0];
	int		n, i;
	unsigned long	cp;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (end - p < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int
jsonc_hex4(const unsigned char *p, unsigned int *out)
{
	unsigned int	v = 0;
	int		i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= (unsigned int)(p[i] - '0');
		else if (p[i] >= 'a' && p[i] <= 'f')
			v |= (unsigned int)(p[i] - 'a' + 10);
		else if (p[i] >= 'A' && p[i] <= 'F')
			v |= (unsigned int)(p[i] - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Parse a string starting at the opening quote into b (NUL-terminated). */
static int
jsonc_string(struct jsonc_parser *ps, struct jsonc_buf *b)
{
	int		 start = ps->line, n;
	unsigned char	 c, u[4];
	unsigned int	 cp, lo;
	const unsigned char *run;

	b->len = 0;
	if (jsonc_buf_add(b, "", 0) != 0)
		goto oom;
	ps->p++;
	for (;;) {
		run = ps->p;
		while (ps->p < ps->end && *ps->p >= 0x20 && *ps->p < 0x80 &&
		    *ps->p != '"' && *ps->p != '\\')
			ps->p++;
		if (ps->p > run && jsonc_buf_add(b, run, (size_t)(ps->p - run)) != 0)
			goto oom;
		if (ps->p >= ps->end || *ps->p == '\n') {
			jsonc_error(ps, start, "unterminated string");
			return -1;
		}
		c = *ps->p;
		if (c == '"') {
			ps->p++;
			return 0;
		}
		if (c < 0x20) {
			jsonc_error(ps, ps->line,
			    "control character 0x%02x in string (escape it)", c);
			return -1;
		}
		if (c >= 0x80) {
			if ((n = jsonc_utf8_len(ps->p, ps->end)) == 0) {
				jsonc_error(ps, ps->line, "invalid UTF-8 in string");
				return -1;
			}
			if (jsonc_buf_add(b, ps->p, (size_t)n) != 0)
				goto oom;
			ps->p += n;
			continue;
		}
		/* A backslash escape. */
		if (ps->p + 1 >= ps->end) {
			jsonc_error(ps, start, "unterminated string");
			return -1;
		}
		c = ps->p[1];
		ps->p += 2;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			u[0] = c;
			break;
		case 'b':
			u[0] = '\b';
			break;
		case 'f':
			u[0] = '\f';
			break;
		case 'n':
			u[0] = '\n';
			break;
		case 'r':
			u[0] = '\r';
			break;
		case 't':
			u[0] = '\t';
			break;
		case 'u':
			if (ps->end - ps->p < 4 || jsonc_hex4(ps->p, &cp) != 0) {
				jsonc_error(ps, ps->line,
				    "invalid \\u escape (expected 4 hex digits)");
				return -1;
			}
			ps->p += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				jsonc_error(ps, ps->line,
				    "invalid \\u escape: unpaired surrogate "
				    "\\u%04X", cp);
				return -1;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (ps->end - ps->p < 6 || ps->p[0] != '\\' ||
				    ps->p[1] != 'u' ||
				    jsonc_hex4(ps->p + 2, &lo) != 0 ||
				    lo < 0xdc00 || lo > 0xdfff) {
					jsonc_error(ps, ps->line,
					    "invalid \\u escape: unpaired "
					    "surrogate \\u%04X", cp);
					return -1;
				}
				ps->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
			}
			if (cp < 0x80) {
				u[0] = (unsigned char)cp;
				n = 1;
			} else if (cp < 0x800) {
				u[0] = (unsigned char)(0xc0 | (cp >> 6));
				u[1] = (unsigned char)(0x80 | (cp & 0x3f));
				n = 2;
			} else if (cp < 0x10000) {
				u[0] = (unsigned char)(0xe0 | (cp >> 12));
				u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
				u[2] = (unsigned char)(0x80 | (cp & 0x3f));
				n = 3;
			} else {
				u[0] = (unsigned char)(0xf0 | (cp >> 18));
				u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
				u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
				u[3] = (unsigned char)(0x80 | (cp & 0x3f));
				n = 4;
			}
			if (jsonc_buf_add(b, u, (size_t)n) != 0)
				goto oom;
			continue;
		default:
			if (c >= 0x20 && c < 0x7f)
				jsonc_error(ps, ps->line,
				    "invalid escape '\\%c' in string", c);
			else
				jsonc_error(ps, ps->line,
				    "invalid escape in string");
			return -1;
		}
		if (jsonc_buf_add(b, u, 1) != 0)
			goto oom;
	}
oom:
	jsonc_error(ps, ps->line, "out of memory");
	return -1;
}

static int
jsonc_isdigit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Parse a number: int64 when it is an integer that fits, else a double. */
static int
jsonc_number(struct jsonc_parser *ps, json_object **out)
{
	const unsigned char	*s = ps->p, *q = ps->p;
	char			 text[JSONC_MAX_NUMBER];
	size_t			 len;
	int			 integral = 1, ok = 1;
	long long		 ll;
	double			 d;
	char			*ep;

	/* The run of characters that could belong to a number. */
	while (q < ps->end && (jsonc_isdigit(*q) || *q == '-' || *q == '+' ||
	    *q == '.' || *q == 'e' || *q == 'E'))
		q++;
	len = (size_t)(q - s);
	if (len >= sizeof text) {
		jsonc_error(ps, ps->line, "number too long");
		return -1;
	}
	memcpy(text, s, len);
	text[len] = '\0';

	/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
	q = s;
	if (q < s + len && *q == '-')
		q++;
	if (q < s + len && *q == '0')
		q++;
	else if (q < s + len && jsonc_isdigit(*q)) {
		while (q < s + len && jsonc_isdigit(*q))
			q++;
	} else
		ok = 0;
	if (ok && q < s + len && *q == '.') {
		integral = 0;
		q++;
		if (q >= s + len || !jsonc_isdigit(*q))
			ok = 0;
		while (q < s + len && jsonc_isdigit(*q))
			q++;
	}
	if (ok && q < s + len && (*q == 'e' || *q == 'E')) {
		integral = 0;
		q++;
		if (q < s + len && (*q == '+' || *q == '-'))
			q++;
		if (q >= s + len || !jsonc_isdigit(*q))
			ok = 0;
		while (q < s + len && jsonc_isdigit(*q))
			q++;
	}
	if (!ok || q != s + len) {
		jsonc_error(ps, ps->line, "invalid number \"%s\"", text);
		return -1;
	}
	ps->p += len;

	if (integral) {
		errno = 0;
		ll = strtoll(text, &ep, 10);
		if (errno == 0 && *ep == '\0') {
			*out = json_object_new_int64((int64_t)ll);
			goto made;
		}
	}
	errno = 0;
	d = strtod(text, &ep);
	if (*ep != '\0' || !isfinite(d)) {
		jsonc_error(ps, ps->line, "number out of range \"%s\"", text);
		return -1;
	}
	*out = json_object_new_double_s(d, text);
made:
	if (*out == NULL) {
		jsonc_error(ps, ps->line, "out of memory");
		return -1;
	}
	return 0;
}

/* true, false or null. */
static int
jsonc_word(struct jsonc_parser *ps, json_object **out)
{
	const unsigned char	*q = ps->p;
	size_t			 len;

	while (q < ps->end && ((*q >= 'a' && *q <= 'z') ||
	    (*q >= 'A' && *q <= 'Z') || jsonc_isdigit(*q) || *q == '_'))
		q++;
	len = (size_t)(q - ps->p);
	if (len == 4 && memcmp(ps->p, "true", 4) == 0)
		*out = json_object_new_boolean(1);
	else if (len == 5 && memcmp(ps->p, "false", 5) == 0)
		*out = json_object_new_boolean(0);
	else if (len == 4 && memcmp(ps->p, "null", 4) == 0) {
		*out = NULL;
		ps->p = q;
		return 0;
	} else {
		jsonc_error(ps, ps->line, "unknown word \"%.*s\" (expected a "
		    "value: true, false, null, a number, a string, an object "
		    "or an array)", len > 32 ? 32 : (int)len, ps->p);
		return -1;
	}
	if (*out == NULL) {
		jsonc_error(ps, ps->line, "out of memory");
		return -1;
	}
	ps->p = q;
	return 0;
}

static int
jsonc_object(struct jsonc_parser *ps, int depth, json_object **out)
{
	json_object		*obj = NULL, *val = NULL;
	struct jsonc_buf	 key = { NULL, 0, 0 };
	int			 key_line;

	if ((obj = json_object_new_object()) == NULL) {
		jsonc_error(ps, ps->line, "out of memory");
		goto fail;
	}
	if (jsonc_tab_put(ps->doc, obj, NULL, ps->line) != 0)
		goto oom;
	ps->p++;
	for (;;) {
		if (jsonc_skip(ps) != 0)
			goto fail;
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			break;
		}
		if (ps->p >= ps->end || *ps->p != '"') {
			if (ps->p >= ps->end)
				jsonc_error_char(ps, "");
			else
				jsonc_error(ps, ps->line, "expected a string "
				    "key (in double quotes) or '}'");
			goto fail;
		}
		key_line = ps->line;
		if (jsonc_string(ps, &key) != 0)
			goto fail;
		if (strlen(key.s) != key.len) {
			jsonc_error(ps, key_line, "object key contains \\u0000");
			goto fail;
		}
		if (json_object_object_get_ex(obj, key.s, NULL)) {
			jsonc_error(ps, key_line, "duplicate key \"%s\"", key.s);
			goto fail;
		}
		if (jsonc_skip(ps) != 0)
			goto fail;
		if (ps->p >= ps->end || *ps->p != ':') {
			if (ps->p >= ps->end)
				jsonc_error_char(ps, "");
			else
				jsonc_error(ps, ps->line,
				    "expected ':' after object key");
			goto fail;
		}
		ps->p++;
		if (jsonc_value(ps, depth, &val) != 0)
			goto fail;
		if (json_object_object_add(obj, key.s, val) != 0) {
			json_object_put(val);
			val = NULL;
			goto oom;
		}
		val = NULL;	/* owned by obj now */
		if (jsonc_tab_put(ps->doc, obj, key.s, key_line) != 0)
			goto oom;
		if (jsonc_skip(ps) != 0)
			goto fail;
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			break;
		}
		if (ps->p >= ps->end)
			jsonc_error_char(ps, "");
		else
			jsonc_error(ps, ps->line,
			    "expected ',' or '}' after object member");
		goto fail;
	}
	free(key.s);
	*out = obj;
	return 0;
oom:
	jsonc_error(ps, ps->line, "out of memory");
fail:
	free(key.s);
	json_object_put(obj);
	return -1;
}

static int
jsonc_array(struct jsonc_parser *ps, int depth, json_object **out)
{
	json_object *arr = NULL, *val = NULL;

	if ((arr = json_object_new_array()) == NULL) {
		jsonc_error(ps, ps->line, "out of memory");
		goto fail;
	}
	if (jsonc_tab_put(ps->doc, arr, NULL, ps->line) != 0)
		goto oom;
	ps->p++;
	for (;;) {
		if (jsonc_skip(ps) != 0)
			goto fail;
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			break;
		}
		if (jsonc_value(ps, depth, &val) != 0)
			goto fail;
		if (json_object_array_add(arr, val) != 0) {
			json_object_put(val);
			goto oom;
		}
		val = NULL;	/* owned by arr now */
		if (jsonc_skip(ps) != 0)
			goto fail;
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			break;
		}
		if (ps->p >= ps->end)
			jsonc_error_char(ps, "");
		else
			jsonc_error(ps, ps->line,
			    "expected ',' or ']' after array element");
		goto fail;
	}
	*out = arr;
	return 0;
oom:
	jsonc_error(ps, ps->line, "out of memory");
fail:
	json_object_put(arr);
	return -1;
}

/* Parse one value (after skipping white space) at nesting depth. */
static int
jsonc_value(struct jsonc_parser *ps, int depth, json_object **out)
{
	struct jsonc_buf	 b = { NULL, 0, 0 };
	int			 line;

	*out = NULL;
	if (jsonc_skip(ps) != 0)
		return -1;
	if (ps->p >= ps->end) {
		jsonc_error(ps, ps->line, "unexpected end of input");
		return -1;
	}
	line = ps->line;
	switch (*ps->p) {
	case '{':
	case '[':
		if (depth >= JSONC_MAX_DEPTH) {
			jsonc_error(ps, line, "nesting deeper than %d levels",
			    JSONC_MAX_DEPTH);
			return -1;
		}
		if (*ps->p == '{')
			return jsonc_object(ps, depth + 1, out);
		return jsonc_array(ps, depth + 1, out);
	case '"':
		if (jsonc_string(ps, &b) != 0) {
			free(b.s);
			return -1;
		}
		*out = json_object_new_string_len(b.s, (int)b.len);
		free(b.s);
		if (*out == NULL) {
			jsonc_error(ps, line, "out of memory");
			return -1;
		}
		break;
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		if (jsonc_number(ps, out) != 0)
			return -1;
		break;
	default:
		if ((*ps->p >= 'a' && *ps->p <= 'z') ||
		    (*ps->p >= 'A' && *ps->p <= 'Z')) {
			if (jsonc_word(ps, out) != 0)
				return -1;
			break;
		}
		jsonc_error_char(ps, "unexpected character");
		return -1;
	}
	if (jsonc_tab_put(ps->doc, *out, NULL, line) != 0) {
		json_object_put(*out);
		*out = NULL;
		jsonc_error(ps, line, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * Parse buf into a document. On error returns NULL with the line (0 when
 * there is none) and the bare message.
 */
static struct jsonc_doc *
jsonc_parse(const char *name, const char *buf, size_t len, int *line,
    char *msg, size_t msglen)
{
	struct jsonc_doc	*doc = NULL;
	struct jsonc_parser	 ps;

	*line = 0;
	if (len > JSONC_MAX_SIZE) {
		snprintf(msg, msglen, "input too large (more than %u MiB)",
		    JSONC_MAX_SIZE / (1024 * 1024));
		return NULL;
	}
	if ((doc = calloc(1, sizeof *doc)) == NULL ||
	    (doc->name = strdup(name != NULL ? name : "<input>")) == NULL) {
		snprintf(msg, msglen, "out of memory");
		goto fail;
	}
	memset(&ps, 0, sizeof ps);
	ps.doc = doc;
	ps.p = (const unsigned char *)buf;
	ps.end = ps.p + len;
	ps.line = 1;
	/* A UTF-8 byte order mark is allowed before the value. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		ps.p += 3;
	if (jsonc_value(&ps, 0, &doc->root) != 0)
		goto error;
	if (jsonc_skip(&ps) != 0)
		goto error;
	if (ps.p < ps.end) {
		jsonc_error_char(&ps, "unexpected content after the value:");
		goto error;
	}
	return doc;
error:
	*line = ps.err_line;
	snprintf(msg, msglen, "%s", ps.msg);
fail:
	jsonc_free(doc);
	return NULL;
}

/* Read a whole file (at most the size limit); NULL with a message on error. */
static char *
jsonc_read(const char *path, size_t *lenp, char *msg, size_t msglen)
{
	struct stat	 st;
	char		*buf = NULL, *nbuf;
	size_t		 len = 0, cap;
	ssize_t		 r;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(msg, msglen, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(msg, msglen, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(msg, msglen, "is a directory");
		goto fail;
	}
	/* Start from the file's size; grow to the limit if it keeps going. */
	cap = S_ISREG(st.st_mode) && (size_t)st.st_size < JSONC_MAX_SIZE ?
	    (size_t)st.st_size + 1 : JSONC_MAX_SIZE + 1;
	if ((buf = malloc(cap)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		goto fail;
	}
	while (len <= JSONC_MAX_SIZE) {
		if (len == cap) {
			if ((nbuf = realloc(buf, JSONC_MAX_SIZE + 1)) == NULL) {
				snprintf(msg, msglen, "out of memory");
				goto fail;
			}
			buf = nbuf;
			cap = JSONC_MAX_SIZE + 1;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(msg, msglen, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > JSONC_MAX_SIZE) {
		snprintf(msg, msglen, "file too large (more than %u MiB)",
		    JSONC_MAX_SIZE / (1024 * 1024));
		goto fail;
	}
	close(fd);
	*lenp = len;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

static void
jsonc_format(char *err, size_t errlen, const char *name, int line,
    const char *msg)
{
	if (err == NULL || errlen == 0)
		return;
	if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", name, line, msg);
	else
		snprintf(err, errlen, "%s: %s", name, msg);
}

struct jsonc_doc *
jsonc_parse_buffer(const char *name, const char *buf, size_t len, char *err,
    size_t errlen)
{
	struct jsonc_doc	*doc;
	char			 msg[320];
	int			 line;

	if (name == NULL)
		name = "<input>";
	doc = jsonc_parse(name, buf, len, &line, msg, sizeof msg);
	if (doc == NULL)
		jsonc_format(err, errlen, name, line, msg);
	return doc;
}

struct jsonc_doc *
jsonc_parse_file(const char *path, char *err, size_t errlen)
{
	struct jsonc_doc	*doc;
	char			 msg[320], *buf;
	size_t			 len;
	int			 line = 0;

	if ((buf = jsonc_read(path, &len, msg, sizeof msg)) == NULL) {
		jsonc_format(err, errlen, path, 0, msg);
		return NULL;
	}
	doc = jsonc_parse(path, buf, len, &line, msg, sizeof msg);
	free(buf);
	if (doc == NULL)
		jsonc_format(err, errlen, path, line, msg);
	return doc;
}

struct jsonc_doc *
jsonc_parse_file_diag(const char *path, struct diags *d)
{
	struct jsonc_doc	*doc;
	char			 msg[320], *buf;
	size_t			 len;
	int			 line = 0;

	if ((buf = jsonc_read(path, &len, msg, sizeof msg)) == NULL) {
		diags_add(d, path, 0, "%s", msg);
		return NULL;
	}
	doc = jsonc_parse(path, buf, len, &line, msg, sizeof msg);
	free(buf);
	if (doc == NULL)
		diags_add(d, path, line, "%s", msg);
	return doc;
}

void
jsonc_free(struct jsonc_doc *doc)
{
	size_t i;

	if (doc == NULL)
		return;
	for (i = 0; i < doc->cap; i++)
		free(doc->tab[i].key);
	free(doc->tab);
	json_object_put(doc->root);
	free(doc->name);
	free(doc);
}

json_object *
jsonc_root(const struct jsonc_doc *doc)
{
	return doc->root;
}

const char *
jsonc_name(const struct jsonc_doc *doc)
{
	return doc->name;
}

int
jsonc_line(const struct jsonc_doc *doc, const json_object *obj)
{
	const struct jsonc_entry *e = jsonc_tab_get(doc, obj, NULL);

	return e != NULL ? e->line : 0;
}

int
jsonc_key_line(const struct jsonc_doc *doc, const json_object *parent,
    const char *key)
{
	const struct jsonc_entry *e;

	if (key == NULL)
		return 0;
	e = jsonc_tab_get(doc, parent, key);
	return e != NULL ? e->line : 0;
}

int
jsonc_member_line(const struct jsonc_doc *doc, const json_object *parent,
    const char *key)
{
	json_object	*val = NULL;
	int		 line = 0;

	if (parent != NULL && json_object_is_type(parent, json_type_object) &&
	    json_object_object_get_ex(parent, key, &val))
		line = jsonc_line(doc, val);
	if (line == 0)
		line = jsonc_key_line(doc, parent, key);
	if (line == 0)
		line = jsonc_line(doc, parent);
	return line;
}

/* "where.key", or "key" at the top level. */
static void
jsonc_path(char *buf, size_t len, const char *where, const char *key)
{
	if (where == NULL || *where == '\0')
		snprintf(buf, len, "%s", key);
	else
		snprintf(buf, len, "%s.%s", where, key);
}

int
jsonc_check_keys(const struct jsonc_doc *doc, json_object *obj,
    const char *where, const char *const *allowed, struct diags *d)
{
	const char	*const *a, *near;
	char		 hint[128];
	int		 n = 0;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return 0;
	json_object_object_foreach(obj, key, val) {
		(void)val;
		for (a = allowed; *a != NULL; a++) {
			if (strcmp(*a, key) == 0)
				break;
		}
		if (*a != NULL)
			continue;
		/* A typo is the usual reason: name the key meant. */
		hint[0] = '\0';
		if ((near = diags_suggest(key, allowed)) != NULL)
			snprintf(hint, sizeof hint, " (did you mean \"%s\"?)",
			    near);
		if (where == NULL || *where == '\0')
			diags_add(d, jsonc_name(doc), jsonc_key_line(doc, obj, key),
			    "unknown key \"%s\"%s", key, hint);
		else
			diags_add(d, jsonc_name(doc), jsonc_key_line(doc, obj, key),
			    "unknown key \"%s\" in %s%s", key, where, hint);
		n++;
	}
	return n;
}

/* Member lookup shared by the getters: 0 absent, 1 present. */
static int
jsonc_member(json_object *obj, const char *key, json_object **val)
{
	*val = NULL;
	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return 0;
	return json_object_object_get_ex(obj, key, val) ? 1 : 0;
}

int
jsonc_get_string(const struct jsonc_doc *doc, json_object *obj,
    const char *where, const char *key, const char **out, struct diags *d)
{
	json_object	*val;
	char		 path[256];

	if (!jsonc_member(obj, key, &val))
		return 0;
	jsonc_path(path, sizeof path, where, key);
	if (!json_object_is_type(val, json_type_string)) {
		diags_add(d, jsonc_name(doc), jsonc_member_line(doc, obj, key),
		    "%s: expected a string", path);
		return -1;
	}
	if (json_object_get_string_len(val) == 0) {
		diags_add(d, jsonc_name(doc), jsonc_member_line(doc, obj, key),
		    "%s: must not be empty", path);
		return -1;
	}
	if (strlen(json_object_get_string(val)) !=
	    (size_t)json_object_get_string_len(val)) {
		diags_add(d, jsonc_name(doc), jsonc_member_line(doc, obj, key),
		    "%s: must not contain \\u0000", path);
		return -1;
	}
	*out = json_object_get_string(val);
	return 1;
}

int
jsonc_get_int(const struct jsonc_doc *doc, json_object *obj, const char *where,
    const char *key, long long min, long long max, long long *out,
    struct diags *d)
{
	json_object	*val;
	char		 path[256];
	long long	 v;

	if (!jsonc_member(obj, key, &val))
		return 0;
	jsonc_path(path, sizeof path, where, key);
	if (!json_object_is_type(val, json_type_int)) {
		diags_add(d, jsonc_name(doc), jsonc_member_line(doc, obj, key),
		    "%s: expected an integer", path);
		return -1;
	}
	v = (long long)json_object_get_int64(val);
	if (v >= min && v <= max) {
		*out = v;
		return 1;
	}
	/* Name the bound that matters unless both are meaningful. */
	if (max < INT_MAX)
		diags_add(d, jsonc_name(doc), jsonc_member_line(doc, obj, key),
		    "%s: must be between %lld and %lld", path, min, max);
	else if (v > max)
		diags_add(d, jsonc_name(doc), jsonc_member_line(doc, obj, key),
		    "%s: must be at most %lld", path, max);
	else if (min == 0)
		diags_add(d, jsonc_name(doc), jsonc_member_line(doc, obj, key),
		    "%s: must not be negative", path);
	else
		diags_add(d, jsonc_name(doc), jsonc_member_line(doc, obj, key),
		    "%s: must be at least %lld", path, min);
	return -1;
}

int
jsonc_get_double(const struct jsonc_doc *doc, json_object *obj,
    const char *where, const char *key, double min, double max, double *out,
    struct diags *d)
{
	json_object	*val;
	char		 path[256];
	double		 v;

	if (!jsonc_member(obj, key, &val))
		return 0;
	jsonc_path(path, sizeof path, where, key);
	if (!json_object_is_type(val, json_type_int) &&
	    !json_object_is_type(val, json_type_double)) {
		diags_add(d, jsonc_name(doc), jsonc_member_line(doc, obj, key),
		    "%s: expected a number", path);
		return -1;
	}
	v = json_object_get_double(val);
	if (v >= min && v <= max) {
		*out = v;
		return 1;
	}
	if (!isinf(max) && max < 1e9)
		diags_add(d, jsonc_name(doc), jsonc_member_line(doc, obj, key),
		    "%s: must be between %g and %g", path, min, max);
	else if (v > max)
		diags_add(d, jsonc_name(doc), jsonc_member_line(doc, obj, key),
		    "%s: must be at most %g", path, max);
	else if (min == 0)
		diags_add(d, jsonc_name(doc), jsonc_member_line(doc, obj, key),
		    "%s: must not be negative", path);
	else
		diags_add(d, jsonc_name(doc), jsonc_member_line(doc, obj, key),
		    "%s: must be at least %g", path, min);
	return -1;
}

/* A member of one JSON type: 1 and *out, 0 when absent, -1 reported. */
static int
jsonc_get_typed(const struct jsonc_doc *doc, json_object *obj,
    const char *where, const char *key, json_type type, const char *what,
    json_object **out, struct diags *d)
{
	json_object	*val;
	char		 path[256];

	if (!jsonc_member(obj, key, &val))
		return 0;
	if (!json_object_is_type(val, type)) {
		jsonc_path(path, sizeof path, where, key);
		diags_add(d, jsonc_name(doc), jsonc_member_line(doc, obj, key),
		    "%s: expected %s", path, what);
		return -1;
	}
	*out = val;
	return 1;
}

int
jsonc_get_object(const struct jsonc_doc *doc, json_object *obj,
    const char *where, const char *key, json_object **out, struct diags *d)
{
	return jsonc_get_typed(doc, obj, where, key, json_type_object,
	    "an object", out, d);
}

int
jsonc_get_array(const struct jsonc_doc *doc, json_object *obj,
    const char *where, const char *key, json_object **out, struct diags *d)
{
	return jsonc_get_typed(doc, obj, where, key, json_type_array,
	    "an array", out, d);
}

int
jsonc_get_strings(const struct jsonc_doc *doc, json_object *obj,
    const char *where, const char *key, char ***out, size_t *np,
    struct diags *d)
{
	json_object	*val, *el;
	char		 path[256], **v = NULL;
	size_t		 n, i;
	int		 line;

	if (!jsonc_member(obj, key, &val))
		return 0;
	jsonc_path(path, sizeof path, where, key);
	line = jsonc_member_line(doc, obj, key);
	if (!json_object_is_type(val, json_type_array))
		goto bad;
	n = json_object_array_length(val);
	for (i = 0; i < n; i++) {
		el = json_object_array_get_idx(val, i);
		if (!json_object_is_type(el, json_type_string))
			goto bad;
		if (json_object_get_string_len(el) == 0 ||
		    strlen(json_object_get_string(el)) !=
		    (size_t)json_object_get_string_len(el)) {
			diags_add(d, jsonc_name(doc), jsonc_line(doc, el) ?
			    jsonc_line(doc, el) : line,
			    "%s[%zu]: must be a non-empty string", path, i);
			return -1;
		}
	}
	if ((v = calloc(n + 1, sizeof *v)) == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		el = json_object_array_get_idx(val, i);
		if ((v[i] = strdup(json_object_get_string(el))) == NULL) {
			jsonc_strings_free(v, i);
			goto oom;
		}
	}
	*out = v;
	*np = n;
	return 1;
bad:
	diags_add(d, jsonc_name(doc), line, "%s: expected an array of strings",
	    path);
	return -1;
oom:
	diags_add(d, jsonc_name(doc), line, "%s: out of memory", path);
	return -1;
}

void
jsonc_strings_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * Text from outside. json-c keeps a string's real length but hands it out
 * as a C string, and cuts object keys at a NUL while parsing: "E0010\u0000X"
 * would silently be "E0010". These refuse such text instead.
 */

int
jsonc_text_check(const void *buf, size_t len, char *err, size_t errlen)
{
	const unsigned char	*p = buf;
	const void		*bs;
	size_t			 i = 0;

	if (len > 0 && memchr(p, '\0', len) != NULL) {
		snprintf(err, errlen, "contains a NUL byte");
		return -1;
	}
	/*
	 * Every backslash starts an escape of at least two bytes, so "\\u0000"
	 * (a backslash, then the letters) is skipped as it should be. Outside
	 * strings a backslash is not JSON and the parser refuses it anyway.
	 */
	while (i < len && (bs = memchr(p + i, '\\', len - i)) != NULL) {
		i = (size_t)((const unsigned char *)bs - p);
		if (len - i >= 6 && memcmp(p + i + 1, "u0000", 5) == 0) {
			snprintf(err, errlen, "a string contains a NUL character "
			    "(\\u0000)");
			return -1;
		}
		i += 2;
	}
	return 0;
}

int
jsonc_utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s, *end = p + len;
	int			 n;

	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((n = jsonc_utf8_len(p, end)) == 0)
			return 0;
		p += n;
	}
	return 1;
}

int
jsonc_text(json_object *v, const char *name, int flags, const char **out,
    char *err, size_t errlen)
{
	const char	*s;
	size_t		 len;

	*out = NULL;
	if (v == NULL)
		return 0;	/* a JSON null */
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "%s must be a string", name);
		return -1;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len) {
		snprintf(err, errlen, "%s contains a NUL character (\\u0000)",
		    name);
		return -1;
	}
	if ((flags & JSONC_TEXT_ID) && !jsonc_utf8_valid(s, len)) {
		snprintf(err, errlen, "%s is not valid UTF-8", name);
		return -1;
	}
	*out = s;
	return 1;
}

int
jsonc_get_text(json_object *obj, const char *key, const char *name, int flags,
    const char **out, char *err, size_t errlen)
{
	json_object *v;

	*out = NULL;
	if (!jsonc_member(obj, key, &v))
		return 0;
	return jsonc_text(v, name != NULL ? name : key, flags, out, err,
	    errlen);
}

json_object *
jsonc_parse_whole(const void *buf, size_t len, char *err, size_t errlen)
{
	const unsigned char	*b = buf;
	json_tokener		*tok;
	json_object		*o;
	enum json_tokener_error	 e;
	size_t			 end, i;

	if (len > INT32_MAX) {
		snprintf(err, errlen, "not JSON: too long");
		return NULL;
	}
	if (jsonc_text_check(buf, len, err, errlen) != 0)
		return NULL;
	if ((tok = json_tokener_new_ex(32)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o = json_tokener_parse_ex(tok, buf, (int)len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (o == NULL || e != json_tokener_success) {
		if (e == json_tokener_continue || end >= len)
			snprintf(err, errlen, "not JSON: it ends at byte %zu "
			    "before the value does", len);
		else if (isprint(b[end]))
			snprintf(err, errlen, "not JSON at byte %zu ('%c'): %s",
			    end, b[end], json_tokener_error_desc(e));
		else
			snprintf(err, errlen, "not JSON at byte %zu (0x%02x): %s",
			    end, b[end], json_tokener_error_desc(e));
		if (o != NULL)
			json_object_put(o);
		o = NULL;
	} else {
		for (i = end; i < len; i++)
			if (!isspace(b[i])) {
				snprintf(err, errlen, "not JSON: more after the "
				    "value, at byte %zu", i);
				json_object_put(o);
				o = NULL;
				break;
			}
	}
	json_tokener_free(tok);
	return o;
}

void
jsonc_put_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v != NULL ? json_object_new_string(v) :
	    NULL);
}

void
jsonc_put_ms(json_object *o, const char *key, int64_t ms)
{
	json_object_object_add(o, key, ms > 0 ? json_object_new_int64(ms) : NULL);
}
