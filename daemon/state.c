/*
 * The state file. Kept in memory as a jansson object
 *   {"version": 1, "processes": {FULLNAME: {"action": "stopped",
 *    "definition": "<16 hex digits>"}}}
 * and written whole at each flush: it is small (one entry per process an
 * operator touched) and a rename is the only way to never leave half a
 * file behind.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "state.h"

#define STATE_VERSION	1
/* A bigger file is not ours. */
#define STATE_MAX_SIZE	(16 * 1024 * 1024)

struct state {
	char	*path;		/* NULL: never written */
	json_t	*procs;		/* name -> {action, definition} */
	bool	 dirty;
	int	 last_errno;	/* of the last failed flush: warn once */
};

static const char *
state_action_name(enum state_action a)
{
	return a == STATE_STOPPED ? "stopped" : a == STATE_STARTED ?
	    "started" : "none";
}

/* The directory part of `path` into buf ("." when none). */
static void
state_dirname(const char *path, char *buf, size_t len)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(buf, len, "%s", dirname(tmp));
}

/* Keep only well-formed entries: a hand-edited file with one bad entry
 * loses that entry, not the others. */
static json_t *
state_parse(const char *path, json_t *root)
{
	json_t *procs, *out, *v, *a, *d;
	const char *k;

	procs = json_is_object(root) ? json_object_get(root, "processes") :
	    NULL;
	if (!json_is_object(procs) ||
	    json_integer_value(json_object_get(root, "version")) !=
	    STATE_VERSION) {
		log_warn("state file %s: not a superd state file (version %d "
		    "with a \"processes\" object expected); ignoring it",
		    path, STATE_VERSION);
		return json_object();
	}
	if ((out = json_object()) == NULL)
		return NULL;
	json_object_foreach(procs, k, v) {
		a = json_object_get(v, "action");
		d = json_object_get(v, "definition");
		if (!json_is_string(a) || !json_is_string(d) ||
		    (strcmp(json_string_value(a), "stopped") != 0 &&
		    strcmp(json_string_value(a), "started") != 0)) {
			log_warn("state file %s: entry %s is malformed; "
			    "ignoring it", path, k);
			continue;
		}
		json_object_set(out, k, v);
	}
	return out;
}

static json_t *
state_load(const char *path)
{
	char dir[PATH_MAX];
	json_error_t jerr;
	json_t *root, *procs;
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT) {
			state_dirname(path, dir, sizeof(dir));
			if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
				log_warn("state file %s: directory %s does "
				    "not exist: operator actions will not be "
				    "remembered", path, dir);
			else
				log_info("state file %s: none yet", path);
		} else
			log_warn("state file %s: %s; starting as if it "
			    "were absent", path, strerror(errno));
		return json_object();
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > STATE_MAX_SIZE) {
		log_warn("state file %s: not a regular file of at most %d "
		    "bytes; starting as if it were absent", path,
		    STATE_MAX_SIZE);
		close(fd);
		return json_object();
	}
	root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	close(fd);
	if (root == NULL) {
		log_warn("state file %s:%d: corrupt (%s); starting as if it "
		    "were absent", path, jerr.line, jerr.text);
		return json_object();
	}
	procs = state_parse(path, root);
	json_decref(root);
	if (procs != NULL)
		log_info("state file %s: %zu remembered operator action(s)",
		    path, json_object_size(procs));
	return procs;
}

struct state *
state_new(const char *path)
{
	struct state *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (path != NULL && (s->path = strdup(path)) == NULL) {
		free(s);
		return NULL;
	}
	s->procs = path != NULL ? state_load(path) : json_object();
	if (s->procs == NULL) {
		state_free(s);
		return NULL;
	}
	return s;
}

void
state_free(struct state *s)
{
	if (s == NULL)
		return;
	json_decref(s->procs);
	free(s->path);
	free(s);
}

/* ---- fingerprint: FNV-1a over the fields that define a run ---- */

static uint64_t
state_hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t
state_hash_str(uint64_t h, const char *s)
{
	/* NULL and "" differ; the NUL separates neighbours. */
	if (s == NULL)
		return state_hash_bytes(h, "\1", 1);
	return state_hash_bytes(h, s, strlen(s) + 1);
}

static uint64_t
state_hash_int(uint64_t h, long long v)
{
	return state_hash_bytes(h, &v, sizeof(v));
}

