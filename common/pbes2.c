/* OpenSSL's low-level SHA-256 and AES (see pbes2.h why): deprecated in
 * OpenSSL 3 but kept, and the same algorithms whichever API computes
 * them. The SHA-256 context is a plain struct: a keyed HMAC state is
 * copied by value (EVP_MD_CTX copies allocate). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "pbes2.h"

#include <openssl/aes.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>

struct hmac_keyed {
	SHA256_CTX inner, outer; /* after K xor ipad, K xor opad */
};

static void hmac_key(struct hmac_keyed *h, const void *key, size_t len)
{
	unsigned char k[SHA256_CBLOCK] = { 0 }, pad[SHA256_CBLOCK];
	if (len > sizeof k)
		SHA256(key, len, k);
	else if (len)
		memcpy(k, key, len);
	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = k[i] ^ 0x36;
	SHA256_Init(&h->inner);
	SHA256_Update(&h->inner, pad, sizeof pad);
	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = k[i] ^ 0x5c;
	SHA256_Init(&h->outer);
	SHA256_Update(&h->outer, pad, sizeof pad);
	OPENSSL_cleanse(k, sizeof k);
	OPENSSL_cleanse(pad, sizeof pad);
}

/* HMAC(K, a || b) from the keyed states. */
static void hmac(const struct hmac_keyed *h, const void *a, size_t alen, const void *b, size_t blen,
		 unsigned char out[SHA256_DIGEST_LENGTH])
{
	SHA256_CTX c = h->inner;
	SHA256_Update(&c, a, alen);
	if (blen)
		SHA256_Update(&c, b, blen);
	SHA256_Final(out, &c);
	c = h->outer;
	SHA256_Update(&c, out, SHA256_DIGEST_LENGTH);
	SHA256_Final(out, &c);
	OPENSSL_cleanse(&c, sizeof c);
}

void pbkdf2_hmac_sha256(const void *pass, size_t pass_len, const void *salt, size_t salt_len, unsigned long iter,
			unsigned char *out, size_t out_len)
{
	struct hmac_keyed h;
	hmac_key(&h, pass, pass_len);
	unsigned char u[SHA256_DIGEST_LENGTH], t[SHA256_DIGEST_LENGTH];
	for (unsigned long block = 1; out_len; block++) {
		/* T_i = U_1 ^ ... ^ U_c, U_1 = PRF(P, S || INT(i)), U_j = PRF(P, U_j-1) */
		unsigned char be[4] = { (unsigned char)(block >> 24), (unsigned char)(block >> 16),
					(unsigned char)(block >> 8), (unsigned char)block };
		hmac(&h, salt, salt_len, be, sizeof be, u);
		memcpy(t, u, sizeof t);
		for (unsigned long j = 1; j < iter; j++) {
			hmac(&h, u, sizeof u, NULL, 0, u);
			for (size_t k = 0; k < sizeof t; k++)
				t[k] ^= u[k];
		}
		size_t n = out_len < sizeof t ? out_len : sizeof t;
		memcpy(out, t, n);
		out += n;
		out_len -= n;
	}
	OPENSSL_cleanse(&h, sizeof h);
	OPENSSL_cleanse(u, sizeof u);
	OPENSSL_cleanse(t, sizeof t);
}

bool aes256_cbc_decrypt(const unsigned char key[32], const unsigned char iv[16], const unsigned char *in, size_t len,
			unsigned char *out, size_t *out_len)
{
	*out_len = 0;
	if (!len || len % AES_BLOCK_SIZE)
		return false;
	AES_KEY k;
	unsigned char ivec[AES_BLOCK_SIZE];
	memcpy(ivec, iv, sizeof ivec);
	bool ok = AES_set_decrypt_key(key, 256, &k) == 0;
	if (ok)
		AES_cbc_encrypt(in, out, len, &k, ivec, AES_DECRYPT);
	OPENSSL_cleanse(&k, sizeof k);
	/* PKCS#7: n bytes of value n, 1 <= n <= 16 */
	unsigned char pad = ok ? out[len - 1] : 0;
	ok = ok && pad >= 1 && pad <= AES_BLOCK_SIZE;
	for (size_t i = 0; ok && i < pad; i++)
		ok = out[len - 1 - i] == pad;
	if (ok)
		*out_len = len - pad;
	return ok;
}
