/*
 * graph: the Microsoft Entra ID connector (Microsoft Graph v1.0). Each step
 * is a small asynchronous state machine in a heap struct graph_step that
 * the engine frees after step_ctx_done. When the account is not known yet
 * it is resolved first: the event's account id, then GET /v1.0/users/{key}
 * with the username and the email as userPrincipalName, then $filter on
 * mail and on employeeId; a 404 Request_ResourceNotFound moves on to the
 * next identifier, none at all is "skipped: no account".
 *
 *   freeze         PATCH /v1.0/users/{id} {"accountEnabled":false} (204);
 *                  after a resolve that saw it disabled: nothing to do
 *   revoke_tokens  POST /v1.0/users/{id}/revokeSignInSessions (200); Graph
 *                  documents a delay of a few minutes before it bites
 *   reassign       skipped: the Graph user API has no ownership transfer
 *   deactivate     GET the user; PATCH accountEnabled false only when it is
 *                  still enabled (Entra has no state past "disabled" short of
 *                  deletion; licence and group removal are not done here)
 *   unfreeze       PATCH {"accountEnabled":true}
 *   reactivate     GET the user (unless the resolve just read it); PATCH
 *                  accountEnabled true unless enabled. Sessions revoked
 *                  before stay revoked; a deleted user (404) fails the step
 *                  (Entra keeps it restorable for 30 days; not done here)
 *
 * Request building and response parsing live in graph-proto.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "deprov/connector.h"
#include "deprov/event.h"
#include "deprov/log.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

#include "common.h"
#include "graph-internal.h"

enum graph_phase {
	GRAPH_RESOLVE_ID = 0,		/* the account id the event gave */
	GRAPH_RESOLVE_USERNAME,		/* username as userPrincipalName */
	GRAPH_RESOLVE_EMAIL,		/* email as userPrincipalName */
	GRAPH_RESOLVE_MAIL,		/* $filter=mail eq '...' */
	GRAPH_RESOLVE_EMPLOYEE,		/* $filter=employeeId eq '...' */
	GRAPH_RESOLVE_END,
	GRAPH_READ,			/* deactivate: the current state */
	GRAPH_PATCH,			/* freeze, unfreeze, deactivate */
	GRAPH_REVOKE			/* revoke_tokens */
};

struct graph_step {
	struct conn_step	 cs;		/* first: see common.h */
	enum graph_phase	 phase;
	char			 key[GRAPH_KEY_MAX + 1];	/* what the resolve tried */
	struct graph_user	 user;		/* the leaver's account */
	int			 resolved;	/* user.enabled is fresh */
};

static void	graph_run(struct step_ctx *);
static void	graph_send(struct graph_step *, enum graph_phase, const char *,
		    const char *, const char *);
static void	graph_on_result(const struct target_result *, void *);
static void	graph_resolve_from(struct graph_step *, enum graph_phase);
static void	graph_resolve_answer(struct graph_step *, const struct target_result *);
static void	graph_begin(struct graph_step *);
static void	graph_patch(struct graph_step *, int);

const struct connector connector_graph = {
	.kind = "graph",
	.skips = {
		[STEP_REASSIGN] = "Microsoft Graph's user API has no ownership "
		    "transfer (OneDrive files, group and app ownership are not "
		    "reassigned by this connector)",
		[STEP_DELETE] = "not supported by the graph connector",
	},
	.run = graph_run,
	.classify = graph_classify,
};

/* Send one call; its answer goes to graph_on_result in the given phase. */
static void
graph_send(struct graph_step *st, enum graph_phase phase, const char *method,
    const char *path, const char *body)
{
	st->phase = phase;
	conn_call(&st->cs, method, path, body,
	    body != NULL ? "application/json" : NULL, NULL, graph_on_result,
	    st);
}

static void
graph_run(struct step_ctx *ctx)
{
	struct graph_step	*st;
	const char		*acct;

	if ((st = conn_step_new(ctx, sizeof *st, free, "graph")) == NULL)
		return;
	st->user.enabled = -1;

	switch (st->cs.kind) {
	case STEP_FREEZE:
	case STEP_UNFREEZE:
	case STEP_REVOKE_TOKENS:
	case STEP_DEACTIVATE:
	case STEP_REACTIVATE:
		break;
	default:
		conn_unsupported(&st->cs, &connector_graph);
		return;
	}
	if ((acct = step_ctx_account(ctx)) == NULL) {
		graph_resolve_from(st, GRAPH_RESOLVE_ID);
		return;
	}
	if (strlen(acct) > GRAPH_ID_MAX) {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: account '%.40s...' "
		    "is not a Graph object id", st->cs.name, acct);
		return;
	}
	snprintf(st->user.id, sizeof st->user.id, "%s", acct);
	graph_begin(st);
}

/*
 * Resolve the account, trying from phase `from` on. Identifiers the subject
 * has no value for (or that repeat the previous one) are passed over.
 */
