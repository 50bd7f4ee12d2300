/*
 * google: the Google Workspace connector (Admin SDK Directory and Data
 * Transfer APIs). Each step is an asynchronous state machine in a heap
 * struct google_step that the engine frees after step_ctx_done; the
 * reassign step also owns an evtimer (on the engine's loop, from
 * step_ctx_base) to poll a data transfer without blocking. When the account
 * is not known yet it is resolved first with GET users/{userKey}: the
 * event's account id, then the email, then the username; a 404 moves on,
 * none at all is "skipped: no account".
 *
 *   freeze         PUT users/{id} {"suspended":true} (users.update, which has
 *                  patch semantics); already suspended after a resolve: done
 *   revoke_tokens  POST users/{id}/signOut, GET users/{id}/tokens, then
 *                  DELETE users/{id}/tokens/{clientId} for each (404 = gone)
 *   reassign       new owner = the manager (GET users/{manager email}, must
 *                  be active), else the fallback owner; the Drive application
 *                  id from the options or GET datatransfer applications
 *                  ("Drive and Docs"); a transfer still pending for the same
 *                  old and new owner is resumed (a re-run after a crash or an
 *                  operator retry), else POST transfers; then GET transfers/{id}
 *                  every transfer_poll_ms until "completed" ("failed", or no
 *                  end after transfer_timeout_s, fails the step: an escalation)
 *   deactivate     Google has no deactivation distinct from suspension: make
 *                  sure the user is suspended (GET, PUT if not) and say so.
 *                  Deleting the user is a different, destructive act that
 *                  this step never does.
 *   unfreeze       PUT {"suspended":false}
 *   reactivate     GET the user (unless the resolve just read it); PATCH
 *                  {"suspended":false} if suspended. A deleted user (404)
 *                  fails the step: Google keeps it restorable for 20 days
 *                  (admin console, users.undelete), which is not done here
 *
 * Request building and response parsing live in google-proto.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "deprov/clock.h"
#include "deprov/connector.h"
#include "deprov/event.h"
#include "deprov/log.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

#include "common.h"
#include "google-internal.h"

#define GOOGLE_MAX_PAGES	50	/* list pages followed (applications, transfers) */
#define GOOGLE_NOTE_DEACTIVATE	"Google Workspace has no deactivation distinct from " \
				"suspension; the user stays suspended"

enum google_phase {
	GOOGLE_READ = 0,		/* deactivate, reactivate: is it suspended? */
	GOOGLE_PUT,			/* freeze, unfreeze, deactivate, reactivate */
	GOOGLE_SIGNOUT,			/* revoke_tokens */
	GOOGLE_TOKENS,
	GOOGLE_TOKEN_DELETE,
	GOOGLE_OWNER_MANAGER,		/* reassign */
	GOOGLE_OWNER_FALLBACK,
	GOOGLE_APPS,
	GOOGLE_TRANSFER_LIST,
	GOOGLE_TRANSFER_CREATE,
	GOOGLE_TRANSFER_POLL
};

struct google_step {
	struct conn_step	 cs;		/* first: see common.h */
	enum google_phase	 phase;
	struct google_user	 user;		/* the leaver */
	int			 resolved;	/* user.suspended is fresh */
	struct google_options	 opt;

	/* revoke_tokens */
	char			**clients;
	size_t			 nclients;
	size_t			 next_client;
	size_t			 deleted;
	size_t			 gone;

	/* reassign */
	struct google_user	 owner;
	char			 owner_why[256];
	char			 app_id[GOOGLE_ID_MAX + 1];
	char			 transfer[GOOGLE_ID_MAX + 1];
	int			 pages;
	struct event		*timer;
	int64_t			 deadline_ms;	/* when polling gives up (monotonic) */
	long			 polls;
};

static void	google_run(struct step_ctx *);
static void	google_free(void *);
static void	google_stop_timer(struct conn_step *);
static void	google_send(struct google_step *, enum google_phase, const char *,
		    const char *, const char *);
static void	google_on_result(const struct target_result *, void *);
static int	google_prepare(struct conn_step *);
static int	google_known(struct conn_step *, const char *);
static enum conn_verdict google_ask(struct conn_step *, const struct conn_way *,
		    const char *, char **);
