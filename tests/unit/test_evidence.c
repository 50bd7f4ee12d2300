/*
 * Unit tests for the evidence export: CSV fields (RFC 4180 quoting, the
 * formula guard), the rows built from a case's steps (statuses that are not
 * a time, per-target SLA verdicts), the range's date rules, and whole
 * exports against a real store: several windows of case ids, only leavers
 * in the range, each case's audit range, and a digest line that matches
 * the bytes above it, in both formats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "deprov/audit.h"
#include "deprov/case.h"
#include "deprov/event.h"
#include "deprov/evidence.h"
#include "deprov/store.h"

#define NOW	1800000000000LL
#define SEC	1000LL
#define DAY	(24 * 3600 * SEC)

/* What evidence_csv_field makes of v. */
static char *
field(const char *v)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 n;
	char		*s;

	assert_non_null(b);
	assert_int_equal(evidence_csv_field(b, v), 0);
	n = evbuffer_get_length(b);
	s = calloc(1, n + 1);
	assert_non_null(s);
	evbuffer_remove(b, s, n);
	evbuffer_free(b);
	return s;
}

static void
expect_field(const char *v, const char *want)
{
	char *got = field(v);

	assert_string_equal(got, want);
	free(got);
}

static void
test_csv_field(void **state)
{
	(void)state;
	expect_field("E12345", "E12345");
	expect_field(NULL, "");
	expect_field("", "");
	expect_field("a,b", "\"a,b\"");
	expect_field("say \"hi\"", "\"say \"\"hi\"\"\"");
	expect_field("two\nlines", "\"two\nlines\"");
	expect_field("cr\rhere", "\"cr\rhere\"");
	/* What a spreadsheet would run is made text. */
	expect_field("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"");
	expect_field("+1", "'+1");
	expect_field("-2+3", "'-2+3");
	expect_field("@SUM(A1)", "'@SUM(A1)");
	expect_field("\tx", "'\tx");
	expect_field("\rx", "\"'\rx\"");
	/* Only at the start: a hyphen inside a name is left alone. */
	expect_field("jane-doe@acme.example", "jane-doe@acme.example");
}

static void
test_range(void **state)
{
	int64_t	from, to;
	char	err[256];

	(void)state;
	assert_int_equal(evidence_range("2026-03-01", "2026-03-31", &from, &to,
	    err, sizeof err), 0);
	assert_int_equal(from, 1772323200000LL);
	/* A date as the end holds its whole day. */
	assert_int_equal(to, 1772323200000LL + 31 * DAY);
	assert_int_equal(evidence_range("2026-03-01T09:00:00+01:00",
	    "2026-03-01T09:00:00.5Z", &from, &to, err, sizeof err), 0);
	assert_int_equal(from, 1772352000000LL);
	assert_int_equal(to, 1772355600000LL);
	assert_int_equal(evidence_range("2026-03-01", "2026-03-01", &from, &to,
	    err, sizeof err), 0);
	assert_int_equal(to - from, DAY);
	assert_int_equal(evidence_range("2026-03-02", "2026-03-01", &from, &to,
	    err, sizeof err), -1);
	assert_non_null(strstr(err, "before"));
	assert_int_equal(evidence_range("2026-02-30", "2026-03-01", &from, &to,
	    err, sizeof err), -1);
	assert_int_equal(evidence_range("2026-03-01T09:00", "2026-03-02", &from,
	    &to, err, sizeof err), -1);
	assert_int_equal(evidence_range("yesterday", "2026-03-02", &from, &to,
	    err, sizeof err), -1);
	assert_non_null(strstr(err, "from:"));
	assert_int_equal(evidence_range("2026-03-01", NULL, &from, &to, err,
	    sizeof err), -1);
	assert_non_null(strstr(err, "to is required"));
}

/* Rows collected by evidence_rows_of. */
struct rows {
	struct evidence_row	r[8];
	size_t			n;
};

static int
collect(const struct evidence_row *w, void *arg)
{
	struct rows *rs = arg;

	assert_true(rs->n < 8);
	rs->r[rs->n++] = *w;
	return 0;
}

static struct store_step
st(const char *target, const char *step, enum step_state s, int64_t at,
    int no_account)
{
	struct store_step p;

	memset(&p, 0, sizeof p);
	p.target = target;
	p.step = step;
	p.state = step_state_name(s);
	p.finished_ms = at;
	p.no_account = no_account;
	return p;
}

static void
test_rows_of(void **state)
{
	struct store_evidence_case	e;
	struct store_step		steps[8];
	struct rows			rs;
	char				buf[512];
	struct evbuffer			*b = evbuffer_new();
	size_t				n;

	(void)state;
	memset(&e, 0, sizeof e);
	e.c.id = 7;
	e.c.subject_key = "E7";
	e.c.runbook = "standard-leaver";
	e.c.state = case_state_name(CASE_ESCALATED);
	e.c.created_ms = NOW;
	e.c.effective_ms = 0;
	e.c.freeze_deadline_ms = NOW + 60 * SEC;
	e.c.complete_deadline_ms = NOW + 900 * SEC;
	e.audit_first = 10;
	e.audit_last = 42;
	/* a: frozen in time, revoked, deactivation failed. */
	steps[0] = st("a", "freeze", STEP_SUCCEEDED, NOW + 5 * SEC, 0);
	steps[1] = st("a", "revoke_tokens", STEP_SUCCEEDED, NOW + 6 * SEC, 0);
	steps[2] = st("a", "deactivate", STEP_FAILED, NOW + 7 * SEC, 0);
	/* b: no account: nothing to remove. */
	steps[3] = st("b", "freeze", STEP_SKIPPED, NOW + 1 * SEC, 1);
	steps[4] = st("b", "deactivate", STEP_SKIPPED, NOW + 2 * SEC, 1);
	/* c: frozen late, the rest still running; no revoke in the runbook. */
	steps[5] = st("c", "freeze", STEP_SUCCEEDED, NOW + 90 * SEC, 0);
	steps[6] = st("c", "deactivate", STEP_RETRY_WAIT, 0, 0);
	/* d: a freeze skipped by the connector (still exposed). */
	steps[7] = st("d", "freeze", STEP_SKIPPED, NOW + 3 * SEC, 0);
	memset(&rs, 0, sizeof rs);
	assert_int_equal(evidence_rows_of(&e, steps, 8, NOW + 100 * SEC,
	    collect, &rs), 0);
	assert_int_equal(rs.n, 4);

	assert_string_equal(rs.r[0].target, "a");
	assert_int_equal(rs.r[0].terminated_ms, NOW);	/* no effective: created */
	assert_string_equal(rs.r[0].freeze.status, "succeeded");
	assert_int_equal(rs.r[0].freeze.at_ms, NOW + 5 * SEC);
	assert_int_equal(rs.r[0].revoke.at_ms, NOW + 6 * SEC);
	assert_string_equal(rs.r[0].deactivate.status, "failed");
	assert_int_equal(rs.r[0].deactivate.at_ms, 0);
	assert_string_equal(rs.r[0].freeze_sla, "met");
	assert_string_equal(rs.r[0].complete_sla, "pending");

	assert_string_equal(rs.r[1].freeze.status, "no_account");
	assert_string_equal(rs.r[1].revoke.status, "none");
	assert_string_equal(rs.r[1].deactivate.status, "no_account");
	assert_string_equal(rs.r[1].freeze_sla, "met");
	assert_string_equal(rs.r[1].complete_sla, "met");

	assert_string_equal(rs.r[2].freeze_sla, "breached");
	assert_string_equal(rs.r[2].deactivate.status, "pending");
	assert_string_equal(rs.r[2].complete_sla, "pending");

	/* Escalated and never frozen there: breached. */
	assert_string_equal(rs.r[3].freeze.status, "skipped");
	assert_string_equal(rs.r[3].freeze_sla, "breached");
	assert_string_equal(rs.r[3].complete_sla, "met");

	/* After the complete deadline, what is not done is breached. */
	memset(&rs, 0, sizeof rs);
	assert_int_equal(evidence_rows_of(&e, steps, 3, NOW + 1000 * SEC,
	    collect, &rs), 0);
	assert_string_equal(rs.r[0].complete_sla, "breached");

	/* As CSV: a status where no time is, the audit range last. */
	assert_non_null(b);
	assert_int_equal(evidence_csv_row(b, &rs.r[0]), 0);
	n = evbuffer_get_length(b);
	assert_true(n < sizeof buf);
	evbuffer_remove(b, buf, n);
	buf[n] = '\0';
	assert_string_equal(buf, "E7,7,standard-leaver,escalated,a,"
	    "2027-01-15T08:00:00.000Z,2027-01-15T08:00:00.000Z,"
	    "2027-01-15T08:00:05.000Z,2027-01-15T08:00:06.000Z,failed,met,"
	    "breached,10,42\r\n");
	evbuffer_free(b);

	/* No budgets: nothing judged. */
	e.c.freeze_deadline_ms = e.c.complete_deadline_ms = 0;
	memset(&rs, 0, sizeof rs);
	assert_int_equal(evidence_rows_of(&e, steps, 3, NOW, collect, &rs), 0);
	assert_string_equal(rs.r[0].freeze_sla, "none");
	assert_string_equal(rs.r[0].complete_sla, "none");
}

struct fixture {
	char		 path[64];
	struct store	*store;
	struct audit	*audit;
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof *f);
	char		 err[256];
	int		 fd;

	assert_non_null(f);
	snprintf(f->path, sizeof f->path, "/tmp/test_evidence.XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	f->store = store_open(f->path, err, sizeof err);
	assert_non_null(f->store);
	f->audit = audit_new(NULL, f->store, NULL, err, sizeof err);
	assert_non_null(f->audit);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 p[80];

	audit_free(f->audit);
	store_close(f->store);
	unlink(f->path);
	snprintf(p, sizeof p, "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", f->path);
	unlink(p);
	free(f);
	return 0;
}

/* A completed leaver's case with one target, and its audit records. */
static long long
add_case(struct fixture *f, const char *type, int64_t created,
    int64_t effective, int i)
{
	struct store_case	c;
	struct store_step	s;
	char			key[32];
	long long		id;

	snprintf(key, sizeof key, "E%04d", i);
	memset(&c, 0, sizeof c);
	c.subject_key = key;
	c.subject_json = "{}";
	c.runbook = "rb";
	c.event_type = type;
	c.state = case_state_name(CASE_COMPLETED);
	c.created_ms = c.updated_ms = created;
	c.effective_ms = effective;
	c.freeze_deadline_ms = created + 60 * SEC;
	c.complete_deadline_ms = created + 900 * SEC;
	c.retry_json = "{}";
	assert_true((id = store_case_insert(f->store, &c)) > 0);
	assert_int_equal(audit_append(f->audit, "case.opened", id, NULL, NULL,
	    NULL, NULL), 0);
	memset(&s, 0, sizeof s);
	s.target = "sf";
	s.seq = 1;
	s.step = "freeze";
	s.state = step_state_name(STEP_PENDING);
	assert_int_equal(store_step_insert(f->store, id, &s), 0);
	assert_int_equal(store_step_update(f->store, id, "sf", 1,
	    step_state_name(STEP_SUCCEEDED), 1, NULL, NULL, 0, created + SEC),
	    0);
	assert_int_equal(audit_append(f->audit, "step.done", id, NULL, "sf",
	    "freeze", NULL), 0);
	return id;
}

/* The export whole, in parts; the number of parts in *parts. */
static char *
export(struct fixture *f, enum evidence_format fmt, int64_t from, int64_t to,
    int *parts, long long *rows)
{
	struct evidence_export	*ex;
	struct evbuffer		*b = evbuffer_new();
	size_t			 n;
	char			*s;
	int			 r;

	assert_non_null(b);
	assert_non_null(ex = evidence_export_new(f->store, fmt, from, to, NOW));
	*parts = 0;
	do {
		r = evidence_export_part(ex, b);
		assert_true(r >= 0);
		(*parts)++;
	} while (r == 1);
	assert_int_equal(evidence_export_part(ex, b), 0);	/* stays done */
	*rows = evidence_export_rows(ex);
	evidence_export_free(ex);
	n = evbuffer_get_length(b);
	assert_non_null(s = calloc(1, n + 1));
	evbuffer_remove(b, s, n);
	evbuffer_free(b);
	return s;
}

/* The digest line is the SHA-256 of every byte above it. */
static void
check_digest(const char *body, const char *fmt)
{
	unsigned char	 md[32];
	unsigned int	 len = 0, i;
	char		 hex[65], want[128];
	const char	*last;
	size_t		 n = strlen(body);

	assert_true(n > 2 && body[n - 1] == '\n');
	for (last = body + n - 1; last > body && last[-1] != '\n'; last--)
		;
	assert_int_equal(EVP_Digest(body, (size_t)(last - body), md, &len,
	    EVP_sha256(), NULL), 1);
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(want, sizeof want, fmt, hex);
	assert_string_equal(last, want);
}

static void
test_export(void **state)
{
	struct fixture	*f = *state;
	json_object	*doc, *rows, *row;
	long long	 n;
	char		*csv, *js, line[128], head[128];
	int		 parts, i, in = 0;

	/*
	 * 600 cases: every third an emergency freeze (not a leaver); leavers
	 * terminated in [NOW, NOW + DAY) by their effective time (some were
	 * received the day before), or by creation when they gave none.
	 */
	for (i = 1; i <= 600; i++) {
		if (i % 3 == 0) {
			add_case(f, EVENT_TYPE_FREEZE, NOW, 0, i);
			continue;
		}
		add_case(f, EVENT_TYPE_LEAVER, i % 2 ? NOW - DAY / 2 :
		    NOW + i * SEC, i % 2 ? NOW + i * SEC : 0, i);
		in++;
	}
	/* One out of range on either side. */
	add_case(f, EVENT_TYPE_LEAVER, NOW - DAY, 0, 601);
	add_case(f, EVENT_TYPE_LEAVER, NOW, NOW + DAY, 602);

	csv = export(f, EVIDENCE_CSV, NOW, NOW + DAY, &parts, &n);
	assert_int_equal(n, in);
	/* Header, a part per window of 256 ids (602 ids: 3), trailer. */
	assert_int_equal(parts, 5);
	check_digest(csv, "#sha256;%s\r\n");
	assert_non_null(strstr(csv, "subject,case_id,runbook,case_state,target,"));
	assert_null(strstr(csv, "E0003,"));	/* a freeze case */
	assert_null(strstr(csv, "E0601,"));
	assert_null(strstr(csv, "E0602,"));
	/* Case 301 is the 301st: its records are seq 601 and 602. */
	assert_non_null(strstr(csv, "\r\nE0301,301,rb,completed,sf,"));
	snprintf(line, sizeof line, ",met,met,601,602\r\n");
	assert_non_null(strstr(strstr(csv, "\r\nE0301,"), line));
	snprintf(head, sizeof head, "\r\n#audit_head;seq=%d;hash=", 2 * 602);
	assert_non_null(strstr(csv, head));
	free(csv);

	js = export(f, EVIDENCE_JSON, NOW, NOW + DAY, &parts, &n);
	check_digest(js, "\"sha256\":\"%s\"}\n");
	assert_non_null(doc = json_tokener_parse(js));
	assert_true(json_object_object_get_ex(doc, "rows", &rows));
	assert_int_equal(json_object_array_length(rows), in);
	row = json_object_array_get_idx(rows, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(row,
	    "subject")), "E0001");
	assert_string_equal(json_object_get_string(json_object_object_get(row,
	    "freeze")), "succeeded");
	assert_int_equal(json_object_get_int64(json_object_object_get(
	    json_object_object_get(row, "audit_seq"), "first")), 1);
	assert_int_equal(json_object_get_int64(json_object_object_get(
	    json_object_object_get(doc, "audit_head"), "seq")), 2 * 602);
	json_object_put(doc);
	free(js);

	/* Nothing in range: the header, the head and the digest all the same. */
	csv = export(f, EVIDENCE_CSV, NOW - 10 * DAY, NOW - 9 * DAY, &parts, &n);
	assert_int_equal(n, 0);
	check_digest(csv, "#sha256;%s\r\n");
	free(csv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_field),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_rows_of),
		cmocka_unit_test_setup_teardown(test_export, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
