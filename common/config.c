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
	CONFIG_SEC_GROUP
};

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
	CONFIG_V_EARLY,		/* handled before the per-process pass */
	CONFIG_V_IGNORED	/* a supervisord key superd does not use */
};

struct config_key {
	const char *name;
	enum config_vtype type;
	size_t	 off;
	long long max;		/* CONFIG_V_INT */
};

#define CONFIG_OFF(m)	offsetof(struct config, m)
#define PROC_OFF(m)	offsetof(struct proc_conf, m)

static const struct config_key config_main_keys[] = {
	{ "logfile", CONFIG_V_PATH, CONFIG_OFF(logfile), 0 },
	{ "loglevel", CONFIG_V_LOGLEVEL, CONFIG_OFF(loglevel), 0 },
	{ "pidfile", CONFIG_V_PATH, CONFIG_OFF(pidfile), 0 },
	{ "childlogdir", CONFIG_V_PATH, CONFIG_OFF(childlogdir), 0 },
	{ "umask", CONFIG_V_UMASK, CONFIG_OFF(umask), 0 },
	{ "minfds", CONFIG_V_MINFDS, CONFIG_OFF(minfds), 0 },
	{ "environment", CONFIG_V_ENV, CONFIG_OFF(environment), 0 },
	{ "identifier", CONFIG_V_STR, CONFIG_OFF(identifier), 0 },
	{ "nocleanup", CONFIG_V_BOOL, CONFIG_OFF(nocleanup), 0 },
	{ "shutdown_timeout", CONFIG_V_DURATION,
	    CONFIG_OFF(shutdown_timeout), 0 },
	{ "logfile_maxbytes", CONFIG_V_IGNORED, 0, 0 },
	{ "logfile_backups", CONFIG_V_IGNORED, 0, 0 },
	{ "nodaemon", CONFIG_V_IGNORED, 0, 0 },
	{ "silent", CONFIG_V_IGNORED, 0, 0 },
	{ "minprocs", CONFIG_V_IGNORED, 0, 0 },
	{ "user", CONFIG_V_IGNORED, 0, 0 },
	{ "directory", CONFIG_V_IGNORED, 0, 0 },
	{ "strip_ansi", CONFIG_V_IGNORED, 0, 0 },
	{ NULL, CONFIG_V_IGNORED, 0, 0 }
};

static const struct config_key config_control_keys[] = {
	{ "socket", CONFIG_V_PATH, CONFIG_OFF(socket), 0 },
	{ "file", CONFIG_V_PATH, CONFIG_OFF(socket), 0 },
	{ "socket_mode", CONFIG_V_MODE, CONFIG_OFF(socket_mode), 0 },
	{ "chmod", CONFIG_V_MODE, CONFIG_OFF(socket_mode), 0 },
	{ "socket_owner", CONFIG_V_STR, CONFIG_OFF(socket_owner), 0 },
	{ "chown", CONFIG_V_STR, CONFIG_OFF(socket_owner), 0 },
	{ "readonly_group", CONFIG_V_STR, CONFIG_OFF(readonly_group), 0 },
	{ "username", CONFIG_V_IGNORED, 0, 0 },
	{ "password", CONFIG_V_IGNORED, 0, 0 },
	{ NULL, CONFIG_V_IGNORED, 0, 0 }
};

static const struct config_key config_ctl_keys[] = {
	{ "socket", CONFIG_V_PATH, CONFIG_OFF(ctl_socket), 0 },
	{ "serverurl", CONFIG_V_SERVERURL, CONFIG_OFF(ctl_socket), 0 },
	{ "username", CONFIG_V_IGNORED, 0, 0 },
	{ "password", CONFIG_V_IGNORED, 0, 0 },
	{ "prompt", CONFIG_V_IGNORED, 0, 0 },
	{ "history_file", CONFIG_V_IGNORED, 0, 0 },
	{ NULL, CONFIG_V_IGNORED, 0, 0 }
};

static const struct config_key config_include_keys[] = {
	{ "files", CONFIG_V_EARLY, 0, 0 },
	{ NULL, CONFIG_V_IGNORED, 0, 0 }
};

static const struct config_key config_group_keys[] = {
	{ "programs", CONFIG_V_EARLY, 0, 0 },
	{ "priority", CONFIG_V_EARLY, 0, 0 },
	{ NULL, CONFIG_V_IGNORED, 0, 0 }
};

