/*
 * The config loader: files -> sections -> an immutable struct config.
 *
 * Reading happens in two passes.
 *
 * Pass 1 (per file, includes depth-first): config_lex.c reads the file
 * and turns it into sections and "key = value" entries, with line
 * numbers, continuation lines, comments and any line length (see there
 * for why inih is fed synthetic lines); this file files them under
 * struct config_section and follows [include].
 *
 * Pass 2 turns sections into the config: [superd], [control], [superctl],
 * then groups and programs, each value expanded (%(here)s...) and parsed
 * with values.c. Every problem is collected into the caller's diags;
 * nothing stops at the first one.
 *
 * Relative paths (logfile, pidfile, childlogdir, socket, directory,
 * *_logfile, include globs) are taken relative to the directory of the
 * file where they are written (%(here)s), not to superd's cwd as
 * supervisord does: a config then means the same whatever directory
 * superd is started from.
 */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <fcntl.h>

#include "config.h"
#include "config_lex.h"
#include "log.h"
#include "values.h"
#include "xmalloc.h"

#define CONFIG_FILES_MAX	1000
#define CONFIG_DEPTH_MAX	32
#define CONFIG_PROCS_MAX	10000
#define CONFIG_NUMPROCS_MAX	1000
#define CONFIG_PRIORITY_MAX	99999999

enum config_kind {
	CONFIG_SEC_SKIP = 0,
	CONFIG_SEC_MAIN,
	CONFIG_SEC_CONTROL,
	CONFIG_SEC_CTL,
	CONFIG_SEC_INCLUDE,
	CONFIG_SEC_PROGRAM,
	CONFIG_SEC_GROUP,
	CONFIG_SEC_FCGI,	/* [fcgi-program:x] */
	CONFIG_SEC_LISTENER,	/* [eventlistener:x] */
	CONFIG_SEC_INET		/* [inet_http_server] */
};

/* The sections that define processes. */
#define CONFIG_SEC_IS_PROGRAM(k)	((k) == CONFIG_SEC_PROGRAM || \
	(k) == CONFIG_SEC_FCGI || (k) == CONFIG_SEC_LISTENER)

struct config_kv {
	char	*key;
	char	*value;
	int	 line;
};

struct config_section {
	char	*name;
	const char *arg;	/* after "program:" / "group:" */
	const char *file;	/* borrowed from config_parser.files */
	const char *here;
	int	 line;
	enum config_kind kind;
	struct config_kv *kv;
	size_t	 nkv;
	char	*group;		/* programs: its [group:g] */
	bool	 used;		/* programs: already built */
};

struct config_file {
	char	*path;
	char	*here;
};

struct config_parser {
	int	 flags;
	struct diags *d;
	struct config_section **sec;
	size_t	 nsec;
	struct config_file **files;
	size_t	 nfiles;
	char	*stack[CONFIG_DEPTH_MAX];
	size_t	 depth;
	char	 host[256];
	size_t	 nprocs;
};

enum config_vtype {
	CONFIG_V_STR,
	CONFIG_V_PATH,
	CONFIG_V_BOOL,
	CONFIG_V_INT,
	CONFIG_V_PRIORITY,
	CONFIG_V_SIZE,
	CONFIG_V_SIGNAL,
	CONFIG_V_DURATION,
	CONFIG_V_EXITCODES,
	CONFIG_V_UMASK,
	CONFIG_V_MODE,
	CONFIG_V_ENV,
	CONFIG_V_LOGLEVEL,
	CONFIG_V_MINFDS,
	CONFIG_V_SERVERURL,
	CONFIG_V_COMMAND,
	CONFIG_V_AUTORESTART,
	CONFIG_V_LOGFILE,
	CONFIG_V_STDIN,
	CONFIG_V_RANGE,		/* an int in [min, max] */
	CONFIG_V_SOCKET,
	CONFIG_V_PROBE,		/* off: of the struct probe_conf */
	CONFIG_V_DEPENDS,
	CONFIG_V_BACKOFF,
	CONFIG_V_EVENTS,
	CONFIG_V_INETPORT,
	CONFIG_V_EARLY,		/* handled before the per-process pass */
	CONFIG_V_SILENT,	/* a supervisord key that changes nothing here
				 * and is accepted without a word */
	CONFIG_V_IGNORED	/* a supervisord key superd does not use */
};

/* Which process sections a key belongs to (0: all of them). */
#define CONFIG_IN_PROGRAM	(1 << 0)
#define CONFIG_IN_FCGI		(1 << 1)
#define CONFIG_IN_LISTENER	(1 << 2)

struct config_key {
	const char *name;
	enum config_vtype type;
	size_t	 off;
	long long max;		/* CONFIG_V_INT, CONFIG_V_RANGE */
	long long min;		/* CONFIG_V_RANGE */
	int	 where;		/* CONFIG_IN_*; 0: everywhere */
};

#define CONFIG_OFF(m)	offsetof(struct config, m)
#define PROC_OFF(m)	offsetof(struct proc_conf, m)

static const struct config_key config_main_keys[] = {
	{ "logfile", CONFIG_V_PATH, CONFIG_OFF(logfile), 0, 0, 0 },
	{ "loglevel", CONFIG_V_LOGLEVEL, CONFIG_OFF(loglevel), 0, 0, 0 },
	{ "pidfile", CONFIG_V_PATH, CONFIG_OFF(pidfile), 0, 0, 0 },
	{ "childlogdir", CONFIG_V_PATH, CONFIG_OFF(childlogdir), 0, 0, 0 },
	{ "umask", CONFIG_V_UMASK, CONFIG_OFF(umask), 0, 0, 0 },
	{ "minfds", CONFIG_V_MINFDS, CONFIG_OFF(minfds), 0, 0, 0 },
	{ "environment", CONFIG_V_ENV, CONFIG_OFF(environment), 0, 0, 0 },
	{ "identifier", CONFIG_V_STR, CONFIG_OFF(identifier), 0, 0, 0 },
	{ "nocleanup", CONFIG_V_BOOL, CONFIG_OFF(nocleanup), 0, 0, 0 },
	{ "shutdown_timeout", CONFIG_V_DURATION,
	    CONFIG_OFF(shutdown_timeout), 0, 0, 0 },
	{ "logfile_maxbytes", CONFIG_V_IGNORED, 0, 0, 0, 0 },
	{ "logfile_backups", CONFIG_V_IGNORED, 0, 0, 0, 0 },
	{ "state_file", CONFIG_V_PATH, CONFIG_OFF(state_file), 0, 0, 0 },
	{ "nodaemon", CONFIG_V_SILENT, 0, 0, 0, 0 },
	{ "silent", CONFIG_V_IGNORED, 0, 0, 0, 0 },
	{ "minprocs", CONFIG_V_IGNORED, 0, 0, 0, 0 },
	{ "user", CONFIG_V_EARLY, 0, 0, 0, 0 },
	{ "directory", CONFIG_V_IGNORED, 0, 0, 0, 0 },
	{ "strip_ansi", CONFIG_V_IGNORED, 0, 0, 0, 0 },
	{ NULL, CONFIG_V_IGNORED, 0, 0, 0, 0 }
};

static const struct config_key config_control_keys[] = {
	{ "socket", CONFIG_V_PATH, CONFIG_OFF(socket), 0, 0, 0 },
	{ "file", CONFIG_V_PATH, CONFIG_OFF(socket), 0, 0, 0 },
	{ "socket_mode", CONFIG_V_MODE, CONFIG_OFF(socket_mode), 0, 0, 0 },
	{ "chmod", CONFIG_V_MODE, CONFIG_OFF(socket_mode), 0, 0, 0 },
	{ "socket_owner", CONFIG_V_STR, CONFIG_OFF(socket_owner), 0, 0, 0 },
	{ "chown", CONFIG_V_STR, CONFIG_OFF(socket_owner), 0, 0, 0 },
	{ "readonly_group", CONFIG_V_STR, CONFIG_OFF(readonly_group), 0, 0, 0 },
	{ "username", CONFIG_V_STR, CONFIG_OFF(username), 0, 0, 0 },
	{ "password", CONFIG_V_STR, CONFIG_OFF(password), 0, 0, 0 },
	{ NULL, CONFIG_V_IGNORED, 0, 0, 0, 0 }
};

static const struct config_key config_inet_keys[] = {
	{ "port", CONFIG_V_INETPORT, 0, 0, 0, 0 },
	{ "username", CONFIG_V_STR, CONFIG_OFF(inet_username), 0, 0, 0 },
	{ "password", CONFIG_V_STR, CONFIG_OFF(inet_password), 0, 0, 0 },
	{ NULL, CONFIG_V_IGNORED, 0, 0, 0, 0 }
};

static const struct config_key config_ctl_keys[] = {
	{ "socket", CONFIG_V_PATH, CONFIG_OFF(ctl_socket), 0, 0, 0 },
	{ "serverurl", CONFIG_V_SERVERURL, CONFIG_OFF(ctl_socket), 0, 0, 0 },
	/* For supervisorctl's HTTP requests to superd; superctl is known
	 * by its peer credentials and needs none. */
	{ "username", CONFIG_V_SILENT, 0, 0, 0, 0 },
	{ "password", CONFIG_V_SILENT, 0, 0, 0, 0 },
	{ "prompt", CONFIG_V_SILENT, 0, 0, 0, 0 },
	{ "history_file", CONFIG_V_SILENT, 0, 0, 0, 0 },
	{ NULL, CONFIG_V_IGNORED, 0, 0, 0, 0 }
};

static const struct config_key config_include_keys[] = {
	{ "files", CONFIG_V_EARLY, 0, 0, 0, 0 },
	{ NULL, CONFIG_V_IGNORED, 0, 0, 0, 0 }
};

static const struct config_key config_group_keys[] = {
	{ "programs", CONFIG_V_EARLY, 0, 0, 0, 0 },
	{ "priority", CONFIG_V_EARLY, 0, 0, 0, 0 },
	{ NULL, CONFIG_V_IGNORED, 0, 0, 0, 0 }
};

