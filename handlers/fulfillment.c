/*
 * fulfillment.c: the tutorial's fulfillment centre, a bundled example
 * handler.
 *
 * Events:
 *	OrderCreated	open a pick ticket for the order, held until paid
 *	PaymentReceived	release the ticket for picking and packing
 *	OrderCancelled	cancel the ticket
 *
 * Payload fields read: order_number (string), total_amount (on
 * OrderCreated) and amount (on PaymentReceived), numbers or decimal
 * strings.
 *
 * Config (handlers.fulfillment = { ... }):
 *	site = "dc-1";			the fulfillment centre's name
 *	ship_on_payment = false;	true: on PaymentReceived, publish an
 *					OrderShipped event for the same order
 *					(host API publish(): it continues the
 *					trace and gets causation_id and
 *					correlation_id from PaymentReceived)
 *
 * Apart from that optional publish it only logs what it would do.  A
 * redelivered PaymentReceived would publish OrderShipped again; a real
 * handler would remember the event_ids it has acted on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evbus/handler.h"

struct fulfillment {
	const struct evbus_host_api	*api;
	struct evbus_host		*host;
	const char			*site;
	bool				 ship_on_payment;
};

static const char *const fulfillment_types[] = {
	"OrderCreated",
	"PaymentReceived",
	"OrderCancelled",
	NULL
};

static int
fulfillment_init(const struct evbus_host_api *api, struct evbus_host *host,
    void **state)
{
	struct fulfillment	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		api->log(host, EVBUS_LOG_ERROR, "out of memory");
		return -1;
	}
	f->api = api;
	f->host = host;
	f->site = "dc-1";
	if (api->config_string(host, "site", &f->site) == -1 ||
	    api->config_bool(host, "ship_on_payment",
	    &f->ship_on_payment) == -1) {
		api->log(host, EVBUS_LOG_ERROR, "config handlers.fulfillment: "
		    "site must be a string and ship_on_payment a boolean");
		free(f);
		return -1;
	}
	api->log(host, EVBUS_LOG_INFO, "fulfilling orders at %s%s", f->site,
	    f->ship_on_payment ? ", shipping on payment" : "");
	*state = f;
	return 0;
}

/* s as the body of a JSON string into buf; -1 if it does not fit. */
static int
json_escape(const char *s, char *buf, size_t len)
{
	size_t	 o = 0;
	int	 n;

	for (; *s != '\0'; s++) {
		if (o + 7 >= len)
			return -1;
		if (*s == '"' || *s == '\\') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else if ((unsigned char)*s < 0x20) {
			n = snprintf(buf + o, len - o, "\\u%04x",
			    (unsigned int)(unsigned char)*s);
			o += (size_t)n;
		} else
			buf[o++] = *s;
	}
	buf[o] = '\0';
	return 0;
}

/* Publish OrderShipped for the order of ev; EVBUS_OK or EVBUS_RETRY. */
static enum evbus_result
fulfillment_ship(struct fulfillment *f, const struct evbus_event_view *ev,
    const char *order, struct evbus_error *err)
{
	char	 json[1024], eorder[512], esite[256], why[256];
	int	 n;

	if (json_escape(order, eorder, sizeof(eorder)) == -1 ||
	    json_escape(f->site, esite, sizeof(esite)) == -1) {
		snprintf(err->type, sizeof(err->type), "ValidationError");
		snprintf(err->reason, sizeof(err->reason), "fulfillment: "
		    "order_number or site too long to publish OrderShipped");
		return EVBUS_FAIL;
	}
	/* event_id, occurred_at and the trace are filled in by the host. */
	n = snprintf(json, sizeof(json), "{\"event_type\":\"OrderShipped\","
	    "\"aggregate_type\":\"%s\",\"aggregate_id\":\"%s\","
	    "\"aggregate_version\":%lld,\"order_number\":\"%s\","
	    "\"shipped_from\":\"%s\"}", ev->aggregate_type, ev->aggregate_id,
	    (long long)ev->aggregate_version + 1, eorder, esite);
	if (n < 0 || (size_t)n >= sizeof(json)) {
		snprintf(err->type, sizeof(err->type), "ValidationError");
		snprintf(err->reason, sizeof(err->reason), "fulfillment: "
		    "OrderShipped event too long");
		return EVBUS_FAIL;
	}
	if (f->api->publish(f->host, ev, json, why, sizeof(why)) == -1) {
		snprintf(err->type, sizeof(err->type), "PublishError");
		snprintf(err->reason, sizeof(err->reason), "fulfillment: "
		    "publishing OrderShipped for order %s: %s", order, why);
		return EVBUS_RETRY;
	}
	f->api->log(f->host, EVBUS_LOG_INFO, "published OrderShipped for "
	    "order %s", order);
	return EVBUS_OK;
}

static enum evbus_result
fulfillment_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	struct fulfillment	*f = state;
	const char		*order = "(no order_number)";
	double			 amount = 0;
	int			 have_amount;

	f->api->field_string(f->host, ev, "order_number", &order);
	if (strcmp(ev->event_type, "OrderCreated") == 0) {
		have_amount = f->api->field_float(f->host, ev, "total_amount",
		    &amount) == 0;
		f->api->log(f->host, EVBUS_LOG_INFO, "%s: pick ticket for "
		    "order %s (aggregate %s, total %s%.2f) opened at %s, "
		    "waiting for payment", ev->event_type, order,
		    ev->aggregate_id, have_amount ? "" : "unknown, ", amount,
		    f->site);
	} else if (strcmp(ev->event_type, "PaymentReceived") == 0) {
		have_amount = f->api->field_float(f->host, ev, "amount",
		    &amount) == 0;
		f->api->log(f->host, EVBUS_LOG_INFO, "%s: payment %s%.2f "
		    "for order %s received: picking and packing at %s",
		    ev->event_type, have_amount ? "" :
		    "(unknown) ", amount, order, f->site);
		if (f->ship_on_payment)
			return fulfillment_ship(f, ev, order, err);
	} else
		f->api->log(f->host, EVBUS_LOG_INFO, "%s: pick ticket for "
		    "order %s cancelled at %s", ev->event_type, order,
		    f->site);
	return EVBUS_OK;
}

static void
fulfillment_fini(void *state)
{
	free(state);
}

EVBUS_HANDLER_DECLARE("fulfillment", "1.0", fulfillment_types,
    fulfillment_init, fulfillment_handle, fulfillment_fini);
