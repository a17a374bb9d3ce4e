/*
 * supervisord's HTTP interface: one request at a time per connection
 * (pipelined requests wait in the input buffer, which is bounded),
 * libhttp-parser for the framing, a route table, basic auth checked in
 * constant time, and timers so that a slow, endless or unread
 * connection is cut off without touching the others.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <http_parser.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "http.h"
#include "http_routes.h"
#include "log.h"
#include "handover.h"
#define METHODS_INTERNAL
#include "methods.h"
#include "xmlrpc.h"

#define HTTP_MAX_CONNS	  1024
#define HTTP_MAX_UNPRIV	  64	/* Unix peers without the control role */
#define HTTP_FIELD_MAX	  32	/* names we look at are short */
#define HTTP_INPUT_MAX	  (HTTP_MAX_BODY + HTTP_MAX_HEAD + 4096)

enum http_kind {
	HTTP_UNIX = 0,
	HTTP_INET
};

struct http_request {
	TAILQ_ENTRY(http_request) entry;
	struct http *srv;
	enum http_kind kind;
	int	 role;
	pid_t	 pid;
	struct bufferevent *bev;
	struct event *timer;
	struct event *kick;	/* resume parsing after an answer */
	http_parser parser;
	bool	 alive;
	bool	 in_read;	/* inside the read loop: no re-entry */
	bool	 dead;		/* closed in the read loop */
	bool	 unpriv;	/* counted in nunpriv */
	/* The request being read or answered. */
	char	 method[16];
	char	*url;
	size_t	 nurl;
	size_t	 head;		/* bytes of request line, headers */
	char	 field[HTTP_FIELD_MAX + 1];
	size_t	 nfield;
	bool	 in_value;
	bool	 want_value;	/* this header is Authorization */
	char	*auth;
	size_t	 nauth;
	struct evbuffer *body;
	struct evbuffer *in;	/* what the parser has yet to see */
	bool	 started;	/* some bytes of a request arrived */
	bool	 complete;
	bool	 busy;		/* dispatched, answer not complete */
	bool	 streaming;
	bool	 keep_alive;
	bool	 closing;	/* close once the output drained */
	bool	 stalled;	/* unread answers: next request waits */
	void	(*on_close)(void *);
	void	*on_close_arg;
};

TAILQ_HEAD(http_conns, http_request);

struct http {
	struct event_base *base;
	struct http_opts opts;
	char	*socket;
	char	*config_path;
	char	*unix_username, *unix_password;
	char	*inet_username, *inet_password;
	int	 inet_fds[8];
	struct event *inet_ev[8];
	int	 ninet;
	struct http_conns conns;
	size_t	 nconns;
	size_t	 nunpriv;	/* of them, Unix peers without control */
};

static http_parser_settings http_settings;

/*
 * The routes. One row per path: method (NULL: any), path, whether the
 * path is a prefix, handler, whether it is open without credentials.
 */
const struct http_route http_routes[] = {
	{ "POST", "/RPC2", false, rpcsrv_handle_rpc2, false },
	{ "GET", "/logtail/", true, rpcsrv_handle_logtail, false },
	{ "GET", "/mainlogtail", false, rpcsrv_handle_mainlogtail,
	    false },
	{ "GET", "/metrics", false, web_handle_metrics, false },
	{ "GET", "/healthz", false, web_handle_healthz, true },
	{ "GET", "/", false, web_handle_page, false },
	{ "POST", "/action", false, web_handle_action, false },
	{ NULL, NULL, false, NULL, false }
};

static void http_conn_close(struct http_request *);
static void http_conn_process(struct http_request *);
static void http_conn_arm(struct http_request *);

/* ---------------------------------------------------------------- */
/* Answers. */

static const char *
http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 303:
		return "See Other";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Payload Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

