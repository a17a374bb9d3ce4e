/*
 * The route table of http.c and the handlers it points at. A handler
 * answers through the reply functions of http.h.
 */
#ifndef SUPERD_HTTP_ROUTES_H
#define SUPERD_HTTP_ROUTES_H

#include <stdbool.h>

struct http_request;

struct http_route {
	const char *method;	/* "GET", "POST"; NULL: any */
	const char *path;
	bool	 prefix;	/* path is a prefix of the request's */
	void	(*handler)(struct http_request *);
	bool	 open;		/* answered without credentials: carries
				 * no secret (/healthz for probes) */
};

/* Ends with a row whose path is NULL. */
extern const struct http_route http_routes[];

/* supervisord's routes (rpcsrv.c). */
void	rpcsrv_handle_rpc2(struct http_request *);
void	rpcsrv_handle_logtail(struct http_request *);
void	rpcsrv_handle_mainlogtail(struct http_request *);

/* What the HTTP interface shows (web.c, SPEC.md section 12): the
 * Prometheus scrape, the load balancer probe, the status page and its
 * buttons. */
void	web_handle_metrics(struct http_request *);
void	web_handle_healthz(struct http_request *);
void	web_handle_page(struct http_request *);
void	web_handle_action(struct http_request *);

#endif
