/*
 * superctl reexec (SPEC 13), see reexec.h. The order of things:
 *
 * 1. daemon.reexec refuses when the config on disk differs from the live
 *    one (the new image loads the file: it must find the same programs)
 *    or when superd is busy (an update, a dependency wait, a shutdown).
 * 2. The binary at the start path runs with --version, under a child
 *    that waits for it and writes its wait status to a pipe the loop
 *    watches (the SIGCHLD loop reaps that child as an unknown pid); a
 *    deadline kills both. Only exit 0 goes on.
 * 3. Each room saves itself into one JSON document; the fds it names
 *    lose CLOEXEC; the document goes into a memfd; the reply is sent;
 *    execv() of the start path with the original arguments and
 *    --reexec-state FD. If execv() returns, CLOEXEC is set again, the
 *    failure is logged and superd goes on as it was.
 * 4. The new image (main.c) loads the config, reexec_restore_early()
 *    gives sockets and control their fds before they would bind, the
 *    registry is built without spawning and reexec_restore() hands each
 *    process its part by full name.
 *
 * Decision, when the new image cannot read the state (truncated, another
 * format version): it adopts the programs it finds rather than exec'ing
 * the old binary again (which may be gone, and would meet the same
 * unreadable state). superd's children are in /proc (PPid), each says
 * which process it is in SUPERVISOR_PROCESS_NAME, its stdout/stderr
 * pipes and listening sockets are among the inherited fds with the same
 * inode. They are RUNNING with their real start time; counters and logs'
 * tails start from zero. Nothing is killed.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define METHODS_INTERNAL
#include "config.h"
#include "control.h"
#include "http.h"
#include "log.h"
#include "methods.h"
#include "notify.h"
#include "process.h"
#include "handover.h"
#include "reexec.h"
#include "sockets.h"
#include "supervisor.h"

#define REEXEC_CHECK_MS		5000	/* --version must exit within */
#define REEXEC_STATE_MAX	(256 * 1024 * 1024)
#define REEXEC_MAX_FDS		65536

/* Set in the test suite only: the old image writes half a document,
 * or its execv() fails (after everything was prepared). */
#define REEXEC_TRUNCATE_ENV	"SUPERD_TEST_REEXEC_TRUNCATE"
#define REEXEC_FAIL_EXEC_ENV	"SUPERD_TEST_REEXEC_FAIL_EXEC"

static char	 reexec_path[PATH_MAX];
static char	**reexec_argv;		/* without a previous REEXEC_FLAG */
static int	 reexec_argc;
static char	 reexec_flag[] = REEXEC_FLAG;
static char	 reexec_c_flag[] = "-c";
static char	 reexec_version_arg[] = "--version";
static struct supervisor *reexec_sv;
static struct control *reexec_ctl;
static struct http *reexec_http;


/* The --version check under way (one at a time). */
static struct {
	bool	 busy;
	pid_t	 pid;
	int	 status_fd;
	struct event *ev;
	struct event *deadline;
	struct methods_peer *client;
	struct methods_hook *hook;
	json_t	*id;
} reexec_check;

/* ---- start ---- */

void
reexec_init(int argc, char *const argv[])
{
	ssize_t n;
	int i;

	n = readlink("/proc/self/exe", reexec_path, sizeof(reexec_path) - 1);
	if (n <= 0) {
		reexec_path[0] = '\0';
		return;
	}
	reexec_path[n] = '\0';
	/* Started from a binary already replaced: the path it had. */
	if (n > 10 && strcmp(reexec_path + n - 10, " (deleted)") == 0)
		reexec_path[n - 10] = '\0';
	if ((reexec_argv = calloc((size_t)argc + 5, sizeof(char *))) == NULL)
		return;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], REEXEC_FLAG) == 0 && i + 1 < argc) {
			i++;
			continue;
		}
		if (strncmp(argv[i], REEXEC_FLAG "=",
		    sizeof(REEXEC_FLAG)) == 0)
			continue;
		reexec_argv[reexec_argc++] = argv[i];
	}
}

void
reexec_attach(struct supervisor *sv, struct control *ctl, struct http *http)
{
	reexec_sv = sv;
	reexec_ctl = ctl;
	reexec_http = http;
}

/* ---- the old image: save and exec ---- */


