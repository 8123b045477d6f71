/* Applying the resources (see apply.h). */
#include "apply.h"

#include <stdlib.h>

#include "cleanup.h"
#include "kubeapi.h"
#include "kubeconfig.h"
#include "kubeobj.h"
#include "log.h"

err_t *policy_apply(const json_t *docs, const struct policy_apply_options *o)
{
	struct kubeconfig *kc = NULL;
	struct kubeapi *k = NULL;
	TRY(kubeconfig_resolve(o->kubeconfig, o->context, &kc));
	struct kubeapi_options ko = { .retries = o->retries };
	err_t *e = kubeapi_new(kc, &ko, &k);
	size_t i;
	const json_t *d;
	json_array_foreach(docs, i, d) {
		if (e)
			break;
		const char *kind = json_string_value(json_object_get(d, "kind"));
		const char *name = json_string_value(json_object_get(json_object_get(d, "metadata"), "name"));
		_cleanup_free_ char *path = kubeobj_path(d);
		e = err_context(kubeapi_apply(k, path, d, o->field_manager, o->force, NULL), "applying %s %s", kind, name);
		if (!e)
			log_info("applied %s %s", kind, name);
	}
	kubeapi_free(k);
	kubeconfig_free(kc);
	return e;
}
