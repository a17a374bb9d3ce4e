/*
 * The registry: groups of processes built from config snapshots.
 *
 * Snapshots are immutable and reference counted here: the live one, the
 * one superd booted with (for restart_needed), every group (its
 * group_conf and its processes' proc_confs live in one snapshot), and
 * every process still running an older definition (a process being
 * stopped before it restarts with a changed definition, or a retiring
 * process of a removed group). A snapshot is freed when none of them
 * points into it any more.
 *
 * Work that follows a state change (freeing a retired process,
 * restarting a changed one, the next step of a shutdown) runs from a
 * deferred event, never from inside events_publish(): other subscribers
 * must see every change in order, and process.c must not find its
 * process freed under it.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "events.h"
#include "listeners.h"
#include "log.h"
#include "notify.h"
#include "output.h"
#include "probe.h"
#include "process.h"
#include "rpc.h"
#include "sockets.h"
#include "state.h"
#include "supervisor.h"
#include "xmalloc.h"

struct supervisor_snap {
	struct config *cfg;
	int	 refs;
	struct supervisor_snap *next;
};

struct supervisor_group {
	const struct group_conf *gc;
	struct supervisor_snap *snap;
	struct process **procs;
	size_t	 n;
};

/* A process of a removed group (or replaced by one with another full
 * name), stopping; freed once it is down. */
struct supervisor_retiree {
	struct process *p;
	struct supervisor_snap *snap;
};

/* A process whose definition changed: it stops, then starts again with
 * `conf` (from its group's snapshot). `old` is the snapshot its running
 * definition lives in. */
struct supervisor_pending {
	struct process *p;
	const struct proc_conf *conf;
	struct supervisor_snap *old;
};

#define SUPERVISOR_MAX_RESTART_KEYS 16

struct supervisor {
	struct event_base *base;
	char	*path;
	struct supervisor_snap *snaps;
	struct supervisor_snap *cur;
	struct supervisor_snap *boot;
	struct supervisor_group *groups;
	size_t	 ngroups;
	struct process **flat;
	int64_t	*keys;
	size_t	 nflat;
	struct supervisor_retiree *ret;
	size_t	 nret;
	struct supervisor_pending *pend;
	size_t	 npend;
	struct events_sub *sub;
	struct listeners *listeners;	/* [eventlistener:x] pools */
	struct event *tick;
	bool	 shutting_down;
	bool	 restarting;	/* the shutdown is supervisor.restart's */
	struct config *read;	/* the last reread, until the next apply */
	bool	 done_called;
	bool	 forced;
	void	(*done)(void *);
	void	*done_arg;
	struct event *deadline;
	const char *restart_keys[SUPERVISOR_MAX_RESTART_KEYS];
	size_t	 nrestart;
	/* What processes are given from above (process_ctx). */
	struct process_ctx ctx;
	char	*server_url;
	char	*runtime_dir;
	struct sockets *socks;
	struct state *state;
	/* depends_on: processes asked to start whose dependencies are not
	 * all RUNNING yet, and processes asked to stop while a dependent
	 * is still on its way down. */
	struct process **waiting;
	size_t	 nwaiting;
	struct process **stopq;
	size_t	 nstopq;
	/* Start order of the live snapshot's programs (config). */
	const char **order;
	size_t	 norder;
	/* Capacities reserved before an update mutates anything, so that
	 * running out of memory half way cannot lose track of a child. */
	size_t	 flatcap;
	size_t	 retcap;
	size_t	 pendcap;
};

/* ---- snapshots ---- */

static struct supervisor_snap *
supervisor_snap_new(struct supervisor *sv, struct config *cfg)
{
	struct supervisor_snap *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->cfg = cfg;
	s->next = sv->snaps;
	sv->snaps = s;
	return s;
}

static struct supervisor_snap *
supervisor_snap_ref(struct supervisor_snap *s)
{
	s->refs++;
	return s;
}

static void
supervisor_snap_unref(struct supervisor *sv, struct supervisor_snap *s)
{
	struct supervisor_snap **pp;

	if (s == NULL || --s->refs > 0)
		return;
	for (pp = &sv->snaps; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	config_free(s->cfg);
	free(s);
}

/* ---- ordering ---- */

/* Start order: group priority, then process priority. */
static int64_t
supervisor_key(int gprio, int pprio)
{
	return (int64_t)gprio * 4294967296LL + ((int64_t)pprio + 2147483648LL);
}

static int
supervisor_group_cmp(const void *a, const void *b)
{
	const struct supervisor_group *x = a, *y = b;

	if (x->gc->priority != y->gc->priority)
		return x->gc->priority < y->gc->priority ? -1 : 1;
	return strcmp(x->gc->name, y->gc->name);
}

/*
 * Make room for `nproc` processes in the flat registry (and as many
 * waiting or queued), plus every current process retiring or pending at
 * once: an update reserves first and then cannot fail half way.
 */
static int
supervisor_reserve(struct supervisor *sv, size_t nproc)
{
	struct process **v;
	struct supervisor_retiree *r;
	struct supervisor_pending *pd;
	int64_t *k;
	size_t want;

	if (nproc > sv->flatcap) {
		if ((v = reallocarray(sv->flat, nproc + 1, sizeof(*v))) ==
		    NULL)
			return -1;
		sv->flat = v;
		if ((k = reallocarray(sv->keys, nproc + 1, sizeof(*k))) ==
		    NULL)
			return -1;
		sv->keys = k;
		if ((v = reallocarray(sv->waiting, nproc + 1, sizeof(*v))) ==
		    NULL)
			return -1;
		sv->waiting = v;
		if ((v = reallocarray(sv->stopq, nproc + 1, sizeof(*v))) ==
		    NULL)
			return -1;
		sv->stopq = v;
		sv->flatcap = nproc;
	}
	want = sv->nret + sv->nflat + 1;
	if (want > sv->retcap) {
		if ((r = reallocarray(sv->ret, want, sizeof(*r))) == NULL)
			return -1;
		sv->ret = r;
		sv->retcap = want;
	}
	want = sv->npend + sv->nflat + 1;
	if (want > sv->pendcap) {
		if ((pd = reallocarray(sv->pend, want, sizeof(*pd))) == NULL)
			return -1;
		sv->pend = pd;
		sv->pendcap = want;
	}
	return 0;
}

/* The position of `program` in the live start order (depends_on first,
 * then priority); programs not found go last. */
static size_t
supervisor_order_of(const struct supervisor *sv, const char *program)
{
	size_t i;

	for (i = 0; i < sv->norder; i++)
		if (strcmp(sv->order[i], program) == 0)
			return i;
	return sv->norder;
}

static void
supervisor_set_order(struct supervisor *sv, const struct config *cfg)
{
	const char **o;
	size_t n = 0;

	if ((o = config_start_order(cfg, &n)) == NULL && cfg->ngroups > 0) {
		/* Priority alone still orders; depends_on is still waited
		 * for at start and at stop. */
		log_error("supervisor: out of memory ordering programs");
		n = 0;
	}
	free(sv->order);
	sv->order = o;
	sv->norder = n;
}

/* Fill the flat registry from the groups; room was reserved. */
static int
supervisor_rebuild(struct supervisor *sv)
{
	size_t i, j, n = 0;

	qsort(sv->groups, sv->ngroups, sizeof(*sv->groups),
	    supervisor_group_cmp);
	for (i = 0; i < sv->ngroups; i++)
		n += sv->groups[i].n;
	if (supervisor_reserve(sv, n) == -1)
		return -1;
	n = 0;
	for (i = 0; i < sv->ngroups; i++) {
		for (j = 0; j < sv->groups[i].n; j++) {
			sv->flat[n] = sv->groups[i].procs[j];
			sv->keys[n] = supervisor_key(sv->groups[i].gc->priority,
			    sv->flat[n]->conf->priority);
			n++;
		}
	}
	sv->flat[n] = NULL;
	sv->nflat = n;
	return 0;
}

struct supervisor_ord {
	struct process *p;
	size_t	 order;
	int64_t	 key;
	size_t	 idx;
};

static int
supervisor_ord_cmp(const void *a, const void *b)
{
	const struct supervisor_ord *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* ---- depends_on ---- */

static void supervisor_kick(struct supervisor *);

static bool
supervisor_listed(struct process *const *v, size_t n, const struct process *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == p)
			return true;
	return false;
}

static void
supervisor_unlist(struct process **v, size_t *n, const struct process *p)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (v[i] == p) {
			memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
			(*n)--;
			return;
		}
	}
}

