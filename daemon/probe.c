/*
 * Readiness and health checks (SPEC section 9). Each probe is a small
 * state machine in the loop: a non-blocking connect (tcp), then for http
 * a request written and a status line read with http-parser, or a child
 * (exec) whose exit status arrives through probe_reaped(). Every probe
 * has a deadline timer; a result known at once (a refused connect, a
 * failed fork) is reported from a zero timer so that the callback never
 * runs inside probe_run().
 *
 * Host names: numeric addresses are used as they are and "localhost" is
 * 127.0.0.1; any other name is resolved by libevent's evdns inside the
 * loop (/etc/hosts, then the servers of /etc/resolv.conf), never by
 * getaddrinfo(), which may wait for DNS for seconds and would stall
 * every process the loop serves. The probe's deadline covers the
 * lookup too.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <http_parser.h>

#include "fdio.h"
#include "log.h"
#include "probe.h"
#include "handover.h"
#include "xmalloc.h"

extern char **environ;

struct probe {
	struct event_base *base;
	enum probe_kind	 kind;
	probe_cb	 cb;
	void		*arg;
	int		 timeout_ms;

	int		 fd;
	struct event	*io;
	struct event	*deadline;
	struct event	*soon;		/* zero timer for immediate results */
	bool		 soon_ok;
	char		 soon_why[128];
	bool		 in_cb;		/* cancel of itself from its cb */

	/* tcp and http: a name being resolved */
	struct evdns_getaddrinfo_request *dns_req;
	char		*host;		/* for the Host header */
	char		*path;

	/* http */
	char		*req;
	size_t		 reqlen;
	size_t		 reqoff;
	size_t		 nread;		/* bytes of the answer seen */
	http_parser	 parser;
	int		 status;	/* 0 until the status line is read */

	/* exec */
	pid_t		 pid;		/* -1: no child */
	bool		 orphan;	/* reported or cancelled, not reaped */
	struct probe	*next;		/* in probe_children */
};

/* Probes with a live child, until probe_reaped() sees it. */
static struct probe *probe_children;

/* The resolver for names, made at the first one (no cost otherwise;
 * disarmed when idle, so no timer wakes the loop). */
static struct evdns_base *probe_dns;
static struct event_base *probe_dns_owner;

struct probe_notify {
	struct event	*ev;
	int		 fd;
	char		*path;
	bool		 ready;
	probe_notify_cb	 cb;
	void		*arg;
};

static void
probe_unlink_child(struct probe *p)
{
	struct probe **pp;

	for (pp = &probe_children; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			return;
		}
	}
}

/* Release everything but a live child; the struct itself too unless a
 * child still has to be reaped (then it stays, orphaned, in the list). */
static void
probe_release(struct probe *p)
{
	/* Its callback runs at once with EVUTIL_EAI_CANCEL and only clears
	 * dns_req. */
	if (p->dns_req != NULL)
		evdns_getaddrinfo_cancel(p->dns_req);
	free(p->host);
	free(p->path);
	p->host = p->path = NULL;
	if (p->io != NULL)
		event_free(p->io);
	if (p->deadline != NULL)
		event_free(p->deadline);
	if (p->soon != NULL)
		event_free(p->soon);
	p->io = p->deadline = p->soon = NULL;
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
	free(p->req);
	p->req = NULL;
	p->cb = NULL;
	if (p->pid > 0) {
		/* Its own process group: whatever the command started
		 * goes too. Reaped later by the SIGCHLD loop. */
		(void)kill(-p->pid, SIGKILL);
		p->orphan = true;
		return;
	}
	free(p);
}

/* Report once and free. Only called from loop callbacks. */
static void
probe_finish(struct probe *p, bool ok, const char *why)
{
	probe_cb cb = p->cb;
	void *arg = p->arg;

	if (p->io != NULL)
		event_del(p->io);
	if (p->deadline != NULL)
		event_del(p->deadline);
	if (p->soon != NULL)
		event_del(p->soon);
	if (cb != NULL) {
		p->in_cb = true;
		cb(ok, why, arg);
	}
	probe_release(p);
}

static void
probe_on_soon(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;

	(void)fd;
	(void)what;
	probe_finish(p, p->soon_ok, p->soon_why);
}

/* A result known inside probe_run(): delivered from the loop. */
static void
probe_report_soon(struct probe *p, bool ok, const char *why)
{
	struct timeval tv = { 0, 0 };

	p->soon_ok = ok;
	snprintf(p->soon_why, sizeof(p->soon_why), "%s", why);
	if (p->io != NULL)
		event_del(p->io);
	event_add(p->soon, &tv);
}

