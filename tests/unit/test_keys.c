/* Keys and the file vault (common/keys, common/vault): the P-256 fast
 * paths agree with OpenSSL's generic ones, signatures convert both ways,
 * encrypted keys need their passphrase (EXIT_AUTH), and a vault key signs,
 * rotates, certifies itself and is deleted. */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "pbes2.h"
#include "testing.h"
#include "vault.h"

static void test_spki_fast_path_matches_openssl(void)
{
	EVP_PKEY *k = NULL;
	CHECK(!key_generate_p256(&k));
	struct strbuf ours = STRBUF_INIT;
	key_public_spki(k, &ours);
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);
	CHECK(n == 91 && ours.len == 91 && !memcmp(der, ours.buf, 91));
	EVP_PKEY *back = NULL;
	CHECK(!key_public_from_spki(der, (size_t)n, &back));
	CHECK(key_same_public(k, back));
	/* a point off the curve is refused */
	der[60] ^= 1;
	EVP_PKEY *bad = NULL;
	err_t *e = key_public_from_spki(der, (size_t)n, &bad);
	CHECK(e && e->code == EXIT_USAGE);
	err_free(e);
	OPENSSL_free(der);
	EVP_PKEY_free(back);
	EVP_PKEY_free(k);
	sb_release(&ours);
}

static void test_pem_with_role_header(void)
{
	EVP_PKEY *k = NULL;
	CHECK(!key_generate_p256(&k));
	struct strbuf pem = STRBUF_INIT, with = STRBUF_INIT;
	key_public_pem(k, &pem);
	/* notary writes "role: ..." after the BEGIN line */
	const char *nl = strchr(sb_str(&pem), '\n');
	sb_add(&with, pem.buf, (size_t)(nl - pem.buf + 1));
	sb_adds(&with, "role: targets/build\n\n");
	sb_adds(&with, nl + 1);
	EVP_PKEY *back = NULL;
	CHECK(!key_public_from_pem(with.buf, with.len, &back));
	CHECK(key_same_public(k, back));
	EVP_PKEY *none = NULL;
	err_t *e = key_public_from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", 58, &none);
	CHECK(e && e->code == EXIT_USAGE);
	err_free(e);
	EVP_PKEY_free(back);
	EVP_PKEY_free(k);
	sb_release(&pem);
	sb_release(&with);
}

static void test_signature_encodings(void)
{
	EVP_PKEY *k = NULL;
	CHECK(!key_generate_p256(&k));
	struct strbuf raw = STRBUF_INIT, der = STRBUF_INIT, der2 = STRBUF_INIT;
	CHECK(!key_sign(k, "payload", 7, SIG_RAW_RS, &raw));
	CHECK(raw.len == 64);
	CHECK(!key_verify(k, "payload", 7, raw.buf, raw.len, SIG_RAW_RS));
	sig_raw_to_der((const unsigned char *)raw.buf, &der);
	CHECK(!key_verify(k, "payload", 7, der.buf, der.len, SIG_DER));
	unsigned char back[64];
	CHECK(!sig_der_to_raw(der.buf, der.len, back) && !memcmp(back, raw.buf, 64));
	err_t *e = key_verify(k, "payloaD", 7, raw.buf, raw.len, SIG_RAW_RS);
	CHECK(e && e->code == EXIT_POLICY);
	err_free(e);
	e = key_verify(k, "payload", 7, raw.buf, raw.len, SIG_DER); /* raw is not DER */
	CHECK(e && e->code == EXIT_POLICY);
	err_free(e);
	CHECK(!key_sign(k, "payload", 7, SIG_DER, &der2));
	CHECK(der2.len > 64 && ((unsigned char *)der2.buf)[0] == 0x30);
	EVP_PKEY_free(k);
	sb_release(&raw);
	sb_release(&der);
	sb_release(&der2);
}

static void test_encrypted_private_key(void)
{
	EVP_PKEY *k = NULL;
	CHECK(!key_generate_p256(&k));
	struct strbuf pem = STRBUF_INIT;
	CHECK(!key_private_to_pem(k, "correct horse", &pem));
	CHECK(strstr(sb_str(&pem), "ENCRYPTED PRIVATE KEY-----") != NULL);
	EVP_PKEY *back = NULL;
	CHECK(!key_private_from_pem(pem.buf, pem.len, "correct horse", &back));
	CHECK(key_same_public(k, back));
	EVP_PKEY_free(back);
	back = NULL;
	err_t *e = key_private_from_pem(pem.buf, pem.len, "wrong horse", &back);
	CHECK(e && e->code == EXIT_AUTH);
	CHECK(e && !strstr(e->msg, "wrong horse"));
	err_free(e);
	e = key_private_from_pem(pem.buf, pem.len, NULL, &back);
	CHECK(e && e->code == EXIT_AUTH);
	err_free(e);
	EVP_PKEY_free(k);
	sb_release(&pem);
}