/* Forget `p` in the depends_on queues (it is retired or freed). */
static void
supervisor_unqueue(struct supervisor *sv, const struct process *p)
{
	supervisor_unlist(sv->waiting, &sv->nwaiting, p);
	supervisor_unlist(sv->stopq, &sv->nstopq, p);
}

static bool
supervisor_depends(const struct proc_conf *pc, const char *program)
{
	size_t i;

	for (i = 0; pc->depends_on != NULL && pc->depends_on[i] != NULL; i++)
		if (strcmp(pc->depends_on[i], program) == 0)
			return true;
	return false;
}

/* The first program `p` depends on that has a process whose state is
 * (`is`) or is not (!`is`) `st`, or NULL when there is none. */
static const char *
supervisor_dep_find(const struct supervisor *sv, const struct process *p,
    enum process_state st, bool is)
{
	const char *dep;
	size_t i, k;

	for (i = 0; p->conf->depends_on != NULL &&
	    (dep = p->conf->depends_on[i]) != NULL; i++)
		for (k = 0; k < sv->nflat; k++)
			if (strcmp(sv->flat[k]->conf->program, dep) == 0 &&
			    (sv->flat[k]->state == st) == is)
				return dep;
	return NULL;
}

/* The first program `p` depends on that is not entirely RUNNING, or
 * NULL when every dependency is up. */
static const char *
supervisor_unmet(const struct supervisor *sv, const struct process *p)
{
	return supervisor_dep_find(sv, p, PROCESS_RUNNING, false);
}

/* A program `p` depends on that gave up (a process of it is FATAL):
 * waiting for it would never end. NULL when none. */
static const char *
supervisor_dep_failed(const struct supervisor *sv, const struct process *p)
{
	return supervisor_dep_find(sv, p, PROCESS_FATAL, true);
}

/* True while a process that depends on `p` still has a pid. */
static bool
supervisor_dependent_up(const struct supervisor *sv, const struct process *p)
{
	size_t k;

	for (k = 0; k < sv->nflat; k++)
		if (process_is_running(sv->flat[k]) &&
		    supervisor_depends(sv->flat[k]->conf, p->conf->program))
			return true;
	return false;
}

/* True while a dependent of `p` is stopping or queued to stop. */
static bool
supervisor_dependent_going(const struct supervisor *sv,
    const struct process *p)
{
	const struct process *q;
	size_t k;

	for (k = 0; k < sv->nflat; k++) {
		q = sv->flat[k];
		if (!supervisor_depends(q->conf, p->conf->program))
			continue;
		if (q->state == PROCESS_STOPPING ||
		    (process_is_running(q) &&
		    supervisor_listed(sv->stopq, sv->nstopq, q)))
			return true;
	}
	return false;
}

/*
 * Start `p` now when its dependencies are RUNNING; otherwise ask its
 * dependencies that are down to start (recursively: the graph has no
 * cycle, checked at load; depth bounds it anyway) and queue `p` to start
 * once they are up.
 */
static int
supervisor_start_dep(struct supervisor *sv, struct process *p, int depth)
{
	const char *dep;
	struct process *q;
	size_t i, k;

	if (process_is_running(p) || supervisor_unmet(sv, p) == NULL) {
		supervisor_unlist(sv->waiting, &sv->nwaiting, p);
		return process_start(p);
	}
	if (supervisor_listed(sv->waiting, sv->nwaiting, p))
		return 0;
	if (depth > 64)
		return RPC_INTERNAL_ERROR;
	for (i = 0; (dep = p->conf->depends_on[i]) != NULL; i++) {
		for (k = 0; k < sv->nflat; k++) {
			q = sv->flat[k];
			if (strcmp(q->conf->program, dep) != 0)
				continue;
			if (q->state == PROCESS_STOPPED ||
			    q->state == PROCESS_EXITED ||
			    q->state == PROCESS_FATAL)
				(void)supervisor_start_dep(sv, q, depth + 1);
		}
	}
	/* Capacity is nflat: p is listed at most once. */
	sv->waiting[sv->nwaiting++] = p;
	log_info("program %s: waiting for %s", p->fullname,
	    supervisor_unmet(sv, p));
	return 0;
}

/* Start the waiting processes whose dependencies are now up. */
static void
supervisor_release_waiters(struct supervisor *sv)
{
	const char *dep;
	struct process *p;
	size_t i;

	if (sv->shutting_down) {
		sv->nwaiting = 0;
		return;
	}
	for (i = 0; i < sv->nwaiting;) {
		p = sv->waiting[i];
		if ((dep = supervisor_dep_failed(sv, p)) != NULL) {
			log_warn("program %s: not started: %s is FATAL",
			    p->fullname, dep);
			memmove(&sv->waiting[i], &sv->waiting[i + 1],
			    (sv->nwaiting - i - 1) * sizeof(*sv->waiting));
			sv->nwaiting--;
			continue;
		}
		if (supervisor_unmet(sv, p) != NULL) {
			i++;
			continue;
		}
		memmove(&sv->waiting[i], &sv->waiting[i + 1],
		    (sv->nwaiting - i - 1) * sizeof(*sv->waiting));
		sv->nwaiting--;
		if (!process_is_running(p))
			(void)process_start(p);
	}
}

/* Stop the queued processes whose dependents are down (or are not
 * going down: `stop db` alone stops db at once). */
static void
supervisor_release_stops(struct supervisor *sv)
{
	struct process *p;
	size_t i;

	for (i = 0; i < sv->nstopq;) {
		p = sv->stopq[i];
		if (process_is_running(p) &&
		    supervisor_dependent_going(sv, p)) {
			i++;
			continue;
		}
		memmove(&sv->stopq[i], &sv->stopq[i + 1],
		    (sv->nstopq - i - 1) * sizeof(*sv->stopq));
		sv->nstopq--;
		(void)process_stop(p);
	}
}

static void
supervisor_remember(struct supervisor *sv, const struct process *p,
    enum state_action a)
{
	if (sv->state == NULL)
		return;
	if (state_set(sv->state, p->fullname, state_fingerprint(p->conf),
	    a) == -1)
		log_error("state file: out of memory remembering %s",
		    p->fullname);
	supervisor_kick(sv);
}

