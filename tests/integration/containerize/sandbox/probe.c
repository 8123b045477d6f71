/* Escape attempts a RUN step makes in tests/integration/containerize-sandbox.sh.
 * Usage: probe status
 *   prints the step's capability sets, no_new_privs and seccomp mode in
 *   /proc/self/status's format, read with syscalls (chroot steps have no
 *   /proc)
 * Usage: probe MAJOR:MINOR HOSTPID SENTINEL
 *   MAJOR:MINOR  the host's root disk device
 *   HOSTPID      a process of the host (same uid as the build)
 *   SENTINEL     absolute host path of a file no step may touch
 * One line per attempt: "probe NAME: refused: <reason>" or
 * "probe NAME: ESCAPED: <what happened>". Always exits 0: the test reads
 * the lines. Built static, copied into a busybox image. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/capability.h>
#include <sys/prctl.h>

static void refused(const char *name, int err) { printf("probe %s: refused: %s\n", name, strerror(err)); }

static void escaped(const char *name, const char *what) { printf("probe %s: ESCAPED: %s\n", name, what); }

/* try to change the sentinel through a path; 1 if it worked */
static int touch_sentinel(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0)
		return 0;
	int ok = write(fd, "escaped\n", 8) == 8;
	close(fd);
	return ok;
}

static void disk(unsigned maj, unsigned min, const char *sentinel)
{
	mkdir("/tmp/mnt", 0755);
	if (mknod("/tmp/hostdisk", S_IFBLK | 0600, makedev(maj, min)) < 0)
		refused("mknod-disk", errno);
	else
		escaped("mknod-disk", "made the host's disk node");
	if (mount("/tmp/hostdisk", "/tmp/mnt", "ext4", 0, NULL) < 0) {
		refused("mount-disk", errno);
	} else {
		char p[4096];
		snprintf(p, sizeof p, "/tmp/mnt%s", sentinel);
		escaped("mount-disk", touch_sentinel(p) ? "mounted the host's disk and wrote the sentinel"
						       : "mounted the host's disk");
	}
	if (mknod("/tmp/mem", S_IFCHR | 0600, makedev(1, 1)) < 0)
		refused("mknod-char", errno);
	else
		escaped("mknod-char", "made /dev/mem");
	if (mknod("/tmp/fifo", S_IFIFO | 0600, 0) < 0)
		printf("probe mknod-fifo: FAILED (a FIFO must work): %s\n", strerror(errno));
	else
		printf("probe mknod-fifo: ok\n");
}

static void proc_walk(const char *sentinel, int hostpid)
{
	mkdir("/tmp/proc", 0755);
	if (mount("proc", "/tmp/proc", "proc", 0, NULL) < 0)
		refused("mount-proc", errno);
	else
		escaped("mount-proc", "mounted a proc");
	/* every process we can see, through its root */
	int seen = 0, reached = 0;
	const char *procs[] = { "/proc", "/tmp/proc" };
	for (int k = 0; k < 2; k++) {
		DIR *d = opendir(procs[k]);
		if (!d)
			continue;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] < '0' || de->d_name[0] > '9')
				continue;
			seen++;
			char p[4096];
			snprintf(p, sizeof p, "%s/%s/root%s", procs[k], de->d_name, sentinel);
			reached += touch_sentinel(p);
		}
		closedir(d);
	}
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/root/", hostpid);
	int visible = access(p, F_OK) == 0;
	if (reached)
		escaped("proc-root", "wrote the sentinel through /proc/<pid>/root");
	else
		printf("probe proc-root: refused: sentinel not reachable (%d processes seen, host pid %s)\n", seen,
		       visible ? "visible" : "not visible");
}

static void modules(void)
{
	int fd = open("/probe", O_RDONLY | O_CLOEXEC);
	if (syscall(SYS_finit_module, fd, "", 0) < 0)
		refused("finit_module", errno);
	else
		escaped("finit_module", "loaded a module");
	static char junk[64] = "\177ELF";
	if (syscall(SYS_init_module, junk, sizeof junk, "") < 0)
		refused("init_module", errno);
	else
		escaped("init_module", "loaded a module");
	if (fd >= 0)
		close(fd);
}

static void network(void)
{
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0)
		refused("raw-packet", errno);
	else
		escaped("raw-packet", "opened an AF_PACKET raw socket");
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0)
		refused("raw-inet", errno);
	else
		escaped("raw-inet", "opened an AF_INET raw socket");
	/* the same MTU again: harmless if it were allowed, needs CAP_NET_ADMIN */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
		printf("probe netconf: FAILED to read lo: %s\n", strerror(errno));
		return;
	}
	if (ioctl(fd, SIOCSIFMTU, &ifr) < 0)
		refused("netconf", errno);
	else
		escaped("netconf", "may change the network configuration (SIOCSIFMTU)");
}

static void trace(int hostpid)
{
	if (ptrace(PTRACE_ATTACH, hostpid, 0, 0) < 0) {
		refused("ptrace", errno);
		return;
	}
	waitpid(hostpid, NULL, 0);
	ptrace(PTRACE_DETACH, hostpid, 0, 0);
	escaped("ptrace", "attached to the host process");
}

static void sysctl(void)
{
	const char *p = "/proc/sys/kernel/printk_ratelimit";
	int fd = open(p, O_RDWR);
	if (fd < 0) {
		refused("proc-sys", errno);
		return;
	}
	char buf[32] = { 0 };
	if (read(fd, buf, sizeof buf - 1) < 0) {
		refused("proc-sys", errno);
		close(fd);
		return;
	}
	snprintf(buf, sizeof buf, "%ld\n", atol(buf) + 1);
	if (pwrite(fd, buf, strlen(buf), 0) < 0)
		refused("proc-sys", errno);
	else
		escaped("proc-sys", "wrote kernel.printk_ratelimit");
	close(fd);
}

static void namespaces(void)
{
	if (syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1) < 0)
		refused("keyctl", errno);
	else
		escaped("keyctl", "keyctl works");
	if (unshare(CLONE_NEWUSER) < 0)
		refused("unshare-user", errno);
	else
		escaped("unshare-user", "made a new user namespace");
}

static int status(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &hdr, d) < 0) {
		perror("capget");
		return 1;
	}
	unsigned long long bnd = 0, amb = 0;
	for (int c = 0; c < 64; c++) {
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			bnd |= 1ULL << c;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1)
			amb |= 1ULL << c;
	}
#define SET(f) ((unsigned long long)d[0].f | ((unsigned long long)d[1].f << 32))
	printf("CapInh:\t%016llx\nCapPrm:\t%016llx\nCapEff:\t%016llx\nCapBnd:\t%016llx\nCapAmb:\t%016llx\n",
	       SET(inheritable), SET(permitted), SET(effective), bnd, amb);
	printf("NoNewPrivs:\t%d\nSeccomp:\t%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
	       prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	return 0;
}

int main(int argc, char **argv)
{
	unsigned maj, min;
	if (argc == 2 && strcmp(argv[1], "status") == 0)
		return status();
	if (argc != 4 || sscanf(argv[1], "%u:%u", &maj, &min) != 2) {
		fprintf(stderr, "usage: probe MAJOR:MINOR HOSTPID SENTINEL\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	int hostpid = atoi(argv[2]);
	disk(maj, min, argv[3]);
	proc_walk(argv[3], hostpid);
	modules();
	network();
	trace(hostpid);
	sysctl();
	namespaces();
	return 0;
}
