/*
 * Parsers for single config values. See values.h.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "values.h"
#include "xmalloc.h"

/* A growable byte buffer for building words and expansions. */
struct values_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static const struct {
	const char *name;
	int	 sig;
} values_signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
	{ "IOT", SIGIOT }, { "BUS", SIGBUS }, { "FPE", SIGFPE },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
	{ "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },
	{ "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TSTP", SIGTSTP },
	{ "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "URG", SIGURG },
	{ "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM },
	{ "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "POLL", SIGPOLL }, { "PWR", SIGPWR }, { "SYS", SIGSYS },
};

static void
values_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
values_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void *
values_xrealloc(void *p, size_t n)
{
	void *q;

	if ((q = realloc(p, n == 0 ? 1 : n)) == NULL)
		abort();
	return q;
}

static void
values_buf_add(struct values_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = values_xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
values_buf_addc(struct values_buf *b, char c)
{
	values_buf_add(b, &c, 1);
}

/* Take the buffer's string (never NULL) and reset the buffer. */
static char *
values_buf_take(struct values_buf *b)
{
	char *p;

	if (b->p == NULL)
		values_buf_add(b, "", 0);
	p = b->p;
	memset(b, 0, sizeof(*b));
	return p;
}

static void
values_strv_push(char ***v, size_t *n, char *s)
{
	*v = values_xrealloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

int
values_parse_bool(const char *s, bool *out, char *err, size_t errlen)
{
	static const char *yes[] = { "true", "yes", "on", "1" };
	static const char *no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	values_err(err, errlen, "expected true/false/yes/no/on/off/1/0");
	return -1;
}

int
values_parse_int(const char *s, long long min, long long max,
    long long *out, char *err, size_t errlen)
{
	char *end;
	long long v;

	errno = 0;
	if (*s == '\0' || isspace((unsigned char)*s)) {
		values_err(err, errlen, "expected an integer");
		return -1;
	}
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0') {
		values_err(err, errlen, "expected an integer");
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		values_err(err, errlen, "out of range %lld..%lld", min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int
values_parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {
		{ "KB", 1024 }, { "MB", 1024 * 1024 },
		{ "GB", 1024 * 1024 * 1024 }, { "", 1 },
	};
	unsigned long long v;
	char *end;
	size_t i;

	errno = 0;
	if (!isdigit((unsigned char)*s)) {
		values_err(err, errlen, "expected a size such as 1024, 64KB, "
		    "50MB or 1GB");
		return -1;
	}
	v = strtoull(s, &end, 10);
	/* supervisord accepts "1500 KB": blanks before the unit. */
	while (*end == ' ' || *end == '\t')
		end++;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(end, units[i].suffix) == 0)
			break;
	if (end == s || i == sizeof(units) / sizeof(units[0])) {
		values_err(err, errlen, "expected a size such as 1024, 64KB, "
		    "50MB or 1GB");
		return -1;
	}
	if (errno == ERANGE || v > VALUES_SIZE_MAX / units[i].mult) {
		values_err(err, errlen, "too large (at most %lluGB)",
		    (unsigned long long)(VALUES_SIZE_MAX >> 30));
		return -1;
	}
	*out = v * units[i].mult;
	return 0;
}

int
values_parse_signal(const char *s, int *out, char *err, size_t errlen)
{
	long long n;
	size_t i;

	if (isdigit((unsigned char)*s)) {
		if (values_parse_int(s, 1, SIGRTMAX, &n, NULL, 0) == 0) {
			*out = (int)n;
			return 0;
		}
		values_err(err, errlen, "no signal number %s (1..%d)", s,
		    SIGRTMAX);
		return -1;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < sizeof(values_signals) / sizeof(values_signals[0]);
	    i++) {
		if (strcasecmp(s, values_signals[i].name) == 0) {
			*out = values_signals[i].sig;
			return 0;
		}
	}
	values_err(err, errlen, "expected a signal name (TERM, SIGHUP...) "
	    "or number");
	return -1;
}

const char *
values_signal_name(int sig)
{
	size_t i;

	for (i = 0; i < sizeof(values_signals) / sizeof(values_signals[0]);
	    i++)
		if (values_signals[i].sig == sig)
			return values_signals[i].name;
	return NULL;
}

int
values_parse_duration(const char *s, int *out, char *err, size_t errlen)
{
	long long v;

	if (values_parse_int(s, 0, VALUES_DURATION_MAX, &v, err, errlen) == -1)
		return -1;
	*out = (int)v;
	return 0;
}

int
values_parse_exitcodes(const char *s, uint8_t bitmap[32], char *err,
    size_t errlen)
{
	uint8_t bits[32];
	char item[32];
	const char *p, *q;
	long long v;
	size_t n;

	memset(bits, 0, sizeof(bits));
	p = s;
	for (;;) {
		q = strchr(p, ',');
		n = q != NULL ? (size_t)(q - p) : strlen(p);
		while (n > 0 && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n == 0 || n >= sizeof(item)) {
			values_err(err, errlen, "expected a comma-separated "
			    "list of exit codes 0..255");
			return -1;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (values_parse_int(item, 0, 255, &v, NULL, 0) == -1) {
			values_err(err, errlen, "'%s' is not an exit code "
			    "0..255", item);
			return -1;
		}
		bits[v / 8] |= (uint8_t)(1u << (v % 8));
		if (q == NULL)
			break;
		p = q + 1;
	}
	memcpy(bitmap, bits, sizeof(bits));
	return 0;
}

int
values_parse_octal(const char *s, int max, int *out, char *err,
    size_t errlen)
{
	const char *p = s;
	long v = 0;

	if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
		p += 2;
	if (*p == '\0')
		goto bad;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '7')
			goto bad;
		v = v * 8 + (*p - '0');
		if (v > max) {
			values_err(err, errlen, "out of range 0..0%o", max);
			return -1;
		}
	}
	*out = (int)v;
	return 0;
bad:
	values_err(err, errlen, "expected an octal number such as 022");
	return -1;
}

/* Read one double- or single-quoted run starting at *pp (on the quote)
 * into b; *pp ends after the closing quote. -1 when unterminated. */
static int
values_quoted(const char **pp, struct values_buf *b)
{
	const char *p = *pp;
	char q = *p++;

	for (; *p != q; p++) {
		if (*p == '\0')
			return -1;
		if (q == '"' && *p == '\\' &&
		    (p[1] == '"' || p[1] == '\\' || p[1] == '$' ||
		    p[1] == '`' || p[1] == '\n')) {
			p++;
			if (*p == '\n')
				continue;
		}
		values_buf_addc(b, *p);
	}
	*pp = p + 1;
	return 0;
}

int
values_split_command(const char *s, char ***out, char *err, size_t errlen)
{
	struct values_buf b = { NULL, 0, 0 };
	const char *p = s;
	char **v = NULL;
	size_t n = 0;
	bool inword = false;

	for (;;) {
		if (*p == '\0' || isspace((unsigned char)*p)) {
			if (inword) {
				if (n == VALUES_ARGV_MAX) {
					values_err(err, errlen, "more than %d "
					    "words", VALUES_ARGV_MAX);
					goto fail;
				}
				values_strv_push(&v, &n, values_buf_take(&b));
				inword = false;
			}
			if (*p == '\0')
				break;
			p++;
			continue;
		}
		inword = true;
		if (*p == '"' || *p == '\'') {
			if (values_quoted(&p, &b) == -1) {
				values_err(err, errlen, "unterminated %s quote",
				    *p == '"' ? "double" : "single");
				goto fail;
			}
			if (b.p == NULL)
				values_buf_add(&b, "", 0);
			continue;
		}
		if (*p == '\\') {
			p++;
			if (*p == '\0') {
				values_err(err, errlen, "backslash at the end");
				goto fail;
			}
			if (*p == '\n') {
				p++;
				continue;
			}
		}
		values_buf_addc(&b, *p++);
	}
	if (n == 0) {
		values_err(err, errlen, "empty command");
		goto fail;
	}
	*out = v;
	return 0;
fail:
	free(b.p);
	values_strv_free(v);
	return -1;
}

/* One KEY=value item of an environment list; *pp on the key, left after
 * the item's terminating comma (or at the end). */
static int
values_env_item(const char **pp, struct values_buf *b, char *err,
    size_t errlen)
{
	const char *p = *pp;
	size_t trail = 0;

	while (*p != '=' && *p != ',' && *p != '\0' &&
	    !isspace((unsigned char)*p))
		values_buf_addc(b, *p++);
	while (isspace((unsigned char)*p))
		p++;
	if (b->len == 0 || *p != '=') {
		values_err(err, errlen, "expected KEY=value at '%.20s'", *pp);
		return -1;
	}
	values_buf_addc(b, *p++);
	while (*p == ' ' || *p == '\t')
		p++;
	while (*p != ',' && *p != '\0') {
		if (*p == '"' || *p == '\'') {
			if (values_quoted(&p, b) == -1) {
				values_err(err, errlen, "unterminated quote");
				return -1;
			}
			trail = 0;
			continue;
		}
		if (*p == '\n' || *p == '\r')
			break;
		trail = isspace((unsigned char)*p) ? trail + 1 : 0;
		values_buf_addc(b, *p++);
	}
	b->len -= trail;
	b->p[b->len] = '\0';
	if (strchr(b->p, '\n') != NULL || strchr(b->p, '\r') != NULL) {
		values_err(err, errlen, "a newline inside a value");
		return -1;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p != ',' && *p != '\0') {
		values_err(err, errlen, "expected ',' after a value");
		return -1;
	}
	if (*p == ',')
		p++;
	*pp = p;
	return 0;
}

/* Set "K=V" in the vector, replacing an earlier K. */
static void
values_env_set(char ***v, size_t *n, char *kv)
{
	size_t i, klen = strcspn(kv, "=") + 1;

	for (i = 0; i < *n; i++) {
		if (strncmp((*v)[i], kv, klen) == 0) {
			free((*v)[i]);
			(*v)[i] = kv;
			return;
		}
	}
	values_strv_push(v, n, kv);
}

int
values_parse_env(const char *s, char ***out, char *err, size_t errlen)
{
	struct values_buf b = { NULL, 0, 0 };
	const char *p = s;
	char **v = NULL;
	size_t n = 0;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		if (values_env_item(&p, &b, err, errlen) == -1)
			goto fail;
		if (n == VALUES_ENV_MAX) {
			values_err(err, errlen, "more than %d variables",
			    VALUES_ENV_MAX);
			goto fail;
		}
		values_env_set(&v, &n, values_buf_take(&b));
	}
	if (v == NULL) {
		v = values_xrealloc(NULL, sizeof(*v));
		v[0] = NULL;
	}
	*out = v;
	return 0;
fail:
	free(b.p);
	values_strv_free(v);
	return -1;
}

/* The value of one expansion name: a string in *sv or a number in *nv.
 * 1 string, 2 number, -1 unknown. */
static int
values_expand_lookup(const char *name, const struct values_expand *x,
    const char **sv, long long *nv, char *err, size_t errlen)
{
	if (strncmp(name, "ENV_", 4) == 0) {
		if ((*sv = getenv(name + 4)) != NULL)
			return 1;
		values_err(err, errlen, "%%(%s)s: environment variable %s "
		    "is not set", name, name + 4);
		return -1;
	}
	*sv = NULL;
	if (strcmp(name, "here") == 0)
		*sv = x->here;
	else if (strcmp(name, "host_node_name") == 0)
		*sv = x->host_node_name;
	else if (strcmp(name, "program_name") == 0)
		*sv = x->program_name;
	else if (strcmp(name, "group_name") == 0)
		*sv = x->group_name;
	else if (strcmp(name, "process_num") == 0 && x->process_num >= 0) {
		*nv = x->process_num;
		return 2;
	} else if (strcmp(name, "numprocs") == 0 && x->numprocs >= 0) {
		*nv = x->numprocs;
		return 2;
	}
	if (*sv != NULL)
		return 1;
	values_err(err, errlen, "unknown expansion %%(%s)", name);
	return -1;
}

/* A parsed %(name)SPEC: flags "-0 +", width, precision. */
struct values_spec {
	bool	 left, zero, plus, space;
	long	 width;
	long	 prec;		/* -1: none */
};

static void
values_spec_parse(const char *spec, struct values_spec *sp)
{
	char *end;

	memset(sp, 0, sizeof(*sp));
	for (; *spec != '\0' && strchr("-0 +", *spec) != NULL; spec++) {
		sp->left |= *spec == '-';
		sp->zero |= *spec == '0';
		sp->plus |= *spec == '+';
		sp->space |= *spec == ' ';
	}
	sp->width = strtol(spec, &end, 10);
	sp->prec = *end == '.' ? strtol(end + 1, NULL, 10) : -1;
}

static void
values_buf_fill(struct values_buf *b, char c, size_t n)
{
	while (n-- > 0)
		values_buf_addc(b, c);
}

/* Append sign, precision zeros, text and width padding as printf would
 * for %s (sign "") or %d. */
static int
values_expand_pad(struct values_buf *b, const struct values_spec *sp,
    const char *sign, size_t zeros, const char *text, size_t tlen,
    bool numeric, char *err, size_t errlen)
{
	size_t total = strlen(sign) + zeros + tlen, pad = 0;

	if (sp->width > 0 && (size_t)sp->width > total)
		pad = (size_t)sp->width - total;
	if (b->len + total + pad > VALUES_EXPAND_MAX) {
		values_err(err, errlen, "value longer than %d bytes after "
		    "expansion", VALUES_EXPAND_MAX);
		return -1;
	}
	if (!sp->left && !(numeric && sp->zero && sp->prec < 0))
		values_buf_fill(b, ' ', pad);
	values_buf_add(b, sign, strlen(sign));
	if (!sp->left && numeric && sp->zero && sp->prec < 0)
		values_buf_fill(b, '0', pad);
	values_buf_fill(b, '0', zeros);
	values_buf_add(b, text, tlen);
	if (sp->left)
		values_buf_fill(b, ' ', pad);
	return 0;
}

/* Format one looked-up value with a Python-like spec: flags "-0 +",
 * width, precision, conversion s, d or i. */
static int
values_expand_format(struct values_buf *b, const char *spec, char conv,
    int kind, const char *sv, long long nv, char *err, size_t errlen)
{
	struct values_spec sp;
	unsigned long long u;
	char num[32], *end;
	const char *sign;
	size_t tlen, zeros = 0;

	values_spec_parse(spec, &sp);
	if (conv == 's') {
		if (kind == 2) {
			snprintf(num, sizeof(num), "%lld", nv);
			sv = num;
		}
		tlen = strlen(sv);
		if (sp.prec >= 0 && (size_t)sp.prec < tlen)
			tlen = (size_t)sp.prec;
		return values_expand_pad(b, &sp, "", 0, sv, tlen, false, err,
		    errlen);
	}
	if (kind == 1) {
		errno = 0;
		nv = strtoll(sv, &end, 10);
		if (*sv == '\0' || *end != '\0' || errno == ERANGE) {
			values_err(err, errlen, "%%(...)%c needs a number, got "
			    "'%.40s'", conv, sv);
			return -1;
		}
	}
	u = nv < 0 ? 0 - (unsigned long long)nv : (unsigned long long)nv;
	snprintf(num, sizeof(num), "%llu", u);
	sign = nv < 0 ? "-" : sp.plus ? "+" : sp.space ? " " : "";
	tlen = strlen(num);
	if (sp.prec > 0 && (size_t)sp.prec > tlen)
		zeros = (size_t)sp.prec - tlen;
	return values_expand_pad(b, &sp, sign, zeros, num, tlen, true, err,
	    errlen);
}

/* One %(name)spec at *pp (just after the '%'); *pp moves past it. */
static int
values_expand_one(const char **pp, const struct values_expand *x,
    struct values_buf *b, char *err, size_t errlen)
{
	const char *p = *pp + 1, *close, *sv;
	char name[128], spec[16];
	long long nv = 0;
	size_t n;
	int kind;

	if ((close = strchr(p, ')')) == NULL ||
	    (size_t)(close - p) >= sizeof(name)) {
		values_err(err, errlen, "unterminated %%( expansion");
		return -1;
	}
	n = (size_t)(close - p);
	memcpy(name, p, n);
	name[n] = '\0';
	p = close + 1;
	n = strspn(p, "-0 +");
	n += strspn(p + n, "0123456789");
	if (p[n] == '.')
		n += 1 + strspn(p + n + 1, "0123456789");
	if (n >= 8 || (p[n] != 's' && p[n] != 'd' && p[n] != 'i')) {
		values_err(err, errlen, "bad format after %%(%s): expected "
		    "s or d as in %%(%s)s", name, name);
		return -1;
	}
	memcpy(spec, p, n);
	spec[n] = '\0';
	if ((kind = values_expand_lookup(name, x, &sv, &nv, err, errlen)) < 0)
		return -1;
	if (values_expand_format(b, spec, p[n], kind, sv, nv, err,
	    errlen) == -1)
		return -1;
	*pp = p + n + 1;
	return 0;
}

char *
values_expand(const char *s, const struct values_expand *x, char *err,
    size_t errlen)
{
	struct values_buf b = { NULL, 0, 0 };
	const char *p = s, *q;

	while ((q = strchr(p, '%')) != NULL) {
		if (b.len + (size_t)(q - p) > VALUES_EXPAND_MAX) {
			values_err(err, errlen, "value longer than %d bytes "
			    "after expansion", VALUES_EXPAND_MAX);
			goto fail;
		}
		values_buf_add(&b, p, (size_t)(q - p));
		if (q[1] == '%') {
			values_buf_addc(&b, '%');
			p = q + 2;
			continue;
		}
		if (q[1] != '(') {
			values_err(err, errlen, "a '%%' must be written '%%%%' "
			    "or start an expansion such as %%(here)s");
			goto fail;
		}
		p = q + 1;
		if (values_expand_one(&p, x, &b, err, errlen) == -1)
			goto fail;
	}
	values_buf_add(&b, p, strlen(p));
	return values_buf_take(&b);
fail:
	free(b.p);
	return NULL;
}

size_t
values_strv_len(char *const *v)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

char **
values_strv_dup(char *const *v)
{
	size_t i, n = values_strv_len(v);
	char **r;

	if (v == NULL)
		return NULL;
	r = values_xrealloc(NULL, (n + 1) * sizeof(*r));
	for (i = 0; i < n; i++)
		r[i] = xstrdup(v[i]);
	r[n] = NULL;
	return r;
}

bool
values_strv_equal(char *const *a, char *const *b)
{
	size_t i;

	if (values_strv_len(a) != values_strv_len(b))
		return false;
	for (i = 0; a != NULL && a[i] != NULL; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

void
values_strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* A host name as DNS allows: letters, digits, '-' and '.'. */
static bool
values_host_name_ok(const char *h)
{
	size_t n = strlen(h);

	return n >= 1 && n <= 253 && strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-.") == n &&
	    h[0] != '-' && h[0] != '.';
}

int
values_parse_hostport(const char *s, char **host, int *port, char *err,
    size_t errlen)
{
	unsigned char addr[16];
	const char *colon, *hs, *he;
	long long n;
	char *h, perr[128];

	if (s[0] == '[') {
		if ((he = strchr(s, ']')) == NULL || he[1] != ':') {
			values_err(err, errlen, "expected [IPV6]:PORT");
			return -1;
		}
		hs = s + 1;
		colon = he + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			values_err(err, errlen, "expected HOST:PORT");
			return -1;
		}
		hs = s;
		he = colon;
	}
	h = xprintf("%.*s", (int)(he - hs), hs);
	if (s[0] == '[' ? inet_pton(AF_INET6, h, addr) != 1 :
	    strcmp(h, "*") != 0 && inet_pton(AF_INET, h, addr) != 1 &&
	    (strspn(h, "0123456789.") == strlen(h) ||
	    !values_host_name_ok(h))) {
		values_err(err, errlen, "bad host '%.64s': expected an IPv4 "
		    "address, [IPv6], a name or *", h);
		free(h);
		return -1;
	}
	if (values_parse_int(colon + 1, 1, 65535, &n, perr,
	    sizeof(perr)) == -1) {
		values_err(err, errlen, "bad port '%.16s': %s", colon + 1,
		    perr);
		free(h);
		return -1;
	}
	*host = h;
	*port = (int)n;
	return 0;
}

/* supervisord's event type names (supervisor/events.py, EventTypes). */
static const char *const values_events[] = {
	"EVENT", "PROCESS_STATE", "PROCESS_STATE_STOPPED",
	"PROCESS_STATE_EXITED", "PROCESS_STATE_STARTING",
	"PROCESS_STATE_STOPPING", "PROCESS_STATE_BACKOFF",
	"PROCESS_STATE_FATAL", "PROCESS_STATE_RUNNING",
	"PROCESS_STATE_UNKNOWN", "PROCESS_COMMUNICATION",
	"PROCESS_COMMUNICATION_STDOUT", "PROCESS_COMMUNICATION_STDERR",
	"PROCESS_LOG", "PROCESS_LOG_STDOUT", "PROCESS_LOG_STDERR",
	"REMOTE_COMMUNICATION", "SUPERVISOR_STATE_CHANGE",
	"SUPERVISOR_STATE_CHANGE_RUNNING", "SUPERVISOR_STATE_CHANGE_STOPPING",
	"TICK", "TICK_5", "TICK_60", "TICK_3600", "PROCESS_GROUP",
	"PROCESS_GROUP_ADDED", "PROCESS_GROUP_REMOVED", NULL
};

bool
values_event_known(const char *name)
{
	size_t i;

	for (i = 0; values_events[i] != NULL; i++)
		if (strcmp(values_events[i], name) == 0)
			return true;
	return false;
}

int
values_parse_list(const char *s, bool upper, char ***out, char *err,
    size_t errlen)
{
	char **v = NULL, *copy, *w, *save, *c;
	size_t n = 0, i;

	copy = xstrdup(s);
	for (w = strtok_r(copy, ", \t\n", &save); w != NULL;
	    w = strtok_r(NULL, ", \t\n", &save)) {
		if (upper)
			for (c = w; *c != '\0'; c++)
				*c = (char)toupper((unsigned char)*c);
		for (i = 0; i < n; i++)
			if (strcmp(v[i], w) == 0)
				break;
		if (i < n)
			continue;	/* a repeated name counts once */
		if (n == VALUES_ARGV_MAX) {
			values_err(err, errlen, "more than %d names",
			    VALUES_ARGV_MAX);
			values_strv_free(v);
			free(copy);
			return -1;
		}
		v = xreallocarray(v, n + 2, sizeof(*v));
		v[n++] = xstrdup(w);
		v[n] = NULL;
	}
	free(copy);
	if (n == 0) {
		values_err(err, errlen, "expected a comma-separated list");
		return -1;
	}
	*out = v;
	return 0;
}
