/*
 * okta: the Okta connector (Management API, /api/v1/users). Okta's
 * lifecycle calls are not idempotent (suspending a suspended user is a 400),
 * so every lifecycle step reads the user's status first, also when it runs
 * again after a crash, and lets okta_decide say whether to call at all.
 * Each step is an asynchronous state machine in a heap struct okta_step that
 * the engine frees after step_ctx_done.
 *
 *   resolve        GET /api/v1/users/{event account id}, then {username},
 *                  then {email} (URL-encoded); 404 E0000007 = try the next;
 *                  none = skipped "no account"
 *   freeze         status ACTIVE: POST .../lifecycle/suspend; SUSPENDED or
 *                  DEPROVISIONED: done; see okta-proto.c for the others
 *   revoke_tokens  DELETE .../sessions?oauthTokens=true, DELETE .../grants
 *                  (204; 404 = the user is gone: done)
 *   deactivate     unless DEPROVISIONED: POST .../lifecycle/deactivate?sendEmail=false
 *   unfreeze       status SUSPENDED: POST .../lifecycle/unsuspend
 *   reactivate     SUSPENDED: POST .../lifecycle/unsuspend; DEPROVISIONED:
 *                  POST .../lifecycle/activate?sendEmail=false (Okta leaves
 *                  the user PROVISIONED until the person completes
 *                  activation); ACTIVE: done; deleted (404): failed
 *   reassign       skipped: Okta holds no owned records
 *
 * A lifecycle call answered 400 (E0000001) or 404 means the status changed
 * under us: the step reads it once more and decides again. 429 E0000047 is
 * retried by the target, which waits for X-Rate-Limit-Reset. Auth (SSWS or
 * OAuth private-key JWT) is the target's configuration, not ours.
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
#include "okta-internal.h"

enum okta_phase {
	OKTA_READ = 0,		/* status before a lifecycle call */
	OKTA_LIFECYCLE,
	OKTA_SESSIONS,		/* revoke_tokens */
	OKTA_GRANTS,
	OKTA_CONTAIN		/* freeze of an unsuspendable user: sessions */
};

struct okta_step {
	struct conn_step	 cs;		/* first: see common.h */
	struct okta_opts	 opts;
	enum okta_phase		 phase;
	struct okta_user	 user;
	int			 fresh;		/* user.status just read */
	int			 rereads;
	const char		*why;		/* okta_decide's reason */
	int			 gone;		/* revoke: the user is not there */
};

static void	okta_run(struct step_ctx *);
static void	okta_call(struct okta_step *, enum okta_phase, const char *,
		    const char *);
static void	okta_on_result(const struct target_result *, void *);
static int	okta_prepare(struct conn_step *);
static int	okta_known(struct conn_step *, const char *);
static void	okta_begin(struct conn_step *);
static void	okta_read(struct okta_step *);
static void	okta_decide_now(struct okta_step *);
static void	okta_lifecycle(struct okta_step *);
static enum conn_verdict okta_ask(struct conn_step *, const struct conn_way *,
		    const char *, char **);
static enum conn_verdict okta_answer(struct conn_step *,
		    const struct conn_way *, const struct target_result *,
		    struct conn_found *);
static void	okta_read_answer(struct okta_step *, const struct target_result *);
static void	okta_lifecycle_answer(struct okta_step *,
		    const struct target_result *);
static void	okta_revoke_answer(struct okta_step *,
		    const struct target_result *);
static void	okta_contain_answer(struct okta_step *,
		    const struct target_result *);
static void	okta_gone(struct okta_step *);
static void	okta_delete_path(struct okta_step *, enum okta_phase,
		    const char *, const char *);

const struct connector connector_okta = {
	.kind = "okta",
	.skips = {
		[STEP_REASSIGN] = "Okta holds no owned records to reassign",
		[STEP_DELETE] = "delete is not done by the okta connector: "
		    "deactivate (DEPROVISIONED) is the end state; deleting the "
		    "user is left to an administrator",
	},
	.run = okta_run,
	.classify = okta_classify,
	.options = okta_option_keys,
	.check_options = okta_check_options,
	.signals = okta_signals,
};