/* The whole document; NULL with the reason in err. */
static json_t *
reexec_save(char *err, size_t errlen)
{
	json_t *doc, *sv;
	unsigned long long total = 0;
	char *ring = NULL;
	size_t len = 0;

	handover_reset();
	if ((sv = supervisor_save(reexec_sv, err, errlen)) == NULL)
		return NULL;
	/* The daemon's own log, so maintail still shows what came before. */
	if (log_ring_tail(LOG_RING_SIZE, &ring, &len, &total) == -1)
		len = 0;
	doc = json_pack("{s:s, s:i, s:s, s:I, s:o, s:o, s:o, s:o, s:I}",
	    "format", REEXEC_FORMAT,
	    "version", REEXEC_VERSION,
	    "superd_version", SUPERD_VERSION,
	    "pid", (json_int_t)getpid(),
	    "supervisor", sv,
	    "control", control_save(reexec_ctl),
	    "http", http_save(reexec_http),
	    "mainlog", handover_hex_new(ring != NULL ? ring : "", len),
	    "mainlog_total", (json_int_t)total);
	free(ring);
	if (doc != NULL && handover_failed()) {
		json_decref(doc);
		doc = NULL;
	}
	if (doc == NULL)
		snprintf(err, errlen, "out of memory");
	return doc;
}

