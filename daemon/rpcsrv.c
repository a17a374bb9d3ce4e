/*
 * supervisord's XML-RPC interface (API 3.0) and log tails over HTTP,
 * on the same engine as the JSON-RPC methods: names resolve through the
 * live registry, start/stop are supervisor_start()/supervisor_stop()
 * (depends_on, the state file), signal is process_signal(), reread and
 * update are supervisor_reread() and supervisor_apply_config(). A call that waits (startProcess with wait=True...)
 * answers later: like supervisord's NOT_DONE_YET callbacks, a timer
 * polls the condition every 50 ms while the loop serves everyone else.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "config.h"
#include "http.h"
#include "http_routes.h"
#include "listeners.h"
#include "log.h"
#include "methods.h"
#include "output.h"
#include "process.h"
#include "rpc.h"
#include "supervisor.h"
#include "values.h"
#include "xmlrpc.h"

#define RPCSRV_POLL_MS	  50
#define RPCSRV_MAX_READ	  (OUTPUT_RING_SIZE)
#define RPCSRV_MAX_MULTI  256

struct rpcsrv_call {
	struct http_request *req;
	struct supervisor *sup;
	int	 role;
	struct rpcsrv_multi *multi;	/* inside system.multicall */
	int	 fault;
	char	 msg[512];
	void	(*after)(struct http_request *);
};

struct rpcsrv_op;

/*
 * A system.multicall in progress: the calls run in order, and one that
 * waits (startProcess with wait=True) holds the rest back until it
 * settles, as supervisord's multi() callback does. It owns the pending
 * op and is freed with the request when the client goes.
 */
struct rpcsrv_multi {
	struct http_request *req;
	struct supervisor *sup;
	int	 role;
	json_t	*calls;
	size_t	 next;
	json_t	*results;
	struct rpcsrv_op *pending;
	void	(*after)(struct http_request *);
};

/* Returns 0 with *result, -1 after rpcsrv_fault(), or 1 when a pending
 * operation answers later. */
typedef int (*rpcsrv_fn)(struct rpcsrv_call *, json_t *params,
    json_t **result);

