/*
 * sb_soql.c: the SOQL subset deprov-sandbox answers (SELECT fields FROM object [WHERE field
 * = | != | IN literal [AND ...]] [LIMIT n]) on User, UserLogin, OauthToken and the record types,
 * with Salesforce's error codes, served from the org's hash indexes, and query cursors: a query
 * larger than one page keeps its rendered rows as a snapshot that nextRecordsUrl locators page
 * through, as Salesforce's query locators do.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sandbox.h"

#define SOQL_MAX_FIELDS 32
#define SOQL_MAX_CONDS 16
#define SOQL_MAX_IN 2000
#define CURSOR_MAX 10000
#define CURSOR_MAX_BYTES ((size_t)512 << 20)
#define CURSOR_IDLE_MS (15 * 60 * 1000)
#define TOKEN_PAGE_MAX 500

enum soql_kind { K_USER, K_LOGIN, K_TOKEN, K_RECORD };
enum soql_ftype { FT_ID, FT_STR, FT_BOOL };
enum soql_fid {
	F_ID, F_USERNAME, F_EMAIL, F_FEDID, F_ISACTIVE, F_ISFROZEN, F_USERID, F_APPNAME,
	F_DELETETOKEN, F_OWNERID, F_NAME, F_NFIELDS
};
enum soql_op { OP_EQ, OP_NE, OP_IN, OP_NOTIN };
enum soql_tok { T_EOF, T_IDENT, T_STRING, T_NUMBER, T_COMMA, T_EQ, T_NE, T_LPAREN, T_RPAREN,
	T_OTHER };

static const struct {
	const char *name;
	enum soql_ftype type;
	unsigned kinds; /* bit per enum soql_kind */
} fields[F_NFIELDS] = {
	[F_ID] = { "Id", FT_ID, 0xf },
	[F_USERNAME] = { "Username", FT_STR, 1u << K_USER },
	[F_EMAIL] = { "Email", FT_STR, 1u << K_USER },
	[F_FEDID] = { "FederationIdentifier", FT_STR, 1u << K_USER },
	[F_ISACTIVE] = { "IsActive", FT_BOOL, 1u << K_USER },
	[F_ISFROZEN] = { "IsFrozen", FT_BOOL, 1u << K_LOGIN },
	[F_USERID] = { "UserId", FT_ID, (1u << K_LOGIN) | (1u << K_TOKEN) },
	[F_APPNAME] = { "AppName", FT_STR, 1u << K_TOKEN },
	[F_DELETETOKEN] = { "DeleteToken", FT_STR, 1u << K_TOKEN },
	[F_OWNERID] = { "OwnerId", FT_ID, 1u << K_RECORD },
	[F_NAME] = { "Name", FT_STR, (1u << K_USER) | (1u << K_RECORD) },
};

struct soql_lit {
	int isnull;
	int isbool;
	int b;
	char *s;
};

struct soql_cond {
	enum soql_fid field;
	enum soql_op op;
	struct soql_lit *vals;
	size_t nvals;
};

struct soql_lexer {
	const char *q;
	size_t pos;
	/* the current token */
	enum soql_tok tok;
	size_t start, len;
	char *str; /* decoded string literal */
};

struct soql_query {
	enum soql_kind kind;
	struct sb_type *type;
	const char *objname;
	enum soql_fid fields[SOQL_MAX_FIELDS];
	size_t nfields;
	struct soql_cond conds[SOQL_MAX_CONDS];
	size_t nconds;
	int64_t limit; /* -1 none */
};

/* Rendered rows: rows[i] is text[off[i] .. off[i + 1]). */
struct soql_rows {
	struct sb_buf text;
	size_t *off;
	size_t n, cap;
};

struct soql_cursor {
	char id[SB_ID_LEN + 1];
	struct soql_rows rows;
	size_t page;
	int64_t used_ms;
	struct soql_cursor *prev, *next;
};

struct soql_cursors {
	struct sb_map by_id;
	struct soql_cursor *head, *tail; /* oldest first */
	size_t count, bytes;
	uint64_t serial;
};

