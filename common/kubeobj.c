/* Kinds and REST paths (see kubeobj.h). */
#include "kubeobj.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Kinds that live outside namespaces (the API server's discovery says so
 * for each resource; these are the built-in ones manifests may carry, and
 * the image policies image-policy writes). */
static const char *const cluster_kinds[] = {
	"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
	"StorageClass", "IngressClass", "PriorityClass", "RuntimeClass", "ValidatingWebhookConfiguration",
	"MutatingWebhookConfiguration", "APIService", "Node", "CSIDriver", "ClusterImagePolicy", NULL,
};

bool kubeobj_namespaced(const char *kind)
{
	for (size_t i = 0; cluster_kinds[i]; i++)
		if (!strcmp(kind, cluster_kinds[i]))
			return false;
	return true;
}

char *kubeobj_plural(const char *kind)
{
	char *s = xstrdup(kind);
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	const char *suffix = "s";
	if (!strcmp(s, "endpoints"))
		suffix = ""; /* already plural */
	else if (n > 1 && s[n - 1] == 'y' && !strchr("aeiou", s[n - 2])) {
		s[n - 1] = '\0';
		suffix = "ies";
	} else if (s[n - 1] == 's' || s[n - 1] == 'x' || (n > 1 && s[n - 1] == 'h' && strchr("cs", s[n - 2])))
		suffix = "es";
	char *p = xasprintf("%s%s", s, suffix);
	free(s);
	return p;
}

char *kubeobj_resource_path(const char *api_version, const char *resource, const char *ns, const char *name)
{
	return xasprintf("/%s/%s%s%s/%s/%s", strchr(api_version, '/') ? "apis" : "api", api_version,
			 ns && *ns ? "/namespaces/" : "", ns ? ns : "", resource, name);
}
