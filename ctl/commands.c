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
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "commands.h"
#include "remote.h"
#include "rpc.h"

#define COMMANDS_NAME_WIDTH	  32	/* supervisorctl's name column */
#define COMMANDS_TAIL_BYTES	  1600
#define COMMANDS_TAIL_MAX	  (1 << 30)

/* Entry flags. */
#define COMMANDS_LOCAL	  0x01	/* runs without the daemon */
#define COMMANDS_HIDDEN	  0x02	/* not listed by help */
#define COMMANDS_LONG	  0x08	/* waits on the daemon (start/stop) */
#define COMMANDS_ROLLING  0x10	/* -H: host by host, stop at a failure */
#define COMMANDS_ONE_HOST 0x20	/* -H: one host only (fg) */

/* When a command follows notifications after its reply. */
enum commands_stream {
	COMMANDS_STREAM_NEVER,
	COMMANDS_STREAM_ALWAYS,		/* events */
	COMMANDS_STREAM_FOLLOW		/* with -f (tail, maintail) */
};

/* What `superctl _complete` offers for a command's arguments. */
enum commands_complete {
	COMMANDS_COMPLETE_NONE,
	COMMANDS_COMPLETE_NAMES,	/* all, groups, GROUP:*, processes */
	COMMANDS_COMPLETE_SIGNAL,	/* a signal, then names */
	COMMANDS_COMPLETE_TAIL,		/* -f -BYTES, a process, a stream */
	COMMANDS_COMPLETE_PROCESS,	/* one process */
	COMMANDS_COMPLETE_GROUPS,	/* all and the config's groups */
	COMMANDS_COMPLETE_COMMAND,	/* one command name */
	COMMANDS_COMPLETE_FLAGS		/* -f -BYTES */
};

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
	/* Replaces the entry's renderer (_complete) when set. */
	void	(*render)(struct commands_call *, json_t *);
	const char *name;	/* fg: the process */
	struct client *client;	/* fg: the connection being streamed */
};

struct commands_entry {
	const char *name;
	const char *method;	/* default JSON-RPC method */
	const char *usage;	/* arguments, for help and usage errors */
	const char *summary;	/* one line for the list of commands */
	const char *help;
	const char *verb;	/* "NAME: started" for each item */
	int	 harmless;	/* an item error code that counts as done */
	int	 fail_rc;	/* exit code when an item failed [7] */
	enum commands_stream stream;
	enum commands_complete complete;
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

static void commands_notify(void *, const char *, json_t *);
static int commands_talk(struct commands_call *, struct commands_req *);
static int commands_list_build(struct commands_call *, struct commands_req *);
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

