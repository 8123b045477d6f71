/* Base images for FROM (see imagesrc.h). */
#include "imagesrc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cleanup.h"
#include "imageref.h"
#include "log.h"
#include "manifest.h"
#include "strbuf.h"
#include "xalloc.h"

#define CONFIG_MAX (8u << 20)

void imagesrc_host_platform(const char **os, const char **arch, const char **variant)
{
	*os = "linux";
	*variant = NULL;
#if defined(__x86_64__)
	*arch = "amd64";
#elif defined(__aarch64__)
	*arch = "arm64";
	*variant = "v8";
#elif defined(__arm__)
	*arch = "arm";
	*variant = "v7";
#elif defined(__s390x__)
	*arch = "s390x";
#elif defined(__powerpc64__)
	*arch = "ppc64le";
#elif defined(__riscv)
	*arch = "riscv64";
#else
	*arch = "386";
#endif
}

err_t *imagesrc_parse_platform(const char *platform, char **os, char **arch, char **variant)
{
	const char *hos, *harch, *hvar;
	imagesrc_host_platform(&hos, &harch, &hvar);
	if (!platform || !*platform) {
		*os = xstrdup(hos);
		*arch = xstrdup(harch);
		*variant = hvar ? xstrdup(hvar) : NULL;
		return NULL;
	}
	_cleanup_free_ char *p = xstrdup(platform);
	char *a = strchr(p, '/');
	if (!a || a == p || !a[1])
		return err_new(EXIT_USAGE, "platform %s: expected os/arch[/variant]", platform);
	*a++ = '\0';
	char *v = strchr(a, '/');
	if (v)
		*v++ = '\0';
	*os = xstrdup(p);
	*arch = xstrdup(a);
	*variant = v && *v ? xstrdup(v) : NULL;
	return NULL;
}

void layer_ref_copy(struct layer_ref *dst, const struct layer_ref *src)
{
	*dst = *src;
	dst->media_type = src->media_type ? xstrdup(src->media_type) : NULL;
}

void layer_ref_release(struct layer_ref *l)
{
	free(l->media_type);
	l->media_type = NULL;
}

void imagesrc_release(struct image_desc *d)
{
	imgconfig_release(&d->cfg);
	for (size_t i = 0; i < d->nlayers; i++)
		layer_ref_release(&d->layers[i]);
	free(d->layers);
	free(d->name);
	memset(d, 0, sizeof *d);
}

err_t *store_file_begin(struct oci_layout *store, int *fd, char **tmp_path)
{
	char *path = xasprintf("%s/blobs/sha256/.containerize-XXXXXX", oci_layout_dir(store));
	int f = mkostemp(path, O_CLOEXEC);
	if (f < 0) {
		err_t *e = err_errno(EXIT_FAILED, "cannot create a blob file in %s", oci_layout_dir(store));
		free(path);
		return e;
	}
	*fd = f;
	*tmp_path = path;
	return NULL;
}

err_t *store_file_commit(struct oci_layout *store, int fd, char *tmp_path, const char *digest)
{
	err_t *e = digest_check(digest, "blob");
	_cleanup_free_ char *final = e ? NULL : xasprintf("%s/blobs/sha256/%s", oci_layout_dir(store), digest_hex(digest));
	if (!e && fchmod(fd, 0644) < 0)
		e = err_errno(EXIT_FAILED, "cannot chmod %s", tmp_path);
	if (!e && rename(tmp_path, final) < 0)
		e = err_errno(EXIT_FAILED, "cannot store blob %s", digest);
	close(fd);
	if (e)
		unlink(tmp_path);
	free(tmp_path);
	return e;
}

void store_file_abort(int fd, char *tmp_path)
{
	if (fd >= 0)
		close(fd);
	if (tmp_path)
		unlink(tmp_path);
	free(tmp_path);
}

err_t *imagesrc_store_fd(struct oci_layout *store, int fd, const char *digest)
{
	if (oci_layout_has_blob(store, digest))
		return NULL;
	struct oci_blob_writer *w;
	TRY(oci_blob_writer_begin(store, &w));
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_t *e = err_errno(EXIT_FAILED, "cannot read blob %s", digest);
			oci_blob_writer_abort(w);
			return e;
		}
		if (n == 0)
			break;
		err_t *e = oci_blob_writer_write(w, buf, (size_t)n);
		if (e) {
			oci_blob_writer_abort(w);
			return e;
		}
	}
	char got[DIGEST_SIZE];
	return oci_blob_writer_commit(w, digest, got, NULL);
}

