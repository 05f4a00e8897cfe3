/*
 * conf.c: the engine that reads evbusd.conf (libconfig syntax) into
 * struct evbus_config, driven by the table of keys in conf_table.c.
 *
 * It walks the file's settings against the table (so unknown keys are
 * found, with a did-you-mean), checks each value's type and range,
 * fills the struct, then hands over to conf_finish() (conf_check.c) for
 * the derived values and the rules across keys.  Every problem is
 * collected as "file:line: message" and sorted into file order.  It
 * also prints the sample (evbusd -S, etc/evbusd.conf) from the table.
 *
 * What a particular key means belongs in the table; rules that involve
 * more than one key belong in conf_check.c.  Nothing here logs or exits.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "conf_int.h"
#include "suggest.h"
#include "xmalloc.h"

#define CONF_MAX_SIZE	(1024 * 1024)	/* a config file larger is a mistake */
#define CONF_HANDLERS	"handlers"

#define FIELD(cfg, k, t)	((t *)(void *)((char *)(cfg) + (k)->off))

/* Record one problem, prefixed with the file and line of setting s. */
void
conf_errx(struct conf_ctx *ctx, const config_setting_t *s, const char *fmt,
    ...)
{
	struct evbus_conf_errors	*e = ctx->errs;
	char				 msg[1024], *line;
	const char			*file = ctx->name;
	va_list				 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s != NULL && config_setting_source_file(s) != NULL)
		file = config_setting_source_file(s);
	if (s != NULL && config_setting_source_line(s) > 0)
		xasprintf(&line, "%s:%u: %s", file,
		    config_setting_source_line(s), msg);
	else
		xasprintf(&line, "%s: %s", file, msg);
	e->msgs = xreallocarray(e->msgs, e->n + 1, sizeof(*e->msgs));
	e->msgs[e->n++] = line;

	/* Main file first, then included files; by line within each. */
	ctx->where = xreallocarray(ctx->where, ctx->nerr + 1,
	    sizeof(*ctx->where));
	ctx->where[ctx->nerr++] = (file != ctx->name ? 1UL << 31 : 0) |
	    (s != NULL ? config_setting_source_line(s) : 0);
}

/*
 * Put the errors of this load in file order: they are found in two
 * passes (each key, then the checks across keys).  A stable insertion
 * sort; there are few.
 */
static void
conf_sort_errors(struct conf_ctx *ctx)
{
	char		**m, *tm;
	unsigned long	 tw;
	size_t		  i, j;

	/* Nothing to sort; and msgs may be NULL (no arithmetic on it). */
	if (ctx->nerr < 2)
		return;
	m = ctx->errs->msgs + ctx->errs->n - ctx->nerr;
	for (i = 1; i < ctx->nerr; i++) {
		tm = m[i];
		tw = ctx->where[i];
		for (j = i; j > 0 && ctx->where[j - 1] > tw; j--) {
			m[j] = m[j - 1];
			ctx->where[j] = ctx->where[j - 1];
		}
		m[j] = tm;
		ctx->where[j] = tw;
	}
}

static const struct conf_key *
conf_key_find(const char *name, size_t *idx)
{
	size_t	 i;

	for (i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_keys[i].name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return &conf_keys[i];
		}
	return NULL;
}

/* The setting the file gave for key name, or NULL. */
const config_setting_t *
conf_seen(const struct conf_ctx *ctx, const char *name)
{
	size_t	 i;

	if (conf_key_find(name, &i) == NULL)
		return NULL;
	return ctx->seen[i];
}

/* The key a misspelt name most likely meant, or NULL. */
static const char *
conf_suggest(const char *name)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = 3;

	for (i = 0; i < conf_nkeys; i++) {
		d = evbus_name_distance(name, conf_keys[i].name);
		if (d < bestd) {
			bestd = d;
			best = conf_keys[i].name;
		}
	}
	if (best == NULL && evbus_name_distance(name, CONF_HANDLERS) < 3)
		best = CONF_HANDLERS;
	return best;
}

