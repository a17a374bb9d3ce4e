/* Leveled, timestamped logging shared by superd and superctl. */
#ifndef SUPERD_LOG_H
#define SUPERD_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

/* Log to stderr at `level` until log_open_file() says otherwise. */
void log_init(enum log_level level);
/* Set the threshold. */
void log_set_level(enum log_level level);
/* Parse "debug", "info", "warn"/"warning", "error"; -1 if unknown. */
int log_level_parse(const char *name);
/* Send lines to `path` (append, created 0640); NULL goes back to stderr.
 * Called again with the same path it reopens (logrotate). 0 or -1. */
int log_open_file(const char *path);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_error with ": strerror(errno)" appended; errno is kept. */
void log_syserr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up only: log and exit(1). fatal() appends strerror(errno). */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
