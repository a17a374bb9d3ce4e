/*
 * cmocka tests for ctl/json_reader.c: it must accept exactly what
 * json_loadb(text, len, 0, NULL) accepts (superctl's flags before the
 * reader replaced it) and build equal values, on a table of hand-written
 * texts and on pseudo-random mutations of a process.list reply.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "json_reader.h"

/* The json_loadb flags the reader mirrors. */
#define TEST_JSON_FLAGS		  0
#define TEST_JSON_MUTATIONS	  20000

/* Print text with C escapes, for a failure message. */
static void
test_json_show(const char *what, const unsigned char *text, size_t len)
{
	size_t i, shown = len < 400 ? len : 400;

	fprintf(stderr, "%s (%zu bytes): \"", what, len);
	for (i = 0; i < shown; i++) {
		if (text[i] >= 0x20 && text[i] < 0x7f && text[i] != '"' &&
		    text[i] != '\\')
			fputc(text[i], stderr);
		else
			fprintf(stderr, "\\x%02x", text[i]);
	}
	fprintf(stderr, "%s\"\n", shown < len ? "..." : "");
}

/*
 * The reader and json_loadb on the same bytes: both refuse, or both
 * accept with equal values that also serialize the same (so that key
 * order and the winner among duplicate keys agree). -1 when they
 * disagree, else 1 when both accept, 0 when both refuse.
 */
static int
test_json_differ(const void *text, size_t len)
{
	json_error_t err;
	const char *why = NULL;
	json_t *mine, *ref;
	char *a = NULL, *b = NULL;
	int rc = 0;

	mine = json_reader_load(text, len, &why);
	ref = json_loadb(text, len, TEST_JSON_FLAGS, &err);
	if ((mine == NULL) != (ref == NULL)) {
		test_json_show("accept/refuse mismatch on", text, len);
		fprintf(stderr, "  reader: %s, json_loadb: %s\n",
		    mine != NULL ? "accepts" : why,
		    ref != NULL ? "accepts" : err.text);
		rc = -1;
	} else if (mine != NULL) {
		a = json_dumps(mine, JSON_COMPACT | JSON_ENCODE_ANY);
		b = json_dumps(ref, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!json_equal(mine, ref) || a == NULL || b == NULL ||
		    strcmp(a, b) != 0) {
			test_json_show("different values from", text, len);
			fprintf(stderr, "  reader: %s\n  json_loadb: %s\n",
			    a != NULL ? a : "?", b != NULL ? b : "?");
			rc = -1;
		} else
			rc = 1;
	} else if (why == NULL)
		rc = -1;
	free(a);
	free(b);
	json_decref(mine);
	json_decref(ref);
	return rc;
}

static int
test_json_differ_str(const char *text)
{
	return test_json_differ(text, strlen(text));
}

