/* supervisord's event listeners without processes: type names and
 * subscriptions, payloads byte for byte (strings observed on supervisord
 * 4.2.5), the bounded queue, the listener protocol parser fed in every
 * split, and pools fed by published state changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "events.h"
#include "listeners.h"
#include "process.h"

/* A modifiable copy of a literal (config arrays are char *). */
#define S(x) ((char []){ x })

static void
test_listeners_types(void **state)
{
	enum listeners_type t;
	char *state_only[] = { S("PROCESS_STATE"), NULL };
	char *all[] = { S("EVENT"), NULL };
	char *mixed[] = { S("tick_60"), S("PROCESS_GROUP_ADDED"), S("NOSUCH"), NULL };
	uint32_t m;
	int i;

	(void)state;
	assert_true(listeners_type_parse("process_state_exited", &t));
	assert_int_equal(t, LISTENERS_PROCESS_STATE_EXITED);
	assert_false(listeners_type_parse("PROCESS_STATE_EXITE", &t));
	for (i = 0; i < LISTENERS_TYPE_COUNT; i++) {
		assert_true(listeners_type_parse(
		    listeners_type_name((enum listeners_type)i), &t));
		assert_int_equal(t, i);
	}
	/* A base type covers its subtypes and nothing else. */
	m = listeners_type_mask(state_only);
	for (i = LISTENERS_PROCESS_STATE; i <= LISTENERS_PROCESS_STATE_UNKNOWN;
	    i++)
		assert_true(m & (1u << i));
	assert_false(m & (1u << LISTENERS_TICK_5));
	assert_false(m & (1u << LISTENERS_PROCESS_LOG_STDOUT));
	m = listeners_type_mask(all);
	for (i = 0; i < LISTENERS_TYPE_COUNT; i++)
		assert_true(m & (1u << i));
	m = listeners_type_mask(mixed);
	assert_int_equal(m, (1u << LISTENERS_TICK_60) |
	    (1u << LISTENERS_PROCESS_GROUP_ADDED));
	assert_int_equal(listeners_state_type(PROCESS_BACKOFF),
	    LISTENERS_PROCESS_STATE_BACKOFF);
	assert_string_equal(listeners_type_name(listeners_state_type(
	    PROCESS_UNKNOWN)), "PROCESS_STATE_UNKNOWN");
}

static void
test_listeners_expect_state(enum process_state from, enum process_state to,
    int tries, bool expected, pid_t pid, const char *want)
{
	struct listeners_buf b = { 0 };

	listeners_state_payload(&b, "web_00", "web", from, to, tries, expected,
	    pid);
	assert_false(b.failed);
	assert_string_equal(b.data, want);
	assert_int_equal(b.len, strlen(want));
	listeners_buf_free(&b);
}

static void
test_listeners_state_payloads(void **state)
{
	(void)state;
	test_listeners_expect_state(PROCESS_STOPPED, PROCESS_STARTING, 0,
	    true, 0, "processname:web_00 groupname:web from_state:STOPPED "
	    "tries:0");
	test_listeners_expect_state(PROCESS_STARTING, PROCESS_BACKOFF, 2,
	    false, 0, "processname:web_00 groupname:web from_state:STARTING "
	    "tries:2");
	test_listeners_expect_state(PROCESS_STARTING, PROCESS_RUNNING, 0,
	    true, 4242, "processname:web_00 groupname:web "
	    "from_state:STARTING pid:4242");
	test_listeners_expect_state(PROCESS_RUNNING, PROCESS_EXITED, 0,
	    false, 4242, "processname:web_00 groupname:web "
	    "from_state:RUNNING expected:0 pid:4242");
	test_listeners_expect_state(PROCESS_RUNNING, PROCESS_EXITED, 0,
	    true, 7, "processname:web_00 groupname:web "
	    "from_state:RUNNING expected:1 pid:7");
	test_listeners_expect_state(PROCESS_RUNNING, PROCESS_STOPPING, 0,
	    true, 7, "processname:web_00 groupname:web "
	    "from_state:RUNNING pid:7");
	test_listeners_expect_state(PROCESS_STOPPING, PROCESS_STOPPED, 0,
	    true, 7, "processname:web_00 groupname:web "
	    "from_state:STOPPING pid:7");
	test_listeners_expect_state(PROCESS_BACKOFF, PROCESS_STOPPED, 0,
	    true, 0, "processname:web_00 groupname:web "
	    "from_state:BACKOFF pid:0");
	test_listeners_expect_state(PROCESS_BACKOFF, PROCESS_FATAL, 3,
	    true, 0, "processname:web_00 groupname:web from_state:BACKOFF");
}

