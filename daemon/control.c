/*
 * The control socket: a lock file decides which superd owns the socket,
 * the socket is bound under umask(077) and then given its owner and mode,
 * and each client is a non-blocking connection with its role fixed from
 * SO_PEERCRED at accept, newline framing capped at RPC_MAX_LINE, and a
 * bounded output queue. Nothing here ever blocks the loop.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "control.h"
#include "log.h"
#include "handover.h"
#include "methods.h"
#include "rpc.h"

#define CONTROL_MAX_CLIENTS	  1024	/* and at most half the fd limit */
#define CONTROL_MIN_CLIENTS	  16
#define CONTROL_MAX_PER_UID	  32	/* for peers without the control role */
#define CONTROL_MAX_QUEUE	  (4 * 1024 * 1024)
#define CONTROL_READ_CHUNK	  (64 * 1024)
#define CONTROL_PARTIAL_SECS	  10	/* an incomplete request must finish */
#define CONTROL_IDLE_SECS	  60	/* nothing pending, nothing said */
#define CONTROL_FLUSH_SECS	  10	/* closing: time left to read a reply */
#define CONTROL_HUP_CHECK_SECS	  10	/* half-closed with streams: gone yet? */
#define CONTROL_ACCEPT_PAUSE_MS	  1000
#define CONTROL_ACCEPT_BURST	  32
#define CONTROL_MAX_GROUPS	  256

struct control_hook {
	TAILQ_ENTRY(control_hook) entry;
	void	(*fn)(void *);
	void	*arg;
};

struct control_client {
	struct methods_peer peer;	/* what methods sees of us */
	TAILQ_ENTRY(control_client) entry;
	struct control *ctl;
	int	 fd;
	int	 refs;
	bool	 alive;
	bool	 closing;	/* close once the output is flushed */
	bool	 eof;		/* the peer shut its write side */
	enum methods_role role;
	uid_t	 uid;
	gid_t	 gid;
	pid_t	 pid;
	struct event *ev_read;
	struct event *ev_write;
	struct event *ev_timer;
	struct evbuffer *in;
	struct evbuffer *out;
	size_t	 scanned;	/* leading bytes of `in` without a '\n' */
	bool	 partial;	/* `in` holds part of a line */
	struct timespec partial_since;
	struct timespec last_active;
	TAILQ_HEAD(, control_hook) hooks;
	size_t	 nhooks;
	bool	 sniffed;	/* the first byte decided the protocol */
};

TAILQ_HEAD(control_clients, control_client);

struct control {
	struct event_base *base;
	struct supervisor *sup;
	char	*socket_path;
	char	*lock_path;
	char	*config_path;
	int	 lock_fd;
	int	 listen_fd;
	bool	 bound;		/* we created the socket file */
	dev_t	 sock_dev;
	ino_t	 sock_ino;
	struct event *ev_accept;
	struct event *ev_resume;
	bool	 accept_paused;
	bool	 accept_logged;	/* one log line per EMFILE episode */
	bool	 ro_group_set;
	gid_t	 ro_gid;
	uid_t	 self_uid;
	struct methods_env env;
	struct control_clients clients;
	size_t	 nclients;
	size_t	 max_clients;
	time_t	 last_full_log;
	struct timespec adopted_started;	/* reexec: the old start */
	void	(*on_http)(void *, int, int, pid_t, const void *, size_t);
	void	*http_arg;
};

static void control_client_close(struct control_client *);
static void control_client_arm(struct control_client *);
static void control_client_flush(struct control_client *);
static bool control_client_hung_up(struct control_client *);

static void
control_now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static double
control_since(const struct timespec *ts)
{
	struct timespec now;

	control_now(&now);
	return (double)(now.tv_sec - ts->tv_sec) +
	    (double)(now.tv_nsec - ts->tv_nsec) / 1e9;
}

/* ---------------------------------------------------------------- */
/* The socket's directory, the lock file, bind. */

/* Create the missing directories of `dir` with mode 0755. */
static int
control_mkdirs(const char *dir)
{
	char path[PATH_MAX];
	size_t i, len;

	len = strlen(dir);
	if (len == 0 || len >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) == 0) {
			/* umask(077) may be in force: say 0755 outright. */
			if (chmod(path, 0755) == -1)
				return -1;
		} else if (errno != EEXIST) {
			return -1;
		}
		if (i < len)
			path[i] = '/';
	}
	return 0;
}

/*
 * R01: the directory must not let another user swap or pre-create the
 * socket: owned by root or us, and not writable by group or others
 * unless sticky (/tmp). In a sticky directory a file already at the path
 * must be ours.
 */
