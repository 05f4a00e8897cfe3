/*
 * test_message.c: an event as an AMQP message (shared/message.c) against
 * wire spec 3.3-3.5, and the header readers and editor the consumer, the
 * retry path and the DLQ tools use.
 *
 * Every expectation comes from the wire spec (what eventsource-py 0.14
 * with pamqp 3.3 puts on the wire), not from the code under test.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "event.h"
#include "message.h"

/* Wire spec 3.2: the verified example body, byte for byte. */
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

#define EX_EVENT_ID	"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b"
#define EX_AGG_ID	"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5"
#define EX_TENANT	"11111111-2222-4333-8444-555555555555"
#define EX_CORR		"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
#define EX_TIMESTAMP	1741964966ULL	/* wire spec 3.5 */

/* A minimal event body with the parts the tables vary. */
#define EV_HEAD								\
	"{\"event_id\":\"" EX_EVENT_ID "\",\"event_type\":\"OrderCreated\","\
	"\"aggregate_id\":\"" EX_AGG_ID "\",\"aggregate_type\":\"Order\","

#define TP_GOOD	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

/* Parse json (FILL_DEFAULTS) into ev; CUnit failure and -1 if it fails. */
static int
parse(const char *json, struct evbus_event *ev)
{
	char	 err[256];

	if (evbus_event_parse(json, strlen(json), EVBUS_EVENT_FILL_DEFAULTS,
	    ev, err, sizeof(err)) == -1) {
		cu_failf("parse %.80s: %s", json, err);
		return -1;
	}
	return 0;
}

static const char *
kind_name(uint8_t kind)
{
	static char	 buf[8];

	snprintf(buf, sizeof(buf), "'%c'", kind);
	return buf;
}

static int
bytes_eq(amqp_bytes_t b, const char *s)
{
	return b.len == strlen(s) && memcmp(b.bytes, s, b.len) == 0;
}

static const char *
bstr(amqp_bytes_t b)
{
	static char	 buf[256];

	return evbus_amqp_bytes_str(b, buf, sizeof(buf));
}

/* ---------------------------------------------------------------------- */
/* evbus_msg_build on the wire spec example */

struct prop_case {
	const char	*name;
	amqp_flags_t	 flag;
	int		 present;
};

/* Wire spec 3.3: which properties Python sets and which it leaves out. */
static const struct prop_case prop_cases[] = {
	{ "content_type", AMQP_BASIC_CONTENT_TYPE_FLAG, 1 },
	{ "content_encoding", AMQP_BASIC_CONTENT_ENCODING_FLAG, 1 },
	{ "headers", AMQP_BASIC_HEADERS_FLAG, 1 },
	{ "delivery_mode", AMQP_BASIC_DELIVERY_MODE_FLAG, 1 },
	{ "priority", AMQP_BASIC_PRIORITY_FLAG, 1 },
	{ "message_id", AMQP_BASIC_MESSAGE_ID_FLAG, 1 },
	{ "timestamp", AMQP_BASIC_TIMESTAMP_FLAG, 1 },
	{ "correlation_id", AMQP_BASIC_CORRELATION_ID_FLAG, 0 },
	{ "reply_to", AMQP_BASIC_REPLY_TO_FLAG, 0 },
	{ "expiration", AMQP_BASIC_EXPIRATION_FLAG, 0 },
	{ "type", AMQP_BASIC_TYPE_FLAG, 0 },
	{ "user_id", AMQP_BASIC_USER_ID_FLAG, 0 },
	{ "app_id", AMQP_BASIC_APP_ID_FLAG, 0 },
	{ "cluster_id", AMQP_BASIC_CLUSTER_ID_FLAG, 0 },
};

struct hdr_case {
	const char	*name;
	uint8_t		 kind;
	const char	*s;	/* for 'S'; NULL: do not compare */
	int64_t		 i;	/* for integer kinds */
};

/* Wire spec 3.5, plus evbus's traceparent (always injected). */
static const struct hdr_case example_headers[] = {
	{ "aggregate_id",	'S', EX_AGG_ID, 0 },
	{ "aggregate_type",	'S', "Order", 0 },
	{ "aggregate_version",	'b', NULL, 3 },
	{ "correlation_id",	'S', EX_CORR, 0 },
	{ "event_type",		'S', "OrderCreated", 0 },
	{ "tenant_id",		'S', EX_TENANT, 0 },
	{ "traceparent",	'S', NULL, 0 },
	{ "x-retry-count",	'b', NULL, 0 },
};

/* The integer in f, or INT64_MIN when f is not an integer kind. */
static int64_t
field_int(const amqp_field_value_t *f)
{
	switch (f->kind) {
	case AMQP_FIELD_KIND_I8:	return f->value.i8;
	case AMQP_FIELD_KIND_U8:	return f->value.u8;
	case AMQP_FIELD_KIND_I16:	return f->value.i16;
	case AMQP_FIELD_KIND_U16:	return f->value.u16;
	case AMQP_FIELD_KIND_I32:	return f->value.i32;
	case AMQP_FIELD_KIND_U32:	return f->value.u32;
	case AMQP_FIELD_KIND_I64:	return f->value.i64;
	default:			return INT64_MIN;
	}
}

