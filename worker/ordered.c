/*
 * ordered.c: the partitions of ordering = "aggregate", on the worker's
 * consumer connection.  The group's events reach <queue>.p0 .. p<P-1> by
 * a consistent hash of aggregate_id; each partition queue has a single
 * active consumer (x-single-active-consumer), so one consumer in all the
 * group's workers and hosts receives a partition at a time.  This file
 * keeps, for each partition, its channel, the deliveries received and not
 * yet handled (in order), and when its head may run; worker.c's loop takes
 * the heads and handles them.
 *
 * Order holds because a partition's next message starts only after the
 * previous one is settled and the broker has taken the ack: each partition
 * is consumed with a prefetch of 1, so the broker sends its next message
 * only once it has processed the previous ack (one round trip per message
 * and partition, pipelined across partitions).  A crash then redelivers at
 * most the message being handled, never one already acked.  A failing
 * message is retried in place after its backoff while its partition waits
 * (other partitions go on).
 *
 * Sharing out: worker i of a pool of n owns the partitions p with
 * p mod n == i and subscribes them first; it subscribes every other
 * partition as a standby once that partition's owner is consuming (or
 * after STANDBY_GRACE), so a dead worker's partitions pass at once to a
 * standby.  A worker active on a partition it does not own gives it up,
 * between two messages, once the owner is consuming: it closes that
 * partition's channel, which returns the unstarted deliveries to the head
 * of the queue and makes the next consumer in line active in one step,
 * then subscribes again at the back of the line.  A partition is never
 * handed over while one of its messages runs, and never given up twice
 * within RELEASE_EVERY (no churn while the pool settles).  A second host
 * runs the same rules with its own pool; the broker's single active
 * consumer keeps one of them active per partition.
 *
 * Channels are never reused: a closed channel's late deliveries may still
 * sit in rabbitmq-c's queue, and are dropped by their channel number.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "topology.h"
#include "worker.h"
#include "xmalloc.h"

#define FIRST_CHANNEL	2	/* 1 declares and publishes nothing here */
#define STANDBY_GRACE	1.0	/* s before standing by for an absent owner */
#define RELEASE_EVERY	2.0	/* s between two releases of one partition */
#define MAINTAIN_EVERY	0.1	/* s between looks at the pool */
#define MAX_CHANNELS	2047	/* RabbitMQ's default channel_max */

struct pending {
	amqp_envelope_t		 env;
	struct pending		*next;
};

struct part {
	amqp_channel_t		 ch;		/* 0: not subscribed */
	int			 active;	/* got a delivery on ch */
	int			 attempts;	/* failed runs of the head */
	double			 ready_at;	/* head runs not before (mono) */
	double			 released_at;
	struct pending		*head, *tail;
};

struct ordered {
	struct part		 p[EVBUS_MAX_PARTITIONS];
	int			 np;
	int16_t			*chan;		/* channel -> partition, -1 */
	int			 nchan;		/* channels usable, 1..max */
	int			 next_ch;
	int			 rr;		/* round robin start */
	int			 pool;
	double			 since;		/* connected at (mono) */
	double			 maintain_at;
	uint64_t		 shown[EVBUS_SB_PART_WORDS];
};

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
drop_pending(struct part *pt)
{
	struct pending	*pd, *next;

	for (pd = pt->head; pd != NULL; pd = next) {
		next = pd->next;
		amqp_destroy_envelope(&pd->env);
		free(pd);
	}
	pt->head = pt->tail = NULL;
}

/* Forget a partition's channel (closed, or the connection is gone). */
static void
forget(struct ordered *o, struct part *pt)
{
	if (pt->ch != 0)
		o->chan[pt->ch] = -1;
	drop_pending(pt);
	pt->ch = 0;
	pt->active = 0;
	pt->attempts = 0;
	pt->ready_at = 0;
}

/* Which partitions this worker is active on, for `evbusctl workers`. */
static void
show(struct worker *w)
{
	struct ordered	*o = w->ord;
	uint64_t	 bits[EVBUS_SB_PART_WORDS];
	int		 i;

	memset(bits, 0, sizeof(bits));
	for (i = 0; i < o->np; i++)
		if (o->p[i].ch != 0 && o->p[i].active)
			bits[i / 64] |= 1ULL << (i % 64);
	if (memcmp(bits, o->shown, sizeof(bits)) == 0)
		return;
	memcpy(o->shown, bits, sizeof(bits));
	wproc_partitions(w, bits);
}

static int
pool_size(const struct worker *w)
{
	uint32_t	 n = 0;

	if (w->sb != NULL)
		n = __atomic_load_n(&w->sb->pool, __ATOMIC_RELAXED);
	return n > 0 ? (int)n : 1;
}

static int
owner_of(const struct ordered *o, int p)
{
	return p % o->pool;
}

