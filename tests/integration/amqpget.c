/*
 * amqpget.c: read messages raw from a queue with basic.get and print each
 * as one JSON object per line, for the integration tests to assert on DLQ
 * and retry copies:
 *
 *	{"exchange":"...","routing_key":"...","redelivered":false,
 *	 "properties":{"content_type":"application/json",...,"timestamp":N},
 *	 "headers":{"x-retry-count":{"kind":"b","value":3},...} (or null),
 *	 "body":"..." }
 *
 * Header kinds are the AMQP field type letters (S, x, b, B, s, u, I, i, l,
 * f, d, D, t, T, V, A, F); arrays and tables nest the same {kind, value}
 * pairs.  A body or string that is not valid UTF-8 is null, with its
 * bytes in hex beside it ("body_hex", "hex"); byte arrays (x) are hex.
 *
 *	amqpget URL QUEUE [--peek] [--max N]
 *		get (and ack) messages until the queue is empty or N were
 *		read; --peek leaves them in the queue (nack with requeue)
 *	amqpget URL QUEUE --count
 *		print "<ready messages> <consumers>" (passive declare)
 *	amqpget URL QUEUE --declare classic|quorum
 *		declare QUEUE durable, of that x-queue-type, then print
 *		"<ready messages> <consumers>" as --count does
 *
 * Exit status: 0, 1 when the queue does not exist or the broker fails,
 * 2 for a usage error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "conn.h"
#include "url.h"

static json_object *field_json(const amqp_field_value_t *f);

static __attribute__((__noreturn__)) void
usage(void)
{
	fprintf(stderr, "usage: amqpget URL QUEUE [--peek] [--max N] | "
	    "--count | --declare classic|quorum\n");
	exit(2);
}

/* 1 when s is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static int
utf8_ok(const unsigned char *s, size_t len)
{
	size_t		 i = 0, n, k;
	unsigned int	 c, min;

	while (i < len) {
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			min = 0x80;
			c &= 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			min = 0x800;
			c &= 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			min = 0x10000;
			c &= 0x07;
		} else
			return 0;
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static json_object *
hex_json(amqp_bytes_t b)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = b.bytes;
	json_object		*o;
	char			*s;
	size_t			 i;

	if ((s = malloc(b.len * 2 + 1)) == NULL)
		return NULL;
	for (i = 0; i < b.len; i++) {
		s[2 * i] = hex[p[i] >> 4];
		s[2 * i + 1] = hex[p[i] & 0xf];
	}
	s[2 * b.len] = '\0';
	o = json_object_new_string_len(s, (int)(b.len * 2));
	free(s);
	return o;
}

/* A string as JSON, or null when it is not UTF-8. */
static json_object *
str_json(amqp_bytes_t b)
{
	if (!utf8_ok(b.bytes, b.len))
		return NULL;
	return json_object_new_string_len(b.len ? b.bytes : "", (int)b.len);
}

static json_object *
table_json(const amqp_table_t *t)
{
	json_object	*o = json_object_new_object();
	char		*key;
	int		 i;

	for (i = 0; i < t->num_entries; i++) {
		key = strndup(t->entries[i].key.bytes, t->entries[i].key.len);
		if (key == NULL)
			continue;
		json_object_object_add(o, key,
		    field_json(&t->entries[i].value));
		free(key);
	}
	return o;
}

