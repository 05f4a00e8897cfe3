/*
 * test_event.c: the event envelope codec (shared/event.c) against wire
 * spec 3.2.  Expected outputs were produced with pydantic 2.13 from a model
 * declared like eventsource-py's DomainEvent.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

#include "cu.h"
#include "event.h"
#include "../fuzz/event_ref.h"

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

static void
test_timestamps(void)
{
	/* NULL want: rejected. */
	static const struct {
		const char	*in;
		const char	*want;
	} cases[] = {
		{ "2025-03-14T15:09:26.535897Z",
		  "2025-03-14T15:09:26.535897Z" },
		{ "2025-03-14T15:09:26Z", "2025-03-14T15:09:26Z" },
		{ "2025-03-14T15:09:26z", "2025-03-14T15:09:26Z" },
		{ "2025-03-14t15:09:26Z", "2025-03-14T15:09:26Z" },
		{ "2025-03-14 15:09:26Z", "2025-03-14T15:09:26Z" },
		/* no zone: UTC */
		{ "2025-03-14T15:09:26", "2025-03-14T15:09:26Z" },
		{ "2025-03-14T15:09:26.5", "2025-03-14T15:09:26.500000Z" },
		/* fraction: padded to 6, dropped when 0 */
		{ "2025-03-14T15:09:26.5Z", "2025-03-14T15:09:26.500000Z" },
		{ "2025-03-14T15:09:26.000001Z",
		  "2025-03-14T15:09:26.000001Z" },
		{ "2025-03-14T15:09:26.000000Z", "2025-03-14T15:09:26Z" },
		{ "2025-03-14T15:09:26.0Z", "2025-03-14T15:09:26Z" },
		{ "2025-03-14T15:09:26.120Z", "2025-03-14T15:09:26.120000Z" },
		/* offsets: converted to UTC */
		{ "2025-03-14T15:09:26+00:00", "2025-03-14T15:09:26Z" },
		{ "2025-03-14T15:09:26-00:00", "2025-03-14T15:09:26Z" },
		{ "2025-03-14T15:09:26+05:30", "2025-03-14T09:39:26Z" },
		{ "2025-03-14T20:09:26.25-08:00",
		  "2025-03-15T04:09:26.250000Z" },
		{ "2025-01-01T00:30:00+01:00", "2024-12-31T23:30:00Z" },
		{ "2024-02-28T23:00:00-01:00", "2024-02-29T00:00:00Z" },
		{ "2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z" },
		{ "2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z" },
		{ "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z" },
		{ "1969-12-31T23:59:59.999999Z",
		  "1969-12-31T23:59:59.999999Z" },
		{ "0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z" },
		{ "9999-12-31T23:59:59.999999Z",
		  "9999-12-31T23:59:59.999999Z" },
		{ "2025-03-14T15:09:26+23:59", "2025-03-13T15:10:26Z" },
		/* rejected */
		{ "", NULL },
		{ "2025-03-14", NULL },
		{ "2025-03-14T15:09", NULL },
		{ "2025-03-14T15:09:26.Z", NULL },
		{ "2025-03-14T15:09:26.1234567Z", NULL },
		{ "2025-03-14T15:09:26+0530", NULL },
		{ "2025-03-14T15:09:26+05", NULL },
		{ "2025-03-14T15:09:26+24:00", NULL },
		{ "2025-03-14T15:09:26+05:60", NULL },
		{ "2025-03-14T15:09:26ZZ", NULL },
		{ "2025-03-14T15:09:26 ", NULL },
		{ "2025-03-14X15:09:26Z", NULL },
		{ "2025-3-14T15:09:26Z", NULL },
		{ "2025-13-01T00:00:00Z", NULL },
		{ "2025-00-01T00:00:00Z", NULL },
		{ "2025-04-31T00:00:00Z", NULL },
		{ "2023-02-29T00:00:00Z", NULL },
		{ "1900-02-29T00:00:00Z", NULL },
		{ "2025-03-14T24:00:00Z", NULL },
		{ "2025-03-14T23:60:00Z", NULL },
		{ "2025-03-14T23:59:60Z", NULL },
		{ "0000-01-01T00:00:00Z", NULL },
		/* years 0 and 10000 in UTC */
		{ "0001-01-01T00:30:00+01:00", NULL },
		{ "9999-12-31T23:30:00-01:00", NULL },
		{ "+2025-03-14T15:09:26Z", NULL },
		{ NULL, NULL }
	};
	char		 buf[EVBUS_TIME_LEN], in[512], err[256], *out, *p;
	int64_t		 sec;
	int32_t		 usec;
	int		 i, rv;

	for (i = 0; cases[i].in != NULL; i++) {
		sec = -1;
		usec = -1;
		rv = evbus_time_parse(cases[i].in, &sec, &usec);
		if (cases[i].want == NULL) {
			cu_checkf(rv == -1, "\"%s\": accepted as %lld.%06d",
			    cases[i].in, (long long)sec, (int)usec);
			continue;
		}
		cu_checkf(rv == 0, "\"%s\": rejected", cases[i].in);
		if (rv != 0)
			continue;
		evbus_time_format(sec, usec, EVBUS_TIME_Z, buf, sizeof(buf));
		cu_checkf(strcmp(buf, cases[i].want) == 0,
		    "\"%s\": expected %s, got %s", cases[i].in, cases[i].want,
		    buf);

		/* The same through the codec. */
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

	/* The fields match the text. */
	CU_ASSERT_EQUAL(evbus_time_parse("2025-03-14T15:09:26.535897Z", &sec,
	    &usec), 0);
	CU_ASSERT_EQUAL(sec, 1741964966);
	CU_ASSERT_EQUAL(usec, 535897);
	CU_ASSERT_EQUAL(evbus_time_parse("1969-12-31T23:59:59.5Z", &sec,
	    &usec), 0);
	CU_ASSERT_EQUAL(sec, -1);
	CU_ASSERT_EQUAL(usec, 500000);
	CU_ASSERT_EQUAL(evbus_time_parse(NULL, &sec, &usec), -1);
}

