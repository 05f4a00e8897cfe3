/*
 * pyjson_parse.c: the strict JSON parser, reading texts as Python's
 * json.loads() reads UTF-8 bytes (see pyjson.h for the dialect).
 *
 * Texts are parsed in one pass that checks them (UTF-8, strict RFC 8259
 * tokens, the depth limit) and writes them to a tape: one array of nodes
 * in document order and one buffer of decoded strings, both reused from
 * one text to the next, so a worker parses a body without a heap
 * allocation (json-c's tree cost one per value, two more per object and
 * a copy of every key).  pyjson_parse() turns the tape into the json-c
 * tree its callers know.  json-c's own tokener is lax even in strict mode
 * (NaN, single quotes, raw control characters in strings, "1.", lone
 * surrogates turned into U+FFFD, integers clamped to 64 bits, keys cut at
 * \u0000) and checking its input before and after cost two more passes.
 *
 * It must not know what the text is for: it reports what is wrong and
 * where as a typed error, and callers (the event envelope in event.c) word
 * it for their users.  It must not accept anything the three-pass parser
 * it replaced refused, nor refuse anything it accepted: tests/fuzz/
 * event_ref.h keeps that parser, and the unit tests and the fuzz target
 * compare the two.
 */
#include "config.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pyjson.h"

/*
 * Length of the UTF-8 character at s (s[0] >= 0x80, n > 0 bytes left), or
 * 0 when it is invalid.  Strict as Python's decoder: no overlong forms, no
 * surrogates, nothing above U+10FFFF.
 */
