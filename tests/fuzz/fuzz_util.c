/*
 * fuzz_util: input splitting and failure reports for the harnesses (see
 * fuzz.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int
fuzz_op(struct fuzz_in *in, int nops)
{
	uint8_t	c;

	if (in->n == 0 || nops <= 0)
		return -1;
	c = in->p[0];
	in->p++;
	in->n--;
	if (c >= 'a' && c < 'a' + nops)
		return c - 'a';
	return c % nops;
}

char *
fuzz_str(const void *p, size_t n)
{
	char	*s;

	if ((s = malloc(n + 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

char *
fuzz_line(struct fuzz_in *in, size_t *lenp)
{
	const uint8_t	*nl;
	char		*s;
	size_t		 len;

	nl = in->n > 0 ? memchr(in->p, '\n', in->n) : NULL;
	len = nl != NULL ? (size_t)(nl - in->p) : in->n;
	s = fuzz_str(in->p, len);
	if (lenp != NULL)
		*lenp = len;
	in->p += len;
	in->n -= len;
	if (nl != NULL) {
		in->p++;
		in->n--;
	}
	return s;
}

char *
fuzz_rest(struct fuzz_in *in)
{
	char	*s = fuzz_str(in->p, in->n);

	in->p += in->n;
	in->n = 0;
	return s;
}

void
fuzz_fail(const char *what, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "fuzz: broken promise (%s): ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