static const struct config_key config_program_keys[] = {
	{ "command", CONFIG_V_COMMAND, 0, 0, 0, 0 },
	{ "process_name", CONFIG_V_EARLY, 0, 0, 0, 0 },
	{ "numprocs", CONFIG_V_EARLY, 0, 0, 0, 0 },
	{ "numprocs_start", CONFIG_V_EARLY, 0, 0, 0, 0 },
	{ "priority", CONFIG_V_PRIORITY, PROC_OFF(priority), 0, 0, 0 },
	{ "autostart", CONFIG_V_BOOL, PROC_OFF(autostart), 0, 0, 0 },
	{ "autorestart", CONFIG_V_AUTORESTART, 0, 0, 0, 0 },
	{ "startsecs", CONFIG_V_DURATION, PROC_OFF(startsecs), 0, 0, 0 },
	{ "startretries", CONFIG_V_INT, PROC_OFF(startretries), 1000000, 0, 0 },
	{ "exitcodes", CONFIG_V_EXITCODES, 0, 0, 0, 0 },
	{ "stopsignal", CONFIG_V_SIGNAL, PROC_OFF(stopsignal), 0, 0, 0 },
	{ "stopwaitsecs", CONFIG_V_DURATION, PROC_OFF(stopwaitsecs), 0, 0, 0 },
	{ "stopasgroup", CONFIG_V_BOOL, PROC_OFF(stopasgroup), 0, 0, 0 },
	{ "killasgroup", CONFIG_V_BOOL, PROC_OFF(killasgroup), 0, 0, 0 },
	{ "user", CONFIG_V_STR, PROC_OFF(user), 0, 0, 0 },
	{ "directory", CONFIG_V_PATH, PROC_OFF(directory), 0, 0, 0 },
	{ "umask", CONFIG_V_UMASK, PROC_OFF(umask), 0, 0, 0 },
	{ "environment", CONFIG_V_ENV, PROC_OFF(environment), 0, 0, 0 },
	{ "redirect_stderr", CONFIG_V_BOOL, PROC_OFF(redirect_stderr), 0, 0,
	    0 },
	{ "stdout_logfile", CONFIG_V_LOGFILE, 0, 0, 0, 0 },
	{ "stdout_logfile_maxbytes", CONFIG_V_SIZE,
	    PROC_OFF(stdout_log.maxbytes), 0, 0, 0 },
	{ "stdout_logfile_backups", CONFIG_V_INT, PROC_OFF(stdout_log.backups),
	    1000, 0, 0 },
	{ "stdout_logfile_timestamps", CONFIG_V_BOOL,
	    PROC_OFF(stdout_log.timestamps), 0, 0, 0 },
	{ "stderr_logfile", CONFIG_V_LOGFILE, 1, 0, 0, 0 },
	{ "stderr_logfile_maxbytes", CONFIG_V_SIZE,
	    PROC_OFF(stderr_log.maxbytes), 0, 0, 0 },
	{ "stderr_logfile_backups", CONFIG_V_INT, PROC_OFF(stderr_log.backups),
	    1000, 0, 0 },
	{ "stderr_logfile_timestamps", CONFIG_V_BOOL,
	    PROC_OFF(stderr_log.timestamps), 0, 0, 0 },
	{ "stdin", CONFIG_V_STDIN, 0, 0, 0, 0 },
	{ "description", CONFIG_V_STR, PROC_OFF(description), 0, 0, 0 },
	{ "stdout_events_enabled", CONFIG_V_BOOL,
	    PROC_OFF(stdout_log.events_enabled), 0, 0, 0 },
	{ "stderr_events_enabled", CONFIG_V_BOOL,
	    PROC_OFF(stderr_log.events_enabled), 0, 0, 0 },
	{ "socket", CONFIG_V_SOCKET, 0, 0, 0, 0 },
	{ "socket_backlog", CONFIG_V_RANGE, PROC_OFF(socket.backlog), 65535,
	    1, 0 },
	{ "socket_owner", CONFIG_V_STR, PROC_OFF(socket.owner), 0, 0, 0 },
	{ "socket_mode", CONFIG_V_MODE, PROC_OFF(socket.mode), 0, 0, 0 },
	{ "reload_signal", CONFIG_V_SIGNAL, PROC_OFF(reload_signal), 0, 0, 0 },
	{ "ready", CONFIG_V_PROBE, PROC_OFF(ready), 0, 0, 0 },
	{ "ready_timeout", CONFIG_V_RANGE, PROC_OFF(ready_timeout), 86400,
	    1, 0 },
	{ "health", CONFIG_V_PROBE, PROC_OFF(health), 0, 0, 0 },
	{ "health_interval", CONFIG_V_RANGE, PROC_OFF(health_interval),
	    86400, 1, 0 },
	{ "health_timeout", CONFIG_V_RANGE, PROC_OFF(health_timeout), 3600,
	    1, 0 },
	{ "health_retries", CONFIG_V_RANGE, PROC_OFF(health_retries), 1000,
	    1, 0 },
	{ "depends_on", CONFIG_V_DEPENDS, 0, 0, 0, 0 },
	{ "backoff", CONFIG_V_BACKOFF, 0, 0, 0, 0 },
	{ "backoff_max", CONFIG_V_RANGE, PROC_OFF(backoff_max), 86400, 1, 0 },
	{ "backoff_reset", CONFIG_V_RANGE, PROC_OFF(backoff_reset), 86400,
	    0, 0 },
	{ "oom_score_adj", CONFIG_V_RANGE, PROC_OFF(oom_score_adj), 1000,
	    -1000, 0 },
	{ "events", CONFIG_V_EVENTS, 0, 0, 0, CONFIG_IN_LISTENER },
	{ "buffer_size", CONFIG_V_RANGE, PROC_OFF(buffer_size), 1000000, 1,
	    CONFIG_IN_LISTENER },
	{ "result_handler", CONFIG_V_SILENT, 0, 0, 0, CONFIG_IN_LISTENER },
	{ "stdout_capture_maxbytes", CONFIG_V_IGNORED, 0, 0, 0, 0 },
	{ "stdout_syslog", CONFIG_V_IGNORED, 0, 0, 0, 0 },
	{ "stderr_capture_maxbytes", CONFIG_V_IGNORED, 0, 0, 0, 0 },
	{ "stderr_syslog", CONFIG_V_IGNORED, 0, 0, 0, 0 },
	{ "serverurl", CONFIG_V_IGNORED, 0, 0, 0, 0 },
	{ NULL, CONFIG_V_IGNORED, 0, 0, 0, 0 }
};

/* What the per-process pass learns beyond struct proc_conf. */
struct config_proc_extra {
	const char *log_spec[2];	/* stdout, stderr; NULL: AUTO */
	char	*log_owned[2];
	int	 log_line[2];
	int	 stopasgroup_line;
	bool	 killasgroup_given;
	bool	 has_command;
	bool	 command_bad;	/* given, but its value had an error */
	int	 line_of[4];	/* where some keys are, CONFIG_L_* */
};

/* Keys whose line config_proc_finish() needs for its messages. */
enum {
	CONFIG_L_SOCKET_OWNER,
	CONFIG_L_SOCKET_MODE,
	CONFIG_L_PRIORITY,
	CONFIG_L_REDIRECT
};

static void config_section_free(struct config_section *);
static void config_proc_free(struct proc_conf *);
static void config_group_free(struct group_conf *);

/* A value short enough to quote in a message. */
static const char *
config_short(const char *v, char *buf, size_t len)
{
	if (strlen(v) < len - 4)
		return v;
	snprintf(buf, len, "%.*s...", (int)(len - 4), v);
	return buf;
}

/*
 * diags.
 */

void
diags_init(struct diags *d)
{
	memset(d, 0, sizeof(*d));
}

void
diags_free(struct diags *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].message);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

void
diags_add(struct diags *d, const char *file, int line, bool warning,
    const char *fmt, ...)
{
	struct diag *g;
	va_list ap;

	if (d->n == d->cap) {
		d->cap = d->cap == 0 ? 16 : d->cap * 2;
		d->v = xreallocarray(d->v, d->cap, sizeof(*d->v));
	}
	g = &d->v[d->n++];
	g->file = xstrdup(file);
	g->line = line;
	g->warning = warning;
	va_start(ap, fmt);
	if (vasprintf(&g->message, fmt, ap) == -1)
		abort();
	va_end(ap);
}

size_t
diags_errors(const struct diags *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->n; i++)
		if (!d->v[i].warning)
			n++;
	return n;
}

void
diags_format(const struct diag *g, char *buf, size_t len)
{
	const char *w = g->warning ? "warning: " : "";

	if (g->file != NULL && g->line > 0)
		snprintf(buf, len, "%s:%d: %s%s", g->file, g->line, w,
		    g->message);
	else if (g->file != NULL)
		snprintf(buf, len, "%s: %s%s", g->file, w, g->message);
	else
		snprintf(buf, len, "%s%s", w, g->message);
}

/* Add a message unless the same one was just added (the per-process
 * pass of numprocs would repeat it); under CONFIG_STRICT a warning is
 * an error. */
static void
config_diag(struct config_parser *p, const char *file, int line,
    bool warning, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
config_diag(struct config_parser *p, const char *file, int line,
    bool warning, const char *fmt, ...)
{
	char msg[1024];
	struct diag *g;
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->flags & CONFIG_STRICT)
		warning = false;
	for (i = p->d->n; i > 0 && i + 32 > p->d->n; i--) {
		g = &p->d->v[i - 1];
		if (g->line == line && g->warning == warning &&
		    strcmp(g->message, msg) == 0 && g->file != NULL &&
		    file != NULL && strcmp(g->file, file) == 0)
			return;
	}
	diags_add(p->d, file, line, warning, "%s", msg);
}

/* Edit distance, for "did you mean". */
static size_t
config_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, cur, up;
	size_t row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			cur = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < cur)
				cur = row[j] + 1;
			if (row[j - 1] + 1 < cur)
				cur = row[j - 1] + 1;
			row[j] = cur;
			prev = up;
		}
	}
	return row[lb];
}

/* The closest of `names` within distance 2, or NULL. */
static const char *
config_near(const char *word, const char *const *names)
{
	const char *best = NULL;
	size_t d, bestd = 3;

	for (; *names != NULL; names++) {
		if ((d = config_distance(word, *names)) < bestd) {
			bestd = d;
			best = *names;
		}
	}
	return best;
}

/* True for a valid program, group or process name. */
static bool
config_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= CONFIG_NAME_MAX &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") == n;
}

/* An absolute path: as is, or relative to `here`. */
static char *
config_path(const char *here, const char *v)
{
	if (v[0] == '/' || here == NULL)
		return xstrdup(v);
	return xprintf("%s/%s", here, v);
}

/*
 * Pass 1: sections.
 */

static const char *const config_section_names[] = {
	"superd", "supervisord", "control", "unix_http_server", "superctl",
	"supervisorctl", "include", "program", "group", "fcgi-program",
	"eventlistener", "inet_http_server", "rpcinterface", NULL
};

