/*
 * worker.c: one worker process: its own AMQP connections (one to consume,
 * one to publish retry, DLQ and follow-up copies with confirms), the
 * consume loop, decoding and dispatch to the handler plugins, the failure
 * path (retry or DLQ copy), and the reconnect loop.  Runs after fork (or
 * alone with evbusd --single-worker).  Publishing itself is wpublish.c's;
 * what the host API needs (the current delivery, the worker's identity)
 * it finds in struct worker, so nothing here is called back by host.c.
 *
 * A message is acknowledged only after every handler succeeded, or after
 * its retry or DLQ copy was confirmed by the broker: a crash anywhere
 * leaves it unacked, and the broker redelivers it.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "message.h"
#include "publish.h"
#include "topology.h"
#include "worker.h"
#include "xmalloc.h"

#define CONSUME_CHANNEL		1
#define MAX_BODY		(64UL * 1024 * 1024)
#define MAX_OUT_HEADERS		256
#define TAPE_KEEP		(256 * 1024)	/* bytes of tape, body kept */
#define HOME_CHECK		10.0	/* s between looks for the home node */
#define HOME_CHECK_TIMEOUT	1.0	/* s a look may take */

static volatile sig_atomic_t	*stop_flag;

static double
now_mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
stopping(void)
{
	return stop_flag != NULL && *stop_flag;
}

/* The reconnect backoff after this one: doubled, up to the maximum. */
static double
next_backoff(double backoff, const struct evbus_config *c)
{
	backoff *= 2;
	return backoff < c->reconnect_max_delay ? backoff :
	    c->reconnect_max_delay;
}

/* Sleep up to secs, waking early when asked to stop. */
static void
nap(double secs)
{
	double	 end = now_mono() + secs;

	while (!stopping() && now_mono() < end)
		usleep(50000);
}

/*
 * Heartbeats while a handler runs: rabbitmq-c only services them inside
 * library calls, so a handler longer than the heartbeat interval would
 * get the connection closed under it.  This thread sends heartbeat frames
 * on the consumer connection while w->busy is set, and on the publisher
 * connection always (the main thread uses it only under the lock, which
 * keeps this thread off it meanwhile).
 */
