/* Unit tests for common/values.c: one value parser at a time. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "values.h"

static void
test_bool(void **state)
{
	static const char *yes[] = { "true", "TRUE", "yes", "On", "1" };
	static const char *no[] = { "false", "No", "off", "0" };
	static const char *bad[] = { "", "2", "maybe", "true ", "y" };
	char err[128];
	bool b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(values_parse_bool(yes[i], &b, err,
		    sizeof(err)), 0);
		assert_true(b);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		assert_int_equal(values_parse_bool(no[i], &b, err,
		    sizeof(err)), 0);
		assert_false(b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(values_parse_bool(bad[i], &b, err,
		    sizeof(err)), -1);
	assert_non_null(strstr(err, "true/false"));
}

static void
test_int(void **state)
{
	char err[128];
	long long v;

	(void)state;
	assert_int_equal(values_parse_int("42", 0, 100, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(v, 42);
	assert_int_equal(values_parse_int("-5", -10, 10, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(v, -5);
	assert_int_equal(values_parse_int("101", 0, 100, &v, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "out of range 0..100"));
	assert_int_equal(values_parse_int("99999999999999999999", 0,
	    1000000, &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(values_parse_int("1e9", 0, 100, &v, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "integer"));
	assert_int_equal(values_parse_int("", 0, 100, &v, err,
	    sizeof(err)), -1);
	assert_int_equal(values_parse_int(" 1", 0, 100, &v, err,
	    sizeof(err)), -1);
	assert_int_equal(values_parse_int("1x", 0, 100, &v, err,
	    sizeof(err)), -1);
	assert_int_equal(values_parse_int("-1", 0, 100, &v, NULL, 0), -1);
}

static void
test_size(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "0", 0 }, { "1024", 1024 }, { "64KB", 65536 },
		{ "50MB", 50ULL << 20 }, { "1GB", 1ULL << 30 },
		{ "2gb", 2ULL << 30 }, { "10mb", 10ULL << 20 },
		{ "1500 KB", 1500ULL << 10 }, { "1\tMB", 1ULL << 20 },
	};
	static const char *bad[] = { "", "-1", "1TB", "MB", "1.5MB",
		"99999999999999999999", "2000000GB", "x" };
	char err[128];
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(values_parse_size(ok[i].s, &v, err,
		    sizeof(err)), 0);
		assert_true(v == ok[i].v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(values_parse_size(bad[i], &v, err,
		    sizeof(err)), -1);
}

static void
test_signal(void **state)
{
	static const struct {
		const char *s;
		int sig;
	} ok[] = {
		{ "TERM", SIGTERM }, { "SIGTERM", SIGTERM },
		{ "term", SIGTERM },
		{ "sigHUP", SIGHUP }, { "KILL", SIGKILL }, { "INT", SIGINT },
		{ "QUIT", SIGQUIT }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
		{ "15", 15 }, { "9", 9 }, { "1", 1 },
	};
	static const char *bad[] = { "", "0", "65", "-1", "TERMX", "SIG",
		"1x", "99999999999999999999" };
	char err[128];
	size_t i;
	int sig;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(values_parse_signal(ok[i].s, &sig, err,
		    sizeof(err)), 0);
		assert_int_equal(sig, ok[i].sig);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(values_parse_signal(bad[i], &sig, err,
		    sizeof(err)), -1);
	assert_string_equal(values_signal_name(SIGTERM), "TERM");
	assert_null(values_signal_name(0));
}

static void
test_duration(void **state)
{
	char err[128];
	int v;

	(void)state;
	assert_int_equal(values_parse_duration("10", &v, err, sizeof(err)),
	    0);
	assert_int_equal(v, 10);
	assert_int_equal(values_parse_duration("0", &v, err, sizeof(err)), 0);
	assert_int_equal(values_parse_duration("31536000", &v, err,
	    sizeof(err)), 0);
	assert_int_equal(values_parse_duration("31536001", &v, err,
	    sizeof(err)), -1);
	assert_int_equal(values_parse_duration("1e9", &v, err, sizeof(err)),
	    -1);
	assert_int_equal(values_parse_duration("-1", &v, err, sizeof(err)),
	    -1);
	assert_int_equal(values_parse_duration("1000000000", &v, err,
	    sizeof(err)), -1);
}

static void
test_exitcodes(void **state)
{
	uint8_t bits[32];
	char err[128];

	(void)state;
	assert_int_equal(values_parse_exitcodes("0", bits, err, sizeof(err)),
	    0);
	assert_int_equal(bits[0], 1);
	assert_int_equal(values_parse_exitcodes("0, 2,255", bits, err,
	    sizeof(err)), 0);
	assert_int_equal(bits[0], 5);
	assert_int_equal(bits[31], 0x80);
	assert_int_equal(values_parse_exitcodes("256", bits, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "256"));
	assert_int_equal(values_parse_exitcodes("", bits, err, sizeof(err)),
	    -1);
	assert_int_equal(values_parse_exitcodes("1,,2", bits, err,
	    sizeof(err)), -1);
	assert_int_equal(values_parse_exitcodes("-1", bits, err,
	    sizeof(err)), -1);
	assert_int_equal(values_parse_exitcodes("a", bits, err, sizeof(err)),
	    -1);
}

static void
test_octal(void **state)
{
	char err[128];
	int v;

	(void)state;
	assert_int_equal(values_parse_octal("022", 0777, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(v, 022);
	assert_int_equal(values_parse_octal("0o077", 0777, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(v, 077);
	assert_int_equal(values_parse_octal("777", 0777, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(values_parse_octal("999", 0777, &v, err,
	    sizeof(err)), -1);
	assert_int_equal(values_parse_octal("1000", 0777, &v, err,
	    sizeof(err)), -1);
	assert_int_equal(values_parse_octal("", 0777, &v, err, sizeof(err)),
	    -1);
	assert_int_equal(values_parse_octal("-1", 0777, &v, err,
	    sizeof(err)), -1);
	assert_int_equal(values_parse_octal("0x1f", 0777, &v, err,
	    sizeof(err)), -1);
	assert_int_equal(values_parse_octal("077777777777777777777777", 0777,
	    &v, err, sizeof(err)), -1);
}

static void
test_env(void **state)
{
	char err[128], **v = NULL;

	(void)state;
	assert_int_equal(values_parse_env("A=1,B=two", &v, err, sizeof(err)),
	    0);
	assert_int_equal(values_strv_len(v), 2);
	assert_string_equal(v[0], "A=1");
	assert_string_equal(v[1], "B=two");
	values_strv_free(v);

	assert_int_equal(values_parse_env("KEY=\"val, with comma\",K2=v2",
	    &v, err, sizeof(err)), 0);
	assert_string_equal(v[0], "KEY=val, with comma");
	assert_string_equal(v[1], "K2=v2");
	values_strv_free(v);

	assert_int_equal(values_parse_env("Q=\"say \\\"hi\\\" a=b\", "
	    "S='single \"q\"' , P=/x:/y", &v, err, sizeof(err)), 0);
	assert_string_equal(v[0], "Q=say \"hi\" a=b");
	assert_string_equal(v[1], "S=single \"q\"");
	assert_string_equal(v[2], "P=/x:/y");
	values_strv_free(v);

	/* continuation lines arrive joined with '\n' */
	assert_int_equal(values_parse_env("A=1,\nB=2,\nA=3", &v, err,
	    sizeof(err)), 0);
	assert_int_equal(values_strv_len(v), 2);
	assert_string_equal(v[0], "A=3");
	values_strv_free(v);

	assert_int_equal(values_parse_env("", &v, err, sizeof(err)), 0);
	assert_int_equal(values_strv_len(v), 0);
	values_strv_free(v);
	assert_int_equal(values_parse_env("E=", &v, err, sizeof(err)), 0);
	assert_string_equal(v[0], "E=");
	values_strv_free(v);

	v = NULL;
	assert_int_equal(values_parse_env("A", &v, err, sizeof(err)), -1);
	assert_int_equal(values_parse_env("=1", &v, err, sizeof(err)), -1);
	assert_int_equal(values_parse_env("A=\"open", &v, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "unterminated"));
	assert_int_equal(values_parse_env("A=\"x\ny\"", &v, err,
	    sizeof(err)), -1);
	assert_null(v);
	/* unquoted text may hold spaces (trimmed at both ends) */
	assert_int_equal(values_parse_env("A=\"x\" y , B= b c ", &v, err,
	    sizeof(err)), 0);
	assert_string_equal(v[0], "A=x y");
	assert_string_equal(v[1], "B=b c");
	values_strv_free(v);
}

