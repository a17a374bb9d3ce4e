/*
 * supervisord's HTTP face: connections handed over by control.c (the
 * Unix socket, after sniffing an HTTP method) or accepted on the
 * [inet_http_server] listener; framing by libhttp-parser; a table of
 * routes; basic auth; limits on every dimension of a request.
 *
 * Adding a route (e.g. /metrics, /healthz): write a handler
 *	static void h(struct http_request *req) { ... http_reply(req, 200,
 *	    "text/plain", body, len); }
 * and add one row to http_routes[] in http.c: { "GET", "/metrics",
 * false, h } (prefix true matches "/metrics..." too). A handler answers
 * now with http_reply(), later (keep req; http_request_alive() says
 * whether the client is still there; http_on_close() to learn when it
 * goes), or as a stream: http_stream_begin(), http_stream_write()...
 */
#ifndef SUPERD_HTTP_H
#define SUPERD_HTTP_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct supervisor;
struct http;
struct http_request;

#define HTTP_MAX_HEAD	  (8 * 1024)	/* request line + headers */
#define HTTP_MAX_BODY	  (1024 * 1024)
#define HTTP_REQUEST_SECS 10	/* a request must arrive within */
#define HTTP_IDLE_SECS	  60	/* keep-alive without a request */
#define HTTP_WRITE_SECS	  30	/* a reply must drain within */
#define HTTP_MAX_QUEUE	  (1024 * 1024)	/* unread stream bytes */

struct http_opts {
	struct supervisor *sup;
	const char *socket;	/* the Unix socket path (serverurl) */
	const char *config_path;
	/* [unix_http_server] credentials; NULL: none asked on the socket */
	const char *unix_username;
	const char *unix_password;
	/* [inet_http_server]; port 0: no listener */
	const char *inet_host;
	int	 inet_port;
	const char *inet_username;
	const char *inet_password;
	/* supervisor.shutdown / restart */
	void	(*on_shutdown)(void *arg);
	void	*arg;
};

/* NULL after logging why (the inet listener could not bind). */
struct http *http_new(struct event_base *, const struct http_opts *);
/* Drops every connection; NULL is a no-op. */
void	http_free(struct http *);

/*
 * Adopt a connection from the Unix socket whose first bytes (`pre`,
 * already read) start an HTTP request; role is a METHODS_ROLE_*. The fd
 * is taken over (closed on failure). Matches control_opts.on_http.
 */
void	http_adopt_unix(void *http, int fd, int role, pid_t pid,
	    const void *pre, size_t prelen);

/* ---- For route handlers. ---- */

/* The request's parts (valid until it is answered). */
const char *http_request_method(const struct http_request *);
const char *http_request_path(const struct http_request *);
const char *http_request_body(const struct http_request *, size_t *len);
/* METHODS_ROLE_* of the connection (an inet client that passed auth
 * has the control role). */
int	 http_request_role(const struct http_request *);
struct supervisor *http_request_sup(const struct http_request *);
struct event_base *http_request_base(const struct http_request *);
const struct http_opts *http_request_opts(const struct http_request *);
/* False once the client went away; replies are then no-ops. */
bool	 http_request_alive(const struct http_request *);
/* fn(arg) runs once if the connection closes before the answer is
 * complete (a deferred reply or a stream cleans up there). */
void	 http_on_close(struct http_request *, void (*fn)(void *),
	    void *arg);

/* A whole answer (body copied); the request is done. */
void	 http_reply(struct http_request *, int status, const char *ctype,
	    const char *body, size_t len);
/* Same, taking over a malloc'd body. */
void	 http_reply_take(struct http_request *, int status,
	    const char *ctype, char *body, size_t len);
/* Same, with extra header lines ("Location: /\r\n"), NULL: none. */
void	 http_reply_headers(struct http_request *, int status,
	    const char *ctype, const char *headers, char *body, size_t len);
/* A chunked stream: begin once, write chunks; the request stays open
 * until the client goes (the close hook runs) or http_stream_end(). A
 * client that leaves more than HTTP_MAX_QUEUE unread is dropped. */
void	 http_stream_begin(struct http_request *, const char *ctype);
int	 http_stream_write(struct http_request *, const char *data,
	    size_t len);
/* The same without logging: for log_follow() callbacks. */
int	 http_stream_write_quiet(struct http_request *, const char *data,
	    size_t len);
void	 http_stream_end(struct http_request *);

/* ---- reexec (SPEC 13) ---- */

#include <jansson.h>

/* The [inet_http_server] listening sockets (fds handed over) as a new
 * JSON value, null when there are none; connections are not kept. */
json_t	*http_save(const struct http *);
/* In the new image, before http_new(): adopt those sockets instead of
 * binding again, if the config still names the same host and port. */
void	http_restore(const json_t *);

#endif
