/* A PipelineRun here, as Tekton's controller runs one (docs/pipelines.md,
 * pkg/reconciler/pipelinerun/resources/pipelinerunresolution.go):
 *
 * - every pipeline task is a TaskRun "<run>-<task>" (taskrun_execute),
 *   in a child process of its own (its own process group: a timeout
 *   kills the steps too), at most `jobs` at a time, each started once its
 *   parents (runAfter and result references) are done;
 * - its params are the pipeline task's, substituted with the Pipeline's
 *   params (given, else defaults), $(context.pipelineRun.*|pipeline.name|
 *   pipelineTask.retries) and $(tasks.t.results.r) (arrays and objects
 *   whole with [*], by [N] or .key); an embedded taskSpec also sees the
 *   Pipeline's params it does not declare (Tekton's propagated params);
 * - skipping, in Tekton's order: once a task failed (or a timeout
 *   passed) nothing new starts ("StoppingSkip", "PipelineTimedOutSkip",
 *   "TasksTimedOutSkip"); a task whose parent was skipped for any reason
 *   but its own when expressions is skipped ("ParentTasksSkip"); a task
 *   using a result of a task that did not succeed is skipped
 *   ("MissingResultsSkip"); a task whose when expressions are false is
 *   skipped ("WhenExpressionsSkip") and that guards the task only: tasks
 *   ordered after it by runAfter still run;
 * - finally tasks run after all the others, whatever happened, with
 *   $(tasks.status) (Succeeded, Failed, Completed, None) and
 *   $(tasks.t.status) (Succeeded, Failed, None);
 * - retries: a failed TaskRun runs again up to `retries` times
 *   ($(context.task.retry-count) counts); a pipeline task's timeout
 *   fails the attempt ("TaskRunTimeout");
 * - the PipelineRun: Succeeded, Completed (some skipped), Failed, or
 *   PipelineRunTimeout, and the Pipeline's results. */
#ifndef PIPELINE_RUN_PIPELINERUN_H
#define PIPELINE_RUN_PIPELINERUN_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "error.h"
#include "pipelinedef.h"
#include "pod.h"
#include "taskrun.h"

struct pipelinerun_options {
	const char *name, *namespace, *uid;
	const struct tr_param *params; /* given; the rest take their defaults */
	size_t nparams;
	const struct tr_binding *workspaces; /* unbound non-optional ones get a temporary directory */
	size_t nworkspaces;
	const struct tr_binding *secrets; /* env valueFrom.secretKeyRef sources */
	size_t nsecrets;
	const struct taskrun_options *taskrun; /* runtime, logs, images...; work_dir and keep too */
	int jobs;
	long long timeout_ms, tasks_timeout_ms, finally_timeout_ms; /* 0: none */
	FILE *progress;                                             /* NULL: quiet */
	bool live;                                                  /* progress redrawn in place (a terminal) */
};

enum pr_state { PR_WAITING, PR_RUNNING, PR_SUCCEEDED, PR_FAILED, PR_SKIPPED };

struct pr_task {
	const struct pl_task *def;
	enum pr_state state;
	char *taskrun;
	char *reason; /* Succeeded, Failed, TaskRunTimeout, ...Skip */
	char *message;
	int attempts; /* TaskRuns started */
	long long start_ms, end_ms;
	struct taskrun_outcome out; /* of the last attempt */
	/* while running */
	int pid;
	long long deadline_ms;
	bool killed;
	const char *kill_reason;
};

struct pipelinerun_outcome {
	bool succeeded;
	char *reason; /* Succeeded, Completed, Failed, PipelineRunTimeout */
	char *message;
	struct pr_task *tasks; /* as pipeline.tasks */
	size_t ntasks;
	struct taskrun_result *results;
	size_t nresults;
	long long duration_ms;
};

/* Run it. An error means it could not run (EXIT_USAGE: params or
 * workspaces given that the Pipeline does not take); failed tasks are a
 * failed outcome. */
err_t *pipelinerun_execute(const struct pipeline *p, const struct pipelinerun_options *o,
                           struct pipelinerun_outcome *out);
json_t *pipelinerun_json(const struct pipeline *p, const struct pipelinerun_options *o,
                         const struct pipelinerun_outcome *out);
/* The table of tasks: status, reason, duration, results. */
void pipelinerun_summary(FILE *f, const struct pipelinerun_outcome *out);
void pipelinerun_outcome_free(struct pipelinerun_outcome *out);

#endif
