/* TaskRun -> Pod, with Kubernetes' and Tekton's checks (see pod.h). */
#include "pod.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "secret.h"
#include "strbuf.h"
#include "subst.h"
#include "xalloc.h"


static err_t *at(const struct tk_task *t, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static err_t *at(const struct tk_task *t, int line, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	err_t *e = err_new(EXIT_USAGE, "%s:%d: %s", t->file, line, sb_str(&sb));
	sb_release(&sb);
	return e;
}

/* Kubernetes IsEnvVarName: [-._a-zA-Z][-._a-zA-Z0-9]* */
static bool env_name_ok(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '.' || *s == '_'))
			return false;
	return true;
}

static const struct tr_param *given_param(const struct taskrun_input *in, const char *name)
{
	for (size_t i = 0; i < in->nparams; i++)
		if (!strcmp(in->params[i].name, name))
			return &in->params[i];
	return NULL;
}

static void add_mount(struct pod *p, const char *path, const char *host, const char *volume, bool ro)
{
	p->mounts = xrealloc(p->mounts, (p->nmounts + 1) * sizeof *p->mounts);
	p->mounts[p->nmounts++] = (struct pod_mount){ xstrdup(path), xstrdup(host), xstrdup(volume), ro };
}

static err_t *bind_params(const struct taskrun_input *in, struct subst *s)
{
	const struct tk_task *t = in->task;
	for (size_t i = 0; i < in->nparams; i++)
		if (!taskdef_param(t, in->params[i].name))
			return err_new(EXIT_USAGE, "param '%s' is given but %s (%s) declares no such param",
				       in->params[i].name, t->name, t->file);
	for (size_t i = 0; i < t->nparams; i++) {
		const struct tk_param *p = &t->params[i];
		const struct tr_param *g = given_param(in, p->name);
		const struct tk_value *v = g ? &g->value : p->has_default ? &p->def : NULL;
		if (!v)
			return at(t, p->line, "param '%s' has no default and the TaskRun does not give it (Tekton: "
					      "missing required param)",
				  p->name);
		if (v->type != p->type)
			return at(t, p->line, "param '%s' is declared %s but given a%s %s value (Tekton)", p->name,
				  tk_type_name(p->type), v->type == TK_ARRAY ? "n" : "", tk_type_name(v->type));
		for (size_t k = 0; k < p->nkeys; k++) {
			bool found = false;
			for (size_t j = 0; j < v->n && !found; j++)
				found = !strcmp(v->keys[j], p->keys[k]);
			if (!found)
				return at(t, p->line, "object param '%s' misses the key '%s' (Tekton)", p->name,
					  p->keys[k]);
		}
		_cleanup_free_ char *key = xasprintf("params.%s", p->name);
		subst_set(s, key, v);
	}
	return NULL;
}

