/*
 * One process's lifecycle, SPEC.md sections 4, 9 and 10, as supervisord's
 * process.py but driven by events and timers instead of a 1 s poll.
 *
 * s6-supervise's shape: everything that happens to a process is an event
 * (enum process_event) and process_actions[state][event] names the small
 * function that does the effects; each such cell ends in the one
 * process_set_state() when the state changes. A NULL cell means the event
 * does not matter in that state. There is a single timer per process and
 * no record of "what the timer is for": a TIMEOUT means what the state
 * says (see struct process).
 *
 * Arrows point down: what the process needs from above (the global
 * environment, "shutting down", held sockets, the runtime directory)
 * comes in a struct process_ctx; nothing here includes supervisor.h.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "events.h"
#include "fdio.h"
#include "log.h"
#include "output.h"
#include "probe.h"
#include "process.h"
#include "rpc.h"
#include "spawn.h"
#include "handover.h"

/* Crash-loop logging: at most this many state lines per window. */
#define PROCESS_LOG_BURST	20
#define PROCESS_LOG_WINDOW	60
/* How often a ready= check is tried while STARTING. */
#define PROCESS_POLL_MS		250

struct process_priv {
	int	 status_fd;	/* spawn status pipe, -1 once read */
	struct event *status_ev;
	bool	 exec_failed;	/* the status pipe reported an error */
	bool	 spawned;	/* once: later spawns count as restarts */
	/* Set by a health restart: once down, start again. */
	bool	 restart_after_stop;
	struct timespec spawn_mono;	/* last spawn attempt */
	long	 crashes;	/* short runs in a row (exponential) */
	int	 health_streak;	/* failed health checks in a row */
	struct event *poll;	/* next ready= try while STARTING */
	struct probe *probe;	/* the check under way, if any */
	struct probe_notify *notify;	/* ready=notify: its socket */
	char	 why[160];	/* what the last failed check said */
	const char *stop_reason;	/* for the RUNNING -> STOPPING event */
	time_t	 log_window;	/* monotonic seconds */
	int	 log_count;
	int	 log_dropped;
};

typedef int (*process_action)(struct process *);

static void process_spawn(struct process *);

/* ---- the pure part ---- */

unsigned int
process_backoff_delay(long failures)
{
	if (failures < 1)
		return 1;
	if (failures > PROCESS_BACKOFF_MAX)
		return PROCESS_BACKOFF_MAX;
	return (unsigned int)failures;
}

long
process_backoff_ms(enum backoff_kind kind, long n, int max, unsigned int rnd)
{
	unsigned long long span;
	long sec = 1, ms;

	if (n < 1)
		n = 1;
	if (kind != BACKOFF_EXPONENTIAL)
		return (long)process_backoff_delay(n) * 1000;
	if (max < 1)
		max = 1;
	if (max > 86400)
		max = 86400;
	while (--n > 0 && sec < max)
		sec *= 2;
	if (sec > max)
		sec = max;
	ms = sec * 1000;
	/* Jitter in [-10%, +10%): rnd scaled onto a fifth of the delay. */
	span = (unsigned long long)ms / 5;
	return ms - ms / 10 + (long)(((unsigned long long)rnd * span) >> 32);
}

bool
process_gives_up(long failures, int startretries)
{
	return failures > (long)(startretries < 0 ? 0 : startretries);
}

bool
process_should_restart(enum autorestart ar, bool expected)
{
	switch (ar) {
	case AUTORESTART_TRUE:
		return true;
	case AUTORESTART_UNEXPECTED:
		return !expected;
	case AUTORESTART_FALSE:
		break;
	}
	return false;
}

bool
process_exit_expected(const struct proc_conf *c, bool by_signal, int code)
{
	if (by_signal || code < 0 || code > 255)
		return false;
	return proc_conf_expected_exit(c, code);
}

const char *
process_state_name(enum process_state s)
{
	switch (s) {
	case PROCESS_STOPPED:
		return "STOPPED";
	case PROCESS_STARTING:
		return "STARTING";
	case PROCESS_RUNNING:
		return "RUNNING";
	case PROCESS_BACKOFF:
		return "BACKOFF";
	case PROCESS_STOPPING:
		return "STOPPING";
	case PROCESS_EXITED:
		return "EXITED";
	case PROCESS_FATAL:
		return "FATAL";
	case PROCESS_UNKNOWN:
		return "UNKNOWN";
	}
	return "UNKNOWN";
}

char *
process_make_fullname(const struct group_conf *g, const struct proc_conf *c)
{
	char *s;

	if ((g == NULL || g->nprocs == 1) && strcmp(c->group, c->name) == 0)
		return strdup(c->name);
	if (asprintf(&s, "%s:%s", c->group, c->name) == -1)
		return NULL;
	return s;
}

/* ---- effects ---- */

static struct process_priv *
process_priv(const struct process *p)
{
	return p->internal;
}

static void
process_now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}


static bool
process_sv_stopping(const struct process *p)
{
	return p->ctx != NULL && p->ctx->shutting_down;
}

static long
process_ms_since(const struct timespec *then)
{
	struct timespec now;

	process_now(&now);
	return (now.tv_sec - then->tv_sec) * 1000 +
	    (now.tv_nsec - then->tv_nsec) / 1000000;
}

static unsigned int
process_random(void)
{
	unsigned int r;
	struct timespec ts;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	process_now(&ts);
	return (unsigned int)ts.tv_nsec * 2654435761U;
}

static const char *
process_signame(int sig)
{
	const char *s = sigabbrev_np(sig);

	return s != NULL ? s : "?";
}

