/*
 * One process's state machine (SPEC.md section 4). process.c is the only
 * place that assigns `state`; every change is published through events.
 * Other modules read the fields below and never write them.
 */
#ifndef SUPERD_PROCESS_H
#define SUPERD_PROCESS_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "process_state.h"

struct event_base;
struct event;
struct output;
struct process_ctx;


/*
 * Why the last start failed, for callers that map it to an RPC code
 * (spawn error 103 vs abnormal termination 104) or describe it.
 */
enum process_failure {
	PROCESS_FAIL_NONE = 0,
	PROCESS_FAIL_SPAWN,	/* fork/setup/exec failed (spawnerr) */
	PROCESS_FAIL_EXITED,	/* exited before startsecs / before ready */
	PROCESS_FAIL_NOT_READY	/* not ready within ready_timeout */
};

struct process {
	const struct proc_conf *conf;	/* borrowed from the live config */
	char	*fullname;	/* "web" or "web:web_00", as users name it */
	enum process_state state;
	pid_t	 pid;		/* 0 when not running */
	time_t	 start_time;	/* wall clock, 0 if never started */
	time_t	 stop_time;	/* wall clock, 0 if never stopped */
	struct timespec start_mono;
	int	 exitstatus;	/* last exit code, or -signal */
	bool	 killed_by_signal;
	char	 spawnerr[256];	/* "" when the last spawn went well */
	enum process_failure failure;	/* of the last start */
	/* Why superd itself last restarted it ("health check failed 3
	 * times: ..."), "" when it did not: process.list's description. */
	char	 reason[256];
	int	 backoff;	/* failed starts since the last RUNNING */
	unsigned long restarts;	/* spawns after the first */
	unsigned long health_failures;	/* failed health checks, in all */
	bool	 stop_requested;
	int	 stdin_fd;	/* write end when stdin = pipe, else -1 */
	struct output *output;	/* owned: pipes, log files, tail ring */
	const struct process_ctx *ctx;	/* borrowed, owned above */
	struct event_base *base;
	/* The one timer; what it means comes from the state: startsecs or
	 * ready_timeout in STARTING, the health interval in RUNNING, the
	 * retry delay in BACKOFF, the restart delay in EXITED, stopwaitsecs
	 * in STOPPING. */
	struct event *timer;
	void	*internal;	/* process.c's own bookkeeping */
};

/*
 * What a process needs from above, owned by the supervisor and passed
 * down, so that process.c never includes supervisor.h (arrows point
 * down). Every member may be NULL/0 in unit tests.
 */
struct process_ctx {
	struct event_base *base;
	char *const *global_env;	/* [superd] environment, may be NULL */
	const char *server_url;	/* "unix:///run/superd/superd.sock" */
	const char *runtime_dir;	/* where per-process NOTIFY_SOCKETs go */
	bool	 shutting_down;	/* set by the supervisor: no new starts */
	/* The held listening fd for a socket= (SPEC 8), -1 when none. */
	int	(*socket_fd)(void *arg, const struct sock_conf *);
	void	*socket_arg;
};

/* A new STOPPED process for `conf` named `fullname` (copied); `ctx` must
 * outlive it. NULL on allocation failure. */
struct process *process_new(const struct process_ctx *,
	    const struct proc_conf *, const char *fullname);
/* Frees a process that is not running (asserted). */
void	process_free(struct process *);
/* Point at an equal definition from a newer config snapshot. */
void	process_set_conf(struct process *, const struct proc_conf *);

/* Start: 0, or an rpc_code (RPC_ALREADY_STARTED, RPC_SHUTTING_DOWN...).
 * An operator start from FATAL/BACKOFF resets the retry count. */
int	process_start(struct process *);
/* Stop: 0 or RPC_NOT_RUNNING. From BACKOFF goes straight to STOPPED. */
int	process_stop(struct process *);
/* Send a signal: 0, RPC_NOT_RUNNING or RPC_BAD_SIGNAL. */
int	process_signal(struct process *, int sig);
/* Write to stdin = pipe without blocking: 0, RPC_NOT_RUNNING,
 * RPC_INVALID_PARAMS (no pipe) or RPC_INTERNAL_ERROR (pipe full: the
 * message names it). */