static const char *
setting_type_str(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a floating-point number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	}
	return "something else";
}

static const char *
key_type_str(const struct conf_key *k)
{
	switch (k->type) {
	case CONF_BOOL:
		return "a boolean (true or false)";
	case CONF_INT:
	case CONF_INT64_OPT:
		return "an integer";
	case CONF_FLOAT:
		return "a number";
	case CONF_STRING:
	case CONF_STRING_OPT:
		return "a string";
	case CONF_STRING_LIST:
	case CONF_URL_LIST:
		return "a string or a list of strings";
	case CONF_MODE:
		return "an octal mode string such as \"0660\"";
	}
	return "?";
}

/* The effective upper bound of an integer key. */
static double
key_int_max(const struct conf_key *k)
{
	if (k->type == CONF_INT && !(k->max <= INT_MAX))
		return INT_MAX;
	return k->max;
}

/* "1..65535", ">= 0" or "<= 86400", for messages and the sample. */
static void
key_range_str(const struct conf_key *k, char *buf, size_t len)
{
	double	 max = k->max;

	if (k->min == NOMIN && max == NOMAX)
		buf[0] = '\0';
	else if (max == NOMAX)
		snprintf(buf, len, ">= %.15g", k->min);
	else if (k->min == NOMIN)
		snprintf(buf, len, "<= %.15g", max);
	else
		snprintf(buf, len, "%.15g..%.15g", k->min, max);
}

/*
 * libconfig 1.5 reads an integer without the L suffix with atoi(), so
 * 5000000000 silently becomes 705032704.  When the setting comes from
 * the main file, read the number again from its line.
 */
static int
setting_reread_int(const struct conf_ctx *ctx, const config_setting_t *s,
    long long *v)
{
	const char	*p = ctx->text, *name = config_setting_name(s);
	char		*end;
	unsigned int	 line = config_setting_source_line(s), n;
	size_t		 len;
	long long	 r;
	unsigned long long u;
	int		 neg = 0;

	if (p == NULL || name == NULL || config_setting_source_file(s) != NULL)
		return 0;
	for (n = 1; n < line && p != NULL; n++)
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	if (p == NULL)
		return 0;
	p += strspn(p, " \t");
	len = strlen(name);
	if (strncmp(p, name, len) != 0)
		return 0;
	p += len;
	p += strspn(p, " \t");
	if (*p != '=' && *p != ':')
		return 0;
	p++;
	p += strspn(p, " \t");
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!isdigit((u_char)*p))
		return 0;
	errno = 0;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		u = strtoull(p, &end, 16);
		if (errno == ERANGE || u > LLONG_MAX)
			return -1;
		r = (long long)u;
	} else {
		r = strtoll(p, &end, 10);
		if (errno == ERANGE)
			return -1;
	}
	if (*end == '.' || *end == 'e' || *end == 'E' || *end == 'L')
		return 0;
	*v = neg ? -r : r;
	return 0;
}

/* An integer setting's value; -1 when it does not fit in 64 bits. */
static int
setting_int(const struct conf_ctx *ctx, const config_setting_t *s,
    long long *v)
{
	if (config_setting_type(s) == CONFIG_TYPE_INT64) {
		*v = config_setting_get_int64(s);
		return 0;
	}
	*v = config_setting_get_int(s);
	return setting_reread_int(ctx, s, v);
}

static void
set_string(char **dst, const char *s)
{
	free(*dst);
	*dst = s != NULL ? xstrdup(s) : NULL;
}

/* Drop the binding keys, before new ones or with the config. */
void
conf_free_routing_keys(struct evbus_config *cfg)
{
	size_t	 i;

	for (i = 0; i < cfg->nrouting_keys; i++) {
		free(cfg->routing_keys[i]);
		cfg->routing_keys[i] = NULL;
	}
	cfg->nrouting_keys = 0;
}

