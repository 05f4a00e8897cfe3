/*
 * test_url.c: amqp:// and amqps:// URL parsing, masking and display
 * (shared/url.c).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cu.h"
#include "url.h"

struct ok_case {
	const char	*url;
	int		 tls;
	int		 has_user;
	int		 has_password;
	const char	*user;
	const char	*password;
	const char	*host;
	int		 port;
	const char	*vhost;
};

static const struct ok_case ok_cases[] = {
	{ "amqp://guest:guest@localhost:5672/", 0, 1, 1, "guest", "guest",
	  "localhost", 5672, "/" },
	/* RabbitMQ's defaults only when the URL names no user */
	{ "amqp://localhost", 0, 0, 0, "guest", "guest", "localhost", 5672,
	  "/" },
	{ "amqp://@localhost", 0, 0, 0, "guest", "guest", "localhost", 5672,
	  "/" },
	{ "amqp://:@localhost", 0, 0, 0, "guest", "guest", "localhost", 5672,
	  "/" },
	{ "amqps://broker.example.com", 1, 0, 0, "guest", "guest",
	  "broker.example.com", 5671, "/" },
	{ "amqps://broker:5672", 1, 0, 0, "guest", "guest", "broker", 5672,
	  "/" },
	/* user without password: "" and has_password 0; "user:" has one */
	{ "amqp://app@host", 0, 1, 0, "app", "", "host", 5672, "/" },
	{ "amqp://app:@host", 0, 1, 1, "app", "", "host", 5672, "/" },
	/* percent-decoding */
	{ "amqp://u%40x:p%3Aw%2F%25%3f@host:1/vh", 0, 1, 1, "u@x", "p:w/%?",
	  "host", 1, "vh" },
	{ "amqp://host/%2f", 0, 0, 0, "guest", "guest", "host", 5672, "/" },
	{ "amqp://host/%2F", 0, 0, 0, "guest", "guest", "host", 5672, "/" },
	{ "amqp://host/%2Fprod%2fa", 0, 0, 0, "guest", "guest", "host", 5672,
	  "/prod/a" },
	{ "amqp://host/", 0, 0, 0, "guest", "guest", "host", 5672, "/" },
	{ "amqp://host/prod%20x", 0, 0, 0, "guest", "guest", "host", 5672,
	  "prod x" },
	{ "amqp://u:p@host/caf%C3%A9", 0, 1, 1, "u", "p", "host", 5672,
	  "caf\xc3\xa9" },
	{ "amqp://u:p\xc3\xa9@host", 0, 1, 1, "u", "p\xc3\xa9", "host", 5672,
	  "/" },
	/* the query is accepted and ignored */
	{ "amqp://host?heartbeat=10", 0, 0, 0, "guest", "guest", "host", 5672,
	  "/" },
	{ "amqp://host:5673/vh?heartbeat=10&connection_timeout=5", 0, 0, 0,
	  "guest", "guest", "host", 5673, "vh" },
	{ "amqp://host/?heartbeat=10", 0, 0, 0, "guest", "guest", "host",
	  5672, "/" },
	/* IPv6 literals */
	{ "amqp://[::1]:5673/v", 0, 0, 0, "guest", "guest", "::1", 5673, "v" },
	{ "amqp://[::1]", 0, 0, 0, "guest", "guest", "::1", 5672, "/" },
	{ "amqps://u:p@[2001:DB8::1]/", 1, 1, 1, "u", "p", "2001:DB8::1",
	  5671, "/" },
	{ "amqp://[fe80::1%25eth0]:5672/", 0, 0, 0, "guest", "guest",
	  "fe80::1%eth0", 5672, "/" },
	{ "amqp://[::ffff:192.0.2.1]/", 0, 0, 0, "guest", "guest",
	  "::ffff:192.0.2.1", 5672, "/" },
	/* scheme in any case; the host is kept as written */
	{ "AMQP://Host", 0, 0, 0, "guest", "guest", "Host", 5672, "/" },
	{ "AmQpS://h", 1, 0, 0, "guest", "guest", "h", 5671, "/" },
	/* like Python's urllib: host after the last "@", password after
	 * the first ":" */
	{ "amqp://user:pa@ss@host/", 0, 1, 1, "user", "pa@ss", "host", 5672,
	  "/" },
	{ "amqp://user:pa:ss@host", 0, 1, 1, "user", "pa:ss", "host", 5672,
	  "/" },
	{ "amqp://host:65535", 0, 0, 0, "guest", "guest", "host", 65535, "/" },
	{ "amqp://host:1", 0, 0, 0, "guest", "guest", "host", 1, "/" },
	{ "amqp://host:00080", 0, 0, 0, "guest", "guest", "host", 80, "/" },
	{ "amqp://my_host.example-1.com:5672/", 0, 0, 0, "guest", "guest",
	  "my_host.example-1.com", 5672, "/" },
	{ "amqp://127.0.0.1:5672/%2F", 0, 0, 0, "guest", "guest", "127.0.0.1",
	  5672, "/" },
	{ NULL, 0, 0, 0, NULL, NULL, NULL, 0, NULL }
};