int	process_write_stdin(struct process *, const char *data, size_t len);
/* The supervisor reaped `pid` of this process with wait status. */
void	process_on_exit(struct process *, int status);

/* True while a pid exists (STARTING, RUNNING, STOPPING). */
bool	process_is_running(const struct process *);
/* "RUNNING", ...; never NULL. */
const char *process_state_name(enum process_state);
/* Seconds since start when running, else 0. */
long	process_uptime(const struct process *);

/* ---- Additions by the engine (not in the first contract). ---- */

/* The full name users see: "NAME" when the group holds exactly one
 * process named like the group, else "GROUP:NAME". New malloc'd string. */
char	*process_make_fullname(const struct group_conf *,
	    const struct proc_conf *);
/* SIGKILL now, to the process group with killasgroup: 0 or
 * RPC_NOT_RUNNING. Used by a shutdown past its deadline. */
int	process_kill(struct process *);

/*
 * The lifecycle is one action table, process_actions[state][event] (in
 * process.c): each cell does the effects and calls the one
 * process_set_state(). Everything that happens to a process is one of
 * these events.
 */
enum process_event {
	PROCESS_EV_START = 0,	/* operator, autostart: start it */
	PROCESS_EV_STOP,	/* operator, shutdown, update: stop it */
	PROCESS_EV_TIMEOUT,	/* the one timer (meaning from the state) */
	PROCESS_EV_EXEC,	/* the spawn status pipe closed: exec'd */
	PROCESS_EV_EXIT,	/* the child was reaped */
	PROCESS_EV_READY,	/* a check passed: ready (STARTING), healthy */
	PROCESS_EV_CHECK_FAIL,	/* a ready= try or health check failed */
	PROCESS_EV_COUNT
};
/* Feed one event to the table: 0, or an rpc_code for START/STOP
 * (RPC_ALREADY_STARTED, RPC_NOT_RUNNING, RPC_SPAWN_ERROR...). */
int	process_handle(struct process *, enum process_event);
/* True when the table has a cell for `ev` in state `s` (the others are
 * ignored). */
bool	process_handles(enum process_state s, enum process_event ev);

/* Seconds to wait in BACKOFF after `failures` failed starts, linear: one
 * more per failure (1, 2, 3...) as supervisord, saturating at
 * PROCESS_BACKOFF_MAX. */
#define PROCESS_BACKOFF_MAX 60
unsigned int process_backoff_delay(long failures);
/* The delay in ms before try `n` (n >= 1) of `kind`: linear n s (capped
 * at PROCESS_BACKOFF_MAX), exponential 2^(n-1) s capped at `max` s, with
 * jitter of up to +-10% taken from `rnd` (uniform 0..UINT32_MAX). */
long	process_backoff_ms(enum backoff_kind kind, long n, int max,
	    unsigned int rnd);
/* True when `failures` failed starts exhaust startretries (FATAL). */
bool	process_gives_up(long failures, int startretries);
/* True when an exit from RUNNING restarts the process. */
bool	process_should_restart(enum autorestart, bool expected);
/* True when an exit code is expected (death by a signal never is). */
bool	process_exit_expected(const struct proc_conf *, bool by_signal,
	    int code);

/* ---- reexec (SPEC 13) ---- */

#include <jansson.h>

/* Everything this process is (state, pid, times, counters, the timer's
 * time left, its fds and its output's) as a new JSON object. */
json_t	*process_save(const struct process *);
/* Take it back in a new image, for the same full name: no event is
 * published, nothing is spawned or signalled. 0 or -1 (not an object). */
int	process_restore(struct process *, const json_t *);
/* The state was unreadable: take `pid` as RUNNING since start_mono,
 * with its stdout/stderr read ends and stdin write end (-1 when
 * unknown). 0 or -1. */
int	process_adopt(struct process *, pid_t pid,
	    const struct timespec *start_mono, time_t start_time, int out_fd,
	    int err_fd, int stdin_fd);

#endif
