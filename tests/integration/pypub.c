/*
 * pypub.c: publish events exactly as eventsource-py puts them on the wire
 * (wire spec 3.3-3.5), or deliberately broken variants of them, for the
 * integration tests.
 *
 *	pypub URL EXCHANGE ROUTING_KEY [options]
 *
 * ROUTING_KEY "-" means "{aggregate_type}.{event_type}" of the body.  The
 * body is sent byte for byte as given; the properties and headers are
 * derived from it the way eventsource-py derives them from the event:
 * content_type application/json, content_encoding utf-8, delivery_mode 2,
 * priority 0, message_id = event_id, timestamp = occurred_at in seconds;
 * headers event_type, aggregate_type, aggregate_id (S), aggregate_version
 * (pamqp's smallest integer kind), x-retry-count b0, tenant_id,
 * correlation_id and causation_id (S) when set; keys sorted as pamqp
 * writes them.  Fields missing from the body give no header, so a broken
 * body gives the headers Python would have sent for what is there.
 *
 * Options:
 *	--body JSON		a message body (repeatable: one message each;
 *				default: the wire spec 3.2 example)
 *	--body-file FILE	a body read raw from FILE (invalid UTF-8 too)
 *	--set KEY=JSON		append "KEY":JSON to every body (text edit
 *				before the final '}', the rest stays as is)
 *	--header NAME=K:VALUE	add or replace a header of AMQP kind K:
 *				S string, x bytes, b B s u I i l integers,
 *				f d floats, t boolean (1/0/true/false),
 *				T timestamp, V void (no value); "NAME=VALUE"
 *				means S
 *	--del-header NAME	leave out a header pypub would send
 *	--no-headers		send no header table at all
 *	--message-id ID		message_id property (default: event_id)
 *	--no-message-id		no message_id property
 *	--no-timestamp		no timestamp (as Python's retry/DLQ copies)
 *	--count N		publish every body N times; copies after the
 *				first get a fresh event_id (body and
 *				message_id) unless --same-id
 *	--same-id		keep the ids of the body for every copy
 *	--print-ids		print the message_id of every confirmed message
 *
 * Publishes are mandatory, with publisher confirms.  Exit status: 0 when
 * every message was confirmed and routed, 1 when one was not, 2 for a
 * usage error, 3 when the broker could not be reached.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conn.h"
#include "event.h"
#include "message.h"
#include "publish.h"
#include "url.h"
#include "xmalloc.h"

#define MAX_BODIES	64
#define MAX_HEADERS	64
#define MAX_SETS	32

/* The wire spec 3.2 example, what Python puts on the wire. */
static const char spec_body[] =
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

struct body {
	char	*bytes;
	size_t	 len;
};

/* A header given on the command line. */
struct hdr {
	char	*name;
	char	 kind;
	char	*value;
};

struct opts {
	const char	*url;
	const char	*exchange;
	const char	*rk;
	struct body	 bodies[MAX_BODIES];
	int		 nbodies;
	const char	*sets[MAX_SETS];
	int		 nsets;
	struct hdr	 hdrs[MAX_HEADERS];
	int		 nhdrs;
	const char	*dels[MAX_HEADERS];
	int		 ndels;
	int		 no_headers;
	const char	*message_id;
	int		 no_message_id;
	int		 no_timestamp;
	long		 count;
	int		 same_id;
	int		 print_ids;
};

/* What became of each publish; indexed by cookie. */
struct results {
	int		*status;
	char		(*ids)[128];
	char		 reason[256];
};

static __attribute__((__noreturn__)) void
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "pypub: %s\n", why);
	fprintf(stderr, "usage: pypub URL EXCHANGE ROUTING_KEY|- [--body JSON] "
	    "[--body-file FILE] [--set KEY=JSON]\n"
	    "\t[--header NAME=K:VALUE] [--del-header NAME] [--no-headers]\n"
	    "\t[--message-id ID] [--no-message-id] [--no-timestamp]\n"
	    "\t[--count N] [--same-id] [--print-ids]\n");
	exit(2);
}

