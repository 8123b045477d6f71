/* The compiled advisory index (tasks/va-scan/vulndb.c) as va-scan opens
 * it: any bytes are refused cleanly or looked up without reading outside
 * them. (The checksum would stop almost every mutated input at the door,
 * so the fuzzer's bytes after the header get a correct one: the key table
 * and pool checks are what is fuzzed.) */
// fuzz-sources: tasks/va-scan/osv.c tasks/va-scan/vulndb.c tasks/va-scan/cvss.c
// fuzz-libs: -lyaml -lm
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tasks/va-scan/vulndb.h"
#include "digest.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static err_t *touch(void *ctx, const char *text, size_t len)
{
	size_t *sum = ctx;
	for (size_t i = 0; i < len; i++)
		*sum += (unsigned char)text[i];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_setup("fuzz_va_index", LOG_HUMAN, LOG_ERROR);
	unsigned char *d = malloc(size ? size : 1);
	memcpy(d, data, size);
	/* a header that passes, around the fuzzer's key table and pool */
	if (size >= VULNDB_HEADER_SIZE && (data[0] & 1)) {
		memcpy(d, VULNDB_MAGIC, 8);
		d[8] = VULNDB_FORMAT, d[9] = d[10] = d[11] = 0;
		for (int i = 0; i < 8; i++)
			d[24 + i] = (unsigned char)((uint64_t)size >> (8 * i));
		struct sha256 h;
		char dig[DIGEST_SIZE];
		sha256_init(&h);
		sha256_update(&h, d, 32);
		sha256_update(&h, d + 32 + DIGEST_SIZE, size - 32 - DIGEST_SIZE);
		sha256_final(&h, dig);
		memcpy(d + 32, dig, DIGEST_SIZE);
	}
	struct vulndb *db = NULL;
	err_t *e = vulndb_from_memory(d, size, "fuzz.idx", &db);
	if (!e) {
		size_t sum = 0;
		static const char *const keys[][2] = { { "npm", "a" }, { "PyPI", "a" }, { "Debian", "" }, { "", "" } };
		for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
			err_free(vulndb_lookup(db, keys[k][0], keys[k][1], touch, &sum));
		vulndb_close(db);
	}
	err_free(e);
	free(d);
	return 0;
}
