/* One TaskRun, start to end: a run directory (results, home, scripts),
 * the Pod (pod.h) built and checked, each step run in order by a runtime
 * (direct: our static binary on the host; crun: the step's image in an
 * OCI container), a failed step ending the run unless its onError is
 * continue (later steps are skipped, as Tekton does), then the results
 * read from the results directory, held to Tekton's 4096-byte budget.
 *
 * A PipelineRun runner (issue 19) calls taskrun_execute once per
 * PipelineTask with the params its results resolved to and the shared
 * workspace directories; the outcome carries what `when`, `finally` and
 * $(tasks.t.results.r) need. */
#ifndef PIPELINE_RUN_TASKRUN_H
#define PIPELINE_RUN_TASKRUN_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "pod.h"

enum taskrun_runtime { RUNTIME_DIRECT, RUNTIME_CRUN };

/* --image-map IMAGE=TARGET: direct: TARGET is the binary to run for the
 * image; crun: "oci:DIR[:TAG]", "oci-archive:FILE[:TAG]" or "dir:ROOTFS". */
struct image_map {
	char *image;
	char *target;
};

struct taskrun_options {
	enum taskrun_runtime runtime;
	const char *bin_dir;  /* direct: where our binaries are looked up first (then PATH) */
	const struct image_map *images;
	size_t nimages;
	const char *work_dir; /* the run directory goes under it; NULL: $TMPDIR or /tmp */
	const char *cache_dir; /* crun: unpacked images, by manifest digest */
	const char *registry_ca_file; /* crun: pulling images */
	bool registry_insecure;
	const char *logs_dir; /* step output to <logs_dir>/<taskrun>/<step>.log; NULL: our stderr */
	bool keep;            /* keep the run directory (its path is logged) */
};

enum step_state { STEP_NOT_RUN, STEP_SUCCEEDED, STEP_FAILED, STEP_SKIPPED };

struct taskrun_step {
	char *name;
	enum step_state state;
	int exit_code;
};

struct taskrun_result {
	char *name;
	char *value; /* as written: a string, or the JSON of an array/object */
};

struct taskrun_outcome {
	bool succeeded;
	int exit_code;  /* the failing step's exit code (0 on success) */
	char *reason;   /* Tekton's condition reason: Succeeded, Failed, TaskRunResultLargerThanAllowedLimit */
	char *message;
	struct taskrun_step *steps;
	size_t nsteps;
	struct taskrun_result *results;
	size_t nresults;
};

/* Run it. An error means the TaskRun could not run (invalid Task or
 * TaskRun: EXIT_USAGE with file:line; the runtime failing); a step that
 * fails is a failed outcome, not an error. */
err_t *taskrun_execute(const struct taskrun_input *in, const struct taskrun_options *o, struct taskrun_outcome *out);
void taskrun_outcome_free(struct taskrun_outcome *out);
/* The Pod a TaskRun would get, as JSON (validated; nothing runs). */
err_t *taskrun_pod_json(const struct taskrun_input *in, json_t **out);

#endif
