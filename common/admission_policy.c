/* The admission policy resource (see policy.h). */
#include "admission_policy.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "jsonutil.h"
#include "keys.h"
#include "strbuf.h"
#include "vault.h"
#include "xalloc.h"

static err_t *string_list(const json_t *obj, const char *key, const char *what, char ***out, size_t *n)
{
	const json_t *a = json_object_get(obj, key);
	*out = NULL;
	*n = 0;
	if (!a || json_is_null(a))
		return NULL;
	if (!json_is_array(a))
		return err_new(EXIT_USAGE, "%s.%s is not a list", what, key);
	*out = xcalloc(json_array_size(a) + 1, sizeof **out);
	for (size_t i = 0; i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));
		if (!s || !*s)
			return err_new(EXIT_USAGE, "%s.%s[%zu] is not a non-empty string", what, key, i);
		(*out)[(*n)++] = xstrdup(s);
	}
	return NULL;
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

static err_t *parse_signers(const json_t *entry, const char *what, struct sigpolicy_signers *out)
{
	const json_t *a = json_object_get(entry, "signers");
	if (!json_is_array(a) || !json_array_size(a))
		return err_new(EXIT_USAGE, "%s.signers: a non-empty list of required signers is needed", what);
	out->items = xcalloc(json_array_size(a), sizeof *out->items);
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *s = json_array_get(a, i);
		const char *name;
		TRY(json_get_string(s, "name", what, &name));
		struct sigpolicy_signer *it = &out->items[out->n++];
		it->name = xstrdup(name);
		TRY(err_context(vault_check_name(name), "%s.signers[%zu]", what, i));
		const char *pem = json_string_value(json_object_get(s, "publicKey"));
		if (pem)
			TRY(err_context(key_public_from_pem(pem, strlen(pem), &it->pub), "%s signer '%s'", what, name));
	}
	return NULL;
}

static err_t *parse_rule(const json_t *entry, const char *what, struct admission_rule *r)
{
	const char *name, *format = json_string_value(json_object_get(entry, "format"));
	TRY(json_get_string(entry, "name", what, &name));
	if (!*name)
		return err_new(EXIT_USAGE, "%s.name is empty", what);
	r->pattern = xstrdup(name);
	if (!format)
		format = "dct";
	r->dct = !strcmp(format, "dct") || !strcmp(format, "both");
	r->cosign = !strcmp(format, "cosign") || !strcmp(format, "both");
	if (!r->dct && !r->cosign)
		return err_new(EXIT_USAGE, "%s.format: '%s' is not dct, cosign or both", what, format);
	const char *url = json_string_value(json_object_get(entry, "notaryServer"));
	if (url)
		r->notary_url = xstrdup(url);
	if (r->dct && !r->notary_url)
		return err_new(EXIT_USAGE, "%s: format %s needs notaryServer", what, format);
	TRY(string_list(entry, "rootKeyIds", what, &r->root_key_ids, &r->n_root_key_ids));
	return parse_signers(entry, what, &r->signers);
}

err_t *admission_policy_parse(const char *text, size_t len, const char *what, struct admission_policy **out)
{
	json_t *root;
	TRY(json_parse(text, len, what, &root));
	struct admission_policy *p = xcalloc(1, sizeof *p);
	const char *api, *kind;
	json_t *spec, *repos;
	err_t *e = json_get_string(root, "apiVersion", what, &api);
	if (!e && strcmp(api, POLICY_API_VERSION))
		e = err_new(EXIT_USAGE, "%s: apiVersion '%s' is not " POLICY_API_VERSION, what, api);
	if (!e)
		e = json_get_string(root, "kind", what, &kind);
	if (!e && strcmp(kind, POLICY_KIND))
		e = err_new(EXIT_USAGE, "%s: kind '%s' is not " POLICY_KIND, what, kind);
	if (!e) {
		const char *name = json_string_value(json_object_get(json_object_get(root, "metadata"), "name"));
		p->name = xstrdup(name ? name : "");
		e = json_get_object(root, "spec", what, &spec);
	}
	if (!e)
		e = string_list(spec, "exemptNamespaces", "spec", &p->exempt_namespaces, &p->n_exempt_namespaces);
	if (!e)
		e = string_list(spec, "exemptImages", "spec", &p->exempt_images, &p->n_exempt_images);
	if (!e)
		e = json_get_array(spec, "repositories", "spec", &repos);
	if (!e) {
		p->rules = xcalloc(json_array_size(repos) + 1, sizeof *p->rules);
		for (size_t i = 0; !e && i < json_array_size(repos); i++) {
			char w[64];
			snprintf(w, sizeof w, "spec.repositories[%zu]", i);
			p->n_rules++;
			e = parse_rule(json_array_get(repos, i), w, &p->rules[i]);
		}
	}
	json_decref(root);
	if (e) {
		admission_policy_free(p);
		return err_context(e, "policy %s", what);
	}
	*out = p;
	return NULL;
}

