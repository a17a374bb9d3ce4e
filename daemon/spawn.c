/*
 * fork/exec of one process.
 *
 * The parent resolves everything first: the executable (a PATH search
 * when argv[0] has no '/'), the environment, the pipes; the
 * supplementary groups were resolved at config load (NSS never runs at
 * spawn). The child then only calls async-signal-safe functions: setsid,
 * sigaction, dup2, fcntl, close_range, open/write/close (its
 * oom_score_adj), chdir, umask, setgroups, setresgid, setresuid, getpid,
 * execve, _exit. Any failure there is written to the status pipe as
 * {stage, errno} and the child exits 127 without exec'ing.
 *
 * The child is made as glibc's posix_spawn makes it: clone() with
 * CLONE_VM|CLONE_VFORK on a stack of its own. No page table is copied
 * (fork was most of the cost of a spawn), and the parent stays suspended
 * until the child has exec'd or exited, so the child may read the
 * parent's memory (the prepared argv/envp) safely. The child writes none
 * of it but the digits of its own LISTEN_PID, into a string made for
 * this spawn alone; the identity switch uses raw syscalls rather than
 * glibc's set*id wrappers, which may touch process-wide state.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "spawn.h"

extern char **environ;

enum spawn_stage {
	SPAWN_STAGE_SETSID = 1,
	SPAWN_STAGE_STDIO,
	SPAWN_STAGE_OOM,
	SPAWN_STAGE_LISTEN,
	SPAWN_STAGE_CHDIR,
	SPAWN_STAGE_SETGROUPS,
	SPAWN_STAGE_SETGID,
	SPAWN_STAGE_SETUID,
	SPAWN_STAGE_EXEC
};

struct spawn_status {
	int	 stage;
	int	 err;
};

/* What the child needs, all prepared before fork. */
struct spawn_child {
	const char *path;
	char *const *argv;
	char *const *envp;
	const char *directory;
	int	 umask;
	bool	 switch_user;
	uid_t	 uid;
	gid_t	 gid;
	const gid_t *groups;
	size_t	 ngroups;
	int	 oom_score_adj;
	int	 listen_fd;	/* -1, or the held socket for fd 3 */
	char	*listen_pid;	/* digits of "LISTEN_PID=...", or NULL */
	int	 stdin_fd;	/* dup'ed to 0 */
	int	 out_fd;	/* dup'ed to 1 */
	int	 err_fd;	/* dup'ed to 2 */
	int	 status_fd;
	int	 maxfd;		/* close loop bound without close_range */
	pid_t	 parent;	/* superd, for the parent-death check */
};

/* Variables of superd's own environment that never reach a program. */
static const char *const spawn_env_drop[] = {
	"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS",
	"LISTEN_PID", "LISTEN_FDNAMES", NULL
};

struct spawn_env {
	char	**v;
	size_t	 n;
	size_t	 cap;
};

static size_t
spawn_env_keylen(const char *kv)
{
	const char *eq;

	eq = strchr(kv, '=');
	return eq == NULL ? strlen(kv) : (size_t)(eq - kv);
}

/* Set "K=V", replacing an earlier K. The string is copied. */
static int
spawn_env_put(struct spawn_env *e, const char *kv)
{
	size_t klen, i;
	char *copy, **nv;

	klen = spawn_env_keylen(kv);
	if (klen == 0 || kv[klen] != '=')
		return 0;	/* not K=V: skipped */
	if ((copy = strdup(kv)) == NULL)
		return -1;
	for (i = 0; i < e->n; i++) {
		if (spawn_env_keylen(e->v[i]) == klen &&
		    strncmp(e->v[i], kv, klen) == 0) {
			free(e->v[i]);
			e->v[i] = copy;
			return 0;
		}
	}
	if (e->n + 2 > e->cap) {
		size_t ncap = e->cap == 0 ? 64 : e->cap * 2;

		nv = reallocarray(e->v, ncap, sizeof(*nv));
		if (nv == NULL) {
			free(copy);
			return -1;
		}
		e->v = nv;
		e->cap = ncap;
	}
	e->v[e->n++] = copy;
	e->v[e->n] = NULL;
	return 0;
}

static int
spawn_env_putf(struct spawn_env *e, const char *key, const char *val)
{
	char *kv;
	int rc;

	if (asprintf(&kv, "%s=%s", key, val) == -1)
		return -1;
	rc = spawn_env_put(e, kv);
	free(kv);
	return rc;
}

static void
spawn_env_free(struct spawn_env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
}

