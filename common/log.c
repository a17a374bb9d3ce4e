/*
 * One line per event: RFC 3339 timestamp, level, message; one write(2).
 * When stderr is the journal, "<N>" syslog priority instead of our own
 * timestamp (journald stamps lines itself and files them by priority).
 * superd also keeps the last lines in memory for `superctl maintail`.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level log_threshold = LOG_LEVEL_INFO;
static int log_fd = STDERR_FILENO;
static char *log_path;
/* stderr is journald's stream socket (JOURNAL_STREAM says which). */
static int log_journal;

/* The ring: ring_total bytes were ever logged, the last ones at
 * log_ring[(ring_total - k) % LOG_RING_SIZE]. */
static char *log_ring;
static unsigned long long log_ring_total;

struct log_follower {
	log_follow_cb	 cb;
	void		*arg;
	int		 dead;	/* unfollowed during delivery */
	struct log_follower *next;
};
static struct log_follower *log_followers;
static int log_delivering;

static const char *const log_level_names[] = { "ERROR", "WARN", "INFO",
	"DEBUG" };

/* Whether fd 2 is the stream JOURNAL_STREAM ("dev:ino") names. */
static int
log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(enum log_level level)
{
	log_threshold = level;
	log_journal = log_stderr_is_journal();
}

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

int
log_level_parse(const char *name)
{
	if (strcasecmp(name, "error") == 0 || strcasecmp(name, "critical") == 0)
		return LOG_LEVEL_ERROR;
	if (strcasecmp(name, "warn") == 0 || strcasecmp(name, "warning") == 0)
		return LOG_LEVEL_WARN;
	if (strcasecmp(name, "info") == 0)
		return LOG_LEVEL_INFO;
	if (strcasecmp(name, "debug") == 0 || strcasecmp(name, "trace") == 0 ||
	    strcasecmp(name, "blather") == 0)
		return LOG_LEVEL_DEBUG;
	return -1;
}

int
log_open_file(const char *path)
{
	int fd;
	char *copy;

	if (path == NULL) {
		if (log_fd != STDERR_FILENO)
			close(log_fd);
		log_fd = STDERR_FILENO;
		free(log_path);
		log_path = NULL;
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0640);
	if (fd == -1)
		return -1;
	copy = strdup(path);
	if (copy == NULL) {
		close(fd);
		return -1;
	}
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	free(log_path);
	log_path = copy;
	return 0;
}

void
log_ring_enable(void)
{
	if (log_ring == NULL)
		log_ring = calloc(1, LOG_RING_SIZE);
}

int
log_ring_tail(size_t bytes, char **data, size_t *len,
    unsigned long long *offset)
{
	size_t have, start, first;
	char *buf;

	have = log_ring_total < LOG_RING_SIZE ? (size_t)log_ring_total :
	    LOG_RING_SIZE;
	if (bytes > have)
		bytes = have;
	if ((buf = malloc(bytes + 1)) == NULL)
		return -1;
	start = (size_t)((log_ring_total - bytes) % LOG_RING_SIZE);
	first = LOG_RING_SIZE - start < bytes ? LOG_RING_SIZE - start : bytes;
	if (bytes > 0) {
		memcpy(buf, log_ring + start, first);
		memcpy(buf + first, log_ring, bytes - first);
	}
	buf[bytes] = '\0';
	*data = buf;
	*len = bytes;
	*offset = log_ring_total;
	return 0;
}

static void
log_ring_put(const char *data, size_t len)
{
	size_t at, n, done;

	for (done = 0; done < len; done += n) {
		at = (size_t)((log_ring_total + done) % LOG_RING_SIZE);
		n = LOG_RING_SIZE - at < len - done ? LOG_RING_SIZE - at :
		    len - done;
		memcpy(log_ring + at, data + done, n);
	}
	log_ring_total += len;
}

int
log_ring_restore(const char *old, size_t len, unsigned long long old_total)
{
	unsigned long long since;
	char *cur;
	size_t curlen;

	if (log_ring == NULL || len > old_total)
		return -1;
	if (log_ring_tail(LOG_RING_SIZE, &cur, &curlen, &since) == -1)
		return -1;
	if (len > LOG_RING_SIZE) {
		old += len - LOG_RING_SIZE;
		len = LOG_RING_SIZE;
	}
	log_ring_total = old_total - len;
	log_ring_put(old, len);
	log_ring_put(cur, curlen);
	free(cur);
	return 0;
}