/* What a key holding one string or a list of strings accepts. */
struct list_rules {
	size_t		 max;		/* entries */
	size_t		 maxlen;	/* bytes per entry */
	const char	*items;		/* "routing keys" */
	const char	*item;		/* "an AMQP routing key" */
	const char	*empty_hint;	/* what leaving the key out means */
};

/*
 * One string, or an array or list of strings, into v[] (*n entries, the
 * old ones freed first).  Returns 0, or -1 when nothing usable was given.
 */
static int
parse_list(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, const struct list_rules *r, char **v,
    size_t *n)
{
	const config_setting_t	*e;
	const char		*str;
	size_t			 i;
	int			 len, j;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		str = config_setting_get_string(s);
		if (strlen(str) > r->maxlen) {
			conf_errx(ctx, s, "%s: %zu bytes, longer than the %zu "
			    "%s may have", k->name, strlen(str), r->maxlen,
			    r->item);
			return -1;
		}
		for (i = 0; i < *n; i++)
			free(v[i]);
		v[0] = xstrdup(str);
		*n = 1;
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		conf_errx(ctx, s, "%s: expected %s, got %s", k->name,
		    key_type_str(k), setting_type_str(s));
		return -1;
	}
	len = config_setting_length(s);
	if (len == 0) {
		conf_errx(ctx, s, "%s: the list is empty; leave the key out "
		    "for %s", k->name, r->empty_hint);
		return -1;
	}
	if ((size_t)len > r->max) {
		conf_errx(ctx, s, "%s: %d %s, at most %zu allowed", k->name,
		    len, r->items, r->max);
		return -1;
	}
	for (i = 0; i < *n; i++)
		free(v[i]);
	*n = 0;
	for (j = 0; j < len; j++) {
		e = config_setting_get_elem(s, j);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			conf_errx(ctx, e, "%s[%d]: expected a string, got %s",
			    k->name, j, setting_type_str(e));
			continue;
		}
		str = config_setting_get_string(e);
		if (strlen(str) > r->maxlen) {
			conf_errx(ctx, e, "%s[%d]: %zu bytes, longer than the "
			    "%zu %s may have", k->name, j, strlen(str),
			    r->maxlen, r->item);
			continue;
		}
		v[(*n)++] = xstrdup(str);
	}
	return 0;
}

/* routing_key_pattern: one string, or an array or list of strings. */
static void
parse_routing_keys(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, struct evbus_config *cfg)
{
	static const struct list_rules rules = { EVBUS_MAX_ROUTING_KEYS,
	    EVBUS_NAME_MAX, "routing keys", "an AMQP routing key",
	    "the default binding" };

	if (parse_list(ctx, k, s, &rules, cfg->routing_keys,
	    &cfg->nrouting_keys) == 0)
		cfg->routing_key_set = 1;
}

/*
 * rabbitmq_url: one URL, or a list of the URLs of one cluster's nodes.
 * rabbitmq_url keeps the first (as written) for messages.
 */
static void
parse_urls(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, struct evbus_config *cfg)
{
	static const struct list_rules rules = { EVBUS_MAX_URLS,
	    EVBUS_URL_MAX, "URLs", "a broker URL", "the default broker" };

	size_t	 i;

	if (parse_list(ctx, k, s, &rules, cfg->rabbitmq_urls,
	    &cfg->nurls) == -1 || cfg->nurls == 0)
		return;
	for (i = 0; i < cfg->nurls; i++)
		if (cfg->rabbitmq_urls[i][0] == '\0') {
			if (cfg->nurls == 1)
				conf_errx(ctx, s, "%s: must not be empty",
				    k->name);
			else
				conf_errx(ctx, s, "%s[%zu]: must not be empty",
				    k->name, i);
			/* Left as it was: one error, not two. */
			for (i = 0; i < cfg->nurls; i++)
				free(cfg->rabbitmq_urls[i]);
			cfg->nurls = 0;
			return;
		}
	set_string(&cfg->rabbitmq_url, cfg->rabbitmq_urls[0]);
}