static err_t *bind_workspaces(const struct taskrun_input *in, const struct pod_dirs *dirs, enum pod_view view,
			      struct subst *s, struct pod *pod)
{
	const struct tk_task *t = in->task;
	for (size_t i = 0; i < in->nworkspaces; i++)
		if (!taskdef_workspace(t, in->workspaces[i].name))
			return err_new(EXIT_USAGE, "workspace '%s' is bound but %s (%s) declares no such workspace",
				       in->workspaces[i].name, t->name, t->file);
	add_mount(pod, POD_RESULTS_PATH, dirs->results, "tekton-internal-results", false);
	add_mount(pod, POD_HOME_PATH, dirs->home, "tekton-internal-home", false);
	for (size_t i = 0; i < t->nworkspaces; i++) {
		const struct tk_workspace *w = &t->workspaces[i];
		const struct tr_binding *b = tr_binding_find(in->workspaces, in->nworkspaces, w->name);
		_cleanup_free_ char *path = w->mount_path ? xstrdup(w->mount_path) : xasprintf("/workspace/%s", w->name);
		_cleanup_free_ char *kpath = xasprintf("workspaces.%s.path", w->name);
		_cleanup_free_ char *kbound = xasprintf("workspaces.%s.bound", w->name);
		_cleanup_free_ char *kclaim = xasprintf("workspaces.%s.claim", w->name);
		_cleanup_free_ char *kvol = xasprintf("workspaces.%s.volume", w->name);
		_cleanup_free_ char *volume = xasprintf("ws-%s", w->name);
		if (!b && !w->optional)
			return at(t, w->line, "workspace '%s' is not optional and the TaskRun does not bind it "
					      "(--workspace %s=DIR)",
				  w->name, w->name);
		struct stat st;
		if (b && (stat(b->dir, &st) < 0 || !S_ISDIR(st.st_mode)))
			return err_errno(EXIT_USAGE, "workspace %s: %s is not a directory", w->name, b->dir);
		if (b)
			add_mount(pod, path, b->dir, volume, w->read_only || b->secret);
		/* Tekton: an unbound optional workspace's path is "" */
		subst_set_str(s, kpath, !b ? "" : view == POD_VIEW_POD ? path : b->dir);
		subst_set_str(s, kbound, b ? "true" : "false");
		subst_set_str(s, kclaim, "");
		subst_set_str(s, kvol, b ? volume : "");
	}
	/* the steps' emptyDir volumes (mounts here are the Pod's, shared by
	 * its steps: one per volume and path); run directly, a step sees the
	 * host's file system there (its /tmp is the host's) */
	for (size_t i = 0; view == POD_VIEW_POD && i < t->nsteps; i++)
		for (size_t k = 0; k < t->steps[i].nmounts; k++) {
			const struct tk_volume_mount *m = &t->steps[i].mounts[k];
			const struct pod_mount *have = pod_mount_of(pod, m->mount_path);
			if (have && !strcmp(have->path, m->mount_path) && !strcmp(have->volume, m->name))
				continue;
			_cleanup_free_ char *host = xasprintf("%s/%s", dirs->volumes, m->name);
			add_mount(pod, m->mount_path, host, m->name, m->read_only);
		}
	return NULL;
}

static void bind_results(const struct taskrun_input *in, const struct pod_dirs *dirs, enum pod_view view,
			 struct subst *s)
{
	for (size_t i = 0; i < in->task->nresults; i++) {
		const char *name = in->task->results[i].name;
		_cleanup_free_ char *key = xasprintf("results.%s.path", name);
		_cleanup_free_ char *path = xasprintf("%s/%s", view == POD_VIEW_POD ? POD_RESULTS_PATH : dirs->results, name);
		subst_set_str(s, key, path);
	}
}

static void bind_context(const struct taskrun_input *in, struct subst *s)
{
	char retry[16];
	snprintf(retry, sizeof retry, "%d", in->retry_count);
	subst_set_str(s, "context.taskRun.name", in->name);
	subst_set_str(s, "context.taskRun.namespace", in->namespace);
	subst_set_str(s, "context.taskRun.uid", in->uid);
	subst_set_str(s, "context.task.name", in->task->name);
	subst_set_str(s, "context.task.retry-count", retry);
}

static void add_env(struct pod_step *ps, const char *name, const char *value, bool secret)
{
	for (size_t i = 0; i < ps->nenv; i++)
		if (!strcmp(ps->env[i].name, name)) {
			free(ps->env[i].value);
			ps->env[i].value = xstrdup(value);
			ps->env[i].secret = secret;
			return;
		}
	ps->env = xrealloc(ps->env, (ps->nenv + 1) * sizeof *ps->env);
	ps->env[ps->nenv++] = (struct pod_env){ xstrdup(name), xstrdup(value), secret };
}

/* env valueFrom.secretKeyRef: the Secret is a directory given with
 * --secret NAME=DIR, one file per key (as Kubernetes mounts it). */
