/*
 * A process's output: pipes read in the loop, the tail ring, followers,
 * and the log file (logfile.c) or superd's own stdout/stderr.
 *
 * Memory: each stream has one fixed 64 KiB ring and that ring is also the
 * read buffer: a read lands in the ring and is written to the file from
 * there before the next read, so nothing else is ever buffered. The
 * loop reads at most OUTPUT_TURN_MAX bytes per pipe per turn (fairness)
 * and reads only what it has written, so a child faster than the disk
 * fills the kernel pipe and blocks: backpressure, not buffering.
 *
 * Fast path: when nobody needs the bytes in user space (a plain log
 * file, no timestamps, no follower, the last write worked) the pipe is
 * spliced into the file (through logfile.c's relay pipe) and only the
 * last 64 KiB of each burst is read back from the page cache into the
 * ring; bytes a failed splice took but could not write are read from the
 * relay into the ring and counted lost.
 *
 * /dev/stdout targets (superd's fd 1 or 2, shared by every program) get
 * whole lines only: the unwritten tail of a line waits in the ring and
 * goes out with its newline, or alone once it fills the ring or at EOF.
 * Those writes block when the reader of fd 1 is slow (as supervisord);
 * an fd that says EAGAIN gets one second, then the bytes are dropped.
 *
 * Runs of a restart: the pipes of the previous run stay open and are read
 * until EOF (a daemonized grandchild may still hold them); a third run
 * drains what the oldest has and closes it, so at most two per stream.
 *
 * output_clear() truncates the current log files and leaves the
 * backups, like supervisord's clearLog (it removes only the main file).
 * Timestamps go to the file only; the ring and followers see the raw
 * bytes the program wrote.
 */
#include <sys/queue.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "fdio.h"
#include "log.h"
#include "logfile.h"
#include "output.h"
#include "handover.h"

#define OUTPUT_TURN_MAX	     (1024 * 1024) /* per pipe per loop turn */
/* With followers every byte is also JSON-encoded once per follower: a
 * smaller turn keeps the loop answering other clients meanwhile. */
#define OUTPUT_TURN_FOLLOWED (64 * 1024)
#define OUTPUT_PIPE_SIZE     (1024 * 1024) /* asked of the kernel pipe */
#define OUTPUT_DRAIN_MAX     (1024 * 1024) /* read from a pipe we close */
#define OUTPUT_WARN_INTERVAL 60	/* seconds between lost-bytes warnings */
#define OUTPUT_TSBUF_SIZE    (64 * 1024)
#define OUTPUT_TS_MAX	     48
#define OUTPUT_SINK_WAIT_MS  1000
#define OUTPUT_RETRY_MS	     100	/* pause after a failed write */

struct output_chan;

struct output_follower {
	TAILQ_ENTRY(output_follower) entry;
	struct output_chan *ch;
	output_data_cb cb;
	void	*arg;
	bool	 dead;
};

struct output_pipe {
	struct output_chan *ch;
	int	 fd;
	struct event *ev;
};

/* One stream (stdout or stderr) of a process. */
struct output_chan {
	struct output *out;
	const char *label;		/* "stdout" / "stderr" */
	bool	 active;		/* false: stderr with redirect_stderr */
	enum log_target target;
	char	*path;
	uint64_t maxbytes;
	int	 backups;
	bool	 timestamps;
	bool	 mkdirs;		/* the AUTO childlogdir: create it */
	struct logfile *file;		/* NULL: not open (yet, or refused) */
	bool	 nosplice;
	struct output_pipe *pipe;	/* the current run's */
	struct output_pipe *oldpipe;	/* the previous run's, until EOF */
	uint64_t total;			/* bytes ever received */
	uint64_t cleared;		/* output_clear() at this offset */
	uint64_t pending;		/* stdout targets: unwritten from here */
	bool	 line_start;		/* timestamps: next byte starts a line */
	char	*tsbuf;
	size_t	 tslen;
	uint64_t lost;
	uint64_t lost_unwarned;
	time_t	 warned;		/* monotonic seconds, 0: never */
	bool	 failing;
	bool	 write_failed;		/* since the last read */
	struct event *retry_ev;		/* ends the pause after a failure */
	TAILQ_HEAD(, output_follower) followers;
	int	 delivering;
	bool	 has_dead;
	char	 ring[OUTPUT_RING_SIZE];
};

