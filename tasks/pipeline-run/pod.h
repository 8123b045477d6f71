/* The Pod the Tekton controller would build for a TaskRun: one container
 * per step ("step-<name>") with params, workspaces, results and context
 * substituted; volumes for /tekton/results, /tekton/home (HOME),
 * /tekton/scripts and each bound workspace (/workspace/<name> or its
 * mountPath; Secret-backed and readOnly workspaces read-only); checked
 * against the Kubernetes Pod validation rules a cluster would apply
 * (apis/core/validation: DNS-1123 names, env var names, secret refs,
 * volume mounts, securityContext) and Tekton's (every referenced variable
 * exists, required params given, param types).
 *
 * Paths have two views: the Pod's ("/workspace/source", what a container
 * sees and what --print-pod shows) and the host's (the directories bound
 * to them), which the direct runtime substitutes since it runs the step's
 * binary on the host. */
#ifndef PIPELINE_RUN_POD_H
#define PIPELINE_RUN_POD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "error.h"
#include "taskdef.h"

/* What a TaskRun gives the Task. */
struct tr_param {
	char *name;
	struct tk_value value;
};

struct tr_binding {
	char *name; /* workspace, or a Secret for env valueFrom.secretKeyRef */
	char *dir;
	bool secret; /* a Secret: mounted read-only */
};

struct taskrun_input {
	const struct tk_task *task;
	const char *name;      /* the TaskRun's name: context.taskRun.name */
	const char *namespace; /* context.taskRun.namespace */
	const char *uid;       /* context.taskRun.uid */
	int retry_count;       /* context.task.retry-count */
	const struct tr_param *params;
	size_t nparams;
	const struct tr_binding *workspaces;
	size_t nworkspaces;
	const struct tr_binding *secrets; /* env valueFrom.secretKeyRef sources */
	size_t nsecrets;
};

/* Where Tekton puts things in a step's container. */
#define POD_RESULTS_PATH "/tekton/results"
#define POD_HOME_PATH "/tekton/home"
#define POD_SCRIPTS_PATH "/tekton/scripts"

struct pod_mount {
	char *path; /* inside the Pod */
	char *host; /* the directory bound there */
	char *volume; /* volume name */
	bool read_only;
};

struct pod_env {
	char *name;
	char *value;
	bool secret; /* from a Secret: never printed */
};

struct pod_step {
	char *container; /* "step-<name>" */
	const struct tk_step *def;
	char *image;
	char **argv; /* command + args; NULL-terminated; argv[0] NULL: the image's entrypoint */
	size_t argc;
	size_t ncommand; /* argv[0..ncommand) is the command, the rest its args */
	char *working_dir; /* NULL: the image's */
	struct pod_env *env;
	size_t nenv;
	char *script; /* the script file's contents, or NULL */
	/* the effective securityContext (stepTemplate merged under the step's) */
	bool run_as_non_root, allow_privilege_escalation, read_only_root, privileged;
	long long run_as_user, run_as_group; /* -1: the image's */
	const struct tk_strs *cap_drop, *cap_add;
	const char *seccomp; /* NULL, RuntimeDefault, Unconfined or Localhost */
	bool on_error_continue;
};

struct pod {
	char *name; /* "<taskrun>-pod" */
	char *file; /* the Task's file, for messages */
	struct pod_mount *mounts;
	size_t nmounts;
	struct pod_step *steps;
	size_t nsteps;
};

enum pod_view { POD_VIEW_POD, POD_VIEW_HOST };

/* The directories a run needs on the host. */
struct pod_dirs {
	const char *results; /* /tekton/results */
	const char *home;    /* /tekton/home */
	const char *scripts; /* /tekton/scripts */
	const char *volumes; /* the Task's emptyDir volumes: volumes/<name> */
};

/* A TaskRun's name, checked before anything is built from it (its
 * directory, --logs-dir/<name>): a DNS-1123 subdomain (Kubernetes) of at
 * most 63 characters (Tekton's webhook); EXIT_USAGE otherwise. */
err_t *pod_check_name(const char *taskrun);
/* Build the Pod (substituting in `view`) and check it (pod_check_name too). EXIT_USAGE errors
 * carry the Task's file:line and the rule. */
err_t *pod_build(const struct taskrun_input *in, const struct pod_dirs *dirs, enum pod_view view, struct pod *out);
void pod_free(struct pod *p);
/* The Pod as Kubernetes JSON (what `kubectl get pod -o json` shows of a
 * TaskRun's pod: metadata, volumes, containers). */
json_t *pod_to_json(const struct pod *p, const struct taskrun_input *in);
/* The mount at which path lies (deepest), or NULL. */
const struct pod_mount *pod_mount_of(const struct pod *p, const char *path);

#endif
