/* The policy image-admission enforces: our own resource, written by
 * image-policy (kind ImageAdmissionPolicy, JSON):
 *
 *   {"apiVersion": "policy.secure-pipeline.dev/v1", "kind": "ImageAdmissionPolicy",
 *    "metadata": {"name": "..."},
 *    "spec": {"exemptNamespaces": ["kube-system"],
 *             "exemptImages": ["registry.k8s.io/ANY"],
 *             "repositories": [{"name": "registry:5000/team/ANY", "format": "dct",
 *                               "notaryServer": "https://notary:4443",
 *                               "rootKeyIds": ["..."],
 *                               "signers": [{"name": "build", "publicKey": "-----BEGIN PUBLIC KEY-----..."},
 *                                           {"name": "validation"}]}]}}
 *
 * (ANY standing for a star.) Patterns are shell globs (fnmatch, a star also crosses a slash) matched against
 * the normalised registry/repository of an image, never its tag or digest;
 * exempt namespaces are exact names. The first repository entry whose
 * pattern matches governs the image; an image no entry governs is denied.
 * Every entry needs at least one signer: all of them must sign. */
#ifndef IMAGE_ADMISSION_POLICY_H
#define IMAGE_ADMISSION_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "sigpolicy.h"

#define POLICY_API_VERSION "policy.secure-pipeline.dev/v1"
#define POLICY_KIND "ImageAdmissionPolicy"

struct policy_rule {
	char *pattern;
	bool dct, cosign;
	char *notary_url;
	char **root_key_ids;
	size_t n_root_key_ids;
	struct sigpolicy_signers signers;
};

struct policy {
	char *name;
	char **exempt_namespaces;
	size_t n_exempt_namespaces;
	char **exempt_images;
	size_t n_exempt_images;
	struct policy_rule *rules;
	size_t n_rules;
};

/* Parse a policy document; EXIT_USAGE naming the field on any error. */
err_t *policy_parse(const char *text, size_t len, const char *what, struct policy **out);
err_t *policy_load(const char *path, struct policy **out);
void policy_free(struct policy *p);

bool policy_namespace_exempt(const struct policy *p, const char *ns);
/* repo: "registry/repository" (imageref_name). */
bool policy_image_exempt(const struct policy *p, const char *repo);
const struct policy_rule *policy_rule_for(const struct policy *p, const char *repo);

#endif
