/*
 * init_fail.c: a loader test plugin whose init() refuses to start (as a
 * handler missing a required config key does).  loader_init_all() must
 * report it, finalize the plugins initialized before it, never call this
 * one's fini(), and leave nothing loaded.  With handlers.init_fail =
 * { record = true; } its calls are reported through publish(), as in
 * good_a.c.
 */
#include <stdbool.h>

#include "evbus/handler.h"

static const char *const init_fail_types[] = { "OrderCreated", NULL };

static int
init_fail_init(const struct evbus_host_api *api, struct evbus_host *host,
    void **state)
{
	bool	 record = false;

	api->config_bool(host, "record", &record);
	if (record)
		api->publish(host, NULL, "init init_fail", NULL, 0);
	api->log(host, EVBUS_LOG_ERROR, "refusing to start (test plugin)");
	return -1;
}

static enum evbus_result
init_fail_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	return EVBUS_OK;
}

/* Must never run: init failed. */
static void
init_fail_fini(void *state)
{
	*(volatile int *)state = 0;
}

EVBUS_HANDLER_DECLARE("init_fail", "1.0", init_fail_types, init_fail_init,
    init_fail_handle, init_fail_fini);