err_t *imagesrc_from_manifest(const struct manifest *m, const char *cfg_text, size_t cfg_len, struct image_desc *out)
{
	TRY(imgconfig_load(&out->cfg, cfg_text, cfg_len));
	json_t *ids = json_object_get(json_object_get(out->cfg.doc, "rootfs"), "diff_ids");
	if (!json_is_array(ids) || json_array_size(ids) != m->n_layers)
		return err_new(EXIT_FAILED, "base image: config lists %zu diff_ids for %zu layers",
			       json_is_array(ids) ? json_array_size(ids) : 0, m->n_layers);
	out->layers = xcalloc(m->n_layers + 1, sizeof *out->layers);
	for (size_t i = 0; i < m->n_layers; i++) {
		const char *id = json_string_value(json_array_get(ids, i));
		if (!id || !digest_valid(id))
			return err_new(EXIT_FAILED, "base image: bad diff_id %zu", i);
		struct layer_ref *l = &out->layers[i];
		memcpy(l->digest, m->layers[i].digest, DIGEST_SIZE);
		memcpy(l->diff_id, id, DIGEST_SIZE);
		l->size = m->layers[i].size;
		l->media_type = xstrdup(m->layers[i].media_type ? m->layers[i].media_type : MT_OCI_LAYER_GZIP);
		out->nlayers++;
	}
	return NULL;
}

static err_t *load_layout(const char *ref, const char *platform, struct oci_layout *store, struct image_desc *out)
{
	bool archive;
	_cleanup_free_ char *path = NULL, *tag = NULL;
	TRY(oci_layout_parse_ref(ref, &archive, &path, &tag));
	struct oci_layout *l = NULL;
	TRY(archive ? oci_archive_open(path, OCI_LAYOUT_READ, &l) : oci_layout_open(path, OCI_LAYOUT_READ, &l));
	struct descriptor d = { 0 };
	struct manifest m = { 0 };
	_cleanup_strbuf_ struct strbuf body = STRBUF_INIT, cfg = STRBUF_INIT;
	err_t *e = oci_layout_resolve(l, tag, &d);
	if (!e)
		e = oci_layout_read_blob(l, d.digest, MANIFEST_MAX_SIZE, &body);
	if (!e)
		e = manifest_parse(body.buf, body.len, d.media_type, &m);
	if (!e && m.kind == MANIFEST_INDEX) {
		const struct descriptor *pick;
		e = manifest_select_platform(&m, platform, &pick);
		if (!e) {
			char dg[DIGEST_SIZE];
			memcpy(dg, pick->digest, DIGEST_SIZE);
			_cleanup_free_ char *mt = xstrdup(pick->media_type ? pick->media_type : MT_OCI_MANIFEST);
			manifest_release(&m);
			sb_reset(&body);
			e = oci_layout_read_blob(l, dg, MANIFEST_MAX_SIZE, &body);
			if (!e)
				e = manifest_parse(body.buf, body.len, mt, &m);
		}
	}
	if (!e && m.kind != MANIFEST_IMAGE)
		e = err_new(EXIT_FAILED, "%s: not an image manifest", ref);
	if (!e)
		digest_buffer(body.buf, body.len, out->digest);
	if (!e)
		e = oci_layout_read_blob(l, m.config.digest, CONFIG_MAX, &cfg);
	if (!e)
		e = imagesrc_from_manifest(&m, cfg.buf, cfg.len, out);
	for (size_t i = 0; !e && i < out->nlayers; i++) {
		if (oci_layout_has_blob(store, out->layers[i].digest))
			continue;
		int fd = -1;
		e = oci_layout_open_blob(l, out->layers[i].digest, &fd, NULL);
		if (!e)
			e = imagesrc_store_fd(store, fd, out->layers[i].digest);
		if (fd >= 0)
			close(fd);
	}
	if (e)
		e = err_wrap(e, "base image %s", ref);
	manifest_release(&m);
	descriptor_release(&d);
	oci_layout_close(l);
	return e;
}

