/*
 * store-tables.c: the store's tables as data (see store-tables.h).
 */
#include <stdio.h>

#include "store-tables.h"

#define N(a)	(sizeof (a) / sizeof (a)[0])
#define I(n)	{ n, STORE_COL_INT }
#define T(n)	{ n, STORE_COL_TEXT }

static const struct store_column meta_cols[] = { T("key"), T("value") };
static const struct store_column events_cols[] = {
	T("source"), T("id"), T("type"), T("subject"), T("origin"),
	I("received_ms"), I("case_id"), T("disposition")
};
static const struct store_column cases_cols[] = {
	I("id"), T("subject_key"), T("subject"), T("runbook"), T("event_type"),
	T("state"), I("urgent"), I("created_ms"), I("updated_ms"),
	I("effective_ms"), I("freeze_deadline_ms"), I("complete_deadline_ms"),
	I("frozen_ms"), I("completed_ms"), T("error"), T("reason"), T("retry"),
	T("cancel_by"), I("waits_for")
};
static const struct store_column case_keys_cols[] = { T("key"), I("case_id") };
static const struct store_column steps_cols[] = {
	I("case_id"), T("target"), I("seq"), T("step"), T("opts"), T("state"),
	I("attempts"), T("last_error"), T("detail"), I("started_ms"),
	I("finished_ms"), I("no_account")
};
static const struct store_column accounts_cols[] = {
	I("case_id"), T("target"), T("account")
};
static const struct store_column timeline_cols[] = {
	I("id"), I("case_id"), I("ts_ms"), T("kind"), T("target"), T("step"),
	T("detail")
};
static const struct store_column audit_cols[] = {
	I("seq"), I("ts_ms"), T("kind"), I("case_id"), T("actor"), T("target"),
	T("step"), T("detail"), T("prev_hash"), T("hash")
};

const struct store_table store_tables[] = {
	{ "meta", meta_cols, N(meta_cols), 1 },
	{ "cases", cases_cols, N(cases_cols), 1 },
	{ "events", events_cols, N(events_cols), 2 },
	{ "case_keys", case_keys_cols, N(case_keys_cols), 2 },
	{ "steps", steps_cols, N(steps_cols), 3 },
	{ "accounts", accounts_cols, N(accounts_cols), 2 },
	{ "timeline", timeline_cols, N(timeline_cols), 1 },
	{ "audit", audit_cols, N(audit_cols), 1 },
};
const size_t store_ntables = N(store_tables);

size_t
store_table_cols(const struct store_table *t, char *buf, size_t len)
{
	size_t	i, n = 0;

	if (len > 0)
		buf[0] = '\0';
	for (i = 0; i < t->ncols; i++)
		n += (size_t)snprintf(n < len ? buf + n : NULL, n < len ?
		    len - n : 0, "%s%s", i ? ", " : "", t->cols[i].name);
	return n;
}

size_t
store_table_upsert(const struct store_table *t, char *buf, size_t len)
{
	size_t	k, n;

	/* $n placeholders: PostgreSQL's, and SQLite takes them too. */
	n = (size_t)snprintf(buf, len, "INSERT INTO %s (", t->name);
	if (n < len)
		n += store_table_cols(t, buf + n, len - n);
	for (k = 0; k < t->ncols && n < len; k++)
		n += (size_t)snprintf(buf + n, len - n, "%s$%zu",
		    k ? ", " : ") VALUES (", k + 1);
	for (k = 0; k < t->nkey && n < len; k++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s",
		    k ? ", " : ") ON CONFLICT (", t->cols[k].name);
	if (t->nkey == t->ncols && n < len)
		n += (size_t)snprintf(buf + n, len - n, ") DO NOTHING");
	for (k = t->nkey; k < t->ncols && n < len; k++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s = excluded.%s",
		    k > t->nkey ? ", " : ") DO UPDATE SET ", t->cols[k].name,
		    t->cols[k].name);
	return n;
}