static int
control_check_dir(struct control *ctl)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	if (strlen(ctl->socket_path) >= sizeof(dir)) {
		log_error("control socket %s: path too long", ctl->socket_path);
		return -1;
	}
	strcpy(dir, ctl->socket_path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) == -1) {
		if (errno != ENOENT || control_mkdirs(dir) == -1 ||
		    stat(dir, &st) == -1) {
			log_syserr("control socket %s: directory %s",
			    ctl->socket_path, dir);
			return -1;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		log_error("control socket %s: %s is not a directory",
		    ctl->socket_path, dir);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != ctl->self_uid) {
		log_error("control socket %s: directory %s belongs to uid %u; "
		    "refusing", ctl->socket_path, dir, (unsigned)st.st_uid);
		return -1;
	}
	if ((st.st_mode & S_ISVTX) == 0 &&
	    ((st.st_mode & S_IWOTH) ||
	    ((st.st_mode & S_IWGRP) && st.st_gid != 0))) {
		log_error("control socket %s: directory %s is writable by "
		    "other users and not sticky (mode %04o); refusing",
		    ctl->socket_path, dir, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

static pid_t
control_read_lock_pid(int fd)
{
	char buf[32];
	ssize_t n;
	long pid;
	char *end;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || pid <= 0 || pid > INT_MAX)
		return 0;
	return (pid_t)pid;
}

static void
control_write_lock_pid(struct control *ctl)
{
	char buf[32];
	int n;

	if (ctl->lock_fd == -1)
		return;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(ctl->lock_fd, 0) == -1 ||
	    pwrite(ctl->lock_fd, buf, (size_t)n, 0) != n)
		log_syserr("lock file %s: write pid", ctl->lock_path);
}

/*
 * R04: the lock is taken before the socket is touched. The file stays
 * open (close-on-exec) as long as we run. Another daemon unlinking the
 * file as it exits could leave us holding the lock of a dead inode, so
 * the lock only counts once the path still names the locked inode.
 */
static int
control_lock(struct control *ctl)
{
	struct stat fst, pst;
	pid_t other;
	int fd, tries;

	for (tries = 0; tries < 10; tries++) {
		fd = open(ctl->lock_path,
		    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd == -1) {
			log_syserr("lock file %s", ctl->lock_path);
			return -1;
		}
		if (fstat(fd, &fst) == -1 || !S_ISREG(fst.st_mode) ||
		    (fst.st_uid != ctl->self_uid && fst.st_uid != 0)) {
			log_error("lock file %s: not a regular file of ours; "
			    "refusing", ctl->lock_path);
			close(fd);
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
			if (errno != EWOULDBLOCK && errno != EINTR) {
				log_syserr("lock file %s: flock",
				    ctl->lock_path);
				close(fd);
				return -1;
			}
			other = control_read_lock_pid(fd);
			close(fd);
			if (other > 0)
				log_error("another superd is already running "
				    "(pid %ld) on %s", (long)other,
				    ctl->socket_path);
			else
				log_error("another superd is already running "
				    "(pid unknown) on %s", ctl->socket_path);
			return -1;
		}
		if (stat(ctl->lock_path, &pst) == 0 &&
		    pst.st_dev == fst.st_dev && pst.st_ino == fst.st_ino) {
			ctl->lock_fd = fd;
			control_write_lock_pid(ctl);
			return 0;
		}
		close(fd);
	}
	log_error("lock file %s: keeps changing under us", ctl->lock_path);
	return -1;
}

/* Resolve "user[:group]" into ids; -1 after logging. */
static int
control_parse_owner(const char *owner, uid_t *uid, gid_t *gid)
{
	char user[256], *colon, *end;
	const char *group = NULL;
	struct passwd *pw;
	struct group *gr;
	unsigned long n;

	if (strlen(owner) >= sizeof(user)) {
		log_error("socket_owner %s: too long", owner);
		return -1;
	}
	strcpy(user, owner);
	colon = strchr(user, ':');
	if (colon != NULL) {
		*colon = '\0';
		group = colon + 1;
	}
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (user[0] != '\0') {
		if ((pw = getpwnam(user)) != NULL) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
		} else {
			errno = 0;
			n = strtoul(user, &end, 10);
			if (errno != 0 || *end != '\0' || n >= UINT_MAX) {
				log_error("socket_owner: no user %s", user);
				return -1;
			}
			*uid = (uid_t)n;
		}
	}
	if (group != NULL && group[0] != '\0') {
		if ((gr = getgrnam(group)) != NULL) {
			*gid = gr->gr_gid;
		} else {
			errno = 0;
			n = strtoul(group, &end, 10);
			if (errno != 0 || *end != '\0' || n >= UINT_MAX) {
				log_error("socket_owner: no group %s", group);
				return -1;
			}
			*gid = (gid_t)n;
		}
	}
	return 0;
}

