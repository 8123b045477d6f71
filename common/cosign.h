/* cosign-compatible image signatures in the registry (legacy tag scheme):
 * the manifest at tag "sha256-<hex>.sig" in the image's repository has one
 * layer per signature, each a simple-signing payload blob
 *   {"critical":{"identity":{"docker-reference":REPO},
 *                "image":{"docker-manifest-digest":DIGEST},
 *                "type":"cosign container image signature"},"optional":null}
 * with the annotation dev.cosignproject.cosign/signature = base64 of an
 * ASN.1 DER ECDSA-SHA256 signature over the blob's exact bytes. Signing
 * appends a layer to whatever signatures are already there (concurrent
 * signers re-read and retry); verification checks a public key's signature
 * over a payload that names this digest and repository. */
#ifndef COMMON_COSIGN_H
#define COMMON_COSIGN_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <time.h>

#include "error.h"
#include "registry.h"
#include "vault.h"

#define COSIGN_LAYER_TYPE "application/vnd.dev.cosign.simplesigning.v1+json"
#define COSIGN_SIG_ANNOTATION "dev.cosignproject.cosign/signature"

/* "sha256-<hex>.sig" for digest (caller frees). */
char *cosign_sig_tag(const char *digest);
/* The simple-signing payload bytes for repo (registry/repository) and digest. */
void cosign_payload(const char *repo, const char *digest, struct strbuf *out);

/* A signature written but not yet confirmed (see cosign_sign). */
struct cosign_pending {
	struct timespec put_done;
	long window_us;
	char *sig64;
};

/* Sign digest of repo with key and add the signature to the .sig manifest
 * (created if missing; a signature by the same key on the same payload is
 * not duplicated). sig_digest (may be NULL) gets the new manifest digest.
 * The registry cannot refuse a stale write, so after its PUT a writer
 * watches for a while and merges again if a concurrent writer dropped its
 * signature. pending NULL: watch here; else return at once and let the
 * caller do other work before cosign_confirm (the time passes anyway). */
err_t *cosign_sign(struct registry *r, const char *repo, const char *digest, const struct signer_key *key,
		   int conflict_retries, char sig_digest[DIGEST_SIZE], struct cosign_pending *pending);
err_t *cosign_confirm(struct registry *r, const char *repo, const char *digest, const struct signer_key *key,
		      int conflict_retries, char sig_digest[DIGEST_SIZE], struct cosign_pending *pending);
void cosign_pending_release(struct cosign_pending *p);

/* Whether the .sig manifest holds a valid signature by pub over a payload
 * naming digest and repo. EXIT_POLICY with the precise reason if not. */
err_t *cosign_verify(struct registry *r, const char *repo, const char *digest, EVP_PKEY *pub);

#endif
