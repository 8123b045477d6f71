/* Waiting for a Deployment's rollout the way `kubectl rollout status` does
 * (watching, not polling), saying why it failed, and rolling it back; and
 * waiting for its pods to be Ready. Shared by deploy and check-health. */
#ifndef COMMON_ROLLOUT_H
#define COMMON_ROLLOUT_H

#include <stdbool.h>

#include "error.h"
#include "kubeapi.h"

/* kubectl's rule on a Deployment or StatefulSet object: true when done;
 * *failed (with a reason in *why, caller frees) when a Deployment's
 * Progressing=False ProgressDeadlineExceeded; otherwise *why says what it
 * waits for. */
bool rollout_done(const json_t *deploy, bool *failed, char **why);

/* Wait up to timeout_ms for the Deployment or StatefulSet (kind) ns/name.
 * *revision (caller frees) gets a Deployment's
 * deployment.kubernetes.io/revision, a StatefulSet's updateRevision. A
 * failed or timed-out rollout is EXIT_FAILED with the reason, the pods'
 * waiting or termination reasons and the last events. */
err_t *rollout_wait(struct kubeapi *k, const char *kind, const char *ns, const char *name, long timeout_ms,
		    char **revision);

/* Restore the pod template of the revision before the current one of the
 * Deployment or StatefulSet (kind) ns/name, as `kubectl rollout undo`:
 * from the ReplicaSets or ControllerRevisions it controls (owner uid, not
 * only the selector); *to_revision (caller frees) names it. No previous
 * revision is an EXIT_FAILED error. */
err_t *rollout_undo(struct kubeapi *k, const char *kind, const char *ns, const char *name, char **to_revision);

/* Wait up to timeout_ms (by watch) until at least spec.replicas pods
 * matching Deployment ns/name's selector are Ready (condition
 * Ready=True); a timeout is EXIT_FAILED naming how many are, the pods'
 * waiting reasons and the last events. */
err_t *rollout_wait_pods_ready(struct kubeapi *k, const char *ns, const char *name, long timeout_ms);

#endif
