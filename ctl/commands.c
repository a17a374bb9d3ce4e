/*
 * The superctl command table and what each command sends and prints. A
 * command builds one JSON-RPC request from its arguments, renders the
 * result the way supervisorctl would (or as JSON), and maps it to an exit
 * code; tail -f and events then follow the notifications.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "client.h"
#include "commands.h"
#include "rpc.h"

#define COMMANDS_NAME_WIDTH	  32	/* supervisorctl's name column */
#define COMMANDS_TAIL_BYTES	  1600
#define COMMANDS_TAIL_MAX	  (1 << 30)

/* Entry flags. */
#define COMMANDS_LOCAL	  0x01	/* runs without the daemon */
#define COMMANDS_HIDDEN	  0x02	/* not listed by help */
#define COMMANDS_NAMES	  0x04	/* arguments are process names */
#define COMMANDS_LONG	  0x08	/* waits on the daemon (start/stop) */

/* The request a command wants sent. */
struct commands_req {
	const char *method;	/* NULL: the command was local and is done */
	json_t	*params;	/* new reference or NULL */
	bool	 stream;	/* follow notifications after the reply */
};

struct commands_entry;

/* One invocation: the command, its context and its arguments. */
struct commands_call {
	struct commands_ctx *ctx;
	const struct commands_entry *entry;
	int	 argc;
	char   **argv;
	int	 rc;		/* exit code so far (streams) */
};

struct commands_entry {
	const char *name;
	const char *method;	/* default JSON-RPC method */
	const char *usage;	/* arguments, for help and usage errors */
	const char *summary;	/* one line for the list of commands */
	const char *help;
	int	 argmin;
	int	 argmax;	/* -1: any number */
	int	 flags;
	/* Fill req from the arguments; an exit code (0 to go on). */
	int	(*build)(struct commands_call *, struct commands_req *);
	/* Print the result (borrowed) for a person. */
	void	(*render)(struct commands_call *, json_t *);
	/* The exit code for a successful reply. */
	int	(*exit_code)(struct commands_call *, json_t *);
	/* Notifications after the reply (tail -f, events). */
	void	(*notify)(void *, const char *, json_t *);
};

static int commands_usage_error(struct commands_call *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void commands_printf(struct commands_ctx *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* --- output ---------------------------------------------------------- */

/*
 * Write daemon-provided text. On a terminal, C0 and C1 control characters
 * other than newline and tab become '?' so that a program's output or name
 * cannot drive the admin's terminal (R29); --raw opts out.
 */
static void
commands_put(struct commands_ctx *ctx, const char *s, size_t len)
{
	unsigned char c;
	size_t i, from = 0;

	if (!ctx->tty || ctx->raw) {
		fwrite(s, 1, len, stdout);
		return;
	}
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
			fwrite(s + from, 1, i - from, stdout);
			fputc('?', stdout);
			from = i + 1;
		} else if (c == 0xc2 && i + 1 < len &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f) {
			/* U+0080..U+009F, the C1 controls, in UTF-8 */
			fwrite(s + from, 1, i - from, stdout);
			fputc('?', stdout);
			from = i + 2;
			i++;
		}
	}
	fwrite(s + from, 1, len - from, stdout);
}

static void
commands_printf(struct commands_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	commands_put(ctx, s, (size_t)n);
	free(s);
}

/* Print a JSON value on stdout: pretty, or one line for streams. */
static void
commands_print_json(json_t *v, bool compact)
{
	if (json_dumpf(v, stdout, JSON_ENCODE_ANY | (compact ? JSON_COMPACT :
	    JSON_INDENT(2))) == 0)
		fputc('\n', stdout);
}

static int
commands_usage_error(struct commands_call *call, const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		fputs("superctl: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "usage: superctl %s%s%s\n", call->entry->name,
	    *call->entry->usage ? " " : "", call->entry->usage);
	return COMMANDS_EXIT_USAGE;
}

static const char *
commands_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

static long long
commands_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return 0;
}

/* NAME or GROUP:NAME as supervisorctl shows it: a process alone in a group
 * of its own name goes by that name. Returns strlen(buf). */
static size_t
commands_display_name(json_t *p, char *buf, size_t len)
{
	const char *name = commands_str(p, "name");
	const char *group = commands_str(p, "group");
	size_t n, g;

	if (len == 0)
		return 0;
	n = strlen(name);
	if (*group == '\0' || strchr(name, ':') != NULL ||
	    strcmp(group, name) == 0) {
		if (n >= len)
			n = len - 1;
		memcpy(buf, name, n);
		buf[n] = '\0';
		return n;
	}
	g = strlen(group);
	if (g + 1 + n >= len) {
		snprintf(buf, len, "%s:%s", group, name);
		return strlen(buf);
	}
	memcpy(buf, group, g);
	buf[g] = ':';
	memcpy(buf + g + 1, name, n);
	buf[g + 1 + n] = '\0';
	return g + 1 + n;
}

