/*
 * superctl reexec (SPEC 13): superd replaces its own image with the
 * binary installed at the path it was started from, keeping its pid,
 * its children, their pipes, the held sockets and the control socket.
 *
 * The old image asks every room for its state (x_save, a JSON object;
 * the fds it names are handed over with reexec_keep_fd()), writes one
 * JSON document into a memfd and execs itself with `--reexec-state FD`.
 * The new image reads it back, gives each room its part (x_restore,
 * fds taken with reexec_take_fd()) and carries on. This file only
 * sequences the rooms; what a room's state is stays in the room.
 */
#ifndef SUPERD_REEXEC_H
#define SUPERD_REEXEC_H

#include <stdbool.h>

#include <jansson.h>

struct control;
struct event;
struct http;
struct supervisor;

/* The document's "format" and "version": a new image refuses others. */
#define REEXEC_FORMAT	"superd-reexec-state"
#define REEXEC_VERSION	1
/* The flag the new image is started with. */
#define REEXEC_FLAG	"--reexec-state"

/* At start, before anything changes directory or argv: remember the
 * binary's path (/proc/self/exe) and the arguments to exec it with. */
void	reexec_init(int argc, char *const argv[]);
/* The loop's objects daemon.reexec needs, once they exist. */
void	reexec_attach(struct supervisor *, struct control *, struct http *);

/* ---- the new image ---- */

/*
 * `--reexec-state FD`: read and check the document. The state (new
 * reference) or NULL when it cannot be used (truncated, another
 * version: the reason is logged); then reexec_adopt_orphans() finds the
 * programs anyway. Either way the fd is closed.
 */
json_t	*reexec_load(int fd);
/* Before the supervisor and the control socket are made: hand the held
 * sockets and the control socket of `state` to their rooms, so that
 * they are adopted instead of bound again. */
void	reexec_restore_early(const json_t *state);
/* After the registry is built (nothing spawned): adopt every process of
 * `state` by its full name; a process of the state that the registry
 * does not have is logged and left running. */
void	reexec_restore(struct supervisor *, const json_t *state);
/*
 * The state could not be read: find superd's children in /proc, match
 * each to its process by SUPERVISOR_PROCESS_NAME and adopt it as
 * RUNNING, its stdout/stderr pipes found among the inherited fds by
 * their inode. Held sockets a child listens on are handed to sockets
 * the same way (call before supervisor_new(), with the config).
 */
struct config;
void	reexec_orphans_early(const struct config *);
void	reexec_adopt_orphans(struct supervisor *);

#endif
