/*
 * A process's output: the stdout/stderr pipes read in the loop, the log
 * files they go to (logfile.c), the in-memory tail ring of the last 64 KiB
 * per stream, and followers. Lives as long as its process, across
 * restarts. Memory is bounded whatever the child writes: when the disk
 * is slower than the child, reading stops and the child waits.
 */
#ifndef SUPERD_OUTPUT_H
#define SUPERD_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct event_base;
struct output;
struct output_follower;

enum output_stream {
	OUTPUT_STDOUT = 0,
	OUTPUT_STDERR = 1
};

#define OUTPUT_RING_SIZE (64 * 1024)

/* New output for a process called `fullname` ("web:web_00"). */
struct output *output_new(struct event_base *, const struct proc_conf *,
	    const char *fullname);
/* Closes pipes and files, drops followers; NULL is a no-op. */
void	output_free(struct output *);
/* Point at an equal (or, after a restart, a changed) definition; log
 * files are reopened when their settings changed. */
void	output_set_conf(struct output *, const struct proc_conf *);
/* Take the parent's read ends of a fresh spawn (err_fd is -1 with
 * redirect_stderr). Pipes of an earlier run still open (a grandchild
 * holding them) are drained and closed. Opens log files if needed. */
int	output_attach(struct output *, int out_fd, int err_fd);

/* The last `bytes` (at most the ring) of a stream: new malloc'd *data
 * (may hold NULs, *len bytes) and the stream's total byte count so far
 * as *offset (the offset just past the data). 0 or -1. */
int	output_tail(struct output *, enum output_stream, size_t bytes,
	    char **data, size_t *len, uint64_t *offset);

typedef void (*output_data_cb)(const char *data, size_t len, void *arg);
/*
 * Call cb with every chunk the stream gets from now on. The output owns
 * the follower: when it is freed (its process removed) cb gets one last
 * call with data NULL, after which the follower is gone and must not be
 * unfollowed. The caller never guesses by looking its process up.
 */
struct output_follower *output_follow(struct output *, enum output_stream,
	    output_data_cb cb, void *arg);
/* NULL is a no-op. Safe from inside the callback. */
void	output_unfollow(struct output_follower *);

/* Empty the ring and truncate the log files of both streams. */
int	output_clear(struct output *);
/* Reopen both log files (after logrotate moved them). */
int	output_reopen(struct output *);
/* Bytes lost (disk full...) since start, per stream. */
uint64_t output_lost(const struct output *, enum output_stream);

#endif
