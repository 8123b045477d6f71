/* Pushing and writing built images (see output.h). */
#include "output.h"

#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "manifest.h"
#include "strbuf.h"
#include "xalloc.h"

err_t *output_oci_layout(struct oci_layout *store, const char *dest, const struct build_result *r,
			 const char *const *tags, size_t ntags)
{
	bool archive = false;
	_cleanup_free_ char *path = NULL, *tag = NULL;
	if (strncmp(dest, "oci:", 4) == 0 || strncmp(dest, "oci-archive:", 12) == 0)
		TRY(oci_layout_parse_ref(dest, &archive, &path, &tag));
	else
		path = xstrdup(dest);
	struct oci_layout *l = NULL;
	TRY(archive ? oci_archive_open(path, OCI_LAYOUT_WRITE, &l) : oci_layout_open(path, OCI_LAYOUT_WRITE, &l));
	err_t *e = NULL;
	for (size_t i = 0; !e && i < r->nlayers; i++) {
		if (oci_layout_has_blob(l, r->layers[i].digest))
			continue;
		/* same file system: a hard link instead of a copy (blobs are
		 * immutable, named by their digest) */
		_cleanup_free_ char *from = xasprintf("%s/blobs/sha256/%s", oci_layout_dir(store), digest_hex(r->layers[i].digest));
		_cleanup_free_ char *to = xasprintf("%s/blobs/sha256/%s", oci_layout_dir(l), digest_hex(r->layers[i].digest));
		if (!archive && link(from, to) == 0)
			continue;
		int fd = -1;
		e = oci_layout_open_blob(store, r->layers[i].digest, &fd, NULL);
		if (!e)
			e = imagesrc_store_fd(l, fd, r->layers[i].digest);
		if (fd >= 0)
			close(fd);
	}
	struct strbuf cfg = STRBUF_INIT;
	char got[DIGEST_SIZE];
	if (!e)
		e = oci_layout_read_blob(store, r->config_digest, 64u << 20, &cfg);
	if (!e)
		e = oci_layout_put_blob(l, cfg.buf, cfg.len, got);
	if (!e)
		e = oci_layout_put_blob(l, r->manifest, r->manifest_len, got);
	sb_release(&cfg);
	struct descriptor d = { 0 };
	d.media_type = (char *)MT_OCI_MANIFEST;
	memcpy(d.digest, r->manifest_digest, DIGEST_SIZE);
	d.size = (int64_t)r->manifest_len;
	if (!e && tag)
		e = oci_layout_set_ref(l, &d, tag);
	for (size_t i = 0; !e && i < ntags; i++)
		e = oci_layout_set_ref(l, &d, tags[i]);
	if (!e && !tag && !ntags)
		e = oci_layout_set_ref(l, &d, NULL);
	if (!e)
		e = oci_layout_commit(l);
	oci_layout_close(l);
	return e ? err_wrap(e, "cannot write the image to %s", dest) : NULL;
}

err_t *output_push(struct oci_layout *store, const struct image_ref *ref, const struct registry_options *ro,
		   const struct build_result *r, const char *const *tags, size_t ntags)
{
	struct registry *reg = NULL;
	TRY(registry_open_ref(ref, ro, &reg));
	err_t *e = NULL;
	for (size_t i = 0; !e && i < r->nlayers; i++) {
		int fd = -1;
		int64_t size = 0;
		e = oci_layout_open_blob(store, r->layers[i].digest, &fd, &size);
		if (!e) {
			log_info("pushing layer %s (%lld bytes)", r->layers[i].digest, (long long)size);
			e = registry_put_blob_fd(reg, r->layers[i].digest, size, fd);
		}
		if (fd >= 0)
			close(fd);
	}
	struct strbuf cfg = STRBUF_INIT;
	char got[DIGEST_SIZE];
	if (!e)
		e = oci_layout_read_blob(store, r->config_digest, 64u << 20, &cfg);
	if (!e)
		e = registry_put_blob_buffer(reg, cfg.buf, cfg.len, got);
	sb_release(&cfg);
	/* the manifest by digest first: tags only once everything is there */
	if (!e)
		e = registry_put_manifest(reg, r->manifest_digest, MT_OCI_MANIFEST, r->manifest, r->manifest_len, got);
	for (size_t i = 0; !e && i < ntags; i++)
		e = registry_put_manifest(reg, tags[i], MT_OCI_MANIFEST, r->manifest, r->manifest_len, got);
	registry_close(reg);
	return e ? err_wrap(e, "cannot push to %s/%s", ref->registry, ref->repository) : NULL;
}
