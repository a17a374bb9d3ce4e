/* The process state machine without fork: the transition table, the
 * backoff arithmetic, the restart policy, the names. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "process.h"

static const enum process_state test_process_states[] = {
	PROCESS_STOPPED, PROCESS_STARTING, PROCESS_RUNNING, PROCESS_BACKOFF,
	PROCESS_STOPPING, PROCESS_EXITED, PROCESS_FATAL, PROCESS_UNKNOWN
};
#define TEST_NSTATES \
	(sizeof(test_process_states) / sizeof(test_process_states[0]))

static enum process_state
test_process_next(enum process_state from, enum process_event ev)
{
	enum process_state to;

	assert_true(process_next_state(from, ev, &to));
	return to;
}

static void
test_process_not(enum process_state from, enum process_event ev)
{
	enum process_state to = PROCESS_UNKNOWN;

	assert_false(process_next_state(from, ev, &to));
}

/* SPEC.md section 4, one transition at a time. */
static void
test_process_transitions(void **state)
{
	(void)state;
	/* A start goes STARTING from every state without a pid. */
	assert_int_equal(test_process_next(PROCESS_STOPPED, PROCESS_EV_START),
	    PROCESS_STARTING);
	assert_int_equal(test_process_next(PROCESS_EXITED, PROCESS_EV_START),
	    PROCESS_STARTING);
	assert_int_equal(test_process_next(PROCESS_FATAL, PROCESS_EV_START),
	    PROCESS_STARTING);
	assert_int_equal(test_process_next(PROCESS_BACKOFF, PROCESS_EV_START),
	    PROCESS_STARTING);
	test_process_not(PROCESS_STARTING, PROCESS_EV_START);
	test_process_not(PROCESS_RUNNING, PROCESS_EV_START);
	test_process_not(PROCESS_STOPPING, PROCESS_EV_START);

	/* STARTING: up after startsecs, BACKOFF on any exit or spawn
	 * error, STOPPING on stop. */
	assert_int_equal(test_process_next(PROCESS_STARTING, PROCESS_EV_UP),
	    PROCESS_RUNNING);
	assert_int_equal(test_process_next(PROCESS_STARTING, PROCESS_EV_EXIT),
	    PROCESS_BACKOFF);
	assert_int_equal(test_process_next(PROCESS_STARTING,
	    PROCESS_EV_SPAWN_FAIL), PROCESS_BACKOFF);
	assert_int_equal(test_process_next(PROCESS_STARTING, PROCESS_EV_STOP),
	    PROCESS_STOPPING);

	/* RUNNING: EXITED on exit, STOPPING on stop. */
	assert_int_equal(test_process_next(PROCESS_RUNNING, PROCESS_EV_EXIT),
	    PROCESS_EXITED);
	assert_int_equal(test_process_next(PROCESS_RUNNING, PROCESS_EV_STOP),
	    PROCESS_STOPPING);
	test_process_not(PROCESS_RUNNING, PROCESS_EV_UP);

	/* BACKOFF: stop goes straight to STOPPED; giving up is FATAL. */
	assert_int_equal(test_process_next(PROCESS_BACKOFF, PROCESS_EV_STOP),
	    PROCESS_STOPPED);
	assert_int_equal(test_process_next(PROCESS_BACKOFF,
	    PROCESS_EV_GIVE_UP), PROCESS_FATAL);
	test_process_not(PROCESS_BACKOFF, PROCESS_EV_EXIT);

	/* STOPPING ends in STOPPED when the child is reaped. */
	assert_int_equal(test_process_next(PROCESS_STOPPING, PROCESS_EV_EXIT),
	    PROCESS_STOPPED);
	test_process_not(PROCESS_STOPPING, PROCESS_EV_STOP);

	/* Nothing stops what is not running. */
	test_process_not(PROCESS_STOPPED, PROCESS_EV_STOP);
	test_process_not(PROCESS_EXITED, PROCESS_EV_STOP);
	test_process_not(PROCESS_FATAL, PROCESS_EV_STOP);
	/* Only BACKOFF gives up. */
	test_process_not(PROCESS_STARTING, PROCESS_EV_GIVE_UP);
	test_process_not(PROCESS_RUNNING, PROCESS_EV_GIVE_UP);
}

/* No transition leads anywhere but a real state, and out-of-range
 * events are refused. */
static void
test_process_table_total(void **state)
{
	enum process_state to;
	size_t i;
	int ev, j;
	bool known;

	(void)state;
	for (i = 0; i < TEST_NSTATES; i++) {
		for (ev = 0; ev < PROCESS_EV_COUNT; ev++) {
			if (!process_next_state(test_process_states[i],
			    (enum process_event)ev, &to))
				continue;
			known = false;
			for (j = 0; j < (int)TEST_NSTATES; j++)
				if (test_process_states[j] == to)
					known = true;
			assert_true(known);
			assert_int_not_equal(to, test_process_states[i]);
		}
		assert_false(process_next_state(test_process_states[i],
		    PROCESS_EV_COUNT, &to));
		assert_false(process_next_state(test_process_states[i],
		    (enum process_event)-1, &to));
	}
}

/* A program that dies at once, startretries=3: 4 attempts, then FATAL,
 * with 1+2+3 seconds of waiting in between (SUPERVISORD.md). */
