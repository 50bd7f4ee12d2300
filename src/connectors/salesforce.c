/*
 * salesforce: the Salesforce connector (REST API). Each step is a small
 * asynchronous state machine kept in a heap struct sf_step that the engine
 * frees after step_ctx_done: every target_call callback advances it, and the
 * step ends with step_ctx_done exactly once, never while a call of it is
 * still in flight. When the account is not known yet the step resolves it
 * first (event account id, then Username, Email, FederationIdentifier).
 *
 *   freeze / unfreeze  query UserLogin, PATCH UserLogin/{id} {"IsFrozen":b}
 *   revoke_tokens      query OauthToken (all pages), POST /services/oauth2/revoke
 *                      per DeleteToken, up to SF_REVOKE_PARALLEL at once
 *   reassign           find the new owner (manager by email, else the
 *                      fallback owner), then per object: query a page of
 *                      owned ids, PATCH composite/sobjects in batches of 200,
 *                      next page
 *   deactivate         PATCH User/{id} {"IsActive":false}; a refusal (the user
 *                      is still a default owner, approver, ... in Setup) fails
 *                      the step at once with Salesforce's errorCode and
 *                      message and what to change; the user stays frozen
 *   reactivate         IsActive (resolve, else query User by Id); unless
 *                      active PATCH User/{id} {"IsActive":true} (needs a free
 *                      licence: LICENSE_LIMIT_EXCEEDED fails the step); then
 *                      query UserLogin and PATCH {"IsFrozen":false} if frozen
 *   delete             skipped: users are never deleted at Salesforce
 *
 * Request building and response parsing live in salesforce-proto.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "deprov/config.h"
#include "deprov/connector.h"
#include "deprov/event.h"
#include "deprov/log.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

#include "common.h"
#include "salesforce-internal.h"

#define SF_REVOKE_PARALLEL	4	/* revoke calls in flight per step */
#define SF_MAX_TOKENS		100000	/* OauthToken rows one step will hold */

enum sf_phase {
	SF_LOGIN_QUERY = 0,		/* freeze, unfreeze */
	SF_LOGIN_PATCH,
	SF_TOKEN_QUERY,			/* revoke_tokens */
	SF_TOKEN_REVOKE,
	SF_OWNER_MANAGER,		/* reassign */
	SF_OWNER_FALLBACK_USERNAME,
	SF_OWNER_FALLBACK_EMAIL,
	SF_RECORD_QUERY,
	SF_RECORD_UPDATE,
	SF_USER_PATCH,			/* deactivate */
	SF_USER_READ,			/* reactivate: IsActive when not known */
	SF_USER_ACTIVATE		/* reactivate: PATCH IsActive true */
};

struct sf_step;

/* One OauthToken row to revoke. */
struct sf_token {
	struct sf_step	*st;
	char		 id[SF_ID_MAX + 1];
	char		*app;
	char		*secret;	/* DeleteToken: never in a note, detail or log */
};

struct sf_step {
	struct conn_step	 cs;		/* first: see common.h */
	char			 version[16];	/* "v60.0" */
	enum sf_phase		 phase;

	char			 user[SF_ID_MAX + 1];	/* the leaver's User id */
	int			 user_active;		/* 0/1, -1 unknown */
	int			 activated;	/* reactivate: IsActive was set true */

	/* revoke_tokens */
	struct sf_token		*tokens;
	size_t			 ntokens;
	size_t			 tokens_cap;
	size_t			 next_token;	/* next to send */
	size_t			 outstanding;	/* revoke calls in flight */
	size_t			 revoked;
	size_t			 gone;		/* invalid_token: already revoked */
	size_t			 failed;
	int			 stop;		/* send no more (systemic failure) */
	char			 first_error[512];

	/* reassign */
	char			 owner[SF_ID_MAX + 1];
	char			 owner_why[256];	/* why the manager was not used */
	size_t			 object;	/* index into the step's objects */
	char			**ids;		/* the current page's record ids */
	size_t			 nids;
	size_t			 pos;		/* first id of the batch in flight */
	size_t			 batch;		/* ids in the batch in flight */
	char			*next_url;	/* the page after the current one */
	size_t			*obj_ok;	/* per object */
	size_t			*obj_failed;
	struct sf_save_tally	 tally;
};

static void	sf_run(struct step_ctx *);
static void	sf_free(void *);
static void	sf_call(struct sf_step *, enum sf_phase, const char *,
		    const char *, const char *, const char *);
static char	*sf_query_path_of(struct sf_step *, const char *,
		    const char *, const char *, const char *, const char *);
static void	sf_query(struct sf_step *, enum sf_phase, const char *,
		    const char *, const char *, const char *, const char *);
static int	sf_page(struct sf_step *, const struct target_result *,
		    struct sf_page *);
static void	sf_on_result(const struct target_result *, void *);
static int	sf_prepare(struct conn_step *);
static int	sf_known(struct conn_step *, const char *);
static void	sf_begin(struct conn_step *);
static enum conn_verdict sf_ask(struct conn_step *, const struct conn_way *,
		    const char *, char **);
static enum conn_verdict sf_answer(struct conn_step *, const struct conn_way *,
		    const struct target_result *, struct conn_found *);
