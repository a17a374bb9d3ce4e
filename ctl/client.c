/*
 * The control-socket client of superctl. The socket is non-blocking and
 * every wait is a poll(2) with a deadline, so a daemon that is stopped
 * (kill -STOP), wedged or gone costs at most the timeout. Replies are
 * matched by id; notifications are handed to a callback.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "fdio.h"
#include "rpc.h"

struct client {
	int	 rfd;		/* replies come from here */
	int	 wfd;		/* requests go here (== rfd for a socket) */
	int	 extra_fd;	/* client_stream_fd(): also wait on this */
	pid_t	 pid;		/* a transport process to reap, or -1 */
	char	*path;
	int	 timeout_ms;	/* <= 0: none */
	json_int_t next_id;
	char	*buf;		/* bytes read, not yet parsed */
	size_t	 start;		/* first unparsed byte */
	size_t	 scan;		/* bytes from start known to hold no '\n' */
	size_t	 len;
	size_t	 cap;
	bool	 eof;		/* the daemon closed the connection */
	char	 error[512];
};

volatile sig_atomic_t client_interrupted;

static void client_fail(struct client *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static int client_reap(pid_t, int *);

static int64_t
client_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
client_fail(struct client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
}

/* Milliseconds left until deadline (-1: none) for poll(2). */
static int
client_remaining(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - client_now_ms();
	if (left < 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/*
 * Wait for POLLIN on c->rfd or POLLOUT on c->wfd: 1 ready, 0 timed out,
 * 2 when c->extra_fd (if any) became readable first, or a client_status.
 */
static int
client_wait(struct client *c, short events, int64_t deadline)
{
	struct pollfd pfd[2];
	nfds_t nfds = 1;
	int n;

	for (;;) {
		if (client_interrupted)
			return CLIENT_INTERRUPTED;
		pfd[0].fd = events == POLLOUT ? c->wfd : c->rfd;
		pfd[0].events = events;
		pfd[0].revents = 0;
		if (c->extra_fd != -1 && events == POLLIN) {
			pfd[1].fd = c->extra_fd;
			pfd[1].events = POLLIN;
			pfd[1].revents = 0;
			nfds = 2;
		}
		n = poll(pfd, nfds, client_remaining(deadline));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			client_fail(c, "poll on %s: %s", c->path, strerror(errno));
			return CLIENT_UNREACHABLE;
		}
		if (n > 0 && pfd[0].revents == 0 && nfds == 2)
			return 2;
		return n > 0 ? 1 : 0;
	}
}

/* Connect, retrying EAGAIN (a full backlog) until the deadline. */
static int
client_connect(struct client *c, const struct sockaddr_un *sun,
    int64_t deadline)
{
	int err, rc;
	socklen_t len;

	for (;;) {
		if (connect(c->rfd, (const struct sockaddr *)sun,
		    sizeof(*sun)) == 0)
			return 0;
		if (errno == EINTR && !client_interrupted)
			continue;
		if (errno == EAGAIN) {
			if (deadline >= 0 && client_now_ms() >= deadline)
				break;
			usleep(10000);
			continue;
		}
		if (errno != EINPROGRESS)
			return -1;
		rc = client_wait(c, POLLOUT, deadline);
		if (rc == 0)
			break;
		if (rc < 0)
			return -1;
		len = sizeof(err);
		if (getsockopt(c->rfd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			return -1;
		if (err != 0) {
			errno = err;
			return -1;
		}
		return 0;
	}
	errno = ETIMEDOUT;
	return -1;
}

static struct client *
client_new(const char *path)
{
	struct client *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->path = strdup(path)) == NULL) {
		free(c);
		return NULL;
	}
	c->rfd = c->wfd = c->extra_fd = -1;
	c->pid = -1;
	return c;
}

struct client *
client_open_fds(int rfd, int wfd, pid_t pid, const char *name,
    int timeout_ms)
{
	struct client *c = client_new(name);

	if (c == NULL)
		return NULL;
	c->rfd = rfd;
	c->wfd = wfd;
	c->pid = pid;
	c->timeout_ms = timeout_ms;
	return c;
}

struct client *
client_open(const char *path, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct client *c;
	int64_t deadline;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "cannot connect to %s: %s", path,
		    strerror(ENAMETOOLONG));
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	c = client_new(path);
	if (c == NULL) {
		snprintf(err, errlen, "cannot connect to %s: %s", path,
		    strerror(ENOMEM));
		return NULL;
	}
	c->timeout_ms = timeout_ms;
	c->rfd = c->wfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);
	deadline = timeout_ms > 0 ? client_now_ms() + timeout_ms : -1;
	if (c->rfd == -1 || client_connect(c, &sun, deadline) == -1) {
		snprintf(err, errlen, "cannot connect to %s: %s", path,
		    client_interrupted ? "interrupted" : strerror(errno));
		client_close(c);
		return NULL;
	}
	return c;
}

