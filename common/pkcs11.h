/* A small PKCS#11 client: load a token module (dlopen), log in, and keep
 * ECDSA P-256 signer keys inside the token: generated there, marked
 * sensitive and non-extractable, used through C_Sign. Keys are found by
 * label (the signer's name). Only what the vault needs; no general wrapper.
 *
 * The module is loaded and called only in a child process (the agent,
 * forked by p11_open, ended by p11_close): a module brings its own shared
 * libc (and libcrypto), whose thread-local state collides with a static
 * binary's (see pkcs11.c). glibc's static dlopen then works when the host
 * (or image) has the same glibc and the module's own shared dependencies.
 * Calls are thread-safe (one at a time). */
#ifndef COMMON_PKCS11_H
#define COMMON_PKCS11_H

#include <stddef.h>

#include "error.h"

struct p11;

/* Open module, find the token by label, open an R/W session, log in as user.
 * A wrong PIN is EXIT_AUTH; the PIN never appears in an error. */
err_t *p11_open(const char *module, const char *token_label, const char *pin, struct p11 **out);
void p11_close(struct p11 *p);

/* Generate a P-256 key pair labelled label; point receives the public
 * point, uncompressed (65 bytes). Refuses an existing label. */
err_t *p11_generate_ec(struct p11 *p, const char *label, unsigned char point[65]);
/* Public point of the key labelled label (EXIT_USAGE if none). */
err_t *p11_public_ec(struct p11 *p, const char *label, unsigned char point[65]);
/* Raw r||s ECDSA signature over a 32-byte hash, made inside the token. */
err_t *p11_sign_ec(struct p11 *p, const char *label, const unsigned char hash[32], unsigned char sig[64]);
/* Labels of private keys on the token (caller frees each and the array). */
err_t *p11_list(struct p11 *p, char ***labels, size_t *n);
/* Delete both halves of the pair labelled label. */
err_t *p11_delete(struct p11 *p, const char *label);
/* Give the pair labelled from the label to (both halves). */
err_t *p11_relabel(struct p11 *p, const char *from, const char *to);
/* Whether the private key labelled label is sensitive and non-extractable. */
err_t *p11_check_protected(struct p11 *p, const char *label);

#endif
