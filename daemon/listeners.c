/*
 * supervisord's event listeners (SPEC.md section 11).
 *
 * An event is made once (type, global serial, payload) and referenced by
 * the queue entry of every pool that subscribes to it, each entry with
 * the pool's own serial. A pool's queue holds at most buffer_size
 * entries: when full, the oldest is dropped with a warning (its pool
 * serial stays used, as in supervisord). Events are handed out from the
 * head of the queue, one at a time per listener, to a listener process
 * that is RUNNING and has said READY; a rejected event (any result but
 * OK) or one whose listener died or broke the protocol goes back to the
 * head of its own pool's queue, unchanged, and only of that pool
 * (supervisord 4.2 requeues it into every pool of the same priority).
 *
 * Dispatch runs from a deferred event, never from inside a publish, so
 * the order listeners see is the order things happened in and a write
 * never happens under another module's callback. Writes to a listener's
 * stdin go through our own dup of the pipe, non-blocking, with at most
 * one event buffered per listener; what a listener writes is parsed a
 * few bytes at a time (listeners_proto_step), so memory is bounded by
 * the configured queues whatever the processes do.
 *
 * The pid of an EXITED or STOPPED event is the pid that ended (process.c
 * has cleared p->pid by then): every process that has a pid is kept in
 * a small table until it is down.
 */
#include <sys/types.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "events.h"
#include "fdio.h"
#include "listeners.h"
#include "log.h"
#include "output.h"
#include "process.h"
#include "utf8.h"

#define LISTENERS_BIT(t)	((uint32_t)1 << (t))
#define LISTENERS_TICK_MARGIN_MS 10	/* fire just past the boundary */

/* ---- event types ---- */

static const struct {
	const char *name;
	enum listeners_type parent;	/* itself for EVENT */
} listeners_types[LISTENERS_TYPE_COUNT] = {
	[LISTENERS_EVENT] = { "EVENT", LISTENERS_EVENT },
	[LISTENERS_PROCESS_STATE] = { "PROCESS_STATE", LISTENERS_EVENT },
	[LISTENERS_PROCESS_STATE_STOPPED] = { "PROCESS_STATE_STOPPED",
	    LISTENERS_PROCESS_STATE },
	[LISTENERS_PROCESS_STATE_EXITED] = { "PROCESS_STATE_EXITED",
	    LISTENERS_PROCESS_STATE },
	[LISTENERS_PROCESS_STATE_STARTING] = { "PROCESS_STATE_STARTING",
	    LISTENERS_PROCESS_STATE },
	[LISTENERS_PROCESS_STATE_STOPPING] = { "PROCESS_STATE_STOPPING",
	    LISTENERS_PROCESS_STATE },
	[LISTENERS_PROCESS_STATE_BACKOFF] = { "PROCESS_STATE_BACKOFF",
	    LISTENERS_PROCESS_STATE },
	[LISTENERS_PROCESS_STATE_FATAL] = { "PROCESS_STATE_FATAL",
	    LISTENERS_PROCESS_STATE },
	[LISTENERS_PROCESS_STATE_RUNNING] = { "PROCESS_STATE_RUNNING",
	    LISTENERS_PROCESS_STATE },
	[LISTENERS_PROCESS_STATE_UNKNOWN] = { "PROCESS_STATE_UNKNOWN",
	    LISTENERS_PROCESS_STATE },
	[LISTENERS_PROCESS_COMMUNICATION] = { "PROCESS_COMMUNICATION",
	    LISTENERS_EVENT },
	[LISTENERS_PROCESS_COMMUNICATION_STDOUT] = {
	    "PROCESS_COMMUNICATION_STDOUT", LISTENERS_PROCESS_COMMUNICATION },
	[LISTENERS_PROCESS_COMMUNICATION_STDERR] = {
	    "PROCESS_COMMUNICATION_STDERR", LISTENERS_PROCESS_COMMUNICATION },
	[LISTENERS_PROCESS_LOG] = { "PROCESS_LOG", LISTENERS_EVENT },
	[LISTENERS_PROCESS_LOG_STDOUT] = { "PROCESS_LOG_STDOUT",
	    LISTENERS_PROCESS_LOG },
	[LISTENERS_PROCESS_LOG_STDERR] = { "PROCESS_LOG_STDERR",
	    LISTENERS_PROCESS_LOG },
	[LISTENERS_REMOTE_COMMUNICATION] = { "REMOTE_COMMUNICATION",
	    LISTENERS_EVENT },
	[LISTENERS_SUPERVISOR_STATE_CHANGE] = { "SUPERVISOR_STATE_CHANGE",
	    LISTENERS_EVENT },
	[LISTENERS_SUPERVISOR_STATE_CHANGE_RUNNING] = {
	    "SUPERVISOR_STATE_CHANGE_RUNNING",
	    LISTENERS_SUPERVISOR_STATE_CHANGE },
	[LISTENERS_SUPERVISOR_STATE_CHANGE_STOPPING] = {
	    "SUPERVISOR_STATE_CHANGE_STOPPING",
	    LISTENERS_SUPERVISOR_STATE_CHANGE },
	[LISTENERS_TICK] = { "TICK", LISTENERS_EVENT },
	[LISTENERS_TICK_5] = { "TICK_5", LISTENERS_TICK },
	[LISTENERS_TICK_60] = { "TICK_60", LISTENERS_TICK },
	[LISTENERS_TICK_3600] = { "TICK_3600", LISTENERS_TICK },
	[LISTENERS_PROCESS_GROUP] = { "PROCESS_GROUP", LISTENERS_EVENT },
	[LISTENERS_PROCESS_GROUP_ADDED] = { "PROCESS_GROUP_ADDED",
	    LISTENERS_PROCESS_GROUP },
	[LISTENERS_PROCESS_GROUP_REMOVED] = { "PROCESS_GROUP_REMOVED",
	    LISTENERS_PROCESS_GROUP },
};

#define LISTENERS_TICKS (LISTENERS_BIT(LISTENERS_TICK_5) | \
	LISTENERS_BIT(LISTENERS_TICK_60) | LISTENERS_BIT(LISTENERS_TICK_3600))