/*
 * The transport (ssh) sees EOF on its stdin and ends; one that does not
 * within two seconds (a hung network) is terminated.
 */
static int
client_reap(pid_t pid, int *status)
{
	pid_t got;
	int i;

	for (i = 0; i < 200; i++) {
		if ((got = waitpid(pid, status, WNOHANG)) != 0)
			return got == pid ? 0 : -1;
		usleep(10000);
	}
	kill(pid, SIGTERM);
	while ((got = waitpid(pid, status, 0)) == -1 && errno == EINTR)
		continue;
	return -1;
}

/* The transport closed its end: say how it ended (ssh prints why it
 * failed on stderr; 255 is its own failure, others the far side's). */
static void
client_transport_gone(struct client *c)
{
	int status = 0;

	close(c->wfd);
	c->wfd = -1;
	if (client_reap(c->pid, &status) == -1)
		client_fail(c, "%s: connection closed", c->path);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 255)
		client_fail(c, "%s: cannot reach it: ssh failed (exit 255)",
		    c->path);
	else if (WIFEXITED(status))
		client_fail(c, "%s: connection closed (exit %d)", c->path,
		    WEXITSTATUS(status));
	else
		client_fail(c, "%s: connection closed (signal %d)", c->path,
		    WTERMSIG(status));
	c->pid = -1;
}

void
client_close(struct client *c)
{
	if (c == NULL)
		return;
	if (c->wfd != -1 && c->wfd != c->rfd)
		close(c->wfd);
	if (c->rfd != -1)
		close(c->rfd);
	if (c->pid > 0)
		client_reap(c->pid, NULL);
	free(c->path);
	free(c->buf);
	free(c);
}

const char *
client_error(const struct client *c)
{
	return c->error;
}

/* Write one whole request line before the deadline. */
static int
client_send(struct client *c, json_t *msg, int64_t deadline)
{
	size_t len, off = 0;
	ssize_t n;
	char *line;
	int rc;

	line = rpc_dump_line(msg, &len);
	if (line == NULL) {
		client_fail(c, "cannot encode the request");
		return CLIENT_PROTOCOL;
	}
	while (off < len) {
		n = fdio_write(c->wfd, line + off, len - off);
		if (n == -1) {
			client_fail(c, "writing to %s: %s", c->path,
			    strerror(errno));
			free(line);
			return CLIENT_UNREACHABLE;
		}
		off += (size_t)n;
		if (off == len)
			break;
		rc = client_wait(c, POLLOUT, deadline);
		if (rc <= 0) {
			if (rc == 0)
				client_fail(c, "timed out writing to %s",
				    c->path);
			free(line);
			return rc == 0 ? CLIENT_UNREACHABLE : rc;
		}
	}
	free(line);
	return CLIENT_OK;
}

/* ---- reading replies ---- */

/* Make room for at least `want` more bytes, within the response cap. */
static int
client_reserve(struct client *c, size_t want)
{
	size_t cap;
	char *p;

	if (c->start > 0 && (c->start > c->len / 2 || c->len == c->cap)) {
		memmove(c->buf, c->buf + c->start, c->len - c->start);
		c->len -= c->start;
		c->start = 0;
	}
	if (c->len + want <= c->cap)
		return 0;
	cap = c->cap ? c->cap : 65536;
	while (cap < c->len + want)
		cap *= 2;
	p = realloc(c->buf, cap);
	if (p == NULL)
		return -1;
	c->buf = p;
	c->cap = cap;
	return 0;
}

/*
 * The next message from the daemon (new reference in *msg), waiting until
 * deadline (-1: for ever). 0 on timeout, 1 with a message, or a
 * client_status.
 */