/* Compare a header table with the expected set: names, kinds, values. */
static void
check_headers(const char *what, const amqp_table_t *t,
    const struct hdr_case *want, size_t nwant)
{
	const amqp_field_value_t *f;
	size_t			  i;

	cu_checkf((size_t)t->num_entries == nwant, "%s: %d headers, expected "
	    "%zu", what, t->num_entries, nwant);
	for (i = 0; i < (size_t)t->num_entries; i++) {
		size_t	 j;
		int	 known = 0;

		for (j = 0; j < nwant; j++)
			if (bytes_eq(t->entries[i].key, want[j].name))
				known = 1;
		cu_checkf(known, "%s: unexpected header %s", what,
		    bstr(t->entries[i].key));
	}
	for (i = 0; i < nwant; i++) {
		f = evbus_header_get(t, want[i].name);
		cu_checkf(f != NULL, "%s: header %s missing", what,
		    want[i].name);
		if (f == NULL)
			continue;
		cu_checkf(f->kind == want[i].kind, "%s: header %s kind %s, "
		    "expected '%c'", what, want[i].name, kind_name(f->kind),
		    want[i].kind);
		if (want[i].kind == 'S' && want[i].s != NULL)
			cu_checkf(f->kind == 'S' &&
			    bytes_eq(f->value.bytes, want[i].s),
			    "%s: header %s = \"%s\", expected \"%s\"", what,
			    want[i].name, f->kind == 'S' ?
			    bstr(f->value.bytes) : "?", want[i].s);
		else if (want[i].kind != 'S')
			cu_checkf(field_int(f) == want[i].i, "%s: header %s = "
			    "%" PRId64 ", expected %" PRId64, what,
			    want[i].name, field_int(f), want[i].i);
	}
}

static void
test_build_example(void)
{
	struct evbus_event	 ev;
	struct evbus_msg	 m;
	const amqp_basic_properties_t *p = &m.props;
	const amqp_field_value_t *f;
	char			 err[256];
	size_t			 i;
	int			 rv;

	rv = evbus_event_parse(example, sizeof(example) - 1, 0, &ev, err,
	    sizeof(err));
	cu_checkf(rv == 0, "parse the wire spec example: %s", err);
	if (rv != 0)
		return;
	rv = evbus_msg_build(&m, &ev, NULL, NULL, err, sizeof(err));
	cu_checkf(rv == 0, "evbus_msg_build: %s", err);
	if (rv != 0) {
		evbus_event_free(&ev);
		return;
	}

	/* 3.1 */
	cu_checkf(strcmp(m.routing_key, "Order.OrderCreated") == 0,
	    "routing key \"%s\", expected \"Order.OrderCreated\"",
	    m.routing_key);

	/* 3.3: which properties are there. */
	for (i = 0; i < sizeof(prop_cases) / sizeof(prop_cases[0]); i++)
		cu_checkf(((p->_flags & prop_cases[i].flag) != 0) ==
		    prop_cases[i].present, "property %s: %s, expected %s",
		    prop_cases[i].name, (p->_flags & prop_cases[i].flag) ?
		    "set" : "not set", prop_cases[i].present ? "set" :
		    "not set");
	/* ... and their values. */
	cu_checkf(bytes_eq(p->content_type, "application/json"),
	    "content_type \"%s\", expected \"application/json\"",
	    bstr(p->content_type));
	cu_checkf(bytes_eq(p->content_encoding, "utf-8"),
	    "content_encoding \"%s\", expected \"utf-8\"",
	    bstr(p->content_encoding));
	cu_checkf(p->delivery_mode == 2, "delivery_mode %u, expected 2",
	    p->delivery_mode);
	cu_checkf(p->priority == 0, "priority %u, expected 0", p->priority);
	cu_checkf(bytes_eq(p->message_id, EX_EVENT_ID),
	    "message_id \"%s\", expected the event_id " EX_EVENT_ID,
	    bstr(p->message_id));
	cu_checkf(p->timestamp == EX_TIMESTAMP, "timestamp %" PRIu64
	    ", expected %llu (occurred_at seconds, truncated)",
	    (uint64_t)p->timestamp, EX_TIMESTAMP);

	/* 3.4/3.5: header names, kinds and values. */
	check_headers("example", &p->headers, example_headers,
	    sizeof(example_headers) / sizeof(example_headers[0]));
	f = evbus_header_get(&p->headers, "traceparent");
	if (f != NULL && f->kind == 'S') {
		char	 tp[128];

		evbus_amqp_bytes_str(f->value.bytes, tp, sizeof(tp));
		cu_checkf(evbus_traceparent_valid(tp), "traceparent \"%s\" "
		    "is not a W3C traceparent", tp);
		cu_checkf(strncmp(tp, "00-", 3) == 0, "traceparent \"%s\": "
		    "version 00 expected", tp);
	}
	cu_checkf(evbus_header_get(&p->headers, "tracestate") == NULL,
	    "tracestate sent though none was given");
	cu_checkf(evbus_header_get(&p->headers, "causation_id") == NULL,
	    "causation_id sent though it is null");

	/* 3.2: the body is byte-identical to what pydantic writes. */
	cu_checkf(m.body != NULL && m.body_len == sizeof(example) - 1 &&
	    memcmp(m.body, example, m.body_len) == 0,
	    "body\n%.*s\nexpected\n%s", m.body ? (int)m.body_len : 6,
	    m.body ? m.body : "(null)", example);

	evbus_msg_free(&m);
	cu_checkf(m.body == NULL, "evbus_msg_free leaves body set");
	evbus_msg_free(&m);	/* twice is safe */
	evbus_event_free(&ev);
}

/* aggregate_version as the smallest signed integer type, as pamqp does. */
struct int_case {
	int64_t		 v;
	uint8_t		 kind;
};

