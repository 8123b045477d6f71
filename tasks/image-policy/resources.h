/* The cluster resources that enforce an admission policy, each a JSON
 * object (Kubernetes' wire form) ready to be written as YAML:
 *
 * - our own: a ConfigMap holding the ImageAdmissionPolicy as policy.json
 *   (image-admission --policy reads that file where it is mounted);
 * - Portieris (DCT): per required signer a Secret with `name` and
 *   `publicKey` (PEM), and an ImagePolicy (or ClusterImagePolicy) whose
 *   repository entry enables trust with every signer in signerSecrets;
 * - sigstore policy-controller (cosign): a ClusterImagePolicy per signer
 *   with that signer's key as its one authority. policy-controller admits
 *   an image when, of every ClusterImagePolicy that matches it, one
 *   authority passes: one policy per signer makes every signer required. */
#ifndef IMAGE_POLICY_RESOURCES_H
#define IMAGE_POLICY_RESOURCES_H

#include <jansson.h>
#include <stdbool.h>

#include "admission_policy.h"
#include "error.h"

struct resource_options {
	const char *namespace;           /* Portieris ImagePolicy and signer Secrets */
	const char *admission_namespace; /* the ConfigMap */
	bool cluster_wide;               /* Portieris ClusterImagePolicy */
	bool admission, portieris, sigstore;
};

/* Append the resources for p to docs (a JSON array). Portieris and
 * sigstore need every signer's public key: EXIT_USAGE naming the signer
 * without one. Portieris is written for DCT rules, sigstore for cosign
 * rules. */
err_t *resources_build(const struct admission_policy *p, const struct resource_options *o, json_t *docs);

/* A name usable for a Kubernetes object: lower case, '_' as '-'. */
char *resource_name(const char *a, const char *b);

#endif
