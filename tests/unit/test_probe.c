/* Probes against real sockets and processes, each test driving its own
 * event_base with a wall-clock deadline. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
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

#include "probe.h"

/* A writable string of block lifetime (config strings are not const). */
#define TP_S(lit)	((char []){ lit })

struct test_probe_result {
	int	 calls;
	bool	 ok;
	char	 why[256];
	struct probe **self;		/* cleared on report */
	struct probe *cancel;		/* cancelled from this callback */
	bool	 in_run;
};

static int test_probe_reaped_ours;
static bool test_probe_in_run;

static void
test_probe_cb(bool ok, const char *why, void *arg)
{
	struct test_probe_result *r = arg;

	assert_false(test_probe_in_run);
	r->calls++;
	r->ok = ok;
	snprintf(r->why, sizeof(r->why), "%s", why);
	if (r->self != NULL)
		*r->self = NULL;
	if (r->cancel != NULL) {
		probe_cancel(r->cancel);
		r->cancel = NULL;
	}
}

/* The supervisor's SIGCHLD loop, polled. */
static void
test_probe_on_reap(evutil_socket_t fd, short what, void *arg)
{
	pid_t pid;
	int st;

	(void)fd;
	(void)what;
	(void)arg;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		if (probe_reaped(pid, st))
			test_probe_reaped_ours++;
}

static double
test_probe_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the loop until *flag >= want or `secs` pass; true when reached. */
static bool
test_probe_loop(struct event_base *base, const int *flag, int want,
    double secs)
{
	struct timeval tick = { 0, 10000 };
	struct event *reap;
	double end = test_probe_now() + secs;
	bool reached;

	reap = event_new(base, -1, EV_PERSIST, test_probe_on_reap, NULL);
	event_add(reap, &tick);
	while (!(reached = (flag != NULL && *flag >= want)) &&
	    test_probe_now() < end)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(reap);
	return reached;
}

static struct probe *
test_probe_start(struct event_base *base, const struct probe_conf *conf,
    int timeout_ms, struct test_probe_result *r)
{
	struct probe *p;
	int before = r->calls;

	test_probe_in_run = true;
	p = probe_run(base, conf, NULL, NULL, timeout_ms, test_probe_cb, r);
	test_probe_in_run = false;
	assert_non_null(p);
	assert_int_equal(r->calls, before);
	return p;
}

/* A listening socket on 127.0.0.1 at an ephemeral port. */
static int
test_probe_listener(int *port, int backlog)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (backlog >= 0)
		assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
test_probe_tcp_ok(void **state)
{
	struct event_base *base = event_base_new();
	struct probe_conf conf = { .kind = PROBE_TCP, .host = TP_S("127.0.0.1") };
	struct test_probe_result r = { 0 };
	int lfd;

	(void)state;
	/* Never accepted: the kernel's backlog completes the handshake,
	 * which is all a tcp probe asks. */
	lfd = test_probe_listener(&conf.port, 16);
	test_probe_start(base, &conf, 2000, &r);
	assert_true(test_probe_loop(base, &r.calls, 1, 5));
	assert_true(r.ok);
	assert_string_equal(r.why, "ok");
	/* localhost is taken as 127.0.0.1. */
	conf.host = TP_S("localhost");
	test_probe_start(base, &conf, 2000, &r);
	assert_true(test_probe_loop(base, &r.calls, 2, 5));
	assert_true(r.ok);
	close(lfd);
	event_base_free(base);
}

static void
test_probe_tcp_refused(void **state)
{
	struct event_base *base = event_base_new();
	struct probe_conf conf = { .kind = PROBE_TCP, .host = TP_S("127.0.0.1") };
	struct test_probe_result r = { 0 };
	int fd;

	(void)state;
	fd = test_probe_listener(&conf.port, -1);	/* bound, not listening */
	test_probe_start(base, &conf, 2000, &r);
	assert_true(test_probe_loop(base, &r.calls, 1, 5));
	assert_false(r.ok);
	assert_string_equal(r.why, "connect: Connection refused");
	/* A name nobody has is resolved in the loop (evdns) and fails by
	 * the deadline at the latest, whether DNS answers or not. */
	conf.host = TP_S("example.invalid");
	test_probe_start(base, &conf, 2000, &r);
	assert_true(test_probe_loop(base, &r.calls, 2, 5));
	assert_false(r.ok);
	assert_true(strstr(r.why, "example.invalid") != NULL ||
	    strstr(r.why, "timed out") != NULL);
	close(fd);
	probe_dns_free();
	event_base_free(base);
}