static void	sf_login_answer(struct sf_step *, const struct target_result *);
static void	sf_token_answer(struct sf_step *, const struct target_result *);
static void	sf_token_pump(struct sf_step *);
static void	sf_on_revoke(const struct target_result *, void *);
static void	sf_owner_start(struct sf_step *);
static void	sf_owner_fallback(struct sf_step *);
static void	sf_owner_answer(struct sf_step *, const struct target_result *);
static void	sf_owner_use(struct sf_step *, const char *, const char *);
static void	sf_records_object(struct sf_step *);
static void	sf_records_page(struct sf_step *, const struct target_result *);
static void	sf_records_batch(struct sf_step *);
static void	sf_records_saved(struct sf_step *, const struct target_result *);
static void	sf_ids_clear(struct sf_step *);
static void	sf_user_read_answer(struct sf_step *, const struct target_result *);
static void	sf_user_activate(struct sf_step *);
static void	sf_user_refused(struct sf_step *, const struct target_result *);
static void	sf_login_query(struct sf_step *);

const struct connector connector_salesforce = {
	.kind = "salesforce",
	.skips = {
		[STEP_DELETE] = "not supported by salesforce",
	},
	.run = sf_run,
	.classify = sf_classify,
	.check_step = sf_check_step,
	.signals = sf_signals,
};

/*
 * The lookup: query User by the event's id (verified), then by Username,
 * Email and FederationIdentifier = employee id (arg: the field).
 */
static const struct conn_way sf_ways[] = {
	{ .field = CONN_FIELD_ACCOUNT, .flags = CONN_WAY_EMPTY, .by = "Id",
	    .arg = "Id", .request = sf_ask, .answer = sf_answer },
	{ .field = CONN_FIELD_USERNAME, .by = "Username", .arg = "Username",
	    .request = sf_ask, .answer = sf_answer },
	{ .field = CONN_FIELD_EMAIL, .by = "Email", .arg = "Email",
	    .request = sf_ask, .answer = sf_answer },
	{ .field = CONN_FIELD_EMPLOYEE_ID, .by = "FederationIdentifier",
	    .arg = "FederationIdentifier", .request = sf_ask,
	    .answer = sf_answer },
};

static const struct conn_kind sf_kind = {
	.connector = &connector_salesforce,
	.module = "salesforce",
	.size = sizeof(struct sf_step),
	.free_fn = sf_free,
	.prepare = sf_prepare,
	.known = sf_known,
	.begin = sf_begin,
	.ways = sf_ways,
	.nways = sizeof sf_ways / sizeof sf_ways[0],
};

/* Free the step state (the engine calls this after step_ctx_done). */
static void
sf_free(void *p)
{
	struct sf_step	*st = p;
	size_t		 i;

	if (st == NULL)
		return;
	for (i = 0; i < st->ntokens; i++) {
		if (st->tokens[i].secret != NULL) {
			explicit_bzero(st->tokens[i].secret,
			    strlen(st->tokens[i].secret));
			free(st->tokens[i].secret);
		}
		free(st->tokens[i].app);
	}
	free(st->tokens);
	sf_ids_clear(st);
	free(st->ids);
	free(st->next_url);
	free(st->obj_ok);
	free(st->obj_failed);
	free(st);
}

/*
 * Send one call whose answer goes to sf_on_result in the given phase. The
 * target copies the request, so path and body may be freed on return.
 */
static void
sf_call(struct sf_step *st, enum sf_phase phase, const char *method,
    const char *path, const char *body, const char *content_type)
{
	st->phase = phase;
	conn_call(&st->cs, method, path, body, content_type, NULL, sf_on_result,
	    st);
}

/*
 * The path of "SELECT fields FROM object WHERE field='value'[ AND extra]",
 * malloc'd; NULL when the step was failed (a value SOQL cannot hold).
 */
static char *
sf_query_path_of(struct sf_step *st, const char *fields, const char *object,
    const char *field, const char *value, const char *extra)
{
	char	 soql[SF_SOQL_MAX], err[256];
	char	*path;

	if (sf_soql_where(soql, sizeof soql, fields, object, field, value,
	    extra, err, sizeof err) != 0) {
		conn_fail_doing(&st->cs, "%s", err);
		return NULL;
	}
	if ((path = sf_query_path(st->version, soql)) == NULL) {
		conn_fail_doing(&st->cs, "out of memory");
		return NULL;
	}
	return path;
}

/* Query "SELECT fields FROM object WHERE field='value'[ AND extra]". */
static void
sf_query(struct sf_step *st, enum sf_phase phase, const char *fields,
    const char *object, const char *field, const char *value,
    const char *extra)
{
	char	*path;

	if ((path = sf_query_path_of(st, fields, object, field, value,
	    extra)) == NULL)
		return;
	sf_call(st, phase, "GET", path, NULL, NULL);
	free(path);
}

/* Parse a query answer; on failure the step is finished and -1 returned. */
static int
sf_page(struct sf_step *st, const struct target_result *res,
    struct sf_page *page)
{
	char	err[256];

