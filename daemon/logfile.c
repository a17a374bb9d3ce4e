/*
 * The rotating log file writer.
 *
 * Safety (RELIABILITY.md R05): the directory is opened O_DIRECTORY |
 * O_NOFOLLOW, the file with openat() on it and O_NOFOLLOW (plus O_NONBLOCK
 * and O_NOCTTY so that a planted FIFO or tty can neither hang nor adopt
 * us), and the result must be a regular file with exactly one link.
 * Everything after that (rotation, truncation) goes through the two fds,
 * never through the path again.
 *
 * Rotation creates the next file first (".NAME.new", O_EXCL) and only
 * then renames: a full disk or inode table that refuses the new file
 * leaves everything as it was and we keep writing to the current file.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "logfile.h"

#define LOGFILE_WARN_INTERVAL 60	/* seconds between rotation warnings */
#define LOGFILE_RELAY_SIZE    (1024 * 1024) /* as daemon/output.c's pipes */

struct logfile {
	char	*path;
	char	*dir;
	char	*base;
	int	 dirfd;
	int	 fd;
	uint64_t maxbytes;
	int	 backups;
	uint64_t size;
	bool	 mkdirs;
	time_t	 warned;	/* last rotation warning, monotonic seconds */
};

static time_t
logfile_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* mkdir -p of an absolute path; existing components are fine. */
static int
logfile_mkdirs(const char *dir)
{
	char buf[PATH_MAX];
	char *p;

	if (strlen(dir) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, dir);
	for (p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, 0750) == -1 && errno != EEXIST)
			return -1;
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

