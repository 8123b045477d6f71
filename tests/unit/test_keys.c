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
	  TEST(test_file_vault_wrong_passphrase))