/* The document in a memfd, at offset 0; -1 with the reason in err. */
static int
reexec_memfd(const json_t *doc, char *err, size_t errlen)
{
	char *s;
	size_t len, off = 0;
	ssize_t n;
	int fd;

	if ((s = json_dumps(doc, JSON_COMPACT)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	len = strlen(s);
	if (getenv(REEXEC_TRUNCATE_ENV) != NULL)
		len /= 2;
	if ((fd = memfd_create("superd-reexec-state", MFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		free(s);
		return -1;
	}
	while (off < len) {
		n = write(fd, s + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "memfd write: %s",
			    strerror(n == 0 ? EIO : errno));
			free(s);
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	free(s);
	if (lseek(fd, 0, SEEK_SET) == -1) {
		snprintf(err, errlen, "memfd lseek: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Save, reply, exec. Returns only when the exec did not happen: -1 with
 * the reason in err when nothing was sent yet (the caller replies with
 * it), 1 when the reply was sent and the exec itself failed (logged).
 */
static int
reexec_now(struct methods_peer *client, json_t *id, char *err,
    size_t errlen)
{
	const struct config *cfg;
	char fdarg[16];
	json_t *doc;
	int fd, n, i;

	if ((doc = reexec_save(err, errlen)) == NULL)
		return -1;
	fd = reexec_memfd(doc, err, errlen);
	json_decref(doc);
	if (fd == -1)
		return -1;
	handover_keep_fd(fd);
	n = snprintf(fdarg, sizeof(fdarg), "%d", fd);
	(void)n;
	i = reexec_argc;
	/* The config the running one was loaded from, by the path reread
	 * just used: a relative -c would not survive the chdir of -d. */
	if ((cfg = supervisor_config(reexec_sv)) != NULL &&
	    cfg->path != NULL) {
		reexec_argv[i++] = reexec_c_flag;
		reexec_argv[i++] = cfg->path;
	}
	reexec_argv[i++] = reexec_flag;
	reexec_argv[i++] = fdarg;
	reexec_argv[i] = NULL;

	log_info("reexec: executing %s (%zu fds handed over)", reexec_path,
	    handover_count());
	methods_send_result(client, id, json_pack("{s:s, s:I}", "binary",
	    reexec_path, "pid", (json_int_t)getpid()));
	handover_set_cloexec(false);
	notify_export_env(true);
	if (getenv(REEXEC_FAIL_EXEC_ENV) != NULL)
		errno = ENOEXEC;
	else
		execv(reexec_path, reexec_argv);
	/* Still here: nothing was handed to anyone. */
	n = errno;
	notify_export_env(false);
	handover_set_cloexec(true);
	reexec_argv[reexec_argc] = NULL;
	close(fd);
	handover_reset();
	log_error("reexec: cannot execute %s: %s; carrying on as before",
	    reexec_path, strerror(n));
	return 1;
}

static void
reexec_check_end(void)
{
	if (reexec_check.ev != NULL)
		event_free(reexec_check.ev);
	if (reexec_check.deadline != NULL)
		event_free(reexec_check.deadline);
	if (reexec_check.status_fd != -1)
		close(reexec_check.status_fd);
	if (reexec_check.client != NULL) {
		methods_peer_unhook(reexec_check.client, reexec_check.hook);
		methods_peer_unref(reexec_check.client);
	}
	json_decref(reexec_check.id);
	memset(&reexec_check, 0, sizeof(reexec_check));
	reexec_check.status_fd = -1;
}

/* The --version child is done (ok) or not (why says how). */
static void
reexec_check_done(bool ok, const char *why)
{
	struct methods_peer *c = reexec_check.client;
	char err[512];

	if (!ok) {
		log_error("reexec: %s; not re-executing", why);
		if (c != NULL)
			methods_send_error(c, reexec_check.id,
			    RPC_INTERNAL_ERROR, why);
	} else if (c == NULL || !methods_peer_alive(c)) {
		log_warn("reexec: the client left; not re-executing");
	} else if (reexec_now(c, reexec_check.id, err, sizeof(err)) == -1) {
		log_error("reexec: %s; not re-executing", err);
		methods_send_error(c, reexec_check.id, RPC_INTERNAL_ERROR, err);
	}
	reexec_check_end();
}

static void
reexec_on_check_exit(evutil_socket_t fd, short what, void *arg)
{
	char why[PATH_MAX + 128];
	ssize_t n;
	int st;

	(void)fd;
	(void)arg;
	if (what & EV_TIMEOUT) {
		(void)kill(-reexec_check.pid, SIGKILL);
		snprintf(why, sizeof(why), "%s --version did not exit within "
		    "%d s", reexec_path, REEXEC_CHECK_MS / 1000);
		reexec_check_done(false, why);
		return;
	}
	n = read(reexec_check.status_fd, &st, sizeof(st));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != (ssize_t)sizeof(st))
		snprintf(why, sizeof(why), "cannot run %s --version",
		    reexec_path);
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		reexec_check_done(true, "");
		return;
	} else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		snprintf(why, sizeof(why), "cannot execute %s", reexec_path);
	else if (WIFEXITED(st))
		snprintf(why, sizeof(why), "%s --version exited with status "
		    "%d", reexec_path, WEXITSTATUS(st));
	else
		snprintf(why, sizeof(why), "%s --version was killed by "
		    "signal %d", reexec_path, WTERMSIG(st));
	reexec_check_done(false, why);
}

static void
reexec_on_check_deadline(evutil_socket_t fd, short what, void *arg)
{
	reexec_on_check_exit(fd, what | EV_TIMEOUT, arg);
}

static void
reexec_on_client_gone(void *arg)
{
	(void)arg;
	/* The hook is spent: forget the client, the check goes on and
	 * then does nothing. */
	reexec_check.hook = NULL;
	if (reexec_check.client != NULL)
		methods_peer_unref(reexec_check.client);
	reexec_check.client = NULL;
}

/*
 * Start `path --version` under a small child of ours that waits for it
 * and writes its wait status to a pipe: the SIGCHLD loop reaps that
 * child like any unknown pid, the status comes through the pipe.
 */
static int
reexec_check_start(char *err, size_t errlen)
{
	char *const args[] = { reexec_path, reexec_version_arg, NULL };
	int p[2], devnull, st;
	pid_t pid, g;

	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "/dev/null: %s", strerror(errno));
		return -1;
	}
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(devnull);
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		close(devnull);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		/* superd's handlers would tell superd's loop. */
		signal(SIGCHLD, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGUSR2, SIG_DFL);
		(void)setpgid(0, 0);
		if ((g = fork()) == 0) {
			(void)dup2(devnull, 0);
			(void)dup2(devnull, 1);
			(void)dup2(devnull, 2);
			execv(reexec_path, args);
			_exit(127);
		}
		if (g == -1)
			_exit(1);
		while (waitpid(g, &st, 0) == -1 && errno == EINTR)
			;
		_exit(write(p[1], &st, sizeof(st)) == (ssize_t)sizeof(st) ?
		    0 : 1);
	}
	close(p[1]);
	close(devnull);
	reexec_check.pid = pid;
	reexec_check.status_fd = p[0];
	return 0;
}

/* Would the new image see the same programs? -1 with why in err. */
static int
reexec_config_same(char *err, size_t errlen)
{
	struct config_diff diff;
	struct diags d;
	int rc = 0;

	memset(&diff, 0, sizeof(diff));
	diags_init(&d);
	if (supervisor_reread(reexec_sv, &diff, &d) == -1) {
		snprintf(err, errlen, "the config on disk is invalid%s%s",
		    d.n > 0 ? ": " : "", d.n > 0 ? d.v[0].message : "");
		rc = -1;
	} else if (diff.nadded + diff.nchanged + diff.nremoved > 0) {
		snprintf(err, errlen, "the config on disk differs from the "
		    "running one (%zu added, %zu changed, %zu removed): run "
		    "superctl update first", diff.nadded, diff.nchanged,
		    diff.nremoved);
		rc = -1;
	}
	config_diff_free(&diff);
	diags_free(&d);
	return rc;
}

int
method_daemon_reexec(struct methods_call *call, json_t **result)
{
	struct event_base *base = call->env->base;
	struct timeval tv = { REEXEC_CHECK_MS / 1000, 0 };
	char err[512], why[64];

	(void)result;
	if (reexec_sv == NULL || reexec_argv == NULL ||
	    reexec_path[0] == '\0')
		return methods_fail(call, RPC_INTERNAL_ERROR, "reexec is not "
		    "available (the binary's path is unknown)");
	if (reexec_check.busy)
		return methods_fail(call, RPC_INTERNAL_ERROR, "a reexec is already "
		    "under way");
	if (reexec_config_same(err, sizeof(err)) == -1)
		return methods_fail(call, RPC_INTERNAL_ERROR, "%s", err);
	if (access(reexec_path, X_OK) == -1)
		return methods_fail(call, RPC_INTERNAL_ERROR, "%s: %s", reexec_path,
		    strerror(errno));
	if ((reexec_check.id = json_copy(call->id)) == NULL && call->id != NULL)
		return methods_fail(call, RPC_INTERNAL_ERROR, "out of memory");
	reexec_check.status_fd = -1;
	if (reexec_check_start(err, sizeof(err)) == -1) {
		reexec_check_end();
		return methods_fail(call, RPC_INTERNAL_ERROR, "%s", err);
	}
	reexec_check.busy = true;
	reexec_check.ev = event_new(base, reexec_check.status_fd, EV_READ |
	    EV_PERSIST, reexec_on_check_exit, NULL);
	reexec_check.deadline = evtimer_new(base, reexec_on_check_deadline,
	    NULL);
	if (reexec_check.ev == NULL || reexec_check.deadline == NULL ||
	    event_add(reexec_check.ev, NULL) == -1 ||
	    evtimer_add(reexec_check.deadline, &tv) == -1) {
		(void)kill(reexec_check.pid, SIGKILL);
		reexec_check_end();
		snprintf(why, sizeof(why), "cannot watch the check");
		return methods_fail(call, RPC_INTERNAL_ERROR, "%s", why);
	}
	reexec_check.client = call->client;
	methods_peer_ref(call->client);
	reexec_check.hook = methods_peer_hook(call->client,
	    reexec_on_client_gone, NULL);
	log_info("reexec: checking %s --version", reexec_path);
	return METHODS_DEFERRED;
}

/* ---- the new image ---- */

json_t *
reexec_load(int fd)
{
	struct stat st;
	json_error_t jerr;
	json_t *doc = NULL;
	const char *fmt;
	char *buf = NULL;
	size_t off = 0;
	ssize_t n;
	json_int_t ver;

	if (fstat(fd, &st) == -1 || st.st_size <= 0 ||
	    st.st_size > REEXEC_STATE_MAX) {
		log_error("reexec: state fd %d: %s", fd, errno != 0 ?
		    strerror(errno) : "empty or too big");
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size)) == NULL)
		goto out;
	while (off < (size_t)st.st_size) {
		n = pread(fd, buf + off, (size_t)st.st_size - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	doc = json_loadb(buf, off, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		log_error("reexec: the state handed over is unreadable "
		    "(%s at byte %d)", jerr.text, jerr.position);
		goto out;
	}
	fmt = json_string_value(json_object_get(doc, "format"));
	ver = json_integer_value(json_object_get(doc, "version"));
	if (fmt == NULL || strcmp(fmt, REEXEC_FORMAT) != 0 ||
	    ver != REEXEC_VERSION) {
		log_error("reexec: the state handed over is %s version %lld, "
		    "this superd reads %s version %d", fmt != NULL ? fmt :
		    "of no known format", (long long)ver, REEXEC_FORMAT,
		    REEXEC_VERSION);
		json_decref(doc);
		doc = NULL;
	}
out:
	free(buf);
	close(fd);
	if (doc == NULL)
		log_warn("reexec: adopting the running programs found in /proc");
	return doc;
}

void
reexec_restore_early(const json_t *doc)
{
	const json_t *sv = json_object_get(doc, "supervisor");

	sockets_restore(json_object_get(sv, "sockets"));
	control_restore(json_object_get(doc, "control"));
	http_restore(json_object_get(doc, "http"));
}

void
reexec_restore(struct supervisor *sv, const json_t *doc)
{
	char *ring = NULL;
	size_t len;
	json_int_t total;

	/* Before anything else is logged about the restore. */
	total = json_integer_value(json_object_get(doc, "mainlog_total"));
	if (total > 0 && (ring = malloc(LOG_RING_SIZE)) != NULL &&
	    handover_hex_get(doc, "mainlog", ring, LOG_RING_SIZE, &len) == 0)
		(void)log_ring_restore(ring, len, (unsigned long long)total);
	free(ring);
	supervisor_restore(sv, json_object_get(doc, "supervisor"));
	log_info("reexec: state of superd %s restored",
	    json_string_value(json_object_get(doc, "superd_version")) !=
	    NULL ? json_string_value(json_object_get(doc, "superd_version")) :
	    "?");
}

/* ---- the new image, state unreadable: adopt from /proc ---- */

struct reexec_orphan {
	pid_t	 pid;
	char	*name;		/* SUPERVISOR_PROCESS_NAME */
	int	 out_fd;	/* our fd on its stdout pipe, -1 */
	int	 err_fd;
	int	 in_fd;		/* our write end of its stdin pipe, -1 */
	unsigned long long start_ticks;
	ino_t	*socks;		/* inodes of its sockets */
	size_t	 nsocks;
};

static struct reexec_orphan *reexec_orphans;
static size_t reexec_norphans;

/* "pipe:[123]" / "socket:[123]" of /proc/PID/fd/N: the inode, 0. */
static ino_t
reexec_link_ino(const char *path, const char *kind)
{
	char buf[64];
	size_t k = strlen(kind);
	ssize_t n;

	if ((n = readlink(path, buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[n] = '\0';
	if (strncmp(buf, kind, k) != 0 || buf[k] != ':' || buf[k + 1] != '[')
		return 0;
	return (ino_t)strtoull(buf + k + 2, NULL, 10);
}

/* Our own fd on the object with inode `ino` of `kind`, -1. */
static int
reexec_own_fd(const char *kind, ino_t ino)
{
	char path[64];
	int fd;

	if (ino == 0)
		return -1;
	for (fd = 3; fd < REEXEC_MAX_FDS; fd++) {
		if (fcntl(fd, F_GETFD) == -1)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (reexec_link_ino(path, kind) == ino)
			return fd;
	}
	return -1;
}

static char *
reexec_read_file(const char *path, size_t max, size_t *len)
{
	char *buf;
	ssize_t n;
	size_t off = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if ((buf = malloc(max + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (off < max && (n = read(fd, buf + off, max - off)) > 0)
		off += (size_t)n;
	close(fd);
	buf[off] = '\0';
	*len = off;
	return buf;
}

/* ppid and start time (ticks since boot) from /proc/PID/stat. */
static int
reexec_stat(pid_t pid, pid_t *ppid, unsigned long long *start)
{
	char path[64], *buf, *p;
	size_t len;
	int i, rc = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((buf = reexec_read_file(path, 4096, &len)) == NULL)
		return -1;
	/* The name may hold spaces and parens: fields follow the last ')'. */
	if ((p = strrchr(buf, ')')) != NULL) {
		p += 2;	/* ") " then the state, field 3 */
		for (i = 3; i < 22 && p != NULL; i++) {
			if (i == 4)
				*ppid = (pid_t)strtol(p, NULL, 10);
			p = strchr(p, ' ');
			if (p != NULL)
				p++;
		}
		if (p != NULL) {
			*start = strtoull(p, NULL, 10);
			rc = 0;
		}
	}
	free(buf);
	return rc;
}

static void
reexec_orphan_scan(struct reexec_orphan *o)
{
	char path[64], fdpath[320], *env, *e;
	size_t len;
	ino_t in, ie, is;
	DIR *d;
	struct dirent *de;
	ino_t *v;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)o->pid);
	if ((env = reexec_read_file(path, 1 << 20, &len)) != NULL) {
		for (e = env; e < env + len; e += strlen(e) + 1)
			if (strncmp(e, "SUPERVISOR_PROCESS_NAME=", 24) == 0) {
				o->name = strdup(e + 24);
				break;
			}
		free(env);
	}
	snprintf(path, sizeof(path), "/proc/%d/fd/1", (int)o->pid);
	in = reexec_link_ino(path, "pipe");
	snprintf(path, sizeof(path), "/proc/%d/fd/2", (int)o->pid);
	ie = reexec_link_ino(path, "pipe");
	o->out_fd = reexec_own_fd("pipe", in);
	o->err_fd = ie != in ? reexec_own_fd("pipe", ie) : -1;
	snprintf(path, sizeof(path), "/proc/%d/fd/0", (int)o->pid);
	o->in_fd = reexec_own_fd("pipe", reexec_link_ino(path, "pipe"));
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)o->pid);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
		if ((is = reexec_link_ino(fdpath, "socket")) == 0)
			continue;
		v = realloc(o->socks, (o->nsocks + 1) * sizeof(*v));
		if (v == NULL)
			break;
		o->socks = v;
		o->socks[o->nsocks++] = is;
	}
	closedir(d);
}

/* Our inherited listening socket that `o` holds too, -1. */
static int
reexec_orphan_listener(const struct reexec_orphan *o)
{
	socklen_t sl;
	size_t i;
	int fd, on;

	for (i = 0; i < o->nsocks; i++) {
		if ((fd = reexec_own_fd("socket", o->socks[i])) == -1)
			continue;
		on = 0;
		sl = sizeof(on);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &sl) == 0 &&
		    on)
			return fd;
	}
	return -1;
}

/*
 * The control socket and its lock among the inherited fds: the lock is
 * the open file of `<socket>.lock` (our own flock on it would fail), the
 * socket a listening unix socket bound to the path. Handed to control
 * as if the state had named them.
 */
static void
reexec_find_control(const struct config *cfg)
{
	const char *sock = cfg != NULL && cfg->socket != NULL ? cfg->socket :
	    CONFIG_DEFAULT_SOCKET;
	char lock[PATH_MAX], path[64], link[PATH_MAX];
	struct sockaddr_un sun;
	struct stat st;
	socklen_t sl;
	json_t *o;
	int fd, lfd = -1, kfd = -1, on;
	ssize_t n;

	if (snprintf(lock, sizeof(lock), "%s.lock", sock) >= (int)sizeof(lock))
		return;
	for (fd = 3; fd < REEXEC_MAX_FDS && (lfd == -1 || kfd == -1); fd++) {
		if (fcntl(fd, F_GETFD) == -1)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (kfd == -1 && strcmp(link, lock) == 0) {
			kfd = fd;
			continue;
		}
		if (lfd != -1 || strncmp(link, "socket:", 7) != 0)
			continue;
		memset(&sun, 0, sizeof(sun));
		sl = sizeof(sun);
		on = 0;
		if (getsockname(fd, (struct sockaddr *)&sun, &sl) == 0 &&
		    sun.sun_family == AF_UNIX &&
		    strcmp(sun.sun_path, sock) == 0) {
			sl = sizeof(on);
			if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on,
			    &sl) == 0 && on)
				lfd = fd;
		}
	}
	if (lfd == -1 || kfd == -1)
		return;
	if (lstat(sock, &st) == -1)
		memset(&st, 0, sizeof(st));
	o = json_pack("{s:s, s:i, s:i, s:b, s:I, s:I}", "socket", sock,
	    "listen_fd", lfd, "lock_fd", kfd, "bound", 1, "dev",
	    (json_int_t)st.st_dev, "ino", (json_int_t)st.st_ino);
	control_restore(o);
	json_decref(o);
}