static uint64_t
state_hash_strv(uint64_t h, char *const *v)
{
	size_t i;

	if (v == NULL)
		return state_hash_bytes(h, "\2", 1);
	for (i = 0; v[i] != NULL; i++)
		h = state_hash_str(h, v[i]);
	return state_hash_bytes(h, "\3", 1);
}

uint64_t
state_fingerprint(const struct proc_conf *pc)
{
	uint64_t h = 14695981039346656037ULL;

	h = state_hash_str(h, pc->group);
	h = state_hash_str(h, pc->program);
	h = state_hash_str(h, pc->name);
	h = state_hash_strv(h, pc->argv);
	h = state_hash_str(h, pc->user);
	h = state_hash_str(h, pc->directory);
	h = state_hash_strv(h, pc->environment);
	h = state_hash_int(h, pc->autostart);
	h = state_hash_int(h, pc->umask);
	h = state_hash_int(h, pc->stdin_pipe);
	h = state_hash_str(h, pc->socket.spec);
	h = state_hash_int(h, pc->fcgi);
	h = state_hash_strv(h, pc->depends_on);
	return h;
}

enum state_action
state_get(struct state *s, const char *fullname, uint64_t fingerprint)
{
	char hex[17];
	json_t *e;
	const char *a;

	if ((e = json_object_get(s->procs, fullname)) == NULL)
		return STATE_NONE;
	snprintf(hex, sizeof(hex), "%016" PRIx64, fingerprint);
	if (strcmp(json_string_value(json_object_get(e, "definition")),
	    hex) != 0) {
		log_info("state file: %s: its definition changed; forgetting "
		    "that it was %s by hand", fullname,
		    json_string_value(json_object_get(e, "action")));
		json_object_del(s->procs, fullname);
		s->dirty = true;
		return STATE_NONE;
	}
	a = json_string_value(json_object_get(e, "action"));
	return strcmp(a, "stopped") == 0 ? STATE_STOPPED : STATE_STARTED;
}

int
state_set(struct state *s, const char *fullname, uint64_t fingerprint,
    enum state_action a)
{
	char hex[17];
	json_t *e, *old;

	if (a == STATE_NONE) {
		if (json_object_del(s->procs, fullname) == 0)
			s->dirty = true;
		return 0;
	}
	snprintf(hex, sizeof(hex), "%016" PRIx64, fingerprint);
	old = json_object_get(s->procs, fullname);
	if (old != NULL && strcmp(json_string_value(json_object_get(old,
	    "action")), state_action_name(a)) == 0 &&
	    strcmp(json_string_value(json_object_get(old, "definition")),
	    hex) == 0)
		return 0;
	e = json_pack("{s:s, s:s}", "action", state_action_name(a),
	    "definition", hex);
	if (e == NULL || json_object_set_new(s->procs, fullname, e) == -1)
		return -1;
	s->dirty = true;
	return 0;
}

bool
state_dirty(const struct state *s)
{
	return s->dirty;
}

static void
state_fail(struct state *s, const char *what, const char *path)
{
	if (errno != s->last_errno)
		log_warn("state file %s: %s %s: %s (operator actions are not "
		    "remembered until this works)", s->path, what, path,
		    strerror(errno));
	s->last_errno = errno;
}

int
state_flush(struct state *s)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	json_t *root;
	int fd, dfd, rc;

	if (s->path == NULL || !s->dirty)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", s->path) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		state_fail(s, "cannot write", tmp);
		return -1;
	}
	root = json_pack("{s:i, s:O}", "version", STATE_VERSION, "processes",
	    s->procs);
	if (root == NULL) {
		errno = ENOMEM;
		state_fail(s, "cannot build", s->path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY,
	    0644);
	if (fd == -1) {
		json_decref(root);
		state_fail(s, "cannot create", tmp);
		return -1;
	}
	rc = json_dumpfd(root, fd, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(root);
	if (rc == -1 || write(fd, "\n", 1) != 1 || fsync(fd) == -1) {
		if (rc == -1 && errno == 0)
			errno = EIO;
		state_fail(s, "cannot write", tmp);
		close(fd);
		(void)unlink(tmp);
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, s->path) == -1) {
		state_fail(s, "cannot replace", s->path);
		(void)unlink(tmp);
		return -1;
	}
	/* The rename is durable only once the directory is synced. */
	state_dirname(s->path, dir, sizeof(dir));
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		if (fsync(dfd) == -1)
			state_fail(s, "cannot sync", dir);
		close(dfd);
	}
	s->dirty = false;
	s->last_errno = 0;
	return 0;
}
