/*
 * test_scoreboard.c: the shared-memory scoreboard (shared/scoreboard.c):
 * the seqlock against a real concurrent writer in another process, a
 * writer that dies mid-update, summing worker statistics, latency
 * percentiles and histogram buckets, and the poison-message table.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cu.h"
#include "scoreboard.h"

#define HAMMER_US	200000	/* how long the reader checks */

/*
 * What the writer puts in its slot for value v: fields far apart in the
 * slot that a consistent read always shows agreeing with each other.
 */
static void
fill_slot(struct evbus_slot *s, uint64_t v)
{
	s->heartbeat = (int64_t)v;
	s->stats.events_consumed = v;
	s->stats.received = v * 3;
	s->stats.handlers[0].calls = v;
	s->stats.handlers[EVBUS_STATS_MAX_HANDLERS - 1].latency_sum_us = ~v;
	memset(s->inflight_id, 'a' + (int)(v % 26), sizeof(s->inflight_id) - 1);
	s->inflight_id[sizeof(s->inflight_id) - 1] = '\0';
}

/* 0 when the copy is one the writer wrote whole. */
static int
slot_consistent(const struct evbus_slot *s, char *why, size_t len)
{
	uint64_t	 v = s->stats.events_consumed;
	size_t		 i;

	if ((uint64_t)s->heartbeat != v || s->stats.received != v * 3 ||
	    s->stats.handlers[0].calls != v ||
	    s->stats.handlers[EVBUS_STATS_MAX_HANDLERS - 1].latency_sum_us !=
	    ~v) {
		snprintf(why, len, "torn read: consumed %llu, heartbeat %lld, "
		    "received %llu, calls %llu", (unsigned long long)v,
		    (long long)s->heartbeat,
		    (unsigned long long)s->stats.received,
		    (unsigned long long)s->stats.handlers[0].calls);
		return -1;
	}
	for (i = 0; i < sizeof(s->inflight_id) - 1; i++)
		if (s->inflight_id[i] != 'a' + (int)(v % 26)) {
			snprintf(why, len, "torn read: inflight_id[%zu] is '%c' "
			    "for value %llu", i, s->inflight_id[i],
			    (unsigned long long)v);
			return -1;
		}
	return 0;
}

/*
 * A forked writer hammers slot 0 (as a worker does, begin/update/end)
 * while this process reads it for HAMMER_US: every read must be whole,
 * and values never go backwards.
 */
static void
test_seqlock_concurrent_writer(void)
{
	struct evbus_scoreboard	*sb = evbus_sb_create(2);
	struct evbus_slot	 copy;
	volatile uint32_t	*stop;
	uint64_t		 last = 0, seen = 0, reads = 0, torn = 0;
	int64_t			 start, end;
	pid_t			 pid;
	int			 status;
	char			 why[256] = "";

	CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
	/* Slot 1 serves as the stop flag: the writer only touches slot 0. */
	stop = &sb->slots[1].state;
	fill_slot(&sb->slots[0], 0);
	if ((pid = fork()) == 0) {
		uint64_t v = 0;

		while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
			evbus_slot_begin(&sb->slots[0]);
			fill_slot(&sb->slots[0], ++v);
			evbus_slot_end(&sb->slots[0]);
		}
		_exit(0);
	}
	CU_ASSERT_FATAL(pid > 0);
	/*
	 * At least HAMMER_US, and on a busy machine longer (up to 10x) until
	 * the writer was seen to make progress often enough.
	 */
	start = evbus_mono_us();
	end = start + HAMMER_US;
	while (evbus_mono_us() < end || (seen < 100 &&
	    evbus_mono_us() < start + 10 * HAMMER_US)) {
		/* Now and then let a writer sharing our CPU in. */
		if (reads % 256 == 255)
			sched_yield();
		cu_checkf(evbus_slot_read(&sb->slots[0], &copy) == 0,
		    "evbus_slot_read gave up on a live writer");
		reads++;
		if (slot_consistent(&copy, why, sizeof(why)) == -1) {
			if (torn++ == 0)
				cu_failf("read %llu: %s",
				    (unsigned long long)reads, why);
			continue;
		}
		if (copy.stats.events_consumed < last)
			cu_failf("went backwards: %llu after %llu",
			    (unsigned long long)copy.stats.events_consumed,
			    (unsigned long long)last);
		if (copy.stats.events_consumed != last)
			seen++;
		last = copy.stats.events_consumed;
	}
	__atomic_store_n(stop, 1, __ATOMIC_RELEASE);
	CU_ASSERT(waitpid(pid, &status, 0) == pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cu_checkf(torn == 0, "%llu torn reads of %llu",
	    (unsigned long long)torn, (unsigned long long)reads);
	/* The writer must really have run alongside, or nothing was shown. */
	cu_checkf(seen >= 10, "only %llu distinct values in %llu reads: the "
	    "writer did not run concurrently", (unsigned long long)seen,
	    (unsigned long long)reads);
	printf("\n    %llu reads, %llu distinct values, last %llu ... ",
	    (unsigned long long)reads, (unsigned long long)seen,
	    (unsigned long long)last);
	CU_ASSERT_EQUAL(sb->slots[0].seq % 2, 0);
	evbus_sb_destroy(sb);
}