static int
rpcsrv_fault(struct rpcsrv_call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
rpcsrv_fault(struct rpcsrv_call *c, int code, const char *fmt, ...)
{
	va_list ap;

	c->fault = code;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* "BAD_NAME: web" as supervisord writes faultString. */
static int
rpcsrv_fault_named(struct rpcsrv_call *c, int code, const char *text)
{
	if (text != NULL && text[0] != '\0')
		return rpcsrv_fault(c, code, "%s: %s", xmlrpc_fault_name(code),
		    text);
	return rpcsrv_fault(c, code, "%s", xmlrpc_fault_name(code));
}

/* ---------------------------------------------------------------- */
/* Params. */

static int
rpcsrv_nparams(struct rpcsrv_call *c, json_t *params, size_t min,
    size_t max)
{
	size_t n = json_array_size(params);

	if (n < min || n > max)
		return rpcsrv_fault_named(c, XMLRPC_INCORRECT_PARAMETERS, NULL);
	return 0;
}

static int
rpcsrv_str(struct rpcsrv_call *c, json_t *params, size_t i, const char **out)
{
	json_t *v = json_array_get(params, i);

	if (!json_is_string(v))
		return rpcsrv_fault_named(c, XMLRPC_INCORRECT_PARAMETERS, NULL);
	*out = json_string_value(v);
	return 0;
}

static int
rpcsrv_int(struct rpcsrv_call *c, json_t *params, size_t i, long long *out)
{
	json_t *v = json_array_get(params, i);

	if (!json_is_integer(v))
		return rpcsrv_fault_named(c, XMLRPC_INCORRECT_PARAMETERS, NULL);
	*out = json_integer_value(v);
	return 0;
}

/* Optional boolean (wait) at i; ints 0/1 accepted as xmlrpclib does. */
static int
rpcsrv_bool(struct rpcsrv_call *c, json_t *params, size_t i, bool def,
    bool *out)
{
	json_t *v = json_array_get(params, i);

	if (v == NULL)
		*out = def;
	else if (json_is_boolean(v))
		*out = json_is_true(v);
	else if (json_is_integer(v))
		*out = json_integer_value(v) != 0;
	else
		return rpcsrv_fault_named(c, XMLRPC_INCORRECT_PARAMETERS, NULL);
	return 0;
}

/* ---------------------------------------------------------------- */
/* Names, as supervisord's split_namespec: "g:p", "g:*", "name". */

static struct process *
rpcsrv_find(struct supervisor *sup, const char *group, const char *name)
{
	struct process *const *procs;
	size_t i, n;

	procs = supervisor_processes(sup, &n);
	for (i = 0; i < n; i++)
		if (strcmp(procs[i]->conf->group, group) == 0 &&
		    strcmp(procs[i]->conf->name, name) == 0)
			return procs[i];
	return NULL;
}

/*
 * Resolve a namespec: 0 with *p (NULL for a whole group, *group set),
 * -1 after BAD_NAME.
 */
static int
rpcsrv_namespec(struct rpcsrv_call *c, const char *spec, char *group,
    size_t glen, struct process **p)
{
	const char *colon = strchr(spec, ':');
	const char *pname;

	*p = NULL;
	if (colon != NULL) {
		snprintf(group, glen, "%.*s", (int)(colon - spec), spec);
		pname = colon + 1;
		if (strcmp(pname, "*") == 0)
			pname = NULL;
	} else {
		snprintf(group, glen, "%s", spec);
		pname = spec;
	}
	if (!supervisor_group_in_use(c->sup, group))
		return rpcsrv_fault_named(c, XMLRPC_BAD_NAME, spec);
	if (pname == NULL)
		return 0;
	*p = rpcsrv_find(c->sup, group, pname);
	if (*p == NULL)
		return rpcsrv_fault_named(c, XMLRPC_BAD_NAME, spec);
	return 0;
}

static int
rpcsrv_one(struct rpcsrv_call *c, const char *spec, struct process **p)
{
	char group[256];

	if (rpcsrv_namespec(c, spec, group, sizeof(group), p) == -1)
		return -1;
	if (*p == NULL)
		return rpcsrv_fault_named(c, XMLRPC_BAD_NAME, spec);
	return 0;
}

/* ---------------------------------------------------------------- */
/* Structures. */

/* supervisord says "" where process.list says NONE. */
static const char *
rpcsrv_log_path(const struct log_conf *log)
{
	return log->target == LOG_TARGET_NONE ? "" : methods_log_path(log);
}

static void
rpcsrv_spawnerr(const struct process *p, char *buf, size_t len)
{
	if (p->spawnerr[0] != '\0')
		snprintf(buf, len, "%s", p->spawnerr);
	else if (p->state == PROCESS_BACKOFF || p->state == PROCESS_FATAL)
		snprintf(buf, len, "Exited too quickly (process log may have "
		    "details)");
	else if (p->state == PROCESS_EXITED && !process_exit_expected(p->conf,
	    p->killed_by_signal, p->exitstatus))
		/* supervisord keeps this until the next spawn */
		snprintf(buf, len, "Bad exit code %d", p->killed_by_signal ?
		    -1 : p->exitstatus);
	else
		buf[0] = '\0';
}

/* supervisorctl's description, as _interpretProcessInfo builds it. */
static void
rpcsrv_describe(const struct process *p, const char *spawnerr, time_t now,
    char *buf, size_t len)
{
	struct tm tm;
	long up, days;

	switch (p->state) {
	case PROCESS_RUNNING:
		up = (long)(now - p->start_time);
		if (up < 0)
			up = 0;
		days = up / 86400;
		up %= 86400;
		if (days > 0)
			snprintf(buf, len, "pid %ld, uptime %ld day%s, "
			    "%ld:%02ld:%02ld", (long)p->pid, days,
			    days == 1 ? "" : "s", up / 3600, up / 60 % 60,
			    up % 60);
		else
			snprintf(buf, len, "pid %ld, uptime %ld:%02ld:%02ld",
			    (long)p->pid, up / 3600, up / 60 % 60, up % 60);
		break;
	case PROCESS_FATAL:
	case PROCESS_BACKOFF:
		if (spawnerr[0] != '\0')
			snprintf(buf, len, "%s", spawnerr);
		else
			snprintf(buf, len, "unknown error (try \"tail %s\")",
			    p->conf->name);
		break;
	case PROCESS_STOPPED:
	case PROCESS_EXITED:
		if (p->start_time == 0)
			snprintf(buf, len, "Not started");
		else if (localtime_r(&p->stop_time, &tm) == NULL ||
		    strftime(buf, len, "%b %d %I:%M %p", &tm) == 0)
			buf[0] = '\0';
		break;
	default:
		buf[0] = '\0';
		break;
	}
}

/*
 * exitstatus as supervisord reports it (`exitstatus or 0`): it forgets
 * the last exit at each spawn and after an exit before RUNNING, so only
 * a process that stopped or exited after running has one: -1 for a
 * death by signal, else its exit code.
 */
static int
rpcsrv_exitstatus(const struct process *p)
{
	if (p->state != PROCESS_STOPPED && p->state != PROCESS_EXITED)
		return 0;
	if (p->failure != PROCESS_FAIL_NONE)
		return 0;
	return p->exitstatus < 0 ? -1 : p->exitstatus;
}

static json_t *
rpcsrv_info(struct supervisor *sup, const struct process *p)
{
	char spawnerr[300], desc[400];
	const char *out, *err, *waiting;
	time_t now = time(NULL);

	rpcsrv_spawnerr(p, spawnerr, sizeof(spawnerr));
	rpcsrv_describe(p, spawnerr, now, desc, sizeof(desc));
	if (p->state == PROCESS_STOPPED &&
	    (waiting = supervisor_waiting_for(sup, p)) != NULL)
		snprintf(desc, sizeof(desc), "waiting for %s", waiting);
	out = rpcsrv_log_path(&p->conf->stdout_log);
	err = p->conf->redirect_stderr ? "" :
	    rpcsrv_log_path(&p->conf->stderr_log);
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:i, s:s, s:s, s:i, "
	    "s:s, s:s, s:s, s:i, s:s}",
	    "name", p->conf->name, "group", p->conf->group,
	    "start", (json_int_t)p->start_time,
	    "stop", (json_int_t)p->stop_time, "now", (json_int_t)now,
	    "state", (int)p->state, "statename", process_state_name(p->state),
	    "spawnerr", spawnerr,
	    "exitstatus", rpcsrv_exitstatus(p),
	    "logfile", out, "stdout_logfile", out, "stderr_logfile", err,
	    "pid", process_is_running(p) ? (int)p->pid : 0,
	    "description", desc);
}

static json_t *
rpcsrv_status(const struct process *p, int code, const char *desc)
{
	return json_pack("{s:s, s:s, s:i, s:s}", "name", p->conf->name,
	    "group", p->conf->group, "status", code, "description", desc);
}

/* ---------------------------------------------------------------- */
/* Pending operations: the poll of NOT_DONE_YET. */

enum rpcsrv_op_kind {
	RPCSRV_OP_START = 0,
	RPCSRV_OP_STOP
};

struct rpcsrv_item {
	char	*group;
	char	*name;
	bool	 done;
	ssize_t	 slot;	/* its place in results, or -1: appended when done */
};

struct rpcsrv_op {
	struct http_request *req;
	struct rpcsrv_multi *multi;	/* answers to it, not to req */
	struct supervisor *sup;
	enum rpcsrv_op_kind kind;
	bool	 single;	/* startProcess: a boolean or a fault */
	struct rpcsrv_item *items;
	size_t	 nitems;
	json_t	*results;	/* array of status structs (group ops) */
	struct event *timer;
};

static void rpcsrv_send_result(struct http_request *, json_t *value);
static void rpcsrv_send_fault(struct http_request *, int code,
    const char *msg);
static void rpcsrv_multi_resume(struct rpcsrv_multi *, json_t *value);

static void
rpcsrv_op_free(struct rpcsrv_op *op)
{
	size_t i;

	if (op->timer != NULL)
		event_free(op->timer);
	for (i = 0; i < op->nitems; i++) {
		free(op->items[i].group);
		free(op->items[i].name);
	}
	free(op->items);
	json_decref(op->results);
	free(op);
}

static void
rpcsrv_op_on_close(void *arg)
{
	rpcsrv_op_free(arg);
}

/*
 * One item's onwait: 0 not done yet, 1 done fine, or a fault code with
 * msg (the process went away: BAD_NAME).
 */
static int
rpcsrv_op_check(struct rpcsrv_op *op, struct rpcsrv_item *it)
{
	struct process *p = rpcsrv_find(op->sup, it->group, it->name);

	if (p == NULL)
		return XMLRPC_BAD_NAME;
	if (op->kind == RPCSRV_OP_STOP)
		return process_is_running(p) ? 0 : 1;
	switch (p->state) {
	case PROCESS_RUNNING:
		return 1;
	case PROCESS_STARTING:
		return 0;
	case PROCESS_STOPPED:
		/* depends_on: queued until what it needs is RUNNING. */
		if (supervisor_waiting_for(op->sup, p) != NULL)
			return 0;
		return XMLRPC_ABNORMAL_TERMINATION;
	case PROCESS_BACKOFF:
	case PROCESS_FATAL:
		return XMLRPC_SPAWN_ERROR;
	default:
		return XMLRPC_ABNORMAL_TERMINATION;
	}
}

/* A fault as a multicall lists it among the values: new. */
static json_t *
rpcsrv_fault_struct(int code, const char *msg)
{
	return json_pack("{s:i, s:s}", "faultCode", code, "faultString", msg);
}

/* The op's answer (value, or the fault when value is NULL); frees op. */
static void
rpcsrv_op_finish(struct rpcsrv_op *op, json_t *value, int fault,
    const char *msg)
{
	struct rpcsrv_multi *m = op->multi;

	if (m != NULL) {
		m->pending = NULL;
		rpcsrv_op_free(op);
		rpcsrv_multi_resume(m, value != NULL ? value :
		    rpcsrv_fault_struct(fault, msg));
		return;
	}
	http_on_close(op->req, NULL, NULL);
	if (value != NULL)
		rpcsrv_send_result(op->req, value);
	else
		rpcsrv_send_fault(op->req, fault, msg);
	rpcsrv_op_free(op);
}

static void
rpcsrv_op_poll(evutil_socket_t fd, short what, void *arg)
{
	struct rpcsrv_op *op = arg;
	struct timeval tv = { 0, RPCSRV_POLL_MS * 1000 };
	json_t *st;
	char spec[600];
	size_t i, left = 0;
	int rc;

	(void)fd;
	(void)what;
	for (i = 0; i < op->nitems; i++) {
		struct rpcsrv_item *it = &op->items[i];

		if (it->done)
			continue;
		rc = rpcsrv_op_check(op, it);
		if (rc == 0) {
			left++;
			continue;
		}
		it->done = true;
		snprintf(spec, sizeof(spec), "%s:%s", it->group, it->name);
		if (op->single) {
			if (rc == 1) {
				rpcsrv_op_finish(op, json_true(), 0, NULL);
			} else {
				char m[700];

				snprintf(m, sizeof(m), "%s: %s",
				    xmlrpc_fault_name(rc), spec);
				rpcsrv_op_finish(op, NULL, rc, m);
			}
			return;
		}
		st = json_pack("{s:s, s:s, s:i, s:s}", "name", it->name,
		    "group", it->group, "status", rc == 1 ? XMLRPC_SUCCESS :
		    rc, "description", rc == 1 ? "OK" :
		    rc == XMLRPC_BAD_NAME ? spec : it->name);
		if (it->slot >= 0)
			json_array_set_new(op->results, (size_t)it->slot, st);
		else
			json_array_append_new(op->results, st);
	}
	if (left > 0) {
		evtimer_add(op->timer, &tv);
		return;
	}
	rpcsrv_op_finish(op, json_incref(op->results), 0, NULL);
}

/*
 * A pending op is answered after rc was 1: to the client, or to the
 * multicall it is part of (which owns the close callback then).
 */
static void
rpcsrv_op_defer(struct rpcsrv_call *c, struct rpcsrv_op *op)
{
	struct timeval now = { 0, 0 };

	if (c->multi != NULL) {
		/* The first poll from the loop, so that a multicall never
		 * resumes inside its own step. */
		op->multi = c->multi;
		c->multi->pending = op;
		evtimer_add(op->timer, &now);
		return;
	}
	http_on_close(c->req, rpcsrv_op_on_close, op);
	rpcsrv_op_poll(-1, 0, op);
}

/* A new pending op over procs (copied names); NULL on failure. */
static struct rpcsrv_op *
rpcsrv_op_new(struct rpcsrv_call *c, enum rpcsrv_op_kind kind,
    struct process *const *procs, size_t n, json_t *results)
{
	struct rpcsrv_op *op;
	size_t i;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		return NULL;
	op->req = c->req;
	op->sup = c->sup;
	op->kind = kind;
	op->results = results != NULL ? results : json_array();
	op->items = calloc(n > 0 ? n : 1, sizeof(*op->items));
	op->timer = evtimer_new(http_request_base(c->req), rpcsrv_op_poll,
	    op);
	if (op->items == NULL || op->timer == NULL || op->results == NULL) {
		rpcsrv_op_free(op);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		op->items[i].slot = -1;
		op->items[i].group = strdup(procs[i]->conf->group);
		op->items[i].name = strdup(procs[i]->conf->name);
		op->nitems++;
		if (op->items[i].group == NULL || op->items[i].name == NULL) {
			rpcsrv_op_free(op);
			return NULL;
		}
	}
	return op;
}

/* ---------------------------------------------------------------- */
/* Process control. */

static bool
rpcsrv_running_state(enum process_state s)
{
	return s == PROCESS_RUNNING || s == PROCESS_STARTING ||
	    s == PROCESS_BACKOFF;
}

/*
 * supervisord checks the command before spawning (get_execv_args):
 * NO_FILE "can't find command 'X'" when it is not there (searched in
 * PATH without a '/'), NOT_EXECUTABLE "command at 'X' is not
 * executable" when it cannot run. Only stat()s: nothing blocks.
 */
static int
rpcsrv_check_command(struct rpcsrv_call *c, const struct proc_conf *pc)
{
	const char *prog = pc->argv != NULL ? pc->argv[0] : NULL;
	const char *path, *e;
	char buf[4096];
	struct stat st;
	bool found = false;

	if (prog == NULL || prog[0] == '\0')
		return 0;
	if (strchr(prog, '/') != NULL) {
		snprintf(buf, sizeof(buf), "%s", prog);
		found = stat(buf, &st) == 0;
	} else {
		path = getenv("PATH");
		if (path == NULL)
			path = "/usr/bin:/bin";
		for (; !found && *path != '\0'; path = *e != '\0' ? e + 1 : e) {
			e = strchr(path, ':');
			if (e == NULL)
				e = path + strlen(path);
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)(e - path),
			    path, prog);
			found = stat(buf, &st) == 0;
		}
	}
	if (!found)
		return rpcsrv_fault(c, XMLRPC_NO_FILE, "NO_FILE: can't find "
		    "command '%s'", prog);
	if (S_ISDIR(st.st_mode) || access(buf, X_OK) == -1)
		return rpcsrv_fault(c, XMLRPC_NOT_EXECUTABLE, "NOT_EXECUTABLE: "
		    "command at '%s' is not executable", buf);
	return 0;
}

/*
 * startProcess's immediate part for one process: 0 started (and
 * *settled when it need not be waited for), or -1 with the fault.
 */
