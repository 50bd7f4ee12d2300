/*
 * salesforce-internal: the pure half of the Salesforce connector, shared by
 * salesforce.c and the unit tests. Everything here only builds request
 * strings and reads response bodies (SOQL literals and queries, URL paths,
 * composite bodies, SaveResults, error bodies, the response classifier, the
 * objects a reassign step may name, Sforce-Limit-Info); it makes no calls
 * and needs neither the engine nor a running target.
 */
#ifndef DEPROV_SALESFORCE_INTERNAL_H
#define DEPROV_SALESFORCE_INTERNAL_H

#include <stddef.h>

#include <json-c/json.h>

#include "deprov/connector.h"
#include "deprov/http.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

#define SF_DEFAULT_API_VERSION	"v60.0"
#define SF_ID_MAX		18	/* ids are 15 or 18 characters */
#define SF_OBJECT_NAME_MAX	80
#define SF_SOQL_MAX		2048	/* longest SOQL statement we build */
#define SF_COMPOSITE_MAX	200	/* records per composite/sobjects call */
#define SF_FAILURES_KEPT	5	/* failing records named in a detail */

/* One failed record of a composite update. */
struct sf_save_failure {
	char	 id[SF_ID_MAX + 1];
	char	 status[64];		/* statusCode, e.g. UNABLE_TO_LOCK_ROW */
};

/* Running count of SaveResults over a whole reassign step. */
struct sf_save_tally {
	size_t			 ok;
	size_t			 failed;
	struct sf_save_failure	 first[SF_FAILURES_KEPT];	/* the first failures */
	size_t			 nfirst;
};

/* One page of a query answer. */
struct sf_page {
	json_object	*root;		/* owned */
	json_object	*records;	/* borrowed from root: an array */
	size_t		 nrecords;
	long long	 total_size;
	int		 done;
	char		*next_url;	/* nextRecordsUrl when !done (owned), else NULL */
};

/* The descriptor (salesforce.c). */
extern const struct connector connector_salesforce;

/* 1 when s is a Salesforce id: 15 or 18 letters and digits. */
int		 sf_id_valid(const char *s);
/* 1 when s is a usable sObject API name: a letter, then [A-Za-z0-9_], at most 80. */
int		 sf_object_name_valid(const char *s);
/*
 * 1 when a reassign step may name object s: a standard object whose
 * records have an owner the step can change (OwnerId: Account, Case, Lead,
 * Opportunity, ...), or a custom object ("Name__c").
 */
int		 sf_object_reassignable(const char *s);
/* The connector's check_step: a reassign step's objects are reassignable. */
void		 sf_check_step(struct connector_check *,
		    const struct runbook_step *, json_object *json);
/*
 * Sforce-Limit-Info's "api-usage=USED/LIMIT": 0, or -1 when absent,
 * malformed or out of range.
 */
int		 sf_limit_info_parse(const char *value, long *used, long *limit);
/*
 * The signals hook of Salesforce targets: the org's daily API usage from
 * Sforce-Limit-Info (target_signal_usage).
 */
void		 sf_signals(struct target *, const struct http_response *);
/*
 * Normalise an API version ("v60.0" or "60.0"; NULL or "" = the default) to
 * "vNN.N" in out. Returns 0, or -1 when it is not a version.
 */
int		 sf_api_version(const char *in, char *out, size_t outlen);

/*
 * Escape s for use inside a SOQL string literal: backslash and single quote
 * get a backslash. Returns the length written to out, or -1 when s holds a
 * control character (a newline cannot be part of a name or an address) or
 * out is too small.
 */
int		 sf_soql_escape(const char *s, char *out, size_t outlen);
/*
 * Build "SELECT <fields> FROM <object> WHERE <field>='<value>'[ AND <extra>]"
 * with value escaped. fields and extra are trusted constants; object and
 * field must be names. Returns 0, or -1 with the reason in err.
 */
