/* The RUN executor (see runner.h). */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "caps.h"
#include "cleanup.h"
#include "log.h"
#include "rootfs.h"
#include "seccomp.h"
#include "strbuf.h"
#include "xalloc.h"

err_t *runner_parse_isolation(const char *s, enum isolation *out)
{
	if (!s || !*s || strcmp(s, "namespace") == 0 || strcmp(s, "oci") == 0 || strcmp(s, "rootless") == 0)
		*out = ISOLATION_NAMESPACE;
	else if (strcmp(s, "chroot") == 0)
		*out = ISOLATION_CHROOT;
	else
		return err_new(EXIT_USAGE, "isolation %s: use namespace or chroot", s);
	return NULL;
}

/* Things created in the root for the run and removed after it. */
struct scaffold {
	char *paths[16];
	bool is_dir[16];
	int n;
};

static void scaffold_add(struct scaffold *s, char *path, bool dir)
{
	if (s->n < 16) {
		s->paths[s->n] = path;
		s->is_dir[s->n++] = dir;
	} else {
		free(path);
	}
}

/* Make sure rootfs/rel exists as a real directory (or regular file), every
 * component a real directory, no symlink followed: then the host path
 * <rootfs>/<rel> is a safe mount target. What we create is remembered and
 * removed after the run. *usable is false when something of another type
 * (a symlink, a device) is in the way: that mount is skipped. */
static err_t *ensure(int root_fd, struct scaffold *s, const char *rel, bool dir, bool *usable)
{
	*usable = false;
	_cleanup_free_ char *copy = xstrdup(rel);
	int cur = dup(root_fd);
	if (cur < 0)
		return err_errno(EXIT_FAILED, "dup");
	char *p = copy;
	while (p && *p) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		bool last = !slash;
		bool want_dir = !last || dir;
		struct stat st;
		if (fstatat(cur, p, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT) {
				close(cur);
				return err_errno(EXIT_FAILED, "cannot prepare %s in the build root", rel);
			}
			int rc;
			if (want_dir) {
				rc = mkdirat(cur, p, 0755);
			} else {
				rc = openat(cur, p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
				if (rc >= 0)
					close(rc);
			}
			if (rc < 0) {
				close(cur);
				return err_errno(EXIT_FAILED, "cannot create %s in the build root", rel);
			}
			size_t len = (size_t)(p - copy) + strlen(p);
			scaffold_add(s, xstrndup(rel, len), want_dir);
		} else if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
			close(cur);
			return NULL;
		}
		if (!last) {
			int next = openat(cur, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			close(cur);
			if (next < 0)
				return NULL;
			cur = next;
			*slash = '/';
			p = slash + 1;
		} else {
			p = NULL;
		}
	}
	close(cur);
	*usable = true;
	return NULL;
}

static void scaffold_remove(int root_fd, struct scaffold *s)
{
	for (int i = s->n - 1; i >= 0; i--) {
		int dfd;
		const char *base;
		err_t *e = rootfs_open_parent(root_fd, s->paths[i], false, 0, 0, &dfd, &base);
		if (e) {
			err_free(e);
		} else {
			struct stat st;
			/* only what is still ours and untouched: an empty dir or an
			 * empty regular file */
			if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
				if (s->is_dir[i] && S_ISDIR(st.st_mode))
					unlinkat(dfd, base, AT_REMOVEDIR); /* fails if not empty: kept */
				else if (!s->is_dir[i] && S_ISREG(st.st_mode) && st.st_size == 0)
					unlinkat(dfd, base, 0);
			}
			close(dfd);
		}
		free(s->paths[i]);
	}
	s->n = 0;
}

/* The host's resolv.conf without its loopback resolvers (useless inside);
 * with slirp4netns: slirp's DNS (which forwards to the host's resolvers)
 * and the host's search and options lines only. */
