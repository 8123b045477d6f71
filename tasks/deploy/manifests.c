/* Manifests: load, check, pin, namespace (see manifests.h). */
#include "manifests.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "imageref.h"
#include "kubeobj.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"
#include "yamldoc.h"

#define MANIFEST_MAX (16u << 20)

/* Names, namespaces, kinds and API versions become URL path segments:
 * only the characters Kubernetes allows in them pass. */
static bool path_safe(const char *s, const char *extra)
{
	if (!*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

/* "v1" or "group/version": one or two safe segments */
static bool api_version_safe(const char *av)
{
	const char *slash = strchr(av, '/');
	if (!slash)
		return path_safe(av, "");
	char *group = xstrndup(av, (size_t)(slash - av));
	bool ok = path_safe(group, ".-") && path_safe(slash + 1, "");
	free(group);
	return ok;
}

static err_t *add_document(struct manifests *m, const struct ydoc_node *d, const char *path, size_t index)
{
	if (!ydoc_is_map(d))
		return err_new(EXIT_USAGE, "%s:%d: document %zu is not a Kubernetes object (a mapping)", path, d->line,
			       index);
	static const char *const required[] = { "apiVersion", "kind", "metadata.name" };
	for (size_t i = 0; i < 3; i++)
		if (!ydoc_str(ydoc_path(d, required[i])))
			return err_new(EXIT_USAGE, "%s:%d: document %zu has no %s", path, d->line, index, required[i]);
	json_t *obj = NULL;
	TRY(ydoc_to_json(d, path, &obj));
	const json_t *meta = json_object_get(obj, "metadata");
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	const json_t *nsj = json_object_get(meta, "namespace");
	const char *ns = json_string_value(nsj);
	err_t *e = NULL;
	/* scalars typed as numbers or booleans are not names */
	if (!kind || !name || !av || (nsj && !json_is_null(nsj) && !ns))
		e = err_new(EXIT_USAGE, "%s:%d: apiVersion, kind, metadata.name and metadata.namespace must be strings", path,
			    d->line);
	else if (!api_version_safe(av) || !path_safe(kind, "") || !path_safe(name, ".-:_") || (ns && *ns && !path_safe(ns, "-")))
		e = err_new(EXIT_USAGE, "%s:%d: apiVersion, kind, metadata.name or metadata.namespace has a character "
				   "Kubernetes does not allow there", path, d->line);
	if (e) {
		json_decref(obj);
		return e;
	}
	m->items = xrealloc(m->items, (m->n + 1) * sizeof *m->items);
	struct kobject *o = &m->items[m->n++];
	o->obj = obj;
	o->source = xasprintf("%s:%d", path, d->line);
	o->kind = kind;
	o->name = name;
	o->namespaced = kubeobj_namespaced(kind);
	o->resource = NULL;
	return NULL;
}

err_t *manifests_parse(const char *text, size_t len, const char *name, struct manifests *m)
{
	struct ydoc *y = NULL;
	TRY(ydoc_parse(text, len, name, &y));
	err_t *e = NULL;
	for (size_t i = 0; !e && i < y->ndocs; i++)
		if (y->docs[i] && !ydoc_is_null(y->docs[i]))
			e = add_document(m, y->docs[i], name, i + 1);
	ydoc_free(y);
	return e;
}

static err_t *load_file(const char *path, struct manifests *m)
{
	struct strbuf text = STRBUF_INIT;
	err_t *e = !strcmp(path, "-") ? fs_read_fd(STDIN_FILENO, MANIFEST_MAX, "<stdin>", &text)
				      : fs_read_file(path, MANIFEST_MAX, &text);
	if (!e)
		e = manifests_parse(sb_str(&text), text.len, path, m);
	sb_release(&text);
	return e;
}

static bool manifest_name(const char *n)
{
	size_t len = strlen(n);
	if (n[0] == '.')
		return false;
	static const char *const ext[] = { ".yaml", ".yml", ".json" };
	for (size_t i = 0; i < 3; i++) {
		size_t el = strlen(ext[i]);
		if (len > el && !strcmp(n + len - el, ext[i]))
			return true;
	}
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static err_t *load_dir(const char *dir, struct manifests *m)
{
	DIR *d = opendir(dir);
	if (!d)
		return err_errno(EXIT_USAGE, "--manifests %s", dir);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (manifest_name(de->d_name)) {
			names = xrealloc(names, (n + 1) * sizeof *names);
			names[n++] = xasprintf("%s/%s", dir, de->d_name);
		}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	err_t *e = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!e)
			e = load_file(names[i], m);
		free(names[i]);
	}
	free(names);
	return e;
}

err_t *manifests_load(const char *path, struct manifests *out)
{
	*out = (struct manifests){ 0 };
	struct stat st;
	err_t *e = NULL;
	if (strcmp(path, "-") && stat(path, &st))
		e = err_errno(EXIT_USAGE, "--manifests %s", path);
	else if (strcmp(path, "-") && S_ISDIR(st.st_mode))
		e = load_dir(path, out);
	else
		e = load_file(path, out);
	if (!e && !out->n)
		e = err_new(EXIT_USAGE, "--manifests %s: no Kubernetes objects (a directory's *.yaml, *.yml and *.json files are read)",
			    path);
	if (e)
		manifests_free(out);
	return e;
}

void manifests_free(struct manifests *m)
{
	for (size_t i = 0; i < m->n; i++) {
		json_decref(m->items[i].obj);
		free(m->items[i].source);
		free(m->items[i].resource);
	}
	free(m->items);
	*m = (struct manifests){ 0 };
}

const char *kobject_namespace(const struct kobject *o)
{
	const char *ns = json_string_value(json_object_get(json_object_get(o->obj, "metadata"), "namespace"));
	return o->namespaced && ns ? ns : "";
}

err_t *manifests_set_namespace(struct manifests *m, const char *ns, bool must_match)
{
	for (size_t i = 0; i < m->n; i++) {
		struct kobject *o = &m->items[i];
		if (!o->namespaced)
			continue;
		json_t *meta = json_object_get(o->obj, "metadata");
		const char *have = json_string_value(json_object_get(meta, "namespace"));
		if (have && *have) {
			if (must_match && strcmp(have, ns))
				return err_new(EXIT_USAGE,
					       "%s: %s %s is in namespace %s, not --namespace %s (remove one of the two)",
					       o->source, o->kind, o->name, have, ns);
			continue;
		}
		json_object_set_new(meta, "namespace", json_string(ns));
	}
	return NULL;
}

json_t *manifests_pod_spec(json_t *obj, const char *kind)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!strcmp(kind, "Pod"))
		return spec;
	if (!strcmp(kind, "CronJob"))
		spec = json_object_get(json_object_get(spec, "jobTemplate"), "spec");
	return json_object_get(json_object_get(spec, "template"), "spec");
}

