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
 *
 * This file holds the table, dispatch, the param helpers, daemon.*,
 * config.* and events.subscribe; the process.* handlers live in
 * methods_process.c.
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

#define METHODS_MAX_NAMES	  4096	/* entries in a `names` array */
#define METHODS_RESTART_MAX	  64	/* restart_needed keys reported */

typedef int (*methods_fn)(struct methods_call *, json_t **result);

/* One param a method takes: its key and its json_unpack() type ('s'
 * string, 'I' integer, 'b' boolean, 'o' anything the handler sorts out,
 * like `names`: one name or an array). Every param is optional here;
 * the handler says which it needs. */
struct methods_param {
	const char *key;
	char	 type;
};

#define METHODS_MAX_PARAMS	  4

struct methods_entry {
	const char *name;
	int	 flags;
	methods_fn fn;
	struct methods_param params[METHODS_MAX_PARAMS];	/* key NULL: end */
};

static int method_daemon_version(struct methods_call *, json_t **);
static int method_daemon_info(struct methods_call *, json_t **);
static int method_daemon_shutdown(struct methods_call *, json_t **);
static int method_daemon_reopen_logs(struct methods_call *, json_t **);
static int method_config_reread(struct methods_call *, json_t **);
static int method_config_update(struct methods_call *, json_t **);
static int method_config_avail(struct methods_call *, json_t **);
static int method_events_subscribe(struct methods_call *, json_t **);
static int method_daemon_tail(struct methods_call *, json_t **);

/* The only way from a method name to code: exact match in this table.
 * The params' shape is checked once, before the handler runs. */
static const struct methods_entry methods_table[] = {
	{ "daemon.version", METHODS_READONLY, method_daemon_version, { } },
	{ "daemon.info", METHODS_READONLY, method_daemon_info, { } },
	{ "daemon.shutdown", METHODS_CONTROL, method_daemon_shutdown, { } },
	{ "daemon.reopen_logs", METHODS_CONTROL, method_daemon_reopen_logs,
	    { } },
	{ "daemon.reexec", METHODS_CONTROL, method_daemon_reexec, { } },
	{ "daemon.tail", METHODS_READONLY, method_daemon_tail,
	    { { "bytes", 'I' }, { "follow", 'b' } } },
	{ "process.list", METHODS_READONLY, method_process_list,
	    { { "names", 'o' } } },
	{ "process.start", METHODS_CONTROL, method_process_start,
	    { { "names", 'o' }, { "wait", 'b' } } },
	{ "process.stop", METHODS_CONTROL, method_process_stop,
	    { { "names", 'o' }, { "wait", 'b' } } },
	{ "process.restart", METHODS_CONTROL, method_process_restart,
	    { { "names", 'o' }, { "wait", 'b' } } },
	{ "process.reload", METHODS_CONTROL, method_process_reload,
	    { { "names", 'o' }, { "wait", 'b' } } },
	{ "process.signal", METHODS_CONTROL, method_process_signal,
	    { { "names", 'o' }, { "signal", 'o' } } },
	{ "process.tail", METHODS_READONLY, method_process_tail,
	    { { "name", 's' }, { "stream", 's' }, { "bytes", 'I' },
	    { "follow", 'b' } } },
	{ "process.clear_log", METHODS_CONTROL, method_process_clear_log,
	    { { "names", 'o' } } },
	{ "process.stdin", METHODS_CONTROL, method_process_stdin,
	    { { "name", 's' }, { "data", 's' } } },
	{ "config.reread", METHODS_CONTROL, method_config_reread, { } },
	{ "config.update", METHODS_CONTROL, method_config_update,
	    { { "groups", 'o' } } },
	{ "config.avail", METHODS_CONTROL, method_config_avail, { } },
	{ "events.subscribe", METHODS_READONLY, method_events_subscribe,
	    { } },
};

/* ---------------------------------------------------------------- */
/* UTF-8 and replies. */

