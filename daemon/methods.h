/*
 * The JSON-RPC methods of SPEC.md section 5: one static table of
 * {name, flags, handler}. control.c frames and parses a request and
 * hands it here with the role bound to the connection at accept; the
 * role is checked against the method's flags before any handler runs,
 * and every param is checked by the handler before anything happens.
 */
#ifndef SUPERD_METHODS_H
#define SUPERD_METHODS_H

#include <stdbool.h>
#include <time.h>

#include "rpc.h"

struct control_client;
struct event_base;
struct supervisor;

/* What a peer may do, decided from SO_PEERCRED at accept. */
enum methods_role {
	METHODS_ROLE_NONE = 0,		/* every call answers 105 */
	METHODS_ROLE_READONLY = 1,	/* readonly_group members */
	METHODS_ROLE_CONTROL = 2	/* root and superd's own uid */
};

/* Method flags: exactly one of READONLY / CONTROL, maybe STREAM. */
#define METHODS_READONLY	  0x01	/* read-only role may call it */
#define METHODS_CONTROL		  0x02	/* control role only */
#define METHODS_STREAM		  0x04	/* notifications follow the reply */

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

/* Run one parsed request from `client` with `role`. Every answer is sent
 * through control_client_send() (now, or later for wait/restart); a
 * notification (req->id NULL) is executed and never answered. */
void	methods_handle(const struct methods_env *, struct control_client *,
	    enum methods_role role, const struct rpc_request *req);

/* The table's flags for an exact method name; -1 when there is none. */
int	methods_flags(const char *name);

/* A JSON string from arbitrary bytes: invalid UTF-8 sequences and NUL
 * become U+FFFD. New reference, NULL on allocation failure. */
json_t *methods_string_from_bytes(const char *data, size_t len);

#endif
