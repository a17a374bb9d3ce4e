/* The process lifecycle: the action table's rows, the backoff
 * arithmetic, the restart policy, the names; then the table driven by
 * hand (no event loop: every TIMEOUT is fed by the test) on real
 * children. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "events.h"
#include "process.h"
#include "rpc.h"
#include "supervisor.h"

static const enum process_state test_process_states[] = {
	PROCESS_STOPPED, PROCESS_STARTING, PROCESS_RUNNING, PROCESS_BACKOFF,
	PROCESS_STOPPING, PROCESS_EXITED, PROCESS_FATAL, PROCESS_UNKNOWN
};
#define TEST_NSTATES \
	(sizeof(test_process_states) / sizeof(test_process_states[0]))

/* Which events each state's row of the action table answers. */
static void
test_process_table_cells(void **state)
{
	size_t i;
	int ev;

	(void)state;
	for (i = 0; i < TEST_NSTATES; i++) {
		enum process_state s = test_process_states[i];

		/* START and STOP have an answer (maybe an error) anywhere. */
		assert_true(process_handles(s, PROCESS_EV_START));
		assert_true(process_handles(s, PROCESS_EV_STOP));
		assert_int_equal(process_handles(s, PROCESS_EV_EXIT),
		    s == PROCESS_STARTING || s == PROCESS_RUNNING ||
		    s == PROCESS_STOPPING || s == PROCESS_UNKNOWN);
		/* One timer whose meaning comes from the state; none where
		 * nothing waits. */
		assert_int_equal(process_handles(s, PROCESS_EV_TIMEOUT),
		    s == PROCESS_STARTING || s == PROCESS_RUNNING ||
		    s == PROCESS_BACKOFF || s == PROCESS_STOPPING ||
		    s == PROCESS_EXITED);
		assert_int_equal(process_handles(s, PROCESS_EV_EXEC),
		    s == PROCESS_STARTING);
		/* Checks matter while starting (ready) and running (health). */
		for (ev = PROCESS_EV_READY; ev <= PROCESS_EV_CHECK_FAIL; ev++)
			assert_int_equal(process_handles(s,
			    (enum process_event)ev),
			    s == PROCESS_STARTING || s == PROCESS_RUNNING);
		assert_false(process_handles(s, PROCESS_EV_COUNT));
		assert_false(process_handles(s, (enum process_event)-1));
	}
}

/* The retry arithmetic of a program that dies at once, startretries=3:
 * 4 attempts, then FATAL, with 1+2+3 seconds of waiting in between
 * (SUPERVISORD.md). */