static size_t
utf8_char(const unsigned char *s, size_t n)
{
	size_t		 k, need;
	uint32_t	 cp, min;

	if ((s[0] & 0xe0) == 0xc0) {
		need = 1;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		need = 2;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		need = 3;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n <= need)
		return 0;
	for (k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

size_t
pyjson_utf8_valid_prefix(const unsigned char *s, size_t n)
{
	size_t		 i = 0, k;
	uint64_t	 w;

	while (i < n) {
		if (s[i] < 0x80) {
			/* Texts are mostly ASCII: skip it 8 bytes at a time. */
			i++;
			while (n - i >= 8) {
				memcpy(&w, s + i, 8);
				if (w & UINT64_C(0x8080808080808080))
					break;
				i += 8;
			}
			continue;
		}
		if ((k = utf8_char(s + i, n - i)) == 0)
			return i;
		i += k;
	}
	return n;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The parser's state.  The trees made from its tapes are the ones json-c's
 * tokener built (integers as int64, above INT64_MAX as uint64, doubles
 * keeping their text, the last of repeated keys winning in the first
 * one's place), and it accepts exactly what evbus accepted when it checked
 * json-c's output, odd leading zeros included (see jp_number()).
 */
struct jparse {
	const unsigned char	*s;	/* the text */
	const unsigned char	*p;	/* the next byte */
	const unsigned char	*end;
	struct pyjson_tape	*t;	/* nodes; strings in t->str */
	const unsigned char	*errp;	/* the offending byte */
	const char		*why;	/* NULL: invalid UTF-8 */
	int			 nomem;
};

#define JP_ONES		UINT64_C(0x0101010101010101)
#define JP_HIGHS	UINT64_C(0x8080808080808080)

static int	 jp_value(struct jparse *, int);

static int
jp_fail(struct jparse *jp, const unsigned char *p, const char *why)
{
	jp->errp = p;
	jp->why = why;
	return -1;
}

static int
jp_nomem(struct jparse *jp)
{
	jp->nomem = 1;
	return -1;
}

static const unsigned char *
jp_skip_ws(const unsigned char *p, const unsigned char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' ||
	    *p == '\t'))
		p++;
	return p;
}

/* Room in the tape's strings for n more bytes after the used + o held. */
static int
jp_grow(struct jparse *jp, size_t o, size_t n)
{
	struct pyjson_tape	*t = jp->t;
	char			*nb;
	size_t			 ncap = t->scap > 0 ? t->scap : 256;

	while (ncap - t->used - o < n) {
		if (ncap > SIZE_MAX / 2)
			return jp_nomem(jp);
		ncap *= 2;
	}
	if ((nb = realloc(t->str, ncap)) == NULL)
		return jp_nomem(jp);
	t->str = nb;
	t->scap = ncap;
	return 0;
}

/*
 * Append n bytes to the string being built at str + used, whose length is
 * *o so far.
 */
static inline int
jp_put(struct jparse *jp, size_t *o, const void *src, size_t n)
{
	struct pyjson_tape	*t = jp->t;

	if (t->scap - t->used - *o < n && jp_grow(jp, *o, n) == -1)
		return -1;
	memcpy(t->str + t->used + *o, src, n);
	*o += n;
	return 0;
}

/* A new node of type at the end of the tape: its index, or -1. */
static long
jp_node(struct jparse *jp, int type)
{
	struct pyjson_tape	*t = jp->t;
	struct pyjson_node	*nn;
	size_t			 ncap;

	if (t->n == t->ncap) {
		ncap = t->ncap > 0 ? t->ncap * 2 : 64;
		if (ncap > UINT32_MAX ||
		    (nn = reallocarray(t->node, ncap, sizeof(*nn))) == NULL)
			return jp_nomem(jp);
		t->node = nn;
		t->ncap = ncap;
	}
	nn = &t->node[t->n];
	memset(nn, 0, sizeof(*nn));
	nn->type = (unsigned char)type;
	nn->next = (uint32_t)(t->n + 1);
	return (long)t->n++;
}

/* Keep the o bytes built at str + used (and a NUL) as node i's string. */
static int
jp_keep(struct jparse *jp, long i, size_t o)
{
	struct pyjson_tape	*t = jp->t;

	if (jp_put(jp, &o, "", 1) == -1)
		return -1;
	t->node[i].off = (uint32_t)t->used;
	t->node[i].len = (uint32_t)(o - 1);
	t->used += o;
	return 0;
}

/*
 * Non-zero when one of the 8 bytes in w is '"', '\\', a control character
 * or not ASCII: the bytes a string cannot just be copied over.
 */
static uint64_t
jp_special8(uint64_t w)
{
	uint64_t	 q = w ^ (JP_ONES * '"'), b = w ^ (JP_ONES * '\\');

	/* Borrows only run past a byte that is itself special. */
	return (((q - JP_ONES) & ~q) | ((b - JP_ONES) & ~b) |
	    (w - JP_ONES * 0x20) | w) & JP_HIGHS;
}

/* The 4 hex digits at s, or -1. */
static long
jp_hex4(const unsigned char *s)
{
	long	 v = 0;
	int	 k, h;

	for (k = 0; k < 4; k++) {
		if ((h = hexval(s[k])) < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/*
 * The string whose opening quote is at jp->p, decoded into a new STRING
 * node (its bytes NUL-terminated in the tape's strings).
 */
static int
jp_string(struct jparse *jp)
{
	const unsigned char	*p = jp->p + 1, *end = jp->end, *run = p;
	unsigned char		 c, u[4];
	uint64_t		 w, m;
	size_t			 o = 0, n;
	long			 cp, lo, i;
	int			 nul = 0;

	for (;;) {
		while (end - p >= 8) {
			memcpy(&w, p, sizeof(w));
			if ((m = jp_special8(w)) != 0) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				/* The lowest flag is a special byte. */
				p += __builtin_ctzll(m) >> 3;
#endif
				break;
			}
			p += 8;
		}
		while (p < end && (c = *p) >= 0x20 && c < 0x80 && c != '"' &&
		    c != '\\')
			p++;
		if (p == end)
			return jp_fail(jp, end, "unexpected end of data");
		c = *p;
		if (c == '"')
			break;
		if (c >= 0x80) {
			if ((n = utf8_char(p, end - p)) == 0)
				return jp_fail(jp, p, NULL);
			p += n;
			continue;
		}
		if (c < 0x20)
			return jp_fail(jp, p, "control character in string");

		/* An escape: from here on the string is built in buf. */
		if (jp_put(jp, &o, run, p - run) == -1)
			return -1;
		if (end - p < 2)
			return jp_fail(jp, end, "unexpected end of data");
		n = 1;
		switch (p[1]) {
		case '"':
		case '\\':
		case '/':
			u[0] = p[1];
			break;
		case 'b':
			u[0] = '\b';
			break;
		case 'f':
			u[0] = '\f';
			break;
		case 'n':
			u[0] = '\n';
			break;
		case 'r':
			u[0] = '\r';
			break;
		case 't':
			u[0] = '\t';
			break;
		case 'u':
			if (end - p < 6 || (cp = jp_hex4(p + 2)) < 0)
				return jp_fail(jp, p, "invalid \\u escape in "
				    "string");
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return jp_fail(jp, p, "lone surrogate in \\u "
				    "escape");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - p < 12 || p[6] != '\\' ||
				    p[7] != 'u' || (lo = jp_hex4(p + 8)) <
				    0xdc00 || lo > 0xdfff)
					return jp_fail(jp, p, "lone surrogate "
					    "in \\u escape");
				/*
				 * Also U+1D800..U+1DFFF and the like, which
				 * json-c 0.16 turned into U+FFFD.
				 */
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			}
			if (cp == 0)
				nul = 1;
			if (cp < 0x80)
				u[0] = (unsigned char)cp;
			else if (cp < 0x800) {
				u[0] = 0xc0 | cp >> 6;
				u[1] = 0x80 | (cp & 0x3f);
				n = 2;
			} else if (cp < 0x10000) {
				u[0] = 0xe0 | cp >> 12;
				u[1] = 0x80 | (cp >> 6 & 0x3f);
				u[2] = 0x80 | (cp & 0x3f);
				n = 3;
			} else {
				u[0] = 0xf0 | cp >> 18;
				u[1] = 0x80 | (cp >> 12 & 0x3f);
				u[2] = 0x80 | (cp >> 6 & 0x3f);
				u[3] = 0x80 | (cp & 0x3f);
				n = 4;
			}
			p += 4;
			break;
		default:
			return jp_fail(jp, p, "invalid escape in string");
		}
		if (jp_put(jp, &o, u, n) == -1)
			return -1;
		p += 2;
		run = p;
	}
	if (jp_put(jp, &o, run, p - run) == -1 ||
	    (i = jp_node(jp, PYJSON_STRING)) == -1 || jp_keep(jp, i, o) == -1)
		return -1;
	jp->t->node[i].nul = (unsigned char)nul;
	jp->p = p + 1;
	return 0;
}

/* Parse C-locale numbers whatever locale a plugin may have set. */
static locale_t		 c_locale;
static pthread_once_t	 c_locale_once = PTHREAD_ONCE_INIT;

static void
c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/*
 * The number at jp->p, in strict RFC 8259 syntax.  Leading zeros ("00",
 * "-01", "01.5") are refused as Python's json does, so eventsource-py and
 * evbus agree on them; json-c's tokener took them.  An integer beyond 64
 * bits is refused.
 */
static int
jp_number(struct jparse *jp)
{
	static const char	 u64max[] = "18446744073709551615";
	static const char	 i64min[] = "9223372036854775808";
	const unsigned char	*start = jp->p, *p = jp->p, *end = jp->end;
	const unsigned char	*d;
	uint64_t		 v;
	double			 dv;
	size_t			 nz, nd, o;
	long			 i;
	int			 neg, dbl = 0;

	if ((neg = *p == '-'))
		p++;
	if (neg && end - p >= 8 && memcmp(p, "Infinity", 8) == 0)
		return jp_fail(jp, start, "NaN and Infinity are not allowed");
	if (p == end || !is_digit(*p))
		goto malformed;
	for (nz = 0; p < end && *p == '0'; p++)
		nz++;
	for (d = p; p < end && is_digit(*p); p++)
		;
	nd = p - d;
	if (p < end && *p == '.') {
		if (++p == end || !is_digit(*p))
			goto malformed;
		while (p < end && is_digit(*p))
			p++;
		dbl = 1;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || !is_digit(*p))
			goto malformed;
		while (p < end && is_digit(*p))
			p++;
		dbl = 1;
	}
	if (p < end && (*p == '.' || *p == 'e' || *p == 'E' || *p == '+' ||
	    *p == '-'))
		goto malformed;
	if (nz > 0 && nz + nd > 1)
		return jp_fail(jp, start, "leading zeros are not allowed");
	jp->p = p;

	if (dbl) {
		/* strtod() and json-c want the text NUL-terminated. */
		o = 0;
		if (jp_put(jp, &o, start, p - start) == -1 ||
		    (i = jp_node(jp, PYJSON_DOUBLE)) == -1 ||
		    jp_keep(jp, i, o) == -1)
			return -1;
		pthread_once(&c_locale_once, c_locale_init);
		if (c_locale == (locale_t)0)
			return jp_nomem(jp);
		dv = strtod_l(jp->t->str + jp->t->node[i].off, NULL, c_locale);
		jp->t->node[i].v.d = dv;
		/* Python reads 1e400 as inf; the envelope refuses it. */
		if (!isfinite(dv))
			jp->t->nonfinite = 1;
		return 0;
	}
	if (neg ? nd > 19 || (nd == 19 && memcmp(d, i64min, 19) > 0) :
	    nd > 20 || (nd == 20 && memcmp(d, u64max, 20) > 0))
		return jp_fail(jp, start, "integer out of 64-bit range");
	for (v = 0; d < p; d++)
		v = v * 10 + (*d - '0');
	if ((i = jp_node(jp, !neg && v > INT64_MAX ? PYJSON_UINT :
	    PYJSON_INT)) == -1)
		return -1;
	if (!neg)
		jp->t->node[i].v.u = v;
	else
		jp->t->node[i].v.i = v > INT64_MAX ? INT64_MIN : -(int64_t)v;
	return 0;

malformed:
	return jp_fail(jp, start, "malformed number");
}

/* The literal lit (n bytes) at jp->p; why is the error for another word. */
static int
jp_literal(struct jparse *jp, const char *lit, size_t n, const char *why)
{
	const unsigned char	*p = jp->p;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (p + i == jp->end)
			return jp_fail(jp, jp->end, "unexpected end of data");
		if (p[i] != (unsigned char)lit[i])
			return jp_fail(jp, p + i, why);
	}
	jp->p = p + n;
	return 0;
}

