/*
 * superctl -H: the same JSON-RPC over `ssh HOST superctl --dial`
 * (SPEC.md section 14). The far side joins its stdin/stdout to its own
 * control socket; this side reads and writes the pipes as if they were
 * the socket, so that nothing else in superctl knows about hosts.
 */
#ifndef SUPERD_REMOTE_H
#define SUPERD_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

struct client;

/* The ssh command ($SUPERD_SSH, split as a shell would, else "ssh") and
 * the far side's superctl ($SUPERD_REMOTE_SUPERCTL, else "superctl"). */
#define REMOTE_SSH_ENV		  "SUPERD_SSH"
#define REMOTE_CTL_ENV		  "SUPERD_REMOTE_SUPERCTL"
#define REMOTE_HOST_ENV		  "SUPERD_HOST"

/* Start ssh to host ([USER@]HOST[:PORT]) running `superctl --dial` and
 * return a client over its pipes; NULL with a message in err. */
struct client *remote_open(const char *host, int timeout_ms, char *err,
	    size_t errlen);

/* Check one [USER@]HOST[:PORT]; 0, or -1 with a message in err. */
int	remote_check_host(const char *host, char *err, size_t errlen);

/* superctl --dial: copy stdin to the control socket at path and the
 * socket to stdout until either ends. An exit code. */
int	remote_dial(const char *path);

/* Run fn(arg, host) for every host in a child of its own, its stdout and
 * stderr lines prefixed "HOST: ". In parallel, or one host after another
 * stopping after the first that fails (sequential). The highest exit
 * code. */
int	remote_each(char **hosts, size_t n, bool sequential,
	    int (*fn)(void *, const char *), void *arg);

#endif
