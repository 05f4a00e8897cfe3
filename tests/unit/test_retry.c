/*
 * test_retry.c: the retry policy (shared/retry.c) against wire spec 5.3
 * and the validation messages of 1.3.
 */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cu.h"
#include "retry.h"

/* eventsource-py's defaults: 1 s base, 60 s cap, 10 % jitter, 3 retries. */
static const struct evbus_retry_policy defaults = { 1.0, 60.0, 0.1, 3 };

static void
test_base_delays(void)
{
	static const struct {
		int	 n;
		double	 want;
	} cases[] = {
		{ 0, 1 }, { 1, 2 }, { 2, 4 }, { 3, 8 }, { 4, 16 }, { 5, 32 },
		{ 6, 60 }, { 7, 60 }, { 30, 60 }, { -1, 1 }, { INT_MIN, 1 },
		{ 0, 0 }
	};
	double	 d;
	int	 i;

	for (i = 0; cases[i].want != 0; i++) {
		d = evbus_retry_base(&defaults, cases[i].n);
		cu_checkf(d == cases[i].want, "base(%d): expected %g, got %g",
		    cases[i].n, cases[i].want, d);
		/* u = 0 is the un-jittered delay. */
		d = evbus_retry_delay(&defaults, cases[i].n, 0.0);
		cu_checkf(d == cases[i].want, "delay(%d, u=0): expected %g, "
		    "got %g", cases[i].n, cases[i].want, d);
	}
}

static void
test_cap_and_jitter_bounds(void)
{
	static const struct {
		struct evbus_retry_policy	 p;
		int				 n;
		double				 u;
		double				 want;
	} cases[] = {
		/* +-10 % around 1, 2, 4, 8, 16 */
		{ { 1.0, 60.0, 0.1, 3 }, 0, -1.0, 0.9 },
		{ { 1.0, 60.0, 0.1, 3 }, 0, 1.0, 1.1 },
		{ { 1.0, 60.0, 0.1, 3 }, 3, -1.0, 7.2 },
		{ { 1.0, 60.0, 0.1, 3 }, 4, 1.0, 17.6 },
		/* jitter applies after the cap: up to 66 s with the defaults */
		{ { 1.0, 60.0, 0.1, 3 }, 10, 1.0, 66.0 },
		{ { 1.0, 60.0, 0.1, 3 }, 10, -1.0, 54.0 },
		{ { 1.0, 60.0, 0.1, 3 }, 10, 0.5, 63.0 },
		/* u outside [-1, 1] is clamped */
		{ { 1.0, 60.0, 0.1, 3 }, 0, 5.0, 1.1 },
		{ { 1.0, 60.0, 0.1, 3 }, 0, -5.0, 0.9 },
		/* full jitter reaches 0 and 2d, never below 0 */
		{ { 1.0, 60.0, 1.0, 3 }, 2, -1.0, 0.0 },
		{ { 1.0, 60.0, 1.0, 3 }, 2, 1.0, 8.0 },
		/* no jitter: u is ignored */
		{ { 1.0, 60.0, 0.0, 3 }, 2, 1.0, 4.0 },
		{ { 1.0, 60.0, 0.0, 3 }, 2, -1.0, 4.0 },
		/* other bases and caps */
		{ { 0.5, 10.0, 0.0, 3 }, 3, 0.0, 4.0 },
		{ { 0.5, 10.0, 0.0, 3 }, 5, 0.0, 10.0 },
		{ { 2.0, 2.0, 0.0, 3 }, 0, 0.0, 2.0 },
		{ { 2.0, 2.0, 0.0, 3 }, 9, 0.0, 2.0 },
		{ { 0.25, 1e9, 0.0, 3 }, 20, 0.0, 262144.0 },
		{ { 1.0, 60.0, 0.0, 0 }, 0, 0.0, 0.0 }
	};
	double	 d;
	int	 i;

	for (i = 0; cases[i].p.max_retries != 0; i++) {
		d = evbus_retry_delay(&cases[i].p, cases[i].n, cases[i].u);
		cu_checkf(fabs(d - cases[i].want) < 1e-9,
		    "case %d: delay(base %g, max %g, jitter %g, n=%d, u=%g): "
		    "expected %.17g, got %.17g", i, cases[i].p.base_delay,
		    cases[i].p.max_delay, cases[i].p.jitter, cases[i].n,
		    cases[i].u, cases[i].want, d);
	}
}

