/*
 * event.c: the eventsource-py event envelope (wire spec 3.2), parsed from
 * and serialised to JSON byte for byte as pydantic's model_dump_json().
 *
 * Bodies are parsed in one pass by a strict parser of our own that builds
 * the json-c tree directly: json-c's tokener is lax even in strict mode
 * (NaN, single quotes, raw control characters in strings, "1.", lone
 * surrogates turned into U+FFFD, integers clamped to 64 bits, keys cut at
 * \u0000) and checking its input before and after cost two more passes.
 * Serialisation walks the tree itself: strings are escaped as pydantic
 * (and Python's json with ensure_ascii=False) does, and doubles are
 * written in pydantic's shortest round-trip format.
 */
#include "config.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "event.h"

#define EVENT_MAX_DEPTH		64	/* nested arrays and objects */
#define EVENT_QUOTE_MAX		64	/* bytes of a value quoted */

enum {
	F_EVENT_ID,
	F_EVENT_TYPE,
	F_EVENT_VERSION,
	F_OCCURRED_AT,
	F_AGGREGATE_ID,
	F_AGGREGATE_TYPE,
	F_AGGREGATE_VERSION,
	F_TENANT_ID,
	F_ACTOR_ID,
	F_CORRELATION_ID,
	F_CAUSATION_ID,
	F_METADATA,
	F_NFIELDS
};

/* In eventsource-py's declaration order, which is the wire order. */
static const char *const base_keys[F_NFIELDS] = {
	"event_id",
	"event_type",
	"event_version",
	"occurred_at",
	"aggregate_id",
	"aggregate_type",
	"aggregate_version",
	"tenant_id",
	"actor_id",
	"correlation_id",
	"causation_id",
	"metadata",
};

/*
 * A growing output buffer; oom sticks once an allocation failed.  With a
 * limit, output past it is dropped (error messages quote a prefix).
 */
struct wbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	size_t	 limit;
	int	 oom;
};