/* RFC 7914 section 11's PBKDF2-HMAC-SHA256 vector, and OpenSSL's
 * PKCS5_PBKDF2_HMAC as the oracle: empty, short and over-a-block
 * passwords (a key longer than SHA-256's block is hashed first), one and
 * several iterations, one and several output blocks. */
static void test_pbkdf2_matches_openssl(void)
{
	static const unsigned char rfc[64] = {
		0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f, 0xec, 0x16, 0x91, 0xc2, 0x25, 0x44, 0xb6, 0x05,
		0xf9, 0x41, 0x85, 0x21, 0x6d, 0xde, 0x04, 0x65, 0xe6, 0x8b, 0x9d, 0x57, 0xc2, 0x0d, 0xac, 0xbc,
		0x49, 0xca, 0x9c, 0xcc, 0xf1, 0x79, 0xb6, 0x45, 0x99, 0x16, 0x64, 0xb3, 0x9d, 0x77, 0xef, 0x31,
		0x7c, 0x71, 0xb8, 0x45, 0xb1, 0xe3, 0x0b, 0xd5, 0x09, 0x11, 0x20, 0x41, 0xd3, 0xa1, 0x97, 0x83,
	};
	unsigned char ours[80], theirs[80];
	pbkdf2_hmac_sha256("passwd", 6, "salt", 4, 1, ours, 64);
	CHECK(!memcmp(ours, rfc, 64));
	char long_pass[100];
	memset(long_pass, 'p', sizeof long_pass);
	const struct {
		const char *pass;
		size_t pass_len, out_len;
		unsigned long iter;
	} cases[] = {
		{ "", 0, 32, 1 }, { "vault passphrase", 16, 32, 2 }, { "vault passphrase", 16, 32, 2048 },
		{ long_pass, sizeof long_pass, 80, 3 }, { "x", 1, 16, 1000 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		memset(ours, 0, sizeof ours);
		pbkdf2_hmac_sha256(cases[i].pass, cases[i].pass_len, "NaCl-salt", 9, cases[i].iter, ours, cases[i].out_len);
		CHECK(PKCS5_PBKDF2_HMAC(cases[i].pass, (int)cases[i].pass_len, (const unsigned char *)"NaCl-salt", 9,
					(int)cases[i].iter, EVP_sha256(), (int)cases[i].out_len, theirs) == 1);
		CHECK(!memcmp(ours, theirs, cases[i].out_len));
	}
}

/* AES-256-CBC against OpenSSL's EVP cipher; a broken padding is refused. */
static void test_aes256_cbc_matches_openssl(void)
{
	unsigned char key[32], iv[16], plain[100], enc[128], dec[128];
	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (unsigned char)(i * 7 + 1);
	for (size_t i = 0; i < sizeof iv; i++)
		iv[i] = (unsigned char)(i * 13 + 5);
	for (size_t i = 0; i < sizeof plain; i++)
		plain[i] = (unsigned char)(i * 31);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0;
	CHECK(c && EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, key, iv) &&
	      EVP_EncryptUpdate(c, enc, &n1, plain, sizeof plain) && EVP_EncryptFinal_ex(c, enc + n1, &n2));
	EVP_CIPHER_CTX_free(c);
	CHECK(n1 + n2 == 112);
	size_t m = 0;
	CHECK(aes256_cbc_decrypt(key, iv, enc, (size_t)(n1 + n2), dec, &m));
	CHECK(m == sizeof plain && !memcmp(dec, plain, sizeof plain));
	/* another key: the padding does not check out (or, 1 time in 256,
	 * the plaintext is not ours) */
	key[0] ^= 1;
	CHECK(!aes256_cbc_decrypt(key, iv, enc, (size_t)(n1 + n2), dec, &m) || m != sizeof plain ||
	      memcmp(dec, plain, sizeof plain));
	CHECK(!aes256_cbc_decrypt(key, iv, enc, 100, dec, &m)); /* not whole blocks */
}

/* The vault's own key form (decrypted by the direct path) and another
 * PKCS#8 form (OpenSSL's path) give the same key: what they sign verifies
 * with the original's public key. */
static void test_private_key_forms_sign_alike(void)
{
	EVP_PKEY *k = NULL;
	CHECK(!key_generate_p256(&k));
	struct strbuf vault_form = STRBUF_INIT;
	CHECK(!key_private_to_pem(k, "vault passphrase", &vault_form));
	BIO *bio = BIO_new(BIO_s_mem());
	CHECK(PEM_write_bio_PKCS8PrivateKey(bio, k, EVP_aes_128_cbc(), "vault passphrase", 16, NULL, NULL) == 1);
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	struct strbuf other_form = STRBUF_INIT;
	sb_add(&other_form, data, (size_t)n);
	BIO_free(bio);
	const struct strbuf *forms[] = { &vault_form, &other_form };
	for (size_t i = 0; i < 2; i++) {
		EVP_PKEY *back = NULL;
		CHECK(!key_private_from_pem(forms[i]->buf, forms[i]->len, "vault passphrase", &back));
		struct strbuf sig = STRBUF_INIT;
		CHECK(back && !key_sign(back, "payload", 7, SIG_DER, &sig));
		err_t *e = key_verify(k, "payload", 7, sig.buf, sig.len, SIG_DER);
		CHECK(!e);
		err_free(e);
		e = key_private_from_pem(forms[i]->buf, forms[i]->len, "vault passphrasE", &back);
		CHECK(e && e->code == EXIT_AUTH && strstr(e->msg, "wrong passphrase"));
		err_free(e);
		sb_release(&sig);
		EVP_PKEY_free(back);
	}
	sb_release(&vault_form);
	sb_release(&other_form);
	EVP_PKEY_free(k);
}

