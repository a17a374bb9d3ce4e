/*
 * superctl: flags, finding the control socket, and the superd> prompt.
 * The commands themselves live in commands.c.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>


#include "client.h"
#include "commands.h"
#include "config.h"
#include "remote.h"
#include "values.h"

#define CTL_PROMPT	  "superd> "

/* What a quick scan of the main config file found. */
struct ctl_scan {
	char	*ctl_socket;	/* [superctl] socket, [supervisorctl] serverurl */
	char	*socket;	/* [control] socket, [unix_http_server] file */
};

static void
ctl_on_signal(int sig)
{
	(void)sig;
	client_interrupted = 1;
}

static char *
ctl_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* A value as supervisord reads it: a ';' after whitespace starts a
 * comment; %(here)s and %(ENV_X)s are expanded. NULL when unusable. */
static char *
ctl_scan_value(char *value, const char *here)
{
	struct values_expand ex;
	char err[256], *p;

	for (p = value; *p != '\0'; p++) {
		if (*p == ';' && p > value && isspace((unsigned char)p[-1])) {
			*p = '\0';
			break;
		}
	}
	value = ctl_trim(value);
	memset(&ex, 0, sizeof(ex));
	ex.here = here;
	ex.process_num = -1;
	ex.numprocs = -1;
	return values_expand(value, &ex, err, sizeof(err));
}

static void
ctl_scan_set(char **slot, char *value)
{
	if (value == NULL)
		return;
	free(*slot);
	*slot = value;
}

/* The whole file at path, NUL-terminated, malloc'd; NULL with errno. */
static char *
ctl_read_file(const char *path, size_t *len)
{
	struct stat st;
	size_t cap, n = 0;
	ssize_t got;
	char *buf, *p;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	cap = fstat(fd, &st) == 0 && st.st_size > 0 &&
	    (unsigned long long)st.st_size < SIZE_MAX / 2 ?
	    (size_t)st.st_size + 1 : 65536;
	if ((buf = malloc(cap + 1)) == NULL)
		goto fail;
	for (;;) {
		if (n == cap) {
			if (cap > SIZE_MAX / 4 ||
			    (p = realloc(buf, cap * 2 + 1)) == NULL)
				goto fail;
			buf = p;
			cap *= 2;
		}
		got = read(fd, buf + n, cap - n);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1)
			goto fail;
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	free(buf);
	n = (size_t)errno;
	close(fd);
	errno = (int)n;
	return NULL;
}

/* The sections whose keys name the socket; the order of the names in
 * ctl_scan_section(). */
enum ctl_section {
	CTL_SECTION_NONE,
	CTL_SECTION_SUPERCTL,
	CTL_SECTION_SUPERVISORCTL,
	CTL_SECTION_CONTROL,
	CTL_SECTION_UNIX_HTTP
};

