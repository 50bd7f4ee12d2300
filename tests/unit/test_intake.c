/*
 * Unit tests for the engine's intake rules: one person, one case (signals
 * about a person with a case join it, whichever identifier they carry),
 * rescinds (cancel a scheduled case; stop a frozen one and unfreeze exactly
 * what it froze; escalate after deactivation), and unfreeze cancelling an
 * open emergency freeze.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "engine_fixture.h"

/* Submit an event with the given identifiers; returns the intake result. */
static int
submit_ev(struct fixture *fx, const char *id, const char *source,
    const char *type, const char *emp, const char *email, time_t effective,
    long long *cid)
{
	struct event	ev;
	char		err[256];

	memset(&ev, 0, sizeof ev);
	ev.id = (char *)id;
	ev.source = (char *)source;
	ev.type = (char *)type;
	ev.subject_key = (char *)(emp != NULL ? emp : email);
	ev.subject.employee_id = (char *)emp;
	ev.subject.email = (char *)email;
	ev.effective = effective;
	return engine_submit(fx->eng, &ev, "test", cid, err, sizeof err);
}

static int
count_calls(const char *suffix)
{
	int i, n = 0;

	for (i = 0; i < ncalls; i++) {
		size_t a = strlen(calls[i]), b = strlen(suffix);

		if (a >= b && strcmp(calls[i] + a - b, suffix) == 0)
			n++;
	}
	return n;
}

static void
test_same_person_one_case(void **state)
{
	struct fixture	*fx = *state;
	long long	 a, b, c;

	fx->cfg.engine.max_running_steps = 8;
	assert_int_equal(submit_ev(fx, "hr-1", "/hr", EVENT_TYPE_LEAVER, "E1",
	    "jane@acme.example", 0, &a), ENGINE_NEW_CASE);
	/* The IdP's deactivation: only the login, in another case. */
	assert_int_equal(submit_ev(fx, "okta-1", "/idp/okta", EVENT_TYPE_LEAVER,
	    NULL, "Jane@ACME.example", 0, &b), ENGINE_ATTACHED);
	assert_int_equal(b, a);
	run_until_idle(fx, 3000);
	assert_string_equal(case_state(fx, a).state, "completed");
	assert_int_equal(ncalls, 6);	/* one run: 2 targets x 3 steps */
	/* A redelivery of an event already taken does nothing. */
	assert_int_equal(submit_ev(fx, "hr-1", "/hr", EVENT_TYPE_LEAVER, "E1",
	    "jane@acme.example", 0, &c), ENGINE_DUPLICATE);
	/*
	 * A new leaver signal after the case has ended is news (access may
	 * have come back since, a rehire may have left again): a new case.
	 */
	assert_int_equal(submit_ev(fx, "hr-2", "/hr/other", EVENT_TYPE_LEAVER,
	    "E1", NULL, 0, &c), ENGINE_NEW_CASE);
	assert_true(c != a);
	run_until_idle(fx, 3000);
	assert_string_equal(case_state(fx, c).state, "completed");
	assert_int_equal(ncalls, 12);
	/* Someone else is someone else. */
	assert_int_equal(submit_ev(fx, "hr-3", "/hr", EVENT_TYPE_LEAVER, "E2",
	    "john@acme.example", 0, &c), ENGINE_NEW_CASE);
	assert_true(c != a);
	run_until_idle(fx, 3000);
}

static void
test_rescind_scheduled(void **state)
{
	struct fixture	*fx = *state;
	long long	 a, b;

	assert_int_equal(submit_ev(fx, "hr-1", "/hr", EVENT_TYPE_LEAVER, "E1",
	    NULL, time(NULL) + 60, &a), ENGINE_NEW_CASE);
	run_until_idle(fx, 100);
	assert_string_equal(case_state(fx, a).state, "scheduled");
	assert_int_equal(submit_ev(fx, "hr-2", "/hr", EVENT_TYPE_RESCINDED,
	    "E1", NULL, 0, &b), ENGINE_ATTACHED);
	assert_int_equal(b, a);
	run_until_idle(fx, 500);
	assert_string_equal(case_state(fx, a).state, "cancelled");
	assert_int_equal(ncalls, 0);
	/* A rescind with nothing to rescind is recorded, not an error. */
	assert_int_equal(submit_ev(fx, "hr-3", "/hr", EVENT_TYPE_RESCINDED,
	    "E7", NULL, 0, &b), ENGINE_NO_CASE);
	/* After a rescind, a new termination is a new case. */
	assert_int_equal(submit_ev(fx, "hr-4", "/hr", EVENT_TYPE_LEAVER, "E1",
	    NULL, time(NULL) + 60, &b), ENGINE_NEW_CASE);
	assert_true(b != a);
}

