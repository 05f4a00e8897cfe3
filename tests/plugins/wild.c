/*
 * wild.c: a well-formed plugin for the loader tests.  Subscribes to every
 * event through a "*" entry; the named type beside it must not make it run
 * twice or earlier than the other wildcard plugins.
 *
 * With handlers.wild = { record = true; } it reports each call of
 * init, handle and fini through the host API's publish() (as the text
 * "<call> wild [event type]"), so a test whose worker may publish
 * (test_loader.c records wpub_event) sees which functions ran and in
 * what order.
 */
#include <stdio.h>
#include <stdlib.h>

#include "evbus/handler.h"

struct wild_state {
	const struct evbus_host_api	*api;
	struct evbus_host		*host;
	bool				 record;
};

static const char *const wild_types[] = {
	"OrderShipped",
	"*",
	NULL
};

static void
record(struct wild_state *st, const char *call, const char *type)
{
	char	 buf[128];

	if (!st->record)
		return;
	snprintf(buf, sizeof(buf), "%s wild%s%s", call,
	    type != NULL ? " " : "", type != NULL ? type : "");
	st->api->publish(st->host, NULL, buf, NULL, 0);
}

static int
wild_init(const struct evbus_host_api *api, struct evbus_host *host,
    void **state)
{
	struct wild_state	*st;

	/* A plugin checks the host table it is given, as the host checks it. */
	if (api->abi_major != EVBUS_HANDLER_ABI_MAJOR ||
	    api->struct_size < sizeof(struct evbus_host_api))
		return -1;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -1;
	st->api = api;
	st->host = host;
	if (api->config_bool(host, "record", &st->record) == -1) {
		api->log(host, EVBUS_LOG_ERROR, "record: not a boolean");
		free(st);
		return -1;
	}
	record(st, "init", NULL);
	*state = st;
	return 0;
}

static enum evbus_result
wild_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	struct wild_state	*st = state;

	record(st, "handle", ev->event_type);
	return EVBUS_OK;
}

static void
wild_fini(void *state)
{
	struct wild_state	*st = state;

	record(st, "fini", NULL);
	free(st);
}

EVBUS_HANDLER_DECLARE("wild", "1.0", wild_types, wild_init,
    wild_handle, wild_fini);
