/*
 * example_handler.c: a complete evbus handler plugin to start from.
 *
 * Events: OrderCreated and OrderCancelled.  It checks that each event
 * names an order, logs it, and counts what it handled; an event without
 * an order number goes straight to the DLQ (EVBUS_FAIL), and while the
 * configured "pause_file" exists events are retried later (EVBUS_RETRY),
 * to show both failure paths.
 *
 * Config (handlers.example = { ... }; in evbusd.conf):
 *	greeting = "hello";		a word to put in front of each line
 *	pause_file = "/run/evbus/pause";	retry while this file exists
 *
 * Build and install (evbus-dev installs the header and the .pc file):
 *
 *	cc -Wall -Wextra -O2 -shared -fPIC \
 *	    $(pkg-config --cflags evbus-handler) \
 *	    -o example.so example_handler.c
 *	install -m 0755 example.so \
 *	    "$(pkg-config --variable=plugindir evbus-handler)"
 *	evbusd -n && evbusctl reload
 *
 * It uses only <evbus/handler.h> and libc; see evbus-handler(3).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <evbus/handler.h>

/* Per-worker state: what init() found, and a counter. */
struct example {
	const struct evbus_host_api	*api;
	struct evbus_host		*host;
	const char			*greeting;
	const char			*pause_file;	/* or NULL */
	unsigned long			 handled;
};

static const char *const example_types[] = {
	"OrderCreated",
	"OrderCancelled",
	NULL
};

/*
 * Read the configuration.  init() also runs in evbusd's plugin check
 * (worker_index() is -1 there), so it only checks and allocates.
 */
static int
example_init(const struct evbus_host_api *api, struct evbus_host *host,
    void **state)
{
	struct example	*ex;

	if ((ex = calloc(1, sizeof(*ex))) == NULL)
		return -1;
	ex->api = api;
	ex->host = host;
	ex->greeting = "hello";
	if (api->config_string(host, "greeting", &ex->greeting) == -1) {
		api->log(host, EVBUS_LOG_ERROR,
		    "handlers.example.greeting must be a string");
		free(ex);
		return -1;
	}
	if (api->config_string(host, "pause_file", &ex->pause_file) == -1) {
		api->log(host, EVBUS_LOG_ERROR,
		    "handlers.example.pause_file must be a string");
		free(ex);
		return -1;
	}
	if (api->worker_index(host) >= 0)
		api->log(host, EVBUS_LOG_INFO, "ready in %s",
		    api->consumer_name(host));
	*state = ex;
	return 0;
}

static enum evbus_result
example_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	struct example	*ex = state;
	const char	*order;

	if (ex->pause_file != NULL && access(ex->pause_file, F_OK) == 0) {
		strncpy(err->type, "Paused", sizeof(err->type) - 1);
		strncpy(err->reason, "the pause file exists",
		    sizeof(err->reason) - 1);
		return EVBUS_RETRY;
	}
	if (ex->api->field_string(ex->host, ev, "order_number", &order) != 0) {
		strncpy(err->type, "ValidationError", sizeof(err->type) - 1);
		strncpy(err->reason, "the event has no order_number string",
		    sizeof(err->reason) - 1);
		return EVBUS_FAIL;
	}
	ex->handled++;
	ex->api->log(ex->host, EVBUS_LOG_INFO, "%s: %s for order %s (%lu so "
	    "far)", ex->greeting, ev->event_type, order, ex->handled);
	return EVBUS_OK;
}

static void
example_fini(void *state)
{
	free(state);
}

EVBUS_HANDLER_DECLARE("example", "1.0", example_types, example_init,
    example_handle, example_fini);