static int	 event_error(char *, size_t, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
static char	*float_format(double, int, char *, size_t);

static int
event_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void
wb_put(struct wbuf *b, const void *p, size_t n)
{
	char	*np;
	size_t	 ncap;

	if (b->oom)
		return;
	if (b->limit > 0 && b->len + n > b->limit) {
		if (b->len >= b->limit)
			return;
		n = b->limit - b->len;
	}
	if (b->cap - b->len <= n) {
		ncap = b->cap ? b->cap : 256;
		while (ncap - b->len <= n) {
			if (ncap > SIZE_MAX / 2) {
				b->oom = 1;
				return;
			}
			ncap *= 2;
		}
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
wb_puts(struct wbuf *b, const char *s)
{
	wb_put(b, s, strlen(s));
}

/*
 * A JSON string as Python's json.dumps(ensure_ascii=False) and pydantic
 * write it: only '"', '\\' and control characters are escaped, the usual
 * five by letter, the others as lowercase \u00xx; "/" and DEL stay raw.
 */
static void
wb_string(struct wbuf *b, const char *s, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	const char		*run = s;
	char			 esc[7];
	unsigned char		 c;
	size_t			 i;

	wb_put(b, "\"", 1);
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		wb_put(b, run, s + i - run);
		run = s + i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			wb_put(b, esc, 6);
			continue;
		}
		wb_put(b, esc, 2);
	}
	wb_put(b, run, s + n - run);
	wb_put(b, "\"", 1);
}

/* v as compact JSON; -1 when out of memory or nested too deeply. */
static int
wb_value(struct wbuf *b, struct json_object *v, int depth)
{
	struct json_object_iterator	 it, end;
	char				 num[40];
	const char			*s;
	size_t				 i, n;
	int64_t				 i64;

	if (depth > EVENT_MAX_DEPTH && (json_object_is_type(v,
	    json_type_array) || json_object_is_type(v, json_type_object))) {
		b->oom = 1;
		return -1;
	}
	switch (json_object_get_type(v)) {
	case json_type_null:
		wb_put(b, "null", 4);
		break;
	case json_type_boolean:
		wb_puts(b, json_object_get_boolean(v) ? "true" : "false");
		break;
	case json_type_int:
		/* json-c keeps values above INT64_MAX as uint64. */
		i64 = json_object_get_int64(v);
		if (i64 == INT64_MAX)
			snprintf(num, sizeof(num), "%ju",
			    (uintmax_t)json_object_get_uint64(v));
		else
			snprintf(num, sizeof(num), "%jd", (intmax_t)i64);
		wb_puts(b, num);
		break;
	case json_type_double:
		/*
		 * Formatted afresh rather than from the text json-c kept:
		 * "99.5", "1e+20" and "100.0" come out as they came in, and
		 * "1E5" or "1.50" come out as pydantic writes them.
		 */
		wb_puts(b, float_format(json_object_get_double(v), 0, num,
		    sizeof(num)));
		break;
	case json_type_string:
		wb_string(b, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
		break;
	case json_type_array:
		wb_put(b, "[", 1);
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			if (i > 0)
				wb_put(b, ",", 1);
			if (wb_value(b, json_object_array_get_idx(v, i),
			    depth + 1) == -1)
				return -1;
		}
		wb_put(b, "]", 1);
		break;
	case json_type_object:
		wb_put(b, "{", 1);
		it = json_object_iter_begin(v);
		end = json_object_iter_end(v);
		for (i = 0; !json_object_iter_equal(&it, &end); i++) {
			if (i > 0)
				wb_put(b, ",", 1);
			s = json_object_iter_peek_name(&it);
			wb_string(b, s, strlen(s));
			wb_put(b, ":", 1);
			if (wb_value(b, json_object_iter_peek_value(&it),
			    depth + 1) == -1)
				return -1;
			json_object_iter_next(&it);
		}
		wb_put(b, "}", 1);
		break;
	}
	return b->oom ? -1 : 0;
}

/* v as compact JSON, shortened for an error message. */
static const char *
quote_value(struct json_object *v, char *buf, size_t len)
{
	struct wbuf	 b = { NULL, 0, 0, EVENT_QUOTE_MAX + 1, 0 };
	size_t		 n;

	if (wb_value(&b, v, 0) == -1 || b.p == NULL) {
		free(b.p);
		snprintf(buf, len, "(value)");
		return buf;
	}
	n = b.len;
	if (n > EVENT_QUOTE_MAX) {
		/* Cut at a character boundary. */
		n = EVENT_QUOTE_MAX;
		while (n > 0 && ((unsigned char)b.p[n] & 0xc0) == 0x80)
			n--;
		snprintf(buf, len, "%.*s...", (int)n, b.p);
	} else
		snprintf(buf, len, "%s", b.p);
	free(b.p);
	return buf;
}

/*
 * Length of the UTF-8 character at s (s[0] >= 0x80, n > 0 bytes left), or
 * 0 when it is invalid.  Strict as Python's decoder: no overlong forms, no
 * surrogates, nothing above U+10FFFF.
 */
static size_t
utf8_char(const unsigned char *s, size_t n)
{
	size_t		 k, need;
	uint32_t	 cp, min;

	if ((s[0] & 0xe0) == 0xc0) {
		need = 1;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		need = 2;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		need = 3;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n <= need)
		return 0;
	for (k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

/* Length of the valid UTF-8 prefix of s: n when all of s is valid. */
static size_t
utf8_valid_prefix(const unsigned char *s, size_t n)
{
	size_t		 i = 0, k;
	uint64_t	 w;

	while (i < n) {
		if (s[i] < 0x80) {
			/* Bodies are mostly ASCII: skip it 8 bytes at a time. */
			i++;
			while (n - i >= 8) {
				memcpy(&w, s + i, 8);
				if (w & UINT64_C(0x8080808080808080))
					break;
				i += 8;
			}
			continue;
		}
		if ((k = utf8_char(s + i, n - i)) == 0)
			return i;
		i += k;
	}
	return n;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * What json-c accepts in a tree but the wire does not: NaN and infinite
 * doubles (including "1e400", which strtod turns into inf), invalid UTF-8
 * in trees built in C, nesting deeper than the parser allows.
 */
static int
check_value(struct json_object *v, int depth, const char *field, char *err,
    size_t errlen)
{
	struct json_object_iterator	 it, end;
	const char			*name;
	size_t				 i, n;

	switch (json_object_get_type(v)) {
	case json_type_double:
		if (!isfinite(json_object_get_double(v)))
			return event_error(err, errlen, "%s: NaN and Infinity "
			    "are not allowed", field);
		break;
	case json_type_string:
		n = (size_t)json_object_get_string_len(v);
		if (utf8_valid_prefix((const unsigned char *)
		    json_object_get_string(v), n) != n)
			return event_error(err, errlen, "%s: invalid UTF-8",
			    field);
		break;
	case json_type_array:
		if (depth > EVENT_MAX_DEPTH)
			return event_error(err, errlen, "%s: nested too "
			    "deeply (max %d)", field, EVENT_MAX_DEPTH);
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			if (check_value(json_object_array_get_idx(v, i),
			    depth + 1, field, err, errlen) == -1)
				return -1;
		break;
	case json_type_object:
		if (depth > EVENT_MAX_DEPTH)
			return event_error(err, errlen, "%s: nested too "
			    "deeply (max %d)", field, EVENT_MAX_DEPTH);
		it = json_object_iter_begin(v);
		end = json_object_iter_end(v);
		for (; !json_object_iter_equal(&it, &end);
		    json_object_iter_next(&it)) {
			name = json_object_iter_peek_name(&it);
			n = strlen(name);
			if (utf8_valid_prefix((const unsigned char *)name, n) !=
			    n)
				return event_error(err, errlen, "%s: invalid "
				    "UTF-8 in a key", field);
			if (check_value(json_object_iter_peek_value(&it),
			    depth + 1, field, err, errlen) == -1)
				return -1;
		}
		break;
	default:
		break;
	}
	return 0;
}

static int
base_index(const char *key)
{
	int	 i;

	/* Every base key starts with one of a, c, e, m, o, t (cheap test). */
	switch (key[0]) {
	case 'a': case 'c': case 'e': case 'm': case 'o': case 't':
		break;
	default:
		return -1;
	}
	for (i = 0; i < F_NFIELDS; i++)
		if (key[0] == base_keys[i][0] && strcmp(key, base_keys[i]) == 0)
			return i;
	return -1;
}

/* A UUID field: present says whether the key was there, v NULL is null. */
static int
get_uuid(struct json_object *v, int present, int field, int nullable,
    int fill, char *out, char *err, size_t errlen)
{
	char		 q[EVENT_QUOTE_MAX + 8];
	const char	*s;

	out[0] = '\0';
	if (!present) {
		if (fill)
			evbus_uuid4(out);
		else if (!nullable)
			return event_error(err, errlen, "%s: field required",
			    base_keys[field]);
		return 0;
	}
	if (v == NULL) {
		if (nullable)
			return 0;
		return event_error(err, errlen, "%s: must not be null",
		    base_keys[field]);
	}
	if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		if (strlen(s) == (size_t)json_object_get_string_len(v) &&
		    evbus_uuid_normalize(s, out) == 0)
			return 0;
	}
	return event_error(err, errlen, "%s: not a UUID: %s", base_keys[field],
	    quote_value(v, q, sizeof(q)));
}

/* event_version, aggregate_version: integers >= 1, or digit strings. */
static int
get_version(struct json_object *v, int present, int field, int64_t *out,
    char *err, size_t errlen)
{
	char		 q[EVENT_QUOTE_MAX + 8];
	const char	*s;
	int64_t		 n;
	size_t		 i, len;

	*out = 1;
	if (!present)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		n = json_object_get_int64(v);
		if (n >= 1 && !(n == INT64_MAX &&
		    json_object_get_uint64(v) > INT64_MAX)) {
			*out = n;
			return 0;
		}
	} else if (json_object_is_type(v, json_type_string)) {
		/* Pydantic's lax mode takes "7" for 7. */
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		n = 0;
		for (i = 0; i < len && i < 18 && is_digit(s[i]); i++)
			n = n * 10 + (s[i] - '0');
		if (len > 0 && i == len && n >= 1) {
			*out = n;
			return 0;
		}
	}
	return event_error(err, errlen, "%s: must be an integer >= 1, got %s",
	    base_keys[field], quote_value(v, q, sizeof(q)));
}

/* A string without NUL bytes, in valid UTF-8. */
static int
get_string(struct json_object *v, const char **out)
{
	size_t	 len;

	if (!json_object_is_type(v, json_type_string))
		return -1;
	*out = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (strlen(*out) != len ||
	    utf8_valid_prefix((const unsigned char *)*out, len) != len)
		return -1;
	return 0;
}

/*
 * Validate obj into ev.  With share the payload and metadata take
 * references to obj's values (the parser's own tree); without, deep copies
 * (a caller's tree it may change later).
 */
static int
event_build(struct json_object *obj, int flags, int share,
    struct evbus_event *ev, char *err, size_t errlen)
{
	struct json_object_iterator	 it, end;
	struct json_object		*f[F_NFIELDS], *v, *copy;
	char				 q[EVENT_QUOTE_MAX + 8];
	const char			*name, *s;
	int				 seen[F_NFIELDS], fill, i;

	memset(ev, 0, sizeof(*ev));
	memset(f, 0, sizeof(f));
	memset(seen, 0, sizeof(seen));
	fill = (flags & EVBUS_EVENT_FILL_DEFAULTS) != 0;
	if (!json_object_is_type(obj, json_type_object))
		return event_error(err, errlen, "body: not a JSON object");

	it = json_object_iter_begin(obj);
	end = json_object_iter_end(obj);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		if ((i = base_index(name)) >= 0) {
			f[i] = json_object_iter_peek_value(&it);
			seen[i] = 1;
		} else if (flags & EVBUS_EVENT_NO_EXTRA)
			return event_error(err, errlen, "%s: extra field not "
			    "permitted", name);
	}

	if (get_uuid(f[F_EVENT_ID], seen[F_EVENT_ID], F_EVENT_ID, 0, fill,
	    ev->event_id, err, errlen) == -1)
		goto fail;

	if (!seen[F_EVENT_TYPE]) {
		event_error(err, errlen, "event_type: field required");
		goto fail;
	}
	if (get_string(f[F_EVENT_TYPE], &s) == -1 || *s == '\0') {
		event_error(err, errlen, "event_type: must be a non-empty "
		    "string, got %s", quote_value(f[F_EVENT_TYPE], q,
		    sizeof(q)));
		goto fail;
	}
	if ((ev->event_type = strdup(s)) == NULL)
		goto oom;

	if (get_version(f[F_EVENT_VERSION], seen[F_EVENT_VERSION],
	    F_EVENT_VERSION, &ev->event_version, err, errlen) == -1)
		goto fail;

	if (!seen[F_OCCURRED_AT]) {
		if (!fill) {
			event_error(err, errlen, "occurred_at: field required");
			goto fail;
		}
		evbus_time_now(&ev->occurred_sec, &ev->occurred_usec);
	} else if (get_string(f[F_OCCURRED_AT], &s) == -1 ||
	    evbus_time_parse(s, &ev->occurred_sec, &ev->occurred_usec) == -1) {
		event_error(err, errlen, "occurred_at: not an ISO-8601 "
		    "date-time: %s", quote_value(f[F_OCCURRED_AT], q,
		    sizeof(q)));
		goto fail;
	}

	/* aggregate_id has no default, even with FILL_DEFAULTS. */
	if (get_uuid(f[F_AGGREGATE_ID], seen[F_AGGREGATE_ID], F_AGGREGATE_ID,
	    0, 0, ev->aggregate_id, err, errlen) == -1)
		goto fail;

	if (!seen[F_AGGREGATE_TYPE]) {
		event_error(err, errlen, "aggregate_type: field required");
		goto fail;
	}
	if (get_string(f[F_AGGREGATE_TYPE], &s) == -1 ||
	    !evbus_aggregate_type_valid(s)) {
		event_error(err, errlen, "aggregate_type: must match "
		    "^[A-Za-z0-9_.-]+$, got %s",
		    quote_value(f[F_AGGREGATE_TYPE], q, sizeof(q)));
		goto fail;
	}
	if ((ev->aggregate_type = strdup(s)) == NULL)
		goto oom;

	if (get_version(f[F_AGGREGATE_VERSION], seen[F_AGGREGATE_VERSION],
	    F_AGGREGATE_VERSION, &ev->aggregate_version, err, errlen) == -1)
		goto fail;

	if (get_uuid(f[F_TENANT_ID], seen[F_TENANT_ID], F_TENANT_ID, 1, 0,
	    ev->tenant_id, err, errlen) == -1)
		goto fail;

	if (f[F_ACTOR_ID] != NULL) {
		if (get_string(f[F_ACTOR_ID], &s) == -1) {
			event_error(err, errlen, "actor_id: must be a string "
			    "or null, got %s", quote_value(f[F_ACTOR_ID], q,
			    sizeof(q)));
			goto fail;
		}
		if ((ev->actor_id = strdup(s)) == NULL)
			goto oom;
	}

	/* Never null; only FILL_DEFAULTS makes one up. */
	if (get_uuid(f[F_CORRELATION_ID], seen[F_CORRELATION_ID],
	    F_CORRELATION_ID, 0, fill, ev->correlation_id, err, errlen) == -1)
		goto fail;

	if (get_uuid(f[F_CAUSATION_ID], seen[F_CAUSATION_ID], F_CAUSATION_ID,
	    1, 0, ev->causation_id, err, errlen) == -1)
		goto fail;

	if (!seen[F_METADATA]) {
		if ((ev->metadata = json_object_new_object()) == NULL)
			goto oom;
	} else if (!json_object_is_type(f[F_METADATA], json_type_object)) {
		event_error(err, errlen, "metadata: must be a JSON object, got "
		    "%s", quote_value(f[F_METADATA], q, sizeof(q)));
		goto fail;
	} else {
		if (check_value(f[F_METADATA], 2, "metadata", err,
		    errlen) == -1)
			goto fail;
		if (share)
			ev->metadata = json_object_get(f[F_METADATA]);
		else if (json_object_deep_copy(f[F_METADATA], &ev->metadata,
		    NULL) != 0)
			goto oom;
	}

	/* Everything else is payload, in input order. */
	if ((ev->payload = json_object_new_object()) == NULL)
		goto oom;
	it = json_object_iter_begin(obj);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		if (base_index(name) >= 0)
			continue;
		v = json_object_iter_peek_value(&it);
		if (check_value(v, 2, name, err, errlen) == -1)
			goto fail;
		if (utf8_valid_prefix((const unsigned char *)name,
		    strlen(name)) != strlen(name)) {
			event_error(err, errlen, "body: invalid UTF-8 in a "
			    "key");
			goto fail;
		}
		copy = NULL;
		if (share)
			copy = json_object_get(v);
		else if (v != NULL && json_object_deep_copy(v, &copy,
		    NULL) != 0)
			goto oom;
		if (json_object_object_add(ev->payload, name, copy) != 0) {
			json_object_put(copy);
			goto oom;
		}
	}
	return 0;

oom:
	event_error(err, errlen, "out of memory");
fail:
	evbus_event_free(ev);
	return -1;
}