/* The same for a region guarded by its own seq word (the probe results). */
static void
test_seqlock_region(void)
{
	struct evbus_scoreboard	*sb = evbus_sb_create(1);
	struct evbus_probe	 p;
	volatile uint32_t	*stop;
	int64_t			 end;
	uint64_t		 torn = 0, reads = 0;
	pid_t			 pid;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
	stop = &sb->slots[0].state;
	if ((pid = fork()) == 0) {
		struct evbus_probe n;
		uint64_t v = 0;

		memset(&n, 0, sizeof(n));
		while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
			v++;
			n.messages = n.consumers = n.dlq_messages = v;
			memset(n.error, 'A' + (int)(v % 26), sizeof(n.error) - 1);
			evbus_seq_begin(&sb->probe_seq);
			sb->probe = n;
			evbus_seq_end(&sb->probe_seq);
		}
		_exit(0);
	}
	CU_ASSERT_FATAL(pid > 0);
	end = evbus_mono_us() + HAMMER_US / 2;
	while (evbus_mono_us() < end) {
		CU_ASSERT(evbus_seq_read(&sb->probe_seq, &sb->probe, &p,
		    sizeof(p)) == 0);
		reads++;
		if (p.messages != p.consumers || p.messages != p.dlq_messages ||
		    (p.messages != 0 && (p.error[0] != 'A' +
		    (int)(p.messages % 26) || p.error[sizeof(p.error) - 2] !=
		    p.error[0])))
			torn++;
	}
	__atomic_store_n(stop, 1, __ATOMIC_RELEASE);
	waitpid(pid, NULL, 0);
	cu_checkf(torn == 0, "%llu torn reads of the probe region in %llu",
	    (unsigned long long)torn, (unsigned long long)reads);
	evbus_sb_destroy(sb);
}

/*
 * A writer killed between begin and end leaves seq odd.  A reader must
 * not wait forever (it gives up with -1 after EVBUS_SEQ_WAIT_US), and
 * evbus_seq_repair() makes the region readable again at once.
 */
