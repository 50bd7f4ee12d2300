/*
 * Unit tests for audit: the hash chain in a real store, verification of an
 * intact trail and of edited, deleted and reordered records, the hash
 * definition against an independent computation, rollback safety, reopening,
 * redaction and export.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <openssl/sha.h>
#include <sqlite3.h>

#include "deprov/audit.h"
#include "deprov/log.h"
#include "deprov/store.h"

#define ZERO64 \
	"0000000000000000000000000000000000000000000000000000000000000000"

struct fixture {
	char		 dir[64];
	char		 path[128];
	struct store	*store;
	struct audit	*audit;
	sqlite3		*db;
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof *f);
	char		 err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/deprov-audit-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/deprov.db", f->dir);
	f->store = store_open(f->path, err, sizeof err);
	assert_non_null(f->store);
	f->audit = audit_new(NULL, f->store, NULL, err, sizeof err);
	assert_non_null(f->audit);
	/* A second connection of our own: the tamperer's. */
	assert_int_equal(sqlite3_open(f->path, &f->db), SQLITE_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 cmd[256];

	audit_free(f->audit);
	store_close(f->store);
	sqlite3_close(f->db);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(f);
	return 0;
}

static void
exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, msg);
		sqlite3_free(msg);
		fail();
	}
}

static long long
count_rows(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	long long	 n = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Ten records of several shapes. */
static void
append_chain(struct audit *a, int n)
{
	char	detail[128];
	int	i;

	for (i = 1; i <= n; i++) {
		snprintf(detail, sizeof detail, "{\"n\":%d,\"outcome\":\"ok\"}",
		    i);
		assert_int_equal(audit_append(a, i % 3 == 0 ? "step.done" :
		    "case.state", i % 4 == 0 ? 0 : 100 + i, i == 1 ?
		    "/api/soc-oncall" : "deprovd", i % 3 == 0 ? "salesforce-prod" :
		    NULL, i % 3 == 0 ? "freeze" : NULL, detail), 0);
	}
}

static void
test_chain_intact(void **state)
{
	struct fixture			*f = *state;
	struct audit_verify_result	 r;
	char				 hash[AUDIT_HASH_HEX + 1];

	assert_int_equal(audit_verify(f->store, &r), 0);
	assert_int_equal(r.records, 0);
	append_chain(f->audit, 10);
	assert_int_equal(audit_last(f->audit, hash), 10);
	assert_int_equal(audit_verify(f->store, &r), 0);
	assert_int_equal(r.problem, AUDIT_INTACT);
	assert_int_equal(r.records, 10);
	assert_int_equal(r.last_seq, 10);
	assert_string_equal(r.last_hash, hash);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit WHERE "
	    "seq = 1 AND prev_hash = '" ZERO64 "'"), 1);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit a JOIN "
	    "audit b ON b.seq = a.seq + 1 WHERE b.prev_hash = a.hash"), 9);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit WHERE "
	    "case_id IS NULL"), 2);
}

static void
test_edit_detected(void **state)
{
	struct fixture			*f = *state;
	struct audit_verify_result	 r;

	append_chain(f->audit, 10);
	exec_sql(f->db, "UPDATE audit SET detail = '{\"n\":6,\"outcome\":"
	    "\"failed\"}' WHERE seq = 6");
	assert_int_equal(audit_verify(f->store, &r), 1);
	assert_int_equal(r.problem, AUDIT_EDITED);
	assert_int_equal(r.bad_seq, 6);
	assert_int_equal(r.records, 5);
	assert_non_null(strstr(r.message, "seq 6"));
	assert_non_null(strstr(r.message, "edited"));
}