err_t *admission_policy_load(const char *path, struct admission_policy **out)
{
	struct strbuf sb = STRBUF_INIT;
	err_t *e = fs_read_file(path, 1 << 20, &sb);
	if (!e)
		e = admission_policy_parse(sb.buf, sb.len, path, out);
	sb_release(&sb);
	return e;
}

void admission_policy_free(struct admission_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_rules; i++) {
		struct admission_rule *r = &p->rules[i];
		free(r->pattern);
		free(r->notary_url);
		free_list(r->root_key_ids, r->n_root_key_ids);
		sigpolicy_signers_free(&r->signers);
	}
	free(p->rules);
	free_list(p->exempt_namespaces, p->n_exempt_namespaces);
	free_list(p->exempt_images, p->n_exempt_images);
	free(p->name);
	free(p);
}

bool admission_policy_namespace_exempt(const struct admission_policy *p, const char *ns)
{
	for (size_t i = 0; i < p->n_exempt_namespaces; i++)
		if (!strcmp(p->exempt_namespaces[i], ns))
			return true;
	return false;
}

bool admission_policy_image_exempt(const struct admission_policy *p, const char *repo)
{
	for (size_t i = 0; i < p->n_exempt_images; i++)
		if (fnmatch(p->exempt_images[i], repo, 0) == 0)
			return true;
	return false;
}

const struct admission_rule *admission_policy_rule_for(const struct admission_policy *p, const char *repo)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (fnmatch(p->rules[i].pattern, repo, 0) == 0)
			return &p->rules[i];
	return NULL;
}

static json_t *list_json(char *const *items, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(items[i]));
	return a;
}

json_t *admission_policy_to_json(const struct admission_policy *p)
{
	json_t *repos = json_array();
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct admission_rule *r = &p->rules[i];
		json_t *signers = json_array();
		for (size_t k = 0; k < r->signers.n; k++) {
			json_t *s = json_pack("{s:s}", "name", r->signers.items[k].name);
			if (r->signers.items[k].pub) {
				struct strbuf pem = STRBUF_INIT;
				key_public_pem(r->signers.items[k].pub, &pem);
				json_object_set_new(s, "publicKey", json_string(sb_str(&pem)));
				sb_release(&pem);
			}
			json_array_append_new(signers, s);
		}
		json_t *e = json_pack("{s:s, s:s, s:o}", "name", r->pattern, "format",
				      r->dct && r->cosign ? "both" : r->dct ? "dct" : "cosign", "signers", signers);
		if (r->notary_url)
			json_object_set_new(e, "notaryServer", json_string(r->notary_url));
		if (r->n_root_key_ids)
			json_object_set_new(e, "rootKeyIds", list_json(r->root_key_ids, r->n_root_key_ids));
		json_array_append_new(repos, e);
	}
	json_t *spec = json_pack("{s:o, s:o, s:o}", "exemptNamespaces",
				 list_json(p->exempt_namespaces, p->n_exempt_namespaces), "exemptImages",
				 list_json(p->exempt_images, p->n_exempt_images), "repositories", repos);
	return json_pack("{s:s, s:s, s:{s:s}, s:o}", "apiVersion", POLICY_API_VERSION, "kind", POLICY_KIND, "metadata",
			 "name", p->name ? p->name : "", "spec", spec);
}
