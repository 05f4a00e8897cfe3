/*
 * main.c: evbusd's command line.
 *
 * parse_args() turns argv into struct evbusd_opts; main() dispatches to
 * the config test (-n), the sample printer (-S) or the daemon.  The daemon
 * itself (fork the workers, serve the status socket) is not written yet.
 */
#include "config.h"

#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#ifdef HAVE_RABBITMQ_C_AMQP_H
#include <rabbitmq-c/amqp.h>
#else
#include <amqp.h>
#endif
#include <json_c_version.h>
#include <libconfig.h>

#include "conf.h"
#include "log.h"
#include "supervisor.h"
#include "worker.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR	"/usr/local/etc"
#endif

#define EVBUSD_CONF	SYSCONFDIR "/evbus/evbusd.conf"
#define EVBUS_EX_USAGE	64	/* sysexits EX_USAGE */

struct evbusd_opts {
	const char	*conf_path;
	int		 config_test;	/* -n */
	int		 sample;	/* -S */
	int		 foreground;	/* -d */
	int		 verbose;	/* -v, repeatable */
	int		 single;	/* --single-worker */
};

static const struct option longopts[] = {
	{ "config",		required_argument,	NULL,	'f' },
	{ "config-test",	no_argument,		NULL,	'n' },
	{ "foreground",		no_argument,		NULL,	'd' },
	{ "verbose",		no_argument,		NULL,	'v' },
	{ "sample-config",	no_argument,		NULL,	'S' },
	{ "single-worker",	no_argument,		NULL,	'1' },
	{ "help",		no_argument,		NULL,	'h' },
	{ "version",		no_argument,		NULL,	'V' },
	{ NULL,			0,			NULL,	0 }
};

static void	usage(FILE *);
static void	version(void);
static void	parse_args(int, char **, struct evbusd_opts *);
static struct evbus_config *load_config(const char *, int);
static int	config_test(const struct evbusd_opts *);
static int	run_daemon(const struct evbusd_opts *);

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: evbusd [-dhnSvV1] [-f file]\n"
"\n"
"  -f, --config FILE     configuration file (default " EVBUSD_CONF ")\n"
"  -n, --config-test     check the configuration, print every problem, and\n"
"                        exit: 0 when it is valid, %d when it is not\n"
"  -d, --foreground      stay in the foreground and log to stderr\n"
"  -v, --verbose         log more; repeat for more still\n"
"  -1, --single-worker   run one worker in the foreground, without the\n"
"                        supervisor (for development and tests)\n"
"  -S, --sample-config   print a sample configuration with every key and\n"
"                        its default, and exit\n"
"  -h, --help            print this help and exit\n"
"  -V, --version         print the version and the library versions, and "
"exit\n", EVBUS_EX_CONFIG);
}

static void
version(void)
{
	printf("evbusd %s\n", PACKAGE_VERSION);
	printf("librabbitmq %s, json-c %s, libconfig %d.%d.%d\n",
	    amqp_version(), json_c_version(), LIBCONFIG_VER_MAJOR,
	    LIBCONFIG_VER_MINOR, LIBCONFIG_VER_REVISION);
}

