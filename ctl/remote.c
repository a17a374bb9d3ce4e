/*
 * superctl -H HOST: the control protocol carried by the user's own ssh.
 * Nothing new listens on the network: `ssh HOST superctl --dial` runs a
 * superctl on the far side that connects to the local control socket
 * there as the SSH user (the daemon's peer-credential check applies as
 * for any local superctl) and joins it to ssh's stdin and stdout.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "fdio.h"
#include "remote.h"
#include "values.h"

#define REMOTE_BUF	  65536
#define REMOTE_LINE_MAX	  (1024 * 1024)	/* longer lines are cut */

/* [USER@]HOST[:PORT] taken apart; [V6ADDR]:PORT is accepted too. */
struct remote_host {
	char	 dest[512];	/* USER@HOST for ssh */
	char	 port[8];	/* "" for ssh's own default */
};

static int
remote_parse(const char *spec, struct remote_host *h, char *err,
    size_t errlen)
{
	const char *at, *host, *colon, *end;
	size_t userlen, hostlen;
	char *stop;
	long port;

	memset(h, 0, sizeof(*h));
	if (*spec == '\0' || strlen(spec) >= sizeof(h->dest)) {
		snprintf(err, errlen, "bad host '%s' ([USER@]HOST[:PORT])",
		    spec);
		return -1;
	}
	at = strrchr(spec, '@');
	host = at != NULL ? at + 1 : spec;
	userlen = at != NULL ? (size_t)(at - spec) : 0;
	if (*host == '[') {
		end = strchr(host, ']');
		if (end == NULL)
			goto bad;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			goto bad;
		host++;
		hostlen = (size_t)(end - host);
	} else {
		colon = strchr(host, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			colon = NULL;	/* a bare IPv6 address */
		hostlen = colon != NULL ? (size_t)(colon - host) : strlen(host);
	}
	/* A host or user starting with '-' would be an ssh option. */
	if (hostlen == 0 || *host == '-' || *spec == '-' ||
	    (at != NULL && userlen == 0) || strpbrk(spec, " \t\n'\"\\;") != NULL)
		goto bad;
	if (colon != NULL) {
		errno = 0;
		port = strtol(colon + 1, &stop, 10);
		if (colon[1] == '\0' || *stop != '\0' || errno != 0 ||
		    port < 1 || port > 65535)
			goto bad;
		snprintf(h->port, sizeof(h->port), "%ld", port);
	}
	snprintf(h->dest, sizeof(h->dest), "%.*s%s%.*s", (int)userlen, spec,
	    at != NULL ? "@" : "", (int)hostlen, host);
	return 0;
bad:
	snprintf(err, errlen, "bad host '%s' ([USER@]HOST[:PORT])", spec);
	return -1;
}

int
remote_check_host(const char *host, char *err, size_t errlen)
{
	struct remote_host h;

	return remote_parse(host, &h, err, errlen);
}

/* The argv of ssh for h: $SUPERD_SSH's words, then our options. */
static char **
remote_argv(const struct remote_host *h, int timeout_ms, char *err,
    size_t errlen)
{
	const char *ssh = getenv(REMOTE_SSH_ENV), *far;
	char **words, **argv, timeout[64], *cmd;
	size_t n, k = 0;

	if (ssh == NULL || *ssh == '\0')
		ssh = "ssh";
	if (values_split_command(ssh, &words, err, errlen) == -1)
		return NULL;
	far = getenv(REMOTE_CTL_ENV);
	if (far == NULL || *far == '\0')
		far = "superctl";
	n = values_strv_len(words);
	argv = calloc(n + 12, sizeof(*argv));
	if (argv == NULL || asprintf(&cmd, "%s --dial", far) == -1) {
		free(argv);
		values_strv_free(words);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(argv, words, n * sizeof(*argv));
	free(words);
	k = n;
	/*
	 * BatchMode: never ask for a password or a host key confirmation.
	 * Several hosts run at once, and a prompt would hang a script; keys
	 * (an agent) are how this is meant to be used.
	 */
	argv[k++] = strdup("-o");
	argv[k++] = strdup("BatchMode=yes");
	if (timeout_ms > 0) {
		snprintf(timeout, sizeof(timeout), "ConnectTimeout=%d",
		    (timeout_ms + 999) / 1000);
		argv[k++] = strdup("-o");
		argv[k++] = strdup(timeout);
	}
	if (h->port[0] != '\0') {
		argv[k++] = strdup("-p");
		argv[k++] = strdup(h->port);
	}
	argv[k++] = strdup("--");
	argv[k++] = strdup(h->dest);
	argv[k++] = cmd;
	argv[k] = NULL;
	for (n = 0; n < k; n++) {
		if (argv[n] == NULL) {
			snprintf(err, errlen, "out of memory");
			for (n = 0; n < k; n++)
				free(argv[n]);
			free(argv);
			return NULL;
		}
	}
	return argv;
}

struct client *
remote_open(const char *host, int timeout_ms, char *err, size_t errlen)
{
	struct remote_host h;
	struct client *c;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	char **argv, name[600];
	pid_t pid;

	if (remote_parse(host, &h, err, errlen) == -1)
		return NULL;
	if ((argv = remote_argv(&h, timeout_ms, err, errlen)) == NULL)
		return NULL;
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "cannot reach %s: pipe: %s", host,
		    strerror(errno));
		goto fail;
	}
	pid = fork();
	if (pid == -1) {
		snprintf(err, errlen, "cannot reach %s: fork: %s", host,
		    strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		/* A group of its own: ^C is superctl's to handle (it ends a
		 * tail -f by closing the pipe), not ssh's. */
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in[0], STDIN_FILENO) == -1 ||
		    dup2(out[1], STDOUT_FILENO) == -1)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "superctl: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	values_strv_free(argv);
	fdio_set_nonblock(in[1], 1);
	fdio_set_nonblock(out[0], 1);
	snprintf(name, sizeof(name), "superd on %s (over ssh)", host);
	c = client_open_fds(out[0], in[1], pid, name, timeout_ms);
	if (c == NULL) {
		close(out[0]);
		close(in[1]);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		snprintf(err, errlen, "out of memory");
	}
	return c;
fail:
	values_strv_free(argv);
	if (in[0] != -1) {
		close(in[0]);
		close(in[1]);
	}
	if (out[0] != -1) {
		close(out[0]);
		close(out[1]);
	}
	return NULL;
}