/* An octal mode string ("0660", "600") to a mode, or -1. */
static int
parse_mode(const char *s)
{
	size_t	 len = strlen(s);
	long	 m;
	char	*end;

	if (len == 0 || len > 4 || strspn(s, "01234567") != len)
		return -1;
	m = strtol(s, &end, 8);
	if (*end != '\0' || m < 0 || m > 0777)
		return -1;
	return (int)m;
}

/* Check a number against the key's range; 0 when it fits. */
static int
check_range(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, double d, const char *shown)
{
	char	 range[64];
	double	 max = k->type == CONF_FLOAT ? k->max : key_int_max(k);

	if (d >= k->min && d <= max)
		return 0;
	key_range_str(k, range, sizeof(range));
	if (max != k->max && d > max)	/* beyond int, not the table */
		conf_errx(ctx, s, "%s: %s is too large (at most %.15g)",
		    k->name, shown, max);
	else
		conf_errx(ctx, s, "%s: %s is out of range (%s)", k->name,
		    shown, range);
	return -1;
}

/* Store one setting of the file into cfg, or report why not. */
static void
parse_setting(struct conf_ctx *ctx, const struct conf_key *k,
    const config_setting_t *s, struct evbus_config *cfg)
{
	int		 type = config_setting_type(s), m;
	long long	 ll;
	double		 d;
	const char	*str;
	char		 shown[64];

	switch (k->type) {
	case CONF_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			break;
		*FIELD(cfg, k, int) = config_setting_get_bool(s);
		return;
	case CONF_INT:
	case CONF_INT64_OPT:
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
			break;
		if (setting_int(ctx, s, &ll) == -1) {
			conf_errx(ctx, s, "%s: number too large", k->name);
			return;
		}
		snprintf(shown, sizeof(shown), "%lld", ll);
		if (check_range(ctx, k, s, (double)ll, shown) == -1)
			return;
		if (k->type == CONF_INT)
			*FIELD(cfg, k, int) = (int)ll;
		else
			*FIELD(cfg, k, long long) = ll;
		return;
	case CONF_FLOAT:
		if (type == CONFIG_TYPE_FLOAT)
			d = config_setting_get_float(s);
		else if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
			/* libconfig is strict about 1 vs 1.0; we need not be. */
			if (setting_int(ctx, s, &ll) == -1) {
				conf_errx(ctx, s, "%s: number too large",
				    k->name);
				return;
			}
			d = (double)ll;
		} else
			break;
		snprintf(shown, sizeof(shown), "%.15g", d);
		if (!isfinite(d)) {
			conf_errx(ctx, s, "%s: %s is not a finite number",
			    k->name, shown);
			return;
		}
		if (check_range(ctx, k, s, d, shown) == -1)
			return;
		*FIELD(cfg, k, double) = d;
		return;
	case CONF_STRING:
	case CONF_STRING_OPT:
		if (type != CONFIG_TYPE_STRING)
			break;
		str = config_setting_get_string(s);
		if (*str == '\0' && (k->flags & CONF_NONEMPTY)) {
			conf_errx(ctx, s, "%s: must not be empty", k->name);
			return;
		}
		if (*str == '\0' && k->type == CONF_STRING_OPT)
			str = NULL;
		set_string(FIELD(cfg, k, char *), str);
		return;
	case CONF_STRING_LIST:
		parse_routing_keys(ctx, k, s, cfg);
		return;
	case CONF_URL_LIST:
		parse_urls(ctx, k, s, cfg);
		return;
	case CONF_MODE:
		if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
			/* 0660 in libconfig 1.5 is the decimal 660. */
			conf_errx(ctx, s, "%s: write the mode as an octal "
			    "string such as \"0660\" (libconfig reads 0660 as "
			    "the decimal number 660)", k->name);
			return;
		}
		if (type != CONFIG_TYPE_STRING)
			break;
		str = config_setting_get_string(s);
		if ((m = parse_mode(str)) == -1) {
			conf_errx(ctx, s, "%s: \"%.32s\" is not an octal file "
			    "mode from \"0000\" to \"0777\"", k->name, str);
			return;
		}
		*FIELD(cfg, k, int) = m;
		return;
	}
	conf_errx(ctx, s, "%s: expected %s, got %s", k->name, key_type_str(k),
	    setting_type_str(s));
}

