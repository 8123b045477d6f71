/* libFuzzer target for deploy's manifests: any bytes as a multi-document
 * YAML stream, converted to JSON objects, pinned, namespaced, and turned
 * into API paths (which must stay path-safe: no "." or ".." segment, no "?" or "#"). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifests.h"

// fuzz-sources: tasks/deploy/manifests.c
// fuzz-libs: -Itasks/deploy -lyaml

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifests m = { 0 };
	err_t *e = manifests_parse((const char *)data, size, "fuzz", &m);
	size_t count = 0;
	if (!e)
		e = manifests_pin(&m, "registry.local/app", NULL,
				  "registry.local/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				  "pull", &count);
	err_free(e);
	e = manifests_set_namespace(&m, "ns", true);
	err_free(e);
	for (size_t i = 0; i < m.n; i++) {
		char *path = kobject_path(&m.items[i]);
		size_t len = strlen(path);
		if (strstr(path, "/../") || strstr(path, "/./") || strpbrk(path, "?#% \t\n") ||
		    (len >= 3 && !strcmp(path + len - 3, "/..")) || (len >= 2 && !strcmp(path + len - 2, "/.")))
			abort();
		free(path);
	}
	const char **nss = NULL;
	(void)manifests_namespaces(&m, &nss);
	free(nss);
	(void)manifests_app_namespace(&m);
	manifests_free(&m);
	return 0;
}