static void
test_time_format(void)
{
	static const struct {
		int64_t		 sec;
		int32_t		 usec;
		int		 style;
		const char	*want;
	} cases[] = {
		{ 1741964966, 535897, EVBUS_TIME_Z,
		  "2025-03-14T15:09:26.535897Z" },
		{ 1741964966, 535897, EVBUS_TIME_OFFSET,
		  "2025-03-14T15:09:26.535897+00:00" },
		{ 1741964967, 102938, EVBUS_TIME_OFFSET,
		  "2025-03-14T15:09:27.102938+00:00" },
		{ 1741964966, 0, EVBUS_TIME_Z, "2025-03-14T15:09:26Z" },
		{ 1741964966, 0, EVBUS_TIME_OFFSET,
		  "2025-03-14T15:09:26+00:00" },
		{ 0, 0, EVBUS_TIME_Z, "1970-01-01T00:00:00Z" },
		{ 0, 1, EVBUS_TIME_Z, "1970-01-01T00:00:00.000001Z" },
		{ -1, 999999, EVBUS_TIME_Z, "1969-12-31T23:59:59.999999Z" },
		{ -86400, 0, EVBUS_TIME_Z, "1969-12-31T00:00:00Z" },
		{ 951782400, 0, EVBUS_TIME_Z, "2000-02-29T00:00:00Z" },
		{ 253402300799, 0, EVBUS_TIME_Z, "9999-12-31T23:59:59Z" },
		{ -62135596800, 0, EVBUS_TIME_Z, "0001-01-01T00:00:00Z" },
		/* usec out of range is carried into seconds */
		{ 0, 1500000, EVBUS_TIME_Z, "1970-01-01T00:00:01.500000Z" },
		{ 0, -1, EVBUS_TIME_Z, "1969-12-31T23:59:59.999999Z" },
		{ 0, 0, 0, NULL }
	};
	char	 buf[EVBUS_TIME_LEN], small[12];
	int	 i;

	for (i = 0; cases[i].want != NULL; i++) {
		evbus_time_format(cases[i].sec, cases[i].usec, cases[i].style,
		    buf, sizeof(buf));
		cu_checkf(strcmp(buf, cases[i].want) == 0,
		    "%lld.%d style %d: expected %s, got %s",
		    (long long)cases[i].sec, (int)cases[i].usec,
		    cases[i].style, cases[i].want, buf);
	}
	/* A short buffer is truncated, not overrun. */
	CU_ASSERT_PTR_EQUAL(evbus_time_format(1741964966, 1, EVBUS_TIME_Z,
	    small, sizeof(small)), small);
	CU_ASSERT_STRING_EQUAL(small, "2025-03-14T");
	/* Extreme values do not crash. */
	evbus_time_format(INT64_MAX, 0, EVBUS_TIME_Z, buf, sizeof(buf));
	evbus_time_format(INT64_MIN, 0, EVBUS_TIME_Z, buf, sizeof(buf));
	CU_PASS("extremes");
}

static void
test_uuid(void)
{
	static const struct {
		const char	*in;
		const char	*want;	/* NULL: not a UUID */
	} cases[] = {
		{ "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b",
		  "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b" },
		{ "3F2A9C1E-8B4D-4E6F-9A0B-1C2D3E4F5A6B",
		  "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b" },
		{ "3f2A9c1E-8b4D-4e6F-9a0B-1c2D3e4F5a6B",
		  "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b" },
		{ "3f2a9c1e8b4d4e6f9a0b1c2d3e4f5a6b",
		  "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b" },
		{ "3F2A9C1E8B4D4E6F9A0B1C2D3E4F5A6B",
		  "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b" },
		{ "00000000-0000-0000-0000-000000000000",
		  "00000000-0000-0000-0000-000000000000" },
		{ "", NULL },
		{ "xyz", NULL },
		{ "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6", NULL },
		{ "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b0", NULL },
		{ "3f2a9c1e8b4d4e6f9a0b1c2d3e4f5a6", NULL },
		{ "3f2a9c1e-8b4d4e6f-9a0b-1c2d3e4f5a6b", NULL },
		{ "3f2a9c1e-8b4d-4e6f-9a0b_1c2d3e4f5a6b", NULL },
		{ "3f2a9c1-e8b4d-4e6f-9a0b-1c2d3e4f5a6b", NULL },
		{ "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6g", NULL },
		{ " 3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6", NULL },
		{ "{3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a}", NULL },
		{ "3f2a9c1e-8b4d-4e6f-9a0b1-c2d3e4f5a6b", NULL },
		{ NULL, NULL }
	};
	char	 out[EVBUS_UUID_LEN + 1], a[EVBUS_UUID_LEN + 1];
	int	 i, rv, n;

	for (i = 0; cases[i].in != NULL; i++) {
		memset(out, 0, sizeof(out));
		rv = evbus_uuid_normalize(cases[i].in, out);
		if (cases[i].want == NULL)
			cu_checkf(rv == -1, "\"%s\" accepted as %s",
			    cases[i].in, out);
		else
			cu_checkf(rv == 0 && strcmp(out, cases[i].want) == 0,
			    "\"%s\": expected %s, got %d %s", cases[i].in,
			    cases[i].want, rv, out);
	}
	CU_ASSERT_EQUAL(evbus_uuid_normalize(NULL, out), -1);

	/* uuid4: version 4, RFC 4122 variant, lowercase, distinct. */
	for (n = 0; n < 1000; n++) {
		evbus_uuid4(out);
		if (!is_uuid4(out)) {
			cu_failf("not a uuid4: %s", out);
			break;
		}
		if (n > 0 && strcmp(out, a) == 0) {
			cu_failf("uuid4 repeated: %s", out);
			break;
		}
		memcpy(a, out, sizeof(a));
	}
	CU_PASS("uuid4");
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

/*
 * The one-pass parser against the old three-pass one (tests/fuzz/
 * event_ref.h): same verdict, same trees, same bytes out.
 */

/* A text with its length: some hold NUL bytes. */
struct text {
	const char	*s;
	size_t		 len;
};
#define T(s)	{ s, sizeof(s) - 1 }

/* s as a C string literal, shortened, for failure messages. */
static const char *
quoted(const char *s, size_t len, char *buf, size_t size)
{
	size_t	 i, o = 0;
	int	 c;

	for (i = 0; i < len && o + 8 < size; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = (char)c;
		else
			o += snprintf(buf + o, size - o, "\\x%02x", c);
	}
	if (i < len && o + 4 < size)
		o += snprintf(buf + o, size - o, "...");
	buf[o] = '\0';
	return buf;
}

/* Counts of a differential run. */
struct diffrun {
	const char	*what;
	long		 total;
	long		 accepted;
	long		 failed;
};

static void
diff_check(struct diffrun *r, const char *s, size_t len)
{
	char	 why[1024], q[256];
	int	 rv;

	r->total++;
	if ((rv = json_diff(s, len, why, sizeof(why))) >= 0) {
		r->accepted += rv;
		return;
	}
	/* Report the first few in full; the count says the rest. */
	if (++r->failed <= 10)
		cu_failf("%s: \"%s\": %s", r->what, quoted(s, len, q,
		    sizeof(q)), why);
}

static void
diff_done(struct diffrun *r)
{
	cu_checkf(r->failed == 0, "%s: %ld of %ld texts differ", r->what,
	    r->failed, r->total);
	printf("\n    %s: %ld texts (%ld accepted), %ld differ ", r->what,
	    r->total, r->accepted, r->failed);
}

/* The event corpus of the fuzz target, found as test_config finds etc/. */
static char *
corpus_dir(void)
{
	const char	*srcdir = getenv("EVBUS_SRCDIR"), *p;
	char		*path;
	int		 n;

	if (srcdir != NULL && *srcdir != '\0')
		n = asprintf(&path, "%s/tests/fuzz/corpus/event", srcdir);
	else {
		p = strstr(__FILE__, "tests/unit/test_event.c");
		n = asprintf(&path, "%.*stests/fuzz/corpus/event",
		    p != NULL ? (int)(p - __FILE__) : 0, __FILE__);
	}
	return n == -1 ? NULL : path;
}

/* Every file of the corpus; NULL-terminated arrays of texts and lengths. */
static size_t
corpus_load(char ***textsp, size_t **lensp)
{
	struct dirent	*de;
	DIR		*dir;
	FILE		*fp;
	char		*path, *file, **texts = NULL, *buf;
	size_t		*lens = NULL, n = 0, len;

	*textsp = NULL;
	*lensp = NULL;
	if ((path = corpus_dir()) == NULL)
		return 0;
	if ((dir = opendir(path)) == NULL) {
		cu_failf("%s: %s", path, strerror(errno));
		free(path);
		return 0;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&file, "%s/%s", path, de->d_name) == -1)
			break;
		buf = NULL;
		len = 0;
		if ((fp = fopen(file, "rb")) != NULL) {
			char	 chunk[4096];
			size_t	 got;

			while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
				buf = realloc(buf, len + got);
				CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
				memcpy(buf + len, chunk, got);
				len += got;
			}
			fclose(fp);
		}
		free(file);
		if (buf == NULL && len == 0)
			buf = malloc(1);
		texts = reallocarray(texts, n + 1, sizeof(*texts));
		lens = reallocarray(lens, n + 1, sizeof(*lens));
		CU_ASSERT_PTR_NOT_NULL_FATAL(texts);
		CU_ASSERT_PTR_NOT_NULL_FATAL(lens);
		texts[n] = buf;
		lens[n] = len;
		n++;
	}
	closedir(dir);
	free(path);
	*textsp = texts;
	*lensp = lens;
	return n;
}

