/*
 * publish.c: a window of publisher confirms over rabbitmq-c 0.11, which has
 * no helper for them, with basic.return tracking so that an unroutable
 * message is reported as failed and not counted as published.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "publish.h"

static double
now_mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct evbus_pub_pending *
slot(struct evbus_publisher *p, size_t i)
{
	return &p->win[(p->head + i) % p->cap];
}

/* Tell the owner what became of e and mark it settled. */
static void
report(struct evbus_publisher *p, struct evbus_pub_pending *e,
    enum evbus_pub_status st, const char *reason)
{
	switch (st) {
	case EVBUS_PUB_CONFIRMED: p->confirmed++; break;
	case EVBUS_PUB_RETURNED: p->returned++; break;
	case EVBUS_PUB_NACKED: p->nacked++; break;
	case EVBUS_PUB_LOST: p->lost++; break;
	}
	e->seq = 0;
	if (p->cb != NULL)
		p->cb(p->cb_arg, e->cookie, st, reason);
}

/* Drop settled entries from the head of the window. */
static void
compact(struct evbus_publisher *p)
{
	while (p->count > 0 && slot(p, 0)->seq == 0) {
		p->head = (p->head + 1) % p->cap;
		p->count--;
	}
}

static void
fail_all(struct evbus_publisher *p, const char *reason)
{
	size_t	 i;

	p->broken = 1;
	for (i = 0; i < p->count; i++)
		if (slot(p, i)->seq != 0)
			report(p, slot(p, i), EVBUS_PUB_LOST, reason);
	compact(p);
}

/*
 * An ack or nack for tag, or for everything up to it when multiple.
 * RabbitMQ confirms in order in practice, but the protocol allows any
 * order, so a single confirm is looked up rather than assumed at the head.
 */
static void
settle(struct evbus_publisher *p, uint64_t tag, int multiple, int nack)
{
	struct evbus_pub_pending *e;
	size_t			  i;

	for (i = 0; i < p->count; i++) {
		e = slot(p, i);
		if (e->seq == 0)
			continue;
		if (e->seq > tag)
			break;
		if (!multiple && e->seq != tag)
			continue;
		if (nack)
			report(p, e, EVBUS_PUB_NACKED, "nacked by the broker");
		else if (e->returned)
			report(p, e, EVBUS_PUB_RETURNED, e->reason);
		else
			report(p, e, EVBUS_PUB_CONFIRMED, NULL);
		if (!multiple)
			break;
	}
	compact(p);
}

/* A basic.return: mark the oldest unreturned publish with its message id. */
static void
mark_returned(struct evbus_publisher *p, const amqp_basic_return_t *r,
    const amqp_message_t *msg)
{
	struct evbus_pub_pending *e;
	char			  id[128] = "", text[96];
	size_t			  i;

	if (msg != NULL && (msg->properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG))
		evbus_amqp_bytes_str(msg->properties.message_id, id, sizeof(id));
	for (i = 0; i < p->count; i++) {
		e = slot(p, i);
		if (e->seq == 0 || e->returned || strcmp(e->message_id, id) != 0)
			continue;
		e->returned = 1;
		snprintf(e->reason, sizeof(e->reason), "returned unroutable: "
		    "%u %s", r->reply_code, evbus_amqp_bytes_str(r->reply_text,
		    text, sizeof(text)));
		return;
	}
}

/* Read and handle one frame, waiting at most until deadline. */
static int
pump(struct evbus_publisher *p, double deadline)
{
	amqp_frame_t	 f;
	struct timeval	 tv;
	double		 left = deadline - now_mono();
	int		 st, rc;

	if (left < 0)
		left = 0;
	tv.tv_sec = (time_t)left;
	tv.tv_usec = (suseconds_t)((left - tv.tv_sec) * 1e6);
	st = amqp_simple_wait_frame_noblock(p->a->conn, &f, &tv);
	if (st == AMQP_STATUS_TIMEOUT)
		return 1;
	if (st != AMQP_STATUS_OK) {
		rc = evbus_amqp_fail_status(p->a, st, "waiting for publisher "
		    "confirms");
		fail_all(p, p->a->err);
		return rc;
	}
	if (f.frame_type != AMQP_FRAME_METHOD)
		return 0;
	switch (f.payload.method.id) {
	case AMQP_BASIC_ACK_METHOD: {
		amqp_basic_ack_t *m = f.payload.method.decoded;

		settle(p, m->delivery_tag, m->multiple, 0);
		break;
	}
	case AMQP_BASIC_NACK_METHOD: {
		amqp_basic_nack_t *m = f.payload.method.decoded;

		settle(p, m->delivery_tag, m->multiple, 1);
		break;
	}
	case AMQP_BASIC_RETURN_METHOD: {
		amqp_basic_return_t	 r = *(amqp_basic_return_t *)
		    f.payload.method.decoded;
		amqp_message_t		 msg;
		amqp_rpc_reply_t	 rr;

		rr = amqp_read_message(p->a->conn, f.channel, &msg, 0);
		if (rr.reply_type != AMQP_RESPONSE_NORMAL) {
			rc = evbus_amqp_fail(p->a, p->ch, rr, "reading a "
			    "returned message");
			fail_all(p, p->a->err);
			return rc;
		}
		mark_returned(p, &r, &msg);
		amqp_destroy_message(&msg);
		break;
	}
	default:
		if ((rc = evbus_amqp_handle_method(p->a, &f)) != 0) {
			fail_all(p, p->a->err);
			return rc;
		}
		break;
	}
	return 0;
}

