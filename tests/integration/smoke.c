/*
 * smoke.c: the broker smoke test: connect to the throwaway broker, declare
 * a queue, publish a message with confirms, get it back and compare.
 * Fails (never skips) when the broker is not there.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "publish.h"
#include "url.h"

static int	 failures, checks;

static void
check(int ok, const char *what)
{
	checks++;
	if (!ok)
		failures++;
	printf("%s - %s\n", ok ? "ok" : "not ok", what);
}

static void
on_confirm(void *arg, uint64_t cookie, enum evbus_pub_status st,
    const char *reason)
{
	int	*out = arg;

	out[cookie] = (int)st;
}

int
main(void)
{
	const char		*s = getenv("EVBUS_TEST_URL");
	struct evbus_url	 url;
	struct evbus_amqp_opts	 o;
	struct evbus_amqp	 a;
	struct evbus_publisher	 pub;
	amqp_basic_properties_t	 props;
	amqp_rpc_reply_t	 r;
	amqp_message_t		 msg;
	char			 err[256], queue[64];
	const char		*body = "{\"hello\":\"broker\"}";
	int			 results[2] = { -1, -1 };

	if (s == NULL || *s == '\0' || strcmp(s, "none") == 0) {
		printf("not ok - EVBUS_TEST_URL is not set: the test broker "
		    "did not start\n0 passed, 1 failed\n");
		return 1;
	}
	if (evbus_url_parse(s, &url, err, sizeof(err)) == -1) {
		printf("not ok - EVBUS_TEST_URL: %s\n0 passed, 1 failed\n", err);
		return 1;
	}
	memset(&o, 0, sizeof(o));
	o.url = &url;
	o.heartbeat = 10;
	o.connect_timeout = 10;
	o.connection_name = "evbus-smoke-test";
	check(evbus_amqp_connect(&a, &o) == 0, "connect and log in");
	if (a.conn == NULL) {
		printf("# %s\n%d passed, %d failed\n", a.err, checks - failures,
		    failures);
		return 1;
	}
	check(a.heartbeat == 10, "heartbeat negotiated to 10 s");
	check(evbus_amqp_channel_open(&a, 1) == 0, "channel.open");

	snprintf(queue, sizeof(queue), "evbus.smoke.%ld", (long)getpid());
	check(amqp_queue_declare(a.conn, 1, amqp_cstring_bytes(queue), 0, 0, 0,
	    1, amqp_empty_table) != NULL, "queue.declare");

	check(evbus_pub_init(&pub, &a, 1, 8, 10, on_confirm, results) == 0,
	    "confirm.select");
	memset(&props, 0, sizeof(props));
	props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
	    AMQP_BASIC_MESSAGE_ID_FLAG;
	props.content_type = amqp_cstring_bytes("application/json");
	props.message_id = amqp_cstring_bytes("smoke-1");
	check(evbus_pub_send(&pub, "", queue, &props, body, strlen(body),
	    0) == 0, "basic.publish to the queue");
	props.message_id = amqp_cstring_bytes("smoke-2");
	check(evbus_pub_send(&pub, "", "evbus.no.such.queue", &props, body,
	    strlen(body), 1) == 0, "basic.publish to nowhere");
	check(evbus_pub_flush(&pub) == 0, "all confirms arrived");
	check(results[0] == EVBUS_PUB_CONFIRMED, "routed message confirmed");
	check(results[1] == EVBUS_PUB_RETURNED,
	    "unroutable message reported as returned, not published");
	evbus_pub_free(&pub);

	r = amqp_basic_get(a.conn, 1, amqp_cstring_bytes(queue), 1);
	check(r.reply_type == AMQP_RESPONSE_NORMAL &&
	    r.reply.id == AMQP_BASIC_GET_OK_METHOD, "basic.get found it");
	if (r.reply_type == AMQP_RESPONSE_NORMAL &&
	    r.reply.id == AMQP_BASIC_GET_OK_METHOD) {
		r = amqp_read_message(a.conn, 1, &msg, 0);
		check(r.reply_type == AMQP_RESPONSE_NORMAL &&
		    msg.body.len == strlen(body) &&
		    memcmp(msg.body.bytes, body, msg.body.len) == 0,
		    "body came back unchanged");
		check(msg.properties.message_id.len == 7 &&
		    memcmp(msg.properties.message_id.bytes, "smoke-1", 7) == 0,
		    "message_id came back unchanged");
		amqp_destroy_message(&msg);
	}
	amqp_queue_delete(a.conn, 1, amqp_cstring_bytes(queue), 0, 0);
	evbus_amqp_channel_close(&a, 1);
	evbus_amqp_close(&a);
	printf("%d passed, %d failed\n", checks - failures, failures);
	return failures ? 1 : 0;
}