/* "exit status 1" or "terminated by SIGKILL" for the last exit. */
static void
process_describe_exit(const struct process *p, char *buf, size_t len)
{
	if (p->killed_by_signal)
		snprintf(buf, len, "terminated by SIG%s",
		    process_signame(-p->exitstatus));
	else
		snprintf(buf, len, "exit status %d", p->exitstatus);
}

/* True when this change may be logged at info level: a crash loop is
 * summarised instead of flooding the log. */
/* True when this change may be logged at info level: a crash loop is
 * summarised instead of flooding the log. */
static bool
process_log_allowed(struct process *p)
{
	struct process_priv *pp = process_priv(p);
	struct timespec now;

	process_now(&now);
	if (now.tv_sec - pp->log_window >= PROCESS_LOG_WINDOW) {
		if (pp->log_dropped > 0)
			log_info("program %s: %d state changes not logged "
			    "(crash loop?)", p->fullname, pp->log_dropped);
		pp->log_window = now.tv_sec;
		pp->log_count = 0;
		pp->log_dropped = 0;
	}
	if (pp->log_count++ < PROCESS_LOG_BURST)
		return true;
	pp->log_dropped++;
	return false;
}

static void
process_log_state(struct process *p, enum process_state from,
    enum process_state to, const char *reason)
{
	char detail[512], ex[64];
	bool info;

	detail[0] = '\0';
	switch (to) {
	case PROCESS_STARTING:
	case PROCESS_RUNNING:
		if (p->pid > 0)
			snprintf(detail, sizeof(detail), " (pid %d)",
			    (int)p->pid);
		break;
	case PROCESS_STOPPING:
		if (reason != NULL)
			snprintf(detail, sizeof(detail), " (pid %d; %s)",
			    (int)p->pid, reason);
		else
			snprintf(detail, sizeof(detail), " (pid %d)",
			    (int)p->pid);
		break;
	case PROCESS_EXITED:
		process_describe_exit(p, ex, sizeof(ex));
		snprintf(detail, sizeof(detail), " (%s; %s)", ex,
		    process_exit_expected(p->conf, p->killed_by_signal,
		    p->exitstatus) ? "expected" : "not expected");
		break;
	case PROCESS_STOPPED:
		if (from == PROCESS_STOPPING) {
			process_describe_exit(p, ex, sizeof(ex));
			snprintf(detail, sizeof(detail), " (%s)", ex);
		}
		break;
	case PROCESS_BACKOFF:
		snprintf(detail, sizeof(detail), " (%s; failed start %d)",
		    p->spawnerr[0] != '\0' ? p->spawnerr : "exited",
		    p->backoff);
		break;
	case PROCESS_FATAL:
		snprintf(detail, sizeof(detail),
		    " (gave up after %d attempts: %s)", p->backoff,
		    p->spawnerr);
		break;
	case PROCESS_UNKNOWN:
		break;
	}
	info = process_log_allowed(p);
	if (to == PROCESS_FATAL || reason != NULL)
		log_warn("program %s: %s%s", p->fullname,
		    process_state_name(to), detail);
	else if (info)
		log_info("program %s: %s%s", p->fullname,
		    process_state_name(to), detail);
	else
		log_debug("program %s: %s%s", p->fullname,
		    process_state_name(to), detail);
}

/* The one place that changes p->state. */
static void
process_set_state(struct process *p, enum process_state to,
    const char *reason)
{
	enum process_state from = p->state;

	p->state = to;
	process_log_state(p, from, to, reason);
	events_publish(p, from, to, reason);
}

static void
process_timer_cancel(struct process *p)
{
	if (p->timer != NULL)
		evtimer_del(p->timer);
}

static void
process_timer_set(struct process *p, long msec)
{
	struct timeval tv;

	if (p->timer == NULL)
		return;
	if (msec < 0)
		msec = 0;
	tv.tv_sec = msec / 1000;
	tv.tv_usec = (msec % 1000) * 1000;
	evtimer_add(p->timer, &tv);
}

static bool
process_timer_pending(const struct process *p)
{
	return p->timer != NULL && evtimer_pending(p->timer, NULL);
}

/* Readiness polls and health checks end with the state they belong to. */
static void
process_checks_stop(struct process *p)
{
	struct process_priv *pp = process_priv(p);

	probe_cancel(pp->probe);
	pp->probe = NULL;
	if (pp->poll != NULL)
		evtimer_del(pp->poll);
}

static void
process_status_close(struct process *p)
{
	struct process_priv *pp = process_priv(p);

	if (pp->status_ev != NULL) {
		event_free(pp->status_ev);
		pp->status_ev = NULL;
	}
	if (pp->status_fd != -1) {
		close(pp->status_fd);
		pp->status_fd = -1;
	}
}

/* Read what the spawn status pipe has: 1 once it is done (an error was
 * read, or EOF: exec succeeded), 0 when nothing is there yet. */
static int
process_status_read(struct process *p)
{
	struct process_priv *pp = process_priv(p);
	char err[sizeof(p->spawnerr)];
	int rc;

	if (pp->status_fd == -1)
		return 1;
	rc = spawn_read_status(pp->status_fd, p->conf, err, sizeof(err));
	if (rc == -1)
		return 0;
	if (rc == 1) {
		pp->exec_failed = true;
		p->failure = PROCESS_FAIL_SPAWN;
		snprintf(p->spawnerr, sizeof(p->spawnerr), "%s", err);
		log_error("program %s: spawn error: %s", p->fullname, err);
	}
	process_status_close(p);
	return 1;
}

static void
process_on_status(evutil_socket_t fd, short what, void *arg)
{
	struct process *p = arg;

	(void)fd;
	(void)what;
	if (!process_status_read(p))
		return;
	if (!process_priv(p)->exec_failed)
		(void)process_handle(p, PROCESS_EV_EXEC);
}