/* The request is answered: read the next one or close. */
static void
http_done(struct http_request *r)
{
	struct timeval now = { 0, 0 };
	struct evbuffer *out;

	r->busy = false;
	r->streaming = false;
	r->on_close = NULL;
	r->on_close_arg = NULL;
	r->complete = false;
	r->started = false;
	free(r->url);
	r->url = NULL;
	r->nurl = 0;
	r->head = 0;
	free(r->auth);
	r->auth = NULL;
	r->nauth = 0;
	evbuffer_drain(r->body, evbuffer_get_length(r->body));
	if (!r->keep_alive) {
		r->closing = true;
		bufferevent_disable(r->bev, EV_READ);
		out = bufferevent_get_output(r->bev);
		if (evbuffer_get_length(out) == 0)
			http_conn_close(r);
		else
			http_conn_arm(r);
		return;
	}
	http_parser_pause(&r->parser, 0);
	http_conn_arm(r);
	out = bufferevent_get_output(r->bev);
	if (evbuffer_get_length(out) > HTTP_MAX_QUEUE) {
		/* Pipelined requests whose answers are not read (a scrape
		 * loop that never reads): take the next one only once these
		 * drained, so memory stays bounded; the write timeout drops
		 * a client that never reads. */
		r->stalled = true;
		return;
	}
	/* The next pipelined request after the loop polled: a client
	 * sending many must not starve the others. */
	evtimer_add(r->kick, &now);
}

static void
http_head(struct http_request *r, int status, const char *ctype,
    const char *extra, size_t len, bool chunked)
{
	struct evbuffer *out = bufferevent_get_output(r->bev);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nServer: superd\r\n"
	    "Content-Type: %s\r\n", status, http_reason(status),
	    ctype != NULL ? ctype : "text/plain");
	if (chunked)
		evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
	else
		evbuffer_add_printf(out, "Content-Length: %zu\r\n", len);
	if (!r->keep_alive)
		evbuffer_add_printf(out, "Connection: close\r\n");
	if (extra != NULL)
		evbuffer_add_printf(out, "%s", extra);
	evbuffer_add(out, "\r\n", 2);
}

static void
http_body_free(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	free(arg);
}

void
http_reply_take(struct http_request *r, int status, const char *ctype,
    char *body, size_t len)
{
	http_reply_headers(r, status, ctype, NULL, body, len);
}

void
http_reply_headers(struct http_request *r, int status, const char *ctype,
    const char *headers, char *body, size_t len)
{
	struct evbuffer *out;

	if (!r->alive || !r->busy) {
		free(body);
		return;
	}
	http_head(r, status, ctype, headers, len, false);
	out = bufferevent_get_output(r->bev);
	if (len > 0 && body != NULL) {
		if (evbuffer_add_reference(out, body, len, http_body_free,
		    body) == -1)
			free(body);
	} else
		free(body);
	http_done(r);
}

void
http_reply(struct http_request *r, int status, const char *ctype,
    const char *body, size_t len)
{
	char *copy = NULL;

	if (len > 0 && (copy = malloc(len)) == NULL) {
		http_conn_close(r);
		return;
	}
	if (len > 0)
		memcpy(copy, body, len);
	http_reply_take(r, status, ctype, copy, len);
}

/* An error page, and the connection closes after it. */
static void
http_error(struct http_request *r, int status, const char *extra)
{
	char body[128];
	int n;

	r->busy = true;
	r->keep_alive = false;
	n = snprintf(body, sizeof(body), "%d %s\n", status,
	    http_reason(status));
	http_head(r, status, "text/plain", extra, (size_t)n, false);
	evbuffer_add(bufferevent_get_output(r->bev), body, (size_t)n);
	http_done(r);
}

void
http_stream_begin(struct http_request *r, const char *ctype)
{
	if (!r->alive || !r->busy || r->streaming)
		return;
	r->streaming = true;
	/* A stream ends with the connection. */
	r->keep_alive = false;
	http_head(r, 200, ctype, "X-Accel-Buffering: no\r\n", 0, true);
	http_conn_arm(r);
}