static void
test_seqlock_dead_writer(void)
{
	struct evbus_scoreboard	*sb = evbus_sb_create(1);
	struct evbus_slot	 copy;
	int64_t			 t0, took;
	pid_t			 pid;
	int			 status;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
	fill_slot(&sb->slots[0], 7);
	if ((pid = fork()) == 0) {
		evbus_slot_begin(&sb->slots[0]);
		sb->slots[0].stats.events_consumed = 8;
		raise(SIGKILL);		/* dies mid-update */
		_exit(1);
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(waitpid(pid, &status, 0) == pid);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	cu_checkf(sb->slots[0].seq % 2 == 1, "seq %u should be odd",
	    sb->slots[0].seq);

	/* In a child with an alarm: a hang here fails instead of hanging. */
	if ((pid = fork()) == 0) {
		alarm(5);
		_exit(evbus_slot_read(&sb->slots[0], &copy) == -1 ? 0 : 2);
	}
	t0 = evbus_mono_us();
	CU_ASSERT(waitpid(pid, &status, 0) == pid);
	took = evbus_mono_us() - t0;
	cu_checkf(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "read of a slot left mid-update by a dead writer: %s %d (want "
	    "exit 0: gave up with -1)", WIFSIGNALED(status) ? "killed by "
	    "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) :
	    WEXITSTATUS(status));
	cu_checkf(took >= EVBUS_SEQ_WAIT_US / 2, "gave up after %lld us, "
	    "before the writer had a fair chance", (long long)took);

	evbus_seq_repair(&sb->slots[0].seq);
	cu_checkf(sb->slots[0].seq % 2 == 0, "seq %u odd after repair",
	    sb->slots[0].seq);
	t0 = evbus_mono_us();
	CU_ASSERT(evbus_slot_read(&sb->slots[0], &copy) == 0);
	cu_checkf(evbus_mono_us() - t0 < EVBUS_SEQ_WAIT_US / 2,
	    "read after repair took %lld us", (long long)(evbus_mono_us() -
	    t0));
	CU_ASSERT_EQUAL(copy.stats.events_consumed, 8);
	/* Repairing an even seq changes nothing. */
	evbus_seq_repair(&sb->slots[0].seq);
	CU_ASSERT_EQUAL(sb->slots[0].seq % 2, 0);
	/* And the next writer's updates are seen as usual. */
	evbus_slot_begin(&sb->slots[0]);
	CU_ASSERT_EQUAL(sb->slots[0].seq % 2, 1);
	fill_slot(&sb->slots[0], 9);
	evbus_slot_end(&sb->slots[0]);
	CU_ASSERT(evbus_slot_read(&sb->slots[0], &copy) == 0);
	CU_ASSERT_EQUAL(copy.stats.events_consumed, 9);
	evbus_sb_destroy(sb);
}

static void
test_create(void)
{
	struct evbus_scoreboard	*sb = evbus_sb_create(5);
	unsigned char		*p;
	size_t			 i, nz = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
	CU_ASSERT_EQUAL(sb->magic, EVBUS_SB_MAGIC);
	CU_ASSERT_EQUAL(sb->version, EVBUS_SB_VERSION);
	CU_ASSERT_EQUAL(sb->nslots, 5);
	CU_ASSERT_EQUAL(sb->slot_size, sizeof(struct evbus_slot));
	CU_ASSERT_EQUAL(evbus_sb_size(5), sizeof(*sb) +
	    5 * sizeof(struct evbus_slot));
	/* Everything but the header is zero: slots empty, no poison. */
	p = (unsigned char *)&sb->retired;
	for (i = 0; i < evbus_sb_size(5) - offsetof(struct evbus_scoreboard,
	    retired); i++)
		nz += p[i] != 0;
	cu_checkf(nz == 0, "%zu non-zero bytes in a new scoreboard", nz);
	CU_ASSERT_EQUAL(sb->slots[4].state, EVBUS_SLOT_EMPTY);
	evbus_sb_destroy(sb);
}

/* Handler stats for name with calls = ok = n and one latency sample. */
static void
set_handler(struct evbus_worker_stats *st, int i, const char *name,
    uint64_t n, int bucket)
{
	struct evbus_handler_stats *h = &st->handlers[i];

	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->calls = h->ok = n;
	h->retry = n + 1;
	h->fail = n + 2;
	h->latency_sum_us = n * 10;
	h->latency[bucket] = n;
	if ((uint32_t)i >= st->nhandlers)
		st->nhandlers = (uint32_t)i + 1;
}

static const struct evbus_handler_stats *
find_handler(const struct evbus_worker_stats *st, const char *name)
{
	uint32_t	 i;

	for (i = 0; i < st->nhandlers; i++)
		if (strcmp(st->handlers[i].name, name) == 0)
			return &st->handlers[i];
	return NULL;
}

static void
test_stats_add_counters(void)
{
	struct evbus_worker_stats sum, a;

	memset(&sum, 0, sizeof(sum));
	memset(&a, 0, sizeof(a));
	a.events_published = 1;
	a.events_consumed = 2;
	a.events_processed_success = 3;
	a.events_processed_failed = 4;
	a.messages_sent_to_dlq = 5;
	a.handler_errors = 6;
	a.reconnections = 7;
	a.publish_confirms = 8;
	a.publish_returns = 9;
	a.batch_publishes = 10;
	a.batch_events_published = 11;
	a.batch_partial_failures = 12;
	a.received = 13;
	a.skipped = 14;
	a.malformed = 15;
	a.retried = 16;
	a.dropped = 17;
	a.redelivered = 18;
	a.poisoned = 19;
	a.last_publish_at = 1000;
	a.last_consume_at = 2000;
	a.last_error_at = 3000;

	evbus_stats_add(&sum, &a);
	evbus_stats_add(&sum, &a);
	a.last_publish_at = 500;	/* older: must not win */
	a.last_consume_at = 2500;	/* newer: must win */
	evbus_stats_add(&sum, &a);

#define SUM3(f) cu_checkf(sum.f == 3 * a.f, #f ": expected %llu, got %llu", \
    (unsigned long long)(3 * a.f), (unsigned long long)sum.f)
	SUM3(events_published); SUM3(events_consumed);
	SUM3(events_processed_success); SUM3(events_processed_failed);
	SUM3(messages_sent_to_dlq); SUM3(handler_errors); SUM3(reconnections);
	SUM3(publish_confirms); SUM3(publish_returns); SUM3(batch_publishes);
	SUM3(batch_events_published); SUM3(batch_partial_failures);
	SUM3(received); SUM3(skipped); SUM3(malformed); SUM3(retried);
	SUM3(dropped); SUM3(redelivered); SUM3(poisoned);
#undef SUM3
	CU_ASSERT_EQUAL(sum.last_publish_at, 1000);
	CU_ASSERT_EQUAL(sum.last_consume_at, 2500);
	CU_ASSERT_EQUAL(sum.last_error_at, 3000);
	CU_ASSERT_EQUAL(sum.nhandlers, 0);
}

