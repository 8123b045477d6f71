/* Where signer keys live, and the one way tasks use them. Two vaults:
 *  - file: a directory of PKCS#8 keys encrypted with a passphrase
 *    (<name>.key, mode 0600) beside their public halves (<name>.pub);
 *  - pkcs11: a token (SoftHSM2 in tests, an HSM in production) where keys
 *    are generated inside, non-extractable, and sign through C_Sign.
 * A signer key is found by its name (the signer's name; the token label).
 * Keys are ECDSA P-256 (notary's default "ecdsa"). */
#ifndef COMMON_VAULT_H
#define COMMON_VAULT_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "keys.h"
#include "params.h"
#include "strbuf.h"

/* The params every task that touches a vault declares (spliced into its
 * param table). */
#define VAULT_PARAMS                                                                                              \
	{ "vault", PARAM_STRING, "file", false, false, "where signer keys live: file (encrypted keystore) or pkcs11" }, \
	{ "keystore-dir", PARAM_STRING, NULL, false, false, "file vault: directory of encrypted keys" },           \
	{ "passphrase", PARAM_STRING, NULL, false, true, "file vault: passphrase of the keys" },                     \
	{ "passphrase-file", PARAM_STRING, NULL, false, false, "file vault: file holding the passphrase (a mounted secret)" }, \
	{ "pkcs11-module", PARAM_STRING, "/usr/lib/softhsm/libsofthsm2.so", false, false, "pkcs11 vault: module to load" }, \
	{ "pkcs11-token", PARAM_STRING, NULL, false, false, "pkcs11 vault: token label" },                          \
	{ "pin", PARAM_STRING, NULL, false, true, "pkcs11 vault: user PIN" },                                        \
	{ "pin-file", PARAM_STRING, NULL, false, false, "pkcs11 vault: file holding the user PIN (a mounted secret)" }

struct vault_config {
	const char *kind; /* "file" | "pkcs11" */
	const char *dir;
	const char *module, *token;
	char *passphrase; /* owned; NULL when not given */
	char *pin;        /* owned */
};

/* Read the VAULT_PARAMS; secrets read from files are registered with the
 * logger for redaction. */
err_t *vault_config_from_params(const struct params *p, struct vault_config *cfg);
void vault_config_release(struct vault_config *cfg);

struct vault;
err_t *vault_open(const struct vault_config *cfg, struct vault **out);
void vault_close(struct vault *v);
const char *vault_kind(const struct vault *v);

/* A signer name: [a-z0-9][a-z0-9._-]*, at most 64 bytes. */
err_t *vault_check_name(const char *name);

err_t *vault_create(struct vault *v, const char *name);
/* Import a PEM private key (e.g. from `docker trust key generate` or
 * `notary key generate`, role header lines and all), decrypting it with
 * import_passphrase when it is encrypted. File vault only. */
err_t *vault_import(struct vault *v, const char *name, const char *pem, size_t len, const char *import_passphrase);
/* Sorted names (caller frees each and the array). */
err_t *vault_list(struct vault *v, char ***names, size_t *n);
err_t *vault_delete(struct vault *v, const char *name);
/* Replace name's key by a fresh one; *old_pub gets the retired public key. */
err_t *vault_rotate(struct vault *v, const char *name, EVP_PKEY **old_pub);
/* The public half of name's key. */
err_t *vault_public(struct vault *v, const char *name, EVP_PKEY **out);

/* A key that can sign: file keys are decrypted in memory, token keys sign
 * inside the token. */
struct signer_key;
err_t *vault_signer(struct vault *v, const char *name, struct signer_key **out);
/* Like vault_signer, but a file key is decrypted in the background while
 * the caller goes on (its network requests): signing waits for it, and
 * signer_key_ready says whether it worked. Errors found without decrypting
 * (no such key, no passphrase) come at once. */
err_t *vault_signer_start(struct vault *v, const char *name, struct signer_key **out);
/* Waits for the key; the precise error (e.g. a wrong passphrase: EXIT_AUTH)
 * the first time, a short one with the same code after. */
err_t *signer_key_ready(struct signer_key *k);
EVP_PKEY *signer_key_public(const struct signer_key *k);
const char *signer_key_name(const struct signer_key *k);
err_t *signer_key_sign(const struct signer_key *k, const void *data, size_t len, enum sig_format fmt,
		       struct strbuf *sig);
/* A self-signed X.509 certificate for the key (CN = cn), as Notary wants
 * root keys ("ecdsa-x509"): signed inside the vault like everything else. */
err_t *signer_key_certificate(const struct signer_key *k, const char *cn, int days, struct strbuf *pem);
void signer_key_free(struct signer_key *k);

#endif
