/* Content digests as the OCI image and distribution specs use them:
 * "sha256:<64 lowercase hex>". Streaming SHA-256 (OpenSSL EVP), parsing and
 * validation of digest strings, and constant-time comparison (a digest may
 * be checked against an attacker-chosen one). sha256 is the only algorithm
 * accepted; anything else is refused with a message that says so. */
#ifndef COMMON_DIGEST_H
#define COMMON_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define DIGEST_PREFIX "sha256:"
#define DIGEST_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define DIGEST_SIZE (sizeof DIGEST_PREFIX - 1 + DIGEST_HEX_LEN + 1)

/* A running SHA-256. Zero-initialise or call sha256_init; always end with
 * sha256_final (which releases it) or sha256_discard. */
struct sha256 {
	void *ctx;      /* EVP_MD_CTX * */
	uint64_t bytes; /* bytes hashed so far */
};

void sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *data, size_t len);
/* Write "sha256:<hex>" into out and release the context. */
void sha256_final(struct sha256 *h, char out[DIGEST_SIZE]);
void sha256_discard(struct sha256 *h);

/* One-shot helpers. */
void digest_buffer(const void *data, size_t len, char out[DIGEST_SIZE]);
/* Hash everything readable from fd (from its current offset); size gets the
 * byte count when not NULL. */
err_t *digest_fd(int fd, char out[DIGEST_SIZE], uint64_t *size);
err_t *digest_file(const char *path, char out[DIGEST_SIZE], uint64_t *size);

/* True if s is exactly "sha256:" followed by 64 lowercase hex digits. */
bool digest_valid(const char *s);
/* Like digest_valid, with an EXIT_USAGE error naming `what` and saying what
 * is wrong (unknown algorithm, wrong length, bad character). */
err_t *digest_check(const char *s, const char *what);
/* bin as 2n lowercase hex digits and a NUL in out (2n + 1 bytes). */
void hex_encode(const unsigned char *bin, size_t n, char *out);
/* The hex part of a valid digest (s + 7). */
const char *digest_hex(const char *s);
/* Constant-time equality of two digest strings (length leaks, content does not). */
bool digest_equal(const char *a, const char *b);

#endif
