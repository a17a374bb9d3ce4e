/*
 * libFuzzer harness for the XML-RPC decoder (expat into jansson): any
 * input is decoded; what decodes is encoded back and must decode again
 * to an equal call (a round trip), so the encoder's escaping is fuzzed
 * too. DOCTYPEs, entity declarations and deep nesting must be refused
 * without growing memory (libFuzzer's -rss_limit_mb catches a billion
 * laughs that got through).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "xmlrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *method = NULL, *method2 = NULL, *out, *call;
	json_t *params = NULL, *params2 = NULL;
	const char *err;
	size_t len, clen;

	if (xmlrpc_decode_call((const char *)data, size, &method, &params,
	    &err) == -1) {
		if (method != NULL || params != NULL)
			abort();	/* nothing leaks out of a failure */
		return 0;
	}
	/* Encode the params as a response, then wrap its <value>s back
	 * into a call: they must decode to the same values. */
	out = xmlrpc_encode_response(params, &len);
	if (out != NULL) {
		const char *v = strstr(out, "<value>");
		const char *e = strstr(out, "</param>");

		/* Characters XML cannot carry became U+FFFD: no round trip
		 * then. */
		if (v != NULL && e != NULL && e > v &&
		    strstr(out, "\xef\xbf\xbd") == NULL) {
			clen = (size_t)(e - v) + 128;
			if ((call = malloc(clen)) != NULL) {
				int n = snprintf(call, clen, "<methodCall>"
				    "<methodName>m</methodName><params><param>"
				    "%.*s</param></params></methodCall>",
				    (int)(e - v), v);

				if (xmlrpc_decode_call(call, (size_t)n,
				    &method2, &params2, &err) == 0 &&
				    (json_array_size(params2) != 1 ||
				    !json_equal(json_array_get(params2, 0),
				    params)))
					abort();
				free(call);
			}
		}
		free(out);
	}
	out = xmlrpc_encode_fault(7, method, &len);
	free(out);
	free(method);
	free(method2);
	json_decref(params);
	json_decref(params2);
	return 0;
}
