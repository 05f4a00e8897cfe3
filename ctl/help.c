/*
 * help.c: what evbusctl says about itself: `evbusctl help [COMMAND]`,
 * `COMMAND --help`, the overview, the exit statuses and "did you mean"
 * for a mistyped command.
 *
 * One table holds every command's usage, summary, description and
 * options; the overview, each command's help and the tests read it, and
 * packaging/evbusctl.bash-completion offers the same options (its test
 * checks them against `evbusctl help COMMAND`).  The JSON each command
 * prints with --json is described by docs/schemas/<command>.json.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "suggest.h"

#define WRAP		76	/* columns of a help paragraph */
#define SUGGEST_MAX	3	/* edit distance below which we suggest */

#define OPT_JSON	{ "-j, --json", "print one JSON object (or array) on " \
			    "one line; the schema is docs/schemas/" }
#define OPT_SOCKET	{ "-s, --socket PATH", "evbusd's status socket " \
			    "(default: status_socket of the configuration)" }

static const struct ctl_help helps[] = {
	{ "status", "status [--json] [--socket PATH]",
	  "statistics of the running evbusd, per handler and worker",
	  "Asks the running evbusd over its status socket for the counters "
	  "summed over its workers (those that exited included), the "
	  "handlers' calls and latencies, and the worker table. How the "
	  "counters add up: every delivery received = ok + skipped (no "
	  "handler) + failed (a handler run that failed) + malformed + "
	  "poison + in flight + unsettled (left unacked: the broker "
	  "redelivers it); what failed, was malformed or poison then went "
	  "on as retried, dead-lettered or dropped (enable_dlq off); "
	  "eventsource-py's events_consumed is ok + skipped.",
	  (const struct ctl_opt[]){ OPT_JSON, OPT_SOCKET, { NULL, NULL } } },
	{ "health", "health [--json] [--broker] [--socket PATH]",
	  "health of the running evbusd; --broker: of the broker alone",
	  "Asks the running evbusd whether it is healthy: connected, its "
	  "queue accessible, workers consuming. Exits 0 when healthy, 1 when "
	  "not, 69 when no evbusd answers (it does not fall back to the "
	  "broker), so it serves as a container or systemd health check. "
	  "With --broker evbusd is not asked: evbusctl connects to the broker "
	  "and passively declares the group's queue and DLQ.",
	  (const struct ctl_opt[]){ OPT_JSON,
	    { "-b, --broker", "check the broker directly, without evbusd" },
	    OPT_SOCKET, { NULL, NULL } } },
	{ "queue", "queue [--json] [--broker] [--socket PATH]",
	  "the group's queue: messages, consumers, state",
	  "Shows the group's queue (or its partitions together, ordered) "
	  "and its DLQ as evbusd's broker probe last saw them; when no evbusd "
	  "answers, or with --broker, asks the broker itself. The output "
	  "names its source. Exits 1 when the queue is in error.",
	  (const struct ctl_opt[]){ OPT_JSON,
	    { "-b, --broker", "ask the broker directly, without evbusd" },
	    OPT_SOCKET, { NULL, NULL } } },
	{ "workers", "workers [--json] [--socket PATH]",
	  "the worker processes of the running evbusd",
	  "Lists evbusd's workers sorted by index: pid, state, consumer tag, "
	  "broker node, counters and the message in flight (and, ordered, "
	  "the partitions each serves).",
	  (const struct ctl_opt[]){ OPT_JSON, OPT_SOCKET, { NULL, NULL } } },
	{ "metrics", "metrics [--json] [--prometheus] [--socket PATH]",
	  "Prometheus/OpenMetrics text of the running evbusd",
	  "Prints evbusd's metrics in the OpenMetrics text format, as "
	  "evbusd serves them (its http_listen serves the same page). With "
	  "--prometheus in Prometheus text 0.0.4 instead, what promtool and "
	  "node_exporter's textfile collector read. With --json the same "
	  "families as JSON: name, type, help and samples with their labels "
	  "and values (non-finite values as the strings \"+Inf\", \"-Inf\", "
	  "\"NaN\").",
	  (const struct ctl_opt[]){ OPT_JSON, { "--prometheus", "Prometheus "
	    "text 0.0.4 instead of OpenMetrics" }, OPT_SOCKET,
	    { NULL, NULL } } },
	{ "scale", "scale [--json] [--socket PATH] N|+N|-N",
	  "set the number of workers (root or evbusd's user)",
	  "Sets the pool to N workers (1 to 128), or changes it by +N/-N. "
	  "A size outside that range is refused, never clamped (exit 1); a "
	  "count that is not a number is a usage error (exit 64). Only root "
	  "and evbusd's user may change the pool.",
	  (const struct ctl_opt[]){ OPT_JSON, OPT_SOCKET, { NULL, NULL } } },
	{ "reload", "reload [--json] [--socket PATH]",
	  "re-read the configuration and plugins (like SIGHUP)",
	  "Asks evbusd to re-read its configuration and plugins and replace "
	  "its workers one by one, as SIGHUP does. A configuration that is "
	  "not valid is refused and the old one kept (evbusd logs why; "
	  "evbusd -n checks a file first). Root or evbusd's user only.",
	  (const struct ctl_opt[]){ OPT_JSON, OPT_SOCKET, { NULL, NULL } } },
	{ "stop", "stop [--json] [--socket PATH]",
	  "stop evbusd gracefully (like SIGTERM)",
	  "Asks evbusd to stop as SIGTERM does: the workers finish the "
	  "message in hand (up to shutdown_timeout) and exit. Root or "
	  "evbusd's user only.",
	  (const struct ctl_opt[]){ OPT_JSON, OPT_SOCKET, { NULL, NULL } } },
	{ "publish", "publish [--json] [--ordered] [--best-effort] "
	  "[--window N] [--no-declare] [--traceparent TP] [--tracestate TS] "
	  "-i FILE | JSON",
	  "publish events (one JSON object, a JSON array or JSON lines)",
	  "Publishes events to the configuration's exchange with publisher "
	  "confirms and mandatory routing. Missing event_id, occurred_at and "
	  "correlation_id are filled in; an invalid event refuses the whole "
	  "batch (exit 65) unless --best-effort. An unroutable or nacked "
	  "event is reported as failed (exit 1). The result gives total, "
	  "published, failed and chunks like eventsource-py's publish_batch.",
	  (const struct ctl_opt[]){ OPT_JSON,
	    { "-i, --input FILE", "read the events from FILE (- for standard "
	      "input)" },
	    { "-o, --ordered", "one at a time, each confirmed before the "
	      "next" },
	    { "-b, --best-effort", "publish the valid events of a batch with "
	      "invalid ones" },
	    { "-w, --window N", "confirms outstanding at once (default "
	      "max_concurrent_publishes)" },
	    { "-n, --no-declare", "do not declare the exchange first" },
	    { "-t, --traceparent TP", "W3C traceparent the events' trace "
	      "continues" },
	    { "-s, --tracestate TS", "W3C tracestate to send along" },
	    { NULL, NULL } } },
	{ "declare", "declare [--json]",
	  "declare the exchanges, queues and bindings of the configuration",
	  "Declares what evbusd's workers declare at start: the exchange, "
	  "the group's queue (ordered: the partition exchange and partition "
	  "queues), the retry queues and the DLQ, and binds the configured "
	  "routing keys. Safe to repeat; exits 1 when the broker refuses a "
	  "declaration (an existing object with other arguments).",
	  (const struct ctl_opt[]){ OPT_JSON, { NULL, NULL } } },
	{ "bind", "bind [--json] [--event-type] KEY...",
	  "bind the group's queue to the exchange with a routing key",
	  "Binds the group's queue (ordered: its partition exchange) to the "
	  "exchange with each KEY. With --event-type each KEY must be an "
	  "Aggregate.EventType. Exits 1 when a binding failed (the others "
	  "are still made).",
	  (const struct ctl_opt[]){ OPT_JSON,
	    { "-e, --event-type", "each KEY is an Aggregate.EventType" },
	    { NULL, NULL } } },
	{ "unbind", "unbind [--json] [--event-type] KEY...",
	  "remove such a binding",
	  "Removes the bindings bind makes, one per KEY. Exits 1 when one "
	  "could not be removed.",
	  (const struct ctl_opt[]){ OPT_JSON,
	    { "-e, --event-type", "each KEY is an Aggregate.EventType" },
	    { NULL, NULL } } },
	{ "dlq", "dlq count|list|replay|purge [OPTIONS]",
	  "inspect and manage the group's dead-letter queue",
	  "Works on the group's DLQ straight against the broker, with or "
	  "without evbusd. Reading never consumes: list gives every message "
	  "back in its order. `evbusctl help dlq SUBCOMMAND` describes each.",
	  (const struct ctl_opt[]){ OPT_JSON, { NULL, NULL } } },
	{ "dlq count", "dlq count [--json]",
	  "how many messages the DLQ holds",
	  "Prints the number of messages in the group's DLQ (a passive "
	  "declare: nothing is read).",
	  (const struct ctl_opt[]){ OPT_JSON, { NULL, NULL } } },
	{ "dlq list", "dlq list [--json] [--limit N] [--body]",
	  "the messages of the DLQ, without consuming them",
	  "Lists the DLQ's messages from the head: id, event type, error "
	  "type, tries, when and why dead-lettered. Every message is given "
	  "back, in order, so listing twice gives the same list.",
	  (const struct ctl_opt[]){ OPT_JSON,
	    { "-l, --limit N", "at most N messages (default 100)" },
	    { "-B, --body", "show each message's body too" },
	    { NULL, NULL } } },
	{ "dlq replay", "dlq replay [--json] [--to-group] ID... | "
	  "--all [--filter event_type=T]",
	  "republish dead-lettered messages",
	  "Republishes the messages with the given ids (or --all, optionally "
	  "of one event type) to the exchange by their original routing "
	  "key, or with --to-group to the group alone, with the DLQ headers "
	  "stripped and x-retry-count 0. A message leaves the DLQ only once "
	  "the broker confirmed its copy; each is replayed at most once per "
	  "run. Exits 1 when a replay failed or an id was not found.",
	  (const struct ctl_opt[]){ OPT_JSON,
	    { "-a, --all", "every message (that the filter selects)" },
	    { "-F, --filter event_type=T", "only messages of event type T" },
	    { "-g, --to-group", "only to this group's queue, not the "
	      "exchange" },
	    { NULL, NULL } } },
	{ "dlq purge", "dlq purge [--json] [--yes]",
	  "delete every message of the DLQ",
	  "Deletes every message of the group's DLQ for good. Asks first on "
	  "a terminal; elsewhere it needs --yes (else exit 64).",
	  (const struct ctl_opt[]){ OPT_JSON,
	    { "-y, --yes", "do not ask" },
	    { NULL, NULL } } },
	{ "version", "version [--json]",
	  "evbusctl's version",
	  "Prints evbusctl's version (as -V does).",
	  (const struct ctl_opt[]){ OPT_JSON, { NULL, NULL } } },
	{ "help", "help [COMMAND [SUBCOMMAND]]",
	  "this overview, or a command's help",
	  "Without a command, the overview: commands, global options, exit "
	  "statuses. With one, its usage, description and options; "
	  "`evbusctl COMMAND --help` says the same.",
	  (const struct ctl_opt[]){ { NULL, NULL } } },
	{ NULL, NULL, NULL, NULL, NULL }
};

