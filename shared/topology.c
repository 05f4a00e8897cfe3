/*
 * topology.c: declaring evbus's entities, identical in names, flags and
 * arguments to eventsource-py's so that Python and C services can share
 * them (wire spec 2.4), and explaining a refused redeclaration.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "topology.h"

static const char *
exchange_type_name(enum evbus_exchange_type t)
{
	return evbus_exchange_type_str(t);
}

/* Add the "what to check" advice to a refused declaration. */
static int
explain(struct evbus_amqp *a, int rc, const char *kind, const char *name,
    const char *check)
{
	char	 buf[EVBUS_AMQP_ERRLEN];

	if (strstr(a->err, " 406 ") != NULL || strstr(a->err, ": 406 ") ||
	    strstr(a->err, "PRECONDITION_FAILED") != NULL) {
		snprintf(buf, sizeof(buf), "%s (the %s '%s' already exists "
		    "with other settings: check %s in the configuration "
		    "against the existing one, or delete it if nothing "
		    "depends on it)", a->err, kind, name, check);
		memcpy(a->err, buf, sizeof(a->err));
	} else if (strstr(a->err, "ACCESS_REFUSED") != NULL) {
		snprintf(buf, sizeof(buf), "%s (the broker user lacks "
		    "configure/write/read permission on the %s '%s')",
		    a->err, kind, name);
		memcpy(a->err, buf, sizeof(a->err));
	}
	return rc;
}

static int
declare_exchange_args(struct evbus_amqp *a, amqp_channel_t ch,
    const char *name, const char *type, const struct evbus_config *c,
    amqp_table_t args)
{
	char	 what[EVBUS_NAME_MAX + 64];

	if (amqp_exchange_declare(a->conn, ch, amqp_cstring_bytes(name),
	    amqp_cstring_bytes(type), 0, c->durable, c->auto_delete, 0,
	    args) == NULL) {
		snprintf(what, sizeof(what), "exchange.declare '%s' (%s)",
		    name, type);
		return explain(a, evbus_amqp_fail_last(a, ch, what),
		    "exchange", name, "exchange_type, durable and auto_delete");
	}
	return EVBUS_AMQP_OK;
}

static int
declare_exchange(struct evbus_amqp *a, amqp_channel_t ch, const char *name,
    const char *type, const struct evbus_config *c)
{
	return declare_exchange_args(a, ch, name, type, c, amqp_empty_table);
}

static int
declare_queue(struct evbus_amqp *a, amqp_channel_t ch, const char *name,
    int durable, int auto_delete, amqp_table_t args, const char *check)
{
	char	 what[EVBUS_NAME_MAX + 64];

	if (amqp_queue_declare(a->conn, ch, amqp_cstring_bytes(name), 0,
	    durable, 0, auto_delete, args) == NULL) {
		snprintf(what, sizeof(what), "queue.declare '%s'", name);
		return explain(a, evbus_amqp_fail_last(a, ch, what), "queue",
		    name, check);
	}
	return EVBUS_AMQP_OK;
}

/* Bind (or unbind) queue or exchange dest to exchange source with key. */
static int
bind_to(struct evbus_amqp *a, amqp_channel_t ch, int to_exchange,
    const char *dest, const char *source, const char *key, int unbind)
{
	char	 what[EVBUS_NAME_MAX * 3 + 64];
	void	*ok;

	if (to_exchange && unbind)
		ok = amqp_exchange_unbind(a->conn, ch, amqp_cstring_bytes(dest),
		    amqp_cstring_bytes(source), amqp_cstring_bytes(key),
		    amqp_empty_table);
	else if (to_exchange)
		ok = amqp_exchange_bind(a->conn, ch, amqp_cstring_bytes(dest),
		    amqp_cstring_bytes(source), amqp_cstring_bytes(key),
		    amqp_empty_table);
	else if (unbind)
		ok = amqp_queue_unbind(a->conn, ch, amqp_cstring_bytes(dest),
		    amqp_cstring_bytes(source), amqp_cstring_bytes(key),
		    amqp_empty_table);
	else
		ok = amqp_queue_bind(a->conn, ch, amqp_cstring_bytes(dest),
		    amqp_cstring_bytes(source), amqp_cstring_bytes(key),
		    amqp_empty_table);
	if (ok == NULL) {
		snprintf(what, sizeof(what), "%s.%s '%s' to '%s' with key "
		    "'%s'", to_exchange ? "exchange" : "queue", unbind ?
		    "unbind" : "bind", dest, source, key);
		return evbus_amqp_fail_last(a, ch, what);
	}
	return EVBUS_AMQP_OK;
}

