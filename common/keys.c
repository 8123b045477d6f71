#include "keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <string.h>

#include "b64.h"
#include "der.h"
#include "digest.h"
#include "fsutil.h"
#include "pbes2.h"
#include "xalloc.h"

static void ossl_clear(void) { ERR_clear_error(); }

/* DER SubjectPublicKeyInfo of an uncompressed P-256 key = this prefix and
 * the 65-byte point. OpenSSL 3's generic decoders and encoders cost about
 * a millisecond per call; this shape is handled directly. */
static const unsigned char p256_spki_prefix[26] = {
	0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};

err_t *key_generate_p256(EVP_PKEY **out)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	if (!k) {
		ossl_clear();
		return err_new(EXIT_FAILED, "cannot generate an ECDSA P-256 key");
	}
	*out = k;
	return NULL;
}

bool key_is_p256(EVP_PKEY *k)
{
	char group[64];
	size_t len = 0;
	if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC)
		return false;
	if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len))
		return false;
	return !strcmp(group, "prime256v1") || !strcmp(group, "P-256");
}

err_t *key_public_from_point(const unsigned char point[65], EVP_PKEY **out)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, 65),
		OSSL_PARAM_END,
	};
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;
	int ok = ctx && EVP_PKEY_fromdata_init(ctx) > 0 && EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) > 0;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		ossl_clear();
		return err_new(EXIT_FAILED, "the token's public point is not a P-256 point");
	}
	*out = k;
	return NULL;
}

/* Copy of pem without "name: value" header lines and blank lines. */
static void strip_headers(const char *pem, size_t len, struct strbuf *out)
{
	const char *p = pem, *end = pem + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t n = (size_t)(le - p);
		bool blank = n == 0 || (n == 1 && p[0] == '\r');
		bool header = memchr(p, ':', n) && !(n >= 5 && !memcmp(p, "-----", 5));
		if (!blank && !header) {
			sb_add(out, p, n);
			sb_addc(out, '\n');
		}
		p = nl ? nl + 1 : end;
	}
}

/* The base64 body of a single "PUBLIC KEY" block, decoded; false if the
 * text is anything else. */
static bool pem_public_body(const char *clean, struct strbuf *der)
{
	static const char begin[] = "-----BEGIN PUBLIC KEY-----\n", end[] = "-----END PUBLIC KEY-----\n";
	size_t blen = sizeof begin - 1, elen = sizeof end - 1, len = strlen(clean);
	if (len < blen + elen || strncmp(clean, begin, blen) || strcmp(clean + len - elen, end))
		return false;
	struct strbuf b64 = STRBUF_INIT;
	for (const char *p = clean + blen; p < clean + len - elen; p++)
		if (*p != '\n' && *p != '\r')
			sb_addc(&b64, *p);
	err_t *e = b64_decode(sb_str(&b64), b64.len, "PEM", der);
	sb_release(&b64);
	bool ok = !e;
	err_free(e);
	return ok;
}

err_t *key_public_from_pem(const char *pem, size_t len, EVP_PKEY **out)
{
	struct strbuf clean = STRBUF_INIT;
	strip_headers(pem, len, &clean);
	struct strbuf der = STRBUF_INIT;
	if (pem_public_body(sb_str(&clean), &der) && der.len == sizeof p256_spki_prefix + 65) {
		err_t *e = key_public_from_spki(der.buf, der.len, out);
		sb_release(&der);
		if (!e) {
			sb_release(&clean);
			return NULL;
		}
		err_free(e);
	}
	sb_release(&der);
	BIO *bio = BIO_new_mem_buf(clean.buf ? clean.buf : "", (int)clean.len);
	EVP_PKEY *k = NULL;
	if (strstr(sb_str(&clean), "BEGIN CERTIFICATE")) {
		X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (cert)
			k = X509_get_pubkey(cert);
		X509_free(cert);
	} else {
		k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	}
	BIO_free(bio);
	sb_release(&clean);
	ossl_clear();
	if (!k)
		return err_new(EXIT_USAGE, "not a PEM public key or certificate");
	*out = k;
	return NULL;
}

err_t *key_public_from_file(const char *path, EVP_PKEY **out)
{
	struct strbuf sb = STRBUF_INIT;
	err_t *e = fs_read_file(path, 64 * 1024, &sb);
	if (!e)
		e = err_context(key_public_from_pem(sb.buf, sb.len, out), "%s", path);
	sb_release(&sb);
	if (!e && !key_is_p256(*out)) {
		EVP_PKEY_free(*out);
		*out = NULL;
		e = err_new(EXIT_USAGE, "%s: only ECDSA P-256 keys are supported", path);
	}
	return e;
}

