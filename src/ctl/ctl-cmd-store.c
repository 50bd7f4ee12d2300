/*
 * ctl-cmd-store: "store migrate" copies a SQLite store into PostgreSQL and
 * proves the copy: every table's rows are read back from PostgreSQL and
 * compared with the source's (count and SHA-256 over the rows in key
 * order), and the copied audit trail's hash chain is verified, all inside
 * the one transaction that makes the copy, so that a copy that does not
 * verify leaves nothing behind. The source is read in one snapshot and may
 * belong to a running deprovd (its lock is not taken): writes made after
 * the snapshot are not in the copy, so stop deprovd for the final one.
 *
 * Also the one parser of a store location, "sqlite:PATH" or
 * "postgres:URL", shared with the audit commands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "deprov/audit.h"
#include "deprov/pgstore.h"
#include "deprov/store.h"
#include "ctl.h"

static int	ctl_cmd_store_migrate_exec(struct ctl *, struct ctl_args *);

static const struct ctl_opt ctl_cmd_store_migrate_opts[] = {
	{ .name = "from", .type = CTL_OPT_STR, .flags = CTL_OPT_REQUIRED,
	  .missing = "--from sqlite:PATH is required" },
	{ .name = "to", .type = CTL_OPT_STR, .flags = CTL_OPT_REQUIRED,
	  .missing = "--to postgres:URL is required" },
	{ .name = NULL }
};

const struct ctl_cmd_entry ctl_cmd_store_migrate_entry = {
	.name = "store migrate",
	.usage = "store migrate --from sqlite:PATH --to postgres:URL",
	.help =
	  "Copy a SQLite store (cases, steps, events, timeline, audit trail)\n"
	  "into an empty PostgreSQL database, creating the schema, then read\n"
	  "every row back and compare it with the source, and verify the\n"
	  "copied audit trail's hash chain. All in one transaction: a copy that\n"
	  "does not verify is not kept. The source is read in one snapshot; a\n"
	  "running deprovd may keep writing it, but what it writes after the\n"
	  "snapshot is not copied: stop it for the final copy. Exit 0 when the\n"
	  "copy is made and verified, 1 otherwise.\n"
	  "\n"
	  "  --from sqlite:PATH   the store's database file (store.path)\n"
	  "  --to postgres:URL    a libpq URL, postgresql://USER@HOST:PORT/DB;\n"
	  "                       give the password with PGPASSWORD or\n"
	  "                       ~/.pgpass, not in the URL\n",
	.opts = ctl_cmd_store_migrate_opts,
	.exec = ctl_cmd_store_migrate_exec
};

enum ctl_store_kind
ctl_store_parse(const char *spec, const char **where)
{
	if (strncmp(spec, "sqlite:", 7) == 0) {
		*where = spec + 7;
		return CTL_STORE_SQLITE;
	}
	if (strncmp(spec, "postgres:", 9) == 0 &&
	    strncmp(spec, "postgres://", 11) != 0) {
		*where = spec + 9;
		return CTL_STORE_POSTGRES;
	}
	*where = spec;
	if (strncmp(spec, "postgresql://", 13) == 0 ||
	    strncmp(spec, "postgres://", 11) == 0)
		return CTL_STORE_POSTGRES;
	return *spec != '\0' ? CTL_STORE_SQLITE : CTL_STORE_BAD;
}

#define CTL_STORE_TABLES	16

/*
 * One side's rows, per table in the order they came: how many, and their
 * digest. Table names are the exporters' own (static) strings.
 */
struct ctl_store_side {
	const char	*name[CTL_STORE_TABLES];
	long long	 rows[CTL_STORE_TABLES];
	EVP_MD_CTX	*md[CTL_STORE_TABLES];
	size_t		 n;
};

struct ctl_store_tee {
	struct ctl_store_side	*side;
	struct pgstore		*pg;	/* copy into it too, or NULL */
};

static void
ctl_store_side_free(struct ctl_store_side *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		EVP_MD_CTX_free(s->md[i]);
	s->n = 0;
}

/* The digest of table, begun when its first row comes; NULL: no memory. */
static EVP_MD_CTX *
ctl_store_side_md(struct ctl_store_side *s, const char *table, size_t *at)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->name[i], table) == 0) {
			*at = i;
			return s->md[i];
		}
	if (s->n == CTL_STORE_TABLES || (s->md[s->n] = EVP_MD_CTX_new()) ==
	    NULL)
		return NULL;
	if (EVP_DigestInit_ex(s->md[s->n], EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(s->md[s->n]);
		return NULL;
	}
	s->name[s->n] = table;
	s->rows[s->n] = 0;
	*at = s->n;
	return s->md[s->n++];
}

/*
 * Digest a row: each value as a netstring (NULL "~,", a number its decimal
 * text), the row ended by a newline: two sides agree only when every row,
 * in order, has the same values of the same kinds.
 */