/* {"kind": "<letter>", "value": ...} for one field value. */
static json_object *
field_json(const amqp_field_value_t *f)
{
	json_object	*o = json_object_new_object(), *v = NULL, *a;
	char		 kind[2] = { (char)f->kind, '\0' };
	int		 i;

	switch (f->kind) {
	case AMQP_FIELD_KIND_BOOLEAN:
		v = json_object_new_boolean(f->value.boolean);
		break;
	case AMQP_FIELD_KIND_I8:
		v = json_object_new_int64(f->value.i8);
		break;
	case AMQP_FIELD_KIND_U8:
		v = json_object_new_int64(f->value.u8);
		break;
	case AMQP_FIELD_KIND_I16:
		v = json_object_new_int64(f->value.i16);
		break;
	case AMQP_FIELD_KIND_U16:
		v = json_object_new_int64(f->value.u16);
		break;
	case AMQP_FIELD_KIND_I32:
		v = json_object_new_int64(f->value.i32);
		break;
	case AMQP_FIELD_KIND_U32:
		v = json_object_new_int64(f->value.u32);
		break;
	case AMQP_FIELD_KIND_I64:
		v = json_object_new_int64(f->value.i64);
		break;
	case AMQP_FIELD_KIND_U64:
	case AMQP_FIELD_KIND_TIMESTAMP:
		v = json_object_new_uint64(f->value.u64);
		break;
	case AMQP_FIELD_KIND_F32:
		v = json_object_new_double(f->value.f32);
		break;
	case AMQP_FIELD_KIND_F64:
		v = json_object_new_double(f->value.f64);
		break;
	case AMQP_FIELD_KIND_DECIMAL:
		v = json_object_new_object();
		json_object_object_add(v, "decimals",
		    json_object_new_int(f->value.decimal.decimals));
		json_object_object_add(v, "value",
		    json_object_new_int64(f->value.decimal.value));
		break;
	case AMQP_FIELD_KIND_UTF8:
		v = str_json(f->value.bytes);
		if (v == NULL)
			json_object_object_add(o, "hex",
			    hex_json(f->value.bytes));
		break;
	case AMQP_FIELD_KIND_BYTES:
		v = hex_json(f->value.bytes);
		break;
	case AMQP_FIELD_KIND_ARRAY:
		v = json_object_new_array();
		for (i = 0; i < f->value.array.num_entries; i++) {
			a = field_json(&f->value.array.entries[i]);
			json_object_array_add(v, a);
		}
		break;
	case AMQP_FIELD_KIND_TABLE:
		v = table_json(&f->value.table);
		break;
	case AMQP_FIELD_KIND_VOID:
	default:
		break;
	}
	json_object_object_add(o, "kind", json_object_new_string(kind));
	json_object_object_add(o, "value", v);
	return o;
}

static void
add_bytes(json_object *o, const char *key, amqp_bytes_t b)
{
	json_object_object_add(o, key, str_json(b));
}

