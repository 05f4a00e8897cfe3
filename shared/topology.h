/*
 * topology.h: the exchanges, queues and bindings, declared exactly as
 * eventsource-py declares them (wire spec 2), plus evbus's retry queues.
 *
 * Order: DLQ exchange, DLQ queue, DLQ binding (if enable_dlq); main
 * exchange; main queue; its bindings; then one retry queue per delay tier.
 * A retry queue "<queue>.retry.<ms>" holds retry copies until their
 * per-message expiration, then dead-letters them through the default
 * exchange straight back into this group's queue: no other consumer group
 * sees them, no worker sleeps, and a crash loses nothing.
 */
#ifndef EVBUS_TOPOLOGY_H
#define EVBUS_TOPOLOGY_H

#include <stdint.h>

#include "conn.h"
#include "conf.h"

#define EVBUS_MAX_RETRY_TIERS	64

/*
 * Declare everything on channel ch.  On failure a->err says which entity
 * and what to check; the return value is an EVBUS_AMQP_E* code (a 406 on a
 * redeclare closes the channel: ECHANNEL).
 */
int	 evbus_topology_declare(struct evbus_amqp *a, amqp_channel_t ch,
	    const struct evbus_config *c);

/*
 * "<queue>.p<p>" into buf (ordering = "aggregate"); -1 if it does not fit
 * 255 bytes.
 */
int	 evbus_partition_queue_name(const struct evbus_config *c, int p,
	    char *buf, size_t len);

/*
 * Passive declare of queue on ch: its depth and consumers, 0.  -1 with
 * err ("queue X does not exist", or the broker's reason) and the channel
 * reopened; -2 when the connection is gone.
 */
int	 evbus_queue_depth(struct evbus_amqp *a, amqp_channel_t ch,
	    const char *queue, uint64_t *messages, uint64_t *consumers,
	    char *err, size_t errlen);

/* What the group's queue holds, or its partitions together. */
struct evbus_group_depth {
	uint64_t	 messages;	/* ready, all partitions */
	uint64_t	 consumers;	/* registered (standbys too) */
	uint64_t	 idle;		/* queues without a consumer */
	uint64_t	 deepest;	/* ordered: the fullest partition's */
	int		 deepest_partition;
};

/*
 * evbus_queue_depth() of the group's queue, or summed over its partition
 * queues with ordering = "aggregate" (the first error stops it).
 */
int	 evbus_group_depth(struct evbus_amqp *a, amqp_channel_t ch,
	    const struct evbus_config *c, struct evbus_group_depth *d,
	    char *err, size_t errlen);

/*
 * What another ordering mode (or a larger partitions) left behind: the
 * group's queue when ordered, partition queues otherwise, a partition
 * beyond the last.  1 with msg saying what and what to do, 0 when there
 * is nothing, -1 when the connection failed.
 */
int	 evbus_topology_leftovers(struct evbus_amqp *a, amqp_channel_t ch,
	    const struct evbus_config *c, char *msg, size_t len);

/*
 * Add "ordering" to a status object, and with ordering = "aggregate" the
 * partitions and, when d is given, how they stand.
 */
struct json_object;
void	 evbus_ordering_json(struct json_object *o,
	    const struct evbus_config *c, const struct evbus_group_depth *d);

/*
 * Bind (or unbind) the group's queue to the main exchange with key; with
 * ordering = "aggregate", its partition exchange.
 */
int	 evbus_topology_bind(struct evbus_amqp *a, amqp_channel_t ch,
	    const struct evbus_config *c, const char *key, int unbind);

/*
 * The distinct nominal delays in milliseconds used for retries 0 ..
 * max_retries-1, ascending, into ms[]; returns how many.
 */
size_t	 evbus_retry_tiers(const struct evbus_config *c, long long *ms,
	    size_t max);

/* The tier (nominal delay, ms) a retry with count n waits in. */
long long evbus_retry_tier_for(const struct evbus_config *c, int n);

/* x-delivery-limit of a quorum group queue: a backstop above max_crashes. */
long long evbus_quorum_delivery_limit(const struct evbus_config *c);

/* "<queue>.retry.<ms>" into buf; -1 if it does not fit 255 bytes. */
int	 evbus_retry_queue_name(const struct evbus_config *c, long long ms,
	    char *buf, size_t len);

#endif
