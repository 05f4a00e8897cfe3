/*
 * report.c: the status socket's answers, built from the scoreboard:
 * aggregate stats (eventsource-py's get_stats_dict keys summed over the
 * workers, plus evbus's own), health (eventsource-py's health_check
 * fields), queue info, the worker table, and the metrics page
 * (OpenMetrics or Prometheus text 0.0.4) for the socket and HTTP.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conn.h"
#include "event.h"
#include "supervisor.h"
#include "topology.h"
#include "worker.h"

#define PROBE_STALE_US	(30 * 1000000LL)	/* probe results older: stale */

struct view {
	struct evbus_worker_stats sum;		/* retired + live workers */
	struct evbus_slot	 slots[EVBUS_SB_MAX_SLOTS];
	int			 live[EVBUS_SB_MAX_SLOTS];
	int			 nworkers, consuming, connected;
	int64_t			 first_connected;
	struct evbus_probe	 probe;
	int			 probe_fresh;	/* an answer to give */
};

static const char *
state_name(uint32_t st)
{
	switch (st) {
	case EVBUS_SLOT_STARTING:	return "starting";
	case EVBUS_SLOT_CONNECTING:	return "connecting";
	case EVBUS_SLOT_CONSUMING:	return "consuming";
	case EVBUS_SLOT_STOPPING:	return "stopping";
	default:			return "empty";
	}
}

static struct view *
snapshot(const struct supervisor *sv)
{
	struct view	*v;
	int		 s;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->sum = sv->sb->retired;
	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++) {
		const struct child *c = &sv->children[s];

		if (c->state != CHILD_RUNNING && c->state != CHILD_RETIRING)
			continue;
		evbus_slot_read(&sv->sb->slots[s], &v->slots[s]);
		v->live[s] = 1;
		v->nworkers++;
		evbus_stats_add(&v->sum, &v->slots[s].stats);
		if (v->slots[s].state == EVBUS_SLOT_CONSUMING)
			v->consuming++;
		if (v->slots[s].stats.is_connected) {
			v->connected++;
			if (v->first_connected == 0 ||
			    v->slots[s].stats.connected_at < v->first_connected)
				v->first_connected =
				    v->slots[s].stats.connected_at;
		}
	}
	evbus_seq_read(&sv->sb->probe_seq, &sv->sb->probe, &v->probe,
	    sizeof(v->probe));
	/*
	 * A "queue does not exist" from before a worker declared the
	 * topology is no answer: report it as not checked yet.
	 */
	v->probe_fresh = v->probe.at != 0 && !probe_superseded(sv, &v->probe);
	return v;
}

/* One decimal: a CPU share needs no more. */
static double
round1(double x)
{
	return (double)(int64_t)(x * 10.0 + 0.5) / 10.0;
}

static json_object *
jtime(int64_t us)
{
	char	 buf[EVBUS_TIME_LEN];

	if (us <= 0)
		return NULL;
	return json_object_new_string(evbus_time_format(us / 1000000,
	    (int32_t)(us % 1000000), EVBUS_TIME_OFFSET, buf, sizeof(buf)));
}

static void
add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static char *
finish(json_object *o, size_t *len)
{
	const char	*s = json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char		*t;

	*len = strlen(s) + 1;
	if ((t = malloc(*len + 1)) != NULL) {
		memcpy(t, s, *len - 1);
		t[*len - 1] = '\n';
		t[*len] = '\0';
	}
	json_object_put(o);
	return t;
}

static json_object *
handlers_json(const struct evbus_worker_stats *st)
{
	json_object	*hs = json_object_new_object(), *h, *lat;
	uint32_t	 i;

	for (i = 0; i < st->nhandlers && i < EVBUS_STATS_MAX_HANDLERS; i++) {
		const struct evbus_handler_stats *x = &st->handlers[i];

		h = json_object_new_object();
		add_u64(h, "calls", x->calls);
		add_u64(h, "ok", x->ok);
		add_u64(h, "retry", x->retry);
		add_u64(h, "fail", x->fail);
		lat = json_object_new_object();
		json_object_object_add(lat, "p50", json_object_new_double(
		    evbus_stats_percentile(x->latency,
		    EVBUS_STATS_LAT_BUCKETS, 50) / 1000.0));
		json_object_object_add(lat, "p90", json_object_new_double(
		    evbus_stats_percentile(x->latency,
		    EVBUS_STATS_LAT_BUCKETS, 90) / 1000.0));
		json_object_object_add(lat, "p99", json_object_new_double(
		    evbus_stats_percentile(x->latency,
		    EVBUS_STATS_LAT_BUCKETS, 99) / 1000.0));
		json_object_object_add(lat, "mean", json_object_new_double(
		    x->calls ? x->latency_sum_us / 1000.0 / x->calls : 0));
		json_object_object_add(h, "latency_ms", lat);
		json_object_object_add(hs, x->name, h);
	}
	return hs;
}

