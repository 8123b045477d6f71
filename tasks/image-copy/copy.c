/* Copy engine of image-copy (see copy.h). */
#include "copy.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "manifest.h"
#include "xalloc.h"

static err_t *copy_blobs(struct endpoint *src, struct endpoint *dst, const struct manifest *m)
{
	log_info("copying config %s", m->config.digest);
	TRY(endpoint_copy_blob(src, dst, &m->config));
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct descriptor *l = &m->layers[i];
		log_info("copying layer %zu/%zu %s (%lld bytes)", i + 1, m->n_layers, l->digest, (long long)l->size);
		TRY(endpoint_copy_blob(src, dst, l));
	}
	return NULL;
}

static const char *oci_type_for(const char *mt)
{
	if (!strcmp(mt, MT_DOCKER_CONFIG))
		return MT_OCI_CONFIG;
	if (!strcmp(mt, MT_DOCKER_LAYER_GZIP))
		return MT_OCI_LAYER_GZIP;
	if (!strcmp(mt, "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"))
		return "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
	if (!strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar"))
		return MT_OCI_LAYER;
	return mt;
}

/* Docker schema 2 manifest -> the same image with OCI media types */
static void to_oci_image(const struct manifest *m, struct strbuf *out)
{
	struct descriptor cfg = m->config;
	cfg.media_type = (char *)oci_type_for(m->config.media_type);
	struct descriptor *layers = xcalloc(m->n_layers ? m->n_layers : 1, sizeof *layers);
	for (size_t i = 0; i < m->n_layers; i++) {
		layers[i] = m->layers[i];
		layers[i].media_type = (char *)oci_type_for(m->layers[i].media_type);
	}
	json_t *doc = manifest_build_image(MT_OCI_MANIFEST, &cfg, layers, m->n_layers, NULL);
	manifest_dump(doc, out);
	json_decref(doc);
	free(layers);
}

/* Copy one image manifest's blobs and the manifest; *stored gets what the
 * destination holds (digest, size, media type: changed by a conversion). */
static err_t *copy_single(struct endpoint *src, struct endpoint *dst, const struct copy_options *o,
			  const struct strbuf *body, const char *mt, const char *digest, bool tag,
			  struct descriptor *stored)
{
	struct manifest m;
	TRY(manifest_parse(body->buf, body->len, mt, &m));
	err_t *e = NULL;
	if (m.kind != MANIFEST_IMAGE)
		e = err_new(EXIT_FAILED, "%s: nested indexes are not supported", digest);
	if (!e)
		e = copy_blobs(src, dst, &m);
	struct strbuf converted = STRBUF_INIT;
	const struct strbuf *out = body;
	const char *out_mt = m.media_type;
	if (!e && endpoint_is_layout(dst) && !o->keep_format && !strcmp(m.media_type, MT_DOCKER_MANIFEST)) {
		to_oci_image(&m, &converted);
		out = &converted;
		out_mt = MT_OCI_MANIFEST;
	}
	memset(stored, 0, sizeof *stored);
	stored->media_type = xstrdup(out_mt);
	stored->size = (int64_t)out->len;
	digest_buffer(out->buf ? out->buf : "", out->len, stored->digest);
	if (out != body)
		log_info("manifest %s converted to OCI media types: %s", digest, stored->digest);
	if (!e)
		e = endpoint_put_manifest(dst, out_mt, out, stored->digest, tag);
	sb_release(&converted);
	manifest_release(&m);
	return e;
}

static err_t *fetch_child(struct endpoint *src, const struct descriptor *d, struct strbuf *body)
{
	TRY(endpoint_get_manifest(src, d, body));
	char actual[DIGEST_SIZE];
	digest_buffer(body->buf ? body->buf : "", body->len, actual);
	if (!digest_equal(actual, d->digest))
		return err_new(EXIT_FAILED, "manifest %s from %s: content has digest %s", d->digest,
			       endpoint_name(src), actual);
	return NULL;
}

/* every platform, then the index itself (converted when a child was) */
static err_t *copy_all(struct endpoint *src, struct endpoint *dst, const struct copy_options *o,
		       const struct manifest *top, const struct strbuf *body, const char *digest,
		       char digest_out[DIGEST_SIZE])
{
	err_t *e = NULL;
	bool changed = false;
	struct descriptor *stored = xcalloc(top->n_manifests ? top->n_manifests : 1, sizeof *stored);
	for (size_t i = 0; i < top->n_manifests && !e; i++) {
		const struct descriptor *d = &top->manifests[i];
		struct strbuf child = STRBUF_INIT;
		log_info("index %s: image %zu/%zu %s", digest, i + 1, top->n_manifests, d->digest);
		e = fetch_child(src, d, &child);
		if (!e)
			e = copy_single(src, dst, o, &child, d->media_type, d->digest, false, &stored[i]);
		changed |= !e && strcmp(stored[i].digest, d->digest);
		sb_release(&child);
	}
	struct strbuf converted = STRBUF_INIT;
	const struct strbuf *out = body;
	const char *out_mt = top->media_type;
	if (!e && (changed || (endpoint_is_layout(dst) && !o->keep_format && !strcmp(top->media_type, MT_DOCKER_LIST)))) {
		json_t *doc = json_object();
		json_object_set_new(doc, "schemaVersion", json_integer(2));
		json_object_set_new(doc, "mediaType", json_string(MT_OCI_INDEX));
		json_t *arr = json_array();
		for (size_t i = 0; i < top->n_manifests; i++) {
			struct descriptor d = top->manifests[i];
			d.media_type = stored[i].media_type;
			memcpy(d.digest, stored[i].digest, DIGEST_SIZE);
			d.size = stored[i].size;
			json_array_append_new(arr, descriptor_json(&d));
		}
		json_object_set_new(doc, "manifests", arr);
		manifest_dump(doc, &converted);
		json_decref(doc);
		out = &converted;
		out_mt = MT_OCI_INDEX;
	}
	char out_digest[DIGEST_SIZE];
	digest_buffer(out->buf ? out->buf : "", out->len, out_digest);
	if (!e)
		e = endpoint_put_manifest(dst, out_mt, out, out_digest, true);
	if (!e)
		memcpy(digest_out, out_digest, DIGEST_SIZE);
	for (size_t i = 0; i < top->n_manifests; i++)
		descriptor_release(&stored[i]);
	free(stored);
	sb_release(&converted);
	return e;
}

err_t *copy_image(struct endpoint *src, struct endpoint *dst, const struct copy_options *o,
		  char digest_out[DIGEST_SIZE])
{
	struct strbuf body = STRBUF_INIT;
	char *mt = NULL;
	char digest[DIGEST_SIZE];
	TRY(endpoint_get_top(src, &body, &mt, digest));
	struct manifest top;
	err_t *e = manifest_parse(body.buf, body.len, mt, &top);
	if (e)
		e = err_wrap(e, "%s", endpoint_name(src));
	struct descriptor stored = { 0 };
	if (!e && top.kind == MANIFEST_IMAGE) {
		e = copy_single(src, dst, o, &body, top.media_type, digest, true, &stored);
	} else if (!e && !o->all) {
		const struct descriptor *d = NULL;
		e = manifest_select_platform(&top, o->platform, &d);
		struct strbuf child = STRBUF_INIT;
		if (!e) {
			log_info("index %s: copying the %s/%s%s%s image %s", digest, d->os, d->architecture,
				 d->variant ? "/" : "", d->variant ? d->variant : "", d->digest);
			e = fetch_child(src, d, &child);
		}
		if (!e)
			e = copy_single(src, dst, o, &child, d->media_type, d->digest, true, &stored);
		sb_release(&child);
	} else if (!e) {
		e = copy_all(src, dst, o, &top, &body, digest, stored.digest);
	}
	if (!e)
		memcpy(digest_out, stored.digest, DIGEST_SIZE);
	descriptor_release(&stored);
	if (!e)
		e = endpoint_commit(dst);
	manifest_release(&top);
	sb_release(&body);
	free(mt);
	return e;
}