static void
test_parse_ok(void)
{
	const struct ok_case	*c;
	struct evbus_url	 u;
	char			 err[256];
	int			 rv;

	for (c = ok_cases; c->url != NULL; c++) {
		err[0] = '\0';
		rv = evbus_url_parse(c->url, &u, err, sizeof(err));
		cu_checkf(rv == 0, "%s: rejected: %s", c->url, err);
		if (rv != 0)
			continue;
		cu_checkf(u.tls == c->tls && u.has_user == c->has_user &&
		    u.has_password == c->has_password &&
		    strcmp(u.user, c->user) == 0 &&
		    strcmp(u.password, c->password) == 0 &&
		    strcmp(u.host, c->host) == 0 && u.port == c->port &&
		    strcmp(u.vhost, c->vhost) == 0,
		    "%s:\n expected tls=%d user=%d/%s pass=%d/%s host=%s "
		    "port=%d vhost=%s\n got      tls=%d user=%d/%s pass=%d/%s "
		    "host=%s port=%d vhost=%s", c->url, c->tls, c->has_user,
		    c->user, c->has_password, c->password, c->host, c->port,
		    c->vhost, u.tls, u.has_user, u.user, u.has_password,
		    u.password, u.host, u.port, u.vhost);
	}
}

static const struct {
	const char	*url;
	const char	*err;
} bad_cases[] = {
	{ "", "empty URL" },
	{ "http://host", "scheme must be amqp:// or amqps://" },
	{ "amqp:/host", "scheme must be amqp:// or amqps://" },
	{ "amqpx://host", "scheme must be amqp:// or amqps://" },
	{ "host:5672", "scheme must be amqp:// or amqps://" },
	{ "amqp://", "empty host" },
	{ "amqp:///vh", "empty host" },
	{ "amqp://user:pw@", "empty host" },
	{ "amqp://user:pw@/vh", "empty host" },
	{ "amqp://:5672", "empty host" },
	{ "amqp://[]", "empty host" },
	{ "amqp://host:0", "port 0 out of range (1..65535)" },
	{ "amqp://host:65536", "port 65536 out of range (1..65535)" },
	{ "amqp://host:70000/vh", "port 70000 out of range (1..65535)" },
	{ "amqp://host:99999999999999999999999",
	  "port 999999999999... out of range (1..65535)" },
	{ "amqp://host:", "empty port" },
	{ "amqp://host:/vh", "empty port" },
	{ "amqp://host:abc", "port is not a number (offset 12)" },
	{ "amqp://host:56x2", "port is not a number (offset 14)" },
	{ "amqp://host:-1", "port is not a number (offset 12)" },
	{ "amqp://[::1", "unterminated IPv6 literal (missing \"]\")" },
	{ "amqp://[::1/vh]", "unterminated IPv6 literal (missing \"]\")" },
	{ "amqp://[::1]x", "unexpected character after IPv6 literal at "
	  "offset 12" },
	{ "amqp://[zz::1]", "invalid character in IPv6 literal at offset 8" },
	{ "amqp://[1:2:3]", "bad IPv6 literal at offset 8" },
	{ "amqp://[127.0.0.1]", "bad IPv6 literal at offset 8" },
	{ "amqp://[fe80::1%eth0]", "bad IPv6 zone at offset 15 (write "
	  "\"%25zone\")" },
	{ "amqp://[fe80::1%25]", "bad IPv6 zone at offset 15 (write "
	  "\"%25zone\")" },
	{ "amqp://[fe80::1%25e/h]", "unterminated IPv6 literal (missing "
	  "\"]\")" },
	{ "amqp://::1/", "IPv6 literal must be in brackets (\"[::1]\")" },
	{ "amqp://ho st/", "control character or space at offset 9" },
	{ "amqp://host/\x01", "control character or space at offset 12" },
	{ "amqp://host\x7f", "control character or space at offset 11" },
	{ "amqp://u:p\tw@host", "control character or space at offset 10" },
	{ " amqp://host", "control character or space at offset 0" },
	{ "amqp://host\n", "control character or space at offset 11" },
	{ "amqp://ho%73t", "invalid character in host at offset 9" },
	{ "amqp://h\xc3\xb6st/", "invalid character in host at offset 8" },
	{ "amqp://ho~st", "invalid character in host at offset 9" },
	{ "amqp://u:p%zz@host", "bad percent escape in password at offset 10" },
	{ "amqp://u:p%2@host", "bad percent escape in password at offset 10" },
	{ "amqp://u%@host", "bad percent escape in user at offset 8" },
	{ "amqp://host/v%", "bad percent escape in vhost at offset 13" },
	{ "amqp://host/v%4", "bad percent escape in vhost at offset 13" },
	{ "amqp://host/v%00", "vhost contains %00 at offset 13" },
	{ "amqp://u%00:p@host", "user contains %00 at offset 8" },
	{ "amqp://u:p%00@host", "password contains %00 at offset 10" },
	{ "amqp://host/a/b", "vhost contains an unencoded \"/\" at offset 13 "
	  "(write it as %2f)" },
	{ "amqp://host//", "vhost contains an unencoded \"/\" at offset 12 "
	  "(write it as %2f)" },
	{ "amqp://host/a/?x=1", "vhost contains an unencoded \"/\" at offset "
	  "13 (write it as %2f)" },
	{ "amqp://u:pa/ss@host/", "\"@\" after the host: percent-encode "
	  "\"@\", \"/\", \"?\" and \"#\" in user and password" },
	{ "amqp://u:pa?ss@host/", "\"@\" after the host: percent-encode "
	  "\"@\", \"/\", \"?\" and \"#\" in user and password" },
	{ "amqp://u:pa#ss@host/", "\"@\" after the host: percent-encode "
	  "\"@\", \"/\", \"?\" and \"#\" in user and password" },
	{ "amqp://host/vh@x", "\"@\" after the host: percent-encode "
	  "\"@\", \"/\", \"?\" and \"#\" in user and password" },
	{ "amqp://host/vh#frag", "fragment (\"#\") not allowed" },
	{ "amqp://:pw@host", "empty user with a password" },
	{ NULL, NULL }
};