static int
jp_object(struct jparse *jp, int depth)
{
	const unsigned char	*kp;
	long			 obj;

	if ((obj = jp_node(jp, PYJSON_OBJECT)) == -1)
		return -1;
	jp->p = jp_skip_ws(jp->p + 1, jp->end);
	if (jp->p < jp->end && *jp->p == '}')
		goto done;
	for (;;) {
		kp = jp->p;
		if (kp == jp->end)
			return jp_fail(jp, kp, "unexpected end of data");
		if (*kp != '"')
			return jp_fail(jp, kp, *kp == '\'' ?
			    "single-quoted string" :
			    "quoted object property name expected");
		/* The key's node, then its value's. */
		if (jp_string(jp) == -1)
			return -1;
		if (jp->t->node[jp->t->n - 1].nul)
			/* json-c would cut it there. */
			return jp_fail(jp, kp, "\\u0000 in an object key");
		jp->p = jp_skip_ws(jp->p, jp->end);
		if (jp->p == jp->end || *jp->p != ':')
			return jp_fail(jp, jp->p, jp->p == jp->end ?
			    "unexpected end of data" : "object property name "
			    "separator ':' expected");
		jp->p++;
		if (jp_value(jp, depth + 1) == -1)
			return -1;
		jp->p = jp_skip_ws(jp->p, jp->end);
		if (jp->p < jp->end && *jp->p == '}')
			break;
		if (jp->p == jp->end || *jp->p != ',')
			return jp_fail(jp, jp->p, jp->p == jp->end ?
			    "unexpected end of data" : "object value separator "
			    "',' expected");
		jp->p = jp_skip_ws(jp->p + 1, jp->end);
		if (jp->p < jp->end && *jp->p == '}')
			/* A trailing comma. */
			return jp_fail(jp, jp->p, "unexpected character");
	}
done:
	jp->p++;
	jp->t->node[obj].next = (uint32_t)jp->t->n;
	return 0;
}

