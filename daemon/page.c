/*
 * The status page. One HTML document per request, built from the live
 * processes; the CSS is inline and there is no script, so the page works
 * from a phone over an SSH tunnel with nothing else reachable. It reloads
 * itself every few seconds with a meta refresh.
 */
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/types.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "output.h"
#include "page.h"
#include "process.h"
#include "supervisor.h"

#define PAGE_REFRESH_S	5
#define PAGE_LOG_LINES	8
#define PAGE_LOG_BYTES	4096

static const char page_css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.4 system-ui,-apple-system,'Segoe UI',"
    "Roboto,sans-serif;background:#f3f4f6;color:#111827}"
    "header{background:#111827;color:#f9fafb;padding:14px 20px;"
    "display:flex;flex-wrap:wrap;gap:6px 18px;align-items:baseline}"
    "header h1{margin:0;font-size:20px;letter-spacing:.5px}"
    "header .host{color:#9ca3af}"
    "header .sum{margin-left:auto;font-size:14px}"
    "main{max-width:1100px;margin:0 auto;padding:16px;display:grid;"
    "grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:14px}"
    ".p{background:#fff;border-radius:10px;box-shadow:0 1px 3px "
    "rgba(0,0,0,.12);border-left:6px solid var(--c);padding:12px 14px;"
    "min-width:0;display:flex;flex-direction:column}"
    ".p h2{margin:0;font-size:16px;word-break:break-all;flex:1}"
    ".top{display:flex;align-items:center;gap:10px}"
    ".st{background:var(--c);color:#fff;border-radius:999px;"
    "padding:2px 10px;font-size:12px;font-weight:600;letter-spacing:.4px}"
    ".meta{color:#4b5563;font-size:13px;margin:6px 0 8px}"
    ".meta b{color:#111827;font-weight:600}"
    "pre{background:#0f172a;color:#e2e8f0;border-radius:6px;padding:8px;"
    "margin:0 0 8px;font:12px/1.35 ui-monospace,Menlo,Consolas,monospace;"
    "max-height:150px;overflow:auto;white-space:pre-wrap;"
    "word-break:break-all}"
    "pre.err{color:#fecaca}"
    ".act{display:flex;gap:8px;margin-top:auto}"
    "form{flex:1;margin:0}"
    "button{width:100%;border:1px solid #d1d5db;background:#f9fafb;"
    "border-radius:6px;padding:9px 0;font:inherit;font-size:14px;"
    "cursor:pointer;color:#111827}"
    "button:hover{background:#e5e7eb}"
    "button.start{background:#16a34a;border-color:#15803d;color:#fff}"
    "button.start:hover{background:#15803d}"
    "button.stop{color:#b91c1c}"
    "button.stop:hover{background:#fee2e2}"
    ".sum span{display:inline-block;margin-left:10px;white-space:nowrap}"
    ".sum i{display:inline-block;width:9px;height:9px;border-radius:50%;"
    "background:var(--c);margin-right:5px}"
    ".running{--c:#16a34a}.starting,.stopping{--c:#2563eb}"
    ".backoff{--c:#d97706}.fatal,.exited,.unknown{--c:#dc2626}"
    ".stopped{--c:#6b7280}"
    "footer{text-align:center;color:#6b7280;font-size:12px;padding:8px}"
    "@media (max-width:480px){main{padding:8px;gap:10px}"
    "header .sum{margin-left:0}}";

/* Text into HTML: the five special characters escaped, control
 * characters other than newline and tab shown as '?'. */
static void
page_escape(struct evbuffer *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '&':
			evbuffer_add(out, "&amp;", 5);
			break;
		case '<':
			evbuffer_add(out, "&lt;", 4);
			break;
		case '>':
			evbuffer_add(out, "&gt;", 4);
			break;
		case '"':
			evbuffer_add(out, "&quot;", 6);
			break;
		case '\'':
			evbuffer_add(out, "&#39;", 5);
			break;
		default:
			if (c < 0x20 && c != '\n' && c != '\t')
				c = '?';
			evbuffer_add(out, &c, 1);
			break;
		}
	}
}

static void
page_escape_str(struct evbuffer *out, const char *s)
{
	page_escape(out, s, strlen(s));
}

