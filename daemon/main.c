/* superd: flags, config, the loop, exit. Everything else lives in its
 * module. */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "control.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "probe.h"
#include "process.h"
#include "reexec.h"
#include "signals.h"
#include "supervisor.h"

struct main_ctx {
	struct event_base *base;
	struct supervisor *sv;
	bool	 stopping;
};

static void __attribute__((noreturn))
main_usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: superd [-c FILE] [-n | -d] [-t | --check-config] "
	    "[--strict] [-l LEVEL]\n"
	    "              [--version] [-h]\n"
	    "  -c FILE   config file (else $SUPERD_CONFIG, else %s)\n"
	    "  -n        stay in the foreground (the default)\n"
	    "  -d        run in the background and write the pidfile\n"
	    "  -t        check the config, list the programs, exit\n"
	    "  --strict  treat config warnings as errors\n"
	    "  -l LEVEL  log level: error, warn, info, debug\n",
	    CONFIG_DEFAULT_PATH);
	exit(status);
}

/* Every diag as FILE:LINE: message on stderr. */
static void
main_print_diags(const struct diags *d)
{
	char buf[2048];
	size_t i;

	for (i = 0; i < d->n; i++) {
		diags_format(&d->v[i], buf, sizeof(buf));
		fprintf(stderr, "%s\n", buf);
	}
}

static struct config *
main_load(const char *path, int flags)
{
	struct diags d;
	struct config *cfg;

	diags_init(&d);
	cfg = config_load(path, flags, &d);
	main_print_diags(&d);
	diags_free(&d);
	return cfg;
}

/* One value on one line: a command written over continuation lines
 * keeps its newlines, shown as \n; other control bytes as \t, \r or
 * \xHH, and a backslash doubled so the line reads back unambiguously. */
static void
main_print_escaped(FILE *f, const char *s)
{
	const unsigned char *c;

	for (c = (const unsigned char *)s; *c != '\0'; c++) {
		if (*c == '\n')
			fputs("\\n", f);
		else if (*c == '\t')
			fputs("\\t", f);
		else if (*c == '\r')
			fputs("\\r", f);
		else if (*c == '\\')
			fputs("\\\\", f);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(f, "\\x%02x", *c);
		else
			fputc(*c, f);
	}
}

/* -t: one line per process, FULLNAME COMMAND. */
static int
main_check(const char *path, int flags)
{
	struct config *cfg;
	size_t i, j;
	char *fn;

	if ((cfg = main_load(path, flags)) == NULL)
		return 1;
	for (i = 0; i < cfg->ngroups; i++) {
		for (j = 0; j < cfg->groups[i]->nprocs; j++) {
			const struct proc_conf *pc = cfg->groups[i]->procs[j];

			fn = process_make_fullname(cfg->groups[i], pc);
			printf("%s ", fn != NULL ? fn : pc->name);
			main_print_escaped(stdout, pc->command);
			putchar('\n');
			free(fn);
		}
	}
	config_free(cfg);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* fds 0-2 always exist (so no pipe of ours lands there); everything else
 * inherited is close-on-exec and never reaches a program. */
static void
main_sanitize_fds(void)
{
	int fd, max = 1024;
	struct rlimit rl;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
			int n = open("/dev/null", O_RDWR);

			if (n != -1 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
	}
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536)
		max = (int)rl.rlim_cur;
	for (fd = 3; fd < max; fd++) {
		int fl = fcntl(fd, F_GETFD);

		if (fl != -1)
			(void)fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	}
}

static void
main_minfds(long want)
{
	struct rlimit rl;

	if (want <= 0 || getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur >= (rlim_t)want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY &&
	    rl.rlim_max < (rlim_t)want ? rl.rlim_max : (rlim_t)want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_syserr("cannot raise the open files limit to %ld", want);
	else if (rl.rlim_cur < (rlim_t)want)
		log_warn("open files limit is %llu, below minfds=%ld",
		    (unsigned long long)rl.rlim_cur, want);
}

/*
 * -d: fork twice, the daemon in its own session in /. The first parent
 * waits on a pipe until the daemon says it is up (1 byte) or dies (EOF),
 * so `superd -d` exits non-zero when startup fails.
 */
static int
main_daemonize(void)
{
	int p[2], devnull;
	pid_t pid;
	char c;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n == -1 && errno == EINTR);
		_exit(n == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() == -1)
		fatal("setsid");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		close(devnull);
	}
	return p[1];
}