	/* Nothing to scrub: straight into stdio's buffer. */
	if (!ctx->tty || ctx->raw) {
		va_start(ap, fmt);
		vfprintf(stdout, fmt, ap);
		va_end(ap);
		return;
	}
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
	else if (strcasestr(msg, name) != NULL ||
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

	return call->entry->harmless != 0 && code == call->entry->harmless;
}

static void
commands_item_line(struct commands_call *call, json_t *item, const char *verb)
{
	char name[512], err[1024];
	size_t n;

	commands_display_name(item, name, sizeof(name));
	if (json_is_true(json_object_get(item, "ok"))) {
		commands_printf(call->ctx, "%s: %s\n", name, verb);
		return;
	}
	commands_error_text(json_object_get(item, "error"), err, sizeof(err));
	/* "web: ERROR (spawn error: ...)", not "web: ERROR (web: ...)" */
	n = strlen(name);
	commands_printf(call->ctx, "%s: ERROR (%s)\n", name,
	    strncmp(err, name, n) == 0 && strncmp(err + n, ": ", 2) == 0 ?
	    err + n + 2 : err);
}

static void
commands_items_render(struct commands_call *call, json_t *result)
{
	const char *verb = call->entry->verb ? call->entry->verb : "done";
	json_t *item;
	size_t i;

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
		return call->entry->fail_rc != 0 ? call->entry->fail_rc :
		    COMMANDS_EXIT_UNAVAILABLE;
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
		n = (size_t)snprintf(buf, len,
		    "pid %lld, uptime %lld:%02lld:%02lld", pid < 0 ? 0 : pid,
		    up / 3600, up / 60 % 60, up % 60);
		/* Why superd restarted it (a failed health check), if so. */
		err = commands_str(p, "reason");
		if (*err != '\0' && n < len)
			snprintf(buf + n, len - n, "; %s", err);
		return strlen(buf);
	} else if (strcmp(state, "STOPPED") == 0 ||
	    strcmp(state, "EXITED") == 0) {
		stop = commands_int(p, "stop_time");
		t = (time_t)stop;
		err = commands_str(p, "description");
		/* depends_on: superd says what a STOPPED process waits for. */
		if (strncmp(err, "waiting for ", 12) == 0)
			snprintf(buf, len, "%s", err);
		else if (commands_int(p, "start_time") == 0 || stop == 0 ||
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

static void
commands_status_render(struct commands_call *call, json_t *result)
{
	struct commands_ctx *ctx = call->ctx;
	char name[512], desc[1024];
	const char *state;
	int width = commands_name_width(result);
	size_t i;
	json_t *p;

	json_array_foreach(result, i, p) {
		commands_display_name(p, name, sizeof(name));
		state = commands_str(p, "state");
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
		commands_printf(ctx, "%-*s %-10.64s%s\n", width, name, state,
		    desc);
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

/* The options tail and maintail share, -f and -BYTES: 1 when `arg` was
 * one of them, 0 when it is something else, -1 (usage already said)
 * when the byte count is bad. */
static int
commands_tail_option(struct commands_call *call, const char *arg,
    bool *follow, long long *bytes)
{
	char *end;

	if (strcmp(arg, "-f") == 0) {
		*follow = true;
		return 1;
	}
	if (arg[0] != '-' || arg[1] < '0' || arg[1] > '9')
		return 0;
	errno = 0;
	*bytes = strtoll(arg + 1, &end, 10);
	if (*end != '\0' || errno != 0 || *bytes <= 0 ||
	    *bytes > COMMANDS_TAIL_MAX) {
		(void)commands_usage_error(call, "bad byte count '%s'", arg);
		return -1;
	}
	return 1;
}

static int
commands_tail_build(struct commands_call *call, struct commands_req *req)
{
	const char *name = NULL, *stream = "stdout", *arg;
	long long bytes = COMMANDS_TAIL_BYTES;
	bool follow = false;
	int i, rc, npos = 0;

	for (i = 0; i < call->argc; i++) {
		arg = call->argv[i];
		if ((rc = commands_tail_option(call, arg, &follow, &bytes)) > 0)
			continue;
		if (rc < 0)
			return COMMANDS_EXIT_USAGE;
		if (arg[0] == '-' && arg[1] != '\0')
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
	return 0;
}

/* maintail [-f] [-BYTES]: the end of superd's own log. */
static int
commands_maintail_build(struct commands_call *call, struct commands_req *req)
{
	long long bytes = COMMANDS_TAIL_BYTES;
	bool follow = false;
	const char *arg;
	int i, rc;

	for (i = 0; i < call->argc; i++) {
		arg = call->argv[i];
		if ((rc = commands_tail_option(call, arg, &follow, &bytes)) < 0)
			return COMMANDS_EXIT_USAGE;
		if (rc == 0)
			return commands_usage_error(call, "unexpected '%s'",
			    arg);
	}
	req->params = json_pack("{s:I,s:b}", "bytes", (json_int_t)bytes,
	    "follow", follow);
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
	json_t *data;

	if (strcmp(method, "log.data") != 0)
		return;
	if (call->ctx->json) {
		commands_print_json(params, true);
		fflush(stdout);
		return;
	}
	data = json_object_get(params, "data");
	/* fg follows both streams: stderr stays stderr. */
	if (strcmp(commands_str(params, "stream"), "stderr") == 0 &&
	    json_is_string(data)) {
		fwrite(json_string_value(data), 1, json_string_length(data),
		    stderr);
		fflush(stderr);
		return;
	}
	commands_tail_data(call->ctx, data);
}

/* --- events ---------------------------------------------------------- */

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
static int commands_quit_build(struct commands_call *, struct commands_req *);
static int commands_fg_build(struct commands_call *, struct commands_req *);
static int commands_complete_build(struct commands_call *,
    struct commands_req *);

/*
 * Every command, in the order help lists them. The table is the one
 * place that says how a command talks (method, LONG waits, streams),
 * prints (verb, harmless errors), fails (fail_rc) and completes: help,
 * `superctl _complete` (bash completion) and -H all read it.
 */
static const struct commands_entry commands_table[] = {
	{ .name = "status", .method = "process.list", .usage = "[NAME...]",
	  .summary = "Show the state of processes",
	  .help = "Show the state of every process, or of the NAMEs (all, GROUP,\n"
	  "GROUP:*, GROUP:NAME). Exit 3 when one of them is STOPPED, EXITED,\n"
	  "FATAL or UNKNOWN, 4 when a NAME matches nothing.",
	  .complete = COMMANDS_COMPLETE_NAMES, .argmin = 0, .argmax = -1,
	  .build = commands_status_build, .render = commands_status_render,
	  .exit_code = commands_status_exit },
	{ .name = "start", .method = "process.start", .usage = "NAME...",
	  .summary = "Start processes, wait until RUNNING",
	  .help = "Start processes and wait until they are RUNNING (or failed).\n"
	  "Starting a running process succeeds. Exit 7 when one could not be\n"
	  "started.",
	  .verb = "started", .harmless = RPC_ALREADY_STARTED,
	  .complete = COMMANDS_COMPLETE_NAMES, .argmin = 1, .argmax = -1,
	  .flags = COMMANDS_LONG, .build = commands_names_build,
	  .render = commands_items_render, .exit_code = commands_items_exit },
	{ .name = "stop", .method = "process.stop", .usage = "NAME...",
	  .summary = "Stop processes, wait until STOPPED",
	  .help = "Stop processes and wait until they are STOPPED. Stopping a\n"
	  "stopped process succeeds. Exit 7 when one could not be stopped.",
	  .verb = "stopped", .harmless = RPC_NOT_RUNNING,
	  .complete = COMMANDS_COMPLETE_NAMES, .argmin = 1, .argmax = -1,
	  .flags = COMMANDS_LONG, .build = commands_names_build,
	  .render = commands_items_render, .exit_code = commands_items_exit },
	{ .name = "restart", .method = "process.restart", .usage = "NAME...",
	  .summary = "Stop processes, then start them",
	  .help = "Stop the processes, then start them again: every one stops\n"
	  "before any starts. The config is not re-read (see update). Exit 7\n"
	  "when one could not be started. With several -H hosts, one host\n"
	  "after another, stopping at the first that fails.",
	  .verb = "started", .complete = COMMANDS_COMPLETE_NAMES,
	  .argmin = 1, .argmax = -1, .flags = COMMANDS_LONG | COMMANDS_ROLLING,
	  .build = commands_names_build, .render = commands_restart_render,
	  .exit_code = commands_items_exit },
	{ .name = "reload", .method = "process.reload", .usage = "NAME...",
	  .summary = "Replace processes without a gap",
	  .help = "Replace processes without refusing a connection: send their\n"
	  "reload_signal, or restart them one at a time, each RUNNING again\n"
	  "before the next stops. Exit 7 when one did not come back. With\n"
	  "several -H hosts, one host after another, stopping at the first\n"
	  "that fails.",
	  .verb = "reloaded", .complete = COMMANDS_COMPLETE_NAMES,
	  .argmin = 1, .argmax = -1, .flags = COMMANDS_LONG | COMMANDS_ROLLING,
	  .build = commands_names_build, .render = commands_items_render,
	  .exit_code = commands_items_exit },
	{ .name = "signal", .method = "process.signal", .usage = "SIG NAME...",
	  .summary = "Send a signal to processes",
	  .help = "Send signal SIG (HUP, SIGHUP or 1) to processes. Exit 7 when\n"
	  "one could not be signalled.",
	  .verb = "signalled", .complete = COMMANDS_COMPLETE_SIGNAL,
	  .argmin = 2, .argmax = -1, .build = commands_signal_build,
	  .render = commands_items_render, .exit_code = commands_items_exit },
	{ .name = "tail", .method = "process.tail",
	  .usage = "[-f] [-BYTES] NAME [stdout|stderr]",
	  .summary = "Print the end of a process's output",
	  .help = "Print the end of a process's output (1600 bytes unless -BYTES).\n"
	  "-f keeps printing what it writes until Ctrl-C. On a terminal,\n"
	  "control characters are shown as '?' unless --raw is given.",
	  .stream = COMMANDS_STREAM_FOLLOW, .complete = COMMANDS_COMPLETE_TAIL,
	  .argmin = 1, .argmax = 4, .build = commands_tail_build,
	  .render = commands_tail_render, .notify = commands_tail_notify },
	{ .name = "maintail", .method = "daemon.tail", .usage = "[-f] [-BYTES]",
	  .summary = "Print the end of superd's own log",
	  .help = "Print the end of superd's own log (1600 bytes unless -BYTES);\n"
	  "-f keeps printing it until Ctrl-C.",
	  .stream = COMMANDS_STREAM_FOLLOW, .complete = COMMANDS_COMPLETE_FLAGS,
	  .argmin = 0, .argmax = 2, .build = commands_maintail_build,
	  .render = commands_tail_render, .notify = commands_tail_notify },
	{ .name = "fg", .method = "process.tail", .usage = "NAME",
	  .summary = "Attach to a process's output and stdin",
	  .help = "Print what a running process writes (stdout and stderr) and\n"
	  "send the lines typed to its stdin (its program needs\n"
	  "stdin = pipe). Ctrl-C or Ctrl-D detaches; the process keeps\n"
	  "running. Exit 7 when it is not running.",
	  .complete = COMMANDS_COMPLETE_PROCESS, .argmin = 1, .argmax = 1,
	  .flags = COMMANDS_ONE_HOST, .build = commands_fg_build,
	  .notify = commands_tail_notify },
	{ .name = "pid", .method = "process.list", .usage = "[NAME...]",
	  .summary = "Print superd's pid or processes' pids",
	  .help = "Print superd's own pid, or the pid of each NAME (0, and exit 7,\n"
	  "for one that is not running).",
	  .complete = COMMANDS_COMPLETE_NAMES, .argmin = 0, .argmax = -1,
	  .build = commands_pid_build, .render = commands_pid_render,
	  .exit_code = commands_pid_exit },
	{ .name = "clear", .method = "process.clear_log", .usage = "NAME...",
	  .summary = "Empty processes' log files",
	  .help = "Empty the log files of processes. Exit 1 when one could not\n"
	  "be emptied.",
	  .verb = "cleared", .fail_rc = COMMANDS_EXIT_FAILURE,
	  .complete = COMMANDS_COMPLETE_NAMES, .argmin = 1, .argmax = -1,
	  .build = commands_names_build, .render = commands_items_render,
	  .exit_code = commands_items_exit },
	{ .name = "reread", .method = "config.reread", .usage = "",
	  .summary = "Show what changed in the config",
	  .help = "Read the config files again and show which groups were added,\n"
	  "changed or removed, without changing anything.",
	  .render = commands_reread_render },
	{ .name = "update", .method = "config.update", .usage = "[GROUP...]",
	  .summary = "Apply config changes to processes",
	  .help = "Read the config files again and apply the difference: new groups\n"
	  "start, removed ones stop, and only the programs whose definition\n"
	  "changed restart. With GROUPs, only those are touched.",
	  .complete = COMMANDS_COMPLETE_GROUPS, .argmin = 0, .argmax = -1,
	  .flags = COMMANDS_LONG, .build = commands_update_build,
	  .render = commands_update_render },
	{ .name = "avail", .method = "config.avail", .usage = "",
	  .summary = "List the programs of the config",
	  .help = "List the programs the config on disk defines and whether each\n"
	  "is in use.",
	  .render = commands_avail_render },
	{ .name = "reopen", .method = "daemon.reopen_logs", .usage = "",
	  .summary = "Reopen every log file",
	  .help = "Reopen every log file (after logrotate moved them).",
	  .render = commands_reopen_render },
	{ .name = "events", .method = "events.subscribe", .usage = "",
	  .summary = "Print state changes as they happen",
	  .help = "Print process state changes as they happen, one a line\n"
	  "(TIME NAME FROM -> TO (pid N)), until Ctrl-C.",
	  .stream = COMMANDS_STREAM_ALWAYS, .render = commands_events_render,
	  .notify = commands_events_notify },
	{ .name = "shutdown", .method = "daemon.shutdown", .usage = "",
	  .summary = "Stop every process and superd",
	  .help = "Stop every process and superd itself.",
	  .render = commands_shutdown_render },
	{ .name = "version", .method = "daemon.version", .usage = "",
	  .summary = "Print the running superd's version",
	  .help = "Print the version of the running superd.",
	  .render = commands_version_render },
	{ .name = "help", .usage = "[COMMAND]",
	  .summary = "List the commands, or explain one",
	  .help = "List the commands, or explain one.",
	  .complete = COMMANDS_COMPLETE_COMMAND, .argmin = 0, .argmax = 1,
	  .flags = COMMANDS_LOCAL, .build = commands_help_build },
	{ .name = "quit", .usage = "", .summary = "Leave the superd> prompt",
	  .help = "Leave the superd> prompt.",
	  .flags = COMMANDS_LOCAL | COMMANDS_HIDDEN,
	  .build = commands_quit_build },
	{ .name = "exit", .usage = "", .summary = "Leave the superd> prompt",
	  .help = "Leave the superd> prompt.",
	  .flags = COMMANDS_LOCAL | COMMANDS_HIDDEN,
	  .build = commands_quit_build },
	{ .name = "_complete", .usage = "[COMMAND [ARG...] WORD]",
	  .summary = "Print completions",
	  .help = "Print the candidates for the last WORD of a command line\n"
	  "(the bash completion asks this; names come from superd).",
	  .argmin = 0, .argmax = -1, .flags = COMMANDS_HIDDEN,
	  .build = commands_complete_build },
	{ .name = "_names", .method = "process.list", .usage = "",
	  .summary = "Print process and group names",
	  .help = "Print every process and group name (for shell completion).",
	  .flags = COMMANDS_HIDDEN, .render = commands_names_render },
	{ .name = "_commands", .usage = "", .summary = "Print command names",
	  .help = "Print every command name (for shell completion).",
	  .flags = COMMANDS_LOCAL | COMMANDS_HIDDEN,
	  .build = commands_list_build },
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

bool
commands_rolling(const char *name)
{
	const struct commands_entry *e = commands_find(name);

	return e != NULL && (e->flags & COMMANDS_ROLLING);
}

bool
commands_one_host(const char *name)
{
	const struct commands_entry *e = commands_find(name);

	return e != NULL && (e->flags & COMMANDS_ONE_HOST);
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
		    "[-H HOST]... [--json] [--raw]\n"
		    "                COMMAND [ARGS...]\n"
		    "       superctl [-c FILE] [-s SOCKET]   "
		    "(an interactive superd> prompt)\n\n"
		    "  -c FILE      config to find the socket in "
		    "($SUPERD_CONFIG, /etc/superd/superd.conf)\n"
		    "  -s SOCKET    control socket ($SUPERD_SOCKET)\n"
		    "  -t SECONDS   connect/read timeout, 0 for none "
		    "(default 10)\n"
		    "  -H HOST      run on [USER@]HOST[:PORT] over ssh (repeat "
		    "it, or a comma\n               list; $SUPERD_HOST)\n"
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

/* The connection: the local socket, or ssh to ctx->host (-H). */
static struct client *
commands_connect(struct commands_ctx *ctx)
{
	struct client *c;
	char err[1024];

	if (ctx->host != NULL)
		c = remote_open(ctx->host, ctx->timeout_ms, err, sizeof(err));
	else
		c = client_open(ctx->socket, ctx->timeout_ms, err,
		    sizeof(err));
	if (c == NULL)
		fprintf(stderr, "superctl: %s\n", err);
	return c;
}

/* Call method and wait for its reply; an exit code, the reply (new
 * reference) in *reply unless the call failed (reported). */
static int
commands_call(struct commands_call *call, struct client *c,
    const char *method, json_t *params, json_t **reply)
{
	int rc;

	rc = client_call(c, method, params,
	    (call->entry->flags & COMMANDS_LONG) ? CLIENT_CALL_LONG : 0,
	    reply, commands_notify, call);
	if (rc == CLIENT_OK)
		return COMMANDS_EXIT_OK;
	fprintf(stderr, "superctl: %s\n", rc == CLIENT_INTERRUPTED ?
	    "interrupted" : client_error(c));
	return rc == CLIENT_PROTOCOL ? COMMANDS_EXIT_FAILURE :
	    rc == CLIENT_INTERRUPTED ? 130 : COMMANDS_EXIT_UNAVAILABLE;
}

/* Send the request, print the reply, follow a stream; an exit code. */
static int
commands_talk(struct commands_call *call, struct commands_req *req)
{
	struct commands_ctx *ctx = call->ctx;
	json_t *reply = NULL, *result, *error;
	struct client *c;
	int rc;

	if ((c = commands_connect(ctx)) == NULL) {
		json_decref(req->params);
		return COMMANDS_EXIT_UNAVAILABLE;
	}
	rc = commands_call(call, c, req->method, req->params, &reply);
	if (rc != COMMANDS_EXIT_OK) {
		client_close(c);
		return rc;
	}
	error = json_object_get(reply, "error");
	result = json_object_get(reply, "result");
	if (error != NULL) {
		rc = commands_error(call, error);
		goto out;
	}
	if (call->render != NULL)
		call->render(call, result);
	else if (ctx->json) {
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

/* --- fg -------------------------------------------------------------- */

/* A chunk of the terminal's input to the process's stdin; non-zero to
 * detach (EOF, a lost connection). */
static int
commands_fg_stdin(void *arg)
{
	struct commands_call *call = arg;
	json_t *reply = NULL, *error;
	char buf[4096], text[2048];
	ssize_t n;

	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return 1;
	if (commands_call(call, call->client, "process.stdin",
	    json_pack("{s:s,s:s%}", "name", call->name, "data", buf,
	    (size_t)n), &reply) != COMMANDS_EXIT_OK) {
		call->rc = COMMANDS_EXIT_UNAVAILABLE;
		return 1;
	}
	if ((error = json_object_get(reply, "error")) != NULL) {
		commands_error_text(error, text, sizeof(text));
		fprintf(stderr, "superctl: ERROR (%s)\n", text);
	}
	json_decref(reply);
	return 0;
}

/* Follow one stream of the process; an exit code. */
static int
commands_fg_follow(struct commands_call *call, const char *stream)
{
	json_t *reply = NULL, *error;
	int rc;

	rc = commands_call(call, call->client, "process.tail",
	    json_pack("{s:s,s:s,s:i,s:b}", "name", call->name, "stream",
	    stream, "bytes", 0, "follow", 1), &reply);
	if (rc == COMMANDS_EXIT_OK &&
	    (error = json_object_get(reply, "error")) != NULL)
		rc = commands_error(call, error);
	json_decref(reply);
	return rc;
}

/*
 * fg NAME, as supervisorctl's: the process's output as it comes, the
 * terminal's lines to its stdin. One connection carries both follows and
 * the process.stdin calls. Detaching never stops the process.
 */
static int
commands_fg_build(struct commands_call *call, struct commands_req *req)
{
	json_t *reply = NULL, *error, *list, *p;
	const char *state;
	int rc;

	req->method = NULL;
	call->name = call->argv[0];
	if ((call->client = commands_connect(call->ctx)) == NULL)
		return COMMANDS_EXIT_UNAVAILABLE;
	rc = commands_call(call, call->client, "process.list",
	    json_pack("{s:[s]}", "names", call->name), &reply);
	if (rc != COMMANDS_EXIT_OK)
		goto out;
	if ((error = json_object_get(reply, "error")) != NULL) {
		rc = commands_error(call, error);
		goto out;
	}
	list = json_object_get(reply, "result");
	if (json_array_size(list) != 1) {
		rc = commands_usage_error(call, "%s is a group of %zu; name "
		    "one process", call->name, json_array_size(list));
		goto out;
	}
	p = json_array_get(list, 0);
	state = commands_str(p, "state");
	if (strcmp(state, "RUNNING") != 0) {
		fprintf(stderr, "superctl: ERROR (%s is not running: %s)\n",
		    call->name, state);
		rc = COMMANDS_EXIT_UNAVAILABLE;
		goto out;
	}
	if ((rc = commands_fg_follow(call, "stdout")) != COMMANDS_EXIT_OK ||
	    (rc = commands_fg_follow(call, "stderr")) != COMMANDS_EXIT_OK)
		goto out;
	/* Both follows are in place: what is typed from now on is seen. */
	fprintf(stderr, "==> attached to %s; Ctrl-C or Ctrl-D detaches <==\n",
	    call->name);
	fflush(stdout);
	if (client_stream_fd(call->client, commands_notify, call,
	    STDIN_FILENO, commands_fg_stdin) != CLIENT_OK) {
		fprintf(stderr, "superctl: %s\n",
		    client_error(call->client));
		rc = COMMANDS_EXIT_UNAVAILABLE;
	} else
		rc = call->rc;
out:
	json_decref(reply);
	client_close(call->client);
	call->client = NULL;
	fflush(stdout);
	return rc;
}

/* --- _complete: candidates for the bash completion -------------------- */

static void
commands_list_names(const char *const *names)
{
	for (; *names != NULL; names++)
		puts(*names);
}

/* Processes only (fg, tail): no groups, no GROUP:*. */
static void
commands_procs_render(struct commands_call *call, json_t *result)
{
	char name[512];
	json_t *p;
	size_t i;

	json_array_foreach(result, i, p) {
		commands_display_name(p, name, sizeof(name));
		commands_printf(call->ctx, "%s\n", name);
	}
}

/* The groups of config.avail, once each (update). */
static void
commands_groups_render(struct commands_call *call, json_t *result)
{
	const char *group, *prev = "";
	json_t *p;
	size_t i;

	json_array_foreach(result, i, p) {
		group = commands_str(p, "group");
		if (*group == '\0')
			group = commands_str(p, "name");
		if (strcmp(group, prev) != 0)
			commands_printf(call->ctx, "%s\n", group);
		prev = group;
	}
}

/* Ask the daemon for names; req is left done. */
static int
commands_complete_talk(struct commands_call *call, struct commands_req *req,
    const char *method)
{
	int rc;

	req->method = method;
	rc = commands_talk(call, req);
	req->method = NULL;
	req->params = NULL;
	return rc;
}

static int
commands_complete_build(struct commands_call *call, struct commands_req *req)
{
	static const char *const signals[] = { "HUP", "INT", "QUIT", "KILL",
	    "USR1", "USR2", "TERM", "CONT", "STOP", "TSTP", NULL };
	static const char *const flags[] = { "-f", "-1600", NULL };
	static const char *const streams[] = { "stdout", "stderr", NULL };
	const struct commands_entry *e;
	const char *cur;
	int pos, i, npos = 0;

	req->method = NULL;
	if (call->argc <= 1) {
		commands_list_build(call, req);
		return COMMANDS_EXIT_OK;
	}
	if ((e = commands_find(call->argv[0])) == NULL)
		return COMMANDS_EXIT_OK;
	pos = call->argc - 1;
	cur = call->argv[pos];
	switch (e->complete) {
	case COMMANDS_COMPLETE_COMMAND:
		if (pos == 1)
			commands_list_build(call, req);
		return COMMANDS_EXIT_OK;
	case COMMANDS_COMPLETE_FLAGS:
		commands_list_names(flags);
		return COMMANDS_EXIT_OK;
	case COMMANDS_COMPLETE_SIGNAL:
		if (pos == 1) {
			commands_list_names(signals);
			return COMMANDS_EXIT_OK;
		}
		break;
	case COMMANDS_COMPLETE_TAIL:
		if (cur[0] == '-') {
			commands_list_names(flags);
			return COMMANDS_EXIT_OK;
		}
		for (i = 1; i < pos; i++)
			npos += call->argv[i][0] != '-';
		if (npos == 1)
			commands_list_names(streams);
		if (npos != 0)
			return COMMANDS_EXIT_OK;
		call->render = commands_procs_render;
		break;
	case COMMANDS_COMPLETE_PROCESS:
		if (pos != 1)
			return COMMANDS_EXIT_OK;
		call->render = commands_procs_render;
		break;
	case COMMANDS_COMPLETE_GROUPS:
		puts("all");
		call->render = commands_groups_render;
		return commands_complete_talk(call, req, "config.avail");
	case COMMANDS_COMPLETE_NAMES:
		break;
	default:
		return COMMANDS_EXIT_OK;
	}
	if (call->render == NULL) {
		puts("all");
		call->render = commands_names_render;
	}
	return commands_complete_talk(call, req, "process.list");
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
	req.stream = call.entry->stream == COMMANDS_STREAM_ALWAYS;
	for (rc = 0; rc < call.argc; rc++)
		if (call.entry->stream == COMMANDS_STREAM_FOLLOW &&
		    strcmp(call.argv[rc], "-f") == 0)
			req.stream = true;
	if (call.entry->build != NULL) {
		rc = call.entry->build(&call, &req);
		/* build did it all: a local command, fg, _complete */
		if (rc != 0 || (call.entry->flags & COMMANDS_LOCAL) ||
		    req.method == NULL) {
			json_decref(req.params);
			fflush(stdout);
			return rc;
		}
	}
	return commands_talk(&call, &req);
}