static void
graph_resolve_from(struct graph_step *st, enum graph_phase from)
{
	const struct subject	*sub = step_ctx_subject(st->cs.ctx);
	const char		*key = NULL;
	char			*path = NULL;
	enum graph_phase	 p;

	for (p = from; p < GRAPH_RESOLVE_END; p++) {
		key = NULL;
		switch (p) {
		case GRAPH_RESOLVE_ID:
			key = conn_event_account(&st->cs);
			break;
		case GRAPH_RESOLVE_USERNAME:
			if (sub != NULL && sub->username != NULL &&
			    strchr(sub->username, '@') != NULL)
				key = sub->username;
			break;
		case GRAPH_RESOLVE_EMAIL:
			if (sub != NULL && sub->email != NULL &&
			    (sub->username == NULL ||
			    strcasecmp(sub->email, sub->username) != 0))
				key = sub->email;
			break;
		case GRAPH_RESOLVE_MAIL:
			if (sub != NULL && sub->email != NULL)
				key = sub->email;
			break;
		case GRAPH_RESOLVE_EMPLOYEE:
			if (sub != NULL && sub->employee_id != NULL)
				key = sub->employee_id;
			break;
		default:
			break;
		}
		if (key == NULL || key[0] == '\0')
			continue;
		if (p == GRAPH_RESOLVE_MAIL || p == GRAPH_RESOLVE_EMPLOYEE)
			path = graph_filter_path(p == GRAPH_RESOLVE_MAIL ? "mail" :
			    "employeeId", key, GRAPH_SELECT);
		else
			path = graph_user_path(key, NULL, GRAPH_SELECT);
		if (path == NULL) {
			step_ctx_note(st->cs.ctx, "resolve: identifier '%.60s' "
			    "cannot be used in a Graph request; skipped", key);
			continue;
		}
		snprintf(st->key, sizeof st->key, "%s", key);
		conn_doing(&st->cs, "resolve: %s %.100s",
		    p == GRAPH_RESOLVE_MAIL ? "filter mail eq" :
		    p == GRAPH_RESOLVE_EMPLOYEE ? "filter employeeId eq" :
		    p == GRAPH_RESOLVE_ID ? "GET user id" : "GET user", key);
		graph_send(st, p, "GET", path, NULL);
		free(path);
		return;
	}
	conn_finish(&st->cs, STEP_OUT_NO_ACCOUNT, "no account");
}

static void
graph_resolve_answer(struct graph_step *st, const struct target_result *res)
{
	static const char	*by[] = { "account id", "username", "email as UPN",
				    "mail", "employeeId" };
	const struct http_response *resp = res->resp;
	struct graph_user	 u;
	size_t			 count = 0;
	char			 err[256];

	if (!res->ok) {
		if (graph_not_found(resp)) {
			if (st->phase == GRAPH_RESOLVE_ID)
				step_ctx_note(st->cs.ctx, "account %.60s from "
				    "the event not found; looking the user up",
				    st->key);
			graph_resolve_from(st, st->phase + 1);
			return;
		}
		/* a key Graph refuses as an identifier is not this user either */
		if (resp != NULL && resp->status == 400 &&
		    st->phase != GRAPH_RESOLVE_MAIL &&
		    st->phase != GRAPH_RESOLVE_EMPLOYEE) {
			graph_call_error(res, err, sizeof err);
			step_ctx_note(st->cs.ctx, "resolve: %.100s: %s; next "
			    "identifier", st->key, err);
			graph_resolve_from(st, st->phase + 1);
			return;
		}
		conn_fail(&st->cs, res, graph_call_error);
		return;
	}
	if (resp == NULL || resp->body_truncated) {
		conn_fail_doing(&st->cs, "truncated answer");
		return;
	}
	if (st->phase == GRAPH_RESOLVE_MAIL || st->phase == GRAPH_RESOLVE_EMPLOYEE) {
		if (graph_list_parse(resp->body, resp->body_len, &count, &u, err,
		    sizeof err) != 0) {
			conn_fail_doing(&st->cs, "%s", err);
			return;
		}
		if (count == 0) {
			graph_resolve_from(st, st->phase + 1);
			return;
		}
		if (count > 1) {
			conn_finish(&st->cs, STEP_OUT_FAILED, "%s: ambiguous: "
			    "%zu users with %s %.200s", st->cs.name, count,
			    by[st->phase], st->key);
			return;
		}
	} else if (graph_user_parse(resp->body, resp->body_len, &u, err,
	    sizeof err) != 0) {
		conn_fail_doing(&st->cs, "%s", err);
		return;
	}
	st->user = u;
	st->resolved = 1;
	step_ctx_set_account(st->cs.ctx, st->user.id);
	step_ctx_note(st->cs.ctx, "account %s%s%s (found by %s)", st->user.id,
	    st->user.upn[0] != '\0' ? " " : "", st->user.upn, by[st->phase]);
	graph_begin(st);
}

