/*
 * publish.h: publishing with publisher confirms and mandatory routing.
 *
 * A publisher owns one channel in confirm mode and keeps a window of
 * outstanding publishes: evbus_pub_send() blocks only when the window is
 * full, confirms are read as they come, and every message ends in exactly
 * one result: confirmed (and routed), returned unroutable (basic.return
 * before its ack), nacked by the broker, or lost with the connection.
 * A window of 1 is strictly ordered, one round trip per message.
 *
 * Returns are matched to publishes by message_id: the broker sends
 * basic.return in publish order, before the message's ack, so the return
 * belongs to the oldest outstanding publish with that message_id.
 */
#ifndef EVBUS_PUBLISH_H
#define EVBUS_PUBLISH_H

#include <stdint.h>

#include "conn.h"

enum evbus_pub_status {
	EVBUS_PUB_CONFIRMED,
	EVBUS_PUB_RETURNED,	/* unroutable: no queue bound for the key */
	EVBUS_PUB_NACKED,	/* the broker refused it */
	EVBUS_PUB_LOST		/* channel/connection died before a confirm */
};

typedef void (*evbus_pub_cb)(void *arg, uint64_t cookie,
    enum evbus_pub_status st, const char *reason);

struct evbus_pub_pending {
	uint64_t	 seq;
	uint64_t	 cookie;
	int		 returned;
	char		 reason[128];
	char		 message_id[128];
};

struct evbus_publisher {
	struct evbus_amqp	*a;
	amqp_channel_t		 ch;
	uint64_t		 seq;		/* sequence number of the last publish */
	struct evbus_pub_pending *win;		/* ring, capacity cap */
	size_t			 cap, head, count;
	double			 timeout;	/* seconds to wait for a confirm */
	evbus_pub_cb		 cb;
	void			*cb_arg;
	int			 broken;	/* channel or connection lost */
	/* Counters. */
	uint64_t		 confirmed, returned, nacked, lost;
};

/*
 * Put channel ch of a into confirm mode with a window of window messages.
 * cb is told each message's fate.  Returns 0 or an EVBUS_AMQP_E* code.
 */
int	 evbus_pub_init(struct evbus_publisher *p, struct evbus_amqp *a,
	    amqp_channel_t ch, size_t window, double timeout, evbus_pub_cb cb,
	    void *cb_arg);
void	 evbus_pub_free(struct evbus_publisher *p);

/*
 * Publish one message (mandatory) with cookie for the callback.  Waits
 * while the window is full.  Returns 0, or an EVBUS_AMQP_E* code when the
 * channel or connection failed (then every outstanding message has been
 * reported LOST, this one included).
 */
int	 evbus_pub_send(struct evbus_publisher *p, const char *exchange,
	    const char *routing_key, const amqp_basic_properties_t *props,
	    const void *body, size_t len, uint64_t cookie);

/* Wait until every outstanding message has its result; 0 or E* code. */
int	 evbus_pub_flush(struct evbus_publisher *p);

#endif
