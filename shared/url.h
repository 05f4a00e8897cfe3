/*
 * url.h: amqp:// and amqps:// URLs.
 *
 *   amqp[s]://[user[:password]@]host[:port][/vhost][?query]
 *
 * host may be an IPv6 literal in brackets; user, password and vhost are
 * percent-decoded ("%2f" is "/"); an empty or missing vhost is "/".
 * Default port 5672 for amqp, 5671 for amqps; default user and password
 * are RabbitMQ's "guest" only when the URL carries no user at all.
 */
#ifndef EVBUS_URL_H
#define EVBUS_URL_H

#define EVBUS_URL_FIELD_MAX	256

struct evbus_url {
	int	 tls;			/* 1 for amqps:// */
	int	 has_user;		/* the URL named a user */
	int	 has_password;		/* the URL carried a password */
	char	 user[EVBUS_URL_FIELD_MAX];
	char	 password[EVBUS_URL_FIELD_MAX];
	char	 host[EVBUS_URL_FIELD_MAX];	/* without brackets */
	int	 port;
	char	 vhost[EVBUS_URL_FIELD_MAX];
};

/*
 * Parse s into *u.  Returns 0, or -1 with a reason in err (e.g. "port
 * 70000 out of range (1..65535)", "scheme must be amqp:// or amqps://").
 * Reasons quote offsets and port numbers, never other text from the URL,
 * so they cannot leak a password.  A raw "@" after the host is refused (a password holding an
 * unencoded "/", "?" or "#"), and so is a raw "/" inside the vhost.
 */
int	 evbus_url_parse(const char *s, struct evbus_url *u, char *err,
	    size_t errlen);

/*
 * Write s into buf with user and password each replaced by three stars
 * (user:password@ becomes ***:***@); a URL without credentials is copied
 * unchanged.  Works on unparsable input too, so it is safe for error
 * messages: anything between "://" and the last "@" of the whole string is
 * masked, everything after "://" when there is no "@" but a ":" that does
 * not start a port, and control characters become "?".  Truncated to len;
 * returns buf.
 */
char	*evbus_url_mask(const char *s, char *buf, size_t len);

/*
 * Free text (an error message) into buf with the password of every
 * "scheme://user:password@" in it replaced by "****".
 */
char	*evbus_mask_secrets(const char *s, char *buf, size_t len);

/*
 * Format u as a URL without password, for logs
 * ("amqp://user@host:port/vh"): user and vhost percent-encoded so the
 * result parses back, IPv6 hosts in brackets, the vhost "/" as the empty
 * path.  Truncated to len; returns buf.
 */
char	*evbus_url_display(const struct evbus_url *u, char *buf, size_t len);

#endif
