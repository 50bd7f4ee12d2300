/*
 * store-replica.c: the postgres backend (store.backend "postgres",
 * docs/CLUSTER.md). The engine keeps its SQLite store as its working copy;
 * PostgreSQL holds the durable copy, and nothing is acted on before
 * PostgreSQL has it.
 *
 * Capture: TEMP triggers on this connection's store tables add a row
 * (table, key) to the pg_outbox table for every insert and update, in the
 * writer's own transaction, so the outbox is exactly as durable as the
 * change. pg_outbox is local (it is no table of store-tables.c and is never
 * copied).
 *
 * Shipping: a helper thread reads the outbox past what PostgreSQL has
 * acknowledged, takes the current row for each key (once per batch, with
 * its own read-only connection), and writes the rows to PostgreSQL in one
 * transaction through a pipeline (pgstore_put_*). A row sent twice is
 * harmless: a put replaces the row of the same key. It ships only what the
 * local WAL has synced, so PostgreSQL is never ahead of the local copy
 * after a power cut. On a failure it reconnects, with a growing pause, and
 * sends again from the last acknowledged outbox row.
 *
 * Acknowledgement: every commit through the store leaves a mark (its
 * generation, the outbox's highest id after it). store_synced reports the
 * generation up to which both the WAL is synced and PostgreSQL has every
 * mark, and the engine starts a step only once its generation is there.
 * Acknowledged outbox rows are deleted in the next deferred transaction.
 *
 * Fencing and the lease: at start this deprovd takes the store: its next
 * writer epoch (meta "writer_epoch" in PostgreSQL) and a lease, unless
 * another instance holds an unexpired lease (then it is a standby: the
 * start says so and is tried again). Every batch first checks the epoch
 * is still the store's and renews the lease (deprov_fence, store-pg.c);
 * when idle, the probe does the same. A deprovd that was paused while
 * another took the store over (a zombie) has every batch refused: it never
 * acknowledges again, so it starts no step, and it reports itself fenced.
 * It also knows, by its own clock, when its lease has run out unrenewed:
 * from then on store_replica_writable says no, and nothing of it may call
 * a target, even before PostgreSQL answers it.
 *
 * At start (store_replica_start, before the loop runs), the two copies are
 * matched by the store's id (meta "store_id"): an empty PostgreSQL gets the
 * whole local store; a new local store gets the whole PostgreSQL store (a
 * new host for the same deprov); one that ran without replication since
 * is sent whole again; two different stores are refused.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "deprov/clock.h"
#include "deprov/log.h"
#include "deprov/pgstore.h"
#include "deprov/randid.h"
#include "deprov/store.h"
#include "store-internal.h"
#include "store-tables.h"

/*
 * Outbox rows per PostgreSQL transaction, about: a transaction ends where
 * a local commit ended (a mark), never inside one, so that PostgreSQL
 * never holds half of what the engine made durable at once (a case without
 * its later steps would look finished to the writer that loads it). One
 * commit bigger than this is sent whole.
 */
#define REPLICA_BATCH		1000
#define REPLICA_PAUSE_MIN_MS	200	/* after a failure, doubling ... */
#define REPLICA_PAUSE_MAX_MS	5000	/* ... up to this */
#define REPLICA_MAX_TABLES	16
#define REPLICA_STOP_WAIT_S	2	/* how long a stop waits for the thread */
#define REPLICA_PROBE_MS	2000	/* idle: ask PostgreSQL this often ... */
#define REPLICA_PROBE_SHARE	3	/* ... or a lease's third, if less */
/*
 * Taking the store over, the lease is this much longer than the usual, to
 * cover loading the store from PostgreSQL before the thread first renews.
 */
#define REPLICA_TAKE_EXTRA_MS	30000
#define REPLICA_STANDBYS_MS	2000	/* the standbys read this often ... */
#define REPLICA_STANDBY_SEEN_MS	5000	/* ... those that asked within this */
#define REPLICA_MAX_STANDBYS	16	/* named; more are counted */
#define REPLICA_META_ID		"store_id"
#define REPLICA_META_OF		"replicated_to"

struct replica_mark {
	uint64_t	 gen;
	int64_t		 maxid;
};

struct replica_entry {
	int64_t		 id;
	int		 tbl;
	sqlite3_value	*k[3];
};

struct store_replica {
	char		*url;
	char		*instance;
	/* Under the store's mu. */
	struct replica_mark *marks;	/* a FIFO: [head, head + n) */
	size_t		 head, n, cap;
	int64_t		 acked;		/* outbox ids up to here are in PostgreSQL */
	int64_t		 maxid;		/* the highest outbox id marked so far */
	int		 up;		/* the last attempt worked */
	int		 fenced;	/* another deprovd took the store over */
	long long	 epoch;		/* this writer's (pgstore_take) */
	int		 lease_ms;
	int64_t		 lease_until;	/* monotonic: by our clock, no later
					   than the server's lease ends */
	char		 why[512];	/* why not, when not */
	struct store_standby standbys[REPLICA_MAX_STANDBYS];
	int		 nstandbys;	/* -1: not read yet */
	int		 stop;
	/* The loop's. */
	int64_t		 trimmed;	/* outbox rows deleted up to here */
	uint64_t	 pg_gen;
	sqlite3_stmt	*maxid_st;
	sqlite3_stmt	*trim_st;
	pthread_t	 th;
	int		 th_running;
	/* The helper thread's. */
	sqlite3		*db;
	sqlite3_stmt	*outbox_st;
	sqlite3_stmt	*row_st[REPLICA_MAX_TABLES];
	struct pgstore	*pg;
	struct replica_entry *ents;
	size_t		 nents;		/* allocated */
};