static void
test_process_retry_series(void **state)
{
	enum process_state s = PROCESS_STOPPED;
	long failures = 0, attempts = 0;
	unsigned int waited = 0;

	(void)state;
	for (;;) {
		s = test_process_next(s, PROCESS_EV_START);
		attempts++;
		s = test_process_next(s, PROCESS_EV_EXIT);
		assert_int_equal(s, PROCESS_BACKOFF);
		failures++;
		if (process_gives_up(failures, 3)) {
			s = test_process_next(s, PROCESS_EV_GIVE_UP);
			break;
		}
		waited += process_backoff_delay(failures);
	}
	assert_int_equal(s, PROCESS_FATAL);
	assert_int_equal(attempts, 4);
	assert_int_equal(waited, 6);

	/* startretries=0: one attempt. */
	assert_true(process_gives_up(1, 0));
	assert_false(process_gives_up(0, 0));
	assert_false(process_gives_up(3, 3));
	assert_true(process_gives_up(4, 3));
	/* A negative startretries behaves as 0. */
	assert_true(process_gives_up(1, -5));
}

static void
test_process_backoff_delay(void **state)
{
	unsigned int prev = 0, d;
	long n;

	(void)state;
	assert_int_equal(process_backoff_delay(1), 1);
	assert_int_equal(process_backoff_delay(2), 2);
	assert_int_equal(process_backoff_delay(3), 3);
	assert_int_equal(process_backoff_delay(0), 1);
	assert_int_equal(process_backoff_delay(-7), 1);
	for (n = 0; n <= 1000000; n++) {
		d = process_backoff_delay(n);
		assert_true(d >= prev);
		assert_true(d >= 1);
		assert_true(d <= PROCESS_BACKOFF_MAX);
		prev = d;
	}
	assert_int_equal(process_backoff_delay(1000000), PROCESS_BACKOFF_MAX);
	assert_int_equal(process_backoff_delay(LONG_MAX), PROCESS_BACKOFF_MAX);
}

static void
test_process_restart_policy(void **state)
{
	(void)state;
	assert_true(process_should_restart(AUTORESTART_TRUE, true));
	assert_true(process_should_restart(AUTORESTART_TRUE, false));
	assert_false(process_should_restart(AUTORESTART_FALSE, true));
	assert_false(process_should_restart(AUTORESTART_FALSE, false));
	assert_false(process_should_restart(AUTORESTART_UNEXPECTED, true));
	assert_true(process_should_restart(AUTORESTART_UNEXPECTED, false));
}

static void
test_process_expected(void **state)
{
	struct proc_conf c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.exitcodes[0] = 1 | (1 << 2);	/* 0 and 2 */
	c.exitcodes[255 / 8] |= 1 << (255 % 8);
	assert_true(process_exit_expected(&c, false, 0));
	assert_false(process_exit_expected(&c, false, 1));
	assert_true(process_exit_expected(&c, false, 2));
	assert_true(process_exit_expected(&c, false, 255));
	/* A death by signal is never expected, whatever the number. */
	assert_false(process_exit_expected(&c, true, 0));
	assert_false(process_exit_expected(&c, true, 2));
	assert_false(process_exit_expected(&c, false, -9));
	assert_false(process_exit_expected(&c, false, 256));
}

static void
test_process_names(void **state)
{
	size_t i;

	(void)state;
	assert_string_equal(process_state_name(PROCESS_STOPPED), "STOPPED");
	assert_string_equal(process_state_name(PROCESS_STARTING), "STARTING");
	assert_string_equal(process_state_name(PROCESS_RUNNING), "RUNNING");
	assert_string_equal(process_state_name(PROCESS_BACKOFF), "BACKOFF");
	assert_string_equal(process_state_name(PROCESS_STOPPING), "STOPPING");
	assert_string_equal(process_state_name(PROCESS_EXITED), "EXITED");
	assert_string_equal(process_state_name(PROCESS_FATAL), "FATAL");
	assert_string_equal(process_state_name(PROCESS_UNKNOWN), "UNKNOWN");
	assert_non_null(process_state_name((enum process_state)12345));
	/* supervisord's numbers. */
	assert_int_equal(PROCESS_RUNNING, 20);
	assert_int_equal(PROCESS_FATAL, 200);
	for (i = 0; i < TEST_NSTATES; i++)
		assert_non_null(process_state_name(test_process_states[i]));
}

static void
test_process_fullname(void **state)
{
	struct proc_conf a, b;
	struct proc_conf *two[2] = { &a, &b }, *one[1] = { &a };
	struct group_conf g;
	char *s;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&g, 0, sizeof(g));
	a.name = (char *)(uintptr_t)"web";
	a.group = (char *)(uintptr_t)"web";
	b.name = (char *)(uintptr_t)"worker";
	b.group = (char *)(uintptr_t)"web";
	g.name = (char *)(uintptr_t)"web";
	g.procs = one;
	g.nprocs = 1;
	s = process_make_fullname(&g, &a);
	assert_string_equal(s, "web");
	free(s);
	/* A group holding two programs: both qualified. */
	g.procs = two;
	g.nprocs = 2;
	s = process_make_fullname(&g, &a);
	assert_string_equal(s, "web:web");
	free(s);
	s = process_make_fullname(&g, &b);
	assert_string_equal(s, "web:worker");
	free(s);
	/* numprocs: web:web_00. */
	a.name = (char *)(uintptr_t)"web_00";
	g.procs = one;
	g.nprocs = 1;
	s = process_make_fullname(&g, &a);
	assert_string_equal(s, "web:web_00");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process_transitions),
		cmocka_unit_test(test_process_table_total),
		cmocka_unit_test(test_process_retry_series),
		cmocka_unit_test(test_process_backoff_delay),
		cmocka_unit_test(test_process_restart_policy),
		cmocka_unit_test(test_process_expected),
		cmocka_unit_test(test_process_names),
		cmocka_unit_test(test_process_fullname),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
