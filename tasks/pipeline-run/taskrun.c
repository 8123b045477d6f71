/* One TaskRun (see taskrun.h). */
#include "taskrun.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "runtime.h"
#include "strbuf.h"
#include "xalloc.h"

/* Tekton keeps a step's results in its termination message: 4096 bytes
 * for all of them (pkg/termination: "Termination message is above max
 * allowed size 4096"), with the JSON framing counted. */
#define TERMINATION_MESSAGE_MAX 4096
#define RESULT_FILE_MAX (1u << 20)

struct run_dirs {
	char *root, *results, *home, *scripts, *volumes;
};

static err_t *make_dirs(const struct taskrun_input *in, const struct taskrun_options *o, struct run_dirs *d)
{
	const char *parent = o->work_dir ? o->work_dir : getenv("TMPDIR");
	d->root = xasprintf("%s/pipeline-run-%s-XXXXXX", parent && *parent ? parent : "/tmp", in->name);
	if (!mkdtemp(d->root)) {
		err_t *e = err_errno(EXIT_FAILED, "cannot create the TaskRun's directory %s", d->root);
		free(d->root);
		d->root = NULL;
		return e;
	}
	d->results = xasprintf("%s/results", d->root);
	d->home = xasprintf("%s/home", d->root);
	d->scripts = xasprintf("%s/scripts", d->root);
	/* emptyDir volumes: world-writable, whoever the steps run as; the
	 * scripts directory only when a step has a script (a mkdir costs
	 * ~0.6 ms on this machine's ext4) */
	bool scripts = false;
	for (size_t i = 0; i < in->task->nsteps; i++)
		scripts |= in->task->steps[i].script != NULL;
	const char *dirs[] = { d->results, d->home, scripts ? d->scripts : NULL };
	for (size_t i = 0; i < 3 && dirs[i]; i++)
		if (mkdir(dirs[i], 0777) < 0 || chmod(dirs[i], i == 2 ? 0755 : 0777) < 0)
			return err_errno(EXIT_FAILED, "cannot create %s", dirs[i]);
	d->volumes = xasprintf("%s/volumes", d->root);
	for (size_t i = 0; i < in->task->nvolumes; i++) {
		_cleanup_free_ char *v = xasprintf("%s/%s", d->volumes, in->task->volumes[i].name);
		if ((i == 0 && mkdir(d->volumes, 0755) < 0) || mkdir(v, 0777) < 0 || chmod(v, 0777) < 0)
			return err_errno(EXIT_FAILED, "cannot create the emptyDir volume %s", v);
	}
	if (chmod(d->root, 0755) < 0)
		return err_errno(EXIT_FAILED, "chmod %s", d->root);
	return NULL;
}

static void free_dirs(struct run_dirs *d, bool keep)
{
	if (d->root && !keep)
		fs_remove_tree(d->root);
	else if (d->root)
		log_info("the TaskRun's directory is kept: %s", d->root);
	free(d->root);
	free(d->results);
	free(d->home);
	free(d->scripts);
	free(d->volumes);
}

/* Tekton's script handling: no shebang -> "#!/bin/sh\nset -e\n" first. */
static err_t *write_scripts(const struct pod *p, const char *dir)
{
	for (size_t i = 0; i < p->nsteps; i++) {
		const char *script = p->steps[i].script;
		if (!script)
			continue;
		struct strbuf sb = STRBUF_INIT;
		if (strncmp(script, "#!", 2))
			sb_adds(&sb, "#!/bin/sh\nset -e\n");
		sb_adds(&sb, script);
		_cleanup_free_ char *name = xasprintf("script-%zu", i);
		err_t *e = fs_write_atomic(dir, name, sb.buf, sb.len, 0755);
		sb_release(&sb);
		TRY(e);
	}
	return NULL;
}

static err_t *open_log(const struct taskrun_input *in, const struct taskrun_options *o, const char *step, int *fd)
{
	*fd = STDERR_FILENO;
	if (!o->logs_dir)
		return NULL;
	_cleanup_free_ char *dir = xasprintf("%s/%s", o->logs_dir, in->name);
	TRY(fs_mkdir_p(dir, 0755));
	_cleanup_free_ char *path = xasprintf("%s/%s.log", dir, step);
	*fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (*fd < 0)
		return err_errno(EXIT_FAILED, "cannot write %s", path);
	return NULL;
}

static err_t *run_steps(const struct taskrun_input *in, const struct taskrun_options *o, const struct pod *p,
			const char *run_dir, struct taskrun_outcome *out)
{
	out->nsteps = p->nsteps;
	out->steps = xcalloc(p->nsteps + 1, sizeof *out->steps);
	bool failed = false;
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct pod_step *ps = &p->steps[i];
		struct taskrun_step *st = &out->steps[i];
		st->name = xstrdup(ps->def->name);
		if (failed) {
			st->state = STEP_SKIPPED;
			continue;
		}
		int fd;
		TRY(open_log(in, o, st->name, &fd));
		struct step_run r = { p, ps, o, run_dir, fd };
		log_debug("TaskRun %s: step %s (%s)", in->name, st->name, ps->image);
		err_t *e = o->runtime == RUNTIME_CRUN ? crun_run(&r, &st->exit_code) : direct_run(&r, &st->exit_code);
		if (fd != STDERR_FILENO)
			close(fd);
		if (e)
			return err_wrap(e, "TaskRun %s", in->name);
		st->state = st->exit_code ? STEP_FAILED : STEP_SUCCEEDED;
		if (st->exit_code && !ps->on_error_continue) {
			failed = true;
			out->exit_code = st->exit_code;
			out->message = xasprintf("\"step-%s\" exited with code %d", st->name, st->exit_code);
		} else if (st->exit_code) {
			log_info("step %s exited with code %d; onError: continue", st->name, st->exit_code);
		}
	}
	out->succeeded = !failed;
	out->reason = xstrdup(failed ? "Failed" : "Succeeded");
	return NULL;
}