static void	*replica_main(void *);
static int	 replica_set_aside(struct store *, char *, size_t);

/* The outbox and the triggers that fill it (this connection only). */
static int
replica_triggers(struct store *s)
{
	const struct store_table	*t;
	char				 sql[1024], keys[256], vals[256];
	const char			*ops[2] = { "INSERT", "UPDATE" };
	size_t				 i, k, o, n, m;

	/*
	 * AUTOINCREMENT: ids must never be used twice, and acknowledged rows
	 * are deleted, so a plain rowid would start again below them.
	 */
	if (store_exec(s, "CREATE TABLE IF NOT EXISTS pg_outbox ("
	    " id INTEGER PRIMARY KEY AUTOINCREMENT, tbl INTEGER NOT NULL,"
	    " k1, k2, k3)") != 0)
		return -1;
	for (i = 0; i < store_ntables; i++) {
		t = &store_tables[i];
		n = m = 0;
		keys[0] = vals[0] = '\0';
		for (k = 0; k < 3; k++) {
			n += (size_t)snprintf(keys + n, sizeof keys - n, ", k%zu",
			    k + 1);
			if (k < t->nkey)
				m += (size_t)snprintf(vals + m, sizeof vals - m,
				    ", NEW.%s", t->cols[k].name);
			else
				m += (size_t)snprintf(vals + m, sizeof vals - m,
				    ", NULL");
		}
		for (o = 0; o < 2; o++) {
			/*
			 * The schema version is each store's own. An
			 * unqualified table in a TEMP trigger's body is
			 * looked up as anywhere else: pg_outbox is main's.
			 */
			snprintf(sql, sizeof sql, "CREATE TEMP TRIGGER IF NOT "
			    "EXISTS pg_outbox_%s_%c AFTER %s ON main.%s%s BEGIN "
			    "INSERT INTO pg_outbox(tbl%s) VALUES (%zu%s); END",
			    t->name, ops[o][0], ops[o], t->name,
			    strcmp(t->name, "meta") == 0 ?
			    " WHEN NEW.key NOT IN " STORE_META_OWN : "", keys,
			    i, vals);
			if (store_exec(s, sql) != 0)
				return -1;
		}
	}
	return 0;
}

