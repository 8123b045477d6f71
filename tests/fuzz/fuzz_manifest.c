/* libFuzzer target for the image model's parsers of untrusted registry
 * data: manifests and indexes (with platform selection and re-dumping),
 * WWW-Authenticate challenges, and image references. The first byte
 * chooses the content type hint. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imageref.h"
#include "manifest.h"
#include "regauth.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hints[] = { NULL, MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_MANIFEST, MT_DOCKER_LIST,
					     "application/json; charset=utf-8" };
	if (size == 0)
		return 0;
	const char *hint = hints[data[0] % (sizeof hints / sizeof *hints)];
	const char *body = (const char *)data + 1;
	size_t len = size - 1;

	struct manifest m;
	err_t *e = manifest_parse(body, len, hint, &m);
	if (!e) {
		if (m.kind == MANIFEST_INDEX) {
			const struct descriptor *d = NULL;
			err_free(manifest_select_platform(&m, "linux/arm64/v8", &d));
			err_free(manifest_select_platform(&m, NULL, &d));
			for (size_t i = 0; i < m.n_manifests; i++)
				json_decref(descriptor_json(&m.manifests[i]));
		} else {
			json_t *doc = manifest_build_image(m.media_type, &m.config, m.layers, m.n_layers, NULL);
			struct strbuf sb = STRBUF_INIT;
			manifest_dump(doc, &sb);
			json_decref(doc);
			struct manifest again;
			err_t *e2 = manifest_parse(sb.buf, sb.len, m.media_type, &again);
			if (e2)
				abort(); /* what we write we must read */
			manifest_release(&again);
			sb_release(&sb);
		}
		manifest_release(&m);
	}
	err_free(e);

	char *text = xstrndup(body, len);
	struct regauth_challenge c;
	e = regauth_parse_challenge(text, &c);
	if (!e)
		regauth_challenge_free(&c);
	err_free(e);
	struct image_ref r;
	e = imageref_parse(text, &r);
	if (!e) {
		char *s = imageref_string(&r);
		struct image_ref r2;
		err_t *e2 = imageref_parse(s, &r2);
		if (e2 || strcmp(r.registry, r2.registry) || strcmp(r.repository, r2.repository))
			abort(); /* the normalised form must parse to the same name */
		imageref_free(&r2);
		free(s);
	}
	imageref_free(&r);
	err_free(e);
	free(text);
	return 0;
}