/* Handlers are matched by name, whatever their position. */
static void
test_stats_add_handlers(void)
{
	struct evbus_worker_stats sum, w0, w1;
	const struct evbus_handler_stats *h;

	memset(&sum, 0, sizeof(sum));
	memset(&w0, 0, sizeof(w0));
	memset(&w1, 0, sizeof(w1));
	set_handler(&w0, 0, "audit", 5, 3);
	set_handler(&w0, 1, "billing", 7, 4);
	/* Another worker loaded a different set, in another order. */
	set_handler(&w1, 0, "billing", 100, 4);
	set_handler(&w1, 1, "shipping", 1, 10);
	set_handler(&w1, 2, "audit", 2, 20);

	evbus_stats_add(&sum, &w0);
	evbus_stats_add(&sum, &w1);
	CU_ASSERT_EQUAL_FATAL(sum.nhandlers, 3);
	CU_ASSERT_STRING_EQUAL(sum.handlers[0].name, "audit");
	CU_ASSERT_STRING_EQUAL(sum.handlers[1].name, "billing");
	CU_ASSERT_STRING_EQUAL(sum.handlers[2].name, "shipping");

	h = find_handler(&sum, "audit");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(h->calls, 7);
	CU_ASSERT_EQUAL(h->ok, 7);
	CU_ASSERT_EQUAL(h->retry, 6 + 3);
	CU_ASSERT_EQUAL(h->fail, 7 + 4);
	CU_ASSERT_EQUAL(h->latency_sum_us, 70);
	CU_ASSERT_EQUAL(h->latency[3], 5);
	CU_ASSERT_EQUAL(h->latency[20], 2);
	h = find_handler(&sum, "billing");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(h->calls, 107);
	CU_ASSERT_EQUAL(h->latency[4], 107);
	CU_ASSERT_EQUAL(h->latency_sum_us, 1070);
	h = find_handler(&sum, "shipping");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(h->calls, 1);
	CU_ASSERT_EQUAL(h->latency[10], 1);

	/* Adding is repeatable (the retired totals grow worker by worker). */
	evbus_stats_add(&sum, &w1);
	CU_ASSERT_EQUAL(sum.nhandlers, 3);
	CU_ASSERT_EQUAL(find_handler(&sum, "billing")->calls, 207);
}

