/* va-scan update-db: fetch advisory zips / JSON over HTTPS (common/http:
 * retries with backoff, resumed transfers), check each against its
 * expected SHA-256 when one is given, compile them into an index and swap
 * it in atomically (rename). Anything that fails on the way (a server
 * down, a cut transfer that cannot be resumed, a digest mismatch, a
 * corrupt zip) leaves the old index as it was. */
#ifndef VA_SCAN_UPDATE_H
#define VA_SCAN_UPDATE_H

#include <stddef.h>

#include "error.h"
#include "http.h"

struct va_update {
	const char *const *urls;
	size_t n;
	const char *const *digests; /* "sha256:<hex>" per URL, in order; n or none */
	size_t ndigests;
	const char *index_path;     /* the index to replace (created if missing) */
	struct http_options http;
};

/* On success *records is the new index's advisory count. */
err_t *va_update_db(const struct va_update *u, size_t *records);

#endif
