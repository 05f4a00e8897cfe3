/*
 * dlq.c: evbusctl dlq count | list | replay | purge, straight against the
 * broker, so they work with or without evbusd and on DLQs that
 * eventsource-py services fill.
 *
 * Reading never consumes: messages are taken with basic.get without ack on
 * a channel of their own and given back with one basic.nack(multiple,
 * requeue), which puts them back in their original order.  Unlike
 * eventsource-py (wire spec 14.5) every message of the queue is seen once,
 * so list shows distinct messages and replay finds any message, not only
 * the head one.  A replayed message is acked out of the DLQ only after the
 * broker confirmed its copy: an interruption can duplicate, never lose.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl.h"
#include "event.h"
#include "message.h"
#include "publish.h"
#include "scoreboard.h"
#include "xmalloc.h"

#define MAX_HEADERS	256
#define SCAN_MAX	1000000		/* messages looked at in one scan */

struct dlq_msg {
	uint64_t	 tag;
	char		 message_id[256];
	char		 event_type[256];
	char		 routing_key[256];
	char		 original_rk[256];
	char		 reason[1024];
	char		 error_type[128];
	int64_t		 retry_count;
	int		 has_retry_count;
	char		 timestamp[64];
	int		 redelivered;
	char		*body;
	size_t		 body_len;
};

/*
 * Report a failed operation on the DLQ (the admin channel is reopened by
 * the caller's next ctl_admin_channel, if any): a missing queue says so.
 */
static void
dlq_fail_reply(struct ctl *ctl, amqp_rpc_reply_t r, const char *what)
{
	evbus_amqp_fail(&ctl->amqp, CTL_ADMIN_CHANNEL, r, what);
	if (strstr(ctl->amqp.err, "404") != NULL)
		ctl_warnx("queue %s does not exist (is enable_dlq on and the "
		    "topology declared?)", ctl->conf->dlq_queue_name);
	else
		ctl_warnx("%s", ctl->amqp.err);
}

static void
dlq_fail(struct ctl *ctl, const char *what)
{
	dlq_fail_reply(ctl, amqp_get_rpc_reply(ctl->amqp.conn), what);
}

/* One basic.get; 1 with a message, 0 when the queue is empty, -1 error. */
static int
get_one(struct ctl *ctl, amqp_message_t *msg, uint64_t *tag, char *rk,
    size_t rklen)
{
	const struct evbus_config *c = ctl->conf;
	amqp_rpc_reply_t	 r;
	amqp_basic_get_ok_t	*ok;
	char			 what[300];

	r = amqp_basic_get(ctl->amqp.conn, CTL_ADMIN_CHANNEL,
	    amqp_cstring_bytes(c->dlq_queue_name), 0);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		snprintf(what, sizeof(what), "basic.get on '%s'",
		    c->dlq_queue_name);
		dlq_fail_reply(ctl, r, what);
		return -1;
	}
	if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
		return 0;
	ok = r.reply.decoded;
	*tag = ok->delivery_tag;
	evbus_amqp_bytes_str(ok->routing_key, rk, rklen);
	r = amqp_read_message(ctl->amqp.conn, CTL_ADMIN_CHANNEL, msg, 0);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		evbus_amqp_fail(&ctl->amqp, CTL_ADMIN_CHANNEL, r,
		    "reading a DLQ message");
		ctl_warnx("%s", ctl->amqp.err);
		return -1;
	}
	return 1;
}

static void
record(struct dlq_msg *m, const amqp_message_t *msg, uint64_t tag,
    const char *rk, int with_body)
{
	const amqp_basic_properties_t *p = &msg->properties;
	const amqp_table_t	*h = NULL;

	memset(m, 0, sizeof(*m));
	m->tag = tag;
	snprintf(m->routing_key, sizeof(m->routing_key), "%s", rk);
	if (p->_flags & AMQP_BASIC_HEADERS_FLAG)
		h = &p->headers;
	if (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG)
		evbus_amqp_bytes_str(p->message_id, m->message_id,
		    sizeof(m->message_id));
	(void)evbus_header_str(h, "event_type", m->event_type,
	    sizeof(m->event_type));
	(void)evbus_header_str(h, "x-original-routing-key", m->original_rk,
	    sizeof(m->original_rk));
	(void)evbus_header_str(h, "x-dlq-reason", m->reason, sizeof(m->reason));
	(void)evbus_header_str(h, "x-dlq-error-type", m->error_type,
	    sizeof(m->error_type));
	m->has_retry_count = evbus_header_int(h, "x-dlq-retry-count",
	    &m->retry_count) == 0;
	(void)evbus_header_str(h, "x-dlq-timestamp", m->timestamp,
	    sizeof(m->timestamp));
	if (with_body) {
		m->body = xmalloc(msg->body.len + 1);
		memcpy(m->body, msg->body.bytes, msg->body.len);
		m->body[msg->body.len] = '\0';
		m->body_len = msg->body.len;
	}
}

