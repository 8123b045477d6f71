/* A PipelineRun (see pipelinerun.h). */
#include "pipelinerun.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "runname.h"
#include "strbuf.h"
#include "subst.h"
#include "xalloc.h"

#define OUTCOME_FILE_MAX (8u << 20)

struct run {
	const struct pipeline *p;
	const struct pipelinerun_options *o;
	struct pipelinerun_outcome *out;
	char *dir;               /* ours: outcome files, temporary workspaces, TaskRun directories */
	struct tr_binding *ws;   /* every Pipeline workspace: bound (dir) or not (NULL) */
	struct tk_value *params; /* the Pipeline's params, given or default */
	long long t0, pipeline_deadline, tasks_deadline, finally_deadline;
	bool finally_phase, stopping;
	const char *stop_skip; /* the skip reason once stopping */
	bool timed_out;
	int running;
	size_t drawn; /* lines of the live view on screen */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *state_name(enum pr_state s)
{
	static const char *const names[] = {"Waiting", "Running", "Succeeded", "Failed", "Skipped"};
	return names[s];
}

static void set_reason(struct pr_task *t, enum pr_state s, const char *reason, char *message)
{
	t->state = s;
	free(t->reason);
	t->reason = xstrdup(reason);
	free(t->message);
	t->message = message;
}

/* ---- progress ------------------------------------------------------------ */

static void draw(struct run *r)
{
	FILE *f = r->o->progress;
	if (!f || !r->o->live)
		return;
	if (r->drawn)
		fprintf(f, "\033[%zuA", r->drawn);
	long long now = now_ms();
	for (size_t i = 0; i < r->out->ntasks; i++) {
		const struct pr_task *t = &r->out->tasks[i];
		long long el = t->state == PR_RUNNING ? now - t->start_ms : t->end_ms - t->start_ms;
		fprintf(f, "\r\033[K  %-24s %-10s", t->def->name, state_name(t->state));
		if (t->state == PR_RUNNING || t->state == PR_SUCCEEDED || t->state == PR_FAILED)
			fprintf(f, " %6.1fs", (double)el / 1000);
		if (t->state == PR_SKIPPED || t->state == PR_FAILED)
			fprintf(f, " %s", t->reason);
		fputc('\n', f);
	}
	r->drawn = r->out->ntasks;
	fflush(f);
}

static void event(struct run *r, const struct pr_task *t)
{
	FILE *f = r->o->progress;
	if (!f)
		return;
	if (r->o->live) {
		draw(r);
		return;
	}
	double at = (double)(now_ms() - r->t0) / 1000;
	if (t->state == PR_RUNNING)
		fprintf(f, "pipeline-run: %7.2fs %s: running (TaskRun %s%s)\n", at, t->def->name, t->taskrun,
		        t->attempts > 1 ? ", a retry" : "");
	else if (t->state == PR_SKIPPED)
		fprintf(f, "pipeline-run: %7.2fs %s: skipped (%s)\n", at, t->def->name, t->reason);
	else if (t->state == PR_FAILED) {
		/* why, on the line that says it failed: the message (a step's
		 * exit code, a program that could not start) as the log shows
		 * text from elsewhere, redacted and without control characters */
		struct strbuf why = STRBUF_INIT;
		if (t->message) {
			_cleanup_free_ char *m = log_redact(t->message);
			sb_adds(&why, ": ");
			sb_add_printable(&why, m, strlen(m));
		}
		fprintf(f, "pipeline-run: %7.2fs %s: %s in %.2fs (%s%s)\n", at, t->def->name, state_name(t->state),
		        (double)(t->end_ms - t->start_ms) / 1000, t->reason, sb_str(&why));
		sb_release(&why);
	} else
		fprintf(f, "pipeline-run: %7.2fs %s: %s in %.2fs\n", at, t->def->name, state_name(t->state),
		        (double)(t->end_ms - t->start_ms) / 1000);
	fflush(f);
}

/* ---- variables --------------------------------------------------------------- */

/* A result as its Task declares it: arrays and objects are JSON. */
static void result_value(enum tk_type type, const char *text, struct tk_value *v)
{
	memset(v, 0, sizeof *v);
	json_t *j = type == TK_STRING ? NULL : json_loads(text, JSON_DECODE_ANY, NULL);
	bool ok = j && (type == TK_ARRAY ? json_is_array(j) : json_is_object(j));
	if (ok) {
		v->type = type;
		size_t n = type == TK_ARRAY ? json_array_size(j) : json_object_size(j);
		v->items = xcalloc(n + 1, sizeof *v->items);
		if (type == TK_OBJECT)
			v->keys = xcalloc(n + 1, sizeof *v->keys);
		const char *k;
		json_t *it;
		size_t i;
		if (type == TK_ARRAY) {
			json_array_foreach(j, i, it) v->items[v->n++] =
			    xstrdup(json_is_string(it) ? json_string_value(it) : "");
		} else {
			json_object_foreach(j, k, it)
			{
				v->keys[v->n] = xstrdup(k);
				v->items[v->n++] = xstrdup(json_is_string(it) ? json_string_value(it) : "");
			}
		}
	} else {
		v->type = TK_STRING;
		v->str = xstrdup(text);
	}
	json_decref(j);
}

static const char *aggregate_status(const struct run *r)
{
	bool failed = false, skipped = false, done = true;
	for (size_t i = 0; i < r->out->ntasks; i++) {
		const struct pr_task *t = &r->out->tasks[i];
		if (t->def->finally)
			continue;
		failed |= t->state == PR_FAILED;
		skipped |= t->state == PR_SKIPPED;
		done &= t->state == PR_SUCCEEDED || t->state == PR_SKIPPED;
	}
	return failed ? "Failed" : !done ? "None" : skipped ? "Completed" : "Succeeded";
}

static struct subst *variables(const struct run *r, const struct pr_task *t)
{
	const struct pipeline *p = r->p;
	struct subst *s = subst_new(p->file);
	subst_root(s, "tasks");
	for (size_t i = 0; i < p->nparams; i++) {
		_cleanup_free_ char *k = xasprintf("params.%s", p->params[i].name);
		subst_set(s, k, &r->params[i]);
	}
	for (size_t i = 0; i < p->nworkspaces; i++) {
		_cleanup_free_ char *k = xasprintf("workspaces.%s.bound", p->workspaces[i].name);
		subst_set_str(s, k, r->ws[i].dir ? "true" : "false");
	}
	subst_set_str(s, "context.pipelineRun.name", r->o->name);
	subst_set_str(s, "context.pipelineRun.namespace", r->o->namespace);
	subst_set_str(s, "context.pipelineRun.uid", r->o->uid);
	subst_set_str(s, "context.pipeline.name", p->name);
	char retries[16];
	snprintf(retries, sizeof retries, "%d", t ? t->def->retries : 0);
	subst_set_str(s, "context.pipelineTask.retries", retries);
	for (size_t i = 0; i < r->out->ntasks; i++) {
		const struct pr_task *o = &r->out->tasks[i];
		if (o->def->finally)
			continue;
		_cleanup_free_ char *sk = xasprintf("tasks.%s.status", o->def->name);
		subst_set_str(s, sk,
		              o->state == PR_SUCCEEDED ? "Succeeded"
		              : o->state == PR_FAILED  ? "Failed"
		                                       : "None");
		if (o->state != PR_SUCCEEDED)
			continue;
		for (size_t k = 0; k < o->out.nresults; k++) {
			const struct tk_result *decl = taskdef_result(&o->def->task, o->out.results[k].name);
			struct tk_value v;
			result_value(decl ? decl->type : TK_STRING, o->out.results[k].value, &v);
			_cleanup_free_ char *rk =
			    xasprintf("tasks.%s.results.%s", o->def->name, o->out.results[k].name);
			subst_set(s, rk, &v);
			tk_value_free(&v);
		}
	}
	subst_set_str(s, "tasks.status", aggregate_status(r));
	return s;
}

/* The names of the tasks whose results s uses ("$(tasks.NAME.results."). */
static bool uses_results_of(const char *s, const char *task)
{
	_cleanup_free_ char *needle = xasprintf("$(tasks.%s.results.", task);
	return strstr(s, needle) != NULL;
}

static bool task_uses_results_of(const struct pl_task *t, const char *task)
{
	for (size_t i = 0; i < t->nparams; i++) {
		const struct tk_value *v = &t->params[i].value;
		if (v->type == TK_STRING && uses_results_of(v->str, task))
			return true;
		for (size_t k = 0; k < v->n; k++)
			if (uses_results_of(v->items[k], task))
				return true;
	}
	for (size_t i = 0; i < t->nwhen; i++) {
		if (uses_results_of(t->when[i].input, task))
			return true;
		for (size_t k = 0; k < t->when[i].values.n; k++)
			if (uses_results_of(t->when[i].values.v[k], task))
				return true;
	}
	return false;
}

/* ---- skipping, in Tekton's order ----------------------------------------- */

static err_t *when_false(const struct pl_task *d, const struct subst *s, bool *skip)
{
	*skip = false;
	for (size_t i = 0; i < d->nwhen && !*skip; i++) {
		const struct pl_when *w = &d->when[i];
		_cleanup_free_ char *input = NULL;
		char **vals = NULL;
		size_t n = 0;
		TRY(subst_string(s, w->input, w->line, &input));
		TRY(subst_list(s, w->values.v, w->values.lines, w->values.n, &vals, &n));
		bool found = false;
		for (size_t k = 0; k < n; k++) {
			found |= !strcmp(vals[k], input);
			free(vals[k]);
		}
		free(vals);
		*skip = found != w->in;
	}
	return NULL;
}

/* NULL: the task runs; else why it is skipped. */
static const char *skip_reason(struct run *r, const struct pr_task *t, char **message)
{
	const struct pl_task *d = t->def;
	*message = NULL;
	if (!d->finally) {
		if (r->stopping)
			return r->stop_skip;
		/* a false when, or a Task that is not there, skips the task only */
		for (size_t i = 0; i < d->nparents; i++) {
			const struct pr_task *pt = &r->out->tasks[d->parents[i]];
			if (pt->state == PR_SKIPPED && strcmp(pt->reason, "WhenExpressionsSkip") &&
			    strcmp(pt->reason, "TaskNotFound"))
				return "ParentTasksSkip";
		}
		for (size_t i = 0; i < d->nparents; i++) {
			const struct pr_task *pt = &r->out->tasks[d->parents[i]];
			if (d->result_parent[i] && pt->state != PR_SUCCEEDED)
				return "MissingResultsSkip";
		}
		if (d->missing)
			return "TaskNotFound";
	} else {
		if (r->timed_out)
			return "PipelineTimedOutSkip";
		if (d->missing)
			return "TaskNotFound";
		for (size_t i = 0; i < r->out->ntasks; i++) {
			const struct pr_task *o = &r->out->tasks[i];
			if (!o->def->finally && o->state != PR_SUCCEEDED && task_uses_results_of(d, o->def->name))
				return "MissingResultsSkip";
		}
	}
	struct subst *s = variables(r, t);
	bool skip = false;
	err_t *e = when_false(d, s, &skip);
	subst_free(s);
	if (e) {
		/* a reference that resolves to nothing at run time */
		*message = err_describe(e);
		err_free(e);
		return "InvalidTaskResultReference";
	}
	return skip ? "WhenExpressionsSkip" : NULL;
}

/* ---- one TaskRun, in a child ---------------------------------------------- */

static char *outcome_path(const struct run *r, const struct pr_task *t)
{
	return xasprintf("%s/%s.outcome.json", r->dir, t->def->name);
}

static void write_outcome(const char *path, err_t *e, const struct taskrun_outcome *o)
{
	json_t *j;
	if (e) {
		char *text = err_describe(e);
		j = json_pack("{s:b,s:s,s:s,s:i}", "succeeded", 0, "reason",
		              e->code == EXIT_USAGE ? "TaskRunValidationFailed" : "Failed", "message", text, "exitCode",
		              e->code);
		free(text);
	} else {
		json_t *res = json_object(), *steps = json_array();
		for (size_t i = 0; i < o->nresults; i++)
			json_object_set_new(res, o->results[i].name, json_string(o->results[i].value));
		for (size_t i = 0; i < o->nsteps; i++)
			json_array_append_new(steps,
			                      json_pack("{s:s,s:i,s:i}", "name", o->steps[i].name, "state",
			                                (int)o->steps[i].state, "exitCode", o->steps[i].exit_code));
		j = json_pack("{s:b,s:s,s:s?,s:i,s:o,s:o}", "succeeded", o->succeeded, "reason", o->reason, "message",
		              o->message, "exitCode", o->exit_code, "results", res, "steps", steps);
	}
	json_dump_file(j, path, JSON_COMPACT);
	json_decref(j);
}

static void read_outcome(const char *path, struct pr_task *t)
{
	struct taskrun_outcome *o = &t->out;
	taskrun_outcome_free(o);
	json_t *j = json_load_file(path, 0, NULL);
	if (!j) {
		o->reason = xstrdup("Failed");
		o->message = xstrdup("the TaskRun ended without an outcome");
		o->exit_code = EXIT_FAILED;
		return;
	}
	o->succeeded = json_is_true(json_object_get(j, "succeeded"));
	o->reason = xstrdup(json_string_value(json_object_get(j, "reason")) ?: "Failed");
	const char *msg = json_string_value(json_object_get(j, "message"));
	o->message = msg ? xstrdup(msg) : NULL;
	o->exit_code = (int)json_integer_value(json_object_get(j, "exitCode"));
	json_t *res = json_object_get(j, "results"), *steps = json_object_get(j, "steps"), *it;
	const char *k;
	size_t i;
	o->results = xcalloc(json_object_size(res) + 1, sizeof *o->results);
	json_object_foreach(res, k, it)
	{
		o->results[o->nresults].name = xstrdup(k);
		o->results[o->nresults++].value = xstrdup(json_string_value(it) ?: "");
	}
	o->steps = xcalloc(json_array_size(steps) + 1, sizeof *o->steps);
	json_array_foreach(steps, i, it)
	{
		o->steps[o->nsteps].name = xstrdup(json_string_value(json_object_get(it, "name")) ?: "");
		o->steps[o->nsteps].state = (enum step_state)json_integer_value(json_object_get(it, "state"));
		o->steps[o->nsteps++].exit_code = (int)json_integer_value(json_object_get(it, "exitCode"));
	}
	json_decref(j);
}

/* The TaskRun's params: the pipeline task's, substituted. */
static err_t *taskrun_params(const struct run *r, const struct pr_task *t, struct tr_param **out, size_t *n)
{
	const struct pl_task *d = t->def;
	struct subst *s = variables(r, t);
	struct tr_param *v = xcalloc(d->nparams + r->p->nparams + 1, sizeof *v);
	err_t *e = NULL;
	*n = 0;
	for (size_t i = 0; i < d->nparams && !e; i++) {
		if (!taskdef_param(&d->task, d->params[i].name))
			continue; /* Tekton passes on only what the Task declares */
		e = subst_value(s, &d->params[i].value, d->params[i].line, &v[*n].value);
		if (!e)
			v[(*n)++].name = xstrdup(d->params[i].name);
	}
	subst_free(s);
	*out = v;
	return e;
}

static void params_free(struct tr_param *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		tk_value_free(&v[i].value);
	}
	free(v);
}

