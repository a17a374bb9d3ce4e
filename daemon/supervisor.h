/*
 * The registry of groups and processes built from a config snapshot:
 * start in ascending priority, stop in descending, name matching, and
 * applying a new snapshot without touching what did not change.
 */
#ifndef SUPERD_SUPERVISOR_H
#define SUPERD_SUPERVISOR_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct event_base;
struct process;
struct supervisor;

/* Takes ownership of `cfg`; `config_path` is what reread loads again. */
struct supervisor *supervisor_new(struct event_base *, struct config *cfg,
	    const char *config_path);
void	supervisor_free(struct supervisor *);

/* The live snapshot (borrowed). */
const struct config *supervisor_config(const struct supervisor *);
/* The config last read from disk (reread or update): what supervisord's
 * getAllConfigInfo lists, running or not. */
const struct config *supervisor_config_read(const struct supervisor *);
/* True when the group is in the running set. */
bool	supervisor_group_in_use(const struct supervisor *, const char *name);
/* Start every autostart process, groups in ascending priority. */
void	supervisor_autostart(struct supervisor *);
/* Reap every exited child (waitpid WNOHANG loop) and hand each to its
 * process; pids we did not start are reaped and ignored. */
void	supervisor_reap(struct supervisor *);
/* Stop everything in descending priority; `done` runs once all are
 * stopped (or after the shutdown timeout). New starts are refused. */
void	supervisor_shutdown(struct supervisor *, void (*done)(void *),
	    void *arg);
bool	supervisor_shutting_down(const struct supervisor *);
/* supervisord's restart (supervisorctl reload): every program stops as
 * at shutdown, the config is read again, autostart starts them. */
void	supervisor_restart_all(struct supervisor *);
bool	supervisor_restarting(const struct supervisor *);

/* Every process, groups by (priority, name), processes in order.
 * The array is borrowed and valid until the next config apply. */
struct process *const *supervisor_processes(const struct supervisor *,
	    size_t *n);
/* Resolve names ("all", "GROUP:*", "GROUP:NAME", "NAME" of a process or
 * a group) into a new malloc'd array without duplicates, in registry
 * order. -1 with *unmatched pointing at the first name that matches
 * nothing. */
int	supervisor_match(const struct supervisor *, const char *const *names,
	    size_t nnames, struct process ***out, size_t *nout,
	    const char **unmatched);

/* Load the config from disk and say what differs, changing nothing.
 * -1 when the config is invalid (messages in diags). */
int	supervisor_reread(struct supervisor *, struct config_diff *,
	    struct diags *);
/* Load and apply: removed groups stop and go, added ones start per
 * autostart, in changed groups only processes whose definition changed
 * restart. `groups` (NULL = all) limits what is applied. -1 when the
 * config is invalid: nothing changes. */
int	supervisor_update(struct supervisor *, const char *const *groups,
	    size_t ngroups, struct config_diff *, struct diags *);
/* supervisord's removeProcessGroup: a group whose processes are all
 * stopped leaves the running set, whatever the config on disk says (a
 * later update or addProcessGroup adds it again). 0 when removed, -1
 * when there is no such group, 1 when one of its processes runs. */
int	supervisor_remove_group(struct supervisor *, const char *name);
/* After a reread or update: the [superd]/[control] keys whose new value
 * needs a restart of superd to take effect (socket...), into out (up to
 * max, borrowed static names); returns how many. */
size_t	supervisor_restart_needed(const struct supervisor *,
	    const char **out, size_t max);

/* ---- Additions by the engine (not in the first contract). ---- */

/* Reopen every process's log files and superd's own log file (SIGUSR2,
 * daemon.reopen_logs). 0, or -1 when any failed (each one logged). */
int	supervisor_reopen_logs(struct supervisor *);

/* ---- Additions for SPEC part two (depends_on, state_file, reload). ---- */

/* What config.update and SIGHUP both do: sd_notify RELOADING=1, the
 * update, the diff and the restart-needed keys logged, READY=1. Same
 * results as supervisor_update(); refused (-1) while shutting down. */
int	supervisor_apply_config(struct supervisor *, const char *const *groups,
	    size_t ngroups, struct config_diff *, struct diags *);
/* Start `p` once every program it depends on is RUNNING, starting those
 * that are down first; 0 when started or queued, else process_start()'s
 * code. `by_hand`: an operator's start, remembered in the state file. */
int	supervisor_start(struct supervisor *, struct process *, bool by_hand);
/* Stop `p`; while a dependent of it is going down, only once that one
 * is down. 0 or process_stop()'s code (RPC_NOT_RUNNING for a process
 * that was only waiting to start). `by_hand` as above. */
int	supervisor_stop(struct supervisor *, struct process *, bool by_hand);
/* The program a waiting process waits for ("db"), NULL when it is not
 * waiting: its description is "waiting for db". */
const char *supervisor_waiting_for(const struct supervisor *,
	    const struct process *);
/* The context every process is created with (borrowed, lives as long
 * as the supervisor). */
const struct process_ctx *supervisor_ctx(const struct supervisor *);

/* ---- reexec (SPEC 13) ---- */

#include <jansson.h>

/* Every process (process_save) and the held sockets as a new JSON
 * object; NULL with the reason in err when superd is in the middle of
 * an update, a dependency wait or a shutdown. */
json_t	*supervisor_save(struct supervisor *, char *err, size_t errlen);
/* In a new image whose registry was built without spawning: every
 * process of the state takes back its own by full name, event
 * listeners follow the running ones. NULL: the state was unreadable
 * and the processes were adopted from /proc. */
void	supervisor_restore(struct supervisor *, const json_t *);
/* The process called `name` ("web:web_00"), NULL when none. */
struct process *supervisor_find_fullname(const struct supervisor *,
	    const char *name);

#endif
