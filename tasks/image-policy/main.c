/* image-policy: write the cluster's image enforcement from the trust
 * configuration dct-init and signer-key know (the repository, its
 * required signers and their public keys, the notary server): our own
 * ImageAdmissionPolicy for image-admission (a ConfigMap, and the policy
 * file itself with --policy-file), Portieris' ImagePolicy with a signer
 * Secret per required signer, and sigstore policy-controller's
 * ClusterImagePolicies (one per signer: all required). YAML on stdout
 * (or --output), ready for kubectl apply, or with --apply applied to the
 * cluster through deploy's API client. What it writes is read back before
 * it is printed, with the parser image-admission enforces it with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission_policy.h"
#include "apply.h"
#include "cleanup.h"
#include "fsutil.h"
#include "http.h"
#include "imageref.h"
#include "keys.h"
#include "resources.h"
#include "strbuf.h"
#include "task.h"
#include "xalloc.h"
#include "yamldoc.h"

static const struct param_spec params[] = {
	{ "image", PARAM_STRING, NULL, true, false, "the repository the trust data is for (dct-init's image: registry/name)" },
	{ "pattern", PARAM_STRING, NULL, false, false,
	  "the repositories the policy governs, a glob (a star also crosses '/'); default: the image's repository" },
	{ "signers", PARAM_LIST, NULL, true, false,
	  "required signer: NAME=PUBLIC_KEY.pem (repeat; all must sign); NAME alone: our policy only, DCT" },
	{ "format", PARAM_STRING, "dct", false, false, "dct, cosign or both" },
	{ "notary-server", PARAM_STRING, NULL, false, false, "notary server URL (https://host:port), for dct" },
	{ "root-key-ids", PARAM_LIST, NULL, false, false, "pinned root key IDs (dct-init's root-key-id)" },
	{ "name", PARAM_STRING, "signed-images", false, false, "name of the policies (and prefix of the Secrets)" },
	{ "namespace", PARAM_STRING, "default", false, false, "namespace of the Portieris ImagePolicy and its signer Secrets" },
	{ "cluster-wide", PARAM_BOOL, "false", false, false, "a Portieris ClusterImagePolicy instead of an ImagePolicy" },
	{ "admission-namespace", PARAM_STRING, "image-admission", false, false,
	  "namespace of image-admission (its policy ConfigMap)" },
	{ "exempt-namespaces", PARAM_LIST, NULL, false, false, "namespace image-admission admits without checks (repeat)" },
	{ "exempt-images", PARAM_LIST, NULL, false, false, "repository glob image-admission admits without checks (repeat)" },
	{ "outputs", PARAM_LIST, NULL, false, false,
	  "admission, portieris, sigstore (repeat; default: admission and those the format needs)" },
	{ "policy-file", PARAM_STRING, NULL, false, false, "also write the ImageAdmissionPolicy (JSON) to this file" },
	{ "output", PARAM_STRING, NULL, false, false, "write the resources (YAML) to this file instead of stdout" },
	{ "apply", PARAM_BOOL, "false", false, false,
	  "apply the resources to the cluster (server-side apply, as deploy does), not print them" },
	{ "kubeconfig", PARAM_STRING, NULL, false, false,
	  "with --apply: kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else the in-cluster service account)" },
	{ "context", PARAM_STRING, NULL, false, false, "with --apply: kubeconfig context (default: current-context)" },
	{ "field-manager", PARAM_STRING, "image-policy", false, false, "with --apply: server-side apply field manager" },
	{ "force", PARAM_BOOL, "false", false, false,
	  "with --apply: take over fields another field manager owns (server-side apply force)" },
	{ "retries", PARAM_INT, "3", false, false, "with --apply: retries for an unreachable API server" },
	{ NULL },
};

static const struct result_spec results[] = {
	{ "resources", "one line per resource written: Kind namespace/name" },
	{ NULL },
};

static const struct task_spec spec = {
	"image-policy",
	"Write the cluster's image enforcement (image-admission, Portieris, sigstore policies) for the required signers.",
	params,
	results,
};

static err_t *dns_label(const char *what, const char *s)
{
	size_t n = strlen(s);
	bool ok = n > 0 && n <= 48;
	for (size_t i = 0; ok && i < n; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || (s[i] == '-' && i && i + 1 < n);
	return ok ? NULL : err_new(EXIT_USAGE, "--%s '%s': lower-case letters, digits and inner '-', at most 48", what, s);
}

static json_t *list_param(const struct params *p, const char *name)
{
	const char *const *items;
	size_t n = params_list(p, name, &items);
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(items[i]));
	return a;
}

/* The ImageAdmissionPolicy the params describe, parsed as image-admission
 * parses it (so every check it makes applies here). */
