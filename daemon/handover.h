/* fds, timers and bytes handed from one image of superd to the next
 * (reexec.h sequences the rooms; the rooms use only this). */
#ifndef SUPERD_HANDOVER_H
#define SUPERD_HANDOVER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct event;


/* Hand `fd` over across the exec (its CLOEXEC is cleared at the last
 * moment, and set again if the exec fails). Returns fd, for chaining
 * into json_integer(). -1 is passed through. */
int	handover_keep_fd(int fd);
/* In the new image: `key` of `obj` as an fd that was handed over
 * (CLOEXEC set again), or -1 when absent or not open. */
int	handover_take_fd(const json_t *obj, const char *key);
/* A pending timer's remaining time in ms, -1 when not pending. */
long	handover_timer_left(const struct event *);
/* Bytes as a hex string (new reference) and back: *len bytes into buf
 * (at most max); -1 when malformed. */
json_t	*handover_hex_new(const char *data, size_t len);
int	handover_hex_get(const json_t *obj, const char *key, char *buf,
	    size_t max, size_t *len);

/* Clear (false) or set again (true) CLOEXEC on every fd kept so far. */
void	handover_set_cloexec(bool on);
/* How many fds are kept; whether one could not be noted (refuse). */
size_t	handover_count(void);
bool	handover_failed(void);
/* Forget the kept fds (after an exec failed, before a new save). */
void	handover_reset(void);

#endif
