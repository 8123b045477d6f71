/* The crun runtime: a step in its image, as an OCI container (see
 * runtime.h). The image comes from --image-map (an OCI layout or archive,
 * or a directory that is a root filesystem), else from the image cache by
 * the digest the reference pins, else it is pulled from its registry with
 * our image-copy into the cache's layout; unpacked once per manifest
 * digest (common/imageroot). */
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/magic.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "imageref.h"
#include "imageroot.h"
#include "log.h"
#include "runtime.h"
#include "xalloc.h"

/* What containerd and Docker give a container unless told otherwise. */
static const char *const default_caps[] = {
	"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",	     "CAP_MKNOD",     "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID",	  "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
	"CAP_KILL",   "CAP_AUDIT_WRITE",  NULL,
};

/* RuntimeDefault: what moby's default profile refuses to a container
 * with the default capabilities (profiles/seccomp/default.json), as a
 * deny list; clone with CLONE_NEWUSER too, clone3 is ENOSYS so that libc
 * falls back to clone, whose flags the filter sees. */
static const char *const denied_syscalls[] = {
	"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
	"finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "get_mempolicy",
	"init_module", "io_uring_enter", "io_uring_register", "io_uring_setup", "ioperm", "iopl", "kcmp",
	"kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind", "mount", "mount_setattr",
	"move_mount", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree",
	"perf_event_open", "pidfd_getfd", "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace",
	"query_module", "quotactl", "quotactl_fd", "reboot", "request_key", "set_mempolicy", "setns",
	"settimeofday", "stime", "swapoff", "swapon", "syslog", "sysfs", "_sysctl", "umount", "umount2",
	"unshare", "uselib", "userfaultfd", "ustat", "vm86", "vm86old", NULL,
};

static const char *const masked_paths[] = {
	"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
	"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	NULL,
};
static const char *const readonly_paths[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
					      "/proc/sysrq-trigger", NULL };

