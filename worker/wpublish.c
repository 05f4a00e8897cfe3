/*
 * wpublish.c: the worker's confirmed publisher: one publish at a time,
 * waited for.  It sends on the publisher connection that worker.c opens
 * (w->publisher) and serves two callers: the failure path's retry and DLQ
 * copies (worker.c) and the follow-up events handlers publish through the
 * host API (host.c), which it builds from their JSON and the cause.
 *
 * It owns no connection and no delivery: it never connects, reconnects,
 * consumes or acks, and calls nothing else in worker/.  A publish that
 * breaks the connection sets w->pub_broken for the consume loop to act on.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "event.h"
#include "isotime.h"
#include "message.h"
#include "publish.h"
#include "worker.h"

#define JSON_MAX_DEPTH		64

/* The fate of the one publish the failure path or a handler waits for. */
static void
on_confirm(void *arg, uint64_t cookie, enum evbus_pub_status st,
    const char *reason)
{
	struct worker	*w = arg;

	w->pub_status = (int)st;
	snprintf(w->pub_reason, sizeof(w->pub_reason), "%s",
	    reason ? reason : "");
}

int
wpub_start(struct worker *w)
{
	int	 rc;

	if ((rc = evbus_pub_init(&w->pub, &w->publisher, WPUB_CHANNEL, 1,
	    w->conf->publish_timeout, on_confirm, w)) != 0)
		snprintf(w->err, sizeof(w->err), "%s", w->publisher.err);
	return rc;
}

int
wpub_confirmed(struct worker *w, const char *exchange, const char *rk,
    const amqp_basic_properties_t *props, const void *body, size_t len)
{
	int	 rc;

	if (!w->connected) {
		snprintf(w->err, sizeof(w->err), "not connected to the broker");
		return -1;
	}
	w->pub_status = -1;
	rc = evbus_pub_send(&w->pub, exchange, rk, props, body, len, 0);
	if (rc == 0)
		rc = evbus_pub_flush(&w->pub);
	if (rc != 0 || w->pub_status != EVBUS_PUB_CONFIRMED) {
		snprintf(w->err, sizeof(w->err), "publish to '%s' with key "
		    "'%s': %s", exchange[0] ? exchange : "(default exchange)",
		    rk, w->pub_status == EVBUS_PUB_RETURNED ||
		    w->pub_status == EVBUS_PUB_NACKED ? w->pub_reason :
		    w->publisher.err);
		if (rc != 0)
			w->pub_broken = 1;
		return -1;
	}
	return 0;
}

int
wpub_event(struct worker *w, const struct evbus_event_view *cause,
    const char *json, char *err, size_t errlen)
{
	struct evbus_event	 ev;
	struct evbus_msg	 m;
	json_object		*obj;
	json_tokener		*tok;
	int64_t			 sec;
	int32_t			 usec;
	int			 rc = -1;

	memset(&ev, 0, sizeof(ev));
	if ((tok = json_tokener_new_ex(JSON_MAX_DEPTH)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	obj = json_tokener_parse_ex(tok, json, (int)strlen(json));
	json_tokener_free(tok);
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "publish: not a JSON object");
		json_object_put(obj);
		return -1;
	}
	if (cause != NULL) {
		/* Continue the chain: causation, correlation, tenant. */
		json_object_object_add(obj, "causation_id",
		    json_object_new_string(cause->event_id));
		if (!json_object_object_get_ex(obj, "correlation_id", NULL) &&
		    cause->correlation_id != NULL)
			json_object_object_add(obj, "correlation_id",
			    json_object_new_string(cause->correlation_id));
		if (!json_object_object_get_ex(obj, "tenant_id", NULL) &&
		    cause->tenant_id != NULL)
			json_object_object_add(obj, "tenant_id",
			    json_object_new_string(cause->tenant_id));
	}
	if (evbus_event_from_json(obj, EVBUS_EVENT_FILL_DEFAULTS, &ev, err,
	    errlen) == -1)
		goto out;
	if (evbus_msg_build(&m, &ev, cause ? cause->traceparent : NULL,
	    cause ? cause->tracestate : NULL, err, errlen) == -1)
		goto out;
	pthread_mutex_lock(&w->lock);
	if (wpub_confirmed(w, w->conf->exchange_name, m.routing_key,
	    &m.props, m.body, m.body_len) == 0) {
		w->stats->events_published++;
		w->stats->publish_confirms++;
		evbus_time_now(&sec, &usec);
		w->stats->last_publish_at = sec * 1000000 + usec;
		rc = 0;
	} else {
		if (w->pub_status == EVBUS_PUB_RETURNED)
			w->stats->publish_returns++;
		snprintf(err, errlen, "%s", w->err);
	}
	pthread_mutex_unlock(&w->lock);
	evbus_msg_free(&m);
out:
	json_object_put(obj);
	evbus_event_free(&ev);
	return rc;
}