/* ---- superctl --dial ---- */

static int
remote_write(int fd, const char *buf, size_t len)
{
	struct pollfd pfd;
	ssize_t n;

	while (len > 0) {
		n = fdio_write(fd, buf, len);
		if (n == -1)
			return -1;
		if (n == 0) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
				return -1;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
remote_dial(const char *path)
{
	struct pollfd pfd[2];
	struct sockaddr_un sun;
	char buf[REMOTE_BUF];
	ssize_t n;
	int fd, i;

	/* A blocking connect: the listen backlog is the daemon's, and ssh
	 * bounds the whole session from the other end. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "superctl: cannot connect to %s: %s\n", path,
		    strerror(ENAMETOOLONG));
		return COMMANDS_EXIT_UNAVAILABLE;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1) {
		fprintf(stderr, "superctl: cannot connect to %s: %s\n", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return COMMANDS_EXIT_UNAVAILABLE;
	}
	pfd[0].fd = STDIN_FILENO;
	pfd[1].fd = fd;
	for (;;) {
		pfd[0].events = pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			/*
			 * Either side ending ends the dial: the superctl at
			 * the other end of ssh closes only when it has all
			 * it wants (it never half-closes), and a stream
			 * (tail -f) would otherwise outlive it.
			 */
			if (n <= 0)
				goto out;
			if (remote_write(i == 0 ? fd : STDOUT_FILENO, buf,
			    (size_t)n) == -1)
				goto out;
		}
	}
out:
	close(fd);
	return COMMANDS_EXIT_OK;
}

/* ---- several hosts ---- */

/* One child's output: where its lines go and what is not a line yet. */
struct remote_out {
	int	 fd;		/* read end, -1 once closed */
	FILE	*to;		/* stdout or stderr */
	const char *host;
	char	*buf;
	size_t	 len;
};

static void
remote_out_flush(struct remote_out *o, bool all)
{
	char *nl;
	size_t off = 0, n;

	while (off < o->len) {
		nl = memchr(o->buf + off, '\n', o->len - off);
		if (nl == NULL && !all && o->len - off < REMOTE_LINE_MAX)
			break;
		n = nl != NULL ? (size_t)(nl - (o->buf + off)) :
		    o->len - off;
		fprintf(o->to, "%s: %.*s\n", o->host, (int)n, o->buf + off);
		off += n + (nl != NULL);
	}
	memmove(o->buf, o->buf + off, o->len - off);
	o->len -= off;
	fflush(o->to);
}

