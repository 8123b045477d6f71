/* Fuzz the inventory's parser of a dpkg status file or a status.d/ entry
 * (common/inventory_parse.c): see inventory_check.h for what must hold. */
#include "inventory_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return inventory_fuzz_one(INV_FILE_DPKG_STATUS, data, size);
}
