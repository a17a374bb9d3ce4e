/*
 * The sd_notify protocol without libsystemd: datagrams to the socket
 * named by NOTIFY_SOCKET (a path, or "@name" for an abstract address),
 * and WATCHDOG=1 every WATCHDOG_USEC/2.
 */
#ifndef SUPERD_NOTIFY_H
#define SUPERD_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct supervisor;

/* Read NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID, then remove them
 * from superd's environment so that programs never see them. Call it in
 * the process that will run the loop (after -d). 0, or -1 when
 * NOTIFY_SOCKET is unusable (logged; notifications are then off). */
int	notify_init(void);
/* Send one state string ("READY=1", "STOPPING=1"...); never blocks. */
void	notify_send(const char *state);
/* Start the WATCHDOG=1 timer when systemd asked for one (for this pid). */
int	notify_watchdog_start(struct event_base *);
/* Under NOTIFY_SOCKET, send STATUS= ("12 programs: 11 running, 1 fatal")
 * now and after state changes, at most once a second. `list` gives the
 * processes to count (the supervisor's, handed down by main so that
 * notify, which the supervisor uses, does not use it back). */
struct process;
typedef struct process *const *(*notify_list_fn)(const void *arg,
    size_t *n);
int	notify_status_start(struct event_base *, notify_list_fn list,
	    const void *arg);
/* Close the socket and stop the watchdog timer. */
void	notify_free(void);

/* reexec: NOTIFY_SOCKET and the watchdog's settings back into the
 * environment for the next image (true), or out again (false). */
void	notify_export_env(bool on);

#endif
