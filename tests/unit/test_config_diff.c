/* Unit tests for common/config_diff.c: what a reread would change. */
#include <sys/stat.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char tdir[PATH_MAX];

static int
setup(void **state)
{
	(void)state;
	snprintf(tdir, sizeof(tdir), "/tmp/superd-test-diff-XXXXXX");
	return mkdtemp(tdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	snprintf(path, sizeof(path), "%s/main.conf", tdir);
	unlink(path);
	return rmdir(tdir);
}

static struct config *
load(const char *body)
{
	char path[PATH_MAX + 32];
	struct config *cfg;
	struct diags d;
	FILE *f;

	snprintf(path, sizeof(path), "%s/main.conf", tdir);
	assert_non_null(f = fopen(path, "w"));
	fputs(body, f);
	fclose(f);
	diags_init(&d);
	cfg = config_load(path, CONFIG_NO_USERS, &d);
	assert_non_null(cfg);
	diags_free(&d);
	return cfg;
}

static void
assert_list(char **v, size_t n, const char *want)
{
	char buf[512] = "";
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(buf, " ");
		strcat(buf, v[i]);
	}
	assert_string_equal(buf, want);
}

static const char base[] =
    "[program:web]\ncommand=/bin/web\n"
    "[program:db]\ncommand=/bin/db\n"
    "[program:a]\ncommand=a\n[program:b]\ncommand=b\n"
    "[group:g]\nprograms=a,b\n"
    "[program:gone]\ncommand=gone\n"
    "[program:zgone]\ncommand=gone\n";

static void
test_diff_groups(void **state)
{
	struct config *o, *n;
	struct config_diff d;

	(void)state;
	o = load(base);
	n = load(
	    "; a comment moves every line: not a change\n\n"
	    "[program:db]\ncommand=/bin/db\n"
	    "[program:web]\ncommand=/bin/web --new\n"
	    "[program:a]\ncommand=a\n[program:b]\ncommand=b\n"
	    "[group:g]\nprograms=a,b\npriority=1\n"
	    "[program:new2]\ncommand=n\n"
	    "[program:new1]\ncommand=n\n");
	config_diff(o, n, &d);
	assert_list(d.added, d.nadded, "new1 new2");
	assert_list(d.changed, d.nchanged, "g web");
	assert_list(d.removed, d.nremoved, "gone zgone");
	config_diff_free(&d);

	config_diff(NULL, n, &d);
	assert_int_equal(d.nadded, n->ngroups);
	assert_int_equal(d.nchanged + d.nremoved, 0);
	config_diff_free(&d);

	config_diff(o, o, &d);
	assert_int_equal(d.nadded + d.nchanged + d.nremoved, 0);
	config_diff_free(&d);
	config_diff_free(NULL);
	config_free(o);
	config_free(n);
}

