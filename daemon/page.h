/*
 * The status page (SPEC.md section 12): plain HTML and CSS, no script
 * and nothing loaded from elsewhere, refreshing itself, readable on a
 * phone; start/stop/restart buttons are forms that POST with a
 * per-daemon anti-CSRF token.
 */
#ifndef SUPERD_PAGE_H
#define SUPERD_PAGE_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;
struct supervisor;

/* The status page: every process with its state, uptime, pid and the
 * last lines of its log; start/stop/restart forms carrying `token` when
 * `can_control` (read-only peers see no buttons). */
void	page_render(struct supervisor *, bool can_control, const char *token,
	    struct evbuffer *out);

enum page_action {
	PAGE_START = 0,
	PAGE_STOP,
	PAGE_RESTART
};

/*
 * Check a POST of the page's form (application/x-www-form-urlencoded:
 * action=start|stop|restart, name=FULLNAME, token=TOKEN) against the
 * daemon's token, compared in constant time. 0 with *action and *name
 * (new malloc'd) set; otherwise the HTTP status to answer: 403 for a
 * wrong or missing token, 400 for a malformed form. The caller acts
 * through the same supervisor calls as every other client and answers
 * 303 to "/".
 */
int	page_parse_post(const char *body, size_t len, const char *token,
	    enum page_action *action, char **name);

/* A new random per-daemon anti-CSRF token (hex), in buf (>= 33 bytes). */
void	page_token(char *buf, size_t len);

#endif
