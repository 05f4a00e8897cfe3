/*
 * conn.c: connecting to RabbitMQ with rabbitmq-c, and turning every kind of
 * AMQP failure into a sentence an operator can act on.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conn.h"

#define CAP(k) { .key = { sizeof(k) - 1, (void *)(k) }, .value = {	\
	.kind = AMQP_FIELD_KIND_BOOLEAN, .value = { .boolean = 1 } } }

static void
set_err(struct evbus_amqp *a, const char *fmt, ...)
    __attribute__((__format__(printf, 2, 3)));

static void
set_err(struct evbus_amqp *a, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(a->err, sizeof(a->err), fmt, ap);
	va_end(ap);
}

char *
evbus_amqp_bytes_str(amqp_bytes_t b, char *buf, size_t len)
{
	size_t	 n = b.len < len - 1 ? b.len : len - 1;

	if (n > 0)
		memcpy(buf, b.bytes, n);
	buf[n] = '\0';
	return buf;
}

/* A status code with a hint where rabbitmq-c's own text is too terse. */
static const char *
status_hint(int status)
{
	switch (status) {
	case AMQP_STATUS_SOCKET_ERROR:
	case AMQP_STATUS_TCP_ERROR:
		return "connection refused or reset: is the broker running "
		    "and listening there?";
	case AMQP_STATUS_HOSTNAME_RESOLUTION_FAILED:
		return "host name does not resolve";
	case AMQP_STATUS_TIMEOUT:
		return "timed out";
	case AMQP_STATUS_HEARTBEAT_TIMEOUT:
		return "no heartbeat from the broker: it or the network is gone";
	case AMQP_STATUS_CONNECTION_CLOSED:
	case AMQP_STATUS_SOCKET_CLOSED:
		return "connection closed by the peer";
	case AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED:
		return "TLS: the broker certificate does not match the host "
		    "name (connect by the DNS name in its certificate)";
	case AMQP_STATUS_SSL_PEER_VERIFY_FAILED:
		return "TLS: the broker certificate is not trusted (unknown "
		    "CA, expired or not yet valid; check ca_file)";
	case AMQP_STATUS_SSL_CONNECTION_FAILED:
		return "TLS handshake failed";
	case AMQP_STATUS_SSL_ERROR:
		return "TLS error (the broker may have refused our client "
		    "certificate or require one)";
	default:
		return NULL;
	}
}

static void
status_text(int status, char *buf, size_t len)
{
	const char	*hint = status_hint(status);
	unsigned long	 e;
	char		 ssl[256] = "";

	if (status <= AMQP_STATUS_SSL_ERROR && status >= -0x2FF &&
	    (e = ERR_peek_last_error()) != 0) {
		ERR_error_string_n(e, ssl, sizeof(ssl));
		ERR_clear_error();
	}
	if (hint != NULL)
		snprintf(buf, len, "%s (%s)", hint, amqp_error_string2(status));
	else
		snprintf(buf, len, "%s", amqp_error_string2(status));
	if (ssl[0] != '\0') {
		size_t	 l = strlen(buf);

		if (l + 1 < len)
			snprintf(buf + l, len - l, ": %s", ssl);
	}
}

char *
evbus_amqp_reply_str(amqp_rpc_reply_t r, char *buf, size_t len)
{
	char	 text[256];

	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		snprintf(buf, len, "ok");
		break;
	case AMQP_RESPONSE_NONE:
		snprintf(buf, len, "no reply from the broker (connection lost)");
		break;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		status_text(r.library_error, buf, len);
		break;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_t *m = r.reply.decoded;

			snprintf(buf, len, "connection closed by the broker: "
			    "%u %s", m->reply_code,
			    evbus_amqp_bytes_str(m->reply_text, text,
			    sizeof(text)));
		} else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			amqp_channel_close_t *m = r.reply.decoded;

			snprintf(buf, len, "%u %s", m->reply_code,
			    evbus_amqp_bytes_str(m->reply_text, text,
			    sizeof(text)));
		} else
			snprintf(buf, len, "unexpected method %s from the "
			    "broker", amqp_method_name(r.reply.id));
		break;
	}
	return buf;
}

