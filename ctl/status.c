/*
 * status.c: evbusctl status, health, queue, workers, metrics, scale,
 * reload and stop.  They ask evbusd over its status socket.  health is
 * the service's health: when no evbusd answers it fails (only --broker
 * asks the broker, with eventsource-py's health_check fields).  queue is
 * broker data, so it falls back to asking the broker directly when no
 * evbusd answers; either way the output names where the answer came from.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl.h"
#include "topology.h"

#define REPLY_MAX	(16UL * 1024 * 1024)
#define SOCK_TIMEOUT_MS	10000
#define SCALE_MAX	128	/* as evbusd's children_scale() */

static const char	*socket_override;

static const char *
sock_path(const struct ctl *ctl)
{
	return socket_override ? socket_override : ctl->conf->status_socket;
}

/* Why evbusd did not answer; err is connect()'s errno. */
static void
absent(const struct ctl *ctl, int err, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s", err == ENOENT ? "no status socket at" :
	    "nothing listens on the status socket", sock_path(ctl));
}

/* Say, once, that evbusd did not answer; hint what to do instead. */
static void
not_running(const struct ctl *ctl, int err, const char *hint)
{
	char	 why[300];

	absent(ctl, err, why, sizeof(why));
	ctl_warnx("evbusd is not running (%s)%s", why, hint);
}

/*
 * Send one request line to evbusd and read the whole answer.  Returns the
 * malloc'd answer, or NULL: with *unreachable set to connect()'s errno
 * when nobody listens (the caller says so), else after saying what went
 * wrong.
 */
static char *
ask(struct ctl *ctl, const char *req, int *unreachable)
{
	struct sockaddr_un	 sun;
	struct pollfd		 pfd;
	const char		*path = sock_path(ctl);
	char			*buf = NULL, *t, line[128];
	size_t			 len = 0, cap = 0;
	ssize_t			 n;
	int			 fd;

	*unreachable = 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		ctl_warnx("status socket path too long: %s", path);
		return NULL;
	}
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		ctl_warnx("socket: %s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			*unreachable = errno;
		else
			ctl_warnx("status socket %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	snprintf(line, sizeof(line), "%s\n", req);
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		ctl_warnx("status socket %s: evbusd closed the connection "
		    "before reading the request (%s)", path, errno == EPIPE ?
		    "broken pipe" : strerror(errno));
		close(fd);
		return NULL;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, SOCK_TIMEOUT_MS) != 1) {
			ctl_warnx("status socket %s: no answer within %d s",
			    path, SOCK_TIMEOUT_MS / 1000);
			free(buf);
			close(fd);
			return NULL;
		}
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			if (cap > REPLY_MAX || (t = realloc(buf, cap)) == NULL) {
				ctl_warnx("answer too large");
				free(buf);
				close(fd);
				return NULL;
			}
			buf = t;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			ctl_warnx("status socket %s: %s%s", path, errno ==
			    ECONNRESET ? "evbusd closed the connection without "
			    "an answer: " : "read: ", strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len == 0) {
		ctl_warnx("status socket %s: evbusd closed the connection "
		    "without an answer", path);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

static json_object *
parse(const char *s)
{
	json_object	*o = json_tokener_parse(s);

	if (o == NULL)
		ctl_warnx("evbusd sent something that is not JSON");
	return o;
}

/* An error answer from evbusd: print it and say so. */
static int
is_error(json_object *o)
{
	json_object	*e;

	if (json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "error", &e) &&
	    json_object_get_type(e) == json_type_string &&
	    !json_object_object_get_ex(o, "healthy", NULL) &&
	    !json_object_object_get_ex(o, "name", NULL)) {
		ctl_warnx("evbusd: %s", json_object_get_string(e));
		return 1;
	}
	return 0;
}

static const char *
jstr(json_object *o, const char *k)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, k, &v) || v == NULL)
		return "-";
	return json_object_get_string(v);
}

static int64_t
jint(json_object *o, const char *k)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, k, &v) || v == NULL)
		return 0;
	return json_object_get_int64(v);
}

