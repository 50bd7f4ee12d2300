/*
 * pgstore: the store's tables in PostgreSQL (src/store-pg.c), the shared
 * store a cluster of deprovd instances will use (docs/CLUSTER.md). It
 * holds the same tables as the SQLite store (store-tables.h) with the same
 * schema version and versioned migrations. What it does today: create or
 * migrate the schema, take a copy of a SQLite store in (deprovctl store
 * migrate), give every row back for comparison, and read the audit trail
 * (deprovctl audit verify / export --store postgres:URL).
 *
 * These calls wait on the server: they are for tools, never for deprovd's
 * loop. Errors are kept for pgstore_errmsg; no call prints or logs the
 * connection's password.
 */
#ifndef DEPROV_PGSTORE_H
#define DEPROV_PGSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "deprov/store.h"

struct pgstore;

/*
 * Connect to url (a libpq connection URI or key=value string; a password
 * is best given by PGPASSWORD or a ~/.pgpass file, not in the URL). With
 * create, make the schema when the database has none and migrate an older
 * one (under an advisory lock: several starting at once are safe); without,
 * the schema must be there. A schema newer than this program, or tables of
 * the same names that are not deprov's, are refused. NULL with err set,
 * and errno ENOTCONN when the server was not reached (worth trying again)
 * or EINVAL when it answered with a refusal. Unless the URL says
 * otherwise, connecting gives up after 10 s.
 */
struct pgstore	*pgstore_open(const char *url, int create, char *err,
		    size_t errlen);
void		 pgstore_close(struct pgstore *);
/* "PostgreSQL user@host:port/db", never with a password. */
const char	*pgstore_name(const struct pgstore *);
const char	*pgstore_errmsg(const struct pgstore *);
/* The schema version found before pgstore_open migrated it (0: new). */
int		 pgstore_schema_from(const struct pgstore *);

/* How much the store holds: cases, events, audit records. */
int		 pgstore_counts(struct pgstore *, long long *cases,
		    long long *events, long long *audit);

/* One transaction around a copy: 0 or -1. */
int		 pgstore_begin(struct pgstore *);
int		 pgstore_commit(struct pgstore *);
void		 pgstore_rollback(struct pgstore *);

/*
 * Taking a copy in: rows as store_export gives them (pgstore_copy_row is
 * a store_row_cb whose arg is the pgstore), streamed with COPY, a table
 * at a time; pgstore_copy_end finishes the last table and sets the id
 * sequences past the copied ids. Inside pgstore_begin/commit. A text
 * holding a NUL byte (which PostgreSQL cannot store) is refused.
 */
int		 pgstore_copy_row(const char *table, const struct store_value *,
		    size_t n, void *pgstore);
int		 pgstore_copy_end(struct pgstore *);

/* Every row, as store_export gives them for a SQLite store. */
int		 pgstore_export(struct pgstore *, store_row_cb, void *arg);
/*
 * The rows written since revision after (0: all), in one snapshot, table
 * by table in store_tables order; *max_rev (may be NULL) the highest
 * revision given, or after. What a standby reads to keep its copy current.
 */
int		 pgstore_changes(struct pgstore *, long long after,
		    store_row_cb, void *arg, long long *max_rev);

/*
 * Keeping a copy current (store-replica.c): rows written as they are, a
 * row with the key of one already there replacing it. pgstore_put_begin
 * opens a transaction and a pipeline (no round trip per row); _put_row
 * queues one row (store_row_cb's shape); _put_end commits, 0 or -1 (the
 * transaction rolled back, the connection usable or not: see
 * pgstore_ok).
 */
int		 pgstore_put_begin(struct pgstore *);
int		 pgstore_put_row(const char *table, const struct store_value *,
		    size_t n, void *pgstore);
int		 pgstore_put_end(struct pgstore *);
/*
 * Fencing (one writer per store) and the writer's lease (docs/CLUSTER.md):
 * pgstore_take takes the store for instance: its next writer epoch (> 0)
 * and a lease of lease_ms from the server's clock, unless another instance
 * holds an unexpired lease: then 0, with holder and *left_ms its lease's
 * rest; -1 on error. From then on every pgstore_put_begin transaction
 * first checks that the epoch is still the store's, and fails
 * (pgstore_fenced then 1) when another writer has taken a later one; a
 * transaction that passes renews the lease. pgstore_renew does only that
 * (1 renewed; 0 not: fenced, or the server did not answer).
 * pgstore_set_epoch carries an epoch and lease over to a new connection.
 */
long long	 pgstore_take(struct pgstore *, const char *instance,
		    int lease_ms, char *holder, size_t holderlen,
		    long long *left_ms);
int		 pgstore_renew(struct pgstore *);
/*
 * The standbys that asked for the store within the last within_ms: the
 * first max into v, their number in *count. 0, or -1 (pgstore_errmsg).
 */
int		 pgstore_standbys(struct pgstore *, int within_ms,
		    struct store_standby *v, size_t max, int *count);
/* A clean stop: the lease ends now, so a standby need not wait it out. */
int		 pgstore_release(struct pgstore *);
void		 pgstore_set_epoch(struct pgstore *, long long, int lease_ms);
long long	 pgstore_epoch(const struct pgstore *);
int		 pgstore_fenced(const struct pgstore *);
/* A round trip to the server: 1 when it answered (else pgstore_errmsg). */
int		 pgstore_ping(struct pgstore *);
/* 1 while the connection is good. */
int		 pgstore_ok(const struct pgstore *);
/* meta's value for key: 1 found (in buf), 0 not, -1 error. */
int		 pgstore_meta_get(struct pgstore *, const char *key, char *buf,
		    size_t len);
int		 pgstore_meta_set(struct pgstore *, const char *key,
		    const char *value);

/* store_audit_scan's contract, on PostgreSQL. */
int		 pgstore_audit_scan(struct pgstore *, long long after_seq,
		    int64_t since_ms, int limit, store_audit_cb, void *arg);

#endif
