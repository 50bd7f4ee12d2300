/*
 * store-copy.c: every row of a SQLite store, for copying it whole into
 * another backend and for comparing the copy with it (store_export, see
 * store.h; the tables are described in store-tables.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "deprov/log.h"
#include "deprov/store.h"
#include "store-internal.h"
#include "store-tables.h"

#define STORE_COPY_SQL	2048

/* SELECT every column of t in primary-key order (BINARY: bytewise). */
static int
store_copy_sql(const struct store_table *t, char *buf, size_t len)
{
	size_t	i, n;

	n = (size_t)snprintf(buf, len, "SELECT ");
	if (n < len)
		n += store_table_cols(t, buf + n, len - n);
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, " FROM %s%s", t->name,
		    strcmp(t->name, "meta") == 0 ?
		    " WHERE key NOT IN " STORE_META_OWN : "");
	for (i = 0; i < t->nkey && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " :
		    " ORDER BY ", t->cols[i].name);
	return n < len ? 0 : -1;
}

int
store_row_values(sqlite3_stmt *st, const struct store_table *t,
    struct store_value *v)
{
	size_t	i;

	for (i = 0; i < t->ncols; i++) {
		memset(&v[i], 0, sizeof v[i]);
		switch (sqlite3_column_type(st, (int)i)) {
		case SQLITE_NULL:
			v[i].type = STORE_V_NULL;
			break;
		case SQLITE_INTEGER:
			v[i].type = STORE_V_INT;
			v[i].i = sqlite3_column_int64(st, (int)i);
			break;
		case SQLITE_TEXT:
			v[i].type = STORE_V_TEXT;
			v[i].s = (const char *)sqlite3_column_text(st, (int)i);
			v[i].len = (size_t)sqlite3_column_bytes(st, (int)i);
			break;
		default:
			log_error("store", "%s.%s holds a value of a kind deprov "
			    "never writes (a real or a blob): the store was "
			    "edited", t->name, t->cols[i].name);
			return -1;
		}
	}
	return 0;
}

int
store_import_row(const char *table, const struct store_value *v, size_t n,
    void *arg)
{
	struct store			*s = arg;
	const struct store_table	*t = NULL;
	sqlite3_stmt			*st = NULL;
	char				 sql[STORE_COPY_SQL];
	size_t				 i, len;
	int				 r = -1;

	for (i = 0; i < store_ntables; i++)
		if (strcmp(store_tables[i].name, table) == 0)
			t = &store_tables[i];
	if (t == NULL || n != t->ncols)
		return -1;
	/*
	 * An upsert: a new store's own meta rows give way to the copy's, and a
	 * standby's copy takes the rows PostgreSQL changed since (a row's
	 * later version replaces its earlier one in place; REPLACE would
	 * delete it first, under the rows that refer to it).
	 */
	len = store_table_upsert(t, sql, sizeof sql);
	if (len >= sizeof sql)
		return -1;
	/* Prepared per row: a copy in happens at start, a standby's by the second. */
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto done;
	for (i = 0; i < n; i++) {
		if (v[i].type == STORE_V_INT)
			sqlite3_bind_int64(st, (int)i + 1, v[i].i);
		else if (v[i].type == STORE_V_TEXT)
			sqlite3_bind_text(st, (int)i + 1, v[i].s, (int)v[i].len,
			    SQLITE_TRANSIENT);
	}
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
done:
	if (r != 0)
		log_error("store", "copy into %s: %s", t->name,
		    sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return r;
}

static int
store_copy_table(struct store *s, const struct store_table *t,
    store_row_cb cb, void *arg)
{
	struct store_value	 v[32];
	sqlite3_stmt		*st = NULL;
	char			 sql[STORE_COPY_SQL];
	int			 rc, r = 0;

	if (t->ncols > sizeof v / sizeof v[0] ||
	    store_copy_sql(t, sql, sizeof sql) != 0 ||
	    sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_error("store", "export %s: %s", t->name,
		    sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		return -1;
	}
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = store_row_values(st, t, v)) == 0)
			r = cb(t->name, v, t->ncols, arg);
	}
	if (r == 0 && rc != SQLITE_DONE) {
		log_error("store", "export %s: %s", t->name,
		    sqlite3_errmsg(s->db));
		r = -1;
	}
	sqlite3_finalize(st);
	return r;
}

int
store_export(struct store *s, store_row_cb cb, void *arg)
{
	size_t	i;
	int	r = 0;

	/* One read transaction: one snapshot of every table, writers go on. */
	if (store_exec(s, "BEGIN") != 0)
		return -1;
	for (i = 0; r == 0 && i < store_ntables; i++)
		r = store_copy_table(s, &store_tables[i], cb, arg);
	store_exec(s, "COMMIT");
	return r;
}
