/* The registry store: cosign-compatible attestations. The manifest at tag
 * "sha256-<hex>.att" in the image's repository has one layer per record,
 * the DSSE envelope (mediaType application/vnd.dsse.envelope.v1+json) with
 * the annotations cosign writes: "dev.cosignproject.cosign/signature": ""
 * and "predicateType". Records are appended, never replaced.
 *
 * The registry has no compare-and-swap, so concurrent publishers use
 * marks: each first writes its layer alone under the tag
 * "<att tag>.<first 16 hex of the layer digest>", then reads the .att
 * manifest, adds every marked layer it lacks, PUTs it, and reads it again
 * until nothing marked is missing. The last writer's read follows every
 * other writer's mark, so it puts back whatever an overlapping PUT
 * dropped: no record is lost, and each appears once (layers are keyed by
 * digest). */
#ifndef PUBLISH_DOI_ATTEST_H
#define PUBLISH_DOI_ATTEST_H

#include <stddef.h>

#include "digest.h"
#include "error.h"
#include "evidence.h"
#include "registry.h"

#define ATTEST_PREDICATE_ANNOTATION "predicateType"

/* "sha256-<hex>.att" (caller frees). */
char *attest_tag(const char *digest);

err_t *attest_put(struct registry *r, const char *digest, const void *envelope, size_t len,
		  const char *predicate_type, char layer_digest[DIGEST_SIZE]);

/* Every DSSE layer of the .att manifest (none when there is no tag). */
err_t *attest_read(struct registry *r, const char *digest, struct evidence *ev);

#endif
