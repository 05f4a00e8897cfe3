/*
 * url.c: amqp:// and amqps:// URLs, parsed, masked for logs and displayed.
 *
 * Strict where RabbitMQ's AMQP URI spec is (a "/" inside the vhost must be
 * written %2f), lenient where aio-pika is (an empty vhost is "/", no user
 * means guest/guest, the query string is ignored).  Error messages quote
 * offsets and numbers, never text from the URL: a malformed URL may well
 * have its password in the part that failed to parse.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "url.h"

static int	 url_error(char *, size_t, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));

static int
url_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/*
 * Percent-decode [p, p + n) into dst (EVBUS_URL_FIELD_MAX bytes).  base is
 * the start of the URL, for offsets in messages.
 */
static int
url_decode(const char *base, const char *p, size_t n, char *dst,
    const char *what, char *err, size_t errlen)
{
	size_t	 i, o = 0;
	int	 hi, lo;
	char	 c;

	for (i = 0; i < n; i++) {
		c = p[i];
		if (c == '%') {
			if (i + 2 >= n)
				hi = lo = -1;
			else {
				hi = hexval((unsigned char)p[i + 1]);
				lo = hexval((unsigned char)p[i + 2]);
			}
			if (hi < 0 || lo < 0)
				return url_error(err, errlen, "bad percent "
				    "escape in %s at offset %zu", what,
				    (size_t)(p + i - base));
			c = (char)(hi << 4 | lo);
			if (c == '\0')
				return url_error(err, errlen, "%s contains "
				    "%%00 at offset %zu", what,
				    (size_t)(p + i - base));
			i += 2;
		}
		if (o >= EVBUS_URL_FIELD_MAX - 1)
			return url_error(err, errlen, "%s longer than %d bytes",
			    what, EVBUS_URL_FIELD_MAX - 1);
		dst[o++] = c;
	}
	dst[o] = '\0';
	return 0;
}

/* The user[:password] part, [p, end). */
static int
parse_userinfo(const char *s, const char *p, const char *end,
    struct evbus_url *u, char *err, size_t errlen)
{
	const char	*colon;

	colon = memchr(p, ':', end - p);
	if (colon == p && end - colon > 1)
		return url_error(err, errlen, "empty user with a password");
	if (p == end || (colon == p && end - colon == 1))
		return 0;	/* "@host" or ":@host": no credentials */
	if (url_decode(s, p, (colon != NULL ? colon : end) - p, u->user,
	    "user", err, errlen) == -1)
		return -1;
	u->has_user = 1;
	u->password[0] = '\0';
	if (colon != NULL) {
		if (url_decode(s, colon + 1, end - colon - 1, u->password,
		    "password", err, errlen) == -1)
			return -1;
		u->has_password = 1;
	}
	return 0;
}

/* An IPv6 literal between brackets, [p, end), optionally with "%25zone". */
static int
parse_ipv6(const char *s, const char *p, const char *end, struct evbus_url *u,
    char *err, size_t errlen)
{
	struct in6_addr	 in6;
	char		 addr[INET6_ADDRSTRLEN + 1];
	const char	*zone, *q;
	size_t		 alen;

	if (p == end)
		return url_error(err, errlen, "empty host");
	zone = memchr(p, '%', end - p);
	alen = (zone != NULL ? zone : end) - p;
	for (q = p; q < p + alen; q++)
		if (hexval((unsigned char)*q) < 0 && *q != ':' && *q != '.')
			return url_error(err, errlen, "invalid character in "
			    "IPv6 literal at offset %zu", (size_t)(q - s));
	if (alen >= sizeof(addr))
		return url_error(err, errlen, "bad IPv6 literal at offset %zu",
		    (size_t)(p - s));
	memcpy(addr, p, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET6, addr, &in6) != 1)
		return url_error(err, errlen, "bad IPv6 literal at offset %zu",
		    (size_t)(p - s));
	if (zone != NULL) {
		/* RFC 6874: the "%" of the zone is itself encoded, "%25". */
		if (end - zone < 4 || zone[1] != '2' || zone[2] != '5')
			return url_error(err, errlen, "bad IPv6 zone at offset "
			    "%zu (write \"%%25zone\")", (size_t)(zone - s));
		for (q = zone + 3; q < end; q++)
			if (!is_unreserved((unsigned char)*q))
				return url_error(err, errlen, "invalid "
				    "character in IPv6 zone at offset %zu",
				    (size_t)(q - s));
	}
	if ((size_t)(end - p) >= EVBUS_URL_FIELD_MAX)
		return url_error(err, errlen, "host longer than %d bytes",
		    EVBUS_URL_FIELD_MAX - 1);
	memcpy(u->host, addr, alen);
	u->host[alen] = '\0';
	if (zone != NULL) {
		u->host[alen] = '%';
		memcpy(u->host + alen + 1, zone + 3, end - zone - 3);
		u->host[alen + 1 + (end - zone - 3)] = '\0';
	}
	return 0;
}