static void
corpus_free(char **texts, size_t *lens, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	free(lens);
}

static void
test_diff_corpus(void)
{
	struct diffrun	 r = { "corpus", 0, 0, 0 };
	char		**texts;
	size_t		*lens, n, i;

	n = corpus_load(&texts, &lens);
	cu_checkf(n >= 15, "only %zu corpus files", n);
	for (i = 0; i < n; i++)
		diff_check(&r, texts[i], lens[i]);
	diff_done(&r);
	corpus_free(texts, lens, n);
}

/* Values, each tried alone and inside objects and arrays. */
static const struct text edge_values[] = {
	/* numbers */
	T("0"), T("-0"), T("1"), T("-1"), T("7"), T("00"), T("000"),
	T("01"), T("-01"), T("-00"), T("007"), T("-007"), T("0001"),
	T("1."), T(".5"), T("-.5"), T("-"), T("--1"), T("+1"), T("-+1"),
	T("1e5"), T("1E5"), T("1e+5"), T("1E+5"), T("1e-5"), T("1.5e-3"),
	T("1.5E+3"), T("1e"), T("1e+"), T("1e-"), T("1E"), T("1.e5"),
	T("1.5.3"), T("1e5e3"), T("1e5.3"), T("1e5+"), T("1e5-"), T("1.5-"),
	T("1-2"), T("1+2"), T("1x"), T("0x10"), T("1_0"), T("0.0"),
	T("-0.0"), T("0e0"), T("0E-0"), T("-0e-0"), T("00.5"), T("01.5"),
	T("-01.5"), T("00e5"), T("01e5"), T("-00.0"), T("1.50"), T("99.5"),
	T("100.0"), T("0.1"), T("1e16"), T("1e400"), T("-1e400"),
	T("1e-400"), T("2.2250738585072014e-308"), T("4.9e-324"),
	T("1.7976931348623157e308"), T("1.7976931348623159e308"),
	T("123456789012345678901234567890.5"), T("0.1e1"),
	T("1234567890123456789012345678901234567890e-20"),
	T("9223372036854775807"), T("9223372036854775808"),
	T("-9223372036854775807"), T("-9223372036854775808"),
	T("-9223372036854775809"), T("18446744073709551615"),
	T("18446744073709551616"), T("-18446744073709551615"),
	T("99999999999999999999"), T("100000000000000000000"),
	T("123456789012345678901234567890"), T("-0009223372036854775808"),
	T("-0009223372036854775809"), T("-0018446744073709551615"),
	T("-0018446744073709551616"), T("-00099999999999999999999"),
	T("0018446744073709551615"), T("00000000000000000000000"),
	T("-00000000000000000000000"), T("12345678901234567890"),
	T("-1234567890123456789"),
	/* not numbers */
	T("NaN"), T("-NaN"), T("nan"), T("Infinity"), T("-Infinity"),
	T("+Infinity"), T("infinity"), T("-infinity"), T("Inf"), T("-Inf"),
	T("-I"), T("N"), T("I"),
	/* literals */
	T("true"), T("false"), T("null"), T("True"), T("FALSE"), T("Null"),
	T("nul"), T("tru"), T("fals"), T("truex"), T("nulll"), T("t"),
	T("f"), T("n"), T("true1"), T("null\"x\""), T("undefined"),
	/* strings */
	T("\"\""), T("\"a\""), T("\"\\\"\""), T("\"\\\\\""), T("\"\\/\""),
	T("\"a/b\""), T("\"\\b\\f\\n\\r\\t\""), T("\"\\u0000\""),
	T("\"a\\u0000b\""), T("\"\\u0000\\u0000\""), T("\"\\u0041\""),
	T("\"\\u00e9\""), T("\"\\u00E9\""), T("\"\\u20AC\""),
	T("\"\\u0080\""), T("\"\\u07FF\""), T("\"\\u0800\""),
	T("\"\\uFFFF\""), T("\"\\uFFFE\""), T("\"\\uD7FF\""),
	T("\"\\uE000\""), T("\"\\uD83D\\uDE00\""), T("\"\\ud83d\\ude00\""),
	T("\"\\uD800\\uDC00\""), T("\"\\uDBFF\\uDFFF\""),
	T("\"\\uD836\\uDE00\""), T("\"\\udbf7\\udfff\""),
	T("\"\\uD837\\uDC00\\u0041\""), T("\"\\uD836\\uDE00\\n\""),
	T("\"\\uD836\\uDE00\\uDC00\""), T("\"\\uD83D\""),
	T("\"\\uDE00\""), T("\"\\uD83Dx\""), T("\"\\uD83D\\u0041\""),
	T("\"\\uD83D\\uD83D\""), T("\"\\uDE00\\uD83D\""),
	T("\"\\uD83D\\uDE0\""), T("\"\\uD83D\\n\""), T("\"\\uD83D\\\""),
	T("\"\\u12\""), T("\"\\u12G4\""), T("\"\\u\""), T("\"\\x41\""),
	T("\"\\a\""), T("\"\\'\""), T("\"\\U0041\""), T("\"\\0\""),
	T("\"\\"), T("\"a"), T("\""), T("\"\t\""), T("\"\n\""),
	T("\"\r\""), T("\"\x01\""), T("\"\x1f\""), T("\"\x7f\""),
	T("\"a\0b\""), T("\"caf\xc3\xa9\""), T("\"\xc3\""), T("\"\xc3\x28\""),
	T("\"\xc0\xaf\""), T("\"\xe0\x80\xaf\""), T("\"\xed\xa0\x80\""),
	T("\"\xed\x9f\xbf\""), T("\"\xee\x80\x80\""),
	T("\"\xf4\x8f\xbf\xbf\""), T("\"\xf4\x90\x80\x80\""),
	T("\"\xf8\x88\x80\x80\x80\""), T("\"\x80\""), T("\"\xe2\x82\""),
	T("\"\xef\xbb\xbf\""), T("\"\xf0\x9f\x98\x80\""), T("'a'"),
	T("\"a'b\""), T("\"\\u00e9\xc3\xa9\\n\xf0\x9f\x98\x80\""),
	T("\"0123456789abcdef0123456789abcdef0123456789\""),
	T("\"0123456789abcdef0123456789abcdef012345678\\n9\""),
	T("\"xxxxxxx\\\"xxxxxxxxxxxxxxxxx\\\\xxxxxxxxxxxxx\""),
	/* arrays and objects */
	T("{}"), T("[]"), T("[1,2]"), T("[1,]"), T("[,1]"), T("[1 2]"),
	T("[1,,2]"), T("{\"a\":1}"), T("{\"a\":1,}"), T("{,}"),
	T("{\"a\"}"), T("{\"a\":}"), T("{\"a\" 1}"), T("{1:2}"),
	T("{'a':1}"), T("{a:1}"), T("{\"a\":1 \"b\":2}"),
	T("{\"a\"::1}"), T("[[]]"), T("[{}]"), T("{\"a\":{}}"),
	T("{\"a\":{\"b\":[1,{\"c\":null}]}}"), T("["), T("{"), T("]"),
	T("}"), T("[1"), T("{\"a\":1"), T("{\"a\""), T("{\"a\":"),
	T("[1}"), T("{\"a\":1]"), T("{\"a\":1,\"a\":2}"),
	T("{\"a\":1,\"b\":2,\"a\":3}"), T("{\"a\":{\"x\":1},\"a\":[2]}"),
	T("{\"a\":null,\"a\":null}"), T("{\"b\":1,\"a\":2,\"b\":null}"),
	T("{\"\":1}"), T("{\"\":1,\"\":2}"), T("{\"k\\u00e9\":1}"),
	T("{\"k\\\"\":1,\"k\\\"\":2}"), T("{\"\\u0000\":1}"),
	T("{\"a\\u0000\":1}"), T("{\"\\ud83d\\ude00\":1}"),
	T("{\"\\ud83d\":1}"), T("{\"\xff\":1}"), T("{\"\t\":1}"),
	T("{\"\\uD836\\uDE00\":1,\"\\uD836\\uDE01\":2}"),
	T("{\"a\\nb\":{\"c\\td\":[\"e\\\"f\"]}}"), T("[true,false,null]"),
	T("[-0,0,-0.0,0.0]"), T("{\"a\":[1,2,3],\"b\":{\"c\":\"d\"}}"),
	T("[\"\\u0000\",\"\\u0000\"]"), T("{\"x\":\"\\u0000\"}"),
};

