/*
 * ctl-cmd-evidence: "evidence", the access-removal evidence export for
 * auditors (GET /v1/evidence; docs/EVIDENCE.md). The body is written as it
 * arrives, to standard output or to FILE, and checked on the way: the last
 * line must carry the SHA-256 of every byte before it. With --out the file
 * is written beside FILE and renamed only once it checks, so a FILE that
 * exists is whole; an export cut short or that does not check exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "deprov/evidence.h"
#include "deprov/http.h"
#include "ctl.h"

#define CTL_EVIDENCE_MAX_LINE	(1024 * 1024)	/* a row is far smaller */

static int	ctl_cmd_evidence_exec(struct ctl *, struct ctl_args *);

static const struct ctl_opt ctl_cmd_evidence_opts[] = {
	{ .name = "from", .type = CTL_OPT_STR, .flags = CTL_OPT_REQUIRED },
	{ .name = "to", .type = CTL_OPT_STR, .flags = CTL_OPT_REQUIRED },
	{ .name = "format", .type = CTL_OPT_STR },
	{ .name = "out", .type = CTL_OPT_STR },
	{ .name = NULL }
};

const struct ctl_cmd_entry ctl_cmd_evidence_entry = {
	.name = "evidence",
	.usage = "evidence --from DATE --to DATE [--format csv|json] "
	    "[--out FILE]",
	.help =
	  "Export the evidence of access removal for auditors (GET /v1/evidence;\n"
	  "viewer role): one row per leaver case and target, with the termination\n"
	  "time, when the event was received, when the account was frozen, its\n"
	  "tokens revoked and it was deactivated (or why not), the SLA verdicts,\n"
	  "and the audit records that prove the row. It ends with the audit\n"
	  "chain's head and the SHA-256 of every byte before the last line;\n"
	  "deprovctl checks that digest (exit 1 when it does not match or the\n"
	  "export was cut short). See docs/EVIDENCE.md for the auditor's check.\n"
	  "\n"
	  "  --from DATE      cases whose termination time is at or after DATE\n"
	  "  --to DATE        ... and before DATE; a date (2026-03-31) counts its\n"
	  "                   whole day. RFC 3339 (2026-03-01T09:00:00Z) or a date\n"
	  "                   (its midnight UTC)\n"
	  "  --format F       csv (default) or json\n"
	  "  --out FILE       write FILE (whole, or not at all) instead of stdout\n",
	.opts = ctl_cmd_evidence_opts,
	.exec = ctl_cmd_evidence_exec
};

/*
 * The body as it arrives: written out, and hashed up to the last line,
 * which is held back (with the one before it, the audit head) until the
 * next line shows it was not the last.
 */
struct ctl_evidence {
	FILE		*out;
	EVP_MD_CTX	*md;
	char		*line;		/* the line being received */
	size_t		 len;
	size_t		 cap;
	char		*held;		/* the last complete line, not hashed */
	size_t		 heldlen;
	char		*prev;		/* the line before it */
	int		 failed;
};

/* A complete line: the held one is not the last after all. */
static int
ctl_evidence_line(struct ctl_evidence *e)
{
	if (e->held != NULL &&
	    EVP_DigestUpdate(e->md, e->held, e->heldlen) != 1)
		return -1;
	free(e->prev);
	e->prev = e->held;
	e->heldlen = e->len;
	if ((e->held = malloc(e->len + 1)) == NULL)
		return -1;
	memcpy(e->held, e->line, e->len);
	e->held[e->len] = '\0';
	e->len = 0;
	return 0;
}

/* http_sink: write the bytes out and follow the lines. */
static int
ctl_evidence_sink(const char *data, size_t len, void *arg)
{
	struct ctl_evidence	*e = arg;
	size_t			 i, cap;
	char			*n;

	if (fwrite(data, 1, len, e->out) != len) {
		e->failed = errno != 0 ? errno : EIO;
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (e->len == e->cap) {
			cap = e->cap != 0 ? e->cap * 2 : 4096;
			if (cap > CTL_EVIDENCE_MAX_LINE ||
			    (n = realloc(e->line, cap)) == NULL) {
				e->failed = ENOMEM;
				return -1;
			}
			e->line = n;
			e->cap = cap;
		}
		e->line[e->len++] = data[i];
		if (data[i] == '\n' && ctl_evidence_line(e) != 0) {
			e->failed = ENOMEM;
			return -1;
		}
	}
	return 0;
}

/*
 * The digest the last line names, checked against the bytes before it:
 * CSV "#sha256;HEX", JSON "\"sha256\":\"HEX\"}". 0, or -1 with why.
 */