/* host[:port], [p, end). */
static int
parse_hostport(const char *s, const char *p, const char *end,
    struct evbus_url *u, char *err, size_t errlen)
{
	const char	*h, *hend, *q;
	unsigned long	 port;

	if (*p == '[') {
		hend = memchr(p, ']', end - p);
		if (hend == NULL)
			return url_error(err, errlen, "unterminated IPv6 "
			    "literal (missing \"]\")");
		if (parse_ipv6(s, p + 1, hend, u, err, errlen) == -1)
			return -1;
		q = hend + 1;
		if (q < end && *q != ':')
			return url_error(err, errlen, "unexpected character "
			    "after IPv6 literal at offset %zu",
			    (size_t)(q - s));
	} else {
		h = p;
		hend = memchr(h, ':', end - h);
		if (hend == NULL)
			hend = end;
		else if (memchr(hend + 1, ':', end - hend - 1) != NULL)
			return url_error(err, errlen, "IPv6 literal must be in "
			    "brackets (\"[::1]\")");
		if (hend == h)
			return url_error(err, errlen, "empty host");
		for (q = h; q < hend; q++)
			if (!is_unreserved((unsigned char)*q) || *q == '~')
				return url_error(err, errlen, "invalid "
				    "character in host at offset %zu",
				    (size_t)(q - s));
		if (hend - h >= EVBUS_URL_FIELD_MAX)
			return url_error(err, errlen, "host longer than %d "
			    "bytes", EVBUS_URL_FIELD_MAX - 1);
		memcpy(u->host, h, hend - h);
		u->host[hend - h] = '\0';
		q = hend;
	}

	u->port = u->tls ? 5671 : 5672;
	if (q == end)
		return 0;
	/* *q == ':' */
	q++;
	if (q == end)
		return url_error(err, errlen, "empty port");
	port = 0;
	for (h = q; h < end; h++) {
		if (*h < '0' || *h > '9')
			return url_error(err, errlen, "port is not a number "
			    "(offset %zu)", (size_t)(h - s));
		if (port <= 65535)
			port = port * 10 + (unsigned long)(*h - '0');
	}
	if (port < 1 || port > 65535)
		return url_error(err, errlen, "port %.*s%s out of range "
		    "(1..65535)", end - q > 12 ? 12 : (int)(end - q), q,
		    end - q > 12 ? "..." : "");
	u->port = (int)port;
	return 0;
}

int
evbus_url_parse(const char *s, struct evbus_url *u, char *err, size_t errlen)
{
	const char	*p, *auth, *authend, *at, *vend, *slash;

	memset(u, 0, sizeof(*u));
	if (s == NULL || *s == '\0')
		return url_error(err, errlen, "empty URL");
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return url_error(err, errlen, "control character or "
			    "space at offset %zu", (size_t)(p - s));
	if (strncasecmp(s, "amqp://", 7) == 0)
		auth = s + 7;
	else if (strncasecmp(s, "amqps://", 8) == 0) {
		auth = s + 8;
		u->tls = 1;
	} else
		return url_error(err, errlen, "scheme must be amqp:// or "
		    "amqps://");

	authend = auth + strcspn(auth, "/?#");
	/*
	 * An "@" past the authority means a password with a raw "/", "?" or
	 * "#" in it: refuse rather than take part of the password for a
	 * host or vhost.
	 */
	if (strchr(authend, '@') != NULL)
		return url_error(err, errlen, "\"@\" after the host: "
		    "percent-encode \"@\", \"/\", \"?\" and \"#\" in user and "
		    "password");
	if (strchr(authend, '#') != NULL)
		return url_error(err, errlen, "fragment (\"#\") not allowed");

	/* Like Python's urllib: the host follows the last "@". */
	at = NULL;
	for (p = auth; p < authend; p++)
		if (*p == '@')
			at = p;
	if (at != NULL) {
		if (parse_userinfo(s, auth, at, u, err, errlen) == -1)
			return -1;
		p = at + 1;
	} else
		p = auth;
	if (!u->has_user) {
		strlcpy(u->user, "guest", sizeof(u->user));
		strlcpy(u->password, "guest", sizeof(u->password));
	}
	if (p == authend)
		return url_error(err, errlen, "empty host");
	if (parse_hostport(s, p, authend, u, err, errlen) == -1)
		return -1;

	strlcpy(u->vhost, "/", sizeof(u->vhost));
	if (*authend == '/') {
		p = authend + 1;
		vend = p + strcspn(p, "?");
		if ((slash = memchr(p, '/', vend - p)) != NULL)
			return url_error(err, errlen, "vhost contains an "
			    "unencoded \"/\" at offset %zu (write it as %%2f)",
			    (size_t)(slash - s));
		if (vend > p && url_decode(s, p, vend - p, u->vhost, "vhost",
		    err, errlen) == -1)
			return -1;
	}
	/* The query (?heartbeat=...) is accepted and ignored. */
	return 0;
}

/* Append [p, p + n) to buf, control characters as "?". */
static void
mask_append(char *buf, size_t len, size_t *o, const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n && *o + 1 < len; i++) {
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			buf[(*o)++] = '?';
		else
			buf[(*o)++] = p[i];
	}
	buf[*o] = '\0';
}