int
evbus_event_from_json(struct json_object *obj, int flags,
    struct evbus_event *ev, char *err, size_t errlen)
{
	return event_build(obj, flags & ~EVBUS_EVENT_SHARE,
	    (flags & EVBUS_EVENT_SHARE) != 0, ev, err, errlen);
}

/*
 * The body parser: one pass over the text that checks it (UTF-8, strict
 * RFC 8259 tokens, the depth limit) and builds the json-c tree as it goes.
 * The trees are the ones json-c's tokener built (integers as int64, above
 * INT64_MAX as uint64, doubles keeping their text, the last of repeated
 * keys winning in the first one's place), and it accepts exactly what
 * evbus accepted when it checked json-c's output, odd leading zeros
 * included (see jp_number()).  tests/fuzz/event_ref.h keeps that parser
 * to compare against.
 */
struct jparse {
	const unsigned char	*s;	/* the text */
	const unsigned char	*p;	/* the next byte */
	const unsigned char	*end;
	char			*buf;	/* keys, escaped strings */
	size_t			 used;	/* held by keys awaiting values */
	size_t			 cap;
	const unsigned char	*errp;	/* the offending byte */
	const char		*why;	/* NULL: invalid UTF-8 */
	int			 nomem;
	char			 small[512];
};

#define JP_ONES		UINT64_C(0x0101010101010101)
#define JP_HIGHS	UINT64_C(0x8080808080808080)