/* Give every unacked message back, in order. */
static int
give_back(struct ctl *ctl, uint64_t last)
{
	if (last == 0)
		return 0;
	if (amqp_basic_nack(ctl->amqp.conn, CTL_ADMIN_CHANNEL, last, 1, 1) != 0) {
		ctl_warnx("basic.nack failed; the messages return to the DLQ "
		    "when the connection closes");
		return -1;
	}
	return 0;
}

static json_object *
jstr_or_null(const char *s)
{
	return s[0] ? json_object_new_string(s) : NULL;
}

static json_object *
jint(long n)
{
	return json_object_new_int64(n);
}

/* How many messages the DLQ holds now (passive declare); -1 on error. */
static long
dlq_depth(struct ctl *ctl)
{
	amqp_queue_declare_ok_t	*ok;
	char			 what[300];

	ok = amqp_queue_declare(ctl->amqp.conn, CTL_ADMIN_CHANNEL,
	    amqp_cstring_bytes(ctl->conf->dlq_queue_name), 1, 0, 0, 0,
	    amqp_empty_table);
	if (ok == NULL) {
		snprintf(what, sizeof(what), "queue.declare (passive) '%s'",
		    ctl->conf->dlq_queue_name);
		dlq_fail(ctl, what);
		return -1;
	}
	return (long)ok->message_count;
}

static int
dlq_count(struct ctl *ctl)
{
	long	 n;

	if ((n = dlq_depth(ctl)) == -1)
		return CTL_EX_FAIL;
	if (ctl->json) {
		json_object	*o = json_object_new_object();

		json_object_object_add(o, "queue",
		    json_object_new_string(ctl->conf->dlq_queue_name));
		json_object_object_add(o, "count", json_object_new_int64(n));
		ctl_json_print(o);
		json_object_put(o);
	} else
		printf("%ld\n", n);
	return CTL_EX_OK;
}

static int
dlq_list(struct ctl *ctl, long limit, int with_body)
{
	amqp_message_t	 msg;
	struct dlq_msg	 m;
	json_object	*arr = json_object_new_array(), *o;
	uint64_t	 tag, last = 0;
	char		 rk[256];
	long		 n = 0;
	int		 r = 0;

	if (!ctl->json)
		printf("%-36s %-20s %-22s %-5s %-32s %s\n", "MESSAGE ID",
		    "EVENT TYPE", "ERROR TYPE", "TRIES", "DEAD-LETTERED AT",
		    "REASON");
	while (n < limit && (r = get_one(ctl, &msg, &tag, rk, sizeof(rk))) == 1) {
		last = tag;
		record(&m, &msg, tag, rk, with_body);
		amqp_destroy_message(&msg);
		amqp_maybe_release_buffers_on_channel(ctl->amqp.conn,
		    CTL_ADMIN_CHANNEL);
		n++;
		if (ctl->json) {
			o = json_object_new_object();
			json_object_object_add(o, "message_id",
			    jstr_or_null(m.message_id));
			json_object_object_add(o, "event_type",
			    jstr_or_null(m.event_type));
			json_object_object_add(o, "routing_key",
			    jstr_or_null(m.routing_key));
			json_object_object_add(o, "original_routing_key",
			    jstr_or_null(m.original_rk));
			json_object_object_add(o, "dlq_reason",
			    jstr_or_null(m.reason));
			json_object_object_add(o, "dlq_error_type",
			    jstr_or_null(m.error_type));
			json_object_object_add(o, "dlq_retry_count",
			    m.has_retry_count ?
			    json_object_new_int64(m.retry_count) : NULL);
			json_object_object_add(o, "dlq_timestamp",
			    jstr_or_null(m.timestamp));
			if (with_body)
				json_object_object_add(o, "body",
				    json_object_new_string_len(m.body,
				    (int)m.body_len));
			json_object_array_add(arr, o);
		} else {
			printf("%-36s %-20s %-22s %-5lld %-32s %s\n",
			    m.message_id[0] ? m.message_id : "-",
			    m.event_type[0] ? m.event_type : "-",
			    m.error_type[0] ? m.error_type : "-",
			    (long long)(m.has_retry_count ? m.retry_count : 0),
			    m.timestamp[0] ? m.timestamp : "-",
			    m.reason[0] ? m.reason : "-");
			if (with_body)
				printf("    %s\n", m.body);
		}
		free(m.body);
	}
	if (give_back(ctl, last) == -1)
		r = -1;
	if (ctl->json)
		ctl_json_print(arr);
	else if (n == 0 && r == 0)
		printf("(the DLQ %s is empty)\n", ctl->conf->dlq_queue_name);
	json_object_put(arr);
	return r == -1 ? CTL_EX_FAIL : CTL_EX_OK;
}