/* The width of the name column: supervisorctl's 32, or wider. */
static int
commands_name_width(json_t *list)
{
	char name[512];
	size_t i, n, width = COMMANDS_NAME_WIDTH;
	json_t *p;

	json_array_foreach(list, i, p) {
		n = commands_display_name(p, name, sizeof(name));
		if (n > width)
			width = n;
	}
	return width > 512 ? 512 : (int)width;
}

/* "ERROR (spawn error: No such file or directory: /x)": the message, led
 * by the code's name unless the message already says it. */
static void
commands_error_text(json_t *error, char *buf, size_t len)
{
	const char *msg = commands_str(error, "message");
	const char *name = rpc_code_name((int)commands_int(error, "code"));

	if (*msg == '\0')
		snprintf(buf, len, "%s", name);
	else if (strncasecmp(msg, name, strlen(name)) == 0 ||
	    strcmp(name, "error") == 0)
		snprintf(buf, len, "%s", msg);
	else
		snprintf(buf, len, "%s: %s", name, msg);
}

/* --- the name-taking commands: start, stop, restart, signal, clear ---- */

static json_t *
commands_names_array(int argc, char **argv)
{
	json_t *names = json_array();
	int i;

	for (i = 0; i < argc; i++)
		json_array_append_new(names, json_string(argv[i]));
	return names;
}

static int
commands_names_build(struct commands_call *call, struct commands_req *req)
{
	req->params = json_pack("{s:o}", "names",
	    commands_names_array(call->argc, call->argv));
	if (call->entry->flags & COMMANDS_LONG)
		json_object_set_new(req->params, "wait", json_true());
	return 0;
}

/* Whether a failed item still counts as done: starting a started process
 * or stopping a stopped one succeeds (SPEC.md section 6). */
static bool
commands_item_harmless(struct commands_call *call, json_t *item)
{
	int code = (int)commands_int(json_object_get(item, "error"), "code");
	const char *cmd = call->entry->name;

	return (code == RPC_ALREADY_STARTED && strcmp(cmd, "start") == 0) ||
	    (code == RPC_NOT_RUNNING && strcmp(cmd, "stop") == 0);
}

static void
commands_item_line(struct commands_call *call, json_t *item, const char *verb)
{
	char name[512], err[1024];

	commands_display_name(item, name, sizeof(name));
	if (json_is_true(json_object_get(item, "ok"))) {
		commands_printf(call->ctx, "%s: %s\n", name, verb);
		return;
	}
	commands_error_text(json_object_get(item, "error"), err, sizeof(err));
	commands_printf(call->ctx, "%s: ERROR (%s)\n", name, err);
}

static void
commands_items_render(struct commands_call *call, json_t *result)
{
	const char *verb = "done";
	const char *cmd = call->entry->name;
	json_t *item;
	size_t i;

	if (strcmp(cmd, "start") == 0)
		verb = "started";
	else if (strcmp(cmd, "stop") == 0)
		verb = "stopped";
	else if (strcmp(cmd, "signal") == 0)
		verb = "signalled";
	else if (strcmp(cmd, "clear") == 0)
		verb = "cleared";
	json_array_foreach(result, i, item)
		commands_item_line(call, item, verb);
}

/* restart prints as supervisorctl does: every process stopped, then every
 * process started (the daemon stops them all before starting any). */
static void
commands_restart_render(struct commands_call *call, json_t *result)
{
	char name[512];
	json_t *item;
	size_t i;

	json_array_foreach(result, i, item) {
		commands_display_name(item, name, sizeof(name));
		commands_printf(call->ctx, "%s: stopped\n", name);
	}
	json_array_foreach(result, i, item)
		commands_item_line(call, item, "started");
}

static int
commands_items_exit(struct commands_call *call, json_t *result)
{
	json_t *item;
	size_t i;

	json_array_foreach(result, i, item) {
		if (json_is_true(json_object_get(item, "ok")) ||
		    commands_item_harmless(call, item))
			continue;
		return strcmp(call->entry->name, "clear") == 0 ?
		    COMMANDS_EXIT_FAILURE : COMMANDS_EXIT_UNAVAILABLE;
	}
	return COMMANDS_EXIT_OK;
}

static int
commands_signal_build(struct commands_call *call, struct commands_req *req)
{
	req->params = json_pack("{s:o,s:s}", "names",
	    commands_names_array(call->argc - 1, call->argv + 1), "signal",
	    call->argv[0]);
	return 0;
}

/* --- status and pid -------------------------------------------------- */