static double
jdbl(json_object *o, const char *k)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) || v == NULL)
		return 0;
	return json_object_get_double(v);
}

static void
print_json(json_object *o)
{
	ctl_json_print(o);
}

/*
 * ordering = "aggregate": "      serving 4 partitions: p0 p4 p8 p12" under
 * a worker (those it has had deliveries from since it subscribed).
 */
static void
print_partitions(json_object *w)
{
	json_object	*a;
	size_t		 i, n;

	if (!json_object_object_get_ex(w, "partitions", &a) ||
	    !json_object_is_type(a, json_type_array))
		return;
	n = json_object_array_length(a);
	printf("      serving %zu partition%s%s", n, n == 1 ? "" : "s",
	    n > 0 ? ":" : "");
	for (i = 0; i < n; i++)
		printf(" p%d", json_object_get_int(
		    json_object_array_get_idx(a, i)));
	printf("\n");
}

/* "2d 03h", "3h 04m", "4m 05s", "6s". */
static void
human_duration(double secs, char *buf, size_t len)
{
	long long	 s = secs > 0 ? (long long)secs : 0;

	if (s >= 86400)
		snprintf(buf, len, "%lldd %02lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lldh %02lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%lldm %02llds", s / 60, s % 60);
	else
		snprintf(buf, len, "%llds", s);
}

static void
print_workers(json_object *arr)
{
	char	 up[32], last[32], flight[200], rss[32], cpu[16];
	size_t	 i;

	printf("%-5s %-8s %-10s %-8s %8s %8s %6s %-22s %9s %7s %6s %-9s %s\n",
	    "INDEX", "PID", "STATE", "UP", "RESTARTS", "RSS", "CPU%", "NODE",
	    "CONSUMED", "FAILED", "DLQ", "LAST", "IN FLIGHT");
	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *w = json_object_array_get_idx(arr, i);

		human_duration(jdbl(w, "uptime_seconds"), up, sizeof(up));
		if (json_object_object_get(w, "last_event_seconds_ago") != NULL) {
			human_duration(jdbl(w, "last_event_seconds_ago"), last,
			    sizeof(last));
			strlcat(last, " ago", sizeof(last));
		} else
			snprintf(last, sizeof(last), "-");
		if (json_object_object_get(w, "rss_bytes") != NULL)
			snprintf(rss, sizeof(rss), "%.1fM",
			    jdbl(w, "rss_bytes") / 1048576.0);
		else
			snprintf(rss, sizeof(rss), "-");
		if (json_object_object_get(w, "cpu_percent") != NULL)
			snprintf(cpu, sizeof(cpu), "%.1f", jdbl(w,
			    "cpu_percent"));
		else
			snprintf(cpu, sizeof(cpu), "-");
		if (json_object_object_get(w, "inflight") != NULL)
			snprintf(flight, sizeof(flight), "%s (%.1fs)",
			    jstr(w, "inflight"), jdbl(w, "inflight_seconds"));
		else
			snprintf(flight, sizeof(flight), "-");
		printf("%-5lld %-8lld %-10s %-8s %8lld %8s %6s %-22s %9lld %7lld "
		    "%6lld %-9s %s\n", (long long)jint(w, "index"),
		    (long long)jint(w, "pid"), jstr(w, "state"), up,
		    (long long)jint(w, "restarts"), rss, cpu, jstr(w, "node"),
		    (long long)jint(w, "events_consumed"),
		    (long long)jint(w, "events_processed_failed"),
		    (long long)jint(w, "messages_sent_to_dlq"), last, flight);
		print_partitions(w);
	}
}


