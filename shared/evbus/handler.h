/*
 * evbus/handler.h: the public ABI between evbus workers and handler plugins.
 *
 * A handler is a shared object (.so) in evbusd's plugin_dir that exports
 * one symbol, `evbus_handler`, a struct evbus_handler filled in with
 * EVBUS_HANDLER_DECLARE().  This header is self-contained (only <stddef.h>,
 * <stdint.h>, <stdbool.h>) so plugins build with nothing but it; the
 * pkg-config module evbus-handler gives its -I flag and, as the variable
 * plugindir, evbusd's default plugin_dir (see evbus-handler(3)):
 *
 *	cc -shared -fPIC $(pkg-config --cflags evbus-handler) \
 *	    -o myhandler.so myhandler.c
 *
 * Life cycle, per worker process (never in the supervisor):
 *
 *	1. The worker dlopen()s the file (RTLD_NOW | RTLD_LOCAL: a missing
 *	   symbol fails here) and checks magic, ABI major, minor and
 *	   struct_size BEFORE running any plugin code.
 *	2. init() is called once, after fork, with the host API table and a
 *	   host handle; it returns its per-worker state through *state.
 *	3. handle() is called for every delivery whose event type the
 *	   handler subscribes to, one at a time (a worker processes one
 *	   message at a time; parallelism comes from the number of workers,
 *	   so plugin code needs no locking of its own state).
 *	4. fini() is called once when the worker stops cleanly.  A worker that
 *	   crashes or is killed does not call it.
 *
 * The configuration check also runs init().  Before evbusd accepts a
 * configuration (at start, at each reload, and for `evbusd -n`) it loads
 * every plugin in a throwaway child process, the "plugin check", with the
 * workers' user and group, and calls init() then at once fini(), so that
 * a plugin whose init() fails or crashes stops start-up or the reload
 * instead of the workers.  In that process there is no broker connection:
 * worker_index() returns -1, consumer_name() returns
 * "<consumer_name>-check", and publish() fails ("publishing is not
 * available here").  handle() is never called there.  init() should
 * therefore only check its configuration and acquire what fini() releases;
 * work that must happen once per real worker (opening a connection of its
 * own, starting a thread, announcing itself) can test worker_index() >= 0.
 *
 * Delivery is at least once: a worker crash, a broker restart or a network
 * cut can hand the same event to handle() again (possibly in another
 * worker).  Handlers must be idempotent, e.g. on the event's event_id.
 *
 * Compatibility: the ABI major changes only when an existing field changes
 * meaning or position; new fields are appended with a minor bump, and the
 * host reads a field only when struct_size says it exists.  A plugin built
 * against a newer minor than the host is refused.
 */
#ifndef EVBUS_HANDLER_H
#define EVBUS_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVBUS_HANDLER_MAGIC	0x45564248u	/* "EVBH" */
#define EVBUS_HANDLER_ABI_MAJOR	1
#define EVBUS_HANDLER_ABI_MINOR	0
#define EVBUS_HANDLER_SYMBOL	"evbus_handler"

/* What handle() says about one event. */
enum evbus_result {
	EVBUS_OK = 0,		/* done: the message is acknowledged */
	EVBUS_RETRY = 1,	/* transient failure: retry later with backoff */
	EVBUS_FAIL = 2		/* permanent failure: straight to the DLQ */
};

/* Log levels for evbus_host_api.log. */
enum evbus_log_level {
	EVBUS_LOG_DEBUG = 0,
	EVBUS_LOG_INFO = 1,
	EVBUS_LOG_WARN = 2,
	EVBUS_LOG_ERROR = 3
};

/*
 * One delivery as a handler sees it.  Owned by the worker and valid only
 * during the handle() call that received it: copy what you keep.  Strings
 * are NUL-terminated UTF-8; optional ones are NULL when absent or null.
 */
