/*
 * control.c: the status socket.  A unix stream socket; a client sends one
 * request line and gets one answer, then the connection closes:
 *
 *	stats | health | queue | workers | metrics	read-only, anyone who can
 *							connect (socket mode)
 *	scale N | scale +1 | scale -1 | reload | stop	root or evbusd's own user
 *							(peer credentials)
 *
 * Requests are read without blocking the supervisor, limited in size and
 * time; answers are built from shared memory, so they come even with every
 * worker busy or the broker down.
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

#define CLIENT_TIMEOUT	5.0

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
	if (listen(fd, 16) == -1) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	sv->ctl_fd = fd;
	return 0;
}

void
control_shutdown(struct supervisor *sv)
{
	int	 had = sv->ctl_fd != -1;

	control_close(sv);
	if (had)
		unlink(sv->conf->status_socket);
}

void
control_close(struct supervisor *sv)
{
	int	 i;

	for (i = 0; i < EVBUS_MAX_CLIENTS; i++)
		if (sv->clients[i].fd != -1) {
			close(sv->clients[i].fd);
			free(sv->clients[i].out);
			sv->clients[i].out = NULL;
			sv->clients[i].fd = -1;
		}
	if (sv->ctl_fd != -1) {
		close(sv->ctl_fd);
		sv->ctl_fd = -1;
	}
}

int
control_pollfds(struct supervisor *sv, struct pollfd *pfd, int max)
{
	int	 i, n = 0;

	if (sv->ctl_fd == -1 || max < 1)
		return 0;
	pfd[n].fd = sv->ctl_fd;
	pfd[n].events = POLLIN;
	n++;
	for (i = 0; i < EVBUS_MAX_CLIENTS && n < max; i++) {
		struct client *c = &sv->clients[i];

		if (c->fd == -1)
			continue;
		pfd[n].fd = c->fd;
		pfd[n].events = c->out ? POLLOUT : POLLIN;
		n++;
	}
	return n;
}

static void
client_close(struct client *c)
{
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

static int
may_change(const struct supervisor *sv, const struct client *c)
{
	return c->uid == 0 || c->uid == sv->owner_uid;
}

static void
ok_reply(struct client *c, const char *what, int value)
{
	json_object	*o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, what, json_object_new_int(value));
	reply_json(c, o);
}

/* Act on one request line. */
static void
handle(struct supervisor *sv, struct client *c, char *line)
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
	} else if (strcmp(line, "health") == 0 && arg == NULL) {
		if ((text = report_health(sv, &healthy, &len)) != NULL)
			reply(c, text, len);
	} else if (strcmp(line, "queue") == 0 && arg == NULL) {
		if ((text = report_queue(sv, &len)) != NULL)
			reply(c, text, len);
	} else if (strcmp(line, "workers") == 0 && arg == NULL) {
		if ((text = report_workers(sv, &len)) != NULL)
			reply(c, text, len);
	} else if (strcmp(line, "metrics") == 0 && arg == NULL) {
		if ((text = report_metrics(sv, &len)) != NULL)
			reply(c, text, len);
	} else if (strcmp(line, "scale") == 0 || strcmp(line, "reload") == 0 ||
	    strcmp(line, "stop") == 0) {
		if (!may_change(sv, c)) {
			log_warnx("status socket: %s refused for uid %lu (only "
			    "root and uid %lu may change things)", line,
			    (unsigned long)c->uid, (unsigned long)sv->owner_uid);
			reply_error(c, "permission denied: %s is only allowed "
			    "to root and evbusd's user", line);
			return;
		}
		if (strcmp(line, "reload") == 0 && arg == NULL) {
			sv_sighup = 1;
			ok_reply(c, "reloading", 1);
		} else if (strcmp(line, "stop") == 0 && arg == NULL) {
			sv_sigterm = 1;
			ok_reply(c, "stopping", 1);
		} else if (strcmp(line, "scale") == 0 && arg != NULL) {
			if (arg[0] == '+' || arg[0] == '-')
				n = sv->target + (int)strtonum(arg + 1, 1, 128,
				    &errstr) * (arg[0] == '-' ? -1 : 1);
			else
				n = (int)strtonum(arg, 1, 128, &errstr);
			if (errstr != NULL) {
				reply_error(c, "scale %s: %s (1..128, or +N/-N)",
				    arg, errstr);
				return;
			}
			if (sv->stopping) {
				reply_error(c, "evbusd is stopping");
				return;
			}
			children_scale(sv, n);
			ok_reply(c, "workers", sv->target);
		} else
			reply_error(c, "usage: scale N|+N|-N, reload, stop");
	} else
		reply_error(c, "unknown request '%.64s' (stats, health, "
		    "queue, workers, metrics, scale N, reload, stop)", line);
}

static void
accept_client(struct supervisor *sv)
{
	struct client	*c = NULL;
	uid_t		 uid;
	gid_t		 gid;
	int		 fd, i;

	while ((fd = accept4(sv->ctl_fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		for (i = 0; i < EVBUS_MAX_CLIENTS; i++)
			if (sv->clients[i].fd == -1) {
				c = &sv->clients[i];
				break;
			}
		if (c == NULL) {
			/* Too many at once: refuse rather than queue. */
			(void)write(fd, "{\"error\":\"busy\"}\n", 17);
			close(fd);
			continue;
		}
		if (getpeereid(fd, &uid, &gid) == -1) {
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->uid = uid;
		c->since = sv_now();
		c = NULL;
	}
}

static void
client_read(struct supervisor *sv, struct client *c)
{
	ssize_t	 n;
	char	*nl;

	n = read(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		client_close(c);
		return;
	}
	if (n < 0)
		return;
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	if (memchr(c->in, '\0', c->inlen) != NULL) {
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
	handle(sv, c, c->in);
	if (c->out == NULL)
		reply_error(c, "out of memory");
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
control_dispatch(struct supervisor *sv, struct pollfd *pfd, int n)
{
	int	 i, j;
	double	 now = sv_now();

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
			else if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				client_read(sv, c);
			break;
		}
	}
	/* Slow or silent clients do not hold a place for long. */
	for (j = 0; j < EVBUS_MAX_CLIENTS; j++)
		if (sv->clients[j].fd != -1 &&
		    now - sv->clients[j].since > CLIENT_TIMEOUT)
			client_close(&sv->clients[j]);
}
