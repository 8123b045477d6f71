/* pipeline-run: run Tekton resources on this machine, as a cluster would.
 * `pipeline-run taskrun -f task.yaml -p k=v -w name=dir`: read the Task,
 * build and check the Pod Tekton would make of the TaskRun, run its steps
 * (directly, or in their images with crun), print the TaskRun's status
 * and results, and exit with its failing step's code.
 * `pipeline-run pipelinerun -f pipeline.yaml --tasks tekton/ -p k=v -w
 * name=dir`: read and check the Pipeline and its Tasks, run the
 * PipelineRun (its tasks as TaskRuns, in parallel as the DAG allows,
 * finally last), show progress, print its status and results and a
 * summary; exit 0 when it succeeded, 1 when it failed, 2 when the YAML is
 * invalid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"
#include "pipelinedef.h"
#include "pipelinerun.h"
#include "runname.h"
#include "task.h"
#include "taskdef.h"
#include "taskrun.h"
#include "trigger.h"
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
	/* "<task>-run", kept within Tekton's 63 as kmeta.ChildName keeps it
	 * (a Task's name may be 63 itself) */
	in->name = name && *name ? xstrdup(name) : runname_child(in->task.name, "-run");
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

static const struct param_spec pr_params[] = {
	{ "file", PARAM_STRING, NULL, true, false, "the Pipeline YAML (tekton.dev/v1 kind Pipeline; Tasks may follow in the file), or with --trigger the Triggers resources; -f" },
	{ "trigger", PARAM_STRING, NULL, false, false, "replay --event through this EventListener of --file: run the PipelineRun its trigger makes (the Pipeline from --file's directory)" },
	{ "event", PARAM_STRING, NULL, false, false, "--trigger: the webhook's JSON payload" },
	{ "event-header", PARAM_LIST, NULL, false, false, "--trigger: an HTTP header of the event, NAME=VALUE (e.g. X-GitHub-Event=push)" },
	{ "tasks", PARAM_LIST, NULL, false, false, "a Task YAML file, or a directory of them, for the Pipeline's taskRefs" },
	{ "missing-tasks", PARAM_STRING, "fail", false, false, "a taskRef to a Task not given: fail (invalid Pipeline, exit 2) or skip (the task is skipped, reason TaskNotFound, like a false when)" },
	{ "param", PARAM_LIST, NULL, false, false, "NAME=VALUE: a Pipeline param; JSON for array and object params; -p" },
	{ "workspace", PARAM_LIST, NULL, false, false, "NAME=DIR: bind a Pipeline workspace (unbound ones get a temporary directory); -w" },
	{ "secret-workspace", PARAM_LIST, NULL, false, false, "NAME=DIR: a Pipeline workspace from a Secret (read-only)" },
	{ "secret", PARAM_LIST, NULL, false, false, "NAME=DIR: the Secret NAME for env valueFrom.secretKeyRef and --trigger's interceptors (secretRef), one file per key" },
	{ "name", PARAM_STRING, NULL, false, false, "the PipelineRun's name (context.pipelineRun.name); default: <pipeline>-run" },
	{ "namespace", PARAM_STRING, "default", false, false, "context.pipelineRun.namespace" },
	{ "uid", PARAM_STRING, NULL, false, false, "context.pipelineRun.uid; default: a random UUID" },
	{ "jobs", PARAM_INT, "0", false, false, "tasks run at the same time at most; 0: the number of CPUs" },
	{ "timeout", PARAM_STRING, "1h", false, false, "the PipelineRun's timeout (timeouts.pipeline), a duration like 1h30m; 0: none" },
	{ "tasks-timeout", PARAM_STRING, "0", false, false, "timeouts.tasks: the tasks but finally; 0: none" },
	{ "finally-timeout", PARAM_STRING, "0", false, false, "timeouts.finally; 0: none" },
	{ "runtime", PARAM_STRING, "direct", false, false, "direct (our static binaries on the host) or crun (the step's image)" },
	{ "bin-dir", PARAM_STRING, NULL, false, false, "direct: where the task binaries are, before PATH" },
	{ "image-map", PARAM_LIST, NULL, false, false, "IMAGE=TARGET: direct: a binary; crun: oci:DIR[:TAG], oci-archive:FILE or dir:ROOTFS" },
	{ "work-dir", PARAM_STRING, NULL, false, false, "where the PipelineRun's directory goes; default: $TMPDIR" },
	{ "cache-dir", PARAM_STRING, NULL, false, false, "crun: unpacked images; default: $XDG_CACHE_HOME/pipeline-run or ~/.cache/pipeline-run" },
	{ "registry-ca-file", PARAM_STRING, NULL, false, false, "crun: PEM CAs to trust when pulling step images" },
	{ "registry-insecure", PARAM_BOOL, "false", false, false, "crun: pull step images over plain http / without TLS checks" },
	{ "logs-dir", PARAM_STRING, NULL, false, false, "each step's output to DIR/<taskrun>/<step>.log; default: stderr" },
	{ "progress", PARAM_STRING, "auto", false, false, "live (redrawn in place), plain (a line per event) or none; auto: live on a terminal with --logs-dir, else plain" },
	{ "keep", PARAM_BOOL, "false", false, false, "keep the PipelineRun's directory (temporary workspaces, TaskRuns)" },
	{ NULL },
};