/* A full table keeps summing known names and drops new ones. */
static void
test_stats_add_handlers_full(void)
{
	struct evbus_worker_stats sum, a, b;
	char		 name[32];
	int		 i;

	memset(&sum, 0, sizeof(sum));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	for (i = 0; i < EVBUS_STATS_MAX_HANDLERS; i++) {
		snprintf(name, sizeof(name), "h%02d", i);
		set_handler(&a, i, name, 1, 0);
	}
	evbus_stats_add(&sum, &a);
	CU_ASSERT_EQUAL(sum.nhandlers, EVBUS_STATS_MAX_HANDLERS);
	set_handler(&b, 0, "newcomer", 9, 0);
	set_handler(&b, 1, "h31", 2, 0);
	/* nhandlers beyond the table must not be trusted. */
	b.nhandlers = EVBUS_STATS_MAX_HANDLERS + 10;
	evbus_stats_add(&sum, &b);
	CU_ASSERT_EQUAL(sum.nhandlers, EVBUS_STATS_MAX_HANDLERS);
	CU_ASSERT_PTR_NULL(find_handler(&sum, "newcomer"));
	CU_ASSERT_EQUAL(find_handler(&sum, "h31")->calls, 3);
	CU_ASSERT_EQUAL(find_handler(&sum, "h00")->calls, 1);
}

static void
test_percentile(void)
{
	uint64_t	 h[EVBUS_STATS_LAT_BUCKETS];
	static const struct {
		int	 fill;		/* which histogram */
		double	 p;
		uint64_t want;
	} cases[] = {
		/* 0: empty */
		{ 0, 50, 0 }, { 0, 99, 0 },
		/* 1: everything in bucket 3 (3..8 us... upper bound 8) */
		{ 1, 0, 8 }, { 1, 50, 8 }, { 1, 100, 8 },
		/* 2: 50 at 1 us, 50 in bucket 10 (upper bound 1024 us) */
		{ 2, 0, 1 }, { 2, 1, 1 }, { 2, 50, 1 }, { 2, 50.5, 1024 },
		{ 2, 51, 1024 }, { 2, 99, 1024 }, { 2, 100, 1024 },
		/* 3: one sample in each of buckets 0..9 */
		{ 3, 10, 1 }, { 3, 20, 2 }, { 3, 29, 4 }, { 3, 30, 4 },
		{ 3, 50, 16 }, { 3, 90, 256 }, { 3, 91, 512 }, { 3, 99, 512 },
		/* 4: 99 fast, one slow in the last bucket */
		{ 4, 50, 2 }, { 4, 99, 2 }, { 4, 99.5, (uint64_t)1 << 31 },
		{ 4, 100, (uint64_t)1 << 31 },
		{ -1, 0, 0 }
	};
	uint64_t	 got;
	int		 i, k;

	for (i = 0; cases[i].fill >= 0; i++) {
		memset(h, 0, sizeof(h));
		switch (cases[i].fill) {
		case 1:
			h[3] = 17;
			break;
		case 2:
			h[0] = 50;
			h[10] = 50;
			break;
		case 3:
			for (k = 0; k < 10; k++)
				h[k] = 1;
			break;
		case 4:
			h[1] = 99;
			h[EVBUS_STATS_LAT_BUCKETS - 1] = 1;
			break;
		}
		got = evbus_stats_percentile(h, EVBUS_STATS_LAT_BUCKETS,
		    cases[i].p);
		cu_checkf(got == cases[i].want, "histogram %d, p%g: expected "
		    "%llu us, got %llu", cases[i].fill, cases[i].p,
		    (unsigned long long)cases[i].want,
		    (unsigned long long)got);
	}
}

