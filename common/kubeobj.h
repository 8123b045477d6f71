/* Kubernetes objects as the API addresses them, by the built-in rules
 * (no discovery, no network): whether a kind lives in a namespace, the
 * resource of a kind, an object's REST path; --dry-run uses them, and the
 * cluster's discovery (common/kubediscovery) corrects them before a write. */
#ifndef COMMON_KUBEOBJ_H
#define COMMON_KUBEOBJ_H

#include <stdbool.h>

/* Whether objects of kind live in a namespace: every kind but the
 * built-in cluster-scoped ones (and the cluster-wide image policies of
 * Portieris and sigstore). */
bool kubeobj_namespaced(const char *kind);
/* The resource serving kind by the English plural rule kubectl falls
 * back on: "deployments", "ingresses", "policies" (caller frees). */
char *kubeobj_plural(const char *kind);
/* "/apis/GROUP/VERSION[/namespaces/NS]/RESOURCE/NAME" ("/api/v1/..." for
 * the core group; ns NULL or "": cluster-scoped); caller frees. */
char *kubeobj_resource_path(const char *api_version, const char *resource, const char *ns, const char *name);

#endif
