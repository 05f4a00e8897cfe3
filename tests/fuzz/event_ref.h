/*
 * event_ref.h: the body parser evbus used before its one-pass parser
 * (shared/pyjson_parse.c), kept verbatim as a reference for differential
 * tests, and the check that compares the two.  Included by
 * tests/unit/test_pyjson.c, tests/fuzz/fuzz_event.c and
 * tests/bench/parse_bench.c; not part of any program.
 *
 * The old parser made three passes: UTF-8 validation of the whole body,
 * json-c's tokener in strict mode, then a token-level re-scan refusing
 * what json-c lets through.  The new one must accept exactly what it
 * accepted, build an indistinguishable tree (types, values, key order,
 * the text kept for doubles) and fail in the same class (invalid UTF-8 at
 * the same offset, invalid JSON, not an object, too large).
 */
#ifndef EVBUS_TEST_EVENT_REF_H
#define EVBUS_TEST_EVENT_REF_H

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "event.h"

#define REF_MAX_DEPTH		64

static int	 ref_error(char *, size_t, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));

static int
ref_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * Length of the valid UTF-8 prefix of s: n when all of s is valid.  Strict
 * as Python's decoder: no overlong forms, no surrogates, nothing above
 * U+10FFFF.
 */
static size_t
ref_utf8_valid_prefix(const unsigned char *s, size_t n)
{
	size_t		 i = 0, k, need;
	uint32_t	 cp, min;

	while (i < n) {
		if (s[i] < 0x80) {
			uint64_t w;

			/* Bodies are mostly ASCII: skip it 8 bytes at a time. */
			i++;
			while (n - i >= 8) {
				memcpy(&w, s + i, 8);
				if (w & UINT64_C(0x8080808080808080))
					break;
				i += 8;
			}
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			need = 1;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			need = 2;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			need = 3;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return i;
		if (n - i <= need)
			return i;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += need + 1;
	}
	return n;
}

static int
ref_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
ref_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The \uXXXX at s (s[0] == '\\'), or -1. */
static long
ref_json_u_escape(const unsigned char *s, size_t n)
{
	long	 cp = 0;
	size_t	 k;
	int	 h;

	if (n < 6 || s[0] != '\\' || s[1] != 'u')
		return -1;
	for (k = 2; k < 6; k++) {
		if ((h = ref_hexval(s[k])) < 0)
			return -1;
		cp = cp << 4 | h;
	}
	return cp;
}

/*
 * The token-level checks json-c leaves out, on a text it already parsed:
 * returns 0, or -1 with *off and *why set.
 */
static int
ref_json_strict_check(const unsigned char *s, size_t n, size_t *off,
    const char **why)
{
	static const char	*const lits[] = { "true", "false", "null" };
	static const char	 u64max[] = "18446744073709551615";
	static const char	 i64min[] = "9223372036854775808";
	size_t			 i = 0, j, start, digits, lit;
	long			 cp, lo;
	int			 neg, nul;

	while (i < n) {
		start = i;
		switch (s[i]) {
		case ' ':
		case '\t':
		case '\n':
		case '\r':
		case '{':
		case '}':
		case '[':
		case ']':
		case ',':
		case ':':
			i++;
			break;
		case '"':
			nul = 0;
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] < 0x20) {
					*off = i;
					*why = "control character in string";
					return -1;
				}
				if (s[i] != '\\')
					continue;
				if (i + 1 < n && s[i + 1] != 'u') {
					i++;
					continue;
				}
				if ((cp = ref_json_u_escape(s + i, n - i)) < 0)
					goto bad;
				if (cp == 0)
					nul = 1;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					lo = ref_json_u_escape(s + i + 6,
					    n - i - 6);
					if (lo < 0xdc00 || lo > 0xdfff)
						goto surrogate;
					i += 6;
				} else if (cp >= 0xdc00 && cp <= 0xdfff)
					goto surrogate;
				i += 5;
			}
			if (i >= n)
				goto bad;
			i++;
			/* json-c cuts keys at the first NUL. */
			for (j = i; nul && j < n; j++) {
				if (s[j] == ':') {
					*off = start;
					*why = "\\u0000 in an object key";
					return -1;
				}
				if (s[j] != ' ' && s[j] != '\t' &&
				    s[j] != '\n' && s[j] != '\r')
					break;
			}
			break;
		case '-':
		case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			neg = s[i] == '-';
			if (neg && i + 1 < n && s[i + 1] == 'I')
				goto nan;
			i += neg;
			if (i >= n || !ref_is_digit(s[i]))
				goto number;
			if (s[i] == '0')
				i++;
			else
				while (i < n && ref_is_digit(s[i]))
					i++;
			/*
			 * Not in the old code: leading zeros ("00", "01.5"),
			 * which json-c took and Python refuses, are now
			 * refused (a deliberate change, see jp_number()).
			 */
			if (s[i - 1] == '0' && i - start - neg == 1 && i < n &&
			    ref_is_digit(s[i])) {
				*off = start;
				*why = "leading zeros are not allowed";
				return -1;
			}
			digits = i - start - neg;
			if (i < n && s[i] == '.') {
				if (++i >= n || !ref_is_digit(s[i]))
					goto number;
				while (i < n && ref_is_digit(s[i]))
					i++;
				digits = 0;
			}
			if (i < n && (s[i] == 'e' || s[i] == 'E')) {
				i++;
				if (i < n && (s[i] == '+' || s[i] == '-'))
					i++;
				if (i >= n || !ref_is_digit(s[i]))
					goto number;
				while (i < n && ref_is_digit(s[i]))
					i++;
				digits = 0;
			}
			/* An integer json-c would clamp to 64 bits. */
			if (digits > 0 && (neg ? (digits > 19 ||
			    (digits == 19 &&
			    memcmp(s + start + 1, i64min, 19) > 0)) :
			    (digits > 20 || (digits == 20 &&
			    memcmp(s + start, u64max, 20) > 0)))) {
				*off = start;
				*why = "integer out of 64-bit range";
				return -1;
			}
			break;
		case 't':
		case 'f':
		case 'n':
			for (lit = 0; lit < 3; lit++)
				if (lits[lit][0] == s[i])
					break;
			j = strlen(lits[lit]);
			if (n - i < j || memcmp(s + i, lits[lit], j) != 0)
				goto bad;
			i += j;
			break;
		case 'N':
		case 'I':
			goto nan;
		case '\'':
			*off = i;
			*why = "single-quoted string";
			return -1;
		default:
			goto bad;
		}
	}
	return 0;