int
evbus_amqp_fail(struct evbus_amqp *a, amqp_channel_t ch, amqp_rpc_reply_t r,
    const char *what)
{
	char	 text[400];
	int	 code = 0;

	evbus_amqp_reply_str(r, text, sizeof(text));
	set_err(a, "amqp: %s: %s", what, text);
	switch (r.reply_type) {
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			amqp_channel_close_ok_t ok = { 0 };

			if (amqp_send_method(a->conn, ch,
			    AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != 0)
				return EVBUS_AMQP_ECONN;
			return EVBUS_AMQP_ECHANNEL;
		}
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_ok_t ok = { 0 };

			code = ((amqp_connection_close_t *)
			    r.reply.decoded)->reply_code;
			amqp_send_method(a->conn, 0,
			    AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
			if (code == AMQP_ACCESS_REFUSED ||
			    code == AMQP_NOT_ALLOWED)
				return EVBUS_AMQP_EFATAL;
		}
		return EVBUS_AMQP_ECONN;
	default:
		return EVBUS_AMQP_ECONN;
	}
}

int
evbus_amqp_fail_last(struct evbus_amqp *a, amqp_channel_t ch, const char *what)
{
	return evbus_amqp_fail(a, ch, amqp_get_rpc_reply(a->conn), what);
}

int
evbus_amqp_fail_status(struct evbus_amqp *a, int status, const char *what)
{
	char	 text[400];

	status_text(status, text, sizeof(text));
	set_err(a, "amqp: %s: %s", what, text);
	return EVBUS_AMQP_ECONN;
}

int
evbus_amqp_handle_method(struct evbus_amqp *a, const amqp_frame_t *f)
{
	amqp_rpc_reply_t r = { 0 };
	char		 what[64];

	switch (f->payload.method.id) {
	case AMQP_CHANNEL_CLOSE_METHOD:
	case AMQP_CONNECTION_CLOSE_METHOD:
		r.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
		r.reply = f->payload.method;
		snprintf(what, sizeof(what), "channel %u", f->channel);
		return evbus_amqp_fail(a, f->channel, r, what);
	case AMQP_CONNECTION_BLOCKED_METHOD:
		a->blocked = 1;
		return EVBUS_AMQP_OK;
	case AMQP_CONNECTION_UNBLOCKED_METHOD:
		a->blocked = 0;
		return EVBUS_AMQP_OK;
	default:
		return EVBUS_AMQP_OK;
	}
}

/*
 * What OpenSSL saw during this thread's last handshake.  rabbitmq-c 0.11
 * reports little more than "SSL error" or "peer verify failed" and clears
 * OpenSSL's error queue before every read, so the reason (which check
 * failed on the broker's certificate, which alert the broker sent about
 * ours) is caught by callbacks here.  Reset by evbus_amqp_connect() and
 * read before it returns; thread-local, so no pointer into a connection
 * outlives it.
 */
static _Thread_local struct {
	int	 verify_err;	/* first verify error, or X509_V_OK */
	int	 verify_depth;	/* its depth, 0: the broker's own */
	int	 alert;		/* last fatal alert received, or -1 */
	int	 passwd;	/* OpenSSL asked for a passphrase */
} tls_diag;

static void
tls_diag_reset(void)
{
	tls_diag.verify_err = X509_V_OK;
	tls_diag.verify_depth = 0;
	tls_diag.alert = -1;
	tls_diag.passwd = 0;
}

/*
 * Notes why the broker's chain failed verification, and returns OpenSSL's
 * verdict unchanged: rabbitmq-c checks the result after the handshake.
 */