static void soql_fail(struct soql_err *err, const char *code, const char *q, size_t pos,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int lex_next(struct soql_lexer *lx, struct soql_err *err);
static int lex_kw(const struct soql_lexer *lx, const char *kw);
static int parse_query(struct sb_org *org, const char *q, struct soql_query *sq,
    struct soql_err *err);
static int parse_cond(struct soql_lexer *lx, struct soql_query *sq, struct soql_err *err);
static int parse_lit(struct soql_lexer *lx, const struct soql_query *sq, enum soql_fid f,
    struct soql_lit *lit, struct soql_err *err);
static int resolve_field(const struct soql_query *sq, const char *name, size_t len,
    enum soql_fid *out);
static void query_free(struct soql_query *sq);
static int obj_get(enum soql_kind kind, const void *obj, enum soql_fid f, const char **s, int *b);
static const char *obj_id(enum soql_kind kind, const void *obj);
static int cond_match(const struct soql_cond *c, enum soql_kind kind, const void *obj);
static int obj_match(const struct soql_query *sq, const void *obj);
static int rows_add(struct soql_rows *rows, const struct soql_query *sq, const char *version,
    const void *obj);
static void rows_free(struct soql_rows *rows);
static int run_query(struct sb_org *org, const struct soql_query *sq, const char *version,
    struct soql_rows *rows, const void **first);
static int emit(struct soql_rows *rows, const struct soql_query *sq, const char *version,
    const void *obj, const void **first);
static void write_page(const struct soql_rows *rows, size_t from, size_t page,
    const char *version, const char *cursor, struct sb_buf *out);
static void cursor_free(struct soql_cursors *c, struct soql_cursor *cur);
static void cursors_sweep(struct soql_cursors *c);
static void query_user(struct sb_org *org, const struct soql_query *sq, char *user);

/* Salesforce's query error text: the query, a caret under the position, the message. */
static void
soql_fail(struct soql_err *err, const char *code, const char *q, size_t pos, const char *fmt, ...)
{
	size_t row = 1, col = 1, i, n;
	va_list ap;
	int w;

	for (i = 0; i < pos && q[i] != '\0'; i++) {
		if (q[i] == '\n') {
			row++;
			col = 1;
		} else {
			col++;
		}
	}
	err->code = code;
	w = snprintf(err->msg, sizeof err->msg, "\n%.*s\n%*s^\nERROR at Row:%zu:Column:%zu\n",
	    (int)(strlen(q) > 400 ? 400 : strlen(q)), q, (int)(col > 400 ? 0 : col - 1), "", row,
	    col);
	n = w < 0 ? 0 : (size_t)w >= sizeof err->msg ? sizeof err->msg - 1 : (size_t)w;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof err->msg - n, fmt, ap);
	va_end(ap);
}

static int
lex_kw(const struct soql_lexer *lx, const char *kw)
{
	return lx->tok == T_IDENT && strlen(kw) == lx->len &&
	    strncasecmp(lx->q + lx->start, kw, lx->len) == 0;
}

/* Advance to the next token; string literals are decoded into lx->str. */
static int
lex_next(struct soql_lexer *lx, struct soql_err *err)
{
	const char *q = lx->q;
	size_t p = lx->pos;

	free(lx->str);
	lx->str = NULL;
	while (q[p] != '\0' && isspace((unsigned char)q[p]))
		p++;
	lx->start = p;
	if (q[p] == '\0') {
		lx->tok = T_EOF;
	} else if (isalpha((unsigned char)q[p]) || q[p] == '_') {
		while (isalnum((unsigned char)q[p]) || q[p] == '_' || q[p] == '.')
			p++;
		lx->tok = T_IDENT;
	} else if (isdigit((unsigned char)q[p]) || (q[p] == '-' && isdigit((unsigned char)q[p + 1]))) {
		p++;
		while (isdigit((unsigned char)q[p]) || q[p] == '.')
			p++;
		lx->tok = T_NUMBER;
	} else if (q[p] == '\'') {
		struct sb_buf s = { 0 };
		p++;
		for (;;) {
			char c = q[p];
			if (c == '\0') {
				sb_buf_free(&s);
				soql_fail(err, "MALFORMED_QUERY", q, lx->start,
				    "line 1:%zu no viable alternative at character ' '",
				    lx->start + 1);
				return -1;
			}
			if (c == '\'') {
				p++;
				break;
			}
			if (c == '\\') {
				char e = q[p + 1];
				const char *rep = NULL;
				switch (e) {
				case '\'': rep = "'"; break;
				case '"': rep = "\""; break;
				case '\\': rep = "\\"; break;
				case 'n': rep = "\n"; break;
				case 'r': rep = "\r"; break;
				case 't': rep = "\t"; break;
				case 'b': rep = "\b"; break;
				case 'f': rep = "\f"; break;
				case '_': rep = "\\_"; break;
				case '%': rep = "\\%"; break;
				default:
					sb_buf_free(&s);
					soql_fail(err, "MALFORMED_QUERY", q, p,
					    "Invalid string literal '%.*s'. Illegal character sequence "
					    "'\\%c' in string literal.", (int)(p + 1 - lx->start),
					    q + lx->start + 1, e == '\0' ? ' ' : e);
					return -1;
				}
				sb_buf_puts(&s, rep);
				p += 2;
				continue;
			}
			sb_buf_putc(&s, c);
			p++;
		}
		if (s.oom) {
			sb_buf_free(&s);
			soql_fail(err, "MALFORMED_QUERY", q, lx->start, "string literal too long");
			return -1;
		}
		lx->str = s.p != NULL ? s.p : sb_strdup("");
		if (lx->str == NULL) {
			soql_fail(err, "MALFORMED_QUERY", q, lx->start, "out of memory");
			return -1;
		}
		lx->tok = T_STRING;
	} else if (q[p] == ',') {
		p++;
		lx->tok = T_COMMA;
	} else if (q[p] == '=') {
		p++;
		lx->tok = T_EQ;
	} else if ((q[p] == '!' && q[p + 1] == '=') || (q[p] == '<' && q[p + 1] == '>')) {
		p += 2;
		lx->tok = T_NE;
	} else if (q[p] == '(') {
		p++;
		lx->tok = T_LPAREN;
	} else if (q[p] == ')') {
		p++;
		lx->tok = T_RPAREN;
	} else {
		p++;
		lx->tok = T_OTHER;
	}
	lx->len = p - lx->start;
	lx->pos = p;
	return 0;
}

