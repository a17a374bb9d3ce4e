/*
 * Readiness and health checks (SPEC section 9) as small non-blocking
 * state machines in the loop: a tcp connect, an HTTP/1.0 GET whose
 * status line is read (at most PROBE_HTTP_MAX bytes), a command run as
 * a child, or a process's own sd_notify datagram socket. Each run has a
 * deadline. The outcome is handed to a callback; process.c turns it into
 * an event of its action table, never a direct state change.
 */
#ifndef SUPERD_PROBE_H
#define SUPERD_PROBE_H

#include <sys/types.h>
#include <stdbool.h>

#include "config.h"

struct event_base;
struct probe;
struct probe_notify;

#define PROBE_HTTP_MAX	4096	/* bytes read of an HTTP answer */

/* ok: the check passed. why: a short reason when it did not
 * ("connect: Connection refused", "answered 500", "timed out after 5 s",
 * "exit status 1"), borrowed for the call only. */
typedef void (*probe_cb)(bool ok, const char *why, void *arg);

/*
 * Run one check of `conf` (TCP, HTTP or EXEC; never NOTIFY) with a
 * deadline of timeout_ms. `cb` runs exactly once, from the loop (never
 * from inside probe_run), unless probe_cancel() comes first. An EXEC
 * probe's child is reaped by the supervisor's SIGCHLD loop, which hands
 * its pid to probe_reaped(). NULL on allocation failure.
 * TCP and HTTP hosts: numeric, "localhost" (127.0.0.1), or a name that
 * evdns resolves in the loop (/etc/hosts, then DNS) within the deadline.
 * EXEC: argv[0] without a slash is looked up in superd's own PATH; the
 * child has /dev/null as fds 0-2 and its own process group, killed
 * (SIGKILL) at the deadline or on cancel. With `as` (the program's
 * config; may be NULL) it runs as the program's user= and in its
 * directory=; exit status 126 when that switch fails.
 */
struct probe *probe_run(struct event_base *, const struct probe_conf *conf,
	    const struct proc_conf *as, const char *const *env,
	    int timeout_ms, probe_cb cb, void *arg);
/* After cb returns the probe is freed: cb drops its pointer. */
/* Stop a probe that has not reported: its socket closes, its child is
 * killed (and still reaped later); cb is not called. NULL is a no-op. */
void	probe_cancel(struct probe *);
/* The SIGCHLD loop reaped `pid`: true when it was a probe's child (its
 * probe then reports), false when no probe owns it. */
bool	probe_reaped(pid_t pid, int status);

/* At exit: the resolver made for names, if any. */
void	probe_dns_free(void);

/* Called once when a datagram with READY=1 arrives; later ones change
 * nothing until probe_notify_reset(). */
typedef void (*probe_notify_cb)(void *arg);

/*
 * A process's own NOTIFY_SOCKET: a SOCK_DGRAM unix socket bound in
 * `dir` (superd's runtime directory), non-blocking, read in the loop.
 * Datagrams are read and dropped whatever their size; only READY=1
 * matters. NULL on failure (errno set).
 */
struct probe_notify *probe_notify_new(struct event_base *, const char *dir,
	    const char *fullname, probe_notify_cb cb, void *arg);
/* The socket is mode 0600, owned by superd's user: only that user (and
 * root) may send READY=1. For a program run as another user (user=),
 * give it the socket: any other local user could otherwise fake
 * readiness, which 0666 would allow. The directory must let that user
 * search it. 0 or -1 with errno. */
int	probe_notify_chown(struct probe_notify *, uid_t, gid_t);
/* The path to give the child as NOTIFY_SOCKET (borrowed). */
const char *probe_notify_path(const struct probe_notify *);
/* Forget any READY=1 seen: the next spawn waits for a new one. */
void	probe_notify_reset(struct probe_notify *);
/* Closes and unlinks; NULL is a no-op. */
void	probe_notify_free(struct probe_notify *);

/* ---- reexec (SPEC 13) ---- */

#include <jansson.h>

/* A notify socket (its fd handed over, its path) as a new JSON value
 * (null for NULL), and the same socket again in a new image: the
 * program's NOTIFY_SOCKET keeps naming it. NULL when it cannot be. */
json_t	*probe_notify_save(const struct probe_notify *);
struct probe_notify *probe_notify_restore(struct event_base *,
	    const json_t *, probe_notify_cb cb, void *arg);

#endif
