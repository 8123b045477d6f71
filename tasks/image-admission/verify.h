/* Verdicts for admission: is this image, under this policy rule, signed by
 * every required signer (common/sigpolicy, the verifier deploy and
 * verify-signatures use)? A tag is resolved through the registry once and
 * the digest it names is what is verified and pinned; the resolution is
 * kept tag_ttl_ms (at most cache_size tags), so reviews of a tag within
 * that time are verified against the digest it named then (a tag moved
 * meanwhile is seen after tag_ttl_ms at most; /mutate pins the digest
 * verified, so what runs is what was verified either way).
 *
 * Each verification runs in its own thread (at most max_jobs at once),
 * shared by every request that asks for the same digest (or unresolved
 * tag) meanwhile. Nobody blocks on one: a request starts its checks with a
 * watch, and the watch calls back once every check has its verdict or at
 * the request's deadline, whichever comes first (from the verification's
 * thread or the verifier's deadline timer); past the deadline the check is
 * a denial (fail closed). So no request waits on another image's slow
 * verification, and none outlives the webhook timeout.
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
#include "error.h"
#include "imageref.h"
#include "admission_policy.h"

struct verifier_options {
	const char *notary_ca, *registry_ca, *registry_creds, *authfile;
	bool insecure_registry;
	int64_t deadline_ms;  /* a request's whole budget */
	int64_t trust_ttl_ms; /* how long a repository's timestamp is taken as current */
	int64_t cache_ttl_ms; /* how long a verdict is kept */
	int64_t tag_ttl_ms;   /* how long a tag's digest is kept (0: resolve every time) */
	size_t cache_size;    /* verdicts kept at most */
	size_t max_jobs;      /* verifications in flight at most (more: denied) */
};

struct verifier;

err_t *verifier_new(const struct verifier_options *o, struct verifier **out);
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

/* A request's wait for its checks (see above). */
struct watch;
typedef void (*watch_fn)(void *arg);

/* A watch that calls fn(arg) once, when every check started with it has
 * its verdict, or at deadline_ms (clock_monotonic_ms). */
struct watch *verifier_watch(struct verifier *v, int64_t deadline_ms, watch_fn fn, void *arg);
/* Start checking image (ref parsed from it) under rule; generation names
 * the policy (a reload gets a new one). Answers at once from the cache
 * (c->job NULL); else c waits for a verification, counted by w. */
void verifier_start(struct verifier *v, uint64_t generation, const struct admission_rule *rule,
		    const struct image_ref *ref, struct check *c, struct watch *w);
/* After the checks are started: true when w waits for a verdict (fn will
 * be called, possibly before this returns, from another thread); false
 * when every verdict is in already (fn is not called). w is the
 * verifier's from here on. */
bool verifier_watch_arm(struct verifier *v, struct watch *w);
/* Once the watch called back (or arm said false): fill c with its job's
 * verdict, or the deadline denial if it has none yet. Never blocks. */
void verifier_collect(struct verifier *v, struct check *c);
void check_release(struct check *c);

/* For /readyz and the figures: verifications in flight, cached verdicts. */
size_t verifier_jobs(struct verifier *v);
size_t verifier_cached(struct verifier *v);

#endif