static int
resolve_field(const struct soql_query *sq, const char *name, size_t len, enum soql_fid *out)
{
	int f;

	for (f = 0; f < F_NFIELDS; f++) {
		if (strlen(fields[f].name) == len && strncasecmp(fields[f].name, name, len) == 0 &&
		    (fields[f].kinds & (1u << sq->kind)) != 0) {
			*out = (enum soql_fid)f;
			return 0;
		}
	}
	return -1;
}

static void
query_free(struct soql_query *sq)
{
	size_t i, j;

	for (i = 0; i < sq->nconds; i++) {
		for (j = 0; j < sq->conds[i].nvals; j++)
			free(sq->conds[i].vals[j].s);
		free(sq->conds[i].vals);
	}
	sq->nconds = 0;
}

/* One literal for field f: a string, true/false or null, type-checked as Salesforce does. */
static int
parse_lit(struct soql_lexer *lx, const struct soql_query *sq, enum soql_fid f,
    struct soql_lit *lit, struct soql_err *err)
{
	memset(lit, 0, sizeof *lit);
	if (lex_kw(lx, "null")) {
		lit->isnull = 1;
	} else if (lex_kw(lx, "true") || lex_kw(lx, "false")) {
		if (fields[f].type != FT_BOOL) {
			soql_fail(err, "INVALID_FIELD", lx->q, lx->start,
			    "value of filter criterion for field '%s' must be of type %s and should "
			    "be enclosed in quotes", fields[f].name,
			    fields[f].type == FT_ID ? "id" : "string");
			return -1;
		}
		lit->isbool = 1;
		lit->b = lex_kw(lx, "true");
	} else if (lx->tok == T_STRING) {
		if (fields[f].type == FT_BOOL) {
			soql_fail(err, "INVALID_FIELD", lx->q, lx->start,
			    "value of filter criterion for field '%s' must be of type boolean and "
			    "should not be enclosed in quotes", fields[f].name);
			return -1;
		}
		if (fields[f].type == FT_ID && !sb_id_valid(lx->str)) {
			soql_fail(err, "INVALID_QUERY_FILTER_OPERATOR", lx->q, lx->start,
			    "invalid ID field: %s", lx->str);
			return -1;
		}
		lit->s = lx->str;
		lx->str = NULL; /* the literal owns the string now */
	} else {
		soql_fail(err, "MALFORMED_QUERY", lx->q, lx->start, "unexpected token: '%.*s'",
		    (int)lx->len, lx->q + lx->start);
		return -1;
	}
	return lex_next(lx, err);
}