/* Wait until at most max messages are outstanding. */
static int
drain(struct evbus_publisher *p, size_t max)
{
	double	 deadline = now_mono() + p->timeout;
	int	 rc;

	while (p->count > max) {
		if ((rc = pump(p, deadline)) < 0)
			return rc;
		if (rc == 1 && now_mono() >= deadline) {
			snprintf(p->a->err, sizeof(p->a->err), "amqp: no "
			    "publisher confirm within %.0f s", p->timeout);
			fail_all(p, p->a->err);
			return EVBUS_AMQP_ECONN;
		}
		if (rc == 0)
			amqp_maybe_release_buffers_on_channel(p->a->conn, p->ch);
	}
	return 0;
}

int
evbus_pub_init(struct evbus_publisher *p, struct evbus_amqp *a,
    amqp_channel_t ch, size_t window, double timeout, evbus_pub_cb cb,
    void *cb_arg)
{
	memset(p, 0, sizeof(*p));
	p->a = a;
	p->ch = ch;
	p->cap = window > 0 ? window : 1;
	p->timeout = timeout > 0 ? timeout : 30;
	p->cb = cb;
	p->cb_arg = cb_arg;
	if ((p->win = calloc(p->cap, sizeof(*p->win))) == NULL) {
		snprintf(a->err, sizeof(a->err), "amqp: out of memory");
		return EVBUS_AMQP_EFATAL;
	}
	if (amqp_confirm_select(a->conn, ch) == NULL)
		return evbus_amqp_fail_last(a, ch, "confirm.select");
	return 0;
}

void
evbus_pub_free(struct evbus_publisher *p)
{
	free(p->win);
	p->win = NULL;
}

int
evbus_pub_send(struct evbus_publisher *p, const char *exchange,
    const char *routing_key, const amqp_basic_properties_t *props,
    const void *body, size_t len, uint64_t cookie)
{
	struct evbus_pub_pending *e;
	amqp_bytes_t		  b;
	int			  st, rc;

	if (p->broken) {
		if (p->cb)
			p->cb(p->cb_arg, cookie, EVBUS_PUB_LOST, p->a->err);
		p->lost++;
		return EVBUS_AMQP_ECONN;
	}
	if ((rc = drain(p, p->cap - 1)) != 0)
		goto lost;
	b.bytes = (void *)body;
	b.len = len;
	st = amqp_basic_publish(p->a->conn, p->ch, amqp_cstring_bytes(exchange),
	    amqp_cstring_bytes(routing_key), 1, 0, props, b);
	if (st != AMQP_STATUS_OK) {
		rc = evbus_amqp_fail_status(p->a, st, "basic.publish");
		fail_all(p, p->a->err);
		goto lost;
	}
	e = slot(p, p->count);
	memset(e, 0, sizeof(*e));
	e->seq = ++p->seq;
	e->cookie = cookie;
	if (props != NULL && (props->_flags & AMQP_BASIC_MESSAGE_ID_FLAG))
		evbus_amqp_bytes_str(props->message_id, e->message_id,
		    sizeof(e->message_id));
	p->count++;
	/* Collect confirms that are already there without waiting. */
	while (p->count > 0 && amqp_data_in_buffer(p->a->conn))
		if ((rc = pump(p, 0)) < 0)
			return rc;
	return 0;
lost:
	if (p->cb)
		p->cb(p->cb_arg, cookie, EVBUS_PUB_LOST, p->a->err);
	p->lost++;
	return rc;
}

int
evbus_pub_flush(struct evbus_publisher *p)
{
	if (p->broken)
		return EVBUS_AMQP_ECONN;
	return drain(p, 0);
}