static void
probe_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	char why[64];

	(void)fd;
	(void)what;
	if (p->timeout_ms % 1000 == 0)
		snprintf(why, sizeof(why), "timed out after %d s",
		    p->timeout_ms / 1000);
	else
		snprintf(why, sizeof(why), "timed out after %d ms",
		    p->timeout_ms);
	probe_finish(p, false, why);
}

/*
 * http-parser: the status line is all a probe reads. on_status may see
 * a part of the reason phrase at the end of a buffer, so the line is
 * known complete only once the parser reaches the headers.
 */
static int
probe_http_on_header(http_parser *hp, const char *at, size_t len)
{
	struct probe *p = hp->data;

	(void)at;
	(void)len;
	p->status = (int)hp->status_code;
	return 1;
}

static int
probe_http_on_headers(http_parser *hp)
{
	struct probe *p = hp->data;

	p->status = (int)hp->status_code;
	return 1;
}

static const http_parser_settings probe_http_settings = {
	.on_header_field = probe_http_on_header,
	.on_headers_complete = probe_http_on_headers,
};

static void
probe_http_read(struct probe *p)
{
	char buf[512], why[64];
	size_t room, n;
	ssize_t r;

	for (;;) {
		room = PROBE_HTTP_MAX - p->nread;
		if (room == 0) {
			probe_finish(p, false, "no status line in the first "
			    "4096 bytes of the answer");
			return;
		}
		r = fdio_read(p->fd, buf, room < sizeof(buf) ? room :
		    sizeof(buf));
		if (r == 0)
			return;
		if (r == -1) {
			snprintf(why, sizeof(why), "read: %s",
			    strerror(errno));
			probe_finish(p, false, why);
			return;
		}
		if (r == -2) {
			probe_finish(p, false,
			    "connection closed before a status line");
			return;
		}
		p->nread += (size_t)r;
		n = http_parser_execute(&p->parser, &probe_http_settings, buf,
		    (size_t)r);
		if (p->status != 0) {
			if (p->status >= 200 && p->status < 400) {
				probe_finish(p, true, "ok");
			} else {
				snprintf(why, sizeof(why), "answered %d",
				    p->status);
				probe_finish(p, false, why);
			}
			return;
		}
		if (n != (size_t)r || HTTP_PARSER_ERRNO(&p->parser) != HPE_OK) {
			probe_finish(p, false, "not an HTTP answer");
			return;
		}
	}
}

static void
probe_http_write(struct probe *p)
{
	char why[64];
	ssize_t r;

	while (p->reqoff < p->reqlen) {
		r = fdio_write(p->fd, p->req + p->reqoff, p->reqlen - p->reqoff);
		if (r == -1) {
			snprintf(why, sizeof(why), "write: %s",
			    strerror(errno));
			probe_finish(p, false, why);
			return;
		}
		if (r == 0)
			return;		/* EV_WRITE again */
		p->reqoff += (size_t)r;
	}
}

static void
probe_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	char why[96];
	socklen_t len;
	int e;

	(void)fd;
	if (p->status == -1) {
		/* Connecting: writable means the handshake ended. */
		e = 0;
		len = sizeof(e);
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
			e = errno;
		if (e != 0) {
			snprintf(why, sizeof(why), "connect: %s", strerror(e));
			probe_finish(p, false, why);
			return;
		}
		if (p->kind == PROBE_TCP) {
			probe_finish(p, true, "ok");
			return;
		}
		p->status = 0;
	}
	if (p->reqoff < p->reqlen) {
		probe_http_write(p);
		if (p->cb == NULL || p->reqoff < p->reqlen)
			return;
		/* Request sent: now wait for the answer. */
		event_free(p->io);
		p->io = event_new(p->base, p->fd, EV_READ | EV_PERSIST,
		    probe_on_io, p);
		if (p->io == NULL || event_add(p->io, NULL) == -1)
			probe_finish(p, false, "event_add failed");
		return;
	}
	if (what & EV_READ)
		probe_http_read(p);
}

