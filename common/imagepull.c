/* Pull a registry image into the image cache (see imagepull.h). */
#include "imagepull.h"

#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "log.h"
#include "manifest.h"
#include "oci_layout.h"
#include "xalloc.h"

static err_t *to_writer(const void *data, size_t len, void *ctx)
{
	return oci_blob_writer_write(ctx, data, len);
}

static err_t *pull_blob(struct registry *reg, struct oci_layout *l, const struct descriptor *d)
{
	struct oci_blob_writer *w;
	TRY(oci_blob_writer_begin(l, &w));
	err_t *e = registry_get_blob(reg, d->digest, d->size, to_writer, w);
	if (e) {
		oci_blob_writer_abort(w);
		return e;
	}
	return oci_blob_writer_commit(w, d->digest, NULL, NULL);
}

/* A manifest by digest (verified by the client) into the layout; m parsed. */
static err_t *pull_manifest(struct registry *reg, struct oci_layout *l, const char *digest,
			    struct registry_manifest *rm, struct manifest *m)
{
	TRY(registry_get_manifest(reg, digest, rm));
	TRY(manifest_parse(rm->body.buf, rm->body.len, rm->media_type, m));
	return oci_layout_put_blob(l, rm->body.buf, rm->body.len, NULL);
}

static err_t *pull_layout(struct registry *reg, const char *digest, struct oci_layout *l)
{
	struct registry_manifest top = { 0 }, plat = { 0 };
	struct manifest m = { 0 }, img = { 0 };
	const struct manifest *use = &m;
	err_t *e = pull_manifest(reg, l, digest, &top, &m);
	if (!e && m.kind == MANIFEST_INDEX) {
		const struct descriptor *pick = NULL;
		e = manifest_select_platform(&m, NULL, &pick);
		if (!e)
			e = pull_manifest(reg, l, pick->digest, &plat, &img);
		if (!e && img.kind != MANIFEST_IMAGE)
			e = err_new(EXIT_FAILED, "%s: the index's %s is not an image manifest", digest, pick->digest);
		use = &img;
	}
	if (!e)
		e = pull_blob(reg, l, &use->config);
	for (size_t i = 0; !e && i < use->n_layers; i++)
		e = pull_blob(reg, l, &use->layers[i]);
	if (!e) {
		struct descriptor d = { .media_type = top.media_type, .size = (int64_t)top.body.len };
		memcpy(d.digest, top.digest, sizeof d.digest);
		e = oci_layout_set_ref(l, &d, "pulled");
	}
	if (!e)
		log_info("pulled %s from %s/%s (%zu layers)", digest, registry_host(reg), registry_repository(reg),
			 use->n_layers);
	manifest_release(&img);
	manifest_release(&m);
	registry_manifest_release(&plat);
	registry_manifest_release(&top);
	return e;
}

err_t *image_root_pull(struct registry *reg, const char *digest, const char *cache_dir, struct image_root *out)
{
	if (image_root_from_cache(cache_dir, digest, out)) {
		log_info("image %s from the cache %s", digest, cache_dir);
		return NULL;
	}
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/image-pull-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		err_t *e = err_errno(EXIT_FAILED, "cannot create a directory to pull %s into", digest);
		free(dir);
		return e;
	}
	struct oci_layout *l = NULL;
	err_t *e = oci_layout_open(dir, OCI_LAYOUT_WRITE, &l);
	if (!e)
		e = pull_layout(reg, digest, l);
	oci_layout_close(l);
	if (!e) {
		char *ref = xasprintf("oci:%s:pulled", dir);
		e = image_root_cached(ref, cache_dir, out);
		free(ref);
	}
	fs_remove_tree(dir);
	free(dir);
	return err_context(e, "image %s/%s@%s", registry_host(reg), registry_repository(reg), digest);
}
