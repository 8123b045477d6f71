/* Registry and OCI layout endpoints for image-copy (see endpoint.h). */
#include "endpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "imageref.h"
#include "log.h"
#include "oci_layout.h"
#include "xalloc.h"

struct endpoint {
	char *spec;
	/* registry */
	struct image_ref ref;
	struct registry *reg;
	/* oci */
	struct oci_layout *oci;
	char *oci_path;
	char *tag;
	bool archive;
};

err_t *endpoint_open(const char *spec, bool destination, const struct registry_options *ro, struct endpoint **out)
{
	struct endpoint *ep = xcalloc(1, sizeof *ep);
	ep->spec = xstrdup(spec);
	err_t *e = NULL;
	if (!strncmp(spec, "oci:", 4) || !strncmp(spec, "oci-archive:", 12)) {
		e = oci_layout_parse_ref(spec, &ep->archive, &ep->oci_path, &ep->tag);
		enum oci_layout_mode mode = destination ? OCI_LAYOUT_WRITE : OCI_LAYOUT_READ;
		if (!e)
			e = ep->archive ? oci_archive_open(ep->oci_path, mode, &ep->oci)
					: oci_layout_open(ep->oci_path, mode, &ep->oci);
	} else {
		const char *r = spec;
		if (!strncmp(r, "docker://", 9))
			r += 9;
		else if (strstr(r, "://") || (strchr(r, ':') && strchr(r, ':') < strchr(r, '/') &&
					      !strncmp(r, "containers-storage:", 19)))
			e = err_new(EXIT_USAGE, "unsupported transport in \"%.200s\" (docker://, oci:, oci-archive:)",
				    spec);
		if (!e)
			e = imageref_parse(r, &ep->ref);
		if (!e)
			e = registry_open_ref(&ep->ref, ro, &ep->reg);
	}
	if (e) {
		endpoint_close(ep);
		return err_wrap(e, "%s %s", destination ? "destination" : "source", spec);
	}
	*out = ep;
	return NULL;
}

void endpoint_close(struct endpoint *ep)
{
	if (!ep)
		return;
	registry_close(ep->reg);
	imageref_free(&ep->ref);
	oci_layout_close(ep->oci);
	free(ep->oci_path);
	free(ep->tag);
	free(ep->spec);
	free(ep);
}

bool endpoint_is_layout(const struct endpoint *ep)
{
	return ep->oci != NULL;
}

const char *endpoint_name(const struct endpoint *ep)
{
	return ep->spec;
}

err_t *endpoint_get_top(struct endpoint *ep, struct strbuf *body, char **media_type, char digest[DIGEST_SIZE])
{
	if (ep->reg) {
		struct registry_manifest m;
		TRY(registry_get_manifest(ep->reg, imageref_reference(&ep->ref), &m));
		*body = m.body;
		*media_type = m.media_type;
		memcpy(digest, m.digest, DIGEST_SIZE);
		return NULL;
	}
	struct descriptor d;
	TRY(oci_layout_resolve(ep->oci, ep->tag, &d));
	err_t *e = oci_layout_read_blob(ep->oci, d.digest, MANIFEST_MAX_SIZE, body);
	if (!e) {
		*media_type = xstrdup(d.media_type);
		memcpy(digest, d.digest, DIGEST_SIZE);
	}
	descriptor_release(&d);
	return e;
}

err_t *endpoint_get_manifest(struct endpoint *ep, const struct descriptor *d, struct strbuf *body)
{
	if (d->size > (int64_t)MANIFEST_MAX_SIZE)
		return err_new(EXIT_FAILED, "manifest %s is %lld bytes", d->digest, (long long)d->size);
	if (ep->reg) {
		struct registry_manifest m;
		TRY(registry_get_manifest(ep->reg, d->digest, &m));
		*body = m.body;
		free(m.media_type);
		return NULL;
	}
	return oci_layout_read_blob(ep->oci, d->digest, MANIFEST_MAX_SIZE, body);
}

err_t *endpoint_has_blob(struct endpoint *ep, const char *digest, bool *has)
{
	if (ep->reg)
		return registry_blob_exists(ep->reg, digest, has, NULL);
	*has = oci_layout_has_blob(ep->oci, digest);
	return NULL;
}

struct writer_sink {
	struct oci_blob_writer *w;
};

static err_t *to_writer(const void *data, size_t len, void *ctx)
{
	struct writer_sink *s = ctx;
	return oci_blob_writer_write(s->w, data, len);
}

/* An anonymous temp file for a blob in transit: $TMPDIR, /tmp, else $HOME
 * (a FROM scratch image under Tekton has no /tmp and a read-only root, but
 * a writable /tekton/home as HOME). */
