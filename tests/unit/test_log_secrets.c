/*
 * Unit tests for log: the registry of secret values and redaction (each
 * form a value can take in a target's answer), and a logged line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "deprov/log.h"

#define SECRET	"s3cr3t/T0ken+with=chars\"and\\more"

static int
clear(void **state)
{
	(void)state;
	log_secret_clear();
	return 0;
}

/* 1 when no byte of the secret's text survives in s (as checked by caller). */
static void
expect_masked(const char *text, const char *secret_form)
{
	char *s = strdup(text);

	assert_non_null(s);
	log_redact_secrets(s);
	if (strstr(s, secret_form) != NULL)
		fail_msg("\"%s\" still holds \"%s\"", s, secret_form);
	free(s);
}

/* base64 (standard, or URL alphabet without padding) of len bytes. */
static char *
b64(const char *in, size_t len, int url)
{
	char	*out = calloc(1, len * 2 + 8);
	size_t	 i;

	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in,
	    (int)len);
	if (url) {
		for (i = 0; out[i] != '\0'; i++)
			out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' :
			    out[i];
		while (i > 0 && out[i - 1] == '=')
			out[--i] = '\0';
	}
	return out;
}

static void
test_forms(void **state)
{
	char	 text[512], inner[128], *e;
	int	 pre, url;

	(void)state;
	assert_int_equal(log_secret_add(SECRET), 0);
	snprintf(text, sizeof text, "HTTP 400: credential %s is not valid",
	    SECRET);
	expect_masked(text, SECRET);
	expect_masked(text, "T0ken+with");
	/* As json-c writes it into an answer body, with and without "\/". */
	expect_masked("{\"detail\":\"credential s3cr3t\\/T0ken+with=chars"
	    "\\\"and\\\\more is not valid\"}", "T0ken");
	expect_masked("{\"detail\":\"credential s3cr3t/T0ken+with=chars"
	    "\\\"and\\\\more is not valid\"}", "T0ken");
	/* URL-encoded (a form body echoed back), either case of hex digits. */
	expect_masked("client_secret=s3cr3t%2FT0ken%2Bwith%3Dchars%22and%5Cmore"
	    "&grant_type=x", "T0ken");
	expect_masked("client_secret=s3cr3t%2fT0ken%2bwith%3dchars%22and%5cmore"
	    "&grant_type=x", "T0ken");
	/* base64, alone and inside a longer encoding at every alignment. */
	for (url = 0; url < 2; url++) {
		for (pre = 0; pre < 3; pre++) {
			snprintf(inner, sizeof inner, "%.*s%s:x", pre, "ab",
			    SECRET);
			e = b64(inner, strlen(inner), url);
			snprintf(text, sizeof text, "Authorization: Basic %s "
			    "rejected", e);
			expect_masked(text, e + 8);
			free(e);
		}
	}
	/* The mask keeps the length and the rest of the text. */
	snprintf(text, sizeof text, "a %s b", SECRET);
	assert_int_equal(log_redact_secrets(text), 1);
	assert_int_equal(strlen(text), 4 + strlen(SECRET));
	assert_int_equal(strncmp(text, "a **", 4), 0);
	assert_string_equal(text + strlen(text) - 2, " b");
}

static void
test_registry(void **state)
{
	char text[128];

	(void)state;
	/* Too short to be told from ordinary words: not registered. */
	assert_int_equal(log_secret_add("short"), 0);
	assert_int_equal(log_secret_count(), 0);
	/* Counted: added twice, it takes two removals. */
	assert_int_equal(log_secret_add("config-token-1234"), 0);
	assert_int_equal(log_secret_add("config-token-1234"), 0);
	assert_int_equal(log_secret_count(), 1);
	log_secret_remove("config-token-1234");
	snprintf(text, sizeof text, "x config-token-1234 y");
	assert_int_equal(log_redact_secrets(text), 1);
	log_secret_remove("config-token-1234");
	assert_int_equal(log_secret_count(), 0);
	snprintf(text, sizeof text, "x config-token-1234 y");
	assert_int_equal(log_redact_secrets(text), 0);
	/* A fetched token is kept for its time, then forgotten. */
	assert_int_equal(log_secret_add_for("runtime-access-token-1", 3600), 0);
	assert_int_equal(log_secret_add_for("runtime-access-token-2", 0), 0);
	assert_int_equal(log_secret_count(), 2);
	assert_int_equal(log_secret_add("another-config-secret"), 0);
	assert_int_equal(log_secret_count(), 2);	/* token 2 expired */
	snprintf(text, sizeof text, "runtime-access-token-1");
	assert_int_equal(log_redact_secrets(text), 1);
	/* Several in one text; overlapping registrations, longest first. */
	assert_int_equal(log_secret_add("another-config-secret-longer"), 0);
	snprintf(text, sizeof text, "another-config-secret-longer and "
	    "runtime-access-token-1");
	assert_int_equal(log_redact_secrets(text), 2);
	assert_null(strchr(text, 'l'));
}

/* A PEM key: the whole text, and any line of its body on its own. */
static void
test_pem(void **state)
{
	char text[256];

	(void)state;
	assert_int_equal(log_secret_add("-----BEGIN PRIVATE KEY-----\n"
	    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
	    "VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDu\n"
	    "-----END PRIVATE KEY-----\n"), 0);
	snprintf(text, sizeof text, "{\"error\":\"bad key line VJTUt9Us8cKjMzEf"
	    "Yyjia\"} VJTUt9Us8cKjMzEfYyjiWA4R4\\/M2bS1GB4t7NXp98C3SC6dVMvDu");
	log_redact_secrets(text);
	assert_null(strstr(text, "M2bS1GB4"));
	/* A line too short to be one of the key's is left alone. */
	assert_non_null(strstr(text, "VJTUt9Us8cKjMzEfYyjia"));
}

/*
 * log_redact: values before keywords, so a secret the keyword mask would
 * only partly cover (it stops at a comma) is masked whole.
 */
static void
test_values_before_keywords(void **state)
{
	char	 text[128];
	FILE	*f;
	char	 line[1024];

	(void)state;
	assert_int_equal(log_secret_add("part1,part2-secret"), 0);
	snprintf(text, sizeof text, "token=part1,part2-secret&x=1");
	log_redact(text);
	assert_null(strstr(text, "part2"));
	/* A logged line never holds it. */
	assert_non_null(f = tmpfile());
	log_set_stream(f);
	log_error("test", "target said: credential %s is not valid",
	    "part1,part2-secret");
	log_set_stream(NULL);
	rewind(f);
	assert_non_null(fgets(line, sizeof line, f));
	fclose(f);
	assert_null(strstr(line, "part2"));
	assert_non_null(strstr(line, "credential"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forms, clear, clear),
		cmocka_unit_test_setup_teardown(test_registry, clear, clear),
		cmocka_unit_test_setup_teardown(test_pem, clear, clear),
		cmocka_unit_test_setup_teardown(test_values_before_keywords,
		    clear, clear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
