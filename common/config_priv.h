/*
 * What the parts of the config loader share: config.c (files, sections,
 * [superd]/[control]/[superctl], groups, the depends_on graph, the
 * entry point) and config_program.c ([program:x] keys and the
 * per-process build). Not for use outside common/config*.c: the public
 * API is config.h.
 */

#ifndef SUPERD_CONFIG_PRIV_H
#define SUPERD_CONFIG_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "values.h"

#define CONFIG_FILES_MAX	1000
#define CONFIG_DEPTH_MAX	32
#define CONFIG_PROCS_MAX	10000
#define CONFIG_NUMPROCS_MAX	1000
#define CONFIG_PRIORITY_MAX	99999999

enum config_kind {
	CONFIG_SEC_SKIP = 0,
	CONFIG_SEC_MAIN,
	CONFIG_SEC_CONTROL,
	CONFIG_SEC_CTL,
	CONFIG_SEC_INCLUDE,
	CONFIG_SEC_PROGRAM,
	CONFIG_SEC_GROUP,
	CONFIG_SEC_FCGI,	/* [fcgi-program:x] */
	CONFIG_SEC_LISTENER,	/* [eventlistener:x] */
	CONFIG_SEC_INET		/* [inet_http_server] */
};

/* The sections that define processes. */
#define CONFIG_SEC_IS_PROGRAM(k)	((k) == CONFIG_SEC_PROGRAM || \
	(k) == CONFIG_SEC_FCGI || (k) == CONFIG_SEC_LISTENER)

struct config_kv {
	char	*key;
	char	*value;
	int	 line;
};

struct config_section {
	char	*name;
	const char *arg;	/* after "program:" / "group:" */
	const char *file;	/* borrowed from config_parser.files */
	const char *here;
	int	 line;
	enum config_kind kind;
	struct config_kv *kv;
	size_t	 nkv;
	char	*group;		/* programs: its [group:g] */
	bool	 used;		/* programs: already built */
};

struct config_file {
	char	*path;
	char	*here;
};

struct config_parser {
	int	 flags;
	struct diags *d;
	struct config_section **sec;
	size_t	 nsec;
	struct config_file **files;
	size_t	 nfiles;
	char	*stack[CONFIG_DEPTH_MAX];
	size_t	 depth;
	char	 host[256];
	size_t	 nprocs;
};

enum config_vtype {
	CONFIG_V_STR,
	CONFIG_V_PATH,
	CONFIG_V_BOOL,
	CONFIG_V_INT,
	CONFIG_V_PRIORITY,
	CONFIG_V_SIZE,
	CONFIG_V_SIGNAL,
	CONFIG_V_DURATION,
	CONFIG_V_EXITCODES,
	CONFIG_V_UMASK,
	CONFIG_V_MODE,
	CONFIG_V_ENV,
	CONFIG_V_LOGLEVEL,
	CONFIG_V_MINFDS,
	CONFIG_V_SERVERURL,
	CONFIG_V_COMMAND,
	CONFIG_V_AUTORESTART,
	CONFIG_V_LOGFILE,
	CONFIG_V_STDIN,
	CONFIG_V_RANGE,		/* an int in [min, max] */
	CONFIG_V_SOCKET,
	CONFIG_V_PROBE,		/* off: of the struct probe_conf */
	CONFIG_V_DEPENDS,
	CONFIG_V_BACKOFF,
	CONFIG_V_EVENTS,
	CONFIG_V_INETPORT,
	CONFIG_V_EARLY,		/* handled before the per-process pass */
	CONFIG_V_SILENT,	/* a supervisord key that changes nothing here
				 * and is accepted without a word */
	CONFIG_V_IGNORED	/* a supervisord key superd does not use */
};

/* Which process sections a key belongs to (0: all of them). */
#define CONFIG_IN_PROGRAM	(1 << 0)
#define CONFIG_IN_FCGI		(1 << 1)
#define CONFIG_IN_LISTENER	(1 << 2)

struct config_key {
	const char *name;
	enum config_vtype type;
	size_t	 off;
	long long max;		/* CONFIG_V_INT, CONFIG_V_RANGE */
	long long min;		/* CONFIG_V_RANGE */
	int	 where;		/* CONFIG_IN_*; 0: everywhere */
};

#define CONFIG_OFF(m)	offsetof(struct config, m)
#define PROC_OFF(m)	offsetof(struct proc_conf, m)

/* config.c */
const char	*config_short(const char *v, char *buf, size_t len);
void		 config_diag(struct config_parser *p, const char *file,
		    int line, bool warning, const char *fmt, ...)
		    __attribute__((format(printf, 5, 6)));
bool		 config_name_ok(const char *s);
char		*config_path(const char *here, const char *v);
struct config_kv *config_section_get(const struct config_section *s,
		    const char *key);
const struct config_key *config_key_find_in(const struct config_key *keys,
		    enum config_kind kind, const char *name);
void		 config_check_keys(struct config_parser *p,
		    const struct config_section *s,
		    const struct config_key *keys);
int		 config_value(const struct config_key *k, const char *here,
		    const char *v, void *dst, char *err, size_t errlen);
void		 config_proc_free(struct proc_conf *pc);

/* config_program.c */
void		 config_sock_clear(struct sock_conf *sc);
void		 config_probe_clear(struct probe_conf *pr);
int		 config_early_int(struct config_parser *p,
		    const struct config_section *s, const char *key,
		    const struct values_expand *x, long long min,
		    long long max, long long *out);
void		 config_program_build(struct config_parser *p,
		    const struct config *cfg, struct config_section *s,
		    const char *group, struct proc_conf ***v, size_t *n);

#endif