static bool image_is(const char *image, const char *repo)
{
	struct image_ref r;
	err_t *e = imageref_parse(image, &r);
	if (e) {
		err_free(e);
		return false;
	}
	char *name = imageref_name(&r);
	bool same = !strcmp(name, repo);
	free(name);
	imageref_free(&r);
	return same;
}

static void add_pull_secret(json_t *spec, const char *secret)
{
	json_t *list = json_object_get(spec, "imagePullSecrets");
	if (!json_is_array(list)) {
		list = json_array();
		json_object_set_new(spec, "imagePullSecrets", list);
	}
	size_t i;
	json_t *it;
	json_array_foreach(list, i, it)
		if (json_is_string(json_object_get(it, "name")) &&
		    !strcmp(json_string_value(json_object_get(it, "name")), secret))
			return;
	json_array_append_new(list, json_pack("{s:s}", "name", secret));
}

/* Pin the matching containers of one pod spec; their count. */
static size_t pin_spec(json_t *spec, const char *repo, const char *container, const char *pinned,
		       struct strbuf *seen)
{
	size_t count = 0;
	static const char *const lists[] = { "initContainers", "containers" };
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(spec, lists[l]), i, c) {
			const char *name = json_string_value(json_object_get(c, "name"));
			const char *image = json_string_value(json_object_get(c, "image"));
			bool match = container ? name && !strcmp(name, container) : image && image_is(image, repo);
			if (!match) {
				sb_addf(seen, "%s%s=%s", seen->len ? ", " : "", name ? name : "?", image ? image : "?");
				if (image && !strstr(image, "@sha256:"))
					log_warn("container %s runs %s by tag: only %s is pinned and gated", name ? name : "?",
						 image, container ? container : repo);
				continue;
			}
			if (image && strcmp(image, pinned))
				log_info("container %s: image %s -> %s", name ? name : "?", image, pinned);
			json_object_set_new(c, "image", json_string(pinned));
			count++;
		}
	}
	return count;
}

