/*
 * scim: the generic SCIM 2.0 connector (RFC 7644) for Slack, GitHub EMU,
 * Zoom and most SaaS. Each step is a small asynchronous state machine in a
 * heap struct scim_step that the engine frees after step_ctx_done; every
 * target_call callback advances it and the step ends with step_ctx_done
 * exactly once, never while one of its calls is in flight.
 *
 *   resolve            GET /Users/{event account id} (verified), then
 *                      GET /Users?filter=<attr> eq "<value>" for each lookup
 *                      (userName = username, userName = email, externalId =
 *                      employee id by default): none = next lookup; one =
 *                      the account; several = failed "ambiguous"; nothing
 *                      anywhere = skipped "no account"
 *   freeze/deactivate  GET /Users/{id} (active and ETag), then unless already
 *                      inactive PATCH /Users/{id} with a PatchOp setting
 *                      active false (If-Match when an ETag is known); 412 =
 *                      changed since read: re-read once and try again
 *   unfreeze           the same with active true
 *   reactivate         the same with active true; a 404 on the known id is
 *                      a DELETE, which SCIM cannot undo: failed, saying so
 *   delete             DELETE /Users/{id}: 2xx, or 404 = already gone
 *   revoke_tokens,     skipped: SCIM defines neither
 *   reassign
 *
 * Request building and response parsing live in scim-proto.c.
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
#include "scim-internal.h"

#define SCIM_ACCEPT		"Accept: " SCIM_CONTENT_TYPE

enum scim_phase {
	SCIM_READ = 0,		/* GET /Users/{id} before a PATCH */
	SCIM_PATCH,
	SCIM_DELETE
};

struct scim_step {
	struct conn_step	 cs;		/* first: see common.h */
	int			 is_delete;
	int			 want;		/* the active value to set */
	struct scim_opts	 opts;
	enum scim_phase		 phase;

	/* the event's id, then opts.lookups in their order */
	struct conn_way		 ways[1 + SCIM_BY_COUNT];
	char			 refused[160];	/* lookups the target refused */

	struct scim_user	 user;		/* the account */
	int			 fresh;		/* user.active/etag just read */
	int			 rereads;	/* after a 412 */
};

static void	scim_run(struct step_ctx *);
static void	scim_call(struct scim_step *, enum scim_phase, const char *,
		    const char *, const char *, const char *);
static void	scim_on_result(const struct target_result *, void *);
static int	scim_prepare(struct conn_step *);
static int	scim_known(struct conn_step *, const char *);
static int	scim_none(struct conn_step *);
static void	scim_begin(struct conn_step *);
static void	scim_read(struct scim_step *);
static void	scim_decide(struct scim_step *);
static enum conn_verdict scim_ask_id(struct conn_step *,
		    const struct conn_way *, const char *, char **);
static enum conn_verdict scim_id_answer(struct conn_step *,
		    const struct conn_way *, const struct target_result *,
		    struct conn_found *);
static enum conn_verdict scim_ask_filter(struct conn_step *,
		    const struct conn_way *, const char *, char **);
static enum conn_verdict scim_list_answer(struct conn_step *,
		    const struct conn_way *, const struct target_result *,
		    struct conn_found *);
static void	scim_read_answer(struct scim_step *, const struct target_result *);
static void	scim_patch_answer(struct scim_step *, const struct target_result *);
static void	scim_delete_answer(struct scim_step *,
		    const struct target_result *);
static void	scim_gone(struct scim_step *);

const struct connector connector_scim = {
	.kind = "scim",
	.skips = {
		[STEP_REVOKE_TOKENS] = "SCIM has no token revocation (RFC 7644 "
		    "defines no such operation)",
		[STEP_REASSIGN] = "SCIM has no record ownership to reassign",
	},
	.run = scim_run,
	.classify = scim_classify,
	.options = scim_option_keys,
	.check_options = scim_check_options,
	.irreversible = scim_irreversible,
};

/*
 * The lookup: GET /Users/{the event's id} (an empty one is noted as
 * unusable), then the target's lookups (opts.lookups, in their order) as
 * GET /Users?filter=<arg> eq "<value>".
 */
