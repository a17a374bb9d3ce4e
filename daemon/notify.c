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

#include <event2/event.h>

#include "log.h"
#include "notify.h"

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_addrlen;
static unsigned long long notify_watchdog_usec;
static struct event *notify_watchdog_ev;

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

bool
notify_enabled(void)
{
	return notify_fd != -1;
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

void
notify_free(void)
{
	if (notify_watchdog_ev != NULL) {
		event_free(notify_watchdog_ev);
		notify_watchdog_ev = NULL;
	}
	if (notify_fd != -1) {
		close(notify_fd);
		notify_fd = -1;
	}
}
