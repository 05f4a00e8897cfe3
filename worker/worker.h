/*
 * worker.h: code that runs only in worker processes, after fork: loading
 * handler plugins (loader.c), the host API they call (host.c), the
 * confirmed publisher (wpublish.c), the worker's slot (wproc.c) and the
 * consume loop (worker.c).  Calls run one way: worker.c calls the others,
 * loader.c hands plugins host.c's table, host.c calls wpublish.c; none of
 * them calls worker.c back: what they need of the worker they read from
 * struct worker.
 */
#ifndef EVBUS_WORKER_H
#define EVBUS_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include <pthread.h>
#include <signal.h>

#include "conf.h"
#include "conn.h"
#include "evbus/handler.h"
#include "publish.h"
#include "pyjson.h"
#include "scoreboard.h"
#include "stats.h"

#define EVBUS_PLUGIN_NAME_MAX	63
#define EVBUS_MAX_PLUGINS	64

struct worker;
struct delivery;
struct plugin_snapshot;
struct host_copy;

/* The host handle a plugin gets: which plugin, in which worker. */
struct evbus_host {
	struct plugin		*plugin;
	struct worker		*worker;
};

/* One loaded plugin. */
struct plugin {
	char			*path;		/* plugin_dir/file.so */
	char			*file;		/* file.so */
	void			*dl;		/* dlopen handle */
	const struct evbus_handler *h;		/* its descriptor, checked */
	void			*state;		/* from init() */
	int			 initialized;
	int			 wildcard;	/* subscribes to every event */
	size_t			 index;		/* position in load order */
	void			*conf;		/* config_setting_t of handlers.<name> */
	struct evbus_host	 host;
};

struct plugins {
	struct plugin		 v[EVBUS_MAX_PLUGINS];
	size_t			 n;
};

/*
 * The delivery being handled, reachable from the event view's
 * host_private so host API calls can read its headers and body.
 */
struct delivery {
	const amqp_table_t	*headers;	/* NULL when the message has none */
	const struct pyjson_tape *body;	/* parsed body (an object) */
	struct evbus_event_view	 view;
	char			 trace_id[33];	/* from traceparent, or "" */
	struct host_copy	*copies;	/* host.c's: strings lent */
};

/* One worker process. */
struct worker {
	const struct evbus_config *conf;
	int			 index;		/* also the host API's */
	char			 consumer_name[EVBUS_NAME_MAX + 1];
	struct plugins		 plugins;
	struct evbus_amqp	 consumer;	/* consumes, acks */
	size_t			 node;		/* conf->urls[] now (or next) */
	size_t			 home;		/* index mod nurl: its own node */
	double			 home_check_at;	/* next look for the home node */
	struct evbus_amqp	 publisher;	/* retry/DLQ/follow-up copies */
	struct evbus_publisher	 pub;
	int			 connected;
	int			 can_publish;	/* host publish() works */
	/* The confirmed publisher's (wpublish.c): the last publish. */
	int			 pub_status;	/* fate of the last publish */
	int			 pub_broken;	/* publisher connection failed */
	char			 pub_reason[256];
	struct delivery		*current;	/* see host_set_current */
	char			 err[1024];
	struct evbus_worker_stats *stats;	/* local; copied to the slot */
	struct evbus_worker_stats local_stats;
	struct evbus_slot	*slot;		/* NULL without a supervisor */
	struct evbus_scoreboard	*sb;		/* poison table; may be NULL */
	const struct plugin_snapshot *snap;	/* NULL: load plugin_dir */
	/* Heartbeats during long handlers (see heartbeat_thread). */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 busy;
	int			 hb_quit;
	/* ordering = "aggregate" (ordered.c); NULL otherwise. */
	struct ordered		*ord;
	int64_t			 attempts;	/* in-place retries of this one */
	int			 again;		/* process(): retry it in place */
	double			 again_in;	/* ... after this many seconds */
	/* Acks not sent yet (coalesced into one basic.ack multiple). */
	uint64_t		 ack_tag;
	int			 ack_n;
	int			 ack_batch;
	struct pyjson_tape	 tape;		/* the body being handled */
	char			*body;		/* a body of several frames */
	size_t			 body_cap;
};

/* worker.c */

/*
 * Load the plugins, connect, consume until *stop is set, then stop
 * gracefully.  Returns 0, or EVBUS_EX_CONFIG when the plugins or the
 * configuration cannot work (the supervisor does not respawn it).
 */
int	 worker_run(struct worker *w, volatile sig_atomic_t *stop);

/* wproc.c: what the supervisor sees of this worker (its slot). */
#define WPROC_STARTING		EVBUS_SLOT_STARTING
#define WPROC_CONNECTING	EVBUS_SLOT_CONNECTING
#define WPROC_CONSUMING		EVBUS_SLOT_CONSUMING
#define WPROC_STOPPING		EVBUS_SLOT_STOPPING
void	 wproc_state(struct worker *w, int state);
void	 wproc_node(struct worker *w, const char *where);
void	 wproc_heartbeat(struct worker *w);
void	 wproc_inflight(struct worker *w, const char *id, int redelivered);
void	 wproc_handlers(struct worker *w, int running);
void	 wproc_partitions(struct worker *w, const uint64_t *bits);
void	 wproc_error(struct worker *w, const char *text);