static const struct conn_way scim_way_id = {
	.field = CONN_FIELD_ACCOUNT, .flags = CONN_WAY_EMPTY,
	.by = "the event's account id",
	.request = scim_ask_id, .answer = scim_id_answer,
};

static const struct conn_way scim_lookup_ways[SCIM_BY_COUNT] = {
	[SCIM_BY_USERNAME] = { .field = CONN_FIELD_USERNAME,
	    .by = "userName", .arg = "userName",
	    .request = scim_ask_filter, .answer = scim_list_answer },
	/* the username may be the address: then it was asked already */
	[SCIM_BY_EMAIL] = { .field = CONN_FIELD_EMAIL,
	    .unless = CONN_FIELD_USERNAME, .by = "userName", .arg = "userName",
	    .request = scim_ask_filter, .answer = scim_list_answer },
	[SCIM_BY_EMAILS] = { .field = CONN_FIELD_EMAIL,
	    .by = "emails.value", .arg = "emails.value",
	    .request = scim_ask_filter, .answer = scim_list_answer },
	[SCIM_BY_EXTERNAL_ID] = { .field = CONN_FIELD_EMPLOYEE_ID,
	    .by = "externalId", .arg = "externalId",
	    .request = scim_ask_filter, .answer = scim_list_answer },
};

static const struct conn_kind scim_kind = {
	.connector = &connector_scim,
	.module = "scim",
	.size = sizeof(struct scim_step),
	.free_fn = free,
	.prepare = scim_prepare,
	.known = scim_known,
	.begin = scim_begin,
	.header = SCIM_ACCEPT,
	.none = scim_none,
};

/* Send one call answered in scim_on_result in the given phase. */
static void
scim_call(struct scim_step *st, enum scim_phase phase, const char *method,
    const char *path, const char *body, const char *header)
{
	st->phase = phase;
	conn_call(&st->cs, method, path, body,
	    body != NULL ? SCIM_CONTENT_TYPE : NULL,
	    header != NULL ? header : SCIM_ACCEPT, scim_on_result, st);
}

static void
scim_on_result(const struct target_result *res, void *arg)
{
	struct scim_step	*st = arg;

	switch (st->phase) {
	case SCIM_READ:
		scim_read_answer(st, res);
		break;
	case SCIM_PATCH:
		scim_patch_answer(st, res);
		break;
	case SCIM_DELETE:
		scim_delete_answer(st, res);
		break;
	}
}

static void
scim_run(struct step_ctx *ctx)
{
	conn_run(ctx, &scim_kind);
}

/* The value to set, the options, and the lookup table they make. */
static int
scim_prepare(struct conn_step *cs)
{
	struct scim_step		*st = (struct scim_step *)cs;
	const struct config_target	*cfg;
	char				 err[256];
	size_t				 i;

	st->user.active = -1;
	st->want = cs->kind == STEP_UNFREEZE || cs->kind == STEP_REACTIVATE;
	st->is_delete = cs->kind == STEP_DELETE;

	cfg = target_config(cs->target);
	if (scim_opts_parse(cfg != NULL ? cfg->options : NULL, &st->opts, err,
	    sizeof err) != 0) {
		conn_finish(cs, STEP_OUT_FAILED, "%s: target %s: %s", cs->name,
		    target_name(cs->target), err);
		return -1;
	}
	st->ways[0] = scim_way_id;
	for (i = 0; i < st->opts.nlookups; i++)
		st->ways[1 + i] = scim_lookup_ways[st->opts.lookups[i]];
	cs->ways = st->ways;
	cs->nways = 1 + st->opts.nlookups;
	return 0;
}

/* An irreversible delete never gets here (connector_delete_refused). */
static int
scim_known(struct conn_step *cs, const char *acct)
{
	struct scim_step	*st = (struct scim_step *)cs;

	if (!scim_id_valid(acct)) {
		conn_finish(cs, STEP_OUT_FAILED, "%s: account '%.60s' is not a "
		    "usable SCIM id", cs->name, acct);
		return -1;
	}
	memcpy(st->user.id, acct, strlen(acct) + 1);
	return 0;
}

