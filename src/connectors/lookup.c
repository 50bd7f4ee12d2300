/*
 * lookup: how every connector's step starts and finds the account (see
 * common.h). The start is the same for all kinds: the step state, a step
 * the kind does not do, the kind's own set-up, then the step itself when
 * the account is known. Otherwise the kind's table of lookup ways is walked
 * in order: a way the subject has no value for is passed over, the others
 * ask the target one GET each; "nobody has it" moves to the next way, and
 * the first account found is kept for the case (step_ctx_set_account) before
 * the step goes on. Requests and answers are the kind's hooks: only the
 * walk is here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "deprov/connector.h"
#include "deprov/event.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

#include "common.h"

static int	lookup_passed_over(const struct conn_step *,
		    const struct conn_way *, const char *);
static void	lookup_next(struct conn_step *);
static void	lookup_on_result(const struct target_result *, void *);

void
conn_run(struct step_ctx *ctx, const struct conn_kind *ck)
{
	struct conn_step	*cs;
	const char		*acct;

	if ((cs = conn_step_new(ctx, ck->size, ck->free_fn, ck->module)) == NULL)
		return;
	cs->ck = ck;
	cs->ways = ck->ways;
	cs->nways = ck->nways;
	if ((int)cs->kind < 0 || cs->kind >= STEP_KIND_COUNT ||
	    ck->connector->skips[cs->kind] != NULL) {
		conn_unsupported(cs, ck->connector);
		return;
	}
	if (ck->prepare != NULL && ck->prepare(cs) != 0)
		return;
	if ((acct = step_ctx_account(ctx)) != NULL) {
		if (ck->known(cs, acct) == 0)
			ck->begin(cs);
		return;
	}
	lookup_next(cs);
}

const char *
conn_field_value(const struct conn_step *cs, enum conn_field field)
{
	const struct subject	*sub = step_ctx_subject(cs->ctx);

	switch (field) {
	case CONN_FIELD_ACCOUNT:
		return conn_event_account(cs);
	case CONN_FIELD_USERNAME:
		return sub != NULL ? sub->username : NULL;
	case CONN_FIELD_EMAIL:
		return sub != NULL ? sub->email : NULL;
	case CONN_FIELD_EMPLOYEE_ID:
		return sub != NULL ? sub->employee_id : NULL;
	default:
		return NULL;
	}
}

/*
 * 1 when way w (at index cs->next - 1) does not ask for key: the same
 * value as its "unless" field, which an earlier way of the table asked by.
 */
static int
lookup_passed_over(const struct conn_step *cs, const struct conn_way *w,
    const char *key)
{
	const char	*other;
	size_t		 i;

	if ((w->flags & CONN_WAY_ADDRESS) && strchr(key, '@') == NULL)
		return 1;
	if (w->unless == CONN_FIELD_NONE)
		return 0;
	if ((other = conn_field_value(cs, w->unless)) == NULL ||
	    strcasecmp(key, other) != 0)
		return 0;
	for (i = 0; i + 1 < cs->next; i++)
		if (cs->ways[i].field == w->unless)
			return 1;
	return 0;
}

/* Ask by the next way the subject has a value for; none left: no account. */
static void
lookup_next(struct conn_step *cs)
{
	const struct conn_way	*w;
	const char		*key;
	char			*path;

	while (cs->next < cs->nways) {
		w = &cs->ways[cs->next++];
		if ((key = conn_field_value(cs, w->field)) == NULL)
			continue;
		if (key[0] == '\0' && !(w->flags & CONN_WAY_EMPTY))
			continue;
		if (lookup_passed_over(cs, w, key))
			continue;
		path = NULL;
		switch (w->request(cs, w, key, &path)) {
		case CONN_ASK:
			break;
		case CONN_NEXT:
			continue;
		default:
			return;		/* the hook finished the step */
		}
		cs->way = w;
		snprintf(cs->key, sizeof cs->key, "%s", key);
		/* On failure conn_call has finished the step. */
		conn_call(cs, "GET", path, NULL, NULL, cs->ck->header,
		    lookup_on_result, cs);
		free(path);
		return;
	}
	if (cs->ck->none != NULL && cs->ck->none(cs) != 0)
		return;
	conn_finish(cs, STEP_OUT_NO_ACCOUNT, "no account");
}

static void
lookup_on_result(const struct target_result *res, void *arg)
{
	struct conn_step	*cs = arg;
	const struct conn_way	*w = cs->way;
	struct conn_found	 f;

	memset(&f, 0, sizeof f);
	switch (w->answer(cs, w, res, &f)) {
	case CONN_FOUND:
		step_ctx_set_account(cs->ctx, f.id);
		step_ctx_note(cs->ctx, "account %.80s%s%s (found by %s)%s%s",
		    f.id, f.name != NULL ? " " : "", f.name != NULL ? f.name : "",
		    w->by, f.status != NULL ? ", status " : "",
		    f.status != NULL ? f.status : "");
		cs->ck->begin(cs);
		break;
	case CONN_ABSENT:
		/* The event's id was only a hint: say so, then look it up. */
		if (w->field == CONN_FIELD_ACCOUNT)
			step_ctx_note(cs->ctx, "account %.60s from the event not "
			    "found; looking the user up", cs->key);
		lookup_next(cs);
		break;
	case CONN_NEXT:
		lookup_next(cs);
		break;
	default:
		break;		/* finished by the hook */
	}
}
