/*
 * conf.c: evbusd.conf (libconfig syntax) into struct evbus_config.
 *
 * conf_keys[] below is the only description of the keys: their type,
 * where they live in the struct, default, range and help text.  The
 * loader walks the file's settings against it (so unknown keys are
 * found), the sample writer prints it.  Once every key is parsed,
 * conf_finish() derives the values that depend on other keys and runs
 * the rules across keys, a short named list (conf_checks[]); some of them
 * (accounts, run directories) only when the caller asks.  Every problem
 * is collected as "file:line: message"; nothing here logs or exits.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include <libconfig.h>

#include "conf.h"
#include "xmalloc.h"

#ifndef PKGLIBDIR
#define PKGLIBDIR	"/usr/local/lib/evbus"
#endif
#ifndef RUNSTATEDIR
#define RUNSTATEDIR	"/var/run"
#endif

#define CONF_MAX_SIZE	(1024 * 1024)	/* a config file larger is a mistake */
#define CONF_HANDLERS	"handlers"

enum conf_type {
	CONF_BOOL,		/* int, true/false */
	CONF_INT,		/* int */
	CONF_INT64_OPT,		/* long long, -1 when unset */
	CONF_FLOAT,		/* double; integers accepted */
	CONF_STRING,		/* char * */
	CONF_STRING_OPT,	/* char *, NULL when unset or "" */
	CONF_STRING_LIST,	/* routing_key_pattern: string or list */
	CONF_MODE		/* int, written as an octal string "0660" */
};

#define CONF_NONEMPTY	0x01	/* a string that must not be empty */
#define CONF_HOSTNAME	0x02	/* default: the host name */

#define NOMIN		(-HUGE_VAL)
#define NOMAX		HUGE_VAL

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 off;		/* into struct evbus_config */
	const char	*def_str;	/* string defaults */
	long long	 def_int;	/* bool, int, int64 and mode defaults */
	double		 def_float;
	double		 min;		/* inclusive, NOMIN for none */
	double		 max;		/* inclusive, NOMAX for none */
	int		 flags;
	const char	*section;	/* starts a section of the sample */
	const char	*help;		/* one sentence for the sample */
	const char	*example;	/* sample value of a key unset by default */
};

#define OFF(f)		offsetof(struct evbus_config, f)

static const struct conf_key conf_keys[] = {
	{ "rabbitmq_url", CONF_STRING, OFF(rabbitmq_url),
	  "amqp://localhost:5672/", 0, 0, NOMIN, NOMAX, CONF_NONEMPTY,
	  "Broker connection",
	  "Broker URL amqp[s]://[user[:password]@]host[:port][/vhost]; "
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
};

#define NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

/* State of one load: where messages go and which key sat on which line. */
struct conf_ctx {
	const char			*name;	/* file name in messages */
	const char			*text;	/* main file's text, or NULL */
	char				*dir;	/* include directory, or NULL */
	int				 mode;	/* file mode, -1: not a file */
	int				 flags;	/* EVBUS_CONF_* */
	int				 url_ok;	/* the URL parsed */
	int				 url_password;	/* it has a password */
	struct evbus_conf_errors	*errs;
	size_t				 nerr;	/* errors of this load */
	unsigned long			*where;	/* their sort keys */
	const config_setting_t		*seen[NKEYS];
};

static const struct {
	const char	*name;
	int		 code;
} facilities[] = {
	{ "auth", LOG_AUTH },		{ "authpriv", LOG_AUTHPRIV },
	{ "cron", LOG_CRON },		{ "daemon", LOG_DAEMON },
	{ "ftp", LOG_FTP },		{ "lpr", LOG_LPR },
	{ "mail", LOG_MAIL },		{ "news", LOG_NEWS },
	{ "syslog", LOG_SYSLOG },	{ "user", LOG_USER },
	{ "uucp", LOG_UUCP },
	{ "local0", LOG_LOCAL0 },	{ "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 },	{ "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 },	{ "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 },	{ "local7", LOG_LOCAL7 },
};

static void	 conf_errx(struct conf_ctx *, const config_setting_t *,
		    const char *, ...) __attribute__((__format__(printf, 3, 4)));

#define FIELD(cfg, k, t)	((t *)(void *)((char *)(cfg) + (k)->off))

/* Record one problem, prefixed with the file and line of setting s. */
static void
conf_errx(struct conf_ctx *ctx, const config_setting_t *s, const char *fmt,
    ...)
{
	struct evbus_conf_errors	*e = ctx->errs;
	char				 msg[1024], *line;
	const char			*file = ctx->name;
	va_list				 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s != NULL && config_setting_source_file(s) != NULL)
		file = config_setting_source_file(s);
	if (s != NULL && config_setting_source_line(s) > 0)
		xasprintf(&line, "%s:%u: %s", file,
		    config_setting_source_line(s), msg);
	else
		xasprintf(&line, "%s: %s", file, msg);
	e->msgs = xreallocarray(e->msgs, e->n + 1, sizeof(*e->msgs));
	e->msgs[e->n++] = line;

	/* Main file first, then included files; by line within each. */
	ctx->where = xreallocarray(ctx->where, ctx->nerr + 1,
	    sizeof(*ctx->where));
	ctx->where[ctx->nerr++] = (file != ctx->name ? 1UL << 31 : 0) |
	    (s != NULL ? config_setting_source_line(s) : 0);
}

/*
 * Put the errors of this load in file order: they are found in two
 * passes (each key, then the checks across keys).  A stable insertion
 * sort; there are few.
 */
static void
conf_sort_errors(struct conf_ctx *ctx)
{
	char		**m, *tm;
	unsigned long	 tw;
	size_t		  i, j;

	/* Nothing to sort; and msgs may be NULL (no arithmetic on it). */
	if (ctx->nerr < 2)
		return;
	m = ctx->errs->msgs + ctx->errs->n - ctx->nerr;
	for (i = 1; i < ctx->nerr; i++) {
		tm = m[i];
		tw = ctx->where[i];
		for (j = i; j > 0 && ctx->where[j - 1] > tw; j--) {
			m[j] = m[j - 1];
			ctx->where[j] = ctx->where[j - 1];
		}
		m[j] = tm;
		ctx->where[j] = tw;
	}
}

static const struct conf_key *
conf_key_find(const char *name, size_t *idx)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(conf_keys[i].name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return &conf_keys[i];
		}
	return NULL;
}