/* The lookup: GET /api/v1/users/{key}, the event's id, then each as a login. */
static const struct conn_way okta_ways[] = {
	{ .field = CONN_FIELD_ACCOUNT, .by = "the event's account id",
	    .request = okta_ask, .answer = okta_answer },
	{ .field = CONN_FIELD_USERNAME, .by = "login = username",
	    .request = okta_ask, .answer = okta_answer },
	{ .field = CONN_FIELD_EMAIL, .unless = CONN_FIELD_USERNAME,
	    .by = "login = email", .request = okta_ask, .answer = okta_answer },
};

static const struct conn_kind okta_kind = {
	.connector = &connector_okta,
	.module = "okta",
	.size = sizeof(struct okta_step),
	.free_fn = free,
	.prepare = okta_prepare,
	.known = okta_known,
	.begin = okta_begin,
	.ways = okta_ways,
	.nways = sizeof okta_ways / sizeof okta_ways[0],
	.header = "Accept: application/json",
};

/* Send a bodiless call answered in okta_on_result in the given phase. */
static void
okta_call(struct okta_step *st, enum okta_phase phase, const char *method,
    const char *path)
{
	st->phase = phase;
	/* Okta wants a JSON content type on POSTs even without a body. */
	conn_call(&st->cs, method, path, NULL, strcmp(method, "POST") == 0 ?
	    "application/json" : NULL, "Accept: application/json",
	    okta_on_result, st);
}

static void
okta_on_result(const struct target_result *res, void *arg)
{
	struct okta_step	*st = arg;

	switch (st->phase) {
	case OKTA_READ:
		okta_read_answer(st, res);
		break;
	case OKTA_LIFECYCLE:
		okta_lifecycle_answer(st, res);
		break;
	case OKTA_SESSIONS:
	case OKTA_GRANTS:
		okta_revoke_answer(st, res);
		break;
	case OKTA_CONTAIN:
		okta_contain_answer(st, res);
		break;
	default:
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: unexpected answer "
		    "in phase %d", st->cs.name, (int)st->phase);
		break;
	}
}

static void
okta_run(struct step_ctx *ctx)
{
	conn_run(ctx, &okta_kind);
}

static int
okta_prepare(struct conn_step *cs)
{
	struct okta_step		*st = (struct okta_step *)cs;
	const struct config_target	*cfg;
	char				 err[256];

	cfg = target_config(cs->target);
	if (okta_opts_parse(cfg != NULL ? cfg->options : NULL, &st->opts, err,
	    sizeof err) != 0) {
		conn_finish(cs, STEP_OUT_FAILED, "%s: target %s: %s", cs->name,
		    target_name(cs->target), err);
		return -1;
	}
	return 0;
}

static int
okta_known(struct conn_step *cs, const char *acct)
{
	struct okta_step	*st = (struct okta_step *)cs;

	if (!okta_key_valid(acct) || strlen(acct) > OKTA_ID_MAX) {
		conn_finish(cs, STEP_OUT_FAILED, "%s: account '%.60s' is not a "
		    "usable Okta user id", cs->name, acct);
		return -1;
	}
	memcpy(st->user.id, acct, strlen(acct) + 1);
	return 0;
}

/* The user id is known: do the step. */
static void
okta_begin(struct conn_step *cs)
{
	struct okta_step	*st = (struct okta_step *)cs;

	if (st->cs.kind == STEP_REVOKE_TOKENS) {
		conn_doing(&st->cs, "DELETE sessions of %s", st->user.id);
		okta_delete_path(st, OKTA_SESSIONS, "/sessions?oauthTokens=true",
		    "sessions");
		return;
	}
	if (st->fresh)
		okta_decide_now(st);
	else
		okta_read(st);
}

/* DELETE /api/v1/users/{id}<suffix>. */
static void
okta_delete_path(struct okta_step *st, enum okta_phase phase,
    const char *suffix, const char *what)
{
	char	*path;

	if ((path = okta_user_path(st->user.id, suffix)) == NULL) {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: cannot build the %s "
		    "path", st->cs.name, what);
		return;
	}
	okta_call(st, phase, "DELETE", path);
	free(path);
}

/* Read the user's status (before every lifecycle call). */
static void
okta_read(struct okta_step *st)
{
	char	*path;

	if ((path = okta_user_path(st->user.id, NULL)) == NULL) {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: cannot build the "
		    "user path", st->cs.name);
		return;
	}
	conn_doing(&st->cs, "GET user %s", st->user.id);
	okta_call(st, OKTA_READ, "GET", path);
	free(path);
}