/* The account is known: do the step. */
static void
scim_begin(struct conn_step *cs)
{
	struct scim_step	*st = (struct scim_step *)cs;
	char			*path;

	if (!st->is_delete) {
		if (st->fresh)
			scim_decide(st);
		else
			scim_read(st);
		return;
	}
	if ((path = scim_user_path(st->user.id)) == NULL) {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: out of memory",
		    st->cs.name);
		return;
	}
	conn_doing(&st->cs, "DELETE User %.80s", st->user.id);
	scim_call(st, SCIM_DELETE, "DELETE", path, NULL, NULL);
	free(path);
}

/* GET the user for its current active value and ETag. */
static void
scim_read(struct scim_step *st)
{
	char	*path;

	if ((path = scim_user_path(st->user.id)) == NULL) {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: out of memory",
		    st->cs.name);
		return;
	}
	conn_doing(&st->cs, "GET User %.80s", st->user.id);
	scim_call(st, SCIM_READ, "GET", path, NULL, NULL);
	free(path);
}

/* The user was just read: PATCH active unless it already has the value. */
static void
scim_decide(struct scim_step *st)
{
	char	*path = NULL, *body = NULL, ifmatch[SCIM_ETAG_MAX + 16];
	int	 etag;

	if (st->user.active == st->want) {
		conn_finish(&st->cs, STEP_OUT_OK, st->want ? "already active" :
		    "already inactive");
		return;
	}
	path = scim_user_path(st->user.id);
	body = scim_patch_active_body(st->want, st->opts.patch_style);
	if (path == NULL || body == NULL) {
		free(path);
		free(body);
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: out of memory",
		    st->cs.name);
		return;
	}
	etag = st->opts.use_etag && scim_if_match(ifmatch, sizeof ifmatch,
	    st->user.etag) == 0;
	conn_doing(&st->cs, "PATCH User %.80s active=%s%s", st->user.id,
	    st->want ? "true" : "false", etag ? " (If-Match)" : "");
	scim_call(st, SCIM_PATCH, "PATCH", path, body, etag ? ifmatch : NULL);
	free(path);
	free(body);
}

/* The user is not there (404): done for a step that takes access away. */
static void
scim_gone(struct scim_step *st)
{
	if (st->cs.kind == STEP_REACTIVATE) {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: user %.80s: the "
		    "account was deleted at %s (SCIM DELETE is irreversible); "
		    "re-create it through the app's provisioning", st->cs.name,
		    st->user.id, target_name(st->cs.target));
		return;
	}
	if (st->want == 1 && !st->is_delete) {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: user %.80s no "
		    "longer exists at the target (404)", st->cs.name,
		    st->user.id);
		return;
	}
	step_ctx_note(st->cs.ctx, "user %.80s no longer exists at the target",
	    st->user.id);
	conn_finish(&st->cs, STEP_OUT_OK, st->is_delete ? "already deleted" :
	    "account no longer exists");
}

/* The account id the event gave, verified by a GET. */
static enum conn_verdict
scim_ask_id(struct conn_step *cs, const struct conn_way *w, const char *id,
    char **path)
{
	struct scim_step	*st = (struct scim_step *)cs;

	if ((*path = scim_user_path(id)) == NULL) {
		step_ctx_note(cs->ctx, "account '%.60s' from the event is not a "
		    "usable SCIM id; looking the user up", id);
		return CONN_NEXT;
	}
	memcpy(st->user.id, id, strlen(id) + 1);
	conn_doing(cs, "resolve: GET User %.80s", id);
	return CONN_ASK;
}

