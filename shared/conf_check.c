/*
 * conf_check.c: what in evbusd.conf involves more than one key, run by
 * conf_finish() once every key of the file is parsed.
 *
 * First the derived values (conf_derive()): defaults that depend on
 * other keys, the parsed URL and password, the exchange type and
 * facility parsed from their strings, the names built from several keys
 * (wire spec 1.2).  Then the rules across keys, a short named list
 * (conf_checks[]), in order; some (accounts, run directories) only when
 * the caller asks.  So a rule sees every key of the file whatever its
 * order, and the values it checks are final.
 *
 * Problems are reported through conf_errx() at the key they are about;
 * nothing here logs or exits, and nothing here reads the file (conf.c
 * does that, against the table in conf_table.c).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "conf_int.h"
#include "xmalloc.h"

static void	 check_consumer_tag(struct conf_ctx *, struct evbus_config *);
static void	 check_amqp_names(struct conf_ctx *, struct evbus_config *);
static void	 check_tls_pair(struct conf_ctx *, struct evbus_config *);
static void	 check_quorum(struct conf_ctx *, struct evbus_config *);
static void	 check_tls_url(struct conf_ctx *, struct evbus_config *);
static void	 check_retry_policy(struct conf_ctx *, struct evbus_config *);
static void	 check_reconnect_backoff(struct conf_ctx *,
		    struct evbus_config *);
static void	 check_password_file(struct conf_ctx *, struct evbus_config *);
static void	 check_socket_path(struct conf_ctx *, struct evbus_config *);
static void	 check_http_listen(struct conf_ctx *, struct evbus_config *);
static void	 check_accounts(struct conf_ctx *, struct evbus_config *);
static void	 check_run_dirs(struct conf_ctx *, struct evbus_config *);
static void	 conf_derive(struct conf_ctx *, struct evbus_config *);

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
	{ "quorum queues are durable, never auto-deleted", check_quorum, 0 },
	{ "TLS files need an amqps:// URL", check_tls_url, 0 },
	{ "retry delays: base <= max, jitter 0..1", check_retry_policy, 0 },
	{ "reconnect_delay <= reconnect_max_delay", check_reconnect_backoff,
	  0 },
	{ "a password in rabbitmq_url: file mode 0600", check_password_file,
	  0 },
	{ "status_socket fits sun_path", check_socket_path, 0 },
	{ "http_listen is an IP address and a port", check_http_listen, 0 },
	{ "user and group exist", check_accounts, EVBUS_CONF_ACCOUNTS },
	{ "status_socket and pid_file have a directory", check_run_dirs,
	  EVBUS_CONF_DIRS },
};

/* Derive what depends on other keys, then check the rules across keys. */
void
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

/*
 * Derived values: conf_derive() and the parts it calls.
 */

