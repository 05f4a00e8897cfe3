/*
 * retry.c: exponential backoff with symmetric jitter, as eventsource-py's
 * RetryPolicy computes it, and the same validation rules and messages.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pyjson.h"	/* evbus_float_repr */
#include "retry.h"

/*
 * Numbers are written as Python writes the floats in RetryPolicy's messages
 * ("got 0.0", "got -1.5", "got 1e-05").
 */
int
evbus_retry_policy_check(const struct evbus_retry_policy *p, char *err,
    size_t errlen)
{
	char	 a[32], b[32];

	if (!(p->base_delay > 0))
		snprintf(err, errlen, "base_delay must be > 0, got %s",
		    evbus_float_repr(p->base_delay, a, sizeof(a)));
	else if (!(p->max_delay > 0))
		snprintf(err, errlen, "max_delay must be > 0, got %s",
		    evbus_float_repr(p->max_delay, a, sizeof(a)));
	else if (p->max_delay < p->base_delay)
		snprintf(err, errlen, "max_delay must be >= base_delay, got "
		    "%s < %s", evbus_float_repr(p->max_delay, a, sizeof(a)),
		    evbus_float_repr(p->base_delay, b, sizeof(b)));
	else if (!(p->jitter >= 0.0 && p->jitter <= 1.0))
		snprintf(err, errlen, "jitter must be between 0.0 and 1.0, "
		    "got %s", evbus_float_repr(p->jitter, a, sizeof(a)));
	else if (p->max_retries < 0)
		snprintf(err, errlen, "max_retries must be >= 0, got %d",
		    p->max_retries);
	else
		return 0;
	return -1;
}

double
evbus_retry_base(const struct evbus_retry_policy *p, int n)
{
	double	 d;

	if (n < 0)
		n = 0;
	if (n > 512)
		n = 512;
	/*
	 * Doubling is exact, as ldexp's 2^n is; it stops once past the cap,
	 * which min() with max_delay then applies (also to a NaN or an
	 * overflow).  No libm: see evbus_retry_ms().
	 */
	for (d = p->base_delay; n > 0 && d <= p->max_delay; n--)
		d *= 2;
	if (!(d <= p->max_delay))
		d = p->max_delay;
	return d;
}

/*
 * llround(secs * 1000), halves away from zero, without libm: evbusd does
 * not link it, since every worker would map it for the three trivial
 * functions it used (about 200 KiB of its RSS).
 */
long long
evbus_retry_ms(double secs)
{
	double		 ms = secs * 1000.0, frac;
	long long	 i;

	if (!(ms > -9.2e18 && ms < 9.2e18))
		return ms > 0 ? LLONG_MAX : ms < 0 ? LLONG_MIN : 0;
	i = (long long)ms;		/* toward zero */
	frac = ms - (double)i;		/* exact */
	if (frac >= 0.5)
		i++;
	else if (frac <= -0.5)
		i--;
	return i;
}

double
evbus_retry_delay(const struct evbus_retry_policy *p, int n, double u)
{
	double	 d = evbus_retry_base(p, n);

	if (p->jitter > 0) {
		if (u < -1.0)
			u = -1.0;
		if (u > 1.0)
			u = 1.0;
		d += d * p->jitter * u;
		/* max(0.0, d) as Python has it, which also turns NaN into 0. */
		if (!(d > 0))
			d = 0;
	}
	return d;
}

double
evbus_retry_uniform(void)
{
	/* 53 random bits mapped onto [-1, 1]. */
	uint64_t r = ((uint64_t)arc4random() << 21) ^ arc4random();

	r &= (UINT64_C(1) << 53) - 1;
	return (double)r / (double)((UINT64_C(1) << 53) - 1) * 2.0 - 1.0;
}

int
evbus_retry_exhausted(const struct evbus_retry_policy *p, long long n)
{
	return n >= p->max_retries;
}
