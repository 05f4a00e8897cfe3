/*
 * topology.c: `evbusctl declare`, `bind` and `unbind`.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "event.h"
#include "topology.h"

int
cmd_declare(struct ctl *ctl, int argc, char *argv[])
{
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
	if (ctl->conf->ordered)
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
		{ NULL, 0, NULL, 0 }
	};
	int	 ch, i, event_type = 0, failed = 0;

	while ((ch = getopt_long(argc, argv, "e", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e':
			event_type = 1;
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
	for (i = 0; i < argc; i++) {
		if (evbus_topology_bind(&ctl->amqp, CTL_CHANNEL, ctl->conf,
		    argv[i], unbind) != 0) {
			ctl_warnx("%s", ctl->amqp.err);
			failed++;
			/* A failed bind closes the channel; reopen it. */
			if (evbus_amqp_channel_open(&ctl->amqp,
			    CTL_CHANNEL) != 0)
				return CTL_EX_FAIL;
			continue;
		}
		printf("%s %s %s %s exchange %s with key '%s'\n",
		    unbind ? "unbound" : "bound", ctl->conf->ordered ?
		    "partition exchange" : "queue", ctl->conf->ordered ?
		    ctl->conf->partition_exchange_name : ctl->conf->queue_name,
		    unbind ? "from" : "to", ctl->conf->exchange_name, argv[i]);
	}
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