static void
test_split(void **state)
{
	char err[128], **v = NULL;

	(void)state;
	assert_int_equal(values_split_command("/bin/echo  a\tb", &v, err,
	    sizeof(err)), 0);
	assert_int_equal(values_strv_len(v), 3);
	assert_string_equal(v[2], "b");
	values_strv_free(v);

	assert_int_equal(values_split_command("nginx -g \"daemon off;\"", &v,
	    err, sizeof(err)), 0);
	assert_int_equal(values_strv_len(v), 3);
	assert_string_equal(v[2], "daemon off;");
	values_strv_free(v);

	assert_int_equal(values_split_command("sh -c 'echo \"$HOME\" \\x' "
	    "a\\ b \"q\\\"x\\\\y\\z\" ''", &v, err, sizeof(err)), 0);
	assert_int_equal(values_strv_len(v), 6);
	assert_string_equal(v[2], "echo \"$HOME\" \\x");
	assert_string_equal(v[3], "a b");
	assert_string_equal(v[4], "q\"x\\y\\z");
	assert_string_equal(v[5], "");
	values_strv_free(v);

	assert_int_equal(values_split_command("a\"b c\"d\ne", &v, err,
	    sizeof(err)), 0);
	assert_int_equal(values_strv_len(v), 2);
	assert_string_equal(v[0], "ab cd");
	values_strv_free(v);

	v = NULL;
	assert_int_equal(values_split_command("echo \"open", &v, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "unterminated double quote"));
	assert_int_equal(values_split_command("echo 'open", &v, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "unterminated single quote"));
	assert_int_equal(values_split_command("   ", &v, err, sizeof(err)),
	    -1);
	assert_int_equal(values_split_command("a\\", &v, err, sizeof(err)),
	    -1);
	assert_null(v);
}

