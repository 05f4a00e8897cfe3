/*
 * jsonline.h: building one JSON line per event, shared by the jsonl and
 * chaos plugins (header-only, so each plugin stays one self-contained
 * .so with nothing but evbus/handler.h and libc).
 */
#ifndef EVBUS_HANDLERS_JSONLINE_H
#define EVBUS_HANDLERS_JSONLINE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evbus/handler.h"

/* A growing line buffer; oom is sticky so callers check once at the end. */
struct line {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	int	 oom;
};

static inline void
line_add(struct line *l, const char *s, size_t n)
{
	size_t	 cap;
	char	*nb;

	if (l->oom)
		return;
	if (l->len + n + 1 > l->cap) {
		cap = l->cap != 0 ? l->cap : 1024;
		while (cap < l->len + n + 1)
			cap *= 2;
		if ((nb = realloc(l->buf, cap)) == NULL) {
			l->oom = 1;
			return;
		}
		l->buf = nb;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

static inline void
line_lit(struct line *l, const char *s)
{
	line_add(l, s, strlen(s));
}

/* s as a JSON string, or null. */
static inline void
line_str(struct line *l, const char *s)
{
	const char	*run;
	char		 esc[8];

	if (s == NULL) {
		line_lit(l, "null");
		return;
	}
	line_lit(l, "\"");
	for (run = s; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x20 && *s != '"' && *s != '\\')
			continue;
		line_add(l, run, (size_t)(s - run));
		switch (*s) {
		case '"':	line_lit(l, "\\\""); break;
		case '\\':	line_lit(l, "\\\\"); break;
		case '\n':	line_lit(l, "\\n"); break;
		case '\r':	line_lit(l, "\\r"); break;
		case '\t':	line_lit(l, "\\t"); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x",
			    (unsigned int)(unsigned char)*s);
			line_lit(l, esc);
			break;
		}
		run = s + 1;
	}
	line_add(l, run, (size_t)(s - run));
	line_lit(l, "\"");
}

static inline void
line_int(struct line *l, long long v)
{
	char	 buf[24];
	int	 n;

	n = snprintf(buf, sizeof(buf), "%lld", v);
	line_add(l, buf, (size_t)n);
}

/*
 * The raw body, embedded as JSON.  Line breaks can only be whitespace
 * between tokens in valid JSON (never raw inside strings), so turning them
 * into spaces keeps the JSON and the one-line-per-event rule.
 */
static inline void
line_body(struct line *l, const char *body, size_t len)
{
	size_t	 i, start;

	if (body == NULL || len == 0) {
		line_lit(l, "null");
		return;
	}
	start = l->len;
	line_add(l, body, len);
	if (l->oom)
		return;
	for (i = start; i < l->len; i++)
		if (l->buf[i] == '\n' || l->buf[i] == '\r')
			l->buf[i] = ' ';
}

/* The line for ev, without its closing brace and newline. */
static inline void
line_event(struct line *l, const struct evbus_host_api *api,
    struct evbus_host *host, const struct evbus_event_view *ev)
{
	line_lit(l, "{\"worker\":");
	line_int(l, api->worker_index(host));
	line_lit(l, ",\"consumer\":");
	line_str(l, api->consumer_name(host));
	line_lit(l, ",\"event_id\":");
	line_str(l, ev->event_id);
	line_lit(l, ",\"event_type\":");
	line_str(l, ev->event_type);
	line_lit(l, ",\"retry_count\":");
	line_int(l, (long long)ev->retry_count);
	line_lit(l, ",\"redelivered\":");
	line_lit(l, ev->redelivered ? "true" : "false");
	line_lit(l, ",\"traceparent\":");
	line_str(l, ev->traceparent);
	line_lit(l, ",\"body\":");
	line_body(l, ev->body, ev->body_len);
}


#endif