/* The exit statuses (ctl.h), as the overview and README state them. */
static const struct {
	int		 code;
	const char	*meaning;
} exits[] = {
	{ CTL_EX_OK, "success (health: healthy)" },
	{ CTL_EX_FAIL, "the operation failed in part or whole: unhealthy, "
	  "queue in error, a refused scale, an event or replay that failed" },
	{ CTL_EX_USAGE, "usage: unknown command or option, bad argument, "
	  "purge without --yes off a terminal" },
	{ CTL_EX_DATAERR, "invalid input: publish refused an invalid event" },
	{ CTL_EX_NOINPUT, "publish -i: the input file cannot be read" },
	{ CTL_EX_UNAVAILABLE, "evbusd or the broker did not answer" },
	{ CTL_EX_CONFIG, "the configuration is not valid (or dlq with "
	  "enable_dlq off)" },
	{ -1, NULL }
};

/*
 * Print s wrapped at WRAP columns, its first line from column col (what
 * the caller printed before), the others indented by ind spaces.
 */
static void
wrap(FILE *fp, const char *s, int col, int ind)
{
	const char	*p = s, *brk;
	int		 n, room;

	for (;;) {
		while (*p == ' ')
			p++;
		room = WRAP - col;
		brk = NULL;
		for (n = 0; p[n] != '\0' && (n < room || brk == NULL); n++)
			if (p[n] == ' ')
				brk = p + n;
		if (p[n] == '\0')
			brk = p + n;
		fprintf(fp, "%.*s\n", (int)(brk - p), p);
		p = brk;
		if (*p == '\0')
			break;
		fprintf(fp, "%*s", ind, "");
		col = ind;
	}
}

