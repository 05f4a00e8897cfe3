/*
 * isotime.c: ISO-8601 date-times as Python's datetime and pydantic read
 * and write them, held as UTC seconds and microseconds: occurred_at's
 * format ("...Z") and isoformat()'s ("...+00:00") out, the forms pydantic
 * accepts in, the proleptic Gregorian calendar of years 1 to 9999.
 * It must not depend on the host: the calendar is computed here, without
 * gmtime(), TZ or the locale.  Which fields are times is the caller's
 * business (event.c for occurred_at).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "isotime.h"

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	 era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* n decimal digits at *sp into *v, advancing *sp. */
static int
take_digits(const char **sp, int n, int *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!is_digit((*sp)[i]))
			return -1;
		*v = *v * 10 + ((*sp)[i] - '0');
	}
	*sp += n;
	return 0;
}

int
evbus_time_parse(const char *s, int64_t *sec, int32_t *usec)
{
	static const int	 mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31,
				    30, 31, 30, 31 };
	int			 y, mo, d, h, mi, se, us, oh, om, nd, sign;
	int			 leap;
	int64_t			 t;

	if (s == NULL)
		return -1;
	if (take_digits(&s, 4, &y) == -1 || *s++ != '-' ||
	    take_digits(&s, 2, &mo) == -1 || *s++ != '-' ||
	    take_digits(&s, 2, &d) == -1)
		return -1;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -1;
	s++;
	if (take_digits(&s, 2, &h) == -1 || *s++ != ':' ||
	    take_digits(&s, 2, &mi) == -1 || *s++ != ':' ||
	    take_digits(&s, 2, &se) == -1)
		return -1;
	us = 0;
	if (*s == '.') {
		s++;
		for (nd = 0; is_digit(s[nd]); nd++)
			if (nd < 6)
				us = us * 10 + (s[nd] - '0');
		if (nd < 1 || nd > 6)
			return -1;
		for (; nd < 6; nd++)
			us *= 10;
		while (is_digit(*s))
			s++;
	}
	oh = om = 0;
	sign = 0;
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (take_digits(&s, 2, &oh) == -1 || *s++ != ':' ||
		    take_digits(&s, 2, &om) == -1 || oh > 23 || om > 59)
			return -1;
	}
	if (*s != '\0')
		return -1;

	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 ||
	    se > 59)
		return -1;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	/* Python's datetime stops at years 1 and 9999, in UTC too. */
	if (t < days_from_civil(1, 1, 1) * 86400 ||
	    t >= days_from_civil(10000, 1, 1) * 86400)
		return -1;
	*sec = t;
	*usec = us;
	return 0;
}

/* v as n decimal digits at p, zero-padded (v < 10^n). */
static void
digits(char *p, int64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

char *
evbus_time_format(int64_t sec, int32_t usec, int style, char *buf, size_t len)
{
	int64_t	 days, rem, y;
	int	 m, d;
	size_t	 o;
	char	 frac[8];

	if (buf == NULL || len == 0)
		return buf;
	if (usec < 0 || usec > 999999) {
		sec += usec / 1000000;
		usec %= 1000000;
		if (usec < 0) {
			usec += 1000000;
			sec--;
		}
	}
	days = sec / 86400;
	rem = sec % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	if (y >= 0 && y <= 9999 && len >= EVBUS_TIME_LEN) {
		/* The worker formats one per message: no snprintf. */
		digits(buf, y, 4);
		buf[4] = '-';
		digits(buf + 5, m, 2);
		buf[7] = '-';
		digits(buf + 8, d, 2);
		buf[10] = 'T';
		digits(buf + 11, rem / 3600, 2);
		buf[13] = ':';
		digits(buf + 14, rem / 60 % 60, 2);
		buf[16] = ':';
		digits(buf + 17, rem % 60, 2);
		o = 19;
		if (usec != 0) {
			buf[o++] = '.';
			digits(buf + o, usec, 6);
			o += 6;
		}
		memcpy(buf + o, style == EVBUS_TIME_OFFSET ? "+00:00" : "Z",
		    style == EVBUS_TIME_OFFSET ? 7 : 2);
		return buf;
	}
	frac[0] = '\0';
	if (usec != 0)
		snprintf(frac, sizeof(frac), ".%06d", (int)usec);
	snprintf(buf, len, "%04jd-%02d-%02dT%02d:%02d:%02d%s%s", (intmax_t)y,
	    m, d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
	    frac, style == EVBUS_TIME_OFFSET ? "+00:00" : "Z");
	return buf;
}

void
evbus_time_now(int64_t *sec, int32_t *usec)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = ts.tv_sec;
	*usec = (int32_t)(ts.tv_nsec / 1000);
}