	if (res->resp == NULL || res->resp->body_truncated) {
		conn_fail_doing(&st->cs, "%s", res->resp == NULL ? "no answer" :
		    "answer too large (truncated)");
		return -1;
	}
	if (sf_page_parse(res->resp->body, res->resp->body_len, page, err,
	    sizeof err) != 0) {
		conn_fail_doing(&st->cs, "unexpected answer: %s", err);
		return -1;
	}
	return 0;
}

/* Every call but the revokes answers here. */
static void
sf_on_result(const struct target_result *res, void *arg)
{
	struct sf_step	*st = arg;

	if (!res->ok && (st->phase == SF_USER_PATCH ||
	    st->phase == SF_USER_ACTIVATE)) {
		sf_user_refused(st, res);
		return;
	}
	if (!res->ok) {
		conn_fail(&st->cs, res, sf_call_error);
		return;
	}
	switch (st->phase) {
	case SF_LOGIN_QUERY:
		sf_login_answer(st, res);
		break;
	case SF_LOGIN_PATCH:
		if (st->cs.kind == STEP_REACTIVATE)
			conn_finish(&st->cs, STEP_OUT_OK, "%s; unfrozen "
			    "(IsFrozen=false)", st->activated ? "reactivated "
			    "(IsActive=true)" : "already active");
		else
			conn_finish(&st->cs, STEP_OUT_OK, st->cs.kind ==
			    STEP_FREEZE ? "frozen" : "unfrozen");
		break;
	case SF_TOKEN_QUERY:
		sf_token_answer(st, res);
		break;
	case SF_OWNER_MANAGER:
	case SF_OWNER_FALLBACK_USERNAME:
	case SF_OWNER_FALLBACK_EMAIL:
		sf_owner_answer(st, res);
		break;
	case SF_RECORD_QUERY:
		sf_records_page(st, res);
		break;
	case SF_RECORD_UPDATE:
		sf_records_saved(st, res);
		break;
	case SF_USER_PATCH:
		conn_finish(&st->cs, STEP_OUT_OK, "deactivated");
		break;
	case SF_USER_READ:
		sf_user_read_answer(st, res);
		break;
	case SF_USER_ACTIVATE:
		st->activated = 1;
		st->user_active = 1;
		step_ctx_note(st->cs.ctx, "user %s reactivated (IsActive=true)",
		    st->user);
		sf_login_query(st);
		break;
	default:
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: unexpected answer "
		    "in phase %d", st->cs.name, (int)st->phase);
		break;
	}
}

static void
sf_run(struct step_ctx *ctx)
{
	conn_run(ctx, &sf_kind);
}

/* A reassign's options, then the API version. */
static int
sf_prepare(struct conn_step *cs)
{
	struct sf_step			*st = (struct sf_step *)cs;
	const struct config_target	*cfg;
	const struct runbook_step	*step;
	size_t				 i;

	st->user_active = -1;
	if (cs->kind == STEP_REASSIGN) {
		step = step_ctx_step(cs->ctx);
		if (step == NULL || step->nobjects == 0) {
			conn_finish(cs, STEP_OUT_SKIPPED, "no objects configured");
			return -1;
		}
		if (step->to != NULL && strcmp(step->to, "manager") != 0) {
			conn_finish(cs, STEP_OUT_FAILED, "%s: unsupported "
			    "\"to\" '%.60s' (only \"manager\", with "
			    "fallback_owner)", cs->name, step->to);
			return -1;
		}
		for (i = 0; i < step->nobjects; i++) {
			if (!sf_object_name_valid(step->objects[i])) {
				conn_finish(cs, STEP_OUT_FAILED, "%s: invalid "
				    "object name '%.80s'", cs->name,
				    step->objects[i]);
				return -1;
			}
		}
		st->obj_ok = calloc(step->nobjects, sizeof *st->obj_ok);
		st->obj_failed = calloc(step->nobjects, sizeof *st->obj_failed);
		if (st->obj_ok == NULL || st->obj_failed == NULL) {
			conn_finish(cs, STEP_OUT_FAILED, "out of memory");
			return -1;
		}
	}
	cfg = target_config(cs->target);
	if (sf_api_version(cfg != NULL ? cfg->api_version : NULL, st->version,
	    sizeof st->version) != 0) {
		conn_finish(cs, STEP_OUT_FAILED, "%s: invalid api_version "
		    "'%.20s'", cs->name, cfg != NULL ? cfg->api_version : "");
		return -1;
	}
	return 0;
}

static int
sf_known(struct conn_step *cs, const char *acct)
{
	struct sf_step	*st = (struct sf_step *)cs;

	if (!sf_id_valid(acct)) {
		conn_finish(cs, STEP_OUT_FAILED, "%s: account '%.40s' is not a "
		    "Salesforce id", cs->name, acct);
		return -1;
	}
	strcpy(st->user, acct);
	return 0;
}