struct output {
	struct event_base *base;
	char	*name;
	struct output_chan ch[2];
};

static void output_on_read(evutil_socket_t, short, void *);

static time_t
output_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static bool
output_is_sink(const struct output_chan *ch)
{
	return ch->target == LOG_TARGET_STDOUT ||
	    ch->target == LOG_TARGET_STDERR;
}

/* Bytes could not be written: count them, warn at most once a minute. */
static void
output_lose(struct output_chan *ch, uint64_t n, int err)
{
	time_t now;

	if (n == 0)
		return;
	ch->lost += n;
	ch->lost_unwarned += n;
	ch->failing = true;
	ch->write_failed = true;
	now = output_now();
	if (ch->warned != 0 && now - ch->warned < OUTPUT_WARN_INTERVAL)
		return;
	ch->warned = now;
	log_warn("program %s: %s log %s: %s; %llu bytes lost (%llu in all)",
	    ch->out->name, ch->label, ch->path ? ch->path : "-",
	    strerror(err), (unsigned long long)ch->lost_unwarned,
	    (unsigned long long)ch->lost);
	ch->lost_unwarned = 0;
}

static void
output_recovered(struct output_chan *ch)
{
	if (!ch->failing)
		return;
	ch->failing = false;
	log_info("program %s: %s log %s: writing again (%llu bytes lost "
	    "in all)", ch->out->name, ch->label, ch->path ? ch->path : "-",
	    (unsigned long long)ch->lost);
}

static void
output_file_write(struct output_chan *ch, const char *data, size_t len)
{
	size_t done;

	if (ch->file == NULL || len == 0)
		return;
	done = logfile_write(ch->file, data, len);
	if (done < len)
		output_lose(ch, len - done, errno);
	else
		output_recovered(ch);
}

/* "2026-11-26T12:00:00.123+01:00 " into buf; its length. */
static size_t
output_timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	long off;
	size_t n;
	char sign = '+';

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	off = tm.tm_gmtoff / 60;
	if (off < 0) {
		sign = '-';
		off = -off;
	}
	n += (size_t)snprintf(buf + n, len - n, ".%03ld%c%02ld:%02ld ",
	    ts.tv_nsec / 1000000, sign, off / 60, off % 60);
	return n;
}

static void
output_ts_flush(struct output_chan *ch)
{
	output_file_write(ch, ch->tsbuf, ch->tslen);
	ch->tslen = 0;
}

/* The file gets every line with a timestamp in front. */
static void
output_write_stamped(struct output_chan *ch, const char *data, size_t len)
{
	char ts[OUTPUT_TS_MAX];
	size_t tslen = 0, i = 0, seg, n;
	const char *nl;

	if (ch->tsbuf == NULL &&
	    (ch->tsbuf = malloc(OUTPUT_TSBUF_SIZE)) == NULL) {
		output_file_write(ch, data, len);
		return;
	}
	while (i < len) {
		if (ch->line_start) {
			if (tslen == 0)
				tslen = output_timestamp(ts, sizeof(ts));
			if (ch->tslen + tslen > OUTPUT_TSBUF_SIZE)
				output_ts_flush(ch);
			memcpy(ch->tsbuf + ch->tslen, ts, tslen);
			ch->tslen += tslen;
			ch->line_start = false;
		}
		nl = memchr(data + i, '\n', len - i);
		seg = nl != NULL ? (size_t)(nl - (data + i)) + 1 : len - i;
		if (nl != NULL)
			ch->line_start = true;
		while (seg > 0) {
			n = OUTPUT_TSBUF_SIZE - ch->tslen;
			if (n == 0) {
				output_ts_flush(ch);
				continue;
			}
			if (n > seg)
				n = seg;
			memcpy(ch->tsbuf + ch->tslen, data + i, n);
			ch->tslen += n;
			i += n;
			seg -= n;
		}
	}
	output_ts_flush(ch);
}

