/*
 * event.h: the eventsource-py event envelope (wire spec 3.2).
 *
 * A parsed event keeps the twelve base fields in typed form and everything
 * else (the payload) as a json-c object whose keys keep their input order.
 * Serialisation writes the base keys in the exact eventsource-py order and
 * formats (compact JSON, "Z" timestamps, lowercase hyphenated UUIDs),
 * followed by the payload keys.  The JSON dialect is pyjson.h's, UUIDs
 * are uuid.h's and times isotime.h's.
 */
#ifndef EVBUS_EVENT_H
#define EVBUS_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "uuid.h"	/* EVBUS_UUID_LEN */
/* For the callers that format times and always found them here. */
#include "isotime.h"

struct json_object;

struct evbus_event {
	char			 event_id[EVBUS_UUID_LEN + 1];
	char			*event_type;
	int64_t			 event_version;
	int64_t			 occurred_sec;	/* seconds since the epoch, UTC */
	int32_t			 occurred_usec;	/* 0..999999 */
	char			 aggregate_id[EVBUS_UUID_LEN + 1];
	char			*aggregate_type;
	int64_t			 aggregate_version;
	char			 tenant_id[EVBUS_UUID_LEN + 1];	/* "" = null */
	char			*actor_id;			/* NULL = null */
	char			 correlation_id[EVBUS_UUID_LEN + 1];
	char			 causation_id[EVBUS_UUID_LEN + 1];	/* "" = null */
	struct json_object	*metadata;	/* object, never NULL after parse */
	struct json_object	*payload;	/* object of the remaining keys */
	int			 borrowed;	/* the strings point into the
						   tree or tape parsed */
};

/* Flags for evbus_event_parse(). */
#define EVBUS_EVENT_FILL_DEFAULTS	0x01	/* fill event_id, occurred_at, correlation_id, versions, metadata */
#define EVBUS_EVENT_NO_EXTRA		0x02	/* refuse keys beyond the base fields */
#define EVBUS_EVENT_SHARE		0x04	/* from_json: metadata and payload
						   reference obj's values instead of
						   copying them, and the strings point
						   into it; obj must outlive ev */
#define EVBUS_EVENT_NO_PAYLOAD		0x08	/* from_json: check the other keys
						   but build no payload (NULL): the
						   caller reads them from obj */

/*
 * Parse and validate one event from a JSON text of len bytes (not
 * necessarily NUL-terminated).  Without FILL_DEFAULTS event_id,
 * occurred_at and correlation_id must be present; with it, missing
 * event_id/correlation_id get fresh UUID4s and occurred_at gets now.
 * Either way the versions default to 1, metadata to {} and the nullable
 * fields (tenant_id, actor_id, causation_id) to null, as their Python
 * class defaults do.  aggregate_id, aggregate_type and event_type are
 * always required.  UUIDs are normalised to lowercase hyphenated form and
 * occurred_at is converted to UTC.
 *
 * The text must be valid UTF-8 and strict JSON (no NaN/Infinity, no lone
 * surrogates, integers within 64 bits, nesting at most 64 deep).
 *
 * Returns 0, or -1 with err naming the field ("aggregate_id: not a UUID:
 * \"xyz\"", "body: invalid JSON at offset 7: ...").  *ev is overwritten
 * first; on failure it is left empty (safe to evbus_event_free).
 */
int	 evbus_event_parse(const char *json, size_t len, int flags,
	    struct evbus_event *ev, char *err, size_t errlen);

/*
 * The same from an already parsed JSON object (not consumed: metadata and
 * payload are deep copies, obj may be changed or freed afterwards).  Only
 * the tree is checked; parse text with evbus_json_parse_object() first to
 * get the checks on the text too.
 */
int	 evbus_event_from_json(struct json_object *obj, int flags,
	    struct evbus_event *ev, char *err, size_t errlen);

/*
 * Serialise to compact JSON, as pydantic's model_dump_json() would.
 * Returns a malloc'd NUL-terminated string (length in *lenp if not NULL),
 * or NULL on allocation failure or a metadata/payload value nested deeper
 * than 64.  Payload keys named like a base field are skipped.
 */
char	*evbus_event_serialize(const struct evbus_event *ev, size_t *lenp);

/*
 * The same from a tape (pyjson_parse_tape() of the body), without json-c:
 * the worker's way, which costs no heap allocation.  event_type, when not
 * NULL, is the type for a body without one (eventsource-py takes it from
 * the event_type header).  ev's strings point into the tape (and into
 * event_type), which must outlive ev; ev has no metadata and no payload
 * (read the body's fields from the tape).  FILL_DEFAULTS and NO_EXTRA as
 * for evbus_event_parse(); the verdict and its words are the same too.
 */
struct pyjson_tape;
int	 evbus_event_from_tape(const struct pyjson_tape *t,
	    const char *event_type, int flags, struct evbus_event *ev,
	    char *err, size_t errlen);

/*
 * The text checks of evbus_event_parse() alone: len bytes (not necessarily
 * NUL-terminated) of valid UTF-8 holding one strict JSON object (no NaN or
 * Infinity, no lone surrogates, no raw control characters in strings,
 * integers within 64 bits, no \u0000 in keys, nesting at most 64 deep,
 * nothing but whitespace after it): pyjson_parse() (pyjson.h) in the
 * words of a message body.  json-c alone lets all of these through or
 * mangles them silently, even with JSON_TOKENER_STRICT.  Returns a new
 * reference, or NULL with err set ("body: invalid JSON at offset 7: ...",
 * "body: not a JSON object").
 */
struct json_object *evbus_json_parse_object(const char *json, size_t len,
	    char *err, size_t errlen);
/*
 * pyjson_parse()'s or pyjson_parse_tape()'s *e for a body of len bytes, in
 * the same words; returns -1.
 */
struct pyjson_error;
int	 evbus_json_error(const struct pyjson_error *e, size_t len,
	    char *err, size_t errlen);

/* "{aggregate_type}.{event_type}" into buf; -1 if it does not fit. */
int	 evbus_event_routing_key(const struct evbus_event *ev, char *buf,
	    size_t len);

/* Release what evbus_event_parse allocated; the struct is zeroed. */
void	 evbus_event_free(struct evbus_event *ev);

/* 1 when s matches ^[A-Za-z0-9_.-]+$ (aggregate_type). */
int	 evbus_aggregate_type_valid(const char *s);

#endif
