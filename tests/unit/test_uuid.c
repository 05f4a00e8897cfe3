/*
 * test_uuid.c: UUIDs as text (shared/uuid.c): normalisation of every
 * spelling eventsource-py's UUID fields accept, and fresh uuid4s.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cu.h"
#include "uuid.h"

/*
 * 1 when s is a version 4, RFC 4122 variant UUID in the lowercase
 * hyphenated form, checked character by character.
 */
static int
uuid4_form(const char *s)
{
	size_t	 i;

	if (strlen(s) != EVBUS_UUID_LEN)
		return 0;
	for (i = 0; i < EVBUS_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (strchr("0123456789abcdef", s[i]) == NULL)
			return 0;
	}
	return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

/* Every spelling a UUID field accepts, and some it does not. */
static void
test_uuid(void)
{
	static const struct {
		const char	*in;
		const char	*want;	/* NULL: not a UUID */
	} cases[] = {
		{ "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b",
		  "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b" },
		{ "3F2A9C1E-8B4D-4E6F-9A0B-1C2D3E4F5A6B",
		  "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b" },
		{ "3f2A9c1E-8b4D-4e6F-9a0B-1c2D3e4F5a6B",
		  "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b" },
		{ "3f2a9c1e8b4d4e6f9a0b1c2d3e4f5a6b",
		  "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b" },
		{ "3F2A9C1E8B4D4E6F9A0B1C2D3E4F5A6B",
		  "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b" },
		{ "00000000-0000-0000-0000-000000000000",
		  "00000000-0000-0000-0000-000000000000" },
		{ "", NULL },
		{ "xyz", NULL },
		{ "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6", NULL },
		{ "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b0", NULL },
		{ "3f2a9c1e8b4d4e6f9a0b1c2d3e4f5a6", NULL },
		{ "3f2a9c1e-8b4d4e6f-9a0b-1c2d3e4f5a6b", NULL },
		{ "3f2a9c1e-8b4d-4e6f-9a0b_1c2d3e4f5a6b", NULL },
		{ "3f2a9c1-e8b4d-4e6f-9a0b-1c2d3e4f5a6b", NULL },
		{ "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6g", NULL },
		{ " 3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6", NULL },
		{ "{3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a}", NULL },
		{ "3f2a9c1e-8b4d-4e6f-9a0b1-c2d3e4f5a6b", NULL },
		{ NULL, NULL }
	};
	char	 out[EVBUS_UUID_LEN + 1];
	int	 i, rv;

	for (i = 0; cases[i].in != NULL; i++) {
		memset(out, 0, sizeof(out));
		rv = evbus_uuid_normalize(cases[i].in, out);
		if (cases[i].want == NULL)
			cu_checkf(rv == -1, "\"%s\" accepted as %s",
			    cases[i].in, out);
		else
			cu_checkf(rv == 0 && strcmp(out, cases[i].want) == 0,
			    "\"%s\": expected %s, got %d %s", cases[i].in,
			    cases[i].want, rv, out);
	}
	CU_ASSERT_EQUAL(evbus_uuid_normalize(NULL, out), -1);
}

/* uuid4: version 4, RFC 4122 variant, lowercase, distinct. */
static void
test_uuid4(void)
{
	char	 out[EVBUS_UUID_LEN + 1], a[EVBUS_UUID_LEN + 1];
	int	 n;

	for (n = 0; n < 1000; n++) {
		evbus_uuid4(out);
		if (!uuid4_form(out)) {
			cu_failf("not a uuid4: %s", out);
			break;
		}
		if (n > 0 && strcmp(out, a) == 0) {
			cu_failf("uuid4 repeated: %s", out);
			break;
		}
		memcpy(a, out, sizeof(a));
	}
	CU_PASS("uuid4");
}

static const struct cu_test uuid_tests[] = {
	{ "normalisation", test_uuid },
	{ "uuid4", test_uuid4 },
	{ NULL, NULL }
};

static const struct cu_suite suites[] = {
	{ "uuid", uuid_tests },
	{ NULL, NULL }
};

int
main(void)
{
	return cu_run(suites);
}
