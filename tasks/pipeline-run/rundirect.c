/* The direct runtime: a step's static binary on the host (see runtime.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "imageref.h"
#include "log.h"
#include "params.h"
#include "runtime.h"
#include "xalloc.h"

/* Kept from our own environment: they change how the sanitizers report,
 * never what a task does. */
static const char *const passthrough[] = { "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", NULL };

/* "ghcr.io/org/git-clone:0.1.0@sha256:..." -> "git-clone" */
static char *image_program(const char *image)
{
	struct image_ref r = { 0 };
	char *name = NULL;
	err_t *e = imageref_parse(image, &r);
	if (!e) {
		const char *slash = strrchr(r.repository, '/');
		name = xstrdup(slash ? slash + 1 : r.repository);
	}
	err_free(e);
	imageref_free(&r);
	return name;
}

static err_t *resolve_program(const struct step_run *r, char **out)
{
	const struct pod_step *ps = r->step;
	const char *mapped = image_map_find(r->o, ps->image);
	if (ps->script)
		return err_new(EXIT_USAGE, "step %s: a script runs in its image, not directly: use --runtime=crun",
			       ps->def->name);
	if (!ps->argc)
		return err_new(EXIT_USAGE, "step %s: no command: the direct runtime runs the step's command",
			       ps->def->name);
	if (mapped) {
		if (access(mapped, X_OK) < 0)
			return err_errno(EXIT_USAGE, "--image-map %s=%s", ps->image, mapped);
		*out = xstrdup(mapped);
		return NULL;
	}
	const char *base = strrchr(ps->argv[0], '/');
	base = base ? base + 1 : ps->argv[0];
	_cleanup_free_ char *name = !strcmp(base, "task") ? image_program(ps->image) : xstrdup(base);
	if (!name || !*name)
		return err_new(EXIT_USAGE, "step %s: cannot tell the program of image %s", ps->def->name, ps->image);
	err_t *e = subprocess_find(name, r->o->bin_dir, out);
	return e ? err_wrap(e, "step %s: image %s (--image-map IMAGE=BINARY, or --runtime=crun)", ps->def->name,
			    ps->image)
		 : NULL;
}

/* Workspaces mounted inside HOME (git-clone's ssh-directory at
 * /tekton/home/.ssh): links in the run's home to their directories. */
err_t *direct_prepare(const struct pod *host_pod, const char *home)
{
	const size_t hl = strlen(POD_HOME_PATH);
	for (size_t i = 0; i < host_pod->nmounts; i++) {
		const struct pod_mount *m = &host_pod->mounts[i];
		if (strncmp(m->path, POD_HOME_PATH "/", hl + 1))
			continue;
		_cleanup_free_ char *link = xasprintf("%s/%s", home, m->path + hl + 1);
		_cleanup_free_ char *parent = xstrdup(link);
		*strrchr(parent, '/') = '\0';
		TRY(fs_mkdir_p(parent, 0755));
		if (symlink(m->host, link) < 0)
			return err_errno(EXIT_FAILED, "cannot link %s to %s", link, m->host);
	}
	return NULL;
}

/* A literal Pod path (not from a variable) in workingDir, seen from the host. */
static char *host_path(const struct pod *p, const char *path)
{
	const struct pod_mount *m = pod_mount_of(p, path);
	if (!m || !strncmp(path, m->host, strlen(m->host)))
		return xstrdup(path);
	return xasprintf("%s%s", m->host, path + strlen(m->path));
}

static char **step_env(const struct step_run *r)
{
	const struct pod_step *ps = r->step;
	const struct pod_mount *results = pod_mount_of(r->pod, POD_RESULTS_PATH);
	size_t n = 0;
	char **env = xcalloc(ps->nenv + 8, sizeof *env);
	env[n++] = xstrdup("PATH=" OCI_DEFAULT_PATH);
	for (size_t i = 0; passthrough[i]; i++) {
		const char *v = getenv(passthrough[i]);
		if (v)
			env[n++] = xasprintf("%s=%s", passthrough[i], v);
	}
	/* our binaries write results to /tekton/results when it exists; on
	 * the host they are told where it is */
	env[n++] = xasprintf(PARAMS_ENV_PREFIX "RESULTS_DIR=%s", results->host);
	for (size_t i = 0; i < ps->nenv; i++) {
		size_t len = strlen(ps->env[i].name);
		for (size_t k = 0; k < n; k++)
			if (!strncmp(env[k], ps->env[i].name, len) && env[k][len] == '=') {
				free(env[k]);
				env[k] = env[--n];
				break;
			}
		env[n++] = xasprintf("%s=%s", ps->env[i].name, ps->env[i].value);
	}
	env[n] = NULL;
	return env;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++) {
		explicit_bzero(v[i], strlen(v[i]));
		free(v[i]);
	}
	free(v);
}

err_t *direct_run(const struct step_run *r, int *exit_code)
{
	const struct pod_step *ps = r->step;
	_cleanup_free_ char *program = NULL;
	TRY(resolve_program(r, &program));
	const struct pod_mount *home = pod_mount_of(r->pod, POD_HOME_PATH);
	_cleanup_free_ char *cwd = ps->working_dir ? host_path(r->pod, ps->working_dir) : xstrdup(home->host);
	char **env = step_env(r);
	char *saved = ps->argv[0];
	ps->argv[0] = program;
	log_debug("step %s: %s (in %s)", ps->def->name, program, cwd);
	err_t *e = step_check_arg_lengths(ps->argv, env);
	if (!e)
		e = subprocess_run(ps->argv, env, r->out_fd, cwd, NULL, exit_code);
	ps->argv[0] = saved;
	free_strv(env);
	return e ? err_wrap(e, "step %s", ps->def->name) : NULL;
}