static void
test_listeners_expect_output(const char *data, size_t len, const char *want)
{
	struct listeners_buf b = { 0 };

	listeners_add_output(&b, data, len);
	assert_false(b.failed);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	listeners_buf_free(&b);
}

static void
test_listeners_output(void **state)
{
	struct listeners_buf b = { 0 };

	(void)state;
	test_listeners_expect_output("hello\n", 6, "hello\n");
	test_listeners_expect_output("h\xc3\xa9llo", 6, "h\xc3\xa9llo");
	/* NUL is valid UTF-8 for Python. */
	listeners_add_output(&b, "a\0b", 3);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 3);
	listeners_buf_free(&b);
	/* What Python 3 prints for 'Undecodable: %r' % bytes. */
	test_listeners_expect_output("\xff\n", 2, "Undecodable: b'\\xff\\n'");
	test_listeners_expect_output("it's\xfe", 5,
	    "Undecodable: b\"it's\\xfe\"");
	test_listeners_expect_output("'\"\\\t\r\x7f\x01\xc3", 8,
	    "Undecodable: b'\\'\"\\\\\\t\\r\\x7f\\x01\\xc3'");
	/* A surrogate and an overlong form are not UTF-8 either. */
	test_listeners_expect_output("\xed\xa0\x80", 3,
	    "Undecodable: b'\\xed\\xa0\\x80'");
	test_listeners_expect_output("\xc0\xaf", 2,
	    "Undecodable: b'\\xc0\\xaf'");
	assert_int_equal(listeners_chars("h\xc3\xa9llo \xe2\x82\xac "
	    "\xf0\x9f\x98\x80", 15), 9);
}

static struct listeners_entry
test_listeners_entry(unsigned long serial)
{
	struct listeners_entry e;

	e.ev = listeners_event_new(LISTENERS_TICK_5, serial, "when:5", 6);
	assert_non_null(e.ev);
	e.poolserial = serial + 100;
	return e;
}

static void
test_listeners_queue(void **state)
{
	struct listeners_queue q;
	struct listeners_entry e, dropped;
	unsigned long i;

	(void)state;
	assert_int_equal(listeners_queue_init(&q, 3), 0);
	for (i = 0; i < 3; i++) {
		listeners_queue_push(&q, test_listeners_entry(i), false,
		    &dropped);
		assert_null(dropped.ev);
	}
	/* Full: the oldest goes. */
	listeners_queue_push(&q, test_listeners_entry(3), false, &dropped);
	assert_non_null(dropped.ev);
	assert_int_equal(dropped.ev->serial, 0);
	listeners_event_unref(dropped.ev);
	assert_int_equal(q.n, 3);
	/* A requeue goes to the head; the queue is full, so the oldest
	 * queued one makes room, as supervisord does. */
	listeners_queue_push(&q, test_listeners_entry(9), true, &dropped);
	assert_int_equal(dropped.ev->serial, 1);
	listeners_event_unref(dropped.ev);
	assert_true(listeners_queue_pop(&q, &e));
	assert_int_equal(e.ev->serial, 9);
	assert_int_equal(e.poolserial, 109);
	listeners_event_unref(e.ev);
	/* Head requeue with room, across the ring's wrap. */
	listeners_queue_push(&q, test_listeners_entry(8), true, &dropped);
	assert_null(dropped.ev);
	assert_true(listeners_queue_pop(&q, &e));
	assert_int_equal(e.ev->serial, 8);
	listeners_event_unref(e.ev);
	/* Shrinking keeps the newest. */
	listeners_queue_push(&q, test_listeners_entry(4), false, &dropped);
	assert_int_equal(q.n, 3);
	assert_int_equal(listeners_queue_resize(&q, 1), 2);
	assert_true(listeners_queue_pop(&q, &e));
	assert_int_equal(e.ev->serial, 4);
	listeners_event_unref(e.ev);
	assert_false(listeners_queue_pop(&q, &e));
	assert_int_equal(listeners_queue_resize(&q, 5), 0);
	listeners_queue_push(&q, test_listeners_entry(5), false, &dropped);
	listeners_queue_push(&q, test_listeners_entry(6), false, &dropped);
	listeners_queue_free(&q);
}

static void
test_listeners_envelope(void **state)
{
	struct listeners_buf b = { 0 };
	struct listeners_entry e;
	const char *want = "ver:3.0 server:supervisor serial:12 pool:mon "
	    "poolserial:3 eventname:REMOTE_COMMUNICATION len:11\n"
	    "type:x\nd\xc3\xa9j\xc3\xa0";

	(void)state;
	/* len counts characters: Python listeners read in text mode. */
	e.ev = listeners_event_new(LISTENERS_REMOTE_COMMUNICATION, 12,
	    "type:x\nd\xc3\xa9j\xc3\xa0", 13);
	e.poolserial = 3;
	listeners_envelope(&b, "supervisor", "mon", &e);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	listeners_buf_free(&b);
	listeners_event_unref(e.ev);
}