/* The exchange type by name, any case; -1 when it is none of them. */
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

	if (strcasecmp(cfg->queue_type_name, "quorum") == 0)
		cfg->quorum = 1;
	else if (strcasecmp(cfg->queue_type_name, "classic") == 0)
		cfg->quorum = 0;
	else
		conf_errx(ctx, conf_seen(ctx, "queue_type"), "queue_type: "
		    "\"%.32s\" is not classic or quorum",
		    cfg->queue_type_name);

	free(cfg->queue_name);
	free(cfg->dlq_exchange_name);
	free(cfg->dlq_queue_name);
	xasprintf(&cfg->queue_name, "%s.%s", cfg->exchange_name,
	    cfg->consumer_group);
	xasprintf(&cfg->dlq_exchange_name, "%s%s", cfg->exchange_name,
	    cfg->dlq_exchange_suffix);
	xasprintf(&cfg->dlq_queue_name, "%s.dlq", cfg->queue_name);

	if (strcasecmp(cfg->ordering_name, "aggregate") == 0)
		cfg->ordered = 1;
	else if (strcasecmp(cfg->ordering_name, "none") == 0)
		cfg->ordered = 0;
	else
		conf_errx(ctx, conf_seen(ctx, "ordering"), "ordering: "
		    "\"%.32s\" is not none or aggregate", cfg->ordering_name);
	free(cfg->partition_exchange_name);
	xasprintf(&cfg->partition_exchange_name, "%s.partitions",
	    cfg->queue_name);

	if (!cfg->routing_key_set) {
		conf_free_routing_keys(cfg);
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
 * The broker URLs (one, or a cluster's nodes), then the password from the
 * environment for each.  Whether a URL as written holds a password is
 * kept for check_password_file().  All must agree on TLS: one setting of
 * ca_file/verify_ssl serves them all.
 */
static void
derive_url(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	const char	*env, *text;
	char		 err[256], masked[512];
	size_t		 i, n = cfg->nurls > 0 ? cfg->nurls : 1;
	int		 bad = 0;

	cfg->nurl = 0;
	for (i = 0; i < n; i++) {
		struct evbus_url *u = &cfg->urls[cfg->nurl];

		text = cfg->nurls > 0 ? cfg->rabbitmq_urls[i] :
		    cfg->rabbitmq_url;
		if (evbus_url_parse(text, u, err, sizeof(err)) == -1) {
			evbus_url_mask(text, masked, sizeof(masked));
			if (cfg->nurls > 1)
				conf_errx(ctx, conf_seen(ctx, "rabbitmq_url"),
				    "rabbitmq_url[%zu]: \"%s\": %s", i, masked,
				    err);
			else
				conf_errx(ctx, conf_seen(ctx, "rabbitmq_url"),
				    "rabbitmq_url: \"%s\": %s", masked, err);
			bad = 1;
			continue;
		}
		if (u->has_password)
			ctx->url_password = 1;
		if (cfg->nurl > 0 && u->tls != cfg->urls[0].tls) {
			conf_errx(ctx, conf_seen(ctx, "rabbitmq_url"),
			    "rabbitmq_url[%zu]: %s:// among %s:// URLs: use "
			    "one scheme for every node", i,
			    u->tls ? "amqps" : "amqp",
			    cfg->urls[0].tls ? "amqps" : "amqp");
			bad = 1;
		}
		cfg->nurl++;
	}
	if (bad || cfg->nurl == 0)
		return;
	ctx->url_ok = 1;
	if ((env = getenv(EVBUS_PASSWORD_ENV)) != NULL && *env != '\0') {
		if (strlen(env) >= sizeof(cfg->url.password)) {
			conf_errx(ctx, NULL, "%s is too long (at most %zu "
			    "bytes)", EVBUS_PASSWORD_ENV,
			    sizeof(cfg->url.password) - 1);
			cfg->url = cfg->urls[0];
			return;
		}
		for (i = 0; i < cfg->nurl; i++) {
			strlcpy(cfg->urls[i].password, env,
			    sizeof(cfg->urls[i].password));
			cfg->urls[i].has_password = 1;
		}
	}
	cfg->url = cfg->urls[0];
}

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

/* A syslog facility by name, any case; -1 when it is none. */
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

/*
 * The rules of conf_checks[], in its order.
 */

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
	if (cfg->ordered && strlen(cfg->queue_name) <= EVBUS_NAME_MAX) {
		char	 last[EVBUS_NAME_MAX + 16];

		check_name_len(ctx, sg != NULL ? sg : sx, "partition exchange "
		    "name (queue name + \".partitions\")",
		    cfg->partition_exchange_name);
		snprintf(last, sizeof(last), "%.*s.p%d", EVBUS_NAME_MAX,
		    cfg->queue_name, cfg->partitions - 1);
		check_name_len(ctx, sg != NULL ? sg : sx, "partition queue "
		    "name (queue name + \".p<N>\")", last);
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
 * Quorum queues are always durable and cannot be auto-deleted: the broker
 * refuses such a declaration (406), so refuse the file instead.
 */
static void
check_quorum(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	if (!cfg->quorum)
		return;
	if (!cfg->durable)
		conf_errx(ctx, conf_seen(ctx, "durable"), "durable = false "
		    "with queue_type = \"quorum\": quorum queues are always "
		    "durable");
	if (cfg->auto_delete)
		conf_errx(ctx, conf_seen(ctx, "auto_delete"), "auto_delete = "
		    "true with queue_type = \"quorum\": quorum queues cannot "
		    "be auto-deleted");
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

/*
 * http_listen: "[address]:port", "address:port", ":port" or "port"; the
 * address is an IPv4 or bracketed IPv6 literal or "localhost", and
 * defaults to 127.0.0.1.  Names are not resolved: what a DNS lookup
 * answers must not decide which interface the metrics are exposed on.
 * Fills http_host (numeric, without brackets) and http_port.
 */
static void
check_http_listen(struct conf_ctx *ctx, struct evbus_config *cfg)
{
	const config_setting_t	*s = conf_seen(ctx, "http_listen");
	const char		*in = cfg->http_listen, *colon, *port, *errstr;
	char			 host[sizeof(cfg->http_host)];
	unsigned char		 addr[sizeof(struct in6_addr)];
	size_t			 hl;
	int			 v6 = 0;

	cfg->http_host[0] = '\0';
	cfg->http_port = 0;
	if (in == NULL)
		return;
	if (in[0] == '[') {
		if ((colon = strchr(in, ']')) == NULL || (colon[1] != ':' &&
		    colon[1] != '\0')) {
			conf_errx(ctx, s, "http_listen: \"%.64s\": an IPv6 "
			    "address is written [address]:port, e.g. "
			    "[::1]:9466", in);
			return;
		}
		hl = (size_t)(colon - in - 1);
		port = colon[1] == ':' ? colon + 2 : NULL;
		in++;
		v6 = 1;
	} else if ((colon = strrchr(in, ':')) != NULL) {
		if (strchr(in, ':') != colon) {
			conf_errx(ctx, s, "http_listen: \"%.64s\": put an IPv6 "
			    "address in brackets, e.g. [::1]:9466", in);
			return;
		}
		hl = (size_t)(colon - in);
		port = colon + 1;
	} else if (strspn(in, "0123456789") == strlen(in)) {
		hl = 0;				/* "9466" */
		port = in;
	} else {
		hl = strlen(in);		/* "127.0.0.1": no port */
		port = NULL;
	}
	if (port == NULL || *port == '\0') {
		conf_errx(ctx, s, "http_listen: \"%.64s\": no port; write "
		    "address:port, e.g. 127.0.0.1:9466", cfg->http_listen);
		return;
	}
	cfg->http_port = (int)strtonum(port, 1, 65535, &errstr);
	if (errstr != NULL) {
		conf_errx(ctx, s, "http_listen: \"%.64s\": port %.16s is %s "
		    "(1 to 65535)", cfg->http_listen, port, errstr);
		return;
	}
	if (hl >= sizeof(host))
		hl = sizeof(host) - 1;
	memcpy(host, in, hl);
	host[hl] = '\0';
	if (!v6 && (host[0] == '\0' || strcasecmp(host, "localhost") == 0))
		strlcpy(host, "127.0.0.1", sizeof(host));
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1) {
		conf_errx(ctx, s, "http_listen: \"%.64s\": \"%s\" is not an "
		    "IP address; give one (127.0.0.1, [::1], 0.0.0.0 for "
		    "every interface) or localhost: names are not resolved",
		    cfg->http_listen, host);
		cfg->http_port = 0;
		return;
	}
	strlcpy(cfg->http_host, host, sizeof(cfg->http_host));
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