/* The setting the file gave for key name, or NULL. */
static const config_setting_t *
conf_seen(const struct conf_ctx *ctx, const char *name)
{
	size_t	 i;

	if (conf_key_find(name, &i) == NULL)
		return NULL;
	return ctx->seen[i];
}

/* Edit distance of two short names, '-' and '_' and case alike. */
static size_t
name_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), i, j, prev, tmp, cost;
	size_t	 row[64];
	int	 ca, cb;

	if (la >= 64 || lb >= 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			ca = a[i - 1] == '-' ? '_' : tolower((u_char)a[i - 1]);
			cb = b[j - 1] == '-' ? '_' : tolower((u_char)b[j - 1]);
			cost = ca == cb ? 0 : 1;
			tmp = row[j];
			row[j] = prev + cost;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

/* The key a misspelt name most likely meant, or NULL. */
static const char *
conf_suggest(const char *name)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = 3;

	for (i = 0; i < NKEYS; i++) {
		d = name_distance(name, conf_keys[i].name);
		if (d < bestd) {
			bestd = d;
			best = conf_keys[i].name;
		}
	}
	if (best == NULL && name_distance(name, CONF_HANDLERS) < 3)
		best = CONF_HANDLERS;
	return best;
}

static const char *
setting_type_str(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a floating-point number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	}
	return "something else";
}

static const char *
key_type_str(const struct conf_key *k)
{
	switch (k->type) {
	case CONF_BOOL:
		return "a boolean (true or false)";
	case CONF_INT:
	case CONF_INT64_OPT:
		return "an integer";
	case CONF_FLOAT:
		return "a number";
	case CONF_STRING:
	case CONF_STRING_OPT:
		return "a string";
	case CONF_STRING_LIST:
		return "a string or a list of strings";
	case CONF_MODE:
		return "an octal mode string such as \"0660\"";
	}
	return "?";
}

/* The effective upper bound of an integer key. */
static double
key_int_max(const struct conf_key *k)
{
	if (k->type == CONF_INT && !(k->max <= INT_MAX))
		return INT_MAX;
	return k->max;
}

/* "1..65535", ">= 0" or "<= 86400", for messages and the sample. */
static void
key_range_str(const struct conf_key *k, char *buf, size_t len)
{
	double	 max = k->max;

	if (k->min == NOMIN && max == NOMAX)
		buf[0] = '\0';
	else if (max == NOMAX)
		snprintf(buf, len, ">= %.15g", k->min);
	else if (k->min == NOMIN)
		snprintf(buf, len, "<= %.15g", max);
	else
		snprintf(buf, len, "%.15g..%.15g", k->min, max);
}

/*
 * libconfig 1.5 reads an integer without the L suffix with atoi(), so
 * 5000000000 silently becomes 705032704.  When the setting comes from
 * the main file, read the number again from its line.
 */
static int
setting_reread_int(const struct conf_ctx *ctx, const config_setting_t *s,
    long long *v)
{
	const char	*p = ctx->text, *name = config_setting_name(s);
	char		*end;
	unsigned int	 line = config_setting_source_line(s), n;
	size_t		 len;
	long long	 r;
	unsigned long long u;
	int		 neg = 0;

	if (p == NULL || name == NULL || config_setting_source_file(s) != NULL)
		return 0;
	for (n = 1; n < line && p != NULL; n++)
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	if (p == NULL)
		return 0;
	p += strspn(p, " \t");
	len = strlen(name);
	if (strncmp(p, name, len) != 0)
		return 0;
	p += len;
	p += strspn(p, " \t");
	if (*p != '=' && *p != ':')
		return 0;
	p++;
	p += strspn(p, " \t");
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!isdigit((u_char)*p))
		return 0;
	errno = 0;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		u = strtoull(p, &end, 16);
		if (errno == ERANGE || u > LLONG_MAX)
			return -1;
		r = (long long)u;
	} else {
		r = strtoll(p, &end, 10);
		if (errno == ERANGE)
			return -1;
	}
	if (*end == '.' || *end == 'e' || *end == 'E' || *end == 'L')
		return 0;
	*v = neg ? -r : r;
	return 0;
}

/* An integer setting's value; -1 when it does not fit in 64 bits. */
static int
setting_int(const struct conf_ctx *ctx, const config_setting_t *s,
    long long *v)
{
	if (config_setting_type(s) == CONFIG_TYPE_INT64) {
		*v = config_setting_get_int64(s);
		return 0;
	}
	*v = config_setting_get_int(s);
	return setting_reread_int(ctx, s, v);
}

static void
set_string(char **dst, const char *s)
{
	free(*dst);
	*dst = s != NULL ? xstrdup(s) : NULL;
}

static void
free_routing_keys(struct evbus_config *cfg)
{
	size_t	 i;

	for (i = 0; i < cfg->nrouting_keys; i++) {
		free(cfg->routing_keys[i]);
		cfg->routing_keys[i] = NULL;
	}
	cfg->nrouting_keys = 0;
}