static const struct int_case aggver_cases[] = {
	{ 1, 'b' }, { 3, 'b' }, { 127, 'b' },
	{ 128, 's' }, { 300, 's' }, { 32767, 's' },
	{ 32768, 'I' }, { 70000, 'I' }, { 2147483647, 'I' },
	{ 2147483648LL, 'l' }, { 1LL << 40, 'l' }, { INT64_MAX, 'l' },
};

static void
test_build_aggregate_version(void)
{
	struct evbus_event	 ev;
	struct evbus_msg	 m;
	const amqp_field_value_t *f;
	char			 json[512], err[256];
	size_t			 i;

	for (i = 0; i < sizeof(aggver_cases) / sizeof(aggver_cases[0]); i++) {
		const struct int_case *c = &aggver_cases[i];

		snprintf(json, sizeof(json), EV_HEAD "\"aggregate_version\":"
		    "%" PRId64 "}", c->v);
		if (parse(json, &ev) == -1)
			continue;
		if (evbus_msg_build(&m, &ev, NULL, NULL, err,
		    sizeof(err)) == -1) {
			cu_failf("aggregate_version %" PRId64 ": %s", c->v,
			    err);
			evbus_event_free(&ev);
			continue;
		}
		f = evbus_header_get(&m.props.headers, "aggregate_version");
		cu_checkf(f != NULL && f->kind == c->kind &&
		    field_int(f) == c->v, "aggregate_version %" PRId64
		    ": got %s %" PRId64 ", expected '%c'", c->v,
		    f ? kind_name(f->kind) : "none",
		    f ? field_int(f) : 0, c->kind);
		/* x-retry-count is always 0 as 'b'. */
		f = evbus_header_get(&m.props.headers, "x-retry-count");
		cu_checkf(f != NULL && f->kind == 'b' && f->value.i8 == 0,
		    "x-retry-count: got %s, expected 'b' 0",
		    f ? kind_name(f->kind) : "none");
		evbus_msg_free(&m);
		evbus_event_free(&ev);
	}
}

static const struct int_case field_int_cases[] = {
	{ 0, 'b' }, { -1, 'b' }, { -128, 'b' }, { 127, 'b' },
	{ -129, 's' }, { 128, 's' }, { INT16_MIN, 's' }, { INT16_MAX, 's' },
	{ INT16_MIN - 1, 'I' }, { INT16_MAX + 1, 'I' },
	{ INT32_MIN, 'I' }, { INT32_MAX, 'I' },
	{ (int64_t)INT32_MIN - 1, 'l' }, { (int64_t)INT32_MAX + 1, 'l' },
	{ INT64_MIN, 'l' }, { INT64_MAX, 'l' },
};

static void
test_field_int(void)
{
	amqp_field_value_t	 f;
	amqp_table_entry_t	 e;
	size_t			 i;

	for (i = 0; i < sizeof(field_int_cases) / sizeof(field_int_cases[0]);
	    i++) {
		const struct int_case *c = &field_int_cases[i];

		f = evbus_field_int(c->v);
		cu_checkf(f.kind == c->kind && field_int(&f) == c->v,
		    "evbus_field_int(%" PRId64 "): %s %" PRId64 ", expected "
		    "'%c'", c->v, kind_name(f.kind), field_int(&f), c->kind);
		e = evbus_entry_int("k", c->v);
		cu_checkf(bytes_eq(e.key, "k") && e.value.kind == c->kind &&
		    field_int(&e.value) == c->v, "evbus_entry_int(%" PRId64
		    "): %s", c->v, kind_name(e.value.kind));
	}
	e = evbus_entry_str("key", "value");
	cu_checkf(bytes_eq(e.key, "key") && e.value.kind == 'S' &&
	    bytes_eq(e.value.value.bytes, "value"), "evbus_entry_str: %s %s",
	    kind_name(e.value.kind), bstr(e.value.value.bytes));
}

/* tenant_id and causation_id only when set; correlation_id always. */
struct opt_case {
	const char	*what;
	const char	*json;		/* after EV_HEAD */
	int		 tenant, causation;
};

static const struct opt_case opt_cases[] = {
	{ "neither", "\"aggregate_version\":1}", 0, 0 },
	{ "null tenant and causation",
	  "\"tenant_id\":null,\"causation_id\":null}", 0, 0 },
	{ "tenant only", "\"tenant_id\":\"" EX_TENANT "\"}", 1, 0 },
	{ "causation only", "\"causation_id\":\"" EX_CORR "\"}", 0, 1 },
	{ "both", "\"tenant_id\":\"" EX_TENANT "\",\"causation_id\":\""
	  EX_CORR "\"}", 1, 1 },
};

