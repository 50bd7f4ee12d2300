/*
 * store-tables.h: the store's tables as data, for what must treat every
 * table alike whatever the backend: copying a store whole (store_export on
 * SQLite, pgstore_copy_* and pgstore_export on PostgreSQL) and comparing
 * two copies row by row. The schemas themselves stay with each backend
 * (store.c, store-audit.c, store-pg.c); a column added there is added here
 * too, and test_store checks that the two agree for SQLite.
 */
#ifndef DEPROV_STORE_TABLES_H
#define DEPROV_STORE_TABLES_H

#include <stddef.h>

/*
 * The schema's version, the same for every backend: a change to the
 * tables bumps it and adds a migration to each (store.c, store-pg.c).
 */
#define STORE_SCHEMA_VERSION	6

/*
 * meta keys that are each store's own and never copied or replicated: the
 * schema version, the local mark of replication, PostgreSQL's writer epoch
 * and lease (store-replica.c). As SQL, for "key NOT IN" clauses.
 */
#define STORE_META_OWN	"('schema', 'replicated_to', 'writer_epoch', " \
			"'writer_instance', 'writer_lease_until')"

enum store_coltype {
	STORE_COL_INT,
	STORE_COL_TEXT
};

struct store_column {
	const char		*name;
	enum store_coltype	 type;
};

struct store_table {
	const char			*name;
	const struct store_column	*cols;
	size_t				 ncols;
	/* The primary key: the first nkey columns, rows are copied in its order. */
	size_t				 nkey;
};

/*
 * t's columns as "a, b, c" into buf (cut at len, NUL-terminated when len >
 * 0): what every statement that names them all starts from. Returns the
 * length the whole list takes, as snprintf does.
 */
size_t		store_table_cols(const struct store_table *, char *buf,
		    size_t len);
/*
 * "INSERT INTO t (cols) VALUES ($1, ...) ON CONFLICT (key) DO UPDATE SET
 * every other column" (DO NOTHING when the key is every column): a row
 * written as it is, replacing in place the row of its key. Both backends
 * take it. Returns the length, as snprintf does.
 */
size_t		store_table_upsert(const struct store_table *, char *buf,
		    size_t len);

/*
 * Every table, in the order a copy inserts them (a table after those its
 * rows refer to).
 */
extern const struct store_table	store_tables[];
extern const size_t		store_ntables;

#endif
