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
 * then groups and programs (the [program:x] keys and the per-process
 * build are in config_program.c), each value expanded (%(here)s...)
 * and parsed with values.c. Every problem is collected into the caller's diags;
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
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>

#include "config_priv.h"
#include "config_lex.h"
#include "log.h"
#include "values.h"
#include "xmalloc.h"


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


static void config_section_free(struct config_section *);
static void config_group_free(struct group_conf *);

/* A value short enough to quote in a message. */
const char *
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
void
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
bool
config_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= CONFIG_NAME_MAX &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") == n;
}

/* An absolute path: as is, or relative to `here`. */
char *
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

struct config_kv *
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
const struct config_key *
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
void
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
int
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
	cfg->identifier = xstrdup("supervisor");
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

void
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
