/* Fuzz the inventory's parser of Alpine's installed database (lib/apk/db/installed)
 * (common/inventory_parse.c): see inventory_check.h for what must hold. */
#include "inventory_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return inventory_fuzz_one(INV_FILE_APK_INSTALLED, data, size);
}
