/* The signature policy every consumer shares (verify-signatures, deploy,
 * the admission check): is this image digest signed by every required
 * signer? Docker Content Trust side: a TUF client that verifies the whole
 * chain from the repository's root (root threshold, timestamp -> snapshot
 * -> targets hashes and lengths, delegations and their thresholds, expiry,
 * version rollback against what was seen before) and then looks for the
 * digest in each signer's delegation role (targets/<name>).
 *
 * Metadata comes through a fetch callback (a notary server, or a directory
 * of role files), so the same code verifies online and offline. Chain
 * failures are EXIT_POLICY errors naming the role and the rule; per-signer
 * outcomes are verdicts, so a report can name every missing signer. */
#ifndef COMMON_TRUST_VERIFY_H
#define COMMON_TRUST_VERIFY_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"
#include "strbuf.h"
#include "tuf.h"

/* Fetch role metadata ("root", "targets/build", ...); *found false if the
 * role has no file. */
typedef err_t *(*trust_fetch_fn)(void *ctx, const char *role, struct strbuf *out, bool *found);

/* A fetcher over a directory holding <role>.json files (targets/x.json in
 * a targets/ subdirectory, as the notary CLI's cache lays them out). */
err_t *trust_dir_fetch(void *dir, const char *role, struct strbuf *out, bool *found);

struct trust_repo {
	char *gun;
	struct tuf_meta root, timestamp, snapshot, targets;
	trust_fetch_fn fetch;
	void *ctx;
	time_t now;
	char *state_dir; /* NULL: no state dir, or not a safe one (statedir.h) */
	int state_fd;    /* the state dir, open (when state_dir) */
	json_t *versions; /* role -> highest version seen (state) */
	struct strbuf root_bytes; /* root.json as served */
	/* state dir: what need not be written again */
	char *versions_loaded; /* versions as read */
	bool root_unchanged;   /* root is the one trusted before */
};

/* Fetch and verify root, timestamp, snapshot and targets. With state_dir,
 * versions older than those seen before are refused, a root whose keys
 * changed must be signed by the previously trusted root's keys, and the
 * new versions are remembered (trust_repo_commit). With state_dir the
 * role files are also cached there: the timestamp is always fetched, a
 * snapshot/targets/delegation whose hash in its fresh parent matches the
 * cached file is not fetched again, and the root trusted before is used
 * without a fetch when the fresh snapshot names exactly it (every check,
 * signatures included, runs on the cached bytes as on fetched ones: the
 * state dir remembers what was seen, never that something verified). A
 * state dir that is not safe (statedir.h) is ignored with a warning. On
 * error nothing is left to release. */
err_t *trust_repo_load(trust_fetch_fn fetch, void *ctx, const char *gun, const char *state_dir, time_t now,
		       struct trust_repo *out);
/* Trust pinning: the root role must list one of these key IDs (the
 * root-key-id dct-init reports); EXIT_POLICY naming what it lists if not. */
err_t *trust_repo_check_pins(const struct trust_repo *r, const char *const *ids, size_t n);

/* Fetch and verify a delegated role. *delegation gets its entry in
 * targets.json (borrowed), NULL (and EXIT_POLICY) if it is not delegated.
 * *found is false if the role has no file yet. */
err_t *trust_repo_role(struct trust_repo *r, const char *role, struct tuf_meta *out, bool *found,
		       const json_t **delegation);
/* Role bytes this client has just published, kept in the state dir's
 * cache (state_dir only): the next load uses them instead of a fetch only
 * when the fresh snapshot names exactly these bytes (hash and length). */
void trust_repo_cache_published(const struct trust_repo *r, const char *role, const char *data, size_t len);
/* Where TLS sessions are kept inside a trust state dir (http_options'
 * tls_session_dir), so a task with a state dir also resumes its notary and
 * registry connections; NULL without a state dir. Caller frees. */
char *trust_state_tls_dir(const char *state_dir);
/* Remember the versions seen (state_dir only). */
err_t *trust_repo_commit(struct trust_repo *r);
void trust_repo_release(struct trust_repo *r);

struct trust_signer {
	const char *name; /* role targets/<name> */
	EVP_PKEY *pub;    /* required key; NULL: any key the delegation lists */
};

struct trust_verdict {
	bool ok;
	char *reason; /* why not, or what was found ("tag v1 in targets/build") */
};

/* One verdict per signer: digest ("sha256:<hex>") must be a target of
 * targets/<name>, in a role file validly signed (and, with pub, signed by
 * that key, which the delegation must list). */
void trust_verify_signers(struct trust_repo *r, const char *digest, const struct trust_signer *signers, size_t n,
			  struct trust_verdict *out);
void trust_verdict_release(struct trust_verdict *v);

/* Whether e says files did not match the snapshot/timestamp: tampering, or
 * a read that raced a concurrent publish (re-reading tells them apart). */
bool trust_error_inconsistent(const err_t *e);

/* The TUF key ID ("ecdsa" key object) of a public key (hex[65]). */
err_t *trust_key_id(EVP_PKEY *pub, char hex[65]);

#endif