/* Write ring bytes [pending, end) to superd's fd 1 or 2 in one go. */
static void
output_sink_flush(struct output_chan *ch, uint64_t end)
{
	int fd = ch->target == LOG_TARGET_STDOUT ? STDOUT_FILENO :
	    STDERR_FILENO;
	struct iovec iov[2];
	struct pollfd pfd;
	size_t len, pos, first;
	ssize_t w;
	int niov = 1;

	if (end <= ch->pending)
		return;
	len = (size_t)(end - ch->pending);
	pos = (size_t)(ch->pending % OUTPUT_RING_SIZE);
	first = len < OUTPUT_RING_SIZE - pos ? len : OUTPUT_RING_SIZE - pos;
	iov[0].iov_base = ch->ring + pos;
	iov[0].iov_len = first;
	iov[1].iov_base = ch->ring;
	iov[1].iov_len = len - first;
	if (iov[1].iov_len > 0)
		niov = 2;
	ch->pending = end;
	while (len > 0) {
		w = writev(fd, iov, niov);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, OUTPUT_SINK_WAIT_MS) == 1)
				continue;
			errno = EAGAIN;
		}
		if (w <= 0) {
			output_lose(ch, len, w == 0 ? EIO : errno);
			return;
		}
		len -= (size_t)w;
		while (w > 0 && niov > 0) {
			size_t take = (size_t)w < iov[0].iov_len ?
			    (size_t)w : iov[0].iov_len;

			iov[0].iov_base = (char *)iov[0].iov_base + take;
			iov[0].iov_len -= take;
			w -= (ssize_t)take;
			if (iov[0].iov_len == 0) {
				iov[0] = iov[1];
				niov--;
			}
		}
	}
	output_recovered(ch);
}

static void
output_reap_followers(struct output_chan *ch)
{
	struct output_follower *f, *next;

	for (f = TAILQ_FIRST(&ch->followers); f != NULL; f = next) {
		next = TAILQ_NEXT(f, entry);
		if (f->dead) {
			TAILQ_REMOVE(&ch->followers, f, entry);
			free(f);
		}
	}
	ch->has_dead = false;
}

/* New bytes [total - len, total) sit in the ring at data: hand them on. */
static void
output_deliver(struct output_chan *ch, const char *data, size_t len)
{
	struct output_follower *f;
	const char *nl;

	if (!TAILQ_EMPTY(&ch->followers)) {
		ch->delivering++;
		TAILQ_FOREACH(f, &ch->followers, entry) {
			if (!f->dead)
				f->cb(data, len, f->arg);
		}
		if (--ch->delivering == 0 && ch->has_dead)
			output_reap_followers(ch);
	}
	switch (ch->target) {
	case LOG_TARGET_FILE:
		if (ch->file == NULL)
			break;
		if (ch->timestamps)
			output_write_stamped(ch, data, len);
		else
			output_file_write(ch, data, len);
		break;
	case LOG_TARGET_STDOUT:
	case LOG_TARGET_STDERR:
		nl = memrchr(data, '\n', len);
		if (nl != NULL)
			output_sink_flush(ch,
			    ch->total - len + (uint64_t)(nl - data) + 1);
		break;
	case LOG_TARGET_NONE:
		break;
	}
}

/* One read into the ring. Bytes read, 0 when the pipe is empty, -1 at
 * EOF or on error. */