static char *step_resolv_conf(enum run_net net)
{
	struct strbuf sb = STRBUF_INIT;
	if (net == RUN_NET_SLIRP)
		sb_adds(&sb, "nameserver " SLIRP_DNS "\n");
	FILE *f = fopen("/etc/resolv.conf", "re");
	if (f) {
		char line[512];
		while (fgets(line, sizeof line, f)) {
			if (strncmp(line, "nameserver 127.", 15) == 0 ||
			    (net == RUN_NET_SLIRP && strncmp(line, "nameserver", 10) == 0))
				continue;
			sb_adds(&sb, line);
		}
		fclose(f);
	}
	return sb_detach(&sb);
}

/* /etc/hosts as Docker writes it; the step's own address with slirp4netns */
static char *step_hosts(enum run_net net, const char *hostname)
{
	return xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
			 "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n%s\t%s\n",
			 net == RUN_NET_SLIRP ? SLIRP_GUEST : "127.0.1.1", hostname);
}

static err_t *write_temp(const char *dir, const char *name, const char *text, char **out)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_t *e = err_errno(EXIT_FAILED, "cannot write %s", path);
		free(path);
		return e;
	}
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	close(fd);
	if (w != (ssize_t)len) {
		free(path);
		return err_errno(EXIT_FAILED, "cannot write %s", name);
	}
	*out = path;
	return NULL;
}

/* ---- inside the child (after fork): no allocation-heavy work, report
 * failures on the error pipe and _exit ---- */

static void child_fail(int errfd, const char *what)
{
	char msg[512];
	int n = snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
	if (n > 0 && write(errfd, msg, (size_t)n) < 0) {
		/* nothing more to do */
	}
	_exit(127);
}

struct child_ctx {
	const struct run_spec *spec;
	const char *resolv, *hosts; /* host paths of generated files */
	struct rootfs_user user;
	int root_fd;
	int errfd;   /* write end: setup failure text */
	int outfd;   /* write end: the command's stdout+stderr */
	char **envp;
	int tree_fd; /* started as root: the id-mapped clone of the build root */
	/* slirp4netns: the child says its network namespace exists on
	 * net_made (write end); pid 1 waits on net_go (read end) for the
	 * parent to say tap0 is configured; the other ends are the parent's */
	int net_made[2], net_go[2];
	bool use_proc, use_dev, use_resolv, use_hosts, use_sys;
};

static void bind_file(int errfd, const char *src, const char *dst, bool ro)
{
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		child_fail(errfd, dst);
	if (ro && mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
		/* best effort: a locked mount may refuse remount */
	}
}

static void setup_dev(struct child_ctx *c, const char *dev)
{
	char p[4096];
	/* owned by the step's root (mounted by the host's root when the step
	 * has a user namespace of its own) */
	char opts[128];
	const struct run_userns *u = c->spec->userns;
	snprintf(opts, sizeof opts, "size=65536k,uid=%lu,gid=%lu", u ? u->uid_base : 0, u ? u->gid_base : 0);
	char devopts[160];
	snprintf(devopts, sizeof devopts, "mode=755,%s", opts);
	if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, devopts) < 0)
		child_fail(c->errfd, "mount /dev");
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
		char src[64];
		snprintf(src, sizeof src, "/dev/%s", nodes[i]);
		if (snprintf(p, sizeof p, "%s/%s", dev, nodes[i]) >= (int)sizeof p)
			child_fail(c->errfd, "path too long");
		int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
		if (fd < 0)
			child_fail(c->errfd, p);
		close(fd);
		if (mount(src, p, NULL, MS_BIND, NULL) < 0 && strcmp(nodes[i], "tty") != 0)
			child_fail(c->errfd, p);
	}
	static const char *const links[][2] = {
		{ "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
		{ "pts/ptmx", "ptmx" },
	};
	for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
		if (snprintf(p, sizeof p, "%s/%s", dev, links[i][1]) >= (int)sizeof p)
			child_fail(c->errfd, "path too long");
		if (symlink(links[i][0], p) < 0)
			child_fail(c->errfd, p);
	}
	if (snprintf(p, sizeof p, "%s/shm", dev) >= (int)sizeof p)
		child_fail(c->errfd, "path too long");
	snprintf(devopts, sizeof devopts, "mode=1777,%s", opts);
	if (mkdir(p, 01777) == 0)
		mount("shm", p, "tmpfs", MS_NOSUID | MS_NODEV, devopts);
	if (snprintf(p, sizeof p, "%s/pts", dev) >= (int)sizeof p)
		child_fail(c->errfd, "path too long");
	if (mkdir(p, 0755) == 0)
		mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620");
}

