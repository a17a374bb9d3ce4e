/*
 * What the HTTP interface shows instead of making people read (SPEC.md
 * section 12): the Prometheus scrape and the /healthz probe answer (the
 * status page is page.h). Each renders the supervisor's state into an evbuffer at
 * the moment of the request; nothing is sampled or kept in between, so
 * a daemon nobody scrapes does no work for these.
 */
#ifndef SUPERD_METRICS_H
#define SUPERD_METRICS_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;
struct supervisor;

/* Prometheus text format 0.0.4 of every process, CPU and memory summed
 * over each process's tree from one walk of /proc. */
void	metrics_render(struct supervisor *, struct evbuffer *out);
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* 200 when every autostart process is RUNNING, else 503; the body says
 * "ok" or lists what is not running, one "NAME STATE" a line. */
int	metrics_healthz(struct supervisor *, struct evbuffer *out);

#endif
