/*
 * test_config.c: shared/conf.c, the evbusd.conf loader.
 *
 * Tables of config texts and what they must produce: fields and derived
 * names for valid input, "file:line: message" errors for invalid input.
 * File tests (modes, the password rule, @include) use mkstemp/mkdtemp
 * files that each test removes.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <libconfig.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "cu.h"

/* 250 characters: a group name that leaves no room for suffixes. */
#define G50	"ggggggggggggggggggggggggggggggggggggggggggggggggg" "g"
#define G250	G50 G50 G50 G50 G50
#define NAME	"t.conf"	/* file name in messages of string loads */

enum vtype {
	V_INT,		/* int */
	V_LL,		/* long long */
	V_DBL,		/* double */
	V_STR,		/* char *, NULL allowed */
	V_CHARS		/* char array (struct evbus_url fields) */
};

/* One field of struct evbus_config and the value it must hold. */
struct expect {
	const char	*field;
	enum vtype	 type;
	size_t		 off;
	long long	 i;
	double		 d;
	const char	*s;
};

#define OFF(f)		offsetof(struct evbus_config, f)
#define E_INT(f, v)	{ #f, V_INT, OFF(f), (v), 0, NULL }
#define E_LL(f, v)	{ #f, V_LL, OFF(f), (v), 0, NULL }
#define E_DBL(f, v)	{ #f, V_DBL, OFF(f), 0, (v), NULL }
#define E_STR(f, v)	{ #f, V_STR, OFF(f), 0, 0, (v) }
#define E_CHARS(f, v)	{ #f, V_CHARS, OFF(f), 0, 0, (v) }
#define E_END		{ NULL, V_INT, 0, 0, 0, NULL }

/* Every default, as the wire spec and the brief give them. */
static const struct expect defaults[] = {
	E_STR(rabbitmq_url, "amqp://localhost:5672/"),
	E_INT(url.tls, 0),
	E_INT(url.has_user, 0),
	E_INT(url.has_password, 0),
	E_CHARS(url.user, "guest"),
	E_CHARS(url.password, "guest"),
	E_CHARS(url.host, "localhost"),
	E_INT(url.port, 5672),
	E_CHARS(url.vhost, "/"),
	E_INT(heartbeat, 60),
	E_DBL(connect_timeout, 10.0),
	E_DBL(reconnect_delay, 1.0),
	E_DBL(reconnect_max_delay, 30.0),
	E_STR(ca_file, NULL),
	E_STR(cert_file, NULL),
	E_STR(key_file, NULL),
	E_INT(verify_ssl, 1),
	E_STR(exchange_name, "events"),
	E_STR(exchange_type_name, "topic"),
	E_INT(exchange_type, EVBUS_EXCHANGE_TOPIC),
	E_STR(consumer_group, "default"),
	E_LL(nrouting_keys, 1),
	E_STR(routing_keys[0], "#"),
	E_INT(routing_key_set, 0),
	E_INT(durable, 1),
	E_INT(auto_delete, 0),
	E_INT(enable_dlq, 1),
	E_STR(dlq_exchange_suffix, "_dlq"),
	E_LL(dlq_message_ttl, -1),
	E_LL(dlq_max_length, -1),
	E_STR(queue_name, "events.default"),
	E_STR(dlq_exchange_name, "events_dlq"),
	E_STR(dlq_queue_name, "events.default.dlq"),
	E_INT(prefetch_count, 10),
	E_INT(retry.max_retries, 3),
	E_DBL(retry.base_delay, 1.0),
	E_DBL(retry.max_delay, 60.0),
	E_DBL(retry.jitter, 0.1),
	E_DBL(handler_timeout, 30.0),
	E_INT(max_crashes, 3),
	E_INT(publish_chunk_size, 100),
	E_INT(max_concurrent_publishes, 10),
	E_DBL(publish_timeout, 30.0),
	E_INT(enable_tracing, 1),
	E_INT(workers, 2),
	E_STR(plugin_dir, PKGLIBDIR),
	E_STR(status_socket, RUNSTATEDIR "/evbus/evbusd.sock"),
	E_INT(status_socket_mode, 0660),
	E_STR(pid_file, RUNSTATEDIR "/evbus/evbusd.pid"),
	E_STR(user, NULL),
	E_STR(group, NULL),
	E_DBL(shutdown_timeout, 30.0),
	E_STR(syslog_facility, "daemon"),
	E_INT(syslog_facility_code, LOG_DAEMON),
	E_STR(http_listen, NULL),
	E_CHARS(http_host, ""),
	E_INT(http_port, 0),
	E_END
};

/* Compare one field; on a mismatch say which case, expected and actual. */
static void
check_field(const char *what, const struct evbus_config *cfg,
    const struct expect *e)
{
	const char	*p = (const char *)cfg + e->off;
	const char	*s;
	int		 iv;
	long long	 llv;
	double		 dv;

	switch (e->type) {
	case V_INT:
		memcpy(&iv, p, sizeof(iv));
		cu_checkf(iv == e->i, "%s: %s: expected %lld, got %d", what,
		    e->field, e->i, iv);
		break;
	case V_LL:
		if (strcmp(e->field, "nrouting_keys") == 0) {
			llv = (long long)cfg->nrouting_keys;
		} else
			memcpy(&llv, p, sizeof(llv));
		cu_checkf(llv == e->i, "%s: %s: expected %lld, got %lld", what,
		    e->field, e->i, llv);
		break;
	case V_DBL:
		memcpy(&dv, p, sizeof(dv));
		cu_checkf(dv == e->d, "%s: %s: expected %g, got %g", what,
		    e->field, e->d, dv);
		break;
	case V_STR:
		memcpy(&s, p, sizeof(s));
		if (e->s == NULL || s == NULL)
			cu_checkf(s == e->s, "%s: %s: expected %s%s%s, got "
			    "%s%s%s", what, e->field, e->s ? "\"" : "",
			    e->s ? e->s : "NULL", e->s ? "\"" : "",
			    s ? "\"" : "", s ? s : "NULL", s ? "\"" : "");
		else
			cu_checkf(strcmp(s, e->s) == 0, "%s: %s: expected "
			    "\"%s\", got \"%s\"", what, e->field, e->s, s);
		break;
	case V_CHARS:
		cu_checkf(strcmp(p, e->s) == 0, "%s: %s: expected \"%s\", got "
		    "\"%s\"", what, e->field, e->s, p);
		break;
	}
}

static void
check_fields(const char *what, const struct evbus_config *cfg,
    const struct expect *e)
{
	for (; e->field != NULL; e++)
		check_field(what, cfg, e);
}

/* Print the errors of a load that should have succeeded. */
static void
report_errors(const char *what, const struct evbus_conf_errors *errs)
{
	size_t	 i;

	if (errs->n == 0)
		cu_failf("%s: load failed without an error message", what);
	for (i = 0; i < errs->n; i++)
		cu_failf("%s: unexpected error: %s", what, errs->msgs[i]);
}

/* Load text that must be valid; NULL (with the failure recorded) if not. */
static struct evbus_config *
load_ok(const char *what, const char *text)
{
	struct evbus_conf_errors	 errs = { NULL, 0 };
	struct evbus_config		*cfg;

	cfg = evbus_config_load_string(text, NAME, &errs);
	cu_checkf(cfg != NULL, "%s: expected the config to load", what);
	if (cfg == NULL)
		report_errors(what, &errs);
	else
		cu_checkf(errs.n == 0, "%s: loaded with %zu errors", what,
		    errs.n);
	evbus_conf_errors_clear(&errs);
	return cfg;
}

