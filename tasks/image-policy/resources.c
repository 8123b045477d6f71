/* Cluster enforcement resources (see resources.h). */
#include "resources.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "keys.h"
#include "strbuf.h"
#include "xalloc.h"

char *resource_name(const char *a, const char *b)
{
	char *s = b ? xasprintf("%s-%s", a, b) : xstrdup(a);
	for (char *c = s; *c; c++)
		*c = *c == '_' ? '-' : (char)tolower((unsigned char)*c);
	return s;
}

static json_t *b64_json(const char *text)
{
	struct strbuf b = STRBUF_INIT;
	b64_encode(text, strlen(text), &b);
	json_t *s = json_string(sb_str(&b));
	sb_release(&b);
	return s;
}

static char *pem_of(const struct sigpolicy_signer *s)
{
	struct strbuf pem = STRBUF_INIT;
	key_public_pem(s->pub, &pem);
	return sb_detach(&pem);
}

static err_t *need_keys(const struct admission_rule *r, const char *what)
{
	for (size_t i = 0; i < r->signers.n; i++)
		if (!r->signers.items[i].pub)
			return err_new(EXIT_USAGE, "%s needs every signer's public key: give --signers=%s=PUBLIC_KEY.pem",
				       what, r->signers.items[i].name);
	return NULL;
}

static void admission_configmap(const struct admission_policy *p, const struct resource_options *o, json_t *docs)
{
	json_t *policy = admission_policy_to_json(p);
	char *text = json_dumps(policy, JSON_INDENT(2));
	char *name = resource_name(p->name, "admission-policy");
	json_array_append_new(docs, json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1", "kind",
					      "ConfigMap", "metadata", "name", name, "namespace",
					      o->admission_namespace, "labels", "app.kubernetes.io/part-of",
					      "image-admission", "data", "policy.json", text));
	free(name);
	free(text);
	json_decref(policy);
}

static err_t *portieris(const struct admission_policy *p, const struct resource_options *o, json_t *docs)
{
	json_t *repos = json_array();
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct admission_rule *r = &p->rules[i];
		if (!r->dct)
			continue;
		err_t *e = need_keys(r, "a Portieris policy");
		if (e) {
			json_decref(repos);
			return e;
		}
		json_t *secrets = json_array();
		for (size_t k = 0; k < r->signers.n; k++) {
			const struct sigpolicy_signer *s = &r->signers.items[k];
			char *name = resource_name(p->name, s->name);
			char *pem = pem_of(s);
			/* a signer may govern several entries: one Secret each */
			bool have = false;
			for (size_t d = 0; d < json_array_size(docs); d++) {
				const json_t *m = json_object_get(json_array_get(docs, d), "metadata");
				have |= !strcmp(json_string_value(json_object_get(json_array_get(docs, d), "kind")), "Secret") &&
					!strcmp(json_string_value(json_object_get(m, "name")), name);
			}
			if (!have)
				json_array_append_new(docs, json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:{s:o, s:o}}", "apiVersion",
								      "v1", "kind", "Secret", "metadata", "name", name,
								      "namespace", o->namespace, "type", "Opaque", "data",
								      "name", b64_json(s->name), "publicKey", b64_json(pem)));
			json_array_append_new(secrets, json_pack("{s:s}", "name", name));
			free(pem);
			free(name);
		}
		json_t *trust = json_pack("{s:b, s:o}", "enabled", 1, "signerSecrets", secrets);
		if (r->notary_url)
			json_object_set_new(trust, "trustServer", json_string(r->notary_url));
		json_array_append_new(repos, json_pack("{s:s, s:{s:o}}", "name", r->pattern, "policy", "trust", trust));
	}
	if (!json_array_size(repos)) {
		json_decref(repos);
		return NULL;
	}
	json_t *meta = json_pack("{s:s}", "name", p->name);
	if (!o->cluster_wide)
		json_object_set_new(meta, "namespace", json_string(o->namespace));
	json_array_append_new(docs, json_pack("{s:s, s:s, s:o, s:{s:o}}", "apiVersion", "portieris.cloud.ibm.com/v1",
					      "kind", o->cluster_wide ? "ClusterImagePolicy" : "ImagePolicy",
					      "metadata", meta, "spec", "repositories", repos));
	return NULL;
}

/* our pattern's star crosses slashes: policy-controller's is "**" */
static char *sigstore_glob(const char *pattern)
{
	struct strbuf g = STRBUF_INIT;
	for (const char *c = pattern; *c; c++)
		sb_add(&g, *c == '*' ? "**" : c, *c == '*' ? 2 : 1);
	return sb_detach(&g);
}

static err_t *sigstore(const struct admission_policy *p, json_t *docs)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct admission_rule *r = &p->rules[i];
		if (!r->cosign)
			continue;
		TRY(need_keys(r, "a sigstore ClusterImagePolicy"));
		char *glob = sigstore_glob(r->pattern);
		for (size_t k = 0; k < r->signers.n; k++) {
			const struct sigpolicy_signer *s = &r->signers.items[k];
			char *idx = p->n_rules > 1 ? xasprintf("%zu-%s", i, s->name) : xstrdup(s->name);
			char *name = resource_name(p->name, idx);
			char *pem = pem_of(s);
			json_array_append_new(
				docs, json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:s}], s:[{s:s, s:{s:s, s:s}}]}}", "apiVersion",
						"policy.sigstore.dev/v1beta1", "kind", "ClusterImagePolicy", "metadata", "name",
						name, "spec", "images", "glob", glob, "authorities", "name", s->name, "key",
						"data", pem, "hashAlgorithm", "sha256"));
			free(pem);
			free(name);
			free(idx);
		}
		free(glob);
	}
	return NULL;
}

err_t *resources_build(const struct admission_policy *p, const struct resource_options *o, json_t *docs)
{
	if (o->admission)
		admission_configmap(p, o, docs);
	if (o->portieris)
		TRY(portieris(p, o, docs));
	if (o->sigstore)
		TRY(sigstore(p, docs));
	return NULL;
}
