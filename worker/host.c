/*
 * host.c: the host API table (struct evbus_host_api) handed to handler
 * plugins, and every service in it: logging with the handler's name and
 * the current event, lookups in the handler's config section, in the
 * current delivery's AMQP headers and in its parsed JSON body, publishing
 * follow-up events, and the worker's identity.
 *
 * Plugins call these with their own mistakes (NULL keys, stale events), so
 * nothing here may abort the worker: bad arguments give -1, allocation
 * failures give -1, never a fatal().  Nothing here uses xmalloc.
 *
 * What a call needs it reads from the worker its host handle names
 * (host->worker): the current delivery, the identity, whether it may
 * publish.  It never calls back into the consume loop (worker.c);
 * publishing goes to wpublish.c.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <libconfig.h>

#include "log.h"
#include "message.h"
#include "worker.h"

/*
 * Copies of string headers (AMQP strings are not NUL-terminated), kept
 * with their delivery until the current delivery changes.  Keyed by the
 * header entry so a handler reading one header a thousand times allocates
 * once.
 */
struct host_copy {
	struct host_copy	*next;
	const void		*key;
	char			 s[];
};

static void	 host_log(struct evbus_host *, enum evbus_log_level,
		    const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));

void
host_set_current(struct worker *w, struct delivery *d)
{
	struct delivery		*old = w->current;
	struct host_copy	*c;

	while (old != NULL && (c = old->copies) != NULL) {
		old->copies = c->next;
		free(c);
	}
	w->current = d;
}

/* The worker behind a host handle, or NULL. */
static struct worker *
host_worker(const struct evbus_host *host)
{
	return host != NULL ? host->worker : NULL;
}

/*
 * The delivery behind an event view; the current one when ev is NULL.
 * host_private is the worker's own (mutable) delivery, const only to
 * plugins.
 */
static struct delivery *
host_delivery(const struct evbus_host *host, const struct evbus_event_view *ev)
{
	struct worker	*w;

	if (ev != NULL)
		return (struct delivery *)ev->host_private;
	return (w = host_worker(host)) != NULL ? w->current : NULL;
}

static const char *
host_name(const struct evbus_host *host)
{
	if (host == NULL || host->plugin == NULL || host->plugin->h == NULL ||
	    host->plugin->h->name == NULL)
		return "?";
	return host->plugin->h->name;
}

/* Copy src into dst, escaping what would break a log line. */
static void
log_escape(char *dst, size_t len, const char *src)
{
	size_t		 o = 0;
	unsigned char	 c;

	for (; *src != '\0' && o + 5 < len; src++) {
		c = (unsigned char)*src;
		if (c == '\n' || c == '\r' || c == '\t') {
			dst[o++] = '\\';
			dst[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c < 0x20 || c == 0x7f)
			o += snprintf(dst + o, len - o, "\\x%02x", c);
		else
			dst[o++] = (char)c;
	}
	dst[o] = '\0';
}

static void
host_log(struct evbus_host *host, enum evbus_log_level level,
    const char *fmt, ...)
{
	const struct delivery	*d = host_delivery(host, NULL);
	char			 raw[1024], msg[2048];
	va_list			 ap;
	int			 pri;

	switch (level) {
	case EVBUS_LOG_DEBUG:
		if (!log_getverbose())
			return;
		pri = LOG_DEBUG;
		break;
	case EVBUS_LOG_WARN:
		pri = LOG_WARNING;
		break;
	case EVBUS_LOG_ERROR:
		pri = LOG_ERR;
		break;
	case EVBUS_LOG_INFO:
	default:
		pri = LOG_INFO;
		break;
	}
	if (fmt == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* Payload text in a message must not forge log lines. */
	log_escape(msg, sizeof(msg), raw);

	if (d == NULL || d->view.event_id == NULL)
		logit(pri, "handler %s: %s", host_name(host), msg);
	else if (d->trace_id[0] == '\0')
		logit(pri, "handler %s: event %s: %s", host_name(host),
		    d->view.event_id, msg);
	else
		logit(pri, "handler %s: event %s trace %s: %s",
		    host_name(host), d->view.event_id, d->trace_id, msg);
}

/* The setting at a dotted path of the handler's section, or NULL. */
static config_setting_t *
host_setting(struct evbus_host *host, const char *key)
{
	if (host == NULL || host->plugin == NULL || host->plugin->conf == NULL)
		return NULL;
	return config_setting_lookup(host->plugin->conf, key);
}

static int
host_config_string(struct evbus_host *host, const char *key,
    const char **out)
{
	config_setting_t	*s;

	if (key == NULL || out == NULL)
		return -1;
	if ((s = host_setting(host, key)) == NULL)
		return 1;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return -1;
	*out = config_setting_get_string(s);
	return 0;
}

static int
host_config_int(struct evbus_host *host, const char *key, int64_t *out)
{
	config_setting_t	*s;

	if (key == NULL || out == NULL)
		return -1;
	if ((s = host_setting(host, key)) == NULL)
		return 1;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		*out = config_setting_get_int(s);
		return 0;
	case CONFIG_TYPE_INT64:
		*out = config_setting_get_int64(s);
		return 0;
	default:
		return -1;
	}
}

static int
host_config_float(struct evbus_host *host, const char *key, double *out)
{
	config_setting_t	*s;

	if (key == NULL || out == NULL)
		return -1;
	if ((s = host_setting(host, key)) == NULL)
		return 1;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_FLOAT:
		*out = config_setting_get_float(s);
		return 0;
	case CONFIG_TYPE_INT:
		*out = config_setting_get_int(s);
		return 0;
	case CONFIG_TYPE_INT64:
		*out = (double)config_setting_get_int64(s);
		return 0;
	default:
		return -1;
	}
}

