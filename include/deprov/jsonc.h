/*
 * jsonc: a JSON parser that accepts // and block comments (and trailing
 * commas) and remembers the line of every value, so that configuration and
 * runbook errors can be reported as file:line. It builds ordinary json-c
 * objects; the line table lives beside them in the document. It also has
 * the checks every piece of JSON from outside goes through (no NUL cutting
 * a string short, identifiers in valid UTF-8).
 */
#ifndef DEPROV_JSONC_H
#define DEPROV_JSONC_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "deprov/diag.h"

struct jsonc_doc;

/* Parse a file; on error returns NULL and writes "file:line: message" to err. */
struct jsonc_doc	*jsonc_parse_file(const char *path, char *err, size_t errlen);
/* Parse a file; on error returns NULL and adds one file:line diagnostic. */
struct jsonc_doc	*jsonc_parse_file_diag(const char *path, struct diags *);
/* Parse a buffer; name is used in error messages. */
struct jsonc_doc	*jsonc_parse_buffer(const char *name, const char *buf,
			    size_t len, char *err, size_t errlen);
void			 jsonc_free(struct jsonc_doc *);
/* The root value (owned by the document; json_object_get it to keep it). */
json_object		*jsonc_root(const struct jsonc_doc *);
const char		*jsonc_name(const struct jsonc_doc *);
/* Line (1-based) where value obj starts, or 0 when unknown. */
int			 jsonc_line(const struct jsonc_doc *, const json_object *obj);
/* Line of the member key inside object parent, or 0 when unknown. */
int			 jsonc_key_line(const struct jsonc_doc *, const json_object *parent,
			    const char *key);

/* Line of member key's value in parent, else of the key, else of parent. */
int			 jsonc_member_line(const struct jsonc_doc *,
			    const json_object *parent, const char *key);

/*
 * Validation helpers for configuration-like documents. Diagnostics name the
 * document and a path: `where` is the dotted path of obj ("kafka",
 * "targets.sf.limits", NULL or "" at the top level).
 *
 * jsonc_check_keys reports every member of obj whose key is not in the
 * NULL-terminated list allowed (`unknown key "k" in where`, with `(did you
 * mean "key"?)` when one of allowed is near, diags_suggest) and returns how
 * many it found.
 *
 * The getters look up key in obj and return 0 when it is absent (leaving
 * *out alone, so callers preset defaults), 1 when present and valid, and -1
 * after adding a diagnostic ("where.key: expected a string", "... must be at
 * least 1") when it has the wrong type or value. Strings must be non-empty;
 * out points into the document. Integers must be JSON integers.
 * jsonc_get_strings returns a malloc'd array of malloc'd strings.
 */
int			 jsonc_check_keys(const struct jsonc_doc *, json_object *obj,
			    const char *where, const char *const *allowed,
			    struct diags *);
int			 jsonc_get_string(const struct jsonc_doc *, json_object *obj,
			    const char *where, const char *key, const char **out,
			    struct diags *);
int			 jsonc_get_int(const struct jsonc_doc *, json_object *obj,
			    const char *where, const char *key, long long min,
			    long long max, long long *out, struct diags *);
int			 jsonc_get_double(const struct jsonc_doc *, json_object *obj,
			    const char *where, const char *key, double min,
			    double max, double *out, struct diags *);
int			 jsonc_get_object(const struct jsonc_doc *, json_object *obj,
			    const char *where, const char *key, json_object **out,
			    struct diags *);
int			 jsonc_get_array(const struct jsonc_doc *, json_object *obj,
			    const char *where, const char *key, json_object **out,
			    struct diags *);
int			 jsonc_get_strings(const struct jsonc_doc *, json_object *obj,
			    const char *where, const char *key, char ***out,
			    size_t *n, struct diags *);
/* Free an array from jsonc_get_strings. */
void			 jsonc_strings_free(char **, size_t);

/*
 * Text from outside (Kafka messages, API bodies, Okta hooks), where a NUL
 * must not silently cut a string short ("E0010\u0000X" is not "E0010").
 *
 * jsonc_text_check refuses a whole JSON text holding a NUL byte or a
 * \u0000 escape anywhere, object keys included (json-c cuts those before
 * anyone could look): 0, or -1 with the reason in err. Call it on the raw
 * text before parsing.
 *
 * jsonc_get_text gets member key of obj (jsonc_text: the value v) as text:
 * 0 when absent or null (*out NULL), 1 with *out (owned by the JSON value)
 * when it is a string without NUL characters and, with JSONC_TEXT_ID, valid
 * UTF-8; -1 with "<name> must be a string", "<name> contains a NUL
 * character (\u0000)" or "<name> is not valid UTF-8" in err. name is what
 * the reason calls the member (NULL = key). An empty string is returned as
 * it is.
 */
#define JSONC_TEXT_ID	0x1	/* an identifier: must also be valid UTF-8 */

int			 jsonc_text_check(const void *buf, size_t len, char *err,
			    size_t errlen);
/*
 * The one JSON value that is the whole of buf (white space around it
 * allowed), after jsonc_text_check: the value, or NULL with err "not JSON
 * at byte N ('c'): <what json-c expected>", "not JSON: it ends at byte N
 * before the value does" or "not JSON: more after the value, at byte N" so
 * that whoever reads a dead letter finds the place.
 */
json_object		*jsonc_parse_whole(const void *buf, size_t len, char *err,
			    size_t errlen);
int			 jsonc_get_text(json_object *obj, const char *key,
			    const char *name, int flags, const char **out,
			    char *err, size_t errlen);
int			 jsonc_text(json_object *v, const char *name, int flags,
			    const char **out, char *err, size_t errlen);
/* 1 when s[0..len) is valid UTF-8 (RFC 3629: shortest form, no surrogates). */
int			 jsonc_utf8_valid(const char *s, size_t len);

/*
 * Answers' members: key = v, or null when v is NULL (a string) or not
 * after the epoch (a time in milliseconds).
 */
void			 jsonc_put_str(json_object *o, const char *key,
			    const char *v);
void			 jsonc_put_ms(json_object *o, const char *key, int64_t ms);

#endif
