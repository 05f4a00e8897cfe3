/*
 * probe.c: the broker probe, a small child of the supervisor that checks
 * the group's queue and DLQ every few seconds with passive declares and
 * writes what it found into the scoreboard.  The supervisor itself never
 * talks to the broker, so its status socket answers at once even when the
 * broker is down or slow; the probe runs no plugin code either.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "supervisor.h"

#define PROBE_INTERVAL	2	/* seconds */

/* Passive declare; fills messages/consumers or err.  Reopens the channel. */
static int
passive(struct evbus_amqp *a, const char *queue, uint64_t *messages,
    uint64_t *consumers, char *err, size_t errlen)
{
	amqp_queue_declare_ok_t	*ok;
	char			 what[300];
	int			 rc;

	ok = amqp_queue_declare(a->conn, 1, amqp_cstring_bytes(queue), 1, 0,
	    0, 0, amqp_empty_table);
	if (ok != NULL) {
		*messages = ok->message_count;
		*consumers = ok->consumer_count;
		return 0;
	}
	snprintf(what, sizeof(what), "queue.declare (passive) '%s'", queue);
	rc = evbus_amqp_fail_last(a, 1, what);
	if (strstr(a->err, "404") != NULL)
		snprintf(err, errlen, "queue %s does not exist", queue);
	else
		snprintf(err, errlen, "%s", a->err);
	if (rc == EVBUS_AMQP_ECHANNEL && evbus_amqp_channel_open(a, 1) == 0)
		return -1;
	return -2;	/* connection gone */
}

static void
probe_loop(struct supervisor *sv)
{
	const struct evbus_config *conf = sv->conf;
	struct evbus_amqp	 a;
	struct evbus_amqp_opts	 o;
	struct evbus_probe	 p;
	int			 connected = 0, rc;

	memset(&o, 0, sizeof(o));
	o.url = &conf->url;
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
			if (evbus_amqp_connect(&a, &o) == 0 &&
			    evbus_amqp_channel_open(&a, 1) == 0)
				connected = 1;
			else {
				evbus_amqp_close(&a);
				snprintf(p.error, sizeof(p.error), "%s", a.err);
			}
		}
		if (connected) {
			p.ok = 1;
			rc = passive(&a, conf->queue_name, &p.messages,
			    &p.consumers, p.queue_error, sizeof(p.queue_error));
			p.queue_ok = rc == 0;
			if (rc != -2 && conf->enable_dlq) {
				uint64_t dummy;

				rc = passive(&a, conf->dlq_queue_name,
				    &p.dlq_messages, &dummy, p.dlq_error,
				    sizeof(p.dlq_error));
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
		p.at = (int64_t)time(NULL) * 1000000;
		evbus_seq_begin(&sv->sb->probe_seq);
		sv->sb->probe = p;
		evbus_seq_end(&sv->sb->probe_seq);
		sleep(PROBE_INTERVAL);
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
	control_close(sv);
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