static enum conn_verdict google_answer(struct conn_step *,
		    const struct conn_way *, const struct target_result *,
		    struct conn_found *);
static void	google_begin(struct conn_step *);
static void	google_put(struct google_step *, int);
static void	google_patch_unsuspend(struct google_step *);
static void	google_tokens_answer(struct google_step *, const struct target_result *);
static void	google_tokens_next(struct google_step *);
static void	google_owner_start(struct google_step *);
static void	google_owner_fallback(struct google_step *);
static void	google_owner_answer(struct google_step *, const struct target_result *);
static void	google_apps(struct google_step *, const char *);
static void	google_apps_answer(struct google_step *, const struct target_result *);
static void	google_transfer_list(struct google_step *, const char *);
static void	google_transfer_list_answer(struct google_step *,
		    const struct target_result *);
static void	google_transfer_create(struct google_step *);
static void	google_transfer_answer(struct google_step *, const struct target_result *);
static void	google_poll_later(struct google_step *);
static void	google_poll_cb(evutil_socket_t, short, void *);

const struct connector connector_google = {
	.kind = "google",
	.skips = {
		[STEP_DELETE] = "not supported by the google connector",
	},
	.run = google_run,
	.classify = google_classify,
	.options = google_option_keys,
	.check_options = google_check_options,
	.check_step = google_check_step,
};

/*
 * The lookup: GET users/{userKey} with the event's id, the email, then the
 * username when it is another address.
 */
static const struct conn_way google_ways[] = {
	{ .field = CONN_FIELD_ACCOUNT, .by = "account id",
	    .request = google_ask, .answer = google_answer },
	{ .field = CONN_FIELD_EMAIL, .by = "email",
	    .request = google_ask, .answer = google_answer },
	{ .field = CONN_FIELD_USERNAME, .unless = CONN_FIELD_EMAIL,
	    .flags = CONN_WAY_ADDRESS, .by = "username",
	    .request = google_ask, .answer = google_answer },
};

static const struct conn_kind google_kind = {
	.connector = &connector_google,
	.module = "google",
	.size = sizeof(struct google_step),
	.free_fn = google_free,
	.prepare = google_prepare,
	.known = google_known,
	.begin = google_begin,
	.ways = google_ways,
	.nways = sizeof google_ways / sizeof google_ways[0],
};

/* Free the step state (the engine calls this after step_ctx_done, or at teardown). */
static void
google_free(void *p)
{
	struct google_step	*st = p;

	if (st == NULL)
		return;
	if (st->timer != NULL)
		event_free(st->timer);
	google_ids_free(st->clients, st->nclients);
	free(st);
}

/* The step ends: no poll may fire after that (conn_step.on_finish). */
static void
google_stop_timer(struct conn_step *cs)
{
	struct google_step	*st = (struct google_step *)cs;

	if (st->timer != NULL)
		evtimer_del(st->timer);
}

/* Send one call (path may be NULL: the step fails for an unusable key). */
static void
google_send(struct google_step *st, enum google_phase phase, const char *method,
    const char *path, const char *body)
{
	if (path == NULL) {
		conn_fail_doing(&st->cs, "the identifier cannot be used in a "
		    "request");
		return;
	}
	st->phase = phase;
	conn_call(&st->cs, method, path, body,
	    body != NULL ? "application/json" : NULL, NULL, google_on_result,
	    st);
}

static void
google_run(struct step_ctx *ctx)
{
	conn_run(ctx, &google_kind);
}

