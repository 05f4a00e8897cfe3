/*
 * pyjson_write.c: the JSON writer, writing trees byte for byte as
 * pydantic's model_dump_json() does, and Python's float formats.
 *
 * Strings are escaped as pydantic (and Python's json with
 * ensure_ascii=False) does, and doubles are written in pydantic's shortest
 * round-trip format, which is Python's repr() but for the exponent below
 * 1e-4 ("1e-6", not "1e-06"); evbus_float_repr() gives the repr() itself.
 * It writes compact JSON only and checks nothing but the depth limit:
 * whether a tree may be written (UTF-8, NaN) is the caller's business, and
 * nothing here knows what the JSON is for.
 */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pyjson.h"

static char	*float_format(double, int, char *, size_t);

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

void
pyjson_put(struct pyjson_buf *b, const void *p, size_t n)
{
	char	*np;
	size_t	 ncap;

	if (b->oom)
		return;
	if (b->limit > 0 && b->len + n > b->limit) {
		if (b->len >= b->limit)
			return;
		n = b->limit - b->len;
	}
	if (b->cap - b->len <= n) {
		ncap = b->cap ? b->cap : 256;
		while (ncap - b->len <= n) {
			if (ncap > SIZE_MAX / 2) {
				b->oom = 1;
				return;
			}
			ncap *= 2;
		}
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
pyjson_puts(struct pyjson_buf *b, const char *s)
{
	pyjson_put(b, s, strlen(s));
}

/*
 * Only '"', '\\' and control characters are escaped, the usual five by
 * letter, the others as lowercase \u00xx; "/" and DEL stay raw.
 */
void
pyjson_string(struct pyjson_buf *b, const char *s, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	const char		*run = s;
	char			 esc[7];
	unsigned char		 c;
	size_t			 i;

	pyjson_put(b, "\"", 1);
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		pyjson_put(b, run, s + i - run);
		run = s + i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			pyjson_put(b, esc, 6);
			continue;
		}
		pyjson_put(b, esc, 2);
	}
	pyjson_put(b, run, s + n - run);
	pyjson_put(b, "\"", 1);
}

int
pyjson_value(struct pyjson_buf *b, struct json_object *v, int depth)
{
	struct json_object_iterator	 it, end;
	char				 num[40];
	const char			*s;
	size_t				 i, n;
	int64_t				 i64;

	if (depth > PYJSON_MAX_DEPTH && (json_object_is_type(v,
	    json_type_array) || json_object_is_type(v, json_type_object))) {
		b->oom = 1;
		return -1;
	}
	switch (json_object_get_type(v)) {
	case json_type_null:
		pyjson_put(b, "null", 4);
		break;
	case json_type_boolean:
		pyjson_puts(b, json_object_get_boolean(v) ? "true" : "false");
		break;
	case json_type_int:
		/* json-c keeps values above INT64_MAX as uint64. */
		i64 = json_object_get_int64(v);
		if (i64 == INT64_MAX)
			snprintf(num, sizeof(num), "%ju",
			    (uintmax_t)json_object_get_uint64(v));
		else
			snprintf(num, sizeof(num), "%jd", (intmax_t)i64);
		pyjson_puts(b, num);
		break;
	case json_type_double:
		/*
		 * Formatted afresh rather than from the text json-c kept:
		 * "99.5", "1e+20" and "100.0" come out as they came in, and
		 * "1E5" or "1.50" come out as pydantic writes them.
		 */
		pyjson_puts(b, float_format(json_object_get_double(v), 0, num,
		    sizeof(num)));
		break;
	case json_type_string:
		pyjson_string(b, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
		break;
	case json_type_array:
		pyjson_put(b, "[", 1);
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			if (i > 0)
				pyjson_put(b, ",", 1);
			if (pyjson_value(b, json_object_array_get_idx(v, i),
			    depth + 1) == -1)
				return -1;
		}
		pyjson_put(b, "]", 1);
		break;
	case json_type_object:
		pyjson_put(b, "{", 1);
		it = json_object_iter_begin(v);
		end = json_object_iter_end(v);
		for (i = 0; !json_object_iter_equal(&it, &end); i++) {
			if (i > 0)
				pyjson_put(b, ",", 1);
			s = json_object_iter_peek_name(&it);
			pyjson_string(b, s, strlen(s));
			pyjson_put(b, ":", 1);
			if (pyjson_value(b, json_object_iter_peek_value(&it),
			    depth + 1) == -1)
				return -1;
			json_object_iter_next(&it);
		}
		pyjson_put(b, "}", 1);
		break;
	}
	return b->oom ? -1 : 0;
}

/*
 * The shortest decimal that reads back as v, in one of two layouts:
 * Python's repr() (py = 1: positional for exponents -4..15, else "1e-05",
 * "1e+16") or pydantic's JSON (py = 0: positional for exponents -5..15,
 * else "1e-6", "1e+16"; non-finite values are null).
 */
static char *
float_format(double v, int py, char *buf, size_t len)
{
	char	 tmp[40], digits[20], *e;
	int	 prec, exp, nd, decpt, i, neg;
	size_t	 o = 0;

	if (buf == NULL || len == 0)
		return buf;
	if (!isfinite(v)) {
		if (!py)
			snprintf(buf, len, "null");
		else if (isnan(v))
			snprintf(buf, len, "nan");
		else
			snprintf(buf, len, "%s", v < 0 ? "-inf" : "inf");
		return buf;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	if (prec == 17)
		snprintf(tmp, sizeof(tmp), "%.16e", v);
	neg = tmp[0] == '-';
	nd = 0;
	for (e = tmp + neg; *e != 'e'; e++)
		if (is_digit(*e))
			digits[nd++] = *e;
	exp = atoi(e + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	decpt = exp + 1;	/* digits before the decimal point */

#define PUT(c)	do { if (o + 1 < len) buf[o++] = (c); } while (0)
	if (neg)
		PUT('-');
	if (decpt > (py ? -4 : -5) && decpt <= 16) {
		/* Positional, always with a fraction: "100.0", "0.0001". */
		if (decpt <= 0) {
			PUT('0');
			PUT('.');
			for (i = decpt; i < 0; i++)
				PUT('0');
			for (i = 0; i < nd; i++)
				PUT(digits[i]);
		} else {
			for (i = 0; i < decpt; i++)
				PUT(i < nd ? digits[i] : '0');
			PUT('.');
			if (nd > decpt)
				for (i = decpt; i < nd; i++)
					PUT(digits[i]);
			else
				PUT('0');
		}
		buf[o] = '\0';
	} else {
		PUT(digits[0]);
		if (nd > 1) {
			PUT('.');
			for (i = 1; i < nd; i++)
				PUT(digits[i]);
		}
		buf[o] = '\0';
		snprintf(buf + o, len - o, py ? "e%c%02d" : "e%c%d",
		    exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	}
#undef PUT
	return buf;
}

char *
evbus_float_repr(double v, char *buf, size_t len)
{
	return float_format(v, 1, buf, len);
}
