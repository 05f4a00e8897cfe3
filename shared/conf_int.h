/*
 * conf_int.h: what the three files of the config loader share; nothing
 * outside them includes it (callers use conf.h).
 *
 *   conf_table.c	the keys: name, type, field, default, range, help,
 *			section of the sample.  Data only.
 *   conf.c		the engine: reads a file against the table, checks
 *			each key, suggests a key for a misspelt one, keeps
 *			the errors, prints the sample.  No rules between keys.
 *   conf_check.c	what involves more than one key: derived values and
 *			the rules across keys, run once every key is parsed.
 *
 * Dependencies run one way: the engine calls conf_finish() and walks
 * conf_keys[]; conf_check.c uses only the engine's error and lookup
 * functions declared here.
 */
#ifndef EVBUS_CONF_INT_H
#define EVBUS_CONF_INT_H

#include <math.h>
#include <stddef.h>

#include <libconfig.h>

#include "conf.h"

enum conf_type {
	CONF_BOOL,		/* int, true/false */
	CONF_INT,		/* int */
	CONF_INT64_OPT,		/* long long, -1 when unset */
	CONF_FLOAT,		/* double; integers accepted */
	CONF_STRING,		/* char * */
	CONF_STRING_OPT,	/* char *, NULL when unset or "" */
	CONF_STRING_LIST,	/* routing_key_pattern: string or list */
	CONF_URL_LIST,		/* rabbitmq_url: string or list; char * */
	CONF_MODE		/* int, written as an octal string "0660" */
};

#define CONF_NONEMPTY	0x01	/* a string that must not be empty */
#define CONF_HOSTNAME	0x02	/* default: the host name */

#define NOMIN		(-HUGE_VAL)
#define NOMAX		HUGE_VAL

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 off;		/* into struct evbus_config */
	const char	*def_str;	/* string defaults */
	long long	 def_int;	/* bool, int, int64 and mode defaults */
	double		 def_float;
	double		 min;		/* inclusive, NOMIN for none */
	double		 max;		/* inclusive, NOMAX for none */
	int		 flags;
	const char	*section;	/* starts a section of the sample */
	const char	*help;		/* one sentence for the sample */
	const char	*example;	/* sample value of a key unset by default */
};

/* State of one load: where messages go and which key sat on which line. */
struct conf_ctx {
	const char			*name;	/* file name in messages */
	const char			*text;	/* main file's text, or NULL */
	char				*dir;	/* include directory, or NULL */
	int				 mode;	/* file mode, -1: not a file */
	int				 flags;	/* EVBUS_CONF_* */
	int				 url_ok;	/* the URL parsed */
	int				 url_password;	/* it has a password */
	struct evbus_conf_errors	*errs;
	size_t				 nerr;	/* errors of this load */
	unsigned long			*where;	/* their sort keys */
	const config_setting_t		**seen;	/* conf_nkeys, by key */
};

/* conf_table.c */
extern const struct conf_key	conf_keys[];
extern const size_t		conf_nkeys;

/* conf.c */
void	 conf_errx(struct conf_ctx *, const config_setting_t *,
	    const char *, ...) __attribute__((__format__(printf, 3, 4)));
const config_setting_t *conf_seen(const struct conf_ctx *, const char *);
void	 conf_free_routing_keys(struct evbus_config *);

/* conf_check.c */
void	 conf_finish(struct conf_ctx *, struct evbus_config *);

#endif
