/*
 * /metrics, /healthz and the status page (SPEC.md section 12), rendered
 * from the supervisor's state when asked. CPU and memory are summed over
 * each supervised process's tree at the scrape, walking down the kernel's
 * children lists (so a gunicorn master is reported with its workers, and
 * a scrape reads only the supervised trees, not the thousands of
 * processes of a shared host); without those lists (CONFIG_PROC_CHILDREN
 * off) one walk of all /proc gives each process to its nearest
 * supervised ancestor.
 */
#include <sys/types.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/util.h>

#include "log.h"
#include "metrics.h"
#include "output.h"
#include "process.h"
#include "supervisor.h"

/* One line of /proc/PID/stat, what the scrape needs of it. */
struct metrics_proc {
	pid_t	 pid;
	pid_t	 ppid;
	uint64_t ticks;		/* utime + stime + cutime + cstime */
	uint64_t rss_pages;
};

/* Per supervised process: its pid and the sums over its tree. */
struct metrics_tree {
	pid_t	 pid;
	size_t	 index;		/* into the process array */
	uint64_t ticks;
	uint64_t rss_pages;
};

/* Deep enough for any real process tree; bounds a walk up a corrupt or
 * racing /proc that would otherwise loop. */
#define METRICS_MAX_DEPTH	64
#define METRICS_PAGE_LINES	8

/* Parse /proc/PID/stat: fields after the last ')' (a comm may hold
 * spaces and parentheses). 0 or -1. */
static int
metrics_read_stat(pid_t pid, struct metrics_proc *mp)
{
	char path[64], buf[1024], *s, *save = NULL, *tok;
	unsigned long long v[24];
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((s = strrchr(buf, ')')) == NULL)
		return -1;
	/* Field 3 (state) onwards; v[0] is field 3. */
	for (i = 0, tok = strtok_r(s + 1, " ", &save); tok != NULL && i < 24;
	    tok = strtok_r(NULL, " ", &save), i++)
		v[i] = strtoull(tok, NULL, 10);
	if (i < 22)
		return -1;
	mp->pid = pid;
	mp->ppid = (pid_t)v[1];			/* field 4 */
	mp->ticks = v[11] + v[12] + v[13] + v[14];	/* fields 14-17 */
	mp->rss_pages = v[21];			/* field 24 */
	return 0;
}

/* Every process on the machine, sorted by pid (readdir of /proc gives
 * ascending pids, but nothing promises it). New array or NULL. */
static int
metrics_proc_cmp(const void *a, const void *b)
{
	const struct metrics_proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static struct metrics_proc *
metrics_read_procs(size_t *np)
{
	struct metrics_proc *v = NULL, *nv;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	long pid;
	char *end;

	*np = 0;
	if ((d = opendir("/proc")) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		if (metrics_read_stat((pid_t)pid, &v[n]) == 0)
			n++;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), metrics_proc_cmp);
	*np = n;
	return v;
}

static const struct metrics_proc *
metrics_find_proc(const struct metrics_proc *v, size_t n, pid_t pid)
{
	struct metrics_proc key = { .pid = pid };

	return bsearch(&key, v, n, sizeof(*v), metrics_proc_cmp);
}

static int
metrics_tree_cmp(const void *a, const void *b)
{
	const struct metrics_tree *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Add each machine process to the tree of its nearest supervised
 * ancestor (or itself). */
static void
metrics_sum_trees(struct metrics_tree *t, size_t nt,
    const struct metrics_proc *v, size_t nv)
{
	const struct metrics_proc *cur;
	struct metrics_tree key, *hit;
	size_t i;
	int depth;

	qsort(t, nt, sizeof(*t), metrics_tree_cmp);
	for (i = 0; i < nv; i++) {
		cur = &v[i];
		for (depth = 0; cur != NULL && depth < METRICS_MAX_DEPTH;
		    depth++) {
			key.pid = cur->pid;
			hit = bsearch(&key, t, nt, sizeof(*t),
			    metrics_tree_cmp);
			if (hit != NULL) {
				hit->ticks += v[i].ticks;
				hit->rss_pages += v[i].rss_pages;
				break;
			}
			if (cur->ppid <= 1)
				break;
			cur = metrics_find_proc(v, nv, cur->ppid);
		}
	}
}

/* Label values escape backslash, double quote and newline. */
static void
metrics_label(struct evbuffer *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			evbuffer_add(out, "\\\\", 2);
		else if (*s == '"')
			evbuffer_add(out, "\\\"", 2);
		else if (*s == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, s, 1);
	}
}

