/*
 * A program's log file: opened without following symlinks, size-rotated
 * (file -> .1 -> .2 ...), reopened for logrotate, truncated on request.
 * Knows nothing of pipes or the loop; daemon/output.c drives it.
 */
#ifndef SUPERD_LOGFILE_H
#define SUPERD_LOGFILE_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct logfile;

/*
 * Open (creating 0640) the absolute `path` for appending: its directory
 * with O_DIRECTORY|O_NOFOLLOW, the file with openat(O_NOFOLLOW); it must
 * be a regular file with one link. `mkdirs` creates missing directories
 * (0750) first. `maxbytes` 0 never rotates; `backups` 0 truncates instead
 * of rotating. NULL with errno set and *why a short static reason.
 */
struct logfile *logfile_open(const char *path, uint64_t maxbytes, int backups,
	    bool mkdirs, const char **why);
/* NULL is a no-op. */
void	logfile_close(struct logfile *);
/* Change the rotation settings of an open file. */
void	logfile_set_limits(struct logfile *, uint64_t maxbytes, int backups);
/*
 * Append len bytes, rotating before a write would take the file past
 * maxbytes (a larger write is split). Returns the bytes that reached the
 * file: less than len (errno set) when a write failed; the rest is lost.
 * A failed rotation keeps writing to the current file.
 */
size_t	logfile_write(struct logfile *, const void *buf, size_t len);
/*
 * Move up to len bytes from the non-blocking pipe `pipefd` into the file
 * with splice(2), rotating first when the file is full; one call never
 * spans two files (it stops at maxbytes). *moved is set either way.
 * 0 (with *moved 0: EOF), or -1 with errno: EAGAIN the pipe is empty,
 * ENODATA empty or EOF (a read tells), EINVAL splice does not work
 * here, else a write error. After a write error, bytes already taken from
 * the pipe but not written wait for logfile_spill(); the next call drops
 * any left.
 */
int	logfile_splice(struct logfile *, int pipefd, size_t len, size_t *moved);
/* Read up to len of the bytes the last logfile_splice() took from its pipe
 * but could not write, in order; 0 when none are left. */
size_t	logfile_spill(void *buf, size_t len);
/* Read len bytes of the current file starting from_end bytes before its
 * end into buf; 0 or -1. */
int	logfile_readback(struct logfile *, void *buf, size_t len,
	    size_t from_end);
/* Close and open the path again (logrotate's create mode); on failure
 * the old file stays in use. 0 or -1 with *why. */
int	logfile_reopen(struct logfile *, const char **why);
/* Empty the current file (backups are left alone). 0 or -1. */
int	logfile_truncate(struct logfile *);
/* Bytes in the current file as far as we know. */
uint64_t logfile_size(const struct logfile *);
const char *logfile_path(const struct logfile *);

#endif