/* The account is known: do the step itself. */
static void
graph_begin(struct graph_step *st)
{
	char	*path;

	switch (st->cs.kind) {
	case STEP_FREEZE:
		if (st->resolved && st->user.enabled == 0) {
			conn_finish(&st->cs, STEP_OUT_OK, "already disabled");
			return;
		}
		graph_patch(st, 0);
		break;
	case STEP_UNFREEZE:
		graph_patch(st, 1);
		break;
	case STEP_DEACTIVATE:
	case STEP_REACTIVATE:
		if (st->resolved && st->cs.kind == STEP_REACTIVATE) {
			if (st->user.enabled == 1) {
				conn_finish(&st->cs, STEP_OUT_OK, "already "
				    "enabled (accountEnabled=true)");
				return;
			}
			graph_patch(st, 1);
			return;
		}
		if (st->resolved) {
			if (st->user.enabled == 0) {
				conn_finish(&st->cs, STEP_OUT_OK, "already "
				    "disabled (accountEnabled=false)");
				return;
			}
			graph_patch(st, 0);
			return;
		}
		if ((path = graph_user_path(st->user.id, NULL, GRAPH_SELECT)) ==
		    NULL) {
			conn_finish(&st->cs, STEP_OUT_FAILED, "%s: account "
			    "'%.60s' cannot be used in a Graph request",
			    st->cs.name, st->user.id);
			return;
		}
		conn_doing(&st->cs, "GET user %.60s", st->user.id);
		graph_send(st, GRAPH_READ, "GET", path, NULL);
		free(path);
		break;
	case STEP_REVOKE_TOKENS:
		if ((path = graph_user_path(st->user.id, "/revokeSignInSessions",
		    NULL)) == NULL) {
			conn_finish(&st->cs, STEP_OUT_FAILED, "%s: account "
			    "'%.60s' cannot be used in a Graph request",
			    st->cs.name, st->user.id);
			return;
		}
		conn_doing(&st->cs, "POST revokeSignInSessions");
		graph_send(st, GRAPH_REVOKE, "POST", path, NULL);
		free(path);
		break;
	default:
		conn_unsupported(&st->cs, &connector_graph);
		break;
	}
}

/* PATCH accountEnabled. */
static void
graph_patch(struct graph_step *st, int enabled)
{
	char	*path;

	if ((path = graph_user_path(st->user.id, NULL, NULL)) == NULL) {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: account '%.60s' "
		    "cannot be used in a Graph request", st->cs.name,
		    st->user.id);
		return;
	}
	conn_doing(&st->cs, "PATCH user accountEnabled=%s",
	    enabled ? "true" : "false");
	graph_send(st, GRAPH_PATCH, "PATCH", path, graph_enable_body(enabled));
	free(path);
}

static void
graph_on_result(const struct target_result *res, void *arg)
{
	struct graph_step	*st = arg;
	struct graph_user	 u;
	char			 err[512];

	if (st->phase < GRAPH_RESOLVE_END) {
		graph_resolve_answer(st, res);
		return;
	}
	if (!res->ok) {
		if (graph_not_found(res->resp) &&
		    st->cs.kind == STEP_REACTIVATE) {
			conn_finish(&st->cs, STEP_OUT_FAILED, "%s: user %s was "
			    "deleted in Entra ID (404): a deleted user can be "
			    "restored within 30 days (Entra admin center > "
			    "Deleted users, or POST /directory/deletedItems/{id}/"
			    "restore); deprov does not restore it", st->cs.name,
			    st->user.id);
			return;
		}
		if (graph_not_found(res->resp)) {
			conn_finish(&st->cs, STEP_OUT_NO_ACCOUNT, "no account: %s "
			    "no longer exists in Entra ID", st->user.id);
			return;
		}
		conn_fail(&st->cs, res, graph_call_error);
		return;
	}
	switch (st->phase) {
	case GRAPH_READ:
		if (res->resp == NULL || graph_user_parse(res->resp->body,
		    res->resp->body_len, &u, err, sizeof err) != 0) {
			conn_fail_doing(&st->cs, "%s", res->resp == NULL ?
			    "no answer" : err);
			return;
		}
		st->user.enabled = u.enabled;
		st->resolved = 1;
		graph_begin(st);
		break;
	case GRAPH_PATCH:
		if (st->cs.kind == STEP_UNFREEZE)
			conn_finish(&st->cs, STEP_OUT_OK, "enabled "
			    "(accountEnabled=true)");
		else if (st->cs.kind == STEP_REACTIVATE)
			conn_finish(&st->cs, STEP_OUT_OK, "enabled "
			    "(accountEnabled=true); sign-in sessions revoked "
			    "before stay revoked: the person signs in again");
		else if (st->cs.kind == STEP_DEACTIVATE)
			conn_finish(&st->cs, STEP_OUT_OK, "disabled "
			    "(accountEnabled=false); licences and group "
			    "memberships are left as they are");
		else
			conn_finish(&st->cs, STEP_OUT_OK, "disabled "
			    "(accountEnabled=false)");
		break;
	case GRAPH_REVOKE:
		conn_finish(&st->cs, STEP_OUT_OK, "sign-in sessions revoked "
		    "(refresh tokens invalidated; Graph notes it can take a "
		    "few minutes)");
		break;
	default:
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: unexpected answer "
		    "in phase %d", st->cs.name, (int)st->phase);
		break;
	}
}
