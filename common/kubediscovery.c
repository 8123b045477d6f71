/* Kinds to resources by the cluster's discovery (see kubediscovery.h). */
#include "kubediscovery.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

struct kubediscovery {
	struct kubeapi *k;
	json_t *lists; /* apiVersion -> APIResourceList, or null: not served */
};

struct kubediscovery *kubediscovery_new(struct kubeapi *k)
{
	struct kubediscovery *d = xcalloc(1, sizeof *d);
	d->k = k;
	d->lists = json_object();
	return d;
}

void kubediscovery_free(struct kubediscovery *d)
{
	if (!d)
		return;
	json_decref(d->lists);
	free(d);
}

static err_t *resource_list(struct kubediscovery *d, const char *av, const json_t **out)
{
	json_t *list = json_object_get(d->lists, av);
	if (!list) {
		_cleanup_free_ char *path = xasprintf("/%s/%s", strchr(av, '/') ? "apis" : "api", av);
		err_t *e = kubeapi_get(d->k, path, &list);
		if (e && e->kind != ERR_KIND_NOT_FOUND)
			return err_context(e, "asking the cluster which resources %s serves", av);
		err_free(e);
		json_object_set_new(d->lists, av, list ? list : json_null());
		list = json_object_get(d->lists, av);
	}
	*out = list;
	return NULL;
}

err_t *kubediscovery_lookup(struct kubediscovery *d, const char *api_version, const char *kind, const char **resource,
			    bool *namespaced)
{
	const json_t *list = NULL;
	TRY(resource_list(d, api_version, &list));
	size_t i;
	const json_t *r;
	json_array_foreach(json_object_get(list, "resources"), i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		if (!name || strchr(name, '/') || strcmp(json_string_value(json_object_get(r, "kind")) ?: "", kind))
			continue; /* a subresource, or another kind */
		if (!*name || name[strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-")]) /* a path segment */
			return err_new(EXIT_FAILED, "the cluster names the resource of kind %s '%s'", kind, name);
		*resource = name;
		*namespaced = json_is_true(json_object_get(r, "namespaced"));
		return NULL;
	}
	return err_kind_new(EXIT_USAGE, ERR_KIND_NOT_FOUND,
			    "the cluster serves no kind %s in %s (is its CustomResourceDefinition installed?)", kind,
			    api_version);
}