const struct ctl_help *
ctl_help_find(const char *name)
{
	const struct ctl_help	*h;

	for (h = helps; h->name != NULL; h++)
		if (strcmp(h->name, name) == 0)
			return h;
	return NULL;
}

/*
 * An unknown command (or "dlq" subcommand, with prefix "dlq "): say so,
 * with the closest known one, and return the usage exit status.
 */
int
ctl_unknown(const char *prefix, const char *name)
{
	const char		*names[64], *hint;
	const struct ctl_help	*h;
	size_t			 n = 0, pl = strlen(prefix);

	for (h = helps; h->name != NULL && n < 63; h++) {
		if (strncmp(h->name, prefix, pl) != 0 || h->name[pl] == '\0' ||
		    strchr(h->name + pl, ' ') != NULL)
			continue;
		names[n++] = h->name + pl;
	}
	names[n] = NULL;
	hint = evbus_suggest(name, names, SUGGEST_MAX);
	if (hint != NULL)
		ctl_warnx("unknown %scommand '%s': did you mean '%s%s'? (see "
		    "evbusctl help%s%.*s)", pl ? "dlq " : "", name, prefix,
		    hint, pl ? " " : "", (int)(pl ? pl - 1 : 0), prefix);
	else
		ctl_warnx("unknown %scommand '%s' (see evbusctl help%s%.*s)",
		    pl ? "dlq " : "", name, pl ? " " : "",
		    (int)(pl ? pl - 1 : 0), prefix);
	return CTL_EX_USAGE;
}