static int
control_bind(struct control *ctl, const struct control_opts *opts)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old, mode;
	uid_t uid;
	gid_t gid;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(ctl->socket_path) >= sizeof(sun.sun_path)) {
		log_error("control socket %s: path longer than %zu bytes",
		    ctl->socket_path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	strcpy(sun.sun_path, ctl->socket_path);

	/* We hold the lock: a socket file left at the path is stale. */
	if (lstat(ctl->socket_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("control socket %s: exists and is not a "
			    "socket; refusing to replace it",
			    ctl->socket_path);
			return -1;
		}
		if (st.st_uid != ctl->self_uid && st.st_uid != 0) {
			log_error("control socket %s: belongs to uid %u; "
			    "refusing", ctl->socket_path, (unsigned)st.st_uid);
			return -1;
		}
		if (unlink(ctl->socket_path) == -1) {
			log_syserr("control socket %s: unlink stale socket",
			    ctl->socket_path);
			return -1;
		}
		log_info("control socket %s: removed a stale socket",
		    ctl->socket_path);
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		log_syserr("control socket %s: socket", ctl->socket_path);
		return -1;
	}
	/* R01: no window in which the inode is open to everyone. */
	old = umask(077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		log_syserr("control socket %s: bind", ctl->socket_path);
		close(fd);
		return -1;
	}
	umask(old);
	ctl->bound = true;
	if (lstat(ctl->socket_path, &st) == 0) {
		ctl->sock_dev = st.st_dev;
		ctl->sock_ino = st.st_ino;
	}
	if (opts->owner != NULL && opts->owner[0] != '\0') {
		if (control_parse_owner(opts->owner, &uid, &gid) == -1 ||
		    lchown(ctl->socket_path, uid, gid) == -1) {
			if (errno != 0)
				log_syserr("control socket %s: chown %s",
				    ctl->socket_path, opts->owner);
			close(fd);
			return -1;
		}
	}
	mode = opts->mode > 0 ? (mode_t)(opts->mode & 07777) : 0700;
	/*
	 * Connecting to a Unix socket needs write permission: members of
	 * readonly_group get the group and rwx on it, whatever socket_mode
	 * says. What they may call is still decided per connection from
	 * SO_PEERCRED (read-only methods only).
	 */
	if (ctl->ro_group_set) {
		if (lchown(ctl->socket_path, (uid_t)-1, ctl->ro_gid) == -1) {
			log_syserr("control socket %s: chgrp to readonly_group",
			    ctl->socket_path);
			close(fd);
			return -1;
		}
		mode |= 0070;
	}
	if (fchmodat(AT_FDCWD, ctl->socket_path, mode,
	    AT_SYMLINK_NOFOLLOW) == -1 &&
	    (errno != EOPNOTSUPP || chmod(ctl->socket_path, mode) == -1)) {
		log_syserr("control socket %s: chmod %04o", ctl->socket_path,
		    (unsigned)mode);
		close(fd);
		return -1;
	}
	if (listen(fd, 128) == -1) {
		log_syserr("control socket %s: listen", ctl->socket_path);
		close(fd);
		return -1;
	}
	ctl->listen_fd = fd;
	return 0;
}

/* ---------------------------------------------------------------- */
/* Accepting. */

static void
control_pause_accept(struct control *ctl)
{
	struct timeval tv = { CONTROL_ACCEPT_PAUSE_MS / 1000,
		(CONTROL_ACCEPT_PAUSE_MS % 1000) * 1000 };

	if (ctl->accept_paused)
		return;
	ctl->accept_paused = true;
	event_del(ctl->ev_accept);
	evtimer_add(ctl->ev_resume, &tv);
}

static void
control_resume_accept(struct control *ctl)
{
	if (!ctl->accept_paused)
		return;
	ctl->accept_paused = false;
	evtimer_del(ctl->ev_resume);
	event_add(ctl->ev_accept, NULL);
}

static void
control_on_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	control_resume_accept(arg);
}

static bool
control_in_ro_group(struct control *ctl, int fd, uid_t uid, gid_t gid)
{
	gid_t groups[CONTROL_MAX_GROUPS];
	socklen_t len = sizeof(groups);
	struct passwd *pw;
	int i, n;

	if (!ctl->ro_group_set)
		return false;
	if (gid == ctl->ro_gid)
		return true;
	/* The peer's real supplementary groups at connect time. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		n = (int)(len / sizeof(gid_t));
		for (i = 0; i < n; i++)
			if (groups[i] == ctl->ro_gid)
				return true;
		return false;
	}
	if (errno != ENOPROTOOPT)
		return false;
	/* Older kernels: the user database's view of the uid. */
	if ((pw = getpwuid(uid)) == NULL)
		return false;
	n = CONTROL_MAX_GROUPS;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1)
		return false;
	for (i = 0; i < n; i++)
		if (groups[i] == ctl->ro_gid)
			return true;
	return false;
}

static size_t
control_count_uid(struct control *ctl, uid_t uid)
{
	struct control_client *c;
	size_t n = 0;

	TAILQ_FOREACH(c, &ctl->clients, entry)
		if (c->alive && c->uid == uid)
			n++;
	return n;
}

static void control_client_on_read(evutil_socket_t, short, void *);
static void control_client_on_write(evutil_socket_t, short, void *);
static void control_client_on_timer(evutil_socket_t, short, void *);

static const struct methods_peer_ops control_peer_ops;

