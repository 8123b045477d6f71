/* AdmissionReview parsing and answers (see review.h). */
#include "review.h"

#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "jsonutil.h"
#include "strbuf.h"
#include "xalloc.h"

/* where the pod spec sits in each kind that carries one */
static const struct {
	const char *kind;
	const char *const path[5];
} pod_spec_paths[] = {
	{ "Pod", { "spec" } },
	{ "Deployment", { "spec", "template", "spec" } },
	{ "StatefulSet", { "spec", "template", "spec" } },
	{ "DaemonSet", { "spec", "template", "spec" } },
	{ "ReplicaSet", { "spec", "template", "spec" } },
	{ "ReplicationController", { "spec", "template", "spec" } },
	{ "Job", { "spec", "template", "spec" } },
	{ "CronJob", { "spec", "jobTemplate", "spec", "template", "spec" } },
};

static const char *const container_lists[] = { "initContainers", "containers", "ephemeralContainers" };

static void add_image(struct review *r, const char *path, const char *image)
{
	r->images = xrealloc(r->images, (r->n + 1) * sizeof *r->images);
	r->images[r->n].path = xstrdup(path);
	r->images[r->n].image = image;
	r->n++;
}

static err_t *collect_images(struct review *r, const json_t *object)
{
	for (size_t k = 0; k < sizeof pod_spec_paths / sizeof *pod_spec_paths; k++) {
		if (strcmp(r->kind, pod_spec_paths[k].kind))
			continue;
		const json_t *spec = object;
		struct strbuf path = STRBUF_INIT;
		for (size_t i = 0; i < 5 && pod_spec_paths[k].path[i]; i++) {
			spec = json_object_get(spec, pod_spec_paths[k].path[i]);
			sb_addf(&path, "/%s", pod_spec_paths[k].path[i]);
			if (!json_is_object(spec)) {
				err_t *e = err_new(EXIT_USAGE, "AdmissionReview: %s object has no pod spec at %s", r->kind,
						   sb_str(&path));
				sb_release(&path);
				return e;
			}
		}
		for (size_t l = 0; l < 3; l++) {
			const json_t *list = json_object_get(spec, container_lists[l]);
			if (!list || json_is_null(list))
				continue;
			if (!json_is_array(list)) {
				err_t *e = err_new(EXIT_USAGE, "AdmissionReview: %s%s/%s is not a list", r->kind,
						   sb_str(&path), container_lists[l]);
				sb_release(&path);
				return e;
			}
			for (size_t i = 0; i < json_array_size(list); i++) {
				const json_t *image = json_object_get(json_array_get(list, i), "image");
				if (!json_is_string(image)) {
					err_t *e = err_new(EXIT_USAGE, "AdmissionReview: %s/%s/%zu has no image string",
							   sb_str(&path), container_lists[l], i);
					sb_release(&path);
					return e;
				}
				/* the runtime is given the whole string: a NUL would end
				 * the one checked here before the one pulled there */
				if (json_string_length(image) != strlen(json_string_value(image))) {
					err_t *e = err_new(EXIT_USAGE, "AdmissionReview: %s/%s/%zu image has a NUL character",
							   sb_str(&path), container_lists[l], i);
					sb_release(&path);
					return e;
				}
				char *p = xasprintf("%s/%s/%zu/image", sb_str(&path), container_lists[l], i);
				add_image(r, p, json_string_value(image));
				free(p);
			}
		}
		sb_release(&path);
		return NULL;
	}
	return NULL; /* a kind without pods: nothing to check */
}

static const char *opt_string(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

err_t *review_parse(const char *body, size_t len, struct review *out)
{
	memset(out, 0, sizeof *out);
	json_t *root;
	TRY(json_parse(body, len, "AdmissionReview", &root));
	out->root = root;
	const char *api, *kind;
	json_t *req, *gvk;
	err_t *e = json_get_string(root, "apiVersion", "AdmissionReview", &api);
	if (!e && strcmp(api, "admission.k8s.io/v1"))
		e = err_new(EXIT_USAGE, "AdmissionReview: apiVersion '%s' is not admission.k8s.io/v1", api);
	if (!e)
		e = json_get_string(root, "kind", "AdmissionReview", &kind);
	if (!e && strcmp(kind, "AdmissionReview"))
		e = err_new(EXIT_USAGE, "AdmissionReview: kind '%s' is not AdmissionReview", kind);
	if (!e)
		e = json_get_object(root, "request", "AdmissionReview", &req);
	if (!e)
		e = json_get_string(req, "uid", "AdmissionReview.request", &out->uid);
	if (!e && !*out->uid)
		e = err_new(EXIT_USAGE, "AdmissionReview.request.uid is empty");
	if (!e)
		e = json_get_string(req, "operation", "AdmissionReview.request", &out->operation);
	if (!e)
		e = json_get_object(req, "kind", "AdmissionReview.request", &gvk);
	if (!e)
		e = json_get_string(gvk, "kind", "AdmissionReview.request.kind", &out->kind);
	if (e) {
		review_free(out);
		return e;
	}
	out->namespace = opt_string(req, "namespace");
	out->name = opt_string(req, "name");
	const json_t *object = json_object_get(req, "object");
	if (!object || json_is_null(object))
		return NULL; /* DELETE, CONNECT: no object to check */
	if (!json_is_object(object))
		e = err_new(EXIT_USAGE, "AdmissionReview.request.object is not an object");
	if (!e)
		e = collect_images(out, object);
	if (e)
		review_free(out);
	return e;
}

void review_free(struct review *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->images[i].path);
	free(r->images);
	json_decref(r->root);
	memset(r, 0, sizeof *r);
}

char *review_response(const char *uid, bool allowed, const char *message, const json_t *patch)
{
	json_t *resp = json_pack("{s:s, s:b}", "uid", uid, "allowed", allowed);
	if (!allowed || message) {
		json_t *status = json_pack("{s:i, s:s}", "code", allowed ? 200 : 403, "message", message ? message : "");
		if (!status) /* not UTF-8: the verdict stands, its words do not */
			status = json_pack("{s:i, s:s}", "code", allowed ? 200 : 403, "message",
					   "(the reason is not valid UTF-8; see the server's log)");
		json_object_set_new(resp, "status", status);
	}
	if (patch && json_array_size(patch)) {
		char *text = json_dumps(patch, JSON_COMPACT);
		struct strbuf b = STRBUF_INIT;
		b64_encode(text, strlen(text), &b);
		json_object_set_new(resp, "patchType", json_string("JSONPatch"));
		json_object_set_new(resp, "patch", json_string(sb_str(&b)));
		sb_release(&b);
		free(text);
	}
	json_t *review = json_pack("{s:s, s:s, s:o}", "apiVersion", "admission.k8s.io/v1", "kind", "AdmissionReview",
				   "response", resp);
	char *out = json_dumps(review, JSON_COMPACT);
	json_decref(review);
	return out;
}
