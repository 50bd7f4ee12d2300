/*
 * diag: a list of "file:line: message" diagnostics collected while checking
 * configuration and runbooks, so --check can report every problem at once.
 * A diagnostic is an error (the configuration or runbook is refused) or a
 * warning ("file:line: warning: message": reported, but nothing is refused).
 */
#ifndef DEPROV_DIAG_H
#define DEPROV_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct diags;

struct diags	*diags_new(void);
void		 diags_free(struct diags *);
/* Add one error; line <= 0 prints "file: message". */
void		 diags_add(struct diags *, const char *file, int line,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Add one warning: "file:line: warning: message". */
void		 diags_warn(struct diags *, const char *file, int line,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Errors only: a load with warnings alone has no problems. */
size_t		 diags_count(const struct diags *);
/* The i-th error (0 .. diags_count - 1), or NULL. */
const char	*diags_get(const struct diags *, size_t i);
size_t		 diags_warnings(const struct diags *);
/* The i-th warning (0 .. diags_warnings - 1), or NULL. */
const char	*diags_get_warning(const struct diags *, size_t i);
/* Print every diagnostic, errors and warnings, one per line, in order. */
void		 diags_print(const struct diags *, FILE *);

/*
 * The candidate (from the NULL-terminated list) closest to word, for a
 * "did you mean" after a typo: within an edit distance of about a third of
 * its length (at least 1, at most 3; case differences are free), or NULL
 * when none is that close.
 */
const char	*diags_suggest(const char *word, const char *const *candidates);

#endif
