/*
 * The process.* methods of SPEC.md section 5: list, start, stop,
 * restart (with wait), signal, clear_log, tail (with follow) and stdin.
 * The table that routes to them and the param helpers are in methods.c.
 *
 */
#include <sys/types.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "events.h"
#include "log.h"
#define METHODS_INTERNAL
#include "methods.h"
#include "utf8.h"
#include "output.h"
#include "process.h"
#include "rpc.h"
#include "supervisor.h"
#include "values.h"

#define METHODS_MAX_STDIN	  (512 * 1024)
#define METHODS_TAIL_DEFAULT	  1600
#define METHODS_SIGNAL_MAX	  64

/* ---------------------------------------------------------------- */
/* process.list */

const char *
methods_log_path(const struct log_conf *log)
{
	switch (log->target) {
	case LOG_TARGET_FILE:
		return log->path != NULL ? log->path : "";
	case LOG_TARGET_STDOUT:
		return "/dev/stdout";
	case LOG_TARGET_STDERR:
		return "/dev/stderr";
	case LOG_TARGET_NONE:
	default:
		return "NONE";
	}
}

/* supervisorctl's description column for a process that is not
 * RUNNING: the spawn error, "Not started" or the stop time. */
static void
methods_describe(const struct process *p, char *buf, size_t len)
{
	struct tm tm;

	switch (p->state) {
	case PROCESS_FATAL:
	case PROCESS_BACKOFF:
		if (p->spawnerr[0] != '\0')
			snprintf(buf, len, "%s", p->spawnerr);
		else if (p->state == PROCESS_FATAL)
			snprintf(buf, len, "Exited too quickly (process log "
			    "may have details)");
		else
			snprintf(buf, len, "Exited too quickly");
		break;
	case PROCESS_STOPPED:
	case PROCESS_EXITED:
		if (p->start_time == 0)
			snprintf(buf, len, "Not started");
		else if (localtime_r(&p->stop_time, &tm) == NULL ||
		    strftime(buf, len, "%b %d %I:%M %p", &tm) == 0)
			snprintf(buf, len, "%s",
			    process_state_name(p->state));
		break;
	default:
		buf[0] = '\0';
		break;
	}
}

/* key: value (stolen) into obj; the keys here are valid literals. */
static void
methods_set(json_t *obj, const char *key, json_t *value, bool *failed)
{
	if (json_object_set_new_nocheck(obj, key, value) == -1 ||
	    value == NULL)
		*failed = true;
}

static json_t *
methods_path_new(const char *path)
{
	return methods_string_from_bytes(path, strlen(path));
}

/* One process object of SPEC.md section 5: new, NULL when out of
 * memory. `status` calls this for every process, often: set_new_nocheck
 * skips json_pack's format parsing and a key check per member. */