nan:
	*off = start;
	*why = "NaN and Infinity are not allowed";
	return -1;
number:
	*off = start;
	*why = "malformed number";
	return -1;
surrogate:
	*off = i;
	*why = "lone surrogate in \\u escape";
	return -1;
bad:
	*off = i;
	*why = "unexpected character";
	return -1;
}

static __thread json_tokener	*ref_parse_tok;

static struct json_object *
ref_parse_cached(const char *json, size_t len, char *err, size_t errlen)
{
	struct json_tokener	*tok;
	struct json_object	*obj;
	enum json_tokener_error	 jerr;
	const char		*why;
	size_t			 off;

	if (json == NULL)
		len = 0;
	if (len > INT_MAX) {
		ref_error(err, errlen, "body: too large (%zu bytes)", len);
		return NULL;
	}
	if ((off = ref_utf8_valid_prefix((const unsigned char *)json,
	    len)) != len) {
		ref_error(err, errlen, "body: invalid UTF-8 at offset %zu",
		    off);
		return NULL;
	}

	/*
	 * One tokener per thread, reset for each text: allocating a fresh
	 * one (with its 64-level stack) for every message was a measurable
	 * part of a worker's per-message cost.
	 */
	if ((tok = ref_parse_tok) == NULL &&
	    (tok = ref_parse_tok = json_tokener_new_ex(REF_MAX_DEPTH)) == NULL) {
		ref_error(err, errlen, "out of memory");
		return NULL;
	}
	json_tokener_reset(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, len > 0 ? json : "", (int)len);
	jerr = json_tokener_get_error(tok);
	off = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* A top-level number or literal ends only at a delimiter. */
		obj = json_tokener_parse_ex(tok, " ", 1);
		jerr = json_tokener_get_error(tok);
		off = len;
		if (jerr == json_tokener_continue)
			jerr = json_tokener_error_parse_eof;
	}
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		ref_error(err, errlen, "body: invalid JSON at offset %zu: %s",
		    off, json_tokener_error_desc(jerr));
		return NULL;
	}
	/* Also catches what json-c stopped at: a NUL after the value. */
	if (ref_json_strict_check((const unsigned char *)json, len, &off,
	    &why) == -1) {
		json_object_put(obj);
		ref_error(err, errlen, "body: invalid JSON at offset %zu: %s",
		    off, why);
		return NULL;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		ref_error(err, errlen, "body: not a JSON object");
		return NULL;
	}
	return obj;
}