static void
process_on_check(bool ok, const char *why, void *arg)
{
	struct process *p = arg;
	struct process_priv *pp = process_priv(p);

	pp->probe = NULL;
	if (!ok)
		snprintf(pp->why, sizeof(pp->why), "%s",
		    why != NULL ? why : "failed");
	(void)process_handle(p, ok ? PROCESS_EV_READY : PROCESS_EV_CHECK_FAIL);
}

static void
process_on_notify(void *arg)
{
	(void)process_handle(arg, PROCESS_EV_READY);
}

/* Run one check of `conf` unless one is under way. */
static void
process_check_run(struct process *p, const struct probe_conf *conf,
    int timeout_s)
{
	struct process_priv *pp = process_priv(p);
	const char *const *env = NULL;

	if (pp->probe != NULL || p->base == NULL)
		return;
	if (p->ctx != NULL)
		env = (const char *const *)p->ctx->global_env;
	pp->probe = probe_run(p->base, conf, p->conf, env, timeout_s * 1000,
	    process_on_check, p);
	if (pp->probe == NULL) {
		snprintf(pp->why, sizeof(pp->why), "cannot run the check");
		/* Counts as a failure, later, from the loop. */
		if (p->state == PROCESS_STARTING && pp->poll != NULL) {
			struct timeval tv = { 0, PROCESS_POLL_MS * 1000 };

			evtimer_add(pp->poll, &tv);
		}
	}
}

static void
process_on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct process *p = arg;

	(void)fd;
	(void)what;
	/* Each try is bounded like a health check. */
	if (p->state == PROCESS_STARTING)
		process_check_run(p, &p->conf->ready,
		    p->conf->health_timeout > 0 ? p->conf->health_timeout : 5);
}

static void
process_poll_later(struct process *p)
{
	struct process_priv *pp = process_priv(p);
	struct timeval tv = { 0, PROCESS_POLL_MS * 1000 };

	if (pp->poll != NULL)
		evtimer_add(pp->poll, &tv);
}

static void
process_timer_on(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)process_handle(arg, PROCESS_EV_TIMEOUT);
}

/* A start failed (the kind is in p->failure): BACKOFF and a retry later,
 * or FATAL once startretries are used up. */
static void
process_fail_start(struct process *p)
{
	if (p->backoff < 1000000000)
		p->backoff++;
	process_set_state(p, PROCESS_BACKOFF, NULL);
	if (process_gives_up(p->backoff, p->conf->startretries)) {
		process_set_state(p, PROCESS_FATAL, NULL);
		return;
	}
	if (process_sv_stopping(p))
		return;
	process_timer_set(p, process_backoff_ms(p->conf->backoff, p->backoff,
	    p->conf->backoff_max, process_random()));
}

/* The program's held socket, or -1 with the reason in err. */
static int
process_listen_fd(struct process *p, char *err, size_t len)
{
	const struct sock_conf *sc = &p->conf->socket;
	int fd = -1;

	if (sc->kind == SOCK_NONE)
		return -1;
	if (p->ctx != NULL && p->ctx->socket_fd != NULL)
		fd = p->ctx->socket_fd(p->ctx->socket_arg, sc);
	if (fd < 0)
		snprintf(err, len, "socket %s is not open",
		    sc->spec != NULL ? sc->spec : "?");
	return fd;
}

/* ready=notify: the process's own NOTIFY_SOCKET, made once and kept (the
 * path stays the same across restarts); NULL with the reason in err. */
static const char *
process_notify_path(struct process *p, char *err, size_t len)
{
	struct process_priv *pp = process_priv(p);
	const char *dir = p->ctx != NULL ? p->ctx->runtime_dir : NULL;

	if (pp->notify == NULL) {
		if (p->base == NULL || dir == NULL) {
			snprintf(err, len,
			    "ready=notify: no runtime directory");
			return NULL;
		}
		pp->notify = probe_notify_new(p->base, dir, p->fullname,
		    process_on_notify, p);
		if (pp->notify == NULL) {
			snprintf(err, len, "ready=notify: cannot make a socket "
			    "in %s: %s", dir, strerror(errno));
			return NULL;
		}
	}
	probe_notify_reset(pp->notify);
	return probe_notify_path(pp->notify);
}

/* What follows a spawn error: STARTING (so that every start is seen)
 * and at once a failed start. */
static void
process_spawn_failed(struct process *p, const char *err)
{
	snprintf(p->spawnerr, sizeof(p->spawnerr), "%s", err);
	p->failure = PROCESS_FAIL_SPAWN;
	log_error("program %s: spawn error: %s", p->fullname, err);
	process_set_state(p, PROCESS_STARTING, NULL);
	process_fail_start(p);
}