int
supervisor_start(struct supervisor *sv, struct process *p, bool by_hand)
{
	if (sv->shutting_down)
		return RPC_SHUTTING_DOWN;
	if (by_hand)
		supervisor_remember(sv, p, STATE_STARTED);
	supervisor_unlist(sv->stopq, &sv->nstopq, p);
	return supervisor_start_dep(sv, p, 0);
}

int
supervisor_stop(struct supervisor *sv, struct process *p, bool by_hand)
{
	if (by_hand)
		supervisor_remember(sv, p, STATE_STOPPED);
	if (supervisor_listed(sv->waiting, sv->nwaiting, p)) {
		supervisor_unlist(sv->waiting, &sv->nwaiting, p);
		return RPC_NOT_RUNNING;
	}
	if (!process_is_running(p) || p->state == PROCESS_STOPPING ||
	    !supervisor_dependent_up(sv, p))
		return process_stop(p);
	/* Decided from the loop, once this request has stopped what it
	 * stops: a dependency goes down after its dependents. */
	if (!supervisor_listed(sv->stopq, sv->nstopq, p))
		sv->stopq[sv->nstopq++] = p;
	supervisor_kick(sv);
	return 0;
}

const char *
supervisor_waiting_for(const struct supervisor *sv, const struct process *p)
{
	const char *dep;

	if (!supervisor_listed(sv->waiting, sv->nwaiting, p) ||
	    supervisor_dep_failed(sv, p) != NULL)
		return NULL;
	/* Met but not yet released (that happens from the loop): still
	 * waiting, for the last one to come up. */
	dep = supervisor_unmet(sv, p);
	return dep != NULL ? dep : p->conf->depends_on[0];
}

/*
 * Start what should run among `procs`: in the config's start order
 * (dependencies first, then priority), autostart processes and those an
 * operator started by hand before superd restarted, except those an
 * operator stopped by hand (the state file).
 */
static void
supervisor_start_ordered(struct supervisor *sv, struct process **procs,
    size_t n)
{
	struct supervisor_ord *o;
	enum state_action act;
	struct process *p;
	size_t i, k;

	if (n == 0 || sv->shutting_down)
		return;
	if ((o = calloc(n, sizeof(*o))) == NULL) {
		log_error("supervisor: out of memory starting processes");
		return;
	}
	for (i = 0; i < n; i++) {
		o[i].p = procs[i];
		o[i].idx = i;
		o[i].key = INT64_MAX;
		for (k = 0; k < sv->nflat; k++)
			if (sv->flat[k] == procs[i])
				o[i].key = sv->keys[k];
		/* The dependency order first, priority within it. */
		o[i].order = supervisor_order_of(sv, procs[i]->conf->program);
	}
	qsort(o, n, sizeof(*o), supervisor_ord_cmp);
	for (i = 0; i < n; i++) {
		p = o[i].p;
		act = sv->state != NULL ? state_get(sv->state, p->fullname,
		    state_fingerprint(p->conf)) : STATE_NONE;
		if (act == STATE_STOPPED) {
			log_info("program %s: stopped by hand (state file); "
			    "not starting it", p->fullname);
			continue;
		}
		if (act == STATE_STARTED && !p->conf->autostart)
			log_info("program %s: started by hand (state file); "
			    "starting it", p->fullname);
		if ((p->conf->autostart || act == STATE_STARTED) &&
		    !process_is_running(p))
			(void)supervisor_start_dep(sv, p, 0);
	}
	free(o);
	supervisor_kick(sv);
}

/* ---- deferred work ---- */

static void
supervisor_kick(struct supervisor *sv)
{
	if (sv->tick != NULL)
		event_active(sv->tick, EV_TIMEOUT, 0);
}

static void
supervisor_on_event(const struct process *p, enum process_state from,
    enum process_state to, const char *reason, void *arg)
{
	struct supervisor *sv = arg;

	(void)reason;
	(void)p;
	(void)from;
	(void)to;
	sv->ctx.shutting_down = sv->shutting_down;
	if (sv->nret > 0 || sv->npend > 0 || sv->shutting_down ||
	    sv->nwaiting > 0 || sv->nstopq > 0)
		supervisor_kick(sv);
}

static bool
supervisor_is_down(const struct process *p)
{
	return !process_is_running(p) && p->state != PROCESS_STOPPING;
}

static void
supervisor_finish(struct supervisor *sv)
{
	if (sv->done_called)
		return;
	sv->done_called = true;
	if (sv->deadline != NULL)
		evtimer_del(sv->deadline);
	log_info("every program stopped");
	if (sv->done != NULL)
		sv->done(sv->done_arg);
}

/*
 * One step of a shutdown: wait while anything is STOPPING; then stop
 * every running process of the highest remaining priority at once.
 * Retiring processes count as the highest priority.
 */
static void
supervisor_shutdown_step(struct supervisor *sv)
{
	int64_t best = INT64_MIN;
	bool any = false;
	size_t i;

	if (sv->done_called)
		return;
	for (i = 0; i < sv->nret; i++) {
		if (process_is_running(sv->ret[i].p)) {
			if (sv->ret[i].p->state == PROCESS_STOPPING)
				return;
			any = true;
			best = INT64_MAX;
		}
	}
	for (i = 0; i < sv->nflat; i++) {
		if (!process_is_running(sv->flat[i]))
			continue;
		if (sv->flat[i]->state == PROCESS_STOPPING)
			return;
		any = true;
		/* A dependency waits until its dependents are down. */
		if (supervisor_dependent_up(sv, sv->flat[i]))
			continue;
		if (sv->keys[i] > best)
			best = sv->keys[i];
	}
	if (!any) {
		supervisor_finish(sv);
		return;
	}
	for (i = 0; i < sv->nret; i++)
		if (best == INT64_MAX && process_is_running(sv->ret[i].p))
			(void)process_stop(sv->ret[i].p);
	for (i = 0; i < sv->nflat; i++)
		if (sv->keys[i] == best && process_is_running(sv->flat[i]) &&
		    !supervisor_dependent_up(sv, sv->flat[i]))
			(void)process_stop(sv->flat[i]);
}

static void
supervisor_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct supervisor *sv = arg;
	struct supervisor_pending pd;
	size_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < sv->nret;) {
		if (!supervisor_is_down(sv->ret[i].p)) {
			i++;
			continue;
		}
		log_debug("program %s: removed", sv->ret[i].p->fullname);
		process_free(sv->ret[i].p);
		supervisor_snap_unref(sv, sv->ret[i].snap);
		sv->ret[i] = sv->ret[--sv->nret];
	}
	for (i = 0; i < sv->npend;) {
		if (!supervisor_is_down(sv->pend[i].p)) {
			i++;
			continue;
		}
		pd = sv->pend[i];
		sv->pend[i] = sv->pend[--sv->npend];
		process_set_conf(pd.p, pd.conf);
		supervisor_snap_unref(sv, pd.old);
		if (!sv->shutting_down && pd.conf->autostart)
			(void)supervisor_start_dep(sv, pd.p, 0);
	}
	if (sv->shutting_down) {
		sv->nstopq = 0;
		supervisor_shutdown_step(sv);
	} else {
		supervisor_release_stops(sv);
		supervisor_release_waiters(sv);
	}
	if (sv->state != NULL && state_dirty(sv->state))
		(void)state_flush(sv->state);
}

