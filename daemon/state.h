/*
 * The state file ([superd] state_file, SPEC section 10): what an
 * operator did by hand (stop, start) to each process, kept across a
 * restart of superd or a reboot, until the next such action or until the
 * process's definition changes (a fingerprint of the definition is
 * stored beside the action).
 */
#ifndef SUPERD_STATE_H
#define SUPERD_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct state;

enum state_action {
	STATE_NONE = 0,		/* nothing remembered: autostart decides */
	STATE_STOPPED,		/* stopped by hand: stays stopped */
	STATE_STARTED		/* started by hand: starts again */
};

/* Read `path` (NULL: an empty state that is never written). A missing
 * file is logged as info, an unreadable or corrupt one as a warning, a
 * directory that does not exist as a warning: superd then starts as if
 * it were absent. NULL only when out of memory. */
struct state *state_new(const char *path);
void	state_free(struct state *);

/* A fingerprint of everything that defines how a process runs. */
uint64_t state_fingerprint(const struct proc_conf *);

/* What was remembered for `fullname` with this definition. An entry with
 * another fingerprint is forgotten (the definition changed). */
enum state_action state_get(struct state *, const char *fullname,
	    uint64_t fingerprint);
/* Remember an action (STATE_NONE forgets); the file is written by
 * state_flush(). -1 when out of memory. */
int	state_set(struct state *, const char *fullname, uint64_t fingerprint,
	    enum state_action);
/* True when state_set() changed something not yet written. */
bool	state_dirty(const struct state *);
/* Write the file atomically (temp file, fsync, rename, fsync of the
 * directory) when dirty. 0, or -1 (logged, kept dirty for the next). */
int	state_flush(struct state *);

#endif
