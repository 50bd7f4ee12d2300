/*
 * evidence: the access-removal evidence export (docs/EVIDENCE.md), what
 * SOC 2 CC6.2/CC6.3, ISO 27001 A.5.18 and PCI DSS 8.2.5 ask of a leaver
 * process: per leaver and target, when the person's access was to end and
 * when each system's access was removed, the SLA verdicts, and the range
 * of audit records that proves the row. GET /v1/evidence (viewer) sends it
 * as CSV or JSON in parts, one window of cases at a time; it ends with the
 * audit chain's head and the SHA-256 of every byte before that last line,
 * and the export is itself recorded in the audit trail with that digest.
 */
#ifndef DEPROV_EVIDENCE_H
#define DEPROV_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "deprov/store.h"

struct api;
struct audit;
struct evbuffer;
struct evidence;
struct evidence_export;

enum evidence_format {
	EVIDENCE_CSV = 0,
	EVIDENCE_JSON
};

/* One step's outcome at a target: a status and, when succeeded, its time. */
struct evidence_step {
	const char	*status;	/* succeeded, no_account, skipped, failed,
					   pending, none (the runbook runs none) */
	int64_t		 at_ms;		/* succeeded: when it finished; else 0 */
};

/* One row: a leaver's case at one target. Strings are the store's. */
struct evidence_row {
	const char		*subject;
	long long		 case_id;
	const char		*runbook;
	const char		*case_state;
	const char		*target;
	int64_t			 terminated_ms;	/* effective time (or creation) */
	int64_t			 received_ms;	/* the case was opened */
	struct evidence_step	 freeze;
	struct evidence_step	 revoke;
	struct evidence_step	 deactivate;
	const char		*freeze_sla;	/* met, breached, pending, not_judged, none */
	const char		*complete_sla;
	long long		 audit_first;
	long long		 audit_last;
};

typedef int (*evidence_row_cb)(const struct evidence_row *, void *arg);

/*
 * The rows of one case, one per target in the order of steps (the store's:
 * by target, then seq), judged as of now_ms. cb's non-zero stops and is
 * returned.
 */
int		 evidence_rows_of(const struct store_evidence_case *,
		    const struct store_step *steps, size_t nsteps, int64_t now_ms,
		    evidence_row_cb, void *arg);

/*
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or
 * LF, quotes doubled. A value a spreadsheet would take for a formula (its
 * first character = + - @, tab or CR) gets a leading apostrophe first.
 * NULL is an empty field. 0 or -1.
 */
int		 evidence_csv_field(struct evbuffer *, const char *);
/* The CSV header line, and one row as a CSV line (CRLF-ended). */
int		 evidence_csv_header(struct evbuffer *);
int		 evidence_csv_row(struct evbuffer *, const struct evidence_row *);
/* One row as a JSON object on one line (no newline). */
int		 evidence_json_row(struct evbuffer *, const struct evidence_row *);

/*
 * An export of the leaver cases whose termination time is in
 * [from_ms, to_ms), among those that exist when it starts. NULL when out
 * of memory.
 */
struct evidence_export *evidence_export_new(struct store *, enum evidence_format,
		    int64_t from_ms, int64_t to_ms, int64_t now_ms);
/*
 * Append the next part to out: the header, then the rows of one window of
 * cases, then the trailer (the audit head and the digest line). 1 when
 * more parts follow, 0 after the trailer, -1 on a store error.
 */
int		 evidence_export_part(struct evidence_export *, struct evbuffer *out);
long long	 evidence_export_rows(const struct evidence_export *);
/* After the trailer: the digest (hex) and the audit head it names. */
const char	*evidence_export_sha256(const struct evidence_export *);
long long	 evidence_export_head(const struct evidence_export *);
void		 evidence_export_free(struct evidence_export *);

/*
 * The range of an export: RFC 3339 times or dates (a date is its midnight
 * UTC; a date given as `to` counts its whole day). 0, or -1 with err.
 */
int		 evidence_range(const char *from, const char *to, int64_t *from_ms,
		    int64_t *to_ms, char *err, size_t errlen);

/*
 * Register GET /v1/evidence on api, recording each export in audit (may be
 * NULL). Free after the api and before the audit and the store.
 */
struct evidence	*evidence_new(struct api *, struct store *, struct audit *,
		    char *err, size_t errlen);
void		 evidence_free(struct evidence *);

#endif
