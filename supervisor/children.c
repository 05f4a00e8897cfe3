/*
 * children.c: the worker pool: fork, reap, restart with backoff, the
 * watchdog, scaling, rolling replacement on reload, and poison-message
 * bookkeeping when a worker dies with a message in flight.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"
#include "worker.h"

#define BACKOFF_MIN	0.1
#define BACKOFF_MAX	30.0
#define STABLE_AFTER	10.0	/* a worker that lived this long resets backoff */
#define REPLACE_WAIT	30.0	/* reload: how long a replacement may take */

static volatile sig_atomic_t	 worker_stop;

static void
worker_sig(int sig)
{
	worker_stop = 1;
}

/* Find the slot of a live child for worker index i (not a replacement). */
static int
slot_of_index(const struct supervisor *sv, int i)
{
	int	 s;

	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++)
		if (sv->children[s].state == CHILD_RUNNING &&
		    sv->children[s].index == i)
			return s;
	return -1;
}

static int
free_slot(const struct supervisor *sv)
{
	int	 s;

	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++)
		if (sv->children[s].state == CHILD_FREE)
			return s;
	return -1;
}

/* Is worker index i present in any state that holds it? */
static int
index_held(const struct supervisor *sv, int i)
{
	int	 s;

	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++) {
		const struct child *c = &sv->children[s];

		if (c->index == i && (c->state == CHILD_RUNNING ||
		    c->state == CHILD_WAITING || c->state == CHILD_BROKEN))
			return 1;
	}
	return 0;
}

int
children_count(const struct supervisor *sv, enum child_state st)
{
	int	 s, n = 0;

	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++)
		if (sv->children[s].state == st)
			n++;
	return n;
}

int
children_alive(const struct supervisor *sv)
{
	return children_count(sv, CHILD_RUNNING) +
	    children_count(sv, CHILD_RETIRING);
}

/* Fork a worker for index into scoreboard slot; returns its pid or -1. */
pid_t
sv_fork_worker(struct supervisor *sv, int slot, int index)
{
	struct evbus_slot	*sl = &sv->sb->slots[slot];
	struct child		*c = &sv->children[slot];
	struct worker		*w;
	struct sigaction	 sa;
	sigset_t		 set;
	pid_t			 pid;
	uint32_t		 gen = sl->generation + 1;
	char			 name[32];
	int			 i;

	/* The slot is free: the supervisor may write it. */
	memset(sl, 0, sizeof(*sl));
	sl->generation = gen;
	sl->index = index;
	sl->state = EVBUS_SLOT_STARTING;
	sl->heartbeat = evbus_mono_us();

	if ((pid = fork()) == -1) {
		log_warn("fork worker %d", index);
		return -1;
	}
	if (pid > 0) {
		sl->pid = pid;
		c->state = CHILD_RUNNING;
		c->pid = pid;
		c->index = index;
		c->replaced = 0;
		c->started = sv_now();
		c->term_sent = 0;
		c->killed_by_watchdog = 0;
		c->watchdog_cause[0] = '\0';
		c->rss = 0;
		c->cpu_pct = 0;
		c->cpu_prev = 0;
		c->cpu_at = 0;
		return pid;
	}

	/* The worker. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(0);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	for (i = 1; i < NSIG; i++)
		sigaction(i, &sa, NULL);
	sa.sa_handler = worker_sig;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTTIN, &sa, NULL);
	sigaction(SIGTTOU, &sa, NULL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	sv_child_fds();

	snprintf(name, sizeof(name), "worker[%d]", index);
	log_procinit(name);
	{
		char	 err[256];

		if (sv_drop_privileges(sv->conf, err, sizeof(err)) == -1) {
			log_warnx("%s", err);
			_exit(EVBUS_EX_CONFIG);
		}
	}
	setproctitle("worker %d of group %s (%s)", index,
	    sv->conf->consumer_group, sv->conf->queue_name);

	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("calloc");
	w->conf = sv->conf;
	w->index = index;
	snprintf(w->consumer_name, sizeof(w->consumer_name), "%s-%d",
	    sv->conf->consumer_name, index);
	w->stats = &w->local_stats;
	w->slot = sl;
	w->sb = sv->sb;
	w->snap = sv->snap;
	/*
	 * Nothing else of the supervisor's state is the worker's: its
	 * client table alone is 140 KiB of pages the worker would keep
	 * mapped.  (Unmapped, as worker_run() keeps the mmap threshold.)
	 */
	free(sv);
	_exit(worker_run(w, &worker_stop));
}