static int
rpcsrv_start_one(struct rpcsrv_call *c, struct process *p, const char *spec,
    bool wait, bool *settled)
{
	int rc;

	*settled = true;
	if (rpcsrv_check_command(c, p->conf) == -1)
		return -1;
	if (rpcsrv_running_state(p->state))
		return rpcsrv_fault_named(c, XMLRPC_ALREADY_STARTED, spec);
	if (p->state == PROCESS_UNKNOWN)
		return rpcsrv_fault(c, XMLRPC_FAILED, "FAILED: %s is in an "
		    "unknown process state", spec);
	/* The supervisor's start: depends_on and the state file, as
	 * process.start. */
	rc = supervisor_start(c->sup, p, true);
	if (rc == RPC_SHUTTING_DOWN)
		return rpcsrv_fault_named(c, XMLRPC_SHUTDOWN_STATE, NULL);
	if (rc == RPC_ALREADY_STARTED)
		return rpcsrv_fault_named(c, XMLRPC_ALREADY_STARTED, spec);
	if (rc == RPC_SPAWN_ERROR)
		return rpcsrv_fault_named(c, XMLRPC_SPAWN_ERROR, spec);
	if (rc != 0)
		return rpcsrv_fault(c, XMLRPC_FAILED, "FAILED: %s", spec);
	if (p->spawnerr[0] != '\0' && !process_is_running(p)) {
		if (strstr(p->spawnerr, "can't find command") != NULL)
			return rpcsrv_fault(c, XMLRPC_NO_FILE, "NO_FILE: %s",
			    p->spawnerr);
		if (strstr(p->spawnerr, "not executable") != NULL ||
		    strstr(p->spawnerr, "permission") != NULL)
			return rpcsrv_fault(c, XMLRPC_NOT_EXECUTABLE,
			    "NOT_EXECUTABLE: %s", p->spawnerr);
		return rpcsrv_fault_named(c, XMLRPC_SPAWN_ERROR, spec);
	}
	*settled = !wait || p->state == PROCESS_RUNNING;
	return 0;
}

static int
rpcsrv_stop_one(struct rpcsrv_call *c, struct process *p, const char *spec,
    bool wait, bool *settled)
{
	int rc;

	*settled = true;
	if (!rpcsrv_running_state(p->state) && p->state != PROCESS_STOPPING)
		return rpcsrv_fault_named(c, XMLRPC_NOT_RUNNING, spec);
	rc = supervisor_stop(c->sup, p, true);
	if (rc == RPC_NOT_RUNNING)
		return rpcsrv_fault_named(c, XMLRPC_NOT_RUNNING, spec);
	if (rc != 0)
		return rpcsrv_fault(c, XMLRPC_FAILED, "FAILED: %s", spec);
	*settled = !wait || !process_is_running(p);
	return 0;
}

typedef int (*rpcsrv_one_fn)(struct rpcsrv_call *, struct process *,
    const char *, bool, bool *);

/* Every process of procs that `want` accepts: the make_allfunc of
 * supervisord, answered now or once the waited ones settle. */
static int
rpcsrv_all(struct rpcsrv_call *c, struct process **procs, size_t n,
    enum rpcsrv_op_kind kind, bool wait, json_t **result)
{
	rpcsrv_one_fn fn = kind == RPCSRV_OP_START ? rpcsrv_start_one :
	    rpcsrv_stop_one;
	struct process **later;
	ssize_t *slots;
	struct rpcsrv_op *op;
	size_t i, nlater = 0;
	json_t *results;
	char spec[600];
	bool settled, pick;

	results = json_array();
	later = calloc(n > 0 ? n : 1, sizeof(*later));
	slots = calloc(n > 0 ? n : 1, sizeof(*slots));
	if (results == NULL || later == NULL || slots == NULL) {
		json_decref(results);
		free(later);
		free(slots);
		return rpcsrv_fault(c, XMLRPC_FAILED, "FAILED: out of memory");
	}
	for (i = 0; i < n; i++) {
		struct process *p = procs[i];

		pick = kind == RPCSRV_OP_START ?
		    !rpcsrv_running_state(p->state) :
		    rpcsrv_running_state(p->state);
		if (!pick)
			continue;
		snprintf(spec, sizeof(spec), "%s:%s", p->conf->group,
		    p->conf->name);
		c->fault = 0;
		if (fn(c, p, spec, wait, &settled) == -1) {
			/* supervisord's description is the fault text */
			json_array_append_new(results, rpcsrv_status(p,
			    c->fault, c->msg));
			c->fault = 0;
			continue;
		}
		if (settled) {
			json_array_append_new(results, rpcsrv_status(p,
			    XMLRPC_SUCCESS, "OK"));
			continue;
		}
		/* supervisord has a startsecs=0 process RUNNING at once and
		 * lists it in this pass; superd waits for its exec, in the
		 * same place of the answer. */
		slots[nlater] = -1;
		if (kind == RPCSRV_OP_START && p->conf->startsecs == 0 &&
		    p->conf->ready.kind == PROBE_NONE) {
			slots[nlater] = (ssize_t)json_array_size(results);
			json_array_append_new(results, json_null());
		}
		later[nlater++] = p;
	}
	if (nlater == 0) {
		free(later);
		free(slots);
		*result = results;
		return 0;
	}
	op = rpcsrv_op_new(c, kind, later, nlater, results);
	free(later);
	if (op == NULL) {
		free(slots);
		return rpcsrv_fault(c, XMLRPC_FAILED, "FAILED: out of memory");
	}
	for (i = 0; i < nlater; i++)
		op->items[i].slot = slots[i];
	free(slots);
	rpcsrv_op_defer(c, op);
	return 1;
}

struct rpcsrv_ranked {
	struct process *p;
	size_t	 group_at;	/* first index of its group in the registry */
	size_t	 at;		/* its own index: ties keep the config order */
};

static int
rpcsrv_ranked_cmp(const void *a, const void *b)
{
	const struct rpcsrv_ranked *x = a, *y = b;

	if (x->group_at != y->group_at)
		return x->group_at < y->group_at ? -1 : 1;
	if (x->p->conf->priority != y->p->conf->priority)
		return x->p->conf->priority < y->p->conf->priority ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/*
 * supervisord's priority order: groups as the registry has them (by
 * priority, then name), and within a group a stable sort by process
 * priority alone, so equal ones keep the order [group:x] names them in.
 */
static void
rpcsrv_priority_order(struct process **procs, size_t n)
{
	struct rpcsrv_ranked *r;
	size_t i;

	if (n < 2 || (r = calloc(n, sizeof(*r))) == NULL)
		return;
	/* The registry keeps each group's processes together. */
	for (i = 0; i < n; i++) {
		r[i].p = procs[i];
		r[i].at = i;
		r[i].group_at = i > 0 && strcmp(procs[i - 1]->conf->group,
		    procs[i]->conf->group) == 0 ? r[i - 1].group_at : i;
	}
	qsort(r, n, sizeof(*r), rpcsrv_ranked_cmp);
	for (i = 0; i < n; i++)
		procs[i] = r[i].p;
	free(r);
}

/* The processes of a group (priority order), malloc'd. */
static int
rpcsrv_group_procs(struct rpcsrv_call *c, const char *group,
    struct process ***out, size_t *nout)
{
	const char *names[1];
	const char *unmatched;
	char spec[300];

	if (!supervisor_group_in_use(c->sup, group))
		return rpcsrv_fault_named(c, XMLRPC_BAD_NAME, group);
	snprintf(spec, sizeof(spec), "%s:*", group);
	names[0] = spec;
	if (supervisor_match(c->sup, names, 1, out, nout, &unmatched) == -1)
		return rpcsrv_fault_named(c, XMLRPC_BAD_NAME, group);
	rpcsrv_priority_order(*out, *nout);
	return 0;
}

static int
rpcsrv_all_procs(struct rpcsrv_call *c, struct process ***out, size_t *n)
{
	struct process *const *procs = supervisor_processes(c->sup, n);

	*out = calloc(*n > 0 ? *n : 1, sizeof(**out));
	if (*out == NULL)
		return rpcsrv_fault(c, XMLRPC_FAILED, "FAILED: out of memory");
	if (*n > 0)
		memcpy(*out, procs, *n * sizeof(**out));
	rpcsrv_priority_order(*out, *n);
	return 0;
}

static int
rpcsrv_group_op(struct rpcsrv_call *c, const char *group,
    enum rpcsrv_op_kind kind, bool wait, json_t **result)
{
	struct process **procs;
	size_t n;
	int rc;

	if (group == NULL) {
		if (rpcsrv_all_procs(c, &procs, &n) == -1)
			return -1;
	} else if (rpcsrv_group_procs(c, group, &procs, &n) == -1)
		return -1;
	rc = rpcsrv_all(c, procs, n, kind, wait, result);
	free(procs);
	return rc;
}

static int
rpcsrv_single_op(struct rpcsrv_call *c, json_t *params,
    enum rpcsrv_op_kind kind, json_t **result)
{
	struct rpcsrv_op *op;
	struct process *p;
	const char *spec;
	char group[256];
	bool wait, settled;
	int rc;

	if (rpcsrv_nparams(c, params, 1, 2) == -1 ||
	    rpcsrv_str(c, params, 0, &spec) == -1 ||
	    rpcsrv_bool(c, params, 1, true, &wait) == -1 ||
	    rpcsrv_namespec(c, spec, group, sizeof(group), &p) == -1)
		return -1;
	if (p == NULL)
		return rpcsrv_group_op(c, group, kind, wait, result);
	rc = kind == RPCSRV_OP_START ?
	    rpcsrv_start_one(c, p, spec, wait, &settled) :
	    rpcsrv_stop_one(c, p, spec, wait, &settled);
	if (rc == -1)
		return -1;
	if (settled) {
		*result = json_true();
		return 0;
	}
	if ((op = rpcsrv_op_new(c, kind, &p, 1, NULL)) == NULL)
		return rpcsrv_fault(c, XMLRPC_FAILED, "FAILED: out of memory");
	op->single = true;
	rpcsrv_op_defer(c, op);
	return 1;
}

static int
rpcsrv_startProcess(struct rpcsrv_call *c, json_t *params, json_t **result)
{
	return rpcsrv_single_op(c, params, RPCSRV_OP_START, result);
}

static int
rpcsrv_stopProcess(struct rpcsrv_call *c, json_t *params, json_t **result)
{
	return rpcsrv_single_op(c, params, RPCSRV_OP_STOP, result);
}

static int
rpcsrv_groupcall(struct rpcsrv_call *c, json_t *params,
    enum rpcsrv_op_kind kind, bool all, json_t **result)
{
	const char *group = NULL;
	bool wait;

	if (rpcsrv_nparams(c, params, all ? 0 : 1, all ? 1 : 2) == -1 ||
	    (!all && rpcsrv_str(c, params, 0, &group) == -1) ||
	    rpcsrv_bool(c, params, all ? 0 : 1, true, &wait) == -1)
		return -1;
	return rpcsrv_group_op(c, group, kind, wait, result);
}

static int
rpcsrv_startProcessGroup(struct rpcsrv_call *c, json_t *params, json_t **r)
{
	return rpcsrv_groupcall(c, params, RPCSRV_OP_START, false, r);
}

static int
rpcsrv_startAllProcesses(struct rpcsrv_call *c, json_t *params, json_t **r)
{
	return rpcsrv_groupcall(c, params, RPCSRV_OP_START, true, r);
}

static int
rpcsrv_stopProcessGroup(struct rpcsrv_call *c, json_t *params, json_t **r)
{
	return rpcsrv_groupcall(c, params, RPCSRV_OP_STOP, false, r);
}

static int
rpcsrv_stopAllProcesses(struct rpcsrv_call *c, json_t *params, json_t **r)
{
	return rpcsrv_groupcall(c, params, RPCSRV_OP_STOP, true, r);
}

/* signalProcess and friends. */
static int
rpcsrv_signal_one(struct rpcsrv_call *c, struct process *p, const char *spec,
    int sig)
{
	int rc;

	if (p->state != PROCESS_RUNNING && p->state != PROCESS_STARTING &&
	    p->state != PROCESS_STOPPING)
		return rpcsrv_fault_named(c, XMLRPC_NOT_RUNNING, spec);
	rc = process_signal(p, sig);
	if (rc == RPC_NOT_RUNNING)
		return rpcsrv_fault_named(c, XMLRPC_NOT_RUNNING, spec);
	if (rc == RPC_BAD_SIGNAL)
		return rpcsrv_fault_named(c, XMLRPC_BAD_SIGNAL, spec);
	if (rc != 0)
		return rpcsrv_fault(c, XMLRPC_FAILED, "FAILED: %s", spec);
	return 0;
}

static int
rpcsrv_parse_signal(struct rpcsrv_call *c, json_t *v, int *sig)
{
	char err[128], buf[64];

	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld",
		    (long long)json_integer_value(v));
	} else if (json_is_string(v))
		snprintf(buf, sizeof(buf), "%s", json_string_value(v));
	else
		return rpcsrv_fault_named(c, XMLRPC_INCORRECT_PARAMETERS, NULL);
	if (values_parse_signal(buf, sig, err, sizeof(err)) == -1 ||
	    *sig <= 0 || *sig >= 65)
		return rpcsrv_fault_named(c, XMLRPC_BAD_SIGNAL, buf);
	return 0;
}