static void
test_process_retry_series(void **state)
{
	long failures = 0, attempts = 0;
	unsigned int waited = 0;

	(void)state;
	for (;;) {
		attempts++;
		failures++;
		if (process_gives_up(failures, 3))
			break;
		waited += process_backoff_delay(failures);
	}
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

/* backoff=exponential: 1, 2, 4 s ... capped, within +-10%; linear: 1,
 * 2, 3 s exactly, whatever the random input. */
static void
test_process_backoff_ms(void **state)
{
	static const long want[] = { 1000, 2000, 4000, 4000, 4000 };
	static const unsigned int rnd[] = { 0, 1U << 31, UINT_MAX, 12345 };
	long n, ms;
	size_t r;

	(void)state;
	for (r = 0; r < sizeof(rnd) / sizeof(rnd[0]); r++) {
		for (n = 1; n <= 5; n++) {
			ms = process_backoff_ms(BACKOFF_EXPONENTIAL, n, 4,
			    rnd[r]);
			assert_in_range(ms, want[n - 1] * 9 / 10,
			    want[n - 1] * 11 / 10);
			assert_int_equal(process_backoff_ms(BACKOFF_LINEAR, n,
			    4, rnd[r]), n * 1000);
		}
	}
	/* The middle of the random range is no jitter; the ends are -10%
	 * and just under +10%. */
	assert_int_equal(process_backoff_ms(BACKOFF_EXPONENTIAL, 2, 60,
	    1U << 31), 2000);
	assert_int_equal(process_backoff_ms(BACKOFF_EXPONENTIAL, 3, 60, 0),
	    3600);
	assert_in_range(process_backoff_ms(BACKOFF_EXPONENTIAL, 3, 60,
	    UINT_MAX), 4399, 4400);
	/* Saturation: no overflow for a long crash loop or a huge max. */
	assert_in_range(process_backoff_ms(BACKOFF_EXPONENTIAL, LONG_MAX, 60,
	    0), 54000, 66000);
	assert_in_range(process_backoff_ms(BACKOFF_EXPONENTIAL, 1000,
	    INT_MAX, 0), 1, 86400L * 1100);
	/* n < 1 and max < 1 behave as 1. */
	assert_in_range(process_backoff_ms(BACKOFF_EXPONENTIAL, 0, 0, 0),
	    900, 1100);
	assert_int_equal(process_backoff_ms(BACKOFF_LINEAR, -3, 4, 0), 1000);
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

/* ---- the action table driven by hand ---- */

#define TEST_MAX_SEEN 32

struct test_seen {
	int	 n;
	enum process_state from[TEST_MAX_SEEN], to[TEST_MAX_SEEN];
	char	 reason[TEST_MAX_SEEN][256];
};

static void
test_process_on_event(const struct process *p, enum process_state from,
    enum process_state to, const char *reason, void *arg)
{
	struct test_seen *s = arg;

	(void)p;
	if (s->n >= TEST_MAX_SEEN)
		return;
	s->from[s->n] = from;
	s->to[s->n] = to;
	snprintf(s->reason[s->n], sizeof(s->reason[0]), "%s",
	    reason != NULL ? reason : "(null)");
	s->n++;
}

static struct process *
test_process_one(struct supervisor *sv)
{
	struct process *const *all;
	size_t n;

	all = supervisor_processes(sv, &n);
	assert_int_equal(n, 1);
	return all[0];
}

/* Reap the child and hand its status to the table. */
static void
test_process_reap(struct process *p)
{
	int status;

	assert_true(p->pid > 0);
	assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
	process_on_exit(p, status);
}

static void
test_process_drive_spawn_error(void **state)
{
	struct supervisor *sv;
	struct process *p;
	struct test_seen seen = { 0 };
	struct events_sub *sub;

	(void)state;
	sv = test_process_sv(TEST_HEAD "[program:nope]\n"
	    "command = /nonexistent/prog\nautostart = false\n"
	    "startretries = 1\n");
	p = test_process_one(sv);
	sub = events_subscribe(test_process_on_event, &seen);
	assert_int_equal(process_start(p), RPC_SPAWN_ERROR);
	assert_int_equal(p->state, PROCESS_BACKOFF);
	assert_int_equal(p->failure, PROCESS_FAIL_SPAWN);
	assert_non_null(strstr(p->spawnerr, "/nonexistent/prog"));
	/* BACKOFF's timeout is the retry; the second failure is FATAL. */
	assert_int_equal(process_handle(p, PROCESS_EV_TIMEOUT), 0);
	assert_int_equal(p->state, PROCESS_FATAL);
	assert_int_equal(p->restarts, 1);
	assert_int_equal(seen.n, 5);
	assert_int_equal(seen.to[0], PROCESS_STARTING);
	assert_int_equal(seen.to[1], PROCESS_BACKOFF);
	assert_int_equal(seen.to[2], PROCESS_STARTING);
	assert_int_equal(seen.to[3], PROCESS_BACKOFF);
	assert_int_equal(seen.to[4], PROCESS_FATAL);
	/* Events that mean nothing in FATAL change nothing. */
	assert_int_equal(process_handle(p, PROCESS_EV_TIMEOUT), 0);
	assert_int_equal(process_handle(p, PROCESS_EV_READY), 0);
	assert_int_equal(process_stop(p), RPC_NOT_RUNNING);
	assert_int_equal(p->state, PROCESS_FATAL);
	assert_int_equal(seen.n, 5);
	events_unsubscribe(sub);
	supervisor_free(sv);
}

static void
test_process_drive_child(void **state)
{
	struct supervisor *sv;
	struct process *p;
	struct test_seen seen = { 0 };
	struct events_sub *sub;
	pid_t pid;

	(void)state;
	sv = test_process_sv(TEST_HEAD TEST_PROG("sleeper",
	    "startsecs = 1\n"));
	p = test_process_one(sv);
	sub = events_subscribe(test_process_on_event, &seen);
	assert_int_equal(process_start(p), 0);
	assert_int_equal(p->state, PROCESS_STARTING);
	assert_int_equal(process_start(p), RPC_ALREADY_STARTED);
	/* STARTING's timeout without ready= is startsecs: up. */
	assert_int_equal(process_handle(p, PROCESS_EV_TIMEOUT), 0);
	assert_int_equal(p->state, PROCESS_RUNNING);
	assert_int_equal(p->failure, PROCESS_FAIL_NONE);
	/* Without health=, a RUNNING timeout is a check that is not there:
	 * harmless. */
	pid = p->pid;
	assert_int_equal(process_stop(p), 0);
	assert_int_equal(p->state, PROCESS_STOPPING);
	assert_int_equal(p->pid, pid);
	test_process_reap(p);
	assert_int_equal(p->state, PROCESS_STOPPED);
	assert_true(p->killed_by_signal);
	assert_int_equal(p->exitstatus, -SIGTERM);
	assert_int_equal(seen.n, 4);
	assert_string_equal(seen.reason[2], "(null)");
	assert_int_equal(p->restarts, 0);

	/* An exit while STARTING is a failed start of its own kind. */
	seen.n = 0;
	assert_int_equal(process_start(p), 0);
	assert_int_equal(p->restarts, 1);
	assert_int_equal(kill(p->pid, SIGKILL), 0);
	test_process_reap(p);
	assert_int_equal(p->state, PROCESS_BACKOFF);
	assert_int_equal(p->failure, PROCESS_FAIL_EXITED);
	assert_int_equal(p->backoff, 1);
	/* Stopping in BACKOFF goes straight to STOPPED. */
	assert_int_equal(process_stop(p), 0);
	assert_int_equal(p->state, PROCESS_STOPPED);
	events_unsubscribe(sub);
	supervisor_free(sv);
}

static void
test_process_drive_not_ready(void **state)
{
	struct supervisor *sv;
	struct process *p;
	struct proc_conf *c;

	(void)state;
	sv = test_process_sv(TEST_HEAD TEST_PROG("web",
	    "startretries = 0\n"));
	p = test_process_one(sv);
	/* As the config branch's ready= would set it. */
	c = (struct proc_conf *)(uintptr_t)p->conf;
	c->ready.kind = PROBE_TCP;
	free(c->ready.spec);
	c->ready.spec = strdup("tcp://127.0.0.1:1");
	c->ready_timeout = 7;
	assert_int_equal(process_start(p), 0);
	/* A failed poll keeps it STARTING; only the timeout ends that. */
	assert_int_equal(process_handle(p, PROCESS_EV_CHECK_FAIL), 0);
	assert_int_equal(process_handle(p, PROCESS_EV_EXEC), 0);
	assert_int_equal(p->state, PROCESS_STARTING);
	assert_int_equal(process_handle(p, PROCESS_EV_TIMEOUT), 0);
	assert_int_equal(p->failure, PROCESS_FAIL_NOT_READY);
	test_process_reap(p);
	assert_true(p->killed_by_signal);
	assert_int_equal(p->state, PROCESS_FATAL);
	assert_int_equal(p->failure, PROCESS_FAIL_NOT_READY);
	assert_non_null(strstr(p->spawnerr, "not ready within 7 s"));

	/* READY while STARTING is RUNNING at once. */
	assert_int_equal(process_start(p), 0);
	assert_int_equal(process_handle(p, PROCESS_EV_READY), 0);
	assert_int_equal(p->state, PROCESS_RUNNING);
	assert_int_equal(process_stop(p), 0);
	test_process_reap(p);
	c->ready.kind = PROBE_NONE;
	supervisor_free(sv);
}

static void
test_process_drive_health(void **state)
{
	struct supervisor *sv;
	struct process *p;
	struct proc_conf *c;
	struct test_seen seen = { 0 };
	struct events_sub *sub;
	int i;

	(void)state;
	sv = test_process_sv(TEST_HEAD TEST_PROG("web", "startsecs = 1\n"));
	p = test_process_one(sv);
	c = (struct proc_conf *)(uintptr_t)p->conf;
	c->health.kind = PROBE_HTTP;
	free(c->health.spec);
	c->health.spec = strdup("http://127.0.0.1:1/health");
	c->health_retries = 3;
	c->health_interval = 10;
	c->health_timeout = 5;
	assert_int_equal(process_start(p), 0);
	assert_int_equal(process_handle(p, PROCESS_EV_TIMEOUT), 0);
	assert_int_equal(p->state, PROCESS_RUNNING);
	sub = events_subscribe(test_process_on_event, &seen);
	/* Failures in a row count; a pass in between starts over. */
	for (i = 0; i < 2; i++)
		assert_int_equal(process_handle(p, PROCESS_EV_CHECK_FAIL), 0);
	assert_int_equal(process_handle(p, PROCESS_EV_READY), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(process_handle(p, PROCESS_EV_CHECK_FAIL), 0);
	assert_int_equal(p->state, PROCESS_RUNNING);
	assert_int_equal(seen.n, 0);
	assert_int_equal(process_handle(p, PROCESS_EV_CHECK_FAIL), 0);
	assert_int_equal(p->state, PROCESS_STOPPING);
	assert_int_equal(p->health_failures, 5);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.from[0], PROCESS_RUNNING);
	assert_non_null(strstr(seen.reason[0],
	    "health check failed 3 times: http://127.0.0.1:1/health"));
	assert_string_equal(p->reason, seen.reason[0]);
	/* Down, then started again by itself. */
	test_process_reap(p);
	assert_int_equal(p->state, PROCESS_STARTING);
	assert_int_equal(p->restarts, 1);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.to[1], PROCESS_STOPPED);
	assert_string_equal(seen.reason[1], "(null)");
	/* An operator stop during the restart's STOPPING keeps it down. */
	assert_int_equal(process_handle(p, PROCESS_EV_TIMEOUT), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(process_handle(p, PROCESS_EV_CHECK_FAIL), 0);
	assert_int_equal(p->state, PROCESS_STOPPING);
	assert_int_equal(process_stop(p), 0);
	test_process_reap(p);
	assert_int_equal(p->state, PROCESS_STOPPED);
	events_unsubscribe(sub);
	c->health.kind = PROBE_NONE;
	supervisor_free(sv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process_table_cells),
		cmocka_unit_test(test_process_retry_series),
		cmocka_unit_test(test_process_backoff_ms),
		cmocka_unit_test(test_process_drive_spawn_error),
		cmocka_unit_test(test_process_drive_child),
		cmocka_unit_test(test_process_drive_not_ready),
		cmocka_unit_test(test_process_drive_health),
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