static const char *
spawn_env_get(const struct spawn_env *e, const char *key)
{
	size_t klen, i;

	klen = strlen(key);
	for (i = 0; i < e->n; i++)
		if (strncmp(e->v[i], key, klen) == 0 && e->v[i][klen] == '=')
			return e->v[i] + klen + 1;
	return NULL;
}

static bool
spawn_env_dropped(const char *kv)
{
	size_t klen, i;

	klen = spawn_env_keylen(kv);
	for (i = 0; spawn_env_drop[i] != NULL; i++)
		if (strlen(spawn_env_drop[i]) == klen &&
		    strncmp(spawn_env_drop[i], kv, klen) == 0)
			return true;
	return false;
}

/* Room for any pid's digits; the child overwrites them. */
#define SPAWN_LISTEN_PID "LISTEN_PID=00000000000000000000"

/*
 * superd's environment (minus systemd's handshake variables), then the
 * user's passwd defaults when user= is set, then SUPERVISOR_* (as
 * supervisord), then [superd] environment, then the program's own: what
 * is written in the config wins over what superd sets, and a program may
 * override SUPERVISOR_*. Last the socket handshakes, which must be true.
 */
static int
spawn_env_build(const struct spawn_req *req, struct spawn_env *e)
{
	const struct proc_conf *c = req->conf;
	char *const *kv;

	memset(e, 0, sizeof(*e));
	for (kv = environ; kv != NULL && *kv != NULL; kv++)
		if (!spawn_env_dropped(*kv) && spawn_env_put(e, *kv) == -1)
			return -1;
	if (c->user != NULL) {
		if (c->home != NULL && spawn_env_putf(e, "HOME", c->home) == -1)
			return -1;
		if (spawn_env_putf(e, "USER", c->user) == -1 ||
		    spawn_env_putf(e, "LOGNAME", c->user) == -1)
			return -1;
		if (c->shell != NULL &&
		    spawn_env_putf(e, "SHELL", c->shell) == -1)
			return -1;
	}
	if (spawn_env_put(e, "SUPERVISOR_ENABLED=1") == -1 ||
	    spawn_env_putf(e, "SUPERVISOR_PROCESS_NAME", c->name) == -1 ||
	    spawn_env_putf(e, "SUPERVISOR_GROUP_NAME", c->group) == -1)
		return -1;
	if (req->server_url != NULL &&
	    spawn_env_putf(e, "SUPERVISOR_SERVER_URL", req->server_url) == -1)
		return -1;
	for (kv = req->global_env; kv != NULL && *kv != NULL; kv++)
		if (spawn_env_put(e, *kv) == -1)
			return -1;
	for (kv = c->environment; kv != NULL && *kv != NULL; kv++)
		if (spawn_env_put(e, *kv) == -1)
			return -1;
	if (req->listen_fd >= 0 && !c->fcgi) {
		if (spawn_env_put(e, "LISTEN_FDS=1") == -1 ||
		    spawn_env_put(e, SPAWN_LISTEN_PID) == -1 ||
		    spawn_env_putf(e, "LISTEN_FDNAMES", c->program) == -1)
			return -1;
	}
	if (req->notify_path != NULL &&
	    spawn_env_putf(e, "NOTIFY_SOCKET", req->notify_path) == -1)
		return -1;
	return 0;
}

/* The digits part of this spawn's LISTEN_PID string, NULL if none. */
static char *
spawn_env_listen_pid(const struct spawn_env *e)
{
	size_t i, klen = strlen("LISTEN_PID=");

	for (i = 0; i < e->n; i++)
		if (strncmp(e->v[i], "LISTEN_PID=", klen) == 0)
			return e->v[i] + klen;
	return NULL;
}

/*
 * execvp's search, done in the parent with the program's PATH. Returns 0
 * with the path in buf, or an errno (ENOENT, or EACCES when something by
 * that name exists but cannot be executed).
 */
static int
spawn_find_exec(const char *name, const char *path, char *buf, size_t len)
{
	const char *p, *end;
	struct stat st;
	int err = ENOENT;
	size_t dlen;

	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p = end + 1) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		dlen = (size_t)(end - p);
		if (dlen == 0) {
			if ((size_t)snprintf(buf, len, "%s", name) >= len)
				return ENAMETOOLONG;
		} else if ((size_t)snprintf(buf, len, "%.*s/%s", (int)dlen, p,
		    name) >= len)
			return ENAMETOOLONG;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(buf, X_OK) == 0)
				return 0;
			err = EACCES;
		}
		if (*end == '\0')
			break;
	}
	return err;
}

static void
spawn_child_fail(int fd, int stage, int err)
{
	struct spawn_status st = { stage, err };
	ssize_t n;

	do
		n = write(fd, &st, sizeof(st));
	while (n == -1 && errno == EINTR);
	_exit(127);
}