static ssize_t
output_read_once(struct output_chan *ch, struct output_pipe *p, size_t budget)
{
	size_t pos, room, used;
	ssize_t n;

	pos = (size_t)(ch->total % OUTPUT_RING_SIZE);
	room = OUTPUT_RING_SIZE - pos;
	if (output_is_sink(ch)) {
		/* Never overwrite a line still waiting for its newline. */
		used = (size_t)(ch->total - ch->pending);
		if (used >= OUTPUT_RING_SIZE) {
			output_sink_flush(ch, ch->total);
			used = 0;
		}
		if (room > OUTPUT_RING_SIZE - used)
			room = OUTPUT_RING_SIZE - used;
	}
	if (room > budget)
		room = budget;
	n = fdio_read(p->fd, ch->ring + pos, room);
	if (n == 0)
		return 0;
	if (n < 0)
		return -1;
	ch->total += (uint64_t)n;
	output_deliver(ch, ch->ring + pos, (size_t)n);
	return n;
}

/* Copy the last len bytes of the file, just spliced, into the ring at
 * [total - len, total). */
static void
output_ring_readback(struct output_chan *ch, size_t len)
{
	size_t pos, first;

	pos = (size_t)((ch->total - len) % OUTPUT_RING_SIZE);
	first = len < OUTPUT_RING_SIZE - pos ? len : OUTPUT_RING_SIZE - pos;
	/* Unreadable: the tail shows NULs rather than stale bytes. */
	if (logfile_readback(ch->file, ch->ring + pos, first, len) == -1)
		memset(ch->ring + pos, 0, first);
	if (first < len && logfile_readback(ch->file, ch->ring, len - first,
	    len - first) == -1)
		memset(ch->ring, 0, len - first);
}

/* Splice while the file takes writes; after a failure read, so that the
 * ring keeps the real bytes of what is lost, until a write works again. */
static bool
output_can_splice(const struct output_chan *ch)
{
	return ch->target == LOG_TARGET_FILE && ch->file != NULL &&
	    !ch->nosplice && !ch->timestamps && !ch->failing &&
	    TAILQ_EMPTY(&ch->followers);
}

/* What logfile_splice() took but could not write: into the ring, lost. */
static size_t
output_spill(struct output_chan *ch, int err)
{
	size_t pos, n, got = 0;

	for (;;) {
		pos = (size_t)(ch->total % OUTPUT_RING_SIZE);
		n = logfile_spill(ch->ring + pos, OUTPUT_RING_SIZE - pos);
		if (n == 0)
			break;
		ch->total += n;
		got += n;
	}
	output_lose(ch, got, err);
	return got;
}

/* Splice a burst into the file; as output_read_once(). */
static ssize_t
output_splice(struct output_chan *ch, struct output_pipe *p, size_t budget)
{
	size_t moved, back, lost;
	int rc, err;

	rc = logfile_splice(ch->file, p->fd, budget, &moved);
	err = errno;
	if (moved > 0) {
		/* A burst never spans a rotation, so the current file holds
		 * all of it. */
		ch->total += moved;
		back = moved < OUTPUT_RING_SIZE ? moved : OUTPUT_RING_SIZE;
		output_ring_readback(ch, back);
	}
	lost = rc == -1 ? output_spill(ch, err) : 0;
	if (moved > 0 || lost > 0) {
		if (lost == 0)
			output_recovered(ch);
		return (ssize_t)(moved + lost);
	}
	errno = err;
	if (rc == 0)
		return -1;	/* EOF */
	if (errno == EAGAIN)
		return 0;
	if (errno == ENODATA)
		return output_read_once(ch, p, budget);
	if (errno == EINVAL || errno == ENOSYS || errno == EBADF)
		ch->nosplice = true;
	/* ENOSPC and friends: read the bytes, writing them counts them. */
	return output_read_once(ch, p, budget);
}

static void
output_pipe_close(struct output_pipe *p)
{
	struct output_chan *ch = p->ch;

	if (ch->pipe == p)
		ch->pipe = NULL;
	if (ch->oldpipe == p)
		ch->oldpipe = NULL;
	if (output_is_sink(ch) && ch->pipe == NULL && ch->oldpipe == NULL)
		output_sink_flush(ch, ch->total);
	event_free(p->ev);
	close(p->fd);
	free(p);
}

