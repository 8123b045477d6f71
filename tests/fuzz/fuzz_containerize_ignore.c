/* .dockerignore patterns and glob matching (tasks/containerize/ignore.c):
 * the first line of the input is a path, the rest a .dockerignore. */
// fuzz-sources: tasks/containerize/ignore.c tasks/containerize/rootfs.c
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tasks/containerize/ignore.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	char *nl = strchr(text, '\n');
	const char *rules = "";
	if (nl) {
		*nl = '\0';
		rules = nl + 1;
	}
	struct ignore *ig = ignore_parse(rules);
	(void)ignore_match(ig, text);
	(void)ignore_may_reinclude(ig, text);
	(void)glob_match(rules, text);
	ignore_free(ig);
	free(text);
	return 0;
}