static int
ctl_evidence_check(struct ctl_evidence *e, const char *format, char *why,
    size_t len)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0, i;
	char		hex[2 * EVP_MAX_MD_SIZE + 1], want[256];

	if (e->len != 0 || e->held == NULL) {
		snprintf(why, len, "the export was cut short (no digest line)");
		return -1;
	}
	if (EVP_DigestFinal_ex(e->md, md, &mdlen) != 1) {
		snprintf(why, len, "cannot compute SHA-256");
		return -1;
	}
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (strcmp(format, "csv") == 0)
		snprintf(want, sizeof want, "#sha256;%s\r\n", hex);
	else
		snprintf(want, sizeof want, "\"sha256\":\"%s\"}\n", hex);
	if (strcmp(e->held, want) != 0) {
		snprintf(why, len, "the digest line does not match the "
		    "export (SHA-256 of the body: %s)", hex);
		return -1;
	}
	return 0;
}

static int
ctl_cmd_evidence_exec(struct ctl *ctl, struct ctl_args *args)
{
	const char		*from = ctl_args_get(args, "from");
	const char		*to = ctl_args_get(args, "to");
	const char		*format = ctl_args_get(args, "format");
	const char		*outfile = ctl_args_get(args, "out");
	struct ctl_evidence	 e;
	char			*path = NULL, *tmp = NULL, *ef = NULL, *et = NULL;
	char			 why[256];
	int64_t			 from_ms, to_ms;
	int			 rc = CTL_FAILED;

	memset(&e, 0, sizeof e);
	if (format == NULL)
		format = "csv";
	if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
		return ctl_usage_error(ctl, "--format: csv or json");
	/* Checked here too: a bad date is a usage error, not the API's 400. */
	if (evidence_range(from, to, &from_ms, &to_ms, why, sizeof why) != 0)
		return ctl_usage_error(ctl, "--%s", why);
	if ((ef = http_urlencode(from)) == NULL ||
	    (et = http_urlencode(to)) == NULL ||
	    asprintf(&path, "/v1/evidence?from=%s&to=%s&format=%s", ef, et,
	    format) < 0) {
		path = NULL;
		rc = ctl_fail(CTL_FAILED, "out of memory");
		goto done;
	}
	if (outfile != NULL) {
		if (asprintf(&tmp, "%s.part", outfile) < 0) {
			tmp = NULL;
			rc = ctl_fail(CTL_FAILED, "out of memory");
			goto done;
		}
		if ((e.out = fopen(tmp, "w")) == NULL) {
			rc = ctl_fail(CTL_FAILED, "%s: %s", tmp, strerror(errno));
			goto done;
		}
	} else
		e.out = stdout;
	if ((e.md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(e.md, EVP_sha256(), NULL) != 1) {
		rc = ctl_fail(CTL_FAILED, "cannot compute SHA-256");
		goto done;
	}
	rc = ctl_api_stream(ctl, path, strcmp(format, "csv") == 0 ? "text/csv" :
	    "application/json", ctl_evidence_sink, &e);
	if (e.failed != 0) {
		rc = ctl_fail(CTL_FAILED, "%s: %s", outfile != NULL ? tmp :
		    "standard output", strerror(e.failed));
		goto done;
	}
	if (rc != CTL_OK)
		goto done;
	if (fflush(e.out) != 0 || (e.out != stdout && fsync(fileno(e.out)) !=
	    0)) {
		rc = ctl_fail(CTL_FAILED, "%s: %s", outfile != NULL ? tmp :
		    "standard output", strerror(errno));
		goto done;
	}
	if (ctl_evidence_check(&e, format, why, sizeof why) != 0) {
		rc = ctl_fail(CTL_FAILED, "evidence: %s", why);
		goto done;
	}
	if (outfile != NULL) {
		if (fclose(e.out) != 0 || rename(tmp, outfile) != 0) {
			e.out = NULL;
			rc = ctl_fail(CTL_FAILED, "%s: %s", outfile,
			    strerror(errno));
			goto done;
		}
		e.out = NULL;
		fprintf(stderr, "deprovctl: evidence written to %s; %s", outfile,
		    e.prev != NULL ? e.prev : "\n");
	}
	rc = CTL_OK;
done:
	if (e.out != NULL && e.out != stdout)
		fclose(e.out);
	/* An export that did not check is not left where it would be taken. */
	if (tmp != NULL && rc != CTL_OK)
		unlink(tmp);
	EVP_MD_CTX_free(e.md);
	free(e.line);
	free(e.held);
	free(e.prev);
	free(path);
	free(tmp);
	free(ef);
	free(et);
	return rc;
}