/* The [inet_http_server] listeners among the inherited fds: listening
 * TCP sockets on its port that no program's child holds. */
static void
reexec_find_http(const struct config *cfg, const int *held, size_t nheld)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	json_t *fds, *o;
	char where[300];
	size_t i;
	int fd, on, port;

	if (cfg == NULL || cfg->inet_port <= 0 || (fds = json_array()) == NULL)
		return;
	for (fd = 3; fd < REEXEC_MAX_FDS; fd++) {
		if (fcntl(fd, F_GETFD) == -1)
			continue;
		for (i = 0; i < nheld && held[i] != fd; i++)
			;
		if (i < nheld)
			continue;
		sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
			continue;
		if (ss.ss_family == AF_INET)
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		else
			continue;
		on = 0;
		sl = sizeof(on);
		if (port == cfg->inet_port && getsockopt(fd, SOL_SOCKET,
		    SO_ACCEPTCONN, &on, &sl) == 0 && on)
			json_array_append_new(fds, json_integer(fd));
	}
	snprintf(where, sizeof(where), "%s:%d", cfg->inet_host != NULL ?
	    cfg->inet_host : "*", cfg->inet_port);
	o = json_pack("{s:s, s:o}", "where", where, "fds", fds);
	if (o != NULL && json_array_size(fds) > 0)
		http_restore(o);
	json_decref(o);
}

