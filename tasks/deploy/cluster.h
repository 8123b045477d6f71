/* What deploy does to a cluster once the gate passed: the namespace, the
 * image pull secret, the server-side apply of every object, and the app's
 * URL from what the cluster answered. */
#ifndef DEPLOY_CLUSTER_H
#define DEPLOY_CLUSTER_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "kubeapi.h"
#include "manifests.h"

struct apply_options {
	const char *field_manager;
	bool force;
};

/* The Secret (kubernetes.io/dockerconfigjson) named name in ns holding
 * only the registry's credentials from a Docker config.json (authfile,
 * NULL: the default places); none there is an EXIT_USAGE error. */
err_t *cluster_pull_secret(const char *authfile, const char *registry, const char *name, const char *ns,
			   json_t **out);

/* The pull secret (as cluster_pull_secret) in every namespace the objects
 * use, added before them to m. */
err_t *cluster_add_pull_secrets(struct manifests *m, const char *authfile, const char *registry, const char *name);

/* Ask the cluster (discovery: /api/v1, /apis/GROUP/VERSION, once per API
 * version) which resource serves each object's kind and whether it is
 * namespaced, as kubectl does: a kind the cluster does not serve (a
 * custom resource whose definition is not installed) is an EXIT_USAGE
 * error at its file:line, before anything is written; an object of a
 * cluster-scoped kind loses the namespace deploy gave it. */
err_t *cluster_discover(struct kubeapi *k, struct manifests *m);

/* Server-side apply the namespaces (ensured: created when missing), then
 * every object in order; live[i] gets what the server answered for
 * m->items[i]. */
err_t *cluster_apply(struct kubeapi *k, const struct apply_options *o, const char *const *namespaces, size_t nns,
		     const struct manifests *m, json_t **live);

/* The app's URL: an Ingress's first rule (https when it has tls), else a
 * LoadBalancer Service's address, else a NodePort on the API server's
 * host, else the Service's in-cluster name; NULL when there is no
 * Service or Ingress. Reads the Services' current status. */
char *cluster_app_url(struct kubeapi *k, const struct manifests *m, json_t *const *live);

#endif