static int
parse_cond(struct soql_lexer *lx, struct soql_query *sq, struct soql_err *err)
{
	struct soql_cond *c;
	enum soql_fid f;

	if (lx->tok != T_IDENT) {
		soql_fail(err, "MALFORMED_QUERY", lx->q, lx->start, "unexpected token: '%.*s'",
		    (int)lx->len, lx->q + lx->start);
		return -1;
	}
	if (resolve_field(sq, lx->q + lx->start, lx->len, &f) == -1) {
		soql_fail(err, "INVALID_FIELD", lx->q, lx->start,
		    "No such column '%.*s' on entity '%s'. If you are attempting to use a custom "
		    "field, be sure to append the '__c' after the custom field name. Please "
		    "reference your WSDL or the describe call for the appropriate names.",
		    (int)lx->len, lx->q + lx->start, sq->objname);
		return -1;
	}
	if (sq->nconds == SOQL_MAX_CONDS) {
		soql_fail(err, "MALFORMED_QUERY", lx->q, lx->start, "too many conditions");
		return -1;
	}
	c = &sq->conds[sq->nconds++];
	memset(c, 0, sizeof *c);
	c->field = f;
	if (lex_next(lx, err) == -1)
		return -1;
	if (lx->tok == T_EQ || lx->tok == T_NE) {
		c->op = lx->tok == T_EQ ? OP_EQ : OP_NE;
		if ((c->vals = calloc(1, sizeof *c->vals)) == NULL)
			goto oom;
		c->nvals = 1;
		if (lex_next(lx, err) == -1)
			return -1;
		return parse_lit(lx, sq, f, &c->vals[0], err);
	}
	c->op = OP_IN;
	if (lex_kw(lx, "NOT")) {
		c->op = OP_NOTIN;
		if (lex_next(lx, err) == -1)
			return -1;
	}
	if (!lex_kw(lx, "IN")) {
		soql_fail(err, "MALFORMED_QUERY", lx->q, lx->start, "unexpected token: '%.*s'",
		    (int)lx->len, lx->q + lx->start);
		return -1;
	}
	if (lex_next(lx, err) == -1)
		return -1;
	if (lx->tok != T_LPAREN) {
		soql_fail(err, "MALFORMED_QUERY", lx->q, lx->start, "unexpected token: '%.*s'",
		    (int)lx->len, lx->q + lx->start);
		return -1;
	}
	for (;;) {
		if (lex_next(lx, err) == -1)
			return -1;
		if (c->nvals == SOQL_MAX_IN) {
			soql_fail(err, "MALFORMED_QUERY", lx->q, lx->start, "too many IN values");
			return -1;
		}
		{
			struct soql_lit *nv = realloc(c->vals, (c->nvals + 1) * sizeof *nv);
			if (nv == NULL)
				goto oom;
			c->vals = nv;
		}
		if (parse_lit(lx, sq, f, &c->vals[c->nvals], err) == -1)
			return -1;
		c->nvals++;
		if (lx->tok == T_RPAREN)
			break;
		if (lx->tok != T_COMMA) {
			soql_fail(err, "MALFORMED_QUERY", lx->q, lx->start,
			    "unexpected token: '%.*s'", (int)lx->len, lx->q + lx->start);
			return -1;
		}
	}
	return lex_next(lx, err);
oom:
	soql_fail(err, "MALFORMED_QUERY", lx->q, lx->start, "out of memory");
	return -1;
}

static int
parse_query(struct sb_org *org, const char *q, struct soql_query *sq, struct soql_err *err)
{
	struct soql_lexer lx = { .q = q };
	size_t fstart[SOQL_MAX_FIELDS], flen[SOQL_MAX_FIELDS], n = 0, i, j;
	int rc = -1;

	memset(sq, 0, sizeof *sq);
	sq->limit = -1;
	if (lex_next(&lx, err) == -1)
		goto done;
	if (!lex_kw(&lx, "SELECT")) {
		soql_fail(err, "MALFORMED_QUERY", q, lx.start, "unexpected token: '%.*s'",
		    (int)lx.len, q + lx.start);
		goto done;
	}
	for (;;) {
		if (lex_next(&lx, err) == -1)
			goto done;
		if (lx.tok != T_IDENT || lex_kw(&lx, "FROM")) {
			soql_fail(err, "MALFORMED_QUERY", q, lx.start, "unexpected token: '%.*s'",
			    (int)lx.len, q + lx.start);
			goto done;
		}
		if (n == SOQL_MAX_FIELDS) {
			soql_fail(err, "MALFORMED_QUERY", q, lx.start, "too many fields");
			goto done;
		}
		fstart[n] = lx.start;
		flen[n++] = lx.len;
		if (lex_next(&lx, err) == -1)
			goto done;
		if (lx.tok != T_COMMA)
			break;
	}
	if (!lex_kw(&lx, "FROM")) {
		soql_fail(err, "MALFORMED_QUERY", q, lx.start, "unexpected token: '%.*s'",
		    (int)lx.len, q + lx.start);
		goto done;
	}
	if (lex_next(&lx, err) == -1)
		goto done;
	if (lx.tok != T_IDENT) {
		soql_fail(err, "MALFORMED_QUERY", q, lx.start, "unexpected token: '%.*s'",
		    (int)lx.len, q + lx.start);
		goto done;
	}
	{
		char name[128];
		snprintf(name, sizeof name, "%.*s", (int)(lx.len < 127 ? lx.len : 127), q + lx.start);
		if (strcasecmp(name, "User") == 0) {
			sq->kind = K_USER;
			sq->objname = "User";
		} else if (strcasecmp(name, "UserLogin") == 0) {
			sq->kind = K_LOGIN;
			sq->objname = "UserLogin";
		} else if (strcasecmp(name, "OauthToken") == 0) {
			sq->kind = K_TOKEN;
			sq->objname = "OauthToken";
		} else if ((sq->type = org_type(org, name)) != NULL) {
			sq->kind = K_RECORD;
			sq->objname = sq->type->name;
		} else {
			soql_fail(err, "INVALID_TYPE", q, lx.start,
			    "sObject type '%s' is not supported. If you are attempting to use a "
			    "custom object, be sure to append the '__c' after the entity name. Please "
			    "reference your WSDL or the describe call for the appropriate names.",
			    name);
			goto done;
		}
	}
	for (i = 0; i < n; i++) {
		if (resolve_field(sq, q + fstart[i], flen[i], &sq->fields[i]) == -1) {
			soql_fail(err, "INVALID_FIELD", q, fstart[i],
			    "No such column '%.*s' on entity '%s'. If you are attempting to use a "
			    "custom field, be sure to append the '__c' after the custom field name. "
			    "Please reference your WSDL or the describe call for the appropriate "
			    "names.", (int)flen[i], q + fstart[i], sq->objname);
			goto done;
		}
		for (j = 0; j < i; j++) {
			if (sq->fields[j] == sq->fields[i]) {
				soql_fail(err, "MALFORMED_QUERY", q, fstart[i],
				    "duplicate field selected: %s", fields[sq->fields[i]].name);
				goto done;
			}
		}
	}
	sq->nfields = n;
	if (lex_next(&lx, err) == -1)
		goto done;
	if (lex_kw(&lx, "WHERE")) {
		do {
			if (lex_next(&lx, err) == -1 || parse_cond(&lx, sq, err) == -1)
				goto done;
		} while (lex_kw(&lx, "AND"));
	}
	if (lex_kw(&lx, "LIMIT")) {
		char *end;
		long long v;
		if (lex_next(&lx, err) == -1)
			goto done;
		v = lx.tok == T_NUMBER ? strtoll(q + lx.start, &end, 10) : -1;
		if (lx.tok != T_NUMBER || v < 0 || end != q + lx.start + lx.len) {
			soql_fail(err, "MALFORMED_QUERY", q, lx.start, "unexpected token: '%.*s'",
			    (int)lx.len, q + lx.start);
			goto done;
		}
		sq->limit = v;
		if (lex_next(&lx, err) == -1)
			goto done;
	}
	if (lx.tok != T_EOF) {
		soql_fail(err, "MALFORMED_QUERY", q, lx.start, "unexpected token: '%.*s'",
		    (int)lx.len, q + lx.start);
		goto done;
	}
	rc = 0;
done:
	free(lx.str);
	if (rc == -1)
		query_free(sq);
	return rc;
}

