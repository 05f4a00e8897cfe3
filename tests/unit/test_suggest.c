/*
 * test_suggest.c: the edit distance and "did you mean" of shared/suggest.c
 * (config keys, evbusctl commands).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cu.h"
#include "suggest.h"

static void
test_distance(void)
{
	static const struct {
		const char	*a, *b;
		size_t		 want;
	} cases[] = {
		{ "status", "status", 0 },
		{ "", "", 0 },
		{ "", "stop", 4 },
		{ "stauts", "status", 1 },	/* a transposition is one edit */
		{ "sttaus", "status", 1 },
		{ "tsauts", "status", 2 },
		{ "statsu", "status", 1 },
		{ "statu", "status", 1 },
		{ "statuss", "status", 1 },
		{ "ststus", "status", 1 },
		{ "prefetch-count", "prefetch_count", 0 },
		{ "PREFETCH_COUNT", "prefetch_count", 0 },
		{ "ca", "abc", 3 },		/* OSA: no edit of a swapped pair */
		{ "kitten", "sitting", 3 },
		{ NULL, NULL, 0 }
	};
	char	 longname[80];
	size_t	 d;
	int	 i;

	for (i = 0; cases[i].a != NULL; i++) {
		d = evbus_name_distance(cases[i].a, cases[i].b);
		cu_checkf(d == cases[i].want, "distance(%s, %s): expected %zu, "
		    "got %zu", cases[i].a, cases[i].b, cases[i].want, d);
		d = evbus_name_distance(cases[i].b, cases[i].a);
		cu_checkf(d == cases[i].want, "distance(%s, %s): expected %zu, "
		    "got %zu", cases[i].b, cases[i].a, cases[i].want, d);
	}
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cu_checkf(evbus_name_distance(longname, "a") == SIZE_MAX,
	    "a name of 79 bytes: expected SIZE_MAX");
}

static void
test_suggest(void)
{
	static const char *const cmds[] = {
		"status", "health", "queue", "workers", "metrics", "scale",
		"reload", "stop", "dlq", "publish", "declare", "bind",
		"unbind", NULL
	};
	static const struct {
		const char	*name;
		const char	*want;		/* NULL: no suggestion */
	} cases[] = {
		{ "stauts", "status" },
		{ "stats", "status" },
		{ "helth", "health" },
		{ "wokrers", "workers" },
		{ "pubilsh", "publish" },
		{ "dql", "dlq" },
		{ "unbnid", "unbind" },
		{ "x", NULL },			/* shorter than the distance */
		{ "frobnicate", NULL },
		{ "", NULL },
		{ NULL, NULL }
	};
	const char	*got;
	int		 i;

	for (i = 0; cases[i].name != NULL; i++) {
		got = evbus_suggest(cases[i].name, cmds, 3);
		cu_checkf((got == NULL && cases[i].want == NULL) ||
		    (got != NULL && cases[i].want != NULL &&
		    strcmp(got, cases[i].want) == 0), "suggest(%s): expected "
		    "%s, got %s", cases[i].name, cases[i].want ?
		    cases[i].want : "nothing", got ? got : "nothing");
	}
}

static const struct cu_test tests[] = {
	{ "distance: Damerau (OSA), case and -/_ alike", test_distance },
	{ "suggest: the closest command, or none", test_suggest },
	{ NULL, NULL }
};

static const struct cu_suite suites[] = {
	{ "suggest", tests },
	{ NULL, NULL }
};

int
main(void)
{
	return cu_run(suites);
}