/* routing_key_pattern: one string, or an array or list of strings. */
static void
parse_routing_keys(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, struct evbus_config *cfg)
{
	const config_setting_t	*e;
	const char		*str;
	int			 i, n;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		str = config_setting_get_string(s);
		if (strlen(str) > EVBUS_NAME_MAX) {
			conf_errx(ctx, s, "%s: %zu bytes, longer than the %d "
			    "an AMQP routing key may have", k->name,
			    strlen(str), EVBUS_NAME_MAX);
			return;
		}
		free_routing_keys(cfg);
		cfg->routing_keys[cfg->nrouting_keys++] = xstrdup(str);
		cfg->routing_key_set = 1;
		return;
	}
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		conf_errx(ctx, s, "%s: expected %s, got %s", k->name,
		    key_type_str(k), setting_type_str(s));
		return;
	}
	n = config_setting_length(s);
	if (n == 0) {
		conf_errx(ctx, s, "%s: the list is empty; leave the key out "
		    "for the default binding", k->name);
		return;
	}
	if (n > EVBUS_MAX_ROUTING_KEYS) {
		conf_errx(ctx, s, "%s: %d routing keys, at most %d allowed",
		    k->name, n, EVBUS_MAX_ROUTING_KEYS);
		return;
	}
	free_routing_keys(cfg);
	cfg->routing_key_set = 1;
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			conf_errx(ctx, e, "%s[%d]: expected a string, got %s",
			    k->name, i, setting_type_str(e));
			continue;
		}
		str = config_setting_get_string(e);
		if (strlen(str) > EVBUS_NAME_MAX) {
			conf_errx(ctx, e, "%s[%d]: %zu bytes, longer than the "
			    "%d an AMQP routing key may have", k->name, i,
			    strlen(str), EVBUS_NAME_MAX);
			continue;
		}
		cfg->routing_keys[cfg->nrouting_keys++] = xstrdup(str);
	}
}

/* An octal mode string ("0660", "600") to a mode, or -1. */
static int
parse_mode(const char *s)
{
	size_t	 len = strlen(s);
	long	 m;
	char	*end;

	if (len == 0 || len > 4 || strspn(s, "01234567") != len)
		return -1;
	m = strtol(s, &end, 8);
	if (*end != '\0' || m < 0 || m > 0777)
		return -1;
	return (int)m;
}

/* Check a number against the key's range; 0 when it fits. */
static int
check_range(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, double d, const char *shown)
{
	char	 range[64];
	double	 max = k->type == CONF_FLOAT ? k->max : key_int_max(k);

	if (d >= k->min && d <= max)
		return 0;
	key_range_str(k, range, sizeof(range));
	if (max != k->max && d > max)	/* beyond int, not the table */
		conf_errx(ctx, s, "%s: %s is too large (at most %.15g)",
		    k->name, shown, max);
	else
		conf_errx(ctx, s, "%s: %s is out of range (%s)", k->name,
		    shown, range);
	return -1;
}

/* Store one setting of the file into cfg, or report why not. */
static void
parse_setting(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, struct evbus_config *cfg)
{
	int		 type = config_setting_type(s), m;
	long long	 ll;
	double		 d;
	const char	*str;
	char		 shown[64];

	switch (k->type) {
	case CONF_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			break;
		*FIELD(cfg, k, int) = config_setting_get_bool(s);
		return;
	case CONF_INT:
	case CONF_INT64_OPT:
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
			break;
		if (setting_int(ctx, s, &ll) == -1) {
			conf_errx(ctx, s, "%s: number too large", k->name);
			return;
		}
		snprintf(shown, sizeof(shown), "%lld", ll);
		if (check_range(ctx, k, s, (double)ll, shown) == -1)
			return;
		if (k->type == CONF_INT)
			*FIELD(cfg, k, int) = (int)ll;
		else
			*FIELD(cfg, k, long long) = ll;
		return;
	case CONF_FLOAT:
		if (type == CONFIG_TYPE_FLOAT)
			d = config_setting_get_float(s);
		else if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
			/* libconfig is strict about 1 vs 1.0; we need not be. */
			if (setting_int(ctx, s, &ll) == -1) {
				conf_errx(ctx, s, "%s: number too large",
				    k->name);
				return;
			}
			d = (double)ll;
		} else
			break;
		snprintf(shown, sizeof(shown), "%.15g", d);
		if (!isfinite(d)) {
			conf_errx(ctx, s, "%s: %s is not a finite number",
			    k->name, shown);
			return;
		}
		if (check_range(ctx, k, s, d, shown) == -1)
			return;
		*FIELD(cfg, k, double) = d;
		return;
	case CONF_STRING:
	case CONF_STRING_OPT:
		if (type != CONFIG_TYPE_STRING)
			break;
		str = config_setting_get_string(s);
		if (*str == '\0' && (k->flags & CONF_NONEMPTY)) {
			conf_errx(ctx, s, "%s: must not be empty", k->name);
			return;
		}
		if (*str == '\0' && k->type == CONF_STRING_OPT)
			str = NULL;
		set_string(FIELD(cfg, k, char *), str);
		return;
	case CONF_STRING_LIST:
		parse_routing_keys(ctx, k, s, cfg);
		return;
	case CONF_MODE:
		if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
			/* 0660 in libconfig 1.5 is the decimal 660. */
			conf_errx(ctx, s, "%s: write the mode as an octal "
			    "string such as \"0660\" (libconfig reads 0660 as "
			    "the decimal number 660)", k->name);
			return;
		}
		if (type != CONFIG_TYPE_STRING)
			break;
		str = config_setting_get_string(s);
		if ((m = parse_mode(str)) == -1) {
			conf_errx(ctx, s, "%s: \"%.32s\" is not an octal file "
			    "mode from \"0000\" to \"0777\"", k->name, str);
			return;
		}
		*FIELD(cfg, k, int) = m;
		return;
	}
	conf_errx(ctx, s, "%s: expected %s, got %s", k->name, key_type_str(k),
	    setting_type_str(s));
}

/* handlers = { <name> = { ... }; ... }: only the shape is checked. */
static void
parse_handlers(struct conf_ctx *ctx, const config_setting_t *s)
{
	const config_setting_t	*h;
	int			 i;

	if (!config_setting_is_group(s)) {
		conf_errx(ctx, s, "%s: expected a group of handler sections "
		    "(handlers = { <name> = { ... }; }), got %s", CONF_HANDLERS,
		    setting_type_str(s));
		return;
	}
	for (i = 0; i < config_setting_length(s); i++) {
		h = config_setting_get_elem(s, i);
		if (!config_setting_is_group(h))
			conf_errx(ctx, h, "%s.%s: expected a group (%s.%s = "
			    "{ ... }), got %s", CONF_HANDLERS,
			    config_setting_name(h), CONF_HANDLERS,
			    config_setting_name(h), setting_type_str(h));
	}
}