static int
commands_status_build(struct commands_call *call, struct commands_req *req)
{
	if (call->argc > 0)
		req->params = json_pack("{s:o}", "names",
		    commands_names_array(call->argc, call->argv));
	return 0;
}

static bool
commands_state_down(const char *state)
{
	return strcmp(state, "STOPPED") == 0 || strcmp(state, "EXITED") == 0 ||
	    strcmp(state, "FATAL") == 0 || strcmp(state, "UNKNOWN") == 0;
}

static const char *
commands_state_color(const char *state)
{
	if (strcmp(state, "RUNNING") == 0)
		return "\033[32m";
	if (strcmp(state, "STARTING") == 0 || strcmp(state, "STOPPING") == 0 ||
	    strcmp(state, "BACKOFF") == 0)
		return "\033[33m";
	if (strcmp(state, "STOPPED") == 0)
		return "";
	return "\033[31m";
}

/* Decimal digits of v (>= 0) at d; how many. */
static size_t
commands_put_uint(char *d, unsigned long long v)
{
	char tmp[24];
	size_t i = sizeof(tmp), n;

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	n = sizeof(tmp) - i;
	memcpy(d, tmp + i, n);
	return n;
}

/* The description column: pid and uptime, the stop date, or the reason.
 * Returns strlen(buf); len must hold a RUNNING line (64 bytes). */
static size_t
commands_status_desc(json_t *p, const char *state, char *buf, size_t len)
{
	long long up, stop, pid;
	const char *err;
	struct tm tm;
	time_t t;
	size_t n;

	if (strcmp(state, "RUNNING") == 0) {
		up = json_object_get(p, "uptime_s") ? commands_int(p,
		    "uptime_s") : (long long)time(NULL) - commands_int(p,
		    "start_time");
		if (up < 0)
			up = 0;
		pid = commands_int(p, "pid");
		if (pid < 0)
			pid = 0;
		/* "pid %lld, uptime %lld:%02lld:%02lld", 1000 times over */
		memcpy(buf, "pid ", 4);
		n = 4 + commands_put_uint(buf + 4, (unsigned long long)pid);
		memcpy(buf + n, ", uptime ", 9);
		n += 9;
		n += commands_put_uint(buf + n, (unsigned long long)up / 3600);
		buf[n++] = ':';
		buf[n++] = (char)('0' + up / 60 % 60 / 10);
		buf[n++] = (char)('0' + up / 60 % 10);
		buf[n++] = ':';
		buf[n++] = (char)('0' + up % 60 / 10);
		buf[n++] = (char)('0' + up % 10);
		buf[n] = '\0';
		/* Why superd restarted it (a failed health check), if so. */
		err = commands_str(p, "reason");
		if (*err != '\0')
			snprintf(buf + n, len - n, "; %s", err);
		return strlen(buf);
	} else if (strcmp(state, "STOPPED") == 0 ||
	    strcmp(state, "EXITED") == 0) {
		stop = commands_int(p, "stop_time");
		t = (time_t)stop;
		if (commands_int(p, "start_time") == 0 || stop == 0 ||
		    localtime_r(&t, &tm) == NULL)
			snprintf(buf, len, "Not started");
		else
			strftime(buf, len, "%b %d %I:%M %p", &tm);
	} else if (strcmp(state, "FATAL") == 0 ||
	    strcmp(state, "BACKOFF") == 0) {
		err = commands_str(p, "spawnerr");
		snprintf(buf, len, "%s", *err ? err :
		    "Exited too quickly (process log may have details)");
	} else
		buf[0] = '\0';
	return strlen(buf);
}

/* Append s (n bytes) to line at *off, then spaces up to `width`. */
static void
commands_pad(char *line, size_t *off, const char *s, size_t n, size_t width)
{
	memcpy(line + *off, s, n);
	*off += n;
	while (n++ < width)
		line[(*off)++] = ' ';
}

static void
commands_status_render(struct commands_call *call, json_t *result)
{
	struct commands_ctx *ctx = call->ctx;
	char name[512], desc[1024], line[2048];
	const char *state;
	int width = commands_name_width(result);
	size_t i, n, off, slen;
	json_t *p;

	json_array_foreach(result, i, p) {
		n = commands_display_name(p, name, sizeof(name));
		state = commands_str(p, "state");
		slen = strnlen(state, 64);
		desc[0] = '\0';
		commands_status_desc(p, state, desc, sizeof(desc));
		if (ctx->color && *commands_state_color(state) != '\0') {
			commands_printf(ctx, "%-*s ", width, name);
			printf("%s%s\033[0m%*s", commands_state_color(state),
			    state, (int)(strlen(state) < 10 ?
			    10 - strlen(state) : 0), "");
			commands_printf(ctx, "%s\n", desc);
			continue;
		}
		/* One write a line: "%-*s %-10s%s\n" without printf. */
		off = 0;
		commands_pad(line, &off, name, n, (size_t)width);
		line[off++] = ' ';
		commands_pad(line, &off, state, slen, 10);
		n = strlen(desc);
		memcpy(line + off, desc, n);
		off += n;
		line[off++] = '\n';
		commands_put(ctx, line, off);
	}
}

