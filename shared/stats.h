/*
 * stats.h: a worker's statistics as one plain struct without pointers, so
 * it can live in shared memory and be read by the supervisor.
 *
 * Counter names follow eventsource-py's RabbitMQEventBusStats (wire spec
 * 8.1) where one exists; the rest are evbus's own.  Timestamps are
 * microseconds since the epoch, 0 for "never".  Handler latencies are kept
 * as a histogram with power-of-two microsecond buckets, from which
 * percentiles are estimated (bucket upper bounds: 1, 2, 4, ... us).
 */
#ifndef EVBUS_STATS_H
#define EVBUS_STATS_H

#include <stdint.h>

#define EVBUS_STATS_MAX_HANDLERS	32
#define EVBUS_STATS_LAT_BUCKETS		32	/* up to ~2^31 us = 36 min */

struct evbus_handler_stats {
	char		 name[64];
	uint64_t	 calls;
	uint64_t	 ok;
	uint64_t	 retry;		/* returned EVBUS_RETRY */
	uint64_t	 fail;		/* returned EVBUS_FAIL */
	uint64_t	 latency_sum_us;
	uint64_t	 latency[EVBUS_STATS_LAT_BUCKETS];
};

struct evbus_worker_stats {
	/* eventsource-py's counters. */
	uint64_t	 events_published;
	uint64_t	 events_consumed;
	uint64_t	 events_processed_success;
	uint64_t	 events_processed_failed;
	uint64_t	 messages_sent_to_dlq;
	uint64_t	 handler_errors;
	uint64_t	 reconnections;
	uint64_t	 publish_confirms;
	uint64_t	 publish_returns;
	uint64_t	 batch_publishes;
	uint64_t	 batch_events_published;
	uint64_t	 batch_partial_failures;
	int64_t		 last_publish_at;
	int64_t		 last_consume_at;
	int64_t		 last_error_at;
	int64_t		 connected_at;
	/* evbus's own. */
	uint64_t	 received;	/* deliveries taken from the queue */
	uint64_t	 skipped;	/* no handler wanted the event type */
	uint64_t	 malformed;	/* bad JSON, fields or headers: to the DLQ */
	uint64_t	 retried;	/* retry copies confirmed */
	uint64_t	 dropped;	/* exhausted with enable_dlq = false */
	uint64_t	 redelivered;	/* deliveries flagged redelivered */
	uint64_t	 poisoned;	/* crashed workers max_crashes times: DLQ */
	uint32_t	 is_connected;
	uint32_t	 is_consuming;
	uint32_t	 nhandlers;
	uint32_t	 pad;
	struct evbus_handler_stats handlers[EVBUS_STATS_MAX_HANDLERS];
};

/* The histogram bucket for a latency in microseconds. */
static inline int
evbus_stats_bucket(uint64_t us)
{
	int	 b = 0;

	while (us > 1 && b < EVBUS_STATS_LAT_BUCKETS - 1) {
		us = (us + 1) >> 1;
		b++;
	}
	return b;
}

#endif
