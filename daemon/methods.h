/*
 * The JSON-RPC methods of SPEC.md section 5: one static table of
 * {name, flags, handler, param shape}. control.c frames and parses a
 * request and hands it here, with the role bound to the connection at
 * accept and itself as a methods_peer (the one reply interface). The
 * role and the params' shape (keys and types, json_unpack_ex with
 * JSON_STRICT) are checked from the table before any handler runs; the
 * handler checks ranges and lengths before anything happens.
 */
#ifndef SUPERD_METHODS_H
#define SUPERD_METHODS_H

#include <stdbool.h>
#include <time.h>

#include "rpc.h"

struct event_base;
struct supervisor;

/* What a peer may do, decided from SO_PEERCRED at accept. */
enum methods_role {
	METHODS_ROLE_NONE = 0,		/* every call answers 105 */
	METHODS_ROLE_READONLY = 1,	/* readonly_group members */
	METHODS_ROLE_CONTROL = 2	/* root and superd's own uid */
};

/* Method flags: exactly one of READONLY / CONTROL. */
#define METHODS_READONLY	  0x01	/* read-only role may call it */
#define METHODS_CONTROL		  0x02	/* control role only */

/* Longest method name the table holds (the lookup is length-capped). */
#define METHODS_NAME_MAX	  32
/* Pending replies plus streams one client may hold at once. */
#define METHODS_MAX_PENDING	  64

/* The daemon-wide facts handlers need; owned by control.c. */
struct methods_env {
	struct supervisor *sup;
	struct event_base *base;
	const char *socket;	/* for daemon.info */
	const char *config_path;
	struct timespec started;	/* CLOCK_MONOTONIC */
	void	(*on_shutdown)(void *arg);
	void	*arg;
};

/*
 * The one reply interface: whoever a request came from (control.c's
 * connection, a unit test's fake) is a peer with these operations, and
 * methods talks to it only through them. A struct methods_peer is the
 * first member of the caller's own struct (control_client's).
 */
struct methods_peer;
struct methods_hook;
struct methods_peer_ops {
	/* Queue one message (borrowed). -1 when the peer is gone or was
	 * dropped for not reading (its hooks have then run). */
	int	(*send)(struct methods_peer *, const json_t *msg);
	/* False once the peer closed; sends are then no-ops. */
	bool	(*alive)(const struct methods_peer *);
	/* Keep the peer's memory across an asynchronous reply. */
	void	(*ref)(struct methods_peer *);
	void	(*unref)(struct methods_peer *);
	/* Run fn(arg) once when the peer closes: a pending reply or a
	 * stream cleans up there. NULL when closed or out of memory. */
	struct methods_hook *(*hook)(struct methods_peer *,
		    void (*fn)(void *), void *arg);
	/* Cancel a hook that has not run. NULL is a no-op. */
	void	(*unhook)(struct methods_peer *, struct methods_hook *);
	/* Hooks held, to cap the streams and waits of one peer. */
	size_t	(*nhooks)(const struct methods_peer *);
};
struct methods_peer {
	const struct methods_peer_ops *ops;
};

static inline int
methods_peer_send(struct methods_peer *p, const json_t *msg)
{
	return p->ops->send(p, msg);
}

static inline bool
methods_peer_alive(const struct methods_peer *p)
{
	return p != NULL && p->ops->alive(p);
}

static inline void
methods_peer_ref(struct methods_peer *p)
{
	p->ops->ref(p);
}

static inline void
methods_peer_unref(struct methods_peer *p)
{
	p->ops->unref(p);
}

static inline struct methods_hook *
methods_peer_hook(struct methods_peer *p, void (*fn)(void *), void *arg)
{
	return p->ops->hook(p, fn, arg);
}

static inline void
methods_peer_unhook(struct methods_peer *p, struct methods_hook *h)
{
	p->ops->unhook(p, h);
}

static inline size_t
methods_peer_nhooks(const struct methods_peer *p)
{
	return p->ops->nhooks(p);
}

/* Run one parsed request from `peer` with `role`. Every answer goes to
 * the peer (now, or later for wait/restart and streams); a notification
 * (req->id NULL) is executed and never answered. */
