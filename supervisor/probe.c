/*
 * probe.c: the broker probe, a small child of the supervisor that checks
 * the group's queue and DLQ every few seconds with passive declares and
 * writes what it found into the scoreboard.  The supervisor itself never
 * talks to the broker, so its status socket answers at once even when the
 * broker is down or slow; the probe runs no plugin code either.
 *
 * The workers declare the topology, not the probe.  So that it never
 * reports a queue missing that a worker is about to declare (or just
 * did), its first check waits until a worker consumes, and a check that
 * found a queue missing is repeated as soon as a worker starts consuming
 * after it.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "supervisor.h"
#include "topology.h"

/* Between checks; between looks for new consumers; at most for topology. */
#define PROBE_INTERVAL_MS	2000
#define PROBE_TICK_MS		25
#define PROBE_FIRST_WAIT_MS	5000

static void
sleep_ms(int ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * When the newest consumer started (CLOCK_REALTIME us, as the probe's
 * "at"), 0 when no worker consumes.  A worker consumes only after it
 * declared the topology, so a queue checked before that time may have
 * been declared since.  The slot of a dead worker may still say consuming
 * until the worker is replaced: it too declared the topology, at its time.
 */
int64_t
probe_topology_at(const struct evbus_scoreboard *sb)
{
	const struct evbus_slot	*sl;
	uint32_t		 state;
	int64_t			 at, newest = 0;
	unsigned int		 s;

	for (s = 0; s < sb->nslots; s++) {
		sl = &sb->slots[s];
		if (__atomic_load_n(&sl->state, __ATOMIC_RELAXED) !=
		    EVBUS_SLOT_CONSUMING)
			continue;
		evbus_seq_read(&sl->seq, &sl->state, &state, sizeof(state));
		evbus_seq_read(&sl->seq, &sl->stats.connected_at, &at,
		    sizeof(at));
		if (state == EVBUS_SLOT_CONSUMING && at > newest)
			newest = at;
	}
	return newest;
}

/* Did check p find a queue missing that a worker may declare later? */
static int
missing(const struct evbus_config *conf, const struct evbus_probe *p)
{
	return p->ok && (!p->queue_ok || (conf->enable_dlq && !p->dlq_ok));
}

/*
 * 1 when check p found a queue missing before the newest consumer started,
 * i.e. before a worker declared the topology: its answer may be wrong now.
 */
int
probe_superseded(const struct supervisor *sv, const struct evbus_probe *p)
{
	return missing(sv->conf, p) && probe_topology_at(sv->sb) > p->at;
}

/*
 * Wait for the next check: PROBE_INTERVAL_MS, cut short when the last
 * check found a queue missing and a worker has started consuming since.
 */
static void
probe_wait(const struct supervisor *sv, const struct evbus_probe *p)
{
	int	 waited;

	if (!missing(sv->conf, p)) {
		sleep_ms(PROBE_INTERVAL_MS);
		return;
	}
	for (waited = 0; waited < PROBE_INTERVAL_MS && !probe_superseded(sv, p);
	    waited += PROBE_TICK_MS)
		sleep_ms(PROBE_TICK_MS);
}

static void
probe_loop(struct supervisor *sv)
{
	const struct evbus_config *conf = sv->conf;
	struct evbus_amqp	 a;
	struct evbus_amqp_opts	 o;
	struct evbus_probe	 p;
	struct evbus_group_depth gd;
	size_t			 node = 0;
	int			 connected = 0, first = 1, waited, rc;

	memset(&o, 0, sizeof(o));
	o.heartbeat = conf->heartbeat;
	o.connect_timeout = conf->connect_timeout;
	o.connection_name = "evbusd probe";
	o.ca_file = conf->ca_file;
	o.cert_file = conf->cert_file;
	o.key_file = conf->key_file;
	o.verify = conf->verify_ssl;
	memset(&a, 0, sizeof(a));
	for (;;) {
		memset(&p, 0, sizeof(p));
		if (!connected) {
			/* A cluster: any node answers for the queues. */
			if (evbus_amqp_connect_any(&a, &o, conf->urls,
			    conf->nurl, node, &node) == 0 &&
			    evbus_amqp_channel_open(&a, 1) == 0)
				connected = 1;
			else {
				evbus_amqp_close(&a);
				snprintf(p.error, sizeof(p.error), "%s", a.err);
			}
		}
		/*
		 * The first queue check waits (not forever: a worker may
		 * never get there) until a worker has declared the topology.
		 */
		for (waited = 0; connected && first &&
		    waited < PROBE_FIRST_WAIT_MS &&
		    probe_topology_at(sv->sb) == 0; waited += PROBE_TICK_MS)
			sleep_ms(PROBE_TICK_MS);
		/*
		 * Stamped before the check: a worker consuming after this
		 * time may have declared a queue the check found missing.
		 */
		p.at = sv_wall_us();
		if (connected) {
			first = 0;
			p.ok = 1;
			rc = evbus_group_depth(&a, 1, conf, &gd, p.queue_error,
			    sizeof(p.queue_error));
			p.messages = gd.messages;
			p.consumers = gd.consumers;
			p.idle = gd.idle;
			p.deepest = gd.deepest;
			p.deepest_partition = gd.deepest_partition;
			p.queue_ok = rc == 0;
			if (rc != -2 && conf->enable_dlq) {
				uint64_t dummy;

				rc = evbus_queue_depth(&a, 1,
				    conf->dlq_queue_name, &p.dlq_messages,
				    &dummy, p.dlq_error, sizeof(p.dlq_error));
				p.dlq_ok = rc == 0;
			}
			if (rc == -2) {
				p.ok = 0;
				snprintf(p.error, sizeof(p.error), "%s", a.err);
				evbus_amqp_close(&a);
				connected = 0;
			}
			if (a.conn != NULL)
				amqp_maybe_release_buffers(a.conn);
		}
		evbus_seq_begin(&sv->sb->probe_seq);
		sv->sb->probe = p;
		evbus_seq_end(&sv->sb->probe_seq);
		probe_wait(sv, &p);
	}
}

void
probe_start(struct supervisor *sv)
{
	struct sigaction sa;
	pid_t		 pid;
	sigset_t	 set;
	int		 i;

	if ((pid = fork()) == -1) {
		log_warn("fork probe");
		sv->probe_restart_at = sv_now() + 5;
		return;
	}
	if (pid > 0) {
		sv->probe_pid = pid;
		return;
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	for (i = 1; i < NSIG; i++)
		sigaction(i, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	sv_child_fds();
	log_procinit("probe");
	{
		char	 err[256];

		if (sv_drop_privileges(sv->conf, err, sizeof(err)) == -1) {
			log_warnx("%s", err);
			_exit(1);
		}
	}
	if (sv->conf->url.tls && !sv->conf->verify_ssl)
		log_warnx("WARNING: TLS certificate verification is OFF "
		    "(verify_ssl = false): the broker is not authenticated");
	setproctitle("broker probe for %s", sv->conf->queue_name);
	probe_loop(sv);
	_exit(0);
}

/*
 * After a reload the probe still checks the queues of the configuration
 * it was forked with.  Stop it now and wait for it (two probes must never
 * write the results at once: the seqlock has one writer), forget what it
 * found, and let the loop start a new one at once instead of after the
 * restart delay of a probe that died.
 */
void
probe_restart(struct supervisor *sv)
{
	if (sv->probe_pid > 0) {
		kill(sv->probe_pid, SIGKILL);
		while (waitpid(sv->probe_pid, NULL, 0) == -1 && errno == EINTR)
			;
		evbus_seq_repair(&sv->sb->probe_seq);
		sv->probe_pid = 0;
	}
	evbus_seq_begin(&sv->sb->probe_seq);
	memset(&sv->sb->probe, 0, sizeof(sv->sb->probe));
	evbus_seq_end(&sv->sb->probe_seq);
	sv->probe_restart_at = 0;
}
