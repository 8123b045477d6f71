/* JUnit XML reports (the format most test runners write: <testsuites>,
 * <testsuite>, <testcase> with <failure>, <error>, <skipped>): a small,
 * bounded XML reader for untrusted files that sums the totals and lists
 * the failing cases. No DTDs, no external entities. */
#ifndef COMMON_JUNIT_H
#define COMMON_JUNIT_H

#include <stddef.h>

#include "error.h"

struct junit_case {
	char *suite;
	char *classname;
	char *name;
	char *kind;    /* "failure" or "error" */
	char *message; /* the message attribute, or the first line of the body */
	char *file;    /* the report it came from */
};

struct junit_totals {
	size_t tests, failures, errors, skipped;
	double time;
	struct junit_case *failed;
	size_t nfailed;
};

/* Add one report's cases to t. Malformed XML is EXIT_USAGE "file:line: ...". */
err_t *junit_parse(const char *text, size_t len, const char *file, struct junit_totals *t);
void junit_totals_release(struct junit_totals *t);

#endif