static struct control_client *
control_client_new(struct control *ctl, int fd, enum methods_role role)
{
	struct control_client *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->peer.ops = &control_peer_ops;
	c->ctl = ctl;
	c->fd = fd;
	c->refs = 1;
	c->alive = true;
	c->role = role;
	TAILQ_INIT(&c->hooks);
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	c->ev_read = event_new(ctl->base, fd, EV_READ | EV_PERSIST,
	    control_client_on_read, c);
	c->ev_write = event_new(ctl->base, fd, EV_WRITE | EV_PERSIST,
	    control_client_on_write, c);
	c->ev_timer = evtimer_new(ctl->base, control_client_on_timer, c);
	if (c->in == NULL || c->out == NULL || c->ev_read == NULL ||
	    c->ev_write == NULL || c->ev_timer == NULL) {
		log_error("control: out of memory for a client");
		if (c->in != NULL)
			evbuffer_free(c->in);
		if (c->out != NULL)
			evbuffer_free(c->out);
		if (c->ev_read != NULL)
			event_free(c->ev_read);
		if (c->ev_write != NULL)
			event_free(c->ev_write);
		if (c->ev_timer != NULL)
			event_free(c->ev_timer);
		close(fd);
		free(c);
		return NULL;
	}
	control_now(&c->last_active);
	TAILQ_INSERT_TAIL(&ctl->clients, c, entry);
	ctl->nclients++;
	event_add(c->ev_read, NULL);
	control_client_arm(c);
	return c;
}

static void
control_accept_one(struct control *ctl, int fd)
{
	struct control_client *c;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	enum methods_role role;
	time_t now;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_syserr("control: SO_PEERCRED");
		close(fd);
		return;
	}
	if (cred.uid == 0 || cred.uid == ctl->self_uid)
		role = METHODS_ROLE_CONTROL;
	else if (control_in_ro_group(ctl, fd, cred.uid, cred.gid))
		role = METHODS_ROLE_READONLY;
	else
		role = METHODS_ROLE_NONE;
	if (ctl->nclients >= ctl->max_clients ||
	    (role != METHODS_ROLE_CONTROL &&
	    control_count_uid(ctl, cred.uid) >= CONTROL_MAX_PER_UID)) {
		now = time(NULL);
		if (now != ctl->last_full_log) {
			ctl->last_full_log = now;
			log_warn("control: too many clients; refusing pid %ld "
			    "uid %u", (long)cred.pid, (unsigned)cred.uid);
		}
		close(fd);
		return;
	}
	c = control_client_new(ctl, fd, role);
	if (c == NULL)
		return;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->pid = cred.pid;
	log_debug("control: client pid %ld uid %u connected (role %d)",
	    (long)cred.pid, (unsigned)cred.uid, (int)role);
}

static void
control_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct control *ctl = arg;
	int fd, i;

	(void)what;
	for (i = 0; i < CONTROL_ACCEPT_BURST; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd != -1) {
			ctl->accept_logged = false;
			control_accept_one(ctl, fd);
			continue;
		}
		switch (errno) {
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* R25: never spin; once per episode in the log. */
			if (!ctl->accept_logged)
				log_syserr("control: accept (pausing %d ms at "
				    "a time until it works again)",
				    CONTROL_ACCEPT_PAUSE_MS);
			ctl->accept_logged = true;
			control_pause_accept(ctl);
			return;
		case EAGAIN:
		default:
			return;
		}
	}
}

/* ---------------------------------------------------------------- */
/* Clients. */

static void
control_client_arm(struct control_client *c)
{
	struct timeval tv;
	double left;

	if (!c->alive)
		return;
	if (c->closing)
		left = CONTROL_FLUSH_SECS;
	else if (c->partial)
		left = CONTROL_PARTIAL_SECS - control_since(&c->partial_since);
	else if (c->eof && c->nhooks == 0)
		left = 0;
	else if (c->eof)
		left = CONTROL_HUP_CHECK_SECS;
	else if (c->nhooks == 0)
		left = CONTROL_IDLE_SECS - control_since(&c->last_active);
	else {
		evtimer_del(c->ev_timer);
		return;
	}
	if (left < 0)
		left = 0;
	tv.tv_sec = (time_t)left;
	tv.tv_usec = (suseconds_t)((left - (double)tv.tv_sec) * 1e6);
	evtimer_add(c->ev_timer, &tv);
}

static void
control_client_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct control_client *c = arg;

	(void)fd;
	(void)what;
	if (c->eof && !c->closing && c->nhooks > 0 &&
	    !control_client_hung_up(c)) {
		control_client_arm(c);	/* half-closed, still reading */
		return;
	}
	if (c->eof && !c->closing && c->nhooks == 0 &&
	    evbuffer_get_length(c->out) > 0) {
		/* Half-closed: give the last replies time to go out. */
		c->closing = true;
		control_client_arm(c);
		return;
	}
	if (c->partial)
		log_info("control: client pid %ld: incomplete request for "
		    "%d s; closing", (long)c->pid, CONTROL_PARTIAL_SECS);
	else
		log_debug("control: client pid %ld idle; closing",
		    (long)c->pid);
	control_client_close(c);
}

/* Close the connection (hooks run, fd closed); the struct lives on
 * until the last reference goes. */
static void
control_client_close(struct control_client *c)
{
	struct control *ctl = c->ctl;
	struct control_hook *h;

	if (!c->alive)
		return;
	c->alive = false;
	control_client_ref(c);
	while ((h = TAILQ_FIRST(&c->hooks)) != NULL) {
		TAILQ_REMOVE(&c->hooks, h, entry);
		c->nhooks--;
		h->fn(h->arg);
		free(h);
	}
	event_del(c->ev_read);
	event_del(c->ev_write);
	evtimer_del(c->ev_timer);
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	TAILQ_REMOVE(&ctl->clients, c, entry);
	ctl->nclients--;
	/* A freed fd is room to accept again (relayd control_close). */
	control_resume_accept(ctl);
	/* Drop ours (taken above, so this cannot be the last) and the
	 * connection's own, which may free the client. */
	assert(c->refs >= 2);
	c->refs--;
	control_client_unref(c);
}

