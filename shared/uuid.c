/*
 * uuid.c: UUIDs as text, the way eventsource-py writes them: fresh
 * random UUID4s, and any accepted spelling of a UUID normalised to the
 * lowercase hyphenated form.  It works on text only; it must not decide
 * which fields hold UUIDs or whether they may be null (event.c does).
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "uuid.h"

/* The value of the hex digit c, in either case, or -1. */
static int
hex_digit(int c)
{
	if ((unsigned)(c - '0') < 10)
		return c - '0';
	c |= 0x20;		/* 'A'..'F' to 'a'..'f' (and nothing else) */
	if ((unsigned)(c - 'a') < 6)
		return c - 'a' + 10;
	return -1;
}

void
evbus_uuid4(char buf[EVBUS_UUID_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 b[16];
	size_t			 i, o = 0;

	arc4random_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	for (i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[o++] = '-';
		buf[o++] = hex[b[i] >> 4];
		buf[o++] = hex[b[i] & 0xf];
	}
	buf[o] = '\0';
}

int
evbus_uuid_normalize(const char *s, char out[EVBUS_UUID_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	static const char	 lower[256] = {
		['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3',
		['4'] = '4', ['5'] = '5', ['6'] = '6', ['7'] = '7',
		['8'] = '8', ['9'] = '9', ['-'] = '-',
		['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd',
		['e'] = 'e', ['f'] = 'f',
		['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd',
		['E'] = 'e', ['F'] = 'f',
	};
	size_t			 len, i, o = 0;
	int			 h, bad;

	if (s == NULL)
		return -1;
	len = strnlen(s, 37);
	if (len == 36) {
		/*
		 * The usual form (a worker reads a few per message): the
		 * hyphens stay where they are, the digits go through
		 * lower[], a table lookup per byte with no branch.
		 */
		for (i = 0, bad = 0; i < 36; i++) {
			out[i] = lower[(unsigned char)s[i]];
			bad |= out[i] == '\0' || (out[i] == '-') !=
			    (i == 8 || i == 13 || i == 18 || i == 23);
		}
		out[bad ? 0 : 36] = '\0';
		return bad ? -1 : 0;
	}
	if (len != 32)
		return -1;
	for (i = 0; i < 32; i++) {
		if ((h = hex_digit((unsigned char)s[i])) < 0)
			return -1;
		if (i == 8 || i == 12 || i == 16 || i == 20)
			out[o++] = '-';
		out[o++] = hex[h];
	}
	out[o] = '\0';
	return 0;
}
