/* The image model: OCI image manifests and indexes, Docker v2 schema 2
 * manifests and manifest lists. Parsing (untrusted input: bounded, every
 * field type-checked, digests validated), platform selection in an index,
 * and writing the canonical JSON of a manifest we build. */
#ifndef COMMON_MANIFEST_H
#define COMMON_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"
#include "strbuf.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
/* Accept header value for manifest GETs: every type above. */
#define MT_ACCEPT_ALL MT_OCI_MANIFEST ", " MT_OCI_INDEX ", " MT_DOCKER_MANIFEST ", " MT_DOCKER_LIST

/* Largest manifest we read (the distribution spec's own recommendation). */
#define MANIFEST_MAX_SIZE (4u << 20)

struct descriptor {
	char *media_type;
	char digest[DIGEST_SIZE];
	int64_t size;
	/* index entries only (NULL otherwise) */
	char *os, *architecture, *variant;
	json_t *annotations; /* object or NULL (a reference this descriptor owns) */
};

/* Free a descriptor's strings (one filled by a parser or resolver that
 * copied them; annotations are a new reference there). */
void descriptor_release(struct descriptor *d);

enum manifest_kind { MANIFEST_IMAGE, MANIFEST_INDEX };

struct manifest {
	enum manifest_kind kind;
	char *media_type;         /* effective: the document's, else the hint */
	struct descriptor config; /* image only */
	struct descriptor *layers;    /* image only */
	size_t n_layers;
	struct descriptor *manifests; /* index only */
	size_t n_manifests;
	json_t *json; /* the whole parsed document */
};

/* Parse a manifest or index. content_type is the HTTP Content-Type or the
 * descriptor's media type (may be NULL: then the document's mediaType, or
 * its shape, decides). Anything malformed is EXIT_FAILED naming the field. */
err_t *manifest_parse(const void *body, size_t len, const char *content_type, struct manifest *out);
void manifest_release(struct manifest *m);
/* Copy a descriptor (strings duplicated, annotations referenced). */
void descriptor_copy(struct descriptor *dst, const struct descriptor *src);

bool manifest_type_is_index(const char *media_type);
bool manifest_type_is_image(const char *media_type);

/* Choose an index entry: platform "os/arch[/variant]" (NULL: this host,
 * linux/amd64 or linux/arm64/v8...). Exact variant match first, then an
 * entry without variant. No match -> EXIT_FAILED listing what there is. */
err_t *manifest_select_platform(const struct manifest *index, const char *platform,
				const struct descriptor **out);

/* The descriptor as JSON {"mediaType","digest","size"[,"annotations"]}. */
json_t *descriptor_json(const struct descriptor *d);
/* Serialise a JSON document the way we publish manifests: compact, keys in
 * insertion order, no trailing newline; the bytes whose digest is the
 * manifest digest. */
void manifest_dump(const json_t *doc, struct strbuf *out);
/* Build an image manifest document (OCI or Docker per media_type). */
json_t *manifest_build_image(const char *media_type, const struct descriptor *config,
			     const struct descriptor *layers, size_t n_layers,
			     json_t *annotations /* stolen, may be NULL */);

#endif
