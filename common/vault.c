#include "vault.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "background.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "pkcs11.h"
#include "xalloc.h"

#define SECRET_FILE_MAX 4096
#define KEY_FILE_MAX (64 * 1024)

struct vault {
	const struct vault_config *cfg;
	struct p11 *p11; /* pkcs11 vault */
};

/* A file key being decrypted in the background (PBKDF2 + the PKCS#8
 * decoders cost a few ms: they run while the caller's network requests
 * are in flight). */
struct unlock {
	pthread_mutex_t lock;
	pthread_t thread;
	bool joined;
	struct strbuf pem;
	char *passphrase;
	const char *name; /* the key's */
	EVP_PKEY *pub;    /* borrowed from the key */
	EVP_PKEY *priv;   /* the result */
	err_t *err;       /* or why not (until signer_key_ready takes it) */
	int code;         /* its exit code, kept for later callers */
	bool background;  /* in a thread of its own (vault_signer_start) */
};

struct signer_key {
	char *name;
	EVP_PKEY *pub;
	struct unlock *file;    /* file vault */
	struct vault *vault;    /* pkcs11 vault: signs through the token */
};

static err_t *read_secret(const char *value, const char *file, const char *what, char **out)
{
	*out = NULL;
	if (value && *value) {
		*out = xstrdup(value);
		return NULL;
	}
	if (!file || !*file)
		return NULL;
	struct strbuf sb = STRBUF_INIT;
	err_t *e = fs_read_file(file, SECRET_FILE_MAX, &sb);
	if (e) {
		err_free(e); /* the cause might quote content; say only where */
		return err_new(EXIT_AUTH, "cannot read the %s file %s", what, file);
	}
	while (sb.len && (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == '\r'))
		sb.buf[--sb.len] = '\0';
	if (sb.len && sb.len < LOG_SECRET_MIN) {
		OPENSSL_cleanse(sb.buf, sb.len);
		sb_release(&sb);
		return err_new(EXIT_USAGE, "the %s in %s is shorter than %d characters", what, file, LOG_SECRET_MIN);
	}
	if (sb.len)
		log_secret(sb_str(&sb));
	*out = sb_detach(&sb);
	return NULL;
}

err_t *vault_config_from_params(const struct params *p, struct vault_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->kind = params_str(p, "vault");
	cfg->dir = params_str(p, "keystore-dir");
	cfg->module = params_str(p, "pkcs11-module");
	cfg->token = params_str(p, "pkcs11-token");
	if (strcmp(cfg->kind, "file") && strcmp(cfg->kind, "pkcs11"))
		return err_new(EXIT_USAGE, "--vault: '%s' is not file or pkcs11", cfg->kind);
	TRY(read_secret(params_str(p, "passphrase"), params_str(p, "passphrase-file"), "passphrase", &cfg->passphrase));
	err_t *e = read_secret(params_str(p, "pin"), params_str(p, "pin-file"), "PIN", &cfg->pin);
	if (e)
		vault_config_release(cfg);
	return e;
}

static void free_secret(char **s)
{
	if (*s) {
		OPENSSL_cleanse(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void vault_config_release(struct vault_config *cfg)
{
	free_secret(&cfg->passphrase);
	free_secret(&cfg->pin);
}

err_t *vault_check_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 64)
		return err_new(EXIT_USAGE, "signer name must be 1 to 64 characters");
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '.' || c == '_' || c == '-'));
		if (!ok)
			return err_new(EXIT_USAGE, "signer name '%s': use lower-case letters, digits, '.', '_', '-'", name);
	}
	return NULL;
}

err_t *vault_open(const struct vault_config *cfg, struct vault **out)
{
	struct vault *v = xcalloc(1, sizeof *v);
	v->cfg = cfg;
	if (!strcmp(cfg->kind, "file")) {
		if (!cfg->dir || !*cfg->dir) {
			free(v);
			return err_new(EXIT_USAGE, "the file vault needs --keystore-dir");
		}
	} else {
		err_t *e = p11_open(cfg->module, cfg->token, cfg->pin, &v->p11);
		if (e) {
			free(v);
			return e;
		}
	}
	*out = v;
	return NULL;
}

