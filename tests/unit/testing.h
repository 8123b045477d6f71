/* A minimal unit-test harness: each test_<module>.c lists its test
 * functions in TEST_MAIN (or TEST_MAIN_TEARDOWN); every CHECK failure is
 * reported with file:line and the suite prints one "PASS: suite/test",
 * "FAIL: suite/test" or "SKIP: suite/test: why" per test. A teardown is
 * not a test: it prints only when it fails ("FAIL: suite/teardown"). */
#ifndef TESTS_UNIT_TESTING_H
#define TESTS_UNIT_TESTING_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int testing_failed_;
static const char *testing_skipped_; /* why the running test cannot run here */

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

/* a precondition the rest of the test needs: fails the test and returns */
#define REQUIRE(cond)                                                                  \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "  %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
			testing_failed_ = 1;                                           \
			return;                                                        \
		}                                                                      \
	} while (0)

/* this machine cannot run the test (why: a string literal); counted as
 * skipped, and a failure in CI unless tests/ci-allowed-skips.txt lists it */
#define SKIP(why)                                \
	do {                                     \
		testing_skipped_ = (why);        \
		return;                          \
	} while (0)

typedef void (*test_fn)(void);
struct test_case {
	const char *name;
	test_fn fn;
};

#define TEST(fn) { #fn, fn }

static inline int run_tests(const char *suite, const struct test_case *tests, size_t n, test_fn teardown)
{
	int failures = 0;
	for (size_t i = 0; i < n; i++) {
		testing_failed_ = 0;
		testing_skipped_ = NULL;
		tests[i].fn();
		if (testing_failed_)
			printf("FAIL: %s/%s\n", suite, tests[i].name);
		else if (testing_skipped_)
			printf("SKIP: %s/%s: %s\n", suite, tests[i].name, testing_skipped_);
		else
			printf("PASS: %s/%s\n", suite, tests[i].name);
		failures += testing_failed_;
	}
	if (teardown) {
		testing_failed_ = 0;
		teardown();
		if (testing_failed_)
			printf("FAIL: %s/teardown\n", suite);
		failures += testing_failed_;
	}
	return failures ? 1 : 0;
}

#define TEST_MAIN(suite, ...)                                                           \
	int main(void)                                                                  \
	{                                                                               \
		static const struct test_case tests_[] = { __VA_ARGS__ };               \
		return run_tests(suite, tests_, sizeof tests_ / sizeof *tests_, NULL); \
	}

/* teardown: stops servers, frees what the tests shared; CHECKs in it fail
 * the suite, but it is not counted as a test */
#define TEST_MAIN_TEARDOWN(suite, teardown, ...)                                            \
	int main(void)                                                                      \
	{                                                                                   \
		static const struct test_case tests_[] = { __VA_ARGS__ };                   \
		return run_tests(suite, tests_, sizeof tests_ / sizeof *tests_, teardown); \
	}

#endif
