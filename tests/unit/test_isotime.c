/*
 * test_isotime.c: ISO-8601 date-times (shared/isotime.c) as Python's
 * datetime and pydantic read and write them.  The expected forms were
 * checked with CPython 3.11 and pydantic 2.13; occurred_at through the
 * event codec is in test_event.c.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cu.h"
#include "isotime.h"

/* Every form pydantic reads, each converted to UTC; and what it refuses. */
static void
test_time_parse(void)
{
	/* NULL want: rejected. */
	static const struct {
		const char	*in;
		const char	*want;
	} cases[] = {
		{ "2025-03-14T15:09:26.535897Z",
		  "2025-03-14T15:09:26.535897Z" },
		{ "2025-03-14T15:09:26Z", "2025-03-14T15:09:26Z" },
		{ "2025-03-14T15:09:26z", "2025-03-14T15:09:26Z" },
		{ "2025-03-14t15:09:26Z", "2025-03-14T15:09:26Z" },
		{ "2025-03-14 15:09:26Z", "2025-03-14T15:09:26Z" },
		/* no zone: UTC */
		{ "2025-03-14T15:09:26", "2025-03-14T15:09:26Z" },
		{ "2025-03-14T15:09:26.5", "2025-03-14T15:09:26.500000Z" },
		/* fraction: padded to 6, dropped when 0 */
		{ "2025-03-14T15:09:26.5Z", "2025-03-14T15:09:26.500000Z" },
		{ "2025-03-14T15:09:26.000001Z",
		  "2025-03-14T15:09:26.000001Z" },
		{ "2025-03-14T15:09:26.000000Z", "2025-03-14T15:09:26Z" },
		{ "2025-03-14T15:09:26.0Z", "2025-03-14T15:09:26Z" },
		{ "2025-03-14T15:09:26.120Z", "2025-03-14T15:09:26.120000Z" },
		/* offsets: converted to UTC */
		{ "2025-03-14T15:09:26+00:00", "2025-03-14T15:09:26Z" },
		{ "2025-03-14T15:09:26-00:00", "2025-03-14T15:09:26Z" },
		{ "2025-03-14T15:09:26+05:30", "2025-03-14T09:39:26Z" },
		{ "2025-03-14T20:09:26.25-08:00",
		  "2025-03-15T04:09:26.250000Z" },
		{ "2025-01-01T00:30:00+01:00", "2024-12-31T23:30:00Z" },
		{ "2024-02-28T23:00:00-01:00", "2024-02-29T00:00:00Z" },
		{ "2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z" },
		{ "2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z" },
		{ "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z" },
		{ "1969-12-31T23:59:59.999999Z",
		  "1969-12-31T23:59:59.999999Z" },
		{ "0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z" },
		{ "9999-12-31T23:59:59.999999Z",
		  "9999-12-31T23:59:59.999999Z" },
		{ "2025-03-14T15:09:26+23:59", "2025-03-13T15:10:26Z" },
		/* rejected */
		{ "", NULL },
		{ "2025-03-14", NULL },
		{ "2025-03-14T15:09", NULL },
		{ "2025-03-14T15:09:26.Z", NULL },
		{ "2025-03-14T15:09:26.1234567Z", NULL },
		{ "2025-03-14T15:09:26+0530", NULL },
		{ "2025-03-14T15:09:26+05", NULL },
		{ "2025-03-14T15:09:26+24:00", NULL },
		{ "2025-03-14T15:09:26+05:60", NULL },
		{ "2025-03-14T15:09:26ZZ", NULL },
		{ "2025-03-14T15:09:26 ", NULL },
		{ "2025-03-14X15:09:26Z", NULL },
		{ "2025-3-14T15:09:26Z", NULL },
		{ "2025-13-01T00:00:00Z", NULL },
		{ "2025-00-01T00:00:00Z", NULL },
		{ "2025-04-31T00:00:00Z", NULL },
		{ "2023-02-29T00:00:00Z", NULL },
		{ "1900-02-29T00:00:00Z", NULL },
		{ "2025-03-14T24:00:00Z", NULL },
		{ "2025-03-14T23:60:00Z", NULL },
		{ "2025-03-14T23:59:60Z", NULL },
		{ "0000-01-01T00:00:00Z", NULL },
		/* years 0 and 10000 in UTC */
		{ "0001-01-01T00:30:00+01:00", NULL },
		{ "9999-12-31T23:30:00-01:00", NULL },
		{ "+2025-03-14T15:09:26Z", NULL },
		{ NULL, NULL }
	};
	char		 buf[EVBUS_TIME_LEN];
	int64_t		 sec;
	int32_t		 usec;
	int		 i, rv;

	for (i = 0; cases[i].in != NULL; i++) {
		sec = -1;
		usec = -1;
		rv = evbus_time_parse(cases[i].in, &sec, &usec);
		if (cases[i].want == NULL) {
			cu_checkf(rv == -1, "\"%s\": accepted as %lld.%06d",
			    cases[i].in, (long long)sec, (int)usec);
			continue;
		}
		cu_checkf(rv == 0, "\"%s\": rejected", cases[i].in);
		if (rv != 0)
			continue;
		evbus_time_format(sec, usec, EVBUS_TIME_Z, buf, sizeof(buf));
		cu_checkf(strcmp(buf, cases[i].want) == 0,
		    "\"%s\": expected %s, got %s", cases[i].in, cases[i].want,
		    buf);
	}

	/* The fields match the text. */
	CU_ASSERT_EQUAL(evbus_time_parse("2025-03-14T15:09:26.535897Z", &sec,
	    &usec), 0);
	CU_ASSERT_EQUAL(sec, 1741964966);
	CU_ASSERT_EQUAL(usec, 535897);
	CU_ASSERT_EQUAL(evbus_time_parse("1969-12-31T23:59:59.5Z", &sec,
	    &usec), 0);
	CU_ASSERT_EQUAL(sec, -1);
	CU_ASSERT_EQUAL(usec, 500000);
	CU_ASSERT_EQUAL(evbus_time_parse(NULL, &sec, &usec), -1);
}