/* The results the steps wrote, declared ones only, within Tekton's budget:
 * its termination message is [{"key":NAME,"value":VALUE,"type":1},...]. */
static err_t *read_results(const struct taskrun_input *in, const char *dir, struct taskrun_outcome *out)
{
	const struct tk_task *t = in->task;
	json_t *message = json_array();
	out->results = xcalloc(t->nresults + 1, sizeof *out->results);
	for (size_t i = 0; i < t->nresults; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, t->results[i].name);
		struct stat st;
		if (lstat(path, &st) < 0 && errno == ENOENT)
			continue;
		if (!S_ISREG(st.st_mode)) {
			json_decref(message);
			return err_new(EXIT_FAILED, "result %s is not a regular file", t->results[i].name);
		}
		struct strbuf sb = STRBUF_INIT;
		err_t *e = fs_read_file(path, RESULT_FILE_MAX, &sb);
		if (e) {
			json_decref(message);
			return err_wrap(e, "result %s", t->results[i].name);
		}
		json_array_append_new(message, json_pack("{s:s,s:s%,s:i}", "key", t->results[i].name, "value",
							 sb_str(&sb), sb.len, "type", 1));
		struct taskrun_result *r = &out->results[out->nresults++];
		r->name = xstrdup(t->results[i].name);
		r->value = sb_detach(&sb);
	}
	char *text = json_dumps(message, JSON_COMPACT);
	size_t budget = text ? strlen(text) : 0;
	free(text);
	json_decref(message);
	if (budget > TERMINATION_MESSAGE_MAX) {
		free(out->reason);
		out->reason = xstrdup("TaskRunResultLargerThanAllowedLimit");
		free(out->message);
		out->message = xasprintf("the results take %zu bytes of the termination message, more than Tekton's "
					 "%d (write large values to a workspace)",
					 budget, TERMINATION_MESSAGE_MAX);
		out->succeeded = false;
		if (!out->exit_code)
			out->exit_code = EXIT_FAILED;
	}
	return NULL;
}

static void dirs_of(const struct run_dirs *d, struct pod_dirs *pd)
{
	pd->results = d->results;
	pd->home = d->home;
	pd->scripts = d->scripts;
	pd->volumes = d->volumes;
}

err_t *taskrun_execute(const struct taskrun_input *in, const struct taskrun_options *o, struct taskrun_outcome *out)
{
	memset(out, 0, sizeof *out);
	struct run_dirs d = { 0 };
	struct pod pod = { 0 }, host = { 0 };
	struct pod_dirs pd;
	/* the name makes the TaskRun's directory and logs directory */
	err_t *e = pod_check_name(in->name);
	if (!e)
		e = make_dirs(in, o, &d);
	dirs_of(&d, &pd);
	/* checked in the Pod's own view, whatever the runtime */
	if (!e)
		e = pod_build(in, &pd, POD_VIEW_POD, &pod);
	if (!e && o->runtime == RUNTIME_DIRECT)
		e = pod_build(in, &pd, POD_VIEW_HOST, &host);
	if (!e)
		e = write_scripts(&pod, d.scripts);
	if (!e && o->runtime == RUNTIME_DIRECT)
		e = direct_prepare(&host, d.home);
	if (!e)
		e = run_steps(in, o, o->runtime == RUNTIME_DIRECT ? &host : &pod, d.root, out);
	if (!e)
		e = read_results(in, d.results, out);
	pod_free(&pod);
	pod_free(&host);
	free_dirs(&d, o->keep);
	if (e)
		taskrun_outcome_free(out);
	return e;
}

err_t *taskrun_pod_json(const struct taskrun_input *in, json_t **out)
{
	struct pod pod;
	struct pod_dirs pd = { "/var/lib/tekton/results", "/var/lib/tekton/home", "/var/lib/tekton/scripts",
			       "/var/lib/tekton/volumes" };
	TRY(pod_build(in, &pd, POD_VIEW_POD, &pod));
	*out = pod_to_json(&pod, in);
	pod_free(&pod);
	return NULL;
}

void taskrun_outcome_free(struct taskrun_outcome *out)
{
	for (size_t i = 0; i < out->nsteps; i++)
		free(out->steps[i].name);
	for (size_t i = 0; i < out->nresults; i++) {
		free(out->results[i].name);
		free(out->results[i].value);
	}
	free(out->steps);
	free(out->results);
	free(out->reason);
	free(out->message);
	memset(out, 0, sizeof *out);
}