static json_t *strv_json(const char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static bool listed(const struct tk_strs *s, const char *cap)
{
	for (size_t i = 0; s && i < s->n; i++) {
		const char *c = s->v[i];
		if (!strcasecmp(c, "ALL") || !strcasecmp(c, cap) || (!strncasecmp(cap, "CAP_", 4) && !strcasecmp(c, cap + 4)))
			return true;
	}
	return false;
}

/* The default set, minus capabilities.drop, plus capabilities.add. */
static json_t *capabilities(const struct pod_step *ps)
{
	json_t *set = json_array();
	for (size_t i = 0; default_caps[i]; i++)
		if (!listed(ps->cap_drop, default_caps[i]))
			json_array_append_new(set, json_string(default_caps[i]));
	for (size_t i = 0; ps->cap_add && i < ps->cap_add->n; i++) {
		const char *c = ps->cap_add->v[i];
		char *name = strncasecmp(c, "CAP_", 4) ? xasprintf("CAP_%s", c) : xstrdup(c);
		for (char *p = name; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		json_array_append_new(set, json_string(name));
		free(name);
	}
	return set;
}

static json_t *seccomp_runtime_default(void)
{
	json_t *deny = json_pack("{s:o,s:s,s:i}", "names", strv_json(denied_syscalls), "action", "SCMP_ACT_ERRNO",
				 "errnoRet", EPERM);
	json_t *userns = json_pack("{s:[s],s:s,s:i,s:[{s:i,s:i,s:i,s:s}]}", "names", "clone", "action",
				   "SCMP_ACT_ERRNO", "errnoRet", EPERM, "args", "index", 0, "value", 0x10000000,
				   "valueTwo", 0x10000000, "op", "SCMP_CMP_MASKED_EQ");
	json_t *clone3 = json_pack("{s:[s],s:s,s:i}", "names", "clone3", "action", "SCMP_ACT_ERRNO", "errnoRet", ENOSYS);
	return json_pack("{s:s,s:[s,s,s],s:[o,o,o]}", "defaultAction", "SCMP_ACT_ALLOW", "architectures",
			 "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "syscalls", deny, userns, clone3);
}

static json_t *mount_json(const char *dest, const char *type, const char *src, const char *const *opts)
{
	return json_pack("{s:s,s:s,s:s,s:o}", "destination", dest, "type", type, "source", src, "options",
			 strv_json(opts));
}

static json_t *mounts(const struct pod *p, const struct pod_step *ps)
{
	static const char *const dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
	static const char *const pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL };
	static const char *const shm[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL };
	static const char *const mq[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const sys[] = { "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const tmp[] = { "nosuid", "nodev", "mode=1777", NULL };
	static const char *const ro[] = { "rbind", "ro", "nosuid", "nodev", NULL };
	static const char *const rw[] = { "rbind", "rw", "nosuid", "nodev", NULL };
	json_t *m = json_array();
	json_array_append_new(m, json_pack("{s:s,s:s,s:s}", "destination", "/proc", "type", "proc", "source", "proc"));
	json_array_append_new(m, mount_json("/dev", "tmpfs", "tmpfs", dev));
	json_array_append_new(m, mount_json("/dev/pts", "devpts", "devpts", pts));
	json_array_append_new(m, mount_json("/dev/shm", "tmpfs", "shm", shm));
	json_array_append_new(m, mount_json("/dev/mqueue", "mqueue", "mqueue", mq));
	json_array_append_new(m, mount_json("/sys", "sysfs", "sysfs", sys));
	/* the host's network (no network namespace): its names too */
	if (access("/etc/hosts", R_OK) == 0)
		json_array_append_new(m, mount_json("/etc/hosts", "bind", "/etc/hosts", ro));
	if (access("/etc/resolv.conf", R_OK) == 0)
		json_array_append_new(m, mount_json("/etc/resolv.conf", "bind", "/etc/resolv.conf", ro));
	/* the cached root stays read-only; a step that may write its root
	 * gets a /tmp instead */
	if (!ps->read_only_root)
		json_array_append_new(m, mount_json("/tmp", "tmpfs", "tmpfs", tmp));
	for (size_t i = 0; i < p->nmounts; i++)
		json_array_append_new(m, mount_json(p->mounts[i].path, "bind", p->mounts[i].host,
						    p->mounts[i].read_only ? ro : rw));
	return m;
}

/* uid[:gid] of the image's USER; a name is not looked up here. */
static err_t *image_user(const struct pod_step *ps, const struct image_root *img, long long *uid, long long *gid)
{
	*uid = ps->run_as_user;
	*gid = ps->run_as_group;
	if (*uid < 0) {
		char *end;
		const char *u = img->user && *img->user ? img->user : "0";
		*uid = strtoll(u, &end, 10);
		if (end == u || (*end && *end != ':') || *uid < 0)
			return err_new(EXIT_USAGE,
				       "step %s: the image's user '%s' is not numeric: set securityContext.runAsUser",
				       ps->def->name, u);
		if (*end == ':' && *gid < 0)
			*gid = strtoll(end + 1, NULL, 10);
	}
	if (*gid < 0)
		*gid = *uid == 0 ? 0 : *uid;
	if (ps->run_as_non_root && *uid == 0)
		return err_new(EXIT_USAGE, "step %s: runAsNonRoot is set and the image will run as root (uid 0): the "
					   "kubelet refuses to start it",
			       ps->def->name);
	return NULL;
}

static json_t *process_env(const struct pod *p, const struct pod_step *ps, const struct image_root *img)
{
	json_t *env = json_array();
	bool path = false;
	for (char **e = img->env; e && *e; e++) {
		path |= !strncmp(*e, "PATH=", 5);
		json_array_append_new(env, json_string(*e));
	}
	if (!path)
		json_array_append_new(env, json_string("PATH=" RUNTIME_DEFAULT_PATH));
	char *host = xasprintf("HOSTNAME=%.63s", p->name);
	json_array_append_new(env, json_string(host));
	free(host);
	for (size_t i = 0; i < ps->nenv; i++) {
		char *kv = xasprintf("%s=%s", ps->env[i].name, ps->env[i].value);
		json_array_append_new(env, json_string(kv));
		explicit_bzero(kv, strlen(kv));
		free(kv);
	}
	return env;
}

static err_t *bundle_config(const struct step_run *r, const struct image_root *img, json_t **out)
{
	const struct pod_step *ps = r->step;
	long long uid, gid;
	TRY(image_user(ps, img, &uid, &gid));
	json_t *caps = capabilities(ps);
	json_t *process = json_pack("{s:b,s:{s:I,s:I},s:o,s:o,s:s,s:{s:O,s:O,s:O},s:b}", "terminal", 0, "user", "uid",
				    (json_int_t)uid, "gid", (json_int_t)gid, "args",
				    strv_json((const char *const *)ps->argv), "env", process_env(r->pod, ps, img), "cwd",
				    ps->working_dir ? ps->working_dir : img->workdir, "capabilities", "bounding", caps,
				    "effective", caps, "permitted", caps, "noNewPrivileges", !ps->allow_privilege_escalation);
	json_decref(caps);
	json_t *ns = json_pack("[{s:s},{s:s},{s:s},{s:s}]", "type", "pid", "type", "ipc", "type", "uts", "type", "mount");
	json_t *linux_ = json_pack("{s:o,s:o,s:o}", "namespaces", ns, "maskedPaths", strv_json(masked_paths),
				   "readonlyPaths", strv_json(readonly_paths));
	if (geteuid() != 0) {
		/* rootless: the step's uid is ours, in a user namespace */
		json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
		json_object_set_new(linux_, "uidMappings", json_pack("[{s:I,s:I,s:i}]", "containerID", (json_int_t)uid,
								     "hostID", (json_int_t)geteuid(), "size", 1));
		json_object_set_new(linux_, "gidMappings", json_pack("[{s:I,s:I,s:i}]", "containerID", (json_int_t)gid,
								     "hostID", (json_int_t)getegid(), "size", 1));
	}
	if (ps->seccomp && !strcmp(ps->seccomp, "RuntimeDefault"))
		json_object_set_new(linux_, "seccomp", seccomp_runtime_default());
	char hostname[64];
	snprintf(hostname, sizeof hostname, "%.63s", r->pod->name);
	*out = json_pack("{s:s,s:o,s:{s:s,s:b},s:s,s:o,s:o}", "ociVersion", "1.0.2", "process", process, "root", "path",
			 img->root, "readonly", 1, "hostname", hostname, "mounts", mounts(r->pod, ps), "linux", linux_);
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
	TRY(runtime_find_program("image-copy", r->o->bin_dir, &program));
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
	err_t *e = runtime_spawn(argv, NULL, r->out_fd, NULL, NULL, &code);
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

/* crun finds "hybrid" cgroups (v1 controllers with a cgroup2 mount at
 * /sys/fs/cgroup/unified) unusable even with cgroups disabled; a private
 * mount namespace without that mount is pure v1 to it. */
static bool hybrid_cgroups(void)
{
	struct statfs a, b;
	return statfs("/sys/fs/cgroup", &a) == 0 && a.f_type == TMPFS_MAGIC && statfs("/sys/fs/cgroup/unified", &b) == 0 &&
	       b.f_type == CGROUP2_SUPER_MAGIC;
}

static int hide_unified(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    umount2("/sys/fs/cgroup/unified", MNT_DETACH) < 0)
		return -1;
	return 0;
}

err_t *crun_run(const struct step_run *r, int *exit_code)
{
	const struct pod_step *ps = r->step;
	if (!ps->argc)
		return err_new(EXIT_USAGE, "step %s: no command: pipeline-run does not read the image's entrypoint",
			       ps->def->name);
	char *crun = NULL;
	TRY(runtime_find_program("crun", NULL, &crun));
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
		e = runtime_spawn(argv, NULL, r->out_fd, NULL, geteuid() == 0 && hybrid_cgroups() ? hide_unified : NULL,
				  exit_code);
	}
	image_root_remove(&img);
	free(crun);
	return e;
}