struct replay_state {
	uint64_t	*tags;		/* DLQ delivery tag per publish cookie */
	int		*status;	/* evbus_pub_status, -1 pending */
	char		**reason;
	size_t		 n, cap;
};

/* What one replay did; the counts add up (see replay_report). */
struct replay_count {
	long		 depth;		/* messages in the DLQ at the start */
	long		 scanned;	/* looked at (at most depth) */
	long		 matched;	/* selected by the ids or the filter */
	long		 replayed;	/* copy confirmed, removed from the DLQ */
	long		 failed;	/* matched, not replayed: stays */
	long		 own;		/* copies replayed during this run, skipped */
	double		 shown;		/* last progress line, monotonic */
};

static void
on_replayed(void *arg, uint64_t cookie, enum evbus_pub_status st,
    const char *reason)
{
	struct replay_state	*rs = arg;

	rs->status[cookie] = (int)st;
	if (reason != NULL)
		rs->reason[cookie] = xstrdup(reason);
}

/* Does message m match the selection? */
static int
selected(const struct dlq_msg *m, char **ids, int nids, int *hit, int all,
    const char *filter_type)
{
	int	 i;

	if (filter_type != NULL && strcmp(m->event_type, filter_type) != 0)
		return 0;
	if (all)
		return 1;
	for (i = 0; i < nids; i++)
		if (strcmp(ids[i], m->message_id) == 0) {
			hit[i] = 1;
			return 1;
		}
	return 0;
}

/* On a terminal, a progress line every quarter second (final: clear it). */
static void
replay_progress(const struct ctl *ctl, struct replay_count *rc, int final)
{
	double	 now;

	if (ctl->json || !ctl_tty_controls(STDERR_FILENO))
		return;
	if (final) {
		if (rc->shown > 0)
			fprintf(stderr, "\r\033[K");
		return;
	}
	now = evbus_mono_us() / 1e6;
	if (now - rc->shown < 0.25)
		return;
	rc->shown = now;
	fprintf(stderr, "\rreplay: scanned %ld of %ld, matched %ld, sent %ld",
	    rc->scanned, rc->depth, rc->matched, rc->matched - rc->failed);
}

/*
 * The closing count: scanned = matched + not matched, depth = replayed +
 * left.  The JSON also names the ids asked for and not found.
 */
static void
replay_report(const struct ctl *ctl, const struct replay_count *rc,
    int to_group, json_object *not_found)
{
	const struct evbus_config *c = ctl->conf;
	json_object	*o;

	if (ctl->json) {
		o = json_object_new_object();
		json_object_object_add(o, "queue",
		    json_object_new_string(c->dlq_queue_name));
		json_object_object_add(o, "depth", jint(rc->depth));
		json_object_object_add(o, "scanned", jint(rc->scanned));
		json_object_object_add(o, "matched", jint(rc->matched));
		json_object_object_add(o, "replayed", jint(rc->replayed));
		json_object_object_add(o, "failed", jint(rc->failed));
		json_object_object_add(o, "left",
		    jint(rc->depth - rc->replayed));
		json_object_object_add(o, "not_found",
		    json_object_get(not_found));
		ctl_json_print(o);
		json_object_put(o);
		return;
	}
	if (to_group && c->ordered)
		printf("replayed %ld message(s) to the partitions of %s "
		    "(exchange %s, by aggregate_id)\n", rc->replayed,
		    c->queue_name, c->partition_exchange_name);
	else
		printf("replayed %ld message(s) to %s%s%s\n", rc->replayed,
		    to_group ? "queue " : "exchange ",
		    to_group ? c->queue_name : c->exchange_name,
		    to_group ? "" : " by original routing key");
	printf("scanned %ld of the %ld in %s at the start: %ld matched, "
	    "%ld replayed, %ld failed; %ld left in the DLQ\n", rc->scanned,
	    rc->depth, c->dlq_queue_name, rc->matched, rc->replayed,
	    rc->failed, rc->depth - rc->replayed);
	if (rc->own > 0)
		printf("(%ld copies replayed during this run were passed "
		    "over)\n", rc->own);
}