static json_t *
methods_process_new(const struct process *p, const struct supervisor *sup)
{
	const struct proc_conf *conf = p->conf;
	const char *state = process_state_name(p->state);
	bool failed = false;
	char desc[300];
	const char *wait;
	long up = process_uptime(p);
	json_t *o;

	if (p->state == PROCESS_RUNNING)
		snprintf(desc, sizeof(desc), "pid %ld, uptime %ld:%02ld:%02ld",
		    (long)p->pid, up / 3600, (up / 60) % 60, up % 60);
	else
		methods_describe(p, desc, sizeof(desc));
	if (p->state == PROCESS_STOPPED && sup != NULL &&
	    (wait = supervisor_waiting_for(sup, p)) != NULL)
		snprintf(desc, sizeof(desc), "waiting for %s", wait);
	if ((o = json_object()) == NULL)
		return NULL;
	methods_set(o, "name", methods_path_new(p->fullname), &failed);
	methods_set(o, "group", methods_path_new(conf->group), &failed);
	methods_set(o, "state", json_stringn_nocheck(state, strlen(state)),
	    &failed);
	methods_set(o, "pid", json_integer(process_is_running(p) ?
	    (json_int_t)p->pid : 0), &failed);
	methods_set(o, "start_time", json_integer((json_int_t)p->start_time),
	    &failed);
	methods_set(o, "stop_time", json_integer((json_int_t)p->stop_time),
	    &failed);
	methods_set(o, "uptime_s", json_integer((json_int_t)up), &failed);
	methods_set(o, "exitstatus", json_integer(p->exitstatus), &failed);
	methods_set(o, "spawnerr", methods_string_from_bytes(p->spawnerr,
	    strnlen(p->spawnerr, sizeof(p->spawnerr))), &failed);
	methods_set(o, "description", methods_path_new(desc), &failed);
	/* Why superd itself last restarted it (a failed health check). */
	methods_set(o, "reason", methods_string_from_bytes(p->reason,
	    strnlen(p->reason, sizeof(p->reason))), &failed);
	methods_set(o, "stdout_logfile",
	    methods_path_new(methods_log_path(&conf->stdout_log)), &failed);
	methods_set(o, "stderr_logfile", conf->redirect_stderr ?
	    json_stringn_nocheck("", 0) :
	    methods_path_new(methods_log_path(&conf->stderr_log)), &failed);
	if (failed) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
method_process_list(struct methods_call *call, json_t **result)
{
	struct process *const *all;
	struct process **procs = NULL;
	const char **names = NULL;
	size_t i, n, nnames;
	json_t *list, *item;

	if (methods_get_names(call, "names", false, &names, &nnames) == -1)
		return -1;
	if (nnames > 0) {
		if (methods_match(call, names, nnames, &procs, &n) == -1) {
			free(names);
			return -1;
		}
		all = procs;
	} else {
		all = supervisor_processes(call->env->sup, &n);
	}
	free(names);
	list = json_array();
	for (i = 0; list != NULL && i < n; i++) {
		if ((item = methods_process_new(all[i], call->env->sup)) == NULL ||
		    json_array_append_new(list, item) == -1) {
			json_decref(list);
			list = NULL;
		}
	}
	free(procs);
	if (list == NULL)
		return methods_fail(call, RPC_INTERNAL_ERROR, "out of memory");
	*result = list;
	return 0;
}

/* ---------------------------------------------------------------- */
/* start / stop / restart, with wait */

enum methods_op_kind {
	METHODS_OP_START,
	METHODS_OP_STOP,
	METHODS_OP_RESTART
};

/* One process of a start/stop/restart. `p` is only compared with what
 * an event hands over, never dereferenced later. */
struct methods_item {
	char	*name;
	struct process *p;
	bool	 done;
	bool	 ok;
	int	 code;
	char	*message;
};

/* A start/stop/restart in progress. */
struct methods_op {
	enum methods_op_kind kind;
	bool	 stopping;	/* restart: still in its stop half */
	bool	 wait;
	const struct methods_env *env;
	struct methods_peer *client;	/* referenced */
	struct methods_hook *hook;
	struct events_sub *sub;
	struct event *later;	/* restart: start half, off the callback */
	json_t	*id;		/* own reference, NULL: notification */
	struct methods_item *items;
	size_t	 n;
};

static void
methods_item_set(struct methods_item *it, bool ok, int code,
    const char *message)
{
	it->done = true;
	it->ok = ok;
	it->code = code;
	free(it->message);
	it->message = message != NULL ? strdup(message) : NULL;
}

static void
methods_op_free(struct methods_op *op)
{
	size_t i;

	if (op == NULL)
		return;
	events_unsubscribe(op->sub);
	if (op->later != NULL)
		event_free(op->later);
	for (i = 0; i < op->n; i++) {
		free(op->items[i].name);
		free(op->items[i].message);
	}
	free(op->items);
	json_decref(op->id);
	methods_peer_unref(op->client);
	free(op);
}

/* [{name, ok, error?}]: new. */
static json_t *
methods_op_result_new(const struct methods_op *op)
{
	const struct methods_item *it;
	json_t *list;
	size_t i;

	if ((list = json_array()) == NULL)
		return NULL;
	for (i = 0; i < op->n; i++) {
		it = &op->items[i];
		json_array_append_new(list, methods_item_new(it->name, it->ok,
		    it->code, it->message));
	}
	return list;
}

/* Judge one item from its process's state; true once it is settled. */
static bool
methods_op_judge(struct methods_op *op, struct methods_item *it,
    const struct process *p)
{
	char msg[400];

	if (it->done)
		return true;
	if (op->kind == METHODS_OP_STOP ||
	    (op->kind == METHODS_OP_RESTART && op->stopping)) {
		if (process_is_running(p))
			return false;
		methods_item_set(it, true, 0, NULL);
		return true;
	}
	/* Starting: as supervisord's startProcess(wait=True). */
	if (p->state == PROCESS_RUNNING) {
		methods_item_set(it, true, 0, NULL);
		return true;
	}
	if (p->state == PROCESS_STARTING)
		return false;
	/* depends_on: queued until its dependencies are RUNNING. */
	if (p->state == PROCESS_STOPPED &&
	    supervisor_waiting_for(op->env->sup, p) != NULL)
		return false;
	/* Only a spawn error is 103; an early exit or a start that never
	 * became ready is 104. */
	if (p->failure == PROCESS_FAIL_SPAWN) {
		snprintf(msg, sizeof(msg), "%s: spawn error: %.256s", it->name,
		    p->spawnerr);
		methods_item_set(it, false, RPC_SPAWN_ERROR, msg);
	} else if (p->failure == PROCESS_FAIL_NOT_READY) {
		snprintf(msg, sizeof(msg), "%s: %.256s (%s)", it->name,
		    p->spawnerr, process_state_name(p->state));
		methods_item_set(it, false, RPC_ABNORMAL_TERMINATION, msg);
	} else {
		snprintf(msg, sizeof(msg), "%s: exited too quickly (%s)",
		    it->name, process_state_name(p->state));
		methods_item_set(it, false, RPC_ABNORMAL_TERMINATION, msg);
	}
	return true;
}

static bool
methods_op_settled(const struct methods_op *op)
{
	size_t i;

	for (i = 0; i < op->n; i++)
		if (!op->items[i].done)
			return false;
	return true;
}

/* Answer and free; nothing of op is touched afterwards. */
static void
methods_op_finish(struct methods_op *op)
{
	struct methods_peer *client = op->client;
	json_t *result;

	methods_peer_unhook(client, op->hook);
	op->hook = NULL;
	events_unsubscribe(op->sub);
	op->sub = NULL;
	result = methods_op_result_new(op);
	methods_peer_ref(client);
	if (result != NULL)
		methods_send_result(client, op->id, result);
	else
		methods_send_error(client, op->id, RPC_INTERNAL_ERROR,
		    "out of memory");
	methods_op_free(op);
	methods_peer_unref(client);
}

static void methods_op_start_half(struct methods_op *);

static void
methods_op_on_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	methods_op_start_half(arg);
}