static int
commands_status_exit(struct commands_call *call, json_t *result)
{
	json_t *p;
	size_t i;

	(void)call;
	json_array_foreach(result, i, p) {
		if (commands_state_down(commands_str(p, "state")))
			return COMMANDS_EXIT_NOT_RUNNING;
	}
	return COMMANDS_EXIT_OK;
}

static int
commands_pid_build(struct commands_call *call, struct commands_req *req)
{
	if (call->argc == 0) {
		req->method = "daemon.info";
		return 0;
	}
	return commands_status_build(call, req);
}

static void
commands_pid_render(struct commands_call *call, json_t *result)
{
	json_t *p;
	size_t i;

	if (json_is_object(result)) {
		printf("%lld\n", commands_int(result, "pid"));
		return;
	}
	(void)call;
	json_array_foreach(result, i, p)
		printf("%lld\n", commands_int(p, "pid"));
}

static int
commands_pid_exit(struct commands_call *call, json_t *result)
{
	json_t *p;
	size_t i;

	(void)call;
	if (json_is_object(result))
		return COMMANDS_EXIT_OK;
	json_array_foreach(result, i, p) {
		if (commands_int(p, "pid") <= 0)
			return COMMANDS_EXIT_UNAVAILABLE;
	}
	return COMMANDS_EXIT_OK;
}

/* --- tail ------------------------------------------------------------ */

static int
commands_tail_build(struct commands_call *call, struct commands_req *req)
{
	const char *name = NULL, *stream = "stdout", *arg;
	long long bytes = COMMANDS_TAIL_BYTES;
	bool follow = false;
	char *end;
	int i, npos = 0;

	for (i = 0; i < call->argc; i++) {
		arg = call->argv[i];
		if (strcmp(arg, "-f") == 0)
			follow = true;
		else if (arg[0] == '-' && arg[1] >= '0' && arg[1] <= '9') {
			errno = 0;
			bytes = strtoll(arg + 1, &end, 10);
			if (*end != '\0' || errno != 0 || bytes <= 0 ||
			    bytes > COMMANDS_TAIL_MAX)
				return commands_usage_error(call,
				    "bad byte count '%s'", arg);
		} else if (arg[0] == '-' && arg[1] != '\0')
			return commands_usage_error(call, "unknown option "
			    "'%s'", arg);
		else if (npos == 0) {
			name = arg;
			npos++;
		} else if (npos == 1 && (strcmp(arg, "stdout") == 0 ||
		    strcmp(arg, "stderr") == 0)) {
			stream = arg;
			npos++;
		} else
			return commands_usage_error(call, "unexpected '%s'",
			    arg);
	}
	if (name == NULL)
		return commands_usage_error(call, "no process named");
	req->params = json_pack("{s:s,s:s,s:I,s:b}", "name", name, "stream",
	    stream, "bytes", (json_int_t)bytes, "follow", follow);
	req->stream = follow;
	return 0;
}

static void
commands_tail_data(struct commands_ctx *ctx, json_t *data)
{
	if (json_is_string(data)) {
		commands_put(ctx, json_string_value(data),
		    json_string_length(data));
		fflush(stdout);
	}
}

static void
commands_tail_render(struct commands_call *call, json_t *result)
{
	commands_tail_data(call->ctx, json_object_get(result, "data"));
}

static void
commands_tail_notify(void *arg, const char *method, json_t *params)
{
	struct commands_call *call = arg;

	if (strcmp(method, "log.data") != 0)
		return;
	if (call->ctx->json) {
		commands_print_json(params, true);
		fflush(stdout);
		return;
	}
	commands_tail_data(call->ctx, json_object_get(params, "data"));
}

/* --- events ---------------------------------------------------------- */

static int
commands_events_build(struct commands_call *call, struct commands_req *req)
{
	(void)call;
	req->stream = true;
	return 0;
}

static void
commands_events_render(struct commands_call *call, json_t *result)
{
	(void)call;
	(void)result;
	fflush(stdout);
}