static int
start_index(struct supervisor *sv, int index)
{
	int	 s;

	if ((s = free_slot(sv)) == -1) {
		log_warnx("no free scoreboard slot for worker %d", index);
		return -1;
	}
	if (sv_fork_worker(sv, s, index) == -1) {
		sv->children[s].state = CHILD_WAITING;
		sv->children[s].index = index;
		sv->children[s].restart_at = sv_now() + 1;
		sv->children[s].backoff = 1;
		return -1;
	}
	return 0;
}

void
children_start(struct supervisor *sv)
{
	int	 i;

	for (i = 0; i < sv->target; i++)
		start_index(sv, i);
}

static void
stop_child(struct supervisor *sv, struct child *c, int sig)
{
	if (c->state != CHILD_RUNNING && c->state != CHILD_RETIRING)
		return;
	if (sig == SIGTERM && c->term_sent == 0)
		c->term_sent = sv_now();
	c->state = CHILD_RETIRING;
	kill(c->pid, sig);
}

void
children_stop_all(struct supervisor *sv, int sig)
{
	int	 s;

	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++) {
		struct child *c = &sv->children[s];

		if (c->state == CHILD_WAITING || c->state == CHILD_BROKEN)
			c->state = CHILD_FREE;
		stop_child(sv, c, sig);
	}
}

/* Describe how a child ended; returns 1 when it counts as a crash. */
static int
describe_exit(const struct child *c, int status, char *cause, size_t clen,
    char *text, size_t tlen)
{
	if (c->killed_by_watchdog) {
		snprintf(cause, clen, "%s", c->watchdog_cause);
		snprintf(text, tlen, "killed by the watchdog (%s)",
		    c->watchdog_cause);
		return 1;
	}
	if (WIFSIGNALED(status)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(status));

		snprintf(cause, clen, "SIG%s", abbrev ? abbrev : "UNKNOWN");
		snprintf(text, tlen, "killed by signal %d (%s)%s",
		    WTERMSIG(status), cause, WCOREDUMP(status) ?
		    ", core dumped" : "");
		return 1;
	}
	if (WIFEXITED(status)) {
		snprintf(cause, clen, "ExitStatus%d", WEXITSTATUS(status));
		snprintf(text, tlen, "exited with status %d",
		    WEXITSTATUS(status));
		return WEXITSTATUS(status) != 0 &&
		    WEXITSTATUS(status) != EVBUS_EX_CONFIG;
	}
	snprintf(cause, clen, "Unknown");
	snprintf(text, tlen, "ended (status 0x%x)", status);
	return 1;
}

/*
 * One of a reload's pair for an index died: the other covers the index,
 * so it is not restarted (that made two workers with one index).  If the
 * old worker died, its replacement takes over; if the replacement died
 * (the new configuration or plugins crash), the old worker stays and the
 * reload moves on to the next index.
 */
static void
reload_pair_died(struct supervisor *sv, struct child *c)
{
	int	 t;

	if (c->replaced == 2) {
		for (t = 0; t < EVBUS_SB_MAX_SLOTS; t++)
			if (sv->children[t].state == CHILD_RUNNING &&
			    sv->children[t].index == c->index &&
			    sv->children[t].replaced == 1)
				sv->children[t].replaced = 0;
		log_warnx("reload: the replacement for worker %d died; "
		    "worker %d keeps its old configuration", c->index,
		    c->index);
		if (sv->reload_pending > 0 && sv->reload_next == c->index) {
			sv->reload_next++;
			sv->reload_pending--;
		}
	} else
		log_info("reload: worker %d died while being replaced; its "
		    "replacement takes over", c->index);
	c->replaced = 0;
	c->state = CHILD_FREE;
}

