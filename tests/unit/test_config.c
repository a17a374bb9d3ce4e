/*
 * Unit tests for the config loader (common/config.c). Every config is
 * written into a fresh temp dir at test time.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "values.h"

static char tdir[PATH_MAX];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tdir, sizeof(tdir), "/tmp/superd-test-config-XXXXXX");
	if (mkdtemp(tdir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return nftw(tdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write `body` to tdir/name (creating one level of directory); returns
 * the path in a static buffer. */
static const char *
put(const char *name, const char *body)
{
	static char path[PATH_MAX + 256];
	char dir[sizeof(path)], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(body, f);
	fclose(f);
	return path;
}

static void
dump(const struct diags *d)
{
	char buf[1024];
	size_t i;

	for (i = 0; i < d->n; i++) {
		diags_format(&d->v[i], buf, sizeof(buf));
		print_message("  diag: %s\n", buf);
	}
}

static struct config *
load_flags(const char *body, int flags, struct diags *d)
{
	diags_init(d);
	return config_load(put("main.conf", body), flags, d);
}

/* Load a config that must load without any message. */
static struct config *
load_ok(const char *body)
{
	struct diags d;
	struct config *cfg;

	cfg = load_flags(body, CONFIG_NO_USERS, &d);
	if (cfg == NULL || d.n != 0) {
		dump(&d);
		fail_msg("config did not load cleanly");
	}
	diags_free(&d);
	return cfg;
}

/* Is there a message on `line` (0: any) containing `text`? */
static bool
has(const struct diags *d, int line, bool warning, const char *text)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if ((line == 0 || d->v[i].line == line) &&
		    d->v[i].warning == warning &&
		    strstr(d->v[i].message, text) != NULL)
			return true;
	return false;
}

static void
expect(const struct diags *d, int line, bool warning, const char *text)
{
	if (!has(d, line, warning, text)) {
		dump(d);
		fail_msg("no %s on line %d with '%s'",
		    warning ? "warning" : "error", line, text);
	}
}

/* Load a config that must fail with an error on `line` containing
 * `text`. */
static void
load_err(const char *body, int line, const char *text)
{
	struct diags d;
	struct config *cfg;

	cfg = load_flags(body, CONFIG_NO_USERS, &d);
	if (cfg != NULL) {
		dump(&d);
		fail_msg("config loaded, expected an error on line %d: %s",
		    line, text);
	}
	expect(&d, line, false, text);
	diags_free(&d);
}

static const struct proc_conf *
proc(const struct config *cfg, const char *group, size_t i)
{
	const struct group_conf *g = config_find_group(cfg, group);

	assert_non_null(g);
	assert_true(i < g->nprocs);
	return g->procs[i];
}

static void
test_defaults(void **state)
{
	struct config *cfg;
	const struct proc_conf *p;
	const struct group_conf *g;

	(void)state;
	cfg = load_ok("[program:app]\ncommand=/bin/app --x\n");
	assert_string_equal(cfg->socket, CONFIG_DEFAULT_SOCKET);
	assert_int_equal(cfg->socket_mode, 0700);
	assert_null(cfg->socket_owner);
	assert_null(cfg->readonly_group);
	assert_null(cfg->ctl_socket);
	assert_null(cfg->logfile);
	assert_null(cfg->pidfile);
	assert_int_equal(cfg->loglevel, LOG_LEVEL_INFO);
	assert_string_equal(cfg->childlogdir, CONFIG_DEFAULT_LOGDIR);
	assert_int_equal(cfg->umask, 022);
	assert_int_equal(cfg->minfds, 1024);
	assert_null(cfg->environment);
	assert_false(cfg->nocleanup);
	assert_int_equal(cfg->shutdown_timeout, 0);
	assert_non_null(cfg->identifier);
	assert_int_equal(cfg->path[0], '/');
	assert_int_equal(cfg->ngroups, 1);
	g = cfg->groups[0];
	assert_string_equal(g->name, "app");
	assert_int_equal(g->priority, 999);
	assert_int_equal(g->nprocs, 1);
	assert_int_equal(g->line, 1);
	p = g->procs[0];
	assert_string_equal(p->name, "app");
	assert_string_equal(p->group, "app");
	assert_string_equal(p->program, "app");
	assert_int_equal(p->process_num, 0);
	assert_string_equal(p->command, "/bin/app --x");
	assert_int_equal(values_strv_len(p->argv), 2);
	assert_string_equal(p->argv[0], "/bin/app");
	assert_int_equal(p->priority, 999);
	assert_true(p->autostart);
	assert_int_equal(p->autorestart, AUTORESTART_UNEXPECTED);
	assert_int_equal(p->startsecs, 1);
	assert_int_equal(p->startretries, 3);
	assert_true(proc_conf_expected_exit(p, 0));
	assert_false(proc_conf_expected_exit(p, 1));
	assert_false(proc_conf_expected_exit(p, 256));
	assert_int_equal(p->stopsignal, SIGTERM);
	assert_int_equal(p->stopwaitsecs, 10);
	assert_false(p->stopasgroup);
	assert_false(p->killasgroup);
	assert_null(p->user);
	assert_null(p->directory);
	assert_int_equal(p->umask, -1);
	assert_null(p->environment);
	assert_false(p->redirect_stderr);
	assert_int_equal(p->stdout_log.target, LOG_TARGET_FILE);
	assert_string_equal(p->stdout_log.path, "/var/log/superd/app.out.log");
	assert_true(p->stdout_log.maxbytes == 50u * 1024 * 1024);
	assert_int_equal(p->stdout_log.backups, 10);
	assert_false(p->stdout_log.timestamps);
	assert_int_equal(p->stderr_log.target, LOG_TARGET_FILE);
	assert_string_equal(p->stderr_log.path, "/var/log/superd/app.err.log");
	assert_true(p->stderr_log.maxbytes == 50u * 1024 * 1024);
	assert_int_equal(p->stderr_log.backups, 10);
	assert_false(p->stdin_pipe);
	assert_null(p->description);
	assert_int_equal(p->line, 1);
	config_free(cfg);
}

static void
test_every_key(void **state)
{
	struct config *cfg;
	const struct proc_conf *p;

	(void)state;
	cfg = load_ok(
	    "[program:w]\n"
	    "command = /bin/w\n"
	    "priority = -5\n"
	    "autostart = no\n"
	    "autorestart = true\n"
	    "startsecs = 0\n"
	    "startretries = 7\n"
	    "exitcodes = 0,2\n"
	    "stopsignal = SIGINT\n"
	    "stopwaitsecs = 60\n"
	    "stopasgroup = true\n"
	    "killasgroup = true\n"
	    "user = nobody\n"
	    "directory = /srv\n"
	    "umask = 002\n"
	    "environment = A=1,B=\"x,y\"\n"
	    "redirect_stderr = true\n"
	    "stdout_logfile = /var/log/w.log\n"
	    "stdout_logfile_maxbytes = 1MB\n"
	    "stdout_logfile_backups = 0\n"
	    "stdout_logfile_timestamps = on\n"
	    "stderr_logfile_maxbytes = 2KB\n"
	    "stderr_logfile_backups = 3\n"
	    "stderr_logfile_timestamps = 1\n"
	    "stdin = pipe\n"
	    "description = the w service\n");
	p = proc(cfg, "w", 0);
	assert_int_equal(p->priority, -5);
	assert_false(p->autostart);
	assert_int_equal(p->autorestart, AUTORESTART_TRUE);
	assert_int_equal(p->startsecs, 0);
	assert_int_equal(p->startretries, 7);
	assert_true(proc_conf_expected_exit(p, 2));
	assert_false(proc_conf_expected_exit(p, 1));
	assert_int_equal(p->stopsignal, SIGINT);
	assert_int_equal(p->stopwaitsecs, 60);
	assert_true(p->stopasgroup);
	assert_true(p->killasgroup);
	assert_string_equal(p->user, "nobody");
	assert_string_equal(p->directory, "/srv");
	assert_int_equal(p->umask, 002);
	assert_int_equal(values_strv_len(p->environment), 2);
	assert_string_equal(p->environment[1], "B=x,y");
	assert_true(p->redirect_stderr);
	assert_string_equal(p->stdout_log.path, "/var/log/w.log");
	assert_true(p->stdout_log.maxbytes == 1024 * 1024);
	assert_int_equal(p->stdout_log.backups, 0);
	assert_true(p->stdout_log.timestamps);
	assert_int_equal(p->stderr_log.target, LOG_TARGET_NONE);
	assert_true(p->stderr_log.maxbytes == 2048);
	assert_int_equal(p->stderr_log.backups, 3);
	assert_true(p->stderr_log.timestamps);
	assert_true(p->stdin_pipe);
	assert_string_equal(p->description, "the w service");
	assert_int_equal(cfg->groups[0]->priority, -5);
	config_free(cfg);
}

