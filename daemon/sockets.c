/*
 * Held listening sockets (SPEC section 8), keyed by the `socket=` value
 * as written. An update is two steps: sockets_prepare() binds what the
 * new config adds (all or nothing) and keeps what it still uses, so the
 * very same fd survives; sockets_commit() then closes what the live
 * config no longer uses.
 *
 * Decisions:
 * - The same value in two programs is an error at prepare: one socket
 *   has one set of processes accepting on it.
 * - A tcp host of "*" is one IPv6 socket with IPV6_V6ONLY off (dual-stack:
 *   IPv4 clients arrive as ::ffff:a.b.c.d); where the kernel has no
 *   IPv6, 0.0.0.0.
 * - Hosts are numeric or "localhost" (127.0.0.1): a name would need a
 *   resolver that can block the loop during an update.
 * - A unix path that exists is replaced only if it is a socket nobody
 *   listens on (a connect is refused); a live one is "in use", anything
 *   else is an error. superd unlinks only the socket it created (same
 *   inode) when closing it.
 * - A kept socket's mode and owner are re-applied after every new one
 *   is bound; if that chmod/chown fails, prepare fails with the new
 *   ones closed, but modes already re-applied stay.
 * - Moving a socket between two addresses that conflict (127.0.0.1:80
 *   to *:80) fails at prepare, since the old one is still held then.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "handover.h"
#include "sockets.h"
#include "xmalloc.h"

struct sockets_entry {
	char		*spec;		/* the key */
	char		*program;	/* the program that uses it */
	enum sock_kind	 kind;
	int		 fd;
	int		 backlog;
	char		*path;		/* SOCK_UNIX */
	dev_t		 dev;		/* of the socket file superd made */
	ino_t		 ino;
	bool		 fresh;		/* bound by the current prepare */
	struct sockets_entry *next;
};

struct sockets {
	struct sockets_entry *head;
};

static struct sockets_entry *sockets_adopted;	/* reexec, until new */

struct sockets *
sockets_new(void)
{
	struct sockets *s = xcalloc(1, sizeof(struct sockets));

	/* A reexec'd image: the sockets the old one held, before the
	 * first prepare would bind them again. */
	s->head = sockets_adopted;
	sockets_adopted = NULL;
	return s;
}

static void
sockets_entry_free(struct sockets_entry *e)
{
	struct stat st;

	if (e->fd != -1)
		close(e->fd);
	/* Only the file this socket made: someone may have replaced it. */
	if (e->path != NULL && lstat(e->path, &st) == 0 &&
	    S_ISSOCK(st.st_mode) && st.st_dev == e->dev &&
	    st.st_ino == e->ino)
		(void)unlink(e->path);
	free(e->spec);
	free(e->program);
	free(e->path);
	free(e);
}

void
sockets_free(struct sockets *s)
{
	struct sockets_entry *e, *next;

	if (s == NULL)
		return;
	for (e = s->head; e != NULL; e = next) {
		next = e->next;
		sockets_entry_free(e);
	}
	free(s);
}

static struct sockets_entry *
sockets_find(const struct sockets *s, const char *spec)
{
	struct sockets_entry *e;

	for (e = s->head; e != NULL; e = e->next)
		if (strcmp(e->spec, spec) == 0)
			return e;
	return NULL;
}

static int
sockets_backlog(const struct sock_conf *sc)
{
	return sc->backlog > 0 ? sc->backlog : SOMAXCONN;
}