/*
 * ordered.c: ordering = "aggregate", the partition queues on the consumer
 * connection (see the comment at its top).  worker.c's loop: after
 * connecting, ord_subscribe_own(); each turn ord_maintain(); every
 * delivery to ord_take(); ord_next() gives a head that may run now, and
 * after process() ord_done() drops it (or keeps it for an in-place retry
 * in again_in seconds).
 */
int	 ord_init(struct worker *w);
void	 ord_reset(struct worker *w);		/* connection gone */
int	 ord_subscribe_own(struct worker *w);	/* 0 or rc, w->err */
int	 ord_maintain(struct worker *w, double now);	/* 0, -1 w->err */
int	 ord_take(struct worker *w, amqp_envelope_t *env);	/* 1: dropped */
amqp_envelope_t *ord_next(struct worker *w, double now, double *wait,
	    int *attempts);
void	 ord_done(struct worker *w, amqp_envelope_t *env, int again,
	    double delay);
int	 ord_ack(struct worker *w, amqp_envelope_t *env);	/* 0, -1 */
void	 ord_stop(struct worker *w);		/* graceful: give all up */
int	 ord_partition_of(const struct worker *w, const amqp_envelope_t *env);

/*
 * wpublish.c: the worker's confirmed publisher, one publish at a time,
 * waited for, on w->publisher (which worker.c connects).
 */
#define WPUB_CHANNEL		1

/* Start confirms on the open publisher connection; 0, or rc with w->err. */
int	 wpub_start(struct worker *w);

/*
 * Publish one message and wait for its confirm.  Returns 0 when the
 * broker confirmed it and it was routed; -1 otherwise, with w->err set
 * (and w->pub_broken when the connection failed).  The caller holds
 * w->lock.
 */
int	 wpub_confirmed(struct worker *w, const char *exchange, const char *rk,
	    const amqp_basic_properties_t *props, const void *body, size_t len);

/*
 * The host API's publish(): build a follow-up event from json (continuing
 * cause's chain when given) and publish it confirmed.  0, or -1 with err.
 * Takes w->lock.
 */
int	 wpub_event(struct worker *w, const struct evbus_event_view *cause,
	    const char *json, char *err, size_t errlen);

/* host.c */

/* The host API table handed to every plugin. */
extern const struct evbus_host_api worker_host_api;

/*
 * The delivery whose handlers are running, for the host API (log
 * prefixes; lookups given a NULL event view).  Set it before a delivery's
 * handlers and to NULL after them: each call frees the header strings
 * handed out for the previous delivery.
 */
void	 host_set_current(struct worker *w, struct delivery *d);

/* loader.c */

/*
 * A private copy of plugin_dir's *.so files (name order), taken when a
 * configuration is accepted: one sealed memfd each, inherited by the
 * workers forked afterwards, so that what happens to plugin_dir later
 * (a plugin overwritten in place) never reaches a running worker.
 */
struct plugin_snapshot {
	char			*dir;		/* plugin_dir, for messages */
	struct {
		char		*file;		/* file.so */
		int		 fd;		/* its sealed copy */
	}			 v[EVBUS_MAX_PLUGINS];
	size_t			 n;
	char			*info;		/* JSON: what the check loaded */
};

/*
 * Copy every *.so of dir (see loader_load_dir for the rules).  Returns 0,
 * or -1 with err and nothing to free.
 */
int	 loader_snapshot(const char *dir, struct plugin_snapshot *snap,
	    char *err, size_t errlen);
void	 loader_snapshot_free(struct plugin_snapshot *snap);

/* loader_load_dir() from a snapshot (which stays the caller's). */
int	 loader_load_snapshot(const struct plugin_snapshot *snap,
	    struct plugins *ps, char *err, size_t errlen);

/*
 * Load every *.so of dir in file name order.  The directory must exist
 * and not be world-writable; names with '/' or ".." are never loaded.
 * Each descriptor is checked (magic, ABI major, minor, struct_size, name,
 * handle) before any plugin code runs; names must be unique.  Returns 0,
 * or -1 with err saying which file and exactly what is wrong; on failure
 * nothing stays loaded.
 */
int	 loader_load_dir(const char *dir, struct plugins *ps, char *err,
	    size_t errlen);

/* Check one already dlopen'ed descriptor; 0 or -1 with err. */
int	 loader_check_descriptor(const struct evbus_handler *h,
	    const char *file, char *err, size_t errlen);

/*
 * Call every plugin's init with the host API; conf gives each plugin its
 * handlers.<name> section.  On failure, plugins already initialized are
 * finalized again, every plugin is unloaded (as by loader_unload_all) and
 * -1 is returned with err naming the plugin.  ps must not move after this:
 * each plugin's host handle points into it.
 */
int	 loader_init_all(struct plugins *ps, const struct evbus_config *conf,
	    struct worker *w, char *err, size_t errlen);

/*
 * fini() every initialized plugin (reverse order) and dlclose all; ps is
 * left empty, so calling it again is harmless.
 */
void	 loader_unload_all(struct plugins *ps);

/* 1 when plugin p wants events of type t. */
int	 loader_wants(const struct plugin *p, const char *event_type);

/*
 * The plugins for event_type in dispatch order: subscribers in load order,
 * then wildcard subscribers in load order.  Returns how many were put in
 * out[] (at most max).
 */
size_t	 loader_dispatch_list(const struct plugins *ps, const char *event_type,
	    struct plugin **out, size_t max);

#endif
