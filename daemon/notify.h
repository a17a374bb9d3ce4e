/*
 * The sd_notify protocol without libsystemd: datagrams to the socket
 * named by NOTIFY_SOCKET (a path, or "@name" for an abstract address),
 * and WATCHDOG=1 every WATCHDOG_USEC/2.
 */
#ifndef SUPERD_NOTIFY_H
#define SUPERD_NOTIFY_H

#include <stdbool.h>

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
 * now and after state changes, at most once a second. */
int	notify_status_start(struct event_base *, const struct supervisor *);
/* Close the socket and stop the watchdog timer. */
void	notify_free(void);

#endif
