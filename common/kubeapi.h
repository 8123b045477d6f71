/* A small Kubernetes REST API client over common/http, authenticated as a
 * kubeconfig says (bearer token, client certificate, basic; the cluster's
 * CA or insecure-skip-tls-verify): JSON requests, server-side apply and
 * watch streams. Paths are API paths ("/apis/apps/v1/namespaces/ns/
 * deployments/web"), optionally with a query.
 *
 * A non-2xx answer becomes an error whose message carries the server's
 * Status message ("PATCH /apis/...: HTTP 409: Apply failed with 1
 * conflict: ..."): 401/403 are EXIT_AUTH (ERR_KIND_AUTH), 404 EXIT_FAILED
 * ERR_KIND_NOT_FOUND, 409/422 EXIT_FAILED ERR_KIND_REJECTED, 429/5xx after
 * the retries EXIT_UNREACHABLE; an unreachable server is EXIT_UNREACHABLE
 * (common/http's retries with backoff on resets and 5xx). */
#ifndef COMMON_KUBEAPI_H
#define COMMON_KUBEAPI_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "kubeconfig.h"

struct kubeapi_options {
	int retries;           /* extra attempts on resets, 429, 5xx */
	long timeout_ms;       /* per request (watches excepted); 0: 30000 */
	long connect_timeout_ms; /* 0: common/http's default */
	long backoff_initial_ms; /* 0: common/http's default */
};

struct kubeapi;

err_t *kubeapi_new(const struct kubeconfig *kc, const struct kubeapi_options *opts, struct kubeapi **out);
void kubeapi_free(struct kubeapi *k);
const char *kubeapi_server(const struct kubeapi *k);

/* method path with an optional body (content_type NULL: application/json).
 * *out (may be NULL) gets the parsed JSON answer of a 2xx, or NULL when
 * the body is empty. */
err_t *kubeapi_request(struct kubeapi *k, const char *method, const char *path, const char *content_type,
		       const char *body, size_t len, json_t **out);
err_t *kubeapi_get(struct kubeapi *k, const char *path, json_t **out);
/* POST a JSON object to a collection. */
err_t *kubeapi_create(struct kubeapi *k, const char *collection, const json_t *obj, json_t **out);
err_t *kubeapi_delete(struct kubeapi *k, const char *path);
/* PATCH with a content type: application/merge-patch+json,
 * application/json-patch+json, application/strategic-merge-patch+json. */
err_t *kubeapi_patch(struct kubeapi *k, const char *path, const char *content_type, const json_t *patch,
		     json_t **out);
/* Server-side apply of obj to its object path (PATCH
 * application/apply-patch+yaml, JSON being YAML), as field_manager, with
 * force taking over fields another manager owns. */
err_t *kubeapi_apply(struct kubeapi *k, const char *path, const json_t *obj, const char *field_manager, bool force,
		     json_t **out);

/* Watch events: type is ADDED, MODIFIED, DELETED or BOOKMARK (ERROR
 * events become an error of kubeapi_watch); obj is borrowed. Set *stop to
 * end the watch. */
typedef err_t *(*kubeapi_watch_fn)(const char *type, json_t *obj, void *ctx, bool *stop);

/* Watch a collection (path may carry a query such as
 * fieldSelector=metadata.name%3Dweb) from resource_version (NULL: now),
 * with bookmarks, for at most timeout_s seconds (the server ends the
 * stream then). *stopped says whether fn stopped it (false: the server
 * ended it; the caller may watch again from the last resourceVersion). */
err_t *kubeapi_watch(struct kubeapi *k, const char *path, const char *resource_version, long timeout_s,
		     kubeapi_watch_fn fn, void *ctx, bool *stopped);

/* The error for a non-2xx answer (see above); what: "GET /api/...". */
err_t *kubeapi_status_error(long status, const char *body, size_t len, const char *what);

#endif
