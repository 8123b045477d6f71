/* pipeline-run: run Tekton resources on this machine, as a cluster would.
 * `pipeline-run taskrun -f task.yaml -p k=v -w name=dir`: read the Task,
 * build and check the Pod Tekton would make of the TaskRun, run its steps
 * (directly, or in their images with crun), print the TaskRun's status
 * and results, and exit with its failing step's code. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "log.h"
#include "task.h"
#include "taskdef.h"
#include "taskrun.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "file", PARAM_STRING, NULL, true, false, "the Task YAML (tekton.dev/v1 kind Task); -f" },
	{ "param", PARAM_LIST, NULL, false, false, "NAME=VALUE; JSON for array and object params; -p" },
	{ "workspace", PARAM_LIST, NULL, false, false, "NAME=DIR: bind the Task's workspace to a directory; -w" },
	{ "secret-workspace", PARAM_LIST, NULL, false, false, "NAME=DIR: a workspace from a Secret (read-only)" },
	{ "secret", PARAM_LIST, NULL, false, false, "NAME=DIR: the Secret NAME for env valueFrom.secretKeyRef, one file per key" },
	{ "runtime", PARAM_STRING, "direct", false, false, "direct (our static binaries on the host) or crun (the step's image)" },
	{ "bin-dir", PARAM_STRING, NULL, false, false, "direct: where the task binaries are, before PATH" },
	{ "image-map", PARAM_LIST, NULL, false, false, "IMAGE=TARGET: direct: a binary; crun: oci:DIR[:TAG], oci-archive:FILE or dir:ROOTFS" },
	{ "name", PARAM_STRING, NULL, false, false, "the TaskRun's name (context.taskRun.name); default: <task>-run" },
	{ "namespace", PARAM_STRING, "default", false, false, "context.taskRun.namespace" },
	{ "work-dir", PARAM_STRING, NULL, false, false, "where the TaskRun's directory (results, home) goes; default: $TMPDIR" },
	{ "cache-dir", PARAM_STRING, NULL, false, false, "crun: unpacked images; default: $XDG_CACHE_HOME/pipeline-run or ~/.cache/pipeline-run" },
	{ "registry-ca-file", PARAM_STRING, NULL, false, false, "crun: PEM CAs to trust when pulling step images" },
	{ "registry-insecure", PARAM_BOOL, "false", false, false, "crun: pull step images over plain http / without TLS checks" },
	{ "logs-dir", PARAM_STRING, NULL, false, false, "each step's output to DIR/<taskrun>/<step>.log; default: stderr" },
	{ "keep", PARAM_BOOL, "false", false, false, "keep the TaskRun's directory" },
	{ "print-pod", PARAM_BOOL, "false", false, false, "print the Pod (JSON) the TaskRun gets, checked, and run nothing" },
	{ NULL },
};

static const struct result_spec results[] = {
	{ "status", "Succeeded or Failed" },
	{ "taskrun-results", "the TaskRun's results, a JSON object" },
	{ NULL },
};

static const struct task_spec spec = {
	"pipeline-run",
	"Run a Tekton TaskRun here: the Pod a cluster would build, checked, its steps run directly or with crun.",
	params,
	results,
};

struct inputs {
	struct tk_task task;
	struct tr_param *params;
	size_t nparams;
	struct tr_binding *workspaces, *secrets;
	size_t nworkspaces, nsecrets;
	struct image_map *images;
	size_t nimages;
	char *name;
};

static void inputs_free(struct inputs *in)
{
	cli_params_free(in->params, in->nparams);
	cli_bindings_free(in->workspaces, in->nworkspaces);
	cli_bindings_free(in->secrets, in->nsecrets);
	cli_image_map_free(in->images, in->nimages);
	taskdef_free(&in->task);
	free(in->name);
}

static err_t *read_inputs(const struct params *p, struct inputs *in)
{
	TRY(taskdef_load(params_str(p, "file"), &in->task));
	TRY(cli_params(p, &in->task, &in->params, &in->nparams));
	TRY(cli_bindings(p, &in->workspaces, &in->nworkspaces));
	TRY(cli_secrets(p, &in->secrets, &in->nsecrets));
	TRY(cli_image_map(p, &in->images, &in->nimages));
	const char *name = params_str(p, "name");
	in->name = name && *name ? xstrdup(name) : xasprintf("%s-run", in->task.name);
	return NULL;
}

static json_t *outcome_json(const struct taskrun_input *in, const struct taskrun_outcome *o)
{
	static const char *const states[] = { "NotRun", "Succeeded", "Failed", "Skipped" };
	json_t *steps = json_array(), *res = json_object();
	for (size_t i = 0; i < o->nsteps; i++)
		json_array_append_new(steps, json_pack("{s:s,s:s,s:i}", "name", o->steps[i].name, "state",
						       states[o->steps[i].state], "exitCode", o->steps[i].exit_code));
	for (size_t i = 0; i < o->nresults; i++)
		json_object_set_new(res, o->results[i].name, json_string(o->results[i].value));
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "taskRun", in->name, "task", in->task->name, "status",
			      o->succeeded ? "True" : "False", "reason", o->reason, "steps", steps, "results", res);
	if (o->message)
		json_object_set_new(j, "message", json_string(o->message));
	return j;
}

static err_t *print_json(json_t *j)
{
	int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	if (rc < 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
		return err_errno(EXIT_FAILED, "cannot write to stdout");
	return NULL;
}

static err_t *taskrun(const struct params *p, struct results *r)
{
	struct inputs in = { 0 };
	err_t *e = read_inputs(p, &in);
	const char *runtime = params_str(p, "runtime");
	if (!e && strcmp(runtime, "direct") && strcmp(runtime, "crun"))
		e = err_new(EXIT_USAGE, "--runtime=%s: direct or crun", runtime);
	struct taskrun_input tin = {
		.task = &in.task, .name = in.name, .namespace = params_str(p, "namespace"), .uid = "",
		.params = in.params, .nparams = in.nparams, .workspaces = in.workspaces,
		.nworkspaces = in.nworkspaces, .secrets = in.secrets, .nsecrets = in.nsecrets,
	};
	if (!e && params_bool(p, "print-pod")) {
		json_t *pod = NULL;
		e = taskrun_pod_json(&tin, &pod);
		if (!e)
			e = print_json(pod);
		inputs_free(&in);
		return e;
	}
	struct taskrun_options o = {
		.runtime = e || !strcmp(runtime, "direct") ? RUNTIME_DIRECT : RUNTIME_CRUN,
		.bin_dir = params_str(p, "bin-dir"), .images = in.images, .nimages = in.nimages,
		.work_dir = params_str(p, "work-dir"), .cache_dir = params_str(p, "cache-dir"),
		.registry_ca_file = params_str(p, "registry-ca-file"), .registry_insecure = params_bool(p, "registry-insecure"),
		.logs_dir = params_str(p, "logs-dir"), .keep = params_bool(p, "keep"),
	};
	struct taskrun_outcome out = { 0 };
	if (!e)
		e = taskrun_execute(&tin, &o, &out);
	if (!e) {
		json_t *j = outcome_json(&tin, &out);
		char *text = json_dumps(json_object_get(j, "results"), JSON_COMPACT | JSON_SORT_KEYS);
		results_sets(r, "status", out.succeeded ? "Succeeded" : "Failed");
		results_sets(r, "taskrun-results", text ? text : "{}");
		free(text);
		e = print_json(j);
	}
	if (!e && !out.succeeded) {
		/* the failing step's code is ours (a code outside ours reads as failed) */
		int code = out.exit_code >= EXIT_FAILED && out.exit_code <= EXIT_UNREACHABLE ? out.exit_code : EXIT_FAILED;
		e = err_new(code, "TaskRun %s failed (%s): %s", in.name, out.reason, out.message ? out.message : "");
	}
	taskrun_outcome_free(&out);
	inputs_free(&in);
	return e;
}

int main(int argc, char **argv)
{
	enum cli_command cmd;
	int nargc;
	char **nargv;
	err_t *e = cli_rewrite(argc, argv, &cmd, &nargc, &nargv);
	if (e) {
		char *text = err_describe(e);
		fprintf(stderr, "pipeline-run: %s\n", text);
		free(text);
		int code = e->code;
		err_free(e);
		return code;
	}
	(void)cmd; /* taskrun is the only command, and the default */
	int code = task_main(&spec, nargc, nargv, taskrun);
	cli_free_argv(nargv);
	return code;
}
