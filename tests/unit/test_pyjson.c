/*
 * test_pyjson.c: the JSON dialect (shared/pyjson_parse.c and
 * pyjson_write.c): what the strict parser refuses and where, the trees it
 * builds, that it agrees with the three-pass parser it replaced
 * (tests/fuzz/event_ref.h), and what the writer and Python's float repr
 * write.  How event.c words the parser's verdicts is test_event.c's.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

#include "cu.h"
#include "event.h"
#include "pyjson.h"
#include "../fuzz/event_ref.h"

/* A parse case: NULL why with kind SYNTAX means accepted. */
struct parse_case {
	const char		*in;
	size_t			 len;
	enum pyjson_errkind	 kind;
	size_t			 offset;
	const char		*why;
};
#define OK(s)			{ s, sizeof(s) - 1, PYJSON_E_SYNTAX, 0, NULL }
#define BAD(s, o, w)		{ s, sizeof(s) - 1, PYJSON_E_SYNTAX, o, w }
#define BADUTF8(s, o)		{ s, sizeof(s) - 1, PYJSON_E_UTF8, o, "" }

/* The typed verdicts: what is wrong and where, nothing about its use. */
static void
test_parse_errors(void)
{
	static const struct parse_case cases[] = {
		/* any value, not only objects */
		OK("null"), OK(" [1, {\"a\": \"b\"}] \n"), OK("7"),
		OK("\"\\ud83d\\ude00\""),
		BAD("", 0, "unexpected end of data"),
		BAD("01", 0, "leading zeros are not allowed"),
		BAD("[1,]", 3, "unexpected character"),
		BAD("[1] x", 4, "unexpected character"),
		BAD("{\"a\":NaN}", 5, "NaN and Infinity are not allowed"),
		BAD("[18446744073709551616]", 1, "integer out of 64-bit range"),
		BAD("[\"\\udc00\"]", 2, "lone surrogate in \\u escape"),
		BAD("{\"a\\u0000\":1}", 1, "\\u0000 in an object key"),
		BADUTF8("[\"\xc3\"]", 2),
		/* invalid UTF-8 anywhere comes before a syntax error */
		BADUTF8("[1,x] \xff", 6),
		{ NULL, 0, PYJSON_E_SYNTAX, 0, NULL }
	};
	struct pyjson_error	 e;
	struct json_object	*v;
	char			 deep[2 * PYJSON_MAX_DEPTH + 2];
	int			 i, rv;

	for (i = 0; cases[i].in != NULL; i++) {
		memset(&e, 0, sizeof(e));
		v = (struct json_object *)&e;
		rv = pyjson_parse(cases[i].in, cases[i].len, &v, &e);
		if (cases[i].why == NULL) {
			cu_checkf(rv == 0, "%s: refused at %zu: %s",
			    cases[i].in, e.offset, e.why);
			json_object_put(v);
			continue;
		}
		cu_checkf(rv == -1 && v == NULL && e.kind == cases[i].kind &&
		    e.offset == cases[i].offset && (e.kind != PYJSON_E_SYNTAX ||
		    strcmp(e.why, cases[i].why) == 0),
		    "%s: expected %d at %zu (%s), got %d: %d at %zu (%s)",
		    cases[i].in, (int)cases[i].kind, cases[i].offset,
		    cases[i].why, rv, (int)e.kind, e.offset,
		    e.why != NULL ? e.why : "");
	}
	/* NULL is the empty text. */
	rv = pyjson_parse(NULL, 0, &v, &e);
	cu_checkf(rv == -1 && e.kind == PYJSON_E_SYNTAX && e.offset == 0,
	    "NULL: got %d %d at %zu", rv, (int)e.kind, e.offset);

	/* 64 levels are fine, the 65th bracket is refused. */
	memset(deep, '[', PYJSON_MAX_DEPTH);
	memset(deep + PYJSON_MAX_DEPTH, ']', PYJSON_MAX_DEPTH);
	rv = pyjson_parse(deep, 2 * PYJSON_MAX_DEPTH, &v, &e);
	cu_checkf(rv == 0, "depth 64 refused at %zu", e.offset);
	json_object_put(v);
	memset(deep, '[', PYJSON_MAX_DEPTH + 1);
	memset(deep + PYJSON_MAX_DEPTH + 1, ']', PYJSON_MAX_DEPTH + 1);
	rv = pyjson_parse(deep, 2 * PYJSON_MAX_DEPTH + 2, &v, &e);
	cu_checkf(rv == -1 && e.kind == PYJSON_E_SYNTAX &&
	    e.offset == PYJSON_MAX_DEPTH && strcmp(e.why, "nesting too deep") ==
	    0, "depth 65: got %d %d at %zu", rv, (int)e.kind, e.offset);

	/* The UTF-8 check alone. */
	CU_ASSERT_EQUAL(pyjson_utf8_valid_prefix((const unsigned char *)
	    "ab\xc3\xa9\xed\xa0\x80", 7), 4);
	CU_ASSERT_EQUAL(pyjson_utf8_valid_prefix((const unsigned char *)
	    "\xf4\x8f\xbf\xbf", 4), 4);
}

