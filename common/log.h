/* Leveled, timestamped logging shared by superd and superctl. */
#ifndef SUPERD_LOG_H
#define SUPERD_LOG_H

#include <stdarg.h>
#include <stddef.h>

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

/*
 * The daemon's own log kept in memory (the last LOG_RING_SIZE bytes of
 * formatted lines, as written to the file/stderr), for `superctl
 * maintail` and supervisord's /mainlogtail and readLog. Off until
 * log_ring_enable() (superctl never keeps one).
 */
#define LOG_RING_SIZE	(64 * 1024)
void	log_ring_enable(void);
/* The last `bytes` (at most the ring): new malloc'd *data, *len bytes,
 * and the total bytes logged so far as *offset. 0 or -1. */
int	log_ring_tail(size_t bytes, char **data, size_t *len,
	    unsigned long long *offset);
/* After a reexec: the old image's last `len` bytes, of `old_total`
 * logged, go before what this image logged so far, and the offsets
 * carry on from old_total. 0 or -1. */
int	log_ring_restore(const char *old, size_t len,
	    unsigned long long old_total);
/* Every whole line logged from now on goes to cb (from inside the log
 * call: the callback must not log). NULL on allocation failure. */
struct log_follower;
typedef void (*log_follow_cb)(const char *line, size_t len, void *arg);
struct log_follower *log_follow(log_follow_cb, void *arg);
/* NULL is a no-op; safe from inside the callback. */
void	log_unfollow(struct log_follower *);

#endif