static void
test_edit_rehashed_detected(void **state)
{
	struct fixture			*f = *state;
	struct audit_verify_result	 r;
	sqlite3_stmt			*st;
	char				 hash[AUDIT_HASH_HEX + 1], prev[80];

	/* An editor who recomputes the record's own hash breaks the next link. */
	append_chain(f->audit, 10);
	assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT prev_hash, ts_ms "
	    "FROM audit WHERE seq = 4", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(prev, sizeof prev, "%s", sqlite3_column_text(st, 0));
	audit_hash(4, sqlite3_column_int64(st, 1), "case.state", 0, "deprovd",
	    NULL, NULL, "{}", prev, hash);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(f->db, "UPDATE audit SET detail = "
	    "'{}', hash = ? WHERE seq = 4", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(audit_verify(f->store, &r), 1);
	assert_int_equal(r.problem, AUDIT_BROKEN_LINK);
	assert_int_equal(r.bad_seq, 5);
}

static void
test_nul_byte_detected(void **state)
{
	struct fixture			*f = *state;
	struct audit_verify_result	 r;

	/* Text after a NUL would be invisible to a strlen-based hash. */
	append_chain(f->audit, 5);
	exec_sql(f->db, "UPDATE audit SET detail = detail || char(0) || 'x' "
	    "WHERE seq = 3");
	assert_int_equal(audit_verify(f->store, &r), 1);
	assert_int_equal(r.bad_seq, 3);
	exec_sql(f->db, "UPDATE audit SET ts_ms = CAST(ts_ms AS TEXT) "
	    "|| 'x' WHERE seq = 2");
	assert_int_equal(audit_verify(f->store, &r), 1);
	assert_int_equal(r.problem, AUDIT_BAD_ROW);
	assert_int_equal(r.bad_seq, 2);
}

static void
test_delete_detected(void **state)
{
	struct fixture			*f = *state;
	struct audit_verify_result	 r;

	append_chain(f->audit, 10);
	exec_sql(f->db, "DELETE FROM audit WHERE seq = 7");
	assert_int_equal(audit_verify(f->store, &r), 1);
	assert_int_equal(r.problem, AUDIT_GAP);
	assert_int_equal(r.bad_seq, 7);
	assert_non_null(strstr(r.message, "seq 7 is missing"));
	assert_non_null(strstr(r.message, "seq 8 follows seq 6"));

	/* Deleting the first record is a gap at 1. */
	exec_sql(f->db, "DELETE FROM audit WHERE seq = 1");
	assert_int_equal(audit_verify(f->store, &r), 1);
	assert_int_equal(r.problem, AUDIT_GAP);
	assert_int_equal(r.bad_seq, 1);

	/* Deleting and renumbering to hide the gap breaks the link. */
	exec_sql(f->db, "DELETE FROM audit");
	audit_free(f->audit);
	f->audit = audit_new(NULL, f->store, NULL, r.message, sizeof r.message);
	assert_non_null(f->audit);
	append_chain(f->audit, 6);
	exec_sql(f->db, "DELETE FROM audit WHERE seq = 3;"
	    "UPDATE audit SET seq = seq - 1 WHERE seq > 3");
	assert_int_equal(audit_verify(f->store, &r), 1);
	assert_int_equal(r.problem, AUDIT_BROKEN_LINK);
	assert_int_equal(r.bad_seq, 3);
}

static void
test_swap_detected(void **state)
{
	struct fixture			*f = *state;
	struct audit_verify_result	 r;

	append_chain(f->audit, 10);
	exec_sql(f->db, "UPDATE audit SET seq = -4 WHERE seq = 4;"
	    "UPDATE audit SET seq = 4 WHERE seq = 5;"
	    "UPDATE audit SET seq = 5 WHERE seq = -4");
	assert_int_equal(audit_verify(f->store, &r), 1);
	assert_int_equal(r.problem, AUDIT_BROKEN_LINK);
	assert_int_equal(r.bad_seq, 4);
	assert_non_null(strstr(r.message, "reordered"));
}

/* The definition in audit.h, computed here without audit.c. */
static void
independent_hash(long long seq, long long ts, const char *kind,
    const char *case_id, const char *actor, const char *target,
    const char *step, const char *detail, const char *prev, char out[65])
{
	const char	*fields[9];
	char		 s_seq[32], s_ts[32], *buf;
	unsigned char	 d[SHA256_DIGEST_LENGTH];
	size_t		 len = 0, cap = 65536;
	int		 i;

	snprintf(s_seq, sizeof s_seq, "%lld", seq);
	snprintf(s_ts, sizeof s_ts, "%lld", ts);
	fields[0] = s_seq;
	fields[1] = s_ts;
	fields[2] = kind;
	fields[3] = case_id;
	fields[4] = actor;
	fields[5] = target;
	fields[6] = step;
	fields[7] = detail;
	fields[8] = prev;
	buf = malloc(cap);
	assert_non_null(buf);
	len += (size_t)snprintf(buf, cap, "deprov-audit-v1\n");
	for (i = 0; i < 9; i++) {
		if (fields[i] == NULL)
			len += (size_t)snprintf(buf + len, cap - len, "~,");
		else
			len += (size_t)snprintf(buf + len, cap - len, "%zu:%s,",
			    strlen(fields[i]), fields[i]);
	}
	SHA256((unsigned char *)buf, len, d);
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(out + i * 2, 3, "%02x", d[i]);
	free(buf);
}

static void
test_hash_definition(void **state)
{
	struct fixture	*f = *state;
	sqlite3_stmt	*st;
	char		 mine[65], theirs[AUDIT_HASH_HEX + 1], cid[32];
	int		 rows = 0;

	/* Fixed vector: the netstring layout byte for byte. */
	independent_hash(1, 1700000000123LL, "case.opened", "42",
	    "/api/soc-oncall", NULL, NULL, "{\"reason\":\"INC-1\"}", ZERO64,
	    mine);
	audit_hash(1, 1700000000123LL, "case.opened", 42, "/api/soc-oncall",
	    NULL, NULL, "{\"reason\":\"INC-1\"}", ZERO64, theirs);
	assert_string_equal(mine, theirs);
	/* Known answer (computed with Python from the definition in audit.h). */
	assert_string_equal(theirs,
	    "ffcfedf15aebb64bd30dcb0c2552edf3ec5fc17b920e49bd8cc6394b16f1513c");

	/* A detail longer than the hash's inline buffer (2 KiB). */
	{
		char	*long_detail = malloc(AUDIT_MAX_DETAIL + 1);
		size_t	 k;

		assert_non_null(long_detail);
		for (k = 0; k < AUDIT_MAX_DETAIL; k++)
			long_detail[k] = (char)('a' + k % 26);
		long_detail[AUDIT_MAX_DETAIL] = '\0';
		independent_hash(987654321, 1700000000999LL, "step.done",
		    "7", "deprovd", "salesforce", "reassign", long_detail,
		    ZERO64, mine);
		audit_hash(987654321, 1700000000999LL, "step.done", 7,
		    "deprovd", "salesforce", "reassign", long_detail, ZERO64,
		    theirs);
		assert_string_equal(mine, theirs);
		free(long_detail);
	}

	/* Every stored record matches the independent computation. */
	append_chain(f->audit, 12);
	assert_int_equal(audit_append(f->audit, "operator.cancel", 7, "ops",
	    NULL, NULL, "{\"note\":\"caf\xc3\xa9 \\\"quoted\\\"\"}"), 0);
	assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT seq, ts_ms, kind, "
	    "case_id, actor, target, step, detail, prev_hash, hash FROM audit "
	    "ORDER BY seq", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 3) == SQLITE_NULL)
			cid[0] = '\0';
		else
			snprintf(cid, sizeof cid, "%lld",
			    (long long)sqlite3_column_int64(st, 3));
		independent_hash(sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    cid[0] != '\0' ? cid : NULL,
		    (const char *)sqlite3_column_text(st, 4),
		    (const char *)sqlite3_column_text(st, 5),
		    (const char *)sqlite3_column_text(st, 6),
		    (const char *)sqlite3_column_text(st, 7),
		    (const char *)sqlite3_column_text(st, 8), mine);
		assert_string_equal(mine, (const char *)sqlite3_column_text(st,
		    9));
		rows++;
	}
	sqlite3_finalize(st);
	assert_int_equal(rows, 13);
}