/* The account is known: do the step itself. */
static void
sf_begin(struct conn_step *cs)
{
	struct sf_step	*st = (struct sf_step *)cs;
	char		 path[256];

	switch (st->cs.kind) {
	case STEP_FREEZE:
	case STEP_UNFREEZE:
		sf_login_query(st);
		break;
	case STEP_REVOKE_TOKENS:
		conn_doing(&st->cs, "query OauthToken");
		sf_query(st, SF_TOKEN_QUERY, "Id,AppName,DeleteToken",
		    "OauthToken", "UserId", st->user, NULL);
		break;
	case STEP_REASSIGN:
		sf_owner_start(st);
		break;
	case STEP_DEACTIVATE:
		if (st->user_active == 0) {
			conn_finish(&st->cs, STEP_OUT_OK, "already inactive");
			return;
		}
		snprintf(path, sizeof path, "/services/data/%s/sobjects/User/%s",
		    st->version, st->user);
		conn_doing(&st->cs, "PATCH User");
		sf_call(st, SF_USER_PATCH, "PATCH", path, "{\"IsActive\":false}",
		    "application/json");
		break;
	case STEP_REACTIVATE:
		/* The licence first: if there is none, the user stays frozen. */
		if (st->user_active == 1) {
			sf_login_query(st);
			return;
		}
		if (st->user_active == 0) {
			sf_user_activate(st);
			return;
		}
		conn_doing(&st->cs, "query User");
		sf_query(st, SF_USER_READ, "Id,IsActive", "User", "Id", st->user,
		    NULL);
		break;
	default:
		conn_unsupported(&st->cs, &connector_salesforce);
		break;
	}
}

/*
 * Query User by the way's field. The event's id must look like a Salesforce
 * id; Email also reads Username, which picks one of several users sharing
 * the address.
 */
static enum conn_verdict
sf_ask(struct conn_step *cs, const struct conn_way *w, const char *key,
    char **path)
{
	struct sf_step	*st = (struct sf_step *)cs;

	if (w->field == CONN_FIELD_ACCOUNT && !sf_id_valid(key)) {
		step_ctx_note(cs->ctx, "account '%.40s' from the event is not a "
		    "Salesforce id; looking the user up", key);
		return CONN_NEXT;
	}
	conn_doing(cs, "resolve: query User by %s", w->arg);
	*path = sf_query_path_of(st, w->field == CONN_FIELD_EMAIL ?
	    "Id,IsActive,Username" : "Id,IsActive", "User", w->arg, key, NULL);
	return *path != NULL ? CONN_ASK : CONN_DONE;
}

static enum conn_verdict
sf_answer(struct conn_step *cs, const struct conn_way *w,
    const struct target_result *res, struct conn_found *found)
{
	struct sf_step		*st = (struct sf_step *)cs;
	const struct subject	*sub = step_ctx_subject(cs->ctx);
	struct sf_page		 page;
	json_object		*rec = NULL, *r;
	const char		*id, *uname;
	size_t			 i, matches = 0;

	if (!res->ok) {
		conn_fail(cs, res, sf_call_error);
		return CONN_DONE;
	}
	if (sf_page(st, res, &page) != 0)
		return CONN_DONE;
	if (page.nrecords == 0) {
		sf_page_clear(&page);
		return CONN_ABSENT;
	}
	if (page.nrecords == 1 && page.total_size <= 1)
		rec = json_object_array_get_idx(page.records, 0);
	else if (w->field == CONN_FIELD_EMAIL && sub->username != NULL &&
	    sub->username[0] != '\0') {
		/* Several users share the address: the username decides. */
		for (i = 0; i < page.nrecords; i++) {
			r = json_object_array_get_idx(page.records, i);
			uname = sf_record_str(r, "Username");
			if (uname != NULL && strcasecmp(uname, sub->username) == 0) {
				rec = r;
				matches++;
			}
		}
		if (matches != 1)
			rec = NULL;
	}
	if (rec == NULL) {
		conn_finish(cs, STEP_OUT_FAILED, "%s: ambiguous: %lld users with "
		    "%s %.200s", cs->name, page.total_size,
		    w->field == CONN_FIELD_EMAIL ? "email" : w->by, cs->key);
		sf_page_clear(&page);
		return CONN_DONE;
	}
	id = sf_record_str(rec, "Id");
	if (!sf_id_valid(id)) {
		sf_page_clear(&page);
		conn_fail_doing(cs, "user record without a valid Id");
		return CONN_DONE;
	}
	strcpy(st->user, id);
	st->user_active = sf_record_bool(rec, "IsActive");
	sf_page_clear(&page);
	found->id = st->user;
	return CONN_FOUND;
}

/* freeze, unfreeze, reactivate: read the UserLogin row. */
static void
sf_login_query(struct sf_step *st)
{
	conn_doing(&st->cs, "query UserLogin");
	sf_query(st, SF_LOGIN_QUERY, "Id,IsFrozen", "UserLogin", "UserId",
	    st->user, NULL);
}

/* reactivate: the User row says whether it is active. */
static void
sf_user_read_answer(struct sf_step *st, const struct target_result *res)
{
	struct sf_page	 page;

	if (sf_page(st, res, &page) != 0)
		return;
	if (page.nrecords == 0) {
		sf_page_clear(&page);
		/* Salesforce never deletes users: the id is wrong. */
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: no user %s at "
		    "Salesforce (users are never deleted there: is the "
		    "account id right?)", st->cs.name, st->user);
		return;
	}
	st->user_active = sf_record_bool(json_object_array_get_idx(
	    page.records, 0), "IsActive");
	sf_page_clear(&page);
	if (st->user_active == 1)
		sf_login_query(st);
	else
		sf_user_activate(st);
}