static void
methods_op_on_event(const struct process *p, enum process_state from,
    enum process_state to, const char *reason, void *arg)
{
	struct methods_op *op = arg;
	struct timeval now = { 0, 0 };
	size_t i;

	(void)reason;
	(void)from;
	(void)to;
	/* Every item: a start waiting for a dependency is settled by
	 * that dependency's change (it went FATAL). */
	for (i = 0; i < op->n; i++)
		if (op->items[i].p == p || (p != NULL &&
		    op->items[i].p->state == PROCESS_STOPPED))
			methods_op_judge(op, &op->items[i], op->items[i].p);
	if (!methods_op_settled(op))
		return;
	if (op->kind == METHODS_OP_RESTART && op->stopping) {
		/* Starting from inside events_publish() would nest state
		 * changes: do it from the loop instead. */
		events_unsubscribe(op->sub);
		op->sub = NULL;
		if (op->later == NULL)
			op->later = evtimer_new(op->env->base,
			    methods_op_on_later, op);
		if (op->later != NULL)
			evtimer_add(op->later, &now);
		else
			methods_op_start_half(op);
		return;
	}
	methods_op_finish(op);
}

static void
methods_op_on_close(void *arg)
{
	struct methods_op *op = arg;

	op->hook = NULL;
	methods_op_free(op);
}