/* Docker's masked and read-only paths (moby oci/defaults.go), relative to
 * the build root before the pivot: a masked directory gets an empty
 * read-only tmpfs, a masked file /dev/null; a read-only path a read-only
 * bind of itself. */
static const char *const masked_paths[] = {
	"proc/acpi", "proc/kcore", "proc/keys", "proc/latency_stats", "proc/timer_list", "proc/timer_stats",
	"proc/sched_debug", "proc/scsi", "sys/firmware", "sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
	"proc/asound", "proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger",
};

/* only below the /proc and /sys we mounted: never through what the image
 * has there */
static bool ours(const struct child_ctx *c, const char *rel)
{
	return strncmp(rel, "proc/", 5) == 0 ? c->use_proc : c->use_sys;
}

static void mask_paths(struct child_ctx *c)
{
	char p[4096];
	struct stat st;
	for (size_t i = 0; i < sizeof masked_paths / sizeof *masked_paths; i++) {
		if (!ours(c, masked_paths[i]))
			continue;
		if (snprintf(p, sizeof p, "%s/%s", c->spec->rootfs, masked_paths[i]) >= (int)sizeof p)
			child_fail(c->errfd, "path too long");
		if (lstat(p, &st) < 0)
			continue; /* not on this kernel, or no /sys */
		int rc = S_ISDIR(st.st_mode)
				 ? mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=555")
				 : mount("/dev/null", p, NULL, MS_BIND, NULL);
		if (rc < 0)
			child_fail(c->errfd, p);
	}
	for (size_t i = 0; i < sizeof readonly_paths / sizeof *readonly_paths; i++) {
		if (!ours(c, readonly_paths[i]))
			continue;
		if (snprintf(p, sizeof p, "%s/%s", c->spec->rootfs, readonly_paths[i]) >= (int)sizeof p)
			child_fail(c->errfd, "path too long");
		if (lstat(p, &st) < 0)
			continue;
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			child_fail(c->errfd, p);
	}
}

/* /sys: a sysfs of our own, read-only; where that is refused (a user
 * namespace without its own network namespace) a read-only bind of the
 * host's; absent when neither works. */
static void setup_sys(struct child_ctx *c, const char *p)
{
	const unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount("sysfs", p, "sysfs", ro, NULL) == 0)
		return;
	if (mount("/sys", p, NULL, MS_BIND | MS_REC, NULL) < 0) {
		c->use_sys = false;
		return;
	}
	if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | ro, NULL) < 0) {
		if (umount2(p, MNT_DETACH) < 0)
			child_fail(c->errfd, "make /sys read-only");
		c->use_sys = false;
	}
}

/* RUN --network=none: an empty network namespace with loopback up. */
static void loopback_up(struct child_ctx *c)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		child_fail(c->errfd, "socket");
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		child_fail(c->errfd, "loopback flags");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		child_fail(c->errfd, "bring loopback up");
	close(fd);
}