/* reactivate: PATCH User {"IsActive":true} (takes a licence). */
static void
sf_user_activate(struct sf_step *st)
{
	char	path[256];

	snprintf(path, sizeof path, "/services/data/%s/sobjects/User/%s",
	    st->version, st->user);
	conn_doing(&st->cs, "PATCH User IsActive=true");
	sf_call(st, SF_USER_ACTIVATE, "PATCH", path, "{\"IsActive\":true}",
	    "application/json");
}

/*
 * Salesforce refused to change IsActive: its errorCode and message, and for
 * a refusal because of the user's settings what to change there, then how
 * to run the step again. The freeze is not undone.
 */
static void
sf_user_refused(struct sf_step *st, const struct target_result *res)
{
	const struct http_response	*resp = res->resp;
	const char			*hint = NULL;
	char				 err[768], code[128], msg[512];
	int				 activating;

	activating = st->phase == SF_USER_ACTIVATE;
	sf_call_error(res, err, sizeof err);
	if (resp != NULL && resp->status >= 400 && resp->status < 500 &&
	    sf_error_parse(resp->body, resp->body_len, code, sizeof code, msg,
	    sizeof msg) == 0)
		hint = sf_user_refusal_hint(activating, code, msg);
	if (hint == NULL) {
		conn_fail_doing(&st->cs, "%s", err);
		return;
	}
	conn_fail_doing(&st->cs, "%s; Salesforce refused to %s the user%s: %s, "
	    "then deprovctl retry %lld", err, activating ? "reactivate" :
	    "deactivate", activating ? " (nothing was changed)" :
	    " (it stays active; a freeze stays in place)", hint,
	    step_ctx_case_id(st->cs.ctx));
}

/*
 * freeze / unfreeze / reactivate: the UserLogin row is in; patch it unless
 * already so.
 */
static void
sf_login_answer(struct sf_step *st, const struct target_result *res)
{
	struct sf_page	 page;
	json_object	*rec;
	const char	*id;
	char		 path[256];
	int		 want = st->cs.kind == STEP_FREEZE, frozen;

	if (sf_page(st, res, &page) != 0)
		return;
	if (page.nrecords == 0) {
		sf_page_clear(&page);
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: no UserLogin row "
		    "for user %s", st->cs.name, st->user);
		return;
	}
	rec = json_object_array_get_idx(page.records, 0);
	id = sf_record_str(rec, "Id");
	frozen = sf_record_bool(rec, "IsFrozen");
	if (!sf_id_valid(id)) {
		sf_page_clear(&page);
		conn_fail_doing(&st->cs, "UserLogin row without a valid Id");
		return;
	}
	snprintf(path, sizeof path, "/services/data/%s/sobjects/UserLogin/%s",
	    st->version, id);
	sf_page_clear(&page);
	if (frozen == want && st->cs.kind == STEP_REACTIVATE) {
		conn_finish(&st->cs, STEP_OUT_OK, "%s; not frozen",
		    st->activated ? "reactivated (IsActive=true)" :
		    "already active");
		return;
	}
	if (frozen == want) {
		conn_finish(&st->cs, STEP_OUT_OK, want ? "already frozen" :
		    "not frozen");
		return;
	}
	conn_doing(&st->cs, "PATCH UserLogin");
	sf_call(st, SF_LOGIN_PATCH, "PATCH", path, want ?
	    "{\"IsFrozen\":true}" : "{\"IsFrozen\":false}", "application/json");
}

/* revoke_tokens: keep a page of OauthToken rows, then the next page or revoke. */
static void
sf_token_answer(struct sf_step *st, const struct target_result *res)
{
	struct sf_page	 page;
	struct sf_token	*t, *nt;
	json_object	*rec;
	const char	*id, *app, *secret;
	char		*next;
	size_t		 i, cap;

	if (sf_page(st, res, &page) != 0)
		return;
	if (page.nrecords > SF_MAX_TOKENS - st->ntokens) {
		sf_page_clear(&page);
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: more than %d "
		    "OauthToken rows", st->cs.name, SF_MAX_TOKENS);
		return;
	}
	if (st->ntokens + page.nrecords > st->tokens_cap) {
		cap = st->ntokens + page.nrecords;
		if ((nt = realloc(st->tokens, cap * sizeof *nt)) == NULL)
			goto nomem;
		st->tokens = nt;
		st->tokens_cap = cap;
	}
	for (i = 0; i < page.nrecords; i++) {
		rec = json_object_array_get_idx(page.records, i);
		id = sf_record_str(rec, "Id");
		app = sf_record_str(rec, "AppName");
		secret = sf_record_str(rec, "DeleteToken");
		t = &st->tokens[st->ntokens];
		memset(t, 0, sizeof *t);
		t->st = st;
		snprintf(t->id, sizeof t->id, "%s", sf_id_valid(id) ? id : "?");
		if ((t->app = strdup(app != NULL ? app : "?")) == NULL)
			goto nomem;
		if (secret != NULL && secret[0] != '\0' &&
		    (t->secret = strdup(secret)) == NULL) {
			free(t->app);
			goto nomem;
		}
		st->ntokens++;
	}
	next = page.next_url;
	page.next_url = NULL;
	sf_page_clear(&page);
	if (next != NULL) {
		conn_doing(&st->cs, "query OauthToken (next page)");
		sf_call(st, SF_TOKEN_QUERY, "GET", next, NULL, NULL);
		free(next);
		return;
	}
	if (st->ntokens == 0) {
		conn_finish(&st->cs, STEP_OUT_OK, "no tokens");
		return;
	}
	st->phase = SF_TOKEN_REVOKE;
	sf_token_pump(st);
	return;