static const struct config_key config_program_keys[] = {
	{ "command", CONFIG_V_COMMAND, 0, 0 },
	{ "process_name", CONFIG_V_EARLY, 0, 0 },
	{ "numprocs", CONFIG_V_EARLY, 0, 0 },
	{ "numprocs_start", CONFIG_V_EARLY, 0, 0 },
	{ "priority", CONFIG_V_PRIORITY, PROC_OFF(priority), 0 },
	{ "autostart", CONFIG_V_BOOL, PROC_OFF(autostart), 0 },
	{ "autorestart", CONFIG_V_AUTORESTART, 0, 0 },
	{ "startsecs", CONFIG_V_DURATION, PROC_OFF(startsecs), 0 },
	{ "startretries", CONFIG_V_INT, PROC_OFF(startretries), 1000000 },
	{ "exitcodes", CONFIG_V_EXITCODES, 0, 0 },
	{ "stopsignal", CONFIG_V_SIGNAL, PROC_OFF(stopsignal), 0 },
	{ "stopwaitsecs", CONFIG_V_DURATION, PROC_OFF(stopwaitsecs), 0 },
	{ "stopasgroup", CONFIG_V_BOOL, PROC_OFF(stopasgroup), 0 },
	{ "killasgroup", CONFIG_V_BOOL, PROC_OFF(killasgroup), 0 },
	{ "user", CONFIG_V_STR, PROC_OFF(user), 0 },
	{ "directory", CONFIG_V_PATH, PROC_OFF(directory), 0 },
	{ "umask", CONFIG_V_UMASK, PROC_OFF(umask), 0 },
	{ "environment", CONFIG_V_ENV, PROC_OFF(environment), 0 },
	{ "redirect_stderr", CONFIG_V_BOOL, PROC_OFF(redirect_stderr), 0 },
	{ "stdout_logfile", CONFIG_V_LOGFILE, 0, 0 },
	{ "stdout_logfile_maxbytes", CONFIG_V_SIZE,
	    PROC_OFF(stdout_log.maxbytes), 0 },
	{ "stdout_logfile_backups", CONFIG_V_INT, PROC_OFF(stdout_log.backups),
	    1000 },
	{ "stdout_logfile_timestamps", CONFIG_V_BOOL,
	    PROC_OFF(stdout_log.timestamps), 0 },
	{ "stderr_logfile", CONFIG_V_LOGFILE, 1, 0 },
	{ "stderr_logfile_maxbytes", CONFIG_V_SIZE,
	    PROC_OFF(stderr_log.maxbytes), 0 },
	{ "stderr_logfile_backups", CONFIG_V_INT, PROC_OFF(stderr_log.backups),
	    1000 },
	{ "stderr_logfile_timestamps", CONFIG_V_BOOL,
	    PROC_OFF(stderr_log.timestamps), 0 },
	{ "stdin", CONFIG_V_STDIN, 0, 0 },
	{ "description", CONFIG_V_STR, PROC_OFF(description), 0 },
	{ "stdout_capture_maxbytes", CONFIG_V_IGNORED, 0, 0 },
	{ "stdout_events_enabled", CONFIG_V_IGNORED, 0, 0 },
	{ "stdout_syslog", CONFIG_V_IGNORED, 0, 0 },
	{ "stderr_capture_maxbytes", CONFIG_V_IGNORED, 0, 0 },
	{ "stderr_events_enabled", CONFIG_V_IGNORED, 0, 0 },
	{ "stderr_syslog", CONFIG_V_IGNORED, 0, 0 },
	{ "serverurl", CONFIG_V_IGNORED, 0, 0 },
	{ NULL, CONFIG_V_IGNORED, 0, 0 }
};

