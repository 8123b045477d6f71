/* libFuzzer target for cis-check: any bytes as a multi-document YAML
 * stream through every hardening check. */
#include <stddef.h>
#include <stdint.h>

#include "checks.h"
#include "findings.h"
#include "yamldoc.h"

// fuzz-sources: tasks/cis-check/checks.c
// fuzz-libs: -Itasks/cis-check -lyaml

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ydoc *y = NULL;
	err_t *e = ydoc_parse((const char *)data, size, "fuzz", &y);
	if (e) {
		err_free(e);
		return 0;
	}
	struct cis_config cfg;
	cis_config_init(&cfg);
	struct findings out = { 0 };
	cis_check_stream(y, "fuzz", &cfg, &out);
	findings_sort(&out);
	findings_release(&out);
	cis_config_release(&cfg);
	ydoc_free(y);
	return 0;
}