static int
tls_verify_cb(int ok, X509_STORE_CTX *x)
{
	if (!ok && tls_diag.verify_err == X509_V_OK) {
		tls_diag.verify_err = X509_STORE_CTX_get_error(x);
		tls_diag.verify_depth = X509_STORE_CTX_get_error_depth(x);
	}
	return ok;
}

/* Notes a fatal alert from the broker (about our certificate, mostly). */
static void
tls_info_cb(const SSL *ssl, int where, int ret)
{
	if ((where & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT &&
	    (ret >> 8) == SSL3_AL_FATAL)
		tls_diag.alert = ret & 0xff;
}

/*
 * An encrypted key_file would make OpenSSL prompt on the terminal (and
 * hang an interactive start); evbus has no passphrase setting, so refuse.
 */
static int
tls_passwd_cb(char *buf, int size, int rwflag, void *arg)
{
	tls_diag.passwd = 1;
	return -1;
}

/* The reason of the last OpenSSL error, or "" (the queue is cleared). */
static const char *
tls_reason(char *buf, size_t len)
{
	unsigned long	 e;
	const char	*r;

	buf[0] = '\0';
	if ((e = ERR_peek_last_error()) != 0 &&
	    (r = ERR_reason_error_string(e)) != NULL)
		snprintf(buf, len, ": %s", r);
	ERR_clear_error();
	return buf;
}

/*
 * A sentence for a TLS failure in the handshake (login 0) or the AMQP
 * login right after it (login 1), from what the callbacks saw; 0 when
 * there is nothing better than status_text()'s.
 */
static int
tls_explain(int status, int login, const struct evbus_amqp_opts *o,
    char *buf, size_t len)
{
	unsigned long	 e = ERR_peek_last_error();
	int		 al = tls_diag.alert;

	if (status == AMQP_STATUS_SSL_PEER_VERIFY_FAILED &&
	    tls_diag.verify_err != X509_V_OK) {
		snprintf(buf, len, "TLS: the broker certificate is not "
		    "trusted: %s%s (%s)",
		    X509_verify_cert_error_string(tls_diag.verify_err),
		    tls_diag.verify_depth > 0 ? " (in its chain)" : "",
		    o->ca_file != NULL ? "check ca_file: it must hold the CA "
		    "that signed the broker certificate" : "no ca_file is "
		    "set, so only the system trust store is used");
		return 1;
	}
	if (status == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED) {
		snprintf(buf, len, "TLS: the broker certificate does not "
		    "match the host name \"%s\" (connect by a DNS name in "
		    "its certificate; IP addresses are never matched)",
		    o->url->host);
		return 1;
	}
	if (status > AMQP_STATUS_SSL_ERROR || status < -0x2FF)
		return 0;
	switch (al) {
	case -1:
		break;
	case SSL_AD_CERTIFICATE_REQUIRED:
		if (o->cert_file == NULL)
			snprintf(buf, len, "TLS: the broker requires a client "
			    "certificate: set cert_file and key_file");
		else
			snprintf(buf, len, "TLS: the broker requires a client "
			    "certificate and did not take %s", o->cert_file);
		return 1;
	case SSL_AD_HANDSHAKE_FAILURE:
		if (o->cert_file != NULL)
			break;
		snprintf(buf, len, "TLS: the broker refused the handshake "
		    "(%s); it may require a client certificate: set cert_file "
		    "and key_file", SSL_alert_desc_string_long(al));
		return 1;
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_EXPIRED:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_UNKNOWN_CA:
	case SSL_AD_ACCESS_DENIED:
		if (o->cert_file != NULL) {
			snprintf(buf, len, "TLS: the broker refused our client "
			    "certificate %s: %s", o->cert_file,
			    SSL_alert_desc_string_long(al));
			return 1;
		}
		break;
	}
	if (al != -1) {
		snprintf(buf, len, "TLS: the broker ended the connection with "
		    "the alert \"%s\"", SSL_alert_desc_string_long(al));
		return 1;
	}
	/*
	 * With TLS 1.3 the broker judges our certificate after the
	 * handshake; its alert races our first write, and when the write
	 * loses rabbitmq-c closes the socket before anyone reads the alert.
	 */
	if (login && status == AMQP_STATUS_SSL_ERROR) {
		if (o->cert_file == NULL)
			snprintf(buf, len, "TLS: the broker closed the "
			    "connection right after the handshake; it probably "
			    "requires a client certificate: set cert_file and "
			    "key_file");
		else
			snprintf(buf, len, "TLS: the broker closed the "
			    "connection right after the handshake; it probably "
			    "refused our client certificate %s (is it signed "
			    "by a CA the broker trusts, not expired or "
			    "revoked?)", o->cert_file);
		return 1;
	}
	if (status == AMQP_STATUS_SSL_CONNECTION_FAILED && e != 0 &&
	    ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    (ERR_GET_REASON(e) == SSL_R_WRONG_VERSION_NUMBER ||
	    ERR_GET_REASON(e) == SSL_R_PACKET_LENGTH_TOO_LONG ||
	    ERR_GET_REASON(e) == SSL_R_UNKNOWN_PROTOCOL)) {
		snprintf(buf, len, "TLS handshake failed: the server on port "
		    "%d does not speak TLS (amqps:// needs the broker's TLS "
		    "listener, usually port 5671, not its plain AMQP port)",
		    o->url->port);
		ERR_clear_error();
		return 1;
	}
	return 0;
}

/*
 * 1 (with a->err set) when the client certificate has expired: the broker
 * would refuse it, and whether it says why depends on a race (above).
 */
static int
tls_cert_expired(struct evbus_amqp *a, SSL_CTX *ctx, const char *file)
{
	X509		*cert;
	const ASN1_TIME	*end;
	BIO		*b;
	char		 when[64] = "?";
	int		 n;

	if ((cert = SSL_CTX_get0_certificate(ctx)) == NULL ||
	    (end = X509_get0_notAfter(cert)) == NULL ||
	    X509_cmp_current_time(end) > 0)
		return 0;
	if ((b = BIO_new(BIO_s_mem())) != NULL) {
		if (ASN1_TIME_print(b, end) == 1 &&
		    (n = BIO_read(b, when, sizeof(when) - 1)) > 0)
			when[n] = '\0';
		BIO_free(b);
	}
	set_err(a, "amqp: TLS: client certificate %s expired on %s: renew "
	    "it (the broker refuses expired certificates)", file, when);
	return 1;
}

/* Configure the TLS socket before it is opened. */
static int
tls_setup(struct evbus_amqp *a, amqp_socket_t *s,
    const struct evbus_amqp_opts *o)
{
	SSL_CTX	*ctx;
	char	 why[160];

	if ((ctx = amqp_ssl_socket_get_context(s)) == NULL) {
		set_err(a, "amqp: TLS: no OpenSSL context");
		return -1;
	}
	ERR_clear_error();
	tls_diag_reset();
	SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), tls_verify_cb);
	SSL_CTX_set_info_callback(ctx, tls_info_cb);
	SSL_CTX_set_default_passwd_cb(ctx, tls_passwd_cb);
	amqp_ssl_socket_set_verify_peer(s, o->verify ? 1 : 0);
	amqp_ssl_socket_set_verify_hostname(s, o->verify ? 1 : 0);
	if (o->ca_file != NULL) {
		if (amqp_ssl_socket_set_cacert(s, o->ca_file) != 0) {
			set_err(a, "amqp: TLS: cannot load CA file %s%s",
			    o->ca_file, tls_reason(why, sizeof(why)));
			return -1;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		/* rabbitmq-c 0.11 does not load the system store itself. */
		set_err(a, "amqp: TLS: cannot load the system trust store%s",
		    tls_reason(why, sizeof(why)));
		return -1;
	}
	if ((o->cert_file != NULL) != (o->key_file != NULL)) {
		set_err(a, "amqp: TLS: a client certificate needs both "
		    "cert_file and key_file");
		return -1;
	}
	if (o->cert_file != NULL &&
	    amqp_ssl_socket_set_key(s, o->cert_file, o->key_file) != 0) {
		tls_reason(why, sizeof(why));
		if (tls_diag.passwd)
			snprintf(why, sizeof(why), ": the key is encrypted "
			    "(evbus needs an unencrypted key file, readable "
			    "by its user only)");
		set_err(a, "amqp: TLS: cannot load client certificate %s "
		    "with key %s%s", o->cert_file, o->key_file, why);
		return -1;
	}
	if (o->cert_file != NULL && tls_cert_expired(a, ctx, o->cert_file))
		return -1;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	return 0;
}