static void
test_daemon_sections(void **state)
{
	struct config *cfg;
	char want[PATH_MAX + 32];

	(void)state;
	setenv("SUPERD_T_ENV", "v1", 1);
	cfg = load_ok(
	    "[superd]\n"
	    "logfile = superd.log\n"
	    "loglevel = debug\n"
	    "pidfile = /run/superd.pid\n"
	    "childlogdir = /var/log/x\n"
	    "umask = 027\n"
	    "minfds = 4096\n"
	    "environment = A=%(ENV_SUPERD_T_ENV)s\n"
	    "identifier = box1\n"
	    "nocleanup = true\n"
	    "shutdown_timeout = 30\n"
	    "[control]\n"
	    "socket = /tmp/s.sock\n"
	    "socket_mode = 0770\n"
	    "socket_owner = root:adm\n"
	    "readonly_group = adm\n"
	    "[superctl]\n"
	    "socket = /tmp/c.sock\n"
	    "[program:a]\ncommand=a\n");
	snprintf(want, sizeof(want), "%s/superd.log", tdir);
	assert_string_equal(cfg->logfile, want);
	assert_int_equal(cfg->loglevel, LOG_LEVEL_DEBUG);
	assert_string_equal(cfg->pidfile, "/run/superd.pid");
	assert_string_equal(cfg->childlogdir, "/var/log/x");
	assert_int_equal(cfg->umask, 027);
	assert_int_equal(cfg->minfds, 4096);
	assert_string_equal(cfg->environment[0], "A=v1");
	assert_string_equal(cfg->identifier, "box1");
	assert_true(cfg->nocleanup);
	assert_int_equal(cfg->shutdown_timeout, 30);
	assert_string_equal(cfg->socket, "/tmp/s.sock");
	assert_int_equal(cfg->socket_mode, 0770);
	assert_string_equal(cfg->socket_owner, "root:adm");
	assert_string_equal(cfg->readonly_group, "adm");
	assert_string_equal(cfg->ctl_socket, "/tmp/c.sock");
	assert_string_equal(proc(cfg, "a", 0)->stdout_log.path,
	    "/var/log/x/a.out.log");
	config_free(cfg);
}

static void
test_supervisord_aliases(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok(
	    "[supervisord]\n"
	    "loglevel = warn\n"
	    "[unix_http_server]\n"
	    "file = /tmp/supervisor.sock\n"
	    "chmod = 0777\n"
	    "chown = nobody:nogroup\n"
	    "[supervisorctl]\n"
	    "serverurl = unix:///tmp/supervisor.sock\n"
	    "[program:a]\ncommand=a\n");
	assert_int_equal(cfg->loglevel, LOG_LEVEL_WARN);
	assert_string_equal(cfg->socket, "/tmp/supervisor.sock");
	assert_int_equal(cfg->socket_mode, 0777);
	assert_string_equal(cfg->socket_owner, "nobody:nogroup");
	assert_string_equal(cfg->ctl_socket, "/tmp/supervisor.sock");
	config_free(cfg);
}

static void
test_numprocs(void **state)
{
	struct config *cfg;
	const struct group_conf *g;

	(void)state;
	cfg = load_ok(
	    "[program:web]\n"
	    "command=/bin/web --port 80%(process_num)02d --n %(numprocs)d\n"
	    "process_name=%(program_name)s_%(process_num)02d\n"
	    "numprocs=3\n");
	g = config_find_group(cfg, "web");
	assert_int_equal(g->nprocs, 3);
	assert_string_equal(g->procs[0]->name, "web_00");
	assert_string_equal(g->procs[2]->name, "web_02");
	assert_int_equal(g->procs[2]->process_num, 2);
	assert_string_equal(g->procs[1]->argv[2], "8001");
	assert_string_equal(g->procs[1]->argv[4], "3");
	assert_string_equal(g->procs[1]->stdout_log.path,
	    "/var/log/superd/web_01.out.log");
	assert_string_equal(g->procs[1]->group, "web");
	config_free(cfg);

	cfg = load_ok("[program:q]\ncommand=q\nnumprocs=2\n"
	    "numprocs_start=5\nprocess_name=q%(process_num)d\n");
	g = config_find_group(cfg, "q");
	assert_string_equal(g->procs[0]->name, "q5");
	assert_string_equal(g->procs[1]->name, "q6");
	config_free(cfg);

	load_err("[program:x]\ncommand=x\nnumprocs=2\n", 3,
	    "needs %(process_num)");
	load_err("[program:x]\ncommand=x\nnumprocs=2\nprocess_name=x\n", 4,
	    "needs %(process_num)");
	load_err("[program:x]\ncommand=x\nnumprocs=0\n", 3, "numprocs");
	load_err("[program:x]\ncommand=x\nnumprocs=1001\n", 3,
	    "out of range");
}

static void
test_expansions(void **state)
{
	struct config *cfg;
	const struct proc_conf *p;
	char host[256], want[PATH_MAX + 64];

	(void)state;
	setenv("SUPERD_T_N", "2", 1);
	setenv("SUPERD_T_PATH", "/usr/bin", 1);
	gethostname(host, sizeof(host));
	cfg = load_ok(
	    "[program:e]\n"
	    "command=/bin/e %(here)s %(host_node_name)s %(group_name)s "
	    "%(program_name)s %%\n"
	    "numprocs=%(ENV_SUPERD_T_N)s\n"
	    "process_name=e%(process_num)d\n"
	    "priority=%(process_num)d\n"
	    "environment=PATH=/x:%(ENV_SUPERD_T_PATH)s\n"
	    "directory=%(here)s/work\n");
	p = proc(cfg, "e", 1);
	assert_string_equal(p->argv[1], tdir);
	assert_string_equal(p->argv[2], host);
	assert_string_equal(p->argv[3], "e");
	assert_string_equal(p->argv[4], "e");
	assert_string_equal(p->argv[5], "%");
	assert_int_equal(p->priority, 1);
	assert_string_equal(p->environment[0], "PATH=/x:/usr/bin");
	snprintf(want, sizeof(want), "%s/work", tdir);
	assert_string_equal(p->directory, want);
	config_free(cfg);

	load_err("[program:e]\ncommand=/bin/e\nstartsecs=%(nope)s\n", 3,
	    "unknown expansion %(nope)");
	load_err("[program:e]\ncommand=/bin/e %(ENV_SUPERD_T_UNSET_X)s\n", 2,
	    "SUPERD_T_UNSET_X is not set");
	load_err("[superd]\nidentifier=%(program_name)s\n", 2,
	    "unknown expansion");
	load_err("[program:e]\ncommand=date +%s\n", 2, "'%%'");
}

