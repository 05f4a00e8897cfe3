/*
 * chaos.c: a test plugin that misbehaves on demand, so the retry, DLQ,
 * crash and watchdog paths can be exercised against the real daemon.
 * Built for `make check` only, never installed.
 *
 * Events: every event (wildcard, NULL event_types).
 *
 * Controls come from top-level fields of the event body, so one worker can
 * see different behaviours; the same keys in the config section override
 * them for every event (handlers.chaos = { mode = "fail"; }):
 *
 *	body "chaos" / config "mode" (string):
 *	  "ok"		succeed (also: no mode at all)
 *	  "fail"	EVBUS_FAIL, type "ChaosError", "chaos: asked to fail"
 *	  "retry"	EVBUS_RETRY, type "ChaosRetry",
 *			"chaos: asked to retry"
 *	  "retry_once"	EVBUS_RETRY while retry_count == 0, then succeed
 *	  "segv"	log, then write through a NULL pointer (SIGSEGV)
 *	  "abort"	log, then abort() (SIGABRT)
 *	  "hang"	log, then sleep forever (for the handler_timeout
 *			watchdog)
 *	  "exit"	log, then _exit(3)
 *	  anything else: EVBUS_FAIL, type "ChaosError", naming the mode
 *	"fail_until" (integer): EVBUS_RETRY (type "ChaosRetry") while
 *	  retry_count < N; checked before the mode, which applies afterwards
 *	"sleep_ms" (integer): sleep that long first, then apply the above
 *
 * A control of the wrong type fails the event (EVBUS_FAIL, "ChaosError").
 *
 * With config path = "file" every attempt appends one JSON line, the
 * jsonl handler's format plus "outcome" (ok, retry, fail, segv, abort,
 * hang, exit), written BEFORE sleeping or acting so that tests can count
 * attempts even when the worker dies; fsync = true syncs each line.
 * Config init_sleep_ms = N makes init() take N ms (a slow-starting
 * worker, for the supervisor's reload tests).
 *
 * Uses only evbus/handler.h and libc.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evbus/handler.h"
#include "jsonline.h"

struct chaos {
	const struct evbus_host_api	*api;
	struct evbus_host		*host;
	/* Config overrides; NULL or -1 when unset. */
	const char			*mode;
	int64_t				 fail_until;
	int64_t				 sleep_ms;
	char				*path;
	int				 fd;	/* -1: no record file */
	bool				 fsync;
};

/* What one attempt does. */
enum chaos_act {
	ACT_OK,
	ACT_RETRY,
	ACT_FAIL,
	ACT_SEGV,
	ACT_ABORT,
	ACT_HANG,
	ACT_EXIT
};

static const char *const chaos_outcomes[] = {
	"ok", "retry", "fail", "segv", "abort", "hang", "exit"
};

/* Append the attempt to the record file; failures are only logged. */
static void
chaos_record(struct chaos *c, const struct evbus_event_view *ev,
    enum chaos_act act)
{
	struct line	 l = { NULL, 0, 0, 0 };
	ssize_t		 n;

	if (c->fd == -1)
		return;
	line_lit(&l, "{\"worker\":");
	line_int(&l, c->api->worker_index(c->host));
	line_lit(&l, ",\"consumer\":");
	line_str(&l, c->api->consumer_name(c->host));
	line_lit(&l, ",\"event_id\":");
	line_str(&l, ev->event_id);
	line_lit(&l, ",\"event_type\":");
	line_str(&l, ev->event_type);
	line_lit(&l, ",\"retry_count\":");
	line_int(&l, (long long)ev->retry_count);
	line_lit(&l, ",\"redelivered\":");
	line_lit(&l, ev->redelivered ? "true" : "false");
	line_lit(&l, ",\"traceparent\":");
	line_str(&l, ev->traceparent);
	line_lit(&l, ",\"outcome\":");
	line_str(&l, chaos_outcomes[act]);
	line_lit(&l, ",\"body\":");
	line_body(&l, ev->body, ev->body_len);
	line_lit(&l, "}\n");
	if (l.oom) {
		c->api->log(c->host, EVBUS_LOG_WARN, "record: out of memory");
		free(l.buf);
		return;
	}
	do
		n = write(c->fd, l.buf, l.len);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		c->api->log(c->host, EVBUS_LOG_WARN, "record: write %s: %s",
		    c->path, strerror(errno));
	else if ((size_t)n != l.len)
		c->api->log(c->host, EVBUS_LOG_WARN, "record: write %s: short "
		    "write", c->path);
	else if (c->fsync && fdatasync(c->fd) == -1)
		c->api->log(c->host, EVBUS_LOG_WARN, "record: fdatasync %s: %s",
		    c->path, strerror(errno));
	free(l.buf);
}

