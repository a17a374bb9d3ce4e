/*
 * One process's state machine, SPEC.md section 4, as supervisord's
 * process.py but driven by events and timers instead of a 1 s poll.
 *
 * The transitions themselves are the pure table process_next_state();
 * this file adds the effects (spawn, signals, timers). process_set_state()
 * is the only place that assigns p->state, logs the change and publishes
 * it. A single timer per process serves whichever wait the state has:
 * startsecs in STARTING, the retry delay in BACKOFF, stopwaitsecs in
 * STOPPING, the crash-loop pause before a restart from EXITED.
 */
#include <sys/types.h>
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

#include "events.h"
#include "fdio.h"
#include "log.h"
#include "output.h"
#include "process.h"
#include "rpc.h"
#include "spawn.h"
#include "supervisor.h"

enum process_timer {
	PROCESS_TIMER_NONE = 0,
	PROCESS_TIMER_STARTSECS,
	PROCESS_TIMER_RETRY,
	PROCESS_TIMER_KILL,
	PROCESS_TIMER_RESTART
};

/* Crash-loop logging: at most this many state lines per window. */
#define PROCESS_LOG_BURST	20
#define PROCESS_LOG_WINDOW	60

struct process_priv {
	enum process_timer timer;	/* what p->timer waits for */
	int	 status_fd;	/* spawn status pipe, -1 once read */
	struct event *status_ev;
	bool	 exec_failed;	/* the status pipe reported an error */
	bool	 spawned;	/* once: later spawns count as restarts */
	struct timespec spawn_mono;	/* last spawn attempt */
	time_t	 log_window;	/* monotonic seconds */
	int	 log_count;
	int	 log_dropped;
};

static void process_spawn(struct process *);

/* ---- the pure part ---- */

static int
process_state_index(enum process_state s)
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
		return 7;
	}
	return 7;
}

#define X	(-1)
/* [state][event] -> state, X where the event does not apply. */
static const int process_table[8][PROCESS_EV_COUNT] = {
	/* START, SPAWN_FAIL, UP, EXIT, STOP, GIVE_UP */
	[0] = { PROCESS_STARTING, X, X, X, X, X },	/* STOPPED */
	[1] = { X, PROCESS_BACKOFF, PROCESS_RUNNING, PROCESS_BACKOFF,
		PROCESS_STOPPING, X },			/* STARTING */
	/* RUNNING */
	[2] = { X, X, X, PROCESS_EXITED, PROCESS_STOPPING, X },
	[3] = { PROCESS_STARTING, X, X, X, PROCESS_STOPPED,
		PROCESS_FATAL },			/* BACKOFF */
	[4] = { X, X, X, PROCESS_STOPPED, X, X },	/* STOPPING */
	[5] = { PROCESS_STARTING, X, X, X, X, X },	/* EXITED */
	[6] = { PROCESS_STARTING, X, X, X, X, X },	/* FATAL */
	/* UNKNOWN */
	[7] = { PROCESS_STARTING, X, X, PROCESS_STOPPED, X, X },
};
#undef X

bool
process_next_state(enum process_state from, enum process_event ev,
    enum process_state *to)
{
	int t;

	if ((int)ev < 0 || ev >= PROCESS_EV_COUNT)
		return false;
	t = process_table[process_state_index(from)][ev];
	if (t < 0)
		return false;
	*to = (enum process_state)t;
	return true;
}

