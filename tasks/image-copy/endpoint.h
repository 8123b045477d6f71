/* One side of a copy: a registry repository (docker://), an OCI layout
 * directory (oci:) or an oci-archive tarball (oci-archive:), behind one
 * small interface the copy engine drives. */
#ifndef IMAGE_COPY_ENDPOINT_H
#define IMAGE_COPY_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"
#include "manifest.h"
#include "registry.h"
#include "strbuf.h"

struct endpoint;

/* spec: "docker://ref", a bare image ref (same), "oci:dir[:tag]",
 * "oci-archive:file[:tag]". */
err_t *endpoint_open(const char *spec, bool destination, const struct registry_options *ro, struct endpoint **out);
void endpoint_close(struct endpoint *ep);

/* The manifest the reference names (tag or digest): exact bytes, media type
 * and digest. */
err_t *endpoint_get_top(struct endpoint *ep, struct strbuf *body, char **media_type, char digest[DIGEST_SIZE]);
/* A manifest by digest (children of an index). */
err_t *endpoint_get_manifest(struct endpoint *ep, const struct descriptor *d, struct strbuf *body);

err_t *endpoint_has_blob(struct endpoint *ep, const char *digest, bool *has);
/* Copy one blob from src to dst (verified; mounted when both are
 * repositories of one registry). */
err_t *endpoint_copy_blob(struct endpoint *src, struct endpoint *dst, const struct descriptor *d);

/* Store a manifest by digest (children) or, with tag=true, under the
 * destination's tag (or its digest when the reference has no tag). */
err_t *endpoint_put_manifest(struct endpoint *ep, const char *media_type, const struct strbuf *body,
			     const char *digest, bool tag);
/* Make everything visible (oci-archive written). */
err_t *endpoint_commit(struct endpoint *ep);

/* True for oci: and oci-archive: endpoints. */
bool endpoint_is_layout(const struct endpoint *ep);
/* For results: "registry/repo@digest" or "oci:dir@digest". */
char *endpoint_pinned(const struct endpoint *ep, const char *digest);
/* The destination without digest: registry/repository[:tag] or
 * oci[-archive]:path[:tag] (Tekton Chains' IMAGE_URL; caller frees). */
char *endpoint_url(const struct endpoint *ep);
const char *endpoint_name(const struct endpoint *ep);

#endif