/* Trees written back as pydantic writes them. */
static void
test_write(void)
{
	static const struct {
		const char	*in;
		const char	*want;
	} cases[] = {
		{ "[\"a/b\\/c\", \"\\u0001\\u001B\x7f\\n\\\"\"]",
		  "[\"a/b/c\",\"\\u0001\\u001b\x7f\\n\\\"\"]" },
		{ "{\"\\u00e9\": [true, false, null, [], {}]}",
		  "{\"\xc3\xa9\":[true,false,null,[],{}]}" },
		{ "[1E5, 1.50, 1e-5, 1e-6, -0.0, 1e16, 1e-400]",
		  "[100000.0,1.5,0.00001,1e-6,-0.0,1e+16,0.0]" },
		{ "[18446744073709551615, -9223372036854775808, -0]",
		  "[18446744073709551615,-9223372036854775808,0]" },
		{ "{\"a\": 1, \"b\": 2, \"a\": 3}", "{\"a\":3,\"b\":2}" },
		{ NULL, NULL }
	};
	struct pyjson_buf	 b;
	struct pyjson_error	 e;
	struct json_object	*v, *inner;
	int			 i, rv;

	for (i = 0; cases[i].in != NULL; i++) {
		memset(&b, 0, sizeof(b));
		rv = pyjson_parse(cases[i].in, strlen(cases[i].in), &v, &e);
		CU_ASSERT_EQUAL_FATAL(rv, 0);
		rv = pyjson_value(&b, v, 0);
		cu_checkf(rv == 0 && b.p != NULL &&
		    strcmp(b.p, cases[i].want) == 0,
		    "%s: expected %s, got %d %s", cases[i].in, cases[i].want,
		    rv, b.p != NULL ? b.p : "(nothing)");
		free(b.p);
		json_object_put(v);
	}

	/* Non-finite doubles made in C are null; output stops at a limit. */
	v = json_object_new_array();
	json_object_array_add(v, json_object_new_double(NAN));
	json_object_array_add(v, json_object_new_double(-INFINITY));
	json_object_array_add(v, json_object_new_int(12345));
	memset(&b, 0, sizeof(b));
	CU_ASSERT_EQUAL(pyjson_value(&b, v, 0), 0);
	CU_ASSERT_STRING_EQUAL(b.p, "[null,null,12345]");
	free(b.p);
	memset(&b, 0, sizeof(b));
	b.limit = 13;
	CU_ASSERT_EQUAL(pyjson_value(&b, v, 0), 0);
	CU_ASSERT_STRING_EQUAL(b.p, "[null,null,12");
	free(b.p);
	json_object_put(v);

	/* A container at a depth above the limit is not written. */
	v = json_object_new_array();
	for (i = 0; i < PYJSON_MAX_DEPTH; i++) {
		inner = json_object_new_array();
		json_object_array_add(inner, v);
		v = inner;
	}
	memset(&b, 0, sizeof(b));
	CU_ASSERT_EQUAL(pyjson_value(&b, v, 0), 0);
	free(b.p);
	inner = json_object_new_array();
	json_object_array_add(inner, v);
	memset(&b, 0, sizeof(b));
	CU_ASSERT_EQUAL(pyjson_value(&b, inner, 0), -1);
	CU_ASSERT(b.oom);
	free(b.p);
	json_object_put(inner);

	/* A string with its length: NUL bytes are written escaped. */
	memset(&b, 0, sizeof(b));
	pyjson_string(&b, "a\0b\x01", 4);
	CU_ASSERT_STRING_EQUAL(b.p, "\"a\\u0000b\\u0001\"");
	free(b.p);
}

/*
 * The one-pass parser against the old three-pass one (tests/fuzz/
 * event_ref.h): same verdict, same trees, same bytes out.
 */

/* A text with its length: some hold NUL bytes. */
struct text {
	const char	*s;
	size_t		 len;
};
#define T(s)	{ s, sizeof(s) - 1 }

/* s as a C string literal, shortened, for failure messages. */
static const char *
quoted(const char *s, size_t len, char *buf, size_t size)
{
	size_t	 i, o = 0;
	int	 c;

	for (i = 0; i < len && o + 8 < size; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = (char)c;
		else
			o += snprintf(buf + o, size - o, "\\x%02x", c);
	}
	if (i < len && o + 4 < size)
		o += snprintf(buf + o, size - o, "...");
	buf[o] = '\0';
	return buf;
}

/* Counts of a differential run. */
struct diffrun {
	const char	*what;
	long		 total;
	long		 accepted;
	long		 failed;
};

static void
diff_check(struct diffrun *r, const char *s, size_t len)
{
	char	 why[1024], q[256];
	int	 rv;

	r->total++;
	if ((rv = json_diff(s, len, why, sizeof(why))) >= 0) {
		r->accepted += rv;
		return;
	}
	/* Report the first few in full; the count says the rest. */
	if (++r->failed <= 10)
		cu_failf("%s: \"%s\": %s", r->what, quoted(s, len, q,
		    sizeof(q)), why);
}

static void
diff_done(struct diffrun *r)
{
	cu_checkf(r->failed == 0, "%s: %ld of %ld texts differ", r->what,
	    r->failed, r->total);
	printf("\n    %s: %ld texts (%ld accepted), %ld differ ", r->what,
	    r->total, r->accepted, r->failed);
}

/* The event corpus of the fuzz target, found as test_config finds etc/. */
static char *
corpus_dir(void)
{
	const char	*srcdir = getenv("EVBUS_SRCDIR"), *p;
	char		*path;
	int		 n;

	if (srcdir != NULL && *srcdir != '\0')
		n = asprintf(&path, "%s/tests/fuzz/corpus/event", srcdir);
	else {
		p = strstr(__FILE__, "tests/unit/test_pyjson.c");
		n = asprintf(&path, "%.*stests/fuzz/corpus/event",
		    p != NULL ? (int)(p - __FILE__) : 0, __FILE__);
	}
	return n == -1 ? NULL : path;
}