/* n = 512 and beyond neither overflow nor leave the cap. */
static void
test_huge_n(void)
{
	static const int	 ns[] = { 63, 64, 511, 512, 513, 1024, 100000,
				    INT_MAX };
	struct evbus_retry_policy p;
	double			 d;
	size_t			 i;

	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		d = evbus_retry_delay(&defaults, ns[i], 1.0);
		cu_checkf(fabs(d - 66.0) < 1e-9, "defaults, n=%d: expected 66, "
		    "got %.17g", ns[i], d);
	}

	/* A cap too high to reach: 2^512 is the largest factor, as in
	 * Python's min(n, 512). */
	p.base_delay = 1.0;
	p.max_delay = 1e308;
	p.jitter = 0.0;
	p.max_retries = 3;
	d = evbus_retry_delay(&p, INT_MAX, 0.0);
	cu_checkf(d == ldexp(1.0, 512), "n=INT_MAX: expected 2^512, got %g",
	    d);
	cu_checkf(evbus_retry_delay(&p, 512, 0.0) ==
	    evbus_retry_delay(&p, 513, 0.0), "n=512 and 513 differ");

	/* base * 2^512 overflows a double: the cap still holds. */
	p.base_delay = 1e300;
	p.max_delay = 1.7e308;
	d = evbus_retry_delay(&p, 512, 0.0);
	cu_checkf(d == 1.7e308, "overflow: expected the cap, got %g", d);

	/* An infinite cap cannot produce NaN or a negative delay. */
	p.max_delay = INFINITY;
	p.jitter = 0.1;
	d = evbus_retry_delay(&p, 512, 0.0);
	cu_checkf(!isnan(d) && d >= 0, "infinite cap: got %g", d);
}

static void
test_never_negative(void)
{
	static const double	 us[] = { -1.0, -0.999, -0.5, 0.0, 0.5,
				    1.0 };
	static const double	 jitters[] = { 0.0, 0.1, 0.5, 1.0 };
	struct evbus_retry_policy p = { 0.001, 3600.0, 0.0, 3 };
	double			 d;
	size_t			 i, j;
	int			 n, bad = 0;

	for (j = 0; j < sizeof(jitters) / sizeof(jitters[0]); j++) {
		p.jitter = jitters[j];
		for (n = -2; n < 600; n++)
			for (i = 0; i < sizeof(us) / sizeof(us[0]); i++) {
				d = evbus_retry_delay(&p, n, us[i]);
				if (!(d >= 0) || d > p.max_delay *
				    (1 + p.jitter) * (1 + 1e-12)) {
					if (bad++ == 0)
						cu_failf("jitter %g, n=%d, "
						    "u=%g: %g", p.jitter, n,
						    us[i], d);
				}
			}
	}
	cu_checkf(bad == 0, "%d delays out of [0, max * (1 + jitter)]", bad);
}