static void
metrics_family(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* `name{name="web_00",group="web"` without the closing brace. Every
 * family carries both labels: two groups may each hold a process of the
 * same name, and a series must stay unique. */
static void
metrics_series(struct evbuffer *out, const char *family,
    const struct process *p)
{
	evbuffer_add_printf(out, "%s{name=\"", family);
	metrics_label(out, p->conf->name);
	evbuffer_add(out, "\",group=\"", 9);
	metrics_label(out, p->conf->group);
	evbuffer_add(out, "\"", 1);
}

static const enum process_state metrics_states[] = {
	PROCESS_STOPPED, PROCESS_STARTING, PROCESS_RUNNING, PROCESS_BACKOFF,
	PROCESS_STOPPING, PROCESS_EXITED, PROCESS_FATAL, PROCESS_UNKNOWN
};

static uint64_t
metrics_log_bytes(struct process *p, enum output_stream s)
{
	char *data = NULL;
	size_t len = 0;
	uint64_t total = 0;

	if (p->output == NULL ||
	    output_tail(p->output, s, 0, &data, &len, &total) == -1)
		total = 0;
	free(data);
	return total;
}

static void
metrics_render_states(struct evbuffer *out, struct process *const *ps,
    size_t n)
{
	size_t i, k;

	metrics_family(out, "superd_process_state", "gauge",
	    "1 for the state the process is in, 0 for the others.");
	for (i = 0; i < n; i++)
		for (k = 0; k < sizeof(metrics_states) /
		    sizeof(metrics_states[0]); k++) {
			metrics_series(out, "superd_process_state", ps[i]);
			evbuffer_add_printf(out, ",state=\"%s\"} %d\n",
			    process_state_name(metrics_states[k]),
			    ps[i]->state == metrics_states[k]);
		}
	metrics_family(out, "superd_process_up", "gauge",
	    "1 when the process is RUNNING.");
	for (i = 0; i < n; i++) {
		metrics_series(out, "superd_process_up", ps[i]);
		evbuffer_add_printf(out, "} %d\n",
		    ps[i]->state == PROCESS_RUNNING);
	}
}

static void
metrics_render_counters(struct evbuffer *out, struct process *const *ps,
    size_t n)
{
	size_t i;

	metrics_family(out, "superd_process_restarts_total", "counter",
	    "Times superd started the process again after its first start.");
	for (i = 0; i < n; i++) {
		metrics_series(out, "superd_process_restarts_total", ps[i]);
		evbuffer_add_printf(out, "} %llu\n",
		    (unsigned long long)ps[i]->restarts);
	}
	metrics_family(out, "superd_process_start_time_seconds", "gauge",
	    "Unix time of the last start, 0 if never started.");
	for (i = 0; i < n; i++) {
		metrics_series(out, "superd_process_start_time_seconds",
		    ps[i]);
		evbuffer_add_printf(out, "} %lld\n",
		    (long long)ps[i]->start_time);
	}
	metrics_family(out, "superd_process_exit_status", "gauge",
	    "Last exit code, or minus the signal that ended it.");
	for (i = 0; i < n; i++) {
		metrics_series(out, "superd_process_exit_status", ps[i]);
		evbuffer_add_printf(out, "} %d\n", ps[i]->exitstatus);
	}
	metrics_family(out, "superd_health_failures_total", "counter",
	    "Failed health checks.");
	for (i = 0; i < n; i++) {
		metrics_series(out, "superd_health_failures_total", ps[i]);
		evbuffer_add_printf(out, "} %llu\n",
		    (unsigned long long)ps[i]->health_failures);
	}
}

static void
metrics_render_logs(struct evbuffer *out, struct process *const *ps,
    size_t n)
{
	static const char *streams[2] = { "stdout", "stderr" };
	size_t i;
	int s;

	metrics_family(out, "superd_log_bytes_total", "counter",
	    "Bytes the process wrote to the stream.");
	for (i = 0; i < n; i++)
		for (s = 0; s < 2; s++) {
			metrics_series(out, "superd_log_bytes_total", ps[i]);
			evbuffer_add_printf(out, ",stream=\"%s\"} %llu\n",
			    streams[s], (unsigned long long)
			    metrics_log_bytes(ps[i], (enum output_stream)s));
		}
	metrics_family(out, "superd_log_lost_bytes_total", "counter",
	    "Bytes of the stream that could not be written to its log.");
	for (i = 0; i < n; i++)
		for (s = 0; s < 2; s++) {
			metrics_series(out, "superd_log_lost_bytes_total",
			    ps[i]);
			evbuffer_add_printf(out, ",stream=\"%s\"} %llu\n",
			    streams[s], (unsigned long long)(ps[i]->output ?
			    output_lost(ps[i]->output, (enum output_stream)s) :
			    0));
		}
}

/* Bounds a walk of one tree (a fork bomb under a program must not turn
 * a scrape into a stall). */
#define METRICS_MAX_TREE	65536

/* Append the children of every thread of pid (/proc/PID/task/TID/
 * children, CONFIG_PROC_CHILDREN) to the stack, as far as it can
 * grow. */
static void
metrics_children(pid_t pid, pid_t **stack, size_t *n, size_t *cap)
{
	char path[320], buf[4096], *s, *end;
	struct dirent *de;
	pid_t *nv;
	ssize_t got;
	long c;
	DIR *d;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return;		/* gone since: nothing to add */
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children",
		    (int)pid, de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;	/* the thread ended since */
		/* A thread with more children than fit is cut short: the
		 * figures are a lower bound then, never a stall. */
		got = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (got <= 0)
			continue;
		buf[got] = '\0';
		for (s = buf; *s != '\0'; s = end) {
			c = strtol(s, &end, 10);
			if (end == s)
				break;
			if (c <= 0 || *n >= METRICS_MAX_TREE)
				continue;
			if (*n == *cap) {
				*cap = *cap ? *cap * 2 : 64;
				if ((nv = realloc(*stack, *cap *
				    sizeof(**stack))) == NULL)
					break;
				*stack = nv;
			}
			(*stack)[(*n)++] = (pid_t)c;
		}
	}
	closedir(d);
}