/* Every file of the corpus; NULL-terminated arrays of texts and lengths. */
static size_t
corpus_load(char ***textsp, size_t **lensp)
{
	struct dirent	*de;
	DIR		*dir;
	FILE		*fp;
	char		*path, *file, **texts = NULL, *buf;
	size_t		*lens = NULL, n = 0, len;

	*textsp = NULL;
	*lensp = NULL;
	if ((path = corpus_dir()) == NULL)
		return 0;
	if ((dir = opendir(path)) == NULL) {
		cu_failf("%s: %s", path, strerror(errno));
		free(path);
		return 0;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&file, "%s/%s", path, de->d_name) == -1)
			break;
		buf = NULL;
		len = 0;
		if ((fp = fopen(file, "rb")) != NULL) {
			char	 chunk[4096];
			size_t	 got;

			while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
				buf = realloc(buf, len + got);
				CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
				memcpy(buf + len, chunk, got);
				len += got;
			}
			fclose(fp);
		}
		free(file);
		if (buf == NULL && len == 0)
			buf = malloc(1);
		texts = reallocarray(texts, n + 1, sizeof(*texts));
		lens = reallocarray(lens, n + 1, sizeof(*lens));
		CU_ASSERT_PTR_NOT_NULL_FATAL(texts);
		CU_ASSERT_PTR_NOT_NULL_FATAL(lens);
		texts[n] = buf;
		lens[n] = len;
		n++;
	}
	closedir(dir);
	free(path);
	*textsp = texts;
	*lensp = lens;
	return n;
}

static void
corpus_free(char **texts, size_t *lens, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	free(lens);
}

static void
test_diff_corpus(void)
{
	struct diffrun	 r = { "corpus", 0, 0, 0 };
	char		**texts;
	size_t		*lens, n, i;

	n = corpus_load(&texts, &lens);
	cu_checkf(n >= 15, "only %zu corpus files", n);
	for (i = 0; i < n; i++)
		diff_check(&r, texts[i], lens[i]);
	diff_done(&r);
	corpus_free(texts, lens, n);
}

/* Values, each tried alone and inside objects and arrays. */
static const struct text edge_values[] = {
	/* numbers */
	T("0"), T("-0"), T("1"), T("-1"), T("7"), T("00"), T("000"),
	T("01"), T("-01"), T("-00"), T("007"), T("-007"), T("0001"),
	T("1."), T(".5"), T("-.5"), T("-"), T("--1"), T("+1"), T("-+1"),
	T("1e5"), T("1E5"), T("1e+5"), T("1E+5"), T("1e-5"), T("1.5e-3"),
	T("1.5E+3"), T("1e"), T("1e+"), T("1e-"), T("1E"), T("1.e5"),
	T("1.5.3"), T("1e5e3"), T("1e5.3"), T("1e5+"), T("1e5-"), T("1.5-"),
	T("1-2"), T("1+2"), T("1x"), T("0x10"), T("1_0"), T("0.0"),
	T("-0.0"), T("0e0"), T("0E-0"), T("-0e-0"), T("00.5"), T("01.5"),
	T("-01.5"), T("00e5"), T("01e5"), T("-00.0"), T("1.50"), T("99.5"),
	T("100.0"), T("0.1"), T("1e16"), T("1e400"), T("-1e400"),
	T("1e-400"), T("2.2250738585072014e-308"), T("4.9e-324"),
	T("1.7976931348623157e308"), T("1.7976931348623159e308"),
	T("123456789012345678901234567890.5"), T("0.1e1"),
	T("1234567890123456789012345678901234567890e-20"),
	T("9223372036854775807"), T("9223372036854775808"),
	T("-9223372036854775807"), T("-9223372036854775808"),
	T("-9223372036854775809"), T("18446744073709551615"),
	T("18446744073709551616"), T("-18446744073709551615"),
	T("99999999999999999999"), T("100000000000000000000"),
	T("123456789012345678901234567890"), T("-0009223372036854775808"),
	T("-0009223372036854775809"), T("-0018446744073709551615"),
	T("-0018446744073709551616"), T("-00099999999999999999999"),
	T("0018446744073709551615"), T("00000000000000000000000"),
	T("-00000000000000000000000"), T("12345678901234567890"),
	T("-1234567890123456789"),
	/* not numbers */
	T("NaN"), T("-NaN"), T("nan"), T("Infinity"), T("-Infinity"),
	T("+Infinity"), T("infinity"), T("-infinity"), T("Inf"), T("-Inf"),
	T("-I"), T("N"), T("I"),
	/* literals */
	T("true"), T("false"), T("null"), T("True"), T("FALSE"), T("Null"),
	T("nul"), T("tru"), T("fals"), T("truex"), T("nulll"), T("t"),
	T("f"), T("n"), T("true1"), T("null\"x\""), T("undefined"),
	/* strings */
	T("\"\""), T("\"a\""), T("\"\\\"\""), T("\"\\\\\""), T("\"\\/\""),
	T("\"a/b\""), T("\"\\b\\f\\n\\r\\t\""), T("\"\\u0000\""),
	T("\"a\\u0000b\""), T("\"\\u0000\\u0000\""), T("\"\\u0041\""),
	T("\"\\u00e9\""), T("\"\\u00E9\""), T("\"\\u20AC\""),
	T("\"\\u0080\""), T("\"\\u07FF\""), T("\"\\u0800\""),
	T("\"\\uFFFF\""), T("\"\\uFFFE\""), T("\"\\uD7FF\""),
	T("\"\\uE000\""), T("\"\\uD83D\\uDE00\""), T("\"\\ud83d\\ude00\""),
	T("\"\\uD800\\uDC00\""), T("\"\\uDBFF\\uDFFF\""),
	T("\"\\uD836\\uDE00\""), T("\"\\udbf7\\udfff\""),
	T("\"\\uD837\\uDC00\\u0041\""), T("\"\\uD836\\uDE00\\n\""),
	T("\"\\uD836\\uDE00\\uDC00\""), T("\"\\uD83D\""),
	T("\"\\uDE00\""), T("\"\\uD83Dx\""), T("\"\\uD83D\\u0041\""),
	T("\"\\uD83D\\uD83D\""), T("\"\\uDE00\\uD83D\""),
	T("\"\\uD83D\\uDE0\""), T("\"\\uD83D\\n\""), T("\"\\uD83D\\\""),
	T("\"\\u12\""), T("\"\\u12G4\""), T("\"\\u\""), T("\"\\x41\""),
	T("\"\\a\""), T("\"\\'\""), T("\"\\U0041\""), T("\"\\0\""),
	T("\"\\"), T("\"a"), T("\""), T("\"\t\""), T("\"\n\""),
	T("\"\r\""), T("\"\x01\""), T("\"\x1f\""), T("\"\x7f\""),
	T("\"a\0b\""), T("\"caf\xc3\xa9\""), T("\"\xc3\""), T("\"\xc3\x28\""),
	T("\"\xc0\xaf\""), T("\"\xe0\x80\xaf\""), T("\"\xed\xa0\x80\""),
	T("\"\xed\x9f\xbf\""), T("\"\xee\x80\x80\""),
	T("\"\xf4\x8f\xbf\xbf\""), T("\"\xf4\x90\x80\x80\""),
	T("\"\xf8\x88\x80\x80\x80\""), T("\"\x80\""), T("\"\xe2\x82\""),
	T("\"\xef\xbb\xbf\""), T("\"\xf0\x9f\x98\x80\""), T("'a'"),
	T("\"a'b\""), T("\"\\u00e9\xc3\xa9\\n\xf0\x9f\x98\x80\""),
	T("\"0123456789abcdef0123456789abcdef0123456789\""),
	T("\"0123456789abcdef0123456789abcdef012345678\\n9\""),
	T("\"xxxxxxx\\\"xxxxxxxxxxxxxxxxx\\\\xxxxxxxxxxxxx\""),
	/* arrays and objects */
	T("{}"), T("[]"), T("[1,2]"), T("[1,]"), T("[,1]"), T("[1 2]"),
	T("[1,,2]"), T("{\"a\":1}"), T("{\"a\":1,}"), T("{,}"),
	T("{\"a\"}"), T("{\"a\":}"), T("{\"a\" 1}"), T("{1:2}"),
	T("{'a':1}"), T("{a:1}"), T("{\"a\":1 \"b\":2}"),
	T("{\"a\"::1}"), T("[[]]"), T("[{}]"), T("{\"a\":{}}"),
	T("{\"a\":{\"b\":[1,{\"c\":null}]}}"), T("["), T("{"), T("]"),
	T("}"), T("[1"), T("{\"a\":1"), T("{\"a\""), T("{\"a\":"),
	T("[1}"), T("{\"a\":1]"), T("{\"a\":1,\"a\":2}"),
	T("{\"a\":1,\"b\":2,\"a\":3}"), T("{\"a\":{\"x\":1},\"a\":[2]}"),
	T("{\"a\":null,\"a\":null}"), T("{\"b\":1,\"a\":2,\"b\":null}"),
	T("{\"\":1}"), T("{\"\":1,\"\":2}"), T("{\"k\\u00e9\":1}"),
	T("{\"k\\\"\":1,\"k\\\"\":2}"), T("{\"\\u0000\":1}"),
	T("{\"a\\u0000\":1}"), T("{\"\\ud83d\\ude00\":1}"),
	T("{\"\\ud83d\":1}"), T("{\"\xff\":1}"), T("{\"\t\":1}"),
	T("{\"\\uD836\\uDE00\":1,\"\\uD836\\uDE01\":2}"),
	T("{\"a\\nb\":{\"c\\td\":[\"e\\\"f\"]}}"), T("[true,false,null]"),
	T("[-0,0,-0.0,0.0]"), T("{\"a\":[1,2,3],\"b\":{\"c\":\"d\"}}"),
	T("[\"\\u0000\",\"\\u0000\"]"), T("{\"x\":\"\\u0000\"}"),
};

