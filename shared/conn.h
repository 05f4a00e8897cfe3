/*
 * conn.h: evbus's layer over rabbitmq-c.
 *
 * One struct evbus_amqp is one AMQP connection: connect with a deadline,
 * login with client properties (consumer cancel notify, connection.blocked,
 * a connection name), heartbeats, TLS for amqps:// URLs, and error texts
 * that say what failed ("amqp: queue.declare events.default: 406
 * PRECONDITION_FAILED - inequivalent arg 'durable' ...") instead of "error
 * -9".  Credentials never appear in any message.
 *
 * Never share one connection between processes (open it after fork) or
 * between threads without a lock.
 */
#ifndef EVBUS_CONN_H
#define EVBUS_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#ifdef HAVE_RABBITMQ_C_AMQP_H
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/framing.h>
#include <rabbitmq-c/ssl_socket.h>
#include <rabbitmq-c/tcp_socket.h>
#else
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#endif

#include "url.h"

#define EVBUS_AMQP_ERRLEN	512

/* What a failure did to the connection. */
#define EVBUS_AMQP_OK		 0
#define EVBUS_AMQP_ECHANNEL	-1	/* channel closed by the broker; reopen it */
#define EVBUS_AMQP_ECONN	-2	/* connection is gone; reconnect */
#define EVBUS_AMQP_EFATAL	-3	/* refused login/vhost: config error, do not hot-loop */

struct evbus_amqp_opts {
	const struct evbus_url	*url;
	int			 heartbeat;	/* seconds, 0 = off */
	double			 connect_timeout;	/* seconds */
	const char		*connection_name;	/* shown by the broker */
	/* TLS, for url->tls. */
	const char		*ca_file;	/* NULL: system trust store */
	const char		*cert_file;
	const char		*key_file;
	int			 verify;	/* peer and hostname */
};

struct evbus_amqp {
	amqp_connection_state_t	 conn;
	int			 heartbeat;	/* negotiated */
	int			 frame_max;
	char			 where[EVBUS_URL_FIELD_MAX + 64];	/* "host:port/vhost" for logs */
	char			 err[EVBUS_AMQP_ERRLEN];	/* last failure */
	int			 blocked;	/* connection.blocked seen */
};

/*
 * Connect, log in and set TCP_USER_TIMEOUT so a dead peer cannot hang a
 * publish forever.  Returns EVBUS_AMQP_OK, or an EVBUS_AMQP_E* code with
 * a->err set; the struct is then closed.
 */
int	 evbus_amqp_connect(struct evbus_amqp *a,
	    const struct evbus_amqp_opts *o);

/* Close politely if possible and free everything; safe to call twice. */
/*
 * Fail over across a cluster's nodes: connect to urls[start], else the
 * next ones in turn (wrapping), each tried once, with o's other options.
 * Returns EVBUS_AMQP_OK with *used set to the node's index, or the last
 * node's code with a->err naming how many nodes were tried.
 */
int	 evbus_amqp_connect_any(struct evbus_amqp *a,
	    struct evbus_amqp_opts *o, const struct evbus_url *urls,
	    size_t n, size_t start, size_t *used);

void	 evbus_amqp_close(struct evbus_amqp *a);

/* Open channel ch; 0 or an EVBUS_AMQP_E* code with a->err set. */
int	 evbus_amqp_channel_open(struct evbus_amqp *a, amqp_channel_t ch);

/* Close channel ch (errors ignored: used on the way out). */
void	 evbus_amqp_channel_close(struct evbus_amqp *a, amqp_channel_t ch);

/*
 * Turn a failed RPC into a->err ("amqp: <what>: <reply>"), answer the
 * broker's channel.close or connection.close with its close-ok as the
 * protocol requires, and classify it.  what names the operation and its
 * object ("queue.declare events.default").
 */
int	 evbus_amqp_fail(struct evbus_amqp *a, amqp_channel_t ch,
	    amqp_rpc_reply_t r, const char *what);

/* The same for the last RPC of the connection (amqp_get_rpc_reply). */
int	 evbus_amqp_fail_last(struct evbus_amqp *a, amqp_channel_t ch,
	    const char *what);

/* The same for a status code from a non-RPC call (publish, ack, frame read). */
int	 evbus_amqp_fail_status(struct evbus_amqp *a, int status,
	    const char *what);

/*
 * Handle a method frame that arrived out of band (channel.close,
 * connection.close, blocked/unblocked): answer closes, set a->err and
 * return the classification; other methods return EVBUS_AMQP_OK untouched.
 */
int	 evbus_amqp_handle_method(struct evbus_amqp *a, const amqp_frame_t *f);

/* Text for a broker reply ("406 PRECONDITION_FAILED - ...") into buf. */
char	*evbus_amqp_reply_str(amqp_rpc_reply_t r, char *buf, size_t len);

/* Send a heartbeat frame now (keeps a connection alive during long work). */
int	 evbus_amqp_heartbeat(struct evbus_amqp *a);

/* 1 when the connection's socket has bytes to read now (no waiting). */
int	 evbus_amqp_readable(struct evbus_amqp *a);

/* Copy an amqp_bytes_t into a NUL-terminated buffer (truncating). */
char	*evbus_amqp_bytes_str(amqp_bytes_t b, char *buf, size_t len);

#endif