static err_t *env_from(const struct taskrun_input *in, const struct subst *s, const struct tk_env *env,
		       struct pod_step *ps)
{
	const struct tk_task *t = in->task;
	if (strcmp(env->from_kind, "secretKeyRef"))
		return at(t, env->line, "env %s: valueFrom.%s is not supported by pipeline-run (secretKeyRef is)",
			  env->name, env->from_kind);
	_cleanup_free_ char *name = NULL;
	if (env->from_name)
		TRY(subst_string(s, env->from_name, env->line, &name));
	if (!name || !*name)
		return at(t, env->line, "env %s: valueFrom.secretKeyRef.name is empty (Kubernetes: a secret "
					"reference needs a name)",
			  env->name);
	if (!k8s_dns1123_subdomain(name))
		return at(t, env->line, "env %s: secret name '%s' is not a DNS-1123 subdomain (Kubernetes)",
			  env->name, name);
	if (!env->from_key || !secret_key_ok(env->from_key))
		return at(t, env->line, "env %s: secretKeyRef.key '%s' is not a valid key (Kubernetes: [-._a-zA-Z0-9]+)",
			  env->name, env->from_key ? env->from_key : "");
	struct strbuf sb = STRBUF_INIT;
	bool given;
	err_t *e = secret_value(in->secrets, in->nsecrets, name, env->from_key, &sb, &given);
	if (!e && !given) {
		if (env->from_optional)
			return NULL;
		return at(t, env->line, "env %s: secret '%s' is not given (--secret %s=DIR) and not optional",
			  env->name, name, name);
	}
	if (e && env->from_optional && err_is(e, ERR_KIND_NOT_FOUND)) {
		err_free(e);
		return NULL;
	}
	if (e)
		return err_wrap(e, "env %s", env->name);
	add_env(ps, env->name, sb_str(&sb), true);
	explicit_bzero(sb.buf, sb.cap);
	sb_release(&sb);
	return NULL;
}

static int merged(int step, int tmpl)
{
	return step >= 0 ? step : tmpl;
}

/* Kubernetes ValidateSecurityContext and the kubelet's runAsNonRoot
 * check, on the effective values. */
static err_t *check_security(const struct tk_task *t, const struct tk_step *st, struct pod_step *ps)
{
	const struct tk_security *s = &st->sec, *tp = &t->pod_sec;
	int line = s->present ? s->line : st->line;
	ps->run_as_non_root = merged(s->run_as_non_root, tp->run_as_non_root) == 1;
	ps->privileged = merged(s->privileged, tp->privileged) == 1;
	int ape = merged(s->allow_privilege_escalation, tp->allow_privilege_escalation);
	ps->allow_privilege_escalation = ape != 0 || ps->privileged;
	ps->read_only_root = merged(s->read_only_root, tp->read_only_root) == 1;
	ps->run_as_user = s->run_as_user >= 0 ? s->run_as_user : tp->run_as_user;
	ps->run_as_group = s->run_as_group >= 0 ? s->run_as_group : tp->run_as_group;
	ps->cap_drop = s->cap_drop.n ? &s->cap_drop : &tp->cap_drop;
	ps->cap_add = s->cap_add.n ? &s->cap_add : &tp->cap_add;
	const char *sc = s->seccomp_type ? s->seccomp_type : tp->seccomp_type;
	const char *local = s->seccomp_type ? s->seccomp_localhost : tp->seccomp_localhost;
	if ((s->run_as_user != -1 && (s->run_as_user < 0 || s->run_as_user > 2147483647)) ||
	    (s->run_as_group != -1 && (s->run_as_group < 0 || s->run_as_group > 2147483647)))
		return at(t, s->user_line ? s->user_line : line,
			  "step %s: runAsUser/runAsGroup must be between 0 and 2147483647 (Kubernetes)", st->name);
	if (ape == 0 && ps->privileged)
		return at(t, line, "step %s: cannot set allowPrivilegeEscalation to false and privileged to true "
				   "(Kubernetes)",
			  st->name);
	if (ps->run_as_non_root && ps->run_as_user == 0)
		return at(t, s->user_line ? s->user_line : line,
			  "step %s: runAsNonRoot is true and runAsUser is 0: the kubelet refuses to start it "
			  "(container's runAsUser breaks non-root policy)",
			  st->name);
	if (sc) {
		if (strcmp(sc, "RuntimeDefault") && strcmp(sc, "Unconfined") && strcmp(sc, "Localhost"))
			return at(t, s->seccomp_line ? s->seccomp_line : line,
				  "step %s: seccompProfile.type '%s' is not RuntimeDefault, Unconfined or Localhost "
				  "(Kubernetes)",
				  st->name, sc);
		if (!strcmp(sc, "Localhost") != (local != NULL))
			return at(t, s->seccomp_line ? s->seccomp_line : line,
				  "step %s: seccompProfile.localhostProfile must be set for type Localhost and only "
				  "then (Kubernetes)",
				  st->name);
		if (!strcmp(sc, "Localhost"))
			return at(t, s->seccomp_line, "step %s: seccompProfile Localhost is not supported by "
						      "pipeline-run (RuntimeDefault is)",
				  st->name);
	}
	ps->seccomp = sc;
	return NULL;
}