/* TIME NAME FROM -> TO (pid N), one line per state change. */
static void
commands_events_notify(void *arg, const char *method, json_t *params)
{
	struct commands_call *call = arg;
	char when[64], name[512];
	json_t *t = json_object_get(params, "time");
	double secs;
	struct tm tm;
	time_t tt;

	if (strcmp(method, "process.state") != 0)
		return;
	if (call->ctx->json) {
		commands_print_json(params, true);
		fflush(stdout);
		return;
	}
	if (json_is_string(t))
		snprintf(when, sizeof(when), "%s", json_string_value(t));
	else {
		secs = json_is_number(t) ? json_number_value(t) :
		    (double)time(NULL);
		tt = (time_t)secs;
		if (localtime_r(&tt, &tm) == NULL)
			snprintf(when, sizeof(when), "%lld", (long long)tt);
		else
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	}
	commands_display_name(params, name, sizeof(name));
	commands_printf(call->ctx, "%s %s %s -> %s (pid %lld)\n", when, name,
	    commands_str(params, "from"), commands_str(params, "to"),
	    commands_int(params, "pid"));
	fflush(stdout);
}

/* --- reread, update, avail ------------------------------------------- */

static int
commands_update_build(struct commands_call *call, struct commands_req *req)
{
	int i;

	for (i = 0; i < call->argc; i++) {
		if (strcmp(call->argv[i], "all") == 0)
			return 0;
	}
	if (call->argc > 0)
		req->params = json_pack("{s:o}", "groups",
		    commands_names_array(call->argc, call->argv));
	return 0;
}

static void
commands_diff_print(struct commands_call *call, json_t *result,
    const char *key, const char *what)
{
	json_t *name;
	size_t i;

	json_array_foreach(json_object_get(result, key), i, name) {
		if (json_is_string(name))
			commands_printf(call->ctx, "%s: %s\n",
			    json_string_value(name), what);
	}
}

/* Settings the daemon cannot change live (the socket path...). */
static void
commands_restart_needed(json_t *result)
{
	json_t *keys = json_object_get(result, "restart_needed"), *key;
	size_t i;

	if (json_array_size(keys) == 0)
		return;
	fputs("superctl: warning: superd must be restarted to apply:",
	    stderr);
	json_array_foreach(keys, i, key)
		fprintf(stderr, " %s", json_is_string(key) ?
		    json_string_value(key) : "?");
	fputc('\n', stderr);
}

static bool
commands_diff_empty(json_t *result)
{
	return json_array_size(json_object_get(result, "added")) == 0 &&
	    json_array_size(json_object_get(result, "changed")) == 0 &&
	    json_array_size(json_object_get(result, "removed")) == 0;
}

static void
commands_reread_render(struct commands_call *call, json_t *result)
{
	if (commands_diff_empty(result))
		puts("No config updates to processes");
	commands_diff_print(call, result, "added", "available");
	commands_diff_print(call, result, "changed", "changed");
	commands_diff_print(call, result, "removed", "disappeared");
	commands_restart_needed(result);
}

static void
commands_update_render(struct commands_call *call, json_t *result)
{
	if (commands_diff_empty(result))
		puts("No config updates to processes");
	commands_diff_print(call, result, "removed", "removed process group");
	commands_diff_print(call, result, "changed", "updated process group");
	commands_diff_print(call, result, "added", "added process group");
	commands_restart_needed(result);
}

static void
commands_avail_render(struct commands_call *call, json_t *result)
{
	char name[512];
	int width = commands_name_width(result);
	json_t *p;
	size_t i;

	json_array_foreach(result, i, p) {
		commands_display_name(p, name, sizeof(name));
		commands_printf(call->ctx, "%-*s %-9s %s\n", width, name,
		    json_is_true(json_object_get(p, "in_use")) ? "in use" :
		    "avail", json_is_false(json_object_get(p, "autostart")) ?
		    "manual" : "auto");
	}
}

/* --- one-liners ------------------------------------------------------ */

static void
commands_version_render(struct commands_call *call, json_t *result)
{
	commands_printf(call->ctx, "%s\n", commands_str(result, "version"));
}

static void
commands_reopen_render(struct commands_call *call, json_t *result)
{
	(void)call;
	(void)result;
	puts("Reopened log files");
}

static void
commands_shutdown_render(struct commands_call *call, json_t *result)
{
	(void)call;
	(void)result;
	puts("Shut down");
}

/* _names: every process and group name, for shell completion. */
static void
commands_names_render(struct commands_call *call, json_t *result)
{
	char name[512];
	const char *group, *prev = "";
	json_t *p;
	size_t i;

	json_array_foreach(result, i, p) {
		group = commands_str(p, "group");
		commands_display_name(p, name, sizeof(name));
		if (*group != '\0' && strcmp(group, prev) != 0 &&
		    strcmp(group, name) != 0)
			commands_printf(call->ctx, "%s\n%s:*\n", group, group);
		prev = group;
		commands_printf(call->ctx, "%s\n", name);
	}
}

/* --- local commands -------------------------------------------------- */