/* The status is fresh: call, or finish as okta_decide says. */
static void
okta_decide_now(struct okta_step *st)
{
	const char		*why;
	enum okta_action	 a;

	a = okta_decide(st->cs.kind, &st->user, &why);
	switch (a) {
	case OKTA_ACT_CALL:
		okta_lifecycle(st);
		return;
	case OKTA_ACT_DONE:
		conn_finish(&st->cs, STEP_OUT_OK, "%s", why);
		return;
	case OKTA_ACT_SKIP:
		conn_finish(&st->cs, STEP_OUT_SKIPPED, "%s", why);
		return;
	case OKTA_ACT_UNSUSPENDABLE:
		/* Contain what can be contained, then say what could not. */
		st->why = why;
		conn_doing(&st->cs, "DELETE sessions of %s (status %s)",
		    st->user.id, st->user.status_name);
		okta_delete_path(st, OKTA_CONTAIN, "/sessions?oauthTokens=true",
		    "sessions");
		return;
	default:
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: user %s status "
		    "'%s': %s", st->cs.name, st->user.id, st->user.status_name,
		    why);
		return;
	}
}

static void
okta_lifecycle(struct okta_step *st)
{
	const char	*suffix, *op;
	char		*path;

	op = okta_lifecycle_op(st->cs.kind, &st->user, &suffix);
	if ((path = okta_user_path(st->user.id, suffix)) == NULL) {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: cannot build the %s "
		    "path", st->cs.name, op);
		return;
	}
	conn_doing(&st->cs, "POST %s %s (status %s)", op, st->user.id,
	    st->user.status_name);
	okta_call(st, OKTA_LIFECYCLE, "POST", path);
	free(path);
}

/* The user is gone (404 E0000007). */
static void
okta_gone(struct okta_step *st)
{
	if (st->cs.kind == STEP_REACTIVATE) {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: user %s was deleted "
		    "at Okta (404 E0000007): a deleted Okta user cannot be "
		    "brought back; create the user again", st->cs.name,
		    st->user.id);
		return;
	}
	if (st->cs.kind == STEP_UNFREEZE) {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: user %s no longer "
		    "exists at Okta (404 E0000007)", st->cs.name, st->user.id);
		return;
	}
	step_ctx_note(st->cs.ctx, "user %s no longer exists at Okta",
	    st->user.id);
	conn_finish(&st->cs, STEP_OUT_OK, "user no longer exists");
}

/* GET /api/v1/users/{key}: the event's id, or a login. */
static enum conn_verdict
okta_ask(struct conn_step *cs, const struct conn_way *w, const char *key,
    char **path)
{
	if ((*path = okta_user_path(key, NULL)) == NULL) {
		step_ctx_note(cs->ctx, "%s '%.60s' cannot name an Okta user; "
		    "lookup passed over", w->by, key);
		return CONN_NEXT;
	}
	conn_doing(cs, "resolve: GET user %.200s (%s)", key, w->by);
	return CONN_ASK;
}

/* A user: its status is fresh. 404 E0000007: nobody by this key. */
static enum conn_verdict
okta_answer(struct conn_step *cs, const struct conn_way *w,
    const struct target_result *res, struct conn_found *found)
{
	struct okta_step	*st = (struct okta_step *)cs;
	char			 err[256];

	if (!res->ok && okta_not_found(res->resp))
		return CONN_ABSENT;
	if (!res->ok) {
		conn_fail(cs, res, okta_call_error);
		return CONN_DONE;
	}
	if (res->resp->body_truncated || okta_user_parse(res->resp->body,
	    res->resp->body_len, &st->user, err, sizeof err) != 0) {
		conn_fail_doing(cs, "unexpected answer: %s",
		    res->resp->body_truncated ? "truncated" : err);
		return CONN_DONE;
	}
	st->fresh = 1;
	found->id = st->user.id;
	found->status = st->user.status_name;
	return CONN_FOUND;
}