static void
supervisor_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct supervisor *sv = arg;
	struct timeval tv = { 1, 0 };
	size_t i;

	(void)fd;
	(void)what;
	if (sv->forced) {
		log_error("processes still running 1s after SIGKILL; "
		    "giving up on them");
		supervisor_finish(sv);
		return;
	}
	log_warn("shutdown_timeout reached: killing what is left");
	sv->forced = true;
	for (i = 0; i < sv->nflat; i++)
		(void)process_kill(sv->flat[i]);
	for (i = 0; i < sv->nret; i++)
		(void)process_kill(sv->ret[i].p);
	evtimer_add(sv->deadline, &tv);
}

/* ---- building ---- */

static void
supervisor_group_clear(struct supervisor_group *g)
{
	free(g->procs);
	g->procs = NULL;
	g->n = 0;
}

/* A new process named after its group in the live snapshot. */
static struct process *
supervisor_process_new(struct supervisor *sv, const struct proc_conf *pc)
{
	const struct config *cfg = supervisor_config(sv);
	struct process *p;
	char *fn;

	fn = process_make_fullname(cfg != NULL ?
	    config_find_group(cfg, pc->group) : NULL, pc);
	if (fn == NULL)
		return NULL;
	p = process_new(&sv->ctx, pc, fn);
	free(fn);
	return p;
}

/* A group with fresh STOPPED processes for every definition of gc. The
 * live snapshot must already be the one gc lives in (fullnames). */
static int
supervisor_group_init(struct supervisor *sv, struct supervisor_group *g,
    const struct group_conf *gc, struct supervisor_snap *snap)
{
	size_t i;

	memset(g, 0, sizeof(*g));
	g->gc = gc;
	if ((g->procs = calloc(gc->nprocs + 1, sizeof(*g->procs))) == NULL)
		return -1;
	for (i = 0; i < gc->nprocs; i++) {
		g->procs[i] = supervisor_process_new(sv, gc->procs[i]);
		if (g->procs[i] == NULL) {
			while (i-- > 0)
				process_free(g->procs[i]);
			supervisor_group_clear(g);
			return -1;
		}
		g->n++;
	}
	g->snap = supervisor_snap_ref(snap);
	return 0;
}

static int
supervisor_socket_fd(void *arg, const struct sock_conf *sc)
{
	struct supervisor *sv = arg;

	return sv->socks != NULL ? sockets_fd(sv->socks, sc) : -1;
}

/* The context every process gets: built once, its global environment
 * following the live snapshot. */
static int
supervisor_ctx_init(struct supervisor *sv, const struct config *cfg)
{
	const char *sock = cfg->socket != NULL ? cfg->socket :
	    CONFIG_DEFAULT_SOCKET;
	const char *slash;

	if (asprintf(&sv->server_url, "unix://%s", sock) == -1) {
		sv->server_url = NULL;
		return -1;
	}
	slash = strrchr(sock, '/');
	if (slash == NULL)
		sv->runtime_dir = strdup(".");
	else if (slash == sock)
		sv->runtime_dir = strdup("/");
	else
		sv->runtime_dir = strndup(sock, (size_t)(slash - sock));
	if (sv->runtime_dir == NULL)
		return -1;
	sv->ctx.base = sv->base;
	sv->ctx.global_env = cfg->environment;
	sv->ctx.server_url = sv->server_url;
	sv->ctx.runtime_dir = sv->runtime_dir;
	sv->ctx.shutting_down = false;
	sv->ctx.socket_fd = supervisor_socket_fd;
	sv->ctx.socket_arg = sv;
	return 0;
}

struct supervisor *
supervisor_new(struct event_base *base, struct config *cfg,
    const char *config_path)
{
	struct supervisor *sv;
	struct supervisor_snap *snap;
	char err[512];
	size_t i;

	if ((sv = calloc(1, sizeof(*sv))) == NULL)
		return NULL;
	sv->base = base;
	if ((sv->path = strdup(config_path)) == NULL ||
	    (snap = supervisor_snap_new(sv, cfg)) == NULL) {
		free(sv->path);
		free(sv);
		return NULL;
	}
	sv->cur = supervisor_snap_ref(snap);
	sv->boot = supervisor_snap_ref(snap);
	if (supervisor_ctx_init(sv, cfg) == -1 ||
	    (sv->socks = sockets_new()) == NULL)
		goto fail;
	/* Every socket= is listening before the first spawn. */
	if (sockets_prepare(sv->socks, cfg, err, sizeof(err)) == -1) {
		log_error("%s", err);
		goto fail;
	}
	sockets_commit(sv->socks, cfg);
	if (cfg->state_file != NULL &&
	    (sv->state = state_new(cfg->state_file)) == NULL)
		goto fail;
	supervisor_set_order(sv, cfg);
	sv->groups = calloc(cfg->ngroups + 1, sizeof(*sv->groups));
	if (sv->groups == NULL)
		goto fail;
	for (i = 0; i < cfg->ngroups; i++) {
		if (supervisor_group_init(sv, &sv->groups[i], cfg->groups[i],
		    snap) == -1)
			goto fail;
		sv->ngroups++;
	}
	if (supervisor_rebuild(sv) == -1)
		goto fail;
	if (base != NULL) {
		sv->tick = event_new(base, -1, 0, supervisor_on_tick, sv);
		sv->deadline = evtimer_new(base, supervisor_on_deadline, sv);
		if (sv->tick == NULL || sv->deadline == NULL)
			goto fail;
	}
	if ((sv->sub = events_subscribe(supervisor_on_event, sv)) == NULL)
		goto fail;
	if ((sv->listeners = listeners_new(base, cfg)) == NULL)
		goto fail;
	return sv;
fail:
	supervisor_free(sv);
	return NULL;
}

/* At exit only (the loop is over): whatever still runs is killed and
 * waited for, up to a second. False when it could not be reaped (stuck
 * in the kernel); it is then left alone rather than freed. */
static bool
supervisor_reap_now(struct process *p)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	pid_t pid = p->pid, r;
	int st, i;

	if (!process_is_running(p))
		return true;
	(void)process_kill(p);
	for (i = 0; i < 100; i++) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			process_on_exit(p, st);
			return true;
		}
		if (r == -1 && errno != EINTR)
			break;
		nanosleep(&ts, NULL);
	}
	log_error("program %s: pid %d could not be reaped", p->fullname,
	    (int)pid);
	return false;
}

void
supervisor_free(struct supervisor *sv)
{
	struct supervisor_snap *s;
	size_t i, j;

	if (sv == NULL)
		return;
	events_unsubscribe(sv->sub);
	sv->sub = NULL;
	listeners_free(sv->listeners);
	sv->listeners = NULL;
	sv->shutting_down = true;
	for (i = 0; i < sv->nret; i++)
		if (supervisor_reap_now(sv->ret[i].p))
			process_free(sv->ret[i].p);
	for (i = 0; i < sv->ngroups; i++) {
		for (j = 0; j < sv->groups[i].n; j++)
			if (supervisor_reap_now(sv->groups[i].procs[j]))
				process_free(sv->groups[i].procs[j]);
		supervisor_group_clear(&sv->groups[i]);
	}
	free(sv->ret);
	free(sv->pend);
	free(sv->groups);
	free(sv->flat);
	free(sv->keys);
	free(sv->waiting);
	free(sv->stopq);
	free(sv->order);
	if (sv->state != NULL)
		(void)state_flush(sv->state);
	state_free(sv->state);
	sockets_free(sv->socks);
	free(sv->server_url);
	free(sv->runtime_dir);
	if (sv->tick != NULL)
		event_free(sv->tick);
	if (sv->deadline != NULL)
		event_free(sv->deadline);
	while ((s = sv->snaps) != NULL) {
		sv->snaps = s->next;
		config_free(s->cfg);
		free(s);
	}
	config_free(sv->read);
	free(sv->path);
	free(sv);
}