/* Where the values go: '@' is replaced by one of them. */
static const char *const edge_contexts[] = {
	"@",
	"{\"v\":@}",
	"[@]",
	"{\"a\":[@,1],\"b\":@}",
	" \t\n\r@\r\n ",
	"{ \"v\" : @ , \"w\" : [ @ ] }",
	"{\"v\":@,\"v\":{\"w\":@}}",
	"{\"\\u00e9\\n\":@}",
};

/* Whole texts. */
static const struct text edge_texts[] = {
	T(""), T(" "), T("\t\n\r "), T("\0"), T("{}\0"), T("{}\0{}"),
	T("{} "), T("{}\n\n"), T(" {}"), T("\xef\xbb\xbf{}"), T("{}\xff"),
	T("{\"a\":1}\x80"), T("{\0}"), T("{\"a\":1\0}"), T("{\"a\"\0:1}"),
	T("{}{}"), T("{} {}"), T("{}]"), T("{}}"), T("{}x"), T("{}\v"),
	T("{\v}"), T("{\f}"), T("\f{}"), T("{\x85}"), T("{\xc2\xa0}"),
	T("{\"a\":x,\"b\":\"\xff\"}"), T("{\"a\":\"\xff\",\"b\":x}"),
	T("{\"a\":1,}\xc3"), T("[\xc3]"), T("{\"a\":\xc3\xa9}"),
	T("{\"a\":\"\\uD800\",\"b\":\"\xed\xa0\x80\"}"),
	T("{\"a\":1}  \xe2\x82"), T("{\"a\":1e5}"), T("{\"a\":[1e5]}"),
	T("{\"a\":1e5,\"b\":-0}"), T("{/*c*/}"), T("{}//"),
	T("{\"a\":1/**/}"), T("{\"a\":[1/2]}"), T("[1]x"), T("1 2"),
	T("\"x\" \"y\""), T("null x"),
	T("{\"event_id\":\"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b\","
	    "\"metadata\":{\"m\":[1,2.5,\"\\u00e9\"]},\"p\":-0}"),
};

