/* libFuzzer target for unit-tests' JUnit XML reader: any bytes as a report. */
#include <stddef.h>
#include <stdint.h>

#include "junit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct junit_totals t = { 0 };
	err_t *e = junit_parse((const char *)data, size, "fuzz", &t);
	err_free(e);
	junit_totals_release(&t);
	return 0;
}
