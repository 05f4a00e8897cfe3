/*
 * test_event.c: the event envelope codec (shared/event.c) against wire
 * spec 3.2.  Expected outputs were produced with pydantic 2.13 from a model
 * declared like eventsource-py's DomainEvent.  The JSON dialect, UUIDs and
 * times have suites of their own (test_pyjson.c, test_uuid.c,
 * test_isotime.c); here they are tried through the envelope.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cu.h"
#include "event.h"
#include "isotime.h"
#include "pyjson.h"
#include "uuid.h"

/* The verified example of wire spec 3.2, byte for byte. */
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

/* The fields a body needs without FILL_DEFAULTS, one macro each. */
#define EID	"\"event_id\":\"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b\""
#define ETY	"\"event_type\":\"E\""
#define OCC	"\"occurred_at\":\"2025-03-14T15:09:26Z\""
#define AID	"\"aggregate_id\":\"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5\""
#define ATY	"\"aggregate_type\":\"A\""
#define CID	"\"correlation_id\":\"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9\""
#define REQ	EID "," ETY "," OCC "," AID "," ATY "," CID

/* What REQ serialises to, up to and including metadata. */
#define OUT_HEAD							\
	"{\"event_id\":\"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b\","	\
	"\"event_type\":\"E\",\"event_version\":1,"			\
	"\"occurred_at\":\"2025-03-14T15:09:26Z\","			\
	"\"aggregate_id\":\"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5\","	\
	"\"aggregate_type\":\"A\",\"aggregate_version\":1,"		\
	"\"tenant_id\":null,\"actor_id\":null,"				\
	"\"correlation_id\":\"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9\","	\
	"\"causation_id\":null,\"metadata\":{}"

#define FILL	EVBUS_EVENT_FILL_DEFAULTS

/* Parse s and serialise it back; NULL (and err set) when parsing fails. */
static char *
roundtrip(const char *s, size_t len, int flags, char *err, size_t errlen)
{
	struct evbus_event	 ev;
	char			*out;

	if (evbus_event_parse(s, len, flags, &ev, err, errlen) == -1)
		return NULL;
	out = evbus_event_serialize(&ev, NULL);
	evbus_event_free(&ev);
	if (out == NULL)
		snprintf(err, errlen, "serialize failed");
	return out;
}