static int
chaos_mode_known(const char *m)
{
	static const char *const modes[] = { "ok", "fail", "retry",
	    "retry_once", "segv", "abort", "hang", "exit", NULL };
	size_t	 i;

	for (i = 0; modes[i] != NULL; i++)
		if (strcmp(m, modes[i]) == 0)
			return 1;
	return 0;
}

/* Sleep ms milliseconds, resuming after signals. */
static void
chaos_sleep(int64_t ms)
{
	struct timespec	 ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
chaos_init(const struct evbus_host_api *api, struct evbus_host *host,
    void **state)
{
	struct chaos	*c;
	const char	*path = NULL;
	int64_t		 init_sleep;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		api->log(host, EVBUS_LOG_ERROR, "out of memory");
		return -1;
	}
	c->api = api;
	c->host = host;
	c->fd = -1;
	c->fail_until = -1;
	c->sleep_ms = -1;
	if (api->config_string(host, "mode", &c->mode) == -1 ||
	    (c->mode != NULL && !chaos_mode_known(c->mode))) {
		api->log(host, EVBUS_LOG_ERROR, "config handlers.chaos.mode "
		    "must be one of ok, fail, retry, retry_once, segv, abort, "
		    "hang, exit");
		goto fail;
	}
	if (api->config_int(host, "fail_until", &c->fail_until) == -1 ||
	    api->config_int(host, "sleep_ms", &c->sleep_ms) == -1 ||
	    (c->fail_until < -1 || c->sleep_ms < -1)) {
		api->log(host, EVBUS_LOG_ERROR, "config handlers.chaos."
		    "fail_until and sleep_ms must be integers >= 0");
		goto fail;
	}
	init_sleep = 0;
	if (api->config_int(host, "init_sleep_ms", &init_sleep) == -1 ||
	    init_sleep < 0) {
		api->log(host, EVBUS_LOG_ERROR, "config handlers.chaos."
		    "init_sleep_ms must be an integer >= 0");
		goto fail;
	}
	if (init_sleep > 0)
		chaos_sleep(init_sleep);
	if (api->config_bool(host, "fsync", &c->fsync) == -1) {
		api->log(host, EVBUS_LOG_ERROR, "config handlers.chaos.fsync "
		    "must be a boolean");
		goto fail;
	}
	switch (api->config_string(host, "path", &path)) {
	case 1:
		break;
	case 0:
		if ((c->path = strdup(path)) == NULL) {
			api->log(host, EVBUS_LOG_ERROR, "out of memory");
			goto fail;
		}
		if ((c->fd = open(c->path, O_WRONLY | O_APPEND | O_CREAT |
		    O_CLOEXEC | O_NOCTTY, 0640)) == -1) {
			api->log(host, EVBUS_LOG_ERROR, "open %s: %s", c->path,
			    strerror(errno));
			goto fail;
		}
		break;
	default:
		api->log(host, EVBUS_LOG_ERROR, "config handlers.chaos.path "
		    "must be a string");
		goto fail;
	}
	api->log(host, EVBUS_LOG_INFO, "chaos plugin loaded: misbehaves on "
	    "demand (mode %s%s%s)", c->mode != NULL ? c->mode : "from events",
	    c->path != NULL ? ", recording to " : "",
	    c->path != NULL ? c->path : "");
	*state = c;
	return 0;
fail:
	free(c->path);
	free(c);
	return -1;
}

/* An integer control: config wins, else the body; 0, or -1 bad type. */
static int
chaos_control(struct chaos *c, const struct evbus_event_view *ev,
    const char *key, int64_t conf, int64_t *out)
{
	*out = conf;
	if (conf >= 0)
		return 0;
	return c->api->field_int(c->host, ev, key, out) == -1 ? -1 : 0;
}

/*
 * The crash itself; volatile so the compiler cannot prove the NULL (and
 * turn the store into a trap), unsanitized so a sanitizer build dies of
 * the same SIGSEGV instead of a sanitizer report.
 */