/*
 * Rows by worker index; the two of one index during a rolling reload, the
 * older (longer up) first.
 */
static int
by_index(const void *a, const void *b)
{
	json_object	*x = *(json_object *const *)a;
	json_object	*y = *(json_object *const *)b;
	int		 i, j;
	double		 u, w;

	i = json_object_get_int(json_object_object_get(x, "index"));
	j = json_object_get_int(json_object_object_get(y, "index"));
	u = json_object_get_double(json_object_object_get(x, "uptime_seconds"));
	w = json_object_get_double(json_object_object_get(y, "uptime_seconds"));
	if (i != j)
		return i < j ? -1 : 1;
	return u > w ? -1 : u < w;
}

/* ordering = "aggregate": the partitions a worker is active on. */
static json_object *
partitions_json(const struct evbus_slot *sl, int n)
{
	json_object	*a = json_object_new_array();
	int		 p;

	for (p = 0; p < n && p < EVBUS_SB_PART_WORDS * 64; p++)
		if (sl->partitions[p / 64] & (1ULL << (p % 64)))
			json_object_array_add(a, json_object_new_int(p));
	return a;
}

static json_object *
workers_json(const struct supervisor *sv, const struct view *v)
{
	json_object	*arr = json_object_new_array(), *w;
	int64_t		 now = evbus_mono_us(), wall = sv_wall_us();
	int		 s;

	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++) {
		const struct evbus_slot *sl = &v->slots[s];
		const struct child *c = &sv->children[s];
		char	 consumer[EVBUS_NAME_MAX + 16];

		if (!v->live[s])
			continue;
		w = json_object_new_object();
		json_object_object_add(w, "index", json_object_new_int(c->index));
		json_object_object_add(w, "pid", json_object_new_int(sl->pid));
		json_object_object_add(w, "state", json_object_new_string(
		    c->state == CHILD_RETIRING ? "retiring" :
		    state_name(sl->state)));
		snprintf(consumer, sizeof(consumer), "%s-%d",
		    sv->conf->consumer_name, c->index);
		json_object_object_add(w, "consumer",
		    json_object_new_string(consumer));
		json_object_object_add(w, "uptime_seconds",
		    json_object_new_double(sv_now() - c->started));
		json_object_object_add(w, "node", sl->node[0] ?
		    json_object_new_string(sl->node) : NULL);
		json_object_object_add(w, "inflight", sl->inflight_id[0] ?
		    json_object_new_string(sl->inflight_id) : NULL);
		json_object_object_add(w, "inflight_seconds",
		    sl->inflight_since ? json_object_new_double(
		    (now - sl->inflight_since) / 1e6) : NULL);
		json_object_object_add(w, "is_connected",
		    json_object_new_boolean(sl->stats.is_connected));
		add_u64(w, "events_consumed", sl->stats.events_consumed);
		add_u64(w, "events_processed_success",
		    sl->stats.events_processed_success);
		add_u64(w, "events_processed_failed",
		    sl->stats.events_processed_failed);
		add_u64(w, "messages_sent_to_dlq", sl->stats.messages_sent_to_dlq);
		add_u64(w, "retried", sl->stats.retried);
		add_u64(w, "malformed", sl->stats.malformed);
		add_u64(w, "skipped", sl->stats.skipped);
		add_u64(w, "reconnections", sl->stats.reconnections);
		add_u64(w, "restarts", c->index >= 0 &&
		    c->index < EVBUS_SB_MAX_SLOTS ? sv->restarts_of[c->index] :
		    0);
		json_object_object_add(w, "rss_bytes", c->cpu_at > 0 ?
		    json_object_new_uint64(c->rss) : NULL);
		json_object_object_add(w, "cpu_percent", c->cpu_at > 0 ?
		    json_object_new_double(round1(c->cpu_pct)) : NULL);
		json_object_object_add(w, "last_event_at",
		    jtime(sl->stats.last_consume_at));
		json_object_object_add(w, "last_event_seconds_ago",
		    sl->stats.last_consume_at > 0 ? json_object_new_double(
		    round1((wall - sl->stats.last_consume_at) / 1e6)) : NULL);
		json_object_object_add(w, "last_error", sl->last_error[0] ?
		    json_object_new_string(sl->last_error) : NULL);
		if (sv->conf->ordered)
			json_object_object_add(w, "partitions",
			    partitions_json(sl, sv->conf->partitions));
		json_object_array_add(arr, w);
	}
	/* Scoreboard slots are reused in any order; operators read indices. */
	json_object_array_sort(arr, by_index);
	return arr;
}