/* The kind of a section name; warns about what is skipped. */
static enum config_kind
config_section_kind(struct config_parser *p, struct config_section *s)
{
	static const struct {
		const char *name;
		enum config_kind kind;
	} fixed[] = {
		{ "superd", CONFIG_SEC_MAIN },
		{ "supervisord", CONFIG_SEC_MAIN },
		{ "control", CONFIG_SEC_CONTROL },
		{ "unix_http_server", CONFIG_SEC_CONTROL },
		{ "superctl", CONFIG_SEC_CTL },
		{ "supervisorctl", CONFIG_SEC_CTL },
		{ "include", CONFIG_SEC_INCLUDE },
		{ "inet_http_server", CONFIG_SEC_INET },
	};
	char type[64];
	const char *colon, *near;
	size_t i, n;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(s->name, fixed[i].name) == 0)
			return fixed[i].kind;
	colon = strchr(s->name, ':');
	n = colon != NULL ? (size_t)(colon - s->name) : strlen(s->name);
	snprintf(type, sizeof(type), "%.*s", (int)n, s->name);
	if (colon != NULL && strcmp(type, "program") == 0)
		return CONFIG_SEC_PROGRAM;
	if (colon != NULL && strcmp(type, "group") == 0)
		return CONFIG_SEC_GROUP;
	if (colon != NULL && strcmp(type, "fcgi-program") == 0)
		return CONFIG_SEC_FCGI;
	if (colon != NULL && strcmp(type, "eventlistener") == 0)
		return CONFIG_SEC_LISTENER;
	/* superd always serves supervisord's XML-RPC interface: the
	 * section that enables it in supervisord changes nothing. */
	if (strcmp(type, "rpcinterface") == 0)
		return CONFIG_SEC_SKIP;
	if ((near = config_near(type, config_section_names)) != NULL)
		config_diag(p, s->file, s->line, true, "unknown section [%s] "
		    "(did you mean [%s%s]?); skipped", s->name, near,
		    colon != NULL ? colon : "");
	else
		config_diag(p, s->file, s->line, true, "unknown section [%s]; "
		    "skipped", s->name);
	return CONFIG_SEC_SKIP;
}

/* Check a [program:x] / [group:x] name and that it is the first. */
static void
config_section_check_name(struct config_parser *p, struct config_section *s)
{
	struct config_section *o;
	size_t i;

	s->arg = strchr(s->name, ':') + 1;
	if (!config_name_ok(s->arg)) {
		config_diag(p, s->file, s->line, false, "bad name in [%s]: "
		    "names are 1 to %d of A-Z a-z 0-9 _ . -", s->name,
		    CONFIG_NAME_MAX);
		s->kind = CONFIG_SEC_SKIP;
		return;
	}
	for (i = 0; i < p->nsec; i++) {
		o = p->sec[i];
		if (o != s && (o->kind == s->kind ||
		    (CONFIG_SEC_IS_PROGRAM(o->kind) &&
		    CONFIG_SEC_IS_PROGRAM(s->kind))) &&
		    strcmp(o->arg, s->arg) == 0) {
			config_diag(p, s->file, s->line, false,
			    "duplicate [%s] (first defined at %s:%d)",
			    s->name, o->file, o->line);
			s->kind = CONFIG_SEC_SKIP;
			return;
		}
	}
}

static size_t
config_section_new(struct config_parser *p, const char *name,
    const char *file, const char *here, int line)
{
	struct config_section *s;

	s = xcalloc(1, sizeof(*s));
	s->name = xstrdup(name);
	s->file = file;
	s->here = here;
	s->line = line;
	s->arg = "";
	s->kind = config_section_kind(p, s);
	p->sec = xreallocarray(p->sec, p->nsec + 1, sizeof(*p->sec));
	p->sec[p->nsec++] = s;
	if (CONFIG_SEC_IS_PROGRAM(s->kind) || s->kind == CONFIG_SEC_GROUP)
		config_section_check_name(p, s);
	return p->nsec - 1;
}

static void
config_section_free(struct config_section *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nkv; i++) {
		free(s->kv[i].key);
		free(s->kv[i].value);
	}
	free(s->kv);
	free(s->name);
	free(s->group);
	free(s);
}

static struct config_kv *
config_section_get(const struct config_section *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->nkv; i++)
		if (strcmp(s->kv[i].key, key) == 0)
			return &s->kv[i];
	return NULL;
}

/* File an entry under its section; a repeated key warns, the last wins.
 * Takes ownership of key and value. */
static void
config_section_set(struct config_parser *p, struct config_section *s,
    char *key, char *value, int line)
{
	struct config_kv *kv;

	if ((kv = config_section_get(s, key)) != NULL) {
		config_diag(p, s->file, line, true, "'%s' repeated in [%s] "
		    "(also at line %d); the last one wins", key, s->name,
		    kv->line);
		free(kv->key);
		free(kv->value);
	} else {
		s->kv = xreallocarray(s->kv, s->nkv + 1,
		    sizeof(*s->kv));
		kv = &s->kv[s->nkv++];
	}
	kv->key = key;
	kv->value = value;
	kv->line = line;
}

/*
 * Pass 1: files and includes.
 */

/* What the lexer's callbacks need: the parser and the file being lexed. */
struct config_lexing {
	struct config_parser *p;
	const struct config_file *f;
};

static size_t
config_on_section(void *arg, const char *name, int line)
{
	struct config_lexing *l = arg;

	return config_section_new(l->p, name, l->f->path, l->f->here, line);
}

static void
config_on_entry(void *arg, size_t sec, char *key, char *value, int line)
{
	struct config_lexing *l = arg;

	config_section_set(l->p, l->p->sec[sec], key, value, line);
}

static void
config_on_error(void *arg, int line, const char *msg)
{
	struct config_lexing *l = arg;

	config_diag(l->p, l->f->path, line, false, "%s", msg);
}

static const struct config_lex_ops config_lex_callbacks = {
	config_on_section, config_on_entry, config_on_error
};

static struct config_file *
config_file_new(struct config_parser *p, const char *path)
{
	struct config_file *f;
	char cwd[PATH_MAX], *abs, *slash;

	f = xcalloc(1, sizeof(*f));
	f->path = xstrdup(path);
	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
		abs = xprintf("%s/%s", cwd, path);
	else
		abs = xstrdup(path);
	slash = strrchr(abs, '/');
	if (slash == abs)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	f->here = abs;
	p->files = xreallocarray(p->files, p->nfiles + 1,
	    sizeof(*p->files));
	p->files[p->nfiles++] = f;
	return f;
}

static void config_read(struct config_parser *, const char *path,
    const char *from, int from_line);

/* [include] files= of sections from index `first` on. */
static void
config_include_section(struct config_parser *p, struct config_section *s)
{
	struct values_expand x = { s->here, p->host, NULL, NULL, -1, -1 };
	struct config_kv *kv;
	char err[256], *v, *word, *save, *pat;
	glob_t g;
	size_t i;
	int rc;

	if ((kv = config_section_get(s, "files")) == NULL) {
		config_diag(p, s->file, s->line, true, "[include] without "
		    "files=");
		return;
	}
	if ((v = values_expand(kv->value, &x, err, sizeof(err))) == NULL) {
		config_diag(p, s->file, kv->line, false, "files: %s", err);
		return;
	}
	for (word = strtok_r(v, " \t\n", &save); word != NULL;
	    word = strtok_r(NULL, " \t\n", &save)) {
		pat = config_path(s->here, word);
		rc = glob(pat, 0, NULL, &g);
		if (rc == 0)
			for (i = 0; i < g.gl_pathc; i++)
				config_read(p, g.gl_pathv[i], s->file,
				    kv->line);
		else if (rc == GLOB_NOMATCH && strpbrk(pat, "*?[") == NULL)
			/* As supervisord, which logs this and carries on;
			 * a file that is there but unreadable stays an
			 * error (glob matched it). */
			config_diag(p, s->file, kv->line, true, "No file "
			    "matches via include %s", pat);
		else if (rc != GLOB_NOMATCH)
			config_diag(p, s->file, kv->line, false, "include "
			    "%s: cannot read its directory", pat);
		if (rc == 0)
			globfree(&g);
		free(pat);
	}
	free(v);
}

/* True when the real path of `path` is being read (an include loop). */
static bool
config_read_loops(struct config_parser *p, const char *real)
{
	size_t i;

	for (i = 0; i < p->depth; i++)
		if (strcmp(p->stack[i], real) == 0)
			return true;
	return false;
}

/* Check that `path` may be read now; its real path, or NULL. */
static char *
config_read_enter(struct config_parser *p, const char *path,
    const char *from, int from_line)
{
	char *real;

	if ((real = realpath(path, NULL)) == NULL) {
		config_diag(p, from != NULL ? from : path, from_line, false,
		    "cannot read %s%s: %s", from != NULL ? "include " : "",
		    path, strerror(errno));
		return NULL;
	}
	if (config_read_loops(p, real)) {
		config_diag(p, from, from_line, false, "include loop: %s is "
		    "already being read", path);
		free(real);
		return NULL;
	}
	if (p->depth == CONFIG_DEPTH_MAX || p->nfiles == CONFIG_FILES_MAX) {
		config_diag(p, from, from_line, false, "include %s: more than "
		    "%d levels or %d files", path, CONFIG_DEPTH_MAX,
		    CONFIG_FILES_MAX);
		free(real);
		return NULL;
	}
	return real;
}

/*
 * A root superd runs every command= as root (or as the user= it names):
 * a config file someone else could write is a way to root, as sshd's
 * StrictModes and sudo's checks of sudoers know. So, when superd runs as
 * root, each file (`real`: symlinks followed; `st`: as opened) must
 * belong to root or to superd's own user and be writable by its owner
 * only, and its directory must not be writable by group or others unless
 * sticky (/tmp). superctl and the fuzzer (CONFIG_NO_USERS) run nothing
 * and skip this. True when the file is refused.
 */
static bool
config_read_unsafe(struct config_parser *p, const char *real,
    const struct stat *st, const char *at, int line)
{
	struct stat dst;
	char *dir, *slash;
	bool bad = false;

	if (geteuid() != 0 || (p->flags & CONFIG_NO_USERS))
		return false;
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		config_diag(p, at, line, false, "refusing %s: owned by uid %u, "
		    "not root, while superd runs as root (chown root %s)",
		    real, (unsigned)st->st_uid, real);
		bad = true;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		config_diag(p, at, line, false, "refusing %s: writable by "
		    "group or others while superd runs as root (chmod go-w "
		    "%s)", real, real);
		bad = true;
	}
	dir = xstrdup(real);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (stat(dir, &dst) == 0 && (dst.st_mode & (S_IWGRP | S_IWOTH)) &&
	    !(dst.st_mode & S_ISVTX)) {
		config_diag(p, at, line, false, "refusing %s: its directory "
		    "%s is writable by group or others while superd runs as "
		    "root (chmod go-w %s)", real, dir, dir);
		bad = true;
	}
	free(dir);
	return bad;
}