/* Whether this kernel has the children files, asked once of our own
 * main thread (its tid is our pid). */
static bool
metrics_have_children(void)
{
	static int have = -1;
	char path[64];

	if (have == -1) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children",
		    (int)getpid(), (int)getpid());
		have = access(path, R_OK) == 0;
	}
	return have == 1;
}

/*
 * Sum each supervised tree by walking down from its pid: the cost is
 * the size of the trees, not of the machine (thousands of processes on
 * a shared host). A process that is itself supervised starts its own
 * tree. -1 when the kernel has no children files: walk all of /proc.
 */
static int
metrics_walk_trees(struct metrics_tree *t, size_t nt)
{
	struct metrics_tree key, *hit;
	struct metrics_proc mp;
	pid_t *stack = NULL, pid;
	size_t i, n, cap = 0, seen;

	if (!metrics_have_children())
		return -1;
	qsort(t, nt, sizeof(*t), metrics_tree_cmp);
	for (i = 0; i < nt; i++) {
		n = 0;
		seen = 0;
		if (cap == 0 && (stack = malloc(64 * sizeof(*stack))) != NULL)
			cap = 64;
		if (stack == NULL)
			break;
		stack[n++] = t[i].pid;
		while (n > 0 && seen++ < METRICS_MAX_TREE) {
			pid = stack[--n];
			if (pid != t[i].pid) {
				key.pid = pid;
				hit = bsearch(&key, t, nt, sizeof(*t),
				    metrics_tree_cmp);
				if (hit != NULL)
					continue;
			}
			if (metrics_read_stat(pid, &mp) == -1)
				continue;
			t[i].ticks += mp.ticks;
			t[i].rss_pages += mp.rss_pages;
			metrics_children(pid, &stack, &n, &cap);
		}
	}
	free(stack);
	return 0;
}