static int	 jp_value(struct jparse *, int, struct json_object **);

static int
jp_fail(struct jparse *jp, const unsigned char *p, const char *why)
{
	jp->errp = p;
	jp->why = why;
	return -1;
}

static int
jp_nomem(struct jparse *jp)
{
	jp->nomem = 1;
	return -1;
}

static const unsigned char *
jp_skip_ws(const unsigned char *p, const unsigned char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' ||
	    *p == '\t'))
		p++;
	return p;
}

/* Room in buf for n more bytes after the used + o held. */
static int
jp_grow(struct jparse *jp, size_t o, size_t n)
{
	char	*nb;
	size_t	 ncap = jp->cap;

	while (ncap - jp->used - o < n) {
		if (ncap > SIZE_MAX / 2)
			return jp_nomem(jp);
		ncap *= 2;
	}
	if (jp->buf == jp->small) {
		if ((nb = malloc(ncap)) != NULL)
			memcpy(nb, jp->small, jp->used + o);
	} else
		nb = realloc(jp->buf, ncap);
	if (nb == NULL)
		return jp_nomem(jp);
	jp->buf = nb;
	jp->cap = ncap;
	return 0;
}

/*
 * Append n bytes to the scratch string being built at buf + used, whose
 * length is *o so far.
 */
static inline int
jp_put(struct jparse *jp, size_t *o, const void *src, size_t n)
{
	if (jp->cap - jp->used - *o < n && jp_grow(jp, *o, n) == -1)
		return -1;
	memcpy(jp->buf + jp->used + *o, src, n);
	*o += n;
	return 0;
}

/*
 * Non-zero when one of the 8 bytes in w is '"', '\\', a control character
 * or not ASCII: the bytes a string cannot just be copied over.
 */
static uint64_t
jp_special8(uint64_t w)
{
	uint64_t	 q = w ^ (JP_ONES * '"'), b = w ^ (JP_ONES * '\\');

	/* Borrows only run past a byte that is itself special. */
	return (((q - JP_ONES) & ~q) | ((b - JP_ONES) & ~b) |
	    (w - JP_ONES * 0x20) | w) & JP_HIGHS;
}