static void
test_groups(void **state)
{
	struct config *cfg;
	const struct group_conf *g;

	(void)state;
	cfg = load_ok(
	    "[program:zz]\ncommand=zz\npriority=1\n"
	    "[program:a]\ncommand=a\npriority=20\n"
	    "[program:b]\ncommand=b\npriority=10\n"
	    "[group:g]\nprograms=a, b\npriority=5\n");
	assert_int_equal(cfg->ngroups, 2);
	assert_string_equal(cfg->groups[0]->name, "zz");
	g = cfg->groups[1];
	assert_string_equal(g->name, "g");
	assert_int_equal(g->priority, 5);
	assert_int_equal(g->nprocs, 2);
	assert_string_equal(g->procs[0]->name, "b");
	assert_string_equal(g->procs[1]->name, "a");
	assert_string_equal(g->procs[0]->group, "g");
	assert_null(config_find_group(cfg, "a"));
	assert_null(config_find_group(cfg, "nope"));
	config_free(cfg);

	/* groups sort by (priority, name) */
	cfg = load_ok("[program:b]\ncommand=b\n[program:a]\ncommand=a\n"
	    "[program:c]\ncommand=c\npriority=1\n");
	assert_string_equal(cfg->groups[0]->name, "c");
	assert_string_equal(cfg->groups[1]->name, "a");
	assert_string_equal(cfg->groups[2]->name, "b");
	config_free(cfg);

	/* %(group_name)s is the group's name */
	cfg = load_ok("[program:a]\ncommand=a %(group_name)s\n"
	    "[group:g]\nprograms=a\n");
	assert_string_equal(proc(cfg, "g", 0)->argv[1], "g");
	config_free(cfg);

	load_err("[group:g]\nprograms=a,nope\n[program:a]\ncommand=a\n", 2,
	    "no [program:nope]");
	load_err("[group:g]\npriority=1\n", 1, "missing 'programs'");
	load_err("[program:a]\ncommand=a\n[group:g1]\nprograms=a\n"
	    "[group:g2]\nprograms=a\n", 6, "already in group g1");
	load_err("[program:g]\ncommand=g\n[program:a]\ncommand=a\n"
	    "[group:g]\nprograms=a\n", 1, "group of the same name");
	load_err("[program:a]\ncommand=a\nprocess_name=x\n[program:b]\n"
	    "command=b\nprocess_name=x\n[group:g]\nprograms=a,b\n", 4,
	    "used twice in group g");
}

static void
test_includes(void **state)
{
	struct config *cfg;
	struct diags d;
	char want[PATH_MAX + 32];

	(void)state;
	put("conf.d/b.ini", "[program:b]\ncommand=b\n"
	    "[include]\nfiles=../more/*.conf\n");
	put("conf.d/a.ini", "[program:a]\ncommand=a\nstdout_logfile=a.log\n");
	put("conf.d/skip.txt", "[program:skip]\ncommand=x\n");
	put("more/c.conf", "[program:c]\ncommand=c\n");
	cfg = load_ok("[include]\nfiles = conf.d/*.ini nothing/*.ini\n"
	    "[program:m]\ncommand=m\n");
	assert_int_equal(cfg->ngroups, 4);
	assert_non_null(config_find_group(cfg, "a"));
	assert_non_null(config_find_group(cfg, "c"));
	assert_null(config_find_group(cfg, "skip"));
	/* relative paths are relative to the file they are written in */
	snprintf(want, sizeof(want), "%s/conf.d/a.log", tdir);
	assert_string_equal(proc(cfg, "a", 0)->stdout_log.path, want);
	assert_non_null(strstr(proc(cfg, "c", 0)->file, "/more/c.conf"));
	config_free(cfg);

	/* a loop is an error on the line of the include that closes it */
	put("loop/x.ini", "[program:x]\ncommand=x\n[include]\n"
	    "files=y.ini\n");
	put("loop/y.ini", "\n[include]\nfiles=x.ini\n");
	load_err("[include]\nfiles=loop/x.ini\n", 3, "include loop");
	load_err("[include]\nfiles=main.conf\n", 2, "include loop");
	/* a missing literal file warns, as supervisord (issue 9 defect 5);
	 * a directory cannot be read */
	cfg = load_flags("[program:m]\ncommand=m\n[include]\n"
	    "files=missing.ini\n", CONFIG_NO_USERS, &d);
	assert_non_null(cfg);
	expect(&d, 4, true, "No file matches via include");
	assert_int_equal(diags_errors(&d), 0);
	config_free(cfg);
	diags_free(&d);
	load_err("[include]\nfiles=conf.d\n", 2, "cannot read include");
}

/* Issue 9 defect 2: a FIFO or a device as a config file is refused at
 * once instead of blocking in open() until a writer comes. */
static void
test_fifo_refused(void **state)
{
	char fifo[PATH_MAX + 32], body[PATH_MAX + 64];
	struct diags d;
	struct config *cfg;
	time_t t0 = time(NULL);

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s/x.ini", tdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	load_err("[include]\nfiles=x.ini\n", 2, "cannot read include");
	cfg = load_flags("[include]\nfiles=*.ini\n", CONFIG_NO_USERS, &d);
	assert_null(cfg);
	expect(&d, 2, false, "not a regular file");
	diags_free(&d);
	/* -c FIFO */
	diags_init(&d);
	assert_null(config_load(fifo, CONFIG_NO_USERS, &d));
	if (d.n != 1 || strstr(d.v[0].message, "x.ini: not a regular "
	    "file") == NULL) {
		dump(&d);
		fail_msg("-c FIFO: expected one 'not a regular file'");
	}
	diags_free(&d);
	unlink(fifo);
	/* a device */
	snprintf(body, sizeof(body), "[include]\nfiles=/dev/zero\n");
	load_err(body, 2, "not a regular file");
	assert_true(time(NULL) - t0 < 5);
}

static void
test_duplicates(void **state)
{
	struct diags d;
	struct config *cfg;
	char want[PATH_MAX + 64];

	(void)state;
	/* R33: within one file */
	load_err("[program:a]\ncommand=a\n\n[program:a]\ncommand=b\n", 4,
	    "duplicate [program:a] (first defined at");
	/* across the main file and a drop-in: names both places */
	put("dup/one.ini", "[program:a]\ncommand=b\n");
	put("dup/two.ini", "\n\n[program:a]\ncommand=c\n");
	cfg = load_flags("[program:a]\ncommand=a\n[include]\n"
	    "files=dup/one.ini\n", CONFIG_NO_USERS, &d);
	assert_null(cfg);
	snprintf(want, sizeof(want), "first defined at %s/main.conf:1", tdir);
	expect(&d, 1, false, want);
	assert_non_null(strstr(d.v[0].file, "dup/one.ini"));
	diags_free(&d);
	/* across two drop-ins */
	cfg = load_flags("[include]\nfiles=dup/*.ini\n", CONFIG_NO_USERS, &d);
	assert_null(cfg);
	expect(&d, 3, false, "dup/one.ini:1");
	assert_non_null(strstr(d.v[0].file, "dup/two.ini"));
	diags_free(&d);
	/* a repeated key is a warning (the last wins), an error if strict */
	cfg = load_flags("[program:a]\ncommand=a\ncommand=b\n",
	    CONFIG_NO_USERS, &d);
	assert_non_null(cfg);
	expect(&d, 3, true, "'command' repeated in [program:a] (also at "
	    "line 2)");
	assert_string_equal(proc(cfg, "a", 0)->command, "b");
	config_free(cfg);
	diags_free(&d);
	cfg = load_flags("[program:a]\ncommand=a\ncommand=b\n",
	    CONFIG_NO_USERS | CONFIG_STRICT, &d);
	assert_null(cfg);
	expect(&d, 3, false, "repeated");
	diags_free(&d);
}

static void
test_unknown_warnings(void **state)
{
	struct diags d;
	struct config *cfg;

	(void)state;
	/* R32: typos warn with a suggestion; strict makes them errors.
	 * The sections superd now implements, and the keys that change
	 * nothing here (SPEC section 3), are silent. */
	static const char body[] =
	    "[progam:x]\n"			/* 1 */
	    "command=x\n"
	    "[program:a]\n"			/* 3 */
	    "command=a\n"
	    "autorestrat=true\n"		/* 5 */
	    "frobnicate=1\n"			/* 6 */
	    "[eventlistener:ev]\n"		/* 7 */
	    "command=ev events=TICK_5\n"
	    "[fcgi-program:f]\n"		/* 9 */
	    "[inet_http_server]\n"		/* 10 */
	    "port=9001\n"
	    "[rpcinterface:supervisor]\n"	/* 12 */
	    "[weird]\n"				/* 13 */
	    "[supervisord]\n"			/* 14 */
	    "nodaemon=true\n"			/* 15 */
	    "[supervisorctl]\n"		/* 16 */
	    "prompt=mine\n"			/* 17 */
	    "[program:b]\n"			/* 18 */
	    "command=b\n"
	    "events=TICK_5\n";			/* 20 */

	cfg = load_flags(body, CONFIG_NO_USERS, &d);
	assert_null(cfg);	/* [fcgi-program:f] has no command */
	expect(&d, 1, true, "unknown section [progam:x] (did you mean "
	    "[program:x]?)");
	expect(&d, 5, true, "unknown key 'autorestrat' in [program:a] (did "
	    "you mean 'autorestart'?)");
	expect(&d, 6, true, "unknown key 'frobnicate'");
	assert_false(has(&d, 6, true, "did you mean"));
	expect(&d, 7, false, "missing 'events' in [eventlistener:ev]");
	expect(&d, 9, false, "missing 'command' in [fcgi-program:f]");
	expect(&d, 9, false, "missing 'socket' in [fcgi-program:f]");
	assert_false(has(&d, 10, true, ""));
	assert_false(has(&d, 12, true, ""));
	expect(&d, 13, true, "unknown section [weird]");
	assert_false(has(&d, 15, true, ""));
	assert_false(has(&d, 17, true, ""));
	expect(&d, 20, true, "unknown key 'events' in [program:b]");
	diags_free(&d);

	cfg = load_flags(body, CONFIG_NO_USERS | CONFIG_STRICT, &d);
	assert_null(cfg);
	expect(&d, 5, false, "did you mean 'autorestart'?");
	expect(&d, 1, false, "unknown section");
	diags_free(&d);
}