static json_object *
props_json(const amqp_basic_properties_t *p)
{
	json_object	*o = json_object_new_object();

	if (p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
		add_bytes(o, "content_type", p->content_type);
	if (p->_flags & AMQP_BASIC_CONTENT_ENCODING_FLAG)
		add_bytes(o, "content_encoding", p->content_encoding);
	if (p->_flags & AMQP_BASIC_DELIVERY_MODE_FLAG)
		json_object_object_add(o, "delivery_mode",
		    json_object_new_int(p->delivery_mode));
	if (p->_flags & AMQP_BASIC_PRIORITY_FLAG)
		json_object_object_add(o, "priority",
		    json_object_new_int(p->priority));
	if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
		add_bytes(o, "correlation_id", p->correlation_id);
	if (p->_flags & AMQP_BASIC_REPLY_TO_FLAG)
		add_bytes(o, "reply_to", p->reply_to);
	if (p->_flags & AMQP_BASIC_EXPIRATION_FLAG)
		add_bytes(o, "expiration", p->expiration);
	if (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG)
		add_bytes(o, "message_id", p->message_id);
	if (p->_flags & AMQP_BASIC_TIMESTAMP_FLAG)
		json_object_object_add(o, "timestamp",
		    json_object_new_uint64(p->timestamp));
	if (p->_flags & AMQP_BASIC_TYPE_FLAG)
		add_bytes(o, "type", p->type);
	if (p->_flags & AMQP_BASIC_USER_ID_FLAG)
		add_bytes(o, "user_id", p->user_id);
	if (p->_flags & AMQP_BASIC_APP_ID_FLAG)
		add_bytes(o, "app_id", p->app_id);
	if (p->_flags & AMQP_BASIC_CLUSTER_ID_FLAG)
		add_bytes(o, "cluster_id", p->cluster_id);
	return o;
}

static void
print_message(const amqp_basic_get_ok_t *g, const amqp_message_t *m)
{
	json_object	*o = json_object_new_object(), *body;

	add_bytes(o, "exchange", g->exchange);
	add_bytes(o, "routing_key", g->routing_key);
	json_object_object_add(o, "redelivered",
	    json_object_new_boolean(g->redelivered));
	json_object_object_add(o, "properties", props_json(&m->properties));
	json_object_object_add(o, "headers",
	    (m->properties._flags & AMQP_BASIC_HEADERS_FLAG) ?
	    table_json(&m->properties.headers) : NULL);
	body = str_json(m->body);
	json_object_object_add(o, "body", body);
	if (body == NULL)
		json_object_object_add(o, "body_hex", hex_json(m->body));
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int
main(int argc, char **argv)
{
	struct evbus_url	 url;
	struct evbus_amqp_opts	 ao;
	struct evbus_amqp	 a;
	amqp_rpc_reply_t	 r;
	amqp_message_t		 m;
	amqp_queue_declare_ok_t	*d;
	amqp_basic_get_ok_t	 g;
	char			 err[256], what[300], *end;
	const char		*queue, *type = NULL;
	amqp_table_entry_t	 targ;
	amqp_table_t		 args = amqp_empty_table;
	uint64_t		 last = 0;
	long			 max = -1, n = 0;
	int			 i, peek = 0, count = 0, rc = 0;

	if (argc < 3)
		usage();
	queue = argv[2];
	for (i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--peek") == 0)
			peek = 1;
		else if (strcmp(argv[i], "--count") == 0)
			count = 1;
		else if (strcmp(argv[i], "--declare") == 0 && i + 1 < argc) {
			type = argv[++i];
			if (strcmp(type, "classic") != 0 &&
			    strcmp(type, "quorum") != 0)
				usage();
			count = 1;
		}
		else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc) {
			max = strtol(argv[++i], &end, 10);
			if (*end != '\0' || max < 0)
				usage();
		} else
			usage();
	}
	if (evbus_url_parse(argv[1], &url, err, sizeof(err)) == -1) {
		fprintf(stderr, "amqpget: URL: %s\n", err);
		return 2;
	}
	memset(&ao, 0, sizeof(ao));
	ao.url = &url;
	ao.heartbeat = 30;
	ao.connect_timeout = 10;
	ao.connection_name = "amqpget (evbus tests)";
	ao.verify = 1;
	if (evbus_amqp_connect(&a, &ao) != 0 ||
	    evbus_amqp_channel_open(&a, 1) != 0) {
		fprintf(stderr, "amqpget: %s\n", a.err);
		return 1;
	}

	if (count) {
		if (type != NULL) {
			targ.key = amqp_cstring_bytes("x-queue-type");
			targ.value.kind = AMQP_FIELD_KIND_UTF8;
			targ.value.value.bytes = amqp_cstring_bytes(type);
			args.num_entries = 1;
			args.entries = &targ;
		}
		d = amqp_queue_declare(a.conn, 1, amqp_cstring_bytes(queue),
		    type == NULL, type != NULL, 0, 0, args);
		if (d == NULL) {
			snprintf(what, sizeof(what), "queue.declare%s '%s'",
			    type == NULL ? " (passive)" : "", queue);
			evbus_amqp_fail_last(&a, 1, what);
			fprintf(stderr, "amqpget: %s\n", a.err);
			evbus_amqp_close(&a);
			return 1;
		}
		printf("%u %u\n", d->message_count, d->consumer_count);
		evbus_amqp_close(&a);
		return 0;
	}

	while (max < 0 || n < max) {
		amqp_maybe_release_buffers(a.conn);
		r = amqp_basic_get(a.conn, 1, amqp_cstring_bytes(queue), 0);
		if (r.reply_type != AMQP_RESPONSE_NORMAL) {
			snprintf(what, sizeof(what), "basic.get '%s'", queue);
			evbus_amqp_fail(&a, 1, r, what);
			fprintf(stderr, "amqpget: %s\n", a.err);
			rc = 1;
			break;
		}
		if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
			break;
		g = *(amqp_basic_get_ok_t *)r.reply.decoded;
		/* The strings live in the pool the next read may reuse. */
		g.exchange = amqp_bytes_malloc_dup(g.exchange);
		g.routing_key = amqp_bytes_malloc_dup(g.routing_key);
		r = amqp_read_message(a.conn, 1, &m, 0);
		if (r.reply_type != AMQP_RESPONSE_NORMAL) {
			evbus_amqp_fail(&a, 1, r, "reading a message");
			fprintf(stderr, "amqpget: %s\n", a.err);
			rc = 1;
			break;
		}
		print_message(&g, &m);
		amqp_bytes_free(g.exchange);
		amqp_bytes_free(g.routing_key);
		amqp_destroy_message(&m);
		last = g.delivery_tag;
		n++;
		if (!peek && amqp_basic_ack(a.conn, 1, last, 0) != 0) {
			fprintf(stderr, "amqpget: basic.ack failed\n");
			rc = 1;
			break;
		}
	}
	if (peek && last != 0)
		amqp_basic_nack(a.conn, 1, last, 1, 1);
	if (rc == 0)
		evbus_amqp_channel_close(&a, 1);
	evbus_amqp_close(&a);
	if (fflush(stdout) != 0)
		return 1;
	return rc;
}