/* Wait for what is unsettled (subscribing), or answer now. */
static void
methods_op_wait(struct methods_op *op)
{
	if (methods_op_settled(op)) {
		methods_op_on_event(NULL, PROCESS_UNKNOWN, PROCESS_UNKNOWN, NULL,
		    op);
		return;
	}
	if (op->sub == NULL)
		op->sub = events_subscribe(methods_op_on_event, op);
	if (op->sub == NULL) {
		methods_peer_unhook(op->client, op->hook);
		op->hook = NULL;
		methods_send_error(op->client, op->id, RPC_INTERNAL_ERROR,
		    "out of memory");
		methods_op_free(op);
	}
}

/* Start every item's process (again resolved by name: a reload may have
 * replaced it during the stop half of a restart). */
static void
methods_op_start_half(struct methods_op *op)
{
	struct process **procs;
	struct methods_item *it;
	const char *name, *unmatched;
	size_t i, n;
	int rc;

	op->stopping = false;
	for (i = 0; i < op->n; i++) {
		it = &op->items[i];
		if (op->kind == METHODS_OP_RESTART) {
			if (it->done && !it->ok)
				continue;	/* could not stop it */
			it->done = false;
		}
		name = it->name;
		procs = NULL;
		if (supervisor_match(op->env->sup, &name, 1, &procs, &n,
		    &unmatched) == -1 || n != 1) {
			free(procs);
			methods_item_set(it, false, RPC_NO_SUCH_PROCESS,
			    "no such process (any more)");
			continue;
		}
		it->p = procs[0];
		free(procs);
		if (supervisor_shutting_down(op->env->sup)) {
			methods_item_set(it, false, RPC_SHUTTING_DOWN,
			    "superd is shutting down");
			continue;
		}
		rc = supervisor_start(op->env->sup, it->p, true);
		/* SPEC: start of a running one succeeds; a stopping one
		 * is neither started nor running. */
		if (rc == RPC_ALREADY_STARTED &&
		    it->p->state != PROCESS_STOPPING)
			rc = 0;
		if (rc != 0) {
			char msg[400];

			if (rc == RPC_SPAWN_ERROR && it->p->spawnerr[0] != '\0')
				snprintf(msg, sizeof(msg), "%s: spawn error: "
				    "%.256s", it->name, it->p->spawnerr);
			else if (rc == RPC_ALREADY_STARTED)
				snprintf(msg, sizeof(msg), "%s: is stopping",
				    it->name);
			else
				snprintf(msg, sizeof(msg), "%s: %s", it->name,
				    rpc_code_name(rc));
			methods_item_set(it, false, rc, msg);
			continue;
		}
		if (!op->wait)
			methods_item_set(it, true, 0, NULL);
		else
			methods_op_judge(op, it, it->p);
	}
	methods_op_wait(op);
}

/* The stop half (stop, and restart's first step). */
static void
methods_op_stop_half(struct methods_op *op)
{
	struct methods_item *it;
	size_t i;
	int rc;

	op->stopping = op->kind == METHODS_OP_RESTART;
	for (i = 0; i < op->n; i++) {
		it = &op->items[i];
		rc = supervisor_stop(op->env->sup, it->p, true);
		if (rc != 0 && rc != RPC_NOT_RUNNING) {
			char msg[300];

			snprintf(msg, sizeof(msg), "%s: %s", it->name,
			    rpc_code_name(rc));
			methods_item_set(it, false, rc, msg);
			continue;
		}
		/* restart always waits for the stops it starts after. */
		if (!op->wait && op->kind == METHODS_OP_STOP)
			methods_item_set(it, true, 0, NULL);
		else
			methods_op_judge(op, it, it->p);
	}
	methods_op_wait(op);
}

