/*
 * fuzz_event.c: libFuzzer target for the event codec (shared/event.c) and
 * what it stands on (pyjson_parse.c, pyjson_write.c, uuid.c, isotime.c).
 *
 * Parses the input with every flag combination; each event that parses
 * is serialised, and the result must parse again (without defaults: it
 * is what evbus puts on the wire) to the same event, field by field, and
 * serialise to the same bytes.  The text helpers that take C strings (UUIDs, times)
 * get the input too.  The body parser must also agree with the old
 * three-pass one kept in event_ref.h: same verdict, same tree, same bytes
 * out.  Any crash, sanitizer report or abort() is a bug.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "event.h"
#include "event_ref.h"
#include "isotime.h"
#include "pyjson.h"
#include "uuid.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Every field of a equals b's (metadata and payload as JSON values). */
static int
same_event(const struct evbus_event *a, const struct evbus_event *b)
{
	return strcmp(a->event_id, b->event_id) == 0 &&
	    same_str(a->event_type, b->event_type) &&
	    a->event_version == b->event_version &&
	    a->occurred_sec == b->occurred_sec &&
	    a->occurred_usec == b->occurred_usec &&
	    strcmp(a->aggregate_id, b->aggregate_id) == 0 &&
	    same_str(a->aggregate_type, b->aggregate_type) &&
	    a->aggregate_version == b->aggregate_version &&
	    strcmp(a->tenant_id, b->tenant_id) == 0 &&
	    same_str(a->actor_id, b->actor_id) &&
	    strcmp(a->correlation_id, b->correlation_id) == 0 &&
	    strcmp(a->causation_id, b->causation_id) == 0 &&
	    json_object_equal(a->metadata, b->metadata) &&
	    json_object_equal(a->payload, b->payload);
}

/* The base fields of a equal b's (from_tape has no metadata, payload). */
static int
same_base(const struct evbus_event *a, const struct evbus_event *b)
{
	struct evbus_event	 x = *a, y = *b;

	x.metadata = y.metadata = x.payload = y.payload = NULL;
	return same_event(&x, &y);
}

/*
 * The worker's way (a tape, no tree) must say what the tree's way says,
 * in the same words, and build the same event; with a default event_type
 * too, as the worker passes the header's.
 */
static void
tape_agrees(const uint8_t *data, size_t size, int flags,
    struct pyjson_tape *t)
{
	static const char	*types[] = { NULL, "HeaderType" };
	struct evbus_event	 a, b;
	struct json_object	*obj;
	struct pyjson_error	 e;
	char			 ea[512], eb[512];
	size_t			 k;
	int			 ra, rb;

	for (k = 0; k < 2; k++) {
		ea[0] = eb[0] = '\0';
		memset(&a, 0, sizeof(a));
		ra = -1;
		if ((obj = evbus_json_parse_object((const char *)data, size,
		    ea, sizeof(ea))) != NULL) {
			if (types[k] != NULL &&
			    !json_object_object_get_ex(obj, "event_type", NULL))
				json_object_object_add(obj, "event_type",
				    json_object_new_string(types[k]));
			ra = evbus_event_from_json(obj, flags, &a, ea,
			    sizeof(ea));
			json_object_put(obj);
		}
		memset(&b, 0, sizeof(b));
		if (pyjson_parse_tape((const char *)data, size, t, &e) == -1)
			rb = evbus_json_error(&e, size, eb, sizeof(eb));
		else if (t->node[0].type != PYJSON_OBJECT)
			rb = -1, snprintf(eb, sizeof(eb),
			    "body: not a JSON object");
		else
			rb = evbus_event_from_tape(t, types[k], flags, &b, eb,
			    sizeof(eb));
		if (ra != rb || (ra == -1 && strcmp(ea, eb) != 0) ||
		    (ra == 0 && !(flags & EVBUS_EVENT_FILL_DEFAULTS) &&
		    !same_base(&a, &b))) {
			fprintf(stderr, "tape and tree differ (flags %d, type "
			    "%s): %d \"%s\" vs %d \"%s\"\n", flags,
			    types[k] ? types[k] : "-", ra, ea, rb, eb);
			abort();
		}
		evbus_event_free(&a);
		evbus_event_free(&b);
	}
}

