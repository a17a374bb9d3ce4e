/* The state file: round trip, fingerprints, atomic rewrite, and files
 * that are missing, corrupt, or in a directory that does not exist. */
#include <sys/stat.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "state.h"

static char test_state_dir[] = "/tmp/superd-test-state-XXXXXX";

static int
test_state_setup(void **st)
{
	(void)st;
	return mkdtemp(test_state_dir) == NULL ? -1 : 0;
}

static int
test_state_teardown(void **st)
{
	char cmd[128];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", test_state_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_state_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", test_state_dir, name);
}

static void
test_state_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_state_round_trip(void **st)
{
	char path[256];
	struct state *s;
	struct stat sb;

	(void)st;
	test_state_path(path, sizeof(path), "rt.json");
	s = state_new(path);
	assert_non_null(s);
	assert_int_equal(state_get(s, "web", 1), STATE_NONE);
	assert_false(state_dirty(s));
	assert_int_equal(state_set(s, "web", 1, STATE_STOPPED), 0);
	assert_int_equal(state_set(s, "job", 2, STATE_STARTED), 0);
	assert_true(state_dirty(s));
	assert_int_equal(state_flush(s), 0);
	assert_false(state_dirty(s));
	/* The same action again writes nothing. */
	assert_int_equal(state_set(s, "web", 1, STATE_STOPPED), 0);
	assert_false(state_dirty(s));
	state_free(s);
	/* No temp file left behind. */
	test_state_path(path, sizeof(path), "rt.json.tmp");
	assert_int_equal(stat(path, &sb), -1);

	test_state_path(path, sizeof(path), "rt.json");
	s = state_new(path);
	assert_int_equal(state_get(s, "web", 1), STATE_STOPPED);
	assert_int_equal(state_get(s, "job", 2), STATE_STARTED);
	/* Another definition: forgotten, and the forgetting is written. */
	assert_int_equal(state_get(s, "web", 7), STATE_NONE);
	assert_true(state_dirty(s));
	assert_int_equal(state_get(s, "web", 1), STATE_NONE);
	assert_int_equal(state_set(s, "job", 2, STATE_NONE), 0);
	assert_int_equal(state_flush(s), 0);
	state_free(s);
	s = state_new(path);
	assert_int_equal(state_get(s, "job", 2), STATE_NONE);
	state_free(s);
}

static void
test_state_bad_files(void **st)
{
	static const char *const bad[] = {
		"", "{", "[]", "{\"version\": 2, \"processes\": {}}",
		"{\"version\": 1, \"processes\": []}",
		"{\"version\": 1, \"processes\": {\"a\": {\"action\": 1}}}",
		("{\"version\": 1, \"processes\": {\"a\": {\"action\": \"x\", "
		    "\"definition\": \"0000000000000001\"}}}"),
		"{\"a\": 1, \"a\": 2}",
	};
	char path[256];
	struct state *s;
	size_t i;

	(void)st;
	test_state_path(path, sizeof(path), "bad.json");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		test_state_write(path, bad[i]);
		s = state_new(path);
		assert_non_null(s);
		assert_int_equal(state_get(s, "a", 1), STATE_NONE);
		state_free(s);
	}
	/* One bad entry costs only itself. */
	test_state_write(path, "{\"version\": 1, \"processes\": {"
	    "\"a\": 3, \"b\": {\"action\": \"stopped\", "
	    "\"definition\": \"0000000000000005\"}}}");
	s = state_new(path);
	assert_int_equal(state_get(s, "b", 5), STATE_STOPPED);
	state_free(s);
}

static void
test_state_missing_directory(void **st)
{
	char path[256];
	struct state *s;

	(void)st;
	test_state_path(path, sizeof(path), "nope/state.json");
	s = state_new(path);
	assert_non_null(s);
	assert_int_equal(state_set(s, "a", 1, STATE_STOPPED), 0);
	assert_int_equal(state_flush(s), -1);
	/* Still dirty: written once the directory exists. */
	assert_true(state_dirty(s));
	assert_int_equal(state_flush(s), -1);
	state_free(s);
	/* No path: never written, never fails. */
	s = state_new(NULL);
	assert_int_equal(state_set(s, "a", 1, STATE_STOPPED), 0);
	assert_int_equal(state_flush(s), 0);
	state_free(s);
}

static void
test_state_fingerprint(void **st)
{
	char s1[] = "sleep", n1[] = "1", n2[] = "2", web[] = "web";
	char srv[] = "/srv";
	char *argv1[] = { s1, n1, NULL }, *argv2[] = { s1, n2, NULL };
	struct proc_conf a, b;

	(void)st;
	memset(&a, 0, sizeof(a));
	a.name = a.group = a.program = web;
	a.argv = argv1;
	a.autostart = true;
	b = a;
	assert_true(state_fingerprint(&a) == state_fingerprint(&b));
	b.argv = argv2;
	assert_true(state_fingerprint(&a) != state_fingerprint(&b));
	b = a;
	b.directory = srv;
	assert_true(state_fingerprint(&a) != state_fingerprint(&b));
	b = a;
	b.priority = 5;	/* not part of how it runs */
	assert_true(state_fingerprint(&a) == state_fingerprint(&b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_state_bad_files),
		cmocka_unit_test(test_state_missing_directory),
		cmocka_unit_test(test_state_fingerprint),
	};

	return cmocka_run_group_tests(tests, test_state_setup,
	    test_state_teardown);
}
