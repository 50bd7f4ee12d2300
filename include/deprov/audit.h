/*
 * audit: the tamper-evident audit trail. Every engine event (case opened,
 * resumed, state changed, step started, retried, done) and every action other
 * modules report (operator retry/cancel, SLA alerts) is appended to the
 * `audit` table in the store's SQLite database, each record carrying the
 * SHA-256 of its own content and of the previous record, so that editing,
 * deleting or reordering a record breaks the chain at that record.
 *
 * Table (the store's, created with its schema):
 *
 *   audit(seq INTEGER PRIMARY KEY,     1, 2, 3, ... without gaps
 *         ts_ms INTEGER NOT NULL,      Unix time in milliseconds
 *         kind TEXT NOT NULL,          "case.opened", "step.done", ...
 *         case_id INTEGER,             NULL when not about a case
 *         actor TEXT NOT NULL,         who: "deprovd", "/api/<token>", "<token>"
 *         target TEXT, step TEXT,      NULL when not about a step
 *         detail TEXT NOT NULL,        a JSON value (object), at most 16 KiB
 *         prev_hash TEXT NOT NULL,     hash of record seq-1; 64 '0' for seq 1
 *         hash TEXT NOT NULL)          this record's hash
 *
 * Hash definition (version 1). hash is the lowercase hexadecimal SHA-256 of
 * the byte string
 *
 *   "deprov-audit-v1\n" F(seq) F(ts_ms) F(kind) F(case_id) F(actor)
 *                       F(target) F(step) F(detail) F(prev_hash)
 *
 * where, for each column value v as stored:
 *   F(NULL)     = "~,"
 *   F(integer)  = F of its decimal text (optional '-', no leading zeros)
 *   F(text)     = <decimal byte length> ":" <the UTF-8 bytes> ","
 * i.e. a netstring per field. Example: seq 1 is "1:1,", a NULL case_id is
 * "~,", kind "case.opened" is "11:case.opened,". The detail is hashed as the
 * exact text stored, not a re-serialisation. In Python:
 *
 *   f = lambda v: b"~," if v is None else (lambda b: b"%d:%s," % (len(b), b))(
 *       str(v).encode())
 *   sha256(b"deprov-audit-v1\n" + b"".join(map(f, row))).hexdigest()
 *
 * Limits: anyone who can write the database can rewrite the whole tail of the
 * chain consistently, or cut it short; keep the exported hashes (audit_export,
 * a SIEM) or the last seq and hash that verification prints elsewhere and
 * compare. No secret is recorded: details come from engine events, which
 * carry none, and every detail passes through log_redact before it is stored.
 */
#ifndef DEPROV_AUDIT_H
#define DEPROV_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "deprov/store.h"

struct event_base;
struct store;
struct engine;
struct audit;

#define AUDIT_HASH_HEX		64	/* hex digits of a hash */
#define AUDIT_MAX_DETAIL	(16 * 1024)

/* What audit_verify found. */
enum audit_problem {
	AUDIT_INTACT = 0,
	AUDIT_EDITED,		/* the record's hash does not match its content */
	AUDIT_BROKEN_LINK,	/* prev_hash is not the previous record's hash */
	AUDIT_GAP,		/* a seq is missing: deleted (or renumbered) */
	AUDIT_BAD_ROW		/* a column has the wrong type or form: edited */
};

struct audit_verify_result {
	enum audit_problem	 problem;
	long long		 records;	/* records checked (before the problem) */
	long long		 bad_seq;	/* first bad seq (the missing one for a gap); 0 when intact */
	long long		 last_seq;	/* last good record; 0 when none */
	char			 last_hash[AUDIT_HASH_HEX + 1];
	char			 message[256];	/* what is wrong, or the error */
};

/*
 * Create the table when missing, read the last record, and, when engine is
 * not NULL, observe the engine: one record per event (case.opened with the
 * event type, source and reason, actor = the event source; case.resumed;
 * case.state; step.started, step.retry, step.done with outcome and detail;
 * actor "deprovd"). The store must outlive the audit. With a base, records
 * appended outside a transaction are written at the end of the loop turn,
 * together in one transaction (a crash can lose that turn's records, never
 * break the chain); without one (NULL: tools, tests) each is written at once.
 */
struct audit	*audit_new(struct event_base *, struct store *, struct engine *,
		    char *err, size_t errlen);
/* Write what is pending and finalize statements; call before store_close. */
void		 audit_free(struct audit *);

/*
 * Append one record. case_id 0 = none; actor NULL = "deprovd"; target, step
 * may be NULL; detail_json is a JSON object text (NULL = "{}"; anything that
 * is not a JSON object or array is stored as {"text": ...}); it is redacted
 * and capped. Inside an open store transaction the record joins it (and is
 * rolled back with it). 0 or -1 (logged).
 */
int		 audit_append(struct audit *, const char *kind, long long case_id,
		    const char *actor, const char *target, const char *step,
		    const char *detail_json);
/* Write the records still waiting for the end of the loop turn. */
void		 audit_sync(struct audit *);

/* Last written seq and hash (hash "" when the trail is empty). */
long long	 audit_last(const struct audit *, char hash[AUDIT_HASH_HEX + 1]);

/*
 * The hash of one record (see above) as lowercase hex. case_id 0 = NULL;
 * target, step NULL allowed.
 */
void		 audit_hash(long long seq, int64_t ts_ms, const char *kind,
		    long long case_id, const char *actor, const char *target,
		    const char *step, const char *detail, const char *prev_hash,
		    char out[AUDIT_HASH_HEX + 1]);

/*
 * Walk the chain in seq order and recompute every hash. Returns 0 when the
 * chain is intact, 1 when a record is bad (result says which and why), -1
 * when it could not be read (no audit table, database error; result.message).
 */
int		 audit_verify(struct store *, struct audit_verify_result *);

/*
 * Where records are read from, for a trail kept outside a struct store
 * (deprovctl reads PostgreSQL's, pgstore.h): scan has store_audit_scan's
 * contract; errmsg says why it failed.
 */
struct audit_source {
	int		(*scan)(void *src, long long after_seq, int64_t since_ms,
			    int limit, store_audit_cb, void *arg);
	const char	*(*errmsg)(void *src);
	void		*src;
};
/* A store as a source (what audit_verify and audit_export read). */
void		 audit_source_store(struct store *, struct audit_source *);
int		 audit_verify_source(const struct audit_source *,
		    struct audit_verify_result *);
/*
 * Write the records with ts_ms >= since_ms as JSON lines, in seq order:
 * {"seq","ts_ms","time","kind","case_id","actor","target","step","detail",
 *  "prev_hash","hash"} with detail as a JSON value. Returns the number of
 * records written, or -1.
 */
long long	 audit_export(struct store *, int64_t since_ms, FILE *);
long long	 audit_export_source(const struct audit_source *, int64_t since_ms,
		    FILE *);

#endif
