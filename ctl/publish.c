/*
 * publish.c: `evbusctl publish`: validate every event first, then publish
 * them with confirms, ordered (one at a time) or pipelined (a window of
 * outstanding confirms per chunk), and report total/published/failed/chunks
 * like eventsource-py's publish_batch.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ctl.h"
#include "event.h"
#include "message.h"
#include "publish.h"
#include "xmalloc.h"

#define MAX_INPUT	(256UL * 1024 * 1024)

struct item {
	struct evbus_event	 ev;
	char			 where[48];	/* "line 3", "item 2" */
	int			 valid;
	int			 status;	/* -1 pending, else evbus_pub_status */
	char			*reason;
};

struct batch {
	struct item		*items;
	size_t			 n, cap;
	size_t			 invalid;
};

static void
add_item(struct batch *b, json_object *obj, const char *where)
{
	struct item	*it;
	char		 err[512];

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->items = xreallocarray(b->items, b->cap, sizeof(*b->items));
	}
	it = &b->items[b->n++];
	memset(it, 0, sizeof(*it));
	it->status = -1;
	snprintf(it->where, sizeof(it->where), "%s", where);
	if (evbus_event_from_json(obj, EVBUS_EVENT_FILL_DEFAULTS, &it->ev, err,
	    sizeof(err)) == -1) {
		ctl_warnx("%s: %s", where, err);
		b->invalid++;
		return;
	}
	it->valid = 1;
}

static void
add_error(struct batch *b, const char *where, const char *err)
{
	struct item	*it;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->items = xreallocarray(b->items, b->cap, sizeof(*b->items));
	}
	it = &b->items[b->n++];
	memset(it, 0, sizeof(*it));
	it->status = -1;
	snprintf(it->where, sizeof(it->where), "%s", where);
	ctl_warnx("%s: %s", where, err);
	b->invalid++;
}

/* Parse one complete JSON value from s; NULL with err on failure. */
static json_object *
parse_value(const char *s, size_t len, size_t *used, char *err, size_t errlen)
{
	json_tokener		*tok;
	json_object		*obj;
	enum json_tokener_error	 je;

	if ((tok = json_tokener_new_ex(64)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, s, (int)len);
	je = json_tokener_get_error(tok);
	if (obj == NULL && je == json_tokener_continue) {
		/* Complete the value: a NUL ends the input for json-c. */
		obj = json_tokener_parse_ex(tok, "", 1);
		je = json_tokener_get_error(tok);
	}
	*used = json_tokener_get_parse_end(tok);
	if (obj == NULL)
		snprintf(err, errlen, "invalid JSON: %s",
		    json_tokener_error_desc(je));
	json_tokener_free(tok);
	return obj;
}

static int
only_space(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]) && s[i] != '\0')
			return 0;
	return 1;
}

/*
 * Split input into events: a JSON array, one JSON object (possibly over
 * several lines), or JSON lines.
 */
static void
parse_input(struct batch *b, const char *buf, size_t len, const char *name)
{
	json_object	*obj;
	char		 err[256], where[48];
	size_t		 used, i, start, lineno;
	const char	*p = buf;

	while (len > 0 && isspace((unsigned char)*p)) {
		p++;
		len--;
	}
	if (len == 0) {
		add_error(b, name, "no events in the input");
		return;
	}
	obj = parse_value(p, len, &used, err, sizeof(err));
	if (obj != NULL && only_space(p + used, len - used)) {
		if (json_object_is_type(obj, json_type_array)) {
			for (i = 0; i < json_object_array_length(obj); i++) {
				snprintf(where, sizeof(where), "%s: item %zu",
				    name, i + 1);
				add_item(b, json_object_array_get_idx(obj, i),
				    where);
			}
			if (json_object_array_length(obj) == 0)
				add_error(b, name, "empty JSON array");
		} else {
			snprintf(where, sizeof(where), "%s", name);
			add_item(b, obj, where);
		}
		json_object_put(obj);
		return;
	}
	json_object_put(obj);
	if (*p == '[') {
		add_error(b, name, err[0] ? err : "trailing data after the "
		    "JSON array");
		return;
	}
	/*
	 * JSON lines.  Restore the full length before rewinding p: the
	 * leading whitespace skipped above is part of the input again, and
	 * rewinding first would cut as many bytes off the last line.
	 */
	lineno = 1;
	len += (size_t)(p - buf);
	for (start = 0, i = 0;; i++) {
		if (i < len && buf[i] != '\n')
			continue;
		if (!only_space(buf + start, i - start)) {
			snprintf(where, sizeof(where), "%s: line %zu", name,
			    lineno);
			obj = parse_value(buf + start, i - start, &used, err,
			    sizeof(err));
			if (obj == NULL)
				add_error(b, where, err);
			else if (!only_space(buf + start + used,
			    i - start - used))
				add_error(b, where, "trailing data after the "
				    "JSON value (one event per line)");
			else
				add_item(b, obj, where);
			json_object_put(obj);
		}
		if (i >= len)
			break;
		start = i + 1;
		lineno++;
	}
}