static int
http_stream_put(struct http_request *r, const char *data, size_t len,
    bool quiet)
{
	struct evbuffer *out;

	if (!r->alive || !r->streaming)
		return -1;
	if (len == 0)
		return 0;
	out = bufferevent_get_output(r->bev);
	if (evbuffer_get_length(out) + len > HTTP_MAX_QUEUE) {
		if (!quiet)
			log_warn("http: client pid %ld does not read its "
			    "stream; dropping it", (long)r->pid);
		http_conn_close(r);
		return -1;
	}
	evbuffer_add_printf(out, "%zx\r\n", len);
	evbuffer_add(out, data, len);
	evbuffer_add(out, "\r\n", 2);
	return 0;
}

int
http_stream_write(struct http_request *r, const char *data, size_t len)
{
	return http_stream_put(r, data, len, false);
}

int
http_stream_write_quiet(struct http_request *r, const char *data, size_t len)
{
	return http_stream_put(r, data, len, true);
}

void
http_stream_end(struct http_request *r)
{
	if (!r->alive || !r->streaming)
		return;
	evbuffer_add(bufferevent_get_output(r->bev), "0\r\n\r\n", 5);
	http_done(r);
}

/* ---------------------------------------------------------------- */
/* Accessors. */

const char *
http_request_method(const struct http_request *r)
{
	return r->method;
}

const char *
http_request_path(const struct http_request *r)
{
	return r->url != NULL ? r->url : "/";
}

const char *
http_request_body(const struct http_request *r, size_t *len)
{
	*len = evbuffer_get_length(r->body);
	return (const char *)evbuffer_pullup(r->body, -1);
}

int
http_request_role(const struct http_request *r)
{
	return r->role;
}

struct supervisor *
http_request_sup(const struct http_request *r)
{
	return r->srv->opts.sup;
}

struct event_base *
http_request_base(const struct http_request *r)
{
	return r->srv->base;
}

const struct http_opts *
http_request_opts(const struct http_request *r)
{
	return &r->srv->opts;
}

bool
http_request_alive(const struct http_request *r)
{
	return r->alive;
}

void
http_on_close(struct http_request *r, void (*fn)(void *), void *arg)
{
	r->on_close = fn;
	r->on_close_arg = arg;
	http_conn_arm(r);
}

/* ---------------------------------------------------------------- */
/* Auth. */

/* Equal strings, in time that depends only on their lengths' hashes. */
static bool
http_secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char ha[SHA256_DIGEST_LENGTH], hb[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)a, alen, ha);
	SHA256((const unsigned char *)b, blen, hb);
	return CRYPTO_memcmp(ha, hb, sizeof(ha)) == 0;
}

/* The Authorization header against username/password (clear or
 * "{SHA}" plus the hex SHA-1 of the password, as supervisord). */
static bool
http_auth_ok(const char *header, const char *username, const char *password)
{
	unsigned char sha[SHA_DIGEST_LENGTH];
	char hex[SHA_DIGEST_LENGTH * 2 + 1], *dec, *colon;
	const char *p;
	size_t n, i;
	bool user_ok, pass_ok;

	if (header == NULL || strncasecmp(header, "Basic ", 6) != 0)
		return false;
	p = header + 6;
	while (*p == ' ')
		p++;
	if ((dec = xmlrpc_base64_decode(p, strlen(p), &n)) == NULL)
		return false;
	if ((colon = memchr(dec, ':', n)) == NULL) {
		free(dec);
		return false;
	}
	*colon = '\0';
	user_ok = http_secret_equal(dec, strlen(dec), username != NULL ?
	    username : "", username != NULL ? strlen(username) : 0);
	colon++;
	n -= (size_t)(colon - dec);
	if (strncmp(password, "{SHA}", 5) == 0) {
		SHA1((const unsigned char *)colon, n, sha);
		for (i = 0; i < SHA_DIGEST_LENGTH; i++)
			snprintf(hex + 2 * i, 3, "%02x", sha[i]);
		{
			char want[SHA_DIGEST_LENGTH * 2 + 1];

			snprintf(want, sizeof(want), "%s", password + 5);
			for (i = 0; want[i] != '\0'; i++)
				want[i] = (char)tolower((unsigned char)want[i]);
			pass_ok = http_secret_equal(hex, strlen(hex), want,
			    strlen(want));
		}
	} else
		pass_ok = http_secret_equal(colon, n, password,
		    strlen(password));
	explicit_bzero(dec, n + (size_t)(colon - dec));
	free(dec);
	return user_ok && pass_ok;
}

