/* libFuzzer target for common/yamldoc: any bytes as a YAML stream, then
 * walk every tree through the getters (aliases included). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "yamldoc.h"

// fuzz-libs: -lyaml

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const struct ydoc_node *n, int depth)
{
	n = ydoc_deref(n);
	if (!n || depth > 300)
		return 0;
	size_t count = 1;
	if (n->line < 1 || n->col < 1)
		abort();
	bool b;
	long long v;
	(void)ydoc_bool(n, &b);
	(void)ydoc_int(n, &v);
	(void)ydoc_str(n);
	if (ydoc_is_seq(n))
		for (size_t i = 0; i < ydoc_count(n) && count < 100000; i++)
			count += walk(ydoc_item(n, i), depth + 1);
	if (ydoc_is_map(n)) {
		for (size_t i = 0; i < ydoc_count(n) && count < 100000; i++) {
			(void)ydoc_key(n, i);
			count += walk(ydoc_value(n, i), depth + 1);
		}
		(void)ydoc_path(n, "spec.template.spec");
	}
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ydoc *y = NULL;
	err_t *e = ydoc_parse((const char *)data, size, "fuzz", &y);
	if (e) {
		err_free(e);
		return 0;
	}
	for (size_t i = 0; i < y->ndocs; i++)
		(void)walk(y->docs[i], 0);
	ydoc_free(y);
	return 0;
}
