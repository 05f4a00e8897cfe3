/*
 * expfmt.c: `evbusctl metrics --json`: the Prometheus text exposition
 * format (0.0.4, and the OpenMetrics text evbusd may serve) read into
 * JSON, so that scripts get evbusd's metrics without a Prometheus parser:
 *
 *   {"families":[{"name":..., "type":..., "help":..., "unit":...,
 *     "samples":[{"name":..., "labels":{...}, "value":...}]}]}
 *
 * A sample belongs to the family named by the last HELP/TYPE line when
 * its name is that name or that name plus a suffix (_bucket, _total...);
 * else it starts an untyped family of its own.  Values are JSON numbers,
 * except the non-finite ones, which JSON has no number for: the strings
 * "+Inf", "-Inf" and "NaN".  Lines it cannot read are skipped (the text
 * output is the reference; this is a view of it).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* The family of the last HELP/TYPE line, or of an untyped sample. */
struct family {
	json_object	*o;
	char		 name[256];
};

static const char *const suffixes[] = {
	"_bucket", "_sum", "_count", "_total", "_created", "_info", "_gsum",
	"_gcount", NULL
};

static json_object *
new_family(struct family *f, json_object *list, const char *name, size_t len)
{
	if (len >= sizeof(f->name))
		len = sizeof(f->name) - 1;
	memcpy(f->name, name, len);
	f->name[len] = '\0';
	f->o = json_object_new_object();
	json_object_object_add(f->o, "name", json_object_new_string(f->name));
	json_object_object_add(f->o, "type", json_object_new_string("untyped"));
	json_object_object_add(f->o, "help", NULL);
	json_object_object_add(f->o, "unit", NULL);
	json_object_object_add(f->o, "samples", json_object_new_array());
	json_object_array_add(list, f->o);
	return f->o;
}

/* Is the sample name s[0..len) of family f? */
static int
of_family(const struct family *f, const char *s, size_t len)
{
	size_t	 fl = strlen(f->name), i;

	if (f->o == NULL || len < fl || strncmp(s, f->name, fl) != 0)
		return 0;
	if (len == fl)
		return 1;
	for (i = 0; suffixes[i] != NULL; i++)
		if (len - fl == strlen(suffixes[i]) &&
		    strncmp(s + fl, suffixes[i], len - fl) == 0)
			return 1;
	return 0;
}

/* "# HELP name text", "# TYPE name type", "# UNIT name unit". */
static void
comment(struct family *f, json_object *list, const char *p)
{
	const char	*kw, *name, *rest;
	size_t		 kwl, nl;

	p += 1;
	while (*p == ' ')
		p++;
	kw = p;
	kwl = strcspn(p, " ");
	if (!((kwl == 4 && (strncmp(kw, "HELP", 4) == 0 ||
	    strncmp(kw, "TYPE", 4) == 0 || strncmp(kw, "UNIT", 4) == 0))))
		return;		/* a plain comment, or # EOF */
	p += kwl;
	while (*p == ' ')
		p++;
	name = p;
	nl = strcspn(p, " ");
	rest = p + nl;
	while (*rest == ' ')
		rest++;
	if (f->o == NULL || strlen(f->name) != nl ||
	    strncmp(f->name, name, nl) != 0)
		new_family(f, list, name, nl);
	json_object_object_add(f->o, kw[0] == 'H' ? "help" : kw[0] == 'T' ?
	    "type" : "unit", json_object_new_string(rest));
}

/* A label value's escapes: \\, \" and \n. */
static const char *
label_value(const char *p, char *buf, size_t len)
{
	size_t	 n = 0;

	for (; *p != '\0' && *p != '"'; p++) {
		char	 c = *p;

		if (c == '\\' && p[1] != '\0') {
			p++;
			c = *p == 'n' ? '\n' : *p;
		}
		if (n + 1 < len)
			buf[n++] = c;
	}
	buf[n] = '\0';
	return *p == '"' ? p + 1 : NULL;
}

/* name{l="v",...} value [timestamp] */
static void
sample(struct family *f, json_object *list, const char *p)
{
	json_object	*s, *labels, *samples;
	const char	*name = p, *ln;
	char		 lname[256], lval[1024], *end;
	size_t		 nl, ll;
	double		 v;

	nl = strcspn(p, "{ \t");
	if (nl == 0)
		return;
	p += nl;
	labels = json_object_new_object();
	if (*p == '{') {
		p++;
		for (;;) {
			while (*p == ' ' || *p == ',')
				p++;
			if (*p == '}' || *p == '\0')
				break;
			ln = p;
			ll = strcspn(p, "= ");
			p += ll;
			while (*p == ' ' || *p == '=')
				p++;
			if (*p != '"' || ll >= sizeof(lname) ||
			    (p = label_value(p + 1, lval, sizeof(lval))) ==
			    NULL) {
				json_object_put(labels);
				return;
			}
			memcpy(lname, ln, ll);
			lname[ll] = '\0';
			json_object_object_add(labels, lname,
			    json_object_new_string(lval));
		}
		if (*p == '}')
			p++;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	v = strtod(p, &end);
	if (end == p) {
		json_object_put(labels);
		return;
	}
	if (!of_family(f, name, nl))
		new_family(f, list, name, nl);
	s = json_object_new_object();
	json_object_object_add(s, "name", json_object_new_string_len(name,
	    (int)nl));
	json_object_object_add(s, "labels", labels);
	if (isnan(v))
		json_object_object_add(s, "value", json_object_new_string("NaN"));
	else if (isinf(v))
		json_object_object_add(s, "value", json_object_new_string(
		    v > 0 ? "+Inf" : "-Inf"));
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		json_object_object_add(s, "value",
		    json_object_new_int64((int64_t)v));
	else
		json_object_object_add(s, "value", json_object_new_double(v));
	json_object_object_get_ex(f->o, "samples", &samples);
	json_object_array_add(samples, s);
}

json_object *
ctl_metrics_json(const char *text)
{
	json_object	*o = json_object_new_object();
	json_object	*list = json_object_new_array();
	struct family	 f;
	char		 line[4096];
	const char	*p = text;
	size_t		 n;

	memset(&f, 0, sizeof(f));
	json_object_object_add(o, "families", list);
	while (*p != '\0') {
		n = strcspn(p, "\n");
		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			if (line[0] == '#')
				comment(&f, list, line);
			else if (line[0] != '\0')
				sample(&f, list, line);
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	return o;
}