/* ---------------------------------------------------------------- */
/* Parsing. */

static int
http_on_message_begin(http_parser *p)
{
	struct http_request *r = p->data;

	struct timeval tv = { HTTP_REQUEST_SECS, 0 };

	/* The whole request must arrive within HTTP_REQUEST_SECS of its
	 * first byte, however slowly it trickles in. */
	r->started = true;
	evtimer_add(r->timer, &tv);
	return 0;
}

static int
http_on_url(http_parser *p, const char *at, size_t len)
{
	struct http_request *r = p->data;
	char *u;

	r->head += len;
	if (r->head > HTTP_MAX_HEAD)
		return -1;
	if ((u = realloc(r->url, r->nurl + len + 1)) == NULL)
		return -1;
	memcpy(u + r->nurl, at, len);
	r->nurl += len;
	u[r->nurl] = '\0';
	r->url = u;
	return 0;
}

static int
http_on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_request *r = p->data;
	size_t take;

	r->head += len + 4;
	if (r->head > HTTP_MAX_HEAD)
		return -1;
	if (r->in_value) {
		r->in_value = false;
		r->nfield = 0;
	}
	take = len < HTTP_FIELD_MAX - r->nfield ? len :
	    HTTP_FIELD_MAX - r->nfield;
	memcpy(r->field + r->nfield, at, take);
	r->nfield += take;
	r->field[r->nfield] = '\0';
	return 0;
}

static int
http_on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_request *r = p->data;
	char *a;

	r->head += len;
	if (r->head > HTTP_MAX_HEAD)
		return -1;
	if (!r->in_value) {
		r->in_value = true;
		r->want_value = strcasecmp(r->field, "authorization") == 0;
		if (r->want_value) {
			free(r->auth);
			r->auth = NULL;
			r->nauth = 0;
		}
	}
	if (!r->want_value)
		return 0;
	if ((a = realloc(r->auth, r->nauth + len + 1)) == NULL)
		return -1;
	memcpy(a + r->nauth, at, len);
	r->nauth += len;
	a[r->nauth] = '\0';
	r->auth = a;
	return 0;
}

static int
http_on_headers_complete(http_parser *p)
{
	struct http_request *r = p->data;

	r->in_value = false;
	r->nfield = 0;
	if ((p->flags & F_CONTENTLENGTH) != 0 &&
	    p->content_length > HTTP_MAX_BODY)
		return -1;
	return 0;
}

static int
http_on_body(http_parser *p, const char *at, size_t len)
{
	struct http_request *r = p->data;

	if (evbuffer_get_length(r->body) + len > HTTP_MAX_BODY)
		return -1;
	return evbuffer_add(r->body, at, len);
}

static int
http_on_message_complete(http_parser *p)
{
	struct http_request *r = p->data;

	snprintf(r->method, sizeof(r->method), "%s",
	    http_method_str((enum http_method)p->method));
	r->keep_alive = http_should_keep_alive(p) != 0;
	r->complete = true;
	/* Stop here: the answer comes before the next request. */
	http_parser_pause(p, 1);
	return 0;
}

/* ---------------------------------------------------------------- */
/* Dispatch. */

