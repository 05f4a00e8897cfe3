/*
 * notify.c: telling systemd how the service stands (Type=notify): READY=1
 * once every wanted worker consumes, RELOADING=1 then READY=1 around a
 * reload, STOPPING=1, STATUS= lines with the pool's state, and WATCHDOG=1
 * from the supervisor's loop when the unit sets WatchdogSec= (a loop that
 * hangs stops feeding it, and systemd restarts the service).  When not
 * started by systemd (no $NOTIFY_SOCKET), every call does nothing.
 *
 * The datagrams are sent here, not by libsystemd's sd_notify(): systemd
 * holds the protocol stable and advises implementing it rather than
 * linking libsystemd for it, and that library with the six it needs
 * (liblzma, libgcrypt, ...) cost every worker about 330 KiB of RSS.
 *
 * Called by daemon.c only; reads the pool from struct supervisor and the
 * scoreboard, calls nothing in the supervisor but sys.c.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

#define STATUS_EVERY	2.0	/* s between STATUS= updates (when changed) */

/*
 * One datagram to $NOTIFY_SOCKET, as sd_notify(3) sends it: a socket
 * path, or an abstract name written "@name".  (systemd's other kind, a
 * vsock address for a whole VM, is not for a service.)
 */
static void
notify(const char *what)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	size_t			 len;
	int			 fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) < 2 || len > sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	(void)sendto(fd, what, strlen(what), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, offsetof(struct sockaddr_un, sun_path) +
	    len);
	close(fd);
}

/*
 * The watchdog interval in microseconds, 0 without one: $WATCHDOG_USEC,
 * when $WATCHDOG_PID is unset or names this process (sd_watchdog_enabled).
 */
static long long
watchdog_usec(void)
{
	const char	*s, *errstr;
	long long	 usec;

	if ((s = getenv("WATCHDOG_PID")) != NULL &&
	    (strtonum(s, 1, INT_MAX, &errstr) != getpid() || errstr != NULL))
		return 0;
	if ((s = getenv("WATCHDOG_USEC")) == NULL)
		return 0;
	usec = strtonum(s, 1, LLONG_MAX, &errstr);
	return errstr == NULL ? usec : 0;
}

/* Workers wanted that are consuming, and the pool's counters. */
static int
consuming(const struct supervisor *sv, uint64_t *consumed, uint64_t *failed)
{
	const struct evbus_scoreboard *sb = sv->sb;
	int	 s, n = 0;

	*consumed = sb->retired.events_consumed;
	*failed = sb->retired.events_processed_failed;
	for (s = 0; s < EVBUS_SB_MAX_SLOTS; s++) {
		const struct child *c = &sv->children[s];
		const struct evbus_slot *sl = &sb->slots[s];

		if (c->state != CHILD_RUNNING && c->state != CHILD_RETIRING)
			continue;
		*consumed += __atomic_load_n(&sl->stats.events_consumed,
		    __ATOMIC_RELAXED);
		*failed += __atomic_load_n(&sl->stats.events_processed_failed,
		    __ATOMIC_RELAXED);
		if (c->state == CHILD_RUNNING && c->index < sv->target &&
		    __atomic_load_n(&sl->state, __ATOMIC_RELAXED) ==
		    EVBUS_SLOT_CONSUMING)
			n++;
	}
	return n;
}

void
notify_init(struct supervisor *sv)
{
	struct notify_state	*ns = &sv->notify;
	long long		 usec;

	memset(ns, 0, sizeof(*ns));
	if ((usec = watchdog_usec()) > 0) {
		ns->watchdog_every = usec / 1e6 / 2;
		log_info("systemd watchdog: WatchdogSec=%.1fs, fed every %.1fs",
		    ns->watchdog_every * 2, ns->watchdog_every);
	}
	notify("STATUS=starting the workers");
}

void
notify_reloading(struct supervisor *sv)
{
	sv->notify.reloading = 1;
	notify("RELOADING=1\nSTATUS=reloading the configuration");
}

void
notify_stopping(struct supervisor *sv)
{
	notify("STOPPING=1\nSTATUS=stopping: workers finish their message");
}

void
notify_tick(struct supervisor *sv)
{
	struct notify_state	*ns = &sv->notify;
	uint64_t		 consumed, failed;
	double			 now = sv_now();
	char			 msg[512];
	int			 n, ready;

	if (ns->watchdog_every > 0 && now >= ns->watchdog_at) {
		notify("WATCHDOG=1");
		ns->watchdog_at = now + ns->watchdog_every;
	}
	if (sv->stopping)
		return;
	/*
	 * Readiness every turn (READY=1 as soon as it holds), the STATUS=
	 * text at most every STATUS_EVERY.
	 */
	n = consuming(sv, &consumed, &failed);
	ready = n >= sv->target && sv->reload_pending == 0;
	if (!(ready && (!ns->ready || ns->reloading)) && now < ns->status_at)
		return;
	ns->status_at = now + STATUS_EVERY;
	if (ready)
		snprintf(msg, sizeof(msg), "%sSTATUS=%d of %d workers consuming "
		    "%s; %llu events consumed, %llu failed attempts",
		    !ns->ready || ns->reloading ? "READY=1\n" : "", n,
		    sv->target, sv->conf->queue_name,
		    (unsigned long long)consumed, (unsigned long long)failed);
	else
		snprintf(msg, sizeof(msg), "STATUS=%s: %d of %d workers "
		    "consuming %s (see the log); %llu events consumed",
		    ns->reloading ? "reloading" : ns->ready ? "degraded" :
		    "starting", n, sv->target, sv->conf->queue_name,
		    (unsigned long long)consumed);
	/* The same STATUS= again is not sent; a READY=1 always is. */
	if (strncmp(msg, "READY=1", 7) != 0 && strcmp(msg, ns->last) == 0)
		return;
	if (ready) {
		ns->ready = 1;
		ns->reloading = 0;
	}
	strlcpy(ns->last, msg, sizeof(ns->last));
	notify(msg);
}

void
notify_now(struct supervisor *sv)
{
	sv->notify.status_at = 0;
}
