/*
 * The config data model and loader. A loaded `struct config` is an
 * immutable snapshot: the daemon never edits one, a reload loads a new
 * one and applies config_diff() between the two.
 *
 * Every [program:x] becomes one or more `struct proc_conf` (numprocs),
 * fully expanded (%(process_num)d, %(ENV_X)s ...). Processes live in
 * groups as in supervisord: a [program:x] on its own is group "x"; a
 * [group:g] with programs=a,b is group "g" holding the processes of a and
 * b. A process's full name is "GROUP:NAME", shown as just "NAME" when
 * the group has one process named like the group.
 */
#ifndef SUPERD_CONFIG_H
#define SUPERD_CONFIG_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_PATH	  "/etc/superd/superd.conf"
#define CONFIG_DEFAULT_SOCKET	  "/run/superd/superd.sock"
#define CONFIG_DEFAULT_LOGDIR	  "/var/log/superd"
#define CONFIG_NAME_MAX		  64

/* One message about a config: an error, or a warning that --strict turns
 * into an error. */
struct diag {
	char	*file;
	int	 line;		/* 0 when no line applies */
	bool	 warning;
	char	*message;
};

/* The caller owns a `struct diags` and frees it with diags_free(). */
struct diags {
	struct diag *v;
	size_t	 n;
	size_t	 cap;
};

