/*
 * scoreboard.c: the shared-memory scoreboard and its seqlock.
 */
#include "config.h"

#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "scoreboard.h"

size_t
evbus_sb_size(unsigned int nslots)
{
	return sizeof(struct evbus_scoreboard) +
	    (size_t)nslots * sizeof(struct evbus_slot);
}

struct evbus_scoreboard *
evbus_sb_create(unsigned int nslots)
{
	struct evbus_scoreboard	*sb;

	sb = mmap(NULL, evbus_sb_size(nslots), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sb == MAP_FAILED)
		return NULL;
	/*
	 * Already zero, and not cleared again: a memset made all of it
	 * resident (3 MiB for 256 slots, in the supervisor, and in each
	 * worker the pages around its own slot), where only the slots in
	 * use need pages.
	 */
	sb->magic = EVBUS_SB_MAGIC;
	sb->version = EVBUS_SB_VERSION;
	sb->nslots = nslots;
	sb->slot_size = sizeof(struct evbus_slot);
	return sb;
}

void
evbus_sb_destroy(struct evbus_scoreboard *sb)
{
	if (sb != NULL)
		munmap(sb, evbus_sb_size(sb->nslots));
}

void
evbus_seq_begin(uint32_t *seq)
{
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

void
evbus_seq_end(uint32_t *seq)
{
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELEASE);
}

/*
 * Fix: the wait for an odd seq is bounded.  A writer that died (not yet
 * reaped) or was stopped in mid-update used to freeze the supervisor for
 * good: no reaping, no watchdog, no status socket.
 */
int
evbus_seq_read(const uint32_t *seq, const void *src, void *dst, size_t len)
{
	uint32_t	 a, b;
	int64_t		 deadline = 0;

	for (;;) {
		a = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
		if (a & 1) {
			/* The writer is mid-update: wait, but not forever. */
			if (deadline == 0)
				deadline = evbus_mono_us() + EVBUS_SEQ_WAIT_US;
			else if (evbus_mono_us() > deadline) {
				memcpy(dst, src, len);
				return -1;
			}
			sched_yield();
			continue;
		}
		memcpy(dst, src, len);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		b = __atomic_load_n(seq, __ATOMIC_RELAXED);
		if (a == b)
			return 0;
	}
}

/*
 * Fix: a writer killed between evbus_seq_begin() and evbus_seq_end() (a
 * worker killed with SIGKILL, the probe killed by SIGTERM) left seq odd,
 * and evbus_seq_read() then spun forever in the supervisor.  Only call
 * this once the writer is known to be dead.
 */
void
evbus_seq_repair(uint32_t *seq)
{
	uint32_t	 v = __atomic_load_n(seq, __ATOMIC_ACQUIRE);

	if (v & 1)
		__atomic_store_n(seq, v + 1, __ATOMIC_RELEASE);
}

void
evbus_slot_begin(struct evbus_slot *s)
{
	evbus_seq_begin(&s->seq);
}

void
evbus_slot_end(struct evbus_slot *s)
{
	evbus_seq_end(&s->seq);
}

int
evbus_slot_read(const struct evbus_slot *s, struct evbus_slot *out)
{
	return evbus_seq_read(&s->seq, s, out, sizeof(*out));
}

/*
 * Is the stored (possibly truncated) id the same as id?  Fix: ids longer
 * than EVBUS_SB_ID_MAX - 1 were stored truncated but compared whole, so
 * such a message was never recognised as poison however often it crashed
 * workers.  Compare what could be stored.
 */
static int
same_id(const char *stored, const char *id)
{
	return strncmp(stored, id, EVBUS_SB_ID_MAX - 1) == 0;
}

int
evbus_sb_inflight_elsewhere(const struct evbus_scoreboard *sb,
    const struct evbus_slot *self, const char *id)
{
	char		 cur[EVBUS_SB_ID_MAX];
	unsigned int	 i;

	for (i = 0; i < sb->nslots; i++) {
		const struct evbus_slot *s = &sb->slots[i];

		if (s == self || __atomic_load_n(&s->state,
		    __ATOMIC_RELAXED) == EVBUS_SLOT_EMPTY)
			continue;
		evbus_seq_read(&s->seq, s->inflight_id, cur, sizeof(cur));
		cur[sizeof(cur) - 1] = '\0';
		if (cur[0] != '\0' && same_id(cur, id))
			return 1;
	}
	return 0;
}

int
evbus_sb_index_consuming(const struct evbus_scoreboard *sb,
    const struct evbus_slot *self, int index)
{
	unsigned int	 i;

	for (i = 0; i < sb->nslots; i++) {
		const struct evbus_slot *s = &sb->slots[i];

		if (s != self && __atomic_load_n(&s->state,
		    __ATOMIC_RELAXED) == EVBUS_SLOT_CONSUMING &&
		    __atomic_load_n(&s->index, __ATOMIC_RELAXED) == index)
			return 1;
	}
	return 0;
}