static void
test_errors_lines(void **state)
{
	struct diags d;
	struct config *cfg;

	(void)state;
	/* R30: every error is reported with its line; nothing half-loads */
	static const char body[] =
	    "[program:a]\n"			/* 1: no command */
	    "autostart=maybe\n"			/* 2 */
	    "\n"
	    "[program:b]\n"			/* 4 */
	    "command=b \"open\n"		/* 5 */
	    "this line has no equals\n"		/* 6 */
	    "[program:c]\n"			/* 7 */
	    "command=c\n"
	    "stopasgroup=true\n"		/* 9 */
	    "killasgroup=false\n"
	    "[program:bad name]\n"		/* 11 */
	    "command=x\n"
	    "[program:ok]\n"
	    "command=ok\n"
	    "startretries=-1\n"			/* 15 */
	    "[\n"				/* 16 */
	    "[]\n";				/* 17 */

	cfg = load_flags(body, CONFIG_NO_USERS, &d);
	assert_null(cfg);
	expect(&d, 1, false, "missing 'command' in [program:a]");
	expect(&d, 2, false, "bad value for autostart: 'maybe'");
	expect(&d, 5, false, "unterminated double quote");
	expect(&d, 6, false, "expected 'key = value'");
	expect(&d, 9, false, "stopasgroup=true needs killasgroup=true");
	expect(&d, 11, false, "bad name in [program:bad name]");
	expect(&d, 15, false, "bad value for startretries: '-1'");
	expect(&d, 16, false, "bad section header");
	expect(&d, 17, false, "empty section name");
	assert_int_equal(diags_errors(&d), 9);
	diags_free(&d);

	load_err("command=x\n[program:a]\ncommand=a\n", 1,
	    "outside of any [section]");
	load_err("[program:a]\n=x\ncommand=a\n", 2, "missing key");
	diags_init(&d);
	assert_null(config_load("/nonexistent/superd.conf", 0, &d));
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].line, 0);
	diags_free(&d);
}

static void
test_stopasgroup_implies(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok("[program:a]\ncommand=a\nstopasgroup=true\n");
	assert_true(proc(cfg, "a", 0)->killasgroup);
	config_free(cfg);
}

static void
test_bad_names(void **state)
{
	char body[256], big[80];

	(void)state;
	load_err("[program:a/b]\ncommand=x\n", 1, "bad name");
	load_err("[program:]\ncommand=x\n", 1, "bad name");
	load_err("[program:a\tb]\ncommand=x\n", 1, "bad name");
	load_err("[group:a:b]\nprograms=x\n", 1, "bad name");
	memset(big, 'n', 65);
	big[65] = '\0';
	snprintf(body, sizeof(body), "[program:%s]\ncommand=x\n", big);
	load_err(body, 1, "bad name");
	load_err("[program:a]\ncommand=x\nprocess_name=a b\n", 3,
	    "bad process_name 'a b'");
	load_err("[program:a]\ncommand=x\nprocess_name=../x\n", 3,
	    "bad process_name");
	big[64] = '\0';
	snprintf(body, sizeof(body), "[program:%s]\ncommand=x\n", big);
	config_free(load_ok(body));
}

static void
test_bad_values(void **state)
{
	/* R34: a table of bad values, each rejected on its line. */
	static const struct {
		const char *kv, *text;
	} bad[] = {
		{ "startretries=99999999999999999999", "out of range" },
		{ "startretries=1e3", "expected an integer" },
		{ "stopwaitsecs=1e9", "stopwaitsecs" },
		{ "stopwaitsecs=1000000000", "out of range" },
		{ "startsecs=-1", "startsecs" },
		{ "stdout_logfile_maxbytes=-1", "stdout_logfile_maxbytes" },
		{ "stderr_logfile_maxbytes=1TB", "expected a size" },
		{ "stdout_logfile_backups=100000", "out of range" },
		{ "umask=999", "expected an octal" },
		{ "umask=01000", "out of range" },
		{ "priority=99999999999", "out of range" },
		{ "autorestart=sometimes", "true, false or unexpected" },
		{ "autostart=2", "autostart" },
		{ "exitcodes=0,256", "exit code" },
		{ "stopsignal=SIGFOO", "signal" },
		{ "stopsignal=0", "signal" },
		{ "stdin=tty", "expected null or pipe" },
		{ "environment=A=\"x", "unterminated quote" },
		{ "environment=NOEQUALS", "expected KEY=value" },
		{ "command=", "empty command" },
		{ "command=a 'b", "unterminated single quote" },
		{ "stdout_logfile=", "expected a path" },
		{ "redirect_stderr=maybe", "redirect_stderr" },
	};
	char body[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "[program:p]\ncommand=/bin/p\n"
		    "%s\n", bad[i].kv);
		load_err(body, 3, bad[i].text);
	}
	load_err("[superd]\nloglevel=chatty\n", 2, "expected debug");
	load_err("[superd]\nminfds=0\n", 2, "out of range");
	load_err("[superd]\numask=8\n", 2, "octal");
	load_err("[superd]\nshutdown_timeout=x\n", 2, "integer");
	load_err("[superd]\nnocleanup=x\n", 2, "nocleanup");
	load_err("[control]\nsocket_mode=0800\n", 2, "octal");
	load_err("[unix_http_server]\nchmod=abc\n", 2, "chmod");
	load_err("[group:g]\nprograms=a\npriority=x\n[program:a]\ncommand=a\n",
	    3, "priority");
	load_err("[program:p]\ncommand=p\nnumprocs_start=-1\n", 3,
	    "numprocs_start");
}

static void
test_users(void **state)
{
	struct diags d;
	struct config *cfg;

	(void)state;
	cfg = load_flags("[program:a]\ncommand=a\nuser=root\n", 0, &d);
	assert_non_null(cfg);
	assert_int_equal(proc(cfg, "a", 0)->uid, 0);
	assert_int_equal(proc(cfg, "a", 0)->gid, 0);
	assert_non_null(proc(cfg, "a", 0)->home);
	config_free(cfg);
	diags_free(&d);
	cfg = load_flags("[program:a]\ncommand=a\n\nuser=no_such_user_xyz\n",
	    0, &d);
	assert_null(cfg);
	expect(&d, 4, false, "no such user 'no_such_user_xyz'");
	diags_free(&d);
	/* CONFIG_NO_USERS leaves user= unresolved */
	cfg = load_ok("[program:a]\ncommand=a\nuser=no_such_user_xyz\n");
	assert_string_equal(proc(cfg, "a", 0)->user, "no_such_user_xyz");
	assert_true(proc(cfg, "a", 0)->uid == (uid_t)-1);
	config_free(cfg);
}

