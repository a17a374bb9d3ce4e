/* The process states, apart from process.h so that events.h (which
 * process.c publishes through) needs no more of a process than this. */
#ifndef SUPERD_PROCESS_STATE_H
#define SUPERD_PROCESS_STATE_H

/* Numbers as supervisord's, so scripts that compare them keep working. */
enum process_state {
	PROCESS_STOPPED = 0,
	PROCESS_STARTING = 10,
	PROCESS_RUNNING = 20,
	PROCESS_BACKOFF = 30,
	PROCESS_STOPPING = 40,
	PROCESS_EXITED = 100,
	PROCESS_FATAL = 200,
	PROCESS_UNKNOWN = 1000
};

#endif