static void
test_parse_errors(void)
{
	struct evbus_url	 u;
	char			 err[256];
	int			 i, rv;

	for (i = 0; bad_cases[i].url != NULL; i++) {
		err[0] = '\0';
		rv = evbus_url_parse(bad_cases[i].url, &u, err, sizeof(err));
		cu_checkf(rv == -1 && strcmp(err, bad_cases[i].err) == 0,
		    "\"%s\": expected error \"%s\", got %d \"%s\"",
		    bad_cases[i].url, bad_cases[i].err, rv, err);
	}
	err[0] = '\0';
	CU_ASSERT_EQUAL(evbus_url_parse(NULL, &u, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "empty URL");
	/* No room for a message, or none at all: still just -1. */
	CU_ASSERT_EQUAL(evbus_url_parse("http://x", &u, NULL, 0), -1);
	CU_ASSERT_EQUAL(evbus_url_parse("http://x", &u, err, 1), -1);
	CU_ASSERT_STRING_EQUAL(err, "");
}

/* Messages about a malformed URL never quote its password. */
static void
test_errors_keep_secrets(void)
{
	static const char *const urls[] = {
		"amqp://user:s3cr3t/x@host/",
		"amqp://user:s3cr3t?@host/",
		"amqp://user:s3cr3t#@host/",
		"amqp://user:s3cr3t",
		"amqp://user:s3cr3t/vh",
		"amqp://user:s3cr3t%zz@host",
		"amqp://user:s3cr3t@ho st",
		"amqp://user:s3cr3t@[::1",
		"amqp://user:s3cr3t@host:s3cr3t",
		"amqp://s3cr3t@[zz]",
		"amqp://s3cr3t:s3cr3t@host/a/b",
		"amqp://:s3cr3t@host",
		NULL
	};
	struct evbus_url	 u;
	char			 err[256];
	int			 i, rv;

	for (i = 0; urls[i] != NULL; i++) {
		err[0] = '\0';
		rv = evbus_url_parse(urls[i], &u, err, sizeof(err));
		cu_checkf(rv == -1 && err[0] != '\0' &&
		    strstr(err, "s3cr3t") == NULL,
		    "\"%s\": got %d \"%s\"", urls[i], rv, err);
	}
}

/* Field length limits: 255 bytes after decoding. */
static void
test_lengths(void)
{
	struct evbus_url	 u;
	char			 url[2048], field[1024], err[256];
	int			 rv;

	memset(field, 'a', 255);
	field[255] = '\0';
	snprintf(url, sizeof(url), "amqp://%s:%s@%s/%s", field, field, field,
	    field);
	rv = evbus_url_parse(url, &u, err, sizeof(err));
	cu_checkf(rv == 0 && strlen(u.user) == 255 &&
	    strlen(u.password) == 255 && strlen(u.host) == 255 &&
	    strlen(u.vhost) == 255, "255-byte fields: %d %s", rv, err);

	/* 255 decoded bytes may take 765 encoded ones. */
	memset(field, 0, sizeof(field));
	for (rv = 0; rv < 255; rv++)
		memcpy(field + 3 * rv, "%41", 3);
	snprintf(url, sizeof(url), "amqp://host/%s", field);
	rv = evbus_url_parse(url, &u, err, sizeof(err));
	cu_checkf(rv == 0 && strlen(u.vhost) == 255 && u.vhost[0] == 'A',
	    "255 encoded bytes: %d %s", rv, err);

	memset(field, 'a', 256);
	field[256] = '\0';
	snprintf(url, sizeof(url), "amqp://%s@host", field);
	rv = evbus_url_parse(url, &u, err, sizeof(err));
	cu_checkf(rv == -1 && strcmp(err, "user longer than 255 bytes") == 0,
	    "long user: %d %s", rv, err);
	snprintf(url, sizeof(url), "amqp://u:%s@host", field);
	rv = evbus_url_parse(url, &u, err, sizeof(err));
	cu_checkf(rv == -1 && strcmp(err, "password longer than 255 bytes") ==
	    0, "long password: %d %s", rv, err);
	snprintf(url, sizeof(url), "amqp://%s", field);
	rv = evbus_url_parse(url, &u, err, sizeof(err));
	cu_checkf(rv == -1 && strcmp(err, "host longer than 255 bytes") == 0,
	    "long host: %d %s", rv, err);
	snprintf(url, sizeof(url), "amqp://host/%s", field);
	rv = evbus_url_parse(url, &u, err, sizeof(err));
	cu_checkf(rv == -1 && strcmp(err, "vhost longer than 255 bytes") == 0,
	    "long vhost: %d %s", rv, err);
}

static void
test_mask(void)
{
	static const struct {
		const char	*in;
		const char	*want;
	} cases[] = {
		{ "amqp://user:secret@host:5672/vh",
		  "amqp://***:***@host:5672/vh" },
		{ "amqps://u:p@[::1]:5671/%2f?heartbeat=5",
		  "amqps://***:***@[::1]:5671/%2f?heartbeat=5" },
		{ "amqp://user@host/", "amqp://***:***@host/" },
		{ "amqp://@host/", "amqp://***:***@host/" },
		/* without credentials: unchanged */
		{ "amqp://host:5672/vh", "amqp://host:5672/vh" },
		{ "amqp://host", "amqp://host" },
		{ "amqp://[::1]:5672/%2f", "amqp://[::1]:5672/%2f" },
		{ "amqps://host/vh?heartbeat=10",
		  "amqps://host/vh?heartbeat=10" },
		/* garbage: everything up to the last "@" */
		{ "amqp://user:pa@ss@host/", "amqp://***:***@host/" },
		{ "amqp://user:pa/ss@host/", "amqp://***:***@host/" },
		{ "amqp://user:pa?s#s@host/", "amqp://***:***@host/" },
		{ "user:secret@host", "***:***@host" },
		{ "http://user:secret@host", "http://***:***@host" },
		{ "amqp://u:secret@", "amqp://***:***@" },
		/* "@host" forgotten: what follows ":" may be a password */
		{ "amqp://user:secret", "amqp://***" },
		{ "amqp://user:secret/vh", "amqp://***" },
		{ "amqp://[::1]secret", "amqp://***" },
		{ "amqp://[::1", "amqp://***" },
		{ "garbage", "garbage" },
		{ "", "" },
		/* control characters cannot reach the log */
		{ "amqp://u:p\n@host", "amqp://***:***@host" },
		{ "amqp://host/\x1b[31m", "amqp://host/?[31m" },
		{ NULL, NULL }
	};
	char	 buf[256], tiny[10];
	int	 i;

	for (i = 0; cases[i].in != NULL; i++) {
		memset(buf, 'X', sizeof(buf));
		CU_ASSERT_PTR_EQUAL(evbus_url_mask(cases[i].in, buf,
		    sizeof(buf)), buf);
		cu_checkf(strcmp(buf, cases[i].want) == 0,
		    "\"%s\": expected \"%s\", got \"%s\"", cases[i].in,
		    cases[i].want, buf);
	}
	CU_ASSERT_STRING_EQUAL(evbus_url_mask(NULL, buf, sizeof(buf)), "");
	/* Truncated, never overrun, and the mask comes first. */
	memset(tiny, 'X', sizeof(tiny));
	evbus_url_mask("amqp://user:secret@host", tiny, sizeof(tiny));
	CU_ASSERT_STRING_EQUAL(tiny, "amqp://**");
	CU_ASSERT_PTR_EQUAL(evbus_url_mask("amqp://x", tiny, 0), tiny);
	CU_ASSERT_EQUAL(tiny[0], 'a');
}

/* evbus_mask_secrets: every password in free text, nothing else. */
static void
test_mask_secrets(void)
{
	static const struct {
		const char	*in;
		const char	*want;
	} cases[] = {
		{ "handler: cannot reach amqp://app:s3cret@mq1:5672/prod now",
		  "handler: cannot reach amqp://app:****@mq1:5672/prod now" },
		{ "a amqps://u:p@h/ and https://x:y@z/q b",
		  "a amqps://u:****@h/ and https://x:****@z/q b" },
		{ "no password: amqp://app@mq1:5672/ mail me@example.org",
		  "no password: amqp://app@mq1:5672/ mail me@example.org" },
		{ "port only amqp://mq1:5672/x", "port only amqp://mq1:5672/x" },
		{ "plain text", "plain text" },
		{ "", "" },
		{ "trailing amqp://u:p@", "trailing amqp://u:****@" },
		{ NULL, NULL }
	};
	char	 buf[256], tiny[12];
	int	 i;

	for (i = 0; cases[i].in != NULL; i++) {
		CU_ASSERT_PTR_EQUAL(evbus_mask_secrets(cases[i].in, buf,
		    sizeof(buf)), buf);
		cu_checkf(strcmp(buf, cases[i].want) == 0,
		    "\"%s\": expected \"%s\", got \"%s\"", cases[i].in,
		    cases[i].want, buf);
	}
	/* Truncated, never overrun, and the password never shows. */
	memset(tiny, 'X', sizeof(tiny));
	evbus_mask_secrets("amqp://user:secret@host", tiny, sizeof(tiny));
	CU_ASSERT_EQUAL(strlen(tiny), sizeof(tiny) - 1);
	CU_ASSERT_PTR_NULL(strstr(tiny, "sec"));
}

static void
test_display(void)
{
	static const struct {
		const char	*in;
		const char	*want;
	} cases[] = {
		{ "amqp://guest:guest@localhost:5672/",
		  "amqp://guest@localhost:5672/" },
		{ "amqp://localhost", "amqp://guest@localhost:5672/" },
		{ "amqps://app:secret@broker/prod",
		  "amqps://app@broker:5671/prod" },
		{ "amqps://u%40x:p@[::1]/a%2Fb",
		  "amqps://u%40x@[::1]:5671/a%2Fb" },
		{ "amqp://[fe80::1%25eth0]/",
		  "amqp://guest@[fe80::1%25eth0]:5672/" },
		{ "amqp://h/caf%c3%a9%20x",
		  "amqp://guest@h:5672/caf%C3%A9%20x" },
		{ "amqp://h/%2Fprod", "amqp://guest@h:5672/%2Fprod" },
		{ "amqp://u:p@h:1/~a-b_c.d", "amqp://u@h:1/~a-b_c.d" },
		{ NULL, NULL }
	};
	struct evbus_url	 u, u2;
	char			 buf[256], tiny[12], err[256];
	const char		*p, *at;
	int			 i, rv;

	for (i = 0; cases[i].in != NULL; i++) {
		rv = evbus_url_parse(cases[i].in, &u, err, sizeof(err));
		cu_checkf(rv == 0, "%s: %s", cases[i].in, err);
		if (rv != 0)
			continue;
		CU_ASSERT_PTR_EQUAL(evbus_url_display(&u, buf, sizeof(buf)),
		    buf);
		cu_checkf(strcmp(buf, cases[i].want) == 0,
		    "%s: expected %s, got %s", cases[i].in, cases[i].want, buf);
	}

	/* No password, ever; and the display parses back to the same URL. */
	for (i = 0; ok_cases[i].url != NULL; i++) {
		if (evbus_url_parse(ok_cases[i].url, &u, err, sizeof(err)) != 0)
			continue;
		evbus_url_display(&u, buf, sizeof(buf));
		p = strstr(buf, "://") + 3;
		at = strchr(p, '@');
		cu_checkf(at != NULL && memchr(p, ':', at - p) == NULL,
		    "%s: display %s has a password", ok_cases[i].url, buf);
		rv = evbus_url_parse(buf, &u2, err, sizeof(err));
		cu_checkf(rv == 0 && u2.tls == u.tls &&
		    strcmp(u2.user, u.user) == 0 &&
		    strcmp(u2.host, u.host) == 0 && u2.port == u.port &&
		    strcmp(u2.vhost, u.vhost) == 0 && !u2.has_password,
		    "%s: display %s does not parse back: %s",
		    ok_cases[i].url, buf, rv == 0 ? "fields differ" : err);
	}

	/* Truncated, never overrun. */
	evbus_url_parse("amqp://user:pw@host/vh", &u, err, sizeof(err));
	evbus_url_display(&u, tiny, sizeof(tiny));
	CU_ASSERT_STRING_EQUAL(tiny, "amqp://user");
	CU_ASSERT_PTR_EQUAL(evbus_url_display(&u, tiny, 0), tiny);
}

static const struct cu_test parse_tests[] = {
	{ "valid URLs and their fields", test_parse_ok },
	{ "invalid URLs with a precise reason", test_parse_errors },
	{ "error messages never quote a password", test_errors_keep_secrets },
	{ "255-byte field limits", test_lengths },
	{ NULL, NULL }
};

static const struct cu_test output_tests[] = {
	{ "evbus_url_mask", test_mask },
	{ "evbus_url_display", test_display },
	{ "evbus_mask_secrets", test_mask_secrets },
	{ NULL, NULL }
};

static const struct cu_suite suites[] = {
	{ "url: parse", parse_tests },
	{ "url: mask and display", output_tests },
	{ NULL, NULL }
};

int
main(void)
{
	return cu_run(suites);
}
