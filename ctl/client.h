/*
 * superctl's side of the control socket: connect, send one JSON-RPC
 * request per line, read responses (matched by id) and notifications,
 * all under deadlines so that a hung daemon never hangs the CLI (R46).
 */
#ifndef SUPERD_CLIENT_H
#define SUPERD_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

/* The biggest response line accepted (a process.list of thousands of
 * programs is a few MiB). */
#define CLIENT_MAX_RESPONSE	  (64 * 1024 * 1024)
#define CLIENT_DEFAULT_TIMEOUT	  10000 /* ms */

/* What went wrong when a call did not produce a reply. */
enum client_status {
	CLIENT_OK = 0,
	CLIENT_UNREACHABLE = -1,	/* connect, EOF, timeout: exit 7 */
	CLIENT_PROTOCOL = -2,		/* garbage or oversized reply */
	CLIENT_INTERRUPTED = -3		/* SIGINT */
};

/* Long calls (start/stop with wait) may take as long as the daemon needs,
 * as long as it keeps answering pings within the timeout. */
#define CLIENT_CALL_LONG	  0x1

/* Set from a signal handler; every wait returns CLIENT_INTERRUPTED once it
 * is non-zero. */
extern volatile sig_atomic_t client_interrupted;

struct client;

/* Called for every notification: method and params are borrowed. */
typedef void (*client_notify_fn)(void *arg, const char *method,
    json_t *params);

/* Connect to the socket at path within timeout_ms (<= 0: no timeout).
 * NULL on failure with a message naming the path and the reason in err. */
struct client *client_open(const char *path, int timeout_ms, char *err,
	    size_t errlen);
/* A client over a pair of fds (a pipe to `ssh HOST superctl --dial`),
 * both non-blocking; pid, when > 0, is reaped by client_close(). name
 * stands for the path in messages. NULL when out of memory. */
struct client *client_open_fds(int rfd, int wfd, pid_t pid,
	    const char *name, int timeout_ms);
void	client_close(struct client *);
/* Send `method` (params stolen, may be NULL) and wait for its reply; the
 * reply (whole envelope, new reference) goes to *reply. Notifications
 * seen meanwhile go to fn. A client_status. */
int	client_call(struct client *, const char *method, json_t *params,
	    int flags, json_t **reply, client_notify_fn fn, void *arg);
/* Hand notifications to fn until the daemon closes the connection or
 * client_interrupted; CLIENT_OK for either, else a client_status. */
int	client_stream(struct client *, client_notify_fn fn, void *arg);
/* client_stream(), also calling on_fd(arg) whenever fd is readable: a
 * non-zero return from it ends the stream (CLIENT_OK). */
int	client_stream_fd(struct client *, client_notify_fn fn, void *arg,
	    int fd, int (*on_fd)(void *));
/* The reason of the last failure ("timed out after 10 s reading from
 * /run/superd/superd.sock"). */
const char *client_error(const struct client *);

#endif