static void
test_probe_tcp_timeout(void **state)
{
	struct event_base *base = event_base_new();
	struct probe_conf conf = { .kind = PROBE_TCP, .host = TP_S("127.0.0.1") };
	struct test_probe_result r = { 0 };
	int lfd, c[4], i;
	double t0;

	(void)state;
	/* A full accept queue: Linux drops further SYNs, so the connect
	 * hangs until the deadline. */
	lfd = test_probe_listener(&conf.port, 0);
	for (i = 0; i < 4; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };

		sin.sin_port = htons((uint16_t)conf.port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		c[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		(void)connect(c[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(50000);	/* let the handshakes settle; not a wait for a
			 * condition, the result does not depend on it */
	t0 = test_probe_now();
	test_probe_start(base, &conf, 300, &r);
	assert_true(test_probe_loop(base, &r.calls, 1, 5));
	assert_false(r.ok);
	assert_string_equal(r.why, "timed out after 300 ms");
	assert_true(test_probe_now() - t0 >= 0.29);
	for (i = 0; i < 4; i++)
		close(c[i]);
	close(lfd);
	event_base_free(base);
}

/* An HTTP peer that writes `answer` to each connection at accept,
 * without reading, then half-closes (NULL: never answers). */
struct test_probe_server {
	int		 lfd;
	int		 conns[8];
	int		 nconns;
	const char	*answer;
	size_t		 len;
	struct event	*ev;
};

static void
test_probe_on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct test_probe_server *s = arg;
	int c;

	(void)what;
	if ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return;
	assert_true(s->nconns < 8);
	s->conns[s->nconns++] = c;
	if (s->answer != NULL) {
		assert_int_equal(write(c, s->answer, s->len), (ssize_t)s->len);
		shutdown(c, SHUT_WR);
	}
}

static void
test_probe_http_one(const char *answer, size_t len, int timeout_ms,
    bool want_ok, const char *want_why)
{
	struct event_base *base = event_base_new();
	struct probe_conf conf = { .kind = PROBE_HTTP, .host = TP_S("127.0.0.1"),
	    .path = TP_S("/health") };
	struct test_probe_result r = { 0 };
	struct test_probe_server s = { .answer = answer, .len = len };
	int i;

	s.lfd = test_probe_listener(&conf.port, 16);
	s.ev = event_new(base, s.lfd, EV_READ | EV_PERSIST,
	    test_probe_on_accept, &s);
	event_add(s.ev, NULL);
	test_probe_start(base, &conf, timeout_ms, &r);
	if (!test_probe_loop(base, &r.calls, 1, 5))
		fail_msg("no answer for %s", want_why);
	assert_string_equal(r.why, want_why);
	assert_int_equal(r.ok, want_ok);
	assert_int_equal(s.nconns, 1);
	if (want_ok) {
		char req[512];
		const char *want = "GET /health HTTP/1.0\r\nHost: 127.0.0.1"
		    "\r\nConnection: close\r\n\r\n";
		ssize_t n;

		n = recv(s.conns[0], req, sizeof(req) - 1, MSG_DONTWAIT);
		assert_true(n > 0);
		req[n] = '\0';
		assert_string_equal(req, want);
	}
	event_free(s.ev);
	for (i = 0; i < s.nconns; i++)
		close(s.conns[i]);
	close(s.lfd);
	event_base_free(base);
}

static void
test_probe_http(void **state)
{
	static char big[6000];
	const char *a;

	(void)state;
	a = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	test_probe_http_one(a, strlen(a), 2000, true, "ok");
	a = "HTTP/1.0 302 Found\r\nLocation: /\r\n\r\n";
	test_probe_http_one(a, strlen(a), 2000, true, "ok");
	a = "HTTP/1.1 500 Internal Server Error\r\n\r\n";
	test_probe_http_one(a, strlen(a), 2000, false, "answered 500");
	a = "HTTP/1.1 404 Not Found\r\n\r\n";
	test_probe_http_one(a, strlen(a), 2000, false, "answered 404");
	a = "SSH-2.0-OpenSSH_9.6\r\n";
	test_probe_http_one(a, strlen(a), 2000, false, "not an HTTP answer");
	a = "";
	test_probe_http_one(a, 0, 2000, false,
	    "connection closed before a status line");
	/* A status line that never ends: reading stops at the cap. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "HTTP/1.1 200 ", 13);
	test_probe_http_one(big, sizeof(big), 2000, false,
	    "no status line in the first 4096 bytes of the answer");
	/* Accepts and never answers: the deadline decides. */
	test_probe_http_one(NULL, 0, 300, false, "timed out after 300 ms");
}

/* The process is gone or a zombie within secs. */
static bool
test_probe_gone(pid_t pid, double secs)
{
	double end = test_probe_now() + secs;
	char path[64], buf[256], *p;
	FILE *f;
	struct timespec ts = { 0, 10000000 };

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	while (test_probe_now() < end) {
		if ((f = fopen(path, "r")) == NULL)
			return true;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		if (p != NULL && (p = strrchr(buf, ')')) != NULL &&
		    strncmp(p, ") Z", 3) == 0)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static char *test_probe_tmpdir(void);

static void
test_probe_exec(void **state)
{
	struct event_base *base = event_base_new();
	char *ok[] = { TP_S("/bin/sh"), TP_S("-c"), TP_S("exit 0"), NULL };
	char *fail[] = { TP_S("false"), NULL };
	char *dir = test_probe_tmpdir(), pidfile[64], script[256], buf[64];
	char *slow[] = { TP_S("/bin/sh"), TP_S("-c"), script, NULL };
	pid_t sleeper;
	FILE *f;
	char *missing[] = { TP_S("/nonexistent/probe"), NULL };
	struct probe_conf conf = { .kind = PROBE_EXEC };
	struct test_probe_result r = { 0 };
	double t0;

	(void)state;
	conf.argv = ok;
	test_probe_start(base, &conf, 5000, &r);
	assert_true(test_probe_loop(base, &r.calls, 1, 5));
	assert_true(r.ok);

	conf.argv = fail;	/* found in PATH */
	test_probe_start(base, &conf, 5000, &r);
	assert_true(test_probe_loop(base, &r.calls, 2, 5));
	assert_false(r.ok);
	assert_string_equal(r.why, "exit status 1");

	conf.argv = missing;
	test_probe_start(base, &conf, 5000, &r);
	assert_true(test_probe_loop(base, &r.calls, 3, 5));
	assert_string_equal(r.why, "exit status 127");

	/* The deadline kills the whole group (the shell and its sleep)
	 * and the child is still reaped. */
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	snprintf(script, sizeof(script), "sleep 30 & echo $! >%s.tmp && "
	    "mv %s.tmp %s; wait", pidfile, pidfile, pidfile);
	test_probe_reaped_ours = 0;
	conf.argv = slow;
	t0 = test_probe_now();
	test_probe_start(base, &conf, 300, &r);
	assert_true(test_probe_loop(base, &r.calls, 4, 5));
	assert_false(r.ok);
	assert_string_equal(r.why, "timed out after 300 ms");
	assert_true(test_probe_now() - t0 < 3);
	assert_true(test_probe_loop(base, &test_probe_reaped_ours, 1, 5));
	assert_false(probe_reaped(12345678, 0));
	f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	sleeper = (pid_t)atoi(buf);
	assert_true(sleeper > 0);
	assert_true(test_probe_gone(sleeper, 5));
	unlink(pidfile);
	rmdir(dir);
	free(dir);
	event_base_free(base);
}

/* A probe cancelled from another probe's callback never reports; a
 * cancelled exec child is killed and reaped. */
static void
test_probe_cancel(void **state)
{
	struct event_base *base = event_base_new();
	char *slow[] = { TP_S("/bin/sh"), TP_S("-c"), TP_S("sleep 30"), NULL };
	struct probe_conf refused = { .kind = PROBE_TCP, .host = TP_S("127.0.0.1") };
	struct probe_conf ex = { .kind = PROBE_EXEC, .argv = slow };
	struct test_probe_result a = { 0 }, b = { 0 }, c = { 0 };
	struct probe *pb, *pc;
	int fd;

	(void)state;
	fd = test_probe_listener(&refused.port, -1);
	pb = test_probe_start(base, &ex, 400, &b);
	a.cancel = pb;
	test_probe_start(base, &refused, 2000, &a);
	test_probe_reaped_ours = 0;
	assert_true(test_probe_loop(base, &a.calls, 1, 5));
	assert_true(test_probe_loop(base, &test_probe_reaped_ours, 1, 5));
	/* Past b's deadline: it stays silent. */
	assert_false(test_probe_loop(base, &b.calls, 1, 0.6));
	assert_int_equal(b.calls, 0);

	/* Both results ready in the same loop turn: the first one's
	 * callback cancels the second, which then never reports. */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	pc = test_probe_start(base, &refused, 2000, &a);
	pb = test_probe_start(base, &refused, 2000, &b);
	a.cancel = pb;		/* whichever reports first cancels the */
	b.cancel = pc;		/* other */
	test_probe_reaped_ours = 0;
	assert_false(test_probe_loop(base, &test_probe_reaped_ours, 1, 0.3));
	assert_int_equal(a.calls + b.calls, 1);

	/* Cancel right after run, before the immediate result. */
	pc = test_probe_start(base, &refused, 2000, &c);
	probe_cancel(pc);
	probe_cancel(NULL);
	assert_false(test_probe_loop(base, &c.calls, 1, 0.3));
	close(fd);
	event_base_free(base);
}

static void
test_probe_on_ready(void *arg)
{
	(*(int *)arg)++;
}

static void
test_probe_on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(*(int *)arg)++;
}

static char *
test_probe_tmpdir(void)
{
	char *d = strdup("/tmp/test_probe.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static int
test_probe_sender(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static void
test_probe_notify(void **state)
{
	struct event_base *base = event_base_new();
	struct probe_notify *pn;
	char *dir = test_probe_tmpdir(), path[200];
	struct stat st;
	int n = 0, fd;

	(void)state;
	pn = probe_notify_new(base, dir, "web:web_00", test_probe_on_ready, &n);
	assert_non_null(pn);
	snprintf(path, sizeof(path), "%s", probe_notify_path(pn));
	assert_non_null(strstr(path, "/notify-web_web_00-"));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(probe_notify_chown(pn, getuid(), getgid()), 0);
	fd = test_probe_sender(path);
	/* Not READY=1 as a line: nothing. */
	assert_int_equal(send(fd, "STATUS=booting\nREADY=10", 23, 0), 23);
	assert_false(test_probe_loop(base, &n, 1, 0.2));
	assert_int_equal(send(fd, "STATUS=up\nREADY=1\n", 18, 0), 18);
	assert_true(test_probe_loop(base, &n, 1, 5));
	assert_int_equal(send(fd, "READY=1", 7, 0), 7);
	assert_false(test_probe_loop(base, &n, 2, 0.2));
	assert_int_equal(n, 1);
	probe_notify_reset(pn);
	assert_int_equal(send(fd, "READY=1", 7, 0), 7);
	assert_true(test_probe_loop(base, &n, 2, 5));
	close(fd);
	probe_notify_free(pn);
	assert_int_equal(lstat(path, &st), -1);
	probe_notify_free(NULL);

	/* A long name is shortened to fit sun_path. */
	pn = probe_notify_new(base, dir, "a_very_long_group_name_that_goes_on:"
	    "and_a_process_name_that_is_just_as_long_00",
	    test_probe_on_ready, &n);
	assert_non_null(pn);
	assert_true(strlen(probe_notify_path(pn)) < sizeof(
	    ((struct sockaddr_un *)NULL)->sun_path));
	probe_notify_free(pn);
	rmdir(dir);
	free(dir);
	event_base_free(base);
}

/* A flood of READY=1 and of oversized datagrams: one callback, the loop
 * keeps turning (a timer still fires) and the queue is drained. */
static void
test_probe_notify_flood(void **state)
{
	struct event_base *base = event_base_new();
	struct probe_notify *pn;
	char *dir = test_probe_tmpdir();
	static char big[60000];
	int n = 0, fd, i, sent = 0, ticks = 0;
	struct event *tick;
	struct timeval tv = { 0, 1000 };

	(void)state;
	pn = probe_notify_new(base, dir, "flood", test_probe_on_ready, &n);
	assert_non_null(pn);
	fd = test_probe_sender(probe_notify_path(pn));
	memcpy(big, "READY=1\n", 8);
	tick = event_new(base, -1, EV_PERSIST, test_probe_on_tick, &ticks);
	event_add(tick, &tv);
	for (i = 0; i < 5000; i++) {
		if (i % 2 == 0) {
			if (send(fd, "READY=1", 7, 0) == 7)
				sent++;
		} else if (send(fd, big, sizeof(big), 0) > 0) {
			sent++;
		}
		if (i % 50 == 0)
			event_base_loop(base, EVLOOP_NONBLOCK);
	}
	assert_true(sent > 0);
	assert_true(test_probe_loop(base, &ticks, 20, 5));
	assert_int_equal(n, 1);
	event_free(tick);
	close(fd);
	probe_notify_free(pn);
	rmdir(dir);
	free(dir);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_tcp_ok),
		cmocka_unit_test(test_probe_tcp_refused),
		cmocka_unit_test(test_probe_tcp_timeout),
		cmocka_unit_test(test_probe_http),
		cmocka_unit_test(test_probe_exec),
		cmocka_unit_test(test_probe_cancel),
		cmocka_unit_test(test_probe_notify),
		cmocka_unit_test(test_probe_notify_flood),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
