/* cosign-compatible image signatures in the registry (legacy tag scheme):
 * the manifest at tag "sha256-<hex>.sig" in the image's repository has one
 * layer per signature, each a simple-signing payload blob
 *   {"critical":{"identity":{"docker-reference":REPO},
 *                "image":{"docker-manifest-digest":DIGEST},
 *                "type":"cosign container image signature"},"optional":null}
 * with the annotation dev.cosignproject.cosign/signature = base64 of an
 * ASN.1 DER ECDSA-SHA256 signature over the blob's exact bytes. Signing
 * appends a layer to whatever signatures are already there (no signature
 * of a concurrent signer is lost: per-signer mark tags, see cosign_sign);
 * verification checks a public key's signature over a payload that names
 * this digest and repository. */
#ifndef COMMON_COSIGN_H
#define COMMON_COSIGN_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "registry.h"
#include "vault.h"

#define COSIGN_LAYER_TYPE "application/vnd.dev.cosign.simplesigning.v1+json"
#define COSIGN_SIG_ANNOTATION "dev.cosignproject.cosign/signature"

/* "sha256-<hex>.sig" for digest (caller frees). */
char *cosign_sig_tag(const char *digest);
/* The simple-signing payload bytes for repo (registry/repository) and digest. */
void cosign_payload(const char *repo, const char *digest, struct strbuf *out);

/* The manifest at tag (a .sig, .att or mark tag), parsed, with a "layers"
 * array; *exists false (and *doc NULL) if there is none. digest_out (may
 * be NULL) gets its digest. */
err_t *cosign_get_manifest(struct registry *r, const char *tag, json_t **doc, bool *exists,
			   char digest_out[DIGEST_SIZE]);

/* PUT an OCI manifest of layers with cosign's config at tag. blob (may be
 * NULL): a layer's blob not uploaded yet, uploaded here beside the config
 * before the PUT; the other layers' blobs are the caller's. config_exists
 * (no blob): the same layers were PUT before, so the PUT goes first and
 * the config is uploaded only if the registry says it is unknown; else it
 * is uploaded first. A blob the registry lost during a concurrent upload
 * of the same blob is uploaded again and the PUT retried. digest_out (may
 * be NULL) gets the manifest's digest. */
err_t *cosign_put_manifest(struct registry *r, const char *tag, const json_t *layers, const struct strbuf *blob,
			   bool config_exists, char digest_out[DIGEST_SIZE]);
/* The manifests of layers[i] at tags[i] side by side: blob (may be NULL)
 * and each manifest's config uploaded side by side first, then every PUT
 * at once. The first error is returned. */
err_t *cosign_put_manifests(struct registry *r, const char *const *tags, json_t *const *layers, size_t n,
			    const struct strbuf *blob);

/* Sign digest of repo with key and add the signature to the .sig manifest
 * (created if missing; a signature by the same key on the same payload is
 * replaced, not duplicated). sig_digest (may be NULL) gets the manifest
 * digest. Concurrent signers lose nothing: each also keeps its signature
 * under a signer mark tag ("<sig tag>.<key id prefix>") written before it
 * reads, and every writer checks after its PUT that every mark is in the
 * .sig manifest, merging again if not (see cosign.c). */
struct cosign_sign_opts {
	int conflict_retries;
	/* (may be NULL) called once, after the reads and the signature and
	 * before the first write: an error stops there, nothing written */
	err_t *(*before_write)(void *ctx);
	void *before_write_ctx;
	/* out: something was (or, after an error, may have been) written */
	bool wrote;
	/* (may be NULL) a manifest of the repository the caller also needs,
	 * read side by side with the first read of the .sig manifest, before
	 * the gate: also_got is called once with what registry_get_manifest
	 * would give (m is released after the call; the error is also_got's).
	 * Not called when cosign_sign fails before reading anything. */
	const char *also_get;
	void (*also_got)(void *ctx, struct registry_manifest *m, err_t *e);
	void *also_ctx;
};
err_t *cosign_sign(struct registry *r, const char *repo, const char *digest, const struct signer_key *key,
		   struct cosign_sign_opts *opts, char sig_digest[DIGEST_SIZE]);

/* Take back what cosign_sign wrote (when a signature in another format
 * could not be published with it): key's mark no longer carries its
 * signature, and key's layer on this payload leaves the .sig manifest;
 * a tag left with no signature is deleted (emptied where the registry
 * deletes nothing). */
err_t *cosign_unsign(struct registry *r, const char *repo, const char *digest, const struct signer_key *key);

/* Whether the .sig manifest holds a valid signature by pub over a payload
 * naming digest and repo. EXIT_POLICY with the precise reason if not. */
err_t *cosign_verify(struct registry *r, const char *repo, const char *digest, EVP_PKEY *pub);

/* The two steps of cosign_verify that read what the registry served, for
 * any source of blobs: the walk over a parsed .sig manifest's layers (doc,
 * served under tag), fetching each signature layer's payload with blob
 * (which must check it against its digest and size), and the check that a
 * payload names digest and repo. Errors as cosign_verify's. */
typedef err_t *(*cosign_blob_fn)(void *ctx, const char *digest, int64_t size, struct strbuf *out);
err_t *cosign_verify_manifest(const json_t *doc, cosign_blob_fn blob, void *ctx, const char *repo, const char *digest,
			      const char *tag, EVP_PKEY *pub);
err_t *cosign_check_payload(const char *payload, size_t len, const char *repo, const char *digest);

#endif