/* How many trailing bytes of s could start a sequence cut short. */
size_t
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

	/* Usually the bytes are valid already: no copy to fix them. */
	for (i = 0; i < len; i += n)
		if ((n = utf8_seq(s + i, len - i)) == 0)
			break;
	if (i == len)
		return json_stringn_nocheck(data, len);
	/* Each bad byte becomes 3 bytes (U+FFFD) at worst. */
	if (len > (SIZE_MAX - 1) / 3 || (buf = malloc(len * 3 + 1)) == NULL)
		return NULL;
	for (i = 0, o = 0; i < len;) {
		n = utf8_seq(s + i, len - i);
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

/* {"jsonrpc":"2.0","id":ID,"error":{code,message}}: new; id borrowed.
 * Unlike rpc_error_new(), a message holding bytes that are not UTF-8
 * (a program name, a spawn error) keeps its text, with U+FFFD for them. */
static json_t *
methods_error_new(json_t *id, int code, const char *message)
{
	json_t *msg = rpc_error_new(id, code, "%s", rpc_code_name(code));

	if (msg != NULL)
		json_object_set_new(json_object_get(msg, "error"), "message",
		    methods_string_from_bytes(message, strlen(message)));
	return msg;
}

/* Send an error answer for id (nothing for a notification). */
void
methods_send_error(struct methods_peer *client, json_t *id, int code,
    const char *message)
{
	json_t *msg;

	if (id == NULL)
		return;
	if ((msg = methods_error_new(id, code, message)) != NULL) {
		methods_peer_send(client, msg);
		json_decref(msg);
	}
}

/* Send result (stolen) for id (dropped for a notification). */
void
methods_send_result(struct methods_peer *client, json_t *id,
    json_t *result)
{
	json_t *msg;

	if (id == NULL) {
		json_decref(result);
		return;
	}
	if ((msg = rpc_result_new(id, result)) != NULL) {
		methods_peer_send(client, msg);
		json_decref(msg);
	}
}

/* Record the call's error (code, message); returns -1. */
int
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
json_t *
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

json_t *
methods_item_new(const char *name, bool ok, int code, const char *message)
{
	json_t *item;

	item = json_pack("{s:s, s:b}", "name", name, "ok", ok);
	if (item != NULL && !ok)
		json_object_set_new(item, "error", methods_item_error_new(code,
		    message != NULL ? message : rpc_code_name(code)));
	return item;
}

/* ---------------------------------------------------------------- */
/* Params. */

/*
 * The params against the table's shape: json_unpack_ex() with
 * JSON_STRICT refuses a key the method does not take and a value of the
 * wrong type. 0, or -1 with the message in *msg.
 */
static int
methods_check_params(const struct methods_entry *e, json_t *params,
    char *msg, size_t len)
{
	/* json_unpack() writes each value through the pointer its type
	 * wants; one slot holds any of them. */
	union {
		json_t	*o;
		const char *s;
		json_int_t I;
		int	 b;
	} v[METHODS_MAX_PARAMS];
	const char *k[METHODS_MAX_PARAMS] = { NULL };
	char fmt[8 * METHODS_MAX_PARAMS + 4], one[8];
	json_error_t err;
	size_t i, n = 0, at;

	if (params == NULL)
		return 0;
	at = (size_t)snprintf(fmt, sizeof(fmt), "{");
	for (i = 0; i < METHODS_MAX_PARAMS && e->params[i].key != NULL; i++) {
		k[i] = e->params[i].key;
		at += (size_t)snprintf(fmt + at, sizeof(fmt) - at, "%ss?%c",
		    i > 0 ? "," : "", e->params[i].type);
		n++;
	}
	snprintf(fmt + at, sizeof(fmt) - at, "}");
	if (json_unpack_ex(params, &err, JSON_STRICT, fmt, k[0], &v[0],
	    k[1], &v[1], k[2], &v[2], k[3], &v[3]) == 0)
		return 0;
	/* jansson names the unknown key but not the mistyped one. */
	for (i = 0; i < n; i++) {
		snprintf(one, sizeof(one), "{s?%c}", e->params[i].type);
		if (json_unpack_ex(params, NULL, 0, one, k[i], &v[i]) == -1) {
			snprintf(msg, len, "\"%s\": %s", k[i], err.text);
			return -1;
		}
	}
	snprintf(msg, len, "%s", err.text);
	return -1;
}

/* The param `key` (borrowed), NULL when absent. */
json_t *
methods_param(struct methods_call *call, const char *key)
{
	return call->params != NULL ? json_object_get(call->params, key) :
	    NULL;
}

/* A boolean param, `def` when absent or null. */
int
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

/* An integer param within [min, max], `def` when absent or null. */
int
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
int
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
int
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
int
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
int
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
	(void)call;
	*result = json_pack("{s:s, s:i}", "version", SUPERD_VERSION, "api",
	    RPC_API_VERSION);
	return 0;
}

