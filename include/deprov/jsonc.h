/*
 * jsonc: a JSON parser that accepts // and block comments (and trailing
 * commas) and remembers the line of every value, so that configuration and
 * runbook errors can be reported as file:line. It builds ordinary json-c
 * objects; the line table lives beside them in the document.
 */
#ifndef DEPROV_JSONC_H
#define DEPROV_JSONC_H

#include <stddef.h>

#include <json-c/json.h>

struct jsonc_doc;

/* Parse a file; on error returns NULL and writes "file:line: message" to err. */
struct jsonc_doc	*jsonc_parse_file(const char *path, char *err, size_t errlen);
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

#endif