static int
methods_op_run(struct methods_call *call, enum methods_op_kind kind)
{
	struct process **procs = NULL;
	struct methods_op *op;
	const char **names = NULL;
	size_t i, n, nnames;
	bool wait;

	if (methods_get_bool(call, "wait", true, &wait) == -1 ||
	    methods_get_names(call, "names", true, &names, &nnames) == -1)
		return -1;
	if (methods_match(call, names, nnames, &procs, &n) == -1) {
		free(names);
		return -1;
	}
	free(names);
	if (kind != METHODS_OP_STOP &&
	    supervisor_shutting_down(call->env->sup)) {
		free(procs);
		return methods_fail(call, RPC_SHUTTING_DOWN,
		    "superd is shutting down");
	}
	if (methods_peer_nhooks(call->client) >= METHODS_MAX_PENDING) {
		free(procs);
		return methods_fail(call, RPC_INTERNAL_ERROR,
		    "too many pending requests on this connection");
	}
	op = calloc(1, sizeof(*op));
	if (op == NULL || (n > 0 &&
	    (op->items = calloc(n, sizeof(*op->items))) == NULL)) {
		free(op);
		free(procs);
		return methods_fail(call, RPC_INTERNAL_ERROR, "out of memory");
	}
	op->kind = kind;
	op->wait = wait;
	op->env = call->env;
	op->client = call->client;
	methods_peer_ref(op->client);
	op->id = call->id != NULL ? json_incref(call->id) : NULL;
	op->n = n;
	for (i = 0; i < n; i++) {
		op->items[i].p = procs[i];
		op->items[i].name = strdup(procs[i]->fullname);
		if (op->items[i].name == NULL) {
			free(procs);
			methods_op_free(op);
			return methods_fail(call, RPC_INTERNAL_ERROR,
			    "out of memory");
		}
	}
	free(procs);
	op->hook = methods_peer_hook(op->client, methods_op_on_close, op);
	if (op->hook == NULL) {
		methods_op_free(op);
		return methods_fail(call, RPC_INTERNAL_ERROR,
		    "connection closed");
	}
	if (kind == METHODS_OP_START)
		methods_op_start_half(op);
	else
		methods_op_stop_half(op);
	return METHODS_DEFERRED;
}

int
method_process_start(struct methods_call *call, json_t **result)
{
	(void)result;
	return methods_op_run(call, METHODS_OP_START);
}

int
method_process_stop(struct methods_call *call, json_t **result)
{
	(void)result;
	return methods_op_run(call, METHODS_OP_STOP);
}

int
method_process_restart(struct methods_call *call, json_t **result)
{
	(void)result;
	return methods_op_run(call, METHODS_OP_RESTART);
}

/* ---------------------------------------------------------------- */
/* process.signal, process.clear_log */

static int
methods_get_signal(struct methods_call *call, int *sig)
{
	json_t *v = methods_param(call, "signal");
	char err[128];
	int s;

	if (v == NULL || json_is_null(v))
		return methods_fail(call, RPC_INVALID_PARAMS,
		    "missing parameter \"signal\"");
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 1 ||
		    json_integer_value(v) > METHODS_SIGNAL_MAX)
			return methods_fail(call, RPC_BAD_SIGNAL,
			    "bad signal %lld (1..%d)",
			    (long long)json_integer_value(v),
			    METHODS_SIGNAL_MAX);
		*sig = (int)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return methods_fail(call, RPC_INVALID_PARAMS,
		    "\"signal\" must be a name (\"HUP\") or a number");
	if (json_string_length(v) == 0 || json_string_length(v) > 16 ||
	    values_parse_signal(json_string_value(v), &s, err,
	    sizeof(err)) == -1 || s < 1 || s > METHODS_SIGNAL_MAX)
		return methods_fail(call, RPC_BAD_SIGNAL, "bad signal \"%.16s\"",
		    json_string_value(v));
	*sig = s;
	return 0;
}

/* An immediate action on one process: 0 or an rpc_code, with the
 * error's message written into msg. */
typedef int (*methods_act_fn)(struct process *, void *arg, char *msg,
    size_t len);

/* Resolve params.names and apply act to each process, in registry
 * order: the result has one {name, ok, error?} item per process. */
