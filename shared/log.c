/*
 * log.c: logging to stderr or syslog with a per-process prefix.
 *
 * The vocabulary is OpenBSD's: log_warn adds strerror(errno), log_warnx does
 * not, fatal/fatalx log and exit.  Only main() and a process's top level
 * call fatal; library code in shared/ returns errors instead.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int	 log_foreground = 1;
static int	 log_journal;	/* stderr is journald's: "<N>" prefixes */
static int	 log_verbose;
static char	 log_prefix[64] = "evbus";

/*
 * Is stderr the journal?  systemd sets $JOURNAL_STREAM to "dev:inode" of
 * the stream it connected; a redirected stderr has another one.
 */
static int
stderr_is_journal(void)
{
	const char		*env = getenv("JOURNAL_STREAM");
	struct stat		 st;
	unsigned long long	 dev, ino;

	if (env == NULL || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(int foreground, int verbose, int facility)
{
	log_foreground = foreground;
	log_verbose = verbose;
	log_journal = foreground && stderr_is_journal();
	if (!foreground)
		openlog(log_prefix, LOG_PID | LOG_NDELAY, facility);
	tzset();
}

int
log_syslog_available(char *why, size_t len)
{
	struct sockaddr_un	 sun;
	int			 fd, ok;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, _PATH_LOG, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(why, len, "socket: %s", strerror(errno));
		return 0;
	}
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	if (!ok)
		snprintf(why, len, "%s: %s", _PATH_LOG, strerror(errno));
	close(fd);
	return ok;
}

/* Set the prefix every later message of this process carries. */
void
log_procinit(const char *procname)
{
	if (procname != NULL)
		snprintf(log_prefix, sizeof(log_prefix), "%s", procname);
}

const char *
log_procname(void)
{
	return log_prefix;
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
log_getverbose(void)
{
	return log_verbose;
}

void
logit(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	 msg[2048];
	int	 saved_errno = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_foreground) {
		/* One write per line so lines of several processes interleave whole. */
		if (log_journal)
			fprintf(stderr, "<%d>%s: %s\n", LOG_PRI(pri), log_prefix,
			    msg);
		else
			fprintf(stderr, "%s: %s\n", log_prefix, msg);
		fflush(stderr);
	} else
		syslog(pri, "%s: %s", log_prefix, msg);
	errno = saved_errno;
}

void
log_warn(const char *emsg, ...)
{
	char	 buf[1024];
	int	 saved_errno = errno;
	va_list	 ap;

	va_start(ap, emsg);
	if (emsg == NULL)
		logit(LOG_ERR, "%s", strerror(saved_errno));
	else {
		vsnprintf(buf, sizeof(buf), emsg, ap);
		logit(LOG_ERR, "%s: %s", buf, strerror(saved_errno));
	}
	va_end(ap);
	errno = saved_errno;
}

void
log_warnx(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vlog(LOG_ERR, emsg, ap);
	va_end(ap);
}

void
log_info(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vlog(LOG_INFO, emsg, ap);
	va_end(ap);
}

void
log_debug(const char *emsg, ...)
{
	va_list	 ap;

	if (log_verbose) {
		va_start(ap, emsg);
		vlog(LOG_DEBUG, emsg, ap);
		va_end(ap);
	}
}

static __dead void vfatalc(int, const char *, va_list)
	    __attribute__((__format__(printf, 2, 0)));

static __dead void
vfatalc(int code, const char *emsg, va_list ap)
{
	char	 buf[1024];

	if (emsg != NULL)
		vsnprintf(buf, sizeof(buf), emsg, ap);
	else
		buf[0] = '\0';
	if (code)
		logit(LOG_CRIT, "fatal: %s%s%s", buf, buf[0] ? ": " : "",
		    strerror(code));
	else
		logit(LOG_CRIT, "fatal: %s", buf);
	exit(1);
}

void
fatal(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vfatalc(errno, emsg, ap);
	va_end(ap);
}

void
fatalx(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vfatalc(0, emsg, ap);
	va_end(ap);
}

int
log_ratelimit(struct log_ratelimit *rl)
{
	struct timespec	 ts;
	double		 now;
	double		 interval = rl->interval > 0 ? rl->interval : 10.0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec + ts.tv_nsec / 1e9;
	if (rl->last != 0 && now - rl->last < interval) {
		rl->suppressed++;
		return 0;
	}
	if (rl->suppressed > 0)
		log_info("(%lu similar messages suppressed)", rl->suppressed);
	rl->last = now;
	rl->suppressed = 0;
	return 1;
}