/* Field f of an object: 0 with *s set (NULL for null) for text, 1 with *b for booleans. */
static int
obj_get(enum soql_kind kind, const void *obj, enum soql_fid f, const char **s, int *b)
{
	*s = NULL;
	*b = 0;
	switch (kind) {
	case K_USER: {
		const struct sb_user *u = obj;
		switch (f) {
		case F_ID: *s = u->id; break;
		case F_USERNAME: *s = u->username; break;
		case F_EMAIL: *s = u->email; break;
		case F_FEDID: *s = u->fedid; break;
		case F_NAME: *s = u->name; break;
		case F_ISACTIVE: *b = u->active; return 1;
		default: break;
		}
		break;
	}
	case K_LOGIN: {
		const struct sb_login *l = obj;
		switch (f) {
		case F_ID: *s = l->id; break;
		case F_USERID: *s = l->user->id; break;
		case F_ISFROZEN: *b = l->frozen; return 1;
		default: break;
		}
		break;
	}
	case K_TOKEN: {
		const struct sb_token *t = obj;
		switch (f) {
		case F_ID: *s = t->id; break;
		case F_USERID: *s = t->user->id; break;
		case F_APPNAME: *s = t->app; break;
		case F_DELETETOKEN: *s = t->dtoken; break;
		default: break;
		}
		break;
	}
	case K_RECORD: {
		const struct sb_record *r = obj;
		switch (f) {
		case F_ID: *s = r->id; break;
		case F_OWNERID: *s = r->owner; break;
		case F_NAME: *s = r->name; break;
		default: break;
		}
		break;
	}
	}
	return 0;
}

static const char *
obj_id(enum soql_kind kind, const void *obj)
{
	const char *s;
	int b;

	obj_get(kind, obj, F_ID, &s, &b);
	return s;
}

static int
cond_match(const struct soql_cond *c, enum soql_kind kind, const void *obj)
{
	const char *s;
	int b, isbool, hit = 0;
	size_t i;

	isbool = obj_get(kind, obj, c->field, &s, &b);
	for (i = 0; i < c->nvals && !hit; i++) {
		const struct soql_lit *v = &c->vals[i];
		if (v->isnull)
			hit = !isbool && s == NULL;
		else if (isbool)
			hit = v->isbool && v->b == b;
		else if (s == NULL || v->s == NULL)
			hit = 0;
		else if (fields[c->field].type == FT_ID)
			hit = sb_id_eq(s, v->s);
		else
			hit = strcasecmp(s, v->s) == 0;
	}
	return (c->op == OP_EQ || c->op == OP_IN) ? hit : !hit;
}

