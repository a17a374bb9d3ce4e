/*
 * sd_notify(3) spoken directly: one datagram per message to the
 * AF_UNIX socket in NOTIFY_SOCKET. An abstract address ("@name") is
 * passed with its exact length: the kernel counts every byte of
 * sun_path given, so sizeof(struct sockaddr_un) would name another
 * socket (NUL padding included).
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <time.h>

#include <event2/event.h>

#include "events.h"
#include "log.h"
#include "notify.h"
#include "process.h"

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_addrlen;
static unsigned long long notify_watchdog_usec;
static struct event *notify_watchdog_ev;

/* STATUS=: a state change arms a timer; at most one line a second. */
#define NOTIFY_STATUS_INTERVAL_MS 1000
static notify_list_fn notify_list;
static const void *notify_list_arg;
static struct events_sub *notify_status_sub;
static struct event *notify_status_ev;
static struct timespec notify_status_last;	/* CLOCK_MONOTONIC */

int
notify_init(void)
{
	const char *sock, *usec, *wpid;
	char *end;
	size_t len;
	int rc = 0;

	sock = getenv("NOTIFY_SOCKET");
	usec = getenv("WATCHDOG_USEC");
	wpid = getenv("WATCHDOG_PID");
	if (usec != NULL) {
		unsigned long long v;

		errno = 0;
		v = strtoull(usec, &end, 10);
		if (errno == 0 && *end == '\0' && v > 0)
			notify_watchdog_usec = v;
		if (wpid != NULL) {
			long pid = strtol(wpid, &end, 10);

			if (*end != '\0' || pid != (long)getpid())
				notify_watchdog_usec = 0;
		}
	}
	if (sock != NULL && sock[0] != '\0') {
		len = strlen(sock);
		memset(&notify_addr, 0, sizeof(notify_addr));
		notify_addr.sun_family = AF_UNIX;
		if ((sock[0] != '/' && sock[0] != '@') ||
		    len >= sizeof(notify_addr.sun_path)) {
			log_error("NOTIFY_SOCKET %s: not a usable address",
			    sock);
			rc = -1;
		} else {
			memcpy(notify_addr.sun_path, sock, len);
			if (sock[0] == '@') {
				notify_addr.sun_path[0] = '\0';
				notify_addrlen = (socklen_t)(offsetof(
				    struct sockaddr_un, sun_path) + len);
			} else
				notify_addrlen = (socklen_t)(offsetof(
				    struct sockaddr_un, sun_path) + len + 1);
			notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
			    SOCK_NONBLOCK, 0);
			if (notify_fd == -1) {
				log_syserr("NOTIFY_SOCKET: socket");
				rc = -1;
			}
		}
	}
	/* Programs must never see these. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return rc;
}

void
notify_send(const char *state)
{
	ssize_t n;

	if (notify_fd == -1)
		return;
	do
		n = sendto(notify_fd, state, strlen(state), MSG_NOSIGNAL,
		    (const struct sockaddr *)&notify_addr, notify_addrlen);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		log_debug("sd_notify %s: %s", state, strerror(errno));
}

static void
notify_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify_send("WATCHDOG=1");
}

int
notify_watchdog_start(struct event_base *base)
{
	struct timeval tv;
	unsigned long long half;

	if (notify_fd == -1 || notify_watchdog_usec == 0 ||
	    notify_watchdog_ev != NULL)
		return 0;
	half = notify_watchdog_usec / 2;
	if (half == 0)
		half = 1;
	tv.tv_sec = (time_t)(half / 1000000);
	tv.tv_usec = (suseconds_t)(half % 1000000);
	notify_watchdog_ev = event_new(base, -1, EV_PERSIST,
	    notify_on_watchdog, NULL);
	if (notify_watchdog_ev == NULL ||
	    event_add(notify_watchdog_ev, &tv) == -1) {
		log_error("cannot start the sd_notify watchdog timer");
		return -1;
	}
	notify_send("WATCHDOG=1");
	return 0;
}

/* "12 programs: 11 running, 1 fatal": counts in state order. */
static void
notify_status_send(void)
{
	static const enum process_state order[] = { PROCESS_RUNNING,
		PROCESS_STARTING, PROCESS_BACKOFF, PROCESS_STOPPING,
		PROCESS_STOPPED, PROCESS_EXITED, PROCESS_FATAL,
		PROCESS_UNKNOWN };
	size_t count[sizeof(order) / sizeof(order[0])] = { 0 };
	struct process *const *procs;
	char line[512], name[16];
	size_t i, j, n, len;
	int sep = ':';

	procs = notify_list(notify_list_arg, &n);
	for (i = 0; i < n; i++)
		for (j = 0; j < sizeof(order) / sizeof(order[0]); j++)
			if (procs[i]->state == order[j])
				count[j]++;
	len = (size_t)snprintf(line, sizeof(line), "STATUS=%zu program%s", n,
	    n == 1 ? "" : "s");
	for (j = 0; j < sizeof(order) / sizeof(order[0]); j++) {
		if (count[j] == 0 || len >= sizeof(line))
			continue;
		snprintf(name, sizeof(name), "%s",
		    process_state_name(order[j]));
		for (i = 0; name[i] != '\0'; i++)
			if (name[i] >= 'A' && name[i] <= 'Z')
				name[i] = (char)(name[i] - 'A' + 'a');
		len += (size_t)snprintf(line + len, sizeof(line) - len,
		    "%c %zu %s", sep, count[j], name);
		sep = ',';
	}
	clock_gettime(CLOCK_MONOTONIC, &notify_status_last);
	notify_send(line);
}

