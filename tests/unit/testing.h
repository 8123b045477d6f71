/* A minimal unit-test harness: each test_<module>.c defines TESTS() as a
 * list of functions; every CHECK failure is reported with file:line and
 * the suite prints one "PASS: suite/test" or "FAIL: suite/test" per test. */
#ifndef TESTS_UNIT_TESTING_H
#define TESTS_UNIT_TESTING_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int testing_failed_;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			testing_failed_ = 1;                                         \
		}                                                                    \
	} while (0)

#define CHECK_STR(got, want)                                                                   \
	do {                                                                                   \
		const char *g_ = (got), *w_ = (want);                                          \
		if (!g_ || !w_ || strcmp(g_, w_)) {                                            \
			fprintf(stderr, "  %s:%d: got '%s', want '%s'\n", __FILE__, __LINE__,  \
				g_ ? g_ : "(null)", w_ ? w_ : "(null)");                        \
			testing_failed_ = 1;                                                   \
		}                                                                              \
	} while (0)

typedef void (*test_fn)(void);
struct test_case {
	const char *name;
	test_fn fn;
};

#define TEST(fn) { #fn, fn }

static inline int run_tests(const char *suite, const struct test_case *tests, size_t n)
{
	int failures = 0;
	for (size_t i = 0; i < n; i++) {
		testing_failed_ = 0;
		tests[i].fn();
		printf("%s: %s/%s\n", testing_failed_ ? "FAIL" : "PASS", suite, tests[i].name);
		failures += testing_failed_;
	}
	return failures ? 1 : 0;
}

#define TEST_MAIN(suite, ...)                                                     \
	int main(void)                                                            \
	{                                                                         \
		static const struct test_case tests_[] = { __VA_ARGS__ };         \
		return run_tests(suite, tests_, sizeof tests_ / sizeof *tests_); \
	}

#endif