static char *
read_all(FILE *fp, size_t *lenp)
{
	char	*buf = NULL;
	size_t	 len = 0, cap = 0, r;

	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 131072;
			if (cap > MAX_INPUT + 65536) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			buf = xreallocarray(buf, cap, 1);
		}
		r = fread(buf + len, 1, cap - len - 1, fp);
		len += r;
		if (r == 0)
			break;
	}
	if (ferror(fp)) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

static void
on_result(void *arg, uint64_t cookie, enum evbus_pub_status st,
    const char *reason)
{
	struct batch	*b = arg;
	struct item	*it = &b->items[cookie];

	it->status = st;
	if (reason != NULL)
		it->reason = xstrdup(reason);
}

int
cmd_publish(struct ctl *ctl, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "ordered",	no_argument,		NULL, 'o' },
		{ "best-effort", no_argument,		NULL, 'b' },
		{ "window",	required_argument,	NULL, 'w' },
		{ "no-declare",	no_argument,		NULL, 'n' },
		{ "input",	required_argument,	NULL, 'i' },
		{ "traceparent", required_argument,	NULL, 't' },
		{ "tracestate",	required_argument,	NULL, 's' },
		{ "json",	no_argument,		NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct evbus_config	*c = ctl->conf;
	struct evbus_publisher	 pub;
	struct batch		 b;
	struct evbus_msg	 m;
	const char		*input = NULL, *parent = NULL, *state = NULL;
	const char		*errstr;
	char			*buf, err[256];
	size_t			 len, i, window, chunk, nvalid, published = 0;
	size_t			 failed, chunks = 0, sent;
	int			 ch, ordered = 0, best = 0, declare = 1, rc;
	FILE			*fp;

	window = (size_t)c->max_concurrent_publishes;
	while ((ch = getopt_long(argc, argv, "obw:ni:t:s:j", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'o': ordered = 1; break;
		case 'b': best = 1; break;
		case 'n': declare = 0; break;
		case 'i': input = optarg; break;
		case 't': parent = optarg; break;
		case 's': state = optarg; break;
		case 'j': ctl->json = 1; break;
		case 'w':
			window = (size_t)strtonum(optarg, 1, 100000, &errstr);
			if (errstr != NULL) {
				ctl_warnx("--window %s: %s", optarg, errstr);
				return CTL_EX_USAGE;
			}
			break;
		default:
			return CTL_EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (parent != NULL && !evbus_traceparent_valid(parent)) {
		ctl_warnx("--traceparent %s: not a W3C traceparent "
		    "(00-<32 hex>-<16 hex>-<2 hex>)", parent);
		return CTL_EX_USAGE;
	}
	if ((input != NULL) + (argc > 0) != 1 || argc > 1) {
		ctl_warnx("publish: give one event as an argument, or -i FILE "
		    "(- for standard input)");
		return CTL_EX_USAGE;
	}

	memset(&b, 0, sizeof(b));
	if (input == NULL) {
		parse_input(&b, argv[0], strlen(argv[0]), "argument");
	} else {
		if (strcmp(input, "-") == 0)
			fp = stdin;
		else if ((fp = fopen(input, "r")) == NULL) {
			ctl_warnx("%s: %s", input, strerror(errno));
			return CTL_EX_NOINPUT;
		}
		buf = read_all(fp, &len);
		if (fp != stdin)
			fclose(fp);
		if (buf == NULL) {
			ctl_warnx("%s: %s", input, strerror(errno));
			return CTL_EX_NOINPUT;
		}
		parse_input(&b, buf, len, strcmp(input, "-") == 0 ? "stdin" :
		    input);
		free(buf);
	}
	nvalid = b.n - b.invalid;
	if (b.invalid > 0 && (!best || nvalid == 0)) {
		ctl_warnx("refused: %zu of %zu events invalid, nothing "
		    "published%s", b.invalid, b.n, best ? "" :
		    " (--best-effort publishes the valid ones)");
		rc = CTL_EX_DATAERR;
		goto out;
	}

	if (ctl_connect(ctl) == -1) {
		rc = CTL_EX_UNAVAILABLE;
		goto out;
	}
	if (declare && amqp_exchange_declare(ctl->amqp.conn, CTL_CHANNEL,
	    amqp_cstring_bytes(c->exchange_name),
	    amqp_cstring_bytes(evbus_exchange_type_str(c->exchange_type)), 0,
	    c->durable, c->auto_delete, 0, amqp_empty_table) == NULL) {
		char	 what[300];

		snprintf(what, sizeof(what), "exchange.declare '%s'",
		    c->exchange_name);
		evbus_amqp_fail_last(&ctl->amqp, CTL_CHANNEL, what);
		ctl_warnx("%s (check exchange_type, durable and auto_delete "
		    "against the existing exchange, or use --no-declare)",
		    ctl->amqp.err);
		rc = CTL_EX_UNAVAILABLE;
		goto out;
	}
	if (ordered)
		window = 1;
	if (evbus_pub_init(&pub, &ctl->amqp, CTL_CHANNEL, window,
	    c->publish_timeout, on_result, &b) != 0) {
		ctl_warnx("%s", ctl->amqp.err);
		rc = CTL_EX_UNAVAILABLE;
		goto out;
	}

	chunk = ordered ? b.n : (size_t)c->publish_chunk_size;
	sent = 0;
	for (i = 0; i < b.n; i++) {
		struct item	*it = &b.items[i];

		if (!it->valid)
			continue;
		if (evbus_msg_build(&m, &it->ev, parent, state, err,
		    sizeof(err)) == -1) {
			it->status = EVBUS_PUB_NACKED;
			it->reason = xstrdup(err);
			continue;
		}
		evbus_pub_send(&pub, c->exchange_name, m.routing_key,
		    &m.props, m.body, m.body_len, i);
		evbus_msg_free(&m);
		if (++sent % chunk == 0) {
			evbus_pub_flush(&pub);
			chunks++;
		}
	}
	if (sent % chunk != 0) {
		evbus_pub_flush(&pub);
		chunks++;
	}
	evbus_pub_free(&pub);
	if (ordered && sent > 0)
		chunks = 1;

	for (i = 0; i < b.n; i++) {
		struct item	*it = &b.items[i];

		if (it->valid && it->status == EVBUS_PUB_CONFIRMED) {
			published++;
			if (ctl->verbose)
				fprintf(stderr, "evbusctl: %s: published "
				    "%s\n", it->where, it->ev.event_id);
		} else if (it->valid)
			ctl_warnx("%s: event %s not published: %s", it->where,
			    it->ev.event_id, it->reason ? it->reason :
			    "no confirm");
	}
	failed = b.n - published;
	if (ctl->json) {
		json_object	*o = json_object_new_object();

		json_object_object_add(o, "total",
		    json_object_new_int64((int64_t)b.n));
		json_object_object_add(o, "published",
		    json_object_new_int64((int64_t)published));
		json_object_object_add(o, "failed",
		    json_object_new_int64((int64_t)failed));
		json_object_object_add(o, "chunks",
		    json_object_new_int64((int64_t)chunks));
		ctl_json_print(o);
		json_object_put(o);
	} else
		printf("published %zu of %zu events (%zu failed, %zu "
		    "chunk%s)\n", published, b.n, failed, chunks,
		    chunks == 1 ? "" : "s");
	rc = failed > 0 ? CTL_EX_FAIL : CTL_EX_OK;
out:
	for (i = 0; i < b.n; i++) {
		evbus_event_free(&b.items[i].ev);
		free(b.items[i].reason);
	}
	free(b.items);
	return rc;
}
