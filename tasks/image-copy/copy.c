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

static err_t *copy_single(struct endpoint *src, struct endpoint *dst, const struct strbuf *body, const char *mt,
			  const char *digest, bool tag)
{
	struct manifest m;
	TRY(manifest_parse(body->buf, body->len, mt, &m));
	err_t *e = NULL;
	if (m.kind != MANIFEST_IMAGE)
		e = err_new(EXIT_FAILED, "%s: nested indexes are not supported", digest);
	if (!e)
		e = copy_blobs(src, dst, &m);
	if (!e)
		e = endpoint_put_manifest(dst, m.media_type, body, digest, tag);
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
	if (!e && top.kind == MANIFEST_IMAGE) {
		e = copy_single(src, dst, &body, top.media_type, digest, true);
		if (!e)
			memcpy(digest_out, digest, DIGEST_SIZE);
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
			e = copy_single(src, dst, &child, d->media_type, d->digest, true);
		if (!e)
			memcpy(digest_out, d->digest, DIGEST_SIZE);
		sb_release(&child);
	} else if (!e) {
		for (size_t i = 0; i < top.n_manifests && !e; i++) {
			const struct descriptor *d = &top.manifests[i];
			struct strbuf child = STRBUF_INIT;
			log_info("index %s: image %zu/%zu %s", digest, i + 1, top.n_manifests, d->digest);
			e = fetch_child(src, d, &child);
			if (!e)
				e = copy_single(src, dst, &child, d->media_type, d->digest, false);
			sb_release(&child);
		}
		if (!e)
			e = endpoint_put_manifest(dst, top.media_type, &body, digest, true);
		if (!e)
			memcpy(digest_out, digest, DIGEST_SIZE);
	}
	if (!e)
		e = endpoint_commit(dst);
	manifest_release(&top);
	sb_release(&body);
	free(mt);
	return e;
}
