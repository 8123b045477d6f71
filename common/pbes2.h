/* PBES2 (RFC 8018 section 6.2) as the file vault's encrypted PKCS#8 keys
 * use it: PBKDF2 with HMAC-SHA256 (section 5.2, HMAC per RFC 2104) and
 * AES-256-CBC with PKCS#7 padding.
 *
 * PBKDF2: the same function as OpenSSL's PKCS5_PBKDF2_HMAC(...,
 * EVP_sha256(), ...), the same number of iterations (the format's work
 * factor is unchanged), without the
 * allocations OpenSSL 3 makes for every iteration (an HMAC context copy,
 * three digest contexts), which made decrypting a vault key cost 2 ms of
 * a publish-doi run: the keyed inner and outer SHA-256 states are computed
 * once and copied by value.
 *
 * AES-256-CBC: OpenSSL's low-level AES, because the first EVP cipher of a
 * process makes OpenSSL 3 build a method for every cipher of the default
 * provider (1.1 ms measured), for the 144 bytes of one key. */
#ifndef COMMON_PBES2_H
#define COMMON_PBES2_H

#include <stdbool.h>
#include <stddef.h>

void pbkdf2_hmac_sha256(const void *pass, size_t pass_len, const void *salt, size_t salt_len, unsigned long iter,
			unsigned char *out, size_t out_len);

/* Decrypt len bytes (a multiple of 16) of AES-256-CBC into out (len
 * bytes), *out_len the plaintext's length without its PKCS#7 padding;
 * false when the padding is not valid (a wrong key, as a rule). */
bool aes256_cbc_decrypt(const unsigned char key[32], const unsigned char iv[16], const unsigned char *in, size_t len,
			unsigned char *out, size_t *out_len);

#endif