int		 sf_soql_where(char *out, size_t outlen, const char *fields,
		    const char *object, const char *field, const char *value,
		    const char *extra, char *err, size_t errlen);
/* "/services/data/<version>/query?q=<soql URL-encoded>", malloc'd; NULL on no memory. */
char		*sf_query_path(const char *version, const char *soql);
/* The revoke form body "token=<urlencoded token>", malloc'd. */
char		*sf_revoke_body(const char *token);

/*
 * The composite/sobjects body that gives the n (1..200) records ids of type
 * object to owner. Returns a malloc'd JSON string, or NULL when an argument
 * is invalid or memory ran out.
 */
char		*sf_composite_body(const char *object, const char *const *ids,
		    size_t n, const char *owner);
/*
 * Read the SaveResults of a composite update of ids[0..n-1] (results are in
 * request order; failed results may carry no id, so ids name them) and add
 * them to tally. A missing result counts as a failure. Returns 0, or -1 when
 * the body is not a SaveResult array (tally unchanged).
 */
int		 sf_save_results_parse(const char *body, size_t len,
		    const char *const *ids, size_t n, struct sf_save_tally *,
		    char *err, size_t errlen);

/*
 * Parse a query answer. Returns 0, or -1 with the reason in err. A
 * nextRecordsUrl must be a /services/data/ path.
 */
int		 sf_page_parse(const char *body, size_t len, struct sf_page *,
		    char *err, size_t errlen);
void		 sf_page_clear(struct sf_page *);
/* A string field of a record, or NULL when absent or not a string. */
const char	*sf_record_str(json_object *rec, const char *field);
/* A boolean field of a record: 0/1, or -1 when absent or not a boolean. */
int		 sf_record_bool(json_object *rec, const char *field);

/*
 * Read a Salesforce error body: the REST array [{"message","errorCode"}]
 * or the OAuth object {"error","error_description"}. Writes the code and
 * the message (either may be ""). Returns 0, or -1 when the body is neither.
 */
int		 sf_error_parse(const char *body, size_t len, char *code,
		    size_t codelen, char *msg, size_t msglen);
/*
 * Describe why a call failed: "HTTP 404 NOT_FOUND: message" (plus " (after
 * N attempts)" when it was sent more than once) when the answer is a
 * Salesforce error, otherwise the target's error text, which already says
 * how many attempts were made.
 */
void		 sf_call_error(const struct target_result *, char *out, size_t outlen);

/*
 * What an administrator does at Salesforce after it refused to change a
 * user's IsActive (activating 0: a deactivation, 1: a reactivation) with
 * this errorCode and message: a short hint (static text), or NULL when the
 * code is not such a refusal. Deactivation is refused with
 * FIELD_INTEGRITY_EXCEPTION (the user is still a default user, owner,
 * creator, portal administrator, hierarchy value or approver somewhere in
 * Setup: the message says which), INACTIVE_OWNER_OR_USER or
 * FIELD_CUSTOM_VALIDATION_EXCEPTION (a validation rule); reactivation with
 * LICENSE_LIMIT_EXCEEDED (no free licence).
 */
const char	*sf_user_refusal_hint(int activating, const char *code,
		    const char *msg);

/*
 * The classifier the Salesforce targets run every response through. For an
 * error answer err gets "ERROR_CODE: message" (the target adds "HTTP n: ").
 * The refusals of sf_user_refusal_hint are final: nothing changes by
 * sending them again.
 */
enum call_verdict sf_classify(const struct http_response *, char *err, size_t errlen);

/*
 * The closing line of a reassign step: "reassigned N records (Account 150,
 * Case 100) to 005..." and, when some failed, "M of T records failed
 * (Case 2): 500... UNABLE_TO_LOCK_ROW, ...; " before it.
 */
void		 sf_reassign_summary(char *out, size_t outlen,
		    const char *const *objects, const size_t *ok,
		    const size_t *failed, size_t nobjects,
		    const struct sf_save_tally *, const char *owner);

#endif