/* The options; a reassign's "to" and objects. */
static int
google_prepare(struct conn_step *cs)
{
	struct google_step		*st = (struct google_step *)cs;
	const struct config_target	*cfg;
	const struct runbook_step	*step;
	char				 err[256];
	size_t				 i;

	st->cs.on_finish = google_stop_timer;
	st->user.suspended = -1;

	cfg = target_config(cs->target);
	if (google_options_parse(cfg != NULL ? cfg->options : NULL, &st->opt, err,
	    sizeof err) != 0) {
		conn_finish(cs, STEP_OUT_FAILED, "%s: target %s: %s", cs->name,
		    target_name(cs->target), err);
		return -1;
	}
	if (cs->kind != STEP_REASSIGN)
		return 0;
	step = step_ctx_step(cs->ctx);
	if (step != NULL && step->to != NULL && strcmp(step->to, "manager") != 0) {
		conn_finish(cs, STEP_OUT_FAILED, "%s: unsupported \"to\" "
		    "'%.60s' (only \"manager\", with fallback_owner)", cs->name,
		    step->to);
		return -1;
	}
	/* objects name Data Transfer applications: only Drive here */
	for (i = 0; step != NULL && i < step->nobjects; i++) {
		if (google_transfer_app(step->objects[i]) == NULL) {
			conn_finish(cs, STEP_OUT_FAILED, "%s: unsupported object "
			    "'%.80s' for google (objects name Data Transfer "
			    "applications; only \"Drive\", i.e. \"%s\", is "
			    "transferred)", cs->name, step->objects[i],
			    GOOGLE_DRIVE_APP_NAME);
			return -1;
		}
	}
	return 0;
}

static int
google_known(struct conn_step *cs, const char *acct)
{
	struct google_step	*st = (struct google_step *)cs;

	snprintf(st->user.id, sizeof st->user.id, "%s", acct);
	return 0;
}

/* GET users/{userKey}. */
static enum conn_verdict
google_ask(struct conn_step *cs, const struct conn_way *w, const char *key,
    char **path)
{
	if ((*path = google_user_path(key, NULL)) == NULL) {
		step_ctx_note(cs->ctx, "resolve: identifier '%.60s' cannot be "
		    "used as a userKey; skipped", key);
		return CONN_NEXT;
	}
	conn_doing(cs, "resolve: GET user %.120s", key);
	return CONN_ASK;
}

static enum conn_verdict
google_answer(struct conn_step *cs, const struct conn_way *w,
    const struct target_result *res, struct conn_found *found)
{
	struct google_step	*st = (struct google_step *)cs;
	struct google_user	 u;
	char			 err[256];

	if (!res->ok) {
		/* 404: not this key; 400: not a usable key at Google either */
		if (res->resp != NULL && (res->resp->status == 404 ||
		    (res->resp->status == 400 && w->field != CONN_FIELD_ACCOUNT)))
			return CONN_ABSENT;
		conn_fail(cs, res, google_call_error);
		return CONN_DONE;
	}
	if (res->resp == NULL || res->resp->body_truncated ||
	    google_user_parse(res->resp->body, res->resp->body_len, &u, err,
	    sizeof err) != 0) {
		conn_fail_doing(cs, "%s", res->resp == NULL ? "no answer" :
		    res->resp->body_truncated ? "truncated answer" : err);
		return CONN_DONE;
	}
	st->user = u;
	st->resolved = 1;
	found->id = st->user.id;
	found->name = st->user.email;
	return CONN_FOUND;
}

/* The account is known: do the step itself. */
static void
google_begin(struct conn_step *cs)
{
	struct google_step	*st = (struct google_step *)cs;
	char			*path;

	switch (st->cs.kind) {
	case STEP_FREEZE:
		if (st->resolved && st->user.suspended == 1) {
			conn_finish(&st->cs, STEP_OUT_OK, "already suspended");
			return;
		}
		google_put(st, 1);
		break;
	case STEP_UNFREEZE:
		google_put(st, 0);
		break;
	case STEP_DEACTIVATE:
	case STEP_REACTIVATE:
		if (st->resolved && st->cs.kind == STEP_REACTIVATE) {
			if (st->user.suspended == 0) {
				conn_finish(&st->cs, STEP_OUT_OK, "not suspended");
				return;
			}
			google_patch_unsuspend(st);
			return;
		}
		if (st->resolved) {
			if (st->user.suspended == 1) {
				conn_finish(&st->cs, STEP_OUT_OK,
				    GOOGLE_NOTE_DEACTIVATE);
				return;
			}
			google_put(st, 1);
			return;
		}
		conn_doing(&st->cs, "GET user %.60s", st->user.id);
		path = google_user_path(st->user.id, NULL);
		google_send(st, GOOGLE_READ, "GET", path, NULL);
		free(path);
		break;
	case STEP_REVOKE_TOKENS:
		conn_doing(&st->cs, "POST signOut");
		path = google_user_path(st->user.id, "/signOut");
		google_send(st, GOOGLE_SIGNOUT, "POST", path, NULL);
		free(path);
		break;
	case STEP_REASSIGN:
		google_owner_start(st);
		break;
	default:
		conn_unsupported(&st->cs, &connector_google);
		break;
	}
}