static void setup_namespace_root(struct child_ctx *c)
{
	const char *root = c->spec->rootfs;
	char p[4096];
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(c->errfd, "make / private");
	if (c->spec->userns) {
		/* the id-mapped clone made in child_main, already nodev */
		if (move_mount(c->tree_fd, "", AT_FDCWD, root, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			child_fail(c->errfd, "attach the id-mapped build root");
	} else {
		if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
			child_fail(c->errfd, "bind the build root");
		/* device nodes an image brought are inert: only the /dev we build works */
		if (mount(NULL, root, NULL, MS_BIND | MS_REMOUNT | MS_NODEV, NULL) < 0)
			child_fail(c->errfd, "remount the build root nodev");
	}
	if (snprintf(p, sizeof p, "%s/proc", root) >= (int)sizeof p)
		child_fail(c->errfd, "path too long");
	if (c->use_proc && mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		child_fail(c->errfd, "mount /proc");
	if (snprintf(p, sizeof p, "%s/dev", root) >= (int)sizeof p)
		child_fail(c->errfd, "path too long");
	if (c->use_dev)
		setup_dev(c, p);
	if (snprintf(p, sizeof p, "%s/sys", root) >= (int)sizeof p)
		child_fail(c->errfd, "path too long");
	if (c->use_sys)
		setup_sys(c, p);
	mask_paths(c);
	if (snprintf(p, sizeof p, "%s/etc/resolv.conf", root) >= (int)sizeof p)
		child_fail(c->errfd, "path too long");
	/* writable, as in Docker: the files are this step's copies */
	if (c->use_resolv)
		bind_file(c->errfd, c->resolv, p, false);
	if (snprintf(p, sizeof p, "%s/etc/hosts", root) >= (int)sizeof p)
		child_fail(c->errfd, "path too long");
	if (c->use_hosts)
		bind_file(c->errfd, c->hosts, p, false);
	if (c->spec->network != RUN_NET_HOST)
		loopback_up(c);
	if (chdir(root) < 0)
		child_fail(c->errfd, "chdir to the build root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		child_fail(c->errfd, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		child_fail(c->errfd, "detach the old root");
	if (chdir("/") < 0)
		child_fail(c->errfd, "chdir /");
	const char *hn = c->spec->hostname ? c->spec->hostname : "containerize";
	if (sethostname(hn, strlen(hn)) < 0) {
		/* not fatal: the UTS namespace may be shared in chroot setups */
	}
}

/* Last steps before exec, in this order: a session of its own, into the
 * step's user namespace (started as root), capabilities bounded, the step's
 * user, capabilities set, inherited descriptors closed, no_new_privs, the
 * seccomp filter. */
static void exec_command(struct child_ctx *c)
{
	const struct run_spec *s = c->spec;
	bool chrooted = s->isolation == ISOLATION_CHROOT;
	uint64_t keep = chrooted ? CAPS_CHROOT : CAPS_RUN;
	/* no controlling terminal: TIOCSTI on the terminal of whoever started
	 * the build types commands into their shell */
	if (setsid() < 0)
		child_fail(c->errfd, "setsid");
	if (s->workdir && *s->workdir && chdir(s->workdir) < 0)
		child_fail(c->errfd, s->workdir);
	if (!chrooted && s->userns && setns(s->userns->fd, CLONE_NEWUSER) < 0)
		child_fail(c->errfd, "enter the RUN user namespace");
	if (caps_bound(keep) < 0)
		child_fail(c->errfd, "drop capabilities from the bounding set");
	if (setgroups((size_t)c->user.ngroups, c->user.groups) < 0 && errno != EPERM)
		child_fail(c->errfd, "setgroups");
	if (setgid(c->user.gid) < 0)
		child_fail(c->errfd, "setgid");
	if (setuid(c->user.uid) < 0)
		child_fail(c->errfd, "setuid");
	if (caps_set(keep) < 0)
		child_fail(c->errfd, "limit capabilities");
	/* the credential changes above cleared it: without it the step (pid 1
	 * of its namespace, or the chroot's command) outlives containerize */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(c->errfd, "PR_SET_PDEATHSIG");
	if (dup2(c->outfd, 1) < 0 || dup2(c->outfd, 2) < 0)
		child_fail(c->errfd, "redirect output");
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull >= 0)
		dup2(devnull, 0);
	else
		close(0);
	/* descriptors containerize inherited from its caller (a directory
	 * outside the root is a way out: fchdir, then ..) end here */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		child_fail(c->errfd, "close inherited descriptors");
	signal(SIGPIPE, SIG_DFL);
	extern char **environ;
	environ = c->envp;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(c->errfd, "no_new_privs");
	if (seccomp_install(chrooted ? SECCOMP_CHROOT : SECCOMP_NAMESPACE) < 0)
		child_fail(c->errfd, "install the seccomp filter");
	execvp(s->argv[0], (char *const *)s->argv);
	child_fail(c->errfd, s->argv[0]);
}

static int wait_child(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 127;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 127;
}

/* As the step's subreaper (chroot: no PID namespace ends them), kill what
 * it left running until no child is left: orphans are reparented to us,
 * listed in /proc/self/task/<pid>/children. */
static void kill_leftovers(void)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = '\0';
		for (char *p = buf, *end; *p; p = end) {
			long pid = strtol(p, &end, 10);
			if (end == p)
				break;
			if (pid > 0)
				kill((pid_t)pid, SIGKILL);
		}
		if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD)
			return;
	}
}