/* Feed `in` to a parser in BUSY (or ACKNOWLEDGED) state, split at
 * every `chunk` bytes; the verdicts as letters: R ready, O ok, F fail,
 * G garbage. */
static void
test_listeners_feed(enum listeners_lstate start, const char *in, size_t len,
    size_t chunk, char *out)
{
	struct listeners_proto pr;
	enum listeners_verdict v;
	size_t off = 0, n, used;

	listeners_proto_reset(&pr);
	pr.state = start;
	while (off < len) {
		n = len - off < chunk ? len - off : chunk;
		while (n > 0) {
			used = listeners_proto_step(&pr, in + off, n, &v);
			assert_true(used > 0 && used <= n);
			off += used;
			n -= used;
			if (v == LISTENERS_V_READY) {
				*out++ = 'R';
				/* The daemon answers READY with an event. */
				pr.state = LISTENERS_BUSY;
			} else if (v == LISTENERS_V_OK)
				*out++ = 'O';
			else if (v == LISTENERS_V_FAIL)
				*out++ = 'F';
			else if (v == LISTENERS_V_GARBAGE)
				*out++ = 'G';
		}
	}
	*out = '\0';
}

static void
test_listeners_expect_proto(enum listeners_lstate start, const char *in,
    const char *want)
{
	char got[64];
	size_t chunk;

	for (chunk = 1; chunk <= strlen(in) + 1; chunk++) {
		test_listeners_feed(start, in, strlen(in), chunk, got);
		assert_string_equal(got, want);
	}
}

static void
test_listeners_proto(void **state)
{
	struct listeners_proto pr;
	enum listeners_verdict v;
	char big[4096];
	size_t i, used;

	(void)state;
	test_listeners_expect_proto(LISTENERS_ACKNOWLEDGED, "READY\n", "R");
	test_listeners_expect_proto(LISTENERS_ACKNOWLEDGED,
	    "READY\nRESULT 2\nOKREADY\nRESULT 4\nFAILREADY\n", "RORFR");
	/* Any result but OK rejects the event (default_handler). */
	test_listeners_expect_proto(LISTENERS_BUSY, "RESULT 3\nBAD", "F");
	test_listeners_expect_proto(LISTENERS_BUSY, "RESULT 0\n", "F");
	test_listeners_expect_proto(LISTENERS_BUSY, "RESULT 2\r\nOK", "O");
	/* Protocol violations. */
	test_listeners_expect_proto(LISTENERS_ACKNOWLEDGED, "READX\n", "G");
	test_listeners_expect_proto(LISTENERS_ACKNOWLEDGED, "hello", "G");
	test_listeners_expect_proto(LISTENERS_ACKNOWLEDGED, "READY\nREADY\n",
	    "RG");
	test_listeners_expect_proto(LISTENERS_BUSY, "RESULT x\nOK", "G");
	test_listeners_expect_proto(LISTENERS_BUSY, "RESULT -2\nOK", "G");
	test_listeners_expect_proto(LISTENERS_BUSY, "OK\n", "G");
	test_listeners_expect_proto(LISTENERS_BUSY,
	    "RESULT 9999999999\nOK", "G");
	/* Nothing is said after a violation. */
	test_listeners_expect_proto(LISTENERS_READY, "READY\n", "G");

	/* An endless line without a newline is cut off, not stored. */
	memset(big, 'x', sizeof(big));
	listeners_proto_reset(&pr);
	pr.state = LISTENERS_BUSY;
	used = listeners_proto_step(&pr, big, sizeof(big), &v);
	assert_int_equal(v, LISTENERS_V_GARBAGE);
	assert_true(used <= LISTENERS_LINE_MAX + 1);
	assert_int_equal(pr.state, LISTENERS_UNKNOWN);
	assert_int_equal(listeners_proto_step(&pr, big, sizeof(big), &v),
	    sizeof(big));
	assert_int_equal(v, LISTENERS_V_NONE);

	/* A long result is counted, not kept. */
	listeners_proto_reset(&pr);
	pr.state = LISTENERS_BUSY;
	used = listeners_proto_step(&pr, "RESULT 40960\n", 13, &v);
	assert_int_equal(used, 13);
	for (i = 0; i < 9; i++) {
		used = listeners_proto_step(&pr, big, sizeof(big), &v);
		assert_int_equal(used, sizeof(big));
		assert_int_equal(v, LISTENERS_V_NONE);
	}
	used = listeners_proto_step(&pr, big, sizeof(big), &v);
	assert_int_equal(v, LISTENERS_V_FAIL);
	assert_int_equal(pr.state, LISTENERS_ACKNOWLEDGED);
}

