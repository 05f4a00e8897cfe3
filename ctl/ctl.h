/*
 * ctl.h: evbusctl, the operator's tool.
 */
#ifndef EVBUS_CTL_H
#define EVBUS_CTL_H

#include <stdio.h>

#include <json-c/json.h>

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

#define CTL_DEFAULT_CONF	SYSCONFDIR "/evbus/evbusd.conf"

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
	int			 color;		/* stdout takes SGR colour */
};

struct ctl_cmd {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
};

/* What `evbusctl help` says about an option and a command (help.c). */
struct ctl_opt {
	const char		*flags;		/* "-l, --limit N" */
	const char		*help;		/* one line */
};

struct ctl_help {
	const char		*name;		/* "status", "dlq list" */
	const char		*usage;		/* after "evbusctl " */
	const char		*summary;	/* one line, for the overview */
	const char		*desc;		/* one paragraph */
	const struct ctl_opt	*opts;		/* ends with flags NULL */
};

/* SGR colours, printed only when ctl->color (see ctl_sgr). */
#define CTL_SGR_RESET	"0"
#define CTL_SGR_GREEN	"32"
#define CTL_SGR_RED	"1;31"

/* evbusctl.c */
int	 ctl_connect(struct ctl *);
void	 ctl_disconnect(struct ctl *);
void	 ctl_warnx(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	 ctl_json_print(json_object *);
const char *ctl_sgr(const struct ctl *, const char *);
int	 ctl_tty_controls(int);

/* help.c */
const struct ctl_help *ctl_help_find(const char *);
int	 ctl_unknown(const char *, const char *);
void	 ctl_usage(FILE *);
int	 ctl_help_command(int, char **);
int	 cmd_help(struct ctl *, int, char **);

/* expfmt.c */
json_object *ctl_metrics_json(const char *);

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
