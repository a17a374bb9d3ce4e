/*
 * What a room needs to hand its state to the next image of superd
 * (reexec.c): the fds that must survive the exec, timers as time left,
 * bytes as hex in the JSON document. Kept apart from reexec.c, which
 * calls every room's x_save/x_restore, so that the rooms depend on this
 * small file and not back on reexec (no include cycle).
 */
#include <sys/time.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>

#include <event2/event.h>
#include <event2/util.h>
#include <jansson.h>

#include "handover.h"

static int	*handover_fds;		/* handed over by the next exec */
static size_t	 handover_nfds;
static bool	 handover_lost;		/* one could not be noted: refuse */


int
handover_keep_fd(int fd)
{
	int *v;

	if (fd < 0)
		return -1;
	if (handover_nfds % 64 == 0) {
		v = realloc(handover_fds, (handover_nfds + 64) * sizeof(*v));
		if (v == NULL) {
			handover_lost = true;	/* reexec refuses then */
			return fd;
		}
		handover_fds = v;
	}
	handover_fds[handover_nfds++] = fd;
	return fd;
}

int
handover_take_fd(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	json_int_t fd;
	int fl;

	if (!json_is_integer(v) || (fd = json_integer_value(v)) < 3 ||
	    fd > INT_MAX)
		return -1;
	if ((fl = fcntl((int)fd, F_GETFD)) == -1)
		return -1;
	(void)fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC);
	return (int)fd;
}

long
handover_timer_left(const struct event *ev)
{
	struct timeval tv, now;
	long ms;

	if (ev == NULL || !event_pending(ev, EV_TIMEOUT, &tv))
		return -1;
	evutil_gettimeofday(&now, NULL);
	ms = (long)(tv.tv_sec - now.tv_sec) * 1000 +
	    (long)(tv.tv_usec - now.tv_usec) / 1000;
	return ms < 0 ? 0 : ms;
}

json_t *
handover_hex_new(const char *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *s;
	size_t i;
	json_t *j;

	if ((s = malloc(len * 2 + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		s[2 * i] = digits[(unsigned char)data[i] >> 4];
		s[2 * i + 1] = digits[(unsigned char)data[i] & 15];
	}
	s[2 * len] = '\0';
	j = json_stringn(s, len * 2);
	free(s);
	return j;
}

static int
handover_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
handover_hex_get(const json_t *obj, const char *key, char *buf, size_t max,
    size_t *len)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;
	size_t n, i;
	int hi, lo;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n % 2 != 0 || n / 2 > max)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if ((hi = handover_nibble(s[2 * i])) < 0 ||
		    (lo = handover_nibble(s[2 * i + 1])) < 0)
			return -1;
		buf[i] = (char)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

void
handover_set_cloexec(bool on)
{
	size_t i;
	int fl;

	for (i = 0; i < handover_nfds; i++) {
		if ((fl = fcntl(handover_fds[i], F_GETFD)) == -1)
			continue;
		(void)fcntl(handover_fds[i], F_SETFD, on ? fl | FD_CLOEXEC :
		    fl & ~FD_CLOEXEC);
	}
}

size_t
handover_count(void)
{
	return handover_nfds;
}

bool
handover_failed(void)
{
	return handover_lost;
}

void
handover_reset(void)
{
	handover_nfds = 0;
	handover_lost = false;
}