struct evbus_event_view {
	const char	*event_id;		/* UUID, lowercase */
	const char	*event_type;		/* as dispatched on */
	int64_t		 event_version;		/* >= 1 */
	const char	*occurred_at;		/* ISO-8601 as in the body */
	const char	*aggregate_id;		/* UUID */
	const char	*aggregate_type;
	int64_t		 aggregate_version;	/* >= 1 */
	const char	*tenant_id;		/* optional */
	const char	*actor_id;		/* optional */
	const char	*correlation_id;	/* UUID */
	const char	*causation_id;		/* optional */
	const char	*body;			/* the raw JSON body */
	size_t		 body_len;		/* without a terminating NUL */
	const char	*routing_key;		/* the original routing key */
	const char	*message_id;		/* AMQP message_id, optional */
	const char	*traceparent;		/* W3C trace context, optional */
	const char	*tracestate;		/* optional */
	int64_t		 retry_count;		/* x-retry-count: 0 on first try */
	bool		 redelivered;		/* the broker delivered it before */
	const void	*host_private;		/* the worker's; do not touch */
};

/*
 * Why handle() failed, for the logs and the DLQ headers x-dlq-error-type
 * and x-dlq-reason.  Zeroed before each call; fill it when returning
 * EVBUS_RETRY or EVBUS_FAIL.  type is a stable class-like name
 * ("ValidationError", "TimeoutError"); reason a sentence.  Both are
 * truncated to fit.
 */
struct evbus_error {
	char	 type[64];
	char	 reason[512];
};

/* Opaque to plugins: identifies the calling handler to the host. */
struct evbus_host;

/*
 * The services a worker offers its handlers.  Passed to init(); the table
 * and the host handle stay valid until fini() returns, so keep both in
 * your state.  Call only from the thread that called init() or handle().
 */
struct evbus_host_api {
	uint32_t	 struct_size;	/* sizeof(struct evbus_host_api) of the host */
	uint16_t	 abi_major;
	uint16_t	 abi_minor;

	/*
	 * Log a line through the worker's log (stderr or syslog), prefixed
	 * with the worker and handler name, and, inside handle(), with the
	 * event id and trace id of the current message.
	 */
	void		(*log)(struct evbus_host *host, enum evbus_log_level level,
			    const char *fmt, ...)
			    __attribute__((__format__(printf, 3, 4)));

	/*
	 * This handler's own section of evbusd.conf, handlers.<name> = {...}:
	 * the value of key, 0 when found, 1 when absent (the out value is
	 * untouched, so preset your default), -1 when the type differs.
	 * Strings stay valid until fini().  Nested paths use dots ("db.host").
	 */
	int		(*config_string)(struct evbus_host *host, const char *key,
			    const char **out);
	int		(*config_int)(struct evbus_host *host, const char *key,
			    int64_t *out);
	int		(*config_float)(struct evbus_host *host, const char *key,
			    double *out);
	int		(*config_bool)(struct evbus_host *host, const char *key,
			    bool *out);

	/*
	 * A header of the current delivery: string headers (AMQP longstr) and
	 * integer headers (any width, or a decimal string).  Same return
	 * convention as the config lookups; strings valid during handle().
	 */
	int		(*header_string)(struct evbus_host *host,
			    const struct evbus_event_view *ev, const char *name,
			    const char **out);
	int		(*header_int)(struct evbus_host *host,
			    const struct evbus_event_view *ev, const char *name,
			    int64_t *out);

	/*
	 * A top-level field of the event body (payload fields included):
	 * strings, integers (also digits in a string), floats, booleans.
	 * Same return convention; strings valid during handle().  To read
	 * nested data parse ev->body with the JSON library of your choice.
	 */
	int		(*field_string)(struct evbus_host *host,
			    const struct evbus_event_view *ev, const char *key,
			    const char **out);
	int		(*field_int)(struct evbus_host *host,
			    const struct evbus_event_view *ev, const char *key,
			    int64_t *out);
	int		(*field_float)(struct evbus_host *host,
			    const struct evbus_event_view *ev, const char *key,
			    double *out);
	int		(*field_bool)(struct evbus_host *host,
			    const struct evbus_event_view *ev, const char *key,
			    bool *out);

