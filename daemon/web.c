/*
 * The HTTP interface's own pages (SPEC.md section 12): /metrics,
 * /healthz, the status page and its buttons. Each answer is rendered
 * when asked (metrics.c, page.c) and goes out through http.c, whose
 * bounds and timeouts apply; the buttons act through the JSON-RPC
 * process.start/stop/restart, so the page starts and restarts exactly
 * as superctl does.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "http.h"
#include "http_routes.h"
#include "log.h"
#include "methods.h"
#include "metrics.h"
#include "page.h"
#include "rpc.h"
#include "supervisor.h"

#define WEB_HTML	"text/html; charset=utf-8"
#define WEB_TEXT	"text/plain; charset=utf-8"

/* The anti-CSRF token of this daemon's life, made at the first page. */
static char web_token[33];
/* What process.start/stop/restart need; outlives the ops they start (a
 * restart's start half runs after the answer). */
static struct methods_env web_env;

/*
 * Who a button's call comes from: nobody. A notification is never
 * answered, so send drops; nobody never closes, so a hook is a token
 * that never fires and the start or stop the button began runs to its
 * end. Only calls that end by themselves (process.start/stop/restart)
 * are made as nobody: a stream would never be closed.
 */
static int
web_nobody_send(struct methods_peer *p, const json_t *msg)
{
	(void)p;
	(void)msg;
	return 0;
}

static bool
web_nobody_alive(const struct methods_peer *p)
{
	(void)p;
	return true;
}

static void
web_nobody_ref(struct methods_peer *p)
{
	(void)p;
}

/* Never dereferenced: methods hands it back only to unhook. */
static char web_nobody_token;

static struct methods_hook *
web_nobody_hook(struct methods_peer *p, void (*fn)(void *), void *arg)
{
	(void)p;
	(void)fn;
	(void)arg;
	return (struct methods_hook *)(void *)&web_nobody_token;
}

static void
web_nobody_unhook(struct methods_peer *p, struct methods_hook *h)
{
	(void)p;
	(void)h;
}

static size_t
web_nobody_nhooks(const struct methods_peer *p)
{
	(void)p;
	return 0;
}

static const struct methods_peer_ops web_nobody_ops = {
	web_nobody_send, web_nobody_alive, web_nobody_ref, web_nobody_ref,
	web_nobody_hook, web_nobody_unhook, web_nobody_nhooks
};
static struct methods_peer web_nobody = { &web_nobody_ops };

static const char *
web_get_token(void)
{
	if (web_token[0] == '\0')
		page_token(web_token, sizeof(web_token));
	return web_token;
}

static void
web_text(struct http_request *req, int status, const char *text)
{
	http_reply(req, status, WEB_TEXT, text, strlen(text));
}

/* The rendered body, taken over by the reply. */
static void
web_reply(struct http_request *req, int status, const char *ctype,
    const char *headers, struct evbuffer *b)
{
	size_t len;
	char *body;

	if (b == NULL) {
		web_text(req, 500, "500 out of memory\n");
		return;
	}
	len = evbuffer_get_length(b);
	if ((body = malloc(len > 0 ? len : 1)) == NULL) {
		evbuffer_free(b);
		web_text(req, 500, "500 out of memory\n");
		return;
	}
	evbuffer_remove(b, body, len);
	evbuffer_free(b);
	http_reply_headers(req, status, ctype, headers, body, len);
}

void
web_handle_metrics(struct http_request *req)
{
	struct evbuffer *b;

	if (http_request_role(req) == METHODS_ROLE_NONE) {
		web_text(req, 403, "403 Forbidden\n");
		return;
	}
	if ((b = evbuffer_new()) != NULL)
		metrics_render(http_request_sup(req), b);
	web_reply(req, 200, METRICS_CONTENT_TYPE, NULL, b);
}

/* Any peer, and no password on [inet_http_server]: it tells only which
 * programs are down, what a load balancer needs to know. */
void
web_handle_healthz(struct http_request *req)
{
	struct evbuffer *b;
	int status = 500;

	if ((b = evbuffer_new()) != NULL)
		status = metrics_healthz(http_request_sup(req), b);
	web_reply(req, status, WEB_TEXT, "Cache-Control: no-store\r\n", b);
}

void
web_handle_page(struct http_request *req)
{
	struct evbuffer *b;
	int role = http_request_role(req);

	if (role == METHODS_ROLE_NONE) {
		web_text(req, 403, "403 Forbidden\n");
		return;
	}
	if ((b = evbuffer_new()) != NULL)
		page_render(http_request_sup(req),
		    role == METHODS_ROLE_CONTROL, web_get_token(), b);
	web_reply(req, 200, WEB_HTML, "Cache-Control: no-store\r\n"
	    "X-Frame-Options: DENY\r\n"
	    "Content-Security-Policy: default-src 'none'; "
	    "style-src 'unsafe-inline'; form-action 'self'\r\n", b);
}

static const char *const web_methods[] = {
	[PAGE_START] = "process.start",
	[PAGE_STOP] = "process.stop",
	[PAGE_RESTART] = "process.restart"
};

void
web_handle_action(struct http_request *req)
{
	struct supervisor *sup = http_request_sup(req);
	struct rpc_request rr;
	struct process **procs = NULL;
	const char *body, *unmatched, *names[1];
	enum page_action action;
	char *name = NULL, *body303;
	size_t len, n;
	int rc;

	if (http_request_role(req) != METHODS_ROLE_CONTROL) {
		web_text(req, 403, "403 Forbidden: a read-only peer may not "
		    "act\n");
		return;
	}
	body = http_request_body(req, &len);
	rc = page_parse_post(body != NULL ? body : "", body != NULL ? len : 0,
	    web_get_token(), &action, &name);
	if (rc == 403) {
		log_info("http: page action refused: wrong or missing token");
		web_text(req, 403, "403 Forbidden: wrong or missing token; "
		    "reload the page\n");
		return;
	}
	if (rc != 0) {
		web_text(req, 400, "400 Bad Request: want action=start|stop|"
		    "restart, name and token\n");
		return;
	}
	names[0] = name;
	if (supervisor_match(sup, names, 1, &procs, &n, &unmatched) == -1 ||
	    n == 0) {
		free(procs);
		free(name);
		web_text(req, 404, "404 no such process\n");
		return;
	}
	free(procs);
	web_env.sup = sup;
	web_env.base = http_request_base(req);
	memset(&rr, 0, sizeof(rr));
	rr.method = web_methods[action];
	rr.params = json_pack("{s:[s], s:b}", "names", name, "wait", 0);
	if (rr.params == NULL) {
		free(name);
		web_text(req, 500, "500 out of memory\n");
		return;
	}
	log_info("http: status page: %s %s", web_methods[action] + 8, name);
	/* A notification: executed, never answered; the page shows what
	 * it did at the redirect. */
	methods_handle(&web_env, &web_nobody, METHODS_ROLE_CONTROL, &rr);
	json_decref(rr.params);
	free(name);
	body303 = strdup("303 See Other\n");
	http_reply_headers(req, 303, WEB_TEXT, "Location: /\r\n", body303,
	    body303 != NULL ? strlen(body303) : 0);
}
