/*
 * The method table of SPEC.md section 5 and its handlers. A handler
 * checks every param (types, ranges, lengths) before it acts, turns them
 * into supervisor/process/output calls and the outcome into a result.
 * Names given by a client are only ever matched against configured
 * processes: no method takes a command, path, user, variable or pid.
 *
 * Replies that wait (start/stop/restart with wait, streams) subscribe to
 * events and answer later; each holds a hook on its client so that a
 * closed connection cancels it, and never dereferences a process pointer
 * outside the call or event that handed it over.
 */
#include <sys/types.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "control.h"
#include "events.h"
#include "log.h"
#include "methods.h"
#include "output.h"
#include "process.h"
#include "rpc.h"
#include "supervisor.h"
#include "values.h"

#define METHODS_MAX_NAMES	  4096	/* entries in a `names` array */
#define METHODS_MAX_NAMELEN	  256	/* bytes in one name */
#define METHODS_MAX_STDIN	  (512 * 1024)
#define METHODS_TAIL_DEFAULT	  1600
#define METHODS_SIGNAL_MAX	  64
#define METHODS_RESTART_MAX	  64	/* restart_needed keys reported */

/* One call being handled; borrowed pieces of the request. */
struct methods_call {
	const struct methods_env *env;
	struct control_client *client;
	enum methods_role role;
	json_t	*id;		/* borrowed; NULL: a notification */
	json_t	*params;	/* borrowed; an object or NULL */
	/* Filled by a handler that fails. */
	int	 code;
	char	*message;	/* malloc'd */
	/* Run after the reply is queued (daemon.shutdown). */
	void	(*after)(const struct methods_env *);
};

/* A handler returns 0 with *result (new), -1 after methods_fail(), or
 * METHODS_DEFERRED when it answers later by itself. */
#define METHODS_DEFERRED	  1

typedef int (*methods_fn)(struct methods_call *, json_t **result);

struct methods_entry {
	const char *name;
	int	 flags;
	methods_fn fn;
};

static int method_daemon_version(struct methods_call *, json_t **);
static int method_daemon_info(struct methods_call *, json_t **);
static int method_daemon_shutdown(struct methods_call *, json_t **);
static int method_daemon_reopen_logs(struct methods_call *, json_t **);
static int method_process_list(struct methods_call *, json_t **);
static int method_process_start(struct methods_call *, json_t **);
static int method_process_stop(struct methods_call *, json_t **);
static int method_process_restart(struct methods_call *, json_t **);
static int method_process_signal(struct methods_call *, json_t **);
static int method_process_tail(struct methods_call *, json_t **);
static int method_process_clear_log(struct methods_call *, json_t **);
static int method_process_stdin(struct methods_call *, json_t **);
static int method_config_reread(struct methods_call *, json_t **);
static int method_config_update(struct methods_call *, json_t **);
static int method_config_avail(struct methods_call *, json_t **);
static int method_events_subscribe(struct methods_call *, json_t **);

/* The only way from a method name to code: exact match in this table. */
static const struct methods_entry methods_table[] = {
	{ "daemon.version", METHODS_READONLY, method_daemon_version },
	{ "daemon.info", METHODS_READONLY, method_daemon_info },
	{ "daemon.shutdown", METHODS_CONTROL, method_daemon_shutdown },
	{ "daemon.reopen_logs", METHODS_CONTROL, method_daemon_reopen_logs },
	{ "process.list", METHODS_READONLY, method_process_list },
	{ "process.start", METHODS_CONTROL, method_process_start },
	{ "process.stop", METHODS_CONTROL, method_process_stop },
	{ "process.restart", METHODS_CONTROL, method_process_restart },
	{ "process.signal", METHODS_CONTROL, method_process_signal },
	{ "process.tail", METHODS_READONLY | METHODS_STREAM,
	    method_process_tail },
	{ "process.clear_log", METHODS_CONTROL, method_process_clear_log },
	{ "process.stdin", METHODS_CONTROL, method_process_stdin },
	{ "config.reread", METHODS_CONTROL, method_config_reread },
	{ "config.update", METHODS_CONTROL, method_config_update },
	{ "config.avail", METHODS_CONTROL, method_config_avail },
	{ "events.subscribe", METHODS_READONLY | METHODS_STREAM,
	    method_events_subscribe },
};

/* ---------------------------------------------------------------- */
/* UTF-8 and replies. */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t
methods_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned int cp;
	size_t len, i;

	if (s[0] < 0x80)
		return s[0] == 0 ? 0 : 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* How many trailing bytes of s could start a sequence cut short. */