/* Connect to a resolved address; the outcome arrives from the loop. */
static void
probe_connect_to(struct probe *p, const struct sockaddr *sa, socklen_t len)
{
	char why[160];

	if (p->kind == PROBE_HTTP) {
		p->req = xprintf("GET %s HTTP/1.0\r\nHost: %s\r\n"
		    "Connection: close\r\n\r\n", p->path, p->host);
		p->reqlen = strlen(p->req);
		http_parser_init(&p->parser, HTTP_RESPONSE);
		p->parser.data = p;
	}
	p->status = -1;		/* connecting */
	p->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (p->fd == -1) {
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		probe_report_soon(p, false, why);
		return;
	}
	if (connect(p->fd, sa, len) == -1 && errno != EINPROGRESS) {
		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		probe_report_soon(p, false, why);
		return;
	}
	/* Connected or in progress: writable tells either way, from the
	 * loop. */
	p->io = event_new(p->base, p->fd, EV_WRITE | EV_PERSIST, probe_on_io,
	    p);
	if (p->io == NULL || event_add(p->io, NULL) == -1)
		probe_report_soon(p, false, "event_add failed");
}

/* evdns answered (possibly from inside evdns_getaddrinfo()). */
static void
probe_on_resolved(int err, struct evutil_addrinfo *res, void *arg)
{
	struct probe *p = arg;
	char why[160];

	p->dns_req = NULL;
	if (err == EVUTIL_EAI_CANCEL)
		return;		/* released: p is going away */
	if (err != 0 || res == NULL) {
		snprintf(why, sizeof(why), "%s: %s", p->host,
		    evutil_gai_strerror(err));
		probe_report_soon(p, false, why);
	} else
		probe_connect_to(p, res->ai_addr, (socklen_t)res->ai_addrlen);
	if (res != NULL)
		evutil_freeaddrinfo(res);
}

static struct evdns_base *
probe_dns_base(struct event_base *base)
{
	if (probe_dns != NULL && probe_dns_owner != base) {
		evdns_base_free(probe_dns, 0);
		probe_dns = NULL;
	}
	if (probe_dns == NULL) {
		probe_dns = evdns_base_new(base,
		    EVDNS_BASE_INITIALIZE_NAMESERVERS |
		    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		/* (That reads /etc/hosts too.) Without a usable
		 * resolv.conf, /etc/hosts still answers. */
		if (probe_dns == NULL &&
		    (probe_dns = evdns_base_new(base,
		    EVDNS_BASE_DISABLE_WHEN_INACTIVE)) != NULL)
			(void)evdns_base_load_hosts(probe_dns, NULL);
		probe_dns_owner = base;
	}
	return probe_dns;
}

void
probe_dns_free(void)
{
	if (probe_dns != NULL)
		evdns_base_free(probe_dns, 1);
	probe_dns = NULL;
	probe_dns_owner = NULL;
}

static void
probe_start_connect(struct probe *p, const struct probe_conf *conf)
{
	struct evutil_addrinfo hints, *res = NULL;
	struct evdns_base *dns;
	const char *host = conf->host;
	char port[16], why[160];
	int r;

	if (host == NULL || *host == '\0' || strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	p->host = xstrdup(conf->host != NULL && *conf->host != '\0' ?
	    conf->host : "localhost");
	p->path = xstrdup(conf->path != NULL && *conf->path != '\0' ?
	    conf->path : "/");
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(port, sizeof(port), "%d", conf->port);
	/* A numeric address needs no resolver. */
	hints.ai_flags = EVUTIL_AI_NUMERICSERV | EVUTIL_AI_NUMERICHOST;
	if ((r = evutil_getaddrinfo(host, port, &hints, &res)) == 0) {
		probe_connect_to(p, res->ai_addr, (socklen_t)res->ai_addrlen);
		evutil_freeaddrinfo(res);
		return;
	}
	hints.ai_flags &= ~EVUTIL_AI_NUMERICHOST;
	if ((dns = probe_dns_base(p->base)) == NULL) {
		snprintf(why, sizeof(why), "%s: no resolver", host);
		probe_report_soon(p, false, why);
		return;
	}
	/* NULL when it answered already (a hosts entry, an error): the
	 * callback has run then. */
	p->dns_req = evdns_getaddrinfo(dns, host, port, &hints,
	    probe_on_resolved, p);
}

/*
 * In the check's child: the program's own user and directory, so that
 * `exec:` runs as the program would (a check never runs as root for a
 * program that does not). Raw syscalls: glibc's setxid broadcast is not
 * for a forked child. -1 when the switch fails.
 */
static int
probe_child_become(const struct proc_conf *as)
{
	uid_t r, e, sv;

	if (as == NULL)
		return 0;
	if (as->user != NULL && geteuid() == 0) {
		if (syscall(SYS_setgroups, as->groups != NULL ? as->ngroups : 1,
		    as->groups != NULL ? as->groups : &as->gid) == -1 ||
		    syscall(SYS_setresgid, as->gid, as->gid, as->gid) == -1 ||
		    syscall(SYS_setresuid, as->uid, as->uid, as->uid) == -1 ||
		    syscall(SYS_getresuid, &r, &e, &sv) == -1 ||
		    r != as->uid || e != as->uid || sv != as->uid)
			return -1;
	}
	if (as->directory != NULL && chdir(as->directory) == -1)
		return -1;
	return 0;
}

static void
probe_start_exec(struct probe *p, const struct probe_conf *conf,
    const struct proc_conf *as, const char *const *env)
{
	char *const *envp = environ;
	char why[128];
	sigset_t all, old;
	struct sigaction sa;
	int devnull, e, sig;
	pid_t pid;

	/* execve's prototype predates const; the strings are not
	 * written. */
	if (env != NULL)
		memcpy(&envp, &env, sizeof(envp));
	if (conf->argv == NULL || conf->argv[0] == NULL) {
		probe_report_soon(p, false, "exec: no command");
		return;
	}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull == -1) {
		snprintf(why, sizeof(why), "/dev/null: %s", strerror(errno));
		probe_report_soon(p, false, why);
		return;
	}
	/* No libevent signal handler may run in the child before exec. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		/* Async-signal-safe calls only from here. */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (sig = 1; sig < NSIG; sig++)
			(void)sigaction(sig, &sa, NULL);
		(void)setpgid(0, 0);
		if (dup2(devnull, 0) == -1 || dup2(devnull, 1) == -1 ||
		    dup2(devnull, 2) == -1)
			_exit(127);
		(void)close_range(3, ~0U, 0);
		if (probe_child_become(as) == -1)
			_exit(126);
		sigemptyset(&all);
		(void)sigprocmask(SIG_SETMASK, &all, NULL);
		if (strchr(conf->argv[0], '/') != NULL)
			execve(conf->argv[0], conf->argv, envp);
		else
			execvpe(conf->argv[0], conf->argv, envp);
		_exit(127);
	}
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(devnull);
	if (pid == -1) {
		snprintf(why, sizeof(why), "fork: %s", strerror(e));
		probe_report_soon(p, false, why);
		return;
	}
	/* Also here, so that a kill at once reaches the group. */
	(void)setpgid(pid, pid);
	p->pid = pid;
	p->next = probe_children;
	probe_children = p;
}

