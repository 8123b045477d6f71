/* The ecosystems' version orderings (common/version*.c): the first byte
 * picks the scheme, the rest is "a<TAB>b" compared both ways (antisymmetry
 * checked), and for SemVer also "range<TAB>version" through
 * semver_range_satisfies. Nothing may crash; a valid pair must order
 * consistently. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	enum version_scheme s = (enum version_scheme)(data[0] % 4);
	char *text = xstrndup((const char *)data + 1, size - 1);
	char *tab = strchr(text, '\t');
	const char *a = text, *b = "1.0.0";
	if (tab) {
		*tab = '\0';
		b = tab + 1;
	}
	int ab = 0, ba = 0;
	err_t *e1 = version_compare(s, a, b, &ab), *e2 = version_compare(s, b, a, &ba);
	if (!e1 != !e2)
		abort(); /* validity does not depend on the order */
	if (!e1 && ((ab > 0) - (ab < 0)) != -((ba > 0) - (ba < 0)))
		abort(); /* a < b exactly when b > a */
	err_free(e1), err_free(e2);
	if (s == VERSION_SEMVER) {
		bool in;
		err_free(semver_range_satisfies(a, b, &in));
	}
	free(text);
	return 0;
}