/* root/sub, its missing directories made, every component a directory
 * opened without following a symbolic link: an earlier task (a cloned
 * PR) may leave root/sub a link to any directory of the host, which a
 * bind mount would follow (kubelet refuses a subPath leaving its volume).
 * hold_at (crun): the directory checked is bound there, a path of ours
 * that no task sees, and *out names it. A task running beside this one on
 * the same workspace may swap a component of root/sub for a link between
 * the check and a later step's mount: the path would then lead out, the
 * bound directory does not (crun refuses a /proc/self/fd/N source). */
static err_t *subpath_dir(const char *root, const char *sub, const char *ws, const char *hold_at, char **out)
{
	*out = NULL;
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(EXIT_FAILED, "workspace %s: %s", ws, root);
	_cleanup_free_ char *copy = xstrdup(sub);
	err_t *e = NULL;
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c && !e; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST)
			e = err_errno(EXIT_FAILED, "workspace %s: subPath '%s': cannot make %s", ws, sub, c);
		int next = e ? -1 : openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (!e && next < 0)
			e = errno == ELOOP || errno == ENOTDIR
			            ? err_new(EXIT_FAILED, "workspace %s: subPath '%s': %s is a symbolic link or not a directory "
			                      "(it could lead out of the workspace)", ws, sub, c)
			            : err_errno(EXIT_FAILED, "workspace %s: subPath '%s': %s", ws, sub, c);
		close(fd);
		fd = next;
	}
	if (!e && hold_at) {
		_cleanup_free_ char *src = xasprintf("/proc/self/fd/%d", fd);
		if (mkdir(hold_at, 0700) < 0 || mount(src, hold_at, NULL, MS_BIND, NULL) < 0)
			e = err_errno(EXIT_FAILED, "workspace %s: subPath '%s': cannot hold it at %s", ws, sub, hold_at);
	}
	if (fd >= 0)
		close(fd);
	if (!e)
		*out = hold_at ? xstrdup(hold_at) : xasprintf("%s/%s", root, sub);
	return e;
}