/* supervisorctl's uptime: "0:03:10", "2 days, 4:05:06". */
static void
page_uptime(long s, char *buf, size_t len)
{
	long d = s / 86400;

	s %= 86400;
	if (d > 0)
		snprintf(buf, len, "%ld day%s, %ld:%02ld:%02ld", d,
		    d == 1 ? "" : "s", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60,
		    s % 60);
}

static void
page_lower(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	buf[i] = '\0';
}

/* The last PAGE_LOG_LINES lines of a stream, or nothing if empty. */
static void
page_log(struct evbuffer *out, struct process *p, enum output_stream s)
{
	char *data = NULL, *start;
	size_t len = 0;
	uint64_t off;
	int lines = 0;

	if (p->output == NULL ||
	    output_tail(p->output, s, PAGE_LOG_BYTES, &data, &len, &off) == -1)
		return;
	while (len > 0 && data[len - 1] == '\n')
		len--;
	start = data + len;
	while (start > data && lines < PAGE_LOG_LINES) {
		start--;
		if (*start == '\n' && ++lines == PAGE_LOG_LINES) {
			start++;
			break;
		}
	}
	if (len > 0) {
		evbuffer_add_printf(out, "<pre%s>",
		    s == OUTPUT_STDERR ? " class=\"err\"" : "");
		page_escape(out, start, (size_t)(data + len - start));
		evbuffer_add(out, "</pre>", 6);
	}
	free(data);
}

/* One button's form; the token and the name ride along hidden. */
static void
page_button(struct evbuffer *out, const struct process *p, const char *token,
    const char *action, const char *label)
{
	evbuffer_add_printf(out, "<form method=\"post\" action=\"/action\">"
	    "<input type=\"hidden\" name=\"token\" value=\"");
	page_escape_str(out, token);
	evbuffer_add_printf(out, "\"><input type=\"hidden\" name=\"name\" "
	    "value=\"");
	page_escape_str(out, p->fullname);
	evbuffer_add_printf(out, "\"><button class=\"%s\" name=\"action\" "
	    "value=\"%s\">%s</button></form>", action, action, label);
}

/* The buttons that mean something in the process's state: Start for
 * one that is down, Restart and Stop for one that is up or trying. */
static void
page_buttons(struct evbuffer *out, const struct process *p,
    const char *token)
{
	evbuffer_add(out, "<div class=\"act\">", 17);
	switch (p->state) {
	case PROCESS_RUNNING:
	case PROCESS_STARTING:
	case PROCESS_BACKOFF:
		page_button(out, p, token, "restart", "Restart");
		page_button(out, p, token, "stop", "Stop");
		break;
	case PROCESS_STOPPING:
		break;
	default:
		page_button(out, p, token, "start", "Start");
		break;
	}
	evbuffer_add(out, "</div>", 6);
}

static void
page_process(struct evbuffer *out, struct process *p, bool can_control,
    const char *token)
{
	char cls[16], up[64];

	page_lower(process_state_name(p->state), cls, sizeof(cls));
	evbuffer_add_printf(out, "<section class=\"p %s\"><div class=\"top\">"
	    "<h2>", cls);
	page_escape_str(out, p->fullname);
	evbuffer_add_printf(out, "</h2><span class=\"st\">%s</span></div>"
	    "<div class=\"meta\">", process_state_name(p->state));
	if (process_is_running(p)) {
		page_uptime(process_uptime(p), up, sizeof(up));
		evbuffer_add_printf(out, "pid <b>%d</b> &middot; uptime "
		    "<b>%s</b>", (int)p->pid, up);
	} else if (p->spawnerr[0] != '\0') {
		page_escape_str(out, p->spawnerr);
	} else if (p->start_time != 0) {
		evbuffer_add_printf(out, "last exit: <b>%s %d</b>",
		    p->killed_by_signal ? "signal" : "status",
		    p->killed_by_signal ? -p->exitstatus : p->exitstatus);
		if (p->stop_time != 0 && time(NULL) >= p->stop_time) {
			page_uptime((long)(time(NULL) - p->stop_time), up,
			    sizeof(up));
			evbuffer_add_printf(out, " &middot; <b>%s</b> ago", up);
		}
	} else {
		evbuffer_add_printf(out, "not started");
	}
	if (p->conf->description != NULL) {
		evbuffer_add(out, "<br>", 4);
		page_escape_str(out, p->conf->description);
	}
	evbuffer_add(out, "</div>", 6);
	page_log(out, p, OUTPUT_STDOUT);
	page_log(out, p, OUTPUT_STDERR);
	if (can_control)
		page_buttons(out, p, token);
	evbuffer_add(out, "</section>", 10);
}

