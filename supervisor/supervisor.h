/*
 * supervisor.h: evbusd's parent role: the worker pool, the broker probe,
 * the status socket, signals.  The supervisor never runs plugin code.
 *
 * Calls run one way: daemon.c (the loop; it owns the state and acts)
 * calls children.c, control.c, probe.c and notify.c; control.c calls report.c,
 * which reads probe results (probe.c); everyone may call sys.c, which
 * calls nothing here.
 */
#ifndef EVBUS_SUPERVISOR_H
#define EVBUS_SUPERVISOR_H

#include <signal.h>
#include <stdio.h>
#include <poll.h>
#include <sys/types.h>

#include "conf.h"
#include "scoreboard.h"
#include "sys.h"

/*
 * Status socket clients at once, and at most per uid other than root's
 * and evbusd's own (those two are always served: see control.c).
 */
struct plugin_snapshot;
struct http_server;

#define EVBUS_MAX_CLIENTS	128
#define EVBUS_MAX_CLIENTS_UID	32
#define EVBUS_CTL_REQ_MAX	1024	/* longest status socket request */
#define EVBUS_HTTP_MAX_CLIENTS	64	/* HTTP clients at once (http.c) */
/* Half the scoreboard, so that a rolling reload has slots to spare. */
#define EVBUS_MAX_WORKERS	(EVBUS_SB_MAX_SLOTS / 2)

enum child_state {
	CHILD_FREE = 0,		/* slot unused */
	CHILD_RUNNING,		/* a live worker */
	CHILD_WAITING,		/* died; restarts at restart_at */
	CHILD_BROKEN,		/* exited "configuration is broken": not respawned */
	CHILD_RETIRING		/* asked to stop (scale down, reload, shutdown) */
};

struct child {
	enum child_state state;
	pid_t		 pid;
	int		 index;		/* worker number: consumer <name>-<index> */
	int		 replaced;	/* a reload replacement is running for it */
	double		 started;	/* monotonic seconds */
	double		 restart_at;
	double		 backoff;	/* seconds before the next restart */
	double		 term_sent;	/* when SIGTERM was sent, 0 = not */
	int		 killed_by_watchdog;
	char		 watchdog_cause[64];
	/* Sampled by children_sample() for `evbusctl workers`. */
	uint64_t	 rss;		/* bytes */
	double		 cpu_pct;	/* of one core, since the last sample */
	double		 cpu_prev;	/* CPU seconds at the last sample */
	double		 cpu_at;	/* when (monotonic), 0 = never */
};

/* What systemd was told (notify.c). */
struct notify_state {
	double		 watchdog_every;	/* s; 0: no WatchdogSec */
	double		 watchdog_at;
	double		 status_at;
	int		 ready;		/* READY=1 sent */
	int		 reloading;	/* RELOADING=1 sent, READY=1 not yet */
	char		 last[512];	/* the last STATUS= sent */
};

struct client {
	int		 fd;
	uid_t		 uid;
	char		 in[EVBUS_CTL_REQ_MAX + 1];
	size_t		 inlen;
	char		*out;
	size_t		 outlen, outoff;
	double		 since;
	double		 wait_until;	/* answer deferred, 0 = not */
	int		 waited;	/* deferred once: answer next time */
};

struct supervisor {
	struct evbus_config	*conf;
	struct evbus_config	*conf_orig;	/* the caller's; not ours to free */
	const char		*conf_path;
	struct evbus_scoreboard	*sb;
	struct plugin_snapshot	*snap;		/* the accepted plugins' copies */
	struct child		 children[EVBUS_SB_MAX_SLOTS];
	int			 target;	/* workers wanted */
	pid_t			 probe_pid;
	double			 probe_restart_at;
	int			 ctl_fd;
	struct client		 clients[EVBUS_MAX_CLIENTS];
	uid_t			 owner_uid;	/* may change things besides root */
	double			 started;	/* monotonic */
	int64_t			 started_wall;	/* realtime us */
	int			 stopping;
	double			 stop_deadline;
	int			 reload_pending;	/* indices left to replace */
	int			 reload_next;
	int			 exit_status;
	char			 exit_reason[256];
	int			 foreground;
	struct notify_state	 notify;
	struct http_server	*http;		/* NULL: no http_listen */
	uint32_t		 restarts_of[EVBUS_SB_MAX_SLOTS];	/* by index */
	double			 sample_at;	/* next children_sample() */
	/* The newest error of a worker that is gone (slots show the rest). */
	int64_t			 last_error_at;
	char			 last_error[EVBUS_SB_ERROR_MAX];
};

