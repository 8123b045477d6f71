/* The two ways a step runs.
 *
 * direct: the step's program is one of our static binaries, found by name
 * in --bin-dir, then PATH: argv[0] "/task" (our images' entrypoint) names
 * the image's repository ("ghcr.io/x/git-clone@sha256:..." -> git-clone),
 * any other argv[0] its basename; --image-map IMAGE=BINARY overrides. It
 * runs on the host as we are, in the Pod's layout seen from the host (the
 * paths substituted are the bound directories: pod.h's host view; a
 * workspace mounted under /tekton/home becomes a link in the run's home),
 * with only the Pod's environment (plus PATH, the results directory in
 * PIPELINE_RESULTS_DIR, and sanitizer options): no isolation, the fastest.
 * A script step has no program of ours: it needs crun.
 *
 * crun: the step's image unpacked (common/imageroot) as a read-only root, in
 * new PID, mount, IPC and UTS namespaces (the host's network: the test
 * servers are on loopback), as the securityContext's user (else the
 * image's), no capabilities unless added, no new privileges, a seccomp
 * filter for RuntimeDefault (Docker's default deny list), Docker's masked
 * and read-only /proc paths, /tekton/results, /tekton/home, /tekton/scripts
 * and the workspaces bind-mounted. */
#ifndef PIPELINE_RUN_RUNTIME_H
#define PIPELINE_RUN_RUNTIME_H

#include "error.h"
#include "ocibundle.h"
#include "pod.h"
#include "subprocess.h"
#include "taskrun.h"

struct step_run {
	const struct pod *pod; /* in the runtime's view */
	const struct pod_step *step;
	const struct taskrun_options *o;
	const char *run_dir; /* the TaskRun's directory (bundles go here) */
	int out_fd;          /* the step's stdout and stderr */
};

err_t *direct_prepare(const struct pod *host_pod, const char *home);
/* A step's argv and env (NULL: none) against the kernel's limit on one
 * argument or variable (execve's E2BIG names neither): which one, how
 * long, what to do instead. */
err_t *step_check_arg_lengths(char *const *argv, char *const *env);
err_t *direct_run(const struct step_run *r, int *exit_code);
err_t *crun_run(const struct step_run *r, int *exit_code);

/* The target --image-map gives image, or NULL. */
const char *image_map_find(const struct taskrun_options *o, const char *image);

#endif
