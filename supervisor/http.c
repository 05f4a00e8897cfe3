/*
 * http.c: the optional HTTP listener (http_listen = "127.0.0.1:9466"),
 * for Prometheus and for health checks of orchestrators and load
 * balancers:
 *
 *	GET /metrics	the metrics page (report_metrics): OpenMetrics 1.0.0
 *			when the Accept header asks for it, else Prometheus
 *			text 0.0.4
 *	GET /healthz	liveness: 200 while the supervisor's loop answers and
 *			the pool is not given up; 503 when evbusd is stopping
 *			or every worker exited "configuration is broken".  The
 *			broker plays no part: restarting evbusd would not bring
 *			a broker back
 *	GET /readyz	readiness, `evbusctl health`'s verdict and JSON
 *			(report_health): 200 while a worker consumes and the
 *			queue is reachable, 503 otherwise
 *
 * HEAD too; 404 for other paths, 405 for other methods.  HTTP/1.0 and
 * 1.1, one request per connection (Connection: close).
 *
 * It runs in the supervisor's poll loop like the status socket, never in
 * a thread: non-blocking sockets, at most EVBUS_HTTP_MAX_CLIENTS at once,
 * a request head of at most HTTP_REQ_MAX bytes (431 beyond), and
 * HTTP_TIMEOUT for the whole exchange, after which the client is
 * dropped whatever it is doing.  Answers are built in one piece and
 * written as the socket takes them.  When every place is taken, a
 * newcomer takes that of the oldest client still sending its request
 * (an idle or trickling client must not lock Prometheus out); when all
 * are being answered, the newcomer gets 503.  After the answer the
 * connection is shut down for writing and what the client still sends
 * is read and dropped until it closes (or the deadline), so that it is
 * not reset before it read the answer.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "log.h"
#include "supervisor.h"

#define HTTP_TIMEOUT		5.0	/* s: a whole exchange, from accept */
#define HTTP_REQ_MAX		8192	/* bytes: request line and headers */
#define HTTP_ACCEPT_BURST	256	/* accepts per turn of the loop */
#define FULL_LOG_INTERVAL	60.0	/* s between two "full" warnings */

#define CT_TEXT		"text/plain; version=0.0.4; charset=utf-8"
#define CT_OPENMETRICS	"application/openmetrics-text; version=1.0.0; " \
			"charset=utf-8"
#define CT_JSON		"application/json"
#define CT_PLAIN	"text/plain; charset=utf-8"

enum http_phase {
	HTTP_FREE = 0,
	HTTP_READING,		/* the request head is coming */
	HTTP_WRITING,		/* the answer is going out */
	HTTP_DRAINING		/* answered, shut down: waiting for its close */
};

struct http_client {
	enum http_phase	 phase;
	int		 fd;
	char		 in[HTTP_REQ_MAX + 1];
	size_t		 inlen;
	char		*out;
	size_t		 outlen, outoff;
	double		 since;		/* accepted, monotonic */
	uint64_t	 seq;		/* order of acceptance: eviction */
};

struct http_server {
	int			 fd;
	struct http_client	 clients[EVBUS_HTTP_MAX_CLIENTS];
	double			 full_logged;
	uint64_t		 accepted;	/* clients so far */
};

int
http_listen(struct supervisor *sv, char *err, size_t errlen)
{
	const struct evbus_config *conf = sv->conf;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sslen;
	int			 fd, on = 1, v6;

	sv->http = NULL;
	if (conf->http_listen == NULL)
		return 0;
	memset(&ss, 0, sizeof(ss));
	v6 = strchr(conf->http_host, ':') != NULL;
	if (v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)conf->http_port);
		sslen = sizeof(*sin6);
		inet_pton(AF_INET6, conf->http_host, &sin6->sin6_addr);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)conf->http_port);
		sslen = sizeof(*sin);
		inet_pton(AF_INET, conf->http_host, &sin->sin_addr);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "http_listen %s: socket: %s",
		    conf->http_listen, strerror(errno));
		return -1;
	}
	/* A restart must not wait for the old connections' TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* [::]:port means IPv6 only; 0.0.0.0 is written for IPv4. */
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		snprintf(err, errlen, "http_listen %s: %s%s", conf->http_listen,
		    strerror(errno), errno == EADDRINUSE ? " (another "
		    "program, or another evbusd, listens there; choose "
		    "another port)" : errno == EADDRNOTAVAIL ? " (no "
		    "interface of this host has that address)" : "");
		close(fd);
		return -1;
	}
	if ((sv->http = calloc(1, sizeof(*sv->http))) == NULL) {
		snprintf(err, errlen, "http_listen: out of memory");
		close(fd);
		return -1;
	}
	sv->http->fd = fd;
	sv_fd_private(fd);
	log_info("http: listening on %s%s%s:%d (/metrics, /healthz, /readyz)",
	    v6 ? "[" : "", conf->http_host, v6 ? "]" : "", conf->http_port);
	return 0;
}

