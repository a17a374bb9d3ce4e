/* cmocka tests for daemon/methods.c: the method table and its role
 * flags, and the UTF-8 repair of program output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "methods.h"

/* Every method of SPEC.md section 5, with the role it needs. */
static void
test_methods_table(void **state)
{
	static const struct {
		const char *name;
		int flags;
	} want[] = {
		{ "daemon.version", METHODS_READONLY },
		{ "daemon.info", METHODS_READONLY },
		{ "daemon.shutdown", METHODS_CONTROL },
		{ "daemon.reopen_logs", METHODS_CONTROL },
		{ "process.list", METHODS_READONLY },
		{ "process.start", METHODS_CONTROL },
		{ "process.stop", METHODS_CONTROL },
		{ "process.restart", METHODS_CONTROL },
		{ "process.signal", METHODS_CONTROL },
		{ "process.tail", METHODS_READONLY },
		{ "process.clear_log", METHODS_CONTROL },
		{ "process.stdin", METHODS_CONTROL },
		{ "config.reread", METHODS_CONTROL },
		{ "config.update", METHODS_CONTROL },
		{ "config.avail", METHODS_CONTROL },
		{ "events.subscribe", METHODS_READONLY },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(methods_flags(want[i].name), want[i].flags);
}

/* R03: exact match only. */
static void
test_methods_lookup_exact(void **state)
{
	static const char *const bad[] = { "", "process", "process.",
		"PROCESS.LIST", "Process.list", "process.list ",
		" process.list", "../process.list", "process.list\n",
		"process.list.x", "spawn_child", "reload_config",
		"method_process_start", "process_start", "daemon.version\t" };
	char *big;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(methods_flags(bad[i]), -1);
	assert_int_equal(methods_flags(NULL), -1);
	big = malloc(65537);
	assert_non_null(big);
	memset(big, 'a', 65536);
	big[65536] = '\0';
	assert_int_equal(methods_flags(big), -1);
	/* A valid name as a prefix of a long one. */
	memcpy(big, "process.list", 12);
	assert_int_equal(methods_flags(big), -1);
	free(big);
}

static void
test_methods_utf8_case(const char *in, size_t len, const char *want)
{
	json_t *s = methods_string_from_bytes(in, len);

	assert_non_null(s);
	assert_int_equal(json_string_length(s), strlen(want));
	assert_memory_equal(json_string_value(s), want, strlen(want));
	json_decref(s);
}

static void
test_methods_utf8(void **state)
{
	(void)state;
	test_methods_utf8_case("", 0, "");
	test_methods_utf8_case("plain\n", 6, "plain\n");
	test_methods_utf8_case("h\xc3\xa9llo", 6, "h\xc3\xa9llo");
	test_methods_utf8_case("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80");
	/* Bad bytes become U+FFFD, one per byte, never an error. */
	test_methods_utf8_case("a\xff" "b", 3, "a\xef\xbf\xbd" "b");
	test_methods_utf8_case("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd");
	test_methods_utf8_case("\xed\xa0\x80", 3,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	test_methods_utf8_case("\xf4\x90\x80\x80", 4,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	test_methods_utf8_case("x\xc3", 2, "x\xef\xbf\xbd");
	/* NUL would break C clients: replaced too. */
	test_methods_utf8_case("a\0b", 3, "a\xef\xbf\xbd" "b");
}

/* Whatever the bytes, the result dumps to JSON a strict parser takes. */
static void
test_methods_utf8_all_bytes(void **state)
{
	unsigned char buf[4096];
	json_t *s, *back;
	json_error_t err;
	char *text;
	size_t i;

	(void)state;
	srand(1);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(rand() & 0xff);
	s = methods_string_from_bytes((const char *)buf, sizeof(buf));
	assert_non_null(s);
	text = json_dumps(s, JSON_ENCODE_ANY);
	assert_non_null(text);
	back = json_loads(text, JSON_DECODE_ANY, &err);
	assert_non_null(back);
	json_decref(back);
	free(text);
	json_decref(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_methods_table),
		cmocka_unit_test(test_methods_lookup_exact),
		cmocka_unit_test(test_methods_utf8),
		cmocka_unit_test(test_methods_utf8_all_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
