/* An OCI runtime bundle's config.json (see ocibundle.h). */
#include "ocibundle.h"

#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

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
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static bool listed(char *const *v, size_t n, const char *cap)
{
	for (size_t i = 0; i < n; i++) {
		const char *c = v[i];
		if (!strcasecmp(c, "ALL") || !strcasecmp(c, cap) || (!strncasecmp(cap, "CAP_", 4) && !strcasecmp(c, cap + 4)))
			return true;
	}
	return false;
}

/* The default set, minus the dropped, plus the added. */
static json_t *capabilities(const struct oci_container *c)
{
	json_t *set = json_array();
	for (size_t i = 0; default_caps[i]; i++)
		if (!listed(c->cap_drop, c->ncap_drop, default_caps[i]))
			json_array_append_new(set, json_string(default_caps[i]));
	for (size_t i = 0; i < c->ncap_add; i++) {
		const char *a = c->cap_add[i];
		char *name = strncasecmp(a, "CAP_", 4) ? xasprintf("CAP_%s", a) : xstrdup(a);
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

static json_t *mounts(const struct oci_container *c)
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
	/* the cached root stays read-only; a container that may write its
	 * root gets a /tmp instead */
	if (!c->read_only_root)
		json_array_append_new(m, mount_json("/tmp", "tmpfs", "tmpfs", tmp));
	for (size_t i = 0; i < c->nmounts; i++)
		json_array_append_new(m, mount_json(c->mounts[i].dest, "bind", c->mounts[i].host,
						    c->mounts[i].read_only ? ro : rw));
	return m;
}

err_t *oci_user(const char *image_user, long long run_as_user, long long run_as_group, bool non_root,
		const char *what, long long *uid, long long *gid)
{
	*uid = run_as_user;
	*gid = run_as_group;
	if (*uid < 0) {
		char *end;
		const char *u = image_user && *image_user ? image_user : "0";
		*uid = strtoll(u, &end, 10);
		if (end == u || (*end && *end != ':') || *uid < 0)
			return err_new(EXIT_USAGE, "%s: the image's user '%s' is not numeric: set securityContext.runAsUser",
				       what, u);
		if (*end == ':' && *gid < 0)
			*gid = strtoll(end + 1, NULL, 10);
	}
	if (*gid < 0)
		*gid = *uid == 0 ? 0 : *uid;
	if (non_root && *uid == 0)
		return err_new(EXIT_USAGE, "%s: runAsNonRoot is set and the image will run as root (uid 0): the "
					   "kubelet refuses to start it",
			       what);
	return NULL;
}

static json_t *process_env(const struct oci_container *c)
{
	json_t *env = json_array();
	bool path = false;
	for (char *const *e = c->image_env; e && *e; e++) {
		path |= !strncmp(*e, "PATH=", 5);
		json_array_append_new(env, json_string(*e));
	}
	if (!path)
		json_array_append_new(env, json_string("PATH=" OCI_DEFAULT_PATH));
	char *host = xasprintf("HOSTNAME=%.63s", c->hostname);
	json_array_append_new(env, json_string(host));
	free(host);
	for (char *const *e = c->env; e && *e; e++)
		json_array_append_new(env, json_string(*e));
	return env;
}

json_t *oci_bundle_config(const struct oci_container *c)
{
	json_t *caps = capabilities(c);
	json_t *process = json_pack("{s:b,s:{s:I,s:I},s:o,s:o,s:s,s:{s:O,s:O,s:O},s:b}", "terminal", 0, "user", "uid",
				    (json_int_t)c->uid, "gid", (json_int_t)c->gid, "args",
				    strv_json((const char *const *)c->argv), "env", process_env(c), "cwd", c->cwd,
				    "capabilities", "bounding", caps, "effective", caps, "permitted", caps,
				    "noNewPrivileges", !c->allow_privilege_escalation);
	json_decref(caps);
	json_t *ns = json_pack("[{s:s},{s:s},{s:s},{s:s}]", "type", "pid", "type", "ipc", "type", "uts", "type", "mount");
	json_t *linux_ = json_pack("{s:o,s:o,s:o}", "namespaces", ns, "maskedPaths", strv_json(masked_paths),
				   "readonlyPaths", strv_json(readonly_paths));
	if (geteuid() != 0) {
		/* rootless: the container's uid is ours, in a user namespace */
		json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
		json_object_set_new(linux_, "uidMappings", json_pack("[{s:I,s:I,s:i}]", "containerID", (json_int_t)c->uid,
								     "hostID", (json_int_t)geteuid(), "size", 1));
		json_object_set_new(linux_, "gidMappings", json_pack("[{s:I,s:I,s:i}]", "containerID", (json_int_t)c->gid,
								     "hostID", (json_int_t)getegid(), "size", 1));
	}
	if (c->seccomp_runtime_default)
		json_object_set_new(linux_, "seccomp", seccomp_runtime_default());
	char hostname[64];
	snprintf(hostname, sizeof hostname, "%.63s", c->hostname);
	return json_pack("{s:s,s:o,s:{s:s,s:b},s:s,s:o,s:o}", "ociVersion", "1.0.2", "process", process, "root", "path",
			 c->root, "readonly", 1, "hostname", hostname, "mounts", mounts(c), "linux", linux_);
}

bool oci_hybrid_cgroups(void)
{
	struct statfs a, b;
	return statfs("/sys/fs/cgroup", &a) == 0 && a.f_type == TMPFS_MAGIC && statfs("/sys/fs/cgroup/unified", &b) == 0 &&
	       b.f_type == CGROUP2_SUPER_MAGIC;
}

int oci_hide_unified(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    umount2("/sys/fs/cgroup/unified", MNT_DETACH) < 0)
		return -1;
	return 0;
}