static int commands_help_build(struct commands_call *, struct commands_req *);
static int commands_list_build(struct commands_call *, struct commands_req *);
static int commands_quit_build(struct commands_call *, struct commands_req *);

static const struct commands_entry commands_table[] = {
	{ "status", "process.list", "[NAME...]",
	  "Show the state of processes",
	  "Show the state of every process, or of the NAMEs (all, GROUP,\n"
	  "GROUP:*, GROUP:NAME). Exit 3 when one of them is STOPPED, EXITED,\n"
	  "FATAL or UNKNOWN, 4 when a NAME matches nothing.",
	  0, -1, COMMANDS_NAMES, commands_status_build,
	  commands_status_render, commands_status_exit, NULL },
	{ "start", "process.start", "NAME...",
	  "Start processes, wait until RUNNING",
	  "Start processes and wait until they are RUNNING (or failed).\n"
	  "Exit 7 when one could not be started.",
	  1, -1, COMMANDS_NAMES | COMMANDS_LONG, commands_names_build,
	  commands_items_render, commands_items_exit, NULL },
	{ "stop", "process.stop", "NAME...",
	  "Stop processes, wait until STOPPED",
	  "Stop processes and wait until they are STOPPED.",
	  1, -1, COMMANDS_NAMES | COMMANDS_LONG, commands_names_build,
	  commands_items_render, commands_items_exit, NULL },
	{ "restart", "process.restart", "NAME...",
	  "Stop processes, then start them",
	  "Stop the processes, then start them again: every one stops\n"
	  "before any starts. The config is not re-read (see update).",
	  1, -1, COMMANDS_NAMES | COMMANDS_LONG, commands_names_build,
	  commands_restart_render, commands_items_exit, NULL },
	{ "signal", "process.signal", "SIG NAME...",
	  "Send a signal to processes",
	  "Send signal SIG (HUP, SIGHUP or 1) to processes.",
	  2, -1, COMMANDS_NAMES, commands_signal_build,
	  commands_items_render, commands_items_exit, NULL },
	{ "tail", "process.tail", "[-f] [-BYTES] NAME [stdout|stderr]",
	  "Print the end of a process's output",
	  "Print the end of a process's output (1600 bytes unless -BYTES).\n"
	  "-f keeps printing what it writes until Ctrl-C. On a terminal,\n"
	  "control characters are shown as '?' unless --raw is given.",
	  1, 4, COMMANDS_NAMES, commands_tail_build,
	  commands_tail_render, NULL, commands_tail_notify },
	{ "pid", "process.list", "[NAME...]",
	  "Print superd's pid or processes' pids",
	  "Print superd's own pid, or the pid of each NAME (0, and exit 7,\n"
	  "for one that is not running).",
	  0, -1, COMMANDS_NAMES, commands_pid_build,
	  commands_pid_render, commands_pid_exit, NULL },
	{ "clear", "process.clear_log", "NAME...",
	  "Empty processes' log files",
	  "Empty the log files of processes.",
	  1, -1, COMMANDS_NAMES, commands_names_build,
	  commands_items_render, commands_items_exit, NULL },
	{ "reread", "config.reread", "",
	  "Show what changed in the config",
	  "Read the config files again and show which groups were added,\n"
	  "changed or removed, without changing anything.",
	  0, 0, 0, NULL, commands_reread_render, NULL, NULL },
	{ "update", "config.update", "[GROUP...]",
	  "Apply config changes to processes",
	  "Read the config files again and apply the difference: new groups\n"
	  "start, removed ones stop, and only the programs whose definition\n"
	  "changed restart. With GROUPs, only those are touched.",
	  0, -1, COMMANDS_LONG, commands_update_build,
	  commands_update_render, NULL, NULL },
	{ "avail", "config.avail", "",
	  "List the programs of the config",
	  "List the programs the config on disk defines and whether each\n"
	  "is in use.",
	  0, 0, 0, NULL, commands_avail_render, NULL, NULL },
	{ "reopen", "daemon.reopen_logs", "",
	  "Reopen every log file",
	  "Reopen every log file (after logrotate moved them).",
	  0, 0, 0, NULL, commands_reopen_render, NULL, NULL },
	{ "events", "events.subscribe", "",
	  "Print state changes as they happen",
	  "Print process state changes as they happen, one a line\n"
	  "(TIME NAME FROM -> TO (pid N)), until Ctrl-C.",
	  0, 0, 0, commands_events_build, commands_events_render, NULL,
	  commands_events_notify },
	{ "shutdown", "daemon.shutdown", "",
	  "Stop every process and superd",
	  "Stop every process and superd itself.",
	  0, 0, 0, NULL, commands_shutdown_render, NULL, NULL },
	{ "version", "daemon.version", "",
	  "Print the running superd's version",
	  "Print the version of the running superd.",
	  0, 0, 0, NULL, commands_version_render, NULL, NULL },
	{ "help", NULL, "[COMMAND]",
	  "List the commands, or explain one",
	  "List the commands, or explain one.",
	  0, 1, COMMANDS_LOCAL, commands_help_build, NULL, NULL, NULL },
	{ "quit", NULL, "",
	  "Leave the superd> prompt",
	  "Leave the superd> prompt.",
	  0, 0, COMMANDS_LOCAL | COMMANDS_HIDDEN, commands_quit_build, NULL,
	  NULL, NULL },
	{ "exit", NULL, "",
	  "Leave the superd> prompt",
	  "Leave the superd> prompt.",
	  0, 0, COMMANDS_LOCAL | COMMANDS_HIDDEN, commands_quit_build, NULL,
	  NULL, NULL },
	{ "_names", "process.list", "",
	  "Print process and group names",
	  "Print every process and group name (for shell completion).",
	  0, 0, COMMANDS_HIDDEN, NULL, commands_names_render, NULL, NULL },
	{ "_commands", NULL, "",
	  "Print command names",
	  "Print every command name (for shell completion).",
	  0, 0, COMMANDS_LOCAL | COMMANDS_HIDDEN, commands_list_build, NULL,
	  NULL, NULL },
};