static void
child_died(struct supervisor *sv, int s, int status)
{
	struct child		*c = &sv->children[s];
	struct evbus_slot	 copy;
	char			 cause[64], text[128];
	int			 crash, was_retiring = c->state == CHILD_RETIRING;
	double			 lived = sv_now() - c->started;

	/*
	 * Fix: a worker killed in the middle of a slot update (kill -9, the
	 * watchdog) left the seqlock odd and the read below spun forever.
	 * It is dead and reaped: close its update first.
	 */
	evbus_seq_repair(&sv->sb->slots[s].seq);
	evbus_slot_read(&sv->sb->slots[s], &copy);
	/* Its counters live on in the totals, its last error here. */
	evbus_stats_add(&sv->sb->retired, &copy.stats);
	if (copy.stats.last_error_at > sv->last_error_at &&
	    copy.last_error[0] != '\0') {
		sv->last_error_at = copy.stats.last_error_at;
		strlcpy(sv->last_error, copy.last_error,
		    sizeof(sv->last_error));
	}
	crash = describe_exit(c, status, cause, sizeof(cause), text,
	    sizeof(text));

	if (crash) {
		sv->sb->crashes++;
		if (copy.inflight_id[0] != '\0') {
			evbus_poison_record(sv->sb, copy.inflight_id, cause);
			log_warnx("worker %d (pid %ld) %s while handling "
			    "message %s", c->index, (long)c->pid, text,
			    copy.inflight_id);
		} else
			log_warnx("worker %d (pid %ld) %s", c->index,
			    (long)c->pid, text);
	}
	/*
	 * Its message is accounted for now.  The broker redelivered it the
	 * moment the connection dropped, and the worker that got it waits
	 * until this slot no longer shows it, so that it never runs a
	 * message whose crash is not counted yet.
	 */
	evbus_slot_settle(&sv->sb->slots[s]);
	if (!crash && WIFEXITED(status) &&
	    WEXITSTATUS(status) == EVBUS_EX_CONFIG) {
		log_warnx("worker %d (pid %ld) exited: its configuration or "
		    "plugins cannot work (see above); not restarting it",
		    c->index, (long)c->pid);
		c->state = CHILD_BROKEN;
		c->pid = 0;
		return;
	} else if (!crash && !was_retiring && !sv->stopping)
		log_warnx("worker %d (pid %ld) %s unexpectedly", c->index,
		    (long)c->pid, text);
	else if (!crash)
		log_debug("worker %d (pid %ld) %s", c->index, (long)c->pid,
		    text);

	c->pid = 0;
	if (was_retiring || sv->stopping || c->index >= sv->target) {
		c->state = CHILD_FREE;
		return;
	}
	if (c->replaced != 0) {
		reload_pair_died(sv, c);
		return;
	}
	/*
	 * A worker that ran fine for a while is replaced at once: its
	 * prefetched messages are back in the queue and someone must take
	 * them.  Only a crash loop waits, with exponential backoff.
	 */
	c->state = CHILD_WAITING;
	sv->sb->restarts++;
	if (c->index >= 0 && c->index < EVBUS_SB_MAX_SLOTS)
		sv->restarts_of[c->index]++;
	if (lived >= STABLE_AFTER) {
		c->backoff = BACKOFF_MIN / 2;	/* the next quick crash waits */
		c->restart_at = sv_now();
		log_info("restarting worker %d now", c->index);
		return;
	}
	c->backoff = c->backoff < BACKOFF_MIN ? BACKOFF_MIN :
	    c->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : c->backoff * 2;
	c->restart_at = sv_now() + c->backoff;
	log_info("restarting worker %d in %.1fs", c->index, c->backoff);
}

/*
 * Each live worker's resident memory and CPU use (the CPU share since the
 * previous sample), for `evbusctl workers`: /proc, every 2 seconds.
 */
