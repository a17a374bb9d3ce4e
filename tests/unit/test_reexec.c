/*
 * reexec's helpers and one room's round trip, without exec: the hex
 * encoding of ring bytes, fds taken back, a timer's time left, the
 * document's checks on a memfd, and an output saved and restored with
 * its pipe and a line not finished yet.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "output.h"
#include "process.h"
#include "supervisor.h"
#include "handover.h"
#include "reexec.h"

static void
test_hex(void **state)
{
	char in[256], out[256];
	size_t n = 0, i;
	json_t *j, *o;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (char)i;
	j = handover_hex_new(in, sizeof(in));
	assert_non_null(j);
	o = json_pack("{s:o}", "h", j);
	assert_int_equal(handover_hex_get(o, "h", out, sizeof(out), &n), 0);
	assert_int_equal(n, sizeof(in));
	assert_memory_equal(in, out, sizeof(in));
	/* Too big for the buffer, odd length, a bad digit, absent. */
	assert_int_equal(handover_hex_get(o, "h", out, 10, &n), -1);
	json_object_set_new(o, "h", json_string("abc"));
	assert_int_equal(handover_hex_get(o, "h", out, sizeof(out), &n), -1);
	json_object_set_new(o, "h", json_string("zz"));
	assert_int_equal(handover_hex_get(o, "h", out, sizeof(out), &n), -1);
	assert_int_equal(handover_hex_get(o, "x", out, sizeof(out), &n), -1);
	json_decref(o);
}

static void
test_take_fd(void **state)
{
	int p[2], fd;
	json_t *o;

	(void)state;
	assert_int_equal(pipe(p), 0);
	/* Handed over: no CLOEXEC. Taken back: CLOEXEC again. */
	assert_int_equal(fcntl(p[0], F_GETFD) & FD_CLOEXEC, 0);
	o = json_pack("{s:i, s:i, s:i, s:s}", "fd", p[0], "std", 1,
	    "closed", p[1], "str", "3");
	close(p[1]);
	fd = handover_take_fd(o, "fd");
	assert_int_equal(fd, p[0]);
	assert_int_not_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	assert_int_equal(handover_take_fd(o, "std"), -1);
	assert_int_equal(handover_take_fd(o, "closed"), -1);
	assert_int_equal(handover_take_fd(o, "str"), -1);
	assert_int_equal(handover_take_fd(o, "none"), -1);
	close(p[0]);
	json_decref(o);
}

