/* Public-key primitives for signing (OpenSSL EVP): ECDSA P-256 keys in PEM,
 * SPKI DER and raw point form, signatures in the two encodings the trust
 * formats use (raw r||s for TUF, ASN.1 DER for cosign), encrypted PKCS#8. */
#ifndef COMMON_KEYS_H
#define COMMON_KEYS_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "strbuf.h"

enum sig_format {
	SIG_RAW_RS, /* 64 bytes r||s: TUF "ecdsa" */
	SIG_DER,    /* ASN.1 DER ECDSA-Sig-Value: cosign */
};

static inline void cleanup_pkeyp(EVP_PKEY **k) { EVP_PKEY_free(*k); }
#define _cleanup_pkey_ __attribute__((cleanup(cleanup_pkeyp)))

err_t *key_generate_p256(EVP_PKEY **out);
bool key_is_p256(EVP_PKEY *k);
err_t *key_public_from_point(const unsigned char point[65], EVP_PKEY **out);
/* A PEM "PUBLIC KEY" or "CERTIFICATE" (its key); "name: value" header lines
 * such as notary's "role: ..." are ignored. */
err_t *key_public_from_pem(const char *pem, size_t len, EVP_PKEY **out);
/* key_public_from_pem over a file (at most 64 KiB); P-256 only. */
err_t *key_public_from_file(const char *path, EVP_PKEY **out);
err_t *key_public_from_spki(const void *der, size_t len, EVP_PKEY **out);
void key_public_pem(EVP_PKEY *k, struct strbuf *out);
void key_public_spki(EVP_PKEY *k, struct strbuf *out);
bool key_same_public(EVP_PKEY *a, EVP_PKEY *b);

/* Private key from PEM (PKCS#8 plain or encrypted, SEC1), header lines
 * ignored. An encrypted key with a wrong or missing passphrase is
 * EXIT_AUTH; the passphrase never appears in an error. */
err_t *key_private_from_pem(const char *pem, size_t len, const char *passphrase, EVP_PKEY **out);
/* PKCS#8 encrypted with AES-256-CBC under PBKDF2 (PEM). */
err_t *key_private_to_pem(EVP_PKEY *k, const char *passphrase, struct strbuf *out);

/* ECDSA-SHA256 over data. */
err_t *key_sign(EVP_PKEY *priv, const void *data, size_t len, enum sig_format fmt, struct strbuf *sig);
/* EXIT_POLICY when the signature does not verify. */
err_t *key_verify(EVP_PKEY *pub, const void *data, size_t len, const void *sig, size_t siglen,
		  enum sig_format fmt);
err_t *sig_der_to_raw(const void *der, size_t len, unsigned char raw[64]);
void sig_raw_to_der(const unsigned char raw[64], struct strbuf *der);

/* Hex of SHA-256(data) into hex[65]; raw digest into raw[32] when not NULL. */
void key_sha256_hex(const void *data, size_t len, char hex[65], unsigned char raw[32]);

#endif
