/*
 * sys.c: small helpers every part of evbusd's supervisor needs: the two
 * clocks, the privilege drop in a fresh child, and fd hygiene after fork
 * (the descriptors only the supervisor may hold, closed in every child).
 *
 * A leaf: it knows nothing of the supervisor's state (struct supervisor,
 * children, clients) and calls nothing of supervisor/; everything else
 * may call it.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"

/* Room for the status socket and its clients (128 at most today). */
#define PRIVATE_FDS_MAX		512

static int	 private_fds[PRIVATE_FDS_MAX];
static int	 nprivate;

/* CLOCK_MONOTONIC in seconds: timers, ages, deadlines. */
double
sv_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CLOCK_REALTIME in us: the clock of probe results and connected_at. */
int64_t
sv_wall_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * fd is the supervisor's own (the status socket, a client): no child may
 * keep it.  A child holding the listening socket would keep it open after
 * the supervisor closed it, and one holding a client's would keep that
 * client waiting.
 */
void
sv_fd_private(int fd)
{
	if (nprivate < PRIVATE_FDS_MAX)
		private_fds[nprivate++] = fd;
}

/* fd is about to be closed: forget it. */
void
sv_fd_release(int fd)
{
	int	 i;

	for (i = 0; i < nprivate; i++)
		if (private_fds[i] == fd) {
			private_fds[i] = private_fds[--nprivate];
			return;
		}
}

/* In a fresh child: close every descriptor only the supervisor may hold. */
void
sv_child_fds(void)
{
	int	 i;

	for (i = 0; i < nprivate; i++)
		close(private_fds[i]);
	nprivate = 0;
}

/*
 * The ids of conf's user and group: the ones the configuration resolved
 * when it was loaded (evbusd -n checked those), else looked up now.
 * (uid_t)-1 / (gid_t)-1 when not set.  0 or -1 with err.
 */
static int
account_ids(const struct evbus_config *conf, uid_t *uid, gid_t *gid,
    char *err, size_t errlen)
{
	struct passwd	*pw;
	struct group	*gr;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (conf->user != NULL) {
		if (conf->uid != (uid_t)-1) {
			*uid = conf->uid;
			*gid = conf->gid;
		} else if ((pw = getpwnam(conf->user)) == NULL) {
			snprintf(err, errlen, "user %s: no such user",
			    conf->user);
			return -1;
		} else {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
		}
	}
	if (conf->group != NULL) {
		if (conf->gid != (gid_t)-1)
			*gid = conf->gid;
		else if ((gr = getgrnam(conf->group)) == NULL) {
			snprintf(err, errlen, "group %s: no such group",
			    conf->group);
			return -1;
		} else
			*gid = gr->gr_gid;
	}
	return 0;
}

/*
 * Drop root to the configured user/group.  Called in every child (workers,
 * the probe, the plugin check) right after fork: plugin code and broker
 * connections never run as root.  The supervisor itself keeps root, as
 * nginx's master does, so a reload can read a root-only config file and
 * it can remove its socket and pid file; it runs no plugin code and
 * talks to nobody but its children and the status socket.
 */
int
sv_drop_privileges(const struct evbus_config *conf, char *err, size_t errlen)
{
	uid_t	 uid;
	gid_t	 gid;

	if (conf->user == NULL && conf->group == NULL)
		return 0;
	if (account_ids(conf, &uid, &gid, err, errlen) == -1)
		return -1;
	if (geteuid() != 0) {
		if ((uid != (uid_t)-1 && uid != geteuid()) ||
		    (gid != (gid_t)-1 && gid != getegid())) {
			snprintf(err, errlen, "user/group are set but evbusd "
			    "is not running as root: cannot switch");
			return -1;
		}
		return 0;
	}
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1) {
		snprintf(err, errlen, "setgid %lu: %s", (unsigned long)gid,
		    strerror(errno));
		return -1;
	}
	if (uid != (uid_t)-1 && setresuid(uid, uid, uid) == -1) {
		snprintf(err, errlen, "setuid %s: %s", conf->user,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Who may change things through the status socket besides root: the
 * configured user's uid, or ours.  Also checks that user and group exist
 * and that we can switch to them, so a typo stops start-up at once.
 */
int
sv_owner_uid(const struct evbus_config *conf, uid_t *uid, char *err,
    size_t errlen)
{
	uid_t	 u;
	gid_t	 g;

	*uid = geteuid();
	if (account_ids(conf, &u, &g, err, errlen) == -1)
		return -1;
	if (u != (uid_t)-1 && geteuid() != 0 && u != geteuid()) {
		snprintf(err, errlen, "user is %s but evbusd is not running "
		    "as root: cannot switch", conf->user);
		return -1;
	}
	if (u != (uid_t)-1)
		*uid = u;
	return 0;
}


int
sv_proc_usage(pid_t pid, uint64_t *rss, double *cpu)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 utime, stime, pages;
	FILE			*f;
	size_t			 n;
	int			 ok;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command name, which may hold spaces and parentheses. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
	    "%llu", &utime, &stime) != 2)
		return -1;
	*cpu = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%ld/statm", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	ok = fscanf(f, "%*u %llu", &pages) == 1;
	fclose(f);
	if (!ok)
		return -1;
	*rss = (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
	return 0;
}

int
sv_read_more(int fd, char *buf, size_t cap, size_t *len)
{
	ssize_t	 n;

	n = recv(fd, buf + *len, cap - 1 - *len, MSG_DONTWAIT);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
		return SV_READ_GONE;
	if (n < 0)
		return SV_READ_NONE;
	*len += (size_t)n;
	buf[*len] = '\0';
	return memchr(buf, '\0', *len) != NULL ? SV_READ_NUL : SV_READ_MORE;
}

void
sv_write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;
	int		 saved = errno;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	errno = saved;
}