static int
host_config_bool(struct evbus_host *host, const char *key, bool *out)
{
	config_setting_t	*s;

	if (key == NULL || out == NULL)
		return -1;
	if ((s = host_setting(host, key)) == NULL)
		return 1;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return -1;
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

static int
host_header_string(struct evbus_host *host, const struct evbus_event_view *ev,
    const char *name, const char **out)
{
	struct delivery			*d;
	const amqp_field_value_t	*f;
	struct host_copy		*c;
	size_t				 len;

	if (name == NULL || out == NULL ||
	    (d = host_delivery(host, ev)) == NULL)
		return -1;
	if ((f = evbus_header_get(d->headers, name)) == NULL)
		return 1;
	if (f->kind != AMQP_FIELD_KIND_UTF8)
		return -1;
	len = f->value.bytes.len;
	/* A C string cannot hold it faithfully. */
	if (len > 0 && memchr(f->value.bytes.bytes, '\0', len) != NULL)
		return -1;
	for (c = d->copies; c != NULL; c = c->next)
		if (c->key == f)
			break;
	if (c == NULL) {
		if ((c = malloc(sizeof(*c) + len + 1)) == NULL)
			return -1;
		if (evbus_header_str(d->headers, name, c->s, len + 1) != 0) {
			free(c);
			return -1;
		}
		c->key = f;
		c->next = d->copies;
		d->copies = c;
	}
	*out = c->s;
	return 0;
}

static int
host_header_int(struct evbus_host *host, const struct evbus_event_view *ev,
    const char *name, int64_t *out)
{
	const struct delivery	*d;
	int64_t			 v;
	int			 rc;

	if (name == NULL || out == NULL ||
	    (d = host_delivery(host, ev)) == NULL)
		return -1;
	/* Leave *out untouched unless the header is a valid integer. */
	if ((rc = evbus_header_int(d->headers, name, &v)) == 0)
		*out = v;
	return rc;
}

/*
 * A top-level body value: 0 with *v (its strings at (*s) + off), 1 when
 * absent or null, -1 misuse.
 */
static int
host_field(struct evbus_host *host, const struct evbus_event_view *ev,
    const char *key, const struct pyjson_node **v, const char **s)
{
	const struct delivery	*d;
	long			 i;

	if (key == NULL || (d = host_delivery(host, ev)) == NULL)
		return -1;
	if (d->body == NULL || (i = pyjson_tape_member(d->body, 0, key)) == -1)
		return 1;
	*v = &d->body->node[i];
	*s = d->body->str;
	return (*v)->type == PYJSON_NULL ? 1 : 0;
}

/*
 * An integer from a string the way Python's int(str) reads it: blanks
 * around it, an optional sign, decimal digits with single underscores
 * between them.  Unlike Python, it must fit 64 bits.
 */
static int
parse_int(const char *s, size_t len, int64_t *out)
{
	const char	*end = s + len;
	uint64_t	 mag = 0, lim;
	int		 neg = 0, digits = 0, d;

	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if (s < end && (*s == '+' || *s == '-'))
		neg = *s++ == '-';
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; s < end; s++) {
		if (*s == '_' && digits > 0 && s + 1 < end &&
		    isdigit((unsigned char)s[1]) && s[-1] != '_')
			continue;
		if (!isdigit((unsigned char)*s))
			return -1;
		d = *s - '0';
		if (mag > (lim - d) / 10)
			return -1;
		mag = mag * 10 + d;
		digits++;
	}
	if (digits == 0)
		return -1;
	if (neg)
		*out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN :
		    -(int64_t)mag;
	else
		*out = (int64_t)mag;
	return 0;
}