static void
notify_on_status_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify_status_send();
}

static void
notify_on_state(const struct process *p, enum process_state from,
    enum process_state to, const char *reason, void *arg)
{
	struct timespec now;
	struct timeval tv;
	long long since_ms, wait_ms;

	(void)reason;
	(void)p;
	(void)from;
	(void)to;
	(void)reason;
	(void)arg;
	if (evtimer_pending(notify_status_ev, NULL))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	since_ms = (long long)(now.tv_sec - notify_status_last.tv_sec) * 1000 +
	    (now.tv_nsec - notify_status_last.tv_nsec) / 1000000;
	wait_ms = NOTIFY_STATUS_INTERVAL_MS - since_ms;
	if (wait_ms < 0)
		wait_ms = 0;
	/* Even "now" goes through the loop: a burst of changes (an update
	 * starting fifty programs) becomes one line. */
	tv.tv_sec = (time_t)(wait_ms / 1000);
	tv.tv_usec = (suseconds_t)(wait_ms % 1000) * 1000;
	evtimer_add(notify_status_ev, &tv);
}

int
notify_status_start(struct event_base *base, notify_list_fn list,
    const void *arg)
{
	if (notify_fd == -1 || notify_status_ev != NULL)
		return 0;
	notify_list = list;
	notify_list_arg = arg;
	notify_status_ev = evtimer_new(base, notify_on_status_timer, NULL);
	if (notify_status_ev == NULL ||
	    (notify_status_sub = events_subscribe(notify_on_state, NULL)) ==
	    NULL) {
		log_error("cannot start sd_notify STATUS= updates");
		return -1;
	}
	notify_status_send();
	return 0;
}

void
notify_free(void)
{
	events_unsubscribe(notify_status_sub);
	notify_status_sub = NULL;
	if (notify_status_ev != NULL) {
		event_free(notify_status_ev);
		notify_status_ev = NULL;
	}
	if (notify_watchdog_ev != NULL) {
		event_free(notify_watchdog_ev);
		notify_watchdog_ev = NULL;
	}
	if (notify_fd != -1) {
		close(notify_fd);
		notify_fd = -1;
	}
}

/* ---- reexec (SPEC 13) ---- */

/* Put NOTIFY_SOCKET (and the watchdog's settings) back into the
 * environment for the image exec'd next, which reads them as a new
 * superd would; on false, take them out again (the exec failed). */
void
notify_export_env(bool on)
{
	char buf[32];

	if (!on) {
		unsetenv("NOTIFY_SOCKET");
		unsetenv("WATCHDOG_USEC");
		unsetenv("WATCHDOG_PID");
		return;
	}
	if (notify_fd != -1 && notify_addrlen > offsetof(struct sockaddr_un,
	    sun_path)) {
		char path[sizeof(notify_addr.sun_path) + 1];
		size_t n = notify_addrlen - offsetof(struct sockaddr_un,
		    sun_path);

		memcpy(path, notify_addr.sun_path, n);
		path[n] = '\0';
		if (path[0] == '\0')
			path[0] = '@';
		(void)setenv("NOTIFY_SOCKET", path, 1);
	}
	if (notify_watchdog_usec > 0) {
		snprintf(buf, sizeof(buf), "%llu", notify_watchdog_usec);
		(void)setenv("WATCHDOG_USEC", buf, 1);
		snprintf(buf, sizeof(buf), "%d", (int)getpid());
		(void)setenv("WATCHDOG_PID", buf, 1);
	}
}
