/* JSON-RPC 2.0 envelopes and newline framing for superd and superctl. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rpc.h"

/* A valid id is a string, an integer or null (JSON-RPC 2.0 §4). */
static int
rpc_id_valid(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id) || json_is_null(id);
}

int
rpc_parse_request(const char *line, size_t len, struct rpc_request *req,
    int *code, const char **msg)
{
	json_error_t jerr;
	json_t *root, *version, *method, *id;
	const char *name;

	memset(req, 0, sizeof(*req));
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &jerr);
	if (root == NULL) {
		*code = RPC_PARSE_ERROR;
		*msg = "parse error";
		return -1;
	}
	req->root = root;
	*code = RPC_INVALID_REQUEST;
	if (json_is_array(root)) {
		*msg = "batch requests are not supported";
		return -1;
	}
	if (!json_is_object(root)) {
		*msg = "a request must be a JSON object";
		return -1;
	}
	id = json_object_get(root, "id");
	if (id != NULL && rpc_id_valid(id))
		req->id = id;
	if (id != NULL && !rpc_id_valid(id)) {
		*msg = "id must be a string, an integer or null";
		return -1;
	}
	version = json_object_get(root, "jsonrpc");
	if (!json_is_string(version) ||
	    strcmp(json_string_value(version), "2.0") != 0) {
		*msg = "\"jsonrpc\" must be \"2.0\"";
		return -1;
	}
	method = json_object_get(root, "method");
	if (!json_is_string(method)) {
		*msg = "\"method\" must be a string";
		return -1;
	}
	name = json_string_value(method);
	if (json_string_length(method) == 0 ||
	    json_string_length(method) > RPC_MAX_METHOD ||
	    strlen(name) != json_string_length(method)) {
		*msg = "bad method name";
		return -1;
	}
	req->method = name;
	req->params = json_object_get(root, "params");
	if (req->params != NULL && !json_is_object(req->params) &&
	    !json_is_array(req->params)) {
		if (json_is_null(req->params)) {
			req->params = NULL;
		} else {
			*msg = "\"params\" must be an object";
			return -1;
		}
	}
	return 0;
}

void
rpc_request_free(struct rpc_request *req)
{
	if (req == NULL)
		return;
	json_decref(req->root);
	memset(req, 0, sizeof(*req));
}

json_t *
rpc_result_new(json_t *id, json_t *result)
{
	json_t *msg = json_object();

	if (msg == NULL) {
		json_decref(result);
		return NULL;
	}
	json_object_set_new(msg, "jsonrpc", json_string("2.0"));
	json_object_set(msg, "id", id != NULL ? id : json_null());
	json_object_set_new(msg, "result",
	    result != NULL ? result : json_object());
	return msg;
}

json_t *
rpc_error_new(json_t *id, int code, const char *fmt, ...)
{
	char text[4096];
	va_list ap;
	json_t *msg, *err;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	msg = json_object();
	err = json_object();
	if (msg == NULL || err == NULL) {
		json_decref(msg);
		json_decref(err);
		return NULL;
	}
	json_object_set_new(err, "code", json_integer(code));
	/* A message built from bytes we do not control may not be UTF-8;
	 * jansson refuses such strings, so fall back to the code's name. */
	if (json_object_set_new(err, "message", json_string(text)) != 0)
		json_object_set_new(err, "message",
		    json_string(rpc_code_name(code)));
	json_object_set_new(msg, "jsonrpc", json_string("2.0"));
	json_object_set(msg, "id", id != NULL ? id : json_null());
	json_object_set_new(msg, "error", err);
	return msg;
}

json_t *
rpc_notification_new(const char *method, json_t *params)
{
	json_t *msg = json_object();

	if (msg == NULL) {
		json_decref(params);
		return NULL;
	}
	json_object_set_new(msg, "jsonrpc", json_string("2.0"));
	json_object_set_new(msg, "method", json_string(method));
	json_object_set_new(msg, "params",
	    params != NULL ? params : json_object());
	return msg;
}

json_t *
rpc_request_new(json_int_t id, const char *method, json_t *params)
{
	json_t *msg = json_object();

	if (msg == NULL) {
		json_decref(params);
		return NULL;
	}
	json_object_set_new(msg, "jsonrpc", json_string("2.0"));
	json_object_set_new(msg, "id", json_integer(id));
	json_object_set_new(msg, "method", json_string(method));
	if (params != NULL)
		json_object_set_new(msg, "params", params);
	return msg;
}

/* A malloc'd buffer json_dump_callback() appends to. */
struct rpc_dump_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static int
rpc_dump_append(const char *data, size_t size, void *arg)
{
	struct rpc_dump_buf *b = arg;
	size_t cap;
	char *p;

	if (size + 2 > b->cap - b->len) {
		cap = b->cap ? b->cap : 256;
		while (size + 2 > cap - b->len) {
			if (cap > SIZE_MAX / 2)
				return -1;
			cap *= 2;
		}
		if ((p = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, size);
	b->len += size;
	return 0;
}

/* Built in our own malloc'd buffer, not json_dumps()'s, so that the
 * caller frees it with free() whatever allocator jansson was given. */
char *
rpc_dump_line(const json_t *msg, size_t *len)
{
	struct rpc_dump_buf b = { NULL, 0, 0 };

	if (json_dump_callback(msg, rpc_dump_append, &b, JSON_COMPACT) != 0 ||
	    b.p == NULL) {
		free(b.p);
		return NULL;
	}
	b.p[b.len] = '\n';
	b.p[b.len + 1] = '\0';
	*len = b.len + 1;
	return b.p;
}

const char *
rpc_code_name(int code)
{
	switch (code) {
	case RPC_PARSE_ERROR:
		return "parse error";
	case RPC_INVALID_REQUEST:
		return "invalid request";
	case RPC_METHOD_NOT_FOUND:
		return "method not found";
	case RPC_INVALID_PARAMS:
		return "invalid params";
	case RPC_INTERNAL_ERROR:
		return "internal error";
	case RPC_NO_SUCH_PROCESS:
		return "no such process";
	case RPC_ALREADY_STARTED:
		return "already started";
	case RPC_NOT_RUNNING:
		return "not running";
	case RPC_SPAWN_ERROR:
		return "spawn error";
	case RPC_ABNORMAL_TERMINATION:
		return "exited too quickly";
	case RPC_PERMISSION_DENIED:
		return "permission denied";
	case RPC_SHUTTING_DOWN:
		return "shutting down";
	case RPC_CONFIG_INVALID:
		return "config invalid";
	case RPC_BAD_SIGNAL:
		return "bad signal";
	default:
		return "error";
	}
}