#define COMMANDS_COUNT	  (sizeof(commands_table) / sizeof(commands_table[0]))

static const struct commands_entry *
commands_find(const char *name)
{
	size_t i;

	for (i = 0; i < COMMANDS_COUNT; i++) {
		if (strcmp(commands_table[i].name, name) == 0)
			return &commands_table[i];
	}
	return NULL;
}

const char *
commands_name(size_t i)
{
	size_t k;

	for (k = 0; k < COMMANDS_COUNT; k++) {
		if (commands_table[k].flags & COMMANDS_HIDDEN)
			continue;
		if (i-- == 0)
			return commands_table[k].name;
	}
	return NULL;
}

void
commands_help(bool interactive)
{
	const struct commands_entry *e;
	char head[128];
	size_t i;

	if (!interactive)
		printf("usage: superctl [-c FILE] [-s SOCKET] [-t SECONDS] "
		    "[--json] [--raw] COMMAND [ARGS...]\n"
		    "       superctl [-c FILE] [-s SOCKET]   "
		    "(an interactive superd> prompt)\n\n"
		    "  -c FILE      config to find the socket in "
		    "($SUPERD_CONFIG, /etc/superd/superd.conf)\n"
		    "  -s SOCKET    control socket ($SUPERD_SOCKET)\n"
		    "  -t SECONDS   connect/read timeout, 0 for none "
		    "(default 10)\n"
		    "  --json       print the daemon's answer as JSON\n"
		    "  --raw        print control characters as they are\n"
		    "  -h, --help   this text; -V, --version: superctl's "
		    "version\n\n"
		    "NAME is all, GROUP, GROUP:* or GROUP:NAME. Exit codes: 0 "
		    "ok, 1 failure,\n2 usage, 3 status found a process down, "
		    "4 no such process,\n7 could not start/stop/signal or "
		    "no daemon.\n\n");
	printf("commands (help COMMAND for more):\n");
	for (i = 0; i < COMMANDS_COUNT; i++) {
		e = &commands_table[i];
		if ((e->flags & COMMANDS_HIDDEN) && !(interactive &&
		    strcmp(e->name, "quit") == 0))
			continue;
		snprintf(head, sizeof(head), "%s %s", e->name, e->usage);
		printf("  %-40s %s\n", head, e->summary);
	}
}

static int
commands_help_build(struct commands_call *call, struct commands_req *req)
{
	const struct commands_entry *e;

	(void)req;
	if (call->argc == 0) {
		commands_help(call->ctx->interactive);
		return COMMANDS_EXIT_OK;
	}
	e = commands_find(call->argv[0]);
	if (e == NULL) {
		fprintf(stderr, "superctl: no help on '%s' (no such command)\n",
		    call->argv[0]);
		return COMMANDS_EXIT_USAGE;
	}
	printf("usage: %s%s%s%s\n\n%s\n", call->ctx->interactive ? "" :
	    "superctl ", e->name, *e->usage ? " " : "", e->usage, e->help);
	if (e->method != NULL)
		printf("(JSON-RPC method %s%s; --json prints its result)\n",
		    e->method, strcmp(e->name, "pid") == 0 ?
		    ", or daemon.info without NAME" : "");
	return COMMANDS_EXIT_OK;
}

static int
commands_list_build(struct commands_call *call, struct commands_req *req)
{
	const char *name;
	size_t i;

	(void)call;
	(void)req;
	for (i = 0; (name = commands_name(i)) != NULL; i++)
		puts(name);
	return COMMANDS_EXIT_OK;
}