void vault_close(struct vault *v)
{
	if (!v)
		return;
	p11_close(v->p11);
	free(v);
}

const char *vault_kind(const struct vault *v)
{
	return v->cfg->kind;
}

static char *key_path(const struct vault *v, const char *name, const char *ext)
{
	return xasprintf("%s/%s.%s", v->cfg->dir, name, ext);
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Proof that the vault's passphrase opens the file key name: it is
 * decrypted (and dropped). */
static err_t *file_open_key(struct vault *v, const char *name)
{
	_cleanup_free_ char *kp = key_path(v, name, "key");
	struct strbuf pem = STRBUF_INIT;
	err_t *e = fs_read_file(kp, KEY_FILE_MAX, &pem);
	if (e) {
		err_free(e);
		return err_new(EXIT_USAGE, "no signer key '%s' in %s", name, v->cfg->dir);
	}
	EVP_PKEY *k = NULL;
	if (!v->cfg->passphrase || !*v->cfg->passphrase)
		e = err_new(EXIT_AUTH, "signer key '%s' is encrypted: give passphrase or passphrase-file", name);
	else
		e = key_private_from_pem(pem.buf, pem.len, v->cfg->passphrase, &k);
	EVP_PKEY_free(k);
	OPENSSL_cleanse(pem.buf, pem.len);
	sb_release(&pem);
	return err_context(e, "signer key '%s' in %s", name, v->cfg->dir);
}

/* A file vault keeps every key under one passphrase: a key is only added
 * under the passphrase that opens the keys already there (a key under
 * another one would make later runs that need both fail with exit 4). */
static err_t *file_check_passphrase(struct vault *v)
{
	char **names = NULL;
	size_t n = 0;
	TRY(vault_list(v, &names, &n));
	err_t *e = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!e)
			e = file_open_key(v, names[i]);
		free(names[i]);
	}
	free(names);
	if (e && e->code == EXIT_AUTH)
		e = err_wrap(e, "refused to add a key under a passphrase that does not open the keys in %s "
				"(a file vault keeps every key under one passphrase: give that one)", v->cfg->dir);
	return e;
}

/* File vault: write the encrypted private key, then the public key. */
static err_t *file_store(struct vault *v, const char *name, EVP_PKEY *k)
{
	if (!v->cfg->passphrase || strlen(v->cfg->passphrase) < 8)
		return err_new(EXIT_AUTH, "the file vault needs a passphrase of at least 8 characters (passphrase or passphrase-file)");
	TRY(file_check_passphrase(v));
	TRY(fs_mkdir_p(v->cfg->dir, 0700));
	struct strbuf priv = STRBUF_INIT, pub = STRBUF_INIT;
	err_t *e = key_private_to_pem(k, v->cfg->passphrase, &priv);
	_cleanup_free_ char *kname = xasprintf("%s.key", name);
	_cleanup_free_ char *pname = xasprintf("%s.pub", name);
	if (!e)
		e = fs_write_atomic(v->cfg->dir, kname, priv.buf, priv.len, 0600);
	if (!e) {
		key_public_pem(k, &pub);
		e = fs_write_atomic(v->cfg->dir, pname, pub.buf, pub.len, 0644);
	}
	sb_release(&priv);
	sb_release(&pub);
	return e;
}

err_t *vault_create(struct vault *v, const char *name)
{
	TRY(vault_check_name(name));
	if (v->p11) {
		unsigned char point[65];
		return err_context(p11_generate_ec(v->p11, name, point), "create signer key '%s'", name);
	}
	_cleanup_free_ char *path = key_path(v, name, "key");
	if (file_exists(path))
		return err_new(EXIT_USAGE, "signer key '%s' already exists in %s (rotate or delete it)", name, v->cfg->dir);
	_cleanup_pkey_ EVP_PKEY *k = NULL;
	TRY(key_generate_p256(&k));
	return file_store(v, name, k);
}