void
reexec_orphans_early(const struct config *cfg)
{
	struct reexec_orphan *v, o;
	DIR *d;
	struct dirent *de;
	pid_t self = getpid(), ppid;
	unsigned long long start;
	size_t i, gi, pj, nheld = 0;
	int held[256];
	char *fn;
	int fd;

	if ((d = opendir("/proc")) == NULL) {
		log_syserr("reexec: /proc");
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		memset(&o, 0, sizeof(o));
		o.pid = (pid_t)strtol(de->d_name, NULL, 10);
		ppid = 0;
		if (reexec_stat(o.pid, &ppid, &start) == -1 || ppid != self)
			continue;
		o.start_ticks = start;
		reexec_orphan_scan(&o);
		v = realloc(reexec_orphans, (reexec_norphans + 1) *
		    sizeof(*v));
		if (v == NULL) {
			free(o.name);
			free(o.socks);
			break;
		}
		reexec_orphans = v;
		reexec_orphans[reexec_norphans++] = o;
	}
	closedir(d);
	reexec_find_control(cfg);
	/* Held sockets: the listening socket a program's child holds. */
	for (gi = 0; cfg != NULL && gi < cfg->ngroups; gi++) {
		const struct group_conf *g = cfg->groups[gi];

		for (pj = 0; pj < g->nprocs; pj++) {
			const struct proc_conf *pc = g->procs[pj];

			if (pc->socket.kind == SOCK_NONE ||
			    pc->socket.spec == NULL)
				continue;
			if ((fn = process_make_fullname(g, pc)) == NULL)
				continue;
			for (i = 0; i < reexec_norphans; i++) {
				if (reexec_orphans[i].name == NULL ||
				    strcmp(reexec_orphans[i].name, fn) != 0)
					continue;
				fd = reexec_orphan_listener(
				    &reexec_orphans[i]);
				if (fd != -1) {
					sockets_adopt(pc->socket.spec,
					    pc->program, fd);
					if (nheld < sizeof(held) /
					    sizeof(held[0]))
						held[nheld++] = fd;
					break;
				}
			}
			free(fn);
		}
	}
	reexec_find_http(cfg, held, nheld);
}