const struct config *
supervisor_config(const struct supervisor *sv)
{
	return sv->cur != NULL ? sv->cur->cfg : NULL;
}

const struct config *
supervisor_config_read(const struct supervisor *sv)
{
	return sv->read != NULL ? sv->read : supervisor_config(sv);
}

void
supervisor_autostart(struct supervisor *sv)
{
	listeners_started(sv->listeners, supervisor_config(sv));
	supervisor_start_ordered(sv, sv->flat, sv->nflat);
}

static struct process *
supervisor_find_pid(const struct supervisor *sv, pid_t pid)
{
	size_t i;

	for (i = 0; i < sv->nflat; i++)
		if (sv->flat[i]->pid == pid)
			return sv->flat[i];
	for (i = 0; i < sv->nret; i++)
		if (sv->ret[i].p->pid == pid)
			return sv->ret[i].p;
	return NULL;
}

void
supervisor_reap(struct supervisor *sv)
{
	struct process *p;
	pid_t pid;
	int st;

	for (;;) {
		pid = waitpid(-1, &st, WNOHANG);
		if (pid == 0)
			break;
		if (pid == -1) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				log_syserr("waitpid");
			break;
		}
		if ((p = supervisor_find_pid(sv, pid)) != NULL)
			process_on_exit(p, st);
		else if (!probe_reaped(pid, st))
			log_debug("reaped unknown pid %d", (int)pid);
	}
}

void
supervisor_shutdown(struct supervisor *sv, void (*done)(void *), void *arg)
{
	struct timeval tv;
	const struct config *cfg = supervisor_config(sv);
	size_t i;

	if (sv->shutting_down) {
		/* A real shutdown during a restart's stop takes it over. */
		if (sv->restarting) {
			sv->restarting = false;
			sv->done = done;
			sv->done_arg = arg;
		}
		return;
	}
	sv->shutting_down = true;
	sv->ctx.shutting_down = true;
	sv->nwaiting = 0;
	sv->done = done;
	sv->done_arg = arg;
	listeners_stopping(sv->listeners);
	/* Nothing waiting for a retry or a restart starts again. */
	for (i = 0; i < sv->nflat; i++)
		if (!process_is_running(sv->flat[i]))
			(void)process_stop(sv->flat[i]);
	for (i = 0; i < sv->nret; i++)
		if (!process_is_running(sv->ret[i].p))
			(void)process_stop(sv->ret[i].p);
	if (cfg != NULL && cfg->shutdown_timeout > 0 && sv->deadline != NULL) {
		tv.tv_sec = cfg->shutdown_timeout;
		tv.tv_usec = 0;
		evtimer_add(sv->deadline, &tv);
	}
	supervisor_kick(sv);
}

/* After the restart's stop, from the loop: the config again, then
 * autostart, unless a real shutdown began meanwhile. */
static void
supervisor_restart_start(evutil_socket_t fd, short what, void *arg)
{
	struct supervisor *sv = arg;
	struct config_diff diff;
	struct diags d;

	(void)fd;
	(void)what;
	if (sv->shutting_down)
		return;
	memset(&diff, 0, sizeof(diff));
	diags_init(&d);
	if (supervisor_apply_config(sv, NULL, 0, &diff, &d) == -1)
		log_error("restart: the config on disk was not applied; "
		    "starting the running one again");
	config_diff_free(&diff);
	diags_free(&d);
	log_info("restart: starting programs");
	supervisor_autostart(sv);
}

static void
supervisor_restart_stopped(void *arg)
{
	struct supervisor *sv = arg;
	struct timeval now = { 0, 0 };

	sv->shutting_down = false;
	sv->ctx.shutting_down = false;
	sv->restarting = false;
	sv->done_called = false;
	sv->forced = false;
	sv->done = NULL;
	if (sv->deadline != NULL)
		evtimer_del(sv->deadline);
	/* Not from inside the kick that found everything stopped. */
	if (event_base_once(sv->base, -1, EV_TIMEOUT, supervisor_restart_start,
	    sv, &now) == -1)
		log_error("restart: cannot schedule the start of programs");
}

void
supervisor_restart_all(struct supervisor *sv)
{
	if (sv->shutting_down)
		return;
	log_info("restart: stopping every program");
	sv->restarting = true;
	supervisor_shutdown(sv, supervisor_restart_stopped, sv);
}

bool
supervisor_restarting(const struct supervisor *sv)
{
	return sv->restarting;
}

bool
supervisor_shutting_down(const struct supervisor *sv)
{
	return sv->shutting_down;
}

struct process *const *
supervisor_processes(const struct supervisor *sv, size_t *n)
{
	*n = sv->nflat;
	return sv->flat;
}

static const struct supervisor_group *
supervisor_find_group(const struct supervisor *sv, const char *name,
    size_t len)
{
	size_t i;

	for (i = 0; i < sv->ngroups; i++)
		if (strlen(sv->groups[i].gc->name) == len &&
		    strncmp(sv->groups[i].gc->name, name, len) == 0)
			return &sv->groups[i];
	return NULL;
}

static bool
supervisor_match_one(const struct supervisor *sv, const char *name,
    bool *sel)
{
	const struct supervisor_group *g;
	const char *colon;
	bool hit = false;
	size_t i, j, k;

	if (strcmp(name, "all") == 0) {
		for (i = 0; i < sv->nflat; i++)
			sel[i] = true;
		return true;
	}
	colon = strchr(name, ':');
	if (colon != NULL) {
		g = supervisor_find_group(sv, name, (size_t)(colon - name));
		if (g == NULL)
			return false;
		for (j = 0; j < g->n; j++) {
			if (colon[1] != '\0' && strcmp(colon + 1, "*") != 0 &&
			    strcmp(colon + 1, g->procs[j]->conf->name) != 0)
				continue;
			for (k = 0; k < sv->nflat; k++)
				if (sv->flat[k] == g->procs[j])
					sel[k] = hit = true;
		}
		return hit;
	}
	for (k = 0; k < sv->nflat; k++)
		if (strcmp(sv->flat[k]->fullname, name) == 0)
			sel[k] = hit = true;
	if (hit)
		return true;
	if ((g = supervisor_find_group(sv, name, strlen(name))) != NULL) {
		for (j = 0; j < g->n; j++)
			for (k = 0; k < sv->nflat; k++)
				if (sv->flat[k] == g->procs[j])
					sel[k] = hit = true;
		return hit || g->n == 0;
	}
	for (k = 0; k < sv->nflat; k++)
		if (strcmp(sv->flat[k]->conf->name, name) == 0)
			sel[k] = hit = true;
	return hit;
}

int
supervisor_match(const struct supervisor *sv, const char *const *names,
    size_t nnames, struct process ***out, size_t *nout,
    const char **unmatched)
{
	struct process **v;
	bool *sel;
	size_t i, n = 0;

	*out = NULL;
	*nout = 0;
	*unmatched = NULL;
	if ((sel = calloc(sv->nflat + 1, sizeof(*sel))) == NULL)
		return -1;
	for (i = 0; i < nnames; i++) {
		if (!supervisor_match_one(sv, names[i], sel)) {
			*unmatched = names[i];
			free(sel);
			return -1;
		}
	}
	if ((v = calloc(sv->nflat + 1, sizeof(*v))) == NULL) {
		free(sel);
		return -1;
	}
	for (i = 0; i < sv->nflat; i++)
		if (sel[i])
			v[n++] = sv->flat[i];
	free(sel);
	*out = v;
	*nout = n;
	return 0;
}