/* Walk the top level of the file: every setting must be a known key. */
static void
parse_tree(struct conf_ctx *ctx, const config_t *lc, struct evbus_config *cfg)
{
	const config_setting_t	*root = config_root_setting(lc), *s;
	const struct conf_key	*k;
	const char		*name, *hint;
	size_t			 idx;
	int			 i;

	for (i = 0; i < config_setting_length(root); i++) {
		s = config_setting_get_elem(root, i);
		name = config_setting_name(s);
		if (strcmp(name, CONF_HANDLERS) == 0) {
			parse_handlers(ctx, s);
			continue;
		}
		if ((k = conf_key_find(name, &idx)) == NULL) {
			if ((hint = conf_suggest(name)) != NULL)
				conf_errx(ctx, s, "unknown key \"%s\" (did you "
				    "mean \"%s\"?)", name, hint);
			else
				conf_errx(ctx, s, "unknown key \"%s\"", name);
			continue;
		}
		ctx->seen[idx] = s;
		parse_setting(ctx, k, s, cfg);
	}
}

/* A new config holding the table's defaults (derived fields not yet). */
static struct evbus_config *
conf_new(void)
{
	struct evbus_config	*cfg;
	const struct conf_key	*k;
	size_t			 i;

	cfg = xcalloc(1, sizeof(*cfg));
	cfg->uid = (uid_t)-1;
	cfg->gid = (gid_t)-1;
	for (i = 0; i < NKEYS; i++) {
		k = &conf_keys[i];
		switch (k->type) {
		case CONF_BOOL:
		case CONF_INT:
		case CONF_MODE:
			*FIELD(cfg, k, int) = (int)k->def_int;
			break;
		case CONF_INT64_OPT:
			*FIELD(cfg, k, long long) = k->def_int;
			break;
		case CONF_FLOAT:
			*FIELD(cfg, k, double) = k->def_float;
			break;
		case CONF_STRING:
		case CONF_STRING_OPT:
			set_string(FIELD(cfg, k, char *), k->def_str);
			break;
		case CONF_STRING_LIST:
			break;
		}
	}
	return cfg;
}

static int
exchange_type_parse(const char *s, enum evbus_exchange_type *t)
{
	static const enum evbus_exchange_type all[] = {
		EVBUS_EXCHANGE_TOPIC, EVBUS_EXCHANGE_DIRECT,
		EVBUS_EXCHANGE_FANOUT, EVBUS_EXCHANGE_HEADERS
	};
	size_t	 i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcasecmp(s, evbus_exchange_type_str(all[i])) == 0) {
			*t = all[i];
			return 0;
		}
	return -1;
}

/*
 * Derived values come first, in conf_derive(): defaults that depend on
 * other keys, the parsed URL and the names built from several keys.
 * Only then do the rules across keys in conf_checks[] run, so they see
 * every key of the file whatever its order, and the values they check
 * are final.
 */

/* The exchange type, the names of wire spec 1.2, the default binding. */
static void
derive_topology(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	if (exchange_type_parse(cfg->exchange_type_name,
	    &cfg->exchange_type) == -1) {
		/* eventsource-py silently declares topic; we refuse. */
		conf_errx(ctx, conf_seen(ctx, "exchange_type"),
		    "exchange_type: \"%.32s\" is not one of topic, direct, "
		    "fanout, headers", cfg->exchange_type_name);
		cfg->exchange_type = EVBUS_EXCHANGE_TOPIC;
	}

	free(cfg->queue_name);
	free(cfg->dlq_exchange_name);
	free(cfg->dlq_queue_name);
	xasprintf(&cfg->queue_name, "%s.%s", cfg->exchange_name,
	    cfg->consumer_group);
	xasprintf(&cfg->dlq_exchange_name, "%s%s", cfg->exchange_name,
	    cfg->dlq_exchange_suffix);
	xasprintf(&cfg->dlq_queue_name, "%s.dlq", cfg->queue_name);

	if (!cfg->routing_key_set) {
		free_routing_keys(cfg);
		switch (cfg->exchange_type) {
		case EVBUS_EXCHANGE_TOPIC:
			cfg->routing_keys[0] = xstrdup("#");
			break;
		case EVBUS_EXCHANGE_DIRECT:
			cfg->routing_keys[0] = xstrdup(cfg->queue_name);
			break;
		case EVBUS_EXCHANGE_FANOUT:
		case EVBUS_EXCHANGE_HEADERS:
			cfg->routing_keys[0] = xstrdup("");
			break;
		}
		cfg->nrouting_keys = 1;
	}
}

/*
 * The broker URL, then the password from the environment.  Whether the
 * URL as written holds a password is kept for check_password_file().
 */
static void
derive_url(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	const char	*env;
	char		 err[256], masked[512];

	if (evbus_url_parse(cfg->rabbitmq_url, &cfg->url, err,
	    sizeof(err)) == -1) {
		evbus_url_mask(cfg->rabbitmq_url, masked, sizeof(masked));
		conf_errx(ctx, conf_seen(ctx, "rabbitmq_url"),
		    "rabbitmq_url: \"%s\": %s", masked, err);
		return;
	}
	ctx->url_ok = 1;
	ctx->url_password = cfg->url.has_password;

	if ((env = getenv(EVBUS_PASSWORD_ENV)) != NULL && *env != '\0') {
		if (strlen(env) >= sizeof(cfg->url.password)) {
			conf_errx(ctx, NULL, "%s is too long (at most %zu "
			    "bytes)", EVBUS_PASSWORD_ENV,
			    sizeof(cfg->url.password) - 1);
			return;
		}
		strlcpy(cfg->url.password, env, sizeof(cfg->url.password));
		cfg->url.has_password = 1;
	}
}