/* crun: this TaskRun's process in a mount namespace of its own, where
 * subpath_dir binds what it checked (gone with the process) */
static err_t *private_mounts(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_errno(EXIT_FAILED, "a mount namespace for the subPath workspaces");
	return NULL;
}

/* In the child: the TaskRun, its outcome to a file. Never returns. */
static void child(const struct run *r, const struct pr_task *t, const struct tr_param *params, size_t nparams)
{
	const struct pl_task *d = t->def;
	struct tr_binding *ws = xcalloc(d->nworkspaces + 1, sizeof *ws);
	size_t nws = 0;
	bool private_ns = false; /* crun: private_mounts() done */
	err_t *e = NULL;
	for (size_t i = 0; i < d->nworkspaces && !e; i++) {
		size_t k = 0;
		while (strcmp(r->p->workspaces[k].name, d->workspaces[i].workspace))
			k++;
		if (!r->ws[k].dir)
			continue; /* an optional workspace left unbound */
		ws[nws].name = d->workspaces[i].name;
		ws[nws].secret = r->ws[k].secret;
		if (d->workspaces[i].sub_path) {
			_cleanup_free_ char *hold = NULL;
			if (r->o->taskrun->runtime == RUNTIME_CRUN) {
				if (!private_ns)
					e = private_mounts();
				private_ns = true;
				hold = xasprintf("%s/subpath-%d-%zu", r->dir, (int)getpid(), i);
			}
			if (!e)
				e = subpath_dir(r->ws[k].dir, d->workspaces[i].sub_path, d->workspaces[i].name, hold,
						&ws[nws].dir);
		} else {
			ws[nws].dir = xstrdup(r->ws[k].dir);
		}
		nws++;
	}
	/* propagated params: an embedded taskSpec sees the Pipeline's */
	struct tk_task task = d->task;
	struct tk_param *merged = xcalloc(task.nparams + r->p->nparams + 1, sizeof *merged);
	memcpy(merged, task.params, task.nparams * sizeof *merged);
	struct tr_param *all = xcalloc(nparams + r->p->nparams + 1, sizeof *all);
	memcpy(all, params, nparams * sizeof *all);
	size_t nall = nparams;
	if (d->embedded)
		for (size_t i = 0; i < r->p->nparams; i++)
			if (!taskdef_param(&d->task, r->p->params[i].name)) {
				merged[task.nparams] = r->p->params[i];
				merged[task.nparams].has_default = false;
				task.nparams++;
				all[nall].name = r->p->params[i].name;
				all[nall++].value = r->params[i];
			}
	task.params = merged;
	struct taskrun_options to = *r->o->taskrun;
	to.work_dir = r->dir;
	struct taskrun_input in = {
	    .task = &task,
	    .name = t->taskrun,
	    .namespace = r->o->namespace,
	    .uid = r->o->uid,
	    .retry_count = t->attempts - 1,
	    .params = all,
	    .nparams = nall,
	    .workspaces = ws,
	    .nworkspaces = nws,
	    .secrets = r->o->secrets,
	    .nsecrets = r->o->nsecrets,
	};
	struct taskrun_outcome o = {0};
	if (!e)
		e = taskrun_execute(&in, &to, &o);
	_cleanup_free_ char *path = outcome_path(r, t);
	write_outcome(path, e, &o);
	fflush(NULL);
	_exit(0);
}