static int
methods_apply(struct methods_call *call, methods_act_fn act, void *arg,
    json_t **result)
{
	struct process **procs = NULL;
	const char **names = NULL;
	size_t i, n, nnames;
	char msg[300];
	json_t *list;
	int rc;

	if (methods_get_names(call, "names", true, &names, &nnames) == -1)
		return -1;
	rc = methods_match(call, names, nnames, &procs, &n);
	free(names);
	if (rc == -1)
		return -1;
	if ((list = json_array()) == NULL) {
		free(procs);
		return methods_fail(call, RPC_INTERNAL_ERROR, "out of memory");
	}
	for (i = 0; i < n; i++) {
		msg[0] = '\0';
		rc = act(procs[i], arg, msg, sizeof(msg));
		json_array_append_new(list, methods_item_new(
		    procs[i]->fullname, rc == 0, rc, msg));
	}
	free(procs);
	*result = list;
	return 0;
}

static int
methods_act_signal(struct process *p, void *arg, char *msg, size_t len)
{
	int rc = process_signal(p, *(int *)arg);

	if (rc != 0)
		snprintf(msg, len, "%s: %s", p->fullname, rpc_code_name(rc));
	return rc;
}

int
method_process_signal(struct methods_call *call, json_t **result)
{
	int sig = 0;

	if (methods_get_signal(call, &sig) == -1)
		return -1;
	return methods_apply(call, methods_act_signal, &sig, result);
}

static int
methods_act_clear_log(struct process *p, void *arg, char *msg, size_t len)
{
	(void)arg;
	if (p->output != NULL && output_clear(p->output) == 0)
		return 0;
	snprintf(msg, len, "%s: cannot clear the logs: %s", p->fullname,
	    strerror(errno));
	return RPC_INTERNAL_ERROR;
}

int
method_process_clear_log(struct methods_call *call, json_t **result)
{
	return methods_apply(call, methods_act_clear_log, NULL, result);
}

/* ---------------------------------------------------------------- */
/* process.tail with follow */

struct methods_follow {
	struct methods_peer *client;	/* not referenced: the hook ends
					 * us before the client goes */
	struct methods_hook *hook;
	/* Ours until output_free() says the output ends (data NULL): then
	 * NULL, and never looked up anywhere to guess. */
	struct output_follower *follower;
	char	*name;
	enum output_stream stream;
	unsigned char carry[4];	/* a character cut between chunks */
	size_t	 ncarry;
};

static const char *
methods_stream_name(enum output_stream s)
{
	return s == OUTPUT_STDERR ? "stderr" : "stdout";
}

static void
methods_follow_on_close(void *arg)
{
	struct methods_follow *f = arg;

	output_unfollow(f->follower);
	free(f->name);
	free(f);
}

static void
methods_follow_on_data(const char *data, size_t len, void *arg)
{
	struct methods_follow *f = arg;
	unsigned char *buf;
	size_t total, cut;
	json_t *params, *msg;

	if (data == NULL) {
		/* The output is freed with its process: the follower goes
		 * with it. The stream stays open, silent, until the client
		 * leaves (process.tail's contract has no end-of-stream). */
		f->follower = NULL;
		return;
	}
	if (len == 0)
		return;
	total = f->ncarry + len;
	if ((buf = malloc(total)) == NULL)
		return;
	memcpy(buf, f->carry, f->ncarry);
	memcpy(buf + f->ncarry, data, len);
	cut = methods_utf8_cut(buf, total);
	memcpy(f->carry, buf + total - cut, cut);
	f->ncarry = cut;
	params = json_object();
	if (params != NULL) {
		json_object_set_new(params, "name", json_string(f->name));
		json_object_set_new(params, "stream",
		    json_string(methods_stream_name(f->stream)));
		json_object_set_new(params, "data",
		    methods_string_from_bytes((char *)buf, total - cut));
	}
	free(buf);
	msg = rpc_notification_new("log.data", params);
	if (msg == NULL)
		return;
	/* On failure the client is gone and f with it: touch nothing. */
	methods_peer_send(f->client, msg);
	json_decref(msg);
}

