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
#define EVBUS_SB_VERSION	3
#define EVBUS_SB_MAX_SLOTS	256
#define EVBUS_SB_ID_MAX		128
#define EVBUS_SB_POISON		64	/* messages remembered for crashing workers */
#define EVBUS_SB_NODE_MAX	128	/* "host:port/vhost" of the broker node */
#define EVBUS_SB_PART_WORDS	4	/* 256 partitions, one bit each */
#define EVBUS_SB_ERROR_MAX	256	/* the last error's text */

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
	int64_t			 handler_since;	/* handlers running since, 0 = not */
	int64_t			 started;	/* CLOCK_REALTIME us */
	uint32_t		 inflight_redelivered;
	int32_t			 index;		/* worker index (the supervisor's) */
	/* ordering = "aggregate": partitions this worker is active on. */
	uint64_t		 partitions[EVBUS_SB_PART_WORDS];
	char			 inflight_id[EVBUS_SB_ID_MAX];	/* message id */
	char			 node[EVBUS_SB_NODE_MAX];	/* connected to, or "" */
	char			 last_error[EVBUS_SB_ERROR_MAX];	/* masked */
	struct evbus_worker_stats stats;
};

/*
 * A message that was in flight when a worker died, and how often that
 * happened.  Written by the supervisor only (under poison_seq), read by
 * workers when a redelivered message arrives.
 */
struct evbus_poison {
	char			 id[EVBUS_SB_ID_MAX];
	uint32_t		 crashes;
	uint32_t		 pad;
	int64_t			 last_at;	/* CLOCK_MONOTONIC us */
	char			 cause[64];	/* "SIGSEGV", "HandlerTimeout" */
};

/* Results of the supervisor's broker probe (queue info, health). */
struct evbus_probe {
	int64_t			 at;		/* CLOCK_REALTIME us, 0 = never */
	uint32_t		 ok;		/* broker reachable */
	uint32_t		 queue_ok;
	uint32_t		 dlq_ok;
	uint32_t		 pad;
	uint64_t		 messages;
	uint64_t		 consumers;
	uint64_t		 dlq_messages;
	/* ordering = "aggregate" (see struct evbus_group_depth) */
	uint64_t		 idle;
	uint64_t		 deepest;
	int32_t			 deepest_partition;
	uint32_t		 pad2;
	char			 error[256];	/* connection problem */
	char			 queue_error[256];
	char			 dlq_error[256];
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
	uint32_t		 probe_seq;
	uint32_t		 poison_seq;
	uint32_t		 pool;		/* workers wanted (supervisor's) */
	uint32_t		 pad;
	struct evbus_probe	 probe;		/* written by the probe child */
	struct evbus_poison	 poison[EVBUS_SB_POISON];
	struct evbus_slot	 slots[];
};

/* Map a zeroed scoreboard for n slots (MAP_SHARED|MAP_ANONYMOUS); NULL + errno. */
struct evbus_scoreboard *evbus_sb_create(unsigned int nslots);
void	 evbus_sb_destroy(struct evbus_scoreboard *);
size_t	 evbus_sb_size(unsigned int nslots);

/* Writer side: wrap every update of a slot. */
void	 evbus_slot_begin(struct evbus_slot *);
void	 evbus_slot_end(struct evbus_slot *);

/*
 * Reader side: a consistent copy of slot into out; 0.  -1 when the writer
 * stayed in the middle of an update for EVBUS_SEQ_WAIT_US (it is stopped
 * or dead): out is then a copy that may be torn.
 */
int	 evbus_slot_read(const struct evbus_slot *, struct evbus_slot *out);

/*
 * Worker side, ordering = "aggregate": 1 when a worker other than self
 * with this index is consuming (it has subscribed its own partitions).
 * A hint read without the seqlock: nothing depends on it for order.
 */
int	 evbus_sb_index_consuming(const struct evbus_scoreboard *sb,
	    const struct evbus_slot *self, int index);

/* The same seqlock for any region guarded by a seq word. */
#define EVBUS_SEQ_WAIT_US	1000000
void	 evbus_seq_begin(uint32_t *seq);
void	 evbus_seq_end(uint32_t *seq);
int	 evbus_seq_read(const uint32_t *seq, const void *src, void *dst,
	    size_t len);

/*
 * The writer of a region died (and was reaped): end any update it left
 * open, so that readers do not wait forever for an odd seq to turn even.
 * The region itself may be half-updated; each field is old or new.
 */
void	 evbus_seq_repair(uint32_t *seq);

/*
 * Worker side: how often the message id has crashed workers, and the last
 * cause (into cause); 0 when it is not known.
 */
uint32_t evbus_poison_lookup(const struct evbus_scoreboard *sb,
	    const char *id, char *cause, size_t len);

/*
 * Worker side: 1 when a slot other than self shows id in flight.  The
 * broker redelivers a message the moment its worker's connection drops,
 * before the supervisor has reaped that worker and counted the crash; the
 * dead worker's slot keeps the id until then (see evbus_slot_settle).
 */
int	 evbus_sb_inflight_elsewhere(const struct evbus_scoreboard *sb,
	    const struct evbus_slot *self, const char *id);

/*
 * Supervisor side, for the slot of a reaped worker: its in-flight message
 * is accounted for (crash counted, or no crash); clear it so that workers
 * waiting in evbus_sb_inflight_elsewhere go on.
 */
void	 evbus_slot_settle(struct evbus_slot *s);

/* Supervisor side: count one more crash of id with cause. */
void	 evbus_poison_record(struct evbus_scoreboard *sb, const char *id,
	    const char *cause);

/* Add the counters of a into sum (timestamps: the latest wins). */
void	 evbus_stats_add(struct evbus_worker_stats *sum,
	    const struct evbus_worker_stats *a);

/* A latency percentile (0..100) in microseconds from a histogram. */
uint64_t evbus_stats_percentile(const uint64_t *hist, int nbuckets, double p);

/* CLOCK_MONOTONIC in microseconds. */
int64_t	 evbus_mono_us(void);

/*
 * The same clock (or CLOCK_REALTIME) as of the last timer tick, a few
 * milliseconds behind at most but cheaper to read: for the timestamps a
 * worker stamps on every message (heartbeat, in flight since, last
 * consumed at), which only ever count seconds.
 */
int64_t	 evbus_clock_coarse_us(int realtime);

#endif