static void start(struct run *r, struct pr_task *t)
{
	struct tr_param *params = NULL;
	size_t n = 0;
	if (!t->attempts) {
		t->start_ms = now_ms();
		_cleanup_free_ char *suffix = xasprintf("-%s", t->def->name);
		t->taskrun = runname_child(r->o->name, suffix);
	}
	t->attempts++;
	err_t *e = taskrun_params(r, t, &params, &n);
	if (e) {
		char *text = err_describe(e);
		err_free(e);
		params_free(params, n);
		t->end_ms = now_ms();
		set_reason(t, PR_FAILED, "InvalidTaskResultReference", text);
		return;
	}
	_cleanup_free_ char *path = outcome_path(r, t);
	unlink(path);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		child(r, t, params, n);
	}
	params_free(params, n);
	if (pid < 0) {
		t->end_ms = now_ms();
		set_reason(t, PR_FAILED, "Failed", xasprintf("fork: %s", strerror(errno)));
		return;
	}
	setpgid(pid, pid);
	t->pid = pid;
	t->killed = false;
	t->state = PR_RUNNING;
	t->deadline_ms = t->def->timeout_ms ? now_ms() + t->def->timeout_ms : 0;
	r->running++;
	event(r, t);
}

static void finished(struct run *r, struct pr_task *t)
{
	r->running--;
	t->pid = 0;
	_cleanup_free_ char *path = outcome_path(r, t);
	if (t->killed) {
		taskrun_outcome_free(&t->out);
		t->out.reason = xstrdup(t->kill_reason);
		t->out.message =
		    !strcmp(t->kill_reason, "TaskRunTimeout")
		        ? xasprintf("TaskRun %s failed to finish within %lldms", t->taskrun, t->def->timeout_ms)
		        : xasprintf("TaskRun %s was cancelled: the PipelineRun timed out", t->taskrun);
		t->out.exit_code = EXIT_FAILED;
	} else {
		read_outcome(path, t);
	}
	unlink(path);
	bool retry = !t->out.succeeded && t->attempts <= t->def->retries &&
	             (!t->killed || !strcmp(t->kill_reason, "TaskRunTimeout")) && !r->timed_out;
	if (retry) {
		log_info("%s: attempt %d failed (%s), retrying", t->def->name, t->attempts, t->out.reason);
		start(r, t);
		return;
	}
	t->end_ms = now_ms();
	set_reason(t, t->out.succeeded ? PR_SUCCEEDED : PR_FAILED, t->out.reason,
	           t->out.message ? xstrdup(t->out.message) : NULL);
	if (!t->out.succeeded && !t->def->finally && !r->stopping) {
		r->stopping = true;
		r->stop_skip = "StoppingSkip";
	}
	event(r, t);
}

