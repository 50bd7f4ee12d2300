/*
 * okta-proto: the pure half of the Okta connector. Paths, the user object,
 * error bodies, the classifier and the status decisions, checked against
 * developer.okta.com (Users API and UserLifecycle):
 *
 *   suspend     "can only be performed on users with an ACTIVE status";
 *               anything else answers 400 E0000001.
 *   unsuspend   only from SUSPENDED (back to ACTIVE).
 *   deactivate  any status but DEPROVISIONED; may be asynchronous
 *               (transitioningToStatus DEPROVISIONED while it runs).
 *               Deactivating a DEPROVISIONED user has been reported to
 *               answer 404 E0000007 (okta-sdk-java#721), not a 400.
 *
 * Statuses suspend refuses, and what freeze does about them:
 *   STAGED, PROVISIONED        never activated or activation pending: the
 *                              user has no password to sign in with, so
 *                              there is nothing to suspend: skipped.
 *   RECOVERY, PASSWORD_EXPIRED, LOCKED_OUT
 *                              the user holds credentials and may sign in
 *                              (after a reset, a password change, or the
 *                              lockout ending) but Okta will not suspend:
 *                              freeze revokes sessions and OAuth tokens,
 *                              then fails so that a human decides (option
 *                              "unsuspendable": "skip" makes it a skip, for
 *                              runbooks whose deactivate follows anyway).
 *
 * Rate limits (developer.okta.com, rate limits): every answer carries
 * X-Rate-Limit-Limit, -Remaining and -Reset (UTC epoch seconds) for the
 * endpoint's window, a minute long; past it Okta answers 429 E0000047
 * without Retry-After. okta_signals hands both to the target.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "deprov/http.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

#include "common.h"
#include "okta-internal.h"

static const char *const okta_status_names[] = {
	[OKTA_UNKNOWN] = "UNKNOWN",
	[OKTA_STAGED] = "STAGED",
	[OKTA_PROVISIONED] = "PROVISIONED",
	[OKTA_ACTIVE] = "ACTIVE",
	[OKTA_RECOVERY] = "RECOVERY",
	[OKTA_PASSWORD_EXPIRED] = "PASSWORD_EXPIRED",
	[OKTA_LOCKED_OUT] = "LOCKED_OUT",
	[OKTA_SUSPENDED] = "SUSPENDED",
	[OKTA_DEPROVISIONED] = "DEPROVISIONED",
	[OKTA_NONE] = "",
};

const char *const okta_option_keys[] = { "unsuspendable", NULL };

/* Apply one option: 1 done, 0 not an Okta option, -1 with the reason in err. */
static int
okta_opt_apply(struct okta_opts *o, const char *key, json_object *val,
    char *err, size_t errlen)
{
	const char	*s;

	if (strcmp(key, "unsuspendable") != 0)
		return 0;
	s = json_object_is_type(val, json_type_string) ?
	    json_object_get_string(val) : "";
	if (strcmp(s, "fail") == 0)
		o->unsuspendable_skip = 0;
	else if (strcmp(s, "skip") == 0)
		o->unsuspendable_skip = 1;
	else {
		snprintf(err, errlen, "options.unsuspendable: expected "
		    "\"fail\" or \"skip\"");
		return -1;
	}
	return 1;
}

int
okta_opts_parse(json_object *options, struct okta_opts *o, char *err,
    size_t errlen)
{
	int	r;

	memset(o, 0, sizeof *o);
	if (options == NULL)
		return 0;
	if (!json_object_is_type(options, json_type_object)) {
		snprintf(err, errlen, "options must be an object");
		return -1;
	}
	json_object_object_foreach(options, key, val) {
		if ((r = okta_opt_apply(o, key, val, err, errlen)) < 0)
			return -1;
		if (r == 0) {
			snprintf(err, errlen, "options: unknown key '%.40s' "
			    "(unsuspendable)", key);
			return -1;
		}
	}
	return 0;
}

void
okta_check_options(struct connector_check *chk, json_object *options)
{
	struct okta_opts	 o;
	char			 err[256];

	memset(&o, 0, sizeof o);
	json_object_object_foreach(options, key, val) {
		if (okta_opt_apply(&o, key, val, err, sizeof err) < 0)
			conn_check(chk, options, key, "%s", err);
	}
}