static void
test_split_many_words(void **state)
{
	char err[128], **v = NULL, *s;
	size_t i;

	(void)state;
	s = malloc(2 * (VALUES_ARGV_MAX + 1) + 1);
	assert_non_null(s);
	for (i = 0; i < VALUES_ARGV_MAX + 1; i++)
		memcpy(s + 2 * i, "a ", 2);
	s[2 * (VALUES_ARGV_MAX + 1)] = '\0';
	assert_int_equal(values_split_command(s, &v, err, sizeof(err)), -1);
	s[2 * VALUES_ARGV_MAX] = '\0';
	assert_int_equal(values_split_command(s, &v, err, sizeof(err)), 0);
	assert_int_equal(values_strv_len(v), VALUES_ARGV_MAX);
	values_strv_free(v);
	free(s);
}

static char *
expand(const char *s, char *err, size_t len)
{
	static const struct values_expand x = {
		"/etc/superd", "host1", "web", "grp", 7, 3
	};

	return values_expand(s, &x, err, len);
}

static void
test_expand(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "plain", "plain" },
		{ "%(program_name)s_%(process_num)02d", "web_07" },
		{ "%(process_num)d", "7" },
		{ "%(process_num)03d", "007" },
		{ "%(process_num)s", "7" },
		{ "%(process_num)-3d|", "7  |" },
		{ "%(process_num)3d", "  7" },
		{ "%(numprocs)d", "3" },
		{ "%(group_name)s", "grp" },
		{ "%(here)s/x.log", "/etc/superd/x.log" },
		{ "%(host_node_name)s", "host1" },
		{ "100%%", "100%" },
		{ "%%(here)s", "%(here)s" },
		{ "%(ENV_SUPERD_TEST_N)s", "4" },
		{ "%(ENV_SUPERD_TEST_N)02d", "04" },
		{ "/x:%(ENV_SUPERD_TEST_PATH)s", "/x:/usr/bin:/bin" },
		{ "%(program_name)5s", "  web" },
		{ "%(program_name).2s", "we" },
	};
	char err[128], *r;
	size_t i;

	(void)state;
	setenv("SUPERD_TEST_N", "4", 1);
	setenv("SUPERD_TEST_PATH", "/usr/bin:/bin", 1);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		r = expand(ok[i].in, err, sizeof(err));
		if (r == NULL)
			fail_msg("%s: %s", ok[i].in, err);
		assert_string_equal(r, ok[i].out);
		free(r);
	}
}

static void
test_expand_errors(void **state)
{
	static const struct {
		const char *in, *err;
	} bad[] = {
		{ "%(nope)s", "unknown expansion %(nope)" },
		{ "%(ENV_SUPERD_TEST_UNSET)s", "SUPERD_TEST_UNSET is not set" },
		{ "%(here", "unterminated" },
		{ "%(here)", "bad format" },
		{ "%(here)x", "bad format" },
		{ "%(here)d", "needs a number" },
		{ "50%", "'%%'" },
		{ "date +%s", "'%%'" },
	};
	struct values_expand none = { "/h", "n", NULL, NULL, -1, -1 };
	char err[128], *r;
	size_t i;

	(void)state;
	unsetenv("SUPERD_TEST_UNSET");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		r = expand(bad[i].in, err, sizeof(err));
		if (r != NULL)
			fail_msg("%s expanded to %s", bad[i].in, r);
		if (strstr(err, bad[i].err) == NULL)
			fail_msg("%s: '%s' lacks '%s'", bad[i].in, err,
			    bad[i].err);
	}
	/* names the context lacks are unknown */
	assert_null(values_expand("%(program_name)s", &none, err,
	    sizeof(err)));
	assert_null(values_expand("%(process_num)d", &none, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "unknown expansion"));
}

