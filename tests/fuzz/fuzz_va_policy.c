/* va-scan's exceptions (tasks/va-scan/policy.c): an ignore file (YAML) or
 * an OpenVEX document (JSON), as the first byte says, read or refused
 * cleanly, then applied to findings. */
// fuzz-sources: tasks/va-scan/policy.c tasks/va-scan/match.c tasks/va-scan/osv.c tasks/va-scan/vulndb.c tasks/va-scan/cvss.c
// fuzz-libs: -lyaml -lm
#include <stddef.h>
#include <stdint.h>

#include "../../tasks/va-scan/policy.h"
#include "log.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	log_setup("fuzz_va_policy", LOG_HUMAN, LOG_ERROR);
	struct va_policy *p = va_policy_new(1700000000);
	err_t *e = data[0] & 1 ? va_policy_load_vex(p, (const char *)data + 1, size - 1, "fuzz.vex")
			       : va_policy_load_ignore(p, (const char *)data + 1, size - 1, "fuzz.yaml");
	err_free(e);
	struct va_findings fs = { 0 };
	fs.f = xcalloc(2, sizeof *fs.f);
	fs.n = fs.cap = 2;
	for (int i = 0; i < 2; i++) {
		struct va_finding *f = &fs.f[i];
		f->id = xstrdup(i ? "GHSA-xvch-5gv4-984h" : "PYSEC-1");
		f->aliases = json_pack("[s]", "CVE-2021-44906");
		f->summary = xstrdup(""), f->severity = xstrdup("HIGH"), f->ecosystem = xstrdup("npm");
		f->package = xstrdup("minimist"), f->version = xstrdup("1.2.0");
		f->purl = xstrdup(i ? "pkg:npm/minimist@1.2.0" : "pkg:pypi/a@1?x=y");
		f->score = -1;
	}
	va_policy_apply(p, &fs);
	(void)va_policy_failing(&fs, VA_LOW);
	va_findings_release(&fs);
	va_policy_free(p);
	return 0;
}