/* The ordering of the group, and its partitions as the probe saw them. */
static void
probe_ordering(json_object *o, const struct evbus_config *c,
    const struct evbus_probe *p)
{
	struct evbus_group_depth d;

	memset(&d, 0, sizeof(d));
	d.idle = p->idle;
	d.deepest = p->deepest;
	d.deepest_partition = p->deepest_partition;
	evbus_ordering_json(o, c, p->queue_ok ? &d : NULL);
}


/* Distinct broker nodes the live workers are connected to. */
static json_object *
nodes_json(const struct view *v)
{
	json_object	*a = json_object_new_array();
	size_t		 i, n;
	int		 s, seen;

	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++) {
		if (!v->live[s] || v->slots[s].node[0] == '\0')
			continue;
		n = json_object_array_length(a);
		for (i = 0, seen = 0; i < n && !seen; i++)
			seen = strcmp(json_object_get_string(
			    json_object_array_get_idx(a, i)),
			    v->slots[s].node) == 0;
		if (!seen)
			json_object_array_add(a,
			    json_object_new_string(v->slots[s].node));
	}
	return a;
}

/*
 * What the operator looks for first (version, uptime, configuration,
 * nodes, plugins, the last error), and the accounting of deliveries:
 * received = handled_ok + skipped + failed + malformed + poison_messages
 * + in_flight + unsettled (a worker died or lost its connection with it;
 * the broker delivers it again, counted again), and the failed,
 * malformed and poison ones went on as retried + dead_lettered + dropped.
 */
static void
add_accounting(json_object *o, const struct supervisor *sv,
    const struct view *v)
{
	const struct evbus_worker_stats *t = &v->sum;
	json_object	*plugins = NULL;
	const char	*err = NULL;
	int64_t		 err_at = 0;
	uint64_t	 ok, inflight = 0, done;
	int		 s;

	json_object_object_add(o, "version",
	    json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "config",
	    json_object_new_string(sv->conf_path));
	json_object_object_add(o, "nodes", nodes_json(v));
	if (sv->snap != NULL && sv->snap->info != NULL)
		plugins = json_tokener_parse(sv->snap->info);
	json_object_object_add(o, "plugins", plugins != NULL ? plugins :
	    json_object_new_array());
	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++) {
		if (!v->live[s])
			continue;
		if (v->slots[s].inflight_id[0] != '\0')
			inflight++;
		if (v->slots[s].last_error[0] != '\0' &&
		    v->slots[s].stats.last_error_at > err_at) {
			err_at = v->slots[s].stats.last_error_at;
			err = v->slots[s].last_error;
		}
	}
	if (sv->last_error[0] != '\0' && sv->last_error_at > err_at)
		err = sv->last_error;
	json_object_object_add(o, "last_error", err != NULL ?
	    json_object_new_string(err) : NULL);
	ok = t->events_processed_success > t->skipped ?
	    t->events_processed_success - t->skipped : 0;
	done = ok + t->skipped + t->events_processed_failed + t->malformed +
	    t->poisoned + inflight;
	add_u64(o, "handled_ok", ok);
	add_u64(o, "failed", t->events_processed_failed);
	add_u64(o, "in_flight", inflight);
	add_u64(o, "unsettled", t->received > done ? t->received - done : 0);
}

