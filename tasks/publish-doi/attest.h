/* The registry store: cosign-compatible attestations. The manifest at tag
 * "sha256-<hex>.att" in the image's repository has one layer per record,
 * the DSSE envelope (mediaType application/vnd.dsse.envelope.v1+json) with
 * the annotations cosign writes: "dev.cosignproject.cosign/signature": ""
 * and "predicateType". Records are appended, never replaced.
 *
 * The registry has no compare-and-swap, so concurrent publishers use
 * marks: each writes its layer alone under the tag
 * "<att tag>.<first 16 hex of the layer digest>" and, side by side with
 * it, the .att manifest it read with every marked layer it lacks and its
 * own; then it reads the .att manifest and the marks again, and PUTs
 * again while anything marked is missing. Every read that can end a
 * writer's loop follows its mark and its PUT, so the last writer's read
 * follows every other writer's mark: it puts back whatever an overlapping
 * PUT dropped. No record is lost, and each appears once (layers are keyed
 * by digest).
 *
 * The marks stay. Deleting one once its layer is in the .att manifest
 * would let a writer that listed the mark, but fetches it after the
 * delete, PUT a manifest without that layer and, finding the mark gone
 * on its next read, never put it back: the record would be lost. They
 * are small (a one-layer manifest naming an envelope the .att manifest
 * names too), and cosign reads only the "sha256-<hex>.att" tag. */
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