/* PUT users/{id} {"suspended":b} */
static void
google_put(struct google_step *st, int suspended)
{
	char	*path;

	conn_doing(&st->cs, "PUT user suspended=%s", suspended ? "true" :
	    "false");
	path = google_user_path(st->user.id, NULL);
	google_send(st, GOOGLE_PUT, "PUT", path, google_suspend_body(suspended));
	free(path);
}

/* reactivate: PATCH users/{id} {"suspended":false} (users.patch) */
static void
google_patch_unsuspend(struct google_step *st)
{
	char	*path;

	conn_doing(&st->cs, "PATCH user suspended=false");
	path = google_user_path(st->user.id, NULL);
	google_send(st, GOOGLE_PUT, "PATCH", path, google_suspend_body(0));
	free(path);
}

static void
google_on_result(const struct target_result *res, void *arg)
{
	struct google_step	*st = arg;
	struct google_user	 u;
	char			 err[256], *path;

	switch (st->phase) {
	case GOOGLE_READ:
	case GOOGLE_PUT:
	case GOOGLE_SIGNOUT:
		if (!res->ok) {
			if (google_not_found(res->resp) &&
			    st->cs.kind == STEP_REACTIVATE) {
				conn_finish(&st->cs, STEP_OUT_FAILED, "%s: user "
				    "%s was deleted in Google Workspace (404): "
				    "it can be restored within 20 days of the "
				    "deletion (Admin console > Users > recently "
				    "deleted, or users.undelete); deprov does not "
				    "undelete it", st->cs.name, st->user.id);
				return;
			}
			if (google_not_found(res->resp)) {
				conn_finish(&st->cs, STEP_OUT_NO_ACCOUNT,
				    "no account: %s no longer exists in Google "
				    "Workspace", st->user.id);
				return;
			}
			conn_fail(&st->cs, res, google_call_error);
			return;
		}
		break;
	default:
		break;
	}
	switch (st->phase) {
	case GOOGLE_READ:
		if (res->resp == NULL || google_user_parse(res->resp->body,
		    res->resp->body_len, &u, err, sizeof err) != 0) {
			conn_fail_doing(&st->cs, "%s", res->resp == NULL ?
			    "no answer" : err);
			return;
		}
		st->user.suspended = u.suspended;
		st->resolved = 1;
		google_begin(&st->cs);
		break;
	case GOOGLE_PUT:
		if (st->cs.kind == STEP_UNFREEZE)
			conn_finish(&st->cs, STEP_OUT_OK, "unsuspended");
		else if (st->cs.kind == STEP_REACTIVATE)
			conn_finish(&st->cs, STEP_OUT_OK, "unsuspended "
			    "(suspended=false)");
		else if (st->cs.kind == STEP_DEACTIVATE)
			conn_finish(&st->cs, STEP_OUT_OK, "suspended now; "
			    GOOGLE_NOTE_DEACTIVATE);
		else
			conn_finish(&st->cs, STEP_OUT_OK, "suspended");
		break;
	case GOOGLE_SIGNOUT:
		step_ctx_note(st->cs.ctx, "signed out of all web and device "
		    "sessions");
		conn_doing(&st->cs, "GET tokens");
		path = google_user_path(st->user.id, "/tokens");
		google_send(st, GOOGLE_TOKENS, "GET", path, NULL);
		free(path);
		break;
	case GOOGLE_TOKENS:
	case GOOGLE_TOKEN_DELETE:
		google_tokens_answer(st, res);
		break;
	case GOOGLE_OWNER_MANAGER:
	case GOOGLE_OWNER_FALLBACK:
		google_owner_answer(st, res);
		break;
	case GOOGLE_APPS:
		google_apps_answer(st, res);
		break;
	case GOOGLE_TRANSFER_LIST:
		google_transfer_list_answer(st, res);
		break;
	case GOOGLE_TRANSFER_CREATE:
	case GOOGLE_TRANSFER_POLL:
		google_transfer_answer(st, res);
		break;
	default:
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: unexpected answer "
		    "in phase %d", st->cs.name, (int)st->phase);
		break;
	}
}