static void
test_log_targets(void **state)
{
	struct config *cfg;
	const struct proc_conf *p;
	struct diags d;

	(void)state;
	cfg = load_ok(
	    "[program:a]\ncommand=a\n"
	    "stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\n"
	    "stderr_logfile=/dev/stderr\nstderr_logfile_maxbytes=0\n"
	    "[program:b]\ncommand=b\n"
	    "stdout_logfile=/dev/fd/1\nstderr_logfile=/dev/fd/2\n"
	    "[program:c]\ncommand=c\n"
	    "stdout_logfile=NONE\nstderr_logfile=AUTO\n"
	    "[program:d]\ncommand=d\nredirect_stderr=true\n");
	p = proc(cfg, "a", 0);
	assert_int_equal(p->stdout_log.target, LOG_TARGET_STDOUT);
	assert_true(p->stdout_log.maxbytes == 0);
	assert_int_equal(p->stderr_log.target, LOG_TARGET_STDERR);
	assert_null(p->stdout_log.path);
	p = proc(cfg, "b", 0);
	assert_int_equal(p->stdout_log.target, LOG_TARGET_STDOUT);
	assert_int_equal(p->stderr_log.target, LOG_TARGET_STDERR);
	p = proc(cfg, "c", 0);
	assert_int_equal(p->stdout_log.target, LOG_TARGET_NONE);
	assert_int_equal(p->stderr_log.target, LOG_TARGET_FILE);
	assert_string_equal(p->stderr_log.path, "/var/log/superd/c.err.log");
	p = proc(cfg, "d", 0);
	assert_int_equal(p->stdout_log.target, LOG_TARGET_FILE);
	assert_int_equal(p->stderr_log.target, LOG_TARGET_NONE);
	config_free(cfg);

	cfg = load_flags("[program:d]\ncommand=d\nredirect_stderr=true\n"
	    "stderr_logfile=/x\n", CONFIG_NO_USERS, &d);
	assert_non_null(cfg);
	expect(&d, 4, true, "ignored with redirect_stderr");
	config_free(cfg);
	diags_free(&d);
}

static void
test_messy_real_configs(void **state)
{
	struct config *cfg;
	const struct proc_conf *p;

	(void)state;
	/* CRLF, tabs, spaces around '=', no final newline */
	cfg = load_ok("[program:crlf]\r\n\tcommand\t=\t/bin/x  a \r\n"
	    "autostart = false\r\npriority= 3");
	p = proc(cfg, "crlf", 0);
	assert_string_equal(p->command, "/bin/x  a");
	assert_false(p->autostart);
	assert_int_equal(p->priority, 3);
	config_free(cfg);

	/* comments: ';' and '#' lines, inline ' ;' only after whitespace */
	cfg = load_ok("; a comment\n# another\n[program:ng] ; trailing\n"
	    "command=nginx -g \"daemon off;\" ; the comment\n"
	    "  ; indented comment\n"
	    "startsecs=5\t; tab comment\n"
	    "description=a;b #c\n");
	p = proc(cfg, "ng", 0);
	assert_string_equal(p->command, "nginx -g \"daemon off;\"");
	assert_string_equal(p->argv[2], "daemon off;");
	assert_int_equal(p->startsecs, 5);
	assert_string_equal(p->description, "a;b #c");
	config_free(cfg);

	/* a 13-line command= with continuation lines */
	cfg = load_ok("[program:long]\ncommand=/usr/bin/java\n"
	    "  -Xmx1g\n  -Xms1g\n\t-Da=1\n  -Db=2\n  -Dc=3\n  -Dd=4\n"
	    "  -De=5 ; comment here\n  -Df=6\n  -Dg=7\n  -Dh=8\n"
	    "  -jar\n  app.jar\nautostart=false\n");
	p = proc(cfg, "long", 0);
	assert_int_equal(values_strv_len(p->argv), 13);
	assert_string_equal(p->argv[7], "-De=5");
	assert_string_equal(p->argv[12], "app.jar");
	assert_false(p->autostart);
	config_free(cfg);

	/* environment over continuation lines */
	cfg = load_ok("[program:env]\ncommand=x\nenvironment=\n"
	    "    A=\"1\",\n    B=\"two words\"\n");
	p = proc(cfg, "env", 0);
	assert_int_equal(values_strv_len(p->environment), 2);
	assert_string_equal(p->environment[1], "B=two words");
	config_free(cfg);

	/* keys are case-insensitive, section names are not */
	cfg = load_ok("[program:Up]\nCOMMAND=x\nAutoStart=no\n");
	assert_false(proc(cfg, "Up", 0)->autostart);
	config_free(cfg);
}

static void
test_bom_empty_comments(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok("\xef\xbb\xbf[program:bom]\ncommand=x\n");
	assert_non_null(config_find_group(cfg, "bom"));
	config_free(cfg);
	cfg = load_ok("");
	assert_int_equal(cfg->ngroups, 0);
	config_free(cfg);
	cfg = load_ok("\n\n; only\n# comments\n\n");
	assert_int_equal(cfg->ngroups, 0);
	config_free(cfg);
	cfg = load_ok("\xef\xbb\xbf");
	config_free(cfg);
	load_err("[program:a]\ncommand=a\n\xef\xbb\xbf[program:b]\n", 3,
	    "expected");
}

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_long_lines(void **state)
{
	struct config *cfg;
	const struct proc_conf *p;
	char *arg, *val, *body;
	size_t n = 64 * 1024;

	(void)state;
	arg = repeat('a', n);
	val = repeat('v', n);
	body = malloc(3 * n + 256);
	assert_non_null(body);
	snprintf(body, 3 * n + 256, "[program:big]\ncommand=/bin/echo %s\n"
	    "environment=BIG=\"%s\",SMALL=1\nautostart=false\n", arg, val);
	cfg = load_ok(body);
	p = proc(cfg, "big", 0);
	assert_int_equal(values_strv_len(p->argv), 2);
	assert_int_equal(strlen(p->argv[1]), n);
	assert_int_equal(strlen(p->environment[0]), n + 4);
	assert_string_equal(p->environment[1], "SMALL=1");
	assert_false(p->autostart);
	config_free(cfg);
	free(arg);
	free(val);
	free(body);
}

static void
test_no_smuggling(void **state)
{
	struct config *cfg;
	const struct proc_conf *p;
	char body[1024], *pad;
	size_t len;

	(void)state;
	/* inih's 200-byte buffer would cut the line and parse the tail as
	 * "user=root"; around that boundary nothing may leak. */
	for (len = 185; len <= 215; len++) {
		pad = repeat('x', len);
		snprintf(body, sizeof(body), "[program:s]\ncommand=%s"
		    "user=root\n", pad);
		cfg = load_ok(body);
		p = proc(cfg, "s", 0);
		assert_null(p->user);
		assert_int_equal(values_strv_len(p->argv), 1);
		assert_int_equal(strlen(p->argv[0]), len + 9);
		config_free(cfg);
		snprintf(body, sizeof(body), "[program:s]\ncommand=/bin/x\n"
		    "description=%s[program:evil]\n", pad);
		cfg = load_ok(body);
		assert_int_equal(cfg->ngroups, 1);
		config_free(cfg);
		free(pad);
	}
}

static void
test_file_limits(void **state)
{
	struct diags d;
	char *big;
	FILE *f;

	(void)state;
	/* R34: a file over 4 MiB, and one with a NUL byte, are refused */
	big = repeat(';', 4 * 1024 * 1024 + 1);
	load_err(big, 0, "larger than 4 MiB");
	free(big);
	f = fopen(put("nul.conf", ""), "w");
	assert_non_null(f);
	fwrite("[program:a]\ncommand=a\0b\n", 1, 25, f);
	fclose(f);
	diags_init(&d);
	assert_null(config_load(put("main.conf", "[include]\nfiles=nul.conf\n"),
	    0, &d));
	expect(&d, 2, false, "NUL byte");
	diags_free(&d);
}

static void
test_diags_format(void **state)
{
	struct diags d;
	char buf[256];

	(void)state;
	diags_init(&d);
	diags_add(&d, "/a.conf", 3, false, "bad %s", "thing");
	diags_add(&d, "/a.conf", 4, true, "meh");
	diags_add(&d, "/a.conf", 0, false, "whole file");
	diags_add(&d, NULL, 0, false, "nowhere");
	diags_format(&d.v[0], buf, sizeof(buf));
	assert_string_equal(buf, "/a.conf:3: bad thing");
	diags_format(&d.v[1], buf, sizeof(buf));
	assert_string_equal(buf, "/a.conf:4: warning: meh");
	diags_format(&d.v[2], buf, sizeof(buf));
	assert_string_equal(buf, "/a.conf: whole file");
	diags_format(&d.v[3], buf, sizeof(buf));
	assert_string_equal(buf, "nowhere");
	assert_int_equal(diags_errors(&d), 3);
	diags_free(&d);
	diags_free(NULL);
	config_free(NULL);
}