static void
http_dispatch(struct http_request *r)
{
	const struct http_route *rt;
	const char *user = NULL, *pass = NULL;
	char *q;
	size_t n;

	r->busy = true;
	http_conn_arm(r);
	/* Routes see the path without the query. */
	if (r->url != NULL && (q = strchr(r->url, '?')) != NULL)
		*q = '\0';
	for (rt = http_routes; rt->path != NULL; rt++) {
		n = strlen(rt->path);
		if (rt->prefix ? strncmp(http_request_path(r), rt->path,
		    n) == 0 : strcmp(http_request_path(r), rt->path) == 0)
			break;
	}
	if (r->kind == HTTP_INET) {
		user = r->srv->inet_username;
		pass = r->srv->inet_password;
	} else {
		user = r->srv->unix_username;
		pass = r->srv->unix_password;
	}
	if (!rt->open && pass != NULL && pass[0] != '\0' &&
	    !http_auth_ok(r->auth, user, pass)) {
		log_info("http: client pid %ld: %s %s: wrong or missing "
		    "credentials", (long)r->pid, r->method,
		    http_request_path(r));
		http_error(r, 401, "WWW-Authenticate: Basic "
		    "realm=\"default\"\r\n");
		return;
	}
	if (rt->path == NULL) {
		http_error(r, 404, NULL);
		return;
	}
	if (rt->method != NULL && strcmp(rt->method, r->method) != 0) {
		http_error(r, 405, NULL);
		return;
	}
	rt->handler(r);
}

/* Feed the parser what the input holds, one request at a time. */
static void
http_conn_process(struct http_request *r)
{
	struct evbuffer *in;
	unsigned char *data;
	size_t len, used;
	enum http_errno err;

	if (r->in_read)
		return;
	r->in_read = true;
	in = r->in;
	/* The bufferevent's input cannot be prepended to (the handed-over
	 * bytes), so the parser reads from its own buffer. While a request
	 * is answered, bytes stay in the bufferevent, whose read watermark
	 * then stops reading. */
	if (!r->busy && !r->stalled)
		evbuffer_add_buffer(in, bufferevent_get_input(r->bev));
	while (r->alive && !r->busy && !r->closing && !r->stalled &&
	    (len = evbuffer_get_length(in)) > 0) {
		if (len > 64 * 1024)
			len = 64 * 1024;
		data = evbuffer_pullup(in, (ssize_t)len);
		if (data == NULL) {
			http_conn_close(r);
			break;
		}
		used = http_parser_execute(&r->parser, &http_settings,
		    (const char *)data, len);
		evbuffer_drain(in, used);
		err = HTTP_PARSER_ERRNO(&r->parser);
		if (err == HPE_PAUSED && r->complete) {
			http_dispatch(r);
			continue;
		}
		if (err == HPE_PAUSED)
			break;
		if (err != HPE_OK) {
			log_info("http: client pid %ld: bad request (%s)",
			    (long)r->pid, http_errno_name(err));
			if (r->head > HTTP_MAX_HEAD)
				http_error(r, 431, NULL);
			else if (evbuffer_get_length(r->body) > 0 ||
			    (r->parser.flags & F_CONTENTLENGTH) != 0)
				http_error(r, 413, NULL);
			else
				http_error(r, 400, NULL);
			break;
		}
	}
	r->in_read = false;
	if (r->dead)
		free(r);
}

static void
http_conn_on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct http_request *r = arg;

	(void)fd;
	(void)what;
	http_conn_process(r);
}

/* ---------------------------------------------------------------- */
/* Connections. */

/* One timer per connection: the deadline of what it is doing. */
static void
http_conn_arm(struct http_request *r)
{
	struct timeval tv = { 0, 0 };

	if (!r->alive)
		return;
	if (r->closing)
		tv.tv_sec = HTTP_WRITE_SECS;
	else if (r->busy && (r->streaming || r->on_close != NULL)) {
		/* Waiting on the engine or streaming: the write timeout of
		 * the bufferevent catches a client that stopped reading. */
		evtimer_del(r->timer);
		return;
	} else if (r->busy)
		tv.tv_sec = HTTP_WRITE_SECS;
	else if (r->started)
		tv.tv_sec = HTTP_REQUEST_SECS;
	else
		tv.tv_sec = HTTP_IDLE_SECS;
	if (r->started && !r->busy && evtimer_pending(r->timer, NULL))
		return;	/* the deadline runs from the first byte */
	evtimer_add(r->timer, &tv);
}

static void
http_conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct http_request *r = arg;

	(void)fd;
	(void)what;
	if (r->started && !r->busy && !r->closing) {
		log_info("http: client pid %ld: request not complete within "
		    "%d s; closing", (long)r->pid, HTTP_REQUEST_SECS);
		http_error(r, 408, NULL);
		if (r->alive) {
			r->closing = true;
			http_conn_arm(r);
		}
		return;
	}
	http_conn_close(r);
}

