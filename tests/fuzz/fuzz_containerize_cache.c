/* Fuzz containerize's layer cache entries (tasks/containerize/cache.c) as
 * a cache dir or a cache repository serves them: a keys/<hex> entry, and a
 * cache-<hex> tag's manifest carrying one in an annotation. Input
 * (sections.h): entry, manifest, manifest media type (empty: none).
 * Any bytes: no crash, no leak; a layer taken from an entry has valid
 * digests, a size that is not negative and a media type. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cache.h"
#include "digest.h"
#include "sections.h"

// fuzz-sources: tasks/containerize/cache.c tasks/containerize/imagesrc.c tasks/containerize/imgconfig.c
// fuzz-libs: -Itasks/containerize

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(err_t *e, bool empty, struct layer_ref *l)
{
	if (!e && !empty) {
		if (!digest_valid(l->digest) || !digest_valid(l->diff_id) || l->size < 0 || !l->media_type)
			abort();
		layer_ref_release(l);
	}
	err_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sections s;
	sections_split(data, size, &s);
	size_t elen, mlen, tlen;
	const char *entry = sections_get(&s, 0, &elen);
	const char *man = sections_get(&s, 1, &mlen);
	const char *mt = sections_get(&s, 2, &tlen);

	bool empty = false;
	struct layer_ref l = { 0 };
	check(cache_entry_parse(entry, elen, &empty, &l), empty, &l);
	struct layer_ref r = { 0 };
	empty = false;
	check(cache_entry_from_manifest(man, mlen, tlen ? mt : NULL, "cache-fuzz", &empty, &r), empty, &r);
	sections_release(&s);
	return 0;
}