static int
facility_parse(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcasecmp(name, facilities[i].name) == 0)
			return facilities[i].code;
	return -1;
}

/* Values that depend on other keys, or are parsed from a key's string. */
static void
conf_derive(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	char	 host[256];

	if (cfg->consumer_name == NULL) {
		if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
			strlcpy(host, "evbus", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		cfg->consumer_name = xstrdup(host);
	}
	derive_topology(ctx, cfg);
	derive_url(ctx, cfg);
	if ((cfg->syslog_facility_code =
	    facility_parse(cfg->syslog_facility)) == -1) {
		conf_errx(ctx, conf_seen(ctx, "syslog_facility"),
		    "syslog_facility: \"%.32s\" is not a syslog facility "
		    "(daemon, user, local0..local7, ...)",
		    cfg->syslog_facility);
		cfg->syslog_facility_code = LOG_DAEMON;
	}
}

/* Consumer tags are <consumer_name>-<index>, index up to 255. */
static void
check_consumer_tag(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	size_t	 len;

	if ((len = strlen(cfg->consumer_name)) > EVBUS_NAME_MAX - 4)
		conf_errx(ctx, conf_seen(ctx, "consumer_name"), "consumer_name: "
		    "%zu bytes, longer than the %d a consumer tag leaves for "
		    "it", len, EVBUS_NAME_MAX - 4);
}

/* Report an AMQP entity name longer than a short string allows. */
static void
check_name_len(struct conf_ctx *ctx, const config_setting_t *s,
    const char *what, const char *name)
{
	size_t	 len = strlen(name);

	if (len > EVBUS_NAME_MAX)
		conf_errx(ctx, s, "%s \"%.40s...\" is %zu bytes, longer than "
		    "the %d an AMQP name may have", what, name, len,
		    EVBUS_NAME_MAX);
}

/* Names built from several keys must still be AMQP names. */
static void
check_amqp_names(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	const config_setting_t	*sx = conf_seen(ctx, "exchange_name");
	const config_setting_t	*sg = conf_seen(ctx, "consumer_group");
	const config_setting_t	*ss = conf_seen(ctx, "dlq_exchange_suffix");

	if (strncmp(cfg->exchange_name, "amq.", 4) == 0)
		conf_errx(ctx, sx, "exchange_name: \"%.32s\": names beginning "
		    "with \"amq.\" are reserved by the broker",
		    cfg->exchange_name);
	check_name_len(ctx, sx, "exchange_name", cfg->exchange_name);
	/* One overlong part makes every longer name too long: say it once. */
	if (strlen(cfg->exchange_name) <= EVBUS_NAME_MAX)
		check_name_len(ctx, sg != NULL ? sg : sx,
		    "queue name (exchange_name.consumer_group)",
		    cfg->queue_name);
	if (cfg->enable_dlq && strlen(cfg->queue_name) <= EVBUS_NAME_MAX) {
		check_name_len(ctx, ss != NULL ? ss : sx,
		    "DLQ exchange name (exchange_name + dlq_exchange_suffix)",
		    cfg->dlq_exchange_name);
		check_name_len(ctx, sg != NULL ? sg : sx,
		    "DLQ queue name (queue name + \".dlq\")",
		    cfg->dlq_queue_name);
	}
}

/* Mutual TLS needs the certificate and its key. */
static void
check_tls_pair(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	if (cfg->cert_file != NULL && cfg->key_file == NULL)
		conf_errx(ctx, conf_seen(ctx, "cert_file"), "cert_file is set "
		    "but key_file is not; mutual TLS needs both");
	else if (cfg->key_file != NULL && cfg->cert_file == NULL)
		conf_errx(ctx, conf_seen(ctx, "key_file"), "key_file is set "
		    "but cert_file is not; mutual TLS needs both");
}

/* Of two settings, the one nearer the top (the main file first). */
static const config_setting_t *
setting_first(const config_setting_t *a, const config_setting_t *b)
{
	int	 ia, ib;

	if (a == NULL || b == NULL)
		return a != NULL ? a : b;
	ia = config_setting_source_file(a) != NULL;
	ib = config_setting_source_file(b) != NULL;
	if (ia != ib)
		return ia ? b : a;
	return config_setting_source_line(b) < config_setting_source_line(a) ?
	    b : a;
}

/*
 * TLS files with a plaintext URL: eventsource-py's trap (wire spec
 * 14.10), a connection the operator believes encrypted that is not.
 * Reported at the first TLS key of the file.
 */
static void
check_tls_url(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	static const char *const keys[] = { "ca_file", "cert_file",
	    "key_file" };
	const char		*files[] = { cfg->ca_file, cfg->cert_file,
	    cfg->key_file };
	const config_setting_t	*s = NULL, *u;
	char			 set[64] = "";
	size_t			 i;

	if (!ctx->url_ok || cfg->url.tls)
		return;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (files[i] == NULL)
			continue;
		s = setting_first(s, conf_seen(ctx, keys[i]));
		if (set[0] != '\0')
			strlcat(set, ", ", sizeof(set));
		strlcat(set, keys[i], sizeof(set));
	}
	if (set[0] == '\0')
		return;
	if ((u = conf_seen(ctx, "rabbitmq_url")) != NULL &&
	    config_setting_source_file(u) == config_setting_source_file(s))
		conf_errx(ctx, s, "TLS files (%s) are set but rabbitmq_url "
		    "(line %u) is amqp://, plaintext, so they would not be "
		    "used; use an amqps:// URL for TLS, or remove them", set,
		    config_setting_source_line(u));
	else
		conf_errx(ctx, s, "TLS files (%s) are set but rabbitmq_url "
		    "is amqp://, plaintext, so they would not be used; use an "
		    "amqps:// URL for TLS, or remove them", set);
}

