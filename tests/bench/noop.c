/*
 * noop.c: the benchmark's handler.  Subscribes to every event and does
 * nothing, so a run measures evbus itself.  With
 * handlers.noop = { out = "/path/prefix"; } it records, per worker, the
 * time of its first and last call and, for events carrying a payload
 * field "sent_us" (CLOCK_REALTIME microseconds at publish), the latency
 * from publish to handled; fini() writes them to "<out>.<worker>":
 *
 *	first <us>
 *	last <us>
 *	count <n>
 *	lat <us>	(one line per event with sent_us)
 *
 * With counter = "/path" (an 8-byte file the bench creates), done_at = N
 * and done = "/path/fifo", the workers count events in that shared file
 * and the one that reaches N writes a line to the FIFO: the bench learns
 * that a run is over without polling anything while it runs.
 */
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evbus/handler.h"

#define MAX_LAT	(1 << 20)

struct noop {
	const struct evbus_host_api	*api;
	struct evbus_host		*host;
	const char			*out;
	int64_t				 wait_us;
	uint64_t			*counter;	/* shared, or NULL */
	int64_t				 done_at;
	const char			*done;
	int64_t				 first, last;
	uint64_t			 count;
	int64_t				*lat;
	size_t				 nlat;
};

static const char *const noop_types[] = { "*", NULL };

static int64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
noop_init(const struct evbus_host_api *api, struct evbus_host *host,
    void **state)
{
	struct noop	*n;
	const char	*path = NULL;
	int		 fd;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -1;
	n->api = api;
	n->host = host;
	if (api->config_int(host, "wait_us", &n->wait_us) != 0)
		n->wait_us = 0;
	if (api->config_string(host, "counter", &path) == 0 &&
	    api->config_string(host, "done", &n->done) == 0 &&
	    api->config_int(host, "done_at", &n->done_at) == 0 &&
	    n->done_at > 0) {
		if ((fd = open(path, O_RDWR)) == -1)
			goto fail;
		n->counter = mmap(NULL, sizeof(*n->counter),
		    PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (n->counter == MAP_FAILED)
			goto fail;
	}
	path = "the latency buffer";
	if (api->config_string(host, "out", &n->out) == 0 &&
	    (n->lat = calloc(MAX_LAT, sizeof(*n->lat))) == NULL)
		goto fail;
	*state = n;
	return 0;
fail:
	api->log(host, EVBUS_LOG_ERROR, "%s: cannot set up: %s", path,
	    strerror(errno));
	if (n->counter != NULL && n->counter != MAP_FAILED)
		munmap(n->counter, sizeof(*n->counter));
	free(n);
	return -1;
}

/* The shared count reached done_at: tell the bench. */
static void
noop_done(struct noop *n)
{
	int	 fd;

	if ((fd = open(n->done, O_WRONLY | O_NONBLOCK)) == -1)
		return;
	(void)write(fd, "done\n", 5);
	close(fd);
}

static enum evbus_result
noop_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	struct noop	*n = state;
	struct timespec	 ts;
	int64_t		 t, sent;

	if (n->wait_us > 0) {
		/* The whole wait, even when a signal (SIGTERM) cuts it. */
		ts.tv_sec = n->wait_us / 1000000;
		ts.tv_nsec = n->wait_us % 1000000 * 1000;
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	if (n->counter != NULL &&
	    __atomic_add_fetch(n->counter, 1, __ATOMIC_RELAXED) ==
	    (uint64_t)n->done_at)
		noop_done(n);
	if (n->out == NULL)
		return EVBUS_OK;
	t = now_us();
	if (n->count++ == 0)
		n->first = t;
	n->last = t;
	if (n->nlat < MAX_LAT &&
	    n->api->field_int(n->host, ev, "sent_us", &sent) == 0)
		n->lat[n->nlat++] = t - sent;
	return EVBUS_OK;
}

static void
noop_fini(void *state)
{
	struct noop	*n = state;
	char		 path[1024];
	FILE		*fp;
	size_t		 i;

	if (n->out != NULL && n->count > 0) {
		snprintf(path, sizeof(path), "%s.%d", n->out,
		    n->api->worker_index(n->host));
		if ((fp = fopen(path, "w")) != NULL) {
			fprintf(fp, "first %lld\nlast %lld\ncount %llu\n",
			    (long long)n->first, (long long)n->last,
			    (unsigned long long)n->count);
			for (i = 0; i < n->nlat; i++)
				fprintf(fp, "lat %lld\n", (long long)n->lat[i]);
			fclose(fp);
		}
	}
	if (n->counter != NULL)
		munmap(n->counter, sizeof(*n->counter));
	free(n->lat);
	free(n);
}

EVBUS_HANDLER_DECLARE("noop", "1.0", noop_types, noop_init, noop_handle,
    noop_fini);
