/*
 * process.reload {names, wait?} (SPEC section 8): replace processes
 * without a gap. A process whose program has reload_signal gets that
 * signal on its main pid only (never its group: gunicorn's workers die
 * on HUP) and stays RUNNING. The others are restarted one at a time, the
 * next one stopped only once the previous one is RUNNING (ready) again,
 * so a numprocs program never has two of them down. A process that is
 * not running is started.
 *
 * The roll outlives the request: with wait=false the answer goes out at
 * once, and a client that disconnects does not stop the roll half way.
 * Every step runs from a loop event, never from inside a state change
 * notification.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#define METHODS_INTERNAL
#include "events.h"
#include "log.h"
#include "methods.h"
#include "process.h"
#include "rpc.h"
#include "supervisor.h"

/* Rolls in progress at once: each outlives its request, so a client
 * looping on reload must not grow them without bound. */
#define METHODS_RELOAD_MAX	  64

static size_t methods_reload_count;

enum methods_reload_phase {
	METHODS_RELOAD_NEXT = 0,	/* decide what to do with items[cur] */
	METHODS_RELOAD_DOWN,		/* waiting for it to stop */
	METHODS_RELOAD_UP		/* waiting for it to be RUNNING */
};

struct methods_reload_item {
	char	*name;
	bool	 done;
	bool	 ok;
	int	 code;
	char	*message;
};

struct methods_reload {
	const struct methods_env *env;
	struct methods_peer *client;	/* held while a reply is owed */
	struct methods_hook *hook;
	json_t	*id;
	bool	 wait;
	struct methods_reload_item *items;
	size_t	 n;
	size_t	 cur;
	enum methods_reload_phase phase;
	struct events_sub *sub;
	struct event *later;
};

static void
methods_reload_item_set(struct methods_reload_item *it, bool ok, int code,
    const char *message)
{
	it->done = true;
	it->ok = ok;
	it->code = code;
	free(it->message);
	it->message = message != NULL ? strdup(message) : NULL;
}

/* Forget the client: no answer is owed any more. */
static void
methods_reload_drop_client(struct methods_reload *r)
{
	if (r->client == NULL)
		return;
	methods_peer_unhook(r->client, r->hook);
	r->hook = NULL;
	methods_peer_unref(r->client);
	r->client = NULL;
}

static void
methods_reload_free(struct methods_reload *r)
{
	size_t i;

	if (r == NULL)
		return;
	methods_reload_drop_client(r);
	events_unsubscribe(r->sub);
	if (r->later != NULL)
		event_free(r->later);
	for (i = 0; i < r->n; i++) {
		free(r->items[i].name);
		free(r->items[i].message);
	}
	free(r->items);
	json_decref(r->id);
	free(r);
	methods_reload_count--;
}

/* [{name, ok, error?}]: new. With `all_ok`, every item is reported as
 * accepted (the answer of wait=false). */
static json_t *
methods_reload_result_new(const struct methods_reload *r, bool all_ok)
{
	const struct methods_reload_item *it;
	json_t *list;
	size_t i;

	if ((list = json_array()) == NULL)
		return NULL;
	for (i = 0; i < r->n; i++) {
		it = &r->items[i];
		json_array_append_new(list, methods_item_new(it->name,
		    all_ok || it->ok, it->code, it->message));
	}
	return list;
}

static void
methods_reload_reply(struct methods_reload *r, bool all_ok)
{
	struct methods_peer *client = r->client;
	json_t *result;

	if (client == NULL)
		return;
	methods_peer_ref(client);
	methods_reload_drop_client(r);
	result = methods_reload_result_new(r, all_ok);
	if (result != NULL)
		methods_send_result(client, r->id, result);
	else
		methods_send_error(client, r->id, RPC_INTERNAL_ERROR,
		    "out of memory");
	methods_peer_unref(client);
}

static void
methods_reload_on_close(void *arg)
{
	struct methods_reload *r = arg;

	/* The hook is freed by control after this call. */
	r->hook = NULL;
	methods_peer_unref(r->client);
	r->client = NULL;
}