/* Read one file and what it includes. `from`: the including file. */
static void
config_read(struct config_parser *p, const char *path, const char *from,
    int from_line)
{
	struct config_lexing l;
	struct config_file *f;
	struct stat st;
	char *real, *buf;
	size_t first, i;
	int toobig;

	if ((real = config_read_enter(p, path, from, from_line)) == NULL)
		return;
	if ((buf = config_lex_read_file(path, &toobig, &st)) == NULL ||
	    toobig) {
		config_diag(p, from != NULL ? from : path, from_line, false,
		    "cannot read %s%s: %s", from != NULL ? "include " : "",
		    path, toobig == 3 ? "not a regular file" : buf == NULL ?
		    strerror(errno) : toobig == 1 ? "larger than 4 MiB" :
		    "contains a NUL byte");
		free(buf);
		free(real);
		return;
	}
	if (config_read_unsafe(p, real, &st, from != NULL ? from : path,
	    from_line)) {
		free(buf);
		free(real);
		return;
	}
	f = config_file_new(p, path);
	p->stack[p->depth++] = real;
	first = p->nsec;
	l.p = p;
	l.f = f;
	config_lex_run(buf, &config_lex_callbacks, &l);
	free(buf);
	for (i = first; i < p->nsec; i++)
		if (p->sec[i]->kind == CONFIG_SEC_INCLUDE &&
		    p->sec[i]->file == f->path)
			config_include_section(p, p->sec[i]);
	free(p->stack[--p->depth]);
}

/*
 * Pass 2: typed values.
 */

/* The CONFIG_IN_* bit of a section kind. */
static int
config_key_where(enum config_kind kind)
{
	switch (kind) {
	case CONFIG_SEC_FCGI:
		return CONFIG_IN_FCGI;
	case CONFIG_SEC_LISTENER:
		return CONFIG_IN_LISTENER;
	default:
		return CONFIG_IN_PROGRAM;
	}
}

/* The key `name` as a section of `kind` knows it, or NULL. */
static const struct config_key *
config_key_find_in(const struct config_key *keys, enum config_kind kind,
    const char *name)
{
	for (; keys->name != NULL; keys++)
		if (strcmp(keys->name, name) == 0)
			return keys->where == 0 ||
			    (keys->where & config_key_where(kind)) ? keys :
			    NULL;
	return NULL;
}

static const struct config_key *
config_key_find(const struct config_key *keys, const char *name)
{
	return config_key_find_in(keys, CONFIG_SEC_PROGRAM, name);
}

/* Warn about every key of `s` that `keys` does not know. */
static void
config_check_keys(struct config_parser *p, const struct config_section *s,
    const struct config_key *keys)
{
	const char *names[96], *near;
	const struct config_key *k;
	size_t i, n = 0;

	for (k = keys; k->name != NULL && n < 95; k++)
		if (k->type != CONFIG_V_IGNORED && (k->where == 0 ||
		    (k->where & config_key_where(s->kind))))
			names[n++] = k->name;
	names[n] = NULL;
	for (i = 0; i < s->nkv; i++) {
		if ((k = config_key_find_in(keys, s->kind, s->kv[i].key)) !=
		    NULL) {
			if (k->type == CONFIG_V_IGNORED)
				config_diag(p, s->file, s->kv[i].line, true,
				    "'%s' in [%s] is a supervisord setting "
				    "superd ignores", k->name, s->name);
			continue;
		}
		if ((near = config_near(s->kv[i].key, names)) != NULL)
			config_diag(p, s->file, s->kv[i].line, true, "unknown "
			    "key '%s' in [%s] (did you mean '%s'?)",
			    s->kv[i].key, s->name, near);
		else
			config_diag(p, s->file, s->kv[i].line, true, "unknown "
			    "key '%s' in [%s]", s->kv[i].key, s->name);
	}
}

/* Parse one simple value of type t into `dst` (a field of the right
 * type). 0, or -1 with the reason in err. */
static int
config_value(const struct config_key *k, const char *here, const char *v,
    void *dst, char *err, size_t errlen)
{
	long long n;
	int lvl;

	switch (k->type) {
	case CONFIG_V_STR:
		free(*(char **)dst);
		*(char **)dst = *v == '\0' ? NULL : xstrdup(v);
		return 0;
	case CONFIG_V_PATH:
		free(*(char **)dst);
		*(char **)dst = *v == '\0' ? NULL : config_path(here, v);
		return 0;
	case CONFIG_V_BOOL:
		return values_parse_bool(v, dst, err, errlen);
	case CONFIG_V_INT:
		if (values_parse_int(v, 0, k->max, &n, err, errlen) == -1)
			return -1;
		*(int *)dst = (int)n;
		return 0;
	case CONFIG_V_PRIORITY:
		if (values_parse_int(v, -CONFIG_PRIORITY_MAX,
		    CONFIG_PRIORITY_MAX, &n, err, errlen) == -1)
			return -1;
		*(int *)dst = (int)n;
		return 0;
	case CONFIG_V_MINFDS:
		if (values_parse_int(v, 1, 1 << 24, &n, err, errlen) == -1)
			return -1;
		*(long *)dst = (long)n;
		return 0;
	case CONFIG_V_RANGE:
		if (values_parse_int(v, k->min, k->max, &n, err, errlen) == -1)
			return -1;
		*(int *)dst = (int)n;
		return 0;
	case CONFIG_V_SIZE:
		return values_parse_size(v, dst, err, errlen);
	case CONFIG_V_SIGNAL:
		return values_parse_signal(v, dst, err, errlen);
	case CONFIG_V_DURATION:
		return values_parse_duration(v, dst, err, errlen);
	case CONFIG_V_UMASK:
		return values_parse_octal(v, 0777, dst, err, errlen);
	case CONFIG_V_MODE:
		return values_parse_octal(v, 07777, dst, err, errlen);
	case CONFIG_V_LOGLEVEL:
		if ((lvl = log_level_parse(v)) == -1) {
			snprintf(err, errlen, "expected debug, info, warn or "
			    "error");
			return -1;
		}
		*(int *)dst = lvl;
		return 0;
	case CONFIG_V_ENV:
		values_strv_free(*(char ***)dst);
		*(char ***)dst = NULL;
		return values_parse_env(v, dst, err, errlen);
	default:
		snprintf(err, errlen, "internal error: no parser");
		return -1;
	}
}

/* serverurl=unix://PATH; anything else (http://) is warned about. */
static void
config_serverurl(struct config_parser *p, struct config *cfg,
    const struct config_section *s, const struct config_kv *kv,
    const char *v)
{
	if (strncmp(v, "unix://", 7) == 0 && v[7] != '\0') {
		free(cfg->ctl_socket);
		cfg->ctl_socket = config_path(s->here, v + 7);
		return;
	}
	config_diag(p, s->file, kv->line, true, "serverurl=%s: superd only "
	    "speaks over a unix:// socket; ignored", v);
}

/* [inet_http_server] port=HOST:PORT, :PORT or PORT (every address). */
static void
config_inet_port(struct config_parser *p, struct config *cfg,
    const struct config_section *s, const struct config_kv *kv,
    const char *v)
{
	char err[256], sbuf[64], *spec;
	int rc;

	if (strchr(v, ':') == NULL)
		spec = xprintf("*:%s", v);
	else if (v[0] == ':')
		spec = xprintf("*%s", v);
	else
		spec = xstrdup(v);
	free(cfg->inet_host);
	cfg->inet_host = NULL;
	rc = values_parse_hostport(spec, &cfg->inet_host, &cfg->inet_port,
	    err, sizeof(err));
	free(spec);
	if (rc == -1)
		config_diag(p, s->file, kv->line, false, "bad value for port: "
		    "'%s': %s", config_short(v, sbuf, sizeof(sbuf)), err);
}

/* [supervisord] user= asks supervisord to drop privileges; superd runs
 * as whoever starts it. Only a user= that is already true is silent. */
static void
config_main_user(struct config_parser *p, const struct config_section *s,
    const struct config_kv *kv)
{
	struct passwd *pw;

	if ((pw = getpwuid(geteuid())) != NULL &&
	    strcmp(pw->pw_name, kv->value) == 0)
		return;
	if (strtoul(kv->value, NULL, 10) == geteuid() &&
	    isdigit((unsigned char)kv->value[0]))
		return;
	config_diag(p, s->file, kv->line, true, "'user' in [%s] is a "
	    "supervisord setting superd ignores (superd runs as the user "
	    "that starts it)", s->name);
}

/* Apply [superd], [control] or [superctl] entries to cfg. */
static void
config_apply_singleton(struct config_parser *p, struct config *cfg,
    const struct config_section *s, const struct config_key *keys)
{
	struct values_expand x = { s->here, p->host, NULL, NULL, -1, -1 };
	const struct config_key *k;
	char err[256], sbuf[64], *v;
	size_t i;

	config_check_keys(p, s, keys);
	for (i = 0; i < s->nkv; i++) {
		k = config_key_find(keys, s->kv[i].key);
		if (k == NULL || k->type == CONFIG_V_IGNORED ||
		    k->type == CONFIG_V_SILENT)
			continue;
		if (k->type == CONFIG_V_EARLY) {
			config_main_user(p, s, &s->kv[i]);
			continue;
		}
		v = values_expand(s->kv[i].value, &x, err, sizeof(err));
		if (v == NULL)
			config_diag(p, s->file, s->kv[i].line, false, "%s: %s",
			    k->name, err);
		else if (k->type == CONFIG_V_SERVERURL)
			config_serverurl(p, cfg, s, &s->kv[i], v);
		else if (k->type == CONFIG_V_INETPORT)
			config_inet_port(p, cfg, s, &s->kv[i], v);
		else if (config_value(k, s->here, v, (char *)cfg + k->off,
		    err, sizeof(err)) == -1)
			config_diag(p, s->file, s->kv[i].line, false, "bad "
			    "value for %s: '%s': %s", k->name,
			    config_short(v, sbuf, sizeof(sbuf)), err);
		free(v);
	}
}

/*
 * Pass 2: programs.
 */

static void
config_sock_clear(struct sock_conf *sc)
{
	free(sc->spec);
	free(sc->host);
	free(sc->path);
	sc->spec = sc->host = sc->path = NULL;
	sc->kind = SOCK_NONE;
	sc->port = 0;
}