void
control_client_ref(struct control_client *c)
{
	c->refs++;
}

void
control_client_unref(struct control_client *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	event_free(c->ev_read);
	event_free(c->ev_write);
	event_free(c->ev_timer);
	free(c);
}

bool
control_client_alive(const struct control_client *c)
{
	return c != NULL && c->alive;
}

struct control_hook *
control_client_hook(struct control_client *c, void (*fn)(void *), void *arg)
{
	struct control_hook *h;

	if (!c->alive || (h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->fn = fn;
	h->arg = arg;
	TAILQ_INSERT_TAIL(&c->hooks, h, entry);
	c->nhooks++;
	control_client_arm(c);
	return h;
}

void
control_client_unhook(struct control_client *c, struct control_hook *h)
{
	if (h == NULL)
		return;
	TAILQ_REMOVE(&c->hooks, h, entry);
	c->nhooks--;
	free(h);
	control_now(&c->last_active);
	/* A half-closed peer waiting for this reply is closed from the
	 * timer, once the reply went out. */
	control_client_arm(c);
}

size_t
control_client_nhooks(const struct control_client *c)
{
	return c->nhooks;
}

/* The methods_peer face of a client: the peer is its first member. */
static struct control_client *
control_peer_client(const struct methods_peer *p)
{
	return (struct control_client *)(uintptr_t)p;
}

static int
control_peer_send(struct methods_peer *p, const json_t *msg)
{
	return control_client_send(control_peer_client(p), msg);
}

static bool
control_peer_alive(const struct methods_peer *p)
{
	return control_client_alive(control_peer_client(p));
}

static void
control_peer_ref(struct methods_peer *p)
{
	control_client_ref(control_peer_client(p));
}

static void
control_peer_unref(struct methods_peer *p)
{
	control_client_unref(control_peer_client(p));
}

static struct methods_hook *
control_peer_hook(struct methods_peer *p, void (*fn)(void *), void *arg)
{
	return (struct methods_hook *)control_client_hook(
	    control_peer_client(p), fn, arg);
}

static void
control_peer_unhook(struct methods_peer *p, struct methods_hook *h)
{
	control_client_unhook(control_peer_client(p),
	    (struct control_hook *)h);
}

static size_t
control_peer_nhooks(const struct methods_peer *p)
{
	return control_client_nhooks(control_peer_client(p));
}

static const struct methods_peer_ops control_peer_ops = {
	control_peer_send, control_peer_alive, control_peer_ref,
	control_peer_unref, control_peer_hook, control_peer_unhook,
	control_peer_nhooks
};

/* Write what the socket takes now, without SIGPIPE. */
static void
control_client_flush(struct control_client *c)
{
	struct evbuffer_iovec vec[16];
	struct iovec iov[16];
	struct msghdr msg;
	ssize_t n;
	int i, niov;

	while (c->alive && evbuffer_get_length(c->out) > 0) {
		niov = evbuffer_peek(c->out, -1, NULL, vec, 16);
		if (niov > 16)
			niov = 16;
		for (i = 0; i < niov; i++) {
			iov[i].iov_base = vec[i].iov_base;
			iov[i].iov_len = vec[i].iov_len;
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)niov;
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			log_debug("control: client pid %ld: send: %s",
			    (long)c->pid, strerror(errno));
			control_client_close(c);
			return;
		}
		evbuffer_drain(c->out, (size_t)n);
		control_now(&c->last_active);
	}
	if (!c->alive)
		return;
	if (evbuffer_get_length(c->out) > 0) {
		event_add(c->ev_write, NULL);
		return;
	}
	event_del(c->ev_write);
	if (c->closing || (c->eof && c->nhooks == 0)) {
		control_client_close(c);
		return;
	}
	control_client_arm(c);
}

static void
control_client_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct control_client *c = arg;

	(void)fd;
	(void)what;
	control_client_ref(c);
	control_client_flush(c);
	control_client_unref(c);
}

static void
control_line_free(const void *data, size_t len, void *line)
{
	(void)data;
	(void)len;
	free(line);
}

/*
 * Queue one encoded line (len bytes, '\n' included; malloc'd, taken
 * over: the queue references it instead of copying a reply that may be
 * hundreds of KB) and write what the socket takes now.
 */
static int
control_client_queue(struct control_client *c, char *line, size_t len)
{
	size_t queued;
	bool alive;

	if (c == NULL || !c->alive || c->closing) {
		free(line);
		return -1;
	}
	queued = evbuffer_get_length(c->out);
	/* One reply always fits in an empty queue; a client that leaves
	 * replies unread is dropped once its queue passes the bound. */
	if (queued > 0 && queued + len > CONTROL_MAX_QUEUE) {
		free(line);
		log_warn("control: client pid %ld uid %u does not read "
		    "(%zu bytes queued); dropping it", (long)c->pid,
		    (unsigned)c->uid, queued);
		control_client_close(c);
		return -1;
	}
	if (evbuffer_add_reference(c->out, line, len, control_line_free,
	    line) == -1) {
		free(line);
		control_client_close(c);
		return -1;
	}
	/* A failed flush closes the client; our reference keeps it readable
	 * until we know, and the last unref may free it. */
	control_client_ref(c);
	control_client_flush(c);
	alive = c->alive;
	control_client_unref(c);
	return alive ? 0 : -1;
}