/* An unsigned decimal header value; -1 when absent or not a number. */
static long long
okta_header_num(const struct http_response *resp, const char *name)
{
	const char	*v;
	char		*end;
	long long	 n;

	if ((v = http_response_header(resp, name)) == NULL)
		return -1;
	while (*v == ' ')
		v++;
	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	while (*end == ' ')
		end++;
	if (errno != 0 || *end != '\0')
		return -1;
	return n;
}

void
okta_signals(struct target *t, const struct http_response *resp)
{
	long long	 rem, limit;
	long		 reset_ms;

	/* Reset is measured against the answer's Date: our skew does not matter. */
	reset_ms = target_wait_reset_ms(http_response_header(resp,
	    "X-Rate-Limit-Reset"), http_response_header(resp, "Date"),
	    (int64_t)time(NULL));
	if (resp->status == 429 && reset_ms >= 0)
		target_signal_wait(t, reset_ms);
	if ((rem = okta_header_num(resp, "X-Rate-Limit-Remaining")) < 0)
		return;
	limit = okta_header_num(resp, "X-Rate-Limit-Limit");
	target_signal_window(t, limit > LONG_MAX ? LONG_MAX : (long)limit,
	    rem > LONG_MAX ? LONG_MAX : (long)rem, reset_ms,
	    okta_header_num(resp, "X-Rate-Limit-Reset"));
}

enum okta_status
okta_status_parse(const char *s)
{
	int	i;

	if (s == NULL)
		return OKTA_NONE;
	for (i = OKTA_STAGED; i <= OKTA_DEPROVISIONED; i++)
		if (strcmp(s, okta_status_names[i]) == 0)
			return (enum okta_status)i;
	return OKTA_UNKNOWN;
}

const char *
okta_status_name(enum okta_status s)
{
	if ((int)s < 0 || s > OKTA_NONE)
		return "UNKNOWN";
	return okta_status_names[s];
}

int
okta_key_valid(const char *s)
{
	return conn_key_usable(s, OKTA_LOGIN_MAX);
}

char *
okta_user_path(const char *key, const char *suffix)
{
	if (!okta_key_valid(key))
		return NULL;
	return conn_key_path("/api/v1/users/", key, suffix);
}

int
okta_user_parse(const char *body, size_t len, struct okta_user *u, char *err,
    size_t errlen)
{
	json_object	*root, *profile;
	const char	*id, *status, *login = NULL;
	int		 rc = -1;

	memset(u, 0, sizeof *u);
	u->transitioning = OKTA_NONE;
	if ((root = conn_json_parse(body, len)) == NULL ||
	    !json_object_is_type(root, json_type_object)) {
		snprintf(err, errlen, "user answer is not a JSON object");
		goto done;
	}
	id = conn_str(root, "id");
	if (id == NULL || !okta_key_valid(id) || strlen(id) > OKTA_ID_MAX) {
		snprintf(err, errlen, "user without a usable id");
		goto done;
	}
	if ((status = conn_str(root, "status")) == NULL) {
		snprintf(err, errlen, "user %.40s without a status", id);
		goto done;
	}
	memcpy(u->id, id, strlen(id) + 1);
	u->status = okta_status_parse(status);
	conn_copy_clean(u->status_name, sizeof u->status_name, status);
	/* null or absent when no transition is under way */
	u->transitioning = okta_status_parse(conn_str(root,
	    "transitioningToStatus"));
	if (json_object_object_get_ex(root, "profile", &profile))
		login = conn_str(profile, "login");
	conn_copy_clean(u->login, sizeof u->login, login);
	rc = 0;
done:
	json_object_put(root);
	return rc;
}

