/*
 * control.c: the status socket.  A unix stream socket; a client sends one
 * request line and gets one answer, then the connection closes:
 *
 *	stats | health | queue | workers | metrics	read-only, anyone who can
 *	metrics openmetrics | metrics prometheus	connect (socket mode)
 *	scale N | scale +1 | scale -1 | reload | stop	root or evbusd's own user
 *							(peer credentials)
 *
 * Requests are read without blocking the supervisor, limited in size and
 * time; answers are built from shared memory (report.c), so they come
 * even with every worker busy or the broker down.  Control parses and
 * validates; it never acts: what would change the service (scale,
 * reload, stop) goes back to the loop in struct control_asked, as
 * OpenBSD daemons pass imsgs to their parent.
 *
 * Idle clients must not lock others out: the request line must come
 * within CLIENT_REQ_TIMEOUT, a uid other than root's and evbusd's own holds
 * at most EVBUS_MAX_CLIENTS_UID places, and when the socket is full a new
 * client takes the place of the oldest one that has not sent a request
 * (an unprivileged newcomer only that of another unprivileged client), so
 * root and evbusd's user are always served.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "log.h"
#include "supervisor.h"

/*
 * Seconds: for a whole exchange, for the request line, at most for a
 * probe result (see handle()), between two "socket full" warnings.
 */
#define CLIENT_TIMEOUT		5.0
#define CLIENT_REQ_TIMEOUT	1.0
#define PROBE_WAIT		2.0
#define FULL_LOG_INTERVAL	60.0

int
control_listen(struct supervisor *sv, char *err, size_t errlen)
{
	const struct evbus_config *conf = sv->conf;
	struct sockaddr_un	 sun;
	struct passwd		*pw;
	struct group		*gr;
	mode_t			 old;
	int			 fd, probe, i;

	for (i = 0; i < EVBUS_MAX_CLIENTS; i++)
		sv->clients[i].fd = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, conf->status_socket,
	    sizeof(sun.sun_path)) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "status socket %s: path too long",
		    conf->status_socket);
		return -1;
	}
	/* A socket file left by a dead instance is replaced; a live one not. */
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			snprintf(err, errlen, "status socket %s is in use by a "
			    "running evbusd; stop it first or configure "
			    "another status_socket", conf->status_socket);
			return -1;
		}
		close(probe);
		if (errno == ECONNREFUSED)
			unlink(conf->status_socket);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		snprintf(err, errlen, "status socket %s: bind: %s%s",
		    conf->status_socket, strerror(errno), errno == ENOENT ?
		    " (does its directory exist?)" : "");
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(conf->status_socket, (mode_t)conf->status_socket_mode) == -1) {
		snprintf(err, errlen, "status socket %s: chmod: %s",
		    conf->status_socket, strerror(errno));
		close(fd);
		return -1;
	}
	/* Owned by the service's user/group so they can use it after the drop. */
	pw = conf->user ? getpwnam(conf->user) : NULL;
	gr = conf->group ? getgrnam(conf->group) : NULL;
	if ((pw || gr) && geteuid() == 0 &&
	    chown(conf->status_socket, pw ? pw->pw_uid : (uid_t)-1,
	    gr ? gr->gr_gid : (pw ? pw->pw_gid : (gid_t)-1)) == -1) {
		snprintf(err, errlen, "status socket %s: chown: %s",
		    conf->status_socket, strerror(errno));
		close(fd);
		return -1;
	}
	/* Room for a burst of clients between two turns of the poll loop. */
	if (listen(fd, SOMAXCONN) == -1) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	sv->ctl_fd = fd;
	sv_fd_private(fd);
	return 0;
}

/* Close the socket and every client (at shutdown). */
static void
control_close(struct supervisor *sv)
{
	int	 i;

	for (i = 0; i < EVBUS_MAX_CLIENTS; i++)
		if (sv->clients[i].fd != -1) {
			sv_fd_release(sv->clients[i].fd);
			close(sv->clients[i].fd);
			free(sv->clients[i].out);
			sv->clients[i].out = NULL;
			sv->clients[i].fd = -1;
		}
	if (sv->ctl_fd != -1) {
		sv_fd_release(sv->ctl_fd);
		close(sv->ctl_fd);
		sv->ctl_fd = -1;
	}
}