void
evbus_slot_settle(struct evbus_slot *s)
{
	evbus_slot_begin(s);
	s->inflight_id[0] = '\0';
	s->inflight_since = 0;
	s->handler_since = 0;
	evbus_slot_end(s);
}

uint32_t
evbus_poison_lookup(const struct evbus_scoreboard *sb, const char *id,
    char *cause, size_t len)
{
	struct evbus_poison	 p[EVBUS_SB_POISON];
	int			 i;

	evbus_seq_read(&sb->poison_seq, sb->poison, p, sizeof(p));
	for (i = 0; i < EVBUS_SB_POISON; i++)
		if (p[i].crashes > 0 && same_id(p[i].id, id)) {
			strlcpy(cause, p[i].cause, len);
			return p[i].crashes;
		}
	return 0;
}

void
evbus_poison_record(struct evbus_scoreboard *sb, const char *id,
    const char *cause)
{
	struct evbus_poison	*p, *victim = &sb->poison[0];
	int			 i;

	evbus_seq_begin(&sb->poison_seq);
	for (i = 0; i < EVBUS_SB_POISON; i++) {
		p = &sb->poison[i];
		if (p->crashes > 0 && same_id(p->id, id)) {
			victim = p;
			goto found;
		}
		if (p->last_at < victim->last_at)
			victim = p;
	}
	/* Not known yet: take the least recently used entry. */
	memset(victim, 0, sizeof(*victim));
	strlcpy(victim->id, id, sizeof(victim->id));
found:
	victim->crashes++;
	victim->last_at = evbus_mono_us();
	strlcpy(victim->cause, cause, sizeof(victim->cause));
	evbus_seq_end(&sb->poison_seq);
}

void
evbus_stats_add(struct evbus_worker_stats *sum,
    const struct evbus_worker_stats *a)
{
	uint32_t	 i, j, k;

#define ADD(f) sum->f += a->f
#define LATEST(f) if (a->f > sum->f) sum->f = a->f
	ADD(events_published); ADD(events_consumed);
	ADD(events_processed_success); ADD(events_processed_failed);
	ADD(messages_sent_to_dlq); ADD(handler_errors); ADD(reconnections);
	ADD(publish_confirms); ADD(publish_returns); ADD(batch_publishes);
	ADD(batch_events_published); ADD(batch_partial_failures);
	LATEST(last_publish_at); LATEST(last_consume_at);
	LATEST(last_error_at);
	ADD(received); ADD(skipped); ADD(malformed); ADD(retried);
	ADD(dropped); ADD(redelivered); ADD(poisoned);
	/* Handlers are matched by name: workers may load different sets. */
	for (i = 0; i < a->nhandlers && i < EVBUS_STATS_MAX_HANDLERS; i++) {
		const struct evbus_handler_stats *h = &a->handlers[i];
		struct evbus_handler_stats *t = NULL;

		for (j = 0; j < sum->nhandlers; j++)
			if (strcmp(sum->handlers[j].name, h->name) == 0)
				t = &sum->handlers[j];
		if (t == NULL) {
			if (sum->nhandlers == EVBUS_STATS_MAX_HANDLERS)
				continue;
			t = &sum->handlers[sum->nhandlers++];
			memcpy(t->name, h->name, sizeof(t->name));
		}
		t->calls += h->calls;
		t->ok += h->ok;
		t->retry += h->retry;
		t->fail += h->fail;
		t->latency_sum_us += h->latency_sum_us;
		for (k = 0; k < EVBUS_STATS_LAT_BUCKETS; k++)
			t->latency[k] += h->latency[k];
	}
#undef ADD
#undef LATEST
}

uint64_t
evbus_stats_percentile(const uint64_t *hist, int nbuckets, double p)
{
	uint64_t	 total = 0, want, seen = 0;
	int		 i;

	for (i = 0; i < nbuckets; i++)
		total += hist[i];
	if (total == 0)
		return 0;
	want = (uint64_t)((p / 100.0) * (double)total + 0.999999);
	if (want == 0)
		want = 1;
	for (i = 0; i < nbuckets; i++) {
		seen += hist[i];
		if (seen >= want)
			return (uint64_t)1 << i;	/* bucket upper bound */
	}
	return (uint64_t)1 << (nbuckets - 1);
}

int64_t
evbus_mono_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
evbus_clock_coarse_us(int realtime)
{
	struct timespec	 ts;

#ifdef CLOCK_MONOTONIC_COARSE
	if (clock_gettime(realtime ? CLOCK_REALTIME_COARSE :
	    CLOCK_MONOTONIC_COARSE, &ts) == -1)
#endif
		clock_gettime(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC,
		    &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