static int
jp_array(struct jparse *jp, int depth)
{
	long	 arr;

	if ((arr = jp_node(jp, PYJSON_ARRAY)) == -1)
		return -1;
	jp->p = jp_skip_ws(jp->p + 1, jp->end);
	if (jp->p < jp->end && *jp->p == ']')
		goto done;
	for (;;) {
		if (jp_value(jp, depth + 1) == -1)
			return -1;
		jp->p = jp_skip_ws(jp->p, jp->end);
		if (jp->p < jp->end && *jp->p == ']')
			break;
		if (jp->p == jp->end || *jp->p != ',')
			return jp_fail(jp, jp->p, jp->p == jp->end ?
			    "unexpected end of data" : "array value separator "
			    "',' expected");
		jp->p = jp_skip_ws(jp->p + 1, jp->end);
		if (jp->p < jp->end && *jp->p == ']')
			/* A trailing comma. */
			return jp_fail(jp, jp->p, "unexpected character");
	}
done:
	jp->p++;
	jp->t->node[arr].next = (uint32_t)jp->t->n;
	return 0;
}

/*
 * The value at jp->p (after whitespace) onto the tape; depth counts the
 * arrays and objects around it.
 */
static int
jp_value(struct jparse *jp, int depth)
{
	const unsigned char	*p;
	long			 i;

	p = jp->p = jp_skip_ws(jp->p, jp->end);
	if (p == jp->end)
		return jp_fail(jp, p, "unexpected end of data");
	/*
	 * As json-c counted: the text is at depth 0 and every value inside
	 * a container is one deeper, scalars included.  A value at depth 64
	 * is refused, so a container at depth 63 must be empty.
	 */
	if (depth >= PYJSON_MAX_DEPTH)
		return jp_fail(jp, p, "nesting too deep");
	switch (*p) {
	case '{':
		return jp_object(jp, depth);
	case '[':
		return jp_array(jp, depth);
	case '"':
		return jp_string(jp);
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return jp_number(jp);
	case 't':
		if (jp_literal(jp, "true", 4, "boolean expected") == -1)
			return -1;
		break;
	case 'f':
		if (jp_literal(jp, "false", 5, "boolean expected") == -1)
			return -1;
		break;
	case 'n':
		if (jp_literal(jp, "null", 4, "null expected") == -1)
			return -1;
		return jp_node(jp, PYJSON_NULL) == -1 ? -1 : 0;
	case 'T':
	case 'F':
		return jp_fail(jp, p, "boolean expected");
	case 'N':
	case 'I':
		if ((jp->end - p >= 3 && memcmp(p, "NaN", 3) == 0) ||
		    (jp->end - p >= 8 && memcmp(p, "Infinity", 8) == 0))
			return jp_fail(jp, p, "NaN and Infinity are not "
			    "allowed");
		return jp_fail(jp, p, "unexpected character");
	case '\'':
		return jp_fail(jp, p, "single-quoted string");
	default:
		return jp_fail(jp, p, "unexpected character");
	}
	if ((i = jp_node(jp, PYJSON_BOOL)) == -1)
		return -1;
	jp->t->node[i].v.b = *p == 't';
	return 0;
}

