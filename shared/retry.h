/*
 * retry.h: the retry policy, identical in effect to eventsource-py's
 * RetryPolicy (wire spec 5.3):
 *
 *	d = min(base * 2^min(n, 512), max)
 *	d = max(0, d + uniform(-d * jitter, +d * jitter))	when jitter > 0
 */
#ifndef EVBUS_RETRY_H
#define EVBUS_RETRY_H

#include <stddef.h>

struct evbus_retry_policy {
	double	 base_delay;	/* seconds, > 0 */
	double	 max_delay;	/* seconds, >= base_delay */
	double	 jitter;	/* fraction 0..1 */
	int	 max_retries;	/* >= 0 */
};

/*
 * Validate with eventsource-py's rules and messages ("base_delay must be
 * > 0, got 0.0", floats written as Python does); returns 0 or -1 with the
 * first violated rule in err.
 */
int	 evbus_retry_policy_check(const struct evbus_retry_policy *, char *err,
	    size_t errlen);

/*
 * Delay in seconds before retry n (n >= 0; a negative n is treated as 0).
 * u is a uniform sample in [-1, 1] that picks the jitter; pass
 * evbus_retry_uniform() in production and fixed values in tests.
 */
double	 evbus_retry_delay(const struct evbus_retry_policy *, int n, double u);

/* The un-jittered delay for retry n: min(base * 2^n, max). */
double	 evbus_retry_base(const struct evbus_retry_policy *, int n);

/* A delay in seconds as whole milliseconds, rounded as llround() does. */
long long evbus_retry_ms(double secs);

/* A uniform sample in [-1, 1] from arc4random. */
double	 evbus_retry_uniform(void);

/* 1 when a delivery carrying retry count n has used up its retries. */
int	 evbus_retry_exhausted(const struct evbus_retry_policy *, long long n);

#endif
