/*
 * event.c: the eventsource-py event envelope (wire spec 3.2): building and
 * validating an event from a JSON body or tree, serialising it as
 * pydantic's model_dump_json() does, its routing key.
 *
 * The field rules live here: which keys are required, which default and
 * how (FILL_DEFAULTS), the types and patterns each accepts, and every
 * message naming a field ("aggregate_id: not a UUID: ...") or the body
 * ("body: invalid JSON at offset 7: ...").  The JSON itself is read and
 * written by the dialect in pyjson_parse.c and pyjson_write.c, UUIDs by
 * uuid.c, occurred_at by isotime.c; this file must not parse or format
 * any of them by hand.
 */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "event.h"
#include "isotime.h"
#include "pyjson.h"
#include "uuid.h"

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

static int	 event_error(char *, size_t, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));

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

/* v as compact JSON, shortened for an error message. */
static const char *
quote_value(struct json_object *v, char *buf, size_t len)
{
	struct pyjson_buf b = { NULL, 0, 0, EVENT_QUOTE_MAX + 1, 0 };
	size_t		 n;

	if (pyjson_value(&b, v, 0) == -1 || b.p == NULL) {
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

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
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
		if (pyjson_utf8_valid_prefix((const unsigned char *)
		    json_object_get_string(v), n) != n)
			return event_error(err, errlen, "%s: invalid UTF-8",
			    field);
		break;
	case json_type_array:
		if (depth > PYJSON_MAX_DEPTH)
			return event_error(err, errlen, "%s: nested too "
			    "deeply (max %d)", field, PYJSON_MAX_DEPTH);
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			if (check_value(json_object_array_get_idx(v, i),
			    depth + 1, field, err, errlen) == -1)
				return -1;
		break;
	case json_type_object:
		if (depth > PYJSON_MAX_DEPTH)
			return event_error(err, errlen, "%s: nested too "
			    "deeply (max %d)", field, PYJSON_MAX_DEPTH);
		it = json_object_iter_begin(v);
		end = json_object_iter_end(v);
		for (; !json_object_iter_equal(&it, &end);
		    json_object_iter_next(&it)) {
			name = json_object_iter_peek_name(&it);
			n = strlen(name);
			if (pyjson_utf8_valid_prefix((const unsigned char *)
			    name, n) != n)
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

/*
 * One value of the envelope, read from a json-c tree or a tape (the
 * checks below are the same for both).
 */
struct fval {
	enum json_type		 type;
	const char		*s;	/* string: len bytes, then a NUL */
	size_t			 len;
	int64_t			 i;	/* int: as json_object_get_int64() */
	int			 big;	/* int: above INT64_MAX */
	struct json_object	*jo;	/* from a tree: the value (quoting) */
};

static void
fval_json(struct json_object *v, struct fval *f)
{
	memset(f, 0, sizeof(*f));
	f->jo = v;
	f->type = json_object_get_type(v);
	if (f->type == json_type_string) {
		f->s = json_object_get_string(v);
		f->len = (size_t)json_object_get_string_len(v);
	} else if (f->type == json_type_int) {
		f->i = json_object_get_int64(v);
		f->big = f->i == INT64_MAX &&
		    json_object_get_uint64(v) > INT64_MAX;
	}
}

static void
fval_tape(const struct pyjson_tape *t, size_t i, struct fval *f)
{
	const struct pyjson_node	*n = &t->node[i];

	memset(f, 0, sizeof(*f));
	switch (n->type) {
	case PYJSON_NULL:
		f->type = json_type_null;
		break;
	case PYJSON_BOOL:
		f->type = json_type_boolean;
		break;
	case PYJSON_INT:
		f->type = json_type_int;
		f->i = n->v.i;
		break;
	case PYJSON_UINT:
		f->type = json_type_int;
		f->i = INT64_MAX;
		f->big = 1;
		break;
	case PYJSON_DOUBLE:
		f->type = json_type_double;
		break;
	case PYJSON_STRING:
		f->type = json_type_string;
		f->s = t->str + n->off;
		f->len = n->len;
		break;
	case PYJSON_ARRAY:
		f->type = json_type_array;
		break;
	default:
		f->type = json_type_object;
		break;
	}
}

/* A UUID field: present says whether the key was there. */
static int
get_uuid(const struct fval *v, int present, int field, int nullable,
    int fill, char *out, char *err, size_t errlen)
{
	char		 q[EVENT_QUOTE_MAX + 8];

	out[0] = '\0';
	if (!present) {
		if (fill)
			evbus_uuid4(out);
		else if (!nullable)
			return event_error(err, errlen, "%s: field required",
			    base_keys[field]);
		return 0;
	}
	if (v->type == json_type_null) {
		if (nullable)
			return 0;
		return event_error(err, errlen, "%s: must not be null",
		    base_keys[field]);
	}
	if (v->type == json_type_string && strlen(v->s) == v->len &&
	    evbus_uuid_normalize(v->s, out) == 0)
		return 0;
	return event_error(err, errlen, "%s: not a UUID: %s", base_keys[field],
	    quote_value(v->jo, q, sizeof(q)));
}

/* event_version, aggregate_version: integers >= 1, or digit strings. */
static int
get_version(const struct fval *v, int present, int field, int64_t *out,
    char *err, size_t errlen)
{
	char		 q[EVENT_QUOTE_MAX + 8];
	int64_t		 n;
	size_t		 i;

	*out = 1;
	if (!present)
		return 0;
	if (v->type == json_type_int) {
		if (v->i >= 1 && !v->big) {
			*out = v->i;
			return 0;
		}
	} else if (v->type == json_type_string) {
		/* Pydantic's lax mode takes "7" for 7. */
		n = 0;
		for (i = 0; i < v->len && i < 18 && is_digit(v->s[i]); i++)
			n = n * 10 + (v->s[i] - '0');
		if (v->len > 0 && i == v->len && n >= 1) {
			*out = n;
			return 0;
		}
	}
	return event_error(err, errlen, "%s: must be an integer >= 1, got %s",
	    base_keys[field], quote_value(v->jo, q, sizeof(q)));
}

/* A string without NUL bytes, in valid UTF-8. */
static int
get_string(const struct fval *v, const char **out)
{
	if (v->type != json_type_string)
		return -1;
	*out = v->s;
	if (strlen(v->s) != v->len ||
	    pyjson_utf8_valid_prefix((const unsigned char *)v->s, v->len) !=
	    v->len)
		return -1;
	return 0;
}

/*
 * The base fields f[] (seen[] says which keys were there) into ev.  With
 * borrow the strings point into the tree or tape they came from, which
 * must outlive ev.
 */
static int
event_base(const struct fval *f, const int *seen, int flags, int borrow,
    struct evbus_event *ev, char *err, size_t errlen)
{
	char		 q[EVENT_QUOTE_MAX + 8];
	const char	*s;
	int		 fill;

	fill = (flags & EVBUS_EVENT_FILL_DEFAULTS) != 0;
	ev->borrowed = borrow;
	if (get_uuid(&f[F_EVENT_ID], seen[F_EVENT_ID], F_EVENT_ID, 0, fill,
	    ev->event_id, err, errlen) == -1)
		return -1;

	if (!seen[F_EVENT_TYPE])
		return event_error(err, errlen, "event_type: field required");
	if (get_string(&f[F_EVENT_TYPE], &s) == -1 || *s == '\0')
		return event_error(err, errlen, "event_type: must be a "
		    "non-empty string, got %s", quote_value(f[F_EVENT_TYPE].jo,
		    q, sizeof(q)));
	if ((ev->event_type = borrow ? (char *)s : strdup(s)) == NULL)
		goto oom;

	if (get_version(&f[F_EVENT_VERSION], seen[F_EVENT_VERSION],
	    F_EVENT_VERSION, &ev->event_version, err, errlen) == -1)
		return -1;

	if (!seen[F_OCCURRED_AT]) {
		if (!fill)
			return event_error(err, errlen, "occurred_at: field "
			    "required");
		evbus_time_now(&ev->occurred_sec, &ev->occurred_usec);
	} else if (get_string(&f[F_OCCURRED_AT], &s) == -1 ||
	    evbus_time_parse(s, &ev->occurred_sec, &ev->occurred_usec) == -1)
		return event_error(err, errlen, "occurred_at: not an ISO-8601 "
		    "date-time: %s", quote_value(f[F_OCCURRED_AT].jo, q,
		    sizeof(q)));

	/* aggregate_id has no default, even with FILL_DEFAULTS. */
	if (get_uuid(&f[F_AGGREGATE_ID], seen[F_AGGREGATE_ID], F_AGGREGATE_ID,
	    0, 0, ev->aggregate_id, err, errlen) == -1)
		return -1;

	if (!seen[F_AGGREGATE_TYPE])
		return event_error(err, errlen, "aggregate_type: field "
		    "required");
	if (get_string(&f[F_AGGREGATE_TYPE], &s) == -1 ||
	    !evbus_aggregate_type_valid(s))
		return event_error(err, errlen, "aggregate_type: must match "
		    "^[A-Za-z0-9_.-]+$, got %s",
		    quote_value(f[F_AGGREGATE_TYPE].jo, q, sizeof(q)));
	if ((ev->aggregate_type = borrow ? (char *)s : strdup(s)) == NULL)
		goto oom;

	if (get_version(&f[F_AGGREGATE_VERSION], seen[F_AGGREGATE_VERSION],
	    F_AGGREGATE_VERSION, &ev->aggregate_version, err, errlen) == -1)
		return -1;

	if (get_uuid(&f[F_TENANT_ID], seen[F_TENANT_ID], F_TENANT_ID, 1, 0,
	    ev->tenant_id, err, errlen) == -1)
		return -1;

	if (seen[F_ACTOR_ID] && f[F_ACTOR_ID].type != json_type_null) {
		if (get_string(&f[F_ACTOR_ID], &s) == -1)
			return event_error(err, errlen, "actor_id: must be a "
			    "string or null, got %s",
			    quote_value(f[F_ACTOR_ID].jo, q, sizeof(q)));
		if ((ev->actor_id = borrow ? (char *)s : strdup(s)) == NULL)
			goto oom;
	}

	/* Never null; only FILL_DEFAULTS makes one up. */
	if (get_uuid(&f[F_CORRELATION_ID], seen[F_CORRELATION_ID],
	    F_CORRELATION_ID, 0, fill, ev->correlation_id, err, errlen) == -1)
		return -1;

	if (get_uuid(&f[F_CAUSATION_ID], seen[F_CAUSATION_ID], F_CAUSATION_ID,
	    1, 0, ev->causation_id, err, errlen) == -1)
		return -1;
	return 0;
oom:
	return event_error(err, errlen, "out of memory");
}

/*
 * Validate obj into ev.  With share the payload and metadata take
 * references to obj's values (the parser's own tree); without, deep
 * copies (a caller's tree it may change later).  With the flag
 * EVBUS_EVENT_SHARE the strings point into obj too.
 */
static int
event_build(struct json_object *obj, int flags, int share,
    struct evbus_event *ev, char *err, size_t errlen)
{
	struct json_object_iterator	 it, end;
	struct json_object		*v, *copy;
	struct fval			 f[F_NFIELDS];
	char				 q[EVENT_QUOTE_MAX + 8];
	const char			*name;
	int				 seen[F_NFIELDS], i;

	memset(ev, 0, sizeof(*ev));
	memset(f, 0, sizeof(f));
	memset(seen, 0, sizeof(seen));
	if (!json_object_is_type(obj, json_type_object))
		return event_error(err, errlen, "body: not a JSON object");

	it = json_object_iter_begin(obj);
	end = json_object_iter_end(obj);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		if ((i = base_index(name)) >= 0) {
			fval_json(json_object_iter_peek_value(&it), &f[i]);
			seen[i] = 1;
		} else if (flags & EVBUS_EVENT_NO_EXTRA)
			return event_error(err, errlen, "%s: extra field not "
			    "permitted", name);
	}
	/* Only a caller's tree that outlives ev lends its strings. */
	if (event_base(f, seen, flags, (flags & EVBUS_EVENT_SHARE) != 0, ev,
	    err, errlen) == -1)
		goto fail;

	if (!seen[F_METADATA]) {
		if ((ev->metadata = json_object_new_object()) == NULL)
			goto oom;
	} else if (f[F_METADATA].type != json_type_object) {
		event_error(err, errlen, "metadata: must be a JSON object, got "
		    "%s", quote_value(f[F_METADATA].jo, q, sizeof(q)));
		goto fail;
	} else {
		if (check_value(f[F_METADATA].jo, 2, "metadata", err,
		    errlen) == -1)
			goto fail;
		if (share)
			ev->metadata = json_object_get(f[F_METADATA].jo);
		else if (json_object_deep_copy(f[F_METADATA].jo,
		    &ev->metadata, NULL) != 0)
			goto oom;
	}
	/*
	 * Everything else is payload, in input order; checked even when
	 * the caller wants no copy (the worker hands handlers the body).
	 */
	if (!(flags & EVBUS_EVENT_NO_PAYLOAD) &&
	    (ev->payload = json_object_new_object()) == NULL)
		goto oom;
	it = json_object_iter_begin(obj);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		if (base_index(name) >= 0)
			continue;
		v = json_object_iter_peek_value(&it);
		if (check_value(v, 2, name, err, errlen) == -1)
			goto fail;
		if (pyjson_utf8_valid_prefix((const unsigned char *)name,
		    strlen(name)) != strlen(name)) {
			event_error(err, errlen, "body: invalid UTF-8 in a "
			    "key");
			goto fail;
		}
		if (flags & EVBUS_EVENT_NO_PAYLOAD)
			continue;
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
	return event_build(obj, flags, (flags & EVBUS_EVENT_SHARE) != 0, ev,
	    err, errlen);
}

/*
 * The worker's way: no json-c tree.  The tape's values are read in place
 * and what the quick path does not accept (or cannot judge: a number read
 * as inf) is judged again from the tree, so the verdict and its words are
 * always evbus_event_from_json()'s.
 */
int
evbus_event_from_tape(const struct pyjson_tape *t, const char *event_type,
    int flags, struct evbus_event *ev, char *err, size_t errlen)
{
	const struct pyjson_node	*n = t->node;
	struct json_object		*obj;
	struct fval			 f[F_NFIELDS];
	size_t				 k;
	int				 seen[F_NFIELDS], i, rv;

	memset(ev, 0, sizeof(*ev));
	memset(f, 0, sizeof(f));
	memset(seen, 0, sizeof(seen));
	if (t->n == 0 || n[0].type != PYJSON_OBJECT || t->nonfinite)
		goto tree;
	for (k = 1; k < n[0].next; k = n[k + 1].next) {
		if ((i = base_index(t->str + n[k].off)) >= 0) {
			fval_tape(t, k + 1, &f[i]);
			seen[i] = 1;
		} else if (flags & EVBUS_EVENT_NO_EXTRA)
			goto tree;
	}
	if (!seen[F_EVENT_TYPE] && event_type != NULL) {
		f[F_EVENT_TYPE].type = json_type_string;
		f[F_EVENT_TYPE].s = event_type;
		f[F_EVENT_TYPE].len = strlen(event_type);
		seen[F_EVENT_TYPE] = 1;
	}
	if ((!seen[F_METADATA] || f[F_METADATA].type == json_type_object) &&
	    event_base(f, seen, flags, 1, ev, NULL, 0) == 0)
		return 0;
	memset(ev, 0, sizeof(*ev));
tree:
	if (t->n == 0 || pyjson_tape_json(t, 0, &obj) == -1)
		return event_error(err, errlen, "out of memory");
	if (event_type != NULL && json_object_is_type(obj, json_type_object) &&
	    !json_object_object_get_ex(obj, "event_type", NULL))
		json_object_object_add(obj, "event_type",
		    json_object_new_string(event_type));
	rv = event_build(obj, flags | EVBUS_EVENT_NO_PAYLOAD, 0, ev, err,
	    errlen);
	json_object_put(obj);
	if (rv == 0) {
		/* As the quick path: the caller reads them from the tape. */
		json_object_put(ev->metadata);
		ev->metadata = NULL;
	}
	return rv;
}

/*
 * The strict parser's verdict in the words evbus_event_parse() has always
 * used: the text is the message body and must hold an object.
 */
int
evbus_json_error(const struct pyjson_error *e, size_t len, char *err,
    size_t errlen)
{
	switch (e->kind) {
	case PYJSON_E_TOO_LARGE:
		return event_error(err, errlen, "body: too large (%zu bytes)",
		    len);
	case PYJSON_E_NOMEM:
		return event_error(err, errlen, "out of memory");
	case PYJSON_E_UTF8:
		return event_error(err, errlen, "body: invalid UTF-8 at "
		    "offset %zu", e->offset);
	default:
		return event_error(err, errlen, "body: invalid JSON at offset "
		    "%zu: %s", e->offset, e->why);
	}
}

struct json_object *
evbus_json_parse_object(const char *json, size_t len, char *err,
    size_t errlen)
{
	struct pyjson_error	 e;
	struct json_object	*obj;

	if (pyjson_parse(json, len, &obj, &e) == -1) {
		evbus_json_error(&e, len, err, errlen);
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
	struct pyjson_buf		 b = { NULL, 0, 0, 0, 0 };
	char				 num[64];
	const char			*name, *s;

	s = ev->event_id;
	pyjson_puts(&b, "{\"event_id\":");
	pyjson_string(&b, s, strlen(s));
	s = ev->event_type != NULL ? ev->event_type : "";
	pyjson_puts(&b, ",\"event_type\":");
	pyjson_string(&b, s, strlen(s));
	snprintf(num, sizeof(num), ",\"event_version\":%jd",
	    (intmax_t)ev->event_version);
	pyjson_puts(&b, num);
	pyjson_puts(&b, ",\"occurred_at\":\"");
	pyjson_puts(&b, evbus_time_format(ev->occurred_sec, ev->occurred_usec,
	    EVBUS_TIME_Z, num, sizeof(num)));
	pyjson_puts(&b, "\",\"aggregate_id\":");
	pyjson_string(&b, ev->aggregate_id, strlen(ev->aggregate_id));
	s = ev->aggregate_type != NULL ? ev->aggregate_type : "";
	pyjson_puts(&b, ",\"aggregate_type\":");
	pyjson_string(&b, s, strlen(s));
	snprintf(num, sizeof(num), ",\"aggregate_version\":%jd",
	    (intmax_t)ev->aggregate_version);
	pyjson_puts(&b, num);
	pyjson_puts(&b, ",\"tenant_id\":");
	if (ev->tenant_id[0] == '\0')
		pyjson_puts(&b, "null");
	else
		pyjson_string(&b, ev->tenant_id, strlen(ev->tenant_id));
	pyjson_puts(&b, ",\"actor_id\":");
	if (ev->actor_id == NULL)
		pyjson_puts(&b, "null");
	else
		pyjson_string(&b, ev->actor_id, strlen(ev->actor_id));
	pyjson_puts(&b, ",\"correlation_id\":");
	pyjson_string(&b, ev->correlation_id, strlen(ev->correlation_id));
	pyjson_puts(&b, ",\"causation_id\":");
	if (ev->causation_id[0] == '\0')
		pyjson_puts(&b, "null");
	else
		pyjson_string(&b, ev->causation_id, strlen(ev->causation_id));
	pyjson_puts(&b, ",\"metadata\":");
	if (ev->metadata == NULL)
		pyjson_puts(&b, "{}");
	else if (pyjson_value(&b, ev->metadata, 2) == -1)
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
			pyjson_put(&b, ",", 1);
			pyjson_string(&b, name, strlen(name));
			pyjson_put(&b, ":", 1);
			if (pyjson_value(&b, json_object_iter_peek_value(&it),
			    2) == -1)
				goto fail;
		}
	}
	pyjson_put(&b, "}", 1);
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
	if (!ev->borrowed) {
		free(ev->event_type);
		free(ev->aggregate_type);
		free(ev->actor_id);
	}
	json_object_put(ev->metadata);
	json_object_put(ev->payload);
	memset(ev, 0, sizeof(*ev));
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
