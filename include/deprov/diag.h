/*
 * diag: a list of "file:line: message" diagnostics collected while checking
 * configuration and runbooks, so --check can report every problem at once.
 */
#ifndef DEPROV_DIAG_H
#define DEPROV_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct diags;

struct diags	*diags_new(void);
void		 diags_free(struct diags *);
/* Add one diagnostic; line <= 0 prints "file: message". */
void		 diags_add(struct diags *, const char *file, int line,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
size_t		 diags_count(const struct diags *);
const char	*diags_get(const struct diags *, size_t i);
/* Print every diagnostic, one per line. */
void		 diags_print(const struct diags *, FILE *);

#endif
