/*
 * good_b.c: a well-formed plugin for the loader tests.  Subscribes to
 * OrderCreated, listed twice: it must still run once per delivery.
 *
 * With handlers.good_b = { record = true; } it reports each call of
 * init, handle and fini through the host API's publish() (as the text
 * "<call> good_b [event type]"), so a test whose worker may publish
 * (test_loader.c records wpub_event) sees which functions ran and in
 * what order.
 */
#include <stdio.h>
#include <stdlib.h>

#include "evbus/handler.h"

struct good_b_state {
	const struct evbus_host_api	*api;
	struct evbus_host		*host;
	bool				 record;
};

static const char *const good_b_types[] = {
	"OrderCreated",
	"OrderCreated",
	NULL
};

static void
record(struct good_b_state *st, const char *call, const char *type)
{
	char	 buf[128];

	if (!st->record)
		return;
	snprintf(buf, sizeof(buf), "%s good_b%s%s", call,
	    type != NULL ? " " : "", type != NULL ? type : "");
	st->api->publish(st->host, NULL, buf, NULL, 0);
}

static int
good_b_init(const struct evbus_host_api *api, struct evbus_host *host,
    void **state)
{
	struct good_b_state	*st;

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
good_b_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	struct good_b_state	*st = state;

	record(st, "handle", ev->event_type);
	return EVBUS_OK;
}

static void
good_b_fini(void *state)
{
	struct good_b_state	*st = state;

	record(st, "fini", NULL);
	free(st);
}

EVBUS_HANDLER_DECLARE("good_b", "1.0", good_b_types, good_b_init,
    good_b_handle, good_b_fini);
