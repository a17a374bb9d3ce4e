/* superd's signals, turned into loop events by libevent: no work is
 * done in a raw handler. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config.h"
#include "log.h"
#include "signals.h"
#include "supervisor.h"

struct signals {
	struct supervisor *sv;
	void	(*on_shutdown)(void *);
	void	*arg;
	struct event *ev[6];
	size_t	 nev;
};

static void
signals_on_chld(evutil_socket_t sig, short what, void *arg)
{
	struct signals *s = arg;

	(void)sig;
	(void)what;
	supervisor_reap(s->sv);
}

static void
signals_on_term(evutil_socket_t sig, short what, void *arg)
{
	struct signals *s = arg;

	(void)what;
	if (!supervisor_shutting_down(s->sv))
		log_info("received SIG%s: shutting down",
		    sigabbrev_np((int)sig) != NULL ? sigabbrev_np((int)sig)
						  : "?");
	else
		log_info("received SIG%s: already shutting down",
		    sigabbrev_np((int)sig) != NULL ? sigabbrev_np((int)sig)
						  : "?");
	if (s->on_shutdown != NULL)
		s->on_shutdown(s->arg);
}

int
signals_reload(struct supervisor *sv)
{
	struct config_diff diff;
	struct diags diags;
	int rc;

	if (supervisor_shutting_down(sv))
		return 0;
	diags_init(&diags);
	/* The same path as config.update: notify, update, diags and the
	 * diff logged. */
	rc = supervisor_apply_config(sv, NULL, 0, &diff, &diags);
	config_diff_free(&diff);
	diags_free(&diags);
	return rc;
}

static void
signals_on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct signals *s = arg;

	(void)sig;
	(void)what;
	(void)signals_reload(s->sv);
}

static void
signals_on_usr2(evutil_socket_t sig, short what, void *arg)
{
	struct signals *s = arg;

	(void)sig;
	(void)what;
	(void)supervisor_reopen_logs(s->sv);
}

static int
signals_add(struct signals *s, struct event_base *base, int sig,
    event_callback_fn cb)
{
	struct event *ev;

	ev = evsignal_new(base, sig, cb, s);
	if (ev == NULL || evsignal_add(ev, NULL) == -1) {
		if (ev != NULL)
			event_free(ev);
		return -1;
	}
	s->ev[s->nev++] = ev;
	return 0;
}

struct signals *
signals_new(struct event_base *base, struct supervisor *sv,
    void (*on_shutdown)(void *), void *arg)
{
	struct signals *s;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, NULL);

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->sv = sv;
	s->on_shutdown = on_shutdown;
	s->arg = arg;
	if (signals_add(s, base, SIGCHLD, signals_on_chld) == -1 ||
	    signals_add(s, base, SIGTERM, signals_on_term) == -1 ||
	    signals_add(s, base, SIGINT, signals_on_term) == -1 ||
	    signals_add(s, base, SIGQUIT, signals_on_term) == -1 ||
	    signals_add(s, base, SIGHUP, signals_on_hup) == -1 ||
	    signals_add(s, base, SIGUSR2, signals_on_usr2) == -1) {
		signals_free(s);
		return NULL;
	}
	return s;
}

void
signals_free(struct signals *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nev; i++)
		event_free(s->ev[i]);
	free(s);
}
