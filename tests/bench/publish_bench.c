/*
 * publish_bench.c: publishing with confirms against publishing without,
 * side by side in one run (DESIGN.md: confirmed pipelined publishing must
 * reach at least 80% of unconfirmed).
 *
 *	publish_bench URL [N] [SIZE] [RUNS]
 *
 * Publishes N persistent messages of SIZE bytes (default 20000 x 512) to a
 * fresh durable classic queue through the default exchange:
 *   baseline   a bare rabbitmq-c loop, mandatory, no confirms; the clock
 *              stops when the broker holds all N (passive declare polled),
 *              so it measures what the broker took, not what the socket
 *              buffered
 *   window W   evbus's publisher (shared/publish.c) with confirms and a
 *              window of W = 1, 10, 100, 1000; the clock stops at the last
 *              confirm
 *   reference  a bare rabbitmq-c confirm loop with a window of 1000 (no
 *              bookkeeping, no returns): what confirms cost by themselves,
 *              so that a gap to the baseline can be told apart from
 *              overhead in evbus's publisher
 * Each mode runs RUNS times (default 3), interleaved so that drift on a
 * busy machine hits every mode alike, with the queue purged in between;
 * the table shows each run, the median, and the median of each run's
 * ratio to the baseline's run of the same round.  Window 1 is one round trip per message, so it publishes at
 * most 2000 messages per run.  Not part of make check: nothing here is a
 * timed assertion.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "publish.h"
#include "url.h"

#define CH_ADMIN	1
#define MAX_RUNS	9
#define WINDOW1_MAX	2000

#define RAW		((size_t)-1)	/* the bare confirm loop */

struct mode {
	const char	*name;
	size_t		 window;	/* 0: the unconfirmed baseline */
	double		 rate[MAX_RUNS];
	size_t		 n;		/* messages per run */
};

struct counts {
	size_t	 confirmed, failed;
};

static struct evbus_amqp	 a;
static amqp_channel_t		 next_ch = CH_ADMIN + 1;

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static __attribute__((__noreturn__)) void
die(const char *what)
{
	fprintf(stderr, "publish_bench: %s: %s\n", what, a.err);
	exit(1);
}

static void
on_result(void *arg, uint64_t cookie, enum evbus_pub_status st,
    const char *reason)
{
	struct counts	*c = arg;

	(void)cookie;
	(void)reason;
	if (st == EVBUS_PUB_CONFIRMED)
		c->confirmed++;
	else
		c->failed++;
}

static uint32_t
ready(const char *queue)
{
	amqp_queue_declare_ok_t	*ok;

	ok = amqp_queue_declare(a.conn, CH_ADMIN, amqp_cstring_bytes(queue), 1,
	    0, 0, 0, amqp_empty_table);
	if (ok == NULL) {
		evbus_amqp_fail_last(&a, CH_ADMIN, "queue.declare (passive)");
		die(queue);
	}
	return ok->message_count;
}

static void
purge(const char *queue)
{
	if (amqp_queue_purge(a.conn, CH_ADMIN, amqp_cstring_bytes(queue)) ==
	    NULL) {
		evbus_amqp_fail_last(&a, CH_ADMIN, "queue.purge");
		die(queue);
	}
}

/* A fresh channel for each run: confirm mode cannot be switched off. */
static amqp_channel_t
channel(void)
{
	amqp_channel_t	 ch = next_ch++;

	if (evbus_amqp_channel_open(&a, ch) != 0)
		die("channel.open");
	return ch;
}

/* Properties as an event would have them (message_id set per message). */
static void
props_init(amqp_basic_properties_t *p)
{
	memset(p, 0, sizeof(*p));
	p->_flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
	    AMQP_BASIC_CONTENT_ENCODING_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
	    AMQP_BASIC_PRIORITY_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
	p->content_type = amqp_cstring_bytes("application/json");
	p->content_encoding = amqp_cstring_bytes("utf-8");
	p->delivery_mode = AMQP_DELIVERY_PERSISTENT;
	p->priority = 0;
}

