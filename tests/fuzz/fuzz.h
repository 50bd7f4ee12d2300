/*
 * fuzz: what the libFuzzer harnesses in tests/fuzz/ share. A harness gets
 * bytes; most functions under test take C strings, several take more than
 * one argument, and several harnesses drive more than one function. So an
 * input is read as: an optional selector byte (fuzz_op), then lines
 * (fuzz_line) and a rest. Harnesses check what each function promises and
 * call fuzz_fail when a promise is broken, so that a wrong answer is a
 * finding just like a crash.
 */
#ifndef DEPROV_FUZZ_H
#define DEPROV_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The entry points libFuzzer calls. */
int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A cursor over one input. */
struct fuzz_in {
	const uint8_t	*p;
	size_t		 n;
};

/*
 * The first byte chooses one of nops operations: 'a' is the first, 'b' the
 * second and so on (the seed corpora are written that way); any other byte
 * counts modulo nops. -1 on an empty input.
 */
int	 fuzz_op(struct fuzz_in *, int nops);
/*
 * The next line (up to '\n', which is dropped) as a malloc'd C string; the
 * whole rest when there is no newline. Its length (which counts any NUL
 * inside) goes to *lenp when lenp is not NULL. Never NULL (aborts on no
 * memory).
 */
char	*fuzz_line(struct fuzz_in *, size_t *lenp);
/* The rest as a malloc'd C string (a NUL inside ends it early for C code). */
char	*fuzz_rest(struct fuzz_in *);
/* A malloc'd, NUL-terminated copy of p[0..n). */
char	*fuzz_str(const void *p, size_t n);

/* Report a broken promise with the input's function and abort. */
void	 fuzz_fail(const char *what, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
#define FUZZ_CHECK(cond, ...) do {					\
	if (!(cond))							\
		fuzz_fail(#cond, __VA_ARGS__);				\
} while (0)

/* Send deprov's log lines nowhere (links log.c). */
void	 fuzz_quiet(void);

#endif
