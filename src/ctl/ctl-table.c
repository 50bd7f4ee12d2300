/*
 * ctl-table: deprovctl's text output. Aligned tables (columns as wide as
 * their widest cell, counted in UTF-8 code points) and the formatters for
 * their cells: times as RFC 3339 UTC, durations, notes cut short. Every
 * cell is cleaned of control characters first: the data comes from the API
 * and, before that, from targets and HR systems, and must not drive the
 * terminal.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

#define CTL_TABLE_MAX_COLS	32

/* Display width: UTF-8 code points. */
static size_t
ctl_table_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

char *
ctl_table_clean(const char *s)
{
	char	*out, *p;

	if ((out = strdup(s != NULL ? s : "")) == NULL)
		return NULL;
	for (p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = *p == '\n' || *p == '\t' || *p == '\r' ? ' ' : '?';
	return out;
}

void
ctl_table_init(struct ctl_table *t, size_t ncols)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
}

int
ctl_table_row(struct ctl_table *t, const char *const *cells)
{
	char	**n;
	size_t	  i;

	if ((t->nrows + 1) * t->ncols > t->cap) {
		size_t cap = t->cap == 0 ? t->ncols * 16 : t->cap * 2;

		if ((n = realloc(t->cells, cap * sizeof *n)) == NULL)
			return -1;
		t->cells = n;
		t->cap = cap;
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = ctl_table_clean(
		    cells[i] != NULL && *cells[i] != '\0' ? cells[i] : "-");
	t->nrows++;
	return 0;
}

void
ctl_table_print(const struct ctl_table *t, FILE *f)
{
	size_t		 w[CTL_TABLE_MAX_COLS], i, r;
	const char	*c;

	for (i = 0; i < t->ncols && i < CTL_TABLE_MAX_COLS; i++) {
		w[i] = 0;
		for (r = 0; r < t->nrows; r++) {
			c = t->cells[r * t->ncols + i];
			if (c != NULL && ctl_table_width(c) > w[i])
				w[i] = ctl_table_width(c);
		}
	}
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols && i < CTL_TABLE_MAX_COLS; i++) {
			c = t->cells[r * t->ncols + i];
			if (c == NULL)
				c = "?";
			if (i + 1 == t->ncols)
				fprintf(f, "%s\n", c);
			else
				fprintf(f, "%s%*s  ", c,
				    (int)(w[i] - ctl_table_width(c)), "");
		}
	}
}

void
ctl_table_free(struct ctl_table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof *t);
}

const char *
ctl_table_time(int64_t ms, char *buf, size_t len)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		return "-";
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

const char *
ctl_table_duration(int64_t ms, char *buf, size_t len)
{
	int64_t s;

	if (ms < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	s = ms / 1000;
	if (ms < 1000)
		snprintf(buf, len, "%" PRId64 "ms", ms);
	else if (ms < 60000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600,
		    (s % 3600) / 60);
	else
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400,
		    (s % 86400) / 3600);
	return buf;
}

const char *
ctl_table_short(const char *s, size_t n, char *buf, size_t len)
{
	size_t i, chars = 0;

	if (s == NULL)
		return NULL;
	for (i = 0; s[i] != '\0' && i + 4 < len; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && ++chars > n)
			break;
		buf[i] = s[i];
	}
	buf[i] = '\0';
	if (s[i] != '\0') {
		while (i > 0 && ((unsigned char)buf[i] & 0xc0) == 0x80)
			buf[--i] = '\0';
		snprintf(buf + i, len - i, "...");
	}
	return buf;
}

void
ctl_table_kv(const char *key, const char *value)
{
	char *c = ctl_table_clean(value != NULL && *value != '\0' ? value : "-");

	printf("%-12s %s\n", key, c != NULL ? c : "");
	free(c);
}