/* The 4 hex digits at s, or -1. */
static long
jp_hex4(const unsigned char *s)
{
	long	 v = 0;
	int	 k, h;

	for (k = 0; k < 4; k++) {
		if ((h = hexval(s[k])) < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/*
 * The string whose opening quote is at jp->p: *sp and *lenp are its bytes,
 * in the text itself when it has no escapes, else (and always with tobuf)
 * NUL-terminated in the scratch buffer at buf + used.  *nulp says whether
 * an escape made a NUL.
 */
static int
jp_string(struct jparse *jp, int tobuf, const char **sp, size_t *lenp,
    int *nulp)
{
	const unsigned char	*p = jp->p + 1, *end = jp->end, *run = p;
	unsigned char		 c, u[4];
	uint64_t		 w, m;
	size_t			 o = 0, n;
	long			 cp, lo;
	int			 esc = 0;

	*nulp = 0;
	for (;;) {
		while (end - p >= 8) {
			memcpy(&w, p, sizeof(w));
			if ((m = jp_special8(w)) != 0) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				/* The lowest flag is a special byte. */
				p += __builtin_ctzll(m) >> 3;
#endif
				break;
			}
			p += 8;
		}
		while (p < end && (c = *p) >= 0x20 && c < 0x80 && c != '"' &&
		    c != '\\')
			p++;
		if (p == end)
			return jp_fail(jp, end, "unexpected end of data");
		c = *p;
		if (c == '"')
			break;
		if (c >= 0x80) {
			if ((n = utf8_char(p, end - p)) == 0)
				return jp_fail(jp, p, NULL);
			p += n;
			continue;
		}
		if (c < 0x20)
			return jp_fail(jp, p, "control character in string");

		/* An escape: from here on the string is built in buf. */
		if (jp_put(jp, &o, run, p - run) == -1)
			return -1;
		esc = 1;
		if (end - p < 2)
			return jp_fail(jp, end, "unexpected end of data");
		n = 1;
		switch (p[1]) {
		case '"':
		case '\\':
		case '/':
			u[0] = p[1];
			break;
		case 'b':
			u[0] = '\b';
			break;
		case 'f':
			u[0] = '\f';
			break;
		case 'n':
			u[0] = '\n';
			break;
		case 'r':
			u[0] = '\r';
			break;
		case 't':
			u[0] = '\t';
			break;
		case 'u':
			if (end - p < 6 || (cp = jp_hex4(p + 2)) < 0)
				return jp_fail(jp, p, "invalid \\u escape in "
				    "string");
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return jp_fail(jp, p, "lone surrogate in \\u "
				    "escape");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - p < 12 || p[6] != '\\' ||
				    p[7] != 'u' || (lo = jp_hex4(p + 8)) <
				    0xdc00 || lo > 0xdfff)
					return jp_fail(jp, p, "lone surrogate "
					    "in \\u escape");
				/*
				 * Also U+1D800..U+1DFFF and the like, which
				 * json-c 0.16 turned into U+FFFD.
				 */
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			}
			if (cp == 0)
				*nulp = 1;
			if (cp < 0x80)
				u[0] = (unsigned char)cp;
			else if (cp < 0x800) {
				u[0] = 0xc0 | cp >> 6;
				u[1] = 0x80 | (cp & 0x3f);
				n = 2;
			} else if (cp < 0x10000) {
				u[0] = 0xe0 | cp >> 12;
				u[1] = 0x80 | (cp >> 6 & 0x3f);
				u[2] = 0x80 | (cp & 0x3f);
				n = 3;
			} else {
				u[0] = 0xf0 | cp >> 18;
				u[1] = 0x80 | (cp >> 12 & 0x3f);
				u[2] = 0x80 | (cp >> 6 & 0x3f);
				u[3] = 0x80 | (cp & 0x3f);
				n = 4;
			}
			p += 4;
			break;
		default:
			return jp_fail(jp, p, "invalid escape in string");
		}
		if (jp_put(jp, &o, u, n) == -1)
			return -1;
		p += 2;
		run = p;
	}
	if (esc || tobuf) {
		if (jp_put(jp, &o, run, p - run) == -1 ||
		    jp_put(jp, &o, "", 1) == -1)
			return -1;
		*sp = jp->buf + jp->used;
		*lenp = o - 1;
	} else {
		*sp = (const char *)run;
		*lenp = p - run;
	}
	jp->p = p + 1;
	return 0;
}

/* Parse C-locale numbers whatever locale a plugin may have set. */
static locale_t		 c_locale;
static pthread_once_t	 c_locale_once = PTHREAD_ONCE_INIT;

static void
c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/*
 * The number at jp->p, in strict RFC 8259 syntax.  Leading zeros ("00",
 * "-01", "01.5") are refused as Python's json does, so eventsource-py and
 * evbus agree on them; json-c's tokener took them.  An integer beyond 64
 * bits is refused.
 */
static int
jp_number(struct jparse *jp, struct json_object **out)
{
	static const char	 u64max[] = "18446744073709551615";
	static const char	 i64min[] = "9223372036854775808";
	const unsigned char	*start = jp->p, *p = jp->p, *end = jp->end;
	const unsigned char	*d;
	uint64_t		 v;
	double			 dv;
	size_t			 nz, nd, o;
	int			 neg, dbl = 0;

	if ((neg = *p == '-'))
		p++;
	if (neg && end - p >= 8 && memcmp(p, "Infinity", 8) == 0)
		return jp_fail(jp, start, "NaN and Infinity are not allowed");
	if (p == end || !is_digit(*p))
		goto malformed;
	for (nz = 0; p < end && *p == '0'; p++)
		nz++;
	for (d = p; p < end && is_digit(*p); p++)
		;
	nd = p - d;
	if (p < end && *p == '.') {
		if (++p == end || !is_digit(*p))
			goto malformed;
		while (p < end && is_digit(*p))
			p++;
		dbl = 1;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || !is_digit(*p))
			goto malformed;
		while (p < end && is_digit(*p))
			p++;
		dbl = 1;
	}
	if (p < end && (*p == '.' || *p == 'e' || *p == 'E' || *p == '+' ||
	    *p == '-'))
		goto malformed;
	if (nz > 0 && nz + nd > 1)
		return jp_fail(jp, start, "leading zeros are not allowed");
	jp->p = p;

	if (dbl) {
		/* strtod() and json-c want the text NUL-terminated. */
		o = 0;
		if (jp_put(jp, &o, start, p - start) == -1 ||
		    jp_put(jp, &o, "", 1) == -1)
			return -1;
		pthread_once(&c_locale_once, c_locale_init);
		if (c_locale == (locale_t)0)
			return jp_nomem(jp);
		dv = strtod_l(jp->buf + jp->used, NULL, c_locale);
		if ((*out = json_object_new_double_s(dv,
		    jp->buf + jp->used)) == NULL)
			return jp_nomem(jp);
		return 0;
	}
	if (neg ? nd > 19 || (nd == 19 && memcmp(d, i64min, 19) > 0) :
	    nd > 20 || (nd == 20 && memcmp(d, u64max, 20) > 0))
		return jp_fail(jp, start, "integer out of 64-bit range");
	for (v = 0; d < p; d++)
		v = v * 10 + (*d - '0');
	if (!neg)
		*out = v <= INT64_MAX ? json_object_new_int64((int64_t)v) :
		    json_object_new_uint64(v);
	else
		*out = v > INT64_MAX ? json_object_new_int64(INT64_MIN) :
		    json_object_new_int64(-(int64_t)v);
	return *out == NULL ? jp_nomem(jp) : 0;

malformed:
	return jp_fail(jp, start, "malformed number");
}

/* The literal lit (n bytes) at jp->p; why is the error for another word. */
static int
jp_literal(struct jparse *jp, const char *lit, size_t n, const char *why)
{
	const unsigned char	*p = jp->p;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (p + i == jp->end)
			return jp_fail(jp, jp->end, "unexpected end of data");
		if (p[i] != (unsigned char)lit[i])
			return jp_fail(jp, p + i, why);
	}
	jp->p = p + n;
	return 0;
}