/* ---- the loop ------------------------------------------------------------------- */

/* Start what can start, skip what must be skipped; true when a state changed. */
static bool schedule(struct run *r)
{
	bool changed = false;
	for (size_t i = 0; i < r->out->ntasks; i++) {
		struct pr_task *t = &r->out->tasks[i];
		if (t->state != PR_WAITING || t->def->finally != r->finally_phase)
			continue;
		bool ready = true;
		for (size_t k = 0; k < t->def->nparents && ready; k++) {
			enum pr_state s = r->out->tasks[t->def->parents[k]].state;
			ready = s == PR_SUCCEEDED || s == PR_FAILED || s == PR_SKIPPED;
		}
		if (!ready && !r->stopping)
			continue;
		char *message = NULL;
		const char *why = skip_reason(r, t, &message);
		if (why && !strcmp(why, "InvalidTaskResultReference")) {
			t->start_ms = t->end_ms = now_ms();
			set_reason(t, PR_FAILED, why, message);
			if (!t->def->finally) {
				r->stopping = true;
				r->stop_skip = "StoppingSkip";
			}
			event(r, t);
			changed = true;
			continue;
		}
		if (why) {
			free(message);
			t->start_ms = t->end_ms = now_ms();
			set_reason(t, PR_SKIPPED, why, NULL);
			event(r, t);
			changed = true;
			continue;
		}
		if (!ready || r->running >= r->o->jobs)
			continue;
		start(r, t);
		changed = true;
	}
	return changed;
}

/* The TaskRun's process group: its steps (and what they started) too. */
static void kill_task(struct pr_task *t, const char *reason)
{
	kill(-t->pid, SIGKILL);
	t->killed = true;
	t->kill_reason = reason;
}