void
page_render(struct supervisor *sv, bool can_control, const char *token,
    struct evbuffer *out)
{
	struct process *const *ps;
	size_t n, i, running = 0, bad = 0, stopped = 0;
	char host[256], stamp[32];
	struct tm tm;
	time_t now;

	ps = supervisor_processes(sv, &n);
	for (i = 0; i < n; i++) {
		if (ps[i]->state == PROCESS_RUNNING)
			running++;
		else if (ps[i]->state == PROCESS_STOPPED)
			stopped++;
		else if (ps[i]->state == PROCESS_FATAL ||
		    ps[i]->state == PROCESS_BACKOFF ||
		    ps[i]->state == PROCESS_EXITED)
			bad++;
	}
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	evbuffer_add_printf(out, "<!DOCTYPE html><html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width,initial-scale=1\">"
	    "<meta http-equiv=\"refresh\" content=\"%d\"><title>superd: ",
	    PAGE_REFRESH_S);
	page_escape_str(out, host);
	evbuffer_add_printf(out, "</title><style>%s</style></head><body>"
	    "<header><h1>superd</h1><span class=\"host\">", page_css);
	page_escape_str(out, host);
	evbuffer_add_printf(out, "</span><span class=\"sum\">"
	    "<span class=\"running\"><i></i>%zu running</span>", running);
	if (bad > 0)
		evbuffer_add_printf(out, "<span class=\"fatal\"><i></i>%zu "
		    "failing</span>", bad);
	if (stopped > 0)
		evbuffer_add_printf(out, "<span class=\"stopped\"><i></i>%zu "
		    "stopped</span>", stopped);
	evbuffer_add_printf(out, "</span></header><main>");
	for (i = 0; i < n; i++)
		page_process(out, ps[i], can_control, token);
	if (n == 0)
		evbuffer_add_printf(out, "<p>No programs are configured.</p>");
	now = time(NULL);
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm) == 0)
		stamp[0] = '\0';
	evbuffer_add_printf(out, "</main><footer>%s &middot; refreshes every "
	    "%d s%s</footer></body></html>\n", stamp, PAGE_REFRESH_S,
	    can_control ? "" : " &middot; read-only view");
}

/* Constant-time comparison of two NUL-terminated strings: the time
 * depends on the length of `want` only. */
static bool
page_token_equal(const char *got, const char *want)
{
	size_t i, lg = strlen(got), lw = strlen(want);
	unsigned char d = lg != lw;

	for (i = 0; i < lw; i++)
		d |= (unsigned char)(want[i] ^ (i < lg ? got[i] : 0));
	return d == 0;
}

int
page_parse_post(const char *body, size_t len, const char *token,
    enum page_action *action, char **name)
{
	struct evkeyvalq q;
	const char *a, *nm, *tk;
	char *copy;
	int rc = 400;

	*name = NULL;
	if (len > 4096 || (copy = strndup(body, len)) == NULL)
		return 400;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(copy, &q) == -1)
		goto out;
	tk = evhttp_find_header(&q, "token");
	if (tk == NULL || token == NULL || !page_token_equal(tk, token)) {
		rc = 403;
		goto out;
	}
	a = evhttp_find_header(&q, "action");
	nm = evhttp_find_header(&q, "name");
	if (a == NULL || nm == NULL || *nm == '\0')
		goto out;
	if (strcmp(a, "start") == 0)
		*action = PAGE_START;
	else if (strcmp(a, "stop") == 0)
		*action = PAGE_STOP;
	else if (strcmp(a, "restart") == 0)
		*action = PAGE_RESTART;
	else
		goto out;
	if ((*name = strdup(nm)) == NULL)
		goto out;
	rc = 0;
out:
	evhttp_clear_headers(&q);
	free(copy);
	return rc;
}

void
page_token(char *buf, size_t len)
{
	unsigned char r[16];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		/* Never at boot on a kernel this old: fall back to the
		 * clock and pid rather than refuse to serve the page. */
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		for (i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)((ts.tv_nsec >> (i % 8)) ^
			    getpid() ^ (long)i * 131);
	}
	for (i = 0; i < sizeof(r) && 2 * i + 2 < len; i++)
		snprintf(buf + 2 * i, 3, "%02x", r[i]);
}