static void
read_file(const char *path, struct body *b)
{
	char	 buf[65536];
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY)) == -1) {
		fprintf(stderr, "pypub: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	b->bytes = NULL;
	b->len = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		b->bytes = xreallocarray(b->bytes, b->len + (size_t)n + 1, 1);
		memcpy(b->bytes + b->len, buf, (size_t)n);
		b->len += (size_t)n;
	}
	if (n == -1) {
		fprintf(stderr, "pypub: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	close(fd);
	if (b->bytes == NULL)
		b->bytes = xstrdup("");
}

static void
parse_header(const char *arg, struct hdr *h)
{
	const char	*eq = strchr(arg, '=');

	if (eq == NULL || eq == arg)
		usage("--header wants NAME=K:VALUE");
	h->name = xstrndup(arg, (size_t)(eq - arg));
	eq++;
	if (eq[0] != '\0' && eq[1] == ':' &&
	    strchr("SxbBsuIilLfdtTV", eq[0]) != NULL) {
		h->kind = eq[0];
		h->value = xstrdup(eq + 2);
	} else {
		h->kind = 'S';
		h->value = xstrdup(eq);
	}
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	int	 i;
	char	*end;

	memset(o, 0, sizeof(*o));
	o->count = 1;
	if (argc < 4)
		usage(NULL);
	o->url = argv[1];
	o->exchange = argv[2];
	o->rk = argv[3];
	for (i = 4; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

#define NEED()	do { if (v == NULL) usage("missing option value"); i++; } while (0)
		if (strcmp(a, "--body") == 0) {
			NEED();
			if (o->nbodies == MAX_BODIES)
				usage("too many bodies");
			o->bodies[o->nbodies].bytes = xstrdup(v);
			o->bodies[o->nbodies++].len = strlen(v);
		} else if (strcmp(a, "--body-file") == 0) {
			NEED();
			if (o->nbodies == MAX_BODIES)
				usage("too many bodies");
			read_file(v, &o->bodies[o->nbodies++]);
		} else if (strcmp(a, "--set") == 0) {
			NEED();
			if (o->nsets == MAX_SETS || strchr(v, '=') == NULL)
				usage("--set wants KEY=JSON");
			o->sets[o->nsets++] = v;
		} else if (strcmp(a, "--header") == 0) {
			NEED();
			if (o->nhdrs == MAX_HEADERS)
				usage("too many headers");
			parse_header(v, &o->hdrs[o->nhdrs++]);
		} else if (strcmp(a, "--del-header") == 0) {
			NEED();
			if (o->ndels == MAX_HEADERS)
				usage("too many headers");
			o->dels[o->ndels++] = v;
		} else if (strcmp(a, "--no-headers") == 0)
			o->no_headers = 1;
		else if (strcmp(a, "--message-id") == 0) {
			NEED();
			o->message_id = v;
		} else if (strcmp(a, "--no-message-id") == 0)
			o->no_message_id = 1;
		else if (strcmp(a, "--no-timestamp") == 0)
			o->no_timestamp = 1;
		else if (strcmp(a, "--count") == 0) {
			NEED();
			errno = 0;
			o->count = strtol(v, &end, 10);
			if (errno != 0 || *end != '\0' || o->count < 1 ||
			    o->count > 10000000)
				usage("--count wants a number >= 1");
		} else if (strcmp(a, "--same-id") == 0)
			o->same_id = 1;
		else if (strcmp(a, "--print-ids") == 0)
			o->print_ids = 1;
		else
			usage("unknown option");
#undef NEED
	}
	if (o->nbodies == 0) {
		o->bodies[0].bytes = xstrdup(spec_body);
		o->bodies[0].len = strlen(spec_body);
		o->nbodies = 1;
	}
}

/* 1 when the text before end holds nothing but "{" and blanks after it. */
static int
empty_object(const char *s, size_t end)
{
	while (end > 0 && strchr(" \t\r\n", s[end - 1]) != NULL)
		end--;
	return end > 0 && s[end - 1] == '{';
}

/* Body b with every --set appended as a top-level key (text edit). */
static void
apply_sets(const struct opts *o, struct body *b)
{
	const char	*eq;
	size_t		 end, extra = 0, n;
	char		*nb;
	int		 i;

	if (o->nsets == 0)
		return;
	for (end = b->len; end > 0 && b->bytes[end - 1] != '}'; end--)
		;
	if (end == 0)
		return;		/* not an object: leave it broken as it is */
	end--;
	for (i = 0; i < o->nsets; i++)
		extra += strlen(o->sets[i]) + 8;
	nb = xmalloc(b->len + extra + 1);
	memcpy(nb, b->bytes, end);
	n = end;
	for (i = 0; i < o->nsets; i++) {
		eq = strchr(o->sets[i], '=');
		n += (size_t)sprintf(nb + n, "%s\"%.*s\":%s",
		    empty_object(nb, n) ? "" : ",", (int)(eq - o->sets[i]),
		    o->sets[i], eq + 1);
	}
	memcpy(nb + n, b->bytes + end, b->len - end);
	n += b->len - end;
	nb[n] = '\0';
	free(b->bytes);
	b->bytes = nb;
	b->len = n;
}

/* Replace the body's event_id value by id (same length, text edit). */
static int
replace_event_id(struct body *b, const char *id)
{
	static const char	 key[] = "\"event_id\":\"";
	char			*p;

	p = memmem(b->bytes, b->len, key, sizeof(key) - 1);
	if (p == NULL)
		return -1;
	p += sizeof(key) - 1;
	if ((size_t)(p - b->bytes) + EVBUS_UUID_LEN + 1 > b->len ||
	    p[EVBUS_UUID_LEN] != '"')
		return -1;
	memcpy(p, id, EVBUS_UUID_LEN);
	return 0;
}

static const char *
jstr(json_object *obj, const char *key)
{
	json_object	*v;

	if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
cmp_entry(const void *a, const void *b)
{
	const amqp_table_entry_t *x = a, *y = b;
	size_t			  n = x->key.len < y->key.len ? x->key.len :
				    y->key.len;
	int			  c = memcmp(x->key.bytes, y->key.bytes, n);

	if (c != 0)
		return c;
	return x->key.len < y->key.len ? -1 : x->key.len > y->key.len;
}

static amqp_table_entry_t
entry_from_arg(const struct hdr *h)
{
	amqp_table_entry_t	 e;
	char			*end;
	long long		 ll;
	unsigned long long	 ull;
	double			 d;

	memset(&e, 0, sizeof(e));
	e.key = amqp_cstring_bytes(h->name);
	errno = 0;
	ll = 0;
	ull = 0;
	d = 0;
	end = h->value;
	switch (h->kind) {
	case 'S':
	case 'x':
		e.value.kind = h->kind == 'S' ? AMQP_FIELD_KIND_UTF8 :
		    AMQP_FIELD_KIND_BYTES;
		e.value.value.bytes = amqp_cstring_bytes(h->value);
		return e;
	case 'V':
		e.value.kind = AMQP_FIELD_KIND_VOID;
		return e;
	case 't':
		e.value.kind = AMQP_FIELD_KIND_BOOLEAN;
		e.value.value.boolean = strcmp(h->value, "1") == 0 ||
		    strcmp(h->value, "true") == 0;
		return e;
	case 'f':
	case 'd':
		d = strtod(h->value, &end);
		break;
	case 'B':
	case 'u':
	case 'i':
	case 'L':
	case 'T':
		ull = strtoull(h->value, &end, 10);
		break;
	default:
		ll = strtoll(h->value, &end, 10);
		break;
	}
	if (errno != 0 || end == h->value || *end != '\0') {
		fprintf(stderr, "pypub: header %s: bad %c value \"%s\"\n",
		    h->name, h->kind, h->value);
		exit(2);
	}
	switch (h->kind) {
	case 'b': e.value.kind = AMQP_FIELD_KIND_I8; e.value.value.i8 = (int8_t)ll; break;
	case 'B': e.value.kind = AMQP_FIELD_KIND_U8; e.value.value.u8 = (uint8_t)ull; break;
	case 's': e.value.kind = AMQP_FIELD_KIND_I16; e.value.value.i16 = (int16_t)ll; break;
	case 'u': e.value.kind = AMQP_FIELD_KIND_U16; e.value.value.u16 = (uint16_t)ull; break;
	case 'I': e.value.kind = AMQP_FIELD_KIND_I32; e.value.value.i32 = (int32_t)ll; break;
	case 'i': e.value.kind = AMQP_FIELD_KIND_U32; e.value.value.u32 = (uint32_t)ull; break;
	case 'l': e.value.kind = AMQP_FIELD_KIND_I64; e.value.value.i64 = ll; break;
	case 'L': e.value.kind = AMQP_FIELD_KIND_U64; e.value.value.u64 = ull; break;
	case 'T': e.value.kind = AMQP_FIELD_KIND_TIMESTAMP; e.value.value.u64 = ull; break;
	case 'f': e.value.kind = AMQP_FIELD_KIND_F32; e.value.value.f32 = (float)d; break;
	case 'd': e.value.kind = AMQP_FIELD_KIND_F64; e.value.value.f64 = d; break;
	}
	return e;
}

static int
deleted(const struct opts *o, const char *name)
{
	int	 i;

	for (i = 0; i < o->ndels; i++)
		if (strcmp(o->dels[i], name) == 0)
			return 1;
	return 0;
}

static void
add(const struct opts *o, amqp_table_entry_t *t, int *n, amqp_table_entry_t e,
    const char *name)
{
	if (!deleted(o, name))
		t[(*n)++] = e;
}

/*
 * Properties and headers for body b, as eventsource-py would set them
 * (wire spec 3.3, 3.4), then the command line's changes.  Strings point
 * into obj, o and ids: keep them alive while publishing.
 */
static void
build(const struct opts *o, json_object *obj, amqp_basic_properties_t *p,
    amqp_table_entry_t *t, const char *msgid)
{
	json_object	*v;
	const char	*s;
	int64_t		 sec;
	int32_t		 usec;
	int		 n = 0, i, j;

	memset(p, 0, sizeof(*p));
	p->_flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
	    AMQP_BASIC_CONTENT_ENCODING_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
	    AMQP_BASIC_PRIORITY_FLAG;
	p->content_type = amqp_cstring_bytes("application/json");
	p->content_encoding = amqp_cstring_bytes("utf-8");
	p->delivery_mode = AMQP_DELIVERY_PERSISTENT;
	p->priority = 0;
	if (!o->no_message_id && msgid != NULL && msgid[0] != '\0') {
		p->_flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
		p->message_id = amqp_cstring_bytes(msgid);
	}
	if (!o->no_timestamp) {
		/* pamqp packs int(dt.timestamp()): truncated seconds. */
		if ((s = jstr(obj, "occurred_at")) != NULL &&
		    evbus_time_parse(s, &sec, &usec) == 0)
			p->timestamp = (uint64_t)(sec < 0 ? 0 : sec);
		else
			p->timestamp = (uint64_t)time(NULL);
		p->_flags |= AMQP_BASIC_TIMESTAMP_FLAG;
	}
	if (o->no_headers)
		return;

	if ((s = jstr(obj, "event_type")) != NULL)
		add(o, t, &n, evbus_entry_str("event_type", s), "event_type");
	if ((s = jstr(obj, "aggregate_type")) != NULL)
		add(o, t, &n, evbus_entry_str("aggregate_type", s),
		    "aggregate_type");
	if ((s = jstr(obj, "aggregate_id")) != NULL)
		add(o, t, &n, evbus_entry_str("aggregate_id", s),
		    "aggregate_id");
	if (obj != NULL) {
		int64_t	 ver = 1;	/* the model's default */

		if (json_object_object_get_ex(obj, "aggregate_version", &v) &&
		    json_object_is_type(v, json_type_int))
			ver = json_object_get_int64(v);
		add(o, t, &n, evbus_entry_int("aggregate_version", ver),
		    "aggregate_version");
	}
	add(o, t, &n, evbus_entry_int("x-retry-count", 0), "x-retry-count");
	/* Only when truthy, as Python's "if event.tenant_id:". */
	if ((s = jstr(obj, "tenant_id")) != NULL && s[0] != '\0')
		add(o, t, &n, evbus_entry_str("tenant_id", s), "tenant_id");
	if ((s = jstr(obj, "correlation_id")) != NULL && s[0] != '\0')
		add(o, t, &n, evbus_entry_str("correlation_id", s),
		    "correlation_id");
	if ((s = jstr(obj, "causation_id")) != NULL && s[0] != '\0')
		add(o, t, &n, evbus_entry_str("causation_id", s),
		    "causation_id");

	for (i = 0; i < o->nhdrs; i++) {
		amqp_table_entry_t e = entry_from_arg(&o->hdrs[i]);

		for (j = 0; j < n; j++)
			if (cmp_entry(&t[j], &e) == 0)
				break;
		if (j == n)
			n++;
		t[j] = e;
	}
	/* pamqp writes table keys sorted. */
	qsort(t, (size_t)n, sizeof(*t), cmp_entry);
	p->_flags |= AMQP_BASIC_HEADERS_FLAG;
	p->headers.num_entries = n;
	p->headers.entries = t;
}

static void
on_confirm(void *arg, uint64_t cookie, enum evbus_pub_status st,
    const char *reason)
{
	struct results	*r = arg;

	r->status[cookie] = (int)st;
	if (st != EVBUS_PUB_CONFIRMED && r->reason[0] == '\0')
		snprintf(r->reason, sizeof(r->reason), "%s",
		    reason != NULL ? reason : "?");
}

int
main(int argc, char **argv)
{
	struct opts		 o;
	struct evbus_url	 url;
	struct evbus_amqp_opts	 ao;
	struct evbus_amqp	 a;
	struct evbus_publisher	 pub;
	struct results		 res;
	amqp_basic_properties_t	 props;
	amqp_table_entry_t	 table[MAX_HEADERS + 16];
	json_object		*obj;
	json_tokener		*tok;
	char			 err[256], rk[512], id[EVBUS_UUID_LEN + 1];
	const char		*msgid, *at, *et;
	size_t			 total, k;
	long			 c;
	int			 b, rc, failed = 0;

	parse_args(argc, argv, &o);
	if (evbus_url_parse(o.url, &url, err, sizeof(err)) == -1) {
		fprintf(stderr, "pypub: URL: %s\n", err);
		return 2;
	}
	for (b = 0; b < o.nbodies; b++)
		apply_sets(&o, &o.bodies[b]);
	total = (size_t)o.nbodies * (size_t)o.count;
	res.status = xcalloc(total, sizeof(*res.status));
	res.ids = xcalloc(total, sizeof(*res.ids));
	res.reason[0] = '\0';
	for (k = 0; k < total; k++)
		res.status[k] = -1;

	memset(&ao, 0, sizeof(ao));
	ao.url = &url;
	ao.heartbeat = 30;
	ao.connect_timeout = 10;
	ao.connection_name = "pypub (evbus tests)";
	ao.verify = 1;
	if (evbus_amqp_connect(&a, &ao) != 0 ||
	    evbus_amqp_channel_open(&a, 1) != 0 ||
	    evbus_pub_init(&pub, &a, 1, 256, 30, on_confirm, &res) != 0) {
		fprintf(stderr, "pypub: %s\n", a.err);
		return 3;
	}

	k = 0;
	for (b = 0; b < o.nbodies; b++) {
		struct body *bd = &o.bodies[b];

		for (c = 0; c < o.count; c++, k++) {
			if (c > 0 && !o.same_id) {
				evbus_uuid4(id);
				(void)replace_event_id(bd, id);
			}
			/* Lax parse: a broken body still gives headers for what is there. */
			tok = json_tokener_new();
			obj = json_tokener_parse_ex(tok, bd->bytes, (int)bd->len);
			json_tokener_free(tok);
			if (obj != NULL && !json_object_is_type(obj,
			    json_type_object)) {
				json_object_put(obj);
				obj = NULL;
			}
			msgid = o.message_id != NULL ? o.message_id :
			    jstr(obj, "event_id");
			if (c > 0 && !o.same_id && o.message_id == NULL)
				msgid = id;
			snprintf(res.ids[k], sizeof(res.ids[k]), "%s",
			    msgid != NULL ? msgid : "");
			build(&o, obj, &props, table, res.ids[k]);
			if (strcmp(o.rk, "-") == 0) {
				at = jstr(obj, "aggregate_type");
				et = jstr(obj, "event_type");
				snprintf(rk, sizeof(rk), "%s.%s", at ? at : "",
				    et ? et : "");
			} else
				snprintf(rk, sizeof(rk), "%s", o.rk);
			rc = evbus_pub_send(&pub, o.exchange, rk, &props,
			    bd->bytes, bd->len, k);
			json_object_put(obj);
			if (rc != 0)
				goto out;
		}
	}
	rc = evbus_pub_flush(&pub);
out:
	for (k = 0; k < total; k++) {
		if (res.status[k] == EVBUS_PUB_CONFIRMED) {
			if (o.print_ids)
				printf("%s\n", res.ids[k]);
		} else
			failed++;
	}
	if (failed > 0)
		fprintf(stderr, "pypub: %d of %zu messages not confirmed: %s\n",
		    failed, total, res.reason[0] ? res.reason :
		    (rc != 0 ? a.err : "?"));
	evbus_pub_free(&pub);
	evbus_amqp_close(&a);
	if (fflush(stdout) != 0)
		return 1;
	return failed > 0 ? 1 : 0;
}
