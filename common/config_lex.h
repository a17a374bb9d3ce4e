/*
 * The config loader's lower layer, private to common/config.c: reading a
 * config file and lexing it into sections and "key = value" entries, with
 * line numbers, continuation lines, comments, BOM/CRLF and any line
 * length, through inih. Not part of the public API (see config.h).
 */
#ifndef SUPERD_CONFIG_LEX_H
#define SUPERD_CONFIG_LEX_H

#include <sys/stat.h>

#include <stddef.h>

#define CONFIG_LEX_FILE_MAX	(4 * 1024 * 1024)
#define CONFIG_LEX_NONE		((size_t)-1)

/* What the lexer reports, in file order: headers and errors while it
 * lexes, then every entry once inih has filed it. `arg` is the caller's. */
struct config_lex_ops {
	/* A header "[name]" at `line`; returns the caller's index for the
	 * section (never CONFIG_LEX_NONE). */
	size_t	(*section)(void *arg, const char *name, int line);
	/* "key = value" in section `sec` (an index section() returned);
	 * the key is lowercased, continuation lines are joined with "\n".
	 * Takes ownership of key and value. */
	void	(*entry)(void *arg, size_t sec, char *key, char *value,
		    int line);
	/* An error at `line` (0 when no line applies). */
	void	(*error)(void *arg, int line, const char *msg);
};

/* Read a whole regular file, at most CONFIG_LEX_FILE_MAX, never
 * blocking on a FIFO or a device; NULL with errno, or NULL with *toobig
 * 3 when it is not a regular file. *toobig: 1 when larger, 2 when it
 * holds a NUL byte. *st (may be NULL): the file read, as opened. */
char	*config_lex_read_file(const char *path, int *toobig,
	    struct stat *st);
/* Lex buf (NUL-terminated, modified) and report it through ops. */
void	 config_lex_run(char *buf, const struct config_lex_ops *ops,
	    void *arg);

#endif