enum okta_action
okta_decide(enum step_kind kind, const struct okta_user *u, const char **why)
{
	*why = "";
	switch (kind) {
	case STEP_FREEZE:
		if (u->transitioning == OKTA_DEPROVISIONED) {
			*why = "deactivation under way (transitioningToStatus "
			    "DEPROVISIONED)";
			return OKTA_ACT_DONE;
		}
		switch (u->status) {
		case OKTA_ACTIVE:
			return OKTA_ACT_CALL;
		case OKTA_SUSPENDED:
			*why = "already suspended";
			return OKTA_ACT_DONE;
		case OKTA_DEPROVISIONED:
			*why = "already deactivated (DEPROVISIONED)";
			return OKTA_ACT_DONE;
		case OKTA_STAGED:
			*why = "status STAGED: never activated, cannot sign in; "
			    "Okta suspends only ACTIVE users";
			return OKTA_ACT_SKIP;
		case OKTA_PROVISIONED:
			*why = "status PROVISIONED: activation pending, no "
			    "password to sign in with; Okta suspends only "
			    "ACTIVE users";
			return OKTA_ACT_SKIP;
		case OKTA_RECOVERY:
		case OKTA_PASSWORD_EXPIRED:
		case OKTA_LOCKED_OUT:
			*why = "Okta suspends only ACTIVE users, and this one "
			    "may still sign in";
			return OKTA_ACT_UNSUSPENDABLE;
		default:
			*why = "unknown user status";
			return OKTA_ACT_FAIL;
		}
	case STEP_DEACTIVATE:
		if (u->status == OKTA_DEPROVISIONED) {
			*why = "already deactivated (DEPROVISIONED)";
			return OKTA_ACT_DONE;
		}
		if (u->transitioning == OKTA_DEPROVISIONED) {
			*why = "deactivation under way (transitioningToStatus "
			    "DEPROVISIONED)";
			return OKTA_ACT_DONE;
		}
		if (u->status == OKTA_UNKNOWN) {
			*why = "unknown user status";
			return OKTA_ACT_FAIL;
		}
		return OKTA_ACT_CALL;
	case STEP_UNFREEZE:
		switch (u->status) {
		case OKTA_SUSPENDED:
			if (u->transitioning == OKTA_DEPROVISIONED) {
				*why = "the user is being deactivated "
				    "(transitioningToStatus DEPROVISIONED); "
				    "reactivate it by hand";
				return OKTA_ACT_FAIL;
			}
			return OKTA_ACT_CALL;
		case OKTA_DEPROVISIONED:
			*why = "the user is deactivated (DEPROVISIONED): "
			    "unsuspend cannot bring it back; reactivate it by "
			    "hand";
			return OKTA_ACT_FAIL;
		case OKTA_UNKNOWN:
			*why = "unknown user status";
			return OKTA_ACT_FAIL;
		default:
			*why = "not suspended";
			return OKTA_ACT_DONE;
		}
	case STEP_REACTIVATE:
		if (u->transitioning == OKTA_ACTIVE) {
			*why = "activation under way (transitioningToStatus "
			    "ACTIVE)";
			return OKTA_ACT_DONE;
		}
		switch (u->status) {
		case OKTA_ACTIVE:
			*why = "already active";
			return OKTA_ACT_DONE;
		case OKTA_SUSPENDED:
			if (u->transitioning == OKTA_DEPROVISIONED) {
				*why = "the user is being deactivated "
				    "(transitioningToStatus DEPROVISIONED); run "
				    "the step again once it is DEPROVISIONED";
				return OKTA_ACT_FAIL;
			}
			return OKTA_ACT_CALL;
		case OKTA_DEPROVISIONED:
			return OKTA_ACT_CALL;
		case OKTA_PROVISIONED:
			*why = "already reactivated: status PROVISIONED, the "
			    "person completes activation through Okta's "
			    "activation link";
			return OKTA_ACT_DONE;
		case OKTA_RECOVERY:
		case OKTA_PASSWORD_EXPIRED:
		case OKTA_LOCKED_OUT:
			*why = "not suspended or deactivated (the user may sign "
			    "in once the password is reset or the account "
			    "unlocked)";
			return OKTA_ACT_DONE;
		case OKTA_STAGED:
			*why = "status STAGED: never activated at Okta, so "
			    "nothing was taken away; activate it through "
			    "provisioning";
			return OKTA_ACT_SKIP;
		default:
			*why = "unknown user status";
			return OKTA_ACT_FAIL;
		}
	default:
		return OKTA_ACT_CALL;
	}
}

