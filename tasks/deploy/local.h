/* deploy --target=local: the app's Deployment run on this machine, no
 * cluster. The pinned image is pulled by digest (common/imagepull) into
 * the image cache and its container (localspec.h) runs with crun in the
 * host's network, detached: a small supervisor (a fork of deploy, in its
 * own session) runs `crun run` and records the container's exit status,
 * so that deploy can report a crash, and the container outlives deploy.
 * deploy waits for the readiness probe (httpGet, tcpSocket or exec; none:
 * ready once running), and fails with the container's exit status and the
 * tail of its log when it ends first.
 *
 * State, per Deployment name, in the local state dir (statedir.h rules:
 * a real directory, ours, not writable by group or others; else refused
 * before anything runs):
 *   <state>/crun/           crun's --root
 *   <state>/<name>/lock     held by the supervisor while the container lives
 *   <state>/<name>/bundle/  the OCI bundle (config.json; the root is the cache's)
 *   <state>/<name>/log      the container's stdout and stderr
 *   <state>/<name>/exit     its exit status once it ended
 *   <state>/<name>/revision how many deploys of this name succeeded
 * Unprivileged, crun runs rootless (a user namespace maps the container's
 * uid to ours), except on hosts with hybrid cgroups, which crun refuses
 * and only root can hide from it: there deploy fails before pulling,
 * saying so.
 * A deploy of a name that runs replaces it (stopped first: the new one
 * needs its ports); a port still answering then belongs to another
 * process and the deploy fails before anything runs (a probe it answered
 * would prove nothing). --stop stops and removes it. */
#ifndef DEPLOY_LOCAL_H
#define DEPLOY_LOCAL_H

#include <stdint.h>

#include "error.h"
#include "localspec.h"
#include "registry.h"

struct local_options {
	const char *state_dir; /* NULL: local_state_dir_default() */
	const char *cache_dir; /* NULL: local_cache_dir_default() */
	int64_t timeout_ms;    /* for the readiness probe */
};

struct local_outcome {
	char *url;      /* http://127.0.0.1:<containerPort>, or NULL without a port */
	char *revision; /* "1", "2", ... */
};

/* Run s (local_spec_find: found in the manifests before the gate, so
 * that what a local run cannot honour fails at once), its image (pinned
 * by digest) pulled from reg. */
err_t *local_deploy(struct local_spec *s, struct registry *reg, const char *digest, const struct local_options *o,
		    struct local_outcome *out);
/* Stop and remove the local instance of Deployment name; *was_running. */
err_t *local_stop(const char *name, const struct local_options *o, bool *was_running);
void local_outcome_free(struct local_outcome *out);

/* root: /run/deploy-local; others: $XDG_RUNTIME_DIR/deploy-local, else
 * /tmp/deploy-local-<uid>. */
char *local_state_dir_default(void);
/* $XDG_CACHE_HOME/deploy/images, else ~/.cache/deploy/images, else
 * /var/cache/deploy/images. */
char *local_cache_dir_default(void);

#endif