static double
run_baseline(const char *queue, size_t n, amqp_bytes_t body)
{
	amqp_basic_properties_t	 p;
	amqp_channel_t		 ch = channel();
	char			 id[32];
	double			 t0, t1;
	size_t			 i;
	int			 st;

	props_init(&p);
	p.message_id = amqp_cstring_bytes(id);
	t0 = now();
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "bench-%zu", i);
		st = amqp_basic_publish(a.conn, ch, amqp_empty_bytes,
		    amqp_cstring_bytes(queue), 1, 0, &p, body);
		if (st != AMQP_STATUS_OK) {
			evbus_amqp_fail_status(&a, st, "basic.publish");
			die("baseline");
		}
	}
	/* Until the broker has them all, not just the socket buffer. */
	while (ready(queue) < n)
		usleep(1000);
	t1 = now();
	evbus_amqp_channel_close(&a, ch);
	return n / (t1 - t0);
}

static double
run_evbus(const char *queue, size_t n, amqp_bytes_t body, size_t window)
{
	struct evbus_publisher	 pub;
	struct counts		 c = { 0, 0 };
	amqp_basic_properties_t	 p;
	amqp_channel_t		 ch = channel();
	char			 id[32];
	double			 t0, t1;
	size_t			 i;

	props_init(&p);
	p.message_id = amqp_cstring_bytes(id);
	if (evbus_pub_init(&pub, &a, ch, window, 60, on_result, &c) != 0)
		die("confirm.select");
	t0 = now();
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "bench-%zu", i);
		if (evbus_pub_send(&pub, "", queue, &p, body.bytes, body.len,
		    i) != 0)
			die("evbus_pub_send");
	}
	if (evbus_pub_flush(&pub) != 0)
		die("evbus_pub_flush");
	t1 = now();
	evbus_pub_free(&pub);
	if (c.confirmed != n || c.failed != 0) {
		fprintf(stderr, "publish_bench: window %zu: %zu confirmed, %zu "
		    "failed of %zu\n", window, c.confirmed, c.failed, n);
		exit(1);
	}
	if (ready(queue) != n) {
		fprintf(stderr, "publish_bench: window %zu: %u in the queue, "
		    "expected %zu\n", window, ready(queue), n);
		exit(1);
	}
	evbus_amqp_channel_close(&a, ch);
	return n / (t1 - t0);
}

/* The bare confirm loop: publish while fewer than 1000 are unconfirmed. */
static double
run_raw(const char *queue, size_t n, amqp_bytes_t body)
{
	amqp_basic_properties_t	 p;
	amqp_channel_t		 ch = channel();
	amqp_frame_t		 f;
	uint64_t		 sent = 0, acked = 0;
	char			 id[32];
	double			 t0, t1;
	int			 st;

	props_init(&p);
	p.message_id = amqp_cstring_bytes(id);
	if (amqp_confirm_select(a.conn, ch) == NULL) {
		evbus_amqp_fail_last(&a, ch, "confirm.select");
		die("reference");
	}
	t0 = now();
	while (acked < n) {
		if (sent < n && sent - acked < 1000) {
			snprintf(id, sizeof(id), "bench-%llu",
			    (unsigned long long)sent);
			st = amqp_basic_publish(a.conn, ch, amqp_empty_bytes,
			    amqp_cstring_bytes(queue), 1, 0, &p, body);
			if (st != AMQP_STATUS_OK) {
				evbus_amqp_fail_status(&a, st, "basic.publish");
				die("reference");
			}
			sent++;
			continue;
		}
		st = amqp_simple_wait_frame(a.conn, &f);
		if (st != AMQP_STATUS_OK) {
			evbus_amqp_fail_status(&a, st, "confirms");
			die("reference");
		}
		/* RabbitMQ confirms in order; a nack would be a bug here. */
		if (f.frame_type == AMQP_FRAME_METHOD &&
		    f.payload.method.id == AMQP_BASIC_ACK_METHOD)
			acked = ((amqp_basic_ack_t *)
			    f.payload.method.decoded)->delivery_tag;
		else if (f.frame_type == AMQP_FRAME_METHOD) {
			fprintf(stderr, "publish_bench: reference: unexpected "
			    "%s\n", amqp_method_name(f.payload.method.id));
			exit(1);
		}
	}
	t1 = now();
	evbus_amqp_channel_close(&a, ch);
	return n / (t1 - t0);
}

static int
cmp_double(const void *x, const void *y)
{
	double	 a1 = *(const double *)x, b1 = *(const double *)y;

	return a1 < b1 ? -1 : a1 > b1;
}