/*
 * n levels of arrays and objects, alternating from kind, with inner at
 * the bottom, into buf.
 */
static size_t
deep_text(char *buf, size_t size, int n, int kind, const char *inner)
{
	size_t	 o = 0;
	int	 i;

	for (i = 0; i < n && o + 8 < size; i++)
		o += snprintf(buf + o, size - o, "%s",
		    (i + kind) % 2 ? "[" : "{\"a\":");
	o += snprintf(buf + o, size - o, "%s", inner);
	for (i = n - 1; i >= 0 && o + 2 < size; i--)
		buf[o++] = (i + kind) % 2 ? ']' : '}';
	buf[o] = '\0';
	return o;
}

static void
test_diff_edges(void)
{
	static const char *const inners[] = { "", "1", "[]", "{}", "[1]",
	    "{\"b\":2}", "\"s\"", "[[]]", "x", "[1,]" };
	static const int depths[] = { 1, 2, 62, 63, 64, 65, 66, 100 };
	struct diffrun	 r = { "edge cases", 0, 0, 0 };
	char		 buf[8192];
	const char	*c, *at;
	size_t		 i, j, k, o;

	for (i = 0; i < sizeof(edge_values) / sizeof(edge_values[0]); i++)
		for (j = 0; j < sizeof(edge_contexts) /
		    sizeof(edge_contexts[0]); j++) {
			o = 0;
			for (c = edge_contexts[j]; *c != '\0'; c = at + 1) {
				if ((at = strchr(c, '@')) == NULL)
					at = c + strlen(c);
				memcpy(buf + o, c, at - c);
				o += at - c;
				if (*at == '\0')
					break;
				memcpy(buf + o, edge_values[i].s,
				    edge_values[i].len);
				o += edge_values[i].len;
			}
			diff_check(&r, buf, o);
		}
	for (i = 0; i < sizeof(edge_texts) / sizeof(edge_texts[0]); i++)
		diff_check(&r, edge_texts[i].s, edge_texts[i].len);
	/* Nesting around the limit, from an object or from an array. */
	for (i = 0; i < sizeof(depths) / sizeof(depths[0]); i++)
		for (j = 0; j < 2; j++)
			for (k = 0; k < sizeof(inners) / sizeof(inners[0]);
			    k++) {
				o = deep_text(buf, sizeof(buf), depths[i],
				    (int)j, inners[k]);
				diff_check(&r, buf, o);
			}
	/* Strings longer than the parser's inline scratch buffer. */
	for (i = 500; i < 530; i += 3) {
		o = (size_t)snprintf(buf, sizeof(buf), "{\"");
		for (j = 0; j < i; j++)
			buf[o++] = j % 97 == 0 ? '\\' : 'k';
		memcpy(buf + o, "t\":\"", 4);
		o += 4;
		for (j = 0; j < 2 * i; j++)
			buf[o++] = j % 89 == 5 ? '\\' : 'v';
		memcpy(buf + o, "n\"}", 3);
		o += 3;
		diff_check(&r, buf, o);
	}
	cu_checkf(r.total > 2000, "only %ld edge cases", r.total);
	diff_done(&r);
}

/* xorshift64*: deterministic, so a failure can be replayed. */
static uint64_t
rnd(uint64_t *st)
{
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return *st * UINT64_C(2685821657736338717);
}

/* A random valid-looking JSON text: the mutations mostly break texts. */
struct gen {
	uint64_t	*st;
	char		*buf;
	size_t		 len;
	size_t		 cap;
};

static void
gen_put(struct gen *g, const char *s, size_t n)
{
	if (g->len + n < g->cap) {
		memcpy(g->buf + g->len, s, n);
		g->len += n;
	}
}

static void
gen_ws(struct gen *g)
{
	static const char *const ws[] = { " ", "\n", "\t", "\r\n  " };
	const char		*w;

	if (rnd(g->st) % 4 == 0) {
		w = ws[rnd(g->st) % 4];
		gen_put(g, w, strlen(w));
	}
}