/* Open dirfd and the file in it, check what we got. */
static int
logfile_open_fds(struct logfile *lf, int *dirfdp, int *fdp, uint64_t *sizep,
    const char **why)
{
	struct stat st;
	int dirfd, fd;

	dirfd = open(lf->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd == -1 && errno == ENOENT && lf->mkdirs) {
		if (logfile_mkdirs(lf->dir) == -1) {
			*why = "cannot create its directory";
			return -1;
		}
		dirfd = open(lf->dir,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (dirfd == -1) {
		*why = errno == ELOOP || errno == ENOTDIR ?
		    "its directory is a symbolic link or not a directory" :
		    "cannot open its directory";
		if (errno == ELOOP)
			errno = ENOTDIR;
		return -1;
	}
	/* Read access only serves logfile_readback(); not required. */
	fd = openat(dirfd, lf->base, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0640);
	if (fd == -1 && errno == EACCES)
		fd = openat(dirfd, lf->base, O_WRONLY | O_APPEND | O_CREAT |
		    O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0640);
	if (fd == -1) {
		int saved = errno;

		*why = errno == ELOOP ? "refused: it is a symbolic link" :
		    errno == ENXIO ? "refused: not a regular file" :
		    "cannot open it";
		close(dirfd);
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*why = "cannot stat it";
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "refused: not a regular file";
		errno = EPERM;
		goto fail;
	}
	if (st.st_nlink != 1) {
		*why = "refused: it has more than one hard link";
		errno = EPERM;
		goto fail;
	}
	*dirfdp = dirfd;
	*fdp = fd;
	*sizep = (uint64_t)st.st_size;
	return 0;
fail:;
	int saved = errno;
	close(fd);
	close(dirfd);
	errno = saved;
	return -1;
}

struct logfile *
logfile_open(const char *path, uint64_t maxbytes, int backups, bool mkdirs,
    const char **why)
{
	struct logfile *lf;
	const char *slash;

	*why = "out of memory";
	slash = strrchr(path, '/');
	if (path[0] != '/' || slash == NULL || slash[1] == '\0') {
		*why = "not an absolute file path";
		errno = EINVAL;
		return NULL;
	}
	if ((lf = calloc(1, sizeof(*lf))) == NULL)
		return NULL;
	lf->path = strdup(path);
	lf->dir = slash == path ? strdup("/") :
	    strndup(path, (size_t)(slash - path));
	lf->base = strdup(slash + 1);
	if (lf->path == NULL || lf->dir == NULL || lf->base == NULL)
		goto fail;
	lf->maxbytes = maxbytes;
	lf->backups = backups < 0 ? 0 : backups;
	lf->mkdirs = mkdirs;
	if (logfile_open_fds(lf, &lf->dirfd, &lf->fd, &lf->size, why) == -1)
		goto fail;
	return lf;
fail:;
	int saved = errno;
	free(lf->path);
	free(lf->dir);
	free(lf->base);
	free(lf);
	errno = saved;
	return NULL;
}

void
logfile_close(struct logfile *lf)
{
	if (lf == NULL)
		return;
	close(lf->fd);
	close(lf->dirfd);
	free(lf->path);
	free(lf->dir);
	free(lf->base);
	free(lf);
}

void
logfile_set_limits(struct logfile *lf, uint64_t maxbytes, int backups)
{
	lf->maxbytes = maxbytes;
	lf->backups = backups < 0 ? 0 : backups;
}

uint64_t
logfile_size(const struct logfile *lf)
{
	return lf->size;
}

const char *
logfile_path(const struct logfile *lf)
{
	return lf->path;
}

static void
logfile_warn_rotate(struct logfile *lf, const char *what)
{
	time_t now = logfile_now();

	if (lf->warned != 0 && now - lf->warned < LOGFILE_WARN_INTERVAL)
		return;
	lf->warned = now;
	log_warn("log %s: rotation failed: %s: %s; writing on in the "
	    "current file", lf->path, what, strerror(errno));
}

/* name.N into buf; -1 if it does not fit. */
static int
logfile_backup_name(const struct logfile *lf, int n, char *buf, size_t len)
{
	int r;

	if (n == 0)
		r = snprintf(buf, len, "%s", lf->base);
	else if (n < 0)
		r = snprintf(buf, len, ".%s.new", lf->base);
	else
		r = snprintf(buf, len, "%s.%d", lf->base, n);
	if (r < 0 || (size_t)r >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * Rotate: with backups, NAME -> NAME.1 -> ... -> NAME.backups (the old
 * NAME.backups is replaced, so removed); without, truncate. 0 or -1 (the
 * current file stays in use).
 */
static int
logfile_rotate(struct logfile *lf)
{
	char tmp[NAME_MAX + 16], from[NAME_MAX + 16], to[NAME_MAX + 16];
	struct stat st;
	int fd, i;

	if (lf->backups == 0) {
		if (ftruncate(lf->fd, 0) == -1) {
			logfile_warn_rotate(lf, "truncate");
			return -1;
		}
		lf->size = 0;
		return 0;
	}
	if (logfile_backup_name(lf, -1, tmp, sizeof(tmp)) == -1 ||
	    logfile_backup_name(lf, 0, from, sizeof(from)) == -1 ||
	    logfile_backup_name(lf, 1, to, sizeof(to)) == -1) {
		logfile_warn_rotate(lf, "name");
		return -1;
	}
	/* A stale .new (crash, or planted) is only a name to us: unlink it. */
	for (i = 0; i < 2; i++) {
		fd = openat(lf->dirfd, tmp, O_RDWR | O_APPEND | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
		    0640);
		if (fd != -1 || errno != EEXIST)
			break;
		unlinkat(lf->dirfd, tmp, 0);
	}
	if (fd == -1) {
		logfile_warn_rotate(lf, "create");
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1) {
		logfile_warn_rotate(lf, "new file");
		goto fail;
	}
	/*
	 * Remove the oldest first so that no rename below replaces a file:
	 * ext4 (auto_da_alloc) starts writeback of a file renamed over
	 * another, which made every rotation flush 50 MB synchronously.
	 */
	if (logfile_backup_name(lf, lf->backups, from, sizeof(from)) == 0 &&
	    unlinkat(lf->dirfd, from, 0) == -1 && errno != ENOENT)
		logfile_warn_rotate(lf, "remove oldest backup");
	if (logfile_backup_name(lf, 0, from, sizeof(from)) == -1) {
		logfile_warn_rotate(lf, "name");
		goto fail;
	}
	for (i = lf->backups - 1; i >= 1; i--) {
		char a[NAME_MAX + 16], b[NAME_MAX + 16];

		if (logfile_backup_name(lf, i, a, sizeof(a)) == -1 ||
		    logfile_backup_name(lf, i + 1, b, sizeof(b)) == -1)
			continue;
		if (renameat(lf->dirfd, a, lf->dirfd, b) == -1 &&
		    errno != ENOENT)
			logfile_warn_rotate(lf, "rename backup");
	}
	if (renameat(lf->dirfd, from, lf->dirfd, to) == -1) {
		logfile_warn_rotate(lf, "rename");
		goto fail;
	}
	if (renameat(lf->dirfd, tmp, lf->dirfd, from) == -1) {
		logfile_warn_rotate(lf, "rename new file");
		renameat(lf->dirfd, to, lf->dirfd, from);
		goto fail;
	}
	close(lf->fd);
	lf->fd = fd;
	lf->size = 0;
	return 0;
fail:
	close(fd);
	unlinkat(lf->dirfd, tmp, 0);
	return -1;
}

/*
 * How much of `want` may go into the file now, rotating first when it is
 * full. *rotfail stops retrying a failed rotation within one call.
 */
static size_t
logfile_room(struct logfile *lf, size_t want, bool *rotfail)
{
	if (lf->maxbytes == 0 || *rotfail)
		return want;
	if (lf->size >= lf->maxbytes && logfile_rotate(lf) == -1) {
		*rotfail = true;
		return want;
	}
	if (want > lf->maxbytes - lf->size)
		want = (size_t)(lf->maxbytes - lf->size);
	return want;
}

size_t
logfile_write(struct logfile *lf, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0, n;
	bool rotfail = false;
	ssize_t w;

	while (done < len) {
		n = logfile_room(lf, len - done, &rotfail);
		w = write(lf->fd, p + done, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return done;
		if (w == 0) {
			errno = EIO;
			return done;
		}
		done += (size_t)w;
		lf->size += (uint64_t)w;
	}
	return done;
}

/*
 * The relay: one pipe of our own, shared by every log file, always empty
 * between calls. splice(2) into a file copies under the source pipe's
 * lock, and the writing program's write(2) into its pipe copies under the
 * same lock, so splicing the program's pipe straight into the file
 * serializes the two copies (the daemon spun on that lock). Moving the
 * pages into the relay first (no copy) frees the program's pipe at once
 * and lets both copies run side by side.
 */
static int logfile_relay_rd = -1, logfile_relay_wr = -1;
static bool logfile_relay_broken;

static bool
logfile_relay_ready(void)
{
	int fds[2];

	if (logfile_relay_rd != -1)
		return true;
	if (logfile_relay_broken)
		return false;
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == -1) {
		logfile_relay_broken = true;
		return false;
	}
	(void)fcntl(fds[1], F_SETPIPE_SZ, LOGFILE_RELAY_SIZE);
	logfile_relay_rd = fds[0];
	logfile_relay_wr = fds[1];
	return true;
}

size_t
logfile_spill(void *buf, size_t len)
{
	ssize_t r;

	if (logfile_relay_rd == -1 || len == 0)
		return 0;
	do
		r = read(logfile_relay_rd, buf, len);
	while (r == -1 && errno == EINTR);
	return r > 0 ? (size_t)r : 0;
}

/* Move up to len bytes from the relay into the file: bytes written, the
 * rest stays in the relay; -1 with errno when none could be written. */
static int
logfile_relay_out(struct logfile *lf, size_t len, size_t *moved)
{
	size_t done = 0;
	ssize_t w;

	while (done < len) {
		w = splice(logfile_relay_rd, NULL, lf->fd, NULL, len - done,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			*moved += done;
			return -1;
		}
		done += (size_t)w;
		lf->size += (uint64_t)w;
	}
	*moved += done;
	return 0;
}

int
logfile_splice(struct logfile *lf, int pipefd, size_t len, size_t *moved)
{
	char scratch[4096];
	bool rotfail = false, relay;
	int flags, avail, ret = 0;
	ssize_t w;
	size_t n;

	*moved = 0;
	/* Bytes a caller left in the relay are lost; normally none. */
	while (logfile_spill(scratch, sizeof(scratch)) > 0)
		;
	/* Rotate only for bytes that are there: FIONREAD 0 is an empty pipe
	 * or EOF, which the caller tells apart with a read. */
	if (lf->maxbytes > 0 && lf->size >= lf->maxbytes &&
	    (ioctl(pipefd, FIONREAD, &avail) == -1 || avail <= 0)) {
		errno = ENODATA;
		return -1;
	}
	/* One file per call: rotate first if needed, then stop at the
	 * boundary, so that the caller can read the burst back. */
	n = logfile_room(lf, len, &rotfail);
	/* splice(2) refuses O_APPEND files: drop it for the burst and write
	 * at the end explicitly. */
	if ((flags = fcntl(lf->fd, F_GETFL)) == -1 ||
	    fcntl(lf->fd, F_SETFL, flags & ~O_APPEND) == -1)
		return -1;
	if (lseek(lf->fd, 0, SEEK_END) == -1)
		ret = -1;
	relay = logfile_relay_ready();
	while (ret == 0 && *moved < n) {
		w = splice(pipefd, NULL, relay ? logfile_relay_wr : lf->fd,
		    NULL, n - *moved, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1) {
			ret = -1;
			break;
		}
		if (w == 0)
			break;
		if (relay) {
			/* On failure the unwritten rest waits in the relay
			 * for logfile_spill(). */
			ret = logfile_relay_out(lf, (size_t)w, moved);
			continue;
		}
		*moved += (size_t)w;
		lf->size += (uint64_t)w;
	}
	int saved = errno;
	fcntl(lf->fd, F_SETFL, flags);
	errno = saved;
	return ret;
}

int
logfile_readback(struct logfile *lf, void *buf, size_t len, size_t from_end)
{
	off_t end, at;
	ssize_t r;
	size_t got = 0;

	if ((end = lseek(lf->fd, 0, SEEK_END)) == -1)
		return -1;
	if (len > from_end || (uint64_t)end < from_end) {
		errno = ERANGE;
		return -1;
	}
	at = end - (off_t)from_end;
	while (got < len) {
		r = pread(lf->fd, (char *)buf + got, len - got,
		    at + (off_t)got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

int
logfile_reopen(struct logfile *lf, const char **why)
{
	int dirfd, fd;
	uint64_t size;

	if (logfile_open_fds(lf, &dirfd, &fd, &size, why) == -1)
		return -1;
	close(lf->fd);
	close(lf->dirfd);
	lf->dirfd = dirfd;
	lf->fd = fd;
	lf->size = size;
	return 0;
}

int
logfile_truncate(struct logfile *lf)
{
	if (ftruncate(lf->fd, 0) == -1)
		return -1;
	lf->size = 0;
	return 0;
}
