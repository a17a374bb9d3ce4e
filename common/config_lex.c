/*
 * The config loader's lower layer: a file -> logical lines -> sections
 * and "key = value" entries, with line numbers.
 *
 * Our own line lexer handles line splitting, a UTF-8 BOM, CRLF,
 * continuation lines, comments and any line length. Why not inih alone:
 * Debian's libinih 55 has a 200-byte line buffer (a longer line is cut
 * and its tail parsed as a line of its own, so
 * "command=<198 chars>user=root" would smuggle in user=root) and no line
 * numbers in the handler. So the lexer keeps every value on our side and
 * hands inih, through ini_parse_stream() and a reader of our own, one
 * short synthetic line per logical line: "[sN]" for section N and "kM=v"
 * for entry M. inih does the section/key dispatch (its handler files
 * entry M under the section it reports), and each of its lines maps to
 * exactly one logical line, so any complaint from it maps back to a real
 * FILE:LINE.
 */
#include "config_lex.h"
#include "xmalloc.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

/* One logical line for inih: a header (key == NULL) or an entry. */
struct config_lex_token {
	size_t	 sec;
	char	*key;
	char	*value;
	int	 line;
};

struct config_lex {
	const struct config_lex_ops *ops;
	void	*arg;
	int	 line;
	size_t	 sec;		/* current section or CONFIG_LEX_NONE */
	size_t	 last;		/* token a continuation extends */
	bool	 broken;	/* after a bad header: skip entries */
	struct config_lex_token *tok;
	size_t	 ntok;
	size_t	 feed;		/* next token for inih */
};