static int
rpcsrv_signal_many(struct rpcsrv_call *c, struct process **procs, size_t n,
    int sig, json_t **result)
{
	json_t *results = json_array();
	char spec[600];
	size_t i;

	for (i = 0; i < n; i++) {
		struct process *p = procs[i];

		if (p->state != PROCESS_RUNNING &&
		    p->state != PROCESS_STARTING &&
		    p->state != PROCESS_STOPPING)
			continue;
		snprintf(spec, sizeof(spec), "%s:%s", p->conf->group,
		    p->conf->name);
		if (rpcsrv_signal_one(c, p, spec, sig) == -1) {
			json_array_append_new(results, rpcsrv_status(p,
			    c->fault, c->msg));
			c->fault = 0;
		} else
			json_array_append_new(results, rpcsrv_status(p,
			    XMLRPC_SUCCESS, "OK"));
	}
	*result = results;
	return 0;
}

static int
rpcsrv_signalProcess(struct rpcsrv_call *c, json_t *params, json_t **result)
{
	struct process *p, **procs;
	const char *spec;
	char group[256];
	size_t n;
	int sig, rc;

	if (rpcsrv_nparams(c, params, 2, 2) == -1 ||
	    rpcsrv_str(c, params, 0, &spec) == -1 ||
	    rpcsrv_namespec(c, spec, group, sizeof(group), &p) == -1)
		return -1;
	if (rpcsrv_parse_signal(c, json_array_get(params, 1), &sig) == -1)
		return -1;
	if (p == NULL) {
		if (rpcsrv_group_procs(c, group, &procs, &n) == -1)
			return -1;
		rc = rpcsrv_signal_many(c, procs, n, sig, result);
		free(procs);
		return rc;
	}
	if (rpcsrv_signal_one(c, p, spec, sig) == -1)
		return -1;
	*result = json_true();
	return 0;
}

static int
rpcsrv_signalProcessGroup(struct rpcsrv_call *c, json_t *params,
    json_t **result)
{
	struct process **procs;
	const char *group;
	size_t n;
	int sig, rc;

	if (rpcsrv_nparams(c, params, 2, 2) == -1 ||
	    rpcsrv_str(c, params, 0, &group) == -1 ||
	    rpcsrv_group_procs(c, group, &procs, &n) == -1)
		return -1;
	if (rpcsrv_parse_signal(c, json_array_get(params, 1), &sig) == -1) {
		free(procs);
		return -1;
	}
	rc = rpcsrv_signal_many(c, procs, n, sig, result);
	free(procs);
	return rc;
}

static int
rpcsrv_signalAllProcesses(struct rpcsrv_call *c, json_t *params,
    json_t **result)
{
	struct process **procs;
	size_t n;
	int sig, rc;

	if (rpcsrv_nparams(c, params, 1, 1) == -1 ||
	    rpcsrv_parse_signal(c, json_array_get(params, 0), &sig) == -1 ||
	    rpcsrv_all_procs(c, &procs, &n) == -1)
		return -1;
	rc = rpcsrv_signal_many(c, procs, n, sig, result);
	free(procs);
	return rc;
}

static int
rpcsrv_sendProcessStdin(struct rpcsrv_call *c, json_t *params,
    json_t **result)
{
	struct process *p;
	const char *spec, *chars;
	int rc;

	if (rpcsrv_nparams(c, params, 2, 2) == -1 ||
	    rpcsrv_str(c, params, 0, &spec) == -1 ||
	    rpcsrv_str(c, params, 1, &chars) == -1 ||
	    rpcsrv_one(c, spec, &p) == -1)
		return -1;
	if (!process_is_running(p))
		return rpcsrv_fault_named(c, XMLRPC_NOT_RUNNING, spec);
	rc = process_write_stdin(p, chars,
	    json_string_length(json_array_get(params, 1)));
	if (rc == RPC_NOT_RUNNING)
		return rpcsrv_fault_named(c, XMLRPC_NOT_RUNNING, spec);
	if (rc == RPC_INVALID_PARAMS)
		return rpcsrv_fault(c, XMLRPC_NO_FILE,
		    "NO_FILE: %s has no stdin pipe (stdin = pipe)", spec);
	if (rc != 0)
		return rpcsrv_fault(c, XMLRPC_FAILED, "FAILED: %s", spec);
	*result = json_true();
	return 0;
}

static int
rpcsrv_sendRemoteCommEvent(struct rpcsrv_call *c, json_t *params,
    json_t **result)
{
	const char *type, *data;

	/* A REMOTE_COMMUNICATION event for the listeners (listeners.c). */
	if (rpcsrv_nparams(c, params, 2, 2) == -1 ||
	    rpcsrv_str(c, params, 0, &type) == -1 ||
	    rpcsrv_str(c, params, 1, &data) == -1)
		return -1;
	if (listeners_remote_comm(type, data,
	    json_string_length(json_array_get(params, 1))) == -1)
		return rpcsrv_fault(c, XMLRPC_FAILED, "FAILED: cannot queue "
		    "the event");
	*result = json_true();
	return 0;
}

/* ---------------------------------------------------------------- */
/* Status. */

static int
rpcsrv_getProcessInfo(struct rpcsrv_call *c, json_t *params, json_t **result)
{
	struct process *p;
	const char *spec;

	if (rpcsrv_nparams(c, params, 1, 1) == -1 ||
	    rpcsrv_str(c, params, 0, &spec) == -1 ||
	    rpcsrv_one(c, spec, &p) == -1)
		return -1;
	*result = rpcsrv_info(c->sup, p);
	return 0;
}

static int
rpcsrv_lexical_cmp(const void *a, const void *b)
{
	const struct process *x = *(struct process *const *)a;
	const struct process *y = *(struct process *const *)b;
	int d = strcmp(x->conf->group, y->conf->group);

	return d != 0 ? d : strcmp(x->conf->name, y->conf->name);
}

static int
rpcsrv_getAllProcessInfo(struct rpcsrv_call *c, json_t *params,
    json_t **result)
{
	struct process **procs;
	size_t i, n;
	json_t *a;

	if (rpcsrv_nparams(c, params, 0, 0) == -1)
		return -1;
	/* supervisord answers in lexical order (group, then name), not in
	 * priority order: supervisorctl status prints it as it comes. */
	if (rpcsrv_all_procs(c, &procs, &n) == -1)
		return -1;
	if (n > 1)
		qsort(procs, n, sizeof(*procs), rpcsrv_lexical_cmp);
	if ((a = json_array()) == NULL) {
		free(procs);
		return rpcsrv_fault(c, XMLRPC_FAILED, "FAILED: out of memory");
	}
	for (i = 0; i < n; i++)
		json_array_append_new(a, rpcsrv_info(c->sup, procs[i]));
	free(procs);
	*result = a;
	return 0;
}

struct rpcsrv_named {
	json_t	*v;
	size_t	 idx;
};