err_t *key_public_from_spki(const void *der, size_t len, EVP_PKEY **out)
{
	if (len == sizeof p256_spki_prefix + 65 && !memcmp(der, p256_spki_prefix, sizeof p256_spki_prefix) &&
	    ((const unsigned char *)der)[sizeof p256_spki_prefix] == 0x04) {
		err_t *e = key_public_from_point((const unsigned char *)der + sizeof p256_spki_prefix, out);
		if (!e)
			return NULL;
		err_free(e);
		return err_new(EXIT_USAGE, "not a valid P-256 public key");
	}
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);
	ossl_clear();
	if (!k)
		return err_new(EXIT_USAGE, "not a DER SubjectPublicKeyInfo");
	*out = k;
	return NULL;
}

void key_public_pem(EVP_PKEY *k, struct strbuf *out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, k);
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	sb_add(out, data, (size_t)n);
	BIO_free(bio);
}

void key_public_spki(EVP_PKEY *k, struct strbuf *out)
{
	unsigned char point[65];
	size_t n = 0;
	if (key_is_p256(k) &&
	    EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &n) && n == 65 &&
	    point[0] == 0x04) {
		sb_add(out, p256_spki_prefix, sizeof p256_spki_prefix);
		sb_add(out, point, 65);
		return;
	}
	ossl_clear();
	unsigned char *der = NULL;
	int dn = i2d_PUBKEY(k, &der);
	if (dn > 0)
		sb_add(out, der, (size_t)dn);
	OPENSSL_free(der);
}

bool key_same_public(EVP_PKEY *a, EVP_PKEY *b)
{
	return a && b && EVP_PKEY_eq(a, b) == 1;
}

struct pass_ctx {
	const char *pass;
	bool asked;
};

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	(void)rwflag;
	struct pass_ctx *c = u;
	c->asked = true;
	if (!c->pass)
		return -1;
	size_t n = strlen(c->pass);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, c->pass, n);
	return (int)n;
}

/* The PBES2 parameters of the form key_private_to_pem writes: PBKDF2
 * with HMAC-SHA256 (salt, iterations) and AES-256-CBC (iv); false for
 * anything else. */
static bool pbes2_sha256_aes256(const X509_ALGOR *alg, const ASN1_OCTET_STRING **salt, unsigned long *iter,
				const ASN1_OCTET_STRING **iv, PBE2PARAM **pbe2, PBKDF2PARAM **kdf)
{
	const ASN1_OBJECT *oid;
	const void *pv;
	int ptype;
	X509_ALGOR_get0(&oid, &ptype, &pv, alg);
	if (OBJ_obj2nid(oid) != NID_pbes2 || ptype != V_ASN1_SEQUENCE)
		return false;
	*pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
	if (!*pbe2 || OBJ_obj2nid((*pbe2)->keyfunc->algorithm) != NID_id_pbkdf2 ||
	    OBJ_obj2nid((*pbe2)->encryption->algorithm) != NID_aes_256_cbc || !(*pbe2)->encryption->parameter ||
	    (*pbe2)->encryption->parameter->type != V_ASN1_OCTET_STRING)
		return false;
	*iv = (*pbe2)->encryption->parameter->value.octet_string;
	*kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), (*pbe2)->keyfunc->parameter);
	uint64_t it = 0;
	if (!*kdf || !(*kdf)->prf || OBJ_obj2nid((*kdf)->prf->algorithm) != NID_hmacWithSHA256 ||
	    (*kdf)->salt->type != V_ASN1_OCTET_STRING || !ASN1_INTEGER_get_uint64(&it, (*kdf)->iter) || it < 1 ||
	    it > 10000000 || ((*kdf)->keylength && ASN1_INTEGER_get((*kdf)->keylength) != 32) ||
	    ASN1_STRING_length(*iv) != 16)
		return false;
	*salt = (*kdf)->salt->value.octet_string;
	*iter = (unsigned long)it;
	return true;
}

/* An EC P-256 PrivateKeyInfo (RFC 5208) whose ECPrivateKey (RFC 5915)
 * carries the public point, made into a key directly (OpenSSL's decoders
 * cost most of a millisecond), its two halves checked to belong
 * together; NULL for any other key. */
