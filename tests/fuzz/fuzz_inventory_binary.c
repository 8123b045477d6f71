/* Fuzz the scan of an executable for the third-party versions
 * mk/versions.sh embeds (common/inventory_parse.c): any bytes, in one
 * piece (a tree) and as the windowed image scan keeps them (the kept
 * lines parse again to the same components). See inventory_check.h. */
#include "inventory_check.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	inventory_fuzz_one(INV_FILE_NONE, data, size);
	struct inventory whole, again;
	inventory_init(&whole);
	inventory_init(&again);
	err_free(inventory_parse_static_binary(&whole, (const char *)data, size, "x", NULL));
	struct strbuf lines = STRBUF_INIT;
	inventory_static_binary_lines((const char *)data, size, &lines);
	err_free(inventory_parse_static_binary(&again, lines.buf ? lines.buf : "", lines.len, "x", NULL));
	inventory_sort(&whole);
	inventory_sort(&again);
	if (whole.n != again.n)
		abort();
	for (size_t i = 0; i < whole.n; i++)
		if (strcmp(whole.c[i].purl, again.c[i].purl) || strcmp(whole.c[i].source_name, again.c[i].source_name))
			abort();
	sb_release(&lines);
	inventory_free(&whole);
	inventory_free(&again);
	return 0;
}