/*
 * The old parser, minus one bug: json_tokener_reset() does not clear the
 * high surrogate a text may leave pending ("\ud83d\u" cut short or
 * followed by a bad escape), so the cached tokener put a U+FFFD before
 * the first \u escape of the next body it accepted.  Dropping the
 * tokener after a failure makes each call see a fresh one, as a
 * comparison needs.
 */
static struct json_object *
ref_json_parse_object(const char *json, size_t len, char *err,
    size_t errlen)
{
	struct json_object	*obj;

	if ((obj = ref_parse_cached(json, len, err, errlen)) == NULL &&
	    ref_parse_tok != NULL) {
		json_tokener_free(ref_parse_tok);
		ref_parse_tok = NULL;
	}
	return obj;
}

/*
 * The other json-c bug the new parser does not copy: json-c 0.16 checks
 * the code point decoded from an escaped surrogate pair for being a
 * surrogate again, so the pairs of U+1D800..U+1DFFF, U+2D800..U+2DFFF and
 * so on (high half ending in 36 or 37 hex) come out as U+FFFD, as do
 * the keys made of them (which then collide).  Python decodes them, and
 * so does the new parser.  To compare trees, the old parser gets a copy
 * of the text with such pairs written as raw UTF-8, which it keeps as is.
 * Returns that copy (malloc'd), or NULL when the text has none.
 */
static char *
ref_raw_pairs(const char *s, size_t len, size_t *newlen)
{
	const unsigned char	*u = (const unsigned char *)s;
	char			*out;
	size_t			 i, o = 0;
	long			 hi, lo, cp;
	int			 instr = 0, found = 0;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; ) {
		if (!instr || u[i] != '\\') {
			if (u[i] == '"')
				instr = !instr;
			out[o++] = (char)u[i++];
			continue;
		}
		if (len - i >= 12 && u[i + 1] == 'u' && u[i + 6] == '\\' &&
		    u[i + 7] == 'u' &&
		    (hi = ref_json_u_escape(u + i, len - i)) >= 0xd800 &&
		    hi <= 0xdbff &&
		    (lo = ref_json_u_escape(u + i + 6, len - i - 6)) >= 0xdc00 &&
		    lo <= 0xdfff && (hi & 0x3e) == 0x36) {
			cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
			out[o++] = (char)(0xf0 | cp >> 18);
			out[o++] = (char)(0x80 | (cp >> 12 & 0x3f));
			out[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
			i += 12;
			found = 1;
			continue;
		}
		out[o++] = (char)u[i++];
		if (i < len)
			out[o++] = (char)u[i++];
	}
	if (!found) {
		free(out);
		return NULL;
	}
	*newlen = o;
	return out;
}

/*
 * What both parsers must agree on when they refuse a text: 1 invalid
 * UTF-8 (the whole message, offset included), 2 invalid JSON (offset and
 * reason may differ: the old one reported json-c's view), 3 not an
 * object, 4 too large; 0 is a message neither should produce.
 */
static int
ref_err_class(const char *err)
{
	if (strncmp(err, "body: invalid UTF-8 at offset ", 30) == 0)
		return 1;
	if (strncmp(err, "body: invalid JSON at offset ", 29) == 0)
		return 2;
	if (strcmp(err, "body: not a JSON object") == 0)
		return 3;
	if (strncmp(err, "body: too large (", 17) == 0)
		return 4;
	return 0;
}

/*
 * a and b are the same tree: types, values (doubles bit for bit and with
 * the same kept text, integers through both 64-bit getters), string
 * bytes and lengths, array order, object keys in the same order.
 */