/* handlers = { <name> = { ... }; ... }: only the shape is checked. */
static void
parse_handlers(struct conf_ctx *ctx, const config_setting_t *s)
{
	const config_setting_t	*h;
	int			 i;

	if (!config_setting_is_group(s)) {
		conf_errx(ctx, s, "%s: expected a group of handler sections "
		    "(handlers = { <name> = { ... }; }), got %s", CONF_HANDLERS,
		    setting_type_str(s));
		return;
	}
	for (i = 0; i < config_setting_length(s); i++) {
		h = config_setting_get_elem(s, i);
		if (!config_setting_is_group(h))
			conf_errx(ctx, h, "%s.%s: expected a group (%s.%s = "
			    "{ ... }), got %s", CONF_HANDLERS,
			    config_setting_name(h), CONF_HANDLERS,
			    config_setting_name(h), setting_type_str(h));
	}
}

/* Walk the top level of the file: every setting must be a known key. */
static void
parse_tree(struct conf_ctx *ctx, const config_t *lc, struct evbus_config *cfg)
{
	const config_setting_t	*root = config_root_setting(lc), *s;
	const struct conf_key	*k;
	const char		*name, *hint;
	size_t			 idx;
	int			 i;

	for (i = 0; i < config_setting_length(root); i++) {
		s = config_setting_get_elem(root, i);
		name = config_setting_name(s);
		if (strcmp(name, CONF_HANDLERS) == 0) {
			parse_handlers(ctx, s);
			continue;
		}
		if ((k = conf_key_find(name, &idx)) == NULL) {
			if ((hint = conf_suggest(name)) != NULL)
				conf_errx(ctx, s, "unknown key \"%s\" (did you "
				    "mean \"%s\"?)", name, hint);
			else
				conf_errx(ctx, s, "unknown key \"%s\"", name);
			continue;
		}
		ctx->seen[idx] = s;
		parse_setting(ctx, k, s, cfg);
	}
}

/* A new config holding the table's defaults (derived fields not yet). */
static struct evbus_config *
conf_new(void)
{
	struct evbus_config	*cfg;
	const struct conf_key	*k;
	size_t			 i;

	cfg = xcalloc(1, sizeof(*cfg));
	cfg->uid = (uid_t)-1;
	cfg->gid = (gid_t)-1;
	for (i = 0; i < conf_nkeys; i++) {
		k = &conf_keys[i];
		switch (k->type) {
		case CONF_BOOL:
		case CONF_INT:
		case CONF_MODE:
			*FIELD(cfg, k, int) = (int)k->def_int;
			break;
		case CONF_INT64_OPT:
			*FIELD(cfg, k, long long) = k->def_int;
			break;
		case CONF_FLOAT:
			*FIELD(cfg, k, double) = k->def_float;
			break;
		case CONF_STRING:
		case CONF_STRING_OPT:
		case CONF_URL_LIST:
			set_string(FIELD(cfg, k, char *), k->def_str);
			break;
		case CONF_STRING_LIST:
			break;
		}
	}
	return cfg;
}