/* Where the values go: '@' is replaced by one of them. */
static const char *const edge_contexts[] = {
	"@",
	"{\"v\":@}",
	"[@]",
	"{\"a\":[@,1],\"b\":@}",
	" \t\n\r@\r\n ",
	"{ \"v\" : @ , \"w\" : [ @ ] }",
	"{\"v\":@,\"v\":{\"w\":@}}",
	"{\"\\u00e9\\n\":@}",
};

/* Whole texts. */
static const struct text edge_texts[] = {
	T(""), T(" "), T("\t\n\r "), T("\0"), T("{}\0"), T("{}\0{}"),
	T("{} "), T("{}\n\n"), T(" {}"), T("\xef\xbb\xbf{}"), T("{}\xff"),
	T("{\"a\":1}\x80"), T("{\0}"), T("{\"a\":1\0}"), T("{\"a\"\0:1}"),
	T("{}{}"), T("{} {}"), T("{}]"), T("{}}"), T("{}x"), T("{}\v"),
	T("{\v}"), T("{\f}"), T("\f{}"), T("{\x85}"), T("{\xc2\xa0}"),
	T("{\"a\":x,\"b\":\"\xff\"}"), T("{\"a\":\"\xff\",\"b\":x}"),
	T("{\"a\":1,}\xc3"), T("[\xc3]"), T("{\"a\":\xc3\xa9}"),
	T("{\"a\":\"\\uD800\",\"b\":\"\xed\xa0\x80\"}"),
	T("{\"a\":1}  \xe2\x82"), T("{\"a\":1e5}"), T("{\"a\":[1e5]}"),
	T("{\"a\":1e5,\"b\":-0}"), T("{/*c*/}"), T("{}//"),
	T("{\"a\":1/**/}"), T("{\"a\":[1/2]}"), T("[1]x"), T("1 2"),
	T("\"x\" \"y\""), T("null x"),
	T("{\"event_id\":\"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b\","
	    "\"metadata\":{\"m\":[1,2.5,\"\\u00e9\"]},\"p\":-0}"),
};