const char *
listeners_type_name(enum listeners_type t)
{
	if ((int)t < 0 || t >= LISTENERS_TYPE_COUNT)
		return "EVENT";
	return listeners_types[t].name;
}

bool
listeners_type_parse(const char *name, enum listeners_type *t)
{
	int i;

	for (i = 0; i < LISTENERS_TYPE_COUNT; i++) {
		if (strcasecmp(name, listeners_types[i].name) == 0) {
			*t = (enum listeners_type)i;
			return true;
		}
	}
	return false;
}

/* True when `t` is `ancestor` or one of its subtypes. */
static bool
listeners_type_is(enum listeners_type t, enum listeners_type ancestor)
{
	for (;;) {
		if (t == ancestor)
			return true;
		if (t == LISTENERS_EVENT)
			return false;
		t = listeners_types[t].parent;
	}
}

uint32_t
listeners_type_mask(char *const *names)
{
	enum listeners_type sub;
	uint32_t mask = 0;
	int i;

	for (; names != NULL && *names != NULL; names++) {
		if (!listeners_type_parse(*names, &sub))
			continue;
		for (i = 0; i < LISTENERS_TYPE_COUNT; i++)
			if (listeners_type_is((enum listeners_type)i, sub))
				mask |= LISTENERS_BIT(i);
	}
	return mask;
}

enum listeners_type
listeners_state_type(enum process_state to)
{
	switch (to) {
	case PROCESS_STOPPED:
		return LISTENERS_PROCESS_STATE_STOPPED;
	case PROCESS_STARTING:
		return LISTENERS_PROCESS_STATE_STARTING;
	case PROCESS_RUNNING:
		return LISTENERS_PROCESS_STATE_RUNNING;
	case PROCESS_BACKOFF:
		return LISTENERS_PROCESS_STATE_BACKOFF;
	case PROCESS_STOPPING:
		return LISTENERS_PROCESS_STATE_STOPPING;
	case PROCESS_EXITED:
		return LISTENERS_PROCESS_STATE_EXITED;
	case PROCESS_FATAL:
		return LISTENERS_PROCESS_STATE_FATAL;
	case PROCESS_UNKNOWN:
		break;
	}
	return LISTENERS_PROCESS_STATE_UNKNOWN;
}

/* ---- payloads ---- */

