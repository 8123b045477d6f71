/* common/jsonutil: any bytes parsed, then written canonically; the
 * canonical form must parse back to an equal value and be a fixpoint. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = NULL;
	err_t *e = json_parse((const char *)data, size, "fuzz", &v);
	if (e) {
		err_free(e);
		return 0;
	}
	struct strbuf once = STRBUF_INIT, twice = STRBUF_INIT;
	e = json_canonical(v, &once);
	if (!e) {
		json_t *back = NULL;
		err_t *e2 = json_parse(once.buf, once.len, "canonical", &back);
		if (e2 || !json_equal(v, back))
			abort();
		if (json_canonical(back, &twice) || once.len != twice.len || memcmp(once.buf, twice.buf, once.len))
			abort();
		json_decref(back);
	}
	err_free(e);
	sb_release(&once);
	sb_release(&twice);
	json_decref(v);
	return 0;
}
