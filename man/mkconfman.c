/*
 * mkconfman.c: prints evbusd.conf(5) in mdoc from the table of keys, so
 * the manual cannot drift from what evbusd accepts.
 *
 * Run at build time (`make` writes man/evbusd.conf.5).  It reads
 * conf_keys[] (shared/conf_table.c) through conf_int.h, the loader's own
 * header: a documentation generator is the one reader of the table outside
 * the loader, and it needs exactly what the loader has (type, default,
 * range, help, example, section).  The defaults that are paths come from
 * this build's configure, as evbusd's do.
 *
 * The date of the page is $SOURCE_DATE_EPOCH when set (reproducible
 * package builds), else today.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "conf_int.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR	"/usr/local/etc"
#endif
#ifndef RUNSTATEDIR
#define RUNSTATEDIR	"/var/run"
#endif

/* Text for an mdoc text line: escape backslashes, protect a leading '.'. */
static void
put_text(const char *s, size_t n)
{
	size_t	 i;

	if (n > 0 && (s[0] == '.' || s[0] == '\''))
		fputs("\\&", stdout);
	for (i = 0; i < n; i++) {
		if (s[i] == '\\')
			fputs("\\e", stdout);
		else
			putchar(s[i]);
	}
}

/*
 * A help text as text lines: one sentence per line (mdoc wants a new line
 * after a full stop that ends a sentence; the table separates sentences
 * with two spaces), wrapped at word boundaries to stay below 80 columns.
 */
static void
put_sentences(const char *s)
{
	size_t	 col = 0, wl;
	int	 end;

	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		wl = strcspn(s, " ");
		end = s[wl] == ' ' && s[wl + 1] == ' ' && wl > 0 &&
		    s[wl - 1] == '.';
		if (col > 0 && col + 1 + wl > 72) {
			putchar('\n');
			col = 0;
		}
		if (col > 0)
			putchar(' ');
		put_text(s, wl);
		col += (col > 0) + wl;
		s += wl;
		if (end) {
			putchar('\n');
			col = 0;
		}
	}
	if (col > 0)
		putchar('\n');
}

/* What kind of value the key takes, for the .It line. */
static const char *
type_name(const struct conf_key *k)
{
	switch (k->type) {
	case CONF_BOOL:
		return "true | false";
	case CONF_INT:
	case CONF_INT64_OPT:
		return "integer";
	case CONF_FLOAT:
		return "number";
	case CONF_STRING:
	case CONF_STRING_OPT:
		return "string";
	case CONF_STRING_LIST:
		return "string | [string, ...]";
	case CONF_URL_LIST:
		return "URL | [URL, ...]";
	case CONF_MODE:
		return "octal string";
	}
	return "value";
}

/* A macro argument: quotes and backslashes escaped. */
static void
put_arg(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputs("\\(dq", stdout);
		else if (*s == '\\')
			fputs("\\e", stdout);
		else
			putchar(*s);
	}
}

/* "Unset by default", unless the help text says so already. */
static void
put_unset(const struct conf_key *k)
{
	if (strcasestr(k->help, "unset by default") == NULL)
		printf("Unset by default.\n");
}

/* The default as a libconfig value, as evbusd -S writes it. */
static void
put_default(const struct conf_key *k)
{
	double	 d;

	if (k->flags & CONF_HOSTNAME) {
		printf("Default: the host name.\n");
		return;
	}
	switch (k->type) {
	case CONF_BOOL:
		printf("Default:\n.Cm %s .\n", k->def_int ? "true" : "false");
		break;
	case CONF_INT:
		printf("Default:\n.Cm %lld .\n", k->def_int);
		break;
	case CONF_INT64_OPT:
		if (k->def_int < 0)
			put_unset(k);
		else
			printf("Default:\n.Cm %lld .\n", k->def_int);
		break;
	case CONF_FLOAT:
		d = k->def_float;
		if (d == floor(d) && fabs(d) < 1e15)
			printf("Default:\n.Cm %.1f .\n", d);
		else
			printf("Default:\n.Cm %.15g .\n", d);
		break;
	case CONF_STRING:
	case CONF_URL_LIST:
		printf("Default:\n.Qq Pa ");
		put_text(k->def_str != NULL ? k->def_str : "", strlen(
		    k->def_str != NULL ? k->def_str : ""));
		printf(" .\n");
		break;
	case CONF_STRING_OPT:
		if (k->def_str == NULL)
			put_unset(k);
		else {
			printf("Default:\n.Qq Pa ");
			put_text(k->def_str, strlen(k->def_str));
			printf(" .\n");
		}
		break;
	case CONF_STRING_LIST:
		printf("Default:\n.Qq Cm # .\n");
		break;
	case CONF_MODE:
		printf("Default:\n.Qq Cm %04llo .\n",
		    (unsigned long long)k->def_int);
		break;
	}
}

/* The allowed range, when the table gives one. */
static void
put_range(const struct conf_key *k)
{
	if (k->min == NOMIN && k->max == NOMAX)
		return;
	if (k->max == NOMAX)
		printf("At least %.15g.\n", k->min);
	else if (k->min == NOMIN)
		printf("At most %.15g.\n", k->max);
	else
		printf("From %.15g to %.15g.\n", k->min, k->max);
}

