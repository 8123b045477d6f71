/* Fuzz the registry's Link header reader (tag list pagination): any bytes
 * give the rel="next" target or NULL, never a crash or a leak; a target is
 * always text that stood between '<' and '>' in the value, and a header
 * naming only that target as next gives it back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = xstrndup((const char *)data, size);
	char *next = registry_link_next(v);
	if (next) {
		if (strchr(next, '>'))
			abort();
		char *quoted = xasprintf("<%s>", next);
		if (!strstr(v, quoted))
			abort();
		char *again = xasprintf("<%s>; rel=\"next\"", next);
		char *n2 = registry_link_next(again);
		if (!n2 || strcmp(n2, next))
			abort();
		free(n2);
		free(again);
		free(quoted);
		free(next);
	}
	free(v);
	return 0;
}