static size_t
methods_utf8_cut(const unsigned char *s, size_t n)
{
	size_t back, need;

	for (back = 1; back <= 3 && back <= n; back++) {
		unsigned char b = s[n - back];

		if ((b & 0xc0) == 0x80)
			continue;
		if (b >= 0xc2 && b <= 0xdf)
			need = 2;
		else if (b >= 0xe0 && b <= 0xef)
			need = 3;
		else if (b >= 0xf0 && b <= 0xf4)
			need = 4;
		else
			return 0;
		return need > back ? back : 0;
	}
	return 0;
}

json_t *
methods_string_from_bytes(const char *data, size_t len)
{
	const unsigned char *s = (const unsigned char *)data;
	json_t *str;
	char *buf;
	size_t i, o, n;

	/* Each bad byte becomes 3 bytes (U+FFFD) at worst. */
	if (len > (SIZE_MAX - 1) / 3 || (buf = malloc(len * 3 + 1)) == NULL)
		return NULL;
	for (i = 0, o = 0; i < len;) {
		n = methods_utf8_seq(s + i, len - i);
		if (n == 0) {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(buf + o, s + i, n);
		o += n;
		i += n;
	}
	str = json_stringn_nocheck(buf, o);
	free(buf);
	return str;
}

/* {"jsonrpc":"2.0","id":ID,"error":{code,message}}: new; id borrowed. */
static json_t *
methods_error_new(json_t *id, int code, const char *message)
{
	json_t *msg, *err;

	msg = json_object();
	err = json_object();
	if (msg == NULL || err == NULL) {
		json_decref(msg);
		json_decref(err);
		return NULL;
	}
	json_object_set_new(err, "code", json_integer(code));
	json_object_set_new(err, "message", methods_string_from_bytes(
	    message, strlen(message)));
	json_object_set_new(msg, "jsonrpc", json_string("2.0"));
	json_object_set(msg, "id", id != NULL ? id : json_null());
	json_object_set_new(msg, "error", err);
	return msg;
}

/* Send an error answer for id (nothing for a notification). */
static void
methods_send_error(struct control_client *client, json_t *id, int code,
    const char *message)
{
	json_t *msg;

	if (id == NULL)
		return;
	if ((msg = methods_error_new(id, code, message)) != NULL) {
		control_client_send(client, msg);
		json_decref(msg);
	}
}

/* Send result (stolen) for id (dropped for a notification). */
static void
methods_send_result(struct control_client *client, json_t *id,
    json_t *result)
{
	json_t *msg;

	if (id == NULL) {
		json_decref(result);
		return;
	}
	if ((msg = rpc_result_new(id, result)) != NULL) {
		control_client_send(client, msg);
		json_decref(msg);
	}
}

static int
methods_fail(struct methods_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
methods_fail(struct methods_call *call, int code, const char *fmt, ...)
{
	va_list ap;

	free(call->message);
	call->message = NULL;
	call->code = code;
	va_start(ap, fmt);
	if (vasprintf(&call->message, fmt, ap) == -1)
		call->message = NULL;
	va_end(ap);
	return -1;
}

/* An {code, message} object for a per-process item: new. */
static json_t *
methods_item_error_new(int code, const char *message)
{
	json_t *err = json_object();

	if (err == NULL)
		return NULL;
	json_object_set_new(err, "code", json_integer(code));
	json_object_set_new(err, "message", methods_string_from_bytes(
	    message, strlen(message)));
	return err;
}

/* ---------------------------------------------------------------- */
/* Params. */

/* Every key of params must be in `allowed` (NULL-terminated). */
static int
methods_check_keys(struct methods_call *call, const char *const *allowed)
{
	const char *key;
	json_t *value;
	size_t i;

	if (call->params == NULL)
		return 0;
	json_object_foreach(call->params, key, value) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return methods_fail(call, RPC_INVALID_PARAMS,
			    "unknown parameter \"%.64s\"", key);
	}
	return 0;
}

static json_t *
methods_param(struct methods_call *call, const char *key)
{
	return call->params != NULL ? json_object_get(call->params, key) :
	    NULL;
}

static int
methods_get_bool(struct methods_call *call, const char *key, bool def,
    bool *out)
{
	json_t *v = methods_param(call, key);

	if (v == NULL || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (!json_is_boolean(v))
		return methods_fail(call, RPC_INVALID_PARAMS,
		    "\"%s\" must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

static int
methods_get_int(struct methods_call *call, const char *key, json_int_t min,
    json_int_t max, json_int_t def, json_int_t *out)
{
	json_t *v = methods_param(call, key);

	if (v == NULL || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return methods_fail(call, RPC_INVALID_PARAMS,
		    "\"%s\" must be an integer from %lld to %lld", key,
		    (long long)min, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

/* A string param of 1..maxlen bytes; *out NULL when absent and optional. */
static int
methods_get_string(struct methods_call *call, const char *key,
    bool required, size_t maxlen, const char **out, size_t *len)
{
	json_t *v = methods_param(call, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return methods_fail(call, RPC_INVALID_PARAMS,
			    "missing parameter \"%s\"", key);
		return 0;
	}
	if (!json_is_string(v))
		return methods_fail(call, RPC_INVALID_PARAMS,
		    "\"%s\" must be a string", key);
	if (json_string_length(v) > maxlen)
		return methods_fail(call, RPC_INVALID_PARAMS,
		    "\"%s\" is longer than %zu bytes", key, maxlen);
	*out = json_string_value(v);
	if (len != NULL)
		*len = json_string_length(v);
	return 0;
}

static int
methods_check_name(struct methods_call *call, const char *key, json_t *v)
{
	size_t len;

	if (!json_is_string(v))
		return methods_fail(call, RPC_INVALID_PARAMS,
		    "\"%s\" must hold strings", key);
	len = json_string_length(v);
	if (len == 0 || len > METHODS_MAX_NAMELEN)
		return methods_fail(call, RPC_INVALID_PARAMS,
		    "a name in \"%s\" must be 1 to %d bytes", key,
		    METHODS_MAX_NAMELEN);
	return 0;
}

/*
 * A list of names (an array of strings, or one string) into a malloc'd
 * array of borrowed strings. Absent and optional gives *n == 0.
 */
static int
methods_get_names(struct methods_call *call, const char *key, bool required,
    const char ***out, size_t *n)
{
	json_t *v = methods_param(call, key), *item;
	const char **names;
	size_t i;

	*out = NULL;
	*n = 0;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return methods_fail(call, RPC_INVALID_PARAMS,
			    "missing parameter \"%s\"", key);
		return 0;
	}
	if (json_is_string(v)) {
		if (methods_check_name(call, key, v) == -1)
			return -1;
		if ((names = malloc(sizeof(*names))) == NULL)
			return methods_fail(call, RPC_INTERNAL_ERROR,
			    "out of memory");
		names[0] = json_string_value(v);
		*out = names;
		*n = 1;
		return 0;
	}
	if (!json_is_array(v))
		return methods_fail(call, RPC_INVALID_PARAMS,
		    "\"%s\" must be an array of names", key);
	if (json_array_size(v) == 0)
		return methods_fail(call, RPC_INVALID_PARAMS,
		    "\"%s\" is empty", key);
	if (json_array_size(v) > METHODS_MAX_NAMES)
		return methods_fail(call, RPC_INVALID_PARAMS,
		    "\"%s\" holds more than %d names", key,
		    METHODS_MAX_NAMES);
	json_array_foreach(v, i, item)
		if (methods_check_name(call, key, item) == -1)
			return -1;
	names = calloc(json_array_size(v), sizeof(*names));
	if (names == NULL)
		return methods_fail(call, RPC_INTERNAL_ERROR, "out of memory");
	json_array_foreach(v, i, item)
		names[i] = json_string_value(item);
	*out = names;
	*n = json_array_size(v);
	return 0;
}

/* Resolve names into processes; 100 naming the first that matches
 * nothing. *procs is malloc'd. */
static int
methods_match(struct methods_call *call, const char *const *names,
    size_t nnames, struct process ***procs, size_t *nprocs)
{
	const char *unmatched = NULL;

	if (supervisor_match(call->env->sup, names, nnames, procs, nprocs,
	    &unmatched) == -1) {
		if (unmatched != NULL)
			return methods_fail(call, RPC_NO_SUCH_PROCESS,
			    "no such process or group: %s", unmatched);
		return methods_fail(call, RPC_INTERNAL_ERROR,
		    "cannot resolve names");
	}
	return 0;
}

/* The one process `name` designates (tail, stdin). */
static int
methods_one_process(struct methods_call *call, const char *key,
    struct process **out)
{
	struct process **procs = NULL;
	const char *name;
	size_t n;

	if (methods_get_string(call, key, true, METHODS_MAX_NAMELEN, &name,
	    NULL) == -1)
		return -1;
	if (name[0] == '\0')
		return methods_fail(call, RPC_INVALID_PARAMS,
		    "\"%s\" is empty", key);
	if (methods_match(call, &name, 1, &procs, &n) == -1)
		return -1;
	if (n != 1) {
		free(procs);
		return methods_fail(call, RPC_INVALID_PARAMS,
		    "%s names %zu processes; give one", name, n);
	}
	*out = procs[0];
	free(procs);
	return 0;
}

/* ---------------------------------------------------------------- */
/* daemon.* */

static int
method_daemon_version(struct methods_call *call, json_t **result)
{
	static const char *const keys[] = { NULL };

	if (methods_check_keys(call, keys) == -1)
		return -1;
	*result = json_pack("{s:s, s:i}", "version", SUPERD_VERSION, "api",
	    RPC_API_VERSION);
	return 0;
}

static int
method_daemon_info(struct methods_call *call, json_t **result)
{
	static const char *const keys[] = { NULL };
	struct timespec now;

	if (methods_check_keys(call, keys) == -1)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	*result = json_pack("{s:I, s:s, s:I, s:s, s:s}",
	    "pid", (json_int_t)getpid(),
	    "state", supervisor_shutting_down(call->env->sup) ? "SHUTDOWN" :
	    "RUNNING",
	    "uptime_s", (json_int_t)(now.tv_sec - call->env->started.tv_sec),
	    "config", call->env->config_path,
	    "socket", call->env->socket);
	return 0;
}

static void
methods_call_shutdown(const struct methods_env *env)
{
	log_info("control: shutdown requested");
	if (env->on_shutdown != NULL)
		env->on_shutdown(env->arg);
}

static int
method_daemon_shutdown(struct methods_call *call, json_t **result)
{
	static const char *const keys[] = { NULL };

	if (methods_check_keys(call, keys) == -1)
		return -1;
	call->after = methods_call_shutdown;
	*result = json_object();
	return 0;
}

static int
method_daemon_reopen_logs(struct methods_call *call, json_t **result)
{
	static const char *const keys[] = { NULL };
	const struct config *cfg;
	struct process *const *procs;
	size_t i, n, failed = 0;

	if (methods_check_keys(call, keys) == -1)
		return -1;
	procs = supervisor_processes(call->env->sup, &n);
	for (i = 0; i < n; i++)
		if (procs[i]->output != NULL &&
		    output_reopen(procs[i]->output) == -1)
			failed++;
	cfg = supervisor_config(call->env->sup);
	if (cfg != NULL && cfg->logfile != NULL &&
	    log_open_file(cfg->logfile) == -1)
		return methods_fail(call, RPC_INTERNAL_ERROR,
		    "cannot reopen %s: %s", cfg->logfile, strerror(errno));
	if (failed > 0)
		return methods_fail(call, RPC_INTERNAL_ERROR,
		    "%zu process log(s) could not be reopened (see superd's "
		    "log)", failed);
	log_info("control: log files reopened");
	*result = json_object();
	return 0;
}

/* ---------------------------------------------------------------- */
/* process.list */

static const char *
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

/* supervisorctl's description column: "pid 42, uptime 0:03:10", the
 * spawn error, "Not started" or the stop time. */
static void
methods_describe(const struct process *p, char *buf, size_t len)
{
	struct tm tm;
	long up;

	switch (p->state) {
	case PROCESS_RUNNING:
		up = process_uptime(p);
		snprintf(buf, len, "pid %ld, uptime %ld:%02ld:%02ld",
		    (long)p->pid, up / 3600, (up / 60) % 60, up % 60);
		break;
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

/* One process object of SPEC.md section 5: new. */
static json_t *
methods_process_new(const struct process *p)
{
	const struct proc_conf *conf = p->conf;
	char desc[300];

	methods_describe(p, desc, sizeof(desc));
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:i, s:o, s:o,"
	    " s:s, s:s}",
	    "name", p->fullname,
	    "group", conf->group,
	    "state", process_state_name(p->state),
	    "pid", (json_int_t)(process_is_running(p) ? p->pid : 0),
	    "start_time", (json_int_t)p->start_time,
	    "stop_time", (json_int_t)p->stop_time,
	    "uptime_s", (json_int_t)process_uptime(p),
	    "exitstatus", p->exitstatus,
	    "spawnerr", methods_string_from_bytes(p->spawnerr,
	    strnlen(p->spawnerr, sizeof(p->spawnerr))),
	    "description", methods_string_from_bytes(desc, strlen(desc)),
	    "stdout_logfile", methods_log_path(&conf->stdout_log),
	    "stderr_logfile", conf->redirect_stderr ? "" :
	    methods_log_path(&conf->stderr_log));
}

static int
method_process_list(struct methods_call *call, json_t **result)
{
	static const char *const keys[] = { "names", NULL };
	struct process *const *all;
	struct process **procs = NULL;
	const char **names = NULL;
	size_t i, n, nnames;
	json_t *list, *item;

	if (methods_check_keys(call, keys) == -1 ||
	    methods_get_names(call, "names", false, &names, &nnames) == -1)
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
	if ((list = json_array()) == NULL) {
		free(procs);
		return methods_fail(call, RPC_INTERNAL_ERROR, "out of memory");
	}
	for (i = 0; i < n; i++)
		if ((item = methods_process_new(all[i])) != NULL)
			json_array_append_new(list, item);
	free(procs);
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
	struct control_client *client;	/* referenced */
	struct control_hook *hook;
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
	control_client_unref(op->client);
	free(op);
}

/* [{name, ok, error?}]: new. */
static json_t *
methods_op_result_new(const struct methods_op *op)
{
	const struct methods_item *it;
	json_t *list, *item;
	size_t i;

	if ((list = json_array()) == NULL)
		return NULL;
	for (i = 0; i < op->n; i++) {
		it = &op->items[i];
		item = json_pack("{s:s, s:b}", "name", it->name, "ok",
		    it->ok ? 1 : 0);
		if (item == NULL)
			continue;
		if (!it->ok)
			json_object_set_new(item, "error",
			    methods_item_error_new(it->code,
			    it->message != NULL ? it->message :
			    rpc_code_name(it->code)));
		json_array_append_new(list, item);
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
	/* process.c also files "Exited too quickly..." under spawnerr
	 * when a start fails by an exit: that is 104, not 103. */
	if (p->spawnerr[0] != '\0' &&
	    strncmp(p->spawnerr, "Exited too quickly", 18) != 0) {
		snprintf(msg, sizeof(msg), "%s: spawn error: %.256s", it->name,
		    p->spawnerr);
		methods_item_set(it, false, RPC_SPAWN_ERROR, msg);
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
	struct control_client *client = op->client;
	json_t *result;

	control_client_unhook(client, op->hook);
	op->hook = NULL;
	events_unsubscribe(op->sub);
	op->sub = NULL;
	result = methods_op_result_new(op);
	control_client_ref(client);
	if (result != NULL)
		methods_send_result(client, op->id, result);
	else
		methods_send_error(client, op->id, RPC_INTERNAL_ERROR,
		    "out of memory");
	methods_op_free(op);
	control_client_unref(client);
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
    enum process_state to, void *arg)
{
	struct methods_op *op = arg;
	struct timeval now = { 0, 0 };
	size_t i;

	(void)from;
	(void)to;
	for (i = 0; i < op->n; i++)
		if (op->items[i].p == p)
			methods_op_judge(op, &op->items[i], p);
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
		methods_op_on_event(NULL, PROCESS_UNKNOWN, PROCESS_UNKNOWN, op);
		return;
	}
	if (op->sub == NULL)
		op->sub = events_subscribe(methods_op_on_event, op);
	if (op->sub == NULL) {
		control_client_unhook(op->client, op->hook);
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
		rc = process_start(it->p);
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
		rc = process_stop(it->p);
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
	static const char *const keys[] = { "names", "wait", NULL };
	struct process **procs = NULL;
	struct methods_op *op;
	const char **names = NULL;
	size_t i, n, nnames;
	bool wait;

	if (methods_check_keys(call, keys) == -1 ||
	    methods_get_bool(call, "wait", true, &wait) == -1 ||
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
	if (control_client_nhooks(call->client) >= METHODS_MAX_PENDING) {
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
	control_client_ref(op->client);
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
	op->hook = control_client_hook(op->client, methods_op_on_close, op);
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

static int
method_process_start(struct methods_call *call, json_t **result)
{
	(void)result;
	return methods_op_run(call, METHODS_OP_START);
}

static int
method_process_stop(struct methods_call *call, json_t **result)
{
	(void)result;
	return methods_op_run(call, METHODS_OP_STOP);
}

static int
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

/* [{name, ok, error?}] for an immediate per-process action. */
static json_t *
methods_item_new(const char *name, int code, const char *message)
{
	json_t *item;

	item = json_pack("{s:s, s:b}", "name", name, "ok", code == 0);
	if (item != NULL && code != 0)
		json_object_set_new(item, "error",
		    methods_item_error_new(code, message));
	return item;
}

static int
method_process_signal(struct methods_call *call, json_t **result)
{
	static const char *const keys[] = { "names", "signal", NULL };
	struct process **procs = NULL;
	const char **names = NULL;
	size_t i, n, nnames;
	char msg[300];
	json_t *list;
	int sig = 0, rc;

	if (methods_check_keys(call, keys) == -1 ||
	    methods_get_signal(call, &sig) == -1 ||
	    methods_get_names(call, "names", true, &names, &nnames) == -1)
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
		rc = process_signal(procs[i], sig);
		snprintf(msg, sizeof(msg), "%s: %s", procs[i]->fullname,
		    rc == 0 ? "" : rpc_code_name(rc));
		json_array_append_new(list, methods_item_new(
		    procs[i]->fullname, rc, msg));
	}
	free(procs);
	*result = list;
	return 0;
}

static int
method_process_clear_log(struct methods_call *call, json_t **result)
{
	static const char *const keys[] = { "names", NULL };
	struct process **procs = NULL;
	const char **names = NULL;
	size_t i, n, nnames;
	char msg[300];
	json_t *list;
	int rc;

	if (methods_check_keys(call, keys) == -1 ||
	    methods_get_names(call, "names", true, &names, &nnames) == -1)
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
		rc = 0;
		if (procs[i]->output == NULL ||
		    output_clear(procs[i]->output) == -1) {
			rc = RPC_INTERNAL_ERROR;
			snprintf(msg, sizeof(msg), "%s: cannot clear the "
			    "logs: %s", procs[i]->fullname, strerror(errno));
		}
		json_array_append_new(list, methods_item_new(
		    procs[i]->fullname, rc, msg));
	}
	free(procs);
	*result = list;
	return 0;
}

/* ---------------------------------------------------------------- */
/* process.tail with follow */

struct methods_follow {
	struct control_client *client;	/* not referenced: the hook ends
					 * us before the client goes */
	struct control_hook *hook;
	const struct methods_env *env;
	struct output_follower *follower;
	const struct process *p;
	struct output *output;
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

/* True while p still is a registered process with that output. */
static bool
methods_process_exists(const struct methods_env *env,
    const struct process *p, const struct output *output)
{
	struct process *const *procs;
	size_t i, n;

	procs = supervisor_processes(env->sup, &n);
	for (i = 0; i < n; i++)
		if (procs[i] == p && procs[i]->output == output)
			return true;
	return false;
}

static void
methods_follow_on_close(void *arg)
{
	struct methods_follow *f = arg;

	/*
	 * output_free() drops followers with the process: unfollow only
	 * while the process (and so our follower) still exists.
	 */
	if (methods_process_exists(f->env, f->p, f->output))
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
	control_client_send(f->client, msg);
	json_decref(msg);
}

static int
method_process_tail(struct methods_call *call, json_t **result)
{
	static const char *const keys[] = { "name", "stream", "bytes",
		"follow", NULL };
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

	if (methods_check_keys(call, keys) == -1 ||
	    methods_get_string(call, "stream", false, 16, &sname,
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
	if (follow && control_client_nhooks(call->client) >=
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
	if (!control_client_alive(call->client))
		return METHODS_DEFERRED;
	f = calloc(1, sizeof(*f));
	if (f == NULL || (f->name = strdup(p->fullname)) == NULL) {
		free(f);
		return METHODS_DEFERRED;
	}
	f->client = call->client;
	f->p = p;
	f->output = p->output;
	f->stream = stream;
	f->env = call->env;
	f->follower = output_follow(p->output, stream, methods_follow_on_data,
	    f);
	if (f->follower == NULL) {
		free(f->name);
		free(f);
		return METHODS_DEFERRED;
	}
	f->hook = control_client_hook(call->client, methods_follow_on_close,
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

static int
method_process_stdin(struct methods_call *call, json_t **result)
{
	static const char *const keys[] = { "name", "data", NULL };
	struct process *p;
	const char *data;
	size_t len;
	int rc;

	if (methods_check_keys(call, keys) == -1 ||
	    methods_get_string(call, "data", true, METHODS_MAX_STDIN, &data,
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

/* ---------------------------------------------------------------- */
/* config.* */

/* One 107 message: every error, then the warnings, one per line. */
static int
methods_fail_diags(struct methods_call *call, const struct diags *d)
{
	char line[1024], *text = NULL;
	size_t i, len = 0, n;
	int pass;
	char *p;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < d->n; i++) {
			if (d->v[i].warning != (pass == 1))
				continue;
			diags_format(&d->v[i], line, sizeof(line));
			n = strlen(line);
			if (len + n + 2 > 64 * 1024)
				break;
			if ((p = realloc(text, len + n + 2)) == NULL)
				break;
			text = p;
			if (len > 0)
				text[len++] = '\n';
			memcpy(text + len, line, n + 1);
			len += n;
		}
	}
	methods_fail(call, RPC_CONFIG_INVALID, "%s",
	    text != NULL ? text : "config invalid");
	free(text);
	return -1;
}

static json_t *
methods_strv_new(char **v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, methods_string_from_bytes(v[i],
		    strlen(v[i])));
	return a;
}

/* {added, changed, removed[, restart_needed]}: new. */
static json_t *
methods_diff_new(struct methods_call *call, const struct config_diff *diff)
{
	const char *keys[METHODS_RESTART_MAX];
	json_t *res, *need;
	size_t i, n;

	res = json_object();
	if (res == NULL)
		return NULL;
	json_object_set_new(res, "added", methods_strv_new(diff->added,
	    diff->nadded));
	json_object_set_new(res, "changed", methods_strv_new(diff->changed,
	    diff->nchanged));
	json_object_set_new(res, "removed", methods_strv_new(diff->removed,
	    diff->nremoved));
	n = supervisor_restart_needed(call->env->sup, keys,
	    METHODS_RESTART_MAX);
	if (n > METHODS_RESTART_MAX)
		n = METHODS_RESTART_MAX;
	if (n > 0 && (need = json_array()) != NULL) {
		for (i = 0; i < n; i++)
			json_array_append_new(need, json_string(keys[i]));
		json_object_set_new(res, "restart_needed", need);
	}
	return res;
}

static int
method_config_reread(struct methods_call *call, json_t **result)
{
	static const char *const keys[] = { NULL };
	struct config_diff diff;
	struct diags diags;
	int rc;

	if (methods_check_keys(call, keys) == -1)
		return -1;
	memset(&diff, 0, sizeof(diff));
	diags_init(&diags);
	if (supervisor_reread(call->env->sup, &diff, &diags) == -1) {
		rc = methods_fail_diags(call, &diags);
		diags_free(&diags);
		config_diff_free(&diff);
		return rc;
	}
	*result = methods_diff_new(call, &diff);
	diags_free(&diags);
	config_diff_free(&diff);
	return 0;
}

static int
method_config_update(struct methods_call *call, json_t **result)
{
	static const char *const keys[] = { "groups", NULL };
	const char **groups = NULL;
	struct config_diff diff;
	struct diags diags;
	size_t ngroups;
	int rc;

	if (methods_check_keys(call, keys) == -1 ||
	    methods_get_names(call, "groups", false, &groups, &ngroups) == -1)
		return -1;
	if (supervisor_shutting_down(call->env->sup)) {
		free(groups);
		return methods_fail(call, RPC_SHUTTING_DOWN,
		    "superd is shutting down");
	}
	memset(&diff, 0, sizeof(diff));
	diags_init(&diags);
	if (supervisor_update(call->env->sup, ngroups > 0 ? groups : NULL,
	    ngroups, &diff, &diags) == -1) {
		rc = methods_fail_diags(call, &diags);
		free(groups);
		diags_free(&diags);
		config_diff_free(&diff);
		return rc;
	}
	free(groups);
	*result = methods_diff_new(call, &diff);
	diags_free(&diags);
	config_diff_free(&diff);
	return 0;
}

static bool
methods_in_use(const struct methods_env *env, const char *fullname)
{
	struct process *const *procs;
	size_t i, n;

	procs = supervisor_processes(env->sup, &n);
	for (i = 0; i < n; i++)
		if (strcmp(procs[i]->fullname, fullname) == 0)
			return true;
	return false;
}

static int
method_config_avail(struct methods_call *call, json_t **result)
{
	static const char *const keys[] = { NULL };
	const struct group_conf *g;
	const struct proc_conf *pc;
	struct config *cfg;
	struct diags diags;
	char name[2 * CONFIG_NAME_MAX + 8];
	json_t *list, *item;
	size_t i, j;
	int rc;

	if (methods_check_keys(call, keys) == -1)
		return -1;
	diags_init(&diags);
	/* Users are not looked up: avail only shows what is defined. */
	cfg = config_load(call->env->config_path, CONFIG_NO_USERS, &diags);
	if (cfg == NULL) {
		rc = methods_fail_diags(call, &diags);
		diags_free(&diags);
		return rc;
	}
	diags_free(&diags);
	if ((list = json_array()) == NULL) {
		config_free(cfg);
		return methods_fail(call, RPC_INTERNAL_ERROR, "out of memory");
	}
	for (i = 0; i < cfg->ngroups; i++) {
		g = cfg->groups[i];
		for (j = 0; j < g->nprocs; j++) {
			pc = g->procs[j];
			if (g->nprocs == 1 && strcmp(pc->name, g->name) == 0)
				snprintf(name, sizeof(name), "%s", pc->name);
			else
				snprintf(name, sizeof(name), "%s:%s", g->name,
				    pc->name);
			item = json_pack("{s:s, s:s, s:b, s:b}",
			    "name", name, "group", g->name,
			    "in_use", methods_in_use(call->env, name),
			    "autostart", pc->autostart);
			if (item != NULL)
				json_array_append_new(list, item);
		}
	}
	config_free(cfg);
	*result = list;
	return 0;
}

/* ---------------------------------------------------------------- */
/* events.subscribe */

struct methods_sub {
	struct control_client *client;	/* the hook ends us first */
	struct control_hook *hook;
	struct events_sub *sub;
};

static void
methods_sub_on_close(void *arg)
{
	struct methods_sub *s = arg;

	events_unsubscribe(s->sub);
	free(s);
}

static void
methods_sub_on_event(const struct process *p, enum process_state from,
    enum process_state to, void *arg)
{
	struct methods_sub *s = arg;
	json_t *msg;

	msg = rpc_notification_new("process.state", json_pack(
	    "{s:s, s:s, s:s, s:I, s:I}",
	    "name", p->fullname,
	    "from", process_state_name(from),
	    "to", process_state_name(to),
	    "pid", (json_int_t)p->pid,
	    "time", (json_int_t)time(NULL)));
	if (msg == NULL)
		return;
	/* On failure the client is gone and s with it. */
	control_client_send(s->client, msg);
	json_decref(msg);
}

static int
method_events_subscribe(struct methods_call *call, json_t **result)
{
	static const char *const keys[] = { NULL };
	struct methods_sub *s;

	(void)result;
	if (methods_check_keys(call, keys) == -1)
		return -1;
	if (control_client_nhooks(call->client) >= METHODS_MAX_PENDING)
		return methods_fail(call, RPC_INTERNAL_ERROR,
		    "too many streams on this connection");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return methods_fail(call, RPC_INTERNAL_ERROR, "out of memory");
	s->client = call->client;
	methods_send_result(call->client, call->id, json_object());
	if (!control_client_alive(call->client)) {
		free(s);
		return METHODS_DEFERRED;
	}
	s->sub = events_subscribe(methods_sub_on_event, s);
	if (s->sub == NULL) {
		free(s);
		return METHODS_DEFERRED;
	}
	s->hook = control_client_hook(call->client, methods_sub_on_close, s);
	if (s->hook == NULL) {
		events_unsubscribe(s->sub);
		free(s);
	}
	return METHODS_DEFERRED;
}

/* ---------------------------------------------------------------- */
/* Dispatch. */

static const struct methods_entry *
methods_lookup(const char *name)
{
	size_t i;

	if (name == NULL || strnlen(name, METHODS_NAME_MAX + 1) >
	    METHODS_NAME_MAX)
		return NULL;
	for (i = 0; i < sizeof(methods_table) / sizeof(methods_table[0]); i++)
		if (strcmp(methods_table[i].name, name) == 0)
			return &methods_table[i];
	return NULL;
}

int
methods_flags(const char *name)
{
	const struct methods_entry *e = methods_lookup(name);

	return e != NULL ? e->flags : -1;
}

void
methods_handle(const struct methods_env *env, struct control_client *client,
    enum methods_role role, const struct rpc_request *req)
{
	const struct methods_entry *e;
	struct methods_call call;
	json_t *result = NULL;
	int rc;

	if (role == METHODS_ROLE_NONE) {
		methods_send_error(client, req->id, RPC_PERMISSION_DENIED,
		    "permission denied");
		return;
	}
	if ((e = methods_lookup(req->method)) == NULL) {
		char msg[128];

		snprintf(msg, sizeof(msg), "no such method: %.64s",
		    req->method != NULL ? req->method : "");
		methods_send_error(client, req->id, RPC_METHOD_NOT_FOUND, msg);
		return;
	}
	if ((e->flags & METHODS_CONTROL) && role != METHODS_ROLE_CONTROL) {
		methods_send_error(client, req->id, RPC_PERMISSION_DENIED,
		    "permission denied: a read-only client may not call this "
		    "method");
		return;
	}
	if (req->params != NULL && !json_is_object(req->params)) {
		methods_send_error(client, req->id, RPC_INVALID_PARAMS,
		    "params must be an object (named params)");
		return;
	}
	memset(&call, 0, sizeof(call));
	call.env = env;
	call.client = client;
	call.role = role;
	call.id = req->id;
	call.params = req->params;
	control_client_ref(client);
	rc = e->fn(&call, &result);
	if (rc == 0) {
		if (result == NULL)
			methods_send_error(client, req->id, RPC_INTERNAL_ERROR,
			    "out of memory");
		else
			methods_send_result(client, req->id, result);
		if (call.after != NULL)
			call.after(env);
	} else if (rc == -1) {
		methods_send_error(client, req->id, call.code,
		    call.message != NULL ? call.message :
		    rpc_code_name(call.code));
	}
	free(call.message);
	control_client_unref(client);
}
