/* What a cluster serves, as kubectl learns it: the discovery documents
 * (/api/v1, /apis/GROUP/VERSION), fetched once per API version, map a kind
 * to its resource and scope, custom resources included. deploy and
 * image-policy ask it before writing anything. */
#ifndef COMMON_KUBEDISCOVERY_H
#define COMMON_KUBEDISCOVERY_H

#include <stdbool.h>

#include "error.h"
#include "kubeapi.h"

struct kubediscovery;

struct kubediscovery *kubediscovery_new(struct kubeapi *k);
void kubediscovery_free(struct kubediscovery *d);

/* The resource (*resource, valid while d lives) serving kind in
 * api_version ("v1", "apps/v1") and whether it is namespaced. A kind the
 * cluster does not serve (a custom resource whose definition is not
 * installed) is EXIT_USAGE, ERR_KIND_NOT_FOUND; a resource name that is
 * not a lower-case path segment is EXIT_FAILED. */
err_t *kubediscovery_lookup(struct kubediscovery *d, const char *api_version, const char *kind, const char **resource,
			    bool *namespaced);

#endif