/* Bucket b holds (2^(b-1), 2^b] us; bucket 0 holds 0 and 1 us. */
static void
test_bucket(void)
{
	static const struct {
		uint64_t us;
		int	 want;
	} cases[] = {
		{ 0, 0 }, { 1, 0 }, { 2, 1 }, { 3, 2 }, { 4, 2 }, { 5, 3 },
		{ 7, 3 }, { 8, 3 }, { 9, 4 }, { 1000, 10 }, { 1023, 10 },
		{ 1024, 10 }, { 1025, 11 }, { 1000000, 20 },
		{ (uint64_t)1 << 30, 30 }, { ((uint64_t)1 << 30) + 1, 31 },
		{ (uint64_t)1 << 31, 31 },
		/* beyond the last bound: clamped into the last bucket */
		{ ((uint64_t)1 << 31) + 1, 31 }, { (uint64_t)1 << 40, 31 },
		{ (uint64_t)1 << 62, 31 },
		{ 0, -1 }
	};
	uint64_t	 v;
	int		 i, b;

	for (i = 0; cases[i].want >= 0; i++) {
		b = evbus_stats_bucket(cases[i].us);
		cu_checkf(b == cases[i].want, "bucket(%llu): expected %d, got "
		    "%d", (unsigned long long)cases[i].us, cases[i].want, b);
	}
	/* Every value agrees with the bounds percentiles report. */
	for (v = 1; v < 70000; v++) {
		b = evbus_stats_bucket(v);
		if (v > ((uint64_t)1 << b) || (b > 0 &&
		    v <= ((uint64_t)1 << (b - 1)))) {
			cu_failf("bucket(%llu) = %d: outside (%llu, %llu]",
			    (unsigned long long)v, b, b > 0 ?
			    (unsigned long long)1 << (b - 1) : 0ULL,
			    (unsigned long long)1 << b);
			break;
		}
	}
}

/* Wait for the monotonic clock to move: LRU order needs distinct times. */
static void
tick(void)
{
	int64_t	 t = evbus_mono_us();

	while (evbus_mono_us() == t)
		;
}

static void
test_poison_record_lookup(void)
{
	struct evbus_scoreboard	*sb = evbus_sb_create(1);
	char			 cause[64], longid[300];

	CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
	strcpy(cause, "untouched");
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "m1", cause, sizeof(cause)),
	    0);
	CU_ASSERT_STRING_EQUAL(cause, "untouched");

	evbus_poison_record(sb, "m1", "SIGSEGV");
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "m1", cause, sizeof(cause)),
	    1);
	CU_ASSERT_STRING_EQUAL(cause, "SIGSEGV");
	CU_ASSERT_EQUAL(sb->poison_seq % 2, 0);
	tick();
	evbus_poison_record(sb, "m1", "HandlerTimeout");
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "m1", cause, sizeof(cause)),
	    2);
	CU_ASSERT_STRING_EQUAL(cause, "HandlerTimeout");	/* the last */

	/* Similar ids are different messages. */
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "m", cause, sizeof(cause)), 0);
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "m10", cause, sizeof(cause)),
	    0);
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "", cause, sizeof(cause)), 0);
	evbus_poison_record(sb, "m10", "SIGABRT");
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "m1", cause, sizeof(cause)),
	    2);
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "m10", cause, sizeof(cause)),
	    1);
	CU_ASSERT_STRING_EQUAL(cause, "SIGABRT");

	/* A small cause buffer gets a terminated prefix. */
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "m1", cause, 5), 2);
	CU_ASSERT_STRING_EQUAL(cause, "Hand");

	/* An id longer than a slot holds is still recognised. */
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	evbus_poison_record(sb, longid, "SIGSEGV");
	evbus_poison_record(sb, longid, "SIGSEGV");
	cu_checkf(evbus_poison_lookup(sb, longid, cause, sizeof(cause)) == 2,
	    "a %zu-character id: expected 2 crashes, got %u",
	    strlen(longid), evbus_poison_lookup(sb, longid, cause,
	    sizeof(cause)));
	evbus_sb_destroy(sb);
}