/* ---- pools fed through events ---- */

struct test_listeners_world {
	struct config cfg;
	struct group_conf *groups[3];
	struct group_conf g[3];
	struct proc_conf pc[3];
	struct proc_conf *pcs[3];
	struct process p;
};

static void
test_listeners_world(struct test_listeners_world *w, char **ev_a,
    int size_a, char **ev_b)
{
	static char n0[] = "mon", n1[] = "audit", n2[] = "web";
	char *names[] = { n0, n1, n2 };
	int i;

	memset(w, 0, sizeof(*w));
	for (i = 0; i < 3; i++) {
		w->pc[i].name = names[i];
		w->pc[i].group = names[i];
		w->pcs[i] = &w->pc[i];
		w->g[i].name = names[i];
		w->g[i].procs = &w->pcs[i];
		w->g[i].nprocs = 1;
		w->groups[i] = &w->g[i];
	}
	w->g[0].kind = GROUP_EVENTLISTENER;
	w->pc[0].listener = true;
	w->pc[0].events = ev_a;
	w->pc[0].buffer_size = size_a;
	w->g[1].kind = GROUP_EVENTLISTENER;
	w->pc[1].listener = true;
	w->pc[1].events = ev_b;
	w->pc[1].buffer_size = 100;
	w->g[2].kind = GROUP_PROGRAM;
	w->cfg.groups = w->groups;
	w->cfg.ngroups = 3;
	w->cfg.identifier = S("supervisor");
	w->p.conf = &w->pc[2];
	w->p.fullname = n2;
	w->p.stdin_fd = -1;
}

static const char *
test_listeners_at(const struct listeners_queue *q, size_t i,
    unsigned long *serial, unsigned long *poolserial,
    enum listeners_type *t)
{
	const struct listeners_entry *e = &q->v[(q->head + i) % q->cap];

	*serial = e->ev->serial;
	*poolserial = e->poolserial;
	*t = e->ev->type;
	return e->ev->payload;
}

static void
test_listeners_pools(void **state)
{
	struct test_listeners_world w;
	char *ev_a[] = { S("PROCESS_STATE"), S("SUPERVISOR_STATE_CHANGE"), NULL };
	char *ev_b[] = { S("PROCESS_GROUP"), S("PROCESS_STATE_EXITED"), NULL };
	const struct listeners_queue *qa, *qb;
	struct listeners *l;
	enum listeners_type t;
	unsigned long s, ps;
	const char *payload;

	(void)state;
	test_listeners_world(&w, ev_a, 3, ev_b);
	assert_non_null(l = listeners_new(NULL, &w.cfg));
	qa = listeners_queue_of(l, "mon");
	qb = listeners_queue_of(l, "audit");
	assert_non_null(qa);
	assert_non_null(qb);
	assert_null(listeners_queue_of(l, "web"));

	/* ADDED for every group, then RUNNING: serials are global and only
	 * used by events some pool takes. */
	listeners_started(l, &w.cfg);
	assert_int_equal(qb->n, 3);
	payload = test_listeners_at(qb, 2, &s, &ps, &t);
	assert_string_equal(payload, "groupname:web\n");
	assert_int_equal(s, 2);
	assert_int_equal(ps, 2);
	assert_int_equal(qa->n, 1);
	payload = test_listeners_at(qa, 0, &s, &ps, &t);
	assert_int_equal(t, LISTENERS_SUPERVISOR_STATE_CHANGE_RUNNING);
	assert_string_equal(payload, "");
	assert_int_equal(s, 3);
	assert_int_equal(ps, 0);

	/* A start, a crash: the EXITED pid is the one that ended. */
	w.p.pid = 321;
	w.p.backoff = 0;
	w.p.state = PROCESS_STARTING;
	events_publish(&w.p, PROCESS_STOPPED, PROCESS_STARTING, NULL);
	w.p.state = PROCESS_RUNNING;
	events_publish(&w.p, PROCESS_STARTING, PROCESS_RUNNING, NULL);
	w.p.pid = 0;
	w.p.exitstatus = 3;
	w.p.state = PROCESS_EXITED;
	events_publish(&w.p, PROCESS_RUNNING, PROCESS_EXITED, NULL);
	/* mon holds 3: RUNNING (supervisor) was dropped, its pool
	 * serials used. */
	assert_int_equal(qa->n, 3);
	payload = test_listeners_at(qa, 0, &s, &ps, &t);
	assert_int_equal(t, LISTENERS_PROCESS_STATE_STARTING);
	payload = test_listeners_at(qa, 1, &s, &ps, &t);
	assert_int_equal(t, LISTENERS_PROCESS_STATE_RUNNING);
	assert_string_equal(payload, "processname:web groupname:web "
	    "from_state:STARTING pid:321");
	payload = test_listeners_at(qa, 2, &s, &ps, &t);
	assert_string_equal(payload, "processname:web groupname:web "
	    "from_state:RUNNING expected:0 pid:321");
	assert_int_equal(s, 6);
	assert_int_equal(ps, 3);
	/* audit took only the EXITED, with the same global serial. */
	assert_int_equal(qb->n, 4);
	payload = test_listeners_at(qb, 3, &s, &ps, &t);
	assert_int_equal(t, LISTENERS_PROCESS_STATE_EXITED);
	assert_int_equal(s, 6);
	assert_int_equal(ps, 3);

	/* REMOTE_COMMUNICATION: nobody subscribes, nothing happens. */
	assert_int_equal(listeners_remote_comm("t", "x", 1), 0);
	assert_int_equal(qb->n, 4);
	listeners_stopping(l);
	payload = test_listeners_at(qa, 2, &s, &ps, &t);
	assert_int_equal(t, LISTENERS_SUPERVISOR_STATE_CHANGE_STOPPING);
	assert_int_equal(s, 7);
	listeners_free(l);
	assert_int_equal(listeners_remote_comm("t", "x", 1), -1);
}