err_t *vault_import(struct vault *v, const char *name, const char *pem, size_t len, const char *import_passphrase)
{
	TRY(vault_check_name(name));
	if (v->p11)
		return err_new(EXIT_USAGE, "keys cannot be imported into a PKCS#11 token here: token keys are made inside the token; import into the file vault");
	_cleanup_free_ char *path = key_path(v, name, "key");
	if (file_exists(path))
		return err_new(EXIT_USAGE, "signer key '%s' already exists in %s", name, v->cfg->dir);
	_cleanup_pkey_ EVP_PKEY *k = NULL;
	TRY(err_context(key_private_from_pem(pem, len, import_passphrase, &k), "import key for '%s'", name));
	if (!key_is_p256(k))
		return err_new(EXIT_USAGE, "import key for '%s': only ECDSA P-256 keys are supported", name);
	return file_store(v, name, k);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

err_t *vault_list(struct vault *v, char ***names, size_t *n)
{
	if (v->p11) {
		TRY(p11_list(v->p11, names, n));
		qsort(*names, *n, sizeof **names, cmp_str);
		return NULL;
	}
	DIR *d = opendir(v->cfg->dir);
	if (!d) {
		if (errno == ENOENT) {
			*names = xcalloc(1, sizeof **names);
			*n = 0;
			return NULL;
		}
		return err_errno(EXIT_FAILED, "cannot list %s", v->cfg->dir);
	}
	size_t cap = 8, k = 0;
	char **out = xcalloc(cap, sizeof *out);
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".key"))
			continue;
		char *name = xstrndup(de->d_name, len - 4);
		err_t *e = vault_check_name(name);
		if (e) {
			err_free(e);
			free(name);
			continue;
		}
		if (k + 1 >= cap)
			out = xrealloc(out, (cap *= 2) * sizeof *out);
		out[k++] = name;
		out[k] = NULL;
	}
	closedir(d);
	qsort(out, k, sizeof *out, cmp_str);
	*names = out;
	*n = k;
	return NULL;
}

err_t *vault_delete(struct vault *v, const char *name)
{
	TRY(vault_check_name(name));
	if (v->p11)
		return p11_delete(v->p11, name); /* logged in with the PIN */
	/* only who holds the passphrase deletes a key */
	TRY(file_open_key(v, name));
	_cleanup_free_ char *kp = key_path(v, name, "key");
	_cleanup_free_ char *pp = key_path(v, name, "pub");
	if (unlink(kp) != 0) {
		if (errno == ENOENT)
			return err_new(EXIT_USAGE, "no signer key '%s' in %s", name, v->cfg->dir);
		return err_errno(EXIT_FAILED, "cannot delete %s", kp);
	}
	if (unlink(pp) != 0 && errno != ENOENT)
		return err_errno(EXIT_FAILED, "cannot delete %s", pp);
	return NULL;
}

err_t *vault_public(struct vault *v, const char *name, EVP_PKEY **out)
{
	TRY(vault_check_name(name));
	if (v->p11) {
		unsigned char point[65];
		TRY(p11_public_ec(v->p11, name, point));
		return key_public_from_point(point, out);
	}
	_cleanup_free_ char *pp = key_path(v, name, "pub");
	struct strbuf sb = STRBUF_INIT;
	err_t *e = fs_read_file(pp, KEY_FILE_MAX, &sb);
	if (e) {
		err_free(e);
		return err_new(EXIT_USAGE, "no signer key '%s' in %s", name, v->cfg->dir);
	}
	e = key_public_from_pem(sb.buf, sb.len, out);
	sb_release(&sb);
	return err_context(e, "%s", pp);
}

err_t *vault_rotate(struct vault *v, const char *name, EVP_PKEY **old_pub)
{
	TRY(vault_public(v, name, old_pub));
	if (v->p11) {
		_cleanup_free_ char *tmp = xasprintf("%s.rotating", name);
		unsigned char point[65];
		err_t *e = p11_generate_ec(v->p11, tmp, point);
		if (!e)
			e = p11_delete(v->p11, name);
		if (!e)
			e = p11_relabel(v->p11, tmp, name);
		return err_context(e, "rotate signer key '%s'", name);
	}
	/* prove the passphrase opens the current key before replacing it */
	struct signer_key *cur = NULL;
	TRY(vault_signer(v, name, &cur));
	signer_key_free(cur);
	_cleanup_pkey_ EVP_PKEY *k = NULL;
	TRY(key_generate_p256(&k));
	return file_store(v, name, k);
}