struct probe *
probe_run(struct event_base *base, const struct probe_conf *conf,
    const struct proc_conf *as, const char *const *env, int timeout_ms,
    probe_cb cb, void *arg)
{
	struct probe *p;
	struct timeval tv;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->base = base;
	p->kind = conf->kind;
	p->cb = cb;
	p->arg = arg;
	p->fd = -1;
	p->pid = -1;
	p->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	p->deadline = evtimer_new(base, probe_on_deadline, p);
	p->soon = evtimer_new(base, probe_on_soon, p);
	if (p->deadline == NULL || p->soon == NULL) {
		probe_release(p);
		return NULL;
	}
	tv.tv_sec = p->timeout_ms / 1000;
	tv.tv_usec = (p->timeout_ms % 1000) * 1000;
	event_add(p->deadline, &tv);
	switch (conf->kind) {
	case PROBE_TCP:
	case PROBE_HTTP:
		probe_start_connect(p, conf);
		break;
	case PROBE_EXEC:
		probe_start_exec(p, conf, as, env);
		break;
	default:
		probe_report_soon(p, false, "not a probe that runs");
		break;
	}
	return p;
}

void
probe_cancel(struct probe *p)
{
	/* From its own callback the probe is being finished already. */
	if (p == NULL || p->in_cb)
		return;
	probe_release(p);
}

bool
probe_reaped(pid_t pid, int status)
{
	struct probe *p;
	char why[64];

	for (p = probe_children; p != NULL; p = p->next)
		if (p->pid == pid)
			break;
	if (p == NULL)
		return false;
	probe_unlink_child(p);
	p->pid = -1;
	if (p->orphan) {
		free(p);
		return true;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		probe_finish(p, true, "ok");
		return true;
	}
	if (WIFEXITED(status))
		snprintf(why, sizeof(why), "exit status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(why, sizeof(why), "wait status %d", status);
	probe_finish(p, false, why);
	return true;
}

/* Does one line of the datagram read exactly READY=1? */
static bool
probe_notify_has_ready(const char *buf, size_t len)
{
	const char *line = buf, *end = buf + len, *nl;
	size_t n;

	while (line < end) {
		nl = memchr(line, '\n', (size_t)(end - line));
		n = (size_t)((nl != NULL ? nl : end) - line);
		if (n == 7 && memcmp(line, "READY=1", 7) == 0)
			return true;
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	return false;
}

static void
probe_notify_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct probe_notify *pn = arg;
	char buf[4096];
	ssize_t r;
	int i;

	(void)what;
	/* A bounded batch per wakeup: a flood cannot hold the loop. Bytes
	 * past the buffer are dropped by the kernel (datagram
	 * truncation), so any size is read and dropped. */
	for (i = 0; i < 64; i++) {
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pn->ready || !probe_notify_has_ready(buf, (size_t)r))
			continue;
		pn->ready = true;
		/* The callback may free pn: touch nothing after it. */
		pn->cb(pn->arg);
		return;
	}
}

