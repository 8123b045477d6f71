/* dct-init: the seed's init-docker-content-trust. Creates an image
 * repository's trust data on a notary server (root and targets keys from
 * the vault, timestamp and snapshot keys held by the server) and manages
 * the signers allowed to sign it: each signer is delegated as
 * targets/<name> and in targets/releases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "dct.h"
#include "fsutil.h"
#include "http.h"
#include "imageref.h"
#include "log.h"
#include "notary.h"
#include "task.h"
#include "trust_verify.h"
#include "vault.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "action", PARAM_STRING, "init", false, false, "init, add-signer, rotate-signer or remove-signer" },
	{ "image", PARAM_STRING, NULL, true, false, "image repository whose trust data this is (registry/name)" },
	{ "notary-server", PARAM_STRING, NULL, true, false, "notary server URL (https://host:port)" },
	{ "notary-ca", PARAM_STRING, NULL, false, false, "CA certificate of the notary server" },
	{ "retries", PARAM_INT, "4", false, false, "retries for an unreachable server or a concurrent writer" },
	{ "root-key", PARAM_STRING, "root", false, false, "vault key for the root role (created by init if missing)" },
	{ "targets-key", PARAM_STRING, "targets", false, false, "vault key for the targets role (created by init if missing)" },
	{ "snapshot", PARAM_STRING, "server", false, false, "who signs snapshots: server (notary holds the key) or local (the vault)" },
	{ "snapshot-key", PARAM_STRING, "snapshot", false, false, "vault key for a local snapshot (created by init if missing)" },
	{ "signers", PARAM_LIST, NULL, false, false, "init: NAME (key from the vault) or NAME=PUBLIC_KEY.pem, one per signer" },
	{ "signer", PARAM_STRING, NULL, false, false, "add/rotate/remove-signer: the signer's name" },
	{ "signer-public-key", PARAM_STRING, NULL, false, false, "add/rotate-signer: PEM public key (default: the vault's key)" },
	VAULT_PARAMS,
	{ NULL },
};

static const struct result_spec results[] = {
	{ "gun", "the trust data's name (registry/repository)" },
	{ "root-key-id", "TUF key ID of the root key (pin it in verifiers)" },
	{ "signers", "the signers delegated, one per line" },
	{ NULL },
};

static const struct task_spec spec = {
	"dct-init",
	"Create Docker Content Trust data on a notary server and manage its signers (delegations).",
	params,
	results,
};

struct signer_list {
	struct dct_signer *items;
	size_t n;
};

static void signers_release(struct signer_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		EVP_PKEY_free(l->items[i].pub);
		free((char *)l->items[i].name);
	}
	free(l->items);
}

static err_t *load_public(struct vault *v, const char *name, const char *file, EVP_PKEY **out)
{
	if (file && *file)
		return key_public_from_file(file, out);
	return vault_public(v, name, out);
}

static err_t *parse_signers(const struct params *p, struct vault *v, struct signer_list *l)
{
	const char *const *items;
	size_t n = params_list(p, "signers", &items);
	l->items = xcalloc(n ? n : 1, sizeof *l->items);
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(items[i], '=');
		char *name = eq ? xstrndup(items[i], (size_t)(eq - items[i])) : xstrdup(items[i]);
		l->items[l->n].name = name;
		l->n++;
		TRY(vault_check_name(name));
		if (!strcmp(name, "releases"))
			return err_new(EXIT_USAGE, "'releases' is reserved (targets/releases is managed for every signer)");
		TRY(err_context(load_public(v, name, eq ? eq + 1 : NULL, &l->items[l->n - 1].pub), "signer '%s'", name));
	}
	return NULL;
}

/* A vault key, created when missing (init). */
static err_t *ensure_key(struct vault *v, const char *name, bool create, struct signer_key **out)
{
	EVP_PKEY *pub = NULL;
	err_t *e = vault_public(v, name, &pub);
	EVP_PKEY_free(pub);
	if (e && create && e->code == EXIT_USAGE) {
		err_free(e);
		TRY(vault_create(v, name));
		log_info("created key '%s' in the %s vault", name, vault_kind(v));
	} else if (e) {
		return e;
	}
	return vault_signer(v, name, out);
}