static int
rpcsrv_named_cmp(const void *a, const void *b)
{
	const struct rpcsrv_named *x = a, *y = b;
	int d = strcmp(json_string_value(json_object_get(x->v, "name")),
	    json_string_value(json_object_get(y->v, "name")));

	if (d != 0)
		return d;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* A stable sort of structs by their "name", as supervisord's
 * getAllConfigInfo does (its configinfo.sort(key=name)). */
static void
rpcsrv_sort_by_name(json_t *a)
{
	struct rpcsrv_named *v;
	size_t i, n = json_array_size(a);

	if (n < 2 || (v = calloc(n, sizeof(*v))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		v[i].v = json_incref(json_array_get(a, i));
		v[i].idx = i;
	}
	qsort(v, n, sizeof(*v), rpcsrv_named_cmp);
	json_array_clear(a);
	for (i = 0; i < n; i++)
		json_array_append_new(a, v[i].v);
	free(v);
}

static json_t *
rpcsrv_exitcodes(const struct proc_conf *pc)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < 256; i++)
		if (pc->exitcodes[i / 8] & (1u << (i % 8)))
			json_array_append_new(a, json_integer(i));
	return a;
}

static int
rpcsrv_getAllConfigInfo(struct rpcsrv_call *c, json_t *params,
    json_t **result)
{
	const struct config *cfg = supervisor_config_read(c->sup);
	const struct proc_conf *pc;
	size_t g, i;
	json_t *a, *d;
	char url[1100];
	bool inuse;

	if (rpcsrv_nparams(c, params, 0, 0) == -1)
		return -1;
	snprintf(url, sizeof(url), "unix://%s", cfg->socket != NULL ?
	    cfg->socket : "");
	a = json_array();
	for (g = 0; g < cfg->ngroups; g++) {
		const struct group_conf *gc = cfg->groups[g];

		inuse = supervisor_group_in_use(c->sup, gc->name);
		for (i = 0; i < gc->nprocs; i++) {
			pc = gc->procs[i];
			d = json_pack("{s:b, s:s, s:s, s:s, s:o, s:s, "
			    "s:i, s:b, s:b, s:s, s:i, s:b, s:i, s:i, "
			    "s:I, s:b, s:s, s:i, s:I, s:b, s:i, s:i, "
			    "s:I, s:b, s:s, s:i, s:I, s:b, s:s}",
			    "autostart", pc->autostart,
			    "directory", pc->directory != NULL ?
			    pc->directory : "",
			    "uid", pc->user != NULL ? pc->user : "",
			    "command", pc->command,
			    "exitcodes", rpcsrv_exitcodes(pc),
			    "group", gc->name, "group_prio", gc->priority,
			    "inuse", inuse, "killasgroup", pc->killasgroup,
			    "name", pc->name, "process_prio", pc->priority,
			    "redirect_stderr", pc->redirect_stderr,
			    "startretries", pc->startretries,
			    "startsecs", pc->startsecs,
			    "stdout_capture_maxbytes", (json_int_t)0,
			    "stdout_events_enabled",
			    pc->stdout_log.events_enabled,
			    "stdout_logfile",
			    rpcsrv_log_path(&pc->stdout_log),
			    "stdout_logfile_backups", pc->stdout_log.backups,
			    "stdout_logfile_maxbytes",
			    (json_int_t)pc->stdout_log.maxbytes,
			    "stdout_syslog", false,
			    "stopsignal", pc->stopsignal,
			    "stopwaitsecs", pc->stopwaitsecs,
			    "stderr_capture_maxbytes", (json_int_t)0,
			    "stderr_events_enabled",
			    pc->stderr_log.events_enabled,
			    "stderr_logfile",
			    rpcsrv_log_path(&pc->stderr_log),
			    "stderr_logfile_backups", pc->stderr_log.backups,
			    "stderr_logfile_maxbytes",
			    (json_int_t)pc->stderr_log.maxbytes,
			    "stderr_syslog", false,
			    "serverurl", url);
			if (d != NULL)
				json_array_append_new(a, d);
		}
	}
	rpcsrv_sort_by_name(a);
	*result = a;
	return 0;
}

/* ---------------------------------------------------------------- */
/* Logs: the output ring (the last 64 KiB of each stream). */

/* Bytes [start, end) of the stream's absolute offsets that the ring
 * still holds: new malloc'd *data. total is the stream's size. */
static int
rpcsrv_ring(struct process *p, enum output_stream s, char **data,
    size_t *len, uint64_t *total)
{
	if (p->output == NULL)
		return -1;
	return output_tail(p->output, s, OUTPUT_RING_SIZE, data, len, total);
}

static json_t *
rpcsrv_bytes(const char *data, size_t len)
{
	return methods_string_from_bytes(data != NULL ? data : "", len);
}

/* A process log call's (name, offset, length) and the stream's ring:
 * its bytes from absolute offset *first on, *total written in all. */
struct rpcsrv_logargs {
	long long offset;
	long long length;
	char	*data;		/* malloc'd */
	long long first;
	long long total;
};

static int
rpcsrv_log_args(struct rpcsrv_call *c, json_t *params, enum output_stream s,
    bool (*valid)(long long offset, long long length),
    struct rpcsrv_logargs *a)
{
	struct process *p;
	const char *spec;
	uint64_t total;
	size_t len;

	memset(a, 0, sizeof(*a));
	if (rpcsrv_nparams(c, params, 3, 3) == -1 ||
	    rpcsrv_str(c, params, 0, &spec) == -1 ||
	    rpcsrv_int(c, params, 1, &a->offset) == -1 ||
	    rpcsrv_int(c, params, 2, &a->length) == -1 ||
	    rpcsrv_one(c, spec, &p) == -1)
		return -1;
	if (valid != NULL && !valid(a->offset, a->length))
		return rpcsrv_fault_named(c, XMLRPC_BAD_ARGUMENTS, NULL);
	if (rpcsrv_ring(p, s, &a->data, &len, &total) == -1)
		return rpcsrv_fault_named(c, XMLRPC_NO_FILE, spec);
	a->total = (long long)total;
	a->first = a->total - (long long)len;
	return 0;
}

/* Bytes [start, end) as far as the ring still has them; frees data. */
static json_t *
rpcsrv_log_slice(struct rpcsrv_logargs *a, long long start, long long end)
{
	json_t *v;

	if (end > a->total)
		end = a->total;
	if (start < a->first)
		start = a->first;
	if (start > end)
		start = end;
	v = rpcsrv_bytes(a->data + (start - a->first), (size_t)(end - start));
	free(a->data);
	a->data = NULL;
	return v;
}

static bool
rpcsrv_read_valid(long long offset, long long length)
{
	return !((offset < 0 && length != 0) || length < 0);
}

/* supervisord's readFile: offset < 0 from the end, length 0 to the
 * end. */
static int
rpcsrv_read(struct rpcsrv_call *c, json_t *params, enum output_stream s,
    json_t **result)
{
	struct rpcsrv_logargs a;
	long long start;

	if (rpcsrv_log_args(c, params, s, rpcsrv_read_valid, &a) == -1)
		return -1;
	start = a.offset < 0 ? a.total + a.offset : a.offset;
	if (start < 0)
		start = 0;
	*result = rpcsrv_log_slice(&a, start, a.length == 0 ? a.total :
	    start + a.length);
	return 0;
}

static int
rpcsrv_readProcessStdoutLog(struct rpcsrv_call *c, json_t *pa, json_t **r)
{
	return rpcsrv_read(c, pa, OUTPUT_STDOUT, r);
}

static int
rpcsrv_readProcessStderrLog(struct rpcsrv_call *c, json_t *pa, json_t **r)
{
	return rpcsrv_read(c, pa, OUTPUT_STDERR, r);
}

/* supervisord's tailFile() arithmetic, negative values included, over
 * the bytes written so far: [bytes, offset, overflow]. */
static int
rpcsrv_tail(struct rpcsrv_call *c, json_t *params, enum output_stream s,
    json_t **result)
{
	struct rpcsrv_logargs a;
	long long offset, length;
	bool overflow = false;

	if (rpcsrv_log_args(c, params, s, NULL, &a) == -1)
		return -1;
	offset = a.offset;
	length = a.length;
	if (a.total > offset + length) {
		overflow = true;
		offset = a.total - 1;
	}
	if (offset + length > a.total) {
		if (offset > a.total - 1)
			length = 0;
		offset = a.total - length;
	}
	if (offset < 0)
		offset = 0;
	if (length < 0)
		length = 0;
	*result = json_pack("[o, I, b]", rpcsrv_log_slice(&a, offset,
	    offset + length), (json_int_t)a.total, overflow);
	return 0;
}

static int
rpcsrv_tailProcessStdoutLog(struct rpcsrv_call *c, json_t *pa, json_t **r)
{
	return rpcsrv_tail(c, pa, OUTPUT_STDOUT, r);
}

static int
rpcsrv_tailProcessStderrLog(struct rpcsrv_call *c, json_t *pa, json_t **r)
{
	return rpcsrv_tail(c, pa, OUTPUT_STDERR, r);
}

static int
rpcsrv_clearProcessLogs(struct rpcsrv_call *c, json_t *params,
    json_t **result)
{
	struct process *p;
	const char *spec;

	if (rpcsrv_nparams(c, params, 1, 1) == -1 ||
	    rpcsrv_str(c, params, 0, &spec) == -1 ||
	    rpcsrv_one(c, spec, &p) == -1)
		return -1;
	if (p->output == NULL || output_clear(p->output) == -1)
		return rpcsrv_fault_named(c, XMLRPC_FAILED, spec);
	*result = json_true();
	return 0;
}

static int
rpcsrv_clearAllProcessLogs(struct rpcsrv_call *c, json_t *params,
    json_t **result)
{
	struct process *const *procs;
	size_t i, n;
	json_t *a;
	bool ok;

	if (rpcsrv_nparams(c, params, 0, 0) == -1)
		return -1;
	procs = supervisor_processes(c->sup, &n);
	a = json_array();
	for (i = 0; i < n; i++) {
		ok = procs[i]->output != NULL &&
		    output_clear(procs[i]->output) == 0;
		json_array_append_new(a, rpcsrv_status(procs[i], ok ?
		    XMLRPC_SUCCESS : XMLRPC_FAILED, ok ? "OK" : "FAILED"));
	}
	*result = a;
	return 0;
}