char *
report_stats(const struct supervisor *sv, size_t *len)
{
	struct view		*v;
	const struct evbus_worker_stats *t;
	json_object		*o;
	int64_t			 now = sv_wall_us();

	if ((v = snapshot(sv)) == NULL)
		return NULL;
	t = &v->sum;
	o = json_object_new_object();
	/* eventsource-py's get_stats_dict(), in its order. */
	add_u64(o, "events_published", t->events_published);
	add_u64(o, "events_consumed", t->events_consumed);
	add_u64(o, "events_processed_success", t->events_processed_success);
	add_u64(o, "events_processed_failed", t->events_processed_failed);
	add_u64(o, "messages_sent_to_dlq", t->messages_sent_to_dlq);
	add_u64(o, "handler_errors", t->handler_errors);
	add_u64(o, "reconnections", t->reconnections);
	add_u64(o, "publish_confirms", t->publish_confirms);
	add_u64(o, "publish_returns", t->publish_returns);
	add_u64(o, "batch_publishes", t->batch_publishes);
	add_u64(o, "batch_events_published", t->batch_events_published);
	add_u64(o, "batch_partial_failures", t->batch_partial_failures);
	json_object_object_add(o, "last_publish_at", jtime(t->last_publish_at));
	json_object_object_add(o, "last_consume_at", jtime(t->last_consume_at));
	json_object_object_add(o, "last_error_at", jtime(t->last_error_at));
	json_object_object_add(o, "connected_at", jtime(v->first_connected));
	json_object_object_add(o, "is_connected",
	    json_object_new_boolean(v->connected > 0));
	json_object_object_add(o, "is_consuming",
	    json_object_new_boolean(v->consuming > 0));
	/*
	 * Fix: whole seconds now minus a microsecond connected_at was
	 * negative for up to a second after start.  Both in microseconds
	 * now, and never below 0 should the wall clock step back.
	 */
	json_object_object_add(o, "uptime_seconds", v->first_connected ?
	    json_object_new_double(now > v->first_connected ?
	    (now - v->first_connected) / 1e6 : 0.0) : NULL);
	/* evbus's own. */
	json_object_object_add(o, "workers", json_object_new_int(v->nworkers));
	json_object_object_add(o, "workers_consuming",
	    json_object_new_int(v->consuming));
	json_object_object_add(o, "workers_wanted",
	    json_object_new_int(sv->target));
	probe_ordering(o, sv->conf, &v->probe);
	add_u64(o, "restarts", sv->sb->restarts);
	add_u64(o, "crashes", sv->sb->crashes);
	add_u64(o, "poison_messages", t->poisoned);
	add_u64(o, "received", t->received);
	add_u64(o, "skipped", t->skipped);
	add_u64(o, "malformed", t->malformed);
	add_u64(o, "retried", t->retried);
	add_u64(o, "dead_lettered", t->messages_sent_to_dlq);
	add_u64(o, "dropped", t->dropped);
	add_u64(o, "redelivered", t->redelivered);
	json_object_object_add(o, "supervisor_uptime_seconds",
	    json_object_new_double(sv_now() - sv->started));
	add_accounting(o, sv, v);
	json_object_object_add(o, "handlers", handlers_json(t));
	json_object_object_add(o, "per_worker", workers_json(sv, v));
	free(v);
	return finish(o, len);
}

/* Append "; "-separated messages. */
static void
add_error(char *buf, size_t len, const char *fmt, ...)
    __attribute__((__format__(printf, 3, 4)));

static void
add_error(char *buf, size_t len, const char *fmt, ...)
{
	size_t	 l = strlen(buf);
	va_list	 ap;

	if (l > 0 && l + 2 < len) {
		memcpy(buf + l, "; ", 3);
		l += 2;
	}
	va_start(ap, fmt);
	vsnprintf(buf + l, len - l, fmt, ap);
	va_end(ap);
}

char *
report_health(const struct supervisor *sv, int *healthy, size_t *len)
{
	const struct evbus_config *c = sv->conf;
	struct view	*v;
	json_object	*o, *d, *st;
	char		 err[2048] = "", qs[300], ds[300];
	int		 ok;

	if ((v = snapshot(sv)) == NULL)
		return NULL;
	ok = v->consuming > 0;
	if (v->connected == 0)
		add_error(err, sizeof(err), "Not connected to RabbitMQ%s%s",
		    v->probe.error[0] ? ": " : "", v->probe.error);
	if (v->consuming == 0)
		add_error(err, sizeof(err), "no worker is consuming (%d of %d "
		    "running)", v->nworkers, sv->target);
	if (v->probe.at != 0 && sv_wall_us() - v->probe.at > PROBE_STALE_US) {
		/* A probe stuck in a slow RPC must not vouch for the queue. */
		snprintf(qs, sizeof(qs), "error: broker probe stale (last "
		    "check %.0fs ago)", (sv_wall_us() - v->probe.at) / 1e6);
		add_error(err, sizeof(err), "Queue check failed: %s", qs + 7);
		ok = 0;
	} else if (!v->probe_fresh && !v->probe.queue_ok)
		snprintf(qs, sizeof(qs), "not_initialized");
	else if (v->probe.queue_ok)
		snprintf(qs, sizeof(qs), "accessible");
	else {
		snprintf(qs, sizeof(qs), "error: %s", v->probe.queue_error[0] ?
		    v->probe.queue_error : v->probe.error);
		add_error(err, sizeof(err), "Queue check failed: %s",
		    qs + 7);
		ok = 0;
	}
	if (!c->enable_dlq)
		snprintf(ds, sizeof(ds), "disabled");
	else if (v->probe.at == 0 || !v->probe.ok)
		snprintf(ds, sizeof(ds), "inaccessible");
	else if (v->probe.dlq_ok)
		snprintf(ds, sizeof(ds), "accessible");
	else if (!v->probe_fresh)
		snprintf(ds, sizeof(ds), "inaccessible");	/* not yet */
	else
		snprintf(ds, sizeof(ds), "error: %s", v->probe.dlq_error);

	o = json_object_new_object();
	json_object_object_add(o, "healthy", json_object_new_boolean(ok));
	json_object_object_add(o, "connection_status", json_object_new_string(
	    v->connected > 0 ? "connected" : "disconnected"));
	json_object_object_add(o, "channel_status", json_object_new_string(
	    v->consuming > 0 ? "open" : "not_initialized"));
	json_object_object_add(o, "queue_status", json_object_new_string(qs));
	json_object_object_add(o, "dlq_status", json_object_new_string(ds));
	json_object_object_add(o, "error", err[0] ?
	    json_object_new_string(err) : NULL);
	d = json_object_new_object();
	json_object_object_add(d, "exchange",
	    json_object_new_string(c->exchange_name));
	json_object_object_add(d, "queue", json_object_new_string(c->queue_name));
	json_object_object_add(d, "consumer_group",
	    json_object_new_string(c->consumer_group));
	json_object_object_add(d, "consuming",
	    json_object_new_boolean(v->consuming > 0));
	json_object_object_add(d, "dlq_enabled",
	    json_object_new_boolean(c->enable_dlq));
	if (c->enable_dlq)
		json_object_object_add(d, "dlq_queue",
		    json_object_new_string(c->dlq_queue_name));
	st = json_object_new_object();
	add_u64(st, "events_published", v->sum.events_published);
	add_u64(st, "events_consumed", v->sum.events_consumed);
	add_u64(st, "events_processed_success",
	    v->sum.events_processed_success);
	add_u64(st, "events_processed_failed", v->sum.events_processed_failed);
	add_u64(st, "messages_sent_to_dlq", v->sum.messages_sent_to_dlq);
	add_u64(st, "reconnections", v->sum.reconnections);
	json_object_object_add(d, "stats", st);
	json_object_object_add(d, "workers", json_object_new_int(v->nworkers));
	json_object_object_add(d, "workers_consuming",
	    json_object_new_int(v->consuming));
	json_object_object_add(d, "source", json_object_new_string("evbusd"));
	probe_ordering(d, c, &v->probe);
	json_object_object_add(o, "details", d);
	*healthy = ok;
	free(v);
	return finish(o, len);
}

