/*
 * supervisord's event listeners ([eventlistener:x], SPEC.md section 11):
 * one pool per [eventlistener:x] group, a bounded queue of events per
 * pool, the READY / header / payload / RESULT protocol per listener
 * process over its stdin and stdout, and the event payloads byte for
 * byte as supervisord 4.2 writes them.
 *
 * The listeners learn about processes from `events` (state changes) and
 * `output` (followers on the listeners' stdout for their answers, on
 * programs' streams for PROCESS_LOG_*): the supervisor only tells them
 * about the config and its own state.
 */
#ifndef SUPERD_LISTENERS_H
#define SUPERD_LISTENERS_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "process.h"

struct config;
struct config_diff;
struct event_base;
struct listeners;

/* Pools for every GROUP_EVENTLISTENER group of cfg; subscribes to state
 * changes. cfg is borrowed: pass every later snapshot to
 * listeners_update(). NULL on allocation failure. */
struct listeners *listeners_new(struct event_base *, const struct config *);
/* Drops queues and followers; NULL is a no-op. */
void	listeners_free(struct listeners *);
/* Before autostart: PROCESS_GROUP_ADDED for every group of cfg (in its
 * order), then SUPERVISOR_STATE_CHANGE_RUNNING, as supervisord does. */
void	listeners_started(struct listeners *, const struct config *);
/* At the start of a shutdown: SUPERVISOR_STATE_CHANGE_STOPPING. */
void	listeners_stopping(struct listeners *);
/* After an update made cfg live and stopped what it removed (before it
 * starts what it added): pools follow diff; PROCESS_GROUP_ADDED now for
 * each added group, PROCESS_GROUP_REMOVED for each removed one once its
 * last process is down. */
void	listeners_update(struct listeners *, const struct config *,
	    const struct config_diff *);

/*
 * For XML-RPC's supervisor.sendRemoteCommEvent(type, data): queue a
 * REMOTE_COMMUNICATION event (payload "type:TYPE\nDATA", both UTF-8)
 * into every subscribed pool of the running daemon. 0, or -1 when there
 * is no daemon instance, type or data is larger than
 * LISTENERS_PAYLOAD_MAX, or memory ran out.
 */
#define LISTENERS_PAYLOAD_MAX (1024 * 1024)
int	listeners_remote_comm(const char *type, const char *data, size_t len);

/* ---- The pure parts, exposed for unit tests. ---- */

/* supervisord's event types. Abstract ones (EVENT, PROCESS_STATE...)
 * are only ever subscribed to; they cover their subtypes. */
enum listeners_type {
	LISTENERS_EVENT = 0,
	LISTENERS_PROCESS_STATE,
	LISTENERS_PROCESS_STATE_STOPPED,
	LISTENERS_PROCESS_STATE_EXITED,
	LISTENERS_PROCESS_STATE_STARTING,
	LISTENERS_PROCESS_STATE_STOPPING,
	LISTENERS_PROCESS_STATE_BACKOFF,
	LISTENERS_PROCESS_STATE_FATAL,
	LISTENERS_PROCESS_STATE_RUNNING,
	LISTENERS_PROCESS_STATE_UNKNOWN,
	LISTENERS_PROCESS_COMMUNICATION,
	LISTENERS_PROCESS_COMMUNICATION_STDOUT,
	LISTENERS_PROCESS_COMMUNICATION_STDERR,
	LISTENERS_PROCESS_LOG,
	LISTENERS_PROCESS_LOG_STDOUT,
	LISTENERS_PROCESS_LOG_STDERR,
	LISTENERS_REMOTE_COMMUNICATION,
	LISTENERS_SUPERVISOR_STATE_CHANGE,
	LISTENERS_SUPERVISOR_STATE_CHANGE_RUNNING,
	LISTENERS_SUPERVISOR_STATE_CHANGE_STOPPING,
	LISTENERS_TICK,
	LISTENERS_TICK_5,
	LISTENERS_TICK_60,
	LISTENERS_TICK_3600,
	LISTENERS_PROCESS_GROUP,
	LISTENERS_PROCESS_GROUP_ADDED,
	LISTENERS_PROCESS_GROUP_REMOVED,
	LISTENERS_TYPE_COUNT
};

/* "PROCESS_STATE_RUNNING", ...; never NULL. */
const char *listeners_type_name(enum listeners_type);
/* The type named (case-insensitive, as supervisord upper-cases); false
 * when no such type. */
bool	listeners_type_parse(const char *name, enum listeners_type *);
/* The set of concrete types an events= list subscribes to (bit per
 * type); unknown names are ignored (the config loader rejects them). */
uint32_t listeners_type_mask(char *const *names);
/* The event type of a change to `to`. */
enum listeners_type listeners_state_type(enum process_state to);