/*
 * n levels of arrays and objects, alternating from kind, with inner at
 * the bottom, into buf.
 */
static size_t
deep_text(char *buf, size_t size, int n, int kind, const char *inner)
{
	size_t	 o = 0;
	int	 i;

	for (i = 0; i < n && o + 8 < size; i++)
		o += snprintf(buf + o, size - o, "%s",
		    (i + kind) % 2 ? "[" : "{\"a\":");
	o += snprintf(buf + o, size - o, "%s", inner);
	for (i = n - 1; i >= 0 && o + 2 < size; i--)
		buf[o++] = (i + kind) % 2 ? ']' : '}';
	buf[o] = '\0';
	return o;
}

static void
test_diff_edges(void)
{
	static const char *const inners[] = { "", "1", "[]", "{}", "[1]",
	    "{\"b\":2}", "\"s\"", "[[]]", "x", "[1,]" };
	static const int depths[] = { 1, 2, 62, 63, 64, 65, 66, 100 };
	struct diffrun	 r = { "edge cases", 0, 0, 0 };
	char		 buf[8192];
	const char	*c, *at;
	size_t		 i, j, k, o;

	for (i = 0; i < sizeof(edge_values) / sizeof(edge_values[0]); i++)
		for (j = 0; j < sizeof(edge_contexts) /
		    sizeof(edge_contexts[0]); j++) {
			o = 0;
			for (c = edge_contexts[j]; *c != '\0'; c = at + 1) {
				if ((at = strchr(c, '@')) == NULL)
					at = c + strlen(c);
				memcpy(buf + o, c, at - c);
				o += at - c;
				if (*at == '\0')
					break;
				memcpy(buf + o, edge_values[i].s,
				    edge_values[i].len);
				o += edge_values[i].len;
			}
			diff_check(&r, buf, o);
		}
	for (i = 0; i < sizeof(edge_texts) / sizeof(edge_texts[0]); i++)
		diff_check(&r, edge_texts[i].s, edge_texts[i].len);
	/* Nesting around the limit, from an object or from an array. */
	for (i = 0; i < sizeof(depths) / sizeof(depths[0]); i++)
		for (j = 0; j < 2; j++)
			for (k = 0; k < sizeof(inners) / sizeof(inners[0]);
			    k++) {
				o = deep_text(buf, sizeof(buf), depths[i],
				    (int)j, inners[k]);
				diff_check(&r, buf, o);
			}
	/* Strings longer than the parser's inline scratch buffer. */
	for (i = 500; i < 530; i += 3) {
		o = (size_t)snprintf(buf, sizeof(buf), "{\"");
		for (j = 0; j < i; j++)
			buf[o++] = j % 97 == 0 ? '\\' : 'k';
		memcpy(buf + o, "t\":\"", 4);
		o += 4;
		for (j = 0; j < 2 * i; j++)
			buf[o++] = j % 89 == 5 ? '\\' : 'v';
		memcpy(buf + o, "n\"}", 3);
		o += 3;
		diff_check(&r, buf, o);
	}
	cu_checkf(r.total > 2000, "only %ld edge cases", r.total);
	diff_done(&r);
}

/* xorshift64*: deterministic, so a failure can be replayed. */
static uint64_t
rnd(uint64_t *st)
{
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return *st * UINT64_C(2685821657736338717);
}

/* A random valid-looking JSON text: the mutations mostly break texts. */
struct gen {
	uint64_t	*st;
	char		*buf;
	size_t		 len;
	size_t		 cap;
};

static void
gen_put(struct gen *g, const char *s, size_t n)
{
	if (g->len + n < g->cap) {
		memcpy(g->buf + g->len, s, n);
		g->len += n;
	}
}

static void
gen_ws(struct gen *g)
{
	static const char *const ws[] = { " ", "\n", "\t", "\r\n  " };
	const char		*w;

	if (rnd(g->st) % 4 == 0) {
		w = ws[rnd(g->st) % 4];
		gen_put(g, w, strlen(w));
	}
}