struct sb_sink {
	struct strbuf *sb;
	size_t max;
};

static err_t *sink_sb(const void *data, size_t len, void *ctx)
{
	struct sb_sink *s = ctx;
	if (s->sb->len + len > s->max)
		return err_new(EXIT_FAILED, "blob larger than %zu bytes", s->max);
	sb_add(s->sb, data, len);
	return NULL;
}

static err_t *load_registry(const char *refs, const char *platform, struct oci_layout *store,
			    const struct registry_options *ro, struct image_desc *out)
{
	struct image_ref ref = { 0 };
	TRY(imageref_parse(refs, &ref));
	struct registry *r = NULL;
	err_t *e = registry_open_ref(&ref, ro, &r);
	struct registry_manifest rm = { 0 };
	struct manifest m = { 0 };
	_cleanup_strbuf_ struct strbuf cfg = STRBUF_INIT;
	if (!e)
		e = registry_get_manifest(r, imageref_reference(&ref), &rm);
	if (!e)
		e = manifest_parse(rm.body.buf, rm.body.len, rm.media_type, &m);
	if (!e && m.kind == MANIFEST_INDEX) {
		const struct descriptor *pick;
		e = manifest_select_platform(&m, platform, &pick);
		if (!e) {
			char dg[DIGEST_SIZE];
			memcpy(dg, pick->digest, DIGEST_SIZE);
			manifest_release(&m);
			registry_manifest_release(&rm);
			memset(&rm, 0, sizeof rm);
			e = registry_get_manifest(r, dg, &rm);
			if (!e)
				e = manifest_parse(rm.body.buf, rm.body.len, rm.media_type, &m);
		}
	}
	if (!e && m.kind != MANIFEST_IMAGE)
		e = err_new(EXIT_FAILED, "%s: not an image manifest", refs);
	if (!e) {
		memcpy(out->digest, rm.digest, DIGEST_SIZE);
		struct sb_sink s = { &cfg, CONFIG_MAX };
		e = registry_get_blob(r, m.config.digest, m.config.size, sink_sb, &s);
	}
	if (!e)
		e = imagesrc_from_manifest(&m, cfg.buf, cfg.len, out);
	for (size_t i = 0; !e && i < out->nlayers; i++) {
		if (oci_layout_has_blob(store, out->layers[i].digest))
			continue;
		int fd = -1;
		char *tmp = NULL;
		e = store_file_begin(store, &fd, &tmp);
		if (e)
			break;
		/* registry_get_blob_fd verifies the digest as it streams */
		e = registry_get_blob_fd(r, out->layers[i].digest, out->layers[i].size, fd);
		if (!e)
			e = store_file_commit(store, fd, tmp, out->layers[i].digest);
		else
			store_file_abort(fd, tmp);
	}
	if (!e)
		out->name = imageref_name(&ref);
	if (e)
		e = err_wrap(e, "base image %s", refs);
	manifest_release(&m);
	registry_manifest_release(&rm);
	registry_close(r);
	imageref_free(&ref);
	return e;
}

err_t *imagesrc_load(const char *ref, const char *platform, struct oci_layout *store,
		     const struct registry_options *ro, struct image_desc *out)
{
	memset(out, 0, sizeof *out);
	if (strcmp(ref, "scratch") == 0) {
		_cleanup_free_ char *os = NULL, *arch = NULL, *variant = NULL;
		TRY(imagesrc_parse_platform(platform, &os, &arch, &variant));
		imgconfig_scratch(&out->cfg, os, arch, variant);
		out->name = xstrdup("");
		out->layers = xcalloc(1, sizeof *out->layers);
		return NULL;
	}
	err_t *e;
	if (strncmp(ref, "oci:", 4) == 0 || strncmp(ref, "oci-archive:", 12) == 0) {
		e = load_layout(ref, platform, store, out);
		if (!e)
			out->name = xstrdup(ref);
	} else {
		e = load_registry(ref, platform, store, ro, out);
	}
	if (e)
		imagesrc_release(out);
	return e;
}