char *
report_queue(const struct supervisor *sv, size_t *len)
{
	struct view	*v;
	json_object	*o;
	const char	*state, *error = NULL;

	if ((v = snapshot(sv)) == NULL)
		return NULL;
	if (v->probe.at == 0) {
		state = "error";
		error = "the broker has not been probed yet";
	} else if (!v->probe_fresh && !v->probe.queue_ok) {
		state = "error";
		error = "the broker probe has not checked the queue since the "
		    "workers declared it";
	} else if (!v->probe.queue_ok) {
		state = "error";
		error = v->probe.queue_error[0] ? v->probe.queue_error :
		    v->probe.error;
	} else
		state = v->probe.consumers > 0 ? "running" : "idle";
	o = json_object_new_object();
	json_object_object_add(o, "name",
	    json_object_new_string(sv->conf->queue_name));
	json_object_object_add(o, "source", json_object_new_string("evbusd"));
	add_u64(o, "message_count", v->probe.queue_ok ? v->probe.messages : 0);
	add_u64(o, "consumer_count", v->probe.queue_ok ? v->probe.consumers : 0);
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "error", error ?
	    json_object_new_string(error) : NULL);
	probe_ordering(o, sv->conf, &v->probe);
	if (sv->conf->enable_dlq) {
		json_object_object_add(o, "dlq_name",
		    json_object_new_string(sv->conf->dlq_queue_name));
		add_u64(o, "dlq_message_count", v->probe.dlq_ok ?
		    v->probe.dlq_messages : 0);
	}
	json_object_object_add(o, "checked_at", jtime(v->probe.at));
	free(v);
	return finish(o, len);
}

/*
 * 1 while a health or queue answer would come from no probe result (none
 * yet: just started or reloaded) or a superseded one; control.c then
 * holds the answer back briefly, until the probe has checked again.
 */
int
report_probe_pending(const struct supervisor *sv)
{
	struct evbus_probe	 p;

	evbus_seq_read(&sv->sb->probe_seq, &sv->sb->probe, &p, sizeof(p));
	return p.at == 0 || probe_superseded(sv, &p);
}

char *
report_workers(const struct supervisor *sv, size_t *len)
{
	struct view	*v;
	json_object	*o;

	if ((v = snapshot(sv)) == NULL)
		return NULL;
	o = workers_json(sv, v);
	free(v);
	return finish(o, len);
}

/* A growing text buffer for the metrics page. */
struct buf {
	char	*s;
	size_t	 len, cap;
	int	 oom;
};

static void
bprintf(struct buf *b, const char *fmt, ...)
    __attribute__((__format__(printf, 2, 3)));

