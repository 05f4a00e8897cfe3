/*
 * message.c: building the AMQP message for an event (wire spec 3) and
 * reading typed values back out of header tables.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

amqp_field_value_t
evbus_field_int(int64_t v)
{
	amqp_field_value_t	 f;

	memset(&f, 0, sizeof(f));
	if (v >= INT8_MIN && v <= INT8_MAX) {
		f.kind = AMQP_FIELD_KIND_I8;
		f.value.i8 = (int8_t)v;
	} else if (v >= INT16_MIN && v <= INT16_MAX) {
		f.kind = AMQP_FIELD_KIND_I16;
		f.value.i16 = (int16_t)v;
	} else if (v >= INT32_MIN && v <= INT32_MAX) {
		f.kind = AMQP_FIELD_KIND_I32;
		f.value.i32 = (int32_t)v;
	} else {
		f.kind = AMQP_FIELD_KIND_I64;
		f.value.i64 = v;
	}
	return f;
}

static amqp_table_entry_t
hstr(const char *key, const char *value)
{
	amqp_table_entry_t	 e;

	memset(&e, 0, sizeof(e));
	e.key = amqp_cstring_bytes(key);
	e.value.kind = AMQP_FIELD_KIND_UTF8;
	e.value.value.bytes = amqp_cstring_bytes(value);
	return e;
}

static amqp_table_entry_t
hint(const char *key, int64_t v)
{
	amqp_table_entry_t	 e;

	memset(&e, 0, sizeof(e));
	e.key = amqp_cstring_bytes(key);
	e.value = evbus_field_int(v);
	return e;
}

static int
ishex(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
allzero(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (s[i] != '0')
			return 0;
	return 1;
}

int
evbus_traceparent_valid(const char *s)
{
	/* version 00: 00-<trace-id 32>-<parent-id 16>-<flags 2> */
	if (s == NULL || strlen(s) != EVBUS_TRACEPARENT_LEN)
		return 0;
	if (s[2] != '-' || s[35] != '-' || s[52] != '-')
		return 0;
	if (!ishex(s, 2) || !ishex(s + 3, 32) || !ishex(s + 36, 16) ||
	    !ishex(s + 53, 2))
		return 0;
	if (strncmp(s, "ff", 2) == 0 || allzero(s + 3, 32) ||
	    allzero(s + 36, 16))
		return 0;
	return 1;
}

static void
randhex(char *out, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 b[32];
	size_t			 i;

	do {
		arc4random_buf(b, n / 2);
		for (i = 0; i < n / 2; i++) {
			out[2 * i] = hex[b[i] >> 4];
			out[2 * i + 1] = hex[b[i] & 0xf];
		}
	} while (allzero(out, n));
}

int
evbus_traceparent_child(const char *parent, char out[EVBUS_TRACEPARENT_LEN + 1])
{
	if (parent != NULL) {
		if (!evbus_traceparent_valid(parent))
			return -1;
		memcpy(out, parent, EVBUS_TRACEPARENT_LEN + 1);
		out[0] = '0';
		out[1] = '0';
	} else {
		memcpy(out, "00-", 3);
		randhex(out + 3, 32);
		out[35] = '-';
		memcpy(out + 53, "01", 2);
	}
	out[52] = '-';
	randhex(out + 36, 16);
	out[EVBUS_TRACEPARENT_LEN] = '\0';
	return 0;
}

int
evbus_msg_build(struct evbus_msg *m, const struct evbus_event *ev,
    const char *parent, const char *tracestate, char *err, size_t errlen)
{
	amqp_basic_properties_t	*p = &m->props;
	int			 n = 0;

	memset(m, 0, sizeof(*m));
	m->ev = ev;
	if (evbus_event_routing_key(ev, m->routing_key,
	    sizeof(m->routing_key)) == -1) {
		snprintf(err, errlen, "routing key %s.%s is longer than 255 "
		    "bytes", ev->aggregate_type, ev->event_type);
		return -1;
	}
	if (evbus_traceparent_child(parent, m->traceparent) == -1) {
		snprintf(err, errlen, "traceparent: not a W3C trace context: "
		    "\"%.60s\"", parent);
		return -1;
	}
	if (tracestate != NULL) {
		if (strlen(tracestate) > EVBUS_TRACESTATE_MAX) {
			snprintf(err, errlen, "tracestate: longer than %d "
			    "bytes", EVBUS_TRACESTATE_MAX);
			return -1;
		}
		snprintf(m->tracestate, sizeof(m->tracestate), "%s",
		    tracestate);
	}
	if ((m->body = evbus_event_serialize(ev, &m->body_len)) == NULL) {
		snprintf(err, errlen, "out of memory serialising the event");
		return -1;
	}
	memcpy(m->message_id, ev->event_id, sizeof(m->message_id));

	/* Sorted by key, as pamqp writes them. */
	m->headers[n++] = hstr("aggregate_id", ev->aggregate_id);
	m->headers[n++] = hstr("aggregate_type", ev->aggregate_type);
	m->headers[n++] = hint("aggregate_version", ev->aggregate_version);
	if (ev->causation_id[0] != '\0')
		m->headers[n++] = hstr("causation_id", ev->causation_id);
	m->headers[n++] = hstr("correlation_id", ev->correlation_id);
	m->headers[n++] = hstr("event_type", ev->event_type);
	if (ev->tenant_id[0] != '\0')
		m->headers[n++] = hstr("tenant_id", ev->tenant_id);
	m->headers[n++] = hstr("traceparent", m->traceparent);
	if (m->tracestate[0] != '\0')
		m->headers[n++] = hstr("tracestate", m->tracestate);
	m->headers[n++] = hint("x-retry-count", 0);

	p->_flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
	    AMQP_BASIC_CONTENT_ENCODING_FLAG | AMQP_BASIC_HEADERS_FLAG |
	    AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_PRIORITY_FLAG |
	    AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TIMESTAMP_FLAG;
	p->content_type = amqp_cstring_bytes("application/json");
	p->content_encoding = amqp_cstring_bytes("utf-8");
	p->delivery_mode = AMQP_DELIVERY_PERSISTENT;
	p->priority = 0;
	p->message_id = amqp_cstring_bytes(m->message_id);
	p->timestamp = (uint64_t)(ev->occurred_sec < 0 ? 0 : ev->occurred_sec);
	p->headers.num_entries = n;
	p->headers.entries = m->headers;
	return 0;
}