/* socket=tcp://HOST:PORT or unix:///PATH (supervisord's fcgi syntax). */
static int
config_parse_socket(const char *v, struct sock_conf *sc, char *err,
    size_t errlen)
{
	struct sockaddr_un sun;

	config_sock_clear(sc);
	if (strncmp(v, "tcp://", 6) == 0) {
		if (values_parse_hostport(v + 6, &sc->host, &sc->port, err,
		    errlen) == -1)
			return -1;
		sc->kind = SOCK_TCP;
	} else if (strncmp(v, "unix://", 7) == 0) {
		if (v[7] != '/') {
			snprintf(err, errlen, "expected unix:///ABSOLUTE/PATH");
			return -1;
		}
		if (strlen(v + 7) >= sizeof(sun.sun_path)) {
			snprintf(err, errlen, "path too long for a unix "
			    "socket (at most %zu bytes)",
			    sizeof(sun.sun_path) - 1);
			return -1;
		}
		sc->path = xstrdup(v + 7);
		sc->kind = SOCK_UNIX;
	} else {
		snprintf(err, errlen, "expected tcp://HOST:PORT or "
		    "unix:///PATH");
		return -1;
	}
	sc->spec = xstrdup(v);
	return 0;
}

static void
config_probe_clear(struct probe_conf *pr)
{
	free(pr->spec);
	free(pr->host);
	free(pr->path);
	values_strv_free(pr->argv);
	memset(pr, 0, sizeof(*pr));
}

/* http://HOST[:PORT][/PATH]; the port is 80 when none is given. */
static int
config_parse_http(const char *v, struct probe_conf *pr, char *err,
    size_t errlen)
{
	const char *slash = strchr(v, '/');
	size_t alen = slash != NULL ? (size_t)(slash - v) : strlen(v);
	char *auth;
	int rc;

	auth = xprintf("%.*s", (int)alen, v);
	if (strchr(auth, ':') == NULL || (auth[0] == '[' &&
	    auth[alen - 1] == ']')) {
		free(auth);
		auth = xprintf("%.*s:80", (int)alen, v);
	}
	rc = values_parse_hostport(auth, &pr->host, &pr->port, err, errlen);
	free(auth);
	if (rc == -1)
		return -1;
	if (strcmp(pr->host, "*") == 0) {
		snprintf(err, errlen, "a check needs a host to connect to, "
		    "not *");
		return -1;
	}
	pr->path = xstrdup(slash != NULL ? slash : "/");
	return 0;
}

/* ready= / health=: tcp://, http://, exec:COMMAND, notify (ready only). */
static int
config_parse_probe(const char *v, bool notify_ok, struct probe_conf *pr,
    char *err, size_t errlen)
{
	int rc = 0;

	config_probe_clear(pr);
	if (strncmp(v, "tcp://", 6) == 0) {
		pr->kind = PROBE_TCP;
		rc = values_parse_hostport(v + 6, &pr->host, &pr->port, err,
		    errlen);
		if (rc == 0 && strcmp(pr->host, "*") == 0) {
			snprintf(err, errlen, "a check needs a host to "
			    "connect to, not *");
			rc = -1;
		}
	} else if (strncmp(v, "http://", 7) == 0) {
		pr->kind = PROBE_HTTP;
		rc = config_parse_http(v + 7, pr, err, errlen);
	} else if (strncmp(v, "exec:", 5) == 0) {
		pr->kind = PROBE_EXEC;
		rc = values_split_command(v + 5, &pr->argv, err, errlen);
	} else if (strcmp(v, "notify") == 0 && notify_ok) {
		pr->kind = PROBE_NOTIFY;
	} else if (strcmp(v, "notify") == 0) {
		snprintf(err, errlen, "notify is a readiness check only: "
		    "expected tcp://, http:// or exec:");
		rc = -1;
	} else if (strstr(v, "://") != NULL) {
		snprintf(err, errlen, "only tcp:// and http:// URLs are "
		    "checked (no TLS)");
		rc = -1;
	} else {
		snprintf(err, errlen, "expected tcp://HOST:PORT, "
		    "http://HOST:PORT/PATH, %sexec:COMMAND",
		    notify_ok ? "notify, " : "");
		rc = -1;
	}
	if (rc == -1) {
		config_probe_clear(pr);
		return -1;
	}
	pr->spec = xstrdup(v);
	return 0;
}

static void
config_proc_defaults(struct proc_conf *pc)
{
	pc->priority = 999;
	pc->autostart = true;
	pc->autorestart = AUTORESTART_UNEXPECTED;
	pc->startsecs = 1;
	pc->startretries = 3;
	pc->exitcodes[0] = 1;
	pc->stopsignal = 15;
	pc->stopwaitsecs = 10;
	pc->uid = (uid_t)-1;
	pc->gid = (gid_t)-1;
	pc->umask = -1;
	pc->stdout_log.maxbytes = 50 * 1024 * 1024;
	pc->stdout_log.backups = 10;
	pc->stderr_log.maxbytes = 50 * 1024 * 1024;
	pc->stderr_log.backups = 10;
	pc->socket.backlog = SOMAXCONN;
	pc->socket.uid = (uid_t)-1;
	pc->socket.gid = (gid_t)-1;
	pc->socket.mode = 0700;
	pc->ready_timeout = 60;
	pc->health_interval = 10;
	pc->health_timeout = 5;
	pc->health_retries = 3;
	pc->backoff = BACKOFF_LINEAR;
	pc->backoff_max = 60;
	pc->backoff_reset = 60;
	pc->buffer_size = 10;
}

/* depends_on=a, b: program names. */
static int
config_parse_names(const char *v, char ***out, char *err, size_t errlen)
{
	char **names;
	size_t i;

	if (values_parse_list(v, false, &names, err, errlen) == -1)
		return -1;
	for (i = 0; names[i] != NULL; i++) {
		if (!config_name_ok(names[i])) {
			snprintf(err, errlen, "bad program name '%.64s'",
			    names[i]);
			values_strv_free(names);
			return -1;
		}
	}
	*out = names;
	return 0;
}

/* events=PROCESS_STATE, TICK_60: supervisord's event type names. */
static int
config_parse_events(const char *v, char ***out, char *err, size_t errlen)
{
	char **names;
	size_t i;

	if (values_parse_list(v, true, &names, err, errlen) == -1)
		return -1;
	for (i = 0; names[i] != NULL; i++) {
		if (!values_event_known(names[i])) {
			snprintf(err, errlen, "unknown event type %.64s",
			    names[i]);
			values_strv_free(names);
			return -1;
		}
	}
	*out = names;
	return 0;
}

/* The program-only types; 0 or -1 with err. */
static int
config_proc_value(struct proc_conf *pc, struct config_proc_extra *e,
    const struct config_key *k, const struct config_kv *kv, char *v,
    char *err, size_t errlen)
{
	bool b;

	switch (k->type) {
	case CONFIG_V_COMMAND:
		values_strv_free(pc->argv);
		pc->argv = NULL;
		free(pc->command);
		pc->command = xstrdup(v);
		e->has_command = true;
		return values_split_command(v, &pc->argv, err, errlen);
	case CONFIG_V_SOCKET:
		return config_parse_socket(v, &pc->socket, err, errlen);
	case CONFIG_V_PROBE:
		return config_parse_probe(v, k->off == PROC_OFF(ready),
		    (struct probe_conf *)((char *)pc + k->off), err, errlen);
	case CONFIG_V_DEPENDS:
		values_strv_free(pc->depends_on);
		pc->depends_on = NULL;
		pc->depends_on_line = kv->line;
		return config_parse_names(v, &pc->depends_on, err, errlen);
	case CONFIG_V_BACKOFF:
		if (strcasecmp(v, "linear") == 0)
			pc->backoff = BACKOFF_LINEAR;
		else if (strcasecmp(v, "exponential") == 0)
			pc->backoff = BACKOFF_EXPONENTIAL;
		else {
			snprintf(err, errlen, "expected linear or "
			    "exponential");
			return -1;
		}
		return 0;
	case CONFIG_V_EVENTS:
		values_strv_free(pc->events);
		pc->events = NULL;
		return config_parse_events(v, &pc->events, err, errlen);
	case CONFIG_V_AUTORESTART:
		if (strcasecmp(v, "unexpected") == 0)
			pc->autorestart = AUTORESTART_UNEXPECTED;
		else if (values_parse_bool(v, &b, NULL, 0) == 0)
			pc->autorestart = b ? AUTORESTART_TRUE :
			    AUTORESTART_FALSE;
		else {
			snprintf(err, errlen, "expected true, false or "
			    "unexpected");
			return -1;
		}
		return 0;
	case CONFIG_V_EXITCODES:
		return values_parse_exitcodes(v, pc->exitcodes, err, errlen);
	case CONFIG_V_STDIN:
		if (strcasecmp(v, "null") != 0 && strcasecmp(v, "pipe") != 0) {
			snprintf(err, errlen, "expected null or pipe");
			return -1;
		}
		pc->stdin_pipe = strcasecmp(v, "pipe") == 0;
		return 0;
	case CONFIG_V_LOGFILE:
		if (*v == '\0') {
			snprintf(err, errlen, "expected a path, AUTO or NONE");
			return -1;
		}
		free(e->log_owned[k->off]);
		e->log_owned[k->off] = v;
		e->log_spec[k->off] = v;
		e->log_line[k->off] = kv->line;
		return 1;
	default:
		return config_value(k, NULL, v, (char *)pc + k->off, err,
		    errlen);
	}
}

/* Remember where the keys config_proc_finish() talks about are. */
static void
config_proc_note_line(struct config_proc_extra *e, const char *key,
    int line)
{
	static const char *const keys[] = {	/* as CONFIG_L_* */
		"socket_owner", "socket_mode", "priority", "redirect_stderr",
		NULL
	};
	size_t i;

	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(keys[i], key) == 0)
			e->line_of[i] = line;
}

/* Expand and apply one entry of [program:x] to one process. */
static void
config_proc_entry(struct config_parser *p, const struct config_section *s,
    const struct config_kv *kv, const struct values_expand *x,
    struct proc_conf *pc, struct config_proc_extra *e)
{
	const struct config_key *k;
	char err[256], sbuf[64], *v;
	int rc;

	k = config_key_find_in(config_program_keys, s->kind, kv->key);
	if (k == NULL || k->type == CONFIG_V_IGNORED ||
	    k->type == CONFIG_V_SILENT || k->type == CONFIG_V_EARLY)
		return;
	config_proc_note_line(e, k->name, kv->line);
	if ((v = values_expand(kv->value, x, err, sizeof(err))) == NULL) {
		config_diag(p, s->file, kv->line, false, "%s: %s", k->name,
		    err);
		if (k->type == CONFIG_V_COMMAND)
			e->command_bad = true;
		return;
	}
	if (k->type == CONFIG_V_PATH)
		rc = config_value(k, s->here, v, (char *)pc + k->off, err,
		    sizeof(err));
	else
		rc = config_proc_value(pc, e, k, kv, v, err, sizeof(err));
	if (rc == -1)
		config_diag(p, s->file, kv->line, false, "bad value for %s: "
		    "'%s': %s", k->name, config_short(v, sbuf, sizeof(sbuf)),
		    err);
	if (rc == -1 && k->type == CONFIG_V_COMMAND)
		e->command_bad = true;
	if (strcmp(k->name, "stopasgroup") == 0)
		e->stopasgroup_line = kv->line;
	if (strcmp(k->name, "killasgroup") == 0)
		e->killasgroup_given = true;
	if (rc != 1)
		free(v);
}