/* revoke_tokens: the token list, then one DELETE per client id. */
static void
google_tokens_answer(struct google_step *st, const struct target_result *res)
{
	char	err[256];

	if (st->phase == GOOGLE_TOKENS) {
		if (!res->ok) {
			conn_fail(&st->cs, res, google_call_error);
			return;
		}
		if (res->resp == NULL || res->resp->body_truncated ||
		    google_tokens_parse(res->resp->body, res->resp->body_len,
		    &st->clients, &st->nclients, err, sizeof err) != 0) {
			conn_fail_doing(&st->cs, "%s", res->resp == NULL ?
			    "no answer" : res->resp->body_truncated ?
			    "truncated answer" : err);
			return;
		}
		google_tokens_next(st);
		return;
	}
	if (res->ok)
		st->deleted++;
	else if (google_not_found(res->resp))
		st->gone++;	/* revoked meanwhile (or by signOut) */
	else {
		conn_fail(&st->cs, res, google_call_error);
		return;
	}
	google_tokens_next(st);
}

static void
google_tokens_next(struct google_step *st)
{
	const char	*cid;
	char		*path;

	if (st->next_client == st->nclients) {
		conn_finish(&st->cs, STEP_OUT_OK, "signed out; deleted %zu app "
		    "token grant%s (%zu already gone)", st->deleted,
		    st->deleted == 1 ? "" : "s", st->gone);
		return;
	}
	cid = st->clients[st->next_client++];
	conn_doing(&st->cs, "DELETE token of client %.100s", cid);
	path = google_token_path(st->user.id, cid);
	google_send(st, GOOGLE_TOKEN_DELETE, "DELETE", path, NULL);
	free(path);
}

/* reassign: the new owner, the manager first. */
static void
google_owner_start(struct google_step *st)
{
	const struct subject	*sub = step_ctx_subject(st->cs.ctx);
	char			*path;

	if (sub == NULL || sub->manager_email == NULL ||
	    sub->manager_email[0] == '\0') {
		snprintf(st->owner_why, sizeof st->owner_why, "no manager email");
		google_owner_fallback(st);
		return;
	}
	conn_doing(&st->cs, "GET manager %.120s", sub->manager_email);
	path = google_user_path(sub->manager_email, NULL);
	google_send(st, GOOGLE_OWNER_MANAGER, "GET", path, NULL);
	free(path);
}

static void
google_owner_fallback(struct google_step *st)
{
	const struct runbook_step	*step = step_ctx_step(st->cs.ctx);
	char				*path;

	if (step == NULL || step->fallback_owner == NULL ||
	    step->fallback_owner[0] == '\0') {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: no manager and no "
		    "fallback owner (%s; no fallback_owner configured)",
		    st->cs.name, st->owner_why);
		return;
	}
	conn_doing(&st->cs, "GET fallback owner %.120s", step->fallback_owner);
	path = google_user_path(step->fallback_owner, NULL);
	google_send(st, GOOGLE_OWNER_FALLBACK, "GET", path, NULL);
	free(path);
}

