/*
 * XML-RPC as supervisord's clients speak it: a methodCall decoded by
 * expat into jansson values, a methodResponse or a fault encoded back.
 * jansson is the value model on both sides so that the supervisor.*
 * methods build their answers like the JSON-RPC ones do.
 *
 * Mapping: int/i4/i8 -> integer, boolean -> true/false, string and
 * untyped -> string, double -> real, base64 -> string of the decoded
 * bytes, nil -> null, array -> array, struct -> object,
 * dateTime.iso8601 -> its text.
 */
#ifndef SUPERD_XMLRPC_H
#define SUPERD_XMLRPC_H

#include <stddef.h>

#include <jansson.h>

#define XMLRPC_MAX_DEPTH	  64	/* nested elements */
#define XMLRPC_MAX_NAME		  256	/* bytes of a method name */

/* supervisord's fault codes (xmlrpc.py Faults). */
enum xmlrpc_fault {
	XMLRPC_UNKNOWN_METHOD = 1,
	XMLRPC_INCORRECT_PARAMETERS = 2,
	XMLRPC_BAD_ARGUMENTS = 3,
	XMLRPC_SIGNATURE_UNSUPPORTED = 4,
	XMLRPC_SHUTDOWN_STATE = 6,
	XMLRPC_BAD_NAME = 10,
	XMLRPC_BAD_SIGNAL = 11,
	XMLRPC_NO_FILE = 20,
	XMLRPC_NOT_EXECUTABLE = 21,
	XMLRPC_FAILED = 30,
	XMLRPC_ABNORMAL_TERMINATION = 40,
	XMLRPC_SPAWN_ERROR = 50,
	XMLRPC_ALREADY_STARTED = 60,
	XMLRPC_NOT_RUNNING = 70,
	XMLRPC_SUCCESS = 80,
	XMLRPC_ALREADY_ADDED = 90,
	XMLRPC_STILL_RUNNING = 91,
	XMLRPC_CANT_REREAD = 92
};

/* The fault name for a code ("BAD_NAME"); "FAILED" when unknown. */
const char *xmlrpc_fault_name(int code);

/*
 * Decode a methodCall of len bytes. 0 with *method (malloc'd) and
 * *params (a new array), or -1 with *err (static text). DOCTYPEs and so
 * entity declarations are refused, nesting is capped at
 * XMLRPC_MAX_DEPTH: memory stays a small multiple of len.
 */
int	xmlrpc_decode_call(const char *body, size_t len, char **method,
	    json_t **params, const char **err);

/* A methodResponse holding value; malloc'd, *len bytes. NULL on
 * allocation failure. Strings that are not valid XML characters are
 * replaced by U+FFFD so that any client's parser accepts them. */
char	*xmlrpc_encode_response(const json_t *value, size_t *len);
/* A fault response {faultCode, faultString}. */
char	*xmlrpc_encode_fault(int code, const char *string, size_t *len);

/* Decode base64 (whitespace skipped): new malloc'd bytes (NUL ended,
 * *outlen without it), NULL when invalid. */
char	*xmlrpc_base64_decode(const char *in, size_t len, size_t *outlen);

#endif