int
evbus_amqp_connect(struct evbus_amqp *a, const struct evbus_amqp_opts *o)
{
	const struct evbus_url	*u = o->url;
	amqp_socket_t		*s;
	struct timeval		 tv;
	amqp_rpc_reply_t	 r;
	unsigned int		 ms;
	int			 st, fd, rc;
	amqp_table_entry_t	 caps[] = {
		CAP("consumer_cancel_notify"),
		CAP("connection.blocked"),
		CAP("basic.nack"),
		CAP("publisher_confirms"),
	};
	amqp_table_entry_t	 props[2];
	amqp_table_t		 client_props;

	memset(a, 0, sizeof(*a));
	if (strchr(u->host, ':') != NULL)
		snprintf(a->where, sizeof(a->where), "[%s]:%d%s%s", u->host,
		    u->port, u->vhost[0] == '/' ? "" : "/", u->vhost);
	else
		snprintf(a->where, sizeof(a->where), "%s:%d%s%s", u->host,
		    u->port, u->vhost[0] == '/' ? "" : "/", u->vhost);

	if ((a->conn = amqp_new_connection()) == NULL) {
		set_err(a, "amqp: out of memory");
		return EVBUS_AMQP_ECONN;
	}
	if (u->tls) {
		if ((s = amqp_ssl_socket_new(a->conn)) == NULL) {
			set_err(a, "amqp: cannot create a TLS socket");
			goto fail;
		}
		if (tls_setup(a, s, o) == -1)
			goto fatal;
	} else if ((s = amqp_tcp_socket_new(a->conn)) == NULL) {
		set_err(a, "amqp: cannot create a socket");
		goto fail;
	}

	tv.tv_sec = (time_t)o->connect_timeout;
	tv.tv_usec = (suseconds_t)((o->connect_timeout - tv.tv_sec) * 1e6);
	if (tv.tv_sec == 0 && tv.tv_usec == 0)
		tv.tv_sec = 10;
	if ((st = amqp_socket_open_noblock(s, u->host, u->port, &tv)) != 0) {
		char	 text[400];

		if (!u->tls || !tls_explain(st, 0, o, text, sizeof(text)))
			status_text(st, text, sizeof(text));
		set_err(a, "amqp: connect to %s: %s", a->where, text);
		goto fail;
	}
	/* A frozen peer must not hang a publish forever (rabbitmq-c #780). */
	fd = amqp_get_sockfd(a->conn);
	ms = (unsigned int)(o->heartbeat > 0 ? o->heartbeat * 2000 : 60000);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
	/* The handshake and every later RPC must not wait forever either. */
	amqp_set_handshake_timeout(a->conn, &tv);
	tv.tv_sec = (o->heartbeat > 0 ? 2 * o->heartbeat : 60) + 30;
	tv.tv_usec = 0;
	amqp_set_rpc_timeout(a->conn, &tv);

	props[0].key = amqp_cstring_bytes("capabilities");
	props[0].value.kind = AMQP_FIELD_KIND_TABLE;
	props[0].value.value.table.num_entries =
	    (int)(sizeof(caps) / sizeof(caps[0]));
	props[0].value.value.table.entries = caps;
	props[1].key = amqp_cstring_bytes("connection_name");
	props[1].value.kind = AMQP_FIELD_KIND_UTF8;
	props[1].value.value.bytes = amqp_cstring_bytes(
	    o->connection_name ? o->connection_name : "evbus");
	client_props.num_entries = 2;
	client_props.entries = props;

	r = amqp_login_with_properties(a->conn, u->vhost, 0,
	    AMQP_DEFAULT_FRAME_SIZE, o->heartbeat, &client_props,
	    AMQP_SASL_METHOD_PLAIN, u->user, u->password);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		char	 what[EVBUS_URL_FIELD_MAX * 2 + 64], text[400];

		snprintf(what, sizeof(what), "login to %s as %s", a->where,
		    u->user);
		/* With TLS 1.3 a refused client certificate shows here. */
		if (u->tls &&
		    r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    tls_explain(r.library_error, 1, o, text, sizeof(text))) {
			set_err(a, "amqp: %s: %s", what, text);
			rc = EVBUS_AMQP_ECONN;
		} else
			rc = evbus_amqp_fail(a, 0, r, what);
		if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_SSL_ERROR)
			rc = EVBUS_AMQP_ECONN;
		amqp_destroy_connection(a->conn);
		a->conn = NULL;
		return rc;
	}
	a->heartbeat = amqp_get_heartbeat(a->conn);
	a->frame_max = amqp_get_frame_max(a->conn);
	return EVBUS_AMQP_OK;