static void *unlock_run(void *arg)
{
	struct unlock *u = arg;
	if (u->background)
		background_priority(10);
	u->err = key_private_from_pem(u->pem.buf, u->pem.len, u->passphrase, &u->priv);
	if (!u->err && !key_same_public(u->priv, u->pub))
		u->err = err_new(EXIT_FAILED, "%s.key and %s.pub do not match", u->name, u->name);
	u->err = err_context(u->err, "signer key '%s'", u->name);
	u->code = u->err ? u->err->code : 0;
	return NULL;
}

/* Wait for the background decryption (once); its error code, 0 if none. */
static int unlock_wait(struct unlock *u)
{
	pthread_mutex_lock(&u->lock);
	if (!u->joined) {
		pthread_join(u->thread, NULL);
		u->joined = true;
	}
	pthread_mutex_unlock(&u->lock);
	return u->code;
}

static void unlock_free(struct unlock *u)
{
	if (!u)
		return;
	unlock_wait(u);
	OPENSSL_cleanse(u->pem.buf, u->pem.len);
	sb_release(&u->pem);
	if (u->passphrase)
		OPENSSL_cleanse(u->passphrase, strlen(u->passphrase));
	free(u->passphrase);
	EVP_PKEY_free(u->priv);
	err_free(u->err);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

/* Read name's encrypted key and start decrypting it in the background. */
static err_t *file_unlock_start(struct vault *v, struct signer_key *k, bool background)
{
	_cleanup_free_ char *kp = key_path(v, k->name, "key");
	struct unlock *u = xcalloc(1, sizeof *u);
	pthread_mutex_init(&u->lock, NULL);
	u->joined = true; /* nothing to join until the thread runs */
	k->file = u;
	err_t *e = fs_read_file(kp, KEY_FILE_MAX, &u->pem);
	if (e) {
		err_free(e);
		return err_new(EXIT_USAGE, "no signer key '%s' in %s", k->name, v->cfg->dir);
	}
	if (!v->cfg->passphrase)
		return err_new(EXIT_AUTH, "signer key '%s' is encrypted: give passphrase or passphrase-file", k->name);
	u->passphrase = xstrdup(v->cfg->passphrase);
	u->name = k->name;
	u->pub = k->pub;
	u->background = background; /* read by the thread: set before it starts */
	if (background && !pthread_create(&u->thread, NULL, unlock_run, u)) {
		u->joined = false;
		return NULL;
	}
	u->background = false;
	unlock_run(u); /* no thread: decrypt now */
	return NULL;
}

static err_t *signer_open(struct vault *v, const char *name, bool background, struct signer_key **out)
{
	TRY(vault_check_name(name));
	struct signer_key *k = xcalloc(1, sizeof *k);
	k->name = xstrdup(name);
	err_t *e = vault_public(v, name, &k->pub);
	if (!e && v->p11)
		k->vault = v;
	else if (!e)
		e = file_unlock_start(v, k, background);
	if (e) {
		signer_key_free(k);
		return e;
	}
	*out = k;
	return NULL;
}

err_t *vault_signer_start(struct vault *v, const char *name, struct signer_key **out)
{
	return signer_open(v, name, true, out);
}

err_t *signer_key_ready(struct signer_key *k)
{
	struct unlock *u = k->file;
	if (!u || !unlock_wait(u))
		return NULL;
	if (u->err) {
		err_t *e = u->err;
		u->err = NULL;
		return e;
	}
	return err_new(u->code, "signer key '%s' is not usable", k->name);
}

err_t *vault_signer(struct vault *v, const char *name, struct signer_key **out)
{
	TRY(signer_open(v, name, false, out));
	err_t *e = signer_key_ready(*out);
	if (e) {
		signer_key_free(*out);
		*out = NULL;
	}
	return e;
}

EVP_PKEY *signer_key_public(const struct signer_key *k)
{
	return k->pub;
}

const char *signer_key_name(const struct signer_key *k)
{
	return k->name;
}

err_t *signer_key_sign(const struct signer_key *k, const void *data, size_t len, enum sig_format fmt,
		       struct strbuf *sig)
{
	if (k->file) {
		int code = unlock_wait(k->file);
		if (code)
			return err_new(code, "signer key '%s' is not usable", k->name);
		return key_sign(k->file->priv, data, len, fmt, sig);
	}
	unsigned char hash[32], raw[64];
	SHA256(data, len, hash);
	/* (p11 calls may come from several threads: build-sign signs its
	 * DCT and cosign halves in two) */
	TRY(err_context(p11_sign_ec(k->vault->p11, k->name, hash, raw), "sign with '%s'", k->name));
	if (fmt == SIG_RAW_RS)
		sb_add(sig, raw, 64);
	else
		sig_raw_to_der(raw, sig);
	return NULL;
}

void signer_key_free(struct signer_key *k)
{
	if (!k)
		return;
	unlock_free(k->file);
	EVP_PKEY_free(k->pub);
	free(k->name);
	free(k);
}

static void der_len(struct strbuf *sb, size_t n)
{
	if (n < 128) {
		sb_addc(sb, (char)n);
	} else if (n < 256) {
		sb_addc(sb, (char)0x81);
		sb_addc(sb, (char)n);
	} else {
		sb_addc(sb, (char)0x82);
		sb_addc(sb, (char)(n >> 8));
		sb_addc(sb, (char)(n & 0xff));
	}
}

static bool add_ext(X509 *x, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, nid, value);
	bool ok = ext && X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

err_t *signer_key_certificate(const struct signer_key *k, const char *cn, int days, struct strbuf *pem)
{
	/* ecdsa-with-SHA256 AlgorithmIdentifier */
	static const unsigned char alg[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
	X509 *x = X509_new();
	EVP_PKEY *scratch = NULL;
	BIGNUM *serial = BN_new();
	unsigned char *tbs = NULL;
	err_t *e = NULL;
	X509_NAME *name = X509_get_subject_name(x);
	bool ok = X509_set_version(x, 2) && BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
		  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) &&
		  X509_gmtime_adj(X509_getm_notBefore(x), -300) && /* clock skew */
		  X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) &&
		  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) &&
		  X509_set_issuer_name(x, name) && X509_set_pubkey(x, k->pub) &&
		  add_ext(x, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
		  add_ext(x, NID_ext_key_usage, "codeSigning") && add_ext(x, NID_basic_constraints, "critical,CA:FALSE");
	/* a throwaway signature fills in the signature algorithm of the TBS
	 * part; the real signature is then made by the vault key */
	if (ok)
		ok = !key_generate_p256(&scratch) && X509_sign(x, scratch, EVP_sha256()) > 0;
	int tbs_len = ok ? i2d_re_X509_tbs(x, &tbs) : -1;
	if (!ok || tbs_len <= 0) {
		e = err_new(EXIT_FAILED, "cannot build a certificate for key '%s'", k->name);
		goto out;
	}
	struct strbuf sig = STRBUF_INIT, body = STRBUF_INIT, der = STRBUF_INIT;
	e = signer_key_sign(k, tbs, (size_t)tbs_len, SIG_DER, &sig);
	if (!e) {
		sb_add(&body, tbs, (size_t)tbs_len);
		sb_add(&body, alg, sizeof alg);
		sb_addc(&body, 0x03);
		der_len(&body, sig.len + 1);
		sb_addc(&body, 0);
		sb_add(&body, sig.buf, sig.len);
		sb_addc(&der, 0x30);
		der_len(&der, body.len);
		sb_add(&der, body.buf, body.len);
		const unsigned char *p = (const unsigned char *)der.buf;
		X509 *cert = d2i_X509(NULL, &p, (long)der.len);
		if (!cert || X509_verify(cert, k->pub) != 1) {
			e = err_new(EXIT_FAILED, "the certificate made for key '%s' does not verify", k->name);
		} else {
			BIO *bio = BIO_new(BIO_s_mem());
			PEM_write_bio_X509(bio, cert);
			char *data = NULL;
			long n = BIO_get_mem_data(bio, &data);
			sb_add(pem, data, (size_t)n);
			BIO_free(bio);
		}
		X509_free(cert);
	}
	sb_release(&sig);
	sb_release(&body);
	sb_release(&der);
out:
	OPENSSL_free(tbs);
	BN_free(serial);
	EVP_PKEY_free(scratch);
	X509_free(x);
	ERR_clear_error();
	return e;
}