/* What the per-process pass learns beyond struct proc_conf. */
struct config_proc_extra {
	const char *log_spec[2];	/* stdout, stderr; NULL: AUTO */
	char	*log_owned[2];
	int	 log_line[2];
	int	 stopasgroup_line;
	bool	 killasgroup_given;
	bool	 has_command;
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

static const char *const config_unimplemented[] = {
	"eventlistener", "fcgi-program", "inet_http_server", "rpcinterface",
	NULL
};

static const char *const config_section_names[] = {
	"superd", "supervisord", "control", "unix_http_server", "superctl",
	"supervisorctl", "include", "program", "group", NULL
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
	for (i = 0; config_unimplemented[i] != NULL; i++) {
		if (strcmp(type, config_unimplemented[i]) == 0) {
			config_diag(p, s->file, s->line, true, "section "
			    "[%s] is not implemented by superd; skipped",
			    s->name);
			return CONFIG_SEC_SKIP;
		}
	}
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
		if (o != s && o->kind == s->kind &&
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
	if (s->kind == CONFIG_SEC_PROGRAM || s->kind == CONFIG_SEC_GROUP)
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
			config_read(p, pat, s->file, kv->line);
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

/* Read one file and what it includes. `from`: the including file. */
static void
config_read(struct config_parser *p, const char *path, const char *from,
    int from_line)
{
	struct config_lexing l;
	struct config_file *f;
	char *real, *buf;
	size_t first, i;
	int toobig;

	if ((real = config_read_enter(p, path, from, from_line)) == NULL)
		return;
	if ((buf = config_lex_read_file(path, &toobig)) == NULL || toobig) {
		config_diag(p, from != NULL ? from : path, from_line, false,
		    "cannot read %s%s: %s", from != NULL ? "include " : "",
		    path, buf == NULL ? strerror(errno) : toobig == 1 ?
		    "larger than 4 MiB" : "contains a NUL byte");
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

static const struct config_key *
config_key_find(const struct config_key *keys, const char *name)
{
	for (; keys->name != NULL; keys++)
		if (strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

/* Warn about every key of `s` that `keys` does not know. */
static void
config_check_keys(struct config_parser *p, const struct config_section *s,
    const struct config_key *keys)
{
	const char *names[64], *near;
	const struct config_key *k;
	size_t i, n = 0;

	for (k = keys; k->name != NULL && n < 63; k++)
		if (k->type != CONFIG_V_IGNORED)
			names[n++] = k->name;
	names[n] = NULL;
	for (i = 0; i < s->nkv; i++) {
		if ((k = config_key_find(keys, s->kv[i].key)) != NULL) {
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
		if (k == NULL || k->type == CONFIG_V_IGNORED)
			continue;
		v = values_expand(s->kv[i].value, &x, err, sizeof(err));
		if (v == NULL)
			config_diag(p, s->file, s->kv[i].line, false, "%s: %s",
			    k->name, err);
		else if (k->type == CONFIG_V_SERVERURL)
			config_serverurl(p, cfg, s, &s->kv[i], v);
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

/* Expand and apply one entry of [program:x] to one process. */
static void
config_proc_entry(struct config_parser *p, const struct config_section *s,
    const struct config_kv *kv, const struct values_expand *x,
    struct proc_conf *pc, struct config_proc_extra *e)
{
	const struct config_key *k;
	char err[256], sbuf[64], *v;
	int rc;

	k = config_key_find(config_program_keys, kv->key);
	if (k == NULL || k->type == CONFIG_V_IGNORED ||
	    k->type == CONFIG_V_EARLY)
		return;
	if ((v = values_expand(kv->value, x, err, sizeof(err))) == NULL) {
		config_diag(p, s->file, kv->line, false, "%s: %s", k->name,
		    err);
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
}

/* Checks and defaults once every entry is applied; -1 on an error. */
static int
config_proc_finish(struct config_parser *p, const struct config *cfg,
    const struct config_section *s, struct proc_conf *pc,
    struct config_proc_extra *e)
{
	size_t before = diags_errors(p->d);

	if (!e->has_command)
		config_diag(p, s->file, s->line, false, "missing 'command' in "
		    "[%s]", s->name);
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
		if ((ps = config_find_section(p, CONFIG_SEC_PROGRAM, w)) ==
		    NULL)
			config_diag(p, s->file, kv->line, false, "[%s]: no "
			    "[program:%s]", s->name, w);
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
			if (ps->kind == CONFIG_SEC_PROGRAM &&
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
		if (s->kind != CONFIG_SEC_PROGRAM || s->group != NULL)
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
	};
	size_t i, j;

	for (j = 0; j < sizeof(singles) / sizeof(singles[0]); j++)
		for (i = 0; i < p->nsec; i++)
			if (p->sec[i]->kind == singles[j].kind)
				config_apply_singleton(p, cfg, p->sec[i],
				    singles[j].keys);
	for (i = 0; i < p->nsec; i++)
		if (p->sec[i]->kind == CONFIG_SEC_INCLUDE)
			config_check_keys(p, p->sec[i], config_include_keys);
	config_build_named_groups(p, cfg);
	config_build_program_groups(p, cfg);
	if (cfg->ngroups > 1)
		qsort(cfg->groups, cfg->ngroups, sizeof(*cfg->groups),
		    config_group_cmp);
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

struct config *
config_load(const char *path, int flags, struct diags *d)
{
	struct config_parser p;
	struct config *cfg;
	size_t before = diags_errors(d);

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	p.d = d;
	if (gethostname(p.host, sizeof(p.host) - 1) == -1)
		strcpy(p.host, "localhost");
	config_read(&p, path, NULL, 0);
	cfg = config_new_defaults(path);
	config_build(&p, cfg);
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