static void
test_noop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void
test_timer_left(void **state)
{
	struct event_base *base = event_base_new();
	struct event *ev;
	struct timeval tv = { 1, 500000 };
	struct timespec t0, t1;
	long ms, took;

	(void)state;
	assert_non_null(base);
	ev = evtimer_new(base, test_noop, NULL);
	assert_non_null(ev);
	assert_int_equal(handover_timer_left(ev), -1);
	assert_int_equal(handover_timer_left(NULL), -1);
	/* Whatever time passes between the add and the reading (a loaded
	 * machine can stall this thread) comes off the 1500 ms; libevent
	 * arms on a coarse monotonic clock (a tick of a few ms) and reports
	 * the deadline in wall time, so it may read a few ms over. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	evtimer_add(ev, &tv);
	ms = handover_timer_left(ev);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (!(ms <= 1510 && ms >= 1500 - took - 20))
		print_message("timer left %ld ms, %ld ms passed\n", ms, took);
	assert_true(ms <= 1510 && ms >= 1500 - took - 20);
	event_free(ev);
	event_base_free(base);
}

/* A memfd holding `text` (its first `len` bytes). */
static int
test_memfd(const char *text, size_t len)
{
	int fd = memfd_create("test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	return fd;
}

static void
test_load(void **state)
{
	char good[256];
	json_t *doc;
	int fd, n;

	(void)state;
	n = snprintf(good, sizeof(good), "{\"format\":\"%s\",\"version\":%d,"
	    "\"supervisor\":{\"processes\":[]}}", REEXEC_FORMAT,
	    REEXEC_VERSION);
	fd = test_memfd(good, (size_t)n);
	doc = reexec_load(fd);
	assert_non_null(doc);
	assert_non_null(json_object_get(doc, "supervisor"));
	json_decref(doc);
	/* The fd is closed either way. */
	assert_int_equal(fcntl(fd, F_GETFD), -1);

	fd = test_memfd(good, (size_t)n / 2);
	assert_null(reexec_load(fd));
	assert_int_equal(fcntl(fd, F_GETFD), -1);

	fd = test_memfd("", 0);
	assert_null(reexec_load(fd));

	n = snprintf(good, sizeof(good), "{\"format\":\"%s\",\"version\":%d}",
	    REEXEC_FORMAT, REEXEC_VERSION + 1);
	assert_null(reexec_load(test_memfd(good, (size_t)n)));
	n = snprintf(good, sizeof(good), "{\"format\":\"other\",\"version\":"
	    "%d}", REEXEC_VERSION);
	assert_null(reexec_load(test_memfd(good, (size_t)n)));
	assert_null(reexec_load(test_memfd("[1,2]", 5)));
}

static char test_dir[] = "/tmp/test_reexec.XXXXXX";

static struct config *
test_config(void)
{
	char conf[256], buf[1024];
	struct diags d;
	struct config *cfg;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/superd.conf", test_dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "[superd]\nchildlogdir = %s\n[control]\nsocket = %s/s\n"
	    "[program:p]\ncommand = true\nstdout_logfile = %s/p.log\n"
	    "redirect_stderr = true\n", test_dir, test_dir, test_dir);
	fclose(f);
	diags_init(&d);
	cfg = config_load(conf, CONFIG_NO_USERS, &d);
	if (cfg == NULL && d.n > 0) {
		diags_format(&d.v[0], buf, sizeof(buf));
		print_message("%s\n", buf);
	}
	diags_free(&d);
	assert_non_null(cfg);
	return cfg;
}

static void
test_loop(struct event_base *base)
{
	int i;

	for (i = 0; i < 5; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

static char *
test_slurp(const char *path)
{
	static char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

/*
 * An output with a pipe and "one\ntw" read: saved, freed in the way the
 * exec would (the pipe stays open), restored into a new output: the
 * tail and its offset are the same, the pipe is read on, and the log
 * file has every byte once.
 */
static void
test_output_round_trip(void **state)
{
	struct event_base *base = event_base_new();
	struct config *cfg = test_config();
	const struct proc_conf *pc = cfg->groups[0]->procs[0];
	struct output *out, *again;
	char path[256], *data;
	size_t len;
	uint64_t off;
	json_t *saved;
	int p[2], dupfd;

	(void)state;
	assert_non_null(base);
	snprintf(path, sizeof(path), "%s/p.log", test_dir);
	out = output_new(base, pc, "p");
	assert_non_null(out);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(output_attach(out, p[0], -1), 0);
	assert_int_equal(write(p[1], "one\ntw", 6), 6);
	test_loop(base);
	saved = output_save(out);
	assert_non_null(saved);
	/* The old image's output goes, its pipe must not: keep a copy at
	 * the same number, as the exec would. */
	dupfd = dup(p[0]);
	assert_true(dupfd >= 0);
	output_free(out);
	assert_int_equal(dup2(dupfd, p[0]), p[0]);
	close(dupfd);
	assert_int_equal(write(p[1], "o\nthree\n", 8), 8);

	again = output_new(base, pc, "p");
	assert_non_null(again);
	assert_int_equal(output_restore(again, saved), 0);
	test_loop(base);
	assert_int_equal(output_tail(again, OUTPUT_STDOUT, 100, &data, &len,
	    &off), 0);
	assert_int_equal(off, 14);
	assert_int_equal(len, 14);
	assert_memory_equal(data, "one\ntwo\nthree\n", 14);
	free(data);
	assert_string_equal(test_slurp(path), "one\ntwo\nthree\n");
	assert_int_equal(output_restore(again, json_null()), -1);
	output_free(again);
	close(p[1]);
	json_decref(saved);
	config_free(cfg);
	event_base_free(base);
}

/* The counters and states a process carries over, on two registries
 * built from the same config (no loop: no fds, no timers). */
static void
test_process_round_trip(void **state)
{
	struct config *c1 = test_config(), *c2 = test_config();
	struct supervisor *a, *b;
	struct process *const *pa, *const *pb;
	struct process *p, *q;
	size_t na, nb;
	json_t *saved;

	(void)state;
	a = supervisor_new(NULL, c1, c1->path);
	b = supervisor_new(NULL, c2, c2->path);
	assert_non_null(a);
	assert_non_null(b);
	pa = supervisor_processes(a, &na);
	pb = supervisor_processes(b, &nb);
	assert_int_equal(na, 1);
	assert_int_equal(nb, 1);
	p = pa[0];
	q = pb[0];
	p->state = PROCESS_FATAL;
	p->start_time = 1000;
	p->stop_time = 1005;
	p->start_mono.tv_sec = 42;
	p->start_mono.tv_nsec = 7;
	p->exitstatus = -9;
	p->killed_by_signal = true;
	p->backoff = 3;
	p->restarts = 12;
	p->health_failures = 5;
	p->failure = PROCESS_FAIL_EXITED;
	snprintf(p->spawnerr, sizeof(p->spawnerr), "Exited too quickly");
	snprintf(p->reason, sizeof(p->reason), "health check failed");
	saved = process_save(p);
	assert_non_null(saved);
	assert_string_equal(json_string_value(json_object_get(saved, "name")),
	    "p");
	assert_int_equal(process_restore(q, saved), 0);
	assert_int_equal(q->state, PROCESS_FATAL);
	assert_int_equal(q->pid, 0);
	assert_int_equal(q->start_time, 1000);
	assert_int_equal(q->stop_time, 1005);
	assert_int_equal(q->start_mono.tv_sec, 42);
	assert_int_equal(q->start_mono.tv_nsec, 7);
	assert_int_equal(q->exitstatus, -9);
	assert_true(q->killed_by_signal);
	assert_int_equal(q->backoff, 3);
	assert_int_equal(q->restarts, 12);
	assert_int_equal(q->health_failures, 5);
	assert_int_equal(q->failure, PROCESS_FAIL_EXITED);
	assert_string_equal(q->spawnerr, "Exited too quickly");
	assert_string_equal(q->reason, "health check failed");
	/* A live state without a pid cannot be: STOPPED. */
	json_object_set_new(saved, "state", json_integer(PROCESS_RUNNING));
	assert_int_equal(process_restore(q, saved), 0);
	assert_int_equal(q->state, PROCESS_STOPPED);
	/* A state this superd does not know, with no pid: STOPPED. */
	json_object_set_new(saved, "state", json_integer(12345));
	assert_int_equal(process_restore(q, saved), 0);
	assert_int_equal(q->state, PROCESS_STOPPED);
	assert_int_equal(process_restore(q, json_null()), -1);
	json_decref(saved);
	supervisor_free(a);
	supervisor_free(b);
}

static int
test_setup(void **state)
{
	(void)state;
	return mkdtemp(test_dir) == NULL ? -1 : 0;
}

static int
test_teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_take_fd),
		cmocka_unit_test(test_timer_left),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_output_round_trip),
		cmocka_unit_test(test_process_round_trip),
	};

	return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