static int
jp_object(struct jparse *jp, int depth, struct json_object **out)
{
	struct json_object	*obj, *v;
	const unsigned char	*kp;
	const char		*k;
	size_t			 klen, koff;
	int			 nul;

	if ((obj = json_object_new_object()) == NULL)
		return jp_nomem(jp);
	jp->p = jp_skip_ws(jp->p + 1, jp->end);
	if (jp->p < jp->end && *jp->p == '}')
		goto done;
	for (;;) {
		kp = jp->p;
		if (kp == jp->end) {
			jp_fail(jp, kp, "unexpected end of data");
			goto fail;
		}
		if (*kp != '"') {
			jp_fail(jp, kp, *kp == '\'' ? "single-quoted string" :
			    "quoted object property name expected");
			goto fail;
		}
		/* The key waits in buf, NUL-terminated, for its value. */
		if (jp_string(jp, 1, &k, &klen, &nul) == -1)
			goto fail;
		if (nul) {
			/* json-c would cut it there. */
			jp_fail(jp, kp, "\\u0000 in an object key");
			goto fail;
		}
		koff = jp->used;
		jp->used += klen + 1;
		jp->p = jp_skip_ws(jp->p, jp->end);
		if (jp->p == jp->end || *jp->p != ':') {
			jp_fail(jp, jp->p, jp->p == jp->end ? "unexpected end "
			    "of data" : "object property name separator ':' "
			    "expected");
			goto fail;
		}
		jp->p++;
		if (jp_value(jp, depth + 1, &v) == -1)
			goto fail;
		/* A repeated key keeps its place and takes the new value. */
		if (json_object_object_add(obj, jp->buf + koff, v) != 0) {
			json_object_put(v);
			jp_nomem(jp);
			goto fail;
		}
		jp->used = koff;
		jp->p = jp_skip_ws(jp->p, jp->end);
		if (jp->p < jp->end && *jp->p == '}')
			break;
		if (jp->p == jp->end || *jp->p != ',') {
			jp_fail(jp, jp->p, jp->p == jp->end ? "unexpected end "
			    "of data" : "object value separator ',' expected");
			goto fail;
		}
		jp->p = jp_skip_ws(jp->p + 1, jp->end);
		if (jp->p < jp->end && *jp->p == '}') {
			/* A trailing comma. */
			jp_fail(jp, jp->p, "unexpected character");
			goto fail;
		}
	}
done:
	jp->p++;
	*out = obj;
	return 0;
fail:
	json_object_put(obj);
	return -1;
}

static int
jp_array(struct jparse *jp, int depth, struct json_object **out)
{
	struct json_object	*arr, *v;

	if ((arr = json_object_new_array()) == NULL)
		return jp_nomem(jp);
	jp->p = jp_skip_ws(jp->p + 1, jp->end);
	if (jp->p < jp->end && *jp->p == ']')
		goto done;
	for (;;) {
		if (jp_value(jp, depth + 1, &v) == -1)
			goto fail;
		if (json_object_array_add(arr, v) != 0) {
			json_object_put(v);
			jp_nomem(jp);
			goto fail;
		}
		jp->p = jp_skip_ws(jp->p, jp->end);
		if (jp->p < jp->end && *jp->p == ']')
			break;
		if (jp->p == jp->end || *jp->p != ',') {
			jp_fail(jp, jp->p, jp->p == jp->end ? "unexpected end "
			    "of data" : "array value separator ',' expected");
			goto fail;
		}
		jp->p = jp_skip_ws(jp->p + 1, jp->end);
		if (jp->p < jp->end && *jp->p == ']') {
			/* A trailing comma. */
			jp_fail(jp, jp->p, "unexpected character");
			goto fail;
		}
	}
done:
	jp->p++;
	/* As json-c's tokener does: parsed arrays rarely grow. */
	json_object_array_shrink(arr, 0);
	*out = arr;
	return 0;
fail:
	json_object_put(arr);
	return -1;
}

/*
 * The value at jp->p (after whitespace) into *out, NULL for null; depth
 * counts the arrays and objects around it.
 */
static int
jp_value(struct jparse *jp, int depth, struct json_object **out)
{
	const unsigned char	*p;
	const char		*s;
	size_t			 len;
	int			 nul;

	*out = NULL;
	p = jp->p = jp_skip_ws(jp->p, jp->end);
	if (p == jp->end)
		return jp_fail(jp, p, "unexpected end of data");
	/*
	 * As json-c counted: the body is at depth 0 and every value inside
	 * a container is one deeper, scalars included.  A value at depth 64
	 * is refused, so a container at depth 63 must be empty.
	 */
	if (depth >= EVENT_MAX_DEPTH)
		return jp_fail(jp, p, "nesting too deep");
	switch (*p) {
	case '{':
		return jp_object(jp, depth, out);
	case '[':
		return jp_array(jp, depth, out);
	case '"':
		if (jp_string(jp, 0, &s, &len, &nul) == -1)
			return -1;
		if ((*out = json_object_new_string_len(s, (int)len)) == NULL)
			return jp_nomem(jp);
		return 0;
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return jp_number(jp, out);
	case 't':
		if (jp_literal(jp, "true", 4, "boolean expected") == -1)
			return -1;
		break;
	case 'f':
		if (jp_literal(jp, "false", 5, "boolean expected") == -1)
			return -1;
		break;
	case 'n':
		return jp_literal(jp, "null", 4, "null expected");
	case 'T':
	case 'F':
		return jp_fail(jp, p, "boolean expected");
	case 'N':
	case 'I':
		if ((jp->end - p >= 3 && memcmp(p, "NaN", 3) == 0) ||
		    (jp->end - p >= 8 && memcmp(p, "Infinity", 8) == 0))
			return jp_fail(jp, p, "NaN and Infinity are not "
			    "allowed");
		return jp_fail(jp, p, "unexpected character");
	case '\'':
		return jp_fail(jp, p, "single-quoted string");
	default:
		return jp_fail(jp, p, "unexpected character");
	}
	if ((*out = json_object_new_boolean(*p == 't')) == NULL)
		return jp_nomem(jp);
	return 0;
}

