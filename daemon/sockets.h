/*
 * Held listening sockets (SPEC section 8), owned by the supervisor and
 * keyed by their `socket=` value, so that a restart, a crash or an update
 * that leaves the value alone keeps the very same socket (and its kernel
 * backlog) while the program is down. spawn only places the fd.
 */
#ifndef SUPERD_SOCKETS_H
#define SUPERD_SOCKETS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct sockets;

struct sockets *sockets_new(void);
/* Closes every socket (unlinking unix ones superd created); NULL no-op. */
void	sockets_free(struct sockets *);

/*
 * Make the set of held sockets match `cfg`: sockets whose spec is still
 * used are kept as they are (a changed socket_mode/owner is re-applied),
 * new ones are bound and listening (CLOEXEC, the fd handed to children
 * is dup'ed by spawn), ones no longer used are closed. All or nothing:
 * when any bind fails, nothing changes and -1 is returned with
 * "program web: cannot bind tcp://127.0.0.1:8000: Address already in
 * use" in err. The same value in two programs is such an error too.
 * Hosts are numeric or localhost; "*" is IPv6 dual-stack (0.0.0.0 when
 * the kernel has no IPv6). Call with the new config before it becomes
 * live.
 */
int	sockets_prepare(struct sockets *, const struct config *cfg, char *err,
	    size_t errlen);
/* After the new config is live (or was refused): close what
 * sockets_prepare() kept only for the old config, unlinking unix socket
 * files superd made. A NULL cfg closes all. */
void	sockets_commit(struct sockets *, const struct config *cfg);
/* The listening fd for a process's socket conf, -1 when none is held. */
int	sockets_fd(const struct sockets *, const struct sock_conf *);

#endif