static int
obj_match(const struct soql_query *sq, const void *obj)
{
	size_t i;

	for (i = 0; i < sq->nconds; i++)
		if (!cond_match(&sq->conds[i], sq->kind, obj))
			return 0;
	return 1;
}

/* Render one row: attributes, then the selected fields in query order. */
static int
rows_add(struct soql_rows *rows, const struct soql_query *sq, const char *version,
    const void *obj)
{
	struct sb_buf *b = &rows->text;
	size_t i;

	if (rows->n + 2 > rows->cap) {
		size_t ncap = rows->cap == 0 ? 64 : rows->cap * 2;
		size_t *no = realloc(rows->off, ncap * sizeof *no);
		if (no == NULL)
			return -1;
		rows->off = no;
		rows->cap = ncap;
	}
	rows->off[rows->n] = b->len;
	sb_buf_printf(b, "{\"attributes\":{\"type\":\"%s\",\"url\":\"/services/data/%s/sobjects/%s/%s\"}",
	    sq->objname, version, sq->objname, obj_id(sq->kind, obj));
	for (i = 0; i < sq->nfields; i++) {
		const char *s;
		int bv;

		sb_buf_printf(b, ",\"%s\":", fields[sq->fields[i]].name);
		if (obj_get(sq->kind, obj, sq->fields[i], &s, &bv))
			sb_buf_puts(b, bv ? "true" : "false");
		else
			sb_buf_jstr(b, s);
	}
	sb_buf_putc(b, '}');
	if (b->oom)
		return -1;
	rows->n++;
	rows->off[rows->n] = b->len;
	return 0;
}

static void
rows_free(struct soql_rows *rows)
{
	sb_buf_free(&rows->text);
	free(rows->off);
	memset(rows, 0, sizeof *rows);
}

/* Add obj when it matches and the LIMIT allows: 1 to go on, 0 when full, -1 on error. */
static int
emit(struct soql_rows *rows, const struct soql_query *sq, const char *version, const void *obj,
    const void **first)
{
	if (sq->limit >= 0 && rows->n >= (size_t)sq->limit)
		return 0;
	if (!obj_match(sq, obj))
		return 1;
	if (rows->n == 0)
		*first = obj;
	if (rows_add(rows, sq, version, obj) == -1)
		return -1;
	return sq->limit >= 0 && rows->n >= (size_t)sq->limit ? 0 : 1;
}

/* Run sq: pick an index from an = / IN condition, else scan; render the matching rows. */
static int
run_query(struct sb_org *org, const struct soql_query *sq, const char *version,
    struct soql_rows *rows, const void **first)
{
	const struct soql_cond *ix = NULL;
	size_t i, v, pos;
	int rc = 1;