static int
ref_same_value(struct json_object *a, struct json_object *b)
{
	struct json_object_iterator	 ia, ea, ib, eb;
	double				 da, db;
	size_t				 i, n;

	if (a == NULL || b == NULL)
		return a == b;
	if (json_object_get_type(a) != json_object_get_type(b))
		return 0;
	switch (json_object_get_type(a)) {
	case json_type_null:
		return 1;
	case json_type_boolean:
		return json_object_get_boolean(a) == json_object_get_boolean(b);
	case json_type_int:
		return json_object_get_int64(a) == json_object_get_int64(b) &&
		    json_object_get_uint64(a) == json_object_get_uint64(b);
	case json_type_double:
		da = json_object_get_double(a);
		db = json_object_get_double(b);
		if (memcmp(&da, &db, sizeof(da)) != 0)
			return 0;
		return strcmp(json_object_to_json_string_ext(a,
		    JSON_C_TO_STRING_PLAIN), json_object_to_json_string_ext(b,
		    JSON_C_TO_STRING_PLAIN)) == 0;
	case json_type_string:
		return json_object_get_string_len(a) ==
		    json_object_get_string_len(b) &&
		    memcmp(json_object_get_string(a), json_object_get_string(b),
		    (size_t)json_object_get_string_len(a)) == 0;
	case json_type_array:
		n = json_object_array_length(a);
		if (n != json_object_array_length(b))
			return 0;
		for (i = 0; i < n; i++)
			if (!ref_same_value(json_object_array_get_idx(a, i),
			    json_object_array_get_idx(b, i)))
				return 0;
		return 1;
	case json_type_object:
		if (json_object_object_length(a) !=
		    json_object_object_length(b))
			return 0;
		ia = json_object_iter_begin(a);
		ea = json_object_iter_end(a);
		ib = json_object_iter_begin(b);
		eb = json_object_iter_end(b);
		while (!json_object_iter_equal(&ia, &ea)) {
			if (json_object_iter_equal(&ib, &eb) ||
			    strcmp(json_object_iter_peek_name(&ia),
			    json_object_iter_peek_name(&ib)) != 0 ||
			    !ref_same_value(json_object_iter_peek_value(&ia),
			    json_object_iter_peek_value(&ib)))
				return 0;
			json_object_iter_next(&ia);
			json_object_iter_next(&ib);
		}
		return json_object_iter_equal(&ib, &eb);
	}
	return 0;
}

/* obj through evbus's own serializer (as an event's metadata). */
static char *
ref_serialize(struct json_object *obj)
{
	struct evbus_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.metadata = obj;
	return evbus_event_serialize(&ev, NULL);
}

/*
 * Parse len bytes at s with both parsers.  Returns 1 when both accept it
 * alike, 0 when both refuse it alike, or -1 with why saying how they
 * differ.
 */
static int
json_diff(const char *s, size_t len, char *why, size_t whylen)
{
	struct json_object	*a, *b;
	const char		*pa, *pb;
	char			 ea[512], eb[512], *sa, *sb;
	unsigned long long	 off;
	size_t			 rawlen;
	int			 ca, cb, rv = 1;

	ea[0] = eb[0] = '\0';
	a = evbus_json_parse_object(s, len, ea, sizeof(ea));
	b = ref_json_parse_object(s, len, eb, sizeof(eb));
	if (a == NULL || b == NULL) {
		ca = a == NULL ? ref_err_class(ea) : -1;
		cb = b == NULL ? ref_err_class(eb) : -1;
		rv = 0;
		if (ca <= 0 || ca != cb || (ca == 1 && strcmp(ea, eb) != 0))
			rv = ref_error(why, whylen, "new %s, old %s",
			    a == NULL ? ea : "accepts", b == NULL ? eb :
			    "accepts");
		/* The offset is within the text (at its end for EOF). */
		else if (ca == 2 && (sscanf(ea, "body: invalid JSON at "
		    "offset %llu:", &off) != 1 || off > len))
			rv = ref_error(why, whylen, "bad offset: %s", ea);
		json_object_put(a);
		json_object_put(b);
		return rv;
	}
	/* See ref_raw_pairs(). */
	if ((sa = ref_raw_pairs(s, len, &rawlen)) != NULL) {
		json_object_put(b);
		b = ref_json_parse_object(sa, rawlen, eb, sizeof(eb));
		free(sa);
		if (b == NULL) {
			json_object_put(a);
			return ref_error(why, whylen, "with raw pairs: %s",
			    eb);
		}
	}
	pa = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
	pb = json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN);
	if (!json_object_equal(a, b) || !ref_same_value(a, b))
		rv = ref_error(why, whylen, "different trees: new %.200s, "
		    "old %.200s", pa, pb);
	if (rv == 1 && strcmp(pa, pb) != 0)
		rv = ref_error(why, whylen, "json-c writes new %.200s, old "
		    "%.200s", pa, pb);
	sa = ref_serialize(a);
	sb = ref_serialize(b);
	if (rv == 1 && (sa == NULL || sb == NULL ? sa != sb :
	    strcmp(sa, sb) != 0))
		rv = ref_error(why, whylen, "evbus writes new %.200s, old "
		    "%.200s", sa != NULL ? sa : "(null)", sb != NULL ? sb :
		    "(null)");
	free(sa);
	free(sb);
	json_object_put(a);
	json_object_put(b);
	return rv;
}

#endif
