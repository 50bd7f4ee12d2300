/*
 * graph-internal: the pure half of the Microsoft Graph connector, shared by
 * graph.c and the unit tests (tests/unit/test_graph.c). It builds request
 * paths (URL-encoded user keys, the users('$...') form, OData $filter
 * string literals) and bodies, reads user objects, collections and Graph's
 * error body {"error":{"code","message"}}, and classifies responses for the
 * target's retry logic. No calls are made here.
 */
#ifndef DEPROV_GRAPH_INTERNAL_H
#define DEPROV_GRAPH_INTERNAL_H

#include <stddef.h>

#include "deprov/connector.h"
#include "deprov/http.h"
#include "deprov/target.h"

#define GRAPH_ID_MAX		64	/* object ids are GUIDs (36) */
#define GRAPH_KEY_MAX		320	/* longest user key we send (UPN, id, mail) */
#define GRAPH_SELECT		"id,accountEnabled,userPrincipalName"

/* The descriptor (graph.c). */
extern const struct connector connector_graph;

/* One user as read from Graph. */
struct graph_user {
	char	 id[GRAPH_ID_MAX + 1];
	char	 upn[GRAPH_KEY_MAX + 1];
	int	 enabled;		/* accountEnabled 0/1, -1 when absent */
};

/*
 * s as an OData string literal: in single quotes, each ' doubled. Returns
 * the length written, or -1 when s has a control character or out is too
 * small.
 */
int		 graph_odata_quote(const char *s, char *out, size_t outlen);
/*
 * The path of a user: "/v1.0/users/{key}" (key percent-encoded), or, for a
 * userPrincipalName that starts with '$' (which Graph would read as a
 * system query option), "/v1.0/users('{key}')" with the key OData-quoted
 * and encoded. suffix ("/revokeSignInSessions" or NULL) and
 * "?$select=<select>" (when select is not NULL) follow. malloc'd, NULL on an
 * unusable key (empty, control characters, too long) or no memory.
 */
char		*graph_user_path(const char *key, const char *suffix,
		    const char *select);
/*
 * "/v1.0/users?$filter=<prop> eq '<value>'&$select=<select>" with the
 * filter OData-quoted and percent-encoded. prop is a trusted name.
 * malloc'd; NULL on an unusable value.
 */
char		*graph_filter_path(const char *prop, const char *value,
		    const char *select);
/* {"accountEnabled":true|false} */
const char	*graph_enable_body(int enabled);

/*
 * Read a user object. Returns 0, or -1 with the reason in err (not JSON, no
 * id).
 */
int		 graph_user_parse(const char *body, size_t len, struct graph_user *,
		    char *err, size_t errlen);
/*
 * Read a collection {"value":[users]}: *count gets the number of users, and
 * the first one is read into first (when count >= 1). Returns 0, or -1 with
 * the reason in err.
 */
int		 graph_list_parse(const char *body, size_t len, size_t *count,
		    struct graph_user *first, char *err, size_t errlen);
/*
 * Read {"error":{"code","message"}}: code and message (either may be "").
 * Returns 0, or -1 when the body is not a Graph error.
 */
int		 graph_error_parse(const char *body, size_t len, char *code,
		    size_t codelen, char *msg, size_t msglen);
/*
 * Why a call failed: "HTTP 404 Request_ResourceNotFound: message" (plus
 * " (after N attempts)") for a Graph error, else the target's error text.
 */
void		 graph_call_error(const struct target_result *, char *out,
		    size_t outlen);
/* 1 when the response is 404 Request_ResourceNotFound (or a bare 404). */
int		 graph_not_found(const struct http_response *);

/*
 * The classifier of Graph targets: 429 and 503/504 retry (the target waits
 * for Retry-After), 401 InvalidAuthenticationToken re-authenticates,
 * 400/403/404/409 are final, 501 is final. err gets "code: message".
 */
enum call_verdict graph_classify(const struct http_response *, char *err,
		    size_t errlen);

#endif
