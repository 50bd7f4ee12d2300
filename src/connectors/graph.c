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
	GRAPH_READ = 0,			/* deactivate: the current state */
	GRAPH_PATCH,			/* freeze, unfreeze, deactivate */
	GRAPH_REVOKE			/* revoke_tokens */
};

struct graph_step {
	struct conn_step	 cs;		/* first: see common.h */
	enum graph_phase	 phase;
	struct graph_user	 user;		/* the leaver's account */
	int			 resolved;	/* user.enabled is fresh */
};

static void	graph_run(struct step_ctx *);
static void	graph_send(struct graph_step *, enum graph_phase, const char *,
		    const char *, const char *);
static void	graph_on_result(const struct target_result *, void *);
static int	graph_prepare(struct conn_step *);
static int	graph_known(struct conn_step *, const char *);
static enum conn_verdict graph_ask_user(struct conn_step *,
		    const struct conn_way *, const char *, char **);
static enum conn_verdict graph_ask_filter(struct conn_step *,
		    const struct conn_way *, const char *, char **);
static enum conn_verdict graph_user_answer(struct conn_step *,
		    const struct conn_way *, const struct target_result *,
		    struct conn_found *);
static enum conn_verdict graph_list_answer(struct conn_step *,
		    const struct conn_way *, const struct target_result *,
		    struct conn_found *);
static enum conn_verdict graph_found(struct graph_step *,
		    const struct graph_user *, struct conn_found *);
static void	graph_begin(struct conn_step *);
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

/*
 * The lookup: the event's account id, then GET /v1.0/users/{key} with the
 * username and the email as userPrincipalName (a UPN is an address), then
 * $filter on mail and on employeeId (arg: the property).
 */
static const struct conn_way graph_ways[] = {
	{ .field = CONN_FIELD_ACCOUNT, .by = "account id",
	    .request = graph_ask_user, .answer = graph_user_answer },
	{ .field = CONN_FIELD_USERNAME, .flags = CONN_WAY_ADDRESS,
	    .by = "username",
	    .request = graph_ask_user, .answer = graph_user_answer },
	{ .field = CONN_FIELD_EMAIL, .unless = CONN_FIELD_USERNAME,
	    .by = "email as UPN",
	    .request = graph_ask_user, .answer = graph_user_answer },
	{ .field = CONN_FIELD_EMAIL, .by = "mail", .arg = "mail",
	    .request = graph_ask_filter, .answer = graph_list_answer },
	{ .field = CONN_FIELD_EMPLOYEE_ID, .by = "employeeId",
	    .arg = "employeeId",
	    .request = graph_ask_filter, .answer = graph_list_answer },
};

static const struct conn_kind graph_kind = {
	.connector = &connector_graph,
	.module = "graph",
	.size = sizeof(struct graph_step),
	.free_fn = free,
	.prepare = graph_prepare,
	.known = graph_known,
	.begin = graph_begin,
	.ways = graph_ways,
	.nways = sizeof graph_ways / sizeof graph_ways[0],
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
	conn_run(ctx, &graph_kind);
}

static int
graph_prepare(struct conn_step *cs)
{
	struct graph_step	*st = (struct graph_step *)cs;

	st->user.enabled = -1;
	return 0;
}

static int
graph_known(struct conn_step *cs, const char *acct)
{
	struct graph_step	*st = (struct graph_step *)cs;

	if (strlen(acct) > GRAPH_ID_MAX) {
		conn_finish(cs, STEP_OUT_FAILED, "%s: account '%.40s...' "
		    "is not a Graph object id", cs->name, acct);
		return -1;
	}
	snprintf(st->user.id, sizeof st->user.id, "%s", acct);
	return 0;
}