static void
output_on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct output_chan *ch = arg;

	(void)fd;
	(void)what;
	if (ch->pipe != NULL)
		event_add(ch->pipe->ev, NULL);
	if (ch->oldpipe != NULL)
		event_add(ch->oldpipe->ev, NULL);
}

/*
 * A write failed (disk full...): the bytes are dropped and counted, and
 * the pipes rest for OUTPUT_RETRY_MS before the next data is tried, so
 * that a noisy program on a full disk costs little CPU and is slowed by
 * its pipe at worst.
 */
static void
output_chan_pause(struct output_chan *ch)
{
	struct timeval tv = { 0, OUTPUT_RETRY_MS * 1000 };

	ch->write_failed = false;
	if (ch->retry_ev == NULL &&
	    (ch->retry_ev = evtimer_new(ch->out->base, output_on_retry,
	    ch)) == NULL)
		return;
	if (ch->pipe != NULL)
		event_del(ch->pipe->ev);
	if (ch->oldpipe != NULL)
		event_del(ch->oldpipe->ev);
	evtimer_add(ch->retry_ev, &tv);
}

static void
output_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct output_pipe *p = arg;
	struct output_chan *ch = p->ch;
	size_t budget = TAILQ_EMPTY(&ch->followers) ? OUTPUT_TURN_MAX
						    : OUTPUT_TURN_FOLLOWED;
	ssize_t n;

	(void)fd;
	(void)what;
	while (budget > 0) {
		if (output_can_splice(ch))
			n = output_splice(ch, p, budget);
		else
			n = output_read_once(ch, p, budget);
		if (n == 0)
			return;
		if (n < 0) {
			output_pipe_close(p);
			return;
		}
		if (ch->write_failed) {
			output_chan_pause(ch);
			return;
		}
		budget -= (size_t)n < budget ? (size_t)n : budget;
	}
}

/* Read what an old pipe holds now, then close it. */
static void
output_pipe_drain(struct output_pipe *p)
{
	size_t budget = OUTPUT_DRAIN_MAX;
	ssize_t n;

	while (budget > 0) {
		n = output_read_once(p->ch, p, budget);
		if (n <= 0)
			break;
		budget -= (size_t)n < budget ? (size_t)n : budget;
	}
	output_pipe_close(p);
}

static void
output_file_open(struct output_chan *ch)
{
	const char *why;

	if (!ch->active || ch->target != LOG_TARGET_FILE || ch->file != NULL)
		return;
	ch->file = logfile_open(ch->path, ch->maxbytes, ch->backups,
	    ch->mkdirs, &why);
	if (ch->file == NULL) {
		log_error("program %s: %s log %s: %s (%s); output kept in "
		    "memory only", ch->out->name, ch->label, ch->path, why,
		    strerror(errno));
		return;
	}
	ch->line_start = true;
}

/* Is path the AUTO name of this stream (childlogdir/NAME.out.log)? Then
 * a missing directory is created. */
static bool
output_is_auto(const struct proc_conf *pc, const char *path, int which)
{
	const char *base = strrchr(path, '/');
	const char *suffix = which == OUTPUT_STDOUT ? ".out.log" : ".err.log";
	size_t n;

	if (base == NULL)
		return false;
	base++;
	n = strlen(pc->name);
	if (strncmp(base, pc->name, n) == 0 && strcmp(base + n, suffix) == 0)
		return true;
	if (pc->program == NULL)
		return false;
	n = strlen(pc->program);
	return strncmp(base, pc->program, n) == 0 &&
	    strcmp(base + n, suffix) == 0;
}