static void
process_spawn(struct process *p)
{
	struct process_priv *pp = process_priv(p);
	struct spawn_req req;
	struct spawn_res res;
	char err[sizeof(p->spawnerr)];

	process_timer_cancel(p);
	process_checks_stop(p);
	process_status_close(p);
	p->spawnerr[0] = '\0';
	p->failure = PROCESS_FAIL_NONE;
	pp->exec_failed = false;
	pp->why[0] = '\0';
	process_now(&pp->spawn_mono);
	if (pp->spawned)
		p->restarts++;
	pp->spawned = true;

	memset(&req, 0, sizeof(req));
	req.conf = p->conf;
	req.fullname = p->fullname;
	req.listen_fd = -1;
	if (p->ctx != NULL) {
		req.global_env = p->ctx->global_env;
		req.server_url = p->ctx->server_url;
	}
	err[0] = '\0';
	if (p->conf->socket.kind != SOCK_NONE &&
	    (req.listen_fd = process_listen_fd(p, err, sizeof(err))) < 0) {
		process_spawn_failed(p, err);
		return;
	}
	if (p->conf->ready.kind == PROBE_NOTIFY &&
	    (req.notify_path = process_notify_path(p, err, sizeof(err))) ==
	    NULL) {
		process_spawn_failed(p, err);
		return;
	}
	if (spawn_start(&req, &res, err, sizeof(err)) == -1) {
		process_spawn_failed(p, err);
		return;
	}
	p->pid = res.pid;
	p->start_time = time(NULL);
	p->start_mono = pp->spawn_mono;
	p->stdin_fd = res.stdin_fd;
	pp->status_fd = res.status_fd;
	if (p->base != NULL) {
		pp->status_ev = event_new(p->base, res.status_fd,
		    EV_READ | EV_PERSIST, process_on_status, p);
		if (pp->status_ev == NULL ||
		    event_add(pp->status_ev, NULL) == -1)
			log_error("program %s: cannot watch the spawn status "
			    "pipe", p->fullname);
	}
	if (p->output != NULL) {
		if (output_attach(p->output, res.out_fd, res.err_fd) == -1)
			log_error("program %s: cannot attach its output",
			    p->fullname);
	} else {
		close(res.out_fd);
		if (res.err_fd != -1)
			close(res.err_fd);
	}
	process_set_state(p, PROCESS_STARTING, NULL);
	/* STARTING's timer: ready_timeout with a check, else startsecs. */
	if (p->conf->ready.kind != PROBE_NONE) {
		process_timer_set(p, (long)p->conf->ready_timeout * 1000);
		if (p->conf->ready.kind != PROBE_NOTIFY)
			process_poll_later(p);
	} else if (p->conf->startsecs > 0)
		process_timer_set(p, (long)p->conf->startsecs * 1000);
}

/* Restart after an exit from RUNNING: at once, unless the run lasted
 * under a second; then the spawn waits until one second has passed
 * since the previous one (runit/s6), so a crash loop cannot spin. */
static void
process_restart_soon(struct process *p)
{
	long ms = process_ms_since(&process_priv(p)->spawn_mono);

	if (ms >= 1000 || p->timer == NULL)
		process_spawn(p);
	else
		process_timer_set(p, 1000 - ms);
}

static int
process_send(struct process *p, int sig, bool group)
{
	pid_t target;

	if (p->pid <= 0)
		return -1;
	target = group ? -p->pid : p->pid;
	if (kill(target, sig) == -1) {
		if (errno == ESRCH && group && kill(p->pid, sig) == 0)
			return 0;
		if (errno != ESRCH)
			log_syserr("program %s: kill %d SIG%s", p->fullname,
			    (int)target, process_signame(sig));
		return -1;
	}
	return 0;
}

/* ---- the action table's cells ---- */

static int
process_act_already(struct process *p)
{
	(void)p;
	return RPC_ALREADY_STARTED;
}

static int
process_act_not_running(struct process *p)
{
	(void)p;
	return RPC_NOT_RUNNING;
}

/* START where nothing runs: a fresh series of tries. */
static int
process_act_start(struct process *p)
{
	struct process_priv *pp = process_priv(p);

	if (p->state == PROCESS_UNKNOWN && p->pid > 0)
		return RPC_ALREADY_STARTED;
	p->backoff = 0;
	pp->crashes = 0;
	pp->restart_after_stop = false;
	p->stop_requested = false;
	p->reason[0] = '\0';
	process_spawn(p);
	return p->state == PROCESS_STARTING ? 0 : RPC_SPAWN_ERROR;
}

/* STOP of a live child: stopsignal now, SIGKILL after stopwaitsecs. */
static int
process_act_stop(struct process *p)
{
	struct process_priv *pp = process_priv(p);
	const char *reason = pp->stop_reason;

	pp->stop_reason = NULL;
	if (reason == NULL) {
		/* An operator's stop: no health restart follows. */
		p->stop_requested = true;
		pp->restart_after_stop = false;
	}
	process_timer_cancel(p);
	process_checks_stop(p);
	process_send(p, p->conf->stopsignal, p->conf->stopasgroup);
	process_set_state(p, PROCESS_STOPPING, reason);
	process_timer_set(p, (long)p->conf->stopwaitsecs * 1000);
	return 0;
}

static int
process_act_stop_again(struct process *p)
{
	/* A stop while a health restart is stopping it: stay down. */
	p->stop_requested = true;
	process_priv(p)->restart_after_stop = false;
	return 0;
}

static int
process_act_backoff_stop(struct process *p)
{
	p->stop_requested = true;
	process_timer_cancel(p);
	process_set_state(p, PROCESS_STOPPED, NULL);
	return 0;
}

/* STOP in EXITED: only a restart that is waiting can be stopped. */
static int
process_act_exited_stop(struct process *p)
{
	if (!process_timer_pending(p))
		return RPC_NOT_RUNNING;
	p->stop_requested = true;
	process_timer_cancel(p);
	return 0;
}

/* STARTING -> RUNNING: alive for startsecs, or ready. */
static int
process_act_up(struct process *p)
{
	struct process_priv *pp = process_priv(p);

	if (pp->exec_failed)
		return 0;	/* its exit is on the way */
	process_timer_cancel(p);
	process_checks_stop(p);
	p->backoff = 0;
	p->failure = PROCESS_FAIL_NONE;
	pp->health_streak = 0;
	process_set_state(p, PROCESS_RUNNING, NULL);
	/* RUNNING's timer is the next health check; none without one. */
	if (p->conf->health.kind != PROBE_NONE && p->state == PROCESS_RUNNING)
		process_timer_set(p, (long)p->conf->health_interval * 1000);
	return 0;
}

/* EXEC in STARTING: exec'd is "started" only for startsecs=0 and no
 * ready= check. */