static void kill_running(struct run *r, bool finally, const char *reason)
{
	for (size_t i = 0; i < r->out->ntasks; i++) {
		struct pr_task *t = &r->out->tasks[i];
		if (t->state == PR_RUNNING && t->pid > 0 && t->def->finally == finally && !t->killed)
			kill_task(t, reason);
	}
}

static void check_deadlines(struct run *r)
{
	long long now = now_ms();
	if (r->pipeline_deadline && now >= r->pipeline_deadline && !r->timed_out) {
		r->timed_out = r->stopping = true;
		r->stop_skip = "PipelineTimedOutSkip";
		kill_running(r, false, "TaskRunCancelled");
		kill_running(r, true, "TaskRunCancelled");
	}
	if (!r->finally_phase && r->tasks_deadline && now >= r->tasks_deadline && !r->stopping) {
		r->stopping = true;
		r->stop_skip = "TasksTimedOutSkip";
		r->timed_out = false;
		kill_running(r, false, "TaskRunCancelled");
	}
	if (r->finally_phase && r->finally_deadline && now >= r->finally_deadline) {
		kill_running(r, true, "TaskRunCancelled");
		r->finally_deadline = 0;
	}
	for (size_t i = 0; i < r->out->ntasks; i++) {
		struct pr_task *t = &r->out->tasks[i];
		if (t->state == PR_RUNNING && t->pid > 0 && t->deadline_ms && now >= t->deadline_ms && !t->killed)
			kill_task(t, "TaskRunTimeout");
	}
}

static long long next_wakeup(const struct run *r)
{
	long long next = 0;
#define EARLIER(x)                                                                                                     \
	do {                                                                                                           \
		if ((x) && (!next || (x) < next))                                                                      \
			next = (x);                                                                                    \
	} while (0)
	EARLIER(r->pipeline_deadline);
	if (!r->finally_phase && !r->stopping)
		EARLIER(r->tasks_deadline);
	if (r->finally_phase)
		EARLIER(r->finally_deadline);
	for (size_t i = 0; i < r->out->ntasks; i++)
		if (r->out->tasks[i].state == PR_RUNNING && !r->out->tasks[i].killed)
			EARLIER(r->out->tasks[i].deadline_ms);
	if (r->o->live && r->o->progress)
		EARLIER(now_ms() + 200);
#undef EARLIER
	return next;
}

static void reap(struct run *r)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (size_t i = 0; i < r->out->ntasks; i++)
			if (r->out->tasks[i].pid == pid) {
				finished(r, &r->out->tasks[i]);
				break;
			}
}

static void loop(struct run *r, const sigset_t *chld)
{
	for (;;) {
		while (schedule(r))
			;
		if (!r->running) {
			if (r->finally_phase)
				return;
			r->finally_phase = true;
			if (r->o->finally_timeout_ms)
				r->finally_deadline = now_ms() + r->o->finally_timeout_ms;
			continue;
		}
		long long wake = next_wakeup(r), wait = wake ? wake - now_ms() : 3600000;
		if (wait < 0)
			wait = 0;
		struct timespec ts = {wait / 1000, (wait % 1000) * 1000000};
		sigtimedwait(chld, NULL, &ts);
		reap(r);
		check_deadlines(r);
		draw(r);
	}
}

/* ---- setup ---------------------------------------------------------------------- */

static err_t *bind_params(struct run *r)
{
	const struct pipeline *p = r->p;
	const struct pipelinerun_options *o = r->o;
	r->params = xcalloc(p->nparams + 1, sizeof *r->params);
	for (size_t i = 0; i < o->nparams; i++) {
		size_t k = 0;
		while (k < p->nparams && strcmp(p->params[k].name, o->params[i].name))
			k++;
		if (k == p->nparams)
			return err_new(EXIT_USAGE, "--param %s: Pipeline %s declares no such param", o->params[i].name,
			               p->name);
		if (o->params[i].value.type != p->params[k].type)
			return err_new(EXIT_USAGE, "--param %s: the Pipeline declares it %s", o->params[i].name,
			               tk_type_name(p->params[k].type));
		tk_value_copy(&r->params[k], &o->params[i].value);
	}
	for (size_t k = 0; k < p->nparams; k++) {
		bool given = false;
		for (size_t i = 0; i < o->nparams && !given; i++)
			given = !strcmp(p->params[k].name, o->params[i].name);
		if (given)
			continue;
		if (!p->params[k].has_default)
			return err_new(EXIT_USAGE, "%s:%d: param %s has no default and is not given (--param %s=...)",
			               p->file, p->params[k].line, p->params[k].name, p->params[k].name);
		tk_value_copy(&r->params[k], &p->params[k].def);
	}
	return NULL;
}