/* The process items[cur] names now (an update may have replaced it). */
static struct process *
methods_reload_resolve(struct methods_reload *r)
{
	struct process **procs = NULL, *p = NULL;
	const char *name = r->items[r->cur].name, *unmatched;
	size_t n;

	if (supervisor_match(r->env->sup, &name, 1, &procs, &n,
	    &unmatched) == 0 && n == 1)
		p = procs[0];
	free(procs);
	return p;
}

/* A process did not come back: the roll stops there, the processes not
 * yet replaced keep running their old version. */
static void
methods_reload_abort(struct methods_reload *r, int code, const char *why,
    const char *state)
{
	char msg[400];
	size_t i;

	snprintf(msg, sizeof(msg), "%s: %s (%s)", r->items[r->cur].name, why,
	    state);
	log_warn("reload: %s", msg);
	methods_reload_item_set(&r->items[r->cur], false, code, msg);
	for (i = r->cur + 1; i < r->n; i++) {
		snprintf(msg, sizeof(msg), "%s: not reloaded: %s did not "
		    "come back", r->items[i].name, r->items[r->cur].name);
		methods_reload_item_set(&r->items[i], false,
		    RPC_ABNORMAL_TERMINATION, msg);
	}
	r->cur = r->n;
}

static void
methods_reload_next(struct methods_reload *r, bool ok, int code,
    const char *msg)
{
	methods_reload_item_set(&r->items[r->cur], ok, code, msg);
	r->cur++;
	r->phase = METHODS_RELOAD_NEXT;
}

/* Start items[cur]: 0 when started or already starting. */
static int
methods_reload_start(struct methods_reload *r, struct process *p)
{
	char msg[400];
	int rc;

	rc = supervisor_start(r->env->sup, p, false);
	if (rc == RPC_ALREADY_STARTED && p->state != PROCESS_STOPPING)
		rc = 0;
	if (rc != 0) {
		if (rc == RPC_SPAWN_ERROR && p->spawnerr[0] != '\0')
			snprintf(msg, sizeof(msg), "%s: spawn error: %.256s",
			    p->fullname, p->spawnerr);
		else
			snprintf(msg, sizeof(msg), "%s: %s", p->fullname,
			    rpc_code_name(rc));
		methods_reload_item_set(&r->items[r->cur], false, rc, msg);
		if (rc == RPC_SHUTTING_DOWN)
			methods_reload_next(r, false, rc, msg);
		else
			methods_reload_abort(r, rc, "could not start",
			    rpc_code_name(rc));
		return -1;
	}
	r->phase = METHODS_RELOAD_UP;
	return 0;
}

/*
 * Advance as far as possible; returns when the current item has to be
 * waited for (a state change schedules the next call) or when done.
 */