/* Hand-written texts, valid and not, where a reader goes wrong. */
static const char *const test_json_table[] = {
	/* structure and whitespace */
	"{}", "[]", " \t\r\n{ } \n", "[ 1 , 2 ,3 ]", "{\"a\" : [ ] }",
	"", " ", "\n", "1", "\"top\"", "null", "true",
	"{} x", "[] []", "{}\v", "{}\f", "\xc2\xa0{}", "[1,]", "{\"a\":1,}",
	"[,1]", "{,}", "{\"a\"}", "{\"a\":}", "{1:2}", "{'a':1}", "[1 2]",
	"[1]]", "[[1]", "{\"a\":1", "[", "{", "]", "[true,false,null]",
	"[tru]", "[truex]", "[true1]", "[nul]", "[nulll]", "[True]",
	"[NaN]", "[Infinity]", "[-Infinity]",
	/* duplicate keys: the last wins, in the first one's place */
	"{\"a\":1,\"a\":2}", "{\"a\":1,\"b\":2,\"a\":[3]}",
	"{\"a\":{\"x\":1},\"a\":{\"y\":2}}",
	/* escapes */
	"[\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"]", "[\"\\a\"]", "[\"\\x41\"]",
	"[\"\\u0041\\u00e9\\u20ac\"]", "[\"\\u00E9\\u00e9\"]", "[\"\\u12\"]",
	"[\"\\u12g4\"]", "[\"\\\"]", "[\"a\\\"]", "[\"\\u0000\"]",
	"[\"a\\u0000b\"]", "{\"\\u0000\":1}", "{\"a\\u0000\":1}",
	"[\"\\u0001\\u001f\\u007f\"]", "[\"\\",
	/* surrogates */
	"[\"\\ud83d\\ude00\"]", "[\"\\uD834\\uDD1E\"]", "[\"\\ud800\"]",
	"[\"\\udc00\"]", "[\"\\ud800x\"]", "[\"\\ud800\\u0041\"]",
	"[\"\\ud800\\ud800\"]", "[\"\\udc00\\ud800\"]", "[\"\\ud800\\n\"]",
	"[\"\\ud800\\u12\"]", "[\"\\udbff\\udfff\"]", "[\"\\ud800\\",
	/* raw bytes in strings and elsewhere */
	"[\"caf\xc3\xa9\"]", "[\"\xe2\x82\xac\"]", "[\"\xf0\x9f\x98\x80\"]",
	"[\"\xf4\x8f\xbf\xbf\"]", "[\"\xf4\x90\x80\x80\"]", "[\"\xc0\xaf\"]",
	"[\"\xc1\xbf\"]", "[\"\xe0\x80\xaf\"]", "[\"\xe0\x9f\xbf\"]",
	"[\"\xf0\x80\x80\xaf\"]", "[\"\xf0\x8f\xbf\xbf\"]",
	"[\"\xed\xa0\x80\"]", "[\"\xed\xbf\xbf\"]", "[\"\xed\x9f\xbf\"]",
	"[\"\xff\"]", "[\"\xfe\"]", "[\"\xf5\x80\x80\x80\"]", "[\"\x80\"]",
	"[\"\xc3\"]", "[\"\xc3", "[\"\xe2\x82\"]", "[\"\xc3\xa9\\n\xff\"]",
	"[\"\x7f\"]", "[\"\x1f\"]", "[\"\t\"]", "[\"\n\"]", "[\xff]",
	"[1]\xff", "[1]\xc3\xa9", "{\"\xc3\xa9\":1}", "{\"\xff\":1}",
	/* integers at the 64-bit edges */
	"[0]", "[-0]", "[00]", "[01]", "[-01]", "[-]", "[- 1]", "[+1]",
	"[9223372036854775807]", "[9223372036854775808]",
	"[-9223372036854775808]", "[-9223372036854775809]",
	"[18446744073709551616]", "[-18446744073709551617]",
	"[99999999999999999999999999999]", "[0000000000000000000001]",
	"[922337203685477580]", "[9223372036854775806]",
	"[-9223372036854775807]", "[-92233720368547758080]",
	/* reals */
	"[1.5]", "[-0.0]", "[0.1e1]", "[1e5]", "[1E+5]", "[1e-5]", "[1.]",
	"[.5]", "[1.e5]", "[1e]", "[1e+]", "[1.5e-]", "[0e0]", "[1e400]",
	"[-1e400]", "[1e-400]", "[1e-310]", "[-2.2250738585072014e-308]",
	"[4.9e-324]", "[2.4e-324]", "[1.7976931348623157e308]",
	"[1.7976931348623159e308]", "[123456789012345678901234567890.5]",
	"[9223372036854775808.0]", "[0.00000000000000000000000000000000001]",
	"[1e0000000000000000000000000000000000000000000000000000000000000001]",
	"[1x]", "[1.5.5]", "[1e5e5]", "[0x10]",
};

static void
test_json_reader_table(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(test_json_table) / sizeof(*test_json_table);
	    i++)
		bad += test_json_differ_str(test_json_table[i]) < 0;
	assert_int_equal(bad, 0);
}

