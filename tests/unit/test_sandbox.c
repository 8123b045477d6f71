/* containerize's RUN sandbox pieces on their own: the seccomp filter
 * (tasks/containerize/seccomp.c) and the capability limits (caps.c). Each
 * check runs in a forked child that installs the filter or drops the
 * capabilities and reports the result. Run as root: root has every
 * capability, so only the filter can be what refuses a device mknod there. */
// unit-sources: tasks/containerize/seccomp.c tasks/containerize/caps.c
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../tasks/containerize/caps.h"
#include "../../tasks/containerize/seccomp.h"
#include "testing.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static char dir[] = "/tmp/test_sandbox.XXXXXX";
static void setup(void);

/* In a child: install the profile, run fn; the child's exit status is the
 * number of failed expectations (255: could not install). */
typedef int (*probe_fn)(void);
static int in_filtered_child(enum seccomp_profile profile, probe_fn fn, int *sig)
{
	setup();
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		/* a mount of its own namespace: what a broken filter lets the
		 * probes mount (a mutant) goes with the child, not left on the
		 * host's /tmp; not root: nothing can be mounted anyway */
		if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			perror("make / private");
			_exit(255);
		}
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_install(profile) < 0) {
			perror("install");
			_exit(255);
		}
		_exit(fn());
	}
	int st = 0;
	waitpid(pid, &st, 0);
	*sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int bad;
#define EXPECT(call, want_errno)                                                                       \
	do {                                                                                           \
		errno = 0;                                                                             \
		long r_ = (long)(call);                                                                \
		int e_ = r_ < 0 ? errno : 0;                                                           \
		if (e_ != (want_errno)) {                                                              \
			fprintf(stderr, "  %s: errno %d (%s), want %d\n", #call, e_, strerror(e_),     \
				(want_errno));                                                         \
			bad++;                                                                         \
		}                                                                                      \
	} while (0)

static int path_in(char *buf, size_t n, const char *name)
{
	return snprintf(buf, n, "%s/%s", dir, name);
}

static int probe_common(void)
{
	char p[256];
	bad = 0;
	path_in(p, sizeof p, "blk");
	EXPECT(mknod(p, S_IFBLK | 0600, makedev(7, 0)), EPERM);
	path_in(p, sizeof p, "chr");
	EXPECT(mknod(p, S_IFCHR | 0600, makedev(1, 3)), EPERM);
	EXPECT(mknodat(AT_FDCWD, p, S_IFCHR | 0600, makedev(1, 3)), EPERM);
	path_in(p, sizeof p, "blk2");
	EXPECT(mknodat(AT_FDCWD, p, S_IFBLK | 0600, makedev(7, 0)), EPERM);
	path_in(p, sizeof p, "fifo");
	unlink(p);
	EXPECT(mknod(p, S_IFIFO | 0600, 0), 0);
	path_in(p, sizeof p, "file");
	unlink(p);
	EXPECT(mknodat(AT_FDCWD, p, S_IFREG | 0600, 0), 0);
	EXPECT(mount("none", dir, "tmpfs", 0, NULL), EPERM);
	EXPECT(umount2(dir, MNT_DETACH), EPERM);
	EXPECT(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1), EPERM);
	EXPECT(syscall(SYS_add_key, "user", "k", "v", 1, KEY_SPEC_SESSION_KEYRING), EPERM);
	EXPECT(unshare(CLONE_NEWUSER), EPERM);
	EXPECT(unshare(CLONE_NEWNS), EPERM);
	EXPECT(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0), EPERM);
	EXPECT(syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0), EPERM);
	EXPECT(syscall(SYS_clone3, NULL, 0), ENOSYS);
	EXPECT(syscall(SYS_init_module, "", 0, ""), EPERM);
	EXPECT(syscall(SYS_finit_module, 0, "", 0), EPERM);
	EXPECT(syscall(SYS_delete_module, "x", 0), EPERM);
	EXPECT(syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM);
	EXPECT(syscall(SYS_bpf, 0, NULL, 0), EPERM);
	EXPECT(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), EPERM);
	EXPECT(syscall(SYS_setns, 0, 0), EPERM);
	EXPECT(syscall(SYS_pivot_root, ".", "."), EPERM);
	EXPECT(syscall(SYS_swapon, "/x", 0), EPERM);
	EXPECT(syscall(SYS_reboot, 0, 0, 0, NULL), EPERM);
	EXPECT(syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0), EPERM);
	EXPECT(syscall(SYS_userfaultfd, 0), EPERM);
	EXPECT(syscall(SYS_io_uring_setup, 1, NULL), EPERM);
	EXPECT(syscall(SYS_fsopen, "tmpfs", 0), EPERM);
	EXPECT(syscall(SYS_open_tree, AT_FDCWD, "/", 1), EPERM);
	EXPECT(socket(AF_VSOCK, SOCK_STREAM, 0), EPERM);
	EXPECT(personality(ADDR_NO_RANDOMIZE), EPERM);
	EXPECT(socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT), EINVAL);
	EXPECT(syscall(SYS_kcmp, getpid(), getpid(), 0, 0, 0), EPERM);
	EXPECT(syscall(SYS_vmsplice, -1, NULL, 0, 0), EPERM);
	EXPECT(syscall(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0), EPERM);
	/* not in the table: EPERM below its highest number, ENOSYS above
	 * (libc falls back from a syscall newer than the table) */
	EXPECT(syscall(SYS_vhangup), EPERM);
	EXPECT(syscall(1000), ENOSYS);