/* ---- reread / update ---- */

static struct supervisor_group *
supervisor_group_named(struct supervisor *sv, const char *name)
{
	size_t i;

	for (i = 0; i < sv->ngroups; i++)
		if (strcmp(sv->groups[i].gc->name, name) == 0)
			return &sv->groups[i];
	return NULL;
}

bool
supervisor_group_in_use(const struct supervisor *sv, const char *name)
{
	return supervisor_group_named((struct supervisor *)(uintptr_t)sv,
	    name) != NULL;
}

static bool
supervisor_in(const char *const *names, size_t n, const char *name)
{
	size_t i;

	if (names == NULL)
		return true;
	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static int
supervisor_push_name(char ***v, size_t *n, const char *name)
{
	char **nv;

	if ((nv = reallocarray(*v, *n + 2, sizeof(**v))) == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strdup(name)) == NULL)
		return -1;
	(*n)++;
	nv[*n] = NULL;
	return 0;
}

static int
supervisor_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What differs between the running registry and `cfg`, limited to
 * `groups` (NULL: all). Running groups are compared, not the last
 * snapshot, so a partial update leaves the rest to a later one. */
static int
supervisor_diff(struct supervisor *sv, const struct config *cfg,
    const char *const *groups, size_t ngroups, struct config_diff *d)
{
	const struct supervisor_group *g;
	size_t i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < cfg->ngroups; i++) {
		const struct group_conf *gc = cfg->groups[i];

		if (!supervisor_in(groups, ngroups, gc->name))
			continue;
		g = supervisor_group_named(sv, gc->name);
		if (g == NULL) {
			if (supervisor_push_name(&d->added, &d->nadded,
			    gc->name) == -1)
				return -1;
		} else if (!group_conf_equal(g->gc, gc)) {
			if (supervisor_push_name(&d->changed, &d->nchanged,
			    gc->name) == -1)
				return -1;
		}
	}
	for (i = 0; i < sv->ngroups; i++) {
		const char *name = sv->groups[i].gc->name;

		if (supervisor_in(groups, ngroups, name) &&
		    config_find_group(cfg, name) == NULL &&
		    supervisor_push_name(&d->removed, &d->nremoved, name) == -1)
			return -1;
	}
	if (d->nadded > 1)
		qsort(d->added, d->nadded, sizeof(char *), supervisor_strcmp);
	if (d->nchanged > 1)
		qsort(d->changed, d->nchanged, sizeof(char *),
		    supervisor_strcmp);
	if (d->nremoved > 1)
		qsort(d->removed, d->nremoved, sizeof(char *),
		    supervisor_strcmp);
	return 0;
}

static void
supervisor_note_restart(struct supervisor *sv, const struct config *cfg)
{
	sv->nrestart = config_restart_needed(sv->boot->cfg, cfg,
	    sv->restart_keys, SUPERVISOR_MAX_RESTART_KEYS);
	if (sv->nrestart > SUPERVISOR_MAX_RESTART_KEYS)
		sv->nrestart = SUPERVISOR_MAX_RESTART_KEYS;
}

int
supervisor_reread(struct supervisor *sv, struct config_diff *diff,
    struct diags *diags)
{
	struct config *cfg;
	int rc;

	if ((cfg = config_load(sv->path, 0, diags)) == NULL)
		return -1;
	rc = supervisor_diff(sv, cfg, NULL, 0, diff);
	supervisor_note_restart(sv, cfg);
	/* Kept until the next read: what supervisord's getAllConfigInfo
	 * lists (avail shows a reread group before it is added). */
	config_free(sv->read);
	sv->read = cfg;
	if (rc == -1)
		diags_add(diags, sv->path, 0, false, "out of memory");
	return rc;
}

static struct supervisor_pending *
supervisor_pending_of(struct supervisor *sv, const struct process *p)
{
	size_t i;

	for (i = 0; i < sv->npend; i++)
		if (sv->pend[i].p == p)
			return &sv->pend[i];
	return NULL;
}

/* Stop `p` and free it once it is down. `snap` is its group's. */
static int
supervisor_retire(struct supervisor *sv, struct process *p,
    struct supervisor_snap *snap)
{
	struct supervisor_retiree *nr;
	struct supervisor_pending *pd;

	if (sv->nret + 1 > sv->retcap) {
		nr = reallocarray(sv->ret, sv->nret + 1, sizeof(*nr));
		if (nr == NULL)
			return -1;
		sv->ret = nr;
		sv->retcap = sv->nret + 1;
	}
	supervisor_unqueue(sv, p);
	sv->ret[sv->nret].p = p;
	if ((pd = supervisor_pending_of(sv, p)) != NULL) {
		/* Its running definition is the pending entry's snapshot. */
		sv->ret[sv->nret].snap = pd->old;
		*pd = sv->pend[--sv->npend];
	} else
		sv->ret[sv->nret].snap = supervisor_snap_ref(snap);
	sv->nret++;
	(void)process_stop(p);
	return 0;
}

/* Take g out of the running set (update's removal and
 * removeProcessGroup): its processes retire, and the last group moves
 * into its slot. The caller rebuilds the registry. */
static void
supervisor_group_drop(struct supervisor *sv, struct supervisor_group *g)
{
	size_t j;

	log_info("group %s: removed", g->gc->name);
	for (j = 0; j < g->n; j++)
		if (supervisor_retire(sv, g->procs[j], g->snap) == -1)
			log_error("supervisor: out of memory");
	supervisor_group_clear(g);
	supervisor_snap_unref(sv, g->snap);
	*g = sv->groups[--sv->ngroups];
}

/* Restart `p` with `conf` once it is down. */
static int
supervisor_pend(struct supervisor *sv, struct process *p,
    const struct proc_conf *conf, struct supervisor_snap *old)
{
	struct supervisor_pending *pd;

	if ((pd = supervisor_pending_of(sv, p)) != NULL) {
		pd->conf = conf;
		return 0;
	}
	if (sv->npend + 1 > sv->pendcap) {
		pd = reallocarray(sv->pend, sv->npend + 1, sizeof(*pd));
		if (pd == NULL)
			return -1;
		sv->pend = pd;
		sv->pendcap = sv->npend + 1;
	}
	pd = sv->pend;
	supervisor_unlist(sv->waiting, &sv->nwaiting, p);
	pd[sv->npend].p = p;
	pd[sv->npend].conf = conf;
	pd[sv->npend].old = supervisor_snap_ref(old);
	sv->npend++;
	(void)process_stop(p);
	return 0;
}

/* Move an unchanged group to the equal definitions of `gc`. */
static void
supervisor_group_move(struct supervisor *sv, struct supervisor_group *g,
    const struct group_conf *gc, struct supervisor_snap *snap)
{
	struct supervisor_pending *pd;
	size_t i;

	for (i = 0; i < g->n && i < gc->nprocs; i++) {
		if ((pd = supervisor_pending_of(sv, g->procs[i])) != NULL)
			pd->conf = gc->procs[i];
		else
			process_set_conf(g->procs[i], gc->procs[i]);
	}
	g->gc = gc;
	supervisor_snap_ref(snap);
	supervisor_snap_unref(sv, g->snap);
	g->snap = snap;
}

