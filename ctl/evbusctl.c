/*
 * evbusctl.c: command dispatch and what every command shares: options,
 * configuration, the broker connection.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl.h"
#include "log.h"

#define DEFAULT_CONF	SYSCONFDIR "/evbus/evbusd.conf"

static const struct ctl_cmd commands[] = {
	{ "status", cmd_status, "status [--json] [--socket PATH]",
	  "aggregate statistics of the running evbusd, per handler and worker" },
	{ "health", cmd_health, "health [--json] [--broker] [--socket PATH]",
	  "health of the running evbusd (exit 1 when unhealthy, 69 when "
	  "evbusd does not answer); --broker checks the broker alone" },
	{ "queue", cmd_queue, "queue [--json] [--broker] [--socket PATH]",
	  "the group's queue: messages, consumers, state; from evbusd, "
	  "else (or with --broker) from the broker, the source named" },
	{ "workers", cmd_workers, "workers [--json] [--socket PATH]",
	  "the worker processes of the running evbusd" },
	{ "metrics", cmd_metrics, "metrics [--socket PATH]",
	  "Prometheus/OpenMetrics text" },
	{ "scale", cmd_scale, "scale N|+N|-N", "set the number of workers" },
	{ "reload", cmd_reload, "reload",
	  "re-read the configuration and plugins (like SIGHUP)" },
	{ "stop", cmd_stop, "stop", "stop evbusd gracefully (like SIGTERM)" },
	{ "dlq", cmd_dlq,
	  "dlq count | list [--limit N] [--body] | replay ID... | replay --all\n"
	  "\t\t[--filter event_type=T] [--to-group] | purge [--yes]",
	  "inspect and manage the group's dead-letter queue" },
	{ "publish", cmd_publish,
	  "publish [--ordered] [--best-effort] [--window N] [--no-declare]\n"
	  "\t\t[--traceparent TP] [--tracestate TS] [-i FILE | JSON]",
	  "publish events (one JSON object, a JSON array or JSON lines)" },
	{ "declare", cmd_declare, "declare",
	  "declare the exchanges, queues and bindings of the configuration" },
	{ "bind", cmd_bind, "bind [--event-type] KEY...",
	  "bind the group's queue to the exchange with a routing key or "
	  "an Aggregate.EventType" },
	{ "unbind", cmd_unbind, "unbind [--event-type] KEY...",
	  "remove such a binding" },
	{ NULL, NULL, NULL, NULL }
};

void
ctl_warnx(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "evbusctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
usage(FILE *fp)
{
	const struct ctl_cmd	*c;

	fprintf(fp, "usage: evbusctl [-jv] [-f FILE] [--url URL] COMMAND [ARGS]\n"
	    "\n"
	    "  -f, --config FILE  configuration (default %s if it exists)\n"
	    "      --url URL      broker URL, overrides rabbitmq_url\n"
	    "                     (password also from $" EVBUS_PASSWORD_ENV ")\n"
	    "  -j, --json         machine-readable output\n"
	    "  -v, --verbose      say more\n"
	    "  -h, --help         this text\n"
	    "  -V, --version      show the version\n"
	    "\ncommands:\n", DEFAULT_CONF);
	for (c = commands; c->name != NULL; c++)
		fprintf(fp, "  %s\n\t%s\n", c->usage, c->help);
}

int
ctl_connect(struct ctl *ctl)
{
	struct evbus_config	*c = ctl->conf;
	struct evbus_amqp_opts	 o;
	char			 name[128];
	int			 rc;

	if (ctl->connected)
		return 0;
	memset(&o, 0, sizeof(o));
	o.heartbeat = c->heartbeat;
	o.connect_timeout = c->connect_timeout;
	snprintf(name, sizeof(name), "evbusctl-%ld", (long)getpid());
	o.connection_name = name;
	o.ca_file = c->ca_file;
	o.cert_file = c->cert_file;
	o.key_file = c->key_file;
	o.verify = c->verify_ssl;
	if (c->url.tls && !c->verify_ssl)
		ctl_warnx("WARNING: TLS certificate verification is OFF "
		    "(verify_ssl = false): the broker is not authenticated");
	/* A cluster: the first node that answers. */
	if ((rc = evbus_amqp_connect_any(&ctl->amqp, &o, c->urls, c->nurl, 0,
	    &ctl->node)) != 0) {
		if (!ctl->quiet)
			ctl_warnx("%s", ctl->amqp.err);
		return -1;
	}
	if (evbus_amqp_channel_open(&ctl->amqp, CTL_CHANNEL) != 0) {
		if (!ctl->quiet)
			ctl_warnx("%s", ctl->amqp.err);
		evbus_amqp_close(&ctl->amqp);
		return -1;
	}
	ctl->connected = 1;
	return 0;
}

