/*
 * wire.c: the publisher half of the eventsource-py interop checklist (wire
 * spec 15), checked on what the broker actually delivers.
 *
 * The wire spec 3.2/3.5 example event is published twice, once with the C
 * API (evbus_msg_build + evbus_publisher) and once through the real
 * `evbusctl publish`, and each copy is read back raw with basic.get from a
 * queue bound to the exchange and compared field by field with what
 * eventsource-py (pydantic + aio-pika + pamqp) puts on the wire: exchange,
 * routing key, body bytes, body keys, their order and formats, properties,
 * header names, AMQP field kinds and values.  A second event exercises the
 * normalising paths (upper-case and unhyphenated UUIDs, a +02:00 offset,
 * non-ASCII text, a float with no fraction, a 16-bit aggregate_version).
 * An unroutable publish must be reported failed, not counted as published.
 *
 * Run by make check with EVBUS_TEST_URL set; fails (never skips) without.
 * Prints "ok - ..."/"not ok - ..." and "N passed, M failed".
 *
 * Helper modes for the shell tests, against $EVBUS_TEST_URL:
 *	wire --dump QUEUE [body|routing_key|header:NAME]
 *		consume (and ack) the messages ready in QUEUE and print the
 *		chosen part of each, one per line (header values as text,
 *		integers in decimal, "-" when absent)
 *	wire --count QUEUE
 *		print the number of ready messages (exit 1: no such queue)
 *	wire --delete NAME...
 *		delete the queues and exchanges of these names (rabbitmqctl
 *		cannot delete an exchange, and takes seconds per call)
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conn.h"
#include "event.h"
#include "message.h"
#include "publish.h"
#include "url.h"

#define CH_PUB	1	/* confirm channel */
#define CH_GET	2	/* declares and basic.get */

static int	 npass, nfail;

static void
check(int ok, const char *fmt, ...) __attribute__((__format__(printf, 2, 3)));

static void
check(int ok, const char *fmt, ...)
{
	va_list	 ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (ok)
		npass++;
	else
		nfail++;
}

static int
finish(void)
{
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail > 0 || npass == 0 ? 1 : 0;
}

/* Wire spec 3.2: the verified example, byte for byte. */
static const char example[] =
    "{\"event_id\":\"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b\","
    "\"event_type\":\"OrderCreated\",\"event_version\":1,"
    "\"occurred_at\":\"2025-03-14T15:09:26.535897Z\","
    "\"aggregate_id\":\"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5\","
    "\"aggregate_type\":\"Order\",\"aggregate_version\":3,"
    "\"tenant_id\":\"11111111-2222-4333-8444-555555555555\","
    "\"actor_id\":null,"
    "\"correlation_id\":\"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9\","
    "\"causation_id\":null,\"metadata\":{\"source\":\"api\"},"
    "\"order_number\":\"ORD-001\",\"total_amount\":99.5}";

/* An input that must come out normalised, and what pydantic writes for it. */
static const char odd_in[] =
    "{\"total\":100.0,\"aggregate_type\":\"Order\","
    "\"event_id\":\"3F2A9C1E8B4D4E6F9A0B1C2D3E4F5A6C\","
    "\"event_type\":\"OrderShipped\","
    "\"occurred_at\":\"2025-03-14T17:09:26.5+02:00\","
    "\"aggregate_id\":\"7D9E1F20-3A4B-4C5D-8E6F-708192A3B4C5\","
    "\"aggregate_version\":300,\"note\":\"Zo\xc3\xab \xf0\x9f\x9a\x80\","
    "\"correlation_id\":\"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9\","
    "\"causation_id\":\"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b\"}";
static const char odd_out[] =
    "{\"event_id\":\"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6c\","
    "\"event_type\":\"OrderShipped\",\"event_version\":1,"
    "\"occurred_at\":\"2025-03-14T15:09:26.500000Z\","
    "\"aggregate_id\":\"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5\","
    "\"aggregate_type\":\"Order\",\"aggregate_version\":300,"
    "\"tenant_id\":null,\"actor_id\":null,"
    "\"correlation_id\":\"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9\","
    "\"causation_id\":\"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b\","
    "\"metadata\":{},"
    "\"total\":100.0,\"note\":\"Zo\xc3\xab \xf0\x9f\x9a\x80\"}";

/* The twelve base keys in pydantic's field order (wire spec 3.2). */
static const char *const base_keys[] = {
	"event_id", "event_type", "event_version", "occurred_at",
	"aggregate_id", "aggregate_type", "aggregate_version", "tenant_id",
	"actor_id", "correlation_id", "causation_id", "metadata"
};