static void
gen_string(struct gen *g, int key)
{
	static const char *const bits[] = { "a", "b", "key", "event_id",
	    "x", "\\n", "\\\"", "\\\\", "\\/", "\\b\\f\\r\\t", "\\u0041",
	    "\\u00e9", "\\u20AC", "\\uD83D\\uDE00", "\\udbff\\udfff",
	    "\\u0000", "\\u001f", "\xc3\xa9", "\xe2\x82\xac",
	    "\\uD836\\uDE00", "\\udbf7\\udc01",
	    "\xf0\x9f\x98\x80", "\x7f", " ", "'", "0123456789abcdef",
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" };
	char	 u[8];
	int	 i, n;

	gen_put(g, "\"", 1);
	n = key ? (int)(rnd(g->st) % 3) : (int)(rnd(g->st) % 6);
	for (i = 0; i < n; i++) {
		if (rnd(g->st) % 8 == 0) {
			/* Any BMP character but a surrogate, escaped. */
			unsigned int cp = (unsigned int)(rnd(g->st) % 0x10000);

			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0x41;
			snprintf(u, sizeof(u), "\\u%04x", cp);
			gen_put(g, u, 6);
		} else {
			const char *b = bits[rnd(g->st) % (sizeof(bits) /
			    sizeof(bits[0]))];

			/* \u0000 ends the key it would be cut at. */
			if (key && strcmp(b, "\\u0000") == 0)
				b = "k";
			gen_put(g, b, strlen(b));
		}
	}
	gen_put(g, "\"", 1);
}

static void
gen_number(struct gen *g)
{
	static const char *const nums[] = { "0", "-0", "00", "-01", "01.5",
	    "-00.0", "1e5", "1E+5", "1.5e-3", "18446744073709551615",
	    "9223372036854775808", "-9223372036854775808", "1e400",
	    "4.9e-324", "0.1", "100.0", "1.50", "-0018446744073709551615" };
	char	 num[64];
	size_t	 o = 0;
	int	 i, n;

	if (rnd(g->st) % 3 == 0) {
		const char *s = nums[rnd(g->st) % (sizeof(nums) /
		    sizeof(nums[0]))];

		gen_put(g, s, strlen(s));
		return;
	}
	if (rnd(g->st) % 2)
		num[o++] = '-';
	n = 1 + (int)(rnd(g->st) % 21);
	num[o++] = (char)('1' + rnd(g->st) % 9);
	for (i = 1; i < n; i++)
		num[o++] = (char)('0' + rnd(g->st) % 10);
	if (rnd(g->st) % 3 == 0) {
		num[o++] = '.';
		for (i = 1 + (int)(rnd(g->st) % 5); i > 0; i--)
			num[o++] = (char)('0' + rnd(g->st) % 10);
	}
	if (rnd(g->st) % 4 == 0) {
		num[o++] = rnd(g->st) % 2 ? 'e' : 'E';
		if (rnd(g->st) % 2)
			num[o++] = rnd(g->st) % 2 ? '+' : '-';
		for (i = 1 + (int)(rnd(g->st) % 3); i > 0; i--)
			num[o++] = (char)('0' + rnd(g->st) % 10);
	}
	gen_put(g, num, o);
}

static void
gen_value(struct gen *g, int depth)
{
	int	 i, n, kind;

	gen_ws(g);
	/* Now and then a chain down to the depth limit and past it. */
	kind = depth == 1 && rnd(g->st) % 64 == 0 ? 7 :
	    (int)(rnd(g->st) % (depth < 4 ? 7 : 5));
	switch (kind) {
	case 0:
		gen_string(g, 0);
		break;
	case 1:
		gen_number(g);
		break;
	case 2:
		gen_put(g, "true", 4);
		break;
	case 3:
		gen_put(g, "null", 4);
		break;
	case 4:
		gen_put(g, "false", 5);
		break;
	case 5:
		gen_put(g, "[", 1);
		n = (int)(rnd(g->st) % 4);
		for (i = 0; i < n; i++) {
			if (i > 0)
				gen_put(g, ",", 1);
			gen_value(g, depth + 1);
		}
		gen_ws(g);
		gen_put(g, "]", 1);
		break;
	case 6:
		gen_put(g, "{", 1);
		n = (int)(rnd(g->st) % 5);
		for (i = 0; i < n; i++) {
			if (i > 0)
				gen_put(g, ",", 1);
			gen_ws(g);
			gen_string(g, 1);
			gen_ws(g);
			gen_put(g, ":", 1);
			gen_value(g, depth + 1);
		}
		gen_ws(g);
		gen_put(g, "}", 1);
		break;
	case 7:
		n = 60 + (int)(rnd(g->st) % 8);
		for (i = 0; i < n; i++)
			gen_put(g, i % 2 ? "[" : "{\"d\":", i % 2 ? 1 : 5);
		gen_number(g);
		for (i = n - 1; i >= 0; i--)
			gen_put(g, i % 2 ? "]" : "}", 1);
		break;
	}
	gen_ws(g);
}

/* A generated object into buf; its length. */
static size_t
gen_text(uint64_t *st, char *buf, size_t cap)
{
	struct gen	 g = { st, buf, 0, cap };
	int		 i, n;

	gen_put(&g, "{", 1);
	n = 1 + (int)(rnd(st) % 6);
	for (i = 0; i < n; i++) {
		if (i > 0)
			gen_put(&g, ",", 1);
		gen_string(&g, 1);
		gen_put(&g, ":", 1);
		gen_value(&g, 1);
	}
	gen_put(&g, "}", 1);
	return g.len;
}

/*
 * Random texts: generated ones, and mutations of the corpus, of some edge
 * cases and of generated texts: bytes replaced (at random or by JSON's own
 * characters), inserted, deleted, repeated, texts cut and spliced.
 * EVBUS_TEST_MUTATIONS sets the count.
 */
static void
test_diff_mutations(void)
{
	static const char	 toks[] = "{}[]\",:\\0123456789-+.eEtrufalsn"
	    " \t\r\n\x7f\x80\xbf\xc3\xa9\xe2\xed\xf0\xf4\xff'NIu/bfx";
	static const char *const chunks[] = { "\\u0000", "\\ud83d",
	    "\\ude00", "\\ud83d\\ude00", "1e5", "-0", "00", "01", ".5",
	    "1.", "18446744073709551616", "-9223372036854775809",
	    "9223372036854775808", "NaN", "true", "null", "\"a\":",
	    "[[[[", "]]]]", "{\"a\":{", "\xc3\xa9", "\xf0\x9f\x98\x80",
	    "\\n", "\\\"", "\"\"", ",", "" };
	struct diffrun	 r = { "mutations", 0, 0, 0 };
	struct timespec	 t0, t1;
	uint64_t	 st = UINT64_C(0x9e3779b97f4a7c15);
	char		**texts, *buf, *env;
	size_t		*lens, n, ns, len, pos, k, m, cap = 16384, i;
	long		 iters = 300000, it;
	int		 nmut;

#ifdef RUNNING_ON_VALGRIND
	if (RUNNING_ON_VALGRIND)
		iters = 20000;
#endif
	if ((env = getenv("EVBUS_TEST_MUTATIONS")) != NULL && *env != '\0')
		iters = strtol(env, NULL, 10);
	n = corpus_load(&texts, &lens);
	CU_ASSERT_FATAL(n > 0);
	/* The edge values in an object join the seeds. */
	ns = n + sizeof(edge_values) / sizeof(edge_values[0]);
	texts = reallocarray(texts, ns, sizeof(*texts));
	lens = reallocarray(lens, ns, sizeof(*lens));
	CU_ASSERT_PTR_NOT_NULL_FATAL(texts);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lens);
	for (i = n; i < ns; i++) {
		texts[i] = malloc(edge_values[i - n].len + 16);
		CU_ASSERT_PTR_NOT_NULL_FATAL(texts[i]);
		memcpy(texts[i], "{\"v\":", 5);
		memcpy(texts[i] + 5, edge_values[i - n].s,
		    edge_values[i - n].len);
		memcpy(texts[i] + 5 + edge_values[i - n].len, "}", 1);
		lens[i] = edge_values[i - n].len + 6;
	}
	buf = malloc(cap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (it = 0; it < iters; it++) {
		/* Half generated, a third of those left intact. */
		if (rnd(&st) % 2) {
			len = gen_text(&st, buf, cap / 2);
			nmut = (int)(rnd(&st) % 3);
		} else {
			k = rnd(&st) % ns;
			len = lens[k];
			memcpy(buf, texts[k], len);
			nmut = 1 + (int)(rnd(&st) % 4);
		}
		for (; nmut > 0; nmut--) {
			pos = len > 0 ? rnd(&st) % (len + 1) : 0;
			switch (rnd(&st) % 8) {
			case 0:		/* any byte */
				if (pos < len)
					buf[pos] = (char)rnd(&st);
				break;
			case 1:		/* a JSON character */
				if (pos < len)
					buf[pos] = toks[rnd(&st) %
					    (sizeof(toks) - 1)];
				break;
			case 2:		/* inserted */
				if (len + 1 >= cap)
					break;
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = toks[rnd(&st) % (sizeof(toks) - 1)];
				len++;
				break;
			case 3:		/* deleted, up to 8 */
				m = 1 + rnd(&st) % 8;
				if (pos + m > len)
					m = len - pos;
				memmove(buf + pos, buf + pos + m,
				    len - pos - m);
				len -= m;
				break;
			case 4:		/* a troublesome chunk */
				i = rnd(&st) % (sizeof(chunks) /
				    sizeof(chunks[0]));
				m = strlen(chunks[i]);
				if (len + m >= cap)
					break;
				memmove(buf + pos + m, buf + pos, len - pos);
				memcpy(buf + pos, chunks[i], m);
				len += m;
				break;
			case 5:		/* cut */
				len = pos;
				break;
			case 6:		/* a piece repeated */
				m = 1 + rnd(&st) % 32;
				if (pos + m > len)
					m = len - pos;
				if (len + m >= cap)
					break;
				memmove(buf + pos + m, buf + pos, len - pos);
				len += m;
				break;
			case 7:		/* the tail of another text */
				i = rnd(&st) % ns;
				m = lens[i] > 0 ? rnd(&st) % lens[i] : 0;
				if (pos + lens[i] - m >= cap)
					break;
				memcpy(buf + pos, texts[i] + m, lens[i] - m);
				len = pos + lens[i] - m;
				break;
			}
		}
		diff_check(&r, buf, len);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	diff_done(&r);
	printf("in %.2f s ", (double)(t1.tv_sec - t0.tv_sec) +
	    (t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(buf);
	corpus_free(texts, lens, ns);
}

/* What the parser builds, checked directly rather than against the old. */
static void
test_parse_tree(void)
{
	static const char in[] = "{\"i\":9223372036854775807,"
	    "\"u\":9223372036854775808,\"n\":-9223372036854775808,"
	    "\"z\":-0,\"d\":1.50,\"e\":1E+5,\"m\":-0.0,\"s\":\"a\\u0000b\","
	    "\"k\":\"\\ud83d\\ude00\",\"b\":[true,false,null],"
	    "\"p\":\"\\uD836\\uDE00\\udbf7\\udfff\",\"i\":7}";
	struct json_object	*obj, *v;
	struct json_object_iterator it;
	const char		*name;
	char			 err[256], *big, *p;
	size_t			 i;

	obj = evbus_json_parse_object(in, sizeof(in) - 1, err, sizeof(err));
	cu_checkf(obj != NULL, "rejected: %s", err);
	if (obj == NULL)
		return;
	/* The repeated "i" keeps the first place and takes the last value. */
	it = json_object_iter_begin(obj);
	CU_ASSERT_STRING_EQUAL(json_object_iter_peek_name(&it), "i");
	CU_ASSERT_EQUAL(json_object_get_int64(json_object_iter_peek_value(
	    &it)), 7);
	CU_ASSERT_EQUAL(json_object_object_length(obj), 11);
	json_object_object_get_ex(obj, "u", &v);
	CU_ASSERT(json_object_is_type(v, json_type_int));
	CU_ASSERT_EQUAL(json_object_get_int64(v), INT64_MAX);
	CU_ASSERT(json_object_get_uint64(v) == UINT64_C(9223372036854775808));
	json_object_object_get_ex(obj, "n", &v);
	CU_ASSERT_EQUAL(json_object_get_int64(v), INT64_MIN);
	json_object_object_get_ex(obj, "z", &v);
	CU_ASSERT(json_object_is_type(v, json_type_int));
	CU_ASSERT_EQUAL(json_object_get_int64(v), 0);
	/* Doubles keep their text for json-c's writer. */
	json_object_object_get_ex(obj, "d", &v);
	CU_ASSERT(json_object_is_type(v, json_type_double));
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(v), "1.50");
	json_object_object_get_ex(obj, "e", &v);
	CU_ASSERT(json_object_get_double(v) == 1e5);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(v), "1E+5");
	/* A negative zero double keeps its text. */
	json_object_object_get_ex(obj, "m", &v);
	CU_ASSERT(json_object_is_type(v, json_type_double));
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(v), "-0.0");
	json_object_object_get_ex(obj, "s", &v);
	CU_ASSERT_EQUAL(json_object_get_string_len(v), 3);
	CU_ASSERT(memcmp(json_object_get_string(v), "a\0b", 4) == 0);
	json_object_object_get_ex(obj, "k", &v);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v),
	    "\xf0\x9f\x98\x80");
	json_object_object_get_ex(obj, "p", &v);
	/* json-c 0.16 made U+FFFD of these; Python decodes them. */
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v),
	    "\xf0\x9d\xa8\x80\xf4\x8d\xbf\xbf");
	json_object_object_get_ex(obj, "b", &v);
	CU_ASSERT_EQUAL(json_object_array_length(v), 3);
	CU_ASSERT_PTR_NULL(json_object_array_get_idx(v, 2));
	json_object_put(obj);

	/*
	 * Escaped keys wait in the scratch buffer while their values, also
	 * escaped and longer than its inline part, are parsed after them.
	 */
	big = malloc(20000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	p = big;
	p += sprintf(p, "{\"");
	for (i = 0; i < 600; i++)
		*p++ = 'k';
	p += sprintf(p, "\\n\":{\"");
	for (i = 0; i < 700; i++)
		*p++ = 'l';
	p += sprintf(p, "\\t\":[\"");
	for (i = 0; i < 3000; i++)
		*p++ = 'v';
	p += sprintf(p, "\\u00e9\"]}}");
	obj = evbus_json_parse_object(big, (size_t)(p - big), err,
	    sizeof(err));
	cu_checkf(obj != NULL, "long escaped strings rejected: %s", err);
	if (obj != NULL) {
		it = json_object_iter_begin(obj);
		name = json_object_iter_peek_name(&it);
		CU_ASSERT_EQUAL(strlen(name), 601);
		CU_ASSERT(name[599] == 'k' && name[600] == '\n');
		v = json_object_iter_peek_value(&it);
		it = json_object_iter_begin(v);
		name = json_object_iter_peek_name(&it);
		CU_ASSERT_EQUAL(strlen(name), 701);
		CU_ASSERT(name[699] == 'l' && name[700] == '\t');
		v = json_object_array_get_idx(json_object_iter_peek_value(&it),
		    0);
		CU_ASSERT_EQUAL(json_object_get_string_len(v), 3002);
		CU_ASSERT_STRING_EQUAL(json_object_get_string(v) + 3000,
		    "\xc3\xa9");
	}
	json_object_put(obj);
	free(big);

	/*
	 * Nothing carries over from a refused body: json-c's reused tokener
	 * kept a high surrogate left pending and put a U+FFFD before the
	 * next body's first \u escape.
	 */
	obj = evbus_json_parse_object("{\"a\":\"\\ud83d\\u", 14, err,
	    sizeof(err));
	CU_ASSERT_PTR_NULL(obj);
	obj = evbus_json_parse_object("{\"v\":\"\\u00e9\"}", 14, err,
	    sizeof(err));
	cu_checkf(obj != NULL && json_object_object_get_ex(obj, "v", &v) &&
	    strcmp(json_object_get_string(v), "\xc3\xa9") == 0,
	    "after a cut surrogate pair: %s", obj != NULL ?
	    json_object_to_json_string(obj) : err);
	json_object_put(obj);
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

static void
test_float_repr(void)
{
	/* Python's repr(), verified with CPython 3.11. */
	static const struct {
		double		 v;
		const char	*want;
	} cases[] = {
		{ 0.0, "0.0" }, { -0.0, "-0.0" }, { 1.0, "1.0" },
		{ 0.1, "0.1" }, { 100.0, "100.0" }, { 99.5, "99.5" },
		{ -1.5, "-1.5" }, { 1e16, "1e+16" },
		{ 1e15, "1000000000000000.0" },
		{ 1.5e16, "1.5e+16" }, { 1e20, "1e+20" }, { 1e-4, "0.0001" },
		{ 1e-5, "1e-05" }, { 2.5e-5, "2.5e-05" }, { 1.5e-7, "1.5e-07" },
		{ 0.000123, "0.000123" }, { 1.2345e-10, "1.2345e-10" },
		{ 5e-324, "5e-324" }, { 1.7976931348623157e308,
		  "1.7976931348623157e+308" }, { 1.0 / 3,
		  "0.3333333333333333" }, { 123456789.125, "123456789.125" },
		{ 1.2345678901234568e+20, "1.2345678901234568e+20" },
		{ NAN, "nan" }, { INFINITY, "inf" }, { -INFINITY, "-inf" },
		{ 0, NULL }
	};
	char	 buf[32], tiny[4];
	int	 i;

	for (i = 0; cases[i].want != NULL; i++) {
		evbus_float_repr(cases[i].v, buf, sizeof(buf));
		cu_checkf(strcmp(buf, cases[i].want) == 0,
		    "%.17g: expected %s, got %s", cases[i].v, cases[i].want,
		    buf);
	}
	CU_ASSERT_STRING_EQUAL(evbus_float_repr(123.5, tiny, sizeof(tiny)),
	    "123");
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
	{ "occurred_at parsing and UTC conversion", test_timestamps },
	{ "evbus_time_format Z and +00:00", test_time_format },
	{ "UUID normalisation and uuid4", test_uuid },
	{ "strings and numbers as pydantic writes them",
	  test_serialize_values },
	{ "evbus_event_from_json", test_from_json },
	{ "evbus_json_parse_object", test_json_parse_object },
	{ "serialising an event built by hand", test_serialize_by_hand },
	{ "routing key", test_routing_key },
	{ "aggregate_type pattern", test_aggregate_type },
	{ "evbus_float_repr is Python's repr", test_float_repr },
	{ NULL, NULL }
};

static const struct cu_test parser_tests[] = {
	{ "the trees the parser builds", test_parse_tree },
	{ "same as the old parser: fuzz corpus", test_diff_corpus },
	{ "same as the old parser: edge cases", test_diff_edges },
	{ "same as the old parser: random mutations", test_diff_mutations },
	{ NULL, NULL }
};

static const struct cu_suite suites[] = {
	{ "event: envelope", example_tests },
	{ "event: validation", validation_tests },
	{ "event: formats", format_tests },
	{ "event: body parser", parser_tests },
	{ NULL, NULL }
};

int
main(void)
{
	return cu_run(suites);
}
