/* One line per event: RFC 3339 timestamp, level, message; one write(2). */
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

static const char *const log_level_names[] = { "ERROR", "WARN", "INFO",
	"DEBUG" };

void
log_init(enum log_level level)
{
	log_threshold = level;
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

static void log_vwrite(enum log_level, const char *, va_list, int)
    __attribute__((format(printf, 2, 0)));

static void
log_vwrite(enum log_level level, const char *fmt, va_list ap, int errnum)
{
	char line[4096];
	struct timeval tv;
	struct tm tm;
	size_t len;
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
	/* One write so that lines from one process never interleave; a
	 * failed or short log write is not worth failing anything for. */
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