static void child_main(struct child_ctx *c)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	/* the parent's ends: pid 1 must see EOF on net_go when the parent
	 * gives up */
	if (c->net_made[0] >= 0)
		close(c->net_made[0]);
	if (c->net_go[1] >= 0)
		close(c->net_go[1]);
	if (c->spec->isolation == ISOLATION_CHROOT) {
		/* no PID namespace: what the step starts in the background would
		 * outlive the build (as the host's root, when we are) */
		if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
			child_fail(c->errfd, "become the step's subreaper");
		pid_t pid = fork();
		if (pid < 0)
			child_fail(c->errfd, "fork");
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (chroot(c->spec->rootfs) < 0)
				child_fail(c->errfd, "chroot");
			if (chdir("/") < 0)
				child_fail(c->errfd, "chdir /");
			if (c->spec->network == RUN_NET_NONE)
				child_fail(c->errfd, "RUN --network=none needs isolation=namespace");
			exec_command(c);
		}
		close(c->errfd);
		close(c->outfd);
		int st = wait_child(pid);
		kill_leftovers();
		_exit(st);
	}
	if (c->spec->userns) {
		/* started as root: the step sees the build root through a clone
		 * mapped to its user namespace, so what it writes keeps the
		 * owners it sees on disk */
		c->tree_fd = open_tree(AT_FDCWD, c->spec->rootfs, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (c->tree_fd < 0)
			child_fail(c->errfd, "clone the build root mount");
		struct mount_attr attr = {
			.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NODEV,
			.userns_fd = (unsigned long long)c->spec->userns->fd,
		};
		if (mount_setattr(c->tree_fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
			child_fail(c->errfd, "id-mapped mount of the build root (needs Linux 5.12 and a work-dir on "
					     "ext4, xfs, btrfs or tmpfs)");
	}
	/* started as root, these namespaces belong to the host's user
	 * namespace: the step, in its own, cannot mount, unmount or change
	 * anything in them */
	if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC |
		    (c->spec->network != RUN_NET_HOST ? CLONE_NEWNET : 0)) < 0)
		child_fail(c->errfd, "unshare mount/pid/network namespaces (try isolation=chroot)");
	if (c->net_made[1] >= 0) {
		/* the parent starts slirp4netns on our network namespace now,
		 * while pid 1 builds the root */
		if (write(c->net_made[1], "n", 1) != 1)
			child_fail(c->errfd, "tell the parent the network namespace exists");
		close(c->net_made[1]);
	}
	pid_t pid = fork();
	if (pid < 0)
		child_fail(c->errfd, "fork");
	if (pid == 0) {
		/* pid 1 of the new namespace */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setup_namespace_root(c);
		if (c->net_go[0] >= 0) {
			char b = 0;
			ssize_t n;
			while ((n = read(c->net_go[0], &b, 1)) < 0 && errno == EINTR)
				;
			if (n != 1) {
				errno = ENONET;
				child_fail(c->errfd, "the step's network (slirp4netns) was not set up");
			}
			close(c->net_go[0]);
		}
		exec_command(c);
	}
	close(c->errfd);
	close(c->outfd);
	_exit(wait_child(pid));
}

