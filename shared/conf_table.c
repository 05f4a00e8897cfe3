/*
 * conf_table.c: the keys of evbusd.conf, one entry each.
 *
 * This table is the only description of the keys: their type, the field
 * of struct evbus_config they fill, default, range, help sentence and
 * the section of the sample they open.  The engine (conf.c) reads files
 * against it and prints etc/evbusd.conf from it, so the order here is
 * the sample's order.  Key names and defaults are eventsource-py's
 * RabbitMQEventBusConfig where one exists (wire spec 1.1).
 *
 * Data only: no code, no rule between keys (conf_check.c holds those).
 * A change here changes `evbusd -S`; regenerate etc/evbusd.conf with it.
 */
#include "config.h"

#include <stddef.h>

#include "conf_int.h"

#ifndef PKGLIBDIR
#define PKGLIBDIR	"/usr/local/lib/evbus"
#endif
#ifndef RUNSTATEDIR
#define RUNSTATEDIR	"/var/run"
#endif

#define OFF(f)		offsetof(struct evbus_config, f)

const struct conf_key conf_keys[] = {
	{ "rabbitmq_url", CONF_URL_LIST, OFF(rabbitmq_url),
	  "amqp://localhost:5672/", 0, 0, NOMIN, NOMAX, CONF_NONEMPTY,
	  "Broker connection",
	  "Broker URL amqp[s]://[user[:password]@]host[:port][/vhost], or a "
	  "list [\"amqps://a/\", \"amqps://b/\"] of one cluster's nodes "
	  "(worker i starts at node i mod n and fails over to the next); "
	  "without a user, guest/guest.  Put the password in $EVBUS_PASSWORD, "
	  "or keep this file mode 0600.", NULL },
	{ "heartbeat", CONF_INT, OFF(heartbeat),
	  NULL, 60, 0, 0, 65535, 0, NULL,
	  "AMQP heartbeat in seconds; 0 disables it.", NULL },
	{ "connect_timeout", CONF_FLOAT, OFF(connect_timeout),
	  NULL, 0, 10.0, 0.1, 3600, 0, NULL,
	  "Seconds to wait for the TCP, TLS and AMQP handshakes.", NULL },
	{ "reconnect_delay", CONF_FLOAT, OFF(reconnect_delay),
	  NULL, 0, 1.0, 0.1, 3600, 0, NULL,
	  "Seconds before the first reconnect attempt after losing the "
	  "broker; doubles on each failure.", NULL },
	{ "reconnect_max_delay", CONF_FLOAT, OFF(reconnect_max_delay),
	  NULL, 0, 30.0, 0.1, 86400, 0, NULL,
	  "Cap of the reconnect backoff in seconds (>= reconnect_delay).",
	  NULL },

	{ "verify_ssl", CONF_BOOL, OFF(verify_ssl),
	  NULL, 1, 0, NOMIN, NOMAX, 0,
	  "TLS (amqps:// URLs only)",
	  "Verify the broker's certificate and host name; false is for "
	  "tests only and is logged loudly.", NULL },
	{ "ca_file", CONF_STRING_OPT, OFF(ca_file),
	  NULL, 0, 0, NOMIN, NOMAX, 0, NULL,
	  "CA bundle (PEM) to trust instead of the system store; unset: "
	  "the system store.", "\"/etc/evbus/ca.pem\"" },
	{ "cert_file", CONF_STRING_OPT, OFF(cert_file),
	  NULL, 0, 0, NOMIN, NOMAX, 0, NULL,
	  "Client certificate (PEM) for mutual TLS; needs key_file; unset by "
	  "default.", "\"/etc/evbus/client.pem\"" },
	{ "key_file", CONF_STRING_OPT, OFF(key_file),
	  NULL, 0, 0, NOMIN, NOMAX, 0, NULL,
	  "Client private key (PEM) for mutual TLS; needs cert_file; unset by "
	  "default.", "\"/etc/evbus/client.key\"" },

	{ "exchange_name", CONF_STRING, OFF(exchange_name),
	  "events", 0, 0, NOMIN, NOMAX, CONF_NONEMPTY,
	  "Topology (shared with eventsource-py services)",
	  "Main exchange; also the prefix of every queue name.", NULL },
	{ "exchange_type", CONF_STRING, OFF(exchange_type_name),
	  "topic", 0, 0, NOMIN, NOMAX, CONF_NONEMPTY, NULL,
	  "topic, direct, fanout or headers (any case).", NULL },
	{ "consumer_group", CONF_STRING, OFF(consumer_group),
	  "default", 0, 0, NOMIN, NOMAX, 0, NULL,
	  "Consumers of one group share the queue <exchange_name>."
	  "<consumer_group>.", NULL },
	{ "routing_key_pattern", CONF_STRING_LIST, OFF(routing_keys),
	  NULL, 0, 0, NOMIN, NOMAX, 0, NULL,
	  "Binding key of the queue, or a list of them; unset: \"#\" for "
	  "topic, the queue name for direct, \"\" for fanout and headers.",
	  "[ \"order.*\", \"payment.#\" ]" },
	{ "durable", CONF_BOOL, OFF(durable),
	  NULL, 1, 0, NOMIN, NOMAX, 0, NULL,
	  "Exchanges and queues survive a broker restart.", NULL },
	{ "auto_delete", CONF_BOOL, OFF(auto_delete),
	  NULL, 0, 0, NOMIN, NOMAX, 0, NULL,
	  "Exchanges and queues are deleted when no longer used.", NULL },
	{ "queue_type", CONF_STRING, OFF(queue_type_name),
	  "classic", 0, 0, NOMIN, NOMAX, CONF_NONEMPTY, NULL,
	  "classic (eventsource-py's) or quorum (replicated over a "
	  "cluster's nodes; every service sharing the group must declare "
	  "the same type).", NULL },

	{ "enable_dlq", CONF_BOOL, OFF(enable_dlq),
	  NULL, 1, 0, NOMIN, NOMAX, 0,
	  "Dead-letter queue",
	  "Declare the DLQ and send messages there once their retries are "
	  "used up; false drops them (logged).", NULL },
	{ "dlq_exchange_suffix", CONF_STRING, OFF(dlq_exchange_suffix),
	  "_dlq", 0, 0, NOMIN, NOMAX, 0, NULL,
	  "The DLQ exchange is <exchange_name><dlq_exchange_suffix>.", NULL },
	{ "dlq_message_ttl", CONF_INT64_OPT, OFF(dlq_message_ttl),
	  NULL, -1, 0, 0, NOMAX, 0, NULL,
	  "x-message-ttl of the DLQ in milliseconds; unset by default (keep "
	  "forever).  Write numbers above 2147483647 with an L suffix.",
	  "604800000" },
	{ "dlq_max_length", CONF_INT64_OPT, OFF(dlq_max_length),
	  NULL, -1, 0, 0, NOMAX, 0, NULL,
	  "x-max-length of the DLQ; unset by default (no limit).",
	  "100000" },

	{ "consumer_name", CONF_STRING, OFF(consumer_name),
	  NULL, 0, 0, NOMIN, NOMAX, CONF_NONEMPTY | CONF_HOSTNAME,
	  "Consuming and retries",
	  "Workers consume as <consumer_name>-<index>; default: the host "
	  "name.", "\"evbus-host-1\"" },
	{ "prefetch_count", CONF_INT, OFF(prefetch_count),
	  NULL, 10, 0, 1, 65535, 0, NULL,
	  "Unacknowledged messages the broker sends each worker (basic.qos).",
	  NULL },
	{ "max_retries", CONF_INT, OFF(retry.max_retries),
	  NULL, 3, 0, 0, NOMAX, 0, NULL,
	  "Retries after the first failure before a message goes to the DLQ; "
	  "0: straight to the DLQ.", NULL },
	{ "retry_base_delay", CONF_FLOAT, OFF(retry.base_delay),
	  NULL, 0, 1.0, NOMIN, 86400, 0, NULL,
	  "Seconds before the first retry (> 0); retry n waits "
	  "min(base * 2^n, retry_max_delay).", NULL },
	{ "retry_max_delay", CONF_FLOAT, OFF(retry.max_delay),
	  NULL, 0, 60.0, NOMIN, 86400, 0, NULL,
	  "Cap of the retry delay in seconds (>= retry_base_delay).", NULL },
	{ "retry_jitter", CONF_FLOAT, OFF(retry.jitter),
	  NULL, 0, 0.1, NOMIN, NOMAX, 0, NULL,
	  "Symmetric random jitter as a fraction of the delay, 0.0 to 1.0.",
	  NULL },
	{ "ordering", CONF_STRING, OFF(ordering_name),
	  "none", 0, 0, NOMIN, NOMAX, CONF_NONEMPTY, NULL,
	  "none: competing consumers on the group's queue (eventsource-py's); "
	  "aggregate: the events of one aggregate_id are handled one at a "
	  "time, in order, over <queue>.p0 .. p<partitions - 1> (retries "
	  "then wait in place and hold their partition).", NULL },
	{ "partitions", CONF_INT, OFF(partitions),
	  NULL, 16, 0, 1, EVBUS_MAX_PARTITIONS, 0, NULL,
	  "Partition queues with ordering = \"aggregate\" (the unit of "
	  "parallelism: more than the workers of every host together).  "
	  "Changing it on a live group moves aggregates between partitions.",
	  NULL },
	{ "handler_timeout", CONF_FLOAT, OFF(handler_timeout),
	  NULL, 0, 30.0, 0, 86400, 0, NULL,
	  "Seconds a handler may run before its worker is killed; 0: no "
	  "limit.", NULL },
	{ "max_crashes", CONF_INT, OFF(max_crashes),
	  NULL, 3, 0, 1, NOMAX, 0, NULL,
	  "Worker crashes on one message before it goes to the DLQ without "
	  "running the handler again.", NULL },

	{ "publish_chunk_size", CONF_INT, OFF(publish_chunk_size),
	  NULL, 100, 0, 1, NOMAX, 0,
	  "Publishing",
	  "Events per chunk in batch publishing.", NULL },
	{ "max_concurrent_publishes", CONF_INT, OFF(max_concurrent_publishes),
	  NULL, 10, 0, 1, 65535, 0, NULL,
	  "Publishes awaiting a broker confirm at once (the confirm window).",
	  NULL },
	{ "publish_timeout", CONF_FLOAT, OFF(publish_timeout),
	  NULL, 0, 30.0, 0.1, 3600, 0, NULL,
	  "Seconds to wait for publisher confirms.", NULL },

	{ "enable_tracing", CONF_BOOL, OFF(enable_tracing),
	  NULL, 1, 0, NOMIN, NOMAX, 0,
	  "Tracing",
	  "Carry W3C traceparent/tracestate headers from consumed to published "
	  "events.", NULL },

	{ "workers", CONF_INT, OFF(workers),
	  NULL, 2, 0, 1, 128, 0,
	  "The service",
	  "Worker processes; each has its own connection.", NULL },
	{ "plugin_dir", CONF_STRING, OFF(plugin_dir),
	  PKGLIBDIR, 0, 0, NOMIN, NOMAX, CONF_NONEMPTY, NULL,
	  "Directory of handler plugins (*.so).", NULL },
	{ "status_socket", CONF_STRING, OFF(status_socket),
	  RUNSTATEDIR "/evbus/evbusd.sock", 0, 0, NOMIN, NOMAX, CONF_NONEMPTY,
	  NULL,
	  "Unix socket serving stats, health and metrics (evbusctl); its "
	  "directory must exist.", NULL },
	{ "status_socket_mode", CONF_MODE, OFF(status_socket_mode),
	  NULL, 0660, 0, NOMIN, NOMAX, 0, NULL,
	  "Permissions of the status socket, an octal string.", NULL },
	{ "pid_file", CONF_STRING, OFF(pid_file),
	  RUNSTATEDIR "/evbus/evbusd.pid", 0, 0, NOMIN, NOMAX, CONF_NONEMPTY,
	  NULL,
	  "PID file of the supervisor, when not in the foreground (-d); its "
	  "directory must exist.", NULL },
	{ "user", CONF_STRING_OPT, OFF(user),
	  NULL, 0, 0, NOMIN, NOMAX, 0, NULL,
	  "Drop privileges to this user (it must exist) after start-up; "
	  "unset: keep them.",
	  "\"evbus\"" },
	{ "group", CONF_STRING_OPT, OFF(group),
	  NULL, 0, 0, NOMIN, NOMAX, 0, NULL,
	  "Group to drop to (it must exist); unset: the user's primary group.",
	  "\"evbus\"" },
	{ "shutdown_timeout", CONF_FLOAT, OFF(shutdown_timeout),
	  NULL, 0, 30.0, 0, 3600, 0, NULL,
	  "Seconds workers get to finish their message on stop before "
	  "SIGKILL.", NULL },
	{ "syslog_facility", CONF_STRING, OFF(syslog_facility),
	  "daemon", 0, 0, NOMIN, NOMAX, CONF_NONEMPTY, NULL,
	  "Syslog facility when not in the foreground (daemon, user, "
	  "local0..local7, ...).", NULL },

	{ "http_listen", CONF_STRING_OPT, OFF(http_listen),
	  NULL, 0, 0, NOMIN, NOMAX, 0,
	  "Monitoring over HTTP",
	  "Serve GET /metrics (Prometheus text, or OpenMetrics when asked), "
	  "/healthz and /readyz on \"address:port\": an IP address "
	  "(127.0.0.1, [::1], 0.0.0.0 for every interface) or localhost; "
	  "\":9466\" or \"9466\" listen on 127.0.0.1; unset: no HTTP "
	  "listener.  Anyone who reaches it reads the metrics.",
	  "\"127.0.0.1:9466\"" },
};

const size_t conf_nkeys = sizeof(conf_keys) / sizeof(conf_keys[0]);