/* The overview: usage, global options, commands, exit statuses. */
void
ctl_usage(FILE *fp)
{
	const struct ctl_help	*h;
	int			 i;

	fprintf(fp, "usage: evbusctl [-jvV] [-f FILE] [--url URL] "
	    "[--no-color] COMMAND [ARGS]\n"
	    "\n"
	    "Operates evbusd: asks it over its status socket (status, "
	    "health,\nworkers, metrics, scale, reload, stop) or talks to the "
	    "broker directly\n(publish, declare, bind, unbind, dlq; queue and "
	    "health --broker).\n"
	    "\n"
	    "global options (also accepted after the command: -j, --json, "
	    "--no-color, -h):\n"
	    "  -f, --config FILE  configuration (default %s\n"
	    "                     if it exists, else the built-in defaults)\n"
	    "      --url URL      broker URL, overrides rabbitmq_url\n"
	    "                     (password also from $" EVBUS_PASSWORD_ENV ")\n"
	    "  -j, --json         JSON output: one value on one line, schema "
	    "per command\n"
	    "                     in docs/schemas/\n"
	    "      --no-color     no colour (also NO_COLOR set, TERM=dumb, or "
	    "not a\n                     terminal)\n"
	    "  -v, --verbose      say more\n"
	    "  -h, --help         this text; COMMAND --help: the command's\n"
	    "  -V, --version      show the version\n"
	    "\ncommands:\n", CTL_DEFAULT_CONF);
	for (h = helps; h->name != NULL; h++)
		if (strchr(h->name, ' ') == NULL)
			fprintf(fp, "  %-9s %s\n", h->name, h->summary);
	fprintf(fp, "\nexit status:\n");
	for (i = 0; exits[i].meaning != NULL; i++) {
		fprintf(fp, "  %-3d", exits[i].code);
		wrap(fp, exits[i].meaning, 5, 5);
	}
	fprintf(fp, "\n`evbusctl help COMMAND` or `evbusctl COMMAND --help` "
	    "describes a command.\n");
}