void	diags_init(struct diags *);
void	diags_free(struct diags *);
/* Append one message (printf-style); never fails (aborts on OOM). */
void	diags_add(struct diags *, const char *file, int line, bool warning,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Number of errors (warnings not counted). */
size_t	diags_errors(const struct diags *);
/* "FILE:LINE: message" or "FILE:LINE: warning: message" into buf. */
void	diags_format(const struct diag *, char *buf, size_t len);

enum autorestart {
	AUTORESTART_FALSE = 0,
	AUTORESTART_UNEXPECTED,
	AUTORESTART_TRUE
};

/* Where one stream of a process goes. */
enum log_target {
	LOG_TARGET_FILE = 0,	/* path below (AUTO already resolved) */
	LOG_TARGET_NONE,	/* discarded (still kept in the tail ring) */
	LOG_TARGET_STDOUT,	/* superd's own stdout: /dev/stdout, /dev/fd/1 */
	LOG_TARGET_STDERR	/* superd's own stderr: /dev/stderr, /dev/fd/2 */
};

struct log_conf {
	enum log_target target;
	char	*path;		/* LOG_TARGET_FILE only; absolute */
	uint64_t maxbytes;	/* 0: never rotate */
	int	 backups;
	bool	 timestamps;	/* superd extension: RFC 3339 prefix */
	bool	 events_enabled;	/* *_events_enabled: PROCESS_LOG_* */
};

/* A held listening socket (SPEC section 8), as `socket=` says. */
enum sock_kind {
	SOCK_NONE = 0,
	SOCK_TCP,		/* tcp://HOST:PORT */
	SOCK_UNIX		/* unix:///PATH */
};

struct sock_conf {
	enum sock_kind kind;
	char	*spec;		/* the value as written (expanded): the key
				 * sockets are matched by across updates */
	char	*host;		/* SOCK_TCP: "127.0.0.1", "::1", "*" */
	int	 port;		/* SOCK_TCP: 1..65535 */
	char	*path;		/* SOCK_UNIX: absolute, fits sun_path */
	int	 backlog;	/* socket_backlog [SOMAXCONN] */
	char	*owner;		/* socket_owner "user[:group]", unix only */
	uid_t	 uid;		/* resolved owner, (uid_t)-1: none */
	gid_t	 gid;		/* (gid_t)-1: none */
	int	 mode;		/* socket_mode [0700], unix only */
};

/* A readiness or health check (SPEC section 9). */
enum probe_kind {
	PROBE_NONE = 0,
	PROBE_TCP,		/* tcp://HOST:PORT: a connect succeeds */
	PROBE_HTTP,		/* http://HOST:PORT/PATH: 2xx or 3xx */
	PROBE_NOTIFY,		/* notify: READY=1 on $NOTIFY_SOCKET */
	PROBE_EXEC		/* exec:COMMAND: exits 0 */
};

struct probe_conf {
	enum probe_kind kind;
	char	*spec;		/* as written, for messages */
	char	*host;		/* TCP, HTTP */
	int	 port;		/* TCP, HTTP */
	char	*path;		/* HTTP: "/" when none given */
	char   **argv;		/* EXEC: split like command=, NULL-ended */
};

enum backoff_kind {
	BACKOFF_LINEAR = 0,	/* supervisord: 1, 2, 3 s ... */
	BACKOFF_EXPONENTIAL	/* 1, 2, 4 s ... up to backoff_max, jitter */
};

/* What a group's processes are. */
enum group_kind {
	GROUP_PROGRAM = 0,	/* [program:x] and [group:x] */
	GROUP_FCGI,		/* [fcgi-program:x]: socket as fd 0 */
	GROUP_EVENTLISTENER	/* [eventlistener:x] */
};

/* One process, fully expanded. */
struct proc_conf {
	char	*name;		/* process_name, e.g. "web_00" */
	char	*group;		/* its group's name */
	char	*program;	/* the [program:x] it came from */
	int	 process_num;
	char	*command;	/* as written (expanded), for display */
	char   **argv;		/* NULL-terminated, split like sh */
	int	 priority;
	bool	 autostart;
	enum autorestart autorestart;
	int	 startsecs;
	int	 startretries;
	uint8_t	 exitcodes[32];	/* bitmap of exit codes 0..255 */
	int	 stopsignal;
	int	 stopwaitsecs;
	bool	 stopasgroup;
	bool	 killasgroup;
	char	*user;		/* NULL: superd's own user */
	uid_t	 uid;		/* resolved at load when user != NULL */
	gid_t	 gid;
	char	*home;		/* from passwd when user != NULL */
	char	*shell;
	char	*directory;	/* NULL: superd's cwd */
	int	 umask;		/* -1: inherit superd's */
	char   **environment;	/* NULL-terminated "K=V", the program's own */
	bool	 redirect_stderr;
	struct log_conf stdout_log;
	struct log_conf stderr_log;
	bool	 stdin_pipe;	/* superd extension: stdin = pipe */
	char	*description;	/* free text, may be NULL */
	char	*file;		/* where its [program:x] header is */
	int	 line;
	gid_t	*groups;	/* user='s supplementary groups, resolved at
				 * load so a spawn never calls NSS */
	size_t	 ngroups;
	/* ---- superd extensions (SPEC part two) ---- */
	int	 oom_score_adj;	/* [0]: written in the child before exec */
	bool	 fcgi;		/* [fcgi-program:x]: socket is fd 0 */
	struct sock_conf socket;	/* kind SOCK_NONE: no held socket */
	int	 reload_signal;	/* 0: reload is a rolling restart */
	struct probe_conf ready;	/* PROBE_NONE: startsecs alive */
	int	 ready_timeout;	/* seconds [60] */
	struct probe_conf health;	/* PROBE_NONE: no liveness check */
	int	 health_interval;	/* seconds [10], >= 1 */
	int	 health_timeout;	/* seconds [5], >= 1 */
	int	 health_retries;	/* [3], >= 1 */
	char   **depends_on;	/* program names, NULL-terminated, or NULL */
	int	 depends_on_line;	/* where depends_on= is, for messages */
	enum backoff_kind backoff;
	int	 backoff_max;	/* seconds [60], >= 1 */
	int	 backoff_reset;	/* seconds [60] */
	/* [eventlistener:x] only */
	bool	 listener;	/* this process speaks the listener protocol */
	char   **events;	/* event type names, NULL-terminated */
	int	 buffer_size;	/* [10]: events queued per pool */
};

struct group_conf {
	char	*name;
	enum group_kind kind;
	int	 priority;
	struct proc_conf **procs;	/* owned, in numprocs order */
	size_t	 nprocs;
	char	*file;
	int	 line;
};

struct config {
	char	*path;		/* the main file, absolute */
	/* [superd] / [supervisord] */
	char	*logfile;	/* NULL: stderr */
	int	 loglevel;	/* enum log_level */
	char	*pidfile;	/* NULL: none */
	char	*childlogdir;
	int	 umask;		/* superd's own umask for what it creates */
	long	 minfds;
	char   **environment;	/* NULL-terminated "K=V" for every program */
	char	*identifier;
	bool	 nocleanup;
	int	 shutdown_timeout;	/* seconds, 0: none */
	/* [control] / [unix_http_server] */
	char	*socket;
	int	 socket_mode;
	char	*socket_owner;	/* "user[:group]" or NULL */
	char	*readonly_group;	/* NULL: none */
	char	*username;	/* [unix_http_server] basic auth for HTTP on
				 * the socket; NULL: peer credentials only */
	char	*password;	/* clear text or "{SHA}hex" */
	/* [inet_http_server] (SPEC section 11); inet_port 0: none */
	char	*inet_host;	/* "127.0.0.1", "*" for every address */
	int	 inet_port;
	char	*inet_username;
	char	*inet_password;	/* clear text or "{SHA}hex" */
	/* superd extension: operator actions kept across restarts */
	char	*state_file;	/* NULL: off */
	/* [superctl] / [supervisorctl] */
	char	*ctl_socket;	/* NULL: use `socket` */
	/* programs, groups sorted by (priority, name) */
	struct group_conf **groups;
	size_t	 ngroups;
};

enum config_flags {
	CONFIG_STRICT = 1 << 0,	/* warnings are errors */
	CONFIG_NO_USERS = 1 << 1 /* do not resolve user= (superctl, fuzz) */
};

/* Load `path` and everything it includes. Every message goes to `diags`.
 * Returns a new config, or NULL when there was any error (with
 * CONFIG_STRICT, any warning). */
struct config *config_load(const char *path, int flags, struct diags *);
void	config_free(struct config *);

/* Find a group by name; borrowed, NULL if none. */
struct group_conf *config_find_group(const struct config *,
	    const char *name);
/* True when two process definitions would run the same thing the same
 * way (every field compared). */
bool	proc_conf_equal(const struct proc_conf *, const struct proc_conf *);
/* True when two groups hold equal processes in the same order and have
 * the same priority. */
bool	group_conf_equal(const struct group_conf *, const struct group_conf *);
/* exitcodes bitmap test. */
bool	proc_conf_expected_exit(const struct proc_conf *, int code);

/* Group names, each array sorted and owned by the diff. */
struct config_diff {
	char   **added;
	size_t	 nadded;
	char   **changed;
	size_t	 nchanged;
	char   **removed;
	size_t	 nremoved;
};

/* Program names (the [program:x] names) in an order where every program
 * comes after the programs it depends on, ties by (priority, name): a
 * new malloc'd array of borrowed strings, *n entries. The graph was
 * checked at load, so there is no cycle. NULL on allocation failure. */
const char **config_start_order(const struct config *, size_t *n);
/* What differs between two snapshots, by group; old may be NULL. */
void	config_diff(const struct config *old, const struct config *new_,
	    struct config_diff *out);
void	config_diff_free(struct config_diff *);

/* The settings that cannot change without restarting superd (socket
 * path...), as a list of key names into `out` (up to max); returns how
 * many differ. */
size_t	config_restart_needed(const struct config *old,
	    const struct config *new_, const char **out, size_t max);

#endif