/* Which of the sections superctl reads is [name] (n bytes), if any. */
static enum ctl_section
ctl_scan_section(const char *name, size_t n)
{
	static const char *const wanted[] = { "superctl", "supervisorctl",
	    "control", "unix_http_server" };
	size_t i;

	for (i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		if (strlen(wanted[i]) == n &&
		    strncasecmp(name, wanted[i], n) == 0)
			return (enum ctl_section)(i + 1);
	return CTL_SECTION_NONE;
}

/*
 * Find the socket keys in the main config file alone, line by line (any
 * line length). This is what superctl needs, and it works on a file that
 * the full loader refuses (a broken program section must not keep
 * `superctl update` from reaching the daemon to hear about it). 0, or -1
 * with errno when the file cannot be read. The file is read at once and
 * the lines of other sections (thousands of [program:x]) only skipped.
 */
static int
ctl_scan_config(const char *path, struct ctl_scan *scan)
{
	enum ctl_section section = CTL_SECTION_NONE;
	char here[PATH_MAX], *copy, *text, *line, *next, *s, *eq, *key;
	char *value;
	size_t len;

	if ((text = ctl_read_file(path, &len)) == NULL)
		return -1;
	copy = strdup(path);
	if (copy == NULL || realpath(dirname(copy), here) == NULL)
		snprintf(here, sizeof(here), ".");
	free(copy);
	for (line = text; line < text + len; line = next) {
		next = memchr(line, '\n', (size_t)(text + len - line));
		if (next == NULL)
			next = text + len;
		else
			*next++ = '\0';
		/* Most lines belong to [program:x]: skip them cheaply. */
		if (section == CTL_SECTION_NONE && line[0] != '[' && line[0] != ' ' &&
		    line[0] != '\t')
			continue;
		s = ctl_trim(line);
		if (*s == '[') {
			s = ctl_trim(s + 1);
			eq = strchr(s, ']');
			if (eq != NULL)
				*eq = '\0';
			s = ctl_trim(s);
			section = ctl_scan_section(s, strlen(s));
			continue;
		}
		if (section == CTL_SECTION_NONE || *s == ';' || *s == '#' ||
		    (eq = strpbrk(s, "=:")) == NULL)
			continue;
		*eq = '\0';
		key = ctl_trim(s);
		value = eq + 1;
		if (section == CTL_SECTION_SUPERCTL && strcmp(key, "socket") == 0)
			ctl_scan_set(&scan->ctl_socket, ctl_scan_value(value,
			    here));
		else if (section == CTL_SECTION_SUPERVISORCTL &&
		    strcmp(key, "serverurl") == 0) {
			value = ctl_trim(value);
			if (strncmp(value, "unix://", 7) == 0)
				ctl_scan_set(&scan->ctl_socket,
				    ctl_scan_value(value + 7, here));
		} else if ((section == CTL_SECTION_CONTROL && strcmp(key, "socket") == 0) ||
		    (section == CTL_SECTION_UNIX_HTTP && strcmp(key, "file") == 0))
			ctl_scan_set(&scan->socket, ctl_scan_value(value,
			    here));
	}
	free(text);
	return 0;
}

/* The socket named by the full config (with includes), or NULL. */
static char *
ctl_config_socket(const char *path)
{
	struct diags diags;
	struct config *cfg;
	char *sock = NULL;

	diags_init(&diags);
	cfg = config_load(path, CONFIG_NO_USERS, &diags);
	if (cfg != NULL) {
		if (cfg->ctl_socket != NULL)
			sock = strdup(cfg->ctl_socket);
		else if (cfg->socket != NULL)
			sock = strdup(cfg->socket);
	}
	config_free(cfg);
	diags_free(&diags);
	return sock;
}

/*
 * The control socket, as SPEC.md section 6 says: -s, $SUPERD_SOCKET, the
 * config's [superctl] then [control] socket, the default. A config named
 * with -c or $SUPERD_CONFIG that cannot be read is reported; the default
 * one may be missing silently. Returns a new string.
 */
static char *
ctl_find_socket(const char *opt_socket, const char *opt_config)
{
	struct ctl_scan scan = { NULL, NULL };
	const char *path, *env;
	char *sock = NULL;
	bool named = true;

	if (opt_socket != NULL)
		return strdup(opt_socket);
	env = getenv("SUPERD_SOCKET");
	if (env != NULL && *env != '\0')
		return strdup(env);
	path = opt_config;
	if (path == NULL && (env = getenv("SUPERD_CONFIG")) != NULL &&
	    *env != '\0')
		path = env;
	if (path == NULL) {
		path = CONFIG_DEFAULT_PATH;
		named = false;
	}
	if (ctl_scan_config(path, &scan) == -1) {
		if (named)
			fprintf(stderr, "superctl: cannot read config %s: %s "
			    "(using %s)\n", path, strerror(errno),
			    CONFIG_DEFAULT_SOCKET);
		return strdup(CONFIG_DEFAULT_SOCKET);
	}
	/*
	 * [superctl] in the main file settles it. Otherwise an included
	 * file might still hold one, which only the full loader knows.
	 */
	if (scan.ctl_socket != NULL) {
		free(scan.socket);
		return scan.ctl_socket;
	}
	sock = ctl_config_socket(path);
	if (sock == NULL)
		sock = scan.socket;
	else
		free(scan.socket);
	return sock != NULL ? sock : strdup(CONFIG_DEFAULT_SOCKET);
}

/*
 * libedit gives the prompt line editing and history when Debian's
 * libedit2 is installed. It is loaded only here: linked in, it and the
 * terminal libraries it pulls cost every one-shot command about a
 * millisecond of dynamic linking.
 */
static char *(*ctl_readline)(const char *);
static int (*ctl_add_history)(const char *);

static void
ctl_load_libedit(void)
{
	void *h = dlopen("libedit.so.2", RTLD_NOW | RTLD_LOCAL);

	if (h == NULL)
		return;
	*(void **)&ctl_readline = dlsym(h, "readline");
	*(void **)&ctl_add_history = dlsym(h, "add_history");
	if (ctl_readline == NULL || ctl_add_history == NULL)
		ctl_readline = NULL;
}

/* Read one command line: libedit on a terminal when it is there. */
static char *
ctl_read_line(bool tty)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (tty && ctl_readline != NULL)
		return ctl_readline(CTL_PROMPT);
	if (tty) {
		fputs(CTL_PROMPT, stdout);
		fflush(stdout);
	}
	n = getline(&line, &cap, stdin);
	if (n == -1) {
		free(line);
		return NULL;
	}
	if (n > 0 && line[n - 1] == '\n')
		line[n - 1] = '\0';
	return line;
}