static void
methods_reload_step(struct methods_reload *r)
{
	struct process *p;
	char msg[300];
	int rc;

	while (r->cur < r->n) {
		if ((p = methods_reload_resolve(r)) == NULL) {
			snprintf(msg, sizeof(msg), "%s: no such process (any "
			    "more)", r->items[r->cur].name);
			methods_reload_next(r, false, RPC_NO_SUCH_PROCESS, msg);
			continue;
		}
		switch (r->phase) {
		case METHODS_RELOAD_NEXT:
			if (p->conf->reload_signal != 0 &&
			    (p->state == PROCESS_RUNNING ||
			    p->state == PROCESS_STARTING)) {
				/* kill(pid): the main process, not its
				 * group, whatever stopasgroup says. */
				rc = process_signal(p, p->conf->reload_signal);
				log_info("reload: %s: sent signal %d to pid %d",
				    p->fullname, p->conf->reload_signal,
				    (int)p->pid);
				snprintf(msg, sizeof(msg), "%s: %s",
				    p->fullname, rpc_code_name(rc));
				methods_reload_next(r, rc == 0, rc,
				    rc == 0 ? NULL : msg);
				continue;
			}
			if (process_is_running(p)) {
				log_info("reload: %s: restarting",
				    p->fullname);
				if (p->state != PROCESS_STOPPING)
					(void)supervisor_stop(r->env->sup, p,
					    false);
				r->phase = METHODS_RELOAD_DOWN;
				if (process_is_running(p))
					return;
				continue;
			}
			log_info("reload: %s: not running; starting it",
			    p->fullname);
			if (methods_reload_start(r, p) == -1)
				continue;
			break;
		case METHODS_RELOAD_DOWN:
			if (process_is_running(p))
				return;
			if (methods_reload_start(r, p) == -1)
				continue;
			break;
		case METHODS_RELOAD_UP:
			break;
		}
		/* METHODS_RELOAD_UP: RUNNING means ready. BACKOFF is
		 * still trying (FATAL once startretries are spent). */
		if (p->state == PROCESS_RUNNING) {
			methods_reload_next(r, true, 0, NULL);
			continue;
		}
		if (p->state == PROCESS_STARTING ||
		    p->state == PROCESS_BACKOFF ||
		    (p->state == PROCESS_STOPPED &&
		    supervisor_waiting_for(r->env->sup, p) != NULL))
			return;
		methods_reload_abort(r, RPC_ABNORMAL_TERMINATION,
		    "did not come back", process_state_name(p->state));
	}
	if (r->wait)
		methods_reload_reply(r, false);
	methods_reload_free(r);
}

static void
methods_reload_on_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	methods_reload_step(arg);
}

static void
methods_reload_on_event(const struct process *p, enum process_state from,
    enum process_state to, const char *reason, void *arg)
{
	struct methods_reload *r = arg;
	struct timeval now = { 0, 0 };

	(void)reason;
	(void)p;
	(void)from;
	(void)to;
	/* Act from the loop, after every subscriber saw the change. */
	evtimer_add(r->later, &now);
}

int
method_process_reload(struct methods_call *call, json_t **result)
{
	struct process **procs = NULL;
	struct methods_reload *r;
	struct timeval now = { 0, 0 };
	const char **names = NULL;
	size_t i, n, nnames;
	bool wait;

	(void)result;
	if (methods_get_bool(call, "wait", true, &wait) == -1 ||
	    methods_get_names(call, "names", true, &names, &nnames) == -1)
		return -1;
	if (methods_match(call, names, nnames, &procs, &n) == -1) {
		free(names);
		return -1;
	}
	free(names);
	if (supervisor_shutting_down(call->env->sup)) {
		free(procs);
		return methods_fail(call, RPC_SHUTTING_DOWN,
		    "superd is shutting down");
	}
	if (methods_reload_count >= METHODS_RELOAD_MAX) {
		free(procs);
		return methods_fail(call, RPC_INTERNAL_ERROR,
		    "too many reloads in progress");
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->items = calloc(n + 1, sizeof(*r->items))) == NULL) {
		free(r);
		free(procs);
		return methods_fail(call, RPC_INTERNAL_ERROR, "out of memory");
	}
	methods_reload_count++;
	r->env = call->env;
	r->wait = wait;
	r->id = call->id != NULL ? json_incref(call->id) : NULL;
	for (i = 0; i < n; i++) {
		if ((r->items[i].name = strdup(procs[i]->fullname)) == NULL)
			break;
		r->n++;
	}
	free(procs);
	if (r->n < n ||
	    (r->later = evtimer_new(call->env->base, methods_reload_on_later,
	    r)) == NULL ||
	    (r->sub = events_subscribe(methods_reload_on_event, r)) == NULL) {
		methods_reload_free(r);
		return methods_fail(call, RPC_INTERNAL_ERROR, "out of memory");
	}
	r->client = call->client;
	methods_peer_ref(r->client);
	r->hook = methods_peer_hook(r->client, methods_reload_on_close, r);
	if (r->hook == NULL) {
		/* Closed already: roll anyway, answer nobody. */
		methods_peer_unref(r->client);
		r->client = NULL;
	}
	if (!wait)
		methods_reload_reply(r, true);
	evtimer_add(r->later, &now);
	return METHODS_DEFERRED;
}
