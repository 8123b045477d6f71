/* A Tekton v1 Pipeline read from YAML, its Tasks resolved (taskRef.name
 * from the Tasks given, or an embedded taskSpec), checked against
 * Tekton's Pipeline validation (pkg/apis/pipeline/v1
 * pipeline_validation.go, docs/pipelines.md) before anything runs:
 *
 *   - apiVersion/kind, metadata.name a DNS-1123 subdomain of at most 63
 *     (Tekton's validate.ObjectMetadata); fields we do
 *     not implement are refused, never ignored;
 *   - pipeline task names DNS-1123 labels, unique across tasks and
 *     finally; taskRef or taskSpec, not both; params of a pipeline task
 *     unique, every Task param without a default given;
 *   - params declared as in a Task (types, defaults of the type), every
 *     $(params.x) declared; $(context.x) one of pipelineRun.name,
 *     namespace, uid, pipeline.name, pipelineTask.retries;
 *     $(workspaces.w.bound) a declared workspace;
 *   - $(tasks.t.results.r): t a task of spec.tasks (not finally, not
 *     itself), r a result its Task declares; $(tasks.t.status) and
 *     $(tasks.status) only in finally;
 *   - runAfter naming tasks of spec.tasks (never in finally), no cycle
 *     through runAfter and result references;
 *   - a pipeline task's workspaces bound to declared Pipeline workspaces,
 *     every non-optional workspace of its Task bound;
 *   - when: operator in or notin, values not empty (cel is refused);
 *     retries >= 0; timeouts Go durations.
 *
 * Errors are EXIT_USAGE "file:line: the rule broken". */
#ifndef PIPELINE_RUN_PIPELINEDEF_H
#define PIPELINE_RUN_PIPELINEDEF_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "taskdef.h"

struct pl_param {
	char *name;
	struct tk_value value; /* as written, substituted when the task starts */
	int line;
};

struct pl_binding {
	char *name;      /* the Task's workspace */
	char *workspace; /* the Pipeline's */
	char *sub_path;  /* NULL: none */
	int line;
};

struct pl_when {
	char *input;
	bool in; /* in, else notin */
	struct tk_strs values;
	int line;
};

struct pl_workspace {
	char *name;
	bool optional;
	int line;
};

struct pl_result {
	char *name;
	struct tk_value value;
	int line;
};

struct pl_task {
	char *name;
	bool finally;
	struct tk_task task; /* the resolved Task (a copy for taskRef) */
	bool embedded;       /* a taskSpec: it sees the Pipeline's params (propagation) */
	bool missing;        /* a taskRef to a Task not given (allow_missing): task has its name only */
	struct pl_param *params;
	size_t nparams;
	struct pl_binding *workspaces;
	size_t nworkspaces;
	struct pl_when *when;
	size_t nwhen;
	int retries;
	long long timeout_ms; /* 0: none of its own */
	/* the DAG: parents by runAfter and by result references (indexes
	 * into pipeline.tasks); result_parent[i] says the latter */
	size_t *parents;
	bool *result_parent;
	size_t nparents;
	int line;
};

struct pipeline {
	char *file;
	char *name;
	struct tk_param *params;
	size_t nparams;
	struct pl_workspace *workspaces;
	size_t nworkspaces;
	struct pl_result *results;
	size_t nresults;
	struct pl_task *tasks; /* spec.tasks then spec.finally */
	size_t ntasks, nfinally;
};

/* Load the Pipeline in path (a multi-document file may hold its Tasks
 * too) with the Tasks in task_paths (files or directories of *.yaml /
 * *.yml; documents of other kinds are ignored there). A taskRef to a
 * Task not given is an error, unless allow_missing: then the task is
 * marked missing (what it passes and binds is not checked against its
 * Task; references to its results are accepted) and never runs. */
err_t *pipelinedef_load(const char *path, const char *const *task_paths, size_t ntask_paths, bool allow_missing,
                        struct pipeline *out);
/* The same from text (the fuzz target); tasks come from the same text. */
err_t *pipelinedef_parse(const char *text, size_t len, const char *file, struct pipeline *out);
void pipelinedef_free(struct pipeline *p);

const struct pl_task *pipelinedef_task(const struct pipeline *p, const char *name);
/* A Go duration ("1h30m", "90s", "500ms", "0") in milliseconds. */
bool pipelinedef_duration(const char *s, long long *ms);

#endif