/*
 * The superd> prompt (stdin a terminal), or commands read line by line
 * from stdin. Like supervisorctl it runs `status` first on a terminal
 * and always exits 0.
 */
static int
ctl_shell(struct commands_ctx *ctx)
{
	char status_word[] = "status";
	char *status[] = { status_word, NULL };
	bool tty = isatty(STDIN_FILENO);
	char **words, err[256], *line, *s;

	ctx->interactive = true;
	if (tty) {
		ctl_load_libedit();
		commands_run(ctx, 1, status);
	}
	while (!ctx->quit) {
		client_interrupted = 0;
		line = ctl_read_line(tty);
		if (line == NULL && tty && client_interrupted) {
			/* ^C drops the line being typed, as in a shell */
			fputc('\n', stdout);
			clearerr(stdin);
			continue;
		}
		if (line == NULL) {
			if (tty)
				fputc('\n', stdout);
			break;
		}
		s = ctl_trim(line);
		if (*s == '\0' || *s == '#') {
			free(line);
			continue;
		}
		if (tty && ctl_readline != NULL)
			ctl_add_history(s);
		if (values_split_command(s, &words, err, sizeof(err)) == -1)
			fprintf(stderr, "superctl: %s\n", err);
		else {
			commands_run(ctx, (int)values_strv_len(words), words);
			values_strv_free(words);
		}
		fflush(stdout);
		free(line);
	}
	return COMMANDS_EXIT_OK;
}

/* The -H hosts: repeated, comma lists, or $SUPERD_HOST. */
struct ctl_hosts {
	char	**v;
	size_t	 n;
};

/* Add the hosts of a comma list; -1 after reporting a bad one. */
static int
ctl_hosts_add(struct ctl_hosts *h, const char *list)
{
	char *copy, *tok, *save = NULL, err[600], **v;

	if ((copy = strdup(list)) == NULL)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		tok = ctl_trim(tok);
		if (*tok == '\0')
			continue;
		if (remote_check_host(tok, err, sizeof(err)) == -1) {
			fprintf(stderr, "superctl: %s\n", err);
			free(copy);
			return -1;
		}
		v = realloc(h->v, (h->n + 2) * sizeof(*v));
		if (v == NULL || (v[h->n] = strdup(tok)) == NULL) {
			if (v != NULL)
				h->v = v;
			free(copy);
			return -1;
		}
		h->v = v;
		h->v[++h->n] = NULL;
	}
	free(copy);
	return 0;
}

static void
ctl_hosts_free(struct ctl_hosts *h)
{
	size_t i;

	/* to the NULL: _complete may have lowered n */
	for (i = 0; h->v != NULL && h->v[i] != NULL; i++)
		free(h->v[i]);
	free(h->v);
}

/* One host's share of a several-host run, in a child of its own. */
struct ctl_each {
	struct commands_ctx *ctx;
	int	 argc;
	char   **argv;
};

static int
ctl_each_host(void *arg, const char *host)
{
	struct ctl_each *each = arg;

	each->ctx->host = host;
	return commands_run(each->ctx, each->argc, each->argv);
}

