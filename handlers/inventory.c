/*
 * inventory.c: the tutorial's stock keeper, a bundled example handler.
 *
 * Events:
 *	OrderCreated	reserve stock for the order in this warehouse
 *	OrderCancelled	release the order's reservation
 *
 * Payload fields read: order_number (string), total_amount (number, or a
 * decimal string as pydantic writes Decimal).
 *
 * Config (handlers.inventory = { ... }):
 *	warehouse = "main";	where stock is reserved
 *
 * It only logs what it would do.  A real one would update its stock table
 * keyed on the event's event_id, so that a redelivered event (delivery is
 * at least once) reserves nothing twice.
 */
#include <stdlib.h>
#include <string.h>

#include "evbus/handler.h"

struct inventory {
	const struct evbus_host_api	*api;
	struct evbus_host		*host;
	const char			*warehouse;
};

static const char *const inventory_types[] = {
	"OrderCreated",
	"OrderCancelled",
	NULL
};

static int
inventory_init(const struct evbus_host_api *api, struct evbus_host *host,
    void **state)
{
	struct inventory	*inv;

	if ((inv = calloc(1, sizeof(*inv))) == NULL) {
		api->log(host, EVBUS_LOG_ERROR, "out of memory");
		return -1;
	}
	inv->api = api;
	inv->host = host;
	inv->warehouse = "main";
	if (api->config_string(host, "warehouse", &inv->warehouse) == -1) {
		api->log(host, EVBUS_LOG_ERROR, "config handlers.inventory."
		    "warehouse must be a string");
		free(inv);
		return -1;
	}
	api->log(host, EVBUS_LOG_INFO, "keeping stock in warehouse %s",
	    inv->warehouse);
	*state = inv;
	return 0;
}

static enum evbus_result
inventory_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	struct inventory	*inv = state;
	const char		*order = "(no order_number)";
	double			 total = 0;
	int			 have_total;

	inv->api->field_string(inv->host, ev, "order_number", &order);
	have_total = inv->api->field_float(inv->host, ev, "total_amount",
	    &total) == 0;

	if (strcmp(ev->event_type, "OrderCreated") == 0)
		inv->api->log(inv->host, EVBUS_LOG_INFO, "%s: reserving "
		    "stock for order %s (aggregate %s v%lld, total %s%.2f) in "
		    "warehouse %s", ev->event_type, order,
		    ev->aggregate_id, (long long)ev->aggregate_version,
		    have_total ? "" : "unknown, ", total, inv->warehouse);
	else
		inv->api->log(inv->host, EVBUS_LOG_INFO, "%s: releasing "
		    "the stock of order %s (aggregate %s) in warehouse %s",
		    ev->event_type, order, ev->aggregate_id,
		    inv->warehouse);
	return EVBUS_OK;
}

static void
inventory_fini(void *state)
{
	free(state);
}

EVBUS_HANDLER_DECLARE("inventory", "1.0", inventory_types, inventory_init,
    inventory_handle, inventory_fini);