/*
 * Replay the selected messages of the DLQ.  Each message that was in the
 * DLQ when the command started is replayed at most once: the scan stops
 * at the depth seen at the start, and a copy that fails again and comes
 * back meanwhile (its x-replayed-from-dlq is not older than this run) is
 * passed over, should another reader's unacked messages make the scan
 * reach the tail.  Before, the scan drained the queue and replayed such
 * copies again and again (5 messages delivered 11 times).
 */
static int
dlq_replay(struct ctl *ctl, char **ids, int nids, int all,
    const char *filter_type, int to_group)
{
	const struct evbus_config *c = ctl->conf;
	static const char *const strip[] = {
		"x-dlq-reason", "x-dlq-error-type", "x-dlq-retry-count",
		"x-dlq-timestamp", "x-original-routing-key", "x-death"
	};
	struct evbus_publisher	 pub;
	struct replay_state	 rs;
	struct replay_count	 cnt;
	amqp_message_t		 msg;
	amqp_basic_properties_t	 props;
	amqp_table_entry_t	 set[2], out[MAX_HEADERS];
	struct dlq_msg		 m;
	uint64_t		 tag, last = 0;
	char			 rk[256], ts[EVBUS_TIME_LEN];
	char			 started[EVBUS_TIME_LEN], replayed_at[EVBUS_TIME_LEN];
	const char		*exchange, *key;
	int64_t			 sec;
	int32_t			 usec;
	int			 n, i, r;
	int			*hit, missing = 0;
	json_object		*not_found;

	memset(&rs, 0, sizeof(rs));
	memset(&cnt, 0, sizeof(cnt));
	if ((cnt.depth = dlq_depth(ctl)) == -1)
		return CTL_EX_FAIL;
	if (cnt.depth > SCAN_MAX)
		cnt.depth = SCAN_MAX;
	evbus_time_now(&sec, &usec);
	evbus_time_format(sec, usec, EVBUS_TIME_OFFSET, started,
	    sizeof(started));
	hit = xcalloc((size_t)nids + 1, sizeof(*hit));
	if (evbus_pub_init(&pub, &ctl->amqp, CTL_CHANNEL,
	    (size_t)c->max_concurrent_publishes, c->publish_timeout,
	    on_replayed, &rs) != 0) {
		ctl_warnx("%s", ctl->amqp.err);
		free(hit);
		return CTL_EX_UNAVAILABLE;
	}
	while (cnt.scanned < cnt.depth &&
	    (r = get_one(ctl, &msg, &tag, rk, sizeof(rk))) == 1) {
		const amqp_table_t *h = (msg.properties._flags &
		    AMQP_BASIC_HEADERS_FLAG) ? &msg.properties.headers : NULL;

		last = tag;
		if (evbus_header_str(h, "x-replayed-from-dlq", replayed_at,
		    sizeof(replayed_at)) == 0 &&
		    strcmp(replayed_at, started) >= 0) {
			cnt.own++;
			amqp_destroy_message(&msg);
			continue;
		}
		cnt.scanned++;
		replay_progress(ctl, &cnt, 0);
		record(&m, &msg, tag, rk, 0);
		if (!selected(&m, ids, nids, hit, all, filter_type)) {
			amqp_destroy_message(&msg);
			continue;
		}
		cnt.matched++;
		/* Wire spec 6.3: strip the DLQ headers, reset the count. */
		evbus_time_now(&sec, &usec);
		evbus_time_format(sec, usec, EVBUS_TIME_OFFSET, ts, sizeof(ts));
		set[0] = evbus_entry_int("x-retry-count", 0);
		set[1] = evbus_entry_str("x-replayed-from-dlq", ts);
		n = evbus_headers_edit(h, out, MAX_HEADERS, set, 2, strip,
		    (int)(sizeof(strip) / sizeof(strip[0])));
		if (n == -1) {
			ctl_warnx("message %s: too many headers to replay",
			    m.message_id);
			amqp_destroy_message(&msg);
			cnt.failed++;
			continue;
		}
		memset(&props, 0, sizeof(props));
		props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG |
		    AMQP_BASIC_PRIORITY_FLAG | AMQP_BASIC_HEADERS_FLAG;
		props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
		props.headers.num_entries = n;
		props.headers.entries = out;
		if (msg.properties._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) {
			props._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
			props.content_type = msg.properties.content_type;
		}
		if (msg.properties._flags & AMQP_BASIC_CONTENT_ENCODING_FLAG) {
			props._flags |= AMQP_BASIC_CONTENT_ENCODING_FLAG;
			props.content_encoding = msg.properties.content_encoding;
		}
		if (msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
			props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
			props.message_id = msg.properties.message_id;
		}
		if (to_group && c->ordered) {
			/*
			 * Only this group, ordered: through its partition
			 * exchange, which hashes aggregate_id (the key is
			 * not looked at).
			 */
			exchange = c->partition_exchange_name;
			key = m.original_rk[0] ? m.original_rk : m.routing_key;
		} else if (to_group) {
			/* Only this group: straight into its queue. */
			exchange = "";
			key = c->queue_name;
		} else {
			exchange = c->exchange_name;
			key = m.original_rk[0] ? m.original_rk : m.routing_key;
		}
		if (rs.n == rs.cap) {
			rs.cap = rs.cap ? rs.cap * 2 : 64;
			rs.tags = xreallocarray(rs.tags, rs.cap, sizeof(*rs.tags));
			rs.status = xreallocarray(rs.status, rs.cap,
			    sizeof(*rs.status));
			rs.reason = xreallocarray(rs.reason, rs.cap,
			    sizeof(*rs.reason));
		}
		rs.tags[rs.n] = tag;
		rs.status[rs.n] = -1;
		rs.reason[rs.n] = NULL;
		rs.n++;
		evbus_pub_send(&pub, exchange, key, &props, msg.body.bytes,
		    msg.body.len, rs.n - 1);
		amqp_destroy_message(&msg);
		if (pub.broken)
			break;
	}
	evbus_pub_flush(&pub);
	evbus_pub_free(&pub);

	/* Remove from the DLQ exactly the copies the broker confirmed. */
	for (i = 0; i < (int)rs.n; i++) {
		if (rs.status[i] == EVBUS_PUB_CONFIRMED &&
		    amqp_basic_ack(ctl->amqp.conn, CTL_ADMIN_CHANNEL,
		    rs.tags[i], 0) == 0)
			cnt.replayed++;
		else {
			cnt.failed++;
			ctl_warnx("replay failed, message stays in the DLQ: %s",
			    rs.reason[i] ? rs.reason[i] : "no confirm");
		}
		free(rs.reason[i]);
	}
	give_back(ctl, last);
	/* Make sure the acks and the nack reached the broker. */
	amqp_channel_close(ctl->amqp.conn, CTL_ADMIN_CHANNEL, AMQP_REPLY_SUCCESS);
	free(rs.tags);
	free(rs.status);
	free(rs.reason);
	replay_progress(ctl, &cnt, 1);
	not_found = json_object_new_array();
	for (i = 0; !all && i < nids; i++)
		if (!hit[i]) {
			missing++;
			json_object_array_add(not_found,
			    json_object_new_string(ids[i]));
		}
	replay_report(ctl, &cnt, to_group, not_found);
	for (i = 0; !all && i < nids; i++)
		if (!hit[i])
			ctl_warnx("message %s not found in %s (%ld messages "
			    "looked at)", ids[i], c->dlq_queue_name,
			    cnt.scanned);
	json_object_put(not_found);
	free(hit);
	return cnt.failed || missing ? CTL_EX_FAIL : CTL_EX_OK;
}