static void
config_lex_error(struct config_lex *x, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
config_lex_error(struct config_lex *x, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->ops->error(x->arg, line, msg);
}

/*
 * Reading.
 */

/* Read all of f into a growing buffer, at most CONFIG_LEX_FILE_MAX + 1
 * bytes; NULL with errno. */
static char *
config_lex_read_stream(FILE *f, size_t hint, size_t *len)
{
	size_t cap = hint + 2, n = 0, r;
	char *buf;

	if (cap > CONFIG_LEX_FILE_MAX + 2)
		cap = CONFIG_LEX_FILE_MAX + 2;
	buf = xcalloc(cap, 1);
	for (;;) {
		r = fread(buf + n, 1, cap - 1 - n, f);
		n += r;
		if (ferror(f)) {
			free(buf);
			return NULL;
		}
		if (feof(f) || n > CONFIG_LEX_FILE_MAX)
			break;
		if (n == cap - 1) {
			cap = cap * 2 > CONFIG_LEX_FILE_MAX + 2 ?
			    CONFIG_LEX_FILE_MAX + 2 : cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Read a whole file, at most CONFIG_LEX_FILE_MAX; NULL with errno. */
char *
config_lex_read_file(const char *path, int *toobig, struct stat *stp)
{
	struct stat st;
	char *buf;
	size_t n = 0;
	FILE *f;
	int e, fd;

	*toobig = 0;
	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for
	 * a writer, forever, and freeze a reload; it changes nothing for a
	 * regular file, the only kind read. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return NULL;
	/* st is only valid when fstat() succeeded. */
	e = fstat(fd, &st) == -1 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
	if (e == 0 && !S_ISREG(st.st_mode)) {
		close(fd);
		*toobig = 3;
		return NULL;
	}
	if (e != 0 || (f = fdopen(fd, "r")) == NULL) {
		e = e != 0 ? e : errno;
		close(fd);
		errno = e;
		return NULL;
	}
	if (stp != NULL)
		*stp = st;
	buf = config_lex_read_stream(f, st.st_size > 0 ? (size_t)st.st_size :
	    4096, &n);
	e = errno;
	fclose(f);
	errno = e;
	if (buf == NULL)
		return NULL;
	if (n > CONFIG_LEX_FILE_MAX)
		*toobig = 1;
	else if (memchr(buf, '\0', n) != NULL)
		*toobig = 2;
	return buf;
}

/*
 * The line lexer.
 */

static void
config_lex_token_push(struct config_lex *x, size_t sec, char *key,
    char *value, int line)
{
	struct config_lex_token *t;

	x->tok = xreallocarray(x->tok, x->ntok + 1,
	    sizeof(*x->tok));
	t = &x->tok[x->ntok++];
	t->sec = sec;
	t->key = key;
	t->value = value;
	t->line = line;
}

/* Cut an inline comment: a ';' after whitespace. Then trim the right. */
static void
config_lex_cut(char *s)
{
	size_t i, n;

	for (i = 1; s[i] != '\0'; i++) {
		if (s[i] == ';' && (s[i - 1] == ' ' || s[i - 1] == '\t')) {
			s[i] = '\0';
			break;
		}
	}
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

static char *
config_lex_skip(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\f' || *s == '\v')
		s++;
	return s;
}

static void
config_lex_header(struct config_lex *x, char *t)
{
	char *end, *name;

	x->last = CONFIG_LEX_NONE;
	if ((end = strrchr(t, ']')) == NULL || end[1] != '\0') {
		config_lex_error(x, x->line, "bad section header: expected "
		    "[name]");
		x->sec = CONFIG_LEX_NONE;
		x->broken = true;
		return;
	}
	*end = '\0';
	name = config_lex_skip(t + 1);
	config_lex_cut(name);
	if (*name == '\0') {
		config_lex_error(x, x->line, "empty section name");
		x->sec = CONFIG_LEX_NONE;
		x->broken = true;
		return;
	}
	x->broken = false;
	x->sec = x->ops->section(x->arg, name, x->line);
	config_lex_token_push(x, x->sec, NULL, NULL, x->line);
}

static void
config_lex_entry(struct config_lex *x, char *t)
{
	char *eq, *k, *v;
	size_t n;

	x->last = CONFIG_LEX_NONE;
	if ((eq = strchr(t, '=')) == NULL) {
		config_lex_error(x, x->line, "expected 'key = value' or "
		    "'[section]'");
		return;
	}
	*eq++ = '\0';
	n = strlen(t);
	while (n > 0 && isspace((unsigned char)t[n - 1]))
		t[--n] = '\0';
	if (n == 0) {
		config_lex_error(x, x->line, "missing key before '='");
		return;
	}
	if (x->sec == CONFIG_LEX_NONE && x->broken)
		return;
	if (x->sec == CONFIG_LEX_NONE) {
		config_lex_error(x, x->line, "'%s' is outside of any "
		    "[section]", t);
		return;
	}
	v = xstrdup(config_lex_skip(eq));
	k = xstrdup(t);
	for (eq = k; *eq != '\0'; eq++)
		*eq = (char)tolower((unsigned char)*eq);
	config_lex_token_push(x, x->sec, k, v, x->line);
	x->last = x->ntok - 1;
}

/* Append a continuation line to the value it continues. */
static void
config_lex_continue(struct config_lex *x, char *t)
{
	struct config_lex_token *tok = &x->tok[x->last];
	char *v;

	config_lex_cut(t);
	if (*tok->value == '\0')
		v = xstrdup(t);
	else
		v = xprintf("%s\n%s", tok->value, t);
	free(tok->value);
	tok->value = v;
}

static void
config_lex_line(struct config_lex *x, char *s)
{
	char *t = config_lex_skip(s);

	if (*t == '\0') {
		x->last = CONFIG_LEX_NONE;
		return;
	}
	if (*t == ';' || *t == '#')
		return;
	if (t != s && x->last != CONFIG_LEX_NONE) {
		config_lex_continue(x, t);
		return;
	}
	config_lex_cut(t);
	if (*t == '[')
		config_lex_header(x, t);
	else
		config_lex_entry(x, t);
}

/* Split buf (NUL-terminated, modified) into lines and lex each. */
static void
config_lex_lines(struct config_lex *x, char *buf)
{
	char *s = buf, *nl;
	size_t n;

	if (strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (*s != '\0') {
		x->line++;
		if ((nl = strchr(s, '\n')) != NULL)
			*nl = '\0';
		n = strlen(s);
		if (n > 0 && s[n - 1] == '\r')
			s[n - 1] = '\0';
		config_lex_line(x, s);
		if (nl == NULL)
			break;
		s = nl + 1;
	}
}

/*
 * inih.
 */

/* inih's reader: one short synthetic line per token (see the top). */
static char *
config_lex_ini_reader(char *str, int num, void *stream)
{
	struct config_lex *x = stream;
	struct config_lex_token *t;

	if (x->feed == x->ntok)
		return NULL;
	t = &x->tok[x->feed];
	if (t->key == NULL)
		snprintf(str, (size_t)num, "[s%zu]\n", t->sec);
	else
		snprintf(str, (size_t)num, "k%zu=v\n", x->feed);
	x->feed++;
	return str;
}

/* inih's handler: hand entry kN of section sM to the caller. */
static int
config_lex_ini_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct config_lex *x = user;
	struct config_lex_token *t;
	char *end;
	unsigned long long si, ki;

	(void)value;
	if (section[0] != 's' || name[0] != 'k')
		return 0;
	si = strtoull(section + 1, &end, 10);
	if (*end != '\0' || si == CONFIG_LEX_NONE)
		return 0;
	ki = strtoull(name + 1, &end, 10);
	if (*end != '\0' || ki >= x->ntok || x->tok[ki].key == NULL ||
	    x->tok[ki].sec != si)
		return 0;
	t = &x->tok[ki];
	x->ops->entry(x->arg, (size_t)si, t->key, t->value, t->line);
	t->key = t->value = NULL;
	t->sec = CONFIG_LEX_NONE;
	return 1;
}

/* Feed the tokens to inih, which files every entry, then free them. */
static void
config_lex_ini_run(struct config_lex *x)
{
	size_t i;
	int rc;

	x->feed = 0;
	rc = ini_parse_stream(config_lex_ini_reader, x,
	    config_lex_ini_handler, x);
	if (rc > 0 && (size_t)rc <= x->ntok)
		config_lex_error(x, x->tok[rc - 1].line, "internal error: the "
		    "INI parser rejected this line");
	else if (rc != 0)
		config_lex_error(x, 0, "internal error: the INI parser failed "
		    "(%d)", rc);
	for (i = 0; i < x->ntok; i++) {
		free(x->tok[i].key);
		free(x->tok[i].value);
	}
	free(x->tok);
	x->tok = NULL;
	x->ntok = 0;
}

/* Lex buf (NUL-terminated, modified) and report it through ops. */
void
config_lex_run(char *buf, const struct config_lex_ops *ops, void *arg)
{
	struct config_lex x;

	memset(&x, 0, sizeof(x));
	x.ops = ops;
	x.arg = arg;
	x.sec = CONFIG_LEX_NONE;
	x.last = CONFIG_LEX_NONE;
	config_lex_lines(&x, buf);
	config_lex_ini_run(&x);
}