static int
method_daemon_info(struct methods_call *call, json_t **result)
{
	struct timespec now;

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
	call->after = methods_call_shutdown;
	*result = json_object();
	return 0;
}

static int
method_daemon_reopen_logs(struct methods_call *call, json_t **result)
{
	/* The same files and processes as SIGUSR2. */
	if (supervisor_reopen_logs(call->env->sup) == -1)
		return methods_fail(call, RPC_INTERNAL_ERROR,
		    "some log files could not be reopened (see superd's log)");
	*result = json_object();
	return 0;
}

/* daemon.tail: superd's own log ring, and with follow its new lines. */

struct methods_maintail {
	struct methods_peer *client;	/* the hook ends us first */
	struct methods_hook *hook;
	struct log_follower *follower;
	struct event *ev;		/* sends what lines collected */
	char	*buf;			/* lines not sent yet */
	size_t	 len;
	bool	 dropped;		/* lines lost to the bound */
};

#define METHODS_MAINTAIL_MAX	  LOG_RING_SIZE	/* bytes held between sends */

static void
methods_maintail_free(struct methods_maintail *m)
{
	log_unfollow(m->follower);
	if (m->ev != NULL)
		event_free(m->ev);
	free(m->buf);
	free(m);
}

static void
methods_maintail_on_close(void *arg)
{
	methods_maintail_free(arg);
}

/*
 * A log line arrives from inside whatever log call made it, perhaps in
 * the middle of control.c's own bookkeeping: only keep it here and send
 * from the loop.
 */
static void
methods_maintail_on_line(const char *line, size_t len, void *arg)
{
	struct methods_maintail *m = arg;
	char *p;

	if (m->len + len > METHODS_MAINTAIL_MAX) {
		m->dropped = true;
		return;
	}
	if ((p = realloc(m->buf, m->len + len)) == NULL) {
		m->dropped = true;
		return;
	}
	memcpy(p + m->len, line, len);
	m->buf = p;
	m->len += len;
	event_active(m->ev, EV_TIMEOUT, 0);
}

static void
methods_maintail_on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct methods_maintail *m = arg;
	json_t *data, *msg;
	char *buf = m->buf;
	size_t len = m->len;

	(void)fd;
	(void)what;
	m->buf = NULL;
	m->len = 0;
	if (m->dropped) {
		static const char gap[] = "[superd: log lines dropped]\n";

		m->dropped = false;
		data = methods_string_from_bytes(gap, sizeof(gap) - 1);
		msg = rpc_notification_new("log.data", json_pack(
		    "{s:s, s:s, s:o}", "name", "superd", "stream", "main",
		    "data", data));
		/* On failure the client is gone and m with it. */
		if (msg != NULL && methods_peer_send(m->client, msg) == -1) {
			json_decref(msg);
			free(buf);
			return;
		}
		json_decref(msg);
	}
	if (len > 0) {
		msg = rpc_notification_new("log.data", json_pack(
		    "{s:s, s:s, s:o}", "name", "superd", "stream", "main",
		    "data", methods_string_from_bytes(buf, len)));
		if (msg != NULL)
			methods_peer_send(m->client, msg);
		json_decref(msg);
	}
	free(buf);
}

