/* Fuzz the header values common/http reads from a server: Retry-After
 * (delta-seconds or an HTTP date, at several "now"s) and a 206's
 * Content-Range. Any bytes: no crash, no overflow (UBSan), the delay stays
 * within [-1, a day], and an accepted Content-Range re-reads the same. */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "http.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = xstrndup((const char *)data, size);
	static const time_t nows[] = { 0, 1700000000, 253402300799 /* 9999-12-31 */ };
	for (size_t i = 0; i < sizeof nows / sizeof *nows; i++) {
		long ms = http_retry_after_ms(v, nows[i]);
		if (ms < -1 || ms > RETRY_AFTER_MAX_S * 1000L)
			abort();
	}
	uint64_t start = 0;
	if (http_content_range_start(v, &start)) {
		/* the normal form of what was accepted is accepted alike */
		char again[96];
		snprintf(again, sizeof again, "bytes %" PRIu64 "-%" PRIu64 "/*", start, start);
		uint64_t s2 = 1;
		if (!http_content_range_start(again, &s2) || s2 != start)
			abort();
	}
	free(v);
	return 0;
}