/* Version, uptime, configuration, nodes and plugins. */
static void
print_about(json_object *o)
{
	json_object	*a, *p, *ev;
	char		 up[32];
	size_t		 i, j, n;

	human_duration(jdbl(o, "supervisor_uptime_seconds"), up, sizeof(up));
	printf("evbusd:         %s, up %s, config %s\n", jstr(o, "version"),
	    up, jstr(o, "config"));
	if (json_object_object_get_ex(o, "nodes", &a) &&
	    json_object_is_type(a, json_type_array)) {
		printf("nodes:          ");
		n = json_object_array_length(a);
		for (i = 0; i < n; i++)
			printf("%s%s", i ? ", " : "", json_object_get_string(
			    json_object_array_get_idx(a, i)));
		printf("%s\n", n == 0 ? "(none connected)" : "");
	}
	if (!json_object_object_get_ex(o, "plugins", &a) ||
	    !json_object_is_type(a, json_type_array))
		return;
	n = json_object_array_length(a);
	if (n == 0)
		printf("plugins:        (none)\n");
	for (i = 0; i < n; i++) {
		p = json_object_array_get_idx(a, i);
		printf("%s%s %s (%s): ", i ? "                " :
		    "plugins:        ", jstr(p, "name"), jstr(p, "version"),
		    jstr(p, "file"));
		if (!json_object_object_get_ex(p, "event_types", &ev) ||
		    !json_object_is_type(ev, json_type_array))
			printf("every event");
		else
			for (j = 0; j < json_object_array_length(ev); j++)
				printf("%s%s", j ? ", " : "",
				    json_object_get_string(
				    json_object_array_get_idx(ev, j)));
		printf("\n");
	}
}

static void
print_stats(json_object *o)
{
	json_object		*h, *w;
	struct json_object_iterator it, end;

	print_about(o);
	printf("workers:        %lld consuming of %lld running (%lld wanted)\n",
	    (long long)jint(o, "workers_consuming"), (long long)jint(o, "workers"),
	    (long long)jint(o, "workers_wanted"));
	if (json_object_object_get(o, "partitions") != NULL)
		printf("ordering:       by aggregate over %lld partitions "
		    "(%lld without a consumer)\n",
		    (long long)jint(o, "partitions"),
		    (long long)jint(o, "partitions_without_consumer"));
	/* The accounting of report.c's add_accounting(): it adds up. */
	printf("received:       %lld = %lld ok + %lld skipped (no handler) + "
	    "%lld failed + %lld malformed + %lld poison + %lld in flight + "
	    "%lld unsettled (redelivered)\n", (long long)jint(o, "received"),
	    (long long)jint(o, "handled_ok"), (long long)jint(o, "skipped"),
	    (long long)jint(o, "failed"), (long long)jint(o, "malformed"),
	    (long long)jint(o, "poison_messages"),
	    (long long)jint(o, "in_flight"), (long long)jint(o, "unsettled"));
	printf("failures went:  %lld retried, %lld dead-lettered, %lld "
	    "dropped\n", (long long)jint(o, "retried"),
	    (long long)jint(o, "dead_lettered"), (long long)jint(o, "dropped"));
	printf("published:      %lld\n", (long long)jint(o, "events_published"));
	printf("restarts:       %lld (%lld crashes)\n",
	    (long long)jint(o, "restarts"), (long long)jint(o, "crashes"));
	printf("reconnections:  %lld\n", (long long)jint(o, "reconnections"));
	printf("last consume:   %s\n", jstr(o, "last_consume_at"));
	printf("last error:     %s%s%s\n", jstr(o, "last_error_at"),
	    json_object_object_get(o, "last_error") != NULL ? "  " : "",
	    json_object_object_get(o, "last_error") != NULL ?
	    jstr(o, "last_error") : "");
	if (json_object_object_get_ex(o, "handlers", &h) &&
	    json_object_object_length(h) > 0) {
		printf("\n%-24s %10s %8s %8s %10s %10s %10s\n", "HANDLER",
		    "CALLS", "RETRY", "FAIL", "P50 ms", "P90 ms", "P99 ms");
		it = json_object_iter_begin(h);
		end = json_object_iter_end(h);
		while (!json_object_iter_equal(&it, &end)) {
			json_object *x = json_object_iter_peek_value(&it), *l;

			json_object_object_get_ex(x, "latency_ms", &l);
			printf("%-24s %10lld %8lld %8lld %10.3f %10.3f %10.3f\n",
			    json_object_iter_peek_name(&it),
			    (long long)jint(x, "calls"),
			    (long long)jint(x, "retry"),
			    (long long)jint(x, "fail"), jdbl(l, "p50"),
			    jdbl(l, "p90"), jdbl(l, "p99"));
			json_object_iter_next(&it);
		}
	}
	if (json_object_object_get_ex(o, "per_worker", &w)) {
		printf("\n");
		print_workers(w);
	}
}