static void
http_conn_on_read(struct bufferevent *bev, void *arg)
{
	struct http_request *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (r->closing) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	http_conn_process(r);
}

static void
http_conn_on_write(struct bufferevent *bev, void *arg)
{
	struct http_request *r = arg;

	(void)bev;
	if (r->closing)
		http_conn_close(r);
	else if (r->stalled) {
		r->stalled = false;
		http_conn_process(r);
	}
}

static void
http_conn_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct http_request *r = arg;

	(void)bev;
	if ((what & BEV_EVENT_EOF) != 0 && !r->busy &&
	    evbuffer_get_length(bufferevent_get_output(r->bev)) > 0) {
		/* Half-closed after its request: let the answer drain. */
		r->closing = true;
		http_conn_arm(r);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) != 0)
		log_info("http: client pid %ld does not read; dropping it",
		    (long)r->pid);
	http_conn_close(r);
}

static void
http_conn_close(struct http_request *r)
{
	struct http *srv = r->srv;
	void (*fn)(void *) = r->on_close;

	if (!r->alive)
		return;
	r->alive = false;
	r->on_close = NULL;
	if (fn != NULL)
		fn(r->on_close_arg);
	TAILQ_REMOVE(&srv->conns, r, entry);
	srv->nconns--;
	if (r->unpriv)
		srv->nunpriv--;
	event_free(r->timer);
	event_free(r->kick);
	bufferevent_free(r->bev);
	evbuffer_free(r->body);
	evbuffer_free(r->in);
	free(r->url);
	free(r->auth);
	r->url = NULL;
	r->auth = NULL;
	if (r->in_read)
		r->dead = true;	/* http_conn_process() frees it */
	else
		free(r);
}

static struct http_request *
http_conn_new(struct http *srv, int fd, enum http_kind kind, int role,
    pid_t pid)
{
	struct http_request *r;
	struct timeval wt = { HTTP_WRITE_SECS, 0 };

	if (srv->nconns >= HTTP_MAX_CONNS) {
		log_warn("http: too many connections; refusing one");
		close(fd);
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		close(fd);
		return NULL;
	}
	r->srv = srv;
	r->kind = kind;
	r->role = role;
	r->pid = pid;
	r->alive = true;
	r->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	r->timer = evtimer_new(srv->base, http_conn_on_timer, r);
	r->kick = event_new(srv->base, -1, 0, http_conn_on_kick, r);
	r->body = evbuffer_new();
	r->in = evbuffer_new();
	if (r->bev == NULL || r->timer == NULL || r->kick == NULL ||
	    r->body == NULL || r->in == NULL) {
		log_error("http: out of memory for a connection");
		if (r->bev != NULL)
			bufferevent_free(r->bev);
		else
			close(fd);
		if (r->timer != NULL)
			event_free(r->timer);
		if (r->kick != NULL)
			event_free(r->kick);
		if (r->body != NULL)
			evbuffer_free(r->body);
		if (r->in != NULL)
			evbuffer_free(r->in);
		free(r);
		return NULL;
	}
	http_parser_init(&r->parser, HTTP_REQUEST);
	r->parser.data = r;
	bufferevent_setcb(r->bev, http_conn_on_read, http_conn_on_write,
	    http_conn_on_event, r);
	/* Reading stops while the input holds a whole request's worth. */
	bufferevent_setwatermark(r->bev, EV_READ, 0, HTTP_INPUT_MAX);
	bufferevent_set_timeouts(r->bev, NULL, &wt);
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&srv->conns, r, entry);
	srv->nconns++;
	http_conn_arm(r);
	return r;
}

