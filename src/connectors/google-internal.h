/*
 * google-internal: the pure half of the Google Workspace connector, shared
 * by google.c and the unit tests (tests/unit/test_google.c). It builds
 * Admin SDK paths (Directory users, tokens; Data Transfer applications and
 * transfers) and the transfer body, reads users, token lists, application
 * lists, transfers and Google's error body {"error":{"code","message",
 * "errors":[{"reason"}]}}, parses the target's options and classifies
 * responses. No calls are made here.
 */
#ifndef DEPROV_GOOGLE_INTERNAL_H
#define DEPROV_GOOGLE_INTERNAL_H

#include <stddef.h>

#include <json-c/json.h>

#include "deprov/connector.h"
#include "deprov/http.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

#define GOOGLE_ID_MAX		64	/* user ids are 21 digits; transfer ids longer */
#define GOOGLE_KEY_MAX		320
#define GOOGLE_DRIVE_APP_NAME	"Drive and Docs"
#define GOOGLE_POLL_MS_DEFAULT	5000
#define GOOGLE_TIMEOUT_S_DEFAULT 3600
#define GOOGLE_LEVELS_MAX	2

struct google_user {
	char	 id[GOOGLE_ID_MAX + 1];
	char	 email[GOOGLE_KEY_MAX + 1];
	int	 suspended;		/* 0/1, -1 when absent */
};

enum google_transfer_state {
	GOOGLE_TRANSFER_PENDING = 0,	/* "new", "inProgress" or anything else */
	GOOGLE_TRANSFER_COMPLETED,
	GOOGLE_TRANSFER_FAILED
};

struct google_transfer {
	char				 id[GOOGLE_ID_MAX + 1];
	char				 old_owner[GOOGLE_ID_MAX + 1];
	char				 new_owner[GOOGLE_ID_MAX + 1];
	char				 status[32];	/* overallTransferStatusCode */
	enum google_transfer_state	 state;
	int				 has_app;	/* the wanted application is in it */
};

/* The connector's options (target "options"). */
struct google_options {
	char	 drive_app_id[GOOGLE_ID_MAX + 1];	/* "" = look it up */
	long	 poll_ms;				/* transfer_poll_ms */
	long	 timeout_s;				/* transfer_timeout_s */
	char	 levels[GOOGLE_LEVELS_MAX][8];		/* privacy_levels */
	size_t	 nlevels;
};

/* The descriptor (google.c). */
extern const struct connector connector_google;

/*
 * "/admin/directory/v1/users/{key}{suffix}" with key percent-encoded;
 * suffix may be NULL ("/signOut", "/tokens"). NULL on an unusable key.
 */
char		*google_user_path(const char *key, const char *suffix);
/* "/admin/directory/v1/users/{key}/tokens/{clientId}", both encoded. */
char		*google_token_path(const char *key, const char *client_id);
/* "/admin/datatransfer/v1/transfers?oldOwnerUserId=..[&pageToken=..]". */
char		*google_transfers_list_path(const char *old_owner,
		    const char *page_token);
/* "/admin/datatransfer/v1/applications[?pageToken=..]". */
char		*google_apps_path(const char *page_token);
/* "/admin/datatransfer/v1/transfers/{id}". */
char		*google_transfer_path(const char *id);
/* {"suspended":true|false} */
const char	*google_suspend_body(int suspended);
/*
 * The transfers.insert body: {"oldOwnerUserId","newOwnerUserId",
 * "applicationDataTransfers":[{"applicationId","applicationTransferParams":
 * [{"key":"PRIVACY_LEVEL","value":[levels]}]}]}. malloc'd, NULL on a bad
 * argument.
 */
char		*google_transfer_body(const char *old_owner, const char *new_owner,
		    const char *app_id, const struct google_options *);

/* The keys the target's "options" may have, NULL-terminated. */
extern const char *const google_option_keys[];
/*
 * Read the options object (NULL = defaults). Returns 0, or -1 with the
 * reason in err. Keys it does not know are left alone
 * (connector_check_options reports them).
 */
int		 google_options_parse(json_object *, struct google_options *,
		    char *err, size_t errlen);
/* The connector's check_options: every bad value, through the check. */
void		 google_check_options(struct connector_check *,
		    json_object *options);
/*
 * The Data Transfer application a reassign step's object names (any
 * case): "Drive" is GOOGLE_DRIVE_APP_NAME. NULL when it names none.
 */
const char	*google_transfer_app(const char *name);
/* The connector's check_step: a reassign step's objects are applications. */
void		 google_check_step(struct connector_check *,
		    const struct runbook_step *, json_object *json);

/* Read a user resource. 0, or -1 with the reason in err. */
int		 google_user_parse(const char *body, size_t len,
		    struct google_user *, char *err, size_t errlen);
/*
 * Read a token list {"items":[{"clientId"}]} ("items" absent = none).
 * *ids gets a malloc'd array of malloc'd client ids. 0, or -1 with err.
 */
int		 google_tokens_parse(const char *body, size_t len, char ***ids,
		    size_t *n, char *err, size_t errlen);
void		 google_ids_free(char **ids, size_t n);
/*
 * Find the Drive application in an applications list page: the one named
 * "Drive and Docs" (case-insensitive), else the first whose name mentions
 * Drive. Returns 1 (id in app_id), 0 (not on this page; next_page gets the
 * nextPageToken or ""), or -1 with err.
 */
int		 google_apps_find(const char *body, size_t len, char *app_id,
		    size_t app_idlen, char *next_page, size_t next_pagelen,
		    char *err, size_t errlen);
/* Read one transfer; has_app says whether app_id (may be NULL) is in it. */
int		 google_transfer_parse(const char *body, size_t len,
		    const char *app_id, struct google_transfer *, char *err,
		    size_t errlen);
/*
 * In a transfers list page, find a transfer still pending (not completed or
 * failed) to new_owner that includes app_id. Returns 1 (in out), 0 (none on
 * this page; next_page as above), or -1 with err.
 */
int		 google_transfers_find(const char *body, size_t len,
		    const char *new_owner, const char *app_id,
		    struct google_transfer *out, char *next_page,
		    size_t next_pagelen, char *err, size_t errlen);

/*
 * Read {"error":{"code","message","errors":[{"reason"}]}}: the first
 * reason and the message (either may be ""). 0, or -1 when the body is not
 * a Google error.
 */
int		 google_error_parse(const char *body, size_t len, char *reason,
		    size_t reasonlen, char *msg, size_t msglen);
/* "HTTP 404 notFound: Resource Not Found: userKey" or the target's text. */
void		 google_call_error(const struct target_result *, char *out,
		    size_t outlen);
/* 1 for a 404 (the user, token or transfer is not there). */
int		 google_not_found(const struct http_response *);
/*
 * The classifier of Google targets: 403 with reason userRateLimitExceeded,
 * rateLimitExceeded or quotaExceeded, and 429, retry with backoff; 401
 * re-authenticates; other 4xx are final; 5xx retry (target default).
 */
enum call_verdict google_classify(const struct http_response *, char *err,
		    size_t errlen);

#endif
