/*
 * shipping.c: the tutorial's shipping desk, a bundled example handler.
 *
 * Events:
 *	OrderShipped	book the carrier for the order's parcel
 *	OrderDelivered	close the shipment
 *
 * Payload fields read: order_number (string), tracking_number (string,
 * optional).  Header read: aggregate_type (to show the header lookups).
 *
 * Config (handlers.shipping = { ... }):
 *	carrier = "postal";	the carrier parcels are booked with
 *
 * It only logs what it would do; a real one would book the carrier once
 * per event_id (delivery is at least once).
 */
#include <stdlib.h>
#include <string.h>

#include "evbus/handler.h"

struct shipping {
	const struct evbus_host_api	*api;
	struct evbus_host		*host;
	const char			*carrier;
};

static const char *const shipping_types[] = {
	"OrderShipped",
	"OrderDelivered",
	NULL
};

static int
shipping_init(const struct evbus_host_api *api, struct evbus_host *host,
    void **state)
{
	struct shipping	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		api->log(host, EVBUS_LOG_ERROR, "out of memory");
		return -1;
	}
	s->api = api;
	s->host = host;
	s->carrier = "postal";
	if (api->config_string(host, "carrier", &s->carrier) == -1) {
		api->log(host, EVBUS_LOG_ERROR, "config handlers.shipping."
		    "carrier must be a string");
		free(s);
		return -1;
	}
	api->log(host, EVBUS_LOG_INFO, "booking parcels with %s", s->carrier);
	*state = s;
	return 0;
}

static enum evbus_result
shipping_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	struct shipping	*s = state;
	const char	*order = "(no order_number)", *tracking = NULL;
	const char	*atype = "?";

	s->api->field_string(s->host, ev, "order_number", &order);
	s->api->field_string(s->host, ev, "tracking_number", &tracking);
	s->api->header_string(s->host, ev, "aggregate_type", &atype);

	if (strcmp(ev->event_type, "OrderShipped") == 0)
		s->api->log(s->host, EVBUS_LOG_INFO, "%s: booking %s for "
		    "%s %s (aggregate %s)%s%s", ev->event_type, s->carrier,
		    atype, order, ev->aggregate_id,
		    tracking != NULL ? ", tracking " : "",
		    tracking != NULL ? tracking : "");
	else
		s->api->log(s->host, EVBUS_LOG_INFO, "%s: %s %s delivered "
		    "by %s, closing the shipment", ev->event_type, atype,
		    order, s->carrier);
	return EVBUS_OK;
}

static void
shipping_fini(void *state)
{
	free(state);
}

EVBUS_HANDLER_DECLARE("shipping", "1.0", shipping_types, shipping_init,
    shipping_handle, shipping_fini);