static void test_file_vault_lifecycle(void)
{
	char dir[] = "/tmp/test_keys_XXXXXX";
	CHECK(mkdtemp(dir));
	struct vault_config cfg = { .kind = "file", .dir = dir, .passphrase = strdup("vault passphrase") };
	struct vault *v = NULL;
	CHECK(!vault_open(&cfg, &v));
	CHECK(!vault_create(v, "build"));
	err_t *e = vault_create(v, "build");
	CHECK(e && e->code == EXIT_USAGE);
	err_free(e);
	e = vault_create(v, "../up");
	CHECK(e && e->code == EXIT_USAGE);
	err_free(e);
	struct signer_key *sk = NULL;
	CHECK(!vault_signer(v, "build", &sk));
	struct strbuf sig = STRBUF_INIT, cert = STRBUF_INIT;
	CHECK(!signer_key_sign(sk, "abc", 3, SIG_RAW_RS, &sig));
	CHECK(!key_verify(signer_key_public(sk), "abc", 3, sig.buf, sig.len, SIG_RAW_RS));
	CHECK(!signer_key_certificate(sk, "127.0.0.1:5000/app", 30, &cert));
	BIO *bio = BIO_new_mem_buf(cert.buf, (int)cert.len);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	CHECK(x && X509_verify(x, signer_key_public(sk)) == 1);
	char cn[128] = "";
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
	CHECK_STR(cn, "127.0.0.1:5000/app");
	X509_free(x);
	BIO_free(bio);
	EVP_PKEY *old = NULL, *now = NULL;
	CHECK(!vault_rotate(v, "build", &old));
	CHECK(!vault_public(v, "build", &now));
	CHECK(!key_same_public(old, now));
	char **names = NULL;
	size_t n = 0;
	CHECK(!vault_list(v, &names, &n));
	CHECK(n == 1 && !strcmp(names[0], "build"));
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	CHECK(!vault_delete(v, "build"));
	e = vault_delete(v, "build");
	CHECK(e && e->code == EXIT_USAGE);
	err_free(e);
	EVP_PKEY_free(old);
	EVP_PKEY_free(now);
	signer_key_free(sk);
	sb_release(&sig);
	sb_release(&cert);
	vault_close(v);
	vault_config_release(&cfg);
	CHECK(rmdir(dir) == 0);
}

static void test_file_vault_wrong_passphrase(void)
{
	char dir[] = "/tmp/test_keys_XXXXXX";
	CHECK(mkdtemp(dir));
	struct vault_config cfg = { .kind = "file", .dir = dir, .passphrase = strdup("first passphrase") };
	struct vault *v = NULL;
	CHECK(!vault_open(&cfg, &v));
	CHECK(!vault_create(v, "validation"));
	vault_close(v);
	vault_config_release(&cfg);
	struct vault_config bad = { .kind = "file", .dir = dir, .passphrase = strdup("other passphrase") };
	CHECK(!vault_open(&bad, &v));
	struct signer_key *sk = NULL;
	err_t *e = vault_signer(v, "validation", &sk);
	CHECK(e && e->code == EXIT_AUTH);
	char *d = e ? err_describe(e) : NULL;
	CHECK(d && !strstr(d, "other passphrase") && !strstr(d, "first passphrase"));
	free(d);
	err_free(e);
	/* only who holds the passphrase deletes a key */
	e = vault_delete(v, "validation");
	CHECK(e && e->code == EXIT_AUTH);
	err_free(e);
	vault_close(v);
	vault_config_release(&bad);
	struct vault_config good = { .kind = "file", .dir = dir, .passphrase = strdup("first passphrase") };
	CHECK(!vault_open(&good, &v));
	CHECK(!vault_delete(v, "validation"));
	vault_close(v);
	vault_config_release(&good);
	CHECK(rmdir(dir) == 0);
}

TEST_MAIN("keys", TEST(test_spki_fast_path_matches_openssl), TEST(test_pem_with_role_header),
	  TEST(test_signature_encodings), TEST(test_encrypted_private_key), TEST(test_file_vault_lifecycle),
	  TEST(test_file_vault_wrong_passphrase), TEST(test_pbkdf2_matches_openssl), TEST(test_aes256_cbc_matches_openssl),
	  TEST(test_private_key_forms_sign_alike))
