/* The policy image-admission enforces: our own resource, written by
 * image-policy and read back by image-admission (kind
 * ImageAdmissionPolicy, JSON):
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
#ifndef COMMON_ADMISSION_POLICY_H
#define COMMON_ADMISSION_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "sigpolicy.h"

#define POLICY_API_VERSION "policy.secure-pipeline.dev/v1"
#define POLICY_KIND "ImageAdmissionPolicy"

struct admission_rule {
	char *pattern;
	bool dct, cosign;
	char *notary_url;
	char **root_key_ids;
	size_t n_root_key_ids;
	struct sigpolicy_signers signers;
};

struct admission_policy {
	char *name;
	char **exempt_namespaces;
	size_t n_exempt_namespaces;
	char **exempt_images;
	size_t n_exempt_images;
	struct admission_rule *rules;
	size_t n_rules;
};

/* Parse a policy document; EXIT_USAGE naming the field on any error. */
err_t *admission_policy_parse(const char *text, size_t len, const char *what, struct admission_policy **out);
err_t *admission_policy_load(const char *path, struct admission_policy **out);
void admission_policy_free(struct admission_policy *p);

/* The resource for p (new reference): what admission_policy_parse reads
 * back as p. Public keys are written as PEM. */
json_t *admission_policy_to_json(const struct admission_policy *p);

bool admission_policy_namespace_exempt(const struct admission_policy *p, const char *ns);
/* repo: "registry/repository" (imageref_name). */
bool admission_policy_image_exempt(const struct admission_policy *p, const char *repo);
const struct admission_rule *admission_policy_rule_for(const struct admission_policy *p, const char *repo);

#endif
