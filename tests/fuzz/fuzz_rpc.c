/*
 * libFuzzer harness for the whole request path: bytes go into a real
 * control client (newline framing, 1 MiB cap, parse, role check, method
 * table, param checks, handlers, streams) over a socketpair. The engine
 * underneath is a fake with three processes that records what is asked
 * of it: a read-only or unprivileged client reaching any call that
 * changes something is a crash (RELIABILITY.md R03).
 *
 * The first input byte picks the role, the rest is what the client says.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define METHODS_INTERNAL
#include "config.h"
#include "control.h"
#include "events.h"
#include "methods.h"
#include "output.h"
#include "rpc.h"
#include "process.h"
#include "handover.h"
#include "supervisor.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Checks that stay on whatever NDEBUG says. */
#define FUZZ_CHECK(x)							\
	do {								\
		if (!(x)) {						\
			fprintf(stderr, "check failed: %s\n", #x);	\
			abort();					\
		}							\
	} while (0)

#define FUZZ_NPROCS	3
#define FUZZ_MAX_FOLLOW	256

struct output {
	int	 unused;
};

struct output_follower {
	output_data_cb cb;
	void	*arg;
	bool	 used;
};

static struct event_base *fuzz_base;
static struct control *fuzz_ctl;
static struct config fuzz_cfg;
static struct proc_conf fuzz_pc[FUZZ_NPROCS];
static struct process fuzz_procs[FUZZ_NPROCS];
static struct process *fuzz_list[FUZZ_NPROCS];
static struct output fuzz_outputs[FUZZ_NPROCS];
static struct output_follower fuzz_followers[FUZZ_MAX_FOLLOW];
static int fuzz_role;

/* Every call that changes something goes through here. */
static void
fuzz_mutation(const char *what)
{
	if (fuzz_role != METHODS_ROLE_CONTROL) {
		fprintf(stderr, "role %d reached %s\n", fuzz_role, what);
		abort();
	}
}

static void
fuzz_set_state(struct process *p, enum process_state to)
{
	enum process_state from = p->state;

	p->state = to;
	events_publish(p, from, to, NULL);
}

/* ---- the fake engine ---- */

const struct config *
supervisor_config(const struct supervisor *sv)
{
	(void)sv;
	return &fuzz_cfg;
}

bool
supervisor_shutting_down(const struct supervisor *sv)
{
	(void)sv;
	return false;
}

struct process *const *
supervisor_processes(const struct supervisor *sv, size_t *n)
{
	(void)sv;
	*n = FUZZ_NPROCS;
	return fuzz_list;
}

static bool
fuzz_matches(const struct process *p, const char *name)
{
	size_t glen = strlen(p->conf->group);

	if (strcmp(name, "all") == 0 || strcmp(name, p->fullname) == 0 ||
	    strcmp(name, p->conf->group) == 0)
		return true;
	return strncmp(name, p->conf->group, glen) == 0 && name[glen] == ':' &&
	    (strcmp(name + glen + 1, "*") == 0 ||
	    strcmp(name + glen + 1, p->conf->name) == 0);
}

int
supervisor_match(const struct supervisor *sv, const char *const *names,
    size_t nnames, struct process ***out, size_t *nout,
    const char **unmatched)
{
	bool take[FUZZ_NPROCS] = { false };
	size_t i, j, n = 0;
	bool any;

	(void)sv;
	for (i = 0; i < nnames; i++) {
		any = false;
		for (j = 0; j < FUZZ_NPROCS; j++)
			if (fuzz_matches(fuzz_list[j], names[i]))
				take[j] = any = true;
		if (!any) {
			*unmatched = names[i];
			return -1;
		}
	}
	*out = calloc(FUZZ_NPROCS, sizeof(**out));
	if (*out == NULL)
		return -1;
	for (j = 0; j < FUZZ_NPROCS; j++)
		if (take[j])
			(*out)[n++] = fuzz_list[j];
	*nout = n;
	return 0;
}

int
supervisor_reread(struct supervisor *sv, struct config_diff *d,
    struct diags *diags)
{
	(void)sv;
	fuzz_mutation("supervisor_reread");
	memset(d, 0, sizeof(*d));
	diags_add(diags, "fuzz.conf", 3, false, "bad value for %s", "x");
	return -1;
}

int
supervisor_update(struct supervisor *sv, const char *const *groups,
    size_t ngroups, struct config_diff *d, struct diags *diags)
{
	(void)sv;
	(void)groups;
	(void)ngroups;
	(void)diags;
	fuzz_mutation("supervisor_update");
	memset(d, 0, sizeof(*d));
	return 0;
}

int
supervisor_apply_config(struct supervisor *sv, const char *const *groups,
    size_t ngroups, struct config_diff *d, struct diags *diags)
{
	return supervisor_update(sv, groups, ngroups, d, diags);
}

int
supervisor_reopen_logs(struct supervisor *sv)
{
	(void)sv;
	fuzz_mutation("supervisor_reopen_logs");
	return 0;
}

int
supervisor_start(struct supervisor *sv, struct process *p, bool by_hand)
{
	(void)sv;
	(void)by_hand;
	return process_start(p);
}

int
supervisor_stop(struct supervisor *sv, struct process *p, bool by_hand)
{
	(void)sv;
	(void)by_hand;
	return process_stop(p);
}

const char *
supervisor_waiting_for(const struct supervisor *sv, const struct process *p)
{
	(void)sv;
	(void)p;
	return NULL;
}

/* process.reload needs the real engine; the fuzzer checks that it is
 * only reached with the control role, like every other mutation. */
int
method_process_reload(struct methods_call *call, json_t **result)
{
	(void)result;
	fuzz_mutation("process.reload");
	return methods_fail(call, RPC_INTERNAL_ERROR, "not in the fuzzer");
}

int
method_daemon_reexec(struct methods_call *call, json_t **result)
{
	(void)result;
	fuzz_mutation("daemon.reexec");
	return methods_fail(call, RPC_INTERNAL_ERROR, "not in the fuzzer");
}

/* control.c's save/restore for reexec, never reached here. */
int
handover_keep_fd(int fd)
{
	return fd;
}

int
handover_take_fd(const json_t *obj, const char *key)
{
	(void)obj;
	(void)key;
	return -1;
}

size_t
supervisor_restart_needed(const struct supervisor *sv, const char **out,
    size_t max)
{
	(void)sv;
	if (max > 0)
		out[0] = "socket";
	return 1;
}

int
process_start(struct process *p)
{
	fuzz_mutation("process_start");
	if (p->state == PROCESS_RUNNING)
		return RPC_ALREADY_STARTED;
	p->pid = 4242;
	fuzz_set_state(p, PROCESS_STARTING);
	/* Odd processes fail to start, even ones come up. */
	if (p == fuzz_list[1]) {
		snprintf(p->spawnerr, sizeof(p->spawnerr), "No such file");
		p->pid = 0;
		fuzz_set_state(p, PROCESS_BACKOFF);
	} else {
		fuzz_set_state(p, PROCESS_RUNNING);
	}
	return 0;
}

int
process_stop(struct process *p)
{
	fuzz_mutation("process_stop");
	if (!process_is_running(p))
		return RPC_NOT_RUNNING;
	fuzz_set_state(p, PROCESS_STOPPING);
	p->pid = 0;
	fuzz_set_state(p, PROCESS_STOPPED);
	return 0;
}

int
process_signal(struct process *p, int sig)
{
	fuzz_mutation("process_signal");
	FUZZ_CHECK(sig >= 1 && sig <= 64);
	return process_is_running(p) ? 0 : RPC_NOT_RUNNING;
}

int
process_write_stdin(struct process *p, const char *data, size_t len)
{
	(void)data;
	(void)len;
	fuzz_mutation("process_write_stdin");
	return process_is_running(p) ? 0 : RPC_NOT_RUNNING;
}

bool
process_is_running(const struct process *p)
{
	return p->state == PROCESS_STARTING || p->state == PROCESS_RUNNING ||
	    p->state == PROCESS_STOPPING;
}

const char *
process_state_name(enum process_state s)
{
	switch (s) {
	case PROCESS_STOPPED:
		return "STOPPED";
	case PROCESS_STARTING:
		return "STARTING";
	case PROCESS_RUNNING:
		return "RUNNING";
	case PROCESS_BACKOFF:
		return "BACKOFF";
	case PROCESS_STOPPING:
		return "STOPPING";
	case PROCESS_EXITED:
		return "EXITED";
	case PROCESS_FATAL:
		return "FATAL";
	default:
		return "UNKNOWN";
	}
}

long
process_uptime(const struct process *p)
{
	return p->state == PROCESS_RUNNING ? 5 : 0;
}

int
output_tail(struct output *o, enum output_stream s, size_t bytes,
    char **data, size_t *len, uint64_t *offset)
{
	static const char text[] = "\x80\x80hello \xff\xc3\n\0world\xe2\x82";

	(void)o;
	(void)s;
	FUZZ_CHECK(bytes <= OUTPUT_RING_SIZE);
	*len = bytes < sizeof(text) ? bytes : sizeof(text);
	*data = malloc(*len + 1);
	if (*data == NULL)
		return -1;
	memcpy(*data, text, *len);
	*offset = 12345;
	return 0;
}

struct output_follower *
output_follow(struct output *o, enum output_stream s, output_data_cb cb,
    void *arg)
{
	size_t i;

	(void)o;
	(void)s;
	for (i = 0; i < FUZZ_MAX_FOLLOW; i++) {
		if (!fuzz_followers[i].used) {
			fuzz_followers[i].used = true;
			fuzz_followers[i].cb = cb;
			fuzz_followers[i].arg = arg;
			return &fuzz_followers[i];
		}
	}
	return NULL;
}

void
output_unfollow(struct output_follower *f)
{
	if (f != NULL) {
		FUZZ_CHECK(f->used);
		f->used = false;
	}
}

int
output_clear(struct output *o)
{
	(void)o;
	fuzz_mutation("output_clear");
	return 0;
}

int
output_reopen(struct output *o)
{
	(void)o;
	fuzz_mutation("output_reopen");
	return 0;
}

static void
fuzz_on_shutdown(void *arg)
{
	(void)arg;
	fuzz_mutation("daemon.shutdown");
}

/* ---- set-up ---- */

static void
fuzz_init(void)
{
	static const char *const names[FUZZ_NPROCS] = { "web", "w_00", "w_01" };
	static const char *const groups[FUZZ_NPROCS] = { "web", "w", "w" };
	static const char *const full[FUZZ_NPROCS] = { "web", "w:w_00",
		"w:w_01" };
	struct control_opts opts;
	char dir[] = "/tmp/fuzz_rpc.XXXXXX", path[256], conf[256];
	FILE *f;
	int i;

	fuzz_base = event_base_new();
	FUZZ_CHECK(fuzz_base != NULL);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(conf, sizeof(conf), "%s/fuzz.conf", dir);
	if ((f = fopen(conf, "w")) != NULL) {
		fprintf(f, "[program:web]\ncommand=/bin/true\n");
		fclose(f);
	}
	for (i = 0; i < FUZZ_NPROCS; i++) {
		fuzz_pc[i].name = (char *)(uintptr_t)names[i];
		fuzz_pc[i].group = (char *)(uintptr_t)groups[i];
		fuzz_pc[i].stdout_log.target = LOG_TARGET_FILE;
		fuzz_pc[i].stdout_log.path = (char *)(uintptr_t)"/x/web.log";
		fuzz_pc[i].stderr_log.target = (enum log_target)(i + 1);
		fuzz_procs[i].conf = &fuzz_pc[i];
		fuzz_procs[i].fullname = (char *)(uintptr_t)full[i];
		fuzz_procs[i].output = &fuzz_outputs[i];
		fuzz_procs[i].stdin_fd = -1;
		fuzz_list[i] = &fuzz_procs[i];
	}
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	memset(&opts, 0, sizeof(opts));
	opts.socket = path;
	opts.mode = 0700;
	opts.config_path = conf;
	opts.on_shutdown = fuzz_on_shutdown;
	fuzz_ctl = control_new(fuzz_base, (struct supervisor *)&fuzz_cfg,
	    &opts);
	FUZZ_CHECK(fuzz_ctl != NULL);
}

/* Feed followers a chunk that cuts a character in two. */
static void
fuzz_feed_followers(void)
{
	static const char chunk[] = "out \xe2\x82";
	size_t i;

	for (i = 0; i < FUZZ_MAX_FOLLOW; i++)
		if (fuzz_followers[i].used)
			fuzz_followers[i].cb(chunk, sizeof(chunk) - 1,
			    fuzz_followers[i].arg);
}

static void
fuzz_drain(int fd)
{
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_client *c;
	size_t off = 0, i;
	ssize_t n;
	int sv[2];

	if (fuzz_base == NULL)
		fuzz_init();
	if (size < 1)
		return 0;
	fuzz_role = data[0] % 3;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1)
		return 0;
	c = control_adopt(fuzz_ctl, sv[0], fuzz_role);
	if (c == NULL) {
		close(sv[1]);
		return 0;
	}
	data++;
	size--;
	for (i = 0; i < 64 && off < size; i++) {
		n = write(sv[1], data + off, size - off);
		if (n > 0)
			off += (size_t)n;
		event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
		fuzz_drain(sv[1]);
	}
	for (i = 0; i < 8; i++) {
		event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
		fuzz_feed_followers();
		fuzz_drain(sv[1]);
	}
	/* The peer goes: every stream and pending reply must end. */
	close(sv[1]);
	for (i = 0; i < 4; i++)
		event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
	for (i = 0; i < FUZZ_MAX_FOLLOW; i++)
		FUZZ_CHECK(!fuzz_followers[i].used);
	/* Back to a known state for the next input. */
	for (i = 0; i < FUZZ_NPROCS; i++) {
		fuzz_procs[i].state = PROCESS_STOPPED;
		fuzz_procs[i].pid = 0;
		fuzz_procs[i].spawnerr[0] = '\0';
	}
	return 0;
}
