/* Writing Docker Content Trust data on a notary server, the way the notary
 * and docker CLIs do: create a repository's trust data (root with a
 * self-signed ecdsa-x509 key, targets, server-managed timestamp and
 * snapshot), manage signer delegations (targets/<signer> plus
 * targets/releases, which `docker pull` trusts), and sign image digests
 * into a signer's roles. Every write starts from metadata verified by
 * trust_verify and is retried when a concurrent writer published first, so
 * concurrent signers lose nothing. */
#ifndef COMMON_DCT_H
#define COMMON_DCT_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "error.h"
#include "notary.h"
#include "vault.h"

#define DCT_ROOT_DAYS (10 * 365)
#define DCT_TARGETS_DAYS (3 * 365)

struct dct_signer {
	const char *name;
	EVP_PKEY *pub;
};

/* Create the trust data of the notary's GUN: root and targets keys from the
 * vault, the timestamp key held by the server, the snapshot key held by the
 * server (snapshot NULL) or from the vault (then every writer that has it
 * signs a new snapshot with each publish), the signers as
 * delegations targets/<name> and (all of them) targets/releases. Refuses a
 * GUN that already has trust data unless it was made with the same root key
 * (then only the signers are added). */
err_t *dct_init(struct notary *n, struct signer_key *root, struct signer_key *targets, struct signer_key *snapshot,
		const struct dct_signer *signers, size_t count, time_t now, int conflict_retries);

/* Add or replace (pub set) or remove (pub NULL) a signer's delegation,
 * re-signing targets.json with the targets key (and the snapshot, when
 * snapshot is the repository's local snapshot key). */
err_t *dct_set_signer(struct notary *n, struct signer_key *targets, struct signer_key *snapshot, const char *name,
		      EVP_PKEY *pub, time_t now, int conflict_retries);

/* What dct_sign signs: digest (sha256, manifest length) as tag into
 * targets/<signer> and, when with_releases and the key is delegated there,
 * targets/releases. */
typedef err_t *(*dct_length_fn)(void *ctx, int64_t *length);
struct dct_sign_request {
	struct signer_key *key;
	struct signer_key *snapshot; /* the repository's local snapshot key, or NULL */
	const char *signer;
	const char *tag;
	unsigned char sha256[32];
	/* the manifest's length, known only later (read from the registry
	 * while the trust data is fetched): called once, after the trust data
	 * is loaded and before anything is signed */
	dct_length_fn length_fn;
	void *length_ctx;
	bool with_releases;
	time_t now;
	int conflict_retries;
	/* trust state dir shared with verification (trust_repo_load): remembers
	 * versions and caches roles, including the ones published here */
	const char *state_dir;
	/* (may be NULL) called once, just before the first publish: an error
	 * stops dct_sign there, nothing published, and is returned */
	err_t *(*before_publish)(void *ctx);
	void *before_publish_ctx;
};
/* roles (may be NULL) gets the roles written, comma-separated. */
err_t *dct_sign(struct notary *n, const struct dct_sign_request *req, char **roles);

#endif
