/*
 * topology.c: `evbusctl declare`, `bind` and `unbind`.  With --json each
 * prints one object saying what it declared or bound (docs/schemas/
 * declare.json, bind.json; unbind is bind's layout).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "ctl.h"
#include "event.h"
#include "topology.h"

/* What declare declared, as JSON. */
static void
declared_json(const struct evbus_config *c)
{
	json_object	*o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "exchange",
	    json_object_new_string(c->exchange_name));
	json_object_object_add(o, "exchange_type", json_object_new_string(
	    evbus_exchange_type_str(c->exchange_type)));
	json_object_object_add(o, "queue", json_object_new_string(
	    c->queue_name));
	json_object_object_add(o, "ordered", json_object_new_boolean(
	    c->ordered));
	json_object_object_add(o, "partition_exchange", c->ordered ?
	    json_object_new_string(c->partition_exchange_name) : NULL);
	json_object_object_add(o, "partitions", c->ordered ?
	    json_object_new_int(c->partitions) : NULL);
	json_object_object_add(o, "dlq", c->enable_dlq ?
	    json_object_new_string(c->dlq_queue_name) : NULL);
	ctl_json_print(o);
	json_object_put(o);
}

int
cmd_declare(struct ctl *ctl, int argc, char *argv[])
{
	(void)argv;
	if (argc > 1) {
		ctl_warnx("declare takes no arguments");
		return CTL_EX_USAGE;
	}
	if (ctl_connect(ctl) == -1)
		return CTL_EX_UNAVAILABLE;
	if (evbus_topology_declare(&ctl->amqp, CTL_CHANNEL, ctl->conf) != 0) {
		ctl_warnx("%s", ctl->amqp.err);
		return CTL_EX_FAIL;
	}
	if (ctl->json)
		declared_json(ctl->conf);
	else if (ctl->conf->ordered)
		printf("declared exchange %s (%s), partition exchange %s, "
		    "partition queues %s.p0 .. p%d%s%s\n",
		    ctl->conf->exchange_name,
		    evbus_exchange_type_str(ctl->conf->exchange_type),
		    ctl->conf->partition_exchange_name, ctl->conf->queue_name,
		    ctl->conf->partitions - 1,
		    ctl->conf->enable_dlq ? ", DLQ " : "",
		    ctl->conf->enable_dlq ? ctl->conf->dlq_queue_name : "");
	else
		printf("declared exchange %s (%s), queue %s%s%s\n",
		    ctl->conf->exchange_name,
		    evbus_exchange_type_str(ctl->conf->exchange_type),
		    ctl->conf->queue_name, ctl->conf->enable_dlq ? ", DLQ " :
		    "", ctl->conf->enable_dlq ? ctl->conf->dlq_queue_name : "");
	return CTL_EX_OK;
}

/* An event type given as Aggregate.EventType. */
static int
valid_event_type(const char *s)
{
	const char	*dot = strrchr(s, '.');
	char		 agg[256];

	if (dot == NULL || dot == s || dot[1] == '\0' ||
	    (size_t)(dot - s) >= sizeof(agg))
		return 0;
	memcpy(agg, s, (size_t)(dot - s));
	agg[dot - s] = '\0';
	return evbus_aggregate_type_valid(agg);
}

static int
do_bind(struct ctl *ctl, int argc, char *argv[], int unbind)
{
	static const struct option longopts[] = {
		{ "event-type",	no_argument,	NULL, 'e' },
		{ "json",	no_argument,	NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const struct evbus_config *c = ctl->conf;
	json_object	*o, *keys = NULL, *k;
	int		 ch, i, event_type = 0, failed = 0, rc = CTL_EX_OK;

	while ((ch = getopt_long(argc, argv, "ej", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e':
			event_type = 1;
			break;
		case 'j':
			ctl->json = 1;
			break;
		default:
			return CTL_EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		ctl_warnx("%s: give at least one routing key", unbind ?
		    "unbind" : "bind");
		return CTL_EX_USAGE;
	}
	for (i = 0; i < argc; i++) {
		if (strlen(argv[i]) > EVBUS_NAME_MAX) {
			ctl_warnx("%.40s...: routing keys are at most 255 "
			    "bytes", argv[i]);
			return CTL_EX_USAGE;
		}
		if (event_type && !valid_event_type(argv[i])) {
			ctl_warnx("%s: not an Aggregate.EventType (aggregate "
			    "type of [A-Za-z0-9_.-], a dot, an event type)",
			    argv[i]);
			return CTL_EX_USAGE;
		}
	}
	if (ctl_connect(ctl) == -1)
		return CTL_EX_UNAVAILABLE;
	keys = json_object_new_array();
	for (i = 0; i < argc; i++) {
		k = json_object_new_object();
		json_object_object_add(k, "key", json_object_new_string(argv[i]));
		json_object_array_add(keys, k);
		if (rc != CTL_EX_OK || evbus_topology_bind(&ctl->amqp,
		    CTL_CHANNEL, c, argv[i], unbind) != 0) {
			json_object_object_add(k, "ok",
			    json_object_new_boolean(0));
			json_object_object_add(k, "error", json_object_new_string(
			    rc != CTL_EX_OK ? "not tried: the channel could not "
			    "be reopened" : ctl->amqp.err));
			if (rc == CTL_EX_OK)
				ctl_warnx("%s", ctl->amqp.err);
			failed++;
			/* A failed bind closes the channel; reopen it. */
			if (rc == CTL_EX_OK && evbus_amqp_channel_open(
			    &ctl->amqp, CTL_CHANNEL) != 0) {
				ctl_warnx("%s", ctl->amqp.err);
				rc = CTL_EX_FAIL;
			}
			continue;
		}
		json_object_object_add(k, "ok", json_object_new_boolean(1));
		json_object_object_add(k, "error", NULL);
		if (!ctl->json)
			printf("%s %s %s %s exchange %s with key '%s'\n",
			    unbind ? "unbound" : "bound", c->ordered ?
			    "partition exchange" : "queue", c->ordered ?
			    c->partition_exchange_name : c->queue_name,
			    unbind ? "from" : "to", c->exchange_name, argv[i]);
	}
	if (ctl->json) {
		o = json_object_new_object();
		json_object_object_add(o, "ok",
		    json_object_new_boolean(failed == 0));
		json_object_object_add(o, "command", json_object_new_string(
		    unbind ? "unbind" : "bind"));
		json_object_object_add(o, "exchange",
		    json_object_new_string(c->exchange_name));
		json_object_object_add(o, "destination", json_object_new_string(
		    c->ordered ? c->partition_exchange_name : c->queue_name));
		json_object_object_add(o, "destination_type",
		    json_object_new_string(c->ordered ? "exchange" : "queue"));
		json_object_object_add(o, "keys", json_object_get(keys));
		ctl_json_print(o);
		json_object_put(o);
	}
	json_object_put(keys);
	return failed ? CTL_EX_FAIL : CTL_EX_OK;
}

int
cmd_bind(struct ctl *ctl, int argc, char *argv[])
{
	return do_bind(ctl, argc, argv, 0);
}

int
cmd_unbind(struct ctl *ctl, int argc, char *argv[])
{
	return do_bind(ctl, argc, argv, 1);
}