struct log_follower *
log_follow(log_follow_cb cb, void *arg)
{
	struct log_follower *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->cb = cb;
	f->arg = arg;
	f->next = log_followers;
	log_followers = f;
	return f;
}

void
log_unfollow(struct log_follower *f)
{
	struct log_follower **pp;

	if (f == NULL)
		return;
	/* Inside delivery the list is being walked: unlink afterwards. */
	if (log_delivering) {
		f->dead = 1;
		return;
	}
	for (pp = &log_followers; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	free(f);
}

/* Keep one whole line and hand it to the followers. */
static void
log_keep(const char *line, size_t len)
{
	struct log_follower *f, **pp;

	if (log_ring == NULL)
		return;
	log_ring_put(line, len);
	/* A callback that logs would recurse: it is documented not to. */
	if (log_delivering)
		return;
	log_delivering = 1;
	for (f = log_followers; f != NULL; f = f->next)
		if (!f->dead)
			f->cb(line, len, f->arg);
	log_delivering = 0;
	for (pp = &log_followers; *pp != NULL;) {
		f = *pp;
		if (f->dead) {
			*pp = f->next;
			free(f);
		} else
			pp = &f->next;
	}
}

static void log_vwrite(enum log_level, const char *, va_list, int)
    __attribute__((format(printf, 2, 0)));

static void
log_vwrite(enum log_level level, const char *fmt, va_list ap, int errnum)
{
	char line[4096];
	struct timeval tv;
	struct tm tm;
	size_t len, stamp;
	int n;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line + len, sizeof(line) - len, ".%03ld", (long)tv.tv_usec / 1000);
	len += (size_t)n;
	len += strftime(line + len, sizeof(line) - len, "%z", &tm);
	/* RFC 3339 wants +hh:mm, strftime gives +hhmm. */
	if (len >= 5 && len + 1 < sizeof(line)) {
		memmove(line + len - 1, line + len - 2, 2);
		line[len - 2] = ':';
		len++;
	}
	n = snprintf(line + len, sizeof(line) - len, " %s ",
	    log_level_names[level]);
	len += (size_t)n;
	stamp = len;
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (n < 0)
		n = 0;
	len = (size_t)n + len >= sizeof(line) ? sizeof(line) - 1 : len + (size_t)n;
	if (errnum != 0 && len < sizeof(line) - 1) {
		n = snprintf(line + len, sizeof(line) - len, ": %s",
		    strerror(errnum));
		len = (size_t)n + len >= sizeof(line) ? sizeof(line) - 1
						      : len + (size_t)n;
	}
	/* Control characters from program names or paths never reach a
	 * terminal raw. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = '?';
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	log_keep(line, len);
	/* One write so that lines from one process never interleave; a
	 * failed or short log write is not worth failing anything for. */
	if (log_journal && log_fd == STDERR_FILENO) {
		/* journald stamps the line; the level becomes its priority
		 * (err, warning, info, debug) so `journalctl -p` filters. */
		static const char prio[] = { '3', '4', '6', '7' };
		char jline[sizeof(line) + 4];

		jline[0] = '<';
		jline[1] = prio[level];
		jline[2] = '>';
		memcpy(jline + 3, line + stamp, len - stamp);
		if (write(log_fd, jline, 3 + len - stamp) < 0)
			return;
		return;
	}
	if (write(log_fd, line, len) < 0)
		return;
}

#define LOG_FN(fn, level)                                   \
	void fn(const char *fmt, ...)                       \
	{                                                   \
		va_list ap;                                 \
		int saved = errno;                          \
		if ((level) > log_threshold)                \
			return;                             \
		va_start(ap, fmt);                          \
		log_vwrite((level), fmt, ap, 0);            \
		va_end(ap);                                 \
		errno = saved;                              \
	}

LOG_FN(log_error, LOG_LEVEL_ERROR)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

void
log_syserr(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, fmt, ap, saved);
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, fmt, ap, saved);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
