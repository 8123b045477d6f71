/* Fuzz the inventory's parser of an etc/os-release
 * (common/inventory_parse.c): see inventory_check.h for what must hold. */
#include "inventory_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return inventory_fuzz_one(INV_FILE_OS_RELEASE, data, size);
}