static void
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;
	char	*t;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ?
		    b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if (b->s != NULL && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		if ((t = realloc(b->s, b->cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->s = t;
	}
}

/* The metrics page being written, and in which of the two formats. */
struct page {
	struct buf	 b;
	int		 om;	/* OpenMetrics 1.0.0, else text 0.0.4 */
};

/*
 * A family's TYPE and HELP lines.  The formats differ in naming: in
 * OpenMetrics a counter family is "x" and its samples "x_total", an info
 * family "x" with samples "x_info"; text 0.0.4 names the family as its
 * samples are named ("x_total", "x_info") and has no info type (a gauge
 * of 1 is the convention).  TYPE comes first: OpenMetrics readers tie
 * HELP to the family TYPE opened.
 */
static void
family(struct page *p, const char *name, const char *type, const char *help)
{
	const char	*suffix = "";

	if (!p->om && strcmp(type, "counter") == 0)
		suffix = "_total";
	else if (!p->om && strcmp(type, "info") == 0) {
		suffix = "_info";
		type = "gauge";
	}
	bprintf(&p->b, "# TYPE %s%s %s\n# HELP %s%s %s\n", name, suffix, type,
	    name, suffix, help);
}

/* A label value escaped for both formats (backslash, quote, newline). */
static const char *
lv(const char *in, char *out, size_t len)
{
	size_t	 o = 0;

	for (; *in != '\0' && o + 3 < len; in++) {
		if (*in == '\\' || *in == '"' || *in == '\n') {
			out[o++] = '\\';
			out[o++] = *in == '\n' ? 'n' : *in;
		} else
			out[o++] = *in;
	}
	out[o] = '\0';
	return out;
}

/*
 * A count of microseconds as exact decimal seconds ("1.048576", not the
 * "1.04858" of %g): histogram bounds must be the very values the worker
 * sorted latencies by, and sums should not lose digits either.
 */
static const char *
us_seconds(uint64_t us, char *out, size_t len)
{
	size_t	 n;

	snprintf(out, len, "%llu.%06llu", (unsigned long long)(us / 1000000),
	    (unsigned long long)(us % 1000000));
	n = strlen(out);
	while (out[n - 1] == '0')
		out[--n] = '\0';
	if (out[n - 1] == '.')
		out[n - 1] = '\0';
	return out;
}

/*
 * Is live slot s the first one of its worker index?  Fix: during a rolling
 * reload (old worker and its replacement) or a quick scale down and up (a
 * retiring worker and a new one), two live slots share an index, and the
 * metrics page had two series with the same labels, which OpenMetrics
 * forbids and Prometheus rejects.  Such slots now make one series.
 */
static int
first_of_index(const struct supervisor *sv, const struct view *v, int s)
{
	int	 t;

	for (t = 0; t < s; t++)
		if (v->live[t] &&
		    sv->children[t].index == sv->children[s].index)
			return 0;
	return 1;
}

/* One counter family with a series per live worker plus the retired sum. */
static void
counter(struct page *p, const struct supervisor *sv, const struct view *v,
    const char *name, const char *help, size_t off)
{
	char		 fam[128];
	uint64_t	 sum;
	int		 s, t;

#define FIELD(st) (*(const uint64_t *)((const char *)(st) + off))
	snprintf(fam, sizeof(fam), "evbus_%s", name);
	family(p, fam, "counter", help);
	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++) {
		if (!v->live[s] || !first_of_index(sv, v, s))
			continue;
		for (sum = 0, t = s; t < EVBUS_SB_MAX_SLOTS; t++)
			if (v->live[t] &&
			    sv->children[t].index == sv->children[s].index)
				sum += FIELD(&v->slots[t].stats);
		bprintf(&p->b, "evbus_%s_total{worker=\"%d\"} %llu\n", name,
		    sv->children[s].index, (unsigned long long)sum);
	}
	bprintf(&p->b, "evbus_%s_total{worker=\"retired\"} %llu\n", name,
	    (unsigned long long)FIELD(&sv->sb->retired));
#undef FIELD
}

/*
 * process_resident_memory_bytes and process_cpu_seconds_total (the names
 * of Prometheus's client libraries) of each live worker, labelled with
 * its index like the evbus_ series, and of the supervisor itself with
 * worker="supervisor", read from /proc at scrape time.  The two slots of
 * one index during a rolling reload add up, like the counters.  A
 * worker's CPU counter starts again from 0 when it is replaced: rate()
 * treats that as the counter reset it is.
 */
static void
process_metrics(struct page *p, const struct supervisor *sv,
    const struct view *v)
{
	uint64_t	 rss[EVBUS_SB_MAX_SLOTS], r, self_rss = 0;
	double		 cpu[EVBUS_SB_MAX_SLOTS], c, self_cpu = 0;
	int		 have[EVBUS_SB_MAX_SLOTS], s, t, any, self;
	char		 num[64];

	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++)
		have[s] = v->live[s] && sv->children[s].pid > 0 &&
		    sv_proc_usage(sv->children[s].pid, &rss[s], &cpu[s]) == 0;
	self = sv_proc_usage(getpid(), &self_rss, &self_cpu) == 0;
	family(p, "process_resident_memory_bytes", "gauge",
	    "Resident memory of a worker (by index) or of the supervisor.");
	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++) {
		if (!v->live[s] || !first_of_index(sv, v, s))
			continue;
		for (r = 0, any = 0, t = s; t < EVBUS_SB_MAX_SLOTS; t++)
			if (have[t] &&
			    sv->children[t].index == sv->children[s].index) {
				r += rss[t];
				any = 1;
			}
		if (any)
			bprintf(&p->b, "process_resident_memory_bytes{worker="
			    "\"%d\"} %llu\n", sv->children[s].index,
			    (unsigned long long)r);
	}
	if (self)
		bprintf(&p->b, "process_resident_memory_bytes{worker="
		    "\"supervisor\"} %llu\n", (unsigned long long)self_rss);
	family(p, "process_cpu_seconds", "counter", "User and system CPU "
	    "time of a worker (by index) or of the supervisor, in seconds.");
	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++) {
		if (!v->live[s] || !first_of_index(sv, v, s))
			continue;
		for (c = 0, any = 0, t = s; t < EVBUS_SB_MAX_SLOTS; t++)
			if (have[t] &&
			    sv->children[t].index == sv->children[s].index) {
				c += cpu[t];
				any = 1;
			}
		/* Clock ticks: whole milliseconds are exact. */
		if (any)
			bprintf(&p->b, "process_cpu_seconds_total{worker=\"%d\"} "
			    "%s\n", sv->children[s].index, us_seconds(
			    (uint64_t)(c * 1000 + 0.5) * 1000, num,
			    sizeof(num)));
	}
	if (self)
		bprintf(&p->b, "process_cpu_seconds_total{worker=\"supervisor\"} "
		    "%s\n", us_seconds((uint64_t)(self_cpu * 1000 + 0.5) * 1000,
		    num, sizeof(num)));
}