static int
owns(const struct worker *w, int p)
{
	return owner_of(w->ord, p) == w->index;
}

/* Is partition p's owner (another worker of this host) consuming? */
static int
owner_consuming(const struct worker *w, int p)
{
	if (w->sb == NULL)
		return 0;
	return evbus_sb_index_consuming(w->sb, w->slot, owner_of(w->ord, p));
}

int
ord_init(struct worker *w)
{
	struct ordered	*o;
	int		 i;

	o = xcalloc(1, sizeof(*o));
	o->np = w->conf->partitions;
	o->chan = xcalloc(MAX_CHANNELS + 1, sizeof(*o->chan));
	for (i = 0; i <= MAX_CHANNELS; i++)
		o->chan[i] = -1;
	w->ord = o;
	return 0;
}

void
ord_reset(struct worker *w)
{
	struct ordered	*o = w->ord;
	int		 i;

	if (o == NULL)
		return;
	for (i = 0; i < o->np; i++)
		forget(o, &o->p[i]);
	show(w);
}

/* The next channel number never used on this connection, or 0. */
static amqp_channel_t
new_channel(struct ordered *o)
{
	int	 tries;

	for (tries = 0; tries < o->nchan; tries++) {
		int ch = o->next_ch++;

		if (o->next_ch > o->nchan)
			o->next_ch = FIRST_CHANNEL;
		if (ch >= FIRST_CHANNEL && o->chan[ch] == -1)
			return (amqp_channel_t)ch;
	}
	return 0;
}

/* Open a channel for partition p and consume from its queue. */
static int
subscribe(struct worker *w, int p)
{
	const struct evbus_config *c = w->conf;
	struct ordered		*o = w->ord;
	struct part		*pt = &o->p[p];
	amqp_channel_t		 ch;
	char			 q[EVBUS_NAME_MAX + 1], tag[EVBUS_NAME_MAX + 16];
	char			 what[EVBUS_NAME_MAX * 2 + 64];
	int			 rc;

	if ((ch = new_channel(o)) == 0) {
		snprintf(w->err, sizeof(w->err), "no free AMQP channel for "
		    "partition %d (the broker's channel_max is %d)", p,
		    o->nchan);
		return EVBUS_AMQP_EFATAL;
	}
	evbus_partition_queue_name(c, p, q, sizeof(q));
	snprintf(tag, sizeof(tag), "%s.p%d", w->consumer_name, p);
	if ((rc = evbus_amqp_channel_open(&w->consumer, ch)) != 0) {
		snprintf(w->err, sizeof(w->err), "%s", w->consumer.err);
		return rc;
	}
	o->chan[ch] = (int16_t)p;
	pt->ch = ch;
	/* Prefetch 1: the next delivery is the broker's ack receipt. */
	if (amqp_basic_qos(w->consumer.conn, ch, 0, 1, 0) == NULL) {
		rc = evbus_amqp_fail_last(&w->consumer, ch, "basic.qos");
		snprintf(w->err, sizeof(w->err), "%s", w->consumer.err);
		forget(o, pt);
		return rc;
	}
	if (amqp_basic_consume(w->consumer.conn, ch, amqp_cstring_bytes(q),
	    amqp_cstring_bytes(tag), 0, 0, 0, amqp_empty_table) == NULL) {
		snprintf(what, sizeof(what), "basic.consume on '%s' as '%s'",
		    q, tag);
		rc = evbus_amqp_fail_last(&w->consumer, ch, what);
		snprintf(w->err, sizeof(w->err), "%s", w->consumer.err);
		forget(o, pt);
		return rc;
	}
	return 0;
}

int
ord_subscribe_own(struct worker *w)
{
	struct ordered	*o = w->ord;
	int		 p, rc, max;

	ord_reset(w);
	max = amqp_get_channel_max(w->consumer.conn);
	o->nchan = max > 0 && max < MAX_CHANNELS ? max : MAX_CHANNELS;
	o->next_ch = FIRST_CHANNEL;
	o->pool = pool_size(w);
	o->since = mono();
	o->maintain_at = 0;
	for (p = 0; p < o->np; p++)
		if (owns(w, p) && (rc = subscribe(w, p)) != 0)
			return rc;
	return 0;
}

/*
 * Give partition p up: close its channel, which returns what was
 * delivered and not started to the head of the queue, and lets the next
 * consumer in line take over.  Only between two messages.
 */
static int
release(struct worker *w, int p)
{
	struct ordered	*o = w->ord;
	struct part	*pt = &o->p[p];
	amqp_rpc_reply_t r;

	log_info("partition %d: handing it over to its owner, worker %d, "
	    "now consuming", p, owner_of(o, p));
	r = amqp_channel_close(w->consumer.conn, pt->ch, AMQP_REPLY_SUCCESS);
	forget(o, pt);
	pt->released_at = mono();
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		evbus_amqp_fail(&w->consumer, 0, r, "channel.close (handing a "
		    "partition over)");
		snprintf(w->err, sizeof(w->err), "%s", w->consumer.err);
		return -1;
	}
	return 0;
}