static int
host_field_string(struct evbus_host *host, const struct evbus_event_view *ev,
    const char *key, const char **out)
{
	const struct pyjson_node *v;
	const char	*strs;
	int		 rc;

	if (out == NULL)
		return -1;
	if ((rc = host_field(host, ev, key, &v, &strs)) != 0)
		return rc;
	/* "\u0000" inside: a C string would silently cut it. */
	if (v->type != PYJSON_STRING || v->nul)
		return -1;
	*out = strs + v->off;
	return 0;
}

static int
host_field_int(struct evbus_host *host, const struct evbus_event_view *ev,
    const char *key, int64_t *out)
{
	const struct pyjson_node *v;
	const char	*strs;
	double		 f;
	int64_t		 i;
	int		 rc;

	if (out == NULL)
		return -1;
	if ((rc = host_field(host, ev, key, &v, &strs)) != 0)
		return rc;
	switch (v->type) {
	case PYJSON_INT:
		*out = v->v.i;
		return 0;
	case PYJSON_DOUBLE:
		/* 3.0 is an integer; 3.5 is not one (no silent truncation). */
		f = v->v.d;
		if (!isfinite(f) || f != trunc(f) ||
		    f < -9223372036854775808.0 || f >= 9223372036854775808.0)
			return -1;
		*out = (int64_t)f;
		return 0;
	case PYJSON_STRING:
		if (parse_int(strs + v->off, v->len, &i) == -1)
			return -1;
		*out = i;
		return 0;
	default:
		/* Also above INT64_MAX (PYJSON_UINT): it does not fit. */
		return -1;
	}
}

static int
host_field_float(struct evbus_host *host, const struct evbus_event_view *ev,
    const char *key, double *out)
{
	const struct pyjson_node *v;
	const char	*strs;
	const char	*s;
	char		*end;
	double		 f;
	int		 rc;

	if (out == NULL)
		return -1;
	if ((rc = host_field(host, ev, key, &v, &strs)) != 0)
		return rc;
	switch (v->type) {
	case PYJSON_DOUBLE:
		*out = v->v.d;
		return 0;
	case PYJSON_INT:
		*out = (double)v->v.i;
		return 0;
	case PYJSON_UINT:
		*out = (double)v->v.u;
		return 0;
	case PYJSON_STRING:
		/* pydantic writes Decimal as a string: "19.99". */
		s = strs + v->off;
		if (v->nul || strpbrk(s, "xX") != NULL)
			return -1;
		errno = 0;
		f = strtod(s, &end);
		while (isspace((unsigned char)*end))
			end++;
		if (end == s || *end != '\0' || errno != 0 || !isfinite(f))
			return -1;
		*out = f;
		return 0;
	default:
		return -1;
	}
}

static int
host_field_bool(struct evbus_host *host, const struct evbus_event_view *ev,
    const char *key, bool *out)
{
	const struct pyjson_node *v;
	const char	*strs;
	int		 rc;

	if (out == NULL)
		return -1;
	if ((rc = host_field(host, ev, key, &v, &strs)) != 0)
		return rc;
	if (v->type != PYJSON_BOOL)
		return -1;
	*out = v->v.b != 0;
	return 0;
}

static int
host_publish(struct evbus_host *host, const struct evbus_event_view *cause,
    const char *json, char *err, size_t errlen)
{
	struct worker	*w = host_worker(host);
	char		 dummy[256];

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	/* Only a worker process publishes, not the supervisor's checks. */
	if (w == NULL || !w->can_publish) {
		snprintf(err, errlen, "publishing is not available here");
		return -1;
	}
	if (json == NULL) {
		snprintf(err, errlen, "publish: no event given");
		return -1;
	}
	if (wpub_event(w, cause, json, err, errlen) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "publish failed");
		return -1;
	}
	return 0;
}

static int
host_worker_index(struct evbus_host *host)
{
	struct worker	*w = host_worker(host);

	return w != NULL ? w->index : -1;
}

static const char *
host_consumer_name(struct evbus_host *host)
{
	struct worker	*w = host_worker(host);

	return w != NULL ? w->consumer_name : "";
}

const struct evbus_host_api worker_host_api = {
	.struct_size = sizeof(struct evbus_host_api),
	.abi_major = EVBUS_HANDLER_ABI_MAJOR,
	.abi_minor = EVBUS_HANDLER_ABI_MINOR,
	.log = host_log,
	.config_string = host_config_string,
	.config_int = host_config_int,
	.config_float = host_config_float,
	.config_bool = host_config_bool,
	.header_string = host_header_string,
	.header_int = host_header_int,
	.field_string = host_field_string,
	.field_int = host_field_int,
	.field_float = host_field_float,
	.field_bool = host_field_bool,
	.publish = host_publish,
	.worker_index = host_worker_index,
	.consumer_name = host_consumer_name,
};
