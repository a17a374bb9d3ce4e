/*
 * Unit tests for daemon/output.c: the tail ring (wraparound, sizes,
 * offsets, clear), followers, EOF, the spliced file path keeping the
 * ring exact, timestamps, and whole lines on a shared stdout. Also
 * common/log.c's ring of superd's own log and its followers.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "log.h"
#include "output.h"

struct ring_fixture {
	char	 dir[64];
	char	 outpath[128];
	char	 errpath[160];
	struct event_base *base;
	struct proc_conf pc;
	struct output *out;
	int	 wr;		/* write end of the stdout pipe */
	int	 ewr;		/* write end of the stderr pipe */
};

static int
ring_setup(void **state)
{
	struct ring_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_ring.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->outpath, sizeof(f->outpath), "%s/t.out.log", f->dir);
	snprintf(f->errpath, sizeof(f->errpath), "%s/t.err.log", f->dir);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->pc.name = (char *)(uintptr_t)"t";
	f->pc.group = (char *)(uintptr_t)"t";
	f->pc.program = (char *)(uintptr_t)"t";
	f->pc.stdout_log.target = LOG_TARGET_NONE;
	f->pc.stderr_log.target = LOG_TARGET_NONE;
	f->wr = f->ewr = -1;
	*state = f;
	return 0;
}