struct json_object *
evbus_json_parse_object(const char *json, size_t len, char *err,
    size_t errlen)
{
	struct jparse		 jp;
	struct json_object	*obj;
	size_t			 off;
	int			 rv;

	if (json == NULL) {
		json = "";
		len = 0;
	}
	if (len > INT_MAX) {
		event_error(err, errlen, "body: too large (%zu bytes)", len);
		return NULL;
	}
	memset(&jp, 0, offsetof(struct jparse, small));
	jp.s = jp.p = (const unsigned char *)json;
	jp.end = jp.s + len;
	jp.buf = jp.small;
	jp.cap = sizeof(jp.small);

	rv = jp_value(&jp, 0, &obj);
	if (rv == 0 && (jp.p = jp_skip_ws(jp.p, jp.end)) < jp.end)
		rv = jp_fail(&jp, jp.p, "unexpected character");
	if (jp.buf != jp.small)
		free(jp.buf);
	if (rv == -1) {
		json_object_put(obj);
		if (jp.nomem)
			event_error(err, errlen, "out of memory");
		else if (jp.why == NULL)
			event_error(err, errlen, "body: invalid UTF-8 at "
			    "offset %zu", (size_t)(jp.errp - jp.s));
		else if ((off = utf8_valid_prefix(jp.s, len)) != len)
			/* Invalid UTF-8 anywhere is reported first. */
			event_error(err, errlen, "body: invalid UTF-8 at "
			    "offset %zu", off);
		else
			event_error(err, errlen, "body: invalid JSON at "
			    "offset %zu: %s", (size_t)(jp.errp - jp.s), jp.why);
		return NULL;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		event_error(err, errlen, "body: not a JSON object");
		return NULL;
	}
	return obj;
}

int
evbus_event_parse(const char *json, size_t len, int flags,
    struct evbus_event *ev, char *err, size_t errlen)
{
	struct json_object	*obj;
	int			 rv;

	memset(ev, 0, sizeof(*ev));
	if ((obj = evbus_json_parse_object(json, len, err, errlen)) == NULL)
		return -1;
	rv = event_build(obj, flags, 1, ev, err, errlen);
	json_object_put(obj);
	return rv;
}

char *
evbus_event_serialize(const struct evbus_event *ev, size_t *lenp)
{
	struct json_object_iterator	 it, end;
	struct wbuf			 b = { NULL, 0, 0, 0, 0 };
	char				 num[64];
	const char			*name, *s;

	s = ev->event_id;
	wb_puts(&b, "{\"event_id\":");
	wb_string(&b, s, strlen(s));
	s = ev->event_type != NULL ? ev->event_type : "";
	wb_puts(&b, ",\"event_type\":");
	wb_string(&b, s, strlen(s));
	snprintf(num, sizeof(num), ",\"event_version\":%jd",
	    (intmax_t)ev->event_version);
	wb_puts(&b, num);
	wb_puts(&b, ",\"occurred_at\":\"");
	wb_puts(&b, evbus_time_format(ev->occurred_sec, ev->occurred_usec,
	    EVBUS_TIME_Z, num, sizeof(num)));
	wb_puts(&b, "\",\"aggregate_id\":");
	wb_string(&b, ev->aggregate_id, strlen(ev->aggregate_id));
	s = ev->aggregate_type != NULL ? ev->aggregate_type : "";
	wb_puts(&b, ",\"aggregate_type\":");
	wb_string(&b, s, strlen(s));
	snprintf(num, sizeof(num), ",\"aggregate_version\":%jd",
	    (intmax_t)ev->aggregate_version);
	wb_puts(&b, num);
	wb_puts(&b, ",\"tenant_id\":");
	if (ev->tenant_id[0] == '\0')
		wb_puts(&b, "null");
	else
		wb_string(&b, ev->tenant_id, strlen(ev->tenant_id));
	wb_puts(&b, ",\"actor_id\":");
	if (ev->actor_id == NULL)
		wb_puts(&b, "null");
	else
		wb_string(&b, ev->actor_id, strlen(ev->actor_id));
	wb_puts(&b, ",\"correlation_id\":");
	wb_string(&b, ev->correlation_id, strlen(ev->correlation_id));
	wb_puts(&b, ",\"causation_id\":");
	if (ev->causation_id[0] == '\0')
		wb_puts(&b, "null");
	else
		wb_string(&b, ev->causation_id, strlen(ev->causation_id));
	wb_puts(&b, ",\"metadata\":");
	if (ev->metadata == NULL)
		wb_puts(&b, "{}");
	else if (wb_value(&b, ev->metadata, 2) == -1)
		goto fail;

	if (ev->payload != NULL &&
	    json_object_is_type(ev->payload, json_type_object)) {
		it = json_object_iter_begin(ev->payload);
		end = json_object_iter_end(ev->payload);
		for (; !json_object_iter_equal(&it, &end);
		    json_object_iter_next(&it)) {
			name = json_object_iter_peek_name(&it);
			/* A hand-built payload must not shadow the envelope. */
			if (base_index(name) >= 0)
				continue;
			wb_put(&b, ",", 1);
			wb_string(&b, name, strlen(name));
			wb_put(&b, ":", 1);
			if (wb_value(&b, json_object_iter_peek_value(&it),
			    2) == -1)
				goto fail;
		}
	}
	wb_put(&b, "}", 1);
	if (b.oom)
		goto fail;
	if (lenp != NULL)
		*lenp = b.len;
	return b.p;
fail:
	free(b.p);
	return NULL;
}

int
evbus_event_routing_key(const struct evbus_event *ev, char *buf, size_t len)
{
	int	 n;

	if (ev->aggregate_type == NULL || ev->event_type == NULL)
		return -1;
	n = snprintf(buf, len, "%s.%s", ev->aggregate_type, ev->event_type);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return 0;
}

void
evbus_event_free(struct evbus_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->event_type);
	free(ev->aggregate_type);
	free(ev->actor_id);
	json_object_put(ev->metadata);
	json_object_put(ev->payload);
	memset(ev, 0, sizeof(*ev));
}

