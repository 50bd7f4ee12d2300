/*
 * test_diag: the diagnostics list (errors and warnings kept in the order
 * they were found, counted apart: a load with warnings alone has no
 * problems) and the "did you mean" suggestion for a typo.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deprov/diag.h"

static void
test_levels(void **state)
{
	struct diags	*d = diags_new();
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*f;

	(void)state;
	assert_non_null(d);
	diags_warn(d, "rb.json", 7, "step %s is skipped", "revoke_tokens");
	assert_int_equal(diags_count(d), 0);
	assert_int_equal(diags_warnings(d), 1);
	diags_add(d, "cfg.json", 3, "unknown key \"%s\"", "x");
	diags_add(d, "cfg.json", 0, "no runbooks");
	diags_warn(d, "rb.json", 0, "w2");
	assert_int_equal(diags_count(d), 2);
	assert_int_equal(diags_warnings(d), 2);
	assert_string_equal(diags_get(d, 0), "cfg.json:3: unknown key \"x\"");
	assert_string_equal(diags_get(d, 1), "cfg.json: no runbooks");
	assert_null(diags_get(d, 2));
	assert_string_equal(diags_get_warning(d, 0),
	    "rb.json:7: warning: step revoke_tokens is skipped");
	assert_string_equal(diags_get_warning(d, 1), "rb.json: warning: w2");
	assert_null(diags_get_warning(d, 2));

	/* Printed as found, errors and warnings together. */
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	diags_print(d, f);
	fclose(f);
	assert_string_equal(buf, "rb.json:7: warning: step revoke_tokens is "
	    "skipped\ncfg.json:3: unknown key \"x\"\ncfg.json: no runbooks\n"
	    "rb.json: warning: w2\n");
	free(buf);
	diags_free(d);

	/* NULL lists are empty. */
	assert_int_equal(diags_count(NULL), 0);
	assert_int_equal(diags_warnings(NULL), 0);
	assert_null(diags_get(NULL, 0));
}

static void
test_suggest(void **state)
{
	static const char *const keys[] = { "preset", "patch_style", "etag",
	    "delete_deactivates", "resolve_by", NULL };
	static const char *const google[] = { "drive_application_id",
	    "transfer_poll_ms", "transfer_timeout_s", "privacy_levels", NULL };
	static const char *const apps[] = { "Drive", NULL };
	static const char *const presets[] = { "slack", "github", "zoom",
	    NULL };

	(void)state;
	/* Swapped neighbours, a missing, an extra or a wrong letter. */
	assert_string_equal(diags_suggest("patch_stlye", keys), "patch_style");
	assert_string_equal(diags_suggest("pach_style", keys), "patch_style");
	assert_string_equal(diags_suggest("etags", keys), "etag");
	assert_string_equal(diags_suggest("resolve-by", keys), "resolve_by");
	assert_string_equal(diags_suggest("transfer_poll_msec", google),
	    "transfer_poll_ms");
	assert_string_equal(diags_suggest("Drvie", apps), "Drive");
	assert_string_equal(diags_suggest("drive", apps), "Drive");
	assert_string_equal(diags_suggest("slak", presets), "slack");
	assert_string_equal(diags_suggest("gihtub", presets), "github");
	/* Too far from everything: no guess. */
	assert_null(diags_suggest("okta", presets));
	assert_null(diags_suggest("colour", keys));
	assert_null(diags_suggest("x", keys));
	assert_null(diags_suggest("Account", apps));
	assert_null(diags_suggest("", keys));
	assert_null(diags_suggest(NULL, keys));
	assert_null(diags_suggest("preset", NULL));
	/* Longer than anything we compare: no guess, no overflow. */
	assert_null(diags_suggest("preset_preset_preset_preset_preset_preset_"
	    "preset_preset_preset_", keys));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_suggest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