void
ctl_disconnect(struct ctl *ctl)
{
	if (!ctl->connected)
		return;
	evbus_amqp_channel_close(&ctl->amqp, CTL_CHANNEL);
	evbus_amqp_close(&ctl->amqp);
	ctl->connected = 0;
}

/* Load the configuration: the named file, the default file, or defaults. */
static int
load_conf(struct ctl *ctl, const char *path, int explicit)
{
	struct evbus_conf_errors errs = { NULL, 0 };
	size_t			 i;

	if (!explicit && access(path, F_OK) == -1) {
		ctl->conf = evbus_config_defaults();
		return 0;
	}
	if ((ctl->conf = evbus_config_load(path, &errs)) == NULL) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		evbus_conf_errors_clear(&errs);
		ctl_warnx("configuration %s is not valid", path);
		return -1;
	}
	ctl->conf_path = path;
	return 0;
}

static int
set_url(struct ctl *ctl, const char *s)
{
	struct evbus_url	 u;
	char			 err[256];
	const char		*pw;

	if (evbus_url_parse(s, &u, err, sizeof(err)) == -1) {
		char	 masked[512];

		ctl_warnx("--url %s: %s", evbus_url_mask(s, masked,
		    sizeof(masked)), err);
		return -1;
	}
	if (!u.has_password && u.has_user &&
	    (pw = getenv(EVBUS_PASSWORD_ENV)) != NULL)
		snprintf(u.password, sizeof(u.password), "%s", pw);
	ctl->conf->url = u;
	ctl->conf->urls[0] = u;
	ctl->conf->nurl = 1;
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'f' },
		{ "url",	required_argument,	NULL, 'u' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl		 ctl;
	const struct ctl_cmd	*c;
	const char		*path = DEFAULT_CONF, *url = NULL;
	int			 ch, explicit = 0, rc;

	memset(&ctl, 0, sizeof(ctl));
	/*
	 * A status socket or broker that closes early must give an error
	 * message and an exit status, not a silent death by SIGPIPE (141).
	 */
	signal(SIGPIPE, SIG_IGN);
	log_init(1, 0, 0);
	log_procinit("evbusctl");
	while ((ch = getopt_long(argc, argv, "+f:u:jvhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			explicit = 1;
			break;
		case 'u':
			url = optarg;
			break;
		case 'j':
			ctl.json = 1;
			break;
		case 'v':
			ctl.verbose++;
			log_setverbose(ctl.verbose);
			break;
		case 'h':
			usage(stdout);
			return CTL_EX_OK;
		case 'V':
			printf("evbusctl %s\n", PACKAGE_VERSION);
			return CTL_EX_OK;
		default:
			usage(stderr);
			return CTL_EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return CTL_EX_USAGE;
	}
	for (c = commands; c->name != NULL; c++)
		if (strcmp(c->name, argv[0]) == 0)
			break;
	if (c->name == NULL) {
		ctl_warnx("unknown command: %s (see evbusctl --help)", argv[0]);
		return CTL_EX_USAGE;
	}
	if (load_conf(&ctl, path, explicit) == -1)
		return CTL_EX_CONFIG;
	if (url != NULL && set_url(&ctl, url) == -1)
		return CTL_EX_USAGE;
	/* Commands parse their own options, like git's. */
	optind = 0;
	rc = c->fn(&ctl, argc, argv);
	ctl_disconnect(&ctl);
	evbus_config_free(ctl.conf);
	return rc;
}
