/*
 * fork/exec of one process. Everything the child needs is prepared in
 * the parent; between fork and exec the child makes only
 * async-signal-safe calls. A failure in the child travels back over a
 * close-on-exec status pipe: EOF there means exec succeeded.
 */
#ifndef SUPERD_SPAWN_H
#define SUPERD_SPAWN_H

#include <sys/types.h>
#include <stddef.h>

#include "config.h"

struct spawn_req {
	const struct proc_conf *conf;
	const char *fullname;	/* for messages */
	char *const *global_env;	/* [superd] environment, may be NULL */
	const char *server_url;	/* SUPERVISOR_SERVER_URL, may be NULL */
	/* A held listening socket (SPEC 8), -1 when none: fd 3 with
	 * LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES, or fd 0 with conf->fcgi. */
	int	 listen_fd;
	const char *notify_path;	/* NOTIFY_SOCKET, NULL when none */
};

struct spawn_res {
	pid_t	 pid;
	int	 status_fd;	/* status pipe read end, non-blocking */
	int	 out_fd;	/* read end of stdout, non-blocking */
	int	 err_fd;	/* read end of stderr, -1 if redirected */
	int	 stdin_fd;	/* write end when stdin = pipe, else -1 */
};

/* Fork and exec. 0 with *res filled, or -1 with the reason (a spawn
 * error such as "No such file or directory: /usr/bin/nope") in err. */
int	spawn_start(const struct spawn_req *, struct spawn_res *, char *err,
	    size_t errlen);
/* Read the status pipe: 1 when the child reported a failure (reason in
 * err), 0 at EOF (exec succeeded), -1 when nothing is there yet. */
int	spawn_read_status(int fd, const struct proc_conf *, char *err,
	    size_t errlen);

#endif