static void
test_numprocs_error_once(void **state)
{
	struct diags d;

	(void)state;
	/* an error in a numprocs program is reported once, not per process */
	assert_null(load_flags("[program:w]\ncommand=w\nnumprocs=50\n"
	    "process_name=w%(process_num)d\nautostart=bad\n",
	    CONFIG_NO_USERS, &d));
	assert_int_equal(d.n, 1);
	diags_free(&d);
}

/* SPEC part two: every new [program:x] key into its field. */
static void
test_part_two_keys(void **state)
{
	struct config *cfg;
	const struct proc_conf *pc;

	(void)state;
	cfg = load_ok(
	    "[program:web]\n"
	    "command=/bin/web\n"
	    "socket=tcp://[::1]:8080\n"
	    "socket_backlog=128\n"
	    "reload_signal=HUP\n"
	    "ready=http://127.0.0.1:8080\n"
	    "ready_timeout=30\n"
	    "health=exec:/bin/check \"a b\"\n"
	    "health_interval=2\n"
	    "health_timeout=1\n"
	    "health_retries=5\n"
	    "depends_on=db, cache\n"
	    "backoff=exponential\n"
	    "backoff_max=4\n"
	    "backoff_reset=30\n"
	    "oom_score_adj=-500\n"
	    "stdout_events_enabled=true\n"
	    "stderr_events_enabled=yes\n"
	    "[program:db]\n"
	    "command=/bin/db\n"
	    "socket=unix:///run/db.sock\n"
	    "socket_mode=0770\n"
	    "ready=notify\n"
	    "health=tcp://localhost:5432\n"
	    "[program:cache]\n"
	    "command=/bin/cache\n"
	    "ready=tcp://127.0.0.1:11211\n"
	    "health=http://[::1]:80/healthz?x=1\n");
	pc = proc(cfg, "web", 0);
	assert_int_equal(pc->socket.kind, SOCK_TCP);
	assert_string_equal(pc->socket.spec, "tcp://[::1]:8080");
	assert_string_equal(pc->socket.host, "::1");
	assert_int_equal(pc->socket.port, 8080);
	assert_int_equal(pc->socket.backlog, 128);
	assert_int_equal(pc->reload_signal, SIGHUP);
	assert_int_equal(pc->ready.kind, PROBE_HTTP);
	assert_string_equal(pc->ready.host, "127.0.0.1");
	assert_int_equal(pc->ready.port, 8080);
	assert_string_equal(pc->ready.path, "/");
	assert_int_equal(pc->ready_timeout, 30);
	assert_int_equal(pc->health.kind, PROBE_EXEC);
	assert_string_equal(pc->health.argv[0], "/bin/check");
	assert_string_equal(pc->health.argv[1], "a b");
	assert_null(pc->health.argv[2]);
	assert_int_equal(pc->health_interval, 2);
	assert_int_equal(pc->health_timeout, 1);
	assert_int_equal(pc->health_retries, 5);
	assert_string_equal(pc->depends_on[0], "db");
	assert_string_equal(pc->depends_on[1], "cache");
	assert_null(pc->depends_on[2]);
	assert_int_equal(pc->depends_on_line, 12);
	assert_int_equal(pc->backoff, BACKOFF_EXPONENTIAL);
	assert_int_equal(pc->backoff_max, 4);
	assert_int_equal(pc->backoff_reset, 30);
	assert_int_equal(pc->oom_score_adj, -500);
	assert_true(pc->stdout_log.events_enabled);
	assert_true(pc->stderr_log.events_enabled);
	assert_false(pc->fcgi);
	assert_false(pc->listener);
	pc = proc(cfg, "db", 0);
	assert_int_equal(pc->socket.kind, SOCK_UNIX);
	assert_string_equal(pc->socket.path, "/run/db.sock");
	assert_int_equal(pc->socket.mode, 0770);
	assert_int_equal(pc->socket.backlog, SOMAXCONN);
	assert_int_equal(pc->ready.kind, PROBE_NOTIFY);
	assert_int_equal(pc->health.kind, PROBE_TCP);
	assert_string_equal(pc->health.host, "localhost");
	assert_int_equal(pc->health.port, 5432);
	/* defaults */
	assert_int_equal(pc->ready_timeout, 60);
	assert_int_equal(pc->health_interval, 10);
	assert_int_equal(pc->health_timeout, 5);
	assert_int_equal(pc->health_retries, 3);
	assert_int_equal(pc->backoff, BACKOFF_LINEAR);
	assert_int_equal(pc->backoff_max, 60);
	assert_int_equal(pc->backoff_reset, 60);
	assert_int_equal(pc->oom_score_adj, 0);
	assert_null(pc->depends_on);
	assert_false(pc->stdout_log.events_enabled);
	pc = proc(cfg, "cache", 0);
	assert_int_equal(pc->socket.kind, SOCK_NONE);
	assert_int_equal(pc->ready.kind, PROBE_TCP);
	assert_int_equal(pc->health.kind, PROBE_HTTP);
	assert_string_equal(pc->health.host, "::1");
	assert_int_equal(pc->health.port, 80);
	assert_string_equal(pc->health.path, "/healthz?x=1");
	config_free(cfg);
}

static void
test_part_two_errors(void **state)
{
	static const struct {
		const char *line;
		const char *text;
	} bad[] = {
		{ "socket=tcp://1.2.3:80", "bad host" },
		{ "socket=tcp://h:0", "bad port" },
		{ "socket=tcp://h:65536", "bad port" },
		{ "socket=tcp://h", "HOST:PORT" },
		{ "socket=unix://rel/x", "ABSOLUTE" },
		{ "socket=unix:///aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaa", "too long" },
		{ "socket=udp://h:1", "expected tcp://" },
		{ "socket_backlog=0", "out of range" },
		{ "ready=https://h/", "http://" },
		{ "ready=ftp://h:1", "http://" },
		{ "ready=sometime", "expected tcp://" },
		{ "ready=exec:", "" },
		{ "health=notify", "readiness check only" },
		{ "health=tcp://*:80", "not *" },
		{ "ready_timeout=0", "out of range" },
		{ "health_interval=0", "out of range" },
		{ "health_timeout=-1", "out of range" },
		{ "health_retries=0", "out of range" },
		{ "health_retries=99999999", "out of range" },
		{ "backoff=fast", "linear or exponential" },
		{ "backoff_max=0", "out of range" },
		{ "oom_score_adj=1001", "out of range" },
		{ "oom_score_adj=-1001", "out of range" },
		{ "reload_signal=NOPE", "" },
		{ "depends_on=a/b", "bad program name" },
		{ "depends_on=nosuch", "no program 'nosuch'" },
		{ "depends_on=web", "web depends on itself" },
		{ "socket=tcp://h:1\nsocket_mode=0700", "unix:// socket only" },
		{ "socket=tcp://h:1\nsocket_owner=root",
		    "unix:// socket only" },
		{ "socket_mode=0700", "unix:// socket only" },
	};
	char body[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "[program:web]\n"
		    "command=/bin/web\n%s\n", bad[i].line);
		load_err(body, strchr(bad[i].line, '\n') != NULL ? 4 : 3,
		    bad[i].text);
	}
}