/* A full table forgets the least recently crashed message first. */
static void
test_poison_lru(void)
{
	struct evbus_scoreboard	*sb = evbus_sb_create(1);
	char			 id[32], cause[64];
	uint32_t		 n;
	int			 i, known = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
	for (i = 0; i < EVBUS_SB_POISON; i++) {
		snprintf(id, sizeof(id), "msg-%d", i);
		evbus_poison_record(sb, id, "SIGSEGV");
		tick();
	}
	for (i = 0; i < EVBUS_SB_POISON; i++) {
		snprintf(id, sizeof(id), "msg-%d", i);
		known += evbus_poison_lookup(sb, id, cause, sizeof(cause)) == 1;
	}
	cu_checkf(known == EVBUS_SB_POISON, "%d of %d remembered", known,
	    EVBUS_SB_POISON);

	/* msg-0 crashes again: now msg-1 is the least recent. */
	evbus_poison_record(sb, "msg-0", "SIGBUS");
	tick();
	evbus_poison_record(sb, "new-a", "SIGSEGV");
	tick();
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "new-a", cause, sizeof(cause)),
	    1);
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "msg-0", cause, sizeof(cause)),
	    2);
	CU_ASSERT_STRING_EQUAL(cause, "SIGBUS");
	n = evbus_poison_lookup(sb, "msg-1", cause, sizeof(cause));
	cu_checkf(n == 0, "msg-1 (least recent) should be forgotten, has %u",
	    n);
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "msg-2", cause, sizeof(cause)),
	    1);

	/* The next newcomer replaces msg-2, and so on in order. */
	evbus_poison_record(sb, "new-b", "SIGSEGV");
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "msg-2", cause, sizeof(cause)),
	    0);
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "msg-3", cause, sizeof(cause)),
	    1);
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "new-a", cause, sizeof(cause)),
	    1);
	/* A newcomer starts at one crash, not at its victim's count. */
	CU_ASSERT_EQUAL(evbus_poison_lookup(sb, "new-b", cause, sizeof(cause)),
	    1);
	for (i = 0, known = 0; i < EVBUS_SB_POISON; i++)
		known += sb->poison[i].crashes > 0;
	CU_ASSERT_EQUAL(known, EVBUS_SB_POISON);
	evbus_sb_destroy(sb);
}

/* A worker (another process) sees what the supervisor recorded. */
static void
test_poison_across_fork(void)
{
	struct evbus_scoreboard	*sb = evbus_sb_create(1);
	pid_t			 pid;
	int			 status;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
	if ((pid = fork()) == 0) {
		char	 cause[64];
		int	 i;

		/* Wait (bounded) for the parent's record. */
		for (i = 0; i < 2000; i++) {
			if (evbus_poison_lookup(sb, "evt-9", cause,
			    sizeof(cause)) == 2)
				_exit(strcmp(cause, "SIGSEGV") == 0 ? 0 : 3);
			usleep(1000);
		}
		_exit(2);
	}
	CU_ASSERT_FATAL(pid > 0);
	evbus_poison_record(sb, "evt-9", "SIGSEGV");
	evbus_poison_record(sb, "evt-9", "SIGSEGV");
	CU_ASSERT(waitpid(pid, &status, 0) == pid);
	cu_checkf(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the child did not see 2 crashes with SIGSEGV (status 0x%x)",
	    status);
	evbus_sb_destroy(sb);
}

static const struct cu_test seqlock_tests[] = {
	{ "create", test_create },
	{ "concurrent writer, no torn reads", test_seqlock_concurrent_writer },
	{ "concurrent writer, guarded region", test_seqlock_region },
	{ "writer died mid-update", test_seqlock_dead_writer },
	{ NULL, NULL }
};

static const struct cu_test stats_tests[] = {
	{ "add: counters and timestamps", test_stats_add_counters },
	{ "add: handlers matched by name", test_stats_add_handlers },
	{ "add: handler table full", test_stats_add_handlers_full },
	{ "percentile", test_percentile },
	{ "bucket boundaries", test_bucket },
	{ NULL, NULL }
};

static const struct cu_test poison_tests[] = {
	{ "record and lookup", test_poison_record_lookup },
	{ "LRU replacement when full", test_poison_lru },
	{ "seen across fork", test_poison_across_fork },
	{ NULL, NULL }
};

static const struct cu_suite suites[] = {
	{ "scoreboard seqlock", seqlock_tests },
	{ "scoreboard stats", stats_tests },
	{ "scoreboard poison", poison_tests },
	{ NULL, NULL }
};

int
main(void)
{
	return cu_run(suites);
}
