/* A client for the OCI distribution API (Docker Registry HTTP API v2):
 * ping, auth (regauth.h), manifests (OCI and Docker schema 2, indexes and
 * manifest lists), blobs (HEAD, streaming GET verified against its digest
 * and resumed with Range on retry, monolithic and chunked upload,
 * cross-repository mount) and tag listing.
 *
 * One `struct registry` talks to one repository on one registry, with its
 * own auth state (tokens cached per scope). Errors:
 *   401/403 after the auth flow -> EXIT_AUTH
 *   unreachable / 429 / 5xx through every retry -> EXIT_UNREACHABLE
 *   digest or size mismatch -> EXIT_FAILED "blob sha256:... from <repo>:
 *     content has digest sha256:..., expected sha256:..." (nothing kept)
 *   404 -> EXIT_FAILED "... not found"
 * Messages name the registry, repository and object. */
#ifndef COMMON_REGISTRY_H
#define COMMON_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"
#include "http.h"
#include "imageref.h"
#include "regauth.h"
#include "strbuf.h"

struct registry_options {
	/* Credentials: explicit "user:password" wins, else authfile lookup. */
	const char *creds;
	const char *authfile; /* NULL: default locations (regauth.h) */
	/* Skip TLS verification, and fall back to plain http when the registry
	 * does not speak TLS (docker's insecure-registries behaviour). */
	bool insecure;
	struct http_options http; /* timeouts, retries, CA bundle, client cert */
	/* Upload chunk size for chunked uploads; 0: monolithic PUT for blobs up
	 * to 64 MiB, 16 MiB chunks (PATCH) above that. */
	size_t chunk_size;
	/* Tags asked for per tag-list page (n=); 0: 1000. */
	size_t tags_page_size;
};

struct registry;

/* Open a session for host/repository (host as in image_ref.registry;
 * docker.io is mapped to its API host). Does no I/O. */
err_t *registry_open(const char *host, const char *repository, const struct registry_options *opts,
		     struct registry **out);
/* Convenience: the host and repository of a parsed reference. */
err_t *registry_open_ref(const struct image_ref *ref, const struct registry_options *opts,
			 struct registry **out);
void registry_close(struct registry *r);

/* GET /v2/ with auth: proves the registry answers and credentials work. */
err_t *registry_ping(struct registry *r);

/* ---- manifests ---- */

struct registry_manifest {
	char *media_type;        /* Content-Type the registry gave */
	char digest[DIGEST_SIZE]; /* sha256 of body */
	struct strbuf body;      /* exact bytes */
};
void registry_manifest_release(struct registry_manifest *m);

/* Fetch a manifest or index by tag or digest (Accept: every type we know).
 * When reference is a digest, the body is verified against it. */
err_t *registry_get_manifest(struct registry *r, const char *reference, struct registry_manifest *out);
/* Several GETs side by side (one round trip for all, on up to the
 * client's connections per host): outs[i] and errs[i] are what
 * registry_get_manifest of refs[i] would give. */
void registry_get_manifests(struct registry *r, const char *const *refs, struct registry_manifest *outs,
			    err_t **errs, size_t n);
/* HEAD: exists? with its digest and media type (either may be NULL). */
err_t *registry_head_manifest(struct registry *r, const char *reference, bool *exists,
			      char digest_out[DIGEST_SIZE], char **media_type);
/* PUT body under reference (a tag, or its own digest). digest_out (may be
 * NULL) gets the body's digest, checked against Docker-Content-Digest. */
err_t *registry_put_manifest(struct registry *r, const char *reference, const char *media_type,
			     const void *body, size_t len, char digest_out[DIGEST_SIZE]);
/* Several side by side: bodies[i] under refs[i], errs[i] its outcome (as
 * registry_put_manifest's; one that meets a credentials challenge is sent
 * again the ordinary way). */
void registry_put_manifests(struct registry *r, const char *const *refs, const char *media_type,
			    const struct strbuf *bodies, err_t **errs, size_t n);
err_t *registry_delete_manifest(struct registry *r, const char *digest);

/* ---- blobs ---- */

/* HEAD /blobs/<digest>: *exists, and *size when not NULL. */
err_t *registry_blob_exists(struct registry *r, const char *digest, bool *exists, int64_t *size);
/* Stream a blob to sink, verifying size (if expected_size >= 0) and digest
 * as it goes; a mismatch is detected at the end, so a sink that writes to
 * disk must write to a temp file and keep it only on success. Retries
 * resume with Range. */
err_t *registry_get_blob(struct registry *r, const char *digest, int64_t expected_size,
			 http_write_fn sink, void *ctx);
/* Same, into a file descriptor (written from its current offset). */
err_t *registry_get_blob_fd(struct registry *r, const char *digest, int64_t expected_size, int fd);
/* Same, a small blob (a config) appended to out: at most max bytes. */
err_t *registry_get_blob_buffer(struct registry *r, const char *digest, int64_t expected_size, size_t max,
				struct strbuf *out);
/* Upload the blob held in fd (size bytes from offset 0; digest is its
 * sha256, checked by the registry). Skipped if it already exists. */
err_t *registry_put_blob_fd(struct registry *r, const char *digest, int64_t size, int fd);
/* Upload a small in-memory blob (configs, signatures); skipped if it
 * already exists. */
err_t *registry_put_blob_buffer(struct registry *r, const void *data, size_t len,
				char digest_out[DIGEST_SIZE]);
/* The same without asking first: one request less for a blob the caller
 * knows is new (uploading one that exists is harmless). */
err_t *registry_upload_blob_buffer(struct registry *r, const void *data, size_t len);
/* Several of them side by side: every POST at once, then every PUT. A
 * blob whose upload meets anything but success there (a credentials
 * challenge, an unexpected status) is uploaded again the ordinary way, so
 * the outcome is that of registry_upload_blob_buffer for each; the first
 * error is returned. */
err_t *registry_upload_blob_buffers(struct registry *r, const void *const *datas, const size_t *lens, size_t n);
/* Uploads of small blobs started now and left in flight (best effort:
 * nothing retried, no credentials challenge answered): their POSTs go
 * out beside whatever is sent next, their PUTs once registry_get_manifests
 * got its answers (or at registry_upload_ahead_wait). For blobs that are
 * probably needed next: an upload publishes nothing, and one of a blob
 * that exists is harmless. The data is copied. One batch per registry
 * (starting another drops the first); closing the registry abandons it. */
void registry_upload_ahead(struct registry *r, const void *const *datas, const size_t *lens, size_t n);
/* Wait for them: NULL when every blob was stored, else an error (then
 * upload the ordinary way; any may have been stored). */
err_t *registry_upload_ahead_wait(struct registry *r);
/* Cross-repository mount from from_repository on the same registry;
 * *mounted false means the registry started an upload instead (cancelled
 * here): then push the blob. */
err_t *registry_mount_blob(struct registry *r, const char *digest, const char *from_repository,
			   bool *mounted);

/* ---- tags ---- */

/* Every tag (follows Link pagination); callback per tag. */
typedef err_t *(*registry_tag_fn)(const char *tag, void *ctx);
err_t *registry_list_tags(struct registry *r, registry_tag_fn fn, void *ctx);
/* The target of the rel="next" link in a Link header value (RFC 8288:
 * "<uri>; rel=next, <uri>; rel=\"prev next\"", rel compared without case),
 * as written (caller frees); NULL when there is none or the value does not
 * parse. */
char *registry_link_next(const char *link);

/* The registry's host as the user named it, and the repository. */
const char *registry_host(const struct registry *r);
const char *registry_repository(const struct registry *r);

#endif