static void
google_owner_answer(struct google_step *st, const struct target_result *res)
{
	const struct subject		*sub = step_ctx_subject(st->cs.ctx);
	const struct runbook_step	*step = step_ctx_step(st->cs.ctx);
	struct google_user		 u;
	const char			*who = st->phase == GOOGLE_OWNER_MANAGER ?
					    sub->manager_email : step->fallback_owner;
	char				 err[256];
	const char			*why = NULL;

	if (!res->ok && !google_not_found(res->resp)) {
		conn_fail(&st->cs, res, google_call_error);
		return;
	}
	if (!res->ok)
		why = "is not a Google Workspace user";
	else if (res->resp == NULL || google_user_parse(res->resp->body,
	    res->resp->body_len, &u, err, sizeof err) != 0) {
		conn_fail_doing(&st->cs, "%s", res->resp == NULL ? "no answer" :
		    err);
		return;
	} else if (u.suspended == 1)
		why = "is suspended";
	else if (strcmp(u.id, st->user.id) == 0)
		why = "is the leaver";
	if (why != NULL) {
		if (st->phase == GOOGLE_OWNER_FALLBACK) {
			conn_finish(&st->cs, STEP_OUT_FAILED, "%s: no manager "
			    "and no fallback owner (%s; fallback owner %.200s "
			    "%s)", st->cs.name, st->owner_why, who, why);
			return;
		}
		snprintf(st->owner_why, sizeof st->owner_why, "manager %.200s %s",
		    who, why);
		step_ctx_note(st->cs.ctx, "%s: using the fallback owner",
		    st->owner_why);
		google_owner_fallback(st);
		return;
	}
	st->owner = u;
	step_ctx_note(st->cs.ctx, "new owner %s %s (%s)", u.id, u.email,
	    st->phase == GOOGLE_OWNER_MANAGER ? "manager" : "fallback owner");
	if (st->opt.drive_app_id[0] != '\0') {
		snprintf(st->app_id, sizeof st->app_id, "%s", st->opt.drive_app_id);
		google_transfer_list(st, NULL);
		return;
	}
	st->pages = 0;
	google_apps(st, NULL);
}

/* Look the Drive application up (one page). */
static void
google_apps(struct google_step *st, const char *page)
{
	char	*path;

	conn_doing(&st->cs, "GET datatransfer applications");
	path = google_apps_path(page);
	google_send(st, GOOGLE_APPS, "GET", path, NULL);
	free(path);
}

static void
google_apps_answer(struct google_step *st, const struct target_result *res)
{
	char	next[512], err[256];
	int	r;

	if (!res->ok) {
		conn_fail(&st->cs, res, google_call_error);
		return;
	}
	r = res->resp == NULL ? -1 : google_apps_find(res->resp->body,
	    res->resp->body_len, st->app_id, sizeof st->app_id, next, sizeof next,
	    err, sizeof err);
	if (r < 0) {
		conn_fail_doing(&st->cs, "%s", res->resp == NULL ? "no answer" :
		    err);
		return;
	}
	if (r == 0) {
		if (next[0] != '\0' && ++st->pages < GOOGLE_MAX_PAGES) {
			google_apps(st, next);
			return;
		}
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: no \"%s\" "
		    "application in the Data Transfer API (set the target "
		    "option drive_application_id)", st->cs.name,
		    GOOGLE_DRIVE_APP_NAME);
		return;
	}
	st->pages = 0;
	google_transfer_list(st, NULL);
}

/* A transfer still pending for this leaver? (one page) */
static void
google_transfer_list(struct google_step *st, const char *page)
{
	char	*path;

	conn_doing(&st->cs, "GET transfers of %.40s", st->user.id);
	path = google_transfers_list_path(st->user.id, page);
	google_send(st, GOOGLE_TRANSFER_LIST, "GET", path, NULL);
	free(path);
}

static void
google_transfer_list_answer(struct google_step *st, const struct target_result *res)
{
	struct google_transfer	t;
	char			next[512], err[256];
	int			r;

	if (!res->ok) {
		conn_fail(&st->cs, res, google_call_error);
		return;
	}
	r = res->resp == NULL ? -1 : google_transfers_find(res->resp->body,
	    res->resp->body_len, st->owner.id, st->app_id, &t, next, sizeof next,
	    err, sizeof err);
	if (r < 0) {
		conn_fail_doing(&st->cs, "%s", res->resp == NULL ? "no answer" :
		    err);
		return;
	}
	if (r == 0 && next[0] != '\0' && ++st->pages < GOOGLE_MAX_PAGES) {
		google_transfer_list(st, next);
		return;
	}
	st->deadline_ms = clock_mono_ms() + (int64_t)st->opt.timeout_s * 1000;
	if (r == 1) {
		snprintf(st->transfer, sizeof st->transfer, "%s", t.id);
		step_ctx_note(st->cs.ctx, "resuming data transfer %s (%s) "
		    "started earlier", t.id, t.status);
		google_poll_later(st);
		return;
	}
	google_transfer_create(st);
}