/* Texts with NUL bytes, which a C string cannot hold. */
static void
test_json_reader_nul(void **state)
{
	static const struct {
		const char *text;
		size_t len;
	} cases[] = {
		{ "[\"a\0b\"]", 7 },
		{ "[1]\0", 4 },
		{ "\0[1]", 4 },
		{ "[1,\0 2]", 7 },
		{ "{\"a\0\":1}", 9 },
		/* jansson loses one NUL put back after a number or word */
		{ "[1\0]", 4 },
		{ "[1\0\0]", 5 },
		{ "[1 \0]", 5 },
		{ "[1\0 ,2]", 7 },
		{ "[-0.5e3\0]", 9 },
		{ "[true\0,false\0,null\0]", 20 },
		{ "{\"a\":1\0}", 8 },
		{ "[\"s\"\0]", 6 },
		{ "[[]\0]", 5 },
		{ "[-\0]", 4 },
		{ "[1.\0]", 5 },
		{ "[tr\0ue]", 7 },
		{ "{}\0", 3 },
	};
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		bad += test_json_differ(cases[i].text, cases[i].len) < 0;
	assert_int_equal(bad, 0);
}

/* `n` arrays or objects around `inner`, into a new string. */
static char *
test_json_nest(size_t n, const char *inner, int object)
{
	const char *open = object ? "{\"k\":" : "[";
	size_t lo = strlen(open), li = strlen(inner), i;
	char *s, *p;

	s = p = malloc(n * (lo + 1) + li + 1);
	assert_non_null(s);
	for (i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, inner, li);
	p += li;
	for (i = 0; i < n; i++)
		*p++ = object ? '}' : ']';
	*p = '\0';
	return s;
}

/* jansson counts every value, scalars included, against 2048 levels. */
static void
test_json_reader_depth(void **state)
{
	static const size_t depths[] = { 1, 511, 512, 513, 2046, 2047,
		2048, 2049, 2050, 5000, 100000 };
	static const char *const inners[] = { "", "1", "\"s\"", "[]", "{}",
		"[1]" };
	size_t i, k;
	char *s;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(depths) / sizeof(*depths); i++) {
		for (k = 0; k < sizeof(inners) / sizeof(*inners); k++) {
			s = test_json_nest(depths[i], inners[k], 0);
			bad += test_json_differ_str(s) < 0;
			free(s);
			if (inners[k][0] == '\0')
				continue;
			s = test_json_nest(depths[i], inners[k], 1);
			bad += test_json_differ_str(s) < 0;
			free(s);
		}
	}
	assert_int_equal(bad, 0);
}

