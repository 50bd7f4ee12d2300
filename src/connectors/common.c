/*
 * common: the step half of what the connectors share (common.h): a step's
 * state, ending it with a detail and a debug line, the "doing" text, one
 * call with the step's call options, and the event's account id.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "deprov/connector.h"
#include "deprov/event.h"
#include "deprov/log.h"
#include "deprov/runbook.h"
#include "deprov/target.h"

#include "common.h"

void *
conn_step_new(struct step_ctx *ctx, size_t size, void (*free_fn)(void *),
    const char *module)
{
	struct conn_step	*cs;
	const char		*name;

	if ((cs = calloc(1, size)) == NULL) {
		step_ctx_done(ctx, STEP_OUT_FAILED, "out of memory");
		return NULL;
	}
	step_ctx_set_data(ctx, cs, free_fn);
	cs->ctx = ctx;
	cs->target = step_ctx_target(ctx);
	cs->kind = step_ctx_kind(ctx);
	cs->module = module;
	name = step_kind_name(cs->kind);
	cs->name = name != NULL ? name : "step";
	return cs;
}

void
conn_vfinish(struct conn_step *cs, enum step_outcome out, const char *fmt,
    va_list ap)
{
	char	detail[CONN_DETAIL_MAX];

	vsnprintf(detail, sizeof detail, fmt, ap);
	/*
	 * The one place a step's detail is made, often from what the target
	 * answered (its error text may echo our credential): every secret
	 * value is masked before the detail is logged, stored in the step,
	 * the timeline and the case, audited or served.
	 */
	log_redact_secrets(detail);
	if (cs->on_finish != NULL)
		cs->on_finish(cs);
	log_debug(cs->module, "%s: case %lld %s: %s%s", target_name(cs->target),
	    step_ctx_case_id(cs->ctx), cs->name, out == STEP_OUT_OK ? "ok: " :
	    out == STEP_OUT_SKIPPED || out == STEP_OUT_NO_ACCOUNT ? "skipped: " :
	    "failed: ", detail);
	step_ctx_done(cs->ctx, out, detail);
}

void
conn_finish(struct conn_step *cs, enum step_outcome out, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	conn_vfinish(cs, out, fmt, ap);
	va_end(ap);
}

void
conn_doing(struct conn_step *cs, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(cs->doing, sizeof cs->doing, fmt, ap);
	va_end(ap);
}

void
conn_fail_doing(struct conn_step *cs, const char *fmt, ...)
{
	char	why[CONN_DETAIL_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	conn_finish(cs, STEP_OUT_FAILED, "%s: %s: %s", cs->name, cs->doing, why);
}

int
conn_call(struct conn_step *cs, const char *method, const char *path,
    const char *body, const char *content_type, const char *extra_header,
    target_cb cb, void *arg)
{
	struct target_req	req;

	memset(&req, 0, sizeof req);
	req.method = method;
	req.path = path;
	req.body = body;
	req.body_len = body != NULL ? strlen(body) : 0;
	req.content_type = content_type;
	req.extra_header = extra_header;
	if (target_call(cs->target, &req, step_ctx_call_opts(cs->ctx), cb,
	    arg) == 0)
		return 0;
	conn_fail_doing(cs, "request could not be queued");
	return -1;
}

void
conn_fail(struct conn_step *cs, const struct target_result *res,
    void (*describe)(const struct target_result *, char *, size_t))
{
	char	err[768];

	describe(res, err, sizeof err);
	conn_fail_doing(cs, "%s", err);
}

const char *
conn_event_account(const struct conn_step *cs)
{
	const struct subject	*sub = step_ctx_subject(cs->ctx);
	json_object		*v;

	if (sub == NULL || sub->accounts == NULL ||
	    !json_object_object_get_ex(sub->accounts, target_name(cs->target),
	    &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

void
conn_unsupported(struct conn_step *cs, const struct connector *c)
{
	const char	*why = (int)cs->kind >= 0 && cs->kind < STEP_KIND_COUNT ?
			    c->skips[cs->kind] : NULL;

	if (why != NULL)
		conn_finish(cs, STEP_OUT_SKIPPED, "%s", why);
	else
		conn_finish(cs, STEP_OUT_SKIPPED, "%s is not supported by %s",
		    cs->name, c->kind);
}