/* Resolve one stream's log target; AUTO is childlogdir/NAME.SUFFIX.log. */
static void
config_proc_log(const struct config *cfg, const struct config_section *s,
    const char *spec, const char *name, const char *suffix,
    struct log_conf *lc)
{
	lc->target = LOG_TARGET_FILE;
	/* An empty childlogdir= leaves it NULL: AUTO then uses the
	 * default rather than "(null)/NAME.out.log". */
	if (spec == NULL || strcasecmp(spec, "AUTO") == 0)
		lc->path = xprintf("%s/%s.%s.log",
		    cfg->childlogdir != NULL ? cfg->childlogdir :
		    CONFIG_DEFAULT_LOGDIR, name, suffix);
	else if (strcasecmp(spec, "NONE") == 0)
		lc->target = LOG_TARGET_NONE;
	else if (strcmp(spec, "/dev/stdout") == 0 ||
	    strcmp(spec, "/dev/fd/1") == 0)
		lc->target = LOG_TARGET_STDOUT;
	else if (strcmp(spec, "/dev/stderr") == 0 ||
	    strcmp(spec, "/dev/fd/2") == 0)
		lc->target = LOG_TARGET_STDERR;
	else
		lc->path = config_path(s->here, spec);
}

/* user='s supplementary groups, once here: a spawn must not call NSS
 * (it may block, and it runs between fork and exec). */
static void
config_proc_groups(struct config_parser *p, const struct config_section *s,
    struct proc_conf *pc, const char *name)
{
	int n = 32, want;
	gid_t *v;

	for (;;) {
		v = xreallocarray(NULL, (size_t)n, sizeof(*v));
		want = n;
		if (getgrouplist(name, pc->gid, v, &want) != -1) {
			pc->groups = v;
			pc->ngroups = (size_t)want;
			return;
		}
		free(v);
		if (want <= n || want > 65536) {
			config_diag(p, s->file, s->line, false, "cannot list "
			    "the groups of user '%s'", name);
			return;
		}
		n = want;
	}
}

/* Look up user= (name or number) unless CONFIG_NO_USERS. */
static void
config_proc_user(struct config_parser *p, const struct config_section *s,
    struct proc_conf *pc)
{
	struct config_kv *kv = config_section_get(s, "user");
	struct passwd pw, *res = NULL;
	char buf[4096], *end;
	unsigned long id;

	if (pc->user == NULL || (p->flags & CONFIG_NO_USERS))
		return;
	id = strtoul(pc->user, &end, 10);
	if (isdigit((unsigned char)pc->user[0]) && *end == '\0')
		getpwuid_r((uid_t)id, &pw, buf, sizeof(buf), &res);
	else
		getpwnam_r(pc->user, &pw, buf, sizeof(buf), &res);
	if (res == NULL) {
		config_diag(p, s->file, kv != NULL ? kv->line : s->line, false,
		    "no such user '%s'", pc->user);
		return;
	}
	pc->uid = pw.pw_uid;
	pc->gid = pw.pw_gid;
	pc->home = xstrdup(pw.pw_dir);
	pc->shell = xstrdup(pw.pw_shell);
	config_proc_groups(p, s, pc, pw.pw_name);
}

/* "user[:group]" into ids; the user's own group when none is given. */
static int
config_owner_resolve(const char *owner, uid_t *uid, gid_t *gid, char *err,
    size_t errlen)
{
	struct passwd pw, *pres = NULL;
	struct group gr, *gres = NULL;
	char buf[4096], *user, *colon;
	int rc = -1;

	user = xstrdup(owner);
	if ((colon = strchr(user, ':')) != NULL)
		*colon++ = '\0';
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &pres) != 0 ||
	    pres == NULL) {
		snprintf(err, errlen, "no such user '%.64s'", user);
		goto out;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	if (colon != NULL) {
		if (getgrnam_r(colon, &gr, buf, sizeof(buf), &gres) != 0 ||
		    gres == NULL) {
			snprintf(err, errlen, "no such group '%.64s'", colon);
			goto out;
		}
		*gid = gr.gr_gid;
	}
	rc = 0;
out:
	free(user);
	return rc;
}

/* socket_owner and socket_mode belong to unix sockets only. */
static void
config_proc_socket(struct config_parser *p, const struct config_section *s,
    struct proc_conf *pc, const struct config_proc_extra *e)
{
	int lo = e->line_of[CONFIG_L_SOCKET_OWNER];
	int lm = e->line_of[CONFIG_L_SOCKET_MODE];
	char err[256];

	if (pc->socket.kind != SOCK_UNIX && lo != 0)
		config_diag(p, s->file, lo, false, "socket_owner is for a "
		    "unix:// socket only");
	if (pc->socket.kind != SOCK_UNIX && lm != 0)
		config_diag(p, s->file, lm, false, "socket_mode is for a "
		    "unix:// socket only");
	if (pc->socket.kind == SOCK_UNIX && pc->socket.owner != NULL &&
	    !(p->flags & CONFIG_NO_USERS) &&
	    config_owner_resolve(pc->socket.owner, &pc->socket.uid,
	    &pc->socket.gid, err, sizeof(err)) == -1)
		config_diag(p, s->file, lo, false, "bad value for "
		    "socket_owner: %s", err);
	/* As supervisord's fcgi sockets: without socket_owner, the socket
	 * of a program run as user= belongs to that user. */
	if (pc->socket.kind == SOCK_UNIX && pc->socket.owner == NULL &&
	    pc->user != NULL && pc->uid != (uid_t)-1) {
		pc->socket.uid = pc->uid;
		pc->socket.gid = pc->gid;
	}
}

/* What [fcgi-program:x] and [eventlistener:x] add to a program. */
static void
config_proc_kind(struct config_parser *p, const struct config_section *s,
    struct proc_conf *pc, const struct config_proc_extra *e)
{
	if (s->kind == CONFIG_SEC_FCGI) {
		pc->fcgi = true;
		if (pc->socket.kind == SOCK_NONE)
			config_diag(p, s->file, s->line, false, "missing "
			    "'socket' in [%s]", s->name);
	}
	if (s->kind != CONFIG_SEC_LISTENER)
		return;
	pc->listener = true;
	/* The protocol goes to the listener on its stdin. */
	pc->stdin_pipe = true;
	/* As supervisord: listeners start first and stop last. */
	if (e->line_of[CONFIG_L_PRIORITY] == 0)
		pc->priority = -1;
	if (pc->events == NULL)
		config_diag(p, s->file, s->line, false, "missing 'events' in "
		    "[%s]", s->name);
	if (pc->redirect_stderr)
		config_diag(p, s->file, e->line_of[CONFIG_L_REDIRECT], false,
		    "redirect_stderr=true would mix stderr into the "
		    "event listener protocol on stdout");
}

/* Checks and defaults once every entry is applied; -1 on an error. */
static int
config_proc_finish(struct config_parser *p, const struct config *cfg,
    const struct config_section *s, struct proc_conf *pc,
    struct config_proc_extra *e)
{
	size_t before = diags_errors(p->d);

	/* A command= whose value was wrong was already reported. */
	if (!e->has_command && !e->command_bad)
		config_diag(p, s->file, s->line, false, "missing 'command' in "
		    "[%s]", s->name);
	config_proc_kind(p, s, pc, e);
	if (pc->stopasgroup && !pc->killasgroup && e->killasgroup_given)
		config_diag(p, s->file, e->stopasgroup_line, false,
		    "stopasgroup=true needs killasgroup=true (it implies it)");
	if (pc->stopasgroup)
		pc->killasgroup = true;
	if (pc->redirect_stderr && e->log_spec[1] != NULL)
		config_diag(p, s->file, e->log_line[1], true, "stderr_logfile "
		    "is ignored with redirect_stderr=true");
	config_proc_log(cfg, s, e->log_spec[0], pc->name, "out",
	    &pc->stdout_log);
	if (pc->redirect_stderr)
		pc->stderr_log.target = LOG_TARGET_NONE;
	else
		config_proc_log(cfg, s, e->log_spec[1], pc->name, "err",
		    &pc->stderr_log);
	config_proc_user(p, s, pc);
	config_proc_socket(p, s, pc, e);
	return diags_errors(p->d) > before ? -1 : 0;
}

/* Build process number `num` of [program:x]; NULL on an error. */
static struct proc_conf *
config_proc_build(struct config_parser *p, const struct config *cfg,
    const struct config_section *s, const char *name_spec,
    const struct values_expand *x)
{
	struct config_proc_extra e;
	struct config_kv *kv = config_section_get(s, "process_name");
	struct proc_conf *pc;
	char err[256];
	size_t i;
	int rc;

	memset(&e, 0, sizeof(e));
	pc = xcalloc(1, sizeof(*pc));
	config_proc_defaults(pc);
	pc->program = xstrdup(x->program_name);
	pc->group = xstrdup(x->group_name);
	pc->process_num = x->process_num;
	pc->file = xstrdup(s->file);
	pc->line = s->line;
	if ((pc->name = values_expand(name_spec, x, err, sizeof(err))) == NULL)
		config_diag(p, s->file, kv != NULL ? kv->line : s->line, false,
		    "process_name: %s", err);
	else if (!config_name_ok(pc->name))
		config_diag(p, s->file, kv != NULL ? kv->line : s->line, false,
		    "bad process_name '%s': names are 1 to %d of A-Z a-z "
		    "0-9 _ . -", pc->name, CONFIG_NAME_MAX);
	if (pc->name == NULL || !config_name_ok(pc->name)) {
		config_proc_free(pc);
		return NULL;
	}
	for (i = 0; i < s->nkv; i++)
		config_proc_entry(p, s, &s->kv[i], x, pc, &e);
	rc = config_proc_finish(p, cfg, s, pc, &e);
	free(e.log_owned[0]);
	free(e.log_owned[1]);
	if (rc == -1) {
		config_proc_free(pc);
		return NULL;
	}
	return pc;
}

