/* common/castore: trust anchors looked up by subject. A CA and a leaf are
 * made here; OpenSSL's own verifier must accept the leaf exactly when the
 * CA is in the file, whether the file holds one certificate or the whole
 * system bundle around it. */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "castore.h"
#include "fsutil.h"
#include "keys.h"
#include "strbuf.h"
#include "testing.h"

#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca)
{
	X509 *x = X509_new();
	CHECK(x && X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2));
	CHECK(X509_gmtime_adj(X509_getm_notBefore(x), -3600) && X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	X509_NAME *n = X509_get_subject_name(x);
	CHECK(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0));
	CHECK(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n) && X509_set_pubkey(x, key));
	if (ca) {
		X509V3_CTX ctx;
		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
		CHECK(ext && X509_add_ext(x, ext, -1));
		X509_EXTENSION_free(ext);
	}
	CHECK(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	return x;
}

static void append_pem(struct strbuf *sb, X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	CHECK(PEM_write_bio_X509(b, x));
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);
	sb_add(sb, p, (size_t)n);
	BIO_free(b);
}

/* OpenSSL's verdict on leaf with store (freed): 0 or the X509_V_ERR. */
static int verdict(X509_STORE *store, X509 *leaf)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	CHECK(X509_STORE_CTX_init(ctx, store, leaf, NULL));
	int ok = X509_verify_cert(ctx);
	int err = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok == 1 ? 0 : err;
}

/* With a store that finds anchors in path through castore. */
static int verify_with(const char *path, X509 *leaf, size_t *count)
{
	struct castore *s = NULL;
	err_t *e = castore_load(path, &s);
	CHECK(!e);
	err_free(e);
	if (!s)
		return -1;
	*count = castore_count(s);
	X509_STORE *store = X509_STORE_new();
	e = castore_attach(s, store);
	CHECK(!e);
	err_free(e);
	int v = verdict(store, leaf);
	castore_free(s);
	return v;
}

/* The same with OpenSSL's own eager loading of the file: the oracle. */
static int verify_eager(const char *path, X509 *leaf)
{
	X509_STORE *store = X509_STORE_new();
	CHECK(X509_STORE_load_file(store, path) == 1);
	return verdict(store, leaf);
}

static char dir[] = "/tmp/test_castore_XXXXXX";