static void
test_rollback_and_reopen(void **state)
{
	struct fixture			*f = *state;
	struct audit_verify_result	 r;
	char				 err[256], hash[AUDIT_HASH_HEX + 1];

	append_chain(f->audit, 3);
	/* Appends inside a transaction that is rolled back leave no hole. */
	assert_int_equal(store_begin(f->store), 0);
	assert_int_equal(audit_append(f->audit, "case.state", 1, NULL, NULL,
	    NULL, "{\"to\":\"lost\"}"), 0);
	assert_int_equal(audit_append(f->audit, "case.state", 1, NULL, NULL,
	    NULL, "{\"to\":\"lost too\"}"), 0);
	store_rollback(f->store);
	assert_int_equal(audit_append(f->audit, "case.state", 1, NULL, NULL,
	    NULL, "{\"to\":\"kept\"}"), 0);
	assert_int_equal(audit_last(f->audit, hash), 4);
	/* ... and appends inside a committed one are kept. */
	assert_int_equal(store_begin(f->store), 0);
	assert_int_equal(audit_append(f->audit, "case.state", 1, NULL, NULL,
	    NULL, NULL), 0);
	assert_int_equal(store_commit(f->store), 0);
	assert_int_equal(audit_verify(f->store, &r), 0);
	assert_int_equal(r.records, 5);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit WHERE "
	    "detail LIKE '%lost%'"), 0);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit WHERE "
	    "seq = 5 AND detail = '{}' AND actor = 'deprovd'"), 1);

	/* Reopen the store: the chain continues from the last record. */
	audit_free(f->audit);
	store_close(f->store);
	f->store = store_open(f->path, err, sizeof err);
	assert_non_null(f->store);
	f->audit = audit_new(NULL, f->store, NULL, err, sizeof err);
	assert_non_null(f->audit);
	assert_int_equal(audit_last(f->audit, hash), 5);
	assert_string_equal(hash, r.last_hash);
	append_chain(f->audit, 2);
	assert_int_equal(audit_verify(f->store, &r), 0);
	assert_int_equal(r.records, 7);
}