static void
okta_read_answer(struct okta_step *st, const struct target_result *res)
{
	struct okta_user	 u;
	char			 err[256];

	if (!res->ok && okta_not_found(res->resp)) {
		okta_gone(st);
		return;
	}
	if (!res->ok) {
		conn_fail(&st->cs, res, okta_call_error);
		return;
	}
	if (res->resp->body_truncated || okta_user_parse(res->resp->body,
	    res->resp->body_len, &u, err, sizeof err) != 0) {
		conn_fail_doing(&st->cs, "unexpected answer: %s",
		    res->resp->body_truncated ? "truncated" : err);
		return;
	}
	if (strcmp(u.id, st->user.id) != 0) {
		conn_fail_doing(&st->cs, "the answer is user %s", u.id);
		return;
	}
	st->user = u;
	st->fresh = 1;
	okta_decide_now(st);
}

static void
okta_lifecycle_answer(struct okta_step *st, const struct target_result *res)
{
	const struct http_response	*resp = res->resp;
	char				 err[768];

	if (res->ok) {
		switch (st->cs.kind) {
		case STEP_FREEZE:
			conn_finish(&st->cs, STEP_OUT_OK, "suspended");
			break;
		case STEP_UNFREEZE:
			conn_finish(&st->cs, STEP_OUT_OK, "unsuspended");
			break;
		case STEP_REACTIVATE:
			if (st->user.status == OKTA_SUSPENDED)
				conn_finish(&st->cs, STEP_OUT_OK, "unsuspended "
				    "(ACTIVE)");
			else
				conn_finish(&st->cs, STEP_OUT_OK, "activated "
				    "from %s; Okta leaves a reactivated user "
				    "PROVISIONED until the person completes "
				    "activation (sendEmail=false: Okta sent no "
				    "email; send the activation or a password "
				    "reset from the Okta admin console)",
				    st->user.status_name);
			break;
		default:
			conn_finish(&st->cs, STEP_OUT_OK, "deactivated%s",
			    resp != NULL && resp->status == 202 ?
			    " (asynchronous at Okta)" : "");
			break;
		}
		return;
	}
	/*
	 * 400 (E0000001: not allowed in this status) or 404 (E0000007, also
	 * what deactivating a DEPROVISIONED user answers), or for an
	 * activation 403 (E0000016: already active): the status changed
	 * since we read it. Read it again and decide once more.
	 */
	if (resp != NULL && (resp->status == 400 || okta_not_found(resp) ||
	    (st->cs.kind == STEP_REACTIVATE && resp->status == 403)) &&
	    st->rereads++ == 0) {
		okta_call_error(res, err, sizeof err);
		step_ctx_note(st->cs.ctx, "%s answered %s; reading the status "
		    "again", st->cs.doing, err);
		st->fresh = 0;
		okta_read(st);
		return;
	}
	conn_fail(&st->cs, res, okta_call_error);
}

/* revoke_tokens: sessions (with OAuth tokens), then grants. */
static void
okta_revoke_answer(struct okta_step *st, const struct target_result *res)
{
	if (!res->ok && okta_not_found(res->resp)) {
		okta_gone(st);
		return;
	}
	if (!res->ok) {
		conn_fail(&st->cs, res, okta_call_error);
		return;
	}
	if (st->phase == OKTA_SESSIONS) {
		conn_doing(&st->cs, "DELETE grants of %s", st->user.id);
		okta_delete_path(st, OKTA_GRANTS, "/grants", "grants");
		return;
	}
	conn_finish(&st->cs, STEP_OUT_OK, "sessions, OAuth tokens and grants "
	    "revoked");
}

/* freeze of a user Okta cannot suspend: sessions are revoked; say so. */
static void
okta_contain_answer(struct okta_step *st, const struct target_result *res)
{
	char	err[768];

	if (!res->ok && okta_not_found(res->resp)) {
		okta_gone(st);
		return;
	}
	if (!res->ok) {
		okta_call_error(res, err, sizeof err);
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: user %s status %s: "
		    "not suspended (%s), and revoking its sessions failed: %s",
		    st->cs.name, st->user.id, st->user.status_name, st->why,
		    err);
		return;
	}
	conn_finish(&st->cs, st->opts.unsuspendable_skip ? STEP_OUT_SKIPPED :
	    STEP_OUT_FAILED, "%s%suser %s status %s: not suspended (%s); its "
	    "sessions and OAuth tokens were revoked; deactivate it (or unlock "
	    "or reset it, then freeze again) to lock it out",
	    st->opts.unsuspendable_skip ? "" : st->cs.name,
	    st->opts.unsuspendable_skip ? "" : ": ", st->user.id,
	    st->user.status_name, st->why);
}