static err_t *bind_workspaces(struct run *r)
{
	const struct pipeline *p = r->p;
	const struct pipelinerun_options *o = r->o;
	r->ws = xcalloc(p->nworkspaces + 1, sizeof *r->ws);
	for (size_t i = 0; i < o->nworkspaces; i++) {
		size_t k = 0;
		while (k < p->nworkspaces && strcmp(p->workspaces[k].name, o->workspaces[i].name))
			k++;
		if (k == p->nworkspaces)
			return err_new(EXIT_USAGE, "--workspace %s: Pipeline %s declares no such workspace",
			               o->workspaces[i].name, p->name);
		r->ws[k].dir = xstrdup(o->workspaces[i].dir);
		r->ws[k].secret = o->workspaces[i].secret;
	}
	for (size_t k = 0; k < p->nworkspaces; k++) {
		r->ws[k].name = p->workspaces[k].name;
		if (r->ws[k].dir || p->workspaces[k].optional)
			continue;
		r->ws[k].dir = xasprintf("%s/workspace-%s", r->dir, p->workspaces[k].name);
		if (mkdir(r->ws[k].dir, 0777) < 0 || chmod(r->ws[k].dir, 0777) < 0)
			return err_errno(EXIT_FAILED, "cannot create %s", r->ws[k].dir);
		log_info("workspace %s: a temporary directory, %s", p->workspaces[k].name, r->ws[k].dir);
	}
	return NULL;
}

static void pipeline_results(struct run *r)
{
	const struct pipeline *p = r->p;
	struct subst *s = variables(r, NULL);
	r->out->results = xcalloc(p->nresults + 1, sizeof *r->out->results);
	for (size_t i = 0; i < p->nresults; i++) {
		struct tk_value v;
		err_t *e = subst_value(s, &p->results[i].value, p->results[i].line, &v);
		if (e) { /* Tekton leaves out a result whose tasks did not produce it */
			log_debug("result %s left out", p->results[i].name);
			err_free(e);
			continue;
		}
		struct taskrun_result *res = &r->out->results[r->out->nresults++];
		res->name = xstrdup(p->results[i].name);
		if (v.type == TK_STRING) {
			res->value = xstrdup(v.str);
		} else {
			json_t *j = v.type == TK_ARRAY ? json_array() : json_object();
			for (size_t k = 0; k < v.n; k++)
				if (v.type == TK_ARRAY)
					json_array_append_new(j, json_string(v.items[k]));
				else
					json_object_set_new(j, v.keys[k], json_string(v.items[k]));
			res->value = json_dumps(j, JSON_COMPACT);
			json_decref(j);
		}
		tk_value_free(&v);
	}
	subst_free(s);
}

static void conclude(struct run *r)
{
	struct pipelinerun_outcome *out = r->out;
	bool failed = false, skipped = false;
	for (size_t i = 0; i < out->ntasks; i++) {
		failed |= out->tasks[i].state == PR_FAILED;
		/* a skipped finally task makes it Completed too (docs/pipelines.md) */
		skipped |= out->tasks[i].state == PR_SKIPPED;
	}
	out->succeeded = !failed && !r->timed_out && strcmp(r->stop_skip ? r->stop_skip : "", "TasksTimedOutSkip");
	out->reason =
	    xstrdup(r->timed_out || (r->stop_skip && !strcmp(r->stop_skip, "TasksTimedOutSkip")) ? "PipelineRunTimeout"
	            : failed                                                                     ? "Failed"
	            : skipped                                                                    ? "Completed"
	                                                                                         : "Succeeded");
	size_t nf = 0, ns = 0, nsk = 0;
	for (size_t i = 0; i < out->ntasks; i++) {
		nf += out->tasks[i].state == PR_FAILED;
		ns += out->tasks[i].state == PR_SUCCEEDED;
		nsk += out->tasks[i].state == PR_SKIPPED;
	}
	out->message = xasprintf("Tasks Completed: %zu (Failed: %zu, Cancelled %d), Skipped: %zu", nf + ns, nf, 0, nsk);
	out->duration_ms = now_ms() - r->t0;
	pipeline_results(r);
}

err_t *pipelinerun_execute(const struct pipeline *p, const struct pipelinerun_options *o,
                           struct pipelinerun_outcome *out)
{
	memset(out, 0, sizeof *out);
	struct run r = {.p = p, .o = o, .out = out};
	/* the name makes the run's directory, and its TaskRuns' names */
	TRY(runname_check("PipelineRun", o->name));
	const char *parent = o->taskrun->work_dir ? o->taskrun->work_dir : getenv("TMPDIR");
	r.dir = xasprintf("%s/pipelinerun-%s-XXXXXX", parent && *parent ? parent : "/tmp", o->name);
	if (!mkdtemp(r.dir)) {
		err_t *e = err_errno(EXIT_FAILED, "cannot create the PipelineRun's directory %s", r.dir);
		free(r.dir);
		return e;
	}
	chmod(r.dir, 0755);
	out->ntasks = p->ntasks;
	out->tasks = xcalloc(p->ntasks + 1, sizeof *out->tasks);
	for (size_t i = 0; i < p->ntasks; i++)
		out->tasks[i].def = &p->tasks[i];
	err_t *e = bind_params(&r);
	if (!e)
		e = bind_workspaces(&r);
	if (!e) {
		r.t0 = now_ms();
		r.pipeline_deadline = o->timeout_ms ? r.t0 + o->timeout_ms : 0;
		r.tasks_deadline = o->tasks_timeout_ms ? r.t0 + o->tasks_timeout_ms : 0;
		sigset_t chld, old;
		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_BLOCK, &chld, &old);
		draw(&r);
		loop(&r, &chld);
		sigprocmask(SIG_SETMASK, &old, NULL);
		conclude(&r);
	}
	for (size_t i = 0; i < p->nparams && r.params; i++)
		tk_value_free(&r.params[i]);
	free(r.params);
	for (size_t i = 0; i < p->nworkspaces && r.ws; i++)
		free(r.ws[i].dir);
	free(r.ws);
	if (o->taskrun->keep)
		log_info("the PipelineRun's directory is kept: %s", r.dir);
	else
		fs_remove_tree(r.dir);
	free(r.dir);
	if (e)
		pipelinerun_outcome_free(out);
	return e;
}