static err_t *build_policy(const struct params *p, struct admission_policy **out)
{
	struct image_ref ref;
	TRY(imageref_parse(params_str(p, "image"), &ref));
	bool pinned = (ref.tag && !ref.tag_implied) || ref.digest;
	_cleanup_free_ char *repo = imageref_name(&ref);
	imageref_free(&ref);
	if (pinned)
		return err_new(EXIT_USAGE, "--image names a repository (registry/name), not a tag or digest");
	const char *const *items;
	size_t n = params_list(p, "signers", &items);
	struct sigpolicy_signers s = { 0 };
	err_t *e = sigpolicy_signers_parse(items, n, &s);
	json_t *signers = json_array();
	for (size_t i = 0; !e && i < s.n; i++) {
		json_t *one = json_pack("{s:s}", "name", s.items[i].name);
		if (s.items[i].pub) {
			struct strbuf pem = STRBUF_INIT;
			key_public_pem(s.items[i].pub, &pem);
			json_object_set_new(one, "publicKey", json_string(sb_str(&pem)));
			sb_release(&pem);
		}
		json_array_append_new(signers, one);
	}
	sigpolicy_signers_free(&s);
	const char *pattern = params_str(p, "pattern"), *notary = params_str(p, "notary-server");
	const char *format = params_str(p, "format");
	if (!e && (!strcmp(format, "dct") || !strcmp(format, "both")) && !(notary && *notary))
		e = err_new(EXIT_USAGE, "format %s needs --notary-server (the trust data's server)", format);
	if (!e && notary && *notary)
		e = http_check_url(notary, "https", "--notary-server");
	json_t *entry = json_pack("{s:s, s:s, s:o, s:o}", "name", pattern && *pattern ? pattern : repo, "format",
				  format, "signers", signers, "rootKeyIds", list_param(p, "root-key-ids"));
	if (notary && *notary)
		json_object_set_new(entry, "notaryServer", json_string(notary));
	json_t *doc = json_pack("{s:s, s:s, s:{s:s}, s:{s:o, s:o, s:[o]}}", "apiVersion", POLICY_API_VERSION, "kind",
				POLICY_KIND, "metadata", "name", params_str(p, "name"), "spec", "exemptNamespaces",
				list_param(p, "exempt-namespaces"), "exemptImages", list_param(p, "exempt-images"),
				"repositories", entry);
	if (!e) {
		char *text = json_dumps(doc, JSON_COMPACT);
		e = admission_policy_parse(text, strlen(text), "(from the params)", out);
		free(text);
	}
	json_decref(doc);
	return e;
}

static err_t *outputs(const struct params *p, const struct admission_policy *pol, struct resource_options *o)
{
	const char *const *items;
	size_t n = params_list(p, "outputs", &items);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(items[i], "admission"))
			o->admission = true;
		else if (!strcmp(items[i], "portieris"))
			o->portieris = true;
		else if (!strcmp(items[i], "sigstore"))
			o->sigstore = true;
		else
			return err_new(EXIT_USAGE, "--outputs: '%s' is not admission, portieris or sigstore", items[i]);
	}
	if (!n) {
		o->admission = true;
		o->portieris = pol->rules[0].dct;
		o->sigstore = pol->rules[0].cosign;
	}
	return NULL;
}

static err_t *run(const struct params *p, struct results *r)
{
	TRY(dns_label("name", params_str(p, "name")));
	TRY(dns_label("namespace", params_str(p, "namespace")));
	TRY(dns_label("admission-namespace", params_str(p, "admission-namespace")));
	struct admission_policy *pol;
	TRY(build_policy(p, &pol));
	struct resource_options o = {
		.namespace = params_str(p, "namespace"),
		.admission_namespace = params_str(p, "admission-namespace"),
		.cluster_wide = params_bool(p, "cluster-wide"),
	};
	json_t *docs = json_array();
	err_t *e = outputs(p, pol, &o);
	if (!e)
		e = resources_build(pol, &o, docs);
	const char *file = params_str(p, "policy-file"), *output = params_str(p, "output");
	if (!e && file && *file) {
		json_t *doc = admission_policy_to_json(pol);
		char *text = json_dumps(doc, JSON_INDENT(2));
		e = fs_write_path_atomic(file, text, strlen(text), 0644);
		free(text);
		json_decref(doc);
	}
	if (!e) {
		struct strbuf yaml = STRBUF_INIT, lines = STRBUF_INIT;
		size_t i;
		json_t *d;
		json_array_foreach(docs, i, d) {
			ydoc_emit_json(d, &yaml);
			const json_t *m = json_object_get(d, "metadata");
			const char *ns = json_string_value(json_object_get(m, "namespace"));
			sb_addf(&lines, "%s%s %s%s%s", i ? "\n" : "", json_string_value(json_object_get(d, "kind")),
				ns ? ns : "", ns ? "/" : "", json_string_value(json_object_get(m, "name")));
		}
		bool apply = params_bool(p, "apply");
		if (output && *output)
			e = fs_write_path_atomic(output, yaml.buf, yaml.len, 0644);
		else if (!apply)
			fputs(sb_str(&yaml), stdout);
		if (!e && apply) {
			struct policy_apply_options ao = {
				.kubeconfig = params_str(p, "kubeconfig"),
				.context = params_str(p, "context"),
				.field_manager = params_str(p, "field-manager"),
				.force = params_bool(p, "force"),
				.retries = (int)params_int(p, "retries"),
			};
			e = policy_apply(docs, &ao);
		}
		if (!e)
			results_sets(r, "resources", sb_str(&lines));
		sb_release(&yaml);
		sb_release(&lines);
	}
	json_decref(docs);
	admission_policy_free(pol);
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