static void
gen_string(struct gen *g, int key)
{
	static const char *const bits[] = { "a", "b", "key", "event_id",
	    "x", "\\n", "\\\"", "\\\\", "\\/", "\\b\\f\\r\\t", "\\u0041",
	    "\\u00e9", "\\u20AC", "\\uD83D\\uDE00", "\\udbff\\udfff",
	    "\\u0000", "\\u001f", "\xc3\xa9", "\xe2\x82\xac",
	    "\\uD836\\uDE00", "\\udbf7\\udc01",
	    "\xf0\x9f\x98\x80", "\x7f", " ", "'", "0123456789abcdef",
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" };
	char	 u[8];
	int	 i, n;

	gen_put(g, "\"", 1);
	n = key ? (int)(rnd(g->st) % 3) : (int)(rnd(g->st) % 6);
	for (i = 0; i < n; i++) {
		if (rnd(g->st) % 8 == 0) {
			/* Any BMP character but a surrogate, escaped. */
			unsigned int cp = (unsigned int)(rnd(g->st) % 0x10000);

			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0x41;
			snprintf(u, sizeof(u), "\\u%04x", cp);
			gen_put(g, u, 6);
		} else {
			const char *b = bits[rnd(g->st) % (sizeof(bits) /
			    sizeof(bits[0]))];

			/* \u0000 ends the key it would be cut at. */
			if (key && strcmp(b, "\\u0000") == 0)
				b = "k";
			gen_put(g, b, strlen(b));
		}
	}
	gen_put(g, "\"", 1);
}

static void
gen_number(struct gen *g)
{
	static const char *const nums[] = { "0", "-0", "00", "-01", "01.5",
	    "-00.0", "1e5", "1E+5", "1.5e-3", "18446744073709551615",
	    "9223372036854775808", "-9223372036854775808", "1e400",
	    "4.9e-324", "0.1", "100.0", "1.50", "-0018446744073709551615" };
	char	 num[64];
	size_t	 o = 0;
	int	 i, n;

	if (rnd(g->st) % 3 == 0) {
		const char *s = nums[rnd(g->st) % (sizeof(nums) /
		    sizeof(nums[0]))];

		gen_put(g, s, strlen(s));
		return;
	}
	if (rnd(g->st) % 2)
		num[o++] = '-';
	n = 1 + (int)(rnd(g->st) % 21);
	num[o++] = (char)('1' + rnd(g->st) % 9);
	for (i = 1; i < n; i++)
		num[o++] = (char)('0' + rnd(g->st) % 10);
	if (rnd(g->st) % 3 == 0) {
		num[o++] = '.';
		for (i = 1 + (int)(rnd(g->st) % 5); i > 0; i--)
			num[o++] = (char)('0' + rnd(g->st) % 10);
	}
	if (rnd(g->st) % 4 == 0) {
		num[o++] = rnd(g->st) % 2 ? 'e' : 'E';
		if (rnd(g->st) % 2)
			num[o++] = rnd(g->st) % 2 ? '+' : '-';
		for (i = 1 + (int)(rnd(g->st) % 3); i > 0; i--)
			num[o++] = (char)('0' + rnd(g->st) % 10);
	}
	gen_put(g, num, o);
}

static void
gen_value(struct gen *g, int depth)
{
	int	 i, n, kind;

	gen_ws(g);
	/* Now and then a chain down to the depth limit and past it. */
	kind = depth == 1 && rnd(g->st) % 64 == 0 ? 7 :
	    (int)(rnd(g->st) % (depth < 4 ? 7 : 5));
	switch (kind) {
	case 0:
		gen_string(g, 0);
		break;
	case 1:
		gen_number(g);
		break;
	case 2:
		gen_put(g, "true", 4);
		break;
	case 3:
		gen_put(g, "null", 4);
		break;
	case 4:
		gen_put(g, "false", 5);
		break;
	case 5:
		gen_put(g, "[", 1);
		n = (int)(rnd(g->st) % 4);
		for (i = 0; i < n; i++) {
			if (i > 0)
				gen_put(g, ",", 1);
			gen_value(g, depth + 1);
		}
		gen_ws(g);
		gen_put(g, "]", 1);
		break;
	case 6:
		gen_put(g, "{", 1);
		n = (int)(rnd(g->st) % 5);
		for (i = 0; i < n; i++) {
			if (i > 0)
				gen_put(g, ",", 1);
			gen_ws(g);
			gen_string(g, 1);
			gen_ws(g);
			gen_put(g, ":", 1);
			gen_value(g, depth + 1);
		}
		gen_ws(g);
		gen_put(g, "}", 1);
		break;
	case 7:
		n = 60 + (int)(rnd(g->st) % 8);
		for (i = 0; i < n; i++)
			gen_put(g, i % 2 ? "[" : "{\"d\":", i % 2 ? 1 : 5);
		gen_number(g);
		for (i = n - 1; i >= 0; i--)
			gen_put(g, i % 2 ? "]" : "}", 1);
		break;
	}
	gen_ws(g);
}

/* A generated object into buf; its length. */
static size_t
gen_text(uint64_t *st, char *buf, size_t cap)
{
	struct gen	 g = { st, buf, 0, cap };
	int		 i, n;

	gen_put(&g, "{", 1);
	n = 1 + (int)(rnd(st) % 6);
	for (i = 0; i < n; i++) {
		if (i > 0)
			gen_put(&g, ",", 1);
		gen_string(&g, 1);
		gen_put(&g, ":", 1);
		gen_value(&g, 1);
	}
	gen_put(&g, "}", 1);
	return g.len;
}

/*
 * Random texts: generated ones, and mutations of the corpus, of some edge
 * cases and of generated texts: bytes replaced (at random or by JSON's own
 * characters), inserted, deleted, repeated, texts cut and spliced.
 * EVBUS_TEST_MUTATIONS sets the count.
 */
static void
test_diff_mutations(void)
{
	static const char	 toks[] = "{}[]\",:\\0123456789-+.eEtrufalsn"
	    " \t\r\n\x7f\x80\xbf\xc3\xa9\xe2\xed\xf0\xf4\xff'NIu/bfx";
	static const char *const chunks[] = { "\\u0000", "\\ud83d",
	    "\\ude00", "\\ud83d\\ude00", "1e5", "-0", "00", "01", ".5",
	    "1.", "18446744073709551616", "-9223372036854775809",
	    "9223372036854775808", "NaN", "true", "null", "\"a\":",
	    "[[[[", "]]]]", "{\"a\":{", "\xc3\xa9", "\xf0\x9f\x98\x80",
	    "\\n", "\\\"", "\"\"", ",", "" };
	struct diffrun	 r = { "mutations", 0, 0, 0 };
	struct timespec	 t0, t1;
	uint64_t	 st = UINT64_C(0x9e3779b97f4a7c15);
	char		**texts, *buf, *env;
	size_t		*lens, n, ns, len, pos, k, m, cap = 16384, i;
	long		 iters = 300000, it;
	int		 nmut;

#ifdef RUNNING_ON_VALGRIND
	if (RUNNING_ON_VALGRIND)
		iters = 20000;
#endif
	if ((env = getenv("EVBUS_TEST_MUTATIONS")) != NULL && *env != '\0')
		iters = strtol(env, NULL, 10);
	n = corpus_load(&texts, &lens);
	CU_ASSERT_FATAL(n > 0);
	/* The edge values in an object join the seeds. */
	ns = n + sizeof(edge_values) / sizeof(edge_values[0]);
	texts = reallocarray(texts, ns, sizeof(*texts));
	lens = reallocarray(lens, ns, sizeof(*lens));
	CU_ASSERT_PTR_NOT_NULL_FATAL(texts);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lens);
	for (i = n; i < ns; i++) {
		texts[i] = malloc(edge_values[i - n].len + 16);
		CU_ASSERT_PTR_NOT_NULL_FATAL(texts[i]);
		memcpy(texts[i], "{\"v\":", 5);
		memcpy(texts[i] + 5, edge_values[i - n].s,
		    edge_values[i - n].len);
		memcpy(texts[i] + 5 + edge_values[i - n].len, "}", 1);
		lens[i] = edge_values[i - n].len + 6;
	}
	buf = malloc(cap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (it = 0; it < iters; it++) {
		/* Half generated, a third of those left intact. */
		if (rnd(&st) % 2) {
			len = gen_text(&st, buf, cap / 2);
			nmut = (int)(rnd(&st) % 3);
		} else {
			k = rnd(&st) % ns;
			len = lens[k];
			memcpy(buf, texts[k], len);
			nmut = 1 + (int)(rnd(&st) % 4);
		}
		for (; nmut > 0; nmut--) {
			pos = len > 0 ? rnd(&st) % (len + 1) : 0;
			switch (rnd(&st) % 8) {
			case 0:		/* any byte */
				if (pos < len)
					buf[pos] = (char)rnd(&st);
				break;
			case 1:		/* a JSON character */
				if (pos < len)
					buf[pos] = toks[rnd(&st) %
					    (sizeof(toks) - 1)];
				break;
			case 2:		/* inserted */
				if (len + 1 >= cap)
					break;
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = toks[rnd(&st) % (sizeof(toks) - 1)];
				len++;
				break;
			case 3:		/* deleted, up to 8 */
				m = 1 + rnd(&st) % 8;
				if (pos + m > len)
					m = len - pos;
				memmove(buf + pos, buf + pos + m,
				    len - pos - m);
				len -= m;
				break;
			case 4:		/* a troublesome chunk */
				i = rnd(&st) % (sizeof(chunks) /
				    sizeof(chunks[0]));
				m = strlen(chunks[i]);
				if (len + m >= cap)
					break;
				memmove(buf + pos + m, buf + pos, len - pos);
				memcpy(buf + pos, chunks[i], m);
				len += m;
				break;
			case 5:		/* cut */
				len = pos;
				break;
			case 6:		/* a piece repeated */
				m = 1 + rnd(&st) % 32;
				if (pos + m > len)
					m = len - pos;
				if (len + m >= cap)
					break;
				memmove(buf + pos + m, buf + pos, len - pos);
				len += m;
				break;
			case 7:		/* the tail of another text */
				i = rnd(&st) % ns;
				m = lens[i] > 0 ? rnd(&st) % lens[i] : 0;
				if (pos + lens[i] - m >= cap)
					break;
				memcpy(buf + pos, texts[i] + m, lens[i] - m);
				len = pos + lens[i] - m;
				break;
			}
		}
		diff_check(&r, buf, len);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	diff_done(&r);
	printf("in %.2f s ", (double)(t1.tv_sec - t0.tv_sec) +
	    (t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(buf);
	corpus_free(texts, lens, ns);
}

/* What the parser builds, checked directly rather than against the old. */
static void
test_parse_tree(void)
{
	static const char in[] = "{\"i\":9223372036854775807,"
	    "\"u\":9223372036854775808,\"n\":-9223372036854775808,"
	    "\"z\":-0,\"d\":1.50,\"e\":1E+5,\"m\":-0.0,\"s\":\"a\\u0000b\","
	    "\"k\":\"\\ud83d\\ude00\",\"b\":[true,false,null],"
	    "\"p\":\"\\uD836\\uDE00\\udbf7\\udfff\",\"i\":7}";
	struct json_object	*obj, *v;
	struct json_object_iterator it;
	const char		*name;
	char			 err[256], *big, *p;
	size_t			 i;

	obj = evbus_json_parse_object(in, sizeof(in) - 1, err, sizeof(err));
	cu_checkf(obj != NULL, "rejected: %s", err);
	if (obj == NULL)
		return;
	/* The repeated "i" keeps the first place and takes the last value. */
	it = json_object_iter_begin(obj);
	CU_ASSERT_STRING_EQUAL(json_object_iter_peek_name(&it), "i");
	CU_ASSERT_EQUAL(json_object_get_int64(json_object_iter_peek_value(
	    &it)), 7);
	CU_ASSERT_EQUAL(json_object_object_length(obj), 11);
	json_object_object_get_ex(obj, "u", &v);
	CU_ASSERT(json_object_is_type(v, json_type_int));
	CU_ASSERT_EQUAL(json_object_get_int64(v), INT64_MAX);
	CU_ASSERT(json_object_get_uint64(v) == UINT64_C(9223372036854775808));
	json_object_object_get_ex(obj, "n", &v);
	CU_ASSERT_EQUAL(json_object_get_int64(v), INT64_MIN);
	json_object_object_get_ex(obj, "z", &v);
	CU_ASSERT(json_object_is_type(v, json_type_int));
	CU_ASSERT_EQUAL(json_object_get_int64(v), 0);
	/* Doubles keep their text for json-c's writer. */
	json_object_object_get_ex(obj, "d", &v);
	CU_ASSERT(json_object_is_type(v, json_type_double));
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(v), "1.50");
	json_object_object_get_ex(obj, "e", &v);
	CU_ASSERT(json_object_get_double(v) == 1e5);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(v), "1E+5");
	/* A negative zero double keeps its text. */
	json_object_object_get_ex(obj, "m", &v);
	CU_ASSERT(json_object_is_type(v, json_type_double));
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(v), "-0.0");
	json_object_object_get_ex(obj, "s", &v);
	CU_ASSERT_EQUAL(json_object_get_string_len(v), 3);
	CU_ASSERT(memcmp(json_object_get_string(v), "a\0b", 4) == 0);
	json_object_object_get_ex(obj, "k", &v);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v),
	    "\xf0\x9f\x98\x80");
	json_object_object_get_ex(obj, "p", &v);
	/* json-c 0.16 made U+FFFD of these; Python decodes them. */
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v),
	    "\xf0\x9d\xa8\x80\xf4\x8d\xbf\xbf");
	json_object_object_get_ex(obj, "b", &v);
	CU_ASSERT_EQUAL(json_object_array_length(v), 3);
	CU_ASSERT_PTR_NULL(json_object_array_get_idx(v, 2));
	json_object_put(obj);

	/*
	 * Escaped keys wait in the scratch buffer while their values, also
	 * escaped and longer than its inline part, are parsed after them.
	 */
	big = malloc(20000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	p = big;
	p += sprintf(p, "{\"");
	for (i = 0; i < 600; i++)
		*p++ = 'k';
	p += sprintf(p, "\\n\":{\"");
	for (i = 0; i < 700; i++)
		*p++ = 'l';
	p += sprintf(p, "\\t\":[\"");
	for (i = 0; i < 3000; i++)
		*p++ = 'v';
	p += sprintf(p, "\\u00e9\"]}}");
	obj = evbus_json_parse_object(big, (size_t)(p - big), err,
	    sizeof(err));
	cu_checkf(obj != NULL, "long escaped strings rejected: %s", err);
	if (obj != NULL) {
		it = json_object_iter_begin(obj);
		name = json_object_iter_peek_name(&it);
		CU_ASSERT_EQUAL(strlen(name), 601);
		CU_ASSERT(name[599] == 'k' && name[600] == '\n');
		v = json_object_iter_peek_value(&it);
		it = json_object_iter_begin(v);
		name = json_object_iter_peek_name(&it);
		CU_ASSERT_EQUAL(strlen(name), 701);
		CU_ASSERT(name[699] == 'l' && name[700] == '\t');
		v = json_object_array_get_idx(json_object_iter_peek_value(&it),
		    0);
		CU_ASSERT_EQUAL(json_object_get_string_len(v), 3002);
		CU_ASSERT_STRING_EQUAL(json_object_get_string(v) + 3000,
		    "\xc3\xa9");
	}
	json_object_put(obj);
	free(big);

	/*
	 * Nothing carries over from a refused body: json-c's reused tokener
	 * kept a high surrogate left pending and put a U+FFFD before the
	 * next body's first \u escape.
	 */
	obj = evbus_json_parse_object("{\"a\":\"\\ud83d\\u", 14, err,
	    sizeof(err));
	CU_ASSERT_PTR_NULL(obj);
	obj = evbus_json_parse_object("{\"v\":\"\\u00e9\"}", 14, err,
	    sizeof(err));
	cu_checkf(obj != NULL && json_object_object_get_ex(obj, "v", &v) &&
	    strcmp(json_object_get_string(v), "\xc3\xa9") == 0,
	    "after a cut surrogate pair: %s", obj != NULL ?
	    json_object_to_json_string(obj) : err);
	json_object_put(obj);
}