static void
print_health(const struct ctl *ctl, json_object *o, const char *source)
{
	json_object	*d;
	int		 yes;

	yes = json_object_get_boolean(json_object_object_get(o, "healthy"));
	printf("healthy:     %s%s%s\n", ctl_sgr(ctl, yes ? CTL_SGR_GREEN :
	    CTL_SGR_RED), yes ? "yes" : "NO", ctl_sgr(ctl, CTL_SGR_RESET));
	printf("source:      %s\n", source);
	printf("connection:  %s\n", jstr(o, "connection_status"));
	printf("channel:     %s\n", jstr(o, "channel_status"));
	printf("queue:       %s\n", jstr(o, "queue_status"));
	printf("dlq:         %s\n", jstr(o, "dlq_status"));
	if (json_object_object_get(o, "error") != NULL)
		printf("error:       %s\n", jstr(o, "error"));
	if (json_object_object_get_ex(o, "details", &d)) {
		printf("exchange:    %s\n", jstr(d, "exchange"));
		printf("queue name:  %s\n", jstr(d, "queue"));
		if (json_object_object_get(d, "partitions") != NULL)
			printf("ordering:    aggregate, %lld partitions "
			    "(%lld without a consumer)\n",
			    (long long)jint(d, "partitions"),
			    (long long)jint(d, "partitions_without_consumer"));
		if (json_object_object_get(d, "workers") != NULL)
			printf("workers:     %lld consuming of %lld\n",
			    (long long)jint(d, "workers_consuming"),
			    (long long)jint(d, "workers"));
	}
}

static void
print_queue(const struct ctl *ctl, json_object *o, const char *source)
{
	int	 bad = strcmp(jstr(o, "state"), "error") == 0;

	printf("queue:      %s\n", jstr(o, "name"));
	printf("source:     %s\n", source);
	printf("messages:   %lld\n", (long long)jint(o, "message_count"));
	printf("consumers:  %lld\n", (long long)jint(o, "consumer_count"));
	printf("state:      %s%s%s\n", ctl_sgr(ctl, bad ? CTL_SGR_RED :
	    CTL_SGR_GREEN), jstr(o, "state"), ctl_sgr(ctl, CTL_SGR_RESET));
	if (json_object_object_get(o, "error") != NULL)
		printf("error:      %s\n", jstr(o, "error"));
	if (json_object_object_get(o, "partitions") != NULL)
		printf("partitions: %lld behind %s, %lld without a consumer; "
		    "fullest p%lld (%lld messages)\n",
		    (long long)jint(o, "partitions"),
		    jstr(o, "partition_exchange"),
		    (long long)jint(o, "partitions_without_consumer"),
		    (long long)jint(o, "deepest_partition"),
		    (long long)jint(o, "deepest_partition_messages"));
	if (json_object_object_get(o, "dlq_name") != NULL)
		printf("dlq:        %s (%lld messages)\n", jstr(o, "dlq_name"),
		    (long long)jint(o, "dlq_message_count"));
}

/* Passive declare on the admin channel; -1 with err on failure. */
static int
passive(struct ctl *ctl, const char *queue, uint64_t *messages,
    uint64_t *consumers, char *err, size_t errlen)
{
	return evbus_queue_depth(&ctl->amqp, CTL_ADMIN_CHANNEL, queue,
	    messages, consumers, err, errlen) == 0 ? 0 : -1;
}