static void
test_expand_bounded(void **state)
{
	char err[128], *r, *big, *pat;
	size_t i;

	(void)state;
	big = malloc(600001);
	assert_non_null(big);
	memset(big, 'x', 600000);
	big[600000] = '\0';
	setenv("SUPERD_TEST_BIG", big, 1);
	pat = strdup("%(ENV_SUPERD_TEST_BIG)s%(ENV_SUPERD_TEST_BIG)s");
	r = expand(pat, err, sizeof(err));
	assert_null(r);
	assert_non_null(strstr(err, "longer than"));
	r = expand("%(process_num)09999999d", err, sizeof(err));
	assert_null(r);
	r = expand("%(ENV_SUPERD_TEST_BIG)s", err, sizeof(err));
	assert_non_null(r);
	for (i = 0; i < 600000; i++)
		if (r[i] != 'x')
			fail();
	free(r);
	free(pat);
	free(big);
	unsetenv("SUPERD_TEST_BIG");
}

static void
test_strv(void **state)
{
	char *a[] = { (char *)(uintptr_t)"x", (char *)(uintptr_t)"y", NULL };
	char *b[] = { (char *)(uintptr_t)"x", NULL };
	char **d;

	(void)state;
	d = values_strv_dup(a);
	assert_true(values_strv_equal(a, d));
	assert_false(values_strv_equal(a, b));
	assert_true(values_strv_equal(NULL, NULL));
	assert_int_equal(values_strv_len(NULL), 0);
	assert_null(values_strv_dup(NULL));
	values_strv_free(d);
	values_strv_free(NULL);
}

static void
test_hostport(void **state)
{
	static const struct {
		const char *s;
		const char *host;
		int port;
	} ok[] = {
		{ "127.0.0.1:80", "127.0.0.1", 80 },
		{ "[::1]:8080", "::1", 8080 },
		{ "localhost:1", "localhost", 1 },
		{ "web-1.example.org:65535", "web-1.example.org", 65535 },
		{ "*:9001", "*", 9001 },
	};
	static const char *bad[] = { "", "h", ":80", "h:", "h:0", "h:65536",
		"h:-1", "h:8x", "1.2.3:80", "999.1.1.1:80", "::1:80", "[::1]",
		"[::1]80", "[nothex]:80", "a b:80", "-x:80", "[1.2.3.4]:80" };
	char err[128], *host;
	int port;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(values_parse_hostport(ok[i].s, &host, &port,
		    err, sizeof(err)), 0);
		assert_string_equal(host, ok[i].host);
		assert_int_equal(port, ok[i].port);
		free(host);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (values_parse_hostport(bad[i], &host, &port, err,
		    sizeof(err)) != -1)
			fail_msg("'%s' was accepted", bad[i]);
}

static void
test_list_and_events(void **state)
{
	char err[128], **v;

	(void)state;
	assert_int_equal(values_parse_list(" a, b,,c a ", false, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(values_strv_len(v), 3);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[2], "c");
	values_strv_free(v);
	assert_int_equal(values_parse_list("tick_5", true, &v, err,
	    sizeof(err)), 0);
	assert_string_equal(v[0], "TICK_5");
	values_strv_free(v);
	assert_int_equal(values_parse_list(" , ", false, &v, err,
	    sizeof(err)), -1);
	assert_true(values_event_known("PROCESS_STATE_RUNNING"));
	assert_true(values_event_known("SUPERVISOR_STATE_CHANGE_STOPPING"));
	assert_true(values_event_known("PROCESS_COMMUNICATION_STDERR"));
	assert_true(values_event_known("EVENT"));
	assert_true(values_event_known("TICK_3600"));
	assert_false(values_event_known("TICK_7"));
	assert_false(values_event_known("tick_5"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_exitcodes),
		cmocka_unit_test(test_octal),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_split_many_words),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_expand_errors),
		cmocka_unit_test(test_expand_bounded),
		cmocka_unit_test(test_strv),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_list_and_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