struct want_hdr {
	const char	*name;
	uint8_t		 kind;
	const char	*s;	/* 'S': the value; NULL: any */
	int64_t		 i;
};

struct want {
	const char		*exchange;
	const char		*routing_key;
	const char		*body;
	const char		*message_id;
	uint64_t		 timestamp;
	const char *const	*payload_keys;	/* after the base keys */
	size_t			 npayload;
	const struct want_hdr	*hdrs;
	size_t			 nhdrs;
	const char		*trace_id;	/* 32 hex, or NULL: any */
};

static const char *const example_payload[] = { "order_number",
    "total_amount" };
static const char *const odd_payload[] = { "total", "note" };

/* Wire spec 3.5 (pamqp's encoding), plus evbus's traceparent. */
static const struct want_hdr example_hdrs[] = {
	{ "aggregate_id", 'S', "7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5", 0 },
	{ "aggregate_type", 'S', "Order", 0 },
	{ "aggregate_version", 'b', NULL, 3 },
	{ "correlation_id", 'S', "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", 0 },
	{ "event_type", 'S', "OrderCreated", 0 },
	{ "tenant_id", 'S', "11111111-2222-4333-8444-555555555555", 0 },
	{ "traceparent", 'S', NULL, 0 },
	{ "x-retry-count", 'b', NULL, 0 },
};

static const struct want_hdr odd_hdrs[] = {
	{ "aggregate_id", 'S', "7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5", 0 },
	{ "aggregate_type", 'S', "Order", 0 },
	{ "aggregate_version", 's', NULL, 300 },
	{ "causation_id", 'S', "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b", 0 },
	{ "correlation_id", 'S', "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", 0 },
	{ "event_type", 'S', "OrderShipped", 0 },
	{ "traceparent", 'S', NULL, 0 },
	{ "x-retry-count", 'b', NULL, 0 },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char *
bstr(amqp_bytes_t b, char *buf, size_t len)
{
	return evbus_amqp_bytes_str(b, buf, len);
}

static int
bytes_eq(amqp_bytes_t b, const char *s)
{
	return b.len == strlen(s) && memcmp(b.bytes, s, b.len) == 0;
}

static int
matches(const char *re, const char *s)
{
	regex_t	 r;
	int	 m;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
		return 0;
	m = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return m;
}

#define UUID_RE	"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-" \
		"[0-9a-f]{12}$"
#define TIME_RE	"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:" \
		"[0-9]{2}(\\.[0-9]{6})?Z$"

static int64_t
field_int(const amqp_field_value_t *f, int *isint)
{
	*isint = 1;
	switch (f->kind) {
	case AMQP_FIELD_KIND_I8:	return f->value.i8;
	case AMQP_FIELD_KIND_U8:	return f->value.u8;
	case AMQP_FIELD_KIND_I16:	return f->value.i16;
	case AMQP_FIELD_KIND_U16:	return f->value.u16;
	case AMQP_FIELD_KIND_I32:	return f->value.i32;
	case AMQP_FIELD_KIND_U32:	return f->value.u32;
	case AMQP_FIELD_KIND_I64:	return f->value.i64;
	case AMQP_FIELD_KIND_U64:	return (int64_t)f->value.u64;
	default:			*isint = 0; return 0;
	}
}

/* Check the body's JSON: keys, their order and the formats of spec 3.2. */
static void
check_body_json(const char *who, const char *body, size_t len,
    const struct want *w)
{
	json_object	*o, *v;
	char		 got[1024], want[1024];
	const char	*s;
	size_t		 i, n = 0;
	int		 okfmt = 1;

	got[0] = want[0] = '\0';
	for (i = 0; i < NELEM(base_keys); i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
		    "%s%s", i ? "," : "", base_keys[i]);
	for (i = 0; i < w->npayload; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
		    ",%s", w->payload_keys[i]);

	o = evbus_json_parse_object(body, len, got, sizeof(got));
	check(o != NULL, "%s: body is one strict JSON object in valid "
	    "UTF-8%s%s", who, o ? "" : ": ", o ? "" : got);
	if (o == NULL)
		return;
	got[0] = '\0';
	{
		json_object_object_foreach(o, key, val) {
			(void)val;
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    "%s%s", n++ ? "," : "", key);
		}
	}
	check(strcmp(got, want) == 0, "%s: body keys in pydantic order, flat, "
	    "no extra keys (got %s)", who, got);

	/* Formats: lowercase hyphenated UUIDs, Z timestamps, versions >= 1. */
	for (i = 0; i < NELEM(base_keys); i++) {
		const char *k = base_keys[i];

		if (!json_object_object_get_ex(o, k, &v))
			continue;
		if (strcmp(k, "event_id") == 0 ||
		    strcmp(k, "aggregate_id") == 0 ||
		    strcmp(k, "correlation_id") == 0 ||
		    ((strcmp(k, "tenant_id") == 0 ||
		    strcmp(k, "causation_id") == 0) && v != NULL)) {
			s = json_object_is_type(v, json_type_string) ?
			    json_object_get_string(v) : "";
			if (!matches(UUID_RE, s)) {
				printf("# %s: %s = %s\n", who, k,
				    json_object_to_json_string(v));
				okfmt = 0;
			}
		} else if (strcmp(k, "occurred_at") == 0) {
			s = json_object_is_type(v, json_type_string) ?
			    json_object_get_string(v) : "";
			if (!matches(TIME_RE, s)) {
				printf("# %s: occurred_at = %s\n", who, s);
				okfmt = 0;
			}
		} else if (strcmp(k, "event_version") == 0 ||
		    strcmp(k, "aggregate_version") == 0) {
			if (!json_object_is_type(v, json_type_int) ||
			    json_object_get_int64(v) < 1) {
				printf("# %s: %s = %s\n", who, k,
				    json_object_to_json_string(v));
				okfmt = 0;
			}
		} else if (strcmp(k, "metadata") == 0) {
			if (!json_object_is_type(v, json_type_object))
				okfmt = 0;
		} else if (strcmp(k, "event_type") == 0 ||
		    strcmp(k, "aggregate_type") == 0) {
			if (!json_object_is_type(v, json_type_string) ||
			    json_object_get_string_len(v) == 0)
				okfmt = 0;
		}
	}
	check(okfmt, "%s: body formats: lowercase hyphenated UUIDs, "
	    "correlation_id not null, Z timestamp, versions >= 1, metadata "
	    "object", who);
	json_object_put(o);
	/* Compact and raw UTF-8: no whitespace between tokens, no \u. */
	check(memchr(body, '\n', len) == NULL &&
	    strstr(body, "\\u") == NULL && strstr(body, "\": ") == NULL &&
	    strstr(body, ", \"") == NULL, "%s: body compact, non-ASCII raw",
	    who);
}