/* Does command name have subcommands ("dlq")? */
static int
has_subcommands(const char *name)
{
	const struct ctl_help	*h;
	size_t			 l = strlen(name);

	for (h = helps; h->name != NULL; h++)
		if (strncmp(h->name, name, l) == 0 && h->name[l] == ' ')
			return 1;
	return 0;
}

/* One command's help: usage, description, options (and subcommands). */
static void
print_help(FILE *fp, const struct ctl_help *h)
{
	const struct ctl_help	*s;
	const struct ctl_opt	*o;
	char			 prefix[64], line[256];

	fprintf(fp, "usage: evbusctl ");
	wrap(fp, h->usage, 16, 16);
	fprintf(fp, "\n");
	wrap(fp, h->desc, 0, 0);
	snprintf(prefix, sizeof(prefix), "%s ", h->name);
	for (s = helps; s->name != NULL; s++) {
		if (strncmp(s->name, prefix, strlen(prefix)) != 0)
			continue;
		if (s == helps || strncmp(s[-1].name, prefix,
		    strlen(prefix)) != 0)
			fprintf(fp, "\nsubcommands:\n");
		fprintf(fp, "  %-9s %s\n", s->name + strlen(prefix),
		    s->summary);
	}
	if (h->opts[0].flags != NULL)
		fprintf(fp, "\noptions:\n");
	for (o = h->opts; o->flags != NULL; o++) {
		if (strlen(o->flags) <= 24)
			fprintf(fp, "  %-26s", o->flags);
		else
			fprintf(fp, "  %s\n%28s", o->flags, "");
		if (strncmp(o->flags, "-j,", 3) == 0) {
			/* The schema's file: "dlq list" is dlq-list.json. */
			snprintf(prefix, sizeof(prefix), "%s%s.json", h->name,
			    has_subcommands(h->name) ? " SUBCOMMAND" : "");
			if (strchr(prefix, ' ') != NULL)
				*strchr(prefix, ' ') = '-';
			snprintf(line, sizeof(line), "%s%s", o->help, prefix);
			wrap(fp, line, 28, 28);
			continue;
		}
		wrap(fp, o->help, 28, 28);
	}
	fprintf(fp, "\nSee `evbusctl help` for the global options and the "
	    "exit statuses.\n");
}

/*
 * Print the help of argv[0], or of its subcommand argv[1] when it has
 * subcommands; 64 with a suggestion for an unknown (sub)command.
 */
int
ctl_help_command(int argc, char *argv[])
{
	const struct ctl_help	*h;
	char			 name[128];

	if ((h = ctl_help_find(argv[0])) == NULL)
		return ctl_unknown("", argv[0]);
	if (argc > 1 && argv[1][0] != '-' && has_subcommands(argv[0])) {
		snprintf(name, sizeof(name), "%s %s", argv[0], argv[1]);
		if ((h = ctl_help_find(name)) == NULL) {
			snprintf(name, sizeof(name), "%s ", argv[0]);
			return ctl_unknown(name, argv[1]);
		}
	}
	print_help(stdout, h);
	return CTL_EX_OK;
}

/* evbusctl help [COMMAND [SUBCOMMAND]] */
int
cmd_help(struct ctl *ctl, int argc, char *argv[])
{
	(void)ctl;
	if (argc < 2) {
		ctl_usage(stdout);
		return CTL_EX_OK;
	}
	if (argc > 3) {
		ctl_warnx("usage: evbusctl help [COMMAND [SUBCOMMAND]]");
		return CTL_EX_USAGE;
	}
	return ctl_help_command(argc - 1, argv + 1);
}
