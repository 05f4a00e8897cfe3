/*
 * isotime.h: ISO-8601 date-times as Python's datetime and pydantic read
 * and write them (occurred_at, the x-death and DLQ timestamps), held as
 * UTC seconds and microseconds.
 */
#ifndef EVBUS_ISOTIME_H
#define EVBUS_ISOTIME_H

#include <stddef.h>
#include <stdint.h>

/* Room for "YYYY-MM-DDTHH:MM:SS.ffffff+00:00" and its NUL. */
#define EVBUS_TIME_LEN		40

/*
 * Parse an ISO-8601 date-time ("YYYY-MM-DDTHH:MM:SS[.f{1,6}][Z|+HH:MM]",
 * a space is accepted for the "T", no zone means UTC) into UTC seconds and
 * microseconds.  Years 1 to 9999 in UTC, as Python's datetime.  Returns 0
 * or -1.
 */
int	 evbus_time_parse(const char *s, int64_t *sec, int32_t *usec);

/*
 * Format UTC seconds and microseconds: style EVBUS_TIME_Z gives pydantic's
 * "2025-03-14T15:09:26.535897Z", EVBUS_TIME_OFFSET gives Python isoformat's
 * "2025-03-14T15:09:26.535897+00:00"; the fraction is omitted when usec is
 * 0.  Returns buf.
 */
#define EVBUS_TIME_Z		0
#define EVBUS_TIME_OFFSET	1
char	*evbus_time_format(int64_t sec, int32_t usec, int style, char *buf,
	    size_t len);

/* Now as UTC seconds and microseconds. */
void	 evbus_time_now(int64_t *sec, int32_t *usec);

#endif
