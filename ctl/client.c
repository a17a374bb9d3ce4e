/*
 * The control-socket client of superctl. The socket is non-blocking and
 * every wait is a poll(2) with a deadline, so a daemon that is stopped
 * (kill -STOP), wedged or gone costs at most the timeout. Replies are
 * matched by id; notifications are handed to a callback.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "fdio.h"
#include "rpc.h"

struct client {
	int	 fd;
	char	*path;
	int	 timeout_ms;	/* <= 0: none */
	json_int_t next_id;
	char	*buf;		/* bytes read, not yet parsed */
	size_t	 start;		/* first unparsed byte */
	size_t	 scan;		/* bytes from start known to hold no '\n' */
	size_t	 len;
	size_t	 cap;
	bool	 eof;		/* the daemon closed the connection */
	char	 error[512];
};

volatile sig_atomic_t client_interrupted;

static void client_fail(struct client *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int64_t
client_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
client_fail(struct client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
}

/* Milliseconds left until deadline (-1: none) for poll(2). */
static int
client_remaining(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - client_now_ms();
	if (left < 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Wait for `events` on c->fd: 1 ready, 0 timed out, or a client_status. */
static int
client_wait(struct client *c, short events, int64_t deadline)
{
	struct pollfd pfd;
	int n;

	for (;;) {
		if (client_interrupted)
			return CLIENT_INTERRUPTED;
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, client_remaining(deadline));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			client_fail(c, "poll on %s: %s", c->path, strerror(errno));
			return CLIENT_UNREACHABLE;
		}
		return n > 0 ? 1 : 0;
	}
}

/* Connect, retrying EAGAIN (a full backlog) until the deadline. */
static int
client_connect(struct client *c, const struct sockaddr_un *sun,
    int64_t deadline)
{
	int err, rc;
	socklen_t len;

	for (;;) {
		if (connect(c->fd, (const struct sockaddr *)sun,
		    sizeof(*sun)) == 0)
			return 0;
		if (errno == EINTR && !client_interrupted)
			continue;
		if (errno == EAGAIN) {
			if (deadline >= 0 && client_now_ms() >= deadline)
				break;
			usleep(10000);
			continue;
		}
		if (errno != EINPROGRESS)
			return -1;
		rc = client_wait(c, POLLOUT, deadline);
		if (rc == 0)
			break;
		if (rc < 0)
			return -1;
		len = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			return -1;
		if (err != 0) {
			errno = err;
			return -1;
		}
		return 0;
	}
	errno = ETIMEDOUT;
	return -1;
}

struct client *
client_open(const char *path, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct client *c;
	int64_t deadline;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "cannot connect to %s: %s", path,
		    strerror(ENAMETOOLONG));
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->path = strdup(path)) == NULL) {
		free(c);
		snprintf(err, errlen, "cannot connect to %s: %s", path,
		    strerror(ENOMEM));
		return NULL;
	}
	c->timeout_ms = timeout_ms;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	deadline = timeout_ms > 0 ? client_now_ms() + timeout_ms : -1;
	if (c->fd == -1 || client_connect(c, &sun, deadline) == -1) {
		snprintf(err, errlen, "cannot connect to %s: %s", path,
		    client_interrupted ? "interrupted" : strerror(errno));
		client_close(c);
		return NULL;
	}
	return c;
}

void
client_close(struct client *c)
{
	if (c == NULL)
		return;
	if (c->fd != -1)
		close(c->fd);
	free(c->path);
	free(c->buf);
	free(c);
}

const char *
client_error(const struct client *c)
{
	return c->error;
}

/* Write one whole request line before the deadline. */
static int
client_send(struct client *c, json_t *msg, int64_t deadline)
{
	size_t len, off = 0;
	ssize_t n;
	char *line;
	int rc;

	line = rpc_dump_line(msg, &len);
	if (line == NULL) {
		client_fail(c, "cannot encode the request");
		return CLIENT_PROTOCOL;
	}
	while (off < len) {
		n = fdio_write(c->fd, line + off, len - off);
		if (n == -1) {
			client_fail(c, "writing to %s: %s", c->path,
			    strerror(errno));
			free(line);
			return CLIENT_UNREACHABLE;
		}
		off += (size_t)n;
		if (off == len)
			break;
		rc = client_wait(c, POLLOUT, deadline);
		if (rc <= 0) {
			if (rc == 0)
				client_fail(c, "timed out writing to %s",
				    c->path);
			free(line);
			return rc == 0 ? CLIENT_UNREACHABLE : rc;
		}
	}
	free(line);
	return CLIENT_OK;
}