void
evbus_uuid4(char buf[EVBUS_UUID_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 b[16];
	size_t			 i, o = 0;

	arc4random_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	for (i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[o++] = '-';
		buf[o++] = hex[b[i] >> 4];
		buf[o++] = hex[b[i] & 0xf];
	}
	buf[o] = '\0';
}

int
evbus_uuid_normalize(const char *s, char out[EVBUS_UUID_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 len, i, o = 0, nd = 0;
	int			 h;

	if (s == NULL)
		return -1;
	len = strlen(s);
	if (len != 32 && len != 36)
		return -1;
	for (i = 0; i < len; i++) {
		if (len == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		if ((h = hexval((unsigned char)s[i])) < 0)
			return -1;
		if (nd == 8 || nd == 12 || nd == 16 || nd == 20)
			out[o++] = '-';
		out[o++] = hex[h];
		nd++;
	}
	out[o] = '\0';
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	 era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* n decimal digits at *sp into *v, advancing *sp. */
static int
take_digits(const char **sp, int n, int *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!is_digit((*sp)[i]))
			return -1;
		*v = *v * 10 + ((*sp)[i] - '0');
	}
	*sp += n;
	return 0;
}

int
evbus_time_parse(const char *s, int64_t *sec, int32_t *usec)
{
	static const int	 mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31,
				    30, 31, 30, 31 };
	int			 y, mo, d, h, mi, se, us, oh, om, nd, sign;
	int			 leap;
	int64_t			 t;

	if (s == NULL)
		return -1;
	if (take_digits(&s, 4, &y) == -1 || *s++ != '-' ||
	    take_digits(&s, 2, &mo) == -1 || *s++ != '-' ||
	    take_digits(&s, 2, &d) == -1)
		return -1;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -1;
	s++;
	if (take_digits(&s, 2, &h) == -1 || *s++ != ':' ||
	    take_digits(&s, 2, &mi) == -1 || *s++ != ':' ||
	    take_digits(&s, 2, &se) == -1)
		return -1;
	us = 0;
	if (*s == '.') {
		s++;
		for (nd = 0; is_digit(s[nd]); nd++)
			if (nd < 6)
				us = us * 10 + (s[nd] - '0');
		if (nd < 1 || nd > 6)
			return -1;
		for (; nd < 6; nd++)
			us *= 10;
		while (is_digit(*s))
			s++;
	}
	oh = om = 0;
	sign = 0;
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (take_digits(&s, 2, &oh) == -1 || *s++ != ':' ||
		    take_digits(&s, 2, &om) == -1 || oh > 23 || om > 59)
			return -1;
	}
	if (*s != '\0')
		return -1;

	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 ||
	    se > 59)
		return -1;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	/* Python's datetime stops at years 1 and 9999, in UTC too. */
	if (t < days_from_civil(1, 1, 1) * 86400 ||
	    t >= days_from_civil(10000, 1, 1) * 86400)
		return -1;
	*sec = t;
	*usec = us;
	return 0;
}

char *
evbus_time_format(int64_t sec, int32_t usec, int style, char *buf, size_t len)
{
	int64_t	 days, rem, y;
	int	 m, d;
	char	 frac[8];

	if (buf == NULL || len == 0)
		return buf;
	if (usec < 0 || usec > 999999) {
		sec += usec / 1000000;
		usec %= 1000000;
		if (usec < 0) {
			usec += 1000000;
			sec--;
		}
	}
	days = sec / 86400;
	rem = sec % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	frac[0] = '\0';
	if (usec != 0)
		snprintf(frac, sizeof(frac), ".%06d", (int)usec);
	snprintf(buf, len, "%04jd-%02d-%02dT%02d:%02d:%02d%s%s", (intmax_t)y,
	    m, d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
	    frac, style == EVBUS_TIME_OFFSET ? "+00:00" : "Z");
	return buf;
}

void
evbus_time_now(int64_t *sec, int32_t *usec)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = ts.tv_sec;
	*usec = (int32_t)(ts.tv_nsec / 1000);
}

int
evbus_aggregate_type_valid(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    is_digit(*s) || *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

/*
 * The shortest decimal that reads back as v, in one of two layouts:
 * Python's repr() (py = 1: positional for exponents -4..15, else "1e-05",
 * "1e+16") or pydantic's JSON (py = 0: positional for exponents -5..15,
 * else "1e-6", "1e+16"; non-finite values are null).
 */
static char *
float_format(double v, int py, char *buf, size_t len)
{
	char	 tmp[40], digits[20], *e;
	int	 prec, exp, nd, decpt, i, neg;
	size_t	 o = 0;

	if (buf == NULL || len == 0)
		return buf;
	if (!isfinite(v)) {
		if (!py)
			snprintf(buf, len, "null");
		else if (isnan(v))
			snprintf(buf, len, "nan");
		else
			snprintf(buf, len, "%s", v < 0 ? "-inf" : "inf");
		return buf;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	if (prec == 17)
		snprintf(tmp, sizeof(tmp), "%.16e", v);
	neg = tmp[0] == '-';
	nd = 0;
	for (e = tmp + neg; *e != 'e'; e++)
		if (is_digit(*e))
			digits[nd++] = *e;
	exp = atoi(e + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	decpt = exp + 1;	/* digits before the decimal point */

#define PUT(c)	do { if (o + 1 < len) buf[o++] = (c); } while (0)
	if (neg)
		PUT('-');
	if (decpt > (py ? -4 : -5) && decpt <= 16) {
		/* Positional, always with a fraction: "100.0", "0.0001". */
		if (decpt <= 0) {
			PUT('0');
			PUT('.');
			for (i = decpt; i < 0; i++)
				PUT('0');
			for (i = 0; i < nd; i++)
				PUT(digits[i]);
		} else {
			for (i = 0; i < decpt; i++)
				PUT(i < nd ? digits[i] : '0');
			PUT('.');
			if (nd > decpt)
				for (i = decpt; i < nd; i++)
					PUT(digits[i]);
			else
				PUT('0');
		}
		buf[o] = '\0';
	} else {
		PUT(digits[0]);
		if (nd > 1) {
			PUT('.');
			for (i = 1; i < nd; i++)
				PUT(digits[i]);
		}
		buf[o] = '\0';
		snprintf(buf + o, len - o, py ? "e%c%02d" : "e%c%d",
		    exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	}
#undef PUT
	return buf;
}

char *
evbus_float_repr(double v, char *buf, size_t len)
{
	return float_format(v, 1, buf, len);
}