static err_t *temp_fd(int *fd)
{
	const char *dirs[] = { getenv("TMPDIR"), "/tmp", getenv("HOME") };
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		if (!dirs[i] || !*dirs[i])
			continue;
		*fd = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (*fd >= 0)
			return NULL;
	}
	return err_errno(EXIT_FAILED, "cannot create a temporary file for a blob in transit (set TMPDIR to a "
				      "writable directory)");
}

err_t *endpoint_copy_blob(struct endpoint *src, struct endpoint *dst, const struct descriptor *d)
{
	/* a registry destination checks for the blob itself (mount or put) */
	if (dst->oci && oci_layout_has_blob(dst->oci, d->digest)) {
		log_debug("blob %s already at the destination", d->digest);
		return NULL;
	}
	if (src->reg && dst->reg && !strcmp(src->ref.registry, dst->ref.registry) &&
	    strcmp(src->ref.repository, dst->ref.repository)) {
		bool mounted = false;
		TRY(registry_mount_blob(dst->reg, d->digest, src->ref.repository, &mounted));
		if (mounted) {
			log_info("mounted blob %s from %s", d->digest, src->ref.repository);
			return NULL;
		}
	}
	if (dst->oci) {
		if (src->oci) {
			int fd;
			int64_t size;
			TRY(oci_layout_open_blob(src->oci, d->digest, &fd, &size));
			struct oci_blob_writer *w;
			err_t *e = oci_blob_writer_begin(dst->oci, &w);
			_cleanup_free_ char *buf = xmalloc(1 << 16);
			while (!e) {
				ssize_t n = read(fd, buf, 1 << 16);
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0)
					e = err_errno(EXIT_FAILED, "cannot read blob %s", d->digest);
				if (n <= 0)
					break;
				e = oci_blob_writer_write(w, buf, (size_t)n);
			}
			close(fd);
			if (e) {
				oci_blob_writer_abort(w);
				return e;
			}
			return oci_blob_writer_commit(w, d->digest, NULL, NULL);
		}
		struct writer_sink s;
		TRY(oci_blob_writer_begin(dst->oci, &s.w));
		err_t *e = registry_get_blob(src->reg, d->digest, d->size, to_writer, &s);
		if (e) {
			oci_blob_writer_abort(s.w);
			return e;
		}
		return oci_blob_writer_commit(s.w, d->digest, NULL, NULL);
	}
	/* to a registry: from a layout file, or through a verified temp file */
	int fd = -1;
	int64_t size = d->size;
	if (src->oci) {
		TRY(oci_layout_open_blob(src->oci, d->digest, &fd, &size));
		if (size != d->size) {
			close(fd);
			return err_new(EXIT_FAILED, "blob %s is %lld bytes in %s, the manifest says %lld", d->digest,
				       (long long)size, src->spec, (long long)d->size);
		}
	} else {
		TRY(temp_fd(&fd));
		err_t *e = registry_get_blob_fd(src->reg, d->digest, d->size, fd);
		if (e) {
			close(fd);
			return e;
		}
	}
	err_t *e = registry_put_blob_fd(dst->reg, d->digest, size, fd);
	close(fd);
	return e;
}

err_t *endpoint_put_manifest(struct endpoint *ep, const char *media_type, const struct strbuf *body,
			     const char *digest, bool tag)
{
	if (ep->reg) {
		const char *reference = digest;
		if (tag) {
			if (ep->ref.digest && !digest_equal(ep->ref.digest, digest))
				return err_new(EXIT_FAILED, "destination names digest %s but the image is %s",
					       ep->ref.digest, digest);
			if (!ep->ref.tag_implied || !ep->ref.digest)
				reference = ep->ref.tag;
		}
		return registry_put_manifest(ep->reg, reference, media_type, body->buf ? body->buf : "", body->len,
					     NULL);
	}
	char d[DIGEST_SIZE];
	TRY(oci_layout_put_blob(ep->oci, body->buf ? body->buf : "", body->len, d));
	if (!tag)
		return NULL;
	struct descriptor desc = { .media_type = (char *)media_type, .size = (int64_t)body->len };
	memcpy(desc.digest, d, DIGEST_SIZE);
	return oci_layout_set_ref(ep->oci, &desc, ep->tag);
}

err_t *endpoint_commit(struct endpoint *ep)
{
	return ep->oci ? oci_layout_commit(ep->oci) : NULL;
}

char *endpoint_pinned(const struct endpoint *ep, const char *digest)
{
	if (ep->reg)
		return imageref_pinned(&ep->ref, digest);
	return xasprintf("%s:%s@%s", ep->archive ? "oci-archive" : "oci", ep->oci_path, digest);
}

char *endpoint_url(const struct endpoint *ep)
{
	if (ep->reg)
		return imageref_tagged(&ep->ref, NULL);
	return xasprintf("%s:%s%s%s", ep->archive ? "oci-archive" : "oci", ep->oci_path, ep->tag ? ":" : "",
			 ep->tag ? ep->tag : "");
}