	for (i = 0; i < sq->nconds && ix == NULL; i++) {
		const struct soql_cond *c = &sq->conds[i];
		if (c->op != OP_EQ && c->op != OP_IN)
			continue;
		switch (sq->kind) {
		case K_USER:
			if (c->field == F_ID || c->field == F_USERNAME || c->field == F_EMAIL ||
			    c->field == F_FEDID)
				ix = c;
			break;
		case K_LOGIN:
			if (c->field == F_ID || c->field == F_USERID)
				ix = c;
			break;
		case K_TOKEN:
			if (c->field == F_ID || c->field == F_USERID || c->field == F_DELETETOKEN)
				ix = c;
			break;
		case K_RECORD:
			if (c->field == F_ID || c->field == F_OWNERID)
				ix = c;
			break;
		}
	}
	if (ix == NULL) {
		switch (sq->kind) {
		case K_USER:
			for (i = 0; i < org->nusers && rc > 0; i++)
				rc = emit(rows, sq, version, org->users[i], first);
			break;
		case K_LOGIN:
			for (i = 0; i < org->nusers && rc > 0; i++)
				rc = emit(rows, sq, version, &org->users[i]->login, first);
			break;
		case K_TOKEN: {
			const struct sb_token *t;
			for (t = org->thead; t != NULL && rc > 0; t = t->gnext)
				rc = emit(rows, sq, version, t, first);
			break;
		}
		case K_RECORD: {
			const struct sb_record *r;
			for (r = sq->type->head; r != NULL && rc > 0; r = r->tnext)
				rc = emit(rows, sq, version, r, first);
			break;
		}
		}
		return rc < 0 ? -1 : 0;
	}
	for (v = 0; v < ix->nvals && rc > 0; v++) {
		const char *key = ix->vals[v].s;
		size_t w;
		int dup = 0;

		if (key == NULL)
			continue; /* null matches no indexed row */
		for (w = 0; w < v && !dup; w++)
			dup = ix->vals[w].s != NULL && (fields[ix->field].type == FT_ID ?
			    sb_id_eq(ix->vals[w].s, key) : strcasecmp(ix->vals[w].s, key) == 0);
		if (dup)
			continue;
		switch (sq->kind) {
		case K_USER: {
			const struct sb_map *m = ix->field == F_ID ? &org->users_by_id :
			    ix->field == F_USERNAME ? &org->users_by_username :
			    ix->field == F_EMAIL ? &org->users_by_email : &org->users_by_fedid;
			const struct sb_user *u;
			pos = 0;
			while (rc > 0 && (u = sb_map_next(m, key, &pos)) != NULL)
				rc = emit(rows, sq, version, u, first);
			break;
		}
		case K_LOGIN: {
			const void *obj = NULL;
			if (ix->field == F_ID) {
				obj = org_login_by_id(org, key);
			} else {
				const struct sb_user *u = org_user_by_id(org, key);
				obj = u != NULL ? &u->login : NULL;
			}
			if (obj != NULL)
				rc = emit(rows, sq, version, obj, first);
			break;
		}
		case K_TOKEN: {
			if (ix->field == F_USERID) {
				const struct sb_user *u = org_user_by_id(org, key);
				const struct sb_token *t;
				for (t = u != NULL ? u->thead : NULL; t != NULL && rc > 0; t = t->unext)
					rc = emit(rows, sq, version, t, first);
			} else {
				const struct sb_token *t = ix->field == F_ID ?
				    org_token_by_id(org, key) : org_token_by_dtoken(org, key);
				if (t != NULL)
					rc = emit(rows, sq, version, t, first);
			}
			break;
		}
		case K_RECORD: {
			if (ix->field == F_ID) {
				const struct sb_record *r = org_record_by_id(org, key);
				if (r != NULL && r->type == sq->type)
					rc = emit(rows, sq, version, r, first);
			} else {
				const struct sb_olist *ol = org_owned(sq->type, key);
				const struct sb_record *r;
				for (r = ol != NULL ? ol->head : NULL; r != NULL && rc > 0; r = r->onext)
					rc = emit(rows, sq, version, r, first);
			}
			break;
		}
		}
	}
	return rc < 0 ? -1 : 0;
}

/* {"totalSize","done","nextRecordsUrl"?,"records":[rows from .. from+page)]} */
static void
write_page(const struct soql_rows *rows, size_t from, size_t page, const char *version,
    const char *cursor, struct sb_buf *out)
{
	size_t end = from + page < rows->n ? from + page : rows->n, i;

	sb_buf_printf(out, "{\"totalSize\":%zu,\"done\":%s,", rows->n, end < rows->n ? "false" : "true");
	if (end < rows->n)
		sb_buf_printf(out, "\"nextRecordsUrl\":\"/services/data/%s/query/%s-%zu\",", version,
		    cursor, end);
	sb_buf_puts(out, "\"records\":[");
	for (i = from; i < end; i++) {
		if (i > from)
			sb_buf_putc(out, ',');
		sb_buf_put(out, rows->text.p + rows->off[i], rows->off[i + 1] - rows->off[i]);
	}
	sb_buf_puts(out, "]}");
}

struct soql_cursors *
soql_cursors_new(void)
{
	struct soql_cursors *c = calloc(1, sizeof *c);

	if (c != NULL)
		sb_map_init(&c->by_id, 0, 0);
	return c;
}

static void
cursor_free(struct soql_cursors *c, struct soql_cursor *cur)
{
	sb_map_del(&c->by_id, cur->id, cur);
	if (cur->prev != NULL)
		cur->prev->next = cur->next;
	else
		c->head = cur->next;
	if (cur->next != NULL)
		cur->next->prev = cur->prev;
	else
		c->tail = cur->prev;
	c->count--;
	c->bytes -= cur->rows.text.cap + cur->rows.cap * sizeof(size_t);
	rows_free(&cur->rows);
	free(cur);
}

void
soql_cursors_clear(struct soql_cursors *c)
{
	while (c->head != NULL)
		cursor_free(c, c->head);
}

void
soql_cursors_free(struct soql_cursors *c)
{
	if (c == NULL)
		return;
	soql_cursors_clear(c);
	sb_map_free(&c->by_id);
	free(c);
}

/* Drop cursors idle for too long, then the oldest while over the count or memory caps. */
static void
cursors_sweep(struct soql_cursors *c)
{
	int64_t now = sb_mono_ms();
	struct soql_cursor *cur, *next;

	for (cur = c->head; cur != NULL; cur = next) {
		next = cur->next;
		if (now - cur->used_ms > CURSOR_IDLE_MS)
			cursor_free(c, cur);
	}
	while (c->head != NULL && (c->count >= CURSOR_MAX || c->bytes > CURSOR_MAX_BYTES))
		cursor_free(c, c->head);
}