static err_t *run_action(const struct params *p, struct results *r, struct vault *v, struct notary *n)
{
	const char *action = params_str(p, "action");
	int retries = (int)params_int(p, "retries");
	time_t now = time(NULL);
	bool init = !strcmp(action, "init");
	struct signer_key *targets = NULL, *root = NULL, *snapshot = NULL;
	const char *snap_mode = params_str(p, "snapshot");
	if (strcmp(snap_mode, "server") && strcmp(snap_mode, "local"))
		return err_new(EXIT_USAGE, "--snapshot: '%s' is not server or local", snap_mode);
	struct signer_list signers = { 0 };
	err_t *e = NULL;
	if (init) {
		e = parse_signers(p, v, &signers);
		if (!e)
			e = ensure_key(v, params_str(p, "root-key"), true, &root);
		if (!e)
			e = ensure_key(v, params_str(p, "targets-key"), true, &targets);
		if (!e && !strcmp(snap_mode, "local"))
			e = ensure_key(v, params_str(p, "snapshot-key"), true, &snapshot);
		if (!e)
			e = dct_init(n, root, targets, snapshot, signers.items, signers.n, now, retries);
		if (!e) {
			struct strbuf names = STRBUF_INIT;
			for (size_t i = 0; i < signers.n; i++)
				sb_addf(&names, "%s%s", i ? "\n" : "", signers.items[i].name);
			results_sets(r, "signers", sb_str(&names));
			sb_release(&names);
			/* the root's key ID is its certificate's: read back what the
			 * server now serves (this also verifies the whole chain) */
			struct trust_repo repo;
			e = trust_repo_load(notary_fetch, n, notary_gun(n), NULL, now, &repo);
			if (!e) {
				json_t *ids = json_object_get(json_object_get(json_object_get(repo.root.signed_, "roles"), "root"),
							      "keyids");
				const char *rid = json_string_value(json_array_get(ids, 0));
				results_sets(r, "root-key-id", rid ? rid : "");
				printf("%s root %s\n", notary_gun(n), rid ? rid : "?");
				trust_repo_release(&repo);
			}
		}
	} else if (!strcmp(action, "add-signer") || !strcmp(action, "rotate-signer") ||
		   !strcmp(action, "remove-signer")) {
		const char *name = params_str(p, "signer");
		if (!name || !*name)
			return err_new(EXIT_USAGE, "--signer is required for --action=%s", action);
		TRY(vault_check_name(name));
		EVP_PKEY *pub = NULL;
		bool remove = !strcmp(action, "remove-signer");
		if (!remove)
			e = load_public(v, name, params_str(p, "signer-public-key"), &pub);
		if (!e)
			e = ensure_key(v, params_str(p, "targets-key"), false, &targets);
		if (!e && !strcmp(snap_mode, "local"))
			e = ensure_key(v, params_str(p, "snapshot-key"), false, &snapshot);
		if (!e)
			e = dct_set_signer(n, targets, snapshot, name, remove ? NULL : pub, now, retries);
		if (!e) {
			char id[65] = "";
			if (pub)
				e = trust_key_id(pub, id);
			log_info("%s: signer '%s' %s%s%.12s", notary_gun(n), name,
				 remove ? "removed" : (!strcmp(action, "add-signer") ? "added with key " : "now uses key "),
				 "", id);
			results_sets(r, "signers", name);
		}
		EVP_PKEY_free(pub);
	} else {
		e = err_new(EXIT_USAGE, "--action: '%s' is not init, add-signer, rotate-signer or remove-signer", action);
	}
	signer_key_free(root);
	signer_key_free(targets);
	signer_key_free(snapshot);
	signers_release(&signers);
	return e;
}

static err_t *run(const struct params *p, struct results *r)
{
	struct image_ref ref;
	TRY(http_check_url(params_str(p, "notary-server"), "https", "--notary-server"));
	TRY(imageref_parse(params_str(p, "image"), &ref));
	_cleanup_free_ char *gun = imageref_name(&ref);
	imageref_free(&ref);
	struct vault_config cfg;
	TRY(vault_config_from_params(p, &cfg));
	struct notary_options no = {
		.url = params_str(p, "notary-server"),
		.ca_file = params_str(p, "notary-ca"),
		.retries = (int)params_int(p, "retries"),
	};
	struct vault *v = NULL;
	struct notary *n = NULL;
	err_t *e = vault_open(&cfg, &v);
	if (!e)
		e = notary_open(&no, gun, &n);
	if (!e) {
		results_sets(r, "gun", gun);
		e = run_action(p, r, v, n);
	}
	notary_close(n);
	vault_close(v);
	vault_config_release(&cfg);
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