int
pyjson_parse_tape(const char *text, size_t len, struct pyjson_tape *t,
    struct pyjson_error *e)
{
	struct jparse		 jp;
	size_t			 off;
	int			 rv;

	t->n = 0;
	t->used = 0;
	t->nonfinite = 0;
	if (text == NULL) {
		text = "";
		len = 0;
	}
	if (len > INT_MAX) {
		e->kind = PYJSON_E_TOO_LARGE;
		e->offset = 0;
		e->why = NULL;
		return -1;
	}
	memset(&jp, 0, sizeof(jp));
	jp.s = jp.p = (const unsigned char *)text;
	jp.end = jp.s + len;
	jp.t = t;
	/* Decoded strings never outgrow the text: one allocation at most. */
	if (t->scap < len + 1 && jp_grow(&jp, 0, len + 1) == -1)
		rv = -1;
	else
		rv = jp_value(&jp, 0);
	if (rv == 0 && (jp.p = jp_skip_ws(jp.p, jp.end)) < jp.end)
		rv = jp_fail(&jp, jp.p, "unexpected character");
	if (rv == 0)
		return 0;
	t->n = 0;
	t->used = 0;
	e->why = NULL;
	if (jp.nomem) {
		e->kind = PYJSON_E_NOMEM;
		e->offset = 0;
	} else if (jp.why == NULL) {
		e->kind = PYJSON_E_UTF8;
		e->offset = (size_t)(jp.errp - jp.s);
	} else if ((off = pyjson_utf8_valid_prefix(jp.s, len)) != len) {
		/* Invalid UTF-8 anywhere is reported first. */
		e->kind = PYJSON_E_UTF8;
		e->offset = off;
	} else {
		e->kind = PYJSON_E_SYNTAX;
		e->offset = (size_t)(jp.errp - jp.s);
		e->why = jp.why;
	}
	return -1;
}