/* Characters (code points) in valid UTF-8, as Python's len(). */
size_t	listeners_chars(const char *s, size_t len);

/* A growable byte buffer for payloads; every append is bounded by the
 * caller. */
struct listeners_buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	bool	 failed;	/* an allocation failed: contents incomplete */
};
void	listeners_buf_add(struct listeners_buf *, const void *, size_t);
void	listeners_buf_printf(struct listeners_buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	listeners_buf_free(struct listeners_buf *);

/* Program output as supervisord puts it in a payload: the bytes when
 * they are UTF-8, else "Undecodable: " and Python's repr of the bytes. */
void	listeners_add_output(struct listeners_buf *, const char *, size_t);

/* PROCESS_STATE_* payload: "processname:N groupname:G from_state:S"
 * plus tries (STARTING, BACKOFF), expected and pid (EXITED), pid
 * (RUNNING, STOPPING, STOPPED). */
void	listeners_state_payload(struct listeners_buf *, const char *name,
	    const char *group, enum process_state from, enum process_state to,
	    int tries, bool expected, pid_t pid);

/* A pool's queue of events: a ring of at most `cap` entries. */
struct listeners_event {
	int	 refs;
	enum listeners_type type;
	unsigned long serial;	/* global, the same in every pool */
	char	*payload;
	size_t	 len;		/* bytes */
	size_t	 chars;		/* what the header's len: says */
};
struct listeners_entry {
	struct listeners_event *ev;
	unsigned long poolserial;
};
struct listeners_queue {
	struct listeners_entry *v;
	size_t	 cap;
	size_t	 head;
	size_t	 n;
};
/* A queue of `cap` (>= 1) entries: 0 or -1. */
int	listeners_queue_init(struct listeners_queue *, size_t cap);
/* Drops every entry (unref) and the storage. */
void	listeners_queue_free(struct listeners_queue *);
/* Resize to cap (>= 1), dropping (unref) the oldest entries that no
 * longer fit: how many were dropped, or -1 (queue unchanged). */
long	listeners_queue_resize(struct listeners_queue *, size_t cap);
/* Add at the tail (or, for a requeue, the head). When full, the oldest
 * entry is dropped first and returned in *dropped (caller unrefs);
 * dropped->ev is NULL when nothing was dropped. Takes e's reference. */
void	listeners_queue_push(struct listeners_queue *, struct listeners_entry e,
	    bool head, struct listeners_entry *dropped);
/* Take the oldest entry; false when empty. */
bool	listeners_queue_pop(struct listeners_queue *, struct listeners_entry *);

struct listeners_event *listeners_event_new(enum listeners_type,
	    unsigned long serial, const char *payload, size_t len);
void	listeners_event_unref(struct listeners_event *);
/* "ver:3.0 server:SID serial:N pool:P poolserial:N eventname:T len:N\n"
 * and the payload. */
void	listeners_envelope(struct listeners_buf *, const char *server,
	    const char *pool, const struct listeners_entry *);

/* The queue of a pool (borrowed), NULL when no such pool. */
const struct listeners_queue *listeners_queue_of(const struct listeners *,
	    const char *pool);

/* A listener's side of the protocol, as supervisord's
 * PEventListenerDispatcher: ACKNOWLEDGED until it says READY, BUSY
 * from an event until its RESULT, UNKNOWN for good once it broke the
 * protocol. Memory is a few bytes whatever the listener writes. */
enum listeners_lstate {
	LISTENERS_ACKNOWLEDGED = 0,
	LISTENERS_READY,
	LISTENERS_BUSY,
	LISTENERS_UNKNOWN
};
enum listeners_verdict {
	LISTENERS_V_NONE = 0,	/* need more bytes */
	LISTENERS_V_READY,	/* READY\n */
	LISTENERS_V_OK,		/* RESULT 2\nOK */
	LISTENERS_V_FAIL,	/* any other result: the event is rejected */
	LISTENERS_V_GARBAGE	/* protocol violation: now UNKNOWN */
};
#define LISTENERS_LINE_MAX 32
struct listeners_proto {
	enum listeners_lstate state;
	char	 line[LISTENERS_LINE_MAX];
	size_t	 linelen;
	bool	 have_len;
	unsigned long resultlen;
	unsigned long got;
	char	 res[2];
};
void	listeners_proto_reset(struct listeners_proto *);
/* Consume bytes of `data` up to and including the first verdict;
 * returns how many were used (all of them with LISTENERS_V_NONE). */
size_t	listeners_proto_step(struct listeners_proto *, const char *data,
	    size_t len, enum listeners_verdict *);
/* "ACKNOWLEDGED", ... for messages. */
const char *listeners_lstate_name(enum listeners_lstate);

#endif