/* Compare one delivered message with what eventsource-py would send. */
static void
check_message(const char *who, const amqp_basic_get_ok_t *g,
    const amqp_message_t *msg, const struct want *w)
{
	const amqp_basic_properties_t *p = &msg->properties;
	const amqp_table_t	*t = &p->headers;
	const amqp_field_value_t *f;
	char			 a[512], b[512];
	size_t			 i;
	int			 isint, ok;
	static const struct {
		const char	*name;
		amqp_flags_t	 flag;
	} unset[] = {
		{ "type", AMQP_BASIC_TYPE_FLAG },
		{ "app_id", AMQP_BASIC_APP_ID_FLAG },
		{ "correlation_id", AMQP_BASIC_CORRELATION_ID_FLAG },
		{ "reply_to", AMQP_BASIC_REPLY_TO_FLAG },
		{ "expiration", AMQP_BASIC_EXPIRATION_FLAG },
		{ "user_id", AMQP_BASIC_USER_ID_FLAG },
		{ "cluster_id", AMQP_BASIC_CLUSTER_ID_FLAG },
	};

	/* Exchange and routing key (spec 3.1). */
	check(bytes_eq(g->exchange, w->exchange), "%s: exchange \"%s\" "
	    "(expected \"%s\")", who, bstr(g->exchange, a, sizeof(a)),
	    w->exchange);
	check(bytes_eq(g->routing_key, w->routing_key), "%s: routing key "
	    "\"%s\" = {aggregate_type}.{event_type} \"%s\"", who,
	    bstr(g->routing_key, a, sizeof(a)), w->routing_key);

	/* Body (spec 3.2). */
	ok = msg->body.len == strlen(w->body) &&
	    memcmp(msg->body.bytes, w->body, msg->body.len) == 0;
	check(ok, "%s: body byte-identical to pydantic's model_dump_json()",
	    who);
	if (!ok)
		printf("# got:  %.*s\n# want: %s\n", (int)msg->body.len,
		    (char *)msg->body.bytes, w->body);
	check_body_json(who, msg->body.bytes, msg->body.len, w);

	/* Properties (spec 3.3). */
	check((p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG) &&
	    bytes_eq(p->content_type, "application/json"),
	    "%s: content_type application/json", who);
	check((p->_flags & AMQP_BASIC_CONTENT_ENCODING_FLAG) &&
	    bytes_eq(p->content_encoding, "utf-8"),
	    "%s: content_encoding utf-8", who);
	check((p->_flags & AMQP_BASIC_DELIVERY_MODE_FLAG) &&
	    p->delivery_mode == 2, "%s: delivery_mode 2 (persistent)", who);
	check((p->_flags & AMQP_BASIC_PRIORITY_FLAG) && p->priority == 0,
	    "%s: priority 0 present", who);
	check((p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) &&
	    bytes_eq(p->message_id, w->message_id), "%s: message_id = "
	    "event_id %s (got \"%s\")", who, w->message_id,
	    (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) ?
	    bstr(p->message_id, a, sizeof(a)) : "unset");
	check((p->_flags & AMQP_BASIC_TIMESTAMP_FLAG) &&
	    p->timestamp == w->timestamp, "%s: timestamp %" PRIu64 " = "
	    "occurred_at seconds (got %" PRIu64 ")", who, w->timestamp,
	    (uint64_t)p->timestamp);
	for (i = 0, ok = 1; i < NELEM(unset); i++)
		if (p->_flags & unset[i].flag) {
			printf("# %s: property %s is set\n", who,
			    unset[i].name);
			ok = 0;
		}
	check(ok, "%s: type, app_id, correlation_id, reply_to, expiration, "
	    "user_id, cluster_id not set", who);

	/* Headers (spec 3.4): exactly these names, kinds and values. */
	ok = (p->_flags & AMQP_BASIC_HEADERS_FLAG) != 0 &&
	    (size_t)t->num_entries == w->nhdrs;
	a[0] = '\0';
	for (i = 0; (p->_flags & AMQP_BASIC_HEADERS_FLAG) &&
	    i < (size_t)t->num_entries; i++)
		snprintf(a + strlen(a), sizeof(a) - strlen(a), "%s%s",
		    i ? "," : "", bstr(t->entries[i].key, b, sizeof(b)));
	for (i = 0; i < w->nhdrs; i++)
		if (evbus_header_get(t, w->hdrs[i].name) == NULL)
			ok = 0;
	check(ok, "%s: header names exactly as eventsource-py's (got %s)",
	    who, a);
	for (i = 0; i < w->nhdrs; i++) {
		const struct want_hdr *h = &w->hdrs[i];
		int64_t		 iv;

		if ((f = evbus_header_get(t, h->name)) == NULL)
			continue;
		if (h->kind == 'S') {
			ok = f->kind == 'S';
			if (ok)
				bstr(f->value.bytes, a, sizeof(a));
			else
				snprintf(a, sizeof(a), "kind '%c'", f->kind);
			if (ok && h->s != NULL)
				ok = strcmp(a, h->s) == 0;
			check(ok, "%s: header %s is S \"%s\" (got %s)", who,
			    h->name, h->s ? h->s : "...", a);
		} else {
			iv = field_int(f, &isint);
			check(f->kind == h->kind && isint && iv == h->i,
			    "%s: header %s is '%c' %" PRId64 " (got '%c' %"
			    PRId64 ")", who, h->name, h->kind, h->i, f->kind,
			    iv);
		}
	}
	if ((f = evbus_header_get(t, "traceparent")) != NULL &&
	    f->kind == 'S') {
		bstr(f->value.bytes, a, sizeof(a));
		check(evbus_traceparent_valid(a) && strncmp(a, "00-", 3) == 0,
		    "%s: traceparent \"%s\" is W3C version 00", who, a);
		if (w->trace_id != NULL)
			check(strncmp(a + 3, w->trace_id, 32) == 0,
			    "%s: traceparent continues trace %s", who,
			    w->trace_id);
	}
}