/* The group's queue, or its partitions together (ordered). */
static int
group(struct ctl *ctl, struct evbus_group_depth *d, char *err,
    size_t errlen)
{
	return evbus_group_depth(&ctl->amqp, CTL_ADMIN_CHANNEL, ctl->conf, d,
	    err, errlen) == 0 ? 0 : -1;
}

int
ctl_admin_channel(struct ctl *ctl)
{
	if (ctl_connect(ctl) == -1)
		return -1;
	if (evbus_amqp_channel_open(&ctl->amqp, CTL_ADMIN_CHANNEL) != 0) {
		if (!ctl->quiet)
			ctl_warnx("%s", ctl->amqp.err);
		return -1;
	}
	return 0;
}

/* queue info straight from the broker (eventsource-py's get_queue_info). */
static json_object *
broker_queue(struct ctl *ctl)
{
	const struct evbus_config *c = ctl->conf;
	json_object	*o = json_object_new_object();
	struct evbus_group_depth gd;
	uint64_t	 m = 0, n = 0, dm = 0, dn = 0;
	char		 err[600];
	int		 rc;

	json_object_object_add(o, "name", json_object_new_string(c->queue_name));
	json_object_object_add(o, "source", json_object_new_string("broker"));
	if (ctl_admin_channel(ctl) == -1) {
		snprintf(err, sizeof(err), "Not connected to RabbitMQ: %s",
		    ctl->amqp.err);
		json_object_object_add(o, "message_count", json_object_new_int(0));
		json_object_object_add(o, "consumer_count", json_object_new_int(0));
		json_object_object_add(o, "state", json_object_new_string("error"));
		json_object_object_add(o, "error", json_object_new_string(err));
		return o;
	}
	rc = group(ctl, &gd, err, sizeof(err));
	m = gd.messages;
	n = gd.consumers;
	json_object_object_add(o, "message_count", json_object_new_int64(m));
	json_object_object_add(o, "consumer_count", json_object_new_int64(n));
	json_object_object_add(o, "state", json_object_new_string(rc == -1 ?
	    "error" : n > 0 ? "running" : "idle"));
	json_object_object_add(o, "error", rc == -1 ?
	    json_object_new_string(err) : NULL);
	evbus_ordering_json(o, c, &gd);
	if (c->enable_dlq) {
		json_object_object_add(o, "dlq_name",
		    json_object_new_string(c->dlq_queue_name));
		if (passive(ctl, c->dlq_queue_name, &dm, &dn, err,
		    sizeof(err)) == 0)
			json_object_object_add(o, "dlq_message_count",
			    json_object_new_int64(dm));
	}
	return o;
}