/* GET /v1.0/users/{key}: the event's id, or a UPN. */
static enum conn_verdict
graph_ask_user(struct conn_step *cs, const struct conn_way *w,
    const char *key, char **path)
{
	if ((*path = graph_user_path(key, NULL, GRAPH_SELECT)) == NULL) {
		step_ctx_note(cs->ctx, "resolve: identifier '%.60s' cannot be "
		    "used in a Graph request; skipped", key);
		return CONN_NEXT;
	}
	conn_doing(cs, "resolve: %s %.100s", w->field == CONN_FIELD_ACCOUNT ?
	    "GET user id" : "GET user", key);
	return CONN_ASK;
}

/* GET /v1.0/users?$filter=<arg> eq '<key>' */
static enum conn_verdict
graph_ask_filter(struct conn_step *cs, const struct conn_way *w,
    const char *key, char **path)
{
	if ((*path = graph_filter_path(w->arg, key, GRAPH_SELECT)) == NULL) {
		step_ctx_note(cs->ctx, "resolve: identifier '%.60s' cannot be "
		    "used in a Graph request; skipped", key);
		return CONN_NEXT;
	}
	conn_doing(cs, "resolve: filter %s eq %.100s", w->arg, key);
	return CONN_ASK;
}

static enum conn_verdict
graph_user_answer(struct conn_step *cs, const struct conn_way *w,
    const struct target_result *res, struct conn_found *found)
{
	const struct http_response *resp = res->resp;
	struct graph_user	 u;
	char			 err[256];

	if (!res->ok) {
		if (graph_not_found(resp))
			return CONN_ABSENT;
		/* a key Graph refuses as an identifier is not this user either */
		if (resp != NULL && resp->status == 400) {
			graph_call_error(res, err, sizeof err);
			step_ctx_note(cs->ctx, "resolve: %.100s: %s; next "
			    "identifier", cs->key, err);
			return CONN_NEXT;
		}
		conn_fail(cs, res, graph_call_error);
		return CONN_DONE;
	}
	if (resp == NULL || resp->body_truncated) {
		conn_fail_doing(cs, "truncated answer");
		return CONN_DONE;
	}
	if (graph_user_parse(resp->body, resp->body_len, &u, err,
	    sizeof err) != 0) {
		conn_fail_doing(cs, "%s", err);
		return CONN_DONE;
	}
	return graph_found((struct graph_step *)cs, &u, found);
}

/* A $filter answer: none = the next way, several = ambiguous. */
static enum conn_verdict
graph_list_answer(struct conn_step *cs, const struct conn_way *w,
    const struct target_result *res, struct conn_found *found)
{
	const struct http_response *resp = res->resp;
	struct graph_user	 u;
	size_t			 count = 0;
	char			 err[256];

	if (!res->ok) {
		if (graph_not_found(resp))
			return CONN_ABSENT;
		conn_fail(cs, res, graph_call_error);
		return CONN_DONE;
	}
	if (resp == NULL || resp->body_truncated) {
		conn_fail_doing(cs, "truncated answer");
		return CONN_DONE;
	}
	if (graph_list_parse(resp->body, resp->body_len, &count, &u, err,
	    sizeof err) != 0) {
		conn_fail_doing(cs, "%s", err);
		return CONN_DONE;
	}
	if (count == 0)
		return CONN_ABSENT;
	if (count > 1) {
		conn_finish(cs, STEP_OUT_FAILED, "%s: ambiguous: %zu users with "
		    "%s %.200s", cs->name, count, w->by, cs->key);
		return CONN_DONE;
	}
	return graph_found((struct graph_step *)cs, &u, found);
}

/* The account is u: its accountEnabled is fresh. */
static enum conn_verdict
graph_found(struct graph_step *st, const struct graph_user *u,
    struct conn_found *found)
{
	st->user = *u;
	st->resolved = 1;
	found->id = st->user.id;
	found->name = st->user.upn[0] != '\0' ? st->user.upn : NULL;
	return CONN_FOUND;
}

/* The account is known: do the step itself. */
static void
graph_begin(struct conn_step *cs)
{
	struct graph_step	*st = (struct graph_step *)cs;
	char			*path;

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
		graph_begin(&st->cs);
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