/*
 * Serialise ev; its output must parse back to the same event and
 * serialise to the same bytes.
 */
static void
round_trip(const struct evbus_event *ev)
{
	struct evbus_event	 again;
	char			*s1, *s2, err[512];
	size_t			 l1, l2;

	if ((s1 = evbus_event_serialize(ev, &l1)) == NULL)
		return;		/* nested too deep: documented */
	if (strlen(s1) != l1) {
		fprintf(stderr, "serialize: length %zu, strlen %zu\n", l1,
		    strlen(s1));
		abort();
	}
	if (evbus_event_parse(s1, l1, 0, &again, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "serialized event does not parse: %s\n%s\n",
		    err, s1);
		abort();
	}
	if (!same_event(ev, &again)) {
		fprintf(stderr, "serialized event parses to another event:\n"
		    "%s\n", s1);
		abort();
	}
	if ((s2 = evbus_event_serialize(&again, &l2)) == NULL ||
	    l1 != l2 || memcmp(s1, s2, l1) != 0) {
		fprintf(stderr, "serialization not stable:\n%s\n%s\n", s1,
		    s2 != NULL ? s2 : "(null)");
		abort();
	}
	free(s2);
	free(s1);
	evbus_event_free(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int	 flags[] = {
		0,
		EVBUS_EVENT_FILL_DEFAULTS,
		EVBUS_EVENT_NO_EXTRA,
		EVBUS_EVENT_FILL_DEFAULTS | EVBUS_EVENT_NO_EXTRA,
	};
	static struct pyjson_tape tape;
	struct evbus_event	 ev;
	struct json_object	*obj;
	char			 err[512], *s, uuid[EVBUS_UUID_LEN + 1];
	char			 why[1024];
	char			 when[EVBUS_TIME_LEN];
	int64_t			 sec;
	int32_t			 usec;
	size_t			 i;

	if (json_diff((const char *)data, size, why, sizeof(why)) == -1) {
		fprintf(stderr, "the old and the new parser differ: %s\n",
		    why);
		abort();
	}

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (evbus_event_parse((const char *)data, size, flags[i], &ev,
		    err, sizeof(err)) == 0)
			round_trip(&ev);
		else if (err[0] == '\0') {
			fprintf(stderr, "parse failed without a message\n");
			abort();
		}
		evbus_event_free(&ev);
		tape_agrees(data, size, flags[i], &tape);
	}

	if ((obj = evbus_json_parse_object((const char *)data, size, err,
	    sizeof(err))) != NULL) {
		if (evbus_event_from_json(obj, EVBUS_EVENT_FILL_DEFAULTS, &ev,
		    err, sizeof(err)) == 0)
			round_trip(&ev);
		evbus_event_free(&ev);
		json_object_put(obj);
	}

	/* The string helpers, on the input as a C string. */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (evbus_uuid_normalize(s, uuid) == 0 &&
	    (strlen(uuid) != EVBUS_UUID_LEN ||
	    evbus_uuid_normalize(uuid, uuid) != 0)) {
		fprintf(stderr, "uuid_normalize: bad result %s\n", uuid);
		abort();
	}
	if (evbus_time_parse(s, &sec, &usec) == 0) {
		int64_t	 sec2;
		int32_t	 usec2;

		if (usec < 0 || usec > 999999) {
			fprintf(stderr, "time_parse: usec %d\n", (int)usec);
			abort();
		}
		/* Formatting and parsing again must give the same instant. */
		evbus_time_format(sec, usec, EVBUS_TIME_Z, when, sizeof(when));
		if (evbus_time_parse(when, &sec2, &usec2) == 0 &&
		    (sec2 != sec || usec2 != usec)) {
			fprintf(stderr, "time round trip: %s\n", when);
			abort();
		}
	}
	(void)evbus_aggregate_type_valid(s);
	free(s);
	return 0;
}