static void
test_policy_check(void)
{
	static const struct {
		struct evbus_retry_policy	 p;
		const char			*err;	/* NULL: valid */
	} cases[] = {
		{ { 1.0, 60.0, 0.1, 3 }, NULL },
		{ { 1.0, 1.0, 0.0, 0 }, NULL },
		{ { 0.001, 1e9, 1.0, 1000 }, NULL },
		{ { 0.0, 60.0, 0.1, 3 }, "base_delay must be > 0, got 0.0" },
		{ { -1.5, 60.0, 0.1, 3 }, "base_delay must be > 0, got -1.5" },
		{ { -0.0, 60.0, 0.1, 3 }, "base_delay must be > 0, got -0.0" },
		{ { NAN, 60.0, 0.1, 3 }, "base_delay must be > 0, got nan" },
		{ { 1.0, 0.0, 0.1, 3 }, "max_delay must be > 0, got 0.0" },
		{ { 1.0, -2.0, 0.1, 3 }, "max_delay must be > 0, got -2.0" },
		{ { 2.0, 1.0, 0.1, 3 },
		  "max_delay must be >= base_delay, got 1.0 < 2.0" },
		{ { 2e-05, 1e-05, 0.1, 3 },
		  "max_delay must be >= base_delay, got 1e-05 < 2e-05" },
		{ { 1e17, 1e16, 0.1, 3 },
		  "max_delay must be >= base_delay, got 1e+16 < 1e+17" },
		{ { 100.5, 60.25, 0.1, 3 },
		  "max_delay must be >= base_delay, got 60.25 < 100.5" },
		{ { 1.0, 60.0, 1.5, 3 },
		  "jitter must be between 0.0 and 1.0, got 1.5" },
		{ { 1.0, 60.0, -0.1, 3 },
		  "jitter must be between 0.0 and 1.0, got -0.1" },
		{ { 1.0, 60.0, NAN, 3 },
		  "jitter must be between 0.0 and 1.0, got nan" },
		{ { 1.0, 60.0, 0.1, -1 }, "max_retries must be >= 0, got -1" },
		/* the first violated rule, in Python's order */
		{ { 0.0, 0.0, 2.0, -1 }, "base_delay must be > 0, got 0.0" },
		{ { 1.0, 0.5, 2.0, -1 },
		  "max_delay must be >= base_delay, got 0.5 < 1.0" },
		{ { 1.0, 60.0, 2.0, -1 },
		  "jitter must be between 0.0 and 1.0, got 2.0" },
		{ { 0, 0, 0, 0 }, "" }
	};
	char	 err[256], tiny[8];
	int	 i, rv;

	for (i = 0; cases[i].err == NULL || cases[i].err[0] != '\0'; i++) {
		err[0] = '\0';
		rv = evbus_retry_policy_check(&cases[i].p, err, sizeof(err));
		if (cases[i].err == NULL)
			cu_checkf(rv == 0, "case %d: rejected: %s", i, err);
		else
			cu_checkf(rv == -1 && strcmp(err, cases[i].err) == 0,
			    "case %d: expected \"%s\", got %d \"%s\"", i,
			    cases[i].err, rv, err);
	}
	/* A short buffer is truncated, not overrun. */
	memset(tiny, 'X', sizeof(tiny));
	CU_ASSERT_EQUAL(evbus_retry_policy_check(&cases[3].p, tiny,
	    sizeof(tiny)), -1);
	CU_ASSERT_STRING_EQUAL(tiny, "base_de");
}

static void
test_uniform(void)
{
	double	 u, sum = 0, lo = 2, hi = -2;
	int	 i, n = 200000, neg = 0, out = 0;

	for (i = 0; i < n; i++) {
		u = evbus_retry_uniform();
		if (!(u >= -1.0 && u <= 1.0))
			out++;
		if (u < 0)
			neg++;
		if (u < lo)
			lo = u;
		if (u > hi)
			hi = u;
		sum += u;
	}
	cu_checkf(out == 0, "%d samples outside [-1, 1]", out);
	cu_checkf(lo < -0.999 && hi > 0.999, "range [%g, %g] too narrow", lo,
	    hi);
	/* Mean 0, standard error 0.0013: 0.01 is more than 7 sigma. */
	cu_checkf(fabs(sum / n) < 0.01, "mean %g", sum / n);
	cu_checkf(neg > n * 0.49 && neg < n * 0.51, "%d of %d negative", neg,
	    n);

	/* In production: delays for retry 0 within 1 s +- 10 %. */
	for (i = 0; i < 10000; i++) {
		u = evbus_retry_delay(&defaults, 0, evbus_retry_uniform());
		if (u < 0.9 || u > 1.1) {
			cu_failf("delay %g outside [0.9, 1.1]", u);
			break;
		}
	}
	CU_PASS("jittered delays");
}

