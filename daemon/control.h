/*
 * The listening Unix socket and its clients: lock file, umask before
 * bind, owner and mode, peer credentials, newline framing with the
 * RPC_MAX_LINE cap, bounded output queues, EMFILE pause.
 */
#ifndef SUPERD_CONTROL_H
#define SUPERD_CONTROL_H

#include <sys/types.h>

#include <stdbool.h>
#include <time.h>

#include <jansson.h>

struct event_base;
struct supervisor;
struct control;
struct control_client;

struct control_opts {
	const char *socket;	/* path */
	int	 mode;		/* e.g. 0700 */
	const char *owner;	/* "user[:group]" or NULL */
	const char *readonly_group;	/* NULL: none */
	const char *config_path;	/* for daemon.info */
	/* daemon.shutdown and the like call this; it must not free the
	 * control synchronously. */
	void	(*on_shutdown)(void *arg);
	void	*arg;
	/* A connection whose first byte starts an HTTP method (not '{' or
	 * '[') is handed over here with the bytes already read; the fd is
	 * taken over. NULL: such connections are closed. */
	void	(*on_http)(void *http_arg, int fd, int role, pid_t pid,
		    const void *pre, size_t prelen);
	void	*http_arg;
};

/* Take the lock (`<socket>.lock`), bind and listen. NULL after logging
 * the reason (another superd holds the lock: its pid is named). */
struct control *control_new(struct event_base *, struct supervisor *,
	    const struct control_opts *);
/* Closes every client, removes the socket; NULL is a no-op. */
void	control_free(struct control *);

/* Queue one message for a client (a notification or a late reply);
 * the message is borrowed. -1 when the client is gone or its queue is
 * over the bound (the client is then dropped). */
int	control_client_send(struct control_client *, const json_t *msg);
/* Keep a client alive across an asynchronous reply. */
void	control_client_ref(struct control_client *);
void	control_client_unref(struct control_client *);
/* False once the connection closed; sends are then no-ops. */
bool	control_client_alive(const struct control_client *);

/*
 * Additions by the control/methods engineer (issue 3/5).
 */
struct control_hook;
/* Run fn(arg) once when the connection closes (or at control_free): a
 * pending reply or a stream cleans up there. NULL when the client is
 * already closed or on allocation failure. */
struct control_hook *control_client_hook(struct control_client *,
	    void (*fn)(void *), void *arg);
/* Cancel a hook that has not run; the hook is freed. NULL is a no-op. */
void	control_client_unhook(struct control_client *, struct control_hook *);
/* Hooks (pending replies and streams) a client holds, to cap them. */
size_t	control_client_nhooks(const struct control_client *);
/* Adopt a connected socket as a client with a role (METHODS_ROLE_*),
 * without peer credentials: for the fuzz harness and unit tests. NULL
 * on failure (the fd is then closed). */
struct control_client *control_adopt(struct control *, int fd, int role);

#endif