__attribute__((__no_sanitize__("address", "undefined")))
static void
chaos_segv(void)
{
	volatile int *volatile p = NULL;

	*p = 1;
	/* Only if page 0 is mapped. */
	raise(SIGSEGV);
}

static enum evbus_result
chaos_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	struct chaos	*c = state;
	const char	*mode = c->mode;
	int64_t		 fail_until, sleep_ms;
	enum chaos_act	 act;

	if (mode == NULL && c->api->field_string(c->host, ev, "chaos",
	    &mode) == -1) {
		snprintf(err->type, sizeof(err->type), "ChaosError");
		snprintf(err->reason, sizeof(err->reason), "chaos: field "
		    "\"chaos\" is not a string");
		chaos_record(c, ev, ACT_FAIL);
		return EVBUS_FAIL;
	}
	if (chaos_control(c, ev, "fail_until", c->fail_until,
	    &fail_until) == -1 ||
	    chaos_control(c, ev, "sleep_ms", c->sleep_ms, &sleep_ms) == -1) {
		snprintf(err->type, sizeof(err->type), "ChaosError");
		snprintf(err->reason, sizeof(err->reason), "chaos: fields "
		    "\"fail_until\" and \"sleep_ms\" must be integers");
		chaos_record(c, ev, ACT_FAIL);
		return EVBUS_FAIL;
	}

	if (fail_until >= 0 && ev->retry_count < fail_until) {
		act = ACT_RETRY;
		snprintf(err->type, sizeof(err->type), "ChaosRetry");
		snprintf(err->reason, sizeof(err->reason), "chaos: asked to "
		    "fail until retry %lld (retry_count is %lld)",
		    (long long)fail_until, (long long)ev->retry_count);
	} else if (mode == NULL || strcmp(mode, "ok") == 0)
		act = ACT_OK;
	else if (strcmp(mode, "fail") == 0) {
		act = ACT_FAIL;
		snprintf(err->type, sizeof(err->type), "ChaosError");
		snprintf(err->reason, sizeof(err->reason),
		    "chaos: asked to fail");
	} else if (strcmp(mode, "retry") == 0) {
		act = ACT_RETRY;
		snprintf(err->type, sizeof(err->type), "ChaosRetry");
		snprintf(err->reason, sizeof(err->reason),
		    "chaos: asked to retry");
	} else if (strcmp(mode, "retry_once") == 0) {
		act = ev->retry_count == 0 ? ACT_RETRY : ACT_OK;
		snprintf(err->type, sizeof(err->type), "ChaosRetry");
		snprintf(err->reason, sizeof(err->reason),
		    "chaos: asked to retry once");
	} else if (strcmp(mode, "segv") == 0)
		act = ACT_SEGV;
	else if (strcmp(mode, "abort") == 0)
		act = ACT_ABORT;
	else if (strcmp(mode, "hang") == 0)
		act = ACT_HANG;
	else if (strcmp(mode, "exit") == 0)
		act = ACT_EXIT;
	else {
		act = ACT_FAIL;
		snprintf(err->type, sizeof(err->type), "ChaosError");
		snprintf(err->reason, sizeof(err->reason),
		    "chaos: unknown mode \"%.64s\"", mode);
	}

	chaos_record(c, ev, act);
	c->api->log(c->host, act == ACT_OK ? EVBUS_LOG_INFO : EVBUS_LOG_WARN,
	    "%s: %s (retry_count %lld%s)", ev->event_type,
	    chaos_outcomes[act], (long long)ev->retry_count,
	    sleep_ms > 0 ? ", after a sleep" : "");
	if (sleep_ms > 0)
		chaos_sleep(sleep_ms);

	switch (act) {
	case ACT_OK:
		return EVBUS_OK;
	case ACT_RETRY:
		return EVBUS_RETRY;
	case ACT_FAIL:
		return EVBUS_FAIL;
	case ACT_SEGV:
		chaos_segv();
		break;
	case ACT_ABORT:
		abort();
	case ACT_HANG:
		for (;;)
			sleep(3600);
	case ACT_EXIT:
		_exit(3);
	}
	return EVBUS_FAIL;
}

static void
chaos_fini(void *state)
{
	struct chaos	*c = state;

	if (c == NULL)
		return;
	if (c->fd != -1)
		close(c->fd);
	free(c->path);
	free(c);
}

EVBUS_HANDLER_DECLARE("chaos", "1.0", NULL, chaos_init, chaos_handle,
    chaos_fini);