static void
test_build_optional_headers(void)
{
	struct evbus_event	 ev;
	struct evbus_msg	 m;
	const amqp_field_value_t *f;
	char			 json[512], err[256];
	size_t			 i;

	for (i = 0; i < sizeof(opt_cases) / sizeof(opt_cases[0]); i++) {
		const struct opt_case *c = &opt_cases[i];

		snprintf(json, sizeof(json), "%s%s", EV_HEAD, c->json);
		if (parse(json, &ev) == -1)
			continue;
		if (evbus_msg_build(&m, &ev, NULL, NULL, err,
		    sizeof(err)) == -1) {
			cu_failf("%s: %s", c->what, err);
			evbus_event_free(&ev);
			continue;
		}
		f = evbus_header_get(&m.props.headers, "tenant_id");
		cu_checkf((f != NULL) == c->tenant, "%s: tenant_id header %s",
		    c->what, f ? "present" : "absent");
		if (f != NULL)
			cu_checkf(f->kind == 'S' &&
			    bytes_eq(f->value.bytes, EX_TENANT),
			    "%s: tenant_id %s", c->what, kind_name(f->kind));
		f = evbus_header_get(&m.props.headers, "causation_id");
		cu_checkf((f != NULL) == c->causation, "%s: causation_id "
		    "header %s", c->what, f ? "present" : "absent");
		if (f != NULL)
			cu_checkf(f->kind == 'S' &&
			    bytes_eq(f->value.bytes, EX_CORR),
			    "%s: causation_id %s", c->what, kind_name(f->kind));
		/* correlation_id: filled in when missing, always sent. */
		f = evbus_header_get(&m.props.headers, "correlation_id");
		cu_checkf(f != NULL && f->kind == 'S' &&
		    bytes_eq(f->value.bytes, ev.correlation_id) &&
		    strlen(ev.correlation_id) == 36, "%s: correlation_id "
		    "header %s, event has \"%s\"", c->what,
		    f ? bstr(f->value.bytes) : "absent", ev.correlation_id);
		/* The AMQP correlation_id property stays unset. */
		cu_checkf(!(m.props._flags & AMQP_BASIC_CORRELATION_ID_FLAG),
		    "%s: correlation_id property set", c->what);
		/* The body still has exactly one tenant_id/causation_id. */
		cu_checkf(strstr(m.body, c->tenant ? "\"tenant_id\":\""
		    EX_TENANT "\"" : "\"tenant_id\":null") != NULL,
		    "%s: body %s", c->what, m.body);
		evbus_msg_free(&m);
		evbus_event_free(&ev);
	}
}

/* The timestamp property: occurred_at in UTC seconds, truncated. */
struct ts_case {
	const char	*occurred_at;
	uint64_t	 ts;
};

static const struct ts_case ts_cases[] = {
	{ "2025-03-14T15:09:26.535897Z", 1741964966 },
	{ "2025-03-14T15:09:26.999999Z", 1741964966 },	/* not rounded */
	{ "2025-03-14T15:09:26Z", 1741964966 },
	{ "2025-03-14T16:09:26.5+01:00", 1741964966 },	/* to UTC */
	{ "2025-03-14T15:09:26", 1741964966 },		/* naive = UTC */
	{ "1970-01-01T00:00:00Z", 0 },
	{ "2038-01-19T03:14:08Z", 2147483648ULL },	/* past 32 bits */
};

static void
test_build_timestamp(void)
{
	struct evbus_event	 ev;
	struct evbus_msg	 m;
	char			 json[512], err[256];
	size_t			 i;

	for (i = 0; i < sizeof(ts_cases) / sizeof(ts_cases[0]); i++) {
		snprintf(json, sizeof(json), EV_HEAD "\"occurred_at\":\"%s\"}",
		    ts_cases[i].occurred_at);
		if (parse(json, &ev) == -1)
			continue;
		if (evbus_msg_build(&m, &ev, NULL, NULL, err,
		    sizeof(err)) == 0) {
			cu_checkf((m.props._flags &
			    AMQP_BASIC_TIMESTAMP_FLAG) &&
			    m.props.timestamp == ts_cases[i].ts,
			    "occurred_at %s: timestamp %" PRIu64 ", expected "
			    "%" PRIu64, ts_cases[i].occurred_at,
			    (uint64_t)m.props.timestamp, ts_cases[i].ts);
			evbus_msg_free(&m);
		} else
			cu_failf("occurred_at %s: %s", ts_cases[i].occurred_at,
			    err);
		evbus_event_free(&ev);
	}
}

/* The traceparent header of m into tp (64 bytes); 0 or -1 if absent. */
static int
msg_traceparent(const struct evbus_msg *m, char *tp)
{
	const amqp_field_value_t *f;

	f = evbus_header_get(&m->props.headers, "traceparent");
	if (f == NULL || f->kind != 'S')
		return -1;
	evbus_amqp_bytes_str(f->value.bytes, tp, 64);
	return 0;
}

