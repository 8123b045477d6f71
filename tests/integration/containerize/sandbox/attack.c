/* More escape attempts of a RUN step, for tests/integration/attack-build.sh
 * (probe.c has the first set).
 * Usage: attack daemon SECONDS
 *   starts a daemon (double fork, setsid) that sleeps SECONDS: it must not
 *   outlive the step
 * Usage: attack HOSTPID SENTINEL
 *   HOSTPID   a process of the host (same uid as the build)
 *   SENTINEL  absolute host path of a file no step may touch
 * One line per attempt: "probe NAME: refused: <reason>", "probe NAME: ok"
 * for what must work, or "probe NAME: ESCAPED: <what happened>". Always
 * exits 0: the test reads the lines. Built static. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/sched.h>

static void refused(const char *name, int err) { printf("probe %s: refused: %s\n", name, strerror(err)); }

static void escaped(const char *name, const char *what) { printf("probe %s: ESCAPED: %s\n", name, what); }

/* a syscall that must fail: refused with its errno, or ESCAPED */
static void must_fail(const char *name, long rc)
{
	if (rc < 0)
		refused(name, errno);
	else
		escaped(name, "the call succeeded");
}

static int reaches(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0)
		return 0;
	int ok = write(fd, "escaped\n", 8) == 8;
	close(fd);
	return ok;
}

/* the controlling terminal of whoever started the build: TIOCSTI on it
 * types commands into the host's shell */
static void tty(void)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (fd < 0) {
		refused("tty", errno);
		return;
	}
	char c = '\n';
	if (ioctl(fd, TIOCSTI, &c) < 0)
		refused("tty", errno);
	else
		escaped("tty", "typed into the host's terminal");
	close(fd);
}

/* descriptors the build left open: a directory outside the root is a way
 * out (fchdir, then ..) */
static void fds(const char *sentinel)
{
	int open_fds = 0;
	for (int fd = 3; fd < 1024; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0)
			continue;
		open_fds++;
		printf("probe fds: fd %d mode %o\n", fd, st.st_mode);
		if (S_ISDIR(st.st_mode) && fchdir(fd) == 0) {
			for (int i = 0; i < 64; i++)
				if (chdir("..") < 0)
					break;
			int got = reaches(sentinel + 1);
			if (chdir("/") < 0) /* back in the root for the next attempts */
				perror("chdir /");
			if (got) {
				escaped("fds", "reached the sentinel through a leaked directory");
				return;
			}
		}
	}
	if (open_fds)
		escaped("fds", "descriptors beyond 2 are open");
	else
		printf("probe fds: refused: no descriptor beyond 2\n");
}

static void signal_host(int hostpid)
{
	must_fail("kill", kill(hostpid, 0));
}

/* the new mount API and other calls Docker's profile refuses */
static void calls(void)
{
	must_fail("fsopen", syscall(SYS_fsopen, "tmpfs", 0));
	must_fail("fspick", syscall(SYS_fspick, AT_FDCWD, "/", 0));
	must_fail("open_tree", syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */));
	must_fail("move_mount", syscall(SYS_move_mount, AT_FDCWD, "/tmp", AT_FDCWD, "/mnt", 0));
	must_fail("mount_setattr", syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, NULL, 0));
	must_fail("mount-tmpfs", mount("tmpfs", "/tmp", "tmpfs", 0, NULL));
	must_fail("umount", umount2("/proc", MNT_DETACH));
	must_fail("bpf", syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, NULL, 0));
	must_fail("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	must_fail("userfaultfd", syscall(SYS_userfaultfd, 0));
	must_fail("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL));
	must_fail("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0));
	must_fail("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
	must_fail("setns", syscall(SYS_setns, 0, CLONE_NEWNS));
	must_fail("clone-newns", syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, NULL, NULL, 0));
	struct clone_args ca = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
	must_fail("clone3", syscall(SYS_clone3, &ca, sizeof ca));
	must_fail("x32-unshare", syscall(0x40000000 | SYS_unshare, CLONE_NEWUSER));
	must_fail("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp"));
	must_fail("personality", syscall(SYS_personality, 0x0400000 /* READ_IMPLIES_EXEC */));
#ifdef SYS_modify_ldt
	char ldt[16];
	must_fail("modify_ldt", syscall(SYS_modify_ldt, 0, ldt, sizeof ldt));
#endif
}

/* the 32-bit ABI through int 0x80: the filter checks the architecture
 * (killed, or refused); unshare is 310 there, mount 21 */
static void int80(void)
{
#ifdef __x86_64__
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		long rc;
		__asm__ volatile("int $0x80" : "=a"(rc) : "a"(310L), "b"((long)CLONE_NEWUSER) : "memory");
		if (rc < 0)
			refused("int80", (int)-rc);
		else
			escaped("int80", "unshare(CLONE_NEWUSER) through int 0x80 worked");
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st))
		printf("probe int80: refused: killed by signal %d\n", WTERMSIG(st));
#endif
}

/* chroot into a subdirectory, climb, chroot again: out of the root? */
static void chroot_escape(const char *sentinel)
{
	mkdir("/tmp/jail", 0755);
	if (chroot("/tmp/jail") < 0) {
		refused("chroot", errno);
		return;
	}
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0)
			break;
	if (chroot(".") < 0) {
		refused("chroot", errno);
		return;
	}
	if (reaches(sentinel))
		escaped("chroot", "reached the sentinel");
	else
		printf("probe chroot: refused: sentinel not reachable\n");
}

static void proc_links(const char *sentinel)
{
	const char *const roots[] = { "/proc/self/root", "/proc/1/root", "/proc/1/cwd/../../../../..", "/proc/self/cwd/../../../../.." };
	char p[4096];
	for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
		snprintf(p, sizeof p, "%s%s", roots[i], sentinel);
		if (reaches(p)) {
			escaped("proc-links", p);
			return;
		}
	}
	printf("probe proc-links: refused: sentinel not reachable\n");
}

/* a daemon: double fork, a session of its own, no descriptors, sleep */
static int daemon_sleep(const char *seconds)
{
	if (fork() == 0) {
		setsid();
		signal(SIGHUP, SIG_IGN);
		if (fork() == 0) {
			for (int fd = 0; fd < 3; fd++)
				close(fd);
			sleep((unsigned)atoi(seconds));
			_exit(0);
		}
		_exit(0);
	}
	sleep(1);
	printf("probe daemon: started\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "daemon") == 0)
		return daemon_sleep(argv[2]);
	if (argc != 3) {
		fprintf(stderr, "usage: attack HOSTPID SENTINEL\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *sentinel = argv[2];
	fds(sentinel);
	tty();
	signal_host(atoi(argv[1]));
	calls();
	int80();
	proc_links(sentinel);
	chroot_escape(sentinel); /* last: it changes the root */
	return 0;
}