int
control_client_send(struct control_client *c, const json_t *msg)
{
	size_t len;
	char *line;

	if (c == NULL || !c->alive || c->closing)
		return -1;
	line = rpc_dump_line(msg, &len);
	if (line == NULL) {
		log_error("control: client pid %ld: cannot encode a reply",
		    (long)c->pid);
		return -1;
	}
	return control_client_queue(c, line, len);
}

/* Answer a framing or parse problem; the id may be NULL (null). */
static void
control_client_error(struct control_client *c, json_t *id, int code,
    const char *message)
{
	json_t *msg;

	msg = rpc_error_new(id, code, "%s", message);
	if (msg != NULL) {
		control_client_send(c, msg);
		json_decref(msg);
	}
}

/* Run one parsed line (rc from rpc_parse_request); frees req. */
static void
control_client_request(struct control_client *c, int rc,
    struct rpc_request *req, int code, const char *msg)
{
	if (rc == -1) {
		/* A parse error answers id null and keeps the connection;
		 * so does an invalid request (with its id when it had one). */
		control_client_error(c, code == RPC_PARSE_ERROR ? NULL :
		    req->id, code, msg);
		rpc_request_free(req);
		return;
	}
	methods_handle(&c->ctl->env, &c->peer, c->role, req);
	rpc_request_free(req);
}

/*
 * Take whole lines out of `in` and run them. `scanned` remembers how far
 * a partial line was already searched, so a 1 MiB line arriving in small
 * reads costs linear time.
 */
static void
control_client_process(struct control_client *c)
{
	struct evbuffer_ptr pos;
	unsigned char *data;
	size_t avail, linelen;

	while (c->alive && !c->closing) {
		avail = evbuffer_get_length(c->in);
		if (avail == 0)
			break;
		if (c->scanned > 0 && c->scanned <= avail) {
			evbuffer_ptr_set(c->in, &pos, c->scanned,
			    EVBUFFER_PTR_SET);
			pos = evbuffer_search(c->in, "\n", 1, &pos);
		} else {
			pos = evbuffer_search(c->in, "\n", 1, NULL);
		}
		if (pos.pos == -1) {
			c->scanned = avail;
			if (c->eof && avail <= RPC_MAX_LINE) {
				/* The last request may lack its '\n'. */
				linelen = avail;
			} else if (avail > RPC_MAX_LINE) {
				goto too_long;
			} else {
				if (!c->partial) {
					c->partial = true;
					control_now(&c->partial_since);
				}
				break;
			}
		} else {
			linelen = (size_t)pos.pos;
			if (linelen > RPC_MAX_LINE)
				goto too_long;
		}
		c->scanned = 0;
		c->partial = false;
		data = evbuffer_pullup(c->in, (ssize_t)linelen);
		if (linelen > 0 && data == NULL) {
			log_error("control: client pid %ld: out of memory",
			    (long)c->pid);
			control_client_close(c);
			return;
		}
		/* Blank lines (and a CR before the '\n') are tolerated. */
		if (linelen > 0 && data[linelen - 1] == '\r')
			linelen--;
		/* The parser copies what it keeps: drop the line and its
		 * '\n' before the handler runs (it may close the client). */
		if (linelen > 0) {
			struct rpc_request req;
			const char *msg;
			int code, rc;

			rc = rpc_parse_request((const char *)data, linelen,
			    &req, &code, &msg);
			evbuffer_drain(c->in, pos.pos == -1 ? avail :
			    (size_t)pos.pos + 1);
			control_client_request(c, rc, &req, code, msg);
		} else {
			evbuffer_drain(c->in, pos.pos == -1 ? avail :
			    (size_t)pos.pos + 1);
		}
		control_now(&c->last_active);
	}
	if (c->alive && evbuffer_get_length(c->in) == 0)
		c->partial = false;
	if (c->alive)
		control_client_arm(c);
	return;

too_long:
	log_info("control: client pid %ld: request over %d bytes; closing",
	    (long)c->pid, RPC_MAX_LINE);
	control_client_error(c, NULL, RPC_INVALID_REQUEST,
	    "request longer than 1 MiB");
	if (!c->alive)
		return;
	evbuffer_drain(c->in, evbuffer_get_length(c->in));
	c->partial = false;
	c->closing = true;
	event_del(c->ev_read);
	control_client_flush(c);
	if (c->alive)
		control_client_arm(c);
}

/*
 * After EOF: a peer that only shut its write side (socat, `superctl
 * events` piped) still reads its stream; one that closed altogether
 * shows POLLHUP, and its streams end now rather than at the next write.
 */
static bool
control_client_hung_up(struct control_client *c)
{
	struct pollfd pfd = { c->fd, 0, 0 };

	return poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & (POLLHUP | POLLERR)) != 0;
}