size_t
listeners_chars(const char *s, size_t len)
{
	size_t i, n = 0;

	/* In valid UTF-8 every code point has exactly one byte that is not
	 * a continuation byte (10xxxxxx). */
	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

void
listeners_buf_add(struct listeners_buf *b, const void *data, size_t len)
{
	size_t cap;
	char *nd;

	if (b->failed || len == 0)
		return;
	if (b->len + len + 1 > b->cap) {
		cap = b->cap == 0 ? 256 : b->cap;
		while (cap < b->len + len + 1)
			cap *= 2;
		if ((nd = realloc(b->data, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->data = nd;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
listeners_buf_printf(struct listeners_buf *b, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		listeners_buf_add(b, small, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	listeners_buf_add(b, big, (size_t)n);
	free(big);
}

void
listeners_buf_free(struct listeners_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static bool
listeners_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		/* utf8_seq refuses NUL (JSON's concern); Python does not. */
		if (u[i] == '\0') {
			i++;
			continue;
		}
		if ((n = utf8_seq(u + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

void
listeners_add_output(struct listeners_buf *b, const char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)data;
	char quote = '\'', esc[4];
	size_t i;

	if (listeners_utf8_valid(data, len)) {
		listeners_buf_add(b, data, len);
		return;
	}
	/* Python's repr() of bytes: single quotes unless the data holds a
	 * single quote and no double one. */
	if (memchr(data, '\'', len) != NULL && memchr(data, '"', len) == NULL)
		quote = '"';
	listeners_buf_add(b, "Undecodable: b", 14);
	listeners_buf_add(b, &quote, 1);
	for (i = 0; i < len; i++) {
		if (u[i] == (unsigned char)quote || u[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)u[i];
			listeners_buf_add(b, esc, 2);
		} else if (u[i] == '\t')
			listeners_buf_add(b, "\\t", 2);
		else if (u[i] == '\n')
			listeners_buf_add(b, "\\n", 2);
		else if (u[i] == '\r')
			listeners_buf_add(b, "\\r", 2);
		else if (u[i] < 0x20 || u[i] >= 0x7f) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[u[i] >> 4];
			esc[3] = hex[u[i] & 0xf];
			listeners_buf_add(b, esc, 4);
		} else
			listeners_buf_add(b, &u[i], 1);
	}
	listeners_buf_add(b, &quote, 1);
}

void
listeners_state_payload(struct listeners_buf *b, const char *name,
    const char *group, enum process_state from, enum process_state to,
    int tries, bool expected, pid_t pid)
{
	listeners_buf_printf(b, "processname:%s groupname:%s from_state:%s",
	    name, group, process_state_name(from));
	switch (to) {
	case PROCESS_STARTING:
	case PROCESS_BACKOFF:
		listeners_buf_printf(b, " tries:%d", tries);
		break;
	case PROCESS_EXITED:
		listeners_buf_printf(b, " expected:%d pid:%d", expected ? 1 : 0,
		    (int)pid);
		break;
	case PROCESS_RUNNING:
	case PROCESS_STOPPING:
	case PROCESS_STOPPED:
		listeners_buf_printf(b, " pid:%d", (int)pid);
		break;
	case PROCESS_FATAL:
	case PROCESS_UNKNOWN:
		break;
	}
}

/* ---- events and queues ---- */

struct listeners_event *
listeners_event_new(enum listeners_type t, unsigned long serial,
    const char *payload, size_t len)
{
	struct listeners_event *ev;

	if ((ev = calloc(1, sizeof(*ev))) == NULL ||
	    (ev->payload = malloc(len + 1)) == NULL) {
		free(ev);
		return NULL;
	}
	memcpy(ev->payload, payload, len);
	ev->payload[len] = '\0';
	ev->refs = 1;
	ev->type = t;
	ev->serial = serial;
	ev->len = len;
	ev->chars = listeners_utf8_valid(payload, len) ?
	    listeners_chars(payload, len) : len;
	return ev;
}

void
listeners_event_unref(struct listeners_event *ev)
{
	if (ev == NULL || --ev->refs > 0)
		return;
	free(ev->payload);
	free(ev);
}

int
listeners_queue_init(struct listeners_queue *q, size_t cap)
{
	memset(q, 0, sizeof(*q));
	if (cap < 1)
		cap = 1;
	if ((q->v = calloc(cap, sizeof(*q->v))) == NULL)
		return -1;
	q->cap = cap;
	return 0;
}

void
listeners_queue_free(struct listeners_queue *q)
{
	struct listeners_entry e;

	while (listeners_queue_pop(q, &e))
		listeners_event_unref(e.ev);
	free(q->v);
	memset(q, 0, sizeof(*q));
}

bool
listeners_queue_pop(struct listeners_queue *q, struct listeners_entry *e)
{
	if (q->n == 0)
		return false;
	*e = q->v[q->head];
	q->head = (q->head + 1) % q->cap;
	q->n--;
	return true;
}

void
listeners_queue_push(struct listeners_queue *q, struct listeners_entry e,
    bool head, struct listeners_entry *dropped)
{
	dropped->ev = NULL;
	dropped->poolserial = 0;
	/* Full: the oldest goes, even when a requeue is about to take its
	 * place at the head (supervisord's _acceptEvent). */
	if (q->n >= q->cap)
		(void)listeners_queue_pop(q, dropped);
	if (head) {
		q->head = (q->head + q->cap - 1) % q->cap;
		q->v[q->head] = e;
	} else
		q->v[(q->head + q->n) % q->cap] = e;
	q->n++;
}

long
listeners_queue_resize(struct listeners_queue *q, size_t cap)
{
	struct listeners_entry *v, e;
	long dropped = 0;
	size_t i;

	if (cap < 1)
		cap = 1;
	if (cap == q->cap)
		return 0;
	if ((v = calloc(cap, sizeof(*v))) == NULL)
		return -1;
	while (q->n > cap && listeners_queue_pop(q, &e)) {
		listeners_event_unref(e.ev);
		dropped++;
	}
	for (i = 0; listeners_queue_pop(q, &e); i++)
		v[i] = e;
	free(q->v);
	q->v = v;
	q->cap = cap;
	q->head = 0;
	q->n = i;
	return dropped;
}

void
listeners_envelope(struct listeners_buf *b, const char *server,
    const char *pool, const struct listeners_entry *e)
{
	listeners_buf_printf(b, "ver:3.0 server:%s serial:%lu pool:%s "
	    "poolserial:%lu eventname:%s len:%zu\n", server, e->ev->serial,
	    pool, e->poolserial, listeners_type_name(e->ev->type),
	    e->ev->chars);
	listeners_buf_add(b, e->ev->payload, e->ev->len);
}

/* ---- the listener protocol ---- */

const char *
listeners_lstate_name(enum listeners_lstate s)
{
	switch (s) {
	case LISTENERS_ACKNOWLEDGED:
		return "ACKNOWLEDGED";
	case LISTENERS_READY:
		return "READY";
	case LISTENERS_BUSY:
		return "BUSY";
	case LISTENERS_UNKNOWN:
		break;
	}
	return "UNKNOWN";
}

void
listeners_proto_reset(struct listeners_proto *pr)
{
	memset(pr, 0, sizeof(*pr));
	pr->state = LISTENERS_ACKNOWLEDGED;
}

static enum listeners_verdict
listeners_proto_garbage(struct listeners_proto *pr)
{
	pr->state = LISTENERS_UNKNOWN;
	pr->linelen = 0;
	pr->have_len = false;
	return LISTENERS_V_GARBAGE;
}

/* "RESULT N" (Python's int() allows blanks around N): N or -1. */
static long
listeners_proto_result_len(const char *line, size_t len)
{
	unsigned long n = 0;
	size_t i = 7, digits = 0;

	if (len < 8 || memcmp(line, "RESULT ", 7) != 0)
		return -1;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	for (; i < len && isdigit((unsigned char)line[i]); i++) {
		if (++digits > 9)
			return -1;
		n = n * 10 + (unsigned long)(line[i] - '0');
	}
	while (i < len && (line[i] == ' ' || line[i] == '\t' ||
	    line[i] == '\r'))
		i++;
	if (digits == 0 || i != len)
		return -1;
	return (long)n;
}

size_t
listeners_proto_step(struct listeners_proto *pr, const char *data,
    size_t len, enum listeners_verdict *v)
{
	static const char ready[] = "READY\n";
	size_t i = 0, take;
	long n;

	*v = LISTENERS_V_NONE;
	while (i < len) {
		switch (pr->state) {
		case LISTENERS_UNKNOWN:
			return len;
		case LISTENERS_READY:
			/* Nothing may come before it has an event. */
			*v = listeners_proto_garbage(pr);
			return i + 1;
		case LISTENERS_ACKNOWLEDGED:
			if (data[i] != ready[pr->linelen]) {
				*v = listeners_proto_garbage(pr);
				return i + 1;
			}
			i++;
			if (++pr->linelen == sizeof(ready) - 1) {
				pr->linelen = 0;
				pr->state = LISTENERS_READY;
				*v = LISTENERS_V_READY;
				return i;
			}
			break;
		case LISTENERS_BUSY:
			if (!pr->have_len) {
				if (data[i] != '\n') {
					if (pr->linelen == sizeof(pr->line)) {
						*v = listeners_proto_garbage(
						    pr);
						return i + 1;
					}
					pr->line[pr->linelen++] = data[i++];
					break;
				}
				i++;
				n = listeners_proto_result_len(pr->line,
				    pr->linelen);
				pr->linelen = 0;
				if (n < 0) {
					*v = listeners_proto_garbage(pr);
					return i;
				}
				pr->have_len = true;
				pr->resultlen = (unsigned long)n;
				pr->got = 0;
			} else {
				take = len - i;
				if (take > pr->resultlen - pr->got)
					take = pr->resultlen - pr->got;
				/* Only "OK" matters: keep two bytes. */
				while (take > 0) {
					if (pr->got < sizeof(pr->res))
						pr->res[pr->got] = data[i];
					pr->got++;
					i++;
					take--;
				}
			}
			if (pr->have_len && pr->got == pr->resultlen) {
				*v = pr->resultlen == 2 &&
				    memcmp(pr->res, "OK", 2) == 0 ?
				    LISTENERS_V_OK : LISTENERS_V_FAIL;
				pr->have_len = false;
				pr->state = LISTENERS_ACKNOWLEDGED;
				return i;
			}
			break;
		}
	}
	return len;
}

/* ---- the daemon side ---- */

struct listeners_pool {
	char	*name;
	uint32_t mask;
	unsigned long serial;	/* the next pool serial */
	struct listeners_queue q;
	struct listeners_pool *next;
};

/* A process we follow: a listener (its stdout is the protocol) and/or a
 * program with *_events_enabled. Lives as long as its output (the
 * output tells us when it goes). */
struct listeners_proc {
	struct listeners *l;
	const struct process *p;
	struct output_follower *fout;
	struct output_follower *ferr;
	pid_t	 pid;		/* of the current or last run */
	bool	 alive;		/* between STARTING and down */
	bool	 listener;
	struct listeners_proto proto;
	struct listeners_entry busy;	/* ev NULL when none */
	int	 fd;		/* our dup of its stdin, -1 when none */
	struct event *wev;
	struct listeners_buf wbuf;
	size_t	 woff;
	struct listeners_proc *next;
};

struct listeners_pid {
	const struct process *p;	/* compared, never followed */
	char	*group;
	pid_t	 pid;
	unsigned long removal;	/* the removal waiting for it, 0: none */
};

/* A removed group whose PROCESS_GROUP_REMOVED waits for its processes
 * (the pids tagged with `id`; a group of the same name added meanwhile
 * does not hold it up). */
struct listeners_removal {
	char	*group;
	unsigned long id;
};

struct listeners {
	struct event_base *base;
	const struct config *cfg;
	struct listeners_pool *pools;
	struct listeners_proc *procs;
	struct listeners_pid *pids;
	size_t	 npids;
	size_t	 cappids;
	struct listeners_removal *removals;
	size_t	 nremovals;
	unsigned long removal_seq;
	uint32_t mask;		/* union of the pools' */
	unsigned long serial;	/* the next global serial */
	struct events_sub *sub;
	struct event *kick;
	struct event *tick;
	bool	 ticking;
	time_t	 last_tick[3];
};

static struct listeners *listeners_current;

static const int listeners_tick_period[3] = { 5, 60, 3600 };
static const enum listeners_type listeners_tick_type[3] = {
	LISTENERS_TICK_5, LISTENERS_TICK_60, LISTENERS_TICK_3600
};

static const char *
listeners_server(const struct listeners *l)
{
	if (l->cfg != NULL && l->cfg->identifier != NULL)
		return l->cfg->identifier;
	return "supervisor";
}

static struct listeners_pool *
listeners_pool_find(const struct listeners *l, const char *name)
{
	struct listeners_pool *pool;

	for (pool = l->pools; pool != NULL; pool = pool->next)
		if (strcmp(pool->name, name) == 0)
			return pool;
	return NULL;
}

static void
listeners_kick(struct listeners *l)
{
	if (l->kick != NULL)
		event_active(l->kick, EV_TIMEOUT, 0);
}

static void
listeners_push(struct listeners_pool *pool, struct listeners_entry e,
    bool head)
{
	struct listeners_entry dropped;

	listeners_queue_push(&pool->q, e, head, &dropped);
	if (dropped.ev != NULL) {
		log_warn("event listener pool %s: buffer full (buffer_size "
		    "%zu), dropping event %lu (%s)", pool->name, pool->q.cap,
		    dropped.ev->serial, listeners_type_name(dropped.ev->type));
		listeners_event_unref(dropped.ev);
	}
}

/* Queue a new event into every pool that subscribes to it. */
static void
listeners_emit(struct listeners *l, enum listeners_type t,
    const char *payload, size_t len)
{
	struct listeners_event *ev;
	struct listeners_pool *pool;
	struct listeners_entry e;

	if ((l->mask & LISTENERS_BIT(t)) == 0)
		return;
	if ((ev = listeners_event_new(t, l->serial, payload, len)) == NULL) {
		log_error("event listeners: out of memory, %s event lost",
		    listeners_type_name(t));
		return;
	}
	l->serial++;
	for (pool = l->pools; pool != NULL; pool = pool->next) {
		if ((pool->mask & LISTENERS_BIT(t)) == 0)
			continue;
		ev->refs++;
		e.ev = ev;
		e.poolserial = pool->serial++;
		listeners_push(pool, e, false);
	}
	listeners_event_unref(ev);
	listeners_kick(l);
}

static void
listeners_emit_buf(struct listeners *l, enum listeners_type t,
    struct listeners_buf *b)
{
	if (b->failed)
		log_error("event listeners: out of memory, %s event lost",
		    listeners_type_name(t));
	else
		listeners_emit(l, t, b->data != NULL ? b->data : "", b->len);
	listeners_buf_free(b);
}

static int
listeners_pool_set(struct listeners_pool *pool, const struct group_conf *gc)
{
	const struct proc_conf *pc = gc->nprocs > 0 ? gc->procs[0] : NULL;
	size_t size = pc != NULL && pc->buffer_size > 0 ?
	    (size_t)pc->buffer_size : 10;
	long dropped;

	pool->mask = pc != NULL ? listeners_type_mask(pc->events) : 0;
	if (pool->q.v == NULL)
		return listeners_queue_init(&pool->q, size);
	if ((dropped = listeners_queue_resize(&pool->q, size)) < 0)
		return -1;
	if (dropped > 0)
		log_warn("event listener pool %s: buffer_size now %zu, "
		    "%ld queued events dropped", pool->name, size, dropped);
	return 0;
}

static void
listeners_pool_free(struct listeners_pool *pool)
{
	listeners_queue_free(&pool->q);
	free(pool->name);
	free(pool);
}

static void
listeners_pool_add(struct listeners *l, const struct group_conf *gc)
{
	struct listeners_pool *pool, **pp;

	if ((pool = listeners_pool_find(l, gc->name)) != NULL) {
		if (listeners_pool_set(pool, gc) == -1)
			log_error("event listener pool %s: out of memory",
			    gc->name);
		return;
	}
	if ((pool = calloc(1, sizeof(*pool))) == NULL ||
	    (pool->name = strdup(gc->name)) == NULL ||
	    listeners_pool_set(pool, gc) == -1) {
		log_error("event listener pool %s: out of memory", gc->name);
		if (pool != NULL)
			free(pool->name);
		free(pool);
		return;
	}
	for (pp = &l->pools; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = pool;
}

static void
listeners_pool_remove(struct listeners *l, const char *name)
{
	struct listeners_pool **pp, *pool;

	for (pp = &l->pools; (pool = *pp) != NULL; pp = &pool->next) {
		if (strcmp(pool->name, name) == 0) {
			*pp = pool->next;
			if (pool->q.n > 0)
				log_info("event listener pool %s: removed "
				    "with %zu events queued", name, pool->q.n);
			listeners_pool_free(pool);
			return;
		}
	}
}

static void
listeners_recompute(struct listeners *l)
{
	struct listeners_pool *pool;

	l->mask = 0;
	for (pool = l->pools; pool != NULL; pool = pool->next)
		l->mask |= pool->mask;
}

/* ---- ticks ---- */

static void
listeners_tick_schedule(struct listeners *l)
{
	struct timespec ts;
	struct timeval tv;
	long ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = 5000 - ((long)(ts.tv_sec % 5) * 1000 + ts.tv_nsec / 1000000) +
	    LISTENERS_TICK_MARGIN_MS;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(l->tick, &tv);
}

static void
listeners_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct listeners *l = arg;
	char payload[48];
	time_t now = time(NULL), slice;
	int i, n;

	(void)fd;
	(void)what;
	/* As supervisord: an event whenever the period's slice of the
	 * wall clock changed since the last look. */
	for (i = 0; i < 3; i++) {
		slice = now - now % listeners_tick_period[i];
		if (slice == l->last_tick[i])
			continue;
		l->last_tick[i] = slice;
		n = snprintf(payload, sizeof(payload), "when:%lld",
		    (long long)slice);
		listeners_emit(l, listeners_tick_type[i], payload, (size_t)n);
	}
	listeners_tick_schedule(l);
}

/* Run the tick timer only while some pool wants ticks. */
static void
listeners_tick_arm(struct listeners *l)
{
	time_t now;
	int i;

	if (l->tick == NULL)
		return;
	if ((l->mask & LISTENERS_TICKS) == 0) {
		evtimer_del(l->tick);
		l->ticking = false;
		return;
	}
	if (l->ticking)
		return;
	now = time(NULL);
	for (i = 0; i < 3; i++)
		l->last_tick[i] = now - now % listeners_tick_period[i];
	l->ticking = true;
	listeners_tick_schedule(l);
}

/* ---- pids ---- */

static struct listeners_pid *
listeners_pid_find(struct listeners *l, const struct process *p)
{
	size_t i;

	for (i = 0; i < l->npids; i++)
		if (l->pids[i].p == p)
			return &l->pids[i];
	return NULL;
}

static void
listeners_pid_set(struct listeners *l, const struct process *p, pid_t pid)
{
	struct listeners_pid *e, *nv;
	size_t cap;

	if ((e = listeners_pid_find(l, p)) != NULL) {
		e->pid = pid;
		return;
	}
	if (l->npids == l->cappids) {
		cap = l->cappids == 0 ? 16 : l->cappids * 2;
		if ((nv = reallocarray(l->pids, cap, sizeof(*nv))) == NULL)
			return;
		l->pids = nv;
		l->cappids = cap;
	}
	if ((l->pids[l->npids].group = strdup(p->conf->group)) == NULL)
		return;
	l->pids[l->npids].p = p;
	l->pids[l->npids].pid = pid;
	l->pids[l->npids].removal = 0;
	l->npids++;
}

static pid_t
listeners_pid_drop(struct listeners *l, const struct process *p)
{
	struct listeners_pid *e;
	pid_t pid;

	if ((e = listeners_pid_find(l, p)) == NULL)
		return 0;
	pid = e->pid;
	free(e->group);
	*e = l->pids[--l->npids];
	return pid;
}

/* Emit PROCESS_GROUP_REMOVED for removed groups none of whose processes
 * has a pid any more. */
static void
listeners_check_removals(struct listeners *l)
{
	struct listeners_buf b = { 0 };
	size_t i, j;
	bool busy;

	for (i = 0; i < l->nremovals;) {
		busy = false;
		for (j = 0; j < l->npids && !busy; j++)
			busy = l->pids[j].removal == l->removals[i].id;
		if (busy) {
			i++;
			continue;
		}
		listeners_buf_printf(&b, "groupname:%s\n",
		    l->removals[i].group);
		listeners_emit_buf(l, LISTENERS_PROCESS_GROUP_REMOVED, &b);
		free(l->removals[i].group);
		l->removals[i] = l->removals[--l->nremovals];
	}
}

/* ---- listener processes ---- */

static struct listeners_proc *
listeners_proc_find(struct listeners *l, const struct process *p)
{
	struct listeners_proc *lp;

	for (lp = l->procs; lp != NULL; lp = lp->next)
		if (lp->p == p)
			return lp;
	return NULL;
}

/* Put the event a listener held back at the head of its pool's queue. */
static void
listeners_proc_requeue(struct listeners_proc *lp)
{
	struct listeners_pool *pool;

	if (lp->busy.ev == NULL)
		return;
	pool = listeners_pool_find(lp->l, lp->p->conf->group);
	if (pool != NULL) {
		log_debug("event listener %s: event %lu back to the head of "
		    "pool %s", lp->p->fullname, lp->busy.ev->serial,
		    pool->name);
		listeners_push(pool, lp->busy, true);
	} else
		listeners_event_unref(lp->busy.ev);
	lp->busy.ev = NULL;
	listeners_kick(lp->l);
}

static void
listeners_proc_close(struct listeners_proc *lp)
{
	if (lp->wev != NULL) {
		event_free(lp->wev);
		lp->wev = NULL;
	}
	if (lp->fd != -1) {
		close(lp->fd);
		lp->fd = -1;
	}
	listeners_buf_free(&lp->wbuf);
	lp->woff = 0;
}

static void
listeners_proc_unlink(struct listeners_proc *lp)
{
	struct listeners_proc **pp;

	for (pp = &lp->l->procs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == lp) {
			*pp = lp->next;
			break;
		}
	}
	listeners_proc_close(lp);
	listeners_event_unref(lp->busy.ev);
	free(lp);
}

/* The listener broke the protocol or its pipe: no more events for it
 * until it restarts, and what it held goes back to the queue. */
static void
listeners_proc_broken(struct listeners_proc *lp, const char *why)
{
	log_warn("event listener %s: %s; it gets no more events until it "
	    "restarts", lp->p->fullname, why);
	lp->proto.state = LISTENERS_UNKNOWN;
	listeners_proc_requeue(lp);
	listeners_proc_close(lp);
}

static void
listeners_proc_flush(struct listeners_proc *lp)
{
	ssize_t n;

	while (lp->woff < lp->wbuf.len) {
		n = fdio_write(lp->fd, lp->wbuf.data + lp->woff,
		    lp->wbuf.len - lp->woff);
		if (n < 0) {
			char why[128];

			snprintf(why, sizeof(why), "cannot write to its "
			    "stdin: %s", strerror(errno));
			listeners_proc_broken(lp, why);
			return;
		}
		if (n == 0) {
			if (lp->wev != NULL)
				event_add(lp->wev, NULL);
			return;
		}
		lp->woff += (size_t)n;
	}
	listeners_buf_free(&lp->wbuf);
	lp->woff = 0;
}

static void
listeners_on_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	listeners_proc_flush(arg);
}

/* Hand `e` to the listener (READY and RUNNING). False when it could
 * not even be tried (out of memory): the event is back in the queue. */
static bool
listeners_proc_send(struct listeners_proc *lp, struct listeners_pool *pool,
    struct listeners_entry e)
{
	listeners_envelope(&lp->wbuf, listeners_server(lp->l), pool->name, &e);
	lp->busy = e;
	lp->proto.state = LISTENERS_BUSY;
	if (lp->wbuf.failed) {
		listeners_buf_free(&lp->wbuf);
		lp->proto.state = LISTENERS_READY;
		listeners_proc_requeue(lp);
		log_error("event listener %s: out of memory sending an event",
		    lp->p->fullname);
		return false;
	}
	lp->woff = 0;
	log_debug("event listener %s: event %lu (%s) sent", lp->p->fullname,
	    e.ev->serial, listeners_type_name(e.ev->type));
	listeners_proc_flush(lp);
	return true;
}

static struct listeners_proc *
listeners_pool_ready(struct listeners *l, const struct listeners_pool *pool)
{
	struct listeners_proc *lp;

	for (lp = l->procs; lp != NULL; lp = lp->next) {
		if (lp->listener && lp->alive && lp->fd != -1 &&
		    lp->p->state == PROCESS_RUNNING &&
		    lp->proto.state == LISTENERS_READY &&
		    strcmp(lp->p->conf->group, pool->name) == 0)
			return lp;
	}
	return NULL;
}

static void
listeners_on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct listeners *l = arg;
	struct listeners_pool *pool;
	struct listeners_proc *lp;
	struct listeners_entry e;

	(void)fd;
	(void)what;
	for (pool = l->pools; pool != NULL; pool = pool->next) {
		while (pool->q.n > 0 &&
		    (lp = listeners_pool_ready(l, pool)) != NULL) {
			(void)listeners_queue_pop(&pool->q, &e);
			if (!listeners_proc_send(lp, pool, e))
				break;
		}
	}
}

static void
listeners_on_answer(struct listeners_proc *lp, const char *data, size_t len)
{
	enum listeners_verdict v;
	enum listeners_lstate before;
	char why[96];
	size_t used;

	while (len > 0) {
		before = lp->proto.state;
		used = listeners_proto_step(&lp->proto, data, len, &v);
		data += used;
		len -= used;
		switch (v) {
		case LISTENERS_V_NONE:
			break;
		case LISTENERS_V_READY:
			log_debug("event listener %s: READY", lp->p->fullname);
			listeners_kick(lp->l);
			break;
		case LISTENERS_V_OK:
			log_debug("event listener %s: event %lu processed",
			    lp->p->fullname,
			    lp->busy.ev != NULL ? lp->busy.ev->serial : 0);
			listeners_event_unref(lp->busy.ev);
			lp->busy.ev = NULL;
			break;
		case LISTENERS_V_FAIL:
			log_warn("event listener %s: event %lu rejected",
			    lp->p->fullname,
			    lp->busy.ev != NULL ? lp->busy.ev->serial : 0);
			listeners_proc_requeue(lp);
			break;
		case LISTENERS_V_GARBAGE:
			snprintf(why, sizeof(why), "broke the protocol "
			    "(unexpected output while %s)",
			    listeners_lstate_name(before));
			listeners_proc_broken(lp, why);
			return;
		}
	}
}

static void
listeners_log_event(struct listeners_proc *lp, enum listeners_type t,
    const char *data, size_t len)
{
	const struct proc_conf *pc = lp->p->conf;
	struct listeners_buf b = { 0 };
	bool out = t == LISTENERS_PROCESS_LOG_STDOUT;

	if ((lp->l->mask & LISTENERS_BIT(t)) == 0 ||
	    !(out ? pc->stdout_log.events_enabled :
	    pc->stderr_log.events_enabled))
		return;
	listeners_buf_printf(&b, "processname:%s groupname:%s pid:%d "
	    "channel:%s\n", pc->name, pc->group,
	    (int)(lp->p->pid > 0 ? lp->p->pid : lp->pid),
	    out ? "stdout" : "stderr");
	listeners_add_output(&b, data, len);
	listeners_emit_buf(lp->l, t, &b);
}

static void
listeners_on_stdout(const char *data, size_t len, void *arg)
{
	struct listeners_proc *lp = arg;

	if (data == NULL) {
		/* The output goes (its process is freed). */
		lp->fout = NULL;
		if (lp->ferr == NULL)
			listeners_proc_unlink(lp);
		return;
	}
	if (lp->listener) {
		if (lp->alive)
			listeners_on_answer(lp, data, len);
		return;
	}
	listeners_log_event(lp, LISTENERS_PROCESS_LOG_STDOUT, data, len);
}

static void
listeners_on_stderr(const char *data, size_t len, void *arg)
{
	struct listeners_proc *lp = arg;

	if (data == NULL) {
		lp->ferr = NULL;
		if (lp->fout == NULL)
			listeners_proc_unlink(lp);
		return;
	}
	listeners_log_event(lp, LISTENERS_PROCESS_LOG_STDERR, data, len);
}

/* A process got a pid: follow what needs following, and a listener
 * starts its protocol over. */
static void
listeners_proc_start(struct listeners *l, const struct process *p)
{
	const struct proc_conf *pc = p->conf;
	struct listeners_proc *lp = listeners_proc_find(l, p), **pp;
	bool want_out = pc->listener || pc->stdout_log.events_enabled;
	bool want_err = !pc->redirect_stderr && pc->stderr_log.events_enabled;

	if (p->output == NULL || (lp == NULL && !want_out && !want_err))
		return;
	if (lp == NULL) {
		if ((lp = calloc(1, sizeof(*lp))) == NULL) {
			log_error("program %s: out of memory for its events",
			    p->fullname);
			return;
		}
		lp->l = l;
		lp->p = p;
		lp->fd = -1;
		for (pp = &l->procs; *pp != NULL; pp = &(*pp)->next)
			;
		*pp = lp;
	}
	if (want_out && lp->fout == NULL)
		lp->fout = output_follow(p->output, OUTPUT_STDOUT,
		    listeners_on_stdout, lp);
	else if (!want_out && lp->fout != NULL) {
		output_unfollow(lp->fout);
		lp->fout = NULL;
	}
	if (want_err && lp->ferr == NULL)
		lp->ferr = output_follow(p->output, OUTPUT_STDERR,
		    listeners_on_stderr, lp);
	else if (!want_err && lp->ferr != NULL) {
		output_unfollow(lp->ferr);
		lp->ferr = NULL;
	}
	if (lp->fout == NULL && lp->ferr == NULL) {
		listeners_proc_unlink(lp);
		return;
	}
	lp->pid = p->pid;
	lp->alive = true;
	lp->listener = pc->listener;
	listeners_proc_close(lp);
	listeners_proto_reset(&lp->proto);
	if (!lp->listener)
		return;
	if (lp->fout == NULL)
		log_error("event listener %s: cannot follow its stdout",
		    p->fullname);
	if (p->stdin_fd == -1) {
		log_error("event listener %s: no stdin pipe, it gets no "
		    "events", p->fullname);
		return;
	}
	/* Our own descriptor: process.c closes its own at the exit, before
	 * we hear of it, and a write event must never outlive its fd. */
	lp->fd = fcntl(p->stdin_fd, F_DUPFD_CLOEXEC, 3);
	if (lp->fd == -1 || fdio_set_nonblock(lp->fd, 1) == -1 ||
	    (l->base != NULL && (lp->wev = event_new(l->base, lp->fd,
	    EV_WRITE, listeners_on_writable, lp)) == NULL)) {
		log_syserr("event listener %s: its stdin", p->fullname);
		listeners_proc_close(lp);
	}
}

/* A process has no pid any more. What it wrote just before it exited
 * was read first (the pipe was readable before SIGCHLD came), so an
 * answer written on the way out still counts; whatever it held without
 * answering goes back to its pool. Later bytes of its old pipe are
 * ignored until it starts again. */
static void
listeners_proc_down(struct listeners_proc *lp)
{
	if (!lp->alive)
		return;
	lp->alive = false;
	if (lp->busy.ev != NULL)
		log_info("event listener %s: ended while busy with event %lu",
		    lp->p->fullname, lp->busy.ev->serial);
	listeners_proc_requeue(lp);
	listeners_proc_close(lp);
	listeners_proto_reset(&lp->proto);
}

static void
listeners_on_state(const struct process *p, enum process_state from,
    enum process_state to, const char *reason, void *arg)
{
	struct listeners *l = arg;
	struct listeners_buf b = { 0 };
	struct listeners_pid *known;
	struct listeners_proc *lp;
	pid_t pid = p->pid;
	bool down = false;

	(void)reason;
	switch (to) {
	case PROCESS_STARTING:
	case PROCESS_RUNNING:
	case PROCESS_STOPPING:
	case PROCESS_UNKNOWN:
		if (p->pid > 0)
			listeners_pid_set(l, p, p->pid);
		break;
	case PROCESS_EXITED:
	case PROCESS_STOPPED:
	case PROCESS_BACKOFF:
	case PROCESS_FATAL:
		if (pid <= 0 && (known = listeners_pid_find(l, p)) != NULL)
			pid = known->pid;
		if (p->pid <= 0) {
			(void)listeners_pid_drop(l, p);
			down = true;
		}
		break;
	}
	if (l->mask & LISTENERS_BIT(listeners_state_type(to))) {
		listeners_state_payload(&b, p->conf->name, p->conf->group,
		    from, to, p->backoff, process_exit_expected(p->conf,
		    p->killed_by_signal, p->exitstatus), pid);
		listeners_emit_buf(l, listeners_state_type(to), &b);
	}
	if (to == PROCESS_STARTING && p->pid > 0)
		listeners_proc_start(l, p);
	lp = listeners_proc_find(l, p);
	if (down && lp != NULL)
		listeners_proc_down(lp);
	if (to == PROCESS_RUNNING && lp != NULL && lp->listener)
		listeners_kick(l);
	if (down && l->nremovals > 0)
		listeners_check_removals(l);
}

struct listeners *
listeners_new(struct event_base *base, const struct config *cfg)
{
	struct listeners *l;
	size_t i;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->base = base;
	l->cfg = cfg;
	for (i = 0; cfg != NULL && i < cfg->ngroups; i++)
		if (cfg->groups[i]->kind == GROUP_EVENTLISTENER)
			listeners_pool_add(l, cfg->groups[i]);
	listeners_recompute(l);
	if (base != NULL) {
		l->kick = event_new(base, -1, 0, listeners_on_kick, l);
		l->tick = evtimer_new(base, listeners_on_tick, l);
		if (l->kick == NULL || l->tick == NULL)
			goto fail;
	}
	if ((l->sub = events_subscribe(listeners_on_state, l)) == NULL)
		goto fail;
	listeners_tick_arm(l);
	listeners_current = l;
	return l;
fail:
	listeners_free(l);
	return NULL;
}

void
listeners_free(struct listeners *l)
{
	struct listeners_pool *pool;
	struct listeners_proc *lp;
	size_t i;

	if (l == NULL)
		return;
	if (listeners_current == l)
		listeners_current = NULL;
	events_unsubscribe(l->sub);
	while ((lp = l->procs) != NULL) {
		output_unfollow(lp->fout);
		output_unfollow(lp->ferr);
		listeners_proc_unlink(lp);
	}
	while ((pool = l->pools) != NULL) {
		l->pools = pool->next;
		listeners_pool_free(pool);
	}
	if (l->kick != NULL)
		event_free(l->kick);
	if (l->tick != NULL)
		event_free(l->tick);
	for (i = 0; i < l->nremovals; i++)
		free(l->removals[i].group);
	for (i = 0; i < l->npids; i++)
		free(l->pids[i].group);
	free(l->removals);
	free(l->pids);
	free(l);
}

void
listeners_started(struct listeners *l, const struct config *cfg)
{
	struct listeners_buf b = { 0 };
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; cfg != NULL && i < cfg->ngroups; i++) {
		listeners_buf_printf(&b, "groupname:%s\n",
		    cfg->groups[i]->name);
		listeners_emit_buf(l, LISTENERS_PROCESS_GROUP_ADDED, &b);
	}
	listeners_emit(l, LISTENERS_SUPERVISOR_STATE_CHANGE_RUNNING, "", 0);
}

void
listeners_stopping(struct listeners *l)
{
	if (l != NULL)
		listeners_emit(l, LISTENERS_SUPERVISOR_STATE_CHANGE_STOPPING,
		    "", 0);
}

void
listeners_update(struct listeners *l, const struct config *cfg,
    const struct config_diff *diff)
{
	const struct group_conf *gc;
	struct listeners_buf b = { 0 };
	struct listeners_removal *nv;
	char *name;
	size_t i, j;

	if (l == NULL)
		return;
	l->cfg = cfg;
	for (i = 0; i < diff->nremoved; i++) {
		listeners_pool_remove(l, diff->removed[i]);
		nv = reallocarray(l->removals, l->nremovals + 1, sizeof(*nv));
		if (nv == NULL || (name = strdup(diff->removed[i])) == NULL) {
			if (nv != NULL)
				l->removals = nv;
			log_error("event listeners: out of memory");
			continue;
		}
		l->removals = nv;
		nv[l->nremovals].group = name;
		nv[l->nremovals].id = ++l->removal_seq;
		for (j = 0; j < l->npids; j++)
			if (l->pids[j].removal == 0 &&
			    strcmp(l->pids[j].group, name) == 0)
				l->pids[j].removal = nv[l->nremovals].id;
		l->nremovals++;
	}
	for (i = 0; i < diff->nchanged; i++) {
		gc = config_find_group(cfg, diff->changed[i]);
		if (gc != NULL && gc->kind == GROUP_EVENTLISTENER)
			listeners_pool_add(l, gc);
		else
			listeners_pool_remove(l, diff->changed[i]);
	}
	for (i = 0; i < diff->nadded; i++) {
		gc = config_find_group(cfg, diff->added[i]);
		if (gc != NULL && gc->kind == GROUP_EVENTLISTENER)
			listeners_pool_add(l, gc);
	}
	listeners_recompute(l);
	listeners_tick_arm(l);
	for (i = 0; i < diff->nadded; i++) {
		listeners_buf_printf(&b, "groupname:%s\n", diff->added[i]);
		listeners_emit_buf(l, LISTENERS_PROCESS_GROUP_ADDED, &b);
	}
	listeners_check_removals(l);
	listeners_kick(l);
}

int
listeners_remote_comm(const char *type, const char *data, size_t len)
{
	struct listeners *l = listeners_current;
	struct listeners_buf b = { 0 };

	if (l == NULL || len > LISTENERS_PAYLOAD_MAX ||
	    strlen(type) > LISTENERS_PAYLOAD_MAX)
		return -1;
	listeners_buf_printf(&b, "type:%s\n", type);
	listeners_buf_add(&b, data, len);
	if (b.failed) {
		listeners_buf_free(&b);
		return -1;
	}
	listeners_emit_buf(l, LISTENERS_REMOTE_COMMUNICATION, &b);
	return 0;
}

const struct listeners_queue *
listeners_queue_of(const struct listeners *l, const char *pool)
{
	const struct listeners_pool *p = listeners_pool_find(l, pool);

	return p != NULL ? &p->q : NULL;
}