static void test_anchor_found_alone_and_in_a_bundle(void)
{
	CHECK(mkdtemp(dir));
	EVP_PKEY *ca_key = NULL, *leaf_key = NULL, *other_key = NULL;
	CHECK(!key_generate_p256(&ca_key) && !key_generate_p256(&leaf_key) && !key_generate_p256(&other_key));
	X509 *ca = make_cert("castore test CA", ca_key, NULL, ca_key, true);
	X509 *other = make_cert("castore test CA", other_key, NULL, other_key, true); /* same name, other key */
	X509 *leaf = make_cert("127.0.0.1", leaf_key, ca, ca_key, false);
	struct strbuf one = STRBUF_INIT, bundle = STRBUF_INIT, without = STRBUF_INIT, both = STRBUF_INIT;
	append_pem(&one, ca);
	err_t *e = fs_read_file(SYSTEM_BUNDLE, 16 << 20, &without);
	CHECK(!e);
	err_free(e);
	sb_add(&bundle, without.buf, without.len);
	append_pem(&bundle, ca);
	append_pem(&both, other); /* the wrong key first: both are tried */
	append_pem(&both, ca);
	char p1[64], p2[64], p3[64], p4[64];
	snprintf(p1, sizeof p1, "%s/one.pem", dir);
	snprintf(p2, sizeof p2, "%s/bundle.pem", dir);
	snprintf(p3, sizeof p3, "%s/without.pem", dir);
	snprintf(p4, sizeof p4, "%s/both.pem", dir);
	CHECK(!fs_write_atomic(dir, "one.pem", one.buf, one.len, 0644));
	CHECK(!fs_write_atomic(dir, "bundle.pem", bundle.buf, bundle.len, 0644));
	CHECK(!fs_write_atomic(dir, "without.pem", without.buf, without.len, 0644));
	CHECK(!fs_write_atomic(dir, "both.pem", both.buf, both.len, 0644));
	size_t n = 0, n_sys = 0;
	CHECK(verify_with(p1, leaf, &n) == 0 && n == 1);
	CHECK(verify_with(p2, leaf, &n) == 0);
	CHECK(verify_with(p3, leaf, &n_sys) == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	CHECK(n_sys > 100 && n == n_sys + 1); /* the system bundle, every certificate named */
	/* two anchors of one name: whatever OpenSSL decides with the file
	 * loaded its own way (it does not try the second), so do we */
	int got = verify_with(p4, leaf, &n);
	CHECK(n == 2 && got == verify_eager(p4, leaf));
	const char *paths[] = { p1, p2, p3 };
	for (size_t i = 0; i < 3; i++)
		CHECK(verify_with(paths[i], leaf, &n) == verify_eager(paths[i], leaf));
	X509_free(ca);
	X509_free(other);
	X509_free(leaf);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(other_key);
	sb_release(&one);
	sb_release(&bundle);
	sb_release(&without);
	sb_release(&both);
}

/* A CA directory (buildah's --cert-dir, containers' certs.d): its *.crt
 * files are the anchors; a client .cert/.key pair or a .pem beside them is
 * not a CA; a directory with no *.crt holding a certificate is refused
 * naming the directory. */
static void test_ca_directory(void)
{
	EVP_PKEY *ca_key = NULL, *leaf_key = NULL, *other_key = NULL;
	CHECK(!key_generate_p256(&ca_key) && !key_generate_p256(&leaf_key) && !key_generate_p256(&other_key));
	X509 *ca = make_cert("castore dir CA", ca_key, NULL, ca_key, true);
	X509 *other = make_cert("castore other CA", other_key, NULL, other_key, true);
	X509 *leaf = make_cert("127.0.0.1", leaf_key, ca, ca_key, false);
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	append_pem(&a, ca);
	append_pem(&b, other);
	char certs[96];
	snprintf(certs, sizeof certs, "%s/certs.d", dir);
	CHECK(!fs_mkdir_p(certs, 0755));
	/* the signing CA only as a client pair and a .pem: not anchors */
	CHECK(!fs_write_atomic(certs, "client.cert", a.buf, a.len, 0644));
	CHECK(!fs_write_atomic(certs, "ca.pem", a.buf, a.len, 0644));
	CHECK(!fs_write_atomic(certs, "other.crt", b.buf, b.len, 0644));
	size_t n = 0;
	CHECK(verify_with(certs, leaf, &n) == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY && n == 1);
	CHECK(!fs_write_atomic(certs, "registry-ca.crt", a.buf, a.len, 0644));
	CHECK(verify_with(certs, leaf, &n) == 0 && n == 2);
	char empty[96];
	snprintf(empty, sizeof empty, "%s/empty.d", dir);
	CHECK(!fs_mkdir_p(empty, 0755));
	CHECK(!fs_write_atomic(empty, "ca.pem", a.buf, a.len, 0644));
	struct castore *s = NULL;
	err_t *e = castore_load(empty, &s);
	char *why = e ? err_describe(e) : NULL;
	CHECK(e && e->code == EXIT_USAGE && why && strstr(why, "CA directory") && strstr(why, "empty.d") &&
	      strstr(why, "holds no PEM certificate"));
	free(why);
	err_free(e);
	X509_free(ca);
	X509_free(other);
	X509_free(leaf);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(other_key);
	sb_release(&a);
	sb_release(&b);
}

static void test_unusable_files(void)
{
	char path[64];
	struct castore *s = NULL;
	snprintf(path, sizeof path, "%s/missing.pem", dir);
	err_t *e = castore_load(path, &s);
	CHECK(e && strstr(e->msg, "missing.pem"));
	err_free(e);
	static const char *const bad[] = { "", "not a certificate\n",
					   "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
					   /* a PEM block of another kind (no key material) */
					   "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		CHECK(!fs_write_atomic(dir, "bad.pem", bad[i], strlen(bad[i]), 0644));
		snprintf(path, sizeof path, "%s/bad.pem", dir);
		e = castore_load(path, &s);
		char *why = e ? err_describe(e) : NULL;
		CHECK(e && e->code == EXIT_USAGE && why && strstr(why, "bad.pem") && strstr(why, "holds no PEM certificate"));
		free(why);
		err_free(e);
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

TEST_MAIN("castore", TEST(test_anchor_found_alone_and_in_a_bundle), TEST(test_ca_directory),
	  TEST(test_unusable_files))
