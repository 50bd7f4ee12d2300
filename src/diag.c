/*
 * diag: collects "file:line: message" lines for configuration checking,
 * errors and warnings in the order they were found, and suggests the name
 * a typo was meant to be.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deprov/diag.h"

#define DIAGS_SUGGEST_MAX	64	/* longer words get no suggestion */

struct diag {
	char	*text;
	int	 warning;
};

struct diags {
	struct diag	*v;
	size_t		 n;
	size_t		 cap;
	size_t		 nerrors;
};

static void	 diags_vadd(struct diags *, int, const char *, int, const char *,
		    va_list) __attribute__((format(printf, 5, 0)));
static const char *diags_nth(const struct diags *, int, size_t);
static size_t	 diags_distance(const char *, const char *);

struct diags *
diags_new(void)
{
	return calloc(1, sizeof(struct diags));
}

void
diags_free(struct diags *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		free(d->v[i].text);
	free(d->v);
	free(d);
}

static void
diags_vadd(struct diags *d, int warning, const char *file, int line,
    const char *fmt, va_list ap)
{
	char		 msg[1024], *s = NULL;
	const char	*level = warning ? "warning: " : "";
	struct diag	*nv;
	int		 r;

	if (d == NULL)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (line > 0)
		r = asprintf(&s, "%s:%d: %s%s", file, line, level, msg);
	else
		r = asprintf(&s, "%s: %s%s", file, level, msg);
	if (r < 0)
		return;
	if (d->n == d->cap) {
		nv = realloc(d->v, (d->cap ? d->cap * 2 : 8) * sizeof *nv);
		if (nv == NULL) {
			free(s);
			return;
		}
		d->v = nv;
		d->cap = d->cap ? d->cap * 2 : 8;
	}
	d->v[d->n].text = s;
	d->v[d->n].warning = warning;
	d->n++;
	if (!warning)
		d->nerrors++;
}

void
diags_add(struct diags *d, const char *file, int line, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	diags_vadd(d, 0, file, line, fmt, ap);
	va_end(ap);
}

void
diags_warn(struct diags *d, const char *file, int line, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	diags_vadd(d, 1, file, line, fmt, ap);
	va_end(ap);
}

size_t
diags_count(const struct diags *d)
{
	return d == NULL ? 0 : d->nerrors;
}

size_t
diags_warnings(const struct diags *d)
{
	return d == NULL ? 0 : d->n - d->nerrors;
}

/* The i-th diagnostic of one level, or NULL. */
static const char *
diags_nth(const struct diags *d, int warning, size_t i)
{
	size_t j;

	if (d == NULL)
		return NULL;
	for (j = 0; j < d->n; j++) {
		if (d->v[j].warning != warning)
			continue;
		if (i-- == 0)
			return d->v[j].text;
	}
	return NULL;
}

const char *
diags_get(const struct diags *d, size_t i)
{
	return diags_nth(d, 0, i);
}

const char *
diags_get_warning(const struct diags *d, size_t i)
{
	return diags_nth(d, 1, i);
}

void
diags_print(const struct diags *d, FILE *f)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		fprintf(f, "%s\n", d->v[i].text);
}

/*
 * Optimal string alignment distance (Levenshtein plus swapping two
 * neighbours, "patch_stlye"), ignoring case; both at most
 * DIAGS_SUGGEST_MAX bytes.
 */
static size_t
diags_distance(const char *a, const char *b)
{
	size_t	 d[DIAGS_SUGGEST_MAX + 1][DIAGS_SUGGEST_MAX + 1];
	size_t	 la = strlen(a), lb = strlen(b), i, j, cost, best;

	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			cost = tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 1]) ? 0 : 1;
			best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 &&
			    tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) ==
			    tolower((unsigned char)b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

const char *
diags_suggest(const char *word, const char *const *candidates)
{
	const char	*best = NULL;
	size_t		 i, dist, limit, bestdist = (size_t)-1, len;

	if (word == NULL || candidates == NULL ||
	    (len = strlen(word)) == 0 || len > DIAGS_SUGGEST_MAX)
		return NULL;
	for (i = 0; candidates[i] != NULL; i++) {
		if (strlen(candidates[i]) > DIAGS_SUGGEST_MAX)
			continue;
		dist = diags_distance(word, candidates[i]);
		limit = strlen(candidates[i]) / 3;
		if (limit < 1)
			limit = 1;
		if (limit > 3)
			limit = 3;
		if (dist <= limit && dist < bestdist) {
			best = candidates[i];
			bestdist = dist;
		}
	}
	return best;
}