/* basic.get one message from queue, waiting up to 10 s for it. */
static int
get_one(struct evbus_amqp *a, const char *queue, amqp_message_t *msg,
    amqp_basic_get_ok_t *g)
{
	amqp_rpc_reply_t	 r;
	int			 i;

	for (i = 0; i < 100; i++) {
		r = amqp_basic_get(a->conn, CH_GET, amqp_cstring_bytes(queue),
		    1);
		if (r.reply_type != AMQP_RESPONSE_NORMAL) {
			evbus_amqp_fail(a, CH_GET, r, "basic.get");
			return -1;
		}
		if (r.reply.id == AMQP_BASIC_GET_OK_METHOD) {
			amqp_basic_get_ok_t *ok = r.reply.decoded;

			/* The method lives in the connection's frame pool. */
			*g = *ok;
			g->exchange = amqp_bytes_malloc_dup(ok->exchange);
			g->routing_key = amqp_bytes_malloc_dup(ok->routing_key);
			r = amqp_read_message(a->conn, CH_GET, msg, 0);
			if (r.reply_type != AMQP_RESPONSE_NORMAL) {
				evbus_amqp_fail(a, CH_GET, r, "read message");
				return -1;
			}
			return 0;
		}
		usleep(100000);
	}
	snprintf(a->err, sizeof(a->err), "queue %s stayed empty for 10 s",
	    queue);
	return 1;
}