static int
process_act_exec(struct process *p)
{
	if (p->conf->ready.kind == PROBE_NONE && p->conf->startsecs <= 0)
		return process_act_up(p);
	return 0;
}

/* TIMEOUT in STARTING: startsecs passed (up), or ready_timeout did
 * (a failed start: the child is killed, its exit fails the start). */
static int
process_act_starting_timeout(struct process *p)
{
	struct process_priv *pp = process_priv(p);

	if (p->conf->ready.kind == PROBE_NONE)
		return process_act_up(p);
	if (pp->exec_failed)
		return 0;	/* a spawn error: its exit is on the way */
	process_checks_stop(p);
	p->failure = PROCESS_FAIL_NOT_READY;
	snprintf(p->spawnerr, sizeof(p->spawnerr),
	    "not ready within %d s (%s%s%s)", p->conf->ready_timeout,
	    p->conf->ready.spec != NULL ? p->conf->ready.spec : "ready",
	    pp->why[0] != '\0' ? ": " : "", pp->why);
	log_warn("program %s: %s", p->fullname, p->spawnerr);
	process_send(p, SIGKILL, true);
	return 0;
}

/* EXIT in STARTING: a failed start, of the kind already known or else
 * "exited too quickly". */
static int
process_act_start_exit(struct process *p)
{
	process_checks_stop(p);
	if (p->failure == PROCESS_FAIL_NONE) {
		p->failure = PROCESS_FAIL_EXITED;
		snprintf(p->spawnerr, sizeof(p->spawnerr),
		    "Exited too quickly (process log may have details)");
	}
	process_fail_start(p);
	return 0;
}

static int
process_act_poll_later(struct process *p)
{
	process_poll_later(p);
	return 0;
}

/* EXIT in RUNNING: EXITED, and maybe a restart (SPEC 4, 10). */
static int
process_act_running_exit(struct process *p)
{
	struct process_priv *pp = process_priv(p);
	const struct proc_conf *c = p->conf;
	bool expected;
	long ran_ms;

	process_checks_stop(p);
	expected = process_exit_expected(c, p->killed_by_signal,
	    p->exitstatus);
	ran_ms = process_ms_since(&pp->spawn_mono);
	p->backoff = 0;
	process_set_state(p, PROCESS_EXITED, NULL);
	if (process_sv_stopping(p) || p->stop_requested ||
	    !process_should_restart(c->autorestart, expected))
		return 0;
	if (c->backoff == BACKOFF_EXPONENTIAL && !expected) {
		if (ran_ms < (long)c->backoff_reset * 1000) {
			/* A short run: wait, from now, for the next delay. */
			pp->crashes++;
			process_timer_set(p, process_backoff_ms(c->backoff,
			    pp->crashes, c->backoff_max, process_random()));
			if (p->timer != NULL)
				return 0;
		} else
			pp->crashes = 0;
	}
	process_restart_soon(p);
	return 0;
}

/* TIMEOUT in BACKOFF or EXITED: the delayed (re)start. */
static int
process_act_retry(struct process *p)
{
	if (!process_sv_stopping(p))
		process_spawn(p);
	return 0;
}

/* TIMEOUT in RUNNING: the next health check, and the one after. */
static int
process_act_health(struct process *p)
{
	process_timer_set(p, (long)p->conf->health_interval * 1000);
	process_check_run(p, &p->conf->health, p->conf->health_timeout);
	return 0;
}

static int
process_act_healthy(struct process *p)
{
	process_priv(p)->health_streak = 0;
	return 0;
}

/* CHECK_FAIL in RUNNING: after health_retries in a row, a restart. */
static int
process_act_unhealthy(struct process *p)
{
	struct process_priv *pp = process_priv(p);
	const struct probe_conf *h = &p->conf->health;

	p->health_failures++;
	if (++pp->health_streak < p->conf->health_retries) {
		log_info("program %s: health check failed (%d of %d): %s",
		    p->fullname, pp->health_streak, p->conf->health_retries,
		    pp->why);
		return 0;
	}
	snprintf(p->reason, sizeof(p->reason),
	    "health check failed %d times: %s %s", pp->health_streak,
	    h->spec != NULL ? h->spec : "", pp->why);
	pp->health_streak = 0;
	pp->restart_after_stop = true;
	pp->stop_reason = p->reason;
	return process_act_stop(p);
}

/* TIMEOUT in STOPPING: stopwaitsecs are over. */
static int
process_act_kill(struct process *p)
{
	if (p->pid <= 0)
		return 0;
	log_warn("program %s: still running %ds after SIG%s, sending SIGKILL "
	    "(pid %d)", p->fullname, p->conf->stopwaitsecs,
	    process_signame(p->conf->stopsignal), (int)p->pid);
	process_send(p, SIGKILL, p->conf->killasgroup);
	return 0;
}

/* EXIT in STOPPING (or UNKNOWN): down; a health restart starts again. */
static int
process_act_stopped(struct process *p)
{
	struct process_priv *pp = process_priv(p);
	bool again = pp->restart_after_stop;

	process_timer_cancel(p);
	pp->restart_after_stop = false;
	process_set_state(p, PROCESS_STOPPED, NULL);
	if (again && !p->stop_requested && !process_sv_stopping(p) &&
	    p->state == PROCESS_STOPPED)
		process_spawn(p);
	return 0;
}