static void
test_listeners_group_removed(void **state)
{
	struct test_listeners_world w;
	char *ev_a[] = { S("EVENT"), NULL };
	char *ev_b[] = { S("TICK_5"), NULL };
	char *removed[] = { S("web") };
	struct config_diff diff = { 0 };
	struct process again;
	const struct listeners_queue *qa;
	struct listeners *l;
	enum listeners_type t;
	unsigned long s, ps;
	const char *payload;

	(void)state;
	test_listeners_world(&w, ev_a, 10, ev_b);
	assert_non_null(l = listeners_new(NULL, &w.cfg));
	qa = listeners_queue_of(l, "mon");
	w.p.pid = 55;
	w.p.state = PROCESS_STARTING;
	events_publish(&w.p, PROCESS_STOPPED, PROCESS_STARTING, NULL);
	w.p.state = PROCESS_STOPPING;
	events_publish(&w.p, PROCESS_STARTING, PROCESS_STOPPING, NULL);
	/* The group goes while its process still stops: REMOVED waits. */
	diff.removed = removed;
	diff.nremoved = 1;
	listeners_update(l, &w.cfg, &diff);
	assert_int_equal(qa->n, 2);
	/* A group of the same name comes back meanwhile: its process does
	 * not hold up the old group's REMOVED. */
	again = w.p;
	again.pid = 56;
	again.state = PROCESS_STARTING;
	events_publish(&again, PROCESS_STOPPED, PROCESS_STARTING, NULL);
	assert_int_equal(qa->n, 3);
	w.p.pid = 0;
	w.p.state = PROCESS_STOPPED;
	events_publish(&w.p, PROCESS_STOPPING, PROCESS_STOPPED, NULL);
	assert_int_equal(qa->n, 5);
	payload = test_listeners_at(qa, 3, &s, &ps, &t);
	assert_string_equal(payload, "processname:web groupname:web "
	    "from_state:STOPPING pid:55");
	payload = test_listeners_at(qa, 4, &s, &ps, &t);
	assert_int_equal(t, LISTENERS_PROCESS_GROUP_REMOVED);
	assert_string_equal(payload, "groupname:web\n");
	/* A remote event, with its type line. */
	assert_int_equal(listeners_remote_comm("ping", "a\nb", 3), 0);
	payload = test_listeners_at(qa, 5, &s, &ps, &t);
	assert_int_equal(t, LISTENERS_REMOTE_COMMUNICATION);
	assert_string_equal(payload, "type:ping\na\nb");
	listeners_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listeners_types),
		cmocka_unit_test(test_listeners_state_payloads),
		cmocka_unit_test(test_listeners_output),
		cmocka_unit_test(test_listeners_queue),
		cmocka_unit_test(test_listeners_envelope),
		cmocka_unit_test(test_listeners_proto),
		cmocka_unit_test(test_listeners_pools),
		cmocka_unit_test(test_listeners_group_removed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
