/*
 * Comparing two config snapshots: which groups a reread adds, changes or
 * removes, and which daemon-wide settings need a restart of superd.
 *
 * Where a definition is written (file, line) is not compared: moving a
 * [program:x] to another file, or adding a comment above it, must not
 * restart it.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "values.h"

static bool
config_str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
config_log_equal(const struct log_conf *a, const struct log_conf *b)
{
	return a->target == b->target && config_str_equal(a->path, b->path) &&
	    a->maxbytes == b->maxbytes && a->backups == b->backups &&
	    a->timestamps == b->timestamps &&
	    a->events_enabled == b->events_enabled;
}

static bool
config_sock_equal(const struct sock_conf *a, const struct sock_conf *b)
{
	return a->kind == b->kind && config_str_equal(a->spec, b->spec) &&
	    config_str_equal(a->host, b->host) && a->port == b->port &&
	    config_str_equal(a->path, b->path) && a->backlog == b->backlog &&
	    config_str_equal(a->owner, b->owner) && a->uid == b->uid &&
	    a->gid == b->gid && a->mode == b->mode;
}

static bool
config_probe_equal(const struct probe_conf *a, const struct probe_conf *b)
{
	return a->kind == b->kind && config_str_equal(a->spec, b->spec) &&
	    config_str_equal(a->host, b->host) && a->port == b->port &&
	    config_str_equal(a->path, b->path) &&
	    values_strv_equal(a->argv, b->argv);
}

static bool
config_gids_equal(const struct proc_conf *a, const struct proc_conf *b)
{
	return a->ngroups == b->ngroups && (a->ngroups == 0 ||
	    memcmp(a->groups, b->groups, a->ngroups * sizeof(*a->groups)) ==
	    0);
}

/* The superd extensions of SPEC part two. */
static bool
config_proc_equal_ext(const struct proc_conf *a, const struct proc_conf *b)
{
	return config_gids_equal(a, b) &&
	    a->oom_score_adj == b->oom_score_adj && a->fcgi == b->fcgi &&
	    config_sock_equal(&a->socket, &b->socket) &&
	    a->reload_signal == b->reload_signal &&
	    config_probe_equal(&a->ready, &b->ready) &&
	    a->ready_timeout == b->ready_timeout &&
	    config_probe_equal(&a->health, &b->health) &&
	    a->health_interval == b->health_interval &&
	    a->health_timeout == b->health_timeout &&
	    a->health_retries == b->health_retries &&
	    values_strv_equal(a->depends_on, b->depends_on) &&
	    a->backoff == b->backoff && a->backoff_max == b->backoff_max &&
	    a->backoff_reset == b->backoff_reset &&
	    a->listener == b->listener &&
	    values_strv_equal(a->events, b->events) &&
	    a->buffer_size == b->buffer_size;
}

/* The identity and how it runs: names, command, user, environment. */
static bool
config_proc_equal_run(const struct proc_conf *a, const struct proc_conf *b)
{
	return config_str_equal(a->name, b->name) &&
	    config_str_equal(a->group, b->group) &&
	    config_str_equal(a->program, b->program) &&
	    a->process_num == b->process_num &&
	    config_str_equal(a->command, b->command) &&
	    values_strv_equal(a->argv, b->argv) &&
	    config_str_equal(a->user, b->user) && a->uid == b->uid &&
	    a->gid == b->gid && config_str_equal(a->home, b->home) &&
	    config_str_equal(a->shell, b->shell) &&
	    config_str_equal(a->directory, b->directory) &&
	    a->umask == b->umask &&
	    values_strv_equal(a->environment, b->environment) &&
	    a->stdin_pipe == b->stdin_pipe &&
	    config_str_equal(a->description, b->description);
}