static void *
heartbeat_thread(void *arg)
{
	struct worker	*w = arg;
	struct timespec	 ts;
	int		 interval;

	pthread_mutex_lock(&w->lock);
	while (!w->hb_quit) {
		interval = w->consumer.heartbeat > 0 ?
		    w->consumer.heartbeat / 2 : 5;
		if (interval < 1)
			interval = 1;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += interval;
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		if (w->connected && !w->hb_quit) {
			if (w->busy && w->consumer.conn != NULL)
				evbus_amqp_heartbeat(&w->consumer);
			/*
			 * The publisher also while idle: nothing else sends
			 * on it between failures, and the broker closed it
			 * for missed heartbeats, so the first retry or DLQ
			 * copy after a quiet spell (2-3 heartbeats) failed
			 * and cost a reconnect and a redelivery.
			 */
			if (w->publisher.conn != NULL)
				evbus_amqp_heartbeat(&w->publisher);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void
set_busy(struct worker *w, int busy)
{
	pthread_mutex_lock(&w->lock);
	w->busy = busy;
	pthread_mutex_unlock(&w->lock);
}

static void
disconnect(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	w->connected = 0;
	/* Tags die with the channel; the broker requeues those messages. */
	w->ack_n = 0;
	if (w->ord != NULL)
		ord_reset(w);
	evbus_pub_free(&w->pub);
	evbus_amqp_close(&w->consumer);
	evbus_amqp_close(&w->publisher);
	pthread_mutex_unlock(&w->lock);
	w->stats->is_connected = 0;
	w->stats->is_consuming = 0;
}

/* Connection options from the configuration (the URL is the caller's). */
static void
conn_opts(const struct worker *w, struct evbus_amqp_opts *o, char *name,
    size_t len, const char *role)
{
	const struct evbus_config *c = w->conf;

	memset(o, 0, sizeof(*o));
	o->heartbeat = c->heartbeat;
	o->connect_timeout = c->connect_timeout;
	snprintf(name, len, "%s (%s)", w->consumer_name, role);
	o->connection_name = name;
	o->ca_file = c->ca_file;
	o->cert_file = c->cert_file;
	o->key_file = c->key_file;
	o->verify = c->verify_ssl;
}

static int
open_conn(struct worker *w, struct evbus_amqp *a, const char *role)
{
	const struct evbus_config *c = w->conf;
	struct evbus_amqp_opts	 o;
	char			 name[300];
	int			 rc;

	conn_opts(w, &o, name, sizeof(name), role);
	if (c->url.tls && !c->verify_ssl)
		log_warnx("WARNING: TLS certificate verification is OFF "
		    "(verify_ssl = false): the broker at %s is not "
		    "authenticated", a->where[0] ? a->where : c->url.host);
	/*
	 * A cluster: the node the consumer is on, else the next reachable
	 * one; the publisher follows the consumer's node.
	 */
	if ((rc = evbus_amqp_connect_any(a, &o, c->urls, c->nurl, w->node,
	    &w->node)) != 0)
		return rc;
	if ((rc = evbus_amqp_channel_open(a, 1)) != 0)
		return rc;
	return 0;
}

/*
 * Away from its home node after a failover: is home back?  Checked at
 * most every HOME_CHECK seconds, with a short connect timeout so that a
 * silent node stalls the consume loop briefly.  1 when the worker should
 * move back (the pool spreads again), else 0.
 */
static int
home_is_back(struct worker *w)
{
	struct evbus_amqp_opts	 o;
	struct evbus_amqp	 probe;
	char			 name[300];
	double			 now = now_mono();

	if (now < w->home_check_at)
		return 0;
	w->home_check_at = now + HOME_CHECK;
	conn_opts(w, &o, name, sizeof(name), "home check");
	o.url = &w->conf->urls[w->home];
	o.heartbeat = 0;
	if (o.connect_timeout > HOME_CHECK_TIMEOUT)
		o.connect_timeout = HOME_CHECK_TIMEOUT;
	if (evbus_amqp_connect(&probe, &o) != EVBUS_AMQP_OK)
		return 0;
	evbus_amqp_close(&probe);
	return 1;
}

/* Connect both connections, declare the topology, and start consuming. */
static int
connect_all(struct worker *w)
{
	const struct evbus_config *c = w->conf;
	amqp_basic_consume_ok_t	*ok;
	int			 rc;
	char			 what[1024];

	if ((rc = open_conn(w, &w->consumer, "consumer")) != 0) {
		snprintf(w->err, sizeof(w->err), "%s", w->consumer.err);
		goto fail;
	}
	if ((rc = open_conn(w, &w->publisher, "publisher")) != 0) {
		snprintf(w->err, sizeof(w->err), "%s", w->publisher.err);
		goto fail;
	}
	if ((rc = evbus_topology_declare(&w->consumer, CONSUME_CHANNEL,
	    c)) != 0) {
		snprintf(w->err, sizeof(w->err), "%s", w->consumer.err);
		goto fail;
	}
	if ((rc = wpub_start(w)) != 0)
		goto fail;
	/* One worker says what a change of ordering left behind. */
	if (w->index == 0 && evbus_topology_leftovers(&w->consumer,
	    CONSUME_CHANNEL, c, what, sizeof(what)) == 1)
		log_warnx("%s", what);
	if (c->ordered) {
		if ((rc = ord_subscribe_own(w)) != 0)
			goto fail;
		goto consuming;
	}
	if (amqp_basic_qos(w->consumer.conn, CONSUME_CHANNEL, 0,
	    (uint16_t)c->prefetch_count, 0) == NULL) {
		rc = evbus_amqp_fail_last(&w->consumer, CONSUME_CHANNEL,
		    "basic.qos");
		snprintf(w->err, sizeof(w->err), "%s", w->consumer.err);
		goto fail;
	}
	ok = amqp_basic_consume(w->consumer.conn, CONSUME_CHANNEL,
	    amqp_cstring_bytes(c->queue_name),
	    amqp_cstring_bytes(w->consumer_name), 0, 0, 0, amqp_empty_table);
	if (ok == NULL) {
		snprintf(what, sizeof(what), "basic.consume on '%s' as '%s'",
		    c->queue_name, w->consumer_name);
		rc = evbus_amqp_fail_last(&w->consumer, CONSUME_CHANNEL, what);
		snprintf(w->err, sizeof(w->err), "%s", w->consumer.err);
		goto fail;
	}
consuming:
	pthread_mutex_lock(&w->lock);
	w->connected = 1;
	pthread_mutex_unlock(&w->lock);
	w->stats->is_connected = 1;
	w->stats->is_consuming = 1;
	w->stats->connected_at = now_us();
	w->ack_n = 0;
	w->ack_batch = c->prefetch_count / 4 > 1 ? c->prefetch_count / 4 : 1;
	return 0;
fail:
	disconnect(w);
	return rc;
}

/* Copy the delivery properties a retry or DLQ copy keeps (wire spec 5.4). */
static void
copy_props(const amqp_basic_properties_t *in, amqp_basic_properties_t *out)
{
	memset(out, 0, sizeof(*out));
	out->_flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_PRIORITY_FLAG |
	    AMQP_BASIC_HEADERS_FLAG;
	out->delivery_mode = AMQP_DELIVERY_PERSISTENT;
	out->priority = 0;
	if (in->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG) {
		out->_flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
		out->content_type = in->content_type;
	}
	if (in->_flags & AMQP_BASIC_CONTENT_ENCODING_FLAG) {
		out->_flags |= AMQP_BASIC_CONTENT_ENCODING_FLAG;
		out->content_encoding = in->content_encoding;
	}
	if (in->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
		out->_flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
		out->message_id = in->message_id;
	}
}

/* The routing key the message was first published with. */
static void
original_rk(const amqp_envelope_t *env, const amqp_table_t *h, char *buf,
    size_t len)
{
	if (evbus_header_str(h, "x-original-routing-key", buf, len) != 0)
		evbus_amqp_bytes_str(env->routing_key, buf, len);
}

/*
 * Send a failed message on: a retry copy into the retry queue of its delay
 * tier, or (retries used up, permanent failure, malformed) a DLQ copy.
 * Returns 0 when the copy was confirmed (or, DLQ disabled, the loss was
 * logged): the original may be acked.  -1 leaves it unacked.
 */
static int
send_on(struct worker *w, amqp_envelope_t *env, int64_t retry_count,
    int to_dlq, const char *etype, const char *reason, const char *id)
{
	const struct evbus_config *c = w->conf;
	const amqp_table_t	*h = NULL;
	amqp_basic_properties_t	 props;
	amqp_table_entry_t	 set[6], out[MAX_OUT_HEADERS];
	char			 rk[EVBUS_NAME_MAX + 1], ts[EVBUS_TIME_LEN];
	char			 queue[EVBUS_NAME_MAX + 1], expiration[32];
	int64_t			 sec;
	int32_t			 usec;
	int			 n, nset = 0, rc;
	double			 delay;

	if (env->message.properties._flags & AMQP_BASIC_HEADERS_FLAG)
		h = &env->message.properties.headers;
	original_rk(env, h, rk, sizeof(rk));
	evbus_time_now(&sec, &usec);
	evbus_time_format(sec, usec, EVBUS_TIME_OFFSET, ts, sizeof(ts));
	copy_props(&env->message.properties, &props);

	if (to_dlq && !c->enable_dlq) {
		log_warnx("message %s: %s: %s; DROPPED: enable_dlq is off, "
		    "so it is acknowledged and lost", id, etype, reason);
		w->stats->dropped++;
		return 0;
	}
	if (to_dlq) {
		set[nset++] = evbus_entry_str("x-dlq-reason", reason);
		set[nset++] = evbus_entry_str("x-dlq-error-type", etype);
		set[nset++] = evbus_entry_int("x-dlq-retry-count", retry_count);
		set[nset++] = evbus_entry_str("x-dlq-timestamp", ts);
		set[nset++] = evbus_entry_str("x-original-routing-key", rk);
	} else {
		set[nset++] = evbus_entry_int("x-retry-count", retry_count + 1);
		set[nset++] = evbus_entry_str("x-last-retry-at", ts);
		set[nset++] = evbus_entry_str("x-original-routing-key", rk);
	}
	if ((n = evbus_headers_edit(h, out, MAX_OUT_HEADERS, set, nset, NULL,
	    0)) == -1) {
		/* Absurdly many headers: keep only ours. */
		n = evbus_headers_edit(NULL, out, MAX_OUT_HEADERS, set, nset,
		    NULL, 0);
	}
	props.headers.num_entries = n;
	props.headers.entries = out;

	pthread_mutex_lock(&w->lock);
	if (to_dlq)
		rc = wpub_confirmed(w, c->dlq_exchange_name, c->queue_name,
		    &props, env->message.body.bytes, env->message.body.len);
	else {
		delay = evbus_retry_delay(&c->retry, (int)retry_count,
		    evbus_retry_uniform());
		snprintf(expiration, sizeof(expiration), "%lld",
		    evbus_retry_ms(delay));
		props._flags |= AMQP_BASIC_EXPIRATION_FLAG;
		props.expiration = amqp_cstring_bytes(expiration);
		evbus_retry_queue_name(c, evbus_retry_tier_for(c,
		    (int)retry_count), queue, sizeof(queue));
		rc = wpub_confirmed(w, "", queue, &props,
		    env->message.body.bytes, env->message.body.len);
		if (rc == 0)
			log_info("message %s: retry %lld/%d in %.2fs (%s: %s)",
			    id, (long long)retry_count + 1,
			    c->retry.max_retries, delay, etype, reason);
	}
	pthread_mutex_unlock(&w->lock);
	if (rc == -1) {
		log_warnx("message %s: cannot %s: %s; left unacked for "
		    "redelivery", id, to_dlq ? "dead-letter it" :
		    "schedule its retry", w->err);
		return -1;
	}
	if (to_dlq) {
		w->stats->messages_sent_to_dlq++;
		log_warnx("message %s: sent to DLQ %s after %lld retries "
		    "(%s: %s)", id, c->dlq_queue_name, (long long)retry_count,
		    etype, reason);
	} else
		w->stats->retried++;
	return 0;
}

/* Send the coalesced acks: one basic.ack multiple for all done so far. */
static int
flush_acks(struct worker *w)
{
	int	 st;

	if (w->ack_n == 0)
		return 0;
	st = amqp_basic_ack(w->consumer.conn, CONSUME_CHANNEL, w->ack_tag, 1);
	w->ack_n = 0;
	if (st != AMQP_STATUS_OK) {
		evbus_amqp_fail_status(&w->consumer, st, "basic.ack");
		snprintf(w->err, sizeof(w->err), "%s", w->consumer.err);
		return -1;
	}
	return 0;
}

/*
 * Acknowledge a message whose handlers all finished (or whose retry/DLQ
 * copy was confirmed).  Messages are settled strictly in delivery order
 * on one channel, so every tag up to this one is settled too, and acks
 * can be coalesced into one basic.ack multiple: the ack goes out when
 * ack_batch are pending, or before the worker waits for more deliveries
 * (see consume()), so it is never held while nothing else happens.  At
 * worst a crash redelivers ack_batch - 1 finished messages (at least
 * once allows it); it never acks one that is not finished.
 */
static int
ack(struct worker *w, amqp_envelope_t *env)
{
	w->ack_tag = env->delivery_tag;
	if (++w->ack_n >= w->ack_batch)
		return flush_acks(w);
	return 0;
}

/*
 * Acknowledge a message settled by its retry or DLQ copy at once, with the
 * finished ones before it, and make sure the broker has taken the ack
 * before another handler runs.  Were it left in the batch and the next
 * message crashed the worker, the message would come back and its copy
 * would be sent again (a poison message dead-lettered once per crash).
 * basic.qos is a synchronous method on the same channel: its reply comes
 * after the broker processed the ack.  Deliveries that arrive meanwhile
 * are queued by rabbitmq-c for the consume loop.  Plain successes keep
 * the coalesced acks: a crash can only redeliver those, never copy them.
 */
static int
ack_now(struct worker *w, amqp_envelope_t *env)
{
	w->ack_tag = env->delivery_tag;
	w->ack_n++;
	if (flush_acks(w) == -1)
		return -1;
	if (amqp_basic_qos(w->consumer.conn, CONSUME_CHANNEL, 0,
	    (uint16_t)w->conf->prefetch_count, 0) == NULL) {
		evbus_amqp_fail_last(&w->consumer, CONSUME_CHANNEL,
		    "basic.qos (ack barrier)");
		snprintf(w->err, sizeof(w->err), "%s", w->consumer.err);
		return -1;
	}
	return 0;
}

/*
 * Settle a message: finished (copied = 0), or handed on as a retry or DLQ
 * copy (copied = 1).  In ordered mode each message is acked at once on its
 * partition's channel (ordered.c).
 */
static int
settle(struct worker *w, amqp_envelope_t *env, int copied)
{
	if (w->ord != NULL)
		return ord_ack(w, env);
	return copied ? ack_now(w, env) : ack(w, env);
}

/*
 * A redelivered message may still show in another worker's slot: that
 * worker died with it and the broker redelivered it at once, before the
 * supervisor reaped the worker and counted the crash.  Run it only once
 * the crash is counted, or a message could run more often than
 * max_crashes allows.  Bounded: after a network cut the other worker may
 * be alive with its handler still running (the watchdog ends that after
 * handler_timeout, and that counts as a crash too).
 */
static void
await_crash_count(struct worker *w, const char *id)
{
	double	 limit, end;

	if (!evbus_sb_inflight_elsewhere(w->sb, w->slot, id))
		return;
	limit = w->conf->handler_timeout > 0 ? w->conf->handler_timeout + 5 :
	    60;
	end = now_mono() + limit;
	log_debug("message %s: redelivered while another worker's slot still "
	    "holds it; waiting until the supervisor settles it", id);
	set_busy(w, 1);		/* heartbeats go on meanwhile */
	while (!stopping() && now_mono() < end &&
	    evbus_sb_inflight_elsewhere(w->sb, w->slot, id)) {
		wproc_heartbeat(w);
		usleep(2000);
	}
	set_busy(w, 0);
	if (evbus_sb_inflight_elsewhere(w->sb, w->slot, id))
		log_warnx("message %s: another worker still holds it after "
		    "%.0fs; handling it anyway", id, limit);
}

/* Run the handlers for d; returns how many failed and fills the reason. */
static int
dispatch(struct worker *w, struct delivery *d, struct plugin **list,
    size_t n, int *permanent, char *etype, size_t etlen, char *reason,
    size_t rlen)
{
	struct evbus_error	 err;
	struct evbus_handler_stats *hs;
	enum evbus_result	 res;
	double			 t0;
	uint64_t		 us;
	size_t			 i, names = 0;
	int			 failed = 0;
	char			 who[512] = "";

	*permanent = 0;
	set_busy(w, 1);
	wproc_handlers(w, 1);
	host_set_current(w, d);
	for (i = 0; i < n; i++) {
		memset(&err, 0, sizeof(err));
		t0 = now_mono();
		res = list[i]->h->handle(list[i]->state, &d->view, &err);
		us = (uint64_t)((now_mono() - t0) * 1e6);
		hs = list[i]->index < EVBUS_STATS_MAX_HANDLERS ?
		    &w->stats->handlers[list[i]->index] : NULL;
		if (hs != NULL) {
			hs->calls++;
			hs->latency_sum_us += us;
			hs->latency[evbus_stats_bucket(us)]++;
		}
		if (res == EVBUS_OK) {
			if (hs)
				hs->ok++;
			continue;
		}
		failed++;
		w->stats->handler_errors++;
		if (res == EVBUS_FAIL)
			*permanent = 1;
		if (hs != NULL) {
			if (res == EVBUS_FAIL)
				hs->fail++;
			else
				hs->retry++;
		}
		err.type[sizeof(err.type) - 1] = '\0';
		err.reason[sizeof(err.reason) - 1] = '\0';
		log_warnx("message %s [trace %s]: handler %s failed (%s): "
		    "%s: %s", d->view.event_id, d->trace_id[0] ? d->trace_id :
		    "-", list[i]->h->name, res == EVBUS_FAIL ? "permanent" :
		    "will retry", err.type[0] ? err.type : "HandlerError",
		    err.reason[0] ? err.reason : "(no reason given)");
		if (failed == 1) {
			snprintf(etype, etlen, "%s", err.type[0] ? err.type :
			    "HandlerError");
			snprintf(reason, rlen, "%s", err.reason[0] ? err.reason :
			    (res == EVBUS_FAIL ? "handler failed permanently" :
			    "handler asked for a retry"));
		}
		names += (size_t)snprintf(who + names,
		    names < sizeof(who) ? sizeof(who) - names : 0, "%s%s",
		    failed > 1 ? ", " : "", list[i]->h->name);
		if (names >= sizeof(who))
			names = sizeof(who) - 1;
	}
	host_set_current(w, NULL);
	wproc_handlers(w, 0);
	set_busy(w, 0);
	if (failed >= 2) {
		snprintf(etype, etlen, "HandlerDispatchError");
		snprintf(reason, rlen, "%d handler(s) failed during dispatch: %s",
		    failed, who);
	}
	return failed;
}

/* Fill the event view from the parsed event and the delivery. */
static void
make_view(struct delivery *d, const struct evbus_event *ev,
    const amqp_envelope_t *env, const char *event_type, int64_t retry_count,
    char *occurred, size_t olen, char *rk, size_t rklen, char *msgid,
    size_t idlen, char *tp, size_t tplen, char *tstate, size_t tslen)
{
	struct evbus_event_view	*v = &d->view;

	memset(v, 0, sizeof(*v));
	v->event_id = ev->event_id;
	v->event_type = event_type;
	v->event_version = ev->event_version;
	evbus_time_format(ev->occurred_sec, ev->occurred_usec, EVBUS_TIME_Z,
	    occurred, olen);
	v->occurred_at = occurred;
	v->aggregate_id = ev->aggregate_id;
	v->aggregate_type = ev->aggregate_type;
	v->aggregate_version = ev->aggregate_version;
	v->tenant_id = ev->tenant_id[0] ? ev->tenant_id : NULL;
	v->actor_id = ev->actor_id;
	v->correlation_id = ev->correlation_id;
	v->causation_id = ev->causation_id[0] ? ev->causation_id : NULL;
	v->body = env->message.body.bytes;
	v->body_len = env->message.body.len;
	original_rk(env, d->headers, rk, rklen);
	v->routing_key = rk;
	if (env->message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
		v->message_id = evbus_amqp_bytes_str(
		    env->message.properties.message_id, msgid, idlen);
	if (evbus_header_str(d->headers, "traceparent", tp, tplen) == 0 &&
	    evbus_traceparent_valid(tp)) {
		v->traceparent = tp;
		memcpy(d->trace_id, tp + 3, 32);
		d->trace_id[32] = '\0';
	}
	if (v->traceparent != NULL &&
	    evbus_header_str(d->headers, "tracestate", tstate, tslen) == 0)
		v->tracestate = tstate;
	v->retry_count = retry_count;
	v->redelivered = env->redelivered != 0;
	v->host_private = d;
}

/* An id for a message without message_id: a hash of its body. */
static void
body_id(const amqp_envelope_t *env, char *buf, size_t len)
{
	const unsigned char	*p = env->message.body.bytes;
	uint64_t		 h = 0xcbf29ce484222325ULL;
	size_t			 i;

	for (i = 0; i < env->message.body.len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	snprintf(buf, len, "body-fnv1a-%016llx", (unsigned long long)h);
}

/*
 * Decode, dispatch and settle one delivery.  Returns 0 when it was acked
 * (or handed on), -1 when the connection failed underneath (the message
 * stays unacked and comes back).
 */
static int
process(struct worker *w, amqp_envelope_t *env)
{
	const struct evbus_config *c = w->conf;
	struct delivery		 d;
	struct evbus_event	 ev;
	struct plugin		*list[EVBUS_MAX_PLUGINS];
	struct pyjson_error	 perr;
	int64_t			 retry_count = 0;
	size_t			 n;
	int			 r, failed, permanent, exhausted, rc;
	char			 id[128], etype[64], reason[1024];
	char			 event_type[256], occurred[EVBUS_TIME_LEN];
	char			 rk[EVBUS_NAME_MAX + 1], msgid[256];
	char			 tp[EVBUS_TRACEPARENT_LEN + 8];
	char			 tstate[EVBUS_TRACESTATE_MAX + 1];
	char			 err[512], cause[64];
	uint32_t		 crashes;

	memset(&d, 0, sizeof(d));
	memset(&ev, 0, sizeof(ev));
	w->stats->received++;
	if (env->redelivered)
		w->stats->redelivered++;
	if (env->message.properties._flags & AMQP_BASIC_HEADERS_FLAG)
		d.headers = &env->message.properties.headers;
	if (env->message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
		evbus_amqp_bytes_str(env->message.properties.message_id, id,
		    sizeof(id));
	else
		body_id(env, id, sizeof(id));
	wproc_inflight(w, id, env->redelivered);

	/* A message that keeps killing workers is not handled again. */
	if (env->redelivered && w->sb != NULL)
		await_crash_count(w, id);
	if (env->redelivered && w->sb != NULL &&
	    (crashes = evbus_poison_lookup(w->sb, id, cause,
	    sizeof(cause))) >= (uint32_t)c->max_crashes) {
		w->stats->poisoned++;
		snprintf(etype, sizeof(etype), "%s", cause);
		snprintf(reason, sizeof(reason), "poison message: it was in "
		    "flight when %u workers died (last: %s); not handled "
		    "again", crashes, cause);
		log_warnx("message %s: %s", id, reason);
		(void)evbus_header_int(d.headers, "x-retry-count", &retry_count);
		if (retry_count < 0)
			retry_count = 0;
		retry_count += w->attempts;
		rc = send_on(w, env, retry_count, 1, etype, reason, id);
		if (rc == 0)
			rc = settle(w, env, 1);
		goto out;
	}

	/* Headers first: a wrong type is a malformed message (DLQ). */
	r = evbus_header_int(d.headers, "x-retry-count", &retry_count);
	if (r == -1 || retry_count < 0) {
		snprintf(etype, sizeof(etype), "InvalidHeader");
		snprintf(reason, sizeof(reason), "x-retry-count: %s",
		    r == -1 ? "not an integer (AMQP integer or decimal string "
		    "expected)" : "negative");
		retry_count = 0;
		goto malformed;
	}
	/* Ordered mode: the runs of this delivery so far (in place). */
	retry_count += w->attempts;
	r = evbus_header_str(d.headers, "event_type", event_type,
	    sizeof(event_type));
	if (r == -1) {
		snprintf(etype, sizeof(etype), "InvalidHeader");
		snprintf(reason, sizeof(reason), "event_type header: not a "
		    "string (AMQP longstr expected)");
		goto malformed;
	}
	/* An empty header names no type (Python treats it as missing). */
	if (r == 0 && event_type[0] == '\0')
		r = 1;
	if (env->message.body.len > MAX_BODY) {
		snprintf(etype, sizeof(etype), "MalformedMessage");
		snprintf(reason, sizeof(reason), "body of %zu bytes exceeds "
		    "the %lu byte limit", env->message.body.len, MAX_BODY);
		goto malformed;
	}
	/*
	 * The codec's strict parser, not json-c alone: even in strict mode
	 * json-c takes "1.", raw control characters in strings, lone
	 * surrogates, keys cut at \u0000 and integers beyond 64 bits, all of
	 * which eventsource-py refuses.  Onto the worker's tape: no tree, no
	 * allocation once the tape has grown to the bodies' size.
	 */
	if (pyjson_parse_tape(env->message.body.bytes, env->message.body.len,
	    &w->tape, &perr) == -1 || w->tape.node[0].type != PYJSON_OBJECT) {
		if (w->tape.n == 0)
			evbus_json_error(&perr, env->message.body.len, err,
			    sizeof(err));
		else
			snprintf(err, sizeof(err), "body: not a JSON object");
		snprintf(etype, sizeof(etype), "MalformedMessage");
		snprintf(reason, sizeof(reason), "%s", err);
		goto malformed;
	}
	/*
	 * eventsource-py fills a missing event_type from the event class the
	 * header named; do the same so such a body is not refused.  The
	 * event's strings point into the tape; handlers read the body.
	 */
	if (evbus_event_from_tape(&w->tape, r == 0 ? event_type : NULL,
	    EVBUS_EVENT_FILL_DEFAULTS, &ev, err, sizeof(err)) == -1) {
		snprintf(etype, sizeof(etype), "InvalidEvent");
		snprintf(reason, sizeof(reason), "%s", err);
		goto malformed;
	}
	if (r == 1)
		snprintf(event_type, sizeof(event_type), "%s", ev.event_type);
	d.body = &w->tape;
	make_view(&d, &ev, env, event_type, retry_count, occurred,
	    sizeof(occurred), rk, sizeof(rk), msgid, sizeof(msgid), tp,
	    sizeof(tp), tstate, sizeof(tstate));
	memcpy(id, ev.event_id, sizeof(ev.event_id));

	n = loader_dispatch_list(&w->plugins, event_type, list,
	    EVBUS_MAX_PLUGINS);
	if (n == 0) {
		log_debug("message %s: no handler for event type %s; acked",
		    id, event_type);
		if ((rc = settle(w, env, 0)) == 0) {
			/* Wire spec 4.2 step 8: no handlers is a success. */
			w->stats->skipped++;
			w->stats->events_consumed++;
			w->stats->events_processed_success++;
			w->stats->last_consume_at = evbus_clock_coarse_us(1);
		}
		goto out;
	}
	failed = dispatch(w, &d, list, n, &permanent, etype, sizeof(etype),
	    reason, sizeof(reason));
	if (failed == 0) {
		if ((rc = settle(w, env, 0)) == 0) {
			w->stats->events_consumed++;
			w->stats->events_processed_success++;
			w->stats->last_consume_at = evbus_clock_coarse_us(1);
		}
		goto out;
	}
	w->stats->events_processed_failed++;
	w->stats->last_error_at = now_us();
	snprintf(err, sizeof(err), "message %s: %s: %s", id, etype, reason);
	wproc_error(w, err);
	exhausted = permanent || evbus_retry_exhausted(&c->retry, retry_count);
	if (w->ord != NULL && !exhausted) {
		/*
		 * Ordered: no retry copy (later events of the aggregate would
		 * overtake it); the same delivery runs again after the
		 * backoff, and its partition waits meanwhile.
		 */
		w->again = 1;
		w->again_in = evbus_retry_delay(&c->retry, (int)retry_count,
		    evbus_retry_uniform());
		w->stats->retried++;
		log_info("message %s: retry %lld/%d in place in %.2fs; "
		    "partition %d waits (%s: %s)", id,
		    (long long)retry_count + 1, c->retry.max_retries,
		    w->again_in, ord_partition_of(w, env), etype, reason);
		rc = 0;
		goto out;
	}
	if (w->ord != NULL)
		log_warnx("message %s: %s in partition %d; the aggregate's "
		    "later events go on without it", id, permanent ?
		    "failed permanently" : "retries used up",
		    ord_partition_of(w, env));
	rc = send_on(w, env, retry_count, exhausted, etype, reason, id);
	if (rc == 0)
		rc = settle(w, env, 1);
	goto out;

malformed:
	w->stats->malformed++;
	w->stats->last_error_at = now_us();
	snprintf(err, sizeof(err), "message %s: malformed (%s): %s", id,
	    etype, reason);
	wproc_error(w, err);
	log_warnx("message %s: malformed (%s): %s", id, etype, reason);
	rc = send_on(w, env, retry_count, 1, etype, reason, id);
	if (rc == 0)
		rc = settle(w, env, 1);
out:
	wproc_inflight(w, NULL, 0);
	evbus_event_free(&ev);
	/* A huge body's tape is not kept for the next ones. */
	pyjson_tape_trim(&w->tape, TAPE_KEEP);
	return rc;
}

/*
 * A frame other than a delivery arrived on the consumer connection.
 * Returns 0 to go on, -1 to reconnect.
 */
static int
handle_frame(struct worker *w, amqp_frame_t *f)
{
	if (f->frame_type != AMQP_FRAME_METHOD)
		return 0;
	switch (f->payload.method.id) {
	case AMQP_BASIC_CANCEL_METHOD:
		snprintf(w->err, sizeof(w->err), "the broker cancelled our "
		    "consumer on '%s' (queue deleted?)", w->conf->queue_name);
		return -1;
	case AMQP_BASIC_ACK_METHOD:
	case AMQP_BASIC_NACK_METHOD:
		return 0;
	default:
		if (evbus_amqp_handle_method(&w->consumer, f) != 0) {
			snprintf(w->err, sizeof(w->err), "%s", w->consumer.err);
			return -1;
		}
		return 0;
	}
}

/* The frame amqp_consume_message() left unread, read and handled. */
static int
other_frame(struct worker *w)
{
	amqp_frame_t	 f;
	int		 st;

	if ((st = amqp_simple_wait_frame(w->consumer.conn, &f)) !=
	    AMQP_STATUS_OK) {
		evbus_amqp_fail_status(&w->consumer, st, "reading a frame");
		snprintf(w->err, sizeof(w->err), "%s", w->consumer.err);
		return -1;
	}
	return handle_frame(w, &f);
}

/*
 * amqp_consume_message() gave no delivery: a timeout (0), another frame
 * (handled, 0), or a failure (-1 with w->err: reconnect; a channel.close
 * is answered on ch).
 */
static int
not_a_delivery(struct worker *w, amqp_rpc_reply_t r, amqp_channel_t ch)
{
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
	    r.library_error == AMQP_STATUS_TIMEOUT)
		return 0;
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
	    r.library_error == AMQP_STATUS_UNEXPECTED_STATE)
		return other_frame(w);
	evbus_amqp_fail(&w->consumer, ch, r, "consuming");
	snprintf(w->err, sizeof(w->err), "%s", w->consumer.err);
	return -1;
}

/* A server's close of the channel or connection, else err (library). */
static amqp_rpc_reply_t
frame_failure(amqp_frame_t *f, int err)
{
	amqp_rpc_reply_t	 r;

	memset(&r, 0, sizeof(r));
	if (f->frame_type == AMQP_FRAME_METHOD &&
	    (f->payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
	    f->payload.method.id == AMQP_CONNECTION_CLOSE_METHOD)) {
		r.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
		r.reply = f->payload.method;
	} else {
		r.reply_type = AMQP_RESPONSE_LIBRARY_EXCEPTION;
		r.library_error = err;
	}
	return r;
}

/*
 * The next frame of the delivery on channel ch: anything the broker says
 * on another channel meanwhile (connection.blocked, say) is handled.
 */
static int
content_frame(struct worker *w, amqp_channel_t ch, amqp_frame_t *f)
{
	int	 st;

	for (;;) {
		if ((st = amqp_simple_wait_frame(w->consumer.conn, f)) !=
		    AMQP_STATUS_OK)
			return st;
		if (f->channel == ch || (f->frame_type == AMQP_FRAME_METHOD &&
		    f->payload.method.id == AMQP_CONNECTION_CLOSE_METHOD))
			return AMQP_STATUS_OK;
		if (handle_frame(w, f) == -1)
			return AMQP_STATUS_BAD_AMQP_DATA;
	}
}

/*
 * amqp_consume_message() without its copies: it duplicates the envelope's
 * three strings, a pool for the properties and the body, about seven
 * allocations per message.  Here env points into the connection's frame
 * pool, where rabbitmq-c decoded the frames, valid until the next
 * amqp_maybe_release_buffers() (consume() calls it between messages
 * only); a body in more than one frame is gathered in w->body.  Replies
 * as amqp_consume_message() does, except that a frame other than a
 * delivery is not put back but left in *other (AMQP_STATUS_UNEXPECTED_
 * STATE); env must not be destroyed.
 */
static amqp_rpc_reply_t
read_delivery(struct worker *w, amqp_envelope_t *env, struct timeval *tv,
    amqp_frame_t *other)
{
	amqp_connection_state_t	 conn = w->consumer.conn;
	amqp_basic_deliver_t	*m;
	amqp_frame_t		 f;
	amqp_rpc_reply_t	 r;
	uint64_t		 size;
	size_t			 got = 0;
	char			*nb;
	int			 st;

	memset(&r, 0, sizeof(r));
	memset(env, 0, sizeof(*env));
	other->frame_type = 0;		/* nothing to handle, unless set */
	r.reply_type = AMQP_RESPONSE_LIBRARY_EXCEPTION;
	if ((st = amqp_simple_wait_frame_noblock(conn, &f, tv)) !=
	    AMQP_STATUS_OK) {
		r.library_error = st;
		return r;
	}
	if (f.frame_type != AMQP_FRAME_METHOD ||
	    f.payload.method.id != AMQP_BASIC_DELIVER_METHOD) {
		*other = f;
		r.library_error = AMQP_STATUS_UNEXPECTED_STATE;
		return r;
	}
	m = f.payload.method.decoded;
	env->channel = f.channel;
	env->consumer_tag = m->consumer_tag;
	env->delivery_tag = m->delivery_tag;
	env->redelivered = m->redelivered;
	env->exchange = m->exchange;
	env->routing_key = m->routing_key;

	if ((st = content_frame(w, env->channel, &f)) != AMQP_STATUS_OK) {
		r.library_error = st;
		return r;
	}
	if (f.frame_type != AMQP_FRAME_HEADER)
		return frame_failure(&f, AMQP_STATUS_BAD_AMQP_DATA);
	if (f.payload.properties.class_id != AMQP_BASIC_CLASS) {
		r.library_error = AMQP_STATUS_BAD_AMQP_DATA;
		return r;
	}
	env->message.properties = *(amqp_basic_properties_t *)
	    f.payload.properties.decoded;
	size = f.payload.properties.body_size;
	env->message.body = amqp_empty_bytes;
	while (got < size) {
		if ((st = content_frame(w, env->channel, &f)) !=
		    AMQP_STATUS_OK) {
			r.library_error = st;
			return r;
		}
		if (f.frame_type != AMQP_FRAME_BODY)
			return frame_failure(&f, AMQP_STATUS_BAD_AMQP_DATA);
		if (f.payload.body_fragment.len > size - got) {
			r.library_error = AMQP_STATUS_BAD_AMQP_DATA;
			return r;
		}
		if (got == 0 && f.payload.body_fragment.len == size) {
			/* The usual case: one frame, used where it is. */
			env->message.body = f.payload.body_fragment;
			break;
		}
		if (got == 0 && size > w->body_cap) {
			if (size > SIZE_MAX ||
			    (nb = realloc(w->body, (size_t)size)) == NULL) {
				r.library_error = AMQP_STATUS_NO_MEMORY;
				return r;
			}
			w->body = nb;
			w->body_cap = (size_t)size;
		}
		memcpy(w->body + got, f.payload.body_fragment.bytes,
		    f.payload.body_fragment.len);
		got += f.payload.body_fragment.len;
		env->message.body.bytes = w->body;
		env->message.body.len = got;
	}
	r.reply_type = AMQP_RESPONSE_NORMAL;
	return r;
}

/*
 * Consume until asked to stop (0), the connection fails (-1), or the home
 * node is back after a failover (1: reconnect there).
 */
static int
consume(struct worker *w)
{
	amqp_envelope_t		 env;
	amqp_frame_t		 other;
	amqp_rpc_reply_t	 r;
	struct timeval		 tv;

	while (!stopping()) {
		wproc_heartbeat(w);
		if (w->node != w->home && home_is_back(w))
			return 1;
		/* About to wait for the broker: send the acks now. */
		if (w->ack_n > 0 && !amqp_data_in_buffer(w->consumer.conn) &&
		    !amqp_frames_enqueued(w->consumer.conn) &&
		    flush_acks(w) == -1)
			return -1;
		amqp_maybe_release_buffers(w->consumer.conn);
		tv.tv_sec = 0;
		tv.tv_usec = 200000;
		r = read_delivery(w, &env, &tv, &other);
		if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
			if (handle_frame(w, &other) == -1)
				return -1;
			continue;
		}
		if (r.reply_type == AMQP_RESPONSE_NORMAL) {
			int	 rc = process(w, &env);

			/* A huge body's buffer is not kept for the next. */
			if (w->body_cap > TAPE_KEEP) {
				free(w->body);
				w->body = NULL;
				w->body_cap = 0;
			}
			if (rc == -1 || w->pub_broken)
				return -1;
			continue;
		}
		if (not_a_delivery(w, r, CONSUME_CHANNEL) == -1)
			return -1;
	}
	return 0;
}

/*
 * consume() for ordering = "aggregate": deliveries from every partition
 * channel go into their partition's line (ordered.c); a head that may run
 * is handled once nothing more waits to be read, so other partitions'
 * deliveries are never held up by a handler that could wait.
 */
static int
consume_ordered(struct worker *w)
{
	amqp_envelope_t		 env, *head;
	amqp_rpc_reply_t	 r;
	struct timeval		 tv;
	double			 now, wait;
	int			 attempts, rc;

	while (!stopping()) {
		wproc_heartbeat(w);
		if (w->node != w->home && home_is_back(w))
			return 1;
		now = now_mono();
		if (ord_maintain(w, now) == -1)
			return -1;
		head = ord_next(w, now, &wait, &attempts);
		if (head != NULL && !amqp_data_in_buffer(w->consumer.conn) &&
		    !amqp_frames_enqueued(w->consumer.conn) &&
		    !evbus_amqp_readable(&w->consumer)) {
			w->attempts = attempts;
			w->again = 0;
			rc = process(w, head);
			w->attempts = 0;
			if (rc == -1 || w->pub_broken)
				return -1;
			ord_done(w, head, w->again, w->again_in);
			continue;
		}
		wait = head != NULL ? 0 : wait < 0.2 ? wait : 0.2;
		tv.tv_sec = (time_t)wait;
		tv.tv_usec = (suseconds_t)((wait - (double)tv.tv_sec) * 1e6);
		if (head == NULL)
			amqp_maybe_release_buffers(w->consumer.conn);
		r = amqp_consume_message(w->consumer.conn, &env, &tv, 0);
		if (r.reply_type == AMQP_RESPONSE_NORMAL) {
			ord_take(w, &env);
			continue;
		}
		if (not_a_delivery(w, r, 0) == -1)
			return -1;
	}
	return 0;
}

/* Graceful stop: cancel the consumer; closing requeues what was prefetched. */
static void
stop_consuming(struct worker *w)
{
	if (!w->connected)
		return;
	/* Finished messages are acked before the channel closes. */
	if (w->ord != NULL) {
		ord_stop(w);
		evbus_amqp_channel_close(&w->publisher, WPUB_CHANNEL);
		return;
	}
	flush_acks(w);
	amqp_basic_cancel(w->consumer.conn, CONSUME_CHANNEL,
	    amqp_cstring_bytes(w->consumer_name));
	evbus_amqp_channel_close(&w->consumer, CONSUME_CHANNEL);
	evbus_amqp_channel_close(&w->publisher, WPUB_CHANNEL);
}

int
worker_run(struct worker *w, volatile sig_atomic_t *stop)
{
	const struct evbus_config *c = w->conf;
	struct log_ratelimit	 rl = { 0, 30.0, 0 };
	pthread_t		 hb;
	double			 backoff = c->reconnect_delay, started;
	char			 err[1024];
	int			 rc, first = 1;
	size_t			 i;

	/*
	 * rabbitmq-c allocates 64 KiB buffers per connection (channel 0's
	 * frame pool, the first outbound buffer): from the heap, calloc
	 * touches every page and a freed one leaves a hole, from mmap only
	 * the pages used count (about 250 KiB less RSS).  A fixed threshold
	 * also stops glibc raising it when a mapped chunk is freed (the
	 * supervisor's state, a closed connection's 128 KiB buffers), which
	 * would move those buffers into the heap as well.  The price: a
	 * message of 64 KiB or more is mapped and unmapped each time.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	stop_flag = stop;
	w->can_publish = 1;
	if (c->ordered)
		ord_init(w);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);

	if ((w->snap != NULL ? loader_load_snapshot(w->snap, &w->plugins,
	    err, sizeof(err)) : loader_load_dir(c->plugin_dir, &w->plugins,
	    err, sizeof(err))) == -1) {
		log_warnx("%s", err);
		return EVBUS_EX_CONFIG;
	}
	if (w->plugins.n == 0)
		log_warnx("no handler plugins in %s: every event will be "
		    "acknowledged as unhandled", c->plugin_dir);
	w->stats->nhandlers = 0;
	for (i = 0; i < w->plugins.n && i < EVBUS_STATS_MAX_HANDLERS; i++) {
		snprintf(w->stats->handlers[i].name,
		    sizeof(w->stats->handlers[i].name), "%s",
		    w->plugins.v[i].h->name);
		w->stats->nhandlers++;
	}
	if (loader_init_all(&w->plugins, c, w, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		loader_unload_all(&w->plugins);
		return EVBUS_EX_CONFIG;
	}
	if (pthread_create(&hb, NULL, heartbeat_thread, w) != 0)
		fatal("pthread_create");

	/* Worker i starts at node i mod n: a pool spreads over a cluster. */
	w->home = c->nurl > 0 ? (size_t)(w->index > 0 ? w->index : 0) %
	    c->nurl : 0;
	w->node = w->home;
	w->home_check_at = now_mono() + HOME_CHECK;
	while (!stopping()) {
		wproc_state(w, WPROC_CONNECTING);
		rc = connect_all(w);
		if (rc != 0) {
			if (log_ratelimit(&rl))
				log_warnx("%s%s; retrying in %.1fs", w->err,
				    rc == EVBUS_AMQP_EFATAL &&
				    strstr(w->err, ": login to ") != NULL ?
				    " (check the user, password, vhost and "
				    "permissions)" : "", backoff);
			nap(backoff * (0.8 + 0.4 * (evbus_retry_uniform() +
			    1) / 2));
			backoff = next_backoff(backoff, c);
			continue;
		}
		if (!first)
			w->stats->reconnections++;
		else
			/*
			 * What starting left free (the configuration's
			 * parse, the plugins' loading, the connections'
			 * handshakes, the supervisor's state) goes back to
			 * the kernel instead of staying resident: about
			 * 60 KiB of a worker's 3 MiB.
			 */
			malloc_trim(0);
		first = 0;
		if (c->ordered)
			log_info("consuming %s.p0 .. p%d in order on %s as %s "
			    "(owns the partitions p mod %d = %d, stands by "
			    "for the others; prefetch 1 per partition, "
			    "heartbeat %ds)", c->queue_name, c->partitions - 1,
			    w->consumer.where, w->consumer_name,
			    w->sb != NULL && w->sb->pool > 0 ?
			    (int)w->sb->pool : 1, w->index,
			    w->consumer.heartbeat);
		else
			log_info("consuming from %s on %s as %s (prefetch %d, "
			    "heartbeat %ds)", c->queue_name, w->consumer.where,
			    w->consumer_name, c->prefetch_count,
			    w->consumer.heartbeat);
		wproc_node(w, w->consumer.where);
		wproc_state(w, WPROC_CONSUMING);
		started = now_mono();
		w->pub_broken = 0;
		rc = w->ord != NULL ? consume_ordered(w) : consume(w);
		if (rc == 0)
			break;
		if (rc == 1) {
			/*
			 * Between two messages: finished ones are acked, the
			 * prefetched ones go back to the queue unhandled.
			 */
			log_info("node %s is reachable again: moving back to "
			    "it from %s", w->conf->urls[w->home].host,
			    w->consumer.where);
			stop_consuming(w);
			disconnect(w);
			wproc_node(w, "");
			w->node = w->home;
			continue;
		}
		/* A cluster: try the next node first (it may be this one down). */
		if (c->nurl > 1)
			w->node = (w->node + 1) % c->nurl;
		log_warnx("connection lost: %s; reconnecting%s", w->err,
		    c->nurl > 1 ? " (next node first)" : "");
		/* If only the publisher failed, finished messages still get acked. */
		flush_acks(w);
		disconnect(w);
		wproc_node(w, "");
		/* Not consuming: standbys must not hand partitions here. */
		wproc_state(w, WPROC_CONNECTING);
		/* A connection that worked for a while resets the backoff. */
		if (now_mono() - started > 10)
			backoff = c->reconnect_delay;
		nap(backoff);
		backoff = next_backoff(backoff, c);
	}

	wproc_state(w, WPROC_STOPPING);
	stop_consuming(w);
	disconnect(w);
	pthread_mutex_lock(&w->lock);
	w->hb_quit = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(hb, NULL);
	loader_unload_all(&w->plugins);
	pyjson_tape_free(&w->tape);
	free(w->body);
	log_info("stopped");
	return 0;
}
