/*
 * superd's signals, all handled inside the event loop (evsignal): CHLD
 * reaps, TERM/INT/QUIT shut down, HUP reloads the config (as `update`),
 * USR2 reopens the log files. SIGPIPE is ignored.
 */
#ifndef SUPERD_SIGNALS_H
#define SUPERD_SIGNALS_H

struct event_base;
struct supervisor;
struct signals;

/* Install the handlers. `on_shutdown(arg)` runs for TERM/INT/QUIT (every
 * time: it must tolerate repeats). NULL on failure. */
struct signals *signals_new(struct event_base *, struct supervisor *,
	    void (*on_shutdown)(void *), void *arg);
/* Remove the handlers; NULL is a no-op. */
void	signals_free(struct signals *);
/* What HUP does: reread and apply the config, with sd_notify
 * RELOADING=1/READY=1 around it. 0, or -1 when the config is invalid
 * (each message logged as FILE:LINE: ...; nothing changed). */
int	signals_reload(struct supervisor *);

#endif