int
method_process_tail(struct methods_call *call, json_t **result)
{
	struct methods_follow *f;
	enum output_stream stream = OUTPUT_STDOUT;
	struct process *p;
	const char *sname;
	json_int_t bytes = 0;
	uint64_t offset = 0;
	char *data = NULL;
	size_t len = 0;
	json_t *res;
	bool follow;

	if (methods_get_string(call, "stream", false, 16, &sname,
	    NULL) == -1 ||
	    methods_get_int(call, "bytes", 0, OUTPUT_RING_SIZE,
	    METHODS_TAIL_DEFAULT, &bytes) == -1 ||
	    methods_get_bool(call, "follow", false, &follow) == -1)
		return -1;
	if (sname != NULL) {
		if (strcmp(sname, "stderr") == 0)
			stream = OUTPUT_STDERR;
		else if (strcmp(sname, "stdout") != 0)
			return methods_fail(call, RPC_INVALID_PARAMS,
			    "\"stream\" must be \"stdout\" or \"stderr\"");
	}
	if (methods_one_process(call, "name", &p) == -1)
		return -1;
	if (p->output == NULL)
		return methods_fail(call, RPC_INTERNAL_ERROR,
		    "%s has no output", p->fullname);
	if (follow && methods_peer_nhooks(call->client) >=
	    METHODS_MAX_PENDING)
		return methods_fail(call, RPC_INTERNAL_ERROR,
		    "too many streams on this connection");
	if (output_tail(p->output, stream, (size_t)bytes, &data, &len,
	    &offset) == -1)
		return methods_fail(call, RPC_INTERNAL_ERROR,
		    "cannot read the output of %s", p->fullname);
	res = json_object();
	if (res == NULL) {
		free(data);
		return methods_fail(call, RPC_INTERNAL_ERROR, "out of memory");
	}
	/* A cut character at the start of the window is not the
	 * program's fault: skip its continuation bytes. */
	{
		size_t skip = 0;

		while (skip < 3 && skip < len &&
		    ((unsigned char)data[skip] & 0xc0) == 0x80)
			skip++;
		if (skip == len)
			skip = 0;
		json_object_set_new(res, "data", methods_string_from_bytes(
		    data != NULL ? data + skip : "", len - skip));
	}
	json_object_set_new(res, "offset", json_integer((json_int_t)offset));
	free(data);
	if (!follow) {
		*result = res;
		return 0;
	}
	/* The reply first, then the stream: nothing can come in between
	 * in a single-threaded loop. */
	methods_send_result(call->client, call->id, res);
	if (!methods_peer_alive(call->client))
		return METHODS_DEFERRED;
	f = calloc(1, sizeof(*f));
	if (f == NULL || (f->name = strdup(p->fullname)) == NULL) {
		free(f);
		return METHODS_DEFERRED;
	}
	f->client = call->client;
	f->stream = stream;
	f->follower = output_follow(p->output, stream, methods_follow_on_data,
	    f);
	if (f->follower == NULL) {
		free(f->name);
		free(f);
		return METHODS_DEFERRED;
	}
	f->hook = methods_peer_hook(call->client, methods_follow_on_close,
	    f);
	if (f->hook == NULL) {
		output_unfollow(f->follower);
		free(f->name);
		free(f);
	}
	return METHODS_DEFERRED;
}

/* ---------------------------------------------------------------- */
/* process.stdin */

int
method_process_stdin(struct methods_call *call, json_t **result)
{
	struct process *p;
	const char *data;
	size_t len;
	int rc;

	if (methods_get_string(call, "data", true, METHODS_MAX_STDIN, &data,
	    &len) == -1 ||
	    methods_one_process(call, "name", &p) == -1)
		return -1;
	rc = process_write_stdin(p, data, len);
	switch (rc) {
	case 0:
		*result = json_object();
		return 0;
	case RPC_NOT_RUNNING:
		return methods_fail(call, rc, "%s is not running",
		    p->fullname);
	case RPC_INVALID_PARAMS:
		return methods_fail(call, rc, "%s has no stdin pipe "
		    "(stdin = pipe in its [program] section)", p->fullname);
	case RPC_INTERNAL_ERROR:
		return methods_fail(call, rc, "the stdin pipe of %s is full",
		    p->fullname);
	default:
		return methods_fail(call, rc, "%s: %s", p->fullname,
		    rpc_code_name(rc));
	}
}