static void
test_time_format(void)
{
	static const struct {
		int64_t		 sec;
		int32_t		 usec;
		int		 style;
		const char	*want;
	} cases[] = {
		{ 1741964966, 535897, EVBUS_TIME_Z,
		  "2025-03-14T15:09:26.535897Z" },
		{ 1741964966, 535897, EVBUS_TIME_OFFSET,
		  "2025-03-14T15:09:26.535897+00:00" },
		{ 1741964967, 102938, EVBUS_TIME_OFFSET,
		  "2025-03-14T15:09:27.102938+00:00" },
		{ 1741964966, 0, EVBUS_TIME_Z, "2025-03-14T15:09:26Z" },
		{ 1741964966, 0, EVBUS_TIME_OFFSET,
		  "2025-03-14T15:09:26+00:00" },
		{ 0, 0, EVBUS_TIME_Z, "1970-01-01T00:00:00Z" },
		{ 0, 1, EVBUS_TIME_Z, "1970-01-01T00:00:00.000001Z" },
		{ -1, 999999, EVBUS_TIME_Z, "1969-12-31T23:59:59.999999Z" },
		{ -86400, 0, EVBUS_TIME_Z, "1969-12-31T00:00:00Z" },
		{ 951782400, 0, EVBUS_TIME_Z, "2000-02-29T00:00:00Z" },
		{ 253402300799, 0, EVBUS_TIME_Z, "9999-12-31T23:59:59Z" },
		{ -62135596800, 0, EVBUS_TIME_Z, "0001-01-01T00:00:00Z" },
		/* usec out of range is carried into seconds */
		{ 0, 1500000, EVBUS_TIME_Z, "1970-01-01T00:00:01.500000Z" },
		{ 0, -1, EVBUS_TIME_Z, "1969-12-31T23:59:59.999999Z" },
		{ 0, 0, 0, NULL }
	};
	char	 buf[EVBUS_TIME_LEN], small[12];
	int	 i;

	for (i = 0; cases[i].want != NULL; i++) {
		evbus_time_format(cases[i].sec, cases[i].usec, cases[i].style,
		    buf, sizeof(buf));
		cu_checkf(strcmp(buf, cases[i].want) == 0,
		    "%lld.%d style %d: expected %s, got %s",
		    (long long)cases[i].sec, (int)cases[i].usec,
		    cases[i].style, cases[i].want, buf);
	}
	/* A short buffer is truncated, not overrun. */
	CU_ASSERT_PTR_EQUAL(evbus_time_format(1741964966, 1, EVBUS_TIME_Z,
	    small, sizeof(small)), small);
	CU_ASSERT_STRING_EQUAL(small, "2025-03-14T");
	/* Extreme values do not crash. */
	evbus_time_format(INT64_MAX, 0, EVBUS_TIME_Z, buf, sizeof(buf));
	evbus_time_format(INT64_MIN, 0, EVBUS_TIME_Z, buf, sizeof(buf));
	CU_PASS("extremes");
}

/* Now is the system clock's, in range. */
static void
test_time_now(void)
{
	int64_t		 sec;
	int32_t		 usec;
	time_t		 before, after;

	before = time(NULL);
	evbus_time_now(&sec, &usec);
	after = time(NULL);
	cu_checkf(sec >= before && sec <= after, "%lld not in [%lld, %lld]",
	    (long long)sec, (long long)before, (long long)after);
	cu_checkf(usec >= 0 && usec <= 999999, "usec %d", (int)usec);
}

static const struct cu_test isotime_tests[] = {
	{ "parsing and UTC conversion", test_time_parse },
	{ "evbus_time_format Z and +00:00", test_time_format },
	{ "evbus_time_now", test_time_now },
	{ NULL, NULL }
};

static const struct cu_suite suites[] = {
	{ "isotime", isotime_tests },
	{ NULL, NULL }
};

int
main(void)
{
	return cu_run(suites);
}
