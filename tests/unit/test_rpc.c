/* cmocka tests for common/rpc.c: parsing, envelopes, line framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "rpc.h"

/* Parse a NUL-terminated line; returns rc, fills code and req. */
static int
test_rpc_parse(const char *line, struct rpc_request *req, int *code)
{
	const char *msg = NULL;

	*code = 0;
	return rpc_parse_request(line, strlen(line), req, code, &msg);
}

static void
test_rpc_valid_request(void **state)
{
	struct rpc_request req;
	int code;

	(void)state;
	assert_int_equal(test_rpc_parse("{\"jsonrpc\":\"2.0\",\"id\":7,"
	    "\"method\":\"process.list\",\"params\":{\"names\":[\"a\"]}}",
	    &req, &code), 0);
	assert_string_equal(req.method, "process.list");
	assert_non_null(req.id);
	assert_int_equal(json_integer_value(req.id), 7);
	assert_true(json_is_object(req.params));
	rpc_request_free(&req);
	assert_null(req.root);

	assert_int_equal(test_rpc_parse("{\"jsonrpc\":\"2.0\",\"id\":\"x\","
	    "\"method\":\"daemon.version\"}", &req, &code), 0);
	assert_string_equal(json_string_value(req.id), "x");
	assert_null(req.params);
	rpc_request_free(&req);

	/* params: null is the same as absent. */
	assert_int_equal(test_rpc_parse("{\"jsonrpc\":\"2.0\",\"id\":1,"
	    "\"method\":\"m\",\"params\":null}", &req, &code), 0);
	assert_null(req.params);
	rpc_request_free(&req);
}

static void
test_rpc_notification(void **state)
{
	struct rpc_request req;
	int code;

	(void)state;
	assert_int_equal(test_rpc_parse("{\"jsonrpc\":\"2.0\","
	    "\"method\":\"daemon.version\"}", &req, &code), 0);
	assert_null(req.id);
	rpc_request_free(&req);
}

static void
test_rpc_parse_errors(void **state)
{
	static const char *const bad[] = {
		"{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ",
		"not json",
		"{}{}",
		"{\"a\":1,}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\\u0000x\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\\ud800\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":9223372036854775808,"
		    "\"method\":\"m\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\","
		    "\"params\":{\"x\":1e400}}",
		/* Duplicate keys, at the top and nested. */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"m\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\","
		    "\"params\":{\"a\":1,\"a\":2}}",
	};
	struct rpc_request req;
	size_t i;
	int code;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(test_rpc_parse(bad[i], &req, &code), -1);
		assert_int_equal(code, RPC_PARSE_ERROR);
		rpc_request_free(&req);
	}
}

static void
test_rpc_invalid_requests(void **state)
{
	static const char *const bad[] = {
		"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}]",
		"[]",
		"{\"id\":1,\"method\":\"m\"}",
		"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"m\"}",
		"{\"jsonrpc\":2.0,\"id\":1,\"method\":\"m\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"m\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"m\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"m\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"m\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":3}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":\"x\"}",
	};
	struct rpc_request req;
	size_t i;
	int code;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(test_rpc_parse(bad[i], &req, &code), -1);
		assert_int_equal(code, RPC_INVALID_REQUEST);
		rpc_request_free(&req);
	}
}

static void
test_rpc_invalid_keeps_id(void **state)
{
	struct rpc_request req;
	int code;

	(void)state;
	assert_int_equal(test_rpc_parse("{\"jsonrpc\":\"1.0\",\"id\":42,"
	    "\"method\":\"m\"}", &req, &code), -1);
	assert_int_equal(code, RPC_INVALID_REQUEST);
	assert_non_null(req.id);
	assert_int_equal(json_integer_value(req.id), 42);
	rpc_request_free(&req);

	/* A batch has no single id to answer with. */
	assert_int_equal(test_rpc_parse("[{\"jsonrpc\":\"2.0\",\"id\":1,"
	    "\"method\":\"m\"}]", &req, &code), -1);
	assert_null(req.id);
	rpc_request_free(&req);
}