void
http_adopt_unix(void *arg, int fd, int role, pid_t pid, const void *pre,
    size_t prelen)
{
	struct http *srv = arg;
	struct http_request *r;

	if (srv == NULL) {
		close(fd);
		return;
	}
	/* control.c caps peers per uid; once handed over, read-only and
	 * unknown peers share this cap so they cannot take every slot. */
	if (role != METHODS_ROLE_CONTROL && srv->nunpriv >= HTTP_MAX_UNPRIV) {
		log_warn("http: too many connections from peers without the "
		    "control role; refusing pid %ld", (long)pid);
		close(fd);
		return;
	}
	if ((r = http_conn_new(srv, fd, HTTP_UNIX, role, pid)) == NULL)
		return;
	if (role != METHODS_ROLE_CONTROL) {
		r->unpriv = true;
		srv->nunpriv++;
	}
	if (prelen > 0) {
		evbuffer_add(r->in, pre, prelen);
		http_conn_process(r);
	}
}

/* ---------------------------------------------------------------- */
/* [inet_http_server]. */

static void
http_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct http *srv = arg;
	int fd, i, one = 1;

	(void)what;
	for (i = 0; i < 32; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_syserr("http: accept");
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* Auth, when configured, is the gate over TCP. */
		http_conn_new(srv, fd, HTTP_INET, METHODS_ROLE_CONTROL, 0);
	}
}