static EVP_PKEY *p256_from_pkcs8(const PKCS8_PRIV_KEY_INFO *p8)
{
	const ASN1_OBJECT *oid;
	const unsigned char *der;
	int der_len;
	const X509_ALGOR *alg;
	if (!PKCS8_pkey_get0(&oid, &der, &der_len, &alg, p8) || OBJ_obj2nid(oid) != NID_X9_62_id_ecPublicKey)
		return NULL;
	const ASN1_OBJECT *curve;
	int ptype;
	const void *pv;
	X509_ALGOR_get0(NULL, &ptype, &pv, alg);
	curve = pv;
	if (ptype != V_ASN1_OBJECT || OBJ_obj2nid(curve) != NID_X9_62_prime256v1)
		return NULL;
	/* SEQUENCE { INTEGER 1, OCTET STRING d, [0] params OPTIONAL, [1] BIT STRING point } */
	const unsigned char *p = der, *d = NULL, *point = NULL;
	long left = der_len, n;
	int tag, cls;
	if (der_next(&p, &left, &tag, &cls, &n) != V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE || n != left)
		return NULL;
	if (der_next(&p, &left, &tag, &cls, &n) != 0 || tag != V_ASN1_INTEGER || n != 1 || p[0] != 1)
		return NULL;
	p += n, left -= n;
	if (der_next(&p, &left, &tag, &cls, &n) != 0 || tag != V_ASN1_OCTET_STRING || n != 32)
		return NULL;
	d = p;
	p += n, left -= n;
	while (left > 0) {
		const unsigned char *q = p;
		long l2 = left;
		int f = der_next(&q, &l2, &tag, &cls, &n);
		if (f < 0)
			return NULL;
		if (cls == V_ASN1_CONTEXT_SPECIFIC && tag == 1) {
			/* [1] { BIT STRING: 0 unused bits, 04 || X || Y } */
			if (der_next(&q, &l2, &tag, &cls, &n) != 0 || tag != V_ASN1_BIT_STRING || n != 66 || q[0] != 0 ||
			    q[1] != 0x04)
				return NULL;
			point = q + 1;
		}
		if (!der_skip(&p, &left))
			return NULL;
	}
	if (!point)
		return NULL;
	BIGNUM *priv = BN_bin2bn(d, 32, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY *k = NULL;
	if (priv && bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 65))
		params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL) : NULL;
	if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, params) <= 0) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	/* the point is d times the generator */
	ctx = k ? EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL) : NULL;
	if (k && (!ctx || EVP_PKEY_pairwise_check(ctx) != 1)) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(priv);
	return k;
}

/* The file vault's own form, decrypted without OpenSSL's generic PEM and
 * PKCS#8 path: the same PBES2 decryption (common/pbes2: PBKDF2-HMAC-SHA256
 * with the file's salt and iteration count, AES-256-CBC).
 * NULL for anything else, and whenever something does not check out
 * (wrong passphrase included): the generic path then decides and says
 * why. */
static EVP_PKEY *vault_form_key(const char *clean, size_t len, const char *passphrase)
{
	if (!passphrase)
		return NULL;
	BIO *bio = BIO_new_mem_buf(clean, (int)len);
	X509_SIG *p8 = bio ? PEM_read_bio_PKCS8(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	const X509_ALGOR *alg = NULL;
	const ASN1_OCTET_STRING *enc = NULL, *salt = NULL, *iv = NULL;
	PBE2PARAM *pbe2 = NULL;
	PBKDF2PARAM *kdf = NULL;
	unsigned long iter = 0;
	if (p8)
		X509_SIG_get0(p8, &alg, &enc);
	EVP_PKEY *k = NULL;
	if (p8 && pbes2_sha256_aes256(alg, &salt, &iter, &iv, &pbe2, &kdf)) {
		unsigned char key[32];
		pbkdf2_hmac_sha256(passphrase, strlen(passphrase), ASN1_STRING_get0_data(salt),
				   (size_t)ASN1_STRING_length(salt), iter, key, sizeof key);
		size_t n = (size_t)ASN1_STRING_length(enc), m = 0;
		unsigned char *plain = OPENSSL_malloc(n ? n : 1);
		bool ok = plain && aes256_cbc_decrypt(key, ASN1_STRING_get0_data(iv), ASN1_STRING_get0_data(enc), n,
						      plain, &m);
		OPENSSL_cleanse(key, sizeof key);
		const unsigned char *q = plain;
		PKCS8_PRIV_KEY_INFO *inf = ok ? d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, (long)m) : NULL;
		if (inf && q == plain + m)
			k = p256_from_pkcs8(inf);
		PKCS8_PRIV_KEY_INFO_free(inf);
		OPENSSL_clear_free(plain, n ? n : 1);
	}
	PBKDF2PARAM_free(kdf);
	PBE2PARAM_free(pbe2);
	X509_SIG_free(p8);
	ossl_clear();
	return k;
}

