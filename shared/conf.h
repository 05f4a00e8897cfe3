/*
 * conf.h: evbusd.conf (libconfig syntax) parsed into one typed struct.
 *
 * Every key is described once in a table (conf_table.c) with its type,
 * default, range and help text; the loader (conf.c, with the rules across
 * keys in conf_check.c), `evbusd -n`, the sample etc/evbusd.conf and the
 * README agree because they all come from that table.  Key names
 * are eventsource-py's RabbitMQEventBusConfig field names where one exists,
 * with the same defaults (wire spec 1.1), plus the service's own keys.
 *
 * (Named conf.h because config.h is autoconf's.)
 */
#ifndef EVBUS_CONF_H
#define EVBUS_CONF_H

#include <sys/types.h>

#include <stddef.h>
#include <stdio.h>

#include "url.h"
#include "retry.h"

#define EVBUS_EX_CONFIG		78	/* sysexits EX_CONFIG */
#define EVBUS_MAX_ROUTING_KEYS	64
#define EVBUS_MAX_URLS		16	/* broker addresses (cluster nodes) */
#define EVBUS_MAX_PARTITIONS	256	/* ordering = "aggregate" */
#define EVBUS_URL_MAX		1024	/* bytes of one URL as written */
#define EVBUS_NAME_MAX		255	/* AMQP short string */

/* Environment variable that supplies the broker password. */
#define EVBUS_PASSWORD_ENV	"EVBUS_PASSWORD"

enum evbus_exchange_type {
	EVBUS_EXCHANGE_TOPIC,
	EVBUS_EXCHANGE_DIRECT,
	EVBUS_EXCHANGE_FANOUT,
	EVBUS_EXCHANGE_HEADERS
};

struct evbus_config {
	char			*path;		/* file it came from, or NULL */

	/* Broker connection. */
	char			*rabbitmq_url;	/* as written (may hold a password);
						   a list's first */
	char			*rabbitmq_urls[EVBUS_MAX_URLS];	/* a list, as written */
	size_t			 nurls;		/* 0: rabbitmq_url alone */
	struct evbus_url	 urls[EVBUS_MAX_URLS];	/* parsed; env password */
	size_t			 nurl;		/* >= 1 once loaded */
	struct evbus_url	 url;		/* urls[0] */
	int			 heartbeat;	/* seconds, 0 disables */
	double			 connect_timeout;	/* seconds */
	double			 reconnect_delay;	/* first backoff step, seconds */
	double			 reconnect_max_delay;	/* backoff cap, seconds */

	/* TLS (used for amqps:// URLs). */
	char			*ca_file;	/* NULL: system trust store */
	char			*cert_file;	/* client certificate (mTLS) */
	char			*key_file;	/* client key (mTLS) */
	int			 verify_ssl;	/* peer and hostname verification */

	/* Topology (wire spec 2). */
	char			*exchange_name;
	char			*exchange_type_name;	/* as written */
	enum evbus_exchange_type exchange_type;
	char			*consumer_group;
	char			*routing_keys[EVBUS_MAX_ROUTING_KEYS];
	size_t			 nrouting_keys;	/* effective binding keys, >= 1 */
	int			 routing_key_set;	/* routing_key_pattern given */
	char			*queue_type_name;	/* as written */
	int			 quorum;	/* queue_type = "quorum" */
	int			 durable;
	int			 auto_delete;
	int			 enable_dlq;
	char			*dlq_exchange_suffix;
	long long		 dlq_message_ttl;	/* ms, -1 = unset */
	long long		 dlq_max_length;	/* -1 = unset */

	/* Derived names (wire spec 1.2). */
	char			*queue_name;		/* exchange.group */
	char			*dlq_exchange_name;	/* exchange + suffix */
	char			*dlq_queue_name;	/* queue.dlq */
	char			*partition_exchange_name;	/* queue.partitions */

	/* Consuming and retries. */
	char			*consumer_name;	/* workers are <name>-<i> */
	int			 prefetch_count;
	struct evbus_retry_policy retry;	/* max_retries, retry_* */
	double			 handler_timeout;	/* seconds, 0 = none */
	int			 max_crashes;	/* poison message threshold */
	char			*ordering_name;	/* as written */
	int			 ordered;	/* ordering = "aggregate" */
	int			 partitions;	/* partition queues when ordered */

	/* Publishing. */
	int			 publish_chunk_size;
	int			 max_concurrent_publishes;	/* confirm window */
	double			 publish_timeout;	/* seconds to wait for confirms */

	/* Tracing. */
	int			 enable_tracing;

	/* The service. */
	int			 workers;
	char			*plugin_dir;
	char			*status_socket;
	int			 status_socket_mode;
	char			*pid_file;
	char			*user;		/* NULL: do not drop privileges */
	char			*group;
	uid_t			 uid;		/* user's; -1: not looked up */
	gid_t			 gid;		/* group's, or user's; -1: none */
	double			 shutdown_timeout;
	char			*syslog_facility;
	int			 syslog_facility_code;	/* LOG_DAEMON, ... */
	char			*http_listen;	/* as written; NULL: no HTTP */
	char			 http_host[64];	/* numeric, without [] */
	int			 http_port;

	/* The libconfig tree, kept for handler sections (handlers.<name>). */
	void			*tree;
};

/* Collected problems: each "file:line: message". */
struct evbus_conf_errors {
	char			**msgs;
	size_t			  n;
};

/*
 * Checks against the host the file is loaded on, for the loaders' flags.
 * Without them a config is checked only in itself, which is all evbusctl
 * needs (it may run where the service's user does not exist); evbusd asks
 * for them so that a typo stops it before it forks anything.
 */
#define EVBUS_CONF_ACCOUNTS	0x01	/* user, group exist; set uid, gid */
#define EVBUS_CONF_DIRS		0x02	/* the directories of status_socket
					   and pid_file exist, if set */

/* A config holding every default (no file read). Never fails. */
struct evbus_config *evbus_config_defaults(void);

/*
 * Load path over the defaults.  Returns the config, or NULL with every
 * problem found appended to errs (unknown key, wrong type, out of range,
 * bad URL, unsafe file mode, rules across keys, ...), in line order, each
 * "file:line: msg" (or "file: msg" when no line applies); errs may be
 * NULL.  Reading the password from the environment also happens here.
 * Paths (plugin_dir, TLS files) are not looked up: that is for the
 * caller; user, group and the run directories only with the flags above
 * (evbus_config_load: none of them).
 */
struct evbus_config *evbus_config_load(const char *path,
	    struct evbus_conf_errors *errs);
struct evbus_config *evbus_config_load_flags(const char *path, int flags,
	    struct evbus_conf_errors *errs);

/* The same from a string (tests); name is used in messages. */
struct evbus_config *evbus_config_load_string(const char *text,
	    const char *name, struct evbus_conf_errors *errs);
struct evbus_config *evbus_config_load_string_flags(const char *text,
	    const char *name, int flags, struct evbus_conf_errors *errs);

void	 evbus_config_free(struct evbus_config *);
void	 evbus_conf_errors_clear(struct evbus_conf_errors *);

/*
 * The libconfig setting of handlers.<name>, or NULL when the file has no
 * such section.  Returned as void * so users need not include libconfig.
 */
void	*evbus_config_handler_section(const struct evbus_config *,
	    const char *name);

/* Write a commented sample with every key and its default to fp. */
void	 evbus_config_write_sample(FILE *fp);

const char *evbus_exchange_type_str(enum evbus_exchange_type);

#endif
