/*
 * diag: collects "file:line: message" lines for configuration checking.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deprov/diag.h"

struct diags {
	char	**v;
	size_t	  n;
	size_t	  cap;
};

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
		free(d->v[i]);
	free(d->v);
	free(d);
}

void
diags_add(struct diags *d, const char *file, int line, const char *fmt, ...)
{
	char	 msg[1024], *s = NULL;
	va_list	 ap;
	char	**nv;
	int	 r;

	if (d == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		r = asprintf(&s, "%s:%d: %s", file, line, msg);
	else
		r = asprintf(&s, "%s: %s", file, msg);
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
	d->v[d->n++] = s;
}

size_t
diags_count(const struct diags *d)
{
	return d == NULL ? 0 : d->n;
}

const char *
diags_get(const struct diags *d, size_t i)
{
	return i < d->n ? d->v[i] : NULL;
}

void
diags_print(const struct diags *d, FILE *f)
{
	size_t i;

	for (i = 0; i < diags_count(d); i++)
		fprintf(f, "%s\n", d->v[i]);
}