static char **build_env(const struct run_spec *s, const struct rootfs_user *u)
{
	bool have_path = false, have_home = false, have_hostname = false;
	char **envp = xcalloc(s->nenv + 4, sizeof *envp);
	size_t n = 0;
	for (size_t i = 0; i < s->nenv; i++) {
		have_path |= strncmp(s->env[i], "PATH=", 5) == 0;
		have_home |= strncmp(s->env[i], "HOME=", 5) == 0;
		have_hostname |= strncmp(s->env[i], "HOSTNAME=", 9) == 0;
		envp[n++] = xstrdup(s->env[i]);
	}
	if (!have_path)
		envp[n++] = xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	if (!have_home)
		envp[n++] = xasprintf("HOME=%s", u->home);
	if (!have_hostname && s->isolation == ISOLATION_NAMESPACE)
		envp[n++] = xasprintf("HOSTNAME=%s", s->hostname ? s->hostname : "containerize");
	envp[n] = NULL;
	return envp;
}

static void free_env(char **envp)
{
	for (char **e = envp; e && *e; e++)
		free(*e);
	free(envp);
}

/* Copy the command's output to stderr, keeping the last tail_size-1 bytes. */
static void pump_output(int fd, char *tail, size_t tail_size)
{
	char buf[8192];
	size_t have = 0;
	if (tail_size)
		tail[0] = '\0';
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (fwrite(buf, 1, (size_t)n, stderr) != (size_t)n) {
			/* keep draining so the command does not block */
		}
		if (tail_size > 1) {
			size_t cap = tail_size - 1, k = (size_t)n;
			const char *src = buf;
			if (k >= cap) {
				src += k - cap;
				k = cap;
				have = 0;
			} else if (have + k > cap) {
				size_t drop = have + k - cap;
				memmove(tail, tail + drop, have - drop);
				have -= drop;
			}
			memcpy(tail + have, src, k);
			have += k;
			tail[have] = '\0';
		}
	}
	fflush(stderr);
}

/* SIGTERM or SIGINT during a step: the step is killed (its namespaces and
 * its slirp4netns go with it), reaped, and runner_run returns an error, so
 * nothing of the step outlives containerize. */
static volatile sig_atomic_t step_pid, stopped_by;
static void on_stop(int sig)
{
	stopped_by = sig;
	if (step_pid > 0)
		kill((pid_t)step_pid, SIGKILL);
}

/* In the parent, once the step's process is forked: wait until it has its
 * network namespace, start slirp4netns on it, and let pid 1 go on to the
 * command. On failure pid 1 gets EOF instead and ends with an error. */
static err_t *start_network(struct child_ctx *c, pid_t pid, const char *tmpdir, char **log, struct slirp *sl)
{
	close(c->net_made[1]);
	close(c->net_go[0]);
	c->net_made[1] = c->net_go[0] = -1;
	char b = 0;
	ssize_t n;
	while ((n = read(c->net_made[0], &b, 1)) < 0 && errno == EINTR)
		;
	err_t *e = NULL;
	if (n == 1) {
		*log = xasprintf("%s/slirp4netns.log", tmpdir);
		e = slirp_start(pid, c->spec->host_loopback, *log, sl);
		if (!e && write(c->net_go[1], "g", 1) != 1)
			e = err_errno(EXIT_FAILED, "cannot start the RUN step");
	}
	/* n != 1: the child failed before; its message comes on errfd */
	close(c->net_go[1]);
	c->net_go[1] = -1;
	return e;
}

