/*
 * fuzz_url.c: libFuzzer target for amqp:// URLs (shared/url.c).
 *
 * The input, as a C string, goes through evbus_url_parse() and
 * evbus_url_mask() (into buffers of every small size, where truncation
 * bugs live).  Properties checked: masking always terminates its output
 * within the buffer and leaves no control character; a URL that parsed
 * with a password masks to exactly the scheme, "***:***" and the rest
 * from the last "@" on; evbus_url_display() of a parsed URL parses back
 * to the same user, host, port and vhost.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_masked(const char *in, const char *out, size_t len)
{
	size_t	 i, n = strnlen(out, len);

	if (n >= len) {
		fprintf(stderr, "mask: output not terminated in %zu bytes\n",
		    len);
		abort();
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) {
			fprintf(stderr, "mask: control character 0x%02x at %zu "
			    "for input \"%s\"\n", (unsigned char)out[i], i, in);
			abort();
		}
}

/*
 * A URL that parsed with a password: the mask is the scheme, "***:***",
 * and everything from the last "@" on (control characters as "?").
 */
static void
check_credentials_masked(const char *in, const char *out)
{
	const char	*sep = strstr(in, "://"), *at = strrchr(in, '@');
	size_t		 n, i;
	char		*want;

	if (sep == NULL || at == NULL || at < sep)
		return;
	n = strlen(in) + 16;
	if ((want = malloc(n)) == NULL)
		return;
	snprintf(want, n, "%.*s***:***%s", (int)(sep + 3 - in), in, at);
	for (i = 0; want[i] != '\0'; i++)
		if ((unsigned char)want[i] < 0x20 || want[i] == 0x7f)
			want[i] = '?';
	if (strcmp(want, out) != 0) {
		fprintf(stderr, "mask: \"%s\" -> \"%s\", expected \"%s\"\n",
		    in, out, want);
		abort();
	}
	free(want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbus_url	 u, v;
	char			*s, *masked, err[256], shown[4 * 1024];
	size_t			 len, biglen;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	biglen = 2 * size + 64;
	if ((masked = malloc(biglen)) == NULL) {
		free(s);
		return 0;
	}
	for (len = 1; len <= 24 && len < biglen; len++) {
		memset(masked, 'Z', len);
		evbus_url_mask(s, masked, len);
		check_masked(s, masked, len);
	}
	evbus_url_mask(s, masked, biglen);
	check_masked(s, masked, biglen);

	memset(&u, 0, sizeof(u));
	err[0] = '\0';
	if (evbus_url_parse(s, &u, err, sizeof(err)) == -1) {
		if (err[0] == '\0') {
			fprintf(stderr, "parse failed without a reason\n");
			abort();
		}
		goto out;
	}
	if (u.port < 1 || u.port > 65535 || u.host[0] == '\0' ||
	    u.vhost[0] == '\0') {
		fprintf(stderr, "parse: port %d host \"%s\" vhost \"%s\"\n",
		    u.port, u.host, u.vhost);
		abort();
	}
	/* With a password, the user info becomes exactly "***:***". */
	if (u.has_password)
		check_credentials_masked(s, masked);
	evbus_url_display(&u, shown, sizeof(shown));
	if (strlen(shown) < sizeof(shown) - 1) {
		memset(&v, 0, sizeof(v));
		if (evbus_url_parse(shown, &v, err, sizeof(err)) == -1) {
			fprintf(stderr, "display \"%s\" of \"%s\" does not "
			    "parse: %s\n", shown, s, err);
			abort();
		}
		if (v.tls != u.tls || v.port != u.port ||
		    strcmp(v.host, u.host) != 0 ||
		    strcmp(v.vhost, u.vhost) != 0 ||
		    (u.has_user && strcmp(v.user, u.user) != 0)) {
			fprintf(stderr, "display \"%s\" of \"%s\" parses to "
			    "something else\n", shown, s);
			abort();
		}
	}
out:
	free(masked);
	free(s);
	return 0;
}