static void
spawn_child_close_from(int lo, int maxfd)
{
	int fd;

	for (fd = lo; fd < maxfd; fd++)
		(void)close(fd);
}

/* Decimal digits of v (may be negative) into buf, NUL-terminated;
 * async-signal-safe. Returns the length. */
static size_t
spawn_itoa(long v, char *buf)
{
	char tmp[24];
	size_t n = 0, i = 0;
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		buf[i++] = '-';
	while (n > 0)
		buf[i++] = tmp[--n];
	buf[i] = '\0';
	return i;
}

/* Children start at 0 (or the program's own value), never at superd's:
 * an operator who protects superd (-900) does not mean its programs. */
static int
spawn_child_oom(int adj)
{
	char buf[24];
	size_t len;
	ssize_t n;
	int fd;

	if ((fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)) ==
	    -1)
		return errno == ENOENT ? 0 : -1;
	len = spawn_itoa(adj, buf);
	do
		n = write(fd, buf, len);
	while (n == -1 && errno == EINTR);
	(void)close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* fd to `to` with close-on-exec cleared (dup2 onto itself keeps it). */
static int
spawn_child_place(int fd, int to)
{
	if (fd == to)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, to) == -1 ? -1 : 0;
}

/* In the child: async-signal-safe calls only. Never returns. */
static void __attribute__((noreturn))
spawn_child_run(const struct spawn_child *a)
{
	struct sigaction sa;
	sigset_t none;
	int s, sfd = a->status_fd, lfd = a->listen_fd;
	/* The first fd the child does not keep: 4 with a socket at 3. */
	int keep = a->listen_fd != -1 && a->stdin_fd != a->listen_fd ? 4 : 3;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (s = 1; s < NSIG; s++)
		(void)sigaction(s, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);

	if (setsid() == -1)
		spawn_child_fail(sfd, SPAWN_STAGE_SETSID, errno);
	/* The status pipe and the socket out of the way of 0-3 first. */
	if (sfd <= 3 && (sfd = fcntl(sfd, F_DUPFD_CLOEXEC, 4)) == -1)
		_exit(127);
	if (lfd != -1 && lfd <= 3 && lfd != keep - 1 &&
	    (lfd = fcntl(lfd, F_DUPFD_CLOEXEC, 4)) == -1)
		spawn_child_fail(sfd, SPAWN_STAGE_LISTEN, errno);
	if (spawn_child_place(a->stdin_fd, 0) == -1 ||
	    spawn_child_place(a->out_fd, 1) == -1 ||
	    spawn_child_place(a->err_fd, 2) == -1)
		spawn_child_fail(sfd, SPAWN_STAGE_STDIO, errno);
	if (lfd != -1 && keep == 4 && spawn_child_place(lfd, 3) == -1)
		spawn_child_fail(sfd, SPAWN_STAGE_LISTEN, errno);
	if (a->listen_pid != NULL)
		(void)spawn_itoa((long)syscall(SYS_getpid), a->listen_pid);
	/* Everything but 0-2 (and 3: the socket) and the status pipe
	 * (close-on-exec) goes. */
	if ((sfd > keep && close_range((unsigned)keep, (unsigned)sfd - 1, 0) ==
	    -1) || close_range((unsigned)sfd + 1, ~0U, 0) == -1) {
		spawn_child_close_from(keep, sfd);
		spawn_child_close_from(sfd + 1, a->maxfd);
	}
	/* Before the user switch: only privilege may lower it. */
	if (spawn_child_oom(a->oom_score_adj) == -1)
		spawn_child_fail(sfd, SPAWN_STAGE_OOM, errno);
	if (a->switch_user) {
		uid_t r, e, sv;

		if (syscall(SYS_setgroups, a->ngroups, a->groups) == -1)
			spawn_child_fail(sfd, SPAWN_STAGE_SETGROUPS, errno);
		if (syscall(SYS_setresgid, a->gid, a->gid, a->gid) == -1)
			spawn_child_fail(sfd, SPAWN_STAGE_SETGID, errno);
		if (syscall(SYS_setresuid, a->uid, a->uid, a->uid) == -1)
			spawn_child_fail(sfd, SPAWN_STAGE_SETUID, errno);
		if (syscall(SYS_getresuid, &r, &e, &sv) == -1 || r != a->uid ||
		    e != a->uid || sv != a->uid)
			spawn_child_fail(sfd, SPAWN_STAGE_SETUID, EPERM);
	}
	/* After the switch, as supervisord: the directory must be one the
	 * program's user may enter. */
	if (a->directory != NULL && chdir(a->directory) == -1)
		spawn_child_fail(sfd, SPAWN_STAGE_CHDIR, errno);
	/* If superd dies (kill -9, a crash) its programs go with it instead
	 * of living on unsupervised and holding ports a restarted superd
	 * needs (RELIABILITY R41). Set after the user switch, which clears
	 * it; the getppid check closes the race with a death before it. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != a->parent)
		_exit(127);
	if (a->umask >= 0)
		(void)umask((mode_t)a->umask);
	execve(a->path, a->argv, a->envp);
	spawn_child_fail(sfd, SPAWN_STAGE_EXEC, errno);
	_exit(127);
}

/* ASan's runtime cannot run in a CLONE_VM child on a borrowed stack:
 * sanitizer builds fork. */
#if defined(__SANITIZE_ADDRESS__)
#define SPAWN_USE_FORK 1
#else
static int
spawn_child_entry(void *arg)
{
	spawn_child_run(arg);
}

/* The child's stack. One is enough: with CLONE_VFORK the parent waits
 * until the child is done with it. */
#define SPAWN_STACK_SIZE (64 * 1024)
static unsigned char spawn_stack[SPAWN_STACK_SIZE]
    __attribute__((aligned(64)));
#endif

static void
spawn_close(int *fd)
{
	if (*fd != -1) {
		(void)close(*fd);
		*fd = -1;
	}
}

int
spawn_start(const struct spawn_req *req, struct spawn_res *res, char *err,
    size_t errlen)
{
	const struct proc_conf *c = req->conf;
	struct spawn_child a;
	struct spawn_env env;
	struct rlimit rl;
	struct stat dst;
	sigset_t all, old;
	char path[PATH_MAX];
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int inp[2] = { -1, -1 }, stp[2] = { -1, -1 };
	int devnull = -1, rc = -1, e;
	pid_t pid;

	memset(&a, 0, sizeof(a));
	memset(res, 0, sizeof(*res));
	res->status_fd = res->out_fd = res->err_fd = res->stdin_fd = -1;
	err[0] = '\0';
	if (c->argv == NULL || c->argv[0] == NULL) {
		snprintf(err, errlen, "empty command");
		return -1;
	}
	if (spawn_env_build(req, &env) == -1) {
		snprintf(err, errlen, "cannot build the environment: %s",
		    strerror(errno));
		goto out;
	}

	/* Find the executable now, so that "no such file" is known at
	 * once and the child needs no PATH walk. */
	if (strchr(c->argv[0], '/') == NULL) {
		e = spawn_find_exec(c->argv[0], spawn_env_get(&env, "PATH"),
		    path, sizeof(path));
		if (e != 0) {
			snprintf(err, errlen, "%s: %s", strerror(e),
			    c->argv[0]);
			goto out;
		}
		a.path = path;
	} else {
		struct stat st;

		if (c->argv[0][0] == '/' && stat(c->argv[0], &st) == -1) {
			snprintf(err, errlen, "%s: %s", strerror(errno),
			    c->argv[0]);
			goto out;
		}
		a.path = c->argv[0];
	}

	if (c->directory != NULL && stat(c->directory, &dst) == -1) {
		snprintf(err, errlen, "%s: directory %s", strerror(errno),
		    c->directory);
		goto out;
	}
	if (c->user != NULL && geteuid() != 0) {
		if (c->uid != geteuid()) {
			snprintf(err, errlen,
			    "cannot switch to user %s: not running as root",
			    c->user);
			goto out;
		}
	} else if (c->user != NULL) {
		/* Resolved at config load; without them, the primary only. */
		if (c->groups != NULL && c->ngroups > 0) {
			a.groups = c->groups;
			a.ngroups = c->ngroups;
		} else {
			a.groups = &c->gid;
			a.ngroups = 1;
		}
		a.switch_user = true;
		a.uid = c->uid;
		a.gid = c->gid;
	}

	if (pipe2(outp, O_CLOEXEC) == -1 || pipe2(stp, O_CLOEXEC) == -1 ||
	    (!c->redirect_stderr && pipe2(errp, O_CLOEXEC) == -1) ||
	    (c->stdin_pipe && pipe2(inp, O_CLOEXEC) == -1)) {
		snprintf(err, errlen, "cannot make pipes: %s",
		    strerror(errno));
		goto out;
	}
	if (!c->stdin_pipe && !(c->fcgi && req->listen_fd >= 0) &&
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot open /dev/null: %s",
		    strerror(errno));
		goto out;
	}
	if (fdio_set_nonblock(outp[0], 1) == -1 ||
	    fdio_set_nonblock(stp[0], 1) == -1 ||
	    (errp[0] != -1 && fdio_set_nonblock(errp[0], 1) == -1) ||
	    (inp[1] != -1 && fdio_set_nonblock(inp[1], 1) == -1)) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		goto out;
	}

	a.argv = c->argv;
	a.envp = env.v;
	a.directory = c->directory;
	a.umask = c->umask;
	a.stdin_fd = c->stdin_pipe ? inp[0] : devnull;
	/* [fcgi-program:x]: the socket is stdin, as supervisord does. */
	if (c->fcgi && req->listen_fd >= 0)
		a.stdin_fd = req->listen_fd;
	a.listen_fd = req->listen_fd;
	a.listen_pid = req->listen_fd >= 0 && !c->fcgi ?
	    spawn_env_listen_pid(&env) : NULL;
	a.oom_score_adj = c->oom_score_adj;
	a.out_fd = outp[1];
	a.err_fd = c->redirect_stderr ? outp[1] : errp[1];
	a.status_fd = stp[1];
	a.parent = getpid();
	a.maxfd = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		a.maxfd = rl.rlim_cur > 1048576 ? 1048576 : (int)rl.rlim_cur;

	/* No signal handler of libevent may run in the child between fork
	 * and the reset of the dispositions: its pipe is shared with us. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
#ifdef SPAWN_USE_FORK
	if ((pid = fork()) == 0)
		spawn_child_run(&a);
#else
	pid = clone(spawn_child_entry, spawn_stack + SPAWN_STACK_SIZE,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
#endif
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		snprintf(err, errlen, "fork: %s", strerror(e));
		goto out;
	}

	res->pid = pid;
	res->status_fd = stp[0];
	stp[0] = -1;
	res->out_fd = outp[0];
	outp[0] = -1;
	res->err_fd = errp[0];
	errp[0] = -1;
	res->stdin_fd = inp[1];
	inp[1] = -1;
	rc = 0;
out:
	spawn_close(&outp[0]);
	spawn_close(&outp[1]);
	spawn_close(&errp[0]);
	spawn_close(&errp[1]);
	spawn_close(&inp[0]);
	spawn_close(&inp[1]);
	spawn_close(&stp[0]);
	spawn_close(&stp[1]);
	spawn_close(&devnull);
	spawn_env_free(&env);
	return rc;
}

int
spawn_read_status(int fd, const struct proc_conf *c, char *err, size_t errlen)
{
	struct spawn_status st;
	ssize_t n;

	n = fdio_read(fd, &st, sizeof(st));
	if (n == 0)
		return -1;
	if (n == -2)
		return 0;
	if (n != (ssize_t)sizeof(st)) {
		/* A short or failed read: the child died mid-setup. */
		snprintf(err, errlen, "spawn failed (status pipe)");
		return 1;
	}
	switch (st.stage) {
	case SPAWN_STAGE_EXEC:
		snprintf(err, errlen, "%s: %s", strerror(st.err), c->argv[0]);
		break;
	case SPAWN_STAGE_CHDIR:
		snprintf(err, errlen, "%s: directory %s", strerror(st.err),
		    c->directory != NULL ? c->directory : "?");
		break;
	case SPAWN_STAGE_SETGROUPS:
		snprintf(err, errlen, "cannot switch to user %s: setgroups: %s",
		    c->user != NULL ? c->user : "?", strerror(st.err));
		break;
	case SPAWN_STAGE_SETGID:
		snprintf(err, errlen, "cannot switch to user %s: setresgid: %s",
		    c->user != NULL ? c->user : "?", strerror(st.err));
		break;
	case SPAWN_STAGE_SETUID:
		snprintf(err, errlen, "cannot switch to user %s: setresuid: %s",
		    c->user != NULL ? c->user : "?", strerror(st.err));
		break;
	case SPAWN_STAGE_SETSID:
		snprintf(err, errlen, "setsid: %s", strerror(st.err));
		break;
	case SPAWN_STAGE_STDIO:
		snprintf(err, errlen, "dup2: %s", strerror(st.err));
		break;
	case SPAWN_STAGE_OOM:
		snprintf(err, errlen, "cannot set oom_score_adj %d: %s",
		    c->oom_score_adj, strerror(st.err));
		break;
	case SPAWN_STAGE_LISTEN:
		snprintf(err, errlen, "cannot pass the socket: %s",
		    strerror(st.err));
		break;
	default:
		snprintf(err, errlen, "spawn failed: %s", strerror(st.err));
		break;
	}
	return 1;
}
