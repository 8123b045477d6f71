/* Fuzz the base image a build starts FROM (tasks/containerize imagesrc and
 * imgconfig): its manifest and its config blob, both from a registry or a
 * layout nobody vouches for. Input (sections.h): manifest, config.
 *
 * An image manifest is read with the config as imagesrc reads them; a
 * config that loads is then edited as instructions edit it (ENV, USER,
 * LABEL, EXPOSE, history) and finished, and what containerize writes must
 * load again with the same Env. Any bytes: no crash, no leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imagesrc.h"
#include "imgconfig.h"
#include "manifest.h"
#include "sections.h"

// fuzz-sources: tasks/containerize/imagesrc.c tasks/containerize/imgconfig.c
// fuzz-libs: -Itasks/containerize

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void edit_and_finish(const struct imgconfig *base)
{
	struct imgconfig c;
	imgconfig_copy(&c, base);
	(void)imgconfig_getenv(&c, "PATH");
	imgconfig_setenv(&c, "PATH", "/usr/bin:/bin");
	imgconfig_setenv(&c, "LANG", "C.UTF-8");
	imgconfig_set_string(&c, "User", "app");
	imgconfig_set_label(&c, "org.opencontainers.image.source", "https://example.org/app");
	imgconfig_add_to_set(&c, "ExposedPorts", "8080/tcp");
	imgconfig_add_history(&c, "2024-01-01T00:00:00Z", "ENV LANG=C.UTF-8", true);
	const char *ids[] = { "sha256:2d1a2b7b5d4c3e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f" };
	imgconfig_finish(&c, "2024-01-01T00:00:00Z", ids, 1);
	size_t n = 0;
	const char **env = imgconfig_env(&c, &n);
	free(env);

	char *text = json_dumps(c.doc, JSON_COMPACT);
	struct imgconfig again = { 0 };
	err_t *e = text ? imgconfig_load(&again, text, strlen(text)) : NULL;
	if (!text || e)
		abort(); /* what we write we must read */
	const char *lang = imgconfig_getenv(&again, "LANG");
	if (!lang || strcmp(lang, "C.UTF-8"))
		abort();
	imgconfig_release(&again);
	free(text);
	imgconfig_release(&c);
}

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
		if (m.kind == MANIFEST_IMAGE) {
			struct image_desc d = { 0 };
			e = imagesrc_from_manifest(&m, cfg, clen, &d);
			if (!e) {
				if (d.nlayers != m.n_layers)
					abort();
				edit_and_finish(&d.cfg);
			}
			imagesrc_release(&d);
		}
		manifest_release(&m);
	}
	err_free(e);

	/* the config alone, as a FROM's config always is read */
	struct imgconfig c = { 0 };
	e = imgconfig_load(&c, cfg, clen);
	if (!e)
		edit_and_finish(&c);
	imgconfig_release(&c);
	err_free(e);
	sections_release(&s);
	return 0;
}