static void
test_rpc_method_length(void **state)
{
	struct rpc_request req;
	char line[512], name[RPC_MAX_METHOD + 2];
	int code;

	(void)state;
	memset(name, 'a', sizeof(name));
	name[RPC_MAX_METHOD] = '\0';
	snprintf(line, sizeof(line),
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"}", name);
	assert_int_equal(test_rpc_parse(line, &req, &code), 0);
	rpc_request_free(&req);
	name[RPC_MAX_METHOD] = 'a';
	name[RPC_MAX_METHOD + 1] = '\0';
	snprintf(line, sizeof(line),
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"}", name);
	assert_int_equal(test_rpc_parse(line, &req, &code), -1);
	assert_int_equal(code, RPC_INVALID_REQUEST);
	rpc_request_free(&req);
}

static void
test_rpc_numbers(void **state)
{
	struct rpc_request req;
	int code;

	(void)state;
	/* jansson accepts -2^63: range checks are the handler's job, and
	 * the parser must hand the value over intact. */
	assert_int_equal(test_rpc_parse("{\"jsonrpc\":\"2.0\","
	    "\"id\":-9223372036854775808,\"method\":\"m\"}", &req, &code), 0);
	assert_true(json_integer_value(req.id) == INT64_MIN);
	rpc_request_free(&req);
}

static void
test_rpc_nesting(void **state)
{
	struct rpc_request req;
	size_t depth = 5000, i, n;
	char *line;
	int code;

	(void)state;
	n = strlen("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\","
	    "\"params\":{\"x\":}}") + 2 * depth + 1;
	line = malloc(n);
	assert_non_null(line);
	strcpy(line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\","
	    "\"params\":{\"x\":");
	for (i = 0; i < depth; i++)
		strcat(line, "[");
	for (i = 0; i < depth; i++)
		strcat(line, "]");
	strcat(line, "}}");
	assert_int_equal(test_rpc_parse(line, &req, &code), -1);
	assert_int_equal(code, RPC_PARSE_ERROR);
	rpc_request_free(&req);
	free(line);
}

static void
test_rpc_envelopes(void **state)
{
	json_t *id, *msg;
	char *line;
	size_t len;

	(void)state;
	id = json_integer(5);
	msg = rpc_result_new(id, json_pack("{s:i}", "api", 1));
	line = rpc_dump_line(msg, &len);
	assert_non_null(line);
	assert_string_equal(line,
	    "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"api\":1}}\n");
	assert_int_equal(len, strlen(line));
	free(line);
	json_decref(msg);

	msg = rpc_result_new(NULL, NULL);
	assert_true(json_is_null(json_object_get(msg, "id")));
	assert_true(json_is_object(json_object_get(msg, "result")));
	json_decref(msg);

	msg = rpc_error_new(NULL, RPC_PARSE_ERROR, "bad %s", "thing");
	assert_true(json_is_null(json_object_get(msg, "id")));
	assert_string_equal(json_string_value(json_object_get(msg,
	    "jsonrpc")), "2.0");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    msg, "error"), "code")), RPC_PARSE_ERROR);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    msg, "error"), "message")), "bad thing");
	json_decref(msg);

	/* A message that is not UTF-8 still gives a valid error. */
	msg = rpc_error_new(id, RPC_NO_SUCH_PROCESS, "no %s", "\xff\xfe");
	assert_non_null(msg);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    msg, "error"), "message")), rpc_code_name(RPC_NO_SUCH_PROCESS));
	json_decref(msg);
	json_decref(id);

	msg = rpc_notification_new("log.data", NULL);
	assert_null(json_object_get(msg, "id"));
	assert_true(json_is_object(json_object_get(msg, "params")));
	json_decref(msg);

	msg = rpc_request_new(3, "daemon.version", NULL);
	assert_null(json_object_get(msg, "params"));
	assert_int_equal(json_integer_value(json_object_get(msg, "id")), 3);
	json_decref(msg);
}

static void
test_rpc_code_names(void **state)
{
	static const int codes[] = { -32700, -32600, -32601, -32602, -32603,
		100, 101, 102, 103, 104, 105, 106, 107, 108 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		assert_string_not_equal(rpc_code_name(codes[i]), "error");
	assert_string_equal(rpc_code_name(12345), "error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rpc_valid_request),
		cmocka_unit_test(test_rpc_notification),
		cmocka_unit_test(test_rpc_parse_errors),
		cmocka_unit_test(test_rpc_invalid_requests),
		cmocka_unit_test(test_rpc_invalid_keeps_id),
		cmocka_unit_test(test_rpc_method_length),
		cmocka_unit_test(test_rpc_numbers),
		cmocka_unit_test(test_rpc_nesting),
		cmocka_unit_test(test_rpc_envelopes),
		cmocka_unit_test(test_rpc_code_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
