/* Unit tests for daemon/xmlrpc.c: decoding calls, refusing hostile XML,
 * encoding responses and faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "xmlrpc.h"

static int
decode(const char *xml, char **method, json_t **params, const char **err)
{
	return xmlrpc_decode_call(xml, strlen(xml), method, params, err);
}

static void
test_decode_types(void **state)
{
	const char *xml = "<?xml version='1.0'?><methodCall><methodName>"
	    "supervisor.startProcess</methodName><params>"
	    "<param><value><string>web &amp; co</string></value></param>"
	    "<param><value><boolean>1</boolean></value></param>"
	    "<param><value><int>-7</int></value></param>"
	    "<param><value><i8>9000000000</i8></value></param>"
	    "<param><value>untyped</value></param>"
	    "<param><value><base64>aGk=</base64></value></param>"
	    "<param><value><double>2.5</double></value></param>"
	    "<param><value><array><data><value><i4>1</i4></value>"
	    "<value><struct><member><name>k</name><value><nil/></value>"
	    "</member></struct></value></data></array></value></param>"
	    "</params></methodCall>";
	const char *err;
	char *method;
	json_t *p, *want;

	(void)state;
	assert_int_equal(decode(xml, &method, &p, &err), 0);
	assert_string_equal(method, "supervisor.startProcess");
	want = json_pack("[s, b, i, I, s, s, f, [i, {s:n}]]", "web & co", 1,
	    -7, (json_int_t)9000000000LL, "untyped", "hi", 2.5, 1, "k");
	assert_true(json_equal(p, want));
	json_decref(want);
	json_decref(p);
	free(method);
}

static void
test_decode_refuses(void **state)
{
	static const char *bad[] = {
		"",
		"<methodCall></methodCall>",
		"<methodResponse><params/></methodResponse>",
		"<methodCall><methodName>x</methodName><params><param><value>"
		    "<int>99999999999</int></value></param></params>"
		    "</methodCall>",
		"<methodCall><methodName>x</methodName><params><param><value>"
		    "<boolean>2</boolean></value></param></params></methodCall>",
		"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY x \"xx\">]>"
		    "<methodCall><methodName>&x;</methodName></methodCall>",
		"<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><methodCall>"
		    "<methodName>x</methodName></methodCall>",
		"<methodCall><methodName>x</methodName><params><param>"
		    "<value><array><data>",
		"<methodCall><methodName>x</methodName><params><param><value>"
		    "<struct><member><value><int>1</int></value></member>"
		    "</struct></value></param></params></methodCall>",
	};
	const char *err;
	char *method;
	json_t *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(decode(bad[i], &method, &p, &err), -1);
		assert_null(method);
		assert_null(p);
		assert_non_null(err);
	}
}

static void
test_decode_depth(void **state)
{
	char *xml, *method;
	const char *err;
	json_t *p;
	size_t i, off = 0, cap = 64 * 1024;

	(void)state;
	xml = malloc(cap);
	assert_non_null(xml);
	off += (size_t)snprintf(xml + off, cap - off, "<methodCall><methodName>"
	    "x</methodName><params><param>");
	for (i = 0; i < XMLRPC_MAX_DEPTH; i++)
		off += (size_t)snprintf(xml + off, cap - off,
		    "<value><array><data>");
	for (i = 0; i < XMLRPC_MAX_DEPTH; i++)
		off += (size_t)snprintf(xml + off, cap - off,
		    "</data></array></value>");
	snprintf(xml + off, cap - off, "</param></params></methodCall>");
	assert_int_equal(decode(xml, &method, &p, &err), -1);
	assert_string_equal(err, "nested too deeply");
	free(xml);
}

static void
test_encode(void **state)
{
	json_t *v = json_pack("{s:s, s:i, s:b, s:[s]}", "name", "a<b&c\x01",
	    "pid", 42, "ok", 1, "list", "x");
	char *out, *method;
	const char *err;
	size_t len;

	(void)state;
	out = xmlrpc_encode_response(v, &len);
	assert_non_null(out);
	assert_int_equal(strlen(out), len);
	assert_non_null(strstr(out, "<string>a&lt;b&amp;c\xef\xbf\xbd"
	    "</string>"));
	assert_non_null(strstr(out, "<int>42</int>"));
	assert_non_null(strstr(out, "<boolean>1</boolean>"));
	assert_non_null(strstr(out, "<methodResponse>"));
	free(out);
	json_decref(v);
	out = xmlrpc_encode_fault(10, "BAD_NAME: x<y", &len);
	assert_non_null(strstr(out, "<name>faultCode</name>\n<value><int>10"
	    "</int>"));
	assert_non_null(strstr(out, "BAD_NAME: x&lt;y"));
	/* A fault is not a call. */
	assert_int_equal(xmlrpc_decode_call(out, len, &method, &v, &err), -1);
	free(out);
	assert_string_equal(xmlrpc_fault_name(70), "NOT_RUNNING");
	assert_string_equal(xmlrpc_fault_name(12345), "FAILED");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_types),
		cmocka_unit_test(test_decode_refuses),
		cmocka_unit_test(test_decode_depth),
		cmocka_unit_test(test_encode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