/* health_check() from the broker: can we connect, open, see the queues? */
static json_object *
broker_health(struct ctl *ctl, int *healthy)
{
	const struct evbus_config *c = ctl->conf;
	json_object	*o = json_object_new_object(), *d;
	struct evbus_group_depth gd;
	uint64_t	 m = 0, n = 0, dm = 0, dn = 0;
	char		 qerr[600] = "", derr[600] = "", all[2000] = "";
	char		 qs[700], ds[700];
	int		 conn_ok, qrc = -1, drc = -1;

	conn_ok = ctl_admin_channel(ctl) == 0;
	if (!conn_ok)
		snprintf(all, sizeof(all), "Not connected to RabbitMQ: %s",
		    ctl->amqp.err);
	else {
		qrc = group(ctl, &gd, qerr, sizeof(qerr));
		m = gd.messages;
		n = gd.consumers;
		if (qrc == -1)
			snprintf(all, sizeof(all), "Queue check failed: %s",
			    qerr);
		if (c->enable_dlq)
			drc = passive(ctl, c->dlq_queue_name, &dm, &dn, derr,
			    sizeof(derr));
	}
	snprintf(qs, sizeof(qs), "%s%s", !conn_ok ? "not_initialized" :
	    qrc == 0 ? "accessible" : "error: ", qrc == -1 && conn_ok ?
	    qerr : "");
	if (!c->enable_dlq)
		snprintf(ds, sizeof(ds), "disabled");
	else if (!conn_ok)
		snprintf(ds, sizeof(ds), "inaccessible");
	else
		snprintf(ds, sizeof(ds), "%s%s", drc == 0 ? "accessible" :
		    "error: ", drc == 0 ? "" : derr);
	*healthy = conn_ok && qrc == 0;
	json_object_object_add(o, "healthy", json_object_new_boolean(*healthy));
	json_object_object_add(o, "connection_status", json_object_new_string(
	    conn_ok ? "connected" : "disconnected"));
	json_object_object_add(o, "channel_status", json_object_new_string(
	    conn_ok ? "open" : "not_initialized"));
	json_object_object_add(o, "queue_status", json_object_new_string(qs));
	json_object_object_add(o, "dlq_status", json_object_new_string(ds));
	json_object_object_add(o, "error", all[0] ?
	    json_object_new_string(all) : NULL);
	d = json_object_new_object();
	json_object_object_add(d, "exchange",
	    json_object_new_string(c->exchange_name));
	json_object_object_add(d, "queue", json_object_new_string(c->queue_name));
	json_object_object_add(d, "consumer_group",
	    json_object_new_string(c->consumer_group));
	json_object_object_add(d, "consuming", json_object_new_boolean(n > 0));
	json_object_object_add(d, "dlq_enabled",
	    json_object_new_boolean(c->enable_dlq));
	if (c->enable_dlq)
		json_object_object_add(d, "dlq_queue",
		    json_object_new_string(c->dlq_queue_name));
	json_object_object_add(d, "consumers", json_object_new_int64(n));
	json_object_object_add(d, "messages", json_object_new_int64(m));
	json_object_object_add(d, "source", json_object_new_string("broker"));
	if (qrc == 0)
		evbus_ordering_json(d, c, &gd);
	json_object_object_add(o, "details", d);
	return o;
}

/*
 * The options of the status socket commands.  --json/-j is taken out of
 * argv by evbusctl.c for every command; -j stays here for "-bj".
 */