static void
parse_args(int argc, char **argv, struct evbusd_opts *o)
{
	int	 ch;

	memset(o, 0, sizeof(*o));
	o->conf_path = EVBUSD_CONF;
	while ((ch = getopt_long(argc, argv, "f:ndvShV1", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'f':
			o->conf_path = optarg;
			break;
		case 'n':
			o->config_test = 1;
			break;
		case 'd':
			o->foreground = 1;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'S':
			o->sample = 1;
			break;
		case '1':
			o->single = 1;
			o->foreground = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			version();
			exit(0);
		default:
			usage(stderr);
			exit(EVBUS_EX_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "evbusd: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		exit(EVBUS_EX_USAGE);
	}
}

/*
 * Load the config with the host checks in flags (EVBUS_CONF_*); print
 * each problem as "file:line: message".
 */
static struct evbus_config *
load_config(const char *path, int flags)
{
	struct evbus_conf_errors	 errs = { NULL, 0 };
	struct evbus_config		*cfg;
	size_t				 i;

	if ((cfg = evbus_config_load_flags(path, flags, &errs)) == NULL) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		if (errs.n == 0)
			fprintf(stderr, "%s: invalid configuration\n", path);
	}
	evbus_conf_errors_clear(&errs);
	return cfg;
}

/* -n: check the configuration; with -v, show what it amounts to. */
static int
config_test(const struct evbusd_opts *o)
{
	struct evbus_config	*cfg;
	char			 url[512];
	size_t			 i;

	/* Also against this host: the accounts, the run directories. */
	if ((cfg = load_config(o->conf_path, EVBUS_CONF_ACCOUNTS |
	    EVBUS_CONF_DIRS)) == NULL)
		return EVBUS_EX_CONFIG;
	if (o->verbose > 0) {
		for (i = 0; i < cfg->nurl; i++) {
			evbus_url_display(&cfg->urls[i], url, sizeof(url));
			printf("broker %s%s\n", url,
			    cfg->urls[i].has_password ? " (with password)" :
			    "");
		}
		printf("exchange \"%s\" (%s), queue \"%s\"\n",
		    cfg->exchange_name,
		    evbus_exchange_type_str(cfg->exchange_type),
		    cfg->queue_name);
		if (cfg->enable_dlq)
			printf("dlq exchange \"%s\", dlq queue \"%s\"\n",
			    cfg->dlq_exchange_name, cfg->dlq_queue_name);
		for (i = 0; i < cfg->nrouting_keys; i++)
			printf("binding \"%s\"\n", cfg->routing_keys[i]);
		printf("%d workers named %s-<index>, plugins in %s\n",
		    cfg->workers, cfg->consumer_name, cfg->plugin_dir);
		printf("status socket %s (mode %04o), pid file %s\n",
		    cfg->status_socket, cfg->status_socket_mode,
		    cfg->pid_file);
		if (cfg->user != NULL)
			printf("workers run as user %s (uid %lu)\n", cfg->user,
			    (unsigned long)cfg->uid);
		if (cfg->group != NULL)
			printf("workers run as group %s (gid %lu)\n",
			    cfg->group, (unsigned long)cfg->gid);
		else if (cfg->user != NULL)
			printf("workers run as %s's primary group (gid %lu)\n",
			    cfg->user, (unsigned long)cfg->gid);
	}
	if (access(cfg->plugin_dir, F_OK) == 0) {
		char	 err[2048];

		if (sv_check_plugins(cfg, err, sizeof(err)) == -1) {
			fprintf(stderr, "%s: plugins in %s: %s\n", o->conf_path,
			    cfg->plugin_dir, err);
			evbus_config_free(cfg);
			return EVBUS_EX_CONFIG;
		}
		if (o->verbose > 0)
			printf("plugins: %s\n", err);
	} else if (o->verbose > 0)
		printf("plugin_dir %s does not exist (yet): no plugins "
		    "checked\n", cfg->plugin_dir);
	printf("configuration OK\n");
	evbus_config_free(cfg);
	return 0;
}

static volatile sig_atomic_t	 single_stop;

static void
single_sig(int sig)
{
	single_stop = 1;
}

/* --single-worker: one worker in this process, no supervisor. */
static int
run_single(struct evbus_config *cfg)
{
	struct worker		*w;
	struct sigaction	 sa;
	int			 rc;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = single_sig;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("calloc");
	w->conf = cfg;
	w->index = 0;
	snprintf(w->consumer_name, sizeof(w->consumer_name), "%s-0",
	    cfg->consumer_name);
	w->stats = &w->local_stats;
	log_procinit("worker[0]");
	setproctitle("single worker of group %s (%s)", cfg->consumer_group,
	    cfg->queue_name);
	rc = worker_run(w, &single_stop);
	free(w);
	return rc;
}

/* The daemon: the supervisor and its workers, or one worker alone. */
static int
run_daemon(const struct evbusd_opts *o)
{
	struct evbus_config	*cfg;
	int			 rc;

	log_init(1, o->verbose, LOG_DAEMON);
	/*
	 * glibc's default threshold (128 KiB) for serving an allocation
	 * from its own mapping rises to the size of each mapped chunk
	 * freed, up to 32 MiB.  A status request's snapshot of the slots
	 * is 3 MiB: after the first one, every later one came from the
	 * heap, which then stayed 3 MiB bigger, and every worker forked
	 * from then on kept those pages mapped.  A fixed threshold keeps
	 * such transient buffers mapped and returned whole.  (Workers set
	 * their own, see worker_run().)
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	if ((cfg = load_config(o->conf_path, EVBUS_CONF_ACCOUNTS)) == NULL)
		return EVBUS_EX_CONFIG;
	if (o->single)
		rc = run_single(cfg);
	else
		rc = supervisor_run(cfg, o->conf_path, o->foreground);
	evbus_config_free(cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	struct evbusd_opts	 opts;

	setproctitle_init(argc, argv, environ);
	log_procinit("evbusd");
	parse_args(argc, argv, &opts);
	if (opts.sample) {
		evbus_config_write_sample(stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (opts.config_test)
		return config_test(&opts);
	return run_daemon(&opts);
}
