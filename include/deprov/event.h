/*
 * event: decoding of leaver events (CloudEvents 1.0, structured JSON) into
 * the canonical form the engine uses, with a clear reason when an event
 * cannot be used.
 */
#ifndef DEPROV_EVENT_H
#define DEPROV_EVENT_H

#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

#define EVENT_TYPE_LEAVER	"io.deprov.leaver"
#define EVENT_TYPE_RESCINDED	"io.deprov.leaver.rescinded"
#define EVENT_TYPE_FREEZE	"io.deprov.freeze"
#define EVENT_TYPE_UNFREEZE	"io.deprov.unfreeze"
/* A rehire: bring back exactly the accounts a finished leaver case disabled. */
#define EVENT_TYPE_REINSTATE	"io.deprov.reinstate"

/* The person an event is about. */
struct subject {
	char		*employee_id;
	char		*email;
	char		*username;
	char		*manager_employee_id;
	char		*manager_email;
	json_object	*accounts;	/* target name -> account id; may be NULL */
};

struct event {
	char		*id;
	char		*source;
	char		*type;
	char		*subject_key;	/* CloudEvents subject (employee id) */
	time_t		 time;
	time_t		 effective;	/* 0 = now */
	char		*termination_kind;
	char		*reason;	/* freeze reason, may be NULL */
	char		**targets;	/* only these targets (emergency freeze); NULL = all */
	size_t		  ntargets;
	long long	  case_ref;	/* reinstate: the leaver case to undo (data.case); 0 = the latest */
	/*
	 * An identity provider's own lifecycle event (an Okta hook): the
	 * configured target it reports on, so that the echo of deprov's own
	 * act there is recognised. NULL otherwise.
	 */
	char		 *idp_target;
	struct subject	 subject;
};

/*
 * Decode one structured CloudEvent. Returns 0, or -1 with a reason such as
 * "missing id" or "not JSON: ..." in err. Text holding a NUL character is
 * refused (it would cut strings short), and so are identifiers (id, source,
 * subject, the subject's ids, emails, usernames and account ids) that are
 * not valid UTF-8.
 */
int		 event_decode(const char *buf, size_t len, struct event *,
		     char *err, size_t errlen);
void		 event_clear(struct event *);
/* Every event type deprov acts on, NULL-terminated, and a lookup in it. */
extern const char *const event_types[];
int		 event_type_known(const char *);

json_object	*subject_to_json(const struct subject *);
/* A subject as stored (checked when it came in): 0, or -1. */
int		 subject_from_json(json_object *, struct subject *);
/*
 * A subject from outside (an API body): identifiers must be strings
 * without NUL characters, in valid UTF-8. 0, or -1 with a reason naming the
 * member as pre + key ("subject.email is not valid UTF-8") in err.
 */
int		 subject_from_input(json_object *, const char *pre,
		    struct subject *, char *err, size_t errlen);
void		 subject_clear(struct subject *);
/* RFC 3339 to time_t; -1 on error. */
time_t		 event_parse_time(const char *);

#endif