struct probe_notify *
probe_notify_new(struct event_base *base, const char *dir,
    const char *fullname, probe_notify_cb cb, void *arg)
{
	static unsigned long probe_notify_seq;
	struct sockaddr_un sun;
	struct probe_notify *pn;
	struct stat st;
	char name[64];
	size_t i, n;
	int e;

	for (i = 0; fullname[i] != '\0' && i < sizeof(name) - 1; i++) {
		char c = fullname[i];

		name[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.') ? c : '_';
	}
	name[i] = '\0';
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	probe_notify_seq++;
	/* A long name is shortened to fit sun_path: the pid and the
	 * sequence number keep the path unique. */
	for (;;) {
		n = (size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
		    "%s/notify-%s-%ld-%lu.sock", dir, name, (long)getpid(),
		    probe_notify_seq);
		if (n < sizeof(sun.sun_path))
			break;
		i = strlen(name);
		if (i == 0) {
			errno = ENAMETOOLONG;
			return NULL;
		}
		name[i - (n - sizeof(sun.sun_path) + 1 < i ?
		    n - sizeof(sun.sun_path) + 1 : i)] = '\0';
	}
	if ((pn = calloc(1, sizeof(*pn))) == NULL)
		return NULL;
	pn->cb = cb;
	pn->arg = arg;
	pn->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (pn->fd == -1)
		goto fail;
	/* Left by an earlier superd of the same pid: only a socket. */
	if (lstat(sun.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(sun.sun_path);
	if (bind(pn->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto fail;
	pn->path = xstrdup(sun.sun_path);
	/* 0600: only superd's user may send (see probe_notify_chown()). */
	if (chmod(pn->path, 0600) == -1)
		goto fail;
	pn->ev = event_new(base, pn->fd, EV_READ | EV_PERSIST,
	    probe_notify_on_read, pn);
	if (pn->ev == NULL || event_add(pn->ev, NULL) == -1) {
		errno = ENOMEM;
		goto fail;
	}
	return pn;
fail:
	e = errno;
	probe_notify_free(pn);
	errno = e;
	return NULL;
}

int
probe_notify_chown(struct probe_notify *pn, uid_t uid, gid_t gid)
{
	return chown(pn->path, uid, gid);
}

const char *
probe_notify_path(const struct probe_notify *pn)
{
	return pn->path;
}

void
probe_notify_reset(struct probe_notify *pn)
{
	pn->ready = false;
}

void
probe_notify_free(struct probe_notify *pn)
{
	if (pn == NULL)
		return;
	if (pn->ev != NULL)
		event_free(pn->ev);
	if (pn->fd != -1)
		close(pn->fd);
	if (pn->path != NULL)
		(void)unlink(pn->path);
	free(pn->path);
	free(pn);
}

/* ---- reexec (SPEC 13): a notify socket across an exec ---- */

json_t *
probe_notify_save(const struct probe_notify *pn)
{
	if (pn == NULL)
		return json_null();
	return json_pack("{s:i, s:s, s:b}", "fd", handover_keep_fd(pn->fd),
	    "path", pn->path, "ready", pn->ready);
}

struct probe_notify *
probe_notify_restore(struct event_base *base, const json_t *o,
    probe_notify_cb cb, void *arg)
{
	struct probe_notify *pn;
	const char *path = json_string_value(json_object_get(o, "path"));
	int fd;

	if (path == NULL || (fd = handover_take_fd(o, "fd")) == -1)
		return NULL;
	if ((pn = calloc(1, sizeof(*pn))) == NULL) {
		close(fd);
		return NULL;
	}
	pn->cb = cb;
	pn->arg = arg;
	pn->fd = fd;
	pn->path = xstrdup(path);
	pn->ready = json_is_true(json_object_get(o, "ready"));
	pn->ev = event_new(base, pn->fd, EV_READ | EV_PERSIST,
	    probe_notify_on_read, pn);
	if (pn->ev == NULL || event_add(pn->ev, NULL) == -1) {
		probe_notify_free(pn);
		return NULL;
	}
	return pn;
}