static void
test_build_trace(void)
{
	struct evbus_event	 ev;
	struct evbus_msg	 m, m2;
	const amqp_field_value_t *f;
	char			 err[256], tp[64], tp2[64], big[600];

	if (parse(example, &ev) == -1)
		return;

	/* No parent: a new root, a different trace each time. */
	CU_ASSERT_EQUAL_FATAL(evbus_msg_build(&m, &ev, NULL, NULL, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(evbus_msg_build(&m2, &ev, NULL, NULL, err,
	    sizeof(err)), 0);
	if (msg_traceparent(&m, tp) == 0 && msg_traceparent(&m2, tp2) == 0) {
		cu_checkf(evbus_traceparent_valid(tp) &&
		    evbus_traceparent_valid(tp2), "root traceparents %s %s",
		    tp, tp2);
		cu_checkf(memcmp(tp + 3, tp2 + 3, 32) != 0, "two roots share "
		    "the trace id: %s %s", tp, tp2);
	} else
		cu_failf("no traceparent header on a root publish");
	evbus_msg_free(&m);
	evbus_msg_free(&m2);

	/* A parent: same trace id and flags, a new span id. */
	CU_ASSERT_EQUAL_FATAL(evbus_msg_build(&m, &ev, TP_GOOD,
	    "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7", err, sizeof(err)), 0);
	if (msg_traceparent(&m, tp) == 0) {
		cu_checkf(evbus_traceparent_valid(tp), "child traceparent "
		    "%s is not valid", tp);
		cu_checkf(strncmp(tp, "00-", 3) == 0 &&
		    memcmp(tp + 3, TP_GOOD + 3, 32) == 0,
		    "child %s does not continue trace %.32s", tp, TP_GOOD + 3);
		cu_checkf(memcmp(tp + 36, TP_GOOD + 36, 16) != 0,
		    "child %s reuses the parent's span id", tp);
		cu_checkf(strcmp(tp + 53, "01") == 0, "child %s lost the "
		    "sampled flag", tp);
	} else
		cu_failf("no traceparent header on a child publish");
	f = evbus_header_get(&m.props.headers, "tracestate");
	cu_checkf(f != NULL && f->kind == 'S' && bytes_eq(f->value.bytes,
	    "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
	    "tracestate %s, expected it passed through",
	    f ? bstr(f->value.bytes) : "absent");
	evbus_msg_free(&m);

	/* An unsampled parent stays unsampled. */
	CU_ASSERT_EQUAL_FATAL(evbus_msg_build(&m, &ev,
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", NULL,
	    err, sizeof(err)), 0);
	if (msg_traceparent(&m, tp) == 0)
		cu_checkf(strcmp(tp + 53, "00") == 0, "flags of %s, expected "
		    "00 as the parent's", tp);
	evbus_msg_free(&m);

	/* An invalid parent or an oversized tracestate is refused. */
	err[0] = '\0';
	cu_checkf(evbus_msg_build(&m, &ev, "00-xyz", NULL, err,
	    sizeof(err)) == -1 && strstr(err, "traceparent") != NULL,
	    "invalid parent accepted or err \"%s\" does not name it", err);
	evbus_msg_free(&m);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err[0] = '\0';
	cu_checkf(evbus_msg_build(&m, &ev, NULL, big, err, sizeof(err)) ==
	    -1 && strstr(err, "tracestate") != NULL, "600-byte tracestate "
	    "accepted or err \"%s\" does not name it", err);
	evbus_msg_free(&m);
	evbus_event_free(&ev);
}

static void
test_build_routing_key_too_long(void)
{
	struct evbus_event	 ev;
	struct evbus_msg	 m;
	char			 json[1024], agg[300], err[256];

	/* 250 + "." + 12 > 255 */
	memset(agg, 'A', 250);
	agg[250] = '\0';
	snprintf(json, sizeof(json), "{\"event_type\":\"OrderCreated\","
	    "\"aggregate_id\":\"" EX_AGG_ID "\",\"aggregate_type\":\"%s\"}",
	    agg);
	if (parse(json, &ev) == -1)
		return;
	err[0] = '\0';
	cu_checkf(evbus_msg_build(&m, &ev, NULL, NULL, err, sizeof(err)) ==
	    -1 && strstr(err, "routing key") != NULL, "a 263-byte routing "
	    "key accepted, or err \"%s\"", err);
	evbus_msg_free(&m);
	evbus_event_free(&ev);

	/* Exactly 255 is fine. */
	memset(agg, 'A', 242);
	agg[242] = '\0';
	snprintf(json, sizeof(json), "{\"event_type\":\"OrderCreated\","
	    "\"aggregate_id\":\"" EX_AGG_ID "\",\"aggregate_type\":\"%s\"}",
	    agg);
	if (parse(json, &ev) == -1)
		return;
	cu_checkf(evbus_msg_build(&m, &ev, NULL, NULL, err, sizeof(err)) ==
	    0 && strlen(m.routing_key) == 255, "a 255-byte routing key: %s",
	    err);
	evbus_msg_free(&m);
	evbus_event_free(&ev);
}

/* ---------------------------------------------------------------------- */
/* evbus_header_int / evbus_header_str on every AMQP field kind */

struct read_case {
	const char		*what;
	amqp_field_value_t	 f;
	int			 rv;	/* of evbus_header_int */
	int64_t			 v;
	int			 srv;	/* of evbus_header_str */
};

#define F(k, member, val)	{ .kind = (k), .value = { .member = (val) } }
#define FB(k, str)		{ .kind = (k), .value = { .bytes =	\
				  { sizeof(str) - 1, (void *)(str) } } }

static const struct read_case read_cases[] = {
	/* Every integer width, each extreme (Python: int as is). */
	{ "b -128",	F('b', i8, INT8_MIN), 0, INT8_MIN, -1 },
	{ "b 3",	F('b', i8, 3), 0, 3, -1 },
	{ "B 255",	F('B', u8, 255), 0, 255, -1 },
	{ "s -32768",	F('s', i16, INT16_MIN), 0, INT16_MIN, -1 },
	{ "u 65535",	F('u', u16, 65535), 0, 65535, -1 },
	{ "I -2^31",	F('I', i32, INT32_MIN), 0, INT32_MIN, -1 },
	{ "i 2^32-1",	F('i', u32, UINT32_MAX), 0, UINT32_MAX, -1 },
	{ "l -2^63",	F('l', i64, INT64_MIN), 0, INT64_MIN, -1 },
	{ "l 2^40",	F('l', i64, 1LL << 40), 0, 1LL << 40, -1 },
	{ "L 2^63-1",	F('L', u64, INT64_MAX), 0, INT64_MAX, -1 },
	{ "L 2^64-1",	F('L', u64, UINT64_MAX), -1, 0, -1 },
	/* Booleans are ints in Python. */
	{ "t true",	F('t', boolean, 1), 0, 1, -1 },
	{ "t false",	F('t', boolean, 0), 0, 0, -1 },
	/* Strings: int(str(value)). */
	{ "S \"7\"",	FB('S', "7"), 0, 7, 0 },
	{ "S \" 7\"",	FB('S', " 7"), 0, 7, 0 },
	{ "S \"7 \"",	FB('S', "7 "), 0, 7, 0 },
	{ "S \"+7\"",	FB('S', "+7"), 0, 7, 0 },
	{ "S \"\\t7\\n\"", FB('S', "\t7\n"), 0, 7, 0 },
	{ "S \"-2\"",	FB('S', "-2"), 0, -2, 0 },
	{ "S \"0\"",	FB('S', "0"), 0, 0, 0 },
	{ "S \"x\"",	FB('S', "x"), -1, 0, 0 },
	{ "S \"\"",	FB('S', ""), -1, 0, 0 },
	{ "S \" \"",	FB('S', " "), -1, 0, 0 },
	{ "S \"  \"",	FB('S', "  "), -1, 0, 0 },
	{ "S \"+\"",	FB('S', "+"), -1, 0, 0 },
	{ "S \"- 1\"",	FB('S', "- 1"), -1, 0, 0 },
	{ "S \"7x\"",	FB('S', "7x"), -1, 0, 0 },
	{ "S \"1.0\"",	FB('S', "1.0"), -1, 0, 0 },
	{ "S \"0x10\"",	FB('S', "0x10"), -1, 0, 0 },
	{ "S \"7\\0\"",	FB('S', "7\0"), -1, 0, 0 },
	{ "S \"7\\0 8\"", FB('S', "7\0 8"), -1, 0, 0 },
	{ "S 2^64",	FB('S', "18446744073709551616"), -1, 0, 0 },
	/* Python: int(str(b"7")) is int("b'7'"): ValueError. */
	{ "x \"7\"",	FB('x', "7"), -1, 0, -1 },
	{ "x \"x\"",	FB('x', "x"), -1, 0, -1 },
	/* Floats and the rest: int(str(1.0)) is int("1.0"): ValueError. */
	{ "f 1.0",	F('f', f32, 1.0f), -1, 0, -1 },
	{ "d 1.0",	F('d', f64, 1.0), -1, 0, -1 },
	{ "d 0.0",	F('d', f64, 0.0), -1, 0, -1 },
	{ "D 1",	{ .kind = 'D', .value = { .decimal = { 0, 1 } } },
	  -1, 0, -1 },
	/* A timestamp is a datetime to Python, not an int. */
	{ "T 7",	F('T', u64, 7), -1, 0, -1 },
	{ "V void",	{ .kind = 'V' }, -1, 0, -1 },
	{ "F table",	{ .kind = 'F' }, -1, 0, -1 },
	{ "A array",	{ .kind = 'A' }, -1, 0, -1 },
};

static void
test_header_read(void)
{
	amqp_table_entry_t	 e[3];
	amqp_table_t		 t;
	int64_t			 v;
	char			 buf[64];
	size_t			 i;
	int			 rv;

	for (i = 0; i < sizeof(read_cases) / sizeof(read_cases[0]); i++) {
		const struct read_case *c = &read_cases[i];

		/* The wanted key among others, not first. */
		e[0] = evbus_entry_str("other", "1");
		e[1].key = amqp_cstring_bytes("x-retry-count");
		e[1].value = c->f;
		e[2] = evbus_entry_int("x-retry-count-2", 99);
		t.num_entries = 3;
		t.entries = e;
		v = 12345;
		rv = evbus_header_int(&t, "x-retry-count", &v);
		if (c->rv == 0)
			cu_checkf(rv == 0 && v == c->v, "header_int(%s): "
			    "returned %d with %" PRId64 ", expected 0 with %"
			    PRId64, c->what, rv, v, c->v);
		else
			cu_checkf(rv == c->rv, "header_int(%s): returned %d "
			    "(value %" PRId64 "), expected %d", c->what, rv,
			    v, c->rv);
		buf[0] = '\0';
		rv = evbus_header_str(&t, "x-retry-count", buf, sizeof(buf));
		cu_checkf(rv == c->srv, "header_str(%s): returned %d, "
		    "expected %d", c->what, rv, c->srv);
		if (c->srv == 0)
			cu_checkf(memcmp(buf, c->f.value.bytes.bytes,
			    c->f.value.bytes.len) == 0 &&
			    strlen(buf) <= c->f.value.bytes.len,
			    "header_str(%s): \"%s\"", c->what, buf);
	}
}

static void
test_header_absent(void)
{
	amqp_table_entry_t	 e[2];
	amqp_table_t		 t, empty = { 0, NULL };
	int64_t			 v = 42;
	char			 buf[16] = "unchanged";

	e[0] = evbus_entry_int("x-retry-count-x", 1);
	e[1] = evbus_entry_int("x-retry-coun", 1);	/* prefix only */
	t.num_entries = 2;
	t.entries = e;
	cu_checkf(evbus_header_int(&t, "x-retry-count", &v) == 1 && v == 42,
	    "absent int: not 1, or the value was changed to %" PRId64, v);
	cu_checkf(evbus_header_int(&empty, "x-retry-count", &v) == 1,
	    "absent int in an empty table");
	cu_checkf(evbus_header_int(NULL, "x-retry-count", &v) == 1,
	    "absent int in no table");
	cu_checkf(evbus_header_str(&t, "event_type", buf, sizeof(buf)) == 1 &&
	    strcmp(buf, "unchanged") == 0, "absent str: not 1, or buf "
	    "changed to \"%s\"", buf);
	cu_checkf(evbus_header_str(NULL, "event_type", buf, sizeof(buf)) == 1,
	    "absent str in no table");
	cu_checkf(evbus_header_get(&t, "x-retry-count") == NULL,
	    "evbus_header_get matched a longer or shorter key");
	cu_checkf(evbus_header_get(&t, "x-retry-coun") == &e[1].value,
	    "evbus_header_get missed an exact key");
}

static void
test_header_str_truncates(void)
{
	amqp_table_entry_t	 e;
	amqp_table_t		 t = { 1, &e };
	char			 buf[6];

	e = evbus_entry_str("event_type", "OrderCreated");
	memset(buf, 'z', sizeof(buf));
	cu_checkf(evbus_header_str(&t, "event_type", buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "Order") == 0, "truncated to \"%.6s\", expected "
	    "\"Order\"", buf);
}

/* ---------------------------------------------------------------------- */
/* evbus_headers_edit */

struct edit_case {
	const char	*what;
	const char	*in;	/* "a=1 b=2"; NULL: no table */
	const char	*set;
	const char	*del;	/* names */
	int		 max;
	const char	*want;	/* NULL: -1 expected */
};

static const struct edit_case edit_cases[] = {
	{ "copy", "a=1 b=2 c=3", "", "", 8, "a=1 b=2 c=3" },
	{ "replace keeps the others in order", "a=1 b=2 c=3", "b=20", "", 8,
	  "a=1 c=3 b=20" },
	{ "append", "a=1 b=2", "x-retry-count=1", "", 8,
	  "a=1 b=2 x-retry-count=1" },
	{ "replace and append, set order", "a=1 b=2 c=3", "z=9 a=10", "", 8,
	  "b=2 c=3 z=9 a=10" },
	{ "delete", "a=1 b=2 c=3", "", "b", 8, "a=1 c=3" },
	{ "delete absent names", "a=1 b=2", "", "q r", 8, "a=1 b=2" },
	{ "delete all", "a=1 b=2", "", "a b", 8, "" },
	{ "delete and set the same name: set wins", "a=1 b=2", "b=5", "b", 8,
	  "a=1 b=5" },
	{ "prefix is not the name", "ab=1 a=2", "a=3", "", 8, "ab=1 a=3" },
	{ "no input table", NULL, "a=1 b=2", "", 8, "a=1 b=2" },
	{ "empty input table", "", "a=1", "", 8, "a=1" },
	{ "nothing at all", "", "", "", 0, "" },
	{ "exactly fits", "a=1 b=2", "c=3", "", 3, "a=1 b=2 c=3" },
	{ "overflow by the set", "a=1 b=2", "c=3", "", 2, NULL },
	{ "overflow by the input", "a=1 b=2 c=3", "", "", 2, NULL },
	{ "a deletion makes room", "a=1 b=2 c=3", "d=4", "a", 3,
	  "b=2 c=3 d=4" },
	{ "a replacement needs no room", "a=1 b=2 c=3", "a=7", "", 3,
	  "b=2 c=3 a=7" },
};

/* Parse "a=1 b=2" into entries (keys point into store). */
static int
mk_entries(const char *spec, amqp_table_entry_t *e, char *store, size_t len)
{
	char	*tok, *eq, *save = NULL;
	int	 n = 0;

	snprintf(store, len, "%s", spec);
	for (tok = strtok_r(store, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		if ((eq = strchr(tok, '=')) != NULL)
			*eq++ = '\0';
		e[n].key = amqp_cstring_bytes(tok);
		e[n].value = evbus_field_int(eq ? atoi(eq) : 0);
		n++;
	}
	return n;
}

static void
test_headers_edit(void)
{
	amqp_table_entry_t	 in[8], set[8], out[8];
	amqp_table_t		 tin = { 0, NULL };
	const char		*del[8];
	char			 sin[128], sset[128], sdel[128], got[256];
	char			*tok, *save = NULL;
	size_t			 i;
	int			 nset, ndel, n, j;

	for (i = 0; i < sizeof(edit_cases) / sizeof(edit_cases[0]); i++) {
		const struct edit_case *c = &edit_cases[i];

		if (c->in != NULL) {
			tin.num_entries = mk_entries(c->in, in, sin,
			    sizeof(sin));
			tin.entries = in;
		}
		nset = mk_entries(c->set, set, sset, sizeof(sset));
		snprintf(sdel, sizeof(sdel), "%s", c->del);
		ndel = 0;
		for (tok = strtok_r(sdel, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save))
			del[ndel++] = tok;
		memset(out, 0, sizeof(out));
		n = evbus_headers_edit(c->in ? &tin : NULL, out, c->max, set,
		    nset, del, ndel);
		got[0] = '\0';
		for (j = 0; j < n && j < 8; j++) {
			size_t	 l = strlen(got);

			snprintf(got + l, sizeof(got) - l, "%s%.*s=%" PRId64,
			    j ? " " : "", (int)out[j].key.len,
			    (char *)out[j].key.bytes, field_int(&out[j].value));
		}
		if (c->want == NULL)
			cu_checkf(n == -1, "%s: returned %d (%s), expected -1",
			    c->what, n, got);
		else
			cu_checkf(n >= 0 && strcmp(got, c->want) == 0,
			    "%s: returned %d \"%s\", expected \"%s\"", c->what,
			    n, got, c->want);
		/* Never writes past max. */
		for (j = c->max; j < 8; j++)
			cu_checkf(out[j].key.bytes == NULL, "%s: wrote out[%d] "
			    "beyond max %d", c->what, j, c->max);
	}
}

/* ---------------------------------------------------------------------- */
/* W3C traceparent */

struct tp_case {
	const char	*what;
	const char	*s;
	int		 valid;
};

static const struct tp_case tp_cases[] = {
	{ "good", TP_GOOD, 1 },
	{ "good, unsampled",
	  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", 1 },
	{ "future version 01",
	  "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 1 },
	{ "future version cc",
	  "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 1 },
	{ "uppercase trace id",
	  "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", 0 },
	{ "uppercase span id",
	  "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", 0 },
	{ "uppercase version",
	  "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 0 },
	{ "all-zero trace id",
	  "00-00000000000000000000000000000000-00f067aa0ba902b7-01", 0 },
	{ "all-zero span id",
	  "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", 0 },
	{ "version ff",
	  "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 0 },
	{ "non-hex in trace id",
	  "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", 0 },
	{ "non-hex flags",
	  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x", 0 },
	{ "trace id 31",
	  "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", 0 },
	{ "trace id 33",
	  "00-4bf92f3577b34da6a3ce929d0e0e47361-00f067aa0ba902b7-01", 0 },
	{ "span id 15",
	  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01", 0 },
	{ "span id 17, flags 1",
	  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b71-1", 0 },
	{ "flags 1",
	  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1", 0 },
	{ "version 1",
	  "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 0 },
	{ "trailing data",
	  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", 0 },
	{ "underscores",
	  "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", 0 },
	{ "no dashes",
	  "004bf92f3577b34da6a3ce929d0e0e473600f067aa0ba902b701xxx", 0 },
	{ "hex instead of the first dash",
	  "00a4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 0 },
	{ "hex instead of the second dash",
	  "00-4bf92f3577b34da6a3ce929d0e0e4736a00f067aa0ba902b7-01", 0 },
	{ "hex instead of the third dash",
	  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7a01", 0 },
	{ "dash moved",
	  "00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01", 0 },
	{ "leading space",
	  " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 0 },
	{ "empty", "", 0 },
	{ "NULL", NULL, 0 },
};

static void
test_traceparent_valid(void)
{
	size_t	 i;
	int	 v;

	for (i = 0; i < sizeof(tp_cases) / sizeof(tp_cases[0]); i++) {
		v = evbus_traceparent_valid(tp_cases[i].s);
		cu_checkf(!!v == tp_cases[i].valid, "%s (\"%s\"): %s, "
		    "expected %s", tp_cases[i].what, tp_cases[i].s ?
		    tp_cases[i].s : "NULL", v ? "valid" : "invalid",
		    tp_cases[i].valid ? "valid" : "invalid");
	}
}

static void
test_traceparent_child(void)
{
	char	 a[EVBUS_TRACEPARENT_LEN + 1], b[EVBUS_TRACEPARENT_LEN + 1];
	size_t	 i;

	/* Roots: valid, version 00, sampled, all different. */
	CU_ASSERT_EQUAL_FATAL(evbus_traceparent_child(NULL, a), 0);
	CU_ASSERT_EQUAL_FATAL(evbus_traceparent_child(NULL, b), 0);
	cu_checkf(evbus_traceparent_valid(a) && strncmp(a, "00-", 3) == 0 &&
	    strcmp(a + 53, "01") == 0, "root %s", a);
	cu_checkf(strcmp(a, b) != 0 && memcmp(a + 3, b + 3, 32) != 0,
	    "two roots %s %s share a trace id", a, b);

	/* Children: same trace, new span, many times over. */
	for (i = 0; i < 100; i++) {
		CU_ASSERT_EQUAL_FATAL(evbus_traceparent_child(TP_GOOD, a), 0);
		if (!evbus_traceparent_valid(a) ||
		    memcmp(a + 3, TP_GOOD + 3, 32) != 0 ||
		    memcmp(a + 36, TP_GOOD + 36, 16) == 0 ||
		    strlen(a) != EVBUS_TRACEPARENT_LEN) {
			cu_failf("child of %s: %s", TP_GOOD, a);
			break;
		}
	}
	/* A future-version parent: the child is version 00. */
	CU_ASSERT_EQUAL(evbus_traceparent_child(
	    "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", a), 0);
	cu_checkf(strncmp(a, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36) == 0,
	    "child of a version-01 parent: %s", a);
	/* Invalid parents are refused. */
	for (i = 0; i < sizeof(tp_cases) / sizeof(tp_cases[0]); i++)
		if (!tp_cases[i].valid && tp_cases[i].s != NULL)
			cu_checkf(evbus_traceparent_child(tp_cases[i].s, a) ==
			    -1, "child of invalid parent (%s) accepted",
			    tp_cases[i].what);
}

static const struct cu_test build_tests[] = {
	{ "wire spec 3.5 example: key, properties, headers, body",
	  test_build_example },
	{ "aggregate_version as the smallest integer",
	  test_build_aggregate_version },
	{ "evbus_field_int and the entry helpers", test_field_int },
	{ "tenant_id/causation_id only when set, correlation_id always",
	  test_build_optional_headers },
	{ "timestamp: occurred_at seconds, truncated", test_build_timestamp },
	{ "traceparent continuation and tracestate", test_build_trace },
	{ "routing key longer than 255 bytes",
	  test_build_routing_key_too_long },
	{ NULL, NULL }
};

static const struct cu_test header_tests[] = {
	{ "header_int/header_str on every field kind", test_header_read },
	{ "absent headers", test_header_absent },
	{ "header_str truncates", test_header_str_truncates },
	{ "headers_edit: replace, append, delete, order, overflow",
	  test_headers_edit },
	{ NULL, NULL }
};

static const struct cu_test trace_tests[] = {
	{ "traceparent_valid", test_traceparent_valid },
	{ "traceparent_child", test_traceparent_child },
	{ NULL, NULL }
};

static const struct cu_suite suites[] = {
	{ "message: build", build_tests },
	{ "message: headers", header_tests },
	{ "message: trace context", trace_tests },
	{ NULL, NULL }
};

int
main(void)
{
	return cu_run(suites);
}