/* A socket bound to `sa` and listening; -1 with errno. */
static int
sockets_listen_at(const struct sockaddr *sa, socklen_t salen, int backlog,
    bool dualstack)
{
	int fd, on = 1, off = 0, e;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (sa->sa_family != AF_UNIX &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (dualstack && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
	    sizeof(off)) == -1)
		goto fail;
	if (bind(fd, sa, salen) == -1 || listen(fd, backlog) == -1)
		goto fail;
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

static int
sockets_bind_tcp(const struct sock_conf *sc, char *why, size_t whylen)
{
	struct sockaddr_in6 six;
	struct sockaddr_in sin;
	struct addrinfo hints, *res;
	const char *host = sc->host;
	char port[16], h[64];
	size_t n;
	int fd, r;

	if (host == NULL || strcmp(host, "*") == 0 || *host == '\0') {
		memset(&six, 0, sizeof(six));
		six.sin6_family = AF_INET6;
		six.sin6_addr = in6addr_any;
		six.sin6_port = htons((uint16_t)sc->port);
		fd = sockets_listen_at((struct sockaddr *)&six, sizeof(six),
		    sockets_backlog(sc), true);
		if (fd != -1 || errno != EAFNOSUPPORT)
			goto out;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_ANY);
		sin.sin_port = htons((uint16_t)sc->port);
		fd = sockets_listen_at((struct sockaddr *)&sin, sizeof(sin),
		    sockets_backlog(sc), false);
		goto out;
	}
	if (strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	/* [::1] as written in a URL. */
	n = strlen(host);
	if (host[0] == '[' && n >= 2 && host[n - 1] == ']' &&
	    n - 2 < sizeof(h)) {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
		host = h;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(port, sizeof(port), "%d", sc->port);
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		if (r == EAI_NONAME)
			snprintf(why, whylen, "not a numeric address");
		else
			snprintf(why, whylen, "%s", gai_strerror(r));
		return -1;
	}
	fd = sockets_listen_at(res->ai_addr, res->ai_addrlen,
	    sockets_backlog(sc), false);
	freeaddrinfo(res);
out:
	if (fd == -1)
		snprintf(why, whylen, "%s", strerror(errno));
	return fd;
}

/* Is somebody listening on the unix socket at `path`? */
static bool
sockets_unix_alive(const struct sockaddr_un *sun)
{
	int fd, r;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return false;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	/* EAGAIN: a listener whose backlog is full is alive too. */
	r = r == 0 || errno == EAGAIN;
	close(fd);
	return r;
}

static int
sockets_bind_unix(const struct sock_conf *sc, struct sockets_entry *e,
    char *why, size_t whylen)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (sc->path == NULL || strlen(sc->path) >= sizeof(sun.sun_path)) {
		snprintf(why, whylen, "path too long");
		return -1;
	}
	memcpy(sun.sun_path, sc->path, strlen(sc->path) + 1);
	if (lstat(sc->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(why, whylen, "exists and is not a socket");
			return -1;
		}
		if (sockets_unix_alive(&sun)) {
			snprintf(why, whylen, "%s", strerror(EADDRINUSE));
			return -1;
		}
		(void)unlink(sc->path);	/* stale */
	}
	/* Nobody may connect before the mode is set: the daemon is single
	 * threaded, so the umask around bind is ours alone. */
	old = umask(0177);
	fd = sockets_listen_at((struct sockaddr *)&sun, sizeof(sun),
	    sockets_backlog(sc), false);
	umask(old);
	if (fd == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (lstat(sc->path, &st) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	e->path = xstrdup(sc->path);
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	return fd;
}

/* socket_mode and socket_owner on the file, at bind and at each
 * prepare (a changed value is re-applied to a kept socket). */
static int
sockets_apply(const struct sock_conf *sc, const struct sockets_entry *e,
    char *why, size_t whylen)
{
	if (e->kind != SOCK_UNIX)
		return 0;
	if (chmod(e->path, (mode_t)(sc->mode & 07777)) == -1) {
		snprintf(why, whylen, "chmod: %s", strerror(errno));
		return -1;
	}
	if ((sc->uid != (uid_t)-1 || sc->gid != (gid_t)-1) &&
	    chown(e->path, sc->uid, sc->gid) == -1) {
		snprintf(why, whylen, "chown %s: %s", sc->owner != NULL ?
		    sc->owner : "", strerror(errno));
		return -1;
	}
	return 0;
}

/* Calls fn for each distinct socket conf of cfg (the first process of
 * each program carries it for all); stops at a non-zero return. */
static int
sockets_each(const struct config *cfg,
    int (*fn)(const struct proc_conf *, void *), void *arg)
{
	const struct group_conf *g;
	size_t i, j;
	int r;

	for (i = 0; cfg != NULL && i < cfg->ngroups; i++) {
		g = cfg->groups[i];
		for (j = 0; j < g->nprocs; j++) {
			if (g->procs[j]->socket.kind == SOCK_NONE)
				continue;
			if ((r = fn(g->procs[j], arg)) != 0)
				return r;
		}
	}
	return 0;
}

struct sockets_prep {
	struct sockets	*s;
	struct sockets_entry *fresh;	/* bound by this prepare */
	const struct config *cfg;
	char		*err;
	size_t		 errlen;
	bool		 apply;		/* second pass: kept sockets */
};

static struct sockets_entry *
sockets_prep_find(const struct sockets_prep *sp, const char *spec)
{
	struct sockets_entry *e;

	for (e = sp->fresh; e != NULL; e = e->next)
		if (strcmp(e->spec, spec) == 0)
			return e;
	return NULL;
}

/* The program that already claimed `spec` in this config, if another. */
struct sockets_claim {
	const struct proc_conf *pc;
	const char	*other;
};

static int
sockets_claim_one(const struct proc_conf *pc, void *arg)
{
	struct sockets_claim *c = arg;

	if (strcmp(pc->socket.spec, c->pc->socket.spec) != 0)
		return 0;
	if (strcmp(pc->program, c->pc->program) != 0) {
		c->other = pc->program;
		return 1;
	}
	return 1;	/* the first user is this program */
}

static int
sockets_prep_one(const struct proc_conf *pc, void *arg)
{
	struct sockets_prep *sp = arg;
	const struct sock_conf *sc = &pc->socket;
	struct sockets_claim claim = { .pc = pc };
	struct sockets_entry *e;
	char why[160];
	int fd;

	if (sp->apply) {
		e = sockets_find(sp->s, sc->spec);
		if (e == NULL || e->fresh)
			return 0;
		if (strcmp(e->program, pc->program) != 0) {
			free(e->program);
			e->program = xstrdup(pc->program);
		}
		if (e->backlog != sockets_backlog(sc)) {
			/* listen() again sets the backlog of the same
			 * socket. */
			if (listen(e->fd, sockets_backlog(sc)) == 0)
				e->backlog = sockets_backlog(sc);
		}
		if (sockets_apply(sc, e, why, sizeof(why)) == -1)
			goto fail;
		return 0;
	}
	(void)sockets_each(sp->cfg, sockets_claim_one, &claim);
	if (claim.other != NULL) {
		snprintf(sp->err, sp->errlen, "program %s: socket %s is "
		    "already used by program %s", pc->program, sc->spec,
		    claim.other);
		return -1;
	}
	if (sockets_find(sp->s, sc->spec) != NULL ||
	    sockets_prep_find(sp, sc->spec) != NULL)
		return 0;
	e = xcalloc(1, sizeof(*e));
	e->fd = -1;
	e->kind = sc->kind;
	e->spec = xstrdup(sc->spec);
	e->program = xstrdup(pc->program);
	e->backlog = sockets_backlog(sc);
	e->fresh = true;
	e->next = sp->fresh;
	sp->fresh = e;
	if (sc->kind == SOCK_TCP)
		fd = sockets_bind_tcp(sc, why, sizeof(why));
	else
		fd = sockets_bind_unix(sc, e, why, sizeof(why));
	if (fd == -1)
		goto fail;
	e->fd = fd;
	if (sockets_apply(sc, e, why, sizeof(why)) == -1)
		goto fail;
	return 0;
fail:
	snprintf(sp->err, sp->errlen, "program %s: cannot bind %s: %s",
	    pc->program, sc->spec, why);
	return -1;
}

int
sockets_prepare(struct sockets *s, const struct config *cfg, char *err,
    size_t errlen)
{
	struct sockets_prep sp = { .s = s, .cfg = cfg, .err = err,
	    .errlen = errlen };
	struct sockets_entry *e, *next;

	if (sockets_each(cfg, sockets_prep_one, &sp) != 0) {
		for (e = sp.fresh; e != NULL; e = next) {
			next = e->next;
			sockets_entry_free(e);
		}
		return -1;
	}
	/* Every new one bound: now re-apply mode, owner and backlog to
	 * the kept ones, then hold the new ones. */
	sp.apply = true;
	if (sockets_each(cfg, sockets_prep_one, &sp) != 0) {
		for (e = sp.fresh; e != NULL; e = next) {
			next = e->next;
			sockets_entry_free(e);
		}
		return -1;
	}
	for (e = sp.fresh; e != NULL; e = next) {
		next = e->next;
		e->fresh = false;
		e->next = s->head;
		s->head = e;
	}
	return 0;
}

static int
sockets_uses_one(const struct proc_conf *pc, void *arg)
{
	return strcmp(pc->socket.spec, arg) == 0;
}

void
sockets_commit(struct sockets *s, const struct config *cfg)
{
	struct sockets_entry **ep, *e;

	for (ep = &s->head; (e = *ep) != NULL;) {
		if (sockets_each(cfg, sockets_uses_one, e->spec) != 0) {
			ep = &e->next;
			continue;
		}
		*ep = e->next;
		log_info("program %s: socket %s closed", e->program, e->spec);
		sockets_entry_free(e);
	}
}

int
sockets_fd(const struct sockets *s, const struct sock_conf *sc)
{
	const struct sockets_entry *e;

	if (sc == NULL || sc->kind == SOCK_NONE || sc->spec == NULL)
		return -1;
	e = sockets_find(s, sc->spec);
	return e != NULL ? e->fd : -1;
}

/* ---- reexec (SPEC 13): this room's state across an exec ---- */

json_t *
sockets_save(const struct sockets *s)
{
	const struct sockets_entry *e;
	json_t *a, *o;

	if ((a = json_array()) == NULL)
		return NULL;
	for (e = s != NULL ? s->head : NULL; e != NULL; e = e->next) {
		if (e->fd == -1)
			continue;
		o = json_pack("{s:s, s:s, s:i, s:i, s:i, s:s?, s:I, s:I}",
		    "spec", e->spec, "program", e->program, "kind",
		    (int)e->kind, "fd", handover_keep_fd(e->fd), "backlog",
		    e->backlog, "path", e->path, "dev", (json_int_t)e->dev,
		    "ino", (json_int_t)e->ino);
		if (json_array_append_new(a, o) == -1) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

void
sockets_adopt(const char *spec, const char *program, int fd)
{
	struct sockets_entry *e = xcalloc(1, sizeof(*e));

	e->spec = xstrdup(spec);
	e->program = xstrdup(program != NULL ? program : "?");
	e->fd = fd;
	e->backlog = SOMAXCONN;
	e->kind = SOCK_TCP;
	e->next = sockets_adopted;
	sockets_adopted = e;
}

void
sockets_restore(const json_t *a)
{
	struct sockets_entry *e;
	const json_t *o;
	const char *spec, *program, *path;
	size_t i;
	int fd;

	json_array_foreach(a, i, o) {
		spec = json_string_value(json_object_get(o, "spec"));
		program = json_string_value(json_object_get(o, "program"));
		path = json_string_value(json_object_get(o, "path"));
		if (spec == NULL || (fd = handover_take_fd(o, "fd")) == -1)
			continue;
		sockets_adopt(spec, program, fd);
		e = sockets_adopted;
		e->kind = (enum sock_kind)json_integer_value(
		    json_object_get(o, "kind"));
		e->backlog = (int)json_integer_value(json_object_get(o,
		    "backlog"));
		if (path != NULL)
			e->path = xstrdup(path);
		e->dev = (dev_t)json_integer_value(json_object_get(o, "dev"));
		e->ino = (ino_t)json_integer_value(json_object_get(o, "ino"));
	}
}