static double
median(const double *v, int n)
{
	double	 s[MAX_RUNS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

int
main(int argc, char *argv[])
{
	struct mode		 modes[] = {
		{ "baseline: rabbitmq-c, no confirms", 0, { 0 }, 0 },
		{ "evbus publisher, confirms, window 1", 1, { 0 }, 0 },
		{ "evbus publisher, confirms, window 10", 10, { 0 }, 0 },
		{ "evbus publisher, confirms, window 100", 100, { 0 }, 0 },
		{ "evbus publisher, confirms, window 1000", 1000, { 0 }, 0 },
		{ "reference: rabbitmq-c confirms, w 1000", RAW, { 0 }, 0 },
	};
	const size_t		 nmodes = sizeof(modes) / sizeof(modes[0]);
	struct evbus_url	 url;
	struct evbus_amqp_opts	 o;
	amqp_bytes_t		 body;
	char			 err[256], queue[64];
	size_t			 n = 20000, size = 512, m;
	int			 runs = 3, r, j;

	if (argc < 2 || argc > 5) {
		fprintf(stderr, "usage: publish_bench URL [N] [SIZE] [RUNS]\n");
		return 2;
	}
	if (argc > 2)
		n = strtoul(argv[2], NULL, 10);
	if (argc > 3)
		size = strtoul(argv[3], NULL, 10);
	if (argc > 4)
		runs = atoi(argv[4]);
	if (n == 0 || runs < 1 || runs > MAX_RUNS || size > 16 * 1024 * 1024) {
		fprintf(stderr, "publish_bench: N >= 1, SIZE <= 16 MiB, "
		    "1 <= RUNS <= %d\n", MAX_RUNS);
		return 2;
	}
	if (evbus_url_parse(argv[1], &url, err, sizeof(err)) == -1) {
		fprintf(stderr, "publish_bench: %s\n", err);
		return 2;
	}
	memset(&o, 0, sizeof(o));
	o.url = &url;
	o.heartbeat = 60;
	o.connect_timeout = 10;
	o.connection_name = "publish_bench";
	if (evbus_amqp_connect(&a, &o) != 0)
		die("connect");
	if (evbus_amqp_channel_open(&a, CH_ADMIN) != 0)
		die("channel.open");

	snprintf(queue, sizeof(queue), "evbus.bench.publish.%ld",
	    (long)getpid());
	if (amqp_queue_declare(a.conn, CH_ADMIN, amqp_cstring_bytes(queue), 0,
	    1, 0, 0, amqp_empty_table) == NULL) {
		evbus_amqp_fail_last(&a, CH_ADMIN, "queue.declare");
		die(queue);
	}
	if ((body.bytes = malloc(size ? size : 1)) == NULL)
		return 1;
	memset(body.bytes, 'x', size);
	body.len = size;

	for (m = 0; m < nmodes; m++)
		modes[m].n = modes[m].window == 1 && n > WINDOW1_MAX ?
		    WINDOW1_MAX : n;
	for (r = 0; r < runs; r++) {
		for (m = 0; m < nmodes; m++) {
			purge(queue);
			if (modes[m].window == 0)
				modes[m].rate[r] = run_baseline(queue,
				    modes[m].n, body);
			else if (modes[m].window == RAW)
				modes[m].rate[r] = run_raw(queue, modes[m].n,
				    body);
			else
				modes[m].rate[r] = run_evbus(queue, modes[m].n,
				    body, modes[m].window);
			fprintf(stderr, "run %d/%d: %-40s %8.0f msg/s\n",
			    r + 1, runs, modes[m].name, modes[m].rate[r]);
		}
	}
	purge(queue);
	amqp_queue_delete(a.conn, CH_ADMIN, amqp_cstring_bytes(queue), 0, 0);
	evbus_amqp_close(&a);

	printf("publish_bench: %zu persistent messages of %zu bytes per run "
	    "(window 1: %zu), durable classic queue, %d runs\n", n, size,
	    modes[1].n, runs);
	printf("%-40s", "mode");
	for (j = 0; j < runs; j++)
		printf("   run %d", j + 1);
	printf("   median msg/s   vs baseline\n");
	for (m = 0; m < nmodes; m++) {
		double	 ratio[MAX_RUNS];

		printf("%-40s", modes[m].name);
		for (j = 0; j < runs; j++) {
			printf(" %7.0f", modes[m].rate[j]);
			ratio[j] = modes[0].rate[j] > 0 ?
			    modes[m].rate[j] / modes[0].rate[j] : 0;
		}
		printf("   %12.0f   %10.0f%%\n", median(modes[m].rate, runs),
		    100 * median(ratio, runs));
	}
	free(body.bytes);
	return 0;
}
