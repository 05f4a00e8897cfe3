/*
 * scoreboard.h: the shared memory between evbusd and its workers.
 *
 * The supervisor creates it before forking (an anonymous MAP_SHARED
 * mapping inherited by every child): a versioned header, the totals of
 * workers that have died ("retired", so aggregates never go backwards),
 * and one fixed-size slot per worker.  Each slot has exactly one writer,
 * its worker; the supervisor only reads it (and resets it between two
 * workers).  A seqlock makes every read consistent without ever blocking
 * the writer: the writer makes seq odd, updates, makes it even; a reader
 * retries while seq is odd or changed under it.  No pointers inside.
 */
#ifndef EVBUS_SCOREBOARD_H
#define EVBUS_SCOREBOARD_H

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

#define EVBUS_SB_MAGIC		0x45565342u	/* "EVSB" */
#define EVBUS_SB_VERSION	1
#define EVBUS_SB_MAX_SLOTS	256
#define EVBUS_SB_ID_MAX		128

enum evbus_slot_state {
	EVBUS_SLOT_EMPTY = 0,
	EVBUS_SLOT_STARTING,
	EVBUS_SLOT_CONNECTING,
	EVBUS_SLOT_CONSUMING,
	EVBUS_SLOT_STOPPING
};

struct evbus_slot {
	uint32_t		 seq;		/* seqlock */
	uint32_t		 state;		/* enum evbus_slot_state */
	int32_t			 pid;
	uint32_t		 generation;	/* bumped for each new worker */
	int64_t			 heartbeat;	/* CLOCK_MONOTONIC us */
	int64_t			 inflight_since;	/* CLOCK_MONOTONIC us, 0 = idle */
	int64_t			 started;	/* CLOCK_REALTIME us */
	uint32_t		 inflight_redelivered;
	uint32_t		 pad;
	char			 inflight_id[EVBUS_SB_ID_MAX];	/* message id */
	struct evbus_worker_stats stats;
};

struct evbus_scoreboard {
	uint32_t		 magic;
	uint32_t		 version;
	uint32_t		 nslots;
	uint32_t		 slot_size;
	struct evbus_worker_stats retired;	/* dead workers' counters */
	uint64_t		 restarts;
	uint64_t		 crashes;
	uint64_t		 poison_messages;
	struct evbus_slot	 slots[];
};

/* Map a zeroed scoreboard for n slots (MAP_SHARED|MAP_ANONYMOUS); NULL + errno. */
struct evbus_scoreboard *evbus_sb_create(unsigned int nslots);
void	 evbus_sb_destroy(struct evbus_scoreboard *);
size_t	 evbus_sb_size(unsigned int nslots);

/* Writer side: wrap every update of a slot. */
void	 evbus_slot_begin(struct evbus_slot *);
void	 evbus_slot_end(struct evbus_slot *);

/* Reader side: a consistent copy of slot into out. */
void	 evbus_slot_read(const struct evbus_slot *, struct evbus_slot *out);

/* Add the counters of a into sum (timestamps: the latest wins). */
void	 evbus_stats_add(struct evbus_worker_stats *sum,
	    const struct evbus_worker_stats *a);

/* A latency percentile (0..100) in microseconds from a histogram. */
uint64_t evbus_stats_percentile(const uint64_t *hist, int nbuckets, double p);

/* CLOCK_MONOTONIC in microseconds. */
int64_t	 evbus_mono_us(void);

#endif