/* The policy: priorities, restarts, stopping, logs. */
static bool
config_proc_equal_policy(const struct proc_conf *a, const struct proc_conf *b)
{
	return a->priority == b->priority && a->autostart == b->autostart &&
	    a->autorestart == b->autorestart &&
	    a->startsecs == b->startsecs &&
	    a->startretries == b->startretries &&
	    memcmp(a->exitcodes, b->exitcodes, sizeof(a->exitcodes)) == 0 &&
	    a->stopsignal == b->stopsignal &&
	    a->stopwaitsecs == b->stopwaitsecs &&
	    a->stopasgroup == b->stopasgroup &&
	    a->killasgroup == b->killasgroup &&
	    a->redirect_stderr == b->redirect_stderr &&
	    config_log_equal(&a->stdout_log, &b->stdout_log) &&
	    config_log_equal(&a->stderr_log, &b->stderr_log);
}

bool
proc_conf_equal(const struct proc_conf *a, const struct proc_conf *b)
{
	return config_proc_equal_run(a, b) &&
	    config_proc_equal_policy(a, b) && config_proc_equal_ext(a, b);
}

bool
group_conf_equal(const struct group_conf *a, const struct group_conf *b)
{
	size_t i;

	if (!config_str_equal(a->name, b->name) || a->kind != b->kind ||
	    a->priority != b->priority || a->nprocs != b->nprocs)
		return false;
	for (i = 0; i < a->nprocs; i++)
		if (!proc_conf_equal(a->procs[i], b->procs[i]))
			return false;
	return true;
}

static void
config_diff_push(char ***v, size_t *n, const char *name)
{
	char **nv;

	if ((nv = realloc(*v, (*n + 1) * sizeof(**v))) == NULL ||
	    (nv[*n] = strdup(name)) == NULL)
		abort();
	*v = nv;
	(*n)++;
}

static int
config_diff_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
config_diff_sort(char **v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), config_diff_cmp);
}

void
config_diff(const struct config *old, const struct config *new_,
    struct config_diff *out)
{
	const struct group_conf *g, *o;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; new_ != NULL && i < new_->ngroups; i++) {
		g = new_->groups[i];
		o = old != NULL ? config_find_group(old, g->name) : NULL;
		if (o == NULL)
			config_diff_push(&out->added, &out->nadded, g->name);
		else if (!group_conf_equal(o, g))
			config_diff_push(&out->changed, &out->nchanged,
			    g->name);
	}
	for (i = 0; old != NULL && i < old->ngroups; i++) {
		o = old->groups[i];
		if (new_ == NULL || config_find_group(new_, o->name) == NULL)
			config_diff_push(&out->removed, &out->nremoved,
			    o->name);
	}
	config_diff_sort(out->added, out->nadded);
	config_diff_sort(out->changed, out->nchanged);
	config_diff_sort(out->removed, out->nremoved);
}

static void
config_diff_free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
config_diff_free(struct config_diff *d)
{
	if (d == NULL)
		return;
	config_diff_free_list(d->added, d->nadded);
	config_diff_free_list(d->changed, d->nchanged);
	config_diff_free_list(d->removed, d->nremoved);
	memset(d, 0, sizeof(*d));
}

size_t
config_restart_needed(const struct config *old, const struct config *new_,
    const char **out, size_t max)
{
	const struct {
		const char *key;
		bool same;
	} keys[] = {
		{ "socket", config_str_equal(old->socket, new_->socket) },
		{ "socket_mode", old->socket_mode == new_->socket_mode },
		{ "socket_owner", config_str_equal(old->socket_owner,
		    new_->socket_owner) },
		{ "pidfile", config_str_equal(old->pidfile, new_->pidfile) },
		{ "identifier", config_str_equal(old->identifier,
		    new_->identifier) },
		{ "minfds", old->minfds == new_->minfds },
		{ "[inet_http_server] port", old->inet_port ==
		    new_->inet_port && config_str_equal(old->inet_host,
		    new_->inet_host) },
		{ "[inet_http_server] username", config_str_equal(
		    old->inet_username, new_->inet_username) },
		{ "[inet_http_server] password", config_str_equal(
		    old->inet_password, new_->inet_password) },
	};
	size_t i, n = 0;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].same)
			continue;
		if (n < max)
			out[n] = keys[i].key;
		n++;
	}
	return n;
}