/* Apply a changed group: keep equal processes, restart changed ones,
 * retire removed ones, create new ones (appended to *fresh). */
static int
supervisor_group_change(struct supervisor *sv, struct supervisor_group *g,
    const struct group_conf *gc, struct supervisor_snap *snap,
    struct process **fresh, size_t *nfresh)
{
	struct process **procs, *p;
	bool *used;
	char *fn;
	size_t i, j;

	procs = calloc(gc->nprocs + 1, sizeof(*procs));
	used = calloc(g->n + 1, sizeof(*used));
	if (procs == NULL || used == NULL)
		goto fail;
	for (i = 0; i < gc->nprocs; i++) {
		const struct proc_conf *pc = gc->procs[i];

		if ((fn = process_make_fullname(gc, pc)) == NULL)
			goto fail;
		for (j = 0; j < g->n; j++)
			if (!used[j] && strcmp(g->procs[j]->fullname, fn) == 0)
				break;
		free(fn);
		if (j < g->n) {
			p = g->procs[j];
			used[j] = true;
			if (supervisor_pending_of(sv, p) == NULL &&
			    proc_conf_equal(p->conf, pc))
				process_set_conf(p, pc);
			else if (supervisor_pend(sv, p, pc, g->snap) == -1)
				goto fail;
			procs[i] = p;
			continue;
		}
		if ((procs[i] = supervisor_process_new(sv, pc)) == NULL)
			goto fail;
		fresh[(*nfresh)++] = procs[i];
	}
	for (j = 0; j < g->n; j++)
		if (!used[j] &&
		    supervisor_retire(sv, g->procs[j], g->snap) == -1)
			log_error("supervisor: out of memory retiring %s",
			    g->procs[j]->fullname);
	free(used);
	free(g->procs);
	g->procs = procs;
	g->n = gc->nprocs;
	g->gc = gc;
	supervisor_snap_ref(snap);
	supervisor_snap_unref(sv, g->snap);
	g->snap = snap;
	return 0;
fail:
	/* Only reachable on OOM. The group keeps its old processes (a
	 * pended one restarts with its new definition); the ones created
	 * here never started: drop them so that nothing starts a child
	 * no group tracks. */
	for (i = 0; procs != NULL && i < gc->nprocs; i++) {
		if (procs[i] == NULL)
			continue;
		for (j = 0; j < g->n; j++)
			if (g->procs[j] == procs[i])
				break;
		if (j < g->n)
			continue;
		for (j = 0; j < *nfresh; j++) {
			if (fresh[j] == procs[i]) {
				fresh[j] = fresh[--(*nfresh)];
				break;
			}
		}
		process_free(procs[i]);
	}
	free(used);
	free(procs);
	return -1;
}

/*
 * Close the held sockets no group of the registry uses any more. The
 * registry, not the new snapshot: after a partial update (`update web`)
 * groups left out still run their old definitions and keep their
 * sockets.
 */
static void
supervisor_commit_sockets(struct supervisor *sv)
{
	struct group_conf **gv;
	struct config view;
	size_t i;

	if ((gv = calloc(sv->ngroups + 1, sizeof(*gv))) == NULL) {
		/* Keeping a socket open a while longer is harmless. */
		log_error("supervisor: out of memory closing unused sockets");
		return;
	}
	for (i = 0; i < sv->ngroups; i++)
		gv[i] = (struct group_conf *)(uintptr_t)sv->groups[i].gc;
	memset(&view, 0, sizeof(view));
	view.groups = gv;
	view.ngroups = sv->ngroups;
	sockets_commit(sv->socks, &view);
	free(gv);
}

int
supervisor_update(struct supervisor *sv, const char *const *groups,
    size_t ngroups, struct config_diff *diff, struct diags *diags)
{
	struct config *cfg;
	struct supervisor_snap *snap, *old;
	struct supervisor_group *g, *ng;
	struct process **fresh = NULL;
	char err[512];
	size_t nfresh = 0, i, j, total = 0;

	if ((cfg = config_load(sv->path, 0, diags)) == NULL)
		return -1;
	/* The snapshot made of cfg is now the latest read. */
	config_free(sv->read);
	sv->read = NULL;
	for (i = 0; i < cfg->ngroups; i++)
		total += cfg->groups[i]->nprocs;
	if (supervisor_diff(sv, cfg, groups, ngroups, diff) == -1 ||
	    supervisor_reserve(sv, sv->nflat + total) == -1) {
		config_free(cfg);
		config_diff_free(diff);
		memset(diff, 0, sizeof(*diff));
		diags_add(diags, sv->path, 0, false, "out of memory");
		return -1;
	}
	/* Bind what is new before anything changes: a socket that cannot
	 * be bound refuses the whole update. */
	if (sockets_prepare(sv->socks, cfg, err, sizeof(err)) == -1) {
		config_free(cfg);
		config_diff_free(diff);
		memset(diff, 0, sizeof(*diff));
		diags_add(diags, sv->path, 0, false, "%s", err);
		return -1;
	}
	if ((snap = supervisor_snap_new(sv, cfg)) == NULL) {
		sockets_commit(sv->socks, sv->cur->cfg);
		config_free(cfg);
		config_diff_free(diff);
		memset(diff, 0, sizeof(*diff));
		diags_add(diags, sv->path, 0, false, "out of memory");
		return -1;
	}
	supervisor_note_restart(sv, cfg);
	ng = reallocarray(sv->groups, sv->ngroups + cfg->ngroups + 1,
	    sizeof(*ng));
	fresh = calloc(total + 1, sizeof(*fresh));
	if (ng == NULL || fresh == NULL) {
		sockets_commit(sv->socks, sv->cur->cfg);
		free(fresh);
		if (ng != NULL)
			sv->groups = ng;
		supervisor_snap_ref(snap);
		supervisor_snap_unref(sv, snap);
		config_diff_free(diff);
		memset(diff, 0, sizeof(*diff));
		diags_add(diags, sv->path, 0, false, "out of memory");
		return -1;
	}
	sv->groups = ng;
	/* From here on the new snapshot is the live one: process_new()
	 * names processes after its groups. */
	old = sv->cur;
	sv->cur = supervisor_snap_ref(snap);
	supervisor_snap_unref(sv, old);
	sv->ctx.global_env = cfg->environment;
	supervisor_set_order(sv, cfg);

	for (i = 0; i < diff->nremoved; i++) {
		if ((g = supervisor_group_named(sv, diff->removed[i])) != NULL)
			supervisor_group_drop(sv, g);
	}
	for (i = 0; i < cfg->ngroups; i++) {
		const struct group_conf *gc = cfg->groups[i];

		g = supervisor_group_named(sv, gc->name);
		if (g != NULL && group_conf_equal(g->gc, gc)) {
			supervisor_group_move(sv, g, gc, snap);
			continue;
		}
		if (!supervisor_in(groups, ngroups, gc->name))
			continue;
		if (g != NULL) {
			log_info("group %s: changed", gc->name);
			if (supervisor_group_change(sv, g, gc, snap, fresh,
			    &nfresh) == -1)
				log_error("group %s: out of memory", gc->name);
			continue;
		}
		log_info("group %s: added", gc->name);
		g = &sv->groups[sv->ngroups];
		if (supervisor_group_init(sv, g, gc, snap) == -1) {
			log_error("group %s: out of memory", gc->name);
			continue;
		}
		sv->ngroups++;
		for (j = 0; j < g->n; j++)
			fresh[nfresh++] = g->procs[j];
	}
	if (supervisor_rebuild(sv) == -1) {
		/* Not reached: room was reserved above. Starting processes
		 * the registry does not list would leave children nobody
		 * reaps, so start none. */
		log_error("supervisor: out of memory rebuilding the registry");
		nfresh = 0;
	}
	supervisor_commit_sockets(sv);
	listeners_update(sv->listeners, cfg, diff);
	supervisor_start_ordered(sv, fresh, nfresh);
	free(fresh);
	supervisor_kick(sv);
	return 0;
}