nomem:
	sf_page_clear(&page);
	conn_finish(&st->cs, STEP_OUT_FAILED, "%s: out of memory", st->cs.name);
}

/*
 * Keep up to SF_REVOKE_PARALLEL revokes in flight; when the last one is back
 * (or a systemic failure stopped the sending), finish the step.
 */
static void
sf_token_pump(struct sf_step *st)
{
	struct target_req	 req;
	struct sf_token		*t;
	char			*body;
	size_t			 notsent;

	while (!st->stop && st->outstanding < SF_REVOKE_PARALLEL &&
	    st->next_token < st->ntokens) {
		t = &st->tokens[st->next_token++];
		if (t->secret == NULL) {
			st->failed++;
			if (st->first_error[0] == '\0')
				snprintf(st->first_error, sizeof st->first_error,
				    "OauthToken %s (app %.60s) has no DeleteToken",
				    t->id, t->app);
			continue;
		}
		if ((body = sf_revoke_body(t->secret)) == NULL) {
			st->failed++;
			st->stop = 1;
			snprintf(st->first_error, sizeof st->first_error,
			    "out of memory");
			break;
		}
		memset(&req, 0, sizeof req);
		req.method = "POST";
		req.path = "/services/oauth2/revoke";
		req.body = body;
		req.body_len = strlen(body);
		req.content_type = "application/x-www-form-urlencoded";
		if (target_call(st->cs.target, &req,
		    step_ctx_call_opts(st->cs.ctx), sf_on_revoke, t) != 0) {
			st->failed++;
			st->stop = 1;
			if (st->first_error[0] == '\0')
				snprintf(st->first_error, sizeof st->first_error,
				    "revoke request could not be queued");
		} else
			st->outstanding++;
		explicit_bzero(body, strlen(body));
		free(body);
	}
	if (st->outstanding > 0 || (!st->stop && st->next_token < st->ntokens))
		return;

	notsent = st->ntokens - st->next_token;
	if (st->failed == 0 && notsent == 0) {
		conn_finish(&st->cs, STEP_OUT_OK, "revoked %zu token%s (%zu "
		    "already gone)", st->revoked, st->revoked == 1 ? "" : "s",
		    st->gone);
		return;
	}
	conn_finish(&st->cs, STEP_OUT_FAILED, "%s: %zu of %zu tokens not "
	    "revoked%s: %s; revoked %zu (%zu already gone)", st->cs.name,
	    st->failed + notsent, st->ntokens, notsent > 0 ? " (sending "
	    "stopped)" : "", st->first_error, st->revoked, st->gone);
}

/* One revoke is back: 200 revoked, 400 invalid_token already gone. */
static void
sf_on_revoke(const struct target_result *res, void *arg)
{
	struct sf_token			*t = arg;
	struct sf_step			*st = t->st;
	const struct http_response	*resp = res->resp;
	char				 code[64], msg[256], err[384], *p;
	size_t				 n;

	st->outstanding--;
	if (res->ok)
		st->revoked++;
	else if (resp != NULL && resp->status == 400 &&
	    sf_error_parse(resp->body, resp->body_len, code, sizeof code, msg,
	    sizeof msg) == 0 && strcmp(code, "invalid_token") == 0)
		st->gone++;
	else {
		st->failed++;
		/* 401/403/429/5xx or no answer: the next ones would fail too. */
		if (resp == NULL || resp->status == 0 || resp->status >= 500 ||
		    resp->status == 401 || resp->status == 403 ||
		    resp->status == 429)
			st->stop = 1;
		if (st->first_error[0] == '\0') {
			sf_call_error(res, err, sizeof err);
			/* Should an answer ever echo the token, cut it out. */
			n = strlen(t->secret);
			while (n > 0 && (p = strstr(err, t->secret)) != NULL)
				memmove(p, p + n, strlen(p + n) + 1);
			snprintf(st->first_error, sizeof st->first_error,
			    "POST revoke (OauthToken %s, app %.60s): %s",
			    t->id, t->app, err);
		}
	}
	explicit_bzero(t->secret, strlen(t->secret));
	free(t->secret);
	t->secret = NULL;
	sf_token_pump(st);
}

/* reassign: find the new owner, the manager first. */
static void
sf_owner_start(struct sf_step *st)
{
	const struct subject	*sub = step_ctx_subject(st->cs.ctx);

	if (sub == NULL || sub->manager_email == NULL ||
	    sub->manager_email[0] == '\0') {
		snprintf(st->owner_why, sizeof st->owner_why, "no manager email");
		sf_owner_fallback(st);
		return;
	}
	conn_doing(&st->cs, "query manager User by Email");
	sf_query(st, SF_OWNER_MANAGER, "Id,IsActive,Username", "User", "Email",
	    sub->manager_email, "IsActive=true");
}

