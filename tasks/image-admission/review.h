/* AdmissionReview v1 (admission.k8s.io/v1) as the API server sends it to
 * a webhook: the request's uid, operation, namespace and object, and the
 * image of every container, init container and ephemeral container of the
 * pod spec it carries (a Pod, or the pod template of a Deployment,
 * StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job or
 * CronJob), each with the JSON pointer a patch replaces it at. And the
 * AdmissionReview response: allowed or denied with a message, with an
 * optional JSONPatch. Bodies come from the network: every malformed one
 * is an EXIT_USAGE error saying what is wrong (the server answers 400). */
#ifndef IMAGE_ADMISSION_REVIEW_H
#define IMAGE_ADMISSION_REVIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct review_image {
	char *path;        /* JSON pointer of the image string in the object */
	const char *image; /* borrowed from the review's JSON */
};

struct review {
	json_t *root;
	const char *uid, *operation, *kind, *namespace, *name; /* borrowed; name/namespace may be "" */
	struct review_image *images;
	size_t n;
};

err_t *review_parse(const char *body, size_t len, struct review *out);
void review_free(struct review *r);

/* The AdmissionReview answering uid (caller frees). message may be NULL;
 * a denial carries it as status.message with status.code 403. patch (a
 * JSON array, borrowed) is sent as a base64 JSONPatch when non-empty. */
char *review_response(const char *uid, bool allowed, const char *message, const json_t *patch);

#endif