static void
metrics_render_usage(struct evbuffer *out, struct process *const *ps,
    size_t n)
{
	struct metrics_tree *t;
	struct metrics_proc *all = NULL;
	size_t nall = 0, nt = 0, i;
	long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	uint64_t *ticks, *rss;

	ticks = calloc(n + 1, sizeof(*ticks));
	rss = calloc(n + 1, sizeof(*rss));
	t = calloc(n + 1, sizeof(*t));
	if (ticks != NULL && rss != NULL && t != NULL) {
		for (i = 0; i < n; i++)
			if (ps[i]->pid > 0) {
				t[nt].pid = ps[i]->pid;
				t[nt++].index = i;
			}
		if (metrics_walk_trees(t, nt) == -1) {
			for (i = 0; i < nt; i++)
				t[i].ticks = t[i].rss_pages = 0;
			all = metrics_read_procs(&nall);
			metrics_sum_trees(t, nt, all, nall);
		}
		for (i = 0; i < nt; i++) {
			ticks[t[i].index] = t[i].ticks;
			rss[t[i].index] = t[i].rss_pages;
		}
	}
	metrics_family(out, "superd_process_cpu_seconds_total", "counter",
	    "CPU time of the process and its descendants.");
	for (i = 0; i < n; i++) {
		metrics_series(out, "superd_process_cpu_seconds_total", ps[i]);
		evbuffer_add_printf(out, "} %.2f\n", ticks != NULL && hz > 0 ?
		    (double)ticks[i] / (double)hz : 0.0);
	}
	metrics_family(out, "superd_process_resident_memory_bytes", "gauge",
	    "Resident memory of the process and its descendants.");
	for (i = 0; i < n; i++) {
		metrics_series(out, "superd_process_resident_memory_bytes",
		    ps[i]);
		evbuffer_add_printf(out, "} %llu\n", rss != NULL ?
		    (unsigned long long)rss[i] * (unsigned long long)page : 0);
	}
	free(all);
	free(t);
	free(ticks);
	free(rss);
}

void
metrics_render(struct supervisor *sv, struct evbuffer *out)
{
	struct process *const *ps;
	size_t n;

	ps = supervisor_processes(sv, &n);
	metrics_family(out, "superd_up", "gauge", "1 while superd runs.");
	evbuffer_add_printf(out, "superd_up 1\n");
	metrics_render_states(out, ps, n);
	metrics_render_counters(out, ps, n);
	metrics_render_usage(out, ps, n);
	metrics_render_logs(out, ps, n);
}

int
metrics_healthz(struct supervisor *sv, struct evbuffer *out)
{
	struct process *const *ps;
	size_t n, i, down = 0;

	ps = supervisor_processes(sv, &n);
	for (i = 0; i < n; i++) {
		if (!ps[i]->conf->autostart || ps[i]->state == PROCESS_RUNNING)
			continue;
		evbuffer_add_printf(out, "%s %s\n", ps[i]->fullname,
		    process_state_name(ps[i]->state));
		down++;
	}
	if (down == 0) {
		evbuffer_add_printf(out, "ok\n");
		return 200;
	}
	return 503;
}