/*
 * 1 when the authority at s (up to "/", "?" or "#") reads as host[:port]
 * or [v6][:port], so nothing in it can be a password.
 */
static int
plain_authority(const char *s)
{
	const char	*end, *p;

	end = s + strcspn(s, "/?#");
	p = s;
	if (*p == '[') {
		if ((p = memchr(p, ']', end - p)) == NULL)
			return 0;
		p++;
	} else
		while (p < end && *p != ':')
			p++;
	if (p == end)
		return 1;
	if (*p++ != ':')
		return 0;
	for (; p < end; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

char *
evbus_url_mask(const char *s, char *buf, size_t len)
{
	const char	*start, *at;
	size_t		 o = 0;

	if (buf == NULL || len == 0)
		return buf;
	buf[0] = '\0';
	if (s == NULL)
		s = "";
	start = strstr(s, "://");
	start = start != NULL ? start + 3 : s;
	/*
	 * The last "@" of the whole string, not of the authority: on
	 * garbage we cannot know where the authority ends, and masking too
	 * much is harmless where too little leaks a password.
	 */
	at = strrchr(start, '@');
	mask_append(buf, len, &o, s, start - s);
	if (at != NULL) {
		mask_append(buf, len, &o, "***:***", 7);
		start = at;
	} else if (!plain_authority(start)) {
		/* "amqp://user:secret" with the "@host" forgotten. */
		mask_append(buf, len, &o, "***", 3);
		return buf;
	}
	mask_append(buf, len, &o, start, strlen(start));
	return buf;
}

/* Append s percent-encoded (all but RFC 3986 unreserved characters). */
static void
encode_append(char *buf, size_t len, size_t *o, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			 esc[3];

	for (; *s != '\0'; s++) {
		if (is_unreserved((unsigned char)*s))
			mask_append(buf, len, o, s, 1);
		else {
			esc[0] = '%';
			esc[1] = hex[(unsigned char)*s >> 4];
			esc[2] = hex[(unsigned char)*s & 0xf];
			mask_append(buf, len, o, esc, 3);
		}
	}
}

char *
evbus_url_display(const struct evbus_url *u, char *buf, size_t len)
{
	const char	*h;
	char		 port[16];
	size_t		 o = 0;
	int		 v6;

	if (buf == NULL || len == 0)
		return buf;
	buf[0] = '\0';
	mask_append(buf, len, &o, u->tls ? "amqps://" : "amqp://",
	    u->tls ? 8 : 7);
	encode_append(buf, len, &o, u->user);
	mask_append(buf, len, &o, "@", 1);
	/* An IPv6 literal in brackets, its zone's "%" written "%25". */
	v6 = strchr(u->host, ':') != NULL;
	if (v6)
		mask_append(buf, len, &o, "[", 1);
	for (h = u->host; *h != '\0'; h++)
		mask_append(buf, len, &o, *h == '%' ? "%25" : h,
		    *h == '%' ? 3 : 1);
	if (v6)
		mask_append(buf, len, &o, "]", 1);
	snprintf(port, sizeof(port), ":%d/", u->port);
	mask_append(buf, len, &o, port, strlen(port));
	/* The default vhost "/" is the empty path, as in the usual URLs. */
	if (strcmp(u->vhost, "/") != 0)
		encode_append(buf, len, &o, u->vhost);
	return buf;
}

char *
evbus_mask_secrets(const char *s, char *buf, size_t len)
{
	const char	*p = s, *scheme, *end, *colon, *at;
	size_t		 o = 0, n;

	if (len == 0)
		return buf;
	while (*p != '\0' && o + 1 < len) {
		if ((scheme = strstr(p, "://")) == NULL) {
			n = strlen(p);
			goto copy_rest;
		}
		/* The authority: up to '/', whitespace or the end. */
		end = scheme + 3 + strcspn(scheme + 3, "/ \t\r\n\"'");
		at = NULL;
		for (colon = scheme + 3; colon < end; colon++)
			if (*colon == '@')
				at = colon;
		colon = memchr(scheme + 3, ':', (size_t)(end - scheme - 3));
		if (at == NULL || colon == NULL || colon > at) {
			n = (size_t)(end - p);
			if (o + n >= len)
				n = len - o - 1;
			memcpy(buf + o, p, n);
			o += n;
			p = end;
			continue;
		}
		/* Up to and with the ':', then the mask, then from '@'. */
		n = (size_t)(colon + 1 - p);
		if (o + n >= len)
			n = len - o - 1;
		memcpy(buf + o, p, n);
		o += n;
		n = strlen("****");
		if (o + n >= len)
			n = len - o - 1;
		memcpy(buf + o, "****", n);
		o += n;
		p = at;
	}
	buf[o] = '\0';
	return buf;
copy_rest:
	if (o + n >= len)
		n = len - o - 1;
	memcpy(buf + o, p, n);
	buf[o + n] = '\0';
	return buf;
}
