/* image-policy --apply: the resources written, applied to the cluster the
 * kubeconfig names through deploy's API client (common/kubeapi,
 * server-side apply, as deploy applies its manifests), in order. */
#ifndef IMAGE_POLICY_APPLY_H
#define IMAGE_POLICY_APPLY_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

struct policy_apply_options {
	const char *kubeconfig, *context; /* as deploy's params */
	const char *field_manager;
	bool force;
	int retries;
};

/* Apply every document of docs (a JSON array); the first refusal stops
 * it, naming the object. */
err_t *policy_apply(const json_t *docs, const struct policy_apply_options *o);

#endif
