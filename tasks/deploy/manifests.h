/* The app's manifests as deploy applies them: every document of a file or
 * of a directory's .yaml, .yml and .json files (sorted by name), as JSON
 * objects that remember where they came from ("file:line"), with the
 * edits deploy makes before anything reaches a cluster: the image pinned
 * to its digest, the namespace filled in, the image pull secret
 * referenced. */
#ifndef DEPLOY_MANIFESTS_H
#define DEPLOY_MANIFESTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct kobject {
	json_t *obj;
	char *source;     /* "file:line" of the document */
	const char *kind; /* borrowed from obj */
	const char *name;
	bool namespaced;  /* from the built-in kinds, then the cluster's discovery */
	char *resource;   /* the plural the cluster's discovery names (NULL before) */
};

struct manifests {
	struct kobject *items;
	size_t n;
};

/* Load a file ("-": stdin) or a directory. A document that does not parse,
 * or is not an object with apiVersion, kind and metadata.name, is an
 * EXIT_USAGE error at its file:line; no object at all is one too. */
err_t *manifests_load(const char *path, struct manifests *out);
void manifests_free(struct manifests *m);
/* Add the documents of one YAML text (name for errors) to m; what
 * manifests_load does for each file. */
err_t *manifests_parse(const char *text, size_t len, const char *name, struct manifests *m);

/* Give every namespaced object without one the namespace ns. When
 * must_match, an object naming another namespace is an EXIT_USAGE error
 * (as kubectl refuses it). */
err_t *manifests_set_namespace(struct manifests *m, const char *ns, bool must_match);
/* The object's namespace ("" for a cluster-scoped one). */
const char *kobject_namespace(const struct kobject *o);

/* Set to `pinned` ("registry/repository@sha256:...") the image of every
 * container (and init container) of every pod template whose image names
 * the repository `repo` ("registry/repository", normalised), or, with
 * `container`, of the containers of that name. *count: how many were
 * set; none is an EXIT_USAGE error naming what the manifests run. Each
 * pod template changed also gets `pull_secret` (when not NULL) in its
 * imagePullSecrets. */
err_t *manifests_pin(struct manifests *m, const char *repo, const char *container, const char *pinned,
		     const char *pull_secret, size_t *count);

/* The pod spec of a workload (its template's) or of a Pod, or NULL. */
json_t *manifests_pod_spec(json_t *obj, const char *kind);

/* Add an object deploy made (a pull secret) before the others. */
void manifests_prepend(struct manifests *m, json_t *obj, const char *source);
/* The distinct namespaces the objects are in, in order (borrowed strings
 * in a list the caller frees). */
size_t manifests_namespaces(const struct manifests *m, const char ***out);
/* The namespace of the first object with a pod template (the app's), else
 * of the first namespaced object, else NULL. */
const char *manifests_app_namespace(const struct manifests *m);

/* The object's REST path: "/apis/apps/v1/namespaces/NS/deployments/NAME"
 * (caller frees): the resource the cluster's discovery named, else (no
 * cluster: --dry-run) the lower-case plural of the kind. */
char *kobject_path(const struct kobject *o);

#endif
