/* Applying the resources (see apply.h). */
#include "apply.h"

#include <stdlib.h>

#include "cleanup.h"
#include "kubeapi.h"
#include "kubeconfig.h"
#include "kubediscovery.h"
#include "kubeobj.h"
#include "log.h"
#include "xalloc.h"

err_t *policy_apply(const json_t *docs, const struct policy_apply_options *o)
{
	struct kubeconfig *kc = NULL;
	struct kubeapi *k = NULL;
	TRY(kubeconfig_resolve(o->kubeconfig, o->context, &kc));
	struct kubeapi_options ko = { .retries = o->retries };
	err_t *e = kubeapi_new(kc, &ko, &k);
	/* the resources as the cluster serves them (Portieris' and sigstore's
	 * CRDs must be installed), asked before anything is written */
	struct kubediscovery *disc = e ? NULL : kubediscovery_new(k);
	size_t n = json_array_size(docs);
	char **paths = xcalloc(n ? n : 1, sizeof *paths);
	for (size_t i = 0; !e && i < n; i++) {
		const json_t *d = json_array_get(docs, i);
		const json_t *meta = json_object_get(d, "metadata");
		const char *resource = NULL;
		bool namespaced = false;
		e = kubediscovery_lookup(disc, json_string_value(json_object_get(d, "apiVersion")),
					 json_string_value(json_object_get(d, "kind")), &resource, &namespaced);
		if (!e)
			paths[i] = kubeobj_resource_path(json_string_value(json_object_get(d, "apiVersion")), resource,
							 namespaced ? json_string_value(json_object_get(meta, "namespace")) : NULL,
							 json_string_value(json_object_get(meta, "name")));
	}
	for (size_t i = 0; !e && i < n; i++) {
		const json_t *d = json_array_get(docs, i);
		const char *kind = json_string_value(json_object_get(d, "kind"));
		const char *name = json_string_value(json_object_get(json_object_get(d, "metadata"), "name"));
		e = err_context(kubeapi_apply(k, paths[i], d, o->field_manager, o->force, NULL), "applying %s %s", kind, name);
		if (!e)
			log_info("applied %s %s", kind, name);
	}
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	kubediscovery_free(disc);
	kubeapi_free(k);
	kubeconfig_free(kc);
	return e;
}
