/* Allocators that abort on failure, for small allocations whose size
 * is already bounded (STYLE.md: anything sized by input is checked
 * before it gets here). */
#ifndef SUPERD_XMALLOC_H
#define SUPERD_XMALLOC_H

#include <stddef.h>

void	*xcalloc(size_t n, size_t size);
/* realloc of n * size bytes, with the multiplication checked. */
void	*xreallocarray(void *p, size_t n, size_t size);
/* strdup; NULL gives NULL. */
char	*xstrdup(const char *s);
char	*xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