static int
dlq_purge(struct ctl *ctl, int yes)
{
	amqp_queue_purge_ok_t	*ok;
	char			 answer[16], what[300];

	if (!yes) {
		if (!isatty(STDIN_FILENO)) {
			ctl_warnx("purge deletes every message in %s for good; "
			    "add --yes to confirm when not on a terminal",
			    ctl->conf->dlq_queue_name);
			return CTL_EX_USAGE;
		}
		fprintf(stderr, "Delete every message in %s for good? [y/N] ",
		    ctl->conf->dlq_queue_name);
		if (fgets(answer, sizeof(answer), stdin) == NULL ||
		    (answer[0] != 'y' && answer[0] != 'Y')) {
			fprintf(stderr, "not purged\n");
			return CTL_EX_FAIL;
		}
	}
	ok = amqp_queue_purge(ctl->amqp.conn, CTL_ADMIN_CHANNEL,
	    amqp_cstring_bytes(ctl->conf->dlq_queue_name));
	if (ok == NULL) {
		snprintf(what, sizeof(what), "queue.purge '%s'",
		    ctl->conf->dlq_queue_name);
		dlq_fail(ctl, what);
		return CTL_EX_FAIL;
	}
	if (ctl->json) {
		json_object	*o = json_object_new_object();

		json_object_object_add(o, "queue",
		    json_object_new_string(ctl->conf->dlq_queue_name));
		json_object_object_add(o, "purged",
		    json_object_new_int64(ok->message_count));
		ctl_json_print(o);
		json_object_put(o);
	} else
		printf("purged %u message(s) from %s\n", ok->message_count,
		    ctl->conf->dlq_queue_name);
	return CTL_EX_OK;
}