static int
ctl_store_digest(const char *table, const struct store_value *v, size_t n,
    void *arg)
{
	struct ctl_store_tee	*tee = arg;
	struct ctl_store_side	*s = tee->side;
	EVP_MD_CTX		*md;
	char			 buf[48], num[24];
	size_t			 i, at;
	int			 k;

	if ((md = ctl_store_side_md(s, table, &at)) == NULL) {
		fprintf(stderr, "deprovctl: out of memory\n");
		return -1;
	}
	for (i = 0; i < n; i++) {
		switch (v[i].type) {
		case STORE_V_NULL:
			EVP_DigestUpdate(md, "~,", 2);
			break;
		case STORE_V_INT:
			/* The decimal text as a netstring: "4:1234,". */
			snprintf(num, sizeof num, "%lld", (long long)v[i].i);
			k = snprintf(buf, sizeof buf, "%zu:%s,", strlen(num),
			    num);
			EVP_DigestUpdate(md, buf, (size_t)k);
			break;
		case STORE_V_TEXT:
			k = snprintf(buf, sizeof buf, "%zu:", v[i].len);
			EVP_DigestUpdate(md, buf, (size_t)k);
			EVP_DigestUpdate(md, v[i].s, v[i].len);
			EVP_DigestUpdate(md, ",", 1);
			break;
		}
	}
	EVP_DigestUpdate(md, "\n", 1);
	s->rows[at]++;
	return tee->pg != NULL ? pgstore_copy_row(table, v, n, tee->pg) : 0;
}

static long long
ctl_store_rows(const struct ctl_store_side *s, const char *table)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->name[i], table) == 0)
			return s->rows[i];
	return 0;
}

/*
 * The first table whose rows differ between the sides: its index in a
 * (or n of a plus its index in b, for one a lacks), or (size_t)-1 when
 * they agree. Finalizes the digests.
 */
static size_t
ctl_store_differs(struct ctl_store_side *a, struct ctl_store_side *b)
{
	unsigned char	 ha[EVP_MAX_MD_SIZE], hb[EVP_MAX_MD_SIZE];
	unsigned int	 la, lb;
	size_t		 i, j;

	for (j = 0; j < b->n; j++) {
		for (i = 0; i < a->n; i++)
			if (strcmp(a->name[i], b->name[j]) == 0)
				break;
		if (i == a->n)
			return a->n + j;
	}
	for (i = 0; i < a->n; i++) {
		for (j = 0; j < b->n; j++)
			if (strcmp(a->name[i], b->name[j]) == 0)
				break;
		if (j == b->n || a->rows[i] != b->rows[j] ||
		    EVP_DigestFinal_ex(a->md[i], ha, &la) != 1 ||
		    EVP_DigestFinal_ex(b->md[j], hb, &lb) != 1 || la != lb ||
		    memcmp(ha, hb, la) != 0)
			return i;
	}
	return (size_t)-1;
}

static int
ctl_store_pg_scan(void *src, long long after_seq, int64_t since_ms, int limit,
    store_audit_cb cb, void *arg)
{
	return pgstore_audit_scan(src, after_seq, since_ms, limit, cb, arg);
}

static const char *
ctl_store_pg_errmsg(void *src)
{
	return pgstore_errmsg(src);
}

void
ctl_store_pg_source(struct pgstore *pg, struct audit_source *src)
{
	src->scan = ctl_store_pg_scan;
	src->errmsg = ctl_store_pg_errmsg;
	src->src = pg;
}

static void
ctl_store_report(const struct ctl *ctl, const char *from, const char *to,
    const struct ctl_store_side *s, const struct audit_verify_result *ar)
{
	json_object	*o, *t;
	size_t		 i;

	if (ctl->json) {
		o = json_object_new_object();
		t = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "from", json_object_new_string(from));
		json_object_object_add(o, "to", json_object_new_string(to));
		for (i = 0; i < s->n; i++)
			json_object_object_add(t, s->name[i],
			    json_object_new_int64(s->rows[i]));
		json_object_object_add(o, "rows", t);
		json_object_object_add(o, "audit_records",
		    json_object_new_int64(ar->records));
		json_object_object_add(o, "audit_last_seq",
		    json_object_new_int64(ar->last_seq));
		json_object_object_add(o, "audit_last_hash",
		    ar->last_hash[0] != '\0' ?
		    json_object_new_string(ar->last_hash) : NULL);
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return;
	}
	printf("copied %s to %s\n", from, to);
	for (i = 0; i < s->n; i++)
		printf("  %-10s %lld rows\n", s->name[i], s->rows[i]);
	printf("verified: every table's rows read back identical; audit trail "
	    "intact: %lld records, last seq %lld hash %s\n", ar->records,
	    ar->last_seq, ar->last_hash[0] != '\0' ? ar->last_hash : "-");
}