static int
client_next(struct client *c, int64_t deadline, json_t **msg)
{
	json_error_t jerr;
	ssize_t n;
	char *nl;
	size_t linelen;
	int rc;

	for (;;) {
		nl = c->buf == NULL ? NULL : memchr(c->buf + c->start +
		    c->scan, '\n', c->len - c->start - c->scan);
		if (nl != NULL) {
			linelen = (size_t)(nl - (c->buf + c->start));
			*msg = json_loadb(c->buf + c->start, linelen, 0,
			    &jerr);
			c->start += linelen + 1;
			c->scan = 0;
			if (*msg == NULL || !json_is_object(*msg)) {
				client_fail(c, "bad reply from %s: %s", c->path,
				    *msg != NULL ? "not an object" : jerr.text);
				json_decref(*msg);
				return CLIENT_PROTOCOL;
			}
			return 1;
		}
		c->scan = c->len - c->start;
		if (c->scan > CLIENT_MAX_RESPONSE) {
			client_fail(c, "reply from %s larger than %d MiB",
			    c->path, CLIENT_MAX_RESPONSE >> 20);
			return CLIENT_PROTOCOL;
		}
		if (client_reserve(c, 65536) == -1) {
			client_fail(c, "reading from %s: %s", c->path,
			    strerror(ENOMEM));
			return CLIENT_PROTOCOL;
		}
		n = fdio_read(c->rfd, c->buf + c->len, c->cap - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == -2) {
			c->eof = true;
			if (c->pid > 0)
				client_transport_gone(c);
			else
				client_fail(c, "%s: connection closed by "
				    "superd", c->path);
			return CLIENT_UNREACHABLE;
		}
		if (n == -1) {
			client_fail(c, "reading from %s: %s", c->path,
			    strerror(errno));
			return CLIENT_UNREACHABLE;
		}
		rc = client_wait(c, POLLIN, deadline);
		if (rc <= 0 || rc == 2)
			return rc;
	}
}

/* The id of a reply, or -1 when msg is a notification or has no integer
 * id. */
static json_int_t
client_reply_id(json_t *msg)
{
	json_t *id = json_object_get(msg, "id");

	if (id == NULL || json_object_get(msg, "method") != NULL)
		return -1;
	if (json_object_get(msg, "result") == NULL &&
	    json_object_get(msg, "error") == NULL)
		return -1;
	return json_is_integer(id) ? json_integer_value(id) : 0;
}

static void
client_dispatch(json_t *msg, client_notify_fn fn, void *arg)
{
	json_t *method = json_object_get(msg, "method");

	if (fn != NULL && json_is_string(method))
		fn(arg, json_string_value(method),
		    json_object_get(msg, "params"));
}

int
client_call(struct client *c, const char *method, json_t *params, int flags,
    json_t **reply, client_notify_fn fn, void *arg)
{
	json_int_t id, ping = -1, got;
	int64_t deadline;
	json_t *msg;
	int rc;

	*reply = NULL;
	deadline = c->timeout_ms > 0 ? client_now_ms() + c->timeout_ms : -1;
	id = ++c->next_id;
	msg = rpc_request_new(id, method, params);
	if (msg == NULL) {
		client_fail(c, "cannot build the request");
		return CLIENT_PROTOCOL;
	}
	rc = client_send(c, msg, deadline);
	json_decref(msg);
	if (rc != CLIENT_OK)
		return rc;
	for (;;) {
		rc = client_next(c, deadline, &msg);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			/*
			 * A long call (start with wait) may legitimately
			 * take minutes; ask the daemon whether it is alive
			 * instead of giving up, and give up only when the
			 * ping goes unanswered too.
			 */
			if (!(flags & CLIENT_CALL_LONG) || ping != -1) {
				client_fail(c, "%s: superd did not answer "
				    "within %d s", c->path,
				    c->timeout_ms / 1000);
				return CLIENT_UNREACHABLE;
			}
			ping = ++c->next_id;
			deadline = client_now_ms() + c->timeout_ms;
			msg = rpc_request_new(ping, "daemon.version", NULL);
			rc = msg ? client_send(c, msg, deadline) :
			    CLIENT_PROTOCOL;
			json_decref(msg);
			if (rc != CLIENT_OK)
				return rc;
			continue;
		}
		got = client_reply_id(msg);
		if (got == id) {
			*reply = msg;
			return CLIENT_OK;
		}
		if (got == ping && ping != -1) {
			ping = -1;
			deadline = client_now_ms() + c->timeout_ms;
		} else if (got == -1)
			client_dispatch(msg, fn, arg);
		json_decref(msg);
	}
}

int
client_stream(struct client *c, client_notify_fn fn, void *arg)
{
	return client_stream_fd(c, fn, arg, -1, NULL);
}

int
client_stream_fd(struct client *c, client_notify_fn fn, void *arg, int fd,
    int (*on_fd)(void *))
{
	json_t *msg = NULL;
	int rc;

	for (;;) {
		c->extra_fd = fd;
		rc = client_next(c, -1, &msg);
		c->extra_fd = -1;
		if (rc == 2) {
			if (on_fd(arg) == 0)
				continue;
			return CLIENT_OK;
		}
		if (rc == CLIENT_INTERRUPTED)
			return CLIENT_OK;
		if (rc == CLIENT_UNREACHABLE && c->eof)
			return CLIENT_OK;
		if (rc < 0)
			return rc;
		if (rc == 1 && client_reply_id(msg) == -1)
			client_dispatch(msg, fn, arg);
		json_decref(msg);
	}
}