static err_t *build_step(const struct taskrun_input *in, const struct subst *s, size_t index, enum pod_view view,
			 const struct pod_dirs *dirs, struct pod_step *ps)
{
	const struct tk_task *t = in->task;
	const struct tk_step *st = &t->steps[index];
	ps->def = st;
	ps->container = xasprintf("step-%s", st->name);
	if (!k8s_dns1123_label(ps->container))
		return at(t, st->line, "container name '%s' is not a DNS-1123 label (Kubernetes: at most 63)",
			  ps->container);
	TRY(subst_string(s, st->image, st->image_line, &ps->image));
	if (!*ps->image)
		return at(t, st->image_line, "step %s: the image is empty after substitution (Kubernetes: image is "
					     "required)",
			  st->name);

	char **cmd = NULL, **args = NULL;
	size_t ncmd = 0, nargs = 0;
	if (st->script) {
		TRY(subst_string(s, st->script, st->script_line, &ps->script));
		cmd = xcalloc(2, sizeof *cmd);
		cmd[0] = xasprintf("%s/script-%zu", view == POD_VIEW_POD ? POD_SCRIPTS_PATH : dirs->scripts, index);
		ncmd = 1;
	} else {
		TRY(subst_list(s, st->command.v, st->command.lines, st->command.n, &cmd, &ncmd));
	}
	err_t *e = subst_list(s, st->args.v, st->args.lines, st->args.n, &args, &nargs);
	if (e) {
		for (size_t i = 0; i < ncmd; i++)
			free(cmd[i]);
		free(cmd);
		return e;
	}
	ps->argc = ncmd + nargs;
	ps->ncommand = ncmd;
	ps->argv = xcalloc(ps->argc + 1, sizeof *ps->argv);
	memcpy(ps->argv, cmd, ncmd * sizeof *cmd);
	memcpy(ps->argv + ncmd, args, nargs * sizeof *args);
	free(cmd);
	free(args);
	if (!ncmd && ps->argc)
		return at(t, st->line, "step %s: args without command need the image's entrypoint, which "
				       "pipeline-run does not read: give command",
			  st->name);

	if (st->working_dir) {
		TRY(subst_string(s, st->working_dir, st->working_dir_line, &ps->working_dir));
		if (!*ps->working_dir) {
			free(ps->working_dir);
			ps->working_dir = NULL;
		} else if (ps->working_dir[0] != '/') {
			return at(t, st->working_dir_line, "step %s: workingDir '%s' is not absolute", st->name,
				  ps->working_dir);
		}
	}

	add_env(ps, "HOME", view == POD_VIEW_POD ? POD_HOME_PATH : dirs->home, false);
	for (size_t i = 0; i < st->nenv; i++) {
		const struct tk_env *env = &st->env[i];
		if (!env_name_ok(env->name))
			return at(t, env->line, "env name '%s' is invalid (Kubernetes: [-._a-zA-Z][-._a-zA-Z0-9]*)",
				  env->name);
		if (env->from_kind) {
			TRY(env_from(in, s, env, ps));
			continue;
		}
		_cleanup_free_ char *value = NULL;
		TRY(subst_string(s, env->value, env->line, &value));
		add_env(ps, env->name, value, false);
	}
	ps->on_error_continue = st->on_error && !strcmp(st->on_error, "continue");
	return check_security(t, st, ps);
}

