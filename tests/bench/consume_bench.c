/*
 * consume_bench.c: the consume benchmark's tools, all on bare rabbitmq-c
 * (plus evbus's connection layer for the login):
 *
 *   consume_bench preload URL QUEUE N SIZE
 *	put N valid events of about SIZE bytes into QUEUE (persistent,
 *	eventsource-py headers, confirmed in windows of 1000)
 *   consume_bench baseline URL QUEUE N PREFETCH [ACK_EVERY]
 *	the ceiling for one connection: consume N messages, ack each, nothing
 *	else; prints "first <us> last <us> count <n>" like the noop handler.
 *	With ACK_EVERY > 1, one basic.ack multiple=true every ACK_EVERY
 *	messages (and for the last ones) instead, the batching evbus does
 *   consume_bench rate URL QUEUE N RATE
 *	publish N events at RATE per second with a "sent_us" payload field
 *	(for publish-to-handled latency)
 *   consume_bench latency URL QUEUE N PREFETCH
 *	the baseline consumer, printing "lat <us>" per message from sent_us
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "event.h"
#include "message.h"
#include "publish.h"
#include "url.h"

static int64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
die(const char *what, const char *err)
{
	fprintf(stderr, "consume_bench: %s: %s\n", what, err);
	exit(1);
}

static void
connect_to(struct evbus_amqp *a, const char *s)
{
	struct evbus_url	 url;
	struct evbus_amqp_opts	 o;
	char			 err[256];

	if (evbus_url_parse(s, &url, err, sizeof(err)) == -1)
		die("url", err);
	memset(&o, 0, sizeof(o));
	o.url = &url;
	o.heartbeat = 60;
	o.connect_timeout = 10;
	o.connection_name = "consume_bench";
	if (evbus_amqp_connect(a, &o) != 0 || evbus_amqp_channel_open(a, 1) != 0)
		die("connect", a->err);
}

static int	 failed;

static void
on_confirm(void *arg, uint64_t cookie, enum evbus_pub_status st,
    const char *reason)
{
	if (st != EVBUS_PUB_CONFIRMED)
		failed++;
}

/* Publish n events to queue; rate 0 = as fast as confirms allow. */
static void
publish(const char *url, const char *queue, long n, long size, long rate)
{
	struct evbus_amqp	 a;
	struct evbus_publisher	 pub;
	struct evbus_event	 ev;
	struct evbus_msg	 m;
	char			 json[70000], pad[65536], err[256];
	long			 i, padlen = size > 400 ? size - 400 : 1;
	int64_t			 start = now_us(), due;

	if (padlen >= (long)sizeof(pad))
		padlen = sizeof(pad) - 1;
	memset(pad, 'x', (size_t)padlen);
	pad[padlen] = '\0';
	connect_to(&a, url);
	if (evbus_pub_init(&pub, &a, 1, rate > 0 ? 100 : 1000, 60, on_confirm,
	    NULL) != 0)
		die("confirm.select", a.err);
	for (i = 0; i < n; i++) {
		if (rate > 0) {
			due = start + (int64_t)(i * 1e6 / rate);
			while (now_us() < due)
				usleep(100);
		}
		snprintf(json, sizeof(json), "{\"event_type\":\"BenchEvent\","
		    "\"aggregate_type\":\"Bench\",\"aggregate_id\":"
		    "\"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5\","
		    "\"aggregate_version\":%ld,\"sent_us\":%lld,\"pad\":\"%s\"}",
		    i + 1, (long long)now_us(), pad);
		if (evbus_event_parse(json, strlen(json),
		    EVBUS_EVENT_FILL_DEFAULTS, &ev, err, sizeof(err)) == -1)
			die("event", err);
		if (evbus_msg_build(&m, &ev, NULL, NULL, err, sizeof(err)) == -1)
			die("message", err);
		if (evbus_pub_send(&pub, "", queue, &m.props, m.body,
		    m.body_len, (uint64_t)i) != 0)
			die("publish", a.err);
		evbus_msg_free(&m);
		evbus_event_free(&ev);
	}
	if (evbus_pub_flush(&pub) != 0)
		die("confirms", a.err);
	evbus_pub_free(&pub);
	evbus_amqp_close(&a);
	if (failed)
		die("publish", "some messages were not confirmed");
}

/* The minimal consumer: consume, ack (every ack_every), nothing else. */
static void
consume(const char *url, const char *queue, long n, int prefetch, int lat,
    long ack_every)
{
	struct evbus_amqp	 a;
	amqp_envelope_t		 env;
	amqp_rpc_reply_t	 r;
	struct timeval		 tv = { 30, 0 };
	int64_t			 first = 0, last = 0, t;
	long			 got = 0;
	const char		*p;

	connect_to(&a, url);
	if (amqp_basic_qos(a.conn, 1, 0, (uint16_t)prefetch, 0) == NULL ||
	    amqp_basic_consume(a.conn, 1, amqp_cstring_bytes(queue),
	    amqp_empty_bytes, 0, 0, 0, amqp_empty_table) == NULL)
		die("consume", "basic.qos/basic.consume failed");
	while (got < n) {
		amqp_maybe_release_buffers(a.conn);
		r = amqp_consume_message(a.conn, &env, &tv, 0);
		if (r.reply_type != AMQP_RESPONSE_NORMAL)
			die("consume", "no message within 30 s");
		t = now_us();
		if (got++ == 0)
			first = t;
		last = t;
		if (lat && (p = memmem(env.message.body.bytes,
		    env.message.body.len, "\"sent_us\":", 10)) != NULL)
			printf("lat %lld\n", (long long)(t - atoll(p + 10)));
		if (ack_every <= 1)
			amqp_basic_ack(a.conn, 1, env.delivery_tag, 0);
		else if (got % ack_every == 0 || got == n)
			amqp_basic_ack(a.conn, 1, env.delivery_tag, 1);
		amqp_destroy_envelope(&env);
	}
	printf("first %lld\nlast %lld\ncount %ld\n", (long long)first,
	    (long long)last, got);
	evbus_amqp_close(&a);
}

int
main(int argc, char *argv[])
{
	if (argc == 6 && strcmp(argv[1], "preload") == 0)
		publish(argv[2], argv[3], atol(argv[4]), atol(argv[5]), 0);
	else if (argc == 6 && strcmp(argv[1], "rate") == 0)
		publish(argv[2], argv[3], atol(argv[4]), 400, atol(argv[5]));
	else if (argc == 6 && strcmp(argv[1], "baseline") == 0)
		consume(argv[2], argv[3], atol(argv[4]), atoi(argv[5]), 0, 1);
	else if (argc == 7 && strcmp(argv[1], "baseline") == 0)
		consume(argv[2], argv[3], atol(argv[4]), atoi(argv[5]), 0,
		    atol(argv[6]));
	else if (argc == 6 && strcmp(argv[1], "latency") == 0)
		consume(argv[2], argv[3], atol(argv[4]), atoi(argv[5]), 1, 1);
	else {
		fprintf(stderr, "usage: consume_bench preload|rate|baseline|"
		    "latency URL QUEUE N SIZE|RATE|PREFETCH [ACK_EVERY]\n");
		return 64;
	}
	return 0;
}
