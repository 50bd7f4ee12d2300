/*
 * fuzz_conn: what the connector harnesses (fuzz_salesforce, fuzz_scim,
 * fuzz_graph, fuzz_okta, fuzz_google) share: a target's answer built from
 * the input, the checks every answer reader must pass (its error texts),
 * and the inverse of each quoting a connector does, to check that what
 * was quoted says exactly what it was given.
 */
#ifndef DEPROV_FUZZ_CONN_H
#define DEPROV_FUZZ_CONN_H

#include <stddef.h>

#include "deprov/http.h"
#include "deprov/target.h"

#include "fuzz.h"

#define FUZZ_CONN_HEADERS	8

/* An answer as a connector gets it, and the result of its call. */
struct fuzz_conn_resp {
	struct http_response	resp;
	struct http_header	hdr[FUZZ_CONN_HEADERS];
	struct target_result	res;
	char			*status_line;
};

/*
 * Read "STATUS\nName: value\n...\n\nBODY" (status a decimal number, 0 = a
 * transport error; headers up to an empty line) into r. The body is
 * NUL-terminated like http.c's, and may hold NULs.
 */
void	 fuzz_conn_resp(struct fuzz_in *, struct fuzz_conn_resp *r);
void	 fuzz_conn_resp_free(struct fuzz_conn_resp *r);
/*
 * A text a reader wrote into a caller's buffer of size len: terminated
 * inside it, without control characters (they would reach a step's detail
 * and the log). what names it.
 */
void	 fuzz_conn_text(const char *what, const char *s, size_t len);
/*
 * Only terminated inside the buffer: for what may quote the configuration
 * (an option's error names the key or value as the operator wrote it).
 */
void	 fuzz_conn_term(const char *what, const char *s, size_t len);
/*
 * conn_json_parse's promise for body[0..len): a value only when the body is
 * exactly one JSON value (white space around it allowed) without a string
 * holding a NUL. Every answer fuzz_conn_resp reads is checked.
 */
void	 fuzz_conn_json(const char *body, size_t len);
/* The class a classifier answered is one of enum call_verdict. */
void	 fuzz_conn_verdict(const char *what, enum call_verdict);
/*
 * Percent-decode s (http_urlencode's output); NULL when s holds anything
 * but unreserved characters and %XX with upper-case hex digits.
 */
char	*fuzz_conn_urldecode(const char *s);

#endif