/* The user a condition list names: UserId=, OwnerId= or, on User, Id=. */
static void
query_user(struct sb_org *org, const struct soql_query *sq, char *user)
{
	size_t i;

	user[0] = '\0';
	for (i = 0; i < sq->nconds; i++) {
		const struct soql_cond *c = &sq->conds[i];
		if (c->op != OP_EQ || c->vals[0].s == NULL)
			continue;
		if (c->field == F_USERID || c->field == F_OWNERID ||
		    (c->field == F_ID && sq->kind == K_USER)) {
			const struct sb_user *u = org_user_by_id(org, c->vals[0].s);
			snprintf(user, SB_ID_LEN + 1, "%s", u != NULL ? u->id : c->vals[0].s);
			return;
		}
	}
}

void
soql_peek_user(struct sb_org *org, const char *soql, char *user)
{
	struct soql_query sq;
	struct soql_err err;

	user[0] = '\0';
	if (parse_query(org, soql, &sq, &err) == -1)
		return;
	query_user(org, &sq, user);
	query_free(&sq);
}

int
soql_query(struct sb_org *org, struct soql_cursors *cur, const char *version, const char *soql,
    size_t page, struct sb_buf *out, struct soql_info *info, struct soql_err *err)
{
	struct soql_query sq;
	struct soql_rows rows = { 0 };
	const void *first = NULL;
	int rc = -1;

	info->user[0] = '\0';
	if (parse_query(org, soql, &sq, err) == -1)
		return -1;
	/* who the query is about, for the request log */
	query_user(org, &sq, info->user);
	if (run_query(org, &sq, version, &rows, &first) == -1) {
		soql_fail(err, "QUERY_TIMEOUT", soql, 0, "out of memory");
		goto done;
	}
	if (info->user[0] == '\0' && sq.kind == K_USER && rows.n == 1 && sq.nconds > 0)
		snprintf(info->user, sizeof info->user, "%s", ((const struct sb_user *)first)->id);
	if (sq.kind == K_TOKEN && page > TOKEN_PAGE_MAX)
		page = TOKEN_PAGE_MAX;
	if (page == 0)
		page = 1;
	if (rows.n <= page) {
		write_page(&rows, 0, page, version, NULL, out);
	} else {
		struct soql_cursor *c;

		cursors_sweep(cur);
		if ((c = calloc(1, sizeof *c)) == NULL) {
			soql_fail(err, "QUERY_TIMEOUT", soql, 0, "out of memory");
			goto done;
		}
		cur->serial++;
		snprintf(c->id, sizeof c->id, "01g%012" PRIu64 "AAA", (uint64_t)(cur->serial % 1000000000000ULL));
		if (sb_map_put(&cur->by_id, c->id, c) == -1) {
			free(c);
			soql_fail(err, "QUERY_TIMEOUT", soql, 0, "out of memory");
			goto done;
		}
		c->rows = rows; /* the cursor owns the rows now */
		memset(&rows, 0, sizeof rows);
		c->page = page;
		c->used_ms = sb_mono_ms();
		c->prev = cur->tail;
		if (cur->tail != NULL)
			cur->tail->next = c;
		else
			cur->head = c;
		cur->tail = c;
		cur->count++;
		cur->bytes += c->rows.text.cap + c->rows.cap * sizeof(size_t);
		write_page(&c->rows, 0, page, version, c->id, out);
	}
	rc = 0;
done:
	rows_free(&rows);
	query_free(&sq);
	return rc;
}

int
soql_more(struct soql_cursors *cur, const char *version, const char *locator, size_t page,
    struct sb_buf *out, struct soql_err *err)
{
	const char *dash = strrchr(locator, '-');
	char id[SB_ID_LEN + 1];
	struct soql_cursor *c = NULL;
	unsigned long long off = 0;
	char *end = NULL;

	if (dash != NULL && (size_t)(dash - locator) == SB_ID_LEN && isdigit((unsigned char)dash[1])) {
		memcpy(id, locator, SB_ID_LEN);
		id[SB_ID_LEN] = '\0';
		off = strtoull(dash + 1, &end, 10);
		if (*end == '\0')
			c = sb_map_get(&cur->by_id, id);
	}
	if (c != NULL && sb_mono_ms() - c->used_ms > CURSOR_IDLE_MS) {
		cursor_free(cur, c);
		c = NULL;
	}
	if (c == NULL || off > c->rows.n) {
		err->code = "INVALID_QUERY_LOCATOR";
		snprintf(err->msg, sizeof err->msg, "invalid query locator");
		return -1;
	}
	c->used_ms = sb_mono_ms();
	write_page(&c->rows, (size_t)off, page > 0 ? page : c->page, version, c->id, out);
	return 0;
}