/* Rows: states in the order of process_row(); columns: events. */
static const process_action process_actions[8][PROCESS_EV_COUNT] = {
	[0] = {	/* STOPPED */
		[PROCESS_EV_START] = process_act_start,
		[PROCESS_EV_STOP] = process_act_not_running,
	},
	[1] = {	/* STARTING */
		[PROCESS_EV_START] = process_act_already,
		[PROCESS_EV_STOP] = process_act_stop,
		[PROCESS_EV_TIMEOUT] = process_act_starting_timeout,
		[PROCESS_EV_EXEC] = process_act_exec,
		[PROCESS_EV_EXIT] = process_act_start_exit,
		[PROCESS_EV_READY] = process_act_up,
		[PROCESS_EV_CHECK_FAIL] = process_act_poll_later,
	},
	[2] = {	/* RUNNING */
		[PROCESS_EV_START] = process_act_already,
		[PROCESS_EV_STOP] = process_act_stop,
		[PROCESS_EV_TIMEOUT] = process_act_health,
		[PROCESS_EV_EXIT] = process_act_running_exit,
		[PROCESS_EV_READY] = process_act_healthy,
		[PROCESS_EV_CHECK_FAIL] = process_act_unhealthy,
	},
	[3] = {	/* BACKOFF */
		[PROCESS_EV_START] = process_act_start,
		[PROCESS_EV_STOP] = process_act_backoff_stop,
		[PROCESS_EV_TIMEOUT] = process_act_retry,
	},
	[4] = {	/* STOPPING */
		[PROCESS_EV_START] = process_act_already,
		[PROCESS_EV_STOP] = process_act_stop_again,
		[PROCESS_EV_TIMEOUT] = process_act_kill,
		[PROCESS_EV_EXIT] = process_act_stopped,
	},
	[5] = {	/* EXITED */
		[PROCESS_EV_START] = process_act_start,
		[PROCESS_EV_STOP] = process_act_exited_stop,
		[PROCESS_EV_TIMEOUT] = process_act_retry,
	},
	[6] = {	/* FATAL */
		[PROCESS_EV_START] = process_act_start,
		[PROCESS_EV_STOP] = process_act_not_running,
	},
	[7] = {	/* UNKNOWN */
		[PROCESS_EV_START] = process_act_start,
		[PROCESS_EV_STOP] = process_act_not_running,
		[PROCESS_EV_EXIT] = process_act_stopped,
	},
};

static int
process_row(enum process_state s)
{
	switch (s) {
	case PROCESS_STOPPED:
		return 0;
	case PROCESS_STARTING:
		return 1;
	case PROCESS_RUNNING:
		return 2;
	case PROCESS_BACKOFF:
		return 3;
	case PROCESS_STOPPING:
		return 4;
	case PROCESS_EXITED:
		return 5;
	case PROCESS_FATAL:
		return 6;
	case PROCESS_UNKNOWN:
		break;
	}
	return 7;
}

bool
process_handles(enum process_state s, enum process_event ev)
{
	if ((int)ev < 0 || ev >= PROCESS_EV_COUNT)
		return false;
	return process_actions[process_row(s)][ev] != NULL;
}

int
process_handle(struct process *p, enum process_event ev)
{
	process_action act;

	if ((int)ev < 0 || ev >= PROCESS_EV_COUNT)
		return RPC_INTERNAL_ERROR;
	if (ev == PROCESS_EV_START && process_sv_stopping(p))
		return RPC_SHUTTING_DOWN;
	act = process_actions[process_row(p->state)][ev];
	if (act == NULL) {
		log_debug("program %s: event %d ignored in state %s",
		    p->fullname, (int)ev, process_state_name(p->state));
		return 0;
	}
	return act(p);
}

/* ---- the public face ---- */

struct process *
process_new(const struct process_ctx *ctx, const struct proc_conf *conf,
    const char *fullname)
{
	struct process *p;
	struct process_priv *pp;

	p = calloc(1, sizeof(*p));
	pp = calloc(1, sizeof(*pp));
	if (p == NULL || pp == NULL)
		goto fail;
	p->internal = pp;
	pp->status_fd = -1;
	p->conf = conf;
	p->state = PROCESS_STOPPED;
	p->stdin_fd = -1;
	p->ctx = ctx;
	p->base = ctx != NULL ? ctx->base : NULL;
	if ((p->fullname = strdup(fullname)) == NULL)
		goto fail;
	if (p->base != NULL) {
		p->timer = evtimer_new(p->base, process_timer_on, p);
		pp->poll = evtimer_new(p->base, process_on_poll, p);
		if (p->timer == NULL || pp->poll == NULL)
			goto fail;
		if ((p->output = output_new(p->base, conf, p->fullname)) ==
		    NULL)
			goto fail;
	}
	return p;
fail:
	if (p != NULL) {
		if (p->timer != NULL)
			event_free(p->timer);
		free(p->fullname);
		free(p);
	}
	if (pp != NULL && pp->poll != NULL)
		event_free(pp->poll);
	free(pp);
	return NULL;
}

void
process_free(struct process *p)
{
	struct process_priv *pp;

	if (p == NULL)
		return;
	assert(!process_is_running(p));
	pp = process_priv(p);
	process_checks_stop(p);
	if (pp->poll != NULL)
		event_free(pp->poll);
	probe_notify_free(pp->notify);
	if (p->timer != NULL)
		event_free(p->timer);
	process_status_close(p);
	if (p->stdin_fd != -1)
		close(p->stdin_fd);
	output_free(p->output);
	free(p->fullname);
	free(p->internal);
	free(p);
}

void
process_set_conf(struct process *p, const struct proc_conf *conf)
{
	p->conf = conf;
	if (p->output != NULL)
		output_set_conf(p->output, conf);
}

int
process_start(struct process *p)
{
	return process_handle(p, PROCESS_EV_START);
}

int
process_stop(struct process *p)
{
	return process_handle(p, PROCESS_EV_STOP);
}

