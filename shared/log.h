/*
 * log.h: the daemon's small logging vocabulary (after OpenBSD's log.c).
 *
 * Every process sets a prefix ("evbusd", "worker[3]") with log_procinit();
 * messages go to stderr in the foreground and to syslog otherwise.
 */
#ifndef EVBUS_LOG_H
#define EVBUS_LOG_H

#include <stdarg.h>
#include <stddef.h>

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif

void	log_init(int foreground, int verbose, int facility);
void	log_procinit(const char *procname);
void	log_setverbose(int verbose);
int	log_getverbose(void);
const char *log_procname(void);
void	log_warn(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	logit(int, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
void	vlog(int, const char *, va_list)
	    __attribute__((__format__(printf, 2, 0)));
__dead void fatal(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
__dead void fatalx(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));

/*
 * 1 when syslog's socket (/dev/log) takes messages; else 0 with why, so a
 * daemon about to detach can say on stderr that its log would be lost.
 */
int	log_syslog_available(char *why, size_t len);

/*
 * Rate limiting for repeating conditions (broker down): returns 1 when a
 * message about this condition may be logged now, 0 while it is muted.
 * A muted condition reports how many messages it swallowed next time.
 */
struct log_ratelimit {
	double		 last;		/* monotonic seconds of last message */
	double		 interval;	/* seconds between messages */
	unsigned long	 suppressed;
};
int	log_ratelimit(struct log_ratelimit *);

#endif
