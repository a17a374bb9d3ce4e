/* Held sockets against real ports and socket files in a temp dir. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sockets.h"

/* A config of up to 4 programs, one process each (two for "web"). */
struct test_sockets_cfg {
	struct config	 cfg;
	struct group_conf groups[4];
	struct group_conf *gp[4];
	struct proc_conf procs[8];
	struct proc_conf *pp[8];
	char		 specs[4][128];
	char		 names[4][16];
	char		 hosts[4][64];
};

/* prog: program names; spec: socket values. */
static void
test_sockets_cfg(struct test_sockets_cfg *t, int n, const char *const *prog,
    const char *const *spec)
{
	int i, k = 0, j, np;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < n; i++) {
		snprintf(t->names[i], sizeof(t->names[i]), "%s", prog[i]);
		snprintf(t->specs[i], sizeof(t->specs[i]), "%s", spec[i]);
		t->groups[i].name = t->names[i];
		t->groups[i].procs = &t->pp[k];
		np = strcmp(prog[i], "web") == 0 ? 2 : 1;
		for (j = 0; j < np; j++, k++) {
			struct proc_conf *pc = &t->procs[k];
			struct sock_conf *sc = &pc->socket;

			t->pp[k] = pc;
			pc->name = t->names[i];
			pc->program = t->names[i];
			pc->group = t->names[i];
			sc->spec = t->specs[i];
			sc->uid = (uid_t)-1;
			sc->gid = (gid_t)-1;
			sc->mode = 0700;
			if (strncmp(spec[i], "unix://", 7) == 0) {
				sc->kind = SOCK_UNIX;
				sc->path = t->specs[i] + 7;
			} else {
				char *colon;

				sc->kind = SOCK_TCP;
				snprintf(t->hosts[i], sizeof(t->hosts[i]), "%s",
				    spec[i] + 6);
				colon = strrchr(t->hosts[i], ':');
				*colon = '\0';
				sc->host = t->hosts[i];
				sc->port = atoi(colon + 1);
			}
		}
		t->groups[i].nprocs = (size_t)np;
		t->gp[i] = &t->groups[i];
	}
	t->cfg.groups = t->gp;
	t->cfg.ngroups = (size_t)n;
}