int
supervisor_remove_group(struct supervisor *sv, const char *name)
{
	struct supervisor_group *g = supervisor_group_named(sv, name);
	struct config_diff diff;
	char *copy;
	size_t j;

	if (g == NULL)
		return -1;
	for (j = 0; j < g->n; j++)
		if (process_is_running(g->procs[j]))
			return 1;
	copy = xstrdup(name);	/* name may be the group's own */
	supervisor_group_drop(sv, g);
	if (supervisor_rebuild(sv) == -1)
		log_error("supervisor: out of memory rebuilding the registry");
	supervisor_commit_sockets(sv);
	memset(&diff, 0, sizeof(diff));
	diff.removed = &copy;
	diff.nremoved = 1;
	listeners_update(sv->listeners, supervisor_config(sv), &diff);
	free(copy);
	supervisor_kick(sv);
	return 0;
}

size_t
supervisor_restart_needed(const struct supervisor *sv, const char **out,
    size_t max)
{
	size_t i;

	for (i = 0; i < sv->nrestart && i < max; i++)
		out[i] = sv->restart_keys[i];
	return i;
}

int
supervisor_reopen_logs(struct supervisor *sv)
{
	const char *logfile = sv->boot->cfg->logfile;
	int rc = 0;
	size_t i;

	for (i = 0; i < sv->nflat; i++)
		if (sv->flat[i]->output != NULL &&
		    output_reopen(sv->flat[i]->output) == -1)
			rc = -1;
	for (i = 0; i < sv->nret; i++)
		if (sv->ret[i].p->output != NULL &&
		    output_reopen(sv->ret[i].p->output) == -1)
			rc = -1;
	if (logfile != NULL && log_open_file(logfile) == -1) {
		log_syserr("cannot reopen %s", logfile);
		rc = -1;
	}
	log_info("log files reopened");
	return rc;
}

static void
supervisor_log_names(const char *what, char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		log_info("reload: %s %s", what, v[i]);
}

int
supervisor_apply_config(struct supervisor *sv, const char *const *groups,
    size_t ngroups, struct config_diff *diff, struct diags *diags)
{
	const char *keys[SUPERVISOR_MAX_RESTART_KEYS];
	char buf[1024];
	size_t i, n;
	int rc;

	memset(diff, 0, sizeof(*diff));
	if (sv->shutting_down) {
		diags_add(diags, sv->path, 0, false, "superd is shutting down");
		return -1;
	}
	notify_send("RELOADING=1");
	log_info("reloading the config");
	rc = supervisor_update(sv, groups, ngroups, diff, diags);
	/* Whoever asked (SIGHUP, superctl update, supervisorctl update) the
	 * journal gets every message, warnings at warning priority. */
	for (i = 0; i < diags->n; i++) {
		diags_format(&diags->v[i], buf, sizeof(buf));
		if (diags->v[i].warning)
			log_warn("%s", buf);
		else
			log_error("%s", buf);
	}
	if (rc == -1)
		log_error("reload failed; nothing changed");
	else {
		supervisor_log_names("added", diff->added, diff->nadded);
		supervisor_log_names("changed", diff->changed, diff->nchanged);
		supervisor_log_names("removed", diff->removed, diff->nremoved);
		n = supervisor_restart_needed(sv, keys,
		    SUPERVISOR_MAX_RESTART_KEYS);
		for (i = 0; i < n; i++)
			log_warn("reload: %s changed: restart superd to apply "
			    "it", keys[i]);
	}
	notify_send("READY=1");
	return rc;
}

const struct process_ctx *
supervisor_ctx(const struct supervisor *sv)
{
	return &sv->ctx;
}

/* ---- reexec (SPEC 13): this room's state across an exec ---- */

json_t *
supervisor_save(struct supervisor *sv, char *err, size_t errlen)
{
	json_t *o, *procs, *socks, *lis = NULL;
	size_t i;

	/* Half-done work (an update stopping what it will start again, a
	 * start waiting for a dependency) is not worth a format: wait. */
	if (sv->shutting_down || sv->nret > 0 || sv->npend > 0 ||
	    sv->nwaiting > 0 || sv->nstopq > 0) {
		snprintf(err, errlen, "superd is busy (%s); try again when it "
		    "is done", sv->shutting_down ? "shutting down" :
		    "an update, or a start or stop waiting for dependencies");
		return NULL;
	}
	/* The new image reads the state file only at start; ours must be
	 * on disk by then. */
	if (sv->state != NULL && state_dirty(sv->state))
		(void)state_flush(sv->state);
	if ((lis = listeners_save(sv->listeners, err, errlen)) == NULL)
		return NULL;
	procs = json_array();
	socks = sockets_save(sv->socks);
	o = json_object();
	if (procs == NULL || socks == NULL || o == NULL)
		goto oom;
	if (json_object_set_new(o, "listeners", lis) == -1) {
		lis = NULL;
		goto oom;
	}
	lis = NULL;
	for (i = 0; i < sv->nflat; i++)
		if (json_array_append_new(procs, process_save(sv->flat[i])) ==
		    -1)
			goto oom;
	if (json_object_set_new(o, "processes", procs) == -1) {
		procs = NULL;
		goto oom;
	}
	procs = NULL;
	if (json_object_set_new(o, "sockets", socks) == -1) {
		socks = NULL;
		goto oom;
	}
	return o;
oom:
	json_decref(lis);
	json_decref(procs);
	json_decref(socks);
	json_decref(o);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

/* The process of the registry called `name`, NULL when none. */
struct process *
supervisor_find_fullname(const struct supervisor *sv, const char *name)
{
	size_t i;

	for (i = 0; i < sv->nflat; i++)
		if (strcmp(sv->flat[i]->fullname, name) == 0)
			return sv->flat[i];
	return NULL;
}

void
supervisor_restore(struct supervisor *sv, const json_t *o)
{
	const json_t *procs = json_object_get(o, "processes"), *po;
	struct process *p;
	const char *name;
	size_t i;

	json_array_foreach(procs, i, po) {
		name = json_string_value(json_object_get(po, "name"));
		if (name == NULL)
			continue;
		if ((p = supervisor_find_fullname(sv, name)) == NULL) {
			log_error("reexec: program %s (pid %d) is not in the "
			    "config any more; left running, unsupervised",
			    name, (int)json_integer_value(json_object_get(po,
			    "pid")));
			continue;
		}
		(void)process_restore(p, po);
	}
	listeners_restore(sv->listeners, json_object_get(o, "listeners"),
	    sv->flat, sv->nflat);
	/* A child that died during the exec: its SIGCHLD came while
	 * nobody listened. */
	supervisor_reap(sv);
}