/* Signal flags, set by handlers, acted on by the loop. */
extern volatile sig_atomic_t sv_sigterm, sv_sighup, sv_sigchld, sv_sigttin,
    sv_sigttou, sv_sigusr1;

/* daemon.c */
int	 supervisor_run(struct evbus_config *conf, const char *conf_path,
	    int foreground);
int	 sv_check_plugins(const struct evbus_config *conf, char *err,
	    size_t errlen);
struct plugin_snapshot *sv_take_plugins(const struct evbus_config *conf,
	    char *err, size_t errlen);
void	 sv_free_plugins(struct plugin_snapshot *snap);

/* children.c */
void	 children_start(struct supervisor *sv);
void	 children_reap(struct supervisor *sv);
void	 children_tick(struct supervisor *sv);
int	 children_next_due(struct supervisor *sv, int max);
int	 children_scale(struct supervisor *sv, int n);
void	 children_stop_all(struct supervisor *sv, int sig);
int	 children_alive(const struct supervisor *sv);
int	 children_count(const struct supervisor *sv, enum child_state st);
void	 children_reload(struct supervisor *sv);
void	 children_sample(struct supervisor *sv);	/* RSS, CPU: every 2 s */
pid_t	 sv_fork_worker(struct supervisor *sv, int slot, int index);

/* notify.c: systemd (sd_notify); no-ops without it. */
void	 notify_init(struct supervisor *sv);
void	 notify_tick(struct supervisor *sv);	/* every turn of the loop */
void	 notify_reloading(struct supervisor *sv);
void	 notify_stopping(struct supervisor *sv);
void	 notify_now(struct supervisor *sv);	/* next tick sends STATUS= */

/* probe.c */
void	 probe_start(struct supervisor *sv);
void	 probe_restart(struct supervisor *sv);
int64_t	 probe_topology_at(const struct evbus_scoreboard *sb);
int	 probe_superseded(const struct supervisor *sv,
	    const struct evbus_probe *p);

/*
 * control.c: the status socket.  It answers questions itself (from
 * report.c) and hands what would change the service back to the loop,
 * which carries it out: control never acts on the pool.
 */
struct control_asked {
	int		 scale;		/* workers wanted, 0 = unchanged */
	int		 reload;
	int		 stop;
};
int	 control_listen(struct supervisor *sv, char *err, size_t errlen);
void	 control_shutdown(struct supervisor *sv);	/* and unlink */
int	 control_pollfds(struct supervisor *sv, struct pollfd *pfd, int max);
void	 control_dispatch(struct supervisor *sv, struct pollfd *pfd, int n,
	    struct control_asked *asked);

/*
 * http.c: the optional HTTP listener (http_listen) for Prometheus and
 * health checks, served by the loop like the status socket: /metrics
 * (report_metrics), /healthz, /readyz (report_health).  It never acts.
 */
int	 http_listen(struct supervisor *sv, char *err, size_t errlen);
void	 http_shutdown(struct supervisor *sv);
int	 http_pollfds(struct supervisor *sv, struct pollfd *pfd, int max);
void	 http_dispatch(struct supervisor *sv, struct pollfd *pfd, int n);

/* report.c */
char	*report_stats(const struct supervisor *sv, size_t *len);
char	*report_health(const struct supervisor *sv, int *healthy, size_t *len);
char	*report_queue(const struct supervisor *sv, size_t *len);
char	*report_workers(const struct supervisor *sv, size_t *len);
char	*report_metrics(const struct supervisor *sv, int openmetrics,
	    size_t *len);
int	 report_probe_pending(const struct supervisor *sv);

#endif