static void
test_batched_on_loop(void **state)
{
	struct fixture			*f = *state;
	struct audit_verify_result	 r;
	struct event_base		*base = event_base_new();
	char				 err[256];

	/* With a loop, records outside a transaction wait for the turn's end. */
	assert_non_null(base);
	audit_free(f->audit);
	f->audit = audit_new(base, f->store, NULL, err, sizeof err);
	assert_non_null(f->audit);
	append_chain(f->audit, 3);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit"), 0);
	assert_true(event_base_loop(base, EVLOOP_NONBLOCK) >= 0);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit"), 3);

	/* An append inside a transaction takes the pending ones with it. */
	append_chain(f->audit, 2);
	assert_int_equal(store_begin(f->store), 0);
	assert_int_equal(audit_append(f->audit, "case.state", 5, NULL, NULL,
	    NULL, "{\"in\":\"txn\"}"), 0);
	assert_int_equal(store_commit(f->store), 0);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit"), 6);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit WHERE "
	    "seq = 6 AND detail = '{\"in\":\"txn\"}'"), 1);

	/* ... and is lost with it on rollback; the chain stays whole. */
	append_chain(f->audit, 2);
	assert_int_equal(store_begin(f->store), 0);
	assert_int_equal(audit_append(f->audit, "case.state", 5, NULL, NULL,
	    NULL, NULL), 0);
	store_rollback(f->store);
	assert_int_equal(audit_append(f->audit, "case.state", 5, NULL, NULL,
	    NULL, "{\"after\":\"rollback\"}"), 0);
	assert_true(event_base_loop(base, EVLOOP_NONBLOCK) >= 0);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit"), 7);

	/* A savepoint's rollback takes only its records; the next follows. */
	assert_int_equal(store_begin(f->store), 0);
	assert_int_equal(audit_append(f->audit, "case.state", 5, NULL, NULL,
	    NULL, "{\"outer\":1}"), 0);
	assert_int_equal(store_begin(f->store), 0);
	assert_int_equal(audit_append(f->audit, "case.state", 5, NULL, NULL,
	    NULL, "{\"inner\":1}"), 0);
	store_rollback(f->store);
	assert_int_equal(audit_append(f->audit, "case.state", 5, NULL, NULL,
	    NULL, "{\"outer\":2}"), 0);
	assert_int_equal(store_commit(f->store), 0);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit"), 9);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit WHERE "
	    "seq = 9 AND detail = '{\"outer\":2}'"), 1);
	assert_int_equal(audit_verify(f->store, &r), 0);

	/* Freeing writes what is pending. */
	append_chain(f->audit, 2);
	audit_sync(f->audit);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit"), 11);
	append_chain(f->audit, 2);
	audit_free(f->audit);
	f->audit = NULL;
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit"), 13);
	assert_int_equal(audit_verify(f->store, &r), 0);
	assert_int_equal(r.records, 13);
	event_base_free(base);
	f->audit = audit_new(NULL, f->store, NULL, err, sizeof err);
	assert_non_null(f->audit);
}

static void
test_redaction_and_detail_forms(void **state)
{
	struct fixture			*f = *state;
	struct audit_verify_result	 r;

	assert_int_equal(audit_append(f->audit, "step.retry", 3, NULL,
	    "salesforce-prod", "freeze", "{\"error\":\"401 for Bearer "
	    "sekrit-token-123\",\"access_token\":\"abc123secret\"}"), 0);
	assert_int_equal(audit_append(f->audit, "alert", 0, "sla", NULL, NULL,
	    "not json at all; password=hunter2"), 0);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit WHERE "
	    "detail LIKE '%sekrit%' OR detail LIKE '%abc123secret%' OR "
	    "detail LIKE '%hunter2%'"), 0);
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit WHERE "
	    "json_valid(detail) AND json_extract(detail, '$.text') LIKE "
	    "'not json at all%'"), 1);
	/* Oversized details are capped and stay JSON. */
	{
		char *big = malloc(100000);

		assert_non_null(big);
		memset(big, 'x', 99999);
		big[99999] = '\0';
		memcpy(big, "{\"a\":\"", 6);
		memcpy(big + 99997, "\"}", 3);
		assert_int_equal(audit_append(f->audit, "alert", 0, "sla", NULL,
		    NULL, big), 0);
		free(big);
	}
	assert_int_equal(count_rows(f->db, "SELECT count(*) FROM audit WHERE "
	    "seq = 3 AND json_valid(detail) AND length(detail) <= 16384"), 1);
	assert_int_equal(audit_append(f->audit, "", 0, NULL, NULL, NULL, NULL),
	    -1);
	assert_int_equal(audit_verify(f->store, &r), 0);
	assert_int_equal(r.records, 3);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