void
children_sample(struct supervisor *sv)
{
	double	 now = sv_now(), cpu;
	uint64_t rss;
	int	 s;

	if (now < sv->sample_at)
		return;
	sv->sample_at = now + 2.0;
	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++) {
		struct child *c = &sv->children[s];

		if ((c->state != CHILD_RUNNING && c->state != CHILD_RETIRING) ||
		    c->pid <= 0 || sv_proc_usage(c->pid, &rss, &cpu) == -1)
			continue;
		if (c->cpu_at > 0 && now > c->cpu_at && cpu >= c->cpu_prev)
			c->cpu_pct = 100.0 * (cpu - c->cpu_prev) /
			    (now - c->cpu_at);
		c->rss = rss;
		c->cpu_prev = cpu;
		c->cpu_at = now;
	}
}

/* Milliseconds until the next delayed restart is due, at most max. */
int
children_next_due(struct supervisor *sv, int max)
{
	double	 now = sv_now(), wait = max / 1000.0;
	int	 s;

	/* Stopping: nothing is restarted (children_tick), so no hurry. */
	if (sv->stopping)
		return max;
	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++)
		if (sv->children[s].state == CHILD_WAITING &&
		    sv->children[s].restart_at - now < wait)
			wait = sv->children[s].restart_at - now;
	return wait <= 0 ? 0 : (int)(wait * 1000) + 1;
}

void
children_reap(struct supervisor *sv)
{
	pid_t	 pid;
	int	 status, s;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == sv->probe_pid) {
			/* Fix: killed mid-update, it would hang every reader. */
			evbus_seq_repair(&sv->sb->probe_seq);
			sv->probe_pid = 0;
			if (!sv->stopping)
				sv->probe_restart_at = sv_now() + 5;
			continue;
		}
		for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++)
			if (sv->children[s].pid == pid &&
			    (sv->children[s].state == CHILD_RUNNING ||
			    sv->children[s].state == CHILD_RETIRING))
				break;
		if (s < EVBUS_SB_MAX_SLOTS)
			child_died(sv, s, status);
	}
}

/* Kill workers whose handler overran handler_timeout or that went silent. */
static void
watchdog(struct supervisor *sv)
{
	const struct evbus_config *conf = sv->conf;
	struct evbus_slot	 copy;
	int64_t			 now = evbus_mono_us(), stall;
	int			 s;

	stall = (int64_t)(1e6 * (60 + 2 * conf->connect_timeout +
	    2 * conf->publish_timeout));
	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++) {
		struct child *c = &sv->children[s];

		if (c->state != CHILD_RUNNING || c->killed_by_watchdog)
			continue;
		evbus_slot_read(&sv->sb->slots[s], &copy);
		if (conf->handler_timeout > 0 && copy.handler_since != 0 &&
		    now - copy.handler_since > (int64_t)(conf->handler_timeout *
		    1e6)) {
			snprintf(c->watchdog_cause, sizeof(c->watchdog_cause),
			    "HandlerTimeout");
			log_warnx("worker %d (pid %ld): handler has run for more "
			    "than handler_timeout (%.1fs) on message %s; "
			    "killing it", c->index, (long)c->pid,
			    conf->handler_timeout, copy.inflight_id);
		} else if (copy.handler_since == 0 &&
		    now - copy.heartbeat > stall) {
			snprintf(c->watchdog_cause, sizeof(c->watchdog_cause),
			    "HeartbeatStalled");
			log_warnx("worker %d (pid %ld): no heartbeat for %.0fs; "
			    "killing it", c->index, (long)c->pid,
			    (now - copy.heartbeat) / 1e6);
		} else
			continue;
		c->killed_by_watchdog = 1;
		kill(c->pid, SIGKILL);
	}
}