static void
test_diff_each_field(void **state)
{
	/* every one of these lines changes the program */
	static const char *changes[] = {
		"priority=1", "autostart=false", "autorestart=true",
		"startsecs=2", "startretries=4", "exitcodes=0,1",
		"stopsignal=INT", "stopwaitsecs=3", "stopasgroup=true",
		"killasgroup=true", "user=nobody", "directory=/tmp",
		"umask=077", "environment=A=1", "redirect_stderr=true",
		"stdout_logfile=/x.log", "stdout_logfile_maxbytes=1KB",
		"stdout_logfile_backups=1", "stdout_logfile_timestamps=true",
		"stderr_logfile=NONE", "stderr_logfile_maxbytes=0",
		"stderr_logfile_backups=2", "stderr_logfile_timestamps=true",
		"stdin=pipe", "description=x", "command=/bin/p  x",
		"process_name=q",
		/* SPEC part two */
		"oom_score_adj=5", "socket=tcp://127.0.0.1:1",
		"socket=unix:///a.sock",
		"socket=unix:///a.sock\nsocket_mode=0600",
		"socket=unix:///a.sock\nsocket_owner=x",
		"socket_backlog=5", "reload_signal=HUP", "ready=notify",
		"ready=tcp://h:1", "ready=http://h:1/x", "ready=exec:/bin/r",
		"ready_timeout=9", "health=tcp://h:2", "health_interval=3",
		"health_timeout=2", "health_retries=9",
		"depends_on=q\n[program:q]\ncommand=q", "backoff=exponential",
		"backoff_max=9", "backoff_reset=9",
		"stdout_events_enabled=true", "stderr_events_enabled=true",
	};
	struct config *o, *n, *o2;
	char body[256];
	size_t i;

	(void)state;
	o = load("[program:p]\ncommand=/bin/p x\n");
	for (i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		snprintf(body, sizeof(body), "[program:p]\ncommand=/bin/p x\n"
		    "%s\n", changes[i]);
		n = load(body);
		if (proc_conf_equal(o->groups[0]->procs[0],
		    n->groups[0]->procs[0]))
			fail_msg("'%s' is not seen as a change", changes[i]);
		assert_false(group_conf_equal(o->groups[0], n->groups[0]));
		config_free(n);
	}
	/* the same program as an event listener */
	n = load("[eventlistener:p]\ncommand=/bin/p x\nevents=TICK_5\n"
	    "priority=999\nstdin=pipe\n");
	assert_false(group_conf_equal(o->groups[0], n->groups[0]));
	config_free(n);
	n = load("[eventlistener:p]\ncommand=/bin/p x\nevents=TICK_5\n");
	o2 = load("[eventlistener:p]\ncommand=/bin/p x\nevents=TICK_60\n");
	assert_false(proc_conf_equal(o2->groups[0]->procs[0],
	    n->groups[0]->procs[0]));
	config_free(o2);
	o2 = load("[eventlistener:p]\ncommand=/bin/p x\nevents=TICK_5\n"
	    "buffer_size=3\n");
	assert_false(proc_conf_equal(o2->groups[0]->procs[0],
	    n->groups[0]->procs[0]));
	config_free(o2);
	config_free(n);
	n = load("\n\n[program:p]\n  ; moved\ncommand = /bin/p x\n");
	assert_true(proc_conf_equal(o->groups[0]->procs[0],
	    n->groups[0]->procs[0]));
	assert_true(group_conf_equal(o->groups[0], n->groups[0]));
	config_free(n);
	n = load("[program:p]\ncommand=/bin/p x\nnumprocs=2\n"
	    "process_name=p%(process_num)d\n");
	assert_false(group_conf_equal(o->groups[0], n->groups[0]));
	config_free(n);
	config_free(o);
}

static void
test_restart_needed(void **state)
{
	struct config *o, *n;
	const char *keys[8];
	size_t k;

	(void)state;
	o = load("[program:p]\ncommand=p\n");
	n = load("[program:p]\ncommand=other\n[superd]\nloglevel=debug\n");
	assert_int_equal(config_restart_needed(o, n, keys, 8), 0);
	config_free(n);
	n = load("[control]\nsocket=/tmp/x.sock\nsocket_mode=0770\n"
	    "socket_owner=root\n[superd]\npidfile=/run/x.pid\n"
	    "identifier=other\nminfds=2048\n");
	k = config_restart_needed(o, n, keys, 8);
	assert_int_equal(k, 6);
	assert_string_equal(keys[0], "socket");
	assert_string_equal(keys[1], "socket_mode");
	assert_string_equal(keys[2], "socket_owner");
	assert_string_equal(keys[3], "pidfile");
	assert_string_equal(keys[4], "identifier");
	assert_string_equal(keys[5], "minfds");
	assert_int_equal(config_restart_needed(o, n, keys, 2), 6);
	config_free(n);
	n = load("[inet_http_server]\nport=9001\nusername=u\npassword=p\n");
	k = config_restart_needed(o, n, keys, 8);
	assert_int_equal(k, 3);
	assert_string_equal(keys[0], "[inet_http_server] port");
	assert_string_equal(keys[1], "[inet_http_server] username");
	assert_string_equal(keys[2], "[inet_http_server] password");
	config_free(n);
	config_free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_diff_groups, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_diff_each_field, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restart_needed, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