/*
 * The first byte decides: '{' or '[' (or blank space before them) is
 * JSON-RPC; a letter starts an HTTP request line ("GET ", "POST "), and
 * the connection goes to http.c with what was read so far. Returns
 * true when the client was handed over (and is closed here).
 */
static bool
control_client_sniff(struct control_client *c)
{
	struct control *ctl = c->ctl;
	unsigned char *first;
	size_t len;
	void *pre;
	int fd;

	if (c->sniffed || (len = evbuffer_get_length(c->in)) == 0)
		return false;
	first = evbuffer_pullup(c->in, 1);
	if (first == NULL || first[0] < 'A' || first[0] > 'Z') {
		c->sniffed = true;
		return false;
	}
	c->sniffed = true;
	if (ctl->on_http == NULL || (pre = malloc(len)) == NULL) {
		control_client_close(c);
		return true;
	}
	evbuffer_remove(c->in, pre, len);
	fd = c->fd;
	c->fd = -1;		/* control_client_close() leaves it open */
	control_client_close(c);
	ctl->on_http(ctl->http_arg, fd, (int)c->role, c->pid, pre, len);
	free(pre);
	return true;
}

static void
control_client_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct control_client *c = arg;
	size_t have, room;
	int n;

	(void)what;
	have = evbuffer_get_length(c->in);
	room = RPC_MAX_LINE + 2 > have ? RPC_MAX_LINE + 2 - have : 0;
	if (room > CONTROL_READ_CHUNK)
		room = CONTROL_READ_CHUNK;
	if (room == 0)
		room = 1;
	n = evbuffer_read(c->in, fd, (int)room);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		control_client_close(c);
		return;
	}
	control_client_ref(c);
	if (n > 0 && control_client_sniff(c)) {
		control_client_unref(c);
		return;
	}
	if (n == 0) {
		c->eof = true;
		event_del(c->ev_read);
	}
	control_now(&c->last_active);
	control_client_process(c);
	if (c->alive && c->eof) {
		evbuffer_drain(c->in, evbuffer_get_length(c->in));
		c->partial = false;
		if ((c->nhooks == 0 && evbuffer_get_length(c->out) == 0) ||
		    control_client_hung_up(c))
			control_client_close(c);
		else
			control_client_arm(c);
	}
	control_client_unref(c);
}

struct control_client *
control_adopt(struct control *ctl, int fd, int role)
{
	struct control_client *c;

	c = control_client_new(ctl, fd, (enum methods_role)role);
	if (c != NULL) {
		c->uid = getuid();
		c->gid = getgid();
		c->pid = getpid();
	}
	return c;
}

/* ---------------------------------------------------------------- */
/* Life cycle. */

static int control_take_adopted(struct control *);

struct control *
control_new(struct event_base *base, struct supervisor *sup,
    const struct control_opts *opts)
{
	struct control *ctl;
	struct group *gr;
	struct rlimit rl;
	size_t n;

	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL) {
		log_error("control: out of memory");
		return NULL;
	}
	ctl->base = base;
	ctl->sup = sup;
	ctl->lock_fd = -1;
	ctl->listen_fd = -1;
	ctl->self_uid = geteuid();
	TAILQ_INIT(&ctl->clients);
	/* R25: clients never take the fds that spawning and logging need. */
	ctl->max_clients = CONTROL_MAX_CLIENTS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 2 < ctl->max_clients)
		ctl->max_clients = rl.rlim_cur / 2 > CONTROL_MIN_CLIENTS ?
		    (size_t)rl.rlim_cur / 2 : CONTROL_MIN_CLIENTS;
	if (opts->socket == NULL || opts->socket[0] == '\0') {
		log_error("control: no socket path");
		free(ctl);
		return NULL;
	}
	ctl->socket_path = strdup(opts->socket);
	n = strlen(opts->socket) + sizeof(".lock");
	ctl->lock_path = malloc(n);
	ctl->config_path = strdup(opts->config_path != NULL ?
	    opts->config_path : "");
	if (ctl->socket_path == NULL || ctl->lock_path == NULL ||
	    ctl->config_path == NULL) {
		log_error("control: out of memory");
		goto fail;
	}
	snprintf(ctl->lock_path, n, "%s.lock", opts->socket);
	if (opts->readonly_group != NULL && opts->readonly_group[0] != '\0') {
		if ((gr = getgrnam(opts->readonly_group)) == NULL) {
			log_error("control: readonly_group %s: no such group",
			    opts->readonly_group);
			goto fail;
		}
		ctl->ro_gid = gr->gr_gid;
		ctl->ro_group_set = true;
	}
	if (control_take_adopted(ctl) == 0)
		;	/* reexec: the old image's socket, lock held */
	else if (control_check_dir(ctl) == -1 || control_lock(ctl) == -1)
		goto fail;
	else if (control_bind(ctl, opts) == -1)
		goto fail;
	ctl->ev_accept = event_new(base, ctl->listen_fd, EV_READ | EV_PERSIST,
	    control_on_accept, ctl);
	ctl->ev_resume = evtimer_new(base, control_on_resume, ctl);
	if (ctl->ev_accept == NULL || ctl->ev_resume == NULL ||
	    event_add(ctl->ev_accept, NULL) == -1) {
		log_error("control: cannot watch the socket");
		goto fail;
	}
	ctl->env.sup = sup;
	ctl->env.base = base;
	ctl->env.socket = ctl->socket_path;
	ctl->env.config_path = ctl->config_path;
	control_now(&ctl->env.started);
	if (ctl->adopted_started.tv_sec != 0)
		ctl->env.started = ctl->adopted_started;
	ctl->env.on_shutdown = opts->on_shutdown;
	ctl->env.arg = opts->arg;
	ctl->on_http = opts->on_http;
	ctl->http_arg = opts->http_arg;
	log_info("control: listening on %s", ctl->socket_path);
	return ctl;