void
evbus_msg_free(struct evbus_msg *m)
{
	free(m->body);
	m->body = NULL;
}

amqp_table_entry_t
evbus_entry_str(const char *key, const char *value)
{
	return hstr(key, value);
}

amqp_table_entry_t
evbus_entry_int(const char *key, int64_t value)
{
	return hint(key, value);
}

static int
key_is(amqp_bytes_t k, const char *s)
{
	size_t	 n = strlen(s);

	return k.len == n && memcmp(k.bytes, s, n) == 0;
}

int
evbus_headers_edit(const amqp_table_t *in, amqp_table_entry_t *out, int max,
    const amqp_table_entry_t *set, int nset, const char *const *del, int ndel)
{
	int	 i, j, n = 0, skip;

	for (i = 0; in != NULL && i < in->num_entries; i++) {
		skip = 0;
		for (j = 0; j < nset && !skip; j++)
			if (in->entries[i].key.len == set[j].key.len &&
			    memcmp(in->entries[i].key.bytes, set[j].key.bytes,
			    set[j].key.len) == 0)
				skip = 1;
		for (j = 0; j < ndel && !skip; j++)
			if (key_is(in->entries[i].key, del[j]))
				skip = 1;
		if (skip)
			continue;
		if (n == max)
			return -1;
		out[n++] = in->entries[i];
	}
	for (j = 0; j < nset; j++) {
		if (n == max)
			return -1;
		out[n++] = set[j];
	}
	return n;
}

const amqp_field_value_t *
evbus_header_get(const amqp_table_t *t, const char *key)
{
	size_t	 klen = strlen(key);
	int	 i;

	if (t == NULL)
		return NULL;
	for (i = 0; i < t->num_entries; i++)
		if (t->entries[i].key.len == klen &&
		    memcmp(t->entries[i].key.bytes, key, klen) == 0)
			return &t->entries[i].value;
	return NULL;
}

int
evbus_header_int(const amqp_table_t *t, const char *key, int64_t *v)
{
	const amqp_field_value_t *f;
	char			  buf[32], *end;
	long long		  ll;

	if ((f = evbus_header_get(t, key)) == NULL)
		return 1;
	switch (f->kind) {
	case AMQP_FIELD_KIND_BOOLEAN:	*v = f->value.boolean ? 1 : 0; return 0;
	case AMQP_FIELD_KIND_I8:	*v = f->value.i8; return 0;
	case AMQP_FIELD_KIND_U8:	*v = f->value.u8; return 0;
	case AMQP_FIELD_KIND_I16:	*v = f->value.i16; return 0;
	case AMQP_FIELD_KIND_U16:	*v = f->value.u16; return 0;
	case AMQP_FIELD_KIND_I32:	*v = f->value.i32; return 0;
	case AMQP_FIELD_KIND_U32:	*v = f->value.u32; return 0;
	case AMQP_FIELD_KIND_I64:	*v = f->value.i64; return 0;
	case AMQP_FIELD_KIND_U64:
		if (f->value.u64 > INT64_MAX)
			return -1;
		*v = (int64_t)f->value.u64;
		return 0;
	/*
	 * A timestamp ('T') is a datetime to pamqp, and int(str(datetime))
	 * raises in Python: it is not an integer (it used to be read as one).
	 */
	case AMQP_FIELD_KIND_UTF8:
		/* Python: int(str(value)); digits with optional sign/space. */
		if (f->value.bytes.len == 0 || f->value.bytes.len >= sizeof(buf))
			return -1;
		/* An embedded NUL would hide what follows it from strtoll. */
		if (memchr(f->value.bytes.bytes, '\0',
		    f->value.bytes.len) != NULL)
			return -1;
		memcpy(buf, f->value.bytes.bytes, f->value.bytes.len);
		buf[f->value.bytes.len] = '\0';
		errno = 0;
		ll = strtoll(buf, &end, 10);
		/*
		 * No digits: strtoll leaves end at buf.  Test that before
		 * skipping trailing blanks, or " " would read as 0.
		 */
		if (errno != 0 || end == buf)
			return -1;
		while (isspace((unsigned char)*end))
			end++;
		if (*end != '\0')
			return -1;
		*v = ll;
		return 0;
	default:
		return -1;
	}
}

int
evbus_header_str(const amqp_table_t *t, const char *key, char *buf,
    size_t len)
{
	const amqp_field_value_t *f;

	if ((f = evbus_header_get(t, key)) == NULL)
		return 1;
	if (f->kind != AMQP_FIELD_KIND_UTF8)
		return -1;
	evbus_amqp_bytes_str(f->value.bytes, buf, len);
	return 0;
}