int
ord_maintain(struct worker *w, double now)
{
	struct ordered	*o = w->ord;
	struct part	*pt;
	int		 p, pool;

	if (now < o->maintain_at)
		return 0;
	o->maintain_at = now + MAINTAIN_EVERY;
	pool = pool_size(w);
	if (pool != o->pool) {
		log_info("pool of %d workers (was %d): sharing the %d "
		    "partitions out again", pool, o->pool, o->np);
		o->pool = pool;
	}
	for (p = 0; p < o->np; p++) {
		pt = &o->p[p];
		if (pt->ch == 0) {
			/*
			 * Own partitions at once; a standby only behind the
			 * owner, unless the owner stays away.
			 */
			if (owns(w, p) || owner_consuming(w, p) ||
			    now - o->since > STANDBY_GRACE) {
				if (now - pt->released_at < RELEASE_EVERY / 4)
					continue;
				if (subscribe(w, p) != 0)
					return -1;
			}
			continue;
		}
		if (!pt->active || owns(w, p) || pt->attempts > 0 ||
		    now - pt->released_at < RELEASE_EVERY)
			continue;
		if (owner_consuming(w, p) && release(w, p) == -1)
			return -1;
	}
	show(w);
	return 0;
}

int
ord_take(struct worker *w, amqp_envelope_t *env)
{
	struct ordered	*o = w->ord;
	struct pending	*pd;
	struct part	*pt;
	int		 p = env->channel <= MAX_CHANNELS ?
			    o->chan[env->channel] : -1;

	if (p < 0 || o->p[p].ch != env->channel) {
		/* A closed channel's: the broker has requeued it. */
		amqp_destroy_envelope(env);
		return 1;
	}
	pt = &o->p[p];
	pd = xcalloc(1, sizeof(*pd));
	pd->env = *env;
	if (pt->tail != NULL)
		pt->tail->next = pd;
	else
		pt->head = pd;
	pt->tail = pd;
	if (!pt->active) {
		pt->active = 1;
		show(w);
	}
	return 0;
}

amqp_envelope_t *
ord_next(struct worker *w, double now, double *wait, int *attempts)
{
	struct ordered	*o = w->ord;
	struct part	*pt;
	int		 i, p;

	*wait = 3600;
	for (i = 0; i < o->np; i++) {
		p = (o->rr + i) % o->np;
		pt = &o->p[p];
		if (pt->head == NULL)
			continue;
		if (pt->ready_at > now) {
			if (pt->ready_at - now < *wait)
				*wait = pt->ready_at - now;
			continue;
		}
		o->rr = (p + 1) % o->np;
		*attempts = pt->attempts;
		return &pt->head->env;
	}
	return NULL;
}

/* The partition whose head env is. */
static struct part *
part_of(struct ordered *o, const amqp_envelope_t *env)
{
	int	 p = env->channel <= MAX_CHANNELS ? o->chan[env->channel] : -1;

	return p >= 0 ? &o->p[p] : NULL;
}

void
ord_done(struct worker *w, amqp_envelope_t *env, int again, double delay)
{
	struct part	*pt = part_of(w->ord, env);
	struct pending	*pd;

	if (pt == NULL || pt->head == NULL || &pt->head->env != env)
		return;
	if (again) {
		pt->attempts++;
		pt->ready_at = mono() + delay;
		return;
	}
	pd = pt->head;
	if ((pt->head = pd->next) == NULL)
		pt->tail = NULL;
	amqp_destroy_envelope(&pd->env);
	free(pd);
	pt->attempts = 0;
	pt->ready_at = 0;
}

int
ord_ack(struct worker *w, amqp_envelope_t *env)
{
	int	 st;

	st = amqp_basic_ack(w->consumer.conn, env->channel,
	    env->delivery_tag, 0);
	if (st != AMQP_STATUS_OK) {
		evbus_amqp_fail_status(&w->consumer, st, "basic.ack");
		snprintf(w->err, sizeof(w->err), "%s", w->consumer.err);
		return -1;
	}
	return 0;
}

void
ord_stop(struct worker *w)
{
	struct ordered	*o = w->ord;
	int		 p;

	for (p = 0; p < o->np; p++)
		if (o->p[p].ch != 0) {
			evbus_amqp_channel_close(&w->consumer, o->p[p].ch);
			forget(o, &o->p[p]);
		}
	show(w);
}

int
ord_partition_of(const struct worker *w, const amqp_envelope_t *env)
{
	return env->channel <= MAX_CHANNELS ? w->ord->chan[env->channel] :
	    -1;
}