/* A process.list reply as superd writes it, with a few harder strings. */
static const char test_json_reply[] =
    "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":[{\"name\":\"web:web_00\","
    "\"group\":\"web\",\"state\":\"RUNNING\",\"pid\":4242,"
    "\"start_time\":1718000000,\"stop_time\":0,\"uptime_s\":190,"
    "\"exitstatus\":0,\"spawnerr\":\"\",\"description\":"
    "\"pid 4242, uptime 0:03:10\",\"stdout_logfile\":"
    "\"/var/log/superd/web_00.log\",\"stderr_logfile\":\"\"},"
    "{\"name\":\"worker\",\"group\":\"worker\",\"state\":\"BACKOFF\","
    "\"pid\":0,\"start_time\":1718000100,\"stop_time\":1718000101,"
    "\"uptime_s\":0,\"exitstatus\":-1,\"spawnerr\":"
    "\"exec \\\"/opt/w\\u00e9rk\\\": No such file\\n\",\"description\":"
    "\"Exited too quickly (process log may have details) \\u2013 "
    "caf\xc3\xa9 \\ud83d\\ude00\",\"stdout_logfile\":\"\\/tmp\\/w.log\","
    "\"stderr_logfile\":\"/tmp/w.err\",\"load\":0.25,\"big\":"
    "9223372036854775807,\"small\":-9223372036854775808,\"ok\":true,"
    "\"gone\":null,\"tags\":[false,[],{},1e3,-0.5E-2]}]}";

/* xorshift64*: the same sequence on every machine. */
static uint64_t
test_json_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

/* Bytes and tokens that sit on the reader's decision points. */
static const char test_json_bytes[] = "\"\\{}[],:0123456789-+.eEu \t\n"
    "\x00\x1f\x7f\x80\xbf\xc0\xc1\xc3\xdf\xe0\xed\xef\xf0\xf4\xf5\xff";
static const char *const test_json_tokens[] = {
	"\\u0000", "\\ud800", "\\udc00", "\\ud83d\\ude00", "\\u00e9", "\\",
	"9223372036854775808", "-9223372036854775809", "9223372036854775807",
	"-9223372036854775808", "1e400", "-1e400", "1e-400", "1e-310",
	"\xf4\x90\x80\x80", "\xe0\x80\x80", "\xed\xa0\x80", "\xc3\xa9",
	",\"name\":1", ",\"name\":\"x\"", "true", "null", "[]", "{}", "[[",
	"]]", "\"", "0.", "-", "01",
};

/* One random change to buf[0..*len) (cap bytes of room). */
static void
test_json_mutate(uint64_t *seed, unsigned char *buf, size_t *len,
    size_t cap)
{
	size_t at, n, k;
	const char *tok;

	at = *len == 0 ? 0 : (size_t)(test_json_rand(seed) % *len);
	switch (test_json_rand(seed) % 6) {
	case 0:		/* overwrite a byte with anything */
		if (*len > 0)
			buf[at] = (unsigned char)test_json_rand(seed);
		break;
	case 1:		/* overwrite a byte with an interesting one */
		if (*len > 0)
			buf[at] = (unsigned char)test_json_bytes[
			    test_json_rand(seed) % (sizeof(test_json_bytes) -
			    1)];
		break;
	case 2:		/* delete a few bytes */
		n = (size_t)(test_json_rand(seed) % 8) + 1;
		if (n > *len - at)
			n = *len - at;
		memmove(buf + at, buf + at + n, *len - at - n);
		*len -= n;
		break;
	case 3:		/* insert an interesting byte */
		if (*len + 1 > cap)
			break;
		memmove(buf + at + 1, buf + at, *len - at);
		buf[at] = (unsigned char)test_json_bytes[test_json_rand(seed) %
		    (sizeof(test_json_bytes) - 1)];
		(*len)++;
		break;
	case 4:		/* insert a token */
		tok = test_json_tokens[test_json_rand(seed) %
		    (sizeof(test_json_tokens) / sizeof(*test_json_tokens))];
		n = strlen(tok);
		if (*len + n > cap)
			break;
		memmove(buf + at + n, buf + at, *len - at);
		memcpy(buf + at, tok, n);
		*len += n;
		break;
	default:	/* copy a span of the text over another place */
		k = *len == 0 ? 0 : (size_t)(test_json_rand(seed) % *len);
		n = (size_t)(test_json_rand(seed) % 32) + 1;
		if (n > *len - at)
			n = *len - at;
		if (n > *len - k)
			n = *len - k;
		memmove(buf + at, buf + k, n);
		break;
	}
}

static void
test_json_reader_mutations(void **state)
{
	unsigned char buf[sizeof(test_json_reply) + 512];
	uint64_t seed = UINT64_C(0x5eed5eed12345678);
	size_t len, i, k, nmut;
	int bad = 0, accepted = 0, rc;

	(void)state;
	assert_int_equal(test_json_differ(test_json_reply,
	    sizeof(test_json_reply) - 1), 1);
	for (i = 0; i < TEST_JSON_MUTATIONS && bad < 10; i++) {
		memcpy(buf, test_json_reply, sizeof(test_json_reply) - 1);
		len = sizeof(test_json_reply) - 1;
		nmut = (size_t)(test_json_rand(&seed) % 4) + 1;
		for (k = 0; k < nmut; k++)
			test_json_mutate(&seed, buf, &len, sizeof(buf));
		rc = test_json_differ(buf, len);
		bad += rc < 0;
		accepted += rc > 0;
	}
	/* Both outcomes must be exercised for the loop to mean anything. */
	fprintf(stderr, "%d of %zu mutations accepted\n", accepted, i);
	assert_int_equal(bad, 0);
	assert_true(accepted > TEST_JSON_MUTATIONS / 50);
	assert_true(accepted < TEST_JSON_MUTATIONS - TEST_JSON_MUTATIONS / 50);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_reader_table),
		cmocka_unit_test(test_json_reader_nul),
		cmocka_unit_test(test_json_reader_depth),
		cmocka_unit_test(test_json_reader_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