/* retry.c's rules, reported at the key each one is about. */
static void
check_retry_policy(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	const config_setting_t	*s;
	char			 err[256];

	if (evbus_retry_policy_check(&cfg->retry, err, sizeof(err)) == 0)
		return;
	if (strncmp(err, "base_delay", 10) == 0)
		s = conf_seen(ctx, "retry_base_delay");
	else if (strncmp(err, "max_delay", 9) == 0)
		s = conf_seen(ctx, "retry_max_delay");
	else if (strncmp(err, "jitter", 6) == 0)
		s = conf_seen(ctx, "retry_jitter");
	else
		s = conf_seen(ctx, "max_retries");
	conf_errx(ctx, s, "retry policy: %s", err);
}

/* The reconnect backoff starts below its cap. */
static void
check_reconnect_backoff(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	const config_setting_t	*s;

	if (cfg->reconnect_max_delay >= cfg->reconnect_delay)
		return;
	if ((s = conf_seen(ctx, "reconnect_max_delay")) == NULL)
		s = conf_seen(ctx, "reconnect_delay");
	conf_errx(ctx, s, "reconnect_max_delay %g is less than "
	    "reconnect_delay %g", cfg->reconnect_max_delay,
	    cfg->reconnect_delay);
}

/* A file holding the broker password is readable by its owner only. */
static void
check_password_file(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	const config_setting_t	*s = conf_seen(ctx, "rabbitmq_url");
	const char		*file;
	char			*path = NULL;
	struct stat		 st;
	int			 mode;

	if (s == NULL || !ctx->url_password)
		return;
	mode = ctx->mode;
	if ((file = config_setting_source_file(s)) != NULL) {
		/* The URL sits in an @include'd file. */
		if (file[0] != '/' && ctx->dir != NULL)
			xasprintf(&path, "%s/%s", ctx->dir, file);
		else
			path = xstrdup(file);
		mode = stat(path, &st) == 0 ? (int)st.st_mode : -1;
	} else
		file = ctx->name;
	if (mode != -1 && (mode & (S_IRGRP | S_IROTH)))
		conf_errx(ctx, s, "rabbitmq_url holds a password but %s is "
		    "readable by %s (mode %04o); run chmod 600 %s, or remove "
		    "the password from the URL and set %s instead", file,
		    (mode & S_IROTH) ? "everyone" : "its group", mode & 07777,
		    path != NULL ? path : file, EVBUS_PASSWORD_ENV);
	free(path);
}

/* A unix socket path fits in sun_path. */
static void
check_socket_path(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	struct sockaddr_un	 sa;
	size_t			 len;

	if ((len = strlen(cfg->status_socket)) >= sizeof(sa.sun_path))
		conf_errx(ctx, conf_seen(ctx, "status_socket"), "status_socket: "
		    "path is %zu bytes, a unix socket path may have at most "
		    "%zu", len, sizeof(sa.sun_path) - 1);
}

/* Why getpwnam() or getgrnam() found nothing, from its errno. */
static const char *
lookup_error(int err, const char *notfound)
{
	/* errno 0, or one of these, means "no such name" (getpwnam(3)). */
	if (err == 0 || err == ENOENT || err == ESRCH || err == EBADF ||
	    err == EPERM)
		return notfound;
	return strerror(err);
}

/*
 * user and group name accounts of this host (EVBUS_CONF_ACCOUNTS).  The
 * ids are kept: without a group, the user's primary group.
 */
static void
check_accounts(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	struct passwd	*pw = NULL;
	struct group	*gr = NULL;

	if (cfg->user != NULL) {
		errno = 0;
		if ((pw = getpwnam(cfg->user)) == NULL)
			conf_errx(ctx, conf_seen(ctx, "user"),
			    "user: \"%.64s\": %s", cfg->user,
			    lookup_error(errno, "no such user on this host"));
		else
			cfg->uid = pw->pw_uid;
	}
	if (cfg->group != NULL) {
		errno = 0;
		if ((gr = getgrnam(cfg->group)) == NULL)
			conf_errx(ctx, conf_seen(ctx, "group"), "group: "
			    "\"%.64s\": %s", cfg->group,
			    lookup_error(errno, "no such group on this host"));
		else
			cfg->gid = gr->gr_gid;
	} else if (pw != NULL)
		cfg->gid = pw->pw_gid;
}

/*
 * The directory that will hold status_socket or pid_file exists, else
 * evbusd passes its checks and then fails to start, again and again
 * under a supervisor that restarts it.  Only where the file sets the
 * key: the default directory is systemd's RuntimeDirectory=, which
 * exists only while the service runs.
 */
static void
check_run_dir(struct conf_ctx *ctx, const char *key, const char *path)
{
	const config_setting_t	*s = conf_seen(ctx, key);
	struct stat		 st;
	char			*dir, *slash;
	const char		*why = NULL;

	if (s == NULL)
		return;
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = xstrdup(".");
	} else
		slash[slash == dir ? 1 : 0] = '\0';
	if (stat(dir, &st) == -1)
		why = errno == ENOENT ? "does not exist" : strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "is not a directory";
	if (why != NULL)
		conf_errx(ctx, s, "%s: the directory %s %s; create it, or "
		    "choose another path", key, dir, why);
	free(dir);
}

static void
check_run_dirs(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	check_run_dir(ctx, "status_socket", cfg->status_socket);
	check_run_dir(ctx, "pid_file", cfg->pid_file);
}

/*
 * The rules across keys, run in this order after conf_derive().  A rule
 * with flags runs only when the load asked for one of them.
 */
static const struct conf_check {
	const char	*rule;
	void		(*check)(struct conf_ctx *, struct evbus_config *);
	int		 flags;
} conf_checks[] = {
	{ "consumer tags <consumer_name>-<index> fit an AMQP short string",
	  check_consumer_tag, 0 },
	{ "exchange and queue names are AMQP names", check_amqp_names, 0 },
	{ "cert_file and key_file come together", check_tls_pair, 0 },
	{ "TLS files need an amqps:// URL", check_tls_url, 0 },
	{ "retry delays: base <= max, jitter 0..1", check_retry_policy, 0 },
	{ "reconnect_delay <= reconnect_max_delay", check_reconnect_backoff,
	  0 },
	{ "a password in rabbitmq_url: file mode 0600", check_password_file,
	  0 },
	{ "status_socket fits sun_path", check_socket_path, 0 },
	{ "user and group exist", check_accounts, EVBUS_CONF_ACCOUNTS },
	{ "status_socket and pid_file have a directory", check_run_dirs,
	  EVBUS_CONF_DIRS },
};