/* Kubernetes validateVolumeMounts: absolute, unique paths. */
static err_t *check_mounts(const struct tk_task *t, const struct pod *p)
{
	for (size_t i = 0; i < p->nmounts; i++) {
		if (p->mounts[i].path[0] != '/')
			return at(t, t->line, "volume mount '%s' is not absolute", p->mounts[i].path);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->mounts[i].path, p->mounts[j].path))
				return at(t, t->line, "mountPath '%s' is used by two volumes (Kubernetes: must be unique)",
					  p->mounts[i].path);
	}
	return NULL;
}

err_t *pod_check_name(const char *taskrun)
{
	if (!k8s_dns1123_subdomain(taskrun))
		return err_new(EXIT_USAGE, "TaskRun name '%s' is not a DNS-1123 subdomain (Kubernetes)", taskrun);
	/* Tekton's webhook (validate.ObjectMetadata); "<name>-pod" then
	 * stays far below the Pod name's 253 */
	if (strlen(taskrun) > K8S_DNS1123_LABEL_MAX)
		return err_new(EXIT_USAGE, "TaskRun name '%s' is longer than 63 characters (%s)", taskrun,
			       TEKTON_NAME_RULE);
	return NULL;
}

err_t *pod_build(const struct taskrun_input *in, const struct pod_dirs *dirs, enum pod_view view, struct pod *out)
{
	const struct tk_task *t = in->task;
	memset(out, 0, sizeof *out);
	out->file = xstrdup(t->file);
	out->name = xasprintf("%s-pod", in->name);
	err_t *e = pod_check_name(in->name);
	struct subst *s = subst_new(t->file);
	if (!e)
		e = bind_params(in, s);
	if (!e)
		e = bind_workspaces(in, dirs, view, s, out);
	if (!e) {
		bind_results(in, dirs, view, s);
		bind_context(in, s);
		bool scripts = false;
		for (size_t i = 0; i < t->nsteps; i++)
			scripts |= t->steps[i].script != NULL;
		if (scripts)
			add_mount(out, POD_SCRIPTS_PATH, dirs->scripts, "tekton-internal-scripts", true);
		e = check_mounts(t, out);
	}
	if (!e) {
		out->steps = xcalloc(t->nsteps + 1, sizeof *out->steps);
		for (size_t i = 0; i < t->nsteps && !e; i++) {
			out->nsteps = i + 1;
			e = build_step(in, s, i, view, dirs, &out->steps[i]);
		}
	}
	subst_free(s);
	if (e)
		pod_free(out);
	return e;
}

void pod_free(struct pod *p)
{
	for (size_t i = 0; i < p->nmounts; i++) {
		free(p->mounts[i].path);
		free(p->mounts[i].host);
		free(p->mounts[i].volume);
	}
	for (size_t i = 0; i < p->nsteps; i++) {
		struct pod_step *ps = &p->steps[i];
		free(ps->container);
		free(ps->image);
		for (size_t k = 0; k < ps->argc; k++)
			free(ps->argv[k]);
		free(ps->argv);
		free(ps->working_dir);
		for (size_t k = 0; k < ps->nenv; k++) {
			free(ps->env[k].name);
			if (ps->env[k].value)
				explicit_bzero(ps->env[k].value, strlen(ps->env[k].value));
			free(ps->env[k].value);
		}
		free(ps->env);
		free(ps->script);
	}
	free(p->mounts);
	free(p->steps);
	free(p->name);
	free(p->file);
	memset(p, 0, sizeof *p);
}