static enum conn_verdict
scim_id_answer(struct conn_step *cs, const struct conn_way *w,
    const struct target_result *res, struct conn_found *found)
{
	struct scim_step	*st = (struct scim_step *)cs;
	struct scim_user	 u;
	char			 err[256];
	const char		*etag;

	/* 404, or 400 for an id of the wrong shape: only a hint, look up. */
	if (!res->ok && res->resp != NULL && (res->resp->status == 404 ||
	    res->resp->status == 400)) {
		step_ctx_note(cs->ctx, "account %.80s from the event not "
		    "found (HTTP %ld); looking the user up", st->user.id,
		    res->resp->status);
		st->user.id[0] = '\0';
		return CONN_NEXT;
	}
	if (!res->ok) {
		conn_fail(cs, res, scim_call_error);
		return CONN_DONE;
	}
	etag = http_response_header(res->resp, "ETag");
	if (res->resp->body_truncated || scim_user_parse(res->resp->body,
	    res->resp->body_len, etag, &u, err, sizeof err) != 0) {
		conn_fail_doing(cs, "unexpected answer: %s",
		    res->resp->body_truncated ? "truncated" : err);
		return CONN_DONE;
	}
	if (strcmp(u.id, st->user.id) != 0) {
		step_ctx_note(cs->ctx, "GET of account %.80s from the event "
		    "answered user %.80s; looking the user up", st->user.id, u.id);
		st->user.id[0] = '\0';
		return CONN_NEXT;
	}
	st->user = u;
	st->fresh = 1;
	found->id = st->user.id;
	return CONN_FOUND;
}

/* GET /Users?filter=<arg> eq "<value>" */
static enum conn_verdict
scim_ask_filter(struct conn_step *cs, const struct conn_way *w,
    const char *value, char **path)
{
	char	filter[SCIM_FILTER_MAX + 64];

	if (scim_filter_eq(filter, sizeof filter, w->arg, value) != 0) {
		step_ctx_note(cs->ctx, "%s '%.60s' cannot be used in a SCIM "
		    "filter (control character, not UTF-8 or too long); lookup "
		    "passed over", w->arg, value);
		return CONN_NEXT;
	}
	if ((*path = scim_list_path(filter)) == NULL) {
		conn_finish(cs, STEP_OUT_FAILED, "%s: out of memory", cs->name);
		return CONN_DONE;
	}
	conn_doing(cs, "resolve: GET Users?filter=%s eq \"%.120s\"", w->arg,
	    value);
	return CONN_ASK;
}

/* Every lookup refused (invalidFilter) is not the same as nobody found. */
static int
scim_none(struct conn_step *cs)
{
	struct scim_step	*st = (struct scim_step *)cs;

	if (st->refused[0] == '\0')
		return 0;
	conn_finish(cs, STEP_OUT_FAILED, "%s: no account found, and the "
	    "target refused the filter on %s", cs->name, st->refused);
	return 1;
}

static enum conn_verdict
scim_list_answer(struct conn_step *cs, const struct conn_way *w,
    const struct target_result *res, struct conn_found *found)
{
	struct scim_step	*st = (struct scim_step *)cs;
	struct scim_user	 u;
	long long		 total = 0;
	char			 err[256], stat[16], type[64], detail[256];
	size_t			 len;

	if (!res->ok && res->resp != NULL && res->resp->status == 400 &&
	    scim_error_parse(res->resp->body, res->resp->body_len, stat,
	    sizeof stat, type, sizeof type, detail, sizeof detail) == 0 &&
	    strcmp(type, "invalidFilter") == 0) {
		/* This target cannot filter on the attribute: try the next. */
		step_ctx_note(cs->ctx, "the target refused the filter on %s "
		    "(invalidFilter%s%.120s)", w->arg, detail[0] != '\0' ?
		    ": " : "", detail);
		len = strlen(st->refused);
		snprintf(st->refused + len, sizeof st->refused - len, "%s%s",
		    len > 0 ? ", " : "", w->arg);
		return CONN_NEXT;
	}
	if (!res->ok) {
		conn_fail(cs, res, scim_call_error);
		return CONN_DONE;
	}
	if (res->resp->body_truncated) {
		conn_fail_doing(cs, "answer too large (truncated)");
		return CONN_DONE;
	}
	switch (scim_list_parse(res->resp->body, res->resp->body_len, w->arg,
	    cs->key, &u, &total, err, sizeof err)) {
	case SCIM_LIST_NONE:
		return CONN_ABSENT;
	case SCIM_LIST_ONE:
		st->user = u;
		st->fresh = 1;
		found->id = st->user.id;
		return CONN_FOUND;
	case SCIM_LIST_MANY:
		conn_finish(cs, STEP_OUT_FAILED, "%s: ambiguous: %lld users with "
		    "%s \"%.200s\"", cs->name, total, w->arg, cs->key);
		return CONN_DONE;
	case SCIM_LIST_MISMATCH:
		conn_fail_doing(cs, "the target answered user %.80s, which does "
		    "not have %s \"%.200s\" (is the filter ignored?)", u.id,
		    w->arg, cs->key);
		return CONN_DONE;
	default:
		conn_fail_doing(cs, "unexpected answer: %s", err);
		return CONN_DONE;
	}
}