static char *
hostname(void)
{
	static char	 host[256];

	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		strlcpy(host, "evbus", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	return host;
}

static void
test_defaults(void)
{
	struct evbus_config	*cfg;

	cfg = evbus_config_defaults();
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	check_fields("defaults", cfg, defaults);
	cu_checkf(strcmp(cfg->consumer_name, hostname()) == 0,
	    "defaults: consumer_name: expected \"%s\", got \"%s\"",
	    hostname(), cfg->consumer_name);
	CU_ASSERT_PTR_NULL(cfg->path);
	CU_ASSERT_PTR_NULL(cfg->tree);
	evbus_config_free(cfg);

	/* An empty file and a file of comments mean the defaults. */
	if ((cfg = load_ok("empty file", "")) != NULL) {
		check_fields("empty file", cfg, defaults);
		evbus_config_free(cfg);
	}
	if ((cfg = load_ok("comments", "# nothing\n// here\n/* at all */\n"))
	    != NULL) {
		check_fields("comments", cfg, defaults);
		evbus_config_free(cfg);
	}
}

/* One valid config text and some of the fields it must set. */
struct parse_case {
	const char	*text;
	struct expect	 e[4];
};

static const struct parse_case parse_cases[] = {
	{ "rabbitmq_url = \"amqps://bob@mq.example.com/prod\";",
	  { E_INT(url.tls, 1), E_INT(url.port, 5671),
	    E_CHARS(url.host, "mq.example.com"), E_CHARS(url.vhost, "prod") } },
	{ "rabbitmq_url = \"amqp://bob@mq:5673/\";",
	  { E_CHARS(url.user, "bob"), E_INT(url.has_password, 0),
	    E_INT(url.port, 5673), E_END } },
	{ "heartbeat = 0;", { E_INT(heartbeat, 0), E_END } },
	{ "heartbeat = 65535L;", { E_INT(heartbeat, 65535), E_END } },
	{ "heartbeat : 15", { E_INT(heartbeat, 15), E_END } },
	{ "connect_timeout = 5;", { E_DBL(connect_timeout, 5.0), E_END } },
	{ "connect_timeout = 2.5;", { E_DBL(connect_timeout, 2.5), E_END } },
	{ "reconnect_delay = 2; reconnect_max_delay = 120.0;",
	  { E_DBL(reconnect_delay, 2.0), E_DBL(reconnect_max_delay, 120.0),
	    E_END } },
	{ "verify_ssl = false;", { E_INT(verify_ssl, 0), E_END } },
	/* TLS files need an amqps:// URL, before or after them. */
	{ "rabbitmq_url = \"amqps://mq/\"; ca_file = \"/etc/ssl/ca.pem\";",
	  { E_STR(ca_file, "/etc/ssl/ca.pem"), E_INT(url.tls, 1), E_END } },
	{ "ca_file = \"/etc/ssl/ca.pem\"; rabbitmq_url = \"amqps://mq/\";",
	  { E_STR(ca_file, "/etc/ssl/ca.pem"), E_INT(url.tls, 1), E_END } },
	{ "ca_file = \"\";", { E_STR(ca_file, NULL), E_END } },
	{ "cert_file = \"/c.pem\"; key_file = \"/k.pem\";\n"
	  "rabbitmq_url = \"amqps://mq/\";",
	  { E_STR(cert_file, "/c.pem"), E_STR(key_file, "/k.pem"), E_END } },
	{ "exchange_name = \"orders\";",
	  { E_STR(exchange_name, "orders"), E_STR(queue_name, "orders.default"),
	    E_STR(dlq_exchange_name, "orders_dlq"),
	    E_STR(dlq_queue_name, "orders.default.dlq") } },
	{ "exchange_type = \"DIRECT\";",
	  { E_INT(exchange_type, EVBUS_EXCHANGE_DIRECT),
	    E_STR(exchange_type_name, "DIRECT"), E_END } },
	{ "exchange_type = \"Fanout\";",
	  { E_INT(exchange_type, EVBUS_EXCHANGE_FANOUT), E_END } },
	{ "exchange_type = \"headers\";",
	  { E_INT(exchange_type, EVBUS_EXCHANGE_HEADERS), E_END } },
	{ "consumer_group = \"billing\";",
	  { E_STR(queue_name, "events.billing"),
	    E_STR(dlq_queue_name, "events.billing.dlq"), E_END } },
	{ "consumer_group = \"\";",
	  { E_STR(queue_name, "events."), E_END } },
	{ "exchange_name = \"  spaced  \"; consumer_group = \"  also  \";",
	  { E_STR(queue_name, "  spaced  .  also  "), E_END } },
	{ "durable = false; auto_delete = true;",
	  { E_INT(durable, 0), E_INT(auto_delete, 1), E_END } },
	{ "enable_dlq = false;", { E_INT(enable_dlq, 0), E_END } },
	{ "dlq_exchange_suffix = \".dead\";",
	  { E_STR(dlq_exchange_name, "events.dead"), E_END } },
	{ "dlq_exchange_suffix = \"\";",
	  { E_STR(dlq_exchange_name, "events"), E_END } },
	{ "dlq_message_ttl = 0;", { E_LL(dlq_message_ttl, 0), E_END } },
	{ "dlq_message_ttl = 86400000;",
	  { E_LL(dlq_message_ttl, 86400000), E_END } },
	{ "dlq_message_ttl = 5000000000L;",
	  { E_LL(dlq_message_ttl, 5000000000LL), E_END } },
	/* libconfig 1.5 wraps this one to 705032704; conf.c repairs it. */
	{ "dlq_message_ttl = 5000000000;",
	  { E_LL(dlq_message_ttl, 5000000000LL), E_END } },
	{ "dlq_max_length = 1000;", { E_LL(dlq_max_length, 1000), E_END } },
	{ "consumer_name = \"node-a\";",
	  { E_STR(consumer_name, "node-a"), E_END } },
	{ "prefetch_count = 1;", { E_INT(prefetch_count, 1), E_END } },
	{ "prefetch_count = 65535;", { E_INT(prefetch_count, 65535), E_END } },
	{ "prefetch_count = 0x20;", { E_INT(prefetch_count, 32), E_END } },
	{ "max_retries = 0;", { E_INT(retry.max_retries, 0), E_END } },
	{ "retry_base_delay = 0.5; retry_max_delay = 10; retry_jitter = 0;",
	  { E_DBL(retry.base_delay, 0.5), E_DBL(retry.max_delay, 10.0),
	    E_DBL(retry.jitter, 0.0), E_END } },
	{ "retry_jitter = 1.0;", { E_DBL(retry.jitter, 1.0), E_END } },
	{ "handler_timeout = 0;", { E_DBL(handler_timeout, 0.0), E_END } },
	{ "max_crashes = 1;", { E_INT(max_crashes, 1), E_END } },
	{ "publish_chunk_size = 1; max_concurrent_publishes = 100;",
	  { E_INT(publish_chunk_size, 1), E_INT(max_concurrent_publishes, 100),
	    E_END } },
	{ "publish_timeout = 5;", { E_DBL(publish_timeout, 5.0), E_END } },
	{ "enable_tracing = false;", { E_INT(enable_tracing, 0), E_END } },
	{ "workers = 1;", { E_INT(workers, 1), E_END } },
	{ "workers = 128;", { E_INT(workers, 128), E_END } },
	{ "plugin_dir = \"/nonexistent/evbus/plugins\";",
	  { E_STR(plugin_dir, "/nonexistent/evbus/plugins"), E_END } },
	{ "status_socket = \"/tmp/e.sock\"; status_socket_mode = \"0600\";",
	  { E_STR(status_socket, "/tmp/e.sock"), E_INT(status_socket_mode, 0600),
	    E_END } },
	{ "status_socket_mode = \"660\";",
	  { E_INT(status_socket_mode, 0660), E_END } },
	{ "status_socket_mode = \"0\";",
	  { E_INT(status_socket_mode, 0), E_END } },
	{ "pid_file = \"/tmp/e.pid\";", { E_STR(pid_file, "/tmp/e.pid"), E_END } },
	{ "user = \"evbus\"; group = \"adm\";",
	  { E_STR(user, "evbus"), E_STR(group, "adm"), E_END } },
	{ "user = \"\";", { E_STR(user, NULL), E_END } },
	{ "shutdown_timeout = 0;", { E_DBL(shutdown_timeout, 0.0), E_END } },
	{ "syslog_facility = \"local3\";",
	  { E_STR(syslog_facility, "local3"),
	    E_INT(syslog_facility_code, LOG_LOCAL3), E_END } },
	{ "syslog_facility = \"USER\";",
	  { E_INT(syslog_facility_code, LOG_USER), E_END } },
	/* http_listen: loopback unless an address says otherwise. */
	{ "http_listen = \"127.0.0.1:9466\";",
	  { E_STR(http_listen, "127.0.0.1:9466"),
	    E_CHARS(http_host, "127.0.0.1"), E_INT(http_port, 9466), E_END } },
	{ "http_listen = \"9466\";",
	  { E_CHARS(http_host, "127.0.0.1"), E_INT(http_port, 9466), E_END } },
	{ "http_listen = \":9100\";",
	  { E_CHARS(http_host, "127.0.0.1"), E_INT(http_port, 9100), E_END } },
	{ "http_listen = \"localhost:80\";",
	  { E_CHARS(http_host, "127.0.0.1"), E_INT(http_port, 80), E_END } },
	{ "http_listen = \"0.0.0.0:65535\";",
	  { E_CHARS(http_host, "0.0.0.0"), E_INT(http_port, 65535), E_END } },
	{ "http_listen = \"[::1]:9466\";",
	  { E_CHARS(http_host, "::1"), E_INT(http_port, 9466), E_END } },
	{ "http_listen = \"[::]:1\";",
	  { E_CHARS(http_host, "::"), E_INT(http_port, 1), E_END } },
	{ "http_listen = \"\";",
	  { E_STR(http_listen, NULL), E_INT(http_port, 0), E_END } },
	{ "handlers = { inventory = { anything = 1; nested = { x = [1, 2]; }; "
	  "}; empty = { }; };",
	  { E_INT(prefetch_count, 10), E_END } },
	{ NULL, { E_END } }
};

static void
test_parse_types(void)
{
	const struct parse_case	*c;
	struct evbus_config	*cfg;
	char			 what[128];

	for (c = parse_cases; c->text != NULL; c++) {
		snprintf(what, sizeof(what), "[%s]", c->text);
		if ((cfg = load_ok(what, c->text)) == NULL)
			continue;
		check_fields(what, cfg, c->e);
		evbus_config_free(cfg);
	}
}

/* Binding keys and names per exchange type (wire spec 1.2). */
struct route_case {
	const char	*text;
	int		 set;		/* routing_key_set */
	size_t		 n;
	const char	*keys[3];
	const char	*queue;
};

static const struct route_case route_cases[] = {
	{ "", 0, 1, { "#" }, "events.default" },
	{ "exchange_type = \"topic\";", 0, 1, { "#" }, "events.default" },
	{ "exchange_type = \"Topic\";", 0, 1, { "#" }, "events.default" },
	{ "exchange_type = \"direct\";", 0, 1, { "events.default" },
	  "events.default" },
	{ "exchange_type = \"direct\"; exchange_name = \"x\"; "
	  "consumer_group = \"g\";", 0, 1, { "x.g" }, "x.g" },
	{ "exchange_type = \"fanout\";", 0, 1, { "" }, "events.default" },
	{ "exchange_type = \"headers\";", 0, 1, { "" }, "events.default" },
	{ "routing_key_pattern = \"\";", 1, 1, { "" }, "events.default" },
	{ "routing_key_pattern = \"order.*\";", 1, 1, { "order.*" },
	  "events.default" },
	{ "exchange_type = \"direct\"; routing_key_pattern = \"k\";", 1, 1,
	  { "k" }, "events.default" },
	{ "routing_key_pattern = [\"a.*\", \"b.#\"];", 1, 2, { "a.*", "b.#" },
	  "events.default" },
	{ "routing_key_pattern = (\"a\", \"b\", \"c\");", 1, 3,
	  { "a", "b", "c" }, "events.default" },
	{ NULL, 0, 0, { NULL }, NULL }
};

static void
test_routing(void)
{
	const struct route_case	*c;
	struct evbus_config	*cfg;
	char			 what[160];
	size_t			 i;

	for (c = route_cases; c->text != NULL; c++) {
		snprintf(what, sizeof(what), "[%s]", c->text);
		if ((cfg = load_ok(what, c->text)) == NULL)
			continue;
		cu_checkf(cfg->routing_key_set == c->set, "%s: routing_key_set:"
		    " expected %d, got %d", what, c->set, cfg->routing_key_set);
		cu_checkf(cfg->nrouting_keys == c->n, "%s: expected %zu keys, "
		    "got %zu", what, c->n, cfg->nrouting_keys);
		for (i = 0; i < c->n && i < cfg->nrouting_keys; i++)
			cu_checkf(strcmp(cfg->routing_keys[i], c->keys[i]) == 0,
			    "%s: key %zu: expected \"%s\", got \"%s\"", what,
			    i, c->keys[i], cfg->routing_keys[i]);
		cu_checkf(strcmp(cfg->queue_name, c->queue) == 0, "%s: queue: "
		    "expected \"%s\", got \"%s\"", what, c->queue,
		    cfg->queue_name);
		evbus_config_free(cfg);
	}
}

/*
 * Text that must be refused, and the errors it must produce: the count,
 * a substring of each message in order, and text that no message may
 * contain (a password).
 */
struct fail_case {
	const char	*text;
	size_t		 n;
	const char	*msgs[4];
	const char	*absent;
};

static const struct fail_case fail_cases[] = {
	/* Unknown keys. */
	{ "prefetch = 5;", 1,
	  { NAME ":1: unknown key \"prefetch\"" }, "did you mean" },
	{ "\n\nprefech_count = 5;", 1,
	  { NAME ":3: unknown key \"prefech_count\" (did you mean "
	    "\"prefetch_count\"?)" }, NULL },
	{ "rabbitmq = { url = \"amqp://x/\"; };", 1,
	  { NAME ":1: unknown key \"rabbitmq\"" }, NULL },
	{ "handlers = 5;", 1,
	  { NAME ":1: handlers: expected a group of handler sections" },
	  NULL },
	{ "handlers = {\n\tinventory = { a = 1; };\n\toops = 5;\n};", 1,
	  { NAME ":3: handlers.oops: expected a group (handlers.oops = "
	    "{ ... }), got an integer" }, NULL },

	/* Wrong types. */
	{ "prefetch_count = \"10\";", 1,
	  { NAME ":1: prefetch_count: expected an integer, got a string" },
	  NULL },
	{ "prefetch_count = 1.5;", 1,
	  { "prefetch_count: expected an integer, got a floating-point "
	    "number" }, NULL },
	{ "prefetch_count = { a = 1; };", 1,
	  { "prefetch_count: expected an integer, got a group" }, NULL },
	{ "durable = 1;", 1,
	  { NAME ":1: durable: expected a boolean (true or false), got an "
	    "integer" }, NULL },
	{ "exchange_name = 5;", 1,
	  { "exchange_name: expected a string, got an integer" }, NULL },
	{ "ca_file = true;", 1,
	  { "ca_file: expected a string, got a boolean" }, NULL },
	{ "reconnect_delay = \"1\";", 1,
	  { "reconnect_delay: expected a number, got a string" }, NULL },
	{ "dlq_message_ttl = 1.0;", 1,
	  { "dlq_message_ttl: expected an integer, got a floating-point "
	    "number" }, NULL },
	{ "routing_key_pattern = 5;", 1,
	  { "routing_key_pattern: expected a string or a list of strings, "
	    "got an integer" }, NULL },
	{ "routing_key_pattern = (\"a\",\n 5);", 1,
	  { NAME ":2: routing_key_pattern[1]: expected a string, got an "
	    "integer" }, NULL },
	{ "routing_key_pattern = [];", 1,
	  { "routing_key_pattern: the list is empty" }, NULL },
	{ "status_socket_mode = 0660;", 1,
	  { "status_socket_mode: write the mode as an octal string such as "
	    "\"0660\"" }, NULL },
	{ "status_socket_mode = \"0999\";", 1,
	  { "status_socket_mode: \"0999\" is not an octal file mode" }, NULL },
	{ "status_socket_mode = \"01777\";", 1,
	  { "status_socket_mode: \"01777\" is not an octal file mode" }, NULL },
	{ "status_socket_mode = \"\";", 1,
	  { "status_socket_mode: \"\" is not an octal file mode" }, NULL },

	/* Out of range. */
	{ "prefetch_count = 0;", 1,
	  { NAME ":1: prefetch_count: 0 is out of range (1..65535)" }, NULL },
	{ "prefetch_count = 65536;", 1,
	  { "prefetch_count: 65536 is out of range (1..65535)" }, NULL },
	{ "prefetch_count = 5000000000;", 1,
	  { "prefetch_count: 5000000000 is out of range (1..65535)" }, NULL },
	{ "heartbeat = -1;", 1,
	  { "heartbeat: -1 is out of range (0..65535)" }, NULL },
	{ "workers = 0;", 1, { "workers: 0 is out of range (1..128)" }, NULL },
	{ "workers = 129;", 1,
	  { "workers: 129 is out of range (1..128)" }, NULL },
	{ "max_retries = -1;", 1,
	  { "max_retries: -1 is out of range (>= 0)" }, NULL },
	{ "max_crashes = 0;", 1,
	  { "max_crashes: 0 is out of range (>= 1)" }, NULL },
	{ "publish_chunk_size = 0;", 1,
	  { "publish_chunk_size: 0 is out of range (>= 1)" }, NULL },
	{ "publish_chunk_size = 3000000000L;", 1,
	  { "publish_chunk_size: 3000000000 is too large (at most "
	    "2147483647)" }, NULL },
	{ "max_concurrent_publishes = 0;", 1,
	  { "max_concurrent_publishes: 0 is out of range (1..65535)" }, NULL },
	{ "dlq_message_ttl = -1;", 1,
	  { "dlq_message_ttl: -1 is out of range (>= 0)" }, NULL },
	{ "dlq_max_length = -5;", 1,
	  { "dlq_max_length: -5 is out of range (>= 0)" }, NULL },
	{ "dlq_max_length = 99999999999999999999999;", 1,
	  { "dlq_max_length: number too large" }, NULL },
	{ "connect_timeout = 0;", 1,
	  { "connect_timeout: 0 is out of range (0.1..3600)" }, NULL },
	{ "handler_timeout = -1.5;", 1,
	  { "handler_timeout: -1.5 is out of range (0..86400)" }, NULL },
	{ "retry_max_delay = 100000;", 1,
	  { "retry_max_delay: 100000 is out of range (<= 86400)" }, NULL },

	/* Values that are never right. */
	{ "exchange_name = \"\";", 1,
	  { "exchange_name: must not be empty" }, NULL },
	{ "consumer_name = \"\";", 1,
	  { "consumer_name: must not be empty" }, NULL },
	{ "plugin_dir = \"\";", 1, { "plugin_dir: must not be empty" }, NULL },
	{ "exchange_name = \"amq.topic\";", 1,
	  { "exchange_name: \"amq.topic\": names beginning with \"amq.\" are "
	    "reserved" }, NULL },
	{ "\nexchange_type = \"x-delayed-message\";", 1,
	  { NAME ":2: exchange_type: \"x-delayed-message\" is not one of "
	    "topic, direct, fanout, headers" }, NULL },
	{ "syslog_facility = \"bogus\";", 1,
	  { "syslog_facility: \"bogus\" is not a syslog facility" }, NULL },
	{ "\nhttp_listen = \"metrics.example.com:9466\";", 1,
	  { NAME ":2: http_listen: \"metrics.example.com:9466\": "
	    "\"metrics.example.com\" is not an IP address" }, NULL },
	{ "http_listen = \"127.0.0.1\";", 1,
	  { NAME ":1: http_listen: \"127.0.0.1\": no port" }, NULL },
	{ "http_listen = \"127.0.0.1:\";", 1,
	  { "http_listen: \"127.0.0.1:\": no port" }, NULL },
	{ "http_listen = \"127.0.0.1:0\";", 1,
	  { "http_listen: \"127.0.0.1:0\": port 0 is too small" }, NULL },
	{ "http_listen = \"127.0.0.1:65536\";", 1,
	  { "http_listen: \"127.0.0.1:65536\": port 65536 is too large" },
	  NULL },
	{ "http_listen = \"127.0.0.1:http\";", 1,
	  { "http_listen: \"127.0.0.1:http\": port http is invalid" }, NULL },
	{ "http_listen = \"::1:9466\";", 1,
	  { "http_listen: \"::1:9466\": put an IPv6 address in brackets" },
	  NULL },
	{ "http_listen = \"[::1:9466\";", 1,
	  { "http_listen: \"[::1:9466\": an IPv6 address is written "
	    "[address]:port" }, NULL },
	{ "http_listen = \"[127.0.0.1]:9466\";", 1,
	  { "\"127.0.0.1\" is not an IP address" }, NULL },
	{ "http_listen = \"300.1.1.1:9466\";", 1,
	  { "\"300.1.1.1\" is not an IP address" }, NULL },
	{ "http_listen = 9466;", 1,
	  { "http_listen: expected a string, got an integer" }, NULL },

	/* URLs; the password never shows. */
	{ "rabbitmq_url = \"http://localhost/\";", 1,
	  { NAME ":1: rabbitmq_url: \"http://localhost/\": " }, NULL },
	{ "rabbitmq_url = \"amqp://u:s3cret@host:99999/\";", 1,
	  { NAME ":1: rabbitmq_url: " }, "s3cret" },
	{ "rabbitmq_url = \"\";", 1,
	  { "rabbitmq_url: must not be empty" }, NULL },
	/* A cluster's nodes: each checked, by its place in the list. */
	{ "rabbitmq_url = [\"amqp://a/\", \"http://b/\"];", 1,
	  { NAME ":1: rabbitmq_url[1]: \"http://b/\": " }, NULL },
	{ "rabbitmq_url = [\"amqp://a/\", \"amqp://u:pw9@b:99999/\"];", 1,
	  { NAME ":1: rabbitmq_url[1]: " }, "pw9" },
	{ "rabbitmq_url = [\"amqp://a/\", \"amqps://b/\"];", 1,
	  { NAME ":1: rabbitmq_url[1]: amqps:// among amqp:// URLs: use one "
	    "scheme for every node" }, NULL },
	{ "rabbitmq_url = [];", 1,
	  { NAME ":1: rabbitmq_url: the list is empty; leave the key out for "
	    "the default broker" }, NULL },
	{ "rabbitmq_url = (\"amqp://a/\", 5);", 1,
	  { NAME ":1: rabbitmq_url[1]: expected a string, got " }, NULL },
	{ "rabbitmq_url = [\"amqp://a/\", \"\"];", 1,
	  { NAME ":1: rabbitmq_url[1]: must not be empty" }, NULL },
	/* Queue types. */
	{ "queue_type = \"stream\";", 1,
	  { NAME ":1: queue_type: \"stream\" is not classic or quorum" },
	  NULL },
	{ "queue_type = \"quorum\";\ndurable = false;", 1,
	  { NAME ":2: durable = false with queue_type = \"quorum\": quorum "
	    "queues are always durable" }, NULL },
	{ "queue_type = \"quorum\";\nauto_delete = true;", 1,
	  { NAME ":2: auto_delete = true with queue_type = \"quorum\": "
	    "quorum queues cannot be auto-deleted" }, NULL },
	/* Ordered partitions. */
	{ "ordering = \"sideways\";", 1,
	  { NAME ":1: ordering: \"sideways\" is not none or aggregate" },
	  NULL },
	{ "ordering = \"aggregate\";\npartitions = 0;", 1,
	  { NAME ":2: partitions: 0 is out of range (1..256)" }, NULL },
	{ "partitions = 257;", 1,
	  { NAME ":1: partitions: 257 is out of range (1..256)" }, NULL },
	{ "ordering = \"aggregate\";\nexchange_name = \"e\";\n"
	  "consumer_group = \"" G250 "\";\nenable_dlq = false;\n"
	  "partitions = 10;", 1,
	  { NAME ":3: partition exchange name (queue name + \".partitions\") "
	    "\"e." }, NULL },

	/* TLS files come in pairs. */
	{ "rabbitmq_url = \"amqps://mq/\";\ncert_file = \"/c.pem\";", 1,
	  { NAME ":2: cert_file is set but key_file is not" }, NULL },
	{ "\nkey_file = \"/k.pem\";\nrabbitmq_url = \"amqps://mq/\";", 1,
	  { NAME ":2: key_file is set but cert_file is not" }, NULL },
	{ "cert_file = \"/c.pem\";", 2,
	  { NAME ":1: cert_file is set but key_file is not",
	    NAME ":1: TLS files (cert_file) are set but rabbitmq_url is "
	    "amqp://" }, NULL },

	/*
	 * TLS files with a plaintext URL, at the line of the first TLS key,
	 * whichever comes first in the file (the check once ran before the
	 * URL was parsed and never fired).
	 */
	{ "rabbitmq_url = \"amqp://mq/\";\n\nca_file = \"/ca.pem\";", 1,
	  { NAME ":3: TLS files (ca_file) are set but rabbitmq_url (line 1) "
	    "is amqp://, plaintext" }, NULL },
	{ "ca_file = \"/ca.pem\";\nrabbitmq_url = \"amqp://mq/\";", 1,
	  { NAME ":1: TLS files (ca_file) are set but rabbitmq_url (line 2) "
	    "is amqp://, plaintext" }, NULL },
	{ "workers = 1;\nca_file = \"/ca.pem\";", 1,
	  { NAME ":2: TLS files (ca_file) are set but rabbitmq_url is "
	    "amqp://, plaintext" }, NULL },
	{ "rabbitmq_url = \"amqp://u:s3cret@mq/\";\nkey_file = \"/k\";\n"
	  "cert_file = \"/c\";", 1,
	  { NAME ":2: TLS files (cert_file, key_file) are set but "
	    "rabbitmq_url (line 1) is amqp://" }, "s3cret" },
	{ "key_file = \"/k\";\ncert_file = \"/c\";\nca_file = \"/ca\";\n"
	  "rabbitmq_url = \"amqp://mq/\";", 1,
	  { NAME ":1: TLS files (ca_file, cert_file, key_file) are set but "
	    "rabbitmq_url (line 4) is amqp://" }, NULL },

	/* The retry policy, with retry.c's messages. */
	{ "retry_base_delay = 0;", 1,
	  { NAME ":1: retry policy: base_delay must be > 0, got 0" }, NULL },
	{ "retry_base_delay = -2;", 1,
	  { "retry policy: base_delay must be > 0, got -2" }, NULL },
	{ "retry_max_delay = 0;", 1,
	  { "retry policy: max_delay must be > 0, got 0" }, NULL },
	{ "retry_base_delay = 2;\nretry_max_delay = 0.5;", 1,
	  { NAME ":2: retry policy: max_delay must be >= base_delay, got "
	    "0.5 < 2" }, NULL },
	{ "retry_jitter = 1.5;", 1,
	  { "retry policy: jitter must be between 0.0 and 1.0, got 1.5" },
	  NULL },
	{ "retry_jitter = -0.1;", 1,
	  { "retry policy: jitter must be between 0.0 and 1.0, got -0.1" },
	  NULL },
	{ "reconnect_delay = 10; reconnect_max_delay = 5;", 1,
	  { "reconnect_max_delay 5 is less than reconnect_delay 10" }, NULL },

	/* libconfig's own errors: file and line. */
	{ "workers = 1;\nprefetch_count = ;\n", 1,
	  { NAME ":2: syntax error" }, NULL },
	{ "workers = 1;\n\nworkers = 2;\n", 1,
	  { NAME ":3: duplicate setting name" }, NULL },
	{ "a = \"x\";\nrouting_key_pattern = [\"a\", 1];\n", 1,
	  { NAME ":2: mismatched element type in array" }, NULL },

	/* Several problems: all of them, each with its line. */
	{ "prefetch_count = 0;\nfoo = 1;\n\ndurable = \"yes\";\n"
	  "workers = 300;\n", 4,
	  { NAME ":1: prefetch_count: 0 is out of range",
	    NAME ":2: unknown key \"foo\"",
	    NAME ":4: durable: expected a boolean",
	    NAME ":5: workers: 300 is out of range" }, NULL },
	{ "exchange_type = \"nope\";\ncert_file = \"/c\";\n"
	  "retry_jitter = 2.0;\n", 4,
	  { NAME ":1: exchange_type", NAME ":2: cert_file",
	    NAME ":2: TLS files (cert_file)",
	    NAME ":3: retry policy: jitter" }, NULL },
	/* Found in different passes, reported in line order. */
	{ "cert_file = \"/c\";\nbogus = 1;\nrabbitmq_url = \"x://\";\n"
	  "workers = 0;\n", 4,
	  { NAME ":1: cert_file", NAME ":2: unknown key \"bogus\"",
	    NAME ":3: rabbitmq_url", NAME ":4: workers" }, NULL },
	{ NULL, 0, { NULL }, NULL }
};

/* Check errs against the expected messages of a failing case. */
static void
check_errors(const char *what, const struct evbus_conf_errors *errs,
    size_t n, const char *const *msgs, const char *absent)
{
	size_t	 i;

	cu_checkf(errs->n == n, "%s: expected %zu errors, got %zu", what, n,
	    errs->n);
	for (i = 0; i < errs->n; i++) {
		if (i < n && msgs[i] != NULL)
			cu_checkf(strstr(errs->msgs[i], msgs[i]) != NULL,
			    "%s: error %zu: expected \"%s...\", got \"%s\"",
			    what, i, msgs[i], errs->msgs[i]);
		if (i >= n)
			cu_failf("%s: unexpected error %zu: %s", what, i,
			    errs->msgs[i]);
		if (absent != NULL)
			cu_checkf(strstr(errs->msgs[i], absent) == NULL,
			    "%s: error %zu shows \"%s\": %s", what, i, absent,
			    errs->msgs[i]);
	}
}

static void
test_failures(void)
{
	const struct fail_case		*c;
	struct evbus_conf_errors	 errs = { NULL, 0 };
	struct evbus_config		*cfg;
	char				 what[160];

	for (c = fail_cases; c->text != NULL; c++) {
		snprintf(what, sizeof(what), "[%s]", c->text);
		cfg = evbus_config_load_string(c->text, NAME, &errs);
		cu_checkf(cfg == NULL, "%s: expected the config to be refused",
		    what);
		evbus_config_free(cfg);
		check_errors(what, &errs, c->n, c->msgs, c->absent);
		evbus_conf_errors_clear(&errs);
	}
}

/* Names too long for AMQP, and too many binding keys. */
static void
test_limits(void)
{
	struct evbus_conf_errors	 errs = { NULL, 0 };
	struct evbus_config		*cfg;
	char				 big[300], text[4096], *p;
	int				 i;

	memset(big, 'x', sizeof(big));

	/* 250 + ".default" > 255: the queue name does not fit. */
	snprintf(text, sizeof(text), "exchange_name = \"%.250s\";", big);
	cfg = evbus_config_load_string(text, NAME, &errs);
	CU_ASSERT_PTR_NULL(cfg);
	check_errors("long exchange", &errs, 1, (const char *[]){
	    NAME ":1: queue name (exchange_name.consumer_group)" }, NULL);
	evbus_conf_errors_clear(&errs);

	/* Exactly 255 bytes of queue name is fine without a DLQ. */
	snprintf(text, sizeof(text), "exchange_name = \"%.247s\";\n"
	    "enable_dlq = false;", big);
	if ((cfg = load_ok("255-byte queue name", text)) != NULL) {
		cu_checkf(strlen(cfg->queue_name) == 255, "255-byte queue name:"
		    " got %zu bytes", strlen(cfg->queue_name));
		evbus_config_free(cfg);
	}
	/* ... but its DLQ queue name is not. */
	snprintf(text, sizeof(text), "exchange_name = \"%.247s\";", big);
	cfg = evbus_config_load_string(text, NAME, &errs);
	CU_ASSERT_PTR_NULL(cfg);
	check_errors("255-byte queue name with DLQ", &errs, 1,
	    (const char *[]){ "DLQ queue name" }, NULL);
	evbus_conf_errors_clear(&errs);

	snprintf(text, sizeof(text), "exchange_name = \"%.256s\";", big);
	cfg = evbus_config_load_string(text, NAME, &errs);
	CU_ASSERT_PTR_NULL(cfg);
	check_errors("256-byte exchange", &errs, 1,
	    (const char *[]){ "exchange_name \"xxx" }, NULL);
	evbus_conf_errors_clear(&errs);

	snprintf(text, sizeof(text), "consumer_name = \"%.252s\";", big);
	cfg = evbus_config_load_string(text, NAME, &errs);
	CU_ASSERT_PTR_NULL(cfg);
	check_errors("long consumer_name", &errs, 1,
	    (const char *[]){ "consumer_name: 252 bytes" }, NULL);
	evbus_conf_errors_clear(&errs);

	snprintf(text, sizeof(text), "routing_key_pattern = \"%.256s\";", big);
	cfg = evbus_config_load_string(text, NAME, &errs);
	CU_ASSERT_PTR_NULL(cfg);
	check_errors("long routing key", &errs, 1,
	    (const char *[]){ "routing_key_pattern: 256 bytes" }, NULL);
	evbus_conf_errors_clear(&errs);

	snprintf(text, sizeof(text), "status_socket = \"/%.120s\";", big);
	cfg = evbus_config_load_string(text, NAME, &errs);
	CU_ASSERT_PTR_NULL(cfg);
	check_errors("long socket path", &errs, 1,
	    (const char *[]){ "status_socket: path is 121 bytes" }, NULL);
	evbus_conf_errors_clear(&errs);

	/* 64 binding keys are allowed, 65 are not. */
	for (i = 64; i <= 65; i++) {
		p = text + snprintf(text, sizeof(text), "routing_key_pattern "
		    "= [");
		for (int j = 0; j < i; j++)
			p += snprintf(p, sizeof(text) - (size_t)(p - text),
			    "%s\"k%d\"", j > 0 ? ", " : "", j);
		snprintf(p, sizeof(text) - (size_t)(p - text), "];");
		cfg = evbus_config_load_string(text, NAME, &errs);
		if (i == 64) {
			cu_checkf(cfg != NULL && cfg->nrouting_keys == 64,
			    "64 routing keys: expected them accepted");
			if (cfg == NULL)
				report_errors("64 routing keys", &errs);
		} else {
			CU_ASSERT_PTR_NULL(cfg);
			check_errors("65 routing keys", &errs, 1,
			    (const char *[]){ "routing_key_pattern: 65 "
			    "routing keys, at most 64" }, NULL);
		}
		evbus_config_free(cfg);
		evbus_conf_errors_clear(&errs);
	}
}

/* Write text to a new temporary file with mode; returns its path. */
static char *
write_temp(const char *dir, const char *text, mode_t mode)
{
	char	*path;
	int	 fd;
	size_t	 len = strlen(text);

	if (asprintf(&path, "%s/evbusd-XXXXXX", dir) == -1)
		return NULL;
	if ((fd = mkstemp(path)) == -1) {
		cu_failf("mkstemp %s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	if (write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) == -1) {
		cu_failf("writing %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

static const char *
tmpdir(void)
{
	const char	*d = getenv("TMPDIR");

	return d != NULL && *d != '\0' ? d : "/tmp";
}

/* Load a file that must be refused; check the one message it gives. */
static void
check_file_refused(const char *what, const char *path, const char *const *msgs,
    size_t n, const char *absent)
{
	struct evbus_conf_errors	 errs = { NULL, 0 };
	struct evbus_config		*cfg;

	cfg = evbus_config_load(path, &errs);
	cu_checkf(cfg == NULL, "%s: expected %s to be refused", what, path);
	evbus_config_free(cfg);
	check_errors(what, &errs, n, msgs, absent);
	evbus_conf_errors_clear(&errs);
}

static void
test_files(void)
{
	static const char	*pw = "rabbitmq_url = \"amqp://app:Pa55w0rd@"
	    "mq.example.com/prod\";\n";
	struct evbus_conf_errors errs = { NULL, 0 };
	struct evbus_config	*cfg;
	char			*path, want[512], want2[512], *dir;
	const char		*msgs[2];

	/* A password in a group-readable file: refused, with the fix. */
	if ((path = write_temp(tmpdir(), pw, 0640)) != NULL) {
		snprintf(want, sizeof(want), "%s:1: rabbitmq_url holds a "
		    "password but %s is readable by its group (mode 0640); run "
		    "chmod 600 %s, or remove the password from the URL and set "
		    "EVBUS_PASSWORD instead", path, path, path);
		msgs[0] = want;
		check_file_refused("password, 0640", path, msgs, 1,
		    "Pa55w0rd");
		chmod(path, 0604);
		snprintf(want, sizeof(want), "is readable by everyone (mode "
		    "0604)");
		check_file_refused("password, 0604", path, msgs, 1,
		    "Pa55w0rd");

		/* The same file with mode 0600 is fine. */
		chmod(path, 0600);
		cfg = evbus_config_load(path, &errs);
		cu_checkf(cfg != NULL, "password, 0600: expected %s accepted",
		    path);
		if (cfg == NULL)
			report_errors("password, 0600", &errs);
		else {
			cu_checkf(strcmp(cfg->url.password, "Pa55w0rd") == 0,
			    "password, 0600: expected the URL's password, got "
			    "\"%s\"", cfg->url.password);
			cu_checkf(cfg->path != NULL &&
			    strcmp(cfg->path, path) == 0, "password, 0600: "
			    "path: expected \"%s\", got \"%s\"", path,
			    cfg->path ? cfg->path : "NULL");
			CU_ASSERT_PTR_NOT_NULL(cfg->tree);
		}
		evbus_config_free(cfg);
		evbus_conf_errors_clear(&errs);
		unlink(path);
		free(path);
	}

	/* No password: any mode will do. */
	if ((path = write_temp(tmpdir(), "rabbitmq_url = \"amqp://app@mq/\";\n",
	    0644)) != NULL) {
		cfg = evbus_config_load(path, &errs);
		cu_checkf(cfg != NULL, "no password, 0644: expected accepted");
		if (cfg == NULL)
			report_errors("no password, 0644", &errs);
		evbus_config_free(cfg);
		evbus_conf_errors_clear(&errs);
		unlink(path);
		free(path);
	}

	/* Errors in a file carry its path and the line. */
	if ((path = write_temp(tmpdir(), "workers = 1;\n\nprefetch_count = ;\n",
	    0600)) != NULL) {
		snprintf(want, sizeof(want), "%s:3: syntax error", path);
		msgs[0] = want;
		check_file_refused("syntax error in file", path, msgs, 1, NULL);
		unlink(path);
		free(path);
	}
	if ((path = write_temp(tmpdir(), "# evbusd.conf\nworkers = 0;\n"
	    "bogus = true;\n", 0600)) != NULL) {
		snprintf(want, sizeof(want), "%s:2: workers: 0 is out of range "
		    "(1..128)", path);
		snprintf(want2, sizeof(want2), "%s:3: unknown key \"bogus\"",
		    path);
		msgs[0] = want;
		msgs[1] = want2;
		check_file_refused("errors in file", path, msgs, 2, NULL);
		unlink(path);
		free(path);
	}

	/* Files that cannot be read at all. */
	snprintf(want, sizeof(want), "%s/evbus-no-such-file.conf: cannot "
	    "open: No such file or directory", tmpdir());
	msgs[0] = want;
	snprintf(want2, sizeof(want2), "%s/evbus-no-such-file.conf", tmpdir());
	check_file_refused("missing file", want2, msgs, 1, NULL);
	snprintf(want, sizeof(want), "%s: not a regular file", tmpdir());
	check_file_refused("directory", tmpdir(), msgs, 1, NULL);

	/*
	 * @include is relative to the file's directory, and a password in a
	 * readable included file is refused even when the main file is 0600.
	 */
	if (asprintf(&dir, "%s/evbus-conf-XXXXXX", tmpdir()) == -1 ||
	    mkdtemp(dir) == NULL) {
		cu_failf("mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(want, sizeof(want), "%s/inc.conf", dir);
	if ((path = write_temp(dir, "@include \"inc.conf\"\n", 0600)) != NULL) {
		FILE *fp = fopen(want, "w");

		if (fp != NULL) {
			fputs("prefetch_count = 42;\n", fp);
			fclose(fp);
			chmod(want, 0644);
		}
		cfg = evbus_config_load(path, &errs);
		cu_checkf(cfg != NULL && cfg->prefetch_count == 42,
		    "include: expected prefetch_count 42 from inc.conf");
		if (cfg == NULL)
			report_errors("include", &errs);
		evbus_config_free(cfg);
		evbus_conf_errors_clear(&errs);

		if ((fp = fopen(want, "w")) != NULL) {
			fputs(pw, fp);
			fclose(fp);
		}
		snprintf(want2, sizeof(want2), "(mode 0644); run chmod 600 %s",
		    want);
		msgs[0] = want2;
		check_file_refused("password in include", path, msgs, 1,
		    "Pa55w0rd");
		unlink(path);
		free(path);
	}
	unlink(want);
	rmdir(dir);
	free(dir);
}

/* EVBUS_PASSWORD supplies or overrides the password; never shown. */
static void
test_env_password(void)
{
	static const struct {
		const char	*text;
		const char	*user;
	} cases[] = {
		{ "rabbitmq_url = \"amqp://app@mq/\";", "app" },
		{ "rabbitmq_url = \"amqp://app:old@mq/\";", "app" },
		{ "", "guest" },
		/* The cross-key checks do not get in the way. */
		{ "ca_file = \"/ca.pem\";\nrabbitmq_url = \"amqps://app@mq/\";",
		  "app" },
	};
	struct evbus_conf_errors errs = { NULL, 0 };
	struct evbus_config	*cfg;
	char			 big[400];
	size_t			 i;

	setenv(EVBUS_PASSWORD_ENV, "fromenv", 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if ((cfg = load_ok(cases[i].text, cases[i].text)) == NULL)
			continue;
		cu_checkf(strcmp(cfg->url.password, "fromenv") == 0 &&
		    cfg->url.has_password, "[%s]: expected the password from "
		    "the environment, got \"%s\"", cases[i].text,
		    cfg->url.password);
		cu_checkf(strcmp(cfg->url.user, cases[i].user) == 0,
		    "[%s]: user: expected \"%s\", got \"%s\"", cases[i].text,
		    cases[i].user, cfg->url.user);
		evbus_config_free(cfg);
	}

	/* An empty variable is the same as none. */
	setenv(EVBUS_PASSWORD_ENV, "", 1);
	if ((cfg = load_ok("empty EVBUS_PASSWORD",
	    "rabbitmq_url = \"amqp://app:old@mq/\";")) != NULL) {
		cu_checkf(strcmp(cfg->url.password, "old") == 0, "empty "
		    "EVBUS_PASSWORD: expected the URL's password, got \"%s\"",
		    cfg->url.password);
		evbus_config_free(cfg);
	}

	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	setenv(EVBUS_PASSWORD_ENV, big, 1);
	cfg = evbus_config_load_string("", NAME, &errs);
	CU_ASSERT_PTR_NULL(cfg);
	check_errors("long EVBUS_PASSWORD", &errs, 1,
	    (const char *[]){ NAME ": EVBUS_PASSWORD is too long" }, "ppppp");
	evbus_config_free(cfg);
	evbus_conf_errors_clear(&errs);
	unsetenv(EVBUS_PASSWORD_ENV);
}

/* A config checked against this host (EVBUS_CONF_* load flags). */
struct host_case {
	const char	*text;
	int		 flags;
	size_t		 n;		/* errors; 0: it must load */
	const char	*msgs[4];	/* or these errors, in this order */
	struct expect	 e[3];		/* and these fields when it loads */
};

#define NOUSER	"evbus-no-such-user"
#define NOGROUP	"evbus-no-such-group"
#define ACCTS	EVBUS_CONF_ACCOUNTS
#define DIRS	EVBUS_CONF_DIRS

static const struct host_case host_cases[] = {
	/* Accounts: resolved with the flag, names with their lines. */
	{ "user = \"root\";", ACCTS, 0, { NULL },
	  { E_INT(uid, 0), E_INT(gid, 0), E_END } },
	{ "group = \"root\";\nuser = \"root\";", ACCTS, 0, { NULL },
	  { E_INT(uid, 0), E_INT(gid, 0), E_END } },
	{ "group = \"root\";", ACCTS, 0, { NULL },
	  { E_INT(uid, -1), E_INT(gid, 0), E_END } },
	{ "workers = 1;", ACCTS, 0, { NULL },
	  { E_INT(uid, -1), E_INT(gid, -1), E_END } },
	{ "workers = 1;\nuser = \"" NOUSER "\";", ACCTS, 1,
	  { NAME ":2: user: \"" NOUSER "\": no such user on this host" },
	  { E_END } },
	{ "\ngroup = \"" NOGROUP "\";\nuser = \"root\";", ACCTS, 1,
	  { NAME ":2: group: \"" NOGROUP "\": no such group on this host" },
	  { E_END } },
	{ "group = \"" NOGROUP "\";\nworkers = 0;\nuser = \"" NOUSER "\";",
	  ACCTS, 3,
	  { NAME ":1: group: \"" NOGROUP "\": no such group",
	    NAME ":2: workers: 0 is out of range",
	    NAME ":3: user: \"" NOUSER "\": no such user" },
	  { E_END } },
	/* Without the flag (evbusctl): not looked up. */
	{ "user = \"" NOUSER "\";\ngroup = \"" NOGROUP "\";", 0, 0, { NULL },
	  { E_INT(uid, -1), E_INT(gid, -1), E_END } },
	{ "user = \"" NOUSER "\";", DIRS, 0, { NULL },
	  { E_STR(user, NOUSER), E_INT(uid, -1), E_END } },

	/* The directories of status_socket and pid_file, where set. */
	{ "status_socket = \"/nonexistent-evbus/evbusd.sock\";", DIRS, 1,
	  { NAME ":1: status_socket: the directory /nonexistent-evbus does "
	    "not exist; create it, or choose another path" },
	  { E_END } },
	{ "workers = 1;\n\npid_file = \"/nonexistent-evbus/a/evbusd.pid\";",
	  DIRS, 1,
	  { NAME ":3: pid_file: the directory /nonexistent-evbus/a does not "
	    "exist" },
	  { E_END } },
	{ "pid_file = \"/dev/null/evbusd.pid\";", DIRS, 1,
	  { NAME ":1: pid_file: the directory /dev/null is not a directory" },
	  { E_END } },
	{ "pid_file = \"/nonexistent-evbus/p\";\nuser = \"" NOUSER "\";\n"
	  "status_socket = \"/nonexistent-evbus/s\";", ACCTS | DIRS, 3,
	  { NAME ":1: pid_file: the directory /nonexistent-evbus ",
	    NAME ":2: user: \"" NOUSER "\"",
	    NAME ":3: status_socket: the directory /nonexistent-evbus " },
	  { E_END } },
	{ "status_socket = \"/evbusd.sock\";\npid_file = \"/evbusd.pid\";\n"
	  "pid_file2 = 1;", DIRS, 1,
	  { NAME ":3: unknown key \"pid_file2\"" },
	  { E_END } },
	{ "status_socket = \"evbusd.sock\";\npid_file = \"/evbusd.pid\";",
	  DIRS, 0, { NULL },
	  { E_STR(status_socket, "evbusd.sock"), E_END } },
	/* Defaults are not checked (RuntimeDirectory= may not exist yet). */
	{ "workers = 1;", DIRS, 0, { NULL }, { E_END } },
	/* Without the flag: not looked at. */
	{ "status_socket = \"/nonexistent-evbus/evbusd.sock\";", 0, 0, { NULL },
	  { E_END } },
	{ NULL, 0, 0, { NULL }, { E_END } }
};

static void
test_host_checks(void)
{
	const struct host_case		*c;
	struct evbus_conf_errors	 errs = { NULL, 0 };
	struct evbus_config		*cfg;
	char				 what[200];

	for (c = host_cases; c->text != NULL; c++) {
		snprintf(what, sizeof(what), "[%s] flags %#x", c->text,
		    c->flags);
		cfg = evbus_config_load_string_flags(c->text, NAME, c->flags,
		    &errs);
		if (c->n == 0) {
			cu_checkf(cfg != NULL, "%s: expected the config to "
			    "load", what);
			if (cfg == NULL)
				report_errors(what, &errs);
			else
				check_fields(what, cfg, c->e);
		} else {
			cu_checkf(cfg == NULL, "%s: expected the config to be "
			    "refused", what);
			check_errors(what, &errs, c->n, c->msgs, NULL);
		}
		evbus_config_free(cfg);
		evbus_conf_errors_clear(&errs);
	}
}

static void
test_handler_sections(void)
{
	struct evbus_config	*cfg;
	config_setting_t	*s;
	const char		*v = NULL;
	int			 n = 0;

	cfg = load_ok("handlers", "handlers = {\n"
	    "\tinventory = { warehouse = \"north\"; bins = 12; };\n"
	    "\tbilling = { };\n"
	    "};\n");
	if (cfg == NULL)
		return;
	s = evbus_config_handler_section(cfg, "inventory");
	CU_ASSERT_PTR_NOT_NULL(s);
	if (s != NULL) {
		cu_checkf(config_setting_lookup_string(s, "warehouse", &v) &&
		    strcmp(v, "north") == 0, "handlers.inventory.warehouse: "
		    "expected \"north\", got \"%s\"", v ? v : "NULL");
		cu_checkf(config_setting_lookup_int(s, "bins", &n) && n == 12,
		    "handlers.inventory.bins: expected 12, got %d", n);
	}
	s = evbus_config_handler_section(cfg, "billing");
	cu_checkf(s != NULL && config_setting_length(s) == 0,
	    "handlers.billing: expected an empty section");
	CU_ASSERT_PTR_NULL(evbus_config_handler_section(cfg, "shipping"));
	CU_ASSERT_PTR_NULL(evbus_config_handler_section(cfg, NULL));
	evbus_config_free(cfg);

	if ((cfg = load_ok("no handlers", "workers = 3;")) != NULL) {
		CU_ASSERT_PTR_NULL(evbus_config_handler_section(cfg,
		    "inventory"));
		evbus_config_free(cfg);
	}
	cfg = evbus_config_defaults();
	CU_ASSERT_PTR_NULL(evbus_config_handler_section(cfg, "inventory"));
	evbus_config_free(cfg);
}

/* The sample from the key table, in a malloc'd string. */
static char *
sample_text(void)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return NULL;
	evbus_config_write_sample(fp);
	fclose(fp);
	return buf;
}

/* The sample with every "#key = value;" line (and the handlers example) on. */
static char *
uncomment(const char *text)
{
	char		*out = malloc(strlen(text) + 1), *o = out;
	const char	*p = text;
	int		 bol = 1;

	if (out == NULL)
		return NULL;
	for (; *p != '\0'; p++) {
		if (bol && p[0] == '#' && p[1] != ' ' && p[1] != '\n' &&
		    p[1] != '\0') {
			bol = 0;
			continue;
		}
		bol = *p == '\n';
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* Does text have a line "#name = " or "name = "? */
static int
has_key_line(const char *text, const char *name)
{
	const char	*p = text;
	size_t		 len = strlen(name);

	for (; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		if (*p == '#')
			p++;
		if (strncmp(p, name, len) == 0 && strncmp(p + len, " = ", 3) == 0)
			return 1;
	}
	return 0;
}

static void
test_sample(void)
{
	static const char *const examples[] = {
		"ca_file", "cert_file", "key_file", "routing_keys[0]",
		"nrouting_keys", "routing_key_set", "dlq_message_ttl",
		"dlq_max_length", "user", "group", "http_listen", "http_host",
		"http_port", "rabbitmq_url", "url.tls", NULL	/* amqps:// below */
	};
	struct evbus_conf_errors errs = { NULL, 0 };
	const struct expect	*e;
	const char *const	*x;
	struct evbus_config	*cfg;
	char			*text, *on, *url, *tls;
	config_setting_t	*s;
	const char		*v = NULL;

	if ((text = sample_text()) == NULL) {
		cu_failf("open_memstream: %s", strerror(errno));
		return;
	}
	cu_checkf(strstr(text, EVBUS_PASSWORD_ENV) != NULL &&
	    strstr(text, "chmod 600") != NULL,
	    "sample: expected the password advice");

	/* As written, all commented out: the defaults. */
	if ((cfg = load_ok("sample", text)) != NULL) {
		check_fields("sample", cfg, defaults);
		evbus_config_free(cfg);
	}

	/* Uncommented: the same values, examples where there is no default. */
	if ((on = uncomment(text)) == NULL) {
		free(text);
		return;
	}
	cu_checkf(has_key_line(on, "prefetch_count") &&
	    !has_key_line(on, "no_such_key"), "uncommented sample: key lines");
	/* The example TLS files with the default amqp:// URL: refused. */
	cfg = evbus_config_load_string(on, NAME, &errs);
	CU_ASSERT_PTR_NULL(cfg);
	evbus_config_free(cfg);
	check_errors("uncommented sample", &errs, 1, (const char *[]){
	    "TLS files (ca_file, cert_file, key_file) are set but rabbitmq_url "
	    "(line " }, NULL);
	evbus_conf_errors_clear(&errs);
	/* With an amqps:// URL, everything else as in the sample. */
	if ((url = strstr(on, "\"amqp://")) == NULL ||
	    asprintf(&tls, "%.*s\"amqps%s", (int)(url - on), on,
	    url + strlen("\"amqp")) == -1) {
		cu_failf("uncommented sample: no amqp:// URL");
		free(on);
		free(text);
		return;
	}
	free(on);
	on = tls;
	if ((cfg = load_ok("uncommented sample, amqps", on)) != NULL) {
		CU_ASSERT(cfg->url.tls);
		for (e = defaults; e->field != NULL; e++) {
			for (x = examples; *x != NULL; x++)
				if (strcmp(*x, e->field) == 0)
					break;
			if (*x == NULL)
				check_field("uncommented sample", cfg, e);
		}
		CU_ASSERT_PTR_NOT_NULL(cfg->ca_file);
		CU_ASSERT_PTR_NOT_NULL(cfg->cert_file);
		CU_ASSERT_PTR_NOT_NULL(cfg->user);
		CU_ASSERT(cfg->http_port == 9466);
		CU_ASSERT(cfg->dlq_message_ttl >= 0);
		CU_ASSERT(cfg->routing_key_set);
		s = evbus_config_handler_section(cfg, "inventory");
		cu_checkf(s != NULL && config_setting_lookup_string(s,
		    "warehouse", &v) && strcmp(v, "north") == 0,
		    "uncommented sample: handlers.inventory.warehouse");
		evbus_config_free(cfg);
	}
	free(on);
	free(text);
}

/* etc/evbusd.conf: loads as is, and lists every key of the table. */
static void
test_sample_file(void)
{
	struct evbus_conf_errors errs = { NULL, 0 };
	struct evbus_config	*cfg;
	const char		*srcdir = getenv("EVBUS_SRCDIR");
	char			*path, *text, *etc = NULL, *p, *q;
	size_t			 len = 0, n;
	FILE			*fp;

	/* Run by hand, find the source tree from this file's name. */
	if (srcdir != NULL && *srcdir != '\0')
		n = asprintf(&path, "%s/etc/evbusd.conf", srcdir);
	else {
		p = strstr(__FILE__, "tests/unit/test_config.c");
		n = asprintf(&path, "%.*setc/evbusd.conf",
		    p != NULL ? (int)(p - __FILE__) : 0, __FILE__);
	}
	if (n == (size_t)-1)
		return;
	if ((fp = fopen(path, "r")) == NULL) {
		cu_failf("%s: %s", path, strerror(errno));
		free(path);
		return;
	}
	if (getdelim(&etc, &len, '\0', fp) == -1) {
		cu_failf("reading %s", path);
		fclose(fp);
		free(path);
		return;
	}
	fclose(fp);

	cfg = evbus_config_load(path, &errs);
	cu_checkf(cfg != NULL, "%s: expected it to load as is", path);
	if (cfg == NULL)
		report_errors(path, &errs);
	else
		cu_checkf(!cfg->url.has_password, "%s: holds a password",
		    path);
	evbus_config_free(cfg);
	evbus_conf_errors_clear(&errs);

	/* Every "#key = " line of the generated sample is in the file. */
	if ((text = sample_text()) != NULL) {
		for (p = text; p != NULL && *p != '\0'; p = q) {
			q = strchr(p, '\n');
			if (q != NULL)
				*q++ = '\0';
			if (p[0] != '#' || p[1] == ' ' || p[1] == '\t' ||
			    p[1] == '\0' || strstr(p, " = ") == NULL)
				continue;
			p[strcspn(p, " ")] = '\0';
			cu_checkf(has_key_line(etc, p + 1), "%s: no line for "
			    "key %s", path, p + 1);
		}
		free(text);
	}
	cu_checkf(strstr(etc, "#handlers = {") != NULL &&
	    strstr(etc, "warehouse = \"north\"") != NULL,
	    "%s: expected the handlers example", path);
	free(etc);
	free(path);
}

/* rabbitmq_url as a list: every node parsed, in order; the string form. */
static void
test_urls(void)
{
	struct evbus_config	*cfg;

	cfg = load_ok("three nodes", "rabbitmq_url = [\"amqp://u@n1:5001/v\", "
	    "\"amqp://u@n2:5002/v\", \"amqp://u@n3:5003/v\"];");
	if (cfg != NULL) {
		CU_ASSERT_EQUAL(cfg->nurl, 3);
		CU_ASSERT_STRING_EQUAL(cfg->urls[0].host, "n1");
		CU_ASSERT_STRING_EQUAL(cfg->urls[2].host, "n3");
		CU_ASSERT_EQUAL(cfg->urls[1].port, 5002);
		CU_ASSERT_STRING_EQUAL(cfg->url.host, "n1");
		CU_ASSERT_STRING_EQUAL(cfg->rabbitmq_url,
		    "amqp://u@n1:5001/v");
		CU_ASSERT_FALSE(cfg->quorum);
		evbus_config_free(cfg);
	}
	cfg = load_ok("one node", "rabbitmq_url = \"amqp://n9/\";");
	if (cfg != NULL) {
		CU_ASSERT_EQUAL(cfg->nurl, 1);
		CU_ASSERT_STRING_EQUAL(cfg->urls[0].host, "n9");
		evbus_config_free(cfg);
	}
	cfg = load_ok("default", "");
	if (cfg != NULL) {
		CU_ASSERT_EQUAL(cfg->nurl, 1);
		CU_ASSERT_STRING_EQUAL(cfg->urls[0].host, "localhost");
		evbus_config_free(cfg);
	}
	setenv(EVBUS_PASSWORD_ENV, "envpw", 1);
	cfg = load_ok("EVBUS_PASSWORD for every node", "rabbitmq_url = "
	    "[\"amqp://u@n1/\", \"amqp://u@n2/\"];");
	unsetenv(EVBUS_PASSWORD_ENV);
	if (cfg != NULL) {
		CU_ASSERT_STRING_EQUAL(cfg->urls[0].password, "envpw");
		CU_ASSERT_STRING_EQUAL(cfg->urls[1].password, "envpw");
		evbus_config_free(cfg);
	}
	cfg = load_ok("quorum", "queue_type = \"Quorum\";");
	if (cfg != NULL) {
		CU_ASSERT_TRUE(cfg->quorum);
		evbus_config_free(cfg);
	}
	cfg = load_ok("ordering default", "");
	if (cfg != NULL) {
		CU_ASSERT_FALSE(cfg->ordered);
		CU_ASSERT_EQUAL(cfg->partitions, 16);
		evbus_config_free(cfg);
	}
	cfg = load_ok("ordered", "ordering = \"Aggregate\";\npartitions = 4;\n"
	    "exchange_name = \"x\";\nconsumer_group = \"g\";");
	if (cfg != NULL) {
		CU_ASSERT_TRUE(cfg->ordered);
		CU_ASSERT_EQUAL(cfg->partitions, 4);
		CU_ASSERT_STRING_EQUAL(cfg->partition_exchange_name,
		    "x.g.partitions");
		evbus_config_free(cfg);
	}
}

static void
test_misc(void)
{
	struct evbus_conf_errors errs = { NULL, 0 };

	evbus_config_free(NULL);
	evbus_conf_errors_clear(&errs);
	evbus_conf_errors_clear(NULL);
	CU_ASSERT_STRING_EQUAL(evbus_exchange_type_str(EVBUS_EXCHANGE_TOPIC),
	    "topic");
	CU_ASSERT_STRING_EQUAL(evbus_exchange_type_str(EVBUS_EXCHANGE_DIRECT),
	    "direct");
	CU_ASSERT_STRING_EQUAL(evbus_exchange_type_str(EVBUS_EXCHANGE_FANOUT),
	    "fanout");
	CU_ASSERT_STRING_EQUAL(evbus_exchange_type_str(EVBUS_EXCHANGE_HEADERS),
	    "headers");
	/* errs may be NULL: the load still fails, and nothing leaks. */
	CU_ASSERT_PTR_NULL(evbus_config_load_string("workers = 0;", NAME,
	    NULL));
	CU_ASSERT_PTR_NULL(evbus_config_load_string("workers = ", NAME, NULL));
	CU_ASSERT_PTR_NULL(evbus_config_load("/nonexistent/evbusd.conf", NULL));
}

static const struct cu_test conf_tests[] = {
	{ "defaults", test_defaults },
	{ "each key type parsed", test_parse_types },
	{ "routing keys and names per exchange type", test_routing },
	{ "refused configs and their messages", test_failures },
	{ "AMQP name and binding limits", test_limits },
	{ "files: modes, password rule, include", test_files },
	{ "EVBUS_PASSWORD", test_env_password },
	{ "checks against the host: accounts, directories", test_host_checks },
	{ "handler sections", test_handler_sections },
	{ "sample from the key table", test_sample },
	{ "etc/evbusd.conf", test_sample_file },
	{ "broker URL lists, queue types", test_urls },
	{ "odds and ends", test_misc },
	{ NULL, NULL }
};

static const struct cu_suite suites[] = {
	{ "config", conf_tests },
	{ NULL, NULL }
};

int
main(void)
{
	/* The caller's environment must not change what the tests see. */
	unsetenv(EVBUS_PASSWORD_ENV);
	return cu_run(suites);
}
