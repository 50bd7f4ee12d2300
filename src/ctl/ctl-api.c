/*
 * ctl-api: deprovctl's client of the admin API. One call at a time through
 * the project's HTTP client (libcurl multi on libevent, the same TLS
 * settings as the daemon's calls: no way to skip verification) on a private
 * event loop that runs until the answer is in. An https API is checked
 * against --cacert, else $SSL_CERT_FILE, else the system CA store; a
 * certificate that fails the check is told apart from an API that cannot
 * be reached, since the cure differs (a CA to give, not a daemon to start).
 * Errors the API returns are printed as "deprovctl: <error>: <detail>
 * (HTTP <status>)"; the token goes into one header and is wiped after.
 *
 * --api may list several instances, comma-separated (a writer and its
 * standbys, docs/CLUSTER.md): they are tried in order, and the next is
 * tried only when a connection to one could not be made at all (a host
 * down) or a standby answered that it does nothing (503 "standby"), so
 * that a request is never carried out twice.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "deprov/http.h"
#include "ctl.h"

#define CTL_API_CONNECT_MS	5000L
#define CTL_API_MAX_BODY	(16 * 1024 * 1024)

/* One API call on a private event loop. */
struct ctl_api_reply {
	struct event_base	*base;
	int			 done;
	long			 status;
	int			 tls_untrusted;	/* see struct http_response */
	int			 tls_cafile;
	int			 not_connected;	/* nothing was sent */
	char			 error[256];
	char			*body;
	size_t			 len;
};

/* A request that may go to the next instance of the list. */
#define CTL_API_NEXT	(-1)

static void	ctl_api_done(const struct http_response *, void *);
static int	ctl_api_error(const struct ctl_api_reply *);
static int	ctl_api_tls_error(const struct ctl *, const char *,
		    const struct ctl_api_reply *, int);
static int	ctl_api_is_standby(const struct ctl_api_reply *);
static int	ctl_api_request_one(struct ctl *, const char *, size_t, int,
		    const char *, const char *, json_object *, const char *,
		    http_sink, void *, struct ctl_api_reply *);

const char *
ctl_api_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL ||
	    json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

int64_t
ctl_api_i64(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	return json_object_get_int64(v);
}

/*
 * Send one request and wait for its answer; a 2xx body goes to sink when
 * one is given, else into c->body. CTL_OK for a 2xx answer; otherwise the
 * error has been printed and the exit status is returned.
 */
static int
ctl_api_request(struct ctl *ctl, const char *method, const char *path,
    json_object *body, const char *accept, http_sink sink, void *sink_arg,
    struct ctl_api_reply *reply)
{
	const char	*api = ctl->api, *comma;
	int		 rc;

	/* Each instance of the list in turn, while none could be reached. */
	for (;;) {
		comma = strchr(api, ',');
		rc = ctl_api_request_one(ctl, api, comma != NULL ?
		    (size_t)(comma - api) : strlen(api), comma != NULL, method,
		    path, body, accept, sink, sink_arg, reply);
		if (rc != CTL_API_NEXT)
			return rc;
		free(reply->body);
		api = comma + 1;
	}
}

/*
 * One instance: the base URL api[0, len). more: another follows, so a
 * connection that cannot be made returns CTL_API_NEXT, unprinted.
 */
static int
ctl_api_request_one(struct ctl *ctl, const char *api, size_t len, int more,
    const char *method, const char *path, json_object *body,
    const char *accept, http_sink sink, void *sink_arg,
    struct ctl_api_reply *reply)
{
	struct http		*h = NULL;
	struct http_request	*req = NULL;
	char			*url = NULL, *auth = NULL;
	const char		*text, *why = NULL;
	struct stat		 sb;
	size_t			 blen;
	int			 rc = CTL_FAILED, https;