fail:
	control_free(ctl);
	return NULL;
}

void
control_free(struct control *ctl)
{
	struct control_client *c;
	struct stat st;

	if (ctl == NULL)
		return;
	while ((c = TAILQ_FIRST(&ctl->clients)) != NULL) {
		control_client_ref(c);
		control_client_flush(c);
		if (c->alive)
			control_client_close(c);
		control_client_unref(c);
	}
	if (ctl->ev_accept != NULL)
		event_free(ctl->ev_accept);
	if (ctl->ev_resume != NULL)
		event_free(ctl->ev_resume);
	if (ctl->listen_fd != -1)
		close(ctl->listen_fd);
	/* Remove the socket only if it is still the one we bound. */
	if (ctl->bound && lstat(ctl->socket_path, &st) == 0 &&
	    st.st_dev == ctl->sock_dev && st.st_ino == ctl->sock_ino)
		unlink(ctl->socket_path);
	if (ctl->lock_fd != -1) {
		/* Unlink before unlocking: a waiter then sees a new inode. */
		unlink(ctl->lock_path);
		close(ctl->lock_fd);
	}
	free(ctl->socket_path);
	free(ctl->lock_path);
	free(ctl->config_path);
	free(ctl);
}

/* ---- reexec (SPEC 13): this room's state across an exec ---- */

/* The old image's listening socket and lock, until control_new(). */
static struct {
	bool	 set;
	char	*path;
	int	 listen_fd;
	int	 lock_fd;
	bool	 bound;
	dev_t	 dev;
	ino_t	 ino;
	struct timespec started;	/* superd's uptime goes on */
} control_adopted;

json_t *
control_save(struct control *ctl)
{
	if (ctl == NULL)
		return json_null();
	/* Clients are not saved: their fds close with the exec and they
	 * reconnect; connects meanwhile wait in the backlog. */
	return json_pack("{s:s, s:i, s:i, s:b, s:I, s:I, s:[I,I]}",
	    "socket", ctl->socket_path,
	    "listen_fd", handover_keep_fd(ctl->listen_fd),
	    "lock_fd", handover_keep_fd(ctl->lock_fd),
	    "bound", ctl->bound,
	    "dev", (json_int_t)ctl->sock_dev,
	    "ino", (json_int_t)ctl->sock_ino,
	    "started", (json_int_t)ctl->env.started.tv_sec,
	    (json_int_t)ctl->env.started.tv_nsec);
}

void
control_restore(const json_t *o)
{
	const char *path = json_string_value(json_object_get(o, "socket"));
	int lfd, kfd;

	lfd = handover_take_fd(o, "listen_fd");
	kfd = handover_take_fd(o, "lock_fd");
	if (path == NULL || lfd == -1 || kfd == -1 ||
	    (control_adopted.path = strdup(path)) == NULL) {
		if (lfd != -1)
			close(lfd);
		if (kfd != -1)
			close(kfd);
		return;
	}
	control_adopted.set = true;
	control_adopted.listen_fd = lfd;
	control_adopted.lock_fd = kfd;
	control_adopted.bound = json_is_true(json_object_get(o, "bound"));
	control_adopted.dev = (dev_t)json_integer_value(json_object_get(o,
	    "dev"));
	control_adopted.ino = (ino_t)json_integer_value(json_object_get(o,
	    "ino"));
	control_adopted.started.tv_sec = (time_t)json_integer_value(
	    json_array_get(json_object_get(o, "started"), 0));
	control_adopted.started.tv_nsec = (long)json_integer_value(
	    json_array_get(json_object_get(o, "started"), 1));
}

/* 0 when the adopted socket is this one's (same path): taken over. */
static int
control_take_adopted(struct control *ctl)
{
	int rc = -1;

	if (!control_adopted.set)
		return -1;
	if (strcmp(control_adopted.path, ctl->socket_path) == 0) {
		ctl->adopted_started = control_adopted.started;
		ctl->listen_fd = control_adopted.listen_fd;
		ctl->lock_fd = control_adopted.lock_fd;
		ctl->bound = control_adopted.bound;
		ctl->sock_dev = control_adopted.dev;
		ctl->sock_ino = control_adopted.ino;
		control_write_lock_pid(ctl);
		rc = 0;
	} else {
		/* The config names another socket now: bind that one. */
		close(control_adopted.listen_fd);
		close(control_adopted.lock_fd);
	}
	free(control_adopted.path);
	memset(&control_adopted, 0, sizeof(control_adopted));
	return rc;
}
