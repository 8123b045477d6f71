/* signer-key: the seed's Create/Delete Signer Key stages, done in a vault
 * where keys stay protected: create, list, show the public key, rotate,
 * delete, or import a key made by `docker trust key generate` / notary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "strbuf.h"
#include "task.h"
#include "tuf.h"
#include "vault.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "action", PARAM_STRING, NULL, true, false, "create, list, public-key, rotate, delete or import" },
	{ "name", PARAM_STRING, NULL, false, false, "signer name (e.g. build, validation); the key's label" },
	{ "import-file", PARAM_STRING, NULL, false, false, "import: PEM private key (role header lines allowed)" },
	{ "import-passphrase", PARAM_STRING, NULL, false, true, "import: passphrase the PEM is encrypted with" },
	{ "public-key-file", PARAM_STRING, NULL, false, false, "also write the public key (PEM) to this file" },
	VAULT_PARAMS,
	{ NULL },
};

static const struct result_spec results[] = {
	{ "public-key", "the signer's public key (PEM)" },
	{ "key-id", "the key's TUF key ID (as notary and docker trust show it)" },
	{ "signers", "list: the signer names in the vault, one per line" },
	{ NULL },
};

static const struct task_spec spec = {
	"signer-key",
	"Create, list, show, rotate, delete or import signer keys in a file or PKCS#11 vault.",
	params,
	results,
};

#define IMPORT_MAX (64 * 1024)

static err_t *key_id_of(EVP_PKEY *pub, char id[65])
{
	json_t *k = tuf_key_json(pub);
	err_t *e = tuf_key_id(k, id);
	json_decref(k);
	return e;
}

/* Print and publish a public key and its ID. */
static err_t *publish_key(const struct params *p, struct results *r, EVP_PKEY *pub)
{
	struct strbuf pem = STRBUF_INIT;
	char id[65];
	key_public_pem(pub, &pem);
	err_t *e = key_id_of(pub, id);
	const char *file = params_str(p, "public-key-file");
	if (!e && file && *file) {
		_cleanup_free_ char *dir = xstrdup(file);
		char *slash = strrchr(dir, '/');
		const char *base = slash ? slash + 1 : file;
		if (slash)
			*slash = '\0';
		e = fs_write_atomic(slash ? (*dir ? dir : "/") : ".", base, pem.buf, pem.len, 0644);
	}
	if (!e) {
		fputs(sb_str(&pem), stdout);
		results_sets(r, "public-key", sb_str(&pem));
		results_sets(r, "key-id", id);
		log_info("key ID %s", id);
	}
	sb_release(&pem);
	return e;
}

static err_t *need_name(const struct params *p, const char **name)
{
	*name = params_str(p, "name");
	if (!*name || !**name)
		return err_new(EXIT_USAGE, "--name is required for --action=%s", params_str(p, "action"));
	return vault_check_name(*name);
}

static err_t *do_list(struct vault *v, struct results *r)
{
	char **names = NULL;
	size_t n = 0;
	TRY(vault_list(v, &names, &n));
	struct strbuf out = STRBUF_INIT;
	err_t *e = NULL;
	for (size_t i = 0; i < n; i++) {
		EVP_PKEY *pub = NULL;
		char id[65] = "?";
		err_t *ke = vault_public(v, names[i], &pub);
		if (!ke)
			ke = key_id_of(pub, id);
		err_free(ke);
		EVP_PKEY_free(pub);
		printf("%s\t%s\n", names[i], id);
		if (i)
			sb_addc(&out, '\n');
		sb_adds(&out, names[i]);
		free(names[i]);
	}
	free(names);
	results_sets(r, "signers", sb_str(&out));
	sb_release(&out);
	return e;
}

static err_t *run_action(const struct params *p, struct results *r, struct vault *v)
{
	const char *action = params_str(p, "action");
	const char *name = NULL;
	if (!strcmp(action, "list"))
		return do_list(v, r);
	TRY(need_name(p, &name));
	_cleanup_pkey_ EVP_PKEY *pub = NULL;
	if (!strcmp(action, "create")) {
		TRY(vault_create(v, name));
		log_info("created signer key '%s' in the %s vault", name, vault_kind(v));
	} else if (!strcmp(action, "import")) {
		const char *file = params_str(p, "import-file");
		if (!file || !*file)
			return err_new(EXIT_USAGE, "--import-file is required for --action=import");
		struct strbuf pem = STRBUF_INIT;
		err_t *e = fs_read_file(file, IMPORT_MAX, &pem);
		if (!e)
			e = vault_import(v, name, pem.buf, pem.len, params_str(p, "import-passphrase"));
		OPENSSL_cleanse(pem.buf, pem.len);
		sb_release(&pem);
		TRY(e);
		log_info("imported signer key '%s' from %s into the %s vault", name, file, vault_kind(v));
	} else if (!strcmp(action, "rotate")) {
		_cleanup_pkey_ EVP_PKEY *old = NULL;
		TRY(vault_rotate(v, name, &old));
		char id[65];
		TRY(key_id_of(old, id));
		log_info("rotated signer key '%s' (retired key ID %s); update its delegation with dct-init --action=rotate-signer",
			 name, id);
	} else if (!strcmp(action, "delete")) {
		TRY(vault_delete(v, name));
		log_info("deleted signer key '%s' from the %s vault", name, vault_kind(v));
		return NULL;
	} else if (strcmp(action, "public-key")) {
		return err_new(EXIT_USAGE, "--action: '%s' is not create, list, public-key, rotate, delete or import",
			       action);
	}
	TRY(vault_public(v, name, &pub));
	return publish_key(p, r, pub);
}

static err_t *run(const struct params *p, struct results *r)
{
	struct vault_config cfg;
	TRY(vault_config_from_params(p, &cfg));
	struct vault *v = NULL;
	err_t *e = vault_open(&cfg, &v);
	if (!e)
		e = run_action(p, r, v);
	vault_close(v);
	vault_config_release(&cfg);
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
