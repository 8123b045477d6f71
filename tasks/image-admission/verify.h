/* Verdicts for admission: is this image, under this policy rule, signed by
 * every required signer (common/sigpolicy, the verifier deploy and
 * verify-signatures use)? A tag is resolved through the registry once and
 * the digest it names is what is verified and pinned.
 *
 * Each verification runs in its own thread, shared by every request that
 * asks for the same image meanwhile; a request waits for it only until its
 * own deadline and then is denied (fail closed), so no request waits on
 * another image's slow verification and none outlives the webhook timeout.
 * Verdicts are cached by policy generation, repository, digest and the
 * repository's trust timestamp (the sha256 of the notary's timestamp.json,
 * re-read at most every trust_ttl_ms), so new trust data is never answered
 * from an old verdict once it is seen. Errors (servers unreachable, too
 * slow) deny and are never cached. */
#ifndef IMAGE_ADMISSION_VERIFY_H
#define IMAGE_ADMISSION_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "imageref.h"
#include "admission_policy.h"

struct verifier_options {
	const char *notary_ca, *registry_ca, *registry_creds, *authfile;
	bool insecure_registry;
	int64_t deadline_ms;  /* a request's whole budget */
	int64_t trust_ttl_ms; /* how long a repository's timestamp is taken as current */
	int64_t cache_ttl_ms; /* how long a verdict is kept */
	size_t cache_size;    /* verdicts kept at most */
	size_t max_jobs;      /* verifications in flight at most (more: denied) */
};

struct verifier;

struct verifier *verifier_new(const struct verifier_options *o);
/* Waits for the verifications still running (they end at their own
 * timeouts) and frees everything. */
void verifier_free(struct verifier *v);

struct check {
	bool ok;
	char *reason;                /* why not (or NULL) */
	char digest[DIGEST_SIZE];    /* the digest verified ("" when unknown) */
	bool cached;                 /* answered from the cache */
	struct job *job;             /* running */
};

/* Start checking image (ref parsed from it) under rule; generation names
 * the policy (a reload gets a new one). Answers at once from the cache. */
void verifier_start(struct verifier *v, uint64_t generation, const struct admission_rule *rule,
		    const struct image_ref *ref, struct check *c);
/* Wait until the verdict or deadline_ms (clock_monotonic_ms) and fill c;
 * past the deadline c is a denial saying so. */
void verifier_wait(struct verifier *v, struct check *c, int64_t deadline_ms);
void check_release(struct check *c);

/* For /readyz and the figures: verifications in flight, cached verdicts. */
size_t verifier_jobs(struct verifier *v);
size_t verifier_cached(struct verifier *v);

#endif