static void
free_get(amqp_basic_get_ok_t *g)
{
	amqp_bytes_free(g->exchange);
	amqp_bytes_free(g->routing_key);
}

/* The number of ready messages in queue (passive declare), or -1. */
static long
queue_count(struct evbus_amqp *a, const char *queue)
{
	amqp_queue_declare_ok_t	*ok;

	ok = amqp_queue_declare(a->conn, CH_GET, amqp_cstring_bytes(queue), 1,
	    0, 0, 0, amqp_empty_table);
	return ok ? (long)ok->message_count : -1;
}

/* Run argv with stdout+stderr into out; the exit status, or -1. */
static int
run(char *const argv[], char *out, size_t len)
{
	int	 fd[2], status;
	size_t	 n = 0;
	ssize_t	 r;
	pid_t	 pid;

	if (pipe(fd) == -1)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		dup2(fd[1], 1);
		dup2(fd[1], 2);
		close(fd[0]);
		close(fd[1]);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	while (n + 1 < len && (r = read(fd[0], out + n, len - n - 1)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fd[0]);
	if (waitpid(pid, &status, 0) == -1)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 +
	    WTERMSIG(status);
}

struct results {
	int	 st[8];
};

static void
on_confirm(void *arg, uint64_t cookie, enum evbus_pub_status st,
    const char *reason)
{
	struct results	*r = arg;

	(void)reason;
	if (cookie < 8)
		r->st[cookie] = (int)st;
}

static int
connect_url(struct evbus_amqp *a, const char *s, const char *name)
{
	struct evbus_url	 url;
	struct evbus_amqp_opts	 o;
	char			 err[256];

	if (evbus_url_parse(s, &url, err, sizeof(err)) == -1) {
		snprintf(a->err, sizeof(a->err), "EVBUS_TEST_URL: %s", err);
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.url = &url;
	o.heartbeat = 30;
	o.connect_timeout = 10;
	o.connection_name = name;
	if (evbus_amqp_connect(a, &o) != 0)
		return -1;
	if (evbus_amqp_channel_open(a, CH_PUB) != 0 ||
	    evbus_amqp_channel_open(a, CH_GET) != 0) {
		evbus_amqp_close(a);
		return -1;
	}
	return 0;
}

/* Print the chosen part of one message for --dump. */
static void
dump_one(const char *what, amqp_bytes_t routing_key, const amqp_message_t *msg)
{
	const amqp_field_value_t *f;
	char			 buf[4096];
	int			 isint;
	int64_t			 iv;

	if (strcmp(what, "routing_key") == 0)
		printf("%s\n", bstr(routing_key, buf, sizeof(buf)));
	else if (strcmp(what, "body") == 0)
		printf("%.*s\n", (int)msg->body.len, (char *)msg->body.bytes);
	else if (strncmp(what, "header:", 7) == 0) {
		f = (msg->properties._flags & AMQP_BASIC_HEADERS_FLAG) ?
		    evbus_header_get(&msg->properties.headers, what + 7) : NULL;
		iv = f ? field_int(f, &isint) : 0;
		if (f == NULL)
			printf("-\n");
		else if (f->kind == 'S' || f->kind == 'x')
			printf("%s\n", bstr(f->value.bytes, buf, sizeof(buf)));
		else if (isint)
			printf("%" PRId64 "\n", iv);
		else
			printf("?%c\n", f->kind);
	}
}

/*
 * wire --dump QUEUE [what]: print each message's body or a header.  The
 * ready messages are counted first and then consumed (acked in batches):
 * basic.get costs a round trip per message, far too slow for 10,000.
 */
static int
dump(const char *url, const char *queue, const char *what)
{
	struct evbus_amqp	 a;
	amqp_envelope_t		 env;
	amqp_rpc_reply_t	 r;
	struct timeval		 tv;
	long			 n, i;

	if (connect_url(&a, url, "evbus-wire-dump") == -1) {
		fprintf(stderr, "wire: %s\n", a.err);
		return 1;
	}
	if ((n = queue_count(&a, queue)) == -1) {
		evbus_amqp_fail_last(&a, CH_GET, "queue.declare (passive)");
		fprintf(stderr, "wire: %s: %s\n", queue, a.err);
		return 1;
	}
	if (n == 0)
		goto done;
	if (amqp_basic_qos(a.conn, CH_GET, 0, 1000, 0) == NULL ||
	    amqp_basic_consume(a.conn, CH_GET, amqp_cstring_bytes(queue),
	    amqp_empty_bytes, 0, 0, 0, amqp_empty_table) == NULL) {
		evbus_amqp_fail_last(&a, CH_GET, "basic.consume");
		fprintf(stderr, "wire: %s: %s\n", queue, a.err);
		return 1;
	}
	for (i = 0; i < n; i++) {
		tv.tv_sec = 10;
		tv.tv_usec = 0;
		amqp_maybe_release_buffers(a.conn);
		r = amqp_consume_message(a.conn, &env, &tv, 0);
		if (r.reply_type != AMQP_RESPONSE_NORMAL) {
			evbus_amqp_fail(&a, CH_GET, r, "consume");
			fprintf(stderr, "wire: %s: message %ld of %ld: %s\n",
			    queue, i + 1, n, a.err);
			return 1;
		}
		dump_one(what, env.routing_key, &env.message);
		/* Ack every 500 and the last: the rest stay unacked. */
		if ((i + 1) % 500 == 0 || i + 1 == n)
			amqp_basic_ack(a.conn, CH_GET, env.delivery_tag, 1);
		amqp_destroy_envelope(&env);
	}
done:
	fflush(stdout);
	evbus_amqp_close(&a);
	return 0;
}

/* wire --count QUEUE */
static int
count(const char *url, const char *queue)
{
	struct evbus_amqp	 a;
	long			 n;

	if (connect_url(&a, url, "evbus-wire-count") == -1) {
		fprintf(stderr, "wire: %s\n", a.err);
		return 1;
	}
	if ((n = queue_count(&a, queue)) == -1) {
		evbus_amqp_fail_last(&a, CH_GET, "queue.declare (passive)");
		fprintf(stderr, "wire: %s: %s\n", queue, a.err);
		evbus_amqp_close(&a);
		return 1;
	}
	printf("%ld\n", n);
	evbus_amqp_close(&a);
	return 0;
}

/* wire --delete NAME...: queue.delete and exchange.delete each name. */
static int
delete(const char *url, int n, char *names[])
{
	struct evbus_amqp	 a;
	int			 i, rc = 0;

	if (connect_url(&a, url, "evbus-wire-delete") == -1) {
		fprintf(stderr, "wire: %s\n", a.err);
		return 1;
	}
	for (i = 0; i < n; i++) {
		/* Both are idempotent in RabbitMQ 3.10: missing is ok. */
		if (amqp_queue_delete(a.conn, CH_GET,
		    amqp_cstring_bytes(names[i]), 0, 0) == NULL ||
		    amqp_exchange_delete(a.conn, CH_GET,
		    amqp_cstring_bytes(names[i]), 0) == NULL) {
			if (evbus_amqp_fail_last(&a, CH_GET, names[i]) !=
			    EVBUS_AMQP_ECHANNEL ||
			    evbus_amqp_channel_open(&a, CH_GET) != 0) {
				fprintf(stderr, "wire: delete %s\n", a.err);
				return 1;
			}
			fprintf(stderr, "wire: delete %s\n", a.err);
			rc = 1;
		}
	}
	evbus_amqp_close(&a);
	return rc;
}

int
main(int argc, char *argv[])
{
	const char		*url = getenv("EVBUS_TEST_URL");
	const char		*builddir = getenv("EVBUS_BUILDDIR");
	struct evbus_amqp	 a;
	struct evbus_event	 ev;
	struct evbus_msg	 m;
	struct evbus_publisher	 pub;
	struct results		 res;
	amqp_basic_get_ok_t	 g;
	amqp_message_t		 msg;
	struct want		 w;
	char			 ex[64], ex_empty[80], q[80], conf[64];
	char			 ctl[1024], out[8192], err[256], who[64];
	char			*args[10];
	FILE			*fp;
	int			 fd, rc, i;

	if (url == NULL || *url == '\0' || strcmp(url, "none") == 0) {
		check(0, "EVBUS_TEST_URL is not set: the test broker did not "
		    "start");
		return finish();
	}
	if (argc >= 3 && argc <= 4 && strcmp(argv[1], "--dump") == 0)
		return dump(url, argv[2], argc == 4 ? argv[3] : "body");
	if (argc == 3 && strcmp(argv[1], "--count") == 0)
		return count(url, argv[2]);
	if (argc >= 2 && strcmp(argv[1], "--delete") == 0)
		return delete(url, argc - 2, argv + 2);
	if (argc > 1) {
		fprintf(stderr, "usage: wire [--dump QUEUE [body|routing_key|"
		    "header:NAME] | --count QUEUE | --delete NAME...]\n");
		return 2;
	}
	if (builddir == NULL) {
		check(0, "EVBUS_BUILDDIR is not set (run through make check)");
		return finish();
	}
	/* A hung broker or binary fails the test instead of the run. */
	alarm(180);

	snprintf(ex, sizeof(ex), "wire.%ld", (long)getpid());
	snprintf(ex_empty, sizeof(ex_empty), "%s.unrouted", ex);
	snprintf(q, sizeof(q), "%s.q", ex);
	snprintf(ctl, sizeof(ctl), "%s/evbusctl", builddir);

	rc = connect_url(&a, url, "evbus-wire-test");
	check(rc == 0, "connect to the test broker%s%s", rc ? ": " : "",
	    rc ? a.err : "");
	if (rc != 0)
		return finish();
	/* The exchange as evbus and eventsource-py declare it by default. */
	rc = amqp_exchange_declare(a.conn, CH_GET, amqp_cstring_bytes(ex),
	    amqp_cstring_bytes("topic"), 0, 1, 0, 0, amqp_empty_table) != NULL;
	rc = rc && amqp_exchange_declare(a.conn, CH_GET,
	    amqp_cstring_bytes(ex_empty), amqp_cstring_bytes("topic"), 0, 1, 0,
	    0, amqp_empty_table) != NULL;
	rc = rc && amqp_queue_declare(a.conn, CH_GET, amqp_cstring_bytes(q), 0,
	    0, 0, 0, amqp_empty_table) != NULL;
	rc = rc && amqp_queue_bind(a.conn, CH_GET, amqp_cstring_bytes(q),
	    amqp_cstring_bytes(ex), amqp_cstring_bytes("#"),
	    amqp_empty_table) != NULL;
	if (!rc)
		evbus_amqp_fail_last(&a, CH_GET, "declare");
	check(rc, "declare topic exchange %s and queue %s bound with \"#\"%s%s",
	    ex, q, rc ? "" : ": ", rc ? "" : a.err);
	if (!rc)
		goto out;

	/* 1. The C API. */
	memset(&w, 0, sizeof(w));
	w.exchange = ex;
	w.routing_key = "Order.OrderCreated";
	w.body = example;
	w.message_id = "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b";
	w.timestamp = 1741964966;
	w.payload_keys = example_payload;
	w.npayload = NELEM(example_payload);
	w.hdrs = example_hdrs;
	w.nhdrs = NELEM(example_hdrs);

	memset(&res, 0xff, sizeof(res));
	rc = evbus_event_parse(example, sizeof(example) - 1, 0, &ev, err,
	    sizeof(err));
	check(rc == 0, "C API: parse the wire spec 3.2 example%s%s",
	    rc ? ": " : "", rc ? err : "");
	if (rc == 0) {
		rc = evbus_msg_build(&m, &ev, NULL, NULL, err, sizeof(err));
		check(rc == 0, "C API: evbus_msg_build%s%s", rc ? ": " : "",
		    rc ? err : "");
		rc = rc || evbus_pub_init(&pub, &a, CH_PUB, 10, 30,
		    on_confirm, &res) != 0;
		if (rc == 0) {
			rc = evbus_pub_send(&pub, ex, m.routing_key, &m.props,
			    m.body, m.body_len, 0);
			rc = rc || evbus_pub_flush(&pub);
			check(rc == 0 && res.st[0] == EVBUS_PUB_CONFIRMED,
			    "C API: published with mandatory and a publisher "
			    "confirm (status %d%s%s)", res.st[0],
			    rc ? ": " : "", rc ? a.err : "");
			/* Unroutable: returned, not counted as published. */
			evbus_pub_send(&pub, ex_empty, m.routing_key, &m.props,
			    m.body, m.body_len, 1);
			evbus_pub_flush(&pub);
			check(res.st[1] == EVBUS_PUB_RETURNED &&
			    pub.confirmed == 1 && pub.returned == 1,
			    "C API: unroutable publish reported returned "
			    "(status %d, confirmed %" PRIu64 ", returned %"
			    PRIu64 ")", res.st[1], pub.confirmed,
			    pub.returned);
			evbus_pub_free(&pub);
		}
		evbus_msg_free(&m);
		evbus_event_free(&ev);
	}
	rc = get_one(&a, q, &msg, &g);
	check(rc == 0, "C API: basic.get the message back%s%s",
	    rc ? ": " : "", rc ? a.err : "");
	if (rc == -1)
		goto out;
	if (rc == 0) {
		check_message("C API", &g, &msg, &w);
		amqp_destroy_message(&msg);
		free_get(&g);
	}

	/* 2. The real binary, with its own temporary configuration. */
	snprintf(conf, sizeof(conf), "/tmp/evbus-wire.XXXXXX");
	if ((fd = mkstemp(conf)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		check(0, "create a temporary configuration: %s",
		    strerror(errno));
		goto out;
	}
	fprintf(fp, "exchange_name = \"%s\";\nexchange_type = \"topic\";\n"
	    "heartbeat = 10;\n", ex);
	fclose(fp);

	for (i = 0; i < 2; i++) {
		const char *input = i == 0 ? example : odd_in;

		snprintf(who, sizeof(who), "evbusctl%s", i ? " (normalised)" :
		    "");
		args[0] = ctl;
		args[1] = (char *)"--url";
		args[2] = (char *)url;
		args[3] = (char *)"-f";
		args[4] = conf;
		args[5] = (char *)"publish";
		args[6] = (char *)input;
		args[7] = NULL;
		rc = run(args, out, sizeof(out));
		check(rc == 0 && strstr(out, "published 1 of 1") != NULL,
		    "%s: publish exits 0 with \"published 1 of 1\" (exit %d)",
		    who, rc);
		if (rc != 0)
			printf("# %s", out);
		rc = get_one(&a, q, &msg, &g);
		check(rc == 0, "%s: basic.get the message back%s%s", who,
		    rc ? ": " : "", rc ? a.err : "");
		if (rc == -1)
			goto out_conf;
		if (rc != 0)
			continue;
		if (i == 1) {
			w.routing_key = "Order.OrderShipped";
			w.body = odd_out;
			w.message_id = "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6c";
			w.payload_keys = odd_payload;
			w.npayload = NELEM(odd_payload);
			w.hdrs = odd_hdrs;
			w.nhdrs = NELEM(odd_hdrs);
		}
		check_message(who, &g, &msg, &w);
		amqp_destroy_message(&msg);
		free_get(&g);
	}

	/* 3. Unroutable through the binary: failed, exit 1, not counted. */
	fp = fopen(conf, "w");
	if (fp != NULL) {
		fprintf(fp, "exchange_name = \"%s\";\n", ex_empty);
		fclose(fp);
	}
	args[6] = (char *)example;
	rc = run(args, out, sizeof(out));
	check(rc == 1 && strstr(out, "published 0 of 1") != NULL,
	    "evbusctl: unroutable publish exits 1 with \"published 0 of 1\" "
	    "(exit %d)", rc);
	check(strstr(out, "312") != NULL || strstr(out, "NO_ROUTE") != NULL ||
	    strstr(out, "unroutable") != NULL,
	    "evbusctl: says why (returned unroutable)");
	if (rc != 1 || strstr(out, "published 0 of 1") == NULL)
		printf("# %s", out);

	/* Nothing else arrived: each publish above gave exactly one copy. */
	check(queue_count(&a, q) == 0, "no extra copies in %s", q);

out_conf:
	unlink(conf);
out:
	amqp_queue_delete(a.conn, CH_GET, amqp_cstring_bytes(q), 0, 0);
	amqp_exchange_delete(a.conn, CH_GET, amqp_cstring_bytes(ex), 0);
	amqp_exchange_delete(a.conn, CH_GET, amqp_cstring_bytes(ex_empty), 0);
	evbus_amqp_channel_close(&a, CH_PUB);
	evbus_amqp_channel_close(&a, CH_GET);
	evbus_amqp_close(&a);
	return finish();
}