/* An integer entry read before the per-process pass (numprocs...). */
static int
config_early_int(struct config_parser *p, const struct config_section *s,
    const char *key, const struct values_expand *x, long long min,
    long long max, long long *out)
{
	struct config_kv *kv = config_section_get(s, key);
	char err[256], sbuf[64], *v;
	int rc;

	if (kv == NULL)
		return 0;
	if ((v = values_expand(kv->value, x, err, sizeof(err))) == NULL) {
		config_diag(p, s->file, kv->line, false, "%s: %s", key, err);
		return -1;
	}
	if ((rc = values_parse_int(v, min, max, out, err, sizeof(err))) == -1)
		config_diag(p, s->file, kv->line, false, "bad value for %s: "
		    "'%s': %s", key, config_short(v, sbuf, sizeof(sbuf)), err);
	free(v);
	return rc;
}

static void
config_procs_push(struct proc_conf ***v, size_t *n, struct proc_conf *pc)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = pc;
}

/* Every process of [program:x] into *v; group is its group's name. */
static void
config_program_build(struct config_parser *p, const struct config *cfg,
    struct config_section *s, const char *group, struct proc_conf ***v,
    size_t *n)
{
	struct values_expand x = { s->here, p->host, s->arg, group, -1, -1 };
	struct config_kv *kv = config_section_get(s, "process_name");
	const char *spec = kv != NULL ? kv->value : "%(program_name)s";
	struct proc_conf *pc;
	long long num = 1, start = 0, i;

	s->used = true;
	config_check_keys(p, s, config_program_keys);
	if (config_early_int(p, s, "numprocs", &x, 1, CONFIG_NUMPROCS_MAX,
	    &num) == -1 || config_early_int(p, s, "numprocs_start", &x, 0,
	    1000000, &start) == -1)
		return;
	if (num > 1 && strstr(spec, "%(process_num)") == NULL) {
		if (kv == NULL)
			kv = config_section_get(s, "numprocs");
		config_diag(p, s->file, kv->line, false,
		    "numprocs=%lld needs %%(process_num)d in process_name",
		    num);
		return;
	}
	if (p->nprocs + (size_t)num > CONFIG_PROCS_MAX) {
		config_diag(p, s->file, s->line, false, "more than %d "
		    "processes in all", CONFIG_PROCS_MAX);
		return;
	}
	x.numprocs = (int)num;
	for (i = 0; i < num; i++) {
		x.process_num = (int)(start + i);
		if ((pc = config_proc_build(p, cfg, s, spec, &x)) == NULL)
			return;
		config_procs_push(v, n, pc);
		p->nprocs++;
	}
}

/*
 * Pass 2: groups.
 */

static struct config_section *
config_find_section(struct config_parser *p, enum config_kind kind,
    const char *arg)
{
	size_t i;

	for (i = 0; i < p->nsec; i++)
		if (p->sec[i]->kind == kind && strcmp(p->sec[i]->arg, arg) == 0)
			return p->sec[i];
	return NULL;
}

static struct group_conf *
config_group_new(struct config *cfg, const char *name, int priority,
    const char *file, int line)
{
	struct group_conf *g;

	g = xcalloc(1, sizeof(*g));
	g->name = xstrdup(name);
	g->priority = priority;
	g->file = xstrdup(file);
	g->line = line;
	cfg->groups = xreallocarray(cfg->groups, cfg->ngroups + 1,
	    sizeof(*cfg->groups));
	cfg->groups[cfg->ngroups++] = g;
	return g;
}

/* Claim the programs of [group:g] and note its priority. */
static void
config_group_claim(struct config_parser *p, struct config_section *s,
    int *priority)
{
	struct values_expand x = { s->here, p->host, NULL, s->arg, -1, -1 };
	struct config_kv *kv = config_section_get(s, "programs");
	struct config_section *ps;
	long long prio = 999;
	char err[256], *v, *w, *save;

	config_check_keys(p, s, config_group_keys);
	if (config_early_int(p, s, "priority", &x, -CONFIG_PRIORITY_MAX,
	    CONFIG_PRIORITY_MAX, &prio) == 0)
		*priority = (int)prio;
	if (kv == NULL) {
		config_diag(p, s->file, s->line, false, "missing 'programs' in "
		    "[%s]", s->name);
		return;
	}
	if ((v = values_expand(kv->value, &x, err, sizeof(err))) == NULL) {
		config_diag(p, s->file, kv->line, false, "programs: %s", err);
		return;
	}
	for (w = strtok_r(v, ", \t\n", &save); w != NULL;
	    w = strtok_r(NULL, ", \t\n", &save)) {
		/* As supervisord, a group may hold fcgi-programs (each
		 * process keeps its socket as fd 0), not listeners. */
		if ((ps = config_find_section(p, CONFIG_SEC_PROGRAM, w)) ==
		    NULL)
			ps = config_find_section(p, CONFIG_SEC_FCGI, w);
		if (ps == NULL)
			config_diag(p, s->file, kv->line, false, "[%s]: no "
			    "[program:%s] or [fcgi-program:%s]", s->name, w,
			    w);
		else if (ps->group != NULL)
			config_diag(p, s->file, kv->line, false, "[%s]: "
			    "program %s is already in group %s", s->name, w,
			    ps->group);
		else
			ps->group = xstrdup(s->arg);
	}
	free(v);
}

/* Stable sort of a group's processes by priority. */
static void
config_group_sort_procs(struct group_conf *g)
{
	struct proc_conf *t;
	size_t i, j;

	for (i = 1; i < g->nprocs; i++) {
		t = g->procs[i];
		for (j = i; j > 0 && g->procs[j - 1]->priority > t->priority;
		    j--)
			g->procs[j] = g->procs[j - 1];
		g->procs[j] = t;
	}
}

/* Two processes of one name in one group are an error. */
static void
config_group_check_names(struct config_parser *p, const struct group_conf *g)
{
	size_t i, j;

	for (i = 0; i < g->nprocs; i++)
		for (j = 0; j < i; j++)
			if (strcmp(g->procs[i]->name, g->procs[j]->name) == 0)
				config_diag(p, g->procs[i]->file,
				    g->procs[i]->line, false, "process name "
				    "'%s' is used twice in group %s (also by "
				    "[program:%s])", g->procs[i]->name,
				    g->name, g->procs[j]->program);
}

/* [group:g] sections: claim their programs, build them. */
static void
config_build_named_groups(struct config_parser *p, struct config *cfg)
{
	struct config_section *s, *ps;
	struct group_conf *g;
	size_t i, j;
	int prio;

	for (i = 0; i < p->nsec; i++) {
		s = p->sec[i];
		if (s->kind != CONFIG_SEC_GROUP)
			continue;
		prio = 999;
		config_group_claim(p, s, &prio);
		g = config_group_new(cfg, s->arg, prio, s->file, s->line);
		for (j = 0; j < p->nsec; j++) {
			ps = p->sec[j];
			if ((ps->kind == CONFIG_SEC_PROGRAM ||
			    ps->kind == CONFIG_SEC_FCGI) &&
			    ps->group != NULL &&
			    strcmp(ps->group, s->arg) == 0 && !ps->used)
				config_program_build(p, cfg, ps, s->arg,
				    &g->procs, &g->nprocs);
		}
		config_group_sort_procs(g);
		config_group_check_names(p, g);
	}
}

/* A [program:x] in no group is group x, with the program's priority. */
static void
config_build_program_groups(struct config_parser *p, struct config *cfg)
{
	struct config_section *s, *gs;
	struct group_conf *g;
	struct proc_conf **v = NULL;
	size_t i, n;

	for (i = 0; i < p->nsec; i++) {
		s = p->sec[i];
		if (!CONFIG_SEC_IS_PROGRAM(s->kind) || s->group != NULL)
			continue;
		if ((gs = config_find_section(p, CONFIG_SEC_GROUP, s->arg)) !=
		    NULL) {
			config_diag(p, s->file, s->line, false, "[%s] is not "
			    "in [%s] (%s:%d) but would make a group of the "
			    "same name", s->name, gs->name, gs->file,
			    gs->line);
			continue;
		}
		v = NULL;
		n = 0;
		config_program_build(p, cfg, s, s->arg, &v, &n);
		g = config_group_new(cfg, s->arg, n > 0 ? v[0]->priority : 999,
		    s->file, s->line);
		g->procs = v;
		g->nprocs = n;
		g->kind = s->kind == CONFIG_SEC_FCGI ? GROUP_FCGI :
		    s->kind == CONFIG_SEC_LISTENER ? GROUP_EVENTLISTENER :
		    GROUP_PROGRAM;
		config_group_check_names(p, g);
	}
}

static int
config_group_cmp(const void *a, const void *b)
{
	const struct group_conf *ga = *(struct group_conf *const *)a;
	const struct group_conf *gb = *(struct group_conf *const *)b;

	if (ga->priority != gb->priority)
		return ga->priority < gb->priority ? -1 : 1;
	return strcmp(ga->name, gb->name);
}

/*
 * depends_on: the program graph.
 */

/* One program: its name and its first process (all of a program's
 * processes share depends_on and priority). */
struct config_prog {
	const char *name;
	const struct proc_conf *pc;
	int	 mark;		/* DFS: 0 new, 1 on the path, 2 done */
	bool	 placed;	/* config_start_order() */
};

/* Every program once, in config order; *n entries. */
static struct config_prog *
config_progs(const struct config *cfg, size_t *n)
{
	struct config_prog *v = NULL;
	const struct proc_conf *pc;
	size_t i, j, k, len = 0;

	for (i = 0; i < cfg->ngroups; i++) {
		for (j = 0; j < cfg->groups[i]->nprocs; j++) {
			pc = cfg->groups[i]->procs[j];
			for (k = 0; k < len; k++)
				if (strcmp(v[k].name, pc->program) == 0)
					break;
			if (k < len)
				continue;
			v = xreallocarray(v, len + 1, sizeof(*v));
			memset(&v[len], 0, sizeof(*v));
			v[len].name = pc->program;
			v[len++].pc = pc;
		}
	}
	*n = len;
	return v;
}