static int
bind_queue(struct evbus_amqp *a, amqp_channel_t ch, const char *queue,
    const char *exchange, const char *key, int unbind)
{
	return bind_to(a, ch, 0, queue, exchange, key, unbind);
}

static int
bind_exchange(struct evbus_amqp *a, amqp_channel_t ch, const char *dest,
    const char *source, const char *key, int unbind)
{
	return bind_to(a, ch, 1, dest, source, key, unbind);
}


static amqp_table_entry_t
entry_str(const char *key, const char *value)
{
	amqp_table_entry_t	 e;

	e.key = amqp_cstring_bytes(key);
	e.value.kind = AMQP_FIELD_KIND_UTF8;
	e.value.value.bytes = amqp_cstring_bytes(value);
	return e;
}

static amqp_table_entry_t
entry_bool(const char *key, int value)
{
	amqp_table_entry_t	 e;

	e.key = amqp_cstring_bytes(key);
	e.value.kind = AMQP_FIELD_KIND_BOOLEAN;
	e.value.value.boolean = value;
	return e;
}

static amqp_table_entry_t
entry_int(const char *key, long long value)
{
	amqp_table_entry_t	 e;

	e.key = amqp_cstring_bytes(key);
	e.value.kind = AMQP_FIELD_KIND_I64;
	e.value.value.i64 = value;
	return e;
}

/*
 * queue_type = "quorum": the type, and for a queue that dead-letters,
 * dead-lettering confirmed inside the broker (at-least-once, which needs
 * reject-publish overflow), as RabbitMQ recommends.  Classic queues get
 * nothing: eventsource-py declares none of these.
 */
static size_t
quorum_args(const struct evbus_config *c, int dead_letters,
    amqp_table_entry_t *e)
{
	size_t	 n = 0;

	if (!c->quorum)
		return 0;
	e[n++] = entry_str("x-queue-type", "quorum");
	if (dead_letters) {
		e[n++] = entry_str("x-dead-letter-strategy", "at-least-once");
		e[n++] = entry_str("x-overflow", "reject-publish");
	}
	return n;
}

long long
evbus_quorum_delivery_limit(const struct evbus_config *c)
{
	/*
	 * A backstop for a message that kills workers on every host (each
	 * supervisor counts only its own workers' crashes), well above
	 * max_crashes: a crash also returns the other prefetched messages.
	 */
	return c->max_crashes * 4 > 20 ? c->max_crashes * 4 : 20;
}

long long
evbus_retry_tier_for(const struct evbus_config *c, int n)
{
	return evbus_retry_ms(evbus_retry_base(&c->retry, n));
}

size_t
evbus_retry_tiers(const struct evbus_config *c, long long *ms, size_t max)
{
	size_t	 n = 0;
	int	 i;

	for (i = 0; i < c->retry.max_retries && n < max; i++) {
		long long d = evbus_retry_tier_for(c, i);

		/* Delays only grow with n, so a repeat is the last one. */
		if (n > 0 && ms[n - 1] == d)
			break;
		ms[n++] = d;
	}
	return n;
}

int
evbus_retry_queue_name(const struct evbus_config *c, long long ms, char *buf,
    size_t len)
{
	int	 r;

	r = snprintf(buf, len, "%s.retry.%lld", c->queue_name, ms);
	if (r < 0 || (size_t)r >= len || r > EVBUS_NAME_MAX)
		return -1;
	return 0;
}

int
evbus_partition_queue_name(const struct evbus_config *c, int p, char *buf,
    size_t len)
{
	int	 r;

	r = snprintf(buf, len, "%s.p%d", c->queue_name, p);
	if (r < 0 || (size_t)r >= len || r > EVBUS_NAME_MAX)
		return -1;
	return 0;
}