/* A cycle is reported once, at a depends_on line, naming all of it. */
static void
test_depends_cycle(void **state)
{
	struct diags d;
	struct config *cfg;

	(void)state;
	cfg = load_flags(
	    "[program:web]\n"		/* 1 */
	    "command=/bin/web\n"
	    "depends_on=db\n"		/* 3 */
	    "[program:db]\n"		/* 4 */
	    "command=/bin/db\n"
	    "depends_on=web\n",		/* 6 */
	    CONFIG_NO_USERS, &d);
	assert_null(cfg);
	assert_int_equal(diags_errors(&d), 1);
	if (!has(&d, 3, false, "cycle: web -> db -> web") &&
	    !has(&d, 6, false, "cycle: db -> web -> db")) {
		dump(&d);
		fail_msg("no cycle message");
	}
	diags_free(&d);

	/* three long, and across groups */
	cfg = load_flags(
	    "[group:g]\n"		/* 1 */
	    "programs=a,b\n"
	    "[program:a]\n"		/* 3 */
	    "command=/bin/a\n"
	    "depends_on=b\n"		/* 5 */
	    "[program:b]\n"
	    "command=/bin/b\n"
	    "depends_on=c\n"		/* 8 */
	    "[program:c]\n"
	    "command=/bin/c\n"
	    "depends_on=a\n",		/* 11 */
	    CONFIG_NO_USERS, &d);
	assert_null(cfg);
	assert_int_equal(diags_errors(&d), 1);
	if (!has(&d, 0, false, "a -> b -> c -> a") &&
	    !has(&d, 0, false, "b -> c -> a -> b") &&
	    !has(&d, 0, false, "c -> a -> b -> c")) {
		dump(&d);
		fail_msg("no cycle message");
	}
	diags_free(&d);
}

static void
test_start_order(void **state)
{
	struct config *cfg;
	const char **order;
	size_t n;

	(void)state;
	cfg = load_ok(
	    "[program:web]\n"
	    "command=/bin/web\n"
	    "priority=1\n"
	    "depends_on=db,cache\n"
	    "[program:db]\n"
	    "command=/bin/db\n"
	    "priority=500\n"
	    "[program:cache]\n"
	    "command=/bin/cache\n"
	    "priority=100\n"
	    "depends_on=db\n"
	    "[program:zz]\n"
	    "command=/bin/zz\n"
	    "priority=2\n"
	    "[group:g]\n"
	    "programs=worker\n"
	    "[program:worker]\n"
	    "command=/bin/w\n"
	    "numprocs=2\n"
	    "process_name=w%(process_num)d\n"
	    "depends_on=web\n");
	order = config_start_order(cfg, &n);
	assert_non_null(order);
	assert_int_equal(n, 5);
	assert_string_equal(order[0], "zz");
	assert_string_equal(order[1], "db");
	assert_string_equal(order[2], "cache");
	assert_string_equal(order[3], "web");
	assert_string_equal(order[4], "worker");
	free(order);
	config_free(cfg);
}

static void
test_fcgi_and_listener(void **state)
{
	struct diags d;
	struct config *cfg;
	const struct proc_conf *pc;
	const struct group_conf *g;

	(void)state;
	cfg = load_ok(
	    "[fcgi-program:php]\n"
	    "command=/usr/bin/php-cgi\n"
	    "socket=unix:///run/php.sock\n"
	    "socket_owner=www-data:www-data\n"
	    "socket_mode=0660\n"
	    "socket_backlog=64\n"
	    "numprocs=2\n"
	    "process_name=php%(process_num)d\n"
	    "[eventlistener:mem]\n"
	    "command=/usr/bin/memmon\n"
	    "events=tick_60, PROCESS_STATE_EXITED,TICK_60\n"
	    "buffer_size=50\n"
	    "result_handler=supervisor.dispatchers:default_handler\n"
	    "[eventlistener:crash]\n"
	    "command=/usr/bin/crashmail\n"
	    "events=PROCESS_STATE\n"
	    "priority=5\n");
	g = config_find_group(cfg, "php");
	assert_non_null(g);
	assert_int_equal(g->kind, GROUP_FCGI);
	assert_int_equal(g->nprocs, 2);
	pc = g->procs[1];
	assert_true(pc->fcgi);
	assert_int_equal(pc->socket.kind, SOCK_UNIX);
	assert_string_equal(pc->socket.owner, "www-data:www-data");
	assert_int_equal(pc->socket.mode, 0660);
	assert_int_equal(pc->socket.backlog, 64);
	g = config_find_group(cfg, "mem");
	assert_non_null(g);
	assert_int_equal(g->kind, GROUP_EVENTLISTENER);
	assert_int_equal(g->priority, -1);
	pc = g->procs[0];
	assert_true(pc->listener);
	assert_true(pc->stdin_pipe);
	assert_int_equal(pc->priority, -1);
	assert_int_equal(pc->buffer_size, 50);
	assert_string_equal(pc->events[0], "TICK_60");
	assert_string_equal(pc->events[1], "PROCESS_STATE_EXITED");
	assert_null(pc->events[2]);
	/* supervisord logs a listener's stdout like a program's */
	assert_int_equal(pc->stdout_log.target, LOG_TARGET_FILE);
	pc = proc(cfg, "crash", 0);
	assert_int_equal(pc->priority, 5);
	assert_int_equal(pc->buffer_size, 10);
	assert_int_equal(cfg->groups[0]->kind, GROUP_EVENTLISTENER);
	config_free(cfg);

	/* in a [group:g], as supervisord allows; owner from user= */
	diags_init(&d);
	cfg = config_load(put("main.conf", "[group:g]\nprograms=f,p\n"
	    "[fcgi-program:f]\ncommand=/bin/f\nsocket=unix:///run/f.sock\n"
	    "user=nobody\n[program:p]\ncommand=/bin/p\n"
	    "socket=unix:///run/p.sock\nsocket_owner=root:nogroup\n"), 0, &d);
	if (cfg == NULL)
		dump(&d);
	assert_non_null(cfg);
	g = config_find_group(cfg, "g");
	assert_int_equal(g->kind, GROUP_PROGRAM);
	assert_int_equal(g->nprocs, 2);
	pc = strcmp(g->procs[0]->name, "f") == 0 ? g->procs[0] : g->procs[1];
	assert_true(pc->fcgi);
	assert_int_equal(pc->socket.uid, pc->uid);
	assert_true(pc->socket.uid != 0);
	pc = g->procs[pc == g->procs[0] ? 1 : 0];
	assert_false(pc->fcgi);
	assert_int_equal(pc->socket.uid, 0);
	assert_int_equal(pc->socket.gid, 65534);
	config_free(cfg);
	diags_free(&d);

	load_err("[fcgi-program:f]\ncommand=/bin/f\n", 1, "missing 'socket'");
	load_err("[fcgi-program:f]\ncommand=/bin/f\nsocket=tcp://h:1\n"
	    "socket_mode=0600\n", 4, "unix:// socket only");
	load_err("[eventlistener:e]\ncommand=/bin/e\n", 1, "missing 'events'");
	load_err("[eventlistener:e]\ncommand=/bin/e\nevents=TICK_7\n", 3,
	    "unknown event type TICK_7");
	load_err("[eventlistener:e]\ncommand=/bin/e\nevents=TICK_5\n"
	    "buffer_size=0\n", 4, "out of range");
	load_err("[eventlistener:e]\ncommand=/bin/e\nevents=TICK_5\n"
	    "redirect_stderr=true\n", 4, "event listener protocol");
	load_err("[program:x]\ncommand=/bin/x\n[eventlistener:x]\n"
	    "command=/bin/e\nevents=TICK_5\n", 3, "duplicate");
}

static void
test_inet_and_auth(void **state)
{
	struct diags d;
	struct config *cfg;

	(void)state;
	cfg = load_ok(
	    "[inet_http_server]\n"
	    "port=127.0.0.1:9001\n"
	    "username=user\n"
	    "password={SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d\n"
	    "[unix_http_server]\n"
	    "file=/tmp/s.sock\n"
	    "username=u2\n"
	    "password=p2\n"
	    "[superd]\n"
	    "state_file=/tmp/state.json\n");
	assert_string_equal(cfg->inet_host, "127.0.0.1");
	assert_int_equal(cfg->inet_port, 9001);
	assert_string_equal(cfg->inet_username, "user");
	assert_string_equal(cfg->inet_password,
	    "{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d");
	assert_string_equal(cfg->username, "u2");
	assert_string_equal(cfg->password, "p2");
	assert_string_equal(cfg->state_file, "/tmp/state.json");
	config_free(cfg);
	cfg = load_ok("[inet_http_server]\nport=:9001\npassword=x\n");
	assert_string_equal(cfg->inet_host, "*");
	assert_int_equal(cfg->inet_port, 9001);
	config_free(cfg);
	cfg = load_ok("[inet_http_server]\nport=9002\npassword=x\n");
	assert_string_equal(cfg->inet_host, "*");
	assert_int_equal(cfg->inet_port, 9002);
	config_free(cfg);
	cfg = load_ok("[inet_http_server]\nport=[::1]:9003\n");
	assert_string_equal(cfg->inet_host, "::1");
	config_free(cfg);
	cfg = load_ok("[superd]\n");
	assert_int_equal(cfg->inet_port, 0);
	assert_null(cfg->state_file);
	config_free(cfg);
	/* without a password, a non-loopback address warns */
	cfg = load_flags("[inet_http_server]\nport=*:9001\n",
	    CONFIG_NO_USERS, &d);
	assert_non_null(cfg);
	expect(&d, 2, true, "loopback addresses only, not on *");
	config_free(cfg);
	diags_free(&d);
	load_err("[inet_http_server]\nport=localhost:99999\n", 2, "bad port");
	load_err("[inet_http_server]\nport=x\n", 2, "bad port");
	load_err("[inet_http_server]\nusername=u\n", 1, "missing 'port'");
}

