/* The process state machine without fork: the transition table, the
 * backoff arithmetic, the restart policy, the names. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "process.h"
#include "supervisor.h"

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

/* ---- the registry, on real config files, without fork or a loop ---- */

static char test_process_dir[] = "/tmp/test_process.XXXXXX";
static char test_process_conf[256];

static void
test_process_write(const char *text)
{
	FILE *f;

	f = fopen(test_process_conf, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#define TEST_HEAD \
	"[superd]\nchildlogdir = /tmp\n[control]\nsocket = /tmp/x.sock\n"
#define TEST_PROG(name, extra) \
	"[program:" name "]\ncommand = sleep 1000\nautostart = false\n" extra

static struct supervisor *
test_process_sv(const char *text)
{
	struct diags d;
	struct config *cfg;
	struct supervisor *sv;
	char buf[512];
	size_t i;

	test_process_write(text);
	diags_init(&d);
	cfg = config_load(test_process_conf, CONFIG_NO_USERS, &d);
	for (i = 0; i < d.n; i++) {
		diags_format(&d.v[i], buf, sizeof(buf));
		print_message("%s\n", buf);
	}
	diags_free(&d);
	assert_non_null(cfg);
	sv = supervisor_new(NULL, cfg, test_process_conf);
	assert_non_null(sv);
	return sv;
}

/* The full names matched by `names`, joined by spaces; "!NAME" when
 * NAME matched nothing. */
static void
test_process_matches(struct supervisor *sv, const char *const *names,
    size_t n, char *out, size_t len)
{
	struct process **v;
	const char *bad;
	size_t nv, i;

	out[0] = '\0';
	if (supervisor_match(sv, names, n, &v, &nv, &bad) == -1) {
		assert_non_null(bad);
		snprintf(out, len, "!%s", bad);
		return;
	}
	for (i = 0; i < nv; i++) {
		strncat(out, v[i]->fullname, len - strlen(out) - 1);
		if (i + 1 < nv)
			strncat(out, " ", len - strlen(out) - 1);
	}
	free(v);
}

#define TEST_MATCH(sv, expect, ...) do { \
	const char *const names_[] = { __VA_ARGS__ }; \
	char got_[512]; \
	test_process_matches((sv), names_, \
	    sizeof(names_) / sizeof(names_[0]), got_, sizeof(got_)); \
	assert_string_equal(got_, (expect)); \
} while (0)

static int
test_process_setup(void **state)
{
	(void)state;
	if (mkdtemp(test_process_dir) == NULL)
		return -1;
	snprintf(test_process_conf, sizeof(test_process_conf),
	    "%s/superd.conf", test_process_dir);
	return 0;
}

static int
test_process_teardown(void **state)
{
	(void)state;
	unlink(test_process_conf);
	rmdir(test_process_dir);
	return 0;
}

static void
test_process_match(void **state)
{
	struct supervisor *sv;
	struct process *const *all;
	size_t n;

	(void)state;
	sv = test_process_sv(TEST_HEAD
	    TEST_PROG("web", "priority = 20\n")
	    TEST_PROG("worker", "numprocs = 2\n"
		"process_name = worker_%(process_num)02d\npriority = 10\n")
	    TEST_PROG("a", "")
	    TEST_PROG("b", "")
	    "[group:g]\nprograms = a,b\npriority = 30\n");
	all = supervisor_processes(sv, &n);
	assert_int_equal(n, 5);
	/* Registry order: groups by (priority, name). */
	assert_string_equal(all[0]->fullname, "worker:worker_00");
	assert_string_equal(all[1]->fullname, "worker:worker_01");
	assert_string_equal(all[2]->fullname, "web");
	assert_string_equal(all[3]->fullname, "g:a");
	assert_string_equal(all[4]->fullname, "g:b");
	assert_int_equal(all[0]->state, PROCESS_STOPPED);

	TEST_MATCH(sv, "worker:worker_00 worker:worker_01 web g:a g:b", "all");
	TEST_MATCH(sv, "web", "web");
	TEST_MATCH(sv, "web", "web:web");
	TEST_MATCH(sv, "web", "web:*");
	TEST_MATCH(sv, "worker:worker_00 worker:worker_01", "worker:*");
	TEST_MATCH(sv, "worker:worker_00 worker:worker_01", "worker");
	TEST_MATCH(sv, "worker:worker_01", "worker:worker_01");
	TEST_MATCH(sv, "worker:worker_01", "worker_01");
	TEST_MATCH(sv, "g:a g:b", "g");
	TEST_MATCH(sv, "g:a g:b", "g:");
	TEST_MATCH(sv, "g:b", "g:b");
	TEST_MATCH(sv, "g:a", "a");
	/* No duplicates, registry order whatever the order asked. */
	TEST_MATCH(sv, "web g:a g:b", "g:b", "web", "g", "web");
	/* One bad name fails the whole call and is named. */
	TEST_MATCH(sv, "!nope", "web", "nope");
	TEST_MATCH(sv, "!web:nope", "web:nope");
	TEST_MATCH(sv, "!zz:*", "zz:*");
	TEST_MATCH(sv, "!worker:worker_02", "worker:worker_02");
	supervisor_free(sv);
}

static bool
test_process_has(char **v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return true;
	return false;
}

static void
test_process_reread_update(void **state)
{
	struct supervisor *sv;
	struct process *const *all;
	struct process *keep, *change;
	struct config_diff diff;
	struct diags d;
	size_t n, i;

	(void)state;
	sv = test_process_sv(TEST_HEAD TEST_PROG("keep", "")
	    TEST_PROG("change", "") TEST_PROG("drop", ""));
	all = supervisor_processes(sv, &n);
	assert_int_equal(n, 3);
	keep = change = NULL;
	for (i = 0; i < n; i++) {
		if (strcmp(all[i]->fullname, "keep") == 0)
			keep = all[i];
		if (strcmp(all[i]->fullname, "change") == 0)
			change = all[i];
	}
	assert_non_null(keep);
	assert_non_null(change);

	test_process_write(TEST_HEAD TEST_PROG("keep", "")
	    TEST_PROG("change", "startsecs = 5\n") TEST_PROG("new", ""));
	diags_init(&d);
	assert_int_equal(supervisor_reread(sv, &diff, &d), 0);
	assert_int_equal(diff.nadded, 1);
	assert_string_equal(diff.added[0], "new");
	assert_int_equal(diff.nchanged, 1);
	assert_string_equal(diff.changed[0], "change");
	assert_int_equal(diff.nremoved, 1);
	assert_string_equal(diff.removed[0], "drop");
	config_diff_free(&diff);
	/* reread changed nothing. */
	all = supervisor_processes(sv, &n);
	assert_int_equal(n, 3);

	/* A partial update applies only the named groups. */
	assert_int_equal(supervisor_update(sv, (const char *const[]){ "new" },
	    1, &diff, &d), 0);
	assert_int_equal(diff.nadded, 1);
	assert_int_equal(diff.nchanged + diff.nremoved, 0);
	config_diff_free(&diff);
	all = supervisor_processes(sv, &n);
	assert_int_equal(n, 4);

	/* The rest is still pending for a full update. */
	assert_int_equal(supervisor_update(sv, NULL, 0, &diff, &d), 0);
	assert_int_equal(diff.nadded, 0);
	assert_true(test_process_has(diff.changed, diff.nchanged, "change"));
	assert_true(test_process_has(diff.removed, diff.nremoved, "drop"));
	config_diff_free(&diff);
	all = supervisor_processes(sv, &n);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		assert_string_not_equal(all[i]->fullname, "drop");
		/* Unchanged and changed processes keep their identity. */
		if (strcmp(all[i]->fullname, "keep") == 0)
			assert_ptr_equal(all[i], keep);
		if (strcmp(all[i]->fullname, "change") == 0)
			assert_ptr_equal(all[i], change);
	}

	/* An invalid config changes nothing and says where. */
	test_process_write(TEST_HEAD "[program:broken]\nautostart = true\n");
	assert_int_equal(supervisor_update(sv, NULL, 0, &diff, &d), -1);
	assert_true(diags_errors(&d) > 0);
	all = supervisor_processes(sv, &n);
	assert_int_equal(n, 3);
	diags_free(&d);
	supervisor_free(sv);
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
		cmocka_unit_test(test_process_match),
		cmocka_unit_test(test_process_reread_update),
	};

	return cmocka_run_group_tests(tests, test_process_setup,
	    test_process_teardown);
}