int
cmd_dlq(struct ctl *ctl, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "limit",	required_argument,	NULL, 'l' },
		{ "body",	no_argument,		NULL, 'B' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "all",	no_argument,		NULL, 'a' },
		{ "filter",	required_argument,	NULL, 'F' },
		{ "to-group",	no_argument,		NULL, 'g' },
		{ "yes",	no_argument,		NULL, 'y' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*sub, *errstr, *filter = NULL;
	long		 limit = 100;
	int		 ch, body = 0, all = 0, to_group = 0, yes = 0, rc;

	if (argc < 2) {
		ctl_warnx("usage: dlq count|list|replay|purge (evbusctl help "
		    "dlq)");
		return CTL_EX_USAGE;
	}
	sub = argv[1];
	if (strcmp(sub, "count") != 0 && strcmp(sub, "list") != 0 &&
	    strcmp(sub, "replay") != 0 && strcmp(sub, "purge") != 0)
		return ctl_unknown("dlq ", sub);
	argc--;
	argv++;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "l:BjaF:gy", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'l':
			limit = (long)strtonum(optarg, 1, 1000000, &errstr);
			if (errstr != NULL) {
				ctl_warnx("--limit %s: %s", optarg, errstr);
				return CTL_EX_USAGE;
			}
			break;
		case 'B': body = 1; break;
		case 'j': ctl->json = 1; break;
		case 'a': all = 1; break;
		case 'g': to_group = 1; break;
		case 'y': yes = 1; break;
		case 'F':
			if (strncmp(optarg, "event_type=", 11) != 0 ||
			    optarg[11] == '\0') {
				ctl_warnx("--filter %s: only event_type=NAME is "
				    "supported", optarg);
				return CTL_EX_USAGE;
			}
			filter = optarg + 11;
			break;
		default:
			return CTL_EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (!ctl->conf->enable_dlq) {
		ctl_warnx("enable_dlq is off in the configuration: there is no "
		    "DLQ");
		return CTL_EX_CONFIG;
	}
	if (strcmp(sub, "replay") == 0 && ((all && argc > 0) ||
	    (!all && argc == 0))) {
		ctl_warnx("usage: dlq replay MESSAGE_ID... | dlq replay --all "
		    "[--filter event_type=T] [--to-group]");
		return CTL_EX_USAGE;
	}
	if (strcmp(sub, "replay") != 0 && argc > 0) {
		ctl_warnx("dlq %s: unexpected argument %s", sub, argv[0]);
		return CTL_EX_USAGE;
	}
	if (ctl_admin_channel(ctl) == -1)
		return CTL_EX_UNAVAILABLE;
	if (strcmp(sub, "count") == 0)
		rc = dlq_count(ctl);
	else if (strcmp(sub, "list") == 0)
		rc = dlq_list(ctl, limit, body);
	else if (strcmp(sub, "replay") == 0)
		rc = dlq_replay(ctl, argv, argc, all, filter, to_group);
	else
		rc = dlq_purge(ctl, yes);
	return rc;
}