static int
opts(struct ctl *ctl, int argc, char *argv[], int *direct)
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "broker",	no_argument,		NULL, 'b' },
		{ "json",	no_argument,		NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	while ((ch = getopt_long(argc, argv, "s:bj", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': socket_override = optarg; break;
		case 'b': *direct = 1; break;
		case 'j': ctl->json = 1; break;
		default: return -1;
		}
	}
	return optind;
}

/* status, workers, metrics: only evbusd knows. */
static int
simple(struct ctl *ctl, int argc, char *argv[], const char *req)
{
	json_object	*o;
	char		*ans;
	int		 unreachable, direct = 0, i;

	if ((i = opts(ctl, argc, argv, &direct)) == -1 || i != argc)
		return CTL_EX_USAGE;
	if ((ans = ask(ctl, req, &unreachable)) == NULL) {
		if (unreachable)
			not_running(ctl, unreachable, "");
		return CTL_EX_UNAVAILABLE;
	}
	if (strncmp(req, "metrics", 7) == 0) {
		if (ctl->json) {
			o = ctl_metrics_json(ans);
			print_json(o);
			json_object_put(o);
		} else
			fputs(ans, stdout);
		free(ans);
		return CTL_EX_OK;
	}
	if ((o = parse(ans)) == NULL || is_error(o)) {
		free(ans);
		json_object_put(o);
		return CTL_EX_FAIL;
	}
	if (ctl->json)
		print_json(o);
	else if (strcmp(req, "stats") == 0)
		print_stats(o);
	else
		print_workers(o);
	json_object_put(o);
	free(ans);
	return CTL_EX_OK;
}

int
cmd_status(struct ctl *ctl, int argc, char *argv[])
{
	return simple(ctl, argc, argv, "stats");
}

int
cmd_workers(struct ctl *ctl, int argc, char *argv[])
{
	return simple(ctl, argc, argv, "workers");
}

/*
 * metrics: OpenMetrics, as evbusd's socket serves it by default;
 * --prometheus asks for Prometheus text 0.0.4 instead (what promtool and
 * node_exporter's textfile collector read).
 */
int
cmd_metrics(struct ctl *ctl, int argc, char *argv[])
{
	int	 i, n, prom = 0;

	for (i = n = 0; i < argc; i++)
		if (i > 0 && strcmp(argv[i], "--prometheus") == 0)
			prom = 1;
		else
			argv[n++] = argv[i];
	argv[n] = NULL;
	return simple(ctl, n, argv, prom ? "metrics prometheus" : "metrics");
}

/* The broker, as the text output names it: "broker host:port vhost /". */
static void
broker_source(const struct ctl *ctl, const char *why, char *buf, size_t len)
{
	const struct evbus_url *u = &ctl->conf->urls[ctl->connected ?
	    ctl->node : 0];
	int		 v6 = strchr(u->host, ':') != NULL;

	snprintf(buf, len, "broker %s%s%s:%d vhost %s%s", v6 ? "[" : "",
	    u->host, v6 ? "]" : "", u->port, u->vhost, why);
}

/*
 * evbusd's answer to req, parsed; NULL when it did not answer (with
 * *unreachable set as by ask()) or sent an error (already printed).
 */
static json_object *
ask_json(struct ctl *ctl, const char *req, int *unreachable)
{
	json_object	*o;
	char		*ans;

	if ((ans = ask(ctl, req, unreachable)) == NULL)
		return NULL;
	if ((o = parse(ans)) != NULL && is_error(o)) {
		json_object_put(o);
		o = NULL;
	}
	free(ans);
	return o;
}

/*
 * health: the running service's.  With no evbusd there is no service to
 * vouch for, whatever the broker says: fail (69), and say so once.  Only
 * --broker asks the broker, as eventsource-py's health_check would.
 */
int
cmd_health(struct ctl *ctl, int argc, char *argv[])
{
	json_object	*o;
	char		 source[700];
	int		 unreachable = 0, direct = 0, healthy, i;

	if ((i = opts(ctl, argc, argv, &direct)) == -1 || i != argc)
		return CTL_EX_USAGE;
	if (direct) {
		ctl->quiet = 1;	/* the answer carries the error */
		o = broker_health(ctl, &healthy);
		broker_source(ctl, " (--broker: evbusd not asked)", source,
		    sizeof(source));
	} else if ((o = ask_json(ctl, "health", &unreachable)) == NULL) {
		if (unreachable)
			not_running(ctl, unreachable, "; 'evbusctl health "
			    "--broker' checks the broker alone");
		return unreachable ? CTL_EX_UNAVAILABLE : CTL_EX_FAIL;
	} else
		snprintf(source, sizeof(source), "evbusd (status socket %s)",
		    sock_path(ctl));
	healthy = json_object_get_boolean(json_object_object_get(o,
	    "healthy"));
	if (ctl->json)
		print_json(o);
	else
		print_health(ctl, o, source);
	json_object_put(o);
	return healthy ? CTL_EX_OK : CTL_EX_FAIL;
}

/*
 * queue: broker data, which evbusd's probe caches.  When no evbusd
 * answers, the broker itself is asked: the figures are as true, and the
 * output says where they come from and that evbusd did not answer.
 */
int
cmd_queue(struct ctl *ctl, int argc, char *argv[])
{
	json_object	*o;
	char		 source[700], why[400], r[300];
	int		 unreachable = 0, direct = 0, ok;

	if ((ok = opts(ctl, argc, argv, &direct)) == -1 || ok != argc)
		return CTL_EX_USAGE;
	if (!direct && (o = ask_json(ctl, "queue", &unreachable)) != NULL)
		snprintf(source, sizeof(source), "evbusd (status socket %s)",
		    sock_path(ctl));
	else if (!direct && !unreachable)
		return CTL_EX_FAIL;
	else {
		if (direct)
			snprintf(why, sizeof(why), " (--broker: evbusd not "
			    "asked)");
		else {
			absent(ctl, unreachable, r, sizeof(r));
			snprintf(why, sizeof(why), "; evbusd is not running "
			    "(%s)", r);
		}
		ctl->quiet = 1;	/* the answer carries the error */
		o = broker_queue(ctl);
		broker_source(ctl, why, source, sizeof(source));
	}
	if (ctl->json)
		print_json(o);
	else
		print_queue(ctl, o, source);
	ok = strcmp(jstr(o, "state"), "error") != 0;
	json_object_put(o);
	return ok ? CTL_EX_OK : CTL_EX_FAIL;
}

/*
 * scale N, reload, stop: commands that change evbusd.  The JSON is
 * evbusctl's own, one layout for the three (docs/schemas/scale.json...):
 * {"ok": true, "command": "scale", "workers": N}; evbusd's answer
 * ({"ok":true,"reloading":true}) is not passed on as it is.
 */
static int
change(struct ctl *ctl, const char *req)
{
	json_object	*o, *r, *w;
	char		*ans, cmd[16];
	int		 unreachable;

	if ((ans = ask(ctl, req, &unreachable)) == NULL) {
		if (unreachable)
			not_running(ctl, unreachable, "");
		return CTL_EX_UNAVAILABLE;
	}
	if ((o = parse(ans)) == NULL || is_error(o)) {
		free(ans);
		json_object_put(o);
		return CTL_EX_FAIL;
	}
	if (ctl->json) {
		snprintf(cmd, sizeof(cmd), "%.*s", (int)strcspn(req, " "), req);
		r = json_object_new_object();
		json_object_object_add(r, "ok", json_object_new_boolean(1));
		json_object_object_add(r, "command", json_object_new_string(cmd));
		if (strcmp(cmd, "scale") == 0 &&
		    json_object_object_get_ex(o, "workers", &w))
			json_object_object_add(r, "workers",
			    json_object_new_int(json_object_get_int(w)));
		print_json(r);
		json_object_put(r);
	} else
		printf("ok: %s\n", req);
	json_object_put(o);
	free(ans);
	return CTL_EX_OK;
}

int
cmd_scale(struct ctl *ctl, int argc, char *argv[])
{
	char		 req[64];
	const char	*n = NULL, *errstr;
	int		 direct = 0, i;

	/*
	 * Fix: "scale -1" (documented) was taken by getopt for an unknown
	 * option -1.  A last argument -N is the count, not an option.
	 */
	if (argc > 1 && argv[argc - 1][0] == '-' &&
	    argv[argc - 1][1] >= '0' && argv[argc - 1][1] <= '9') {
		n = argv[--argc];
		argv[argc] = NULL;
	}
	if ((i = opts(ctl, argc, argv, &direct)) == -1 ||
	    i != argc - (n == NULL ? 1 : 0)) {
		ctl_warnx("usage: scale N|+N|-N");
		return CTL_EX_USAGE;
	}
	if (n == NULL)
		n = argv[i];
	/*
	 * A count that is not one, or an absolute one evbusd cannot run, is
	 * a usage error here; whether +N/-N stays within 1..SCALE_MAX only
	 * evbusd knows, and it refuses rather than clamps.
	 */
	(void)strtonum(n[0] == '+' || n[0] == '-' ? n + 1 : n, 1, SCALE_MAX,
	    &errstr);
	if (errstr != NULL) {
		ctl_warnx("scale %s: %s; usage: scale N|+N|-N (N from 1 to "
		    "%d: evbusd runs at least 1 worker)", n, errstr,
		    SCALE_MAX);
		return CTL_EX_USAGE;
	}
	snprintf(req, sizeof(req), "scale %.32s", n);
	return change(ctl, req);
}

int
cmd_reload(struct ctl *ctl, int argc, char *argv[])
{
	int	 direct = 0;

	if (opts(ctl, argc, argv, &direct) != argc)
		return CTL_EX_USAGE;
	return change(ctl, "reload");
}

int
cmd_stop(struct ctl *ctl, int argc, char *argv[])
{
	int	 direct = 0;

	if (opts(ctl, argc, argv, &direct) != argc)
		return CTL_EX_USAGE;
	return change(ctl, "stop");
}
