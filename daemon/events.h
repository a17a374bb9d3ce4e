/* Publish/subscribe of process state changes. Subscribers may
 * unsubscribe themselves or others from inside a callback. */
#ifndef SUPERD_EVENTS_H
#define SUPERD_EVENTS_H

#include "process_state.h"

struct events_sub;
struct process;

/* reason: why superd itself caused the change ("health check failed 3
 * times: ..."), NULL when it was the usual course of things. */
typedef void (*events_cb)(const struct process *, enum process_state from,
    enum process_state to, const char *reason, void *arg);

/* A new subscription; NULL on allocation failure. */
struct events_sub *events_subscribe(events_cb, void *arg);
/* Ends a subscription; NULL is a no-op. */
void	events_unsubscribe(struct events_sub *);
/* Called by process.c only, once per state change. */
void	events_publish(const struct process *, enum process_state from,
	    enum process_state to, const char *reason);

#endif