int
process_signal(struct process *p, int sig)
{
	if (sig < 1 || sig >= NSIG)
		return RPC_BAD_SIGNAL;
	if (!process_is_running(p))
		return RPC_NOT_RUNNING;
	if (kill(p->pid, sig) == -1)
		return errno == EINVAL ? RPC_BAD_SIGNAL : RPC_NOT_RUNNING;
	return 0;
}

int
process_kill(struct process *p)
{
	if (!process_is_running(p))
		return RPC_NOT_RUNNING;
	process_send(p, SIGKILL, p->conf->killasgroup);
	return 0;
}

int
process_write_stdin(struct process *p, const char *data, size_t len)
{
	ssize_t n;

	if (!p->conf->stdin_pipe)
		return RPC_INVALID_PARAMS;
	if (!process_is_running(p) || p->stdin_fd == -1)
		return RPC_NOT_RUNNING;
	if (len == 0)
		return 0;
	n = fdio_write(p->stdin_fd, data, len);
	if (n == -1 && errno == EPIPE)
		return RPC_NOT_RUNNING;
	if (n < 0 || (size_t)n != len)
		return RPC_INTERNAL_ERROR;
	return 0;
}

void
process_on_exit(struct process *p, int status)
{
	pid_t pid = p->pid;

	/* The child is gone, so whatever it wrote to the status pipe is
	 * there now: read it before deciding what the exit means. */
	process_status_read(p);
	process_status_close(p);
	p->pid = 0;
	p->stop_time = time(NULL);
	if (WIFSIGNALED(status)) {
		p->killed_by_signal = true;
		p->exitstatus = -WTERMSIG(status);
	} else {
		p->killed_by_signal = false;
		p->exitstatus = WEXITSTATUS(status);
	}
	if (p->stdin_fd != -1) {
		close(p->stdin_fd);
		p->stdin_fd = -1;
	}
	/* What is left of its process group (workers of a killed master)
	 * would hold ports and pipes: with killasgroup it goes too. */
	if (p->conf->killasgroup && pid > 0)
		(void)kill(-pid, SIGKILL);
	process_timer_cancel(p);
	/* A successful exec may be "started" (startsecs=0): the EXEC event
	 * first, whichever of the pipe's EOF and SIGCHLD the loop saw
	 * first. */
	if (p->state == PROCESS_STARTING && !process_priv(p)->exec_failed)
		(void)process_handle(p, PROCESS_EV_EXEC);
	if (!process_handles(p->state, PROCESS_EV_EXIT))
		log_debug("program %s: exit of pid %d in state %s",
		    p->fullname, (int)pid, process_state_name(p->state));
	(void)process_handle(p, PROCESS_EV_EXIT);
}

bool
process_is_running(const struct process *p)
{
	return p->pid > 0;
}

long
process_uptime(const struct process *p)
{
	struct timespec now;

	if (!process_is_running(p))
		return 0;
	process_now(&now);
	return (long)(now.tv_sec - p->start_mono.tv_sec);
}

/* ---- reexec (SPEC 13): this room's state across an exec ---- */

static json_t *
process_ts_new(const struct timespec *ts)
{
	return json_pack("[I,I]", (json_int_t)ts->tv_sec,
	    (json_int_t)ts->tv_nsec);
}

static void
process_ts_get(const json_t *o, const char *key, struct timespec *ts)
{
	json_int_t s = 0, ns = 0;

	if (json_unpack(json_object_get(o, key), "[I,I]", &s, &ns) == 0 &&
	    ns >= 0 && ns < 1000000000) {
		ts->tv_sec = (time_t)s;
		ts->tv_nsec = (long)ns;
	}
}

json_t *
process_save(const struct process *p)
{
	const struct process_priv *pp = process_priv(p);
	json_t *o;

	/* CLOCK_MONOTONIC runs on across an exec: its readings are kept
	 * as they are, so uptimes and backoff windows continue. */
	o = json_pack("{s:s, s:i, s:i, s:I, s:I, s:o, s:o, s:i, s:b, s:s, "
	    "s:i, s:s, s:i, s:I, s:I, s:b, s:b, s:b, s:b, s:I, s:i, s:s, "
	    "s:I, s:i, s:i}",
	    "name", p->fullname,
	    "state", (int)p->state,
	    "pid", (int)p->pid,
	    "start_time", (json_int_t)p->start_time,
	    "stop_time", (json_int_t)p->stop_time,
	    "start_mono", process_ts_new(&p->start_mono),
	    "spawn_mono", process_ts_new(&pp->spawn_mono),
	    "exitstatus", p->exitstatus,
	    "killed_by_signal", p->killed_by_signal,
	    "spawnerr", p->spawnerr,
	    "failure", (int)p->failure,
	    "reason", p->reason,
	    "backoff", p->backoff,
	    "restarts", (json_int_t)p->restarts,
	    "health_failures", (json_int_t)p->health_failures,
	    "stop_requested", p->stop_requested,
	    "exec_failed", pp->exec_failed,
	    "spawned", pp->spawned,
	    "restart_after_stop", pp->restart_after_stop,
	    "crashes", (json_int_t)pp->crashes,
	    "health_streak", pp->health_streak,
	    "why", pp->why,
	    "timer_ms", (json_int_t)handover_timer_left(p->timer),
	    "status_fd", handover_keep_fd(pp->status_fd),
	    "stdin_fd", handover_keep_fd(p->stdin_fd));
	if (o != NULL && pp->notify != NULL &&
	    json_object_set_new(o, "notify", probe_notify_save(pp->notify)) ==
	    -1) {
		json_decref(o);
		return NULL;
	}
	if (o != NULL && p->output != NULL &&
	    json_object_set_new(o, "output", output_save(p->output)) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
process_str_get(const json_t *o, const char *key, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s != NULL)
		snprintf(buf, len, "%s", s);
}

static json_int_t
process_int_get(const json_t *o, const char *key, json_int_t def)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : def;
}