test_export_since(void **state)
{
	struct fixture	*f = *state;
	FILE		*out;
	char		*buf = NULL, *line, *save = NULL;
	size_t		 len = 0;
	sqlite3_stmt	*st;
	long long	 since, n, lines = 0, last_seq = 0;
	json_object	*o, *v;

	append_chain(f->audit, 4);
	sleep_ms(20);
	assert_int_equal(audit_append(f->audit, "operator.retry", 9, "ops",
	    NULL, NULL, "{\"via\":\"api\"}"), 0);
	append_chain(f->audit, 3);
	assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT ts_ms FROM audit "
	    "WHERE seq = 5", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	since = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);

	out = open_memstream(&buf, &len);
	assert_non_null(out);
	n = audit_export(f->store, since, out);
	fclose(out);
	assert_int_equal(n, 4);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		o = json_tokener_parse(line);
		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "seq", &v));
		assert_true(json_object_get_int64(v) > last_seq);
		last_seq = json_object_get_int64(v);
		assert_true(json_object_object_get_ex(o, "ts_ms", &v));
		assert_true(json_object_get_int64(v) >= since);
		assert_true(json_object_object_get_ex(o, "hash", &v));
		assert_int_equal(json_object_get_string_len(v), 64);
		assert_true(json_object_object_get_ex(o, "prev_hash", &v));
		assert_true(json_object_object_get_ex(o, "time", &v));
		assert_non_null(strchr(json_object_get_string(v), 'Z'));
		assert_true(json_object_object_get_ex(o, "detail", &v));
		assert_true(json_object_is_type(v, json_type_object));
		if (lines == 0) {
			assert_int_equal(last_seq, 5);
			assert_true(json_object_object_get_ex(o, "actor", &v));
			assert_string_equal(json_object_get_string(v), "ops");
			assert_true(json_object_object_get_ex(o, "kind", &v));
			assert_string_equal(json_object_get_string(v),
			    "operator.retry");
		}
		json_object_put(o);
		lines++;
	}
	assert_int_equal(lines, 4);
	free(buf);

	/* Everything, and nothing. */
	buf = NULL;
	out = open_memstream(&buf, &len);
	assert_int_equal(audit_export(f->store, 0, out), 8);
	fclose(out);
	free(buf);
	buf = NULL;
	out = open_memstream(&buf, &len);
	assert_int_equal(audit_export(f->store, since + 3600 * 1000, out), 0);
	fclose(out);
	assert_int_equal(len, 0);
	free(buf);
}

/*
 * A file that is not a store is refused when opened read-only; a store
 * whose audit table was dropped behind its back cannot be verified (-1,
 * not "intact").
 */
static void
test_no_table(void **state)
{
	struct fixture			*f = *state;
	struct audit_verify_result	 r;
	struct store			*ro;
	char				 err[256], path[160];
	FILE				*fp;

	snprintf(path, sizeof path, "%s/empty.db", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	fclose(fp);
	assert_null(store_open_readonly(path, err, sizeof err));
	assert_non_null(strstr(err, "not a deprov store"));
	exec_sql(f->db, "DROP TABLE audit");
	assert_non_null(ro = store_open_readonly(f->path, err, sizeof err));
	assert_int_equal(audit_verify(ro, &r), -1);
	assert_non_null(strstr(r.message, "audit"));
	assert_int_equal(audit_export(ro, 0, stdout), -1);
	store_close(ro);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain_intact, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_edit_detected, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_edit_rehashed_detected,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_byte_detected, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delete_detected, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_swap_detected, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hash_definition, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rollback_and_reopen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_batched_on_loop, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_redaction_and_detail_forms,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_since, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_table, setup, teardown),
	};

	log_set_level(LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