const struct pod_mount *pod_mount_of(const struct pod *p, const char *path)
{
	const struct pod_mount *best = NULL;
	for (size_t i = 0; i < p->nmounts; i++) {
		size_t len = strlen(p->mounts[i].path);
		if (!strncmp(path, p->mounts[i].path, len) && (path[len] == '/' || !path[len]) &&
		    (!best || len > strlen(best->path)))
			best = &p->mounts[i];
	}
	return best;
}

static json_t *strs_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *security_json(const struct pod_step *ps)
{
	json_t *sc = json_object();
	json_object_set_new(sc, "runAsNonRoot", json_boolean(ps->run_as_non_root));
	if (ps->run_as_user >= 0)
		json_object_set_new(sc, "runAsUser", json_integer(ps->run_as_user));
	if (ps->run_as_group >= 0)
		json_object_set_new(sc, "runAsGroup", json_integer(ps->run_as_group));
	json_object_set_new(sc, "allowPrivilegeEscalation", json_boolean(ps->allow_privilege_escalation));
	json_object_set_new(sc, "readOnlyRootFilesystem", json_boolean(ps->read_only_root));
	json_object_set_new(sc, "privileged", json_boolean(ps->privileged));
	json_t *caps = json_object();
	json_object_set_new(caps, "drop", strs_json(ps->cap_drop->v, ps->cap_drop->n));
	json_object_set_new(caps, "add", strs_json(ps->cap_add->v, ps->cap_add->n));
	json_object_set_new(sc, "capabilities", caps);
	if (ps->seccomp)
		json_object_set_new(sc, "seccompProfile", json_pack("{s:s}", "type", ps->seccomp));
	return sc;
}

json_t *pod_to_json(const struct pod *p, const struct taskrun_input *in)
{
	json_t *volumes = json_array(), *containers = json_array();
	for (size_t i = 0; i < p->nmounts; i++)
		json_array_append_new(volumes, json_pack("{s:s,s:{s:s}}", "name", p->mounts[i].volume, "hostPath",
							 "path", p->mounts[i].host));
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct pod_step *ps = &p->steps[i];
		json_t *c = json_pack("{s:s,s:s}", "name", ps->container, "image", ps->image);
		if (ps->ncommand)
			json_object_set_new(c, "command", strs_json(ps->argv, ps->ncommand));
		if (ps->argc > ps->ncommand)
			json_object_set_new(c, "args", strs_json(ps->argv + ps->ncommand, ps->argc - ps->ncommand));
		if (ps->working_dir)
			json_object_set_new(c, "workingDir", json_string(ps->working_dir));
		json_t *env = json_array();
		for (size_t k = 0; k < ps->nenv; k++)
			json_array_append_new(env, json_pack("{s:s,s:s}", "name", ps->env[k].name, "value",
							     ps->env[k].secret ? LOG_REDACTED : ps->env[k].value));
		json_object_set_new(c, "env", env);
		json_t *mounts = json_array();
		for (size_t k = 0; k < p->nmounts; k++)
			json_array_append_new(mounts, json_pack("{s:s,s:s,s:b}", "name", p->mounts[k].volume, "mountPath",
								p->mounts[k].path, "readOnly", p->mounts[k].read_only));
		json_object_set_new(c, "volumeMounts", mounts);
		json_object_set_new(c, "securityContext", security_json(ps));
		json_array_append_new(containers, c);
	}
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s}},s:{s:s,s:o,s:o}}", "apiVersion", "v1", "kind", "Pod",
			 "metadata", "name", p->name, "namespace", in->namespace, "labels", "tekton.dev/taskRun",
			 in->name, "tekton.dev/task", in->task->name, "spec", "restartPolicy", "Never", "volumes",
			 volumes, "containers", containers);
}