/* No usable manager (owner_why says why): look up the fallback owner. */
static void
sf_owner_fallback(struct sf_step *st)
{
	const struct runbook_step	*step = step_ctx_step(st->cs.ctx);

	if (step->fallback_owner == NULL || step->fallback_owner[0] == '\0') {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: no manager and no "
		    "fallback owner (%s; no fallback_owner configured)",
		    st->cs.name, st->owner_why);
		return;
	}
	conn_doing(&st->cs, "query fallback owner User by Username");
	sf_query(st, SF_OWNER_FALLBACK_USERNAME, "Id,IsActive,Username", "User",
	    "Username", step->fallback_owner, NULL);
}

static void
sf_owner_answer(struct sf_step *st, const struct target_result *res)
{
	const struct subject		*sub = step_ctx_subject(st->cs.ctx);
	const struct runbook_step	*step = step_ctx_step(st->cs.ctx);
	struct sf_page			 page;
	json_object			*rec = NULL, *r;
	const char			*id, *uname;
	char				 how[320];
	size_t				 i, matches = 0;

	if (sf_page(st, res, &page) != 0)
		return;
	switch (st->phase) {
	case SF_OWNER_MANAGER:
		if (page.nrecords == 1 && page.total_size <= 1)
			rec = json_object_array_get_idx(page.records, 0);
		else if (page.nrecords > 1) {
			/* Several active users share the address. */
			for (i = 0; i < page.nrecords; i++) {
				r = json_object_array_get_idx(page.records, i);
				uname = sf_record_str(r, "Username");
				if (uname != NULL &&
				    strcasecmp(uname, sub->manager_email) == 0) {
					rec = r;
					matches++;
				}
			}
			if (matches != 1)
				rec = NULL;
		}
		id = sf_record_str(rec, "Id");
		if (rec != NULL && sf_id_valid(id) && strcmp(id, st->user) != 0) {
			snprintf(how, sizeof how, "manager %.200s",
			    sub->manager_email);
			sf_owner_use(st, id, how);
			break;
		}
		if (rec != NULL && sf_id_valid(id))
			snprintf(st->owner_why, sizeof st->owner_why,
			    "manager email %.200s is the leaver's own",
			    sub->manager_email);
		else if (page.nrecords == 0)
			snprintf(st->owner_why, sizeof st->owner_why,
			    "no active user with manager email %.200s",
			    sub->manager_email);
		else
			snprintf(st->owner_why, sizeof st->owner_why,
			    "manager email %.200s matches %lld active users",
			    sub->manager_email, page.total_size);
		step_ctx_note(st->cs.ctx, "%s: using the fallback owner",
		    st->owner_why);
		sf_page_clear(&page);
		sf_owner_fallback(st);
		return;
	case SF_OWNER_FALLBACK_USERNAME:
		if (page.nrecords == 0) {
			sf_page_clear(&page);
			conn_doing(&st->cs, "query fallback owner User by "
			    "Email");
			sf_query(st, SF_OWNER_FALLBACK_EMAIL,
			    "Id,IsActive,Username", "User", "Email",
			    step->fallback_owner, "IsActive=true");
			return;
		}
		rec = json_object_array_get_idx(page.records, 0);
		if (sf_record_bool(rec, "IsActive") == 0) {
			sf_page_clear(&page);
			conn_finish(&st->cs, STEP_OUT_FAILED, "%s: fallback "
			    "owner %.200s is inactive", st->cs.name,
			    step->fallback_owner);
			return;
		}
		/* FALLTHROUGH */
	case SF_OWNER_FALLBACK_EMAIL:
		if (page.nrecords != 1) {
			if (page.nrecords == 0)
				conn_finish(&st->cs, STEP_OUT_FAILED,
				    "%s: no manager and no fallback owner (%s; "
				    "fallback owner %.200s is not an active "
				    "user)", st->cs.name, st->owner_why,
				    step->fallback_owner);
			else
				conn_finish(&st->cs, STEP_OUT_FAILED,
				    "%s: ambiguous: %zu active users with "
				    "email %.200s (fallback owner)",
				    st->cs.name, page.nrecords,
				    step->fallback_owner);
			sf_page_clear(&page);
			return;
		}
		rec = json_object_array_get_idx(page.records, 0);
		id = sf_record_str(rec, "Id");
		if (!sf_id_valid(id) || strcmp(id, st->user) == 0) {
			conn_finish(&st->cs, STEP_OUT_FAILED, "%s: fallback "
			    "owner %.200s %s", st->cs.name,
			    step->fallback_owner, sf_id_valid(id) ?
			    "is the leaver" : "has no valid Id");
			sf_page_clear(&page);
			return;
		}
		snprintf(how, sizeof how, "fallback owner %.200s",
		    step->fallback_owner);
		sf_owner_use(st, id, how);
		break;
	default:
		break;
	}
	sf_page_clear(&page);
	sf_records_object(st);
}

