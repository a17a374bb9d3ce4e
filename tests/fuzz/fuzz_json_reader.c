/*
 * libFuzzer harness for superctl's reply reader (ctl/json_reader.c): on
 * any bytes it must agree with json_loadb(data, size, 0), the call it
 * replaces: both refuse, or both accept with equal values that serialize
 * the same (key order, the last of duplicate keys).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_reader.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t err;
	const char *why = NULL;
	json_t *mine, *ref;
	char *a, *b;

	mine = json_reader_load((const char *)data, size, &why);
	ref = json_loadb((const char *)data, size, 0, &err);
	if ((mine == NULL) != (ref == NULL)) {
		fprintf(stderr, "reader: %s, json_loadb: %s\n",
		    mine != NULL ? "accepts" : why,
		    ref != NULL ? "accepts" : err.text);
		abort();
	}
	if (mine == NULL) {
		if (why == NULL)
			abort();
		return 0;
	}
	a = json_dumps(mine, JSON_COMPACT);
	b = json_dumps(ref, JSON_COMPACT);
	if (!json_equal(mine, ref) || a == NULL || b == NULL ||
	    strcmp(a, b) != 0) {
		fprintf(stderr, "reader: %s\njson_loadb: %s\n",
		    a != NULL ? a : "?", b != NULL ? b : "?");
		abort();
	}
	free(a);
	free(b);
	json_decref(mine);
	json_decref(ref);
	return 0;
}