static void
test_rescind_unfreezes_what_was_frozen(void **state)
{
	struct fixture	*fx = *state;
	long long	 a, r;
	char		 k[64];

	fx->cfg.engine.max_running_steps = 8;
	snprintf(fail_step, sizeof fail_step, "beta:freeze");
	assert_int_equal(submit_ev(fx, "hr-1", "/hr", EVENT_TYPE_LEAVER, "E1",
	    NULL, 0, &a), ENGINE_NEW_CASE);
	/* beta's freeze failed: not contained, escalated at once; alpha goes on. */
	while (strcmp(case_state(fx, a).state, "escalated") != 0)
		event_base_loop(fx->base, EVLOOP_ONCE);
	assert_int_equal(submit_ev(fx, "hr-2", "/hr", EVENT_TYPE_RESCINDED,
	    "E1", NULL, 0, &r), ENGINE_NEW_CASE);
	assert_true(r != a);
	run_until_idle(fx, 3000);
	assert_string_equal(case_state(fx, a).state, "cancelled");
	assert_string_equal(case_state(fx, r).state, "completed");
	snprintf(k, sizeof k, "%lld:alpha:unfreeze", r);
	assert_true(call_index(k) >= 0);
	snprintf(k, sizeof k, "%lld:beta:unfreeze", r);
	assert_int_equal(call_index(k), -1);	/* beta was never frozen */
	assert_int_equal(count_calls(":deactivate"), 0);
	/* The unfreeze came after everything the leaver case did. */
	snprintf(k, sizeof k, "%lld:alpha:unfreeze", r);
	assert_int_equal(call_index(k), ncalls - 1);
}

static void
test_rescind_after_deactivation_escalates(void **state)
{
	struct fixture	*fx = *state;
	long long	 a, r;
	struct state_of	 s;

	fx->cfg.engine.max_running_steps = 8;
	assert_int_equal(submit_ev(fx, "hr-1", "/hr", EVENT_TYPE_LEAVER, "E1",
	    NULL, 0, &a), ENGINE_NEW_CASE);
	run_until_idle(fx, 3000);
	assert_string_equal(case_state(fx, a).state, "completed");
	assert_int_equal(submit_ev(fx, "hr-2", "/hr", EVENT_TYPE_RESCINDED,
	    "E1", NULL, 0, &r), ENGINE_NEW_CASE);
	run_until_idle(fx, 500);
	s = case_state(fx, r);
	assert_string_equal(s.state, "escalated");
	assert_non_null(strstr(s.error, "reactivate by hand"));
	assert_int_equal(count_calls(":unfreeze"), 0);	/* never automatic */
}

static void
test_unfreeze_cancels_open_freeze(void **state)
{
	struct fixture	*fx = *state;
	long long	 f, u;

	assert_int_equal(submit_ev(fx, "api-1", "/api/soc", EVENT_TYPE_FREEZE,
	    "E1", NULL, time(NULL) + 60, &f), ENGINE_NEW_CASE);
	run_until_idle(fx, 100);
	/* A second freeze for the same person joins the open one. */
	assert_int_equal(submit_ev(fx, "api-2", "/api/soc", EVENT_TYPE_FREEZE,
	    "E1", NULL, 0, &u), ENGINE_ATTACHED);
	assert_int_equal(u, f);
	/* No unfreeze runbook here: recorded, but the freeze is still stopped. */
	assert_int_equal(submit_ev(fx, "api-3", "/api/soc", EVENT_TYPE_UNFREEZE,
	    "E1", NULL, 0, &u), ENGINE_NO_RUNBOOK);
	run_until_idle(fx, 500);
	assert_string_equal(case_state(fx, f).state, "cancelled");
	assert_int_equal(ncalls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_person_one_case, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rescind_scheduled, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_rescind_unfreezes_what_was_frozen, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_rescind_after_deactivation_escalates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unfreeze_cancels_open_freeze,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
