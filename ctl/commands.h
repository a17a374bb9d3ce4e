/*
 * superctl's commands: one table (name, usage, help, argument count,
 * request builder, renderer, exit code) that also drives `help` and
 * shell completion.
 */
#ifndef SUPERD_COMMANDS_H
#define SUPERD_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

/* Exit codes of SPEC.md section 6. */
enum commands_exit {
	COMMANDS_EXIT_OK = 0,
	COMMANDS_EXIT_FAILURE = 1,
	COMMANDS_EXIT_USAGE = 2,
	COMMANDS_EXIT_NOT_RUNNING = 3,	/* status: something is down */
	COMMANDS_EXIT_NO_SUCH = 4,	/* no such process or group */
	COMMANDS_EXIT_UNAVAILABLE = 7	/* could not start/stop/signal,
					 * pid of a stopped process, or
					 * no daemon */
};

/* How one superctl invocation talks and prints. */
struct commands_ctx {
	const char *socket;	/* resolved control socket path */
	const char *host;	/* -H: this one host over ssh, else NULL */
	int	 timeout_ms;	/* connect/send/read timeout, <= 0: none */
	bool	 json;		/* --json: print results as JSON */
	bool	 raw;		/* --raw: no control-character scrubbing */
	bool	 tty;		/* stdout is a terminal */
	bool	 color;		/* colour the state column */
	bool	 interactive;	/* inside the superd> prompt */
	bool	 quit;		/* set by quit/exit at the prompt */
};

/* Run one command: argv[0] is its name. Returns an exit code. */
int	commands_run(struct commands_ctx *, int argc, char **argv);
/* The name of the i-th command shown by help (completion), or NULL past
 * the end. */
const char *commands_name(size_t i);
/* Whether -H with several hosts runs the command host by host, stopping
 * at the first failure (restart, reload), and whether it takes only one
 * host (fg, the prompt's commands do not count). */
bool	commands_rolling(const char *name);
bool	commands_one_host(const char *name);
/* The overview printed by `superctl -h` and `help`. */
void	commands_help(bool interactive);

#endif