const char *
okta_lifecycle_op(enum step_kind kind, const struct okta_user *u,
    const char **suffix)
{
	switch (kind) {
	case STEP_FREEZE:
		*suffix = "/lifecycle/suspend";
		return "suspend";
	case STEP_UNFREEZE:
		*suffix = "/lifecycle/unsuspend";
		return "unsuspend";
	case STEP_REACTIVATE:
		if (u->status == OKTA_SUSPENDED) {
			*suffix = "/lifecycle/unsuspend";
			return "unsuspend";
		}
		/* No email: the rehire's first day is not ours to announce. */
		*suffix = "/lifecycle/activate?sendEmail=false";
		return "activate";
	default:
		*suffix = "/lifecycle/deactivate?sendEmail=false";
		return "deactivate";
	}
}

int
okta_error_parse(const char *body, size_t len, char *code, size_t codelen,
    char *summary, size_t summarylen)
{
	json_object	*root, *causes, *c;
	const char	*cd, *sm, *cs;
	size_t		 i, n, used;

	if (codelen > 0)
		code[0] = '\0';
	if (summarylen > 0)
		summary[0] = '\0';
	if ((root = conn_json_parse(body, len)) == NULL)
		return -1;
	if (!json_object_is_type(root, json_type_object) ||
	    (cd = conn_str(root, "errorCode")) == NULL) {
		json_object_put(root);
		return -1;
	}
	sm = conn_str(root, "errorSummary");
	conn_copy_clean(code, codelen, cd);
	conn_copy_clean(summary, summarylen, sm);
	if (summarylen > 0 && json_object_object_get_ex(root, "errorCauses",
	    &causes) && json_object_is_type(causes, json_type_array) &&
	    (n = json_object_array_length(causes)) > 0) {
		char	list[512];
		size_t	ll = 0;

		list[0] = '\0';
		for (i = 0; i < n && ll + 3 < sizeof list; i++) {
			c = json_object_array_get_idx(causes, i);
			if ((cs = conn_str(c, "errorSummary")) == NULL)
				continue;
			snprintf(list + ll, sizeof list - ll, "%s%s",
			    ll > 0 ? "; " : "", cs);
			ll = strlen(list);
		}
		used = strlen(summary);
		if (ll > 0 && used + 4 < summarylen) {
			snprintf(summary + used, summarylen - used, " (%s)", list);
			/* control characters from the causes */
			for (i = used; summary[i] != '\0'; i++)
				if ((unsigned char)summary[i] < 0x20 ||
				    summary[i] == 0x7f)
					summary[i] = ' ';
		}
	}
	json_object_put(root);
	return 0;
}

void
okta_call_error(const struct target_result *res, char *out, size_t outlen)
{
	const struct http_response	*resp = res->resp;
	char				 code[32], summary[512];

	if (resp != NULL && resp->status > 0 && okta_error_parse(resp->body,
	    resp->body_len, code, sizeof code, summary, sizeof summary) == 0)
		conn_call_errorf(res, out, outlen, " %s%s%s", code,
		    summary[0] != '\0' ? ": " : "", summary);
	else
		conn_call_error(res, out, outlen);
}

int
okta_not_found(const struct http_response *resp)
{
	char	code[32], summary[64];

	if (resp == NULL || resp->status != 404)
		return 0;
	if (okta_error_parse(resp->body, resp->body_len, code, sizeof code,
	    summary, sizeof summary) != 0)
		return 1;
	return strcmp(code, "E0000007") == 0;
}

enum call_verdict
okta_classify(const struct http_response *resp, char *err, size_t errlen)
{
	char	code[32], summary[512];
	int	have;

	if (resp == NULL || resp->status == 0 ||
	    (resp->status >= 200 && resp->status < 300))
		return CALL_DEFAULT;
	have = okta_error_parse(resp->body, resp->body_len, code, sizeof code,
	    summary, sizeof summary) == 0;
	if (have && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s%s%s", code, summary[0] != '\0' ?
		    ": " : "", summary);
	/* E0000047: rate limited; the target waits for X-Rate-Limit-Reset. */
	if (resp->status == 429)
		return CALL_RETRY;
	if (resp->status == 401)
		return CALL_REAUTH;
	if (resp->status >= 400 && resp->status < 500)
		return CALL_DONE;
	return CALL_DEFAULT;
}