/* The partition exchange's type is a plugin's: say how to get it. */
static int
explain_hash_exchange(struct evbus_amqp *a, int rc)
{
	char	 buf[EVBUS_AMQP_ERRLEN];

	if (strstr(a->err, "x-consistent-hash") != NULL &&
	    (strstr(a->err, "503") != NULL ||
	    strstr(a->err, "COMMAND_INVALID") != NULL ||
	    strstr(a->err, "invalid exchange type") != NULL)) {
		snprintf(buf, sizeof(buf), "%s (ordering = \"aggregate\" needs "
		    "the broker plugin rabbitmq_consistent_hash_exchange, "
		    "shipped with RabbitMQ: run `rabbitmq-plugins enable "
		    "rabbitmq_consistent_hash_exchange` on every node)", a->err);
		memcpy(a->err, buf, sizeof(a->err));
	}
	return rc;
}

/*
 * ordering = "aggregate": the partition exchange, bound from the main
 * exchange with the group's keys, spreads the events over the partition
 * queues by a hash of their aggregate_id header; each partition queue
 * has a single active consumer and dead-letters like the group's queue.
 * Each partition is bound with weight 1, in index order: the plugin
 * numbers its buckets in binding order.
 */
static int
declare_partitions(struct evbus_amqp *a, amqp_channel_t ch,
    const struct evbus_config *c)
{
	amqp_table_entry_t	 xargs[1], qargs[8];
	amqp_table_t		 t;
	char			 q[EVBUS_NAME_MAX + 1];
	size_t			 i, n;
	int			 p, rc;

	xargs[0] = entry_str("hash-header", "aggregate_id");
	t.num_entries = 1;
	t.entries = xargs;
	if ((rc = declare_exchange_args(a, ch, c->partition_exchange_name,
	    "x-consistent-hash", c, t)) != 0)
		return explain_hash_exchange(a, rc);
	for (i = 0; i < c->nrouting_keys; i++)
		if ((rc = bind_exchange(a, ch, c->partition_exchange_name,
		    c->exchange_name, c->routing_keys[i], 0)) != 0)
			return rc;

	n = quorum_args(c, c->enable_dlq, qargs);
	qargs[n++] = entry_bool("x-single-active-consumer", 1);
	if (c->enable_dlq) {
		qargs[n++] = entry_str("x-dead-letter-exchange",
		    c->dlq_exchange_name);
		qargs[n++] = entry_str("x-dead-letter-routing-key",
		    c->queue_name);
	}
	/* Quorum: a delivery limit also keeps a returned message first. */
	if (c->quorum)
		qargs[n++] = entry_int("x-delivery-limit",
		    evbus_quorum_delivery_limit(c));
	t.num_entries = (int)n;
	t.entries = qargs;
	for (p = 0; p < c->partitions; p++) {
		if (evbus_partition_queue_name(c, p, q, sizeof(q)) == -1) {
			snprintf(a->err, sizeof(a->err), "partition queue "
			    "name for '%s' is longer than 255 bytes",
			    c->queue_name);
			return EVBUS_AMQP_EFATAL;
		}
		if ((rc = declare_queue(a, ch, q, c->durable, c->auto_delete,
		    t, "durable, auto_delete, enable_dlq, queue_type, "
		    "max_crashes and ordering (partition queues have "
		    "x-single-active-consumer)")) != 0)
			return rc;
		if ((rc = bind_queue(a, ch, q, c->partition_exchange_name, "1",
		    0)) != 0)
			return rc;
	}
	return EVBUS_AMQP_OK;
}

