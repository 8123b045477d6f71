#include "keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <string.h>

#include "b64.h"
#include "digest.h"
#include "fsutil.h"
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

err_t *key_private_from_pem(const char *pem, size_t len, const char *passphrase, EVP_PKEY **out)
{
	struct strbuf clean = STRBUF_INIT;
	strip_headers(pem, len, &clean);
	BIO *bio = BIO_new_mem_buf(clean.buf ? clean.buf : "", (int)clean.len);
	struct pass_ctx ctx = { passphrase, false };
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, &ctx);
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
