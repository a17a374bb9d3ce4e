/* UTF-8 checking shared by superd (making program output valid JSON
 * strings) and superctl (reading replies). */
#ifndef SUPERD_UTF8_H
#define SUPERD_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (n > 0 bytes left): 1 for
 * ASCII except NUL, 2-4 for a well-formed multibyte sequence (no
 * overlong forms, no surrogates, nothing past U+10FFFF), 0 otherwise. */
size_t	utf8_seq(const unsigned char *s, size_t n);

#endif