struct evbus_config *
evbus_config_defaults(void)
{
	struct evbus_conf_errors	 errs = { NULL, 0 };
	struct conf_ctx			 ctx;
	struct evbus_config		*cfg;

	memset(&ctx, 0, sizeof(ctx));
	ctx.name = "(defaults)";
	ctx.mode = -1;
	ctx.errs = &errs;
	ctx.seen = xcalloc(conf_nkeys, sizeof(*ctx.seen));
	cfg = conf_new();
	/*
	 * The defaults are valid by construction; only an overlong
	 * EVBUS_PASSWORD could complain, and then it is simply not used.
	 */
	conf_finish(&ctx, cfg);
	free(ctx.seen);
	free(ctx.where);
	evbus_conf_errors_clear(&errs);
	return cfg;
}

/* Parse text (the whole file) and build the config from it. */
static struct evbus_config *
conf_load_text(const char *text, const char *name, const char *dir, int mode,
    int flags, struct evbus_conf_errors *errs)
{
	struct evbus_conf_errors	 scratch = { NULL, 0 };
	struct conf_ctx			 ctx;
	struct evbus_config		*cfg;
	config_t			*lc;
	const char			*efile;
	char				*line;

	memset(&ctx, 0, sizeof(ctx));
	ctx.name = name;
	ctx.text = text;
	ctx.dir = dir != NULL ? xstrdup(dir) : NULL;
	ctx.mode = mode;
	ctx.flags = flags;
	ctx.errs = errs != NULL ? errs : &scratch;

	lc = xcalloc(1, sizeof(*lc));
	config_init(lc);
	if (dir != NULL)
		config_set_include_dir(lc, dir);
	if (config_read_string(lc, text) != CONFIG_TRUE) {
		efile = config_error_file(lc) != NULL ?
		    config_error_file(lc) : name;
		if (config_error_line(lc) > 0)
			xasprintf(&line, "%s:%d: %s", efile,
			    config_error_line(lc), config_error_text(lc));
		else
			xasprintf(&line, "%s: %s", efile,
			    config_error_text(lc));
		ctx.errs->msgs = xreallocarray(ctx.errs->msgs,
		    ctx.errs->n + 1, sizeof(*ctx.errs->msgs));
		ctx.errs->msgs[ctx.errs->n++] = line;
		config_destroy(lc);
		free(lc);
		free(ctx.dir);
		evbus_conf_errors_clear(&scratch);
		return NULL;
	}

	ctx.seen = xcalloc(conf_nkeys, sizeof(*ctx.seen));
	cfg = conf_new();
	parse_tree(&ctx, lc, cfg);
	conf_finish(&ctx, cfg);
	cfg->tree = lc;
	conf_sort_errors(&ctx);
	free(ctx.seen);
	free(ctx.where);
	free(ctx.dir);
	evbus_conf_errors_clear(&scratch);
	if (ctx.nerr > 0) {
		evbus_config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct evbus_config *
evbus_config_load_string_flags(const char *text, const char *name, int flags,
    struct evbus_conf_errors *errs)
{
	return conf_load_text(text, name != NULL ? name : "(string)", NULL, -1,
	    flags, errs);
}

struct evbus_config *
evbus_config_load_string(const char *text, const char *name,
    struct evbus_conf_errors *errs)
{
	return evbus_config_load_string_flags(text, name, 0, errs);
}

/* Append a problem about the file as a whole (no line). */
static void
file_errx(struct evbus_conf_errors *errs, const char *path, const char *fmt,
    ...) __attribute__((__format__(printf, 3, 4)));

static void
file_errx(struct evbus_conf_errors *errs, const char *path, const char *fmt,
    ...)
{
	struct conf_ctx	 ctx;
	char		 msg[512];
	va_list		 ap;

	if (errs == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memset(&ctx, 0, sizeof(ctx));
	ctx.name = path;
	ctx.errs = errs;
	conf_errx(&ctx, NULL, "%s", msg);
	free(ctx.where);
}

struct evbus_config *
evbus_config_load(const char *path, struct evbus_conf_errors *errs)
{
	return evbus_config_load_flags(path, 0, errs);
}

struct evbus_config *
evbus_config_load_flags(const char *path, int flags,
    struct evbus_conf_errors *errs)
{
	struct evbus_config	*cfg;
	struct stat		 st;
	char			*text, *dir, *slash;
	size_t			 off = 0;
	ssize_t			 n;
	int			 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		file_errx(errs, path, "cannot open: %s", strerror(errno));
		return NULL;
	}
	/* Mode and contents from one open file, so they belong together. */
	if (fstat(fd, &st) == -1) {
		file_errx(errs, path, "fstat: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		file_errx(errs, path, "not a regular file");
		close(fd);
		return NULL;
	}
	if (st.st_size > CONF_MAX_SIZE) {
		file_errx(errs, path, "%lld bytes, larger than the %d a "
		    "config file may have", (long long)st.st_size,
		    CONF_MAX_SIZE);
		close(fd);
		return NULL;
	}
	text = xmalloc((size_t)st.st_size + 1);
	while (off < (size_t)st.st_size) {
		n = read(fd, text + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			file_errx(errs, path, "read: %s", strerror(errno));
			free(text);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	text[off] = '\0';
	close(fd);

	/* @include "x" is relative to the directory of the file. */
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir ? 1 : 0] = '\0';
	else {
		free(dir);
		dir = xstrdup(".");
	}

	cfg = conf_load_text(text, path, dir, (int)st.st_mode, flags, errs);
	free(dir);
	free(text);
	if (cfg != NULL)
		cfg->path = xstrdup(path);
	return cfg;
}

void
evbus_config_free(struct evbus_config *cfg)
{
	const struct conf_key	*k;
	size_t			 i;

	if (cfg == NULL)
		return;
	/* The password must not linger in freed memory. */
	if (cfg->rabbitmq_url != NULL)
		explicit_bzero(cfg->rabbitmq_url, strlen(cfg->rabbitmq_url));
	for (i = 0; i < cfg->nurls; i++) {
		explicit_bzero(cfg->rabbitmq_urls[i],
		    strlen(cfg->rabbitmq_urls[i]));
		free(cfg->rabbitmq_urls[i]);
	}
	explicit_bzero(&cfg->url, sizeof(cfg->url));
	explicit_bzero(cfg->urls, sizeof(cfg->urls));
	for (i = 0; i < conf_nkeys; i++) {
		k = &conf_keys[i];
		if (k->type == CONF_STRING || k->type == CONF_STRING_OPT ||
		    k->type == CONF_URL_LIST)
			free(*FIELD(cfg, k, char *));
	}
	conf_free_routing_keys(cfg);
	free(cfg->path);
	free(cfg->queue_name);
	free(cfg->dlq_exchange_name);
	free(cfg->dlq_queue_name);
	free(cfg->partition_exchange_name);
	if (cfg->tree != NULL) {
		config_destroy(cfg->tree);
		free(cfg->tree);
	}
	free(cfg);
}

void
evbus_conf_errors_clear(struct evbus_conf_errors *errs)
{
	size_t	 i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

void *
evbus_config_handler_section(const struct evbus_config *cfg,
    const char *name)
{
	config_setting_t	*h, *s;

	if (cfg == NULL || cfg->tree == NULL || name == NULL)
		return NULL;
	if ((h = config_lookup(cfg->tree, CONF_HANDLERS)) == NULL ||
	    !config_setting_is_group(h))
		return NULL;
	if ((s = config_setting_get_member(h, name)) == NULL ||
	    !config_setting_is_group(s))
		return NULL;
	return s;
}

const char *
evbus_exchange_type_str(enum evbus_exchange_type t)
{
	switch (t) {
	case EVBUS_EXCHANGE_TOPIC:
		return "topic";
	case EVBUS_EXCHANGE_DIRECT:
		return "direct";
	case EVBUS_EXCHANGE_FANOUT:
		return "fanout";
	case EVBUS_EXCHANGE_HEADERS:
		return "headers";
	}
	return "unknown";
}

/* Print text as "# " comment lines wrapped at 76 columns. */
static void
sample_comment(FILE *fp, const char *text)
{
	const char	*p = text, *word;
	size_t		 col = 0, wl;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		word = p;
		wl = strcspn(p, " ");
		if (col > 0 && col + 1 + wl > 76) {
			fputc('\n', fp);
			col = 0;
		}
		if (col == 0) {
			fputs("#", fp);
			col = 1;
		}
		fprintf(fp, " %.*s", (int)wl, word);
		col += 1 + wl;
		p += wl;
	}
	if (col > 0)
		fputc('\n', fp);
}

/* A libconfig string literal. */
static void
sample_string(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

/* The default of k as libconfig text, or its example when it has none. */
static void
sample_value(FILE *fp, const struct conf_key *k)
{
	double	 d;

	if (k->example != NULL) {
		fputs(k->example, fp);
		return;
	}
	switch (k->type) {
	case CONF_BOOL:
		fputs(k->def_int ? "true" : "false", fp);
		break;
	case CONF_INT:
	case CONF_INT64_OPT:
		fprintf(fp, "%lld", k->def_int);
		break;
	case CONF_FLOAT:
		d = k->def_float;
		if (d == floor(d) && fabs(d) < 1e15)
			fprintf(fp, "%.1f", d);
		else
			fprintf(fp, "%.15g", d);
		break;
	case CONF_STRING:
	case CONF_STRING_OPT:
	case CONF_URL_LIST:
		sample_string(fp, k->def_str != NULL ? k->def_str : "");
		break;
	case CONF_STRING_LIST:
		fputs("\"#\"", fp);
		break;
	case CONF_MODE:
		fprintf(fp, "\"%04llo\"", (unsigned long long)k->def_int);
		break;
	}
}

void
evbus_config_write_sample(FILE *fp)
{
	const struct conf_key	*k;
	char			 range[64], *help;
	size_t			 i;

	fputs(
"# evbusd.conf: configuration of evbusd, the evbus event bus service.\n"
"#\n"
"# libconfig syntax: key = value; strings in double quotes, booleans\n"
"# true/false, lists in [ ].  Every key is shown commented out with its\n"
"# default (or, for keys unset by default, an example); uncomment a line\n"
"# to change it.  Unknown keys are errors.  Check a file with\n"
"# \"evbusd -n -f FILE\".\n"
"#\n"
"# The broker password: set it in the environment variable\n"
"# " EVBUS_PASSWORD_ENV ", or if it must be in rabbitmq_url, make this file\n"
"# readable by its owner only (chmod 600); evbusd refuses a file that\n"
"# holds a password and is readable by others.\n", fp);

	for (i = 0; i < conf_nkeys; i++) {
		k = &conf_keys[i];
		if (k->section != NULL)
			fprintf(fp, "\n\n# --- %s ---\n", k->section);
		fputc('\n', fp);
		key_range_str(k, range, sizeof(range));
		if (range[0] != '\0')
			xasprintf(&help, "%s [%s]", k->help, range);
		else
			help = xstrdup(k->help);
		sample_comment(fp, help);
		free(help);
		fprintf(fp, "#%s = ", k->name);
		sample_value(fp, k);
		fputs(";\n", fp);
	}

	fputs(
"\n\n# --- Handler sections ---\n"
"\n"
"# handlers.<name> = { ... } is passed, unchecked, to the handler plugin\n"
"# called <name>; see the plugin's documentation for its keys.\n"
"#handlers = {\n"
"#\tinventory = {\n"
"#\t\twarehouse = \"north\";\n"
"#\t};\n"
"#};\n", fp);
}
