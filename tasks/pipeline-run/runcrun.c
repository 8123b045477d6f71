/* The crun runtime: a step in its image, as an OCI container (see
 * runtime.h). The image comes from --image-map (an OCI layout or archive,
 * or a directory that is a root filesystem), else from the image cache by
 * the digest the reference pins, else it is pulled from its registry with
 * our image-copy into the cache's layout; unpacked once per manifest
 * digest (common/imageroot). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "imageref.h"
#include "imageroot.h"
#include "log.h"
#include "runtime.h"
#include "xalloc.h"

/* The step as a container (common/ocibundle). */
static err_t *bundle_config(const struct step_run *r, const struct image_root *img, json_t **out)
{
	const struct pod_step *ps = r->step;
	_cleanup_free_ char *what = xasprintf("step %s", ps->def->name);
	long long uid, gid;
	TRY(oci_user(img->user, ps->run_as_user, ps->run_as_group, ps->run_as_non_root, what, &uid, &gid));
	char **env = xcalloc(ps->nenv + 1, sizeof *env);
	for (size_t i = 0; i < ps->nenv; i++)
		env[i] = xasprintf("%s=%s", ps->env[i].name, ps->env[i].value);
	/* crun's execve in the container meets the kernel's limit too */
	err_t *e = err_context(step_check_arg_lengths(NULL, env), "%s", what);
	struct oci_mount *m = xcalloc(r->pod->nmounts + 1, sizeof *m);
	for (size_t i = 0; i < r->pod->nmounts; i++)
		m[i] = (struct oci_mount){ r->pod->mounts[i].path, r->pod->mounts[i].host, r->pod->mounts[i].read_only };
	struct oci_container c = {
		.root = img->root,
		.hostname = r->pod->name,
		.argv = ps->argv,
		.image_env = img->env,
		.env = env,
		.cwd = ps->working_dir ? ps->working_dir : img->workdir,
		.uid = uid,
		.gid = gid,
		.cap_drop = ps->cap_drop ? ps->cap_drop->v : NULL,
		.ncap_drop = ps->cap_drop ? ps->cap_drop->n : 0,
		.cap_add = ps->cap_add ? ps->cap_add->v : NULL,
		.ncap_add = ps->cap_add ? ps->cap_add->n : 0,
		.allow_privilege_escalation = ps->allow_privilege_escalation,
		.seccomp_runtime_default = ps->seccomp && !strcmp(ps->seccomp, "RuntimeDefault"),
		.read_only_root = ps->read_only_root,
		.mounts = m,
		.nmounts = r->pod->nmounts,
	};
	*out = e ? NULL : oci_bundle_config(&c);
	for (size_t i = 0; i < ps->nenv; i++) {
		explicit_bzero(env[i], strlen(env[i]));
		free(env[i]);
	}
	free(env);
	free(m);
	if (e)
		return e;
	if (!*out)
		return err_new(EXIT_FAILED, "step %s: cannot build the OCI config", ps->def->name);
	return NULL;
}

static char *cache_dir(const struct taskrun_options *o)
{
	if (o->cache_dir)
		return xstrdup(o->cache_dir);
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (xdg && *xdg == '/')
		return xasprintf("%s/pipeline-run/images", xdg);
	return xasprintf("%s/.cache/pipeline-run/images", home && *home == '/' ? home : "/var/cache");
}