static struct config_prog *
config_prog_find(struct config_prog *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* Depth-first walk from v[i]; a dependency found on the current path
 * closes a cycle, reported once at the depends_on line of where it
 * starts. */
static void
config_deps_walk(struct config_parser *p, struct config_prog *v, size_t n,
    size_t i, size_t *path, size_t depth)
{
	struct config_prog *d;
	char buf[1024];
	size_t j, k, len;
	char **dep;

	v[i].mark = 1;
	path[depth] = i;
	for (dep = v[i].pc->depends_on; dep != NULL && *dep != NULL; dep++) {
		if ((d = config_prog_find(v, n, *dep)) == NULL ||
		    d == &v[i])
			continue;	/* reported by config_check_deps() */
		if (d->mark == 2)
			continue;
		if (d->mark == 0) {
			config_deps_walk(p, v, n, (size_t)(d - v), path,
			    depth + 1);
			continue;
		}
		for (k = 0; k <= depth && &v[path[k]] != d; k++)
			;
		len = 0;
		buf[0] = '\0';
		for (j = k; j <= depth && len < sizeof(buf); j++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
			    "%s -> ", v[path[j]].name);
		if (len < sizeof(buf))
			snprintf(buf + len, sizeof(buf) - len, "%s", d->name);
		config_diag(p, d->pc->file, d->pc->depends_on_line, false,
		    "depends_on: a cycle: %s", buf);
	}
	v[i].mark = 2;
}

/* Every depends_on names another program, and there is no cycle. */
static void
config_check_deps(struct config_parser *p, const struct config *cfg)
{
	struct config_prog *v;
	size_t i, n, *path;
	char **dep;

	v = config_progs(cfg, &n);
	for (i = 0; i < n; i++) {
		for (dep = v[i].pc->depends_on; dep != NULL && *dep != NULL;
		    dep++) {
			if (strcmp(*dep, v[i].name) == 0)
				config_diag(p, v[i].pc->file,
				    v[i].pc->depends_on_line, false,
				    "depends_on: %s depends on itself",
				    v[i].name);
			else if (config_prog_find(v, n, *dep) == NULL)
				config_diag(p, v[i].pc->file,
				    v[i].pc->depends_on_line, false,
				    "depends_on: no program '%s'", *dep);
		}
	}
	path = xreallocarray(NULL, n + 1, sizeof(*path));
	for (i = 0; i < n; i++)
		if (v[i].mark == 0)
			config_deps_walk(p, v, n, i, path, 0);
	free(path);
	free(v);
}

/* True when every dependency of `c` is placed (or unknown). */
static bool
config_prog_ready(struct config_prog *v, size_t n, const struct config_prog *c)
{
	struct config_prog *d;
	char **dep;

	for (dep = c->pc->depends_on; dep != NULL && *dep != NULL; dep++)
		if ((d = config_prog_find(v, n, *dep)) != NULL && d != c &&
		    !d->placed)
			return false;
	return true;
}

const char **
config_start_order(const struct config *cfg, size_t *np)
{
	struct config_prog *v, *best;
	const char **out;
	size_t i, n, k;

	v = config_progs(cfg, &n);
	if ((out = calloc(n + 1, sizeof(*out))) == NULL) {
		free(v);
		return NULL;
	}
	for (k = 0; k < n; k++) {
		best = NULL;
		for (i = 0; i < n; i++) {
			if (v[i].placed || !config_prog_ready(v, n, &v[i]))
				continue;
			if (best == NULL ||
			    v[i].pc->priority < best->pc->priority ||
			    (v[i].pc->priority == best->pc->priority &&
			    strcmp(v[i].name, best->name) < 0))
				best = &v[i];
		}
		if (best == NULL)	/* a cycle: checked at load */
			break;
		best->placed = true;
		out[k] = best->name;
	}
	*np = k;
	free(v);
	return out;
}

/*
 * The whole load.
 */

static struct config *
config_new_defaults(const char *path)
{
	struct config *cfg;
	char *real;

	cfg = xcalloc(1, sizeof(*cfg));
	if ((real = realpath(path, NULL)) != NULL)
		cfg->path = real;
	else
		cfg->path = xstrdup(path);
	cfg->loglevel = LOG_LEVEL_INFO;
	cfg->childlogdir = xstrdup(CONFIG_DEFAULT_LOGDIR);
	cfg->umask = 022;
	cfg->minfds = 1024;
	cfg->identifier = xstrdup("superd");
	cfg->socket = xstrdup(CONFIG_DEFAULT_SOCKET);
	cfg->socket_mode = 0700;
	return cfg;
}

/* 127.0.0.0/8, ::1 or localhost. */
static bool
config_host_loopback(const char *h)
{
	return strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0 ||
	    strcmp(h, "localhost") == 0;
}

/* Checks of [superd] and [inet_http_server] as a whole. */
static void
config_check_main(struct config_parser *p, const struct config *cfg)
{
	const struct config_section *s;
	const struct config_kv *kv;
	struct stat st;
	char *dir, *slash;
	size_t i;

	for (i = 0; i < p->nsec; i++) {
		s = p->sec[i];
		if (s->kind == CONFIG_SEC_INET &&
		    config_section_get(s, "port") == NULL)
			config_diag(p, s->file, s->line, false, "missing "
			    "'port' in [%s]", s->name);
		/* SPEC section 11: without a password only loopback
		 * addresses are served; say so where it is written. */
		if (s->kind == CONFIG_SEC_INET && cfg->inet_port != 0 &&
		    cfg->inet_password == NULL && cfg->inet_host != NULL &&
		    !config_host_loopback(cfg->inet_host) &&
		    (kv = config_section_get(s, "port")) != NULL)
			config_diag(p, s->file, kv->line, true, "[%s] has no "
			    "password: it is served on loopback addresses "
			    "only, not on %s", s->name, cfg->inet_host);
		if (s->kind != CONFIG_SEC_MAIN || cfg->state_file == NULL ||
		    (kv = config_section_get(s, "state_file")) == NULL)
			continue;
		dir = xstrdup(cfg->state_file);
		if ((slash = strrchr(dir, '/')) != NULL)
			*(slash == dir ? slash + 1 : slash) = '\0';
		if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
			config_diag(p, s->file, kv->line, true, "state_file: "
			    "directory %s does not exist; the state will not "
			    "be kept", dir);
		free(dir);
	}
}

static void
config_build(struct config_parser *p, struct config *cfg)
{
	static const struct {
		enum config_kind kind;
		const struct config_key *keys;
	} singles[] = {
		{ CONFIG_SEC_MAIN, config_main_keys },
		{ CONFIG_SEC_CONTROL, config_control_keys },
		{ CONFIG_SEC_CTL, config_ctl_keys },
		{ CONFIG_SEC_INET, config_inet_keys },
	};
	size_t i, j;

	for (j = 0; j < sizeof(singles) / sizeof(singles[0]); j++)
		for (i = 0; i < p->nsec; i++)
			if (p->sec[i]->kind == singles[j].kind)
				config_apply_singleton(p, cfg, p->sec[i],
				    singles[j].keys);
	config_check_main(p, cfg);
	for (i = 0; i < p->nsec; i++)
		if (p->sec[i]->kind == CONFIG_SEC_INCLUDE)
			config_check_keys(p, p->sec[i], config_include_keys);
	config_build_named_groups(p, cfg);
	config_build_program_groups(p, cfg);
	if (cfg->ngroups > 1)
		qsort(cfg->groups, cfg->ngroups, sizeof(*cfg->groups),
		    config_group_cmp);
	config_check_deps(p, cfg);
}

static void
config_parser_free(struct config_parser *p)
{
	size_t i;

	for (i = 0; i < p->nsec; i++)
		config_section_free(p->sec[i]);
	free(p->sec);
	for (i = 0; i < p->nfiles; i++) {
		free(p->files[i]->path);
		free(p->files[i]->here);
		free(p->files[i]);
	}
	free(p->files);
}

/* Where a message sorts: its file in reading order, then its line. */
struct config_diag_key {
	size_t	 file;
	int	 line;
	size_t	 seq;
	struct diag g;
};

static int
config_diag_cmp(const void *a, const void *b)
{
	const struct config_diag_key *x = a, *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Messages of this load (from `first` on) in file and line order, as a
 * reader goes through the files; the passes found them in another. */
static void
config_sort_diags(struct config_parser *p, size_t first)
{
	struct config_diag_key *k;
	size_t i, j, n = p->d->n - first;

	if (n < 2)
		return;
	k = xreallocarray(NULL, n, sizeof(*k));
	for (i = 0; i < n; i++) {
		k[i].g = p->d->v[first + i];
		k[i].line = k[i].g.line;
		k[i].seq = i;
		k[i].file = 0;	/* no file, or the unreadable main one */
		for (j = 0; k[i].g.file != NULL && j < p->nfiles; j++) {
			if (strcmp(p->files[j]->path, k[i].g.file) == 0) {
				k[i].file = j + 1;
				break;
			}
		}
	}
	qsort(k, n, sizeof(*k), config_diag_cmp);
	for (i = 0; i < n; i++)
		p->d->v[first + i] = k[i].g;
	free(k);
}

struct config *
config_load(const char *path, int flags, struct diags *d)
{
	struct config_parser p;
	struct config *cfg;
	size_t before = diags_errors(d), first = d->n;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	p.d = d;
	if (gethostname(p.host, sizeof(p.host) - 1) == -1)
		strcpy(p.host, "localhost");
	config_read(&p, path, NULL, 0);
	cfg = config_new_defaults(path);
	config_build(&p, cfg);
	config_sort_diags(&p, first);
	config_parser_free(&p);
	if (diags_errors(d) > before) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static void
config_proc_free(struct proc_conf *pc)
{
	if (pc == NULL)
		return;
	free(pc->name);
	free(pc->group);
	free(pc->program);
	free(pc->command);
	values_strv_free(pc->argv);
	free(pc->user);
	free(pc->home);
	free(pc->shell);
	free(pc->directory);
	values_strv_free(pc->environment);
	free(pc->stdout_log.path);
	free(pc->stderr_log.path);
	free(pc->description);
	free(pc->file);
	free(pc->groups);
	config_sock_clear(&pc->socket);
	free(pc->socket.owner);
	config_probe_clear(&pc->ready);
	config_probe_clear(&pc->health);
	values_strv_free(pc->depends_on);
	values_strv_free(pc->events);
	free(pc);
}

static void
config_group_free(struct group_conf *g)
{
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < g->nprocs; i++)
		config_proc_free(g->procs[i]);
	free(g->procs);
	free(g->name);
	free(g->file);
	free(g);
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->ngroups; i++)
		config_group_free(cfg->groups[i]);
	free(cfg->groups);
	free(cfg->path);
	free(cfg->logfile);
	free(cfg->pidfile);
	free(cfg->childlogdir);
	values_strv_free(cfg->environment);
	free(cfg->identifier);
	free(cfg->socket);
	free(cfg->socket_owner);
	free(cfg->readonly_group);
	free(cfg->username);
	free(cfg->password);
	free(cfg->inet_host);
	free(cfg->inet_username);
	free(cfg->inet_password);
	free(cfg->state_file);
	free(cfg->ctl_socket);
	free(cfg);
}

struct group_conf *
config_find_group(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->ngroups; i++)
		if (strcmp(cfg->groups[i]->name, name) == 0)
			return cfg->groups[i];
	return NULL;
}

bool
proc_conf_expected_exit(const struct proc_conf *pc, int code)
{
	if (code < 0 || code > 255)
		return false;
	return (pc->exitcodes[code / 8] >> (code % 8)) & 1;
}