static int
method_daemon_tail(struct methods_call *call, json_t **result)
{
	struct methods_maintail *m;
	unsigned long long offset;
	json_int_t bytes;
	char *data;
	size_t len;
	json_t *res;
	bool follow;

	if (methods_get_int(call, "bytes", 0, LOG_RING_SIZE, 1600,
	    &bytes) == -1 ||
	    methods_get_bool(call, "follow", false, &follow) == -1)
		return -1;
	if (follow && methods_peer_nhooks(call->client) >=
	    METHODS_MAX_PENDING)
		return methods_fail(call, RPC_INTERNAL_ERROR,
		    "too many streams on this connection");
	if (log_ring_tail((size_t)bytes, &data, &len, &offset) == -1)
		return methods_fail(call, RPC_INTERNAL_ERROR, "out of memory");
	res = json_pack("{s:o, s:I}", "data",
	    methods_string_from_bytes(data, len), "offset",
	    (json_int_t)offset);
	free(data);
	if (res == NULL)
		return methods_fail(call, RPC_INTERNAL_ERROR, "out of memory");
	if (!follow) {
		*result = res;
		return 0;
	}
	/* The reply first, then the stream. */
	methods_send_result(call->client, call->id, res);
	if (!methods_peer_alive(call->client))
		return METHODS_DEFERRED;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return METHODS_DEFERRED;
	m->client = call->client;
	m->ev = event_new(call->env->base, -1, 0, methods_maintail_on_ready,
	    m);
	if (m->ev == NULL ||
	    (m->follower = log_follow(methods_maintail_on_line, m)) == NULL) {
		methods_maintail_free(m);
		return METHODS_DEFERRED;
	}
	m->hook = methods_peer_hook(call->client, methods_maintail_on_close,
	    m);
	if (m->hook == NULL)
		methods_maintail_free(m);
	return METHODS_DEFERRED;
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
	struct config_diff diff;
	struct diags diags;
	int rc;

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
	const char **groups = NULL;
	struct config_diff diff;
	struct diags diags;
	size_t ngroups;
	int rc;

	if (methods_get_names(call, "groups", false, &groups, &ngroups) == -1)
		return -1;
	if (supervisor_shutting_down(call->env->sup)) {
		free(groups);
		return methods_fail(call, RPC_SHUTTING_DOWN,
		    "superd is shutting down");
	}
	memset(&diff, 0, sizeof(diff));
	diags_init(&diags);
	if (supervisor_apply_config(call->env->sup, ngroups > 0 ? groups :
	    NULL, ngroups, &diff, &diags) == -1) {
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
	const struct group_conf *g;
	const struct proc_conf *pc;
	struct config *cfg;
	struct diags diags;
	char name[2 * CONFIG_NAME_MAX + 8];
	json_t *list, *item;
	size_t i, j;
	int rc;

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
	struct methods_peer *client;	/* the hook ends us first */
	struct methods_hook *hook;
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
    enum process_state to, const char *reason, void *arg)
{
	struct methods_sub *s = arg;
	json_t *msg;

	msg = rpc_notification_new("process.state", json_pack(
	    "{s:s, s:s, s:s, s:I, s:I, s:s*}",
	    "name", p->fullname,
	    "from", process_state_name(from),
	    "to", process_state_name(to),
	    "pid", (json_int_t)p->pid,
	    "time", (json_int_t)time(NULL),
	    "reason", reason));
	if (msg == NULL)
		return;
	/* On failure the client is gone and s with it. */
	methods_peer_send(s->client, msg);
	json_decref(msg);
}

static int
method_events_subscribe(struct methods_call *call, json_t **result)
{
	struct methods_sub *s;

	(void)result;
	if (methods_peer_nhooks(call->client) >= METHODS_MAX_PENDING)
		return methods_fail(call, RPC_INTERNAL_ERROR,
		    "too many streams on this connection");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return methods_fail(call, RPC_INTERNAL_ERROR, "out of memory");
	s->client = call->client;
	methods_send_result(call->client, call->id, json_object());
	if (!methods_peer_alive(call->client)) {
		free(s);
		return METHODS_DEFERRED;
	}
	s->sub = events_subscribe(methods_sub_on_event, s);
	if (s->sub == NULL) {
		free(s);
		return METHODS_DEFERRED;
	}
	s->hook = methods_peer_hook(call->client, methods_sub_on_close, s);
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
methods_handle(const struct methods_env *env, struct methods_peer *client,
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
	{
		char msg[256];

		if (methods_check_params(e, req->params, msg, sizeof(msg)) ==
		    -1) {
			methods_send_error(client, req->id, RPC_INVALID_PARAMS,
			    msg);
			return;
		}
	}
	memset(&call, 0, sizeof(call));
	call.env = env;
	call.client = client;
	call.id = req->id;
	call.params = req->params;
	methods_peer_ref(client);
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
	methods_peer_unref(client);
}