/* Remember the new owner (id is copied before the page is freed). */
static void
sf_owner_use(struct sf_step *st, const char *id, const char *how)
{
	strcpy(st->owner, id);
	step_ctx_note(st->cs.ctx, "new owner %s (%s)", st->owner, how);
}

static void
sf_ids_clear(struct sf_step *st)
{
	size_t	i;

	for (i = 0; i < st->nids; i++)
		free(st->ids[i]);
	st->nids = 0;
	st->pos = 0;
	st->batch = 0;
}

/* Start on the next configured object, or end the step after the last. */
static void
sf_records_object(struct sf_step *st)
{
	const struct runbook_step	*step = step_ctx_step(st->cs.ctx);
	char				 summary[CONN_DETAIL_MAX - 32];

	sf_ids_clear(st);
	if (st->object == step->nobjects) {
		sf_reassign_summary(summary, sizeof summary,
		    (const char *const *)step->objects, st->obj_ok,
		    st->obj_failed, step->nobjects, &st->tally, st->owner);
		if (st->tally.failed > 0)
			conn_finish(&st->cs, STEP_OUT_FAILED, "%s: %s",
			    st->cs.name, summary);
		else
			conn_finish(&st->cs, STEP_OUT_OK, "%s", summary);
		return;
	}
	conn_doing(&st->cs, "query %s", step->objects[st->object]);
	sf_query(st, SF_RECORD_QUERY, "Id", step->objects[st->object],
	    "OwnerId", st->user, NULL);
}

/* A page of ids owned by the leaver: keep them, then update them in batches. */
static void
sf_records_page(struct sf_step *st, const struct target_result *res)
{
	struct sf_page	  page;
	const char	 *id;
	char		**nids;
	size_t		  i;

	if (sf_page(st, res, &page) != 0)
		return;
	sf_ids_clear(st);
	free(st->next_url);
	st->next_url = page.next_url;	/* ownership moves to st */
	page.next_url = NULL;
	if (page.nrecords > 0) {
		if ((nids = realloc(st->ids, page.nrecords * sizeof *nids)) ==
		    NULL)
			goto nomem;
		st->ids = nids;
	}
	for (i = 0; i < page.nrecords; i++) {
		id = sf_record_str(json_object_array_get_idx(page.records, i),
		    "Id");
		if (!sf_id_valid(id)) {
			sf_page_clear(&page);
			conn_fail_doing(&st->cs, "record without a valid Id");
			return;
		}
		if ((st->ids[st->nids] = strdup(id)) == NULL)
			goto nomem;
		st->nids++;
	}
	sf_page_clear(&page);
	sf_records_batch(st);
	return;
nomem:
	sf_page_clear(&page);
	conn_finish(&st->cs, STEP_OUT_FAILED, "%s: out of memory", st->cs.name);
}

/* Send the next batch of this page, else fetch the next page, else next object. */
static void
sf_records_batch(struct sf_step *st)
{
	const struct runbook_step	*step = step_ctx_step(st->cs.ctx);
	const char			*object = step->objects[st->object];
	char				*body, *next, path[64];

	if (st->pos < st->nids) {
		st->batch = st->nids - st->pos;
		if (st->batch > SF_COMPOSITE_MAX)
			st->batch = SF_COMPOSITE_MAX;
		body = sf_composite_body(object,
		    (const char *const *)st->ids + st->pos, st->batch,
		    st->owner);
		if (body == NULL) {
			conn_finish(&st->cs, STEP_OUT_FAILED, "%s: could not "
			    "build the composite body for %s", st->cs.name,
			    object);
			return;
		}
		snprintf(path, sizeof path, "/services/data/%s/composite/sobjects",
		    st->version);
		conn_doing(&st->cs, "PATCH composite/sobjects (%s, %zu "
		    "records)", object, st->batch);
		sf_call(st, SF_RECORD_UPDATE, "PATCH", path, body,
		    "application/json");
		free(body);
		return;
	}
	/*
	 * The locator still walks the result set of the original query, so
	 * the records just given away do not shift the next page.
	 */
	if (st->next_url != NULL) {
		next = st->next_url;
		st->next_url = NULL;
		conn_doing(&st->cs, "query %s (next page)", object);
		sf_call(st, SF_RECORD_QUERY, "GET", next, NULL, NULL);
		free(next);
		return;
	}
	st->object++;
	sf_records_object(st);
}

/* SaveResults of a batch: count them per object, then carry on. */
static void
sf_records_saved(struct sf_step *st, const struct target_result *res)
{
	size_t	ok = st->tally.ok, failed = st->tally.failed;
	char	err[256];

	if (res->resp == NULL || res->resp->body_truncated ||
	    sf_save_results_parse(res->resp->body, res->resp->body_len,
	    (const char *const *)st->ids + st->pos, st->batch, &st->tally, err,
	    sizeof err) != 0) {
		conn_fail_doing(&st->cs, "unexpected answer: %s",
		    res->resp == NULL ? "none" :
		    res->resp->body_truncated ? "truncated" : err);
		return;
	}
	st->obj_ok[st->object] += st->tally.ok - ok;
	st->obj_failed[st->object] += st->tally.failed - failed;
	st->pos += st->batch;
	st->batch = 0;
	sf_records_batch(st);
}