int
evbus_topology_declare(struct evbus_amqp *a, amqp_channel_t ch,
    const struct evbus_config *c)
{
	amqp_table_entry_t	 qargs[8], dargs[8], rargs[8];
	amqp_table_t		 t;
	long long		 tiers[EVBUS_MAX_RETRY_TIERS];
	char			 rq[EVBUS_NAME_MAX + 1];
	size_t			 i, n;
	int			 rc;

	if (c->enable_dlq) {
		if ((rc = declare_exchange(a, ch, c->dlq_exchange_name,
		    "direct", c)) != 0)
			return rc;
		n = quorum_args(c, 0, dargs);
		if (c->dlq_message_ttl >= 0)
			dargs[n++] = entry_int("x-message-ttl",
			    c->dlq_message_ttl);
		if (c->dlq_max_length >= 0)
			dargs[n++] = entry_int("x-max-length",
			    c->dlq_max_length);
		t.num_entries = (int)n;
		t.entries = dargs;
		if ((rc = declare_queue(a, ch, c->dlq_queue_name, c->durable,
		    c->auto_delete, t, "durable, auto_delete, "
		    "dlq_message_ttl, dlq_max_length and queue_type")) != 0)
			return rc;
		if ((rc = bind_queue(a, ch, c->dlq_queue_name,
		    c->dlq_exchange_name, c->queue_name, 0)) != 0)
			return rc;
	}

	if ((rc = declare_exchange(a, ch, c->exchange_name,
	    exchange_type_name(c->exchange_type), c)) != 0)
		return rc;

	/* Ordered: partitions instead of the queue, retries in place. */
	if (c->ordered)
		return declare_partitions(a, ch, c);

	n = quorum_args(c, c->enable_dlq, qargs);
	if (c->enable_dlq) {
		qargs[n++] = entry_str("x-dead-letter-exchange",
		    c->dlq_exchange_name);
		qargs[n++] = entry_str("x-dead-letter-routing-key",
		    c->queue_name);
		if (c->quorum)
			qargs[n++] = entry_int("x-delivery-limit",
			    evbus_quorum_delivery_limit(c));
	}
	t.num_entries = (int)n;
	t.entries = qargs;
	if ((rc = declare_queue(a, ch, c->queue_name, c->durable,
	    c->auto_delete, t, "durable, auto_delete, enable_dlq, "
	    "exchange_name and dlq_exchange_suffix (they set "
	    "x-dead-letter-exchange), queue_type and max_crashes (quorum: "
	    "x-delivery-limit)")) != 0)
		return rc;
	for (i = 0; i < c->nrouting_keys; i++)
		if ((rc = bind_queue(a, ch, c->queue_name, c->exchange_name,
		    c->routing_keys[i], 0)) != 0)
			return rc;

	/* evbus's retry tiers: dead-letter back into the group's queue. */
	n = quorum_args(c, 1, rargs);
	rargs[n++] = entry_str("x-dead-letter-exchange", "");
	rargs[n++] = entry_str("x-dead-letter-routing-key", c->queue_name);
	t.num_entries = (int)n;
	t.entries = rargs;
	n = evbus_retry_tiers(c, tiers, EVBUS_MAX_RETRY_TIERS);
	for (i = 0; i < n; i++) {
		if (evbus_retry_queue_name(c, tiers[i], rq, sizeof(rq)) == -1) {
			snprintf(a->err, sizeof(a->err), "retry queue name "
			    "for '%s' is longer than 255 bytes", c->queue_name);
			return EVBUS_AMQP_EFATAL;
		}
		if ((rc = declare_queue(a, ch, rq, c->durable, 0, t,
		    "durable and queue_type (retry queues are evbus's own: "
		    "deleting one loses the retries waiting in it)")) != 0)
			return rc;
	}
	return EVBUS_AMQP_OK;
}

int
evbus_topology_bind(struct evbus_amqp *a, amqp_channel_t ch,
    const struct evbus_config *c, const char *key, int unbind)
{
	if (c->ordered)
		return bind_exchange(a, ch, c->partition_exchange_name,
		    c->exchange_name, key, unbind);
	return bind_queue(a, ch, c->queue_name, c->exchange_name, key, unbind);
}

int
evbus_queue_depth(struct evbus_amqp *a, amqp_channel_t ch, const char *queue,
    uint64_t *messages, uint64_t *consumers, char *err, size_t errlen)
{
	amqp_queue_declare_ok_t	*ok;
	char			 what[EVBUS_NAME_MAX + 64];
	int			 rc;

	ok = amqp_queue_declare(a->conn, ch, amqp_cstring_bytes(queue), 1, 0,
	    0, 0, amqp_empty_table);
	if (ok != NULL) {
		*messages = ok->message_count;
		*consumers = ok->consumer_count;
		return 0;
	}
	snprintf(what, sizeof(what), "queue.declare (passive) '%s'", queue);
	rc = evbus_amqp_fail_last(a, ch, what);
	if (strstr(a->err, "404") != NULL)
		snprintf(err, errlen, "queue %s does not exist", queue);
	else
		snprintf(err, errlen, "%s", a->err);
	/* The failed declare closed the channel: reopen it. */
	if (rc == EVBUS_AMQP_ECHANNEL && evbus_amqp_channel_open(a, ch) == 0)
		return -1;
	return -2;
}