void	methods_handle(const struct methods_env *, struct methods_peer *,
	    enum methods_role role, const struct rpc_request *req);

/* The table's flags for an exact method name; -1 when there is none. */
int	methods_flags(const char *name);

/* A JSON string from arbitrary bytes: invalid UTF-8 sequences and NUL
 * become U+FFFD. New reference, NULL on allocation failure. */
json_t *methods_string_from_bytes(const char *data, size_t len);
/* Where a log goes, as process.list says it: its path, /dev/stdout,
 * /dev/stderr, or "NONE". */
struct log_conf;
const char *methods_log_path(const struct log_conf *);

#ifdef METHODS_INTERNAL
/*
 * Shared by methods.c (the table, params, daemon.*, config.*, events.*)
 * and methods_process.c (process.*) only; define METHODS_INTERNAL
 * before including this header to see it.
 */
#include <stdint.h>

#define METHODS_MAX_NAMELEN	  256	/* bytes in one name */

/* One call being handled; borrowed pieces of the request. */
struct methods_call {
	const struct methods_env *env;
	struct methods_peer *client;
	json_t	*id;		/* borrowed; NULL: a notification */
	json_t	*params;	/* borrowed; an object or NULL */
	/* Filled by a handler that fails. */
	int	 code;
	char	*message;	/* malloc'd */
	/* Run after the reply is queued (daemon.shutdown). */
	void	(*after)(const struct methods_env *);
};

struct process;

/* A handler returns 0 with *result (new), -1 after methods_fail(), or
 * METHODS_DEFERRED when it answers later by itself. */
#define METHODS_DEFERRED	  1

/* How many trailing bytes of s could start a sequence cut short. */
size_t	methods_utf8_cut(const unsigned char *s, size_t n);
/* Send an error answer for id (nothing for a notification). */
void	methods_send_error(struct methods_peer *, json_t *id, int code,
	    const char *message);
/* Send result (stolen) for id (dropped for a notification). */
void	methods_send_result(struct methods_peer *, json_t *id,
	    json_t *result);
/* Record the call's error (code, message); returns -1. */
int	methods_fail(struct methods_call *, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An {code, message} object for a per-process item: new. */
json_t *methods_item_error_new(int code, const char *message);
/* One per-process result item {name, ok, error?}: new. A failed item's
 * message defaults to the code's name. */
json_t *methods_item_new(const char *name, bool ok, int code,
	    const char *message);
/* The param `key` (borrowed), NULL when absent. */
json_t *methods_param(struct methods_call *, const char *key);
/* Typed params with a default; -1 after methods_fail(). */
int	methods_get_bool(struct methods_call *, const char *key, bool def,
	    bool *out);
int	methods_get_int(struct methods_call *, const char *key, json_int_t min,
	    json_int_t max, json_int_t def, json_int_t *out);
int	methods_get_string(struct methods_call *, const char *key,
	    bool required, size_t maxlen, const char **out, size_t *len);
/* A `names` param into a malloc'd array of borrowed strings. */
int	methods_get_names(struct methods_call *, const char *key,
	    bool required, const char ***out, size_t *n);
/* Resolve names into processes (*procs malloc'd); 100 when one
 * matches nothing. */
int	methods_match(struct methods_call *, const char *const *names,
	    size_t nnames, struct process ***procs, size_t *nprocs);
/* The one process the string param `key` designates. */
int	methods_one_process(struct methods_call *, const char *key,
	    struct process **out);

/* The process.* handlers of the table (methods_process.c). */
int	method_process_list(struct methods_call *, json_t **);
int	method_process_start(struct methods_call *, json_t **);
int	method_process_stop(struct methods_call *, json_t **);
int	method_process_restart(struct methods_call *, json_t **);
/* process.reload (methods_reload.c). */
int	method_process_reload(struct methods_call *, json_t **);
int	method_process_signal(struct methods_call *, json_t **);
int	method_process_tail(struct methods_call *, json_t **);
int	method_process_clear_log(struct methods_call *, json_t **);
int	method_process_stdin(struct methods_call *, json_t **);
/* daemon.reexec (reexec.c). */
int	method_daemon_reexec(struct methods_call *, json_t **);
#endif /* METHODS_INTERNAL */

#endif