/* The handlers' calls by result and their run time histograms. */
static void
handler_metrics(struct page *p, const struct view *v)
{
	char		 h[2 * EVBUS_NAME_MAX + 1], le[64], sum[64];
	uint32_t	 i, k;
	uint64_t	 cum;

	family(p, "evbus_handler_calls", "counter",
	    "Handler invocations by result.");
	for (i = 0; i < v->sum.nhandlers; i++) {
		const struct evbus_handler_stats *x = &v->sum.handlers[i];

		lv(x->name, h, sizeof(h));
		bprintf(&p->b, "evbus_handler_calls_total{handler=\"%s\","
		    "result=\"ok\"} %llu\n", h, (unsigned long long)x->ok);
		bprintf(&p->b, "evbus_handler_calls_total{handler=\"%s\","
		    "result=\"retry\"} %llu\n", h, (unsigned long long)x->retry);
		bprintf(&p->b, "evbus_handler_calls_total{handler=\"%s\","
		    "result=\"fail\"} %llu\n", h, (unsigned long long)x->fail);
	}
	family(p, "evbus_handler_duration_seconds", "histogram",
	    "Handler run time.");
	for (i = 0; i < v->sum.nhandlers; i++) {
		const struct evbus_handler_stats *x = &v->sum.handlers[i];

		lv(x->name, h, sizeof(h));
		/* Bucket k holds run times up to 2^k us (evbus_stats_bucket). */
		for (cum = 0, k = 0; k < EVBUS_STATS_LAT_BUCKETS; k++) {
			cum += x->latency[k];
			bprintf(&p->b, "evbus_handler_duration_seconds_bucket{"
			    "handler=\"%s\",le=\"%s\"} %llu\n", h,
			    us_seconds((uint64_t)1 << k, le, sizeof(le)),
			    (unsigned long long)cum);
		}
		bprintf(&p->b, "evbus_handler_duration_seconds_bucket{handler="
		    "\"%s\",le=\"+Inf\"} %llu\n", h, (unsigned long long)cum);
		bprintf(&p->b, "evbus_handler_duration_seconds_sum{handler="
		    "\"%s\"} %s\n", h, us_seconds(x->latency_sum_us, sum,
		    sizeof(sum)));
		bprintf(&p->b, "evbus_handler_duration_seconds_count{handler="
		    "\"%s\"} %llu\n", h, (unsigned long long)cum);
	}
}