/* A free port on 127.0.0.1 (bound and released). */
static int
test_sockets_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd, port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static bool
test_sockets_connects(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd;
	bool ok;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

static ino_t
test_sockets_ino(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

static void
test_sockets_tcp(void **state)
{
	struct sockets *s = sockets_new();
	struct test_sockets_cfg a, b, c;
	const char *web[] = { "web" };
	char spec[64], spec2[64], err[256];
	const char *sp[1] = { spec };
	int port = test_sockets_port(), port2 = test_sockets_port();
	int fd, fd2, cl, acc;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	ino_t ino;

	(void)state;
	snprintf(spec, sizeof(spec), "tcp://127.0.0.1:%d", port);
	test_sockets_cfg(&a, 1, web, sp);
	assert_int_equal(sockets_prepare(s, &a.cfg, err, sizeof(err)), 0);
	sockets_commit(s, &a.cfg);
	fd = sockets_fd(s, &a.procs[0].socket);
	assert_true(fd >= 0);
	assert_int_equal(sockets_fd(s, &a.procs[1].socket), fd);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ino = test_sockets_ino(fd);

	/* A client that connects while nothing accepts waits in the
	 * backlog, across a prepare of an equal config (a new struct). */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	cl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(cl, (struct sockaddr *)&sin, sizeof(sin)), 0);
	test_sockets_cfg(&b, 1, web, sp);
	assert_int_equal(sockets_prepare(s, &b.cfg, err, sizeof(err)), 0);
	sockets_commit(s, &b.cfg);
	assert_int_equal(sockets_fd(s, &b.procs[0].socket), fd);
	assert_int_equal(test_sockets_ino(fd), ino);
	acc = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(acc >= 0);
	close(acc);
	close(cl);

	/* A changed address: the new one is bound at prepare, the old
	 * one stays until commit. */
	snprintf(spec2, sizeof(spec2), "tcp://127.0.0.1:%d", port2);
	sp[0] = spec2;
	test_sockets_cfg(&c, 1, web, sp);
	assert_int_equal(sockets_prepare(s, &c.cfg, err, sizeof(err)), 0);
	fd2 = sockets_fd(s, &c.procs[0].socket);
	assert_true(fd2 >= 0 && fd2 != fd);
	assert_true(test_sockets_connects(port));
	assert_true(test_sockets_connects(port2));
	sockets_commit(s, &c.cfg);
	assert_int_equal(sockets_fd(s, &a.procs[0].socket), -1);
	assert_false(test_sockets_connects(port));
	assert_true(test_sockets_connects(port2));

	/* Removed: closed. */
	test_sockets_cfg(&a, 0, NULL, NULL);
	assert_int_equal(sockets_prepare(s, &a.cfg, err, sizeof(err)), 0);
	sockets_commit(s, &a.cfg);
	assert_false(test_sockets_connects(port2));
	sockets_free(s);
	sockets_free(NULL);
}

/* A refused update changes nothing: the new socket that did bind is
 * closed again, the held ones stay. */
static void
test_sockets_in_use(void **state)
{
	struct sockets *s = sockets_new();
	struct test_sockets_cfg a, b;
	const char *progs[] = { "api", "web" };
	char s1[64], s2[64], s3[64], err[256], want[256];
	const char *sp[2] = { s1, s2 };
	int p1 = test_sockets_port(), p2 = test_sockets_port();
	int p3 = test_sockets_port(), busy, fd;
	struct sockaddr_in sin = { .sin_family = AF_INET };

	(void)state;
	snprintf(s1, sizeof(s1), "tcp://127.0.0.1:%d", p1);
	snprintf(s2, sizeof(s2), "tcp://127.0.0.1:%d", p2);
	test_sockets_cfg(&a, 2, progs, sp);
	assert_int_equal(sockets_prepare(s, &a.cfg, err, sizeof(err)), 0);
	sockets_commit(s, &a.cfg);
	fd = sockets_fd(s, &a.procs[0].socket);

	busy = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)p3);
	assert_int_equal(bind(busy, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(busy, 1), 0);

	/* api moves to a free port, web to the busy one. */
	sp[0] = s3;
	snprintf(s3, sizeof(s3), "tcp://127.0.0.1:%d", test_sockets_port());
	sp[1] = s2;
	snprintf(s2, sizeof(s2), "tcp://127.0.0.1:%d", p3);
	test_sockets_cfg(&b, 2, progs, sp);
	assert_int_equal(sockets_prepare(s, &b.cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "program web: cannot bind "
	    "tcp://127.0.0.1:%d: Address already in use", p3);
	assert_string_equal(err, want);
	assert_int_equal(sockets_fd(s, &b.procs[0].socket), -1);
	assert_false(test_sockets_connects(atoi(strrchr(s3, ':') + 1)));
	sockets_commit(s, &a.cfg);
	assert_int_equal(sockets_fd(s, &a.procs[0].socket), fd);
	assert_true(test_sockets_connects(p1));
	assert_true(test_sockets_connects(p2));

	/* One value in two programs. */
	sp[0] = s1;
	sp[1] = s1;
	test_sockets_cfg(&b, 2, progs, sp);
	assert_int_equal(sockets_prepare(s, &b.cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "program web: socket %s is already "
	    "used by program api", s1);
	assert_string_equal(err, want);

	/* A name is not resolved. */
	sp[0] = "tcp://example.invalid:80";
	test_sockets_cfg(&b, 1, progs, sp);
	assert_int_equal(sockets_prepare(s, &b.cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "program api: cannot bind "
	    "tcp://example.invalid:80: not a numeric address");
	close(busy);
	sockets_free(s);
}

static void
test_sockets_any(void **state)
{
	struct sockets *s = sockets_new();
	struct test_sockets_cfg a;
	const char *progs[] = { "api" };
	char spec[64], err[256];
	const char *sp[1] = { spec };
	int port = test_sockets_port();

	(void)state;
	snprintf(spec, sizeof(spec), "tcp://*:%d", port);
	test_sockets_cfg(&a, 1, progs, sp);
	assert_int_equal(sockets_prepare(s, &a.cfg, err, sizeof(err)), 0);
	/* IPv4 clients reach the dual-stack socket. */
	assert_true(test_sockets_connects(port));
	sockets_free(s);
	assert_false(test_sockets_connects(port));
}

static void
test_sockets_unix(void **state)
{
	struct sockets *s = sockets_new();
	struct test_sockets_cfg a;
	const char *progs[] = { "api" };
	char dir[] = "/tmp/test_sockets.XXXXXX", spec[128], path[64];
	char err[256];
	const char *sp[1] = { spec };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	ino_t ino;
	int fd, stale, live;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/api.sock", dir);
	snprintf(spec, sizeof(spec), "unix://%s", path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);

	/* A stale socket file (its listener gone) is replaced. */
	stale = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(stale, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(stale);
	test_sockets_cfg(&a, 1, progs, sp);
	a.procs[0].socket.mode = 0660;
	a.procs[0].socket.uid = getuid();
	a.procs[0].socket.gid = getgid();
	assert_int_equal(sockets_prepare(s, &a.cfg, err, sizeof(err)), 0);
	sockets_commit(s, &a.cfg);
	fd = sockets_fd(s, &a.procs[0].socket);
	assert_true(fd >= 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_uid, getuid());
	ino = st.st_ino;

	/* A changed mode is re-applied to the same socket. */
	a.procs[0].socket.mode = 0600;
	if (getuid() == 0) {
		a.procs[0].socket.uid = 65534;
		a.procs[0].socket.gid = 65534;
	}
	assert_int_equal(sockets_prepare(s, &a.cfg, err, sizeof(err)), 0);
	sockets_commit(s, &a.cfg);
	assert_int_equal(sockets_fd(s, &a.procs[0].socket), fd);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_ino, ino);
	assert_int_equal(st.st_mode & 07777, 0600);
	if (getuid() == 0)
		assert_int_equal(st.st_uid, 65534);

	/* Removed: closed and unlinked. */
	sockets_commit(s, NULL);
	assert_int_equal(sockets_fd(s, &a.procs[0].socket), -1);
	assert_int_equal(lstat(path, &st), -1);

	/* A live listener is in use; a regular file is not replaced. */
	live = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(live, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(live, 1), 0);
	assert_int_equal(sockets_prepare(s, &a.cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Address already in use"));
	close(live);
	unlink(path);
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	assert_int_equal(sockets_prepare(s, &a.cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists and is not a socket"));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(path);
	sockets_free(s);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sockets_tcp),
		cmocka_unit_test(test_sockets_in_use),
		cmocka_unit_test(test_sockets_any),
		cmocka_unit_test(test_sockets_unix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