static void
ctl_usage(void)
{
	fprintf(stderr, "usage: superctl [-c FILE] [-s SOCKET] [-t SECONDS] "
	    "[-H [USER@]HOST[:PORT]]... [--json] [--raw] COMMAND [ARGS...]\n"
	    "       superctl help   (the commands)\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "raw", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "host", required_argument, NULL, 'H' },
		{ "dial", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 }
	};
	struct commands_ctx ctx;
	struct ctl_hosts hosts = { NULL, 0 };
	struct ctl_each each;
	struct sigaction sa;
	bool dial = false;
	const char *opt_config = NULL, *opt_socket = NULL, *term;
	char *sock, *end;
	double secs;
	int ch, i, n, rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.timeout_ms = CLIENT_DEFAULT_TIMEOUT;
	while ((ch = getopt_long(argc, argv, "+c:s:t:H:jrhV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			opt_config = optarg;
			break;
		case 's':
			opt_socket = optarg;
			break;
		case 't':
			errno = 0;
			secs = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    secs < 0 || secs > 86400) {
				fprintf(stderr, "superctl: bad timeout '%s' "
				    "(seconds, 0 for none)\n", optarg);
				return COMMANDS_EXIT_USAGE;
			}
			ctx.timeout_ms = (int)(secs * 1000);
			if (secs > 0 && ctx.timeout_ms == 0)
				ctx.timeout_ms = 1;
			break;
		case 'j':
			ctx.json = true;
			break;
		case 'r':
			ctx.raw = true;
			break;
		case 'h':
			commands_help(false);
			return COMMANDS_EXIT_OK;
		case 'V':
			printf("superctl %s\n", SUPERD_VERSION);
			return COMMANDS_EXIT_OK;
		case 'H':
			if (ctl_hosts_add(&hosts, optarg) == -1) {
				ctl_hosts_free(&hosts);
				return COMMANDS_EXIT_USAGE;
			}
			break;
		case 'D':
			dial = true;
			break;
		default:
			ctl_usage();
			return COMMANDS_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	/* --json and --raw are also taken after the command. */
	for (i = 0, n = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			ctx.json = true;
		else if (strcmp(argv[i], "--raw") == 0)
			ctx.raw = true;
		else
			argv[n++] = argv[i];
	}
	argc = n;
	argv[argc] = NULL;

	ctx.tty = isatty(STDOUT_FILENO);
	term = getenv("TERM");
	ctx.color = ctx.tty && !ctx.json && getenv("NO_COLOR") == NULL &&
	    (term == NULL || strcmp(term, "dumb") != 0);

	/* SIGINT ends tail -f and events cleanly (exit 0); no SA_RESTART so
	 * that poll(2) returns. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ctl_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);

	/* A pipe to ssh that closed is an error to report, not a death. */
	signal(SIGPIPE, SIG_IGN);

	if (argc > 0 && (strcmp(argv[0], "help") == 0 ||
	    strcmp(argv[0], "_commands") == 0)) {
		ctl_hosts_free(&hosts);
		ctx.socket = CONFIG_DEFAULT_SOCKET;
		return commands_run(&ctx, argc, argv);
	}
	if (!dial && hosts.n == 0 && (term = getenv(REMOTE_HOST_ENV)) != NULL &&
	    ctl_hosts_add(&hosts, term) == -1) {
		ctl_hosts_free(&hosts);
		return COMMANDS_EXIT_USAGE;
	}
	if (dial && (argc > 0 || hosts.n > 0)) {
		fprintf(stderr, "superctl: --dial takes no command and no -H\n");
		ctl_hosts_free(&hosts);
		return COMMANDS_EXIT_USAGE;
	}
	/* -H: the far side finds its own socket; -c and -s stay here. */
	sock = hosts.n > 0 ? strdup("") : ctl_find_socket(opt_socket,
	    opt_config);
	if (sock == NULL) {
		fprintf(stderr, "superctl: out of memory\n");
		ctl_hosts_free(&hosts);
		return COMMANDS_EXIT_FAILURE;
	}
	ctx.socket = sock;
	/* Completion offers the names of the first host, unprefixed. */
	if (hosts.n > 1 && argc > 0 && strcmp(argv[0], "_complete") == 0)
		hosts.n = 1;
	if (dial)
		rc = remote_dial(sock);
	else if (hosts.n > 1 && (argc == 0 || commands_one_host(argv[0]))) {
		fprintf(stderr, "superctl: %s takes one host, not %zu\n",
		    argc == 0 ? "the prompt" : argv[0], hosts.n);
		rc = COMMANDS_EXIT_USAGE;
	} else if (hosts.n > 1) {
		each.ctx = &ctx;
		each.argc = argc;
		each.argv = argv;
		rc = remote_each(hosts.v, hosts.n, commands_rolling(argv[0]),
		    ctl_each_host, &each);
	} else {
		ctx.host = hosts.n == 1 ? hosts.v[0] : NULL;
		rc = argc == 0 ? ctl_shell(&ctx) : commands_run(&ctx, argc,
		    argv);
	}
	ctl_hosts_free(&hosts);
	free(sock);
	return rc;
}