/* Write the pidfile atomically: a temp file beside it, then rename. */
static int
main_write_pidfile(const char *path)
{
	char tmp[PATH_MAX], buf[32];
	int fd, len;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd == -1)
		return -1;
	len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)len) != len || fchmod(fd, 0644) == -1 ||
	    close(fd) == -1) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void
main_on_stopped(void *arg)
{
	struct main_ctx *m = arg;

	event_base_loopbreak(m->base);
}

/* TERM/INT/QUIT and daemon.shutdown: an orderly shutdown, once. */
static void
main_on_shutdown(void *arg)
{
	struct main_ctx *m = arg;

	if (m->stopping)
		return;
	m->stopping = true;
	notify_send("STOPPING=1");
	supervisor_shutdown(m->sv, main_on_stopped, m);
}

/* The supervisor's processes, for notify's STATUS= counts. */
static struct process *const *
main_processes(const void *sv, size_t *n)
{
	return supervisor_processes(sv, n);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "check-config", no_argument, NULL, 't' },
		{ "strict", no_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		/* Given by superd to itself only (reexec.c). */
		{ "reexec-state", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	struct main_ctx m;
	struct control_opts copts;
	struct control *ctl;
	struct http_opts hopts;
	struct http *http;
	struct signals *sigs;
	struct event_config *ecfg;
	struct config *cfg;
	const struct config *live;
	const char *path = NULL, *sock;
	int ch, level = -1, flags = 0, ready_fd = -1, state_fd = -1;
	json_t *state = NULL;
	bool check = false, daemonize = false, pidfile_written = false;
	char *pidfile = NULL;

	log_init(LOG_LEVEL_INFO);
	/* superctl maintail reads what superd logged (daemon.tail). */
	log_ring_enable();
	reexec_init(argc, argv);
	while ((ch = getopt_long(argc, argv, "c:ndtl:hv", longopts, NULL))
	    != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			daemonize = false;
			break;
		case 'd':
			daemonize = true;
			break;
		case 't':
			check = true;
			break;
		case 'S':
			flags |= CONFIG_STRICT;
			break;
		case 'l':
			if ((level = log_level_parse(optarg)) == -1) {
				fprintf(stderr, "superd: bad log level: %s\n",
				    optarg);
				main_usage(2);
			}
			break;
		case 'v':
		case 'V':
			printf("superd %s\n", SUPERD_VERSION);
			return 0;
		case 'R':
			state_fd = atoi(optarg);
			if (state_fd < 3)
				main_usage(2);
			break;
		case 'h':
			main_usage(0);
		default:
			main_usage(2);
		}
	}
	if (optind != argc)
		main_usage(2);
	if (path == NULL && (path = getenv("SUPERD_CONFIG")) == NULL)
		path = CONFIG_DEFAULT_PATH;
	if (check)
		return main_check(path, flags);

	main_sanitize_fds();
	if ((cfg = main_load(path, flags)) == NULL)
		return 1;
	log_set_level(level != -1 ? (enum log_level)level
				  : (enum log_level)cfg->loglevel);
	if (cfg->logfile != NULL && log_open_file(cfg->logfile) == -1)
		fatal("cannot open log file %s", cfg->logfile);
	/* Children inherit this umask unless their umask= says otherwise. */
	if (cfg->umask >= 0)
		umask((mode_t)cfg->umask);
	main_minfds(cfg->minfds);
	/* A reexec'd image is the daemon already: same pid, same session. */
	if (daemonize && state_fd == -1)
		ready_fd = main_daemonize();
	if (state_fd != -1) {
		if ((state = reexec_load(state_fd)) != NULL)
			reexec_restore_early(state);
		else
			reexec_orphans_early(cfg);
	}
	(void)notify_init();
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_syserr("cannot become a child subreaper");

	ecfg = event_config_new();
	if (ecfg != NULL)
		event_config_set_flag(ecfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	m.base = ecfg != NULL ? event_base_new_with_config(ecfg) : NULL;
	event_config_free(ecfg);
	if (m.base == NULL)
		fatalx("cannot create the event loop");
	m.stopping = false;
	if ((m.sv = supervisor_new(m.base, cfg, cfg->path != NULL ? cfg->path
	    : path)) == NULL)
		fatalx("cannot set up the programs (see the message above, "
		    "or out of memory)");
	cfg = NULL;	/* the supervisor owns it */
	if ((sigs = signals_new(m.base, m.sv, main_on_shutdown, &m)) == NULL)
		fatalx("cannot install signal handlers");

	/* supervisord's HTTP face: the socket's HTTP connections and
	 * [inet_http_server] (SPEC section 11). */
	live = supervisor_config(m.sv);
	sock = live->socket != NULL ? live->socket : CONFIG_DEFAULT_SOCKET;
	memset(&hopts, 0, sizeof(hopts));
	hopts.sup = m.sv;
	hopts.socket = sock;
	hopts.config_path = live->path;
	hopts.unix_username = live->username;
	hopts.unix_password = live->password;
	hopts.inet_host = live->inet_host;
	hopts.inet_port = live->inet_port;
	hopts.inet_username = live->inet_username;
	hopts.inet_password = live->inet_password;
	hopts.on_shutdown = main_on_shutdown;
	hopts.arg = &m;
	if ((http = http_new(m.base, &hopts)) == NULL && state_fd != -1)
		log_error("reexec: carrying on without the HTTP listener");
	else if (http == NULL) {
		signals_free(sigs);
		supervisor_free(m.sv);
		event_base_free(m.base);
		return 1;
	}

	memset(&copts, 0, sizeof(copts));
	copts.socket = sock;
	copts.mode = live->socket_mode;
	copts.owner = live->socket_owner;
	copts.readonly_group = live->readonly_group;
	copts.config_path = live->path;
	copts.on_shutdown = main_on_shutdown;
	copts.arg = &m;
	copts.on_http = http != NULL ? http_adopt_unix : NULL;
	copts.http_arg = http;
	if ((ctl = control_new(m.base, m.sv, &copts)) == NULL &&
	    state_fd != -1) {
		/* Re-executed: the programs are ours; going away would
		 * lose them. Without a control socket, TERM still works. */
		log_error("reexec: carrying on without a control socket");
	} else if (ctl == NULL) {
		/* control_new() said why (another superd...). */
		http_free(http);
		signals_free(sigs);
		supervisor_free(m.sv);
		event_base_free(m.base);
		return 1;
	}
	if (live->pidfile != NULL) {
		if ((pidfile = strdup(live->pidfile)) == NULL)
			fatalx("out of memory");
		if (main_write_pidfile(pidfile) == -1)
			log_syserr("cannot write pidfile %s", pidfile);
		else
			pidfile_written = true;
	}
	reexec_attach(m.sv, ctl, http);
	if (state_fd != -1) {
		log_info("superd %s re-executed (pid %d)", SUPERD_VERSION,
		    (int)getpid());
		/* The registry was built without spawning: adopt. */
		if (state != NULL)
			reexec_restore(m.sv, state);
		else
			reexec_adopt_orphans(m.sv);
		json_decref(state);
		state = NULL;
	} else {
		log_info("superd %s started (pid %d)", SUPERD_VERSION,
		    (int)getpid());
		supervisor_autostart(m.sv);
	}
	notify_send("READY=1");
	(void)notify_watchdog_start(m.base);
	(void)notify_status_start(m.base, main_processes, m.sv);
	if (ready_fd != -1) {
		if (write(ready_fd, "1", 1) != 1)
			log_syserr("cannot tell the parent we are up");
		close(ready_fd);
	}

	event_base_dispatch(m.base);

	log_info("superd exiting");
	control_free(ctl);
	http_free(http);
	signals_free(sigs);
	supervisor_free(m.sv);
	probe_dns_free();
	notify_free();
	if (pidfile_written)
		(void)unlink(pidfile);
	free(pidfile);
	event_base_free(m.base);
	return 0;
}