int
evbus_group_depth(struct evbus_amqp *a, amqp_channel_t ch,
    const struct evbus_config *c, struct evbus_group_depth *d, char *err,
    size_t errlen)
{
	char		 q[EVBUS_NAME_MAX + 1];
	uint64_t	 m, n;
	int		 p, rc;

	memset(d, 0, sizeof(*d));
	if (!c->ordered) {
		rc = evbus_queue_depth(a, ch, c->queue_name, &d->messages,
		    &d->consumers, err, errlen);
		d->idle = rc == 0 && d->consumers == 0;
		return rc;
	}
	for (p = 0; p < c->partitions; p++) {
		evbus_partition_queue_name(c, p, q, sizeof(q));
		if ((rc = evbus_queue_depth(a, ch, q, &m, &n, err,
		    errlen)) != 0)
			return rc;
		d->messages += m;
		d->consumers += n;
		if (n == 0)
			d->idle++;
		if (m > d->deepest) {
			d->deepest = m;
			d->deepest_partition = p;
		}
	}
	return 0;
}

void
evbus_ordering_json(json_object *o, const struct evbus_config *c,
    const struct evbus_group_depth *d)
{
	json_object_object_add(o, "ordering", json_object_new_string(
	    c->ordered ? "aggregate" : "none"));
	if (!c->ordered)
		return;
	json_object_object_add(o, "partitions",
	    json_object_new_int(c->partitions));
	json_object_object_add(o, "partition_exchange",
	    json_object_new_string(c->partition_exchange_name));
	if (d == NULL)
		return;
	json_object_object_add(o, "partitions_without_consumer",
	    json_object_new_int64((int64_t)d->idle));
	json_object_object_add(o, "deepest_partition",
	    json_object_new_int(d->deepest_partition));
	json_object_object_add(o, "deepest_partition_messages",
	    json_object_new_int64((int64_t)d->deepest));
}

int
evbus_topology_leftovers(struct evbus_amqp *a, amqp_channel_t ch,
    const struct evbus_config *c, char *msg, size_t len)
{
	char		 q[EVBUS_NAME_MAX + 1], err[512];
	uint64_t	 m, n;
	int		 rc;

	msg[0] = '\0';
	if (c->ordered) {
		rc = evbus_queue_depth(a, ch, c->queue_name, &m, &n, err,
		    sizeof(err));
		if (rc == 0) {
			snprintf(msg, len, "queue %s (of ordering = \"none\") "
			    "still exists with %llu message(s) and %llu "
			    "consumer(s): it stays bound to %s and fills up "
			    "unconsumed; once drained, delete it", c->queue_name,
			    (unsigned long long)m, (unsigned long long)n,
			    c->exchange_name);
			return 1;
		}
		if (rc == -2)
			return -1;
		evbus_partition_queue_name(c, c->partitions, q, sizeof(q));
		rc = evbus_queue_depth(a, ch, q, &m, &n, err, sizeof(err));
		if (rc == 0) {
			snprintf(msg, len, "partition queue %s exists (from a "
			    "larger partitions setting?) with %llu message(s): "
			    "it stays bound to %s and takes a share of the "
			    "events that no worker consumes; drain it and "
			    "delete the partition queues beyond p%d", q,
			    (unsigned long long)m, c->partition_exchange_name,
			    c->partitions - 1);
			return 1;
		}
		return rc == -2 ? -1 : 0;
	}
	evbus_partition_queue_name(c, 0, q, sizeof(q));
	rc = evbus_queue_depth(a, ch, q, &m, &n, err, sizeof(err));
	if (rc == 0) {
		snprintf(msg, len, "partition queue %s (of ordering = "
		    "\"aggregate\") still exists with %llu message(s): the "
		    "exchange %s.partitions stays bound to %s and fills the "
		    "partitions unconsumed; once drained, delete them and that "
		    "exchange", q, (unsigned long long)m, c->queue_name,
		    c->exchange_name);
		return 1;
	}
	return rc == -2 ? -1 : 0;
}