/* Pull a registry image with our image-copy into the cache's layout. */
static err_t *pull(const struct step_run *r, const char *cache, char **layout_ref)
{
	const char *image = r->step->image;
	char *program = NULL;
	TRY(subprocess_find("image-copy", r->o->bin_dir, &program));
	char hex[DIGEST_SIZE];
	digest_buffer(image, strlen(image), hex);
	_cleanup_free_ char *dir = xasprintf("%s/pulled", cache);
	*layout_ref = xasprintf("oci:%s:%.24s", dir, digest_hex(hex));
	_cleanup_free_ char *src = xasprintf("--src=docker://%s", image);
	_cleanup_free_ char *dest = xasprintf("--dest=%s", *layout_ref);
	_cleanup_free_ char *ca = r->o->registry_ca_file ? xasprintf("--ca-file=%s", r->o->registry_ca_file) : NULL;
	char *argv[] = { program, src, dest, r->o->registry_insecure ? "--insecure" : "--insecure=false", ca, NULL };
	log_info("pulling %s", image);
	int code = 0;
	err_t *e = subprocess_run(argv, NULL, r->out_fd, NULL, NULL, &code);
	free(program);
	if (!e && code)
		e = err_new(code <= EXIT_UNREACHABLE ? code : EXIT_FAILED, "step %s: pulling %s failed (image-copy exit %d)",
			    r->step->def->name, image, code);
	return e;
}

static err_t *step_image(const struct step_run *r, struct image_root *img)
{
	const char *image = r->step->image;
	const char *mapped = image_map_find(r->o, image);
	_cleanup_free_ char *cache = cache_dir(r->o);
	if (mapped && !strncmp(mapped, "dir:", 4)) {
		memset(img, 0, sizeof *img);
		img->root = xstrdup(mapped + 4);
		img->cached = true; /* the caller's: never removed */
		img->env = xcalloc(1, sizeof *img->env);
		img->workdir = xstrdup("/");
		img->user = xstrdup("");
		return NULL;
	}
	if (mapped)
		return err_context(image_root_cached(mapped, cache, img), "step %s: image %s (%s)", r->step->def->name,
				   image, mapped);
	struct image_ref ref = { 0 };
	err_t *e = imageref_parse(image, &ref);
	bool hit = !e && ref.digest && image_root_from_cache(cache, ref.digest, img);
	imageref_free(&ref);
	if (e || hit)
		return e;
	_cleanup_free_ char *layout = NULL;
	TRY(pull(r, cache, &layout));
	return err_context(image_root_cached(layout, cache, img), "step %s: image %s", r->step->def->name, image);
}

err_t *crun_run(const struct step_run *r, int *exit_code)
{
	const struct pod_step *ps = r->step;
	if (!ps->argc)
		return err_new(EXIT_USAGE, "step %s: no command: pipeline-run does not read the image's entrypoint",
			       ps->def->name);
	TRY(err_context(step_check_arg_lengths(ps->argv, NULL), "step %s", ps->def->name));
	char *crun = NULL;
	TRY(subprocess_find("crun", NULL, &crun));
	struct image_root img = { 0 };
	json_t *config = NULL;
	err_t *e = step_image(r, &img);
	if (!e)
		e = bundle_config(r, &img, &config);
	_cleanup_free_ char *bundle = xasprintf("%s/bundle-%s", r->run_dir, ps->def->name);
	_cleanup_free_ char *state = xasprintf("%s/crun", r->run_dir);
	_cleanup_free_ char *id = xasprintf("%.40s-%.20s-%d", r->pod->name, ps->def->name, (int)getpid());
	if (!e)
		e = fs_mkdir_p(bundle, 0700);
	if (!e) {
		char *text = json_dumps(config, JSON_COMPACT);
		e = fs_write_atomic(bundle, "config.json", text, strlen(text), 0600);
		explicit_bzero(text, strlen(text));
		free(text);
	}
	json_decref(config);
	if (!e) {
		_cleanup_free_ char *root_opt = xasprintf("--root=%s", state);
		_cleanup_free_ char *bundle_opt = xasprintf("--bundle=%s", bundle);
		char *argv[] = { crun, "--cgroup-manager=disabled", root_opt, "run", bundle_opt, id, NULL };
		log_debug("step %s: crun run %s (image root %s)", ps->def->name, id, img.root);
		e = subprocess_run(argv, NULL, r->out_fd, NULL, geteuid() == 0 && oci_hybrid_cgroups() ? oci_hide_unified : NULL,
				  exit_code);
	}
	image_root_remove(&img);
	free(crun);
	return e;
}