static void
test_float_repr(void)
{
	/* Python's repr(), verified with CPython 3.11. */
	static const struct {
		double		 v;
		const char	*want;
	} cases[] = {
		{ 0.0, "0.0" }, { -0.0, "-0.0" }, { 1.0, "1.0" },
		{ 0.1, "0.1" }, { 100.0, "100.0" }, { 99.5, "99.5" },
		{ -1.5, "-1.5" }, { 1e16, "1e+16" },
		{ 1e15, "1000000000000000.0" },
		{ 1.5e16, "1.5e+16" }, { 1e20, "1e+20" }, { 1e-4, "0.0001" },
		{ 1e-5, "1e-05" }, { 2.5e-5, "2.5e-05" }, { 1.5e-7, "1.5e-07" },
		{ 0.000123, "0.000123" }, { 1.2345e-10, "1.2345e-10" },
		{ 5e-324, "5e-324" }, { 1.7976931348623157e308,
		  "1.7976931348623157e+308" }, { 1.0 / 3,
		  "0.3333333333333333" }, { 123456789.125, "123456789.125" },
		{ 1.2345678901234568e+20, "1.2345678901234568e+20" },
		{ NAN, "nan" }, { INFINITY, "inf" }, { -INFINITY, "-inf" },
		{ 0, NULL }
	};
	char	 buf[32], tiny[4];
	int	 i;

	for (i = 0; cases[i].want != NULL; i++) {
		evbus_float_repr(cases[i].v, buf, sizeof(buf));
		cu_checkf(strcmp(buf, cases[i].want) == 0,
		    "%.17g: expected %s, got %s", cases[i].v, cases[i].want,
		    buf);
	}
	CU_ASSERT_STRING_EQUAL(evbus_float_repr(123.5, tiny, sizeof(tiny)),
	    "123");
}

static const struct cu_test dialect_tests[] = {
	{ "typed verdicts: kind, offset, reason", test_parse_errors },
	{ "trees written as pydantic writes them", test_write },
	{ "evbus_float_repr is Python's repr", test_float_repr },
	{ NULL, NULL }
};

static const struct cu_test parser_tests[] = {
	{ "the trees the parser builds", test_parse_tree },
	{ "same as the old parser: fuzz corpus", test_diff_corpus },
	{ "same as the old parser: edge cases", test_diff_edges },
	{ "same as the old parser: random mutations", test_diff_mutations },
	{ NULL, NULL }
};

static const struct cu_suite suites[] = {
	{ "pyjson: dialect", dialect_tests },
	{ "pyjson: the parser against the old one", parser_tests },
	{ NULL, NULL }
};

int
main(void)
{
	return cu_run(suites);
}