/* ---- reading replies ---- */

/*
 * A JSON text into jansson values, as json_loadb(..., 0) would read it
 * (an object or array at the top, UTF-8 checked, \u0000 refused, the
 * last of duplicate keys wins). jansson's loader reads a byte at a time
 * through callbacks, near 200 instructions a byte; a `status` of 1000
 * processes is 235 KB. This one scans runs of plain bytes and hands
 * whole strings and keys to the _nocheck setters.
 */
struct client_json {
	const unsigned char *p;
	const unsigned char *end;
	int	 depth;
	const char *error;	/* static reason of the first failure */
};

#define CLIENT_JSON_DEPTH	  512

static json_t *client_json_value(struct client_json *);

static json_t *
client_json_fail(struct client_json *j, const char *why)
{
	if (j->error == NULL)
		j->error = why;
	return NULL;
}

static void
client_json_ws(struct client_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t
client_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned int cp;
	size_t len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int
client_json_hex4(const unsigned char *s, unsigned int *out)
{
	unsigned int v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (s[i] >= '0' && s[i] <= '9')
			v |= s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			v |= s[i] - 'a' + 10;
		else if (s[i] >= 'A' && s[i] <= 'F')
			v |= s[i] - 'A' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Write code point cp as UTF-8 at d; the bytes written. */
static size_t
client_utf8_put(unsigned char *d, unsigned int cp)
{
	if (cp < 0x80) {
		d[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (unsigned char)(0xc0 | cp >> 6);
		d[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (unsigned char)(0xe0 | cp >> 12);
		d[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (unsigned char)(0xf0 | cp >> 18);
	d[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The escapes of a string from j->p (after the '"') into *out (malloc'd;
 * never longer than the text) up to the closing quote. */
static int
client_json_unescape(struct client_json *j, unsigned char **out,
    size_t *len)
{
	const unsigned char *s = j->p;
	unsigned char *buf, *d, c;
	unsigned int cp, lo;
	size_t k;

	if ((buf = malloc((size_t)(j->end - s) + 1)) == NULL)
		return -1;
	for (d = buf; s < j->end && *s != '"'; ) {
		c = *s;
		if (c < 0x20)
			goto bad;
		if (c >= 0x80) {
			if ((k = client_utf8_seq(s, (size_t)(j->end - s))) == 0)
				goto bad;
			memcpy(d, s, k);
			d += k;
			s += k;
			continue;
		}
		if (c != '\\') {
			*d++ = c;
			s++;
			continue;
		}
		if (j->end - s < 2)
			goto bad;
		switch (s[1]) {
		case '"':
		case '\\':
		case '/':
			*d++ = s[1];
			break;
		case 'b':
			*d++ = '\b';
			break;
		case 'f':
			*d++ = '\f';
			break;
		case 'n':
			*d++ = '\n';
			break;
		case 'r':
			*d++ = '\r';
			break;
		case 't':
			*d++ = '\t';
			break;
		case 'u':
			if (j->end - s < 6 || client_json_hex4(s + 2, &cp) == -1 ||
			    cp == 0)
				goto bad;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				goto bad;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (j->end - s < 12 || s[6] != '\\' ||
				    s[7] != 'u' ||
				    client_json_hex4(s + 8, &lo) == -1 ||
				    lo < 0xdc00 || lo > 0xdfff)
					goto bad;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				s += 6;
			}
			d += client_utf8_put(d, cp);
			s += 4;
			break;
		default:
			goto bad;
		}
		s += 2;
	}
	if (s >= j->end)
		goto bad;
	j->p = s + 1;
	*out = buf;
	*len = (size_t)(d - buf);
	return 0;
bad:
	free(buf);
	j->error = "invalid string";
	return -1;
}

/*
 * A string at j->p (on its '"'): *s points into the text when it holds
 * no escape (*owned NULL), else to *owned, malloc'd.
 */
static int
client_json_string(struct client_json *j, const char **s, size_t *len,
    unsigned char **owned)
{
	const unsigned char *q = ++j->p;
	size_t k;

	*owned = NULL;
	for (;;) {
		while (q < j->end && *q >= 0x20 && *q < 0x80 && *q != '"' &&
		    *q != '\\')
			q++;
		if (q >= j->end || *q < 0x20 || *q == '\\')
			break;
		if (*q == '"') {
			*s = (const char *)j->p;
			*len = (size_t)(q - j->p);
			j->p = q + 1;
			return 0;
		}
		if ((k = client_utf8_seq(q, (size_t)(j->end - q))) == 0)
			break;
		q += k;
	}
	if (q < j->end && *q == '\\') {
		if (client_json_unescape(j, owned, len) == -1) {
			client_json_fail(j, "invalid string");
			return -1;
		}
		*s = (const char *)*owned;
		return 0;
	}
	client_json_fail(j, "invalid string");
	return -1;
}

static json_t *
client_json_number(struct client_json *j)
{
	const unsigned char *s = j->p, *q = s;
	char tmp[64], *copy, *endp;
	bool real = false;
	json_int_t v = 0;
	double d;
	size_t n;

	if (q < j->end && *q == '-')
		q++;
	if (q >= j->end || *q < '0' || *q > '9')
		return client_json_fail(j, "invalid number");
	if (*q == '0')
		q++;
	else
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	if (q < j->end && *q == '.') {
		real = true;
		if (++q >= j->end || *q < '0' || *q > '9')
			return client_json_fail(j, "invalid number");
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < j->end && (*q == 'e' || *q == 'E')) {
		real = true;
		if (++q < j->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= j->end || *q < '0' || *q > '9')
			return client_json_fail(j, "invalid number");
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	}
	j->p = q;
	if (!real) {
		const unsigned char *dig = s + (*s == '-');

		/* Accumulate negatively: JSON_INTEGER_MIN has no positive. */
		for (; dig < q; dig++) {
			if (v < (INT64_MIN + (*dig - '0')) / 10)
				return client_json_fail(j, "too big integer");
			v = v * 10 - (*dig - '0');
		}
		if (*s != '-') {
			if (v == INT64_MIN)
				return client_json_fail(j, "too big integer");
			v = -v;
		}
		return json_integer(v);
	}
	n = (size_t)(q - s);
	copy = n < sizeof(tmp) ? tmp : malloc(n + 1);
	if (copy == NULL)
		return client_json_fail(j, "out of memory");
	memcpy(copy, s, n);
	copy[n] = '\0';
	errno = 0;
	d = strtod(copy, &endp);
	if (copy != tmp)
		free(copy);
	if (errno == ERANGE && d != 0)
		return client_json_fail(j, "real number overflow");
	return json_real(d);
}

static json_t *
client_json_object(struct client_json *j)
{
	unsigned char *owned;
	const char *key;
	json_t *obj, *v;
	size_t keylen;

	if ((obj = json_object()) == NULL)
		return client_json_fail(j, "out of memory");
	j->p++;
	client_json_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return obj;
	}
	for (;;) {
		if (j->p >= j->end || *j->p != '"' ||
		    client_json_string(j, &key, &keylen, &owned) == -1)
			goto bad;
		if (memchr(key, '\0', keylen) != NULL) {
			free(owned);
			goto bad;
		}
		client_json_ws(j);
		if (j->p >= j->end || *j->p != ':') {
			free(owned);
			goto bad;
		}
		j->p++;
		v = client_json_value(j);
		if (v == NULL || json_object_setn_new_nocheck(obj, key, keylen,
		    v) == -1) {
			free(owned);
			goto bad;
		}
		free(owned);
		client_json_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			client_json_ws(j);
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			return obj;
		}
		goto bad;
	}
bad:
	json_decref(obj);
	return client_json_fail(j, "invalid object");
}

static json_t *
client_json_array(struct client_json *j)
{
	json_t *arr, *v;

	if ((arr = json_array()) == NULL)
		return client_json_fail(j, "out of memory");
	j->p++;
	client_json_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return arr;
	}
	for (;;) {
		if ((v = client_json_value(j)) == NULL ||
		    json_array_append_new(arr, v) == -1)
			break;
		client_json_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return arr;
		}
		break;
	}
	json_decref(arr);
	return client_json_fail(j, "invalid array");
}

static json_t *
client_json_literal(struct client_json *j, const char *word, json_t *v)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return client_json_fail(j, "invalid token");
	j->p += n;
	return v;
}

static json_t *
client_json_value(struct client_json *j)
{
	unsigned char *owned;
	const char *s;
	json_t *v;
	size_t len;

	client_json_ws(j);
	if (j->p >= j->end)
		return client_json_fail(j, "unexpected end of input");
	switch (*j->p) {
	case '{':
	case '[':
		if (++j->depth > CLIENT_JSON_DEPTH)
			return client_json_fail(j, "too deeply nested");
		v = *j->p == '{' ? client_json_object(j) :
		    client_json_array(j);
		j->depth--;
		return v;
	case '"':
		if (client_json_string(j, &s, &len, &owned) == -1)
			return NULL;
		if (memchr(s, '\0', len) != NULL)
			v = client_json_fail(j, "\\u0000 is not allowed");
		else if ((v = json_stringn_nocheck(s, len)) == NULL)
			client_json_fail(j, "out of memory");
		free(owned);
		return v;
	case 't':
		return client_json_literal(j, "true", json_true());
	case 'f':
		return client_json_literal(j, "false", json_false());
	case 'n':
		return client_json_literal(j, "null", json_null());
	default:
		return client_json_number(j);
	}
}

/* One reply line into a new object or array; NULL with *why. */
static json_t *
client_json_load(const char *text, size_t len, const char **why)
{
	struct client_json j;
	json_t *v;

	j.p = (const unsigned char *)text;
	j.end = j.p + len;
	j.depth = 0;
	j.error = NULL;
	client_json_ws(&j);
	if (j.p < j.end && *j.p != '{' && *j.p != '[') {
		*why = "'[' or '{' expected";
		return NULL;
	}
	v = client_json_value(&j);
	client_json_ws(&j);
	if (v != NULL && j.p != j.end) {
		json_decref(v);
		v = client_json_fail(&j, "end of file expected");
	}
	*why = j.error != NULL ? j.error : "parse error";
	return v;
}

/* Make room for at least `want` more bytes, within the response cap. */
static int
client_reserve(struct client *c, size_t want)
{
	size_t cap;
	char *p;

	if (c->start > 0 && (c->start > c->len / 2 || c->len == c->cap)) {
		memmove(c->buf, c->buf + c->start, c->len - c->start);
		c->len -= c->start;
		c->start = 0;
	}
	if (c->len + want <= c->cap)
		return 0;
	cap = c->cap ? c->cap : 65536;
	while (cap < c->len + want)
		cap *= 2;
	p = realloc(c->buf, cap);
	if (p == NULL)
		return -1;
	c->buf = p;
	c->cap = cap;
	return 0;
}

/*
 * The next message from the daemon (new reference in *msg), waiting until
 * deadline (-1: for ever). 0 on timeout, 1 with a message, or a
 * client_status.
 */
static int
client_next(struct client *c, int64_t deadline, json_t **msg)
{
	const char *why;
	ssize_t n;
	char *nl;
	size_t linelen;
	int rc;

	for (;;) {
		nl = c->buf == NULL ? NULL : memchr(c->buf + c->start +
		    c->scan, '\n', c->len - c->start - c->scan);
		if (nl != NULL) {
			linelen = (size_t)(nl - (c->buf + c->start));
			*msg = client_json_load(c->buf + c->start, linelen,
			    &why);
			c->start += linelen + 1;
			c->scan = 0;
			if (*msg == NULL || !json_is_object(*msg)) {
				if (*msg != NULL)
					why = "not an object";
				json_decref(*msg);
				client_fail(c, "bad reply from %s: %s", c->path,
				    why);
				return CLIENT_PROTOCOL;
			}
			return 1;
		}
		c->scan = c->len - c->start;
		if (c->scan > CLIENT_MAX_RESPONSE) {
			client_fail(c, "reply from %s larger than %d MiB",
			    c->path, CLIENT_MAX_RESPONSE >> 20);
			return CLIENT_PROTOCOL;
		}
		if (client_reserve(c, 65536) == -1) {
			client_fail(c, "reading from %s: %s", c->path,
			    strerror(ENOMEM));
			return CLIENT_PROTOCOL;
		}
		n = fdio_read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == -2) {
			c->eof = true;
			client_fail(c, "%s: connection closed by superd",
			    c->path);
			return CLIENT_UNREACHABLE;
		}
		if (n == -1) {
			client_fail(c, "reading from %s: %s", c->path,
			    strerror(errno));
			return CLIENT_UNREACHABLE;
		}
		rc = client_wait(c, POLLIN, deadline);
		if (rc <= 0)
			return rc;
	}
}

/* The id of a reply, or -1 when msg is a notification or has no integer
 * id. */
static json_int_t
client_reply_id(json_t *msg)
{
	json_t *id = json_object_get(msg, "id");

	if (id == NULL || json_object_get(msg, "method") != NULL)
		return -1;
	if (json_object_get(msg, "result") == NULL &&
	    json_object_get(msg, "error") == NULL)
		return -1;
	return json_is_integer(id) ? json_integer_value(id) : 0;
}

static void
client_dispatch(json_t *msg, client_notify_fn fn, void *arg)
{
	json_t *method = json_object_get(msg, "method");

	if (fn != NULL && json_is_string(method))
		fn(arg, json_string_value(method),
		    json_object_get(msg, "params"));
}

int
client_call(struct client *c, const char *method, json_t *params, int flags,
    json_t **reply, client_notify_fn fn, void *arg)
{
	json_int_t id, ping = -1, got;
	int64_t deadline;
	json_t *msg;
	int rc;

	*reply = NULL;
	deadline = c->timeout_ms > 0 ? client_now_ms() + c->timeout_ms : -1;
	id = ++c->next_id;
	msg = rpc_request_new(id, method, params);
	if (msg == NULL) {
		client_fail(c, "cannot build the request");
		return CLIENT_PROTOCOL;
	}
	rc = client_send(c, msg, deadline);
	json_decref(msg);
	if (rc != CLIENT_OK)
		return rc;
	for (;;) {
		rc = client_next(c, deadline, &msg);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			/*
			 * A long call (start with wait) may legitimately
			 * take minutes; ask the daemon whether it is alive
			 * instead of giving up, and give up only when the
			 * ping goes unanswered too.
			 */
			if (!(flags & CLIENT_CALL_LONG) || ping != -1) {
				client_fail(c, "%s: superd did not answer "
				    "within %d s", c->path,
				    c->timeout_ms / 1000);
				return CLIENT_UNREACHABLE;
			}
			ping = ++c->next_id;
			deadline = client_now_ms() + c->timeout_ms;
			msg = rpc_request_new(ping, "daemon.version", NULL);
			rc = msg ? client_send(c, msg, deadline) :
			    CLIENT_PROTOCOL;
			json_decref(msg);
			if (rc != CLIENT_OK)
				return rc;
			continue;
		}
		got = client_reply_id(msg);
		if (got == id) {
			*reply = msg;
			return CLIENT_OK;
		}
		if (got == ping && ping != -1) {
			ping = -1;
			deadline = client_now_ms() + c->timeout_ms;
		} else if (got == -1)
			client_dispatch(msg, fn, arg);
		json_decref(msg);
	}
}

int
client_stream(struct client *c, client_notify_fn fn, void *arg)
{
	json_t *msg;
	int rc;

	for (;;) {
		rc = client_next(c, -1, &msg);
		if (rc == CLIENT_INTERRUPTED)
			return CLIENT_OK;
		if (rc == CLIENT_UNREACHABLE && c->eof)
			return CLIENT_OK;
		if (rc < 0)
			return rc;
		if (rc == 1 && client_reply_id(msg) == -1)
			client_dispatch(msg, fn, arg);
		json_decref(msg);
	}
}
