/*
 * daemon.c: evbusd's supervisor: start-up checks, accepting plugins,
 * daemonizing, the pid file, signals, and the poll loop.  The loop owns
 * the state and is the only one to act on it: it reaps and restarts
 * workers (children.c), serves the status socket (control.c) and carries
 * out what its clients asked (scale, reload, stop).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libutil.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "log.h"
#include "supervisor.h"
#include "worker.h"
#include "xmalloc.h"

volatile sig_atomic_t sv_sigterm, sv_sighup, sv_sigchld, sv_sigttin,
    sv_sigttou, sv_sigusr1;
static int	 sigpipe_fds[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int	 saved = errno;
	char	 c = 0;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		sv_sigterm = 1;
		break;
	case SIGHUP:
		sv_sighup = 1;
		break;
	case SIGCHLD:
		sv_sigchld = 1;
		break;
	case SIGTTIN:
		sv_sigttin++;
		break;
	case SIGTTOU:
		sv_sigttou++;
		break;
	case SIGUSR1:
		sv_sigusr1 = 1;
		break;
	}
	/* Wake the poll loop. */
	if (sigpipe_fds[1] != -1)
		sv_write_all(sigpipe_fds[1], &c, 1);
	errno = saved;
}

static void
setup_signals(void)
{
	struct sigaction sa;
	int		 sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGTTIN,
			    SIGTTOU, SIGUSR1 };
	size_t		 i;

	if (pipe2(sigpipe_fds, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("pipe2");
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* The loaded plugins as a JSON array: name, version, file, events. */
static const char *
plugins_json(const struct plugins *ps)
{
	json_object	*a = json_object_new_array(), *o, *ev;
	size_t		 i, j;

	for (i = 0; i < ps->n; i++) {
		const struct plugin *p = &ps->v[i];

		o = json_object_new_object();
		json_object_object_add(o, "name",
		    json_object_new_string(p->h->name));
		json_object_object_add(o, "version", p->h->version != NULL ?
		    json_object_new_string(p->h->version) : NULL);
		json_object_object_add(o, "file",
		    json_object_new_string(p->file));
		if (p->wildcard)
			ev = NULL;
		else {
			ev = json_object_new_array();
			for (j = 0; p->h->event_types != NULL &&
			    p->h->event_types[j] != NULL; j++)
				json_object_array_add(ev, json_object_new_string(
				    p->h->event_types[j]));
		}
		json_object_object_add(o, "event_types", ev);
		json_object_array_add(a, o);
	}
	return json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
}

/*
 * Load every plugin of snap in a throwaway child, as a worker would
 * (dlopen, ABI checks, init, fini), so a broken plugin stops start-up or
 * a reload with a clear message and can never crash the supervisor.
 */
static int
check_snapshot(const struct evbus_config *conf,
    const struct plugin_snapshot *snap, char **info, char *err,
    size_t errlen)
{
	struct worker	*w;
	char		 buf[4096], *out = NULL;
	int		 p[2], status;
	pid_t		 pid;
	ssize_t		 n;
	size_t		 got = 0;

	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		char	 msg[2048] = "";
		const char *loaded = NULL;
		int	 rc = 0;

		close(p[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setproctitle("plugin check");
		if (sv_drop_privileges(conf, msg, sizeof(msg)) == -1) {
			sv_write_all(p[1], msg, strlen(msg));
			_exit(1);
		}
		if ((w = calloc(1, sizeof(*w))) == NULL)
			_exit(1);
		w->conf = conf;
		w->index = -1;
		snprintf(w->consumer_name, sizeof(w->consumer_name), "%s-check",
		    conf->consumer_name);
		w->stats = &w->local_stats;
		if (loader_load_snapshot(snap, &w->plugins, msg,
		    sizeof(msg)) == -1)
			rc = 1;
		else if (loader_init_all(&w->plugins, conf, w, msg,
		    sizeof(msg)) == -1)
			rc = 1;
		if (rc == 0) {
			snprintf(msg, sizeof(msg), "%zu plugin(s) OK",
			    w->plugins.n);
			/* Then what was loaded, for `evbusctl status`. */
			loaded = plugins_json(&w->plugins);
		}
		sv_write_all(p[1], msg, strlen(msg) + (loaded != NULL));
		if (loaded != NULL)
			sv_write_all(p[1], loaded, strlen(loaded));
		loader_unload_all(&w->plugins);
		_exit(rc);
	}
	close(p[1]);
	/* The message, then after a NUL the plugins as JSON. */
	while ((n = read(p[0], buf, sizeof(buf))) > 0) {
		out = xreallocarray(out, got + (size_t)n + 1, 1);
		memcpy(out + got, buf, (size_t)n);
		got += (size_t)n;
	}
	close(p[0]);
	if (out != NULL) {
		out[got] = '\0';
		snprintf(err, errlen, "%s", out);
		if (strlen(out) < got)
			*info = xstrdup(out + strlen(out) + 1);
		free(out);
	} else
		err[0] = '\0';
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		snprintf(err + strlen(err), errlen - strlen(err),
		    "%splugin check crashed (signal %d): a plugin's init "
		    "is broken", err[0] ? "; " : "", WTERMSIG(status));
	else if (err[0] == '\0')
		snprintf(err, errlen, "plugin check failed (status %d)",
		    WEXITSTATUS(status));
	return -1;
}

/*
 * Accept the plugins of conf: take the private copies the workers will
 * load (never plugin_dir itself, see loader.c) and check them.  Returns
 * the snapshot, or NULL with err.
 */
struct plugin_snapshot *
sv_take_plugins(const struct evbus_config *conf, char *err, size_t errlen)
{
	struct plugin_snapshot	*snap;

	if ((snap = calloc(1, sizeof(*snap))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (loader_snapshot(conf->plugin_dir, snap, err, errlen) == -1) {
		free(snap);
		return NULL;
	}
	if (check_snapshot(conf, snap, &snap->info, err, errlen) == -1) {
		sv_free_plugins(snap);
		return NULL;
	}
	return snap;
}

void
sv_free_plugins(struct plugin_snapshot *snap)
{
	if (snap == NULL)
		return;
	loader_snapshot_free(snap);
	free(snap);
}

/* evbusd -n: check the plugins as start-up would. */
int
sv_check_plugins(const struct evbus_config *conf, char *err, size_t errlen)
{
	struct plugin_snapshot	*snap;

	if ((snap = sv_take_plugins(conf, err, errlen)) == NULL)
		return -1;
	sv_free_plugins(snap);
	return 0;
}

static void
do_reload(struct supervisor *sv)
{
	struct evbus_conf_errors errs = { NULL, 0 };
	struct evbus_config	*nc;
	struct plugin_snapshot	*snap;
	char			 err[2048];
	size_t			 i;
	int			 old_workers;

	log_info("SIGHUP: reloading %s", sv->conf_path);
	if ((nc = evbus_config_load_flags(sv->conf_path, EVBUS_CONF_ACCOUNTS,
	    &errs)) == NULL) {
		for (i = 0; i < errs.n; i++)
			log_warnx("%s", errs.msgs[i]);
		evbus_conf_errors_clear(&errs);
		log_warnx("reload: %s is not valid; keeping the running "
		    "configuration", sv->conf_path);
		return;
	}
	if ((snap = sv_take_plugins(nc, err, sizeof(err))) == NULL) {
		log_warnx("reload: plugins: %s; keeping the running "
		    "configuration and plugins", err);
		evbus_config_free(nc);
		return;
	}
	/* Running workers keep their own copies (inherited descriptors). */
	sv_free_plugins(sv->snap);
	sv->snap = snap;
	if (strcmp(nc->status_socket, sv->conf->status_socket) != 0 ||
	    nc->status_socket_mode != sv->conf->status_socket_mode)
		log_warnx("reload: status_socket changes take effect at the "
		    "next restart");
	if ((nc->http_listen == NULL) != (sv->conf->http_listen == NULL) ||
	    (nc->http_listen != NULL &&
	    strcmp(nc->http_listen, sv->conf->http_listen) != 0))
		log_warnx("reload: http_listen changes take effect at the "
		    "next restart");
	/*
	 * Children forked from now on see the new configuration.  Fix: the
	 * first configuration belongs to our caller, who frees it after
	 * supervisor_run() returns; freeing it here too made evbusd abort
	 * with a double free on its way out after any reload.
	 */
	old_workers = sv->conf->workers;
	if (sv->conf != sv->conf_orig)
		evbus_config_free(sv->conf);
	sv->conf = nc;
	children_reload(sv);
	/*
	 * Fix: a pool scaled at run time went back to `workers` at every
	 * reload.  Only a change of the key itself resizes it.
	 */
	if (nc->workers != old_workers) {
		log_info("reload: workers changed from %d to %d in %s; scaling "
		    "from %d to %d", old_workers, nc->workers, sv->conf_path,
		    sv->target, nc->workers);
		children_scale(sv, nc->workers);
	} else if (sv->target != nc->workers)
		log_info("reload: workers unchanged (%d) in %s; keeping the %d "
		    "workers scaled to at run time", nc->workers,
		    sv->conf_path, sv->target);
	probe_restart(sv);
	log_info("reload: configuration valid (%s); replacing workers one at "
	    "a time", err);
}

/*
 * Carry out what status socket clients asked for (control.c validated it
 * and answered).  A reload or stop takes the same path as its signal.
 */
static void
carry_out(struct supervisor *sv, const struct control_asked *asked)
{
	if (asked->scale > 0 && !sv->stopping &&
	    children_scale(sv, asked->scale) == -1)
		log_warnx("status socket: scale to %d refused", asked->scale);
	if (asked->reload)
		sv_sighup = 1;
	if (asked->stop)
		sv_sigterm = 1;
}

int
supervisor_run(struct evbus_config *conf, const char *conf_path,
    int foreground)
{
	struct supervisor	*sv;
	struct pidfh		*pfh = NULL;
	struct pollfd		 pfd[1 + 1 + EVBUS_MAX_CLIENTS + 1 +
				    EVBUS_HTTP_MAX_CLIENTS];
	struct control_asked	 asked;
	pid_t			 otherpid;
	char			 err[2048], c[64], why[256];
	int			 n, nfds, nhttp, syslog_ok = 1;

	if ((sv = calloc(1, sizeof(*sv))) == NULL)
		fatal("calloc");
	sv->conf = sv->conf_orig = conf;
	sv->conf_path = conf_path;
	sv->target = conf->workers;
	sv->ctl_fd = -1;
	sv->foreground = foreground;

	if ((sv->snap = sv_take_plugins(conf, err, sizeof(err))) == NULL) {
		log_warnx("plugins: %s", err);
		return EVBUS_EX_CONFIG;
	}
	log_info("plugins: %s", err);

	if (!foreground) {
		pfh = pidfile_open(conf->pid_file, 0644, &otherpid);
		if (pfh == NULL) {
			if (errno == EEXIST) {
				log_warnx("another evbusd (pid %ld) is running "
				    "with pid file %s", (long)otherpid,
				    conf->pid_file);
				return 1;
			}
			log_warn("pid file %s", conf->pid_file);
			/* A missing directory will not appear by restarting. */
			return errno == ENOENT || errno == ENOTDIR ?
			    EVBUS_EX_CONFIG : 1;
		}
	}
	if (control_listen(sv, err, sizeof(err)) == -1) {
		int	 missing = errno == ENOENT || errno == ENOTDIR;

		log_warnx("%s", err);
		if (pfh)
			pidfile_remove(pfh);
		return missing ? EVBUS_EX_CONFIG : 1;
	}
	if (http_listen(sv, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		control_shutdown(sv);
		if (pfh)
			pidfile_remove(pfh);
		return 1;
	}
	if (sv_owner_uid(conf, &sv->owner_uid, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		http_shutdown(sv);
		control_shutdown(sv);
		if (pfh)
			pidfile_remove(pfh);
		return EVBUS_EX_CONFIG;
	}
	if (!foreground) {
		char	*abs;

		/*
		 * Fix: daemon() moves to /, so with a relative -f path every
		 * SIGHUP read another file (or none) than the one started
		 * with.  Remember where it is; it lives as long as we do.
		 */
		if (conf_path[0] != '/' &&
		    (abs = realpath(conf_path, NULL)) != NULL)
			sv->conf_path = abs;
		/*
		 * No syslog to take the messages (a container, a minimal
		 * system): say so, and keep logging to stderr rather than
		 * into nothing.
		 */
		syslog_ok = log_syslog_available(why, sizeof(why));
		if (!syslog_ok)
			log_warnx("syslog is not available (%s): logging to "
			    "stderr, which stays open; run evbusd in the "
			    "foreground (-d) under systemd or another "
			    "supervisor, or start a syslog daemon", why);
		if (daemon(0, !syslog_ok) == -1)
			fatal("daemon");
		pidfile_write(pfh);
		if (syslog_ok)
			log_init(0, log_getverbose(),
			    conf->syslog_facility_code);
		else
			sv->foreground = 1;	/* logs to stderr (SIGUSR1) */
	}

	if ((sv->sb = evbus_sb_create(EVBUS_SB_MAX_SLOTS)) == NULL)
		fatal("shared memory for %d workers", EVBUS_SB_MAX_SLOTS);
	sv->sb->pool = (uint32_t)sv->target;
	setup_signals();
	setproctitle("supervisor of group %s (%s, %d workers)",
	    conf->consumer_group, conf->queue_name, conf->workers);
	sv->started = sv_now();
	sv->started_wall = (int64_t)time(NULL) * 1000000;
	log_info("starting %d worker(s) for queue %s; status socket %s",
	    sv->target, conf->queue_name, conf->status_socket);
	probe_start(sv);
	children_start(sv);
	notify_init(sv);

	for (;;) {
		if (sv_sigchld) {
			sv_sigchld = 0;
			children_reap(sv);
		}
		if (sv_sigterm && !sv->stopping) {
			sv->stopping = 1;
			sv->stop_deadline = sv_now() + conf->shutdown_timeout;
			log_info("stopping: waiting up to %.0fs for %d worker(s) "
			    "to finish their message", sv->conf->shutdown_timeout,
			    children_alive(sv));
			notify_stopping(sv);
			children_stop_all(sv, SIGTERM);
			if (sv->probe_pid > 0)
				kill(sv->probe_pid, SIGTERM);
		}
		if (sv->stopping && children_alive(sv) == 0 &&
		    sv->probe_pid == 0)
			break;
		if (sv_sighup && !sv->stopping) {
			sv_sighup = 0;
			notify_reloading(sv);
			do_reload(sv);
			notify_now(sv);
			conf = sv->conf;
		}
		while (sv_sigttin > 0 && !sv->stopping) {
			sv_sigttin--;
			children_scale(sv, sv->target + 1);
		}
		while (sv_sigttou > 0 && !sv->stopping) {
			sv_sigttou--;
			children_scale(sv, sv->target - 1);
		}
		if (sv_sigusr1) {
			sv_sigusr1 = 0;
			log_info("SIGUSR1: logs reopened");
			if (!sv->foreground) {
				closelog();
				log_init(0, log_getverbose(),
				    sv->conf->syslog_facility_code);
			}
		}
		children_tick(sv);
		children_sample(sv);
		notify_tick(sv);
		if (!sv->stopping && sv->probe_pid == 0 &&
		    sv_now() >= sv->probe_restart_at)
			probe_start(sv);
		/* Every worker refuses its configuration: give up. */
		if (!sv->stopping && children_alive(sv) == 0 &&
		    children_count(sv, CHILD_WAITING) == 0 &&
		    children_count(sv, CHILD_BROKEN) > 0) {
			snprintf(sv->exit_reason, sizeof(sv->exit_reason),
			    "every worker exited with 'configuration is "
			    "broken'; see their messages above");
			sv->exit_status = EVBUS_EX_CONFIG;
			sv_sigterm = 1;
			log_warnx("%s", sv->exit_reason);
			continue;
		}

		pfd[0].fd = sigpipe_fds[0];
		pfd[0].events = POLLIN;
		nfds = 1 + control_pollfds(sv, pfd + 1,
		    (int)(sizeof(pfd) / sizeof(pfd[0])) - 1);
		nhttp = http_pollfds(sv, pfd + nfds,
		    (int)(sizeof(pfd) / sizeof(pfd[0])) - nfds);
		n = poll(pfd, (nfds_t)(nfds + nhttp),
		    children_next_due(sv, 200));
		if (n == -1 && errno != EINTR)
			fatal("poll");
		if (n > 0 && (pfd[0].revents & POLLIN))
			while (read(sigpipe_fds[0], c, sizeof(c)) > 0)
				;
		if (n > 0) {
			memset(&asked, 0, sizeof(asked));
			control_dispatch(sv, pfd + 1, nfds - 1, &asked);
			http_dispatch(sv, pfd + nfds, nhttp);
			carry_out(sv, &asked);
		}
	}

	http_shutdown(sv);
	control_shutdown(sv);
	if (pfh)
		pidfile_remove(pfh);
	log_info("stopped%s%s", sv->exit_reason[0] ? ": " : "",
	    sv->exit_reason);
	if (sv->conf != sv->conf_orig)
		evbus_config_free(sv->conf);	/* a reload's, ours */
	sv_free_plugins(sv->snap);
	return sv->exit_status;
}
