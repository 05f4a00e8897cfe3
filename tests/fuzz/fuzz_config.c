/*
 * fuzz_config.c: libFuzzer target for evbusd.conf parsing (shared/conf.c
 * over libconfig).
 *
 * The input, as a C string, goes through evbus_config_load_string() with
 * and without an error list, the first time with the host checks evbusd
 * asks for (accounts, run directories).  A result must be either a
 * config or at least one error ("name:line: message"), never both, never
 * neither; a config passed must obey the rules across keys.
 * Inputs with @include are skipped: an include reads a file named by the
 * input (/dev/stdin, /dev/zero), which is not the parser under test.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int	LLVMFuzzerInitialize(int *, char ***);

/*
 * xmalloc.c's way out, instead of log.c's (which logs and exits): an
 * allocation failure is a finding, so abort where libFuzzer sees it.
 */
void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* The password would otherwise come from the environment. */
	unsetenv(EVBUS_PASSWORD_ENV);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbus_conf_errors	 errs = { NULL, 0 };
	struct evbus_config		*cfg;
	char				*s;
	size_t				 i;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (strstr(s, "@include") != NULL) {
		free(s);
		return 0;
	}

	cfg = evbus_config_load_string_flags(s, "fuzz.conf",
	    EVBUS_CONF_ACCOUNTS | EVBUS_CONF_DIRS, &errs);
	if ((cfg != NULL) == (errs.n > 0)) {
		fprintf(stderr, "load: config %p with %zu errors\n",
		    (void *)cfg, errs.n);
		abort();
	}
	for (i = 0; i < errs.n; i++)
		if (errs.msgs[i] == NULL ||
		    strncmp(errs.msgs[i], "fuzz.conf", 9) != 0) {
			fprintf(stderr, "error %zu does not name the file: "
			    "%s\n", i, errs.msgs[i] ? errs.msgs[i] : "(null)");
			abort();
		}
	if (cfg != NULL) {
		if (cfg->nrouting_keys < 1 || cfg->queue_name == NULL ||
		    cfg->consumer_name == NULL ||
		    (cfg->cert_file == NULL) != (cfg->key_file == NULL) ||
		    (cfg->ca_file != NULL && !cfg->url.tls) ||
		    (cfg->user != NULL && cfg->uid == (uid_t)-1) ||
		    (cfg->group != NULL && cfg->gid == (gid_t)-1)) {
			fprintf(stderr, "load: inconsistent config passed\n");
			abort();
		}
		(void)evbus_config_handler_section(cfg, "jsonl");
		(void)evbus_config_handler_section(cfg, "");
	}
	evbus_config_free(cfg);
	evbus_conf_errors_clear(&errs);

	/* Without an error list. */
	evbus_config_free(evbus_config_load_string(s, NULL, NULL));
	free(s);
	return 0;
}