/* Derive what depends on other keys, then check the rules across keys. */
static void
conf_finish(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	const struct conf_check	*c;
	size_t			 i;

	conf_derive(ctx, cfg);
	for (i = 0; i < sizeof(conf_checks) / sizeof(conf_checks[0]); i++) {
		c = &conf_checks[i];
		if (c->flags == 0 || (c->flags & ctx->flags))
			c->check(ctx, cfg);
	}
}

struct evbus_config *
evbus_config_defaults(void)
{
	struct evbus_conf_errors	 errs = { NULL, 0 };
	struct conf_ctx			 ctx;
	struct evbus_config		*cfg;

	memset(&ctx, 0, sizeof(ctx));
	ctx.name = "(defaults)";
	ctx.mode = -1;
	ctx.errs = &errs;
	cfg = conf_new();
	/*
	 * The defaults are valid by construction; only an overlong
	 * EVBUS_PASSWORD could complain, and then it is simply not used.
	 */
	conf_finish(&ctx, cfg);
	free(ctx.where);
	evbus_conf_errors_clear(&errs);
	return cfg;
}

/* Parse text (the whole file) and build the config from it. */
static struct evbus_config *
conf_load_text(const char *text, const char *name, const char *dir, int mode,
    int flags, struct evbus_conf_errors *errs)
{
	struct evbus_conf_errors	 scratch = { NULL, 0 };
	struct conf_ctx			 ctx;
	struct evbus_config		*cfg;
	config_t			*lc;
	const char			*efile;
	char				*line;

	memset(&ctx, 0, sizeof(ctx));
	ctx.name = name;
	ctx.text = text;
	ctx.dir = dir != NULL ? xstrdup(dir) : NULL;
	ctx.mode = mode;
	ctx.flags = flags;
	ctx.errs = errs != NULL ? errs : &scratch;

	lc = xcalloc(1, sizeof(*lc));
	config_init(lc);
	if (dir != NULL)
		config_set_include_dir(lc, dir);
	if (config_read_string(lc, text) != CONFIG_TRUE) {
		efile = config_error_file(lc) != NULL ?
		    config_error_file(lc) : name;
		if (config_error_line(lc) > 0)
			xasprintf(&line, "%s:%d: %s", efile,
			    config_error_line(lc), config_error_text(lc));
		else
			xasprintf(&line, "%s: %s", efile,
			    config_error_text(lc));
		ctx.errs->msgs = xreallocarray(ctx.errs->msgs,
		    ctx.errs->n + 1, sizeof(*ctx.errs->msgs));
		ctx.errs->msgs[ctx.errs->n++] = line;
		config_destroy(lc);
		free(lc);
		free(ctx.dir);
		evbus_conf_errors_clear(&scratch);
		return NULL;
	}

	cfg = conf_new();
	parse_tree(&ctx, lc, cfg);
	conf_finish(&ctx, cfg);
	cfg->tree = lc;
	conf_sort_errors(&ctx);
	free(ctx.where);
	free(ctx.dir);
	evbus_conf_errors_clear(&scratch);
	if (ctx.nerr > 0) {
		evbus_config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct evbus_config *
evbus_config_load_string_flags(const char *text, const char *name, int flags,
    struct evbus_conf_errors *errs)
{
	return conf_load_text(text, name != NULL ? name : "(string)", NULL, -1,
	    flags, errs);
}

struct evbus_config *
evbus_config_load_string(const char *text, const char *name,
    struct evbus_conf_errors *errs)
{
	return evbus_config_load_string_flags(text, name, 0, errs);
}

/* Append a problem about the file as a whole (no line). */
static void
file_errx(struct evbus_conf_errors *errs, const char *path, const char *fmt,
    ...) __attribute__((__format__(printf, 3, 4)));

static void
file_errx(struct evbus_conf_errors *errs, const char *path, const char *fmt,
    ...)
{
	struct conf_ctx	 ctx;
	char		 msg[512];
	va_list		 ap;

	if (errs == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memset(&ctx, 0, sizeof(ctx));
	ctx.name = path;
	ctx.errs = errs;
	conf_errx(&ctx, NULL, "%s", msg);
	free(ctx.where);
}

struct evbus_config *
evbus_config_load(const char *path, struct evbus_conf_errors *errs)
{
	return evbus_config_load_flags(path, 0, errs);
}

struct evbus_config *
evbus_config_load_flags(const char *path, int flags,
    struct evbus_conf_errors *errs)
{
	struct evbus_config	*cfg;
	struct stat		 st;
	char			*text, *dir, *slash;
	size_t			 off = 0;
	ssize_t			 n;
	int			 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		file_errx(errs, path, "cannot open: %s", strerror(errno));
		return NULL;
	}
	/* Mode and contents from one open file, so they belong together. */
	if (fstat(fd, &st) == -1) {
		file_errx(errs, path, "fstat: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		file_errx(errs, path, "not a regular file");
		close(fd);
		return NULL;
	}
	if (st.st_size > CONF_MAX_SIZE) {
		file_errx(errs, path, "%lld bytes, larger than the %d a "
		    "config file may have", (long long)st.st_size,
		    CONF_MAX_SIZE);
		close(fd);
		return NULL;
	}
	text = xmalloc((size_t)st.st_size + 1);
	while (off < (size_t)st.st_size) {
		n = read(fd, text + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			file_errx(errs, path, "read: %s", strerror(errno));
			free(text);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	text[off] = '\0';
	close(fd);

	/* @include "x" is relative to the directory of the file. */
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir ? 1 : 0] = '\0';
	else {
		free(dir);
		dir = xstrdup(".");
	}

	cfg = conf_load_text(text, path, dir, (int)st.st_mode, flags, errs);
	free(dir);
	free(text);
	if (cfg != NULL)
		cfg->path = xstrdup(path);
	return cfg;
}

void
evbus_config_free(struct evbus_config *cfg)
{
	const struct conf_key	*k;
	size_t			 i;

	if (cfg == NULL)
		return;
	/* The password must not linger in freed memory. */
	if (cfg->rabbitmq_url != NULL)
		explicit_bzero(cfg->rabbitmq_url, strlen(cfg->rabbitmq_url));
	explicit_bzero(&cfg->url, sizeof(cfg->url));
	for (i = 0; i < NKEYS; i++) {
		k = &conf_keys[i];
		if (k->type == CONF_STRING || k->type == CONF_STRING_OPT)
			free(*FIELD(cfg, k, char *));
	}
	free_routing_keys(cfg);
	free(cfg->path);
	free(cfg->queue_name);
	free(cfg->dlq_exchange_name);
	free(cfg->dlq_queue_name);
	if (cfg->tree != NULL) {
		config_destroy(cfg->tree);
		free(cfg->tree);
	}
	free(cfg);
}

void
evbus_conf_errors_clear(struct evbus_conf_errors *errs)
{
	size_t	 i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

void *
evbus_config_handler_section(const struct evbus_config *cfg,
    const char *name)
{
	config_setting_t	*h, *s;

	if (cfg == NULL || cfg->tree == NULL || name == NULL)
		return NULL;
	if ((h = config_lookup(cfg->tree, CONF_HANDLERS)) == NULL ||
	    !config_setting_is_group(h))
		return NULL;
	if ((s = config_setting_get_member(h, name)) == NULL ||
	    !config_setting_is_group(s))
		return NULL;
	return s;
}

const char *
evbus_exchange_type_str(enum evbus_exchange_type t)
{
	switch (t) {
	case EVBUS_EXCHANGE_TOPIC:
		return "topic";
	case EVBUS_EXCHANGE_DIRECT:
		return "direct";
	case EVBUS_EXCHANGE_FANOUT:
		return "fanout";
	case EVBUS_EXCHANGE_HEADERS:
		return "headers";
	}
	return "unknown";
}

/* Print text as "# " comment lines wrapped at 76 columns. */
static void
sample_comment(FILE *fp, const char *text)
{
	const char	*p = text, *word;
	size_t		 col = 0, wl;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		word = p;
		wl = strcspn(p, " ");
		if (col > 0 && col + 1 + wl > 76) {
			fputc('\n', fp);
			col = 0;
		}
		if (col == 0) {
			fputs("#", fp);
			col = 1;
		}
		fprintf(fp, " %.*s", (int)wl, word);
		col += 1 + wl;
		p += wl;
	}
	if (col > 0)
		fputc('\n', fp);
}

/* A libconfig string literal. */
static void
sample_string(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

/* The default of k as libconfig text, or its example when it has none. */
static void
sample_value(FILE *fp, const struct conf_key *k)
{
	double	 d;

	if (k->example != NULL) {
		fputs(k->example, fp);
		return;
	}
	switch (k->type) {
	case CONF_BOOL:
		fputs(k->def_int ? "true" : "false", fp);
		break;
	case CONF_INT:
	case CONF_INT64_OPT:
		fprintf(fp, "%lld", k->def_int);
		break;
	case CONF_FLOAT:
		d = k->def_float;
		if (d == floor(d) && fabs(d) < 1e15)
			fprintf(fp, "%.1f", d);
		else
			fprintf(fp, "%.15g", d);
		break;
	case CONF_STRING:
	case CONF_STRING_OPT:
		sample_string(fp, k->def_str != NULL ? k->def_str : "");
		break;
	case CONF_STRING_LIST:
		fputs("\"#\"", fp);
		break;
	case CONF_MODE:
		fprintf(fp, "\"%04llo\"", (unsigned long long)k->def_int);
		break;
	}
}

void
evbus_config_write_sample(FILE *fp)
{
	const struct conf_key	*k;
	char			 range[64], *help;
	size_t			 i;

	fputs(
"# evbusd.conf: configuration of evbusd, the evbus event bus service.\n"
"#\n"
"# libconfig syntax: key = value; strings in double quotes, booleans\n"
"# true/false, lists in [ ].  Every key is shown commented out with its\n"
"# default (or, for keys unset by default, an example); uncomment a line\n"
"# to change it.  Unknown keys are errors.  Check a file with\n"
"# \"evbusd -n -f FILE\".\n"
"#\n"
"# The broker password: set it in the environment variable\n"
"# " EVBUS_PASSWORD_ENV ", or if it must be in rabbitmq_url, make this file\n"
"# readable by its owner only (chmod 600); evbusd refuses a file that\n"
"# holds a password and is readable by others.\n", fp);

	for (i = 0; i < NKEYS; i++) {
		k = &conf_keys[i];
		if (k->section != NULL)
			fprintf(fp, "\n\n# --- %s ---\n", k->section);
		fputc('\n', fp);
		key_range_str(k, range, sizeof(range));
		if (range[0] != '\0')
			xasprintf(&help, "%s [%s]", k->help, range);
		else
			help = xstrdup(k->help);
		sample_comment(fp, help);
		free(help);
		fprintf(fp, "#%s = ", k->name);
		sample_value(fp, k);
		fputs(";\n", fp);
	}

	fputs(
"\n\n# --- Handler sections ---\n"
"\n"
"# handlers.<name> = { ... } is passed, unchecked, to the handler plugin\n"
"# called <name>; see the plugin's documentation for its keys.\n"
"#handlers = {\n"
"#\tinventory = {\n"
"#\t\twarehouse = \"north\";\n"
"#\t};\n"
"#};\n", fp);
}