static void
test_exhausted(void)
{
	static const struct {
		int		 max_retries;
		long long	 n;
		int		 want;
	} cases[] = {
		{ 3, 0, 0 }, { 3, 1, 0 }, { 3, 2, 0 }, { 3, 3, 1 }, { 3, 4, 1 },
		{ 3, -1, 0 }, { 3, LLONG_MAX, 1 }, { 0, 0, 1 }, { 0, 1, 1 },
		{ 1, 0, 0 }, { 1, 1, 1 }, { -1, -1, -1 }
	};
	struct evbus_retry_policy p = defaults;
	int			 i;

	for (i = 0; cases[i].want != -1; i++) {
		p.max_retries = cases[i].max_retries;
		cu_checkf(evbus_retry_exhausted(&p, cases[i].n) ==
		    cases[i].want, "max_retries %d, count %lld: expected %d",
		    cases[i].max_retries, cases[i].n, cases[i].want);
	}
}

/*
 * Without libm in evbusd, retry.c doubles instead of ldexp() and rounds
 * milliseconds itself: the same values as libm's (this test links it),
 * since retry queue names are made of them.
 */
static void
test_as_libm(void)
{
	static const double	 secs[] = {
		0, 0.0004, 0.0005, 0.0015, 0.0025, 0.001, 1, 1.0005, 2.5e-3,
		0.4999999999999999e-3, 0.5000000000000001e-3, 60, 3600.0005,
		1e-300, 4503599627370.4995, 4503599627370.5, 1e15, 9e15, -0.0005,
		-1.5e-3, -0.0004
	};
	static const double	 bases[] = {
		1, 0.001, 0.3, 1e-5, 5e-324, 1e300, 123.456
	};
	struct evbus_retry_policy p = { 1, 1e308, 0, 3 };
	size_t			 i, j;
	int			 n;
	double			 want;

	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
		cu_checkf(evbus_retry_ms(secs[i]) == llround(secs[i] * 1000.0),
		    "%.17g s: expected %lld ms, got %lld", secs[i],
		    llround(secs[i] * 1000.0), evbus_retry_ms(secs[i]));
	for (j = 0; j < sizeof(bases) / sizeof(bases[0]); j++) {
		p.base_delay = bases[j];
		for (n = 0; n <= 520; n++) {
			want = ldexp(bases[j], n < 512 ? n : 512);
			if (!(want <= p.max_delay))
				want = p.max_delay;
			if (evbus_retry_base(&p, n) != want) {
				cu_failf("base %g, n=%d: expected %.17g, got "
				    "%.17g", bases[j], n, want,
				    evbus_retry_base(&p, n));
				break;
			}
		}
	}
	CU_PASS("as libm");
}

static const struct cu_test delay_tests[] = {
	{ "1, 2, 4, 8, 16 s, capped at 60", test_base_delays },
	{ "cap and jitter bounds", test_cap_and_jitter_bounds },
	{ "n >= 512 does not overflow", test_huge_n },
	{ "delays never negative", test_never_negative },
	{ "evbus_retry_uniform in [-1, 1]", test_uniform },
	{ "ldexp and llround without libm", test_as_libm },
	{ NULL, NULL }
};

static const struct cu_test policy_tests[] = {
	{ "messages as eventsource-py's (wire spec 1.3)", test_policy_check },
	{ "exhausted after max_retries", test_exhausted },
	{ NULL, NULL }
};

static const struct cu_suite suites[] = {
	{ "retry: delays", delay_tests },
	{ "retry: policy", policy_tests },
	{ NULL, NULL }
};

int
main(void)
{
	return cu_run(suites);
}