/* ---- reports ---------------------------------------------------------------------- */

static json_t *task_json(const struct pr_task *t)
{
	json_t *res = json_object();
	if (t->state == PR_SUCCEEDED || t->state == PR_FAILED)
		for (size_t i = 0; i < t->out.nresults; i++)
			json_object_set_new(res, t->out.results[i].name, json_string(t->out.results[i].value));
	json_t *j = json_pack("{s:s,s:s,s:s,s:o}", "name", t->def->name, "status", state_name(t->state), "reason",
	                      t->reason ? t->reason : "", "results", res);
	if (t->taskrun && t->state != PR_SKIPPED)
		json_object_set_new(j, "taskRun", json_string(t->taskrun));
	if (t->message)
		json_object_set_new(j, "message", json_string(t->message));
	if (t->attempts > 1)
		json_object_set_new(j, "retries", json_integer(t->attempts - 1));
	if (t->state != PR_SKIPPED)
		json_object_set_new(j, "durationMs", json_integer(t->end_ms - t->start_ms));
	return j;
}

json_t *pipelinerun_json(const struct pipeline *p, const struct pipelinerun_options *o,
                         const struct pipelinerun_outcome *out)
{
	json_t *tasks = json_array(), *fin = json_array(), *res = json_object();
	for (size_t i = 0; i < out->ntasks; i++)
		json_array_append_new(out->tasks[i].def->finally ? fin : tasks, task_json(&out->tasks[i]));
	for (size_t i = 0; i < out->nresults; i++)
		json_object_set_new(res, out->results[i].name, json_string(out->results[i].value));
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:I}", "pipelineRun", o->name, "pipeline", p->name, "status",
	                 out->succeeded ? "True" : "False", "reason", out->reason, "message", out->message, "tasks",
	                 tasks, "finally", fin, "results", res, "durationMs", (json_int_t)out->duration_ms);
}

/* A result's value in the summary: its first line, at most 40 bytes, its
 * control characters as \xNN: a result may echo a webhook payload's
 * text, and the summary goes to a terminal */
static void summary_value(struct strbuf *sb, const char *value)
{
	/* the summary is a log: a registered secret a result echoes is
	 * redacted before the value is cut, so no part of it shows */
	_cleanup_free_ char *v = log_redact(value);
	size_t len = strcspn(v, "\n");
	sb_add_printable(sb, v, len > 40 ? 40 : len);
	sb_adds(sb, len > 40 || v[len] ? "..." : "");
}

void pipelinerun_summary(FILE *f, const struct pipelinerun_outcome *out)
{
	fprintf(f, "%-24s %-10s %-28s %9s  %s\n", "TASK", "STATUS", "REASON", "DURATION", "RESULTS");
	for (size_t i = 0; i < out->ntasks; i++) {
		const struct pr_task *t = &out->tasks[i];
		struct strbuf sb = STRBUF_INIT;
		for (size_t k = 0; k < t->out.nresults && t->state != PR_SKIPPED; k++) {
			sb_addf(&sb, "%s%s=", k ? " " : "", t->out.results[k].name);
			summary_value(&sb, t->out.results[k].value);
		}
		char dur[32] = "-";
		if (t->state != PR_SKIPPED && t->state != PR_WAITING)
			snprintf(dur, sizeof dur, "%.2fs", (double)(t->end_ms - t->start_ms) / 1000);
		_cleanup_free_ char *reason = log_redact(t->reason ? t->reason : "");
		fprintf(f, "%s%-*s %-10s %-28s %9s  %s\n", t->def->finally ? "finally/" : "", t->def->finally ? 16 : 24,
		        t->def->name, state_name(t->state), reason, dur, sb_str(&sb));
		sb_release(&sb);
	}
	_cleanup_free_ char *message = log_redact(out->message ? out->message : "");
	fprintf(f, "PipelineRun: %s (%s) in %.2fs\n", out->reason, message, (double)out->duration_ms / 1000);
}

void pipelinerun_outcome_free(struct pipelinerun_outcome *out)
{
	for (size_t i = 0; i < out->ntasks; i++) {
		struct pr_task *t = &out->tasks[i];
		free(t->taskrun);
		free(t->reason);
		free(t->message);
		taskrun_outcome_free(&t->out);
	}
	for (size_t i = 0; i < out->nresults; i++) {
		free(out->results[i].name);
		free(out->results[i].value);
	}
	free(out->results);
	free(out->tasks);
	free(out->reason);
	free(out->message);
	memset(out, 0, sizeof *out);
}