void
pyjson_tape_trim(struct pyjson_tape *t, size_t keep)
{
	if (t->scap > keep) {
		free(t->str);
		t->str = NULL;
		t->scap = 0;
	}
	if (t->ncap * sizeof(*t->node) > keep) {
		free(t->node);
		t->node = NULL;
		t->ncap = 0;
	}
	t->n = 0;
	t->used = 0;
}

void
pyjson_tape_free(struct pyjson_tape *t)
{
	pyjson_tape_trim(t, 0);
}

long
pyjson_tape_member(const struct pyjson_tape *t, size_t obj, const char *key)
{
	const struct pyjson_node	*n = t->node;
	size_t				 k, klen = strlen(key);
	long				 found = -1;

	if (obj >= t->n || n[obj].type != PYJSON_OBJECT)
		return -1;
	/* The last of repeated keys wins, as in json-c's tree. */
	for (k = obj + 1; k < n[obj].next; k = n[k + 1].next)
		if (n[k].len == klen && memcmp(t->str + n[k].off, key,
		    klen) == 0)
			found = (long)k + 1;
	return found;
}

int
pyjson_tape_json(const struct pyjson_tape *t, size_t i,
    struct json_object **out)
{
	const struct pyjson_node	*n = &t->node[i];
	struct json_object		*o, *v;
	size_t				 k;

	*out = NULL;
	switch (n->type) {
	case PYJSON_NULL:
		return 0;
	case PYJSON_BOOL:
		o = json_object_new_boolean(n->v.b);
		break;
	case PYJSON_INT:
		o = json_object_new_int64(n->v.i);
		break;
	case PYJSON_UINT:
		o = json_object_new_uint64(n->v.u);
		break;
	case PYJSON_DOUBLE:
		o = json_object_new_double_s(n->v.d, t->str + n->off);
		break;
	case PYJSON_STRING:
		o = json_object_new_string_len(t->str + n->off, (int)n->len);
		break;
	case PYJSON_ARRAY:
		if ((o = json_object_new_array()) == NULL)
			return -1;
		for (k = i + 1; k < n->next; k = t->node[k].next)
			if (pyjson_tape_json(t, k, &v) == -1 ||
			    json_object_array_add(o, v) != 0) {
				json_object_put(v);
				json_object_put(o);
				return -1;
			}
		/* As json-c's tokener does: parsed arrays rarely grow. */
		json_object_array_shrink(o, 0);
		break;
	case PYJSON_OBJECT:
		if ((o = json_object_new_object()) == NULL)
			return -1;
		/* A repeated key keeps its place and takes the new value. */
		for (k = i + 1; k < n->next; k = t->node[k + 1].next)
			if (pyjson_tape_json(t, k + 1, &v) == -1 ||
			    json_object_object_add(o, t->str + t->node[k].off,
			    v) != 0) {
				json_object_put(v);
				json_object_put(o);
				return -1;
			}
		break;
	default:
		return -1;
	}
	if (o == NULL)
		return -1;
	*out = o;
	return 0;
}

int
pyjson_parse(const char *text, size_t len, struct json_object **out,
    struct pyjson_error *e)
{
	struct pyjson_tape	 t;
	int			 rv;

	*out = NULL;
	memset(&t, 0, sizeof(t));
	if ((rv = pyjson_parse_tape(text, len, &t, e)) == 0 &&
	    (rv = pyjson_tape_json(&t, 0, out)) == -1) {
		e->kind = PYJSON_E_NOMEM;
		e->offset = 0;
		e->why = NULL;
	}
	pyjson_tape_free(&t);
	return rv;
}
