/*
 * Parsing of one config value: booleans, integers with ranges, sizes,
 * signals, durations, exit code lists, octal modes, environment lists,
 * shell-like word splitting and %(name)s expansion. Pure functions: no
 * printing, no global state (getenv() for %(ENV_X)s aside).
 *
 * Every parser returns 0 on success and -1 on error, with a short reason
 * written to err (which may be NULL) and *out left unchanged.
 */
#ifndef SUPERD_VALUES_H
#define SUPERD_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VALUES_DURATION_MAX	31536000	/* one year, in seconds */
#define VALUES_SIZE_MAX		(UINT64_C(1) << 50)
/* The longest value after expansion, in bytes. */
#define VALUES_EXPAND_MAX	(1024 * 1024)
#define VALUES_ARGV_MAX		4096
#define VALUES_ENV_MAX		4096

/* true/false/yes/no/on/off/1/0, any case. */
int	values_parse_bool(const char *, bool *, char *err, size_t errlen);
/* A decimal integer in [min, max]. */
int	values_parse_int(const char *, long long min, long long max,
	    long long *, char *err, size_t errlen);
/* 1024, 64KB, 50MB, 1GB (powers of 1024, any case), up to
 * VALUES_SIZE_MAX. */
int	values_parse_size(const char *, uint64_t *, char *err,
	    size_t errlen);
/* TERM, SIGTERM, sigterm or 15. */
int	values_parse_signal(const char *, int *, char *err, size_t errlen);
/* "TERM" for SIGTERM; NULL when the number has no name here. */
const char *values_signal_name(int);
/* Whole seconds, 0 to VALUES_DURATION_MAX. */
int	values_parse_duration(const char *, int *, char *err, size_t errlen);
/* "0,2" into a bitmap of codes 0..255 (cleared first). */
int	values_parse_exitcodes(const char *, uint8_t bitmap[32], char *err,
	    size_t errlen);
/* An octal number such as 022 or 0o022, 0 to max. */
int	values_parse_octal(const char *, int max, int *, char *err,
	    size_t errlen);
/* KEY="val, with comma",K2=v2 into a NULL-terminated "K=V" vector (the
 * last of a repeated key wins). */
int	values_parse_env(const char *, char ***out, char *err,
	    size_t errlen);
/* Split a command line into words as POSIX sh would (quotes, backslashes;
 * no expansion, no globbing). At least one word. */
int	values_split_command(const char *, char ***out, char *err,
	    size_t errlen);

/* HOST:PORT with HOST an IPv4 address, [IPv6] (brackets dropped in
 * *host), a host name or "*"; PORT 1..65535. *host is new. */
int	values_parse_hostport(const char *, char **host, int *port,
	    char *err, size_t errlen);
/* A comma (or blank) separated list of words into a new NULL-terminated
 * vector, repeats dropped, upper-cased when `upper`. At least one. */
int	values_parse_list(const char *, bool upper, char ***out, char *err,
	    size_t errlen);
/* True for one of supervisord's event type names (PROCESS_STATE, TICK_5,
 * ...), upper case. */
bool	values_event_known(const char *);

/* What %(name)s may refer to. NULL / -1 members are not available, and
 * using one is an error ("unknown expansion"). %(ENV_X)s comes from the
 * environment of the caller. */
struct values_expand {
	const char *here;
	const char *host_node_name;
	const char *program_name;
	const char *group_name;
	int	 process_num;
	int	 numprocs;
};

/* Expand %(name)s, %(name)02d and %% in s; a new string, or NULL. */
char	*values_expand(const char *s, const struct values_expand *,
	    char *err, size_t errlen);

/* NULL-terminated string vectors. */
size_t	values_strv_len(char *const *);
char  **values_strv_dup(char *const *);
bool	values_strv_equal(char *const *, char *const *);
void	values_strv_free(char **);

#endif
