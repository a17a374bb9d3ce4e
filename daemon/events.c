/* Publish/subscribe of process state changes: a plain list walked in
 * order. A subscriber removed while a publish is under way is only marked
 * and swept once the outermost publish returns, so callbacks may
 * unsubscribe themselves or others. */
#include <stdbool.h>
#include <stdlib.h>

#include "events.h"

struct events_sub {
	events_cb cb;
	void	*arg;
	bool	 dead;
	struct events_sub *next;
};

static struct events_sub *events_head;
static int events_depth;

struct events_sub *
events_subscribe(events_cb cb, void *arg)
{
	struct events_sub *s, **pp;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->cb = cb;
	s->arg = arg;
	for (pp = &events_head; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = s;
	return s;
}

static void
events_sweep(void)
{
	struct events_sub **pp, *s;

	pp = &events_head;
	while ((s = *pp) != NULL) {
		if (s->dead) {
			*pp = s->next;
			free(s);
		} else
			pp = &s->next;
	}
}

void
events_unsubscribe(struct events_sub *s)
{
	if (s == NULL)
		return;
	s->dead = true;
	if (events_depth == 0)
		events_sweep();
}

void
events_publish(const struct process *p, enum process_state from,
    enum process_state to, const char *reason)
{
	struct events_sub *s;

	events_depth++;
	for (s = events_head; s != NULL; s = s->next)
		if (!s->dead)
			s->cb(p, from, to, reason, s->arg);
	if (--events_depth == 0)
		events_sweep();
}