err_t *key_private_from_pem(const char *pem, size_t len, const char *passphrase, EVP_PKEY **out)
{
	struct strbuf clean = STRBUF_INIT;
	strip_headers(pem, len, &clean);
	EVP_PKEY *k = vault_form_key(clean.buf ? clean.buf : "", clean.len, passphrase);
	if (k) {
		OPENSSL_cleanse(clean.buf, clean.len);
		sb_release(&clean);
		*out = k;
		return NULL;
	}
	BIO *bio = BIO_new_mem_buf(clean.buf ? clean.buf : "", (int)clean.len);
	struct pass_ctx ctx = { passphrase, false };
	k = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, &ctx);
	BIO_free(bio);
	OPENSSL_cleanse(clean.buf, clean.len);
	sb_release(&clean);
	ossl_clear();
	if (!k) {
		if (ctx.asked)
			return err_new(EXIT_AUTH, passphrase ? "cannot decrypt the private key: wrong passphrase"
							     : "the private key is encrypted and no passphrase was given");
		return err_new(EXIT_USAGE, "not a PEM private key");
	}
	*out = k;
	return NULL;
}

err_t *key_private_to_pem(EVP_PKEY *k, const char *passphrase, struct strbuf *out)
{
	if (!passphrase || !*passphrase)
		return err_new(EXIT_AUTH, "a passphrase is needed to store a private key");
	BIO *bio = BIO_new(BIO_s_mem());
	int ok = PEM_write_bio_PKCS8PrivateKey(bio, k, EVP_aes_256_cbc(), (const char *)passphrase,
					      (int)strlen(passphrase), NULL, NULL);
	if (ok) {
		char *data = NULL;
		long n = BIO_get_mem_data(bio, &data);
		sb_add(out, data, (size_t)n);
	}
	BIO_free(bio);
	ossl_clear();
	return ok ? NULL : err_new(EXIT_FAILED, "cannot encrypt the private key");
}

err_t *sig_der_to_raw(const void *der, size_t len, unsigned char raw[64])
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (!s || p != (const unsigned char *)der + len) {
		ECDSA_SIG_free(s);
		ossl_clear();
		return err_new(EXIT_POLICY, "signature is not ASN.1 DER ECDSA");
	}
	const BIGNUM *r, *sv;
	ECDSA_SIG_get0(s, &r, &sv);
	int ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(sv, raw + 32, 32) == 32;
	ECDSA_SIG_free(s);
	return ok ? NULL : err_new(EXIT_POLICY, "ECDSA signature values too large for P-256");
}

void sig_raw_to_der(const unsigned char raw[64], struct strbuf *der)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	ECDSA_SIG_set0(s, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
	unsigned char *buf = NULL;
	int n = i2d_ECDSA_SIG(s, &buf);
	if (n > 0)
		sb_add(der, buf, (size_t)n);
	OPENSSL_free(buf);
	ECDSA_SIG_free(s);
}

err_t *key_sign(EVP_PKEY *priv, const void *data, size_t len, enum sig_format fmt, struct strbuf *sig)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t n = 0;
	unsigned char buf[256];
	int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, priv) > 0 &&
		 EVP_DigestSign(md, NULL, &n, data, len) > 0 && n <= sizeof buf &&
		 EVP_DigestSign(md, buf, &n, data, len) > 0;
	EVP_MD_CTX_free(md);
	ossl_clear();
	if (!ok)
		return err_new(EXIT_FAILED, "signing failed");
	if (fmt == SIG_DER) {
		sb_add(sig, buf, n);
		return NULL;
	}
	unsigned char raw[64];
	TRY(sig_der_to_raw(buf, n, raw));
	sb_add(sig, raw, 64);
	return NULL;
}

err_t *key_verify(EVP_PKEY *pub, const void *data, size_t len, const void *sig, size_t siglen,
		  enum sig_format fmt)
{
	struct strbuf der = STRBUF_INIT;
	if (fmt == SIG_RAW_RS) {
		if (siglen != 64)
			return err_new(EXIT_POLICY, "signature is %zu bytes, not a 64-byte r||s", siglen);
		sig_raw_to_der(sig, &der);
		sig = der.buf;
		siglen = der.len;
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) > 0
			 ? EVP_DigestVerify(md, sig, siglen, data, len)
			 : -1;
	EVP_MD_CTX_free(md);
	sb_release(&der);
	ossl_clear();
	if (rc != 1)
		return err_new(EXIT_POLICY, "signature does not verify");
	return NULL;
}

void key_sha256_hex(const void *data, size_t len, char hex[65], unsigned char raw[32])
{
	unsigned char d[32];
	SHA256(data, len, d);
	hex_encode(d, 32, hex);
	if (raw)
		memcpy(raw, d, 32);
}