/* Take the settings of one stream; true when the file must change. */
static bool
output_chan_conf(struct output_chan *ch, const struct proc_conf *pc,
    int which)
{
	const struct log_conf *lc = which == OUTPUT_STDOUT ? &pc->stdout_log :
	    &pc->stderr_log;
	bool active = which == OUTPUT_STDOUT || !pc->redirect_stderr;
	bool same;

	same = ch->active == active && ch->target == lc->target &&
	    (lc->target != LOG_TARGET_FILE ||
	    (ch->path != NULL && lc->path != NULL &&
	    strcmp(ch->path, lc->path) == 0));
	ch->maxbytes = lc->maxbytes;
	ch->backups = lc->backups;
	ch->timestamps = lc->timestamps;
	if (ch->file != NULL)
		logfile_set_limits(ch->file, ch->maxbytes, ch->backups);
	if (same)
		return false;
	if (output_is_sink(ch))
		output_sink_flush(ch, ch->total);
	free(ch->path);
	ch->path = NULL;
	if (lc->target == LOG_TARGET_FILE && lc->path != NULL &&
	    (ch->path = strdup(lc->path)) == NULL)
		log_error("program %s: out of memory", ch->out->name);
	ch->active = active;
	ch->target = ch->path == NULL && lc->target == LOG_TARGET_FILE ?
	    LOG_TARGET_NONE : lc->target;
	ch->mkdirs = ch->path != NULL && output_is_auto(pc, ch->path, which);
	ch->pending = ch->total;
	ch->nosplice = false;
	return true;
}

struct output *
output_new(struct event_base *base, const struct proc_conf *pc,
    const char *fullname)
{
	struct output *out;
	int i;

	if ((out = calloc(1, sizeof(*out))) == NULL)
		return NULL;
	if ((out->name = strdup(fullname)) == NULL) {
		free(out);
		return NULL;
	}
	out->base = base;
	for (i = 0; i < 2; i++) {
		struct output_chan *ch = &out->ch[i];

		ch->out = out;
		ch->label = i == OUTPUT_STDOUT ? "stdout" : "stderr";
		ch->target = LOG_TARGET_NONE;
		ch->line_start = true;
		TAILQ_INIT(&ch->followers);
		output_chan_conf(ch, pc, i);
	}
	return out;
}

void
output_free(struct output *out)
{
	struct output_follower *f;
	int i;

	if (out == NULL)
		return;
	for (i = 0; i < 2; i++) {
		struct output_chan *ch = &out->ch[i];

		if (ch->oldpipe != NULL)
			output_pipe_close(ch->oldpipe);
		if (ch->pipe != NULL)
			output_pipe_close(ch->pipe);
		/* Tell each follower it ends (data NULL): its owner must
		 * forget it, not unfollow it. */
		while ((f = TAILQ_FIRST(&ch->followers)) != NULL) {
			TAILQ_REMOVE(&ch->followers, f, entry);
			if (!f->dead)
				f->cb(NULL, 0, f->arg);
			free(f);
		}
		if (ch->retry_ev != NULL)
			event_free(ch->retry_ev);
		logfile_close(ch->file);
		free(ch->path);
		free(ch->tsbuf);
	}
	free(out->name);
	free(out);
}

void
output_set_conf(struct output *out, const struct proc_conf *pc)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct output_chan *ch = &out->ch[i];
		bool was_open = ch->file != NULL;

		if (!output_chan_conf(ch, pc, i))
			continue;
		if (ch->tslen > 0)
			output_ts_flush(ch);
		logfile_close(ch->file);
		ch->file = NULL;
		if (was_open)
			output_file_open(ch);
	}
}