void
control_shutdown(struct supervisor *sv)
{
	int	 had = sv->ctl_fd != -1;

	control_close(sv);
	if (had)
		unlink(sv->conf->status_socket);
}

static void
client_close(struct client *c)
{
	sv_fd_release(c->fd);
	close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
	c->inlen = 0;
	c->outlen = c->outoff = 0;
}

static void
reply(struct client *c, char *text, size_t len)
{
	c->out = text;
	c->outlen = len;
	c->outoff = 0;
}

static void
reply_json(struct client *c, json_object *o)
{
	size_t		 len;
	const char	*s = json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char		*t;

	len = strlen(s);
	if ((t = malloc(len + 2)) != NULL) {
		memcpy(t, s, len);
		t[len] = '\n';
		t[len + 1] = '\0';
		reply(c, t, len + 1);
	}
	json_object_put(o);
}

static void
reply_error(struct client *c, const char *fmt, ...)
    __attribute__((__format__(printf, 2, 3)));

static void
reply_error(struct client *c, const char *fmt, ...)
{
	json_object	*o = json_object_new_object();
	char		 msg[512];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", json_object_new_string(msg));
	reply_json(c, o);
}

/* Root and evbusd's user: may change things, and are always served. */
static int
privileged(const struct supervisor *sv, uid_t uid)
{
	return uid == 0 || uid == sv->owner_uid;
}

static void
ok_reply(struct client *c, const char *what, int value)
{
	json_object	*o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	/* "workers": a count; "reloading", "stopping": true. */
	json_object_object_add(o, what, strcmp(what, "workers") == 0 ?
	    json_object_new_int(value) : json_object_new_boolean(value));
	reply_json(c, o);
}

/* Act on one request line. */
static void
handle(struct supervisor *sv, struct client *c, char *line,
    struct control_asked *asked)
{
	char		*arg, *text;
	size_t		 len;
	const char	*errstr;
	int		 healthy, n;

	if ((arg = strchr(line, ' ')) != NULL)
		*arg++ = '\0';
	if (strcmp(line, "stats") == 0 && arg == NULL) {
		if ((text = report_stats(sv, &len)) != NULL)
			reply(c, text, len);
	} else if ((strcmp(line, "health") == 0 ||
	    strcmp(line, "queue") == 0) && arg == NULL && !c->waited &&
	    report_probe_pending(sv)) {
		/*
		 * Just started or reloaded, the probe has no answer yet, or
		 * one from before the workers declared the queue: rather than
		 * say "not checked" or "does not exist", wait (briefly) for
		 * its next check.  control_pollfds() answers then.
		 */
		c->waited = 1;
		c->wait_until = sv_now() + PROBE_WAIT;
	} else if (strcmp(line, "health") == 0 && arg == NULL) {
		if ((text = report_health(sv, &healthy, &len)) != NULL)
			reply(c, text, len);
	} else if (strcmp(line, "queue") == 0 && arg == NULL) {
		if ((text = report_queue(sv, &len)) != NULL)
			reply(c, text, len);
	} else if (strcmp(line, "workers") == 0 && arg == NULL) {
		if ((text = report_workers(sv, &len)) != NULL)
			reply(c, text, len);
	} else if (strcmp(line, "metrics") == 0 && (arg == NULL ||
	    strcmp(arg, "openmetrics") == 0 || strcmp(arg, "prometheus") == 0)) {
		/* OpenMetrics unless asked for text 0.0.4 ("prometheus"). */
		if ((text = report_metrics(sv, arg == NULL ||
		    strcmp(arg, "openmetrics") == 0, &len)) != NULL)
			reply(c, text, len);
	} else if (strcmp(line, "scale") == 0 || strcmp(line, "reload") == 0 ||
	    strcmp(line, "stop") == 0) {
		if (!privileged(sv, c->uid)) {
			log_warnx("status socket: %s refused for uid %lu (only "
			    "root and uid %lu may change things)", line,
			    (unsigned long)c->uid, (unsigned long)sv->owner_uid);
			reply_error(c, "permission denied: %s is only allowed "
			    "to root and evbusd's user", line);
			return;
		}
		if (strcmp(line, "reload") == 0 && arg == NULL) {
			asked->reload = 1;
			ok_reply(c, "reloading", 1);
		} else if (strcmp(line, "stop") == 0 && arg == NULL) {
			asked->stop = 1;
			ok_reply(c, "stopping", 1);
		} else if (strcmp(line, "scale") == 0 && arg != NULL) {
			n = (int)strtonum(arg[0] == '+' || arg[0] == '-' ?
			    arg + 1 : arg, 1, EVBUS_MAX_WORKERS, &errstr);
			if (errstr != NULL) {
				reply_error(c, "scale %s: %s (N from 1 to %d, "
				    "or +N/-N)", arg, errstr,
				    EVBUS_MAX_WORKERS);
				return;
			}
			if (arg[0] == '+' || arg[0] == '-')
				n = sv->target + (arg[0] == '-' ? -n : n);
			if (sv->stopping) {
				reply_error(c, "evbusd is stopping");
				return;
			}
			if (n < 1 || n > EVBUS_MAX_WORKERS) {
				reply_error(c, "scale %s: %d workers refused: "
				    "evbusd runs 1 to %d; still %d", arg, n,
				    EVBUS_MAX_WORKERS, sv->target);
				return;
			}
			/* The loop scales (children_scale) after this turn. */
			asked->scale = n;
			ok_reply(c, "workers", n);
		} else
			reply_error(c, "usage: scale N|+N|-N, reload, stop");
	} else
		reply_error(c, "unknown request '%.64s' (stats, health, "
		    "queue, workers, metrics [openmetrics|prometheus], "
		    "scale N, reload, stop)", line);
}