unsigned int
process_backoff_delay(long failures)
{
	if (failures < 1)
		return 1;
	if (failures > PROCESS_BACKOFF_MAX)
		return PROCESS_BACKOFF_MAX;
	return (unsigned int)failures;
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
	return p->supervisor != NULL && supervisor_shutting_down(p->supervisor);
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
    enum process_state to)
{
	char detail[384], ex[64];
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
		snprintf(detail, sizeof(detail), " (pid %d)", (int)p->pid);
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
	if (to == PROCESS_FATAL)
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
process_set_state(struct process *p, enum process_event ev)
{
	enum process_state from = p->state, to;

	if (!process_next_state(from, ev, &to)) {
		/* A bug, not a runtime condition. */
		log_error("program %s: event %d in state %s ignored",
		    p->fullname, (int)ev, process_state_name(from));
		assert(!"invalid process transition");
		return;
	}
	p->state = to;
	process_log_state(p, from, to);
	events_publish(p, from, to);
}

static void
process_timer_cancel(struct process *p)
{
	struct process_priv *pp = process_priv(p);

	if (p->timer != NULL)
		evtimer_del(p->timer);
	pp->timer = PROCESS_TIMER_NONE;
}

static void
process_timer_set(struct process *p, enum process_timer kind, long msec)
{
	struct process_priv *pp = process_priv(p);
	struct timeval tv;

	if (msec < 0)
		msec = 0;
	tv.tv_sec = msec / 1000;
	tv.tv_usec = (msec % 1000) * 1000;
	pp->timer = kind;
	evtimer_add(p->timer, &tv);
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

/* Read what the spawn status pipe has. Returns 1 when it is done. */
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
	struct process_priv *pp = process_priv(p);

	(void)fd;
	(void)what;
	if (!process_status_read(p))
		return;
	/* exec went well: with startsecs=0 that is "started". */
	if (!pp->exec_failed && p->state == PROCESS_STARTING &&
	    p->conf->startsecs <= 0) {
		process_timer_cancel(p);
		p->backoff = 0;
		process_set_state(p, PROCESS_EV_UP);
	}
}

/* A start failed (`ev`: a spawn error, or an exit within startsecs):
 * BACKOFF and a retry later, or FATAL once startretries are used up. */
static void
process_fail_start(struct process *p, enum process_event ev)
{
	unsigned int delay;

	if (p->backoff < 1000000000)
		p->backoff++;
	process_set_state(p, ev);
	if (process_gives_up(p->backoff, p->conf->startretries)) {
		process_set_state(p, PROCESS_EV_GIVE_UP);
		return;
	}
	if (process_sv_stopping(p))
		return;
	delay = process_backoff_delay(p->backoff);
	process_timer_set(p, PROCESS_TIMER_RETRY, (long)delay * 1000);
}

static void
process_spawn(struct process *p)
{
	struct process_priv *pp = process_priv(p);
	const struct config *cfg = NULL;
	struct spawn_req req;
	struct spawn_res res;
	char err[sizeof(p->spawnerr)];

	process_timer_cancel(p);
	process_status_close(p);
	p->spawnerr[0] = '\0';
	pp->exec_failed = false;
	process_now(&pp->spawn_mono);
	if (pp->spawned)
		p->restarts++;
	pp->spawned = true;

	if (p->supervisor != NULL)
		cfg = supervisor_config(p->supervisor);
	req.conf = p->conf;
	req.fullname = p->fullname;
	req.global_env = cfg != NULL ? cfg->environment : NULL;
	if (spawn_start(&req, &res, err, sizeof(err)) == -1) {
		snprintf(p->spawnerr, sizeof(p->spawnerr), "%s", err);
		log_error("program %s: spawn error: %s", p->fullname, err);
		process_set_state(p, PROCESS_EV_START);
		process_fail_start(p, PROCESS_EV_SPAWN_FAIL);
		return;
	}
	p->pid = res.pid;
	p->start_time = time(NULL);
	p->start_mono = pp->spawn_mono;
	p->stdin_fd = res.stdin_fd;
	pp->status_fd = res.status_fd;
	pp->status_ev = event_new(p->base, res.status_fd, EV_READ | EV_PERSIST,
	    process_on_status, p);
	if (pp->status_ev == NULL || event_add(pp->status_ev, NULL) == -1)
		log_error("program %s: cannot watch the spawn status pipe",
		    p->fullname);
	if (p->output != NULL) {
		if (output_attach(p->output, res.out_fd, res.err_fd) == -1)
			log_error("program %s: cannot attach its output",
			    p->fullname);
	} else {
		close(res.out_fd);
		if (res.err_fd != -1)
			close(res.err_fd);
	}
	process_set_state(p, PROCESS_EV_START);
	if (p->conf->startsecs > 0)
		process_timer_set(p, PROCESS_TIMER_STARTSECS,
		    (long)p->conf->startsecs * 1000);
}

/* Restart after an exit from RUNNING: at once, unless the run lasted
 * under a second; then the spawn waits until one second has passed
 * since the previous one (runit/s6), so a crash loop cannot spin. */
static void
process_restart_soon(struct process *p)
{
	struct process_priv *pp = process_priv(p);
	struct timespec now;
	long ms;

	process_now(&now);
	ms = (now.tv_sec - pp->spawn_mono.tv_sec) * 1000 +
	    (now.tv_nsec - pp->spawn_mono.tv_nsec) / 1000000;
	if (ms >= 1000)
		process_spawn(p);
	else
		process_timer_set(p, PROCESS_TIMER_RESTART, 1000 - ms);
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

static void
process_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct process *p = arg;
	struct process_priv *pp = process_priv(p);
	enum process_timer kind = pp->timer;

	(void)fd;
	(void)what;
	pp->timer = PROCESS_TIMER_NONE;
	switch (kind) {
	case PROCESS_TIMER_STARTSECS:
		if (p->state == PROCESS_STARTING && !pp->exec_failed) {
			p->backoff = 0;
			process_set_state(p, PROCESS_EV_UP);
		}
		break;
	case PROCESS_TIMER_RETRY:
		if (p->state == PROCESS_BACKOFF && !process_sv_stopping(p))
			process_spawn(p);
		break;
	case PROCESS_TIMER_RESTART:
		if (p->state == PROCESS_EXITED && !process_sv_stopping(p))
			process_spawn(p);
		break;
	case PROCESS_TIMER_KILL:
		if (p->state == PROCESS_STOPPING && p->pid > 0) {
			log_warn("program %s: still running %ds after "
			    "SIG%s, sending SIGKILL (pid %d)", p->fullname,
			    p->conf->stopwaitsecs,
			    process_signame(p->conf->stopsignal), (int)p->pid);
			process_send(p, SIGKILL, p->conf->killasgroup);
		}
		break;
	case PROCESS_TIMER_NONE:
		break;
	}
}

struct process *
process_new(struct event_base *base, struct supervisor *sv,
    const struct proc_conf *conf)
{
	struct process *p;
	struct process_priv *pp;
	const struct group_conf *g = NULL;

	p = calloc(1, sizeof(*p));
	pp = calloc(1, sizeof(*pp));
	if (p == NULL || pp == NULL)
		goto fail;
	p->internal = pp;
	pp->status_fd = -1;
	p->conf = conf;
	p->state = PROCESS_STOPPED;
	p->stdin_fd = -1;
	p->supervisor = sv;
	p->base = base;
	if (sv != NULL && supervisor_config(sv) != NULL)
		g = config_find_group(supervisor_config(sv), conf->group);
	if ((p->fullname = process_make_fullname(g, conf)) == NULL)
		goto fail;
	if (base != NULL) {
		if ((p->timer = evtimer_new(base, process_on_timer, p)) == NULL)
			goto fail;
		if ((p->output = output_new(base, conf, p->fullname)) == NULL)
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
	free(pp);
	return NULL;
}

void
process_free(struct process *p)
{
	if (p == NULL)
		return;
	assert(!process_is_running(p));
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
	if (process_sv_stopping(p))
		return RPC_SHUTTING_DOWN;
	switch (p->state) {
	case PROCESS_STARTING:
	case PROCESS_RUNNING:
	case PROCESS_STOPPING:
		return RPC_ALREADY_STARTED;
	case PROCESS_UNKNOWN:
		if (p->pid > 0)
			return RPC_ALREADY_STARTED;
		break;
	case PROCESS_STOPPED:
	case PROCESS_BACKOFF:
	case PROCESS_EXITED:
	case PROCESS_FATAL:
		break;
	}
	/* An operator start is a fresh series of tries. */
	p->backoff = 0;
	p->stop_requested = false;
	process_spawn(p);
	if (p->state != PROCESS_STARTING)
		return RPC_SPAWN_ERROR;
	return 0;
}

int
process_stop(struct process *p)
{
	struct process_priv *pp = process_priv(p);

	switch (p->state) {
	case PROCESS_STARTING:
	case PROCESS_RUNNING:
		p->stop_requested = true;
		process_timer_cancel(p);
		process_send(p, p->conf->stopsignal, p->conf->stopasgroup);
		process_set_state(p, PROCESS_EV_STOP);
		process_timer_set(p, PROCESS_TIMER_KILL,
		    (long)p->conf->stopwaitsecs * 1000);
		return 0;
	case PROCESS_BACKOFF:
		p->stop_requested = true;
		process_timer_cancel(p);
		process_set_state(p, PROCESS_EV_STOP);
		return 0;
	case PROCESS_STOPPING:
		return 0;
	case PROCESS_EXITED:
		if (pp->timer == PROCESS_TIMER_RESTART) {
			/* The restart that was about to happen won't. */
			p->stop_requested = true;
			process_timer_cancel(p);
			return 0;
		}
		return RPC_NOT_RUNNING;
	case PROCESS_STOPPED:
	case PROCESS_FATAL:
	case PROCESS_UNKNOWN:
		break;
	}
	return RPC_NOT_RUNNING;
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
	bool expected;

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
	/* startsecs=0: a successful exec is "started", whichever of the
	 * status pipe's EOF and SIGCHLD the loop saw first. */
	if (p->state == PROCESS_STARTING && p->conf->startsecs <= 0 &&
	    !process_priv(p)->exec_failed) {
		p->backoff = 0;
		process_set_state(p, PROCESS_EV_UP);
	}

	switch (p->state) {
	case PROCESS_STARTING:
		if (p->spawnerr[0] == '\0')
			snprintf(p->spawnerr, sizeof(p->spawnerr),
			    "Exited too quickly (process log may have "
			    "details)");
		process_fail_start(p, PROCESS_EV_EXIT);
		break;
	case PROCESS_RUNNING:
		expected = process_exit_expected(p->conf, p->killed_by_signal,
		    p->exitstatus);
		p->backoff = 0;
		process_set_state(p, PROCESS_EV_EXIT);
		if (!process_sv_stopping(p) && !p->stop_requested &&
		    process_should_restart(p->conf->autorestart, expected))
			process_restart_soon(p);
		break;
	case PROCESS_STOPPING:
	case PROCESS_UNKNOWN:
		process_set_state(p, PROCESS_EV_EXIT);
		break;
	case PROCESS_STOPPED:
	case PROCESS_BACKOFF:
	case PROCESS_EXITED:
	case PROCESS_FATAL:
		log_debug("program %s: exit of pid %d in state %s",
		    p->fullname, (int)pid, process_state_name(p->state));
		break;
	}
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
