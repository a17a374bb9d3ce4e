/*
 * The config loader, [program:x] / [fcgi-program:x] / [eventlistener:x]:
 * the keys these sections take, socket= and the readiness/liveness
 * probes, and the per-process build of struct proc_conf (numprocs,
 * process_name, logs, user, socket owner, the checks that need several
 * keys at once). config.c reads files and calls config_program_build()
 * once per section.
 */

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "config_priv.h"
#include "log.h"
#include "values.h"
#include "xmalloc.h"

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

/*
 * Pass 2: programs.
 */

void
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

void
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
int
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
void
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