/* Still reading the request line: no answer, none deferred. */
static int
reading(const struct client *c)
{
	return c->fd != -1 && c->out == NULL && c->wait_until == 0;
}

/*
 * The client that has waited longest without sending its request, among
 * those of uid (same_uid), else of unprivileged uids (or of any uid with
 * anyone set); NULL when there is none.
 */
static struct client *
oldest_reading(struct supervisor *sv, int same_uid, uid_t uid, int anyone)
{
	struct client	*c, *best = NULL;
	int		 i;

	for (i = 0; i < EVBUS_MAX_CLIENTS; i++) {
		c = &sv->clients[i];
		if (!reading(c) || (same_uid && c->uid != uid) ||
		    (!same_uid && !anyone && privileged(sv, c->uid)))
			continue;
		if (best == NULL || c->since < best->since)
			best = c;
	}
	return best;
}

/* Close a client that sent nothing to make room; say why, if it listens. */
static void
evict(struct supervisor *sv, struct client *c, uid_t newcomer)
{
	static double	 last_log;
	static const char msg[] = "{\"error\":\"closed: no request came, "
	    "and the status socket is full\"}\n";
	double		 now = sv_now();

	if (now - last_log >= FULL_LOG_INTERVAL) {
		log_warnx("status socket: full or uid %lu at its limit: "
		    "closing a client of uid %lu that sent no request for "
		    "%.1fs (at most one such warning a minute)",
		    (unsigned long)newcomer, (unsigned long)c->uid,
		    now - c->since);
		last_log = now;
	}
	sv_write_all(c->fd, msg, sizeof(msg) - 1);
	client_close(c);
}

/* A place for a new client of uid, evicting an idle one if need be. */
static struct client *
place_for(struct supervisor *sv, uid_t uid)
{
	struct client	*c;
	int		 i, mine = 0;

	for (i = 0; i < EVBUS_MAX_CLIENTS; i++)
		if (sv->clients[i].fd != -1 && sv->clients[i].uid == uid)
			mine++;
	if (!privileged(sv, uid) && mine >= EVBUS_MAX_CLIENTS_UID) {
		/* A uid's newest client is likelier to talk than its oldest. */
		if ((c = oldest_reading(sv, 1, uid, 0)) == NULL)
			return NULL;
		evict(sv, c, uid);
		return c;
	}
	for (i = 0; i < EVBUS_MAX_CLIENTS; i++)
		if (sv->clients[i].fd == -1)
			return &sv->clients[i];
	if ((c = oldest_reading(sv, 0, uid, 0)) == NULL &&
	    privileged(sv, uid))
		c = oldest_reading(sv, 0, uid, 1);
	if (c != NULL)
		evict(sv, c, uid);
	return c;
}