err_t *runner_run(const struct run_spec *s, int *status, char *tail, size_t tail_size)
{
	*status = 127;
	_cleanup_close_ int root_fd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return err_errno(EXIT_FAILED, "cannot open build root %s", s->rootfs);
	struct child_ctx c = { .spec = s, .root_fd = root_fd };
	TRY(rootfs_resolve_user(root_fd, s->user, &c.user));

	/* generated /etc files, in a private temp dir */
	const char *tmpbase = getenv("TMPDIR");
	_cleanup_free_ char *tmpdir = xasprintf("%s/containerize-run-XXXXXX", tmpbase && *tmpbase ? tmpbase : "/tmp");
	if (!mkdtemp(tmpdir))
		return err_errno(EXIT_FAILED, "cannot create a temp dir");
	bool chrooted = s->isolation == ISOLATION_CHROOT;
	/* chroot: no namespace of its own, whatever was asked */
	enum run_net net = chrooted && s->network == RUN_NET_SLIRP ? RUN_NET_HOST : s->network;
	_cleanup_free_ char *resolv_text = step_resolv_conf(net);
	_cleanup_free_ char *resolv = NULL, *hosts = NULL, *slirp_log = NULL;
	const char *hn = s->hostname ? s->hostname : "containerize";
	_cleanup_free_ char *hosts_text = step_hosts(net, hn);
	struct scaffold sc = { 0 };
	/* creating and removing mount points touches "/" and "/etc": their
	 * times are put back after, so they do not show as changed */
	struct stat root_st, etc_st;
	bool have_root_st = fstat(root_fd, &root_st) == 0;
	bool have_etc_st = fstatat(root_fd, "etc", &etc_st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(etc_st.st_mode);
	err_t *e = write_temp(tmpdir, "resolv.conf", resolv_text, &resolv);
	if (!e)
		e = write_temp(tmpdir, "hosts", hosts_text, &hosts);
	/* the step's root owns its copies (they are bound writable) */
	if (!e && s->userns && s->isolation == ISOLATION_NAMESPACE &&
	    (chown(resolv, (uid_t)s->userns->uid_base, (gid_t)s->userns->gid_base) < 0 ||
	     chown(hosts, (uid_t)s->userns->uid_base, (gid_t)s->userns->gid_base) < 0))
		e = err_errno(EXIT_FAILED, "cannot give /etc/hosts and /etc/resolv.conf to the step's root");
	if (!e && s->isolation == ISOLATION_NAMESPACE) {
		e = ensure(root_fd, &sc, "proc", true, &c.use_proc);
		if (!e)
			e = ensure(root_fd, &sc, "dev", true, &c.use_dev);
		if (!e)
			e = ensure(root_fd, &sc, "etc/resolv.conf", false, &c.use_resolv);
		if (!e)
			e = ensure(root_fd, &sc, "etc/hosts", false, &c.use_hosts);
		struct stat st;
		c.use_sys = fstatat(root_fd, "sys", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
	} else if (!e) {
		/* chroot: real files where the image has none, removed after */
		int fd;
		for (int i = 0; i < 2 && !e; i++) {
			const char *rel = i ? "etc/hosts" : "etc/resolv.conf";
			const char *text = i ? hosts_text : resolv_text;
			fd = rootfs_open(root_fd, rel, O_PATH, 0);
			if (fd >= 0) {
				close(fd);
				continue;
			}
			bool usable = false;
			e = ensure(root_fd, &sc, rel, false, &usable);
			if (!e && usable) {
				fd = rootfs_open(root_fd, rel, O_WRONLY | O_TRUNC, 0);
				if (fd >= 0) {
					if (write(fd, text, strlen(text)) < 0)
						log_debug("cannot write %s", rel);
					close(fd);
				}
			}
		}
	}
	if (!e && s->workdir && *s->workdir) {
		int fd;
		e = rootfs_mkdir_p(root_fd, s->workdir, 0755, c.user.uid, c.user.gid, &fd);
		if (!e)
			close(fd);
	}
	int errp[2] = { -1, -1 }, outp[2] = { -1, -1 };
	int *made = c.net_made, *go = c.net_go;
	made[0] = made[1] = go[0] = go[1] = -1;
	bool slirp = net == RUN_NET_SLIRP;
	struct slirp sl = { .pid = -1, .exit_fd = -1 };
	if (!e && (pipe2(errp, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0 ||
		   (slirp && (pipe2(made, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0))))
		e = err_errno(EXIT_FAILED, "pipe");
	if (!e) {
		c.resolv = resolv;
		c.hosts = hosts;
		c.envp = build_env(s, &c.user);
		c.errfd = errp[1];
		c.outfd = outp[1];
		fflush(NULL);
		struct sigaction stop = { .sa_handler = on_stop }, old_term, old_int;
		sigemptyset(&stop.sa_mask);
		stopped_by = 0;
		sigaction(SIGTERM, &stop, &old_term);
		sigaction(SIGINT, &stop, &old_int);
		pid_t pid = fork();
		if (pid > 0) {
			step_pid = pid;
			if (stopped_by) /* before step_pid was set */
				kill(pid, SIGKILL);
		}
		if (pid < 0) {
			e = err_errno(EXIT_FAILED, "fork");
		} else if (pid == 0) {
			close(errp[0]);
			close(outp[0]);
			child_main(&c);
		} else {
			close(errp[1]);
			close(outp[1]);
			errp[1] = outp[1] = -1;
			err_t *net_e = slirp ? start_network(&c, pid, tmpdir, &slirp_log, &sl) : NULL;
			pump_output(outp[0], tail, tail_size);
			char msg[512];
			ssize_t n = read(errp[0], msg, sizeof msg - 1);
			int st = wait_child(pid);
			/* the step is over (its namespace's pid 1 gone): its network
			 * namespace goes with slirp4netns */
			slirp_stop(&sl);
			step_pid = 0;
			if (stopped_by) {
				err_free(net_e);
				e = err_new(EXIT_FAILED, "stopped by SIG%s during the step (killed, its network ended)",
					    sigabbrev_np(stopped_by) ? sigabbrev_np(stopped_by) : "a signal");
			} else if (net_e) {
				e = net_e;
			} else if (n > 0) {
				msg[n] = '\0';
				e = err_new(EXIT_FAILED, "cannot run %s in the build root: %s", s->argv[0], msg);
			} else {
				*status = st;
			}
		}
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGINT, &old_int, NULL);
		free_env(c.envp);
	}
	for (int i = 0; i < 2; i++) {
		if (errp[i] >= 0)
			close(errp[i]);
		if (outp[i] >= 0)
			close(outp[i]);
		if (made[i] >= 0)
			close(made[i]);
		if (go[i] >= 0)
			close(go[i]);
	}
	if (s->isolation == ISOLATION_CHROOT) {
		/* chroot placeholders hold text: empty them before the removal */
		for (int i = 0; i < sc.n; i++) {
			if (sc.is_dir[i])
				continue;
			int fd = rootfs_open(root_fd, sc.paths[i], O_WRONLY | O_TRUNC | O_NOFOLLOW, 0);
			if (fd >= 0)
				close(fd);
		}
	}
	bool touched = sc.n > 0;
	scaffold_remove(root_fd, &sc);
	if (touched && have_root_st) {
		struct timespec ts[2] = { root_st.st_atim, root_st.st_mtim };
		utimensat(AT_FDCWD, s->rootfs, ts, 0);
	}
	if (touched && have_etc_st) {
		struct timespec ts[2] = { etc_st.st_atim, etc_st.st_mtim };
		utimensat(root_fd, "etc", ts, AT_SYMLINK_NOFOLLOW);
	}
	if (slirp_log)
		unlink(slirp_log);
	if (resolv)
		unlink(resolv);
	if (hosts)
		unlink(hosts);
	rmdir(tmpdir);
	return e;
}