err_t *manifests_pin(struct manifests *m, const char *repo, const char *container, const char *pinned,
		     const char *pull_secret, size_t *count)
{
	struct strbuf seen = STRBUF_INIT;
	*count = 0;
	for (size_t i = 0; i < m->n; i++) {
		json_t *spec = manifests_pod_spec(m->items[i].obj, m->items[i].kind);
		if (!json_is_object(spec))
			continue;
		size_t n = pin_spec(spec, repo, container, pinned, &seen);
		if (n && pull_secret && *pull_secret)
			add_pull_secret(spec, pull_secret);
		*count += n;
	}
	err_t *e = NULL;
	if (!*count && container)
		e = err_new(EXIT_USAGE, "no container named %s in the manifests (containers: %s)", container,
			    seen.len ? sb_str(&seen) : "none");
	else if (!*count)
		e = err_new(EXIT_USAGE, "no container in the manifests runs %s (containers: %s); give --container", repo,
			    seen.len ? sb_str(&seen) : "none");
	sb_release(&seen);
	return e;
}

void manifests_prepend(struct manifests *m, json_t *obj, const char *source)
{
	m->items = xrealloc(m->items, (m->n + 1) * sizeof *m->items);
	memmove(m->items + 1, m->items, m->n * sizeof *m->items);
	m->n++;
	struct kobject *o = &m->items[0];
	o->obj = obj;
	o->source = xstrdup(source);
	o->kind = json_string_value(json_object_get(obj, "kind"));
	o->name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	o->namespaced = kubeobj_namespaced(o->kind);
	o->resource = NULL;
}

size_t manifests_namespaces(const struct manifests *m, const char ***out)
{
	const char **list = xcalloc(m->n ? m->n : 1, sizeof *list);
	size_t n = 0;
	for (size_t i = 0; i < m->n; i++) {
		const char *ns = kobject_namespace(&m->items[i]);
		bool seen = !*ns;
		for (size_t j = 0; !seen && j < n; j++)
			seen = !strcmp(list[j], ns);
		if (!seen)
			list[n++] = ns;
	}
	*out = list;
	return n;
}

const char *manifests_app_namespace(const struct manifests *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (json_is_object(manifests_pod_spec(m->items[i].obj, m->items[i].kind)))
			return kobject_namespace(&m->items[i]);
	for (size_t i = 0; i < m->n; i++)
		if (m->items[i].namespaced)
			return kobject_namespace(&m->items[i]);
	return NULL;
}

char *kobject_path(const struct kobject *o)
{
	const char *av = json_string_value(json_object_get(o->obj, "apiVersion"));
	_cleanup_free_ char *res = o->resource ? xstrdup(o->resource) : kubeobj_plural(o->kind);
	return kubeobj_resource_path(av, res, kobject_namespace(o), o->name);
}