/* Roll replacement workers in one at a time after a reload. */
static void
reload_step(struct supervisor *sv)
{
	int	 s, old, i;

	while (sv->reload_pending > 0) {
		i = sv->reload_next;
		/* A replacement already started for i? */
		for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++)
			if (sv->children[s].state == CHILD_RUNNING &&
			    sv->children[s].index == i &&
			    sv->children[s].replaced == 2)
				break;
		old = -1;
		for (int t = 0; t < EVBUS_SB_MAX_SLOTS; t++)
			if (sv->children[t].state == CHILD_RUNNING &&
			    sv->children[t].index == i &&
			    sv->children[t].replaced == 1)
				old = t;
		if (s == EVBUS_SB_MAX_SLOTS) {
			/* Start the replacement; the old one keeps working. */
			int cur = slot_of_index(sv, i);
			int ns;

			if (cur == -1 || i >= sv->target) {
				sv->reload_next++;
				sv->reload_pending--;
				continue;
			}
			sv->children[cur].replaced = 1;
			if ((ns = free_slot(sv)) == -1 ||
			    sv_fork_worker(sv, ns, i) == -1) {
				sv->children[cur].replaced = 0;
				stop_child(sv, &sv->children[cur], SIGTERM);
				sv->reload_next++;
				sv->reload_pending--;
				continue;
			}
			sv->children[ns].replaced = 2;
			return;
		}
		/* Wait until the replacement consumes, then retire the old. */
		if (sv->sb->slots[s].state != EVBUS_SLOT_CONSUMING &&
		    sv_now() - sv->children[s].started < REPLACE_WAIT)
			return;
		sv->children[s].replaced = 0;
		if (old != -1)
			stop_child(sv, &sv->children[old], SIGTERM);
		sv->reload_next++;
		sv->reload_pending--;
	}
}

void
children_reload(struct supervisor *sv)
{
	int	 s;

	/* Workers that could not start get another chance now. */
	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++)
		if (sv->children[s].state == CHILD_BROKEN)
			sv->children[s].state = CHILD_FREE;
	sv->reload_next = 0;
	sv->reload_pending = sv->target;
}

/*
 * Set the pool size.  Outside 1..EVBUS_MAX_WORKERS it refuses (-1, with a
 * warning) rather than clamps: an operator asking for 0 workers must hear
 * that none stopped, not find one still running.
 */
int
children_scale(struct supervisor *sv, int n)
{
	if (n < 1 || n > EVBUS_MAX_WORKERS) {
		log_warnx("scale: %d workers refused (1 to %d); keeping %d", n,
		    EVBUS_MAX_WORKERS, sv->target);
		return -1;
	}
	if (n != sv->target)
		log_info("scaling from %d to %d workers", sv->target, n);
	sv->target = n;
	__atomic_store_n(&sv->sb->pool, (uint32_t)n, __ATOMIC_RELAXED);
	return 0;
}

void
children_tick(struct supervisor *sv)
{
	double	 now = sv_now();
	int	 s, i;

	if (sv->stopping) {
		if (now >= sv->stop_deadline && children_alive(sv) > 0) {
			log_warnx("shutdown_timeout (%.0fs) passed: killing "
			    "%d worker(s)", sv->conf->shutdown_timeout,
			    children_alive(sv));
			children_stop_all(sv, SIGKILL);
			sv->stop_deadline = now + 3600;
		}
		return;
	}
	watchdog(sv);
	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++) {
		struct child *c = &sv->children[s];

		if (c->state == CHILD_WAITING && c->index >= sv->target)
			c->state = CHILD_FREE;
		else if (c->state == CHILD_BROKEN && c->index >= sv->target)
			c->state = CHILD_FREE;
		else if (c->state == CHILD_WAITING && now >= c->restart_at) {
			double backoff = c->backoff;

			if (sv_fork_worker(sv, s, c->index) == -1) {
				c->state = CHILD_WAITING;
				c->restart_at = now + 1;
			} else
				c->backoff = backoff;
		} else if (c->state == CHILD_RUNNING &&
		    c->index >= sv->target && !c->replaced)
			stop_child(sv, c, SIGTERM);
	}
	/* Scale up: start the indices that have no worker. */
	for (i = 0; i < sv->target; i++)
		if (!index_held(sv, i))
			start_index(sv, i);
	reload_step(sv);
}