static int
commands_quit_build(struct commands_call *call, struct commands_req *req)
{
	(void)req;
	call->ctx->quit = true;
	return COMMANDS_EXIT_OK;
}

/* --- running one command --------------------------------------------- */

/* The exit code for an error reply, after printing it. */
static int
commands_error(struct commands_call *call, json_t *error)
{
	int code = (int)commands_int(error, "code");
	char text[2048];

	if (call->ctx->json) {
		json_t *wrap = json_pack("{s:O}", "error", error);

		commands_print_json(wrap, false);
		json_decref(wrap);
	} else if (code == RPC_CONFIG_INVALID) {
		/* FILE:LINE: message, one per line, as superd -t prints */
		fprintf(stderr, "%s\n", commands_str(error, "message"));
	} else {
		commands_error_text(error, text, sizeof(text));
		fprintf(stderr, "superctl: ERROR (%s)\n", text);
	}
	switch (code) {
	case RPC_NO_SUCH_PROCESS:
		return COMMANDS_EXIT_NO_SUCH;
	case RPC_NOT_RUNNING:
	case RPC_SPAWN_ERROR:
	case RPC_ABNORMAL_TERMINATION:
		return COMMANDS_EXIT_UNAVAILABLE;
	default:
		return COMMANDS_EXIT_FAILURE;
	}
}

static void
commands_notify(void *arg, const char *method, json_t *params)
{
	struct commands_call *call = arg;

	if (call->entry->notify != NULL)
		call->entry->notify(call, method, params);
}

/* Send the request, print the reply, follow a stream; an exit code. */
static int
commands_talk(struct commands_call *call, struct commands_req *req)
{
	struct commands_ctx *ctx = call->ctx;
	json_t *reply = NULL, *result, *error;
	struct client *c;
	char err[1024];
	int rc;

	c = client_open(ctx->socket, ctx->timeout_ms, err, sizeof(err));
	if (c == NULL) {
		json_decref(req->params);
		fprintf(stderr, "superctl: %s\n", err);
		return COMMANDS_EXIT_UNAVAILABLE;
	}
	rc = client_call(c, req->method, req->params,
	    (call->entry->flags & COMMANDS_LONG) ? CLIENT_CALL_LONG : 0,
	    &reply, commands_notify, call);
	if (rc != CLIENT_OK) {
		fprintf(stderr, "superctl: %s\n", rc == CLIENT_INTERRUPTED ?
		    "interrupted" : client_error(c));
		client_close(c);
		return rc == CLIENT_PROTOCOL ? COMMANDS_EXIT_FAILURE :
		    rc == CLIENT_INTERRUPTED ? 130 : COMMANDS_EXIT_UNAVAILABLE;
	}
	error = json_object_get(reply, "error");
	result = json_object_get(reply, "result");
	if (error != NULL) {
		rc = commands_error(call, error);
		goto out;
	}
	if (ctx->json) {
		if (!req->stream)
			commands_print_json(result, false);
	} else if (call->entry->render != NULL)
		call->entry->render(call, result);
	rc = call->entry->exit_code != NULL ?
	    call->entry->exit_code(call, result) : COMMANDS_EXIT_OK;
	if (req->stream) {
		fflush(stdout);
		if (client_stream(c, commands_notify, call) != CLIENT_OK) {
			fprintf(stderr, "superctl: %s\n", client_error(c));
			rc = COMMANDS_EXIT_FAILURE;
		}
	}
out:
	json_decref(reply);
	client_close(c);
	fflush(stdout);
	return rc;
}

int
commands_run(struct commands_ctx *ctx, int argc, char **argv)
{
	struct commands_call call;
	struct commands_req req;
	int rc;

	memset(&call, 0, sizeof(call));
	memset(&req, 0, sizeof(req));
	call.ctx = ctx;
	call.entry = commands_find(argv[0]);
	if (call.entry == NULL) {
		fprintf(stderr, "superctl: unknown command '%s' (see "
		    "'superctl help')\n", argv[0]);
		return COMMANDS_EXIT_USAGE;
	}
	call.argc = argc - 1;
	call.argv = argv + 1;
	if (call.argc < call.entry->argmin || (call.entry->argmax >= 0 &&
	    call.argc > call.entry->argmax))
		return commands_usage_error(&call, call.argc <
		    call.entry->argmin ? "too few arguments" :
		    "too many arguments");
	req.method = call.entry->method;
	if (call.entry->build != NULL) {
		rc = call.entry->build(&call, &req);
		if (rc != 0 || (call.entry->flags & COMMANDS_LOCAL)) {
			json_decref(req.params);
			fflush(stdout);
			return rc;
		}
	}
	return commands_talk(&call, &req);
}
