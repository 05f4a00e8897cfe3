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

static int	cmd_version(struct ctl *, int, char **);

/*
 * The commands; help.c has what each one says about itself.  help and
 * version need no configuration.
 */
static const struct ctl_cmd commands[] = {
	{ "status", cmd_status },
	{ "health", cmd_health },
	{ "queue", cmd_queue },
	{ "workers", cmd_workers },
	{ "metrics", cmd_metrics },
	{ "scale", cmd_scale },
	{ "reload", cmd_reload },
	{ "stop", cmd_stop },
	{ "dlq", cmd_dlq },
	{ "publish", cmd_publish },
	{ "declare", cmd_declare },
	{ "bind", cmd_bind },
	{ "unbind", cmd_unbind },
	{ "version", cmd_version },
	{ "help", cmd_help },
	{ NULL, NULL }
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

/*
 * Every --json output: one JSON value on one line (jq, grep and line-
 * oriented scripts read it alike), "/" unescaped.
 */
void
ctl_json_print(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* An SGR escape for code when colour is on, else "". */
const char *
ctl_sgr(const struct ctl *ctl, const char *code)
{
	static char	 buf[4][16];
	static int	 n;

	if (!ctl->color)
		return "";
	n = (n + 1) % 4;
	snprintf(buf[n], sizeof(buf[n]), "\033[%sm", code);
	return buf[n];
}

/* May fd take cursor controls (a progress line's \r\033[K)? */
int
ctl_tty_controls(int fd)
{
	const char	*term = getenv("TERM");

	return isatty(fd) && term != NULL && term[0] != '\0' &&
	    strcmp(term, "dumb") != 0;
}

/*
 * Colour on standard output: only on a terminal that is not dumb, and
 * never with NO_COLOR set to anything (no-color.org), --no-color or JSON.
 */
static int
want_color(const struct ctl *ctl, int no_color)
{
	const char	*nc = getenv("NO_COLOR");

	return !no_color && !ctl->json && (nc == NULL || nc[0] == '\0') &&
	    ctl_tty_controls(STDOUT_FILENO);
}

/* evbusctl version [--json] */
static int
cmd_version(struct ctl *ctl, int argc, char *argv[])
{
	json_object	*o;

	(void)argv;
	if (argc > 1) {
		ctl_warnx("usage: evbusctl version [--json]");
		return CTL_EX_USAGE;
	}
	if (!ctl->json) {
		printf("evbusctl %s\n", PACKAGE_VERSION);
		return CTL_EX_OK;
	}
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string("evbusctl"));
	json_object_object_add(o, "version",
	    json_object_new_string(PACKAGE_VERSION));
	ctl_json_print(o);
	json_object_put(o);
	return CTL_EX_OK;
}

/*
 * The options every command takes after its name too (git-style), taken
 * out of argv before the command parses its own: -j/--json and
 * --no-color; -h/--help prints the command's help instead.  Returns the
 * new argc, or -1 when help was asked for.  "--" ends the options.
 */
static int
common_opts(struct ctl *ctl, int argc, char *argv[], int *no_color)
{
	int	 i, j;

	for (i = j = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				argv[j++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return -1;
		if (strcmp(argv[i], "--json") == 0 ||
		    strcmp(argv[i], "-j") == 0)
			ctl->json = 1;
		else if (strcmp(argv[i], "--no-color") == 0)
			*no_color = 1;
		else
			argv[j++] = argv[i];
	}
	argv[j] = NULL;
	return j;
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
		{ "no-color",	no_argument,		NULL, 'C' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl		 ctl;
	const struct ctl_cmd	*c;
	const char		*path = CTL_DEFAULT_CONF, *url = NULL;
	int			 ch, explicit = 0, no_color = 0, n, rc;

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
		case 'C':
			no_color = 1;
			break;
		case 'v':
			ctl.verbose++;
			log_setverbose(ctl.verbose);
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_EX_OK;
		case 'V':
			printf("evbusctl %s\n", PACKAGE_VERSION);
			return CTL_EX_OK;
		default:
			fprintf(stderr, "usage: evbusctl [-jvV] [-f FILE] "
			    "[--url URL] [--no-color] COMMAND [ARGS]\n"
			    "(evbusctl help: commands, options, exit "
			    "statuses)\n");
			return CTL_EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		ctl_usage(stderr);
		return CTL_EX_USAGE;
	}
	for (c = commands; c->name != NULL; c++)
		if (strcmp(c->name, argv[0]) == 0)
			break;
	if (c->name == NULL)
		return ctl_unknown("", argv[0]);
	if ((n = common_opts(&ctl, argc, argv, &no_color)) == -1)
		return ctl_help_command(argc, argv);
	argc = n;
	ctl.color = want_color(&ctl, no_color);
	if (c->fn == cmd_help || c->fn == cmd_version)
		return c->fn(&ctl, argc, argv);
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
