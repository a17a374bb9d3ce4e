/*
 * superctl's reader of reply lines: a JSON text into jansson values, with
 * the rules of json_loadb(text, len, 0, NULL) but several times faster.
 */
#ifndef SUPERD_JSON_READER_H
#define SUPERD_JSON_READER_H

#include <stddef.h>

#include <jansson.h>

/* The object or array in text[0..len) as a new reference; NULL with a
 * static reason in *why when json_loadb(text, len, 0, NULL) would fail. */
json_t	*json_reader_load(const char *text, size_t len, const char **why);

#endif
