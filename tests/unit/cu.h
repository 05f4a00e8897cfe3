/*
 * cu.h: the little glue every CUnit test program shares.
 *
 * A test program lists its suites in a table and calls cu_run(), which
 * runs them with the basic interface (verbose: every test is named) and
 * turns failures into the exit status automake's harness expects.
 * Table-driven tests print the case that failed with CU_FAIL_MSG-style
 * messages built by cu_failf().
 */
#ifndef EVBUS_TEST_CU_H
#define EVBUS_TEST_CU_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

struct cu_test {
	const char	*name;
	void		(*fn)(void);
};

struct cu_suite {
	const char		*name;
	const struct cu_test	*tests;	/* terminated by { NULL, NULL } */
};

/* Record a failure with a formatted message ("case 3: expected X, got Y"). */
#define cu_failf(...) do {						\
	char cu_msg_[512];						\
	snprintf(cu_msg_, sizeof(cu_msg_), __VA_ARGS__);		\
	CU_assertImplementation(CU_FALSE, __LINE__, cu_msg_, __FILE__,	\
	    "", CU_FALSE);						\
} while (0)

/* Assert cond; on failure record the formatted message. */
#define cu_checkf(cond, ...) do {					\
	if (!(cond))							\
		cu_failf(__VA_ARGS__);					\
	else								\
		CU_PASS(#cond);						\
} while (0)

static inline int
cu_run(const struct cu_suite *suites)
{
	const struct cu_suite	*s;
	const struct cu_test	*t;
	CU_pSuite		 ps;
	unsigned int		 failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	for (s = suites; s->name != NULL; s++) {
		if ((ps = CU_add_suite(s->name, NULL, NULL)) == NULL)
			return 99;
		for (t = s->tests; t->name != NULL; t++)
			if (CU_add_test(ps, t->name, t->fn) == NULL)
				return 99;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	if (CU_get_number_of_tests_run() == 0)
		failed = 1;
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

#endif
