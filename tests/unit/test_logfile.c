/* Unit tests for daemon/logfile.c: rotation boundaries, safety, reopen. */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "logfile.h"

static char test_dir[64];

static const char *
test_path(const char *name)
{
	static char buf[4][256];
	static int n;

	n = (n + 1) % 4;
	snprintf(buf[n], sizeof(buf[n]), "%s/%s", test_dir, name);
	return buf[n];
}

/* Whole file into a new buffer; *len its size; NULL if missing. */
static char *
test_slurp(const char *name, size_t *len)
{
	struct stat st;
	char *buf;
	int fd;
	ssize_t r;

	if ((fd = open(test_path(name), O_RDONLY)) == -1)
		return NULL;
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	r = read(fd, buf, (size_t)st.st_size);
	assert_int_equal(r, st.st_size);
	close(fd);
	buf[r] = '\0';
	*len = (size_t)r;
	return buf;
}

static bool
test_exists(const char *name)
{
	struct stat st;

	return lstat(test_path(name), &st) == 0;
}

static void
test_write_file(const char *name, const char *text)
{
	int fd = open(test_path(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Bytes 0..n-1 of a pattern that shows reordering. */
static char *
test_pattern(size_t n)
{
	char *p = malloc(n);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (char)('a' + (i * 7 + i / 26) % 26);
	return p;
}

static int
test_setup(void **state)
{
	(void)state;
	snprintf(test_dir, sizeof(test_dir), "/tmp/test_logfile.XXXXXX");
	assert_non_null(mkdtemp(test_dir));
	return 0;
}

static int
test_teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static struct logfile *
test_open(const char *name, uint64_t maxbytes, int backups)
{
	const char *why = NULL;
	struct logfile *lf;

	lf = logfile_open(test_path(name), maxbytes, backups, false, &why);
	if (lf == NULL)
		fail_msg("open %s: %s: %s", name, why, strerror(errno));
	return lf;
}

static void
test_expect(const char *name, const char *data, size_t len)
{
	size_t got;
	char *buf = test_slurp(name, &got);

	if (buf == NULL)
		fail_msg("%s missing", name);
	assert_int_equal(got, len);
	assert_memory_equal(buf, data, len);
	free(buf);
}

static void
test_exact_maxbytes(void **state)
{
	struct logfile *lf = test_open("log", 100, 3);
	char *data = test_pattern(101);

	(void)state;
	assert_int_equal(logfile_write(lf, data, 100), 100);
	assert_false(test_exists("log.1"));
	test_expect("log", data, 100);
	assert_int_equal(logfile_write(lf, data + 100, 1), 1);
	test_expect("log.1", data, 100);
	test_expect("log", data + 100, 1);
	assert_int_equal(logfile_size(lf), 1);
	logfile_close(lf);
	free(data);
}

static void
test_split_large_write(void **state)
{
	struct logfile *lf = test_open("log", 100, 3);
	char *data = test_pattern(250);

	(void)state;
	assert_int_equal(logfile_write(lf, data, 250), 250);
	test_expect("log.2", data, 100);
	test_expect("log.1", data + 100, 100);
	test_expect("log", data + 200, 50);
	assert_false(test_exists("log.3"));
	logfile_close(lf);
	free(data);
}

static void
test_backups_shift(void **state)
{
	struct logfile *lf = test_open("log", 100, 2);
	char *data = test_pattern(1000);
	size_t i;

	(void)state;
	/* Odd-sized writes so that boundaries fall inside them. */
	for (i = 0; i < 1000; i += 37)
		assert_int_equal(logfile_write(lf, data + i,
		    i + 37 > 1000 ? 1000 - i : 37), i + 37 > 1000 ? 1000 - i :
		    37);
	test_expect("log", data + 900, 100);
	test_expect("log.1", data + 800, 100);
	test_expect("log.2", data + 700, 100);
	assert_false(test_exists("log.3"));
	assert_false(test_exists(".log.new"));
	logfile_close(lf);
	free(data);
}

/* One backup: the old .1 is removed before NAME takes its place. */
static void
test_backups_one(void **state)
{
	struct logfile *lf = test_open("log", 100, 1);
	char *data = test_pattern(350);

	(void)state;
	assert_int_equal(logfile_write(lf, data, 350), 350);
	test_expect("log", data + 300, 50);
	test_expect("log.1", data + 200, 100);
	assert_false(test_exists("log.2"));
	assert_false(test_exists(".log.new"));
	logfile_close(lf);
	free(data);
}

static void
test_backups_zero_truncates(void **state)
{
	struct logfile *lf = test_open("log", 100, 0);
	char *data = test_pattern(150);

	(void)state;
	assert_int_equal(logfile_write(lf, data, 150), 150);
	test_expect("log", data + 100, 50);
	assert_false(test_exists("log.1"));
	logfile_close(lf);
	free(data);
}

static void
test_maxbytes_zero_never_rotates(void **state)
{
	struct logfile *lf = test_open("log", 0, 5);
	char *data = test_pattern(1 << 20);
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(logfile_write(lf, data + i * (1 << 18),
		    1 << 18), 1 << 18);
	test_expect("log", data, 1 << 20);
	assert_false(test_exists("log.1"));
	logfile_close(lf);
	free(data);
}

static void
test_existing_size_counts(void **state)
{
	struct logfile *lf;
	char *data = test_pattern(20);
	char old[91];

	(void)state;
	memset(old, 'o', 90);
	old[90] = '\0';
	test_write_file("log", old);
	lf = test_open("log", 100, 1);
	assert_int_equal(logfile_size(lf), 90);
	assert_int_equal(logfile_write(lf, data, 20), 20);
	test_expect("log", data + 10, 10);
	logfile_close(lf);
	free(data);
}

static void
test_symlink_refused(void **state)
{
	const char *why = NULL;
	struct logfile *lf;

	(void)state;
	test_write_file("victim", "SECRET");
	assert_int_equal(symlink(test_path("victim"), test_path("log")), 0);
	lf = logfile_open(test_path("log"), 100, 1, false, &why);
	assert_null(lf);
	assert_non_null(strstr(why, "symbolic link"));
	test_expect("victim", "SECRET", 6);
	/* A dangling one must not create its target either. */
	assert_int_equal(symlink(test_path("newvictim"), test_path("log2")),
	    0);
	assert_null(logfile_open(test_path("log2"), 100, 1, false, &why));
	assert_false(test_exists("newvictim"));
}

static void
test_hardlink_refused(void **state)
{
	const char *why = NULL;

	(void)state;
	test_write_file("victim", "SECRET");
	assert_int_equal(link(test_path("victim"), test_path("log")), 0);
	assert_null(logfile_open(test_path("log"), 100, 1, false, &why));
	assert_non_null(strstr(why, "hard link"));
	test_expect("victim", "SECRET", 6);
}

static void
test_fifo_refused(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_int_equal(mkfifo(test_path("log"), 0600), 0);
	/* Must not hang waiting for a reader. */
	assert_null(logfile_open(test_path("log"), 100, 1, false, &why));
}

static void
test_dir_symlink_refused(void **state)
{
	const char *why = NULL;
	char path[512];

	(void)state;
	assert_int_equal(mkdir(test_path("real"), 0700), 0);
	assert_int_equal(symlink(test_path("real"), test_path("link")), 0);
	snprintf(path, sizeof(path), "%s/log", test_path("link"));
	assert_null(logfile_open(path, 100, 1, false, &why));
	assert_false(test_exists("real/log"));
}

static void
test_mkdirs(void **state)
{
	const char *why = NULL;
	struct logfile *lf;
	char path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/a/b/log", test_dir);
	assert_null(logfile_open(path, 100, 1, false, &why));
	lf = logfile_open(path, 100, 1, true, &why);
	assert_non_null(lf);
	assert_int_equal(logfile_write(lf, "x", 1), 1);
	test_expect("a/b/log", "x", 1);
	logfile_close(lf);
}

static void
test_reopen_after_rename(void **state)
{
	const char *why = NULL;
	struct logfile *lf = test_open("log", 0, 0);

	(void)state;
	assert_int_equal(logfile_write(lf, "before\n", 7), 7);
	assert_int_equal(rename(test_path("log"), test_path("log.old")), 0);
	assert_int_equal(logfile_write(lf, "moved\n", 6), 6);
	assert_int_equal(logfile_reopen(lf, &why), 0);
	assert_int_equal(logfile_write(lf, "after\n", 6), 6);
	test_expect("log.old", "before\nmoved\n", 13);
	test_expect("log", "after\n", 6);
	/* A symlink planted for the reopen: refused, old file kept. */
	assert_int_equal(rename(test_path("log"), test_path("log.old2")), 0);
	test_write_file("victim", "SECRET");
	assert_int_equal(symlink(test_path("victim"), test_path("log")), 0);
	assert_int_equal(logfile_reopen(lf, &why), -1);
	assert_int_equal(logfile_write(lf, "kept\n", 5), 5);
	test_expect("victim", "SECRET", 6);
	test_expect("log.old2", "after\nkept\n", 11);
	logfile_close(lf);
}

static void
test_truncate(void **state)
{
	struct logfile *lf = test_open("log", 100, 2);
	char *data = test_pattern(150);

	(void)state;
	assert_int_equal(logfile_write(lf, data, 150), 150);
	assert_int_equal(logfile_truncate(lf), 0);
	assert_int_equal(logfile_write(lf, "new", 3), 3);
	test_expect("log", "new", 3);
	test_expect("log.1", data, 100);	/* backups left alone */
	logfile_close(lf);
	free(data);
}

static void
test_planted_new_name(void **state)
{
	struct logfile *lf = test_open("log", 10, 1);

	(void)state;
	test_write_file("victim", "SECRET");
	assert_int_equal(symlink(test_path("victim"), test_path(".log.new")),
	    0);
	assert_int_equal(logfile_write(lf, "0123456789abc", 13), 13);
	test_expect("log.1", "0123456789", 10);
	test_expect("log", "abc", 3);
	test_expect("victim", "SECRET", 6);
	logfile_close(lf);
}

static void
test_splice_and_readback(void **state)
{
	struct logfile *lf = test_open("log", 100, 2);
	char *data = test_pattern(250);
	char back[50];
	size_t moved, total = 0;
	int p[2];

	(void)state;
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	assert_int_equal(write(p[1], data, 250), 250);
	/* Each call stops at the rotation boundary. */
	while (total < 250) {
		int rc = logfile_splice(lf, p[0], 1000, &moved);

		if (rc == -1 && errno == EINVAL)
			fail_msg("splice EINVAL after %zu moved %zu", total, moved);
		assert_true(moved > 0);
		assert_true(moved <= 100);
		assert_int_equal(logfile_readback(lf, back, moved > 50 ? 50 :
		    moved, moved), 0);
		assert_memory_equal(back, data + total, moved > 50 ? 50 :
		    moved);
		total += moved;
	}
	assert_int_equal(logfile_splice(lf, p[0], 1000, &moved), -1);
	assert_int_equal(errno, EAGAIN);
	close(p[1]);
	assert_int_equal(logfile_splice(lf, p[0], 1000, &moved), 0);
	assert_int_equal(moved, 0);
	close(p[0]);
	test_expect("log.2", data, 100);
	test_expect("log.1", data + 100, 100);
	test_expect("log", data + 200, 50);
	/* Still O_APPEND afterwards. */
	assert_int_equal(logfile_write(lf, "z", 1), 1);
	logfile_close(lf);
	free(data);
}

/* A write that fails mid-splice (here the file size limit): what the
 * splice took but could not write comes back, in order, from
 * logfile_spill(); the next splice starts clean. */
static void
test_splice_spill(void **state)
{
	struct logfile *lf = test_open("log", 0, 0);
	char *data = test_pattern(30000);
	char buf[30000];
	struct rlimit old, lim;
	size_t moved = 0, got = 0, n;
	int p[2], rc;

	(void)state;
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	assert_int_equal(write(p[1], data, 30000), 30000);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 10000;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = logfile_splice(lf, p[0], 30000, &moved);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(rc, -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(moved, 10000);
	while ((n = logfile_spill(buf + got, sizeof(buf) - got)) > 0)
		got += n;
	/* What the pipe still holds was never taken. */
	n = (size_t)read(p[0], buf + got, sizeof(buf) - got);
	if (n == (size_t)-1)
		n = 0;
	assert_int_equal(moved + got + n, 30000);
	assert_memory_equal(buf, data + moved, got + n);
	test_expect("log", data, 10000);
	/* Working again: the relay is empty, nothing stale comes along. */
	assert_int_equal(write(p[1], "tail", 4), 4);
	assert_int_equal(logfile_splice(lf, p[0], 100, &moved), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(moved, 4);
	memcpy(buf, data, 10000);
	memcpy(buf + 10000, "tail", 4);
	test_expect("log", buf, 10004);
	close(p[0]);
	close(p[1]);
	logfile_close(lf);
	free(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exact_maxbytes,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_split_large_write,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_backups_shift,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_backups_one,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_backups_zero_truncates,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(
		    test_maxbytes_zero_never_rotates, test_setup,
		    test_teardown),
		cmocka_unit_test_setup_teardown(test_existing_size_counts,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_symlink_refused,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_refused,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_fifo_refused,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_dir_symlink_refused,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_mkdirs, test_setup,
		    test_teardown),
		cmocka_unit_test_setup_teardown(test_reopen_after_rename,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_truncate, test_setup,
		    test_teardown),
		cmocka_unit_test_setup_teardown(test_planted_new_name,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_splice_and_readback,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_splice_spill,
		    test_setup, test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