static int
ring_teardown(void **state)
{
	struct ring_fixture *f = *state;
	char cmd[128];

	output_free(f->out);
	if (f->wr != -1)
		close(f->wr);
	if (f->ewr != -1)
		close(f->ewr);
	event_base_free(f->base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Make the output and attach fresh pipes (stderr too unless redirect). */
static void
ring_start(struct ring_fixture *f)
{
	int p[2], e[2] = { -1, -1 };

	if (f->out == NULL)
		f->out = output_new(f->base, &f->pc, "t");
	assert_non_null(f->out);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	if (!f->pc.redirect_stderr)
		assert_int_equal(pipe2(e, O_CLOEXEC), 0);
	assert_int_equal(output_attach(f->out, p[0], e[0]), 0);
	f->wr = p[1];
	f->ewr = e[1];
}

static void
ring_run(struct ring_fixture *f)
{
	int i;

	for (i = 0; i < 64; i++)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
}

static uint64_t
ring_offset(struct ring_fixture *f, enum output_stream s)
{
	char *data;
	size_t len;
	uint64_t off;

	assert_int_equal(output_tail(f->out, s, 0, &data, &len, &off), 0);
	free(data);
	return off;
}

/* Write len bytes in pieces the pipe takes, running the loop between. */
static void
ring_feed(struct ring_fixture *f, int fd, const char *buf, size_t len)
{
	enum output_stream s = fd == f->wr ? OUTPUT_STDOUT : OUTPUT_STDERR;
	uint64_t want = ring_offset(f, s) + len;
	size_t done = 0;
	int spins = 0;

	while (done < len) {
		size_t n = len - done > 32768 ? 32768 : len - done;
		ssize_t w = write(fd, buf + done, n);

		assert_true(w > 0);
		done += (size_t)w;
		ring_run(f);
	}
	while (ring_offset(f, s) < want && spins++ < 1000)
		ring_run(f);
	assert_int_equal(ring_offset(f, s), want);
}

static char *
ring_pattern(size_t n, unsigned seed)
{
	char *p = malloc(n);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (char)('a' + (i * 7 + i / 26 + seed) % 26);
	return p;
}

static void
ring_expect_tail(struct ring_fixture *f, enum output_stream s, size_t bytes,
    const char *want, size_t wantlen, uint64_t wantoff)
{
	char *data;
	size_t len;
	uint64_t off;

	assert_int_equal(output_tail(f->out, s, bytes, &data, &len, &off), 0);
	assert_int_equal(len, wantlen);
	assert_memory_equal(data, want, wantlen);
	assert_int_equal(off, wantoff);
	free(data);
}

static char *
ring_slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	*len = (size_t)st.st_size;
	close(fd);
	return buf;
}

static void
test_tail_sizes(void **state)
{
	struct ring_fixture *f = *state;
	const char *msg = "hello\nworld\n";

	ring_start(f);
	ring_expect_tail(f, OUTPUT_STDOUT, 1600, "", 0, 0);
	ring_feed(f, f->wr, msg, 12);
	ring_expect_tail(f, OUTPUT_STDOUT, 1600, msg, 12, 12);
	ring_expect_tail(f, OUTPUT_STDOUT, 6, "world\n", 6, 12);
	ring_expect_tail(f, OUTPUT_STDOUT, 0, "", 0, 12);
	ring_expect_tail(f, OUTPUT_STDERR, 1600, "", 0, 0);
}

static void
test_wraparound(void **state)
{
	struct ring_fixture *f = *state;
	size_t total = 3 * OUTPUT_RING_SIZE + 12345;
	char *data = ring_pattern(total, 0);

	ring_start(f);
	ring_feed(f, f->wr, data, total);
	ring_expect_tail(f, OUTPUT_STDOUT, SIZE_MAX,
	    data + total - OUTPUT_RING_SIZE, OUTPUT_RING_SIZE, total);
	ring_expect_tail(f, OUTPUT_STDOUT, 100, data + total - 100, 100,
	    total);
	ring_expect_tail(f, OUTPUT_STDOUT, 12346, data + total - 12346,
	    12346, total);
	free(data);
}

static void
test_clear(void **state)
{
	struct ring_fixture *f = *state;

	ring_start(f);
	ring_feed(f, f->wr, "abc", 3);
	assert_int_equal(output_clear(f->out), 0);
	ring_expect_tail(f, OUTPUT_STDOUT, 1600, "", 0, 3);
	ring_feed(f, f->wr, "de", 2);
	ring_expect_tail(f, OUTPUT_STDOUT, 1600, "de", 2, 5);
}

struct ring_sink {
	char	*buf;
	size_t	 len;
	int	 calls;
	int	 ended;
	struct output_follower *self;
	int	 stop_after;
};

static void
ring_follow_cb(const char *data, size_t len, void *arg)
{
	struct ring_sink *s = arg;

	if (data == NULL) {
		s->ended++;
		return;
	}
	s->buf = realloc(s->buf, s->len + len);
	assert_non_null(s->buf);
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	if (++s->calls == s->stop_after)
		output_unfollow(s->self);
}

static void
test_followers(void **state)
{
	struct ring_fixture *f = *state;
	size_t total = 200000;
	char *data = ring_pattern(total, 3);
	struct ring_sink a = { 0 }, b = { 0 };

	ring_start(f);
	ring_feed(f, f->wr, "before", 6);
	a.self = output_follow(f->out, OUTPUT_STDOUT, ring_follow_cb, &a);
	b.self = output_follow(f->out, OUTPUT_STDOUT, ring_follow_cb, &b);
	b.stop_after = 1;	/* unfollows itself from the callback */
	ring_feed(f, f->wr, data, total);
	assert_int_equal(a.len, total);
	assert_memory_equal(a.buf, data, total);
	assert_int_equal(b.calls, 1);
	output_unfollow(a.self);
	ring_feed(f, f->wr, "after", 5);
	assert_int_equal(a.len, total);
	/* A follower alive at output_free() hears the end. */
	a.self = output_follow(f->out, OUTPUT_STDOUT, ring_follow_cb, &a);
	output_free(f->out);
	f->out = NULL;
	assert_int_equal(a.ended, 1);
	free(a.buf);
	free(b.buf);
	free(data);
}

static void
test_eof_and_restart(void **state)
{
	struct ring_fixture *f = *state;
	int old;

	ring_start(f);
	ring_feed(f, f->wr, "run1\n", 5);
	old = f->wr;
	/* A second run while the first run's pipe is still open (a
	 * grandchild): both are read. */
	close(f->ewr);
	ring_start(f);
	assert_int_equal(write(old, "late\n", 5), 5);
	ring_run(f);
	ring_feed(f, f->wr, "run2\n", 5);
	ring_expect_tail(f, OUTPUT_STDOUT, 100, "run1\nlate\nrun2\n", 15, 15);
	close(old);
	ring_run(f);
	close(f->wr);
	f->wr = -1;
	ring_run(f);
	ring_expect_tail(f, OUTPUT_STDOUT, 100, "run1\nlate\nrun2\n", 15, 15);
}

static void
test_file_splice_keeps_ring(void **state)
{
	struct ring_fixture *f = *state;
	size_t total = 5 * OUTPUT_RING_SIZE + 777, len;
	char *data = ring_pattern(total, 5), *got, *got1;
	size_t len1;

	f->pc.stdout_log.target = LOG_TARGET_FILE;
	f->pc.stdout_log.path = f->outpath;
	f->pc.stdout_log.maxbytes = 100000;
	f->pc.stdout_log.backups = 5;
	ring_start(f);
	ring_feed(f, f->wr, data, total);
	ring_expect_tail(f, OUTPUT_STDOUT, SIZE_MAX,
	    data + total - OUTPUT_RING_SIZE, OUTPUT_RING_SIZE, total);
	got = ring_slurp(f->outpath, &len);
	assert_non_null(got);
	assert_int_equal(len, total % 100000);
	assert_memory_equal(got, data + total - len, len);
	snprintf(f->errpath, sizeof(f->errpath), "%s.1", f->outpath);
	got1 = ring_slurp(f->errpath, &len1);
	assert_non_null(got1);
	assert_int_equal(len1, 100000);
	assert_memory_equal(got1, data + total - len - len1, len1);
	assert_int_equal(output_lost(f->out, OUTPUT_STDOUT), 0);
	free(got);
	free(got1);
	free(data);
}

static void
test_timestamps(void **state)
{
	struct ring_fixture *f = *state;
	char *got;
	size_t len;

	f->pc.stdout_log.target = LOG_TARGET_FILE;
	f->pc.stdout_log.path = f->outpath;
	f->pc.stdout_log.timestamps = true;
	ring_start(f);
	ring_feed(f, f->wr, "one\ntw", 6);
	ring_feed(f, f->wr, "o\nthree\n", 8);
	ring_expect_tail(f, OUTPUT_STDOUT, 100, "one\ntwo\nthree\n", 14, 14);
	got = ring_slurp(f->outpath, &len);
	assert_non_null(got);
	/* 2026-11-26T12:00:00.123+00:00 one */
	assert_int_equal(len, 14 + 3 * 30);
	assert_true(got[4] == '-' && got[10] == 'T' && got[19] == '.' &&
	    (got[23] == '+' || got[23] == '-') && got[26] == ':' &&
	    got[29] == ' ');
	assert_memory_equal(got + 30, "one\n", 4);
	assert_memory_equal(got + 64, "two\n", 4);
	assert_memory_equal(got + 98, "three\n", 6);
	free(got);
}

static void
test_redirect_and_none(void **state)
{
	struct ring_fixture *f = *state;
	struct stat st;

	f->pc.redirect_stderr = true;
	f->pc.stderr_log.target = LOG_TARGET_FILE;
	f->pc.stderr_log.path = f->errpath;
	ring_start(f);
	ring_feed(f, f->wr, "x\n", 2);
	ring_expect_tail(f, OUTPUT_STDOUT, 100, "x\n", 2, 2);
	/* stderr's file is not used with redirect_stderr. */
	assert_int_equal(stat(f->errpath, &st), -1);
}

static void
test_stdout_whole_lines(void **state)
{
	struct ring_fixture *f = *state;
	char path[128], *got, *big;
	size_t len;
	int saved, fd;

	snprintf(path, sizeof(path), "%s/stdout", f->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	saved = dup(STDOUT_FILENO);
	assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	close(fd);
	f->pc.stdout_log.target = LOG_TARGET_STDOUT;
	f->pc.stdout_log.maxbytes = 10;	/* never applies to stdout */
	ring_start(f);
	ring_feed(f, f->wr, "par", 3);
	got = ring_slurp(path, &len);
	assert_int_equal(len, 0);
	free(got);
	ring_feed(f, f->wr, "tial\nnext", 9);
	got = ring_slurp(path, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(got, "partial\n", 8);
	free(got);
	/* A line longer than the ring goes out in ring-sized pieces. */
	big = ring_pattern(OUTPUT_RING_SIZE + 100, 1);
	ring_feed(f, f->wr, big, OUTPUT_RING_SIZE + 100);
	got = ring_slurp(path, &len);
	assert_int_equal(len, 8 + OUTPUT_RING_SIZE);
	free(got);
	/* EOF flushes the rest. */
	close(f->wr);
	f->wr = -1;
	ring_run(f);
	got = ring_slurp(path, &len);
	assert_int_equal(len, 8 + 4 + OUTPUT_RING_SIZE + 100);
	assert_memory_equal(got + 8, "next", 4);
	assert_memory_equal(got + 12, big, OUTPUT_RING_SIZE + 100);
	free(got);
	free(big);
	dup2(saved, STDOUT_FILENO);
	close(saved);
}

/* superd's own log: whole lines, the last LOG_RING_SIZE bytes, offsets. */
struct log_seen {
	char	 buf[8192];
	size_t	 len;
	int	 calls;
	struct log_follower *self;	/* unfollow from inside */
};

static void
log_seen_cb(const char *line, size_t len, void *arg)
{
	struct log_seen *s = arg;

	assert_true(len > 0 && line[len - 1] == '\n');
	if (s->len + len < sizeof(s->buf)) {
		memcpy(s->buf + s->len, line, len);
		s->len += len;
	}
	s->calls++;
	if (s->self != NULL) {
		log_unfollow(s->self);
		s->self = NULL;
	}
}

static void
test_log_ring(void **state)
{
	struct log_seen a, b;
	unsigned long long off0, off;
	char *data;
	size_t len;
	int devnull, saved, i;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	saved = dup(STDERR_FILENO);
	devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, STDERR_FILENO);
	close(devnull);
	unsetenv("JOURNAL_STREAM");
	log_init(LOG_LEVEL_INFO);
	/* Before enable nothing is kept. */
	log_info("not kept");
	assert_int_equal(log_ring_tail(100, &data, &len, &off0), 0);
	assert_int_equal(len, 0);
	free(data);
	log_ring_enable();
	assert_int_equal(log_ring_tail(100, &data, &len, &off0), 0);
	free(data);
	log_warn("hello %d", 1);
	log_debug("below the threshold");
	assert_int_equal(log_ring_tail(LOG_RING_SIZE, &data, &len, &off), 0);
	assert_true(off > off0);
	assert_int_equal(len, (size_t)(off - off0));
	assert_non_null(strstr(data, " WARN hello 1\n"));
	assert_null(strstr(data, "below"));
	free(data);

	/* Followers see each whole line; one leaves from its callback. */
	assert_non_null(log_follow(log_seen_cb, &a));
	b.self = log_follow(log_seen_cb, &b);
	assert_non_null(b.self);
	log_info("first");
	log_info("second");
	assert_int_equal(a.calls, 2);
	assert_int_equal(b.calls, 1);
	a.buf[a.len] = '\0';
	assert_non_null(strstr(a.buf, "INFO first\n"));
	assert_non_null(strstr(a.buf, "INFO second\n"));

	/* Wraparound: the ring holds exactly the last LOG_RING_SIZE bytes,
	 * and they end with the last line. */
	for (i = 0; i < 2000; i++)
		log_info("line %04d of a log that wraps the ring", i);
	assert_int_equal(log_ring_tail(SIZE_MAX, &data, &len, &off), 0);
	assert_int_equal(len, LOG_RING_SIZE);
	assert_true(off > LOG_RING_SIZE);
	assert_non_null(strstr(data + len - 60,
	    "line 1999 of a log that wraps the ring\n"));
	free(data);
	assert_int_equal(log_ring_tail(39, &data, &len, &off), 0);
	assert_memory_equal(data, "line 1999 of a log that wraps the ring\n",
	    39);
	free(data);
	dup2(saved, STDERR_FILENO);
	close(saved);
}

/* Under journald: "<N>" priorities, no timestamp of our own. */
static void
test_log_journal(void **state)
{
	char path[] = "/tmp/test_ring_journal.XXXXXX", buf[512], env[64];
	struct stat st;
	ssize_t n;
	int fd, saved;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_init(LOG_LEVEL_DEBUG);
	log_error("e");
	log_warn("w");
	log_info("i");
	log_debug("d");
	/* Another stream: back to our own timestamps. */
	setenv("JOURNAL_STREAM", "1:2", 1);
	log_init(LOG_LEVEL_DEBUG);
	log_info("x");
	unsetenv("JOURNAL_STREAM");
	log_init(LOG_LEVEL_INFO);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_true(strncmp(buf, "<3>e\n<4>w\n<6>i\n<7>d\n", 20) == 0);
	assert_non_null(strstr(buf + 20, " INFO x\n"));
	assert_true(buf[20] >= '0' && buf[20] <= '9');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tail_sizes, ring_setup,
		    ring_teardown),
		cmocka_unit_test_setup_teardown(test_wraparound, ring_setup,
		    ring_teardown),
		cmocka_unit_test_setup_teardown(test_clear, ring_setup,
		    ring_teardown),
		cmocka_unit_test_setup_teardown(test_followers, ring_setup,
		    ring_teardown),
		cmocka_unit_test_setup_teardown(test_eof_and_restart,
		    ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_file_splice_keeps_ring,
		    ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_timestamps, ring_setup,
		    ring_teardown),
		cmocka_unit_test_setup_teardown(test_redirect_and_none,
		    ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_stdout_whole_lines,
		    ring_setup, ring_teardown),
		cmocka_unit_test(test_log_ring),
		cmocka_unit_test(test_log_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