static void
google_transfer_create(struct google_step *st)
{
	char	*body;

	body = google_transfer_body(st->user.id, st->owner.id, st->app_id, &st->opt);
	if (body == NULL) {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: could not build the "
		    "transfer request", st->cs.name);
		return;
	}
	conn_doing(&st->cs, "POST transfers (application %.40s)", st->app_id);
	google_send(st, GOOGLE_TRANSFER_CREATE, "POST",
	    "/admin/datatransfer/v1/transfers", body);
	free(body);
}

/* A transfer's state (after POST or a poll). */
static void
google_transfer_answer(struct google_step *st, const struct target_result *res)
{
	struct google_transfer	t;
	char			err[256];

	if (!res->ok) {
		conn_fail(&st->cs, res, google_call_error);
		return;
	}
	if (res->resp == NULL || google_transfer_parse(res->resp->body,
	    res->resp->body_len, st->app_id, &t, err, sizeof err) != 0) {
		conn_fail_doing(&st->cs, "%s", res->resp == NULL ? "no answer" :
		    err);
		return;
	}
	if (st->phase == GOOGLE_TRANSFER_CREATE) {
		snprintf(st->transfer, sizeof st->transfer, "%s", t.id);
		step_ctx_note(st->cs.ctx, "data transfer %s started (%s) to %s",
		    t.id, t.status[0] != '\0' ? t.status : "?",
		    st->owner.email);
	}
	switch (t.state) {
	case GOOGLE_TRANSFER_COMPLETED:
		conn_finish(&st->cs, STEP_OUT_OK, "Drive and Docs files "
		    "transferred to %s (%s) by data transfer %s",
		    st->owner.email, st->owner.id, st->transfer);
		return;
	case GOOGLE_TRANSFER_FAILED:
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: data transfer %s to "
		    "%s failed (overallTransferStatusCode \"failed\"); the "
		    "files stay with the suspended user: check the transfer in "
		    "the Admin console, then retry the case", st->cs.name,
		    st->transfer, st->owner.email);
		return;
	default:
		google_poll_later(st);
		return;
	}
}

/* Arm the poll timer, or fail the step when the transfer took too long. */
static void
google_poll_later(struct google_step *st)
{
	struct timeval	tv;
	long		left_ms;

	left_ms = (long)(st->deadline_ms - clock_mono_ms());
	if (left_ms <= 0) {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: data transfer %s "
		    "did not complete within %ld s (transfer_timeout_s; %ld "
		    "polls): it may still be running at Google; a retry of the "
		    "case resumes it", st->cs.name, st->transfer,
		    st->opt.timeout_s, st->polls);
		return;
	}
	if (st->timer == NULL && (st->timer =
	    evtimer_new(step_ctx_base(st->cs.ctx), google_poll_cb, st)) == NULL)
	    {
		conn_finish(&st->cs, STEP_OUT_FAILED, "%s: cannot create a "
		    "timer to poll data transfer %s", st->cs.name,
		    st->transfer);
		return;
	}
	if (left_ms > st->opt.poll_ms)
		left_ms = st->opt.poll_ms;
	tv.tv_sec = left_ms / 1000;
	tv.tv_usec = (left_ms % 1000) * 1000;
	evtimer_add(st->timer, &tv);
}

static void
google_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct google_step	*st = arg;
	char			*path;

	if (clock_mono_ms() >= st->deadline_ms) {
		google_poll_later(st);	/* reports the timeout */
		return;
	}
	st->polls++;
	conn_doing(&st->cs, "GET transfer %.60s", st->transfer);
	path = google_transfer_path(st->transfer);
	google_send(st, GOOGLE_TRANSFER_POLL, "GET", path, NULL);
	free(path);
}