/* The state the old image had; a state the table does not know (a newer
 * superd's) is taken as RUNNING with a pid, STOPPED without. */
static enum process_state
process_state_from(json_int_t v, pid_t pid)
{
	switch (v) {
	case PROCESS_STOPPED:
	case PROCESS_STARTING:
	case PROCESS_RUNNING:
	case PROCESS_BACKOFF:
	case PROCESS_STOPPING:
	case PROCESS_EXITED:
	case PROCESS_FATAL:
	case PROCESS_UNKNOWN:
		return (enum process_state)v;
	}
	return pid > 0 ? PROCESS_RUNNING : PROCESS_STOPPED;
}

/* Re-arm what the state waits for: the one timer with the time that was
 * left, the spawn status pipe, a readiness poll or notify socket. */
static void
process_rearm(struct process *p, long timer_ms)
{
	struct process_priv *pp = process_priv(p);
	char err[160];

	if (timer_ms >= 0)
		process_timer_set(p, timer_ms);
	if (pp->status_fd != -1 && p->base != NULL) {
		pp->status_ev = event_new(p->base, pp->status_fd,
		    EV_READ | EV_PERSIST, process_on_status, p);
		if (pp->status_ev == NULL ||
		    event_add(pp->status_ev, NULL) == -1)
			log_error("program %s: cannot watch the spawn status "
			    "pipe", p->fullname);
	}
	if (p->state != PROCESS_STARTING)
		return;
	if (p->conf->ready.kind == PROBE_NOTIFY) {
		/* Handed over, the path the program's NOTIFY_SOCKET names;
		 * else a new one, better than none. */
		if (pp->notify == NULL &&
		    process_notify_path(p, err, sizeof(err)) == NULL)
			log_error("program %s: %s", p->fullname, err);
	} else if (p->conf->ready.kind != PROBE_NONE)
		process_poll_later(p);
}

int
process_restore(struct process *p, const json_t *o)
{
	struct process_priv *pp = process_priv(p);
	const json_t *out;
	pid_t pid;

	if (!json_is_object(o))
		return -1;
	pid = (pid_t)process_int_get(o, "pid", 0);
	p->pid = pid > 0 ? pid : 0;
	/* Not process_set_state(): nothing changed, nothing to publish. */
	p->state = process_state_from(process_int_get(o, "state", 0), p->pid);
	p->start_time = (time_t)process_int_get(o, "start_time", 0);
	p->stop_time = (time_t)process_int_get(o, "stop_time", 0);
	process_ts_get(o, "start_mono", &p->start_mono);
	process_ts_get(o, "spawn_mono", &pp->spawn_mono);
	p->exitstatus = (int)process_int_get(o, "exitstatus", 0);
	p->killed_by_signal = json_is_true(json_object_get(o,
	    "killed_by_signal"));
	process_str_get(o, "spawnerr", p->spawnerr, sizeof(p->spawnerr));
	p->failure = (enum process_failure)process_int_get(o, "failure", 0);
	process_str_get(o, "reason", p->reason, sizeof(p->reason));
	p->backoff = (int)process_int_get(o, "backoff", 0);
	p->restarts = (unsigned long)process_int_get(o, "restarts", 0);
	p->health_failures = (unsigned long)process_int_get(o,
	    "health_failures", 0);
	p->stop_requested = json_is_true(json_object_get(o,
	    "stop_requested"));
	pp->exec_failed = json_is_true(json_object_get(o, "exec_failed"));
	pp->spawned = json_is_true(json_object_get(o, "spawned")) ||
	    p->pid > 0;
	pp->restart_after_stop = json_is_true(json_object_get(o,
	    "restart_after_stop"));
	pp->crashes = (long)process_int_get(o, "crashes", 0);
	pp->health_streak = (int)process_int_get(o, "health_streak", 0);
	process_str_get(o, "why", pp->why, sizeof(pp->why));
	pp->status_fd = handover_take_fd(o, "status_fd");
	if (json_is_object(json_object_get(o, "notify")) && p->base != NULL)
		pp->notify = probe_notify_restore(p->base, json_object_get(o,
		    "notify"), process_on_notify, p);
	p->stdin_fd = handover_take_fd(o, "stdin_fd");
	if (p->pid == 0 && p->state != PROCESS_STOPPED &&
	    p->state != PROCESS_BACKOFF && p->state != PROCESS_EXITED &&
	    p->state != PROCESS_FATAL)
		p->state = PROCESS_STOPPED;
	if ((out = json_object_get(o, "output")) != NULL && p->output != NULL)
		(void)output_restore(p->output, out);
	process_rearm(p, (long)process_int_get(o, "timer_ms", -1));
	return 0;
}

int
process_adopt(struct process *p, pid_t pid, const struct timespec *start_mono,
    time_t start_time, int out_fd, int err_fd, int stdin_fd)
{
	struct process_priv *pp = process_priv(p);

	if (pid <= 0 || process_is_running(p))
		return -1;
	p->pid = pid;
	p->state = PROCESS_RUNNING;
	p->start_time = start_time;
	p->start_mono = *start_mono;
	pp->spawn_mono = *start_mono;
	pp->spawned = true;
	p->stdin_fd = stdin_fd;
	snprintf(p->reason, sizeof(p->reason), "adopted after a reexec "
	    "whose state was unreadable");
	if (p->output != NULL && (out_fd != -1 || err_fd != -1))
		(void)output_attach(p->output, out_fd, err_fd);
	if (p->conf->health.kind != PROBE_NONE)
		process_timer_set(p, (long)p->conf->health_interval * 1000);
	log_warn("program %s: adopted as RUNNING (pid %d)", p->fullname,
	    (int)pid);
	return 0;
}