static const struct result_spec pr_results[] = {
	{ "status", "Succeeded, Completed, Failed or PipelineRunTimeout" },
	{ "pipelinerun-results", "the Pipeline's results, a JSON object" },
	{ NULL },
};

static const struct task_spec pr_spec = {
	"pipeline-run",
	"Run a Tekton PipelineRun here: its tasks as TaskRuns, in parallel as the DAG allows, when, finally, retries, timeouts.",
	pr_params,
	pr_results,
};

static err_t *duration(const struct params *p, const char *name, long long *ms)
{
	const char *v = params_str(p, name);
	if (!pipelinedef_duration(v, ms))
		return err_new(EXIT_USAGE, "--%s=%s: a duration like 1h30m, 90s or 0", name, v ? v : "");
	return NULL;
}

/* context.pipelineRun.uid: a random (version 4) UUID, as Kubernetes gives */
static char *random_uid(void)
{
	unsigned char b[16] = { 0 };
	FILE *f = fopen("/dev/urandom", "re");
	if (f) {
		if (fread(b, 1, sizeof b, f) != sizeof b)
			memset(b, 0, sizeof b);
		fclose(f);
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	return xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
			 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static err_t *pr_options(const struct params *p, struct pipelinerun_options *o, struct taskrun_options *to)
{
	const char *runtime = params_str(p, "runtime"), *progress = params_str(p, "progress");
	if (strcmp(runtime, "direct") && strcmp(runtime, "crun"))
		return err_new(EXIT_USAGE, "--runtime=%s: direct or crun", runtime);
	if (strcmp(progress, "auto") && strcmp(progress, "live") && strcmp(progress, "plain") && strcmp(progress, "none"))
		return err_new(EXIT_USAGE, "--progress=%s: auto, live, plain or none", progress);
	TRY(duration(p, "timeout", &o->timeout_ms));
	TRY(duration(p, "tasks-timeout", &o->tasks_timeout_ms));
	TRY(duration(p, "finally-timeout", &o->finally_timeout_ms));
	*to = (struct taskrun_options){
		.runtime = !strcmp(runtime, "direct") ? RUNTIME_DIRECT : RUNTIME_CRUN,
		.bin_dir = params_str(p, "bin-dir"), .work_dir = params_str(p, "work-dir"),
		.cache_dir = params_str(p, "cache-dir"), .registry_ca_file = params_str(p, "registry-ca-file"),
		.registry_insecure = params_bool(p, "registry-insecure"), .logs_dir = params_str(p, "logs-dir"),
		.keep = params_bool(p, "keep"),
	};
	long jobs = params_int(p, "jobs");
	o->jobs = jobs > 0 ? (int)jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (o->jobs < 1)
		o->jobs = 1;
	o->namespace = params_str(p, "namespace");
	o->taskrun = to;
	o->progress = strcmp(progress, "none") ? stderr : NULL;
	o->live = !strcmp(progress, "live") || (!strcmp(progress, "auto") && isatty(STDERR_FILENO) && to->logs_dir);
	return NULL;
}

/* --trigger: the Pipeline file and the PipelineRun's params and name
 * (then the -p params, which win) from the event */
static err_t *triggered(const struct params *p, struct trigger_run *tr, char **pipeline_file, char ***items,
			size_t *nitems)
{
	const char *file = params_str(p, "file"), *trig = params_str(p, "trigger"), *ev = params_str(p, "event");
	const char *const *hdrs, *const *given;
	size_t nh = params_list(p, "event-header", &hdrs), ng = params_list(p, "param", &given);
	if (!ev || !*ev)
		return err_new(EXIT_USAGE, "--trigger=%s needs --event=PAYLOAD.json", trig);
	struct trigger_event event = { .headers = hdrs, .nheaders = nh };
	struct tr_binding *secrets = NULL;
	TRY(cli_secrets(p, &secrets, &event.nsecrets));
	event.secrets = secrets;
	err_t *e = trigger_resolve(file, trig, ev, &event, tr);
	cli_bindings_free(secrets, event.nsecrets);
	TRY(e);
	TRY(trigger_find_pipeline(file, tr->pipeline, pipeline_file));
	log_info("EventListener %s, trigger %s: PipelineRun %s of Pipeline %s (%s)", trig, tr->trigger, tr->name,
		 tr->pipeline, *pipeline_file);
	*items = xcalloc(tr->nparams + ng + 1, sizeof **items);
	for (size_t i = 0; i < tr->nparams; i++) {
		size_t len = strcspn(tr->params[i], "=");
		bool overridden = false;
		for (size_t k = 0; k < ng && !overridden; k++)
			overridden = !strncmp(given[k], tr->params[i], len) && given[k][len] == '=';
		if (!overridden)
			(*items)[(*nitems)++] = tr->params[i];
	}
	for (size_t k = 0; k < ng; k++)
		(*items)[(*nitems)++] = (char *)given[k];
	return NULL;
}

static err_t *pipelinerun(const struct params *p, struct results *r)
{
	struct pipeline pl = { 0 };
	const char *const *task_paths;
	size_t ntask_paths = params_list(p, "tasks", &task_paths);
	const char *missing = params_str(p, "missing-tasks");
	if (strcmp(missing, "fail") && strcmp(missing, "skip"))
		return err_new(EXIT_USAGE, "--missing-tasks=%s: fail or skip", missing);
	const char *trig = params_str(p, "trigger");
	struct trigger_run tr = { 0 };
	_cleanup_free_ char *pipeline_file = NULL;
	_cleanup_free_ char **items = NULL;
	size_t nitems = 0;
	if (trig && *trig) {
		err_t *te = triggered(p, &tr, &pipeline_file, &items, &nitems);
		if (te) {
			trigger_run_free(&tr);
			return te;
		}
	}
	err_t *le = pipelinedef_load(pipeline_file ? pipeline_file : params_str(p, "file"), task_paths, ntask_paths,
				     !strcmp(missing, "skip"), &pl);
	if (le) {
		trigger_run_free(&tr);
		return le;
	}
	for (size_t i = 0; i < pl.ntasks; i++)
		if (pl.tasks[i].missing)
			log_warn("task %s: no Task '%s' among the Tasks given: it will be skipped (TaskNotFound)",
				 pl.tasks[i].name, pl.tasks[i].task.name);

	struct inputs in = { 0 };
	struct pipelinerun_options o = { 0 };
	struct taskrun_options to = { 0 };
	/* params are typed by the Pipeline's declarations */
	struct tk_task decls = { .params = pl.params, .nparams = pl.nparams };
	err_t *e = trig && *trig ? cli_params_of((const char *const *)items, nitems, &decls, &in.params, &in.nparams)
				 : cli_params(p, &decls, &in.params, &in.nparams);
	if (!e)
		e = cli_bindings(p, &in.workspaces, &in.nworkspaces);
	if (!e)
		e = cli_secrets(p, &in.secrets, &in.nsecrets);
	if (!e)
		e = cli_image_map(p, &in.images, &in.nimages);
	if (!e)
		e = pr_options(p, &o, &to);
	const char *name = params_str(p, "name"), *uid = params_str(p, "uid");
	char *run_name = name && *name ? xstrdup(name) : tr.name ? xstrdup(tr.name) : runname_child(pl.name, "-run");
	char *run_uid = uid && *uid ? xstrdup(uid) : random_uid();
	to.images = in.images;
	to.nimages = in.nimages;
	o.name = run_name;
	o.uid = run_uid;
	o.params = in.params;
	o.nparams = in.nparams;
	o.workspaces = in.workspaces;
	o.nworkspaces = in.nworkspaces;
	o.secrets = in.secrets;
	o.nsecrets = in.nsecrets;
	struct pipelinerun_outcome out = { 0 };
	if (!e)
		e = pipelinerun_execute(&pl, &o, &out);
	if (!e) {
		json_t *j = pipelinerun_json(&pl, &o, &out);
		char *text = json_dumps(json_object_get(j, "results"), JSON_COMPACT | JSON_SORT_KEYS);
		results_sets(r, "status", out.reason);
		results_sets(r, "pipelinerun-results", text ? text : "{}");
		free(text);
		if (o.progress)
			pipelinerun_summary(stderr, &out);
		e = print_json(j);
	}
	if (!e && !out.succeeded)
		e = err_new(EXIT_FAILED, "PipelineRun %s failed (%s): %s", run_name, out.reason, out.message);
	pipelinerun_outcome_free(&out);
	free(run_name);
	free(run_uid);
	trigger_run_free(&tr);
	inputs_free(&in);
	pipelinedef_free(&pl);
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
	int code = cmd == CLI_PIPELINERUN ? task_main(&pr_spec, nargc, nargv, pipelinerun)
					  : task_main(&spec, nargc, nargv, taskrun);
	cli_free_argv(nargv);
	return code;
}