	/*
	 * Publish a follow-up event (an eventsource-py event as JSON, the
	 * same input `evbusctl publish` takes) to the main exchange and wait
	 * for the broker's confirm.  When cause is the current delivery the
	 * new event continues its trace (traceparent), gets causation_id =
	 * cause->event_id and, unless given, its correlation_id and
	 * tenant_id.  Missing event_id and occurred_at are filled in.
	 * Returns 0 when the broker confirmed it and it was routed, or -1
	 * with a reason in err (invalid event, unroutable, broker down):
	 * usually a reason to return EVBUS_RETRY.
	 */
	int		(*publish)(struct evbus_host *host,
			    const struct evbus_event_view *cause,
			    const char *json, char *err, size_t errlen);

	/*
	 * This worker's index (0..workers-1) and consumer name
	 * ("<consumer_name>-<index>").  In the plugin check process (see
	 * the top of this file) the index is -1 and the name
	 * "<consumer_name>-check".
	 */
	int		(*worker_index)(struct evbus_host *host);
	const char	*(*consumer_name)(struct evbus_host *host);
};

/*
 * The descriptor a plugin exports.  Fill it with EVBUS_HANDLER_DECLARE;
 * the first four fields are what the loader checks before anything else.
 */
struct evbus_handler {
	uint32_t	 magic;		/* EVBUS_HANDLER_MAGIC */
	uint16_t	 abi_major;	/* EVBUS_HANDLER_ABI_MAJOR built against */
	uint16_t	 abi_minor;	/* EVBUS_HANDLER_ABI_MINOR built against */
	uint32_t	 struct_size;	/* sizeof(struct evbus_handler) built against */

	/* Unique among loaded plugins: [A-Za-z0-9_.-], at most 63 bytes; also
	 * the name of its config section handlers.<name>. */
	const char	*name;
	const char	*version;	/* free text, logged at load */

	/*
	 * Event types handled, NULL-terminated ("OrderCreated"); the wildcard
	 * "*" (or a NULL array) means every event.  A delivery goes to every
	 * subscribed handler in plugin load order (file name order), then to
	 * wildcard handlers, and all of them run even if one fails.
	 */
	const char *const *event_types;

	/*
	 * Optional.  Called once per worker after fork, and once in the
	 * plugin check process before the configuration is accepted (see
	 * the top of this file).  Return 0 and set *state (may stay NULL),
	 * or -1 to refuse to start: the check then rejects the
	 * configuration (evbusd does not start, or a reload keeps the old
	 * one), and a worker exits as misconfigured and is not respawned;
	 * log why first.
	 */
	int		(*init)(const struct evbus_host_api *api,
			    struct evbus_host *host, void **state);

	/*
	 * Required.  Handle one event: EVBUS_OK, EVBUS_RETRY or EVBUS_FAIL,
	 * with err filled in on failure.  Runs at most handler_timeout
	 * seconds, or the worker is killed and the message counts as a
	 * crash.  Must not fork, exit, or install signal handlers.
	 */
	enum evbus_result (*handle)(void *state,
			    const struct evbus_event_view *ev,
			    struct evbus_error *err);

	/* Optional.  Called once when the worker stops cleanly. */
	void		(*fini)(void *state);
};

/* Declare the plugin's descriptor: use exactly once per plugin. */
#define EVBUS_HANDLER_DECLARE(name_, version_, types_, init_, handle_, fini_) \
	__attribute__((__visibility__("default")))			\
	const struct evbus_handler evbus_handler = {			\
		EVBUS_HANDLER_MAGIC,					\
		EVBUS_HANDLER_ABI_MAJOR,				\
		EVBUS_HANDLER_ABI_MINOR,				\
		(uint32_t)sizeof(struct evbus_handler),			\
		(name_), (version_), (types_), (init_), (handle_), (fini_) \
	}

#ifdef __cplusplus
}
#endif

#endif