static void
put_key(const struct conf_key *k)
{
	printf(".It Ic %s No = Ar \"%s\"\n", k->name, type_name(k));
	put_sentences(k->help);
	put_default(k);
	put_range(k);
	if (k->example != NULL) {
		printf("Example:\n.Dl %s = ", k->name);
		put_arg(k->example);
		printf(";\n");
	}
}

static void
put_date(void)
{
	const char	*sde = getenv("SOURCE_DATE_EPOCH");
	char		 month[32];
	time_t		 t;
	struct tm	*tm;

	t = sde != NULL && *sde != '\0' ? (time_t)strtoll(sde, NULL, 10) :
	    time(NULL);
	if ((tm = gmtime(&t)) == NULL ||
	    strftime(month, sizeof(month), "%B", tm) == 0) {
		printf(".Dd January 1, 1970\n");
		return;
	}
	printf(".Dd %s %d, %d\n", month, tm->tm_mday, tm->tm_year + 1900);
}

int
main(void)
{
	size_t	 i;
	int	 inlist = 0;

	printf(".\\\" Generated by man/mkconfman from shared/conf_table.c; "
	    "do not edit.\n");
	put_date();
	printf(
".Dt EVBUSD.CONF 5\n"
".Os\n"
".Sh NAME\n"
".Nm evbusd.conf\n"
".Nd configuration file of the evbus event bus service\n"
".Sh DESCRIPTION\n"
".Nm\n"
"configures\n"
".Xr evbusd 8\n"
"and, for the broker and topology,\n"
".Xr evbusctl 8 .\n"
"It is read in libconfig syntax:\n"
".Ic key No = Ar value ;\n"
"with strings in double quotes, booleans\n"
".Cm true\n"
"and\n"
".Cm false ,\n"
"lists in square brackets and groups in braces.\n"
"Comments start with\n"
".Ql #\n"
"or\n"
".Ql // .\n"
"Every key is optional; the order of keys does not matter.\n"
"An unknown key, a value of the wrong type or out of range, and a\n"
"contradiction between keys are errors, each reported with the file and\n"
"line; evbusd then refuses to start.\n"
"Check a file with\n"
".Ic evbusd Fl n Fl f Ar file ,\n"
"and print a sample holding every key with its default with\n"
".Ic evbusd Fl S .\n"
".Pp\n"
"The keys and their defaults follow eventsource-py's\n"
".Sy RabbitMQEventBusConfig\n"
"where it has them; the others are the service's own.\n");

	for (i = 0; i < conf_nkeys; i++) {
		if (conf_keys[i].section != NULL) {
			if (inlist)
				printf(".El\n");
			printf(".Ss %s\n.Bl -tag -width Ds\n",
			    conf_keys[i].section);
			inlist = 1;
		} else if (!inlist) {
			printf(".Bl -tag -width Ds\n");
			inlist = 1;
		}
		put_key(&conf_keys[i]);
	}
	if (inlist)
		printf(".El\n");

	printf(
".Ss Handler sections\n"
"The group\n"
".Bd -literal -offset indent\n"
"handlers = {\n"
"\t\\fIname\\fP = { ... };\n"
"};\n"
".Ed\n"
".Pp\n"
"holds one section per handler plugin, passed unchecked to the plugin\n"
"called\n"
".Ar name ,\n"
"which reads it through the host API (see\n"
".Xr evbus-handler 3 ) .\n"
"The plugin's documentation lists its keys.\n"
".Sh ENVIRONMENT\n"
".Bl -tag -width Ds\n"
".It Ev " EVBUS_PASSWORD_ENV "\n"
"The broker password, used for every URL of\n"
".Ic rabbitmq_url\n"
"that has a user but no password.\n"
"A file whose URL holds a password must not be readable by group or\n"
"others: evbusd refuses it.\n"
".El\n"
".Sh FILES\n"
".Bl -tag -width Ds -compact\n"
".It Pa " SYSCONFDIR "/evbus/evbusd.conf\n"
"the default configuration file\n"
".It Pa " RUNSTATEDIR "/evbus/\n"
"the default directory of the status socket and the pid file\n"
".El\n"
".Sh EXAMPLES\n"
"Two workers consuming the group\n"
".Qq billing\n"
"over TLS, with the password in the environment:\n"
".Bd -literal -offset indent\n"
"rabbitmq_url = \"amqps://evbus@mq.example.com/prod\";\n"
"ca_file = \"/etc/ssl/certs/ca-certificates.crt\";\n"
"exchange_name = \"orders\";\n"
"consumer_group = \"billing\";\n"
"routing_key_pattern = [ \"Order.*\", \"Payment.*\" ];\n"
"workers = 2;\n"
"user = \"evbus\";\n"
"handlers = {\n"
"\tjsonl = { path = \"/var/lib/evbus/events.jsonl\"; };\n"
"};\n"
".Ed\n"
".Sh SEE ALSO\n"
".Xr evbus-handler 3 ,\n"
".Xr evbusctl 8 ,\n"
".Xr evbusd 8\n");
	return fflush(stdout) == 0 ? 0 : 1;
}
