/* What image-admission answers: the routes (/validate, /mutate, /healthz,
 * /readyz), each AdmissionReview decided under the current policy with
 * verify.c's verdicts, a JSONPatch pinning every image to its verified
 * digest on /mutate, and one JSON access-log line per request. The policy
 * is swapped whole on reload; requests in progress keep the one they
 * started with. */
#ifndef IMAGE_ADMISSION_ADMIT_H
#define IMAGE_ADMISSION_ADMIT_H

#include <stdint.h>

#include "error.h"
#include "httpreq.h"
#include "admission_policy.h"
#include "server.h"
#include "verify.h"

struct admit;

/* Takes policy (loaded from policy_path, read again on admit_reload). */
struct admit *admit_new(struct verifier *v, struct admission_policy *policy, const char *policy_path, int64_t deadline_ms);
void admit_free(struct admit *a);
/* For /readyz: false once the server stops accepting. */
void admit_set_server(struct admit *a, struct server *s);
/* Read the policy file again; on error the current one stays. */
err_t *admit_reload(struct admit *a);

/* server_handler_fn: a review whose images are all decided from the cache
 * (or by the policy) is answered at once; one that needs a verification
 * is deferred and answered when its verifications are in or at its
 * deadline, holding no worker meanwhile. */
bool admit_handle(void *ctx, const struct httpreq *req, const char *remote, struct server_call *call,
		  struct server_response *resp);

#endif