static int
output_chan_attach(struct output_chan *ch, int fd)
{
	struct output_pipe *p;

	if (ch->oldpipe != NULL)
		output_pipe_drain(ch->oldpipe);
	if (ch->pipe != NULL) {
		ch->oldpipe = ch->pipe;
		ch->pipe = NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto fail;
	p->ch = ch;
	p->fd = fd;
	if (fdio_set_nonblock(fd, 1) == -1)
		goto fail;
	/* A bigger pipe means fewer wakeups; the memory is the kernel's
	 * and bounded by pipe-max-size. */
	(void)fcntl(fd, F_SETPIPE_SZ, OUTPUT_PIPE_SIZE);
	p->ev = event_new(ch->out->base, fd, EV_READ | EV_PERSIST,
	    output_on_read, p);
	if (p->ev == NULL || event_add(p->ev, NULL) == -1)
		goto fail;
	ch->pipe = p;
	return 0;
fail:
	log_syserr("program %s: %s pipe", ch->out->name, ch->label);
	if (p != NULL && p->ev != NULL)
		event_free(p->ev);
	free(p);
	close(fd);
	return -1;
}

int
output_attach(struct output *out, int out_fd, int err_fd)
{
	int i, rc = 0;

	for (i = 0; i < 2; i++)
		output_file_open(&out->ch[i]);
	if (out_fd != -1 && output_chan_attach(&out->ch[0], out_fd) == -1)
		rc = -1;
	if (err_fd != -1 && output_chan_attach(&out->ch[1], err_fd) == -1)
		rc = -1;
	return rc;
}

int
output_tail(struct output *out, enum output_stream which, size_t bytes,
    char **data, size_t *len, uint64_t *offset)
{
	struct output_chan *ch = &out->ch[which];
	uint64_t start;
	size_t n, pos, first;
	char *buf;

	start = ch->total > OUTPUT_RING_SIZE ? ch->total - OUTPUT_RING_SIZE :
	    0;
	if (start < ch->cleared)
		start = ch->cleared;
	n = (size_t)(ch->total - start);
	if (n > bytes)
		n = bytes;
	if ((buf = malloc(n + 1)) == NULL)
		return -1;
	pos = (size_t)((ch->total - n) % OUTPUT_RING_SIZE);
	first = n < OUTPUT_RING_SIZE - pos ? n : OUTPUT_RING_SIZE - pos;
	memcpy(buf, ch->ring + pos, first);
	memcpy(buf + first, ch->ring, n - first);
	buf[n] = '\0';
	*data = buf;
	*len = n;
	*offset = ch->total;
	return 0;
}

struct output_follower *
output_follow(struct output *out, enum output_stream which, output_data_cb cb,
    void *arg)
{
	struct output_follower *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->ch = &out->ch[which];
	f->cb = cb;
	f->arg = arg;
	TAILQ_INSERT_TAIL(&f->ch->followers, f, entry);
	return f;
}

void
output_unfollow(struct output_follower *f)
{
	struct output_chan *ch;

	if (f == NULL)
		return;
	ch = f->ch;
	if (ch->delivering > 0) {
		f->dead = true;
		ch->has_dead = true;
		return;
	}
	TAILQ_REMOVE(&ch->followers, f, entry);
	free(f);
}

int
output_clear(struct output *out)
{
	int i, rc = 0;

	for (i = 0; i < 2; i++) {
		struct output_chan *ch = &out->ch[i];

		ch->cleared = ch->total;
		if (ch->file != NULL && logfile_truncate(ch->file) == -1) {
			log_syserr("program %s: %s log %s: truncate",
			    out->name, ch->label, ch->path);
			rc = -1;
		}
	}
	return rc;
}

int
output_reopen(struct output *out)
{
	const char *why;
	int i, rc = 0;

	for (i = 0; i < 2; i++) {
		struct output_chan *ch = &out->ch[i];

		if (!ch->active || ch->target != LOG_TARGET_FILE)
			continue;
		if (ch->file == NULL) {
			if (ch->pipe == NULL && ch->oldpipe == NULL)
				continue;	/* opened at the next start */
			output_file_open(ch);
			if (ch->file == NULL)
				rc = -1;
			continue;
		}
		if (logfile_reopen(ch->file, &why) == -1) {
			log_error("program %s: %s log %s: reopen: %s (%s); "
			    "writing on to the old file", out->name,
			    ch->label, ch->path, why, strerror(errno));
			rc = -1;
		}
	}
	return rc;
}

uint64_t
output_lost(const struct output *out, enum output_stream which)
{
	return out->ch[which].lost;
}

/* ---- reexec (SPEC 13): this room's state across an exec ---- */

/*
 * What a stream needs to go on as if nothing happened: its pipes (unread
 * bytes wait in the kernel), the counters, the ring (tail, and for
 * superd's stdout the start of a line not written yet, so that it is
 * written whole later) and whether the next byte starts a line (so that
 * a timestamp is not put in the middle of one). Log files are opened
 * again in append mode: every byte read was written before the next
 * read, so the file has all of it.
 */
static json_t *
output_chan_save(struct output_chan *ch)
{
	size_t n, pos, first;
	char *buf;
	json_t *o, *hex;

	n = ch->total < OUTPUT_RING_SIZE ? (size_t)ch->total :
	    OUTPUT_RING_SIZE;
	if ((buf = malloc(n + 1)) == NULL)
		return NULL;
	pos = (size_t)((ch->total - n) % OUTPUT_RING_SIZE);
	first = n < OUTPUT_RING_SIZE - pos ? n : OUTPUT_RING_SIZE - pos;
	memcpy(buf, ch->ring + pos, first);
	memcpy(buf + first, ch->ring, n - first);
	hex = handover_hex_new(buf, n);
	free(buf);
	o = json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:b, s:b, s:o*}",
	    "fd", handover_keep_fd(ch->pipe != NULL ? ch->pipe->fd : -1),
	    "oldfd", handover_keep_fd(ch->oldpipe != NULL ? ch->oldpipe->fd :
	    -1),
	    "total", (json_int_t)ch->total,
	    "cleared", (json_int_t)ch->cleared,
	    "pending", (json_int_t)ch->pending,
	    "lost", (json_int_t)ch->lost,
	    "line_start", ch->line_start,
	    "file_open", ch->file != NULL,
	    "ring", hex);
	return o;
}