static bool
http_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
		    >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
		    &((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

static int
http_listen_inet(struct http *srv)
{
	struct addrinfo hints, *res = NULL, *ai;
	const char *host = srv->opts.inet_host;
	char port[16];
	bool open_ok;
	int fd, one = 1, rc;

	open_ok = srv->inet_password != NULL && srv->inet_password[0] != '\0';
	if (host != NULL && (host[0] == '\0' || strcmp(host, "*") == 0))
		host = NULL;
	if (!open_ok) {
		log_warn("http: [inet_http_server] has no password: "
		    "listening on loopback addresses only");
		if (host == NULL)
			host = "localhost";
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", srv->opts.inet_port);
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_error("http: [inet_http_server] %s:%s: %s",
		    host != NULL ? host : "*", port, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && srv->ninet < 8; ai = ai->ai_next) {
		if (!open_ok && !http_is_loopback(ai->ai_addr)) {
			log_warn("http: not listening on a non-loopback "
			    "address of %s without a password", host);
			continue;
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
		    listen(fd, 128) == -1) {
			log_syserr("http: [inet_http_server] bind %s:%s",
			    host != NULL ? host : "*", port);
			close(fd);
			continue;
		}
		srv->inet_fds[srv->ninet] = fd;
		srv->inet_ev[srv->ninet] = event_new(srv->base, fd,
		    EV_READ | EV_PERSIST, http_on_accept, srv);
		if (srv->inet_ev[srv->ninet] == NULL) {
			close(fd);
			continue;
		}
		event_add(srv->inet_ev[srv->ninet], NULL);
		srv->ninet++;
	}
	freeaddrinfo(res);
	if (srv->ninet == 0) {
		log_error("http: [inet_http_server] could not listen on %s:%s",
		    host != NULL ? host : "*", port);
		return -1;
	}
	log_info("http: [inet_http_server] listening on %s:%s",
	    host != NULL ? host : "*", port);
	return 0;
}

/* ---------------------------------------------------------------- */
/* Life cycle. */

static char *
http_dup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static int http_take_adopted(struct http *);

struct http *
http_new(struct event_base *base, const struct http_opts *opts)
{
	struct http *srv;

	http_settings.on_message_begin = http_on_message_begin;
	http_settings.on_url = http_on_url;
	http_settings.on_header_field = http_on_header_field;
	http_settings.on_header_value = http_on_header_value;
	http_settings.on_headers_complete = http_on_headers_complete;
	http_settings.on_body = http_on_body;
	http_settings.on_message_complete = http_on_message_complete;
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->base = base;
	srv->opts = *opts;
	srv->socket = http_dup(opts->socket);
	srv->config_path = http_dup(opts->config_path);
	srv->unix_username = http_dup(opts->unix_username);
	srv->unix_password = http_dup(opts->unix_password);
	srv->inet_username = http_dup(opts->inet_username);
	srv->inet_password = http_dup(opts->inet_password);
	srv->opts.socket = srv->socket;
	srv->opts.config_path = srv->config_path;
	srv->opts.unix_username = srv->unix_username;
	srv->opts.unix_password = srv->unix_password;
	srv->opts.inet_username = srv->inet_username;
	srv->opts.inet_password = srv->inet_password;
	TAILQ_INIT(&srv->conns);
	if (opts->inet_port > 0 && http_take_adopted(srv) == -1 &&
	    http_listen_inet(srv) == -1) {
		http_free(srv);
		return NULL;
	}
	return srv;
}

void
http_free(struct http *srv)
{
	struct http_request *r;
	int i;

	if (srv == NULL)
		return;
	while ((r = TAILQ_FIRST(&srv->conns)) != NULL)
		http_conn_close(r);
	for (i = 0; i < srv->ninet; i++) {
		event_free(srv->inet_ev[i]);
		close(srv->inet_fds[i]);
	}
	free(srv->socket);
	free(srv->config_path);
	free(srv->unix_username);
	free(srv->unix_password);
	free(srv->inet_username);
	free(srv->inet_password);
	free(srv);
}

/* ---- reexec (SPEC 13): the inet listener across an exec ---- */

/* The old image's listening sockets, until http_new() takes them. */
static int http_adopted_fds[8];
static int http_nadopted;
static char *http_adopted_where;	/* "host:port" they were bound for */

static char *
http_where(const char *host, int port)
{
	char *s;

	if (asprintf(&s, "%s:%d", host != NULL ? host : "*", port) == -1)
		return NULL;
	return s;
}

json_t *
http_save(const struct http *srv)
{
	json_t *a;
	char *where;
	int i;

	if (srv == NULL || srv->ninet == 0)
		return json_null();
	/* Connections are not kept: they close with the exec. */
	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < srv->ninet; i++)
		json_array_append_new(a, json_integer(handover_keep_fd(
		    srv->inet_fds[i])));
	where = http_where(srv->opts.inet_host, srv->opts.inet_port);
	return json_pack("{s:s?, s:o}", "where", where, "fds", a);
}

void
http_restore(const json_t *o)
{
	const json_t *a = json_object_get(o, "fds"), *v;
	const char *where = json_string_value(json_object_get(o, "where"));
	size_t i;
	int fd;

	json_array_foreach(a, i, v) {
		json_t *tmp = json_pack("{s:O}", "fd", v);

		fd = tmp != NULL ? handover_take_fd(tmp, "fd") : -1;
		json_decref(tmp);
		if (fd != -1 && http_nadopted < 8)
			http_adopted_fds[http_nadopted++] = fd;
		else if (fd != -1)
			close(fd);
	}
	if (where != NULL)
		http_adopted_where = strdup(where);
}

/* 0 when the adopted listeners are for this host and port: watched
 * again, never unbound (no refused connection). */
static int
http_take_adopted(struct http *srv)
{
	char *where;
	int i, rc = -1;

	if (http_nadopted == 0)
		return -1;
	where = http_where(srv->opts.inet_host, srv->opts.inet_port);
	if (where != NULL && http_adopted_where != NULL &&
	    strcmp(where, http_adopted_where) == 0) {
		for (i = 0; i < http_nadopted; i++) {
			srv->inet_fds[srv->ninet] = http_adopted_fds[i];
			srv->inet_ev[srv->ninet] = event_new(srv->base,
			    http_adopted_fds[i], EV_READ | EV_PERSIST,
			    http_on_accept, srv);
			if (srv->inet_ev[srv->ninet] == NULL) {
				close(http_adopted_fds[i]);
				continue;
			}
			event_add(srv->inet_ev[srv->ninet], NULL);
			srv->ninet++;
		}
		rc = srv->ninet > 0 ? 0 : -1;
	} else {
		/* The config names another address now: bind that. */
		for (i = 0; i < http_nadopted; i++)
			close(http_adopted_fds[i]);
	}
	free(where);
	free(http_adopted_where);
	http_adopted_where = NULL;
	http_nadopted = 0;
	return rc;
}
