/*
 * jsonl.c: a bundled handler that appends every event, as one JSON line,
 * to a file (an audit trail, or a way for tests to see what was handled).
 *
 * Events: every event (wildcard).
 *
 * Config (handlers.jsonl = { ... }):
 *	path = "/var/lib/evbus/events.jsonl";	required: the file
 *	fsync = false;		true: fdatasync() after each line
 *
 * Each line is one JSON object:
 *
 *	{"worker":0,"consumer":"evbus-0","event_id":"...","event_type":"...",
 *	 "retry_count":0,"redelivered":false,"traceparent":"00-..."|null,
 *	 "body":{...the event body as received...}}
 *
 * Every worker opens the file with O_APPEND and writes each line with a
 * single write(), so lines of concurrent workers never interleave on a
 * local file system (NFS gives no such promise).  A failed or short write
 * makes the handler ask for a retry (error type "IOError"); the event may
 * then appear twice, as at-least-once delivery allows anyway.
 *
 * Uses only evbus/handler.h and libc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evbus/handler.h"
#include "jsonline.h"

struct jsonl {
	const struct evbus_host_api	*api;
	struct evbus_host		*host;
	char				*path;
	int				 fd;
	bool				 fsync;
};

static const char *const jsonl_types[] = { "*", NULL };

static int
jsonl_init(const struct evbus_host_api *api, struct evbus_host *host,
    void **state)
{
	struct jsonl	*j;
	const char	*path = NULL;

	switch (api->config_string(host, "path", &path)) {
	case 0:
		break;
	case 1:
		api->log(host, EVBUS_LOG_ERROR, "config handlers.jsonl.path "
		    "is required: the file every event is appended to");
		return -1;
	default:
		api->log(host, EVBUS_LOG_ERROR, "config handlers.jsonl.path "
		    "must be a string");
		return -1;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->path = strdup(path)) == NULL) {
		api->log(host, EVBUS_LOG_ERROR, "out of memory");
		free(j);
		return -1;
	}
	j->api = api;
	j->host = host;
	if (api->config_bool(host, "fsync", &j->fsync) == -1) {
		api->log(host, EVBUS_LOG_ERROR, "config handlers.jsonl.fsync "
		    "must be a boolean (true or false)");
		goto fail;
	}
	if ((j->fd = open(j->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY, 0640)) == -1) {
		api->log(host, EVBUS_LOG_ERROR, "open %s: %s", j->path,
		    strerror(errno));
		goto fail;
	}
	api->log(host, EVBUS_LOG_INFO, "appending every event to %s%s",
	    j->path, j->fsync ? " (fsync)" : "");
	*state = j;
	return 0;
fail:
	free(j->path);
	free(j);
	return -1;
}

static enum evbus_result
jsonl_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	struct jsonl	*j = state;
	struct line	 l = { NULL, 0, 0, 0 };
	ssize_t		 n;

	line_event(&l, j->api, j->host, ev);
	line_lit(&l, "}\n");
	if (l.oom) {
		free(l.buf);
		snprintf(err->type, sizeof(err->type), "MemoryError");
		snprintf(err->reason, sizeof(err->reason), "jsonl: out of "
		    "memory formatting event %s", ev->event_id);
		return EVBUS_RETRY;
	}
	/* One write per line: that is what keeps workers' lines whole. */
	do
		n = write(j->fd, l.buf, l.len);
	while (n == -1 && errno == EINTR);
	if (n == -1 || (size_t)n != l.len) {
		if (n == -1)
			snprintf(err->reason, sizeof(err->reason),
			    "jsonl: write %s: %s", j->path, strerror(errno));
		else
			snprintf(err->reason, sizeof(err->reason),
			    "jsonl: write %s: short write (%zd of %zu bytes)",
			    j->path, n, l.len);
		snprintf(err->type, sizeof(err->type), "IOError");
		free(l.buf);
		return EVBUS_RETRY;
	}
	free(l.buf);
	if (j->fsync && fdatasync(j->fd) == -1) {
		snprintf(err->type, sizeof(err->type), "IOError");
		snprintf(err->reason, sizeof(err->reason),
		    "jsonl: fdatasync %s: %s", j->path, strerror(errno));
		return EVBUS_RETRY;
	}
	return EVBUS_OK;
}

static void
jsonl_fini(void *state)
{
	struct jsonl	*j = state;

	if (j == NULL)
		return;
	if (close(j->fd) == -1)
		j->api->log(j->host, EVBUS_LOG_WARN, "close %s: %s", j->path,
		    strerror(errno));
	free(j->path);
	free(j);
}

EVBUS_HANDLER_DECLARE("jsonl", "1.0", jsonl_types, jsonl_init, jsonl_handle,
    jsonl_fini);
