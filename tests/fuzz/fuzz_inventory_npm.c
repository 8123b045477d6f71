/* Fuzz the inventory's parser of an npm package-lock.json (v1, v2 or v3)
 * (common/inventory_parse.c): see inventory_check.h for what must hold. */
#include "inventory_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return inventory_fuzz_one(INV_FILE_NPM_LOCK, data, size);
}