static void
test_state_file_warning(void **state)
{
	struct diags d;
	struct config *cfg;

	(void)state;
	cfg = load_flags("[superd]\nstate_file=/nonexistent/superd/s.json\n",
	    CONFIG_NO_USERS, &d);
	assert_non_null(cfg);
	expect(&d, 2, true, "directory /nonexistent/superd does not exist");
	config_free(cfg);
	diags_free(&d);
}

static void
test_user_groups(void **state)
{
	struct diags d;
	struct config *cfg;
	const struct proc_conf *pc;

	(void)state;
	diags_init(&d);
	cfg = config_load(put("main.conf", "[program:a]\ncommand=/bin/a\n"
	    "user=root\n"), 0, &d);
	if (cfg == NULL)
		dump(&d);
	assert_non_null(cfg);
	pc = proc(cfg, "a", 0);
	assert_int_equal(pc->uid, 0);
	assert_true(pc->ngroups >= 1);
	assert_non_null(pc->groups);
	assert_int_equal(pc->groups[0], pc->gid);
	config_free(cfg);
	diags_free(&d);
}

static void
test_command_error_once(void **state)
{
	struct diags d;
	struct config *cfg;

	(void)state;
	/* an expansion error in command= is the only message */
	cfg = load_flags("[program:a]\ncommand=/bin/%(ENV_SUPERD_NOPE_X)s\n",
	    CONFIG_NO_USERS, &d);
	assert_null(cfg);
	expect(&d, 2, false, "SUPERD_NOPE_X");
	assert_false(has(&d, 0, false, "missing 'command'"));
	assert_int_equal(d.n, 1);
	diags_free(&d);
	cfg = load_flags("[program:a]\ncommand=\"/bin/a\n",
	    CONFIG_NO_USERS, &d);
	assert_null(cfg);
	assert_false(has(&d, 0, false, "missing 'command'"));
	diags_free(&d);
	cfg = load_flags("[program:a]\nstderr_logfile_maxbytes=1500 KB\n"
	    "command=/bin/a\n", CONFIG_NO_USERS, &d);
	assert_non_null(cfg);
	assert_true(proc(cfg, "a", 0)->stderr_log.maxbytes == 1500 * 1024);
	config_free(cfg);
	diags_free(&d);
}

/* Warnings and errors come out in file and line order, whatever pass
 * found them. */
static void
test_diag_order(void **state)
{
	struct diags d;
	struct config *cfg;
	size_t i;

	(void)state;
	put("inc.ini", "[program:i]\ncommand=i\nbogus_i=1\n");
	cfg = load_flags(
	    "[program:a]\n"		/* 1 */
	    "command=a\n"
	    "frob=1\n"			/* 3 */
	    "[weird]\n"			/* 4 */
	    "[supervisord]\n"
	    "frob2=1\n"			/* 6 */
	    "[include]\n"
	    "files=inc.ini\n"
	    "[wild]\n",			/* 9 */
	    CONFIG_NO_USERS, &d);
	assert_non_null(cfg);
	assert_int_equal(d.n, 5);
	for (i = 1; i < 4; i++)
		assert_true(d.v[i - 1].line < d.v[i].line);
	assert_int_equal(d.v[0].line, 3);
	assert_int_equal(d.v[3].line, 9);
	assert_non_null(strstr(d.v[4].file, "inc.ini"));
	config_free(cfg);
	diags_free(&d);
}

/* Issue 9 defect 3: as root, files others could write are refused. */
static void
test_root_permissions(void **state)
{
	char path[PATH_MAX + 64], sub[PATH_MAX + 32], link[PATH_MAX + 64];
	struct diags d;
	struct config *cfg;

	(void)state;
	if (geteuid() != 0)
		skip();
	/* the clean case: 0644 files in a 0700 (mkdtemp) or 0755 dir */
	put("conf.d/ok.ini", "[program:ok]\ncommand=/bin/ok\n");
	diags_init(&d);
	cfg = config_load(put("main.conf", "[include]\nfiles=conf.d/*.ini\n"),
	    0, &d);
	if (cfg == NULL)
		dump(&d);
	assert_non_null(cfg);
	config_free(cfg);
	diags_free(&d);

	/* group-writable include */
	snprintf(path, sizeof(path), "%s/conf.d/ok.ini", tdir);
	assert_int_equal(chmod(path, 0664), 0);
	diags_init(&d);
	assert_null(config_load(put("main.conf", "[include]\n"
	    "files=conf.d/*.ini\n"), 0, &d));
	expect(&d, 2, false, "writable by group or others");
	expect(&d, 2, false, "chmod go-w");
	diags_free(&d);
	/* superctl (CONFIG_NO_USERS) runs nothing and does not check */
	diags_init(&d);
	cfg = config_load(put("main.conf", "[include]\nfiles=conf.d/*.ini\n"),
	    CONFIG_NO_USERS, &d);
	assert_non_null(cfg);
	config_free(cfg);
	diags_free(&d);
	assert_int_equal(chmod(path, 0644), 0);

	/* owned by another user, reached through a symlink */
	assert_int_equal(chown(path, 65534, 65534), 0);
	snprintf(link, sizeof(link), "%s/link.ini", tdir);
	assert_int_equal(symlink(path, link), 0);
	diags_init(&d);
	assert_null(config_load(put("main.conf", "[include]\n"
	    "files=link.ini\n"), 0, &d));
	expect(&d, 2, false, "owned by uid 65534");
	diags_free(&d);
	unlink(link);
	assert_int_equal(chown(path, 0, 0), 0);

	/* a world-writable directory, not sticky; then sticky */
	snprintf(sub, sizeof(sub), "%s/conf.d", tdir);
	assert_int_equal(chmod(sub, 0777), 0);
	diags_init(&d);
	assert_null(config_load(put("main.conf", "[include]\n"
	    "files=conf.d/*.ini\n"), 0, &d));
	expect(&d, 2, false, "its directory");
	diags_free(&d);
	assert_int_equal(chmod(sub, 01777), 0);
	diags_init(&d);
	cfg = config_load(put("main.conf", "[include]\nfiles=conf.d/*.ini\n"),
	    0, &d);
	assert_non_null(cfg);
	config_free(cfg);
	diags_free(&d);
	assert_int_equal(chmod(sub, 0755), 0);

	/* the main file itself: FILE: message */
	snprintf(path, sizeof(path), "%s/main.conf", tdir);
	assert_int_equal(chmod(path, 0666), 0);
	diags_init(&d);
	assert_null(config_load(path, 0, &d));
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].file, path);
	assert_non_null(strstr(d.v[0].message, "chmod go-w"));
	diags_free(&d);
	assert_int_equal(chmod(path, 0644), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_daemon_sections, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_supervisord_aliases, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_numprocs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expansions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_includes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_warnings, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_errors_lines, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stopasgroup_implies, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_values, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_targets, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_messy_real_configs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bom_empty_comments, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_long_lines, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_smuggling, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_limits, setup,
		    teardown),
		cmocka_unit_test(test_diags_format),
		cmocka_unit_test_setup_teardown(test_numprocs_error_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_part_two_keys, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_part_two_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_depends_cycle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_start_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fcgi_and_listener, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_inet_and_auth, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_state_file_warning, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_user_groups, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_command_error_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fifo_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_root_permissions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_diag_order, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