static void
client_close(struct http_client *c)
{
	sv_fd_release(c->fd);
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void
http_shutdown(struct supervisor *sv)
{
	struct http_server	*h = sv->http;
	int			 i;

	if (h == NULL)
		return;
	for (i = 0; i < EVBUS_HTTP_MAX_CLIENTS; i++)
		if (h->clients[i].phase != HTTP_FREE)
			client_close(&h->clients[i]);
	sv_fd_release(h->fd);
	close(h->fd);
	free(h);
	sv->http = NULL;
}

static const char *
reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

/*
 * The whole answer, head and body (none for HEAD), in one allocation;
 * NULL when out of memory.
 */
static char *
answer(int code, const char *ctype, const char *extra, const char *body,
    size_t blen, int head, size_t *len)
{
	char	*out, hdr[512];
	int	 n;

	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\n"
	    "Server: evbusd/%s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n",
	    code, reason(code), PACKAGE_VERSION, ctype, blen,
	    extra != NULL ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return NULL;
	if (head)
		blen = 0;
	if ((out = malloc((size_t)n + blen + 1)) == NULL)
		return NULL;
	memcpy(out, hdr, (size_t)n);
	if (blen > 0)
		memcpy(out + n, body, blen);
	out[(size_t)n + blen] = '\0';
	*len = (size_t)n + blen;
	return out;
}

/* Queue an answer: written as the socket takes it (http_dispatch). */
static void
respond(struct http_client *c, int code, const char *ctype,
    const char *extra, const char *body, size_t blen, int head)
{
	if ((c->out = answer(code, ctype, extra, body, blen, head,
	    &c->outlen)) == NULL) {
		client_close(c);
		return;
	}
	c->outoff = 0;
	c->phase = HTTP_WRITING;
}

static void
respond_text(struct http_client *c, int code, const char *extra, int head,
    const char *fmt, ...) __attribute__((__format__(printf, 5, 6)));

static void
respond_text(struct http_client *c, int code, const char *extra, int head,
    const char *fmt, ...)
{
	char	 body[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	respond(c, code, CT_PLAIN, extra, body, strlen(body), head);
}

/*
 * A one-shot answer to a client we are about to close (refused, evicted,
 * timed out): one send that may fail or come short, never a wait.
 */
static void
say_and_close(struct http_client *c, int fd, int code, const char *why)
{
	char	*out;
	size_t	 len;

	if ((out = answer(code, CT_PLAIN, code == 503 ? "Retry-After: 1\r\n" :
	    NULL, why, strlen(why), 0, &len)) != NULL) {
		(void)send(fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		free(out);
	}
	if (c != NULL)
		client_close(c);
	else
		close(fd);
}

/*
 * Does the Accept header value ask for OpenMetrics?  Any media range
 * application/openmetrics-text without q=0 does (Prometheus sends it
 * first, with text/plain as its fallback).
 */
static int
wants_openmetrics(const char *accept)
{
	const char	*p = accept, *end, *semi, *q;
	size_t		 tl;

	while (p != NULL && *p != '\0') {
		p += strspn(p, " \t,");
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		semi = memchr(p, ';', (size_t)(end - p));
		tl = (size_t)((semi != NULL ? semi : end) - p);
		while (tl > 0 && (p[tl - 1] == ' ' || p[tl - 1] == '\t'))
			tl--;
		if (tl == strlen("application/openmetrics-text") &&
		    strncasecmp(p, "application/openmetrics-text", tl) == 0) {
			for (q = semi; q != NULL && q + 1 < end; q++)
				if ((*q == 'q' || *q == 'Q') && q[1] == '=' &&
				    strchr("; \t", q[-1]) != NULL)
					return strtod(q + 2, NULL) > 0;
			return 1;
		}
		p = *end == ',' ? end + 1 : NULL;
	}
	return 0;
}

/*
 * The value of header name in the request head (lines after the first),
 * copied into out; 0 when it is absent.
 */
static int
header(const char *head, const char *name, char *out, size_t len)
{
	const char	*l = strchr(head, '\n'), *v, *e;
	size_t		 nl = strlen(name), vl;

	while (l != NULL && *++l != '\0' && *l != '\r' && *l != '\n') {
		if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
			v = l + nl + 1;
			v += strspn(v, " \t");
			e = strchr(v, '\n');
			vl = e != NULL ? (size_t)(e - v) : strlen(v);
			while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
				vl--;
			if (vl >= len)
				vl = len - 1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return 1;
		}
		l = strchr(l, '\n');
	}
	return 0;
}

/* Liveness: the loop answers; 503 only when stopping or given up. */
static void
serve_healthz(struct supervisor *sv, struct http_client *c, int head)
{
	json_object	*o = json_object_new_object();
	const char	*status = "ok", *s;
	char		 up[32], *body;
	size_t		 len;
	int		 running, broken, waiting, code = 200;

	running = children_alive(sv);
	broken = children_count(sv, CHILD_BROKEN);
	waiting = children_count(sv, CHILD_WAITING);
	if (sv->stopping) {
		status = "stopping";
		code = 503;
	} else if (running == 0 && waiting == 0 && broken > 0) {
		status = "workers refuse their configuration";
		code = 503;
	}
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	snprintf(up, sizeof(up), "%.3f", sv_now() - sv->started);
	json_object_object_add(o, "uptime_seconds",
	    json_object_new_double_s(sv_now() - sv->started, up));
	json_object_object_add(o, "workers_running",
	    json_object_new_int(running));
	json_object_object_add(o, "workers_wanted",
	    json_object_new_int(sv->target));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	len = strlen(s);
	if ((body = malloc(len + 2)) == NULL)
		client_close(c);
	else {
		memcpy(body, s, len);
		body[len] = '\n';
		respond(c, code, CT_JSON, NULL, body, len + 1, head);
		free(body);
	}
	json_object_put(o);
}

/* Readiness: `evbusctl health`, verdict and JSON. */
static void
serve_readyz(struct supervisor *sv, struct http_client *c, int head)
{
	char	*text;
	size_t	 len;
	int	 healthy = 0;

	if ((text = report_health(sv, &healthy, &len)) == NULL) {
		respond_text(c, 500, NULL, head, "out of memory\n");
		return;
	}
	respond(c, healthy && !sv->stopping ? 200 : 503, CT_JSON, NULL, text,
	    len, head);
	free(text);
}

static void
serve_metrics(struct supervisor *sv, struct http_client *c, int head)
{
	char	 accept[1024] = "", *text;
	size_t	 len;
	int	 om;

	header(c->in, "Accept", accept, sizeof(accept));
	om = wants_openmetrics(accept);
	if ((text = report_metrics(sv, om, &len)) == NULL) {
		respond_text(c, 500, NULL, head, "out of memory\n");
		return;
	}
	respond(c, 200, om ? CT_OPENMETRICS : CT_TEXT, "Vary: Accept\r\n",
	    text, len, head);
	free(text);
}

/* Answer the complete request head in c->in. */
static void
serve(struct supervisor *sv, struct http_client *c)
{
	static const struct {
		const char	*path;
		void		(*fn)(struct supervisor *,
				    struct http_client *, int);
	} routes[] = {
		{ "/metrics", serve_metrics },
		{ "/healthz", serve_healthz },
		{ "/readyz", serve_readyz },
	};
	char		 method[16], target[1024], version[16], *q;
	size_t		 i;
	int		 head;

	if (sscanf(c->in, "%15s %1023s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7) != 0) {
		respond_text(c, 400, NULL, 0, "bad request: expected "
		    "\"GET /metrics HTTP/1.1\"\n");
		return;
	}
	if ((q = strchr(target, '?')) != NULL)
		*q = '\0';
	head = strcmp(method, "HEAD") == 0;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(target, routes[i].path) == 0)
			break;
	if (i == sizeof(routes) / sizeof(routes[0])) {
		respond_text(c, 404, NULL, head, "not found: evbusd serves "
		    "/metrics, /healthz and /readyz\n");
		return;
	}
	if (!head && strcmp(method, "GET") != 0) {
		respond_text(c, 405, "Allow: GET, HEAD\r\n", 0, "method %s not "
		    "allowed: GET or HEAD\n", method);
		return;
	}
	routes[i].fn(sv, c, head);
}

static void
client_read(struct supervisor *sv, struct http_client *c)
{
	switch (sv_read_more(c->fd, c->in, sizeof(c->in), &c->inlen)) {
	case SV_READ_GONE:
		client_close(c);
		return;
	case SV_READ_NONE:
		return;
	case SV_READ_NUL:
		respond_text(c, 400, NULL, 0, "bad request: NUL byte\n");
		return;
	}
	if (strstr(c->in, "\r\n\r\n") != NULL || strstr(c->in, "\n\n") != NULL)
		serve(sv, c);
	else if (c->inlen >= sizeof(c->in) - 1)
		respond_text(c, 431, NULL, 0, "request head longer than %d "
		    "bytes\n", HTTP_REQ_MAX);
}

static void
client_write(struct http_client *c)
{
	ssize_t	 n;

	n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->outoff += (size_t)n;
	if (c->outoff < c->outlen)
		return;
	free(c->out);
	c->out = NULL;
	/* Let the client read it all before it sees the connection end. */
	if (shutdown(c->fd, SHUT_WR) == -1)
		client_close(c);
	else
		c->phase = HTTP_DRAINING;
}

static void
client_drain(struct http_client *c)
{
	char	 buf[4096];
	ssize_t	 n;

	while ((n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		client_close(c);
}

/*
 * A place for a newcomer when all are taken: that of a client that was
 * answered and lingers, else of the oldest one still sending its
 * request, else none.
 */
static struct http_client *
evict(struct http_server *h)
{
	struct http_client	*c, *best = NULL;
	int			 i;

	for (i = 0; i < EVBUS_HTTP_MAX_CLIENTS; i++) {
		c = &h->clients[i];
		if (c->phase == HTTP_DRAINING) {
			client_close(c);
			return c;
		}
		/* Not by time: a burst is accepted at one sv_now(). */
		if (c->phase == HTTP_READING &&
		    (best == NULL || c->seq < best->seq))
			best = c;
	}
	if (best != NULL)
		say_and_close(best, best->fd, 503, "evbusd: too many HTTP "
		    "clients; this one sent no request in time\n");
	return best;
}

static void
accept_clients(struct http_server *h)
{
	struct http_client	*c;
	double			 now = sv_now();
	int			 fd, i, n;

	for (n = 0; n < HTTP_ACCEPT_BURST; n++) {
		if ((fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC)) == -1)
			return;
		for (c = NULL, i = 0; i < EVBUS_HTTP_MAX_CLIENTS; i++)
			if (h->clients[i].phase == HTTP_FREE) {
				c = &h->clients[i];
				break;
			}
		if (c == NULL) {
			if (now - h->full_logged >= FULL_LOG_INTERVAL) {
				log_warnx("http: %d clients at once, the "
				    "limit: making room or refusing (at most "
				    "one such warning a minute)",
				    EVBUS_HTTP_MAX_CLIENTS);
				h->full_logged = now;
			}
			c = evict(h);
		}
		if (c == NULL) {
			/* Every place is being answered: refuse, do not queue. */
			say_and_close(NULL, fd, 503, "evbusd: too many HTTP "
			    "clients at once; try again\n");
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->phase = HTTP_READING;
		c->since = now;
		c->seq = ++h->accepted;
		sv_fd_private(fd);
	}
}

void
http_dispatch(struct supervisor *sv, struct pollfd *pfd, int n)
{
	struct http_server	*h = sv->http;
	struct http_client	*c;
	int			 i, j;

	if (h == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (pfd[i].fd == h->fd) {
			accept_clients(h);
			continue;
		}
		for (j = 0; j < EVBUS_HTTP_MAX_CLIENTS; j++) {
			c = &h->clients[j];
			if (c->phase == HTTP_FREE || c->fd != pfd[i].fd)
				continue;
			if (c->phase == HTTP_READING)
				client_read(sv, c);
			else if (c->phase == HTTP_WRITING)
				client_write(c);
			else
				client_drain(c);
			break;
		}
	}
}

/* Drop the clients whose time is up: a slow one must not hold a place. */
static void
http_tick(struct http_server *h)
{
	struct http_client	*c;
	double			 now = sv_now();
	int			 i;

	for (i = 0; i < EVBUS_HTTP_MAX_CLIENTS; i++) {
		c = &h->clients[i];
		if (c->phase == HTTP_FREE || now - c->since <= HTTP_TIMEOUT)
			continue;
		if (c->phase == HTTP_READING)
			say_and_close(c, c->fd, 408, "evbusd: no complete "
			    "request in time\n");
		else
			client_close(c);
	}
}

int
http_pollfds(struct supervisor *sv, struct pollfd *pfd, int max)
{
	struct http_server	*h = sv->http;
	int			 i, n = 0;

	if (h == NULL || max < 1)
		return 0;
	http_tick(h);
	pfd[n].fd = h->fd;
	pfd[n].events = POLLIN;
	n++;
	for (i = 0; i < EVBUS_HTTP_MAX_CLIENTS && n < max; i++) {
		struct http_client *c = &h->clients[i];

		if (c->phase == HTTP_FREE)
			continue;
		pfd[n].fd = c->fd;
		pfd[n].events = c->phase == HTTP_WRITING ? POLLOUT : POLLIN;
		n++;
	}
	return n;
}
