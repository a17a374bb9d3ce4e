/*
 * JSON-RPC 2.0 as superd speaks it: one JSON object per line, at most
 * RPC_MAX_LINE bytes, error codes shared by superd and superctl so that
 * the two cannot drift apart. jansson ownership: functions named _new
 * return a new reference; "stolen" arguments are taken over.
 */
#ifndef SUPERD_RPC_H
#define SUPERD_RPC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define RPC_MAX_LINE	  (1024 * 1024)
#define RPC_MAX_METHOD	  64
#define RPC_API_VERSION	  1

enum rpc_code {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_METHOD_NOT_FOUND = -32601,
	RPC_INVALID_PARAMS = -32602,
	RPC_INTERNAL_ERROR = -32603,
	RPC_NO_SUCH_PROCESS = 100,
	RPC_ALREADY_STARTED = 101,
	RPC_NOT_RUNNING = 102,
	RPC_SPAWN_ERROR = 103,
	RPC_ABNORMAL_TERMINATION = 104,
	RPC_PERMISSION_DENIED = 105,
	RPC_SHUTTING_DOWN = 106,
	RPC_CONFIG_INVALID = 107,
	RPC_BAD_SIGNAL = 108
};

/* A parsed request. `root` is owned; the rest borrow from it. */
struct rpc_request {
	json_t	*root;
	json_t	*id;		/* NULL: a notification (no answer) */
	const char *method;
	json_t	*params;	/* NULL when absent; object or array */
};

/*
 * Parse one line (without its '\n'). Returns 0, or -1 with *code set to
 * RPC_PARSE_ERROR or RPC_INVALID_REQUEST and *msg to a static reason; on
 * RPC_INVALID_REQUEST req->id may be set (answer with it) and req->root
 * must still be freed with rpc_request_free(). Duplicate keys are
 * rejected; batches (arrays) are RPC_INVALID_REQUEST.
 */
int	rpc_parse_request(const char *line, size_t len, struct rpc_request *req,
	    int *code, const char **msg);
void	rpc_request_free(struct rpc_request *);

/* {"jsonrpc":"2.0","id":ID,"result":RESULT}; result stolen, id borrowed
 * (NULL is written as null). */
json_t *rpc_result_new(json_t *id, json_t *result);
/* {"jsonrpc":"2.0","id":ID,"error":{"code":C,"message":M}}; id borrowed. */
json_t *rpc_error_new(json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* {"jsonrpc":"2.0","method":M,"params":P}; params stolen. */
json_t *rpc_notification_new(const char *method, json_t *params);
/* {"jsonrpc":"2.0","id":ID,"method":M[,"params":P]}; params stolen (may be
 * NULL). */
json_t *rpc_request_new(json_int_t id, const char *method, json_t *params);
/* Compact JSON plus '\n', malloc'd; NULL on failure. *len excludes NUL. */
char   *rpc_dump_line(const json_t *msg, size_t *len);

/* The readable name of one of our codes ("no such process"...). */
const char *rpc_code_name(int code);

#endif
