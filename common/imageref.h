/* Image references as docker and skopeo read them:
 *   [registry[:port]/]repository[:tag][@sha256:<hex>]
 * with Docker's normalisation: no registry -> "docker.io"; "index.docker.io"
 * -> "docker.io"; a one-component repository on docker.io gets "library/".
 * The first component is a registry when it contains '.' or ':' or is
 * "localhost". Repository components are lowercase [a-z0-9] separated by
 * '.', '_', '__' or dashes; tags are [A-Za-z0-9_][A-Za-z0-9_.-]{0,127};
 * the whole name is at most 255 bytes. Malformed references are EXIT_USAGE
 * errors saying what is wrong. */
#ifndef COMMON_IMAGEREF_H
#define COMMON_IMAGEREF_H

#include <stdbool.h>

#include "error.h"

struct image_ref {
	char *registry;   /* "docker.io", "quay.io", "127.0.0.1:5000" */
	char *repository; /* "library/alpine", "team/app" */
	char *tag;        /* "latest" when neither tag nor digest was given */
	char *digest;     /* "sha256:..." or NULL */
	bool tag_implied; /* tag is the default "latest", not written */
};

err_t *imageref_parse(const char *s, struct image_ref *out);
void imageref_free(struct image_ref *r);

/* "registry/repository" (caller frees). */
char *imageref_name(const struct image_ref *r);
/* Normalised full form: "registry/repository[:tag][@digest]"; the implied
 * tag is left out when a digest is present (caller frees). */
char *imageref_string(const struct image_ref *r);
/* Pinned form "registry/repository@digest" (caller frees). */
char *imageref_pinned(const struct image_ref *r, const char *digest);
/* Tekton Chains' IMAGE_URL: "registry/repository[:tag]", never a digest
 * (Chains appends "@" IMAGE_DIGEST itself). The tag is `tag` when non-empty,
 * else r's tag as imageref_string shows it, else none (caller frees). */
char *imageref_tagged(const struct image_ref *r, const char *tag);
/* What to ask the registry for: the digest if any, else the tag. */
const char *imageref_reference(const struct image_ref *r);
/* Host to talk to: "registry-1.docker.io" for docker.io, else registry. */
const char *imageref_api_host(const struct image_ref *r);

/* Validate pieces on their own (used by the parser; handy for params). */
bool imageref_valid_repository(const char *repo);
bool imageref_valid_tag(const char *tag);

#endif