/*
 * The metrics page, in OpenMetrics 1.0.0 (openmetrics set: the status
 * socket's "metrics", an HTTP scrape that accepts it) or in Prometheus
 * text 0.0.4 (what promtool, node_exporter's textfile collector and HTTP
 * scrapers without OpenMetrics read).  One generator for both: the
 * samples are the same, only family names and "# EOF" differ.
 */
char *
report_metrics(const struct supervisor *sv, int openmetrics, size_t *len)
{
	struct view	*v;
	struct page	 p;
	char		 q[2 * EVBUS_NAME_MAX + 1], ver[64];
	int		 s;

	if ((v = snapshot(sv)) == NULL)
		return NULL;
	memset(&p, 0, sizeof(p));
	p.om = openmetrics;
	family(&p, "evbus_build", "info", "The evbus version and the "
	    "rabbitmq-c library it runs with.");
	bprintf(&p.b, "evbus_build_info{version=\"%s\",rabbitmq_c=\"%s\"} 1\n",
	    lv(PACKAGE_VERSION, q, sizeof(q)), lv(amqp_version(), ver,
	    sizeof(ver)));
#define C(f, help) counter(&p, sv, v, #f, help, \
    offsetof(struct evbus_worker_stats, f))
	C(events_published, "Events published by handlers.");
	C(events_consumed, "Deliveries processed and acknowledged.");
	C(events_processed_success, "Deliveries all handlers accepted.");
	C(events_processed_failed, "Processing attempts where a handler failed.");
	C(messages_sent_to_dlq, "Messages dead-lettered (confirmed).");
	C(handler_errors, "Handler failures (per handler, per attempt).");
	C(reconnections, "Reconnections to the broker.");
	C(received, "Deliveries received.");
	C(skipped, "Deliveries no handler subscribed to.");
	C(malformed, "Malformed deliveries sent to the DLQ.");
	C(retried, "Retry copies scheduled (confirmed).");
	C(dropped, "Exhausted messages dropped with enable_dlq off.");
	C(redelivered, "Deliveries flagged redelivered by the broker.");
	C(poisoned, "Poison messages sent to the DLQ after crashes.");
#undef C
	family(&p, "evbus_worker_up", "gauge", "1 when the worker is consuming.");
	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++) {
		int	 t, up = 0;

		if (!v->live[s] || !first_of_index(sv, v, s))
			continue;
		/* Up when any worker holding the index consumes. */
		for (t = s; t < EVBUS_SB_MAX_SLOTS; t++)
			if (v->live[t] && sv->children[t].index ==
			    sv->children[s].index &&
			    v->slots[t].state == EVBUS_SLOT_CONSUMING)
				up = 1;
		bprintf(&p.b, "evbus_worker_up{worker=\"%d\"} %d\n",
		    sv->children[s].index, up);
	}
	family(&p, "evbus_workers", "gauge", "Workers wanted and running.");
	bprintf(&p.b, "evbus_workers{kind=\"wanted\"} %d\n"
	    "evbus_workers{kind=\"running\"} %d\n"
	    "evbus_workers{kind=\"consuming\"} %d\n",
	    sv->target, v->nworkers, v->consuming);
	family(&p, "evbus_worker_restarts", "counter",
	    "Workers restarted after dying.");
	bprintf(&p.b, "evbus_worker_restarts_total %llu\n",
	    (unsigned long long)sv->sb->restarts);
	family(&p, "evbus_worker_crashes", "counter",
	    "Workers that died abnormally.");
	bprintf(&p.b, "evbus_worker_crashes_total %llu\n",
	    (unsigned long long)sv->sb->crashes);
	process_metrics(&p, sv, v);
	if (v->probe.queue_ok) {
		lv(sv->conf->queue_name, q, sizeof(q));
		family(&p, "evbus_queue_messages", "gauge",
		    "Ready messages in the queue.");
		bprintf(&p.b, "evbus_queue_messages{queue=\"%s\"} %llu\n", q,
		    (unsigned long long)v->probe.messages);
		family(&p, "evbus_queue_consumers", "gauge",
		    "Consumers on the queue.");
		bprintf(&p.b, "evbus_queue_consumers{queue=\"%s\"} %llu\n", q,
		    (unsigned long long)v->probe.consumers);
	}
	if (v->probe.dlq_ok) {
		family(&p, "evbus_dlq_messages", "gauge",
		    "Messages waiting in the DLQ.");
		bprintf(&p.b, "evbus_dlq_messages{queue=\"%s\"} %llu\n",
		    lv(sv->conf->dlq_queue_name, q, sizeof(q)),
		    (unsigned long long)v->probe.dlq_messages);
	}
	handler_metrics(&p, v);
	if (p.om)
		bprintf(&p.b, "# EOF\n");
	free(v);
	if (p.b.oom) {
		free(p.b.s);
		return NULL;
	}
	*len = p.b.len;
	return p.b.s;
}