fatal:
	amqp_destroy_connection(a->conn);
	a->conn = NULL;
	return EVBUS_AMQP_EFATAL;
fail:
	amqp_destroy_connection(a->conn);
	a->conn = NULL;
	return EVBUS_AMQP_ECONN;
}

int
evbus_amqp_connect_any(struct evbus_amqp *a, struct evbus_amqp_opts *o,
    const struct evbus_url *urls, size_t n, size_t start, size_t *used)
{
	char	 last[EVBUS_AMQP_ERRLEN];
	size_t	 k, i;
	int	 rc = EVBUS_AMQP_ECONN;

	for (k = 0; k < n; k++) {
		i = (start + k) % n;
		o->url = &urls[i];
		if ((rc = evbus_amqp_connect(a, o)) == EVBUS_AMQP_OK) {
			*used = i;
			return rc;
		}
	}
	if (n > 1) {
		snprintf(last, sizeof(last), "%s", a->err);
		set_err(a, "no node of the %zu reachable (last: %s)", n, last);
	}
	return rc;
}

void
evbus_amqp_close(struct evbus_amqp *a)
{
	if (a->conn == NULL)
		return;
	amqp_connection_close(a->conn, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(a->conn);
	a->conn = NULL;
}

int
evbus_amqp_channel_open(struct evbus_amqp *a, amqp_channel_t ch)
{
	char	 what[32];

	if (amqp_channel_open(a->conn, ch) == NULL) {
		snprintf(what, sizeof(what), "channel.open %u", ch);
		return evbus_amqp_fail_last(a, ch, what);
	}
	return EVBUS_AMQP_OK;
}

void
evbus_amqp_channel_close(struct evbus_amqp *a, amqp_channel_t ch)
{
	if (a->conn != NULL)
		amqp_channel_close(a->conn, ch, AMQP_REPLY_SUCCESS);
}

int
evbus_amqp_heartbeat(struct evbus_amqp *a)
{
	amqp_frame_t	 hb;

	memset(&hb, 0, sizeof(hb));
	hb.frame_type = AMQP_FRAME_HEARTBEAT;
	hb.channel = 0;
	return amqp_send_frame(a->conn, &hb);
}

int
evbus_amqp_readable(struct evbus_amqp *a)
{
	struct pollfd	 pfd;

	if (a->conn == NULL)
		return 0;
	pfd.fd = amqp_get_sockfd(a->conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	return pfd.fd >= 0 && poll(&pfd, 1, 0) == 1;
}