/* The daemon's own log: its file (supervisord reads its logfile). */
static int
rpcsrv_main_log_read(struct rpcsrv_call *c, long long offset,
    long long length, json_t **result)
{
	const struct config *cfg = supervisor_config(c->sup);
	struct stat st;
	long long start, end;
	char *buf;
	ssize_t n;
	int fd;

	if (offset < 0) {
		/* The tail (supervisorctl maintail): superd's log ring. */
		char *data = NULL;
		size_t len = 0;
		unsigned long long total;

		if (log_ring_tail((size_t)-offset, &data, &len, &total) == -1)
			return rpcsrv_fault_named(c, XMLRPC_FAILED, NULL);
		*result = rpcsrv_bytes(data, len);
		free(data);
		return 0;
	}
	if (cfg->logfile == NULL ||
	    (fd = open(cfg->logfile, O_RDONLY | O_CLOEXEC)) == -1)
		return rpcsrv_fault(c, XMLRPC_NO_FILE, "NO_FILE: %s",
		    cfg->logfile != NULL ? cfg->logfile : "(stderr)");
	if (fstat(fd, &st) == -1) {
		close(fd);
		return rpcsrv_fault_named(c, XMLRPC_FAILED, NULL);
	}
	start = offset < 0 ? (long long)st.st_size + offset : offset;
	if (start < 0)
		start = 0;
	end = length == 0 ? (long long)st.st_size : start + length;
	if (end > (long long)st.st_size)
		end = (long long)st.st_size;
	/* Bounded: no more than the ring a process log keeps. */
	if (end - start > RPCSRV_MAX_READ)
		start = end - RPCSRV_MAX_READ;
	if (start > end)
		start = end;
	if ((buf = malloc((size_t)(end - start) + 1)) == NULL) {
		close(fd);
		return rpcsrv_fault_named(c, XMLRPC_FAILED, NULL);
	}
	n = pread(fd, buf, (size_t)(end - start), start);
	close(fd);
	*result = rpcsrv_bytes(buf, n > 0 ? (size_t)n : 0);
	free(buf);
	return 0;
}

static int
rpcsrv_readLog(struct rpcsrv_call *c, json_t *params, json_t **result)
{
	long long offset = 0, length = 0;

	if (rpcsrv_nparams(c, params, 2, 2) == -1 ||
	    rpcsrv_int(c, params, 0, &offset) == -1 ||
	    rpcsrv_int(c, params, 1, &length) == -1)
		return -1;
	if ((offset < 0 && length != 0) || length < 0)
		return rpcsrv_fault_named(c, XMLRPC_BAD_ARGUMENTS, NULL);
	return rpcsrv_main_log_read(c, offset, length, result);
}

static int
rpcsrv_clearLog(struct rpcsrv_call *c, json_t *params, json_t **result)
{
	const struct config *cfg = supervisor_config(c->sup);

	if (rpcsrv_nparams(c, params, 0, 0) == -1)
		return -1;
	if (cfg->logfile == NULL || truncate(cfg->logfile, 0) == -1)
		return rpcsrv_fault_named(c, XMLRPC_NO_FILE, NULL);
	*result = json_true();
	return 0;
}

/* ---------------------------------------------------------------- */
/* supervisord itself. */

static int
rpcsrv_getAPIVersion(struct rpcsrv_call *c, json_t *params, json_t **result)
{
	if (rpcsrv_nparams(c, params, 0, 0) == -1)
		return -1;
	*result = json_string("3.0");
	return 0;
}

static int
rpcsrv_getSupervisorVersion(struct rpcsrv_call *c, json_t *params,
    json_t **result)
{
	if (rpcsrv_nparams(c, params, 0, 0) == -1)
		return -1;
	*result = json_string(SUPERD_VERSION);
	return 0;
}

static int
rpcsrv_getIdentification(struct rpcsrv_call *c, json_t *params,
    json_t **result)
{
	const struct config *cfg = supervisor_config(c->sup);

	if (rpcsrv_nparams(c, params, 0, 0) == -1)
		return -1;
	*result = json_string(cfg->identifier != NULL ? cfg->identifier :
	    "supervisor");
	return 0;
}

static int
rpcsrv_getState(struct rpcsrv_call *c, json_t *params, json_t **result)
{
	bool down = supervisor_shutting_down(c->sup);
	bool again = supervisor_restarting(c->sup);

	if (rpcsrv_nparams(c, params, 0, 0) == -1)
		return -1;
	*result = json_pack("{s:i, s:s}", "statecode", again ? 0 :
	    down ? -1 : 1, "statename", again ? "RESTARTING" :
	    down ? "SHUTDOWN" : "RUNNING");
	return 0;
}

static int
rpcsrv_getPID(struct rpcsrv_call *c, json_t *params, json_t **result)
{
	if (rpcsrv_nparams(c, params, 0, 0) == -1)
		return -1;
	*result = json_integer((json_int_t)getpid());
	return 0;
}

static void
rpcsrv_after_shutdown(struct http_request *req)
{
	const struct http_opts *o = http_request_opts(req);

	if (o->on_shutdown != NULL)
		o->on_shutdown(o->arg);
}

static int
rpcsrv_shutdown(struct rpcsrv_call *c, json_t *params, json_t **result)
{
	if (rpcsrv_nparams(c, params, 0, 0) == -1)
		return -1;
	if (supervisor_shutting_down(c->sup))
		return rpcsrv_fault_named(c, XMLRPC_SHUTDOWN_STATE, NULL);
	c->after = rpcsrv_after_shutdown;
	*result = json_true();
	return 0;
}

static void
rpcsrv_after_restart(struct http_request *req)
{
	supervisor_restart_all(http_request_sup(req));
}

/*
 * supervisord's restart: every program stops, the config is read again
 * and autostart starts them (the pid stays: the answer goes out first,
 * and the control socket never closes).
 */
static int
rpcsrv_restart(struct rpcsrv_call *c, json_t *params, json_t **result)
{
	if (rpcsrv_nparams(c, params, 0, 0) == -1)
		return -1;
	if (supervisor_shutting_down(c->sup))
		return rpcsrv_fault_named(c, XMLRPC_SHUTDOWN_STATE, NULL);
	c->after = rpcsrv_after_restart;
	*result = json_true();
	return 0;
}

