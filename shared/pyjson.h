/*
 * pyjson.h: JSON as Python's json module and pydantic read and write it.
 *
 * The dialect evbus speaks with eventsource-py: strict RFC 8259 in (what
 * Python's json.loads() takes from UTF-8 bytes, minus NaN and Infinity,
 * with integers held to 64 bits and nesting to PYJSON_MAX_DEPTH), and
 * pydantic's model_dump_json() out, byte for byte.  Trees are json-c's.
 * Nothing here knows about events: callers word their own errors.
 *
 *	pyjson_parse.c	the strict one-pass parser, UTF-8 validation
 *	pyjson_write.c	the writer and Python's float formats
 */
#ifndef EVBUS_PYJSON_H
#define EVBUS_PYJSON_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/*
 * How deep arrays and objects nest: a text is at depth 0 and every value
 * inside a container one deeper.  The parser refuses any value at this
 * depth (a container at depth 63 must be empty); the writer refuses a
 * container deeper than it.
 */
#define PYJSON_MAX_DEPTH	64

/* pyjson_parse.c */

/* Why pyjson_parse() refused a text. */
enum pyjson_errkind {
	PYJSON_E_SYNTAX,	/* not strict JSON: offset, why */
	PYJSON_E_UTF8,		/* invalid UTF-8 at offset */
	PYJSON_E_TOO_LARGE,	/* over INT_MAX bytes, json-c's string limit */
	PYJSON_E_NOMEM
};

struct pyjson_error {
	enum pyjson_errkind	 kind;
	size_t			 offset;	/* of the offending byte */
	const char		*why;		/* SYNTAX: a static string,
						   "leading zeros are not
						   allowed" */
};

/*
 * Parse the len bytes at text (not necessarily NUL-terminated; NULL is
 * the empty text) as one JSON value and nothing but whitespace after it.
 * The text must be valid UTF-8 (invalid UTF-8 anywhere is reported before
 * a syntax error, as Python decodes before it parses) and strict JSON: no
 * NaN or Infinity, no single quotes, no raw control characters in
 * strings, no lone surrogates, no leading zeros, integers within 64 bits,
 * no \u0000 in keys.  The tree is the one json-c's tokener builds:
 * integers as int64, above INT64_MAX as uint64, doubles keeping their
 * text, the last of repeated keys winning in the first one's place, JSON
 * null as NULL.
 *
 * Returns 0 with *out holding a new reference (NULL for null), or -1 with
 * *e saying why and *out NULL.
 */
int	 pyjson_parse(const char *text, size_t len, struct json_object **out,
	    struct pyjson_error *e);

/*
 * The same parse onto a tape, without json-c: the values in document
 * order, each container followed by its contents (an object's as key,
 * value, key, value...), the text's root at index 0.  A tape is reused
 * from one text to the next (zero it before its first use): its arrays
 * only grow, so a steady stream of texts costs no allocation.
 */
enum pyjson_type {
	PYJSON_NULL,
	PYJSON_BOOL,
	PYJSON_INT,		/* v.i */
	PYJSON_UINT,		/* v.u, above INT64_MAX */
	PYJSON_DOUBLE,		/* v.d; its text at str + off */
	PYJSON_STRING,		/* len bytes at str + off, NUL-terminated */
	PYJSON_ARRAY,
	PYJSON_OBJECT
};

struct pyjson_node {
	unsigned char	 type;		/* enum pyjson_type */
	unsigned char	 nul;		/* STRING: holds a \u0000 */
	uint32_t	 next;		/* the index after this value */
	uint32_t	 off;
	uint32_t	 len;
	union {
		int64_t	 i;
		uint64_t u;
		double	 d;
		int	 b;
	} v;
};

struct pyjson_tape {
	struct pyjson_node	*node;
	size_t			 n;
	size_t			 ncap;
	char			*str;		/* decoded strings, number texts */
	size_t			 used;
	size_t			 scap;
	int			 nonfinite;	/* a number read as inf (1e400) */
};

/* 0, or -1 with *e as pyjson_parse() says it (the tape is then empty). */
int	 pyjson_parse_tape(const char *text, size_t len, struct pyjson_tape *t,
	    struct pyjson_error *e);
/* Node i's value (and all it holds) as pyjson_parse() would build it. */
int	 pyjson_tape_json(const struct pyjson_tape *t, size_t i,
	    struct json_object **out);
/*
 * The index of key's value in the object at obj (the last of repeated
 * keys, as in json-c's tree), or -1.
 */
long	 pyjson_tape_member(const struct pyjson_tape *t, size_t obj,
	    const char *key);
/* Empty the tape; free its arrays if they hold more than keep bytes. */
void	 pyjson_tape_trim(struct pyjson_tape *t, size_t keep);
void	 pyjson_tape_free(struct pyjson_tape *t);

/*
 * Length of the valid UTF-8 prefix of the n bytes at s: n when all of it
 * is valid.  Strict as Python's decoder: no overlong forms, no surrogates,
 * nothing above U+10FFFF.
 */
size_t	 pyjson_utf8_valid_prefix(const unsigned char *s, size_t n);

/* pyjson_write.c */

/*
 * A growing output buffer, zero-initialised by the caller; p is
 * NUL-terminated once anything was written, and the caller frees it.  oom
 * sticks once an allocation failed.  With a limit, output past it is
 * dropped (error messages quote a prefix).
 */
struct pyjson_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	size_t	 limit;
	int	 oom;
};

/* n raw bytes, or a C string. */
void	 pyjson_put(struct pyjson_buf *b, const void *p, size_t n);
void	 pyjson_puts(struct pyjson_buf *b, const char *s);

/*
 * The n bytes at s as a JSON string, as Python's json.dumps(ensure_ascii=
 * False) and pydantic write it: only '"', '\\' and control characters are
 * escaped.
 */
void	 pyjson_string(struct pyjson_buf *b, const char *s, size_t n);

/*
 * v as compact JSON, as pydantic writes it (doubles in its shortest
 * round-trip form, non-finite ones as null); depth is v's own depth (see
 * PYJSON_MAX_DEPTH).  Returns 0, or -1 when out of memory or nested too
 * deeply.
 */
int	 pyjson_value(struct pyjson_buf *b, struct json_object *v, int depth);

/*
 * v as Python's repr() writes a float ("0.1", "100.0", "1e+16", "1e-05",
 * "nan", "-inf"), for messages that must read like Python's (the writer
 * formats JSON doubles as pydantic does, which differs below 1e-4:
 * "1e-6").  32 bytes always suffice.  Returns buf.
 */
char	*evbus_float_repr(double v, char *buf, size_t len);

#endif