void
reexec_adopt_orphans(struct supervisor *sv)
{
	struct timespec mono, boot, sm;
	struct process *p;
	long hz = sysconf(_SC_CLK_TCK);
	double age;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	for (i = 0; i < reexec_norphans; i++) {
		struct reexec_orphan *o = &reexec_orphans[i];

		p = o->name != NULL ? supervisor_find_fullname(sv, o->name) :
		    NULL;
		if (p == NULL) {
			log_warn("reexec: child pid %d (%s) matches no program; "
			    "left running", (int)o->pid, o->name != NULL ?
			    o->name : "no SUPERVISOR_PROCESS_NAME");
			continue;
		}
		age = (double)boot.tv_sec + boot.tv_nsec / 1e9 -
		    (double)o->start_ticks / (double)(hz > 0 ? hz : 100);
		if (age < 0)
			age = 0;
		sm = mono;
		sm.tv_sec -= (time_t)age;
		(void)process_adopt(p, o->pid, &sm, time(NULL) - (time_t)age,
		    o->out_fd, o->err_fd, p->conf->stdin_pipe ? o->in_fd : -1);
	}
	for (i = 0; i < reexec_norphans; i++) {
		free(reexec_orphans[i].name);
		free(reexec_orphans[i].socks);
	}
	free(reexec_orphans);
	reexec_orphans = NULL;
	reexec_norphans = 0;
	/* Event listeners follow the adopted processes; reaps too. */
	supervisor_restore(sv, NULL);
}