/* A small count through the store's connection. */
static int64_t
replica_scalar(struct store *s, const char *sql)
{
	sqlite3_stmt	*st = NULL;
	int64_t		 v = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

struct replica_push {
	struct pgstore	*pg;
	size_t		 rows;
	int		 open;
};

/*
 * store_export into PostgreSQL, in one transaction: a standby that takes
 * the store over while this runs must find all of it or none.
 */
static int
replica_push_row(const char *table, const struct store_value *v, size_t n,
    void *arg)
{
	struct replica_push	*x = arg;

	if (!x->open) {
		if (pgstore_put_begin(x->pg) != 0)
			return -1;
		x->open = 1;
	}
	if (pgstore_put_row(table, v, n, x->pg) != 0)
		return -1;
	x->rows++;
	return 0;
}

static int
replica_push_all(struct store *s, struct pgstore *pg, char *err,
    size_t errlen)
{
	struct replica_push	x = { pg, 0, 0 };

	if (store_export(s, replica_push_row, &x) != 0 ||
	    (x.open && pgstore_put_end(pg) != 0)) {
		snprintf(err, errlen, "copying the store into %s: %s",
		    pgstore_name(pg), *pgstore_errmsg(pg) != '\0' ?
		    pgstore_errmsg(pg) : "cannot read the local store");
		return -1;
	}
	log_info("store", "copied the local store into %s (%zu rows)",
	    pgstore_name(pg), x.rows);
	return 0;
}

/*
 * The rows PostgreSQL changed since revision *rev into the local copy, in
 * one local transaction; *rev moves to the highest one taken (0: the whole
 * store). clear: the local rows go first, the rows before those they refer
 * to, and the outbox with them (a copy that is new to this store, or
 * behind it: what it never sent was never acted on).
 */
static int
replica_pull_since(struct store *s, struct pgstore *pg, long long *rev,
    int clear, char *err, size_t errlen)
{
	char	sql[160];
	size_t	i;

	if (store_begin(s) != 0)
		goto fail;
	/* The reverse of table order: rows before those they refer to. */
	for (i = store_ntables; clear && i-- > 0;) {
		snprintf(sql, sizeof sql, "DELETE FROM %s%s", store_tables[i].name,
		    strcmp(store_tables[i].name, "meta") == 0 ?
		    " WHERE key NOT IN " STORE_META_OWN : "");
		if (store_exec(s, sql) != 0) {
			store_rollback(s);
			goto fail;
		}
	}
	if (clear && replica_scalar(s, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'pg_outbox'") > 0 &&
	    store_exec(s, "DELETE FROM pg_outbox") != 0) {
		store_rollback(s);
		goto fail;
	}
	if (pgstore_changes(pg, *rev, store_import_row, s, rev) != 0) {
		store_rollback(s);
		goto fail;
	}
	if (store_commit(s) != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "bringing the local copy up to date from %s: %s",
	    pgstore_name(pg), *pgstore_errmsg(pg) != '\0' ?
	    pgstore_errmsg(pg) : sqlite3_errmsg(s->db));
	return -1;
}

/*
 * Load PostgreSQL's store whole into the local copy; clear: the copy is
 * behind (another deprovd has written PostgreSQL's since).
 */
static int
replica_pull_all(struct store *s, struct pgstore *pg, int clear, char *err,
    size_t errlen)
{
	long long	rev = 0;

	if (replica_pull_since(s, pg, &rev, clear, err, errlen) != 0)
		return -1;
	log_info("store", "loaded the store from %s into the %s local copy",
	    pgstore_name(pg), clear ? "emptied" : "new");
	return 0;
}


/* "<store id> 0 standby <revision>": a warm standby's copy; its revision. */
static long long
replica_standby_rev(const char *of, const char *id)
{
	char		of_id[80];
	long long	e, rev;

	if (sscanf(of, "%79s %lld standby %lld", of_id, &e, &rev) != 3 ||
	    strcmp(of_id, id) != 0 || rev < 0)
		return -1;
	return rev;
}

/*
 * A standby keeps its local copy current (docs/CLUSTER.md, "Automatic
 * failover"), so that taking over costs only what changed since its last
 * ask, not a copy of the whole store. A copy of this store made as a
 * writer is set aside first: it is behind, another writes now. A local
 * copy of another store (not new) is never touched: the start refuses it
 * when this one takes over.
 */
static int
replica_standby_sync(struct store *s, struct pgstore *pg, char *err,
    size_t errlen)
{
	char		 lid[80] = "", pid[80], of[160] = "";
	long long	 rev, from;
	int		 clear = 0, local_new;

	if (pgstore_meta_get(pg, REPLICA_META_ID, pid, sizeof pid) != 1)
		return 0;		/* nothing written yet: nothing to copy */
	(void)store_meta_get(s, REPLICA_META_ID, lid, sizeof lid);
	(void)store_meta_get(s, REPLICA_META_OF, of, sizeof of);
	if ((rev = replica_standby_rev(of, pid)) < 0) {
		local_new = store_count_cases(s, NULL) == 0 &&
		    replica_scalar(s, "SELECT count(*) FROM audit") == 0 &&
		    replica_scalar(s, "SELECT count(*) FROM events") == 0;
		if (!local_new && strcmp(lid, pid) != 0)
			return 0;
		if (!local_new && replica_set_aside(s, err, errlen) != 0)
			return -1;
		clear = 1;
		rev = 0;
	}
	from = rev;
	if (replica_pull_since(s, pg, &rev, clear, err, errlen) != 0)
		return -1;
	if (!clear && rev == from)
		return 0;		/* nothing changed since the last ask */
	if (clear)
		log_info("store", "standby: copied the store from %s (to "
		    "revision %lld); keeping it current", pgstore_name(pg), rev);
	snprintf(of, sizeof of, "%s 0 standby %lld", pid, rev);
	if (store_meta_set(s, REPLICA_META_ID, pid) != 0 ||
	    store_meta_set(s, REPLICA_META_OF, of) != 0) {
		snprintf(err, errlen, "cannot record the standby's copy");
		return -1;
	}
	return 0;
}

/*
 * A local copy behind PostgreSQL's is kept once as PATH.behind before it is
 * emptied: what it holds that PostgreSQL lacks was never acted on, but an
 * operator may want to see it.
 */
static int
replica_set_aside(struct store *s, char *err, size_t errlen)
{
	char	*aside = NULL, *sql = NULL;
	int	 rc = -1;

	if (asprintf(&aside, "%s.behind", s->path) < 0) {
		aside = NULL;
		goto done;
	}
	if (unlink(aside) != 0 && errno != ENOENT)
		goto done;
	if ((sql = sqlite3_mprintf("VACUUM INTO %Q", aside)) == NULL ||
	    store_exec(s, sql) != 0)
		goto done;
	log_warn("store", "the local copy is behind the store in PostgreSQL "
	    "(another deprovd has written it since): kept as %s, loading "
	    "PostgreSQL's", aside);
	rc = 0;
done:
	if (rc != 0)
		snprintf(err, errlen, "cannot keep the local copy aside as "
		    "%s.behind: %s", s->path, errno != 0 ? strerror(errno) :
		    sqlite3_errmsg(s->db));
	sqlite3_free(sql);
	free(aside);
	return rc;
}

/*
 * Match the local store with PostgreSQL's (see the top of the file) and
 * take the store: 0 when this deprovd is the writer and PostgreSQL has
 * everything but what the outbox holds; STORE_REPLICA_HELD when another
 * instance holds the lease (err says who, *wait_ms how long at most);
 * -1 with err.
 */
static int
replica_match(struct store *s, struct pgstore *pg,
    struct store_replica_conf *conf, int *wait_ms, char *err,
    size_t errlen)
{
	enum { PUSH, PULL, CLEAR_PULL, CATCH_UP, NONE }	 act;
	char				 lid[80], pid[80], of[160], ep[32];
	char				 of_id[80] = "", holder[256];
	long long			 pc, pe, pa, e_pg = 0, of_e = 0, e, left;
	long long			 rev = -1;
	int				 local_new, r, re, dirty = 0, n = 0;

	if (store_meta_get(s, REPLICA_META_ID, lid, sizeof lid) != 1) {
		if (randid_hex(lid, sizeof lid, 16) != 0 ||
		    store_meta_set(s, REPLICA_META_ID, lid) != 0) {
			snprintf(err, errlen, "cannot give the store an id");
			return -1;
		}
	}
	/* "<store id> <writer epoch>[ unreplicated]": what we last wrote as. */
	if (store_meta_get(s, REPLICA_META_OF, of, sizeof of) == 1 &&
	    sscanf(of, "%79s %lld%n", of_id, &of_e, &n) == 2)
		dirty = strstr(of + n, "unreplicated") != NULL;
	local_new = store_count_cases(s, NULL) == 0 &&
	    replica_scalar(s, "SELECT count(*) FROM audit") == 0 &&
	    replica_scalar(s, "SELECT count(*) FROM events") == 0;
	if (pgstore_counts(pg, &pc, &pe, &pa) != 0 ||
	    (r = pgstore_meta_get(pg, REPLICA_META_ID, pid, sizeof pid)) < 0 ||
	    (re = pgstore_meta_get(pg, "writer_epoch", ep, sizeof ep)) < 0) {
		snprintf(err, errlen, "%s", pgstore_errmsg(pg));
		return -1;
	}
	if (r == 0)
		pid[0] = '\0';
	if (re == 1)
		e_pg = strtoll(ep, NULL, 10);
	if (pc == 0 && pe == 0 && pa == 0 && (pid[0] == '\0' ||
	    strcmp(pid, lid) == 0))
		act = PUSH;		/* an empty PostgreSQL gets the local store */
	else if (strcmp(pid, lid) == 0)
		act = NONE;		/* decided once the store is taken */
	else if (local_new)
		act = PULL;		/* a new host for PostgreSQL's store */
	else {
		/* Refused before the take: another store's writer goes on. */
		snprintf(err, errlen, "%s holds another deprov store (%lld "
		    "cases, %s) than the local copy (id %s): point store.url "
		    "at that store's database, or move the local file away to "
		    "load PostgreSQL's store here", pgstore_name(pg), pc,
		    pid[0] != '\0' ? "its own id" :
		    "no id: copied by an earlier store migrate", lid);
		return -1;
	}
	/*
	 * This deprovd is the store's writer from now on, unless another
	 * instance's lease still runs: any other that still writes (one
	 * paused and resumed, a zombie) is fenced off before anything is
	 * copied either way.
	 */
	e = pgstore_take(pg, conf->instance, conf->lease_ms +
	    REPLICA_TAKE_EXTRA_MS, holder, sizeof holder, &left);
	if (e < 0) {
		snprintf(err, errlen, "%s", pgstore_errmsg(pg));
		return -1;
	}
	if (e == 0) {
		snprintf(err, errlen, "the store in %s is held by instance %s "
		    "(its lease runs %lld ms more)", pgstore_name(pg), holder,
		    left);
		snprintf(conf->holder, sizeof conf->holder, "%s", holder);
		*wait_ms = left > INT_MAX ? INT_MAX : (int)left;
		return STORE_REPLICA_HELD;
	}
	pgstore_set_epoch(pg, e, conf->lease_ms);
	if (act == NONE) {
		/*
		 * The same store. A warm standby's copy takes what changed
		 * since its last ask (the old writer is fenced now: nothing
		 * more changes). Else, if another deprovd has written it since
		 * this copy last did (or took it between our reading and our
		 * take), this copy is behind: sending it would undo that one's
		 * work.
		 */
		if ((rev = replica_standby_rev(of, lid)) >= 0)
			act = CATCH_UP;
		else if (e - 1 > 0 && (strcmp(of_id, lid) != 0 ||
		    of_e != e - 1 || e_pg != e - 1))
			act = CLEAR_PULL;
		else if (dirty || strcmp(of_id, lid) != 0)
			act = PUSH;	/* it ran unreplicated since: all again */
	}
	switch (act) {
	case PUSH:
		if (pid[0] == '\0' && pgstore_meta_set(pg, REPLICA_META_ID,
		    lid) != 0) {
			snprintf(err, errlen, "%s", pgstore_errmsg(pg));
			return -1;
		}
		if (replica_push_all(s, pg, err, errlen) != 0)
			return -1;
		break;
	case CLEAR_PULL:
		if (replica_set_aside(s, err, errlen) != 0 ||
		    replica_pull_all(s, pg, 1, err, errlen) != 0)
			return -1;
		break;
	case CATCH_UP:
		{
			long long from = rev;

			if (replica_pull_since(s, pg, &rev, 0, err, errlen) != 0)
				return -1;
			log_info("store", "brought the standby's copy up to date "
			    "from %s (revisions %lld to %lld)", pgstore_name(pg),
			    from, rev);
		}
		break;
	case PULL:
		if (replica_pull_all(s, pg, 0, err, errlen) != 0)
			return -1;
		if (pid[0] == '\0' && pgstore_meta_set(pg, REPLICA_META_ID,
		    lid) != 0) {
			snprintf(err, errlen, "%s", pgstore_errmsg(pg));
			return -1;
		}
		if (pid[0] != '\0')
			snprintf(lid, sizeof lid, "%s", pid);
		if (store_meta_set(s, REPLICA_META_ID, lid) != 0) {
			snprintf(err, errlen, "cannot record the store's id");
			return -1;
		}
		break;
	case NONE:
		break;
	}
	snprintf(of, sizeof of, "%s %lld", lid, e);
	if (store_meta_set(s, REPLICA_META_OF, of) != 0) {
		snprintf(err, errlen, "cannot record the replication");
		return -1;
	}
	return 0;
}

/* Where the thread reads: its own read-only connection and statements. */
static int
replica_thread_db(struct store *s, struct store_replica *r)
{
	const struct store_table	*t;
	char				 sql[1024];
	size_t				 i, k, n;

	if (sqlite3_open_v2(s->path, &r->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return -1;
	sqlite3_busy_timeout(r->db, 5000);
	if (sqlite3_prepare_v3(r->db, "SELECT id, tbl, k1, k2, k3 FROM pg_outbox"
	    " WHERE id > ?1 AND id <= ?2 ORDER BY id",
	    -1, SQLITE_PREPARE_PERSISTENT, &r->outbox_st, NULL) != SQLITE_OK)
		return -1;
	for (i = 0; i < store_ntables && i < REPLICA_MAX_TABLES; i++) {
		t = &store_tables[i];
		n = (size_t)snprintf(sql, sizeof sql, "SELECT ");
		n += store_table_cols(t, sql + n, sizeof sql - n);
		if (n < sizeof sql)
			n += (size_t)snprintf(sql + n, sizeof sql - n,
			    " FROM %s", t->name);
		for (k = 0; k < t->nkey && n < sizeof sql; k++)
			n += (size_t)snprintf(sql + n, sizeof sql - n,
			    "%s%s = ?%zu", k ? " AND " : " WHERE ",
			    t->cols[k].name, k + 1);
		if (n >= sizeof sql || sqlite3_prepare_v3(r->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &r->row_st[i], NULL) != SQLITE_OK)
			return -1;
	}
	return 0;
}

int
store_replica_start(struct store *s, struct store_replica_conf *conf,
    int *wait_ms, char *err, size_t errlen)
{
	struct store_replica	*r;
	struct pgstore		*pg;
	int64_t			 t0 = clock_mono_ms();
	int			 m;

	if (s->replica != NULL || s->readonly) {
		snprintf(err, errlen, "replication: already on, or read-only");
		return -1;
	}
	if (store_ntables > REPLICA_MAX_TABLES) {
		snprintf(err, errlen, "replication: too many tables");
		return -1;
	}
	/*
	 * A standby asks again on the connection it kept: opening one makes
	 * the schema's functions again, which is catalog churn every second.
	 */
	pg = conf->pg;
	conf->pg = NULL;
	if (pg != NULL && !pgstore_ok(pg)) {
		pgstore_close(pg);
		pg = NULL;
	}
	if (pg == NULL) {
		if ((pg = pgstore_open(conf->url, 1, err, errlen)) == NULL)
			return errno == ENOTCONN ? STORE_REPLICA_DOWN : -1;
		if (pgstore_schema_from(pg) != 0 && pgstore_schema_from(pg) <
		    STORE_SCHEMA_VERSION)
			log_info("store", "%s: migrated the schema from version "
			    "%d to %d", pgstore_name(pg), pgstore_schema_from(pg),
			    STORE_SCHEMA_VERSION);
	}
	if ((m = replica_match(s, pg, conf, wait_ms, err, errlen)) ==
	    STORE_REPLICA_HELD) {
		char	why[512];

		/* A standby: its copy current for when it takes over. */
		if (replica_standby_sync(s, pg, why, sizeof why) != 0) {
			log_error("store", "standby: %s", why);
			if (!pgstore_ok(pg)) {
				pgstore_close(pg);
				return STORE_REPLICA_HELD;
			}
		}
	}
	if (m != 0) {
		/* The server went away meanwhile: worth trying again. */
		if (m < 0 && !pgstore_ok(pg))
			m = STORE_REPLICA_DOWN;
		if (m == STORE_REPLICA_HELD)
			conf->pg = pg;		/* kept for the next ask */
		else
			pgstore_close(pg);
		return m;
	}
	if ((r = calloc(1, sizeof *r)) == NULL || (r->url = strdup(conf->url))
	    == NULL || (r->instance = strdup(conf->instance)) == NULL ||
	    (r->ents = calloc(REPLICA_BATCH, sizeof *r->ents)) == NULL) {
		if (r != NULL) {
			free(r->url);
			free(r->instance);
			free(r);
		}
		pgstore_close(pg);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->pg = pg;
	r->nstandbys = -1;
	r->nents = REPLICA_BATCH;
	r->up = 1;
	r->epoch = pgstore_epoch(pg);
	r->lease_ms = conf->lease_ms;
	/* Counted from before the take: never later than the server's. */
	r->lease_until = t0 + conf->lease_ms;
	s->replica = r;
	if (replica_triggers(s) != 0 ||
	    sqlite3_prepare_v3(s->db, "SELECT coalesce(max(id), 0) FROM "
	    "pg_outbox", -1, SQLITE_PREPARE_PERSISTENT, &r->maxid_st, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "DELETE FROM pg_outbox WHERE id <= ?",
	    -1, SQLITE_PREPARE_PERSISTENT, &r->trim_st, NULL) != SQLITE_OK ||
	    replica_thread_db(s, r) != 0) {
		snprintf(err, errlen, "replication: %s", sqlite3_errmsg(s->db));
		store_replica_stop(s);
		return -1;
	}
	/* What an earlier run left unsent goes first; what was sent is gone. */
	store_replica_committed(s);
	if (pthread_create(&r->th, NULL, replica_main, s) != 0) {
		snprintf(err, errlen, "replication: cannot start its thread");
		store_replica_stop(s);
		return -1;
	}
	r->th_running = 1;
	log_info("store", "replicating to %s", pgstore_name(pg));
	return 0;
}

void
store_replica_conf_clear(struct store_replica_conf *conf)
{
	pgstore_close(conf->pg);
	conf->pg = NULL;
}

void
store_replica_stop(struct store *s)
{
	struct store_replica	*r = s->replica;
	size_t			 i;

	if (r == NULL)
		return;
	if (r->th_running) {
		struct timespec	ts;

		pthread_mutex_lock(&s->mu);
		r->stop = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		/*
		 * A stop is bounded: the thread may be inside a call to a
		 * server that stopped answering (its connection breaks within
		 * about 20 s). Past the wait, it is left to the exiting
		 * process: what it had not sent is still in the outbox.
		 */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += REPLICA_STOP_WAIT_S;
		if (pthread_timedjoin_np(r->th, NULL, &ts) != 0) {
			log_warn("store", "replication thread busy with "
			    "PostgreSQL after %d s: not waiting for it",
			    REPLICA_STOP_WAIT_S);
			s->replica = NULL;
			s->replica_left = 1;
			return;
		}
	}
	/*
	 * Everything was sent that could be: a standby may take the store
	 * at once instead of waiting the lease out. Not after a failure: the
	 * server may not answer (the call would wait on it).
	 */
	if (r->pg != NULL && r->up && !r->fenced && pgstore_ok(r->pg) &&
	    pgstore_release(r->pg) == 0)
		log_info("store", "released the store's lease");
	sqlite3_finalize(r->maxid_st);
	sqlite3_finalize(r->trim_st);
	sqlite3_finalize(r->outbox_st);
	for (i = 0; i < REPLICA_MAX_TABLES; i++)
		sqlite3_finalize(r->row_st[i]);
	if (r->db != NULL)
		sqlite3_close(r->db);
	pgstore_close(r->pg);
	free(r->marks);
	free(r->ents);
	free(r->url);
	free(r->instance);
	free(r);
	s->replica = NULL;
}

/* After a commit through the store: mark what PostgreSQL must have. */
void
store_replica_committed(struct store *s)
{
	struct store_replica	*r = s->replica;
	struct replica_mark	*m;
	int64_t			 maxid = 0;

	if (r == NULL)
		return;
	if (sqlite3_step(r->maxid_st) == SQLITE_ROW)
		maxid = sqlite3_column_int64(r->maxid_st, 0);
	sqlite3_reset(r->maxid_st);
	pthread_mutex_lock(&s->mu);
	if (maxid > r->maxid) {
		if (r->head + r->n == r->cap) {
			if (r->head > 0) {
				memmove(r->marks, r->marks + r->head,
				    r->n * sizeof *r->marks);
				r->head = 0;
			} else {
				size_t	cap = r->cap ? r->cap * 2 : 64;

				if ((m = realloc(r->marks, cap * sizeof *m)) ==
				    NULL) {
					/*
					 * Without the mark the commit waits
					 * for the next one's: later, never
					 * wrong.
					 */
					pthread_mutex_unlock(&s->mu);
					return;
				}
				r->marks = m;
				r->cap = cap;
			}
		}
		r->marks[r->head + r->n].gen = s->gen;
		r->marks[r->head + r->n].maxid = maxid;
		r->n++;
		r->maxid = maxid;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
}

/* Up to which generation PostgreSQL has every commit, capped by fsynced. */
uint64_t
store_replica_synced(struct store *s, uint64_t fsynced)
{
	struct store_replica	*r = s->replica;
	uint64_t		 pg;

	if (r == NULL)
		return fsynced;
	pthread_mutex_lock(&s->mu);
	while (r->n > 0 && r->marks[r->head].maxid <= r->acked) {
		r->head++;
		r->n--;
	}
	if (r->n == 0)
		r->head = 0;
	pg = r->n == 0 ? s->gen : r->marks[r->head].gen - 1;
	pthread_mutex_unlock(&s->mu);
	return pg < fsynced ? pg : fsynced;
}

/* In a deferred transaction: delete the outbox rows PostgreSQL has. */
void
store_replica_trim(struct store *s)
{
	struct store_replica	*r = s->replica;
	int64_t			 acked;

	if (r == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	acked = r->acked;
	pthread_mutex_unlock(&s->mu);
	if (acked <= r->trimmed)
		return;
	sqlite3_bind_int64(r->trim_st, 1, acked);
	if (sqlite3_step(r->trim_st) == SQLITE_DONE)
		r->trimmed = acked;
	sqlite3_reset(r->trim_st);
}

int
store_replica_off(struct store *s)
{
	char	of[160], more[192];

	/*
	 * What this copy writes now PostgreSQL will not see: a later start
	 * with PostgreSQL sends the store whole again (or refuses, when
	 * another deprovd has written PostgreSQL's since).
	 */
	if (store_meta_get(s, REPLICA_META_OF, of, sizeof of) != 1 ||
	    of[0] == '\0' || strstr(of, "unreplicated") != NULL)
		return 0;
	snprintf(more, sizeof more, "%s unreplicated", of);
	return store_meta_set(s, REPLICA_META_OF, more);
}

int
store_replica_status(struct store *s, char *why, size_t len,
    long long *backlog)
{
	struct store_replica	*r = s->replica;
	int			 up;

	if (r == NULL) {
		snprintf(why, len, "not replicating");
		*backlog = 0;
		return -1;
	}
	pthread_mutex_lock(&s->mu);
	up = r->up;
	snprintf(why, len, "%s", up ? "" : r->why);
	*backlog = r->maxid - r->acked;
	pthread_mutex_unlock(&s->mu);
	return up;
}

int
store_replica_writable(struct store *s, char *why, size_t len)
{
	struct store_replica	*r = s->replica;
	int64_t			 now = clock_mono_ms();
	int			 ok;

	if (r == NULL)
		return 1;
	pthread_mutex_lock(&s->mu);
	ok = !r->fenced && now < r->lease_until;
	if (!ok && why != NULL)
		snprintf(why, len, r->fenced ? "fenced: another deprovd has "
		    "taken this store over" : "this deprovd's lease on the "
		    "store ran out %lld ms ago unrenewed (PostgreSQL not "
		    "reached)", (long long)(now - r->lease_until));
	pthread_mutex_unlock(&s->mu);
	return ok;
}

int
store_replica_writer(struct store *s, char *instance, size_t len,
    long long *epoch)
{
	struct store_replica	*r = s->replica;

	if (r == NULL)
		return -1;
	snprintf(instance, len, "%s", r->instance);
	*epoch = r->epoch;	/* set before the thread runs; never changes */
	return 0;
}

int
store_replica_standbys(struct store *s, struct store_standby *v, size_t max)
{
	struct store_replica	*r = s->replica;
	size_t			 i;
	int			 n;

	if (r == NULL)
		return -1;
	pthread_mutex_lock(&s->mu);
	n = r->nstandbys;
	for (i = 0; n > 0 && i < max && i < (size_t)n &&
	    i < REPLICA_MAX_STANDBYS; i++)
		v[i] = r->standbys[i];
	pthread_mutex_unlock(&s->mu);
	return n;
}

int
store_replica_fenced(struct store *s)
{
	struct store_replica	*r = s->replica;
	int			 f;

	if (r == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	f = r->fenced;
	pthread_mutex_unlock(&s->mu);
	return f;
}

/* --- the helper thread ------------------------------------------------ */

/* Order by table, then key: tables in store_tables order. */
static int
replica_key_cmp(const struct replica_entry *x, const struct replica_entry *y)
{
	int	i, tx, ty, c;

	if (x->tbl != y->tbl)
		return x->tbl < y->tbl ? -1 : 1;
	for (i = 0; i < 3; i++) {
		tx = x->k[i] ? sqlite3_value_type(x->k[i]) : SQLITE_NULL;
		ty = y->k[i] ? sqlite3_value_type(y->k[i]) : SQLITE_NULL;
		if (tx != ty)
			return tx < ty ? -1 : 1;
		if (tx == SQLITE_INTEGER && sqlite3_value_int64(x->k[i]) !=
		    sqlite3_value_int64(y->k[i]))
			return sqlite3_value_int64(x->k[i]) <
			    sqlite3_value_int64(y->k[i]) ? -1 : 1;
		if (tx == SQLITE_TEXT && (c = strcmp((const char *)
		    sqlite3_value_text(x->k[i]), (const char *)
		    sqlite3_value_text(y->k[i]))) != 0)
			return c;
	}
	return 0;
}

static int
replica_entry_cmp(const void *a, const void *b)
{
	const struct replica_entry	*x = a, *y = b;
	int				 c;

	if ((c = replica_key_cmp(x, y)) != 0)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void
replica_entries_free(struct store_replica *r, size_t n)
{
	size_t	i;
	int	k;

	for (i = 0; i < n; i++)
		for (k = 0; k < 3; k++) {
			sqlite3_value_free(r->ents[i].k[k]);
			r->ents[i].k[k] = NULL;
		}
}

/*
 * One batch: outbox rows after acked up to upto, their current rows to
 * PostgreSQL. The highest outbox id sent (acked when nothing was), or -1.
 */
static int64_t
replica_batch(struct store_replica *r, int64_t acked, int64_t upto)
{
	const struct store_table	*t;
	struct store_value		 v[32];
	sqlite3_stmt			*st;
	size_t				 n = 0, i;
	int64_t				 last = acked;
	int				 k, ok = 0;

	if (sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(r->outbox_st, 1, acked);
	sqlite3_bind_int64(r->outbox_st, 2, upto);
	while (sqlite3_step(r->outbox_st) == SQLITE_ROW) {
		if (n == r->nents) {
			struct replica_entry	*e;

			if ((e = reallocarray(r->ents, r->nents * 2,
			    sizeof *e)) == NULL) {
				sqlite3_reset(r->outbox_st);
				sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
				replica_entries_free(r, n);
				return -1;
			}
			memset(e + r->nents, 0, r->nents * sizeof *e);
			r->ents = e;
			r->nents *= 2;
		}
		r->ents[n].id = sqlite3_column_int64(r->outbox_st, 0);
		r->ents[n].tbl = sqlite3_column_int(r->outbox_st, 1);
		for (k = 0; k < 3; k++)
			r->ents[n].k[k] = sqlite3_value_dup(sqlite3_column_value(
			    r->outbox_st, 2 + k));
		last = r->ents[n].id;
		n++;
	}
	sqlite3_reset(r->outbox_st);
	if (n == 0) {
		/* Nothing left to send: the lease is renewed all the same. */
		sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
		return pgstore_renew(r->pg) ? acked : -1;
	}
	/* In table order (rows after those they refer to), each key once. */
	qsort(r->ents, n, sizeof *r->ents, replica_entry_cmp);
	if (pgstore_put_begin(r->pg) != 0)
		goto done;
	for (i = 0; i < n; i++) {
		/* A key touched several times: its current row, once. */
		if (i + 1 < n && replica_key_cmp(&r->ents[i], &r->ents[i + 1]) ==
		    0)
			continue;
		if (r->ents[i].tbl < 0 || (size_t)r->ents[i].tbl >=
		    store_ntables)
			continue;
		t = &store_tables[r->ents[i].tbl];
		st = r->row_st[r->ents[i].tbl];
		for (k = 0; (size_t)k < t->nkey && k < 3; k++)
			sqlite3_bind_value(st, k + 1, r->ents[i].k[k]);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    store_row_values(st, t, v) == 0 &&
		    pgstore_put_row(t->name, v, t->ncols, r->pg) != 0) {
			sqlite3_reset(st);
			pgstore_put_end(r->pg);
			goto done;
		}
		sqlite3_reset(st);
	}
	ok = pgstore_put_end(r->pg) == 0;
done:
	sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
	replica_entries_free(r, n);
	return ok ? last : -1;
}

static void *
replica_main(void *arg)
{
	struct store		*s = arg;
	struct store_replica	*r = s->replica;
	char			 err[512];
	int64_t			 acked, upto, sent, t0;
	size_t			 i;
	int64_t			 last_ok = 0;	/* renew at once: see start */
	int64_t			 last_sb = 0;
	int			 pause = 0, logged = 0, probe, every, nsb = -1;
	struct store_standby	 sb[REPLICA_MAX_STANDBYS];

	/* The lease is renewed well before it runs out, even when idle. */
	every = r->lease_ms / REPLICA_PROBE_SHARE < REPLICA_PROBE_MS ?
	    r->lease_ms / REPLICA_PROBE_SHARE : REPLICA_PROBE_MS;

	pthread_mutex_lock(&s->mu);
	while (!r->stop) {
		/*
		 * What the local WAL has synced is what may be sent, whole
		 * local commits at a time, about REPLICA_BATCH rows.
		 */
		upto = r->acked;
		for (i = 0; i < r->n; i++) {
			if (r->marks[r->head + i].gen > s->done ||
			    (upto > r->acked && r->marks[r->head + i].maxid -
			    r->acked > REPLICA_BATCH))
				break;
			upto = r->marks[r->head + i].maxid;
		}
		/*
		 * Idle: ask the server now and then, so that readiness says
		 * PostgreSQL is gone before the next change finds out (and
		 * the connection is back before it is needed).
		 */
		probe = 0;
		if (upto <= r->acked && r->pg != NULL) {
			if (r->fenced || clock_mono_ms() - last_ok < every) {
				store_wait_ms(s, every / 2);
				continue;
			}
			probe = 1;
		}
		if (pause > 0) {
			store_wait_ms(s, pause);
			if (r->stop)
				break;
		}
		acked = r->acked;
		pthread_mutex_unlock(&s->mu);

		/* A new connection writes under this writer's epoch too. */
		if (r->pg == NULL && (r->pg = pgstore_open(r->url, 0, err,
		    sizeof err)) != NULL)
			pgstore_set_epoch(r->pg, r->epoch, r->lease_ms);
		/* A transaction that commits renewed the lease as it began. */
		t0 = clock_mono_ms();
		if (r->pg == NULL)
			sent = -1;
		else if (r->fenced)
			sent = -1;	/* for good: see below */
		else if (probe)
			sent = pgstore_renew(r->pg) ? acked : -1;
		else if (upto > acked)
			sent = replica_batch(r, acked, upto);
		else
			sent = acked;
		if (sent < 0 && r->pg != NULL)
			snprintf(err, sizeof err, "%s", pgstore_errmsg(r->pg));
		/* Who stands by, for /readyz and the metrics (not fatal). */
		nsb = -1;
		if (sent >= 0 && clock_mono_ms() - last_sb >= REPLICA_STANDBYS_MS) {
			last_sb = clock_mono_ms();
			if (pgstore_standbys(r->pg, REPLICA_STANDBY_SEEN_MS, sb,
			    REPLICA_MAX_STANDBYS, &nsb) != 0)
				nsb = -1;
		}

		pthread_mutex_lock(&s->mu);
		if (nsb >= 0) {
			memcpy(r->standbys, sb, sizeof sb);
			r->nstandbys = nsb;
		}
		if (sent >= 0) {
			last_ok = clock_mono_ms();
			if (t0 + r->lease_ms > r->lease_until)
				r->lease_until = t0 + r->lease_ms;
			if (sent > r->acked)
				r->acked = sent;
			if (!r->up)
				log_info("store", "PostgreSQL answers again: "
				    "replicating");
			r->up = 1;
			pause = 0;
			logged = 0;
		} else if (r->fenced || (r->pg != NULL &&
		    pgstore_fenced(r->pg))) {
			/*
			 * Another deprovd took the store over (this one was
			 * paused, or partitioned away): nothing this one does
			 * may reach PostgreSQL or a target again. Its steps
			 * wait for good; it reports not ready until stopped.
			 */
			if (!r->fenced)
				log_error("store", "fenced: another deprovd has "
				    "taken the store in PostgreSQL over (writer "
				    "epoch %lld is no longer the store's): this one "
				    "starts no step and writes nothing; stop it",
				    r->epoch);
			r->fenced = 1;
			r->up = 0;
			snprintf(r->why, sizeof r->why, "fenced: another deprovd "
			    "has taken this store over");
			pause = REPLICA_PAUSE_MAX_MS;
		} else {
			r->up = 0;
			snprintf(r->why, sizeof r->why, "%s", err);
			if (!logged++)
				log_error("store", "replication stopped: %s "
				    "(retrying; steps wait)", err);
			/*
			 * A new connection for the next try, whatever libpq
			 * says of this one: a pipeline cut off mid-way by a
			 * server that died can leave a connection that reads
			 * as good and never works again.
			 */
			if (r->pg != NULL) {
				pgstore_close(r->pg);
				r->pg = NULL;
			}
			pause = pause == 0 ? REPLICA_PAUSE_MIN_MS :
			    pause * 2 > REPLICA_PAUSE_MAX_MS ?
			    REPLICA_PAUSE_MAX_MS : pause * 2;
		}
		/* The loop learns of the progress through the sync pipe. */
		if (sent > acked && s->pipe[1] >= 0 &&
		    write(s->pipe[1], "r", 1) < 0 && errno != EAGAIN)
			log_error("store", "replication wake-up: %s",
			    strerror(errno));
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}
