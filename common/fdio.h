/* Raw read/write done once: EINTR retried, EAGAIN turned into "try
 * later", EOF told apart, partial writes resumed. */
#ifndef SUPERD_FDIO_H
#define SUPERD_FDIO_H

#include <sys/types.h>
#include <stddef.h>

/* Bytes read (> 0); 0 when nothing is there now (EAGAIN); -1 with errno
 * on error; -2 at end of file. */
ssize_t fdio_read(int fd, void *buf, size_t len);
/* Bytes written, possibly fewer than len on a non-blocking fd (0 when it
 * would block); -1 with errno on error. Never raises SIGPIPE on sockets. */
ssize_t fdio_write(int fd, const void *buf, size_t len);
/* Set O_NONBLOCK; 0 or -1. */
int fdio_set_nonblock(int fd, int on);

#endif