static int
ctl_cmd_store_migrate_exec(struct ctl *ctl, struct ctl_args *args)
{
	struct ctl_store_side		 src, dst;
	struct ctl_store_tee		 tee;
	struct audit_verify_result	 ar;
	struct audit_source		 asrc;
	struct store			*db = NULL;
	struct pgstore			*pg = NULL;
	const char			*path, *url;
	long long			 ncases, nevents, naudit;
	char				 err[1024], from[1100];
	size_t				 i;
	int				 rc = CTL_FAILED, r;

	if (ctl_store_parse(ctl_args_get(args, "from"), &path) !=
	    CTL_STORE_SQLITE)
		return ctl_usage_error(ctl, "--from: expected sqlite:PATH");
	if (ctl_store_parse(ctl_args_get(args, "to"), &url) !=
	    CTL_STORE_POSTGRES)
		return ctl_usage_error(ctl, "--to: expected postgres:URL");
	memset(&src, 0, sizeof src);
	memset(&dst, 0, sizeof dst);
	snprintf(from, sizeof from, "sqlite:%s", path);
	if (access(path, R_OK) != 0) {
		rc = ctl_fail(CTL_FAILED, "%s: %s", path, strerror(errno));
		goto done;
	}
	if ((db = store_open_readonly(path, err, sizeof err)) == NULL) {
		rc = ctl_fail(CTL_FAILED, "store migrate: %s", err);
		goto done;
	}
	if ((pg = pgstore_open(url, 1, err, sizeof err)) == NULL) {
		rc = ctl_fail(CTL_FAILED, "store migrate: %s", err);
		goto done;
	}
	if (pgstore_counts(pg, &ncases, &nevents, &naudit) != 0) {
		rc = ctl_fail(CTL_FAILED, "store migrate: %s",
		    pgstore_errmsg(pg));
		goto done;
	}
	if (ncases != 0 || nevents != 0 || naudit != 0) {
		rc = ctl_fail(CTL_FAILED, "store migrate: %s already holds a "
		    "deprov store (%lld cases, %lld events, %lld audit records): "
		    "it copies into an empty database only", pgstore_name(pg),
		    ncases, nevents, naudit);
		goto done;
	}
	if (ctl->verbose)
		fprintf(stderr, "deprovctl: copying %s to %s\n", from,
		    pgstore_name(pg));
	if (pgstore_begin(pg) != 0) {
		rc = ctl_fail(CTL_FAILED, "store migrate: %s",
		    pgstore_errmsg(pg));
		goto done;
	}
	tee.side = &src;
	tee.pg = pg;
	if (store_export(db, ctl_store_digest, &tee) != 0 ||
	    pgstore_copy_end(pg) != 0) {
		rc = ctl_fail(CTL_FAILED, "store migrate: %s",
		    *pgstore_errmsg(pg) != '\0' ? pgstore_errmsg(pg) :
		    "cannot read the source (see the message above)");
		goto rollback;
	}
	tee.side = &dst;
	tee.pg = NULL;
	if (pgstore_export(pg, ctl_store_digest, &tee) != 0) {
		rc = ctl_fail(CTL_FAILED, "store migrate: reading the copy "
		    "back: %s", pgstore_errmsg(pg));
		goto rollback;
	}
	if ((i = ctl_store_differs(&src, &dst)) != (size_t)-1) {
		rc = ctl_fail(CTL_FAILED, "store migrate: table %s differs "
		    "after the copy (%lld rows in the source, %lld read back): "
		    "nothing was kept", i < src.n ? src.name[i] :
		    dst.name[i - src.n], i < src.n ? src.rows[i] : 0,
		    ctl_store_rows(&dst, i < src.n ? src.name[i] :
		    dst.name[i - src.n]));
		goto rollback;
	}
	ctl_store_pg_source(pg, &asrc);
	r = audit_verify_source(&asrc, &ar);
	if (r != 0) {
		rc = ctl_fail(CTL_FAILED, "store migrate: the audit trail does "
		    "not verify: %s (it is the source's as copied: see "
		    "deprovctl audit verify --store %s); nothing was kept",
		    ar.message, from);
		goto rollback;
	}
	if (pgstore_commit(pg) != 0) {
		rc = ctl_fail(CTL_FAILED, "store migrate: commit: %s",
		    pgstore_errmsg(pg));
		goto done;
	}
	ctl_store_report(ctl, from, pgstore_name(pg), &src, &ar);
	rc = CTL_OK;
	goto done;
rollback:
	pgstore_rollback(pg);
done:
	pgstore_close(pg);
	store_close(db);
	ctl_store_side_free(&src);
	ctl_store_side_free(&dst);
	return rc;
}