	memset(reply, 0, sizeof *reply);
	while (len > 0 && (api[len - 1] == '/' || api[len - 1] == ' '))
		len--;
	while (len > 0 && *api == ' ') {
		api++;
		len--;
	}
	blen = len;
	if (strncmp(api, "http://", 7) != 0 &&
	    strncmp(api, "https://", 8) != 0)
		return ctl_fail(CTL_USAGE, "--api must be an http:// or "
		    "https:// URL (or several, comma-separated)");
	if (asprintf(&url, "%.*s%s", (int)blen, api, path) < 0) {
		url = NULL;
		goto fail;
	}
	https = strncmp(api, "https://", 8) == 0;
	/* A CA file that is not there is a mistake in the command, said first. */
	if (https && ctl->cacert != NULL) {
		if (stat(ctl->cacert, &sb) != 0 || access(ctl->cacert, R_OK) != 0)
			why = strerror(errno);
		else if (!S_ISREG(sb.st_mode))
			why = "not a file";
		if (why != NULL) {
			rc = ctl_fail(CTL_USAGE, "%s %s: cannot read: %s",
			    ctl->cacert_from, ctl->cacert, why);
			goto done;
		}
	}
	if ((reply->base = event_base_new()) == NULL ||
	    (h = http_new(reply->base)) == NULL) {
		ctl_fail(CTL_FAILED, "cannot set up the HTTP client");
		goto done;
	}
	http_set_max_body(h, CTL_API_MAX_BODY);
	if ((req = http_request_new(method, url)) == NULL)
		goto fail;
	http_request_timeout(req, ctl->timeout_ms, ctl->timeout_ms <
	    CTL_API_CONNECT_MS ? ctl->timeout_ms : CTL_API_CONNECT_MS);
	if (https && ctl->cacert != NULL &&
	    http_request_cainfo(req, ctl->cacert) != 0)
		goto fail;
	if (sink != NULL)
		http_request_sink(req, sink, sink_arg);
	if (http_request_header(req, "Accept", accept) != 0 ||
	    http_request_header(req, "User-Agent", "deprovctl/" CTL_VERSION) !=
	    0)
		goto fail;
	if (ctl->token != NULL && *ctl->token != '\0') {
		if (asprintf(&auth, "Bearer %s", ctl->token) < 0) {
			auth = NULL;
			goto fail;
		}
		if (http_request_header(req, "Authorization", auth) != 0)
			goto fail;
	}
	if (body != NULL) {
		text = json_object_to_json_string_ext(body,
		    JSON_C_TO_STRING_PLAIN);
		if (http_request_header(req, "Content-Type",
		    "application/json") != 0 ||
		    http_request_body(req, text, strlen(text)) != 0)
			goto fail;
	}
	reply->done = 0;
	if (http_request_start(h, req, ctl_api_done, reply) != 0) {
		req = NULL;	/* freed by http_request_start */
		ctl_fail(CTL_FAILED, "cannot start the request to %s", url);
		goto done;
	}
	req = NULL;		/* owned by the client now */
	/* Runs until ctl_api_done breaks the loop. */
	if (event_base_dispatch(reply->base) < 0 || !reply->done) {
		ctl_fail(CTL_FAILED, "no reply from %s (event loop ended)", url);
		goto done;
	}
	if (reply->status == 0 && (reply->tls_untrusted || reply->tls_cafile)) {
		rc = ctl_api_tls_error(ctl, api, reply, (int)blen);
		goto done;
	}
	if (more && ((reply->status == 0 && reply->not_connected) ||
	    (reply->status == 503 && ctl_api_is_standby(reply)))) {
		rc = CTL_API_NEXT;
		goto done;
	}
	if (reply->status == 0) {
		rc = ctl_fail(CTL_UNREACHABLE, "cannot reach the API at %.*s: %s",
		    (int)blen, api, reply->error[0] != '\0' ? reply->error :
		    "no response");
		goto done;
	}
	if (reply->status < 200 || reply->status > 299) {
		rc = ctl_api_error(reply);
		goto done;
	}
	rc = CTL_OK;
	goto done;
fail:
	ctl_fail(CTL_FAILED, "out of memory");
done:
	if (req != NULL)
		http_request_free(req);
	http_free(h);
	if (reply->base != NULL)
		event_base_free(reply->base);
	reply->base = NULL;
	if (auth != NULL) {
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	free(url);
	return rc;
}

int
ctl_api_call(struct ctl *ctl, const char *method, const char *path,
    json_object *body, json_object **out, char **raw)
{
	struct ctl_api_reply	c;
	int			rc;

	*out = NULL;
	if (raw != NULL)
		*raw = NULL;
	rc = ctl_api_request(ctl, method, path, body, "application/json", NULL,
	    NULL, &c);
	if (rc == CTL_OK && (c.body == NULL ||
	    (*out = json_tokener_parse(c.body)) == NULL))
		rc = ctl_fail(CTL_FAILED, "the API answered HTTP %ld without a "
		    "JSON body", c.status);
	if (rc == CTL_OK && raw != NULL) {
		*raw = c.body;
		c.body = NULL;
	}
	free(c.body);
	return rc;
}

int
ctl_api_stream(struct ctl *ctl, const char *path, const char *accept,
    http_sink sink, void *arg)
{
	struct ctl_api_reply	c;
	int			rc;

	rc = ctl_api_request(ctl, "GET", path, NULL, accept, sink, arg, &c);
	free(c.body);
	return rc;
}

/* A standby's refusal: nothing was done, the writer is elsewhere. */
static int
ctl_api_is_standby(const struct ctl_api_reply *c)
{
	json_object	*o;
	const char	*e;
	int		 yes;

	if (c->body == NULL || (o = json_tokener_parse(c->body)) == NULL)
		return 0;
	yes = (e = ctl_api_str(o, "error")) != NULL && strcmp(e, "standby") == 0;
	json_object_put(o);
	return yes;
}

/* The answer is in: keep it and stop the loop. */
static void
ctl_api_done(const struct http_response *resp, void *arg)
{
	struct ctl_api_reply *c = arg;

	c->done = 1;
	c->status = resp->status;
	c->tls_untrusted = resp->tls_untrusted;
	c->tls_cafile = resp->tls_cafile;
	/* The request never left: safe to send to the next instance. */
	c->not_connected = resp->curl_code == CURLE_COULDNT_CONNECT ||
	    resp->curl_code == CURLE_COULDNT_RESOLVE_HOST;
	snprintf(c->error, sizeof c->error, "%s", resp->error);
	if (resp->body != NULL && (c->body = malloc(resp->body_len + 1)) !=
	    NULL) {
		memcpy(c->body, resp->body, resp->body_len);
		c->body[resp->body_len] = '\0';
		c->len = resp->body_len;
	}
	event_base_loopexit(c->base, NULL);
}

/* Print an API error reply as "deprovctl: <error>: <detail>". */
static int
ctl_api_error(const struct ctl_api_reply *c)
{
	json_object	*o = c->body != NULL ? json_tokener_parse(c->body) : NULL;
	const char	*e = o != NULL ? ctl_api_str(o, "error") : NULL;
	const char	*d = o != NULL ? ctl_api_str(o, "detail") : NULL;
	char		*ce, *cd, buf[200];

	if (e != NULL) {
		ce = ctl_table_clean(e);
		cd = ctl_table_clean(d != NULL ? d : "");
		ctl_fail(CTL_FAILED, "%s: %s (HTTP %ld)", ce != NULL ? ce : "",
		    cd != NULL ? cd : "", c->status);
		free(ce);
		free(cd);
	} else {
		cd = ctl_table_clean(ctl_table_short(c->body != NULL ? c->body :
		    "", 160, buf, sizeof buf));
		ctl_fail(CTL_FAILED, "HTTP %ld: %s", c->status, cd != NULL ?
		    cd : "");
		free(cd);
	}
	if (o != NULL)
		json_object_put(o);
	return CTL_FAILED;
}

/*
 * The API answered, but its certificate did not pass: not trusted (the CA
 * is missing: exit 1, with what to do), issued for another name, or the CA
 * file given is no CA file (a usage error, exit 2).
 */
static int
ctl_api_tls_error(const struct ctl *ctl, const char *api,
    const struct ctl_api_reply *c, int blen)
{
	if (c->tls_cafile)
		return ctl_fail(CTL_USAGE, "%s %s: no usable CA certificate in "
		    "it: %s", ctl->cacert_from, ctl->cacert, c->error);
	/* curl reports a name mismatch with the same code: tell it apart. */
	if (strstr(c->error, "host name") != NULL)
		return ctl_fail(CTL_FAILED, "the API at %.*s: its certificate "
		    "is for another host name (use that name in --api): %s",
		    blen, api, c->error);
	if (ctl->cacert != NULL)
		return ctl_fail(CTL_FAILED, "the API at %.*s: certificate not "
		    "trusted (give the CA with --cacert or SSL_CERT_FILE; %s %s "
		    "does not hold it): %s", blen, api, ctl->cacert_from,
		    ctl->cacert, c->error);
	return ctl_fail(CTL_FAILED, "the API at %.*s: certificate not trusted "
	    "(give the CA with --cacert or SSL_CERT_FILE): %s", blen, api,
	    c->error);
}