/* Read what is there; false once the pipe is closed. */
static bool
remote_out_read(struct remote_out *o)
{
	ssize_t n;
	char *p;

	p = realloc(o->buf, o->len + REMOTE_BUF);
	if (p == NULL)
		return false;
	o->buf = p;
	n = read(o->fd, o->buf + o->len, REMOTE_BUF);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		remote_out_flush(o, true);
		return false;
	}
	o->len += (size_t)n;
	remote_out_flush(o, false);
	return true;
}

/* Start fn for host in a child whose stdout and stderr come to o[0] and
 * o[1]; its pid or -1. */
static pid_t
remote_spawn(const char *host, int (*fn)(void *, const char *), void *arg,
    struct remote_out o[2])
{
	int p[2][2] = { { -1, -1 }, { -1, -1 } }, i, rc;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		if (pipe2(p[i], O_CLOEXEC) == -1)
			goto fail;
		o[i].fd = p[i][0];
		o[i].to = i == 0 ? stdout : stderr;
		o[i].host = host;
		o[i].buf = NULL;
		o[i].len = 0;
	}
	pid = fork();
	if (pid == -1)
		goto fail;
	if (pid == 0) {
		if (dup2(p[0][1], STDOUT_FILENO) == -1 ||
		    dup2(p[1][1], STDERR_FILENO) == -1)
			_exit(COMMANDS_EXIT_FAILURE);
		rc = fn(arg, host);
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	close(p[0][1]);
	close(p[1][1]);
	return pid;
fail:
	fprintf(stderr, "superctl: %s: %s\n", host, strerror(errno));
	for (i = 0; i < 2; i++) {
		if (p[i][0] != -1) {
			close(p[i][0]);
			close(p[i][1]);
		}
		o[i].fd = -1;
	}
	return -1;
}

/* Copy the children's output, prefixed, until every pipe is closed. */
static void
remote_pump(struct remote_out *outs, size_t n)
{
	struct pollfd *pfd;
	size_t i, open;

	if ((pfd = calloc(n, sizeof(*pfd))) == NULL)
		return;
	for (;;) {
		open = 0;
		for (i = 0; i < n; i++) {
			pfd[i].fd = outs[i].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
			open += outs[i].fd != -1;
		}
		if (open == 0)
			break;
		if (poll(pfd, n, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0 || outs[i].fd == -1)
				continue;
			if (!remote_out_read(&outs[i])) {
				close(outs[i].fd);
				outs[i].fd = -1;
			}
		}
	}
	free(pfd);
}

static int
remote_reap(pid_t pid)
{
	int status;

	if (pid <= 0)
		return COMMANDS_EXIT_FAILURE;
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return COMMANDS_EXIT_FAILURE;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	/* ^C reaches the children too: they end their streams cleanly. */
	return WTERMSIG(status) == SIGINT ? COMMANDS_EXIT_OK :
	    COMMANDS_EXIT_FAILURE;
}

int
remote_each(char **hosts, size_t n, bool sequential,
    int (*fn)(void *, const char *), void *arg)
{
	struct remote_out *outs;
	pid_t *pids;
	size_t i, k;
	int rc, worst = 0;

	outs = calloc(2 * n, sizeof(*outs));
	pids = calloc(n, sizeof(*pids));
	if (outs == NULL || pids == NULL) {
		free(outs);
		free(pids);
		fprintf(stderr, "superctl: out of memory\n");
		return COMMANDS_EXIT_FAILURE;
	}
	for (i = 0; i < 2 * n; i++)
		outs[i].fd = -1;
	for (i = 0; i < n; i++) {
		pids[i] = remote_spawn(hosts[i], fn, arg, &outs[2 * i]);
		if (!sequential)
			continue;
		remote_pump(&outs[2 * i], 2);
		rc = remote_reap(pids[i]);
		pids[i] = 0;
		worst = rc > worst ? rc : worst;
		if (rc != COMMANDS_EXIT_OK && i + 1 < n) {
			fprintf(stderr, "superctl: %s: exit %d; stopping "
			    "here, not done on:", hosts[i], rc);
			for (k = i + 1; k < n; k++)
				fprintf(stderr, " %s", hosts[k]);
			fputc('\n', stderr);
			break;
		}
	}
	if (!sequential) {
		remote_pump(outs, 2 * n);
		for (i = 0; i < n; i++) {
			rc = remote_reap(pids[i]);
			worst = rc > worst ? rc : worst;
		}
	}
	for (i = 0; i < 2 * n; i++)
		free(outs[i].buf);
	free(outs);
	free(pids);
	return worst;
}