static void
scim_read_answer(struct scim_step *st, const struct target_result *res)
{
	struct scim_user	 u;
	char			 err[256];

	if (!res->ok && res->resp != NULL && res->resp->status == 404) {
		scim_gone(st);
		return;
	}
	if (!res->ok) {
		conn_fail(&st->cs, res, scim_call_error);
		return;
	}
	if (res->resp->body_truncated || scim_user_parse(res->resp->body,
	    res->resp->body_len, http_response_header(res->resp, "ETag"), &u,
	    err, sizeof err) != 0) {
		conn_fail_doing(&st->cs, "unexpected answer: %s",
		    res->resp->body_truncated ? "truncated" : err);
		return;
	}
	if (strcmp(u.id, st->user.id) != 0) {
		conn_fail_doing(&st->cs, "the answer is user %.80s", u.id);
		return;
	}
	st->user = u;
	st->fresh = 1;
	scim_decide(st);
}

static void
scim_patch_answer(struct scim_step *st, const struct target_result *res)
{
	struct scim_user	 u;
	char			 err[256];
	const char		*done;

	if (!res->ok && res->resp != NULL && res->resp->status == 412) {
		if (st->rereads++ > 0) {
			conn_fail(&st->cs, res, scim_call_error);
			return;
		}
		step_ctx_note(st->cs.ctx, "user %.80s changed since it was "
		    "read (412); reading it again", st->user.id);
		st->fresh = 0;
		scim_read(st);
		return;
	}
	if (!res->ok && res->resp != NULL && res->resp->status == 404) {
		scim_gone(st);
		return;
	}
	if (!res->ok) {
		conn_fail(&st->cs, res, scim_call_error);
		return;
	}
	/* 200 with the resource (check it took), or 204 without a body. */
	if (res->resp->status != 204 && res->resp->body_len > 0 &&
	    !res->resp->body_truncated && scim_user_parse(res->resp->body,
	    res->resp->body_len, NULL, &u, err, sizeof err) == 0 &&
	    u.active >= 0 && u.active != st->want) {
		conn_fail_doing(&st->cs, "answered %ld but the user is still "
		    "active=%s", res->resp->status, u.active ? "true" :
		    "false");
		return;
	}
	switch (st->cs.kind) {
	case STEP_FREEZE:
		done = "frozen (active=false)";
		break;
	case STEP_UNFREEZE:
		done = "unfrozen (active=true)";
		break;
	case STEP_REACTIVATE:
		done = "reactivated (active=true)";
		break;
	default:
		done = "deactivated (active=false)";
		break;
	}
	conn_finish(&st->cs, STEP_OUT_OK, "%s", done);
}

static void
scim_delete_answer(struct scim_step *st, const struct target_result *res)
{
	if (!res->ok && res->resp != NULL && res->resp->status == 404) {
		scim_gone(st);
		return;
	}
	if (!res->ok) {
		conn_fail(&st->cs, res, scim_call_error);
		return;
	}
	if (st->opts.delete_deactivates)
		conn_finish(&st->cs, STEP_OUT_OK, "deleted (on %s a SCIM "
		    "DELETE only deactivates the user)",
		    st->opts.preset != NULL ? st->opts.preset : "this target");
	else
		conn_finish(&st->cs, STEP_OUT_OK, "deleted");
}