static void
test_example_roundtrip(void)
{
	struct evbus_event	 ev;
	char			 err[256], rk[64], *out;
	size_t			 len;
	int			 rv;

	rv = evbus_event_parse(example, sizeof(example) - 1, 0, &ev, err,
	    sizeof(err));
	cu_checkf(rv == 0, "parse failed: %s", err);
	if (rv != 0)
		return;
	out = evbus_event_serialize(&ev, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	cu_checkf(strcmp(out, example) == 0, "expected\n%s\ngot\n%s", example,
	    out);
	cu_checkf(len == sizeof(example) - 1, "length %zu, expected %zu", len,
	    sizeof(example) - 1);
	free(out);

	cu_checkf(strcmp(ev.event_type, "OrderCreated") == 0, "event_type %s",
	    ev.event_type);
	cu_checkf(ev.event_version == 1, "event_version %lld",
	    (long long)ev.event_version);
	cu_checkf(ev.aggregate_version == 3, "aggregate_version %lld",
	    (long long)ev.aggregate_version);
	/* Wire spec 3.5: the AMQP timestamp property is 1741964966. */
	cu_checkf(ev.occurred_sec == 1741964966, "occurred_sec %lld",
	    (long long)ev.occurred_sec);
	cu_checkf(ev.occurred_usec == 535897, "occurred_usec %d",
	    (int)ev.occurred_usec);
	cu_checkf(strcmp(ev.tenant_id, "11111111-2222-4333-8444-555555555555")
	    == 0, "tenant_id %s", ev.tenant_id);
	CU_ASSERT_PTR_NULL(ev.actor_id);
	CU_ASSERT_STRING_EQUAL(ev.causation_id, "");
	CU_ASSERT_EQUAL(json_object_object_length(ev.payload), 2);
	CU_ASSERT_EQUAL(evbus_event_routing_key(&ev, rk, sizeof(rk)), 0);
	CU_ASSERT_STRING_EQUAL(rk, "Order.OrderCreated");
	evbus_event_free(&ev);

	/* FILL_DEFAULTS changes nothing that is present. */
	out = roundtrip(example, sizeof(example) - 1, FILL, err, sizeof(err));
	cu_checkf(out != NULL && strcmp(out, example) == 0,
	    "with FILL_DEFAULTS: %s", out != NULL ? out : err);
	free(out);

	/* A body that is not NUL-terminated: only len bytes are read. */
	{
		char	*copy = malloc(sizeof(example) - 1);

		CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
		memcpy(copy, example, sizeof(example) - 1);
		out = roundtrip(copy, sizeof(example) - 1, 0, err,
		    sizeof(err));
		cu_checkf(out != NULL && strcmp(out, example) == 0,
		    "unterminated input: %s", out != NULL ? out : err);
		free(out);
		free(copy);
	}
}

/* Base keys in any order, payload keys between them: the output has the
 * base keys in wire order, then the payload keys in input order. */
static void
test_key_order(void)
{
	static const char in[] =
	    "{\"zeta\":1,\"metadata\":{\"b\":1,\"a\":[2]}," CID ","
	    "\"alpha\":\"x\"," ATY ",\"causation_id\":null," AID ","
	    "\"middle\":{\"y\":null,\"x\":true}," OCC ","
	    "\"aggregate_version\":7,"
	    ETY ",\"actor_id\":\"user-1\"," EID ",\"event_version\":2,"
	    "\"tenant_id\":null,\"last\":[]}";
	static const char want[] =
	    "{\"event_id\":\"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b\","
	    "\"event_type\":\"E\",\"event_version\":2,"
	    "\"occurred_at\":\"2025-03-14T15:09:26Z\","
	    "\"aggregate_id\":\"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5\","
	    "\"aggregate_type\":\"A\",\"aggregate_version\":7,"
	    "\"tenant_id\":null,\"actor_id\":\"user-1\","
	    "\"correlation_id\":\"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9\","
	    "\"causation_id\":null,\"metadata\":{\"b\":1,\"a\":[2]},"
	    "\"zeta\":1,\"alpha\":\"x\",\"middle\":{\"y\":null,\"x\":true},"
	    "\"last\":[]}";
	char	 err[256], *out;

	out = roundtrip(in, sizeof(in) - 1, 0, err, sizeof(err));
	cu_checkf(out != NULL && strcmp(out, want) == 0,
	    "expected\n%s\ngot\n%s", want, out != NULL ? out : err);
	free(out);

	/* Whitespace in the input does not survive: output is compact. */
	out = roundtrip(" {\n\t" REQ " , \"p\" : [ 1 , 2 ] }\r\n",
	    strlen(" {\n\t" REQ " , \"p\" : [ 1 , 2 ] }\r\n"), 0, err,
	    sizeof(err));
	cu_checkf(out != NULL && strcmp(out, OUT_HEAD ",\"p\":[1,2]}") == 0,
	    "compact: %s", out != NULL ? out : err);
	free(out);

	/* A repeated key: the last value wins, as in Python. */
	out = roundtrip("{" REQ ",\"p\":1,\"p\":2}",
	    strlen("{" REQ ",\"p\":1,\"p\":2}"), 0, err, sizeof(err));
	cu_checkf(out != NULL && strcmp(out, OUT_HEAD ",\"p\":2}") == 0,
	    "duplicate: %s", out != NULL ? out : err);
	free(out);
}

static int
is_uuid4(const char *s)
{
	char	 norm[EVBUS_UUID_LEN + 1];

	return strlen(s) == 36 && evbus_uuid_normalize(s, norm) == 0 &&
	    strcmp(norm, s) == 0 && s[14] == '4' &&
	    strchr("89ab", s[19]) != NULL;
}

static void
test_defaults(void)
{
	static const char minimal[] = "{" ETY "," AID "," ATY "}";
	struct evbus_event	 ev;
	char			 err[256], *out;
	int64_t			 before, after;
	int32_t			 us;
	int			 rv;

	evbus_time_now(&before, &us);
	rv = evbus_event_parse(minimal, strlen(minimal), FILL, &ev, err,
	    sizeof(err));
	evbus_time_now(&after, &us);
	cu_checkf(rv == 0, "FILL_DEFAULTS on a minimal event: %s", err);
	if (rv != 0)
		return;
	cu_checkf(is_uuid4(ev.event_id), "event_id %s is not a uuid4",
	    ev.event_id);
	cu_checkf(is_uuid4(ev.correlation_id), "correlation_id %s is not a "
	    "uuid4", ev.correlation_id);
	CU_ASSERT_STRING_NOT_EQUAL(ev.event_id, ev.correlation_id);
	cu_checkf(ev.occurred_sec >= before && ev.occurred_sec <= after,
	    "occurred_sec %lld not in [%lld, %lld]",
	    (long long)ev.occurred_sec, (long long)before, (long long)after);
	CU_ASSERT(ev.occurred_usec >= 0 && ev.occurred_usec <= 999999);
	CU_ASSERT_EQUAL(ev.event_version, 1);
	CU_ASSERT_EQUAL(ev.aggregate_version, 1);
	CU_ASSERT_STRING_EQUAL(ev.tenant_id, "");
	CU_ASSERT_PTR_NULL(ev.actor_id);
	CU_ASSERT_STRING_EQUAL(ev.causation_id, "");
	CU_ASSERT_PTR_NOT_NULL(ev.metadata);
	CU_ASSERT_EQUAL(json_object_object_length(ev.metadata), 0);
	CU_ASSERT_EQUAL(json_object_object_length(ev.payload), 0);
	out = evbus_event_serialize(&ev, NULL);
	CU_ASSERT_PTR_NOT_NULL(out);
	if (out != NULL)
		cu_checkf(strstr(out, "\"metadata\":{}}") != NULL &&
		    strstr(out, "\"tenant_id\":null,\"actor_id\":null,") !=
		    NULL, "defaults serialised as %s", out);
	free(out);
	evbus_event_free(&ev);

	/* Two fills, two different ids. */
	{
		struct evbus_event	 ev2;
		char			 id1[EVBUS_UUID_LEN + 1];

		CU_ASSERT_EQUAL_FATAL(evbus_event_parse(minimal,
		    strlen(minimal), FILL, &ev, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL_FATAL(evbus_event_parse(minimal,
		    strlen(minimal), FILL, &ev2, err, sizeof(err)), 0);
		memcpy(id1, ev.event_id, sizeof(id1));
		CU_ASSERT_STRING_NOT_EQUAL(id1, ev2.event_id);
		evbus_event_free(&ev);
		evbus_event_free(&ev2);
	}

	/* Without FILL_DEFAULTS versions, metadata and the nullable fields
	 * still default, as they do in the Python class. */
	out = roundtrip("{" REQ "}", strlen("{" REQ "}"), 0, err, sizeof(err));
	cu_checkf(out != NULL && strcmp(out, OUT_HEAD "}") == 0,
	    "expected\n%s\ngot\n%s", OUT_HEAD "}", out != NULL ? out : err);
	free(out);
}

struct err_case {
	const char	*json;
	int		 flags;
	const char	*err;
};

/* Every validation failure, each naming its field. */
static const struct err_case err_cases[] = {
	/* event_id */
	{ "{" ETY "," OCC "," AID "," ATY "," CID "}", 0,
	  "event_id: field required" },
	{ "{" REQ ",\"event_id\":\"xyz\"}", 0,
	  "event_id: not a UUID: \"xyz\"" },
	{ "{" REQ ",\"event_id\":42}", 0, "event_id: not a UUID: 42" },
	{ "{" REQ ",\"event_id\":null}", FILL, "event_id: must not be null" },
	{ "{" REQ ",\"event_id\":\"3f2a9c1e8-b4d-4e6f-9a0b-1c2d3e4f5a6b\"}", 0,
	  "event_id: not a UUID: \"3f2a9c1e8-b4d-4e6f-9a0b-1c2d3e4f5a6b\"" },
	{ "{" REQ ",\"event_id\":\"3f2a9c1e8b4d4e6f9a0b1c2d3e4f5a6\"}", 0,
	  "event_id: not a UUID: \"3f2a9c1e8b4d4e6f9a0b1c2d3e4f5a6\"" },
	{ "{" REQ ",\"event_id\":\"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6g\"}", 0,
	  "event_id: not a UUID: \"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6g\"" },
	{ "{" REQ ",\"event_id\":\"{3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b}\"}",
	  0, "event_id: not a UUID: "
	  "\"{3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b}\"" },
	/* event_type */
	{ "{" EID "," OCC "," AID "," ATY "," CID "}", FILL,
	  "event_type: field required" },
	{ "{" REQ ",\"event_type\":\"\"}", 0,
	  "event_type: must be a non-empty string, got \"\"" },
	{ "{" REQ ",\"event_type\":5}", 0,
	  "event_type: must be a non-empty string, got 5" },
	{ "{" REQ ",\"event_type\":null}", 0,
	  "event_type: must be a non-empty string, got null" },
	{ "{" REQ ",\"event_type\":\"a\\u0000b\"}", 0,
	  "event_type: must be a non-empty string, got \"a\\u0000b\"" },
	/* event_version */
	{ "{" REQ ",\"event_version\":0}", 0,
	  "event_version: must be an integer >= 1, got 0" },
	{ "{" REQ ",\"event_version\":-3}", 0,
	  "event_version: must be an integer >= 1, got -3" },
	{ "{" REQ ",\"event_version\":1.0}", 0,
	  "event_version: must be an integer >= 1, got 1.0" },
	{ "{" REQ ",\"event_version\":true}", 0,
	  "event_version: must be an integer >= 1, got true" },
	{ "{" REQ ",\"event_version\":null}", 0,
	  "event_version: must be an integer >= 1, got null" },
	{ "{" REQ ",\"event_version\":\"0\"}", 0,
	  "event_version: must be an integer >= 1, got \"0\"" },
	{ "{" REQ ",\"event_version\":\"\"}", 0,
	  "event_version: must be an integer >= 1, got \"\"" },
	{ "{" REQ ",\"event_version\":\"1.5\"}", 0,
	  "event_version: must be an integer >= 1, got \"1.5\"" },
	{ "{" REQ ",\"event_version\":\"-1\"}", 0,
	  "event_version: must be an integer >= 1, got \"-1\"" },
	{ "{" REQ ",\"event_version\":\"99999999999999999999\"}", 0,
	  "event_version: must be an integer >= 1, got "
	  "\"99999999999999999999\"" },
	{ "{" REQ ",\"event_version\":9223372036854775808}", 0,
	  "event_version: must be an integer >= 1, got 9223372036854775808" },
	/* occurred_at */
	{ "{" EID "," ETY "," AID "," ATY "," CID "}", 0,
	  "occurred_at: field required" },
	{ "{" REQ ",\"occurred_at\":\"yesterday\"}", 0,
	  "occurred_at: not an ISO-8601 date-time: \"yesterday\"" },
	{ "{" REQ ",\"occurred_at\":1741964966}", 0,
	  "occurred_at: not an ISO-8601 date-time: 1741964966" },
	{ "{" REQ ",\"occurred_at\":null}", FILL,
	  "occurred_at: not an ISO-8601 date-time: null" },
	{ "{" REQ ",\"occurred_at\":\"2025-02-29T00:00:00Z\"}", 0,
	  "occurred_at: not an ISO-8601 date-time: \"2025-02-29T00:00:00Z\"" },
	/* aggregate_id: required even with FILL_DEFAULTS */
	{ "{" EID "," ETY "," OCC "," ATY "," CID "}", FILL,
	  "aggregate_id: field required" },
	{ "{" REQ ",\"aggregate_id\":\"xyz\"}", FILL,
	  "aggregate_id: not a UUID: \"xyz\"" },
	{ "{" REQ ",\"aggregate_id\":null}", FILL,
	  "aggregate_id: must not be null" },
	{ "{" REQ ",\"aggregate_id\":[]}", 0, "aggregate_id: not a UUID: []" },
	/* aggregate_type */
	{ "{" EID "," ETY "," OCC "," AID "," CID "}", FILL,
	  "aggregate_type: field required" },
	{ "{" REQ ",\"aggregate_type\":\"Or der\"}", 0,
	  "aggregate_type: must match ^[A-Za-z0-9_.-]+$, got \"Or der\"" },
	{ "{" REQ ",\"aggregate_type\":\"\"}", 0,
	  "aggregate_type: must match ^[A-Za-z0-9_.-]+$, got \"\"" },
	{ "{" REQ ",\"aggregate_type\":\"Ord\xc3\xa9r\"}", 0,
	  "aggregate_type: must match ^[A-Za-z0-9_.-]+$, got "
	  "\"Ord\xc3\xa9r\"" },
	{ "{" REQ ",\"aggregate_type\":\"Order\\n\"}", 0,
	  "aggregate_type: must match ^[A-Za-z0-9_.-]+$, got \"Order\\n\"" },
	{ "{" REQ ",\"aggregate_type\":7}", 0,
	  "aggregate_type: must match ^[A-Za-z0-9_.-]+$, got 7" },
	/* aggregate_version */
	{ "{" REQ ",\"aggregate_version\":0}", 0,
	  "aggregate_version: must be an integer >= 1, got 0" },
	{ "{" REQ ",\"aggregate_version\":2.5}", 0,
	  "aggregate_version: must be an integer >= 1, got 2.5" },
	{ "{" REQ ",\"aggregate_version\":\"x\"}", 0,
	  "aggregate_version: must be an integer >= 1, got \"x\"" },
	/* tenant_id */
	{ "{" REQ ",\"tenant_id\":\"nope\"}", 0,
	  "tenant_id: not a UUID: \"nope\"" },
	{ "{" REQ ",\"tenant_id\":5}", 0, "tenant_id: not a UUID: 5" },
	/* actor_id */
	{ "{" REQ ",\"actor_id\":5}", 0,
	  "actor_id: must be a string or null, got 5" },
	{ "{" REQ ",\"actor_id\":{\"id\":1}}", 0,
	  "actor_id: must be a string or null, got {\"id\":1}" },
	{ "{" REQ ",\"actor_id\":\"a\\u0000\"}", 0,
	  "actor_id: must be a string or null, got \"a\\u0000\"" },
	/* correlation_id: never null */
	{ "{" EID "," ETY "," OCC "," AID "," ATY "}", 0,
	  "correlation_id: field required" },
	{ "{" REQ ",\"correlation_id\":null}", FILL,
	  "correlation_id: must not be null" },
	{ "{" REQ ",\"correlation_id\":\"x\"}", 0,
	  "correlation_id: not a UUID: \"x\"" },
	/* causation_id */
	{ "{" REQ ",\"causation_id\":\"x\"}", 0,
	  "causation_id: not a UUID: \"x\"" },
	{ "{" REQ ",\"causation_id\":false}", 0,
	  "causation_id: not a UUID: false" },
	/* metadata */
	{ "{" REQ ",\"metadata\":null}", 0,
	  "metadata: must be a JSON object, got null" },
	{ "{" REQ ",\"metadata\":[1]}", 0,
	  "metadata: must be a JSON object, got [1]" },
	{ "{" REQ ",\"metadata\":\"{}\"}", 0,
	  "metadata: must be a JSON object, got \"{}\"" },
	{ "{" REQ ",\"metadata\":{\"a\":[1e400]}}", 0,
	  "metadata: NaN and Infinity are not allowed" },
	/* payload */
	{ "{" REQ ",\"order_number\":\"ORD-1\"}", EVBUS_EVENT_NO_EXTRA,
	  "order_number: extra field not permitted" },
	{ "{" REQ ",\"total\":1e400}", 0,
	  "total: NaN and Infinity are not allowed" },
	{ "{" REQ ",\"total\":-1e400}", 0,
	  "total: NaN and Infinity are not allowed" },
	/* body */
	{ "[]", 0, "body: not a JSON object" },
	{ "\"x\"", 0, "body: not a JSON object" },
	{ "42", 0, "body: not a JSON object" },
	{ "null", 0, "body: not a JSON object" },
	{ " true ", 0, "body: not a JSON object" },
	{ NULL, 0, NULL }
};

static void
test_errors(void)
{
	const struct err_case	*c;
	struct evbus_event	 ev;
	char			 err[512];
	int			 rv, i;

	for (c = err_cases, i = 0; c->json != NULL; c++, i++) {
		memset(err, 0, sizeof(err));
		rv = evbus_event_parse(c->json, strlen(c->json), c->flags, &ev,
		    err, sizeof(err));
		cu_checkf(rv == -1 && strcmp(err, c->err) == 0,
		    "case %d (%s): expected error\n  %s\ngot %d\n  %s", i,
		    c->json, c->err, rv, err);
		/* On failure the event is empty and safe to free. */
		CU_ASSERT(ev.event_type == NULL && ev.payload == NULL &&
		    ev.metadata == NULL && ev.event_id[0] == '\0');
		evbus_event_free(&ev);
	}
}

/* body through the worker's way: a tape, no tree (-1 with err, or 0). */
static int
tape_event(const char *body, const char *type, int flags,
    struct pyjson_tape *t, struct evbus_event *ev, char *err, size_t len)
{
	struct pyjson_error	 e;

	memset(ev, 0, sizeof(*ev));
	if (pyjson_parse_tape(body, strlen(body), t, &e) == -1)
		return evbus_json_error(&e, strlen(body), err, len);
	if (t->node[0].type != PYJSON_OBJECT) {
		snprintf(err, len, "body: not a JSON object");
		return -1;
	}
	return evbus_event_from_tape(t, type, flags, ev, err, len);
}

#define TAPE_AGG "\"aggregate_type\":\"Order\",\"aggregate_id\":" \
	"\"7D9E1F20-3a4b-4c5d-8e6f-708192a3b4c5\",\"event_id\":" \
	"\"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b\",\"correlation_id\":" \
	"\"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6c\",\"occurred_at\":" \
	"\"2024-01-01T00:00:00Z\""

/*
 * The worker's tape gives every verdict and error of the tree's way, and
 * the same event (its strings in the tape, no metadata or payload).
 */
static void
test_from_tape(void)
{
	static const char *const good[] = {
		"{\"event_type\":\"A\"," TAPE_AGG ",\"x\":[1,{\"y\":2.5}]}",
		/* The last of repeated keys wins, as in json-c's tree. */
		"{\"event_type\":\"A\",\"event_type\":\"B\"," TAPE_AGG "}",
		"{\"event_type\":\"A\"," TAPE_AGG ",\"event_version\":\"7\","
		    "\"aggregate_version\":3,\"actor_id\":\"u1\","
		    "\"tenant_id\":null,\"causation_id\":"
		    "\"3f2a9c1e8b4d4e6f9a0b1c2d3e4f5a6b\",\"metadata\":{}}",
		"{\"event_type\":\"A\"," TAPE_AGG ",\"occurred_at\":"
		    "\"2024-01-02T03:04:05.5+02:00\",\"big\":"
		    "18446744073709551615}",
	};
	static const char *const bad[] = {
		/* Above INT64_MAX is not a version. */
		"{\"event_type\":\"A\"," TAPE_AGG ",\"event_version\":"
		    "18446744073709551615}",
		/* 1e400 reads as inf: refused wherever it is. */
		"{\"event_type\":\"A\"," TAPE_AGG ",\"x\":[1e400]}",
		"{\"event_type\":\"A\"," TAPE_AGG ",\"metadata\":{\"a\":"
		    "-1e999}}",
		"{\"event_type\":\"A\\u0000B\"," TAPE_AGG "}",
		"{\"event_type\":\"A\"," TAPE_AGG ",\"metadata\":[]}",
		"{" TAPE_AGG "}",
	};
	const struct err_case	*c;
	struct pyjson_tape	 t;
	struct evbus_event	 a, b;
	char			 ea[512], eb[512];
	size_t			 i;
	int			 ra, rb;

	memset(&t, 0, sizeof(t));
	for (c = err_cases, i = 0; c->json != NULL; c++, i++) {
		eb[0] = '\0';
		rb = tape_event(c->json, NULL, c->flags, &t, &b, eb,
		    sizeof(eb));
		cu_checkf(rb == -1 && strcmp(eb, c->err) == 0,
		    "tape, case %zu (%s): expected error\n  %s\ngot %d\n  %s",
		    i, c->json, c->err, rb, eb);
		evbus_event_free(&b);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ra = evbus_event_parse(good[i], strlen(good[i]), 0, &a, ea,
		    sizeof(ea));
		rb = tape_event(good[i], NULL, 0, &t, &b, eb, sizeof(eb));
		cu_checkf(ra == 0 && rb == 0, "tape, good %zu: %d %s / %d %s",
		    i, ra, ea, rb, eb);
		if (ra == 0 && rb == 0)
			cu_checkf(strcmp(a.event_id, b.event_id) == 0 &&
			    strcmp(a.event_type, b.event_type) == 0 &&
			    a.event_version == b.event_version &&
			    a.occurred_sec == b.occurred_sec &&
			    a.occurred_usec == b.occurred_usec &&
			    strcmp(a.aggregate_id, b.aggregate_id) == 0 &&
			    strcmp(a.aggregate_type, b.aggregate_type) == 0 &&
			    a.aggregate_version == b.aggregate_version &&
			    strcmp(a.tenant_id, b.tenant_id) == 0 &&
			    (a.actor_id == NULL) == (b.actor_id == NULL) &&
			    strcmp(a.causation_id, b.causation_id) == 0 &&
			    b.borrowed && b.metadata == NULL &&
			    b.payload == NULL, "tape, good %zu: another "
			    "event", i);
		evbus_event_free(&a);
		evbus_event_free(&b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ra = evbus_event_parse(bad[i], strlen(bad[i]), 0, &a, ea,
		    sizeof(ea));
		rb = tape_event(bad[i], NULL, 0, &t, &b, eb, sizeof(eb));
		cu_checkf(ra == -1 && rb == -1 && strcmp(ea, eb) == 0,
		    "tape, bad %zu: tree %d \"%s\", tape %d \"%s\"", i, ra,
		    ea, rb, eb);
		evbus_event_free(&a);
		evbus_event_free(&b);
	}
	/* The header's type for a body without one, not over the body's. */
	rb = tape_event(bad[5], "FromHeader", 0, &t, &b, eb, sizeof(eb));
	cu_checkf(rb == 0 && strcmp(b.event_type, "FromHeader") == 0,
	    "tape: header type: %d %s", rb, rb == 0 ? b.event_type : eb);
	evbus_event_free(&b);
	rb = tape_event(good[0], "FromHeader", 0, &t, &b, eb, sizeof(eb));
	cu_checkf(rb == 0 && strcmp(b.event_type, "A") == 0,
	    "tape: body type: %d %s", rb, rb == 0 ? b.event_type : eb);
	evbus_event_free(&b);
	pyjson_tape_free(&t);
}

/* A long bad value is quoted in part, cut at a character boundary. */
static void
test_error_quote_limit(void)
{
	struct evbus_event	 ev;
	char			 in[8192], want[256], err[512], big[6001];
	int			 rv;

	memset(big, 'a', 100);
	big[100] = '\0';
	snprintf(in, sizeof(in), "{" REQ ",\"event_id\":\"%s\"}", big);
	rv = evbus_event_parse(in, strlen(in), 0, &ev, err, sizeof(err));
	/* The quote, 63 "a", "...": 64 bytes of JSON text and the mark. */
	snprintf(want, sizeof(want), "event_id: not a UUID: \"%.63s...",
	    big);
	cu_checkf(rv == -1 && strcmp(err, want) == 0, "expected %s, got %s",
	    want, err);

	/* 2000 two-byte characters: never half of one. */
	for (rv = 0; rv < 3000; rv++)
		memcpy(big + 2 * rv, "\xc3\xa9", 2);
	big[6000] = '\0';
	snprintf(in, sizeof(in), "{" REQ ",\"aggregate_type\":\"%s\"}", big);
	rv = evbus_event_parse(in, strlen(in), 0, &ev, err, sizeof(err));
	snprintf(want, sizeof(want), "aggregate_type: must match "
	    "^[A-Za-z0-9_.-]+$, got \"%.62s...", big);
	cu_checkf(rv == -1 && strcmp(err, want) == 0, "expected %s, got %s",
	    want, err);
}

/* Values that are accepted, and how they come out. */
static void
test_accepted_values(void)
{
	static const struct {
		const char	*add;	/* appended to REQ, overriding */
		const char	*want;	/* expected in the output */
	} cases[] = {
		{ ",\"event_version\":\"7\"", "\"event_version\":7," },
		{ ",\"aggregate_version\":9223372036854775807",
		  "\"aggregate_version\":9223372036854775807," },
		{ ",\"actor_id\":\"user \\\"1\\\"\"",
		  "\"actor_id\":\"user \\\"1\\\"\"," },
		{ ",\"actor_id\":null", "\"actor_id\":null," },
		{ ",\"tenant_id\":\"11111111222243338444555555555555\"",
		  "\"tenant_id\":\"11111111-2222-4333-8444-555555555555\"," },
		{ ",\"causation_id\":\"ABCDEF00-1111-4222-8333-444455556666\"",
		  "\"causation_id\":"
		  "\"abcdef00-1111-4222-8333-444455556666\"," },
		{ ",\"aggregate_type\":\"my_app.Order-2\"",
		  "\"aggregate_type\":\"my_app.Order-2\"," },
		{ ",\"event_type\":\"Caf\xc3\xa9 Ordered\"",
		  "\"event_type\":\"Caf\xc3\xa9 Ordered\"," },
		{ NULL, NULL }
	};
	char	 in[1024], err[256], *out;
	int	 i;

	for (i = 0; cases[i].add != NULL; i++) {
		snprintf(in, sizeof(in), "{" REQ "%s}", cases[i].add);
		out = roundtrip(in, strlen(in), 0, err, sizeof(err));
		cu_checkf(out != NULL && strstr(out, cases[i].want) != NULL,
		    "case %d: %s\nexpected to contain %s\ngot %s", i, in,
		    cases[i].want, out != NULL ? out : err);
		free(out);
	}
}

/* occurred_at in any form isotime.c reads comes out in pydantic's. */
static void
test_occurred_at(void)
{
	static const struct {
		const char	*in;
		const char	*want;
	} cases[] = {
		/* a sample: test_isotime.c has every rule */
		{ "2025-03-14T15:09:26.535897+05:30",
		  "2025-03-14T09:39:26.535897Z" },
		{ "2025-03-14 15:09:26z", "2025-03-14T15:09:26Z" },
		{ "2025-03-14T15:09:26", "2025-03-14T15:09:26Z" },
		{ "2025-03-14T15:09:26.000000Z", "2025-03-14T15:09:26Z" },
		{ "2025-03-14T15:09:26.5+00:00", "2025-03-14T15:09:26.500000Z" },
		{ "2025-03-14T20:09:26.25-08:00",
		  "2025-03-15T04:09:26.250000Z" },
		{ "2025-01-01T00:30:00+01:00", "2024-12-31T23:30:00Z" },
		{ "1969-12-31T23:59:59.999999Z",
		  "1969-12-31T23:59:59.999999Z" },
		{ "0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z" },
		{ NULL, NULL }
	};
	char		 in[512], err[256], *out, *p;
	int		 i;

	for (i = 0; cases[i].in != NULL; i++) {
		snprintf(in, sizeof(in), "{" REQ ",\"occurred_at\":\"%s\"}",
		    cases[i].in);
		out = roundtrip(in, strlen(in), 0, err, sizeof(err));
		p = out != NULL ? strstr(out, "\"occurred_at\":\"") : NULL;
		cu_checkf(p != NULL && strncmp(p + 15, cases[i].want,
		    strlen(cases[i].want)) == 0 &&
		    p[15 + strlen(cases[i].want)] == '"',
		    "\"%s\" through the codec: expected %s, got %s",
		    cases[i].in, cases[i].want, out != NULL ? out : err);
		free(out);
	}
}

/* Strings and numbers come out as pydantic writes them. */
static void
test_serialize_values(void)
{
	static const struct {
		const char	*in;	/* payload JSON after REQ */
		const char	*want;	/* output after OUT_HEAD */
	} cases[] = {
		/* only '"', '\\' and control characters are escaped */
		{ ",\"s\":\"a/b\\/c\"", ",\"s\":\"a/b/c\"" },
		{ ",\"s\":\"\\u0001\\u001f\\u001B\\u007f\"",
		  ",\"s\":\"\\u0001\\u001f\\u001b\x7f\"" },
		{ ",\"s\":\"\\n\\t\\b\\f\\r\\\"\\\\\"",
		  ",\"s\":\"\\n\\t\\b\\f\\r\\\"\\\\\"" },
		{ ",\"s\":\"\\u0000\"", ",\"s\":\"\\u0000\"" },
		/* non-ASCII raw, escaped or not in the input */
		{ ",\"s\":\"\\u00e9\\u20ac\\u2028\\ud83d\\ude00\"",
		  ",\"s\":\"\xc3\xa9\xe2\x82\xac\xe2\x80\xa8"
		  "\xf0\x9f\x98\x80\"" },
		{ ",\"s\":\"\xc3\xa9\xf0\x9f\x98\x80\"",
		  ",\"s\":\"\xc3\xa9\xf0\x9f\x98\x80\"" },
		{ ",\"\xc3\xa9/\\n\":[true,false,null,[],{}]",
		  ",\"\xc3\xa9/\\n\":[true,false,null,[],{}]" },
		/* floats: pydantic's shortest round-trip form */
		{ ",\"f\":[99.5,1e+20,100.0,1E5,-0.0,1.50,0.1,1e16,1e-5,1e-6]",
		  ",\"f\":[99.5,1e+20,100.0,100000.0,-0.0,1.5,0.1,1e+16,"
		  "0.00001,1e-6]" },
		{ ",\"f\":[2.5e-5,1e22,1.7976931348623157e308,5e-324,1e-400]",
		  ",\"f\":[0.000025,1e+22,1.7976931348623157e+308,5e-324,"
		  "0.0]" },
		{ ",\"f\":[1e2,1E+2,0.5e1,123.456,-1.5e-7,9999999999999998.0]",
		  ",\"f\":[100.0,100.0,5.0,123.456,-1.5e-7,"
		  "9999999999999998.0]" },
		/* integers: 64 bits signed and unsigned */
		{ ",\"i\":[0,-0,7,-9223372036854775808,9223372036854775807,"
		  "18446744073709551615]",
		  ",\"i\":[0,0,7,-9223372036854775808,9223372036854775807,"
		  "18446744073709551615]" },
		{ NULL, NULL }
	};
	char	 in[1024], want[2048], err[256], *out;
	int	 i;

	for (i = 0; cases[i].in != NULL; i++) {
		snprintf(in, sizeof(in), "{" REQ "%s}", cases[i].in);
		snprintf(want, sizeof(want), OUT_HEAD "%s}", cases[i].want);
		out = roundtrip(in, strlen(in), 0, err, sizeof(err));
		cu_checkf(out != NULL && strcmp(out, want) == 0,
		    "case %d: %s\nexpected %s\ngot      %s", i, in,
		    want + strlen(OUT_HEAD), out != NULL ?
		    (strlen(out) > strlen(OUT_HEAD) ? out + strlen(OUT_HEAD) :
		    out) : err);
		free(out);
	}
}

struct json_case {
	const char	*prefix;	/* valid so far */
	const char	*rest;		/* the error is at its start */
	const char	*why;
};

/* Invalid JSON: the message gives the offset and the reason. */
static void
test_invalid_json(void)
{
	static const struct json_case cases[] = {
		{ "{" REQ ",\"x\":", "NaN}",
		  "NaN and Infinity are not allowed" },
		{ "{" REQ ",\"x\":", "Infinity}",
		  "NaN and Infinity are not allowed" },
		{ "{" REQ ",\"x\":", "-Infinity}",
		  "NaN and Infinity are not allowed" },
		{ "{" REQ ",\"x\":[1,", "NaN]}",
		  "NaN and Infinity are not allowed" },
		{ "{" REQ ",", "'x':1}", "single-quoted string" },
		{ "{" REQ ",\"x\":\"a", "\tb\"}",
		  "control character in string" },
		{ "{" REQ ",\"x\":\"a", "\nb\"}",
		  "control character in string" },
		{ "{" REQ ",\"x\":\"", "\\ud800\"}",
		  "lone surrogate in \\u escape" },
		{ "{" REQ ",\"x\":\"", "\\udc00x\"}",
		  "lone surrogate in \\u escape" },
		{ "{" REQ ",\"x\":\"", "\\ud800\\u0041\"}",
		  "lone surrogate in \\u escape" },
		{ "{" REQ ",\"x\":", "1.}", "malformed number" },
		{ "{" REQ ",\"x\":", "18446744073709551616}",
		  "integer out of 64-bit range" },
		{ "{" REQ ",\"x\":", "-9223372036854775809}",
		  "integer out of 64-bit range" },
		{ "{" REQ ",\"x\":", "123456789012345678901234567890}",
		  "integer out of 64-bit range" },
		{ "{" REQ ",", "\"a\\u0000b\":1}", "\\u0000 in an object key" },
		{ "{" REQ "} ", "x", "unexpected character" },
		{ "{" REQ "}", "{}", "unexpected character" },
		{ "{" REQ ",\"x\":[1,2,", "]}", "unexpected character" },
		{ "{" REQ ",\"x\":", "True}", "boolean expected" },
		{ "{" REQ, "", "unexpected end of data" },
		{ "{" REQ ",\"x\":\"abc", "", "unexpected end of data" },
		{ "", "", "unexpected end of data" },
		{ "  ", "", "unexpected end of data" },
		{ "", "\xef\xbb\xbf{}", "unexpected character" },
		{ "{" REQ ",\"x\":\"a", "\\x\"}", "invalid escape in string" },
		{ "{" REQ ",\"x\":\"a", "\\u12G4\"}",
		  "invalid \\u escape in string" },
		{ "{" REQ ",\"x\":", "01}", "leading zeros are not allowed" },
		{ "{" REQ ",\"x\":", "-01}", "leading zeros are not allowed" },
		{ "{" REQ ",\"x\":", "00}", "leading zeros are not allowed" },
		{ "{" REQ ",\"x\":", "01.5}", "leading zeros are not allowed" },
		{ "{" REQ ",\"x\":", "-00e5}", "leading zeros are not allowed" },
		{ "{" REQ ",\"x\":[0,", "-0018446744073709551615]}",
		    "leading zeros are not allowed" },
		{ "{" REQ ",\"x\":", "-}", "malformed number" },
		{ "{" REQ ",\"x\":", "1e5+1}", "malformed number" },
		{ "{" REQ ",\"x\":", ".5}", "unexpected character" },
		{ "{" REQ ",\"x\":nul", "}", "null expected" },
		{ "{" REQ ",\"x\":true", "1}",
		  "object value separator ',' expected" },
		{ "{" REQ ",\"x\":[1 ", "2]}",
		  "array value separator ',' expected" },
		{ "{" REQ ",\"x\" ", "1}",
		  "object property name separator ':' expected" },
		{ "{" REQ ",", "x:1}", "quoted object property name expected" },
		{ "{" REQ ",\"x\":1,", "}", "unexpected character" },
		{ "{" REQ ",\"x\":\"a\x7f", "\x01\"}",
		  "control character in string" },
		{ NULL, NULL, NULL }
	};
	char	 in[1024], want[512], err[512];
	struct evbus_event ev;
	size_t	 off;
	int	 i, rv;

	for (i = 0; cases[i].prefix != NULL; i++) {
		snprintf(in, sizeof(in), "%s%s", cases[i].prefix,
		    cases[i].rest);
		off = strlen(cases[i].prefix);
		snprintf(want, sizeof(want), "body: invalid JSON at offset "
		    "%zu: %s", off, cases[i].why);
		err[0] = '\0';
		rv = evbus_event_parse(in, strlen(in), 0, &ev, err,
		    sizeof(err));
		cu_checkf(rv == -1 && strcmp(err, want) == 0,
		    "case %d: %s\nexpected %s\ngot %d %s", i, in, want, rv,
		    err);
		evbus_event_free(&ev);
	}

	/* A NUL after the object is not the end of the input. */
	{
		static const char body[] = "{" REQ "}\0{}";

		rv = evbus_event_parse(body, sizeof(body) - 1, 0, &ev, err,
		    sizeof(err));
		snprintf(want, sizeof(want), "body: invalid JSON at offset "
		    "%zu: unexpected character", strlen(body));
		cu_checkf(rv == -1 && strcmp(err, want) == 0,
		    "trailing NUL: expected %s, got %d %s", want, rv, err);
		evbus_event_free(&ev);
	}
	/* Only len bytes count: a valid prefix is still incomplete. */
	{
		static const char body[] = "{" REQ "}";

		rv = evbus_event_parse(body, sizeof(body) - 2, 0, &ev, err,
		    sizeof(err));
		cu_checkf(rv == -1 && strstr(err, "unexpected end of data") !=
		    NULL, "short len: got %d %s", rv, err);
		evbus_event_free(&ev);
	}
	/* NULL input. */
	rv = evbus_event_parse(NULL, 0, 0, &ev, err, sizeof(err));
	cu_checkf(rv == -1 && strcmp(err, "body: invalid JSON at offset 0: "
	    "unexpected end of data") == 0, "NULL: got %d %s", rv, err);
	/* No err buffer: still fails cleanly. */
	CU_ASSERT_EQUAL(evbus_event_parse("[]", 2, 0, &ev, NULL, 0), -1);
}

static void
test_invalid_utf8(void)
{
	static const struct {
		const char	*bytes;
		size_t		 len;
	} cases[] = {
		{ "\xff", 1 },
		{ "\xc3", 1 },			/* truncated */
		{ "\xc3\x28", 2 },		/* bad continuation */
		{ "\xc0\xaf", 2 },		/* overlong "/" */
		{ "\xe0\x80\xaf", 3 },		/* overlong */
		{ "\xed\xa0\x80", 3 },		/* UTF-16 surrogate */
		{ "\xf4\x90\x80\x80", 4 },	/* above U+10FFFF */
		{ "\xf8\x88\x80\x80\x80", 5 },	/* 5-byte form */
		{ "\x80", 1 },			/* lone continuation */
		{ "\xe2\x82", 2 },		/* truncated euro sign */
		{ NULL, 0 }
	};
	static const char prefix[] = "{" REQ ",\"s\":\"ok \xc3\xa9 ";
	char	 in[512], want[128], err[256];
	struct evbus_event ev;
	size_t	 n;
	int	 i, rv;

	for (i = 0; cases[i].bytes != NULL; i++) {
		n = sizeof(prefix) - 1;
		memcpy(in, prefix, n);
		memcpy(in + n, cases[i].bytes, cases[i].len);
		memcpy(in + n + cases[i].len, "\"}", 2);
		snprintf(want, sizeof(want), "body: invalid UTF-8 at offset "
		    "%zu", n);
		rv = evbus_event_parse(in, n + cases[i].len + 2, 0, &ev, err,
		    sizeof(err));
		cu_checkf(rv == -1 && strcmp(err, want) == 0,
		    "case %d: expected %s, got %d %s", i, want, rv, err);
		evbus_event_free(&ev);
	}
	/* Invalid UTF-8 in a key, and in a base field. */
	rv = evbus_event_parse("{\"\xff\":1}", 7, 0, &ev, err, sizeof(err));
	cu_checkf(rv == -1 && strcmp(err, "body: invalid UTF-8 at offset 2") ==
	    0, "key: got %d %s", rv, err);
	/* The largest code points are fine. */
	{
		static const char ok[] = "{" REQ ",\"s\":\"\xf4\x8f\xbf\xbf"
		    "\xef\xbf\xbf\xed\x9f\xbf\xee\x80\x80\"}";

		rv = evbus_event_parse(ok, sizeof(ok) - 1, 0, &ev, err,
		    sizeof(err));
		cu_checkf(rv == 0, "valid edge code points rejected: %s", err);
		evbus_event_free(&ev);
	}
}

/* Build {"x": [[...[]...]]} with depth containers in all. */
static char *
nested(int depth, size_t *lenp)
{
	char	*s;
	size_t	 n = 0;
	int	 i;

	if ((s = malloc(2 * depth + 64 + sizeof(REQ))) == NULL)
		return NULL;
	n = (size_t)snprintf(s, 64 + sizeof(REQ), "{" REQ ",\"x\":");
	for (i = 1; i < depth; i++)
		s[n++] = '[';
	for (i = 1; i < depth; i++)
		s[n++] = ']';
	s[n++] = '}';
	s[n] = '\0';
	*lenp = n;
	return s;
}

static void
test_nesting(void)
{
	struct evbus_event	 ev;
	char			 err[256], want[128], *s, *out;
	size_t			 len;
	int			 rv;

	/* 64 levels, counting the event object itself, are fine. */
	s = nested(64, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	rv = evbus_event_parse(s, len, 0, &ev, err, sizeof(err));
	cu_checkf(rv == 0, "depth 64 rejected: %s", err);
	if (rv == 0) {
		out = evbus_event_serialize(&ev, NULL);
		CU_ASSERT_PTR_NOT_NULL(out);
		cu_checkf(out != NULL && strstr(out, "[[[[[[[[]]]]]]]]") !=
		    NULL, "depth 64 serialised as %s", out);
		free(out);
	}
	evbus_event_free(&ev);
	free(s);

	/* 65 is refused at the 65th bracket, 100000 too, without recursing. */
	s = nested(65, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	rv = evbus_event_parse(s, len, 0, &ev, err, sizeof(err));
	snprintf(want, sizeof(want), "body: invalid JSON at offset %zu: "
	    "nesting too deep", strlen("{" REQ ",\"x\":") + 63);
	cu_checkf(rv == -1 && strcmp(err, want) == 0,
	    "depth 65: expected %s, got %d %s", want, rv, err);
	free(s);
	s = nested(100000, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	rv = evbus_event_parse(s, len, 0, &ev, err, sizeof(err));
	cu_checkf(rv == -1 && strstr(err, "nesting too deep") != NULL,
	    "depth 100000: got %d %s", rv, err);
	free(s);

	/* Trees built in C are held to the same limit. */
	{
		struct json_object	*obj, *v, *inner;
		int			 i;

		obj = json_tokener_parse("{" REQ "}");
		CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
		v = json_object_new_array();
		for (i = 0; i < 64; i++) {
			inner = json_object_new_array();
			json_object_array_add(inner, v);
			v = inner;
		}
		json_object_object_add(obj, "deep", v);
		rv = evbus_event_from_json(obj, 0, &ev, err, sizeof(err));
		cu_checkf(rv == -1 && strcmp(err, "deep: nested too deeply "
		    "(max 64)") == 0, "from_json deep: got %d %s", rv, err);
		json_object_put(obj);
	}
}

static void
test_from_json(void)
{
	struct json_object	*obj, *arr;
	struct evbus_event	 ev;
	char			 err[256], *out;
	int			 rv;

	obj = json_tokener_parse("{" REQ ",\"metadata\":{\"m\":1},\"p\":[1]}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
	rv = evbus_event_from_json(obj, 0, &ev, err, sizeof(err));
	cu_checkf(rv == 0, "from_json: %s", err);
	if (rv != 0) {
		json_object_put(obj);
		return;
	}
	/* The event owns copies: changing or freeing obj changes nothing. */
	json_object_object_get_ex(obj, "p", &arr);
	json_object_array_add(arr, json_object_new_int(2));
	json_object_object_add(obj, "metadata", json_object_new_int(3));
	json_object_put(obj);
	out = evbus_event_serialize(&ev, NULL);
	cu_checkf(out != NULL && strlen(out) > 47 && strcmp(out + strlen(out) -
	    47, "\"causation_id\":null,\"metadata\":{\"m\":1},\"p\":[1]}") == 0,
	    "from_json copy: %s", out);
	free(out);
	evbus_event_free(&ev);

	/* Doubles made in C: pydantic's format, non-finite refused. */
	obj = json_tokener_parse("{" REQ "}");
	json_object_object_add(obj, "a", json_object_new_double(0.1));
	json_object_object_add(obj, "b", json_object_new_double(1e16));
	json_object_object_add(obj, "c", json_object_new_double(100));
	json_object_object_add(obj, "d", json_object_new_double(1e-7));
	rv = evbus_event_from_json(obj, 0, &ev, err, sizeof(err));
	CU_ASSERT_EQUAL(rv, 0);
	out = evbus_event_serialize(&ev, NULL);
	cu_checkf(out != NULL && strcmp(out, OUT_HEAD
	    ",\"a\":0.1,\"b\":1e+16,\"c\":100.0,\"d\":1e-7}") == 0,
	    "C doubles: %s", out);
	free(out);
	evbus_event_free(&ev);
	json_object_object_add(obj, "e", json_object_new_double(NAN));
	rv = evbus_event_from_json(obj, 0, &ev, err, sizeof(err));
	cu_checkf(rv == -1 && strcmp(err, "e: NaN and Infinity are not "
	    "allowed") == 0, "C NaN: got %d %s", rv, err);
	json_object_object_del(obj, "e");
	json_object_object_add(obj, "s", json_object_new_string_len("\xff",
	    1));
	rv = evbus_event_from_json(obj, 0, &ev, err, sizeof(err));
	cu_checkf(rv == -1 && strcmp(err, "s: invalid UTF-8") == 0,
	    "C bad UTF-8: got %d %s", rv, err);
	json_object_put(obj);

	/* Not an object. */
	obj = json_object_new_array();
	rv = evbus_event_from_json(obj, 0, &ev, err, sizeof(err));
	cu_checkf(rv == -1 && strcmp(err, "body: not a JSON object") == 0,
	    "array: got %d %s", rv, err);
	json_object_put(obj);
	rv = evbus_event_from_json(NULL, 0, &ev, err, sizeof(err));
	cu_checkf(rv == -1 && strcmp(err, "body: not a JSON object") == 0,
	    "NULL: got %d %s", rv, err);
}

/* The text checks alone, for callers that keep the tree. */
static void
test_json_parse_object(void)
{
	static const struct {
		const char	*in;
		const char	*err;	/* NULL: accepted */
	} cases[] = {
		{ "{}", NULL },
		{ " {\"a\":[1,{\"b\":null}]} \n", NULL },
		{ "{\"a\":\"\\ud83d\\ude00\"}", NULL },
		{ "null", "body: not a JSON object" },
		{ "[1]", "body: not a JSON object" },
		{ "7", "body: not a JSON object" },
		{ "{\"a\":NaN}", "body: invalid JSON at offset 5: NaN and "
		  "Infinity are not allowed" },
		{ "{\"a\":\"\\udc00\"}", "body: invalid JSON at offset 6: "
		  "lone surrogate in \\u escape" },
		{ "{\"a\":1}x", "body: invalid JSON at offset 7: unexpected "
		  "character" },
		{ "{\"a\":\"\xc3\"}", "body: invalid UTF-8 at offset 6" },
		{ "", "body: invalid JSON at offset 0: unexpected end of "
		  "data" },
		{ NULL, NULL }
	};
	struct json_object	*obj;
	char			 err[256];
	int			 i;

	for (i = 0; cases[i].in != NULL; i++) {
		err[0] = '\0';
		obj = evbus_json_parse_object(cases[i].in, strlen(cases[i].in),
		    err, sizeof(err));
		if (cases[i].err == NULL)
			cu_checkf(obj != NULL && json_object_is_type(obj,
			    json_type_object), "%s: rejected: %s", cases[i].in,
			    err);
		else
			cu_checkf(obj == NULL && strcmp(err, cases[i].err) == 0,
			    "%s: expected \"%s\", got %p \"%s\"", cases[i].in,
			    cases[i].err, (void *)obj, err);
		json_object_put(obj);
	}
}

/* An event filled in by hand, as a publisher would. */
static void
test_serialize_by_hand(void)
{
	struct evbus_event	 ev;
	char			*out;

	memset(&ev, 0, sizeof(ev));
	strlcpy(ev.event_id, "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b",
	    sizeof(ev.event_id));
	ev.event_type = strdup("E");
	ev.event_version = 1;
	ev.occurred_sec = 1741964966;
	strlcpy(ev.aggregate_id, "7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5",
	    sizeof(ev.aggregate_id));
	ev.aggregate_type = strdup("A");
	ev.aggregate_version = 1;
	ev.actor_id = strdup("line\nbreak \"quoted\"");
	strlcpy(ev.correlation_id, "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9",
	    sizeof(ev.correlation_id));
	ev.payload = json_object_new_object();
	json_object_object_add(ev.payload, "n", json_object_new_int(1));
	/* A payload key that would shadow the envelope is left out. */
	json_object_object_add(ev.payload, "event_id",
	    json_object_new_string("x"));
	out = evbus_event_serialize(&ev, NULL);
	cu_checkf(out != NULL && strcmp(out,
	    "{\"event_id\":\"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b\","
	    "\"event_type\":\"E\",\"event_version\":1,"
	    "\"occurred_at\":\"2025-03-14T15:09:26Z\","
	    "\"aggregate_id\":\"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5\","
	    "\"aggregate_type\":\"A\",\"aggregate_version\":1,"
	    "\"tenant_id\":null,\"actor_id\":\"line\\nbreak \\\"quoted\\\"\","
	    "\"correlation_id\":\"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9\","
	    "\"causation_id\":null,\"metadata\":{},\"n\":1}") == 0,
	    "by hand: %s", out);
	free(out);
	evbus_event_free(&ev);
	/* Freed and zeroed: freeing again is harmless. */
	CU_ASSERT_PTR_NULL(ev.event_type);
	evbus_event_free(&ev);
	evbus_event_free(NULL);
}

static void
test_routing_key(void)
{
	struct evbus_event	 ev;
	char			 buf[32], tiny[8];

	memset(&ev, 0, sizeof(ev));
	CU_ASSERT_EQUAL(evbus_event_routing_key(&ev, buf, sizeof(buf)), -1);
	ev.aggregate_type = strdup("Order");
	ev.event_type = strdup("OrderCreated");
	CU_ASSERT_EQUAL(evbus_event_routing_key(&ev, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "Order.OrderCreated");
	CU_ASSERT_EQUAL(evbus_event_routing_key(&ev, tiny, sizeof(tiny)), -1);
	/* Exactly fitting: 18 characters and the NUL. */
	CU_ASSERT_EQUAL(evbus_event_routing_key(&ev, buf, 19), 0);
	CU_ASSERT_EQUAL(evbus_event_routing_key(&ev, buf, 18), -1);
	evbus_event_free(&ev);
}

static void
test_aggregate_type(void)
{
	static const struct {
		const char	*s;
		int		 ok;
	} cases[] = {
		{ "Order", 1 }, { "a", 1 }, { "my_app.Order-2", 1 },
		{ "0", 1 }, { "...", 1 }, { "", 0 }, { "Or der", 0 },
		{ "Order\n", 0 }, { "Ord\xc3\xa9r", 0 }, { "a/b", 0 },
		{ "a*", 0 }, { "#", 0 }, { NULL, 0 }
	};
	int	 i;

	for (i = 0; cases[i].s != NULL; i++)
		cu_checkf(evbus_aggregate_type_valid(cases[i].s) == cases[i].ok,
		    "\"%s\": expected %d", cases[i].s, cases[i].ok);
	CU_ASSERT_EQUAL(evbus_aggregate_type_valid(NULL), 0);
}

static const struct cu_test example_tests[] = {
	{ "wire spec 3.2 example round-trips byte for byte",
	  test_example_roundtrip },
	{ "base keys in wire order, payload in input order", test_key_order },
	{ "defaults, with and without FILL_DEFAULTS", test_defaults },
	{ NULL, NULL }
};

static const struct cu_test validation_tests[] = {
	{ "every error names its field", test_errors },
	{ "long bad values quoted in part", test_error_quote_limit },
	{ "accepted values and their normal form", test_accepted_values },
	{ "invalid JSON with offset and reason", test_invalid_json },
	{ "invalid UTF-8 refused", test_invalid_utf8 },
	{ "nesting limited to 64", test_nesting },
	{ NULL, NULL }
};

static const struct cu_test format_tests[] = {
	{ "occurred_at read in any form, written as pydantic does",
	  test_occurred_at },
	{ "strings and numbers as pydantic writes them",
	  test_serialize_values },
	{ "evbus_event_from_json", test_from_json },
	{ "evbus_event_from_tape: the tree's verdicts", test_from_tape },
	{ "evbus_json_parse_object", test_json_parse_object },
	{ "serialising an event built by hand", test_serialize_by_hand },
	{ "routing key", test_routing_key },
	{ "aggregate_type pattern", test_aggregate_type },
	{ NULL, NULL }
};

static const struct cu_suite suites[] = {
	{ "event: envelope", example_tests },
	{ "event: validation", validation_tests },
	{ "event: formats", format_tests },
	{ NULL, NULL }
};

int
main(void)
{
	return cu_run(suites);
}
