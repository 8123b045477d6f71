/* Fuzz what unit-tests reads of the image it runs tests in
 * (common/imageroot.c): the manifest (or index, with the
 * platform pick) and the config's Env and WorkingDir. Input (sections.h):
 * manifest, config. Any bytes: no crash, no leak; the environment passed
 * to the tests holds only NAME=value entries, and there is always a
 * working directory. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imageroot.h"
#include "manifest.h"
#include "sections.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sections s;
	sections_split(data, size, &s);
	size_t mlen, clen;
	const char *man = sections_get(&s, 0, &mlen);
	const char *cfg = sections_get(&s, 1, &clen);

	struct manifest m;
	err_t *e = manifest_parse(man, mlen, NULL, &m);
	if (!e) {
		if (m.kind == MANIFEST_INDEX) {
			const struct descriptor *pick = NULL;
			err_free(manifest_select_platform(&m, NULL, &pick));
		}
		manifest_release(&m);
	}
	err_free(e);

	struct image_root r = { 0 };
	e = image_root_parse_config(cfg, clen, "sha256:fuzz", &r);
	if (!e) {
		if (!r.env || !r.workdir || !*r.workdir)
			abort();
		for (char **v = r.env; *v; v++)
			if (!strchr(*v, '='))
				abort();
	}
	err_free(e);
	image_root_remove(&r);
	sections_release(&s);
	return 0;
}
