/*
 * sys.h: the supervisor's leaf helpers (sys.c): clocks, the privilege
 * drop, fd hygiene after fork.  Depends on nothing of supervisor/.
 */
#ifndef EVBUS_SV_SYS_H
#define EVBUS_SV_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"

/* CLOCK_MONOTONIC in seconds. */
double	 sv_now(void);
/* CLOCK_REALTIME in microseconds: probe results, connected_at. */
int64_t	 sv_wall_us(void);

/*
 * Descriptors only the supervisor may hold (the status socket and its
 * clients): registered when opened, released before closing, and closed
 * by sv_child_fds() in every fresh child.
 */
void	 sv_fd_private(int fd);
void	 sv_fd_release(int fd);
void	 sv_child_fds(void);

/* In a fresh child: become conf's user/group.  0 or -1 with err. */
int	 sv_drop_privileges(const struct evbus_config *conf, char *err,
	    size_t errlen);
/*
 * The uid besides root that may change things through the status
 * socket; checks that user and group exist and can be switched to.
 */
int	 sv_owner_uid(const struct evbus_config *conf, uid_t *uid, char *err,
	    size_t errlen);

/*
 * Write all of buf to fd, retrying after EINTR and short writes; errors
 * are ignored (best effort: a wake-up byte, a message to a client or
 * parent that may be gone).  Async-signal-safe.
 */
void	 sv_write_all(int fd, const void *buf, size_t len);

/*
 * Read what a client sent since into buf (cap bytes, room for a NUL kept;
 * *len held so far), without blocking, and NUL-terminate it.  Returns
 * SV_READ_MORE with new bytes, SV_READ_NONE when nothing was there yet,
 * SV_READ_GONE when the client closed or failed (close it), SV_READ_NUL
 * when the text holds a NUL byte (a bad request).
 */
#define SV_READ_GONE	(-1)
#define SV_READ_NONE	0
#define SV_READ_MORE	1
#define SV_READ_NUL	2
int	 sv_read_more(int fd, char *buf, size_t cap, size_t *len);

/*
 * A process's resident memory (bytes) and CPU time (user + system,
 * seconds) from /proc; 0, or -1 when it is gone.
 */
int	 sv_proc_usage(pid_t pid, uint64_t *rss, double *cpu);

#endif