json_t *
output_save(struct output *out)
{
	json_t *a;
	int i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < 2; i++) {
		if (out->ch[i].tslen > 0)
			output_ts_flush(&out->ch[i]);
		if (json_array_append_new(a, output_chan_save(&out->ch[i])) ==
		    -1) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static uint64_t
output_u64_get(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

static void
output_chan_restore(struct output_chan *ch, const json_t *o)
{
	char *buf;
	size_t n = 0, pos, first;
	int fd, oldfd;

	ch->total = output_u64_get(o, "total");
	ch->cleared = output_u64_get(o, "cleared");
	ch->pending = output_u64_get(o, "pending");
	ch->lost = output_u64_get(o, "lost");
	if ((buf = malloc(OUTPUT_RING_SIZE)) != NULL &&
	    handover_hex_get(o, "ring", buf, OUTPUT_RING_SIZE, &n) == 0 &&
	    n <= ch->total) {
		pos = (size_t)((ch->total - n) % OUTPUT_RING_SIZE);
		first = n < OUTPUT_RING_SIZE - pos ? n :
		    OUTPUT_RING_SIZE - pos;
		memcpy(ch->ring + pos, buf, first);
		memcpy(ch->ring, buf + first, n - first);
	} else
		n = 0;
	free(buf);
	/* What the ring cannot give back is not written again. */
	if (ch->pending < ch->total - n)
		ch->pending = ch->total - n;
	if (ch->cleared > ch->total)
		ch->cleared = ch->total;
	if (json_is_true(json_object_get(o, "file_open")))
		output_file_open(ch);
	/* After the open, which would say a line starts. */
	ch->line_start = !json_is_false(json_object_get(o, "line_start"));
	/* The old run's pipe first: attaching the current one moves it to
	 * oldpipe, where it is read until EOF as before. */
	oldfd = handover_take_fd(o, "oldfd");
	fd = handover_take_fd(o, "fd");
	if (oldfd != -1)
		(void)output_chan_attach(ch, oldfd);
	if (fd != -1)
		(void)output_chan_attach(ch, fd);
}

int
output_restore(struct output *out, const json_t *a)
{
	int i;

	if (!json_is_array(a) || json_array_size(a) != 2)
		return -1;
	for (i = 0; i < 2; i++)
		output_chan_restore(&out->ch[i], json_array_get(a, (size_t)i));
	return 0;
}
