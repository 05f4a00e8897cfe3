/*
 * message.h: an event as an AMQP message, exactly as eventsource-py puts it
 * on the wire (wire spec 3): routing key "{aggregate_type}.{event_type}",
 * properties (application/json, utf-8, persistent, priority 0, message_id =
 * event_id, timestamp = occurred_at seconds) and headers (event_type,
 * aggregate_type, aggregate_id, aggregate_version as the smallest integer
 * type, x-retry-count 0, correlation_id, tenant_id/causation_id when set,
 * traceparent/tracestate), with the body in eventsource-py's key order.
 */
#ifndef EVBUS_MESSAGE_H
#define EVBUS_MESSAGE_H

#include "conn.h"
#include "event.h"

#define EVBUS_TRACEPARENT_LEN	55	/* "00-<32>-<16>-<2>" */
#define EVBUS_TRACESTATE_MAX	512
#define EVBUS_MSG_MAX_HEADERS	12

struct evbus_msg {
	char			 routing_key[255 + 1];
	amqp_basic_properties_t	 props;
	amqp_table_entry_t	 headers[EVBUS_MSG_MAX_HEADERS];
	char			*body;
	size_t			 body_len;
	char			 message_id[EVBUS_UUID_LEN + 1];
	char			 traceparent[EVBUS_TRACEPARENT_LEN + 1];
	char			 tracestate[EVBUS_TRACESTATE_MAX + 1];
	/* The header values point into ev's strings: keep ev alive. */
	const struct evbus_event *ev;
};

/*
 * Build m from ev.  parent is a W3C traceparent to continue (a new span
 * in the same trace) or NULL to start a new trace; tracestate is passed on
 * as is when not NULL.  Returns 0, or -1 with err set (routing key too
 * long, invalid parent traceparent, out of memory).
 */
int	 evbus_msg_build(struct evbus_msg *m, const struct evbus_event *ev,
	    const char *parent, const char *tracestate, char *err,
	    size_t errlen);
void	 evbus_msg_free(struct evbus_msg *m);

/* The smallest AMQP integer field (b, s, I, l) holding v, as pamqp does. */
amqp_field_value_t evbus_field_int(int64_t v);

/*
 * Read an integer header the way Python does (any integer width, a bool,
 * or a string of decimal digits).  Returns 0 with *v, 1 when the header
 * is absent, -1 when present with another type or unparsable.
 */
int	 evbus_header_int(const amqp_table_t *t, const char *key, int64_t *v);

/* A string header (S) into buf; 0, 1 when absent, -1 another type. */
int	 evbus_header_str(const amqp_table_t *t, const char *key, char *buf,
	    size_t len);

/* The entry for key in t, or NULL. */
const amqp_field_value_t *evbus_header_get(const amqp_table_t *t,
	    const char *key);

/*
 * Copy table in into out[] (at most max entries) with the entries of set[]
 * replacing same-named ones or appended, and keys in del[] left out.  The
 * values still point into in's memory.  Returns the number of entries, or
 * -1 when they do not fit.
 */
int	 evbus_headers_edit(const amqp_table_t *in, amqp_table_entry_t *out,
	    int max, const amqp_table_entry_t *set, int nset,
	    const char *const *del, int ndel);

/* A header entry holding a string (not copied) or an integer. */
amqp_table_entry_t evbus_entry_str(const char *key, const char *value);
amqp_table_entry_t evbus_entry_int(const char *key, int64_t value);

/* W3C trace context. */
int	 evbus_traceparent_valid(const char *s);
/* A child of parent (same trace id, new span id), or a new root if NULL. */
int	 evbus_traceparent_child(const char *parent,
	    char out[EVBUS_TRACEPARENT_LEN + 1]);

#endif
