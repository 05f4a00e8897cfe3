/*
 * ctl.h: evbusctl, the operator's tool.
 */
#ifndef EVBUS_CTL_H
#define EVBUS_CTL_H

#include "conf.h"
#include "conn.h"

/* Exit statuses (sysexits where one fits). */
#define CTL_EX_OK		0
#define CTL_EX_FAIL		1	/* the operation failed in part or whole */
#define CTL_EX_USAGE		64
#define CTL_EX_DATAERR		65	/* invalid input */
#define CTL_EX_NOINPUT		66
#define CTL_EX_UNAVAILABLE	69	/* broker or evbusd unreachable */
#define CTL_EX_CONFIG		78

#define CTL_CHANNEL		1	/* work channel */
#define CTL_ADMIN_CHANNEL	2	/* passive declares, basic.get */

struct ctl {
	struct evbus_config	*conf;
	const char		*conf_path;
	int			 json;
	int			 verbose;
	struct evbus_amqp	 amqp;
	int			 connected;
	size_t			 node;		/* conf->urls[] connected to */
	/* Connect errors: the caller reports them, ctl_connect() not. */
	int			 quiet;
};

struct ctl_cmd {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
	const char	*usage;
	const char	*help;
};

/* evbusctl.c */
int	 ctl_connect(struct ctl *);
void	 ctl_disconnect(struct ctl *);
void	 ctl_warnx(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));

/* publish.c */
int	 cmd_publish(struct ctl *, int, char **);

/* status.c */
int	 ctl_admin_channel(struct ctl *);
int	 cmd_status(struct ctl *, int, char **);
int	 cmd_health(struct ctl *, int, char **);
int	 cmd_queue(struct ctl *, int, char **);
int	 cmd_workers(struct ctl *, int, char **);
int	 cmd_metrics(struct ctl *, int, char **);
int	 cmd_scale(struct ctl *, int, char **);
int	 cmd_reload(struct ctl *, int, char **);
int	 cmd_stop(struct ctl *, int, char **);

/* dlq.c */
int	 cmd_dlq(struct ctl *, int, char **);

/* topology commands */
int	 cmd_declare(struct ctl *, int, char **);
int	 cmd_bind(struct ctl *, int, char **);
int	 cmd_unbind(struct ctl *, int, char **);

#endif