static json_t *
rpcsrv_strv(char **v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int
rpcsrv_reloadConfig(struct rpcsrv_call *c, json_t *params, json_t **result)
{
	struct config_diff diff;
	struct diags d;
	char buf[1024];

	if (rpcsrv_nparams(c, params, 0, 0) == -1)
		return -1;
	memset(&diff, 0, sizeof(diff));
	diags_init(&d);
	if (supervisor_reread(c->sup, &diff, &d) == -1) {
		if (d.n > 0)
			diags_format(&d.v[0], buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "invalid config");
		diags_free(&d);
		config_diff_free(&diff);
		return rpcsrv_fault(c, XMLRPC_CANT_REREAD, "CANT_REREAD: %s",
		    buf);
	}
	diags_free(&d);
	*result = json_pack("[[o, o, o]]",
	    rpcsrv_strv(diff.added, diff.nadded),
	    rpcsrv_strv(diff.changed, diff.nchanged),
	    rpcsrv_strv(diff.removed, diff.nremoved));
	config_diff_free(&diff);
	return 0;
}

/* Apply one group from disk: added, changed or removed. */
static int
rpcsrv_apply_group(struct rpcsrv_call *c, const char *name)
{
	struct config_diff diff;
	struct diags d;
	const char *groups[1] = { name };
	int rc;

	memset(&diff, 0, sizeof(diff));
	diags_init(&d);
	rc = supervisor_apply_config(c->sup, groups, 1, &diff, &d);
	config_diff_free(&diff);
	diags_free(&d);
	if (rc == -1)
		return rpcsrv_fault_named(c, XMLRPC_CANT_REREAD, NULL);
	return 0;
}

static int
rpcsrv_addProcessGroup(struct rpcsrv_call *c, json_t *params,
    json_t **result)
{
	struct config_diff diff;
	struct diags d;
	const char *name;
	size_t i;
	bool added = false;

	if (rpcsrv_nparams(c, params, 1, 1) == -1 ||
	    rpcsrv_str(c, params, 0, &name) == -1)
		return -1;
	if (supervisor_group_in_use(c->sup, name))
		return rpcsrv_fault_named(c, XMLRPC_ALREADY_ADDED, name);
	memset(&diff, 0, sizeof(diff));
	diags_init(&d);
	if (supervisor_reread(c->sup, &diff, &d) == -1) {
		diags_free(&d);
		config_diff_free(&diff);
		return rpcsrv_fault_named(c, XMLRPC_CANT_REREAD, NULL);
	}
	for (i = 0; i < diff.nadded; i++)
		if (strcmp(diff.added[i], name) == 0)
			added = true;
	diags_free(&d);
	config_diff_free(&diff);
	if (!added)
		return rpcsrv_fault_named(c, XMLRPC_BAD_NAME, name);
	if (rpcsrv_apply_group(c, name) == -1)
		return -1;
	*result = json_true();
	return 0;
}

static int
rpcsrv_removeProcessGroup(struct rpcsrv_call *c, json_t *params,
    json_t **result)
{
	const char *name;

	if (rpcsrv_nparams(c, params, 1, 1) == -1 ||
	    rpcsrv_str(c, params, 0, &name) == -1)
		return -1;
	switch (supervisor_remove_group(c->sup, name)) {
	case -1:
		return rpcsrv_fault_named(c, XMLRPC_BAD_NAME, name);
	case 1:
		return rpcsrv_fault_named(c, XMLRPC_STILL_RUNNING, name);
	}
	*result = json_true();
	return 0;
}

/* ---------------------------------------------------------------- */
/* The table and system.*. */

struct rpcsrv_method {
	const char *name;
	rpcsrv_fn fn;
	bool	 write;		/* needs the control role */
	const char *sig;	/* return type, then params */
	const char *help;
};

static int rpcsrv_listMethods(struct rpcsrv_call *, json_t *, json_t **);
static int rpcsrv_methodHelp(struct rpcsrv_call *, json_t *, json_t **);
static int rpcsrv_methodSignature(struct rpcsrv_call *, json_t *, json_t **);
static int rpcsrv_multicall(struct rpcsrv_call *, json_t *, json_t **);

static const struct rpcsrv_method rpcsrv_methods[] = {
	{ "supervisor.addProcessGroup", rpcsrv_addProcessGroup, true,
	  "boolean string", "Update the config for a running process from "
	  "config file." },
	{ "supervisor.clearAllProcessLogs", rpcsrv_clearAllProcessLogs, true,
	  "array", "Clear all process log files" },
	{ "supervisor.clearLog", rpcsrv_clearLog, true, "boolean",
	  "Clear the main log." },
	{ "supervisor.clearProcessLog", rpcsrv_clearProcessLogs, true,
	  "boolean string", "Clear the stdout and stderr logs for the named "
	  "process and reopen them." },
	{ "supervisor.clearProcessLogs", rpcsrv_clearProcessLogs, true,
	  "boolean string", "Clear the stdout and stderr logs for the named "
	  "process and reopen them." },
	{ "supervisor.getAPIVersion", rpcsrv_getAPIVersion, false, "string",
	  "Return the version of the RPC API used by supervisord" },
	{ "supervisor.getAllConfigInfo", rpcsrv_getAllConfigInfo, false,
	  "array", "Get info about all available process configurations." },
	{ "supervisor.getAllProcessInfo", rpcsrv_getAllProcessInfo, false,
	  "array", "Get info about all processes" },
	{ "supervisor.getIdentification", rpcsrv_getIdentification, false,
	  "string", "Return identifying string of supervisord" },
	{ "supervisor.getPID", rpcsrv_getPID, false, "int",
	  "Return the PID of supervisord" },
	{ "supervisor.getProcessInfo", rpcsrv_getProcessInfo, false,
	  "struct string", "Get info about a process named name" },
	{ "supervisor.getState", rpcsrv_getState, false, "struct",
	  "Return current state of supervisord as a struct" },
	{ "supervisor.getSupervisorVersion", rpcsrv_getSupervisorVersion,
	  false, "string", "Return the version of the supervisor package in "
	  "use by supervisord" },
	{ "supervisor.getVersion", rpcsrv_getAPIVersion, false, "string",
	  "Return the version of the RPC API used by supervisord" },
	{ "supervisor.readLog", rpcsrv_readLog, false, "string int int",
	  "Read length bytes from the main log starting at offset" },
	{ "supervisor.readMainLog", rpcsrv_readLog, false, "string int int",
	  "Read length bytes from the main log starting at offset" },
	{ "supervisor.readProcessLog", rpcsrv_readProcessStdoutLog, false,
	  "string string int int", "Read length bytes from name's stdout log "
	  "starting at offset" },
	{ "supervisor.readProcessStderrLog", rpcsrv_readProcessStderrLog,
	  false, "string string int int", "Read length bytes from name's "
	  "stderr log starting at offset" },
	{ "supervisor.readProcessStdoutLog", rpcsrv_readProcessStdoutLog,
	  false, "string string int int", "Read length bytes from name's "
	  "stdout log starting at offset" },
	{ "supervisor.reloadConfig", rpcsrv_reloadConfig, true, "array",
	  "Reload the configuration." },
	{ "supervisor.removeProcessGroup", rpcsrv_removeProcessGroup, true,
	  "boolean string", "Remove a stopped process from the active "
	  "configuration." },
	{ "supervisor.restart", rpcsrv_restart, true, "boolean",
	  "Restart the supervisor process" },
	{ "supervisor.sendProcessStdin", rpcsrv_sendProcessStdin, true,
	  "boolean string string", "Send a string of chars to the stdin of "
	  "the process name." },
	{ "supervisor.sendRemoteCommEvent", rpcsrv_sendRemoteCommEvent, true,
	  "boolean string string", "Send an event that will be received by "
	  "event listener subprocesses subscribing to the "
	  "RemoteCommunicationEvent." },
	{ "supervisor.shutdown", rpcsrv_shutdown, true, "boolean",
	  "Shut down the supervisor process" },
	{ "supervisor.signalAllProcesses", rpcsrv_signalAllProcesses, true,
	  "array string", "Send a signal to all processes in the process "
	  "list" },
	{ "supervisor.signalProcess", rpcsrv_signalProcess, true,
	  "boolean string string", "Send an arbitrary UNIX signal to the "
	  "process named by name" },
	{ "supervisor.signalProcessGroup", rpcsrv_signalProcessGroup, true,
	  "array string string", "Send a signal to all processes in the "
	  "group named 'name'" },
	{ "supervisor.startAllProcesses", rpcsrv_startAllProcesses, true,
	  "array boolean", "Start all processes listed in the configuration "
	  "file" },
	{ "supervisor.startProcess", rpcsrv_startProcess, true,
	  "boolean string boolean", "Start a process" },
	{ "supervisor.startProcessGroup", rpcsrv_startProcessGroup, true,
	  "array string boolean", "Start all processes in the group named "
	  "'name'" },
	{ "supervisor.stopAllProcesses", rpcsrv_stopAllProcesses, true,
	  "array boolean", "Stop all processes in the process list" },
	{ "supervisor.stopProcess", rpcsrv_stopProcess, true,
	  "boolean string boolean", "Stop a process named by name" },
	{ "supervisor.stopProcessGroup", rpcsrv_stopProcessGroup, true,
	  "array string boolean", "Stop all processes in the process group "
	  "named 'name'" },
	{ "supervisor.tailProcessLog", rpcsrv_tailProcessStdoutLog, false,
	  "array string int int", "Provides a more efficient way to tail "
	  "the (stdout) log than readProcessStdoutLog()." },
	{ "supervisor.tailProcessStderrLog", rpcsrv_tailProcessStderrLog,
	  false, "array string int int", "Provides a more efficient way to "
	  "tail the (stderr) log than readProcessStderrLog()." },
	{ "supervisor.tailProcessStdoutLog", rpcsrv_tailProcessStdoutLog,
	  false, "array string int int", "Provides a more efficient way to "
	  "tail the (stdout) log than readProcessStdoutLog()." },
	{ "system.listMethods", rpcsrv_listMethods, false, "array",
	  "Return an array listing the available method names" },
	{ "system.methodHelp", rpcsrv_methodHelp, false, "string string",
	  "Return a string showing the method's documentation" },
	{ "system.methodSignature", rpcsrv_methodSignature, false,
	  "array string", "Return an array describing the method signature "
	  "in the form [rtype, ptype, ptype...] where rtype is the return "
	  "data type of the method, and ptypes are the parameter data types "
	  "that the method accepts in method argument order." },
	{ "system.multicall", rpcsrv_multicall, false, "array array",
	  "Process an array of calls, and return an array of results." },
	{ NULL, NULL, false, NULL, NULL }
};

static const struct rpcsrv_method *
rpcsrv_lookup(const char *name)
{
	const struct rpcsrv_method *m;

	for (m = rpcsrv_methods; m->name != NULL; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

static int
rpcsrv_listMethods(struct rpcsrv_call *c, json_t *params, json_t **result)
{
	const struct rpcsrv_method *m;
	json_t *a;

	if (rpcsrv_nparams(c, params, 0, 0) == -1)
		return -1;
	a = json_array();
	for (m = rpcsrv_methods; m->name != NULL; m++)
		json_array_append_new(a, json_string(m->name));
	*result = a;
	return 0;
}

static int
rpcsrv_methodHelp(struct rpcsrv_call *c, json_t *params, json_t **result)
{
	const struct rpcsrv_method *m;
	const char *name;

	if (rpcsrv_nparams(c, params, 1, 1) == -1 ||
	    rpcsrv_str(c, params, 0, &name) == -1)
		return -1;
	if ((m = rpcsrv_lookup(name)) == NULL)
		return rpcsrv_fault_named(c, XMLRPC_SIGNATURE_UNSUPPORTED,
		    NULL);
	*result = json_string(m->help);
	return 0;
}

static int
rpcsrv_methodSignature(struct rpcsrv_call *c, json_t *params,
    json_t **result)
{
	const struct rpcsrv_method *m;
	const char *name, *s, *e;
	json_t *a;

	if (rpcsrv_nparams(c, params, 1, 1) == -1 ||
	    rpcsrv_str(c, params, 0, &name) == -1)
		return -1;
	if ((m = rpcsrv_lookup(name)) == NULL)
		return rpcsrv_fault_named(c, XMLRPC_SIGNATURE_UNSUPPORTED,
		    NULL);
	a = json_array();
	for (s = m->sig; *s != '\0'; s = *e != '\0' ? e + 1 : e) {
		e = strchr(s, ' ');
		if (e == NULL)
			e = s + strlen(s);
		json_array_append_new(a, json_stringn(s, (size_t)(e - s)));
	}
	*result = a;
	return 0;
}

/* One call: 0 with *result, -1 with the fault in c, 1 deferred. */
static int
rpcsrv_call(struct rpcsrv_call *c, const char *name, json_t *params,
    json_t **result)
{
	const struct rpcsrv_method *m = rpcsrv_lookup(name);

	if (m == NULL)
		return rpcsrv_fault_named(c, XMLRPC_UNKNOWN_METHOD, NULL);
	if (m->write && c->role != METHODS_ROLE_CONTROL)
		return rpcsrv_fault(c, XMLRPC_FAILED, "FAILED: permission "
		    "denied: %s needs the control role", name);
	return m->fn(c, params, result);
}

static void
rpcsrv_multi_free(struct rpcsrv_multi *m)
{
	if (m->pending != NULL)
		rpcsrv_op_free(m->pending);
	json_decref(m->calls);
	json_decref(m->results);
	free(m);
}

static void
rpcsrv_multi_on_close(void *arg)
{
	rpcsrv_multi_free(arg);
}

/* One call of the list, its value or fault struct appended; 1 when it
 * waits (its op appends later). */
static int
rpcsrv_multi_one(struct rpcsrv_multi *m, json_t *item)
{
	struct rpcsrv_call c;
	json_t *params = json_object_get(item, "params"), *empty = NULL;
	json_t *res = NULL;
	const char *name;
	int rc;

	memset(&c, 0, sizeof(c));
	c.req = m->req;
	c.sup = m->sup;
	c.role = m->role;
	c.multi = m;
	if (params == NULL)
		params = empty = json_array();
	name = json_string_value(json_object_get(item, "methodName"));
	if (name == NULL)
		rc = rpcsrv_fault(&c, XMLRPC_INCORRECT_PARAMETERS,
		    "INCORRECT_PARAMETERS: No methodName");
	else if (strcmp(name, "system.multicall") == 0)
		rc = rpcsrv_fault(&c, XMLRPC_INCORRECT_PARAMETERS,
		    "INCORRECT_PARAMETERS: Recursive system.multicall "
		    "forbidden");
	else
		rc = rpcsrv_call(&c, name, params, &res);
	json_decref(empty);
	if (c.after != NULL)
		m->after = c.after;
	if (rc == 1)
		return 1;
	/* supervisord 4.2 appends the bare value, not the [value] its
	 * docstring promises: clients read it that way. */
	if (rc == 0 && res != NULL)
		json_array_append_new(m->results, res);
	else
		json_array_append_new(m->results, rpcsrv_fault_struct(
		    c.fault != 0 ? c.fault : XMLRPC_FAILED, c.msg));
	return 0;
}

/* Runs the calls left: 1 when one waits, 0 when all are answered. */
static int
rpcsrv_multi_step(struct rpcsrv_multi *m)
{
	while (m->next < json_array_size(m->calls))
		if (rpcsrv_multi_one(m, json_array_get(m->calls,
		    m->next++)) == 1)
			return 1;
	return 0;
}

/* A waiting call settled (value taken): go on, answer when done. */
static void
rpcsrv_multi_resume(struct rpcsrv_multi *m, json_t *value)
{
	struct http_request *req = m->req;
	void (*after)(struct http_request *);

	json_array_append_new(m->results, value);
	if (rpcsrv_multi_step(m) == 1)
		return;
	after = m->after;
	http_on_close(req, NULL, NULL);
	rpcsrv_send_result(req, json_incref(m->results));
	rpcsrv_multi_free(m);
	if (after != NULL)
		after(req);
}

static int
rpcsrv_multicall(struct rpcsrv_call *c, json_t *params, json_t **result)
{
	struct rpcsrv_multi *m;
	json_t *calls;

	if (rpcsrv_nparams(c, params, 1, 1) == -1)
		return -1;
	calls = json_array_get(params, 0);
	if (!json_is_array(calls) || json_array_size(calls) > RPCSRV_MAX_MULTI)
		return rpcsrv_fault_named(c, XMLRPC_INCORRECT_PARAMETERS, NULL);
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->results = json_array()) == NULL) {
		free(m);
		return rpcsrv_fault(c, XMLRPC_FAILED, "FAILED: out of memory");
	}
	m->req = c->req;
	m->sup = c->sup;
	m->role = c->role;
	m->calls = json_incref(calls);
	http_on_close(c->req, rpcsrv_multi_on_close, m);
	if (rpcsrv_multi_step(m) == 1)
		return 1;
	http_on_close(c->req, NULL, NULL);
	*result = json_incref(m->results);
	c->after = m->after;
	rpcsrv_multi_free(m);
	return 0;
}

/* ---------------------------------------------------------------- */
/* HTTP routes. */

static void
rpcsrv_send_result(struct http_request *req, json_t *value)
{
	char *body;
	size_t len;

	body = value != NULL ? xmlrpc_encode_response(value, &len) : NULL;
	json_decref(value);
	if (body == NULL) {
		rpcsrv_send_fault(req, XMLRPC_FAILED, "FAILED: cannot encode");
		return;
	}
	http_reply_take(req, 200, "text/xml", body, len);
}

static void
rpcsrv_send_fault(struct http_request *req, int code, const char *msg)
{
	char *body;
	size_t len;

	if ((body = xmlrpc_encode_fault(code, msg, &len)) == NULL) {
		http_reply(req, 500, "text/plain", "", 0);
		return;
	}
	http_reply_take(req, 200, "text/xml", body, len);
}

void
rpcsrv_handle_rpc2(struct http_request *req)
{
	struct rpcsrv_call c;
	const char *body, *err;
	json_t *params = NULL, *result = NULL;
	char *method = NULL;
	size_t len;
	int rc;

	memset(&c, 0, sizeof(c));
	c.req = req;
	c.sup = http_request_sup(req);
	c.role = http_request_role(req);
	if (c.role == METHODS_ROLE_NONE) {
		http_reply(req, 403, "text/plain", "403 Forbidden\n", 14);
		return;
	}
	body = http_request_body(req, &len);
	if (xmlrpc_decode_call(body != NULL ? body : "", len, &method,
	    &params, &err) == -1) {
		log_info("http: bad XML-RPC request: %s", err);
		http_reply(req, 400, "text/plain", "400 Bad Request\n", 16);
		return;
	}
	rc = rpcsrv_call(&c, method, params, &result);
	free(method);
	json_decref(params);
	if (rc == 1)
		return;	/* a pending op answers */
	if (rc == -1) {
		json_decref(result);
		rpcsrv_send_fault(req, c.fault, c.msg);
		return;
	}
	rpcsrv_send_result(req, result);
	if (c.after != NULL)
		c.after(req);
}

/* /logtail/NAME[/stdout|/stderr]: the last 1024 bytes, then what the
 * stream gets, chunked, until the client goes. */
struct rpcsrv_follow {
	struct http_request *req;
	struct supervisor *sup;
	struct process *p;
	struct output *output;
	struct output_follower *follower;
};

static bool
rpcsrv_still(const struct rpcsrv_follow *f)
{
	struct process *const *procs;
	size_t i, n;

	procs = supervisor_processes(f->sup, &n);
	for (i = 0; i < n; i++)
		if (procs[i] == f->p && procs[i]->output == f->output)
			return true;
	return false;
}

static void
rpcsrv_follow_on_close(void *arg)
{
	struct rpcsrv_follow *f = arg;

	if (rpcsrv_still(f))
		output_unfollow(f->follower);
	free(f);
}

static void
rpcsrv_follow_on_data(const char *data, size_t len, void *arg)
{
	struct rpcsrv_follow *f = arg;

	/* On failure the connection closed and f is gone. */
	http_stream_write(f->req, data, len);
}

void
rpcsrv_handle_logtail(struct http_request *req)
{
	struct supervisor *sup = http_request_sup(req);
	const char *path = http_request_path(req) + strlen("/logtail/");
	enum output_stream s = OUTPUT_STDOUT;
	struct rpcsrv_follow *f;
	struct process *p;
	char spec[512], group[512], *slash;
	const char *pname;
	char *data = NULL;
	size_t len;
	uint64_t total;

	if (http_request_role(req) == METHODS_ROLE_NONE) {
		http_reply(req, 403, "text/plain", "403 Forbidden\n", 14);
		return;
	}
	/* Percent-encoded names ("web%3Aweb_00") decoded as supervisord
	 * does; libevent's decoder. */
	if (strchr(path, '%') != NULL) {
		char *dec = evhttp_uridecode(path, 0, NULL);

		if (dec == NULL)
			goto notfound;
		snprintf(spec, sizeof(spec), "%s", dec);
		free(dec);
	} else
		snprintf(spec, sizeof(spec), "%s", path);
	if ((slash = strchr(spec, '/')) != NULL) {
		*slash = '\0';
		if (strcmp(slash + 1, "stderr") == 0)
			s = OUTPUT_STDERR;
		else if (strcmp(slash + 1, "stdout") != 0)
			goto notfound;
	}
	if ((slash = strchr(spec, ':')) != NULL) {
		*slash = '\0';
		snprintf(group, sizeof(group), "%s", spec);
		pname = slash + 1;
	} else {
		snprintf(group, sizeof(group), "%s", spec);
		pname = spec;
	}
	if ((p = rpcsrv_find(sup, group, pname)) == NULL || p->output == NULL)
		goto notfound;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		goto notfound;
	f->req = req;
	f->sup = sup;
	f->p = p;
	f->output = p->output;
	if ((f->follower = output_follow(p->output, s, rpcsrv_follow_on_data,
	    f)) == NULL) {
		free(f);
		goto notfound;
	}
	http_stream_begin(req, "text/plain;charset=utf-8");
	http_on_close(req, rpcsrv_follow_on_close, f);
	if (output_tail(p->output, s, 1024, &data, &len, &total) == 0) {
		http_stream_write(req, data, len);
		free(data);
	}
	return;
notfound:
	http_reply(req, 404, "text/plain", "404 Not Found\n", 14);
}

/* /mainlogtail: the last 1024 bytes of superd's log ring, then every
 * line it logs, until the client goes. */
static void
rpcsrv_main_on_close(void *arg)
{
	log_unfollow(arg);
}

static void
rpcsrv_main_on_line(const char *line, size_t len, void *arg)
{
	/* From inside a log call: must not log (quiet). On failure the
	 * connection closed and its close hook unfollowed us. */
	http_stream_write_quiet(arg, line, len);
}

void
rpcsrv_handle_mainlogtail(struct http_request *req)
{
	struct log_follower *f;
	unsigned long long total;
	char *data = NULL;
	size_t len = 0;

	if (http_request_role(req) == METHODS_ROLE_NONE) {
		http_reply(req, 403, "text/plain", "403 Forbidden\n", 14);
		return;
	}
	if ((f = log_follow(rpcsrv_main_on_line, req)) == NULL) {
		http_reply(req, 404, "text/plain", "404 Not Found\n", 14);
		return;
	}
	http_stream_begin(req, "text/plain;charset=utf-8");
	http_on_close(req, rpcsrv_main_on_close, f);
	if (log_ring_tail(1024, &data, &len, &total) == 0) {
		http_stream_write(req, data, len);
		free(data);
	}
}