static void
accept_client(struct supervisor *sv)
{
	static const char busy[] = "{\"error\":\"busy: too many status "
	    "socket clients at once; try again\"}\n";
	struct client	*c;
	uid_t		 uid;
	gid_t		 gid;
	int		 fd;

	while ((fd = accept4(sv->ctl_fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		if (getpeereid(fd, &uid, &gid) == -1) {
			close(fd);
			continue;
		}
		if ((c = place_for(sv, uid)) == NULL) {
			/* Every place is mid-answer: refuse, do not queue. */
			sv_write_all(fd, busy, sizeof(busy) - 1);
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		sv_fd_private(fd);
		c->uid = uid;
		c->since = sv_now();
	}
}

/* Answer the request line in c->in, or defer it (see handle()). */
static void
serve(struct supervisor *sv, struct client *c, struct control_asked *asked)
{
	handle(sv, c, c->in, asked);
	if (c->out == NULL && c->wait_until == 0)
		reply_error(c, "out of memory");
}

static void
client_read(struct supervisor *sv, struct client *c,
    struct control_asked *asked)
{
	char	*nl;

	switch (sv_read_more(c->fd, c->in, sizeof(c->in), &c->inlen)) {
	case SV_READ_GONE:
		client_close(c);
		return;
	case SV_READ_NONE:
		return;
	case SV_READ_NUL:
		reply_error(c, "request contains a NUL byte");
		return;
	}
	if ((nl = strchr(c->in, '\n')) == NULL) {
		if (c->inlen >= sizeof(c->in) - 1)
			reply_error(c, "request longer than %d bytes",
			    EVBUS_CTL_REQ_MAX);
		return;
	}
	*nl = '\0';
	if (nl > c->in && nl[-1] == '\r')
		nl[-1] = '\0';
	serve(sv, c, asked);
}

static void
client_write(struct client *c)
{
	ssize_t	 n;

	n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->outoff += (size_t)n;
	if (c->outoff == c->outlen)
		client_close(c);
}

void
control_dispatch(struct supervisor *sv, struct pollfd *pfd, int n,
    struct control_asked *asked)
{
	int	 i, j;

	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (pfd[i].fd == sv->ctl_fd) {
			accept_client(sv);
			continue;
		}
		for (j = 0; j < EVBUS_MAX_CLIENTS; j++) {
			struct client *c = &sv->clients[j];

			if (c->fd != pfd[i].fd)
				continue;
			if (c->out != NULL)
				client_write(c);
			else if (c->wait_until != 0) {
				/* Deferred: only a hang-up matters. */
				if (pfd[i].revents & (POLLHUP | POLLERR))
					client_close(c);
			} else if (pfd[i].revents &
			    (POLLIN | POLLHUP | POLLERR))
				client_read(sv, c, asked);
			break;
		}
	}
}

/*
 * Once per turn of the loop, before poll: answer deferred requests whose
 * probe result came (or whose wait is over), and close clients that are
 * too slow, so that they do not hold a place for long.
 */
static void
control_tick(struct supervisor *sv)
{
	struct client	*c;
	double		 now = sv_now();
	int		 i, pending = -1;

	for (i = 0; i < EVBUS_MAX_CLIENTS; i++) {
		c = &sv->clients[i];
		if (c->fd == -1)
			continue;
		if (c->wait_until != 0 && c->out == NULL) {
			if (pending == -1)
				pending = report_probe_pending(sv);
			if (!pending || now >= c->wait_until) {
				/* Only health and queue wait: they ask nothing. */
				struct control_asked none = { 0, 0, 0 };

				c->wait_until = 0;
				serve(sv, c, &none);
			}
		} else if (now - c->since > CLIENT_TIMEOUT || (reading(c) &&
		    now - c->since > CLIENT_REQ_TIMEOUT))
			client_close(c);
	}
}

int
control_pollfds(struct supervisor *sv, struct pollfd *pfd, int max)
{
	int	 i, n = 0;

	if (sv->ctl_fd == -1 || max < 1)
		return 0;
	control_tick(sv);
	pfd[n].fd = sv->ctl_fd;
	pfd[n].events = POLLIN;
	n++;
	for (i = 0; i < EVBUS_MAX_CLIENTS && n < max; i++) {
		struct client *c = &sv->clients[i];

		if (c->fd == -1)
			continue;
		pfd[n].fd = c->fd;
		/* A deferred request waits for nothing on its socket. */
		pfd[n].events = c->out ? POLLOUT : c->wait_until != 0 ? 0 :
		    POLLIN;
		n++;
	}
	return n;
}