#ifdef SYS_futex_waitv
	/* above the table's highest: ENOSYS from the filter, where the
	 * kernel (5.16 on) would say EINVAL for no futexes */
	EXPECT(syscall(SYS_futex_waitv, NULL, 0, 0, NULL, 0), ENOSYS);
#endif
#ifdef __x86_64__
	EXPECT(syscall(SYS_modify_ldt, 0, NULL, 0), EPERM);
#endif
	/* what builds need keeps working */
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	EXPECT(s, 0);
	if (s >= 0)
		close(s);
	s = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	EXPECT(s, 0);
	if (s >= 0)
		close(s);
	path_in(p, sizeof p, "dir");
	EXPECT(mkdir(p, 0700) == 0 ? rmdir(p) : -1, 0);
	EXPECT(personality(0xffffffff), 0);
	pid_t c = fork();
	if (c == 0)
		_exit(0);
	EXPECT(c, 0);
	if (c > 0)
		waitpid(c, NULL, 0);
#ifdef __x86_64__
	/* the x32 ABI's getpid */
	EXPECT(syscall(0x40000000 | SYS_getpid), EPERM);
#endif
	return bad;
}

static int probe_ptrace(void)
{
	bad = 0;
	EXPECT(syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0), EPERM);
	EXPECT(syscall(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 0), EPERM);
	EXPECT(sethostname("x", 1), EPERM);
	EXPECT(chroot("/"), EPERM);
	return bad;
}

static int probe_ptrace_allowed(void)
{
	bad = 0;
	/* a PID namespace of its own: ptrace and process_vm_readv are Docker's too */
	EXPECT(syscall(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 0), 0);
	EXPECT(chroot("/"), 0);
	return bad;
}

#ifdef __x86_64__
static int probe_i386(void)
{
	/* getpid through the i386 entry: another AUDIT_ARCH, the step dies */
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory");
	return r > 0 ? 0 : 1;
}
#endif

static void test_seccomp_refuses_docker_defaults(void)
{
	int sig;
	CHECK(in_filtered_child(SECCOMP_NAMESPACE, probe_common, &sig) == 0);
	CHECK(sig == 0);
	CHECK(in_filtered_child(SECCOMP_CHROOT, probe_common, &sig) == 0);
}

static void test_seccomp_chroot_refuses_ptrace(void)
{
	int sig;
	CHECK(in_filtered_child(SECCOMP_CHROOT, probe_ptrace, &sig) == 0);
	CHECK(in_filtered_child(SECCOMP_NAMESPACE, probe_ptrace_allowed, &sig) == 0);
}

static void test_seccomp_other_arch_killed(void)
{
#ifdef __x86_64__
	/* only where the kernel runs i386 code at all (ia32_emulation) */
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL); /* no sanitizer report for the expected fault */
		_exit(probe_i386());
	}
	int st = 0;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "  note: no i386 syscalls on this kernel: the arch check is not exercised\n");
		return;
	}
	int sig = 0;
	in_filtered_child(SECCOMP_NAMESPACE, probe_i386, &sig);
	CHECK(sig == SIGSYS);
#endif
}

static int status_field(const char *name, unsigned long long *v)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	int found = 0;
	size_t n = strlen(name);
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			found = sscanf(line + n + 1, "%llx", v) == 1;
	if (f)
		fclose(f);
	return found;
}

static int caps_child(uid_t uid)
{
	unsigned long long v;
	if (caps_bound(CAPS_RUN) < 0 || (uid && setuid(uid) < 0) || caps_set(CAPS_RUN) < 0)
		return 100;
	int fails = 0;
	unsigned long long want = uid ? 0 : CAPS_RUN;
	fails += !(status_field("CapBnd", &v) && v == CAPS_RUN);
	fails += !(status_field("CapEff", &v) && v == want);
	fails += !(status_field("CapPrm", &v) && v == want);
	fails += !(status_field("CapInh", &v) && v == 0);
	fails += !(status_field("CapAmb", &v) && v == 0);
	return fails;
}

static void test_caps_limited(void)
{
	for (int k = 0; k < 2; k++) {
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0)
			_exit(caps_child(k ? 1000 : 0));
		int st = 0;
		waitpid(pid, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	/* the set is buildah's default: no MKNOD, NET_RAW, AUDIT_WRITE; chroot
	 * drops SYS_CHROOT and NET_BIND_SERVICE too */
	CHECK(CAPS_RUN == 0x800405fbULL);
	CHECK(CAPS_CHROOT == 0x800001fbULL);
}

/* once, before the first child: the probes' directory (root only) */
static void setup(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	if (geteuid() != 0) {
		fprintf(stderr, "test_sandbox: run as root (root has every capability: only the filter refuses)\n");
		exit(1);
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
}

static void cleanup(void)
{
	if (strstr(dir, "XXXXXX")) /* never made */
		return;
	const char *names[] = { "blk", "chr", "blk2", "fifo", "file" };
	char p[256];
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		path_in(p, sizeof p, names[i]);
		unlink(p);
	}
	CHECK(rmdir(dir) == 0);
}

TEST_MAIN_TEARDOWN("sandbox", cleanup, TEST(test_seccomp_refuses_docker_defaults),
	  TEST(test_seccomp_chroot_refuses_ptrace), TEST(test_seccomp_other_arch_killed), TEST(test_caps_limited))
