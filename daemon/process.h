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

struct event_base;
struct event;
struct output;
struct supervisor;

/* Numbers as supervisord's, so scripts that compare them keep working. */
enum process_state {
	PROCESS_STOPPED = 0,
	PROCESS_STARTING = 10,
	PROCESS_RUNNING = 20,
	PROCESS_BACKOFF = 30,
	PROCESS_STOPPING = 40,
	PROCESS_EXITED = 100,
	PROCESS_FATAL = 200,
	PROCESS_UNKNOWN = 1000
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
	int	 backoff;	/* failed starts since the last RUNNING */
	unsigned long restarts;	/* spawns after the first */
	unsigned long health_failures;	/* failed health checks, in all */
	bool	 stop_requested;
	int	 stdin_fd;	/* write end when stdin = pipe, else -1 */
	struct output *output;	/* owned: pipes, log files, tail ring */
	struct supervisor *supervisor;
	struct event_base *base;
	struct event *timer;	/* startsecs, backoff delay, stopwaitsecs */
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

/* A new STOPPED process for `conf`; NULL on allocation failure. */
struct process *process_new(struct event_base *, struct supervisor *,
	    const struct proc_conf *);
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

/* The pure state machine, kept free of syscalls so that it can be unit
 * tested. Every transition process.c makes is one of these. */
enum process_event {
	PROCESS_EV_START = 0,	/* spawn attempt: operator, autostart, retry */
	PROCESS_EV_SPAWN_FAIL,	/* fork/setup/exec failed */
	PROCESS_EV_UP,		/* alive for startsecs */
	PROCESS_EV_EXIT,	/* the child was reaped */
	PROCESS_EV_STOP,	/* operator stop, shutdown, update */
	PROCESS_EV_GIVE_UP,	/* more failed starts than startretries */
	PROCESS_EV_COUNT
};
/* The state after `ev` in `from`; false when `ev` does not apply there. */
bool	process_next_state(enum process_state from, enum process_event ev,
	    enum process_state *to);
/* Seconds to wait in BACKOFF after `failures` failed starts: one more
 * per failure (1, 2, 3...) as supervisord, saturating at
 * PROCESS_BACKOFF_MAX. */
#define PROCESS_BACKOFF_MAX 60
unsigned int process_backoff_delay(long failures);
/* True when `failures` failed starts exhaust startretries (FATAL). */
bool	process_gives_up(long failures, int startretries);
/* True when an exit from RUNNING restarts the process. */
bool	process_should_restart(enum autorestart, bool expected);
/* True when an exit code is expected (death by a signal never is). */
bool	process_exit_expected(const struct proc_conf *, bool by_signal,
	    int code);

#endif
